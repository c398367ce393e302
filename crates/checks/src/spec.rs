//! What a check is: serde-serializable specs and their validation.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::http::Url;

/// One health check, as stored by the server and sent to agents.
///
/// JSON form: `{"type": "http", "url": "https://example.com/", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckSpec {
    Http(HttpSpec),
    Tcp(TcpSpec),
    Ping(PingSpec),
    Dns(DnsSpec),
}

/// HTTP(S) request: status, keyword, latency and certificate expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Request method, default `GET`. Requests carry no body.
    #[serde(default = "default_method")]
    pub method: String,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Accepted statuses, default `200-399`; each entry `"200"` or `"200-299"`.
    #[serde(default = "default_status")]
    pub expected_status: Vec<StatusRange>,
    /// Text searched (case-sensitive, bytes as sent) in the first
    /// [`crate::MAX_BODY_BYTES`] of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// When true the keyword must NOT appear.
    #[serde(default)]
    pub keyword_absent: bool,
    /// Down when the whole exchange (all redirects included) takes longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<u32>,
    /// Follow up to [`crate::MAX_REDIRECTS`] redirects, default true.
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Warn when the certificate expires within this many days; default 14,
    /// `null` for never.
    #[serde(default = "default_warn_days")]
    pub cert_warn_days: Option<u32>,
    /// Accept any certificate (self-signed, wrong name); expiry is still read.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// TCP connect to `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    pub host: String,
    /// A `u32` so that an out-of-range port parses and is rejected by
    /// [`validate`] with a clear message.
    pub port: u32,
}

/// ICMP echo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingSpec {
    pub host: String,
    /// Echo requests to send, 1..=10, default 3.
    #[serde(default = "default_count")]
    pub count: u32,
}

/// DNS query over UDP (TCP when the answer is truncated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    pub name: String,
    pub record_type: RecordType,
    /// One answer must match: addresses compare as addresses, names ignore
    /// case and the final dot, MX matches `"10 mx.example.com"` or the host
    /// alone, TXT matches a substring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// `"ip"`, `"ip:port"` or `"[v6]:port"`; default: the first
    /// `nameserver` of `/etc/resolv.conf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
}

/// DNS record types a check can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
        }
    }

    /// The QTYPE on the wire.
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RecordType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "MX" => RecordType::Mx,
            "TXT" => RecordType::Txt,
            "NS" => RecordType::Ns,
            _ => {
                return Err(format!(
                    "unsupported DNS record type {s:?} (expected A, AAAA, CNAME, MX, TXT or NS)"
                ));
            }
        })
    }
}

impl TryFrom<String> for RecordType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<RecordType> for String {
    fn from(t: RecordType) -> String {
        t.as_str().to_string()
    }
}

/// An inclusive range of HTTP statuses; JSON `"200"`, `"200-299"` or `200`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

impl StatusRange {
    pub fn contains(&self, status: u16) -> bool {
        self.lo <= status && status <= self.hi
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl std::str::FromStr for StatusRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            let t = t.trim();
            match t.parse::<u16>() {
                Ok(n) if (100..=599).contains(&n) => Ok(n),
                _ => Err(format!(
                    "invalid HTTP status {t:?} in {s:?} (expected 100..=599)"
                )),
            }
        };
        let (lo, hi) = match s.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(s)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!("status range {s:?} is reversed"));
        }
        Ok(StatusRange { lo, hi })
    }
}

impl Serialize for StatusRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Str(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Num(n) => n.to_string(),
            Raw::Str(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn default_method() -> String {
    "GET".to_string()
}
fn default_status() -> Vec<StatusRange> {
    vec![StatusRange { lo: 200, hi: 399 }]
}
fn default_true() -> bool {
    true
}
fn default_warn_days() -> Option<u32> {
    Some(14)
}
fn default_count() -> u32 {
    3
}

impl HttpSpec {
    /// A `GET` of `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        HttpSpec {
            url: url.into(),
            method: default_method(),
            headers: BTreeMap::new(),
            expected_status: default_status(),
            keyword: None,
            keyword_absent: false,
            max_latency_ms: None,
            follow_redirects: true,
            basic_auth: None,
            cert_warn_days: default_warn_days(),
            insecure_skip_verify: false,
        }
    }
}

impl PingSpec {
    pub fn new(host: impl Into<String>) -> Self {
        PingSpec {
            host: host.into(),
            count: default_count(),
        }
    }
}

