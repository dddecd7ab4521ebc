//! Daily usage metrics: turns one customer's raw product-usage events into one row per UTC day.
//!
//! # Definitions
//!
//! * **Day of an event**: the UTC calendar day containing `ts_millis` (milliseconds since the Unix
//!   epoch; negative values are days before 1970). All windows below are whole UTC days that *end
//!   on* the day being computed, so a row for day `D` uses nothing later than the end of `D`.
//! * **Point-in-time correctness**: events after the end of `to` are ignored entirely, including
//!   when deciding the customer's first event. Nothing from the future can leak into a row.
//! * **User**: a distinct `user_id` that is not empty or blank. Events without one count as events
//!   (in `events`, `login_count`, `api_calls`, feature event counts, depth) but never as users.
//! * **Event types** are matched ignoring ASCII case and surrounding whitespace. `support_ticket`
//!   and `nps_response` are *feedback*; every other type (`login`, `api_call`, `feature_used`,
//!   `session_end` and any custom type) is an *engagement* event.
//! * `dau`: distinct users with any event that day. `wau`: distinct users with any event in the 7
//!   days ending that day. `mau`: the same over the 30 days ending that day.
//! * `active_users`: distinct users with an engagement event that day.
//! * `login_count`: number of `login` events that day.
//! * `api_calls`: sum over that day's `api_call` events of `count`; a missing count means 1, and
//!   each count is clamped to `0..=1_000_000` so a negative or absurd value cannot distort the sum.
//! * `session_duration_avg`: mean `duration_seconds` of that day's `session_end` events, in whole
//!   minutes rounded half up; `None` when the day has no usable duration. Durations that are
//!   missing, negative or not finite are ignored; durations over 7 days are clamped to 7 days.
//! * `feature_adoption`: over the 30 days ending that day, for each feature named by a
//!   `feature_used` event (non-blank `feature`): distinct users and number of events.
//! * `usage_trend`: see [`classify_trend`]; compares DAU over the 14 days ending that day with the
//!   14 days before those. Days before the customer's first event count as 0 DAU.
//! * `adoption_score`: see [`adoption_score`]; computed over the 30 days ending that day.
//! * `events`: all events that day. `support_tickets`: `support_ticket` events that day.
//!   `high_priority_tickets`: those whose `priority` is `high`, `urgent` or `critical` (ASCII case
//!   and surrounding whitespace ignored).
//!
//! # Cost
//!
//! User ids and feature names are interned to `u32` once, events are bucketed by day with a
//! counting sort, and the 7- and 30-day windows slide: each day's (sorted, deduplicated) user and
//! feature sets are added once when the day enters a window and removed once when it leaves. The
//! total work is O(events + days × features) with no per-day rescans of the event list.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Days of events before `from` the caller must supply to [`daily_metrics`].
///
/// The windows themselves reach back at most 29 days before `from` (the 30-day windows; the trend
/// needs 27). The extra margin only makes "the customer's first event" (rows are emitted from it
/// on) more likely to be found in the slice the caller loads.
pub const LOOKBACK_DAYS: i64 = 57;

/// Length of the `wau` window in days (ending on, and including, the day computed).
pub const WAU_DAYS: usize = 7;
/// Length of the `mau`, `feature_adoption` and `adoption_score` windows in days.
pub const MAU_DAYS: usize = 30;
/// Length of each of the two windows compared by `usage_trend`.
pub const TREND_DAYS: usize = 14;
/// Recent/earlier mean-DAU ratio (in percent) at or above which the trend is growing.
pub const TREND_GROWING_PERCENT: u64 = 115;
/// Recent/earlier mean-DAU ratio (in percent) at or below which the trend is declining.
pub const TREND_DECLINING_PERCENT: u64 = 85;
/// Mean DAU / MAU at or above which stickiness earns full marks.
pub const FULL_STICKINESS: f64 = 0.5;
/// Distinct features used in the window at or above which breadth earns full marks.
pub const FULL_BREADTH_FEATURES: u32 = 8;
/// Engagement events per active user-day at or above which depth earns full marks.
pub const FULL_DEPTH_EVENTS_PER_USER_DAY: f64 = 20.0;
/// Days since the last engagement event at which recency reaches 0.
pub const RECENCY_DAYS: u32 = 14;
/// Upper clamp for the `count` of a single `api_call` event.
pub const MAX_API_CALLS_PER_EVENT: i64 = 1_000_000;
/// Upper clamp for the `duration_seconds` of a single `session_end` event (7 days).
pub const MAX_SESSION_SECONDS: f64 = 604_800.0;

const MILLIS_PER_DAY: i64 = 86_400_000;
/// `NaiveDate::num_days_from_ce()` of 1970-01-01.
const UNIX_EPOCH_DAY_CE: i64 = 719_163;

/// One raw product-usage event of one customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// When it happened, in milliseconds since the Unix epoch (UTC).
    pub ts_millis: i64,
    pub user_id: Option<String>,
    /// `login`, `api_call`, `feature_used`, `session_end`, `support_ticket`, `nps_response` or
    /// any custom type.
    pub event_type: String,
    /// The feature used (for `feature_used`).
    pub feature: Option<String>,
    /// Session length (for `session_end`).
    pub duration_seconds: Option<f64>,
    /// Number of calls this event stands for (for `api_call`; default 1).
    pub count: Option<i64>,
    /// Ticket priority (for `support_ticket`).
    pub priority: Option<String>,
    /// NPS score 0–10 (for `nps_response`).
    pub nps_score: Option<i32>,
}

/// Use of one feature over the 30-day window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureUse {
    /// Distinct users with a `feature_used` event for the feature.
    pub users: i32,
    /// Number of `feature_used` events for the feature (with or without a user).
    pub events: i32,
}

crate::words! {
    /// Direction of DAU; see [`classify_trend`].
    pub enum Trend as "trend" {
        Growing = "growing",
        Stable = "stable",
        Declining = "declining",
    }
}

/// One `usage_metrics` row: one customer, one UTC day. See the module docs for each field.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyMetrics {
    pub date: NaiveDate,
    pub dau: i32,
    pub wau: i32,
    pub mau: i32,
    pub active_users: i32,
    pub login_count: i32,
    pub api_calls: i32,
    pub session_duration_avg: Option<i32>,
    pub feature_adoption: BTreeMap<String, FeatureUse>,
    pub usage_trend: Trend,
    pub adoption_score: i32,
    pub events: i32,
    pub support_tickets: i32,
    pub high_priority_tickets: i32,
}

/// What an event type means for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Login,
    ApiCall,
    FeatureUsed,
    SessionEnd,
    SupportTicket,
    NpsResponse,
    /// Any other type: counts as engagement.
    Custom,
}

