// SPDX-License-Identifier: Apache-2.0
#include "worker/command.hpp"

#include "protocol/codec.hpp"
#include "worker/commands.hpp"

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kiln::worker {

using protocol::Value;

double now_seconds() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

CommandOutput::CommandOutput(asio::any_io_executor executor, MasterLink& link,
                             std::string command_id, OutputSettings settings)
    : link_(link)
    , command_id_(std::move(command_id))
    , settings_(settings)
    , buffer_(settings.buffer_size)
    , sent_(executor)
    , buffered_(executor) {}

// Streams are keyed "stdout", "stderr", "header" or "log:<logname>".
void CommandOutput::add_text(const std::string& stream, std::string text) {
    auto it = finders_.find(stream);
    if (it == finders_.end())
        it = finders_.emplace(stream, LineBoundaryFinder(settings_.max_line_length)).first;
    if (auto lines = it->second.append_owned(std::move(text), now_seconds()))
        buffer_lines(stream, std::move(*lines));
}

void CommandOutput::buffer_lines(const std::string& stream, protocol::LineChunk lines) {
    if (stream.starts_with("log:"))
        buffer_.add_log(stream.substr(4), std::move(lines));
    else
        buffer_.add_lines(stream, std::move(lines));
    mark_buffered();
}

void CommandOutput::mark_buffered() {
    if (first_buffered_at_) return;
    first_buffered_at_ = asio::steady_timer::clock_type::now();
    buffered_.notify();
}

void CommandOutput::add_stdout(std::string bytes) {
    static const std::string kStream = "stdout";
    add_text(kStream, decoders_[kStream].decode_owned(std::move(bytes)));
}

void CommandOutput::add_stderr(std::string bytes) {
    static const std::string kStream = "stderr";
    add_text(kStream, decoders_[kStream].decode_owned(std::move(bytes)));
}

void CommandOutput::add_log(const std::string& logname, std::string_view bytes) {
    const std::string stream = "log:" + logname;
    add_text(stream, decoders_[stream].decode(bytes));
}

void CommandOutput::add_header(std::string_view text) { add_text("header", std::string(text)); }

void CommandOutput::add_status(const std::string& key, Value value) {
    buffer_.add_status(key, std::move(value));
    mark_buffered();
}

asio::awaitable<void> CommandOutput::send_batches() {
    for (auto& batch : buffer_.take_ready())
        outbox_.push_back(std::move(batch));
    if (!buffer_.has_buffered()) first_buffered_at_.reset();
    while (sending_)
        co_await sent_.wait();  // another coroutine is sending: wait our turn
    if (outbox_.empty()) co_return;
    sending_ = true;
    try {
        while (!outbox_.empty()) {
            auto batch = std::move(outbox_.front());
            outbox_.erase(outbox_.begin());
            // Encoded straight from the line chunks, as encode() of the update's fields
            // (args, command_id) would.
            std::string message;
            protocol::begin_request("update", 2, message);
            protocol::MessageWriter writer(message);
            writer.str("args");
            writer.array(batch.size());
            for (const auto& entry : batch)
                entry.encode(message);
            writer.str("command_id");
            writer.str(command_id_);
            co_await link_.notify_encoded(std::move(message));
        }
    } catch (...) {
        sending_ = false;
        sent_.notify();
        throw;
    }
    sending_ = false;
    sent_.notify();
}

asio::awaitable<void> CommandOutput::send_ready() { co_await send_batches(); }

asio::awaitable<void> CommandOutput::flush() {
    // std::map iterates keys in sorted order, as the stock worker flushes its streams.
    for (auto& [stream, decoder] : decoders_) {
        auto rest = decoder.decode({}, true);
        if (!rest.empty()) add_text(stream, std::move(rest));
    }
    for (auto& [stream, finder] : finders_)
        if (auto lines = finder.flush()) buffer_lines(stream, std::move(*lines));
    buffer_.flush();
    co_await send_batches();
}

asio::awaitable<void> CommandOutput::run_timer() {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    auto timeout = std::chrono::duration_cast<asio::steady_timer::duration>(
        std::chrono::duration<double>(settings_.buffer_timeout));
    for (;;) {
        if (!first_buffered_at_) {
            co_await buffered_.wait();
            auto state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none) co_return;
            continue;
        }
        timer.expires_at(*first_buffered_at_ + timeout);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted) co_return;
        if (first_buffered_at_ &&
            asio::steady_timer::clock_type::now() >= *first_buffered_at_ + timeout) {
            buffer_.flush();
            co_await send_batches();
        }
    }
}

// --- arguments ------------------------------------------------------------------------------

const Value* arg(const protocol::Map& args, std::string_view key) {
    return protocol::find(args, key);
}

std::optional<std::string> text_arg(const protocol::Map& args, std::string_view key) {
    const auto* value = arg(args, key);
    if (!value) return std::nullopt;
    auto text = value->as_text();
    if (!text) return std::nullopt;
    return std::string(*text);
}

std::optional<double> number_arg(const protocol::Map& args, std::string_view key) {
    const auto* value = arg(args, key);
    if (!value) return std::nullopt;
    return value->as_number();
}

bool bool_arg(const protocol::Map& args, std::string_view key, bool fallback) {
    const auto* value = arg(args, key);
    if (!value || value->is_nil()) return fallback;
    if (const auto* b = value->if_bool()) return *b;
    if (auto n = value->as_number()) return *n != 0;
    return fallback;
}

std::optional<core::Error> missing_args(std::string_view class_name, const protocol::Map& args,
                                        std::initializer_list<std::string_view> keys) {
    std::string missing;
    for (auto key : keys) {
        if (arg(args, key)) continue;
        if (!missing.empty()) missing += ", ";
        missing += key;
    }
    if (missing.empty()) return std::nullopt;
    return core::fail(core::ErrorKind::bad_input,
                      std::string(class_name) + " is missing args: " + missing);
}

core::Expected<std::unique_ptr<Command>>
make_command(const WorkerEnvironment& environment, MasterLink& link, const std::string& command_id,
             const std::string& name, const protocol::Map& args) {
    if (name == "shell") return make_shell_command(environment, args);
    if (name == "mkdir") return make_mkdir_command(args);
    if (name == "rmdir") return make_rmdir_command(environment, args);
    if (name == "cpdir") return make_cpdir_command(environment, args);
    if (name == "stat") return make_stat_command(args);
    if (name == "glob") return make_glob_command(args);
    if (name == "listdir") return make_listdir_command(args);
    if (name == "rmfile") return make_rmfile_command(args);
    if (name == "upload_file" || name == "uploadFile")
        return make_upload_file_command(environment, link, command_id, args);
    if (name == "upload_directory" || name == "uploadDirectory")
        return make_upload_directory_command(environment, link, command_id, args);
    if (name == "download_file" || name == "downloadFile")
        return make_download_file_command(link, command_id, args);
    return core::fail(core::ErrorKind::not_found, "unrecognized WorkerCommand '" + name + "'");
}

}  // namespace kiln::worker
