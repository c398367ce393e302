//! Query planning: which tier answers a query, at which step, and how points
//! fold into step buckets.

use std::collections::BTreeMap;

use super::{DEFAULT_POINTS, MAX_POINTS};
use crate::{Aggregation, Result, SeriesId, SeriesQuery, StoreError, Tier};

/// How long each tier is kept (FlexMON's tiers by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw_ms: i64,
    pub five_min_ms: i64,
    pub one_hour_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: i64 = 86_400_000;
        Retention {
            raw_ms: 7 * DAY,
            five_min_ms: 30 * DAY,
            one_hour_ms: 365 * DAY,
        }
    }
}

impl Retention {
    pub fn of(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Raw => self.raw_ms,
            Tier::FiveMin => self.five_min_ms,
            Tier::OneHour => self.one_hour_ms,
        }
    }
}

/// Steps a chart wants: round numbers of seconds.
const NICE_STEPS_S: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172800, 604800,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub tier: Tier,
    /// Bucket width; 0 returns raw points at their own timestamps.
    pub step_ms: i64,
    /// First bucket start (aligned to the step).
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Picks the tier and step for a query. `interval_ms` is the host's
/// reporting interval: a raw query whose step is no wider returns points as
/// stored, so series keep their exact report timestamps.
pub fn plan(q: &SeriesQuery, retention: &Retention, interval_ms: Option<i64>) -> Result<Plan> {
    if q.to_ms <= q.from_ms {
        return Err(StoreError::InvalidQuery("`to` must be after `from`".into()));
    }
    let span = q.to_ms - q.from_ms;
    let requested_ms = match q.step_s {
        Some(0) => {
            return Err(StoreError::InvalidQuery(
                "`step` must be at least 1 second".into(),
            ));
        }
        Some(s) => i64::from(s) * 1000,
        None => {
            let wanted_s = (span / DEFAULT_POINTS / 1000).max(1);
            NICE_STEPS_S
                .iter()
                .copied()
                .find(|&s| s >= wanted_s)
                .unwrap_or(*NICE_STEPS_S.last().expect("non-empty"))
                * 1000
        }
    };
    let age = q.now_ms - q.from_ms;
    let tier = if requested_ms < Tier::FiveMin.resolution_ms() && age <= retention.raw_ms {
        Tier::Raw
    } else if requested_ms < Tier::OneHour.resolution_ms() && age <= retention.five_min_ms {
        Tier::FiveMin
    } else {
        Tier::OneHour
    };
    let resolution = tier.resolution_ms();
    let step_ms = if tier == Tier::Raw {
        if interval_ms.is_some_and(|i| requested_ms <= i) {
            0
        } else {
            requested_ms
        }
    } else {
        // A rollup cannot be split: round the step up to whole buckets.
        (requested_ms + resolution - 1) / resolution * resolution
    };
    let start_ms = if step_ms == 0 {
        q.from_ms
    } else {
        q.from_ms.div_euclid(step_ms) * step_ms
    };
    let point_width = if step_ms == 0 {
        interval_ms.unwrap_or(1000).max(1)
    } else {
        step_ms
    };
    if (q.to_ms - start_ms) / point_width > MAX_POINTS {
        return Err(StoreError::InvalidQuery(format!(
            "step too small: the range would need more than {MAX_POINTS} points"
        )));
    }
    Ok(Plan {
        tier,
        step_ms,
        start_ms,
        end_ms: q.to_ms,
    })
}

#[derive(Debug, Clone, Copy)]
struct Acc {
    min: f64,
    max: f64,
    sum: f64,
    count: f64,
    last: f64,
    last_ts: i64,
}

impl Acc {
    const EMPTY: Acc = Acc {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        count: 0.0,
        last: f64::NAN,
        last_ts: i64::MIN,
    };

    fn value(&self, agg: Aggregation) -> Option<f64> {
        if self.count == 0.0 {
            return None;
        }
        Some(match agg {
            Aggregation::Avg => self.sum / self.count,
            Aggregation::Min => self.min,
            Aggregation::Max => self.max,
            Aggregation::Last => self.last,
        })
    }
}

/// Collects points into the plan's buckets (or, with step 0, at their own
/// timestamps) and produces the column-oriented answer.
pub struct Folder {
    plan: Plan,
    series: BTreeMap<SeriesId, BTreeMap<i64, Acc>>,
}

impl Folder {
    pub fn new(plan: Plan) -> Folder {
        Folder {
            plan,
            series: BTreeMap::new(),
        }
    }

    fn slot(&mut self, id: SeriesId, ts: i64) -> Option<&mut Acc> {
        if ts < self.plan.start_ms || ts > self.plan.end_ms {
            return None;
        }
        let key = if self.plan.step_ms == 0 {
            ts
        } else {
            (ts - self.plan.start_ms) / self.plan.step_ms * self.plan.step_ms + self.plan.start_ms
        };
        Some(
            self.series
                .entry(id)
                .or_default()
                .entry(key)
                .or_insert(Acc::EMPTY),
        )
    }

