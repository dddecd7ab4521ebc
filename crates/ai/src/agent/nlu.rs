//! Entity recognition for CSM requests: customers by name, e-mail addresses, people, dates and
//! times ("next Tuesday at 2pm" in the user's time zone), durations, amounts, thresholds, stages.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use regex::Regex;
use std::sync::LazyLock;

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid nlu regex")
}

/// A customer the recogniser can find by name.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KnownCustomer {
    pub id: String,
    pub name: String,
}

/// What the recogniser knows besides the text.
#[derive(Debug, Clone)]
pub struct Context {
    pub customers: Vec<KnownCustomer>,
    /// The customer the conversation is about, if any.
    pub session_customer: Option<KnownCustomer>,
    pub now: DateTime<Utc>,
    pub time_zone: Tz,
}

/// Lower-case words without punctuation or corporate suffixes, for matching names in text:
/// the same key contracts use to match party names to customers.
pub fn name_key(name: &str) -> String {
    crate::contract::parties_normalise(name)
}

/// The customer named in the text (longest name wins), else the session's customer.
pub fn find_customer(text: &str, ctx: &Context) -> Option<KnownCustomer> {
    let hay = format!(" {} ", name_key(text));
    let mut best: Option<(&KnownCustomer, usize)> = None;
    for c in &ctx.customers {
        let key = name_key(&c.name);
        if key.len() < 3 {
            continue;
        }
        if hay.contains(&format!(" {key} ")) && best.is_none_or(|(_, len)| key.len() > len) {
            best = Some((c, key.len()));
        }
    }
    if let Some((c, _)) = best {
        return Some(c.clone());
    }
    // "Globex" for "Globex Industries": a distinctive first word that names one customer only.
    let mut by_first = ctx.customers.iter().filter(|c| {
        let key = name_key(&c.name);
        let first = key.split_whitespace().next().unwrap_or("");
        first.len() >= 4 && hay.contains(&format!(" {first} "))
    });
    match (by_first.next(), by_first.next()) {
        (Some(c), None) => Some(c.clone()),
        _ => ctx.session_customer.clone(),
    }
}

/// The text with a customer's name (and its first word) taken out, so words inside a name do
/// not read as intent.
pub fn without_name(text: &str, name: &str) -> String {
    let key = name_key(name);
    let words: Vec<String> = key.split_whitespace().map(regex::escape).collect();
    if words.is_empty() {
        return text.to_string();
    }
    let full = format!(
        r"(?i)\b{}\b(?:\W+(?:inc|llc|ltd|corp|co)\b\.?)?(?:'s)?",
        words.join(r"\W+")
    );
    let first = format!(r"(?i)\b{}\b(?:'s)?", words[0]);
    let once =
        Regex::new(&full).map_or(text.to_string(), |r| r.replace_all(text, " ").into_owned());
    if words[0].len() >= 4 {
        Regex::new(&first).map_or(once.clone(), |r| r.replace_all(&once, " ").into_owned())
    } else {
        once
    }
}

