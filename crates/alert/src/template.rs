//! Annotation and label templates such as `{{host}} CPU at {{value}}%`.
//!
//! A rule's summary, description and extra labels are written once and
//! rendered for every alert it raises. Templates are parsed when the rule is
//! saved, so a typo in a variable name is rejected then, with its byte
//! position, instead of showing up as a blank in a notification at 3 a.m.
//!
//! Syntax: literal text with `{{ name }}` placeholders. Variables: `host`,
//! `value`, `threshold`, `rule`, `severity`, `metric` and `labels.<key>`.
//! The numeric variables take an optional filter, `{{ value | round 1 }}`,
//! which rounds to at most that many decimals (0–6); without it numbers are
//! rounded to at most [`DEFAULT_DECIMALS`]. Trailing zeros are never printed
//! (`90`, not `90.0`; `93.5`, not `93.50`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest template source accepted, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 1024;
/// Most decimals `round` accepts.
pub const MAX_ROUND_DECIMALS: u8 = 6;
/// Decimals numbers are rounded to when no `round` filter is given.
pub const DEFAULT_DECIMALS: u8 = 2;

/// A parsed template; serializes as its source string.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Placeholder { var: Variable, decimals: Option<u8> },
}

#[derive(Debug, Clone, PartialEq)]
enum Variable {
    Host,
    Value,
    Threshold,
    Rule,
    Severity,
    Metric,
    Label(String),
}

impl Variable {
    fn is_numeric(&self) -> bool {
        matches!(self, Variable::Value | Variable::Threshold)
    }
}

/// What a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct TemplateContext<'a> {
    pub host: Option<&'a str>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub rule: &'a str,
    pub severity: &'a str,
    pub metric: Option<&'a str>,
    pub labels: &'a BTreeMap<String, String>,
}

/// Why a template was rejected, and where (byte offset into the source).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {position}: {kind}")]
pub struct TemplateError {
    pub position: usize,
    pub kind: TemplateErrorKind,
}

/// The kinds of template errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateErrorKind {
    #[error("template is {len} bytes long, at most {MAX_TEMPLATE_LEN} are allowed")]
    TooLong { len: usize },
    #[error("`{{{{` is never closed with `}}}}`")]
    Unclosed,
    #[error("`}}}}` without a matching `{{{{`")]
    StrayClose,
    #[error("placeholder without a variable")]
    EmptyPlaceholder,
    #[error(
        "unknown variable `{0}`; known are host, value, threshold, rule, severity, metric and labels.<key>"
    )]
    UnknownVariable(String),
    #[error("bad filter `{filter}`: {reason}")]
    BadFilter { filter: String, reason: String },
}

fn error(position: usize, kind: TemplateErrorKind) -> TemplateError {
    TemplateError { position, kind }
}

impl Template {
    /// Parses and checks `source`.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.len() > MAX_TEMPLATE_LEN {
            return Err(error(
                MAX_TEMPLATE_LEN,
                TemplateErrorKind::TooLong { len: source.len() },
            ));
        }
        let mut parts = Vec::new();
        let mut rest_start = 0;
        while rest_start < source.len() {
            let rest = &source[rest_start..];
            let open = rest.find("{{");
            let close = rest.find("}}");
            // A `}}` before the next `{{` closes nothing.
            if let Some(c) = close
                && open.is_none_or(|o| c < o)
            {
                return Err(error(rest_start + c, TemplateErrorKind::StrayClose));
            }
            let Some(open) = open else {
                parts.push(Part::Literal(rest.to_owned()));
                break;
            };
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let open_at = rest_start + open;
            let inner_start = open_at + 2;
            let after_open = &source[inner_start..];
            let Some(inner_len) = after_open.find("}}") else {
                return Err(error(open_at, TemplateErrorKind::Unclosed));
            };
            let inner = &after_open[..inner_len];
            // `{{ a {{ b }}`: the first `{{` is the one left open.
            if inner.contains("{{") {
                return Err(error(open_at, TemplateErrorKind::Unclosed));
            }
            parts.push(parse_placeholder(inner, inner_start, open_at)?);
            rest_start = inner_start + inner_len + 2;
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The source the template was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Renders the template; missing values render as empty text.
    pub fn render(&self, ctx: &TemplateContext) -> String {
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Placeholder { var, decimals } => {
                    let decimals = decimals.unwrap_or(DEFAULT_DECIMALS);
                    match var {
                        Variable::Host => out.push_str(ctx.host.unwrap_or("")),
                        Variable::Value => push_number(&mut out, ctx.value, decimals),
                        Variable::Threshold => push_number(&mut out, ctx.threshold, decimals),
                        Variable::Rule => out.push_str(ctx.rule),
                        Variable::Severity => out.push_str(ctx.severity),
                        Variable::Metric => out.push_str(ctx.metric.unwrap_or("")),
                        Variable::Label(key) => {
                            out.push_str(ctx.labels.get(key).map_or("", String::as_str))
                        }
                    }
                }
            }
        }
        out
    }
}

