//! Column codecs: one Rust type per column kind, stored the same way on both backends as
//! DESIGN.md prescribes (SQLite / PostgreSQL):
//!
//! | Rust        | SQLite                      | PostgreSQL    |
//! |-------------|-----------------------------|---------------|
//! | `Id`        | TEXT (36-char hyphenated)   | `uuid`        |
//! | `Timestamp` | INTEGER (unix milliseconds) | `timestamptz` |
//! | `Money`     | TEXT (exact decimal)        | `numeric`     |
//! | `TextList`  | TEXT (JSON array)           | `text[]`      |
//! | `Embedding` | BLOB (little-endian f32)    | `real[]`      |
//!
//! Dates (`chrono::NaiveDate`), JSON (`serde_json::Value`), `String`, `i32` and `bool` use
//! sqlx's own codecs, which already agree across the two backends.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use cscx_domain::Word;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

/// Implements `Type`, `Encode` and `Decode` for one backend by converting to and from a
/// representation type that sqlx already knows for that backend.
macro_rules! codec_via {
    ($ty:ty, $db:ty, $repr:ty, |$this:ident| $to:expr, |$v:ident| $from:expr) => {
        impl Type<$db> for $ty {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <$repr as Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <$repr as Type<$db>>::compatible(ty)
            }
        }
        impl<'q> Encode<'q, $db> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                let $this = self;
                let repr: $repr = $to;
                <$repr as Encode<'q, $db>>::encode(repr, buf)
            }
        }
        impl<'r> Decode<'r, $db> for $ty {
            fn decode(value: <$db as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let $v: $repr = <$repr as Decode<'r, $db>>::decode(value)?;
                $from
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Id

/// Primary and foreign keys: UUID v7, generated in Rust so that ids sort by creation time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(pub uuid::Uuid);

impl Id {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Id(uuid::Uuid::now_v7())
    }
    /// The all-zero id; useful as a sentinel in tests, never stored by the product.
    pub const NIL: Id = Id(uuid::Uuid::nil());
}

impl Default for Id {
    fn default() -> Self {
        Id::new()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0.hyphenated())
    }
}

impl FromStr for Id {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(Id)
    }
}

impl From<uuid::Uuid> for Id {
    fn from(u: uuid::Uuid) -> Self {
        Id(u)
    }
}

codec_via!(
    Id,
    Sqlite,
    String,
    |id| id.0.hyphenated().to_string(),
    |s| Ok(Id(uuid::Uuid::parse_str(&s)?))
);
codec_via!(Id, Postgres, uuid::Uuid, |id| id.0, |u| Ok(Id(u)));

impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Uuid,
            )))
            .into()
    }
}
impl utoipa::ToSchema for Id {}

// ---------------------------------------------------------------------------------------------
// Timestamp

/// A point in time with millisecond precision (the precision SQLite stores).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Truncates to whole milliseconds so a value reads back exactly as it was written.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self::from_millis(t.timestamp_millis())
    }
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(Utc.timestamp_millis_opt(ms).single().unwrap_or_default())
    }
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }
    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }
    pub fn date(&self) -> chrono::NaiveDate {
        self.0.date_naive()
    }
    pub fn add(&self, d: chrono::Duration) -> Self {
        Timestamp(self.0 + d)
    }
    /// RFC 3339 with milliseconds and `Z`, the form used in the API and in cursors.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp::from_datetime(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

codec_via!(Timestamp, Sqlite, i64, |t| t.millis(), |ms| Ok(
    Timestamp::from_millis(ms)
));
codec_via!(Timestamp, Postgres, DateTime<Utc>, |t| t.0, |t| Ok(
    Timestamp::from_datetime(t)
));

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}
impl utoipa::ToSchema for Timestamp {}

// ---------------------------------------------------------------------------------------------
// Money

/// An exact decimal amount. JSON numbers keep every digit and the scale they were sent with
/// (`1234567.89` and `100.50` come back as sent); strings such as `"1234.5"` are accepted too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Money(#[serde(with = "rust_decimal::serde::arbitrary_precision")] pub Decimal);

impl Money {
    pub fn zero() -> Self {
        Money(Decimal::ZERO)
    }
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({})", self.0)
    }
}

impl FromStr for Money {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(s.trim()).map(Money)
    }
}

impl From<Decimal> for Money {
    fn from(d: Decimal) -> Self {
        Money(d)
    }
}

codec_via!(Money, Sqlite, String, |m| m.0.to_string(), |s| Ok(Money(
    Decimal::from_str_exact(&s)?
)));
codec_via!(Money, Postgres, Decimal, |m| m.0, |d| Ok(Money(d)));

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some(
                "Exact decimal amount (digits and scale are kept as sent; a string is accepted too)",
            ))
            .into()
    }
}
impl utoipa::ToSchema for Money {}

