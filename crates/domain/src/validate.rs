//! Validation rules shared by the API, the CLI and (later) the web forms, so every entry point
//! gives the same answer with the same message.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Field name → what is wrong with it. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` if nothing was added.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Runs `check` on `value` if present and records its complaint under `field`.
    pub fn check<T: ?Sized>(
        &mut self,
        field: &str,
        value: Option<&T>,
        check: impl Fn(&T) -> Result<(), String>,
    ) {
        if let Some(v) = value {
            if let Err(msg) = check(v) {
                self.add(field, msg);
            }
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        f.write_str(&parts.join("; "))
    }
}

crate::words! {
    /// A customer's lifecycle stage.
    pub enum Stage as "stage" {
        Prospect = "prospect",
        Onboarding = "onboarding",
        Active = "active",
        AtRisk = "at_risk",
        Churned = "churned",
    }
}

pub fn stage(s: &str) -> Result<(), String> {
    s.parse::<Stage>().map(|_| ())
}

/// One of a fixed set of words.
pub fn one_of(allowed: &'static [&'static str]) -> impl Fn(&str) -> Result<(), String> {
    move |s: &str| {
        if allowed.contains(&s) {
            Ok(())
        } else {
            Err(format!("must be one of {}", allowed.join(", ")))
        }
    }
}

pub const SENTIMENTS: &[&str] = &["positive", "neutral", "negative", "unknown"];
pub const CONTRACT_STATUSES: &[&str] = &[
    "draft",
    "parsing",
    "parsed",
    "failed",
    "review",
    "active",
    "expired",
    "terminated",
];

/// A health score is a whole number from 0 to 100.
pub fn health_score(v: &i32) -> Result<(), String> {
    if (0..=100).contains(v) {
        Ok(())
    } else {
        Err("must be between 0 and 100".into())
    }
}

/// Money amounts are never negative.
pub fn non_negative_money(v: &Decimal) -> Result<(), String> {
    if v.is_sign_negative() && !v.is_zero() {
        Err("must not be negative".into())
    } else {
        Ok(())
    }
}

pub fn non_negative_int(v: &i32) -> Result<(), String> {
    if *v < 0 {
        Err("must not be negative".into())
    } else {
        Ok(())
    }
}

/// Required free text: not blank, at most `max` characters.
pub fn text(max: usize) -> impl Fn(&str) -> Result<(), String> {
    move |s: &str| {
        if s.trim().is_empty() {
            Err("must not be blank".into())
        } else if s.chars().count() > max {
            Err(format!("must be at most {max} characters"))
        } else {
            Ok(())
        }
    }
}

/// A practical e-mail check: one `@`, a plausible local part, a dotted domain of
/// letters, digits and hyphens. It rejects typos, not every RFC 5322 curiosity.
/// The path (`name`, `metadata.plan`, `tags[2]`) of the first string or key in `v` that holds a
/// NUL character, which PostgreSQL cannot store in text; both backends refuse it alike.
pub fn find_nul(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    fn walk(v: &Value, path: &mut String) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(k, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.replace('\0', "\\0"));
                let found = k.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(v, &mut path).then(|| {
        if path.is_empty() {
            "the value".into()
        } else {
            path
        }
    })
}

pub fn email(s: &str) -> Result<(), String> {
    let bad = || Err(format!("{s:?} is not a valid e-mail address"));
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return bad();
    };
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || !local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
    {
        return bad();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        || labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return bad();
    }
    Ok(())
}

/// An absolute http(s) URL.
pub fn url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !s.chars().any(char::is_whitespace) => {
            Ok(())
        }
        _ => Err("must be an absolute http:// or https:// URL".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "o'brien@example.ie",
        ] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@b..com",
            ".a@b.com",
            "a@-b.com",
            "a@b.123",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stages_accept_only_the_five() {
        for s in Stage::ALL {
            assert!(stage(s.as_str()).is_ok());
        }
        assert!(stage("Active").is_err());
        assert!(stage("renewing").is_err());
    }

    #[test]
    fn numbers_and_text() {
        assert!(health_score(&0).is_ok() && health_score(&100).is_ok());
        assert!(health_score(&-1).is_err() && health_score(&101).is_err());
        assert!(non_negative_money(&Decimal::new(-1, 2)).is_err());
        assert!(non_negative_money(&Decimal::ZERO).is_ok());
        assert!(text(5)("  ").is_err());
        assert!(text(5)("abcdef").is_err());
        assert!(text(5)("abc").is_ok());
        assert!(url("https://linkedin.com/in/x").is_ok());
        assert!(url("javascript:alert(1)").is_err());
    }

    #[test]
    fn field_errors_keep_the_first_message_per_field() {
        let mut e = FieldErrors::new();
        e.add("name", "must not be blank");
        e.add("name", "second");
        e.check("stage", Some("nope"), stage);
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.0["name"], "must not be blank");
        assert!(e.into_result().is_err());
    }
}

#[cfg(test)]
mod nul_tests {
    use super::find_nul;
    use serde_json::json;

    #[test]
    fn finds_nul_in_strings_keys_and_nested_values() {
        assert_eq!(find_nul(&json!({"name": "ok", "tags": ["a", "b"]})), None);
        assert_eq!(
            find_nul(&json!({"name": "a\u{0}b"})).as_deref(),
            Some("name")
        );
        assert_eq!(
            find_nul(&json!({"metadata": {"plan": ["x", "\u{0}"]}})).as_deref(),
            Some("metadata.plan[1]")
        );
        assert_eq!(find_nul(&json!({"k\u{0}": 1})).as_deref(), Some("k\\0"));
        assert_eq!(find_nul(&json!("\u{0}")).as_deref(), Some("the value"));
    }
}
