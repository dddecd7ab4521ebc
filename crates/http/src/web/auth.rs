//! Signing in and out of the workspace.

use super::*;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    email: String,
    error: Option<String>,
}

pub(super) async fn login_page() -> Response {
    render(&LoginPage {
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
}

pub(super) async fn login(State(s): State<AppState>, req: Request) -> Response {
    let ip = crate::middleware::client_ip(&req, s.config.trust_proxy);
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let device = crate::middleware::cookie_value(&req, crate::middleware::DEVICE_COOKIE);
    let f = match <Form<LoginForm> as axum::extract::FromRequest<()>>::from_request(req, &()).await
    {
        Ok(Form(f)) => f,
        Err(rejection) => {
            let mut r = render(&LoginPage {
                email: String::new(),
                error: Some("Enter your e-mail and password.".into()),
            });
            *r.status_mut() = rejection.status();
            return r;
        }
    };
    match s
        .app
        .auth
        .login(cscx_core::auth::LoginRequest {
            email: &f.email,
            password: &f.password,
            ip: ip.as_deref(),
            user_agent: ua.as_deref(),
            device_cookie: device.as_deref(),
        })
        .await
    {
        Ok(signed_in) => {
            let max_age = s.app.auth.config.session_idle.num_seconds();
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                crate::routes::auth::cookie(&s, &signed_in.session_secret, max_age),
            );
            r.headers_mut().append(
                header::SET_COOKIE,
                crate::routes::auth::device_cookie(&s, &signed_in.device_secret),
            );
            r
        }
        Err(e) => {
            let message = match e {
                cscx_core::CoreError::RateLimited { retry_after_secs } => format!(
                    "Too many attempts. Try again in {} minutes.",
                    retry_after_secs.div_ceil(60)
                ),
                _ => "That e-mail and password do not match an active account.".into(),
            };
            let mut r = render(&LoginPage {
                email: f.email,
                error: Some(message),
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

pub(super) async fn logout(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&v, &form) {
        return csrf_refused();
    }
    if let AuthVia::Session { session_id, .. } = v.principal.via {
        let _ = s.app.auth.logout(session_id).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, crate::routes::auth::cookie(&s, "", 0));
    r
}