// ---------------------------------------------------------------------------------------------
// TextList

/// A list of strings (`TEXT[]` in the data model).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TextList(pub Vec<String>);

impl fmt::Debug for TextList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Vec<String>> for TextList {
    fn from(v: Vec<String>) -> Self {
        TextList(v)
    }
}

codec_via!(
    TextList,
    Sqlite,
    String,
    |l| serde_json::to_string(&l.0).expect("strings serialize"),
    |s| Ok(TextList(serde_json::from_str(&s)?))
);
codec_via!(TextList, Postgres, Vec<String>, |l| l.0.clone(), |v| Ok(
    TextList(v)
));

impl utoipa::PartialSchema for TextList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String),
            )
            .into()
    }
}
impl utoipa::ToSchema for TextList {}

// ---------------------------------------------------------------------------------------------
// Embedding

/// A dense vector for similarity search.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Embedding(pub Vec<f32>);

impl fmt::Debug for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedding(dim={})", self.0.len())
    }
}

codec_via!(
    Embedding,
    Sqlite,
    Vec<u8>,
    |e| e.0.iter().flat_map(|x| x.to_le_bytes()).collect(),
    |b| {
        if !b.len().is_multiple_of(4) {
            return Err("embedding blob length is not a multiple of 4".into());
        }
        Ok(Embedding(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }
);
codec_via!(Embedding, Postgres, Vec<f32>, |e| e.0.clone(), |v| Ok(
    Embedding(v)
));

impl utoipa::PartialSchema for Embedding {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Number),
            )
            .into()
    }
}
impl utoipa::ToSchema for Embedding {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_digits_and_scale_through_json() {
        for text in ["1234567.89", "100.50", "0", "99999999999999.9999"] {
            let m: Money = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&m).unwrap(), text);
        }
        let from_string: Money = serde_json::from_str("\"42.10\"").unwrap();
        assert_eq!(from_string.to_string(), "42.10");
    }

    #[test]
    fn timestamp_truncates_to_millis() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let ts = Timestamp::from_datetime(t);
        assert_eq!(ts.millis(), 1_700_000_000_123);
        assert_eq!(ts.to_rfc3339(), "2023-11-14T22:13:20.123Z");
    }
}

// ---------------------------------------------------------------------------------------------
// Text<T>

/// A domain [`Word`] (stage, role, severity, approval status, …) kept as its text. Reading a
/// value outside the set fails loudly instead of carrying a stray string. Entities name it
/// through the aliases below ([`StageText`], …): the API schema generator cannot see through a
/// generic argument, an alias it reads as one type.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text<T>(pub T);

impl<T: Word> std::ops::Deref for Text<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Word> PartialEq<T> for Text<T> {
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

impl<T: Word> From<T> for Text<T> {
    fn from(v: T) -> Self {
        Text(v)
    }
}

impl<T: Word> fmt::Debug for Text<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl<T: Word> fmt::Display for Text<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl<T: Word> Serialize for Text<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de, T: Word> Deserialize<'de> for Text<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        T::parse_word(&s)
            .map(Text)
            .map_err(serde::de::Error::custom)
    }
}

impl<T: Word, DB: sqlx::Database> Type<DB> for Text<T>
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

impl<'q, T: Word, DB: sqlx::Database> Encode<'q, DB> for Text<T>
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode(self.0.as_str().to_owned(), buf)
    }
}

impl<'r, T: Word, DB: sqlx::Database> Decode<'r, DB> for Text<T>
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&'r str as Decode<'r, DB>>::decode(value)?;
        Ok(Text(T::parse_word(s)?))
    }
}

impl<T: Word> utoipa::PartialSchema for Text<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(T::ALL.iter().map(|w| w.as_str())))
            .into()
    }
}

impl<T: Word> utoipa::ToSchema for Text<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        // "approval status" → "ApprovalStatus": one component per set of words.
        let name: String = T::NAME
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        std::borrow::Cow::Owned(name)
    }
}

pub type StageText = Text<cscx_domain::Stage>;
pub type RoleText = Text<cscx_domain::Role>;
pub type SeverityText = Text<cscx_domain::risk::Severity>;
pub type ApprovalStatusText = Text<cscx_domain::ApprovalStatus>;
pub type GradeText = Text<cscx_domain::health::Grade>;
pub type TaskStatusText = Text<cscx_domain::tasks::TaskStatus>;
pub type TaskPriorityText = Text<cscx_domain::tasks::TaskPriority>;
