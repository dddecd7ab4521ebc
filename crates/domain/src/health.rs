//! The explainable customer health score (0–100).
//!
//! A [`HealthModel`] names up to five components (`activity`, `usage`, `engagement`, `risk`,
//! `business`), each a weighted mean of named measures scored 0–100. [`compute`] turns the raw facts of one
//! customer ([`HealthInputs`]) into a [`HealthResult`] that says, per component, which numbers
//! decided the score.
//!
//! Missing data is never replaced by a made-up neutral value:
//! - a measure without data is left out and its weight is shared among the other measures of
//!   its component;
//! - a component with no measure left is *missing*: it is left out, listed in
//!   [`HealthResult::missing`], and its weight is shared proportionally among the present
//!   components (see [`ComponentResult::effective_weight`]);
//! - if every component is missing there is no score at all.
//!
//! Silence is data, though: a customer that used the product before but has no monthly active
//! users now scores 0 on usage.
//!
//! Components (and measures) with weight 0 are switched off: they are not computed, not shown
//! and never listed as missing.
//!
//! Windows follow the customer's own rhythm: `activity` reads the whole history through the
//! portfolio's recency–frequency model ([`crate::rhythm`]), and the engagement measures
//! `recency` and `consistency` stretch their windows for customers who are usually active
//! less than weekly, so forty quiet days cost a monthly reporter little and a daily user all.
//!
//! Severe evidence caps the score ([`EvidenceCaps`]): however good the usage, an account with
//! a critical signal open is red, and the cap is one of the reasons shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rhythm::RhythmFit;
use crate::validate::Stage;

pub const ACTIVITY: &str = "activity";
pub const USAGE: &str = "usage";
pub const ENGAGEMENT: &str = "engagement";
pub const RISK: &str = "risk";
pub const BUSINESS: &str = "business";

/// Every component key with the measures it knows, in display order.
pub const COMPONENTS: [(&str, &[&str]); 5] = [
    (ACTIVITY, &["probability_active", "intensity_trend"]),
    (USAGE, &["stickiness", "active_user_trend", "adoption"]),
    (
        ENGAGEMENT,
        &["recency", "consistency", "coverage", "sentiment"],
    ),
    (RISK, &["open_signals", "support_load"]),
    (BUSINESS, &["renewal", "contract", "stage"]),
];

/// The measures a component knows, or `None` for an unknown component key.
pub fn known_measures(component: &str) -> Option<&'static [&'static str]> {
    COMPONENTS
        .iter()
        .find(|(key, _)| *key == component)
        .map(|(_, measures)| *measures)
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// A configurable model (stored as JSON; admins edit weights and thresholds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthModel {
    pub name: String,
    /// `None` = the default for all segments.
    pub segment: Option<String>,
    pub bands: Bands,
    pub components: Vec<ComponentConfig>,
    /// The caps severe evidence puts on the score (on unless switched off).
    #[serde(default)]
    pub caps: EvidenceCaps,
    /// Rhythm parameters pinned by a calibration; without them the portfolio's own fit of the
    /// day is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhythm: Option<RhythmFit>,
}

/// When evidence caps a score, whatever its components say (each rule on by default):
/// - `critical_signal`: an open critical risk signal → red (at most `red_below` − 1);
/// - `high_signals`: two or more open high signals → red; one → not green (at most
///   `green_from` − 1);
/// - `champion_near_renewal`: the primary contact's sentiment is negative and the renewal is
///   due within 90 days (or overdue) → red;
/// - `churned`: the lifecycle stage is churned → red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceCaps {
    pub critical_signal: bool,
    pub high_signals: bool,
    pub champion_near_renewal: bool,
    pub churned: bool,
}

impl Default for EvidenceCaps {
    fn default() -> Self {
        EvidenceCaps {
            critical_signal: true,
            high_signals: true,
            champion_near_renewal: true,
            churned: true,
        }
    }
}

/// Grade bands: red < `red_below` ≤ yellow < `green_from` ≤ green.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    pub red_below: i32,
    pub green_from: i32,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            red_below: 50,
            green_from: 75,
        }
    }
}

/// One component of a model: its weight among the components, and the weight of each measure
/// inside it. Weights need not add up to 1; they are normalised over what is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// `activity`, `usage`, `engagement`, `risk` or `business`.
    pub key: String,
    pub weight: f64,
    /// Measure name → weight inside the component.
    pub measures: BTreeMap<String, f64>,
}

impl ComponentConfig {
    fn new(key: &str, weight: f64, measures: &[(&str, f64)]) -> Self {
        ComponentConfig {
            key: key.to_owned(),
            weight,
            measures: measures
                .iter()
                .map(|(name, w)| ((*name).to_owned(), *w))
                .collect(),
        }
    }
}

impl HealthModel {
    /// The model used when an admin has not configured one.
    pub fn default_model() -> Self {
        HealthModel {
            name: "default".to_owned(),
            segment: None,
            bands: Bands::default(),
            caps: EvidenceCaps::default(),
            rhythm: None,
            components: vec![
                ComponentConfig::new(
                    USAGE,
                    0.20,
                    &[
                        ("stickiness", 0.4),
                        ("active_user_trend", 0.3),
                        ("adoption", 0.3),
                    ],
                ),
                ComponentConfig::new(
                    ENGAGEMENT,
                    0.15,
                    &[
                        ("recency", 0.35),
                        ("consistency", 0.35),
                        ("coverage", 0.15),
                        ("sentiment", 0.15),
                    ],
                ),
                ComponentConfig::new(RISK, 0.15, &[("open_signals", 0.7), ("support_load", 0.3)]),
                ComponentConfig::new(
                    BUSINESS,
                    0.10,
                    &[("renewal", 0.3), ("contract", 0.3), ("stage", 0.4)],
                ),
                ComponentConfig::new(
                    ACTIVITY,
                    0.40,
                    &[("probability_active", 0.8), ("intensity_trend", 0.2)],
                ),
            ],
        }
    }

