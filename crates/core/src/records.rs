//! Creating and patching records from JSON the same way for every resource: only writable
//! fields are accepted, each value must parse as its column's type, and each problem is reported
//! under its field name. Resource modules add their own rules on top.

use serde_json::{Map, Value};

use cscx_domain::FieldErrors;
use cscx_store::Entity;

/// What kind of value a field holds, read off a sample record, to phrase type errors.
fn expected(sample: &Value) -> &'static str {
    match sample {
        Value::Bool(_) => "must be true or false",
        Value::Number(_) => "must be a number",
        Value::Array(_) => "must be a list",
        Value::Object(_) => "must be a JSON object",
        Value::String(s) if s.len() == 36 && s.parse::<uuid::Uuid>().is_ok() => {
            "must be an id (UUID)"
        }
        Value::String(s) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {
            "must be a date in ISO 8601 form (YYYY-MM-DD)"
        }
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            "must be a date-time in RFC 3339 form (e.g. 2026-01-31T09:00:00Z)"
        }
        Value::String(_) => "must be a string",
        Value::Null => "has an invalid value",
    }
}

/// Applies `patch` to `base` and checks the result with the resource's `rules`. Keys outside
/// `writable` are refused ("unknown field" if the record has no such column, "cannot be set" if
/// it is read-only); a value of the wrong type is refused with what was expected. The rules see
/// the record with every acceptable value applied, so one answer names every problem. Nothing
/// is applied unless everything is valid.
pub fn apply_patch<E: Entity>(
    base: &E,
    patch: &Map<String, Value>,
    writable: &[&str],
    rules: fn(&E) -> FieldErrors,
) -> Result<E, FieldErrors> {
    let mut errors = FieldErrors::new();
    let base_value = serde_json::to_value(base).expect("records serialise");
    let sample = serde_json::to_value(E::sample(0)).expect("records serialise");
    let mut merged = base_value.clone();
    for (key, value) in patch {
        if !writable.contains(&key.as_str()) {
            if E::COLUMNS.contains(&key.as_str()) {
                errors.add(key, "cannot be set");
            } else {
                errors.add(key, "unknown field");
            }
            continue;
        }
        let mut trial = base_value.clone();
        trial[key] = value.clone();
        if let Err(e) = serde_json::from_value::<E>(trial) {
            let reason = e.to_string();
            let msg = if value.is_null() {
                "must not be null"
            } else if value.is_string() && reason.starts_with("must be one of") {
                // A word outside its set (a stage, a severity): the set says what is allowed.
                reason.as_str()
            } else {
                expected(&sample[key])
            };
            errors.add(key, msg);
            continue;
        }
        merged[key] = value.clone();
    }
    let record: E = serde_json::from_value(merged).map_err(|e| {
        let mut errors = FieldErrors::new();
        errors.add("body", e.to_string());
        errors
    })?;
    merge(errors, rules(&record)).into_result()?;
    Ok(record)
}

/// Requires `fields` to be present (and not null) in a create body.
pub fn require(patch: &Map<String, Value>, fields: &[&str], errors: &mut FieldErrors) {
    for f in fields {
        if patch.get(*f).is_none_or(Value::is_null) {
            errors.add(f, "is required");
        }
    }
}

/// Merges two sets of errors, keeping the first message per field.
pub fn merge(mut a: FieldErrors, b: FieldErrors) -> FieldErrors {
    for (k, v) in b.0 {
        a.add(&k, v);
    }
    a
}
