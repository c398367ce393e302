//! The agent-local allowlist of actions: what the server may ask this host
//! to run.
//!
//! The agent's own TOML file declares each action (`[[actions]]`): a fixed
//! argv whose elements may contain `{param}` placeholders, a pattern per
//! parameter, a timeout and an output cap. The server can only name an
//! action and give argument values; [`Actions::prepare`] refuses anything
//! this list does not allow and otherwise builds the exact argv to execute.
//!
//! Substitution never splits or interprets: each template element becomes
//! exactly one argv element, with the values pasted in where the
//! placeholders were. `{{` and `}}` stand for literal braces.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lxmon_proto::{
    ActionSpec, AgentCommand, MAX_ACTIONS, MAX_COMMAND_ARG_LEN, MAX_COMMAND_ARGS,
    MAX_COMMAND_OUTPUT_BYTES, MAX_TEXT_LEN, ParamSpec,
};
use regex_lite::{Regex, RegexBuilder};
use serde::Deserialize;

/// Timeout of an action that does not set `timeout_s`.
pub const DEFAULT_TIMEOUT_S: u32 = 30;
/// Longest `timeout_s`.
pub const MAX_TIMEOUT_S: u32 = 3600;
/// Output cap of an action that does not set `output_cap_bytes`.
pub const DEFAULT_OUTPUT_CAP: usize = 64 * 1024;
/// Smallest and largest `output_cap_bytes`.
pub const MIN_OUTPUT_CAP: usize = 1024;
pub const MAX_OUTPUT_CAP: usize = MAX_COMMAND_OUTPUT_BYTES;
/// Longest action or parameter name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest parameter pattern.
pub const MAX_PATTERN_LEN: usize = 1024;

/// One `[[actions]]` table as written in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub argv: Vec<String>,
    /// Read as a wide integer so that a negative or huge value gets the
    /// range error below rather than a type error.
    pub timeout_s: Option<i64>,
    pub output_cap_bytes: Option<i64>,
    /// Run as this user instead of the agent's own.
    pub user: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, ParamConfig>,
}

/// One `[actions.params.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamConfig {
    pub pattern: String,
    #[serde(default)]
    pub description: String,
}

/// Why the `[[actions]]` of the config file cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{which}: {reason}")]
pub struct ActionError {
    /// `actions[2] "restart-unit"`: where in the file.
    pub which: String,
    pub reason: String,
}

/// A validated action.
#[derive(Debug, Clone)]
pub struct Action {
    name: String,
    description: String,
    /// argv[0], an absolute path without placeholders.
    program: String,
    argv: Vec<Template>,
    /// Sorted by name.
    params: Vec<Param>,
    timeout_s: u32,
    output_cap: usize,
    user: Option<String>,
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    pattern: String,
    description: String,
    /// `^(?:pattern)$`.
    full_match: Regex,
}

/// One argv element: literal text and parameters, in order.
type Template = Vec<Piece>;

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// Index into [`Action::params`].
    Param(usize),
}

impl Action {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn program(&self) -> &str {
        &self.program
    }
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_s as u64)
    }
    pub fn output_cap(&self) -> usize {
        self.output_cap
    }

    /// What the server is told: names and parameter rules, never the argv.
    pub fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            params: self
                .params
                .iter()
                .map(|p| ParamSpec {
                    name: p.name.clone(),
                    pattern: p.pattern.clone(),
                    description: p.description.clone(),
                })
                .collect(),
            timeout_s: self.timeout_s,
        }
    }
}

/// A command that passed the allowlist: exactly what to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub id: i64,
    pub action: String,
    /// argv[0] is the program's absolute path.
    pub argv: Vec<String>,
    pub timeout: Duration,
    pub output_cap: usize,
    pub user: Option<String>,
}

/// The allowlist. Empty unless the config file declares actions.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    list: Vec<Action>,
}

