//! Channel configurations: what is stored per channel, its validation, the
//! redacted view for API responses and secret carry-over on updates.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Most recipients one email or WhatsApp channel may have.
pub const MAX_RECIPIENTS: usize = 50;
/// Most extra headers one generic webhook may send.
pub const MAX_HEADERS: usize = 32;

const MAX_URL: usize = 2048;
const MAX_HOST: usize = 253;
const MAX_ADDRESS: usize = 254;
const MAX_SECRET: usize = 4096;
const MAX_HEADER_NAME: usize = 128;
const MAX_HEADER_VALUE: usize = 4096;
const MAX_CA_PEM: usize = 64 * 1024;

/// Where and how one notification channel delivers.
///
/// Serialized with a `kind` tag: `{"kind": "slack", "webhook_url": "..."}`.
/// Secret fields may be omitted (or left empty) in an update, see
/// [`keep_secrets_from`](ChannelConfig::keep_secrets_from).
///
/// `Debug` never prints a secret (it shows `<redacted>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    Email(EmailConfig),
    Slack(SlackConfig),
    Teams(TeamsConfig),
    Telegram(TelegramConfig),
    Whatsapp(WhatsappConfig),
    Webhook(WebhookConfig),
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain TCP. Only for a relay on a trusted network; AUTH is then sent in
    /// clear, which is allowed only because this was chosen explicitly.
    None,
    /// Plain TCP upgraded with STARTTLS (port 587 style). Fails when the
    /// server does not offer STARTTLS: never falls back to clear text.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465 style, "SMTPS").
    Tls,
}

/// SMTP relay settings. Secret: `password`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: TlsMode,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// Extra trusted root certificate(s), PEM: for relays with a private CA.
    #[serde(default)]
    pub ca_cert_pem: Option<String>,
}

/// Slack incoming webhook. Secret: `webhook_url` (the URL is the credential).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackConfig {
    #[serde(default)]
    pub webhook_url: String,
}

/// Microsoft Teams Workflows (Power Automate) webhook. Secret: `webhook_url`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamsConfig {
    #[serde(default)]
    pub webhook_url: String,
}

/// Telegram Bot API `sendMessage`. Secret: `bot_token`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TelegramConfig {
    #[serde(default)]
    pub bot_token: String,
    pub chat_id: String,
    /// Default `https://api.telegram.org`.
    #[serde(default)]
    pub api_base: Option<String>,
}

/// WhatsApp Business Cloud API text messages. Secret: `access_token`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatsappConfig {
    #[serde(default)]
    pub access_token: String,
    pub phone_number_id: String,
    /// Recipients' phone numbers in international format (`+4915112345678`
    /// or `4915112345678`).
    pub to: Vec<String>,
    /// Default `https://graph.facebook.com/v21.0`.
    #[serde(default)]
    pub api_base: Option<String>,
}

/// Generic JSON webhook, optionally signed. Secrets: `secret`, and the
/// values of credential-like headers (see [`is_sensitive_header`]).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    /// HMAC-SHA256 key for the `X-Lxmon-Signature` header.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

pub(crate) const DEFAULT_TELEGRAM_API: &str = "https://api.telegram.org";
pub(crate) const DEFAULT_WHATSAPP_API: &str = "https://graph.facebook.com/v21.0";

/// Headers the webhook sender sets itself; a configured header may not
/// replace them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "user-agent",
    "x-lxmon-signature",
];

/// Whether a webhook header's value is treated as a secret (left out of
/// [`ChannelConfig::redacted`], carried over by `keep_secrets_from`): names
/// like `Authorization`, `Cookie`, `X-Api-Key`, `X-Auth-Token`, `Private-Token`.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "auth",
        "token",
        "key",
        "secret",
        "pass",
        "cookie",
        "session",
        "signature",
        "credential",
        "api",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// A field of a channel configuration that is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field's name, e.g. `to[2]` or `headers.X-Team`.
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

struct Redacted;
impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn opt_redacted(s: &Option<String>) -> Option<Redacted> {
    s.as_ref().map(|_| Redacted)
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &opt_redacted(&self.password))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("ca_cert_pem", &self.ca_cert_pem.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("webhook_url", &Redacted)
            .finish()
    }
}

