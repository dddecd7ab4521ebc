//! The portfolio home page.

use super::*;

#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    nav: &'static str,
    user: String,
    role: Role,
    csrf: String,
    s: cscx_core::dashboard::Summary,
    health_chart: String,
}

pub(super) async fn home(State(s): State<AppState>, Page(v): Page) -> Response {
    let summary = match cscx_core::dashboard::summary(&s.app, v.principal.role).await {
        Ok(x) => x,
        Err(e) => return failure(e),
    };
    let health_chart = charts::bands(summary.green, summary.yellow, summary.red, summary.unscored);
    render(&HomePage {
        nav: "home",
        user: v.name(),
        role: v.principal.role,
        csrf: v.csrf,
        s: summary,
        health_chart,
    })
}
