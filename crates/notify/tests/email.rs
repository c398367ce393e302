//! Email against a real SMTP server: aiosmtpd (Python), started per test by
//! `tests/smtp_sink.py`, with STARTTLS, implicit TLS and AUTH as asked.
//! Install it with `scripts/install-test-deps.sh`; without it these tests
//! fail (they never pass silently).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lxmon_notify::{
    AlertItem, ChannelConfig, EmailConfig, Notification, NotificationStatus, NotifyError,
    SendOptions, TlsMode, send,
};
use serde_json::Value;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
const USER: &str = "alerts";
const PASSWORD: &str = "correct-horse-battery";

/// A running smtp_sink.py; killed on drop.
struct Sink {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_aiosmtpd() {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with aiosmtpd is needed for the email tests: run scripts/install-test-deps.sh"
    );
}

/// Test PKI: a CA, and a leaf for `localhost` and 127.0.0.1 it signed.
struct Pki {
    ca_pem: String,
    cert_path: PathBuf,
    key_path: PathBuf,
}

fn pki(dir: &std::path::Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "lxmon notify test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, leaf_cert.pem() + &ca_cert.pem()).unwrap();
    std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_path,
        key_path,
    }
}

#[derive(Default)]
struct SinkOpts {
    starttls: bool,
    implicit_tls: bool,
    auth: bool,
    tempfail: u32,
    reject_rcpt: Option<&'static str>,
}

/// Starts a sink; returns it and the CA to trust when TLS is on.
fn start(opts: SinkOpts) -> (Sink, Option<String>) {
    require_aiosmtpd();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("messages.jsonl");
    let mut cmd = Command::new("python3");
    cmd.arg(SINK).arg("--out").arg(&out);
    let mut ca = None;
    if opts.starttls || opts.implicit_tls {
        let p = pki(dir.path());
        cmd.arg(if opts.starttls { "--starttls" } else { "--tls" })
            .arg(&p.cert_path)
            .arg(&p.key_path);
        ca = Some(p.ca_pem);
    }
    if opts.auth {
        cmd.arg("--auth")
            .arg(format!("{USER}:{PASSWORD}"))
            .arg("--require-auth");
    }
    if opts.tempfail > 0 {
        cmd.arg("--tempfail").arg(opts.tempfail.to_string());
    }
    if let Some(r) = opts.reject_rcpt {
        cmd.arg("--reject-rcpt").arg(r);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (see scripts/install-test-deps.sh)");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the SMTP sink starts within 30 s");
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the SMTP sink did not start (printed {line:?})"));
    (
        Sink {
            child,
            port,
            out,
            _dir: dir,
        },
        ca,
    )
}

impl Sink {
    fn messages(&self) -> Vec<Value> {
        match std::fs::read_to_string(&self.out) {
            Ok(s) => s
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn config(&self, security: TlsMode, ca: Option<String>) -> EmailConfig {
        EmailConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            security,
            username: None,
            password: None,
            from: "lxmon@example.com".into(),
            to: vec!["ops@example.com".into(), "oncall@example.org".into()],
            ca_cert_pem: ca,
        }
    }
}

fn fast() -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(10),
        attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

fn notification(title: &str) -> Notification {
    let alert = |host: &str, status: &str| AlertItem {
        fingerprint: format!("fp-{host}"),
        status: status.into(),
        summary: format!("CPU above 90% on {host}"),
        labels: [
            ("host".to_owned(), host.to_owned()),
            ("severity".to_owned(), "critical".to_owned()),
        ]
        .into(),
        annotations: [("description".to_owned(), "Busy for 5 minutes".to_owned())].into(),
        value: Some(97.5),
        starts_at_ms: 1_714_557_600_000,
        ends_at_ms: None,
    };
    Notification {
        status: NotificationStatus::Firing,
        title: title.into(),
        severity: "critical".into(),
        rule: Some(title.into()),
        tenant: Some("acme".into()),
        alerts: vec![alert("web-1", "firing")],
        link: Some("https://lxmon.example.com/alerts/1".into()),
    }
}

fn header<'a>(msg: &'a Value, name: &str) -> Option<&'a str> {
    msg["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
}

