//! The core portfolio: customers, their stakeholders, contracts and entitlements. Each write
//! runs in one transaction: read (locked), apply the patch, validate, write.

use serde_json::{json, Map, Value};

use cscx_domain::events::Event;
use cscx_domain::{validate, FieldErrors};
use cscx_store::customers::{self, Cursor, CustomerFilter, Sort};
use cscx_store::model::{Contract, Customer, Entitlement, Stakeholder};
use cscx_store::{entity, DbConn, Entity, Id, Timestamp};

use crate::auth::Principal;
use crate::authz;
use crate::error::{CoreError, CoreResult};
use crate::events::{record, Actor};
use crate::intelligence::primary_contact_removed;
use crate::records::{apply_patch, merge, require};
use crate::App;

pub const CUSTOMER_FIELDS: &[&str] = &[
    "name",
    "arr",
    "industry",
    "stage",
    "health_score",
    "csm_id",
    "salesforce_id",
    "hubspot_id",
    "segment",
    "renewal_date",
    "metadata",
];
pub const STAKEHOLDER_FIELDS: &[&str] = &[
    "name",
    "role",
    "email",
    "phone",
    "linkedin_url",
    "is_primary",
    "sentiment",
    "notes",
    "metadata",
];
pub const CONTRACT_FIELDS: &[&str] = &[
    "customer_id",
    "file_url",
    "file_name",
    "raw_text",
    "company_name",
    "arr",
    "contract_term",
    "start_date",
    "end_date",
    "status",
    "parsed_data",
    "pricing_terms",
    "technical_requirements",
    "missing_info",
    "next_steps",
];
pub const ENTITLEMENT_FIELDS: &[&str] = &[
    "name",
    "description",
    "quantity",
    "unit",
    "price",
    "category",
    "metadata",
];

fn validate_customer(c: &Customer) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.check("name", Some(c.name.as_str()), validate::text(200));
    e.check("stage", Some(c.stage.as_str()), validate::stage);
    e.check(
        "health_score",
        c.health_score.as_ref(),
        validate::health_score,
    );
    e.check(
        "arr",
        c.arr.as_ref().map(|m| &m.0),
        validate::non_negative_money,
    );
    e.check("industry", c.industry.as_deref(), validate::text(100));
    e.check("segment", c.segment.as_deref(), validate::text(100));
    e.check(
        "salesforce_id",
        c.salesforce_id.as_deref(),
        validate::text(100),
    );
    e.check("hubspot_id", c.hubspot_id.as_deref(), validate::text(100));
    if !c.metadata.is_object() {
        e.add("metadata", "must be a JSON object");
    }
    e
}

fn validate_stakeholder(s: &Stakeholder) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.check("name", Some(s.name.as_str()), validate::text(200));
    e.check("role", s.role.as_deref(), validate::text(200));
    e.check("email", s.email.as_deref(), validate::email);
    e.check("phone", s.phone.as_deref(), validate::text(50));
    e.check("linkedin_url", s.linkedin_url.as_deref(), validate::url);
    e.check(
        "sentiment",
        s.sentiment.as_deref(),
        validate::one_of(validate::SENTIMENTS),
    );
    if !s.metadata.is_object() {
        e.add("metadata", "must be a JSON object");
    }
    e
}

/// `file_url` may link a document kept elsewhere (http or https), but a stored file's key is set
/// by uploading it: otherwise any writer could point a contract at another contract's file and
/// download it through this one.
fn refuse_blob_links(body: &Map<String, Value>) -> CoreResult<()> {
    match body.get("file_url") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(u)) if validate::url(u).is_ok() => Ok(()),
        Some(_) => Err(CoreError::field(
            "file_url",
            "must be an http(s) link; stored files are attached by uploading them",
        )),
    }
}

fn validate_contract(c: &Contract) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.check(
        "status",
        Some(c.status.as_str()),
        validate::one_of(validate::CONTRACT_STATUSES),
    );
    e.check(
        "arr",
        c.arr.as_ref().map(|m| &m.0),
        validate::non_negative_money,
    );
    e.check("file_name", c.file_name.as_deref(), validate::text(255));
    e.check(
        "company_name",
        c.company_name.as_deref(),
        validate::text(200),
    );
    if let (Some(s), Some(end)) = (c.start_date, c.end_date) {
        if end < s {
            e.add("end_date", "must not be before start_date");
        }
    }
    e
}

fn validate_entitlement(x: &Entitlement) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.check("name", Some(x.name.as_str()), validate::text(200));
    e.check("quantity", x.quantity.as_ref(), validate::non_negative_int);
    e.check(
        "price",
        x.price.as_ref().map(|m| &m.0),
        validate::non_negative_money,
    );
    if !x.metadata.is_object() {
        e.add("metadata", "must be a JSON object");
    }
    e
}

