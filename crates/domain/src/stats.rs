//! Small, deterministic statistics for back-testing the health score against churn outcomes and
//! for fitting weights: ROC AUC, confusion counts, calibration tables, L2-regularised logistic
//! regression and stratified cross-validation. No randomness anywhere: the same input always
//! gives the same answer.

use serde::{Deserialize, Serialize};

/// The area under the ROC curve: the probability that a random positive scores higher than a
/// random negative, ties counting one half. `None` if either class is empty or the slices
/// differ in length. O(n log n) via average ranks. Scores should be finite.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }

    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));

    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start+1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += rank * tied_positives as f64;
        start = end;
    }

    let (p, n) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Counts of a binary prediction against the outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

impl Confusion {
    /// Pairs `predicted[i]` with `labels[i]`; extra items in the longer slice are ignored.
    pub fn from(predicted: &[bool], labels: &[bool]) -> Self {
        let mut c = Confusion::default();
        for (&p, &l) in predicted.iter().zip(labels) {
            match (p, l) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// Of those predicted positive, the share that were. `None` if nothing was predicted.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Of the actual positives, the share predicted. `None` if there were no positives.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// `None` when empty.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.tp + self.tn, self.total())
    }

    /// Harmonic mean of precision and recall; `None` if either is undefined or both are 0.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationRow {
    pub from: f64,
    pub to: f64,
    pub count: usize,
    /// Mean score of the items in the bin; 0 when the bin is empty.
    pub mean_score: f64,
    /// Share of positive labels in the bin; 0 when the bin is empty.
    pub positive_rate: f64,
}

/// Bins `[edges[i], edges[i+1])`, the last one inclusive of its upper edge. Every bin is
/// returned, empty ones with `count` 0; scores outside the edges are not counted. Edges should
/// be ascending; fewer than two edges give no bins.
pub fn calibration_table(scores: &[f64], labels: &[bool], edges: &[f64]) -> Vec<CalibrationRow> {
    let bins = edges.len().saturating_sub(1);
    let mut rows = Vec::with_capacity(bins);
    for i in 0..bins {
        let (from, to) = (edges[i], edges[i + 1]);
        let last = i + 1 == bins;
        let (mut count, mut score_sum, mut positives) = (0usize, 0.0, 0usize);
        for (&s, &l) in scores.iter().zip(labels) {
            if s >= from && (s < to || (last && s <= to)) {
                count += 1;
                score_sum += s;
                positives += usize::from(l);
            }
        }
        let (mean_score, positive_rate) = if count == 0 {
            (0.0, 0.0)
        } else {
            (score_sum / count as f64, positives as f64 / count as f64)
        };
        rows.push(CalibrationRow {
            from,
            to,
            count,
            mean_score,
            positive_rate,
        });
    }
    rows
}

/// A fitted logistic regression: P(y) = 1 / (1 + e^-(bias + weights·x)), in the original
/// feature scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub weights: Vec<f64>,
    pub bias: f64,
}

/// Newton steps used by [`cross_validated_auc`].
const CV_ITERATIONS: usize = 50;

