// SPDX-License-Identifier: Apache-2.0
#include "steps/shell_step.hpp"

#include "process/log_writer.hpp"
#include "process/value_conversion.hpp"
#include "process/worker_connection.hpp"
#include "protocol/messages.hpp"

#include <map>
#include <memory>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace kiln::steps {

namespace asio = boost::asio;
using core::Results;

namespace {

// Captured stdout/stderr for set_property_from_command are capped (Buildbot keeps all).
constexpr std::size_t kMaxCapturedBytes = 16 * 1024 * 1024;

class ShellObserver final : public process::RemoteCommandObserver {
public:
    ShellObserver(process::StepContext& context, process::LogWriter& stdio, bool capture)
        : context_(context)
        , stdio_(stdio)
        , capture_(capture) {}

    asio::awaitable<void> on_updates(process::UpdateEvents events) override {
        for (auto& [key, value] : events) {
            if (key == "stdout" || key == "stderr" || key == "header") {
                // Only the text is used: no copy, no vectors of positions and times.
                auto text = protocol::LineChunk::text_of(value);
                if (!text) continue;
                const char stream = key == "stdout" ? 'o' : key == "stderr" ? 'e' : 'h';
                stdio_.add(stream, *text);
                if (capture_ && stream != 'h') {
                    auto& sink = stream == 'o' ? stdout_ : stderr_;
                    if (sink.size() < kMaxCapturedBytes)
                        sink.append(text->substr(0, kMaxCapturedBytes - sink.size()));
                }
            } else if (key == "log") {
                const auto* pair = value.if_array();
                if (!pair || pair->size() != 2) continue;
                auto name = (*pair)[0].as_text();
                auto text = protocol::LineChunk::text_of((*pair)[1]);
                if (!name || !text) continue;
                auto found = logfiles_.find(*name);
                if (found == logfiles_.end()) {
                    std::string log_name(*name);
                    auto log = co_await context_.add_log(std::move(log_name), "t");
                    auto writer = std::make_unique<process::LogWriter>(context_, log.logid, false);
                    found = logfiles_.emplace(std::string(*name), std::move(writer)).first;
                }
                found->second->add('o', *text);
            } else if (key == "rc") {
                // As the stock master's RemoteCommand.remoteUpdate: in update order.
                if (auto rc = value.as_int())
                    stdio_.add('h',
                               "program finished with exit code " + std::to_string(*rc) + "\n");
            }
        }
        // Store before the update is acknowledged.
        co_await stdio_.flush();
        for (auto& [name, writer] : logfiles_)
            co_await writer->flush();
    }

    asio::awaitable<void> finish() {
        for (auto& [name, writer] : logfiles_)
            co_await writer->finish();
    }

