//! Agent configuration: a TOML file, overridden by `LXMON_*` environment
//! variables, overridden by command-line flags.
//!
//! Each layer is parsed into the same all-optional shape ([`Layer`]) and the
//! layers are merged field by field, so the precedence rule lives in one
//! place ([`Config::resolve`]) and is tested there. Resolution reads the
//! environment through a function argument, so tests never touch the
//! process environment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use lxmon_proto::{DEFAULT_INTERVAL_S, Labels, MAX_HOSTNAME_LEN, MAX_INTERVAL_S, MIN_INTERVAL_S};
use serde::Deserialize;

use crate::actions::{ActionConfig, ActionError, Actions};
use crate::sampler::Roots;

/// Default bound on the spool's disk use.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default bound on the age of spooled reports.
pub const DEFAULT_SPOOL_MAX_AGE_S: u64 = 24 * 3600;
/// Default time limit of one HTTP request.
pub const DEFAULT_REQUEST_TIMEOUT_S: u64 = 10;
/// Default seconds between fetches of the server-side configuration (the
/// reporting interval the server sets and the health checks it assigns).
pub const DEFAULT_CONFIG_REFRESH_S: u64 = 300;
/// Bounds of `config_refresh`, seconds.
pub const MIN_CONFIG_REFRESH_S: u64 = 5;
pub const MAX_CONFIG_REFRESH_S: u64 = 86_400;
/// Spool directory used when writable.
pub const SYSTEM_SPOOL_DIR: &str = "/var/lib/lxmon-agent";
/// Spool directory used otherwise (relative to the working directory).
pub const LOCAL_SPOOL_DIR: &str = "lxmon-agent-data";

/// An agent key. Never printed: `Debug` and `Display` show a placeholder,
/// and the only way to the text is [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(key: impl Into<String>) -> Secret {
        Secret(key.into())
    }

    /// The key itself, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Command-line flags. Every option is optional here; defaults are applied
/// after the file and the environment had their say.
#[derive(Debug, Default, Parser)]
#[command(
    name = "lxmon-agent",
    version,
    about = "lxmon monitoring agent: collects host metrics and pushes them to lxmon-server"
)]
pub struct Cli {
    /// Server base URL, starting with http:// or https:// [env: LXMON_SERVER]
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Agent key (visible in `ps`; prefer --key-file or LXMON_KEY_FILE) [env: LXMON_KEY]
    #[arg(long, value_name = "KEY")]
    pub key: Option<Secret>,
    /// File holding the agent key [env: LXMON_KEY_FILE]
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Seconds between reports, 1-300 (default 10) [env: LXMON_INTERVAL]
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u32>,
    /// TOML configuration file [env: LXMON_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where unsent reports wait (default /var/lib/lxmon-agent when writable,
    /// else ./lxmon-agent-data) [env: LXMON_SPOOL_DIR]
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// Largest disk use of the spool, in bytes (default 64 MiB) [env: LXMON_SPOOL_MAX_BYTES]
    #[arg(long, value_name = "BYTES")]
    pub spool_max_bytes: Option<u64>,
    /// Oldest spooled report kept, in seconds (default 86400) [env: LXMON_SPOOL_MAX_AGE]
    #[arg(long, value_name = "SECS")]
    pub spool_max_age: Option<u64>,
    /// Time limit of one HTTP request, in seconds (default 10) [env: LXMON_REQUEST_TIMEOUT]
    #[arg(long, value_name = "SECS")]
    pub request_timeout: Option<u64>,
    /// Seconds between fetches of the server-side settings, including the
    /// health checks this agent runs, 5-86400 (default 300). Advanced: lower
    /// it only to pick up check changes sooner [env: LXMON_CONFIG_REFRESH]
    #[arg(long, value_name = "SECS")]
    pub config_refresh: Option<u64>,
    /// Report under this hostname instead of the kernel's [env: LXMON_HOSTNAME]
    #[arg(long)]
    pub hostname: Option<String>,
    /// Where procfs is mounted (default /proc) [env: LXMON_PROC_ROOT]
    #[arg(long, value_name = "DIR")]
    pub proc_root: Option<PathBuf>,
    /// Where sysfs is mounted (default /sys) [env: LXMON_SYS_ROOT]
    #[arg(long, value_name = "DIR")]
    pub sys_root: Option<PathBuf>,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive (default info) [env: LXMON_LOG_LEVEL]
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Collect twice one interval apart, print the report JSON, exit
    #[arg(long)]
    pub once: bool,
}

