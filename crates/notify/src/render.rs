//! What each channel shows, as pure functions of a [`Notification`]: the
//! server can preview any channel's message without sending it.
//!
//! User-provided text (titles, summaries, labels) is escaped for each
//! format (HTML for Telegram, Slack's `&<>` for mrkdwn) and has its control
//! characters replaced where it lands on one line, so an alert cannot
//! forge markup, headers or extra lines. Long fields are cut with `…`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{AlertItem, Notification, NotificationStatus};
pub use crate::time::rfc3339;

/// Telegram's and WhatsApp's limit for one text message.
pub const CHAT_TEXT_LIMIT: usize = 4096;

const MAX_TITLE: usize = 200;
const MAX_SUMMARY: usize = 1000;
const MAX_LABELS: usize = 1000;
const MAX_ANNOTATION: usize = 1000;
const MAX_LINK: usize = 2000;
/// Alerts listed one by one in chat messages; the rest are counted.
const CHAT_ALERTS: usize = 20;
/// Alerts listed one by one in an email.
const EMAIL_ALERTS: usize = 200;

/// `s` cut to at most `max` characters, the last being `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `&`, `<`, `>` and `"` as HTML entities (Telegram's HTML parse mode).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Slack's escaping for mrkdwn and plain text: `&`, `<`, `>` only.
pub fn escape_slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// One line: control characters (CR, LF, tabs, …) become spaces, runs of
/// spaces are kept, and the result is cut at `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(s.trim(), max)
}

/// Several lines allowed (a description), other control characters removed.
fn multi_line(s: &str, max: usize) -> String {
    let s: String = s
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    truncate(s.trim(), max)
}

/// The link, if it is an http(s) URL safe to put in markup.
fn safe_link(n: &Notification) -> Option<&str> {
    let l = n.link.as_deref()?.trim();
    let ok = crate::config::split_url(l).is_some()
        && l.len() <= MAX_LINK
        && !l
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>|\"'`".contains(c));
    ok.then_some(l)
}

fn firing_count(n: &Notification) -> usize {
    let firing = n.alerts.iter().filter(|a| !a.is_resolved()).count();
    if firing == 0 { n.alerts.len() } else { firing }
}

/// The status tag: `[FIRING:2]`, `[RESOLVED]` or `[TEST]`.
pub fn status_tag(n: &Notification) -> String {
    match n.status {
        NotificationStatus::Firing => format!("[FIRING:{}]", firing_count(n)),
        NotificationStatus::Resolved => "[RESOLVED]".to_owned(),
        NotificationStatus::Test => "[TEST]".to_owned(),
    }
}

/// `[FIRING:2] [critical] High CPU`: the email subject and every channel's
/// first line. One line, at most ~250 characters.
pub fn headline(n: &Notification) -> String {
    let severity = one_line(&n.severity, 20);
    let title = one_line(&n.title, MAX_TITLE);
    if severity.is_empty() {
        format!("{} {title}", status_tag(n))
    } else {
        format!("{} [{severity}] {title}", status_tag(n))
    }
}

/// The email subject (same as [`headline`]).
pub fn email_subject(n: &Notification) -> String {
    headline(n)
}

fn emoji(n: &Notification) -> &'static str {
    match n.status {
        NotificationStatus::Firing => "🔥",
        NotificationStatus::Resolved => "✅",
        NotificationStatus::Test => "🧪",
    }
}

/// A value as people read it: `97.3`, `0.0012`, `1.5e-7`, `12000`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e15) {
        return format!("{v:.3e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// `host=web-1, severity=critical`.
fn labels_line(a: &AlertItem) -> String {
    let mut s = String::new();
    for (k, v) in &a.labels {
        if !s.is_empty() {
            s.push_str(", ");
        }
        let _ = write!(s, "{k}={v}");
    }
    one_line(&s, MAX_LABELS)
}

fn summary(a: &AlertItem) -> String {
    let s = one_line(&a.summary, MAX_SUMMARY);
    if s.is_empty() {
        one_line(&a.fingerprint, 100)
    } else {
        s
    }
}

/// Annotations other than `summary` (which is the alert's headline).
fn annotations(a: &AlertItem) -> impl Iterator<Item = (String, String)> + '_ {
    a.annotations
        .iter()
        .filter(|(k, _)| k.as_str() != "summary")
        .map(|(k, v)| (one_line(k, 64), multi_line(v, MAX_ANNOTATION)))
}

