//! The whole product in-process over a real socket ([`TestApp`]), on SQLite and (when
//! configured) PostgreSQL: what the API, web and capability suites drive.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::TestDb;
use cscx_core::agents::AgentSettings;
use cscx_core::audit::Actor;
use cscx_core::auth::AuthConfig;
use cscx_core::secrets::MasterKey;
use cscx_core::App;
use cscx_domain::{FakeClock, Role, TokenScope};
use cscx_http::{AppState, HttpConfig};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: App,
    pub clock: FakeClock,
    pub db: TestDb,
    pub admin: String,
    server: tokio::task::JoinHandle<()>,
    _blobs: crate::TempDir,
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> TestApp {
        Self::spawn_with(db, HttpConfig::default()).await
    }

    pub async fn spawn_with(db: TestDb, http: HttpConfig) -> TestApp {
        Self::spawn_configured(db, http, |agents| agents).await
    }

    /// With the agents' settings changed, e.g. `|a| a.with_mail(transport)`.
    pub async fn spawn_configured(
        db: TestDb,
        http: HttpConfig,
        agents: impl FnOnce(AgentSettings) -> AgentSettings,
    ) -> TestApp {
        let clock = FakeClock::at(Utc::now());
        let blobs = crate::TempDir::new("cscx-blobs");
        let app = App::new(
            db.db.clone(),
            Arc::new(clock.clone()),
            MasterKey::generate(),
            AuthConfig::default(),
            cscx_core::contracts::ContractSettings {
                vendor_name: Some("Northwind Analytics".into()),
                ..cscx_core::contracts::ContractSettings::in_dir(blobs.path())
            },
            agents(AgentSettings::in_dir(blobs.path().join("outbox"))),
        );
        let state = AppState::new(app.clone(), http);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            cscx_http::serve(listener, cscx_http::app(state), std::future::pending())
                .await
                .unwrap();
        });
        let client = reqwest::Client::builder().build().unwrap();
        let mut t = TestApp {
            base,
            client,
            app,
            clock,
            db,
            admin: String::new(),
            server,
            _blobs: blobs,
        };
        t.admin = t
            .token_for("admin@test.example", Role::Admin, None, TokenScope::Full)
            .await;
        t
    }

    /// Creates the user if needed and returns a new API token secret.
    pub async fn token_for(
        &self,
        email: &str,
        role: Role,
        token_role: Option<Role>,
        scope: TokenScope,
    ) -> String {
        if self.app.auth.user_by_email(email).await.unwrap().is_none() {
            self.app
                .auth
                .create_user(
                    email,
                    None,
                    role,
                    Some("a long enough password"),
                    &Actor::cli(),
                )
                .await
                .unwrap();
        }
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        self.app
            .auth
            .create_token(email, &name, token_role, scope, None, &Actor::cli())
            .await
            .unwrap()
            .1
    }

    pub async fn token(&self, role: Role) -> String {
        self.token_for(
            &format!("{role}@test.example"),
            role,
            None,
            TokenScope::Full,
        )
        .await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&self.admin.clone()), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&self.admin.clone()), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(&self.admin.clone()), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(&self.admin.clone()), None)
            .await
    }

    pub async fn customer(&self, body: Value) -> Value {
        let (s, v) = self.post("/api/v1/customers", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Signs `email` in (password "a long enough password") and returns its session cookie as
    /// a `Cookie` header value.
    pub async fn session_cookie(&self, email: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"email": email, "password": "a long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "signing in {email}");
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("cscx_session="))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string()
    }

    /// Runs every due background job (rollups, rescoring) to completion.
    pub async fn drain_jobs(&self) -> usize {
        self.app.drain_jobs(1).await.unwrap()
    }

    /// Posts a batch of usage events.
    pub async fn ingest(&self, events: Value) -> (StatusCode, Value) {
        self.post("/api/v1/usage/events", events).await
    }

    /// Today by the test clock.
    pub fn today(&self) -> NaiveDate {
        cscx_domain::Clock::now(&self.clock).date_naive()
    }

    /// Logins and feature use for `users` users on each of the `days` days ending `end_age`
    /// days ago.
    pub fn activity(
        &self,
        customer: &str,
        users: usize,
        days: std::ops::RangeInclusive<i64>,
        tag: &str,
    ) -> Vec<Value> {
        let today = self.today();
        let mut out = Vec::new();
        for age in days {
            let day = today - Duration::days(age);
            let ts = day.and_hms_opt(10, 0, 0).unwrap().and_utc().to_rfc3339();
            for u in 0..users {
                out.push(json!({"event_id": format!("{tag}-{age}-{u}"), "customer_id": customer, "event_type": "login", "user_id": format!("u{u}"), "timestamp": ts}));
                out.push(json!({"event_id": format!("{tag}-{age}-{u}-f"), "customer_id": customer, "event_type": "feature_used", "user_id": format!("u{u}"), "timestamp": ts, "metadata": {"feature": format!("f{}", u % 5)}}));
            }
        }
        out
    }

    pub async fn finish(self) {
        self.server.abort();
        self.db.finish().await;
    }
}

pub async fn each_backend() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDb::all().await {
        apps.push(TestApp::spawn(db).await);
    }
    apps
}

pub fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}
