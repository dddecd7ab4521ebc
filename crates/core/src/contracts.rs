//! Contract intelligence: upload a document, extract its terms as a job, review and correct them,
//! then confirm them into the portfolio (customer, entitlements, stakeholders) in one transaction.
//!
//! Status: `parsing` (text read, terms being extracted) → `parsed` (in review) or `failed`;
//! confirming makes it `active` (or `expired` when its end date has passed), and a daily job
//! expires active contracts whose end date has passed.
//!
//! `parsed_data` holds `{engine, document, extraction, proposals, corrections, review, error}`:
//! the typed extraction with evidence, what confirming would write, who corrected what, and who
//! confirmed.

use cscx_domain::events::Event;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use cscx_ai::contract::{self as extractor, ContractExtraction, ExtractOptions};
use cscx_ai::document::{self, Limits};
use cscx_jobs::queue::{enqueue_in, NewJob};
use cscx_store::model::{Contract, Customer, Entitlement, Stakeholder};
use cscx_store::{entity, DbConn, Id, Money, Timestamp};

use crate::error::{CoreError, CoreResult};
use crate::events::{record, Actor};
use crate::App;

pub const EXTRACT_JOB: &str = "contract.extract";
pub const STATUS_JOB: &str = "contracts.refresh_status";

/// Where original files are kept. Content-addressed: the key is the SHA-256 of the bytes, so
/// uploading the same file twice stores it once.
pub trait BlobStore: Send + Sync {
    fn put(&self, bytes: &[u8]) -> std::io::Result<String>;
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
}

/// Blobs as files under `root/ab/cdef…`, written to a temporary name, synced, then renamed, so a
/// crash never leaves a partial file under a valid key.
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsBlobStore { root: root.into() }
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a blob key",
            ));
        }
        Ok(self.root.join(&key[..2]).join(&key[2..]))
    }
}

impl BlobStore for FsBlobStore {
    fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let key = hex::encode(Sha256::digest(bytes));
        let path = self.path(&key)?;
        if path.exists() {
            return Ok(key);
        }
        let dir = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.{}", &key[2..], uuid::Uuid::new_v4()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(key)
    }

    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(key)?)
    }
}

/// Settings for contract intelligence.
#[derive(Clone)]
pub struct ContractSettings {
    pub blobs: Arc<dyn BlobStore>,
    /// Our own company (`CSCX_COMPANY_NAME`): the other party of a contract is the customer.
    pub vendor_name: Option<String>,
    pub limits: Limits,
    /// Where untrusted files are parsed: a child process in the server.
    pub reader: cscx_ai::isolate::DocumentReader,
}

impl ContractSettings {
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        ContractSettings {
            blobs: Arc::new(FsBlobStore::new(dir)),
            vendor_name: None,
            limits: Limits::default(),
            reader: cscx_ai::isolate::DocumentReader::Thread,
        }
    }
}

const BLOB_PREFIX: &str = "blob:sha256:";

/// An uploaded file, before anything is stored.
pub struct Upload {
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
    pub customer_id: Option<Id>,
}

/// Reads the text, stores the file and creates the contract in `parsing` with its extraction
/// job. A file we cannot read is refused with a clear error and nothing is stored.
pub async fn upload(app: &App, upload: Upload) -> CoreResult<Contract> {
    let settings = app.contracts.clone();
    if let Some(id) = upload.customer_id {
        let mut c = app.db.conn().await?;
        entity::get::<Customer>(c.c(), id)
            .await?
            .ok_or_else(|| CoreError::field("customer_id", "no customer has this id"))?;
    }
    let size = upload.bytes.len();
    let file_name = upload.file_name.map(|n| sanitise_file_name(&n));
    let bytes = upload.bytes;
    // The blob key is the file's SHA-256.
    let (text, key) = tokio::task::spawn_blocking({
        let file_name = file_name.clone();
        let settings = settings.clone();
        move || -> CoreResult<_> {
            let text = settings
                .reader
                .read(bytes.clone(), file_name, settings.limits)
                .map_err(CoreError::Document)?;
            let key = settings
                .blobs
                .put(&bytes)
                .map_err(|e| CoreError::Internal(format!("storing the file: {e}")))?;
            Ok((text, key))
        }
    })
    .await
    .map_err(|e| CoreError::Internal(format!("extraction task: {e}")))??;

    let now = app.now();
    let parsed = json!({
        "engine": null,
        "document": {
            "kind": text.kind, "pages": text.pages, "chars": text.text.chars().count(),
            "size": size, "sha256": key, "content_type": text.kind.content_type(),
        },
        "extraction": null, "proposals": null, "corrections": [], "review": null, "error": null,
    });
    let contract = Contract {
        customer_id: upload.customer_id,
        file_url: Some(format!("{BLOB_PREFIX}{key}")),
        file_name,
        raw_text: Some(text.text),
        status: "parsing".into(),
        parsed_data: Some(parsed),
        ..crate::portfolio::new_contract(now)
    };
    let mut tx = app.db.begin().await?;
    entity::insert(tx.c(), &contract).await?;
    enqueue_extraction(tx.c(), contract.id, now).await?;
    tx.commit().await?;
    // Wake this process's worker now rather than at its next poll.
    app.queue.notify.notify_waiters();
    Ok(contract)
}

