// SPDX-License-Identifier: Apache-2.0
#include "worker/update_buffer.hpp"

namespace kiln::worker {

using protocol::LineChunk;
using protocol::Value;

UpdateBuffer::UpdateBuffer(std::size_t buffer_size)
    : buffer_size_(buffer_size) {}

std::size_t UpdateBuffer::size_of(const LineChunk& lines) {
    return lines.text.size() + 8 * (lines.newline_positions.size() + lines.line_times.size());
}

void UpdateBuffer::add_lines(const std::string& stream, LineChunk lines) {
    auto size = size_of(lines);
    add(Entry{stream, {}, std::move(lines), {}}, size);
}

void UpdateBuffer::add_log(const std::string& logname, LineChunk lines) {
    auto size = size_of(lines);
    add(Entry{"log", logname, std::move(lines), {}}, size);
}

void UpdateBuffer::add_status(const std::string& key, Value value) {
    add(Entry{key, {}, std::nullopt, std::move(value)}, 20);
}

std::size_t UpdateBuffer::space_left() const {
    return buffer_size_ - std::min(buffer_size_, buffered_bytes_);
}

void UpdateBuffer::add(Entry entry, std::size_t size) {
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
    std::size_t line_start = 0;  // byte offset in text
    std::size_t index = 0;       // line index
    while (line_start < lines.text.size()) {
        LineChunk part;
        std::size_t part_size = 0;
        std::int64_t chars = 0;
        const std::int64_t part_base = has_positions && index > 0 && index <= count
                                           ? lines.newline_positions[index - 1] + 1
                                           : 0;
        const std::size_t budget = space_left();
        while (line_start < lines.text.size()) {
            auto end = lines.text.find('\n', line_start);
            end = end == std::string::npos ? lines.text.size() : end + 1;
            std::size_t line_size = end - line_start + 16;
            bool alone = part.text.empty() && entries_.empty();  // one line larger than a batch
            if (part_size + line_size > budget && !alone) break;
            std::string_view line(lines.text.data() + line_start, end - line_start);
            part.text.append(line);
            if (has_positions && index < count) {
                chars = lines.newline_positions[index] - part_base + 1;
            } else {
                for (char c : line)
                    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++chars;
            }
            part.newline_positions.push_back(chars - 1);
            part.line_times.push_back(index < count ? lines.line_times[index] : 0.0);
            part_size += line_size;
            line_start = end;
            ++index;
        }
        if (!part.text.empty())
            append_lines(Entry{entry.key, entry.logname, std::move(part), {}}, part_size);
        if (line_start < lines.text.size()) send_buffered();  // the batch is full
    }
}

void UpdateBuffer::append_lines(Entry entry, std::size_t size) {
    if (!entries_.empty() && entries_.back().lines && entries_.back().key == entry.key &&
        entries_.back().logname == entry.logname) {
        // Merge with the previous output of the same stream.
        auto& into = *entries_.back().lines;
        auto offset = static_cast<std::int64_t>(
            into.newline_positions.empty() ? 0 : into.newline_positions.back() + 1);
        into.text += entry.lines->text;
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
    UpdateEntries batch;
    batch.reserve(entries_.size());
    for (const auto& entry : entries_)
        batch.emplace_back(entry.key, to_value(entry));
    entries_.clear();
    buffered_bytes_ = 0;
    ready_.push_back(std::move(batch));
}

Value UpdateBuffer::to_value(const Entry& entry) {
    if (!entry.lines) return entry.value;
    if (entry.key == "log")
        return Value{protocol::Array{Value{entry.logname}, entry.lines->to_value()}};
    return entry.lines->to_value();
}

std::vector<UpdateEntries> UpdateBuffer::take_ready() { return std::exchange(ready_, {}); }

void UpdateBuffer::flush() { send_buffered(); }

}  // namespace kiln::worker
