//! The extractor's quality on CUAD, with floors just under the measured figures: a change that
//! makes extraction worse fails CI. The data set lives outside the repository
//! (`../shared/data/cuad-dev`, or `CSCX_CUAD_DIR`).

use std::path::PathBuf;

fn cuad_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CSCX_CUAD_DIR") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.join("../../../shared/data/cuad-dev")
}

/// (field, minimum precision, minimum recall)
const FLOORS: &[(&str, f64, f64)] = &[
    ("parties", 0.86, 0.57),
    ("agreement_date", 0.85, 0.81),
    ("effective_date", 0.86, 0.60),
    ("expiration_date", 0.56, 0.47),
    ("renewal_term", 0.72, 0.62),
    ("notice_period", 0.60, 0.69),
    ("governing_law", 0.87, 0.80),
];

#[test]
fn cuad_quality_stays_above_the_floor() {
    let dir = cuad_dir();
    assert!(
        dir.join("labels.jsonl").exists(),
        "CUAD dev set not found at {}; set CSCX_CUAD_DIR",
        dir.display()
    );
    let report = cscx_ai::eval::evaluate_cuad(&dir).expect("evaluation runs");
    println!("{}", report.table());
    assert_eq!(report.contracts, 330);
    let mut failures = Vec::new();
    for (field, min_p, min_r) in FLOORS {
        let f = report.field(field).expect("field scored");
        if f.precision() < *min_p || f.recall() < *min_r {
            failures.push(format!(
                "{field}: precision {:.3} (floor {min_p}), recall {:.3} (floor {min_r})",
                f.precision(),
                f.recall()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "below the floor:\n{}",
        failures.join("\n")
    );
}
