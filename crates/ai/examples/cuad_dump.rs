//! Print what the extractor finds next to CUAD's labels, one contract per block, for the field
//! named on the command line: `cargo run -p cscx-ai --release --example cuad_dump -- parties`.

fn main() {
    let mut args = std::env::args().skip(1);
    let field = args.next().unwrap_or_else(|| "parties".into());
    let limit: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(40);
    let dir = std::env::var("CSCX_CUAD_DIR").unwrap_or_else(|_| "../shared/data/cuad-dev".into());
    let dir = std::path::Path::new(&dir);
    let labels = std::fs::read_to_string(dir.join("labels.jsonl")).expect("labels");
    for line in labels.lines().take(limit) {
        let row: serde_json::Value = serde_json::from_str(line).expect("json");
        let file = row["txt_file"].as_str().expect("txt_file");
        let text = std::fs::read_to_string(dir.join("contracts").join(file)).expect("contract");
        let got = cscx_ai::contract::extract(&text, &Default::default());
        let got = serde_json::to_value(&got).expect("serialise");
        let ours = match field.as_str() {
            "parties" => serde_json::Value::Array(
                got["parties"]
                    .as_array()
                    .expect("parties")
                    .iter()
                    .map(|p| p["value"]["name"].clone())
                    .collect(),
            ),
            "expiration_date" => got["end_date"].clone(),
            "notice_to_terminate_renewal" => got["notice_period"].clone(),
            "renewal_term" => got["renewal"].clone(),
            other => got[other].clone(),
        };
        println!(
            "== {file}\n  gold: {}\n  ours: {}",
            row[&field]["answer"], ours
        );
    }
}
