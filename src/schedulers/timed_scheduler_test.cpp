// SPDX-License-Identifier: Apache-2.0
// k.periodic and k.nightly: next fire times (month ends, leap days, DST in local time, cron
// day rules), firing with a manual clock, missed runs after a restart, only_if_changed, and
// enabling and disabling.
#include "schedulers/cron.hpp"
#include "schedulers/scheduler_test_support.hpp"
#include "schedulers/timed_scheduler.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>

namespace kiln::schedulers {
namespace {

using testing::NewTestChange;
using testing::SchedulerTest;
namespace chrono = std::chrono;

// Sets the local time zone for one test.
class LocalZone {
public:
    explicit LocalZone(const char* zone) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        ::setenv("TZ", zone, 1);
        ::tzset();
    }
    ~LocalZone() {
        if (old_)
            ::setenv("TZ", old_->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
    LocalZone(const LocalZone&) = delete;
    LocalZone& operator=(const LocalZone&) = delete;

private:
    std::optional<std::string> old_;
};

double utc(int year, unsigned month, unsigned day, int hour, int minute, int second = 0) {
    const auto date =
        chrono::sys_days(chrono::year(year) / chrono::month(month) / chrono::day(day));
    return static_cast<double>(
        (date + chrono::hours(hour) + chrono::minutes(minute) + chrono::seconds(second))
            .time_since_epoch()
            .count());
}

config::CronField only(std::vector<int> values) {
    return config::CronField{std::move(values), false};
}

CronSchedule daily(int hour, int minute = 0) {
    CronSchedule schedule;
    schedule.minute = only({minute});
    schedule.hour = only({hour});
    return schedule;
}

TEST(NextFireTime, is_strictly_after_the_given_time_at_a_whole_minute) {
    LocalZone zone{"UTC"};
    EXPECT_EQ(next_fire_time(daily(3), utc(2024, 6, 1, 2, 59, 30)), utc(2024, 6, 1, 3, 0));
    EXPECT_EQ(next_fire_time(daily(3), utc(2024, 6, 1, 3, 0)), utc(2024, 6, 2, 3, 0));
    EXPECT_EQ(next_fire_time(daily(3), utc(2024, 6, 1, 3, 0, 40)), utc(2024, 6, 2, 3, 0));
    CronSchedule every_quarter;
    every_quarter.minute = only({0, 15, 30, 45});
    EXPECT_EQ(next_fire_time(every_quarter, utc(2024, 6, 1, 23, 50)), utc(2024, 6, 2, 0, 0));
}

TEST(NextFireTime, skips_months_without_the_day_and_finds_leap_days) {
    LocalZone zone{"UTC"};
    auto on_day = [](int day, std::vector<int> months = {}) {
        CronSchedule schedule = daily(0);
        schedule.day_of_month = only({day});
        if (!months.empty()) schedule.month = only(std::move(months));
        return schedule;
    };
    EXPECT_EQ(next_fire_time(on_day(31), utc(2024, 4, 1, 0, 0)), utc(2024, 5, 31, 0, 0));
    EXPECT_EQ(next_fire_time(on_day(31), utc(2024, 1, 31, 0, 0)), utc(2024, 3, 31, 0, 0));
    EXPECT_EQ(next_fire_time(on_day(30), utc(2024, 1, 30, 12, 0)), utc(2024, 3, 30, 0, 0));
    EXPECT_EQ(next_fire_time(on_day(29, {2}), utc(2024, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
    EXPECT_EQ(next_fire_time(on_day(1), utc(2024, 12, 31, 23, 59)), utc(2025, 1, 1, 0, 0));
    EXPECT_EQ(next_fire_time(on_day(30, {2}), utc(2024, 1, 1, 0, 0)), std::nullopt);
}

TEST(NextFireTime, day_of_week_counts_from_monday_and_either_day_field_may_match) {
    LocalZone zone{"UTC"};
    CronSchedule sundays = daily(4);
    sundays.day_of_week = only({6});
    // 2024-06-01 is a Saturday.
    EXPECT_EQ(next_fire_time(sundays, utc(2024, 6, 1, 12, 0)), utc(2024, 6, 2, 4, 0));
    CronSchedule weekdays = daily(4);
    weekdays.day_of_week = only({0, 1, 2, 3, 4});
    EXPECT_EQ(next_fire_time(weekdays, utc(2024, 6, 1, 12, 0)), utc(2024, 6, 3, 4, 0));
    CronSchedule first_or_monday = daily(0);
    first_or_monday.day_of_month = only({1});
    first_or_monday.day_of_week = only({0});
    EXPECT_EQ(next_fire_time(first_or_monday, utc(2024, 6, 4, 0, 0)), utc(2024, 6, 10, 0, 0));
    EXPECT_EQ(next_fire_time(first_or_monday, utc(2024, 6, 29, 0, 0)), utc(2024, 7, 1, 0, 0));
}

TEST(NextFireTime, keeps_local_time_across_daylight_saving_changes) {
    LocalZone zone{"Europe/Berlin"};
    // 03:00 local: CET (UTC+1) before 2024-03-31, CEST (UTC+2) after.
    EXPECT_EQ(next_fire_time(daily(3), utc(2024, 3, 30, 2, 0)), utc(2024, 3, 31, 1, 0));
    EXPECT_EQ(next_fire_time(daily(3), utc(2024, 3, 31, 1, 0)), utc(2024, 4, 1, 1, 0));
    // And back to CET on 2024-10-27.
    EXPECT_EQ(next_fire_time(daily(3), utc(2024, 10, 26, 1, 0)), utc(2024, 10, 27, 2, 0));
    // 02:30 does not exist on 2024-03-31 (02:00 jumps to 03:00): it runs an hour later, once.
    const auto skipped = next_fire_time(daily(2, 30), utc(2024, 3, 30, 1, 30));
    EXPECT_EQ(skipped, utc(2024, 3, 31, 1, 30));
    EXPECT_EQ(next_fire_time(daily(2, 30), *skipped), utc(2024, 4, 1, 0, 30));
}

constexpr std::string_view kPeriodic =
    R"lua(k.periodic{ name = "every", builders = {"a"}, period = 600, branch = "main" },)lua";

TEST_F(SchedulerTest, periodic_builds_at_once_when_it_never_ran_then_every_period) {
    start(kPeriodic);
    settle();
    clock.advance(0);
    settle();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(buildsets[0].reason, "The Periodic scheduler named 'every' triggered this build");
    ASSERT_EQ(buildsets[0].sourcestamps.size(), 1u);
    EXPECT_EQ(buildsets[0].sourcestamps[0].branch, "main");
    EXPECT_FALSE(buildsets[0].sourcestamps[0].revision.has_value());
    advance(599);
    EXPECT_EQ(all_buildsets().size(), 1u);
    advance(1);
    EXPECT_EQ(all_buildsets().size(), 2u);
    advance(600);
    EXPECT_EQ(all_buildsets().size(), 3u);
}

TEST_F(SchedulerTest, periodic_after_a_restart_waits_for_the_rest_of_its_period) {
    start(kPeriodic);
    clock.advance(0);
    settle();
    ASSERT_EQ(all_buildsets().size(), 1u);
    advance(200);
    start(kPeriodic);  // restarted 200 s after the last run
    clock.advance(0);
    settle();
    EXPECT_EQ(all_buildsets().size(), 1u);
    advance(399);
    EXPECT_EQ(all_buildsets().size(), 1u);
    advance(1);
    EXPECT_EQ(all_buildsets().size(), 2u);
    // Down for longer than a period: one run at once, then the period again.
    run(service->stop());
    service.reset();
    clock.advance(5000);
    start(kPeriodic);
    clock.advance(0);
    settle();
    EXPECT_EQ(all_buildsets().size(), 3u);
    advance(600);
    EXPECT_EQ(all_buildsets().size(), 4u);
}

TEST_F(SchedulerTest, a_disabled_scheduler_starts_no_builds_until_enabled_again) {
    start(kPeriodic);
    clock.advance(0);
    settle();
    ASSERT_EQ(all_buildsets().size(), 1u);
    const auto id = *service->scheduler_id("every");
    auto updated = run(scheduler_rows.set_enabled(id, false));
    ASSERT_TRUE(updated);
    EXPECT_FALSE(updated->enabled);
    settle();
    EXPECT_FALSE(service->is_enabled("every"));
    advance(3000);
    EXPECT_EQ(all_buildsets().size(), 1u);
    EXPECT_EQ(clock.pending(), 0u);
    run(scheduler_rows.set_enabled(id, true));
    settle();
    clock.advance(0);  // overdue: at once
    settle();
    EXPECT_EQ(all_buildsets().size(), 2u);
    // Disabled also survives a restart (it is the schedulers row).
    run(scheduler_rows.set_enabled(id, false));
    settle();
    start(kPeriodic);
    advance(6000);
    EXPECT_EQ(all_buildsets().size(), 2u);
}

TEST_F(SchedulerTest, a_disabled_branch_scheduler_ignores_changes) {
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main",
      tree_stable_timer = 10 },)lua");
    add_change();
    run(scheduler_rows.set_enabled(*service->scheduler_id("main"), false));
    settle();
    advance(20);
    add_change();
    advance(20);
    EXPECT_TRUE(all_buildsets().empty()) << "its pending timer was cancelled too";
    run(scheduler_rows.set_enabled(*service->scheduler_id("main"), true));
    settle();
    clock.advance(0);
    settle();
    // Enabled again: the classified change's timer resumes, the change made while disabled
    // is not built (Buildbot).
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(revision_of(buildsets[0]), "rev1");
}

constexpr std::string_view kNightly =
    R"lua(k.nightly{ name = "nightly", builders = {"a"}, hour = 3, minute = 0, branch = "main" },)lua";

TEST_F(SchedulerTest, nightly_fires_at_its_time_and_once_for_a_run_missed_while_down) {
    LocalZone zone{"UTC"};
    clock.set(utc(2024, 1, 30, 12, 0));
    start(kNightly);
    advance(0);
    EXPECT_TRUE(all_buildsets().empty());
    clock.set(utc(2024, 1, 31, 2, 59));
    settle();
    EXPECT_TRUE(all_buildsets().empty());
    clock.set(utc(2024, 1, 31, 3, 0));
    settle();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(buildsets[0].reason, "The Nightly scheduler named 'nightly' triggered this build");
    EXPECT_EQ(buildsets[0].submitted_at, static_cast<data::Epoch>(utc(2024, 1, 31, 3, 0)));
    // Down over two nights: one build at start, then the next night.
    run(service->stop());
    service.reset();
    clock.set(utc(2024, 2, 2, 12, 0));
    start(kNightly);
    clock.advance(0);
    settle();
    EXPECT_EQ(all_buildsets().size(), 2u);
    clock.set(utc(2024, 2, 3, 2, 59));
    settle();
    EXPECT_EQ(all_buildsets().size(), 2u);
    clock.set(utc(2024, 2, 3, 3, 0));
    settle();
    EXPECT_EQ(all_buildsets().size(), 3u);
}

TEST_F(SchedulerTest, only_if_changed_skips_runs_without_an_important_change) {
    LocalZone zone{"UTC"};
    clock.set(utc(2024, 6, 1, 12, 0));
    start(R"lua(k.nightly{ name = "n", builders = {"a"}, hour = 3, branch = "main",
      only_if_changed = true,
      file_is_important = function(change) return change.files[1] ~= "README" end },)lua");
    clock.set(utc(2024, 6, 2, 3, 0));
    settle();
    ASSERT_EQ(all_buildsets().size(), 1u) << "the first run builds whatever the code is";
    clock.set(utc(2024, 6, 3, 3, 0));
    settle();
    EXPECT_EQ(all_buildsets().size(), 1u) << "no change since";
    NewTestChange docs;
    docs.files = {"README"};
    add_change(docs);
    NewTestChange other_branch;
    other_branch.branch = "dev";
    add_change(other_branch);
    clock.set(utc(2024, 6, 4, 3, 0));
    settle();
    EXPECT_EQ(all_buildsets().size(), 1u) << "only an unimportant change";
    add_change();
    clock.set(utc(2024, 6, 5, 3, 0));
    settle();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 2u);
    EXPECT_EQ(revision_of(buildsets[1]), "rev3") << "the latest change on its branch";
    EXPECT_TRUE(classified("n").empty());
}

}  // namespace
}  // namespace kiln::schedulers
