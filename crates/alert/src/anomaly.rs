//! Anomaly rules: is a metric beyond what its own history says is normal?
//!
//! Both modes are pure functions of two slices of `(unix ms, value)` points
//! the server loads from its store: `history`, the learning window (say 14
//! days of 5-minute averages), and `recent`, the points inside the rule's
//! `for` window. The verdict is anomalous only when *every* recent point is,
//! so one odd sample never fires a rule; the window's score is the score of
//! its least anomalous point. History points at or after the first recent
//! point are ignored, so the two ranges may overlap; NaN and infinite values
//! are ignored everywhere.
//!
//! * [`AnomalyMode::Simple`] — FlexMON's "3× baseline": the baseline is the
//!   **median** of the history. The median rather than the mean because the
//!   history contains the incidents we alert on: one afternoon at 50× the
//!   usual level would lift a mean-based baseline for the next two weeks and
//!   hide the next incident, while the median does not move. Upward only;
//!   meant for non-negative, rate-like metrics.
//! * [`AnomalyMode::Robust`] — seasonal median/MAD. For a recent point at
//!   time `t`, each earlier season (by default each earlier day) contributes
//!   one reference value: of its points within ±`tolerance_ms` of the same
//!   phase (`t − k·season`), the one closest to the current value. "Closest"
//!   is what makes a daily 03:00 job with a few minutes of jitter normal at
//!   03:00: every earlier day had a point near that level near that time.
//!   The score is `|x − median| / scale` over those references, where
//!   `scale = max(1.4826·MAD, 5 % of |median|, 1e-9)`: MAD estimates the
//!   spread of a noisy series, and the relative floor keeps an unusually
//!   flat history from turning a 1 % wiggle into an alert. Both directions
//!   count: a drop to zero is as anomalous as a doubling.

use serde::{Deserialize, Serialize};

/// Default score above which a robust point is anomalous.
pub const DEFAULT_ROBUST_THRESHOLD: f64 = 4.0;
/// Default season: one day.
pub const DEFAULT_SEASON_MS: i64 = 24 * 60 * 60 * 1000;
/// Default phase tolerance: ±15 minutes around the same time of day.
pub const DEFAULT_TOLERANCE_MS: i64 = 15 * 60 * 1000;
/// Earlier seasons a robust reference needs; fewer is `InsufficientData`.
pub const MIN_SEASONS: usize = 3;
/// History points the simple mode needs (an hour of 5-minute points).
pub const SIMPLE_MIN_HISTORY_POINTS: usize = 12;
/// The robust scale is never below this fraction of the reference median.
pub const RELATIVE_SCALE_FLOOR: f64 = 0.05;
/// Scores are capped here, so a jump from an all-zero history stays a
/// finite number in JSON.
pub const MAX_SCORE: f64 = 1e9;
/// Below this a baseline or scale counts as zero.
const EPSILON: f64 = 1e-9;
/// Robust looks back at most this many seasons per point, bounding the work.
const MAX_SEASONS_BACK: i64 = 1000;
/// MAD × this estimates the standard deviation of normally distributed noise.
const MAD_TO_SIGMA: f64 = 1.4826;

/// How a rule decides what is anomalous.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AnomalyMode {
    /// Anomalous when the value exceeds `factor` × the median of the history.
    Simple { factor: f64 },
    /// Anomalous when the value is more than `threshold` robust deviations
    /// away from what earlier seasons showed at the same phase.
    Robust {
        #[serde(default = "default_threshold")]
        threshold: f64,
        #[serde(default = "default_season_ms")]
        season_ms: i64,
        #[serde(default = "default_tolerance_ms")]
        tolerance_ms: i64,
    },
}

fn default_threshold() -> f64 {
    DEFAULT_ROBUST_THRESHOLD
}
fn default_season_ms() -> i64 {
    DEFAULT_SEASON_MS
}
fn default_tolerance_ms() -> i64 {
    DEFAULT_TOLERANCE_MS
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Verdict {
    /// `score` is the least anomalous recent point's score.
    Normal { score: f64 },
    /// Every recent point was anomalous; `baseline` is what the newest one
    /// was compared with (history median, or seasonal reference median).
    Anomalous { score: f64, baseline: f64 },
    /// Too little history (or no recent value) to say.
    InsufficientData,
}

/// Why an anomaly mode was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct AnomalyError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> AnomalyError {
    AnomalyError {
        field,
        message: message.into(),
    }
}

