//! Server configuration: a TOML file, overridden by `LXMON_*` environment
//! variables, overridden by command-line flags (clap reads the environment
//! variable of each flag itself, so both arrive here as [`Overrides`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lxmon_store::Durability;
use lxmon_store::tsdb::plan::Retention;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.into(),
    }
}

/// The TOML file's shape. Every field is optional; see
/// `deploy/server.example.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// Seconds of silence after which a host is shown offline (mPanel: 5 min).
    pub offline_after_s: Option<u64>,
    /// "power" (fsync each group commit, default) or "process".
    pub durability: Option<String>,
    pub session_ttl_s: Option<u64>,
    pub maintenance_interval_s: Option<u64>,
    #[serde(default)]
    pub retention: RetentionFile,
    #[serde(default)]
    pub compat: CompatFile,
    #[serde(default)]
    pub alerts: AlertsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsFile {
    /// How often absence, anomaly and check-down rules are evaluated
    /// (threshold and ratio rules are evaluated as samples arrive).
    pub evaluation_interval_s: Option<u64>,
    /// How long the first notification of a group waits for alerts of the
    /// same rule on other hosts.
    pub group_wait_ms: Option<u64>,
    /// How long later alerts of a group wait to be sent together.
    pub group_interval_s: Option<u64>,
    /// The dashboard's address as users reach it, for links in notifications.
    pub dashboard_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionFile {
    pub raw_days: Option<u32>,
    pub five_min_days: Option<u32>,
    pub one_hour_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompatFile {
    /// CIDRs from which the Flask seed's `POST /api/metrics` is accepted
    /// without an agent key (for unmodified seed agents).
    #[serde(default)]
    pub allow_unauthenticated_from: Vec<String>,
}

/// Values given on the command line or in `LXMON_*` variables.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub offline_after_s: Option<u64>,
    pub durability: Option<String>,
    pub admin_password: Option<String>,
    pub allow_unauthenticated_from: Option<String>,
    pub alert_evaluation_interval_s: Option<u64>,
    pub alert_group_interval_s: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub offline_after: Duration,
    pub durability: Durability,
    pub retention: Retention,
    pub session_ttl: Duration,
    pub maintenance_interval: Duration,
    pub compat_allow: Vec<Cidr>,
    /// Initial `admin` password (first start only); generated when absent.
    pub admin_password: Option<String>,
    pub alerts: AlertSettings,
}

/// Timing of the alert engine (see [`AlertsFile`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    pub evaluation_interval: Duration,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub dashboard_url: Option<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            evaluation_interval: Duration::from_secs(60),
            group_wait: Duration::from_millis(200),
            group_interval: Duration::from_secs(30),
            dashboard_url: None,
        }
    }
}

