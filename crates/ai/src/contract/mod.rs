//! Contract extraction: one typed result, every value with a confidence and the text it came from.
//!
//! The builtin engine ([`extract`]) is rule-based, deterministic and offline. Its rules are written
//! for the shapes contracts share (preambles naming the parties, defined terms, term and renewal
//! clauses, governing-law clauses, price tables, signature blocks), not for any one document; it
//! is measured on CUAD's lawyer-labelled contracts by [`crate::eval`].

mod clauses;
pub mod llm;
mod money;
mod parties;
pub use parties::normalise_name as parties_normalise;
mod people;
pub mod when;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::ops::Range;

pub use when::{Span, Unit};

/// Version of the builtin rules; bump it when results change so stored results can be told apart.
pub const BUILTIN_VERSION: &str = "builtin-1";

/// Quoted source text and where it is: `start`/`end` count Unicode characters (not bytes) from
/// the beginning of `raw_text`, end exclusive; `page` is 1-based.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub page: usize,
}

/// An extracted value with its confidence (0–1) and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact<T> {
    pub value: T,
    pub confidence: f32,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    /// The defined term the contract gives the party ("Customer", "Licensor"), when it has one.
    pub defined_as: Option<String>,
    /// `customer`, `vendor` or `other`.
    pub side: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Renewal {
    pub auto_renew: bool,
    pub renewal_term: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub item: String,
    pub quantity: Option<Decimal>,
    pub unit: Option<String>,
    pub unit_price: Option<Decimal>,
    pub total: Option<Decimal>,
    /// `monthly`, `quarterly`, `annual` or `one_time`.
    pub billing_frequency: Option<String>,
    /// `subscription`, `services`, `support` or `other`.
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The party the person belongs to, by name, when the document says.
    pub party: Option<String>,
    /// `customer`, `vendor` or `unknown`.
    pub side: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TechnicalRequirements {
    pub integrations: Vec<Fact<String>>,
    pub security: Vec<Fact<String>>,
    pub slas: Vec<Fact<String>>,
    pub hosting: Vec<Fact<String>>,
}

impl TechnicalRequirements {
    pub fn is_empty(&self) -> bool {
        self.integrations.is_empty()
            && self.security.is_empty()
            && self.slas.is_empty()
            && self.hosting.is_empty()
    }
}

/// Everything the extractor found in one contract. Absent values (`None`, empty lists) mean
/// "not stated" — never a guess.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractExtraction {
    /// Which engine produced this (`builtin-1`, or `llm:<model>`).
    pub engine: String,
    pub title: Option<Fact<String>>,
    pub parties: Vec<Fact<Party>>,
    /// The customer: the counter-party of the configured vendor.
    pub company_name: Option<Fact<String>>,
    pub agreement_date: Option<Fact<NaiveDate>>,
    pub effective_date: Option<Fact<NaiveDate>>,
    pub start_date: Option<Fact<NaiveDate>>,
    pub end_date: Option<Fact<NaiveDate>>,
    pub initial_term: Option<Fact<Span>>,
    pub renewal: Option<Fact<Renewal>>,
    /// Notice needed to stop a renewal.
    pub notice_period: Option<Fact<Span>>,
    pub governing_law: Option<Fact<String>>,
    pub currency: Option<Fact<String>>,
    pub line_items: Vec<Fact<LineItem>>,
    pub arr: Option<Fact<Decimal>>,
    pub total_contract_value: Option<Fact<Decimal>>,
    pub payment_terms: Option<Fact<String>>,
    pub technical_requirements: TechnicalRequirements,
    pub stakeholders: Vec<Fact<Person>>,
    pub missing_info: Vec<String>,
    pub next_steps: Vec<String>,
    /// What the engine wants the reviewer to know (e.g. values dropped for lack of evidence).
    #[serde(default)]
    pub engine_notes: Vec<String>,
}

impl ContractExtraction {
    /// A readable one-line description of the term, for `contracts.contract_term`.
    pub fn contract_term_text(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(t) = &self.initial_term {
            parts.push(format!("{} initial term", t.value.describe()));
        }
        if let Some(r) = &self.renewal {
            match (r.value.auto_renew, r.value.renewal_term) {
                (true, Some(s)) => parts.push(format!("auto-renews for {} terms", s.describe())),
                (true, None) => parts.push("auto-renews".into()),
                (false, Some(s)) => parts.push(format!("renewable for {}", s.describe())),
                (false, None) => parts.push("renewal by agreement".into()),
            }
        }
        if let Some(n) = &self.notice_period {
            parts.push(format!("{} notice to stop renewal", n.value.describe()));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// What the extractor needs to know beyond the text.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Our own company (`CSCX_COMPANY_NAME`): the other party is the customer.
    pub vendor_name: Option<String>,
}

/// The text being read, with helpers to turn byte ranges into evidence.
pub(crate) struct Source<'a> {
    pub text: &'a str,
    page_breaks: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Self {
        let page_breaks = text
            .match_indices(crate::document::PAGE_BREAK)
            .map(|(i, _)| i)
            .collect();
        Source { text, page_breaks }
    }

    pub fn evidence(&self, range: Range<usize>) -> Evidence {
        let range = trim_range(self.text, range);
        let start = self.text[..range.start].chars().count();
        let quoted = &self.text[range.clone()];
        Evidence {
            text: collapse_ws(quoted),
            start,
            end: start + quoted.chars().count(),
            page: 1 + self.page_breaks.partition_point(|&b| b < range.start),
        }
    }

    pub fn fact<T>(&self, value: T, confidence: f32, range: Range<usize>) -> Fact<T> {
        Fact {
            value,
            confidence,
            evidence: vec![self.evidence(range)],
        }
    }
}

fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let s = &text[range.clone()];
    let start = range.start + (s.len() - s.trim_start().len());
    let end = range.end - (s.len() - s.trim_end().len());
    start..end.max(start)
}

