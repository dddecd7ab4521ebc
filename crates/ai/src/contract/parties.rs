//! The parties: from the preamble ("by and between ACME, INC., a Delaware corporation
//! ("Vendor"), and ...") or from labelled fields of an order form ("Customer: Beta LLC").

use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

use super::clauses::floor;
use super::{collapse_ws, Fact, Party, Source};

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid party regex")
}

const CUSTOMER_TERMS: &[&str] = &[
    "customer",
    "client",
    "licensee",
    "subscriber",
    "buyer",
    "purchaser",
    "recipient",
    "franchisee",
    "member",
];
const VENDOR_TERMS: &[&str] = &[
    "vendor",
    "provider",
    "service provider",
    "licensor",
    "supplier",
    "seller",
    "contractor",
    "consultant",
];

fn side_of(term: &str) -> &'static str {
    let t = term.to_ascii_lowercase();
    if CUSTOMER_TERMS.iter().any(|c| t == *c || t.ends_with(c)) {
        "customer"
    } else if VENDOR_TERMS.iter().any(|c| t == *c || t.ends_with(c)) {
        "vendor"
    } else {
        "other"
    }
}

/// Lower-case, without punctuation and corporate suffixes: "Acme, Inc." → "acme".
pub fn normalise_name(name: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "llc",
        "l l c",
        "ltd",
        "limited",
        "lp",
        "l p",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "s a",
        "nv",
        "bv",
        "co",
        "company",
        "pte",
        "pty",
        "the",
    ];
    let cleaned: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '&' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    if words.first() == Some(&"the") {
        words.remove(0);
    }
    loop {
        let n = words.len();
        if n > 1 && SUFFIXES.contains(&words[n - 1]) {
            words.pop();
        } else if n > 2 && SUFFIXES.contains(&format!("{} {}", words[n - 2], words[n - 1]).as_str())
        {
            words.truncate(n - 2);
        } else {
            break;
        }
    }
    words.join(" ")
}

static DEFINED_TERM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"\(\s*(?i:(?:each\s+|individually\s+|collectively\s+)?(?:hereinafter\s+|herein\s+|together\s+with\s+its\s+affiliates,?\s+)?(?:(?:referred\s+to|called|known|defined)\s+(?:herein\s+|hereinafter\s+)?as\s+)?(?:the\s+|a\s+|an\s+)?)["“”']{1,2}(?P<term>[^"“”'()]{1,40})["“”']{1,2}"#,
    )
});

static NAME_END: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:,\s*(?:an?|the)\s|\s+an?\s+(?:[A-Z][\w.]*\s+){0,3}(?i:corporation|company|limited|partnership|bank|association|entity|organization|organisation|trust|individual|national|state|private|public|Delaware|Nevada|California|New\s+York)|,\s*(?i:having|with|whose|located|incorporated|organized|organised|residing|its|acting|on\s+behalf|formerly|doing|through|represented|by\s+its)|\s+(?i:having|with\s+(?:its|a)|whose|located|incorporated\s+under|organized\s+under|residing)\b|\(|\s{4,}|\n\s*\n)",
    )
});

static BOUNDARY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:by\s+and\s+between|by\s+and\s+among|between|among|and)\b|;|\)\s*,?")
});

static PREAMBLE_END: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)\b(?:WHEREAS|RECITALS|(?i:background)|W\s*I\s*T\s*N\s*E\s*S\s*S\s*E\s*T\s*H|NOW,?\s+THEREFORE|IN\s+WITNESS)\b|^\s*(?:1\.|ARTICLE\s+(?:1|I)\b|Section\s+1\b)",
    )
});

static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^[ \t#*|]*(?P<label>customer|client|licensee|subscriber|buyer|purchaser|vendor|provider|supplier|licensor|seller|service\s+provider)(?:\s+(?:legal\s+)?name)?[ \t*]*[:|\t][ \t*]*(?P<name>[^\n\t|]{2,100})",
    )
});

static ORG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:[A-Z][\w&'.\-]*,?\s+){0,6}?[A-Z][\w&'.\-]*,?\s+(?:Inc|Incorporated|Corp|Corporation|LLC|L\.L\.C|Ltd|Limited|LP|L\.P|LLP|GmbH|AG|S\.A|plc|PLC|Co|Company|N\.V|B\.V|Pty|Bancorp|INC|CORP|CORPORATION|LTD|LIMITED|COMPANY)\b\.?",
    )
});

