//! Closed sets of words: enums the database keeps as text (`Stage`, `Role`, `Severity`,
//! `ApprovalStatus`, …). The store's `Text<T>` codec reads and writes any [`Word`], so an
//! entity holds the enum and a misspelt literal does not compile.

use std::fmt;

pub trait Word: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every value, in the order lists show them.
    const ALL: &'static [Self];
    /// What the set is called, for messages and the API schema ("stage").
    const NAME: &'static str;

    fn as_str(self) -> &'static str;

    /// The value written as `s`, or a message naming the choices, phrased as a field error
    /// ("must be one of …") so a form or an API body can show it as it is.
    fn parse_word(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| {
                let choices: Vec<&str> = Self::ALL.iter().map(|w| w.as_str()).collect();
                format!("must be one of {}", choices.join(", "))
            })
    }
}

/// Declares a [`Word`] enum with its text, `Display`, `FromStr` and serde forms:
///
/// ```
/// cscx_domain::words! {
///     /// How a call ended.
///     pub enum CallStatus as "call status" { Held = "held", Missed = "missed" }
/// }
/// assert_eq!("missed".parse::<CallStatus>(), Ok(CallStatus::Missed));
/// ```
#[macro_export]
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $label:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl $crate::word::Word for $name {
            const ALL: &'static [$name] = $name::ALL;
            const NAME: &'static str = $label;
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                <$name as $crate::word::Word>::parse_word(s)
            }
        }
    };
}

crate::words! {
    /// Where an approval is in its life: `pending` → `approved` | `rejected` | `expired`; an
    /// approved action then becomes `executed` or `failed`.
    pub enum ApprovalStatus as "approval status" {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Expired = "expired",
        Executed = "executed",
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_text_and_json() {
        for s in ApprovalStatus::ALL {
            assert_eq!(s.as_str().parse::<ApprovalStatus>(), Ok(*s));
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        let err = "done".parse::<ApprovalStatus>().unwrap_err();
        assert!(
            err.starts_with("must be one of pending") && err.contains("executed"),
            "{err}"
        );
        assert_eq!(
            crate::Stage::parse_word("at_risk"),
            Ok(crate::Stage::AtRisk)
        );
    }
}
