//! Attempts with doubling backoff, shared by every channel.

use std::time::Duration;

use crate::SendOptions;
use crate::error::NotifyError;

/// The longest a `Retry-After` (or Telegram's `retry_after`) is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The longest pause between two attempts otherwise.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// One failed attempt: the error, and how long the server asked us to wait.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: NotifyError,
    pub retry_after: Option<Duration>,
}

impl From<NotifyError> for Failure {
    fn from(error: NotifyError) -> Failure {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// Runs `once` until it succeeds, fails for good, or `opts.attempts` are
/// used; `total` counts every attempt made.
pub(crate) fn retrying<T>(
    opts: &SendOptions,
    total: &mut u32,
    mut once: impl FnMut() -> Result<T, Failure>,
) -> Result<T, NotifyError> {
    let max = opts.attempts.max(1);
    let mut backoff = opts.backoff;
    let mut made = 0;
    loop {
        made += 1;
        *total += 1;
        match once() {
            Ok(v) => return Ok(v),
            Err(f) if !f.error.is_retryable() || made >= max => return Err(f.error),
            Err(f) => {
                let wait = match f.retry_after {
                    Some(ra) => ra.min(MAX_RETRY_AFTER),
                    None => backoff,
                };
                std::thread::sleep(wait);
                backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
            }
        }
    }
}