    /// Checks the model an admin saved. Errors are `(field path, message)`, e.g.
    /// `("components[1].measures.foo", "unknown measure …")`.
    pub fn validate(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut add = |path: String, message: String| errors.push((path, message));

        if self.name.trim().is_empty() {
            add("name".into(), "must not be blank".into());
        }
        if let Some(segment) = &self.segment {
            if segment.trim().is_empty() {
                add(
                    "segment".into(),
                    "must not be blank; leave it out for the default model".into(),
                );
            }
        }

        let bands = self.bands;
        let in_range = |v: i32| (0..=100).contains(&v);
        if !in_range(bands.red_below) {
            add("bands.red_below".into(), "must be between 0 and 100".into());
        }
        if !in_range(bands.green_from) {
            add(
                "bands.green_from".into(),
                "must be between 0 and 100".into(),
            );
        }
        if bands.red_below > bands.green_from {
            add(
                "bands".into(),
                "red_below must not be above green_from".into(),
            );
        }

        if self.components.is_empty() {
            add("components".into(), "needs at least one component".into());
        } else if !self.components.iter().any(|c| c.weight > 0.0) {
            add(
                "components".into(),
                "at least one component needs a weight above 0".into(),
            );
        }

        let mut seen: Vec<&str> = Vec::new();
        for (i, component) in self.components.iter().enumerate() {
            let path = format!("components[{i}]");
            if !(component.weight.is_finite() && component.weight >= 0.0) {
                add(format!("{path}.weight"), "must be a number ≥ 0".into());
            }
            let Some(known) = known_measures(&component.key) else {
                add(
                    format!("{path}.key"),
                    format!(
                        "unknown component {:?}; expected one of activity, usage, engagement, risk, business",
                        component.key
                    ),
                );
                continue;
            };
            if seen.contains(&component.key.as_str()) {
                add(
                    format!("{path}.key"),
                    format!("component {} appears more than once", component.key),
                );
            }
            seen.push(&component.key);

            for (measure, weight) in &component.measures {
                if !known.contains(&measure.as_str()) {
                    add(
                        format!("{path}.measures.{measure}"),
                        format!(
                            "unknown measure for {}; expected one of {}",
                            component.key,
                            known.join(", ")
                        ),
                    );
                }
                if !(weight.is_finite() && *weight >= 0.0) {
                    add(
                        format!("{path}.measures.{measure}"),
                        "weight must be a number ≥ 0".into(),
                    );
                }
            }
            let has_live_measure = component
                .measures
                .iter()
                .any(|(m, w)| known.contains(&m.as_str()) && *w > 0.0);
            if component.weight > 0.0 && !has_live_measure {
                add(
                    format!("{path}.measures"),
                    "needs at least one known measure with a weight above 0".into(),
                );
            }
        }

        if self.rhythm.is_some_and(|r| !r.is_valid()) {
            add(
                "rhythm".into(),
                "r, alpha, a and b must be positive numbers".into(),
            );
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Grades
// ---------------------------------------------------------------------------------------------

crate::words! {
    /// The band a score falls in, by its model's [`Bands`].
    pub enum Grade as "grade" {
        Red = "red",
        Yellow = "yellow",
        Green = "green",
    }
}

/// red < `red_below` ≤ yellow < `green_from` ≤ green.
pub fn grade(bands: &Bands, score: i32) -> Grade {
    if score < bands.red_below {
        Grade::Red
    } else if score >= bands.green_from {
        Grade::Green
    } else {
        Grade::Yellow
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs and results
// ---------------------------------------------------------------------------------------------

/// Raw facts for one customer as of a date. `None` means "no data", never zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthInputs {
    // usage
    pub dau_avg_30d: Option<f64>,
    pub mau: Option<f64>,
    pub mau_30d_ago: Option<f64>,
    /// 0–100.
    pub adoption_score: Option<f64>,
    pub had_usage_ever: bool,
    // activity: the whole history
    /// Days with activity up to the date.
    pub active_days: Option<u32>,
    /// Days from the first activity to the date.
    pub tenure_days: Option<i64>,
    /// The customer's usual gap between active days; `None` with one active day.
    pub usual_gap_days: Option<f64>,
    /// From the portfolio's rhythm model: still active, and active in the next 90 days.
    pub probability_active: Option<f64>,
    pub probability_active_90d: Option<f64>,
    /// Active days per 30 days in the recent window, and over the history before it.
    pub recent_rate: Option<f64>,
    pub earlier_rate: Option<f64>,
    /// The length of the recent window: three usual gaps, at least 30 days.
    pub recent_window_days: Option<i64>,
    // engagement
    pub days_since_activity: Option<i64>,
    /// Active periods among the last 8 (weeks, or the period below).
    pub active_weeks_of_last_8: Option<i32>,
    /// The period `active_weeks_of_last_8` counts: 7 days, longer for slower rhythms.
    pub consistency_period_days: Option<i64>,
    pub stakeholders: i32,
    pub has_primary: bool,
    pub has_executive: bool,
    pub positive_stakeholders: i32,
    pub negative_stakeholders: i32,
    /// The primary contact's sentiment is negative.
    pub primary_negative: bool,
    // risk
    /// Severities of the open risk signals: low|medium|high|critical.
    pub open_signals: Vec<String>,
    pub tickets_30d: Option<i32>,
    pub high_priority_tickets_30d: Option<i32>,
    pub mau_for_tickets: Option<f64>,
    // business
    pub days_to_renewal: Option<i64>,
    /// active|expired|none|…
    pub contract_status: Option<String>,
    /// `None` when not known as of the date.
    pub stage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentResult {
    pub key: String,
    /// 0–100.
    pub score: i32,
    /// The weight configured in the model.
    pub weight: f64,
    /// The weight actually used: `weight` divided by the sum of the weights of the present
    /// components. The effective weights of a result add up to 1.
    pub effective_weight: f64,
    /// The measures that counted (had data and a weight above 0).
    pub measures: BTreeMap<String, MeasureResult>,
    /// One short sentence naming the decisive numbers.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeasureResult {
    /// The raw input, e.g. 0.23 stickiness, 12 days since activity, 3 open signals. For the
    /// word-valued measures (`contract`, `stage`) it is the score of the word.
    pub value: f64,
    /// 0–100.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResult {
    /// `None` when every component is missing.
    pub score: Option<i32>,
    pub grade: Option<Grade>,
    /// The name of the model used.
    pub model: String,
    pub components: Vec<ComponentResult>,
    /// Component keys left out for lack of data.
    pub missing: Vec<String>,
    /// e.g. "engagement left out (no data); its weight was shared among the others".
    pub note: Option<String>,
    /// Filled by the caller with [`describe_changes`]; [`compute`] leaves it empty.
    #[serde(default)]
    pub changes: Vec<String>,
    /// Set when severe evidence capped the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
    /// When the change `changes` describes happened: a later result that moved nothing worth a
    /// sentence keeps the last real explanation ([`keep_last_change`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Fills `current.changes` from what changed since `previous` (scored at `previous_at`); when
/// nothing moved enough to say, the previous explanation stays, with its own date, so "what
/// changed" and "why did health drop" survive recomputes that keep the score.
pub fn keep_last_change(
    previous: &HealthResult,
    previous_at: chrono::DateTime<chrono::Utc>,
    current: &mut HealthResult,
    now: chrono::DateTime<chrono::Utc>,
) {
    current.changes = describe_changes(previous, current);
    if !current.changes.is_empty() {
        current.changes_at = Some(now);
    } else if !previous.changes.is_empty() {
        current.changes = previous.changes.clone();
        current.changes_at = previous.changes_at.or(Some(previous_at));
    }
}

/// A cap severe evidence put on the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cap {
    /// What the components made of it.
    pub uncapped: i32,
    /// The most the evidence allows.
    pub limit: i32,
    /// e.g. "1 critical risk signal open".
    pub reasons: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Measure scores
// ---------------------------------------------------------------------------------------------

/// Piecewise-linear interpolation through `points` (sorted by x), flat beyond both ends.
fn piecewise(x: f64, points: &[(f64, f64)]) -> f64 {
    let (first, last) = (points[0], points[points.len() - 1]);
    if x <= first.0 {
        return first.1;
    }
    if x >= last.0 {
        return last.1;
    }
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    last.1
}

/// Daily / monthly active users: full marks at ≥ 0.4, linear from 0.
fn stickiness_score(ratio: f64) -> f64 {
    piecewise(ratio, &[(0.0, 0.0), (0.4, 100.0)])
}

/// Monthly active users now / 30 days ago: ≤ 0.5 → 0, 1.0 → 60, ≥ 1.3 → 100.
fn trend_score(ratio: f64) -> f64 {
    piecewise(ratio, &[(0.5, 0.0), (1.0, 60.0), (1.3, 100.0)])
}

/// ≤ 2 days → 100, linear to 0 at 30 days, for customers active at least weekly; for slower
/// rhythms both points stretch by the usual gap in weeks (a monthly user: ≤ 9 → 100, 0 at 129).
fn recency_score(days: i64, usual_gap_days: Option<f64>) -> f64 {
    let stretch = rhythm_stretch(usual_gap_days);
    piecewise(
        days as f64,
        &[(2.0 * stretch, 100.0), (30.0 * stretch, 0.0)],
    )
}

/// How many weeks the customer's usual gap spans, at least 1.
pub fn rhythm_stretch(usual_gap_days: Option<f64>) -> f64 {
    usual_gap_days
        .filter(|g| g.is_finite())
        .map_or(1.0, |g| (g / 7.0).max(1.0))
}

/// The probability of activity in the next 90 days, as a score: 100 × √p. The root keeps the
/// order and spreads the low probabilities where churn decisions are made: red (< 50) is below
/// a one-in-four chance, green (≥ 75) from about 56 %.
fn outlook_score(p: f64) -> f64 {
    100.0 * p.clamp(0.0, 1.0).sqrt()
}

fn consistency_score(active_weeks: i32) -> f64 {
    f64::from(active_weeks.clamp(0, 8)) / 8.0 * 100.0
}

fn coverage_score(stakeholders: i32, has_primary: bool, has_executive: bool) -> f64 {
    let mut score = 0.0;
    if has_primary {
        score += 40.0;
    }
    if has_executive {
        score += 30.0;
    }
    score + 30.0 * (f64::from(stakeholders.max(0)) / 3.0).min(1.0)
}

fn sentiment_score(positive: i32, negative: i32) -> f64 {
    let (p, n) = (f64::from(positive.max(0)), f64::from(negative.max(0)));
    100.0 * p / (p + n)
}

/// Points one open risk signal costs, by severity.
fn signal_penalty(severity: &str) -> f64 {
    match severity {
        "critical" => 45.0,
        "high" => 25.0,
        "low" => 4.0,
        // "medium", and anything unrated: an open signal is never free.
        _ => 10.0,
    }
}

fn open_signals_score(severities: &[String]) -> f64 {
    let penalty: f64 = severities
        .iter()
        .map(|s| signal_penalty(&normalise(s)))
        .sum();
    (100.0 - penalty).max(0.0)
}

/// Tickets per active user: 0 → 100, linear to 0 at 0.5; each high-priority ticket costs 10.
fn support_score(tickets_per_user: f64, high_priority: i32) -> f64 {
    let base = piecewise(tickets_per_user, &[(0.0, 100.0), (0.5, 0.0)]);
    (base - 10.0 * f64::from(high_priority.max(0))).max(0.0)
}

fn renewal_score(days_to_renewal: i64) -> f64 {
    match days_to_renewal {
        d if d < 0 => 30.0,
        d if d < 30 => 60.0,
        d if d <= 90 => 80.0,
        _ => 100.0,
    }
}

fn contract_score(status: &str) -> f64 {
    match status {
        "active" => 100.0,
        "expired" | "terminated" => 20.0,
        _ => 50.0,
    }
}

/// `None` when the stage says nothing about health (prospect) or is not a known stage.
fn stage_score(stage: &str) -> Option<f64> {
    match parse_stage(stage)? {
        Stage::Active => Some(100.0),
        Stage::Onboarding => Some(75.0),
        Stage::AtRisk => Some(25.0),
        Stage::Churned => Some(0.0),
        Stage::Prospect => None,
    }
}

fn parse_stage(stage: &str) -> Option<Stage> {
    normalise(stage).replace([' ', '-'], "_").parse().ok()
}

fn normalise(word: &str) -> String {
    word.trim().to_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Wording helpers
// ---------------------------------------------------------------------------------------------

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn percent(fraction: f64) -> i64 {
    (fraction * 100.0).round() as i64
}

fn up_down(delta: f64) -> &'static str {
    if delta < 0.0 {
        "down"
    } else {
        "up"
    }
}

/// "up 12%", "down 40%" or "unchanged" for a now/then ratio.
fn trend_words(ratio: f64) -> String {
    let change = percent(ratio - 1.0);
    match change {
        0 => "unchanged".to_owned(),
        c if c < 0 => format!("down {}%", -c),
        c => format!("up {c}%"),
    }
}

/// "3 days", "5 weeks", "4 months": the unit that reads naturally for a span of days.
fn span_words(days: f64) -> String {
    let days = days.max(0.0);
    if days < 14.0 {
        plural(days.round() as i64, "day", "days")
    } else if days < 91.0 {
        plural((days / 7.0).round() as i64, "week", "weeks")
    } else {
        plural((days / 30.4).round() as i64, "month", "months")
    }
}

fn days_ago(days: i64) -> String {
    match days {
        d if d <= 0 => "today".to_owned(),
        d => format!("{} ago", plural(d, "day", "days")),
    }
}

fn renewal_words(days: i64) -> String {
    match days {
        0 => "due today".to_owned(),
        d if d < 0 => format!("{} overdue", plural(-d, "day", "days")),
        d => format!("in {}", plural(d, "day", "days")),
    }
}

fn contract_words(status: &str) -> String {
    match status {
        "" | "none" => "no contract".to_owned(),
        s => format!("contract {s}"),
    }
}

/// The word behind a contract measure value (the value is the score of the word).
fn contract_word_of(value: f64) -> &'static str {
    match value.round() as i64 {
        100 => "active",
        20 => "expired",
        _ => "neither active nor expired",
    }
}

/// The stage behind a stage measure value (the value is the score of the stage).
fn stage_word_of(value: f64) -> &'static str {
    match value.round() as i64 {
        100 => "active",
        75 => "onboarding",
        25 => "at risk",
        _ => "churned",
    }
}

fn human_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------------------------

/// A measure that has data, with the phrase that explains it.
struct Candidate {
    name: &'static str,
    value: f64,
    score: f64,
    phrase: String,
}

impl Candidate {
    fn new(name: &'static str, value: f64, score: f64, phrase: String) -> Self {
        Candidate {
            name,
            value,
            score: score.clamp(0.0, 100.0),
            phrase,
        }
    }
}

/// What the inputs say about one component.
enum Evidence {
    /// The measures that have data (possibly none: the component is then missing).
    Measures(Vec<Candidate>),
    /// A fact that decides the whole component: it scores 0 for this reason.
    Zero(&'static str),
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

fn usage_evidence(i: &HealthInputs) -> Evidence {
    if !i.had_usage_ever {
        return Evidence::Measures(Vec::new());
    }
    let mau = finite(i.mau);
    if mau.is_some_and(|m| m <= 0.0) {
        return Evidence::Zero("no active users in the last 30 days");
    }
    let mut out = Vec::new();
    if let (Some(dau), Some(mau)) = (finite(i.dau_avg_30d), mau) {
        let ratio = dau.max(0.0) / mau;
        out.push(Candidate::new(
            "stickiness",
            ratio,
            stickiness_score(ratio),
            format!("{}% of monthly users are active daily", percent(ratio)),
        ));
    }
    if let (Some(now), Some(then)) = (mau, finite(i.mau_30d_ago)) {
        if now > 0.0 && then > 0.0 {
            let ratio = now / then;
            out.push(Candidate::new(
                "active_user_trend",
                ratio,
                trend_score(ratio),
                format!("monthly users {} on 30 days ago", trend_words(ratio)),
            ));
        }
    }
    if let Some(adoption) = finite(i.adoption_score) {
        out.push(Candidate::new(
            "adoption",
            adoption,
            adoption,
            format!("adoption {}/100", adoption.clamp(0.0, 100.0).round()),
        ));
    }
    Evidence::Measures(out)
}

/// The whole history through the portfolio's rhythm model: how likely the customer is to be
/// active in the next 90 days, and whether their recent pace is above or below their own.
fn activity_evidence(i: &HealthInputs) -> Evidence {
    let mut out = Vec::new();
    let (Some(days), Some(tenure)) = (i.active_days, i.tenure_days) else {
        return Evidence::Measures(out);
    };
    if let (Some(alive), Some(p90)) = (
        finite(i.probability_active),
        finite(i.probability_active_90d),
    ) {
        let pace = match finite(i.usual_gap_days) {
            Some(gap) => format!("usually active every {}", span_words(gap)),
            None => "one active day so far".to_owned(),
        };
        let quiet = match i.days_since_activity {
            Some(q) if q > 0 => format!("{} quiet", span_words(q as f64)),
            _ => "active today".to_owned(),
        };
        out.push(Candidate::new(
            "probability_active",
            p90,
            outlook_score(p90),
            format!(
                "{} in {}, {pace}; {quiet}; {}% likely still active, {}% likely active in the next 90 days",
                plural(i64::from(days), "active day", "active days"),
                span_words((tenure + 1) as f64),
                percent(alive),
                percent(p90)
            ),
        ));
    }
    if let (Some(recent), Some(earlier), Some(window)) = (
        finite(i.recent_rate),
        finite(i.earlier_rate),
        i.recent_window_days,
    ) {
        if earlier > 0.0 {
            let ratio = recent.max(0.0) / earlier;
            out.push(Candidate::new(
                "intensity_trend",
                ratio,
                trend_score(ratio),
                format!(
                    "pace over the last {} {} on the pace before",
                    span_words(window as f64),
                    trend_words(ratio)
                ),
            ));
        }
    }
    Evidence::Measures(out)
}

fn engagement_evidence(i: &HealthInputs) -> Evidence {
    let mut out = Vec::new();
    if i.had_usage_ever {
        if let Some(days) = i.days_since_activity {
            let usual = match finite(i.usual_gap_days) {
                Some(gap) if gap > 7.0 => format!(" (usually every {})", span_words(gap)),
                _ => String::new(),
            };
            out.push(Candidate::new(
                "recency",
                days as f64,
                recency_score(days, i.usual_gap_days),
                format!("last activity {}{usual}", days_ago(days)),
            ));
        }
        if let Some(periods) = i.active_weeks_of_last_8 {
            let periods = periods.clamp(0, 8);
            let unit = match i.consistency_period_days {
                Some(d) if d > 7 => format!("periods of {d} days"),
                _ => "weeks".to_owned(),
            };
            out.push(Candidate::new(
                "consistency",
                f64::from(periods),
                consistency_score(periods),
                format!("active in {periods} of the last 8 {unit}"),
            ));
        }
    }
    if i.stakeholders > 0 {
        let contacts = match (i.has_primary, i.has_executive) {
            (true, true) => " with primary and executive contacts",
            (true, false) => ", no executive contact",
            (false, true) => ", no primary contact",
            (false, false) => ", no primary or executive contact",
        };
        out.push(Candidate::new(
            "coverage",
            f64::from(i.stakeholders),
            coverage_score(i.stakeholders, i.has_primary, i.has_executive),
            format!(
                "{}{contacts}",
                plural(i64::from(i.stakeholders), "stakeholder", "stakeholders")
            ),
        ));
    }
    let (pos, neg) = (
        i.positive_stakeholders.max(0),
        i.negative_stakeholders.max(0),
    );
    if pos + neg > 0 {
        out.push(Candidate::new(
            "sentiment",
            f64::from(pos) / f64::from(pos + neg),
            sentiment_score(pos, neg),
            format!("{pos} positive and {neg} negative stakeholder views"),
        ));
    }
    Evidence::Measures(out)
}

fn risk_evidence(i: &HealthInputs) -> Evidence {
    let mut out = Vec::new();

    let count = i.open_signals.len();
    let phrase = if count == 0 {
        "no open risk signals".to_owned()
    } else {
        let severities: Vec<String> = i.open_signals.iter().map(|s| normalise(s)).collect();
        let mut parts = Vec::new();
        for level in ["critical", "high", "medium", "low"] {
            let n = severities.iter().filter(|s| *s == level).count();
            if n > 0 {
                parts.push(format!("{n} {level}"));
            }
        }
        let unrated = severities
            .iter()
            .filter(|s| !["critical", "high", "medium", "low"].contains(&s.as_str()))
            .count();
        if unrated > 0 {
            parts.push(format!("{unrated} unrated"));
        }
        format!(
            "{} ({})",
            plural(count as i64, "open risk signal", "open risk signals"),
            parts.join(", ")
        )
    };
    out.push(Candidate::new(
        "open_signals",
        count as f64,
        open_signals_score(&i.open_signals),
        phrase,
    ));

    if let Some(tickets) = i.tickets_30d {
        let tickets = tickets.max(0);
        let users = finite(i.mau_for_tickets).unwrap_or(1.0).max(1.0);
        let per_user = f64::from(tickets) / users;
        let high = i.high_priority_tickets_30d.unwrap_or(0).max(0);
        let mut details = Vec::new();
        if tickets > 0 && i.mau_for_tickets.is_some() {
            details.push(format!("{per_user:.2} per active user"));
        }
        if high > 0 {
            details.push(format!("{high} high priority"));
        }
        let mut phrase = format!(
            "{} in 30 days",
            plural(i64::from(tickets), "support ticket", "support tickets")
        );
        if !details.is_empty() {
            phrase.push_str(&format!(" ({})", details.join(", ")));
        }
        out.push(Candidate::new(
            "support_load",
            per_user,
            support_score(per_user, high),
            phrase,
        ));
    }
    Evidence::Measures(out)
}

fn business_evidence(i: &HealthInputs) -> Evidence {
    let mut out = Vec::new();
    if let Some(days) = i.days_to_renewal {
        out.push(Candidate::new(
            "renewal",
            days as f64,
            renewal_score(days),
            format!("renewal {}", renewal_words(days)),
        ));
    }
    if let Some(status) = &i.contract_status {
        let status = normalise(status);
        let score = contract_score(&status);
        out.push(Candidate::new(
            "contract",
            score,
            score,
            contract_words(&status),
        ));
    }
    if let Some(stage) = &i.stage {
        if let Some(score) = stage_score(stage) {
            out.push(Candidate::new(
                "stage",
                score,
                score,
                format!("stage {}", stage_word_of(score)),
            ));
        }
    }
    Evidence::Measures(out)
}

/// Scores one component, or `None` if no measure with a weight has data (it is missing).
fn score_component(config: &ComponentConfig, evidence: Evidence) -> Option<ComponentResult> {
    let result = |score: i32, measures, reason| ComponentResult {
        key: config.key.clone(),
        score,
        weight: config.weight,
        effective_weight: 0.0,
        measures,
        reason,
    };
    match evidence {
        Evidence::Zero(reason) => Some(result(0, BTreeMap::new(), reason.to_owned())),
        Evidence::Measures(candidates) => {
            let used: Vec<(Candidate, f64)> = candidates
                .into_iter()
                .filter_map(|c| {
                    let weight = config.measures.get(c.name).copied()?;
                    (weight.is_finite() && weight > 0.0).then_some((c, weight))
                })
                .collect();
            if used.is_empty() {
                return None;
            }
            let total: f64 = used.iter().map(|(_, w)| w).sum();
            let score = used.iter().map(|(c, w)| c.score * w).sum::<f64>() / total;
            let reason = used
                .iter()
                .map(|(c, _)| c.phrase.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let measures = used
                .iter()
                .map(|(c, _)| {
                    (
                        c.name.to_owned(),
                        MeasureResult {
                            value: c.value,
                            score: c.score,
                        },
                    )
                })
                .collect();
            Some(result(
                score.round().clamp(0.0, 100.0) as i32,
                measures,
                reason,
            ))
        }
    }
}

/// Scores one customer. Does not validate the model: unknown component keys and measures are
/// ignored, and a repeated component counts once. `changes` is left empty.
pub fn compute(model: &HealthModel, inputs: &HealthInputs) -> HealthResult {
    let mut components: Vec<ComponentResult> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();

    for config in &model.components {
        if !(config.weight.is_finite() && config.weight > 0.0) || seen.contains(&&*config.key) {
            continue;
        }
        let evidence = match config.key.as_str() {
            ACTIVITY => activity_evidence(inputs),
            USAGE => usage_evidence(inputs),
            ENGAGEMENT => engagement_evidence(inputs),
            RISK => risk_evidence(inputs),
            BUSINESS => business_evidence(inputs),
            _ => continue,
        };
        seen.push(&config.key);
        match score_component(config, evidence) {
            Some(component) => components.push(component),
            None => missing.push(config.key.clone()),
        }
    }

    let total_weight: f64 = components.iter().map(|c| c.weight).sum();
    for component in &mut components {
        component.effective_weight = component.weight / total_weight;
    }
    // "No open risk signals" is always known, so the risk component alone would score an
    // account nobody knows anything about as perfectly healthy. It takes at least one component
    // built from real observations (usage, engagement or business) to give a score.
    let observed = components.iter().any(|c| c.key != RISK);
    // The final score is computed from the shown (rounded) component scores so that anyone can
    // redo the sum from the result.
    let uncapped = observed.then(|| {
        let mean: f64 = components
            .iter()
            .map(|c| c.effective_weight * f64::from(c.score))
            .sum();
        mean.round().clamp(0.0, 100.0) as i32
    });
    let cap = uncapped.and_then(|s| evidence_cap(model, inputs, s));
    let score = match &cap {
        Some(cap) => Some(cap.limit),
        None => uncapped,
    };

    let note = if !components.is_empty() && !observed {
        Some(format!(
            "no score: no data for {}; open risk signals alone do not make a health score",
            human_list(&missing)
        ))
    } else if components.is_empty() && !missing.is_empty() {
        Some(format!("no score: no data for {}", human_list(&missing)))
    } else if components.is_empty() {
        Some("no score: the model has no component with a weight above 0".to_owned())
    } else if !missing.is_empty() {
        let (pronoun, verb) = if missing.len() == 1 {
            ("its", "was")
        } else {
            ("their", "were")
        };
        let others = if components.len() == 1 {
            format!("given to {}", components[0].key)
        } else {
            "shared among the others".to_owned()
        };
        let weight = if missing.len() == 1 {
            "weight"
        } else {
            "weights"
        };
        Some(format!(
            "{} left out (no data); {pronoun} {weight} {verb} {others}",
            human_list(&missing)
        ))
    } else {
        None
    };

    HealthResult {
        score,
        grade: score.map(|s| grade(&model.bands, s)),
        model: model.name.clone(),
        components,
        missing,
        note,
        changes: Vec::new(),
        cap,
        changes_at: None,
    }
}

/// The cap the evidence puts on `score` under the model's [`EvidenceCaps`], if it lowers it.
fn evidence_cap(model: &HealthModel, inputs: &HealthInputs, score: i32) -> Option<Cap> {
    let caps = model.caps;
    let red = (model.bands.red_below - 1).max(0);
    let not_green = (model.bands.green_from - 1).max(0);
    let count = |level: &str| {
        inputs
            .open_signals
            .iter()
            .filter(|s| normalise(s) == level)
            .count() as i64
    };
    let mut rules: Vec<(i32, String)> = Vec::new();
    let critical = count("critical");
    if caps.critical_signal && critical > 0 {
        rules.push((
            red,
            format!(
                "{} open",
                plural(critical, "critical risk signal", "critical risk signals")
            ),
        ));
    }
    let high = count("high");
    if caps.high_signals && high >= 2 {
        rules.push((red, format!("{high} high risk signals open")));
    } else if caps.high_signals && high == 1 {
        rules.push((not_green, "a high risk signal is open".to_owned()));
    }
    if caps.champion_near_renewal && inputs.primary_negative {
        if let Some(days) = inputs.days_to_renewal.filter(|d| *d <= 90) {
            rules.push((
                red,
                format!(
                    "the primary contact is negative and the renewal is {}",
                    renewal_words(days)
                ),
            ));
        }
    }
    if caps.churned && inputs.stage.as_deref().and_then(parse_stage) == Some(Stage::Churned) {
        rules.push((red, "the customer has churned".to_owned()));
    }
    let limit = rules.iter().map(|(l, _)| *l).min()?;
    if score <= limit {
        return None;
    }
    Some(Cap {
        uncapped: score,
        limit,
        reasons: rules
            .into_iter()
            .filter(|(l, _)| *l == limit)
            .map(|(_, r)| r)
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------

/// A component score must move at least this much to be worth a sentence.
const COMPONENT_MOVE: i32 = 5;

/// Sentences explaining what changed between two results of the same customer, headline first:
/// the overall move, then each component that moved by at least 5 points (naming the measure
/// that moved most and by how much its raw value moved), then components that went missing or
/// came back. Empty when nothing moved.
pub fn describe_changes(previous: &HealthResult, current: &HealthResult) -> Vec<String> {
    let mut details: Vec<String> = Vec::new();

    if previous.model != current.model {
        details.push(format!(
            "now scored with model {} (was {})",
            current.model, previous.model
        ));
    }

    for cur in &current.components {
        match previous.components.iter().find(|c| c.key == cur.key) {
            Some(prev) => {
                let delta = cur.score - prev.score;
                if delta.abs() >= COMPONENT_MOVE {
                    details.push(format!(
                        "{} {} from {} to {}: {}",
                        cur.key,
                        if delta < 0 { "fell" } else { "rose" },
                        prev.score,
                        cur.score,
                        explain_component_move(prev, cur, delta)
                    ));
                }
            }
            None if previous.missing.contains(&cur.key) => {
                details.push(format!(
                    "{} is now scored again ({}: {})",
                    cur.key, cur.score, cur.reason
                ));
            }
            None => {}
        }
    }
    for key in &current.missing {
        if previous.components.iter().any(|c| &c.key == key) {
            details.push(format!("{key} is now left out: no data"));
        }
    }

    let grade_words = || match (current.grade, previous.grade) {
        (Some(now), Some(was)) if now != was => format!("{now}, was {was}"),
        (Some(now), _) => now.to_string(),
        (None, _) => String::new(),
    };
    let overall = match (previous.score, current.score) {
        (Some(was), Some(now)) => {
            let grade_changed = previous.grade != current.grade;
            if was == now && (grade_changed || !details.is_empty()) {
                Some(format!("health held at {now} ({})", grade_words()))
            } else if was != now
                && (grade_changed || !details.is_empty() || (now - was).abs() >= COMPONENT_MOVE)
            {
                Some(format!(
                    "health {} from {was} to {now} ({})",
                    if now < was { "fell" } else { "rose" },
                    grade_words()
                ))
            } else {
                None
            }
        }
        (None, Some(now)) => Some(format!("health is now scored: {now} ({})", grade_words())),
        (Some(was), None) => Some(format!(
            "health can no longer be scored (was {was}): no data"
        )),
        (None, None) => None,
    };

    let cap = current
        .cap
        .as_ref()
        .filter(|c| previous.cap.as_ref() != Some(*c));
    let cap = cap.map(|c| {
        format!(
            "capped at {} (scored {}): {}",
            c.limit,
            c.uncapped,
            human_list(&c.reasons)
        )
    });
    overall.into_iter().chain(cap).chain(details).collect()
}

/// Names the measure that moved most in the direction of the component, with its raw change.
fn explain_component_move(prev: &ComponentResult, cur: &ComponentResult, delta: i32) -> String {
    let direction = f64::from(delta.signum());
    let mut best: Option<(&str, &MeasureResult, &MeasureResult, f64)> = None;
    for (name, now) in &cur.measures {
        let Some(was) = prev.measures.get(name) else {
            continue;
        };
        let moved = now.score - was.score;
        if moved.abs() < 0.5 || moved.signum() != direction {
            continue;
        }
        if best.is_none_or(|(_, _, _, m)| moved.abs() > m.abs()) {
            best = Some((name, was, now, moved));
        }
    }
    match best {
        Some((name, was, now, _)) => measure_change(name, was, now),
        // The move comes from measures that appeared or went (or from the whole component
        // going silent): the current reason says what the score rests on now.
        None => cur.reason.clone(),
    }
}

/// "monthly active users down 40% on 30 days ago (was up 5%)" and the like.
fn measure_change(name: &str, was: &MeasureResult, now: &MeasureResult) -> String {
    let raw_moved = (now.value - was.value).abs() > 1e-9;
    let score_moved = now.score - was.score;
    let generic = || {
        format!(
            "{} score {} from {} to {}",
            name.replace('_', " "),
            up_down(score_moved),
            was.score.round(),
            now.score.round()
        )
    };
    if !raw_moved && !matches!(name, "coverage" | "open_signals" | "support_load") {
        return generic();
    }
    match name {
        "stickiness" => {
            let points = percent(now.value) - percent(was.value);
            format!(
                "share of monthly users active daily {} {} points to {}%",
                up_down(points as f64),
                points.abs(),
                percent(now.value)
            )
        }
        "active_user_trend" => format!(
            "monthly active users {} on 30 days ago (was {})",
            trend_words(now.value),
            trend_words(was.value)
        ),
        "adoption" => {
            let points = now.value.round() - was.value.round();
            format!(
                "adoption {} {} points to {}/100",
                up_down(points),
                points.abs(),
                now.value.round()
            )
        }
        "recency" => format!(
            "last activity now {} (was {})",
            days_ago(now.value as i64),
            days_ago(was.value as i64)
        ),
        "consistency" => format!(
            "active in {} of the last 8 weeks (was {})",
            now.value, was.value
        ),
        "coverage" => {
            let points = (now.score - was.score).round();
            let mut s = format!(
                "stakeholder coverage {} {} points",
                up_down(points),
                points.abs()
            );
            if raw_moved {
                s.push_str(&format!(
                    " ({}, was {})",
                    plural(now.value as i64, "stakeholder", "stakeholders"),
                    was.value
                ));
            }
            s
        }
        "sentiment" => {
            let points = percent(now.value) - percent(was.value);
            format!(
                "positive stakeholder views {} {} points to {}%",
                up_down(points as f64),
                points.abs(),
                percent(now.value)
            )
        }
        "open_signals" if raw_moved => format!(
            "open risk signals {} from {} to {}",
            up_down(now.value - was.value),
            was.value,
            now.value
        ),
        "open_signals" => format!(
            "open risk signals now {} severe (score {} to {})",
            if score_moved < 0.0 { "more" } else { "less" },
            was.score.round(),
            now.score.round()
        ),
        "support_load" if raw_moved => {
            let mut s = format!(
                "support tickets per active user {} from {:.2} to {:.2}",
                up_down(now.value - was.value),
                was.value,
                now.value
            );
            if was.value > 0.0 {
                let change = percent(now.value / was.value - 1.0);
                s.push_str(&format!(
                    " ({}{change}%)",
                    if change > 0 { "+" } else { "" }
                ));
            }
            s
        }
        "support_load" => format!(
            "{} high-priority support tickets (score {} to {})",
            if score_moved < 0.0 { "more" } else { "fewer" },
            was.score.round(),
            now.score.round()
        ),
        "renewal" => format!(
            "renewal now {} (was {})",
            renewal_words(now.value as i64),
            renewal_words(was.value as i64)
        ),
        "contract" => format!(
            "contract now {} (was {})",
            contract_word_of(now.value),
            contract_word_of(was.value)
        ),
        "stage" => format!(
            "stage now {} (was {})",
            stage_word_of(now.value),
            stage_word_of(was.value)
        ),
        _ => generic(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn component<'a>(r: &'a HealthResult, key: &str) -> &'a ComponentResult {
        r.components
            .iter()
            .find(|c| c.key == key)
            .unwrap_or_else(|| panic!("{key} not scored: {r:#?}"))
    }

    /// A customer with data for every measure.
    fn full_inputs() -> HealthInputs {
        HealthInputs {
            dau_avg_30d: Some(23.0),
            mau: Some(100.0),
            mau_30d_ago: Some(89.0),
            adoption_score: Some(64.0),
            had_usage_ever: true,
            days_since_activity: Some(1),
            active_weeks_of_last_8: Some(6),
            stakeholders: 3,
            has_primary: true,
            has_executive: false,
            positive_stakeholders: 2,
            negative_stakeholders: 1,
            open_signals: vec!["medium".into(), "medium".into()],
            tickets_30d: Some(4),
            high_priority_tickets_30d: Some(0),
            mau_for_tickets: Some(100.0),
            days_to_renewal: Some(120),
            contract_status: Some("active".into()),
            stage: Some("active".into()),
            active_days: Some(40),
            tenure_days: Some(89),
            usual_gap_days: Some(2.2),
            probability_active: Some(0.98),
            probability_active_90d: Some(0.95),
            recent_rate: Some(12.0),
            earlier_rate: Some(13.0),
            recent_window_days: Some(30),
            consistency_period_days: Some(7),
            primary_negative: false,
        }
    }

    /// A model with just one component holding just one measure.
    fn single(key: &str, measure: &str) -> HealthModel {
        HealthModel {
            name: format!("{key}.{measure}"),
            segment: None,
            bands: Bands::default(),
            components: vec![ComponentConfig::new(key, 1.0, &[(measure, 1.0)])],
            caps: EvidenceCaps::default(),
            rhythm: None,
        }
    }

    /// The score of one measure alone, through `compute`.
    fn measure_score(key: &str, measure: &str, inputs: &HealthInputs) -> Option<f64> {
        let r = compute(&single(key, measure), inputs);
        r.components
            .first()
            .and_then(|c| c.measures.get(measure))
            .map(|m| (m.score * 1e6).round() / 1e6)
    }

    // --- model -------------------------------------------------------------------------------

    #[test]
    fn default_model_validates_and_has_documented_weights() {
        let m = HealthModel::default_model();
        assert_eq!(m.validate(), Ok(()));
        let weights: f64 = m.components.iter().map(|c| c.weight).sum();
        assert!(close(weights, 1.0));
        for c in &m.components {
            assert!(close(c.measures.values().sum::<f64>(), 1.0), "{}", c.key);
            assert_eq!(
                c.measures.len(),
                known_measures(&c.key).unwrap().len(),
                "{}",
                c.key
            );
        }
        assert_eq!(
            m.bands,
            Bands {
                red_below: 50,
                green_from: 75
            }
        );
    }

    #[test]
    fn validate_reports_each_problem_with_its_path() {
        let mut m = HealthModel::default_model();
        m.name = "  ".into();
        m.bands = Bands {
            red_below: 80,
            green_from: 70,
        };
        m.components[0].weight = -1.0;
        m.components[1].measures.insert("vibes".into(), 0.2);
        m.components[2].measures.insert("support_load".into(), -0.3);
        m.components[3].key = "finance".into();
        m.components
            .push(ComponentConfig::new(RISK, 0.1, &[("open_signals", 1.0)]));
        let errors = m.validate().unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        for expected in [
            "name",
            "bands",
            "components[0].weight",
            "components[1].measures.vibes",
            "components[2].measures.support_load",
            "components[3].key",
            "components[5].key",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {errors:?}");
        }
        assert!(!paths.contains(&"bands.red_below"));
        assert!(!paths.contains(&"bands.green_from"));

        let mut m = HealthModel::default_model();
        m.bands.green_from = 101;
        m.bands.red_below = -1;
        let errors = m.validate().unwrap_err();
        assert_eq!(
            errors,
            vec![
                (
                    "bands.red_below".to_owned(),
                    "must be between 0 and 100".to_owned()
                ),
                (
                    "bands.green_from".to_owned(),
                    "must be between 0 and 100".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn validate_needs_a_positive_weight_and_live_measures() {
        let mut m = HealthModel::default_model();
        for c in &mut m.components {
            c.weight = 0.0;
        }
        assert_eq!(
            m.validate().unwrap_err(),
            vec![(
                "components".to_owned(),
                "at least one component needs a weight above 0".to_owned()
            )]
        );

        let mut m = HealthModel::default_model();
        for w in m.components[0].measures.values_mut() {
            *w = 0.0;
        }
        let errors = m.validate().unwrap_err();
        assert_eq!(errors[0].0, "components[0].measures");

        let mut m = HealthModel::default_model();
        m.components.clear();
        assert!(m.validate().is_err());

        // Equal bands are allowed: there is simply no yellow.
        let mut m = HealthModel::default_model();
        m.bands = Bands {
            red_below: 60,
            green_from: 60,
        };
        assert_eq!(m.validate(), Ok(()));
    }

    #[test]
    fn model_json_round_trips_and_rejects_unknown_fields() {
        let m = HealthModel::default_model();
        let json = serde_json::to_string(&m).unwrap();
        let back: HealthModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);

        let mut value = serde_json::to_value(&m).unwrap();
        value["weights"] = serde_json::json!({});
        assert!(serde_json::from_value::<HealthModel>(value).is_err());

        let mut value = serde_json::to_value(&m).unwrap();
        value["bands"]["amber_from"] = serde_json::json!(60);
        assert!(serde_json::from_value::<HealthModel>(value).is_err());

        let mut value = serde_json::to_value(&m).unwrap();
        value["components"][0]["wieght"] = serde_json::json!(0.3);
        assert!(serde_json::from_value::<HealthModel>(value).is_err());

        // segment may be left out.
        let json = r#"{"name":"smb","bands":{"red_below":40,"green_from":70},
            "components":[{"key":"risk","weight":1,"measures":{"open_signals":1}}]}"#;
        let m: HealthModel = serde_json::from_str(json).unwrap();
        assert_eq!(m.segment, None);
        assert_eq!(m.validate(), Ok(()));
    }

    // --- grades ------------------------------------------------------------------------------

    #[test]
    fn grades_at_band_edges() {
        let b = Bands::default();
        assert_eq!(grade(&b, 0), Grade::Red);
        assert_eq!(grade(&b, 49), Grade::Red);
        assert_eq!(grade(&b, 50), Grade::Yellow);
        assert_eq!(grade(&b, 74), Grade::Yellow);
        assert_eq!(grade(&b, 75), Grade::Green);
        assert_eq!(grade(&b, 100), Grade::Green);

        let no_yellow = Bands {
            red_below: 60,
            green_from: 60,
        };
        assert_eq!(grade(&no_yellow, 59), Grade::Red);
        assert_eq!(grade(&no_yellow, 60), Grade::Green);

        assert_eq!(Grade::Yellow.as_str(), "yellow");
        assert_eq!(serde_json::to_string(&Grade::Green).unwrap(), "\"green\"");
    }

    #[test]
    fn result_grade_follows_the_model_bands() {
        // Usage from the adoption score only: 90.
        let mut m = single(USAGE, "adoption");
        let inputs = HealthInputs {
            had_usage_ever: true,
            mau: Some(5.0),
            adoption_score: Some(90.0),
            ..Default::default()
        };
        m.bands = Bands {
            red_below: 50,
            green_from: 90,
        };
        assert_eq!(compute(&m, &inputs).grade, Some(Grade::Green));
        m.bands.green_from = 91;
        assert_eq!(compute(&m, &inputs).grade, Some(Grade::Yellow));
        m.bands.red_below = 91;
        assert_eq!(compute(&m, &inputs).grade, Some(Grade::Red));
    }

    #[test]
    fn open_signals_alone_do_not_make_a_score() {
        let inputs = HealthInputs {
            open_signals: vec!["medium".into()],
            ..Default::default()
        };
        let r = compute(&HealthModel::default_model(), &inputs);
        assert_eq!((r.score, r.grade), (None, None));
        assert!(r.note.unwrap().contains("risk signals alone"));
        // With one observed component the risk component counts again.
        let inputs = HealthInputs {
            contract_status: Some("active".into()),
            ..inputs
        };
        assert!(compute(&HealthModel::default_model(), &inputs)
            .score
            .is_some());
    }

    // --- measures ----------------------------------------------------------------------------

    #[test]
    fn stickiness_thresholds() {
        assert!(close(stickiness_score(0.0), 0.0));
        assert!(close(stickiness_score(0.1), 25.0));
        assert!(close(stickiness_score(0.2), 50.0));
        assert!(close(stickiness_score(0.4), 100.0));
        assert!(close(stickiness_score(0.9), 100.0));
        let inputs = HealthInputs {
            had_usage_ever: true,
            dau_avg_30d: Some(10.0),
            mau: Some(50.0),
            ..Default::default()
        };
        assert_eq!(measure_score(USAGE, "stickiness", &inputs), Some(50.0));
    }

    #[test]
    fn active_user_trend_thresholds() {
        assert!(close(trend_score(0.3), 0.0));
        assert!(close(trend_score(0.5), 0.0));
        assert!(close(trend_score(0.75), 30.0));
        assert!(close(trend_score(1.0), 60.0));
        assert!(close(trend_score(1.15), 80.0));
        assert!(close(trend_score(1.3), 100.0));
        assert!(close(trend_score(2.0), 100.0));
        let mut inputs = HealthInputs {
            had_usage_ever: true,
            mau: Some(150.0),
            mau_30d_ago: Some(200.0),
            ..Default::default()
        };
        assert_eq!(
            measure_score(USAGE, "active_user_trend", &inputs),
            Some(30.0)
        );
        // Needs both months above 0.
        inputs.mau_30d_ago = Some(0.0);
        assert_eq!(measure_score(USAGE, "active_user_trend", &inputs), None);
    }

    #[test]
    fn adoption_is_taken_as_is_and_clamped() {
        let mut inputs = HealthInputs {
            had_usage_ever: true,
            adoption_score: Some(64.0),
            ..Default::default()
        };
        assert_eq!(measure_score(USAGE, "adoption", &inputs), Some(64.0));
        inputs.adoption_score = Some(140.0);
        assert_eq!(measure_score(USAGE, "adoption", &inputs), Some(100.0));
    }

    #[test]
    fn recency_thresholds_and_need_for_usage() {
        assert!(close(recency_score(0, None), 100.0));
        assert!(close(recency_score(2, None), 100.0));
        assert!(close(recency_score(16, None), 50.0));
        assert!(close(recency_score(30, None), 0.0));
        assert!(close(recency_score(90, None), 0.0));
        let mut inputs = HealthInputs {
            had_usage_ever: true,
            days_since_activity: Some(9),
            ..Default::default()
        };
        assert_eq!(measure_score(ENGAGEMENT, "recency", &inputs), Some(75.0));
        inputs.had_usage_ever = false;
        assert_eq!(measure_score(ENGAGEMENT, "recency", &inputs), None);
    }

    #[test]
    fn recency_and_consistency_follow_the_customers_rhythm() {
        // Forty quiet days: nothing much for a monthly user, everything for a weekly one.
        assert!(close(recency_score(40, Some(7.0)), 0.0));
        let monthly = recency_score(40, Some(30.0));
        assert!(monthly > 70.0 && monthly < 75.0, "{monthly}");
        assert!(close(recency_score(40, None), 0.0));
        let inputs = HealthInputs {
            had_usage_ever: true,
            days_since_activity: Some(40),
            usual_gap_days: Some(30.0),
            active_weeks_of_last_8: Some(5),
            consistency_period_days: Some(30),
            ..Default::default()
        };
        let r = compute(&single_component(ENGAGEMENT), &inputs);
        assert_eq!(
            component(&r, ENGAGEMENT).reason,
            "last activity 40 days ago (usually every 4 weeks); active in 5 of the last 8 periods of 30 days"
        );
    }

    #[test]
    fn activity_needs_a_history_and_reads_it_in_words() {
        let none = compute(&single_component(ACTIVITY), &HealthInputs::default());
        assert_eq!(none.missing, vec![ACTIVITY.to_owned()]);
        let inputs = HealthInputs {
            active_days: Some(6),
            tenure_days: Some(272),
            usual_gap_days: Some(35.0),
            days_since_activity: Some(77),
            probability_active: Some(0.34),
            probability_active_90d: Some(0.2),
            ..Default::default()
        };
        let r = compute(&single_component(ACTIVITY), &inputs);
        let activity = component(&r, ACTIVITY);
        // 100 × √0.2 = 44.7 → 45
        assert_eq!(activity.score, 45);
        assert_eq!(
            activity.reason,
            "6 active days in 9 months, usually active every 5 weeks; 11 weeks quiet; \
             34% likely still active, 20% likely active in the next 90 days"
        );
    }

    #[test]
    fn severe_evidence_caps_the_score_and_says_why() {
        let model = HealthModel::default_model();
        let mut inputs = full_inputs();
        assert_eq!(compute(&model, &inputs).cap, None);

        inputs.open_signals = vec!["high".into()];
        let r = compute(&model, &inputs);
        assert_eq!(r.score, Some(74), "one high signal: not green");
        assert_eq!(r.grade, Some(Grade::Yellow));
        assert_eq!(
            r.cap.as_ref().unwrap().reasons,
            vec!["a high risk signal is open"]
        );

        inputs.open_signals = vec!["high".into(), "high".into(), "low".into()];
        let r = compute(&model, &inputs);
        assert_eq!((r.score, r.grade), (Some(49), Some(Grade::Red)));

        inputs.open_signals.clear();
        inputs.primary_negative = true;
        assert_eq!(compute(&model, &inputs).cap, None, "renewal 120 days out");
        inputs.days_to_renewal = Some(45);
        let r = compute(&model, &inputs);
        assert_eq!(r.score, Some(49));
        assert_eq!(
            r.cap.unwrap().reasons,
            vec!["the primary contact is negative and the renewal is in 45 days"]
        );

        inputs.primary_negative = false;
        inputs.stage = Some("churned".into());
        let r = compute(&model, &inputs);
        assert_eq!(
            (r.score, r.cap.unwrap().reasons),
            (Some(49), vec!["the customer has churned".to_owned()])
        );
        inputs.stage = Some("active".into());

        // A cap never raises a score, and a model can switch the rules off.
        inputs.probability_active_90d = Some(0.0);
        inputs.had_usage_ever = false;
        inputs.stakeholders = 0;
        let low = compute(&model, &inputs);
        assert!(low.score.unwrap() <= 49);
        let mut off = model.clone();
        off.caps = EvidenceCaps {
            critical_signal: false,
            high_signals: false,
            champion_near_renewal: false,
            churned: false,
        };
        inputs = full_inputs();
        inputs.open_signals = vec!["critical".into()];
        assert_eq!(compute(&off, &inputs).cap, None);
        assert!(compute(&off, &inputs).score.unwrap() > 49);
    }

    #[test]
    fn consistency_thresholds() {
        assert!(close(consistency_score(0), 0.0));
        assert!(close(consistency_score(4), 50.0));
        assert!(close(consistency_score(8), 100.0));
        assert!(close(consistency_score(12), 100.0));
        let mut inputs = HealthInputs {
            had_usage_ever: true,
            active_weeks_of_last_8: Some(6),
            ..Default::default()
        };
        assert_eq!(
            measure_score(ENGAGEMENT, "consistency", &inputs),
            Some(75.0)
        );
        inputs.had_usage_ever = false;
        assert_eq!(measure_score(ENGAGEMENT, "consistency", &inputs), None);
    }

    #[test]
    fn coverage_thresholds() {
        assert!(close(coverage_score(1, false, false), 10.0));
        assert!(close(coverage_score(1, true, false), 50.0));
        assert!(close(coverage_score(2, true, true), 90.0));
        assert!(close(coverage_score(3, true, true), 100.0));
        assert!(close(coverage_score(10, true, false), 70.0));
        let mut inputs = HealthInputs {
            stakeholders: 3,
            has_executive: true,
            ..Default::default()
        };
        assert_eq!(measure_score(ENGAGEMENT, "coverage", &inputs), Some(60.0));
        inputs.stakeholders = 0;
        assert_eq!(measure_score(ENGAGEMENT, "coverage", &inputs), None);
    }

    #[test]
    fn sentiment_thresholds() {
        assert!(close(sentiment_score(3, 1), 75.0));
        assert!(close(sentiment_score(0, 2), 0.0));
        assert!(close(sentiment_score(4, 0), 100.0));
        let none = HealthInputs::default();
        assert_eq!(measure_score(ENGAGEMENT, "sentiment", &none), None);
        let some = HealthInputs {
            positive_stakeholders: 1,
            negative_stakeholders: 1,
            ..Default::default()
        };
        assert_eq!(measure_score(ENGAGEMENT, "sentiment", &some), Some(50.0));
    }

    #[test]
    fn open_signal_penalties() {
        let s =
            |v: &[&str]| open_signals_score(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(close(s(&[]), 100.0));
        assert!(close(s(&["critical"]), 55.0));
        assert!(close(s(&["high"]), 75.0));
        assert!(close(s(&["medium"]), 90.0));
        assert!(close(s(&["low"]), 96.0));
        assert!(close(s(&["High", " medium "]), 65.0));
        assert!(close(s(&["critical", "critical", "high"]), 0.0));
        // No open signals is a fact, not a lack of data.
        assert_eq!(
            measure_score(RISK, "open_signals", &HealthInputs::default()),
            Some(100.0)
        );
    }

    #[test]
    fn support_load_thresholds() {
        assert!(close(support_score(0.0, 0), 100.0));
        assert!(close(support_score(0.25, 0), 50.0));
        assert!(close(support_score(0.5, 0), 0.0));
        assert!(close(support_score(2.0, 0), 0.0));
        assert!(close(support_score(0.1, 2), 60.0));
        assert!(close(support_score(0.4, 3), 0.0));
        let mut inputs = HealthInputs {
            tickets_30d: Some(10),
            high_priority_tickets_30d: Some(1),
            mau_for_tickets: Some(100.0),
            ..Default::default()
        };
        assert_eq!(measure_score(RISK, "support_load", &inputs), Some(70.0));
        // Fewer than one active user counts as one.
        inputs.mau_for_tickets = Some(0.0);
        inputs.tickets_30d = Some(0);
        inputs.high_priority_tickets_30d = None;
        assert_eq!(measure_score(RISK, "support_load", &inputs), Some(100.0));
        inputs.tickets_30d = None;
        assert_eq!(measure_score(RISK, "support_load", &inputs), None);
    }

    #[test]
    fn renewal_thresholds() {
        assert!(close(renewal_score(365), 100.0));
        assert!(close(renewal_score(91), 100.0));
        assert!(close(renewal_score(90), 80.0));
        assert!(close(renewal_score(30), 80.0));
        assert!(close(renewal_score(29), 60.0));
        assert!(close(renewal_score(0), 60.0));
        assert!(close(renewal_score(-1), 30.0));
        assert_eq!(
            measure_score(BUSINESS, "renewal", &HealthInputs::default()),
            None
        );
    }

    #[test]
    fn contract_and_stage_scores() {
        let with = |contract: Option<&str>, stage: Option<&str>| HealthInputs {
            contract_status: contract.map(str::to_owned),
            stage: stage.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(
            measure_score(BUSINESS, "contract", &with(Some("active"), None)),
            Some(100.0)
        );
        assert_eq!(
            measure_score(BUSINESS, "contract", &with(Some("Expired"), None)),
            Some(20.0)
        );
        assert_eq!(
            measure_score(BUSINESS, "contract", &with(Some("none"), None)),
            Some(50.0)
        );
        assert_eq!(measure_score(BUSINESS, "contract", &with(None, None)), None);

        assert_eq!(
            measure_score(BUSINESS, "stage", &with(None, Some("active"))),
            Some(100.0)
        );
        assert_eq!(
            measure_score(BUSINESS, "stage", &with(None, Some("onboarding"))),
            Some(75.0)
        );
        assert_eq!(
            measure_score(BUSINESS, "stage", &with(None, Some("at_risk"))),
            Some(25.0)
        );
        assert_eq!(
            measure_score(BUSINESS, "stage", &with(None, Some("churned"))),
            Some(0.0)
        );
        // Not applicable or unknown: left out, not scored.
        assert_eq!(
            measure_score(BUSINESS, "stage", &with(None, Some("prospect"))),
            None
        );
        assert_eq!(
            measure_score(BUSINESS, "stage", &with(None, Some("martian"))),
            None
        );
        assert_eq!(measure_score(BUSINESS, "stage", &with(None, None)), None);
    }

    // --- compute -----------------------------------------------------------------------------

    #[test]
    fn full_example_is_explained_and_adds_up() {
        let r = compute(&HealthModel::default_model(), &full_inputs());
        assert!(r.missing.is_empty());
        assert_eq!(r.note, None);
        assert!(r.changes.is_empty());
        assert_eq!(r.model, "default");

        // usage: stickiness 0.23 → 57.5; trend 100/89 → 60 + 40·(0.1236/0.3) = 76.48; adoption 64
        // (0.4·57.5 + 0.3·76.48 + 0.3·64) / 1 = 65.1 → 65
        let usage = component(&r, USAGE);
        assert_eq!(usage.score, 65);
        assert_eq!(
            usage.reason,
            "23% of monthly users are active daily; monthly users up 12% on 30 days ago; adoption 64/100"
        );
        assert!(close(usage.measures["stickiness"].value, 0.23));
        assert!(close(usage.measures["stickiness"].score, 57.5));

        // engagement: recency 100, consistency 75, coverage 70, sentiment 66.67
        // 0.35·100 + 0.35·75 + 0.15·70 + 0.15·66.67 = 81.75 → 82
        let engagement = component(&r, ENGAGEMENT);
        assert_eq!(engagement.score, 82);
        assert_eq!(
            engagement.reason,
            "last activity 1 day ago; active in 6 of the last 8 weeks; \
             3 stakeholders, no executive contact; 2 positive and 1 negative stakeholder views"
        );

        // risk: open signals 80, support 0.04/user → 92: 0.7·80 + 0.3·92 = 83.6 → 84
        let risk = component(&r, RISK);
        assert_eq!(risk.score, 84);
        assert_eq!(
            risk.reason,
            "2 open risk signals (2 medium); 4 support tickets in 30 days (0.04 per active user)"
        );

        // activity: 95% likely active in 90 days → 100·√0.95 = 97.5; pace 12/13 = 0.923 → 50.8:
        // 0.8·97.5 + 0.2·50.8 = 88.1 → 88
        let activity = component(&r, ACTIVITY);
        assert_eq!(activity.score, 88);
        assert_eq!(
            activity.reason,
            "40 active days in 13 weeks, usually active every 2 days; 1 day quiet; \
             98% likely still active, 95% likely active in the next 90 days; \
             pace over the last 4 weeks down 8% on the pace before"
        );

        let business = component(&r, BUSINESS);
        assert_eq!(business.score, 100);
        assert_eq!(
            business.reason,
            "renewal in 120 days; contract active; stage active"
        );

        // 0.2·65 + 0.15·82 + 0.15·84 + 0.1·100 + 0.4·88 = 83.1 → 83
        assert_eq!(r.score, Some(83));
        assert_eq!(r.cap, None);
        assert_eq!(r.grade, Some(Grade::Green));
        let weights: f64 = r.components.iter().map(|c| c.effective_weight).sum();
        assert!(close(weights, 1.0));
    }

    #[test]
    fn missing_component_weight_is_redistributed_without_inventing_a_50() {
        let inputs = HealthInputs {
            // Usage is known, engagement has nothing at all.
            had_usage_ever: true,
            dau_avg_30d: Some(40.0),
            mau: Some(100.0),
            mau_30d_ago: Some(100.0),
            adoption_score: Some(80.0),
            days_to_renewal: Some(200),
            contract_status: Some("active".into()),
            stage: Some("active".into()),
            active_days: Some(200),
            tenure_days: Some(365),
            usual_gap_days: Some(1.8),
            probability_active: Some(0.99),
            probability_active_90d: Some(1.0),
            ..Default::default()
        };
        let r = compute(&HealthModel::default_model(), &inputs);
        assert_eq!(r.missing, vec![ENGAGEMENT.to_owned()]);
        assert!(r.components.iter().all(|c| c.key != ENGAGEMENT));
        assert_eq!(
            r.note.as_deref(),
            Some("engagement left out (no data); its weight was shared among the others")
        );
        let weights: f64 = r.components.iter().map(|c| c.effective_weight).sum();
        assert!(close(weights, 1.0));
        assert!(close(component(&r, USAGE).effective_weight, 0.2 / 0.85));
        assert!(close(component(&r, RISK).effective_weight, 0.15 / 0.85));

        // usage: 0.4·100 + 0.3·60 + 0.3·80 = 82; risk 100; business 100; activity 100.
        assert_eq!(component(&r, USAGE).score, 82);
        // (0.2·82 + 0.15·100 + 0.1·100 + 0.4·100) / 0.85 = 95.8 → 96. With a made-up 50 for
        // engagement it would have been 0.2·82 + 0.15·50 + 0.65·100 = 88.9.
        assert_eq!(r.score, Some(96));
    }

    #[test]
    fn missing_measure_weight_is_shared_inside_the_component() {
        let inputs = HealthInputs {
            had_usage_ever: true,
            dau_avg_30d: Some(10.0),
            mau: Some(100.0),
            mau_30d_ago: Some(100.0),
            // no adoption score
            ..Default::default()
        };
        let r = compute(&single_component(USAGE), &inputs);
        let usage = component(&r, USAGE);
        // stickiness 25 (w 0.4), trend 60 (w 0.3): (10 + 18) / 0.7 = 40
        assert_eq!(usage.score, 40);
        assert!(!usage.measures.contains_key("adoption"));
        assert!(!usage.reason.contains("adoption"));
    }

    fn single_component(key: &str) -> HealthModel {
        let mut m = HealthModel::default_model();
        m.components.retain(|c| c.key == key);
        m
    }

    #[test]
    fn two_missing_components_are_named_together() {
        let inputs = HealthInputs {
            contract_status: Some("expired".into()),
            ..Default::default()
        };
        let r = compute(&HealthModel::default_model(), &inputs);
        assert_eq!(
            r.missing,
            vec![USAGE.to_owned(), ENGAGEMENT.to_owned(), ACTIVITY.to_owned()]
        );
        assert_eq!(
            r.note.as_deref(),
            Some("usage, engagement and activity left out (no data); their weights were shared among the others")
        );
        // risk 100 (w 0.15), business 20 (w 0.1) → 17 / 0.25 = 68.
        assert_eq!(r.score, Some(68));
    }

    #[test]
    fn silence_is_data_for_usage() {
        let inputs = HealthInputs {
            had_usage_ever: true,
            mau: Some(0.0),
            dau_avg_30d: Some(0.0),
            mau_30d_ago: Some(40.0),
            adoption_score: Some(90.0),
            ..Default::default()
        };
        let r = compute(&HealthModel::default_model(), &inputs);
        let usage = component(&r, USAGE);
        assert_eq!(usage.score, 0);
        assert_eq!(usage.reason, "no active users in the last 30 days");
        assert!(!r.missing.contains(&USAGE.to_owned()));

        // Never used: usage is unknown, not zero.
        let never = HealthInputs {
            had_usage_ever: false,
            mau: Some(0.0),
            ..inputs
        };
        let r = compute(&HealthModel::default_model(), &never);
        assert!(r.missing.contains(&USAGE.to_owned()));
        assert!(r.components.iter().all(|c| c.key != USAGE));
    }

    #[test]
    fn all_components_missing_gives_no_score() {
        let mut m = HealthModel::default_model();
        m.components
            .retain(|c| c.key == USAGE || c.key == ENGAGEMENT);
        let r = compute(&m, &HealthInputs::default());
        assert_eq!(r.score, None);
        assert_eq!(r.grade, None);
        assert!(r.components.is_empty());
        assert_eq!(r.missing, vec![USAGE.to_owned(), ENGAGEMENT.to_owned()]);
        assert_eq!(
            r.note.as_deref(),
            Some("no score: no data for usage and engagement")
        );
    }

    #[test]
    fn prospect_stage_alone_leaves_business_missing() {
        let inputs = HealthInputs {
            stage: Some("prospect".into()),
            ..Default::default()
        };
        let r = compute(&HealthModel::default_model(), &inputs);
        assert!(r.missing.contains(&BUSINESS.to_owned()));
    }

    #[test]
    fn zero_weight_component_is_switched_off() {
        let mut m = HealthModel::default_model();
        m.components[3].weight = 0.0; // business
        assert_eq!(m.validate(), Ok(()));
        let mut inputs = full_inputs();
        inputs.contract_status = Some("expired".into());
        let r = compute(&m, &inputs);
        assert!(r.components.iter().all(|c| c.key != BUSINESS));
        assert!(r.missing.is_empty(), "switched off is not missing");
        assert_eq!(r.note, None);
        let weights: f64 = r.components.iter().map(|c| c.effective_weight).sum();
        assert!(close(weights, 1.0));
        assert!(close(component(&r, USAGE).effective_weight, 0.2 / 0.9));
        // (0.2·65 + 0.15·82 + 0.15·84 + 0.4·88) / 0.9 = 81.2 → 81
        assert_eq!(r.score, Some(81));

        // A zero-weight measure is switched off as well.
        let mut m = HealthModel::default_model();
        m.components[0].measures.insert("adoption".into(), 0.0);
        let r = compute(&m, &full_inputs());
        assert!(!component(&r, USAGE).measures.contains_key("adoption"));
    }

    #[test]
    fn inputs_json_may_leave_fields_out() {
        let inputs: HealthInputs =
            serde_json::from_str(r#"{"had_usage_ever":true,"mau":12}"#).unwrap();
        assert_eq!(inputs.mau, Some(12.0));
        assert_eq!(inputs.days_since_activity, None);
    }

    // --- changes -----------------------------------------------------------------------------

    #[test]
    fn the_last_real_change_is_kept_until_a_newer_one() {
        let model = HealthModel::default_model();
        let t = |h: u32| chrono::DateTime::from_timestamp(i64::from(h) * 3600, 0).unwrap();
        let first = compute(&model, &full_inputs());
        let mut after = full_inputs();
        after.mau = Some(60.0);
        after.mau_30d_ago = Some(100.0);
        after.dau_avg_30d = Some(13.8);
        let mut dropped = compute(&model, &after);
        keep_last_change(&first, t(1), &mut dropped, t(2));
        assert!(
            dropped.changes[0].starts_with("health fell"),
            "{:?}",
            dropped.changes
        );
        assert_eq!(dropped.changes_at, Some(t(2)));
        // A recompute that moves nothing worth a sentence keeps that explanation and its date.
        let mut same = compute(&model, &after);
        keep_last_change(&dropped, t(2), &mut same, t(3));
        assert_eq!(same.changes, dropped.changes);
        assert_eq!(same.changes_at, Some(t(2)));
        // A newer change replaces it.
        let mut back = compute(&model, &full_inputs());
        keep_last_change(&same, t(3), &mut back, t(4));
        assert!(
            back.changes[0].starts_with("health rose"),
            "{:?}",
            back.changes
        );
        assert_eq!(back.changes_at, Some(t(4)));
    }

    #[test]
    fn describe_changes_names_the_numbers() {
        let model = HealthModel::default_model();
        let before = full_inputs();
        let mut after = before.clone();
        after.mau = Some(60.0);
        after.mau_30d_ago = Some(100.0);
        after.dau_avg_30d = Some(13.8);
        let prev = compute(&model, &before);
        let cur = compute(&model, &after);
        // usage: trend 1.12 → 0.6 scores 76.5 → 12, so usage 65 → 46 and health 83 → 79.
        assert_eq!(
            describe_changes(&prev, &cur),
            vec![
                "health fell from 83 to 79 (green)".to_owned(),
                "usage fell from 65 to 46: monthly active users down 40% on 30 days ago (was up 12%)"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn describe_changes_reports_grade_and_business_moves() {
        let model = HealthModel::default_model();
        let before = full_inputs();
        let mut after = before.clone();
        after.contract_status = Some("expired".into());
        after.days_to_renewal = Some(-5);
        after.stage = Some("at_risk".into());
        after.open_signals.push("critical".into());
        let prev = compute(&model, &before);
        let cur = compute(&model, &after);
        let changes = describe_changes(&prev, &cur);
        assert!(
            changes.contains(&format!(
                "health fell from {} to 49 (red, was green)",
                prev.score.unwrap(),
            )),
            "{changes:?}"
        );
        // The critical signal caps the score at red, whatever the components make of it.
        let cap = cur.cap.as_ref().expect("capped");
        assert_eq!(
            (cap.limit, cap.reasons.clone()),
            (49, vec!["1 critical risk signal open".to_owned()])
        );
        assert!(cap.uncapped > 49, "{cap:?}");
        // The contract moved most (100 → 20; stage 100 → 25, renewal 100 → 30).
        assert!(
            changes.contains(
                &"business fell from 100 to 25: contract now expired (was active)".to_owned()
            ),
            "{changes:?}"
        );
        assert!(
            changes
                .contains(&"risk fell from 84 to 52: open risk signals up from 2 to 3".to_owned()),
            "{changes:?}"
        );
    }

    #[test]
    fn describe_changes_reports_components_leaving_and_returning() {
        let model = HealthModel::default_model();
        let before = full_inputs();
        let mut after = before.clone();
        after.had_usage_ever = false; // usage and recency/consistency go
        after.stakeholders = 0;
        after.positive_stakeholders = 0;
        after.negative_stakeholders = 0;
        let prev = compute(&model, &before);
        let cur = compute(&model, &after);
        let changes = describe_changes(&prev, &cur);
        assert!(changes.contains(&"engagement is now left out: no data".to_owned()));
        assert!(changes.contains(&"usage is now left out: no data".to_owned()));

        let back = describe_changes(&cur, &prev);
        assert!(
            back.iter()
                .any(|l| l.starts_with("usage is now scored again (65: ")),
            "{back:?}"
        );
        assert!(back
            .iter()
            .any(|l| l.starts_with("engagement is now scored again")));
    }

    #[test]
    fn describe_changes_uses_the_reason_when_usage_goes_silent() {
        let model = HealthModel::default_model();
        let before = full_inputs();
        let mut after = before.clone();
        after.mau = Some(0.0);
        after.dau_avg_30d = Some(0.0);
        let changes = describe_changes(&compute(&model, &before), &compute(&model, &after));
        assert!(
            changes.contains(
                &"usage fell from 65 to 0: no active users in the last 30 days".to_owned()
            ),
            "{changes:?}"
        );
    }

    #[test]
    fn describe_changes_is_empty_when_nothing_moved() {
        let model = HealthModel::default_model();
        let r = compute(&model, &full_inputs());
        assert!(describe_changes(&r, &r).is_empty());

        // A small wobble is not news either.
        let mut after = full_inputs();
        after.adoption_score = Some(66.0);
        let r2 = compute(&model, &after);
        assert_ne!(component(&r, USAGE).score, component(&r2, USAGE).score);
        assert!(describe_changes(&r, &r2).is_empty());
    }

    #[test]
    fn describe_changes_from_and_to_no_score() {
        let mut m = HealthModel::default_model();
        m.components.retain(|c| c.key == USAGE);
        let none = compute(&m, &HealthInputs::default());
        let some = compute(&m, &full_inputs());
        let changes = describe_changes(&none, &some);
        assert_eq!(changes[0], "health is now scored: 65 (yellow)");
        assert!(changes.contains(&"usage is now scored again (65: 23% of monthly users are active daily; monthly users up 12% on 30 days ago; adoption 64/100)".to_owned()));
        let changes = describe_changes(&some, &none);
        assert_eq!(
            changes[0],
            "health can no longer be scored (was 65): no data"
        );
        assert!(changes.contains(&"usage is now left out: no data".to_owned()));
    }
}
