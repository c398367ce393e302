//! HTTP(S) checks against real servers started in the test on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use lxmon_checks::{BasicAuth, CheckSpec, HttpSpec, Options, Outcome, StatusRange, run, run_with};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const TIMEOUT: Duration = Duration::from_secs(5);
/// Slack for thread scheduling on a busy 2-core machine.
const MARGIN: Duration = Duration::from_millis(700);

/// A test server: answers by path, records the request heads it saw.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }
    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_head(s: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn respond(s: &mut impl Write, status: &str, headers: &str, body: &[u8]) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    );
    let _ = s.write_all(body);
    let _ = s.flush();
}

/// The routes every test server knows.
fn handle(stream: &mut (impl Read + Write), seen: &Mutex<Vec<String>>) {
    let Some(head) = read_head(stream) else {
        return;
    };
    seen.lock().unwrap().push(head.clone());
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    match path.as_str() {
        "/ok" => respond(stream, "200 OK", "", b"hello lxmon world"),
        "/500" => respond(stream, "500 Internal Server Error", "", b"broken"),
        "/slow" => {
            thread::sleep(Duration::from_secs(10));
            respond(stream, "200 OK", "", b"late");
        }
        "/slowish" => {
            thread::sleep(Duration::from_millis(400));
            respond(stream, "200 OK", "", b"a bit late");
        }
        "/drip" => {
            // Head at once, then the body one byte every 100 ms, forever.
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            let _ = stream.flush();
            while stream.write_all(b"x").and_then(|()| stream.flush()).is_ok() {
                thread::sleep(Duration::from_millis(100));
            }
        }
        "/redirect" => respond(stream, "302 Found", "Location: /ok\r\n", b""),
        "/redirect-twice" => respond(stream, "301 Moved", "Location: redirect\r\n", b""),
        "/loop" => respond(stream, "302 Found", "Location: /loop\r\n", b""),
        "/auth" => {
            // "user:pa:ss" in base64.
            if head.contains("\r\nAuthorization: Basic dXNlcjpwYTpzcw==\r\n") {
                respond(stream, "200 OK", "", b"welcome")
            } else {
                respond(
                    stream,
                    "401 Unauthorized",
                    "WWW-Authenticate: Basic\r\n",
                    b"",
                )
            }
        }
        "/chunked" => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  6\r\nstatus\r\n7\r\n: green\r\n0\r\n\r\n",
            );
        }
        "/close" => {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\nread until close: ready");
        }
        "/big" => {
            let mut body = vec![b'.'; 2 * 1024 * 1024];
            body.extend_from_slice(b"needle");
            respond(stream, "200 OK", "", &body);
        }
        _ => respond(stream, "404 Not Found", "", b"no such page"),
    }
}

fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let seen = seen2.clone();
            let tls = tls.clone();
            thread::spawn(move || match tls {
                None => {
                    let mut s = stream;
                    handle(&mut s, &seen);
                }
                Some(config) => {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut s = rustls::StreamOwned::new(conn, stream);
                    handle(&mut s, &seen);
                    s.conn.send_close_notify();
                    let _ = s.flush();
                }
            });
        }
    });
    Server { addr, seen }
}

fn http(url: String) -> HttpSpec {
    HttpSpec::new(url)
}

fn check(spec: HttpSpec) -> Outcome {
    run(&CheckSpec::Http(spec), TIMEOUT)
}

#[test]
fn status_200_is_up() {
    let s = serve(None);
    let o = check(http(s.url("/ok")));
    assert!(o.up, "{o:?}");
    assert_eq!(o.error, None);
    assert_eq!(o.detail.as_deref(), Some("HTTP 200 OK"));
    assert!(o.latency_ms.unwrap() > 0.0);
    assert_eq!(o.cert_days_left, None);
    let head = &s.requests()[0];
    assert!(head.starts_with("GET /ok HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nHost: {}\r\n", s.addr)),
        "{head}"
    );
}

