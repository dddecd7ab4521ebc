//! The LLM engine: a language model reads the contract and answers with JSON in which every
//! value carries the exact quote that states it. We validate the types, find each quote in the
//! text to get its offsets, and drop any value whose quote is not in the document: a value
//! without evidence is not a fact. Fields the model leaves out are filled by the builtin engine
//! and listed in `engine_notes`. Any failure (transport, invalid JSON) is returned as an error
//! so the caller can keep the builtin result.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    extract, ContractExtraction, ExtractOptions, Fact, LineItem, Party, Person, Renewal, Source,
    Span, Unit,
};
use crate::llm::{ChatRequest, Message, Provider};

/// The model sees at most this much of the contract (most terms are in the first pages and the
/// order schedule; longer documents are cut with a note).
const MAX_CHARS: usize = 60_000;

fn prompt(vendor: Option<&str>) -> String {
    format!(
        r#"You extract the terms of a commercial contract for a customer-success team.
Answer with ONE JSON object and nothing else. Every value is an object {{"value": ..., "quote": "..."}} where "quote" is copied EXACTLY from the contract text (a short span that states the value). Use null for anything the contract does not state; never guess.
{}Shape:
{{
 "parties": [{{"value": {{"name": "...", "defined_as": "Customer|Vendor|...", "side": "customer|vendor|other"}}, "quote": "..."}}],
 "company_name": {{"value": "the customer's legal name", "quote": "..."}},
 "agreement_date": {{"value": "YYYY-MM-DD", "quote": "..."}},
 "effective_date": {{"value": "YYYY-MM-DD", "quote": "..."}},
 "end_date": {{"value": "YYYY-MM-DD", "quote": "..."}},
 "initial_term": {{"value": {{"count": 12, "unit": "days|weeks|months|years"}}, "quote": "..."}},
 "renewal": {{"value": {{"auto_renew": true, "renewal_term": {{"count": 1, "unit": "years"}}}}, "quote": "..."}},
 "notice_period": {{"value": {{"count": 60, "unit": "days"}}, "quote": "..."}},
 "governing_law": {{"value": "jurisdiction, e.g. New York", "quote": "..."}},
 "currency": {{"value": "USD", "quote": "..."}},
 "arr": {{"value": "annual recurring fees as a decimal string", "quote": "..."}},
 "total_contract_value": {{"value": "decimal string", "quote": "..."}},
 "payment_terms": {{"value": "e.g. Net 30", "quote": "..."}},
 "line_items": [{{"value": {{"item": "...", "quantity": "120", "unit": "users", "unit_price": "45.00", "total": "5400.00", "billing_frequency": "monthly|quarterly|annual|one_time", "category": "subscription|support|services|other"}}, "quote": "..."}}],
 "stakeholders": [{{"value": {{"name": "...", "title": "...", "email": "...", "phone": "...", "side": "customer|vendor|unknown"}}, "quote": "..."}}]
}}"#,
        vendor
            .map(|v| format!("We are the vendor \"{v}\"; the other party is the customer.\n"))
            .unwrap_or_default()
    )
}

/// The first JSON object in a model's answer (models sometimes wrap it in a code fence).
fn json_object(answer: &str) -> Result<Value, String> {
    let start = answer.find('{').ok_or("the answer holds no JSON object")?;
    let end = answer.rfind('}').ok_or("the answer holds no JSON object")?;
    serde_json::from_str(&answer[start..=end])
        .map_err(|e| format!("the answer is not valid JSON: {e}"))
}

/// Finds `quote` in the text: exactly, else ignoring differences in whitespace.
fn locate(text: &str, quote: &str) -> Option<std::ops::Range<usize>> {
    let quote = quote.trim();
    if quote.len() < 2 {
        return None;
    }
    if let Some(i) = text.find(quote) {
        return Some(i..i + quote.len());
    }
    let words: Vec<&str> = quote.split_whitespace().collect();
    let pattern = words
        .iter()
        .map(|w| regex::escape(w))
        .collect::<Vec<_>>()
        .join(r"\s+");
    regex::Regex::new(&pattern)
        .ok()?
        .find(text)
        .map(|m| m.range())
}

struct Reader<'a> {
    src: &'a Source<'a>,
    dropped: Vec<String>,
}

impl Reader<'_> {
    /// A fact from `{"value", "quote"}` when the value parses and the quote is in the text.
    fn fact<T>(
        &mut self,
        field: &str,
        v: &Value,
        parse: impl Fn(&Value) -> Option<T>,
    ) -> Option<Fact<T>> {
        if v.is_null() || v["value"].is_null() {
            return None;
        }
        let Some(value) = parse(&v["value"]) else {
            self.dropped
                .push(format!("{field}: the value did not have the expected type"));
            return None;
        };
        let Some(range) = v["quote"].as_str().and_then(|q| locate(self.src.text, q)) else {
            self.dropped
                .push(format!("{field}: the quote is not in the document"));
            return None;
        };
        Some(self.src.fact(value, 0.8, range))
    }

    fn list<T>(
        &mut self,
        field: &str,
        v: &Value,
        parse: impl Fn(&Value) -> Option<T>,
    ) -> Vec<Fact<T>> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| self.fact(field, item, &parse))
            .collect()
    }
}

