//! Point-in-time scores, back-tests against known outcomes, and calibration.

use super::*;

// ------------------------------------------------------------------------------------------
// Point-in-time scores, back-tests and calibration

/// One customer's score as of a date, for `cscx health score --as-of`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AsOfScore {
    pub customer_id: Id,
    pub name: String,
    pub score: Option<i32>,
    pub grade: Option<String>,
    #[schema(value_type = Object)]
    pub components: BTreeMap<String, i32>,
    pub missing: Vec<String>,
}

/// Scores every customer (or those given) as of the end of `as_of`, point in time.
pub async fn scores_as_of(
    app: &App,
    as_of: NaiveDate,
    only: Option<&[Id]>,
) -> CoreResult<Vec<(Customer, HealthResult)>> {
    ensure_rolled_up(app).await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page: Vec<Customer> = {
            let mut c = app.db.conn().await?;
            entity::list(c.c(), after, 500).await?
        };
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for customer in page {
            if only.is_some_and(|ids| !ids.contains(&customer.id)) {
                continue;
            }
            let r = score_as_of(app, &customer, as_of, true).await?;
            out.push((customer, r));
        }
    }
    Ok(out)
}

pub fn as_of_row(customer: &Customer, r: &HealthResult) -> AsOfScore {
    AsOfScore {
        customer_id: customer.id,
        name: customer.name.clone(),
        score: r.score,
        grade: r.grade.map(|g| g.as_str().to_owned()),
        components: r
            .components
            .iter()
            .map(|c| (c.key.clone(), c.score))
            .collect(),
        missing: r.missing.clone(),
    }
}

/// A known outcome: the customer (by id, CRM id or external id) and whether it churned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutcomeRow {
    pub customer_key: String,
    /// 1 = churned / did not renew, 0 = stayed.
    pub outcome: u8,
}

/// Reads `customer_key,outcome` CSV (header required; `customer_id` is accepted as the first
/// column's name too; outcome 0/1, true/false, yes/no).
pub fn parse_outcomes(text: &str) -> Result<Vec<OutcomeRow>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("the outcomes file is empty")?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_lowercase())
        .collect();
    let key_col = cols
        .iter()
        .position(|c| c == "customer_key" || c == "customer_id")
        .ok_or("the header needs a customer_key (or customer_id) column")?;
    let out_col = cols
        .iter()
        .position(|c| c == "outcome")
        .ok_or("the header needs an outcome column")?;
    let mut rows = Vec::new();
    for (n, line) in lines {
        let cells: Vec<&str> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let key = cells
            .get(key_col)
            .filter(|k| !k.is_empty())
            .ok_or(format!("line {}: no customer key", n + 1))?;
        let outcome = match cells.get(out_col).map(|v| v.to_lowercase()).as_deref() {
            Some("1" | "true" | "yes" | "churned") => 1,
            Some("0" | "false" | "no" | "renewed" | "retained") => 0,
            other => {
                return Err(format!(
                    "line {}: outcome {:?} is not 0 or 1",
                    n + 1,
                    other.unwrap_or("")
                ))
            }
        };
        rows.push(OutcomeRow {
            customer_key: key.to_string(),
            outcome,
        });
    }
    Ok(rows)
}

