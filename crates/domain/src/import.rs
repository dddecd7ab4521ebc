//! Reading usage events from the formats clients send: a JSON array or NDJSON (the ingestion
//! API) and CSV (`cscx usage import`). Parsing only; each event is validated by the ingestion
//! use-case.

use serde_json::{Map, Value};

/// An event as read from a request or file, with the index to report it under; `Err` holds why
/// it could not even be parsed.
pub type RawEvent = (usize, Result<Value, String>);

/// Splits a request body into events: a JSON array, or NDJSON (one object per line; blank
/// lines are skipped). Indexes are positions (array) or 0-based line numbers (NDJSON).
pub fn parse_batch(body: &[u8]) -> Result<Vec<RawEvent>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let arr: Vec<Value> = serde_json::from_str(trimmed)
            .map_err(|e| format!("the body is not a JSON array of events: {e}"))?;
        return Ok(arr
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i, Ok(v)))
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                i,
                serde_json::from_str::<Value>(l).map_err(|e| format!("line is not JSON: {e}")),
            )
        })
        .collect())
}

/// Splits one CSV line (RFC 4180 quoting; fields may not span lines).
pub fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(field);
    Ok(out)
}

const EVENT_COLUMNS: &[&str] = &[
    "event_id",
    "customer_id",
    "customer_key",
    "event_type",
    "user_id",
    "timestamp",
];

pub fn csv_event(header: &[String], line: &str) -> Result<Value, String> {
    let cells = csv_fields(line)?;
    if cells.len() != header.len() {
        return Err(format!(
            "{} fields, the header has {}",
            cells.len(),
            header.len()
        ));
    }
    let mut event = Map::new();
    let mut metadata = Map::new();
    for (name, cell) in header.iter().zip(cells) {
        if cell.is_empty() {
            continue;
        }
        if name == "metadata" {
            match serde_json::from_str::<Value>(&cell) {
                Ok(Value::Object(m)) => metadata.extend(m),
                _ => return Err("metadata is not a JSON object".into()),
            }
        } else if EVENT_COLUMNS.contains(&name.as_str()) {
            let v = match name.as_str() {
                // Epoch milliseconds may come as a bare number.
                "timestamp" if cell.chars().all(|c| c.is_ascii_digit()) => {
                    Value::from(cell.parse::<i64>().map_err(|e| e.to_string())?)
                }
                _ => Value::String(cell),
            };
            event.insert(name.clone(), v);
        } else {
            // Extra columns are event details: numbers stay numbers.
            let v = cell
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                .unwrap_or(Value::String(cell));
            metadata.insert(name.clone(), v);
        }
    }
    if !metadata.is_empty() {
        event.insert("metadata".into(), Value::Object(metadata));
    }
    Ok(Value::Object(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_json_arrays_or_ndjson() {
        let arr = parse_batch(br#"[{"a":1},{"b":2}]"#).unwrap();
        assert_eq!(arr.len(), 2);
        let nd = parse_batch(b"{\"a\":1}\n\n{bad\n{\"c\":3}\n").unwrap();
        assert_eq!(nd.len(), 3);
        assert_eq!(nd[1].0, 2);
        assert!(nd[1].1.is_err());
        assert!(parse_batch(b"[1, 2").is_err());
    }

    #[test]
    fn csv_lines_with_quotes_and_extra_columns() {
        assert_eq!(
            csv_fields(r#"a,"b, c","d ""e""",,f"#).unwrap(),
            vec!["a", "b, c", "d \"e\"", "", "f"]
        );
        assert!(csv_fields(r#"a,"b"#).is_err());
        let header: Vec<String> = ["customer_key", "event_type", "timestamp", "feature"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = csv_event(&header, "acct-1,feature_used,1780000000000,reports").unwrap();
        assert_eq!(e["timestamp"], 1_780_000_000_000i64);
        assert_eq!(e["metadata"]["feature"], "reports");
        assert!(csv_event(&header, "acct-1,login").is_err());
    }
}