fn string(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn date(v: &Value) -> Option<NaiveDate> {
    v.as_str()?.parse().ok()
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.replace([',', '$'], "").trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn span(v: &Value) -> Option<Span> {
    let count = u32::try_from(v["count"].as_u64()?).ok()?;
    let unit = match v["unit"].as_str()? {
        "day" | "days" => Unit::Days,
        "week" | "weeks" => Unit::Weeks,
        "month" | "months" => Unit::Months,
        "year" | "years" => Unit::Years,
        _ => return None,
    };
    (count > 0).then_some(Span { count, unit })
}

fn side(v: &Value, allowed: &[&str], default: &str) -> String {
    v.as_str()
        .filter(|s| allowed.contains(s))
        .unwrap_or(default)
        .to_string()
}

/// Extract with a language model; see the module documentation.
pub async fn extract_with(
    provider: &dyn Provider,
    text: &str,
    options: &ExtractOptions,
) -> Result<ContractExtraction, String> {
    let truncated = text.chars().count() > MAX_CHARS;
    let shown: String = text.chars().take(MAX_CHARS).collect();
    let request = ChatRequest {
        system: prompt(options.vendor_name.as_deref()),
        messages: vec![Message::user(format!("Contract text:\n\n{shown}"))],
        tools: vec![],
        max_tokens: 4096,
        context: Value::Null,
    };
    let sink = |_e: crate::llm::StreamEvent| {};
    let answer = provider
        .chat(&request, &sink)
        .await
        .map_err(|e| e.to_string())?;
    let v = json_object(&answer.content)?;
    if !v.is_object() {
        return Err("the answer is not a JSON object".into());
    }
    let src = Source::new(text);
    let mut r = Reader {
        src: &src,
        dropped: Vec::new(),
    };
    let parties = r.list("parties", &v["parties"], |p| {
        Some(Party {
            name: string(&p["name"])?,
            defined_as: string(&p["defined_as"]),
            side: side(&p["side"], &["customer", "vendor", "other"], "other"),
        })
    });
    let line_items = r.list("line_items", &v["line_items"], |i| {
        Some(LineItem {
            item: string(&i["item"])?,
            quantity: decimal(&i["quantity"]),
            unit: string(&i["unit"]),
            unit_price: decimal(&i["unit_price"]),
            total: decimal(&i["total"]),
            billing_frequency: i["billing_frequency"]
                .as_str()
                .filter(|f| ["monthly", "quarterly", "annual", "one_time"].contains(f))
                .map(str::to_string),
            category: side(
                &i["category"],
                &["subscription", "support", "services", "other"],
                "other",
            ),
        })
    });
    let stakeholders = r.list("stakeholders", &v["stakeholders"], |p| {
        Some(Person {
            name: string(&p["name"])?,
            title: string(&p["title"]),
            email: string(&p["email"]),
            phone: string(&p["phone"]),
            party: None,
            side: side(&p["side"], &["customer", "vendor", "unknown"], "unknown"),
        })
    });
    let mut out = ContractExtraction {
        engine: format!("llm:{}", provider.name()),
        title: None,
        company_name: r.fact("company_name", &v["company_name"], string),
        agreement_date: r.fact("agreement_date", &v["agreement_date"], date),
        effective_date: r.fact("effective_date", &v["effective_date"], date),
        start_date: None,
        end_date: r.fact("end_date", &v["end_date"], date),
        initial_term: r.fact("initial_term", &v["initial_term"], span),
        renewal: r.fact("renewal", &v["renewal"], |x| {
            Some(Renewal {
                auto_renew: x["auto_renew"].as_bool()?,
                renewal_term: span(&x["renewal_term"]),
            })
        }),
        notice_period: r.fact("notice_period", &v["notice_period"], span),
        governing_law: r.fact("governing_law", &v["governing_law"], string),
        currency: r.fact("currency", &v["currency"], string),
        arr: r.fact("arr", &v["arr"], decimal),
        total_contract_value: r.fact("total_contract_value", &v["total_contract_value"], decimal),
        payment_terms: r.fact("payment_terms", &v["payment_terms"], string),
        parties,
        line_items,
        stakeholders,
        technical_requirements: Default::default(),
        missing_info: Vec::new(),
        next_steps: Vec::new(),
        engine_notes: Vec::new(),
    };
    out.start_date = out
        .effective_date
        .clone()
        .or_else(|| out.agreement_date.clone());

    // What the model left out, the rules may know: fill it and say so.
    let builtin = extract(text, options);
    let mut filled = Vec::new();
    macro_rules! fill {
        ($($f:ident),*) => { $(
            if out.$f.is_none() && builtin.$f.is_some() {
                out.$f = builtin.$f.clone();
                filled.push(stringify!($f));
            }
        )* };
    }
    fill!(
        title,
        company_name,
        agreement_date,
        effective_date,
        start_date,
        end_date,
        initial_term,
        renewal,
        notice_period,
        governing_law,
        currency,
        arr,
        total_contract_value,
        payment_terms
    );
    if out.parties.is_empty() && !builtin.parties.is_empty() {
        out.parties = builtin.parties.clone();
        filled.push("parties");
    }
    if out.line_items.is_empty() && !builtin.line_items.is_empty() {
        out.line_items = builtin.line_items.clone();
        filled.push("line_items");
    }
    if out.stakeholders.is_empty() && !builtin.stakeholders.is_empty() {
        out.stakeholders = builtin.stakeholders.clone();
        filled.push("stakeholders");
    }
    out.technical_requirements = builtin.technical_requirements;
    if !filled.is_empty() {
        out.engine_notes.push(format!(
            "filled by the builtin rules: {}",
            filled.join(", ")
        ));
    }
    for d in r.dropped {
        out.engine_notes.push(format!("dropped {d}"));
    }
    if truncated {
        out.engine_notes.push(format!(
            "the model read the first {MAX_CHARS} characters only"
        ));
    }
    out.missing_info = super::missing_info(&out);
    out.next_steps = super::next_steps(&out);
    Ok(out)
}
