//! The capability queries of `cscx-store` (one story per module), on SQLite always and on
//! PostgreSQL when `CSCX_TEST_DATABASE_URL` is set: each asserts what its callers rely on.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, NaiveDate};
use cscx_domain::ApprovalStatus;
use cscx_store::entity::{self, Entity};
use cscx_store::model::{AgentSession, Approval, Contract, Customer, RiskSignal};
use cscx_store::product::User;
use cscx_store::{
    agents, approvals, contracts, customers, dashboard, intelligence, Db, Id, Timestamp,
};
use cscx_testkit::TestDb;
use serde_json::json;

static N: AtomicU32 = AtomicU32::new(1);

fn n() -> u32 {
    N.fetch_add(1, Ordering::SeqCst)
}

fn at(day: &str) -> Timestamp {
    Timestamp::from_datetime(
        chrono::DateTime::parse_from_rfc3339(&format!("{day}T12:00:00Z"))
            .unwrap()
            .into(),
    )
}

async fn customer(db: &Db, name: &str, arr: Option<&str>, health: Option<i32>) -> Customer {
    let mut cu = Customer::sample(n());
    cu.name = name.into();
    cu.arr = arr.map(|a| a.parse().unwrap());
    cu.health_score = health;
    cu.health_band = health.map(|s| cscx_domain::health::grade(&Default::default(), s).into());
    cu.stage = cscx_domain::Stage::Active.into();
    cu.csm_id = None;
    cu.segment = None;
    cu.renewal_date = None;
    cu.metadata = json!({});
    let mut c = db.conn().await.unwrap();
    entity::insert(c.c(), &cu).await.unwrap();
    cu
}

async fn user(db: &Db) -> User {
    let mut u = User::sample(n());
    u.email = format!("user{}@example.com", n());
    u.role = cscx_domain::Role::Csm.into();
    let mut c = db.conn().await.unwrap();
    entity::insert(c.c(), &u).await.unwrap();
    u
}

fn approval(customer: Option<Id>, requested_by: Option<Id>, status: ApprovalStatus) -> Approval {
    let mut a = Approval::sample(n());
    a.session_id = None;
    a.resolved_by = None;
    a.customer_id = customer;
    a.requested_by = requested_by;
    a.status = status.into();
    a.required_role = cscx_domain::Role::Csm.into();
    a.expires_at = None;
    a
}

#[tokio::test]
async fn approvals_policies_upsert_and_lists_show_only_what_the_caller_may_see() {
    for t in TestDb::all().await {
        let db = &t.db;
        let me = user(db).await;
        let other = user(db).await;
        let mut c = db.conn().await.unwrap();
        let now = at("2027-01-04");
        let p = ("send_email".to_string(), "manager".to_string(), false, 24);
        approvals::save_policy(c.c(), &p, me.id, now).await.unwrap();
        let p2 = ("send_email".to_string(), "admin".to_string(), true, 48);
        approvals::save_policy(c.c(), &p2, me.id, now)
            .await
            .unwrap();
        assert_eq!(
            approvals::policy(c.c(), "send_email").await.unwrap(),
            Some(p2)
        );
        assert_eq!(approvals::policies(c.c()).await.unwrap().len(), 1);

        let mine = customer(db, "Mine", None, None).await;
        let mut owned = mine.clone();
        owned.csm_id = Some(me.id);
        entity::update(c.c(), &owned).await.unwrap();
        let theirs = customer(db, "Theirs", None, None).await;
        let asked = approval(Some(theirs.id), Some(me.id), ApprovalStatus::Pending);
        let on_mine = approval(Some(mine.id), Some(other.id), ApprovalStatus::Pending);
        let hidden = approval(Some(theirs.id), Some(other.id), ApprovalStatus::Pending);
        for a in [&asked, &on_mine, &hidden] {
            entity::insert(c.c(), a).await.unwrap();
        }
        let f = approvals::Filter::default();
        let seen = approvals::page(c.c(), &f, approvals::Visible::Of(me.id), None, 10)
            .await
            .unwrap();
        let ids: Vec<Id> = seen.iter().map(|a| a.id).collect();
        assert_eq!(
            ids,
            vec![on_mine.id, asked.id],
            "newest first, own and owned only"
        );
        let all = approvals::page(c.c(), &f, approvals::Visible::All, None, 10)
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        let older = approvals::page(c.c(), &f, approvals::Visible::All, Some(hidden.id), 10)
            .await
            .unwrap();
        assert_eq!(older.len(), 2, "keyset: strictly before the cursor");

        let mut due = approval(None, None, ApprovalStatus::Pending);
        due.expires_at = Some(at("2027-01-03"));
        let mut decided = approval(None, None, ApprovalStatus::Approved);
        decided.expires_at = Some(at("2027-01-03"));
        entity::insert(c.c(), &due).await.unwrap();
        entity::insert(c.c(), &decided).await.unwrap();
        assert_eq!(approvals::expire_due(c.c(), now).await.unwrap(), 1);
        let due: Approval = entity::get(c.c(), due.id).await.unwrap().unwrap();
        assert_eq!(due.status, ApprovalStatus::Expired);
        drop(c);
        t.finish().await;
    }
}