impl fmt::Debug for TeamsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsConfig")
            .field("webhook_url", &Redacted)
            .finish()
    }
}

impl fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("bot_token", &Redacted)
            .field("chat_id", &self.chat_id)
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl fmt::Debug for WhatsappConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhatsappConfig")
            .field("access_token", &Redacted)
            .field("phone_number_id", &self.phone_number_id)
            .field("to", &self.to)
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: BTreeMap<&str, &dyn fmt::Debug> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v: &dyn fmt::Debug = if is_sensitive_header(k) { &Redacted } else { v };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &opt_redacted(&self.secret))
            .field("headers", &headers)
            .finish()
    }
}

impl ChannelConfig {
    /// The serde tag: `email`, `slack`, `teams`, `telegram`, `whatsapp`, `webhook`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Teams(_) => "teams",
            ChannelConfig::Telegram(_) => "telegram",
            ChannelConfig::Whatsapp(_) => "whatsapp",
            ChannelConfig::Webhook(_) => "webhook",
        }
    }

    /// Field-level validation. [`send`](crate::send) validates too, so a
    /// configuration that passes here is one the senders can use safely:
    /// URLs are http(s) with a host, addresses and header values cannot
    /// inject lines, sizes are bounded.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ChannelConfig::Email(c) => c.validate(),
            ChannelConfig::Slack(c) => validate_secret_url("webhook_url", &c.webhook_url),
            ChannelConfig::Teams(c) => validate_secret_url("webhook_url", &c.webhook_url),
            ChannelConfig::Telegram(c) => c.validate(),
            ChannelConfig::Whatsapp(c) => c.validate(),
            ChannelConfig::Webhook(c) => c.validate(),
        }
    }

    /// The configuration as JSON for API responses: each secret field is
    /// removed, and the names of those that are set are listed in
    /// `"secrets_set"` (e.g. `["password"]`, `["secret", "headers.Authorization"]`).
    /// A sensitive webhook header keeps its name with an empty value, so a
    /// client can send it back unchanged and [`keep_secrets_from`] restores it.
    ///
    /// [`keep_secrets_from`]: ChannelConfig::keep_secrets_from
    pub fn redacted(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("a channel config serializes");
        let obj = v.as_object_mut().expect("a channel config is an object");
        let mut set: Vec<String> = Vec::new();
        for name in self.secret_fields() {
            if let Some(value) = obj.remove(*name)
                && !(value.is_null() || value.as_str() == Some(""))
            {
                set.push((*name).to_owned());
            }
        }
        if let ChannelConfig::Webhook(c) = self
            && let Some(serde_json::Value::Object(headers)) = obj.get_mut("headers")
        {
            for (name, value) in headers.iter_mut() {
                if is_sensitive_header(name) {
                    if value.as_str().is_some_and(|s| !s.is_empty()) {
                        set.push(format!("headers.{name}"));
                    }
                    *value = serde_json::Value::String(String::new());
                }
            }
            debug_assert_eq!(headers.len(), c.headers.len());
        }
        obj.insert("secrets_set".to_owned(), serde_json::json!(set));
        v
    }

    /// The names of this kind's secret fields (webhook headers aside).
    pub fn secret_fields(&self) -> &'static [&'static str] {
        match self {
            ChannelConfig::Email(_) => &["password"],
            ChannelConfig::Slack(_) | ChannelConfig::Teams(_) => &["webhook_url"],
            ChannelConfig::Telegram(_) => &["bot_token"],
            ChannelConfig::Whatsapp(_) => &["access_token"],
            ChannelConfig::Webhook(_) => &["secret"],
        }
    }

    /// For updates: each secret field left empty or `None` here takes its
    /// value from `previous` when `previous` is of the same kind (otherwise
    /// nothing changes). Sensitive webhook headers present here with an
    /// empty value take the previous value of the same header.
    ///
    /// An email password is carried over only while a username is set
    /// (removing the username turns AUTH off). A webhook `secret` cannot be
    /// cleared by sending it empty: that takes replacing the channel.
    pub fn keep_secrets_from(&mut self, previous: &ChannelConfig) {
        fn keep_opt(new: &mut Option<String>, old: &Option<String>) {
            if new.as_deref().is_none_or(str::is_empty) {
                new.clone_from(old);
            }
        }
        fn keep(new: &mut String, old: &str) {
            if new.is_empty() {
                old.clone_into(new);
            }
        }
        match (self, previous) {
            // Without a username the password is not wanted any more
            // (switching AUTH off), so nothing is carried over.
            (ChannelConfig::Email(n), ChannelConfig::Email(o)) if n.username.is_some() => {
                keep_opt(&mut n.password, &o.password)
            }
            (ChannelConfig::Slack(n), ChannelConfig::Slack(o)) => {
                keep(&mut n.webhook_url, &o.webhook_url)
            }
            (ChannelConfig::Teams(n), ChannelConfig::Teams(o)) => {
                keep(&mut n.webhook_url, &o.webhook_url)
            }
            (ChannelConfig::Telegram(n), ChannelConfig::Telegram(o)) => {
                keep(&mut n.bot_token, &o.bot_token)
            }
            (ChannelConfig::Whatsapp(n), ChannelConfig::Whatsapp(o)) => {
                keep(&mut n.access_token, &o.access_token)
            }
            (ChannelConfig::Webhook(n), ChannelConfig::Webhook(o)) => {
                keep_opt(&mut n.secret, &o.secret);
                for (name, value) in n.headers.iter_mut() {
                    if value.is_empty()
                        && is_sensitive_header(name)
                        && let Some(old) = o.headers.get(name)
                    {
                        value.clone_from(old);
                    }
                }
            }
            _ => {}
        }
    }

    /// Every secret value set in this configuration (for scrubbing text that
    /// came back from a server before it is put in an error).
    pub(crate) fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |s: &str| {
            if s.len() >= 4 {
                out.push(s.to_owned());
            }
        };
        match self {
            ChannelConfig::Email(c) => {
                if let Some(p) = &c.password {
                    push(p)
                }
            }
            ChannelConfig::Slack(SlackConfig { webhook_url: u })
            | ChannelConfig::Teams(TeamsConfig { webhook_url: u }) => {
                push(u);
                // The path is the credential: a server echoing only the
                // path must not leak it either.
                if let Some(p) = url_path(u) {
                    push(p)
                }
            }
            ChannelConfig::Telegram(c) => push(&c.bot_token),
            ChannelConfig::Whatsapp(c) => push(&c.access_token),
            ChannelConfig::Webhook(c) => {
                if let Some(s) = &c.secret {
                    push(s)
                }
                for (k, v) in &c.headers {
                    if is_sensitive_header(k) {
                        push(v)
                    }
                }
            }
        }
        out
    }
}

