//! Measure the contract extractor against CUAD's lawyer labels (`../shared/data/cuad-dev`).
//!
//! For each field, a prediction is correct when it matches the labelled answer after
//! normalising: dates as calendar dates, durations in days or months, names without case,
//! punctuation and corporate suffixes. Labels that are not comparable — a date with blanks
//! ("[]/[]/2020"), "perpetual" — are left out of that field's counts, and so is our prediction
//! for that contract.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::contract::parties_normalise;
use crate::contract::when::find_spans;
use crate::contract::{extract, ContractExtraction, ExtractOptions};

/// Counts for one field: precision = correct / predicted, recall = recalled / gold. The two
/// numerators differ only for parties, where one prediction can match one of several labels.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FieldScore {
    pub field: &'static str,
    pub gold: usize,
    pub predicted: usize,
    pub correct: usize,
    pub recalled: usize,
}

impl FieldScore {
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.recalled, self.gold)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {
    pub contracts: usize,
    pub fields: Vec<FieldScore>,
    /// Extraction time per contract (text already in memory).
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl EvalReport {
    pub fn field(&self, name: &str) -> Option<&FieldScore> {
        self.fields.iter().find(|f| f.field == name)
    }

    /// A fixed-width table for terminals and CI logs.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<16} {:>6} {:>9} {:>8} {:>10} {:>7} {:>6}\n",
            "field", "gold", "predicted", "correct", "precision", "recall", "f1"
        );
        for f in &self.fields {
            out.push_str(&format!(
                "{:<16} {:>6} {:>9} {:>8} {:>10.3} {:>7.3} {:>6.3}\n",
                f.field,
                f.gold,
                f.predicted,
                f.correct,
                f.precision(),
                f.recall(),
                f.f1()
            ));
        }
        out.push_str(&format!(
            "{} contracts; extraction time per contract: median {:.2} ms, p99 {:.2} ms, max {:.2} ms\n",
            self.contracts, self.median_ms, self.p99_ms, self.max_ms
        ));
        out
    }
}

#[derive(serde::Deserialize)]
struct Label {
    answer: String,
}

#[derive(serde::Deserialize)]
struct Row {
    txt_file: String,
    parties: Label,
    agreement_date: Label,
    effective_date: Label,
    expiration_date: Label,
    renewal_term: Label,
    notice_to_terminate_renewal: Label,
    governing_law: Label,
}

/// Run the builtin extractor over every labelled contract in `dir` and score it.
pub fn evaluate_cuad(dir: &Path) -> Result<EvalReport, String> {
    let labels = std::fs::read_to_string(dir.join("labels.jsonl"))
        .map_err(|e| format!("{}: {e}", dir.join("labels.jsonl").display()))?;
    let mut scores: Vec<FieldScore> = [
        "parties",
        "agreement_date",
        "effective_date",
        "expiration_date",
        "renewal_term",
        "notice_period",
        "governing_law",
    ]
    .into_iter()
    .map(|field| FieldScore {
        field,
        ..FieldScore::default()
    })
    .collect();
    let mut times: Vec<Duration> = Vec::new();
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let row: Row = serde_json::from_str(line).map_err(|e| format!("labels.jsonl: {e}"))?;
        let path = dir.join("contracts").join(&row.txt_file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let started = Instant::now();
        let got = extract(&text, &ExtractOptions::default());
        times.push(started.elapsed());
        score_row(&row, &got, &mut scores);
    }
    times.sort();
    let pick = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(EvalReport {
        contracts: times.len(),
        fields: scores,
        median_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
    })
}