/// A JSON object body, or a validation error saying it must be one.
/// PATCH a contract inside the caller's transaction (contract review records corrections
/// around it).
pub(crate) async fn patch_contract_in(
    mut c: DbConn<'_>,
    actor: &Actor,
    id: Id,
    body: &Map<String, Value>,
    now: Timestamp,
) -> CoreResult<Contract> {
    refuse_blob_links(body)?;
    let contract: Contract = patch_in(
        c.re(),
        "contract",
        id,
        body,
        CONTRACT_FIELDS,
        validate_contract,
        now,
    )
    .await?;
    let event = Event::ContractChanged {
        contract_id: contract.id.0,
        fields: body.keys().cloned().collect(),
    };
    record(c, &event, actor, contract.customer_id, now).await?;
    Ok(contract)
}

pub fn as_object(body: &Value) -> CoreResult<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| CoreError::field("body", "must be a JSON object"))
}

/// Builds a new record from `base` (server-set columns and defaults) and the body.
pub(crate) fn build<E: Entity>(
    base: E,
    body: &Map<String, Value>,
    writable: &[&str],
    required: &[&str],
    rules: fn(&E) -> FieldErrors,
) -> CoreResult<E> {
    let mut missing = FieldErrors::new();
    require(body, required, &mut missing);
    match apply_patch(&base, body, writable, rules) {
        Ok(record) if missing.is_empty() => Ok(record),
        Ok(_) => Err(CoreError::Validation(missing)),
        Err(e) => Err(CoreError::Validation(merge(missing, e))),
    }
}

pub(crate) async fn patch_in<E: Entity>(
    mut c: DbConn<'_>,
    what: &'static str,
    id: Id,
    body: &Map<String, Value>,
    writable: &[&str],
    rules: fn(&E) -> FieldErrors,
    now: Timestamp,
) -> CoreResult<E> {
    let current: E = entity::get_for_update(c.re(), id)
        .await?
        .ok_or(CoreError::NotFound(what))?;
    let mut record = apply_patch(&current, body, writable, rules)?;
    if E::COLUMNS.contains(&"updated_at") {
        let mut v = serde_json::to_value(&record).expect("records serialise");
        v["updated_at"] = json!(now);
        record = serde_json::from_value(v).expect("a timestamp is a valid updated_at");
    }
    entity::update(c, &record).await?;
    Ok(record)
}

async fn get<E: Entity>(app: &App, what: &'static str, id: Id) -> CoreResult<E> {
    let mut c = app.db.conn().await?;
    entity::get(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound(what))
}

async fn delete<E: Entity>(app: &App, what: &'static str, id: Id) -> CoreResult<()> {
    let mut c = app.db.conn().await?;
    if entity::delete::<E>(c.c(), id).await? {
        Ok(())
    } else {
        Err(CoreError::NotFound(what))
    }
}

async fn insert<E: Entity>(app: &App, record: E) -> CoreResult<E> {
    let mut c = app.db.conn().await?;
    entity::insert(c.c(), &record).await?;
    Ok(record)
}

// --- customers -------------------------------------------------------------------------

/// A new customer as every source starts one: onboarding, no owner, no score yet.
pub fn new_customer(name: String, metadata: Value, now: Timestamp) -> Customer {
    Customer {
        id: Id::new(),
        name,
        arr: None,
        industry: None,
        stage: cscx_domain::Stage::Onboarding.into(),
        health_score: None,
        csm_id: None,
        salesforce_id: None,
        hubspot_id: None,
        segment: None,
        renewal_date: None,
        metadata,
        created_at: now,
        updated_at: now,
        health_band: None,
    }
}

/// A new contract as every source starts one: active, linked to nothing, no terms yet.
pub fn new_contract(now: Timestamp) -> Contract {
    Contract {
        id: Id::new(),
        customer_id: None,
        file_url: None,
        file_name: None,
        raw_text: None,
        company_name: None,
        arr: None,
        contract_term: None,
        start_date: None,
        end_date: None,
        status: "active".into(),
        parsed_data: None,
        pricing_terms: None,
        technical_requirements: None,
        missing_info: None,
        next_steps: None,
        created_at: now,
        updated_at: now,
    }
}

/// A score set by hand (or imported) is graded like a computed one: with the bands of the
/// model for the customer's segment.
async fn grade_by_hand(app: &App, c: &mut Customer) -> CoreResult<()> {
    c.health_band = match c.health_score {
        Some(s) => {
            let model = crate::intelligence::model_for(app, c.segment.as_deref()).await?;
            Some(cscx_domain::health::grade(&model.bands, s).into())
        }
        None => None,
    };
    Ok(())
}

