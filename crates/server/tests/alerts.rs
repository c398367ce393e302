//! Alerting end to end: real server, real agent, real HTTP receivers and a
//! real SMTP server (aiosmtpd, installed by scripts/install-test-deps.sh).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Agent, Api, Server, free_port, now_ms, wait_until};
use serde_json::{Value, json};

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local HTTP server that answers 200 to everything and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = h.trim_end().split_once(':') {
                            headers.push((k.trim().to_string(), v.trim().to_string()));
                        }
                    }
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    let _ = reader.read_exact(&mut body);
                    sink.lock().unwrap().push(Received {
                        path: path.clone(),
                        headers,
                        body,
                        at: Instant::now(),
                    });
                    // Each service's documented success answer.
                    let answer = if path.ends_with("/messages") {
                        r#"{"messaging_product":"whatsapp","contacts":[{"input":"15550001111","wa_id":"15550001111"}],"messages":[{"id":"wamid.HBgLMTU1NTAwMDExMTEVAgARGBI"}]}"#
                    } else if path.contains("/sendMessage") {
                        r#"{"ok":true,"result":{"message_id":7}}"#
                    } else {
                        r#"{"ok":true}"#
                    };
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                });
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        wait_until(timeout, || self.received().len() >= n);
        self.received()
    }
}

const HMAC_SECRET: &str = "receiver-hmac-secret";

