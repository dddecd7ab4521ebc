//! The portfolio home page.

use super::*;

#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    frame: Frame,
    s: cscx_core::dashboard::Summary,
    health_chart: String,
}

pub(super) async fn home(State(s): State<AppState>, Page(v): Page) -> Result<Response, PageError> {
    let summary = cscx_core::dashboard::summary(&s.app, v.principal.role).await?;
    let health_chart = charts::bands(summary.green, summary.yellow, summary.red, summary.unscored);
    Ok(render(&HomePage {
        frame: v.frame("home"),
        s: summary,
        health_chart,
    }))
}
