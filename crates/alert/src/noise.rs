//! Who hears about an alert, and when not: silences, recurring maintenance
//! windows, routing to channels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::matcher::{Matcher, matches_all};
use crate::rule::Severity;
use crate::schedule::MaintenanceWindow;

/// Mutes matching alerts between two instants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Silence {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub matchers: Vec<Matcher>,
    /// Unix ms; defaults to the time of creation.
    #[serde(default)]
    pub starts_at: Option<i64>,
    pub ends_at: i64,
    #[serde(default)]
    pub comment: String,
}

impl Silence {
    pub fn validate(&self, now_ms: i64) -> Result<(), NoiseError> {
        if self.matchers.is_empty() {
            return Err(NoiseError::new(
                "matchers",
                "a silence needs at least one matcher (it would mute everything)",
            ));
        }
        if self.matchers.len() > 32 {
            return Err(NoiseError::new("matchers", "at most 32 matchers"));
        }
        let start = self.starts_at.unwrap_or(now_ms);
        if self.ends_at <= start {
            return Err(NoiseError::new("ends_at", "must be after starts_at"));
        }
        if self.ends_at <= now_ms {
            return Err(NoiseError::new("ends_at", "must be in the future"));
        }
        if self.comment.len() > 1024 {
            return Err(NoiseError::new("comment", "at most 1024 bytes"));
        }
        Ok(())
    }

    pub fn mutes(&self, now_ms: i64, labels: &BTreeMap<String, String>) -> bool {
        self.starts_at.is_none_or(|s| s <= now_ms)
            && now_ms < self.ends_at
            && matches_all(&self.matchers, labels)
    }
}

/// A recurring window (e.g. Sundays 02:00–04:00) during which matching
/// alerts are not notified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    pub name: String,
    /// Empty: every alert of the tenant.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub matchers: Vec<Matcher>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub window: MaintenanceWindow,
}

impl Maintenance {
    pub fn validate(&self) -> Result<(), NoiseError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(NoiseError::new("name", "must be 1 to 128 characters"));
        }
        if self.matchers.len() > 32 {
            return Err(NoiseError::new("matchers", "at most 32 matchers"));
        }
        self.window
            .validate()
            .map_err(|e| NoiseError::new("cron", e.to_string()))
    }

    pub fn mutes(&self, now_ms: i64, labels: &BTreeMap<String, String>) -> bool {
        matches_all(&self.matchers, labels) && self.window.active_at(now_ms)
    }
}

/// Where alerts go: the first matching route (and the ones after it while
/// `continue` is set); the default channels when none matches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Routing {
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub default_channels: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Empty: any severity.
    #[serde(default)]
    pub severities: Vec<Severity>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub matchers: Vec<Matcher>,
    pub channels: Vec<i64>,
    /// Keep looking at later routes after this one matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

impl Routing {
    pub fn validate(&self, channel_exists: &dyn Fn(i64) -> bool) -> Result<(), NoiseError> {
        if self.routes.len() > 100 {
            return Err(NoiseError::new("routes", "at most 100 routes"));
        }
        let all = self
            .routes
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                r.channels
                    .iter()
                    .map(move |c| (format!("routes[{i}].channels"), *c))
            })
            .chain(
                self.default_channels
                    .iter()
                    .map(|c| ("default_channels".to_string(), *c)),
            );
        for (field, id) in all {
            if !channel_exists(id) {
                return Err(NoiseError::new(&field, format!("no channel {id}")));
            }
        }
        Ok(())
    }

    /// The channels an alert with this severity and these labels goes to,
    /// each once, in route order.
    pub fn channels_for(&self, severity: Severity, labels: &BTreeMap<String, String>) -> Vec<i64> {
        let mut out: Vec<i64> = Vec::new();
        let mut matched = false;
        for route in &self.routes {
            let severity_ok = route.severities.is_empty() || route.severities.contains(&severity);
            if severity_ok && matches_all(&route.matchers, labels) {
                matched = true;
                for c in &route.channels {
                    if !out.contains(c) {
                        out.push(*c);
                    }
                }
                if !route.continue_matching {
                    break;
                }
            }
        }
        if !matched {
            out.extend(self.default_channels.iter().copied());
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct NoiseError {
    pub field: String,
    pub message: String,
}

impl NoiseError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        NoiseError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn m(s: &str) -> Matcher {
        Matcher::parse(s).unwrap()
    }

    #[test]
    fn silences_mute_matching_alerts_in_their_window() {
        let s = Silence {
            matchers: vec![m("host=web-1")],
            starts_at: Some(1000),
            ends_at: 2000,
            comment: "deploy".into(),
        };
        let web1 = labels(&[("host", "web-1")]);
        assert!(!s.mutes(999, &web1));
        assert!(s.mutes(1000, &web1));
        assert!(!s.mutes(2000, &web1));
        assert!(!s.mutes(1500, &labels(&[("host", "web-2")])));
        assert!(s.validate(1500).is_ok());
        assert_eq!(s.validate(2500).unwrap_err().field, "ends_at");
        let empty = Silence {
            matchers: vec![],
            ..s
        };
        assert_eq!(empty.validate(1500).unwrap_err().field, "matchers");
    }

    #[test]
    fn routing_first_match_continue_and_default() {
        let r = Routing {
            routes: vec![
                Route {
                    severities: vec![Severity::Critical],
                    matchers: vec![],
                    channels: vec![1],
                    continue_matching: true,
                },
                Route {
                    severities: vec![],
                    matchers: vec![m("team=db")],
                    channels: vec![2, 1],
                    continue_matching: false,
                },
                Route {
                    severities: vec![],
                    matchers: vec![m("team=~.+")],
                    channels: vec![3],
                    continue_matching: false,
                },
            ],
            default_channels: vec![9],
        };
        let db = labels(&[("team", "db")]);
        assert_eq!(r.channels_for(Severity::Critical, &db), vec![1, 2]);
        assert_eq!(r.channels_for(Severity::Warning, &db), vec![2, 1]);
        assert_eq!(
            r.channels_for(Severity::Warning, &labels(&[("team", "web")])),
            vec![3]
        );
        assert_eq!(r.channels_for(Severity::Info, &labels(&[])), vec![9]);
        assert!(r.validate(&|id| id != 3).is_err());
        assert!(r.validate(&|_| true).is_ok());
    }
}
