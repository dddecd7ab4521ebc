//! Money: price tables (line items), currency, payment terms, ARR and total contract value.

use regex::Regex;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::LazyLock;

use super::clauses::sentence_at;
use super::{collapse_ws, Fact, LineItem, Source, Span};

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid money regex")
}

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?P<cur>USD|US\$|EUR|GBP|CAD|AUD|\$|€|£)\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s*(?P<mult>million|thousand|k\b|m\b))?|(?P<num2>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<cur2>USD|EUR|GBP|CAD|AUD|dollars|euros)\b",
    )
});

#[derive(Debug, Clone)]
struct Amount {
    value: Decimal,
    currency: &'static str,
    range: std::ops::Range<usize>,
}

fn currency_code(symbol: &str) -> &'static str {
    match symbol.to_ascii_uppercase().as_str() {
        "EUR" | "€" | "EUROS" => "EUR",
        "GBP" | "£" => "GBP",
        "CAD" => "CAD",
        "AUD" => "AUD",
        _ => "USD",
    }
}

fn amounts(text: &str) -> Vec<Amount> {
    MONEY
        .captures_iter(text)
        .filter_map(|c| {
            let num = c.name("num").or(c.name("num2"))?;
            let cur = c.name("cur").or(c.name("cur2"))?;
            let mut value = Decimal::from_str(&num.as_str().replace(',', "")).ok()?;
            match c
                .name("mult")
                .map(|m| m.as_str().to_ascii_lowercase())
                .as_deref()
            {
                Some("million") | Some("m") => value *= Decimal::from(1_000_000),
                Some("thousand") | Some("k") => value *= Decimal::from(1_000),
                _ => {}
            }
            Some(Amount {
                value,
                currency: currency_code(cur.as_str()),
                range: c.get(0)?.range(),
            })
        })
        .collect()
}

pub(super) fn currency(src: &Source) -> Option<Fact<String>> {
    let a = amounts(src.text).into_iter().next()?;
    Some(src.fact(a.currency.to_string(), 0.8, a.range))
}

fn frequency_of(text: &str) -> Option<&'static str> {
    static FREQ: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)(?P<once>one[\s-]time|once|set[\s-]?up\s+fee|non[\s-]recurring)|(?P<month>/\s*mo(?:nth)?\b|per\s+month|monthly|a\s+month)|(?P<quarter>quarterly|per\s+quarter|/\s*quarter)|(?P<year>/\s*y(?:ea)?r\b|per\s+(?:year|annum)|annual(?:ly)?|yearly|a\s+year|/\s*annum)",
        )
    });
    let c = FREQ.captures(text)?;
    Some(if c.name("once").is_some() {
        "one_time"
    } else if c.name("month").is_some() {
        "monthly"
    } else if c.name("quarter").is_some() {
        "quarterly"
    } else {
        "annual"
    })
}

fn category_of(item: &str, frequency: Option<&str>) -> &'static str {
    let l = item.to_ascii_lowercase();
    if [
        "implementation",
        "onboarding",
        "training",
        "professional services",
        "setup",
        "set-up",
        "set up",
        "consulting",
        "migration",
    ]
    .iter()
    .any(|k| l.contains(k))
    {
        "services"
    } else if l.contains("support") || l.contains("maintenance") || l.contains("success plan") {
        "support"
    } else if frequency == Some("one_time") {
        "other"
    } else {
        "subscription"
    }
}

#[derive(Default, Clone, Copy)]
struct Columns {
    item: Option<usize>,
    quantity: Option<usize>,
    unit_price: Option<usize>,
    total: Option<usize>,
    frequency: Option<usize>,
}

fn split_cells(line: &str) -> Vec<(usize, &str)> {
    static SEP: LazyLock<Regex> = LazyLock::new(|| re(r"\t+|\s*\|\s*|\s{2,}"));
    let mut cells = Vec::new();
    let mut last = 0;
    for m in SEP.find_iter(line) {
        if m.start() > last {
            cells.push((last, &line[last..m.start()]));
        }
        last = m.end();
    }
    if last < line.len() {
        cells.push((last, &line[last..]));
    }
    cells
        .into_iter()
        .filter(|(_, c)| !c.trim().is_empty() && !c.trim().chars().all(|ch| ch == '-' || ch == ':'))
        .collect()
}

