//! The life of one alert condition: normal → pending → firing → resolved,
//! with a `for` duration and hysteresis. One [`Tracker`] per rule and series
//! (host and labels); the server feeds it observations as samples arrive and
//! ticks it so a `for` elapses even between reports.

use serde::{Deserialize, Serialize};

/// Where a condition stands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Phase {
    Normal,
    /// Breaching since `since`, not yet for long enough.
    Pending {
        since: i64,
    },
    /// Fired at `since`.
    Firing {
        since: i64,
    },
}

/// A change the server must store (and maybe notify).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Breaching, waiting for `for` to elapse.
    Pending,
    Firing,
    Resolved,
    /// The breach ended before `for` elapsed: forget the pending alert.
    Cancelled,
}

/// What one observation says about the condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The condition holds (e.g. value > threshold).
    pub breaching: bool,
    /// The condition is clearly over (value back past the clear threshold);
    /// between the two thresholds a firing alert stays firing.
    pub cleared: bool,
    pub value: Option<f64>,
}

impl Observation {
    /// A yes/no condition (host offline, check down): no hysteresis band.
    pub fn flag(breaching: bool) -> Observation {
        Observation {
            breaching,
            cleared: !breaching,
            value: None,
        }
    }

    /// The same observation, carrying the value it was made of.
    pub fn with_value(self, value: f64) -> Observation {
        Observation {
            value: Some(value),
            ..self
        }
    }

    /// `op(value, threshold)` with a clear threshold (hysteresis).
    pub fn threshold(op: crate::rule::Op, value: f64, threshold: f64, clear: Option<f64>) -> Self {
        Observation {
            breaching: op.breaches(value, threshold),
            cleared: !op.breaches(value, clear.unwrap_or(threshold)),
            value: Some(value),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tracker {
    pub phase: Phase,
    /// The last observation, for `tick` and the alert's value.
    pub last: Option<Observation>,
    pub last_seen: i64,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            phase: Phase::Normal,
            last: None,
            last_seen: 0,
        }
    }
}

impl Tracker {
    /// A tracker restored from a stored open alert.
    pub fn restored(phase: Phase, now: i64) -> Tracker {
        Tracker {
            phase,
            last: None,
            last_seen: now,
        }
    }

    pub fn observe(&mut self, now: i64, obs: Observation, for_ms: i64) -> Option<Transition> {
        self.last = Some(obs);
        self.last_seen = now;
        match self.phase {
            Phase::Normal if obs.breaching => {
                if for_ms <= 0 {
                    self.phase = Phase::Firing { since: now };
                    Some(Transition::Firing)
                } else {
                    self.phase = Phase::Pending { since: now };
                    Some(Transition::Pending)
                }
            }
            Phase::Normal => None,
            Phase::Pending { since } => {
                if !obs.breaching {
                    self.phase = Phase::Normal;
                    Some(Transition::Cancelled)
                } else if now - since >= for_ms {
                    self.phase = Phase::Firing { since: now };
                    Some(Transition::Firing)
                } else {
                    None
                }
            }
            Phase::Firing { .. } if obs.cleared => {
                self.phase = Phase::Normal;
                Some(Transition::Resolved)
            }
            Phase::Firing { .. } => None,
        }
    }

    /// Promotes a pending condition whose `for` has elapsed while the last
    /// observation still breached.
    pub fn tick(&mut self, now: i64, for_ms: i64) -> Option<Transition> {
        match (self.phase, self.last) {
            (Phase::Pending { since }, Some(obs)) if obs.breaching && now - since >= for_ms => {
                self.phase = Phase::Firing { since: now };
                Some(Transition::Firing)
            }
            _ => None,
        }
    }

    /// The condition can no longer be observed (rule or host removed).
    pub fn end(&mut self) -> Option<Transition> {
        let t = match self.phase {
            Phase::Normal => None,
            Phase::Pending { .. } => Some(Transition::Cancelled),
            Phase::Firing { .. } => Some(Transition::Resolved),
        };
        self.phase = Phase::Normal;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Op;

    fn cpu(v: f64) -> Observation {
        Observation::threshold(Op::Gt, v, 90.0, Some(80.0))
    }

    #[test]
    fn for_zero_fires_on_the_first_breach() {
        let mut t = Tracker::default();
        assert_eq!(t.observe(0, cpu(50.0), 0), None);
        assert_eq!(t.observe(10, cpu(95.0), 0), Some(Transition::Firing));
        assert_eq!(t.observe(20, cpu(96.0), 0), None);
        assert_eq!(t.phase, Phase::Firing { since: 10 });
    }

    #[test]
    fn for_waits_and_a_short_breach_is_cancelled() {
        let mut t = Tracker::default();
        assert_eq!(t.observe(0, cpu(95.0), 60_000), Some(Transition::Pending));
        assert_eq!(t.observe(30_000, cpu(95.0), 60_000), None);
        assert_eq!(
            t.observe(40_000, cpu(50.0), 60_000),
            Some(Transition::Cancelled)
        );
        assert_eq!(t.phase, Phase::Normal);
        assert_eq!(
            t.observe(50_000, cpu(95.0), 60_000),
            Some(Transition::Pending)
        );
        assert_eq!(
            t.observe(110_000, cpu(95.0), 60_000),
            Some(Transition::Firing)
        );
    }

    #[test]
    fn tick_promotes_a_pending_breach_between_reports() {
        let mut t = Tracker::default();
        t.observe(0, cpu(95.0), 5_000);
        assert_eq!(t.tick(4_000, 5_000), None);
        assert_eq!(t.tick(5_000, 5_000), Some(Transition::Firing));
        assert_eq!(t.tick(6_000, 5_000), None);
    }

    #[test]
    fn hysteresis_keeps_firing_between_the_thresholds() {
        let mut t = Tracker::default();
        t.observe(0, cpu(95.0), 0);
        assert_eq!(
            t.observe(1, cpu(85.0), 0),
            None,
            "85 is below 90 but above the clear 80"
        );
        assert_eq!(t.observe(2, cpu(80.0), 0), Some(Transition::Resolved));
        assert_eq!(t.observe(3, cpu(85.0), 0), None, "85 does not breach 90");
    }

    #[test]
    fn flags_and_end() {
        let mut t = Tracker::default();
        assert_eq!(
            t.observe(0, Observation::flag(true), 0),
            Some(Transition::Firing)
        );
        assert_eq!(t.end(), Some(Transition::Resolved));
        assert_eq!(t.end(), None);
        t.observe(0, Observation::flag(true), 10);
        assert_eq!(t.end(), Some(Transition::Cancelled));
    }
}
