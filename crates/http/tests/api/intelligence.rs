//! Customer intelligence over HTTP: ingestion edge cases, rollups, health with reasons and
//! history, point-in-time scores, risk signals, back-tests.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cscx_core::intelligence as intel;
use cscx_domain::{Role, TokenScope};

use super::agents::count;
use super::{each_backend, error_code, TestApp};

#[tokio::test]
async fn ingestion_reports_every_event_and_never_drops_silently() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Ingest Co", "salesforce_id": "001SF", "hubspot_id": "777", "metadata": {"external_id": "acct-9"}})).await;
        let id = c["id"].as_str().unwrap();
        let now = Utc::now();
        let batch = json!([
            {"event_id": "e1", "customer_id": id, "event_type": "login", "user_id": "u1"},
            {"event_id": "e2", "customer_key": "001SF", "event_type": "feature_used", "user_id": "u1", "metadata": {"feature": "reports"}},
            {"event_id": "e3", "customer_key": "777", "event_type": "login", "user_id": "u2"},
            {"event_id": "e4", "customer_key": "acct-9", "event_type": "custom_thing", "timestamp": (now - Duration::days(3)).to_rfc3339()},
            {"event_id": "e1", "customer_id": id, "event_type": "login", "user_id": "u1"},
            {"customer_key": "nobody", "event_type": "login"},
            {"customer_id": id, "event_type": "login", "timestamp": "last tuesday"},
            {"customer_id": id, "event_type": "login", "timestamp": (now + Duration::days(1)).to_rfc3339()},
            {"customer_id": id},
            "not an object"
        ]);
        let (s, r) = t.ingest(batch.clone()).await;
        assert_eq!(s, StatusCode::MULTI_STATUS, "{r}");
        assert_eq!(r["accepted"], 4);
        assert_eq!(r["duplicates"], json!([{"index": 4, "event_id": "e1"}]));
        let rejected: Vec<u64> = r["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["index"].as_u64().unwrap())
            .collect();
        assert_eq!(rejected, vec![5, 6, 7, 8, 9]);
        assert!(r["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no customer"));
        assert!(r["rejected"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("future"));

        // Sending the same batch again stores nothing new: event ids deduplicate.
        let (s, r) = t.ingest(batch).await;
        assert_eq!(s, StatusCode::MULTI_STATUS);
        assert_eq!(r["accepted"], 0);
        assert_eq!(r["duplicates"].as_array().unwrap().len(), 5);

        // All rejected: 422, still with the list.
        let (s, r) = t
            .ingest(json!([{"customer_key": "nobody", "event_type": "login"}]))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r["rejected"][0]["index"], 0);

        // NDJSON, and an ingest-only token.
        let ingest_token = t
            .token_for("pipe@test.example", Role::Csm, None, TokenScope::Ingest)
            .await;
        let nd = format!(
            "{}\n\n{}\n",
            json!({"event_id": "n1", "customer_id": id, "event_type": "login", "user_id": "u9"}),
            json!({"event_id": "n2", "customer_id": id, "event_type": "api_call", "metadata": {"count": 5}})
        );
        let resp = t
            .client
            .post(format!("{}/api/v1/usage/events", t.base))
            .bearer_auth(&ingest_token)
            .header("content-type", "application/x-ndjson")
            .body(nd)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.json::<Value>().await.unwrap()["accepted"], 2);
        let viewer = t.token(Role::Viewer).await;
        let (s, _) = t
            .call(
                Method::POST,
                "/api/v1/usage/events",
                Some(&viewer),
                Some(json!([])),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = t
            .call(Method::POST, "/api/v1/usage/events", None, Some(json!([])))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Too many events, or too many bytes: 413, nothing stored.
        let many: Vec<Value> = (0..10_001)
            .map(|i| json!({"event_id": format!("m{i}"), "customer_id": id, "event_type": "login"}))
            .collect();
        let (s, v) = t.ingest(Value::Array(many)).await;
        assert_eq!(
            (s, error_code(&v)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        let big = "x".repeat(6 * 1024 * 1024);
        let (s, _) = t
            .ingest(json!([{"customer_id": id, "event_type": "login", "metadata": {"blob": big}}]))
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        let (s, _) = t
            .ingest(json!([{"event_id": "m1", "customer_id": id, "event_type": "login"}]))
            .await;
        assert_eq!(s, StatusCode::OK, "m1 was not stored by the refused batch");

        // Idempotency-Key makes a whole retried batch a no-op with the first answer.
        let send = |key: &'static str| {
            let t = &t;
            let body =
                json!([{"customer_id": id, "event_type": "login", "user_id": "no-event-id"}]);
            async move {
                let r = t
                    .client
                    .post(format!("{}/api/v1/usage/events", t.base))
                    .bearer_auth(&t.admin)
                    .header("idempotency-key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (
                    r.headers().contains_key("idempotent-replayed"),
                    r.json::<Value>().await.unwrap(),
                )
            }
        };
        let (replayed, first) = send("batch-1").await;
        let (replayed2, second) = send("batch-1").await;
        assert!(!replayed && replayed2);
        assert_eq!(first, second);
        t.finish().await;
    }
}

