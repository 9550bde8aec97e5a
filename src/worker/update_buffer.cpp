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

void UpdateBuffer::add(Entry entry, std::size_t size) {
    if (size > buffer_size_ - std::min(buffer_size_, buffered_bytes_)) send_buffered();
    if (size <= buffer_size_ || !entry.lines) {
        if (size > buffer_size_) {  // a status larger than a buffer: alone
            ready_.push_back({{entry.key, to_value(entry)}});
            return;
        }
        auto& last = entries_;
        if (entry.lines && !last.empty() && last.back().lines && last.back().key == entry.key &&
            last.back().logname == entry.logname) {
            // Merge with the previous output of the same stream.
            auto& into = *last.back().lines;
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
        return;
    }
    // Output larger than a whole buffer: sent alone, split at line boundaries.
    const auto& lines = *entry.lines;
    std::size_t line_start = 0;  // byte offset in text
    std::size_t index = 0;       // line index
    std::size_t count = lines.line_times.size();
    while (line_start < lines.text.size()) {
        LineChunk part;
        std::size_t part_size = 0;
        std::int64_t chars = 0;
        while (line_start < lines.text.size()) {
            auto end = lines.text.find('\n', line_start);
            end = end == std::string::npos ? lines.text.size() : end + 1;
            std::size_t line_size = end - line_start + 16;
            if (!part.text.empty() && part_size + line_size > buffer_size_) break;
            std::string_view line(lines.text.data() + line_start, end - line_start);
            part.text.append(line);
            for (char c : line)
                if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++chars;
            part.newline_positions.push_back(chars - 1);
            part.line_times.push_back(index < count ? lines.line_times[index] : 0.0);
            part_size += line_size;
            line_start = end;
            ++index;
        }
        Entry piece{entry.key, entry.logname, std::move(part), {}};
        ready_.push_back({{piece.key, to_value(piece)}});
    }
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