#[test]
fn plain_delivery_with_subject_and_body() {
    let (sink, _) = start(SinkOpts::default());
    let cfg = ChannelConfig::Email(sink.config(TlsMode::None, None));
    let d = send(&cfg, &notification("High CPU"), &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (1, Some(250)));
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["mail_from"], "lxmon@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@example.com", "oncall@example.org"])
    );
    assert_eq!(m["tls"], false);
    assert_eq!(m["defects"], serde_json::json!([]));
    assert_eq!(m["subject"], "[FIRING:1] [critical] High CPU");
    // The raw header lines as sent, then what the parser made of them.
    let raw = m["content"].as_str().unwrap();
    for line in [
        "From: lxmon@example.com\r\n",
        "To: ops@example.com,\r\n oncall@example.org\r\n",
        "Subject: [FIRING:1] [critical] High CPU\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "Content-Transfer-Encoding: 7bit\r\n",
    ] {
        assert!(raw.contains(line), "missing {line:?} in\n{raw}");
    }
    assert_eq!(header(m, "To"), Some("ops@example.com, oncall@example.org"));
    let date = header(m, "Date").unwrap();
    assert!(date.ends_with("+0000"), "{date}");
    let id = header(m, "Message-ID").unwrap();
    assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
    let body = m["body"].as_str().unwrap();
    for want in [
        "* CPU above 90% on web-1",
        "Value:   97.5",
        "Since:   2024-05-01T10:00:00Z",
        "Labels:  host=web-1, severity=critical",
        "description: Busy for 5 minutes",
        "Dashboard: https://lxmon.example.com/alerts/1",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
}

#[test]
fn non_ascii_subject_and_body_are_encoded() {
    let (sink, _) = start(SinkOpts::default());
    let cfg = ChannelConfig::Email(sink.config(TlsMode::None, None));
    let title = "Hohe CPU-Last – Rechenzentrum Süd 🔥";
    let mut n = notification(title);
    n.alerts[0].summary = format!(".{}", "Überlast ".repeat(20));
    n.status = NotificationStatus::Resolved;
    n.alerts[0].status = "resolved".into();
    n.alerts[0].ends_at_ms = Some(1_714_558_200_000);
    send(&cfg, &n, &fast()).unwrap();
    let m = &sink.messages()[0];
    assert_eq!(m["defects"], serde_json::json!([]));
    assert_eq!(m["subject"], format!("[RESOLVED] [critical] {title}"));
    assert_eq!(
        header(m, "Content-Transfer-Encoding"),
        Some("quoted-printable")
    );
    let raw = m["content"].as_str().unwrap();
    assert!(raw.contains("=?UTF-8?B?"), "{raw}");
    assert!(raw.lines().all(|l| l.len() <= 998));
    let body = m["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("* .{}", "Überlast ".repeat(20).trim())),
        "{body}"
    );
    assert!(body.contains("Ended:   2024-05-01T10:10:00Z"), "{body}");
}

#[test]
fn starttls_with_auth() {
    let (sink, ca) = start(SinkOpts {
        starttls: true,
        auth: true,
        ..SinkOpts::default()
    });
    let mut c = sink.config(TlsMode::Starttls, ca);
    // The certificate is checked by name, not only by IP address.
    c.host = "localhost".into();
    c.username = Some(USER.into());
    c.password = Some(PASSWORD.into());
    let d = send(&ChannelConfig::Email(c), &notification("High CPU"), &fast()).unwrap();
    assert_eq!(d.attempts, 1);
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["tls"], true);
    assert_eq!(msgs[0]["auth_login"], USER);
    assert_eq!(msgs[0]["subject"], "[FIRING:1] [critical] High CPU");
}

#[test]
fn implicit_tls_with_auth() {
    let (sink, ca) = start(SinkOpts {
        implicit_tls: true,
        auth: true,
        ..SinkOpts::default()
    });
    let mut c = sink.config(TlsMode::Tls, ca);
    c.username = Some(USER.into());
    c.password = Some(PASSWORD.into());
    send(
        &ChannelConfig::Email(c),
        &Notification::test(None, None),
        &fast(),
    )
    .unwrap();
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["tls"], true);
    assert_eq!(msgs[0]["auth_login"], USER);
    assert_eq!(
        msgs[0]["subject"],
        "[TEST] [info] Test notification from lxmon"
    );
}

