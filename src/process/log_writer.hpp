// SPDX-License-Identifier: Apache-2.0
// LogWriter: turns a command's output stream(s) into whole lines for one log. For stdio logs
// each line gets its stream tag ('o' stdout, 'e' stderr, 'h' header); partial lines wait
// for their newline (per stream), and a line longer than kMaxLineBytes keeps only its start,
// so memory stays bounded whatever the output.
#pragma once

#include "data/entities.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace kiln::process {

class StepContext;

class LogWriter {
public:
    static constexpr std::size_t kMaxLineBytes = 64 * 1024;

    // is_stdio: tag lines with their stream ('s' logs); otherwise stream is ignored.
    LogWriter(StepContext& context, data::Id logid, bool is_stdio);

    data::Id logid() const { return logid_; }
    // Buffers text of a stream ('o', 'e', 'h'); whole lines become ready for flush().
    void add(char stream, std::string_view text);
    bool has_ready_lines() const { return !ready_.empty(); }
    // Stores the ready lines (one append).
    boost::asio::awaitable<void> flush();
    // Ends partial lines, stores everything and finishes the log.
    boost::asio::awaitable<void> finish();

    std::size_t bytes_added() const { return bytes_added_; }

private:
    struct Partial {
        std::string text;
        bool is_truncated = false;
    };
    Partial& partial_for(char stream);
    void end_line(char stream, Partial& partial);

    StepContext& context_;
    data::Id logid_;
    bool is_stdio_;
    std::array<Partial, 3> partials_;  // o, e, h
    std::string ready_;
    std::size_t bytes_added_ = 0;
    bool is_finished_ = false;
};

}  // namespace kiln::process