pub(super) fn find(src: &Source, vendor_name: Option<&str>) -> Vec<Fact<Party>> {
    let text = src.text;
    let head_end = floor(text, 6000);
    let head = &text[..head_end];
    let mut found: Vec<(Party, Range<usize>, f32)> = Vec::new();

    // Order forms: "Customer: Beta LLC".
    for c in LABELLED.captures_iter(&head[..floor(head, 3000)]) {
        let name_m = c.name("name").expect("group");
        let raw = name_m.as_str();
        let cut = raw.find("  ").unwrap_or(raw.len());
        let name = clean_name(&raw[..cut]);
        if !plausible_name(&name) {
            continue;
        }
        let label = collapse_ws(&c["label"]);
        let start = name_m.start() + (raw.len() - raw.trim_start().len());
        found.push((
            Party {
                name,
                defined_as: Some(title(&label)),
                side: side_of(&label).to_string(),
            },
            start..name_m.start() + cut,
            0.8,
        ));
    }

    // Contract preambles.
    static BETWEEN: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:between|among)\b"));
    // Letters and some agreements name the parties without "between": start shortly before the
    // first defined term instead.
    let start = BETWEEN.find(head).map(|m| m.start()).or_else(|| {
        DEFINED_TERM
            .find(head)
            .map(|m| floor(text, m.start().saturating_sub(400)))
    });
    if let Some(start) = start {
        let end = PREAMBLE_END
            .find_at(head, start)
            .map_or(head_end, |m| m.start())
            .min(floor(text, start + 3000));
        preamble_parties(src, start, end, &mut found);
    }

    let mut parties: Vec<Fact<Party>> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (party, range, confidence) in found {
        let key = normalise_name(&party.name);
        if key.is_empty() {
            continue;
        }
        if let Some(i) = seen.iter().position(|k| *k == key) {
            // Keep the richer record: a defined term or a side beats none.
            let existing = &mut parties[i].value;
            if existing.defined_as.is_none() {
                existing.defined_as = party.defined_as;
            }
            if existing.side == "other" {
                existing.side = party.side;
            }
            continue;
        }
        seen.push(key);
        parties.push(src.fact(party, confidence, range));
        if parties.len() >= 6 {
            break;
        }
    }
    assign_sides(&mut parties, vendor_name);
    parties
}

fn preamble_parties(
    src: &Source,
    start: usize,
    end: usize,
    out: &mut Vec<(Party, Range<usize>, f32)>,
) {
    let text = src.text;
    let region = &text[start..end];
    let mut last_boundary = 0;
    let mut named_any = false;
    for c in DEFINED_TERM.captures_iter(region) {
        let paren = c.get(0).expect("match");
        let term = collapse_ws(&c["term"]);
        // The name precedes the parenthesis, after the last "between", "and", ";" or ")".
        let seg_start = BOUNDARY
            .find_iter(&region[last_boundary..paren.start()])
            .filter(|b| !inside_name(&region[last_boundary..paren.start()], b.start()))
            .last()
            .map_or(last_boundary, |b| last_boundary + b.end());
        let segment = &region[seg_start..paren.start()];
        last_boundary = paren.end();
        let lower_term = term.to_ascii_lowercase();
        if matches!(
            lower_term.as_str(),
            "party" | "parties" | "agreement" | "effective date" | "affiliate" | "affiliates"
        ) || lower_term.contains("agreement")
        {
            continue;
        }
        let lead = segment.len() - segment.trim_start().len();
        let mut body = &segment[lead..];
        // "professional golfer, TOM WATSON": descriptive words before the name.
        if let Some(comma) = body.find(", ") {
            let before = &body[..comma];
            if before
                .split_whitespace()
                .all(|w| w.chars().next().is_some_and(char::is_lowercase))
            {
                body = &body[comma + 2..];
            }
        }
        let lead = segment.len() - body.len();
        let name_end = NAME_END.find(body).map_or(body.len(), |m| m.start());
        let name = clean_name(&body[..name_end]);
        if !plausible_name(&name) {
            continue;
        }
        let abs = start + seg_start + lead;
        named_any = true;
        out.push((
            Party {
                name,
                side: side_of(&term).to_string(),
                defined_as: Some(term),
            },
            abs..abs + name_end,
            0.85,
        ));
        if out.len() >= 6 {
            return;
        }
    }
    if !named_any {
        // "between Acme Corp. and Beta LLC": organisations by their corporate suffix.
        for m in ORG.find_iter(&region[..floor(region, 1200)]) {
            let name = clean_name(m.as_str());
            if plausible_name(&name) {
                out.push((
                    Party {
                        name,
                        defined_as: None,
                        side: "other".into(),
                    },
                    start + m.start()..start + m.end(),
                    0.6,
                ));
            }
        }
    }
}