/// PDF text loses column gaps ("Care Analytics Enterprise 250 seats $600.00 Annual $150,000.00"):
/// the item is the text before the first number, then each amount, count or frequency is a cell.
fn loose_cells(line: &str) -> Vec<(usize, &str)> {
    static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)(?:USD|US\$|EUR|GBP|\$|€|£)\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?(?:\s+[a-z]{3,12}\b)?|\b(?:annual(?:ly)?|monthly|quarterly|yearly|one[\s-]time)\b",
        )
    });
    let mut cells = Vec::new();
    let mut tokens = TOKEN.find_iter(line).peekable();
    let Some(first) = tokens.peek() else {
        return cells;
    };
    if first.start() == 0 {
        return cells;
    }
    cells.push((0, line[..first.start()].trim_end()));
    for t in tokens {
        cells.push((t.start(), t.as_str()));
    }
    cells
}

/// A header row whose column gaps were lost: its known column names, in order.
fn loose_header(line: &str) -> Vec<(usize, &str)> {
    static LABEL: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:item|product|description|service|qty|quantity|unit\s+price|list\s+price|price|rate|frequency|billing|total|amount|seats|users)\b",
        )
    });
    LABEL
        .find_iter(line)
        .map(|m| (m.start(), m.as_str()))
        .collect()
}

fn header_columns(cells: &[(usize, &str)]) -> Option<Columns> {
    let mut cols = Columns::default();
    let mut hits = 0;
    for (i, (_, cell)) in cells.iter().enumerate() {
        let l = cell.trim().to_ascii_lowercase();
        if cols.item.is_none()
            && [
                "item",
                "product",
                "description",
                "service",
                "module",
                "sku",
                "plan",
            ]
            .iter()
            .any(|k| l.contains(k))
        {
            cols.item = Some(i);
            hits += 1;
        } else if cols.quantity.is_none()
            && [
                "qty", "quantity", "seats", "users", "licen", "units", "volume",
            ]
            .iter()
            .any(|k| l.contains(k))
        {
            cols.quantity = Some(i);
            hits += 1;
        } else if cols.unit_price.is_none()
            && (l.contains("unit")
                || l.contains("price")
                || l.contains("rate")
                || l.contains("list"))
            && !l.contains("total")
        {
            cols.unit_price = Some(i);
            hits += 1;
        } else if cols.total.is_none()
            && ["total", "amount", "extended", "fee", "net"]
                .iter()
                .any(|k| l.contains(k))
        {
            cols.total = Some(i);
            hits += 1;
        } else if cols.frequency.is_none()
            && ["frequency", "billing", "term", "period"]
                .iter()
                .any(|k| l.contains(k))
        {
            cols.frequency = Some(i);
            hits += 1;
        }
    }
    (hits >= 2 && (cols.unit_price.is_some() || cols.total.is_some())).then_some(cols)
}

fn number_cell(cell: &str) -> Option<(Decimal, Option<String>)> {
    static QTY: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^\s*(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z][A-Za-z ]{0,24})?\s*$")
    });
    let c = QTY.captures(cell)?;
    let n = Decimal::from_str(&c["n"].replace(',', "")).ok()?;
    let unit = c
        .name("unit")
        .map(|u| u.as_str().trim().to_ascii_lowercase());
    Some((n, unit))
}

fn is_total_row(item: &str) -> bool {
    let l = item.trim().to_ascii_lowercase();
    l.starts_with("total")
        || l.starts_with("subtotal")
        || l.starts_with("sub-total")
        || l.starts_with("grand total")
        || l.contains("total contract value")
        || l == "tcv"
        || l.starts_with("annual total")
}

