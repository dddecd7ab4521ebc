//! Agents and approvals over HTTP: streamed answers from real data, actions that wait for a
//! person, exactly-once execution under races and crashes, policies, expiry, deduplicated
//! retries, rate limits and session privacy. On SQLite and PostgreSQL.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cscx_domain::{Role, TokenScope};

use crate::{each_backend, error_code, TestApp};

/// Parses a Server-Sent Events body into (event, data) pairs.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            Some((event?, serde_json::from_str(&data).unwrap_or(Value::Null)))
        })
        .collect()
}

async fn say(
    t: &TestApp,
    token: &str,
    session: &str,
    text: &str,
    client_id: Option<&str>,
) -> (StatusCode, Vec<(String, Value)>) {
    let mut body = json!({ "content": text });
    if let Some(c) = client_id {
        body["client_message_id"] = json!(c);
    }
    let resp = t
        .client
        .post(format!(
            "{}/api/v1/agents/sessions/{session}/messages",
            t.base
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    if status == StatusCode::OK {
        assert_eq!(ct.as_deref(), Some("text/event-stream"));
    }
    (status, sse_events(&text))
}

/// The `approval_required` event of a turn (the test fails if there is none).
fn approval_event(events: &[(String, Value)]) -> Value {
    events
        .iter()
        .find(|(e, _)| e == "approval_required")
        .map(|(_, d)| d.clone())
        .expect("an approval_required event")
}

/// A customer with a primary contact, and a session about nothing in particular.
async fn setup(t: &TestApp) -> (String, String) {
    let c = t
        .customer(json!({"name": "Acme Corp", "arr": "120000", "stage": "active", "renewal_date": "2027-03-01"}))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let (s, v) = t
        .post(&format!("/api/v1/customers/{id}/stakeholders"),
            json!({"name": "Jane Rivera", "role": "VP Operations", "email": "jane@acme.example", "is_primary": true}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, session) = t.post("/api/v1/agents/sessions", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    (id, session["id"].as_str().unwrap().to_string())
}

/// Makes `csm@test.example` the account's CSM (who then sees and decides its approvals).
async fn assign_to_csm(t: &TestApp, customer: &str) {
    let user = t
        .app
        .auth
        .user_by_email("csm@test.example")
        .await
        .unwrap()
        .unwrap();
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/customers/{customer}"),
            Some(&t.admin),
            Some(json!({"csm_id": user.id})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The single integer `sql` selects (a count, usually).
pub(crate) async fn count(t: &TestApp, sql: &str) -> i64 {
    let mut c = t.app.db.conn().await.unwrap();
    cscx_store::run!(c.c(), |conn| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut *conn)
        .await)
    .unwrap()
}

#[tokio::test]
async fn answers_stream_with_tool_steps_and_real_numbers() {
    for t in each_backend().await {
        let (acme, session) = setup(&t).await;
        let admin = t.admin.clone();
        let (s, events) = say(&t, &admin, &session, "Tell me about Acme Corp", None).await;
        assert_eq!(s, StatusCode::OK);
        let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names.first(), Some(&"tool_start"), "{names:?}");
        assert!(names.contains(&"tool_end") && names.contains(&"token"));
        assert_eq!(names.last(), Some(&"done"));
        let done = &events.last().unwrap().1;
        assert_eq!(done["agent"], "orchestrator");
        let answer = done["content"].as_str().unwrap();
        assert!(
            answer.contains("$120k") && answer.contains("Jane Rivera"),
            "{answer}"
        );
        let streamed: String = events
            .iter()
            .filter(|(e, _)| e == "token")
            .map(|(_, d)| d["text"].as_str().unwrap())
            .collect();
        assert_eq!(streamed, answer);

        // Every step is persisted: the user message, the tool call, its result, the answer.
        let (_, history) = t.get(&format!("/api/v1/agents/sessions/{session}")).await;
        let roles: Vec<&str> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM agent_activity_log WHERE action_type = 'customer_overview' AND status = 'completed' AND parent_action_id IS NOT NULL").await, 1);
        // The session names no customer, yet the step is filed under the account it was about
        // (the 360's "recent agent activity" reads it).
        assert_eq!(
            count(&t, &format!("SELECT COUNT(*) FROM agent_activity_log WHERE action_type = 'customer_overview' AND customer_id = '{acme}'")).await,
            1
        );
        let o = cscx_core::overview::of_customer(&t.app, acme.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(o
            .activity
            .iter()
            .any(|a| a.action_type == "customer_overview"));

        // A customer added after the names were cached is recognised at once.
        t.customer(json!({"name": "Zenith Labs", "arr": "5000"}))
            .await;
        let (_, events) = say(&t, &admin, &session, "Tell me about Zenith Labs", None).await;
        let answer = events.last().unwrap().1["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(answer.starts_with("Zenith Labs:"), "{answer}");

        // A retried message replays the stored answer instead of running again.
        let (_, first) = say(&t, &admin, &session, "How is Acme Corp doing?", Some("m-1")).await;
        let (_, again) = say(&t, &admin, &session, "How is Acme Corp doing?", Some("m-1")).await;
        assert_eq!(
            first.last().unwrap().1["content"],
            again.last().unwrap().1["content"]
        );
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM agent_messages WHERE role = 'user'"
            )
            .await,
            3
        );

        // Another CSM cannot see this session.
        let other = t
            .token_for("other-csm@test.example", Role::Csm, None, TokenScope::Full)
            .await;
        let (s, _) = t
            .call(
                Method::GET,
                &format!("/api/v1/agents/sessions/{session}"),
                Some(&other),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = say(&t, &other, &session, "hello", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        t.finish().await;
    }
}

#[tokio::test]
async fn an_action_waits_for_approval_and_runs_exactly_once() {
    for t in each_backend().await {
        let (customer, session) = setup(&t).await;
        let admin = t.admin.clone();
        let (_, events) = say(
            &t,
            &admin,
            &session,
            "Schedule a QBR with Acme Corp next Tuesday at 2pm",
            None,
        )
        .await;
        let approval = approval_event(&events);
        let id = approval["approval_id"].as_str().unwrap().to_string();
        let preview = &approval["preview"];
        assert_eq!(
            preview["attendees"],
            json!(["jane@acme.example"]),
            "the primary contact is invited"
        );
        assert_eq!(preview["time_zone"], "UTC");
        assert_eq!(preview["duration_minutes"], 60);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM meetings").await,
            0,
            "nothing runs before approval"
        );
        let done = &events.last().unwrap().1;
        assert!(
            done["content"].as_str().unwrap().contains("approval"),
            "{done}"
        );

        let (_, inbox) = t.get("/api/v1/approvals?status=pending").await;
        assert_eq!(inbox["data"].as_array().unwrap().len(), 1);
        assert_eq!(inbox["data"][0]["customer_id"], customer);

        // Two people approve at the same moment: one wins, the other is told it is decided.
        let csm = t.token(Role::Csm).await;
        assign_to_csm(&t, &customer).await;
        let path = format!("/api/v1/approvals/{id}/approve");
        let (a, b) = tokio::join!(
            t.call(
                Method::POST,
                &path,
                Some(&admin),
                Some(json!({"comment": "go"}))
            ),
            t.call(Method::POST, &path, Some(&csm), Some(json!({}))),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{a:?} {b:?}"
        );
        let winner = if a.0 == StatusCode::OK { a.1 } else { b.1 };
        assert_eq!(winner["status"], "executed", "{winner}");
        assert_eq!(count(&t, "SELECT COUNT(*) FROM meetings").await, 1);
        let ics = std::fs::read_to_string(winner["result"]["ics"].as_str().unwrap()).unwrap();
        assert!(ics.contains("ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:jane@acme.example"));
        assert!(ics.contains(&format!("UID:{id}@cscx")));

        // Retries of execution (the job after a crash, a second worker) change nothing.
        t.app.drain_jobs(2).await.unwrap();
        let uuid: cscx_store::Id = id.parse().unwrap();
        let (x, y) = tokio::join!(
            cscx_core::approvals::execute(&t.app, uuid),
            cscx_core::approvals::execute(&t.app, uuid)
        );
        x.unwrap();
        y.unwrap();
        assert_eq!(count(&t, "SELECT COUNT(*) FROM meetings").await, 1);
        let (_, history) = t.get(&format!("/api/v1/agents/sessions/{session}")).await;
        let last = history["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(
            last["content"].as_str().unwrap().contains("is scheduled"),
            "the agent continues with the outcome: {last}"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn an_approval_decided_before_a_crash_is_executed_by_the_job() {
    for t in each_backend().await {
        let (_, session) = setup(&t).await;
        let admin = t.admin.clone();
        let (_, events) = say(
            &t,
            &admin,
            &session,
            "Open a save play for Acme Corp, usage collapsed",
            None,
        )
        .await;
        let id: cscx_store::Id = approval_event(&events)["approval_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // The decision committed, then the process died before executing: what `approve`
        // leaves behind at that instant is an approved row and its job.
        {
            let mut tx = t.app.db.begin().await.unwrap();
            let mut a: cscx_store::model::Approval = cscx_store::entity::get_for_update(tx.c(), id)
                .await
                .unwrap()
                .unwrap();
            a.status = cscx_domain::ApprovalStatus::Approved.into();
            cscx_store::entity::update(tx.c(), &a).await.unwrap();
            let job = cscx_core::approvals::execute_job(id);
            cscx_jobs::queue::enqueue_in(tx.c(), &job, t.app.now())
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(count(&t, "SELECT COUNT(*) FROM save_plays").await, 0);
        t.app.drain_jobs(1).await.unwrap();
        assert_eq!(count(&t, "SELECT COUNT(*) FROM save_plays").await, 1);
        let a = cscx_core::approvals::fetch(&t.app, id).await.unwrap();
        assert_eq!(a.status, cscx_domain::ApprovalStatus::Executed);
        cscx_core::approvals::execute(&t.app, id).await.unwrap();
        assert_eq!(count(&t, "SELECT COUNT(*) FROM save_plays").await, 1);
        t.finish().await;
    }
}

#[tokio::test]
async fn edits_rejections_roles_policies_and_expiry() {
    for t in each_backend().await {
        let (customer, session) = setup(&t).await;
        let admin = t.admin.clone();
        let csm = t.token(Role::Csm).await;
        let manager = t.token(Role::Manager).await;
        assign_to_csm(&t, &customer).await;

        // Approve with edits: the edited e-mail is what goes out, and the original is kept.
        let (_, events) = say(
            &t,
            &admin,
            &session,
            "Draft a thank-you email to Acme Corp",
            None,
        )
        .await;
        let ap = approval_event(&events);
        assert!(ap["preview"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi Jane,"));
        let id = ap["approval_id"].as_str().unwrap();
        let (s, bad) = t
            .post(
                &format!("/api/v1/approvals/{id}/approve"),
                json!({"edits": {"to": ["not an address"]}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let (s, a) = t
            .post(
                &format!("/api/v1/approvals/{id}/approve"),
                json!({"edits": {"body": "Hi Jane,\n\nThanks for Tuesday!\n"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{a}");
        assert_eq!(a["status"], "executed");
        assert_eq!(a["result"]["delivered"], false);
        assert!(a["result"]["note"]
            .as_str()
            .unwrap()
            .contains("not sent: no mail transport configured"));
        assert!(a["metadata"]["original_action_data"]["body"]
            .as_str()
            .unwrap()
            .contains("Thank you"));
        let eml = std::fs::read_to_string(a["result"]["outbox"].as_str().unwrap()).unwrap();
        assert!(
            eml.contains("To: jane@acme.example") && eml.contains("Thanks for Tuesday!"),
            "{eml}"
        );

        // Reject: nothing happens, the reason is kept.
        let (_, events) = say(&t, &admin, &session, "Move Acme Corp to at-risk", None).await;
        let id = approval_event(&events)["approval_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, r) = t
            .post(
                &format!("/api/v1/approvals/{id}/reject"),
                json!({"comment": "not yet"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["status"], "rejected");
        let (_, cu) = t.get("/api/v1/customers?q=Acme").await;
        assert_eq!(cu["data"][0]["stage"], "active");

        // Escalations need a manager.
        let (_, events) = say(
            &t,
            &admin,
            &session,
            "Escalate Acme Corp, the outage broke their close",
            None,
        )
        .await;
        let id = approval_event(&events)["approval_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, v) = t
            .call(
                Method::POST,
                &format!("/api/v1/approvals/{id}/approve"),
                Some(&csm),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = t
            .call(
                Method::POST,
                &format!("/api/v1/approvals/{id}/approve"),
                Some(&manager),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM risk_signals WHERE signal_type = 'escalation'"
            )
            .await,
            1
        );

        // An admin lets tasks run without approval; the run is still an approval on record.
        let (s, _) = t
            .call(
                Method::PUT,
                "/api/v1/approval-policies/create_task",
                Some(&csm),
                Some(json!({"auto_approve": true})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, p) = t
            .call(
                Method::PUT,
                "/api/v1/approval-policies/create_task",
                Some(&admin),
                Some(json!({"auto_approve": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        let (s, out) = t
            .post(
                "/api/v1/chat",
                json!({"message": "Remind me to send Acme Corp the SOC 2 report on Friday"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{out}");
        assert_eq!(count(&t, "SELECT COUNT(*) FROM tasks").await, 1);
        let (_, executed) = t
            .get("/api/v1/approvals?action=create_task&status=executed")
            .await;
        assert!(executed["data"][0]["comment"]
            .as_str()
            .unwrap()
            .contains("policy"));

        // Pending approvals expire after 24 hours, through the job; expired ones cannot run.
        let (_, events) = say(
            &t,
            &admin,
            &session,
            "Flag a risk on Acme Corp: they are evaluating a competitor",
            None,
        )
        .await;
        let id = approval_event(&events)["approval_id"]
            .as_str()
            .unwrap()
            .to_string();
        t.clock.advance(Duration::hours(25));
        assert_eq!(cscx_core::approvals::expire_due(&t.app).await.unwrap(), 1);
        let (s, v) = t
            .post(&format!("/api/v1/approvals/{id}/approve"), json!({}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM risk_signals WHERE signal_type = 'competitor_threat'"
            )
            .await,
            0
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn chat_deduplicates_retries_and_rate_limits_per_user() {
    for t in each_backend().await {
        setup(&t).await;
        let body = json!({"message": "Which customers renew in the next 180 days?", "client_message_id": "c-42"});
        let (s, first) = t.post("/api/v1/chat", body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{first}");
        assert_eq!(first["agent"], "renewal");
        assert!(
            first["content"]
                .as_str()
                .unwrap()
                .contains("1 customer(s) renew"),
            "{first}"
        );
        let (_, again) = t.post("/api/v1/chat", body).await;
        assert_eq!(first["message_id"], again["message_id"]);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM chat_messages").await, 2);

        let (s, v) = t.post("/api/v1/chat", json!({"message": ""})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let mut limited = None;
        for i in 0..40 {
            let (s, v) = t
                .post("/api/v1/chat", json!({"message": format!("hello {i}")}))
                .await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                limited = Some((i, v));
                break;
            }
        }
        let (i, v) = limited.expect("the per-user limit applies");
        assert!(i <= 30, "limited after {i}");
        assert_eq!(error_code(&v), "rate_limited");
        t.finish().await;
    }
}

/// Issue 11, defect 3 and the session rules: the use-cases refuse a viewer before the agent
/// runs, whatever the door (web form, chat API, sessions API), and nobody posts into another's
/// session, though a manager may read it.
#[tokio::test]
async fn viewers_cannot_run_the_agent_and_sessions_are_private() {
    for t in each_backend().await {
        let (_, admin_session) = setup(&t).await;
        let viewer = t.token(Role::Viewer).await;
        let manager = t.token(Role::Manager).await;
        let csm = t.token(Role::Csm).await;
        let ask = json!({"message": "Draft a thank-you email to Acme Corp"});
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/chat",
                Some(&viewer),
                Some(ask.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = t
            .call(
                Method::POST,
                "/api/v1/agents/sessions",
                Some(&viewer),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The web form: signed in as the viewer, with a valid CSRF token.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let cookie = t.session_cookie("viewer@test.example").await;
        let home = client
            .get(format!("{}/", t.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = home.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
        let csrf = home[at..].split('"').next().unwrap().to_string();
        let r = client
            .post(format!("{}/chat", t.base))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("message", "Draft a thank-you email to Acme Corp"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM approvals").await,
            0,
            "the agent never ran"
        );
        assert_eq!(count(&t, "SELECT COUNT(*) FROM chat_messages").await, 0);

        // Another's session: a manager reads it, nobody posts into it.
        let path = format!("/api/v1/agents/sessions/{admin_session}");
        let (s, _) = t.call(Method::GET, &path, Some(&manager), None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = t.call(Method::GET, &path, Some(&csm), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "a CSM does not learn it exists");
        let (s, _) = say(&t, &manager, &admin_session, "How is Acme Corp?", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM agent_messages").await, 0);
        t.finish().await;
    }
}

/// Asks for an action as the admin, approves it as proposed, and returns its id and the
/// approval as the approve call answered.
async fn propose_and_approve(t: &TestApp, session: &str, text: &str) -> (String, Value) {
    let (_, events) = say(t, &t.admin, session, text, None).await;
    let id = approval_event(&events)["approval_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, a) = t
        .post(&format!("/api/v1/approvals/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    (id, a)
}

/// Delivery goes through whatever transport is configured, not the executor: a refusal marks
/// the action failed, an outage leaves it approved for the job to retry, and a retried or
/// repeated execution delivers once.
#[tokio::test]
async fn approved_mail_goes_through_the_configured_transport_once() {
    use cscx_testkit::connect::{Behaviour, RecordingTransport};
    for db in cscx_testkit::TestDb::all().await {
        let transport = std::sync::Arc::new(RecordingTransport::default());
        let mail = transport.clone();
        let calendar = transport.clone();
        let t = TestApp::spawn_configured(db, Default::default(), move |a| {
            a.with_mail(mail).with_calendar(calendar)
        })
        .await;
        let (_, session) = setup(&t).await;

        // Down: the approval stays approved (the job retries) and nothing was delivered.
        transport.set(Behaviour::Unavailable);
        let (id, a) =
            propose_and_approve(&t, &session, "Draft a thank-you email to Acme Corp").await;
        assert_eq!(a["status"], "approved", "{a}");
        assert!(transport.mail().is_empty());

        // Back up: the job delivers it; running it again delivers nothing new.
        transport.set(Behaviour::Deliver);
        t.app.drain_jobs(1).await.unwrap();
        let approval = cscx_core::approvals::fetch(&t.app, id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(approval.status, cscx_domain::ApprovalStatus::Executed);
        let result = approval.result.unwrap();
        assert_eq!(result["delivered"], true, "{result}");
        assert_eq!(result["channel"], "recording");
        cscx_core::approvals::execute(&t.app, approval.id)
            .await
            .unwrap();
        let sent = transport.mail();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].key, id);
        assert_eq!(sent[0].to, vec!["jane@acme.example".to_string()]);
        assert!(sent[0].body.starts_with("Hi Jane,"), "{}", sent[0].body);

        // Refused for good: the action is failed, with the reason.
        transport.set(Behaviour::Refuse);
        let (_, a) = propose_and_approve(&t, &session, "Email Acme Corp a renewal reminder").await;
        assert_eq!(a["status"], "failed", "{a}");
        assert_eq!(a["result"]["error"], "recipient refused");

        // An invitation goes to the calendar, and the meeting says it was sent.
        transport.set(Behaviour::Deliver);
        let (id, a) =
            propose_and_approve(&t, &session, "Schedule a meeting with Acme Corp next week").await;
        assert_eq!(a["status"], "executed", "{a}");
        assert_eq!(transport.invitations().len(), 1);
        assert_eq!(transport.invitations()[0].uid(), format!("{id}@cscx"));
        t.finish().await;
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether the Python package `module` (a real server the test starts) is installed; under
/// `CI=true` its absence fails the test (`.ci/run` installs it).
fn python_has(module: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        cscx_testkit::require_in_ci(&format!("the Python package {module} (pip install)"));
        eprintln!("notice: {module} not installed; skipping (.ci/run installs it)");
    }
    found
}

/// A real SMTP server on this machine (aiosmtpd from PyPI, writing a Maildir), started and
/// stopped by the test.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: cscx_testkit::TempDir,
}

impl SmtpServer {
    fn start(port: u16, maildir: cscx_testkit::TempDir) -> SmtpServer {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.path().join(sub)).unwrap();
        }
        let mut child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return SmtpServer {
                    child,
                    port,
                    maildir,
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start");
    }

    /// Stops the server; its Maildir stays for the next start.
    fn stop(mut self) -> (u16, cscx_testkit::TempDir) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.port, self.maildir)
    }

    /// Every message the server took, as text.
    fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("new");
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// Approved e-mail through a real SMTP server: it arrives once with the right headers and body;
/// an outage is retried and delivers once; a crash while sending (a stale `sending` mark) ends
/// as "delivery unknown" for a person to check and is never resent.
#[tokio::test]
async fn approved_mail_reaches_a_real_smtp_server_exactly_once() {
    if !python_has("aiosmtpd") {
        return;
    }
    for db in cscx_testkit::TestDb::all().await {
        let port = free_port();
        let server = SmtpServer::start(port, cscx_testkit::TempDir::new("cscx-maildir"));
        let smtp = cscx_connect::Smtp::from_url(
            &format!("smtp://127.0.0.1:{port}?tls=none"),
            Some("csm@cscx.example".into()),
        )
        .unwrap();
        let t = TestApp::spawn_configured(db, Default::default(), move |a| {
            a.with_mail(std::sync::Arc::new(smtp))
        })
        .await;
        let (_, session) = setup(&t).await;

        let (id, a) =
            propose_and_approve(&t, &session, "Draft a thank-you email to Acme Corp").await;
        assert_eq!(a["status"], "executed", "{a}");
        assert_eq!(a["result"]["delivered"], true, "{a}");
        assert_eq!(a["result"]["channel"], "smtp");
        let got = server.messages();
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert!(m.contains(&format!("Message-ID: <{id}@cscx>")), "{m}");
        assert!(m.contains("From: csm@cscx.example"), "{m}");
        assert!(m.contains("To: jane@acme.example"), "{m}");
        assert!(m.contains("Subject: Thank you"), "{m}");
        assert!(m.contains("Hi Jane,"), "{m}");
        // Executing it again sends nothing.
        cscx_core::approvals::execute(&t.app, id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(server.messages().len(), 1);

        // The server is down: the approval waits (the job retries) and nothing is lost.
        let (port, maildir) = server.stop();
        let (id2, a) =
            propose_and_approve(&t, &session, "Email Acme Corp a renewal reminder").await;
        assert_eq!(a["status"], "approved", "{a}");
        let server = SmtpServer::start(port, maildir);
        t.app.drain_jobs(1).await.unwrap();
        let a2 = cscx_core::approvals::fetch(&t.app, id2.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(a2.status, cscx_domain::ApprovalStatus::Executed);
        assert_eq!(server.messages().len(), 2);
        assert_eq!(
            count(
                &t,
                &format!("SELECT CAST(attempts AS BIGINT) FROM mail_deliveries WHERE message_key = '{id2}'")
            )
            .await,
            2,
            "one refused connection, one delivery"
        );

        // A crash while sending: the ledger says an attempt started long ago and never ended.
        let (port, maildir) = server.stop();
        let (id3, a) = propose_and_approve(&t, &session, "Email Acme Corp a check-in").await;
        assert_eq!(a["status"], "approved", "{a}");
        let stale = cscx_store::Timestamp::from_millis(t.app.now().millis() - 3_600_000);
        {
            let mut c = t.app.db.conn().await.unwrap();
            cscx_store::run!(c.c(), |conn| sqlx::query(
                "UPDATE mail_deliveries SET state = 'sending', started_at = $1 WHERE message_key = $2"
            )
            .bind(stale)
            .bind(&id3)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))
            .unwrap();
        }
        let server = SmtpServer::start(port, maildir);
        t.app.drain_jobs(1).await.unwrap();
        let a3 = cscx_core::approvals::fetch(&t.app, id3.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(a3.status, cscx_domain::ApprovalStatus::Failed);
        let result = a3.result.unwrap();
        assert_eq!(result["delivery_unknown"], true, "{result}");
        assert!(
            result["error"].as_str().unwrap().contains("never finished"),
            "{result}"
        );
        assert_eq!(server.messages().len(), 2, "never resent");
        cscx_core::approvals::execute(&t.app, a3.id).await.unwrap();
        assert_eq!(server.messages().len(), 2);

        // Admins see the channel, the ledger and the message to check; others do not.
        let (s, st) = t.get("/api/v1/integrations").await;
        assert_eq!(s, StatusCode::OK, "{st}");
        assert_eq!(st["mail"]["channel"], "smtp");
        assert_eq!(st["mail"]["target"], format!("127.0.0.1:{port}"));
        assert_eq!(st["mail"]["delivers"], true);
        assert_eq!(st["calendar"]["channel"], "outbox");
        assert_eq!(st["mail_states"], json!({"sent": 2, "unknown": 1}));
        assert_eq!(st["mail_to_check"][0]["message_key"], id3);
        let csm = t.token(cscx_domain::Role::Csm).await;
        let (s, _) = t
            .call(Method::GET, "/api/v1/integrations", Some(&csm), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let cookie = t.session_cookie("admin@test.example").await;
        let page = t
            .client
            .get(format!("{}/admin/integrations", t.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("E-mails to check") && html.contains(&id3),
            "{html}"
        );
        server.stop();
        t.finish().await;
    }
}

/// Approved meetings become events on a real CalDAV server (Radicale from PyPI): the event is
/// the resource `<approval id>.ics` with the attendees, and executing again creates nothing new
/// (the server refuses a second creation of the same resource).
#[tokio::test]
async fn approved_meetings_become_events_on_a_real_caldav_server() {
    if !python_has("radicale") {
        return;
    }
    for db in cscx_testkit::TestDb::all().await {
        let port = free_port();
        let storage = cscx_testkit::TempDir::new("cscx-radicale");
        let mut server = std::process::Command::new("python3")
            .args([
                "-m",
                "radicale",
                "--server-hosts",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--auth-type", "none", "--storage-filesystem-folder"])
            .arg(storage.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start radicale");
        let http = reqwest::Client::new();
        let collection = format!("http://127.0.0.1:{port}/alice/work/");
        let mut created = false;
        for _ in 0..100 {
            let made = http
                .request(
                    reqwest::Method::from_bytes(b"MKCALENDAR").unwrap(),
                    &collection,
                )
                .basic_auth("alice", Some("pw"))
                .send()
                .await;
            if let Ok(r) = made {
                assert_eq!(r.status(), StatusCode::CREATED);
                created = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(created, "radicale did not start");
        let caldav =
            cscx_connect::CalDav::from_url(&format!("http://alice:pw@127.0.0.1:{port}/alice/work"))
                .unwrap();
        let t = TestApp::spawn_configured(db, Default::default(), move |a| {
            a.with_calendar(std::sync::Arc::new(caldav))
        })
        .await;
        let (_, session) = setup(&t).await;
        let (id, a) =
            propose_and_approve(&t, &session, "Schedule a meeting with Acme Corp next week").await;
        assert_eq!(a["status"], "executed", "{a}");
        let event = http
            .get(format!("{collection}{id}.ics"))
            .basic_auth("alice", Some("pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(event.status(), StatusCode::OK);
        let ics = event.text().await.unwrap();
        assert!(ics.contains(&format!("UID:{id}@cscx")), "{ics}");
        assert!(ics.contains("mailto:jane@acme.example"), "{ics}");
        assert!(!ics.contains("METHOD:"), "{ics}");
        let events = || {
            std::fs::read_dir(storage.path().join("collection-root/alice/work"))
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "ics"))
                .count()
        };
        assert_eq!(events(), 1);
        // The retry after a lost answer: the server has it already, nothing new is created.
        let again = cscx_connect::Invitation {
            key: id.clone(),
            title: "Again".into(),
            start: chrono::Utc::now(),
            minutes: 30,
            organizer: None,
            attendees: vec![],
            stamp: chrono::Utc::now(),
        };
        let d = t.app.agents.calendar.invite(&again).await.unwrap();
        assert!(d.reference.contains("already on the calendar"), "{d:?}");
        assert_eq!(events(), 1);
        let still = http
            .get(format!("{collection}{id}.ics"))
            .basic_auth("alice", Some("pw"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(still, ics, "the first event stays as it was");
        let _ = server.kill();
        let _ = server.wait();
        t.finish().await;
    }
}

/// A test server that answers as Slack's incoming webhooks are documented to: `ok`, or 429
/// with `Retry-After` when posted to too fast (here: the first post), and `no_service` (404)
/// for a webhook that was removed.
async fn slack_webhook_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::http::StatusCode as S;
    let posts: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let kept = posts.clone();
    let app = axum::Router::new().route(
        "/services/{team}/{bot}/{secret}",
        axum::routing::post(
            move |axum::extract::Path((_, _, secret)): axum::extract::Path<(
                String,
                String,
                String,
            )>,
                  axum::Json(body): axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    if secret == "removed" {
                        return (S::NOT_FOUND, [("retry-after", "")], "no_service");
                    }
                    let mut all = kept.lock().unwrap();
                    all.push(body);
                    if all.len() == 1 {
                        (S::TOO_MANY_REQUESTS, [("retry-after", "1")], "rate_limited")
                    } else {
                        (S::OK, [("retry-after", "")], "ok")
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, posts)
}

/// Approvals waiting for a decision and high or critical risk signals reach the team's Slack
/// channel through its incoming webhook, with a link into CSCX; a rate limit is waited out and
/// the message posted once it passes; low signals stay quiet.
#[tokio::test]
async fn approvals_waiting_and_serious_signals_reach_slack() {
    for t in each_backend().await {
        let (base, posts) = slack_webhook_server().await;
        let mut t = t;
        t.app.notify = cscx_core::notify::NotifySettings {
            slack: Some(std::sync::Arc::new(
                cscx_connect::SlackWebhook::new(&format!("{base}/services/T1/B1/s3cret")).unwrap(),
            )),
            public_url: Some("https://cscx.example.com".into()),
        };
        let (customer, session) = setup(&t).await;
        let (_, events) = say(
            &t,
            &t.admin,
            &session,
            "Draft a thank-you email to Acme Corp",
            None,
        )
        .await;
        assert!(approval_event(&events)["approval_id"].is_string());
        t.drain_jobs().await;
        // Slack said 429 to the first post: it is posted again once the wait has passed.
        assert_eq!(posts.lock().unwrap().len(), 1);
        t.clock.advance(chrono::Duration::minutes(10));
        t.drain_jobs().await;
        let got = posts.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], got[1]);
        let text = got[1]["text"].as_str().unwrap();
        assert!(
            text.starts_with("Approval needed: E-mail Acme Corp"),
            "{text}"
        );
        assert_eq!(
            got[1]["blocks"][1]["elements"][0]["url"],
            "https://cscx.example.com/approvals"
        );

        for severity in ["low", "high"] {
            let (s, v) = t
                .post(
                    &format!("/api/v1/customers/{customer}/risk-signals"),
                    json!({"signal_type": "exec_departure", "severity": severity}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        t.drain_jobs().await;
        let got = posts.lock().unwrap().clone();
        assert_eq!(got.len(), 3, "only the high signal: {got:?}");
        assert_eq!(got[2]["text"], "High risk on Acme Corp: exec departure");
        assert_eq!(
            got[2]["blocks"][1]["elements"][0]["url"],
            format!("https://cscx.example.com/customers/{customer}")
        );

        // A removed webhook: refused for good, not retried.
        t.app.notify.slack = Some(std::sync::Arc::new(
            cscx_connect::SlackWebhook::new(&format!("{base}/services/T1/B1/removed")).unwrap(),
        ));
        say(
            &t,
            &t.admin,
            &session,
            "Email Acme Corp a renewal reminder",
            None,
        )
        .await;
        t.drain_jobs().await;
        t.clock.advance(chrono::Duration::minutes(30));
        t.drain_jobs().await;
        assert_eq!(posts.lock().unwrap().len(), 3);
        assert_eq!(
            count(
                &t,
                "SELECT COUNT(*) FROM jobs WHERE kind = 'notify.slack' AND status = 'dead'"
            )
            .await,
            1
        );
        t.finish().await;
    }
}

/// The knowledge search reads every article, however many there are (it stopped at the first
/// 1,000, so an answer written later was never found).
#[tokio::test]
async fn knowledge_search_reads_past_the_first_thousand_articles() {
    use cscx_store::model::KnowledgeArticle;
    use cscx_store::Entity;
    for t in each_backend().await {
        let who = t.app.auth.authenticate_bearer(&t.admin).await.unwrap();
        let mut tx = t.app.db.begin().await.unwrap();
        for n in 0..1_001 {
            let mut a = KnowledgeArticle::sample(n);
            a.title = format!("Article {n}");
            a.content = if n == 1_000 {
                "How to configure single sign-on with Okta".into()
            } else {
                "Billing cycles and invoices".into()
            };
            cscx_store::entity::insert(tx.c(), &a).await.unwrap();
        }
        tx.commit().await.unwrap();
        let args = json!({"query": "okta single sign-on"});
        let found = cscx_core::agents::tools::run_read(
            &t.app,
            &who,
            "search_knowledge",
            args.as_object().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(found.to_string().contains("Article 1000"), "{found}");
        t.finish().await;
    }
}