impl EventKind {
    /// Classifies an `event_type`, ignoring ASCII case and surrounding whitespace.
    pub fn of(event_type: &str) -> EventKind {
        let t = event_type.trim();
        let is = |name: &str| t.eq_ignore_ascii_case(name);
        if is("login") {
            EventKind::Login
        } else if is("api_call") {
            EventKind::ApiCall
        } else if is("feature_used") {
            EventKind::FeatureUsed
        } else if is("session_end") {
            EventKind::SessionEnd
        } else if is("support_ticket") {
            EventKind::SupportTicket
        } else if is("nps_response") {
            EventKind::NpsResponse
        } else {
            EventKind::Custom
        }
    }

    /// Engagement is everything except feedback (`support_ticket`, `nps_response`).
    pub fn is_engagement(self) -> bool {
        !matches!(self, EventKind::SupportTicket | EventKind::NpsResponse)
    }
}

/// The UTC calendar day of a timestamp in milliseconds since the Unix epoch, or `None` if it is
/// outside the range `NaiveDate` can represent.
pub fn event_date(ts_millis: i64) -> Option<NaiveDate> {
    i32::try_from(day_number(ts_millis))
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Whether a ticket priority counts as high: `high`, `urgent` or `critical`.
pub fn is_high_priority(priority: Option<&str>) -> bool {
    priority.is_some_and(|p| {
        let p = p.trim();
        ["high", "urgent", "critical"]
            .iter()
            .any(|h| p.eq_ignore_ascii_case(h))
    })
}

/// The number of API calls one `api_call` event stands for: `count`, default 1, clamped to
/// `0..=MAX_API_CALLS_PER_EVENT`.
pub fn api_call_units(count: Option<i64>) -> i64 {
    count.unwrap_or(1).clamp(0, MAX_API_CALLS_PER_EVENT)
}

/// A usable session duration in whole milliseconds: `None` if missing, negative or not finite;
/// clamped to [`MAX_SESSION_SECONDS`].
pub fn session_millis(duration_seconds: Option<f64>) -> Option<u64> {
    let s = duration_seconds?;
    if !s.is_finite() || s < 0.0 {
        return None;
    }
    // Non-negative and at most 6.048e8 after the clamp, so the cast is exact enough and in range.
    Some((s.min(MAX_SESSION_SECONDS) * 1000.0).round() as u64)
}

/// Mean session length in whole minutes, rounded half up; `None` for no sessions.
pub fn mean_session_minutes(total_millis: u64, sessions: u64) -> Option<i32> {
    if sessions == 0 {
        return None;
    }
    let denom = u128::from(sessions) * 60_000;
    let minutes = (u128::from(total_millis) * 2 + denom) / (denom * 2);
    Some(i32::try_from(minutes).unwrap_or(i32::MAX))
}

/// The usage trend from the sums of DAU over two equally long windows (14 days each, so the
/// ratio of sums equals the ratio of means).
///
/// ratio = recent / earlier. `ratio ≥ 1.15` → growing, `ratio ≤ 0.85` → declining, else stable.
/// If the earlier window is all zeros: growing if the recent one has any users, else stable.
/// Compared in integers, so the thresholds are exact.
pub fn classify_trend(recent_dau_sum: u64, earlier_dau_sum: u64) -> Trend {
    if earlier_dau_sum == 0 {
        return if recent_dau_sum > 0 {
            Trend::Growing
        } else {
            Trend::Stable
        };
    }
    let recent = u128::from(recent_dau_sum) * 100;
    let earlier = u128::from(earlier_dau_sum);
    if recent >= earlier * u128::from(TREND_GROWING_PERCENT) {
        Trend::Growing
    } else if recent <= earlier * u128::from(TREND_DECLINING_PERCENT) {
        Trend::Declining
    } else {
        Trend::Stable
    }
}

/// Everything [`adoption_score`] looks at, for one 30-day window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdoptionInputs {
    /// Mean DAU over the days of the window on or after the customer's first event.
    pub mean_dau: f64,
    /// Distinct users over the window.
    pub mau: u32,
    /// Distinct features with a `feature_used` event in the window.
    pub distinct_features: u32,
    /// Engagement events in the window (with or without a user).
    pub engagement_events: u64,
    /// Sum of the daily `active_users` over the window.
    pub active_user_days: u64,
    /// Days from the last engagement event to the day scored (0 = that day); `None` if none.
    pub days_since_last_engagement: Option<u32>,
}

/// Stickiness in 0..=1: `mean_dau / mau`, linear so that 0 → 0 and ≥ [`FULL_STICKINESS`] → 1.
/// 0 when `mau` is 0.
pub fn stickiness_score(mean_dau: f64, mau: u32) -> f64 {
    if mau == 0 || !mean_dau.is_finite() {
        return 0.0;
    }
    (mean_dau / f64::from(mau) / FULL_STICKINESS).clamp(0.0, 1.0)
}

/// Breadth in 0..=1: distinct features used / [`FULL_BREADTH_FEATURES`], capped at 1.
pub fn breadth_score(distinct_features: u32) -> f64 {
    (f64::from(distinct_features) / f64::from(FULL_BREADTH_FEATURES)).min(1.0)
}

/// Depth in 0..=1: with `x` = engagement events per active user-day,
/// `ln(1 + x) / ln(1 + FULL_DEPTH_EVENTS_PER_USER_DAY)` (= `ln(1+x)/ln(21)`), capped at 1.
/// 0 when there are no active user-days.
pub fn depth_score(engagement_events: u64, active_user_days: u64) -> f64 {
    if active_user_days == 0 {
        return 0.0;
    }
    let x = engagement_events as f64 / active_user_days as f64;
    (x.ln_1p() / FULL_DEPTH_EVENTS_PER_USER_DAY.ln_1p()).min(1.0)
}

/// Recency in 0..=1: 1 if the last engagement event was on the day scored, falling linearly to 0
/// at [`RECENCY_DAYS`] days before it; 0 if there was none.
pub fn recency_score(days_since_last_engagement: Option<u32>) -> f64 {
    match days_since_last_engagement {
        None => 0.0,
        Some(d) => (1.0 - f64::from(d) / f64::from(RECENCY_DAYS)).max(0.0),
    }
}

/// Adoption score 0–100 over the 30 days ending on the day scored:
/// `40 × stickiness + 30 × breadth + 20 × depth + 10 × recency`, rounded to the nearest integer
/// (halves away from zero). A window with MAU 0 scores 0.
///
/// Stickiness uses the mean DAU over the window's days on or after the customer's first event, so
/// a customer that started 5 days ago is not penalised for the 25 days before it existed.
pub fn adoption_score(inputs: &AdoptionInputs) -> i32 {
    if inputs.mau == 0 {
        return 0;
    }
    let score = 40.0 * stickiness_score(inputs.mean_dau, inputs.mau)
        + 30.0 * breadth_score(inputs.distinct_features)
        + 20.0 * depth_score(inputs.engagement_events, inputs.active_user_days)
        + 10.0 * recency_score(inputs.days_since_last_engagement);
    // In 0..=100 by construction.
    score.round().clamp(0.0, 100.0) as i32
}

