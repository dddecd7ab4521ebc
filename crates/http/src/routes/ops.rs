//! Operations endpoints: liveness, readiness and Prometheus metrics. Unauthenticated, as load
//! balancers and scrapers expect; they reveal no portfolio data.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    pub database: String,
    pub migrations: String,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = Health)))]
async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        database: "not checked".into(),
        migrations: "not checked".into(),
    })
}

/// The database answers and its schema is what this binary expects.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn ready(State(s): State<AppState>) -> Response {
    let database = match s.app.db.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("unreachable: {e}"),
    };
    let migrations = match cscx_store::migrate::pending(&s.app.db).await {
        Ok(p) if p.is_empty() => "current".to_owned(),
        Ok(p) => format!("pending: {p:?}"),
        Err(e) => format!("unknown: {e}"),
    };
    let ok = database == "ok" && migrations == "current";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        database,
        migrations,
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    s.metrics.render_requests(&mut out);
    let (size, idle) = s.app.db.pool_stats();
    out.push_str("# HELP cscx_db_pool_connections Database connections in the pool, by state.\n");
    out.push_str("# TYPE cscx_db_pool_connections gauge\n");
    let _ = writeln!(out, "cscx_db_pool_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(
        out,
        "cscx_db_pool_connections{{state=\"in_use\"}} {}",
        size as usize - idle.min(size as usize)
    );
    if let Ok(q) = s.app.queue.stats().await {
        out.push_str("# HELP cscx_jobs Background jobs, by status.\n# TYPE cscx_jobs gauge\n");
        for (status, n) in [
            ("queued", q.queued),
            ("running", q.running),
            ("done", q.done),
            ("dead", q.dead),
        ] {
            let _ = writeln!(out, "cscx_jobs{{status=\"{status}\"}} {n}");
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