pub fn find_email(text: &str) -> Option<String> {
    static EMAIL: LazyLock<Regex> =
        LazyLock::new(|| re(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"));
    EMAIL.find(text).map(|m| m.as_str().to_string())
}

/// People named after "with", "to", "for" or "cc": capitalised words that are not a customer.
pub fn find_people(text: &str, customer: Option<&KnownCustomer>) -> Vec<String> {
    static PERSON: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:with|to|for|cc|and|invite|inviting|email|e-mail|ping)\s+(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})",
        )
    });
    const NOT_PEOPLE: &[&str] = &[
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Today",
        "Tomorrow",
        "Next",
        "The",
        "Their",
        "Our",
        "Them",
        "QBR",
        "Renewal",
        "Health",
        "Customer",
    ];
    let customer_key = customer.map(|c| name_key(&c.name));
    let mut out: Vec<String> = Vec::new();
    for c in PERSON.captures_iter(text) {
        let name = c["name"].to_string();
        let first = name.split_whitespace().next().unwrap_or("");
        if NOT_PEOPLE.contains(&first) {
            continue;
        }
        if let Some(k) = &customer_key {
            let key = name_key(&name);
            if k.contains(&key) || key.contains(k.as_str()) {
                continue;
            }
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match &word.to_ascii_lowercase()[..3.min(word.len())] {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// A date mentioned relative to today (in the user's zone): "today", "tomorrow", "next Tuesday",
/// "on Friday", "March 3", "3/14", "in 2 weeks".
pub fn find_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    static REL: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?ix)
            \b(?P<today>today|tonight)\b
          | \b(?P<tomorrow>tomorrow)\b
          | \b(?P<which>next|this|on|coming)?\s*(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri)\b
          | \bin\s+(?P<n>\d+|a|one|two|three|four)\s+(?P<unit>days?|weeks?)\b
          | \bnext\s+(?P<nextunit>week|month)\b
          | \b(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b
          | \b(?P<m>\d{1,2})/(?P<d>\d{1,2})\b
        ")
    });
    let c = REL.captures(text)?;
    if c.name("today").is_some() {
        return Some(today);
    }
    if c.name("tomorrow").is_some() {
        return Some(today + Duration::days(1));
    }
    if let Some(wd) = c.name("wd").and_then(|m| weekday(m.as_str())) {
        let ahead = (7 + wd.num_days_from_monday() as i64
            - today.weekday().num_days_from_monday() as i64)
            % 7;
        // "Tuesday", "next Tuesday", "on Tuesday": the coming one, never today.
        let days = if ahead == 0 { 7 } else { ahead };
        return Some(today + Duration::days(days));
    }
    if let (Some(n), Some(unit)) = (c.name("n"), c.name("unit")) {
        let n: i64 = match n.as_str().to_ascii_lowercase().as_str() {
            "a" | "one" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            digits => digits.parse().ok()?,
        };
        let days = if unit.as_str().to_ascii_lowercase().starts_with("week") {
            n * 7
        } else {
            n
        };
        return Some(today + Duration::days(days));
    }
    if let Some(u) = c.name("nextunit") {
        return Some(if u.as_str().eq_ignore_ascii_case("week") {
            // Monday of next week.
            today + Duration::days(7 - today.weekday().num_days_from_monday() as i64)
        } else {
            let (y, m) = if today.month() == 12 {
                (today.year() + 1, 1)
            } else {
                (today.year(), today.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)?
        });
    }
    let (month, day) = if let (Some(mo), Some(d)) = (c.name("month"), c.name("day")) {
        let m = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ]
        .iter()
        .position(|p| mo.as_str().to_ascii_lowercase().starts_with(p))? as u32
            + 1;
        (m, d.as_str().parse().ok()?)
    } else {
        (
            c.name("m")?.as_str().parse().ok()?,
            c.name("d")?.as_str().parse().ok()?,
        )
    };
    // The next such date: this year, or next year when it has passed.
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this_year >= today {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
    }
}

