//! `cscx contracts …`: extraction without a server, and the CUAD quality report.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use cscx_ai::contract::{extract, ContractExtraction, ExtractOptions};
use cscx_ai::document::Limits;
use cscx_ai::isolate::DocumentReader;

#[derive(Subcommand)]
pub enum ContractsCommand {
    /// Extract a contract's terms from a file (PDF, DOCX, HTML, Markdown, text) and print them.
    Extract {
        file: PathBuf,
        /// `json` (the stable shape documented in the README) or `text`.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Measure the builtin extractor against CUAD's lawyer labels.
    Eval {
        /// The cuad-dev folder (labels.jsonl and contracts/).
        #[arg(long, env = "CSCX_CUAD_DIR", default_value = "../shared/data/cuad-dev")]
        data: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `company_name` is the vendor: the configured name from `CSCX_COMPANY_NAME`.
pub fn run(
    command: ContractsCommand,
    company_name: Option<String>,
    reader: DocumentReader,
) -> anyhow::Result<()> {
    match command {
        ContractsCommand::Extract { file, format } => {
            if format != "json" && format != "text" {
                anyhow::bail!("--format must be json or text");
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let doc = reader
                .read(bytes, name, Limits::default())
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let result = extract(
                &doc.text,
                &ExtractOptions {
                    vendor_name: company_name,
                },
            );
            if format == "json" {
                let out = serde_json::json!({
                    "document": { "kind": doc.kind, "pages": doc.pages, "chars": doc.text.chars().count() },
                    "extraction": result,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", as_text(&result));
            }
            Ok(())
        }
        ContractsCommand::Eval { data, json } => {
            let report = cscx_ai::eval::evaluate_cuad(&data).map_err(anyhow::Error::msg)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            Ok(())
        }
    }
}

/// A readable summary: each value with its confidence and where it came from.
fn as_text(r: &ContractExtraction) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: String, conf: f32, page: Option<usize>| {
        let _ = writeln!(
            out,
            "{label:<20} {value}  ({:.0}%{})",
            conf * 100.0,
            page.map(|p| format!(", page {p}")).unwrap_or_default()
        );
    };
    macro_rules! fact {
        ($label:expr, $f:expr, $fmt:expr) => {
            match &$f {
                Some(f) => line(
                    &mut out,
                    $label,
                    $fmt(&f.value),
                    f.confidence,
                    f.evidence.first().map(|e| e.page),
                ),
                None => {
                    let _ = writeln!(out, "{:<20} not stated", $label);
                }
            }
        };
    }
    let _ = writeln!(out, "engine               {}", r.engine);
    fact!("title", r.title, |v: &String| v.clone());
    for p in &r.parties {
        let v = &p.value;
        let _ = writeln!(
            out,
            "party                {} [{}]{}",
            v.name,
            v.side,
            v.defined_as
                .as_deref()
                .map(|d| format!(" as \"{d}\""))
                .unwrap_or_default()
        );
    }
    fact!("customer", r.company_name, |v: &String| v.clone());
    fact!(
        "agreement date",
        r.agreement_date,
        |v: &chrono::NaiveDate| v.to_string()
    );
    fact!(
        "effective date",
        r.effective_date,
        |v: &chrono::NaiveDate| v.to_string()
    );
    fact!("end date", r.end_date, |v: &chrono::NaiveDate| v
        .to_string());
    fact!(
        "initial term",
        r.initial_term,
        |v: &cscx_ai::contract::Span| v.describe()
    );
    fact!(
        "renewal",
        r.renewal,
        |v: &cscx_ai::contract::Renewal| format!(
            "{}{}",
            if v.auto_renew {
                "automatic"
            } else {
                "by agreement"
            },
            v.renewal_term
                .map(|t| format!(", {} terms", t.describe()))
                .unwrap_or_default()
        )
    );
    fact!(
        "notice period",
        r.notice_period,
        |v: &cscx_ai::contract::Span| v.describe()
    );
    fact!("governing law", r.governing_law, |v: &String| v.clone());
    fact!("currency", r.currency, |v: &String| v.clone());
    fact!("ARR", r.arr, |v: &rust_decimal::Decimal| v.to_string());
    fact!(
        "total value",
        r.total_contract_value,
        |v: &rust_decimal::Decimal| v.to_string()
    );
    fact!("payment terms", r.payment_terms, |v: &String| v.clone());
    for i in &r.line_items {
        let v = &i.value;
        let _ = writeln!(
            out,
            "line item            {} | qty {} {} | unit price {} | total {} | {} | {}",
            v.item,
            v.quantity.map(|q| q.to_string()).unwrap_or("-".into()),
            v.unit.as_deref().unwrap_or(""),
            v.unit_price.map(|q| q.to_string()).unwrap_or("-".into()),
            v.total.map(|q| q.to_string()).unwrap_or("-".into()),
            v.billing_frequency
                .as_deref()
                .unwrap_or("frequency not stated"),
            v.category
        );
    }
    for p in &r.stakeholders {
        let v = &p.value;
        let _ = writeln!(
            out,
            "stakeholder          {} [{}] {} {} {}",
            v.name,
            v.side,
            v.title.as_deref().unwrap_or(""),
            v.email.as_deref().unwrap_or(""),
            v.phone.as_deref().unwrap_or("")
        );
    }
    for m in &r.missing_info {
        let _ = writeln!(out, "missing              {m}");
    }
    for s in &r.next_steps {
        let _ = writeln!(out, "next step            {s}");
    }
    out
}