/// Parses what is between `{{` and `}}`; `offset` is where `inner` starts in
/// the source, `open_at` where its `{{` is.
fn parse_placeholder(inner: &str, offset: usize, open_at: usize) -> Result<Part, TemplateError> {
    let (var_text, filter) = match inner.find('|') {
        Some(bar) => (&inner[..bar], Some((&inner[bar + 1..], offset + bar + 1))),
        None => (inner, None),
    };
    let var_name = var_text.trim();
    if var_name.is_empty() {
        return Err(error(open_at, TemplateErrorKind::EmptyPlaceholder));
    }
    let var_at = offset + (var_text.len() - var_text.trim_start().len());
    let var = parse_variable(var_name).ok_or_else(|| {
        error(
            var_at,
            TemplateErrorKind::UnknownVariable(var_name.to_owned()),
        )
    })?;
    let decimals = match filter {
        None => None,
        Some((text, at)) => {
            let at = at + (text.len() - text.trim_start().len());
            Some(parse_round(text.trim(), &var).map_err(|reason| {
                error(
                    at,
                    TemplateErrorKind::BadFilter {
                        filter: text.trim().to_owned(),
                        reason,
                    },
                )
            })?)
        }
    };
    Ok(Part::Placeholder { var, decimals })
}

fn parse_variable(name: &str) -> Option<Variable> {
    Some(match name {
        "host" => Variable::Host,
        "value" => Variable::Value,
        "threshold" => Variable::Threshold,
        "rule" => Variable::Rule,
        "severity" => Variable::Severity,
        "metric" => Variable::Metric,
        _ => {
            let key = name.strip_prefix("labels.")?;
            if !is_label_key(key) {
                return None;
            }
            Variable::Label(key.to_owned())
        }
    })
}

/// Label keys as templates and matchers accept them: `[A-Za-z0-9_.-]+`.
pub(crate) fn is_label_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn parse_round(filter: &str, var: &Variable) -> Result<u8, String> {
    let mut words = filter.split_whitespace();
    match words.next() {
        Some("round") => {}
        Some(other) => {
            return Err(format!(
                "unknown filter `{other}`; the only filter is `round N`"
            ));
        }
        None => return Err("missing filter after `|`; write `round N`".to_owned()),
    }
    if !var.is_numeric() {
        return Err("`round` applies only to value and threshold".to_owned());
    }
    let digits = words
        .next()
        .ok_or_else(|| format!("`round` needs a number of decimals, 0 to {MAX_ROUND_DECIMALS}"))?;
    if words.next().is_some() {
        return Err("`round` takes exactly one number".to_owned());
    }
    match digits.parse::<u8>() {
        Ok(n) if n <= MAX_ROUND_DECIMALS => Ok(n),
        _ => Err(format!(
            "decimals must be a whole number from 0 to {MAX_ROUND_DECIMALS}, got `{digits}`"
        )),
    }
}

fn push_number(out: &mut String, value: Option<f64>, decimals: u8) {
    if let Some(v) = value {
        out.push_str(&format_number(v, decimals));
    }
}