async fn enqueue_extraction(c: DbConn<'_>, id: Id, now: Timestamp) -> CoreResult<()> {
    let job = NewJob::new(EXTRACT_JOB, json!({ "contract_id": id }))
        .key(format!("contract-extract:{id}"));
    enqueue_in(c, &job, now).await?;
    Ok(())
}

/// "../../etc/passwd" → "passwd": only the last path component, without control characters.
fn sanitise_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "contract".into()
    } else {
        clean
    }
}

/// The original file and its content type, for download.
pub async fn file(app: &App, id: Id) -> CoreResult<(Contract, Vec<u8>, &'static str)> {
    let contract = crate::portfolio::get_contract(app, id).await?;
    let key = contract
        .file_url
        .as_deref()
        .and_then(|u| u.strip_prefix(BLOB_PREFIX))
        .ok_or(CoreError::NotFound("contract file"))?
        .to_string();
    let blobs = app.contracts.blobs.clone();
    let bytes = tokio::task::spawn_blocking(move || blobs.get(&key))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|_| CoreError::NotFound("contract file"))?;
    let kind = document::sniff(&bytes, contract.file_name.as_deref())
        .map(|k| k.content_type())
        .unwrap_or("application/octet-stream");
    Ok((contract, bytes, kind))
}

/// Runs the extraction job: typed terms, mapped columns and review proposals.
pub async fn run_extraction(app: &App, id: Id) -> CoreResult<()> {
    let contract = crate::portfolio::get_contract(app, id).await?;
    if contract.status != "parsing" {
        // Confirmed or re-queued meanwhile: nothing to do.
        return Ok(());
    }
    let text = contract.raw_text.clone().unwrap_or_default();
    let options = ExtractOptions {
        vendor_name: app.contracts.vendor_name.clone(),
    };
    // With a language model configured, it reads the contract; the builtin rules are the
    // fallback when it fails, and fill what it leaves out.
    let provider = app.agents.provider.clone();
    let llm = if provider.name() != "builtin" {
        Some(extractor::llm::extract_with(provider.as_ref(), &text, &options).await)
    } else {
        None
    };
    let result = match llm {
        Some(Ok(x)) => Ok(x),
        other => {
            let failure = match other {
                Some(Err(e)) => Some(e),
                _ => None,
            };
            let mut r = tokio::task::spawn_blocking(move || {
                std::panic::catch_unwind(|| extractor::extract(&text, &options))
            })
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
            if let (Ok(x), Some(e)) = (r.as_mut(), failure) {
                tracing::warn!(contract = %id, error = %e, "LLM extraction failed; using the builtin engine");
                x.engine_notes.push(format!(
                    "the language model failed ({e}); the builtin rules were used"
                ));
            }
            r
        }
    };
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut current: Contract = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("contract"))?;
    if current.status != "parsing" {
        return Ok(());
    }
    let mut parsed = current.parsed_data.take().unwrap_or_else(|| json!({}));
    match result {
        Ok(extraction) => {
            let proposals = proposals(tx.c(), &current, &extraction).await?;
            apply_extraction_columns(&mut current, &extraction);
            parsed["engine"] = json!(extraction.engine);
            parsed["extraction"] = serde_json::to_value(&extraction).expect("serialisable");
            parsed["proposals"] = proposals;
            parsed["error"] = Value::Null;
            current.status = "parsed".into();
        }
        Err(_) => {
            parsed["error"] = json!("the extractor failed on this document");
            current.status = "failed".into();
        }
    }
    current.parsed_data = Some(parsed);
    current.updated_at = now;
    entity::update(tx.c(), &current).await?;
    tx.commit().await?;
    Ok(())
}

