//! The HTTP channels against a real HTTP receiver on 127.0.0.1: payload
//! shapes, paths and headers as each service documents them, signatures,
//! retries and timeouts.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lxmon_notify::{
    AlertItem, ChannelConfig, Notification, NotificationStatus, NotifyError, SIGNATURE_HEADER,
    SendOptions, SlackConfig, TeamsConfig, TelegramConfig, WebhookConfig, WhatsappConfig, send,
    verify,
};
use serde_json::Value;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the receiver answers to one request.
#[derive(Clone)]
enum Reply {
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Reads the request and never answers (for a while).
    Hang,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply::Status {
        status,
        headers: Vec::new(),
        body: body.to_owned(),
    }
}

/// A scripted HTTP/1.1 receiver: the n-th request gets the n-th reply (the
/// last one repeats). One request per connection.
struct Receiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(replies: Vec<Reply>) -> Receiver {
        assert!(!replies.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        thread::spawn(move || {
            let mut n = 0;
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let r = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let seen = seen.clone();
                thread::spawn(move || serve(conn, r, seen));
            }
        });
        Receiver { addr, requests }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, r: Reply, seen: Arc<Mutex<Vec<Request>>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("a header line");
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .expect("requests carry Content-Length");
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    seen.lock().unwrap().push(Request {
        method,
        path,
        headers,
        body,
    });
    let mut conn = conn;
    match r {
        Reply::Hang => thread::sleep(Duration::from_secs(20)),
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = conn.write_all(out.as_bytes());
        }
    }
}

fn fast() -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

fn notification() -> Notification {
    let alert = |host: &str, value: f64| AlertItem {
        fingerprint: format!("fp-{host}"),
        status: "firing".into(),
        summary: format!("CPU above 90% on {host}"),
        labels: [("host".to_owned(), host.to_owned())].into(),
        annotations: [("description".to_owned(), "5 minutes busy".to_owned())].into(),
        value: Some(value),
        starts_at_ms: 1_714_557_600_000,
        ends_at_ms: None,
    };
    Notification {
        status: NotificationStatus::Firing,
        title: "High CPU".into(),
        severity: "critical".into(),
        rule: Some("High CPU".into()),
        tenant: Some("acme".into()),
        alerts: vec![alert("web-1", 97.5), alert("web-2", 93.0)],
        link: Some("https://lxmon.example.com/alerts".into()),
    }
}

fn assert_common_headers(r: &Request) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let ua = r.header("user-agent").unwrap();
    assert!(ua.starts_with("lxmon/"), "{ua}");
}

