//! The customer timeline over HTTP: what happened on the account, newest first, told in
//! sentences and narrowed by kind; notes with mentions; the 360 shows both.

use reqwest::{Method, StatusCode};
use serde_json::json;

use cscx_domain::Role;

use super::{each_backend, error_code};

#[tokio::test]
async fn the_timeline_tells_what_happened_and_notes_join_it() {
    for t in each_backend().await {
        let csm = t.token(Role::Csm).await;
        let (_, csm_me) = t.call(Method::GET, "/api/v1/me", Some(&csm), None).await;
        let c = t.customer(json!({"name": "Acme Corp"})).await;
        let id = c["id"].as_str().unwrap();
        t.post(
            &format!("/api/v1/customers/{id}/stakeholders"),
            json!({"name": "Jane Rivera", "email": "jane@acme.example"}),
        )
        .await;
        t.post(
            "/api/v1/tasks",
            json!({"title": "Call Jane", "customer_id": id}),
        )
        .await;
        t.post(
            &format!("/api/v1/customers/{id}/risk-signals"),
            json!({"signal_type": "usage_drop", "severity": "high"}),
        )
        .await;
        let (s, note) = t
            .post(
                &format!("/api/v1/customers/{id}/notes"),
                json!({"body": "Renewal call went well, @csm please send the deck."}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{note}");
        assert_eq!(note["mentions"], json!([csm_me["user"]["id"]]));

        let (s, tl) = t.get(&format!("/api/v1/customers/{id}/timeline")).await;
        assert_eq!(s, StatusCode::OK, "{tl}");
        let texts: Vec<&str> = tl["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            [
                "Note: Renewal call went well, @csm please send the deck.",
                "Risk signal raised: usage drop (high)",
                "Task added: Call Jane",
                "Stakeholder added: Jane Rivera",
            ]
        );
        let (_, notes) = t
            .get(&format!("/api/v1/customers/{id}/timeline?kind=notes"))
            .await;
        assert_eq!(notes["data"].as_array().unwrap().len(), 1);
        assert_eq!(notes["data"][0]["kind"], "notes");
        // Paging: one at a time, in the same order.
        let (_, first) = t
            .get(&format!("/api/v1/customers/{id}/timeline?limit=1"))
            .await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, second) = t
            .get(&format!(
                "/api/v1/customers/{id}/timeline?limit=1&cursor={cursor}"
            ))
            .await;
        assert_eq!(second["data"][0]["text"], texts[1]);

        let (s, v) = t
            .get(&format!("/api/v1/customers/{id}/timeline?kind=weather"))
            .await;
        assert_eq!(
            (s, error_code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        );
        let (s, _) = t
            .post(
                &format!("/api/v1/customers/{id}/notes"),
                json!({"body": "   "}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let viewer = t.token(Role::Viewer).await;
        let (s, _) = t
            .call(
                Method::POST,
                &format!("/api/v1/customers/{id}/notes"),
                Some(&viewer),
                Some(json!({"body": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The 360 shows the feed and takes a note.
        let cookie = t.session_cookie("admin@test.example").await;
        let page = |cookie: String| {
            let url = format!("{}/customers/{id}", t.base);
            let client = t.client.clone();
            async move {
                client
                    .get(url)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        let html = page(cookie.clone()).await;
        assert!(
            html.contains("Risk signal raised: usage drop (high)"),
            "{html}"
        );
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let r = t
            .client
            .post(format!("{}/customers/{id}/notes", t.base))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("body", "Sent the deck.")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        assert!(page(cookie).await.contains("Note: Sent the deck."));
        t.finish().await;
    }
}