impl Actions {
    /// Validates the `[[actions]]` of the config file.
    pub fn from_config(configs: &[ActionConfig]) -> Result<Actions, ActionError> {
        if configs.len() > MAX_ACTIONS {
            return Err(ActionError {
                which: "[[actions]]".into(),
                reason: format!(
                    "{} actions declared; at most {MAX_ACTIONS} are allowed",
                    configs.len()
                ),
            });
        }
        let mut list: Vec<Action> = Vec::with_capacity(configs.len());
        for (i, config) in configs.iter().enumerate() {
            let which = format!("actions[{i}] {:?}", clip(&config.name, 80));
            let action = validate(config).map_err(|reason| ActionError {
                which: which.clone(),
                reason,
            })?;
            if list.iter().any(|a| a.name == action.name) {
                return Err(ActionError {
                    which,
                    reason: "another action has the same name; names must be unique".into(),
                });
            }
            list.push(action);
        }
        Ok(Actions { list })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Action> {
        self.list.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Action> {
        self.list.iter().find(|a| a.name == name)
    }

    /// The list announced at registration.
    pub fn specs(&self) -> Vec<ActionSpec> {
        self.list.iter().map(Action::spec).collect()
    }

    /// Checks `command` against the allowlist and builds its argv. The
    /// error is the reason sent back with a `rejected` status; it names
    /// the action and parameter but never echoes a value.
    pub fn prepare(&self, command: &AgentCommand) -> Result<Invocation, String> {
        let action = self.get(&command.action).ok_or_else(|| {
            format!(
                "action {:?} is not in this agent's allowlist",
                clip(&command.action, 80)
            )
        })?;
        if command.args.len() > MAX_COMMAND_ARGS {
            return Err(format!(
                "{} arguments given; action {:?} takes {}",
                command.args.len(),
                action.name,
                action.params.len()
            ));
        }
        if let Some(extra) = command
            .args
            .keys()
            .find(|k| !action.params.iter().any(|p| &p.name == *k))
        {
            return Err(format!(
                "action {:?} has no parameter {:?}",
                action.name,
                clip(extra, 80)
            ));
        }
        let mut values = Vec::with_capacity(action.params.len());
        for param in &action.params {
            let value = command.args.get(&param.name).ok_or_else(|| {
                format!(
                    "missing argument {:?} of action {:?}",
                    param.name, action.name
                )
            })?;
            if value.len() > MAX_COMMAND_ARG_LEN {
                return Err(format!(
                    "argument {:?} is longer than {MAX_COMMAND_ARG_LEN} bytes",
                    param.name
                ));
            }
            if value.contains('\0') {
                return Err(format!("argument {:?} contains a NUL byte", param.name));
            }
            if !param.full_match.is_match(value) {
                return Err(format!(
                    "argument {:?} does not match its pattern {:?}",
                    param.name, param.pattern
                ));
            }
            values.push(value.as_str());
        }
        let argv = action
            .argv
            .iter()
            .map(|template| {
                let mut arg = String::new();
                for piece in template {
                    match piece {
                        Piece::Text(t) => arg.push_str(t),
                        Piece::Param(i) => arg.push_str(values[*i]),
                    }
                }
                arg
            })
            .collect();
        Ok(Invocation {
            id: command.id,
            action: action.name.clone(),
            argv,
            timeout: action.timeout(),
            output_cap: action.output_cap,
            user: action.user.clone(),
        })
    }
}

fn validate(config: &ActionConfig) -> Result<Action, String> {
    let name = &config.name;
    if !valid_name(name, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
    }) {
        return Err(format!(
            "name {:?} must be 1-{MAX_NAME_LEN} characters of a-z, 0-9, '.', '_' and '-'",
            clip(name, 80)
        ));
    }
    check_text("description", &config.description)?;

    // Parameters, in name order (the map is sorted).
    if config.params.len() > MAX_COMMAND_ARGS {
        return Err(format!(
            "{} parameters declared; at most {MAX_COMMAND_ARGS} are allowed",
            config.params.len()
        ));
    }
    let mut params = Vec::with_capacity(config.params.len());
    for (pname, p) in &config.params {
        if !valid_param_name(pname) {
            return Err(format!(
                "parameter name {:?} must be 1-{MAX_NAME_LEN} characters of a-z, 0-9, '_' and '-'",
                clip(pname, 80)
            ));
        }
        check_text(&format!("params.{pname}.description"), &p.description)?;
        params.push(Param {
            name: pname.clone(),
            pattern: p.pattern.clone(),
            description: p.description.clone(),
            full_match: compile_pattern(&p.pattern)
                .map_err(|e| format!("params.{pname}.pattern: {e}"))?,
        });
    }

    // argv.
    let Some(program) = config.argv.first() else {
        return Err("argv is empty; it needs at least the program's absolute path".into());
    };
    if !program.starts_with('/') {
        return Err(format!(
            "argv[0] {:?} must be an absolute path (the agent never searches PATH)",
            clip(program, 200)
        ));
    }
    if program.contains(['{', '}']) {
        return Err(format!(
            "argv[0] {:?} must be a fixed path: the program cannot contain a placeholder or brace",
            clip(program, 200)
        ));
    }
    let mut used = BTreeSet::new();
    let mut argv = Vec::with_capacity(config.argv.len());
    for (i, element) in config.argv.iter().enumerate() {
        if element.contains('\0') {
            return Err(format!("argv[{i}] contains a NUL character"));
        }
        let template =
            parse_template(element, &params).map_err(|e| format!("argv[{i}] {element:?}: {e}"))?;
        for piece in &template {
            if let Piece::Param(p) = piece {
                used.insert(*p);
            }
        }
        argv.push(template);
    }
    if let Some(unused) = (0..params.len()).find(|p| !used.contains(p)) {
        return Err(format!(
            "parameter {:?} is declared but argv never uses {{{}}}",
            params[unused].name, params[unused].name
        ));
    }

    let timeout_s = match config.timeout_s {
        None => DEFAULT_TIMEOUT_S,
        Some(t) if (1..=MAX_TIMEOUT_S as i64).contains(&t) => t as u32,
        Some(t) => {
            return Err(format!(
                "timeout_s = {t} is out of range: it must be 1-{MAX_TIMEOUT_S} seconds (default {DEFAULT_TIMEOUT_S})"
            ));
        }
    };
    let output_cap = match config.output_cap_bytes {
        None => DEFAULT_OUTPUT_CAP,
        Some(c) if (MIN_OUTPUT_CAP as i64..=MAX_OUTPUT_CAP as i64).contains(&c) => c as usize,
        Some(c) => {
            return Err(format!(
                "output_cap_bytes = {c} is out of range: it must be {MIN_OUTPUT_CAP}-{MAX_OUTPUT_CAP} bytes (default {DEFAULT_OUTPUT_CAP})"
            ));
        }
    };
    let user = match &config.user {
        None => None,
        Some(u) => {
            crate::exec::lookup_user(u).map_err(|e| format!("user: {e}"))?;
            Some(u.clone())
        }
    };

    Ok(Action {
        name: name.clone(),
        description: config.description.clone(),
        program: program.clone(),
        argv,
        params,
        timeout_s,
        output_cap,
        user,
    })
}

fn valid_name(name: &str, allowed: impl Fn(char) -> bool) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.chars().all(allowed)
}

