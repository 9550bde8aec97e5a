// SPDX-License-Identifier: Apache-2.0
// LogWriter: whole lines with stream tags, partial lines held per stream, long lines cut.
#include "process/build_step.hpp"
#include "process/log_writer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

namespace kiln::process {
namespace {

namespace asio = boost::asio;

// Records what the writer stores; everything else is unused by LogWriter.
class RecordingContext final : public StepContext {
public:
    std::string stored;
    int appends = 0;
    bool is_finished = false;

    const core::Properties& properties() const override { return properties_; }
    asio::awaitable<void> set_property(std::string, boost::json::value, std::string) override {
        co_return;
    }
    WorkerConnection& worker() override { throw std::logic_error("unused"); }
    const std::string& builder_name() const override { return name_; }
    std::string worker_builddir() const override { return {}; }
    std::string worker_path(std::string_view, std::string_view) const override { return {}; }
    const std::filesystem::path& master_dir() const override { return dir_; }
    bool allow_master_paths_outside() const override { return false; }
    asio::awaitable<CommandResult> run_command(RemoteCommand) override {
        co_return CommandResult{};
    }
    asio::awaitable<data::Log> add_log(std::string, std::string) override { co_return data::Log{}; }
    asio::awaitable<void> append_log(data::Id, std::string lines) override {
        stored += lines;
        ++appends;
        co_return;
    }
    asio::awaitable<void> finish_log(data::Id, std::string lines) override {
        stored += lines;
        is_finished = true;
        co_return;
    }
    asio::awaitable<void> set_state_string(std::string) override { co_return; }
    asio::awaitable<void> add_url(std::string, std::string) override { co_return; }
    data::Id build_id() const override { return 0; }
    asio::awaitable<std::vector<data::SourceStamp>> sourcestamps() override {
        co_return std::vector<data::SourceStamp>{};
    }
    TriggerServices* triggers() override { return nullptr; }
    bool is_stopping() const override { return false; }

private:
    core::Properties properties_;
    std::string name_;
    std::filesystem::path dir_;
};

void run(asio::awaitable<void> task) {
    asio::io_context io;
    auto done = asio::co_spawn(io, std::move(task), asio::use_future);
    io.run();
    done.get();
}

TEST(LogWriter, tags_each_line_with_its_stream_and_waits_for_partial_lines) {
    RecordingContext context;
    LogWriter writer(context, 1, true);
    writer.add('o', "hello\nwor");
    writer.add('e', "oops\n");
    writer.add('o', "ld\n");
    run(writer.flush());
    EXPECT_EQ(context.stored, "ohello\neoops\noworld\n");
}

TEST(LogWriter, finishing_ends_partial_lines_and_the_log) {
    RecordingContext context;
    LogWriter writer(context, 1, true);
    writer.add('o', "no newline");
    writer.add('h', "exit 0");
    run(writer.finish());
    EXPECT_EQ(context.stored, "ono newline\nhexit 0\n");
    EXPECT_TRUE(context.is_finished);
}

TEST(LogWriter, text_logs_have_no_stream_tags) {
    RecordingContext context;
    LogWriter writer(context, 1, false);
    writer.add('o', "a\nb\n");
    run(writer.flush());
    EXPECT_EQ(context.stored, "a\nb\n");
}

TEST(LogWriter, a_huge_line_keeps_only_its_start_so_memory_stays_bounded) {
    RecordingContext context;
    LogWriter writer(context, 1, true);
    const std::string block(1024 * 1024, 'x');
    for (int i = 0; i < 8; ++i)
        writer.add('o', block);  // 8 MiB without a newline
    writer.add('o', "\nnext\n");
    run(writer.flush());
    const auto first = context.stored.substr(0, context.stored.find('\n'));
    EXPECT_EQ(first.size(), 1 + LogWriter::kMaxLineBytes);
    EXPECT_EQ(context.stored.substr(first.size()), "\nonext\n");
}

TEST(LogWriter, cuts_a_long_line_on_a_utf8_character_boundary) {
    RecordingContext context;
    LogWriter writer(context, 1, false);
    std::string line(LogWriter::kMaxLineBytes - 1, 'a');
    line += "\xc3\xa9\xc3\xa9";  // 'é' straddles the limit
    writer.add('o', line + "\n");
    run(writer.flush());
    EXPECT_EQ(context.stored, std::string(LogWriter::kMaxLineBytes - 1, 'a') + "\n");
}

}  // namespace
}  // namespace kiln::process