#[test]
fn wrong_password_is_a_clear_permanent_error() {
    let (sink, ca) = start(SinkOpts {
        starttls: true,
        auth: true,
        ..SinkOpts::default()
    });
    let mut c = sink.config(TlsMode::Starttls, ca);
    c.username = Some(USER.into());
    c.password = Some("wrong-password-xyzzy".into());
    let t = Instant::now();
    let e = send(&ChannelConfig::Email(c), &notification("High CPU"), &fast()).unwrap_err();
    assert!(
        matches!(e, NotifyError::AuthFailed { code: 535, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("rejected the login"), "{shown}");
    assert!(!shown.contains("xyzzy"), "{shown}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(sink.messages().is_empty());
}

#[test]
fn starttls_not_offered_sends_nothing() {
    let (sink, _) = start(SinkOpts::default());
    let mut c = sink.config(TlsMode::Starttls, None);
    c.username = Some(USER.into());
    c.password = Some(PASSWORD.into());
    let e = send(&ChannelConfig::Email(c), &notification("High CPU"), &fast()).unwrap_err();
    assert!(
        matches!(e, NotifyError::StartTlsUnavailable { .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("STARTTLS"), "{e}");
    assert!(sink.messages().is_empty());
}

#[test]
fn untrusted_certificate_is_refused() {
    let (sink, _ca) = start(SinkOpts {
        starttls: true,
        ..SinkOpts::default()
    });
    // The sink's CA is not trusted: only the webpki roots are.
    let c = sink.config(TlsMode::Starttls, None);
    let e = send(&ChannelConfig::Email(c), &notification("High CPU"), &fast()).unwrap_err();
    assert!(matches!(e, NotifyError::Tls { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert!(sink.messages().is_empty());
}

#[test]
fn credentials_are_not_sent_where_auth_is_not_offered() {
    // AUTH is offered by the sink only over TLS; with security "none" the
    // client sees no AUTH and refuses rather than sending unauthenticated.
    let (sink, _) = start(SinkOpts {
        auth: true,
        ..SinkOpts::default()
    });
    let mut c = sink.config(TlsMode::None, None);
    c.username = Some(USER.into());
    c.password = Some(PASSWORD.into());
    let e = send(&ChannelConfig::Email(c), &notification("High CPU"), &fast()).unwrap_err();
    assert!(matches!(e, NotifyError::AuthUnsupported { .. }), "{e:?}");
    assert!(sink.messages().is_empty());
}

#[test]
fn transient_replies_are_retried() {
    let (sink, _) = start(SinkOpts {
        tempfail: 1,
        ..SinkOpts::default()
    });
    let cfg = ChannelConfig::Email(sink.config(TlsMode::None, None));
    let d = send(&cfg, &notification("High CPU"), &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (2, Some(250)));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn permanent_replies_are_not_retried() {
    let (sink, _) = start(SinkOpts {
        reject_rcpt: Some("oncall@example.org"),
        ..SinkOpts::default()
    });
    let cfg = ChannelConfig::Email(sink.config(TlsMode::None, None));
    let e = send(&cfg, &notification("High CPU"), &fast()).unwrap_err();
    match &e {
        NotifyError::Smtp {
            stage,
            code,
            detail,
            ..
        } => {
            assert_eq!((*stage, *code), ("RCPT TO", 550));
            assert!(detail.contains("No such user"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert!(sink.messages().is_empty());
}

#[test]
fn a_server_that_never_greets_is_bounded_by_the_timeout() {
    // No Python needed: a listener that accepts and says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let cfg = ChannelConfig::Email(EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security: TlsMode::None,
        username: None,
        password: None,
        from: "lxmon@example.com".into(),
        to: vec!["ops@example.com".into()],
        ca_cert_pem: None,
    });
    let opts = SendOptions {
        timeout: Duration::from_millis(400),
        attempts: 2,
        backoff: Duration::from_millis(10),
    };
    let t = Instant::now();
    let e = send(&cfg, &notification("High CPU"), &opts).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, NotifyError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}