#[tokio::test]
async fn an_open_automatic_signal_is_refreshed_not_repeated() {
    for t in TestDb::all().await {
        let db = &t.db;
        let cu = customer(db, "Acme", None, None).await;
        let mut c = db.conn().await.unwrap();
        let signal = |severity: &str| RiskSignal {
            id: Id::new(),
            customer_id: cu.id,
            signal_type: "champion_lost".into(),
            severity: severity
                .parse::<cscx_domain::risk::Severity>()
                .unwrap()
                .into(),
            description: Some(format!("{severity} now")),
            detected_at: at("2027-01-04"),
            resolved_at: None,
            resolution_notes: None,
            auto_detected: true,
            source: Some("test".into()),
            metadata: json!({}),
        };
        let first = intelligence::raise_auto_signal(c.c(), &signal("medium"))
            .await
            .unwrap();
        let again = intelligence::raise_auto_signal(c.c(), &signal("high"))
            .await
            .unwrap();
        assert_eq!(first, again, "{}", t.backend().name());
        let open = intelligence::open_auto_signals(c.c(), cu.id).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].severity, cscx_domain::risk::Severity::High);

        let mut resolved = open[0].clone();
        resolved.resolved_at = Some(at("2027-01-05"));
        entity::update(c.c(), &resolved).await.unwrap();
        let next = intelligence::raise_auto_signal(c.c(), &signal("low"))
            .await
            .unwrap();
        assert_ne!(next, first, "a resolved signal does not absorb a new one");
        let open_then = intelligence::signals_open_at(c.c(), cu.id, at("2027-01-04")).await;
        assert_eq!(
            open_then.unwrap().len(),
            0,
            "nothing was detected before noon"
        );
        drop(c);
        t.finish().await;
    }
}

#[tokio::test]
async fn activating_a_health_model_archives_the_segments_previous_one() {
    for t in TestDb::all().await {
        let mut c = t.db.conn().await.unwrap();
        let now = at("2027-01-04");
        let model = |segment: &str| intelligence::StoredModel {
            id: Id::new(),
            name: format!("model {}", n()),
            segment_key: segment.into(),
            config: json!({ "n": n() }),
            status: "proposed".into(),
            notes: None,
            created_by: None,
            created_at: now,
            updated_at: now,
        };
        let (a, b, other) = (model("smb"), model("smb"), model(""));
        for m in [&a, &b, &other] {
            intelligence::insert_model(c.c(), m).await.unwrap();
        }
        intelligence::activate_model(c.c(), other.id, "", now)
            .await
            .unwrap();
        intelligence::activate_model(c.c(), a.id, "smb", now)
            .await
            .unwrap();
        intelligence::activate_model(c.c(), b.id, "smb", now)
            .await
            .unwrap();
        let models = intelligence::models(c.c()).await.unwrap();
        let status = |id: Id| models.iter().find(|m| m.id == id).unwrap().status.clone();
        assert_eq!(status(a.id), "archived");
        assert_eq!(status(b.id), "active");
        assert_eq!(status(other.id), "active", "another segment is untouched");
        let configs = intelligence::active_model_configs(c.c(), "smb")
            .await
            .unwrap();
        assert_eq!(configs.len(), 2, "the segment's and the default");
        drop(c);
        t.finish().await;
    }
}

