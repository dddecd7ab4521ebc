//! A customer's rhythm: how often they are active, and how likely they are still active after
//! a quiet spell, from their whole history.
//!
//! The model is the modified beta-geometric / negative binomial distribution (MBG/NBD, Batislam,
//! Denizel and Filiztekin 2007), a recency–frequency model fitted to the whole portfolio:
//! - while active, a customer is active on days that come as a Poisson process with their own
//!   rate λ; rates vary across the portfolio as Gamma(r, α);
//! - at the start and after every active day a customer may stop for good with their own
//!   probability p; these vary as Beta(a, b).
//!
//! The four parameters are fitted by maximum likelihood (Nelder–Mead on their logarithms) to
//! each customer's number of active days, the day of the last one and their age. The unit of
//! time is the day, and an "activity" is a day with at least one active user, so a daily user,
//! a weekly reporter and a quarterly buyer are all served by the same model: forty quiet days
//! are nothing for the quarterly buyer and nearly conclusive for the daily user.
//!
//! Unlike the plain BG/NBD, the MBG/NBD lets a customer stop after their first activity, so a
//! customer seen once long ago is not "certainly still active".

use serde::{Deserialize, Serialize};

/// One customer's history as the model sees it, in days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Active days after the first one.
    pub repeat: u32,
    /// Days from the first active day to the last.
    pub last: f64,
    /// Days from the first active day to the end of the observation (the scoring day).
    pub age: f64,
}

impl History {
    /// The history seen in `active_days` (day numbers, any order, duplicates allowed) up to
    /// and including day `as_of`. `None` without any active day up to then.
    pub fn from_days(active_days: &[i64], as_of: i64) -> Option<History> {
        let mut seen: Vec<i64> = active_days
            .iter()
            .copied()
            .filter(|d| *d <= as_of)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let (first, last) = (*seen.first()?, *seen.last()?);
        Some(History {
            repeat: (seen.len() - 1) as u32,
            last: (last - first) as f64,
            // The scoring day counts in full: a customer first seen today has an age of 1.
            age: (as_of - first + 1) as f64,
        })
    }

    /// Days since the last activity.
    pub fn quiet_days(&self) -> f64 {
        (self.age - 1.0 - self.last).max(0.0)
    }

    /// The customer's usual gap between active days, once there are at least two; `None` for
    /// a customer seen on one day only.
    pub fn usual_gap(&self) -> Option<f64> {
        (self.repeat > 0).then(|| self.last / f64::from(self.repeat))
    }
}

/// The fitted portfolio parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RhythmFit {
    /// Shape and rate of the Gamma spread of activity rates (per day).
    pub r: f64,
    pub alpha: f64,
    /// The Beta spread of the chance to stop after an active day.
    pub a: f64,
    pub b: f64,
    /// How many histories the fit used (0 for the built-in prior).
    pub customers: usize,
    /// Mean log-likelihood per history at the optimum (0 for the built-in prior).
    pub mean_log_likelihood: f64,
}

impl RhythmFit {
    /// The parameters used until a portfolio has enough histories to fit its own: rates
    /// centred on one active day a fortnight with a wide spread, and a 1-in-10 chance to stop
    /// after an active day.
    pub fn prior() -> RhythmFit {
        RhythmFit {
            r: 0.5,
            alpha: 7.0,
            a: 1.0,
            b: 9.0,
            customers: 0,
            mean_log_likelihood: 0.0,
        }
    }

