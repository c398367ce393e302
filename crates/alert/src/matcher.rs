//! Label matchers, as silences, notification routes and rule scopes use them.
//!
//! Semantics follow Prometheus/Alertmanager so people can reuse what they
//! know: `=`, `!=`, `=~` and `!~`; regexes match the whole value (they are
//! anchored); a label that is absent matches as the empty string, so
//! `foo!=""` means "has a non-empty foo" and `foo=""` means "has no foo".
//!
//! Matchers are written either as text — `env=prod`, `team!="on call"`,
//! `host=~"web-\d+"` — with [`Matcher::parse`], or in JSON as an object
//! `{"name": "env", "op": "=", "value": "prod"}`. Regexes are compiled once,
//! when the matcher is built.

use std::collections::BTreeMap;
use std::fmt;

use regex_lite::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::template::is_label_key;

/// Longest label name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest regex accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 256;
/// Longest literal value accepted, in bytes (the longest label value lxmon keeps).
pub const MAX_VALUE_LEN: usize = 4096;
/// Bound on a compiled regex's size, so a short pattern such as `(a{100}){100}`
/// cannot blow up into megabytes per matcher.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MatchOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    NotEq,
    #[serde(rename = "=~")]
    Re,
    #[serde(rename = "!~")]
    NotRe,
}

impl MatchOp {
    /// The operator as written: `=`, `!=`, `=~` or `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::NotEq => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }

    fn is_regex(self) -> bool {
        matches!(self, MatchOp::Re | MatchOp::NotRe)
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One label condition. Build it with [`Matcher::new`] or [`Matcher::parse`]
/// (or deserialize it), which check it and compile its regex; the fields are
/// public for reading.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "MatcherFields", into = "MatcherFields")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// `^(?:value)$`, for `=~` and `!~`.
    #[cfg_attr(feature = "openapi", schema(ignore))]
    regex: Option<Regex>,
}

/// The serialized shape of a [`Matcher`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatcherFields {
    name: String,
    op: MatchOp,
    value: String,
}

impl TryFrom<MatcherFields> for Matcher {
    type Error = MatcherError;
    fn try_from(f: MatcherFields) -> Result<Self, Self::Error> {
        Matcher::new(f.name, f.op, f.value)
    }
}

impl From<Matcher> for MatcherFields {
    fn from(m: Matcher) -> Self {
        MatcherFields {
            name: m.name,
            op: m.op,
            value: m.value,
        }
    }
}

/// Why a matcher was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("label name is empty")]
    EmptyName,
    #[error("label name `{0}` may only contain letters, digits, `_`, `.` and `-`")]
    InvalidName(String),
    #[error("label name is {len} bytes long, at most {MAX_NAME_LEN} are allowed")]
    NameTooLong { len: usize },
    #[error("no operator after the label name; use =, !=, =~ or !~")]
    MissingOperator,
    #[error("the quoted value is never closed")]
    UnterminatedQuote,
    #[error("unexpected text after the closing quote: `{0}`")]
    TrailingText(String),
    #[error("value is {len} bytes long, at most {max} are allowed")]
    ValueTooLong { len: usize, max: usize },
    #[error("invalid regex: {0}")]
    InvalidRegex(String),
}