impl EmailConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        validate_host("host", &self.host)?;
        if self.port == 0 {
            return Err(err("port", "must be between 1 and 65535"));
        }
        if let Some(u) = &self.username {
            if u.is_empty() {
                return Err(err("username", "must not be empty when set"));
            }
            check_text("username", u, 512)?;
            match &self.password {
                None => return Err(err("password", "is required with a username")),
                Some(p) => check_text("password", p, MAX_SECRET)?,
            }
        } else if self.password.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(err("username", "is required with a password"));
        }
        validate_address("from", &self.from)?;
        validate_list("to", &self.to, validate_address)?;
        if let Some(pem) = &self.ca_cert_pem {
            if pem.len() > MAX_CA_PEM {
                return Err(err("ca_cert_pem", "is too long (64 KiB at most)"));
            }
            crate::smtp::parse_pem_roots(pem).map_err(|m| err("ca_cert_pem", m))?;
        }
        Ok(())
    }
}

impl TelegramConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        // The token goes into the URL path: only the characters Telegram
        // uses (`123456:ABC-def_...`), so it cannot change the URL.
        let t = &self.bot_token;
        if t.is_empty() {
            return Err(err("bot_token", "is required"));
        }
        if t.len() > 256
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
        {
            return Err(err(
                "bot_token",
                "must look like 123456:ABC-def (letters, digits, ':', '-', '_')",
            ));
        }
        if self.chat_id.is_empty() {
            return Err(err("chat_id", "is required"));
        }
        if self.chat_id.len() > 128
            || self
                .chat_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(err(
                "chat_id",
                "must be a chat id (-100123...) or @channelname",
            ));
        }
        if let Some(base) = &self.api_base {
            validate_url("api_base", base)?;
        }
        Ok(())
    }
}