    /// Every parameter finite and positive.
    pub fn is_valid(&self) -> bool {
        [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// The probability that a customer with history `h` is still active at the end of it.
    pub fn probability_active(&self, h: &History) -> f64 {
        let x = f64::from(h.repeat);
        let ratio = (self.alpha + h.age) / (self.alpha + h.last);
        let odds_stopped = self.a / (self.b + x) * ratio.powf(self.r + x);
        1.0 / (1.0 + odds_stopped)
    }

    /// The probability of at least one active day in the `horizon` days after the history.
    pub fn probability_active_within(&self, h: &History, horizon: f64) -> f64 {
        let x = f64::from(h.repeat);
        // Given still active, the rate's posterior is Gamma(r + x, α + T); the chance of no
        // activity in the horizon is its Laplace transform at `horizon`.
        let none_if_active =
            ((self.alpha + h.age) / (self.alpha + h.age + horizon)).powf(self.r + x);
        self.probability_active(h) * (1.0 - none_if_active)
    }

    /// Expected active days per 30 days of a customer with this history, if still active.
    pub fn rate_per_month(&self, h: &History) -> f64 {
        30.0 * (self.r + f64::from(h.repeat)) / (self.alpha + h.age)
    }

    fn log_likelihood(&self, h: &History) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = f64::from(h.repeat);
        // Γ(r+x) α^r / Γ(r) · B(a, b+x+1) / B(a, b) · [(α+T)^-(r+x) + a/(b+x) (α+t)^-(r+x)]
        let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_beta(a, b + x + 1.0)
            - ln_beta(a, b);
        let still = -(r + x) * (alpha + h.age).ln();
        let stopped = (a / (b + x)).ln() - (r + x) * (alpha + h.last).ln();
        common + log_sum_exp(still, stopped)
    }

    /// Fits the parameters to `histories` by maximum likelihood. `None` with fewer than
    /// [`MIN_FIT_HISTORIES`] histories or when the optimum is not a valid model.
    pub fn fit(histories: &[History]) -> Option<RhythmFit> {
        if histories.len() < MIN_FIT_HISTORIES {
            return None;
        }
        // Identical histories share one likelihood term.
        let mut groups: Vec<(History, f64)> = Vec::new();
        let mut sorted: Vec<History> = histories.to_vec();
        sorted.sort_by(|p, q| {
            (p.repeat, p.last, p.age)
                .partial_cmp(&(q.repeat, q.last, q.age))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for h in sorted {
            match groups.last_mut() {
                Some((g, n)) if *g == h => *n += 1.0,
                _ => groups.push((h, 1.0)),
            }
        }
        let n = histories.len() as f64;
        let objective = |logs: &[f64; 4]| -> f64 {
            let fit = RhythmFit::from_logs(logs);
            if !fit.is_valid() {
                return f64::INFINITY;
            }
            let total: f64 = groups
                .iter()
                .map(|(h, count)| count * fit.log_likelihood(h))
                .sum();
            let value = -total / n;
            if value.is_finite() {
                value
            } else {
                f64::INFINITY
            }
        };
        let prior = RhythmFit::prior();
        let start = [prior.r.ln(), prior.alpha.ln(), prior.a.ln(), prior.b.ln()];
        let (best, value) = nelder_mead(objective, start, 0.5, 2000, 1e-10);
        let mut fit = RhythmFit::from_logs(&best);
        fit.customers = histories.len();
        fit.mean_log_likelihood = -value;
        (fit.is_valid() && value.is_finite()).then_some(fit)
    }

    fn from_logs(logs: &[f64; 4]) -> RhythmFit {
        // Bounded so that a flat direction cannot walk the optimiser into overflow.
        let e = |v: f64| v.clamp(-12.0, 12.0).exp();
        RhythmFit {
            r: e(logs[0]),
            alpha: e(logs[1]),
            a: e(logs[2]),
            b: e(logs[3]),
            customers: 0,
            mean_log_likelihood: 0.0,
        }
    }
}

/// Fewer histories than this and the portfolio keeps the prior.
pub const MIN_FIT_HISTORIES: usize = 30;

fn log_sum_exp(p: f64, q: f64) -> f64 {
    let m = p.max(q);
    m + ((p - m).exp() + (q - m).exp()).ln()
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln Γ(x) for x > 0: Lanczos' approximation (g = 7, nine terms), with the reflection-free
/// shift for small x; accurate to about 1e-13 relative.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x) = Γ(x + 1) / x keeps the series in its accurate range.
        return ln_gamma(x + 1.0) - x.ln();
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Minimises `f` from `start` with the Nelder–Mead simplex (initial step `step` on every
/// axis) until the spread of the simplex values falls under `tolerance` or `iterations` run
/// out. Returns the best point and its value. Deterministic.
fn nelder_mead<F: Fn(&[f64; 4]) -> f64>(
    f: F,
    start: [f64; 4],
    step: f64,
    iterations: usize,
    tolerance: f64,
) -> ([f64; 4], f64) {
    let mut simplex: Vec<([f64; 4], f64)> = Vec::with_capacity(5);
    simplex.push((start, f(&start)));
    for axis in 0..4 {
        let mut p = start;
        p[axis] += step;
        simplex.push((p, f(&p)));
    }
    let towards = |from: &[f64; 4], to: &[f64; 4], t: f64| -> [f64; 4] {
        std::array::from_fn(|i| from[i] + t * (to[i] - from[i]))
    };
    for _ in 0..iterations {
        simplex.sort_by(|p, q| p.1.total_cmp(&q.1));
        let (best, worst) = (simplex[0].1, simplex[4].1);
        if (worst - best).abs() <= tolerance * (1.0 + best.abs()) {
            break;
        }
        let centroid: [f64; 4] =
            std::array::from_fn(|i| simplex[..4].iter().map(|(p, _)| p[i]).sum::<f64>() / 4.0);
        let worst_point = simplex[4].0;
        let reflected = towards(&centroid, &worst_point, -1.0);
        let fr = f(&reflected);
        if fr < simplex[0].1 {
            let expanded = towards(&centroid, &worst_point, -2.0);
            let fe = f(&expanded);
            simplex[4] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[3].1 {
            simplex[4] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[4].1 {
                towards(&centroid, &reflected, 0.5)
            } else {
                towards(&centroid, &worst_point, 0.5)
            };
            let fc = f(&contracted);
            if fc < fr.min(simplex[4].1) {
                simplex[4] = (contracted, fc);
            } else {
                let best_point = simplex[0].0;
                for entry in simplex.iter_mut().skip(1) {
                    let p = towards(&best_point, &entry.0, 0.5);
                    *entry = (p, f(&p));
                }
            }
        }
    }
    simplex.sort_by(|p, q| p.1.total_cmp(&q.1));
    simplex[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials_and_half() {
        for (n, fact) in [(1.0, 1.0), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0_f64)] {
            assert!((ln_gamma(n) - fact.ln()).abs() < 1e-10, "Γ({n})");
        }
        let sqrt_pi = std::f64::consts::PI.sqrt();
        assert!((ln_gamma(0.5) - sqrt_pi.ln()).abs() < 1e-10);
        // Γ(0.1) = 9.513507698668732
        assert!((ln_gamma(0.1) - 9.513_507_698_668_732_f64.ln()).abs() < 1e-9);
    }

    #[test]
    fn histories_count_days_not_events() {
        let h = History::from_days(&[10, 3, 3, 20, 99], 30).unwrap();
        assert_eq!(h.repeat, 2);
        assert_eq!(h.last, 17.0);
        assert_eq!(h.age, 28.0);
        assert_eq!(h.quiet_days(), 10.0);
        assert_eq!(h.usual_gap(), Some(8.5));
        assert!(History::from_days(&[40], 30).is_none());
        assert_eq!(History::from_days(&[30], 30).unwrap().quiet_days(), 0.0);
    }

    #[test]
    fn quiet_spells_are_read_against_the_customers_own_rhythm() {
        let fit = RhythmFit::prior();
        // Forty quiet days after a year of daily use, and after a year of monthly use.
        let daily = History {
            repeat: 320,
            last: 325.0,
            age: 366.0,
        };
        let monthly = History {
            repeat: 11,
            last: 325.0,
            age: 366.0,
        };
        let p_daily = fit.probability_active(&daily);
        let p_monthly = fit.probability_active(&monthly);
        assert!(p_daily < 0.01, "daily user quiet 40 days: {p_daily}");
        assert!(p_monthly > 0.5, "monthly user quiet 40 days: {p_monthly}");
        // Active today is active, whatever the rhythm.
        let today = History {
            repeat: 3,
            last: 99.0,
            age: 100.0,
        };
        assert!(fit.probability_active(&today) > 0.9);
        // Seen once long ago: the MBG/NBD does not call that certain.
        let once = History {
            repeat: 0,
            last: 0.0,
            age: 270.0,
        };
        assert!(fit.probability_active(&once) < 0.9);
        assert!(fit.probability_active_within(&once, 90.0) < fit.probability_active(&once));
    }

    /// Histories drawn from the model itself (a fixed linear congruential generator, so the
    /// test is deterministic) give back parameters close to the ones that made them.
    #[test]
    fn the_fit_recovers_the_parameters_that_made_the_data() {
        let truth = RhythmFit {
            r: 0.8,
            alpha: 12.0,
            a: 0.6,
            b: 3.0,
            customers: 0,
            mean_log_likelihood: 0.0,
        };
        let mut seed: u64 = 42;
        let mut uniform = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let gamma = |shape: f64, rate: f64, u: &mut dyn FnMut() -> f64| -> f64 {
            // Marsaglia–Tsang for shape ≥ 1, boosted for shape < 1.
            let (k, boost) = if shape < 1.0 {
                (shape + 1.0, u().powf(1.0 / shape))
            } else {
                (shape, 1.0)
            };
            let d = k - 1.0 / 3.0;
            let c = 1.0 / (9.0 * d).sqrt();
            loop {
                // Box–Muller normal.
                let z = (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos();
                let v = (1.0 + c * z).powi(3);
                if v > 0.0 && u().ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                    return boost * d * v / rate;
                }
            }
        };
        let mut histories = Vec::new();
        for _ in 0..4000 {
            let lambda = gamma(truth.r, truth.alpha, &mut uniform);
            let ga = gamma(truth.a, 1.0, &mut uniform);
            let gb = gamma(truth.b, 1.0, &mut uniform);
            let p = ga / (ga + gb);
            let age = 365.0;
            let (mut t, mut last, mut repeat) = (0.0, 0.0, 0u32);
            // May stop right after the first activity (the "modified" part).
            let mut alive = uniform() >= p;
            while alive {
                t += -uniform().ln() / lambda;
                if t > age {
                    break;
                }
                repeat += 1;
                last = t;
                alive = uniform() >= p;
            }
            histories.push(History { repeat, last, age });
        }
        let fit = RhythmFit::fit(&histories).expect("fits");
        let close = |got: f64, want: f64, tol: f64| (got / want - 1.0).abs() < tol;
        assert!(close(fit.r, truth.r, 0.25), "r {}", fit.r);
        assert!(close(fit.alpha, truth.alpha, 0.35), "alpha {}", fit.alpha);
        assert!(
            close(fit.a / (fit.a + fit.b), 0.6 / 3.6, 0.25),
            "mean p {fit:?}"
        );
        assert_eq!(fit.customers, 4000);
        // The fitted parameters explain the data better than the prior.
        let mean_ll = |f: &RhythmFit| {
            histories.iter().map(|h| f.log_likelihood(h)).sum::<f64>() / histories.len() as f64
        };
        assert!(mean_ll(&fit) > mean_ll(&RhythmFit::prior()));
        assert!((fit.mean_log_likelihood - mean_ll(&fit)).abs() < 1e-9);
    }

    #[test]
    fn too_few_histories_keep_the_prior() {
        let h = History {
            repeat: 1,
            last: 3.0,
            age: 10.0,
        };
        assert!(RhythmFit::fit(&vec![h; MIN_FIT_HISTORIES - 1]).is_none());
    }
}
