//! Notification channels for lxmon (DESIGN §7).