impl WhatsappConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.access_token.is_empty() {
            return Err(err("access_token", "is required"));
        }
        if self.access_token.len() > MAX_SECRET
            || !self.access_token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(err(
                "access_token",
                "must be printable ASCII without spaces (4096 bytes at most)",
            ));
        }
        let id = &self.phone_number_id;
        if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "phone_number_id",
                "must be the numeric phone number ID",
            ));
        }
        validate_list("to", &self.to, |f, n| {
            let digits = n.strip_prefix('+').unwrap_or(n);
            if (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(err(
                    f,
                    "must be a phone number in international format, digits only (+4915112345678)",
                ))
            }
        })?;
        if let Some(base) = &self.api_base {
            validate_url("api_base", base)?;
        }
        Ok(())
    }
}

impl WebhookConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        validate_url("url", &self.url)?;
        if let Some(s) = &self.secret
            && s.len() > MAX_SECRET
        {
            return Err(err("secret", "is too long (4096 bytes at most)"));
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(err("headers", format!("at most {MAX_HEADERS} headers")));
        }
        for (name, value) in &self.headers {
            let field = format!("headers.{}", printable(name));
            if name.is_empty() || name.len() > MAX_HEADER_NAME || !name.bytes().all(is_tchar) {
                return Err(err(
                    field,
                    "header name must be a token (letters, digits, !#$%&'*+-.^_`|~)",
                ));
            }
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(err(field, "this header is set by lxmon itself"));
            }
            if value.is_empty() {
                return Err(err(field, "header value must not be empty"));
            }
            if value.len() > MAX_HEADER_VALUE {
                return Err(err(field, "header value is too long (4096 bytes at most)"));
            }
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(err(
                    field,
                    "header value must not contain CR, LF or other control characters",
                ));
            }
        }
        Ok(())
    }
}

/// A header-name character (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `s` with control characters shown escaped, cut short: for field names
/// in errors.
fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(64).flat_map(char::escape_debug).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), ConfigError> {
    if s.len() > max {
        return Err(err(field, format!("is too long ({max} bytes at most)")));
    }
    if s.chars().any(char::is_control) {
        return Err(err(field, "must not contain control characters"));
    }
    Ok(())
}

fn validate_list(
    field: &str,
    items: &[String],
    each: impl Fn(&str, &str) -> Result<(), ConfigError>,
) -> Result<(), ConfigError> {
    if items.is_empty() {
        return Err(err(field, "needs at least one recipient"));
    }
    if items.len() > MAX_RECIPIENTS {
        return Err(err(field, format!("at most {MAX_RECIPIENTS} recipients")));
    }
    for (i, item) in items.iter().enumerate() {
        each(&format!("{field}[{i}]"), item)?;
    }
    Ok(())
}

/// A plain ASCII address `local@domain`: one `@`, nothing that could end a
/// header or an SMTP command or start a second address.
pub(crate) fn validate_address(field: &str, a: &str) -> Result<(), ConfigError> {
    if a.is_empty() {
        return Err(err(field, "is required"));
    }
    if a.len() > MAX_ADDRESS {
        return Err(err(field, "is too long (254 characters at most)"));
    }
    if !a.is_ascii() {
        return Err(err(
            field,
            "must be ASCII (internationalized addresses are not supported)",
        ));
    }
    if let Some(c) = a
        .chars()
        .find(|c| c.is_ascii_whitespace() || c.is_ascii_control() || "<>,;:\"()[]\\".contains(*c))
    {
        return Err(err(
            field,
            format!("must be a plain address like alerts@example.com (found {c:?})"),
        ));
    }
    let mut parts = a.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(field, "must contain exactly one @"));
    };
    if local.is_empty() || domain.is_empty() {
        return Err(err(field, "must be local@domain"));
    }
    if domain.split('.').any(str::is_empty) {
        return Err(err(field, "the domain has an empty label"));
    }
    Ok(())
}

