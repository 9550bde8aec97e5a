// SPDX-License-Identifier: Apache-2.0
// RestApi: logs, and their contents and raw downloads streamed one stored chunk at a time.
#include "www/detail/rest_impl.hpp"
#include "www/json_output.hpp"

#include <algorithm>
#include <memory>

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using namespace rest;

namespace {

// A log contents answer being streamed: the envelope's head, the content one stored chunk
// at a time (cut at the requested last line), then the other keys.
struct ContentsStream {
    data::Queries* queries;
    Id logid;
    std::int64_t next;
    std::int64_t last;
    int stage = 0;
    bool wants_content;
    bool pretty;
    std::string tail_text;
};

asio::awaitable<std::optional<std::string>>
next_contents_piece(std::shared_ptr<ContentsStream> state) {
    auto& s = *state;
    const char* indent = s.pretty ? "\n    " : "";
    if (s.stage == 0) {
        s.stage = 1;
        std::string head = s.pretty ? "{\n  \"logchunks\": [\n    {" : "{\"logchunks\":[{";
        if (s.wants_content)
            head += s.pretty ? std::string(indent) + "  \"content\": \"" : "\"content\":\"";
        co_return head;
    }
    if (s.stage == 1) {
        if (s.wants_content && s.next <= s.last) {
            auto piece = co_await s.queries->log_piece(s.logid, s.next);
            if (piece && !piece->text.empty()) {
                // Cut the piece at the requested last line.
                std::string_view text = piece->text;
                auto lines = piece->next_line - s.next;
                if (piece->next_line - 1 > s.last) {
                    std::size_t keep = 0;
                    for (std::int64_t n = 0; n < s.last - s.next + 1; ++n)
                        keep = text.find('\n', keep) + 1;
                    text = text.substr(0, keep);
                    lines = s.last - s.next + 1;
                }
                s.next += lines;
                std::string quoted = to_sorted_json(boost::json::value(text));
                co_return quoted.substr(1, quoted.size() - 2);
            }
        }
        s.stage = 2;
        // Close the content string, then the other keys of the object.
        std::string rest = s.wants_content ? "\"" : "";
        std::string inner = s.tail_text.substr(1, s.tail_text.size() - 2);  // without { }
        if (s.pretty) {
            // The pretty tail is "{\n  \"firstline\": 0,\n  \"logid\": 8\n}": re-indent.
            std::string reindented;
            for (char c : inner) {
                reindented += c;
                if (c == '\n') reindented += "    ";
            }
            inner = reindented;
            while (!inner.empty() && (inner.back() == ' ' || inner.back() == '\n'))
                inner.pop_back();
            if (!inner.empty()) rest += s.wants_content ? "," + inner : inner;
            rest += "\n    }\n  ],\n  \"meta\": {}\n}";
        } else {
            if (!inner.empty()) rest += s.wants_content ? "," + inner : inner;
            rest += "}],\"meta\":{}}";
        }
        co_return rest;
    }
    co_return std::nullopt;
}

// A raw log download being streamed, one stored chunk at a time.
struct RawStream {
    data::Queries* queries;
    Id logid;
    std::int64_t next = 0;
    bool is_stdio;
    bool wrote_line = false;
};

asio::awaitable<std::optional<std::string>> next_raw_piece(std::shared_ptr<RawStream> state) {
    auto& s = *state;
    auto piece = co_await s.queries->log_piece(s.logid, s.next);
    if (!piece || piece->text.empty()) co_return std::nullopt;
    s.next = piece->next_line;
    if (!s.is_stdio) co_return std::move(piece->text);
    // stdio logs: drop each line's stream tag, join with '\n', no final newline.
    std::string out;
    out.reserve(piece->text.size());
    std::string_view text = piece->text;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        if (s.wrote_line) out += '\n';
        s.wrote_line = true;
        if (!line.empty()) out.append(line.substr(1));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    co_return out;
}

}  // namespace

asio::awaitable<Result> RestApi::Impl::logs_collection(Call& call) {
    auto step = co_await resolve_step(call);
    if (!step) {
        if (call.args.has("stepid")) co_return collection({});
        co_return not_found();
    }
    auto logs = co_await builds.logs(step->stepid);
    co_return collection(to_items(logs, call.storage));
}

asio::awaitable<Result> RestApi::Impl::log_entity(Call& call) {
    auto log = co_await resolve_log(call);
    if (!log) co_return not_found();
    co_return entity(log->to_json());
}

asio::awaitable<Result> RestApi::Impl::log_contents(Call& call) {
    auto log = co_await resolve_log(call);
    if (!log) co_return not_found();
    const auto first = call.spec.offset.value_or(0);
    if (first < 0) co_return not_found();
    std::int64_t last = log->num_lines - 1;
    // Written so that no limit or offset, however large, overflows.
    if (call.spec.limit && *call.spec.limit >= 0 && *call.spec.limit <= last - first)
        last = first + *call.spec.limit - 1;
    if ((first > last && log->num_lines > 0) || (log->num_lines == 0 && first > 0))
        co_return not_found();

    // The envelope's keys sort as content, firstline, logid: the content streams first, one
    // stored chunk at a time, so a log of any size is answered in bounded memory.
    const bool wants_content =
        call.spec.fields.empty() || std::find(call.spec.fields.begin(), call.spec.fields.end(),
                                              "content") != call.spec.fields.end();
    boost::json::object tail;
    for (const char* key : {"firstline", "logid"})
        if (call.spec.fields.empty() || std::find(call.spec.fields.begin(), call.spec.fields.end(),
                                                  key) != call.spec.fields.end())
            tail[key] = std::string_view(key) == "logid" ? log->logid : first;
    const auto style = call.pretty ? JsonStyle::pretty : JsonStyle::compact;
    std::string tail_text = to_sorted_json(tail, style);  // "{...}" of the other keys

    io::HttpResponse response;
    response.set_header("Content-Type", call.pretty ? "text/plain; charset=utf-8"
                                                    : "application/json; charset=utf-8");
    auto state = std::make_shared<ContentsStream>(ContentsStream{
        &queries, log->logid, first, last, 0, wants_content, call.pretty, tail_text});
    response.stream = [state] { return next_contents_piece(state); };
    Answer answer;
    answer.is_collection = false;
    answer.response = std::move(response);
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::log_raw(Call& call) {
    auto log = co_await resolve_log(call);
    if (!log) co_return not_found();
    io::HttpResponse response;
    response.set_header("Content-Type", log->type == "h" ? "text/html; charset=utf-8"
                                                         : "text/plain; charset=utf-8");
    response.set_header("Content-Disposition", "attachment; filename=" + log->slug);
    auto state = std::make_shared<RawStream>(RawStream{&queries, log->logid, 0, log->type == "s"});
    response.stream = [state] { return next_raw_piece(state); };
    Answer answer;
    answer.is_collection = false;
    answer.response = std::move(response);
    co_return answer;
}

}  // namespace kiln::www
