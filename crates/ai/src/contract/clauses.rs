//! Title, dates, term, renewal, notice, governing law and technical requirements.

use chrono::NaiveDate;
use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

use super::when::{find_dates, find_spans, FoundSpan, Span, Unit};
use super::{collapse_ws, Fact, Renewal, Source, TechnicalRequirements};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid clause regex")
}

/// The largest char boundary at or below `i`.
pub(crate) fn floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The sentence (or list item) around byte `pos`: bounded by ". ", a blank line, or 700 bytes.
pub(crate) fn sentence_at(text: &str, pos: usize) -> Range<usize> {
    const REACH: usize = 700;
    let lo = floor(text, pos.saturating_sub(REACH));
    let hi = floor(text, pos + REACH);
    let before = &text[lo..pos];
    let start = sentence_break_before(before).map_or(lo, |i| lo + i);
    let after = &text[pos..hi];
    let end = sentence_break_after(after).map_or(hi, |i| pos + i);
    start..end
}

fn is_abbreviation(word: &str) -> bool {
    let w = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    matches!(
        w.to_ascii_lowercase().as_str(),
        "inc"
            | "corp"
            | "co"
            | "ltd"
            | "no"
            | "nos"
            | "sec"
            | "u.s"
            | "mr"
            | "ms"
            | "mrs"
            | "dr"
            | "st"
            | "jr"
            | "sr"
            | "l.p"
            | "l.l.c"
            | "n.a"
            | "s.a"
            | "e.g"
            | "i.e"
            | "etc"
            | "vs"
            | "art"
            | "para"
            | "approx"
    ) || w.len() == 1
}

fn sentence_break_before(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = b.len();
    while i > 1 {
        i -= 1;
        if b[i] == b'\n' && b[i - 1] == b'\n' {
            return Some(i + 1);
        }
        if b[i].is_ascii_whitespace() && b[i - 1] == b'.' {
            let word_start = s[..i - 1]
                .rfind(|c: char| c.is_whitespace())
                .map_or(0, |w| w + 1);
            if !is_abbreviation(&s[word_start..i - 1]) {
                return Some(i + 1);
            }
        }
    }
    None
}

fn sentence_break_after(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'\n' && b[i + 1] == b'\n' {
            return Some(i);
        }
        if b[i] == b'.' && b[i + 1].is_ascii_whitespace() {
            let word_start = s[..i]
                .rfind(|c: char| c.is_whitespace())
                .map_or(0, |w| w + 1);
            if !is_abbreviation(&s[word_start..i]) {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The document's title: an early short line naming an agreement, order form or amendment.
pub(super) fn title(src: &Source) -> Option<Fact<String>> {
    static TITLE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(agreement|order\s+form|contract|amendment|addendum|statement\s+of\s+work|order\s+schedule|subscription)\b",
        )
    });
    let head = &src.text[..floor(src.text, 1500)];
    let mut offset = 0;
    for line in head.split_inclusive('\n') {
        let trimmed = line.trim();
        let words = trimmed.split_whitespace().count();
        if (1..=12).contains(&words)
            && TITLE.is_match(trimmed)
            && !trimmed.ends_with(',')
            && !trimmed.to_ascii_lowercase().starts_with("this ")
        {
            let start = offset + (line.len() - line.trim_start().len());
            let title = collapse_ws(trimmed.trim_start_matches('#').trim());
            return Some(src.fact(title, 0.7, start..start + trimmed.len()));
        }
        offset += line.len();
    }
    None
}

pub(super) struct Dates {
    pub agreement_date: Option<Fact<NaiveDate>>,
    pub effective_date: Option<Fact<NaiveDate>>,
    pub start_date: Option<Fact<NaiveDate>>,
    pub end_date: Option<Fact<NaiveDate>>,
    pub initial_term: Option<Span>,
    pub initial_term_fact: Option<Fact<Span>>,
    pub renewal: Option<Fact<Renewal>>,
    pub notice_period: Option<Fact<Span>>,
}