/// A time of day: "at 2pm", "2:30 pm", "14:00", "noon", "in the morning".
pub fn find_time(text: &str) -> Option<NaiveTime> {
    // Most specific first: "9:30am" must not be read as "at 9".
    static AMPM: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)\b(?P<h>\d{1,2})(?::(?P<min>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?:\W|$)")
    });
    static H24: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b"));
    static BARE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bat\s+(?P<h>\d{1,2})\b"));
    static WORDS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)\b(?P<w>noon|midday|morning|afternoon)\b"));
    if let Some(c) = AMPM.captures(text) {
        let mut hour: u32 = c["h"].parse().ok()?;
        let minute: u32 = c.name("min").map_or(Some(0), |m| m.as_str().parse().ok())?;
        if hour == 0 || hour > 12 {
            return None;
        }
        if hour == 12 {
            hour = 0;
        }
        if c["ampm"].to_ascii_lowercase().starts_with('p') {
            hour += 12;
        }
        return NaiveTime::from_hms_opt(hour, minute, 0);
    }
    if let Some(c) = H24.captures(text) {
        return NaiveTime::from_hms_opt(c["h"].parse().ok()?, c["m"].parse().ok()?, 0);
    }
    if let Some(c) = BARE.captures(text) {
        // "at 3" is a time; "at 30 days" or "at 90%" is not.
        let h = c.name("h")?;
        let after = text[h.end()..].trim_start().to_ascii_lowercase();
        if !(after.starts_with("day") || after.starts_with("week") || after.starts_with('%')) {
            let mut hour: u32 = h.as_str().parse().ok()?;
            // "at 3" in business talk means 3 pm.
            if (1..=7).contains(&hour) {
                hour += 12;
            }
            return NaiveTime::from_hms_opt(hour, 0, 0);
        }
    }
    let w = WORDS.captures(text)?["w"].to_ascii_lowercase();
    let hour = match w.as_str() {
        "morning" => 9,
        "afternoon" => 14,
        _ => 12,
    };
    NaiveTime::from_hms_opt(hour, 0, 0)
}

/// A date and time in the user's zone, as a UTC instant. A date without a time means 10:00.
pub fn find_datetime(text: &str, ctx: &Context) -> Option<DateTime<Utc>> {
    let local_now = ctx.now.with_timezone(&ctx.time_zone);
    let time = find_time(text);
    let date = find_date(text, local_now.date_naive()).or_else(|| {
        // A time alone: today if still ahead, else tomorrow.
        let t = time?;
        let today = local_now.date_naive();
        Some(if t > local_now.time() {
            today
        } else {
            today + Duration::days(1)
        })
    })?;
    let time = time.unwrap_or(NaiveTime::from_hms_opt(10, 0, 0)?);
    let local = ctx
        .time_zone
        .from_local_datetime(&date.and_time(time))
        .earliest()?;
    Some(local.with_timezone(&Utc))
}

/// Minutes: "for 30 minutes", "45 min", "an hour", "1.5 hours".
pub fn find_duration_minutes(text: &str) -> Option<i64> {
    static DUR: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?P<n>\d+(?:\.\d+)?|an?|one|half\s+an?)\s*[- ]?(?P<unit>minutes?|mins?|hours?|hrs?)\b",
        )
    });
    let c = DUR.captures(text)?;
    let n = match c["n"].to_ascii_lowercase().as_str() {
        "a" | "an" | "one" => 1.0,
        s if s.starts_with("half") => 0.5,
        s => s.parse::<f64>().ok()?,
    };
    let minutes = if c["unit"].to_ascii_lowercase().starts_with('h') {
        n * 60.0
    } else {
        n
    };
    Some(minutes.round() as i64)
}

/// "next 60 days", "within 90 days", "in the next 2 months": a window in days.
pub fn find_window_days(text: &str) -> Option<i64> {
    static WIN: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:next|within|in\s+the\s+next|coming|over\s+the\s+next)\s+(?P<n>\d+)\s*(?P<unit>days?|weeks?|months?|quarters?)\b|\b(?P<q>this|next)\s+quarter\b|\bthis\s+month\b",
        )
    });
    let c = WIN.captures(text)?;
    if let Some(q) = c.name("q") {
        return Some(if q.as_str().eq_ignore_ascii_case("this") {
            90
        } else {
            180
        });
    }
    let Some(n) = c.name("n") else {
        return Some(30);
    };
    let n: i64 = n.as_str().parse().ok()?;
    Some(match c["unit"].to_ascii_lowercase().chars().next() {
        Some('w') => n * 7,
        Some('m') => n * 30,
        Some('q') => n * 90,
        _ => n,
    })
}

/// "health under 60", "score below 50", "health < 40": an upper bound on the health score.
pub fn find_health_max(text: &str) -> Option<i64> {
    static H: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:health|score|health\s+score)\s*(?:is\s+)?(?:under|below|less\s+than|<|lower\s+than|of\s+less\s+than)\s*(?P<n>\d{1,3})\b",
        )
    });
    H.captures(text)?["n"].parse().ok()
}