/// Rows of price tables: lines with a money amount split into cells by tabs, pipes or wide
/// spaces, read through the header row when there is one.
pub(super) fn line_items(src: &Source) -> Vec<Fact<LineItem>> {
    let text = src.text;
    let doc_frequency = doc_billing_frequency(text);
    let mut out = Vec::new();
    let mut header: Option<Columns> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let body = line.trim_end_matches('\n');
        let mut cells = split_cells(body);
        if cells.len() < 2 && body.len() < 200 {
            let header_like = loose_header(body);
            if header_like.len() >= 3 && amounts(body).is_empty() {
                if let Some(cols) = header_columns(&header_like) {
                    header = Some(cols);
                    continue;
                }
            }
            if !amounts(body).is_empty() {
                cells = loose_cells(body);
            }
        }
        if cells.len() < 2 {
            if body.trim().is_empty() {
                continue;
            }
            // Prose ends a table.
            if cells.len() == 1 && body.len() > 80 {
                header = None;
            }
            continue;
        }
        if let Some(cols) = header_columns(&cells) {
            if amounts(body).is_empty() {
                header = Some(cols);
                continue;
            }
        }
        let money = amounts(body);
        if money.is_empty() || body.len() > 300 {
            continue;
        }
        let cols = header.unwrap_or_default();
        let cell_text = |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|(_, c)| c.trim());
        let item = cell_text(cols.item).unwrap_or_else(|| {
            cells
                .iter()
                .map(|(_, c)| c.trim())
                .find(|c| amounts(c).is_empty() && number_cell(c).is_none())
                .unwrap_or("")
        });
        if item.is_empty() || !item.chars().any(char::is_alphabetic) {
            continue;
        }
        if is_total_row(item) {
            continue;
        }
        let money_in = |i: Option<usize>| {
            cell_text(i)
                .and_then(|c| amounts(c).into_iter().next())
                .map(|a| a.value)
        };
        let (mut quantity, mut unit) = (None, None);
        if let Some((n, u)) = cell_text(cols.quantity).and_then(number_cell) {
            quantity = Some(n);
            unit = u;
        } else if cols.quantity.is_none() {
            if let Some((n, u)) = cells
                .iter()
                .filter(|(_, c)| c.trim() != item)
                .find_map(|(_, c)| number_cell(c))
            {
                quantity = Some(n);
                unit = u;
            }
        }
        let (unit_price, total) = if header.is_some() {
            (money_in(cols.unit_price), money_in(cols.total))
        } else if money.len() >= 2 {
            (Some(money[0].value), Some(money[money.len() - 1].value))
        } else if quantity.is_some() {
            (Some(money[0].value), None)
        } else {
            (None, Some(money[0].value))
        };
        let total = total.or_else(|| Some(unit_price? * quantity?));
        let frequency = cell_text(cols.frequency)
            .and_then(frequency_of)
            .or_else(|| frequency_of(body))
            .or(doc_frequency);
        if unit.is_none() {
            if let Some(per) = per_unit(body) {
                unit = Some(per);
            }
        }
        let category = category_of(item, frequency);
        let item_name = collapse_ws(item);
        let range = line_start..line_start + body.len();
        out.push(src.fact(
            LineItem {
                item: item_name,
                quantity,
                unit,
                unit_price,
                total,
                billing_frequency: frequency.map(str::to_string),
                category: category.to_string(),
            },
            if header.is_some() { 0.8 } else { 0.6 },
            range,
        ));
        if out.len() >= 50 {
            break;
        }
    }
    out
}

/// "$40 per user per month" → "user".
fn per_unit(text: &str) -> Option<String> {
    static PER: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)(?:per|/)\s*(user|seat|licen[cs]e|named\s+user|agent|admin|device|endpoint|location|site|gb|tb)s?\b",
        )
    });
    PER.captures(text).map(|c| c[1].to_ascii_lowercase())
}

/// "billed annually", "invoiced monthly in advance": the default frequency for rows that do not
/// say their own.
fn doc_billing_frequency(text: &str) -> Option<&'static str> {
    static BILLED: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:billed|invoiced|payable|paid|charged)\s+(?:in\s+advance\s+)?(annually|yearly|monthly|quarterly)",
        )
    });
    BILLED
        .captures(text)
        .map(|c| match c[1].to_ascii_lowercase().as_str() {
            "monthly" => "monthly",
            "quarterly" => "quarterly",
            _ => "annual",
        })
}