pub(super) fn dates(src: &Source) -> Dates {
    let text = src.text;
    let all_dates = find_dates(text);
    let agreement_date = agreement_date(src, &all_dates);
    let effective_date = effective_date(src, &all_dates, agreement_date.as_ref());
    let start_date = effective_date.clone().or_else(|| agreement_date.clone());
    let initial_term_fact = initial_term(src);
    let initial_term = initial_term_fact.as_ref().map(|f| f.value);
    let end_date = explicit_end_date(src, &all_dates).or_else(|| {
        let term = initial_term_fact.as_ref()?;
        // "the term shall commence on April 1, 1999 and continue for six months": the term
        // runs from the date it names, which need not be the agreement's date.
        let start = term_commencement(src, term, &all_dates).or_else(|| start_date.clone())?;
        let end = term.value.add_to(start.value)?;
        let mut evidence = start.evidence.clone();
        evidence.extend(term.evidence.iter().cloned());
        Some(Fact {
            value: end,
            confidence: 0.6,
            evidence,
        })
    });
    let (renewal, renewal_at) = match renewal(src) {
        Some((f, at)) => (Some(f), Some(at)),
        None => (None, None),
    };
    let notice_period = notice_period(src, renewal_at);
    Dates {
        agreement_date,
        effective_date,
        start_date,
        end_date,
        initial_term,
        initial_term_fact,
        renewal,
        notice_period,
    }
}

/// The date the agreement is dated: the first date in the preamble after "dated", "made",
/// "entered into" or "as of"; otherwise the first date on the first page.
fn agreement_date(src: &Source, dates: &[super::when::FoundDate]) -> Option<Fact<NaiveDate>> {
    static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)\b(dated|made|entered\s+into|executed|effective|as\s+of|is\s+made\s+on|this)\b")
    });
    let preamble_end = floor(src.text, 5000);
    let preamble = &src.text[..preamble_end];
    for anchor in ANCHOR.find_iter(preamble) {
        if let Some(d) = dates
            .iter()
            .find(|d| d.range.start >= anchor.end() && d.range.start <= anchor.end() + 80)
        {
            return Some(src.fact(d.date, 0.85, d.range.clone()));
        }
    }
    dates
        .iter()
        .find(|d| d.range.start < floor(src.text, 2500))
        .map(|d| src.fact(d.date, 0.5, d.range.clone()))
}

fn effective_date(
    src: &Source,
    dates: &[super::when::FoundDate],
    agreement: Option<&Fact<NaiveDate>>,
) -> Option<Fact<NaiveDate>> {
    static DEFINED: LazyLock<Regex> =
        LazyLock::new(|| re(r#"(?i)["“”']\s*Effective\s+Date\s*["“”']"#));
    static MEANS: LazyLock<Regex> = LazyLock::new(|| {
        re(r#"(?i)\bEffective\s+Date["“”']?\s*(?:means|shall\s+mean|shall\s+be|is|will\s+be)\b"#)
    });
    static EFFECTIVE_ON: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)\beffective\s+(?:as\s+of|on|from|commencing|beginning)\b"));
    static AS_ABOVE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\beffective\s+(?:as\s+of\s+|on\s+|from\s+)?(?:the\s+)?(?:date\s+(?:first\s+)?(?:written|set\s+forth|stated|shown|above)|date\s+(?:hereof|of\s+this\s+agreement)|(?:agreement|execution)\s+date)",
        )
    });
    let text = src.text;
    // `... March 1, 2025 (the "Effective Date")`: the last date shortly before the definition.
    for m in DEFINED.find_iter(text) {
        let lo = m.start().saturating_sub(250);
        if let Some(d) = dates
            .iter()
            .rev()
            .find(|d| d.range.start >= lo && d.range.end <= m.start())
        {
            return Some(src.fact(d.date, 0.9, d.range.clone()));
        }
    }
    for m in MEANS.find_iter(text) {
        if let Some(d) = dates
            .iter()
            .find(|d| d.range.start >= m.end() && d.range.start <= m.end() + 120)
        {
            return Some(src.fact(d.date, 0.9, d.range.clone()));
        }
    }
    for m in EFFECTIVE_ON.find_iter(text) {
        if let Some(d) = dates
            .iter()
            .find(|d| d.range.start >= m.end() && d.range.start <= m.end() + 40)
        {
            return Some(src.fact(d.date, 0.85, d.range.clone()));
        }
    }
    if let (Some(m), Some(agreed)) = (AS_ABOVE.find(text), agreement) {
        let mut fact = agreed.clone();
        fact.confidence = 0.7;
        fact.evidence.push(src.evidence(m.range()));
        return Some(fact);
    }
    None
}

static TERM_ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:initial\s+(?:subscription\s+)?term|subscription\s+term|term\s+of\s+(?:this|the)\s+(?:agreement|order)|(?:agreement|order)\s+shall\s+(?:continue|remain|be\s+in\s+effect)|shall\s+(?:continue|remain)\s+in\s+(?:full\s+)?(?:force|effect)|for\s+an?\s+(?:initial\s+)?(?:period|term)\s+of|the\s+term\s+(?:shall|will)\s+be|term\s*:)",
    )
});

