//! Exponential backoff with jitter for retrying the server.

use std::time::Duration;

/// First retry delay.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub const MAX: Duration = Duration::from_secs(300);

/// Doubles the delay after each failure, from [`INITIAL`] up to [`MAX`], and
/// picks each actual delay at random in its upper half, so a fleet that lost
/// its server at the same moment does not come back in lockstep.
#[derive(Debug)]
pub struct Backoff {
    failures: u32,
    max: Duration,
    rng: u64,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff::with_max(MAX)
    }

    /// A backoff whose delays stop growing at `max` instead of [`MAX`]
    /// (the command channel is interactive and retries sooner).
    pub fn with_max(max: Duration) -> Backoff {
        // Seed from the clock and pid: only needs to differ between agents.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Backoff {
            failures: 0,
            max: max.max(INITIAL),
            rng: (nanos ^ ((std::process::id() as u64) << 32)) | 1,
        }
    }

    /// The delay before the next attempt after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = INITIAL
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        let fraction = 0.5 + 0.5 * self.random_unit();
        ceiling.mul_f64(fraction)
    }

    /// Forgets past failures after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// xorshift64*: plenty for jitter, no dependency.
    fn random_unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_jitter() {
        let mut b = Backoff::new();
        let mut ceiling = INITIAL;
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(d <= ceiling && d >= ceiling / 2, "{d:?} vs {ceiling:?}");
            ceiling = (ceiling * 2).min(MAX);
        }
        assert!(b.next_delay() >= MAX / 2);
        b.reset();
        assert!(b.next_delay() <= INITIAL);
    }

    #[test]
    fn a_lower_cap_is_honoured() {
        let mut b = Backoff::with_max(Duration::from_secs(30));
        let delays: Vec<Duration> = (0..12).map(|_| b.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(delays[11] >= Duration::from_secs(15));
    }

    #[test]
    fn jitter_varies() {
        let mut b = Backoff::new();
        let delays: Vec<Duration> = (0..10)
            .map(|_| {
                b.reset();
                b.next_delay()
            })
            .collect();
        assert!(delays.windows(2).any(|w| w[0] != w[1]));
    }
}