#[test]
fn status_500_is_down_with_the_status() {
    let s = serve(None);
    let o = check(http(s.url("/500")));
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("HTTP status 500 (expected 200-399)")
    );

    let mut spec = http(s.url("/500"));
    spec.expected_status = vec!["500-503".parse().unwrap()];
    assert!(check(spec).up);
}

#[test]
fn a_server_slower_than_the_timeout_is_down_within_the_timeout() {
    let s = serve(None);
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let o = run(&CheckSpec::Http(http(s.url("/slow"))), timeout);
    let took = started.elapsed();
    assert!(!o.up);
    assert!(took < timeout + MARGIN, "took {took:?}");
    let e = o.error.unwrap();
    assert!(e.contains("timed out after 500 ms"), "{e}");
}

#[test]
fn a_body_that_never_ends_is_bounded_by_the_timeout_too() {
    let s = serve(None);
    let timeout = Duration::from_millis(800);
    let started = Instant::now();
    let o = run(&CheckSpec::Http(http(s.url("/drip"))), timeout);
    let took = started.elapsed();
    assert!(!o.up);
    assert!(took < timeout + MARGIN, "took {took:?}");
    assert!(o.error.unwrap().contains("timed out"));
}

#[test]
fn keyword_present_missing_and_absent() {
    let s = serve(None);
    let mut spec = http(s.url("/ok"));
    spec.keyword = Some("lxmon".into());
    assert!(check(spec.clone()).up);

    spec.keyword = Some("grafana".into());
    let o = check(spec.clone());
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("keyword \"grafana\" not found in the body")
    );

    spec.keyword_absent = true;
    assert!(check(spec.clone()).up, "absent keyword is absent");

    spec.keyword = Some("lxmon".into());
    let o = check(spec);
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("keyword \"lxmon\" found in the body")
    );
}

#[test]
fn keyword_in_chunked_and_read_to_close_bodies() {
    let s = serve(None);
    let mut spec = http(s.url("/chunked"));
    spec.keyword = Some("status: green".into());
    let o = check(spec);
    assert!(o.up, "{o:?}");

    let mut spec = http(s.url("/close"));
    spec.keyword = Some("ready".into());
    let o = check(spec);
    assert!(o.up, "{o:?}");
}

#[test]
fn only_the_first_mebibyte_is_searched() {
    let s = serve(None);
    let mut spec = http(s.url("/big"));
    spec.keyword = Some("needle".into());
    let o = check(spec);
    assert!(!o.up);
    assert!(o.error.unwrap().contains("not found in the first 1024 KiB"));
    assert!(o.detail.unwrap().contains("only its start was read"));
}

#[test]
fn redirects_followed_or_not() {
    let s = serve(None);
    let mut spec = http(s.url("/redirect-twice"));
    spec.keyword = Some("hello".into());
    let o = check(spec.clone());
    assert!(o.up, "{o:?}");
    let detail = o.detail.unwrap();
    assert!(
        detail.contains("HTTP 200 OK after 2 redirect(s)") && detail.ends_with("/ok"),
        "{detail}"
    );
    let paths: Vec<String> = s
        .requests()
        .iter()
        .map(|h| h.split(' ').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(paths, ["/redirect-twice", "/redirect", "/ok"]);

    // Not followed: the 302 itself is judged (and 3xx is accepted by default).
    spec.follow_redirects = false;
    spec.keyword = None;
    let o = check(spec.clone());
    assert!(o.up);
    assert_eq!(o.detail.as_deref(), Some("HTTP 301 Moved"));
    spec.expected_status = vec![StatusRange { lo: 200, hi: 299 }];
    let o = check(spec);
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("HTTP status 301 (expected 200-299)")
    );
}

#[test]
fn a_redirect_loop_stops_after_five() {
    let s = serve(None);
    let o = check(http(s.url("/loop")));
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("more than 5 redirects (the last to /loop)")
    );
    assert_eq!(s.requests().len(), 6);
}