/// The initial term: the first year- or month-long span after a term clause anchor.
fn initial_term(src: &Source) -> Option<Fact<Span>> {
    // Clauses about what happens after the term are not the term.
    static AFTER_TERM: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)surviv|after\s+(?:the\s+)?(?:termination|expiration)|following\s+(?:the\s+)?(?:termination|expiration)|during\s+the\s+term|post-termination|thereafter",
        )
    });
    let text = src.text;
    for anchor in TERM_ANCHOR.find_iter(text) {
        let sentence = sentence_at(text, anchor.start());
        if AFTER_TERM.is_match(
            &text[sentence.start
                ..floor(text, anchor.end() + 220).min(sentence.end.max(anchor.end()))],
        ) {
            continue;
        }
        let window_end = floor(text, anchor.end() + 220);
        let window = &text[anchor.end()..window_end];
        // Renewal language before the span means the span is a renewal term, not this one.
        let cut = window
            .to_ascii_lowercase()
            .find("renew")
            .unwrap_or(window.len());
        let found = find_spans(&window[..cut])
            .into_iter()
            .find(|s| matches!(s.span.unit, Unit::Months | Unit::Years) && s.span.count <= 600);
        if let Some(s) = found {
            let range = anchor.start()..anchor.end() + s.range.end;
            return Some(src.fact(s.span, 0.75, range));
        }
    }
    None
}

/// A date in the term's own sentence that the term starts from ("commencing on …").
fn term_commencement(
    src: &Source,
    term: &Fact<Span>,
    dates: &[super::when::FoundDate],
) -> Option<Fact<NaiveDate>> {
    static STARTS: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)\b(?:commenc\w*|begin\w*|start\w*)\s+(?:on|upon|as\s+of|from)?\s*(?:the\s+)?$")
    });
    let text = src.text;
    // Evidence offsets count characters; the sentence search needs the byte position.
    let start_char = term.evidence.first()?.start;
    let at = text.char_indices().nth(start_char).map(|(b, _)| b)?;
    let sentence = sentence_at(text, at);
    dates
        .iter()
        .filter(|d| d.range.start >= sentence.start && d.range.end <= sentence.end)
        .find(|d| {
            STARTS.is_match(&text[floor(text, d.range.start.saturating_sub(40))..d.range.start])
        })
        .map(|d| src.fact(d.date, 0.75, d.range.clone()))
}

/// An end date the contract states: "shall terminate on December 31, 2020", "until ...",
/// "expiration date: ...".
fn explicit_end_date(src: &Source, dates: &[super::when::FoundDate]) -> Option<Fact<NaiveDate>> {
    static ENDS: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)(?:\bexpir\w*|\bterminat\w*|\bend(?:s|ing)?\b|\buntil\b|\bthrough\b|\bend\s+date\b)\s*(?:on|at|upon|:)?\s*(?:the\s+)?(?:close\s+of\s+business\s+on\s+|midnight\s+on\s+)?$",
        )
    });
    static CONTEXT: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)\b(term|agreement|order|subscription)\b"));
    let text = src.text;
    for d in dates {
        let lo = floor(text, d.range.start.saturating_sub(60));
        let before = &text[lo..d.range.start];
        if !ENDS.is_match(before) {
            continue;
        }
        let sentence = sentence_at(text, d.range.start);
        let s = &text[sentence.clone()];
        let after = text[d.range.end..floor(text, d.range.end + 40)].to_ascii_lowercase();
        if CONTEXT.is_match(s)
            && !after.contains("effective")
            && !before.to_ascii_lowercase().contains("dated")
        {
            return Some(src.fact(d.date, 0.8, d.range.clone()));
        }
    }
    None
}

static RENEW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:automatic(?:ally)?\s+(?:be\s+)?(?:renew|extend)|auto[\s-]?renew|renew(?:s|ed)?\s+automatically|(?:shall|will)\s+(?:thereafter\s+)?(?:be\s+)?renew|(?:successive|additional|subsequent)\s+(?:renewal\s+)?(?:terms?|periods?)|renewal\s+(?:terms?|periods?)\s+of|year[\s-]to[\s-]year|month[\s-]to[\s-]month|may\s+be\s+(?:renewed|extended)|option\s+to\s+(?:renew|extend)|extended\s+automatically)",
    )
});