    const std::string& stdout_text() const { return stdout_; }
    const std::string& stderr_text() const { return stderr_; }

private:
    process::StepContext& context_;
    process::LogWriter& stdio_;
    bool capture_;
    std::map<std::string, std::unique_ptr<process::LogWriter>, std::less<>> logfiles_;
    std::string stdout_;
    std::string stderr_;
};

Results decode_rc(const StepArgs& args, std::int64_t rc) {
    const auto* table = args.find("decode_rc");
    if (table && table->is_object()) {
        const auto* entry = table->as_object().if_contains(std::to_string(rc));
        if (entry && entry->is_string()) {
            if (auto results = core::results_from_string(entry->get_string())) return *results;
        }
        if (entry && entry->is_int64()) return static_cast<Results>(entry->get_int64());
        return Results::failure;
    }
    return rc == 0 ? Results::success : Results::failure;
}

// Python's repr() of a JSON value, as Buildbot writes property values in its logs.
std::string python_repr(const boost::json::value& value) {
    switch (value.kind()) {
    case boost::json::kind::null: return "None";
    case boost::json::kind::bool_: return value.get_bool() ? "True" : "False";
    case boost::json::kind::string: {
        const auto& text = value.get_string();
        const bool has_single = text.find('\'') != boost::json::string::npos;
        const bool has_double = text.find('"') != boost::json::string::npos;
        const char quote = has_single && !has_double ? '"' : '\'';
        std::string out(1, quote);
        for (const char c : text) {
            const auto byte = static_cast<unsigned char>(c);
            if (c == '\\' || c == quote) {
                out += '\\';
                out += c;
            } else if (c == '\n') {
                out += "\\n";
            } else if (c == '\r') {
                out += "\\r";
            } else if (c == '\t') {
                out += "\\t";
            } else if (byte < 0x20 || byte == 0x7f) {
                static constexpr char kHex[] = "0123456789abcdef";
                out += "\\x";
                out += kHex[byte >> 4];
                out += kHex[byte & 0xf];
            } else {
                out += c;
            }
        }
        return out + quote;
    }
    case boost::json::kind::array: {
        std::string out = "[";
        for (const auto& item : value.get_array())
            out += (out.size() > 1 ? ", " : "") + python_repr(item);
        return out + "]";
    }
    case boost::json::kind::object: {
        std::string out = "{";
        for (const auto& member : value.get_object())
            out += (out.size() > 1 ? ", " : "") + python_repr(boost::json::string(member.key())) +
                   ": " + python_repr(member.value());
        return out + "}";
    }
    default: return boost::json::serialize(value);
    }
}

std::string strip(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

}  // namespace

ShellStep::ShellStep(process::StepOptions options, Kind kind, StepArgs::Map args,
                     std::function<core::Expected<boost::json::value>(
                         std::int64_t, const std::string&, const std::string&)>
                         extract_fn)
    : BuildStep(std::move(options))
    , kind_(kind)
    , args_(std::move(args))
    , extract_fn_(std::move(extract_fn)) {}

std::string ShellStep::description(const core::Properties& properties) const {
    return command_description(options().name, args_, properties);
}

asio::awaitable<process::StepOutcome> ShellStep::run(process::StepContext& context) {
    StepArgs args(options().name, args_, context.properties());
    const auto* command = args.find("command");
    if (!command || command->is_null())
        throw std::runtime_error("step '" + options().name + "' has no command");

    const auto workdir =
        context.worker_path(context.worker_builddir(), args.string_or("workdir", "build"));
    protocol::Map remote;
    remote.emplace_back("workdir", workdir);
    remote.emplace_back("env", args.find("env") ? process::to_protocol(*args.find("env"))
                                                : protocol::Value(protocol::Map{}));
    remote.emplace_back("want_stdout", args.boolean_or("want_stdout", true));
    remote.emplace_back("want_stderr", args.boolean_or("want_stderr", true));
    protocol::Map logfiles;
    if (const auto* files = args.find("logfiles"); files && files->is_object())
        for (const auto& member : files->as_object())
            logfiles.emplace_back(std::string(member.key()), process::to_protocol(member.value()));
    remote.emplace_back("logfiles", std::move(logfiles));
    remote.emplace_back("timeout", args.protocol_integer("timeout", 1200));
    remote.emplace_back("maxTime", args.protocol_integer("max_time", std::nullopt));
    remote.emplace_back("sigtermTime", args.protocol_integer("sigterm_time", std::nullopt));
    remote.emplace_back("usePTY", args.boolean_or("usepty", false));
    remote.emplace_back("logEnviron", args.boolean_or("log_environ", false));
    auto stdin_text = args.string("initial_stdin");
    remote.emplace_back("initial_stdin",
                        stdin_text ? protocol::Value(*stdin_text) : protocol::Value());
    remote.emplace_back("interruptSignal", args.string_or("interrupt_signal", "KILL"));
    remote.emplace_back("command", process::to_protocol(*command));

    auto log = co_await context.add_log("stdio", "s");
    process::LogWriter stdio(context, log.logid, true);
    ShellObserver observer(context, stdio, kind_ == Kind::set_property_from_command);
    process::RemoteCommand remote_command;
    remote_command.name = "shell";
    remote_command.args = std::move(remote);
    remote_command.observer = &observer;
    process::CommandResult result;
    std::exception_ptr error;
    try {
        result = co_await context.run_command(std::move(remote_command));
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // Keep what arrived before the failure.
        if (!context.worker().is_lost()) {
            co_await stdio.finish();
            co_await observer.finish();
        }
        std::rethrow_exception(error);
    }
    co_await stdio.finish();
    co_await observer.finish();

    process::StepOutcome outcome;
    outcome.summary = args.text("description_done").value_or(command_summary(*command));
    if (!result.was_started || result.failure) {
        outcome.results = Results::exception;
        co_return outcome;
    }
    if (result.was_interrupted) {
        outcome.results = Results::cancelled;
        co_return outcome;
    }
    const auto rc = result.rc.value_or(-1);
    outcome.results = decode_rc(args, rc);

    if (kind_ == Kind::set_property_from_command) {
        // As Buildbot's SetPropertyFromCommand.run(): a failed command sets no `property`;
        // the changes are listed in a 'property changes' log and named in the summary.
        const auto source = std::string("SetPropertyFromCommand Step");
        std::map<std::string, boost::json::value> changes;
        if (auto property = args.string("property")) {
            if (outcome.results == Results::failure) co_return outcome;
            std::string value = observer.stdout_text();
            if (args.boolean_or("strip", true)) value = strip(value);
            changes[*property] = boost::json::string(value);
            boost::json::value json_value = boost::json::string(value);
            co_await context.set_property(*property, std::move(json_value), source);
        }
        if (extract_fn_) {
            auto extracted = extract_fn_(rc, observer.stdout_text(), observer.stderr_text());
            if (!extracted) throw std::runtime_error("extract_fn: " + extracted.error().message);
            if (const auto* table = extracted->if_object())
                for (const auto& member : *table) {
                    std::string name(member.key());
                    changes[name] = member.value();
                    boost::json::value json_value = member.value();
                    co_await context.set_property(std::move(name), std::move(json_value), source);
                }
        }
        std::string listing;
        for (const auto& [name, value] : changes)
            listing += (listing.empty() ? "" : "\n") + name + ": " + python_repr(value);
        auto changes_log = co_await context.add_log("property changes", "t");
        process::LogWriter writer(context, changes_log.logid, false);
        writer.add('o', listing);
        co_await writer.finish();
        if (changes.size() > 1)
            outcome.summary = std::to_string(changes.size()) + " properties set";
        else if (changes.size() == 1)
            outcome.summary = "property '" + changes.begin()->first + "' set";
    }
    co_return outcome;
}

}  // namespace kiln::steps
