//! The portfolio's rhythm model (`cscx_domain::rhythm`), fitted to every customer's history and
//! kept for a few minutes, and the whole-history facts the health score reads from it.

use std::time::{Duration as WallDuration, Instant};

use cscx_domain::rhythm::{History, RhythmFit};

use super::*;

/// The model counts active weeks (a week with at least one active day): bursts of activity on
/// consecutive days are one visit, and on the CDNOW log weeks rank churn better than days
/// (ROC AUC 0.768 against 0.761 for the probability alone). Weeks are numbered from 1970-01-01.
pub const PERIOD_DAYS: i64 = 7;

fn period(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default())
        .num_days()
        .div_euclid(PERIOD_DAYS)
}

/// A fit is reused for this long before the portfolio is read again: new data moves a fit of
/// thousands of histories very little, and reading every history costs one grouped scan.
const FIT_REUSE: WallDuration = WallDuration::from_secs(600);

/// Fits cached by the date they were fitted as of (a few dates at most: today, and the date a
/// back-test is running for).
#[derive(Default)]
pub struct RhythmCache {
    fits: tokio::sync::Mutex<Vec<(NaiveDate, Instant, RhythmFit)>>,
}

/// The portfolio's fit as of the end of `as_of`, from the histories up to that day only (a
/// point-in-time score must not learn the rhythm from the future). Below
/// `cscx_domain::rhythm::MIN_FIT_HISTORIES` histories, the prior.
pub async fn portfolio_fit(app: &App, as_of: NaiveDate) -> CoreResult<RhythmFit> {
    // Held while fitting, so that concurrent recomputes wait for one fit instead of each
    // scanning the portfolio.
    let mut fits = app.rhythm.fits.lock().await;
    fits.retain(|(_, at, _)| at.elapsed() < FIT_REUSE);
    if let Some((_, _, fit)) = fits.iter().find(|(d, _, _)| *d == as_of) {
        return Ok(*fit);
    }
    let rows = {
        let mut c = app.db.conn().await?;
        usage::histories(c.c(), as_of).await?
    };
    let histories: Vec<History> = rows
        .iter()
        .map(|(periods, first, last)| History {
            repeat: (*periods - 1).max(0) as u32,
            last: (period(*last) - period(*first)) as f64,
            age: (period(as_of) - period(*first) + 1) as f64,
        })
        .collect();
    let fit = tokio::task::spawn_blocking(move || RhythmFit::fit(&histories))
        .await
        .map_err(|e| CoreError::Internal(format!("rhythm fit: {e}")))?
        .unwrap_or_else(RhythmFit::prior);
    if fits.len() >= 4 {
        fits.remove(0);
    }
    fits.push((as_of, Instant::now(), fit));
    Ok(fit)
}

/// The fit that scores with `model`: the one a calibration pinned in it, else the portfolio's.
pub async fn fit_for(app: &App, model: &HealthModel, as_of: NaiveDate) -> CoreResult<RhythmFit> {
    match model.rhythm {
        Some(fit) => Ok(fit),
        None => portfolio_fit(app, as_of).await,
    }
}

/// Fills the whole-history facts of `inputs` from the active days up to `as_of` (oldest first).
pub(super) fn fill_activity(
    inputs: &mut HealthInputs,
    days: &[NaiveDate],
    as_of: NaiveDate,
    fit: &RhythmFit,
) {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return;
    };
    let periods: Vec<i64> = days.iter().map(|d| period(*d)).collect();
    let Some(history) = History::from_days(&periods, period(as_of)) else {
        return;
    };
    let tenure = (as_of - *first).num_days();
    // The usual gap is read in days, for the words and the engagement windows.
    let gap =
        (days.len() > 1).then(|| (*last - *first).num_days() as f64 / (days.len() - 1) as f64);
    inputs.active_days = Some(days.len() as u32);
    inputs.tenure_days = Some(tenure);
    inputs.usual_gap_days = gap;
    inputs.days_since_activity = Some((as_of - *last).num_days().max(0));
    inputs.probability_active = Some(fit.probability_active(&history));
    inputs.probability_active_90d =
        Some(fit.probability_active_within(&history, 90.0 / PERIOD_DAYS as f64));

    // The recent pace against the customer's own earlier pace: the window is three usual
    // gaps (at least 30 days), and the earlier history must be at least as long.
    let window = gap.map_or(30, |g| ((3.0 * g).round() as i64).max(30));
    inputs.recent_window_days = Some(window);
    if tenure >= 2 * window {
        let since = as_of - Duration::days(window);
        let recent = days.iter().filter(|d| **d > since).count() as f64;
        let earlier = days.iter().filter(|d| **d <= since).count() as f64;
        inputs.recent_rate = Some(recent / window as f64 * 30.0);
        inputs.earlier_rate = Some(earlier / (tenure - window + 1) as f64 * 30.0);
    }

    // Consistency: active periods among the last 8, a period being a week or, for slower
    // rhythms, the usual gap.
    let period = gap.map_or(7, |g| (g.round() as i64).max(7));
    let active_periods = (0..8)
        .filter(|p| {
            let hi = as_of - Duration::days(period * p);
            let lo = hi - Duration::days(period - 1);
            days.iter().any(|d| *d >= lo && *d <= hi)
        })
        .count();
    inputs.active_weeks_of_last_8 = Some(active_periods as i32);
    inputs.consistency_period_days = Some(period);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_monthly_history_reads_in_months() {
        let days: Vec<NaiveDate> = (1..=9)
            .map(|m| NaiveDate::from_ymd_opt(2026, m, 5).unwrap())
            .collect();
        let mut inputs = HealthInputs::default();
        fill_activity(&mut inputs, &days, d("2026-10-15"), &RhythmFit::prior());
        assert_eq!(inputs.active_days, Some(9));
        assert_eq!(inputs.days_since_activity, Some(40));
        let gap = inputs.usual_gap_days.unwrap();
        assert!((gap - 30.0).abs() < 1.0, "{gap}");
        assert_eq!(inputs.consistency_period_days, Some(30));
        // Quiet since 5 September: the first period (16 Sep–15 Oct) is empty, the next 7 not.
        assert_eq!(inputs.active_weeks_of_last_8, Some(7));
        assert_eq!(inputs.recent_window_days, Some(91));
        let (recent, earlier) = (inputs.recent_rate.unwrap(), inputs.earlier_rate.unwrap());
        assert!(recent < earlier, "{recent} {earlier}");
        let p = inputs.probability_active.unwrap();
        assert!(p > 0.5 && p < 1.0, "{p}");
    }

    #[test]
    fn no_history_leaves_the_facts_unknown() {
        let mut inputs = HealthInputs::default();
        fill_activity(&mut inputs, &[], d("2026-10-15"), &RhythmFit::prior());
        assert_eq!(inputs, HealthInputs::default());
    }
}