fn valid_param_name(name: &str) -> bool {
    valid_name(name, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')
    })
}

fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT_LEN {
        return Err(format!(
            "{field} is longer than {MAX_TEXT_LEN} bytes ({})",
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{field} contains a control character"));
    }
    Ok(())
}

/// Compiles `^(?:pattern)$`. The pattern is compiled alone first, so an
/// unbalanced one (`a)|(b`) cannot escape the anchors.
fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("longer than {MAX_PATTERN_LEN} bytes"));
    }
    let build = |p: &str| {
        RegexBuilder::new(p)
            .size_limit(1 << 20)
            .nest_limit(64)
            .build()
            .map_err(|e| format!("{pattern:?} is not a valid regular expression: {e}"))
    };
    build(pattern)?;
    build(&format!("^(?:{pattern})$"))
}

/// Splits an argv element into text and placeholders.
fn parse_template(element: &str, params: &[Param]) -> Result<Template, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = element;
    while let Some(pos) = rest.find(['{', '}']) {
        text.push_str(&rest[..pos]);
        let brace = rest.as_bytes()[pos];
        let after = &rest[pos + 1..];
        if after.as_bytes().first() == Some(&brace) {
            // `{{` or `}}`: a literal brace.
            text.push(brace as char);
            rest = &after[1..];
            continue;
        }
        if brace == b'}' {
            return Err("unmatched '}' (write '}}' for a literal brace)".into());
        }
        let Some(end) = after.find('}') else {
            return Err("unclosed '{' (write '{{' for a literal brace)".into());
        };
        let name = &after[..end];
        if !valid_param_name(name) {
            return Err(format!(
                "{{{name}}} is not a placeholder: names are 1-{MAX_NAME_LEN} characters of a-z, 0-9, '_' and '-' (write '{{{{' and '}}}}' for literal braces)"
            ));
        }
        let Some(index) = params.iter().position(|p| p.name == name) else {
            return Err(format!(
                "placeholder {{{name}}} is not a declared parameter; declare it as [actions.params.{name}] with a pattern"
            ));
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Param(index));
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// At most `max` bytes of `s`, cut at a character boundary, for messages.
pub(crate) fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Actions, ActionError> {
        #[derive(Deserialize)]
        struct File {
            actions: Vec<ActionConfig>,
        }
        let file: File = toml::from_str(toml_text).expect("test TOML parses");
        Actions::from_config(&file.actions)
    }

    fn error_of(toml_text: &str) -> String {
        parse(toml_text).unwrap_err().to_string()
    }

    const RESTART: &str = r#"
[[actions]]
name = "restart-unit"
description = "Restart a systemd unit"
argv = ["/usr/bin/systemctl", "restart", "--unit={unit}", "{unit}"]
timeout_s = 60
output_cap_bytes = 65536
[actions.params.unit]
pattern = "^[a-z0-9@._-]+\\.service$"
description = "unit name"

[[actions]]
name = "uptime"
argv = ["/usr/bin/uptime"]
"#;

    fn command(action: &str, args: &[(&str, &str)]) -> AgentCommand {
        AgentCommand {
            id: 7,
            action: action.into(),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_valid_list_prepares_one_argv_element_per_template_element() {
        let actions = parse(RESTART).unwrap();
        assert_eq!(actions.len(), 2);
        let inv = actions
            .prepare(&command("restart-unit", &[("unit", "nginx.service")]))
            .unwrap();
        assert_eq!(
            inv.argv,
            [
                "/usr/bin/systemctl",
                "restart",
                "--unit=nginx.service",
                "nginx.service"
            ]
        );
        assert_eq!(inv.id, 7);
        assert_eq!(inv.timeout, Duration::from_secs(60));
        assert_eq!(inv.output_cap, 65536);
        let up = actions.prepare(&command("uptime", &[])).unwrap();
        assert_eq!(up.argv, ["/usr/bin/uptime"]);
        assert_eq!(up.timeout, Duration::from_secs(DEFAULT_TIMEOUT_S as u64));
        assert_eq!(up.output_cap, DEFAULT_OUTPUT_CAP);
    }

    #[test]
    fn specs_carry_rules_but_never_the_argv() {
        let specs = parse(RESTART).unwrap().specs();
        assert_eq!(specs[0].name, "restart-unit");
        assert_eq!(specs[0].timeout_s, 60);
        assert_eq!(specs[0].params.len(), 1);
        assert_eq!(specs[0].params[0].name, "unit");
        assert_eq!(specs[0].params[0].pattern, "^[a-z0-9@._-]+\\.service$");
        assert_eq!(specs[0].params[0].description, "unit name");
        let json = serde_json::to_string(&specs).unwrap();
        assert!(!json.contains("systemctl"), "{json}");
    }

    #[test]
    fn refusals_name_the_reason() {
        let actions = parse(RESTART).unwrap();
        let refuse = |c: AgentCommand| actions.prepare(&c).unwrap_err();
        assert!(refuse(command("rm-rf", &[])).contains("not in this agent's allowlist"));
        assert!(refuse(command("restart-unit", &[])).contains("missing argument \"unit\""));
        assert!(
            refuse(command(
                "restart-unit",
                &[("unit", "a.service"), ("extra", "1")]
            ))
            .contains("no parameter \"extra\"")
        );
        assert!(refuse(command("uptime", &[("unit", "a.service")])).contains("no parameter"));
        let long = format!("{}.service", "a".repeat(MAX_COMMAND_ARG_LEN));
        assert!(refuse(command("restart-unit", &[("unit", &long)])).contains("longer than"));
        for bad in [
            "nginx.service; rm -rf /",
            "; rm -rf /",
            "$(id).service",
            "`id`.service",
            "a.service\nb.service",
            "a.service\n",
            "\na.service",
            "a.service && reboot",
            "../../etc/passwd",
            "a.service|id",
            "",
        ] {
            let reason = refuse(command("restart-unit", &[("unit", bad)]));
            assert!(
                reason.contains("does not match its pattern"),
                "{bad:?}: {reason}"
            );
            assert!(
                !reason.contains(bad) || bad.is_empty(),
                "the value is not echoed"
            );
        }
    }

    #[test]
    fn patterns_are_anchored_even_without_anchors() {
        let actions = parse(
            r#"
[[actions]]
name = "echo"
argv = ["/bin/echo", "{word}"]
[actions.params.word]
pattern = "[a-z]+"
"#,
        )
        .unwrap();
        assert!(
            actions
                .prepare(&command("echo", &[("word", "abc")]))
                .is_ok()
        );
        for bad in ["abc def", "abc;", "1abc", "abc\n", "ABC"] {
            assert!(
                actions.prepare(&command("echo", &[("word", bad)])).is_err(),
                "{bad:?}"
            );
        }
        // An alternation stays inside the anchors.
        let alt = parse(
            r#"
[[actions]]
name = "pick"
argv = ["/bin/echo", "{w}"]
[actions.params.w]
pattern = "start|stop"
"#,
        )
        .unwrap();
        assert!(alt.prepare(&command("pick", &[("w", "stop")])).is_ok());
        assert!(
            alt.prepare(&command("pick", &[("w", "start; id")]))
                .is_err()
        );
        assert!(alt.prepare(&command("pick", &[("w", "x; stop")])).is_err());
    }

    #[test]
    fn a_nul_byte_is_refused_even_when_the_pattern_allows_it() {
        let actions = parse(
            r#"
[[actions]]
name = "echo"
argv = ["/bin/echo", "{any}"]
[actions.params.any]
pattern = "(?s).*"
"#,
        )
        .unwrap();
        assert!(
            actions
                .prepare(&command("echo", &[("any", "a\0b")]))
                .unwrap_err()
                .contains("NUL")
        );
        let inv = actions
            .prepare(&command("echo", &[("any", "a; b\n$(c) `d` {any}")]))
            .unwrap();
        assert_eq!(inv.argv, ["/bin/echo", "a; b\n$(c) `d` {any}"]);
    }

    #[test]
    fn braces_escape_and_repeat() {
        let actions = parse(
            r#"
[[actions]]
name = "awk"
argv = ["/usr/bin/awk", "{{print $1}}", "{f}", "x={f}{f}", "{{{f}}}"]
[actions.params.f]
pattern = "[a-z]+"
"#,
        )
        .unwrap();
        let inv = actions.prepare(&command("awk", &[("f", "ab")])).unwrap();
        assert_eq!(
            inv.argv,
            ["/usr/bin/awk", "{print $1}", "ab", "x=abab", "{ab}"]
        );
    }

    #[test]
    fn config_errors_are_clear() {
        let cases: &[(&str, &str)] = &[
            (
                "[[actions]]\nname = \"Bad Name\"\nargv = [\"/bin/true\"]\n",
                "must be 1-64 characters",
            ),
            (
                "[[actions]]\nname = \"\"\nargv = [\"/bin/true\"]\n",
                "must be 1-64 characters",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\n[[actions]]\nname = \"a\"\nargv = [\"/bin/false\"]\n",
                "same name",
            ),
            ("[[actions]]\nname = \"a\"\nargv = []\n", "argv is empty"),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"true\"]\n",
                "absolute path",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/{x}\"]\n[actions.params.x]\npattern = \"[a-z]+\"\n",
                "fixed path",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"{unit}\"]\n",
                "placeholder {unit} is not a declared parameter",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\"]\n[actions.params.unit]\npattern = \"[a-z]+\"\n",
                "declared but argv never uses {unit}",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"{x}\"]\n[actions.params.x]\npattern = \"[a-z\"\n",
                "not a valid regular expression",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"{x}\"]\n[actions.params.x]\npattern = \"a)|(b\"\n",
                "not a valid regular expression",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"{x\"]\n[actions.params.x]\npattern = \"a\"\n",
                "unclosed '{'",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"x}\"]\n",
                "unmatched '}'",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"{}\"]\n",
                "is not a placeholder",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\ntimeout_s = 0\n",
                "timeout_s = 0 is out of range",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\ntimeout_s = 3601\n",
                "timeout_s = 3601 is out of range",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\noutput_cap_bytes = 1023\n",
                "output_cap_bytes = 1023 is out of range",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\noutput_cap_bytes = 1048577\n",
                "output_cap_bytes = 1048577 is out of range",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\nuser = \"no-such-user-lxmon\"\n",
                "no such user",
            ),
            (
                "[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\", \"{Unit}\"]\n[actions.params.Unit]\npattern = \"a\"\n",
                "parameter name \"Unit\"",
            ),
        ];
        for (text, expected) in cases {
            let err = error_of(text);
            assert!(
                err.contains(expected),
                "{text}\n=> {err}\n(expected {expected:?})"
            );
            assert!(
                err.starts_with("actions[") || err.starts_with("[[actions]]"),
                "{err}"
            );
        }
        // The second action is named in its error.
        let err = error_of(
            "[[actions]]\nname = \"ok\"\nargv = [\"/bin/true\"]\n[[actions]]\nname = \"bad\"\nargv = [\"x\"]\n",
        );
        assert!(err.starts_with("actions[1] \"bad\""), "{err}");
        // Limits at the edges are accepted.
        assert!(
            parse("[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\ntimeout_s = 3600\noutput_cap_bytes = 1024\n")
                .is_ok()
        );
        assert!(
            parse("[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\ntimeout_s = 1\noutput_cap_bytes = 1048576\n")
                .is_ok()
        );
    }

    #[test]
    fn too_many_actions_or_params_are_refused() {
        let mut text = String::new();
        for i in 0..=MAX_ACTIONS {
            text.push_str(&format!(
                "[[actions]]\nname = \"a{i}\"\nargv = [\"/bin/true\"]\n"
            ));
        }
        assert!(error_of(&text).contains("at most 64"));
        let mut text = String::from("[[actions]]\nname = \"a\"\nargv = [\"/bin/echo\"");
        for i in 0..=MAX_COMMAND_ARGS {
            text.push_str(&format!(", \"{{p{i}}}\""));
        }
        text.push_str("]\n");
        for i in 0..=MAX_COMMAND_ARGS {
            text.push_str(&format!("[actions.params.p{i}]\npattern = \"a\"\n"));
        }
        assert!(error_of(&text).contains("at most 16 are allowed"));
    }

    #[test]
    fn unknown_keys_are_refused_by_the_parser() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct File {
            actions: Vec<ActionConfig>,
        }
        let err = toml::from_str::<File>(
            "[[actions]]\nname = \"a\"\nargv = [\"/bin/true\"]\ntimeout = 5\n",
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("timeout"), "{err}");
    }
}