/// Days after the last event for which daily rows are still computed (longer than every
/// window: MAU 30 days, the risk detectors' 90).
pub const SILENT_TAIL_DAYS: i64 = 90;

/// One [`DailyMetrics`] per UTC day in `[from, to]` (inclusive) on or after the customer's first
/// event (the earliest event on or before `to` in `events`) and at most [`SILENT_TAIL_DAYS`]
/// after the last one; other days are skipped. Empty if there is no event on or before `to`,
/// or if `from > to`.
///
/// The tail bounds what a silent customer costs: every window has emptied long before its
/// end, so the rows after it would all be zeros, and readers take a missing day as zero. A
/// history back-filled from years ago would otherwise store a row a day up to today.
///
/// `events` may be in any order and must include the customer's events from [`LOOKBACK_DAYS`]
/// days before `from` through `to` (events after `to` are ignored). See the module docs for the
/// definition of every field.
pub fn daily_metrics(events: &[UsageEvent], from: NaiveDate, to: NaiveDate) -> Vec<DailyMetrics> {
    if from > to {
        return Vec::new();
    }
    let to_day = date_number(to);
    let days_up_to = || {
        events
            .iter()
            .map(|e| day_number(e.ts_millis))
            .filter(|&d| d <= to_day)
    };
    let (Some(first_day), Some(last_day)) = (days_up_to().min(), days_up_to().max()) else {
        return Vec::new();
    };
    let to_day = to_day.min(last_day + SILENT_TAIL_DAYS);
    let start_day = date_number(from).max(first_day);
    if start_day > to_day {
        return Vec::new();
    }
    // The earliest day any window of `start_day` reaches back to.
    let base_day = start_day - (MAU_DAYS as i64 - 1);
    let n_days =
        usize::try_from(to_day - base_day + 1).expect("to >= start, so the range is positive");
    let first_out = MAU_DAYS - 1; // index of `start_day`

    // Counting sort of the events that fall in [base_day, to_day] by day.
    let mut day_of_event: Vec<usize> = Vec::with_capacity(events.len());
    let mut day_offsets = vec![0usize; n_days + 1];
    for e in events {
        let d = day_number(e.ts_millis);
        if d < base_day || d > to_day {
            day_of_event.push(usize::MAX);
        } else {
            let i = (d - base_day) as usize;
            day_of_event.push(i);
            day_offsets[i + 1] += 1;
        }
    }
    for i in 0..n_days {
        day_offsets[i + 1] += day_offsets[i];
    }
    let mut order = vec![0usize; day_offsets[n_days]];
    let mut next = day_offsets.clone();
    for (k, &i) in day_of_event.iter().enumerate() {
        if i != usize::MAX {
            order[next[i]] = k;
            next[i] += 1;
        }
    }
    drop(day_of_event);
    drop(next);

    let mut users = Interner::default();
    let mut features = Interner::default();
    let mut day_users: PerDay<u32> = PerDay::with_days(n_days);
    let mut day_features: PerDay<(u32, u64)> = PerDay::with_days(n_days);
    let mut day_pairs: PerDay<u64> = PerDay::with_days(n_days);
    let mut wau = DistinctWindow::default();
    let mut mau = DistinctWindow::default();
    let mut feature_window = FeatureWindow::default();
    // Prefix sums over days: DAU, active users, engagement events.
    let mut dau_prefix: Vec<u64> = Vec::with_capacity(n_days + 1);
    let mut active_prefix: Vec<u64> = Vec::with_capacity(n_days + 1);
    let mut engagement_prefix: Vec<u64> = Vec::with_capacity(n_days + 1);
    dau_prefix.push(0);
    active_prefix.push(0);
    engagement_prefix.push(0);
    let mut last_engagement: Option<usize> = None;

    let mut scratch_users: Vec<u32> = Vec::new();
    let mut scratch_engaged: Vec<u32> = Vec::new();
    let mut scratch_features: Vec<u32> = Vec::new();
    let mut scratch_pairs: Vec<u64> = Vec::new();
    let mut out = Vec::with_capacity(n_days - first_out);

    for i in 0..n_days {
        scratch_users.clear();
        scratch_engaged.clear();
        scratch_features.clear();
        scratch_pairs.clear();
        let mut c = DayCounts::default();
        for &k in &order[day_offsets[i]..day_offsets[i + 1]] {
            let e = &events[k];
            let kind = EventKind::of(&e.event_type);
            c.events += 1;
            let user = non_blank(e.user_id.as_deref()).map(|u| users.id(u));
            if let Some(u) = user {
                scratch_users.push(u);
                if kind.is_engagement() {
                    scratch_engaged.push(u);
                }
            }
            if kind.is_engagement() {
                c.engagement_events += 1;
            }
            match kind {
                EventKind::Login => c.logins += 1,
                EventKind::ApiCall => c.api_calls += api_call_units(e.count) as u64,
                EventKind::SessionEnd => {
                    if let Some(ms) = session_millis(e.duration_seconds) {
                        c.sessions += 1;
                        c.session_millis += ms;
                    }
                }
                EventKind::SupportTicket => {
                    c.tickets += 1;
                    if is_high_priority(e.priority.as_deref()) {
                        c.high_priority_tickets += 1;
                    }
                }
                EventKind::FeatureUsed => {
                    if let Some(f) = non_blank(e.feature.as_deref()) {
                        let f = features.id(f);
                        scratch_features.push(f);
                        if let Some(u) = user {
                            scratch_pairs.push(pair_key(f, u));
                        }
                    }
                }
                EventKind::NpsResponse | EventKind::Custom => {}
            }
        }

        scratch_users.sort_unstable();
        scratch_users.dedup();
        scratch_engaged.sort_unstable();
        scratch_engaged.dedup();
        scratch_pairs.sort_unstable();
        scratch_pairs.dedup();
        scratch_features.sort_unstable();
        day_users.push_day(&scratch_users);
        day_pairs.push_day(&scratch_pairs);
        day_features.push_day_with(|items| {
            for run in scratch_features.chunk_by(|a, b| a == b) {
                items.push((run[0], run.len() as u64));
            }
        });

        // Slide the windows: day i enters, day i-7 / i-30 leaves.
        wau.grow(users.len());
        mau.grow(users.len());
        wau.add(day_users.day(i));
        mau.add(day_users.day(i));
        if i >= WAU_DAYS {
            wau.remove(day_users.day(i - WAU_DAYS));
        }
        feature_window.add(day_features.day(i), day_pairs.day(i));
        if i >= MAU_DAYS {
            let old = i - MAU_DAYS;
            mau.remove(day_users.day(old));
            feature_window.remove(day_features.day(old), day_pairs.day(old));
        }

        let dau = scratch_users.len() as u64;
        let active = scratch_engaged.len() as u64;
        dau_prefix.push(dau_prefix[i] + dau);
        active_prefix.push(active_prefix[i] + active);
        engagement_prefix.push(engagement_prefix[i] + c.engagement_events);
        if c.engagement_events > 0 {
            last_engagement = Some(i);
        }

        if i < first_out {
            continue;
        }
        let day = base_day + i as i64;
        let sum = |prefix: &[u64], days: usize, ending: usize| {
            prefix[ending + 1] - prefix[ending + 1 - days]
        };
        let recent_dau = sum(&dau_prefix, TREND_DAYS, i);
        let earlier_dau = sum(&dau_prefix, TREND_DAYS, i - TREND_DAYS);
        let observed_days = (day - first_day + 1).clamp(1, MAU_DAYS as i64);
        let adoption = AdoptionInputs {
            mean_dau: sum(&dau_prefix, MAU_DAYS, i) as f64 / observed_days as f64,
            mau: u32::try_from(mau.distinct).unwrap_or(u32::MAX),
            distinct_features: u32::try_from(feature_window.live).unwrap_or(u32::MAX),
            engagement_events: sum(&engagement_prefix, MAU_DAYS, i),
            active_user_days: sum(&active_prefix, MAU_DAYS, i),
            days_since_last_engagement: last_engagement
                .map(|l| u32::try_from(i - l).unwrap_or(u32::MAX)),
        };
        out.push(DailyMetrics {
            date: date_of_number(day),
            dau: sat_i32(dau),
            wau: sat_i32(wau.distinct as u64),
            mau: sat_i32(mau.distinct as u64),
            active_users: sat_i32(active),
            login_count: sat_i32(c.logins),
            api_calls: sat_i32(c.api_calls),
            session_duration_avg: mean_session_minutes(c.session_millis, c.sessions),
            feature_adoption: feature_window.snapshot(&features),
            usage_trend: classify_trend(recent_dau, earlier_dau),
            adoption_score: adoption_score(&adoption),
            events: sat_i32(c.events),
            support_tickets: sat_i32(c.tickets),
            high_priority_tickets: sat_i32(c.high_priority_tickets),
        });
    }
    out
}