/// `v` rounded to at most `decimals` places, without trailing zeros or a
/// negative zero.
pub(crate) fn format_number(v: f64, decimals: u8) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let mut s = format!("{:.*}", usize::from(decimals), v);
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    // -0.001 rounds to "-0", which reads like a sign that means something.
    if s == "-0" {
        s.remove(0);
    }
    s
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Template {}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Template {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::parse(s)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Template::parse(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Template {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(MAX_TEMPLATE_LEN))
            .description(Some(
                "Text with {{ placeholders }}: host, value, threshold, rule, severity, metric, \
                 labels.<key>; numbers take `| round N` (0-6).",
            ))
            .examples(["{{host}} CPU at {{value | round 1}}%"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Template {}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("env".to_owned(), "prod".to_owned()),
            ("team.name".to_owned(), "ops-1".to_owned()),
        ])
    }

    fn render_with(template: &str, value: Option<f64>) -> String {
        let labels = labels();
        let ctx = TemplateContext {
            host: Some("web-1"),
            value,
            threshold: Some(90.0),
            rule: "High CPU",
            severity: "critical",
            metric: Some("cpu.usage"),
            labels: &labels,
        };
        Template::parse(template).unwrap().render(&ctx)
    }

    fn kind(template: &str) -> TemplateErrorKind {
        Template::parse(template).unwrap_err().kind
    }

    fn position(template: &str) -> usize {
        Template::parse(template).unwrap_err().position
    }

    #[test]
    fn renders_every_variable() {
        assert_eq!(
            render_with(
                "{{host}} {{value}} {{threshold}} {{rule}} {{severity}} {{metric}} {{labels.env}} {{labels.team.name}}",
                Some(93.5)
            ),
            "web-1 93.5 90 High CPU critical cpu.usage prod ops-1"
        );
    }

    #[test]
    fn spaces_inside_braces_are_allowed() {
        assert_eq!(
            render_with("{{ host }} at {{  value  |  round  1 }}%", Some(93.46)),
            "web-1 at 93.5%"
        );
    }

    #[test]
    fn literal_only_and_empty_templates() {
        assert_eq!(render_with("plain text", None), "plain text");
        assert_eq!(render_with("", None), "");
        // Single braces are literal text.
        assert_eq!(render_with("{a} {{host}}}", None), "{a} web-1}");
    }

    #[test]
    fn missing_values_render_empty() {
        let labels = BTreeMap::new();
        let ctx = TemplateContext {
            host: None,
            value: None,
            threshold: None,
            rule: "r",
            severity: "warning",
            metric: None,
            labels: &labels,
        };
        let t =
            Template::parse("[{{host}}|{{value}}|{{threshold}}|{{metric}}|{{labels.x}}]").unwrap();
        assert_eq!(t.render(&ctx), "[||||]");
    }

    #[test]
    fn numbers_have_no_trailing_zero_noise() {
        assert_eq!(render_with("{{value}}", Some(90.0)), "90");
        assert_eq!(render_with("{{value}}", Some(93.5)), "93.5");
        assert_eq!(render_with("{{value}}", Some(93.456)), "93.46");
        assert_eq!(render_with("{{value}}", Some(0.1 + 0.2)), "0.3");
        assert_eq!(render_with("{{value}}", Some(-0.001)), "0");
        assert_eq!(render_with("{{value}}", Some(-2.5)), "-2.5");
        assert_eq!(render_with("{{value}}", Some(1e12)), "1000000000000");
        assert_eq!(render_with("{{value}}", Some(f64::NAN)), "NaN");
        assert_eq!(render_with("{{value}}", Some(f64::INFINITY)), "+Inf");
        assert_eq!(render_with("{{value}}", Some(f64::NEG_INFINITY)), "-Inf");
    }

    #[test]
    fn round_filter_sets_the_most_decimals() {
        assert_eq!(render_with("{{value | round 0}}", Some(93.5)), "94");
        assert_eq!(render_with("{{value | round 1}}", Some(93.46)), "93.5");
        assert_eq!(render_with("{{value | round 1}}", Some(90.0)), "90");
        assert_eq!(render_with("{{value | round 4}}", Some(0.123456)), "0.1235");
        assert_eq!(
            render_with("{{value|round 6}}", Some(1.0 / 3.0)),
            "0.333333"
        );
        assert_eq!(render_with("{{threshold | round 3}}", None), "90");
    }

    #[test]
    fn unclosed_placeholder() {
        assert_eq!(kind("CPU {{value"), TemplateErrorKind::Unclosed);
        assert_eq!(position("CPU {{value"), 4);
        assert_eq!(kind("{{host {{value}}"), TemplateErrorKind::Unclosed);
        assert_eq!(position("{{host {{value}}"), 0);
        assert_eq!(kind("{{host}} {{"), TemplateErrorKind::Unclosed);
        assert_eq!(position("{{host}} {{"), 9);
    }

    #[test]
    fn stray_close() {
        assert_eq!(kind("a }} b"), TemplateErrorKind::StrayClose);
        assert_eq!(position("a }} b"), 2);
        assert_eq!(kind("{{host}} and }}"), TemplateErrorKind::StrayClose);
        assert_eq!(position("{{host}} and }}"), 13);
    }

    #[test]
    fn empty_placeholder() {
        assert_eq!(kind("x {{}}"), TemplateErrorKind::EmptyPlaceholder);
        assert_eq!(position("x {{   }}"), 2);
        assert_eq!(kind("{{ | round 1}}"), TemplateErrorKind::EmptyPlaceholder);
    }

    #[test]
    fn unknown_variables() {
        assert_eq!(
            kind("{{hostname}}"),
            TemplateErrorKind::UnknownVariable("hostname".into())
        );
        assert_eq!(position("ab{{  hostname }}"), 6);
        assert_eq!(
            kind("{{labels.}}"),
            TemplateErrorKind::UnknownVariable("labels.".into())
        );
        assert_eq!(
            kind("{{labels.a b}}"),
            TemplateErrorKind::UnknownVariable("labels.a b".into())
        );
        assert_eq!(
            kind("{{Host}}"),
            TemplateErrorKind::UnknownVariable("Host".into())
        );
    }

    #[test]
    fn bad_filters() {
        let bad = |t: &str| match kind(t) {
            TemplateErrorKind::BadFilter { reason, .. } => reason,
            other => panic!("{t}: expected a bad filter, got {other:?}"),
        };
        assert!(bad("{{value | upper}}").contains("unknown filter"));
        assert!(bad("{{value | round}}").contains("needs a number"));
        assert!(bad("{{value | round 7}}").contains("0 to 6"));
        assert!(bad("{{value | round -1}}").contains("0 to 6"));
        assert!(bad("{{value | round 1.5}}").contains("0 to 6"));
        assert!(bad("{{value | round 1 2}}").contains("exactly one"));
        assert!(bad("{{value | }}").contains("missing filter"));
        assert!(bad("{{value | round 1 | round 2}}").contains("exactly one"));
        assert!(bad("{{host | round 1}}").contains("value and threshold"));
        assert_eq!(position("{{value |  round 9}}"), 11);
    }

    #[test]
    fn length_limit() {
        let ok = "a".repeat(MAX_TEMPLATE_LEN);
        assert!(Template::parse(&ok).is_ok());
        let long = "a".repeat(MAX_TEMPLATE_LEN + 1);
        assert_eq!(
            kind(&long),
            TemplateErrorKind::TooLong {
                len: MAX_TEMPLATE_LEN + 1
            }
        );
    }

    #[test]
    fn multibyte_text_keeps_byte_positions() {
        assert_eq!(render_with("é {{host}} ✓", None), "é web-1 ✓");
        // "é " is 3 bytes.
        assert_eq!(position("é {{nope}}"), 5);
    }

    #[test]
    fn error_messages_read_well() {
        let e = Template::parse("{{host}} {{cpu}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "at byte 11: unknown variable `cpu`; known are host, value, threshold, rule, severity, metric and labels.<key>"
        );
        assert_eq!(
            Template::parse("x {{").unwrap_err().to_string(),
            "at byte 2: `{{` is never closed with `}}`"
        );
        assert_eq!(
            Template::parse("x }}").unwrap_err().to_string(),
            "at byte 2: `}}` without a matching `{{`"
        );
    }

    #[test]
    fn serde_is_the_source_string_and_validates() {
        let t = Template::parse("{{host}}: {{ value | round 1 }}").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#""{{host}}: {{ value | round 1 }}""#);
        let back: Template = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.as_str(), t.to_string());
        let err = serde_json::from_str::<Template>(r#""{{nope}}""#).unwrap_err();
        assert!(err.to_string().contains("unknown variable `nope`"), "{err}");
        assert!(serde_json::from_str::<Template>("12").is_err());
    }

    #[test]
    fn from_str_parses() {
        let t: Template = "{{rule}}".parse().unwrap();
        assert_eq!(render_with(t.as_str(), None), "High CPU");
        assert!("{{".parse::<Template>().is_err());
    }
}
