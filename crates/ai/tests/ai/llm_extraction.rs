//! The LLM contract engine with a scripted model: values need quotes found in the document,
//! omissions are filled by the rules and said so, and a bad answer is an error (the caller then
//! keeps the builtin result).

use cscx_ai::contract::llm::extract_with;
use cscx_ai::contract::ExtractOptions;
use cscx_testkit::model::ScriptedModel;

const TEXT: &str = "MASTER SERVICES AGREEMENT\n\nThis Agreement is made as of January 15, 2025 by and between Northwind Analytics, Inc. (\"Provider\") and Contoso Health Systems, Inc. (\"Customer\").\n\nThe initial term is two (2) years. This Agreement is governed by the laws of the Commonwealth of Massachusetts.\n";

#[tokio::test]
async fn values_need_quotes_from_the_document() {
    let answer = r#"Here you go:
```json
{"company_name": {"value": "Contoso Health Systems, Inc.", "quote": "Contoso Health Systems, Inc. (\"Customer\")"},
 "governing_law": {"value": "Massachusetts", "quote": "governed by the laws of the   Commonwealth of Massachusetts"},
 "arr": {"value": "250000", "quote": "annual fees of $250,000"},
 "agreement_date": {"value": "15 January", "quote": "January 15, 2025"},
 "parties": []}
```"#;
    let p = ScriptedModel::answering(answer);
    let options = ExtractOptions {
        vendor_name: Some("Northwind Analytics".into()),
    };
    let r = extract_with(&p, TEXT, &options).await.unwrap();
    assert_eq!(r.engine, "llm:scripted");
    assert!(p.requests()[0]
        .system
        .contains("We are the vendor \"Northwind Analytics\""));

    let law = r.governing_law.as_ref().unwrap();
    assert_eq!(law.value, "Massachusetts");
    let quoted: String = TEXT
        .chars()
        .skip(law.evidence[0].start)
        .take(law.evidence[0].end - law.evidence[0].start)
        .collect();
    assert_eq!(
        quoted, "governed by the laws of the Commonwealth of Massachusetts",
        "found despite whitespace"
    );
    assert!(
        r.arr.is_none(),
        "a quote that is not in the document is not evidence"
    );
    assert!(r
        .engine_notes
        .iter()
        .any(|n| n.contains("arr: the quote is not in the document")));
    // "15 January" is not a date: dropped, then the rules fill the field.
    assert_eq!(
        r.agreement_date.as_ref().unwrap().value.to_string(),
        "2025-01-15"
    );
    assert!(r
        .engine_notes
        .iter()
        .any(|n| n.contains("filled by the builtin rules") && n.contains("parties")));
    assert_eq!(r.parties.len(), 2);
    assert_eq!(r.initial_term.as_ref().unwrap().value.months(), Some(24));
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_an_error() {
    let p = ScriptedModel::answering("I cannot read this contract.");
    let err = extract_with(&p, TEXT, &ExtractOptions::default())
        .await
        .unwrap_err();
    assert!(err.contains("no JSON object"), "{err}");
}