/// A host name or IP address to connect to.
fn validate_host(field: &str, h: &str) -> Result<(), ConfigError> {
    if h.is_empty() {
        return Err(err(field, "is required"));
    }
    if h.len() > MAX_HOST {
        return Err(err(field, "is too long"));
    }
    if h.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if !h
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        || h.split('.').any(str::is_empty)
    {
        return Err(err(field, "must be a host name or an IP address"));
    }
    Ok(())
}

/// A URL whose whole text is the credential: its errors never quote it.
fn validate_secret_url(field: &str, u: &str) -> Result<(), ConfigError> {
    if u.is_empty() {
        return Err(err(field, "is required"));
    }
    validate_url(field, u)
}

/// `http://` or `https://`, a host, an optional port, no credentials, no
/// whitespace or control characters. Messages never quote the URL.
pub(crate) fn validate_url(field: &str, u: &str) -> Result<(), ConfigError> {
    if u.is_empty() {
        return Err(err(field, "is required"));
    }
    if u.len() > MAX_URL {
        return Err(err(field, "is too long (2048 characters at most)"));
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(field, "must not contain spaces or control characters"));
    }
    let Some(split) = split_url(u) else {
        return Err(err(field, "must be an http:// or https:// URL"));
    };
    let authority = split.authority;
    if authority.contains('@') {
        return Err(err(
            field,
            "must not contain credentials (user:password@); use headers instead",
        ));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return Err(err(field, "has an unterminated [IPv6] host"));
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(err(field, "has an invalid IPv6 address"));
        }
        match after {
            "" => (v6, None),
            p if p.starts_with(':') => (v6, Some(&p[1..])),
            _ => return Err(err(field, "has an invalid host")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(err(field, "must have a host"));
    }
    if !authority.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
    {
        return Err(err(field, "has an invalid host"));
    }
    if let Some(p) = port
        && !p.is_empty()
        && p.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(err(field, "has an invalid port"));
    }
    Ok(())
}

pub(crate) struct UrlParts<'a> {
    pub authority: &'a str,
    /// From the first `/`, `?` or `#` on (may be empty).
    pub rest: &'a str,
}

/// Scheme check and split; `None` unless http(s) (case-insensitive).
pub(crate) fn split_url(u: &str) -> Option<UrlParts<'_>> {
    let (scheme, after) = u.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some(UrlParts {
        authority: &after[..end],
        rest: &after[end..],
    })
}

/// The host (with port) of a URL, for error messages: never the path or
/// query, which may hold credentials.
pub(crate) fn url_host(u: &str) -> String {
    match split_url(u) {
        Some(p) => p.authority.rsplit('@').next().unwrap_or("").to_owned(),
        None => "?".to_owned(),
    }
}

