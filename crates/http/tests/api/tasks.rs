//! Tasks over HTTP: the CSM's queue by due date, complete / reopen / snooze / reassign, the
//! daily reminder, and the "My day" page.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cscx_domain::Role;

use super::agents::count;
use super::{each_backend, error_code, TestApp};

fn buckets(q: &Value) -> Vec<String> {
    q["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["bucket"].as_str().unwrap().to_owned())
        .collect()
}

async fn task(t: &TestApp, body: Value) -> Value {
    let (s, v) = t.post("/api/v1/tasks", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

#[tokio::test]
async fn the_day_queue_moves_with_complete_snooze_and_reassign() {
    for t in each_backend().await {
        let today = t.today();
        let c = t.customer(json!({"name": "Acme Corp"})).await;
        let cid = c["id"].as_str().unwrap();
        let day = |n: i64| (today + Duration::days(n)).to_string();

        // Bad input is refused with the field named, and nothing is written.
        for (body, field) in [
            (json!({}), "title"),
            (json!({"title": "  "}), "title"),
            (json!({"title": "x", "priority": "urgent"}), "priority"),
            (
                json!({"title": "x", "owner_id": "01a2325b-8eb6-73d4-b5d4-94181ab3c896"}),
                "owner_id",
            ),
            (json!({"title": "x", "status": "done"}), "status"),
        ] {
            let (s, v) = t.post("/api/v1/tasks", body.clone()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
            assert!(v["error"]["details"].get(field).is_some(), "{body}: {v}");
        }
        assert_eq!(count(&t, "SELECT COUNT(*) FROM tasks").await, 0);

        let late = task(&t, json!({"title": "Send the QBR deck", "due_date": day(-2), "customer_id": cid, "priority": "high"})).await;
        let now = task(&t, json!({"title": "Call Jane", "due_date": day(0)})).await;
        let later = task(
            &t,
            json!({"title": "Plan the renewal", "due_date": day(14)}),
        )
        .await;
        task(&t, json!({"title": "Read the contract"})).await;
        assert_eq!(late["status"], "open");
        assert_eq!(late["priority"], "high");
        let (_, me) = t.get("/api/v1/me").await;
        assert_eq!(
            late["owner_id"], me["user"]["id"],
            "the owner defaults to the caller"
        );

        let (s, q) = t.get("/api/v1/tasks/queue").await;
        assert_eq!(s, StatusCode::OK, "{q}");
        assert_eq!(buckets(&q), ["overdue", "today", "later", "someday"]);
        assert_eq!(q["groups"][0]["tasks"][0]["title"], "Send the QBR deck");

        // Done leaves the queue (stamped); reopened it comes back.
        let id = late["id"].as_str().unwrap();
        let (s, done) = t
            .post(&format!("/api/v1/tasks/{id}/complete"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(done["status"], "done");
        assert!(done["completed_at"].is_string());
        let (_, q) = t.get("/api/v1/tasks/queue").await;
        assert_eq!(buckets(&q), ["today", "later", "someday"]);
        let (s, snooze_done) = t
            .post(
                &format!("/api/v1/tasks/{id}/snooze"),
                json!({"until": day(3)}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{snooze_done}");
        let (_, open) = t
            .post(&format!("/api/v1/tasks/{id}/reopen"), json!({}))
            .await;
        assert!(open["completed_at"].is_null());

        // Snoozed: out of the day until then; not to today or the past.
        let nid = now["id"].as_str().unwrap();
        let (s, v) = t
            .post(
                &format!("/api/v1/tasks/{nid}/snooze"),
                json!({"until": day(0)}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, _) = t
            .post(
                &format!("/api/v1/tasks/{nid}/snooze"),
                json!({"until": day(2)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, q) = t.get("/api/v1/tasks/queue").await;
        assert_eq!(buckets(&q), ["overdue", "later", "someday", "snoozed"]);

        // Reassigned: it is the other CSM's now.
        let csm = t.token(Role::Csm).await;
        let (_, csm_me) = t.call(Method::GET, "/api/v1/me", Some(&csm), None).await;
        let lid = later["id"].as_str().unwrap();
        let (s, v) = t
            .patch(
                &format!("/api/v1/tasks/{lid}"),
                json!({"owner_id": csm_me["user"]["id"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, theirs) = t
            .call(Method::GET, "/api/v1/tasks/queue", Some(&csm), None)
            .await;
        assert_eq!(theirs["groups"][0]["tasks"][0]["id"], lid);
        let (_, mine) = t.get("/api/v1/tasks?owner=me&status=open").await;
        assert_eq!(mine["data"].as_array().unwrap().len(), 3);
        let (_, of_customer) = t
            .get(&format!("/api/v1/tasks/queue?customer_id={cid}"))
            .await;
        assert_eq!(of_customer["groups"][0]["tasks"][0]["id"], id);
        let (s, v) = t.get("/api/v1/tasks?status=finished").await;
        assert_eq!(
            (s, error_code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_parameter")
        );

        // Viewers read, and change nothing.
        let viewer = t.token(Role::Viewer).await;
        let (s, _) = t
            .call(
                Method::POST,
                "/api/v1/tasks",
                Some(&viewer),
                Some(json!({"title": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = t
            .call(
                Method::POST,
                &format!("/api/v1/tasks/{id}/complete"),
                Some(&viewer),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The morning reminder: once per due date, for open tasks whose day has come.
        assert_eq!(
            cscx_core::tasks::remind_due(&t.app).await.unwrap(),
            1,
            "the overdue one"
        );
        assert_eq!(cscx_core::tasks::remind_due(&t.app).await.unwrap(), 0);
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM domain_events WHERE event_type = 'task.due'"
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM domain_events WHERE event_type = 'task.created'"
            )
            .await,
            4
        );

        // The page: the groups, and its forms work.
        let cookie = t.session_cookie("admin@test.example").await;
        let html = t
            .client
            .get(format!("{}/tasks", t.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Overdue") && html.contains("Send the QBR deck"),
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
            .post(format!("{}/tasks/{id}", t.base))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("do", "complete")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (_, v) = t.get(&format!("/api/v1/tasks/{id}")).await;
        assert_eq!(v["status"], "done");
        let r = t
            .client
            .post(format!("{}/tasks", t.base))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("title", "Book the QBR room"),
                ("due_date", &day(1)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Added: Book the QBR room."));
        t.finish().await;
    }
}

/// Lists export as CSV: every matching row (not a page), the JSON fields as columns, cells
/// quoted where needed and formulas defused.
#[tokio::test]
async fn lists_export_as_csv() {
    for t in each_backend().await {
        for name in ["Plain Co", "Comma, \"Quoted\" Co", "=HYPERLINK(1) Co"] {
            t.customer(json!({"name": name, "segment": "csvtest"}))
                .await;
        }
        t.customer(json!({"name": "Other segment Co"})).await;
        let get = |path: String| {
            let rb = t
                .client
                .get(format!("{}{path}", t.base))
                .bearer_auth(&t.admin);
            async move { rb.send().await.unwrap() }
        };
        let r = get("/api/v1/customers?format=csv&segment=csvtest&sort=name&limit=1".into()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines.len(),
            4,
            "a header and all three, whatever the page size: {text}"
        );
        let header: Vec<&str> = lines[0].split(',').collect();
        assert!(
            header.contains(&"name") && header.contains(&"arr") && header[0] == "id",
            "{}",
            lines[0]
        );
        assert!(text.contains("\"Comma, \"\"Quoted\"\" Co\""), "{text}");
        assert!(text.contains(",'=HYPERLINK(1) Co,"), "{text}");
        assert!(!text.contains("Other segment Co"));

        t.post("/api/v1/tasks", json!({"title": "Export me"})).await;
        let tasks = get("/api/v1/tasks?format=csv&owner=me".into())
            .await
            .text()
            .await
            .unwrap();
        assert!(
            tasks.starts_with("id,") && tasks.contains("Export me"),
            "{tasks}"
        );
        let r = get("/api/v1/risk-signals?format=csv".into()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = get("/api/v1/customers?format=xml".into()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        t.finish().await;
    }
}