#[test]
fn basic_auth_header_is_sent() {
    let s = serve(None);
    let mut spec = http(s.url("/auth"));
    spec.expected_status = vec!["200".parse().unwrap()];
    let o = check(spec.clone());
    assert!(!o.up, "no credentials: 401");
    assert_eq!(o.error.as_deref(), Some("HTTP status 401 (expected 200)"));

    spec.basic_auth = Some(BasicAuth {
        username: "user".into(),
        password: "pa:ss".into(),
    });
    spec.headers.insert("X-Probe".into(), "lxmon".into());
    let o = check(spec);
    assert!(o.up, "{o:?}");
    let head = s.requests().pop().unwrap();
    assert!(head.contains("\r\nX-Probe: lxmon\r\n"), "{head}");
}

#[test]
fn max_latency_exceeded_is_down() {
    let s = serve(None);
    let mut spec = http(s.url("/slowish"));
    spec.max_latency_ms = Some(100);
    let o = check(spec.clone());
    assert!(!o.up);
    assert!(o.latency_ms.unwrap() >= 400.0);
    let e = o.error.unwrap();
    assert!(
        e.starts_with("response took ") && e.ends_with("ms, more than the 100 ms allowed"),
        "{e}"
    );

    spec.max_latency_ms = Some(3000);
    assert!(check(spec).up);
}

#[test]
fn connection_refused_is_down() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = check(http(format!("http://127.0.0.1:{port}/")));
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(
        e.starts_with("connecting: ") && e.contains("refused"),
        "{e}"
    );
}

#[test]
fn a_non_http_server_is_down_with_a_reason() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut s: TcpStream = s;
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
        }
    });
    let o = check(http(format!("http://{addr}/")));
    assert!(!o.up);
    assert!(o.error.unwrap().contains("not an HTTP/1.x response"));
}

// ---- HTTPS ----

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