impl AnomalyMode {
    /// Robust mode with the defaults: threshold 4, daily season, ±15 min.
    pub fn robust() -> AnomalyMode {
        AnomalyMode::Robust {
            threshold: DEFAULT_ROBUST_THRESHOLD,
            season_ms: DEFAULT_SEASON_MS,
            tolerance_ms: DEFAULT_TOLERANCE_MS,
        }
    }

    /// Checks the parameters; [`evaluate`] answers `InsufficientData` for a
    /// mode that fails this.
    pub fn validate(&self) -> Result<(), AnomalyError> {
        match *self {
            AnomalyMode::Simple { factor } => {
                if !(factor.is_finite() && factor > 1.0) {
                    return Err(err("factor", "must be a number greater than 1"));
                }
            }
            AnomalyMode::Robust {
                threshold,
                season_ms,
                tolerance_ms,
            } => {
                if !(threshold.is_finite() && threshold > 0.0) {
                    return Err(err("threshold", "must be a number greater than 0"));
                }
                const MINUTE: i64 = 60_000;
                const YEAR: i64 = 366 * 24 * 60 * MINUTE;
                if !(MINUTE..=YEAR).contains(&season_ms) {
                    return Err(err(
                        "season_ms",
                        format!("must be between {MINUTE} (a minute) and {YEAR} (a year)"),
                    ));
                }
                if tolerance_ms < 0 || tolerance_ms >= season_ms / 2 {
                    return Err(err(
                        "tolerance_ms",
                        "must be at least 0 and less than half the season",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Decides whether `recent` is anomalous given `history`.
pub fn evaluate(mode: &AnomalyMode, history: &[(i64, f64)], recent: &[(i64, f64)]) -> Verdict {
    if mode.validate().is_err() {
        return Verdict::InsufficientData;
    }
    let recent: Vec<(i64, f64)> = recent.iter().copied().filter(|p| p.1.is_finite()).collect();
    let Some(first_recent) = recent.iter().map(|p| p.0).min() else {
        return Verdict::InsufficientData;
    };
    let mut history: Vec<(i64, f64)> = history
        .iter()
        .copied()
        .filter(|p| p.1.is_finite() && p.0 < first_recent)
        .collect();
    match *mode {
        AnomalyMode::Simple { factor } => evaluate_simple(factor, &mut history, &recent),
        AnomalyMode::Robust {
            threshold,
            season_ms,
            tolerance_ms,
        } => {
            if !history.is_sorted_by_key(|p| p.0) {
                history.sort_by_key(|p| p.0);
            }
            evaluate_robust(threshold, season_ms, tolerance_ms, &history, &recent)
        }
    }
}

fn evaluate_simple(factor: f64, history: &mut [(i64, f64)], recent: &[(i64, f64)]) -> Verdict {
    if history.len() < SIMPLE_MIN_HISTORY_POINTS {
        return Verdict::InsufficientData;
    }
    let mut values: Vec<f64> = history.iter().map(|p| p.1).collect();
    let baseline = median(&mut values);
    // A ratio to (nearly) nothing means nothing; a rule on a metric that is
    // normally zero wants a threshold, not a factor.
    if baseline <= EPSILON {
        return Verdict::Normal { score: 0.0 };
    }
    let score = recent
        .iter()
        .map(|p| p.1 / baseline)
        .fold(f64::INFINITY, f64::min)
        .clamp(-MAX_SCORE, MAX_SCORE);
    if score > factor {
        Verdict::Anomalous { score, baseline }
    } else {
        Verdict::Normal { score }
    }
}

fn evaluate_robust(
    threshold: f64,
    season_ms: i64,
    tolerance_ms: i64,
    history: &[(i64, f64)],
    recent: &[(i64, f64)],
) -> Verdict {
    let mut weakest = f64::INFINITY;
    let mut newest: Option<(i64, f64)> = None;
    for &(t, x) in recent {
        let Some((reference, scale)) = seasonal_reference(history, t, x, season_ms, tolerance_ms)
        else {
            return Verdict::InsufficientData;
        };
        let score = ((x - reference).abs() / scale).min(MAX_SCORE);
        weakest = weakest.min(score);
        if newest.is_none_or(|(newest_t, _)| t >= newest_t) {
            newest = Some((t, reference));
        }
    }
    match newest {
        Some((_, baseline)) if weakest > threshold => Verdict::Anomalous {
            score: weakest,
            baseline,
        },
        Some(_) => Verdict::Normal { score: weakest },
        None => Verdict::InsufficientData,
    }
}

/// The median of the per-season references for a point `(t, x)` and the
/// scale its deviation is measured in; `None` with fewer than
/// [`MIN_SEASONS`] seasons. `history` is sorted by time.
fn seasonal_reference(
    history: &[(i64, f64)],
    t: i64,
    x: f64,
    season_ms: i64,
    tolerance_ms: i64,
) -> Option<(f64, f64)> {
    let first = history.first()?.0;
    let mut references = Vec::new();
    for k in 1..=MAX_SEASONS_BACK {
        let Some(center) = k
            .checked_mul(season_ms)
            .and_then(|back| t.checked_sub(back))
        else {
            break;
        };
        let (low, high) = (
            center.saturating_sub(tolerance_ms),
            center.saturating_add(tolerance_ms),
        );
        if high < first {
            break;
        }
        let start = history.partition_point(|p| p.0 < low);
        let end = history.partition_point(|p| p.0 <= high);
        let closest = history[start..end]
            .iter()
            .map(|p| p.1)
            .min_by(|a, b| (a - x).abs().total_cmp(&(b - x).abs()));
        if let Some(v) = closest {
            references.push(v);
        }
    }
    if references.len() < MIN_SEASONS {
        return None;
    }
    let reference = median(&mut references);
    let mut deviations: Vec<f64> = references.iter().map(|v| (v - reference).abs()).collect();
    let mad = median(&mut deviations);
    let scale = (MAD_TO_SIGMA * mad)
        .max(RELATIVE_SCALE_FLOOR * reference.abs())
        .max(EPSILON);
    Some((reference, scale))
}

/// The median of finite values; reorders `values`. Not called with none.
fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (below, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const STEP: i64 = 5 * MINUTE;
    /// 2024-01-01T00:00:00Z.
    const T0: i64 = 1_704_067_200_000;

    /// splitmix64: deterministic noise without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Roughly normal with standard deviation `sigma` (Irwin–Hall, n = 12).
        fn noise(&mut self, sigma: f64) -> f64 {
            ((0..12).map(|_| self.uniform()).sum::<f64>() - 6.0) * sigma
        }
    }

    /// 100 ± 5, and 500 ± 5 in the 03:00 bucket of every day.
    fn usual_level(t: i64, rng: &mut Rng) -> f64 {
        let spike = (t - T0).rem_euclid(DAY) == 3 * HOUR;
        let level = if spike { 500.0 } else { 100.0 };
        level + rng.noise(5.0)
    }

    fn series(
        from: i64,
        to: i64,
        rng: &mut Rng,
        f: impl Fn(i64, &mut Rng) -> f64,
    ) -> Vec<(i64, f64)> {
        (0..)
            .map(|i| from + i * STEP)
            .take_while(|&t| t < to)
            .map(|t| (t, f(t, rng)))
            .collect()
    }

    /// 14 days of usual history before day 15 (T0 + 14 days).
    fn history(rng: &mut Rng) -> Vec<(i64, f64)> {
        series(T0, T0 + 14 * DAY, rng, usual_level)
    }

    const DAY15: i64 = T0 + 14 * DAY;

    fn is_anomalous(v: Verdict) -> bool {
        matches!(v, Verdict::Anomalous { .. })
    }

    #[test]
    fn daily_spike_is_normal_at_its_time() {
        let mut rng = Rng(1);
        let h = history(&mut rng);
        let mode = AnomalyMode::robust();
        let spike = [(DAY15 + 3 * HOUR, 500.0 + rng.noise(5.0))];
        let v = evaluate(&mode, &h, &spike);
        assert!(
            matches!(v, Verdict::Normal { score } if score < 1.0),
            "{v:?}"
        );
        // A few minutes late still matches the earlier days' spikes.
        let late = [(DAY15 + 3 * HOUR + 10 * MINUTE, 505.0)];
        assert!(!is_anomalous(evaluate(&mode, &h, &late)));
        // The same spike at noon is anomalous.
        let noon = [(DAY15 + 12 * HOUR, 500.0)];
        let v = evaluate(&mode, &h, &noon);
        assert!(
            matches!(v, Verdict::Anomalous { score, .. } if score > 10.0),
            "{v:?}"
        );
    }

    #[test]
    fn a_usual_day_never_fires() {
        let mut rng = Rng(2);
        let h = history(&mut rng);
        let day = series(DAY15, DAY15 + DAY, &mut rng, usual_level);
        let mode = AnomalyMode::robust();
        for window in day.windows(3) {
            let v = evaluate(&mode, &h, window);
            assert!(!is_anomalous(v), "at {}: {v:?}", window[2].0);
        }
        // Even single points (no `for` window) stay normal.
        let fired = day
            .iter()
            .filter(|p| is_anomalous(evaluate(&mode, &h, std::slice::from_ref(p))))
            .count();
        assert_eq!(fired, 0);
    }

    #[test]
    fn level_shift_fires_at_any_time_of_day() {
        let mut rng = Rng(3);
        let h = history(&mut rng);
        let mode = AnomalyMode::robust();
        for hour in [0, 3, 10, 17, 23] {
            let from = DAY15 + hour * HOUR;
            let recent = series(from, from + 30 * MINUTE, &mut rng, |_, r| {
                200.0 + r.noise(10.0)
            });
            let v = evaluate(&mode, &h, &recent);
            match v {
                Verdict::Anomalous { score, baseline } => {
                    assert!(score > DEFAULT_ROBUST_THRESHOLD, "{hour}:00 {v:?}");
                    assert!((95.0..=120.0).contains(&baseline), "{hour}:00 {v:?}");
                }
                _ => panic!("{hour}:00: {v:?}"),
            }
        }
    }

    #[test]
    fn a_drop_fires_too() {
        let mut rng = Rng(4);
        let h = history(&mut rng);
        let from = DAY15 + 14 * HOUR;
        let recent = series(from, from + 15 * MINUTE, &mut rng, |_, _| 0.0);
        assert!(is_anomalous(evaluate(&AnomalyMode::robust(), &h, &recent)));
    }

    #[test]
    fn one_blip_does_not_fire_a_window() {
        let mut rng = Rng(5);
        let h = history(&mut rng);
        let t = DAY15 + 14 * HOUR;
        let mode = AnomalyMode::robust();
        let blip = [(t, 101.0), (t + STEP, 98.0), (t + 2 * STEP, 400.0)];
        let v = evaluate(&mode, &h, &blip);
        assert!(matches!(v, Verdict::Normal { .. }), "{v:?}");
        assert!(is_anomalous(evaluate(&mode, &h, &blip[2..])));
        // The window's score is its least anomalous point's.
        let Verdict::Normal { score } = v else {
            unreachable!()
        };
        let Verdict::Normal { score: first } = evaluate(&mode, &h, &blip[..1]) else {
            panic!()
        };
        let Verdict::Normal { score: second } = evaluate(&mode, &h, &blip[1..2]) else {
            panic!()
        };
        assert_eq!(score, first.min(second));
    }

    #[test]
    fn robust_needs_three_seasons() {
        let mut rng = Rng(6);
        let h = series(T0, T0 + 2 * DAY + 12 * HOUR, &mut rng, usual_level);
        let recent = [(T0 + 2 * DAY + 13 * HOUR, 300.0)];
        assert_eq!(
            evaluate(&AnomalyMode::robust(), &h, &recent),
            Verdict::InsufficientData
        );
        let h = series(T0, T0 + 3 * DAY, &mut rng, usual_level);
        let recent = [(T0 + 3 * DAY + 13 * HOUR, 300.0)];
        assert!(is_anomalous(evaluate(&AnomalyMode::robust(), &h, &recent)));
        // A gap at that time of day on all but two days is not enough either.
        let gappy: Vec<_> = series(T0, T0 + 14 * DAY, &mut rng, usual_level)
            .into_iter()
            .filter(|p| p.0 >= T0 + 12 * DAY || (p.0 - T0).rem_euclid(DAY) < 10 * HOUR)
            .collect();
        assert_eq!(
            evaluate(
                &AnomalyMode::robust(),
                &gappy,
                &[(DAY15 + 12 * HOUR, 300.0)]
            ),
            Verdict::InsufficientData
        );
    }

    #[test]
    fn nothing_recent_is_insufficient() {
        let mut rng = Rng(7);
        let h = history(&mut rng);
        for mode in [AnomalyMode::robust(), AnomalyMode::Simple { factor: 3.0 }] {
            assert_eq!(evaluate(&mode, &h, &[]), Verdict::InsufficientData);
            assert_eq!(
                evaluate(&mode, &h, &[(DAY15, f64::NAN)]),
                Verdict::InsufficientData
            );
            assert_eq!(
                evaluate(&mode, &[], &[(DAY15, 1.0)]),
                Verdict::InsufficientData
            );
        }
    }

    #[test]
    fn nan_and_infinite_history_points_are_ignored() {
        let mut rng = Rng(8);
        let mut h = history(&mut rng);
        for (i, p) in h.iter_mut().enumerate() {
            match i % 10 {
                0 => p.1 = f64::NAN,
                5 if i % 20 == 5 => p.1 = f64::INFINITY,
                _ => {}
            }
        }
        let mode = AnomalyMode::robust();
        let normal = [(DAY15 + 12 * HOUR, 101.0)];
        let v = evaluate(&mode, &h, &normal);
        assert!(
            matches!(v, Verdict::Normal { score } if score.is_finite()),
            "{v:?}"
        );
        let shifted = [
            (DAY15 + 12 * HOUR, 210.0),
            (DAY15 + 12 * HOUR + STEP, 190.0),
        ];
        let v = evaluate(&mode, &h, &shifted);
        assert!(
            matches!(v, Verdict::Anomalous { score, baseline } if score.is_finite() && baseline.is_finite()),
            "{v:?}"
        );
        let v = evaluate(&AnomalyMode::Simple { factor: 3.0 }, &h, &[(DAY15, 450.0)]);
        assert!(is_anomalous(v), "{v:?}");
        // NaN among the recent points is skipped, not a reason to stay quiet.
        let with_nan = [
            (DAY15 + 12 * HOUR, 210.0),
            (DAY15 + 12 * HOUR + STEP, f64::NAN),
        ];
        assert!(is_anomalous(evaluate(&mode, &h, &with_nan)));
    }

    #[test]
    fn flat_zero_history_does_not_divide_by_zero() {
        let mut rng = Rng(9);
        let zeros = series(T0, DAY15, &mut rng, |_, _| 0.0);
        let robust = AnomalyMode::robust();
        assert_eq!(
            evaluate(&robust, &zeros, &[(DAY15 + HOUR, 0.0)]),
            Verdict::Normal { score: 0.0 }
        );
        match evaluate(&robust, &zeros, &[(DAY15 + HOUR, 5.0)]) {
            Verdict::Anomalous { score, baseline } => {
                assert!(score.is_finite() && score <= MAX_SCORE);
                assert_eq!(baseline, 0.0);
            }
            v => panic!("{v:?}"),
        }
        let simple = AnomalyMode::Simple { factor: 3.0 };
        assert_eq!(
            evaluate(&simple, &zeros, &[(DAY15 + HOUR, 5.0)]),
            Verdict::Normal { score: 0.0 }
        );
        assert_eq!(
            evaluate(&simple, &zeros, &[(DAY15 + HOUR, 0.0)]),
            Verdict::Normal { score: 0.0 }
        );
    }

    #[test]
    fn flat_history_tolerates_small_wiggles() {
        let mut rng = Rng(10);
        let flat = series(T0, DAY15, &mut rng, |_, _| 8000.0);
        let robust = AnomalyMode::robust();
        let v = evaluate(&robust, &flat, &[(DAY15 + HOUR, 8100.0)]);
        assert!(matches!(v, Verdict::Normal { .. }), "{v:?}");
        let v = evaluate(&robust, &flat, &[(DAY15 + HOUR, 10_000.0)]);
        assert!(matches!(v, Verdict::Anomalous { .. }), "{v:?}");
    }

    #[test]
    fn simple_fires_on_4x_not_2x() {
        let mut rng = Rng(11);
        let h = series(T0, DAY15, &mut rng, |_, r| 100.0 + r.noise(5.0));
        let mode = AnomalyMode::Simple { factor: 3.0 };
        let t = DAY15 + HOUR;
        match evaluate(&mode, &h, &[(t, 400.0), (t + STEP, 410.0)]) {
            Verdict::Anomalous { score, baseline } => {
                assert!((3.8..4.2).contains(&score), "{score}");
                assert!((98.0..102.0).contains(&baseline), "{baseline}");
            }
            v => panic!("{v:?}"),
        }
        match evaluate(&mode, &h, &[(t, 200.0)]) {
            Verdict::Normal { score } => assert!((1.9..2.1).contains(&score), "{score}"),
            v => panic!("{v:?}"),
        }
        // Every recent point must exceed the factor.
        assert!(!is_anomalous(evaluate(
            &mode,
            &h,
            &[(t, 400.0), (t + STEP, 250.0)]
        )));
        // Below the baseline is not what simple mode looks for.
        assert!(!is_anomalous(evaluate(&mode, &h, &[(t, 0.0)])));
    }

    #[test]
    fn simple_baseline_is_the_median() {
        let mut rng = Rng(12);
        // Two hours at 50× in the history barely move a median.
        let h = series(T0, DAY15, &mut rng, |t, r| {
            if (T0 + 10 * DAY..T0 + 10 * DAY + 2 * HOUR).contains(&t) {
                5000.0
            } else {
                100.0 + r.noise(5.0)
            }
        });
        let v = evaluate(&AnomalyMode::Simple { factor: 3.0 }, &h, &[(DAY15, 350.0)]);
        assert!(is_anomalous(v), "{v:?}");
    }

    #[test]
    fn simple_needs_some_history() {
        let h: Vec<_> = (0..SIMPLE_MIN_HISTORY_POINTS as i64 - 1)
            .map(|i| (T0 + i * STEP, 100.0))
            .collect();
        let recent = [(T0 + DAY, 1000.0)];
        let mode = AnomalyMode::Simple { factor: 3.0 };
        assert_eq!(evaluate(&mode, &h, &recent), Verdict::InsufficientData);
        let mut h = h;
        h.push((T0 + 20 * STEP, 100.0));
        assert!(is_anomalous(evaluate(&mode, &h, &recent)));
    }

    #[test]
    fn overlapping_and_unsorted_history_give_the_same_verdict() {
        let mut rng = Rng(13);
        let h = history(&mut rng);
        let from = DAY15 + 9 * HOUR;
        let recent = series(from, from + 20 * MINUTE, &mut rng, |_, r| {
            200.0 + r.noise(5.0)
        });
        for mode in [AnomalyMode::robust(), AnomalyMode::Simple { factor: 1.5 }] {
            let expected = evaluate(&mode, &h, &recent);
            assert!(is_anomalous(expected), "{mode:?}");
            let mut overlapping = h.clone();
            overlapping.extend_from_slice(&recent);
            assert_eq!(evaluate(&mode, &overlapping, &recent), expected);
            let mut shuffled = h.clone();
            shuffled.reverse();
            shuffled.swap(10, 2000);
            assert_eq!(evaluate(&mode, &shuffled, &recent), expected);
        }
    }

    #[test]
    fn weekly_season() {
        let mut rng = Rng(14);
        // Busy on weekdays (T0 is a Monday), quiet at weekends.
        let weekly = |t: i64, r: &mut Rng| {
            let weekday = (t - T0).div_euclid(DAY).rem_euclid(7);
            (if weekday < 5 { 1000.0 } else { 100.0 }) + r.noise(10.0)
        };
        let h = series(T0, T0 + 35 * DAY, &mut rng, weekly);
        let weekly_mode = AnomalyMode::Robust {
            threshold: 4.0,
            season_ms: 7 * DAY,
            tolerance_ms: 30 * MINUTE,
        };
        // Monday after five weeks: busy is normal, weekend-quiet is not.
        let monday = T0 + 35 * DAY + 10 * HOUR;
        assert!(!is_anomalous(evaluate(
            &weekly_mode,
            &h,
            &[(monday, 1005.0)]
        )));
        assert!(is_anomalous(evaluate(&weekly_mode, &h, &[(monday, 100.0)])));
        // A busy Saturday: unusual for Saturdays, though most days are busy,
        // which is all a daily season sees.
        let saturday = T0 + 33 * DAY + 10 * HOUR;
        assert!(is_anomalous(evaluate(
            &weekly_mode,
            &h,
            &[(saturday, 1000.0)]
        )));
        let daily_says = evaluate(&AnomalyMode::robust(), &h, &[(saturday, 1000.0)]);
        assert!(!is_anomalous(daily_says), "{daily_says:?}");
    }

    #[test]
    fn invalid_modes() {
        let bad = [
            (AnomalyMode::Simple { factor: 1.0 }, "factor"),
            (AnomalyMode::Simple { factor: f64::NAN }, "factor"),
            (
                AnomalyMode::Robust {
                    threshold: 0.0,
                    season_ms: DAY,
                    tolerance_ms: 0,
                },
                "threshold",
            ),
            (
                AnomalyMode::Robust {
                    threshold: 4.0,
                    season_ms: 0,
                    tolerance_ms: 0,
                },
                "season_ms",
            ),
            (
                AnomalyMode::Robust {
                    threshold: 4.0,
                    season_ms: DAY,
                    tolerance_ms: DAY / 2,
                },
                "tolerance_ms",
            ),
            (
                AnomalyMode::Robust {
                    threshold: 4.0,
                    season_ms: DAY,
                    tolerance_ms: -1,
                },
                "tolerance_ms",
            ),
        ];
        let mut rng = Rng(15);
        let h = history(&mut rng);
        for (mode, field) in bad {
            assert_eq!(mode.validate().unwrap_err().field, field, "{mode:?}");
            assert_eq!(
                evaluate(&mode, &h, &[(DAY15, 1e6)]),
                Verdict::InsufficientData
            );
        }
        assert!(AnomalyMode::robust().validate().is_ok());
        assert!(AnomalyMode::Simple { factor: 3.0 }.validate().is_ok());
    }

    #[test]
    fn serde_shapes() {
        let robust: AnomalyMode = serde_json::from_str(r#"{"mode": "robust"}"#).unwrap();
        assert_eq!(robust, AnomalyMode::robust());
        let custom: AnomalyMode =
            serde_json::from_str(r#"{"mode": "robust", "threshold": 6, "season_ms": 604800000}"#)
                .unwrap();
        assert_eq!(
            custom,
            AnomalyMode::Robust {
                threshold: 6.0,
                season_ms: 7 * DAY,
                tolerance_ms: DEFAULT_TOLERANCE_MS
            }
        );
        let simple: AnomalyMode =
            serde_json::from_str(r#"{"mode": "simple", "factor": 3}"#).unwrap();
        assert_eq!(simple, AnomalyMode::Simple { factor: 3.0 });
        assert!(serde_json::from_str::<AnomalyMode>(r#"{"mode": "simple"}"#).is_err());
        assert!(
            serde_json::from_str::<AnomalyMode>(r#"{"mode": "simple", "factor": 3, "x": 1}"#)
                .is_err()
        );
        assert_eq!(
            serde_json::to_value(Verdict::Anomalous {
                score: 5.0,
                baseline: 100.0
            })
            .unwrap(),
            serde_json::json!({"verdict": "anomalous", "score": 5.0, "baseline": 100.0})
        );
        assert_eq!(
            serde_json::to_value(Verdict::InsufficientData).unwrap(),
            serde_json::json!({"verdict": "insufficient_data"})
        );
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [7.0]), 7.0);
        assert!(median(&mut []).is_nan());
    }
}
