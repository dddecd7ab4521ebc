//! Risk signals: raised and cleared by the detectors, raised and resolved by hand, listed.

use super::*;

// ------------------------------------------------------------------------------------------
// Risk signals

/// Runs the detectors for a customer now and brings its open automatic signals in line:
/// new conditions open a signal, changed ones update it, cleared ones are resolved with a note.
/// Returns whether anything changed.
pub async fn sync_risk_signals(app: &App, customer_id: Id) -> CoreResult<bool> {
    let now = app.now();
    let today = now.date();
    let mut c = app.db.conn().await?;
    let Some(customer) = entity::get::<Customer>(c.c(), customer_id).await? else {
        return Ok(false);
    };
    let rows = usage::metrics(c.c(), customer_id, today - Duration::days(89), today).await?;
    let (first, last) = usage::activity_span(c.c(), customer_id, today).await?;
    let history =
        store::health_since(c.c(), customer_id, day_start(today - Duration::days(30))).await?;
    let stakeholders = cscx_store::stakeholders::of_customer(c.c(), customer_id).await?;
    let open = store::open_auto_signals(c.c(), customer_id).await?;
    let nps = usage::nps_responses(
        c.c(),
        customer_id,
        day_start(today - Duration::days(90)),
        day_start(today + Duration::days(1)),
    )
    .await?;
    drop(c);

    let has_primary = stakeholders.iter().any(|s| s.is_primary);
    let primary_removed = !has_primary
        && open.iter().any(|s| {
            s.signal_type == "champion_lost"
                && s.metadata.get("reason").and_then(Value::as_str) == Some("primary_removed")
        });
    let inputs = RiskInputs {
        as_of: today,
        customer_since: customer.created_at.date(),
        usage: rows
            .iter()
            .map(|m| DayUsage {
                date: m.metric_date,
                dau: m.dau.unwrap_or(0),
                mau: m.mau.unwrap_or(0),
                adoption_score: m.adoption_score.unwrap_or(0),
                feature_count: m
                    .feature_adoption
                    .as_ref()
                    .and_then(Value::as_object)
                    .map(|o| o.len() as i32)
                    .unwrap_or(0),
                support_tickets: m.support_tickets.unwrap_or(0),
                high_priority_tickets: m.high_priority_tickets.unwrap_or(0),
            })
            .collect(),
        first_activity: first,
        last_activity: last,
        health_now: customer.health_score,
        health_history: history
            .iter()
            .map(|h| (h.recorded_at.date(), h.score))
            .collect(),
        renewal_date: customer.renewal_date,
        stakeholders: stakeholders
            .iter()
            .map(|s| StakeholderFacts {
                is_primary: s.is_primary,
                sentiment: s.sentiment.clone(),
            })
            .collect(),
        primary_contact_removed: primary_removed,
        nps: nps
            .iter()
            .filter_map(|(t, s)| s.trim().parse::<f64>().ok().map(|v| (t.date(), v as i32)))
            .collect(),
    };
    let detections = risk_math::detect(&inputs);

    let mut changed = false;
    let mut tx = app.db.begin().await?;
    let open_by_type: HashMap<&str, &RiskSignal> =
        open.iter().map(|s| (s.signal_type.as_str(), s)).collect();
    for d in &detections {
        let mut metadata = d.metadata.clone();
        if d.signal_type == "champion_lost" && primary_removed {
            metadata["reason"] = json!("primary_removed");
        }
        match open_by_type.get(d.signal_type) {
            Some(existing) => {
                if existing.severity != d.severity
                    || existing.description.as_deref() != Some(d.description.as_str())
                {
                    let mut s = (*existing).clone();
                    s.severity = d.severity.into();
                    s.description = Some(d.description.clone());
                    s.metadata = metadata;
                    entity::update(tx.c(), &s).await?;
                    changed = true;
                }
            }
            None => {
                let s = RiskSignal {
                    id: Id::new(),
                    customer_id,
                    signal_type: d.signal_type.into(),
                    severity: d.severity.into(),
                    description: Some(d.description.clone()),
                    detected_at: now,
                    resolved_at: None,
                    resolution_notes: None,
                    auto_detected: true,
                    source: Some(format!("detector:{}", d.signal_type)),
                    metadata,
                };
                entity::insert(tx.c(), &s).await?;
                changed = true;
            }
        }
    }
    for s in &open {
        if !detections.iter().any(|d| d.signal_type == s.signal_type) {
            let mut s = s.clone();
            s.resolved_at = Some(now);
            s.resolution_notes = Some(format!(
                "Resolved automatically on {today}: the condition no longer holds (was: {}).",
                s.description.as_deref().unwrap_or(&s.signal_type)
            ));
            entity::update(tx.c(), &s).await?;
            changed = true;
        }
    }
    tx.commit().await?;
    Ok(changed)
}

