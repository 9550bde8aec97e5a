// SPDX-License-Identifier: Apache-2.0
#include "protocol/codec.hpp"

#include "core/ascii.hpp"

#include <cstring>
#include <limits>
#include <msgpack.hpp>

namespace kiln::protocol {
namespace {

using core::ErrorKind;
using core::fail;

// msgpack-cxx writes into any type with write(const char*, size_t).
struct StringSink {
    std::string& out;
    void write(const char* data, std::size_t size) { out.append(data, size); }
};

void pack(msgpack::packer<StringSink>& packer, const Value& value) {
    struct Visitor {
        msgpack::packer<StringSink>& packer;
        void operator()(const Nil&) { packer.pack_nil(); }
        void operator()(bool b) { b ? packer.pack_true() : packer.pack_false(); }
        void operator()(std::int64_t i) { packer.pack_int64(i); }
        void operator()(std::uint64_t u) { packer.pack_uint64(u); }
        void operator()(double d) { packer.pack_double(d); }
        void operator()(const std::string& s) {
            packer.pack_str(static_cast<std::uint32_t>(s.size()));
            packer.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
        }
        void operator()(const Binary& b) {
            packer.pack_bin(static_cast<std::uint32_t>(b.bytes.size()));
            packer.pack_bin_body(b.bytes.data(), static_cast<std::uint32_t>(b.bytes.size()));
        }
        void operator()(const Array& a) {
            packer.pack_array(static_cast<std::uint32_t>(a.size()));
            for (const auto& item : a)
                pack(packer, item);
        }
        void operator()(const Map& m) {
            packer.pack_map(static_cast<std::uint32_t>(m.size()));
            for (const auto& [key, item] : m) {
                (*this)(key);
                pack(packer, item);
            }
        }
    };
    std::visit(Visitor{packer}, value.storage());
}

// A direct msgpack reader into Value: one pass over the bytes, no intermediate msgpack::object
// tree (a line chunk carries two numbers per line, so this runs millions of times per 100 MB
// of build output). Every declared length is checked against the bytes left before anything
// is allocated.
class Reader {
public:
    Reader(std::string_view bytes, const DecodeLimits& limits)
        : p_(reinterpret_cast<const unsigned char*>(bytes.data()))
        , end_(p_ + bytes.size())
        , limits_(limits) {}

    bool read(Value& out, std::size_t depth) {
        if (depth > limits_.max_depth) return error("nesting too deep");
        if (p_ >= end_) return truncated();
        const unsigned char tag = *p_++;
        if (tag <= 0x7f) {
            out = Value{static_cast<std::int64_t>(tag)};
            return true;
        }
        if (tag >= 0xe0) {
            out = Value{static_cast<std::int64_t>(static_cast<std::int8_t>(tag))};
            return true;
        }
        if ((tag & 0xe0) == 0xa0) return read_str(out, tag & 0x1fu);
        if ((tag & 0xf0) == 0x90) return read_array(out, tag & 0x0fu, depth);
        if ((tag & 0xf0) == 0x80) return read_map(out, tag & 0x0fu, depth);
        switch (tag) {
        case 0xc0: out = Value{}; return true;
        case 0xc2: out = Value{false}; return true;
        case 0xc3: out = Value{true}; return true;
        case 0xc4: return read_length(1) && read_bin(out);
        case 0xc5: return read_length(2) && read_bin(out);
        case 0xc6: return read_length(4) && read_bin(out);
        case 0xca: {
            std::uint32_t bits = 0;
            if (!read_uint(4, bits)) return false;
            float f;
            std::memcpy(&f, &bits, sizeof f);
            out = Value{static_cast<double>(f)};
            return true;
        }
        case 0xcb: {
            std::uint64_t bits = 0;
            if (!read_uint(8, bits)) return false;
            double d;
            std::memcpy(&d, &bits, sizeof d);
            out = Value{d};
            return true;
        }
        case 0xcc: return read_unsigned(1, out);
        case 0xcd: return read_unsigned(2, out);
        case 0xce: return read_unsigned(4, out);
        case 0xcf: return read_unsigned(8, out);
        case 0xd0: return read_signed<std::int8_t>(out);
        case 0xd1: return read_signed<std::int16_t>(out);
        case 0xd2: return read_signed<std::int32_t>(out);
        case 0xd3: return read_signed<std::int64_t>(out);
        case 0xd9: return read_length(1) && read_str(out, length_);
        case 0xda: return read_length(2) && read_str(out, length_);
        case 0xdb: return read_length(4) && read_str(out, length_);
        case 0xdc: return read_length(2) && read_array(out, length_, depth);
        case 0xdd: return read_length(4) && read_array(out, length_, depth);
        case 0xde: return read_length(2) && read_map(out, length_, depth);
        case 0xdf: return read_length(4) && read_map(out, length_, depth);
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8: return error("ext types are not used");
        default: return error("malformed msgpack: reserved type byte");
        }
    }

