//! Tasks: the CSM's working queue. Words for status and priority, and where a task falls in
//! "my day" (overdue, today, this week, later, no date), read from its due date, its snooze and
//! the day it is.

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

crate::words! {
    /// `open` until it is `done` (or `cancelled`); a done task can be reopened.
    pub enum TaskStatus as "task status" {
        Open = "open",
        Done = "done",
        Cancelled = "cancelled",
    }
}

crate::words! {
    pub enum TaskPriority as "task priority" {
        Low = "low",
        Normal = "normal",
        High = "high",
    }
}

/// Where an open task stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Overdue,
    Today,
    ThisWeek,
    Later,
    /// No due date.
    Someday,
    /// Snoozed until a later day: out of the queue until then.
    Snoozed,
}

impl Bucket {
    /// `due` and `snoozed_until` of an open task, on `today` (weeks end on Sunday).
    pub fn of(
        due: Option<NaiveDate>,
        snoozed_until: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Bucket {
        if snoozed_until.is_some_and(|s| s > today) {
            return Bucket::Snoozed;
        }
        let Some(due) = due else {
            return Bucket::Someday;
        };
        let end_of_week =
            today + Duration::days(6 - i64::from(today.weekday().num_days_from_monday()));
        if due < today {
            Bucket::Overdue
        } else if due == today {
            Bucket::Today
        } else if due <= end_of_week {
            Bucket::ThisWeek
        } else {
            Bucket::Later
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Bucket::Overdue => "Overdue",
            Bucket::Today => "Due today",
            Bucket::ThisWeek => "This week",
            Bucket::Later => "Later",
            Bucket::Someday => "No due date",
            Bucket::Snoozed => "Snoozed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_sorts_tasks_into_buckets() {
        // Wednesday 2 December 2026.
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let d = |s: &str| Some(s.parse::<NaiveDate>().unwrap());
        assert_eq!(Bucket::of(d("2026-12-01"), None, today), Bucket::Overdue);
        assert_eq!(Bucket::of(d("2026-12-02"), None, today), Bucket::Today);
        assert_eq!(Bucket::of(d("2026-12-06"), None, today), Bucket::ThisWeek);
        assert_eq!(Bucket::of(d("2026-12-07"), None, today), Bucket::Later);
        assert_eq!(Bucket::of(None, None, today), Bucket::Someday);
        // Snoozed past today: out of the queue; the snooze over: back where its date puts it.
        assert_eq!(
            Bucket::of(d("2026-11-20"), d("2026-12-04"), today),
            Bucket::Snoozed
        );
        assert_eq!(
            Bucket::of(d("2026-11-20"), d("2026-12-02"), today),
            Bucket::Overdue
        );
        assert!("closed".parse::<TaskStatus>().is_err());
        assert_eq!("done".parse::<TaskStatus>(), Ok(TaskStatus::Done));
    }
}