/// A webhook channel to `receiver`, made the tenant's default route.
fn webhook_channel(api: &Api, receiver: &Receiver) -> i64 {
    let r = api.post_json(
        "/api/channels",
        &json!({"name": "hook", "config": {"kind": "webhook", "url": format!("{}/alerts", receiver.url), "secret": HMAC_SECRET}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        !r.body.to_string().contains(HMAC_SECRET),
        "secret returned: {}",
        r.body
    );
    let id = r.body["id"].as_i64().unwrap();
    let r = api.request(
        "PUT",
        "/api/alert-routing",
        Some(&json!({"routes": [], "default_channels": [id]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

fn alerts(api: &Api, query: &str) -> Vec<Value> {
    let r = api.get(&format!("/api/alerts?{query}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

fn nproc() -> f64 {
    std::thread::available_parallelism().unwrap().get() as f64
}

#[test]
fn a_threshold_rule_on_a_real_agent_fires_repeats_resolves_silences_and_is_inhibited_when_offline()
{
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        free_port(),
        &[
            "--alert-evaluation-interval",
            "1",
            "--alert-group-interval",
            "0",
            "--offline-after",
            "4",
        ],
    );
    let receiver = Receiver::start();
    let api = Api::logged_in(&server.url());
    webhook_channel(&api, &receiver);
    let key = server.create_key("alerting");
    let mut agent = Agent::start(
        &server.url(),
        &key,
        &dir.path().join("spool"),
        &["--interval", "1"],
    );
    assert!(wait_until(Duration::from_secs(20), || {
        api.get("/api/servers")
            .body
            .as_array()
            .is_some_and(|a| !a.is_empty())
    }));
    let hostname = api.get("/api/servers").body[0]["hostname"]
        .as_str()
        .unwrap()
        .to_string();

    // cpu.cores_count is what the kernel says: the rule breaches at once.
    let rule = json!({
        "name": "Cores present", "severity": "critical", "for_s": 0, "repeat_interval_s": 10,
        "condition": {"type": "threshold", "metric": "cpu.cores_count", "op": ">", "value": 0, "clear": 0},
        "annotations": {"summary": "{{host}} has {{value}} cores"}
    });
    let r = api.post_json("/api/alert-rules", &rule);
    assert_eq!(r.status, 201, "{}", r.body);
    let rule_id = r.body["id"].as_i64().unwrap();

    let got = receiver.wait_for(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "one firing notification");
    let first = &got[0];
    assert_eq!(first.path, "/alerts");
    let signature = first.header("x-lxmon-signature").expect("signed");
    assert!(lxmon_notify::verify(
        HMAC_SECRET.as_bytes(),
        &first.body,
        signature
    ));
    assert!(!lxmon_notify::verify(
        b"another secret",
        &first.body,
        signature
    ));
    let body = first.json();
    assert_eq!(body["status"], "firing", "{body}");
    assert_eq!(body["severity"], "critical");
    assert_eq!(
        body["alerts"][0]["summary"],
        format!("{hostname} has {} cores", nproc()),
        "{body}"
    );
    assert_eq!(body["alerts"][0]["labels"]["host"], hostname.as_str());

    // Reports keep breaching every second: deduplicated until the repeat.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        receiver.received().len(),
        1,
        "no duplicates within the repeat interval"
    );
    let got = receiver.wait_for(2, Duration::from_secs(15));
    assert_eq!(got.len(), 2, "repeated after the repeat interval");
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_secs(9), "repeat after {gap:?}");
    assert_eq!(got[1].json()["status"], "firing");

    // A rule change applies without restart: the alert resolves.
    let mut cleared = rule.clone();
    cleared["condition"]["value"] = json!(100000);
    cleared["condition"]["clear"] = json!(100000);
    let r = api.request(
        "PUT",
        &format!("/api/alert-rules/{rule_id}"),
        Some(&cleared),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let got = receiver.wait_for(3, Duration::from_secs(15));
    assert_eq!(got.len(), 3, "resolve message");
    assert_eq!(got[2].json()["status"], "resolved", "{}", got[2].json());
    let history = alerts(&api, "state=resolved");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["notify_count"], 2);
    assert!(history[0]["resolved_at"].as_i64().is_some());

    // A silence on the rule: it fires again but nobody hears of it.
    let r = api.post_json(
        "/api/silences",
        &json!({"matchers": [{"name": "alertname", "op": "=", "value": "Cores present"}],
                "ends_at": now_ms() + 600_000, "comment": "maintenance"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let silence_id = r.body["id"].as_i64().unwrap();
    let r = api.request("PUT", &format!("/api/alert-rules/{rule_id}"), Some(&rule));
    assert_eq!(r.status, 200);
    assert!(wait_until(Duration::from_secs(10), || {
        alerts(&api, "state=firing")
            .first()
            .is_some_and(|a| a["suppressed"] == format!("silence {silence_id}"))
    }));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.received().len(), 3, "silenced: nothing sent");
    // The silence ends: the alert that nobody heard of is sent now.
    let r = api.request("DELETE", &format!("/api/silences/{silence_id}"), None);
    assert_eq!(r.status, 204);
    let got = receiver.wait_for(4, Duration::from_secs(10));
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].json()["status"], "firing");

    // The host goes offline: its offline alert fires and inhibits the rest.
    let r = api.post_json(
        "/api/alert-rules",
        &json!({"name": "Host offline", "severity": "critical", "condition": {"type": "host_offline"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    agent.stop();
    let got = receiver.wait_for(5, Duration::from_secs(20));
    assert_eq!(got.len(), 5, "offline notification");
    let offline = got[4].json();
    assert_eq!(offline["title"], "Host offline", "{offline}");
    assert_eq!(offline["alerts"][0]["labels"]["host"], hostname.as_str());
    // The sweep (every second) records why it is held back.
    let mut cores = Value::Null;
    let inhibited = wait_until(Duration::from_secs(5), || {
        cores = alerts(&api, "state=firing")
            .into_iter()
            .find(|a| a["name"] == "Cores present")
            .unwrap_or_default();
        cores["suppressed"] == "inhibited: host offline"
    });
    assert!(inhibited, "{cores}");
    // Its repeat (every 10 s) is held back while the host is offline.
    std::thread::sleep(Duration::from_secs(12));
    let late: Vec<Value> = receiver.received()[5..]
        .iter()
        .map(Received::json)
        .collect();
    assert!(
        late.iter().all(|n| n["title"] != "Cores present"),
        "inhibited alert was repeated: {late:?}"
    );
}

#[test]
fn bad_alerting_input_is_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let api = Api::logged_in(&server.url());
    let refused = |path: &str, body: Value, status: u16, needle: &str| {
        let r = api.post_json(path, &body);
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
        let message = r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(needle),
            "{path}: {message:?} should mention {needle:?}"
        );
    };
    refused(
        "/api/alert-rules",
        json!({"name": "x", "severity": "warning",
               "condition": {"type": "threshold", "metric": "cpu.nonexistent_percent", "op": ">", "value": 1}}),
        422,
        "unknown metric",
    );
    refused(
        "/api/alert-rules",
        json!({"name": "x", "severity": "warning", "annotations": {"summary": "{{host} is {{nope}}"},
               "condition": {"type": "host_offline"}}),
        422,
        "summary",
    );
    refused(
        "/api/alert-rules",
        json!({"name": "x", "severity": "loud", "condition": {"type": "host_offline"}}),
        422,
        "severity",
    );
    refused(
        "/api/maintenance-windows",
        json!({"name": "sunday", "cron": "0 25 * * sun", "duration_minutes": 60, "utc_offset_minutes": 0}),
        422,
        "hour",
    );
    refused(
        "/api/maintenance-windows",
        json!({"name": "sunday", "cron": "every sunday", "duration_minutes": 60, "utc_offset_minutes": 0}),
        422,
        "cron",
    );
    refused(
        "/api/channels",
        json!({"name": "x", "config": {"kind": "webhook", "url": "ftp://example.com/hook"}}),
        422,
        "http",
    );
    refused(
        "/api/channels",
        json!({"name": "x", "config": {"kind": "slack", "webhook_url": "file:///etc/passwd"}}),
        422,
        "http",
    );
    refused(
        "/api/silences",
        json!({"matchers": [], "ends_at": now_ms() + 1000}),
        422,
        "matcher",
    );
    let r = api.request(
        "PUT",
        "/api/alert-routing",
        Some(&json!({"default_channels": [424242]})),
    );
    assert_eq!(r.status, 422, "{}", r.body);

    // Incoming webhooks: signature, size, shape.
    let r = api.post_json("/api/incoming-webhooks", &json!({"name": "grafana"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let secret = r.body["secret"].as_str().unwrap().to_string();
    let listed = api.get("/api/incoming-webhooks");
    assert!(!listed.body.to_string().contains(&secret), "secret listed");
    let anon = Api::new(&server.url());
    let path = format!("/api/webhooks/{id}");
    let body = br#"{"name":"disk full","severity":"critical"}"#.to_vec();
    let r = anon.post(&path, &[("content-type", "application/json")], body.clone());
    assert_eq!(r.status, 401, "unsigned: {}", r.body);
    let wrong = lxmon_notify::sign(b"not the secret", &body);
    let r = anon.post(&path, &[("x-lxmon-signature", &wrong)], body.clone());
    assert_eq!(r.status, 401, "wrong signature: {}", r.body);
    let r = anon.post(
        &path,
        &[("authorization", "Bearer not-the-secret")],
        body.clone(),
    );
    assert_eq!(r.status, 401, "wrong bearer: {}", r.body);
    let sig = lxmon_notify::sign(secret.as_bytes(), b"");
    let (status, out) = common::post_declaring_length(
        &server.url(),
        &path,
        &[("x-lxmon-signature", &sig)],
        10 * 1024 * 1024,
    );
    assert_eq!(status, 413, "10 MB declared: {out}");
    let (status, out) = common::post_chunked(
        &server.url(),
        &path,
        &[("x-lxmon-signature", &sig)],
        10 * 1024 * 1024,
    );
    assert_eq!(status, 413, "10 MB chunked: {out}");
    let bad = br#"{"alerts":[{"severity":"critical"}]}"#.to_vec();
    let sig = lxmon_notify::sign(secret.as_bytes(), &bad);
    let r = anon.post(&path, &[("x-lxmon-signature", &sig)], bad);
    assert_eq!(r.status, 422, "no name: {}", r.body);
    assert!(
        alerts(&api, "").is_empty(),
        "nothing stored from refused posts"
    );
    let r = anon.post(
        "/api/webhooks/999999",
        &[("x-lxmon-signature", &wrong)],
        body,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn incoming_alertmanager_and_generic_alerts_join_the_alarm_list_and_are_routed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let api = Api::logged_in(&server.url());
    let receiver = Receiver::start();
    webhook_channel(&api, &receiver);
    let r = api.post_json(
        "/api/incoming-webhooks",
        &json!({"name": "alertmanager", "allowed_cidrs": ["127.0.0.0/8"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let secret = r.body["secret"].as_str().unwrap().to_string();
    let post = |body: Value| {
        let bytes = serde_json::to_vec(&body).unwrap();
        let sig = lxmon_notify::sign(secret.as_bytes(), &bytes);
        Api::new(&server.url()).post(
            &format!("/api/webhooks/{id}"),
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &sig),
            ],
            bytes,
        )
    };
    let alertmanager = |status: &str| {
        json!({
            "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "status": status,
            "receiver": "lxmon", "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
            "alerts": [{
                "status": status,
                "labels": {"alertname": "HighLatency", "severity": "critical", "instance": "api-1:9100"},
                "annotations": {"summary": "p99 latency above 2 s on api-1"},
                "startsAt": "2026-11-22T08:00:00.123Z",
                "endsAt": if status == "resolved" { "2026-11-22T08:30:00Z" } else { "0001-01-01T00:00:00Z" },
                "generatorURL": "http://prometheus:9090/graph", "fingerprint": "c7a1f2e3d4b5a697"
            }]
        })
    };
    let r = post(alertmanager("firing"));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], 1);
    let r = post(
        json!({"name": "Backup failed", "severity": "warning", "message": "nightly backup of db-1 failed",
                        "labels": {"host": "db-1"}}),
    );
    assert_eq!(r.status, 202, "{}", r.body);

    let firing = alerts(&api, "state=firing&source=webhook");
    assert_eq!(firing.len(), 2, "{firing:?}");
    let latency = firing.iter().find(|a| a["name"] == "HighLatency").unwrap();
    assert_eq!(latency["severity"], "critical");
    assert_eq!(latency["summary"], "p99 latency above 2 s on api-1");
    assert_eq!(latency["labels"]["instance"], "api-1:9100");
    assert_eq!(latency["labels"]["source"], "alertmanager");
    let backup = firing
        .iter()
        .find(|a| a["name"] == "Backup failed")
        .unwrap();
    assert_eq!(backup["summary"], "nightly backup of db-1 failed");

    // Routed like internal alerts.
    let got = receiver.wait_for(2, Duration::from_secs(10));
    assert_eq!(got.len(), 2, "both notified");
    // Repeating the same firing alert does not duplicate it.
    // Alertmanager itself cannot sign: it sends the secret as a bearer token.
    let bytes = serde_json::to_vec(&alertmanager("firing")).unwrap();
    let bearer = format!("Bearer {secret}");
    let r = Api::new(&server.url()).post(
        &format!("/api/webhooks/{id}"),
        &[
            ("content-type", "application/json"),
            ("authorization", &bearer),
        ],
        bytes,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(alerts(&api, "state=firing&source=webhook").len(), 2);
    // Resolved by its sender.
    assert_eq!(post(alertmanager("resolved")).status, 202);
    let resolved = alerts(&api, "state=resolved");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["name"], "HighLatency");
    let got = receiver.wait_for(3, Duration::from_secs(10));
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].json()["status"], "resolved");

    // Ack: who, when, comment; and assignment to a user of the tenant.
    let backup_id = backup["id"].as_i64().unwrap();
    let r = api.post_json(
        &format!("/api/alerts/{backup_id}/ack"),
        &json!({"comment": "rerunning it"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ack"]["by"], "admin");
    assert_eq!(r.body["ack"]["comment"], "rerunning it");
    let r = api.post_json(
        &format!("/api/alerts/{backup_id}/assign"),
        &json!({"assignee": "admin"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["assignee"], "admin");
    let r = api.post_json(
        &format!("/api/alerts/{backup_id}/assign"),
        &json!({"assignee": "nobody"}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let r = api.get(&format!("/api/alerts/{backup_id}"));
    assert_eq!(r.body["notifications"][0]["outcome"], "sent", "{}", r.body);
}

#[test]
fn one_rule_breaching_on_several_hosts_is_one_notification_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let api = Api::logged_in(&server.url());
    let receiver = Receiver::start();
    webhook_channel(&api, &receiver);
    let r = api.post_json(
        "/api/alert-rules",
        &json!({"name": "Root disk", "severity": "warning",
                "condition": {"type": "ratio", "numerator": {"metric": "fs.used_bytes", "labels": [{"name": "mount", "op": "=", "value": "/"}]},
                              "denominator": {"metric": "fs.total_bytes"}, "scale": 100, "op": ">", "value": 90}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let keys: Vec<String> = (0..3)
        .map(|i| server.create_key(&format!("h{i}")))
        .collect();
    let report = |i: usize, seq: u64, used: f64| {
        json!({"v": 1, "host": {"hostname": format!("web-{i}")}, "ts": now_ms(), "interval_s": 10, "seq": seq,
               "metrics": [{"n": "fs.used_bytes", "l": {"mount": "/"}, "v": used}, {"n": "fs.total_bytes", "l": {"mount": "/"}, "v": 100.0},
                           {"n": "fs.used_bytes", "l": {"mount": "/data"}, "v": 99.0}, {"n": "fs.total_bytes", "l": {"mount": "/data"}, "v": 100.0}]})
    };
    // Host 2 is at 50 %: in no alert; /data is full everywhere but not selected.
    for (i, key) in keys.iter().enumerate() {
        let used = if i == 2 { 50.0 } else { 95.0 };
        let r =
            Api::as_agent(&server.url(), key).post_json("/api/agent/metrics", &report(i, 1, used));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let got = receiver.wait_for(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        receiver.received().len(),
        1,
        "grouped into one notification"
    );
    let body = got[0].json();
    let mut hosts: Vec<&str> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["host"].as_str().unwrap())
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["web-0", "web-1"], "{body}");
    assert_eq!(body["alerts"][0]["value"], 95.0);

    // A restart keeps them firing and does not notify again.
    server.terminate();
    server.restart();
    let api = Api::logged_in(&server.url());
    let r =
        Api::as_agent(&server.url(), &keys[0]).post_json("/api/agent/metrics", &report(0, 2, 96.0));
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        receiver.received().len(),
        1,
        "no second notification after restart"
    );
    let firing = alerts(&api, "state=firing");
    assert_eq!(firing.len(), 2, "{firing:?}");
    assert!(firing.iter().all(|a| a["notify_count"] == 1));
    // Back under the threshold: resolved.
    let r =
        Api::as_agent(&server.url(), &keys[0]).post_json("/api/agent/metrics", &report(0, 3, 40.0));
    assert_eq!(r.status, 200);
    assert!(wait_until(Duration::from_secs(10), || alerts(
        &api,
        "state=firing"
    )
    .len()
        == 1));
}

#[test]
fn channels_send_tests_to_real_receivers_and_never_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let api = Api::logged_in(&server.url());
    let receiver = Receiver::start();
    let make = |name: &str, config: Value| {
        let r = api.post_json("/api/channels", &json!({"name": name, "config": config}));
        assert_eq!(r.status, 201, "{name}: {}", r.body);
        r.body["id"].as_i64().unwrap()
    };
    let slack = make(
        "slack",
        json!({"kind": "slack", "webhook_url": format!("{}/services/T000/B000/XXXXSECRET", receiver.url)}),
    );
    let teams = make(
        "teams",
        json!({"kind": "teams", "webhook_url": format!("{}/workflows/teams-secret", receiver.url)}),
    );
    let telegram = make(
        "telegram",
        json!({"kind": "telegram", "bot_token": "123456:TELEGRAM-SECRET", "chat_id": "-10042", "api_base": receiver.url}),
    );
    let whatsapp = make(
        "whatsapp",
        json!({"kind": "whatsapp", "access_token": "WA-SECRET", "phone_number_id": "1055", "to": ["15550001111"], "api_base": receiver.url}),
    );
    let listed = api.get("/api/channels").body.to_string();
    for secret in ["XXXXSECRET", "teams-secret", "TELEGRAM-SECRET", "WA-SECRET"] {
        assert!(!listed.contains(secret), "{secret} listed: {listed}");
    }
    for (id, n) in [(slack, 1), (teams, 2), (telegram, 3), (whatsapp, 4)] {
        let r = api.post_json(&format!("/api/channels/{id}/test"), &json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["sent"], true, "{}", r.body);
        assert_eq!(receiver.wait_for(n, Duration::from_secs(5)).len(), n);
    }
    let got = receiver.received();
    assert_eq!(got[0].path, "/services/T000/B000/XXXXSECRET");
    assert!(
        got[0].json()["text"].as_str().unwrap().contains("Test"),
        "{}",
        got[0].json()
    );
    assert_eq!(
        got[1].json()["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(got[2].path, "/bot123456:TELEGRAM-SECRET/sendMessage");
    assert_eq!(got[2].json()["chat_id"], "-10042");
    assert_eq!(got[3].path, "/1055/messages");
    assert_eq!(got[3].header("authorization"), Some("Bearer WA-SECRET"));
    assert_eq!(got[3].json()["messaging_product"], "whatsapp");

    // Updating without the secret keeps it.
    let r = api.request(
        "PUT",
        &format!("/api/channels/{telegram}"),
        Some(&json!({"name": "telegram ops", "config": {"kind": "telegram", "chat_id": "-10043", "api_base": receiver.url}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api.post_json(&format!("/api/channels/{telegram}/test"), &json!({}))
            .body["sent"],
        true
    );
    let last = receiver.wait_for(5, Duration::from_secs(5));
    assert_eq!(last[4].path, "/bot123456:TELEGRAM-SECRET/sendMessage");
    assert_eq!(last[4].json()["chat_id"], "-10043");

    // Email through a real SMTP server.
    let sink = SmtpSink::start();
    let email = make(
        "email",
        json!({"kind": "email", "host": "127.0.0.1", "port": sink.port, "security": "none",
               "from": "lxmon@example.com", "to": ["ops@example.com"]}),
    );
    let r = api.post_json(&format!("/api/channels/{email}/test"), &json!({}));
    assert_eq!(r.body["sent"], true, "{}", r.body);
    let message = sink.wait_message(Duration::from_secs(10));
    assert!(message.contains("Subject: [TEST]"), "{message}");
    assert!(message.contains("To: ops@example.com"), "{message}");
    // A channel that cannot deliver says why.
    let dead = make(
        "dead",
        json!({"kind": "webhook", "url": format!("http://127.0.0.1:{}/x", free_port())}),
    );
    let r = api.post_json(&format!("/api/channels/{dead}/test"), &json!({}));
    assert_eq!(r.body["sent"], false, "{}", r.body);
    assert!(
        r.body["error"].as_str().unwrap().contains("127.0.0.1"),
        "{}",
        r.body
    );
    let log = api.get("/api/notifications").body;
    assert_eq!(log.as_array().unwrap().len(), 7, "{log}");
}

/// Python's aiosmtpd, as the notify crate's tests run it.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("messages.jsonl");
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../notify/tests/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(&script)
            .args(["--out", out.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!("smtp sink did not start (run scripts/install-test-deps.sh): {line:?}")
            });
        SmtpSink {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    fn wait_message(&self, timeout: Duration) -> String {
        let mut text = String::new();
        wait_until(timeout, || {
            text = std::fs::read_to_string(&self.out).unwrap_or_default();
            !text.is_empty()
        });
        let first: Value = serde_json::from_str(text.lines().next().expect("a message")).unwrap();
        first["content"].as_str().unwrap().to_string()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_check_going_down_raises_a_check_down_alert_and_coming_back_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        free_port(),
        &[
            "--alert-evaluation-interval",
            "1",
            "--alert-group-interval",
            "0",
        ],
    );
    let api = Api::logged_in(&server.url());
    let receiver = Receiver::start();
    webhook_channel(&api, &receiver);
    // A port that accepts while the listener lives.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let r = api.post_json(
        "/api/checks",
        &json!({"name": "db port", "interval_s": 10, "retries": 0,
                "spec": {"type": "tcp", "host": "127.0.0.1", "port": port}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let check_id = r.body["id"].as_i64().unwrap();
    let r = api.post_json(
        "/api/alert-rules",
        &json!({"name": "Check down", "severity": "critical", "condition": {"type": "check_down", "check_id": check_id}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(wait_until(Duration::from_secs(20), || {
        api.get(&format!("/api/checks/{check_id}")).body["status"] == "up"
    }));
    drop(listener);
    let got = receiver.wait_for(1, Duration::from_secs(25));
    assert_eq!(got.len(), 1, "check-down notification");
    let body = got[0].json();
    assert_eq!(body["status"], "firing", "{body}");
    assert_eq!(body["alerts"][0]["labels"]["check"], "db port", "{body}");
    assert!(
        body["alerts"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("db port"),
        "{body}"
    );
    // Listening again: the next run is up and the alert resolves.
    let _listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let got = receiver.wait_for(2, Duration::from_secs(25));
    assert_eq!(got.len(), 2, "resolve notification");
    assert_eq!(got[1].json()["status"], "resolved");
}