#[tokio::test]
async fn rollups_are_incremental_late_events_count_and_a_rebuild_agrees() {
    for t in each_backend().await {
        let c = t
            .customer(json!({"name": "Rollup Co", "stage": "active"}))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let (s, r) = t
            .ingest(Value::Array(t.activity(&id, 4, 1..=10, "a")))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        // A second batch before the rollup ran queues no second job: the waiting one rolls up
        // until the customer's pending mark is cleared.
        let noon = (t.today() - Duration::days(1))
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .to_rfc3339();
        let (s, r) = t
            .ingest(json!([
                {"event_id": "s-1", "customer_id": id, "event_type": "session_end", "user_id": "u0", "timestamp": noon, "metadata": {"duration_seconds": 600}},
                {"event_id": "c-1", "customer_id": id, "event_type": "api_call", "user_id": "u0", "timestamp": noon, "metadata": {"count": 25}}
            ]))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let waiting = format!(
            "SELECT COUNT(*) FROM jobs WHERE job_key = 'rollup:{id}' AND status = 'queued'"
        );
        assert_eq!(count(&t, &waiting).await, 1);
        t.drain_jobs().await;
        let pending =
            format!("SELECT COUNT(*) FROM usage_rollup_pending WHERE customer_id = '{id}'");
        assert_eq!(count(&t, &pending).await, 0, "the mark is cleared");
        let (s, series) = t.get(&format!("/api/v1/customers/{id}/usage")).await;
        assert_eq!(s, StatusCode::OK);
        let rows = series.as_array().unwrap();
        assert_eq!(rows.len(), 11, "from the first event day to today");
        let yesterday = rows
            .iter()
            .find(|r| r["metric_date"] == (t.today() - Duration::days(1)).to_string())
            .unwrap();
        assert_eq!(
            (
                yesterday["dau"].as_i64(),
                yesterday["wau"].as_i64(),
                yesterday["mau"].as_i64()
            ),
            (Some(4), Some(4), Some(4))
        );
        assert_eq!(yesterday["login_count"], 4);
        assert_eq!(yesterday["feature_adoption"]["f0"]["users"], 1);
        assert_eq!(yesterday["api_calls"], 25, "metadata.count of the api_call");
        assert_eq!(yesterday["session_duration_avg"], 10, "600 s in minutes");

        // A late event for a past day updates that day (and the windows after it).
        let day5 = t.today() - Duration::days(5);
        let late = json!([{"event_id": "late-1", "customer_id": id, "event_type": "login", "user_id": "newcomer", "timestamp": day5.and_hms_opt(9, 0, 0).unwrap().and_utc().to_rfc3339()}]);
        t.ingest(late).await;
        t.drain_jobs().await;
        let (_, series) = t
            .get(&format!(
                "/api/v1/customers/{id}/usage?from={day5}&to={day5}"
            ))
            .await;
        assert_eq!(series[0]["dau"], 5);
        let (_, series) = t
            .get(&format!(
                "/api/v1/customers/{id}/usage?from={}",
                t.today() - Duration::days(1)
            ))
            .await;
        assert_eq!(
            series[0]["wau"], 5,
            "the 7-day window of later days includes the late user"
        );

        // A full rebuild gives the same rows as the incremental path.
        let strip = |v: &Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.as_object_mut().unwrap().remove("id");
                    r.as_object_mut().unwrap().remove("created_at");
                    r
                })
                .collect()
        };
        let (_, before) = t.get(&format!("/api/v1/customers/{id}/usage")).await;
        intel::rebuild_all(&t.app, t.today() - Duration::days(30), 2)
            .await
            .unwrap();
        let (_, after) = t.get(&format!("/api/v1/customers/{id}/usage")).await;
        assert_eq!(strip(&before), strip(&after));
        let (s, _) = t
            .get(&format!("/api/v1/customers/{id}/usage?from=2026-13-01"))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        t.finish().await;
    }
}