impl Matcher {
    /// Checks the parts and compiles the regex of `=~` and `!~`.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Matcher, MatcherError> {
        let name = name.into();
        let value = value.into();
        check_name(&name)?;
        let max = if op.is_regex() {
            MAX_REGEX_LEN
        } else {
            MAX_VALUE_LEN
        };
        if value.len() > max {
            return Err(MatcherError::ValueTooLong {
                len: value.len(),
                max,
            });
        }
        let regex = if op.is_regex() {
            Some(compile(&value)?)
        } else {
            None
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    /// Parses `name=value`, `name!="quoted value"`, `name=~"regex"` or
    /// `name!~regex`. Spaces around the operator are allowed. A quoted value
    /// understands the escapes `\"`, `\\`, `\n` and `\t` and keeps any other
    /// backslash as written (`"web-\d+"`); an unquoted value is the rest of the
    /// text, trimmed.
    pub fn parse(text: &str) -> Result<Matcher, MatcherError> {
        let text = text.trim();
        let name_len = text
            .bytes()
            .position(|b| matches!(b, b'=' | b'!' | b'~' | b'"') || b.is_ascii_whitespace())
            .unwrap_or(text.len());
        let name = &text[..name_len];
        check_name(name)?;
        let rest = text[name_len..].trim_start();
        let (op, rest) = if let Some(r) = rest.strip_prefix("!=") {
            (MatchOp::NotEq, r)
        } else if let Some(r) = rest.strip_prefix("!~") {
            (MatchOp::NotRe, r)
        } else if let Some(r) = rest.strip_prefix("=~") {
            (MatchOp::Re, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (MatchOp::Eq, r)
        } else {
            return Err(MatcherError::MissingOperator);
        };
        let rest = rest.trim_start();
        let value = match rest.strip_prefix('"') {
            Some(quoted) => unquote(quoted)?,
            None => rest.to_owned(),
        };
        Matcher::new(name, op, value)
    }

    /// Whether `labels` satisfy this matcher; an absent label is `""`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    /// Whether a label value satisfies this matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Eq => value == self.value,
            MatchOp::NotEq => value != self.value,
            MatchOp::Re => self.regex_is_match(value),
            MatchOp::NotRe => !self.regex_is_match(value),
        }
    }

    fn regex_is_match(&self, value: &str) -> bool {
        match &self.regex {
            // The fields are public, so `value` may have been edited after
            // the regex was compiled; never match with a stale regex.
            Some(re) if anchored_source(re) == Some(self.value.as_str()) => re.is_match(value),
            _ => compile(&self.value).is_ok_and(|re| re.is_match(value)),
        }
    }
}

/// Whether every matcher matches; an empty list matches everything.
pub fn matches_all(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

fn check_name(name: &str) -> Result<(), MatcherError> {
    if name.is_empty() {
        return Err(MatcherError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(MatcherError::NameTooLong { len: name.len() });
    }
    if !is_label_key(name) {
        return Err(MatcherError::InvalidName(name.to_owned()));
    }
    Ok(())
}

const ANCHOR_START: &str = "^(?:";
const ANCHOR_END: &str = ")$";

fn compile(pattern: &str) -> Result<Regex, MatcherError> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(MatcherError::ValueTooLong {
            len: pattern.len(),
            max: MAX_REGEX_LEN,
        });
    }
    RegexBuilder::new(&format!("{ANCHOR_START}{pattern}{ANCHOR_END}"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| MatcherError::InvalidRegex(e.to_string()))
}

/// The pattern a compiled regex was built from, without the anchors.
fn anchored_source(re: &Regex) -> Option<&str> {
    re.as_str()
        .strip_prefix(ANCHOR_START)?
        .strip_suffix(ANCHOR_END)
}

/// Reads a quoted value; `s` starts after the opening quote.
fn unquote(s: &str) -> Result<String, MatcherError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let trailing = s[i + 1..].trim();
                if !trailing.is_empty() {
                    return Err(MatcherError::TrailingText(trailing.to_owned()));
                }
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                // Kept as written, so `"web-\d+"` is the regex it looks like.
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return Err(MatcherError::UnterminatedQuote),
            },
            c => out.push(c),
        }
    }
    Err(MatcherError::UnterminatedQuote)
}

fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `name op "value"`, which [`Matcher::parse`] reads back.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.op, quote(&self.value))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("name", &self.name)
            .field("op", &self.op)
            .field("value", &self.value)
            .finish()
    }
}