/// One source of settings, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub server: Option<String>,
    pub key: Option<Secret>,
    pub key_file: Option<PathBuf>,
    pub interval: Option<u32>,
    pub spool_dir: Option<PathBuf>,
    pub spool_max_bytes: Option<u64>,
    pub spool_max_age: Option<u64>,
    pub request_timeout: Option<u64>,
    /// Seconds between fetches of the server-side configuration (advanced).
    pub config_refresh: Option<u64>,
    pub hostname: Option<String>,
    pub proc_root: Option<PathBuf>,
    pub sys_root: Option<PathBuf>,
    pub log_level: Option<String>,
    pub labels: Option<Labels>,
    /// The allowlist of remote commands; only the file can set it.
    pub actions: Option<Vec<ActionConfig>>,
}

impl From<&Cli> for Layer {
    fn from(cli: &Cli) -> Layer {
        Layer {
            server: cli.server.clone(),
            key: cli.key.clone(),
            key_file: cli.key_file.clone(),
            interval: cli.interval,
            spool_dir: cli.spool_dir.clone(),
            spool_max_bytes: cli.spool_max_bytes,
            spool_max_age: cli.spool_max_age,
            request_timeout: cli.request_timeout,
            config_refresh: cli.config_refresh,
            hostname: cli.hostname.clone(),
            proc_root: cli.proc_root.clone(),
            sys_root: cli.sys_root.clone(),
            log_level: cli.log_level.clone(),
            labels: None,
            actions: None,
        }
    }
}

