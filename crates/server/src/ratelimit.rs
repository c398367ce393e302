//! Counting failures (bad passwords, bad agent keys) per key (an account, a
//! client address) in a fixed window, to refuse brute force with 429.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Entries kept before expired ones are swept, bounding memory under attack.
const SWEEP_AT: usize = 10_000;

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration) -> FailureLimiter {
        FailureLimiter {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while `key` has used up its failures.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((start, count))
                if *count >= self.max_failures && start.elapsed() < self.window =>
            {
                Err((self.window - start.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SWEEP_AT {
            let window = self.window;
            entries.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    pub fn reset(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_the_window_ends() {
        let l = FailureLimiter::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
            l.fail("a");
        }
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok(), "keys are independent");
        std::thread::sleep(Duration::from_millis(250));
        assert!(l.check("a").is_ok());
        l.fail("a");
        l.reset("a");
        assert!(l.check("a").is_ok());
    }
}