#[test]
fn slack_incoming_webhook() {
    let rx = Receiver::start(vec![reply(200, "ok")]);
    let cfg = ChannelConfig::Slack(SlackConfig {
        webhook_url: format!("{}/services/T000/B000/XXXXSECRET", rx.base()),
    });
    let d = send(&cfg, &notification(), &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (1, Some(200)));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_common_headers(r);
    assert_eq!(r.path, "/services/T000/B000/XXXXSECRET");
    let j = r.json();
    let text = j["text"].as_str().unwrap();
    assert!(text.starts_with("[FIRING:2] [critical] High CPU"), "{text}");
    let blocks = j["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let sections: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "section" && b["text"]["type"] == "mrkdwn")
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert!(
        sections
            .iter()
            .any(|t| t.contains("CPU above 90% on web-1"))
    );
    assert!(
        sections
            .iter()
            .any(|t| t.contains("CPU above 90% on web-2"))
    );
    assert!(sections.iter().any(|t| t.contains("value `97.5`")));
}

#[test]
fn teams_workflows_adaptive_card() {
    let rx = Receiver::start(vec![reply(202, "")]);
    let cfg = ChannelConfig::Teams(TeamsConfig {
        webhook_url: format!(
            "{}/workflows/abc/triggers/manual/paths/invoke?sig=S3CRET",
            rx.base()
        ),
    });
    let d = send(&cfg, &notification(), &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (1, Some(202)));
    let r = &rx.requests()[0];
    assert_common_headers(r);
    assert_eq!(
        r.path,
        "/workflows/abc/triggers/manual/paths/invoke?sig=S3CRET"
    );
    let j = r.json();
    assert_eq!(j["type"], "message");
    let att = &j["attachments"].as_array().unwrap()[0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &att["content"];
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    let body = card["body"].as_array().unwrap();
    assert_eq!(body[0]["type"], "TextBlock");
    assert_eq!(body[0]["text"], "[FIRING:2] [critical] High CPU");
    let body_text = serde_json::to_string(body).unwrap();
    assert!(body_text.contains("CPU above 90% on web-2"));
    assert_eq!(
        card["actions"][0]["url"],
        "https://lxmon.example.com/alerts"
    );
}

#[test]
fn telegram_send_message() {
    let rx = Receiver::start(vec![reply(200, r#"{"ok":true,"result":{"message_id":7}}"#)]);
    let cfg = ChannelConfig::Telegram(TelegramConfig {
        bot_token: "123456:ABC-secret_token".into(),
        chat_id: "-1001234567890".into(),
        api_base: Some(format!("{}/", rx.base())),
    });
    let mut n = notification();
    n.alerts[0].summary = "load <5> & rising".into();
    let d = send(&cfg, &n, &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (1, Some(200)));
    let r = &rx.requests()[0];
    assert_common_headers(r);
    assert_eq!(r.path, "/bot123456:ABC-secret_token/sendMessage");
    let j = r.json();
    assert_eq!(j["chat_id"], "-1001234567890");
    assert_eq!(j["parse_mode"], "HTML");
    assert_eq!(j["disable_web_page_preview"], true);
    let text = j["text"].as_str().unwrap();
    assert!(
        text.contains("<b>[FIRING:2] [critical] High CPU</b>"),
        "{text}"
    );
    assert!(text.contains("load &lt;5&gt; &amp; rising"), "{text}");
    assert!(text.chars().count() <= 4096);
}

#[test]
fn telegram_refusals_never_show_the_token() {
    let token = "987654:SECRET-bot-token";
    let cfg = |rx: &Receiver| {
        ChannelConfig::Telegram(TelegramConfig {
            bot_token: token.into(),
            chat_id: "42".into(),
            api_base: Some(rx.base()),
        })
    };
    // 200 with "ok": false is a refusal, not a delivery.
    let rx = Receiver::start(vec![reply(200, r#"{"ok":false,"description":"odd"}"#)]);
    let e = send(&cfg(&rx), &notification(), &fast()).unwrap_err();
    assert!(matches!(e, NotifyError::Rejected { .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(rx.requests().len(), 1);

    let rx = Receiver::start(vec![reply(
        400,
        r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
    )]);
    let e = send(&cfg(&rx), &notification(), &fast()).unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("chat not found"), "{e}");
    assert_eq!(rx.requests().len(), 1);

    // A proxy in front of the API echoing the path with the token in it.
    let rx = Receiver::start(vec![reply(
        404,
        &format!("Cannot POST /bot{token}/sendMessage"),
    )]);
    let e = send(&cfg(&rx), &notification(), &fast()).unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");

    // Nothing listening: the connection error names no URL either.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = ChannelConfig::Telegram(TelegramConfig {
        bot_token: token.into(),
        chat_id: "42".into(),
        api_base: Some(format!("http://127.0.0.1:{port}")),
    });
    let e = send(&cfg, &notification(), &fast()).unwrap_err();
    assert!(matches!(e, NotifyError::Connect { .. }), "{e:?}");
    assert!(e.is_retryable());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn whatsapp_one_message_per_recipient() {
    let ok = r#"{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.HBg"}]}"#;
    let rx = Receiver::start(vec![reply(200, ok)]);
    let cfg = ChannelConfig::Whatsapp(WhatsappConfig {
        access_token: "EAAGm0PX4ZCpsBA-secret".into(),
        phone_number_id: "106540352242922".into(),
        to: vec!["+4915112345678".into(), "14155550123".into()],
        api_base: Some(rx.base()),
    });
    let d = send(&cfg, &notification(), &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (2, Some(200)));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    let mut tos = Vec::new();
    for r in &reqs {
        assert_common_headers(r);
        assert_eq!(r.path, "/106540352242922/messages");
        assert_eq!(
            r.header("authorization"),
            Some("Bearer EAAGm0PX4ZCpsBA-secret")
        );
        let j = r.json();
        assert_eq!(j["messaging_product"], "whatsapp");
        assert_eq!(j["recipient_type"], "individual");
        assert_eq!(j["type"], "text");
        assert_eq!(j["text"]["preview_url"], false);
        let body = j["text"]["body"].as_str().unwrap();
        assert!(body.contains("[FIRING:2] [critical] High CPU"), "{body}");
        assert!(body.chars().count() <= 4096);
        tos.push(j["to"].as_str().unwrap().to_owned());
    }
    tos.sort();
    assert_eq!(tos, ["14155550123", "4915112345678"]);

    // The Graph API's error object explains a refusal; no token shown.
    let rx = Receiver::start(vec![reply(
        401,
        r#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}"#,
    )]);
    let ChannelConfig::Whatsapp(mut c) = cfg else {
        unreachable!()
    };
    c.api_base = Some(rx.base());
    let e = send(&ChannelConfig::Whatsapp(c), &notification(), &fast()).unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(e.to_string().contains("Invalid OAuth access token"), "{e}");
    assert!(!e.to_string().contains("secret"), "{e}");
    // Both recipients were tried, neither retried.
    assert_eq!(rx.requests().len(), 2);
}

#[test]
fn webhook_signed_with_headers() {
    let rx = Receiver::start(vec![reply(204, "")]);
    let mut headers = BTreeMap::new();
    headers.insert("X-Team".to_owned(), "ops".to_owned());
    headers.insert("Authorization".to_owned(), "Bearer abc".to_owned());
    let cfg = ChannelConfig::Webhook(WebhookConfig {
        url: format!("{}/hooks/lxmon?x=1", rx.base()),
        secret: Some("s3cr3t-hmac".into()),
        headers,
    });
    let n = notification();
    let d = send(&cfg, &n, &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (1, Some(204)));
    let r = &rx.requests()[0];
    assert_common_headers(r);
    assert_eq!(r.path, "/hooks/lxmon?x=1");
    assert_eq!(r.header("x-team"), Some("ops"));
    assert_eq!(r.header("authorization"), Some("Bearer abc"));
    let sig = r.header(SIGNATURE_HEADER).expect("signed");
    assert!(sig.starts_with("sha256="), "{sig}");
    assert!(verify(b"s3cr3t-hmac", &r.body, sig));
    assert!(!verify(b"other", &r.body, sig));
    let j = r.json();
    assert_eq!(j["version"], "1");
    assert_eq!(j["status"], "firing");
    assert_eq!(j["alerts"][1]["labels"]["host"], "web-2");
    let mut back = j.clone();
    back.as_object_mut().unwrap().remove("version");
    let back: Notification = serde_json::from_value(back).unwrap();
    assert_eq!(back, n);

    // Without a secret: no signature header.
    let rx = Receiver::start(vec![reply(200, "")]);
    let cfg = ChannelConfig::Webhook(WebhookConfig {
        url: rx.base(),
        secret: None,
        headers: BTreeMap::new(),
    });
    send(&cfg, &n, &fast()).unwrap();
    assert_eq!(rx.requests()[0].header(SIGNATURE_HEADER), None);
}

fn webhook_to(rx: &Receiver) -> ChannelConfig {
    ChannelConfig::Webhook(WebhookConfig {
        url: format!("{}/hook", rx.base()),
        secret: None,
        headers: BTreeMap::new(),
    })
}

#[test]
fn server_errors_are_retried_until_delivered() {
    let rx = Receiver::start(vec![reply(500, "oops"), reply(502, ""), reply(200, "")]);
    let d = send(&webhook_to(&rx), &notification(), &fast()).unwrap();
    assert_eq!((d.attempts, d.status), (3, Some(200)));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 3);
    // Each attempt sends the same body.
    assert!(reqs.iter().all(|r| r.body == reqs[0].body));
}

#[test]
fn retries_stop_after_the_configured_attempts() {
    let rx = Receiver::start(vec![reply(503, "busy")]);
    let e = send(&webhook_to(&rx), &notification(), &fast()).unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.is_retryable());
    assert!(e.to_string().contains("busy"), "{e}");
    assert_eq!(rx.requests().len(), 3);

    // Doubling backoff: 100 ms then 200 ms between three attempts.
    let rx = Receiver::start(vec![reply(500, "")]);
    let opts = SendOptions {
        backoff: Duration::from_millis(100),
        ..fast()
    };
    let t = Instant::now();
    send(&webhook_to(&rx), &notification(), &opts).unwrap_err();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(rx.requests().len(), 3);
}

#[test]
fn client_errors_are_not_retried() {
    let rx = Receiver::start(vec![reply(400, "invalid_payload"), reply(200, "")]);
    let e = send(&webhook_to(&rx), &notification(), &fast()).unwrap_err();
    assert!(matches!(e, NotifyError::Http { status: 400, .. }), "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(rx.requests().len(), 1);
}

#[test]
fn redirects_are_not_followed() {
    let rx = Receiver::start(vec![Reply::Status {
        status: 301,
        headers: vec![("Location", "http://127.0.0.1:1/elsewhere".into())],
        body: String::new(),
    }]);
    let e = send(&webhook_to(&rx), &notification(), &fast()).unwrap_err();
    assert_eq!(e.status(), Some(301));
    assert!(!e.is_retryable());
    assert_eq!(rx.requests().len(), 1);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let rx = Receiver::start(vec![
        Reply::Status {
            status: 429,
            headers: vec![("Retry-After", "1".into())],
            body: "slow down".into(),
        },
        reply(200, "ok"),
    ]);
    let t = Instant::now();
    let d = send(&webhook_to(&rx), &notification(), &fast()).unwrap();
    let waited = t.elapsed();
    assert_eq!((d.attempts, d.status), (2, Some(200)));
    // The 10 ms backoff was replaced by the server's 1 s.
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // Telegram says how long in its body.
    let rx = Receiver::start(vec![
        reply(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#,
        ),
        reply(200, r#"{"ok":true,"result":{}}"#),
    ]);
    let cfg = ChannelConfig::Telegram(TelegramConfig {
        bot_token: "1:abc".into(),
        chat_id: "42".into(),
        api_base: Some(rx.base()),
    });
    let t = Instant::now();
    let d = send(&cfg, &notification(), &fast()).unwrap();
    assert_eq!(d.attempts, 2);
    assert!(t.elapsed() >= Duration::from_millis(950));
}

#[test]
fn a_receiver_that_never_answers_is_bounded_by_the_timeout() {
    let rx = Receiver::start(vec![Reply::Hang]);
    let opts = SendOptions {
        timeout: Duration::from_millis(500),
        attempts: 2,
        backoff: Duration::from_millis(10),
    };
    let t = Instant::now();
    let e = send(&webhook_to(&rx), &notification(), &opts).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, NotifyError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert_eq!(rx.requests().len(), 2);
}

#[test]
fn invalid_configurations_are_not_sent() {
    let rx = Receiver::start(vec![reply(200, "")]);
    let mut headers = BTreeMap::new();
    headers.insert("X-Evil".to_owned(), "a\r\nInjected: yes".to_owned());
    let cfg = ChannelConfig::Webhook(WebhookConfig {
        url: rx.base(),
        secret: None,
        headers,
    });
    let e = send(&cfg, &notification(), &fast()).unwrap_err();
    assert!(matches!(e, NotifyError::Config(_)), "{e:?}");
    let e = send(
        &ChannelConfig::Slack(SlackConfig {
            webhook_url: "file:///etc/passwd".into(),
        }),
        &notification(),
        &fast(),
    )
    .unwrap_err();
    assert!(matches!(e, NotifyError::Config(_)), "{e:?}");
    assert!(rx.requests().is_empty());
}

#[test]
fn slack_errors_name_the_host_not_the_url() {
    let rx = Receiver::start(vec![reply(404, "no_service")]);
    let cfg = ChannelConfig::Slack(SlackConfig {
        webhook_url: format!("{}/services/T1/B1/verysecretpart", rx.base()),
    });
    let e = send(&cfg, &notification(), &fast()).unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("no_service"), "{shown}");
    assert!(shown.contains(&rx.addr.to_string()), "{shown}");
    assert!(!shown.contains("verysecretpart"), "{shown}");
}

#[test]
fn test_notifications_render_on_every_http_channel() {
    let n = Notification::test(Some("acme".into()), None);
    let rx = Receiver::start(vec![reply(200, r#"{"ok":true}"#)]);
    for cfg in [
        ChannelConfig::Slack(SlackConfig {
            webhook_url: format!("{}/s", rx.base()),
        }),
        ChannelConfig::Teams(TeamsConfig {
            webhook_url: format!("{}/t", rx.base()),
        }),
        ChannelConfig::Telegram(TelegramConfig {
            bot_token: "1:a".into(),
            chat_id: "1".into(),
            api_base: Some(rx.base()),
        }),
        webhook_to(&rx),
    ] {
        send(&cfg, &n, &fast()).unwrap_or_else(|e| panic!("{}: {e}", cfg.kind()));
    }
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs {
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert!(
            body.contains("[TEST]") || body.contains("\"status\":\"test\""),
            "{}: {body}",
            r.path
        );
    }
}
