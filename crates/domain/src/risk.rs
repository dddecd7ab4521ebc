//! Risk detectors: given everything known about one customer as of one UTC day, list the risk
//! signals whose conditions hold now.
//!
//! Every detector only looks at data dated on or before `as_of` (rows, scores and responses dated
//! later are ignored), so re-running `detect` for a past day gives the answer that day would have
//! given. Each signal type is raised at most once, at the highest severity whose condition holds.
//!
//! # Rules
//!
//! Windows are whole UTC days counted back from and including `as_of`: "the last 7 days" is
//! `as_of − 6 ..= as_of`.
//!
//! * **`usage_drop`**: mean DAU over the last 7 days against the mean DAU over the 21 days before
//!   them (`as_of − 27 ..= as_of − 7`). Means are over the daily rows present in each window (a day
//!   without a row is unknown, not zero: e.g. today's row may not be computed yet). Only when both
//!   windows have rows and the baseline is at least 3 users a day. Drop ≥ 30 % → medium,
//!   ≥ 50 % → high, ≥ 75 % → critical.
//! * **`inactive`**: the customer had engagement before (`first_activity` is set) and none for
//!   ≥ 14 days → medium, ≥ 30 days → high (days from `last_activity` to `as_of`).
//! * **`adoption_stalled`**: customer for ≥ 45 days (`as_of − customer_since`), at least 10 rows in
//!   the last 14 days, `adoption_score` < 30 on every one of them, and the distinct feature count
//!   has not grown (the latest of those rows has no more features than the earliest) → low; if the
//!   score was < 15 on every one of them → medium.
//! * **`rapid_health_decline`**: `health_now` against the highest score recorded in the 7 days
//!   before `as_of` (`as_of − 7 ..= as_of − 1`): a drop of ≥ 15 points → high, ≥ 25 → critical.
//! * **`renewal_low_health`**: renewal 0–90 days away (inclusive) and `health_now` < 60 → medium,
//!   < 50 → high, < 50 with the renewal 0–30 days away → critical.
//! * **`champion_lost`**: a primary contact was removed and not replaced → high; otherwise a primary
//!   stakeholder with sentiment `negative` (ASCII case and surrounding whitespace ignored) → high;
//!   otherwise stakeholders exist but none is primary → medium.
//! * **`support_spike`**: tickets in the last 7 days against the customer's baseline, the mean
//!   weekly tickets over the 8 weeks (56 days) before them (`as_of − 62 ..= as_of − 7`, days
//!   without a row count as no tickets). Fires when the last 7 days have ≥ max(3, 2 × baseline)
//!   tickets → medium; high if ≥ 2 of them were high priority, or if the baseline is above zero and
//!   the count is ≥ 3 × baseline (a multiple of a zero baseline says nothing more than the
//!   3-ticket floor already does, so a customer with no ticket history escalates to high only
//!   through high-priority tickets).
//! * **`nps_detractor`**: the latest NPS response (scores outside 0–10 are ignored) is at most 90
//!   days old and scored ≤ 6 → medium, ≤ 3 → high. A later response of 7 or more clears it, since
//!   only the latest counts.

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use serde_json::json;

pub const USAGE_DROP: &str = "usage_drop";
pub const INACTIVE: &str = "inactive";
pub const ADOPTION_STALLED: &str = "adoption_stalled";
pub const RAPID_HEALTH_DECLINE: &str = "rapid_health_decline";
pub const RENEWAL_LOW_HEALTH: &str = "renewal_low_health";
pub const CHAMPION_LOST: &str = "champion_lost";
pub const SUPPORT_SPIKE: &str = "support_spike";
pub const NPS_DETRACTOR: &str = "nps_detractor";

/// Every signal type [`detect`] can raise, in the order it returns them.
pub const SIGNAL_TYPES: &[&str] = &[
    USAGE_DROP,
    INACTIVE,
    ADOPTION_STALLED,
    RAPID_HEALTH_DECLINE,
    RENEWAL_LOW_HEALTH,
    CHAMPION_LOST,
    SUPPORT_SPIKE,
    NPS_DETRACTOR,
];

