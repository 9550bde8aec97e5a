// SPDX-License-Identifier: Apache-2.0
#include "protocol/codec.hpp"

#include "core/ascii.hpp"

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

bool reference_everything(msgpack::type::object_type, std::size_t, void*) {
    return true;  // the input outlives the conversion into Value, so never copy into the zone
}

core::Expected<Value> convert(const msgpack::object& object, std::size_t depth,
                              const DecodeLimits& limits) {
    if (depth > limits.max_depth) return fail(ErrorKind::bad_input, "nesting too deep");
    switch (object.type) {
    case msgpack::type::NIL: return Value{};
    case msgpack::type::BOOLEAN: return Value{object.via.boolean};
    case msgpack::type::POSITIVE_INTEGER: return Value{object.via.u64};
    case msgpack::type::NEGATIVE_INTEGER: return Value{object.via.i64};
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return Value{object.via.f64};
    case msgpack::type::STR: {
        std::string_view text(object.via.str.ptr, object.via.str.size);
        if (!is_valid_utf8(text)) return fail(ErrorKind::bad_input, "str is not valid UTF-8");
        return Value{std::string(text)};
    }
    case msgpack::type::BIN:
        return Value{Binary{std::string(object.via.bin.ptr, object.via.bin.size)}};
    case msgpack::type::ARRAY: {
        Array array;
        array.reserve(object.via.array.size);
        for (std::uint32_t i = 0; i < object.via.array.size; ++i) {
            auto item = convert(object.via.array.ptr[i], depth + 1, limits);
            if (!item) return item.error();
            array.push_back(std::move(*item));
        }
        return Value{std::move(array)};
    }
    case msgpack::type::MAP: {
        Map map;
        map.reserve(object.via.map.size);
        for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
            const auto& entry = object.via.map.ptr[i];
            std::string key;
            if (entry.key.type == msgpack::type::STR) {
                key.assign(entry.key.via.str.ptr, entry.key.via.str.size);
                if (!is_valid_utf8(key))
                    return fail(ErrorKind::bad_input, "map key is not valid UTF-8");
            } else if (entry.key.type == msgpack::type::BIN) {
                key.assign(entry.key.via.bin.ptr, entry.key.via.bin.size);
            } else {
                return fail(ErrorKind::bad_input, "map key is not a string");
            }
            auto item = convert(entry.val, depth + 1, limits);
            if (!item) return item.error();
            map.emplace_back(std::move(key), std::move(*item));
        }
        return Value{std::move(map)};
    }
    case msgpack::type::EXT: return fail(ErrorKind::bad_input, "ext types are not used");
    }
    return fail(ErrorKind::bad_input, "unknown msgpack type");
}

}  // namespace

core::Expected<Value> decode(std::string_view bytes, const DecodeLimits& limits) {
    if (bytes.empty()) return fail(ErrorKind::bad_input, "empty message");
    auto entries = static_cast<std::size_t>(std::min<std::size_t>(
        limits.max_container_entries, std::numeric_limits<std::uint32_t>::max()));
    msgpack::unpack_limit limit(entries, entries, bytes.size(), bytes.size(), bytes.size(),
                                limits.max_depth);
    std::size_t offset = 0;
    msgpack::object_handle handle;
    try {
        handle = msgpack::unpack(bytes.data(), bytes.size(), offset, reference_everything, nullptr,
                                 limit);
    } catch (const msgpack::insufficient_bytes&) {
        return fail(ErrorKind::bad_input, "truncated msgpack data");
    } catch (const msgpack::unpack_error& error) {
        return fail(ErrorKind::bad_input, std::string("malformed msgpack: ") + error.what());
    } catch (const std::bad_alloc&) {
        return fail(ErrorKind::bad_input, "msgpack data declares more than fits in memory");
    }
    if (offset != bytes.size())
        return fail(ErrorKind::bad_input, "trailing bytes after the msgpack document");
    return convert(handle.get(), 0, limits);
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