/// Runs of whitespace become one space: contracts filed as text are full of layout spaces.
pub(crate) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Run the builtin engine over a contract's text.
pub fn extract(text: &str, options: &ExtractOptions) -> ContractExtraction {
    let src = Source::new(text);
    let title = clauses::title(&src);
    let parties = parties::find(&src, options.vendor_name.as_deref());
    let company_name = parties::customer_name(&parties);
    let dates = clauses::dates(&src);
    let governing_law = clauses::governing_law(&src);
    let items = money::line_items(&src);
    let currency = money::currency(&src);
    let payment_terms = money::payment_terms(&src);
    let technical_requirements = clauses::technical(&src);
    let stakeholders = people::find(&src, &parties);
    let (arr, total_contract_value) = money::annual_value(&src, &items, dates.initial_term);

    let mut result = ContractExtraction {
        engine: BUILTIN_VERSION.to_string(),
        title,
        parties,
        company_name,
        agreement_date: dates.agreement_date,
        effective_date: dates.effective_date,
        start_date: dates.start_date,
        end_date: dates.end_date,
        initial_term: dates.initial_term_fact,
        renewal: dates.renewal,
        notice_period: dates.notice_period,
        governing_law,
        currency,
        line_items: items,
        arr,
        total_contract_value,
        payment_terms,
        technical_requirements,
        stakeholders,
        missing_info: Vec::new(),
        next_steps: Vec::new(),
        engine_notes: Vec::new(),
    };
    result.missing_info = missing_info(&result);
    result.next_steps = next_steps(&result);
    result
}

/// What a CSM still has to find out, in plain words.
pub(crate) fn missing_info(r: &ContractExtraction) -> Vec<String> {
    let mut out = Vec::new();
    if r.company_name.is_none() {
        out.push(if r.parties.len() >= 2 {
            "Which party is the customer: set CSCX_COMPANY_NAME to our own name or choose it in review".to_string()
        } else {
            "The customer's legal name: the parties are not named in a recognisable preamble".to_string()
        });
    }
    if r.start_date.is_none() {
        out.push("Start date: no effective or start date is stated".into());
    }
    if r.end_date.is_none() && r.initial_term.is_none() {
        out.push("End date or term length: neither is stated".into());
    }
    if r.renewal.is_none() {
        out.push("Renewal terms: the contract does not say whether or how it renews".into());
    } else if r.notice_period.is_none() && r.renewal.as_ref().is_some_and(|f| f.value.auto_renew) {
        out.push("Notice period to stop the automatic renewal is not stated".into());
    }
    if r.arr.is_none() && r.line_items.is_empty() {
        out.push("Pricing: no fees or price table were found".into());
    }
    if !r.stakeholders.iter().any(|p| p.value.side != "vendor") {
        out.push(
            "A named contact on the customer side (admin, champion or billing contact)".into(),
        );
    }
    out
}

/// Concrete onboarding actions that follow from what the contract says.
pub(crate) fn next_steps(r: &ContractExtraction) -> Vec<String> {
    let mut out = Vec::new();
    let customer_contact = r
        .stakeholders
        .iter()
        .find(|p| p.value.side == "customer")
        .or_else(|| r.stakeholders.iter().find(|p| p.value.side == "unknown"));
    match customer_contact {
        Some(p) => out.push(format!(
            "Schedule the kickoff call with {}{}",
            p.value.name,
            p.value
                .title
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        )),
        None => out.push("Identify the customer's admin and schedule the kickoff call".into()),
    }
    for item in r
        .line_items
        .iter()
        .filter(|i| i.value.category == "subscription")
    {
        let qty = item
            .value
            .quantity
            .map(|q| format!("{} ", q.normalize()))
            .unwrap_or_default();
        let unit = item.value.unit.as_deref().unwrap_or("");
        out.push(
            format!("Provision {qty}{unit} of {}", item.value.item)
                .replace("  ", " ")
                .replace("Provision  of", "Provision"),
        );
    }
    if r.line_items.iter().any(|i| i.value.category == "services") {
        out.push("Plan the implementation services bought in the order".into());
    }
    for i in &r.technical_requirements.integrations {
        out.push(format!("Set up the integration: {}", short(&i.value)));
    }
    if !r.technical_requirements.security.is_empty() {
        out.push("Send the security and compliance documents the contract commits to".into());
    }
    if !r.technical_requirements.slas.is_empty() {
        out.push("Configure SLA monitoring and reporting for the committed service levels".into());
    }
    if let Some(end) = &r.end_date {
        let notice = r.notice_period.as_ref().map_or(0, |n| n.value.days());
        let lead = notice as u64 + 90;
        if let Some(remind) = end.value.checked_sub_days(chrono::Days::new(lead)) {
            out.push(format!(
                "Start the renewal conversation by {remind} ({lead} days before the {} end date{})",
                end.value,
                if notice > 0 {
                    format!(", {notice}-day notice period")
                } else {
                    String::new()
                }
            ));
        }
    }
    out
}

fn short(s: &str) -> String {
    let s = collapse_ws(s);
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}…")
    } else {
        s
    }
}
