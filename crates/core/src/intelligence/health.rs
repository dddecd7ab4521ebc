//! Health scores: inputs gathered from the database, scored, kept with their history.

use super::*;

// ------------------------------------------------------------------------------------------
// Health scores

/// Gathers a customer's health facts using only data up to the end of `as_of`. With
/// `point_in_time`, facts that are not historised (the lifecycle stage) are left out rather
/// than read from today's record, so a past score cannot see the future.
pub async fn gather_inputs(
    app: &App,
    customer: &Customer,
    as_of: NaiveDate,
    point_in_time: bool,
    fit: &RhythmFit,
) -> CoreResult<HealthInputs> {
    let end = day_start(as_of + Duration::days(1));
    let mut c = app.db.conn().await?;
    let rows = usage::metrics(c.c(), customer.id, as_of - Duration::days(59), as_of).await?;
    let active_days = usage::active_days(c.c(), customer.id, as_of).await?;
    let window: Vec<&UsageMetric> = rows
        .iter()
        .filter(|m| m.metric_date > as_of - Duration::days(30))
        .collect();
    let at = |d: NaiveDate| rows.iter().find(|m| m.metric_date == d);
    let mut inputs = HealthInputs {
        had_usage_ever: !active_days.is_empty(),
        ..Default::default()
    };
    fill_activity(&mut inputs, &active_days, as_of, fit);
    if inputs.had_usage_ever {
        let mau_now = at(as_of).and_then(|m| m.mau).unwrap_or(0);
        inputs.mau = Some(mau_now as f64);
        inputs.dau_avg_30d = Some(
            window
                .iter()
                .map(|m| m.dau.unwrap_or(0) as f64)
                .sum::<f64>()
                / 30.0,
        );
        inputs.mau_30d_ago = at(as_of - Duration::days(30))
            .and_then(|m| m.mau)
            .map(|v| v as f64);
        inputs.adoption_score = at(as_of).and_then(|m| m.adoption_score).map(|v| v as f64);
        inputs.tickets_30d = Some(window.iter().map(|m| m.support_tickets.unwrap_or(0)).sum());
        inputs.high_priority_tickets_30d = Some(
            window
                .iter()
                .map(|m| m.high_priority_tickets.unwrap_or(0))
                .sum(),
        );
        inputs.mau_for_tickets = Some(mau_now.max(1) as f64);
    }
    let stakeholders = cscx_store::stakeholders::of_customer(c.c(), customer.id).await?;
    let present: Vec<&Stakeholder> = stakeholders.iter().filter(|s| s.created_at < end).collect();
    inputs.stakeholders = present.len() as i32;
    inputs.has_primary = present.iter().any(|s| s.is_primary);
    inputs.has_executive = present.iter().any(|s| is_executive(s.role.as_deref()));
    inputs.positive_stakeholders = present
        .iter()
        .filter(|s| s.sentiment.as_deref() == Some("positive"))
        .count() as i32;
    inputs.negative_stakeholders = present
        .iter()
        .filter(|s| s.sentiment.as_deref() == Some("negative"))
        .count() as i32;
    inputs.primary_negative = present
        .iter()
        .any(|s| s.is_primary && s.sentiment.as_deref() == Some("negative"));
    let signals = store::signals_open_at(c.c(), customer.id, end).await?;
    inputs.open_signals = signals
        .into_iter()
        .map(|s| s.severity.to_string())
        .collect();
    inputs.days_to_renewal = customer.renewal_date.map(|d| (d - as_of).num_days());
    let contracts = cscx_store::contracts::of_customer(c.c(), customer.id).await?;
    let started: Vec<&Contract> = contracts
        .iter()
        .filter(|k| k.start_date.is_none_or(|s| s <= as_of) && k.created_at < end)
        .collect();
    inputs.contract_status = if started.is_empty() {
        None
    } else if started.iter().any(|k| {
        k.end_date.is_none_or(|e| e >= as_of) && k.status != "expired" && k.status != "terminated"
    }) {
        Some("active".into())
    } else {
        Some("expired".into())
    };
    inputs.stage = (!point_in_time).then(|| customer.stage.to_string());
    Ok(inputs)
}

