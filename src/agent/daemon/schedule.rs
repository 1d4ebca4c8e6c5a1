//! When a scheduled job is due: pure functions of the local time, the job's window and its last
//! run, so the daemon's calendar is tested without a clock.

use std::time::Duration;

use chrono::{Days, NaiveDateTime};

use crate::drivers::sync_state::Period;

/// What the scheduler does with a job at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Run it now.
    Now,
    /// Not before this local time.
    Later(NaiveDateTime),
}

/// The once-a-day job inside `period` (the service's `syncdrp`): due when now is inside the
/// window and the job has not run since this day's window opened (a window across midnight
/// opened the day before in the early morning).
pub fn daily(now: NaiveDateTime, period: &Period, last_run: Option<NaiveDateTime>) -> Due {
    let today = now.date().and_time(period.start());
    if period.contains(now.time()) {
        let opened = if now.time() >= period.start() {
            today
        } else {
            today.checked_sub_days(Days::new(1)).unwrap_or(today)
        };
        let next = opened.checked_add_days(Days::new(1)).unwrap_or(opened);
        match last_run {
            Some(l) if l >= opened => Due::Later(next),
            _ => Due::Now,
        }
    } else if now < today {
        Due::Later(today)
    } else {
        Due::Later(today.checked_add_days(Days::new(1)).unwrap_or(today))
    }
}

/// A job every `every` (a sync resource's `sync_interval`): due at once when it never ran,
/// then `every` after its last run.
pub fn interval(now: NaiveDateTime, every: Duration, last_run: Option<NaiveDateTime>) -> Due {
    let Some(last) = last_run else {
        return Due::Now;
    };
    let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
    match last.checked_add_signed(every) {
        Some(next) if next > now => Due::Later(next),
        Some(_) => Due::Now,
        None => Due::Later(NaiveDateTime::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_daily_job_runs_once_inside_its_window() {
        let p = Period::parse("03:59-05:59").unwrap();
        assert_eq!(
            daily(at("2026-12-01 03:00"), &p, None),
            Due::Later(at("2026-12-01 03:59"))
        );
        assert_eq!(daily(at("2026-12-01 04:30"), &p, None), Due::Now);
        // Ran at 04:30: not again today, tomorrow's window next.
        let ran = Some(at("2026-12-01 04:30"));
        assert_eq!(
            daily(at("2026-12-01 05:00"), &p, ran),
            Due::Later(at("2026-12-02 03:59"))
        );
        assert_eq!(
            daily(at("2026-12-01 12:00"), &p, ran),
            Due::Later(at("2026-12-02 03:59"))
        );
        // Yesterday's run does not count for today.
        assert_eq!(
            daily(at("2026-12-02 04:00"), &p, Some(at("2026-12-01 04:30"))),
            Due::Now
        );
    }

    #[test]
    fn a_window_spanning_midnight_is_one_day() {
        let p = Period::parse("23:00-01:00").unwrap();
        assert_eq!(daily(at("2026-12-01 23:30"), &p, None), Due::Now);
        // Ran before midnight: the same window after midnight does not run it again.
        let ran = Some(at("2026-12-01 23:30"));
        assert_eq!(
            daily(at("2026-12-02 00:30"), &p, ran),
            Due::Later(at("2026-12-02 23:00"))
        );
        // Never ran this window: after midnight it is still due.
        assert_eq!(
            daily(at("2026-12-02 00:30"), &p, Some(at("2026-12-01 00:30"))),
            Due::Now
        );
        assert_eq!(
            daily(at("2026-12-02 12:00"), &p, ran),
            Due::Later(at("2026-12-02 23:00"))
        );
    }

    #[test]
    fn an_interval_job_runs_every_interval() {
        let ten = Duration::from_secs(600);
        assert_eq!(interval(at("2026-12-01 10:00"), ten, None), Due::Now);
        let ran = Some(at("2026-12-01 10:00"));
        assert_eq!(
            interval(at("2026-12-01 10:05"), ten, ran),
            Due::Later(at("2026-12-01 10:10"))
        );
        assert_eq!(interval(at("2026-12-01 10:10"), ten, ran), Due::Now);
        assert_eq!(interval(at("2026-12-01 11:00"), ten, ran), Due::Now);
    }
}