pub async fn create_customer(app: &App, who: &Principal, body: &Value) -> CoreResult<Customer> {
    authz::write_portfolio(who)?;
    let now = app.now();
    let c = build(
        new_customer(String::new(), json!({}), now),
        as_object(body)?,
        CUSTOMER_FIELDS,
        &["name"],
        validate_customer,
    )?;
    let mut c = c;
    grade_by_hand(app, &mut c).await?;
    insert(app, c).await
}

pub async fn get_customer(app: &App, id: Id) -> CoreResult<Customer> {
    get(app, "customer", id).await
}

pub async fn update_customer(
    app: &App,
    who: &Principal,
    id: Id,
    body: &Value,
) -> CoreResult<Customer> {
    authz::write_portfolio(who)?;
    let patch = as_object(body)?;
    let mut tx = app.db.begin().await?;
    let mut c = patch_in(
        tx.c(),
        "customer",
        id,
        patch,
        CUSTOMER_FIELDS,
        validate_customer,
        app.now(),
    )
    .await?;
    if patch.contains_key("health_score") || patch.contains_key("segment") {
        let before = c.health_band;
        grade_by_hand(app, &mut c).await?;
        if c.health_band != before {
            entity::update(tx.c(), &c).await?;
        }
    }
    // Stage and renewal date feed the health score (its subscriber rescores).
    let event = Event::CustomerChanged {
        fields: as_object(body)?.keys().cloned().collect(),
    };
    record(tx.c(), &event, &Actor::of(who), Some(c.id), app.now()).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn delete_customer(app: &App, who: &Principal, id: Id) -> CoreResult<()> {
    authz::write_portfolio(who)?;
    delete::<Customer>(app, "customer", id).await
}

/// The names of the customers `ids` names (duplicates allowed), in one query per 500.
pub async fn customer_names(
    app: &App,
    ids: &[Id],
) -> CoreResult<std::collections::HashMap<Id, String>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut c = app.db.conn().await?;
    Ok(customers::names_of(c.c(), &ids)
        .await?
        .into_iter()
        .collect())
}

/// How many customers a list filter matches and their total ARR: the numbers above the list.
pub async fn customer_totals(
    app: &App,
    filter: &CustomerFilter,
) -> CoreResult<(i64, cscx_store::Money)> {
    let mut c = app.db.conn().await?;
    Ok(customers::totals(c.c(), filter).await?)
}

pub async fn list_customers(
    app: &App,
    filter: &CustomerFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: u32,
) -> CoreResult<(Vec<Customer>, Option<Cursor>)> {
    let mut c = app.db.conn().await?;
    customers::list(c.c(), filter, sort, cursor, limit)
        .await
        .map_err(|e| match e {
            cscx_store::Error::Corrupt(msg) => CoreError::field("cursor", msg),
            other => other.into(),
        })
}

// --- stakeholders ----------------------------------------------------------------------

/// Only one primary contact per customer: marking one primary clears the others.
async fn keep_one_primary(c: DbConn<'_>, s: &Stakeholder) -> CoreResult<()> {
    if s.is_primary {
        cscx_store::customers::clear_other_primaries(c, s.customer_id, s.id).await?;
    }
    Ok(())
}

pub async fn create_stakeholder(
    app: &App,
    who: &Principal,
    customer_id: Id,
    body: &Value,
) -> CoreResult<Stakeholder> {
    authz::write_portfolio(who)?;
    get_customer(app, customer_id).await?;
    let now = app.now();
    let template = Stakeholder {
        id: Id::new(),
        customer_id,
        name: String::new(),
        role: None,
        email: None,
        phone: None,
        linkedin_url: None,
        is_primary: false,
        sentiment: None,
        notes: None,
        metadata: json!({}),
        created_at: now,
        updated_at: now,
    };
    let s: Stakeholder = build(
        template,
        as_object(body)?,
        STAKEHOLDER_FIELDS,
        &["name"],
        validate_stakeholder,
    )?;
    let mut tx = app.db.begin().await?;
    entity::insert(tx.c(), &s).await?;
    keep_one_primary(tx.c(), &s).await?;
    let event = Event::StakeholderAdded {
        stakeholder_id: s.id.0,
        name: s.name.clone(),
        is_primary: s.is_primary,
    };
    record(tx.c(), &event, &Actor::of(who), Some(s.customer_id), now).await?;
    tx.commit().await?;
    Ok(s)
}

pub async fn get_stakeholder(app: &App, id: Id) -> CoreResult<Stakeholder> {
    get(app, "stakeholder", id).await
}

