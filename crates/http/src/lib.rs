//! The CSCX HTTP server: the JSON API under `/api/v1`, operations endpoints, and the API
//! reference. Every route is registered together with its OpenAPI description (utoipa-axum),
//! so the document cannot miss a route.

pub mod apidoc;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, HttpConfig};

#[derive(OpenApi)]
#[openapi(
    info(title = "CSCX", description = "Open-source customer-success platform: portfolio, health, contracts and agents."),
    components(schemas(error::ErrorBody)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API token from `cscx token create`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(middleware::SESSION_COOKIE))),
        );
    }
}

/// All routes with their documentation.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::ops::router())
        .merge(routes::docs::router())
        .merge(routes::auth::router())
        .merge(routes::audit::router())
        .merge(routes::users::router())
        .merge(routes::customers::router())
        .merge(routes::contracts::router())
        .merge(routes::intelligence::router())
        .merge(routes::segment::router())
        .merge(routes::integrations::router())
        .merge(routes::tasks::router())
        .merge(routes::timeline::router())
        .merge(routes::agents::router())
}

/// The OpenAPI document alone (for tests and `cscx openapi`), as served.
pub fn openapi() -> serde_json::Value {
    apidoc::refine(serde_json::to_value(api().into_openapi()).expect("the document serialises"))
}

/// Unknown routes: JSON for API clients, a styled page for a browser.
async fn not_found(req: axum::extract::Request) -> Response {
    let path = req.uri().path();
    let api = path.starts_with("/api/") || path.starts_with("/v1/") || path.starts_with("/health");
    let wants_html = req
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !api && wants_html {
        return web::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "There is no page at this address.",
        );
    }
    ApiError::not_found("route").into_response()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal("internal error").into_response()
}

/// The complete application: routes, middleware and shared state.
pub fn app(state: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    let doc = apidoc::refine(serde_json::to_value(&doc).expect("the document serialises"));
    let docs = Arc::new(routes::docs::ApiDocs::new(doc));
    let request_id = HeaderName::from_static("x-request-id");
    router
        .merge(web::router())
        .fallback(not_found)
        // Innermost first: these run per route, after routing, so metrics see the route template.
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::idempotency))
        .layer(axum::middleware::from_fn(middleware::refuse_nul_in_forms))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::limit_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::authenticate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(Extension(docs))
        // Bodies are bounded once, per route, by `middleware::limit_body`; the extractors'
        // own default (2 MB for every route alike) would be a second, disagreeing limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serves `router` on `listener` until `shutdown` completes; requests in flight then finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY a streamed response's small writes wait on delayed ACKs (~40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
