//! Our own contracts, as files produced by real tools, through text extraction and the builtin
//! extractor: the values CUAD does not label (ARR, line items, stakeholders) and every format.

use chrono::NaiveDate;
use cscx_ai::contract::{extract, ContractExtraction, ExtractOptions};
use cscx_ai::document::{extract_text_guarded, DocumentKind, Limits};
use rust_decimal::Decimal;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(name: &str) -> (DocumentKind, String, ContractExtraction) {
    let doc = extract_text_guarded(fixture(name), Some(name.to_string()), Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let options = ExtractOptions {
        vendor_name: Some("Northwind Analytics".into()),
    };
    let result = extract(&doc.text, &options);
    (doc.kind, doc.text, result)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Every piece of evidence quotes the text at its offsets (char offsets, whitespace collapsed).
fn assert_evidence_points_into(text: &str, r: &ContractExtraction) {
    let json = serde_json::to_value(r).unwrap();
    let mut stack = vec![&json];
    let chars: Vec<char> = text.chars().collect();
    let mut checked = 0;
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(map) => {
                if let (Some(t), Some(s), Some(e)) = (
                    map.get("text").and_then(|t| t.as_str()),
                    map.get("start").and_then(|s| s.as_u64()),
                    map.get("end").and_then(|e| e.as_u64()),
                ) {
                    let quoted: String = chars[s as usize..e as usize].iter().collect();
                    let collapsed = quoted.split_whitespace().collect::<Vec<_>>().join(" ");
                    assert_eq!(collapsed, t, "evidence offsets {s}..{e}");
                    checked += 1;
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    assert!(checked > 5, "only {checked} pieces of evidence");
}

#[test]
fn saas_order_form_in_markdown() {
    let (kind, text, r) = read("saas-order-form.md");
    assert_eq!(kind, DocumentKind::Markdown);
    assert_eq!(r.company_name.as_ref().unwrap().value, "Beta Logistics LLC");
    assert_eq!(r.start_date.as_ref().unwrap().value, date(2025, 3, 1));
    assert_eq!(r.initial_term.as_ref().unwrap().value.months(), Some(36));
    assert_eq!(r.end_date.as_ref().unwrap().value, date(2028, 3, 1));
    let renewal = &r.renewal.as_ref().unwrap().value;
    assert!(renewal.auto_renew);
    assert_eq!(renewal.renewal_term.unwrap().months(), Some(12));
    assert_eq!(r.notice_period.as_ref().unwrap().value.days(), 60);
    assert_eq!(r.governing_law.as_ref().unwrap().value, "California");

    assert_eq!(r.line_items.len(), 3, "{:#?}", r.line_items);
    let platform = &r.line_items[0].value;
    assert_eq!(platform.quantity, Some(dec("120")));
    assert_eq!(platform.unit.as_deref(), Some("users"));
    assert_eq!(platform.unit_price, Some(dec("45.00")));
    assert_eq!(platform.billing_frequency.as_deref(), Some("monthly"));
    assert_eq!(r.line_items[2].value.category, "services");
    // 5,400 a month × 12 + 6,000 a year; the one-time implementation is not recurring.
    assert_eq!(r.arr.as_ref().unwrap().value, dec("70800.00"));
    assert_eq!(
        r.total_contract_value.as_ref().unwrap().value,
        dec("213500.00")
    );
    assert_eq!(r.currency.as_ref().unwrap().value, "USD");

    let dana = r
        .stakeholders
        .iter()
        .find(|p| p.value.name == "Dana Whitfield")
        .expect("primary contact");
    assert_eq!(
        dana.value.email.as_deref(),
        Some("dana.whitfield@betalogistics.com")
    );
    assert_eq!(dana.value.title.as_deref(), Some("VP Operations"));
    assert_eq!(dana.value.side, "customer");
    let priya = r
        .stakeholders
        .iter()
        .find(|p| p.value.name == "Priya Raman")
        .unwrap();
    assert_eq!(priya.value.side, "vendor");

    let tech = &r.technical_requirements;
    assert!(tech.slas.iter().any(|f| f.value.contains("99.9%")));
    assert!(tech.security.iter().any(|f| f.value.contains("SOC 2")));
    assert!(tech.hosting.iter().any(|f| f.value.contains("AWS")));
    assert!(tech
        .integrations
        .iter()
        .any(|f| f.value.contains("Salesforce")));
    assert!(r.next_steps.iter().any(|s| s.contains("Dana Whitfield")));
    assert!(r
        .next_steps
        .iter()
        .any(|s| s.contains("Provision 120 users")));
    assert_evidence_points_into(&text, &r);
}

#[test]
fn msa_with_order_schedule_as_docx_and_pdf() {
    for name in [
        "msa-with-order-schedule.docx",
        "msa-with-order-schedule.pdf",
    ] {
        let (kind, text, r) = read(name);
        assert!(matches!(kind, DocumentKind::Docx | DocumentKind::Pdf));
        assert_eq!(
            r.company_name.as_ref().map(|f| f.value.as_str()),
            Some("Contoso Health Systems, Inc."),
            "{name}"
        );
        assert_eq!(
            r.agreement_date.as_ref().unwrap().value,
            date(2025, 1, 15),
            "{name}"
        );
        assert_eq!(
            r.effective_date.as_ref().unwrap().value,
            date(2025, 2, 1),
            "{name}"
        );
        assert_eq!(
            r.end_date.as_ref().unwrap().value,
            date(2027, 2, 1),
            "{name}"
        );
        assert_eq!(r.notice_period.as_ref().unwrap().value.days(), 90, "{name}");
        assert_eq!(
            r.governing_law.as_ref().unwrap().value,
            "Massachusetts",
            "{name}"
        );
        let names: Vec<&str> = r.line_items.iter().map(|i| i.value.item.as_str()).collect();
        assert_eq!(names.len(), 3, "{name}: {names:?}");
        assert_eq!(r.line_items[0].value.quantity, Some(dec("250")), "{name}");
        // 150,000 + 24,000 a year; onboarding is one-time services.
        assert_eq!(r.arr.as_ref().unwrap().value, dec("174000.00"), "{name}");
        assert!(
            r.stakeholders.iter().any(|p| p.value.name == "Helen Park"
                && p.value.email.as_deref() == Some("helen.park@contosohealth.org")),
            "{name}: {:#?}",
            r.stakeholders
        );
        assert!(r
            .technical_requirements
            .security
            .iter()
            .any(|f| f.value.contains("HIPAA")));
        assert_evidence_points_into(&text, &r);
    }
}

#[test]
fn renewal_amendment_as_pdf() {
    let (kind, text, r) = read("renewal-amendment.pdf");
    assert_eq!(kind, DocumentKind::Pdf);
    assert_eq!(
        r.company_name.as_ref().unwrap().value,
        "Fabrikam Retail Group Ltd."
    );
    assert_eq!(r.end_date.as_ref().unwrap().value, date(2026, 10, 31));
    assert_eq!(r.notice_period.as_ref().unwrap().value.days(), 30);
    assert_eq!(r.arr.as_ref().unwrap().value, dec("84000.00"));
    assert_eq!(r.governing_law.as_ref().unwrap().value, "England and Wales");
    assert!(r
        .stakeholders
        .iter()
        .any(|p| p.value.name == "Grace Nakamura"));
    assert_evidence_points_into(&text, &r);
}

#[test]
fn ten_page_pdf_keeps_page_markers() {
    let doc = extract_text_guarded(fixture("msa-ten-pages.pdf"), None, Limits::default()).unwrap();
    assert_eq!(doc.pages, 10);
    let r = extract(&doc.text, &ExtractOptions::default());
    let law = r.governing_law.unwrap();
    assert!(law.evidence[0].page >= 1 && law.evidence[0].page <= 10);
    let items = r
        .line_items
        .first()
        .expect("order schedule on a later page");
    assert!(
        items.evidence[0].page > 5,
        "page {}",
        items.evidence[0].page
    );
}

#[test]
fn an_unrelated_document_yields_no_facts_rather_than_guesses() {
    let text = "Meeting notes\n\nWe talked about the weather and the roadmap. Nothing was agreed.";
    let r = extract(text, &ExtractOptions::default());
    assert!(r.parties.is_empty());
    assert!(r.start_date.is_none() && r.end_date.is_none() && r.renewal.is_none());
    assert!(r.arr.is_none() && r.line_items.is_empty() && r.governing_law.is_none());
    assert!(r
        .missing_info
        .iter()
        .any(|m| m.starts_with("Renewal terms")));
}
