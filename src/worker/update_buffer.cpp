// SPDX-License-Identifier: Apache-2.0
#include "worker/update_buffer.hpp"

#include "protocol/codec.hpp"

#include <cstring>

namespace kiln::worker {

using protocol::LineChunk;
using protocol::Value;

Value UpdateEntry::to_value() const {
    if (!lines) return value;
    if (key == "log") return Value{protocol::Array{Value{logname}, lines->to_value()}};
    return lines->to_value();
}

void UpdateEntry::encode(std::string& out) const {
    protocol::MessageWriter writer(out);
    writer.array(2);
    writer.str(key);
    if (!lines) {
        writer.value(value);
        return;
    }
    if (key == "log") {
        writer.array(2);
        writer.str(logname);
    }
    protocol::encode_line_chunk(*lines, out);
}

UpdateBuffer::UpdateBuffer(std::size_t buffer_size)
    : buffer_size_(buffer_size) {}

std::size_t UpdateBuffer::size_of(const LineChunk& lines) {
    return lines.text.size() + 8 * (lines.newline_positions.size() + lines.line_times.size());
}

void UpdateBuffer::add_lines(const std::string& stream, LineChunk lines) {
    auto size = size_of(lines);
    add(UpdateEntry{stream, {}, std::move(lines), {}}, size);
}

void UpdateBuffer::add_log(const std::string& logname, LineChunk lines) {
    auto size = size_of(lines);
    add(UpdateEntry{"log", logname, std::move(lines), {}}, size);
}

void UpdateBuffer::add_status(const std::string& key, Value value) {
    add(UpdateEntry{key, {}, std::nullopt, std::move(value)}, 20);
}

std::size_t UpdateBuffer::space_left() const {
    return buffer_size_ - std::min(buffer_size_, buffered_bytes_);
}

void UpdateBuffer::add(UpdateEntry entry, std::size_t size) {
    if (!entry.lines) {
        if (size > space_left()) send_buffered();
        entries_.push_back(std::move(entry));
        buffered_bytes_ += size;
        return;
    }
    if (size <= space_left()) {
        append_lines(std::move(entry), size);
        return;
    }
    // More output than the batch has room for: fill the batch line by line, send it, and go on
    // with the rest, so every update but the last is full (the stock worker instead sends
    // oversized output alone, which doubles the number of updates for large reads).
    const auto& lines = *entry.lines;
    const std::size_t count = lines.line_times.size();
    // The chunk's own newline positions (code points) give each part's positions without
    // decoding the text again, when there is one per line.
    const bool has_positions = lines.newline_positions.size() == count;
    const char* text = lines.text.data();
    const std::size_t text_size = lines.text.size();
    std::size_t line_start = 0;  // byte offset in text
    std::size_t index = 0;       // line index
    while (line_start < text_size) {
        // Which lines fit: the part is copied once they are counted.
        const std::size_t first_index = index;
        const std::size_t part_start = line_start;
        std::size_t part_size = 0;
        const std::size_t budget = space_left();
        while (line_start < text_size) {
            const auto* newline = static_cast<const char*>(
                std::memchr(text + line_start, '\n', text_size - line_start));
            const std::size_t end =
                newline ? static_cast<std::size_t>(newline - text) + 1 : text_size;
            const std::size_t line_size = end - line_start + 16;
            const bool alone = index == first_index && entries_.empty();  // larger than a batch
            if (part_size + line_size > budget && !alone) break;
            part_size += line_size;
            line_start = end;
            ++index;
        }
        if (index > first_index) {
            LineChunk part;
            part.text.assign(text + part_start, line_start - part_start);
            part.newline_positions.reserve(index - first_index);
            part.line_times.reserve(index - first_index);
            const std::int64_t part_base = has_positions && first_index > 0 && first_index <= count
                                               ? lines.newline_positions[first_index - 1] + 1
                                               : 0;
            std::int64_t chars = 0;
            std::size_t start = 0;
            for (std::size_t i = first_index; i < index; ++i) {
                if (has_positions && i < count) {
                    chars = lines.newline_positions[i] - part_base + 1;
                } else {
                    auto end = part.text.find('\n', start);
                    end = end == std::string::npos ? part.text.size() : end + 1;
                    for (std::size_t j = start; j < end; ++j)
                        if ((static_cast<unsigned char>(part.text[j]) & 0xc0) != 0x80) ++chars;
                    start = end;
                }
                part.newline_positions.push_back(chars - 1);
                part.line_times.push_back(i < count ? lines.line_times[i] : 0.0);
            }
            append_lines(UpdateEntry{entry.key, entry.logname, std::move(part), {}}, part_size);
        }
        if (line_start < text_size) send_buffered();  // the batch is full
    }
}

void UpdateBuffer::append_lines(UpdateEntry entry, std::size_t size) {
    if (!entries_.empty() && entries_.back().lines && entries_.back().key == entry.key &&
        entries_.back().logname == entry.logname) {
        // Merge with the previous output of the same stream.
        auto& into = *entries_.back().lines;
        auto offset = static_cast<std::int64_t>(
            into.newline_positions.empty() ? 0 : into.newline_positions.back() + 1);
        into.text += entry.lines->text;
        into.newline_positions.reserve(into.newline_positions.size() +
                                       entry.lines->newline_positions.size());
        for (auto p : entry.lines->newline_positions)
            into.newline_positions.push_back(p + offset);
        into.line_times.insert(into.line_times.end(), entry.lines->line_times.begin(),
                               entry.lines->line_times.end());
    } else {
        entries_.push_back(std::move(entry));
    }
    buffered_bytes_ += size;
}

void UpdateBuffer::send_buffered() {
    if (entries_.empty()) return;
    ready_.push_back(std::exchange(entries_, {}));
    buffered_bytes_ = 0;
}

std::vector<UpdateEntries> UpdateBuffer::take_ready() { return std::exchange(ready_, {}); }

void UpdateBuffer::flush() { send_buffered(); }

}  // namespace kiln::worker
