//! The customer list: filters, sorting, paging.

use super::*;

pub(super) struct Row {
    id: Id,
    name: String,
    stage: String,
    band: &'static str,
    health: String,
    arr: String,
    renewal: String,
    segment: String,
}

pub(super) fn band(c: &Customer) -> &'static str {
    cscx_core::agents::tools::band(c)
}

pub(super) fn health_text(c: &Customer) -> String {
    match c.health_score {
        Some(s) => format!("{s} {}", band(c)),
        None => "not scored".into(),
    }
}

pub(super) fn money(m: &Option<cscx_store::Money>) -> String {
    match m {
        Some(m) => format!("${}", cscx_domain::money::whole(m.0)),
        None => "—".into(),
    }
}

#[derive(Template)]
#[template(path = "customers.html")]
pub(super) struct CustomersPage {
    frame: Frame,
    q: String,
    stage: String,
    band: String,
    renewal_within: String,
    sort: String,
    /// This list as CSV.
    csv_link: String,
    /// "12 customers · $1,240,000.00 ARR": the whole filtered list, every page.
    totals: String,
    with_churned: bool,
    mine: bool,
    segment: String,
    csm: String,
    csms: Vec<(String, String)>,
    /// Column headers; sortable ones link to the list sorted by them.
    headers: Vec<(&'static str, Option<String>)>,
    stages: Vec<&'static str>,
    bands: Vec<&'static str>,
    sorts: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    next: Option<String>,
    error: Option<String>,
}

pub(super) async fn customers(
    State(s): State<AppState>,
    Page(v): Page,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| p.get(k).map(|x| x.trim().to_string()).unwrap_or_default();
    let (q, stage, band_sel, within, sort_key) = (
        get("q"),
        get("stage"),
        get("band"),
        get("renewal_within"),
        get("sort"),
    );
    let mine = p.get("mine").is_some_and(|m| m == "1");
    // Churned accounts are out of the default view, unless asked for.
    let with_churned = p.get("churned").is_some_and(|m| m == "1");
    let (segment, csm) = (get("segment"), get("csm"));
    let mut error = None;
    let mut f = CustomerFilter {
        q: (!q.is_empty()).then(|| q.clone()),
        stage: (!stage.is_empty()).then(|| stage.clone()),
        csm_id: if mine {
            Some(v.principal.user_id)
        } else {
            csm.parse().ok()
        },
        segment: (!segment.is_empty()).then(|| segment.clone()),
        exclude_churned: !with_churned && stage.is_empty(),
        ..Default::default()
    };
    match band_sel.as_str() {
        "unscored" => f.unscored = true,
        b => f.band = b.parse().ok(),
    }
    let today = s.app.clock.now().date_naive();
    if !within.is_empty() {
        match within.parse::<i64>() {
            Ok(d) if (1..=3650).contains(&d) => {
                f.renewal_after = Some(today);
                f.renewal_before = Some(today + chrono::Duration::days(d));
            }
            _ => error = Some("Renews within must be a number of days from 1 to 3650.".to_string()),
        }
    }
    // The list opens sorted by name, as its sort control says.
    let sort_key = if sort_key.is_empty() {
        "name".to_owned()
    } else {
        sort_key
    };
    let sort = Sort::parse(&sort_key).unwrap_or_else(|| Sort::parse("name").expect("a sort"));
    // The same list as CSV, from the API (the session signs the request).
    let mut csv: Vec<(String, String)> = vec![
        ("format".into(), "csv".into()),
        ("sort".into(), sort_key.clone()),
    ];
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            csv.push((k.into(), v));
        }
    };
    put("q", f.q.clone());
    put("stage", f.stage.clone());
    put("segment", f.segment.clone());
    put("csm_id", f.csm_id.map(|i| i.to_string()));
    put(
        "band",
        f.band
            .map(|b| b.to_string())
            .or(f.unscored.then(|| "unscored".into())),
    );
    put("exclude_churned", f.exclude_churned.then(|| "true".into()));
    put("renewal_after", f.renewal_after.map(|d| d.to_string()));
    put("renewal_before", f.renewal_before.map(|d| d.to_string()));
    let csv_link = format!(
        "/api/v1/customers?{}",
        csv.iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let cursor = p.get("cursor").and_then(|c| decode_cursor(c));
    let (rows, next) =
        cscx_core::portfolio::list_customers(&s.app, &f, sort, cursor.as_ref(), 50).await?;
    let (matching, arr_total) = cscx_core::portfolio::customer_totals(&s.app, &f).await?;
    let totals = format!(
        "{matching} {} · {} ARR",
        if matching == 1 {
            "customer"
        } else {
            "customers"
        },
        money(&Some(arr_total))
    );
    // A cursor belongs to one sort and one set of filters: links that change either drop it.
    let next = next.map(|c| customers_url(&p, &[("cursor", encode_cursor(&c))]));
    let rows = rows
        .into_iter()
        .map(|c| Row {
            id: c.id,
            band: band(&c),
            health: health_text(&c),
            arr: money(&c.arr),
            renewal: c
                .renewal_date
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
            segment: c.segment.clone().unwrap_or_else(|| "—".into()),
            name: c.name,
            stage: c.stage.to_string(),
        })
        .collect();
    let csms = cscx_core::users::list(&s.app, None, 500)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.role != "viewer")
        .map(|u| (u.id.to_string(), u.name.unwrap_or(u.email)))
        .collect();
    // Sorting by a column keeps the filters and starts from the first page.
    let sort_link = |key: &str| {
        Some(customers_url(
            &p,
            &[("sort", key.to_string()), ("cursor", String::new())],
        ))
    };
    let headers = vec![
        ("Name", sort_link("name")),
        ("Stage", None),
        ("Health", sort_link("health_score")),
        ("ARR", sort_link("-arr")),
        ("Renewal", sort_link("renewal_date")),
        ("Segment", None),
    ];
    Ok(render(&CustomersPage {
        frame: v.frame("customers"),
        segment,
        csm,
        csms,
        headers,
        q,
        stage,
        band: band_sel,
        renewal_within: within,
        sort: sort_key,
        csv_link,
        totals,
        with_churned,
        mine,
        stages: vec!["prospect", "onboarding", "active", "at_risk", "churned"],
        bands: vec!["green", "yellow", "red", "unscored"],
        sorts: vec![
            ("name", "Name"),
            ("health_score", "Health (lowest first)"),
            ("-arr", "ARR (highest first)"),
            ("renewal_date", "Renewal date"),
            ("-updated_at", "Recently updated"),
        ],
        rows,
        next,
        error,
    }))
}

/// `/customers` with the current query, `set` applied (an empty value removes the parameter).
pub(super) fn customers_url(current: &HashMap<String, String>, set: &[(&str, String)]) -> String {
    let mut params: Vec<(String, String)> = current
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(
            set.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.clone())),
        )
        .collect();
    params.sort();
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    format!("/customers?{}", query.join("&"))
}
