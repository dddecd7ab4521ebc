//! Stakeholders: labelled contacts ("Primary Contact: Jane Doe, VP Operations, jane@beta.com"),
//! signature blocks ("Name: ... Title: ...") and people named next to an e-mail address.

use regex::Regex;
use std::sync::LazyLock;

use super::parties::normalise_name;
use super::{collapse_ws, Fact, Party, Person, Source};

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid people regex")
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"));
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\+\d{1,3}[\s.\-]?)?\(?\d{2,4}\)?[\s.\-]\d{3,4}[\s.\-]\d{3,4}\b"));
static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^[ \t*|#-]*(?P<label>(?:(?:customer|client|vendor|provider|supplier|primary|billing|technical|executive|system|main|account|business|project|implementation|legal|security|notices?)\s+){0,2}(?:contact|administrator|admin|sponsor|champion|owner|signatory|attention|attn|manager))\s*(?:name)?\s*[:|\t]\s*(?P<rest>[^\n]{3,200})$",
    )
});
static SIG_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?im)^[ \t|]*(?:Name|Printed\s+Name|Print\s+Name)\s*:\s*(?P<name>[^\n\t|]{3,60})")
});
static SIG_TITLE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?im)^[ \t|]*(?:Title|Position)\s*:\s*(?P<title>[^\n\t|]{2,80})"));

fn looks_like_person(name: &str) -> bool {
    let words: Vec<&str> = name.split_whitespace().collect();
    if !(2..=4).contains(&words.len()) {
        return false;
    }
    const NOT_PERSON: &[&str] = &[
        "inc",
        "llc",
        "ltd",
        "corp",
        "corporation",
        "company",
        "agreement",
        "customer",
        "vendor",
        "provider",
        "services",
        "the",
        "date",
        "title",
        "name",
        "by",
        "its",
        "president",
        "officer",
        "director",
        "manager",
        "contact",
        "support",
        "team",
        "department",
        "email",
    ];
    words.iter().all(|w| {
        let bare = w.trim_end_matches([',', '.']);
        bare.chars().next().is_some_and(char::is_uppercase)
            && bare
                .chars()
                .all(|c| c.is_alphabetic() || matches!(c, '.' | '\'' | '-'))
            && !NOT_PERSON.contains(&bare.to_ascii_lowercase().as_str())
    })
}

/// Split "Jane Doe, VP Operations, jane@x.com, +1 555 010 2000" into its parts.
/// A contact's name, title, e-mail and phone.
type ContactParts = (String, Option<String>, Option<String>, Option<String>);