impl Layer {
    /// Reads the `LXMON_*` variables through `env`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
        fn number<T: FromStr>(
            env: &dyn Fn(&str) -> Option<String>,
            var: &'static str,
        ) -> Result<Option<T>, ConfigError> {
            match env(var) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| ConfigError::BadEnv {
                    var,
                    reason: format!("{v:?} is not a whole number"),
                }),
            }
        }
        Ok(Layer {
            server: env("LXMON_SERVER"),
            key: env("LXMON_KEY").map(Secret),
            key_file: env("LXMON_KEY_FILE").map(PathBuf::from),
            interval: number(env, "LXMON_INTERVAL")?,
            spool_dir: env("LXMON_SPOOL_DIR").map(PathBuf::from),
            spool_max_bytes: number(env, "LXMON_SPOOL_MAX_BYTES")?,
            spool_max_age: number(env, "LXMON_SPOOL_MAX_AGE")?,
            request_timeout: number(env, "LXMON_REQUEST_TIMEOUT")?,
            config_refresh: number(env, "LXMON_CONFIG_REFRESH")?,
            hostname: env("LXMON_HOSTNAME"),
            proc_root: env("LXMON_PROC_ROOT").map(PathBuf::from),
            sys_root: env("LXMON_SYS_ROOT").map(PathBuf::from),
            log_level: env("LXMON_LOG_LEVEL"),
            labels: None,
            actions: None,
        })
    }

    /// Parses a TOML configuration file's text.
    pub fn from_toml(text: &str, path: &Path) -> Result<Layer, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// The key this layer sets, directly or through a key file.
    fn key(&self, layer: &'static str) -> Result<Option<Secret>, ConfigError> {
        match (&self.key, &self.key_file) {
            (Some(_), Some(_)) => Err(ConfigError::KeyTwice { layer }),
            (Some(k), None) => Ok(Some(k.clone())),
            (None, Some(path)) => read_key_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

fn read_key_file(path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::KeyFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Secret(text.trim().to_owned()))
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot read key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("{var}: {reason}")]
    BadEnv { var: &'static str, reason: String },
    #[error("{layer} sets both a key and a key file; set only one")]
    KeyTwice { layer: &'static str },
    #[error(
        "interval {value} s (from {origin}) is out of range: it must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds"
    )]
    BadInterval { value: u32, origin: &'static str },
    #[error(
        "no server URL: pass --server URL, set LXMON_SERVER, or `server = \"...\"` in the config file"
    )]
    MissingServer,
    #[error("server URL {0:?} must start with http:// or https://")]
    BadServer(String),
    #[error(
        "no agent key: pass --key or set LXMON_KEY / LXMON_KEY_FILE, or `key_file = \"...\"` in the config file"
    )]
    MissingKey,
    #[error("the agent key is empty or contains whitespace or control characters")]
    BadKey,
    #[error(
        "config_refresh {value} s (from {origin}) is out of range: it must be between {MIN_CONFIG_REFRESH_S} and {MAX_CONFIG_REFRESH_S} seconds"
    )]
    BadConfigRefresh { value: u64, origin: &'static str },
    #[error("{field} must be greater than zero")]
    Zero { field: &'static str },
    #[error("hostname {0:?} is empty, too long or contains whitespace")]
    BadHostname(String),
    #[error("label {0}")]
    BadLabel(String),
    #[error("config file {path}: {error}")]
    BadAction { path: PathBuf, error: ActionError },
}

/// The resolved configuration the agent runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server base URL without trailing slash; `None` only with `--once`.
    pub server: Option<String>,
    /// `None` only with `--once`.
    pub key: Option<Secret>,
    pub interval_s: u32,
    /// `None`: [`Config::spool_dir`] picks the default on first use.
    pub spool_dir: Option<PathBuf>,
    pub spool_max_bytes: u64,
    pub spool_max_age: Duration,
    pub request_timeout: Duration,
    /// How often the server-side configuration (reporting interval, health
    /// checks to run) is fetched again.
    pub config_refresh: Duration,
    pub hostname: Option<String>,
    pub roots: Roots,
    pub log_level: String,
    pub labels: Labels,
    /// Remote commands this agent allows (none unless the file has
    /// `[[actions]]`).
    pub actions: Actions,
    pub once: bool,
}

impl Config {
    /// Parses the process's flags and environment and the config file they
    /// name.
    pub fn from_process() -> Result<Config, ConfigError> {
        let cli = Cli::parse();
        Config::resolve(&cli, &|var| std::env::var(var).ok())
    }

    /// Merges file < environment < flags. `env` looks up one variable.
    pub fn resolve(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let flags = Layer::from(cli);
        let env_layer = Layer::from_env(env)?;
        let file_path = cli
            .config
            .clone()
            .or_else(|| env("LXMON_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                Layer::from_toml(&text, path)?
            }
            None => Layer::default(),
        };

        // Highest precedence first.
        let layers = [
            ("command line", &flags),
            ("environment", &env_layer),
            ("config file", &file),
        ];
        macro_rules! pick {
            ($field:ident) => {
                layers
                    .iter()
                    .find_map(|(name, l)| l.$field.clone().map(|v| (v, *name)))
            };
        }

        let once = cli.once;
        let server = match pick!(server) {
            Some((url, _)) => Some(normalize_server(&url)?),
            None if once => None,
            None => return Err(ConfigError::MissingServer),
        };
        let mut key = None;
        for (name, layer) in &layers {
            if let Some(k) = layer.key(name)? {
                key = Some(k);
                break;
            }
        }
        match &key {
            Some(k) if !valid_key(k.expose()) => return Err(ConfigError::BadKey),
            None if !once => return Err(ConfigError::MissingKey),
            _ => {}
        }

        let (interval_s, origin) = pick!(interval).unwrap_or((DEFAULT_INTERVAL_S, "default"));
        if !(MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&interval_s) {
            return Err(ConfigError::BadInterval {
                value: interval_s,
                origin,
            });
        }
        let positive = |v: Option<(u64, &str)>, default: u64, field: &'static str| match v {
            Some((0, _)) => Err(ConfigError::Zero { field }),
            Some((v, _)) => Ok(v),
            None => Ok(default),
        };
        let spool_max_bytes = positive(
            pick!(spool_max_bytes),
            DEFAULT_SPOOL_MAX_BYTES,
            "spool_max_bytes",
        )?;
        let spool_max_age = positive(
            pick!(spool_max_age),
            DEFAULT_SPOOL_MAX_AGE_S,
            "spool_max_age",
        )?;
        let request_timeout = positive(
            pick!(request_timeout),
            DEFAULT_REQUEST_TIMEOUT_S,
            "request_timeout",
        )?;
        let config_refresh = match pick!(config_refresh) {
            None => DEFAULT_CONFIG_REFRESH_S,
            Some((v, _)) if (MIN_CONFIG_REFRESH_S..=MAX_CONFIG_REFRESH_S).contains(&v) => v,
            Some((value, origin)) => return Err(ConfigError::BadConfigRefresh { value, origin }),
        };