/// "and" inside "Smith and Jones LLP" or "AT&T and ..." should not split a name: a boundary word
/// right after a capitalised word and before another capitalised word of the same name is kept
/// only when a comma or "a/an" descriptor does not follow. We keep it simple: "and" followed by a
/// capitalised word and then a corporate suffix within three words is part of the name.
fn inside_name(segment: &str, at: usize) -> bool {
    let rest = &segment[at..];
    if !rest.to_ascii_lowercase().starts_with("and ") {
        return false;
    }
    let after: Vec<&str> = rest[4..].split_whitespace().take(4).collect();
    let before_word = segment[..at].split_whitespace().last().unwrap_or("");
    let cap = |w: &&str| w.chars().next().is_some_and(|c| c.is_uppercase());
    cap(&before_word)
        && !before_word.ends_with(',')
        && !before_word.ends_with(')')
        && after.first().is_some_and(cap)
        && after.iter().skip(1).any(|w| {
            let w = w.trim_end_matches([',', '.']).to_ascii_lowercase();
            matches!(
                w.as_str(),
                "llp" | "llc" | "inc" | "ltd" | "corp" | "company" | "co" | "associates"
            )
        })
}

fn clean_name(raw: &str) -> String {
    let s = collapse_ws(raw);
    let s = s
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '[')
        .trim_end_matches([',', ';', ':', ' ', '-', '–', '"', '“', '”'])
        .trim();
    let s = s
        .strip_prefix("and ")
        .or_else(|| s.strip_prefix("AND "))
        .unwrap_or(s);
    s.to_string()
}

fn plausible_name(name: &str) -> bool {
    let words = name.split_whitespace().count();
    let starts_upper = name
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || c == '[');
    let lower = name.to_ascii_lowercase();
    // Names are capitalised; a few joining words may be lower case, prose is not.
    const JOINERS: &[&str] = &[
        "of", "and", "de", "du", "la", "le", "the", "for", "in", "y", "et", "von", "van", "der",
        "des", "&", "d/b/a", "dba", "a.k.a",
    ];
    let lowercase_words = name
        .split_whitespace()
        .filter(|w| w.chars().next().is_some_and(char::is_lowercase))
        .filter(|w| !JOINERS.contains(&w.trim_end_matches([',', '.'])))
        .count();
    lowercase_words == 0
        && starts_upper
        && (1..=14).contains(&words)
        && name.len() <= 120
        && !lower.starts_with("this ")
        && !lower.starts_with("the parties")
        && !matches!(lower.as_str(), "each" | "between" | "the")
}

fn title(label: &str) -> String {
    let mut c = label.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(|c| c.to_lowercase()))
            .collect(),
        None => String::new(),
    }
}

/// With our own name configured, we are the vendor and the other named party is the customer.
fn assign_sides(parties: &mut [Fact<Party>], vendor_name: Option<&str>) {
    let Some(vendor) = vendor_name.map(normalise_name).filter(|v| !v.is_empty()) else {
        return;
    };
    let is_us = |p: &Party| {
        let n = normalise_name(&p.name);
        n == vendor || n.contains(&vendor) || (n.len() >= 3 && vendor.contains(&n))
    };
    if !parties.iter().any(|p| is_us(&p.value)) {
        return;
    }
    for p in parties.iter_mut() {
        p.value.side = if is_us(&p.value) {
            "vendor".into()
        } else {
            "customer".into()
        };
    }
}

/// The customer's name: the party on the customer side, when exactly one is.
pub(super) fn customer_name(parties: &[Fact<Party>]) -> Option<Fact<String>> {
    let mut customers = parties.iter().filter(|p| p.value.side == "customer");
    let first = customers.next()?;
    if customers.next().is_some() {
        return None;
    }
    Some(Fact {
        value: first.value.name.clone(),
        confidence: first.confidence,
        evidence: first.evidence.clone(),
    })
}
