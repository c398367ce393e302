//! Specs as JSON (what the server stores and sends) and their validation.

use std::time::{Duration, Instant};

use lxmon_checks::{
    CheckSpec, DnsSpec, HttpSpec, Outcome, PingSpec, RecordType, StatusRange, TcpSpec, run,
    validate,
};

fn parse(json: &str) -> CheckSpec {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn invalid(spec: &CheckSpec) -> String {
    validate(spec).expect_err("accepted").to_string()
}

#[test]
fn http_defaults_from_minimal_json() {
    let spec = parse(r#"{"type":"http","url":"https://example.com/health"}"#);
    assert_eq!(
        spec,
        CheckSpec::Http(HttpSpec::new("https://example.com/health"))
    );
    let CheckSpec::Http(h) = &spec else {
        unreachable!()
    };
    assert_eq!(h.method, "GET");
    assert_eq!(h.expected_status, vec![StatusRange { lo: 200, hi: 399 }]);
    assert!(h.follow_redirects);
    assert_eq!(h.cert_warn_days, Some(14));
    assert!(!h.insecure_skip_verify && !h.keyword_absent);
    assert!(validate(&spec).is_ok());
}

#[test]
fn http_full_json_round_trips() {
    let json = r#"{
        "type": "http", "url": "http://10.0.0.5:8080/status?x=1", "method": "HEAD",
        "headers": {"X-Token": "abc"}, "expected_status": ["200", "204-299", 301],
        "keyword": "ok", "keyword_absent": true, "max_latency_ms": 800,
        "follow_redirects": false, "basic_auth": {"username": "u", "password": "p"},
        "cert_warn_days": null, "insecure_skip_verify": true
    }"#;
    let spec = parse(json);
    let CheckSpec::Http(h) = &spec else {
        unreachable!()
    };
    assert_eq!(
        h.expected_status,
        vec![
            StatusRange { lo: 200, hi: 200 },
            StatusRange { lo: 204, hi: 299 },
            StatusRange { lo: 301, hi: 301 }
        ]
    );
    assert_eq!(h.cert_warn_days, None);
    validate(&spec).unwrap();
    let back = serde_json::to_string(&spec).unwrap();
    assert!(
        back.contains(r#""expected_status":["200","204-299","301"]"#),
        "{back}"
    );
    assert_eq!(parse(&back), spec);
    // The password never shows in logs.
    assert!(!format!("{spec:?}").contains("\"p\""));
}

#[test]
fn other_kinds_from_json() {
    assert_eq!(
        parse(r#"{"type":"tcp","host":"db.internal","port":5432}"#),
        CheckSpec::Tcp(TcpSpec {
            host: "db.internal".into(),
            port: 5432
        })
    );
    assert_eq!(
        parse(r#"{"type":"ping","host":"10.0.0.1"}"#),
        CheckSpec::Ping(PingSpec {
            host: "10.0.0.1".into(),
            count: 3
        })
    );
    let dns = parse(r#"{"type":"dns","name":"example.com","record_type":"aaaa","expected":"::1"}"#);
    assert_eq!(
        dns,
        CheckSpec::Dns(DnsSpec {
            expected: Some("::1".into()),
            ..DnsSpec::new("example.com", RecordType::Aaaa)
        })
    );
    assert!(
        serde_json::to_string(&dns)
            .unwrap()
            .contains(r#""record_type":"AAAA""#)
    );
}

#[test]
fn json_errors_are_clear() {
    let e =
        serde_json::from_str::<CheckSpec>(r#"{"type":"dns","name":"x.com","record_type":"SRV"}"#)
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("unsupported DNS record type \"SRV\" (expected A, AAAA, CNAME, MX, TXT or NS)"),
        "{e}"
    );
    let e = serde_json::from_str::<CheckSpec>(
        r#"{"type":"http","url":"http://x/","expected_status":["600"]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("invalid HTTP status \"600\""), "{e}");
    let e = serde_json::from_str::<CheckSpec>(
        r#"{"type":"http","url":"http://x/","expected_status":["299-200"]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("reversed"), "{e}");
    let e = serde_json::from_str::<CheckSpec>(r#"{"type":"tcp","host":"x","port":22,"prot":1}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `prot`"), "{e}");
    let e = serde_json::from_str::<CheckSpec>(r#"{"type":"smtp","host":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `smtp`"), "{e}");
}

#[test]
fn invalid_urls() {
    let url = |u: &str| invalid(&CheckSpec::Http(HttpSpec::new(u)));
    assert_eq!(
        url("ftp://example.com/file"),
        "url: invalid URL \"ftp://example.com/file\": scheme \"ftp\" is not supported (only http and https)"
    );
    assert_eq!(
        url("example.com/health"),
        "url: invalid URL \"example.com/health\": expected http://host/path or https://host/path"
    );
    assert_eq!(
        url("http://exa mple.com/"),
        "url: invalid URL \"http://exa mple.com/\": contains spaces or control characters"
    );
    assert_eq!(
        url("http://example.com:70000/"),
        "url: invalid URL \"http://example.com:70000/\": port \"70000\" is not between 1 and 65535"
    );
    assert!(url("http:///path").contains("no host"));
    assert!(url("http://user:pw@example.com/").contains("use basic_auth"));
}

#[test]
fn invalid_http_fields() {
    let mut h = HttpSpec::new("http://example.com/");
    h.method = "get it".into();
    assert!(invalid(&CheckSpec::Http(h.clone())).starts_with("method: "));
    h.method = "GET".into();
    h.headers.insert("Bad Header".into(), "x".into());
    assert!(invalid(&CheckSpec::Http(h.clone())).starts_with("headers: "));
    h.headers.clear();
    h.headers.insert("X-A".into(), "a\r\nInjected: 1".into());
    assert_eq!(
        invalid(&CheckSpec::Http(h.clone())),
        "headers: the value of X-A contains a line break"
    );
    h.headers.clear();
    h.headers.insert("Content-Length".into(), "5".into());
    assert!(invalid(&CheckSpec::Http(h.clone())).contains("cannot be overridden"));
    h.headers.clear();
    h.expected_status.clear();
    assert_eq!(
        invalid(&CheckSpec::Http(h.clone())),
        "expected_status: must list at least one status"
    );
    h.expected_status = vec!["200".parse().unwrap()];
    h.keyword_absent = true;
    assert_eq!(
        invalid(&CheckSpec::Http(h.clone())),
        "keyword_absent: needs a keyword"
    );
    h.keyword_absent = false;
    h.max_latency_ms = Some(0);
    assert!(invalid(&CheckSpec::Http(h)).starts_with("max_latency_ms: "));
}

#[test]
fn ports_out_of_range() {
    let tcp = |port| {
        CheckSpec::Tcp(TcpSpec {
            host: "example.com".into(),
            port,
        })
    };
    assert_eq!(invalid(&tcp(0)), "port: must be between 1 and 65535, got 0");
    // 70000 parses from JSON (u32) and is rejected by validation.
    let spec = parse(r#"{"type":"tcp","host":"example.com","port":70000}"#);
    assert_eq!(
        invalid(&spec),
        "port: must be between 1 and 65535, got 70000"
    );
    assert!(validate(&tcp(1)).is_ok() && validate(&tcp(65535)).is_ok());
}

#[test]
fn hostnames() {
    let tcp = |host: &str| {
        CheckSpec::Tcp(TcpSpec {
            host: host.into(),
            port: 22,
        })
    };
    assert_eq!(
        invalid(&tcp("my server.example.com")),
        "host: \"my server.example.com\" contains spaces"
    );
    assert_eq!(invalid(&tcp("")), "host: must not be empty");
    assert!(invalid(&tcp("a..b")).contains("empty label"));
    assert!(invalid(&tcp("-a.com")).contains("starting or ending with '-'"));
    assert!(invalid(&tcp("a/b")).contains("contains '/'"));
    for ok in [
        "example.com",
        "example.com.",
        "10.1.2.3",
        "::1",
        "[fe80::1]",
        "host-1",
    ] {
        assert!(validate(&tcp(ok)).is_ok(), "{ok}");
    }
    let ping = |host: &str| CheckSpec::Ping(PingSpec::new(host));
    assert!(invalid(&ping("bad host")).contains("contains spaces"));
}

#[test]
fn ping_count_range() {
    let ping = |count| {
        CheckSpec::Ping(PingSpec {
            host: "10.0.0.1".into(),
            count,
        })
    };
    assert_eq!(invalid(&ping(0)), "count: must be between 1 and 10, got 0");
    assert_eq!(
        invalid(&ping(11)),
        "count: must be between 1 and 10, got 11"
    );
    assert!(validate(&ping(1)).is_ok() && validate(&ping(10)).is_ok());
}

#[test]
fn dns_fields() {
    let mut d = DnsSpec::new("_dmarc.example.com", RecordType::Txt);
    assert!(validate(&CheckSpec::Dns(d.clone())).is_ok());
    d.resolver = Some("dns.google".into());
    assert!(invalid(&CheckSpec::Dns(d.clone())).starts_with("resolver: "));
    d.resolver = Some("[2001:db8::53]:5353".into());
    assert!(validate(&CheckSpec::Dns(d.clone())).is_ok());
    d.name = "bad name.com".into();
    assert!(invalid(&CheckSpec::Dns(d)).starts_with("name: "));
}

#[test]
fn running_an_invalid_spec_is_down_without_network() {
    let started = Instant::now();
    let o = run(
        &CheckSpec::Tcp(TcpSpec {
            host: "example.com".into(),
            port: 0,
        }),
        Duration::from_secs(5),
    );
    assert_eq!(
        o,
        Outcome {
            up: false,
            error: Some("invalid check: port: must be between 1 and 65535, got 0".into()),
            ..Outcome::default()
        }
    );
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[test]
fn outcome_serializes_for_the_server() {
    let o = Outcome {
        up: true,
        latency_ms: Some(12.5),
        cert_days_left: Some(5.0),
        cert_warning: true,
        error: Some("certificate expires in 5 days".into()),
        detail: Some("HTTP 200 OK".into()),
    };
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(
        json,
        r#"{"up":true,"latency_ms":12.5,"cert_days_left":5.0,"cert_warning":true,"error":"certificate expires in 5 days","detail":"HTTP 200 OK"}"#
    );
    assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
}