fn money(d: Decimal) -> Money {
    Money(d)
}

/// The extraction onto the contract's own columns.
fn apply_extraction_columns(c: &mut Contract, x: &ContractExtraction) {
    c.company_name = x.company_name.as_ref().map(|f| truncate(&f.value, 200));
    c.arr = x.arr.as_ref().map(|f| money(f.value));
    c.contract_term = x.contract_term_text();
    c.start_date = x.start_date.as_ref().map(|f| f.value);
    c.end_date = x
        .end_date
        .as_ref()
        .map(|f| f.value)
        .filter(|end| c.start_date.is_none_or(|s| *end >= s));
    c.pricing_terms = Some(json!({
        "currency": x.currency.as_ref().map(|f| &f.value),
        "line_items": x.line_items.iter().map(|i| &i.value).collect::<Vec<_>>(),
        "payment_terms": x.payment_terms.as_ref().map(|f| &f.value),
        "total_contract_value": x.total_contract_value.as_ref().map(|f| f.value),
        "arr": x.arr.as_ref().map(|f| f.value),
    }));
    let facts =
        |v: &[extractor::Fact<String>]| v.iter().map(|f| f.value.clone()).collect::<Vec<_>>();
    let t = &x.technical_requirements;
    c.technical_requirements = Some(json!({
        "integrations": facts(&t.integrations),
        "security": facts(&t.security),
        "slas": facts(&t.slas),
        "hosting": facts(&t.hosting),
    }));
    c.missing_info = Some(json!(x.missing_info));
    c.next_steps = Some(json!(x.next_steps));
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// What confirming would write: the customer (matched or new), its ARR and renewal date, the
/// entitlements from the line items, and the stakeholders (matched by e-mail, then name).
async fn proposals(
    mut c: DbConn<'_>,
    contract: &Contract,
    x: &ContractExtraction,
) -> CoreResult<Value> {
    let customer = match contract.customer_id {
        Some(id) => entity::get::<Customer>(c.re(), id)
            .await?
            .map(|cu| (cu, "given")),
        None => match &x.company_name {
            Some(name) => match_customer(c.re(), &name.value)
                .await?
                .map(|cu| (cu, "name")),
            None => None,
        },
    };
    let customer_json = match &customer {
        Some((cu, how)) => json!({
            "action": "link", "customer_id": cu.id, "name": cu.name, "matched_by": how,
        }),
        None => match &x.company_name {
            Some(name) => json!({ "action": "create", "customer_id": null, "name": name.value }),
            None => json!({ "action": "none", "customer_id": null, "name": null }),
        },
    };
    let mut updates = Map::new();
    if let Some(arr) = &x.arr {
        updates.insert("arr".into(), json!(arr.value));
    }
    if let Some(end) = &x.end_date {
        updates.insert("renewal_date".into(), json!(end.value));
    }

    let entitlements: Vec<Value> = x
        .line_items
        .iter()
        .map(|i| {
            let v = &i.value;
            let quantity = v
                .quantity
                .filter(|q| q.fract().is_zero())
                .and_then(|q| i32::try_from(q.mantissa() / 10i128.pow(q.scale())).ok());
            let mut description = Vec::new();
            if let Some(f) = &v.billing_frequency {
                description.push(format!("billed {}", f.replace('_', "-")));
            }
            if let Some(t) = v.total {
                description.push(format!("line total {}", t.normalize()));
            }
            json!({
                "name": truncate(&v.item, 200),
                "description": (!description.is_empty()).then(|| description.join("; ")),
                "quantity": quantity,
                "unit": v.unit,
                "price": v.unit_price,
                "category": v.category,
            })
        })
        .collect();

    let existing: Vec<Stakeholder> = match &customer {
        Some((cu, _)) => cscx_store::stakeholders::of_customer(c.re(), cu.id).await?,
        None => Vec::new(),
    };
    let stakeholders: Vec<Value> = x
        .stakeholders
        .iter()
        .filter(|p| p.value.side != "vendor")
        .map(|p| {
            let v = &p.value;
            let by_email = v.email.as_ref().and_then(|e| {
                existing.iter().find(|s| {
                    s.email
                        .as_deref()
                        .is_some_and(|se| se.eq_ignore_ascii_case(e))
                })
            });
            let by_name = || {
                existing
                    .iter()
                    .find(|s| s.name.trim().eq_ignore_ascii_case(v.name.trim()))
            };
            let matched = by_email.or_else(by_name);
            json!({
                "action": if matched.is_some() { "update" } else { "create" },
                "stakeholder_id": matched.map(|s| s.id),
                "name": v.name, "role": v.title, "email": v.email, "phone": v.phone,
            })
        })
        .collect();
    Ok(json!({
        "customer": customer_json,
        "customer_updates": updates,
        "entitlements": entitlements,
        "stakeholders": stakeholders,
    }))
}

/// A customer whose normalised name equals the extracted one ("Beta Logistics, LLC" matches
/// "beta logistics llc").
async fn match_customer(c: DbConn<'_>, name: &str) -> CoreResult<Option<Customer>> {
    let wanted = extractor::parties_normalise(name);
    let Some(first) = wanted.split_whitespace().next() else {
        return Ok(None);
    };
    // Every customer the first word finds: no cap, so a common word cannot hide the match.
    let candidates = cscx_store::customers::name_contains(c, first).await?;
    Ok(candidates
        .into_iter()
        .find(|cu| extractor::parties_normalise(&cu.name) == wanted))
}

/// Columns a reviewer may correct; each change is recorded with who and when.
const REVIEWABLE: &[&str] = &[
    "customer_id",
    "company_name",
    "arr",
    "contract_term",
    "start_date",
    "end_date",
    "pricing_terms",
    "technical_requirements",
    "missing_info",
    "next_steps",
];

/// PATCH a contract. On an extracted contract, changes to reviewable fields (and to
/// `proposals`) are recorded in `parsed_data.corrections` with the user and time.
pub async fn correct(app: &App, user: Id, id: Id, body: &Value) -> CoreResult<Contract> {
    let obj = crate::portfolio::as_object(body)?;
    let mut columns = obj.clone();
    let new_proposals = columns.remove("proposals");
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let before: Contract = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("contract"))?;
    let actor = crate::events::Actor::user(user);
    let mut after = crate::portfolio::patch_contract_in(tx.c(), &actor, id, &columns, now).await?;
    if let Some(parsed) = after
        .parsed_data
        .as_mut()
        .filter(|p| p.get("extraction").is_some_and(|e| !e.is_null()))
    {
        let old = serde_json::to_value(&before).expect("serialisable");
        let mut corrections = parsed
            .get("corrections")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for field in REVIEWABLE {
            if let Some(to) = columns.get(*field) {
                let from = old.get(*field).cloned().unwrap_or(Value::Null);
                if from != *to {
                    corrections.push(
                        json!({"field": field, "from": from, "to": to, "by": user, "at": now}),
                    );
                }
            }
        }
        if let Some(p) = new_proposals {
            if !p.is_object() {
                return Err(CoreError::field("proposals", "must be a JSON object"));
            }
            let from = parsed.get("proposals").cloned().unwrap_or(Value::Null);
            if from != p {
                corrections.push(
                    json!({"field": "proposals", "from": from, "to": p, "by": user, "at": now}),
                );
                parsed["proposals"] = p;
            }
        }
        parsed["corrections"] = Value::Array(corrections);
        entity::update(tx.c(), &after).await?;
    } else if new_proposals.is_some() {
        return Err(CoreError::field(
            "proposals",
            "only an extracted contract has proposals",
        ));
    }
    tx.commit().await?;
    Ok(after)
}

