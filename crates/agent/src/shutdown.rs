//! Graceful shutdown: SIGTERM/SIGINT (or a programmatic trigger) wakes every
//! waiting thread at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A shared stop flag that threads can sleep on. Cheap to clone.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

/// Something to do the moment shutdown begins.
type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Inner {
    flag: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
    hooks: Mutex<Vec<Hook>>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks everything to stop. Idempotent.
    pub fn trigger(&self) {
        let hooks = {
            let mut hooks = self.inner.hooks.lock().unwrap_or_else(|e| e.into_inner());
            let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.inner.flag.store(true, Ordering::SeqCst);
            self.inner.wake.notify_all();
            std::mem::take(&mut *hooks)
        };
        for hook in hooks {
            hook();
        }
    }

    /// Runs `hook` once when shutdown begins (at once if it already has),
    /// for threads that wait on something else than this flag.
    pub fn on_trigger(&self, hook: impl FnOnce() + Send + 'static) {
        let mut hooks = self.inner.hooks.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_triggered() {
            drop(hooks);
            hook();
        } else {
            hooks.push(Box::new(hook));
        }
    }

    pub fn is_triggered(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Sleeps until `deadline` or a trigger, whichever comes first. Returns
    /// true when stopping.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        let mut guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_triggered() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.inner.wake.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Sleeps for `d` or until a trigger. Returns true when stopping.
    pub fn sleep(&self, d: Duration) -> bool {
        self.sleep_until(Instant::now() + d)
    }

    /// Turns SIGTERM and SIGINT into [`Shutdown::trigger`], from a small
    /// thread (signal handlers themselves may not take locks). A second
    /// signal while shutting down exits at once with status 130, for an
    /// operator who does not want to wait for a slow request.
    pub fn install_signal_handlers(&self) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
        let shutdown = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for signal in signals.forever() {
                    if shutdown.is_triggered() {
                        tracing::warn!(signal, "second signal; exiting now");
                        std::process::exit(130);
                    }
                    tracing::info!(signal, "stopping");
                    shutdown.trigger();
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_wakes_sleepers_early() {
        let s = Shutdown::new();
        let waiter = {
            let s = s.clone();
            std::thread::spawn(move || {
                let start = Instant::now();
                let stopped = s.sleep(Duration::from_secs(30));
                (stopped, start.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        s.trigger();
        let (stopped, took) = waiter.join().unwrap();
        assert!(stopped);
        assert!(took < Duration::from_secs(5));
        assert!(s.sleep(Duration::from_secs(30)), "stays triggered");
    }

    #[test]
    fn hooks_run_once_at_trigger_or_at_once_when_late() {
        use std::sync::atomic::AtomicU32;
        let s = Shutdown::new();
        let count = Arc::new(AtomicU32::new(0));
        let c = count.clone();
        s.on_trigger(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 0);
        s.trigger();
        s.trigger();
        assert_eq!(count.load(Ordering::SeqCst), 1);
        let c = count.clone();
        s.on_trigger(move || {
            c.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 11);
    }

    #[test]
    fn sleep_times_out_without_trigger() {
        let s = Shutdown::new();
        assert!(!s.sleep(Duration::from_millis(20)));
    }
}
