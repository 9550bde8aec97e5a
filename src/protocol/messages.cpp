// SPDX-License-Identifier: Apache-2.0
#include "protocol/messages.hpp"

#include "protocol/codec.hpp"

#include <utility>

namespace kiln::protocol {
namespace {

using core::ErrorKind;
using core::Expected;
using core::fail;

core::Error missing(std::string_view op, std::string_view key, std::string_view expected) {
    return fail(ErrorKind::bad_input,
                std::string(op) + ": '" + std::string(key) + "' must be " + std::string(expected));
}

Expected<std::string> text_field(const Request& r, std::string_view key) {
    const auto* value = find(r.fields, key);
    if (!value) return missing(r.op, key, "present");
    auto text = value->as_text();
    if (!text) return missing(r.op, key, "a string");
    return std::string(*text);
}

Expected<std::string> bytes_field(const Request& r, std::string_view key) {
    return text_field(r, key);  // bin normally; str accepted
}

Expected<std::int64_t> int_field(const Request& r, std::string_view key) {
    const auto* value = find(r.fields, key);
    if (!value) return missing(r.op, key, "present");
    auto number = value->as_int();
    if (!number) return missing(r.op, key, "an integer");
    return *number;
}

Expected<double> number_field(const Request& r, std::string_view key) {
    const auto* value = find(r.fields, key);
    if (!value) return missing(r.op, key, "present");
    auto number = value->as_number();
    if (!number) return missing(r.op, key, "a number");
    return *number;
}

template <typename T, typename... Fields>
Expected<T> build(Fields&&... fields) {
    core::Error first_error;
    bool ok = true;
    auto check = [&](const auto& field) {
        if (ok && !field) {
            ok = false;
            first_error = field.error();
        }
    };
    (check(fields), ...);
    if (!ok) return first_error;
    return T{std::move(*fields)...};
}

Expected<SetWorkerSettings> parse_settings(const Request& r) {
    const auto* args = find(r.fields, "args");
    if (!args || !args->is_map()) return missing(r.op, "args", "a map");
    Request inner{r.op, r.seq_number, *args->if_map()};
    auto newline_re = text_field(inner, "newline_re");
    auto max_line_length = int_field(inner, "max_line_length");
    auto buffer_timeout = number_field(inner, "buffer_timeout");
    auto buffer_size = int_field(inner, "buffer_size");
    auto settings =
        build<SetWorkerSettings>(newline_re, max_line_length, buffer_timeout, buffer_size);
    if (settings && (settings->max_line_length < 2 || settings->buffer_size < 1 ||
                     settings->buffer_timeout < 0))
        return fail(ErrorKind::bad_input, "set_worker_settings: values out of range");
    return settings;
}

Expected<StartCommand> parse_start(const Request& r) {
    auto command_id = text_field(r, "command_id");
    if (!command_id) return command_id.error();
    auto command_name = text_field(r, "command_name");
    if (!command_name) return command_name.error();
    const auto* args = find(r.fields, "args");
    if (!args || !args->is_map()) return missing(r.op, "args", "a map");
    StartCommand start{std::move(*command_id), std::move(*command_name), *args->if_map(), {}};
    if (const auto* builder = find(r.fields, "builder_name"); builder && !builder->is_nil()) {
        auto name = builder->as_text();
        if (!name) return missing(r.op, "builder_name", "a string");
        start.builder_name = std::string(*name);
    }
    return start;
}

Expected<InterruptCommand> parse_interrupt(const Request& r) {
    auto command_id = text_field(r, "command_id");
    if (!command_id) return command_id.error();
    InterruptCommand interrupt{{}, std::move(*command_id), {}};
    if (auto builder = text_field(r, "builder_name")) interrupt.builder_name = std::move(*builder);
    if (auto why = text_field(r, "why")) interrupt.why = std::move(*why);
    return interrupt;
}

// Moves the values out of r: a line chunk is the bulk of an update, not worth a copy.
Expected<Update> parse_update(Request& r) {
    auto command_id = text_field(r, "command_id");
    if (!command_id) return command_id.error();
    Value* args = nullptr;
    for (auto& [key, value] : r.fields)
        if (key == "args") {
            args = &value;
            break;
        }
    if (!args || !args->is_array()) return missing(r.op, "args", "an array of [key, value]");
    Update update{std::move(*command_id), {}};
    update.updates.reserve(args->if_array()->size());
    for (auto& pair : *args->if_array()) {
        auto* items = pair.if_array();
        if (!items || items->size() != 2 || !(*items)[0].as_text())
            return missing(r.op, "args", "an array of [key, value] pairs");
        update.updates.emplace_back(std::string(*(*items)[0].as_text()), std::move((*items)[1]));
    }
    return update;
}

Expected<Complete> parse_complete(const Request& r) {
    auto command_id = text_field(r, "command_id");
    if (!command_id) return command_id.error();
    Complete complete{std::move(*command_id), {}};
    if (const auto* args = find(r.fields, "args"); args && !args->is_nil()) {
        auto text = args->as_text();
        complete.failure = text ? std::string(*text) : args->debug_string();
    }
    return complete;
}

template <typename T>
Expected<T> only_command_id(const Request& r) {
    auto command_id = text_field(r, "command_id");
    if (!command_id) return command_id.error();
    return T{std::move(*command_id)};
}

core::Error unknown_op(const Request& r) {
    return fail(ErrorKind::not_found, "Command " + r.op + " does not exist.");
}

template <typename Variant, typename T>
Expected<Variant> widen(Expected<T> typed) {
    if (!typed) return typed.error();
    return Variant{std::move(*typed)};
}

Value number_value(double d) { return Value{d}; }

// Python sends an int where the configured value is integral (buffer_timeout: 5).
Value int_if_integral(double d) {
    if (d >= -1e15 && d <= 1e15 && static_cast<double>(static_cast<std::int64_t>(d)) == d)
        return Value{static_cast<std::int64_t>(d)};
    return Value{d};
}

}  // namespace

// --- envelope -------------------------------------------------------------------------------

Expected<Message> parse_message(Value value) {
    auto* map = value.if_map();
    if (!map) return fail(ErrorKind::bad_input, "message is not a map");
    const auto* op_value = find(*map, "op");
    const auto* seq_value = find(*map, "seq_number");
    if (!op_value || !op_value->as_text())
        return fail(ErrorKind::bad_input, "message has no 'op' string");
    if (!seq_value || !seq_value->as_int() || *seq_value->as_int() < 0)
        return fail(ErrorKind::bad_input, "message has no non-negative integer 'seq_number'");
    auto seq = static_cast<std::uint64_t>(*seq_value->as_int());
    std::string op(*op_value->as_text());
    if (op == "response") {
        Response response{seq, {}, false};
        if (const auto* result = find(*map, "result")) response.result = *result;
        response.is_exception = find(*map, "is_exception") != nullptr;
        return Message{std::move(response)};
    }
    Request request{std::move(op), seq, {}};
    request.fields.reserve(map->size());
    for (auto& [key, item] : *map)
        if (key != "op" && key != "seq_number") request.fields.emplace_back(key, std::move(item));
    return Message{std::move(request)};
}

Expected<Message> decode_message(std::string_view bytes) {
    auto value = decode(bytes);
    if (!value) return value.error();
    return parse_message(std::move(*value));
}

std::string encode_request(std::string_view op, std::uint64_t seq_number, const Map& fields) {
    Map map;
    map.reserve(fields.size() + 2);
    map.emplace_back("op", Value{op});
    for (const auto& field : fields)
        map.push_back(field);
    map.emplace_back("seq_number", Value{seq_number});
    return encode(Value{std::move(map)});
}

void begin_request(std::string_view op, std::size_t field_count, std::string& out) {
    MessageWriter writer(out);
    writer.map(field_count + 2);
    writer.str("op");
    writer.str(op);
}

void end_request(std::uint64_t seq_number, std::string& out) {
    MessageWriter writer(out);
    writer.str("seq_number");
    writer.value(Value{seq_number});
}

std::string encode_response(const Response& response) {
    Map map{{"op", Value{"response"}},
            {"seq_number", Value{response.seq_number}},
            {"result", response.result}};
    if (response.is_exception) map.emplace_back("is_exception", Value{true});
    return encode(Value{std::move(map)});
}

// --- typed requests -------------------------------------------------------------------------

Expected<MasterRequest> parse_master_request(const Request& r) {
    if (r.op == "print") {
        auto message = text_field(r, "message");
        if (!message) return message.error();
        return MasterRequest{Print{std::move(*message)}};
    }
    if (r.op == "keepalive") return MasterRequest{Keepalive{}};
    if (r.op == "get_worker_info") return MasterRequest{GetWorkerInfo{}};
    if (r.op == "set_worker_settings") return widen<MasterRequest>(parse_settings(r));
    if (r.op == "start_command") return widen<MasterRequest>(parse_start(r));
    if (r.op == "interrupt_command") return widen<MasterRequest>(parse_interrupt(r));
    if (r.op == "shutdown") return MasterRequest{Shutdown{}};
    return unknown_op(r);
}

Expected<WorkerRequest> parse_worker_request(Request&& r) {
    if (r.op == "update") return widen<WorkerRequest>(parse_update(r));
    return parse_worker_request(std::as_const(r));
}

Expected<WorkerRequest> parse_worker_request(const Request& r) {
    if (r.op == "update") {
        Request copy = r;
        return widen<WorkerRequest>(parse_update(copy));
    }
    if (r.op == "complete") return widen<WorkerRequest>(parse_complete(r));
    if (r.op == "update_upload_file_write" || r.op == "update_upload_directory_write") {
        auto command_id = text_field(r, "command_id");
        if (!command_id) return command_id.error();
        auto data = bytes_field(r, "args");
        if (!data) return data.error();
        if (r.op == "update_upload_file_write")
            return WorkerRequest{UploadFileWrite{std::move(*command_id), std::move(*data)}};
        return WorkerRequest{UploadDirectoryWrite{std::move(*command_id), std::move(*data)}};
    }
    if (r.op == "update_upload_file_close")
        return widen<WorkerRequest>(only_command_id<UploadFileClose>(r));
    if (r.op == "update_upload_file_utime") {
        auto command_id = text_field(r, "command_id");
        auto access = number_field(r, "access_time");
        auto modified = number_field(r, "modified_time");
        return widen<WorkerRequest>(build<UploadFileUtime>(command_id, access, modified));
    }
    if (r.op == "update_upload_directory_unpack")
        return widen<WorkerRequest>(only_command_id<UploadDirectoryUnpack>(r));
    if (r.op == "update_read_file") {
        auto command_id = text_field(r, "command_id");
        auto length = int_field(r, "length");
        auto read = build<ReadFile>(command_id, length);
        if (read && read->length < 0) return missing(r.op, "length", "non-negative");
        return widen<WorkerRequest>(std::move(read));
    }
    if (r.op == "update_read_file_close")
        return widen<WorkerRequest>(only_command_id<ReadFileClose>(r));
    return unknown_op(r);
}

std::string_view op_name(const MasterRequest& request) {
    struct Names {
        std::string_view operator()(const Print&) { return "print"; }
        std::string_view operator()(const Keepalive&) { return "keepalive"; }
        std::string_view operator()(const GetWorkerInfo&) { return "get_worker_info"; }
        std::string_view operator()(const SetWorkerSettings&) { return "set_worker_settings"; }
        std::string_view operator()(const StartCommand&) { return "start_command"; }
        std::string_view operator()(const InterruptCommand&) { return "interrupt_command"; }
        std::string_view operator()(const Shutdown&) { return "shutdown"; }
    };
    return std::visit(Names{}, request);
}

std::string_view op_name(const WorkerRequest& request) {
    struct Names {
        std::string_view operator()(const Update&) { return "update"; }
        std::string_view operator()(const Complete&) { return "complete"; }
        std::string_view operator()(const UploadFileWrite&) { return "update_upload_file_write"; }
        std::string_view operator()(const UploadFileClose&) { return "update_upload_file_close"; }
        std::string_view operator()(const UploadFileUtime&) { return "update_upload_file_utime"; }
        std::string_view operator()(const UploadDirectoryWrite&) {
            return "update_upload_directory_write";
        }
        std::string_view operator()(const UploadDirectoryUnpack&) {
            return "update_upload_directory_unpack";
        }
        std::string_view operator()(const ReadFile&) { return "update_read_file"; }
        std::string_view operator()(const ReadFileClose&) { return "update_read_file_close"; }
    };
    return std::visit(Names{}, request);
}

Map to_fields(const MasterRequest& request) {
    struct Fields {
        Map operator()(const Print& p) { return {{"message", Value{p.message}}}; }
        Map operator()(const Keepalive&) { return {}; }
        Map operator()(const GetWorkerInfo&) { return {}; }
        Map operator()(const SetWorkerSettings& s) {
            return {{"args", Value{Map{{"newline_re", Value{s.newline_re}},
                                       {"max_line_length", Value{s.max_line_length}},
                                       {"buffer_timeout", int_if_integral(s.buffer_timeout)},
                                       {"buffer_size", Value{s.buffer_size}}}}}};
        }
        Map operator()(const StartCommand& s) {
            Map fields;
            if (s.builder_name) fields.emplace_back("builder_name", Value{*s.builder_name});
            fields.emplace_back("command_id", Value{s.command_id});
            fields.emplace_back("command_name", Value{s.command_name});
            fields.emplace_back("args", Value{s.args});
            return fields;
        }
        Map operator()(const InterruptCommand& i) {
            return {{"builder_name", Value{i.builder_name}},
                    {"command_id", Value{i.command_id}},
                    {"why", Value{i.why}}};
        }
        Map operator()(const Shutdown&) { return {}; }
    };
    return std::visit(Fields{}, request);
}

Map to_fields(const WorkerRequest& request) {
    struct Fields {
        Map operator()(const Update& u) {
            Array args;
            args.reserve(u.updates.size());
            for (const auto& [key, value] : u.updates)
                args.push_back(Value{Array{Value{key}, value}});
            return {{"args", Value{std::move(args)}}, {"command_id", Value{u.command_id}}};
        }
        Map operator()(const Complete& c) {
            return {{"args", c.failure ? Value{*c.failure} : Value{}},
                    {"command_id", Value{c.command_id}}};
        }
        Map operator()(const UploadFileWrite& w) {
            return {{"args", Value{Binary{w.data}}}, {"command_id", Value{w.command_id}}};
        }
        Map operator()(const UploadFileClose& c) { return {{"command_id", Value{c.command_id}}}; }
        Map operator()(const UploadFileUtime& u) {
            return {{"access_time", number_value(u.access_time)},
                    {"modified_time", number_value(u.modified_time)},
                    {"command_id", Value{u.command_id}}};
        }
        Map operator()(const UploadDirectoryWrite& w) {
            return {{"args", Value{Binary{w.data}}}, {"command_id", Value{w.command_id}}};
        }
        Map operator()(const UploadDirectoryUnpack& u) {
            return {{"command_id", Value{u.command_id}}};
        }
        Map operator()(const ReadFile& r) {
            return {{"length", Value{r.length}}, {"command_id", Value{r.command_id}}};
        }
        Map operator()(const ReadFileClose& c) { return {{"command_id", Value{c.command_id}}}; }
    };
    return std::visit(Fields{}, request);
}

std::string encode(const MasterRequest& request, std::uint64_t seq_number) {
    return encode_request(op_name(request), seq_number, to_fields(request));
}

std::string encode(const WorkerRequest& request, std::uint64_t seq_number) {
    return encode_request(op_name(request), seq_number, to_fields(request));
}

// --- payloads -------------------------------------------------------------------------------

Value LineChunk::to_value() const {
    Array positions;
    positions.reserve(newline_positions.size());
    for (auto p : newline_positions)
        positions.emplace_back(p);
    Array times;
    times.reserve(line_times.size());
    for (auto t : line_times)
        times.emplace_back(t);
    return Value{Array{Value{text}, Value{std::move(positions)}, Value{std::move(times)}}};
}

std::optional<std::string_view> LineChunk::text_of(const Value& value) {
    const Value* text = &value;
    if (const Array* items = value.if_array()) {
        if (items->empty()) return std::nullopt;
        text = &(*items)[0];
    }
    return text->as_text();
}

void encode_line_chunk(const LineChunk& chunk, std::string& out) {
    out.reserve(out.size() + chunk.text.size() + 16 + 9 * chunk.newline_positions.size() +
                9 * chunk.line_times.size());
    MessageWriter writer(out);
    writer.array(3);
    writer.str(chunk.text);
    writer.array(chunk.newline_positions.size());
    for (auto p : chunk.newline_positions)
        writer.integer(p);
    writer.array(chunk.line_times.size());
    for (auto t : chunk.line_times)
        writer.number(t);
}

Expected<LineChunk> LineChunk::from_value(const Value& value) {
    LineChunk chunk;
    const Value* text = &value;
    const Array* items = value.if_array();
    if (items) {
        if (items->empty()) return fail(ErrorKind::bad_input, "line chunk is an empty array");
        text = &(*items)[0];
    }
    auto body = text->as_text();
    if (!body) return fail(ErrorKind::bad_input, "line chunk text must be a string");
    chunk.text = std::string(*body);
    if (items && items->size() >= 3) {
        if (const auto* positions = (*items)[1].if_array())
            for (const auto& p : *positions)
                if (auto i = p.as_int()) chunk.newline_positions.push_back(*i);
        if (const auto* times = (*items)[2].if_array())
            for (const auto& t : *times)
                if (auto d = t.as_number()) chunk.line_times.push_back(*d);
    }
    return chunk;
}

SetWorkerSettings stock_worker_settings() {
    return SetWorkerSettings{
        "(\\r\\n|\\r(?=.)|\\033\\[u|\\033\\[[0-9]+;[0-9]+[Hf]|\\033\\[2J|\\x08+)", 4096, 5, 65536};
}

const std::vector<std::string>& stock_worker_commands() {
    static const std::vector<std::string> commands = {
        "shell",        "uploadFile",    "upload_file", "uploadDirectory", "upload_directory",
        "downloadFile", "download_file", "mkdir",       "rmdir",           "cpdir",
        "stat",         "glob",          "listdir",     "rmfile"};
    return commands;
}

}  // namespace kiln::protocol