#[tokio::test]
async fn portfolio_answers_count_and_exact_arr_and_names_match_without_a_cap() {
    for t in TestDb::all().await {
        let db = &t.db;
        customer(db, "Alpha One", Some("1000.10"), Some(40)).await;
        customer(db, "Alpha Two", Some("2000.20"), Some(80)).await;
        customer(db, "Beta", Some("0.01"), Some(30)).await;
        let mut c = db.conn().await.unwrap();
        let q = customers::PortfolioQuery {
            min_arr: Some("1000.10".parse().unwrap()),
            ..Default::default()
        };
        let answer = customers::portfolio(c.c(), &q, 1).await.unwrap();
        assert_eq!(answer.count, 2);
        let total: rust_decimal::Decimal = answer.total_arr.unwrap().parse().unwrap();
        assert_eq!(total, "3000.30".parse().unwrap(), "no float rounding");
        assert_eq!(answer.first.len(), 1);
        assert_eq!(answer.first[0].name, "Alpha One", "least healthy first");

        let found = customers::name_contains(c.c(), "ALPHA").await.unwrap();
        assert_eq!(found.len(), 2);
        let wild = customers::name_contains(c.c(), "Al_ha").await.unwrap();
        assert!(wild.is_empty(), "a wildcard in the fragment is not one");

        let known: Vec<Id> = found.iter().map(|c| c.id).collect();
        let mut asked: Vec<Id> = (0..1_200).map(|_| Id::new()).collect();
        asked.extend(&known);
        let mut exist = customers::existing_ids(c.c(), &asked).await.unwrap();
        exist.sort();
        let mut expected = known.clone();
        expected.sort();
        assert_eq!(exist, expected, "across several chunks of 500");

        let totals = dashboard::totals(c.c()).await.unwrap();
        assert_eq!(totals.customers, 3);
        assert_eq!((totals.green, totals.yellow, totals.red), (1, 0, 2));
        drop(c);
        t.finish().await;
    }
}

#[tokio::test]
async fn sessions_list_per_user_and_ended_contracts_expire_once() {
    for t in TestDb::all().await {
        let db = &t.db;
        let me = user(db).await;
        let other = user(db).await;
        let mut c = db.conn().await.unwrap();
        for owner in [me.id, other.id, me.id] {
            let mut s = AgentSession::sample(n());
            s.customer_id = None;
            s.user_id = Some(owner);
            s.status = "active".into();
            s.updated_at = at("2027-01-01");
            entity::insert(c.c(), &s).await.unwrap();
        }
        let mine = agents::sessions_page(c.c(), Some(me.id), None, 10)
            .await
            .unwrap();
        assert_eq!(mine.len(), 2);
        assert!(mine[0].id > mine[1].id, "newest first");
        let everyone = agents::sessions_page(c.c(), None, None, 10).await.unwrap();
        assert_eq!(everyone.len(), 3);
        let timed_out = agents::time_out_sessions(c.c(), at("2027-01-02"), at("2027-01-02"))
            .await
            .unwrap();
        assert_eq!(timed_out, 3);

        let cu = customer(db, "Gamma", None, None).await;
        let mut k = Contract::sample(n());
        k.customer_id = Some(cu.id);
        k.status = "active".into();
        k.end_date = Some(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        entity::insert(c.c(), &k).await.unwrap();
        let today = NaiveDate::from_ymd_opt(2027, 1, 2).unwrap();
        let now = at("2027-01-02");
        let touched = contracts::expire_ended(c.c(), today, now).await.unwrap();
        assert_eq!(touched, vec![Some(cu.id)]);
        assert!(
            contracts::expire_ended(c.c(), today + Duration::days(1), now)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            contracts::of_customer(c.c(), cu.id).await.unwrap()[0].status,
            "expired"
        );
        drop(c);
        t.finish().await;
    }
}

/// The rhythm model's histories count active weeks (numbered from 1970-01-01 in steps of 7
/// days) the same way on both engines, up to the day asked for, skipping silent days.
#[tokio::test]
async fn histories_count_active_weeks_alike_on_both_engines() {
    for t in TestDb::all().await {
        let db = &t.db;
        let cu = customer(db, "Weekly", None, None).await;
        // 2026-01-01 is a Thursday: day 20454 since 1970-01-01, the first day of week 2922.
        let days = [
            ("2026-01-01", 2),
            ("2026-01-07", 1), // same week
            ("2026-01-08", 3), // next week
            ("2026-01-20", 0), // silent: no active users
            ("2026-02-02", 1),
            ("2026-03-01", 4), // after the day asked for
        ];
        for (day, active) in days {
            let mut m = cscx_store::model::UsageMetric::sample(n());
            m.customer_id = cu.id;
            m.metric_date = day.parse().unwrap();
            m.active_users = Some(active);
            let mut c = db.conn().await.unwrap();
            entity::insert(c.c(), &m).await.unwrap();
        }
        let rows = {
            let mut c = db.conn().await.unwrap();
            cscx_store::usage::histories(c.c(), "2026-02-15".parse().unwrap())
                .await
                .unwrap()
        };
        let first: NaiveDate = "2026-01-01".parse().unwrap();
        let last: NaiveDate = "2026-02-02".parse().unwrap();
        assert_eq!(rows, vec![(3, first, last)], "{:?}", t.backend());
        t.finish().await;
    }
}
