//! The customer 360 and its stakeholder forms.

use super::*;

#[derive(Template)]
#[template(path = "customer.html")]
pub(super) struct CustomerPage {
    frame: Frame,
    c: Customer,
    band: &'static str,
    health: String,
    trend: String,
    arr: String,
    renewal: String,
    csm: String,
    history_chart: String,
    usage_chart: String,
    components: Vec<(String, String, String)>,
    /// "Capped at 49 (scored 62): 1 critical risk signal open", when evidence capped it.
    cap: Option<String>,
    changes: Vec<String>,
    /// When the change `changes` describes happened.
    changes_at: String,
    features: Vec<(String, i64)>,
    signals: Vec<(String, String, String, String)>,
    /// Open tasks on the account: (title, when, due).
    tasks: Vec<(String, String, String)>,
    /// The latest 30 timeline items: (when, kind, text).
    timeline: Vec<(String, String, String)>,
    note_error: Option<String>,
    people: Vec<Stakeholder>,
    contracts: Vec<(Id, String, String, String, String)>,
    entitlements: Vec<(String, String, String, String)>,
    activity: Vec<(String, String, String, String)>,
    can_edit: bool,
    sentiments: Vec<&'static str>,
    stake_error: Option<String>,
    stake_name: String,
    stake_role: String,
    stake_email: String,
}

pub(super) async fn customer(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return not_found("customer");
    };
    match customer_page(&s, v, id).await {
        Ok(Some(page)) => render(&page),
        Ok(None) => not_found("customer"),
        Err(e) => failure(e),
    }
}

pub(super) async fn customer_page(
    s: &AppState,
    v: Visitor,
    id: Id,
) -> Result<Option<CustomerPage>, cscx_core::CoreError> {
    let Some(o) = cscx_core::overview::of_customer(&s.app, id).await? else {
        return Ok(None);
    };
    let history = &o.history;
    let components = o
        .latest
        .iter()
        .flat_map(|r| &r.components)
        .map(|x| (x.key.clone(), x.score.to_string(), x.reason.clone()))
        .collect();
    let changes = o
        .latest
        .as_ref()
        .map(|r| r.changes.clone())
        .unwrap_or_default();
    let changes_at = o
        .latest
        .as_ref()
        .and_then(|r| r.changes_at)
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_default();
    let cap = o.latest.as_ref().and_then(|r| r.cap.as_ref()).map(|c| {
        format!(
            "Capped at {} (scored {}): {}",
            c.limit,
            c.uncapped,
            c.reasons.join("; ")
        )
    });
    let trend = match (history.first(), history.get(1)) {
        (Some(a), Some(b)) if a.score > b.score => format!("up from {}", b.score),
        (Some(a), Some(b)) if a.score < b.score => format!("down from {}", b.score),
        (Some(_), Some(_)) => "unchanged".into(),
        _ => String::new(),
    };
    let points: Vec<(i64, i32)> = history
        .iter()
        .rev()
        .map(|h| (h.recorded_at.millis(), h.score))
        .collect();
    let features = cscx_core::agents::tools::top_features(o.usage.last(), 8);
    let signals = o
        .recent_signals
        .into_iter()
        .map(|r| {
            (
                r.signal_type,
                r.severity.to_string(),
                if r.resolved_at.is_some() {
                    "resolved".to_string()
                } else {
                    "open".to_string()
                },
                r.description.or(r.resolution_notes).unwrap_or_default(),
            )
        })
        .collect();
    let entitlements = o
        .entitlements
        .into_iter()
        .map(|e| {
            (
                e.name,
                e.quantity
                    .map(|q| format!("{q}{}", e.unit.map(|u| format!(" {u}")).unwrap_or_default()))
                    .unwrap_or_else(|| "—".into()),
                money(&e.price),
                e.category.unwrap_or_default(),
            )
        })
        .collect();
    let (c, usage, people, contracts, activity) =
        (o.customer, o.usage, o.people, o.contracts, o.activity);
    let (queue, _) = cscx_core::tasks::queue(&s.app, None, Some(id)).await?;
    let timeline = cscx_core::timeline::timeline(&s.app, id, None, None, 30)
        .await?
        .into_iter()
        .map(|i| (i.at.to_rfc3339(), i.kind, i.text))
        .collect();
    let tasks = queue
        .into_iter()
        .flat_map(|g| {
            let label = g.label;
            g.tasks.into_iter().map(move |t| {
                let due = t
                    .due_date
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "—".into());
                (t.title, label.clone(), due)
            })
        })
        .collect();
    let csm = match (c.csm_id, o.csm) {
        (Some(_), Some(name)) => name,
        (Some(_), None) => "—".into(),
        (None, _) => "unassigned".into(),
    };
    Ok(Some(CustomerPage {
        frame: v.frame("customers"),
        band: band(&c),
        health: health_text(&c),
        trend,
        arr: money(&c.arr),
        renewal: c
            .renewal_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        csm,
        history_chart: charts::line(&points, "Health score over time", 0, 100),
        usage_chart: charts::usage(&usage),
        components,
        cap,
        changes,
        changes_at,
        features,
        signals,
        tasks,
        timeline,
        note_error: None,
        people,
        contracts: contracts
            .into_iter()
            .map(|k| {
                (
                    k.id,
                    k.file_name.unwrap_or_else(|| "—".into()),
                    k.status,
                    k.contract_term.unwrap_or_else(|| {
                        format!(
                            "{} to {}",
                            k.start_date
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "?".into()),
                            k.end_date
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "?".into())
                        )
                    }),
                    money(&k.arr),
                )
            })
            .collect(),
        activity: activity
            .into_iter()
            .map(|a| {
                (
                    a.started_at.to_rfc3339(),
                    a.agent_type.unwrap_or_default(),
                    a.action_type,
                    a.status,
                )
            })
            .collect(),
        entitlements,
        can_edit: v.principal.role >= Role::Csm,
        sentiments: cscx_domain::validate::SENTIMENTS.to_vec(),
        stake_error: None,
        stake_name: String::new(),
        stake_role: String::new(),
        stake_email: String::new(),
        c,
    }))
}