impl ServerConfig {
    /// Defaults with `data_dir`, for tests and tools.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            listen: "0.0.0.0:8080".parse().expect("literal address"),
            data_dir: data_dir.into(),
            offline_after: Duration::from_secs(300),
            durability: Durability::Power,
            retention: Retention::default(),
            session_ttl: Duration::from_secs(3600),
            maintenance_interval: Duration::from_secs(60),
            compat_allow: Vec::new(),
            admin_password: None,
            alerts: AlertSettings::default(),
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("lxmon.sqlite")
    }

    pub fn load(overrides: &Overrides) -> Result<ServerConfig, ConfigError> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let mut config = ServerConfig::with_data_dir("lxmon-data");
        if let Some(listen) = overrides.listen.as_ref().or(file.listen.as_ref()) {
            config.listen = listen.parse().map_err(|e| {
                invalid(
                    "listen",
                    format!("{listen:?}: {e} (expected e.g. 0.0.0.0:8080)"),
                )
            })?;
        }
        if let Some(dir) = overrides.data_dir.as_ref().or(file.data_dir.as_ref()) {
            config.data_dir = dir.clone();
        }
        if let Some(s) = overrides.offline_after_s.or(file.offline_after_s) {
            if s == 0 {
                return Err(invalid("offline_after_s", "must be at least 1"));
            }
            config.offline_after = Duration::from_secs(s);
        }
        if let Some(d) = overrides.durability.as_ref().or(file.durability.as_ref()) {
            config.durability = match d.as_str() {
                "power" => Durability::Power,
                "process" => Durability::Process,
                other => {
                    return Err(invalid(
                        "durability",
                        format!("{other:?} (expected \"power\" or \"process\")"),
                    ));
                }
            };
        }
        if let Some(s) = file.session_ttl_s {
            config.session_ttl = Duration::from_secs(s.clamp(60, 86_400));
        }
        if let Some(s) = file.maintenance_interval_s {
            config.maintenance_interval = Duration::from_secs(s.max(1));
        }
        const DAY: i64 = 86_400_000;
        let r = &file.retention;
        for (days, slot) in [
            (r.raw_days, &mut config.retention.raw_ms),
            (r.five_min_days, &mut config.retention.five_min_ms),
            (r.one_hour_days, &mut config.retention.one_hour_ms),
        ] {
            if let Some(days) = days {
                if days == 0 {
                    return Err(invalid("retention", "every tier keeps at least 1 day"));
                }
                *slot = i64::from(days) * DAY;
            }
        }
        let cidrs: Vec<String> = match &overrides.allow_unauthenticated_from {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            None => file.compat.allow_unauthenticated_from.clone(),
        };
        config.compat_allow = cidrs
            .iter()
            .map(|c| {
                Cidr::parse(c).ok_or_else(|| {
                    invalid(
                        "compat.allow_unauthenticated_from",
                        format!("{c:?} is not a CIDR"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        config.admin_password = overrides.admin_password.clone().filter(|p| !p.is_empty());
        let a = &file.alerts;
        if let Some(s) = overrides
            .alert_evaluation_interval_s
            .or(a.evaluation_interval_s)
        {
            if !(1..=3600).contains(&s) {
                return Err(invalid("alerts.evaluation_interval_s", "must be 1 to 3600"));
            }
            config.alerts.evaluation_interval = Duration::from_secs(s);
        }
        if let Some(ms) = a.group_wait_ms {
            config.alerts.group_wait = Duration::from_millis(ms.min(60_000));
        }
        if let Some(s) = overrides.alert_group_interval_s.or(a.group_interval_s) {
            config.alerts.group_interval = Duration::from_secs(s.min(3600));
        }
        if let Some(url) = &a.dashboard_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("alerts.dashboard_url", "must be an http(s) URL"));
            }
            config.alerts.dashboard_url = Some(url.trim_end_matches('/').to_string());
        }
        Ok(config)
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// An address block such as `10.0.0.0/8` or `::1/128`; a bare address is a
/// block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(
            Cidr::parse("127.0.0.1")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("::1/128")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn the_shipped_example_parses_to_the_defaults() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/server.example.toml");
        let c = ServerConfig::load(&Overrides {
            config: Some(example),
            ..Default::default()
        })
        .unwrap();
        let d = ServerConfig::with_data_dir("./lxmon-data");
        assert_eq!(
            (
                c.listen,
                c.data_dir,
                c.offline_after,
                c.durability,
                c.retention,
                c.session_ttl
            ),
            (
                d.listen,
                d.data_dir,
                d.offline_after,
                d.durability,
                d.retention,
                d.session_ttl
            )
        );
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\noffline_after_s = 60\n[retention]\nraw_days = 3\n",
        )
        .unwrap();
        let mut o = Overrides {
            config: Some(path.clone()),
            ..Default::default()
        };
        let c = ServerConfig::load(&o).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.offline_after, Duration::from_secs(60));
        assert_eq!(c.retention.raw_ms, 3 * 86_400_000);
        o.listen = Some("127.0.0.1:9100".into());
        assert_eq!(ServerConfig::load(&o).unwrap().listen.port(), 9100);
        std::fs::write(&path, "bogus_key = 1\n").unwrap();
        assert!(matches!(
            ServerConfig::load(&o),
            Err(ConfigError::Parse { .. })
        ));
    }
}