fn meta_lines(n: &Notification) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(r) = &n.rule {
        out.push(("Rule", one_line(r, MAX_TITLE)));
    }
    if let Some(t) = &n.tenant {
        out.push(("Tenant", one_line(t, MAX_TITLE)));
    }
    if !n.severity.trim().is_empty() {
        out.push(("Severity", one_line(&n.severity, 20)));
    }
    out
}

fn test_sentence() -> &'static str {
    "This is a test notification from lxmon: if you can read it, the channel works."
}

/// The plain-text body (email, and the base of the chat texts): each
/// alert's summary, value, start (and end) time in RFC 3339 UTC, labels
/// and annotations, then the dashboard link.
pub fn text(n: &Notification) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", headline(n));
    s.push('\n');
    for (k, v) in meta_lines(n) {
        let _ = writeln!(s, "{:<9} {v}", format!("{k}:"));
    }
    if n.alerts.is_empty() {
        s.push('\n');
        if n.status == NotificationStatus::Test {
            let _ = writeln!(s, "{}", test_sentence());
        } else {
            let _ = writeln!(s, "(no alert details)");
        }
    }
    let (firing, resolved): (Vec<&AlertItem>, Vec<&AlertItem>) =
        n.alerts.iter().partition(|a| !a.is_resolved());
    for (label, group) in [("firing", firing), ("resolved", resolved)] {
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n{} {label}:\n", group.len());
        for a in group.iter().take(EMAIL_ALERTS) {
            let _ = writeln!(s, "* {}", summary(a));
            if let Some(v) = a.value {
                let _ = writeln!(s, "  Value:   {}", format_value(v));
            }
            let _ = writeln!(s, "  Since:   {}", rfc3339(a.starts_at_ms));
            if let Some(end) = a.ends_at_ms {
                let _ = writeln!(s, "  Ended:   {}", rfc3339(end));
            }
            let labels = labels_line(a);
            if !labels.is_empty() {
                let _ = writeln!(s, "  Labels:  {labels}");
            }
            for (k, v) in annotations(a) {
                let v = v.replace('\n', "\n    ");
                let _ = writeln!(s, "  {k}: {v}");
            }
            s.push('\n');
        }
        if group.len() > EMAIL_ALERTS {
            let _ = writeln!(s, "… and {} more\n", group.len() - EMAIL_ALERTS);
        }
    }
    if let Some(link) = safe_link(n) {
        let _ = writeln!(s, "\nDashboard: {link}");
    }
    s.push_str("\n-- \nSent by lxmon\n");
    s
}

