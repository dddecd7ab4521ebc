//! The domain-event record and its delivery: every change that feeds the health score appends
//! an event in its own transaction; the dispatcher hands each (event, subscriber) pair to its
//! subscriber exactly once, even with several dispatchers at once.

use serde_json::json;

use reqwest::StatusCode;

use crate::agents::count;
use crate::each_backend;

#[tokio::test]
async fn changes_append_events_that_reach_the_health_subscriber_exactly_once() {
    for t in each_backend().await {
        let c = t.customer(json!({"name": "Events Corp"})).await;
        let id = c["id"].as_str().unwrap();
        t.app.drain_jobs(2).await.unwrap();
        let waiting_rescores = |t| {
            count(
                t,
                "SELECT COUNT(*) FROM jobs WHERE kind = 'health.recompute' AND status = 'queued'",
            )
        };
        assert_eq!(waiting_rescores(&t).await, 0);

        // Ten changes in a row: ten events, ten waiting deliveries, one dispatch job.
        for i in 0..10 {
            let (s, v) = t
                .post(
                    &format!("/api/v1/customers/{id}/stakeholders"),
                    json!({"name": format!("Person {i}")}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        let sql = format!(
            "SELECT COUNT(*) FROM domain_events WHERE event_type = 'stakeholder.added' AND customer_id = '{id}'"
        );
        assert_eq!(count(&t, &sql).await, 10);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM domain_event_outbox").await,
            10
        );
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM jobs WHERE kind = 'events.dispatch' AND status = 'queued'"
            )
            .await,
            1
        );

        // Three dispatchers at once deliver each event once; the customer gets one recompute.
        let (a, b, c) = tokio::join!(
            cscx_core::events::dispatch(&t.app),
            cscx_core::events::dispatch(&t.app),
            cscx_core::events::dispatch(&t.app),
        );
        assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 10);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM domain_event_outbox").await,
            0
        );
        assert_eq!(cscx_core::events::dispatch(&t.app).await.unwrap(), 0);
        assert_eq!(waiting_rescores(&t).await, 1);

        // Through the queue, the score is recomputed from the change.
        t.app.drain_jobs(2).await.unwrap();
        let (s, h) = t.get(&format!("/api/v1/customers/{id}/health")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h["score"].is_number(), "{h}");
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM domain_event_outbox").await,
            0
        );
        t.finish().await;
    }
}