fn score_row(row: &Row, got: &ContractExtraction, scores: &mut [FieldScore]) {
    // Parties: every labelled name counts on its own.
    let gold = gold_parties(&row.parties.answer);
    let predicted: Vec<String> = got
        .parties
        .iter()
        .map(|p| parties_normalise(&p.value.name))
        .filter(|n| !n.is_empty())
        .collect();
    let s = &mut scores[0];
    s.gold += gold.len();
    s.predicted += predicted.len();
    let matched_pred = predicted
        .iter()
        .filter(|p| gold.iter().any(|g| same_name(g, p)))
        .count();
    let matched_gold = gold
        .iter()
        .filter(|g| predicted.iter().any(|p| same_name(g, p)))
        .count();
    s.correct += matched_pred;
    s.recalled += matched_gold;

    let date_field = |s: &mut FieldScore, gold: &str, ours: Option<NaiveDate>| {
        if gold.trim().is_empty() {
            s.predicted += ours.is_some() as usize;
            return;
        }
        let Some(g) = gold_date(gold) else { return };
        s.gold += 1;
        if let Some(o) = ours {
            s.predicted += 1;
            s.correct += (o == g) as usize;
            s.recalled += (o == g) as usize;
        }
    };
    date_field(
        &mut scores[1],
        &row.agreement_date.answer,
        got.agreement_date.as_ref().map(|f| f.value),
    );
    date_field(
        &mut scores[2],
        &row.effective_date.answer,
        got.effective_date.as_ref().map(|f| f.value),
    );
    date_field(
        &mut scores[3],
        &row.expiration_date.answer,
        got.end_date.as_ref().map(|f| f.value),
    );

    // Renewal term, compared in days.
    let ours = got
        .renewal
        .as_ref()
        .and_then(|r| r.value.renewal_term)
        .map(|s| s.days());
    span_field(&mut scores[4], &row.renewal_term.answer, ours);
    let ours = got.notice_period.as_ref().map(|n| n.value.days());
    span_field(
        &mut scores[5],
        &row.notice_to_terminate_renewal.answer,
        ours,
    );

    let s = &mut scores[6];
    let ours = got.governing_law.as_ref().map(|f| place(&f.value));
    if row.governing_law.answer.trim().is_empty() {
        s.predicted += ours.is_some() as usize;
    } else {
        s.gold += 1;
        if let Some(o) = ours {
            s.predicted += 1;
            let g = place(&row.governing_law.answer);
            let hit = (o == g || g.contains(&o) || o.contains(&g)) as usize;
            s.correct += hit;
            s.recalled += hit;
        }
    }
}

fn span_field(s: &mut FieldScore, gold: &str, ours: Option<u32>) {
    if gold.trim().is_empty() {
        s.predicted += ours.is_some() as usize;
        return;
    }
    let gold_days: HashSet<u32> = find_spans(gold).iter().map(|f| f.span.days()).collect();
    if gold_days.is_empty() {
        return;
    }
    s.gold += 1;
    if let Some(o) = ours {
        s.predicted += 1;
        let hit = gold_days.contains(&o) as usize;
        s.correct += hit;
        s.recalled += hit;
    }
}

fn place(s: &str) -> String {
    let lower = s.to_lowercase();
    let lower = lower
        .trim()
        .trim_start_matches("the ")
        .trim_start_matches("state of ")
        .trim_start_matches("commonwealth of ");
    lower
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn gold_date(answer: &str) -> Option<NaiveDate> {
    let mut parts = answer.trim().split('/');
    let mut m: u32 = parts.next()?.trim().parse().ok()?;
    let mut d: u32 = parts.next()?.trim().parse().ok()?;
    if m > 12 {
        // A few labels are day/month/year.
        std::mem::swap(&mut m, &mut d);
    }
    let y: i32 = parts.next()?.trim().parse().ok()?;
    let y = match y {
        0..=39 => 2000 + y,
        40..=99 => 1900 + y,
        _ => y,
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Labelled party names: the answer lists names with their defined terms in parentheses;
/// sentences ("Each of the foregoing parties ...") and bare defined terms are not names.
fn gold_parties(answer: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in answer.split(';') {
        let mut name = String::new();
        let mut depth = 0;
        for c in item.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = (depth - 1).max(0),
                _ if depth == 0 => name.push(c),
                _ => {}
            }
        }
        let lower = name.to_lowercase();
        if lower.contains("referred to")
            || lower.contains(" party")
            || lower.contains("parties")
            || lower.trim_start().starts_with("each")
        {
            continue;
        }
        let n = parties_normalise(&name);
        if n.chars().filter(|c| c.is_alphabetic()).count() < 2 || out.contains(&n) {
            continue;
        }
        out.push(n);
    }
    out
}

fn same_name(gold: &str, ours: &str) -> bool {
    if gold == ours {
        return true;
    }
    let (short, long) = if gold.len() < ours.len() {
        (gold, ours)
    } else {
        (ours, gold)
    };
    short.len() >= 4 && long.contains(short)
}