    bool at_end() const { return p_ == end_; }
    const std::string& message() const { return message_; }

private:
    bool error(std::string message) {
        message_ = std::move(message);
        return false;
    }
    bool truncated() { return error("truncated msgpack data"); }
    std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

    template <typename T>
    bool read_uint(std::size_t size, T& out) {
        if (left() < size) return truncated();
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < size; ++i)
            v = v << 8 | p_[i];
        p_ += size;
        out = static_cast<T>(v);
        return true;
    }
    bool read_length(std::size_t size) { return read_uint(size, length_); }
    bool read_unsigned(std::size_t size, Value& out) {
        std::uint64_t v = 0;
        if (!read_uint(size, v)) return false;
        out = Value{static_cast<unsigned long long>(v)};
        return true;
    }
    template <typename T>
    bool read_signed(Value& out) {
        std::uint64_t v = 0;
        if (!read_uint(sizeof(T), v)) return false;
        out = Value{static_cast<std::int64_t>(static_cast<T>(v))};
        return true;
    }
    bool read_str(Value& out, std::size_t size) {
        if (left() < size) return truncated();
        std::string_view text(reinterpret_cast<const char*>(p_), size);
        if (!is_valid_utf8(text)) return error("str is not valid UTF-8");
        p_ += size;
        out = Value{std::string(text)};
        return true;
    }
    bool read_bin(Value& out) {
        if (left() < length_) return truncated();
        out = Value{Binary{std::string(reinterpret_cast<const char*>(p_), length_)}};
        p_ += length_;
        return true;
    }
    bool check_entries(std::size_t count, std::size_t min_bytes_each) {
        if (count > limits_.max_container_entries)
            return error("malformed msgpack: container has too many entries");
        if (count > left() / min_bytes_each) return truncated();  // each entry takes bytes
        return true;
    }
    bool read_array(Value& out, std::size_t count, std::size_t depth) {
        if (!check_entries(count, 1)) return false;
        if (depth + 1 > limits_.max_depth && count > 0) return error("nesting too deep");
        Array array;
        array.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            // Numbers built in place (a line chunk's positions and times are most items).
            if (p_ >= end_) return truncated();
            const unsigned char tag = *p_;
            if (tag <= 0x7f) {
                ++p_;
                array.emplace_back(static_cast<std::int64_t>(tag));
            } else if (tag == 0xcb && left() >= 9) {
                ++p_;
                std::uint64_t bits = 0;
                read_uint(8, bits);
                double d;
                std::memcpy(&d, &bits, sizeof d);
                array.emplace_back(d);
            } else if ((tag == 0xcc && left() >= 2) || (tag == 0xcd && left() >= 3) ||
                       (tag == 0xce && left() >= 5)) {
                ++p_;
                std::uint32_t v = 0;
                read_uint(tag == 0xcc   ? std::size_t{1}
                          : tag == 0xcd ? std::size_t{2}
                                        : std::size_t{4},
                          v);
                array.emplace_back(static_cast<std::int64_t>(v));
            } else {
                array.emplace_back();
                if (!read(array.back(), depth + 1)) return false;
            }
        }
        out = Value{std::move(array)};
        return true;
    }
    bool read_map(Value& out, std::size_t count, std::size_t depth) {
        if (!check_entries(count, 2)) return false;
        Map map(count);
        for (auto& [key, item] : map) {
            if (!read_key(key)) return false;
            if (!read(item, depth + 1)) return false;
        }
        out = Value{std::move(map)};
        return true;
    }
    bool read_key(std::string& key) {
        if (p_ >= end_) return truncated();
        const unsigned char tag = *p_++;
        bool is_str = true;
        if ((tag & 0xe0) == 0xa0) {
            length_ = tag & 0x1fu;
        } else if (tag == 0xd9 || tag == 0xda || tag == 0xdb) {
            if (!read_length(tag == 0xd9 ? 1 : tag == 0xda ? 2 : 4)) return false;
        } else if (tag == 0xc4 || tag == 0xc5 || tag == 0xc6) {
            if (!read_length(tag == 0xc4 ? 1 : tag == 0xc5 ? 2 : 4)) return false;
            is_str = false;
        } else {
            return error("map key is not a string");
        }
        if (left() < length_) return truncated();
        key.assign(reinterpret_cast<const char*>(p_), length_);
        p_ += length_;
        if (is_str && !is_valid_utf8(key)) return error("map key is not valid UTF-8");
        return true;
    }

