// SPDX-License-Identifier: Apache-2.0
#include "worker/line_boundary_finder.hpp"

#include "core/ascii.hpp"
#include "protocol/codec.hpp"

#include <cstring>
#include <utility>

namespace kiln::worker {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

bool is_continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

// Length of the sequence a lead byte announces, or 0 for a byte that cannot start one.
std::size_t sequence_length(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return 2;
    if (c >= 0xe0 && c <= 0xef) return 3;
    if (c >= 0xf0 && c <= 0xf4) return 4;
    return 0;
}

// The allowed range of the byte after a lead byte (Unicode table 3-7).
bool second_byte_ok(unsigned char lead, unsigned char c) {
    switch (lead) {
    case 0xe0: return c >= 0xa0 && c <= 0xbf;
    case 0xed: return c >= 0x80 && c <= 0x9f;
    case 0xf0: return c >= 0x90 && c <= 0xbf;
    case 0xf4: return c >= 0x80 && c <= 0x8f;
    default: return is_continuation(c);
    }
}

// Length of `s` from `from` to `to` in code points.
std::size_t code_points(std::string_view s) {
    // An ASCII byte is a code point.
    std::size_t i = core::ascii_run(s);
    std::size_t n = i;
    for (; i < s.size(); ++i)
        if (!is_continuation(static_cast<unsigned char>(s[i]))) ++n;
    return n;
}

// Byte offset after `count` code points of s starting at `from`.
std::size_t advance(std::string_view s, std::size_t from, std::size_t count) {
    std::size_t i = from;
    while (i < s.size() && count > 0) {
        ++i;
        while (i < s.size() && is_continuation(static_cast<unsigned char>(s[i])))
            ++i;
        --count;
    }
    return i;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of an ANSI sequence the stock newline_re replaces, starting at s[i] == ESC; 0 if none.
std::size_t ansi_newline_length(std::string_view s, std::size_t i) {
    if (i + 1 >= s.size() || s[i + 1] != '[') return 0;
    std::size_t j = i + 2;
    if (j < s.size() && s[j] == 'u') return 3;
    if (j + 1 < s.size() && s[j] == '2' && s[j + 1] == 'J') return 4;
    std::size_t digits = 0;
    while (j < s.size() && is_digit(s[j]))
        ++j, ++digits;
    if (digits == 0 || j >= s.size() || s[j] != ';') return 0;
    ++j;
    digits = 0;
    while (j < s.size() && is_digit(s[j]))
        ++j, ++digits;
    if (digits == 0 || j >= s.size() || (s[j] != 'H' && s[j] != 'f')) return 0;
    return j + 1 - i;
}

// Whether s holds a byte the newline_re substitutions look at (three vectorised scans).
bool needs_normalising(std::string_view s) {
    return std::memchr(s.data(), '\r', s.size()) || std::memchr(s.data(), '\x1b', s.size()) ||
           std::memchr(s.data(), '\b', s.size());
}

// Applies the stock newline_re substitutions. A CR at the very end stays: it may be the first
// half of a CRLF that arrives with the next piece.
std::string normalise_newlines(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        // Copy up to the next byte the substitutions care about in one piece.
        std::size_t plain = i;
        while (plain < s.size() && s[plain] != '\r' && s[plain] != '\x1b' && s[plain] != '\b')
            ++plain;
        if (plain > i) {
            out.append(s.data() + i, plain - i);
            i = plain;
            if (i == s.size()) break;
        }
        char c = s[i];
        if (c == '\r') {
            if (i + 1 == s.size()) {
                out += '\r';
                ++i;
            } else {
                out += '\n';
                i += s[i + 1] == '\n' ? 2u : 1u;
            }
        } else if (c == '\x1b') {
            if (auto length = ansi_newline_length(s, i)) {
                out += '\n';
                i += length;
            } else {
                out += c;
                ++i;
            }
        } else if (c == '\b') {
            out += '\n';
            while (i < s.size() && s[i] == '\b')
                ++i;
        } else {
            out += c;
            ++i;
        }
    }
    return out;
}

}  // namespace

std::string Utf8Decoder::decode_owned(std::string bytes) {
    if (pending_.empty() && protocol::is_valid_utf8(bytes)) return bytes;
    return decode(bytes);
}

