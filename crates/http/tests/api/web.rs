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

        let mut viewer = Browser::new(&t);
        viewer.sign_in("viewer@test.example").await;
        let (_, inbox, _) = viewer.get("/approvals").await;
        assert!(
            inbox.contains("To: jane@acme.example") || inbox.contains("to: jane@acme.example"),
            "{inbox}"
        );
        assert!(
            !inbox.contains(">Approve<"),
            "viewers see no decision controls"
        );

        let mut csm = Browser::new(&t);
        csm.sign_in("csm@test.example").await;
        let (_, inbox, _) = csm.get("/approvals").await;
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
        let a = cscx_core::approvals::get(&t.app, approval.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(a.status, "executed");
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