/// Adds a stakeholder from the customer 360; on error the page comes back with the message and
/// what was typed.
pub(super) async fn add_note(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "customer") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let body = form.get("body").cloned().unwrap_or_default();
    match cscx_core::timeline::add_note(&s.app, &v.principal, id, &body).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}#tl")).into_response(),
        Err(e) if user_error_status(&e).is_some() => match customer_page(&s, v, id).await {
            Ok(Some(mut page)) => {
                page.note_error = Some(e.to_string());
                let mut r = render(&page);
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Ok(None) => not_found("customer"),
            Err(e) => failure(e),
        },
        Err(e) => failure(e),
    }
}

pub(super) async fn add_stakeholder(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "customer") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let get = |k: &str| {
        form.get(k)
            .map(|x| x.trim().to_string())
            .unwrap_or_default()
    };
    let mut body = Map::new();
    body.insert("name".into(), Value::String(get("name")));
    for k in ["role", "email"] {
        if !get(k).is_empty() {
            body.insert(k.into(), Value::String(get(k)));
        }
    }
    body.insert("is_primary".into(), Value::Bool(get("is_primary") == "1"));
    match cscx_core::portfolio::create_stakeholder(&s.app, &v.principal, id, &Value::Object(body))
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}#sh")).into_response(),
        Err(e) => {
            let (name, role, email) = (get("name"), get("role"), get("email"));
            match customer_page(&s, v, id).await {
                Ok(Some(mut page)) => {
                    page.stake_error = Some(e.to_string());
                    page.stake_name = name;
                    page.stake_role = role;
                    page.stake_email = email;
                    let mut r = render(&page);
                    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    r
                }
                Ok(None) => not_found("customer"),
                Err(e) => failure(e),
            }
        }
    }
}

/// Sentiment and primary flag from the stakeholder table.
pub(super) async fn edit_stakeholder(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "stakeholder") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let mut body = Map::new();
    if let Some(sentiment) = form.get("sentiment") {
        body.insert("sentiment".into(), Value::String(sentiment.clone()));
    }
    body.insert(
        "is_primary".into(),
        Value::Bool(form.get("is_primary").is_some_and(|x| x == "1")),
    );
    match cscx_core::portfolio::update_stakeholder(&s.app, &v.principal, id, &Value::Object(body))
        .await
    {
        Ok(st) => Redirect::to(&format!("/customers/{}#sh", st.customer_id)).into_response(),
        Err(cscx_core::CoreError::NotFound(_)) => not_found("stakeholder"),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}