/// Renewal: whether it renews by itself, and for how long each time.
fn renewal(src: &Source) -> Option<(Fact<Renewal>, usize)> {
    static MANUAL: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(may\s+be\s+(?:renewed|extended)|option\s+to\s+(?:renew|extend)|mutual(?:ly)?\s+(?:written\s+)?agree|upon\s+(?:the\s+)?(?:mutual\s+)?(?:written\s+)?agreement)",
        )
    });
    static AUTO: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(automatic|auto[\s-]?renew|successive|year[\s-]to[\s-]year|month[\s-]to[\s-]month|unless\s+(?:either|one|a)\s+party|(?:shall|will)\s+(?:thereafter\s+)?(?:be\s+)?renew|renews?\b)",
        )
    });
    let text = src.text;
    let m = RENEW.find(text)?;
    let sentence = sentence_at(text, m.start());
    let s = &text[sentence.clone()];
    let auto = AUTO.is_match(s) && !MANUAL.is_match(s);
    let rel = m.start() - sentence.start;
    let spans = find_spans(s);
    let pick = |ss: &[FoundSpan]| {
        ss.iter()
            .find(|f| f.range.end > rel && matches!(f.span.unit, Unit::Months | Unit::Years))
            .or_else(|| {
                ss.iter()
                    .find(|f| matches!(f.span.unit, Unit::Months | Unit::Years))
            })
            .map(|f| f.span)
    };
    let term = pick(&spans);
    Some((
        src.fact(
            Renewal {
                auto_renew: auto,
                renewal_term: term,
            },
            if term.is_some() { 0.8 } else { 0.6 },
            sentence,
        ),
        m.start(),
    ))
}

/// Notice to stop a renewal: a day or month span followed or preceded by "notice", in the
/// renewal sentence or the next one; else in any sentence about non-renewal.
fn notice_period(src: &Source, renewal_at: Option<usize>) -> Option<Fact<Span>> {
    static NON_RENEWAL: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(non-?renewal|not\s+to\s+renew|intention\s+not\s+to|elect\s+not\s+to\s+(?:renew|extend)|renew|expiration\s+of\s+the\s+(?:then[\s-]+)?(?:current|initial|applicable)\s+(?:term|period))",
        )
    });
    let text = src.text;
    let mut regions = Vec::new();
    if let Some(at) = renewal_at {
        let first = sentence_at(text, at);
        let second_start = (first.end + 1).min(text.len());
        let second = sentence_at(text, floor(text, second_start));
        regions.push(first.start..second.end.max(first.end));
    }
    for m in NON_RENEWAL.find_iter(text) {
        regions.push(sentence_at(text, m.start()));
        if regions.len() > 40 {
            break;
        }
    }
    for region in regions {
        let s = &text[region.clone()];
        let lower = s.to_ascii_lowercase();
        if !lower.contains("notice") && !lower.contains("notif") {
            continue;
        }
        for f in find_spans(s) {
            if !matches!(f.span.unit, Unit::Days | Unit::Months | Unit::Weeks)
                || f.span.days() > 400
            {
                continue;
            }
            let after = &lower[f.range.end..floor(s, f.range.end + 90)];
            // "twelve (12) month renewal terms unless ... notice": that span is the term.
            let next_words = after
                .trim_start()
                .trim_start_matches("renewal ")
                .trim_start();
            if next_words.starts_with("term") || next_words.starts_with("period") {
                continue;
            }
            let before = &lower[floor(s, f.range.start.saturating_sub(40))..f.range.start];
            let notice_after = after.contains("notice")
                || after.contains("prior to")
                || after.contains("before")
                || after.contains("in advance");
            let notice_before = before.contains("notice") || before.contains("notify");
            if notice_after || notice_before {
                let range = region.start + f.range.start..region.start + f.range.end;
                let mut fact = src.fact(f.span, 0.75, range);
                fact.evidence.push(src.evidence(region.clone()));
                return Some(fact);
            }
        }
    }
    None
}

