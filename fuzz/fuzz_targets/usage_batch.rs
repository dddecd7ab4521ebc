//! Usage events as clients send them: a JSON array or NDJSON body (the ingestion API) and CSV
//! lines (`cscx usage import`). Every input must parse or be refused, never panic.
#![no_main]

use cscx_domain::import::{csv_event, csv_fields, parse_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(events) = parse_batch(data) {
        // Indexes are positions or line numbers: increasing, never repeated.
        assert!(events.windows(2).all(|w| w[0].0 < w[1].0));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let Some(Ok(header)) = lines.next().map(csv_fields) else {
        return;
    };
    let header: Vec<String> = header
        .into_iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    for line in lines {
        if let Ok(event) = csv_event(&header, line) {
            assert!(event.is_object());
        }
    }
});
