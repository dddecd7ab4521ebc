//! The server-rendered workspace: sign-in, pages behind the session, escaping of hostile data,
//! CSRF on forms, role-aware controls, and deciding an approval from the inbox.

use reqwest::StatusCode;
use serde_json::json;

use cscx_domain::Role;

use crate::{each_backend, TestApp};

/// A browser-like client: keeps the session cookie by hand and does not follow redirects.
struct Browser<'a> {
    t: &'a TestApp,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(t: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            t,
            client,
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String, Option<String>) {
        let mut rb = self.client.get(format!("{}{path}", self.t.base));
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        (r.status(), r.text().await.unwrap(), location)
    }

    async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut rb = self
            .client
            .post(format!("{}{path}", self.t.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        if let Some(set) = r.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            self.cookie = Some(pair);
        }
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        (r.status(), r.text().await.unwrap(), location)
    }

    async fn sign_in(&mut self, email: &str) {
        let (s, _, to) = self
            .post(
                "/login",
                &[("email", email), ("password", "a long enough password")],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(to.as_deref(), Some("/"));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn csrf_of(html: &str) -> String {
    let at =
        html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_browse_and_escape_hostile_data() {
    for t in each_backend().await {
        let hostile = t
            .customer(json!({"name": "<script>alert('x')</script> Corp", "arr": "50000", "stage": "at_risk", "health_score": 31}))
            .await;
        let hid = hostile["id"].as_str().unwrap();
        t.customer(
            json!({"name": "Calm Co", "arr": "90000", "stage": "active", "health_score": 88}),
        )
        .await;
        t.post(
            &format!("/api/v1/customers/{hid}/stakeholders"),
            json!({"name": "Zoë \"Quotes\" O'Neil", "email": "zoe@x.example"}),
        )
        .await;
        t.token(Role::Csm).await; // creates csm@test.example with the test password

        let mut b = Browser::new(&t);
        let (s, _, to) = b.get("/").await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(to.as_deref(), Some("/login"));
        let (s, page, _) = b.get("/login").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains(r#"<label for="email">"#) && page.contains(r#"<label for="password">"#)
        );

        let (s, page, _) = b
            .post(
                "/login",
                &[("email", "csm@test.example\"><b>"), ("password", "wrong")],
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(page.contains("do not match"));
        assert!(
            page.contains("csm@test.example&#34;&#62;&#60;b&#62;")
                || page.contains("csm@test.example&quot;&gt;&lt;b&gt;"),
            "the typed e-mail is kept, escaped"
        );

        b.sign_in("csm@test.example").await;
        let (s, home, _) = b.get("/").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            home.contains(">$140,000<"),
            "total ARR of live customers: {home}"
        );
        assert!(
            home.contains(">$50,000<"),
            "ARR at risk: the red, at-risk account"
        );
        assert!(home.contains(r#"aria-label="Health: 1 green, 0 yellow, 1 red, 0 not scored""#));

        let (_, list, _) = b.get("/customers?band=red").await;
        assert!(
            !list.contains("<script>alert"),
            "customer names are escaped"
        );
        assert!(list.contains("&#60;script&#62;") || list.contains("&lt;script&gt;"));
        assert!(!list.contains("Calm Co"), "the red filter applies");
        let (_, list, _) = b.get("/customers?q=calm").await;
        assert!(list.contains("Calm Co"));
        assert!(
            list.contains(r#"<a href="/customers?q=calm&amp;sort=-arr">ARR</a>"#)
                || list.contains("q=calm&#38;sort=-arr"),
            "sortable headers keep the filters: {list}"
        );
        t.customer(json!({"name": "Unscored Co"})).await;
        let (_, list, _) = b.get("/customers?band=unscored").await;
        assert!(
            list.contains("Unscored Co") && !list.contains("Calm Co"),
            "the filter runs in the query, before paging"
        );
        let (_, list, _) = b.get("/customers?segment=enterprise").await;
        assert!(!list.contains("Calm Co"), "the segment filter applies");
        // The list opens sorted by name, as its sort control says (it came in creation order).
        t.customer(json!({"name": "Zeta Co"})).await;
        t.customer(json!({"name": "Alpha Co"})).await;
        let (_, list, _) = b.get("/customers").await;
        let (alpha, zeta) = (
            list.find("Alpha Co").unwrap(),
            list.find("Zeta Co").unwrap(),
        );
        assert!(alpha < zeta, "sorted by name");
        // The filtered list's count and ARR total, over every page.
        for (name, arr) in [("Totals One", "1000.50"), ("Totals Two", "2000.25")] {
            t.customer(json!({"name": name, "segment": "totals", "arr": arr}))
                .await;
        }
        let (_, list, _) = b.get("/customers?segment=totals").await;
        assert!(list.contains("2 customers · $3,001 ARR"), "{list}");
        // Churned accounts are out of the default view, and there when asked for.
        t.customer(json!({"name": "Gone Co", "stage": "churned", "segment": "totals"}))
            .await;
        let (_, list, _) = b.get("/customers?segment=totals").await;
        assert!(
            !list.contains("Gone Co") && list.contains("2 customers"),
            "{list}"
        );
        let (_, list, _) = b.get("/customers?segment=totals&churned=1").await;
        assert!(
            list.contains("Gone Co") && list.contains("3 customers"),
            "{list}"
        );
        let (_, list, _) = b.get("/customers?stage=churned").await;
        assert!(list.contains("Gone Co"));
        let (s, page, _) = b.get("/customers?renewal_within=abc").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("Renews within must be a number"));

        let (s, c360, _) = b.get(&format!("/customers/{hid}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!c360.contains("<script>alert"));
        assert!(c360.contains("31 red"), "health carries its band as text");
        assert!(
            c360.contains("O&#39;Neil") || c360.contains("O&#x27;Neil") || c360.contains("O'Neil")
        );
        assert!(!c360.contains("\"Quotes\""), "quotes in data are escaped");

        let (s, css, _) = b.get("/static/app.css").await;
        assert_eq!(s, StatusCode::OK);
        assert!(css.contains(":focus"));

        // Signing out needs the form's CSRF token.
        let (s, _, _) = b.post("/logout", &[("csrf", "forged")]).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let token = csrf_of(&home);
        let (s, _, to) = b.post("/logout", &[("csrf", &token)]).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(to.as_deref(), Some("/login"));
        let (s, _, _) = b.get("/").await;
        assert_eq!(s, StatusCode::SEE_OTHER, "the session is gone");
        t.finish().await;
    }
}

#[tokio::test]
async fn decide_an_approval_from_the_inbox() {
    for t in each_backend().await {
        let c = t
            .customer(json!({"name": "Acme Corp", "arr": "120000"}))
            .await;
        let id = c["id"].as_str().unwrap();
        t.post(
            &format!("/api/v1/customers/{id}/stakeholders"),
            json!({"name": "Jane Rivera", "email": "jane@acme.example", "is_primary": true}),
        )
        .await;
        let (s, out) = t
            .post(
                "/api/v1/chat",
                json!({"message": "Draft a thank-you email to Acme Corp"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{out}");
        let approval = out["approvals"][0].as_str().unwrap().to_string();
        t.token(Role::Csm).await;
        t.token(Role::Viewer).await;

        // Approvals are seen by who requested them, the account's owner, and managers.
        let mut viewer = Browser::new(&t);
        viewer.sign_in("viewer@test.example").await;
        let (_, inbox, _) = viewer.get("/approvals").await;
        assert!(!inbox.contains("jane@acme.example"), "{inbox}");
        assert!(
            !inbox.contains(">Approve<"),
            "viewers see no decision controls"
        );
        let csm_user = t
            .app
            .auth
            .user_by_email("csm@test.example")
            .await
            .unwrap()
            .unwrap();
        let mut csm = Browser::new(&t);
        csm.sign_in("csm@test.example").await;
        let (_, inbox, _) = csm.get("/approvals").await;
        assert!(
            !inbox.contains("jane@acme.example"),
            "not the CSM's account yet"
        );
        let (s, _) = t
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/customers/{id}"),
                Some(&t.admin),
                Some(json!({"csm_id": csm_user.id})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, inbox, _) = csm.get("/approvals").await;
        assert!(
            inbox.contains("To: jane@acme.example") || inbox.contains("to: jane@acme.example"),
            "{inbox}"
        );
        assert!(inbox.contains(">Approve<"));
        let (s, _, _) = csm
            .post(
                &format!("/approvals/{approval}/approve"),
                &[("comment", "ok")],
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token, no decision");
        let token = csrf_of(&inbox);
        let (s, page, _) = csm
            .post(
                &format!("/approvals/{approval}/approve"),
                &[
                    ("csrf", &token),
                    ("body", "Hi Jane,\n\nEdited in the inbox.\n"),
                    ("comment", "ok"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.contains("executed"));
        let a = cscx_core::approvals::fetch(&t.app, approval.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(a.status, cscx_domain::ApprovalStatus::Executed);
        assert_eq!(a.action_data["body"], "Hi Jane,\n\nEdited in the inbox.\n");
        let (s, _, _) = csm
            .post(
                &format!("/approvals/{approval}/approve"),
                &[("csrf", &token)],
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        t.finish().await;
    }
}

/// A multipart form as a browser sends it.
fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----cscx-web-test";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n", file.0).as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn upload_review_and_confirm_a_contract_and_ask_the_assistant() {
    for t in each_backend().await {
        t.token(Role::Csm).await;
        let mut b = Browser::new(&t);
        b.sign_in("csm@test.example").await;
        let (_, page, _) = b.get("/contracts/upload").await;
        let token = csrf_of(&page);
        let doc = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ai/tests/fixtures/saas-order-form.md"
        ))
        .unwrap();
        let (ct, body) = multipart(&[("csrf", &token)], ("order.md", &doc));
        let r = b
            .client
            .post(format!("{}/contracts/upload", t.base))
            .header("cookie", b.cookie.clone().unwrap())
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let at = r.headers()["location"].to_str().unwrap().to_string();
        let (_, parsing, _) = b.get(&at).await;
        assert!(
            parsing.contains("http-equiv=\"refresh\""),
            "refreshes while parsing"
        );
        t.app.drain_jobs(1).await.unwrap();
        let (_, review, _) = b.get(&at).await;
        assert!(review.contains("Beta Logistics LLC"), "{review}");
        assert!(
            review.contains(r#"<mark id="ev-"#),
            "evidence is highlighted in the document"
        );
        assert!(
            review.contains("href=\"#ev-"),
            "each term links to its evidence"
        );

        // Correct the ARR, then confirm.
        let token = csrf_of(&review);
        let id = at.trim_start_matches("/contracts/");
        let (s, _, to) = b
            .post(
                &format!("/contracts/{id}/edit"),
                &[
                    ("csrf", &token),
                    ("company_name", "Beta Logistics LLC"),
                    ("arr", "71000"),
                    ("start_date", "2025-03-01"),
                    ("end_date", "2028-03-01"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to:?}");
        let c = cscx_core::portfolio::get_contract(&t.app, id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(c.arr.unwrap().0.to_string(), "71000");
        assert_eq!(
            c.parsed_data.unwrap()["corrections"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "only the changed field is a correction"
        );
        let (s, _, to) = b
            .post(&format!("/contracts/{id}/confirm"), &[("csrf", &token)])
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (_, done, _) = b.get(to.as_deref().unwrap()).await;
        assert!(done.contains("Confirmed:"), "{done}");
        assert!(done.contains("Status <strong>active</strong>"));
        let customer = done
            .split("customer <a href=\"/customers/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let (_, c360, _) = b.get(&format!("/customers/{customer}")).await;
        assert!(
            c360.contains("<h3>Entitlements</h3>")
                && c360.contains("Northwind Platform - Professional"),
            "{c360}"
        );

        // The assistant without JavaScript answers in full.
        let (_, chat, _) = b.get("/chat").await;
        let token = csrf_of(&chat);
        let (s, answer, _) = b
            .post(
                "/chat",
                &[
                    ("csrf", &token),
                    ("message", "Tell me about Beta Logistics"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            answer.contains("Beta Logistics LLC: stage onboarding"),
            "{answer}"
        );

        let (s, signals, _) = b.get("/risk-signals?status=any").await;
        assert_eq!(s, StatusCode::OK);
        assert!(signals.contains("<h1>Risk signals</h1>"));
        t.finish().await;
    }
}

#[tokio::test]
async fn customer_forms_and_admin_pages() {
    for t in each_backend().await {
        t.token(Role::Csm).await;
        t.token(Role::Viewer).await;
        let mut b = Browser::new(&t);
        b.sign_in("csm@test.example").await;
        let (_, form, _) = b.get("/customers/new").await;
        let token = csrf_of(&form);
        // Bad input: the API's rules and messages, the typed values kept, nothing stored.
        let (s, page, _) = b
            .post(
                "/customers/new",
                &[
                    ("csrf", &token),
                    ("name", "Hostile <b>Co</b>"),
                    ("stage", "active"),
                    ("arr", "-5"),
                    ("renewal_date", "2026-02-30"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.contains(r#"id="renewal_date-err""#) && page.contains(r#"aria-invalid="true""#),
            "{page}"
        );
        assert!(page.contains(r#"value="-5""#), "what was typed is kept");
        let (s, page, _) = b
            .post(
                "/customers/new",
                &[
                    ("csrf", &token),
                    ("name", "Hostile <b>Co</b>"),
                    ("stage", "active"),
                    ("arr", "-5"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains(r#"id="arr-err""#), "{page}");
        assert!(
            page.contains("Hostile &#60;b&#62;Co&#60;/b&#62;")
                || page.contains("Hostile &lt;b&gt;Co&lt;/b&gt;"),
            "kept and escaped"
        );
        let (_, list) = t.get("/api/v1/customers").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0);

        let (s, _, to) = b
            .post(
                "/customers/new",
                &[
                    ("csrf", &token),
                    ("name", "Formed Co"),
                    ("stage", "onboarding"),
                    ("arr", "12,500"),
                    ("segment", "smb"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let id = to.unwrap().trim_start_matches("/customers/").to_string();
        let (_, c) = t.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(c["arr"].to_string(), "12500");
        // Edit: clearing a field clears it.
        let (s, _, _) = b
            .post(
                &format!("/customers/{id}/edit"),
                &[
                    ("csrf", &token),
                    ("name", "Formed Co"),
                    ("stage", "active"),
                    ("arr", "12500"),
                    ("segment", ""),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (_, c) = t.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(c["stage"], "active");
        assert!(c["segment"].is_null());

        // Viewers get no edit controls and cannot post; non-admins cannot open the admin page.
        let mut viewer = Browser::new(&t);
        viewer.sign_in("viewer@test.example").await;
        let (_, c360, _) = viewer.get(&format!("/customers/{id}")).await;
        assert!(!c360.contains("/edit\""), "no edit link for viewers");
        let (s, _, _) = viewer.get("/customers/new").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, _) = b.get("/admin").await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Admins add users and tokens; a token's secret is shown once, and it can be revoked.
        let mut admin = Browser::new(&t);
        t.app
            .auth
            .create_user(
                "root@test.example",
                None,
                Role::Admin,
                Some("a long enough password"),
                &cscx_core::audit::Actor::cli(),
            )
            .await
            .unwrap();
        admin.sign_in("root@test.example").await;
        let (s, page, _) = admin.get("/admin").await;
        assert_eq!(s, StatusCode::OK);
        let token = csrf_of(&page);
        let (s, page, _) = admin
            .post(
                "/admin/users",
                &[
                    ("csrf", &token),
                    ("email", "new@test.example"),
                    ("role", "csm"),
                    ("password", "another long password"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.contains("Added new@test.example as csm"));
        let (s, page, _) = admin
            .post(
                "/admin/tokens",
                &[
                    ("csrf", &token),
                    ("email", "new@test.example"),
                    ("name", "etl"),
                    ("scope", "ingest"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let secret = page
            .split("<code>")
            .nth(1)
            .unwrap()
            .split("</code>")
            .next()
            .unwrap()
            .to_string();
        assert!(secret.starts_with("cscx_"), "{secret}");
        let (_, again, _) = admin.get("/admin").await;
        assert!(!again.contains(&secret), "the secret is shown only once");
        let row = again
            .split("<td>etl</td>")
            .nth(1)
            .expect("the etl token row");
        let tid = row
            .split("/admin/tokens/")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let (s, page, _) = admin
            .post(&format!("/admin/tokens/{tid}/revoke"), &[("csrf", &token)])
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("Revoked etl"));
        t.finish().await;
    }
}

#[tokio::test]
async fn stakeholders_from_the_customer_360() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "People Co"})).await;
        let id = c["id"].as_str().unwrap().to_string();
        t.token(Role::Csm).await;
        let mut b = Browser::new(&t);
        b.sign_in("csm@test.example").await;
        let (_, page, _) = b.get(&format!("/customers/{id}")).await;
        let token = csrf_of(&page);
        let (s, page, _) = b
            .post(
                &format!("/customers/{id}/stakeholders"),
                &[
                    ("csrf", &token),
                    ("name", "Ana Silva"),
                    ("email", "not-an-email"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.contains("email") && page.contains(r#"value="Ana Silva""#),
            "error shown, input kept"
        );
        let (s, _, _) = b
            .post(
                &format!("/customers/{id}/stakeholders"),
                &[
                    ("csrf", &token),
                    ("name", "Ana Silva"),
                    ("email", "ana@people.example"),
                    ("is_primary", "1"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (_, list) = t.get(&format!("/api/v1/customers/{id}/stakeholders")).await;
        let sid = list["data"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(list["data"][0]["is_primary"], true);
        let (s, _, _) = b
            .post(
                &format!("/stakeholders/{sid}/edit"),
                &[("csrf", &token), ("sentiment", "negative")],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let (_, list) = t.get(&format!("/api/v1/customers/{id}/stakeholders")).await;
        assert_eq!(list["data"][0]["sentiment"], "negative");
        assert_eq!(
            list["data"][0]["is_primary"], false,
            "unticking primary clears it"
        );
        t.finish().await;
    }
}

/// Errors in the browser are pages with the navigation, never raw JSON or bare text; API
/// clients still get JSON.
#[tokio::test]
async fn errors_in_the_browser_are_styled_pages() {
    for t in each_backend().await {
        t.token(Role::Viewer).await;
        let mut b = Browser::new(&t);
        b.sign_in("viewer@test.example").await;
        let html_get = |path: &'static str| {
            let mut rb = b
                .client
                .get(format!("{}{path}", t.base))
                .header("accept", "text/html,application/xhtml+xml");
            if let Some(c) = &b.cookie {
                rb = rb.header("cookie", c);
            }
            rb.send()
        };
        let r = html_get("/no/such/page").await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("<h1>Not found</h1>") && page.contains(r#"href="/customers""#),
            "{page}"
        );
        let r = html_get("/customers/01a2325b-8eb6-73d4-b5d4-94181ab3c896")
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("There is no such customer."));
        // A viewer's form post is refused with a page.
        let (_, home, _) = b.get("/tasks").await;
        let csrf = home
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_owned);
        let (s, page, _) = b
            .post(
                "/tasks",
                &[("csrf", csrf.as_deref().unwrap_or("x")), ("title", "x")],
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(page.contains("<h1>Not allowed</h1>"), "{page}");
        // The API answers JSON as before.
        let r = t
            .client
            .get(format!("{}/api/v1/nothing", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "not_found"
        );
        t.finish().await;
    }
}

/// The demo signs in three roles with one password and gives the admin accounts of its own.
#[tokio::test]
async fn the_demo_signs_in_three_roles_and_the_admin_owns_accounts() {
    for t in each_backend().await {
        let opts = cscx_core::demo::SeedOptions {
            customers: 20,
            admin_password: Some("a demo password of some length".into()),
            usage_days: 0,
            ..Default::default()
        };
        let r = cscx_core::demo::seed(&t.app, &opts).await.unwrap();
        let roles: Vec<&str> = r.logins.iter().map(|(_, role)| role.as_str()).collect();
        assert_eq!(roles, ["admin", "csm", "manager"]);
        for (email, _) in &r.logins {
            let resp = t
                .client
                .post(format!("{}/api/v1/auth/login", t.base))
                .json(&json!({"email": email, "password": "a demo password of some length"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{email} signs in");
        }
        let admin = t
            .app
            .auth
            .user_by_email(&r.admin_email)
            .await
            .unwrap()
            .unwrap();
        let (_, mine) = t
            .get(&format!("/api/v1/customers?csm_id={}", admin.id))
            .await;
        assert!(
            !mine["data"].as_array().unwrap().is_empty(),
            "the admin owns accounts"
        );
        t.finish().await;
    }
}

/// Risk signals are worked from their page: readable names and dates, resolve with a note,
/// and a follow-up task linked to the signal on the CSM's day.
#[tokio::test]
async fn risk_signals_are_resolved_and_followed_up_from_their_page() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Signal Co"})).await;
        let cid = c["id"].as_str().unwrap().to_owned();
        let mut ids = Vec::new();
        for kind in ["usage_drop", "exec_departure"] {
            let (_, s) = t
                .post(
                    &format!("/api/v1/customers/{cid}/risk-signals"),
                    json!({"signal_type": kind, "severity": "high"}),
                )
                .await;
            ids.push(s["id"].as_str().unwrap().to_owned());
        }
        let mut b = Browser::new(&t);
        b.sign_in("admin@test.example").await;
        let (_, page, _) = b.get("/risk-signals").await;
        assert!(
            page.contains("usage drop") && page.contains("today"),
            "{page}"
        );
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let (s, page, _) = b
            .post(
                &format!("/risk-signals/{}", ids[0]),
                &[
                    ("csrf", &csrf),
                    ("do", "resolve"),
                    ("note", "usage is back"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("Resolved: usage drop."), "{page}");
        let (_, sig) = t
            .get(&format!("/api/v1/customers/{cid}/risk-signals"))
            .await;
        let resolved = sig["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == ids[0].as_str())
            .unwrap()
            .clone();
        assert!(resolved["resolved_at"].is_string(), "{resolved}");
        assert_eq!(
            resolved["resolution_notes"],
            "usage is back (resolved by admin@test.example)"
        );

        let (_, page, _) = b
            .post(
                &format!("/risk-signals/{}", ids[1]),
                &[("csrf", &csrf), ("do", "follow_up")],
            )
            .await;
        assert!(
            page.contains("Task added to your day: Follow up: exec departure."),
            "{page}"
        );
        let (_, q) = t.get("/api/v1/tasks/queue").await;
        let task = &q["groups"][0]["tasks"][0];
        assert_eq!(task["risk_signal_id"], ids[1].as_str());
        assert_eq!(task["customer_id"], cid.as_str());
        t.finish().await;
    }
}