/// An amount of money: "$50k", "$1.2M", "120,000 dollars".
pub fn find_amount(text: &str) -> Option<f64> {
    static AMT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\$\s?(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<mult>k|m|million|thousand)?\b|(?P<n2>\d[\d,]*(?:\.\d+)?)\s*(?P<mult2>k|m)?\s*(?:dollars|usd)\b",
        )
    });
    let c = AMT.captures(text)?;
    let n: f64 = c
        .name("n")
        .or(c.name("n2"))?
        .as_str()
        .replace(',', "")
        .parse()
        .ok()?;
    let mult = c
        .name("mult")
        .or(c.name("mult2"))
        .map(|m| m.as_str().to_ascii_lowercase());
    Some(match mult.as_deref() {
        Some("k") | Some("thousand") => n * 1_000.0,
        Some("m") | Some("million") => n * 1_000_000.0,
        _ => n,
    })
}

/// A lifecycle stage named in the text.
pub fn find_stage(text: &str) -> Option<&'static str> {
    let l = text.to_ascii_lowercase();
    [
        ("at-risk", "at_risk"),
        ("at risk", "at_risk"),
        ("at_risk", "at_risk"),
        ("onboarding", "onboarding"),
        ("churned", "churned"),
        ("prospect", "prospect"),
        ("active", "active"),
    ]
    .iter()
    .find(|(w, _)| l.contains(w))
    .map(|(_, s)| *s)
}

/// A severity word.
pub fn find_severity(text: &str) -> Option<&'static str> {
    let l = text.to_ascii_lowercase();
    ["critical", "high", "medium", "low"]
        .into_iter()
        .find(|s| l.contains(s))
        .or_else(|| l.contains("urgent").then_some("high"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            customers: vec![
                KnownCustomer {
                    id: "1".into(),
                    name: "Acme Corp".into(),
                },
                KnownCustomer {
                    id: "2".into(),
                    name: "Acme Robotics Inc".into(),
                },
            ],
            session_customer: None,
            // Wednesday 2026-11-25 15:00 UTC = 10:00 in New York.
            now: Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap(),
            time_zone: chrono_tz::America::New_York,
        }
    }

    #[test]
    fn customers_by_longest_name() {
        let c = ctx();
        assert_eq!(
            find_customer("how is acme robotics doing?", &c).unwrap().id,
            "2"
        );
        assert_eq!(find_customer("Acme's health", &c).unwrap().id, "1");
        assert!(find_customer("how is globex doing", &c).is_none());
    }

    #[test]
    fn dates_and_times_in_the_users_zone() {
        let c = ctx();
        let at = |s: &str| find_datetime(s, &c).unwrap().to_rfc3339();
        // Next Tuesday is 2026-12-01; 2pm in New York is 19:00 UTC.
        assert_eq!(at("next Tuesday at 2pm"), "2026-12-01T19:00:00+00:00");
        assert_eq!(at("tomorrow at 9:30 am"), "2026-11-26T14:30:00+00:00");
        assert_eq!(at("on Dec 3 at 15:00"), "2026-12-03T20:00:00+00:00");
        assert_eq!(at("at 4pm"), "2026-11-25T21:00:00+00:00");
        assert_eq!(at("in 2 weeks"), "2026-12-09T15:00:00+00:00");
    }

    #[test]
    fn numbers_in_requests() {
        assert_eq!(find_window_days("renewing in the next 60 days"), Some(60));
        assert_eq!(find_window_days("within 3 months"), Some(90));
        assert_eq!(find_health_max("health under 60"), Some(60));
        assert_eq!(find_amount("ARR over $50k"), Some(50_000.0));
        assert_eq!(find_duration_minutes("for 45 minutes"), Some(45));
        assert_eq!(find_duration_minutes("an hour"), Some(60));
        assert_eq!(find_stage("move them to at-risk"), Some("at_risk"));
    }
}