pub(super) fn payment_terms(src: &Source) -> Option<Fact<String>> {
    static TERMS: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:net\s*\d{1,3}\b|(?:payment|invoices?)\s+(?:is\s+|are\s+|shall\s+be\s+)?due\s+(?:within|in)\s+[^.\n]{1,40}?days|payable\s+(?:annually|monthly|quarterly|in\s+advance|within)[^.\n]{0,60}|payment\s+terms?\s*:\s*[^\n]{1,80})",
        )
    });
    let m = TERMS.find(src.text)?;
    Some(src.fact(collapse_ws(m.as_str()), 0.7, m.range()))
}

fn annual_factor(frequency: Option<&str>) -> Option<Decimal> {
    match frequency {
        Some("monthly") => Some(Decimal::from(12)),
        Some("quarterly") => Some(Decimal::from(4)),
        Some("annual") | None => Some(Decimal::ONE),
        _ => None,
    }
}

/// ARR from recurring line items (annualised by billing frequency) or, without a table, from a
/// stated annual or monthly fee; total contract value from a total row, or ARR × term.
pub(super) fn annual_value(
    src: &Source,
    items: &[Fact<LineItem>],
    term: Option<Span>,
) -> (Option<Fact<Decimal>>, Option<Fact<Decimal>>) {
    let text = src.text;
    let recurring: Vec<&Fact<LineItem>> = items
        .iter()
        .filter(|i| {
            i.value.category != "services"
                && i.value.billing_frequency.as_deref() != Some("one_time")
                && i.value.total.is_some()
        })
        .collect();
    let arr = if !recurring.is_empty() {
        let mut sum = Decimal::ZERO;
        let mut evidence = Vec::new();
        for i in &recurring {
            let factor =
                annual_factor(i.value.billing_frequency.as_deref()).unwrap_or(Decimal::ONE);
            sum += i.value.total.unwrap_or_default() * factor;
            evidence.extend(i.evidence.iter().cloned());
        }
        let known = recurring
            .iter()
            .all(|i| i.value.billing_frequency.is_some());
        Some(Fact {
            value: sum.round_dp(2),
            confidence: if known { 0.8 } else { 0.5 },
            evidence,
        })
    } else {
        stated_fee(src)
    };

    static TOTAL_ROW: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?im)^[^\n]{0,40}\b(?:total\s+contract\s+value|TCV|grand\s+total|total\s+fees|total\s+order\s+value|total)\b[^\n]{0,60}",
        )
    });
    let tcv_row = TOTAL_ROW.find_iter(text).find_map(|m| {
        let a = amounts(m.as_str()).into_iter().last()?;
        Some(src.fact(
            a.value,
            0.75,
            m.start() + a.range.start..m.start() + a.range.end,
        ))
    });
    let tcv = tcv_row.or_else(|| {
        let arr = arr.as_ref()?;
        let months = term?.months()?;
        let value = (arr.value * Decimal::from(months) / Decimal::from(12)).round_dp(2);
        let one_time: Decimal = items
            .iter()
            .filter(|i| !recurring.iter().any(|r| std::ptr::eq(*r, *i)))
            .filter_map(|i| i.value.total)
            .sum();
        Some(Fact {
            value: value + one_time,
            confidence: 0.6,
            evidence: arr.evidence.clone(),
        })
    });
    (arr, tcv)
}

fn stated_fee(src: &Source) -> Option<Fact<Decimal>> {
    static FEE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?P<kind>annual|yearly|monthly|subscription|license|licence)\s+(?:subscription\s+|license\s+|licence\s+|service\s+)?fees?\b[^.\n]{0,60}",
        )
    });
    for c in FEE.captures_iter(src.text) {
        let m = c.get(0)?;
        let Some(a) = amounts(m.as_str()).into_iter().next() else {
            continue;
        };
        let sentence = sentence_at(src.text, m.start());
        let s = &src.text[sentence.clone()];
        let factor = match c["kind"].to_ascii_lowercase().as_str() {
            "monthly" => Decimal::from(12),
            "annual" | "yearly" => Decimal::ONE,
            _ => match frequency_of(s) {
                Some("monthly") => Decimal::from(12),
                Some("quarterly") => Decimal::from(4),
                Some("annual") => Decimal::ONE,
                _ => continue,
            },
        };
        let range = m.start() + a.range.start..m.start() + a.range.end;
        let mut fact = src.fact((a.value * factor).round_dp(2), 0.6, range);
        fact.evidence.push(src.evidence(sentence));
        return Some(fact);
    }
    None
}