/// A CA and a leaf for `localhost` / 127.0.0.1 valid from `from` to `until`
/// seconds around now.
fn pki(from: i64, until: i64) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let at = |secs: i64| {
        let now = SystemTime::now();
        let t = if secs >= 0 {
            now + Duration::from_secs(secs as u64)
        } else {
            now - Duration::from_secs((-secs) as u64)
        };
        t.into()
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "lxmon test CA");
    ca.not_before = at(-30 * 86400);
    ca.not_after = at(365 * 86400);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.not_before = at(from);
    leaf.not_after = at(until);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(leaf_cert.der().to_vec()),
                CertificateDer::from(ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

fn trusting(pki: &Pki) -> Options {
    Options {
        extra_roots_pem: Some(pki.ca_pem.clone()),
    }
}

const DAY: i64 = 86400;

#[test]
fn https_cert_expiring_in_5_days_warns_but_stays_up() {
    // Five days and an hour: "expires in 5 days" counts whole days left.
    let pki = pki(-DAY, 5 * DAY + 3600);
    let s = serve(Some(pki.server.clone()));
    let mut spec = http(s.https_url("localhost", "/ok"));
    spec.keyword = Some("hello".into());
    let o = run_with(&CheckSpec::Http(spec), TIMEOUT, &trusting(&pki));
    assert!(o.up, "{o:?}");
    assert!(o.cert_warning);
    let days = o.cert_days_left.unwrap();
    assert!((days - 5.04).abs() < 0.01, "{days}");
    assert_eq!(o.error.as_deref(), Some("certificate expires in 5 days"));
    assert_eq!(o.detail.as_deref(), Some("HTTP 200 OK"));
}

#[test]
fn https_cert_valid_60_days_no_warning() {
    let pki = pki(-DAY, 60 * DAY);
    let s = serve(Some(pki.server.clone()));
    let o = run_with(
        &CheckSpec::Http(http(s.https_url("127.0.0.1", "/ok"))),
        TIMEOUT,
        &trusting(&pki),
    );
    assert!(o.up, "{o:?}");
    assert!(!o.cert_warning);
    assert_eq!(o.error, None);
    assert!((o.cert_days_left.unwrap() - 60.0).abs() < 0.01);

    // A wider warning window turns the same certificate into a warning.
    let mut spec = http(s.https_url("127.0.0.1", "/ok"));
    spec.cert_warn_days = Some(90);
    let o = run_with(&CheckSpec::Http(spec.clone()), TIMEOUT, &trusting(&pki));
    assert!(o.up && o.cert_warning);
    // null: never warn.
    spec.cert_warn_days = None;
    let o = run_with(&CheckSpec::Http(spec), TIMEOUT, &trusting(&pki));
    assert!(o.up && !o.cert_warning);
}

#[test]
fn https_unknown_ca_is_down_unless_insecure() {
    let pki = pki(-DAY, 60 * DAY);
    let s = serve(Some(pki.server.clone()));
    let spec = http(s.https_url("localhost", "/ok"));
    let o = run(&CheckSpec::Http(spec.clone()), TIMEOUT);
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(e.starts_with("TLS handshake with localhost: "), "{e}");
    assert!(e.contains("UnknownIssuer"), "{e}");
    // The expiry is still known: the leaf was seen before it was rejected.
    assert!((o.cert_days_left.unwrap() - 60.0).abs() < 0.01);

    let mut insecure = spec;
    insecure.insecure_skip_verify = true;
    let o = run(&CheckSpec::Http(insecure), TIMEOUT);
    assert!(o.up, "{o:?}");
    assert!((o.cert_days_left.unwrap() - 60.0).abs() < 0.01);
}

#[test]
fn https_expired_cert_is_down() {
    let pki = pki(-30 * DAY, -2 * DAY);
    let s = serve(Some(pki.server.clone()));
    let spec = http(s.https_url("localhost", "/ok"));
    let o = run_with(&CheckSpec::Http(spec.clone()), TIMEOUT, &trusting(&pki));
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(e.contains("certificate expired"), "{e}");
    assert!((o.cert_days_left.unwrap() + 2.0).abs() < 0.01);

    // Even when verification is skipped, an expired certificate is down.
    let mut insecure = spec;
    insecure.insecure_skip_verify = true;
    let o = run(&CheckSpec::Http(insecure), TIMEOUT);
    assert!(!o.up);
    assert!(o.cert_warning);
    assert_eq!(o.error.as_deref(), Some("certificate expired 2 days ago"));
}

#[test]
fn https_wrong_name_is_down() {
    // The certificate names localhost only; the URL asks for 127.0.0.1.
    let bad = pki_without_ip();
    let s2 = serve(Some(bad.server.clone()));
    let spec = http(format!("https://127.0.0.1:{}/ok", s2.addr.port()));
    let o = run_with(&CheckSpec::Http(spec), TIMEOUT, &trusting(&bad));
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(e.contains("not valid for name"), "{e}");
}

/// A leaf for `localhost` only.
fn pki_without_ip() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

#[test]
fn https_handshake_that_hangs_is_bounded() {
    // A TCP server that accepts and never speaks TLS.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    let timeout = Duration::from_millis(600);
    let started = Instant::now();
    let o = run(
        &CheckSpec::Http(http(format!("https://127.0.0.1:{}/", addr.port()))),
        timeout,
    );
    assert!(!o.up);
    assert!(started.elapsed() < timeout + MARGIN);
    let e = o.error.unwrap();
    assert!(e.contains("timed out after 600 ms (TLS handshake"), "{e}");
}

#[test]
fn bad_extra_roots_are_reported() {
    let pki = pki(-DAY, 60 * DAY);
    let s = serve(Some(pki.server.clone()));
    let o = run_with(
        &CheckSpec::Http(http(s.https_url("localhost", "/ok"))),
        TIMEOUT,
        &Options {
            extra_roots_pem: Some("not a certificate".into()),
        },
    );
    assert!(!o.up);
    assert!(o.error.unwrap().contains("extra root certificates"));
}