crate::words! {
    /// How bad a risk is; ordered, so `max` is the worst.
    #[derive(PartialOrd, Ord)]
    pub enum Severity as "severity" {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

/// One `usage_metrics` row, as the detectors need it.
#[derive(Debug, Clone, PartialEq)]
pub struct DayUsage {
    pub date: NaiveDate,
    pub dau: i32,
    pub mau: i32,
    pub adoption_score: i32,
    /// Distinct features used in the 30 days ending on `date`.
    pub feature_count: i32,
    pub support_tickets: i32,
    pub high_priority_tickets: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StakeholderFacts {
    pub is_primary: bool,
    pub sentiment: Option<String>,
}

/// Everything the detectors look at for one customer as of one day.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskInputs {
    pub as_of: NaiveDate,
    /// When the customer was created.
    pub customer_since: NaiveDate,
    /// Daily rows up to `as_of` (up to 90 days), ascending, at most one per day.
    pub usage: Vec<DayUsage>,
    /// First and last engagement event ever, up to `as_of`.
    pub first_activity: Option<NaiveDate>,
    pub last_activity: Option<NaiveDate>,
    pub health_now: Option<i32>,
    /// Scores recorded in the last 30 days, ascending.
    pub health_history: Vec<(NaiveDate, i32)>,
    pub renewal_date: Option<NaiveDate>,
    pub stakeholders: Vec<StakeholderFacts>,
    /// Set by the caller when a primary stakeholder was deleted and none replaced it.
    pub primary_contact_removed: bool,
    /// NPS responses up to `as_of`, ascending.
    pub nps: Vec<(NaiveDate, i32)>,
}

/// One raised signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// One of [`SIGNAL_TYPES`].
    pub signal_type: &'static str,
    pub severity: Severity,
    /// A sentence for people, with the numbers.
    pub description: String,
    /// The same numbers, for machines.
    pub metadata: serde_json::Value,
}

/// Every signal whose condition holds as of `inputs.as_of`, at most one per signal type, in the
/// order of [`SIGNAL_TYPES`]. See the module docs for the rules.
pub fn detect(inputs: &RiskInputs) -> Vec<Detection> {
    [
        usage_drop(inputs),
        inactive(inputs),
        adoption_stalled(inputs),
        rapid_health_decline(inputs),
        renewal_low_health(inputs),
        champion_lost(inputs),
        support_spike(inputs),
        nps_detractor(inputs),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Days in the recent usage window.
pub const USAGE_RECENT_DAYS: i64 = 7;
/// Days in the usage baseline window, just before the recent one.
pub const USAGE_BASELINE_DAYS: i64 = 21;
/// Minimum baseline mean DAU for `usage_drop`.
pub const USAGE_MIN_BASELINE_DAU: i64 = 3;

/// `usage_drop`; see the module docs.
pub fn usage_drop(i: &RiskInputs) -> Option<Detection> {
    let recent_from = back(i.as_of, USAGE_RECENT_DAYS - 1);
    let baseline_to = back(i.as_of, USAGE_RECENT_DAYS);
    let baseline_from = back(i.as_of, USAGE_RECENT_DAYS + USAGE_BASELINE_DAYS - 1);
    let (n_recent, sum_recent) =
        count_and_sum(rows_between(&i.usage, recent_from, i.as_of), |r| r.dau);
    let (n_base, sum_base) =
        count_and_sum(rows_between(&i.usage, baseline_from, baseline_to), |r| {
            r.dau
        });
    if n_recent == 0 || n_base == 0 || sum_base < USAGE_MIN_BASELINE_DAU as i128 * n_base {
        return None;
    }
    // drop = 1 − (sum_recent / n_recent) / (sum_base / n_base) = num / den, compared exactly.
    let den = sum_base * n_recent;
    let num = den - sum_recent * n_base;
    let at_least = |pct: i128| num * 100 >= pct * den;
    let severity = if at_least(75) {
        Severity::Critical
    } else if at_least(50) {
        Severity::High
    } else if at_least(30) {
        Severity::Medium
    } else {
        return None;
    };
    let whole_pct = (num * 100).div_euclid(den);
    let recent_mean = sum_recent as f64 / n_recent as f64;
    let base_mean = sum_base as f64 / n_base as f64;
    Some(Detection {
        signal_type: USAGE_DROP,
        severity,
        description: format!(
            "Daily active users fell {whole_pct}% (from {base_mean:.1} to {recent_mean:.1} a day) \
             over the last {USAGE_RECENT_DAYS} days compared with the {USAGE_BASELINE_DAYS} days before"
        ),
        metadata: json!({
            "drop_percent": round2(num as f64 * 100.0 / den as f64),
            "recent_mean_dau": round2(recent_mean),
            "baseline_mean_dau": round2(base_mean),
            "recent_days_with_data": n_recent as i64,
            "baseline_days_with_data": n_base as i64,
            "recent_window_days": USAGE_RECENT_DAYS,
            "baseline_window_days": USAGE_BASELINE_DAYS,
        }),
    })
}

/// Days without engagement for a medium `inactive` signal.
pub const INACTIVE_MEDIUM_DAYS: i64 = 14;
/// Days without engagement for a high `inactive` signal.
pub const INACTIVE_HIGH_DAYS: i64 = 30;

/// `inactive`; see the module docs.
pub fn inactive(i: &RiskInputs) -> Option<Detection> {
    let first = i.first_activity.filter(|&d| d <= i.as_of)?;
    let last = i
        .last_activity
        .filter(|&d| d <= i.as_of)
        .unwrap_or(first)
        .max(first);
    let days = (i.as_of - last).num_days();
    let severity = if days >= INACTIVE_HIGH_DAYS {
        Severity::High
    } else if days >= INACTIVE_MEDIUM_DAYS {
        Severity::Medium
    } else {
        return None;
    };
    Some(Detection {
        signal_type: INACTIVE,
        severity,
        description: format!("No product activity for {days} days (last activity on {last})"),
        metadata: json!({
            "days_inactive": days,
            "last_activity": last.to_string(),
            "first_activity": first.to_string(),
        }),
    })
}

/// Minimum customer age in days for `adoption_stalled`.
pub const STALLED_MIN_CUSTOMER_DAYS: i64 = 45;
/// Window of `adoption_stalled`, in days ending on `as_of`.
pub const STALLED_WINDOW_DAYS: i64 = 14;
/// Minimum rows in the window for `adoption_stalled`.
pub const STALLED_MIN_ROWS: usize = 10;
/// Every score in the window below this → low.
pub const STALLED_LOW_BELOW: i32 = 30;
/// Every score in the window below this → medium.
pub const STALLED_MEDIUM_BELOW: i32 = 15;

/// `adoption_stalled`; see the module docs.
pub fn adoption_stalled(i: &RiskInputs) -> Option<Detection> {
    let customer_days = (i.as_of - i.customer_since).num_days();
    if customer_days < STALLED_MIN_CUSTOMER_DAYS {
        return None;
    }
    let mut rows: Vec<&DayUsage> =
        rows_between(&i.usage, back(i.as_of, STALLED_WINDOW_DAYS - 1), i.as_of).collect();
    if rows.len() < STALLED_MIN_ROWS {
        return None;
    }
    rows.sort_by_key(|r| r.date);
    let highest = rows.iter().map(|r| r.adoption_score).max()?;
    let (earliest, latest) = (rows.first()?, rows.last()?);
    if highest >= STALLED_LOW_BELOW || latest.feature_count > earliest.feature_count {
        return None;
    }
    let (severity, below) = if highest < STALLED_MEDIUM_BELOW {
        (Severity::Medium, STALLED_MEDIUM_BELOW)
    } else {
        (Severity::Low, STALLED_LOW_BELOW)
    };
    Some(Detection {
        signal_type: ADOPTION_STALLED,
        severity,
        description: format!(
            "Adoption score stayed below {below} on all {} days with data in the last \
             {STALLED_WINDOW_DAYS} days (highest {highest}, latest {}) and the number of features \
             in use did not grow ({} then {})",
            rows.len(),
            latest.adoption_score,
            earliest.feature_count,
            latest.feature_count,
        ),
        metadata: json!({
            "highest_adoption_score": highest,
            "latest_adoption_score": latest.adoption_score,
            "days_with_data": rows.len() as i64,
            "window_days": STALLED_WINDOW_DAYS,
            "feature_count_start": earliest.feature_count,
            "feature_count_end": latest.feature_count,
            "customer_days": customer_days,
        }),
    })
}

/// Days before `as_of` whose recorded scores `rapid_health_decline` compares against.
pub const HEALTH_DECLINE_WINDOW_DAYS: i64 = 7;

/// `rapid_health_decline`; see the module docs.
pub fn rapid_health_decline(i: &RiskInputs) -> Option<Detection> {
    let now = i.health_now?;
    let from = back(i.as_of, HEALTH_DECLINE_WINDOW_DAYS);
    let to = back(i.as_of, 1);
    // Highest score; on a tie, the latest date.
    let &(peak_date, peak) = i
        .health_history
        .iter()
        .filter(|(d, _)| *d >= from && *d <= to)
        .max_by_key(|(d, s)| (*s, *d))?;
    let drop = i64::from(peak) - i64::from(now);
    let severity = if drop >= 25 {
        Severity::Critical
    } else if drop >= 15 {
        Severity::High
    } else {
        return None;
    };
    Some(Detection {
        signal_type: RAPID_HEALTH_DECLINE,
        severity,
        description: format!(
            "Health score fell {drop} points in the last {HEALTH_DECLINE_WINDOW_DAYS} days \
             (from {peak} on {peak_date} to {now})"
        ),
        metadata: json!({
            "health_now": now,
            "peak_score": peak,
            "peak_date": peak_date.to_string(),
            "drop_points": drop,
            "window_days": HEALTH_DECLINE_WINDOW_DAYS,
        }),
    })
}

/// `renewal_low_health`; see the module docs.
pub fn renewal_low_health(i: &RiskInputs) -> Option<Detection> {
    let renewal = i.renewal_date?;
    let health = i.health_now?;
    let days = (renewal - i.as_of).num_days();
    if !(0..=90).contains(&days) {
        return None;
    }
    let severity = if health < 50 && days <= 30 {
        Severity::Critical
    } else if health < 50 {
        Severity::High
    } else if health < 60 {
        Severity::Medium
    } else {
        return None;
    };
    let when = match days {
        0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    };
    Some(Detection {
        signal_type: RENEWAL_LOW_HEALTH,
        severity,
        description: format!("Renewal {when} (on {renewal}) with a health score of {health}"),
        metadata: json!({
            "renewal_date": renewal.to_string(),
            "days_to_renewal": days,
            "health_now": health,
        }),
    })
}

/// `champion_lost`; see the module docs.
pub fn champion_lost(i: &RiskInputs) -> Option<Detection> {
    let total = i.stakeholders.len() as i64;
    let primaries = i.stakeholders.iter().filter(|s| s.is_primary).count() as i64;
    let negative_primaries = i
        .stakeholders
        .iter()
        .filter(|s| s.is_primary && is_negative(s.sentiment.as_deref()))
        .count() as i64;
    let (severity, reason, description) = if i.primary_contact_removed {
        (
            Severity::High,
            "primary_removed",
            "Primary contact removed and not replaced".to_owned(),
        )
    } else if negative_primaries > 0 {
        let description = if negative_primaries == 1 {
            "The primary contact's sentiment is negative".to_owned()
        } else {
            format!("{negative_primaries} primary contacts have negative sentiment")
        };
        (Severity::High, "primary_contact_negative", description)
    } else if total > 0 && primaries == 0 {
        let description = if total == 1 {
            "The only stakeholder is not a primary contact".to_owned()
        } else {
            format!("None of the {total} stakeholders is a primary contact")
        };
        (Severity::Medium, "no_primary_contact", description)
    } else {
        return None;
    };
    Some(Detection {
        signal_type: CHAMPION_LOST,
        severity,
        description,
        metadata: json!({
            "reason": reason,
            "stakeholders": total,
            "primary_contacts": primaries,
            "negative_primary_contacts": negative_primaries,
        }),
    })
}

/// Days in the recent ticket window.
pub const SUPPORT_RECENT_DAYS: i64 = 7;
/// Weeks in the ticket baseline, just before the recent window.
pub const SUPPORT_BASELINE_WEEKS: i64 = 8;
/// Fewest tickets in the recent window that can be a spike.
pub const SUPPORT_MIN_TICKETS: i64 = 3;

/// `support_spike`; see the module docs.
pub fn support_spike(i: &RiskInputs) -> Option<Detection> {
    let recent: Vec<&DayUsage> =
        rows_between(&i.usage, back(i.as_of, SUPPORT_RECENT_DAYS - 1), i.as_of).collect();
    let tickets: i64 = recent
        .iter()
        .map(|r| i64::from(r.support_tickets.max(0)))
        .sum();
    let high: i64 = recent
        .iter()
        .map(|r| i64::from(r.high_priority_tickets.max(0)))
        .sum();
    let baseline_to = back(i.as_of, SUPPORT_RECENT_DAYS);
    let baseline_from = back(
        i.as_of,
        SUPPORT_RECENT_DAYS + 7 * SUPPORT_BASELINE_WEEKS - 1,
    );
    let baseline_total: i64 = rows_between(&i.usage, baseline_from, baseline_to)
        .map(|r| i64::from(r.support_tickets.max(0)))
        .sum();
    // tickets ≥ k × baseline_total / weeks  ⇔  tickets × weeks ≥ k × baseline_total.
    let at_least_times = |k: i64| tickets * SUPPORT_BASELINE_WEEKS >= k * baseline_total;
    if tickets < SUPPORT_MIN_TICKETS || !at_least_times(2) {
        return None;
    }
    let severity = if high >= 2 || (baseline_total > 0 && at_least_times(3)) {
        Severity::High
    } else {
        Severity::Medium
    };
    let baseline = baseline_total as f64 / SUPPORT_BASELINE_WEEKS as f64;
    let tickets_word = if tickets == 1 { "ticket" } else { "tickets" };
    Some(Detection {
        signal_type: SUPPORT_SPIKE,
        severity,
        description: format!(
            "{tickets} support {tickets_word} in the last {SUPPORT_RECENT_DAYS} days ({high} high \
             priority) against a usual {baseline:.1} a week over the {SUPPORT_BASELINE_WEEKS} weeks before"
        ),
        metadata: json!({
            "tickets_last_7_days": tickets,
            "high_priority_last_7_days": high,
            "baseline_weekly_tickets": round2(baseline),
            "baseline_total_tickets": baseline_total,
            "baseline_weeks": SUPPORT_BASELINE_WEEKS,
        }),
    })
}

/// Maximum age in days of the NPS response `nps_detractor` looks at.
pub const NPS_MAX_AGE_DAYS: i64 = 90;

/// `nps_detractor`; see the module docs.
pub fn nps_detractor(i: &RiskInputs) -> Option<Detection> {
    // Latest valid response; on a date tie, the later one in the list (input is ascending).
    let (date, score) = i
        .nps
        .iter()
        .copied()
        .filter(|&(d, s)| d <= i.as_of && (0..=10).contains(&s))
        .fold(None, |latest: Option<(NaiveDate, i32)>, r| match latest {
            Some(l) if l.0 > r.0 => Some(l),
            _ => Some(r),
        })?;
    let age = (i.as_of - date).num_days();
    if age > NPS_MAX_AGE_DAYS {
        return None;
    }
    let severity = if score <= 3 {
        Severity::High
    } else if score <= 6 {
        Severity::Medium
    } else {
        return None;
    };
    let ago = match age {
        0 => "today".to_owned(),
        1 => "1 day ago".to_owned(),
        n => format!("{n} days ago"),
    };
    Some(Detection {
        signal_type: NPS_DETRACTOR,
        severity,
        description: format!(
            "Latest NPS response scored {score} out of 10 (a detractor), {ago} on {date}"
        ),
        metadata: json!({
            "score": score,
            "response_date": date.to_string(),
            "days_ago": age,
        }),
    })
}

fn is_negative(sentiment: Option<&str>) -> bool {
    sentiment.is_some_and(|s| s.trim().eq_ignore_ascii_case("negative"))
}

/// `date − days`, saturating at the earliest representable date.
fn back(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_sub_signed(Duration::days(days))
        .unwrap_or(NaiveDate::MIN)
}

fn rows_between(
    usage: &[DayUsage],
    first: NaiveDate,
    last: NaiveDate,
) -> impl Iterator<Item = &DayUsage> {
    usage
        .iter()
        .filter(move |r| r.date >= first && r.date <= last)
}

/// Number of rows and sum of a non-negative field (negative values count as 0).
fn count_and_sum<'a>(
    rows: impl Iterator<Item = &'a DayUsage>,
    field: impl Fn(&DayUsage) -> i32,
) -> (i128, i128) {
    rows.fold((0, 0), |(n, s), r| (n + 1, s + i128::from(field(r).max(0))))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
    }

    /// `n` days before `as_of` (negative: after).
    fn d(n: i64) -> NaiveDate {
        as_of() - Duration::days(n)
    }

    fn inputs() -> RiskInputs {
        RiskInputs {
            as_of: as_of(),
            customer_since: d(400),
            usage: Vec::new(),
            first_activity: None,
            last_activity: None,
            health_now: None,
            health_history: Vec::new(),
            renewal_date: None,
            stakeholders: Vec::new(),
            primary_contact_removed: false,
            nps: Vec::new(),
        }
    }

    fn row(days_back: i64, dau: i32) -> DayUsage {
        DayUsage {
            date: d(days_back),
            dau,
            mau: 50,
            adoption_score: 60,
            feature_count: 5,
            support_tickets: 0,
            high_priority_tickets: 0,
        }
    }

    /// Rows for the 28 days ending on `as_of`, ascending: `baseline` DAU on days 27..=7 back,
    /// `recent` on days 6..=0 back.
    fn dau_rows(baseline: i32, recent: i32) -> Vec<DayUsage> {
        (0..28)
            .rev()
            .map(|b| row(b, if b >= 7 { baseline } else { recent }))
            .collect()
    }

    fn only(i: &RiskInputs, signal: &str) -> Option<Detection> {
        let found: Vec<_> = detect(i)
            .into_iter()
            .filter(|x| x.signal_type == signal)
            .collect();
        assert!(found.len() <= 1, "{found:?}");
        found.into_iter().next()
    }

    fn severity(i: &RiskInputs, signal: &str) -> Option<Severity> {
        only(i, signal).map(|x| x.severity)
    }

    #[test]
    fn no_data_no_detections() {
        assert_eq!(detect(&inputs()), Vec::new());
    }

    #[test]
    fn severity_strings_and_order() {
        for &s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High);
        assert!(Severity::High < Severity::Critical);
    }

    #[test]
    fn usage_drop_thresholds() {
        let with = |baseline, recent| RiskInputs {
            usage: dau_rows(baseline, recent),
            ..inputs()
        };
        assert_eq!(severity(&with(100, 100), USAGE_DROP), None);
        assert_eq!(severity(&with(100, 71), USAGE_DROP), None); // 29 %
        assert_eq!(severity(&with(100, 70), USAGE_DROP), Some(Severity::Medium)); // 30 %
        assert_eq!(severity(&with(100, 51), USAGE_DROP), Some(Severity::Medium)); // 49 %
        assert_eq!(severity(&with(100, 50), USAGE_DROP), Some(Severity::High)); // 50 %
        assert_eq!(severity(&with(100, 26), USAGE_DROP), Some(Severity::High)); // 74 %
        assert_eq!(
            severity(&with(100, 25), USAGE_DROP),
            Some(Severity::Critical)
        ); // 75 %
        assert_eq!(
            severity(&with(100, 0), USAGE_DROP),
            Some(Severity::Critical)
        );
        assert_eq!(severity(&with(10, 7), USAGE_DROP), Some(Severity::Medium));
        assert_eq!(severity(&with(10, 8), USAGE_DROP), None);
        // Growth is not a drop.
        assert_eq!(severity(&with(10, 20), USAGE_DROP), None);
    }

    #[test]
    fn usage_drop_needs_a_baseline_of_three_users() {
        // Exactly 3 a day: fires.
        let i = RiskInputs {
            usage: dau_rows(3, 0),
            ..inputs()
        };
        assert_eq!(severity(&i, USAGE_DROP), Some(Severity::Critical));
        // 20 days at 3 and one at 2: mean 62/21 < 3.
        let mut usage = dau_rows(3, 0);
        usage[0].dau = 2;
        let i = RiskInputs { usage, ..inputs() };
        assert_eq!(severity(&i, USAGE_DROP), None);
    }

    #[test]
    fn usage_drop_needs_rows_in_both_windows() {
        let recent_only = RiskInputs {
            usage: (0..7).rev().map(|b| row(b, 0)).collect(),
            ..inputs()
        };
        assert_eq!(severity(&recent_only, USAGE_DROP), None);
        let baseline_only = RiskInputs {
            usage: (7..28).rev().map(|b| row(b, 50)).collect(),
            ..inputs()
        };
        assert_eq!(severity(&baseline_only, USAGE_DROP), None);
        // Rows older than the baseline window do not count as baseline.
        let too_old = RiskInputs {
            usage: vec![row(28, 50), row(0, 0)],
            ..inputs()
        };
        assert_eq!(severity(&too_old, USAGE_DROP), None);
    }

    #[test]
    fn usage_drop_means_are_over_rows_present() {
        // Baseline: 10 on 3 days; recent: 5 on 2 days (today's row missing) → 50 %.
        let i = RiskInputs {
            usage: vec![row(20, 10), row(15, 10), row(7, 10), row(6, 5), row(1, 5)],
            ..inputs()
        };
        assert_eq!(severity(&i, USAGE_DROP), Some(Severity::High));
        // Rows after as_of are ignored.
        let mut usage = dau_rows(10, 10);
        usage.push(row(-1, 0));
        usage.push(row(-2, 0));
        let i = RiskInputs { usage, ..inputs() };
        assert_eq!(severity(&i, USAGE_DROP), None);
    }

    #[test]
    fn usage_drop_description_and_metadata() {
        // Baseline 13 a day; recent 5,5,5,5,5,5,4 = 34 / 7 = 4.857.
        // Drop = 1 − 34/91 = 57/91 = 62.6 % → high, shown as 62 %.
        let mut usage = dau_rows(13, 5);
        usage.last_mut().unwrap().dau = 4;
        let i = RiskInputs { usage, ..inputs() };
        let x = only(&i, USAGE_DROP).unwrap();
        assert_eq!(x.severity, Severity::High);
        assert_eq!(
            x.description,
            "Daily active users fell 62% (from 13.0 to 4.9 a day) over the last 7 days \
             compared with the 21 days before"
        );
        assert_eq!(x.metadata["recent_days_with_data"], json!(7));
        assert_eq!(x.metadata["baseline_days_with_data"], json!(21));
        assert_eq!(x.metadata["drop_percent"].as_f64(), Some(62.64));
        assert_eq!(x.metadata["recent_mean_dau"].as_f64(), Some(4.86));
    }

    #[test]
    fn inactive_thresholds() {
        let with = |first: Option<i64>, last: Option<i64>| RiskInputs {
            first_activity: first.map(d),
            last_activity: last.map(d),
            ..inputs()
        };
        // Never active: nothing, however long.
        assert_eq!(severity(&with(None, None), INACTIVE), None);
        assert_eq!(severity(&with(Some(100), Some(13)), INACTIVE), None);
        assert_eq!(
            severity(&with(Some(100), Some(14)), INACTIVE),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity(&with(Some(100), Some(29)), INACTIVE),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity(&with(Some(100), Some(30)), INACTIVE),
            Some(Severity::High)
        );
        assert_eq!(severity(&with(Some(100), Some(0)), INACTIVE), None);
        let x = only(&with(Some(100), Some(21)), INACTIVE).unwrap();
        assert_eq!(
            x.description,
            "No product activity for 21 days (last activity on 2024-06-09)"
        );
        assert_eq!(x.metadata["days_inactive"], json!(21));
    }

    /// 14 rows (13..=0 days back) with the given scores and feature counts.
    fn adoption_rows(score: impl Fn(i64) -> i32, features: impl Fn(i64) -> i32) -> Vec<DayUsage> {
        (0..14)
            .rev()
            .map(|b| DayUsage {
                adoption_score: score(b),
                feature_count: features(b),
                ..row(b, 5)
            })
            .collect()
    }

    #[test]
    fn adoption_stalled_thresholds() {
        let with = |since: i64, usage: Vec<DayUsage>| RiskInputs {
            customer_since: d(since),
            usage,
            ..inputs()
        };
        let flat = |score: i32| adoption_rows(move |_| score, |_| 4);
        assert_eq!(
            severity(&with(45, flat(29)), ADOPTION_STALLED),
            Some(Severity::Low)
        );
        assert_eq!(severity(&with(45, flat(30)), ADOPTION_STALLED), None);
        assert_eq!(
            severity(&with(45, flat(15)), ADOPTION_STALLED),
            Some(Severity::Low)
        );
        assert_eq!(
            severity(&with(45, flat(14)), ADOPTION_STALLED),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity(&with(45, flat(0)), ADOPTION_STALLED),
            Some(Severity::Medium)
        );
        // Too new a customer.
        assert_eq!(severity(&with(44, flat(0)), ADOPTION_STALLED), None);
        // One day at 30 breaks "every day".
        let one_high = adoption_rows(|b| if b == 5 { 30 } else { 10 }, |_| 4);
        assert_eq!(severity(&with(45, one_high), ADOPTION_STALLED), None);
        // One day at 15, the rest under 15: low, not medium.
        let one_mid = adoption_rows(|b| if b == 5 { 15 } else { 10 }, |_| 4);
        assert_eq!(
            severity(&with(45, one_mid), ADOPTION_STALLED),
            Some(Severity::Low)
        );
    }

    #[test]
    fn adoption_stalled_needs_ten_rows_and_no_feature_growth() {
        let with = |usage: Vec<DayUsage>| RiskInputs { usage, ..inputs() };
        let mut rows = adoption_rows(|_| 10, |_| 4);
        rows.drain(0..4); // 10 rows left (9..=0 back)
        assert_eq!(
            severity(&with(rows.clone()), ADOPTION_STALLED),
            Some(Severity::Medium)
        );
        rows.remove(3); // 9 rows
        assert_eq!(severity(&with(rows), ADOPTION_STALLED), None);
        // Gaps are fine as long as 10 of the last 14 days have rows.
        let mut gappy = adoption_rows(|_| 10, |_| 4);
        for b in [2, 5, 8, 11] {
            gappy.retain(|r| r.date != d(b));
        }
        assert_eq!(
            severity(&with(gappy), ADOPTION_STALLED),
            Some(Severity::Medium)
        );
        // A row older than 14 days does not make up the count.
        let mut old = adoption_rows(|_| 10, |_| 4);
        old.drain(0..5); // 9 rows in the window
        old.insert(
            0,
            DayUsage {
                adoption_score: 10,
                ..row(14, 5)
            },
        );
        assert_eq!(severity(&with(old), ADOPTION_STALLED), None);
        // Features grew from 4 to 5 over the window: not stalled.
        let grew = adoption_rows(|_| 10, |b| if b < 3 { 5 } else { 4 });
        assert_eq!(severity(&with(grew), ADOPTION_STALLED), None);
        // Features fell: still stalled.
        let fell = adoption_rows(|_| 10, |b| if b < 3 { 3 } else { 4 });
        assert_eq!(
            severity(&with(fell), ADOPTION_STALLED),
            Some(Severity::Medium)
        );
    }

    #[test]
    fn rapid_health_decline_thresholds() {
        let with = |now: Option<i32>, history: Vec<(i64, i32)>| RiskInputs {
            health_now: now,
            health_history: history.into_iter().map(|(b, s)| (d(b), s)).collect(),
            ..inputs()
        };
        assert_eq!(
            severity(&with(Some(66), vec![(3, 80)]), RAPID_HEALTH_DECLINE),
            None
        );
        assert_eq!(
            severity(&with(Some(65), vec![(3, 80)]), RAPID_HEALTH_DECLINE),
            Some(Severity::High)
        );
        assert_eq!(
            severity(&with(Some(56), vec![(3, 80)]), RAPID_HEALTH_DECLINE),
            Some(Severity::High)
        );
        assert_eq!(
            severity(&with(Some(55), vec![(3, 80)]), RAPID_HEALTH_DECLINE),
            Some(Severity::Critical)
        );
        // The peak is taken from 7..=1 days back only: the 95 eight days ago is too old.
        let i = with(Some(57), vec![(8, 95), (7, 70), (4, 72), (1, 60)]);
        let x = only(&i, RAPID_HEALTH_DECLINE).unwrap();
        assert_eq!(x.severity, Severity::High);
        assert_eq!(x.metadata["peak_score"], json!(72));
        assert_eq!(
            x.description,
            "Health score fell 15 points in the last 7 days (from 72 on 2024-06-26 to 57)"
        );
        // A score recorded on as_of itself is not "before as_of".
        assert_eq!(
            severity(&with(Some(50), vec![(0, 90)]), RAPID_HEALTH_DECLINE),
            None
        );
        // No current score or no history: nothing.
        assert_eq!(
            severity(&with(None, vec![(3, 80)]), RAPID_HEALTH_DECLINE),
            None
        );
        assert_eq!(
            severity(&with(Some(10), vec![]), RAPID_HEALTH_DECLINE),
            None
        );
        // Rising health is not a decline.
        assert_eq!(
            severity(&with(Some(90), vec![(3, 60)]), RAPID_HEALTH_DECLINE),
            None
        );
    }

    #[test]
    fn renewal_low_health_thresholds() {
        let with = |days_ahead: Option<i64>, health: Option<i32>| RiskInputs {
            renewal_date: days_ahead.map(|n| d(-n)),
            health_now: health,
            ..inputs()
        };
        let sev = |days_ahead, health| {
            severity(&with(Some(days_ahead), Some(health)), RENEWAL_LOW_HEALTH)
        };
        assert_eq!(sev(90, 60), None);
        assert_eq!(sev(90, 59), Some(Severity::Medium));
        assert_eq!(sev(90, 50), Some(Severity::Medium));
        assert_eq!(sev(90, 49), Some(Severity::High));
        assert_eq!(sev(31, 49), Some(Severity::High));
        assert_eq!(sev(30, 49), Some(Severity::Critical));
        assert_eq!(sev(30, 50), Some(Severity::Medium));
        assert_eq!(sev(0, 10), Some(Severity::Critical));
        assert_eq!(sev(91, 10), None);
        assert_eq!(sev(-1, 10), None); // already passed
        assert_eq!(severity(&with(None, Some(10)), RENEWAL_LOW_HEALTH), None);
        assert_eq!(severity(&with(Some(10), None), RENEWAL_LOW_HEALTH), None);
        let x = only(&with(Some(20), Some(42)), RENEWAL_LOW_HEALTH).unwrap();
        assert_eq!(
            x.description,
            "Renewal in 20 days (on 2024-07-20) with a health score of 42"
        );
        assert_eq!(x.metadata["days_to_renewal"], json!(20));
    }

    #[test]
    fn champion_lost_rules() {
        let person = |is_primary: bool, sentiment: Option<&str>| StakeholderFacts {
            is_primary,
            sentiment: sentiment.map(str::to_owned),
        };
        let with = |removed: bool, stakeholders: Vec<StakeholderFacts>| RiskInputs {
            primary_contact_removed: removed,
            stakeholders,
            ..inputs()
        };
        let x = only(&with(true, vec![]), CHAMPION_LOST).unwrap();
        assert_eq!(x.severity, Severity::High);
        assert_eq!(x.description, "Primary contact removed and not replaced");
        assert_eq!(x.metadata["reason"], json!("primary_removed"));
        let negative = with(
            false,
            vec![person(true, Some(" Negative ")), person(false, None)],
        );
        let x = only(&negative, CHAMPION_LOST).unwrap();
        assert_eq!(x.severity, Severity::High);
        assert_eq!(x.metadata["reason"], json!("primary_contact_negative"));
        // A negative non-primary stakeholder is not a lost champion.
        let other_negative = with(
            false,
            vec![
                person(true, Some("positive")),
                person(false, Some("negative")),
            ],
        );
        assert_eq!(severity(&other_negative, CHAMPION_LOST), None);
        let no_primary = with(
            false,
            vec![person(false, Some("positive")), person(false, None)],
        );
        let x = only(&no_primary, CHAMPION_LOST).unwrap();
        assert_eq!(x.severity, Severity::Medium);
        assert_eq!(
            x.description,
            "None of the 2 stakeholders is a primary contact"
        );
        assert_eq!(severity(&with(false, vec![]), CHAMPION_LOST), None);
        assert_eq!(
            severity(&with(false, vec![person(true, None)]), CHAMPION_LOST),
            None
        );
    }

    /// Rows with tickets: `(days_back, tickets, high_priority)`.
    fn ticket_rows(rows: &[(i64, i32, i32)]) -> Vec<DayUsage> {
        let mut v: Vec<DayUsage> = rows
            .iter()
            .map(|&(b, t, h)| DayUsage {
                support_tickets: t,
                high_priority_tickets: h,
                ..row(b, 5)
            })
            .collect();
        v.sort_by_key(|r| r.date);
        v
    }

    #[test]
    fn support_spike_without_history() {
        let with = |rows: &[(i64, i32, i32)]| RiskInputs {
            usage: ticket_rows(rows),
            ..inputs()
        };
        assert_eq!(severity(&with(&[(0, 2, 0)]), SUPPORT_SPIKE), None);
        assert_eq!(
            severity(&with(&[(0, 2, 0), (6, 1, 0)]), SUPPORT_SPIKE),
            Some(Severity::Medium)
        );
        // 7 days back is outside the last 7 days.
        assert_eq!(
            severity(&with(&[(0, 2, 0), (7, 1, 0)]), SUPPORT_SPIKE),
            None
        );
        assert_eq!(
            severity(&with(&[(0, 3, 1)]), SUPPORT_SPIKE),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity(&with(&[(0, 3, 2)]), SUPPORT_SPIKE),
            Some(Severity::High)
        );
        // With a zero baseline the 3× rule does not apply: many tickets are still medium.
        assert_eq!(
            severity(&with(&[(0, 10, 0)]), SUPPORT_SPIKE),
            Some(Severity::Medium)
        );
        // Tickets dated after as_of are ignored.
        assert_eq!(severity(&with(&[(-1, 10, 10)]), SUPPORT_SPIKE), None);
    }

    #[test]
    fn support_spike_against_baseline() {
        // Baseline: 2 tickets in each of the 8 weeks before (16 total → 2 a week), so a spike
        // needs max(3, 4) = 4 tickets and 3 × 2 = 6 makes it high. A row 63 days back is older
        // than the baseline and must not count.
        let mut history: Vec<(i64, i32, i32)> = (1..=8).map(|w| (7 * w, 2, 0)).collect();
        history.push((63, 100, 0));
        let with = |recent: i32, high: i32| {
            let mut rows = history.clone();
            rows.push((0, recent, high));
            RiskInputs {
                usage: ticket_rows(&rows),
                ..inputs()
            }
        };
        assert_eq!(severity(&with(3, 0), SUPPORT_SPIKE), None);
        assert_eq!(severity(&with(4, 0), SUPPORT_SPIKE), Some(Severity::Medium));
        assert_eq!(severity(&with(5, 0), SUPPORT_SPIKE), Some(Severity::Medium));
        assert_eq!(severity(&with(6, 0), SUPPORT_SPIKE), Some(Severity::High));
        assert_eq!(severity(&with(4, 2), SUPPORT_SPIKE), Some(Severity::High));
        // High-priority tickets alone do not make a spike.
        assert_eq!(severity(&with(3, 3), SUPPORT_SPIKE), None);
        let x = only(&with(5, 1), SUPPORT_SPIKE).unwrap();
        assert_eq!(
            x.description,
            "5 support tickets in the last 7 days (1 high priority) against a usual 2.0 a week \
             over the 8 weeks before"
        );
        assert_eq!(x.metadata["baseline_total_tickets"], json!(16));
    }

    #[test]
    fn nps_detractor_rules() {
        let with = |responses: &[(i64, i32)]| RiskInputs {
            nps: responses.iter().map(|&(b, s)| (d(b), s)).collect(),
            ..inputs()
        };
        assert_eq!(severity(&with(&[(10, 7)]), NPS_DETRACTOR), None);
        assert_eq!(
            severity(&with(&[(10, 6)]), NPS_DETRACTOR),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity(&with(&[(10, 4)]), NPS_DETRACTOR),
            Some(Severity::Medium)
        );
        assert_eq!(
            severity(&with(&[(10, 3)]), NPS_DETRACTOR),
            Some(Severity::High)
        );
        assert_eq!(
            severity(&with(&[(10, 0)]), NPS_DETRACTOR),
            Some(Severity::High)
        );
        assert_eq!(
            severity(&with(&[(90, 2)]), NPS_DETRACTOR),
            Some(Severity::High)
        );
        assert_eq!(severity(&with(&[(91, 2)]), NPS_DETRACTOR), None);
        // Only the latest counts: a later promoter clears an earlier detractor, and vice versa.
        assert_eq!(severity(&with(&[(20, 2), (5, 8)]), NPS_DETRACTOR), None);
        assert_eq!(
            severity(&with(&[(20, 9), (5, 2)]), NPS_DETRACTOR),
            Some(Severity::High)
        );
        // Responses after as_of and out-of-range scores are ignored.
        assert_eq!(severity(&with(&[(5, 9), (-1, 0)]), NPS_DETRACTOR), None);
        assert_eq!(
            severity(&with(&[(5, 2), (1, 11)]), NPS_DETRACTOR),
            Some(Severity::High)
        );
        let x = only(&with(&[(3, 5)]), NPS_DETRACTOR).unwrap();
        assert_eq!(
            x.description,
            "Latest NPS response scored 5 out of 10 (a detractor), 3 days ago on 2024-06-27"
        );
        assert_eq!(x.metadata["score"], json!(5));
    }

    #[test]
    fn everything_at_once_in_signal_order() {
        let mut usage = dau_rows(20, 2);
        for r in &mut usage {
            r.adoption_score = 5;
            r.feature_count = 2;
        }
        usage.last_mut().unwrap().support_tickets = 5;
        usage.last_mut().unwrap().high_priority_tickets = 2;
        let i = RiskInputs {
            usage,
            first_activity: Some(d(300)),
            last_activity: Some(d(40)),
            health_now: Some(30),
            health_history: vec![(d(5), 70)],
            renewal_date: Some(d(-10)),
            primary_contact_removed: true,
            nps: vec![(d(2), 1)],
            ..inputs()
        };
        let found = detect(&i);
        let types: Vec<_> = found.iter().map(|x| x.signal_type).collect();
        assert_eq!(types, SIGNAL_TYPES);
        for x in &found {
            assert!(!x.description.is_empty());
            assert!(x.metadata.is_object());
        }
        // Serializable for the API.
        let v = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(v["signal_type"], json!("usage_drop"));
        assert_eq!(v["severity"], json!("critical"));
    }
}