impl Logistic {
    /// Fits by Newton's method (IRLS) with a backtracking line search, on features standardised
    /// internally (mean 0, standard deviation 1); the weights returned are in the original scale.
    ///
    /// Minimises the mean log-loss + `l2`/2 · |w|² where `w` are the *standardised* weights
    /// (the bias is not penalised), so `l2` means the same whatever the units or the number of
    /// rows. Use `l2 > 0` on separable data, where the unpenalised optimum is at infinity.
    /// `iterations` caps the Newton steps (20–50 is plenty); fitting stops earlier once the
    /// gradient vanishes. The number of features is taken from the first row; a constant
    /// feature gets weight 0. Deterministic.
    pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64, iterations: usize) -> Logistic {
        let rows: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
        fit_rows(&rows, y, l2, iterations)
    }

    /// The predicted probability for one row of features (extra or missing features are
    /// ignored).
    pub fn predict(&self, x: &[f64]) -> f64 {
        let z = self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
        sigmoid(z)
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// ln(1 + e^z) without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn fit_rows(x: &[&[f64]], y: &[bool], l2: f64, iterations: usize) -> Logistic {
    let n = x.len().min(y.len());
    let p = x.first().map_or(0, |row| row.len());
    if n == 0 {
        return Logistic {
            weights: vec![0.0; p],
            bias: 0.0,
        };
    }
    let l2 = if l2.is_finite() { l2.max(0.0) } else { 0.0 };
    let nf = n as f64;
    let feature = |i: usize, j: usize| x[i].get(j).copied().unwrap_or(0.0);

    // Standardise. A (near-)constant feature gets scale 0 and so no say.
    let mut mean = vec![0.0; p];
    let mut scale = vec![0.0; p];
    for j in 0..p {
        let m = (0..n).map(|i| feature(i, j)).sum::<f64>() / nf;
        let var = (0..n).map(|i| (feature(i, j) - m).powi(2)).sum::<f64>() / nf;
        let sd = var.sqrt();
        mean[j] = m;
        scale[j] = if sd.is_finite() && sd > 1e-12 {
            1.0 / sd
        } else {
            0.0
        };
    }
    // Design matrix with a leading 1 for the bias.
    let z: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            std::iter::once(1.0)
                .chain((0..p).map(|j| (feature(i, j) - mean[j]) * scale[j]))
                .collect()
        })
        .collect();
    let target: Vec<f64> = y[..n].iter().map(|&l| f64::from(u8::from(l))).collect();
    let k = p + 1;

    let objective = |theta: &[f64]| -> f64 {
        let loss: f64 = z
            .iter()
            .zip(&target)
            .map(|(row, t)| {
                let m = dot(row, theta);
                softplus(m) - t * m
            })
            .sum::<f64>()
            / nf;
        loss + 0.5 * l2 * theta[1..].iter().map(|w| w * w).sum::<f64>()
    };

    let mut theta = vec![0.0; k];
    // Start the bias at the base-rate log-odds (clamped for one-class data).
    let base = (target.iter().sum::<f64>() / nf).clamp(1e-6, 1.0 - 1e-6);
    theta[0] = (base / (1.0 - base)).ln();
    let mut current = objective(&theta);

    for _ in 0..iterations {
        let mut gradient = vec![0.0; k];
        let mut hessian = vec![vec![0.0; k]; k];
        for (row, t) in z.iter().zip(&target) {
            let prob = sigmoid(dot(row, &theta));
            let residual = prob - t;
            let w = prob * (1.0 - prob);
            for (a, h_row) in hessian.iter_mut().enumerate() {
                gradient[a] += residual * row[a] / nf;
                for (h, rb) in h_row.iter_mut().zip(row) {
                    *h += w * row[a] * rb / nf;
                }
            }
        }
        for a in 0..k {
            if a > 0 {
                gradient[a] += l2 * theta[a];
                hessian[a][a] += l2;
            }
            hessian[a][a] += 1e-10;
        }
        if gradient.iter().all(|g| g.abs() < 1e-10) {
            break;
        }
        let step = solve(hessian, gradient);

        // Backtracking: halve the Newton step until the objective does not get worse.
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-10 {
            let candidate: Vec<f64> = theta.iter().zip(&step).map(|(a, d)| a - t * d).collect();
            let value = objective(&candidate);
            if value.is_finite() && value <= current {
                improved = value < current;
                theta = candidate;
                current = value;
                break;
            }
            t /= 2.0;
        }
        if !improved {
            break;
        }
    }

    // Back to the original scale: w_j·(x_j − m_j)·s_j = (w_j·s_j)·x_j − w_j·s_j·m_j.
    let weights: Vec<f64> = (0..p).map(|j| theta[j + 1] * scale[j]).collect();
    let bias = theta[0] - (0..p).map(|j| weights[j] * mean[j]).sum::<f64>();
    Logistic { weights, bias }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting. A (numerically) singular