pub async fn update_stakeholder(
    app: &App,
    who: &Principal,
    id: Id,
    body: &Value,
) -> CoreResult<Stakeholder> {
    authz::write_portfolio(who)?;
    let mut tx = app.db.begin().await?;
    let s: Stakeholder = patch_in(
        tx.c(),
        "stakeholder",
        id,
        as_object(body)?,
        STAKEHOLDER_FIELDS,
        validate_stakeholder,
        app.now(),
    )
    .await?;
    keep_one_primary(tx.c(), &s).await?;
    let event = Event::StakeholderChanged {
        stakeholder_id: s.id.0,
        fields: as_object(body)?.keys().cloned().collect(),
    };
    record(
        tx.c(),
        &event,
        &Actor::of(who),
        Some(s.customer_id),
        app.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// Removing the primary contact raises a `champion_lost` risk signal at once.
pub async fn delete_stakeholder(app: &App, who: &Principal, id: Id) -> CoreResult<()> {
    authz::write_portfolio(who)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let s: Stakeholder = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("stakeholder"))?;
    entity::delete::<Stakeholder>(tx.c(), id).await?;
    let event = Event::StakeholderRemoved {
        stakeholder_id: s.id.0,
        was_primary: s.is_primary,
    };
    record(tx.c(), &event, &Actor::of(who), Some(s.customer_id), now).await?;
    if s.is_primary {
        primary_contact_removed(tx.c(), &s, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn list_stakeholders(
    app: &App,
    customer_id: Id,
    after: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<Stakeholder>> {
    get_customer(app, customer_id).await?;
    let mut c = app.db.conn().await?;
    Ok(cscx_store::stakeholders::page_of_customer(c.c(), customer_id, after, limit).await?)
}

// --- contracts -------------------------------------------------------------------------

pub async fn create_contract(app: &App, who: &Principal, body: &Value) -> CoreResult<Contract> {
    authz::write_portfolio(who)?;
    refuse_blob_links(as_object(body)?)?;
    let now = app.now();
    let template = new_contract(now);
    let c = build(
        template,
        as_object(body)?,
        CONTRACT_FIELDS,
        &[],
        validate_contract,
    )?;
    let mut tx = app.db.begin().await?;
    entity::insert(tx.c(), &c).await?;
    let event = Event::ContractAdded {
        contract_id: c.id.0,
    };
    record(tx.c(), &event, &Actor::of(who), c.customer_id, now).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn get_contract(app: &App, id: Id) -> CoreResult<Contract> {
    get(app, "contract", id).await
}

pub async fn update_contract(
    app: &App,
    who: &Principal,
    id: Id,
    body: &Value,
) -> CoreResult<Contract> {
    authz::write_portfolio(who)?;
    let mut tx = app.db.begin().await?;
    let c = patch_contract_in(tx.c(), &Actor::of(who), id, as_object(body)?, app.now()).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn delete_contract(app: &App, who: &Principal, id: Id) -> CoreResult<()> {
    authz::write_portfolio(who)?;
    delete::<Contract>(app, "contract", id).await
}

/// Contracts in creation order (keyset by id), optionally of one customer or status.
pub async fn list_contracts(
    app: &App,
    customer_id: Option<Id>,
    status: Option<&str>,
    after: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<Contract>> {
    let mut c = app.db.conn().await?;
    let rows = cscx_store::contracts::page(c.c(), customer_id, status, after, limit).await?;
    Ok(rows)
}

// --- entitlements ----------------------------------------------------------------------

pub async fn create_entitlement(
    app: &App,
    who: &Principal,
    contract_id: Id,
    body: &Value,
) -> CoreResult<Entitlement> {
    authz::write_portfolio(who)?;
    get_contract(app, contract_id).await?;
    let template = Entitlement {
        id: Id::new(),
        contract_id,
        name: String::new(),
        description: None,
        quantity: None,
        unit: None,
        price: None,
        category: None,
        metadata: json!({}),
        created_at: app.now(),
    };
    let e = build(
        template,
        as_object(body)?,
        ENTITLEMENT_FIELDS,
        &["name"],
        validate_entitlement,
    )?;
    insert(app, e).await
}

pub async fn get_entitlement(app: &App, id: Id) -> CoreResult<Entitlement> {
    get(app, "entitlement", id).await
}

pub async fn update_entitlement(
    app: &App,
    who: &Principal,
    id: Id,
    body: &Value,
) -> CoreResult<Entitlement> {
    authz::write_portfolio(who)?;
    let mut tx = app.db.begin().await?;
    let e = patch_in(
        tx.c(),
        "entitlement",
        id,
        as_object(body)?,
        ENTITLEMENT_FIELDS,
        validate_entitlement,
        app.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(e)
}

pub async fn delete_entitlement(app: &App, who: &Principal, id: Id) -> CoreResult<()> {
    authz::write_portfolio(who)?;
    delete::<Entitlement>(app, "entitlement", id).await
}

pub async fn list_entitlements(
    app: &App,
    contract_id: Id,
    after: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<Entitlement>> {
    get_contract(app, contract_id).await?;
    let mut c = app.db.conn().await?;
    Ok(cscx_store::entitlements::page_of_contract(c.c(), contract_id, after, limit).await?)
}