pub(super) async fn match_outcomes(
    app: &App,
    outcomes: &[OutcomeRow],
) -> CoreResult<(Vec<(Id, bool)>, Vec<String>)> {
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    let mut c = app.db.conn().await?;
    for o in outcomes {
        let found = match o.customer_key.parse::<Id>() {
            Ok(id) => entity::get::<Customer>(c.c(), id).await?,
            Err(_) => customers::find_by_external_key(c.c(), &o.customer_key).await?,
        };
        match found {
            Some(cust) => matched.push((cust.id, o.outcome == 1)),
            None => unmatched.push(o.customer_key.clone()),
        }
    }
    Ok((matched, unmatched))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BacktestReport {
    pub as_of: NaiveDate,
    pub customers_scored: usize,
    /// Outcome rows whose customer was not found.
    pub unmatched: Vec<String>,
    /// Customers without enough data for any component.
    pub unscored: usize,
    pub positives: usize,
    /// Area under the ROC curve of (100 − score) predicting the outcome over every matched
    /// customer: 0.5 is chance, 1 perfect. A customer without a score counts as a miss (a
    /// churned one ranks as the safest of all, a retained one as the riskiest).
    pub roc_auc: Option<f64>,
    /// The same over the scored customers only.
    pub roc_auc_scored: Option<f64>,
    /// Customers per band, unscored ones under `unscored`.
    #[schema(value_type = Object)]
    pub bands: BTreeMap<String, usize>,
    /// Of customers in the red band, the share that churned.
    pub red_precision: Option<f64>,
    /// Of customers that churned, the share that were in the red band.
    pub red_recall: Option<f64>,
    pub red_below: i32,
    #[schema(value_type = Vec<Object>)]
    pub calibration: Vec<stats::CalibrationRow>,
}

/// Scores the outcome customers as of `as_of` (point in time) and measures how well the score
/// predicted the outcomes.
pub async fn backtest(
    app: &App,
    as_of: NaiveDate,
    outcomes: &[OutcomeRow],
) -> CoreResult<BacktestReport> {
    let (matched, unmatched) = match_outcomes(app, outcomes).await?;
    let labels_by_id: HashMap<Id, bool> = matched.iter().copied().collect();
    let ids: Vec<Id> = matched.iter().map(|(id, _)| *id).collect();
    let results = scores_as_of(app, as_of, Some(&ids)).await?;
    // The bands of the model that scores the portfolio by default.
    let model = model_for(app, None).await?;
    let red_below = model.bands.red_below;
    let mut scores = Vec::new();
    let mut labels = Vec::new();
    let mut unscored = 0;
    let mut bands: BTreeMap<String, usize> = BTreeMap::new();
    // Risk over every customer, the unscored as misses.
    let (mut all_risk, mut all_labels) = (Vec::new(), Vec::new());
    for (customer, r) in &results {
        let label = labels_by_id[&customer.id];
        let band = r.grade.map_or("unscored", |g| g.as_str());
        *bands.entry(band.to_owned()).or_default() += 1;
        all_labels.push(label);
        match r.score {
            Some(s) => {
                scores.push(s as f64);
                labels.push(label);
                all_risk.push(100.0 - s as f64);
            }
            None => {
                unscored += 1;
                all_risk.push(if label { -1.0 } else { 101.0 });
            }
        }
    }
    let risk: Vec<f64> = scores.iter().map(|s| 100.0 - s).collect();
    let predicted: Vec<bool> = scores.iter().map(|s| *s < red_below as f64).collect();
    let confusion = stats::Confusion::from(&predicted, &labels);
    Ok(BacktestReport {
        as_of,
        customers_scored: scores.len(),
        unmatched,
        unscored,
        positives: all_labels.iter().filter(|l| **l).count(),
        roc_auc: stats::roc_auc(&all_risk, &all_labels),
        roc_auc_scored: stats::roc_auc(&risk, &labels),
        bands,
        red_precision: confusion.precision(),
        red_recall: confusion.recall(),
        red_below,
        calibration: stats::calibration_table(&scores, &labels, &[0.0, 25.0, 50.0, 75.0, 100.0]),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalibrationReport {
    pub as_of: NaiveDate,
    pub customers: usize,
    /// Cross-validated AUC of the fitted weights (5 folds).
    pub cross_validated_auc: Option<f64>,
    /// AUC of the current model on the same customers.
    pub current_auc: Option<f64>,
    /// Component → proposed weight.
    #[schema(value_type = Object)]
    pub weights: BTreeMap<String, f64>,
    /// The stored proposal (status `proposed`): activate it to use it.
    pub proposed_model_id: Option<Id>,
    pub note: String,
}

/// Fits component weights to the outcomes with logistic regression and stores the result as a
/// *proposed* model; the active model is untouched until an admin activates the proposal.
pub async fn calibrate(
    app: &App,
    as_of: NaiveDate,
    outcomes: &[OutcomeRow],
    by: Option<Id>,
) -> CoreResult<CalibrationReport> {
    let (matched, _) = match_outcomes(app, outcomes).await?;
    let labels_by_id: HashMap<Id, bool> = matched.iter().copied().collect();
    let ids: Vec<Id> = matched.iter().map(|(id, _)| *id).collect();
    let results = scores_as_of(app, as_of, Some(&ids)).await?;
    // Fit the weights of the active default model (its measures and bands stay).
    let current = model_for(app, None).await?;
    let keys: Vec<String> = current.components.iter().map(|c| c.key.clone()).collect();
    // Component scores as features; a missing component takes the mean of the others' values
    // for that component (documented), so a customer is not dropped for one gap.
    let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); keys.len()];
    let mut labels = Vec::new();
    let mut current_scores = Vec::new();
    for (customer, r) in &results {
        let Some(score) = r.score else { continue };
        for (i, k) in keys.iter().enumerate() {
            columns[i].push(
                r.components
                    .iter()
                    .find(|c| &c.key == k)
                    .map(|c| c.score as f64),
            );
        }
        labels.push(labels_by_id[&customer.id]);
        current_scores.push(100.0 - score as f64);
    }
    let means: Vec<f64> = columns
        .iter()
        .map(|col| {
            let present: Vec<f64> = col.iter().flatten().copied().collect();
            if present.is_empty() {
                50.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            }
        })
        .collect();
    let x: Vec<Vec<f64>> = (0..labels.len())
        .map(|row| {
            (0..keys.len())
                .map(|i| columns[i][row].unwrap_or(means[i]))
                .collect()
        })
        .collect();
    let positives = labels.iter().filter(|l| **l).count();
    if x.len() < 10 || positives < 2 || positives == labels.len() {
        return Ok(CalibrationReport {
            as_of,
            customers: x.len(),
            cross_validated_auc: None,
            current_auc: stats::roc_auc(&current_scores, &labels),
            weights: BTreeMap::new(),
            proposed_model_id: None,
            note: "not enough scored customers with both outcomes (need at least 10, with churned and retained ones)".into(),
        });
    }
    let fit = stats::Logistic::fit(&x, &labels, 1e-3, 500);
    let cv = stats::cross_validated_auc(&x, &labels, 5, 1e-3);
    // Higher health should mean less churn: a component's weight is its negative coefficient.
    let raw: Vec<f64> = fit.weights.iter().map(|w| (-w).max(0.0)).collect();
    let total: f64 = raw.iter().sum();
    if total <= 0.0 {
        return Ok(CalibrationReport {
            as_of,
            customers: x.len(),
            cross_validated_auc: cv,
            current_auc: stats::roc_auc(&current_scores, &labels),
            weights: BTreeMap::new(),
            proposed_model_id: None,
            note:
                "no component's score lowered churn in these outcomes; the current weights are kept"
                    .into(),
        });
    }
    let weights: BTreeMap<String, f64> = keys
        .iter()
        .zip(&raw)
        .map(|(k, w)| (k.clone(), (w / total * 1000.0).round() / 1000.0))
        .collect();
    let mut proposed = current.clone();
    proposed.name = format!("calibrated {as_of}");
    // The rhythm parameters the scores were computed with (fitted to the portfolio as of the
    // calibration date) go with the weights fitted on them.
    proposed.rhythm = Some(fit_for(app, &current, as_of).await?);
    for comp in &mut proposed.components {
        comp.weight = weights[&comp.key];
    }
    let note = format!(
        "fitted on {} customers ({positives} churned) scored as of {as_of}",
        x.len()
    );
    let stored = save_model(app, &proposed, false, Some(&note), by).await?;
    Ok(CalibrationReport {
        as_of,
        customers: x.len(),
        cross_validated_auc: cv,
        current_auc: stats::roc_auc(&current_scores, &labels),
        weights,
        proposed_model_id: Some(stored.id),
        note,
    })
}

/// Back-fills `health_score_history` for the days `from..=to`, every `step` days: each customer
/// scored point in time as of each day (data up to that day only), recorded at the end of that
/// day, when it has a score and no recorded score on that day yet. For a history imported or
/// seeded after the fact, so the trend has depth. Returns the rows written.
pub async fn backfill_history(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    step: i64,
) -> CoreResult<usize> {
    if from > to || step < 1 {
        return Err(CoreError::field(
            "from",
            "must not be after to, and step at least 1 day",
        ));
    }
    let mut days = Vec::new();
    let mut d = from;
    while d <= to {
        days.push(d);
        d += Duration::days(step);
    }
    let mut written = 0;
    for day in days {
        let end = day_start(day + Duration::days(1));
        let recorded_at = Timestamp::from_millis(end.millis() - 1);
        for (customer, result) in scores_as_of(app, day, None).await? {
            let Some(score) = result.score else { continue };
            let mut tx = app.db.begin().await?;
            let already = store::health_since(tx.c(), customer.id, day_start(day))
                .await?
                .iter()
                .any(|h| h.recorded_at < end);
            if !already {
                let row = HealthScore {
                    id: Id::new(),
                    customer_id: customer.id,
                    score,
                    components: Some(serde_json::to_value(&result).expect("serialisable")),
                    recorded_at,
                };
                entity::insert(tx.c(), &row).await?;
                written += 1;
            }
            tx.commit().await?;
        }
    }
    Ok(written)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_csv() {
        let rows = parse_outcomes("customer_key,outcome\nacct-1,1\n\"acct-2\", no\n").unwrap();
        assert_eq!(
            rows,
            vec![
                OutcomeRow {
                    customer_key: "acct-1".into(),
                    outcome: 1
                },
                OutcomeRow {
                    customer_key: "acct-2".into(),
                    outcome: 0
                },
            ]
        );
        assert!(parse_outcomes("key,result\n").is_err());
        assert!(parse_outcomes("customer_key,outcome\nx,maybe\n")
            .unwrap_err()
            .contains("line 2"));
    }
}