/// Governing law: the jurisdiction whose laws govern, "New York", "Delaware", "England and Wales".
pub(super) fn governing_law(src: &Source) -> Option<Fact<String>> {
    static LAW: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?:(?i:governed|construed|interpreted|enforced|governing\s+law|construction)[^.]{0,250}?(?i:laws?)\s+(?i:of|in)\s+|(?i:governed\s+by)\s+(?i:the\s+)?(?i:internal\s+|substantive\s+)?)(?i:the\s+)?(?i:(?:state|commonwealth|province|republic|kingdom|federal\s+republic|people's\s+republic)\s+of\s+)?(?P<j>[A-Z][A-Za-z.]+(?:[ \t\n]+(?:of[ \t\n]+|and[ \t\n]+)?[A-Z][A-Za-z.]+){0,4})",
        )
    });
    const STOP: &[&str] = &[
        "without",
        "applicable",
        "excluding",
        "except",
        "as",
        "in",
        "and",
        "to",
        "which",
        "that",
        "the",
        "regardless",
        "notwithstanding",
        "including",
        "governing",
        "with",
        "for",
    ];
    const NOT_PLACES: &[&str] = &["This", "Agreement", "Such", "Any", "Each", "Laws", "Law"];
    let text = src.text;
    for c in LAW.captures_iter(text) {
        let j = c.name("j")?;
        let mut words: Vec<&str> = Vec::new();
        for w in j.as_str().split_whitespace() {
            let bare = w.trim_end_matches(['.', ',']);
            let lower = bare.to_ascii_lowercase();
            // "England and Wales" and "District of Columbia" keep their joining word.
            let joins = (lower == "and" && words.first() == Some(&"England"))
                || (lower == "of" && !words.is_empty());
            if STOP.contains(&lower.as_str()) && !joins {
                break;
            }
            if bare.eq_ignore_ascii_case("law") || bare.eq_ignore_ascii_case("laws") {
                break;
            }
            words.push(bare);
            if w.ends_with(['.', ',']) && !matches!(bare, "U.S" | "U.K" | "D.C" | "St") {
                break;
            }
        }
        while words
            .last()
            .is_some_and(|w| w.eq_ignore_ascii_case("of") || w.eq_ignore_ascii_case("and"))
        {
            words.pop();
        }
        const NOT_JURISDICTION: &[&str] = &[
            "Agreement",
            "Order",
            "Terms",
            "Contract",
            "Schedule",
            "Policy",
            "Form",
            "Exhibit",
        ];
        if words.is_empty()
            || NOT_PLACES.contains(&words[0])
            || words.iter().any(|w| NOT_JURISDICTION.contains(w))
        {
            continue;
        }
        let place = title_case(&words.join(" "));
        let sentence = sentence_at(text, c.get(0)?.start());
        let mut fact = src.fact(place, 0.85, j.start()..j.start() + j.as_str().len());
        fact.evidence.push(src.evidence(sentence));
        return Some(fact);
    }
    None
}

fn title_case(s: &str) -> String {
    if s.chars().any(|c| c.is_lowercase()) {
        return s.to_string();
    }
    s.split(' ')
        .map(|w| {
            let lower = w.to_lowercase();
            if lower == "of" || lower == "and" {
                return lower;
            }
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sentences that commit to integrations, security/compliance, service levels or hosting.
pub(super) fn technical(src: &Source) -> TechnicalRequirements {
    static SLA: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(uptime|availability\s+of\s+\d|\d{2}(?:\.\d+)?\s*%\s+(?:uptime|availability|of\s+the\s+time)|service\s+levels?|response\s+times?|resolution\s+times?|service\s+credits?)\b",
        )
    });
    static SECURITY: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(SOC\s*[12]|ISO\s*/?\s*(?:IEC\s*)?27001|GDPR|HIPAA|PCI[\s-]DSS|encrypt\w*|penetration\s+test\w*|FedRAMP|CCPA|security\s+(?:standards|controls|audit)\w*)\b",
        )
    });
    static INTEGRATION: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(integrat\w*|APIs?|single\s+sign[\s-]on|SSO|SAML|SCIM|webhooks?|Salesforce|HubSpot|Okta|connectors?)\b",
        )
    });
    static HOSTING: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(hosted\s+(?:in|on|by)|hosting|data\s+cent(?:er|re)s?|data\s+residency|AWS|Amazon\s+Web\s+Services|Microsoft\s+Azure|Google\s+Cloud|on[\s-]premises?|EU\s+region|US\s+region)\b",
        )
    });
    let mut out = TechnicalRequirements::default();
    let categories: [(&Regex, usize); 4] =
        [(&SLA, 0), (&SECURITY, 1), (&INTEGRATION, 2), (&HOSTING, 3)];
    let mut seen = std::collections::HashSet::new();
    for (regex, slot) in categories {
        for m in regex.find_iter(src.text) {
            let sentence = sentence_at(src.text, m.start());
            if !seen.insert(sentence.start) {
                continue;
            }
            // Commitments are prose; a price table or a heading that mentions a keyword is not.
            let s = &src.text[sentence.clone()];
            if s.contains(['$', '€', '£', '\t', '|'])
                || s.matches('\n').count() > 3
                || s.split_whitespace().count() < 5
            {
                continue;
            }
            let list = match slot {
                0 => &mut out.slas,
                1 => &mut out.security,
                2 => &mut out.integrations,
                _ => &mut out.hosting,
            };
            if list.len() >= 6 {
                break;
            }
            let value = super::short(&src.text[sentence.clone()]);
            list.push(src.fact(value, 0.6, sentence));
        }
    }
    out
}