std::string Utf8Decoder::decode(std::string_view bytes, bool is_final) {
    // Only a sequence cut at the end of the previous piece needs joining; the rest is read in
    // place (this runs on every chunk of process output).
    std::string joined;
    std::string_view input = bytes;
    if (!pending_.empty()) {
        joined = std::exchange(pending_, {});
        joined.append(bytes);
        input = joined;
    }
    std::string out;
    out.reserve(input.size());
    std::size_t i = 0;
    while (i < input.size()) {
        auto lead = static_cast<unsigned char>(input[i]);
        if (lead < 0x80) {
            // Copy a whole ASCII run at once (most output is ASCII).
            const auto run = core::ascii_run(input, i);
            out.append(input.data() + i, run);
            i += run;
            continue;
        }
        std::size_t length = sequence_length(lead);
        if (length == 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        std::size_t valid = 1;  // bytes of the sequence that are acceptable so far
        while (valid < length && i + valid < input.size()) {
            auto c = static_cast<unsigned char>(input[i + valid]);
            if (valid == 1 ? !second_byte_ok(lead, c) : !is_continuation(c)) break;
            ++valid;
        }
        if (valid == length) {
            out.append(input.substr(i, length));
            i += length;
        } else if (i + valid == input.size() && !is_final) {
            pending_ = std::string(input.substr(i));  // cut at the end: wait for the rest
            break;
        } else {
            out += kReplacement;
            i += valid;
        }
    }
    return out;
}

LineBoundaryFinder::LineBoundaryFinder(std::size_t max_line_length)
    : max_line_length_(max_line_length < 2 ? 2 : max_line_length) {}

std::optional<protocol::LineChunk> LineBoundaryFinder::append(std::string_view text, double time) {
    return append_owned(std::string(text), time);
}

std::optional<protocol::LineChunk> LineBoundaryFinder::append_owned(std::string text, double time) {
    const bool had_partial = !partial_.empty();
    std::string s = std::move(text);
    if (had_partial) {
        std::string joined = std::exchange(partial_, {});
        joined.append(s);
        s = std::move(joined);
    }
    if (needs_normalising(s)) s = normalise_newlines(s);
    return split(std::move(s), had_partial, time);
}

std::optional<protocol::LineChunk> LineBoundaryFinder::split(std::string s, bool had_partial,
                                                             double time) {
    const auto* last = static_cast<const char*>(memrchr(s.data(), '\n', s.size()));
    // Fast path, most output: ASCII lines shorter than the limit. The text stays where it is
    // and only the newlines are looked at (a code point is a byte).
    if (last) {
        const auto end = static_cast<std::size_t>(last - s.data()) + 1;
        const std::string_view lines(s.data(), end);
        // (A partial line as long as the limit is cut below.)
        if (s.size() - end < max_line_length_ && core::ascii_run(lines) == end) {
            protocol::LineChunk chunk;
            bool fits = true;
            std::size_t start = 0;
            while (start < end) {
                const auto* newline =
                    static_cast<const char*>(std::memchr(s.data() + start, '\n', end - start));
                const auto position = static_cast<std::size_t>(newline - s.data());
                if (position - start >= max_line_length_) {
                    fits = false;
                    break;
                }
                chunk.newline_positions.push_back(static_cast<std::int64_t>(position));
                start = position + 1;
            }
            if (fits) {
                chunk.line_times.assign(chunk.newline_positions.size(), time);
                if (had_partial) chunk.line_times.front() = partial_time_;
                partial_.assign(s, end);
                s.resize(end);
                chunk.text = std::move(s);
                partial_time_ = time;
                return chunk;
            }
        }
    }

    protocol::LineChunk chunk;
    std::int64_t out_chars = 0;  // code points emitted so far
    auto emit = [&](std::string_view line_without_newline, std::size_t chars, double line_time) {
        chunk.text.append(line_without_newline);
        chunk.text += '\n';
        out_chars += static_cast<std::int64_t>(chars) + 1;
        chunk.newline_positions.push_back(out_chars - 1);
        chunk.line_times.push_back(line_time);
    };
    const std::size_t piece = max_line_length_ - 1;
    std::size_t start = 0;
    bool first_line = true;
    auto line_time = [&] {
        double t = (first_line && had_partial) ? partial_time_ : time;
        first_line = false;
        return t;
    };
    for (;;) {
        auto newline = s.find('\n', start);
        std::string_view rest = std::string_view(s).substr(
            start, newline == std::string::npos ? std::string::npos : newline - start);
        // Cut over-long content into pieces of max_line_length - 1 characters.
        std::size_t length = code_points(rest);
        while (length >= max_line_length_) {
            auto cut = advance(rest, 0, piece);
            emit(rest.substr(0, cut), piece, line_time());
            rest.remove_prefix(cut);
            start += cut;
            length -= piece;
        }
        if (newline == std::string::npos) break;
        emit(rest, length, line_time());
        start = newline + 1;
    }
    partial_ = s.substr(start);
    // The partial line keeps the time its first character arrived.
    if (!chunk.text.empty() || !had_partial) partial_time_ = time;
    if (chunk.text.empty()) return std::nullopt;
    return chunk;
}

std::optional<protocol::LineChunk> LineBoundaryFinder::flush() {
    if (partial_.empty()) return std::nullopt;
    return append("\n", partial_time_);
}

}  // namespace kiln::worker