        let hostname = pick!(hostname).map(|(h, _)| h);
        if let Some(h) = &hostname
            && (h.is_empty()
                || h.len() > MAX_HOSTNAME_LEN
                || h.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(ConfigError::BadHostname(h.clone()));
        }
        let labels = file.labels.clone().unwrap_or_default();
        lxmon_proto::validate_labels("labels", &labels)
            .map_err(|e| ConfigError::BadLabel(e.to_string()))?;

        let actions = match (&file.actions, &file_path) {
            (Some(list), Some(path)) => {
                Actions::from_config(list).map_err(|error| ConfigError::BadAction {
                    path: path.clone(),
                    error,
                })?
            }
            _ => Actions::default(),
        };

        let defaults = Roots::default();
        Ok(Config {
            server,
            key,
            interval_s,
            spool_dir: pick!(spool_dir).map(|(d, _)| d),
            spool_max_bytes,
            spool_max_age: Duration::from_secs(spool_max_age),
            request_timeout: Duration::from_secs(request_timeout),
            config_refresh: Duration::from_secs(config_refresh),
            hostname,
            roots: Roots {
                proc_root: pick!(proc_root).map_or(defaults.proc_root, |(p, _)| p),
                sys_root: pick!(sys_root).map_or(defaults.sys_root, |(p, _)| p),
                etc_root: defaults.etc_root,
            },
            log_level: pick!(log_level).map_or_else(|| "info".to_owned(), |(l, _)| l),
            labels,
            actions,
            once,
        })
    }

    /// The spool directory: the configured one, else
    /// `/var/lib/lxmon-agent` when it can be created and written, else
    /// `./lxmon-agent-data`.
    pub fn spool_dir(&self) -> PathBuf {
        if let Some(dir) = &self.spool_dir {
            return dir.clone();
        }
        let system = PathBuf::from(SYSTEM_SPOOL_DIR);
        if dir_is_writable(&system) {
            system
        } else {
            PathBuf::from(LOCAL_SPOOL_DIR)
        }
    }
}