    const unsigned char* p_;
    const unsigned char* end_;
    const DecodeLimits& limits_;
    std::size_t length_ = 0;
    std::string message_;
};

}  // namespace

core::Expected<Value> decode(std::string_view bytes, const DecodeLimits& limits) {
    if (bytes.empty()) return fail(ErrorKind::bad_input, "empty message");
    Reader reader(bytes, limits);
    Value value;
    if (!reader.read(value, 0)) return fail(ErrorKind::bad_input, reader.message());
    if (!reader.at_end())
        return fail(ErrorKind::bad_input, "trailing bytes after the msgpack document");
    return value;
}

void encode(const Value& value, std::string& out) {
    StringSink sink{out};
    msgpack::packer<StringSink> packer(sink);
    pack(packer, value);
}

std::string encode(const Value& value) {
    std::string out;
    encode(value, out);
    return out;
}

void MessageWriter::header(unsigned char tag, std::uint64_t value, std::size_t bytes) {
    char buffer[9];
    buffer[0] = static_cast<char>(tag);
    for (std::size_t i = 0; i < bytes; ++i)
        buffer[bytes - i] = static_cast<char>(value >> (8 * i) & 0xffu);
    out_.append(buffer, bytes + 1);
}

void MessageWriter::map(std::size_t entries) {
    if (entries < 16)
        out_.push_back(static_cast<char>(0x80u | entries));
    else if (entries < 0x10000)
        header(0xde, entries, 2);
    else
        header(0xdf, entries, 4);
}

void MessageWriter::array(std::size_t items) {
    if (items < 16)
        out_.push_back(static_cast<char>(0x90u | items));
    else if (items < 0x10000)
        header(0xdc, items, 2);
    else
        header(0xdd, items, 4);
}

void MessageWriter::str(std::string_view text) {
    const auto size = text.size();
    if (size < 32)
        out_.push_back(static_cast<char>(0xa0u | size));
    else if (size < 0x100)
        header(0xd9, size, 1);
    else if (size < 0x10000)
        header(0xda, size, 2);
    else
        header(0xdb, size, 4);
    out_.append(text);
}

// As msgpack-cxx's pack_int64 (what encode() uses): the smallest format.
void MessageWriter::integer(std::int64_t i) {
    const auto bits = static_cast<std::uint64_t>(i);
    if (i < -(1LL << 31))
        header(0xd3, bits, 8);
    else if (i < -(1LL << 15))
        header(0xd2, bits, 4);
    else if (i < -(1LL << 7))
        header(0xd1, bits, 2);
    else if (i < -(1LL << 5))
        header(0xd0, bits, 1);
    else if (i < (1LL << 7))
        out_.push_back(static_cast<char>(i));  // positive or negative fixint
    else if (i < (1LL << 8))
        header(0xcc, bits, 1);
    else if (i < (1LL << 16))
        header(0xcd, bits, 2);
    else if (i < (1LL << 32))
        header(0xce, bits, 4);
    else
        header(0xcf, bits, 8);
}

// As msgpack-cxx's pack_double: a float with an integral value is written as an integer.
void MessageWriter::number(double d) {
    if (d >= 0 && d < 18446744073709551616.0) {  // [0, 2^64): NaN fails both tests
        const auto u = static_cast<std::uint64_t>(d);
        if (static_cast<double>(u) == d) {
            if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                integer(static_cast<std::int64_t>(u));
            else
                header(0xcf, u, 8);
            return;
        }
    } else if (d < 0 && d >= -9223372036854775808.0) {
        const auto i = static_cast<std::int64_t>(d);
        if (static_cast<double>(i) == d) {
            integer(i);
            return;
        }
    }
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    header(0xcb, bits, 8);
}

void MessageWriter::value(const Value& value) { encode(value, out_); }

bool is_valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        p += core::ascii_run(
            std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(end - p)));
        if (p >= end) break;
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code = 0;
        if ((c & 0xe0) == 0xc0) {
            length = 2;
            code = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            length = 3;
            code = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            length = 4;
            code = c & 0x07u;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < length) return false;
        for (std::size_t i = 1; i < length; ++i) {
            if ((p[i] & 0xc0) != 0x80) return false;
            code = code << 6 | (p[i] & 0x3fu);
        }
        if ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
            (length == 4 && code < 0x10000) || code > 0x10ffff ||
            (code >= 0xd800 && code <= 0xdfff))
            return false;
        p += length;
    }
    return true;
}

}  // namespace kiln::protocol
