// SPDX-License-Identifier: Apache-2.0
#include "process/log_writer.hpp"

#include "process/build_step.hpp"

#include <cstring>

namespace kiln::process {

namespace asio = boost::asio;

LogWriter::LogWriter(StepContext& context, data::Id logid, bool is_stdio)
    : context_(context)
    , logid_(logid)
    , is_stdio_(is_stdio) {}

LogWriter::Partial& LogWriter::partial_for(char stream) {
    if (!is_stdio_) return partials_[0];
    switch (stream) {
    case 'e': return partials_[1];
    case 'h': return partials_[2];
    default: return partials_[0];
    }
}

void LogWriter::end_line(char stream, Partial& partial) {
    if (is_stdio_) ready_ += stream;
    ready_ += partial.text;
    ready_ += '\n';
    partial.text.clear();
    partial.is_truncated = false;
}

void LogWriter::add(char stream, std::string_view text) {
    bytes_added_ += text.size();
    auto& partial = partial_for(stream);
    // Room for the text and a stream tag per line (of 8 bytes or more) in one allocation.
    ready_.reserve(ready_.size() + text.size() + (is_stdio_ ? text.size() / 8 + 1 : 0));
    while (!text.empty()) {
        const auto* found = static_cast<const char*>(std::memchr(text.data(), '\n', text.size()));
        const auto newline =
            found ? static_cast<std::size_t>(found - text.data()) : std::string_view::npos;
        if (found && partial.text.empty() && !partial.is_truncated && newline <= kMaxLineBytes) {
            // A whole line that fits (the common case): straight into the ready lines.
            if (is_stdio_) ready_ += stream;
            ready_.append(text.data(), newline + 1);
            text.remove_prefix(newline + 1);
            continue;
        }
        const auto piece = text.substr(0, newline);
        if (!partial.is_truncated) {
            const auto room = kMaxLineBytes - partial.text.size();
            if (piece.size() <= room) {
                partial.text += piece;
            } else {
                // Cut on a UTF-8 character boundary.
                auto cut = room;
                while (cut > 0 && (static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80)
                    --cut;
                partial.text += piece.substr(0, cut);
                partial.is_truncated = true;  // the rest of this line is dropped
            }
        }
        if (newline == std::string_view::npos) break;
        end_line(stream, partial);
        text.remove_prefix(newline + 1);
    }
}

asio::awaitable<void> LogWriter::flush() {
    if (ready_.empty()) co_return;
    std::string lines;
    lines.swap(ready_);
    co_await context_.append_log(logid_, std::move(lines));
}

asio::awaitable<void> LogWriter::finish() {
    if (is_finished_) co_return;
    is_finished_ = true;
    static constexpr std::array<char, 3> kStreams{'o', 'e', 'h'};
    for (std::size_t i = 0; i < partials_.size(); ++i)
        if (!partials_[i].text.empty()) end_line(kStreams[i], partials_[i]);
    // The last lines and the end of the log in one store.
    std::string lines;
    lines.swap(ready_);
    co_await context_.finish_log(logid_, std::move(lines));
}

}  // namespace kiln::process