/// Runs extraction again (e.g. after a rules upgrade). Confirmed contracts keep their data.
pub async fn reextract(app: &App, id: Id) -> CoreResult<Contract> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut c: Contract = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("contract"))?;
    if !matches!(c.status.as_str(), "parsed" | "failed" | "parsing") {
        return Err(CoreError::Conflict(format!(
            "the contract is {}: only a contract in review can be extracted again",
            c.status
        )));
    }
    if c.raw_text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(CoreError::Conflict(
            "the contract has no text to extract from".into(),
        ));
    }
    c.status = "parsing".into();
    c.updated_at = now;
    entity::update(tx.c(), &c).await?;
    enqueue_extraction(tx.c(), id, now).await?;
    tx.commit().await?;
    app.queue.notify.notify_waiters();
    Ok(c)
}

/// Options for confirming a reviewed contract.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmOptions {
    /// Create the customer when none matched (default true).
    pub create_customer: Option<bool>,
    /// Replace the customer's ARR and renewal date even when already set (default false: only
    /// empty fields are filled, so confirmed data is never overwritten silently).
    #[serde(default)]
    pub overwrite_customer: bool,
}

/// What confirming did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConfirmReport {
    #[schema(value_type = Object)]
    pub contract: Contract,
    pub customer_id: String,
    pub customer_created: bool,
    pub customer_fields_updated: Vec<String>,
    /// Customer fields left alone because they already held a value, with that value.
    #[schema(value_type = Object)]
    pub customer_fields_kept: Value,
    pub entitlements_created: usize,
    pub stakeholders_created: usize,
    pub stakeholders_updated: usize,
}