#[tokio::test]
async fn health_is_explained_recorded_and_says_what_changed() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Health Co", "stage": "active", "renewal_date": (t.today() + Duration::days(200)).to_string()})).await;
        let id = c["id"].as_str().unwrap().to_owned();
        t.post(&format!("/api/v1/customers/{id}/stakeholders"), json!({"name": "Pat", "is_primary": true, "role": "VP Operations", "sentiment": "positive"})).await;
        t.ingest(Value::Array(t.activity(&id, 10, 1..=40, "h")))
            .await;
        t.drain_jobs().await;
        let (_, h) = t.get(&format!("/api/v1/customers/{id}/health")).await;
        let score = h["score"].as_i64().expect("scored");
        assert!((0..=100).contains(&score));
        let result = &h["result"];
        let keys: Vec<&str> = result["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert!(
            keys.contains(&"usage") && keys.contains(&"engagement") && keys.contains(&"risk"),
            "{keys:?}"
        );
        for comp in result["components"].as_array().unwrap() {
            assert!(!comp["reason"].as_str().unwrap().is_empty());
            assert!(comp["weight"].as_f64().is_some() && comp["measures"].is_object());
        }
        let (_, customer) = t.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(
            customer["health_score"], score,
            "the customer row is updated with the history"
        );

        // A customer with no usage: usage is left out and said so, not scored 50.
        let quiet = t
            .customer(json!({"name": "Quiet Co", "stage": "onboarding"}))
            .await;
        let qid = quiet["id"].as_str().unwrap();
        let (s, r) = t
            .post(
                &format!("/api/v1/customers/{qid}/health/recompute"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(
            r["missing"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "usage"),
            "{r}"
        );
        assert!(r["note"].as_str().is_some());

        // Usage collapses: the score falls and the history says why.
        t.clock.advance(Duration::days(20));
        t.ingest(Value::Array(t.activity(&id, 1, 1..=3, "late")))
            .await;
        t.drain_jobs().await;
        let (_, history) = t
            .get(&format!("/api/v1/customers/{id}/health/history"))
            .await;
        let rows = history["data"].as_array().unwrap();
        assert!(rows.len() >= 2, "{history}");
        let newest = &rows[0];
        assert!(newest["score"].as_i64().unwrap() < score, "{newest}");
        let changes = newest["components"]["changes"].as_array().unwrap();
        assert!(
            changes.iter().any(|c| c.as_str().unwrap().contains("fell")),
            "{changes:?}"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn scores_as_of_a_past_date_use_no_later_data() {
    for t in each_backend().await {
        let c = t
            .customer(json!({"name": "Timeline Co", "stage": "active"}))
            .await;
        let id: cscx_store::Id = c["id"].as_str().unwrap().parse().unwrap();
        t.ingest(Value::Array(t.activity(&id.to_string(), 6, 15..=45, "old")))
            .await;
        t.drain_jobs().await;
        let as_of = t.today() - Duration::days(16);
        let before = intel::scores_as_of(&t.app, as_of, Some(&[id]))
            .await
            .unwrap();
        // Everything after as_of changes: usage stops, a risk signal appears, stakeholders sour.
        t.post(
            &format!("/api/v1/customers/{id}/risk-signals"),
            json!({"signal_type": "exec_departure", "severity": "critical"}),
        )
        .await;
        t.post(
            &format!("/api/v1/customers/{id}/stakeholders"),
            json!({"name": "Grumpy", "sentiment": "negative"}),
        )
        .await;
        t.ingest(Value::Array(t.activity(&id.to_string(), 1, 1..=14, "new")))
            .await;
        t.drain_jobs().await;
        let after = intel::scores_as_of(&t.app, as_of, Some(&[id]))
            .await
            .unwrap();
        assert_eq!(
            before[0].1.score, after[0].1.score,
            "a past score must not see later data"
        );
        assert_eq!(before[0].1.components, after[0].1.components);
        let now = intel::scores_as_of(&t.app, t.today(), Some(&[id]))
            .await
            .unwrap();
        assert_ne!(
            now[0].1.score, after[0].1.score,
            "today's score does see it"
        );
        assert!(
            after[0]
                .1
                .components
                .iter()
                .all(|c| c.key != "business" || !c.measures.contains_key("stage")),
            "the stage is not historised, so it is left out"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn risk_signals_are_raised_deduplicated_and_cleared() {
    for t in each_backend().await {
        let c = t
            .customer(json!({"name": "Risky Co", "stage": "active"}))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        // Busy for a month, then nearly silent for the last week: a usage drop.
        t.ingest(Value::Array(t.activity(&id, 10, 8..=35, "busy")))
            .await;
        t.ingest(Value::Array(t.activity(&id, 1, 1..=7, "quiet")))
            .await;
        t.drain_jobs().await;
        let (_, list) = t
            .get(&format!("/api/v1/customers/{id}/risk-signals?status=open"))
            .await;
        let drops: Vec<&Value> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["signal_type"] == "usage_drop")
            .collect();
        assert_eq!(drops.len(), 1, "{list}");
        assert_eq!(drops[0]["auto_detected"], true);
        assert!(["high", "critical"].contains(&drops[0]["severity"].as_str().unwrap()));
        // Running the detectors again does not add a second one.
        intel::refresh_customer(&t.app, id.parse().unwrap())
            .await
            .unwrap();
        let (_, list) = t
            .get(&format!(
                "/api/v1/risk-signals?customer_id={id}&signal_type=usage_drop&status=open"
            ))
            .await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
        // Usage comes back: the signal resolves itself with a note.
        t.clock.advance(Duration::days(8));
        t.ingest(Value::Array(t.activity(&id, 10, 1..=8, "back")))
            .await;
        t.drain_jobs().await;
        let (_, list) = t
            .get(&format!(
                "/api/v1/risk-signals?customer_id={id}&signal_type=usage_drop"
            ))
            .await;
        let s = &list["data"][0];
        assert!(s["resolved_at"].is_string(), "{s}");
        assert!(s["resolution_notes"]
            .as_str()
            .unwrap()
            .contains("automatically"));

        // Manual signals: raised and resolved by people, named as such.
        let (st, m) = t.post(&format!("/api/v1/customers/{id}/risk-signals"), json!({"signal_type": "budget_cut", "severity": "high", "description": "CFO froze spend"})).await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        assert_eq!(
            (m["auto_detected"].as_bool(), m["source"].as_str()),
            (Some(false), Some("manual:admin@test.example"))
        );
        let (st, _) = t
            .post(
                &format!("/api/v1/customers/{id}/risk-signals"),
                json!({"signal_type": "x", "severity": "apocalyptic"}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (st, r) = t
            .post(
                &format!("/api/v1/risk-signals/{}/resolve", m["id"].as_str().unwrap()),
                json!({"resolution_notes": "Budget restored"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(r["resolution_notes"]
            .as_str()
            .unwrap()
            .starts_with("Budget restored"));
        let (st, _) = t
            .post(
                &format!("/api/v1/risk-signals/{}/resolve", m["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (_, high) = t
            .get("/api/v1/risk-signals?severity=high&status=resolved")
            .await;
        assert!(high["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == m["id"]));
        let (st, _) = t.get("/api/v1/risk-signals?severity=extreme").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        // Removing the primary contact raises champion_lost at once; a new primary clears it.
        let (_, p) = t
            .post(
                &format!("/api/v1/customers/{id}/stakeholders"),
                json!({"name": "Champ", "is_primary": true, "sentiment": "positive"}),
            )
            .await;
        t.delete(&format!(
            "/api/v1/stakeholders/{}",
            p["id"].as_str().unwrap()
        ))
        .await;
        let (_, list) = t
            .get(&format!(
                "/api/v1/risk-signals?customer_id={id}&signal_type=champion_lost&status=open"
            ))
            .await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
        t.post(
            &format!("/api/v1/customers/{id}/stakeholders"),
            json!({"name": "New Champ", "is_primary": true, "sentiment": "positive"}),
        )
        .await;
        t.drain_jobs().await;
        let (_, list) = t
            .get(&format!(
                "/api/v1/risk-signals?customer_id={id}&signal_type=champion_lost&status=open"
            ))
            .await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");
        t.finish().await;
    }
}

#[tokio::test]
async fn backtest_and_calibration_report_without_changing_the_active_model() {
    let t = TestApp::spawn(cscx_testkit::TestDb::sqlite().await).await;
    let mut outcomes = Vec::new();
    for i in 0..24 {
        let churned = i % 3 == 0;
        let c = t.customer(json!({"name": format!("Outcome {i}"), "stage": "active", "metadata": {"external_id": format!("oc-{i}")}})).await;
        let id = c["id"].as_str().unwrap().to_owned();
        // Churners were barely using the product before the as-of date.
        let users = if churned { 1 } else { 8 };
        t.ingest(Value::Array(t.activity(
            &id,
            users,
            10..=40,
            &format!("o{i}"),
        )))
        .await;
        outcomes.push(json!({"customer_key": format!("oc-{i}"), "outcome": u8::from(churned)}));
    }
    outcomes.push(json!({"customer_key": "unknown-account", "outcome": 1}));
    t.drain_jobs().await;
    let as_of = t.today() - Duration::days(10);
    let (s, r) = t
        .post(
            "/api/v1/health/backtest",
            json!({"as_of": as_of, "outcomes": outcomes}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["customers_scored"], 24);
    assert_eq!(r["unmatched"], json!(["unknown-account"]));
    assert!(
        r["roc_auc"].as_f64().unwrap() > 0.9,
        "low usage predicts churn here: {r}"
    );
    assert!(!r["calibration"].as_array().unwrap().is_empty());

    let (_, before) = t.get("/api/v1/health/models").await;
    let (s, cal) = t
        .post(
            "/api/v1/health/calibrate",
            json!({"as_of": as_of, "outcomes": outcomes}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{cal}");
    let (_, after) = t.get("/api/v1/health/models").await;
    let active = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == "active")
            .count()
    };
    assert_eq!(active(&before), active(&after), "calibration only proposes");
    {
        let pid = cal["proposed_model_id"]
            .as_str()
            .expect("low usage predicts churn here, so a model is proposed");
        assert!(cal["weights"]["usage"].as_f64().unwrap() > 0.0, "{cal}");
        let (_, m) = t.get(&format!("/api/v1/health/models/{pid}")).await;
        assert_eq!(m["status"], "proposed");
        let (s, m) = t
            .post(&format!("/api/v1/health/models/{pid}/activate"), json!({}))
            .await;
        assert_eq!((s, m["status"].as_str()), (StatusCode::OK, Some("active")));
    }
    // A model with bad weights is refused with the field named.
    let (s, v) = t.post("/api/v1/health/models", json!({"model": {"name": "bad", "segment": null, "bands": {"red_below": 80, "green_from": 60}, "components": []}})).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{v}"
    );
    let csm = t.token(Role::Csm).await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/health/backtest",
            Some(&csm),
            Some(json!({"as_of": as_of, "outcomes": []})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    t.finish().await;
}

/// The nightly refresh is scheduled (02:10 UTC, once per tick across nodes) and rescoring an
/// idle customer lets its score decay: without it a customer who went quiet kept yesterday's
/// score until some event arrived.
#[tokio::test]
async fn an_idle_customer_decays_at_the_nightly_refresh() {
    for t in each_backend().await {
        cscx_core::housekeeping::install_schedules(&t.app)
            .await
            .unwrap();
        let c = t
            .customer(json!({"name": "Quiet Co", "stage": "active"}))
            .await;
        let id = c["id"].as_str().unwrap().to_string();
        t.ingest(Value::Array(t.activity(&id, 5, 1..=20, "busy")))
            .await;
        t.drain_jobs().await;
        let score = |v: &Value| v["health_score"].as_i64().unwrap();
        let (_, before) = t.get(&format!("/api/v1/customers/{id}")).await;

        // Six weeks without a single event, past 02:10: only the schedule can notice.
        t.clock.advance(Duration::days(42));
        let fired = cscx_jobs::schedule::tick(&t.app.db, t.app.now())
            .await
            .unwrap();
        assert!(fired.iter().any(|n| n == "health-nightly"), "{fired:?}");
        t.drain_jobs().await;
        let (_, after) = t.get(&format!("/api/v1/customers/{id}")).await;
        assert!(
            score(&after) < score(&before),
            "{} then {}",
            score(&before),
            score(&after)
        );
        // The tick is taken: a second node ticking at the same moment fires nothing.
        let again = cscx_jobs::schedule::tick(&t.app.db, t.app.now())
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
        t.finish().await;
    }
}

/// A band is decided once, by the bands of the model for the customer's segment, and every
/// reader uses that answer: the list filter, the dashboard and the agents' tools (they each
/// compared the number with 75 and 50).
#[tokio::test]
async fn bands_come_from_the_segments_own_model() {
    for t in each_backend().await {
        let mut model = cscx_domain::health::HealthModel::default_model();
        model.name = "SMB".into();
        model.segment = Some("smb".into());
        model.bands = cscx_domain::health::Bands {
            red_below: 40,
            green_from: 70,
        };
        cscx_core::intelligence::save_model(&t.app, &model, true, None, None)
            .await
            .unwrap();
        let smb = t
            .customer(json!({"name": "Small Co", "segment": "smb", "health_score": 72}))
            .await;
        let other = t
            .customer(json!({"name": "Big Co", "segment": "enterprise", "health_score": 72}))
            .await;
        assert_eq!(smb["health_band"], "green", "{smb}");
        assert_eq!(other["health_band"], "yellow", "{other}");

        let (s, green) = t.get("/api/v1/customers?band=green").await;
        assert_eq!(s, StatusCode::OK, "{green}");
        let names: Vec<&str> = green["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Small Co"]);
        let (s, bad) = t.get("/api/v1/customers?band=purple").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");

        let summary = cscx_core::dashboard::summary(&t.app, cscx_domain::Role::Admin)
            .await
            .unwrap();
        assert_eq!((summary.green, summary.yellow, summary.red), (1, 1, 0));

        // Moving the customer to another segment regrades the same number.
        let (s, moved) = t
            .patch(
                &format!("/api/v1/customers/{}", smb["id"].as_str().unwrap()),
                json!({"segment": "enterprise"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{moved}");
        assert_eq!(moved["health_band"], "yellow", "{moved}");
        t.finish().await;
    }
}

/// The 360 reads usage to the last complete day: today's row counts a partial day (one user
/// by mid-morning), which read as a collapse.
#[tokio::test]
async fn the_360_reads_usage_to_the_last_complete_day() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Steady Co"})).await;
        let id = c["id"].as_str().unwrap().to_owned();
        t.ingest(Value::Array(t.activity(&id, 4, 1..=5, "steady")))
            .await;
        let (s, _) = t
            .ingest(json!([{"event_id": "now-1", "customer_id": id, "event_type": "login", "user_id": "u0"}]))
            .await;
        assert_eq!(s, StatusCode::OK);
        t.drain_jobs().await;
        let o = cscx_core::overview::of_customer(&t.app, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let last = o.usage.last().unwrap();
        assert_eq!(last.metric_date, t.today() - Duration::days(1));
        assert_eq!(last.dau, Some(4));
        t.finish().await;
    }
}

/// Past days get point-in-time scores on request, once each: an imported history has a trend.
#[tokio::test]
async fn history_is_backfilled_point_in_time_once() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Backfill Co"})).await;
        let id = c["id"].as_str().unwrap().to_owned();
        t.ingest(Value::Array(t.activity(&id, 5, 1..=30, "bf")))
            .await;
        t.drain_jobs().await;
        let today = t.today();
        let (from, to) = (today - Duration::days(22), today - Duration::days(1));
        let n = intel::backfill_history(&t.app, from, to, 7).await.unwrap();
        assert_eq!(n, 4, "days -22, -15, -8, -1");
        assert_eq!(
            intel::backfill_history(&t.app, from, to, 7).await.unwrap(),
            0
        );
        let (_, h) = t
            .get(&format!("/api/v1/customers/{id}/health/history?limit=50"))
            .await;
        let days: Vec<String> = h["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["recorded_at"].as_str().unwrap()[..10].to_owned())
            .collect();
        for back in [22, 15, 8, 1] {
            let day = (today - Duration::days(back)).to_string();
            assert!(days.contains(&day), "{day} in {days:?}");
        }
        assert!(intel::backfill_history(&t.app, to, from, 7).await.is_err());
        t.finish().await;
    }
}