fn parse_contact(rest: &str) -> Option<ContactParts> {
    let email = EMAIL.find(rest).map(|m| m.as_str().to_string());
    let phone = PHONE.find(rest).map(|m| m.as_str().trim().to_string());
    let mut stripped = rest.to_string();
    if let Some(e) = &email {
        stripped = stripped.replace(e.as_str(), ",");
    }
    if let Some(p) = &phone {
        stripped = stripped.replace(p.as_str(), ",");
    }
    let parts: Vec<String> = stripped
        .split([',', '(', ')', ';', '|', '\t', '–', '—', ':'])
        .flat_map(|p| p.split(" - "))
        .map(|p| {
            collapse_ws(p)
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .filter(|p| {
            !p.is_empty()
                && !p.eq_ignore_ascii_case("email")
                && !p.eq_ignore_ascii_case("phone")
                && !p.eq_ignore_ascii_case("tel")
        })
        .collect();
    let name_at = parts.iter().position(|p| looks_like_person(p))?;
    let name = parts[name_at].clone();
    let title = parts
        .iter()
        .skip(name_at + 1)
        .find(|p| p.chars().any(char::is_alphabetic) && p.len() <= 80)
        .cloned();
    Some((name, title, email, phone))
}

fn side_from_label(label: &str, parties: &[Fact<Party>]) -> (Option<String>, String) {
    let l = label.to_ascii_lowercase();
    let side = if l.starts_with("customer") || l.starts_with("client") {
        "customer"
    } else if l.starts_with("vendor") || l.starts_with("provider") || l.starts_with("supplier") {
        "vendor"
    } else {
        return (None, "unknown".into());
    };
    let party = parties
        .iter()
        .find(|p| p.value.side == side)
        .map(|p| p.value.name.clone());
    (party, side.into())
}

/// The party whose name (or defined term) appears in the few lines above a signature block.
fn party_above(text: &str, pos: usize, parties: &[Fact<Party>]) -> Option<(String, String)> {
    let lo = super::clauses::floor(text, pos.saturating_sub(400));
    let above = text[lo..pos].to_lowercase();
    let mut hits: Vec<(usize, &Fact<Party>)> = parties
        .iter()
        .filter_map(|p| {
            let name = normalise_name(&p.value.name);
            let at_name = (!name.is_empty()).then(|| above.rfind(&name)).flatten();
            let at_term = p
                .value
                .defined_as
                .as_ref()
                .and_then(|t| above.rfind(&t.to_lowercase()));
            let at = at_name.max(at_term)?;
            Some((at, p))
        })
        .collect();
    hits.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    match hits.as_slice() {
        [] => None,
        // Both parties' names on one line (side-by-side signature columns): we cannot tell.
        [(a, _), (b, _), ..] if !above[*b..*a].contains('\n') => None,
        [(_, p), ..] => Some((p.value.name.clone(), p.value.side.clone())),
    }
}

pub(super) fn find(src: &Source, parties: &[Fact<Party>]) -> Vec<Fact<Person>> {
    let text = src.text;
    let mut out: Vec<Fact<Person>> = Vec::new();
    let mut push = |person: Person, range: std::ops::Range<usize>, confidence: f32| {
        let key = normalise_name(&person.name);
        if let Some(existing) = out
            .iter_mut()
            .find(|p| normalise_name(&p.value.name) == key)
        {
            let e = &mut existing.value;
            e.title = e.title.take().or(person.title);
            e.email = e.email.take().or(person.email);
            e.phone = e.phone.take().or(person.phone);
            if e.side == "unknown" {
                e.side = person.side;
                e.party = e.party.take().or(person.party);
            }
            return;
        }
        if out.len() < 25 {
            out.push(src.fact(person, confidence, range));
        }
    };

    for c in CONTACT.captures_iter(text) {
        let rest = c.name("rest").expect("group");
        let Some((name, title, email, phone)) = parse_contact(rest.as_str()) else {
            continue;
        };
        let label = collapse_ws(&c["label"]);
        let (mut party, mut side) = side_from_label(&label, parties);
        if side == "unknown" {
            if let Some((p, s)) = party_above(text, c.get(0).expect("m").start(), parties) {
                party = Some(p);
                side = s;
            }
        }
        let role = title.or_else(|| Some(label.clone()));
        push(
            Person {
                name,
                title: role,
                email,
                phone,
                party,
                side,
            },
            c.get(0).expect("m").range(),
            0.8,
        );
    }

    for c in SIG_NAME.captures_iter(text) {
        let m = c.name("name").expect("group");
        let name = collapse_ws(m.as_str().trim_start_matches("/s/"));
        if !looks_like_person(&name) {
            continue;
        }
        let after_end = super::clauses::floor(text, m.end() + 200);
        let title = SIG_TITLE
            .captures(&text[m.end()..after_end])
            .map(|t| collapse_ws(&t["title"]))
            .filter(|t| !t.chars().all(|c| c == '_' || c == ' '));
        let (party, side) = party_above(text, m.start(), parties)
            .map(|(p, s)| (Some(p), s))
            .unwrap_or((None, "unknown".into()));
        push(
            Person {
                name,
                title,
                email: None,
                phone: None,
                party,
                side,
            },
            m.range(),
            0.7,
        );
    }

    // Anyone else named on the same line as an e-mail address.
    for m in EMAIL.find_iter(text) {
        let line_start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[m.end()..]
            .find('\n')
            .map_or(text.len(), |i| m.end() + i);
        let line = &text[line_start..line_end];
        if CONTACT.is_match(line) {
            continue;
        }
        // A wrapped line (PDF text) may carry the name on the line before the address.
        let prev_start = text[..line_start.saturating_sub(1)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let with_prev = &text[prev_start..line_end];
        let (line_start, parsed) = match parse_contact(line) {
            Some(p) => (line_start, Some(p)),
            None if line_start > 0 && !CONTACT.is_match(with_prev) => {
                (prev_start, parse_contact(&with_prev.replace('\n', " ")))
            }
            None => (line_start, None),
        };
        let Some((name, title, email, phone)) = parsed else {
            continue;
        };
        let (party, side) = party_above(text, line_start, parties)
            .map(|(p, s)| (Some(p), s))
            .unwrap_or((None, "unknown".into()));
        push(
            Person {
                name,
                title,
                email,
                phone,
                party,
                side,
            },
            line_start..line_end,
            0.6,
        );
    }
    out
}