/// Day number (days since 0001-12-31, as `NaiveDate::num_days_from_ce`) of a timestamp.
fn day_number(ts_millis: i64) -> i64 {
    ts_millis.div_euclid(MILLIS_PER_DAY) + UNIX_EPOCH_DAY_CE
}

fn date_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// Only called for days inside `[from, to]`, which are valid dates.
fn date_of_number(day: i64) -> NaiveDate {
    i32::try_from(day)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .expect("a day between from and to is a valid date")
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

fn sat_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn pair_key(feature: u32, user: u32) -> u64 {
    (u64::from(feature) << 32) | u64::from(user)
}

fn pair_feature(key: u64) -> usize {
    (key >> 32) as usize
}

#[derive(Default)]
struct DayCounts {
    events: u64,
    engagement_events: u64,
    logins: u64,
    api_calls: u64,
    sessions: u64,
    session_millis: u64,
    tickets: u64,
    high_priority_tickets: u64,
}

/// Strings to dense `u32` ids. Uses the standard (keyed) hasher: ids and feature names come from
/// customer telemetry, so they must not be able to force hash collisions.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u32>,
    names: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.ids.insert(s, id);
        self.names.push(s);
        id
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// Items grouped by day index, stored contiguously (CSR layout).
struct PerDay<T> {
    offsets: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy> PerDay<T> {
    fn with_days(days: usize) -> Self {
        let mut offsets = Vec::with_capacity(days + 1);
        offsets.push(0);
        PerDay {
            offsets,
            items: Vec::new(),
        }
    }

    fn push_day(&mut self, day: &[T]) {
        self.items.extend_from_slice(day);
        self.offsets.push(self.items.len());
    }

    fn push_day_with(&mut self, fill: impl FnOnce(&mut Vec<T>)) {
        fill(&mut self.items);
        self.offsets.push(self.items.len());
    }

    fn day(&self, i: usize) -> &[T] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Distinct users over a sliding window of days: per user, the number of window days they appear
/// on (at most 30, so a `u8`).
#[derive(Default)]
struct DistinctWindow {
    days_present: Vec<u8>,
    distinct: usize,
}

impl DistinctWindow {
    fn grow(&mut self, users: usize) {
        if self.days_present.len() < users {
            self.days_present.resize(users, 0);
        }
    }

    /// `ids` is one day's deduplicated user set.
    fn add(&mut self, ids: &[u32]) {
        for &u in ids {
            let c = &mut self.days_present[u as usize];
            if *c == 0 {
                self.distinct += 1;
            }
            *c += 1;
        }
    }

    fn remove(&mut self, ids: &[u32]) {
        for &u in ids {
            let c = &mut self.days_present[u as usize];
            *c -= 1;
            if *c == 0 {
                self.distinct -= 1;
            }
        }
    }
}

/// Feature use over the sliding 30-day window.
#[derive(Default)]
struct FeatureWindow {
    /// Per feature id: events in the window.
    events: Vec<u64>,
    /// Per feature id: distinct users in the window.
    users: Vec<u32>,
    /// Features with at least one event in the window.
    live: usize,
    /// (feature, user) → window days on which that user used that feature.
    pair_days: HashMap<u64, u8, BuildHasherDefault<IdPairHasher>>,
}

impl FeatureWindow {
    fn add(&mut self, features: &[(u32, u64)], pairs: &[u64]) {
        for &(f, n) in features {
            let f = f as usize;
            if self.events.len() <= f {
                self.events.resize(f + 1, 0);
                self.users.resize(f + 1, 0);
            }
            if self.events[f] == 0 {
                self.live += 1;
            }
            self.events[f] += n;
        }
        for &p in pairs {
            let c = self.pair_days.entry(p).or_insert(0);
            if *c == 0 {
                self.users[pair_feature(p)] += 1;
            }
            *c += 1;
        }
    }

    fn remove(&mut self, features: &[(u32, u64)], pairs: &[u64]) {
        for &(f, n) in features {
            let f = f as usize;
            self.events[f] -= n;
            if self.events[f] == 0 {
                self.live -= 1;
            }
        }
        for &p in pairs {
            if let Some(c) = self.pair_days.get_mut(&p) {
                *c -= 1;
                if *c == 0 {
                    self.pair_days.remove(&p);
                    self.users[pair_feature(p)] -= 1;
                }
            }
        }
    }

    fn snapshot(&self, names: &Interner<'_>) -> BTreeMap<String, FeatureUse> {
        self.events
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(f, &n)| {
                (
                    names.names[f].to_owned(),
                    FeatureUse {
                        users: sat_i32(u64::from(self.users[f])),
                        events: sat_i32(n),
                    },
                )
            })
            .collect()
    }
}

/// A fast hasher for `u64` keys made of two ids this module assigned itself (0, 1, 2, …), which
/// outsiders cannot choose, so a keyed hash is unnecessary.
#[derive(Default)]
struct IdPairHasher(u64);

impl Hasher for IdPairHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let h = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_days_stop_after_the_tail() {
        let e = |day: &str| UsageEvent {
            ts_millis: NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis(),
            user_id: Some("u".into()),
            event_type: "login".into(),
            feature: None,
            duration_seconds: None,
            count: None,
            priority: None,
            nps_score: None,
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let rows = daily_metrics(&[e("2022-01-10")], d("2022-01-01"), d("2026-12-01"));
        assert_eq!(rows.len() as i64, SILENT_TAIL_DAYS + 1);
        assert_eq!(rows.last().unwrap().date, d("2022-04-10"));
        assert_eq!(rows.last().unwrap().mau, 0);
        // Asked only for days past the tail: nothing to store.
        assert!(daily_metrics(&[e("2022-01-10")], d("2023-01-01"), d("2026-12-01")).is_empty());
    }

    const SEC: i64 = 1000;
    const HOUR: i64 = 3600 * SEC;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap() + chrono::Duration::days(n)
    }

    /// Milliseconds at `offset_ms` after the start of `date` (UTC).
    fn at(date: NaiveDate, offset_ms: i64) -> i64 {
        date.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
            + offset_ms
    }

    fn ev(date: NaiveDate, user: Option<&str>, event_type: &str) -> UsageEvent {
        UsageEvent {
            ts_millis: at(date, 12 * HOUR),
            user_id: user.map(str::to_owned),
            event_type: event_type.to_owned(),
            ..UsageEvent::default()
        }
    }

    fn feature(date: NaiveDate, user: Option<&str>, name: &str) -> UsageEvent {
        UsageEvent {
            feature: Some(name.to_owned()),
            ..ev(date, user, "feature_used")
        }
    }

    fn api(date: NaiveDate, user: Option<&str>, count: Option<i64>) -> UsageEvent {
        UsageEvent {
            count,
            ..ev(date, user, "api_call")
        }
    }

    fn session(date: NaiveDate, user: Option<&str>, secs: Option<f64>) -> UsageEvent {
        UsageEvent {
            duration_seconds: secs,
            ..ev(date, user, "session_end")
        }
    }

    fn ticket(date: NaiveDate, user: Option<&str>, priority: Option<&str>) -> UsageEvent {
        UsageEvent {
            priority: priority.map(str::to_owned),
            ..ev(date, user, "support_ticket")
        }
    }

    fn one_day(events: &[UsageEvent], d: NaiveDate) -> DailyMetrics {
        let rows = daily_metrics(events, d, d);
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.into_iter().next().unwrap()
    }

    #[test]
    fn day_numbers_match_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(date_number(epoch), UNIX_EPOCH_DAY_CE);
        assert_eq!(event_date(0), Some(epoch));
        assert_eq!(event_date(-1), NaiveDate::from_ymd_opt(1969, 12, 31));
        assert_eq!(event_date(MILLIS_PER_DAY - 1), Some(epoch));
        assert_eq!(
            event_date(MILLIS_PER_DAY),
            NaiveDate::from_ymd_opt(1970, 1, 2)
        );
        assert_eq!(event_date(at(day(3), 5 * HOUR)), Some(day(3)));
        assert_eq!(event_date(i64::MAX), None);
    }

    #[test]
    fn event_kinds() {
        assert_eq!(EventKind::of("login"), EventKind::Login);
        assert_eq!(EventKind::of(" API_Call "), EventKind::ApiCall);
        assert_eq!(EventKind::of("nps_response"), EventKind::NpsResponse);
        assert_eq!(EventKind::of("exported_report"), EventKind::Custom);
        assert!(EventKind::of("exported_report").is_engagement());
        assert!(EventKind::of("session_end").is_engagement());
        assert!(!EventKind::of("support_ticket").is_engagement());
        assert!(!EventKind::of("nps_response").is_engagement());
    }

    #[test]
    fn single_day_all_metrics() {
        let d = day(0);
        let events = vec![
            ev(d, Some("u1"), "login"),
            api(d, Some("u1"), Some(5)),
            api(d, Some("u2"), None),
            ticket(d, Some("u3"), Some("High")),
            feature(d, None, "reports"),
            session(d, Some("u2"), Some(600.0)),
            session(d, Some("u1"), Some(1500.0)),
            UsageEvent {
                nps_score: Some(9),
                ..ev(d, Some("u4"), "nps_response")
            },
        ];
        let m = one_day(&events, d);
        assert_eq!(m.date, d);
        assert_eq!(m.events, 8);
        // Users with any event: u1, u2, u3, u4.
        assert_eq!((m.dau, m.wau, m.mau), (4, 4, 4));
        // u3 only filed a ticket and u4 only answered NPS: feedback, not usage.
        assert_eq!(m.active_users, 2);
        assert_eq!(m.login_count, 1);
        assert_eq!(m.api_calls, 6); // 5 + default 1
                                    // (600 + 1500) / 2 = 1050 s = 17.5 min, rounded half up.
        assert_eq!(m.session_duration_avg, Some(18));
        assert_eq!(m.support_tickets, 1);
        assert_eq!(m.high_priority_tickets, 1);
        let reports = FeatureUse {
            users: 0,
            events: 1,
        };
        assert_eq!(
            m.feature_adoption,
            BTreeMap::from([("reports".to_owned(), reports)])
        );
        // First day of the customer: earlier trend window is all zeros, recent is not.
        assert_eq!(m.usage_trend, Trend::Growing);
        // stickiness: mean DAU 4 over the 1 observed day / MAU 4 = 1 ≥ 0.5 → 40
        // breadth: 1/8 → 3.75
        // depth: 6 engagement events (login, 2 api, feature, 2 sessions) / 2 active user-days = 3
        //        → ln 4 / ln 21 = 0.45534 → 9.107
        // recency: engaged today → 10
        // total 62.857 → 63
        assert_eq!(m.adoption_score, 63);
    }

    #[test]
    fn api_call_counts_are_clamped() {
        assert_eq!(api_call_units(None), 1);
        assert_eq!(api_call_units(Some(7)), 7);
        assert_eq!(api_call_units(Some(-5)), 0);
        assert_eq!(api_call_units(Some(i64::MAX)), 1_000_000);
        let d = day(0);
        let events = vec![
            api(d, Some("a"), Some(-5)),
            api(d, Some("a"), Some(2_000_000)),
            api(d, Some("a"), Some(7)),
            api(d, None, None),
        ];
        assert_eq!(one_day(&events, d).api_calls, 1_000_008);
    }

    #[test]
    fn api_calls_saturate_at_i32_max() {
        let d = day(0);
        let events: Vec<_> = (0..3000)
            .map(|_| api(d, Some("a"), Some(1_000_000)))
            .collect();
        assert_eq!(one_day(&events, d).api_calls, i32::MAX);
    }

    #[test]
    fn session_average_rounding_and_bad_values() {
        let d = day(0);
        assert_eq!(
            one_day(&[ev(d, Some("a"), "login")], d).session_duration_avg,
            None
        );
        // Only unusable durations: no average.
        let bad = [
            session(d, Some("a"), None),
            session(d, Some("a"), Some(-30.0)),
            session(d, Some("a"), Some(f64::NAN)),
            session(d, Some("a"), Some(f64::INFINITY)),
        ];
        assert_eq!(one_day(&bad, d).session_duration_avg, None);
        // 89 s = 1.48 min → 1; 90 s = 1.5 min → 2.
        assert_eq!(
            one_day(&[session(d, Some("a"), Some(89.0))], d).session_duration_avg,
            Some(1)
        );
        assert_eq!(
            one_day(&[session(d, Some("a"), Some(90.0))], d).session_duration_avg,
            Some(2)
        );
        // Unusable durations are left out of the mean: (60 + 180) / 2 = 120 s = 2 min.
        let mixed = [
            session(d, Some("a"), Some(60.0)),
            session(d, Some("a"), None),
            session(d, Some("b"), Some(180.0)),
            session(d, Some("b"), Some(-1.0)),
        ];
        assert_eq!(one_day(&mixed, d).session_duration_avg, Some(2));
        // Clamped to 7 days = 10080 min.
        assert_eq!(
            one_day(&[session(d, Some("a"), Some(1e12))], d).session_duration_avg,
            Some(10_080)
        );
    }

    #[test]
    fn blank_user_ids_are_not_users() {
        let d = day(0);
        let events = [
            ev(d, Some(""), "login"),
            ev(d, Some("  "), "login"),
            ev(d, None, "login"),
            ev(d, Some("x"), "login"),
        ];
        let m = one_day(&events, d);
        assert_eq!((m.events, m.login_count), (4, 4));
        assert_eq!((m.dau, m.active_users, m.mau), (1, 1, 1));
    }

    #[test]
    fn high_priority_tickets() {
        assert!(is_high_priority(Some("urgent")));
        assert!(is_high_priority(Some(" CRITICAL")));
        assert!(is_high_priority(Some("high")));
        assert!(!is_high_priority(Some("medium")));
        assert!(!is_high_priority(Some("highest")));
        assert!(!is_high_priority(None));
        let d = day(0);
        let events = [
            ticket(d, Some("a"), Some("urgent")),
            ticket(d, Some("a"), Some("low")),
            ticket(d, None, None),
            ticket(d, Some("b"), Some("critical")),
            // Priority on something that is not a ticket does not count.
            UsageEvent {
                priority: Some("high".into()),
                ..ev(d, Some("a"), "login")
            },
        ];
        let m = one_day(&events, d);
        // Four tickets (urgent, low, none, critical); two of them high priority.
        assert_eq!((m.support_tickets, m.high_priority_tickets), (4, 2));
    }

    #[test]
    fn wau_and_mau_window_edges() {
        // One user, one event on day 0; rows for days 0..=35.
        let rows = daily_metrics(&[ev(day(0), Some("w"), "login")], day(0), day(35));
        assert_eq!(rows.len(), 36);
        for (k, r) in rows.iter().enumerate() {
            assert_eq!(r.date, day(k as i64));
            assert_eq!(r.dau, i32::from(k == 0), "dau day {k}");
            // Day 0 is inside the 7 days ending on day 6, outside those ending on day 7.
            assert_eq!(r.wau, i32::from(k <= 6), "wau day {k}");
            // Inside the 30 days ending on day 29, outside those ending on day 30.
            assert_eq!(r.mau, i32::from(k <= 29), "mau day {k}");
            assert_eq!(r.events, i32::from(k == 0));
        }
    }

    #[test]
    fn distinct_users_across_the_window() {
        // a on days 0, 1, 2; b on day 3; c on day 20.
        let events = [
            ev(day(0), Some("a"), "login"),
            ev(day(1), Some("a"), "login"),
            ev(day(2), Some("a"), "login"),
            ev(day(3), Some("b"), "login"),
            ev(day(20), Some("c"), "login"),
        ];
        let rows = daily_metrics(&events, day(0), day(40));
        let at_day = |n: usize| &rows[n];
        assert_eq!((at_day(3).wau, at_day(3).mau), (2, 2));
        assert_eq!((at_day(9).wau, at_day(9).mau), (1, 2)); // a's last day (2) left the week
        assert_eq!((at_day(10).wau, at_day(10).mau), (0, 2));
        assert_eq!((at_day(20).wau, at_day(20).mau), (1, 3));
        assert_eq!(at_day(32).mau, 2); // a gone (last seen day 2), b and c remain
        assert_eq!(at_day(33).mau, 1); // b gone
        assert_eq!(at_day(40).mau, 1); // c (day 20) still inside 11..=40
    }

    #[test]
    fn events_after_to_are_ignored() {
        let d = day(0);
        let events = [
            ev(d, Some("a"), "login"),
            UsageEvent {
                ts_millis: at(day(1), 0),
                ..ev(d, Some("b"), "login")
            },
            feature(day(2), Some("a"), "later"),
        ];
        let m = one_day(&events, d);
        assert_eq!(
            (m.dau, m.wau, m.mau, m.events, m.login_count),
            (1, 1, 1, 1, 1)
        );
        assert!(m.feature_adoption.is_empty());
        // A customer whose only events are after `to` has no rows.
        assert!(daily_metrics(&events[1..], d, d).is_empty());
    }

    #[test]
    fn empty_inputs() {
        assert!(daily_metrics(&[], day(0), day(10)).is_empty());
        assert!(daily_metrics(&[ev(day(0), Some("a"), "login")], day(5), day(4)).is_empty());
    }

    #[test]
    fn days_before_the_first_event_are_skipped() {
        let rows = daily_metrics(&[ev(day(5), Some("a"), "login")], day(0), day(9));
        let dates: Vec<_> = rows.iter().map(|r| r.date).collect();
        assert_eq!(dates, (5..=9).map(day).collect::<Vec<_>>());
        // Earlier events (the lookback) are used by the windows but produce no rows.
        let events = [
            ev(day(0), Some("a"), "login"),
            ev(day(10), Some("b"), "login"),
        ];
        let rows = daily_metrics(&events, day(10), day(10));
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].dau, rows[0].wau, rows[0].mau), (1, 1, 2));
    }

    #[test]
    fn day_boundaries_and_late_arrivals() {
        let d = day(0);
        let last_ms = UsageEvent {
            ts_millis: at(d, 24 * HOUR - 1),
            ..ev(d, Some("late"), "login")
        };
        let next_midnight = UsageEvent {
            ts_millis: at(day(1), 0),
            ..ev(d, Some("next"), "login")
        };
        // Events arrive out of order: day 1 first, then a late-arriving event for day 0.
        let events = [next_midnight, last_ms, ev(d, Some("early"), "login")];
        let rows = daily_metrics(&events, d, day(1));
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].dau, rows[0].login_count), (2, 2));
        assert_eq!((rows[1].dau, rows[1].login_count, rows[1].wau), (1, 1, 3));
        // A late event for a day already computed changes that day's row on recompute.
        let mut more = events.to_vec();
        more.push(ev(d, Some("straggler"), "login"));
        assert_eq!(one_day(&more, d).dau, 3);
    }

    #[test]
    fn feature_adoption_window() {
        let events = [
            feature(day(0), Some("a"), "x"),
            feature(day(0), Some("a"), "x"),
            feature(day(5), Some("b"), "x"),
            feature(day(29), Some("a"), "y"),
            feature(day(29), Some("a"), " "), // blank feature: ignored for adoption
            ev(day(29), Some("a"), "feature_used"), // no feature: ignored for adoption
        ];
        let rows = daily_metrics(&events, day(0), day(36));
        let fu = |users, events| FeatureUse { users, events };
        assert_eq!(
            rows[29].feature_adoption,
            BTreeMap::from([("x".into(), fu(2, 3)), ("y".into(), fu(1, 1))])
        );
        // Day 0 leaves the window on day 30.
        assert_eq!(
            rows[30].feature_adoption,
            BTreeMap::from([("x".into(), fu(1, 1)), ("y".into(), fu(1, 1))])
        );
        // Day 5 leaves on day 35.
        assert_eq!(rows[34].feature_adoption["x"], fu(1, 1));
        assert_eq!(
            rows[35].feature_adoption,
            BTreeMap::from([("y".into(), fu(1, 1))])
        );
        assert_eq!(rows[29].events, 3);
    }

    #[test]
    fn trend_rules() {
        assert_eq!(classify_trend(0, 0), Trend::Stable);
        assert_eq!(classify_trend(1, 0), Trend::Growing);
        assert_eq!(classify_trend(0, 5), Trend::Declining);
        assert_eq!(classify_trend(115, 100), Trend::Growing);
        assert_eq!(classify_trend(114, 100), Trend::Stable);
        assert_eq!(classify_trend(100, 100), Trend::Stable);
        assert_eq!(classify_trend(86, 100), Trend::Stable);
        assert_eq!(classify_trend(85, 100), Trend::Declining);
        assert_eq!(classify_trend(23, 20), Trend::Growing); // exactly 1.15
        assert_eq!(classify_trend(17, 20), Trend::Declining); // exactly 0.85
    }

    /// `per_day[k]` users (named u0, u1, …) log in on day k.
    fn logins(per_day: &[usize]) -> Vec<UsageEvent> {
        per_day
            .iter()
            .enumerate()
            .flat_map(|(k, &n)| {
                (0..n).map(move |u| ev(day(k as i64), Some(&format!("u{u}")), "login"))
            })
            .collect()
    }

    #[test]
    fn trend_over_days() {
        // Days 0..=13: 2 users a day; days 14..=27: 3 a day. Day 27: 42 vs 28 = 1.5 → growing.
        let mut per_day = vec![2; 14];
        per_day.extend([3; 14]);
        let rows = daily_metrics(&logins(&per_day), day(0), day(27));
        assert_eq!(rows[27].usage_trend, Trend::Growing);
        // Days 0..=13 look back into days before the first event (0 DAU): growing.
        assert!(rows[..14].iter().all(|r| r.usage_trend == Trend::Growing));
        // Day 14: recent 1..=14 = 13×2 + 3 = 29 vs earlier (day 0 only) 2 → growing.
        assert_eq!(rows[14].usage_trend, Trend::Growing);
        // Flat usage over 28 days with a full earlier window: stable.
        let rows = daily_metrics(&logins(&[2; 40]), day(0), day(39));
        assert_eq!(rows[27].usage_trend, Trend::Stable);
        assert_eq!(rows[39].usage_trend, Trend::Stable);
        // Days 0..=13: 4 a day; days 14..=27: 3 a day → 42 / 56 = 0.75 → declining.
        let mut per_day = vec![4; 14];
        per_day.extend([3; 14]);
        let rows = daily_metrics(&logins(&per_day), day(0), day(27));
        assert_eq!(rows[27].usage_trend, Trend::Declining);
        // One event on day 0 and nothing after. Day 27: recent 14..=27 = 0 vs earlier 0..=13 = 1
        // → declining; day 28: both windows empty → stable.
        let rows = daily_metrics(&logins(&[1]), day(0), day(28));
        assert_eq!(rows[27].usage_trend, Trend::Declining);
        assert_eq!(rows[28].usage_trend, Trend::Stable);
    }

    #[test]
    fn adoption_score_pieces() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(stickiness_score(2.5, 10), 0.5));
        assert!(close(stickiness_score(5.0, 10), 1.0));
        assert!(close(stickiness_score(8.0, 10), 1.0));
        assert!(close(stickiness_score(0.0, 10), 0.0));
        assert!(close(stickiness_score(3.0, 0), 0.0));
        assert!(close(breadth_score(0), 0.0));
        assert!(close(breadth_score(4), 0.5));
        assert!(close(breadth_score(8), 1.0));
        assert!(close(breadth_score(12), 1.0));
        assert!(close(depth_score(0, 5), 0.0));
        assert!(close(depth_score(5, 0), 0.0));
        assert!(close(depth_score(20, 1), 1.0));
        assert!(close(depth_score(100, 1), 1.0));
        // x = 3 → ln 4 / ln 21.
        assert!(close(depth_score(30, 10), 4f64.ln() / 21f64.ln()));
        assert!(close(recency_score(Some(0)), 1.0));
        assert!(close(recency_score(Some(7)), 0.5));
        assert!(close(recency_score(Some(14)), 0.0));
        assert!(close(recency_score(Some(20)), 0.0));
        assert!(close(recency_score(None), 0.0));

        let full = AdoptionInputs {
            mean_dau: 5.0,
            mau: 10,
            distinct_features: 8,
            engagement_events: 200,
            active_user_days: 10,
            days_since_last_engagement: Some(0),
        };
        assert_eq!(adoption_score(&full), 100);
        assert_eq!(adoption_score(&AdoptionInputs { mau: 0, ..full }), 0);
        // 40×0.5 + 30×0.5 + 20×1 + 10×0.5 = 60.
        let half = AdoptionInputs {
            mean_dau: 2.5,
            distinct_features: 4,
            days_since_last_engagement: Some(7),
            ..full
        };
        assert_eq!(adoption_score(&half), 60);
        // 40×0.1 + 0 + 0 + 0 = 4 (mean DAU 0.5 of MAU 10 = 0.05 → 0.1).
        let low = AdoptionInputs {
            mean_dau: 0.5,
            mau: 10,
            distinct_features: 0,
            engagement_events: 0,
            active_user_days: 0,
            days_since_last_engagement: None,
        };
        assert_eq!(adoption_score(&low), 4);
    }

    #[test]
    fn adoption_score_over_a_window() {
        // 4 users for 30 days (days 0..=29); every day users u0 and u1 use feature "f{day % 3}"
        // once each and u2, u3 log in on even days only.
        let mut events = Vec::new();
        for k in 0..30 {
            let d = day(k);
            for u in ["u0", "u1"] {
                events.push(feature(d, Some(u), &format!("f{}", k % 3)));
            }
            if k % 2 == 0 {
                events.push(ev(d, Some("u2"), "login"));
                events.push(ev(d, Some("u3"), "login"));
            }
        }
        let rows = daily_metrics(&events, day(29), day(29));
        let m = &rows[0];
        assert_eq!(m.mau, 4);
        // DAU: 4 on 15 even days, 2 on 15 odd days → mean 3 → 3/4 = 0.75 ≥ 0.5 → 40.
        // Breadth: 3 features / 8 → 11.25.
        // Depth: 60 + 30 = 90 events over 90 active user-days → x = 1 → ln2/ln21 = 0.22767 → 4.553.
        // Recency: day 29 has feature events → 10.
        // Total 65.80 → 66.
        assert_eq!(m.adoption_score, 66);
        // Ten days after everything stops (window 10..=39): DAU sum over days 10..=29 =
        // 10 even days × 4 + 10 odd days × 2 = 60, over 30 observed days = 2 → 2/4 = 0.5 → 40;
        // breadth: still f0, f1, f2 → 11.25.
        let rows = daily_metrics(&events, day(39), day(39));
        let m = &rows[0];
        // Depth: feature events 2×20 = 40 + logins 10 even days × 2 = 20 → 60 events; active
        // user-days: u0, u1 on 20 days + u2, u3 on 10 days = 60 → x = 1 → 4.553. Recency: 10 days → (1 − 10/14) × 10
        // = 2.857. Total 40 + 11.25 + 4.553 + 2.857 = 58.66 → 59.
        assert_eq!(m.mau, 4);
        assert_eq!(m.adoption_score, 59);
    }

    #[test]
    fn adoption_of_a_new_customer_uses_only_observed_days() {
        // 2 users every day for 5 days: mean DAU 2 over 5 observed days, MAU 2 → stickiness 1.
        let events = logins(&[2, 2, 2, 2, 2]);
        let m = &daily_metrics(&events, day(4), day(4))[0];
        // 40 + 0 (no features) + depth x = 10/10 = 1 → 4.553 + recency 10 → 54.55 → 55.
        assert_eq!(m.adoption_score, 55);
    }

    #[test]
    fn output_does_not_depend_on_input_order() {
        let mut events = Vec::new();
        for k in 0..45 {
            let d = day(k);
            events.push(ev(d, Some(&format!("u{}", k % 7)), "login"));
            events.push(feature(
                d,
                Some(&format!("u{}", k % 5)),
                &format!("f{}", k % 4),
            ));
            events.push(api(d, None, Some(k)));
            events.push(session(d, Some("u1"), Some(k as f64 * 37.3)));
            if k % 6 == 0 {
                events.push(ticket(d, Some("u2"), Some("high")));
            }
        }
        let a = daily_metrics(&events, day(10), day(44));
        assert_eq!(a.len(), 35);
        let mut reversed = events.clone();
        reversed.reverse();
        let mut rotated = events.clone();
        rotated.rotate_left(17);
        assert_eq!(a, daily_metrics(&reversed, day(10), day(44)));
        assert_eq!(a, daily_metrics(&rotated, day(10), day(44)));
        assert_eq!(a, daily_metrics(&events, day(10), day(44)));
        // Computing one day at a time gives the same rows as a range.
        for r in &a {
            assert_eq!(&one_day(&events, r.date), r);
        }
    }

    /// Throughput check, not run by default:
    /// `cargo test -p cscx-domain --release -- --ignored usage_throughput --nocapture`.
    /// 1,000 customers × 1,000 events over a year (a tenth of the 10-million-event rebuild).
    #[test]
    #[ignore]
    fn usage_throughput() {
        let mut seed: u64 = 42;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let types = [
            "login",
            "api_call",
            "feature_used",
            "session_end",
            "support_ticket",
        ];
        let customers: Vec<Vec<UsageEvent>> = (0..1000)
            .map(|_| {
                (0..1000)
                    .map(|_| UsageEvent {
                        ts_millis: at(day(0), 0) + (next(365 * 24) as i64) * HOUR,
                        user_id: Some(format!("user-{}", next(60))),
                        event_type: types[next(5) as usize].to_owned(),
                        feature: Some(format!("feature-{}", next(12))),
                        duration_seconds: Some(next(3600) as f64),
                        count: Some(next(50) as i64),
                        priority: Some("high".into()),
                        nps_score: None,
                    })
                    .collect()
            })
            .collect();
        let started = std::time::Instant::now();
        let rows: usize = customers
            .iter()
            .map(|events| daily_metrics(events, day(0), day(364)).len())
            .sum();
        let elapsed = started.elapsed();
        println!("1,000,000 events, {rows} rows in {elapsed:?}");
        assert!(rows > 300_000);
    }

    #[test]
    fn trend_strings() {
        for &t in Trend::ALL {
            assert_eq!(t.as_str().parse::<Trend>(), Ok(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.as_str().into())
            );
        }
        assert!("up".parse::<Trend>().is_err());
    }
}
