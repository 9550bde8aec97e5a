// SPDX-License-Identifier: Apache-2.0
// Turns a stream of decoded text into complete lines the way Buildbot's worker does
// (newline_re normalisation, max_line_length cuts), without the stock worker's loss of the
// middle of long lines. Also holds the incremental UTF-8 decoder for process output.
#pragma once

#include "protocol/messages.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::worker {

// Decodes bytes as UTF-8 in pieces; invalid sequences become U+FFFD (one per maximal invalid
// subpart, as Python's 'replace' error handler does); a sequence cut at the end of a piece is
// kept for the next one.
class Utf8Decoder {
public:
    std::string decode(std::string_view bytes, bool is_final = false);
    // The same for bytes the caller gives up: valid UTF-8 (most output) is returned as it is,
    // without a copy.
    std::string decode_owned(std::string bytes);

private:
    std::string pending_;
};

class LineBoundaryFinder {
public:
    // max_line_length counts characters (code points), '\n' included.
    explicit LineBoundaryFinder(std::size_t max_line_length = 4096);

    // Adds text received at `time` (epoch seconds). Returns the complete lines, if any.
    // Normalises as the stock newline_re does: CRLF, a CR followed by anything, ESC[u,
    // ESC[<n>;<n>H or f, ESC[2J and runs of backspaces each become '\n'. A line longer than
    // max_line_length - 1 characters is cut into pieces of that many characters.
    std::optional<protocol::LineChunk> append(std::string_view text, double time);
    // The same for text the caller gives up: the lines are returned in its buffer.
    std::optional<protocol::LineChunk> append_owned(std::string text, double time);

    // Completes a pending partial line with '\n'.
    std::optional<protocol::LineChunk> flush();

    bool has_partial_line() const { return !partial_.empty(); }

private:
    // Splits s (normalised; the caller's or a copy) into the chunk's lines; keeps the rest.
    std::optional<protocol::LineChunk> split(std::string s, bool had_partial, double time);

    std::size_t max_line_length_;
    std::string partial_;
    double partial_time_ = 0;
};

}  // namespace kiln::worker