pub(super) fn is_executive(role: Option<&str>) -> bool {
    let Some(r) = role else { return false };
    let r = r.to_lowercase();
    [
        "chief",
        "ceo",
        "cfo",
        "cto",
        "coo",
        "cio",
        "vp",
        "vice president",
        "head of",
        "director",
        "executive",
        "founder",
        "president",
    ]
    .iter()
    .any(|k| r.contains(k))
}

/// Scores a customer as of the end of `as_of`.
pub async fn score_as_of(
    app: &App,
    customer: &Customer,
    as_of: NaiveDate,
    point_in_time: bool,
) -> CoreResult<HealthResult> {
    let model = model_for(app, customer.segment.as_deref()).await?;
    let fit = fit_for(app, &model, as_of).await?;
    let inputs = gather_inputs(app, customer, as_of, point_in_time, &fit).await?;
    let mut result = health_math::compute(&model, &inputs);
    // A prospect has not bought yet: there is no customer health to speak of.
    if !point_in_time && customer.stage == cscx_domain::Stage::Prospect {
        result.score = None;
        result.grade = None;
        result.note = Some("prospects are not scored until they become customers".into());
    }
    Ok(result)
}

pub(super) async fn latest_history(
    c: DbConn<'_>,
    customer_id: Id,
) -> CoreResult<Option<HealthScore>> {
    Ok(store::latest_health(c, customer_id).await?)
}

/// Computes the current score, explains what changed since the last one, and records both the
/// history row and `customers.health_score` in one transaction. An unchanged result is not
/// recorded again. Returns the result (None if the customer is gone).
pub async fn recompute_health(app: &App, customer_id: Id) -> CoreResult<Option<HealthResult>> {
    let Some(customer) = ({
        let mut c = app.db.conn().await?;
        entity::get::<Customer>(c.c(), customer_id).await?
    }) else {
        return Ok(None);
    };
    let now = app.now();
    let mut result = score_as_of(app, &customer, now.date(), false).await?;
    let mut tx = app.db.begin().await?;
    let previous = latest_history(tx.c(), customer_id).await?;
    let previous_result: Option<HealthResult> = previous
        .as_ref()
        .and_then(|h| h.components.clone())
        .and_then(|v| serde_json::from_value(v).ok());
    if let (Some(prev), Some(row)) = (&previous_result, &previous) {
        health_math::keep_last_change(
            prev,
            row.recorded_at.datetime(),
            &mut result,
            now.datetime(),
        );
    }
    let unchanged = previous_result.as_ref().is_some_and(|p| {
        p.score == result.score
            && p.grade == result.grade
            && p.components == result.components
            && p.missing == result.missing
    });
    if !unchanged {
        if let Some(score) = result.score {
            let row = HealthScore {
                id: Id::new(),
                customer_id,
                score,
                components: Some(serde_json::to_value(&result).expect("serialisable")),
                recorded_at: now,
            };
            entity::insert(tx.c(), &row).await?;
        }
        // With no data at all there is no score; a value set by hand or imported is kept.
        if let (Some(score), Some(band)) = (result.score, result.grade) {
            store::set_customer_health(tx.c(), customer_id, score, band, now).await?;
        }
    }
    tx.commit().await?;
    Ok(Some(result))
}

/// Recorded health scores of a customer, newest first (keyset on recorded time and id).
pub async fn health_history(
    app: &App,
    customer_id: Id,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<HealthScore>> {
    let mut c = app.db.conn().await?;
    Ok(store::health_page(c.c(), customer_id, before, limit).await?)
}

/// The latest recorded health of a customer.
pub async fn current_health(app: &App, customer_id: Id) -> CoreResult<Option<HealthScore>> {
    let mut c = app.db.conn().await?;
    latest_history(c.c(), customer_id).await
}

/// The scored result kept with a history row (components, reasons, changes), read back as the
/// type it was written from: a renamed field fails here, in one place and loudly, instead of
/// blanking a page that looked the key up by name.
pub fn stored_result(h: &HealthScore) -> Option<HealthResult> {
    let value = h.components.as_ref()?;
    match serde_json::from_value(value.clone()) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(health_score = %h.id, error = %e, "a stored health result could not be read");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executives_are_recognised_by_title() {
        assert!(is_executive(Some("VP Customer Success")));
        assert!(is_executive(Some("Chief Financial Officer")));
        assert!(!is_executive(Some("IT Admin")));
        assert!(!is_executive(None));
    }
}