impl DnsSpec {
    pub fn new(name: impl Into<String>, record_type: RecordType) -> Self {
        DnsSpec {
            name: name.into(),
            record_type,
            expected: None,
            resolver: None,
        }
    }
}

/// Why a spec was rejected: the field and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> SpecError {
    SpecError {
        field,
        message: message.into(),
    }
}

/// Maximum echo requests in one ping check.
pub const MAX_PING_COUNT: u32 = 10;

/// Checks a spec without touching the network.
pub fn validate(spec: &CheckSpec) -> Result<(), SpecError> {
    match spec {
        CheckSpec::Http(s) => validate_http(s),
        CheckSpec::Tcp(s) => {
            check_host("host", &s.host)?;
            check_port("port", s.port)
        }
        CheckSpec::Ping(s) => {
            check_host("host", &s.host)?;
            if !(1..=MAX_PING_COUNT).contains(&s.count) {
                return Err(err(
                    "count",
                    format!("must be between 1 and {MAX_PING_COUNT}, got {}", s.count),
                ));
            }
            Ok(())
        }
        CheckSpec::Dns(s) => {
            check_dns_name("name", &s.name)?;
            if let Some(e) = &s.expected
                && e.trim().is_empty()
            {
                return Err(err("expected", "must not be empty when given"));
            }
            if let Some(r) = &s.resolver {
                crate::dns::parse_resolver(r).map_err(|m| err("resolver", m))?;
            }
            Ok(())
        }
    }
}

fn validate_http(s: &HttpSpec) -> Result<(), SpecError> {
    Url::parse(&s.url).map_err(|m| err("url", m))?;
    if s.method.is_empty() || !s.method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(err(
            "method",
            format!(
                "{:?} is not an HTTP method (upper-case letters, e.g. GET, HEAD)",
                s.method
            ),
        ));
    }
    for (name, value) in &s.headers {
        if !is_token(name) {
            return Err(err(
                "headers",
                format!("{name:?} is not a valid header name"),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "te" | "upgrade"
        ) {
            return Err(err(
                "headers",
                format!("{name} is set by the probe and cannot be overridden"),
            ));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(err(
                "headers",
                format!("the value of {name} contains a line break"),
            ));
        }
    }
    if s.expected_status.is_empty() {
        return Err(err("expected_status", "must list at least one status"));
    }
    for r in &s.expected_status {
        if r.lo < 100 || r.hi > 599 || r.lo > r.hi {
            return Err(err(
                "expected_status",
                format!("{r} is not a range of HTTP statuses (100..=599)"),
            ));
        }
    }
    if let Some(k) = &s.keyword
        && k.is_empty()
    {
        return Err(err("keyword", "must not be empty when given"));
    }
    if s.keyword_absent && s.keyword.is_none() {
        return Err(err("keyword_absent", "needs a keyword"));
    }
    if s.max_latency_ms == Some(0) {
        return Err(err("max_latency_ms", "must be at least 1"));
    }
    if let Some(a) = &s.basic_auth {
        if a.username.contains(':') {
            return Err(err("basic_auth", "the username cannot contain ':'"));
        }
        if a.username
            .chars()
            .chain(a.password.chars())
            .any(char::is_control)
        {
            return Err(err("basic_auth", "contains control characters"));
        }
    }
    Ok(())
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_port(field: &'static str, port: u32) -> Result<(), SpecError> {
    if port == 0 || port > 65535 {
        return Err(err(
            field,
            format!("must be between 1 and 65535, got {port}"),
        ));
    }
    Ok(())
}

/// A host name or an IP address (IPv6 with or without brackets).
pub(crate) fn check_host(field: &'static str, host: &str) -> Result<(), SpecError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    host_name_problem(host).map_or(Ok(()), |m| Err(err(field, m)))
}

fn check_dns_name(field: &'static str, name: &str) -> Result<(), SpecError> {
    host_name_problem(name).map_or(Ok(()), |m| Err(err(field, m)))
}

/// Why `host` is not a usable host name, if it is not. Underscores are
/// allowed (DNS names such as `_dmarc.example.com` are queried by checks).
pub(crate) fn host_name_problem(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some("must not be empty".into());
    }
    if host.chars().any(char::is_whitespace) {
        return Some(format!("{host:?} contains spaces"));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return Some("is longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some(format!("{host:?} has an empty label"));
        }
        if label.len() > 63 {
            return Some(format!("{host:?} has a label longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!(
                "{host:?} contains {c:?}, not allowed in a host name"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("{host:?} has a label starting or ending with '-'"));
        }
    }
    None
}
