// SPDX-License-Identifier: Apache-2.0
// When a nightly scheduler fires next: the first whole minute after a given time whose local
// date and time match the schedule's fields (cron rules: when both day_of_month and
// day_of_week are restricted, either may match). Local time as Buildbot's croniter computes
// it (the TZ environment, through mktime), so "03:00" stays 03:00 across DST changes; a
// local time that a DST jump skips runs at the time mktime maps it to.
#pragma once

#include "config/scheduler_config.hpp"

#include <optional>

namespace kiln::schedulers {

struct CronSchedule {
    config::CronField minute, hour, day_of_month, month;
    config::CronField day_of_week;  // 0 = Monday ... 6 = Sunday
};

CronSchedule cron_schedule(const config::SchedulerConfig& config);

// The first matching minute strictly after `after` (epoch seconds), searching 8 years ahead;
// nullopt when none matches (e.g. day 30 of February only).
std::optional<double> next_fire_time(const CronSchedule& schedule, double after);

}  // namespace kiln::schedulers