/// Raises `champion_lost` at once when the primary contact is deleted (the detectors cannot
/// see a row that is gone). Runs in the caller's transaction.
pub async fn primary_contact_removed(
    c: DbConn<'_>,
    s: &Stakeholder,
    now: Timestamp,
) -> CoreResult<()> {
    let signal = RiskSignal {
        id: Id::new(),
        customer_id: s.customer_id,
        signal_type: "champion_lost".into(),
        severity: risk_math::Severity::High.into(),
        description: Some(format!(
            "Primary contact {} was removed and not replaced.",
            s.name
        )),
        detected_at: now,
        resolved_at: None,
        resolution_notes: None,
        auto_detected: true,
        source: Some("stakeholders".into()),
        metadata: json!({ "reason": "primary_removed", "stakeholder": s.name }),
    };
    let mut c = c;
    // The id of the signal now open: this one, or the open one it refreshed.
    let open = store::raise_auto_signal(c.re(), &signal).await?;
    let event = Event::SignalRaised {
        signal_id: open.0,
        signal_type: signal.signal_type.clone(),
        severity: signal.severity.to_string(),
        source: signal.source.clone(),
    };
    record(c, &event, &Actor::system(), Some(s.customer_id), now).await
}

// ------------------------------------------------------------------------------------------
// Risk signals by hand, and listing them

pub use store::{NamedSignal, SignalFilter};

/// Signals, newest first (keyset on id, descending).
pub async fn list_signals(
    app: &App,
    f: &SignalFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<RiskSignal>> {
    Ok(list_named_signals(app, f, before, limit)
        .await?
        .into_iter()
        .map(|n| n.signal)
        .collect())
}

/// [`list_signals`] with each customer's name, in the same query.
pub async fn list_named_signals(
    app: &App,
    f: &SignalFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<NamedSignal>> {
    let mut c = app.db.conn().await?;
    Ok(store::signals_page(c.c(), f, before, limit).await?)
}

/// `POST /api/v1/customers/{id}/risk-signals` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSignal {
    pub signal_type: String,
    /// low, medium, high or critical.
    pub severity: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Records a signal raised by a person (`auto_detected` false, `source` names them).
pub async fn create_signal(
    app: &App,
    who: &Principal,
    customer_id: Id,
    new: NewSignal,
) -> CoreResult<RiskSignal> {
    crate::authz::write_portfolio(who)?;
    let by = who.email.as_str();
    let mut e = cscx_domain::FieldErrors::new();
    e.check(
        "signal_type",
        Some(new.signal_type.as_str()),
        cscx_domain::validate::text(50),
    );
    let severity = new.severity.parse::<risk_math::Severity>();
    if severity.is_err() {
        e.add("severity", "must be one of low, medium, high, critical");
    }
    e.check(
        "description",
        new.description.as_deref(),
        cscx_domain::validate::text(2000),
    );
    if new.metadata.as_ref().is_some_and(|m| !m.is_object()) {
        e.add("metadata", "must be a JSON object");
    }
    e.into_result()?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    entity::get::<Customer>(tx.c(), customer_id)
        .await?
        .ok_or(CoreError::NotFound("customer"))?;
    let s = RiskSignal {
        id: Id::new(),
        customer_id,
        signal_type: new.signal_type.trim().to_owned(),
        severity: severity.expect("checked above").into(),
        description: new.description,
        detected_at: now,
        resolved_at: None,
        resolution_notes: None,
        auto_detected: false,
        source: Some(format!("manual:{by}")),
        metadata: new.metadata.unwrap_or_else(|| json!({})),
    };
    entity::insert(tx.c(), &s).await?;
    let event = Event::SignalRaised {
        signal_id: s.id.0,
        signal_type: s.signal_type.clone(),
        severity: s.severity.to_string(),
        source: s.source.clone(),
    };
    record(tx.c(), &event, &Actor::of(who), Some(customer_id), now).await?;
    tx.commit().await?;
    Ok(s)
}

/// Resolves a signal with a note. An automatic signal whose condition still holds is raised
/// again by the next detector run (the note says who closed it and when).
pub async fn get_signal(app: &App, id: Id) -> CoreResult<RiskSignal> {
    let mut c = app.db.conn().await?;
    entity::get(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound("risk signal"))
}

pub async fn resolve_signal(
    app: &App,
    who: &Principal,
    id: Id,
    notes: Option<String>,
) -> CoreResult<RiskSignal> {
    crate::authz::write_portfolio(who)?;
    let by = who.email.as_str();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut s: RiskSignal = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("risk signal"))?;
    if s.resolved_at.is_some() {
        return Err(CoreError::Conflict(
            "this signal is already resolved".into(),
        ));
    }
    s.resolved_at = Some(now);
    s.resolution_notes = Some(match notes {
        Some(n) if !n.trim().is_empty() => format!("{} (resolved by {by})", n.trim()),
        _ => format!("Resolved by {by}."),
    });
    entity::update(tx.c(), &s).await?;
    let event = Event::SignalResolved {
        signal_id: s.id.0,
        signal_type: s.signal_type.clone(),
    };
    record(tx.c(), &event, &Actor::of(who), Some(s.customer_id), now).await?;
    tx.commit().await?;
    Ok(s)
}