/// Applies the reviewed result to the portfolio in one transaction.
pub async fn confirm(
    app: &App,
    user: Id,
    id: Id,
    options: ConfirmOptions,
) -> CoreResult<ConfirmReport> {
    let now = app.now();
    let today = app.clock.now().date_naive();
    let mut tx = app.db.begin().await?;
    let mut contract: Contract = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("contract"))?;
    if contract.status != "parsed" {
        return Err(CoreError::Conflict(format!(
            "the contract is {}: only a parsed contract in review can be confirmed",
            contract.status
        )));
    }
    let mut parsed = contract.parsed_data.clone().unwrap_or_else(|| json!({}));
    let proposals = parsed.get("proposals").cloned().unwrap_or(Value::Null);

    // The customer: as corrected on the contract, else as proposed, else created.
    let proposed_id = proposals["customer"]["customer_id"]
        .as_str()
        .and_then(|s| s.parse::<Id>().ok());
    let mut customer_created = false;
    let mut customer: Customer = match contract.customer_id.or(proposed_id) {
        Some(cid) => entity::get_for_update(tx.c(), cid)
            .await?
            .ok_or_else(|| CoreError::field("customer_id", "no customer has this id"))?,
        None => {
            if options.create_customer == Some(false) {
                return Err(CoreError::field(
                    "customer_id",
                    "no customer matched; set customer_id on the contract or allow create_customer",
                ));
            }
            let name = contract
                .company_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| {
                    CoreError::field(
                        "company_name",
                        "the customer is unknown: set customer_id or company_name first",
                    )
                })?;
            let cu = crate::portfolio::new_customer(
                name,
                json!({ "source": "contract", "contract_id": contract.id }),
                now,
            );
            entity::insert(tx.c(), &cu).await?;
            customer_created = true;
            cu
        }
    };

    // ARR and renewal date: the contract's (possibly corrected) values; only fill empty fields
    // unless told to overwrite.
    let mut updated = Vec::new();
    let mut kept = Map::new();
    if let Some(arr) = contract.arr {
        match &customer.arr {
            Some(current) if !options.overwrite_customer && current.0 != arr.0 => {
                kept.insert("arr".into(), json!(current));
            }
            _ => {
                customer.arr = Some(arr);
                updated.push("arr".to_string());
            }
        }
    }
    if let Some(end) = contract.end_date {
        match customer.renewal_date {
            Some(current) if !options.overwrite_customer && current != end => {
                kept.insert("renewal_date".into(), json!(current));
            }
            _ => {
                customer.renewal_date = Some(end);
                updated.push("renewal_date".to_string());
            }
        }
    }
    customer.updated_at = now;
    entity::update(tx.c(), &customer).await?;

    let mut entitlements_created = 0;
    for e in proposals["entitlements"].as_array().into_iter().flatten() {
        let Some(name) = e["name"].as_str().filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        let row = Entitlement {
            id: Id::new(),
            contract_id: contract.id,
            name: name.to_string(),
            description: e["description"].as_str().map(str::to_string),
            quantity: e["quantity"].as_i64().and_then(|q| i32::try_from(q).ok()),
            unit: e["unit"].as_str().map(str::to_string),
            price: decimal(&e["price"]).map(Money),
            category: e["category"].as_str().map(str::to_string),
            metadata: json!({ "source": "contract" }),
            created_at: now,
        };
        entity::insert(tx.c(), &row).await?;
        entitlements_created += 1;
    }

    let (mut created, mut updated_people) = (0, 0);
    let existing: Vec<Stakeholder> =
        cscx_store::stakeholders::of_customer(tx.c(), customer.id).await?;
    for p in proposals["stakeholders"].as_array().into_iter().flatten() {
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        let email = p["email"].as_str();
        let matched = email
            .and_then(|e| {
                existing.iter().find(|s| {
                    s.email
                        .as_deref()
                        .is_some_and(|se| se.eq_ignore_ascii_case(e))
                })
            })
            .or_else(|| existing.iter().find(|s| s.name.eq_ignore_ascii_case(name)));
        match matched {
            Some(s) => {
                // Fill what is missing; never replace what a person entered.
                let mut s = s.clone();
                let mut changed = false;
                for (slot, value) in [
                    (&mut s.role, p["role"].as_str()),
                    (&mut s.email, email),
                    (&mut s.phone, p["phone"].as_str()),
                ] {
                    if slot.is_none() && value.is_some() {
                        *slot = value.map(str::to_string);
                        changed = true;
                    }
                }
                if changed {
                    s.updated_at = now;
                    entity::update(tx.c(), &s).await?;
                    updated_people += 1;
                }
            }
            None => {
                let s = Stakeholder {
                    id: Id::new(),
                    customer_id: customer.id,
                    name: truncate(name, 200),
                    role: p["role"].as_str().map(|r| truncate(r, 200)),
                    email: email
                        .filter(|e| cscx_domain::validate::email(e).is_ok())
                        .map(str::to_string),
                    phone: p["phone"].as_str().map(str::to_string),
                    linkedin_url: None,
                    is_primary: false,
                    sentiment: None,
                    notes: Some("Named in a contract".into()),
                    metadata: json!({ "source": "contract", "contract_id": contract.id }),
                    created_at: now,
                    updated_at: now,
                };
                entity::insert(tx.c(), &s).await?;
                created += 1;
            }
        }
    }

    contract.customer_id = Some(customer.id);
    contract.status = status_for(contract.end_date, today).into();
    parsed["review"] = json!({ "confirmed_by": user, "confirmed_at": now });
    contract.parsed_data = Some(parsed);
    contract.updated_at = now;
    entity::update(tx.c(), &contract).await?;
    let event = Event::ContractConfirmed {
        contract_id: contract.id.0,
    };
    record(tx.c(), &event, &Actor::user(user), Some(customer.id), now).await?;
    tx.commit().await?;
    Ok(ConfirmReport {
        customer_id: customer.id.to_string(),
        contract,
        customer_created,
        customer_fields_updated: updated,
        customer_fields_kept: Value::Object(kept),
        entitlements_created,
        stakeholders_created: created,
        stakeholders_updated: updated_people,
    })
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn status_for(end: Option<NaiveDate>, today: NaiveDate) -> &'static str {
    match end {
        Some(end) if end < today => "expired",
        _ => "active",
    }
}

