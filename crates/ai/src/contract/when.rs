//! Dates and durations as contracts write them: "March 1, 2025", "the 12th day of May 2003",
//! "2025-03-01", "ninety (90) days", "one year", "month-to-month".

use chrono::{Datelike, Months, NaiveDate};
use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

const MONTHS: &str = r"(?:jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?|aug(?:ust|\.)?|sep(?:t(?:ember)?)?\.?|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?)";

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    let m = MONTHS;
    Regex::new(&format!(
        r"(?ix)
        (?P<a>\b{m}\s+(?P<ad>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+(?P<ay>\d{{4}})\b)
      | (?P<b>\b(?P<bd>\d{{1,2}})\s*(?:st|nd|rd|th|t\s?h)?\s+day\s+of\s+(?P<bm>{m})\s*,?\s+(?P<by>\d{{4}})\b)
      | (?P<c>\b(?P<cd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<cm>{m})\s*,?\s+(?P<cy>\d{{4}})\b)
      | (?P<d>\b(?P<dy>\d{{4}})-(?P<dm>\d{{2}})-(?P<dd>\d{{2}})\b)
      | (?P<e>\b(?P<em>\d{{1,2}})/(?P<ed>\d{{1,2}})/(?P<ey>\d{{4}}|\d{{2}})\b)
    "
    ))
    .expect("date regex")
});

static MONTH_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)^{MONTHS}")).expect("month regex"));

fn month_number(word: &str) -> Option<u32> {
    if !MONTH_WORD.is_match(word) {
        return None;
    }
    let w = word.to_ascii_lowercase();
    const PREFIXES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    PREFIXES
        .iter()
        .position(|p| w.starts_with(p))
        .map(|i| i as u32 + 1)
}

/// A calendar date found in text, with its byte range.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundDate {
    pub date: NaiveDate,
    pub range: Range<usize>,
}

/// Every date in `text`, in order.
pub fn find_dates(text: &str) -> Vec<FoundDate> {
    DATE.captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let num = |name: &str| c.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
            let (y, m, d) = if c.name("a").is_some() {
                let month = month_number(whole.as_str())?;
                (num("ay")?, month, num("ad")?)
            } else if c.name("b").is_some() {
                (
                    num("by")?,
                    month_number(c.name("bm")?.as_str())?,
                    num("bd")?,
                )
            } else if c.name("c").is_some() {
                (
                    num("cy")?,
                    month_number(c.name("cm")?.as_str())?,
                    num("cd")?,
                )
            } else if c.name("d").is_some() {
                (num("dy")?, num("dm")?, num("dd")?)
            } else {
                // US order, as in the contracts we read: month/day/year.
                let y = num("ey")?;
                let y = if y < 100 {
                    if y < 50 {
                        2000 + y
                    } else {
                        1900 + y
                    }
                } else {
                    y
                };
                (y, num("em")?, num("ed")?)
            };
            if !(1900..=2200).contains(&y) {
                return None;
            }
            let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
            Some(FoundDate {
                date,
                range: whole.range(),
            })
        })
        .collect()
}

/// A length of time: a count of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub count: u32,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Days,
    Weeks,
    Months,
    Years,
}

impl Span {
    /// Approximate days, for comparing notice periods ("three months" = 90 days).
    pub fn days(self) -> u32 {
        match self.unit {
            Unit::Days => self.count,
            Unit::Weeks => self.count * 7,
            Unit::Months => self.count * 30,
            Unit::Years => self.count * 365,
        }
    }

    /// Whole months, where the unit allows it.
    pub fn months(self) -> Option<u32> {
        match self.unit {
            Unit::Months => Some(self.count),
            Unit::Years => Some(self.count * 12),
            Unit::Days if self.count.is_multiple_of(365) && self.count > 0 => {
                Some(self.count / 365 * 12)
            }
            _ => None,
        }
    }

    pub fn add_to(self, date: NaiveDate) -> Option<NaiveDate> {
        match self.unit {
            Unit::Days => date.checked_add_days(chrono::Days::new(self.count as u64)),
            Unit::Weeks => date.checked_add_days(chrono::Days::new(self.count as u64 * 7)),
            Unit::Months => date.checked_add_months(Months::new(self.count)),
            Unit::Years => date.checked_add_months(Months::new(self.count * 12)),
        }
    }

    pub fn describe(self) -> String {
        let unit = match self.unit {
            Unit::Days => "day",
            Unit::Weeks => "week",
            Unit::Months => "month",
            Unit::Years => "year",
        };
        if self.count == 1 {
            format!("1 {unit}")
        } else {
            format!("{} {unit}s", self.count)
        }
    }
}

const NUMBER_WORDS: &str = r"(?:(?:one|two|three|four|five|six|seven|eight|nine)\s+hundred(?:\s+(?:and\s+)?(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety))?(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine))?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|a|an)";

static SPAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?ix)
        \b(?P<mtm>month[\s-]to[\s-]month|year[\s-]to[\s-]year)\b
      | \b(?P<word>{NUMBER_WORDS})?\s*(?:\(\s*(?P<paren>\d{{1,4}})\s*\)|(?P<digits>\d{{1,4}}))?
        [\s-]*(?:calendar\s+|business\s+|full\s+|consecutive\s+|additional\s+|successive\s+)?
        (?P<unit>days?|weeks?|months?|years?)\b
      | \b(?P<annual>annual|annually|yearly)\b
    "
    ))
    .expect("span regex")
});

fn word_number(words: &str) -> Option<u32> {
    let mut total = 0u32;
    let mut current = 0u32;
    for w in words
        .to_ascii_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
    {
        let v = match w {
            "" | "and" => continue,
            "a" | "an" | "one" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            "seven" => 7,
            "eight" => 8,
            "nine" => 9,
            "ten" => 10,
            "eleven" => 11,
            "twelve" => 12,
            "thirteen" => 13,
            "fourteen" => 14,
            "fifteen" => 15,
            "sixteen" => 16,
            "seventeen" => 17,
            "eighteen" => 18,
            "nineteen" => 19,
            "twenty" => 20,
            "thirty" => 30,
            "forty" => 40,
            "fifty" => 50,
            "sixty" => 60,
            "seventy" => 70,
            "eighty" => 80,
            "ninety" => 90,
            "hundred" => {
                current = current.max(1) * 100;
                continue;
            }
            _ => return None,
        };
        current += v;
    }
    total += current;
    (total > 0).then_some(total)
}

/// A duration found in text.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundSpan {
    pub span: Span,
    pub range: Range<usize>,
}

/// Every duration in `text`, in order. "year-to-year" is a one-year span, "annual" too.
pub fn find_spans(text: &str) -> Vec<FoundSpan> {
    SPAN.captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            if let Some(m) = c.name("mtm") {
                let unit = if m.as_str().to_ascii_lowercase().starts_with("month") {
                    Unit::Months
                } else {
                    Unit::Years
                };
                return Some(FoundSpan {
                    span: Span { count: 1, unit },
                    range: m.range(),
                });
            }
            if let Some(m) = c.name("annual") {
                return Some(FoundSpan {
                    span: Span {
                        count: 1,
                        unit: Unit::Years,
                    },
                    range: m.range(),
                });
            }
            let count = c
                .name("paren")
                .or(c.name("digits"))
                .and_then(|m| m.as_str().parse().ok())
                .or_else(|| c.name("word").and_then(|m| word_number(m.as_str())))?;
            let unit_word = c.name("unit")?.as_str().to_ascii_lowercase();
            let unit = match &unit_word[..3] {
                "day" => Unit::Days,
                "wee" => Unit::Weeks,
                "mon" => Unit::Months,
                _ => Unit::Years,
            };
            if count == 0 {
                return None;
            }
            let start = c
                .name("word")
                .or(c.name("paren"))
                .or(c.name("digits"))
                .map_or(whole.start(), |m| m.start().min(whole.start()));
            Some(FoundSpan {
                span: Span { count, unit },
                range: start..whole.end(),
            })
        })
        .collect()
}

/// The first year of a date, for annualising.
pub fn year_of(date: NaiveDate) -> i32 {
    date.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_in_the_shapes_contracts_use() {
        let text = "dated March 1, 2025; the 12th day of May 2003; 18t h day of August 2014; \
                    1 July 2024; 2025-02-28; 6/21/99; Sept. 3, 2021; 31 February 2024";
        let found: Vec<NaiveDate> = find_dates(text).into_iter().map(|f| f.date).collect();
        assert_eq!(
            found,
            vec![
                d(2025, 3, 1),
                d(2003, 5, 12),
                d(2014, 8, 18),
                d(2024, 7, 1),
                d(2025, 2, 28),
                d(1999, 6, 21),
                d(2021, 9, 3),
            ]
        );
        let f = &find_dates("as of March 1, 2025 by")[0];
        assert_eq!(&"as of March 1, 2025 by"[f.range.clone()], "March 1, 2025");
    }

    #[test]
    fn spans_in_words_digits_and_both() {
        let spans: Vec<Span> = find_spans(
            "ninety (90) days; 30 days; one year; two (2) years; one hundred twenty days; \
             month-to-month; successive one-year terms; three months; annual",
        )
        .into_iter()
        .map(|f| f.span)
        .collect();
        let days: Vec<u32> = spans.iter().map(|s| s.days()).collect();
        assert_eq!(days, vec![90, 30, 365, 730, 120, 30, 365, 90, 365]);
        assert_eq!(spans[3].months(), Some(24));
        assert_eq!(
            spans[0].add_to(d(2025, 1, 1)),
            Some(d(2025, 4, 1)),
            "90 days after 1 Jan"
        );
    }
}