/// Equal when name, operator and value are; the compiled regex follows from them.
impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::str::FromStr for Matcher {
    type Err = MatcherError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Matcher::parse(s)
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

    fn m(text: &str) -> Matcher {
        Matcher::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_all_operators() {
        let cases = [
            ("env=prod", "env", MatchOp::Eq, "prod"),
            ("env!=prod", "env", MatchOp::NotEq, "prod"),
            ("host=~web-.*", "host", MatchOp::Re, "web-.*"),
            ("host!~web-.*", "host", MatchOp::NotRe, "web-.*"),
            ("team != \"on call\"", "team", MatchOp::NotEq, "on call"),
            (
                "  job =~ \"node|agent\"  ",
                "job",
                MatchOp::Re,
                "node|agent",
            ),
            ("k.a-b_c=", "k.a-b_c", MatchOp::Eq, ""),
            ("k=\"\"", "k", MatchOp::Eq, ""),
            ("k=a=b", "k", MatchOp::Eq, "a=b"),
            ("k=~=x", "k", MatchOp::Re, "=x"),
            (
                r#"msg="say \"hi\"\\n""#,
                "msg",
                MatchOp::Eq,
                "say \"hi\"\\n",
            ),
            (r#"msg="a\nb\tc""#, "msg", MatchOp::Eq, "a\nb\tc"),
            (r#"host=~"web-\d+""#, "host", MatchOp::Re, r"web-\d+"),
        ];
        for (text, name, op, value) in cases {
            let matcher = m(text);
            assert_eq!(
                (matcher.name.as_str(), matcher.op, matcher.value.as_str()),
                (name, op, value),
                "{text}"
            );
        }
    }

    #[test]
    fn parse_errors() {
        let err = |t: &str| Matcher::parse(t).unwrap_err();
        assert_eq!(err("=x"), MatcherError::EmptyName);
        assert_eq!(err(""), MatcherError::EmptyName);
        assert_eq!(err("env"), MatcherError::MissingOperator);
        assert_eq!(err("env ~ x"), MatcherError::MissingOperator);
        assert_eq!(err("e/nv=x"), MatcherError::InvalidName("e/nv".into()));
        assert_eq!(err("env=\"prod"), MatcherError::UnterminatedQuote);
        assert_eq!(err("env=\"prod\\"), MatcherError::UnterminatedQuote);
        assert_eq!(
            err("env=\"prod\" x"),
            MatcherError::TrailingText("x".into())
        );
        assert!(matches!(
            err("host=~\"(web\""),
            MatcherError::InvalidRegex(_)
        ));
        assert!(matches!(err("host=~[a-"), MatcherError::InvalidRegex(_)));
        let long_name = format!("{}=x", "n".repeat(MAX_NAME_LEN + 1));
        assert_eq!(
            err(&long_name),
            MatcherError::NameTooLong {
                len: MAX_NAME_LEN + 1
            }
        );
    }

    #[test]
    fn regexes_are_bounded() {
        let ok = format!("x=~{}", "a".repeat(MAX_REGEX_LEN));
        assert!(Matcher::parse(&ok).is_ok());
        let long = format!("x=~{}", "a".repeat(MAX_REGEX_LEN + 1));
        assert_eq!(
            Matcher::parse(&long).unwrap_err(),
            MatcherError::ValueTooLong {
                len: MAX_REGEX_LEN + 1,
                max: MAX_REGEX_LEN
            }
        );
        // Short, but compiles to something huge.
        assert!(matches!(
            Matcher::parse("x=~(((a{100}){100}){100})").unwrap_err(),
            MatcherError::InvalidRegex(_)
        ));
        // Literal values may be longer than regexes.
        let literal = format!("x={}", "a".repeat(1000));
        assert!(Matcher::parse(&literal).is_ok());
        let too_long = "a".repeat(MAX_VALUE_LEN + 1);
        assert!(matches!(
            Matcher::new("x", MatchOp::Eq, too_long).unwrap_err(),
            MatcherError::ValueTooLong { .. }
        ));
    }

    #[test]
    fn equality_operators() {
        let l = labels(&[("env", "prod"), ("host", "web-1")]);
        assert!(m("env=prod").matches(&l));
        assert!(!m("env=staging").matches(&l));
        assert!(m("env!=staging").matches(&l));
        assert!(!m("env!=prod").matches(&l));
        // Case matters.
        assert!(!m("env=Prod").matches(&l));
    }

    #[test]
    fn regexes_are_anchored() {
        let l = labels(&[("host", "web-12")]);
        assert!(m(r#"host=~"web-\d+""#).matches(&l));
        assert!(!m("host=~web").matches(&l));
        assert!(!m("host=~eb-12").matches(&l));
        assert!(m("host=~.*eb-1.*").matches(&l));
        assert!(
            m("host=~db|web-12").matches(&l),
            "alternation is anchored as a whole"
        );
        assert!(!m("host=~web|db").matches(&l));
        assert!(m("host!~db-.*").matches(&l));
        assert!(!m("host!~web-.*").matches(&l));
        assert!(m("host=~(?i)WEB-12").matches(&l));
    }

    #[test]
    fn missing_labels_match_as_empty() {
        let none = labels(&[]);
        let has = labels(&[("foo", "bar")]);
        let empty = labels(&[("foo", "")]);
        // foo!="" means "has foo".
        assert!(!m(r#"foo!="""#).matches(&none));
        assert!(m(r#"foo!="""#).matches(&has));
        assert!(!m(r#"foo!="""#).matches(&empty));
        // foo="" means "has no foo".
        assert!(m(r#"foo="""#).matches(&none));
        assert!(!m(r#"foo="""#).matches(&has));
        assert!(m("foo=~.*").matches(&none));
        assert!(!m("foo=~.+").matches(&none));
        assert!(m("foo!~.+").matches(&none));
        assert!(m("foo!=bar").matches(&none));
        assert!(!m("foo=bar").matches(&none));
    }

    #[test]
    fn matches_all_needs_every_matcher() {
        let l = labels(&[("env", "prod"), ("host", "web-1"), ("team", "ops")]);
        assert!(matches_all(&[], &l));
        assert!(matches_all(&[m("env=prod"), m("host=~web-.*")], &l));
        assert!(!matches_all(&[m("env=prod"), m("host=~db-.*")], &l));
        assert!(!matches_all(&[m("env=prod"), m("team!=ops")], &l));
    }

    #[test]
    fn serde_is_an_object_and_validates() {
        let matcher = m(r#"host=~"web-\d+""#);
        let json = serde_json::to_value(&matcher).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "host", "op": "=~", "value": "web-\\d+"})
        );
        let back: Matcher = serde_json::from_value(json).unwrap();
        assert_eq!(back, matcher);
        assert!(back.matches(&labels(&[("host", "web-7")])));

        for op in ["=", "!=", "=~", "!~"] {
            let v = serde_json::json!({"name": "a", "op": op, "value": "b"});
            let parsed: Matcher = serde_json::from_value(v).unwrap();
            assert_eq!(parsed.op.as_str(), op);
        }
        let bad_regex = serde_json::json!({"name": "a", "op": "=~", "value": "("});
        let e = serde_json::from_value::<Matcher>(bad_regex).unwrap_err();
        assert!(e.to_string().contains("invalid regex"), "{e}");
        let bad_op = serde_json::json!({"name": "a", "op": "==", "value": "b"});
        assert!(serde_json::from_value::<Matcher>(bad_op).is_err());
        let bad_name = serde_json::json!({"name": "a b", "op": "=", "value": "b"});
        assert!(serde_json::from_value::<Matcher>(bad_name).is_err());
        let extra = serde_json::json!({"name": "a", "op": "=", "value": "b", "x": 1});
        assert!(serde_json::from_value::<Matcher>(extra).is_err());
    }

    #[test]
    fn display_round_trips_through_parse() {
        for text in [
            "env=prod",
            r#"team!="on call""#,
            r#"host=~"web-\\d+""#,
            r#"msg!~"a\"b""#,
            r#"x="line\nbreak""#,
        ] {
            let matcher = m(text);
            let shown = matcher.to_string();
            assert_eq!(m(&shown), matcher, "{text} -> {shown}");
        }
        assert_eq!(m("env=prod").to_string(), r#"env="prod""#);
    }

    #[test]
    fn clone_debug_and_eq() {
        let a = m("host=~web-.*");
        let b = a.clone();
        assert_eq!(a, b);
        assert!(b.matches_value("web-3"));
        assert_ne!(a, m("host!~web-.*"));
        let debug = format!("{a:?}");
        assert_eq!(
            debug,
            r#"Matcher { name: "host", op: Re, value: "web-.*" }"#
        );
    }

    #[test]
    fn editing_the_public_value_never_uses_a_stale_regex() {
        let mut matcher = m("host=~web-.*");
        matcher.value = "db-.*".to_owned();
        assert!(matcher.matches_value("db-1"));
        assert!(!matcher.matches_value("web-1"));
        matcher.value = "(".to_owned();
        assert!(!matcher.matches_value("("));
    }
}