/// Joins `head`, as many whole `blocks` as fit, a `… and N more` line when
/// some did not, and `tail`, within `limit` UTF-16 code units (what chat
/// APIs count; never more characters than that either). Each piece is
/// self-contained markup, so cutting between pieces keeps it valid.
fn fit(head: &[String], blocks: &[String], tail: &[String], limit: usize) -> String {
    let len = |s: &str| s.encode_utf16().count();
    let join = |parts: &[&String]| {
        parts
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let all: Vec<&String> = head.iter().chain(blocks).chain(tail).collect();
    let whole = join(&all);
    if len(&whole) <= limit {
        return whole;
    }
    for keep in (0..blocks.len()).rev() {
        let more = format!("… and {} more", blocks.len() - keep);
        let parts: Vec<&String> = head
            .iter()
            .chain(&blocks[..keep])
            .chain(std::iter::once(&more))
            .chain(tail)
            .collect();
        let s = join(&parts);
        if len(&s) <= limit {
            return s;
        }
    }
    // Even the head does not fit (cannot happen with the field limits
    // above): cut plainly.
    let mut out = String::new();
    let mut used = 0;
    for c in whole.chars() {
        if used + c.len_utf16() + 1 > limit {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

/// Telegram `sendMessage` text for `parse_mode: HTML`: escaped, at most
/// 4096 characters, cut with `…`.
pub fn telegram_text(n: &Notification) -> String {
    let mut head = vec![format!("{} <b>{}</b>", emoji(n), escape_html(&headline(n)))];
    for (k, v) in meta_lines(n) {
        if k != "Severity" {
            head.push(format!("{k}: {}", escape_html(&v)));
        }
    }
    if n.alerts.is_empty() && n.status == NotificationStatus::Test {
        head.push(String::new());
        head.push(escape_html(test_sentence()));
    }
    let mut blocks = Vec::new();
    for a in &n.alerts {
        let mut b = String::from("\n");
        let mark = if a.is_resolved() { "✅" } else { "•" };
        let _ = write!(b, "{mark} <b>{}</b>", escape_html(&summary(a)));
        let mut facts = Vec::new();
        if let Some(v) = a.value {
            facts.push(format!("value <code>{}</code>", format_value(v)));
        }
        facts.push(format!("since {}", rfc3339(a.starts_at_ms)));
        if let Some(end) = a.ends_at_ms {
            facts.push(format!("ended {}", rfc3339(end)));
        }
        let _ = write!(b, "\n{}", facts.join(" · "));
        let labels = labels_line(a);
        if !labels.is_empty() {
            let _ = write!(b, "\n<i>{}</i>", escape_html(&labels));
        }
        if let Some(d) = a.annotations.get("description") {
            let _ = write!(b, "\n{}", escape_html(&one_line(d, MAX_ANNOTATION)));
        }
        blocks.push(b);
        if blocks.len() == CHAT_ALERTS * 5 {
            break;
        }
    }
    let mut tail = Vec::new();
    if let Some(link) = safe_link(n) {
        tail.push(String::new());
        tail.push(format!(
            "<a href=\"{}\">Open in lxmon</a>",
            escape_html(link)
        ));
    }
    let shown = blocks.len();
    let mut out = fit(&head, &blocks, &tail, CHAT_TEXT_LIMIT);
    if shown < n.alerts.len() && !out.contains("… and ") {
        // Listed everything we kept but not every alert.
        let more = format!("\n… and {} more", n.alerts.len() - shown);
        if out.encode_utf16().count() + more.encode_utf16().count() <= CHAT_TEXT_LIMIT {
            out.push_str(&more);
        }
    }
    out
}

/// WhatsApp text body (`*bold*` formatting, no HTML), at most 4096
/// characters, cut with `…`.
pub fn whatsapp_text(n: &Notification) -> String {
    // WhatsApp formatting characters in user text are left as they are: at
    // worst they change emphasis.
    let mut head = vec![format!("{} *{}*", emoji(n), headline(n))];
    for (k, v) in meta_lines(n) {
        if k != "Severity" {
            head.push(format!("{k}: {v}"));
        }
    }
    if n.alerts.is_empty() && n.status == NotificationStatus::Test {
        head.push(String::new());
        head.push(test_sentence().to_owned());
    }
    let mut blocks = Vec::new();
    for a in n.alerts.iter().take(CHAT_ALERTS * 5) {
        let mark = if a.is_resolved() { "✅" } else { "•" };
        let mut b = format!("\n{mark} *{}*", summary(a));
        let mut facts = Vec::new();
        if let Some(v) = a.value {
            facts.push(format!("value {}", format_value(v)));
        }
        facts.push(format!("since {}", rfc3339(a.starts_at_ms)));
        if let Some(end) = a.ends_at_ms {
            facts.push(format!("ended {}", rfc3339(end)));
        }
        let _ = write!(b, "\n{}", facts.join(" · "));
        let labels = labels_line(a);
        if !labels.is_empty() {
            let _ = write!(b, "\n_{labels}_");
        }
        blocks.push(b);
    }
    let mut tail = Vec::new();
    if let Some(link) = safe_link(n) {
        tail.push(String::new());
        tail.push(link.to_owned());
    }
    let shown = blocks.len();
    let mut out = fit(&head, &blocks, &tail, CHAT_TEXT_LIMIT);
    if shown < n.alerts.len() && !out.contains("… and ") {
        let more = format!("\n… and {} more", n.alerts.len() - shown);
        if out.encode_utf16().count() + more.encode_utf16().count() <= CHAT_TEXT_LIMIT {
            out.push_str(&more);
        }
    }
    out
}

/// Slack incoming-webhook payload: `text` (the notification fallback) and
/// Block Kit `blocks` (a header, the rule's facts, one mrkdwn section per
/// alert, the link).
pub fn slack_payload(n: &Notification) -> Value {
    let headline = headline(n);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate(&format!("{} {headline}", emoji(n)), 150),
            "emoji": true,
        }
    })];
    let meta: Vec<String> = meta_lines(n)
        .into_iter()
        .map(|(k, v)| format!("*{k}:* {}", escape_slack(&v)))
        .collect();
    if !meta.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&meta.join("    "), 3000)},
        }));
    }
    if n.alerts.is_empty() && n.status == NotificationStatus::Test {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": test_sentence()},
        }));
    }
    let mut fallback = headline.clone();
    for a in n.alerts.iter().take(CHAT_ALERTS) {
        let mark = if a.is_resolved() {
            ":white_check_mark:"
        } else {
            ":red_circle:"
        };
        let mut t = format!("{mark} *{}*", escape_slack(&summary(a)));
        let mut facts = Vec::new();
        if let Some(v) = a.value {
            facts.push(format!("value `{}`", format_value(v)));
        }
        facts.push(format!("since {}", rfc3339(a.starts_at_ms)));
        if let Some(end) = a.ends_at_ms {
            facts.push(format!("ended {}", rfc3339(end)));
        }
        let _ = write!(t, "\n{}", facts.join(" · "));
        let labels = labels_line(a);
        if !labels.is_empty() {
            let _ = write!(t, "\n`{}`", escape_slack(&labels).replace('`', "'"));
        }
        if let Some(d) = a.annotations.get("description") {
            let _ = write!(t, "\n{}", escape_slack(&one_line(d, MAX_ANNOTATION)));
        }
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&t, 3000)},
        }));
        let _ = write!(fallback, "\n• {}", escape_slack(&summary(a)));
    }
    if n.alerts.len() > CHAT_ALERTS {
        let more = format!("… and {} more", n.alerts.len() - CHAT_ALERTS);
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": more}],
        }));
        let _ = write!(fallback, "\n{more}");
    }
    if let Some(link) = safe_link(n) {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("<{link}|Open in lxmon>")},
        }));
    }
    json!({
        "text": truncate(&fallback, 3000),
        "blocks": blocks,
    })
}

