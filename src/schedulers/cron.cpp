// SPDX-License-Identifier: Apache-2.0
#include "schedulers/cron.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

namespace kiln::schedulers {

namespace chrono = std::chrono;

namespace {

bool allows(const config::CronField& field, int value) {
    return field.is_any || std::binary_search(field.values.begin(), field.values.end(), value);
}

std::vector<int> values_of(const config::CronField& field, int first, int last) {
    if (!field.is_any) return field.values;
    std::vector<int> all;
    for (int value = first; value <= last; ++value)
        all.push_back(value);
    return all;
}

bool day_matches(const CronSchedule& schedule, const chrono::year_month_day& date) {
    if (!allows(schedule.month, static_cast<int>(static_cast<unsigned>(date.month()))))
        return false;
    const int day = static_cast<int>(static_cast<unsigned>(date.day()));
    // chrono: Sunday = 0; Buildbot's day_of_week: Monday = 0.
    const int weekday =
        static_cast<int>((chrono::weekday(chrono::sys_days(date)).c_encoding() + 6) % 7);
    const bool dom_any = schedule.day_of_month.is_any;
    const bool dow_any = schedule.day_of_week.is_any;
    if (!dom_any && !dow_any)
        return allows(schedule.day_of_month, day) || allows(schedule.day_of_week, weekday);
    return allows(schedule.day_of_month, day) && allows(schedule.day_of_week, weekday);
}

}  // namespace

CronSchedule cron_schedule(const config::SchedulerConfig& config) {
    return CronSchedule{config.minute, config.hour, config.day_of_month, config.month,
                        config.day_of_week};
}

std::optional<double> next_fire_time(const CronSchedule& schedule, double after) {
    // The first candidate: the minute after the one `after` falls in.
    const auto start = static_cast<std::time_t>(std::floor(after / 60.0) * 60.0) + 60;
    std::tm local{};
    localtime_r(&start, &local);
    auto date = chrono::sys_days(chrono::year(local.tm_year + 1900) /
                                 chrono::month(static_cast<unsigned>(local.tm_mon + 1)) /
                                 chrono::day(static_cast<unsigned>(local.tm_mday)));
    const auto hours = values_of(schedule.hour, 0, 23);
    const auto minutes = values_of(schedule.minute, 0, 59);
    for (int days = 0; days < 8 * 366 + 2; ++days, date += chrono::days(1)) {
        const chrono::year_month_day ymd(date);
        if (!day_matches(schedule, ymd)) continue;
        for (int hour : hours) {
            for (int minute : minutes) {
                std::tm wanted{};
                wanted.tm_year = static_cast<int>(ymd.year()) - 1900;
                wanted.tm_mon = static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
                wanted.tm_mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
                wanted.tm_hour = hour;
                wanted.tm_min = minute;
                wanted.tm_isdst = -1;  // let the zone decide (DST)
                const auto when = std::mktime(&wanted);
                if (when != static_cast<std::time_t>(-1) && when >= start)
                    return static_cast<double>(when);
            }
        }
    }
    return std::nullopt;
}

}  // namespace kiln::schedulers
