//! Money as people read it, computed in exact decimals (money never passes through a float).

use rust_decimal::{Decimal, RoundingStrategy};

/// "1234567" → "1,234,567" (a leading minus is kept).
pub fn group_thousands(digits: &str) -> String {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// Whole units with thousands separators: 1234567.5 → "1,234,568".
pub fn whole(amount: Decimal) -> String {
    group_thousands(&round(amount, 0).to_string())
}

/// Short form for sentences: "$1.2M", "$120k", "$950".
pub fn compact(amount: Decimal) -> String {
    let million = Decimal::from(1_000_000);
    let thousand = Decimal::from(1_000);
    if amount >= million {
        format!("${}M", round(amount / million, 1))
    } else if amount >= thousand {
        format!("${}k", round(amount / thousand, 0))
    } else {
        format!("${}", round(amount, 0))
    }
}

/// An amount from a JSON number's own text ("250000", "2.5e5"), exactly; None if it is not
/// a number or does not fit.
pub fn parse_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()
    } else {
        Decimal::from_str_exact(t).ok()
    }
}

fn round(d: Decimal, dp: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven);
    r.rescale(dp);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn exact_and_readable() {
        assert_eq!(whole(d("1234567.5")), "1,234,568");
        assert_eq!(whole(d("-1000")), "-1,000");
        assert_eq!(compact(d("1250000")), "$1.2M");
        assert_eq!(compact(d("2000000")), "$2.0M");
        assert_eq!(compact(d("120000.00")), "$120k");
        assert_eq!(compact(d("950.4")), "$950");
        // A float would print 0.30000000000000004 somewhere on the way; decimals do not.
        assert_eq!(compact(d("0.1") + d("0.2")), "$0");
    }

    #[test]
    fn json_numbers_parse_exactly() {
        assert_eq!(parse_number("250000"), Some(d("250000")));
        assert_eq!(parse_number("2.5e5"), Some(d("250000")));
        assert_eq!(parse_number("0.1"), Some(d("0.1")));
        assert_eq!(parse_number("\"lots\""), None);
    }
}