/// Microsoft Teams Workflows webhook payload: a message with one Adaptive
/// Card (version 1.4).
pub fn teams_payload(n: &Notification) -> Value {
    let color = match n.status {
        NotificationStatus::Resolved => "Good",
        NotificationStatus::Test => "Accent",
        NotificationStatus::Firing if n.severity.eq_ignore_ascii_case("critical") => "Attention",
        NotificationStatus::Firing => "Warning",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": headline(n),
        "size": "Large",
        "weight": "Bolder",
        "color": color,
        "wrap": true,
    })];
    let facts: Vec<Value> = meta_lines(n)
        .into_iter()
        .map(|(k, v)| json!({"title": k, "value": v}))
        .collect();
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if n.alerts.is_empty() && n.status == NotificationStatus::Test {
        body.push(json!({"type": "TextBlock", "text": test_sentence(), "wrap": true}));
    }
    for a in n.alerts.iter().take(CHAT_ALERTS) {
        let mut facts = vec![json!({"title": "Status", "value": one_line(&a.status, 20)})];
        if let Some(v) = a.value {
            facts.push(json!({"title": "Value", "value": format_value(v)}));
        }
        facts.push(json!({"title": "Since", "value": rfc3339(a.starts_at_ms)}));
        if let Some(end) = a.ends_at_ms {
            facts.push(json!({"title": "Ended", "value": rfc3339(end)}));
        }
        let labels = labels_line(a);
        if !labels.is_empty() {
            facts.push(json!({"title": "Labels", "value": labels}));
        }
        for (k, v) in annotations(a) {
            facts.push(json!({"title": k, "value": v}));
        }
        body.push(json!({
            "type": "Container",
            "separator": true,
            "items": [
                {"type": "TextBlock", "text": summary(a), "weight": "Bolder", "wrap": true},
                {"type": "FactSet", "facts": facts},
            ],
        }));
    }
    if n.alerts.len() > CHAT_ALERTS {
        body.push(json!({
            "type": "TextBlock",
            "text": format!("… and {} more", n.alerts.len() - CHAT_ALERTS),
            "isSubtle": true,
            "wrap": true,
        }));
    }
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    });
    if let Some(link) = safe_link(n) {
        content["actions"] = json!([
            {"type": "Action.OpenUrl", "title": "Open in lxmon", "url": link}
        ]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": content,
        }],
    })
}

