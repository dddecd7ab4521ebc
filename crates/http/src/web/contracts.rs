//! Contract upload and review: the extracted terms beside the document, each term linked to the
//! highlighted text it came from; correct, confirm, extract again.

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

use cscx_core::contracts;
use cscx_domain::Role;
use cscx_store::model::Customer;
use cscx_store::{entity, Id};

use super::{
    csrf_ok, csrf_refused, failure, not_found, render, writable_id, Frame, Page, PageError,
};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "contract_upload.html")]
struct UploadPage {
    frame: Frame,
    customers: Vec<(String, String)>,
    selected: String,
    error: Option<String>,
}

async fn customer_options(s: &AppState) -> Result<Vec<(String, String)>, cscx_core::CoreError> {
    let (rows, _) = cscx_core::portfolio::list_customers(
        &s.app,
        &Default::default(),
        cscx_store::customers::Sort::parse("name").unwrap_or_default(),
        None,
        500,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect())
}

pub(super) async fn upload_page(
    State(s): State<AppState>,
    Page(v): Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let customers = match customer_options(&s).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    render(&UploadPage {
        frame: v.frame("customers"),
        customers,
        selected: q.get("customer_id").cloned().unwrap_or_default(),
        error: None,
    })
}

pub(super) async fn upload(
    State(s): State<AppState>,
    Page(v): Page,
    mut form: Multipart,
) -> Response {
    if v.principal.role < Role::Csm {
        return (StatusCode::FORBIDDEN, "viewers cannot upload contracts").into_response();
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut problem = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                if name == "file" {
                    let file_name = field.file_name().map(str::to_string);
                    match field.bytes().await {
                        Ok(b) => file = Some((file_name, b.to_vec())),
                        Err(_) => problem = Some("The file is larger than 25 MB.".to_string()),
                    }
                } else if let Ok(t) = field.text().await {
                    fields.insert(name, t);
                }
            }
            Ok(None) => break,
            Err(_) => {
                problem = Some("The upload was interrupted or is larger than 25 MB.".into());
                break;
            }
        }
    }
    if !csrf_ok(&v, &fields) {
        return csrf_refused();
    }
    let customer_id = fields
        .get("customer_id")
        .filter(|c| !c.is_empty())
        .and_then(|c| c.parse::<Id>().ok());
    let outcome = match (problem, file) {
        (Some(p), _) => Err(p),
        (None, None) => Err("Choose a file to upload.".to_string()),
        (None, Some((file_name, bytes))) => contracts::upload(
            &s.app,
            contracts::Upload {
                file_name,
                bytes,
                customer_id,
            },
        )
        .await
        .map_err(|e| e.to_string()),
    };
    match outcome {
        Ok(c) => Redirect::to(&format!("/contracts/{}", c.id)).into_response(),
        Err(message) => {
            let customers = customer_options(&s).await.unwrap_or_default();
            let mut r = render(&UploadPage {
                frame: v.frame("customers"),
                customers,
                selected: customer_id.map(|c| c.to_string()).unwrap_or_default(),
                error: Some(message),
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}

struct FieldRow {
    label: String,
    value: String,
    confidence: String,
    evidence: Option<usize>,
    page: usize,
}

#[derive(Template)]
#[template(path = "contract.html")]
struct ReviewPage {
    frame: Frame,
    id: Id,
    file_name: String,
    status: String,
    parsing: bool,
    reviewable: bool,
    can_edit: bool,
    engine: Option<String>,
    customer: Option<(Id, String)>,
    fields: Vec<FieldRow>,
    missing: Vec<String>,
    next_steps: Vec<String>,
    notes: Vec<String>,
    segments: Vec<(String, Option<(usize, String)>)>,
    company_name: String,
    arr: String,
    start_date: String,
    end_date: String,
    message: Option<String>,
    error: Option<String>,
}

/// "1 year", "90 days".
fn span_text(v: &Value) -> String {
    let n = v["count"].as_u64().unwrap_or(0);
    let unit = v["unit"].as_str().unwrap_or("");
    if n == 1 {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{n} {unit}")
    }
}

/// A fact's value as the reviewer reads it.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "not stated".into(),
        Value::String(s) => s.clone(),
        Value::Object(_) if v.get("count").is_some() => span_text(v),
        Value::Object(o) if o.contains_key("auto_renew") => format!(
            "{}{}",
            if o["auto_renew"].as_bool() == Some(true) {
                "renews automatically"
            } else {
                "renews by agreement"
            },
            o.get("renewal_term")
                .filter(|t| !t.is_null())
                .map(|t| format!(", {} terms", span_text(t)))
                .unwrap_or_default()
        ),
        Value::Object(o) if o.contains_key("item") => format!(
            "{} × {} {} at {} = {} ({})",
            o["item"].as_str().unwrap_or(""),
            o["quantity"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| o["quantity"].to_string()),
            o["unit"].as_str().unwrap_or(""),
            o["unit_price"],
            o["total"],
            o["billing_frequency"]
                .as_str()
                .unwrap_or("frequency not stated")
        ),
        Value::Object(o) if o.contains_key("name") => [
            o["name"].as_str(),
            o.get("title").and_then(Value::as_str),
            o.get("email").and_then(Value::as_str),
            o.get("defined_as").and_then(Value::as_str),
            o.get("side").and_then(Value::as_str),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        other => other.to_string().trim_matches('"').to_string(),
    }
}

pub(super) async fn review(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return not_found("contract");
    };
    review_page(&s, v, id, q.get("message").cloned(), None)
        .await
        .into_response()
}

async fn review_page(
    s: &AppState,
    v: super::Visitor,
    id: Id,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let c = match cscx_core::portfolio::get_contract(&s.app, id).await {
        Ok(c) => c,
        Err(cscx_core::CoreError::NotFound(_)) => return Ok(not_found("contract")),
        Err(e) => return Err(e.into()),
    };
    let customer = match c.customer_id {
        Some(cid) => {
            let mut conn = s.app.db.conn().await?;
            entity::get::<Customer>(conn.c(), cid)
                .await
                .ok()
                .flatten()
                .map(|cu| (cu.id, cu.name))
        }
        None => None,
    };
    let parsed = c.parsed_data.clone().unwrap_or(Value::Null);
    let x = &parsed["extraction"];
    let labels: [(&str, &str); 14] = [
        ("company_name", "Customer"),
        ("agreement_date", "Agreement date"),
        ("effective_date", "Effective date"),
        ("end_date", "End date"),
        ("initial_term", "Initial term"),
        ("renewal", "Renewal"),
        ("notice_period", "Notice to stop renewal"),
        ("governing_law", "Governing law"),
        ("currency", "Currency"),
        ("arr", "ARR"),
        ("total_contract_value", "Total contract value"),
        ("payment_terms", "Payment terms"),
        ("title", "Title"),
        ("start_date", "Start date"),
    ];
    let mut fields = Vec::new();
    let mut spans: Vec<(usize, usize, usize, String)> = Vec::new();
    let mut add = |label: String, fact: &Value, fields: &mut Vec<FieldRow>| {
        let ev = &fact["evidence"][0];
        let evidence = ev["start"].as_u64().map(|start| {
            let idx = spans.len();
            spans.push((
                start as usize,
                ev["end"].as_u64().unwrap_or(start) as usize,
                idx,
                label.clone(),
            ));
            idx
        });
        fields.push(FieldRow {
            value: show(&fact["value"]),
            confidence: fact["confidence"]
                .as_f64()
                .map(|c| format!("{:.0}%", c * 100.0))
                .unwrap_or_default(),
            page: ev["page"].as_u64().unwrap_or(1) as usize,
            evidence,
            label,
        });
    };
    if !x.is_null() {
        for (key, label) in labels {
            add(label.to_string(), &x[key], &mut fields);
        }
        for (list, label) in [
            ("parties", "Party"),
            ("line_items", "Line item"),
            ("stakeholders", "Stakeholder"),
        ] {
            for f in x[list].as_array().into_iter().flatten() {
                add(label.to_string(), f, &mut fields);
            }
        }
    }
    // The document with the evidence marked (earliest first; overlapping spans are skipped).
    let text: Vec<char> = c.raw_text.clone().unwrap_or_default().chars().collect();
    spans.sort();
    let mut segments = Vec::new();
    let mut at = 0;
    for (start, end, idx, label) in spans {
        if start < at || end > text.len() || start >= end {
            continue;
        }
        segments.push((text[at..start].iter().collect::<String>(), None));
        segments.push((
            text[start..end].iter().collect::<String>(),
            Some((idx, label)),
        ));
        at = end;
    }
    segments.push((text[at.min(text.len())..].iter().collect::<String>(), None));
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let mut notes = strings(&x["engine_notes"]);
    if let Some(e) = parsed["error"].as_str() {
        notes.push(e.to_string());
    }
    Ok(render(&ReviewPage {
        frame: v.frame("customers"),
        id,
        file_name: c.file_name.clone().unwrap_or_else(|| "contract".into()),
        parsing: c.status == "parsing",
        reviewable: c.status == "parsed",
        can_edit: v.principal.role >= Role::Csm,
        engine: parsed["engine"].as_str().map(str::to_string),
        customer,
        fields,
        missing: strings(&x["missing_info"]),
        next_steps: strings(&x["next_steps"]),
        notes,
        segments,
        company_name: c.company_name.clone().unwrap_or_default(),
        arr: c.arr.map(|a| a.0.to_string()).unwrap_or_default(),
        start_date: c.start_date.map(|d| d.to_string()).unwrap_or_default(),
        end_date: c.end_date.map(|d| d.to_string()).unwrap_or_default(),
        status: c.status,
        message,
        error,
    }))
}

/// The review page with the error of a refused action, under the error's status.
async fn review_with_error(
    s: &AppState,
    v: super::Visitor,
    id: Id,
    e: cscx_core::CoreError,
) -> Response {
    let Some(status) = super::user_error_status(&e) else {
        return failure(e);
    };
    let mut r = review_page(s, v, id, None, Some(e.to_string()))
        .await
        .into_response();
    *r.status_mut() = status;
    r
}

/// Corrections: only fields that changed are sent, so each becomes one recorded correction.
pub(super) async fn edit(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "contract") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let current = match cscx_core::portfolio::get_contract(&s.app, id).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let now = |k: &str| -> String {
        match k {
            "company_name" => current.company_name.clone().unwrap_or_default(),
            "arr" => current.arr.map(|a| a.0.to_string()).unwrap_or_default(),
            "start_date" => current
                .start_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            _ => current.end_date.map(|d| d.to_string()).unwrap_or_default(),
        }
    };
    let mut body = Map::new();
    for k in ["company_name", "arr", "start_date", "end_date"] {
        let sent = form
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if sent != now(k) {
            body.insert(
                k.into(),
                if sent.is_empty() {
                    Value::Null
                } else {
                    json!(sent)
                },
            );
        }
    }
    if body.is_empty() {
        return Redirect::to(&format!("/contracts/{id}")).into_response();
    }
    match contracts::correct(&s.app, v.principal.user_id, id, &Value::Object(body)).await {
        Ok(_) => {
            Redirect::to(&format!("/contracts/{id}?message=Corrections%20saved")).into_response()
        }
        Err(e) => review_with_error(&s, v, id, e).await,
    }
}

pub(super) async fn confirm(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "contract") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let options = contracts::ConfirmOptions {
        create_customer: Some(true),
        overwrite_customer: form.get("overwrite_customer").is_some_and(|x| x == "1"),
    };
    match contracts::confirm(&s.app, v.principal.user_id, id, options).await {
        Ok(r) => {
            let m = format!(
                "Confirmed: {} entitlement(s), {} new and {} updated stakeholder(s){}.",
                r.entitlements_created,
                r.stakeholders_created,
                r.stakeholders_updated,
                if r.customer_created {
                    ", a new customer"
                } else {
                    ""
                }
            );
            Redirect::to(&format!("/contracts/{id}?message={}", super::urlencode(&m)))
                .into_response()
        }
        Err(e) => review_with_error(&s, v, id, e).await,
    }
}

pub(super) async fn reextract(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "contract") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    match contracts::reextract(&s.app, id).await {
        Ok(_) => Redirect::to(&format!("/contracts/{id}")).into_response(),
        Err(e) => review_with_error(&s, v, id, e).await,
    }
}