    /// Adds one raw point.
    pub fn add_raw(&mut self, id: SeriesId, ts: i64, v: f64) {
        if let Some(acc) = self.slot(id, ts) {
            acc.min = acc.min.min(v);
            acc.max = acc.max.max(v);
            acc.sum += v;
            acc.count += 1.0;
            if ts >= acc.last_ts {
                acc.last = v;
                acc.last_ts = ts;
            }
        }
    }

    /// Adds one rollup row (`[min, max, sum, count, last]`) of the bucket
    /// starting at `ts`.
    pub fn add_rollup(&mut self, id: SeriesId, ts: i64, row: &[f64]) {
        use super::chunk::{COL_COUNT, COL_LAST, COL_MAX, COL_MIN, COL_SUM};
        if let Some(acc) = self.slot(id, ts) {
            acc.min = acc.min.min(row[COL_MIN]);
            acc.max = acc.max.max(row[COL_MAX]);
            acc.sum += row[COL_SUM];
            acc.count += row[COL_COUNT];
            if ts >= acc.last_ts {
                acc.last = row[COL_LAST];
                acc.last_ts = ts;
            }
        }
    }

    /// Timestamps and, per series, one value per timestamp (`None` for gaps).
    /// With a step, every bucket of the range is present so gaps show.
    pub fn finish(self, agg: Aggregation) -> (Vec<i64>, BTreeMap<SeriesId, Vec<Option<f64>>>) {
        let timestamps: Vec<i64> = if self.plan.step_ms == 0 {
            let mut ts: Vec<i64> = self
                .series
                .values()
                .flat_map(|m| m.keys().copied())
                .collect();
            ts.sort_unstable();
            ts.dedup();
            ts
        } else {
            (self.plan.start_ms..=self.plan.end_ms)
                .step_by(self.plan.step_ms as usize)
                .collect()
        };
        let columns = self
            .series
            .into_iter()
            .map(|(id, accs)| {
                let values = timestamps
                    .iter()
                    .map(|t| accs.get(t).and_then(|a| a.value(agg)))
                    .collect();
                (id, values)
            })
            .collect();
        (timestamps, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    fn q(span: i64, step_s: Option<u32>) -> SeriesQuery {
        SeriesQuery {
            names: vec![],
            from_ms: NOW - span,
            to_ms: NOW,
            step_s,
            aggregation: Aggregation::Avg,
            now_ms: NOW,
        }
    }

    #[test]
    fn tiers_follow_the_range() {
        let r = Retention::default();
        let p = plan(&q(HOUR, None), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::Raw, 0));
        let p = plan(&q(DAY, None), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::Raw, 120_000));
        let p = plan(&q(7 * DAY, None), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::FiveMin, 900_000));
        let p = plan(&q(30 * DAY, None), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::OneHour, 3_600_000));
        let p = plan(&q(30 * DAY, Some(1200)), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::FiveMin, 1_200_000));
        let p = plan(&q(365 * DAY, None), &r, Some(10_000)).unwrap();
        assert_eq!(p.tier, Tier::OneHour);
        // A fine step over a range older than raw retention coarsens to the
        // finest rollup that still holds it.
        let p = plan(&q(10 * DAY, Some(10)), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::FiveMin, 300_000));
        let p = plan(&q(40 * DAY, Some(10)), &r, Some(10_000)).unwrap();
        assert_eq!((p.tier, p.step_ms), (Tier::OneHour, 3_600_000));
        // Too many points is refused rather than answered slowly.
        let p = plan(&q(DAY, Some(1)), &r, Some(1_000)).unwrap_err();
        assert!(matches!(p, StoreError::InvalidQuery(_)));
    }

    #[test]
    fn bad_ranges_are_refused() {
        let r = Retention::default();
        let mut bad = q(HOUR, None);
        bad.to_ms = bad.from_ms;
        assert!(plan(&bad, &r, None).is_err());
        assert!(plan(&q(HOUR, Some(0)), &r, None).is_err());
    }

    #[test]
    fn folding_buckets_and_gaps() {
        let plan = Plan {
            tier: Tier::Raw,
            step_ms: 10,
            start_ms: 0,
            end_ms: 30,
        };
        let mut f = Folder::new(plan);
        f.add_raw(1, 1, 2.0);
        f.add_raw(1, 5, 4.0);
        f.add_raw(1, 25, 7.0);
        let (ts, cols) = f.finish(Aggregation::Avg);
        assert_eq!(ts, vec![0, 10, 20, 30]);
        assert_eq!(cols[&1], vec![Some(3.0), None, Some(7.0), None]);
    }
}
