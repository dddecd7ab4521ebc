//! Segment-compatible ingestion over HTTP: Basic auth with the write key, gzip, batches that
//! group a user and track them, rejections by index, deduplication by messageId.

use std::io::Write;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use cscx_domain::{Role, TokenScope};

use super::agents::count;
use super::{each_backend, TestApp};

async fn send(t: &TestApp, key: &str, call: &str, body: &Value, gzip: bool) -> (StatusCode, Value) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let mut req = t
        .client
        .post(format!("{}/v1/{call}", t.base))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/json");
    let bytes = serde_json::to_vec(body).unwrap();
    req = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes).unwrap();
        req.header("content-encoding", "gzip")
            .body(enc.finish().unwrap())
    } else {
        req.body(bytes)
    };
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn reasons(r: &Value) -> Vec<(u64, String)> {
    r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["index"].as_u64().unwrap(),
                x["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tracking_calls_become_usage_events_and_users_find_their_customer() {
    for t in each_backend().await {
        let c = t
            .customer(json!({"name": "Seg Co", "metadata": {"external_id": "acct-seg"}}))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let (s, ana) = t
            .post(
                &format!("/api/v1/customers/{id}/stakeholders"),
                json!({"name": "Ana", "email": "Ana@Seg.example"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{ana}");
        let key = t
            .token_for("seg@test.example", Role::Csm, None, TokenScope::Ingest)
            .await;

        let batch = json!({"batch": [
            {"type": "identify", "userId": "u-1", "traits": {"email": "ana@seg.example", "plan": "pro"}, "messageId": "m0"},
            {"type": "group", "userId": "u-1", "groupId": "acct-seg", "messageId": "m1"},
            {"type": "track", "userId": "u-1", "event": "Report Run", "properties": {"rows": 3}, "messageId": "m2"},
            {"type": "page", "userId": "u-1", "name": "Pricing", "properties": {"path": "/pricing"}, "messageId": "m3"},
            {"type": "track", "userId": "u-2", "event": "Orphan", "messageId": "m4"},
            {"type": "track", "anonymousId": "anon-7", "event": "Viewed", "context": {"groupId": "acct-seg"}, "messageId": "m5"},
            {"type": "bogus", "userId": "u-1"},
            {"type": "track", "userId": "u-1", "event": "feature_used", "messageId": "m7"}
        ]});
        let (s, r) = send(&t, &key, "batch", &batch, true).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["accepted"], 5, "{r}");
        let rejected = reasons(&r);
        assert_eq!(
            rejected.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![4, 6, 7]
        );
        assert!(rejected[0].1.contains("belongs to no customer"), "{r}");
        assert!(rejected[1].1.contains("not one of"), "{r}");
        // The native rules hold: a feature_used event names its feature.
        assert!(rejected[2].1.contains("metadata.feature"), "{r}");

        // The library retries the same batch: no event is stored twice.
        let (s, r) = send(&t, &key, "batch", &batch, false).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(r["duplicates"].as_array().unwrap().len(), 3, "{r}");
        assert_eq!(r["accepted"], 2, "identity calls are applied again: {r}");

        // Later calls without a groupId resolve through the group call.
        let (s, r) = send(
            &t,
            &key,
            "track",
            &json!({"userId": "u-1", "event": "Export", "messageId": "m8", "timestamp": "2026-05-31T09:00:00.250Z"}),
            false,
        )
        .await;
        assert_eq!(
            (s, r["accepted"].clone()),
            (StatusCode::OK, json!(1)),
            "{r}"
        );

        let stored = count(
            &t,
            &format!("SELECT COUNT(*) FROM usage_events WHERE customer_id = '{id}'"),
        )
        .await;
        assert_eq!(stored, 4);
        let types = count(
            &t,
            &format!(
                "SELECT COUNT(*) FROM usage_events WHERE customer_id = '{id}' AND event_type IN ('Report Run', 'page', 'Viewed', 'Export')"
            ),
        )
        .await;
        assert_eq!(types, 4);
        let linked = count(
            &t,
            &format!(
                "SELECT COUNT(*) FROM tracked_users WHERE user_id = 'u-1' AND customer_id = '{id}' AND stakeholder_id = '{}'",
                ana["id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(linked, 1, "identify linked the stakeholder by e-mail");

        // Nothing accepted → 422; an unknown call → 404; a bad key → 401; a viewer → 403.
        let (s, r) = send(
            &t,
            &key,
            "track",
            &json!({"userId": "nobody", "event": "x"}),
            false,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
        let (s, _) = send(&t, &key, "launch", &json!({}), false).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = send(&t, "not-a-key", "track", &json!({}), false).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let viewer = t.token(Role::Viewer).await;
        let (s, _) = send(&t, &viewer, "track", &json!({}), false).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // A corrupt gzip body changes nothing.
        let resp = t
            .client
            .post(format!("{}/v1/batch", t.base))
            .bearer_auth(&key)
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 8, 0, 1, 2, 3])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        // A small gzip bomb is stopped at the batch limit.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(b"{\"batch\": [\"").unwrap();
        enc.write_all(&vec![b'a'; 6 * 1024 * 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 64 * 1024);
        let resp = t
            .client
            .post(format!("{}/v1/batch", t.base))
            .bearer_auth(&key)
            .header("content-encoding", "gzip")
            .body(bomb)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM usage_events").await,
            4,
            "nothing more was stored"
        );
        t.finish().await;
    }
}
