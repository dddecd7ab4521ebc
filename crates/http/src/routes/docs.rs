//! The OpenAPI document and a readable, offline HTML rendering of it (no CDN, no scripts).

use std::fmt::Write;
use std::sync::Arc;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The document, rendered once at start-up.
pub struct ApiDocs {
    pub json: String,
    pub html: String,
}

impl ApiDocs {
    pub fn new(value: Value) -> ApiDocs {
        ApiDocs {
            json: serde_json::to_string_pretty(&value).expect("JSON"),
            html: render(&value),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(docs_page))
}

/// This API's OpenAPI 3 document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "documentation", responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(docs): Extension<Arc<ApiDocs>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        docs.json.clone(),
    )
        .into_response()
}

/// The API reference as a web page.
#[utoipa::path(get, path = "/api/docs", tag = "documentation", responses((status = 200, content_type = "text/html", body = String)))]
async fn docs_page(Extension(docs): Extension<Arc<ApiDocs>>) -> Html<String> {
    Html(docs.html.clone())
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A short human description of a schema: a type name, a `$ref` target, or `list of …`.
fn schema_label(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(one_of) = s.get("oneOf").and_then(Value::as_array) {
        return one_of
            .iter()
            .map(schema_label)
            .collect::<Vec<_>>()
            .join(" or ");
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    if ty.starts_with("array") {
        if let Some(items) = s.get("items") {
            return format!("list of {}", schema_label(items));
        }
    }
    match s.get("format").and_then(Value::as_str) {
        Some(f) => format!("{} ({})", escape(&ty), escape(f)),
        None => escape(&ty),
    }
}

fn render(doc: &Value) -> String {
    let mut h = String::new();
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} API reference</title><style>{css}</style></head><body><main>\
         <h1>{t} API reference <small>v{v}</small></h1>\
         <p>Machine-readable document: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3). \
         Authenticate with <code>Authorization: Bearer &lt;API token&gt;</code> or a session cookie from \
         <code>POST /api/v1/auth/login</code> (then send <code>X-CSRF-Token</code> on writes). Errors are \
         <code>{{\"error\": {{\"code\", \"message\", \"details\"}}}}</code>.</p><nav><h2>Operations</h2><ul>",
        t = escape(title),
        v = escape(version),
        css = CSS
    );
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut ops = Vec::new();
    for (path, item) in &paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                ops.push((path.clone(), method, op.clone()));
            }
        }
    }
    for (i, (path, method, op)) in ops.iter().enumerate() {
        let _ = write!(
            h,
            "<li><a href=\"#op-{i}\"><span class=\"m {method}\">{}</span> {}</a></li>",
            method.to_uppercase(),
            escape(path)
        );
        let _ = op;
    }
    h.push_str("</ul></nav>");
    for (i, (path, method, op)) in ops.iter().enumerate() {
        let _ = write!(
            h,
            "<section id=\"op-{i}\"><h2><span class=\"m {method}\">{}</span> <code>{}</code></h2>",
            method.to_uppercase(),
            escape(path)
        );
        for key in ["summary", "description"] {
            if let Some(t) = op.get(key).and_then(Value::as_str) {
                let _ = write!(h, "<p>{}</p>", escape(t));
            }
        }
        if let Some(params) = op.get("parameters").and_then(Value::as_array) {
            h.push_str("<table><caption>Parameters</caption><tr><th scope=\"col\">Name</th><th scope=\"col\">In</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr>");
            for p in params {
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(p.get("name").and_then(Value::as_str).unwrap_or("")),
                    escape(p.get("in").and_then(Value::as_str).unwrap_or("")),
                    p.get("schema").map(schema_label).unwrap_or_default(),
                    if p.get("required").and_then(Value::as_bool).unwrap_or(false) {
                        "yes"
                    } else {
                        "no"
                    },
                    escape(p.get("description").and_then(Value::as_str).unwrap_or("")),
                );
            }
            h.push_str("</table>");
        }
        if let Some(content) = op
            .pointer("/requestBody/content")
            .and_then(Value::as_object)
        {
            for (ct, media) in content {
                let _ = write!(
                    h,
                    "<p>Request body ({}): {}</p>",
                    escape(ct),
                    media.get("schema").map(schema_label).unwrap_or_default()
                );
            }
        }
        if let Some(responses) = op.get("responses").and_then(Value::as_object) {
            h.push_str("<table><caption>Responses</caption><tr><th scope=\"col\">Status</th><th scope=\"col\">Body</th></tr>");
            for (status, r) in responses {
                let body = r
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|c| c.values().next())
                    .and_then(|m| m.get("schema"))
                    .map(schema_label)
                    .unwrap_or_else(|| "—".into());
                let _ = write!(h, "<tr><td>{}</td><td>{body}</td></tr>", escape(status));
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }
    h.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            let _ = write!(h, "<section id=\"schema-{0}\"><h3>{0}</h3>", escape(name));
            if let Some(d) = s.get("description").and_then(Value::as_str) {
                let _ = write!(h, "<p>{}</p>", escape(d));
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                let required: Vec<&str> = s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                h.push_str("<table><tr><th scope=\"col\">Field</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr>");
                for (field, fs) in props {
                    let _ = write!(
                        h,
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(field),
                        schema_label(fs),
                        if required.contains(&field.as_str()) {
                            "yes"
                        } else {
                            "no"
                        },
                        escape(fs.get("description").and_then(Value::as_str).unwrap_or("")),
                    );
                }
                h.push_str("</table>");
            }
            h.push_str("</section>");
        }
    }
    h.push_str("</main></body></html>");
    h
}

const CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;background:#f7f8fa}\
main{max-width:960px;margin:0 auto;padding:1.5rem}h1 small{font-size:.5em;color:#56606f}\
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}caption{text-align:left;font-weight:600}\
th,td{border-bottom:1px solid #e3e6ea;padding:.25rem .5rem;text-align:left;vertical-align:top}\
code{font-family:ui-monospace,monospace}.m{display:inline-block;min-width:4.2em;font:600 12px ui-monospace,monospace;padding:1px 4px;border-radius:3px;color:#fff}\
.get{background:#1f6f43}.post{background:#1d4f91}.patch{background:#7a4b00}.delete{background:#9b1c1c}.put{background:#5b2c83}\
a{color:#1d4f91}a:focus{outline:2px solid #1d4f91;outline-offset:2px}nav ul{columns:2}";
