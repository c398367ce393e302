//! Alerting logic for lxmon (DESIGN §7), free of I/O so every rule of it is
//! unit-testable: the server's `alert` module feeds it samples, check states
//! and the clock, stores what it decides and sends the notifications.

pub mod anomaly;
pub mod eval;
pub mod incoming;
pub mod matcher;
pub mod noise;
pub mod rule;
pub mod schedule;
pub mod template;