/// The generic webhook's body: `{"version": "1", ...the notification...}`,
/// the exact bytes that are sent and signed.
pub fn webhook_body(n: &Notification) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        version: &'static str,
        #[serde(flatten)]
        notification: &'a Notification,
    }
    serde_json::to_vec(&Body {
        version: "1",
        notification: n,
    })
    .expect("a notification serializes")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn alert(i: usize, summary: &str) -> AlertItem {
        AlertItem {
            fingerprint: format!("fp{i}"),
            status: "firing".into(),
            summary: summary.into(),
            labels: [("host".to_owned(), format!("web-{i}"))].into(),
            annotations: BTreeMap::new(),
            value: Some(97.25),
            starts_at_ms: 1_714_557_600_000,
            ends_at_ms: None,
        }
    }

    fn firing(alerts: Vec<AlertItem>) -> Notification {
        Notification {
            status: NotificationStatus::Firing,
            title: "High CPU".into(),
            severity: "critical".into(),
            rule: Some("High CPU".into()),
            tenant: Some("acme".into()),
            alerts,
            link: Some("https://lxmon.example.com/alerts?rule=1".into()),
        }
    }

    #[test]
    fn headlines() {
        let mut n = firing(vec![alert(1, "a"), alert(2, "b")]);
        assert_eq!(headline(&n), "[FIRING:2] [critical] High CPU");
        n.alerts[1].status = "resolved".into();
        assert_eq!(headline(&n), "[FIRING:1] [critical] High CPU");
        n.status = NotificationStatus::Resolved;
        assert_eq!(email_subject(&n), "[RESOLVED] [critical] High CPU");
        let t = Notification::test(None, None);
        assert_eq!(headline(&t), "[TEST] [info] Test notification from lxmon");
        n.title = "Evil\r\nBcc: x@example.com".into();
        assert!(!headline(&n).contains(['\r', '\n']));
    }

    #[test]
    fn values() {
        assert_eq!(format_value(97.25), "97.25");
        assert_eq!(format_value(97.0), "97");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(1.0 / 3.0), "0.3333");
        assert_eq!(format_value(0.0000015), "1.500e-6");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }

    #[test]
    fn text_body_lists_alerts() {
        let mut a = alert(1, "CPU above 90% on web-1");
        a.annotations
            .insert("description".into(), "Busy for 5 minutes".into());
        let mut r = alert(2, "CPU back to normal on web-2");
        r.status = "resolved".into();
        r.ends_at_ms = Some(1_714_558_200_000);
        let t = text(&firing(vec![a, r]));
        for want in [
            "[FIRING:1] [critical] High CPU",
            "Tenant:   acme",
            "1 firing:",
            "* CPU above 90% on web-1",
            "Value:   97.25",
            "Since:   2024-05-01T10:00:00Z",
            "Labels:  host=web-1",
            "description: Busy for 5 minutes",
            "1 resolved:",
            "Ended:   2024-05-01T10:10:00Z",
            "Dashboard: https://lxmon.example.com/alerts?rule=1",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
        let t = text(&Notification::test(None, None));
        assert!(t.contains("if you can read it"), "{t}");
    }

    #[test]
    fn telegram_escapes_html() {
        let mut n = firing(vec![alert(1, "<script>&\"x\"</script>")]);
        n.title = "a<b>&c".into();
        let t = telegram_text(&n);
        assert!(
            t.contains("&lt;script&gt;&amp;&quot;x&quot;&lt;/script&gt;"),
            "{t}"
        );
        assert!(t.contains("a&lt;b&gt;&amp;c"), "{t}");
        assert!(!t.contains("<script>"));
        assert!(t.contains("<a href=\"https://lxmon.example.com/alerts?rule=1\">"));
        assert_eq!(escape_html("a&b<c>d"), "a&amp;b&lt;c&gt;d");
    }

    #[test]
    fn telegram_truncates_to_4096() {
        let long = "x".repeat(5000);
        let n = Notification {
            link: None,
            ..firing((0..40).map(|i| alert(i, &long)).collect())
        };
        let t = telegram_text(&n);
        assert!(t.encode_utf16().count() <= CHAT_TEXT_LIMIT, "{}", t.len());
        assert!(t.contains("… and "), "{t}");
        // Each summary was cut to 1000 characters, ending in "…".
        assert!(t.contains(&format!("{}…</b>", "x".repeat(MAX_SUMMARY - 1))));
        // The link survives the cut.
        let n = firing((0..40).map(|i| alert(i, &long)).collect());
        let t = telegram_text(&n);
        assert!(t.encode_utf16().count() <= CHAT_TEXT_LIMIT);
        assert!(t.ends_with("Open in lxmon</a>"), "{t}");
        // Emoji count double: still within the limit.
        let n = firing((0..40).map(|i| alert(i, &"🔥".repeat(900))).collect());
        let t = telegram_text(&n);
        assert!(t.encode_utf16().count() <= CHAT_TEXT_LIMIT);
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("äöüß", 3), "äö…");
    }

    #[test]
    fn whatsapp_within_limit() {
        let n = firing((0..200).map(|i| alert(i, &"y".repeat(900))).collect());
        let t = whatsapp_text(&n);
        assert!(t.chars().count() <= CHAT_TEXT_LIMIT);
        assert!(t.contains("… and "));
        assert!(
            t.starts_with("🔥 *[FIRING:200] [critical] High CPU*"),
            "{t}"
        );
    }

    #[test]
    fn slack_shape() {
        let mut a = alert(1, "Disk <full> & more");
        a.labels.insert("mount".into(), "/".into());
        let p = slack_payload(&firing(vec![a]));
        assert!(p["text"].as_str().unwrap().starts_with("[FIRING:1]"));
        let blocks = p["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        let section = blocks
            .iter()
            .find(|b| {
                b["text"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Disk"))
            })
            .unwrap();
        assert_eq!(section["type"], "section");
        assert_eq!(section["text"]["type"], "mrkdwn");
        let t = section["text"]["text"].as_str().unwrap();
        assert!(t.contains("Disk &lt;full&gt; &amp; more"), "{t}");
        assert!(t.contains("`host=web-1, mount=/`"), "{t}");
        assert!(
            blocks.last().unwrap()["text"]["text"]
                .as_str()
                .unwrap()
                .contains("<https://lxmon.example.com/alerts?rule=1|Open in lxmon>")
        );
        let many = slack_payload(&firing((0..60).map(|i| alert(i, "a")).collect()));
        assert!(many["blocks"].as_array().unwrap().len() <= 50);
    }

    #[test]
    fn unsafe_links_are_dropped() {
        for bad in [
            "javascript:alert(1)",
            "https://x/|evil",
            "https://x/>",
            "ftp://x",
        ] {
            let mut n = firing(vec![alert(1, "a")]);
            n.link = Some(bad.into());
            assert!(!telegram_text(&n).contains("href"), "{bad}");
            assert!(!text(&n).contains("Dashboard"), "{bad}");
        }
    }

    #[test]
    fn teams_shape() {
        let p = teams_payload(&firing(vec![alert(1, "a")]));
        assert_eq!(p["type"], "message");
        let att = &p["attachments"][0];
        assert_eq!(
            att["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(att["content"]["type"], "AdaptiveCard");
        assert_eq!(att["content"]["version"], "1.4");
        assert_eq!(
            att["content"]["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(att["content"]["body"][0]["color"], "Attention");
        assert_eq!(att["content"]["actions"][0]["type"], "Action.OpenUrl");
    }

    #[test]
    fn webhook_body_has_version_first() {
        let n = firing(vec![alert(1, "a")]);
        let body = String::from_utf8(webhook_body(&n)).unwrap();
        assert!(
            body.starts_with("{\"version\":\"1\",\"status\":\"firing\""),
            "{body}"
        );
        let back: Notification = serde_json::from_str(&body).unwrap();
        assert_eq!(back, n);
    }
}