/// direction gets 0.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let k = b.len();
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-300 {
            continue;
        }
        let (done, below) = a.split_at_mut(col + 1);
        let pivot_row = &done[col];
        for (offset, row) in below.iter_mut().enumerate() {
            let factor = row[col] / d;
            if factor != 0.0 {
                for (value, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *value -= factor * p;
                }
                b[col + 1 + offset] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; k];
    for row in (0..k).rev() {
        let d = a[row][row];
        if d.abs() < 1e-300 {
            continue;
        }
        let rest: f64 = (row + 1..k).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - rest) / d;
    }
    x
}

/// Mean held-out ROC AUC of a logistic regression over `folds` stratified folds. Folds are
/// dealt without randomness: the i-th positive (in index order) goes to fold i mod `folds`, and
/// likewise for the negatives. Folds whose held-out part lacks a class are skipped. `None` if
/// `folds` < 2, the slices differ in length, or no fold could be scored.
pub fn cross_validated_auc(x: &[Vec<f64>], y: &[bool], folds: usize, l2: f64) -> Option<f64> {
    if folds < 2 || x.len() != y.len() {
        return None;
    }
    let mut fold_of = Vec::with_capacity(y.len());
    let (mut positives, mut negatives) = (0usize, 0usize);
    for &label in y {
        let counter = if label {
            &mut positives
        } else {
            &mut negatives
        };
        fold_of.push(*counter % folds);
        *counter += 1;
    }

    let mut aucs = Vec::new();
    for fold in 0..folds {
        let (mut train_x, mut train_y) = (Vec::new(), Vec::new());
        let (mut test_x, mut test_y) = (Vec::new(), Vec::new());
        for (i, (row, &label)) in x.iter().zip(y).enumerate() {
            if fold_of[i] == fold {
                test_x.push(row.as_slice());
                test_y.push(label);
            } else {
                train_x.push(row.as_slice());
                train_y.push(label);
            }
        }
        if test_x.is_empty() || train_x.is_empty() {
            continue;
        }
        let model = fit_rows(&train_x, &train_y, l2, CV_ITERATIONS);
        let scores: Vec<f64> = test_x.iter().map(|row| model.predict(row)).collect();
        if let Some(auc) = roc_auc(&scores, &test_y) {
            aucs.push(auc);
        }
    }
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// A tiny deterministic generator (64-bit LCG, top bits) for test data only.
    struct Lcg(u64);

    impl Lcg {
        fn next_f64(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform on [lo, hi).
        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.next_f64()
        }

        /// A standard logistic draw.
        fn logistic(&mut self) -> f64 {
            let u = self.uniform(1e-12, 1.0 - 1e-12);
            (u / (1.0 - u)).ln()
        }
    }

    fn brute_force_auc(scores: &[f64], labels: &[bool]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for (i, &si) in scores.iter().enumerate() {
            for (j, &sj) in scores.iter().enumerate() {
                if labels[i] && !labels[j] {
                    pairs += 1.0;
                    if si > sj {
                        wins += 1.0;
                    } else if si == sj {
                        wins += 0.5;
                    }
                }
            }
        }
        wins / pairs
    }

    // --- AUC ---------------------------------------------------------------------------------

    #[test]
    fn auc_perfect_inverted_and_tied() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(roc_auc(&[0.5; 4], &labels), Some(0.5));
    }

    #[test]
    fn auc_hand_computed() {
        // Positives 0.35, 0.8 against negatives 0.1, 0.4: 3 of 4 pairs won.
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        // Positives 0.5, 0.9 against negatives 0.5, 0.2: 0.5 + 1 + 1 + 1 = 3.5 of 4.
        assert_eq!(
            roc_auc(&[0.5, 0.5, 0.2, 0.9], &[true, false, false, true]),
            Some(0.875)
        );
        // One positive against three negatives, beating one and tying one: (1 + 0.5) / 3.
        let auc = roc_auc(&[3.0, 1.0, 3.0, 5.0], &[true, false, false, false]).unwrap();
        assert!(close(auc, 0.5, 1e-12));
    }

    #[test]
    fn auc_matches_brute_force_with_many_ties() {
        let mut rng = Lcg(7);
        let scores: Vec<f64> = (0..300).map(|_| (rng.uniform(0.0, 10.0)).floor()).collect();
        let labels: Vec<bool> = scores.iter().map(|s| rng.uniform(0.0, 10.0) < *s).collect();
        let fast = roc_auc(&scores, &labels).unwrap();
        assert!(close(fast, brute_force_auc(&scores, &labels), 1e-12));
        assert!(fast > 0.7);
    }

    #[test]
    fn auc_undefined_without_both_classes() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(roc_auc(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(roc_auc(&[], &[]), None);
        assert_eq!(roc_auc(&[0.1], &[true, false]), None);
    }

    // --- confusion ---------------------------------------------------------------------------

    #[test]
    fn confusion_metrics() {
        let predicted = [true, true, true, false, false, false, true];
        let labels = [true, true, false, true, false, false, false];
        let c = Confusion::from(&predicted, &labels);
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 2,
                tn: 2,
                fn_: 1
            }
        );
        assert_eq!(c.total(), 7);
        assert_eq!(c.precision(), Some(0.5));
        assert!(close(c.recall().unwrap(), 2.0 / 3.0, 1e-12));
        assert!(close(c.accuracy().unwrap(), 4.0 / 7.0, 1e-12));
        assert!(close(c.f1().unwrap(), 4.0 / 7.0, 1e-12));

        let none_predicted = Confusion::from(&[false, false], &[true, false]);
        assert_eq!(none_predicted.precision(), None);
        assert_eq!(none_predicted.recall(), Some(0.0));
        assert_eq!(none_predicted.f1(), None);
        let no_positives = Confusion::from(&[true, false], &[false, false]);
        assert_eq!(no_positives.recall(), None);
        assert_eq!(no_positives.precision(), Some(0.0));
    }

    // --- calibration -------------------------------------------------------------------------

    #[test]
    fn calibration_bins() {
        let scores = [0.0, 10.0, 49.9, 50.0, 60.0, 75.0, 100.0, 120.0, -1.0];
        let labels = [true, true, false, true, false, false, false, true, true];
        let rows = calibration_table(&scores, &labels, &[0.0, 50.0, 75.0, 100.0]);
        assert_eq!(rows.len(), 3);

        assert_eq!((rows[0].from, rows[0].to, rows[0].count), (0.0, 50.0, 3));
        assert!(close(rows[0].mean_score, 59.9 / 3.0, 1e-12));
        assert!(close(rows[0].positive_rate, 2.0 / 3.0, 1e-12));

        // 50 opens the second bin; 75 belongs to the third.
        assert_eq!(rows[1].count, 2);
        assert_eq!(rows[1].mean_score, 55.0);
        assert_eq!(rows[1].positive_rate, 0.5);

        // The last bin includes its upper edge; 120 and -1 are outside every bin.
        assert_eq!(rows[2].count, 2);
        assert_eq!(rows[2].mean_score, 87.5);
        assert_eq!(rows[2].positive_rate, 0.0);

        let empty = calibration_table(&scores, &labels, &[200.0, 300.0]);
        assert_eq!(
            empty,
            vec![CalibrationRow {
                from: 200.0,
                to: 300.0,
                count: 0,
                mean_score: 0.0,
                positive_rate: 0.0
            }]
        );
        assert!(calibration_table(&scores, &labels, &[0.0]).is_empty());
    }

    // --- logistic regression -----------------------------------------------------------------

    /// y = 1 when 3·x1 − 0.015·x2 + 0.5 + logistic noise > 0, with x1 in [-1, 1] and
    /// x2 in [-100, 100] (true standardised weights about 1.7 and −0.87).
    fn synthetic(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>) {
        let mut rng = Lcg(seed);
        let mut x = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let x1 = rng.uniform(-1.0, 1.0);
            let x2 = rng.uniform(-100.0, 100.0);
            let logit = 3.0 * x1 - 0.015 * x2 + 0.5;
            y.push(logit + rng.logistic() > 0.0);
            x.push(vec![x1, x2]);
        }
        (x, y)
    }

    #[test]
    fn logistic_recovers_signs_and_ratio_in_original_scale() {
        let (x, y) = synthetic(4000, 42);
        let model = Logistic::fit(&x, &y, 1e-4, 50);
        let (w1, w2) = (model.weights[0], model.weights[1]);
        assert!(w1 > 0.0 && w2 < 0.0, "{model:?}");
        let ratio = w1 / -w2; // true ratio 200
        assert!((160.0..250.0).contains(&ratio), "ratio {ratio}, {model:?}");
        assert!(close(w1, 3.0, 0.5), "{model:?}");
        assert!(close(model.bias, 0.5, 0.25), "{model:?}");

        // Predictions follow the weights.
        assert!(model.predict(&[1.0, -100.0]) > 0.95);
        assert!(model.predict(&[-1.0, 100.0]) < 0.05);

        // Deterministic.
        assert_eq!(Logistic::fit(&x, &y, 1e-4, 50), model);
    }

    #[test]
    fn logistic_stronger_l2_shrinks_weights() {
        let (x, y) = synthetic(1000, 3);
        let loose = Logistic::fit(&x, &y, 0.0, 50);
        let tight = Logistic::fit(&x, &y, 1.0, 50);
        assert!(tight.weights[0].abs() < loose.weights[0].abs());
        assert!(tight.weights[0] > 0.0 && tight.weights[1] < 0.0);
    }

    #[test]
    fn logistic_handles_degenerate_input() {
        let empty = Logistic::fit(&[], &[], 0.1, 10);
        assert_eq!(empty.bias, 0.0);
        assert!(empty.weights.is_empty());
        assert_eq!(empty.predict(&[]), 0.5);

        // A constant feature gets no weight; the bias carries the base rate (3 of 4).
        let x = vec![vec![2.0], vec![2.0], vec![2.0], vec![2.0]];
        let y = [true, true, true, false];
        let m = Logistic::fit(&x, &y, 0.1, 20);
        assert_eq!(m.weights, vec![0.0]);
        assert!(close(m.predict(&[2.0]), 0.75, 1e-9), "{m:?}");

        // Perfectly separable data with a penalty stays finite.
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![f64::from(i)]).collect();
        let y: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let m = Logistic::fit(&x, &y, 0.01, 50);
        assert!(m.weights[0].is_finite() && m.weights[0] > 0.0);
        assert!(m.predict(&[19.0]) > 0.9 && m.predict(&[0.0]) < 0.1);
    }

    // --- cross-validation --------------------------------------------------------------------

    #[test]
    fn cross_validated_auc_high_on_separable_data() {
        let mut rng = Lcg(11);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let label = i % 3 == 0;
            let shift = if label { 2.0 } else { -2.0 };
            x.push(vec![shift + rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0)]);
            y.push(label);
        }
        let auc = cross_validated_auc(&x, &y, 5, 0.01).unwrap();
        assert!(auc > 0.97, "{auc}");
    }

    #[test]
    fn cross_validated_auc_near_half_on_noise() {
        let mut rng = Lcg(5);
        let x: Vec<Vec<f64>> = (0..600)
            .map(|_| vec![rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0)])
            .collect();
        let y: Vec<bool> = (0..600).map(|_| rng.next_f64() < 0.3).collect();
        let auc = cross_validated_auc(&x, &y, 5, 0.1).unwrap();
        assert!((0.4..0.6).contains(&auc), "{auc}");
    }

    #[test]
    fn cross_validated_auc_edge_cases() {
        let x = vec![vec![1.0], vec![2.0], vec![3.0], vec![4.0]];
        assert_eq!(
            cross_validated_auc(&x, &[true, false, true, false], 1, 0.1),
            None
        );
        assert_eq!(cross_validated_auc(&x, &[true; 4], 2, 0.1), None);
        assert_eq!(cross_validated_auc(&x, &[true, false], 2, 0.1), None);
        // Two folds, one positive and one negative each.
        let auc = cross_validated_auc(&x, &[false, false, true, true], 2, 0.01).unwrap();
        assert_eq!(auc, 1.0);
    }
}
