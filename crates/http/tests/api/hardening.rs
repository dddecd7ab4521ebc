//! Issue 11's defects, each tried as an attacker would, on both databases: metric label floods,
//! bodies past a route's limit, secrets in idempotency records, NUL characters and duplicate
//! keys, sign-in lockouts of the innocent, and jobs retried for errors that cannot pass.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cscx_domain::Role;

use crate::agents::count;
use crate::{each_backend, TestApp};

/// Defect 4: unknown methods share one label, so a flood cannot grow `/metrics`.
#[tokio::test]
async fn invented_methods_cannot_grow_the_metrics() {
    for t in each_backend().await {
        for i in 0..300 {
            let m = Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
            t.client
                .request(m, format!("{}/api/v1/customers", t.base))
                .send()
                .await
                .unwrap();
        }
        let text = t
            .client
            .get(format!("{}/metrics", t.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(!text.contains("method=\"X1\""));
        assert!(text.len() < 64 * 1024, "metrics are {} bytes", text.len());
        t.finish().await;
    }
}

/// Sends a request head declaring `length` body bytes and a little of the body; returns the
/// status line the server answers with before the rest arrives.
fn declared_length_status(base: &str, path: &str, length: usize, headers: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n{headers}\r\n{{\"a\":"
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).expect("an answer before the body is sent");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Defect 5 and the 31 MB login form: a body over the route's limit is refused from its declared
/// length, before anything (the Idempotency-Key middleware included) buffers it.
#[tokio::test]
async fn bodies_over_a_routes_limit_are_refused_before_buffering() {
    for t in each_backend().await {
        let ingest = t
            .token_for(
                "pipeline@test.example",
                Role::Csm,
                None,
                cscx_domain::TokenScope::Ingest,
            )
            .await;
        let (base, admin) = (t.base.clone(), t.admin.clone());
        let statuses = tokio::task::spawn_blocking(move || {
            let auth = |tok: &str| {
                format!("Authorization: Bearer {tok}\r\nIdempotency-Key: k1\r\nContent-Type: application/json\r\n")
            };
            [
                declared_length_status(&base, "/api/v1/usage/events", 31 << 20, &auth(&ingest)),
                declared_length_status(&base, "/api/v1/customers", 2 << 20, &auth(&admin)),
                declared_length_status(
                    &base,
                    "/login",
                    31 << 20,
                    "Content-Type: application/x-www-form-urlencoded\r\n",
                ),
            ]
        })
        .await
        .unwrap();
        for line in statuses {
            assert!(line.contains(" 413 "), "{line}");
        }
        // A login form sent without a declared length is cut off at the limit too: 413, not
        // the sign-in page with 200.
        let base = t.base.clone();
        let line = tokio::task::spawn_blocking(move || {
            let addr = base.trim_start_matches("http://").to_string();
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            // Past the 16 kB limit, small enough to sit in the socket buffer whole: the server
            // may answer and close before reading all of it.
            let chunk = format!("email=a%40b.c&password={}", "x".repeat(20_000));
            let request = format!(
                "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
                chunk.len()
            );
            let _ = s.write_all(request.as_bytes());
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            String::from_utf8_lossy(&out).lines().next().unwrap_or("").to_string()
        })
        .await
        .unwrap();
        assert!(line.contains(" 413 "), "{line}");
        t.finish().await;
    }
}

/// Defect 6: a replayed token creation says the secret was shown once; no record keeps it.
#[tokio::test]
async fn idempotency_records_never_hold_token_secrets() {
    for t in each_backend().await {
        t.token(Role::Csm).await;
        let create = || {
            t.client
                .post(format!("{}/api/v1/tokens", t.base))
                .bearer_auth(&t.admin)
                .header("idempotency-key", "token-once")
                .json(&json!({"email": "csm@test.example", "name": "ci"}))
                .send()
        };
        let first: Value = create().await.unwrap().json().await.unwrap();
        let secret = first["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("cscx_"));
        let r = create().await.unwrap();
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        let replay: Value = r.json().await.unwrap();
        assert_eq!(replay["secret"], Value::Null);
        assert_eq!(replay["token"]["id"], first["token"]["id"]);
        assert!(replay["note"].as_str().unwrap().contains("shown once"));
        let stored = count(
            &t,
            &format!("SELECT COUNT(*) FROM idempotency_keys WHERE response_body LIKE '%{secret}%'"),
        )
        .await;
        assert_eq!(stored, 0);
        t.finish().await;
    }
}

/// Defect 7: NUL characters are refused alike on both backends, naming the field, and database
/// errors never reach clients. In an ingestion batch, the event with a NUL is rejected in the
/// report like any invalid event and the others are stored.
#[tokio::test]
async fn nul_characters_and_duplicate_keys_are_refused_alike() {
    for t in each_backend().await {
        let (s, v) = t
            .post("/api/v1/customers", json!({"name": "Acme\u{0} Corp"}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["details"]["name"].is_string(), "{v}");
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "a\u{0}@b.example", "password": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = t.get("/api/v1/customers?q=a%00b").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(count(&t, "SELECT COUNT(*) FROM customers").await, 0);

        // Duplicate keys: which value would count is a guess; refuse it.
        let r = t
            .client
            .post(format!("{}/api/v1/customers", t.base))
            .bearer_auth(&t.admin)
            .header("content-type", "application/json")
            .body(r#"{"name": "A", "name": "B"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("duplicate key"),
            "{v}"
        );

        let c = t.customer(json!({"name": "Acme Corp"})).await;
        let id = c["id"].as_str().unwrap();
        let (s, v) = t
            .post(
                "/api/v1/usage/events",
                json!([
                    {"customer_id": id, "event_type": "login", "event_id": "e1"},
                    {"customer_id": id, "event_type": "log\u{0}in", "event_id": "e2"},
                    {"customer_id": id, "event_type": "login", "metadata": {"k": "\u{0}"}},
                ]),
            )
            .await;
        assert_eq!(s, StatusCode::MULTI_STATUS, "{v}");
        let rejected = v["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 2, "{v}");
        assert_eq!(rejected[0]["index"], 1);
        assert!(rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("event_type"));
        assert!(rejected[1]["reason"]
            .as_str()
            .unwrap()
            .contains("metadata.k"));
        assert_eq!(count(&t, "SELECT COUNT(*) FROM usage_events").await, 1);

        // A web form holding a NUL changes nothing either.
        let r = t
            .client
            .post(format!("{}/login", t.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=a%00%40b.example&password=whatever")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM login_attempts").await, 0);
        t.finish().await;
    }
}

/// Signs in through the API with an optional device cookie; returns the status and the new
/// device cookie the server set, if any.
async fn sign_in(
    t: &TestApp,
    email: &str,
    password: &str,
    device: Option<&str>,
) -> (StatusCode, Option<String>) {
    let mut rb = t
        .client
        .post(format!("{}/api/v1/auth/login", t.base))
        .json(&json!({"email": email, "password": password}));
    if let Some(d) = device {
        rb = rb.header("cookie", format!("cscx_device={d}"));
    }
    let r = rb.send().await.unwrap();
    let device = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("cscx_device="))
        .map(|v| v.split(';').next().unwrap().to_string());
    (r.status(), device)
}

/// Defect 8: an attacker's failures lock out unknown clients (per account, with backoff, and
/// per address), never a browser that signed in to the account before.
#[tokio::test]
async fn failed_sign_ins_cannot_lock_out_a_known_browser() {
    for t in each_backend().await {
        t.token(Role::Csm).await;
        let user = "csm@test.example";
        let good = "a long enough password";
        let (s, device) = sign_in(&t, user, good, None).await;
        assert_eq!(s, StatusCode::OK);
        let device = device.expect("a device cookie");

        // The attacker guesses this account's password from the same (proxy) address.
        for _ in 0..6 {
            let (s, _) = sign_in(&t, user, "wrong guess", None).await;
            assert!(matches!(
                s,
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ));
        }
        let (s, _) = sign_in(&t, user, good, None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "unknown clients wait");
        let (s, rotated) = sign_in(&t, user, good, Some(&device)).await;
        assert_eq!(s, StatusCode::OK, "the known browser gets in");
        let rotated = rotated.expect("the device cookie is rotated");
        assert_ne!(rotated, device);
        let (s, _) = sign_in(&t, user, good, Some(&device)).await;
        assert_eq!(
            s,
            StatusCode::TOO_MANY_REQUESTS,
            "the old device cookie is spent and counts as an unknown client"
        );

        // Then floods the address with guesses for other accounts.
        for i in 0..30 {
            sign_in(&t, &format!("nobody{i}@test.example"), "x", None).await;
        }
        t.token(Role::Manager).await;
        let (s, _) = sign_in(&t, "manager@test.example", good, None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the address is throttled");
        let (s, mine) = sign_in(&t, user, good, Some(&rotated)).await;
        assert_eq!(s, StatusCode::OK, "the known browser is exempt");

        // A known device has a limit of its own.
        let mine = mine.unwrap();
        for _ in 0..5 {
            let (s, _) = sign_in(&t, user, "wrong", Some(&mine)).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        let (s, _) = sign_in(&t, user, good, Some(&mine)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        t.finish().await;
    }
}

/// Jobs: an error that cannot pass (a missing record) ends the job at its first attempt.
#[tokio::test]
async fn permanent_job_errors_are_not_retried() {
    for t in each_backend().await {
        let missing = cscx_store::Id::new();
        t.app
            .queue
            .enqueue(cscx_jobs::queue::NewJob::new(
                cscx_core::contracts::EXTRACT_JOB,
                json!({ "contract_id": missing }),
            ))
            .await
            .unwrap();
        t.app.drain_jobs(1).await.unwrap();
        let dead = t.app.queue.list("dead", 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].attempts, 1, "{:?}", dead[0].last_error);
        t.finish().await;
    }
}

/// A writer cannot point a contract at a stored file it did not upload (the blob key would let
/// it download another contract's document through its own).
#[tokio::test]
async fn file_url_cannot_name_a_stored_file() {
    for t in each_backend().await {
        let csm = t.token(Role::Csm).await;
        let blob = format!("blob:sha256:{}", "ab".repeat(32));
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/contracts",
                Some(&csm),
                Some(json!({"company_name": "Acme", "file_url": blob})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["details"]["file_url"].is_string(), "{v}");
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/contracts",
                Some(&csm),
                Some(json!({"company_name": "Acme", "file_url": "https://drive.example/msa.pdf"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap();
        let (s, _) = t
            .call(
                Method::PATCH,
                &format!("/api/v1/contracts/{id}"),
                Some(&csm),
                Some(json!({"file_url": blob})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = t
            .call(
                Method::GET,
                &format!("/api/v1/contracts/{id}/file"),
                Some(&csm),
                None,
            )
            .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "an external link has no stored file"
        );
        t.finish().await;
    }
}

/// Per-token rate limits: past its burst a token gets 429 with Retry-After; another token is
/// unaffected.
#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    for db in cscx_testkit::TestDb::all().await {
        let http = cscx_http::HttpConfig {
            rate_limits: cscx_http::ratelimit::RateLimits {
                per_minute: 60,
                ingest_per_minute: 60,
            },
            ..Default::default()
        };
        let t = TestApp::spawn_with(db, http).await;
        let csm = t.token(Role::Csm).await;
        let mut statuses = Vec::new();
        for _ in 0..12 {
            statuses.push(
                t.call(Method::GET, "/api/v1/customers", Some(&csm), None)
                    .await
                    .0,
            );
        }
        assert!(
            statuses[..10].iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        assert_eq!(statuses[11], StatusCode::TOO_MANY_REQUESTS);
        let r = t
            .client
            .get(format!("{}/api/v1/customers", t.base))
            .bearer_auth(&csm)
            .send()
            .await
            .unwrap();
        assert!(r.headers().contains_key("retry-after"));
        let (s, _) = t.get("/api/v1/customers").await;
        assert_eq!(s, StatusCode::OK, "the admin's token has its own bucket");
        t.finish().await;
    }
}

/// The audit record: security-relevant actions appended with who did them, readable by admins
/// only, and refused by the database if anyone tries to change or delete it.
#[tokio::test]
async fn the_audit_record_keeps_security_actions_append_only() {
    for t in each_backend().await {
        let (s, u) = t
            .post(
                "/api/v1/users",
                json!({"email": "new@test.example", "role": "viewer", "password": "a long enough password"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        let uid = u["id"].as_str().unwrap();
        let (s, _) = t
            .call(
                Method::PATCH,
                &format!("/api/v1/users/{uid}"),
                Some(&t.admin),
                Some(json!({"role": "csm", "password": "another long password"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, tok) = t
            .post(
                "/api/v1/tokens",
                json!({"email": "new@test.example", "name": "ci"}),
            )
            .await;
        let tid = tok["token"]["id"].as_str().unwrap();
        t.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{tid}"),
            Some(&t.admin),
            None,
        )
        .await;
        let (s, _) = sign_in(&t, "new@test.example", "another long password", None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = t
            .call(
                Method::PUT,
                "/api/v1/approval-policies/send_email",
                Some(&t.admin),
                Some(json!({"auto_approve": false, "expires_after_hours": 48})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");

        let (s, page) = t.get("/api/v1/audit").await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let types: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_type"].as_str().unwrap())
            .collect();
        for expected in [
            "settings.policy_changed",
            "auth.signed_in",
            "token.revoked",
            "token.created",
            "user.changed",
            "user.created",
        ] {
            assert!(types.contains(&expected), "{expected} in {types:?}");
        }
        let changed = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_type"] == "user.changed")
            .unwrap();
        assert!(changed["actor"].as_str().unwrap().starts_with("token:"));
        let text = changed["payload"].to_string();
        assert!(
            text.contains("\"password\"") && !text.contains("another long password"),
            "{text}"
        );
        assert!(
            text.contains("\"viewer\"") && text.contains("\"csm\""),
            "{text}"
        );
        let (s, filtered) = t.get("/api/v1/audit?event_type=token.created").await;
        assert_eq!(s, StatusCode::OK);
        let created = filtered["data"].as_array().unwrap();
        assert!(created.iter().all(|e| e["event_type"] == "token.created"));
        assert!(
            created.iter().any(|e| e["payload"]["name"] == "ci"),
            "{filtered}"
        );

        let csm = t.token(Role::Csm).await;
        let (s, _) = t.call(Method::GET, "/api/v1/audit", Some(&csm), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The admin page lists the same record.
        let cookie = t.session_cookie("admin@test.example").await;
        let page = t
            .client
            .get(format!("{}/admin/audit?event_type=user.created", t.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("new@test.example") && page.contains("user.created"),
            "{page}"
        );
        assert!(!page.contains("token.revoked"), "filtered by type");

        let mut c = t.app.db.conn().await.unwrap();
        for sql in [
            "UPDATE domain_events SET actor = 'nobody'",
            "DELETE FROM domain_events",
        ] {
            let r = cscx_store::run!(c.c(), |conn| sqlx::query(sql)
                .execute(&mut *conn)
                .await
                .map(|_| ()));
            assert!(r.is_err(), "{sql} must be refused");
        }
        drop(c);
        assert!(count(&t, "SELECT COUNT(*) FROM domain_events").await >= 6);
        t.finish().await;
    }
}

/// The role matrix: each use-case against each role, through the API. A caller below the
/// needed role is refused (403) before anything changes; at or above it, the use-case runs
/// (whatever its own answer: 2xx, or 4xx about the input, never 401/403).
#[tokio::test]
async fn every_role_reaches_exactly_the_use_cases_it_may() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Matrix Corp"})).await;
        let id = c["id"].as_str().unwrap().to_string();
        let tokens = [
            (Role::Viewer, t.token(Role::Viewer).await),
            (Role::Csm, t.token(Role::Csm).await),
            (Role::Manager, t.token(Role::Manager).await),
            (Role::Admin, t.admin.clone()),
        ];
        let cases: Vec<(Method, String, Option<Value>, Role)> = vec![
            (Method::GET, "/api/v1/customers".into(), None, Role::Viewer),
            (
                Method::GET,
                format!("/api/v1/customers/{id}/health"),
                None,
                Role::Viewer,
            ),
            (Method::GET, "/api/v1/approvals".into(), None, Role::Viewer),
            (
                Method::POST,
                "/api/v1/customers".into(),
                Some(json!({"name": "X"})),
                Role::Csm,
            ),
            (
                Method::PATCH,
                format!("/api/v1/customers/{id}"),
                Some(json!({"industry": "Retail"})),
                Role::Csm,
            ),
            (
                Method::POST,
                format!("/api/v1/customers/{id}/stakeholders"),
                Some(json!({"name": "Pat"})),
                Role::Csm,
            ),
            (
                Method::POST,
                "/api/v1/contracts".into(),
                Some(json!({"company_name": "X"})),
                Role::Csm,
            ),
            (
                Method::POST,
                "/api/v1/chat".into(),
                Some(json!({"message": "How is Matrix Corp?"})),
                Role::Csm,
            ),
            (
                Method::POST,
                "/api/v1/agents/sessions".into(),
                Some(json!({})),
                Role::Csm,
            ),
            (
                Method::POST,
                "/api/v1/health/backtest".into(),
                Some(json!({"as_of": "2026-01-01", "outcomes": []})),
                Role::Manager,
            ),
            (Method::GET, "/api/v1/users".into(), None, Role::Admin),
            (
                Method::POST,
                "/api/v1/tokens".into(),
                Some(json!({"email": "csm@test.example", "name": "m"})),
                Role::Admin,
            ),
            (
                Method::PUT,
                "/api/v1/approval-policies/send_email".into(),
                Some(json!({"auto_approve": false})),
                Role::Admin,
            ),
            (Method::GET, "/api/v1/audit".into(), None, Role::Admin),
        ];
        for (method, path, body, needed) in &cases {
            for (role, token) in &tokens {
                let (s, v) = t
                    .call(method.clone(), path, Some(token), body.clone())
                    .await;
                if role >= needed {
                    assert!(
                        s != StatusCode::FORBIDDEN
                            && s != StatusCode::UNAUTHORIZED
                            && !s.is_server_error(),
                        "{role} {method} {path}: {s} {v}"
                    );
                } else {
                    assert_eq!(s, StatusCode::FORBIDDEN, "{role} {method} {path}: {v}");
                }
            }
        }
        // The refused writes changed nothing: one customer plus the three the writers made.
        assert_eq!(count(&t, "SELECT COUNT(*) FROM customers").await, 4);
        t.finish().await;
    }
}