/// The daily job: active contracts whose end date has passed become `expired`.
pub async fn refresh_statuses(app: &App) -> CoreResult<u64> {
    let today = app.clock.now().date_naive();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let customers = cscx_store::contracts::expire_ended(tx.c(), today, now).await?;
    let n = customers.len() as u64;
    let mut ids: Vec<Id> = customers.into_iter().flatten().collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let event = Event::ContractStatusesChanged {};
        record(tx.c(), &event, &Actor::system(), Some(id), now).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Extraction accuracy as measured by reviewers: per field, how many confirmed contracts had
/// that field corrected.
pub async fn review_accuracy(app: &App) -> CoreResult<Value> {
    let mut c = app.db.conn().await?;
    let rows = cscx_store::contracts::confirmed_parsed_data(c.c()).await?;
    let mut reviewed = 0usize;
    let mut corrected: std::collections::BTreeMap<String, usize> = Default::default();
    for parsed in rows.into_iter().flatten() {
        if parsed.get("review").is_none_or(Value::is_null) {
            continue;
        }
        reviewed += 1;
        let mut fields: Vec<String> = parsed["corrections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["field"].as_str().map(str::to_string))
            .collect();
        fields.sort();
        fields.dedup();
        for f in fields {
            *corrected.entry(f).or_default() += 1;
        }
    }
    let fields: Vec<Value> = REVIEWABLE
        .iter()
        .map(|f| f.to_string())
        .chain(std::iter::once("proposals".to_string()))
        .map(|f| {
            let n = corrected.get(&f).copied().unwrap_or(0);
            json!({
                "field": f,
                "corrected": n,
                "accepted_as_extracted": reviewed - n,
                "accuracy": if reviewed == 0 { Value::Null } else { json!((reviewed - n) as f64 / reviewed as f64) },
            })
        })
        .collect();
    Ok(json!({ "reviewed_contracts": reviewed, "fields": fields }))
}