fn dir_is_writable(dir: &Path) -> bool {
    if std::fs::create_dir_all(dir).is_err() {
        return false;
    }
    let probe = dir.join(".write-probe");
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

fn normalize_server(url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| ConfigError::BadServer(url.to_owned()))?;
    if rest.trim_matches('/').is_empty() || rest.contains(char::is_whitespace) {
        return Err(ConfigError::BadServer(url.to_owned()));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// A key travels in an HTTP header: no whitespace or control characters.
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |var| map.get(var).cloned()
    }

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("lxmon-agent").chain(args.iter().copied())).unwrap()
    }

    fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_file(
            dir.path(),
            "agent.toml",
            r#"
server = "http://from-file:8080/"
key = "file-key"
interval = 30
spool_dir = "/file/spool"
hostname = "file-host"
request_timeout = 7
[labels]
env = "prod"
"#,
        );
        let config = file.to_str().unwrap();

        // File only (its path from LXMON_CONFIG).
        let c = Config::resolve(&cli(&[]), &env_of(&[("LXMON_CONFIG", config)])).unwrap();
        assert_eq!(c.server.as_deref(), Some("http://from-file:8080"));
        assert_eq!(c.key.as_ref().unwrap().expose(), "file-key");
        assert_eq!(c.interval_s, 30);
        assert_eq!(c.spool_dir.as_deref(), Some(Path::new("/file/spool")));
        assert_eq!(c.hostname.as_deref(), Some("file-host"));
        assert_eq!(c.request_timeout, Duration::from_secs(7));
        assert_eq!(c.labels.get("env").map(String::as_str), Some("prod"));
        assert_eq!(c.spool_max_bytes, DEFAULT_SPOOL_MAX_BYTES);
        assert_eq!(
            c.spool_max_age,
            Duration::from_secs(DEFAULT_SPOOL_MAX_AGE_S)
        );

        // Environment beats the file.
        let env = env_of(&[
            ("LXMON_CONFIG", config),
            ("LXMON_SERVER", "https://from-env"),
            ("LXMON_KEY", "env-key"),
            ("LXMON_INTERVAL", "20"),
            ("LXMON_SPOOL_DIR", "/env/spool"),
        ]);
        let c = Config::resolve(&cli(&[]), &env).unwrap();
        assert_eq!(c.server.as_deref(), Some("https://from-env"));
        assert_eq!(c.key.as_ref().unwrap().expose(), "env-key");
        assert_eq!(c.interval_s, 20);
        assert_eq!(c.spool_dir.as_deref(), Some(Path::new("/env/spool")));
        assert_eq!(
            c.hostname.as_deref(),
            Some("file-host"),
            "not overridden, file value stays"
        );

        // Flags beat both.
        let c = Config::resolve(
            &cli(&[
                "--server",
                "http://flag:1",
                "--key",
                "flag-key",
                "--interval",
                "5",
                "--spool-dir",
                "/flag/spool",
            ]),
            &env,
        )
        .unwrap();
        assert_eq!(c.server.as_deref(), Some("http://flag:1"));
        assert_eq!(c.key.as_ref().unwrap().expose(), "flag-key");
        assert_eq!(c.interval_s, 5);
        assert_eq!(c.spool_dir.as_deref(), Some(Path::new("/flag/spool")));

        // --config beats LXMON_CONFIG.
        let other = write_file(
            dir.path(),
            "other.toml",
            "server = \"http://other\"\nkey = \"k\"\n",
        );
        let c = Config::resolve(
            &cli(&["--config", other.to_str().unwrap()]),
            &env_of(&[("LXMON_CONFIG", config)]),
        )
        .unwrap();
        assert_eq!(c.server.as_deref(), Some("http://other"));
        assert_eq!(c.interval_s, DEFAULT_INTERVAL_S);
    }

    #[test]
    fn key_file_is_read_and_trimmed_and_follows_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = write_file(dir.path(), "key", "  secret-from-file\n");
        let env = env_of(&[
            ("LXMON_SERVER", "http://s"),
            ("LXMON_KEY_FILE", key_file.to_str().unwrap()),
        ]);
        let c = Config::resolve(&cli(&[]), &env).unwrap();
        assert_eq!(c.key.as_ref().unwrap().expose(), "secret-from-file");
        // A flag key beats an env key file.
        let c = Config::resolve(&cli(&["--key", "flag"]), &env).unwrap();
        assert_eq!(c.key.as_ref().unwrap().expose(), "flag");
        // Both at one level is ambiguous.
        let both = env_of(&[
            ("LXMON_SERVER", "http://s"),
            ("LXMON_KEY", "k"),
            ("LXMON_KEY_FILE", key_file.to_str().unwrap()),
        ]);
        assert!(matches!(
            Config::resolve(&cli(&[]), &both),
            Err(ConfigError::KeyTwice {
                layer: "environment"
            })
        ));
        let missing = env_of(&[
            ("LXMON_SERVER", "http://s"),
            ("LXMON_KEY_FILE", "/no/such/key"),
        ]);
        assert!(matches!(
            Config::resolve(&cli(&[]), &missing),
            Err(ConfigError::KeyFile { .. })
        ));
    }

    #[test]
    fn interval_is_validated_with_a_clear_error() {
        let env = env_of(&[("LXMON_SERVER", "http://s"), ("LXMON_KEY", "k")]);
        for bad in ["0", "301"] {
            let err = Config::resolve(&cli(&["--interval", bad]), &env).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("between 1 and 300 seconds"), "{msg}");
            assert!(msg.contains("command line"), "{msg}");
        }
        let err = Config::resolve(
            &cli(&[]),
            &env_of(&[
                ("LXMON_SERVER", "http://s"),
                ("LXMON_KEY", "k"),
                ("LXMON_INTERVAL", "ten"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("LXMON_INTERVAL"), "{err}");
        for ok in ["1", "300"] {
            assert!(Config::resolve(&cli(&["--interval", ok]), &env).is_ok());
        }
    }

    #[test]
    fn config_refresh_defaults_to_five_minutes_and_is_bounded() {
        let env = env_of(&[("LXMON_SERVER", "http://s"), ("LXMON_KEY", "k")]);
        let c = Config::resolve(&cli(&[]), &env).unwrap();
        assert_eq!(c.config_refresh, Duration::from_secs(300));
        let c = Config::resolve(&cli(&["--config-refresh", "5"]), &env).unwrap();
        assert_eq!(c.config_refresh, Duration::from_secs(5));
        for bad in ["4", "0", "86401"] {
            let err = Config::resolve(&cli(&["--config-refresh", bad]), &env)
                .unwrap_err()
                .to_string();
            assert!(err.contains("between 5 and 86400 seconds"), "{err}");
            assert!(err.contains("command line"), "{err}");
        }
        let env = env_of(&[
            ("LXMON_SERVER", "http://s"),
            ("LXMON_KEY", "k"),
            ("LXMON_CONFIG_REFRESH", "30"),
        ]);
        let c = Config::resolve(&cli(&[]), &env).unwrap();
        assert_eq!(c.config_refresh, Duration::from_secs(30));
        let dir = tempfile::tempdir().unwrap();
        let file = write_file(
            dir.path(),
            "agent.toml",
            "server = \"http://s\"\nkey = \"k\"\nconfig_refresh = 60\n",
        );
        let c = Config::resolve(&cli(&["--config", file.to_str().unwrap()]), &env_of(&[])).unwrap();
        assert_eq!(c.config_refresh, Duration::from_secs(60));
    }

    #[test]
    fn server_and_key_are_required_except_for_once() {
        assert!(matches!(
            Config::resolve(&cli(&[]), &env_of(&[])),
            Err(ConfigError::MissingServer)
        ));
        assert!(matches!(
            Config::resolve(&cli(&["--server", "http://s"]), &env_of(&[])),
            Err(ConfigError::MissingKey)
        ));
        assert!(matches!(
            Config::resolve(&cli(&["--server", "ftp://s", "--key", "k"]), &env_of(&[])),
            Err(ConfigError::BadServer(_))
        ));
        assert!(matches!(
            Config::resolve(
                &cli(&["--server", "http://s", "--key", "two words"]),
                &env_of(&[])
            ),
            Err(ConfigError::BadKey)
        ));
        let c = Config::resolve(&cli(&["--once"]), &env_of(&[])).unwrap();
        assert!(c.once && c.server.is_none() && c.key.is_none());
    }

    #[test]
    fn file_errors_are_reported_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let typo = write_file(dir.path(), "typo.toml", "intervall = 10\n");
        let err = Config::resolve(
            &cli(&["--once", "--config", typo.to_str().unwrap()]),
            &env_of(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("typo.toml"), "{err}");
        let bad_label = write_file(dir.path(), "label.toml", "[labels]\n\"bad key\" = \"x\"\n");
        assert!(matches!(
            Config::resolve(
                &cli(&["--once", "--config", bad_label.to_str().unwrap()]),
                &env_of(&[])
            ),
            Err(ConfigError::BadLabel(_))
        ));
    }

    #[test]
    fn the_key_is_never_printed() {
        let c = Config::resolve(
            &cli(&["--server", "http://s", "--key", "hunter2-very-secret"]),
            &env_of(&[]),
        )
        .unwrap();
        let shown = format!("{c:?} {}", c.key.as_ref().unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        let cli_shown = format!("{:?}", cli(&["--key", "hunter2-very-secret"]));
        assert!(!cli_shown.contains("hunter2"), "{cli_shown}");
    }

    #[test]
    fn default_spool_dir_needs_a_writable_directory() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        assert!(dir_is_writable(&nested), "created and writable");
        assert!(!dir_is_writable(Path::new("/proc/lxmon-agent-test")));
        let explicit =
            Config::resolve(&cli(&["--once", "--spool-dir", "/x/y"]), &env_of(&[])).unwrap();
        assert_eq!(explicit.spool_dir(), PathBuf::from("/x/y"));
    }

    #[test]
    fn actions_come_from_the_file_and_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_file(
            dir.path(),
            "good.toml",
            r#"
server = "http://s"
key = "k"
[[actions]]
name = "restart-unit"
description = "Restart a systemd unit"
argv = ["/usr/bin/systemctl", "restart", "{unit}"]
timeout_s = 60
[actions.params.unit]
pattern = "^[a-z0-9@._-]+\\.service$"
description = "unit name"
"#,
        );
        let c = Config::resolve(&cli(&["--config", good.to_str().unwrap()]), &env_of(&[])).unwrap();
        assert_eq!(c.actions.len(), 1);
        assert_eq!(c.actions.specs()[0].timeout_s, 60);

        let none =
            Config::resolve(&cli(&["--server", "http://s", "--key", "k"]), &env_of(&[])).unwrap();
        assert!(none.actions.is_empty(), "no action unless configured");

        let bad = write_file(
            dir.path(),
            "bad.toml",
            "server = \"http://s\"\nkey = \"k\"\n[[actions]]\nname = \"x\"\nargv = [\"/bin/echo\", \"{unit}\"]\n",
        );
        let err = Config::resolve(&cli(&["--config", bad.to_str().unwrap()]), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("actions[0] \"x\""), "{err}");
        assert!(err.contains("{unit} is not a declared parameter"), "{err}");

        let typo = write_file(
            dir.path(),
            "typo.toml",
            "[[actions]]\nname = \"x\"\nargv = [\"/bin/true\"]\ntimeout = 5\n",
        );
        let err = Config::resolve(
            &cli(&["--once", "--config", typo.to_str().unwrap()]),
            &env_of(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `timeout`"), "{err}");
    }

    /// The commented example in deploy/agent.example.toml, uncommented,
    /// is a valid allowlist.
    #[test]
    fn example_actions_in_deploy_are_valid_once_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/agent.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find("# [[actions]]").expect("an actions example");
        let uncommented: String = text[start..]
            .lines()
            .filter_map(|l| l.strip_prefix("# ").or_else(|| (l == "#").then_some("")))
            .map(|l| format!("{l}\n"))
            .collect();
        let layer = Layer::from_toml(&uncommented, &path).unwrap();
        let actions = Actions::from_config(layer.actions.as_deref().unwrap()).unwrap();
        let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
        for expected in [
            "restart-unit",
            "unit-status",
            "tail-log",
            "disk-usage",
            "uptime",
        ] {
            assert!(names.contains(&expected), "{names:?}");
        }
        // And the file as shipped enables none.
        assert!(Layer::from_toml(&text, &path).unwrap().actions.is_none());
    }

    #[test]
    fn example_config_in_deploy_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/agent.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let layer = Layer::from_toml(&text, &path).unwrap();
        assert!(layer.server.is_some());
    }
}