fn url_path(u: &str) -> Option<&str> {
    split_url(u).map(|p| p.rest).filter(|r| r.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(url: &str) -> ChannelConfig {
        ChannelConfig::Webhook(WebhookConfig {
            url: url.into(),
            secret: None,
            headers: BTreeMap::new(),
        })
    }

    fn email() -> EmailConfig {
        EmailConfig {
            host: "smtp.example.com".into(),
            port: 587,
            security: TlsMode::Starttls,
            username: Some("alerts".into()),
            password: Some("hunter2-password".into()),
            from: "lxmon@example.com".into(),
            to: vec!["ops@example.com".into()],
            ca_cert_pem: None,
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        for bad in [
            "ftp://x",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://",
            "https:///path",
            "http//example.com",
            "example.com",
            "http://exa mple.com/",
            "http://example.com/\r\nX: y",
            "http://user:pw@example.com/",
            "http://example.com:0/",
            "http://example.com:99999/",
            "http://[::1/",
            "http://ex<ample.com/",
            "",
        ] {
            assert!(webhook(bad).validate().is_err(), "{bad:?} accepted");
        }
        for good in [
            "http://127.0.0.1:8080/hook",
            "https://example.com",
            "HTTPS://Example.COM/a?b=c#d",
            "http://[::1]:9000/x",
            "https://hooks.slack.com/services/T000/B000/XXXX",
        ] {
            webhook(good).validate().unwrap();
        }
    }

    #[test]
    fn url_errors_never_quote_the_url() {
        let secret = "https://hooks.slack.com/services/T0/B0/s3cr3t value";
        let e = ChannelConfig::Slack(SlackConfig {
            webhook_url: secret.into(),
        })
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "webhook_url");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn email_addresses_must_be_plain() {
        for bad in [
            "",
            "no-at.example.com",
            "a@b@c",
            "a b@example.com",
            "a@example.com\r\nBcc: x@evil.com",
            "a@example.com\n",
            "<a@example.com>",
            "a@example.com, b@example.com",
            "@example.com",
            "a@",
            "a@example..com",
            "jürgen@example.com",
        ] {
            let mut c = email();
            c.to = vec![bad.into()];
            let e = ChannelConfig::Email(c).validate().unwrap_err();
            assert_eq!(e.field, "to[0]", "{bad:?}: {e}");
            let mut c = email();
            c.from = bad.into();
            assert!(ChannelConfig::Email(c).validate().is_err(), "{bad:?}");
        }
        ChannelConfig::Email(email()).validate().unwrap();
        let mut c = email();
        c.to = vec![
            "root@localhost".into(),
            "o.p+alerts@mail.example.org".into(),
        ];
        ChannelConfig::Email(c).validate().unwrap();
    }

    #[test]
    fn email_fields() {
        let mut c = email();
        c.port = 0;
        assert_eq!(
            ChannelConfig::Email(c).validate().unwrap_err().field,
            "port"
        );
        let mut c = email();
        c.to = vec![];
        assert_eq!(ChannelConfig::Email(c).validate().unwrap_err().field, "to");
        let mut c = email();
        c.to = (0..51).map(|i| format!("u{i}@example.com")).collect();
        assert_eq!(ChannelConfig::Email(c).validate().unwrap_err().field, "to");
        let mut c = email();
        c.host = "smtp.example.com\r\n".into();
        assert_eq!(
            ChannelConfig::Email(c).validate().unwrap_err().field,
            "host"
        );
        let mut c = email();
        c.password = None;
        assert_eq!(
            ChannelConfig::Email(c).validate().unwrap_err().field,
            "password"
        );
        let mut c = email();
        c.ca_cert_pem = Some("not a pem".into());
        assert_eq!(
            ChannelConfig::Email(c).validate().unwrap_err().field,
            "ca_cert_pem"
        );
        let mut c = email();
        c.host = "::1".into();
        ChannelConfig::Email(c).validate().unwrap();
    }

    #[test]
    fn webhook_headers_cannot_inject() {
        let mut c = WebhookConfig {
            url: "https://example.com/hook".into(),
            secret: None,
            headers: BTreeMap::new(),
        };
        c.headers.insert("X-Team".into(), "ops".into());
        ChannelConfig::Webhook(c.clone()).validate().unwrap();
        for (name, value) in [
            ("X-Team", "ops\r\nX-Evil: 1"),
            ("X-Team", "ops\n"),
            ("X-Team", "ops\r"),
            ("X-Team", "a\0b"),
            ("X-Team", ""),
            ("X Team", "ops"),
            ("X-Team:", "ops"),
            ("X-Team\r\nX-Evil", "ops"),
            ("", "ops"),
            ("Content-Length", "5"),
            ("Host", "evil"),
            ("x-lxmon-signature", "sha256=00"),
        ] {
            let mut c = c.clone();
            c.headers.insert(name.into(), value.into());
            let e = ChannelConfig::Webhook(c).validate().unwrap_err();
            assert!(e.field.starts_with("headers."), "{e}");
        }
    }

    #[test]
    fn telegram_and_whatsapp_fields() {
        let t = TelegramConfig {
            bot_token: "123456:ABC-def_GHI".into(),
            chat_id: "-1001234".into(),
            api_base: None,
        };
        ChannelConfig::Telegram(t.clone()).validate().unwrap();
        for (token, chat, base, field) in [
            ("", "-1", None, "bot_token"),
            ("123/../x", "-1", None, "bot_token"),
            ("123:abc?x=1", "-1", None, "bot_token"),
            ("123:abc", "", None, "chat_id"),
            ("123:abc", "a b", None, "chat_id"),
            ("123:abc", "1", Some("ftp://api"), "api_base"),
        ] {
            let c = TelegramConfig {
                bot_token: token.into(),
                chat_id: chat.into(),
                api_base: base.map(Into::into),
            };
            assert_eq!(
                ChannelConfig::Telegram(c).validate().unwrap_err().field,
                field
            );
        }
        let w = WhatsappConfig {
            access_token: "EAAG-token".into(),
            phone_number_id: "1234567890".into(),
            to: vec!["+4915112345678".into()],
            api_base: None,
        };
        ChannelConfig::Whatsapp(w.clone()).validate().unwrap();
        let mut bad = w.clone();
        bad.to = vec!["+49 151".into()];
        assert_eq!(
            ChannelConfig::Whatsapp(bad).validate().unwrap_err().field,
            "to[0]"
        );
        let mut bad = w.clone();
        bad.phone_number_id = "12/34".into();
        assert_eq!(
            ChannelConfig::Whatsapp(bad).validate().unwrap_err().field,
            "phone_number_id"
        );
        let mut bad = w;
        bad.to = vec![];
        assert_eq!(
            ChannelConfig::Whatsapp(bad).validate().unwrap_err().field,
            "to"
        );
    }

    fn all_with_secrets() -> Vec<(ChannelConfig, Vec<&'static str>)> {
        let mut headers = BTreeMap::new();
        headers.insert("Authorization".to_owned(), "Bearer hdr-secret-1".to_owned());
        headers.insert("X-Api-Key".to_owned(), "hdr-secret-2".to_owned());
        headers.insert("X-Team".to_owned(), "ops".to_owned());
        vec![
            (ChannelConfig::Email(email()), vec!["hunter2-password"]),
            (
                ChannelConfig::Slack(SlackConfig {
                    webhook_url: "https://hooks.slack.com/services/T0/B0/slack-secret".into(),
                }),
                vec!["slack-secret"],
            ),
            (
                ChannelConfig::Teams(TeamsConfig {
                    webhook_url: "https://prod.westeurope.logic.azure.com/workflows/teams-secret"
                        .into(),
                }),
                vec!["teams-secret"],
            ),
            (
                ChannelConfig::Telegram(TelegramConfig {
                    bot_token: "123:tg-secret".into(),
                    chat_id: "42".into(),
                    api_base: None,
                }),
                vec!["tg-secret"],
            ),
            (
                ChannelConfig::Whatsapp(WhatsappConfig {
                    access_token: "wa-secret".into(),
                    phone_number_id: "1".into(),
                    to: vec!["4915112345678".into()],
                    api_base: None,
                }),
                vec!["wa-secret"],
            ),
            (
                ChannelConfig::Webhook(WebhookConfig {
                    url: "https://example.com/hook".into(),
                    secret: Some("hmac-secret".into()),
                    headers,
                }),
                vec!["hmac-secret", "hdr-secret-1", "hdr-secret-2"],
            ),
        ]
    }

    #[test]
    fn redacted_never_contains_a_secret() {
        for (cfg, secrets) in all_with_secrets() {
            let json = cfg.redacted();
            let text = json.to_string();
            let debug = format!("{cfg:?}");
            for s in &secrets {
                assert!(!text.contains(s), "{} leaks {s}: {text}", cfg.kind());
                assert!(
                    !debug.contains(s),
                    "{} Debug leaks {s}: {debug}",
                    cfg.kind()
                );
            }
            assert_eq!(json["kind"], cfg.kind());
            let set = json["secrets_set"].as_array().unwrap();
            assert!(!set.is_empty());
            for f in cfg.secret_fields() {
                assert!(json.get(*f).is_none(), "{f} still present");
            }
        }
        let (webhook, _) = all_with_secrets().pop().unwrap();
        let json = webhook.redacted();
        assert_eq!(
            json["secrets_set"],
            serde_json::json!(["secret", "headers.Authorization", "headers.X-Api-Key"])
        );
        assert_eq!(json["headers"]["X-Team"], "ops");
        assert_eq!(json["headers"]["Authorization"], "");
        assert_eq!(json["url"], "https://example.com/hook");

        let mut c = email();
        c.username = None;
        c.password = None;
        let json = ChannelConfig::Email(c).redacted();
        assert_eq!(json["secrets_set"], serde_json::json!([]));
        assert_eq!(json["security"], "starttls");
    }

    #[test]
    fn redacted_round_trips_through_keep_secrets_from() {
        for (cfg, _) in all_with_secrets() {
            let mut back: ChannelConfig = serde_json::from_value(cfg.redacted()).unwrap();
            assert_ne!(back, cfg);
            back.keep_secrets_from(&cfg);
            assert_eq!(back, cfg, "{}", cfg.kind());
            back.validate().unwrap();
        }
    }

    #[test]
    fn keep_secrets_from_only_fills_empty_fields_of_the_same_kind() {
        let old = ChannelConfig::Email(email());
        let mut new = email();
        new.password = Some("new-password".into());
        let mut new = ChannelConfig::Email(new);
        new.keep_secrets_from(&old);
        let ChannelConfig::Email(e) = &new else {
            unreachable!()
        };
        assert_eq!(e.password.as_deref(), Some("new-password"));

        let mut new = email();
        new.password = Some(String::new());
        let mut new = ChannelConfig::Email(new);
        new.keep_secrets_from(&old);
        let ChannelConfig::Email(e) = &new else {
            unreachable!()
        };
        assert_eq!(e.password.as_deref(), Some("hunter2-password"));

        let mut slack = ChannelConfig::Slack(SlackConfig {
            webhook_url: String::new(),
        });
        slack.keep_secrets_from(&old);
        assert_eq!(
            slack,
            ChannelConfig::Slack(SlackConfig {
                webhook_url: String::new()
            })
        );
        assert!(slack.validate().is_err());

        // Turning AUTH off: no username, so no password is carried over.
        let mut no_auth = email();
        no_auth.username = None;
        no_auth.password = None;
        let mut no_auth = ChannelConfig::Email(no_auth);
        no_auth.keep_secrets_from(&old);
        no_auth.validate().unwrap();
        assert_eq!(no_auth.redacted()["secrets_set"], serde_json::json!([]));

        // Slack and Teams share a field name, not a secret.
        let teams = ChannelConfig::Teams(TeamsConfig {
            webhook_url: "https://example.com/x".into(),
        });
        slack.keep_secrets_from(&teams);
        assert!(slack.validate().is_err());

        // A sensitive header absent from the update stays absent (deleted).
        let (old_hook, _) = all_with_secrets().pop().unwrap();
        let mut new_hook = ChannelConfig::Webhook(WebhookConfig {
            url: "https://example.com/hook".into(),
            secret: None,
            headers: [("X-Api-Key".to_owned(), String::new())].into(),
        });
        new_hook.keep_secrets_from(&old_hook);
        let ChannelConfig::Webhook(w) = new_hook else {
            unreachable!()
        };
        assert_eq!(w.secret.as_deref(), Some("hmac-secret"));
        assert_eq!(w.headers.len(), 1);
        assert_eq!(w.headers["X-Api-Key"], "hdr-secret-2");
    }

    #[test]
    fn serde_shape() {
        let c: ChannelConfig = serde_json::from_str(
            r#"{"kind":"email","host":"smtp.example.com","port":465,"security":"tls",
                "from":"a@example.com","to":["b@example.com"]}"#,
        )
        .unwrap();
        let ChannelConfig::Email(e) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(e.security, TlsMode::Tls);
        assert_eq!(c.kind(), "email");
        c.validate().unwrap();
        let c: ChannelConfig =
            serde_json::from_str(r#"{"kind":"telegram","bot_token":"1:a","chat_id":"5"}"#).unwrap();
        assert_eq!(serde_json::to_value(&c).unwrap()["kind"], "telegram");
        assert!(serde_json::from_str::<ChannelConfig>(r#"{"kind":"pager","x":1}"#).is_err());
    }

    #[test]
    fn url_host_hides_path_and_credentials() {
        assert_eq!(
            url_host("https://hooks.slack.com/services/T/B/secret"),
            "hooks.slack.com"
        );
        assert_eq!(url_host("http://u:p@h:8080/x?y"), "h:8080");
        assert_eq!(url_host("ftp://x"), "?");
    }
}
