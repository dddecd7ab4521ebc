//! Request extractors that answer in our error format: JSON bodies, query strings, and the
//! authenticated caller.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use cscx_core::auth::{AuthVia, Principal};
use cscx_domain::{Role, TokenScope};

use crate::error::{ApiError, Code};

/// A JSON body. Malformed JSON (duplicate keys included) is a 400 naming the problem; a missing
/// or wrong content type a 415; a NUL character in any string a 422 naming the field, on both
/// databases alike.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::http::StatusCode;
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        if !is_json {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        Code::PayloadTooLarge,
                        "the body is larger than this endpoint accepts",
                    )
                } else {
                    ApiError::bad_request(e.body_text())
                }
            })?;
        let value = strict_json(&bytes).map_err(|e| {
            ApiError::new(
                Code::InvalidJson,
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        if let Some(path) = cscx_domain::validate::find_nul(&value) {
            return Err(
                cscx_core::CoreError::field(&path, "must not contain NUL characters").into(),
            );
        }
        Ok(Body(value))
    }
}

/// Parses JSON like `serde_json::from_slice::<Value>`, but refuses an object that names a key
/// twice: which of the two values would count is a guess no client should rely on.
pub fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    struct Strict(Value);

    impl<'de> Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrictVisitor)
        }
    }

    struct StrictVisitor;

    impl<'de> Visitor<'de> for StrictVisitor {
        type Value = Strict;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
            Ok(Strict(Value::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
            Ok(Strict(Value::from(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
            Ok(Strict(Value::from(v)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
            Ok(Strict(Value::from(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
            Ok(Strict(Value::String(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Strict, E> {
            Ok(Strict(Value::String(v)))
        }
        fn visit_unit<E>(self) -> Result<Strict, E> {
            Ok(Strict(Value::Null))
        }
        fn visit_none<E>(self) -> Result<Strict, E> {
            Ok(Strict(Value::Null))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
            let mut items = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                items.push(v);
            }
            Ok(Strict(Value::Array(items)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
            // With serde_json's arbitrary_precision, numbers arrive as a one-entry map under
            // a private key; `Value` knows how to read that, so hand such maps back to it.
            let mut out = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if key == "$serde_json::private::Number" {
                    let raw: serde_json::Value = map.next_value()?;
                    let n: serde_json::Number = serde_json::from_str(raw.as_str().unwrap_or(""))
                        .map_err(A::Error::custom)?;
                    return Ok(Strict(Value::Number(n)));
                }
                if out.contains_key(&key) {
                    return Err(A::Error::custom(format!("duplicate key {key:?}")));
                }
                let Strict(v) = map.next_value()?;
                out.insert(key, v);
            }
            Ok(Strict(Value::Object(out)))
        }
    }

    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Strict(v) = Strict::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// A typed JSON body (for fixed-shape requests such as login). Unknown fields are refused by
/// the type's `deny_unknown_fields`.
pub struct Typed<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Typed<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Body(v) = Body::from_request(req, state).await?;
        serde_json::from_value(v).map(Typed).map_err(|e| {
            ApiError::new(Code::ValidationFailed, e.to_string())
                .with_details(serde_json::json!({ "body": e.to_string() }))
        })
    }
}

/// The query string as name → value; handlers parse each parameter and name it in errors.
pub struct Params(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(q)?;
        let mut map = std::collections::HashMap::new();
        for (k, v) in pairs {
            if k.contains('\0') || v.contains('\0') {
                return Err(ApiError::invalid_parameter(
                    &k.replace('\0', ""),
                    "must not contain NUL characters",
                ));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::invalid_parameter(&k, "given more than once"));
            }
        }
        Ok(Params(map))
    }
}

fn serde_urlencoded_pairs(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::bad_request("malformed query string"))?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}

impl Params {
    /// Refuses parameters this endpoint does not know (a typo must not silently widen a query).
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&String> = self
            .0
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            Some(k) => Err(ApiError::invalid_parameter(
                k,
                format!("unknown parameter; accepted: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_parameter(name, format!("must be {what}"))),
        }
    }
}

/// The authenticated caller, resolved by the authentication middleware. Requires a full-scope
/// credential: ingestion-only tokens are refused here.
pub struct Caller(pub Principal);

/// A caller that may hold an ingestion-scoped token (for the ingestion endpoints only).
pub struct IngestCaller(pub Principal);

fn principal(parts: &Parts) -> Result<Principal, ApiError> {
    let p = parts
        .extensions
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            ApiError::unauthenticated("sign in or send Authorization: Bearer <API token>")
        })?;
    // Cookies are sent by browsers on their own; state-changing requests must also carry the
    // session's CSRF token, which another site cannot read.
    if let AuthVia::Session { csrf_token, .. } = &p.via {
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if unsafe_method {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if sent != Some(csrf_token.as_str()) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token header for this session",
                ));
            }
        }
    }
    Ok(p)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let p = principal(parts)?;
        if p.scope != TokenScope::Full {
            return Err(ApiError::forbidden("this token is limited to ingestion"));
        }
        Ok(Caller(p))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IngestCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let p = principal(parts)?;
        if p.scope == TokenScope::Full && !p.role.can_write_portfolio() {
            return Err(ApiError::forbidden(
                "ingestion needs an ingest-scoped token or a writer role",
            ));
        }
        Ok(IngestCaller(p))
    }
}

impl Caller {
    /// Requires at least `role`.
    pub fn require(&self, role: Role) -> Result<&Principal, ApiError> {
        if self.0.role >= role {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(format!(
                "requires the {role} role or higher; you are {}",
                self.0.role
            )))
        }
    }

    pub fn writer(&self) -> Result<&Principal, ApiError> {
        self.require(Role::Csm)
    }

    pub fn admin(&self) -> Result<&Principal, ApiError> {
        self.require(Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::strict_json;
    use serde_json::json;

    #[test]
    fn strict_json_refuses_duplicate_keys_and_keeps_numbers_exact() {
        let v =
            strict_json(br#"{"arr": 12345678901234567890.12, "n": -3, "x": [1.5, {"y": null}]}"#)
                .unwrap();
        assert_eq!(v["arr"].to_string(), "12345678901234567890.12");
        assert_eq!(v["x"], json!([1.5, {"y": null}]));
        assert_eq!(
            v,
            serde_json::from_str::<serde_json::Value>(&v.to_string()).unwrap()
        );
        let e = strict_json(br#"{"name": "a", "nested": {"k": 1, "k": 2}}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key \"k\""), "{e}");
        assert!(strict_json(br#"{"a": 1} trailing"#).is_err());
    }
}
