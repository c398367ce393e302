//! What is sent: one notification about one rule, grouping its alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why the notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Firing,
    Resolved,
    /// A test sent from the channel's settings page.
    Test,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Firing => "firing",
            NotificationStatus::Resolved => "resolved",
            NotificationStatus::Test => "test",
        }
    }
}

/// One message to one channel. A notification may group several alerts of
/// one rule (e.g. the same rule firing on several hosts).
///
/// Serialized as is (plus `"version": "1"`) as the generic webhook's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub status: NotificationStatus,
    /// The rule's name (`High CPU`) or `Test notification from lxmon`.
    pub title: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub alerts: Vec<AlertItem>,
    /// Dashboard URL, when the server knows its public address.
    #[serde(default)]
    pub link: Option<String>,
}

/// One alert (one label set of one rule) in a notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertItem {
    pub fingerprint: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub summary: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The value that crossed the threshold, when there is one.
    #[serde(default)]
    pub value: Option<f64>,
    /// Milliseconds since the Unix epoch.
    pub starts_at_ms: i64,
    #[serde(default)]
    pub ends_at_ms: Option<i64>,
}

impl AlertItem {
    pub(crate) fn is_resolved(&self) -> bool {
        self.status.eq_ignore_ascii_case("resolved")
    }
}

impl Notification {
    /// A test notification, as the server sends from a channel's page.
    pub fn test(tenant: Option<String>, link: Option<String>) -> Notification {
        Notification {
            status: NotificationStatus::Test,
            title: "Test notification from lxmon".to_owned(),
            severity: "info".to_owned(),
            rule: None,
            tenant,
            alerts: Vec::new(),
            link,
        }
    }
}
