//! A minimal HTTP/1.1 client for health checks, and the HTTP(S) check.
//!
//! One request per connection (`Connection: close`), no body sent, response
//! bodies read by `Content-Length`, chunked encoding or until close, keeping
//! at most [`MAX_BODY_BYTES`]. Redirects are followed by opening a new
//! connection.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Ipv6Addr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, RootCertStore, StreamOwned};

use crate::net::{DeadlineStream, bare_host, connect, resolve};
use crate::spec::host_name_problem;
use crate::{Deadline, HttpSpec, MAX_BODY_BYTES, MAX_REDIRECTS, Options, Outcome, der, tls};

/// The status line and headers together may not exceed this.
const MAX_HEAD_BYTES: u64 = 64 * 1024;

/// An `http` or `https` URL, split for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) https: bool,
    /// As written in the URL (lower-cased; IPv6 keeps its brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, starting with `/`; the fragment removed.
    pub(crate) path: String,
}

impl Url {
    pub(crate) fn parse(s: &str) -> Result<Url, String> {
        if s.is_empty() {
            return Err("invalid URL: empty".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "invalid URL {s:?}: contains spaces or control characters"
            ));
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(format!(
                "invalid URL {s:?}: expected http://host/path or https://host/path"
            ));
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "invalid URL {s:?}: scheme {other:?} is not supported (only http and https)"
                ));
            }
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!(
                "invalid URL {s:?}: credentials in the URL are not supported, use basic_auth"
            ));
        }
        let (host, port) = if authority.starts_with('[') {
            let close = authority
                .find(']')
                .ok_or_else(|| format!("invalid URL {s:?}: unclosed '[' in the host"))?;
            let inner = &authority[1..close];
            if inner.parse::<Ipv6Addr>().is_err() {
                return Err(format!(
                    "invalid URL {s:?}: {inner:?} is not an IPv6 address"
                ));
            }
            let after = &authority[close + 1..];
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    format!("invalid URL {s:?}: unexpected {p:?} after the host")
                })?),
            };
            (authority[..=close].to_string(), port)
        } else {
            let (h, p) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if h.is_empty() {
                return Err(format!("invalid URL {s:?}: no host"));
            }
            if let Some(problem) = host_name_problem(h) {
                return Err(format!("invalid URL {s:?}: host {problem}"));
            }
            (h.to_ascii_lowercase(), p)
        };
        let default = if https { 443 } else { 80 };
        let port = match port {
            None | Some("") => default,
            Some(p) => match p.parse::<u32>() {
                Ok(n) if (1..=65535).contains(&n) => n as u16,
                _ => {
                    return Err(format!(
                        "invalid URL {s:?}: port {p:?} is not between 1 and 65535"
                    ));
                }
            },
        };
        let tail = tail.split('#').next().unwrap_or("");
        let path = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        Ok(Url {
            https,
            host,
            port,
            path,
        })
    }

    fn default_port(&self) -> bool {
        self.port == if self.https { 443 } else { 80 }
    }

    fn host_header(&self) -> String {
        if self.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Resolves a `Location` header against this URL.
    fn join(&self, location: &str) -> Result<Url, String> {
        let location = location.trim();
        let scheme_end = location.find("://");
        let first_slash = location.find('/');
        if let Some(i) = scheme_end
            && first_slash.is_none_or(|j| i < j)
        {
            return Url::parse(location);
        }
        if location.starts_with("//") {
            let scheme = if self.https { "https:" } else { "http:" };
            return Url::parse(&format!("{scheme}{location}"));
        }
        if location
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err("contains spaces or control characters".into());
        }
        let location = location.split('#').next().unwrap_or("");
        let path_only = self.path.split('?').next().unwrap_or("/");
        let path = if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            format!("{path_only}{location}")
        } else if location.is_empty() {
            self.path.clone()
        } else {
            let dir = &path_only[..=path_only.rfind('/').unwrap_or(0)];
            format!("{dir}{location}")
        };
        Ok(Url {
            path,
            ..self.clone()
        })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.path)
    }
}

enum Conn {
    Plain(DeadlineStream),
    Tls(Box<StreamOwned<ClientConnection, DeadlineStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

struct Response {
    status: u16,
    reason: String,
    /// Names lower-cased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body was longer than [`MAX_BODY_BYTES`]; the rest was not read.
    truncated: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Describes an I/O failure at `stage`, naming timeouts as such.
fn failure(stage: &str, e: &io::Error, deadline: &Deadline) -> String {
    if e.kind() == io::ErrorKind::TimedOut {
        format!(
            "timed out after {} ms ({stage})",
            deadline.timeout().as_millis()
        )
    } else {
        format!("{stage}: {e}")
    }
}

fn days_left(leaf: &[u8]) -> Option<f64> {
    let not_after = der::not_after(leaf).ok()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some((not_after as f64 - now) / 86400.0)
}

struct Hop<'a> {
    url: &'a Url,
    method: &'a str,
    send_auth: bool,
}

/// One request on a fresh connection. Returns the leaf certificate's days
/// left (HTTPS, even when the handshake failed) and the response.
fn exchange(
    hop: &Hop<'_>,
    spec: &HttpSpec,
    deadline: &Deadline,
    roots: &mut Option<Arc<RootCertStore>>,
    options: &Options,
) -> (Option<f64>, Result<Response, String>) {
    let url = hop.url;
    let addrs = match resolve(&url.host, url.port, deadline) {
        Ok(a) => a,
        Err(e) => return (None, Err(failure("resolving", &e, deadline))),
    };
    let tcp = match connect(&addrs, deadline) {
        Ok(s) => s,
        Err(e) => return (None, Err(failure("connecting", &e, deadline))),
    };
    let sock = DeadlineStream {
        inner: tcp,
        deadline: *deadline,
    };
    let mut cert_days = None;
    let mut conn = if url.https {
        let store = match roots {
            Some(r) => r.clone(),
            None => match tls::roots(options.extra_roots_pem.as_deref()) {
                Ok(r) => roots.insert(r).clone(),
                Err(e) => return (None, Err(e)),
            },
        };
        let (config, verifier) = match tls::client_config(&store, spec.insecure_skip_verify) {
            Ok(c) => c,
            Err(e) => return (None, Err(e)),
        };
        let name = match ServerName::try_from(bare_host(&url.host).to_string()) {
            Ok(n) => n,
            Err(e) => return (None, Err(format!("TLS server name {}: {e}", url.host))),
        };
        let mut tls = match ClientConnection::new(config, name) {
            Ok(c) => c,
            Err(e) => return (None, Err(format!("TLS setup: {e}"))),
        };
        let mut sock = sock;
        let mut handshake = Ok(());
        while tls.is_handshaking() {
            if let Err(e) = tls.complete_io(&mut sock) {
                handshake = Err(e);
                break;
            }
        }
        cert_days = verifier.leaf().as_deref().and_then(days_left);
        if let Err(e) = handshake {
            let what = format!("TLS handshake with {}", url.host);
            return (cert_days, Err(failure(&what, &e, deadline)));
        }
        Conn::Tls(Box::new(StreamOwned::new(tls, sock)))
    } else {
        Conn::Plain(sock)
    };

    let request = build_request(hop, spec);
    if let Err(e) = conn
        .write_all(request.as_bytes())
        .and_then(|()| conn.flush())
    {
        return (cert_days, Err(failure("sending the request", &e, deadline)));
    }
    let head_request = hop.method == "HEAD";
    let response = read_response(&mut BufReader::new(conn), head_request)
        .map_err(|e| failure("reading the response", &e, deadline));
    (cert_days, response)
}

fn build_request(hop: &Hop<'_>, spec: &HttpSpec) -> String {
    let url = hop.url;
    let mut r = format!("{} {} HTTP/1.1\r\n", hop.method, url.path);
    let has = |name: &str| spec.headers.keys().any(|k| k.eq_ignore_ascii_case(name));
    if !has("host") {
        r.push_str(&format!("Host: {}\r\n", url.host_header()));
    }
    if !has("user-agent") {
        r.push_str(concat!(
            "User-Agent: lxmon-checks/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !has("accept") {
        r.push_str("Accept: */*\r\n");
    }
    if !has("accept-encoding") {
        // Keyword matching reads the body as sent.
        r.push_str("Accept-Encoding: identity\r\n");
    }
    if hop.send_auth
        && !has("authorization")
        && let Some(a) = &spec.basic_auth
    {
        let token = base64(format!("{}:{}", a.username, a.password).as_bytes());
        r.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    for (name, value) in &spec.headers {
        if !hop.send_auth && name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        r.push_str(&format!("{name}: {value}\r\n"));
    }
    if matches!(hop.method, "POST" | "PUT" | "PATCH") {
        r.push_str("Content-Length: 0\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r
}

fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One line ending in `\n` (returned without the line ending), charged to
/// `budget`.
fn read_line(r: &mut impl BufRead, budget: &mut u64) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = r.by_ref().take(*budget).read_until(b'\n', &mut line)?;
    *budget -= n as u64;
    if line.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            io::Error::new(io::ErrorKind::InvalidData, "response head too large")
        } else {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the end of the response head",
            )
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

type Head = (u16, String, Vec<(String, String)>);

fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    let mut budget = MAX_HEAD_BYTES;
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let first = read_line(r, &mut budget).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed without a response",
            )
        } else {
            e
        }
    })?;
    let line = String::from_utf8_lossy(&first).into_owned();
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim().to_string();
    if !version.starts_with("HTTP/1.") {
        let shown: String = line.chars().take(60).collect();
        return Err(bad(format!("not an HTTP/1.x response: {shown:?}")));
    }
    let status = match code.parse::<u16>() {
        Ok(s) if code.len() == 3 && (100..=999).contains(&s) => s,
        _ => return Err(bad(format!("bad status code {code:?}"))),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let line = read_line(r, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(&line);
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding: continue the previous value.
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("malformed header line {line:?}")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok((status, reason, headers))
}

fn read_response(r: &mut impl BufRead, head_request: bool) -> io::Result<Response> {
    let (status, reason, headers) = loop {
        let head = read_head(r)?;
        // Interim responses (100 Continue, 103 Early Hints) precede the real one.
        if (100..200).contains(&head.0) && head.0 != 101 {
            continue;
        }
        break head;
    };
    let mut response = Response {
        status,
        reason,
        headers,
        body: Vec::new(),
        truncated: false,
    };
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        read_chunked(r, &mut response)?;
    } else if let Some(len) = response.header("content-length") {
        let len: u64 = len.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad Content-Length {len:?}"),
            )
        })?;
        let want = len.min(MAX_BODY_BYTES as u64);
        let got = read_up_to(r, want, &mut response.body)?;
        if got < want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("connection closed after {got} of {len} body bytes"),
            ));
        }
        response.truncated = len > want;
    } else {
        let got = read_up_to(r, MAX_BODY_BYTES as u64 + 1, &mut response.body)?;
        if got > MAX_BODY_BYTES as u64 {
            response.body.truncate(MAX_BODY_BYTES);
            response.truncated = true;
        }
    }
    Ok(response)
}

/// Reads until `limit` bytes or end of stream. A TLS peer that closes
/// without `close_notify` ends the body like a clean close.
fn read_up_to(r: &mut impl BufRead, limit: u64, out: &mut Vec<u8>) -> io::Result<u64> {
    let before = out.len();
    match r.by_ref().take(limit).read_to_end(out) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e),
    }
    Ok((out.len() - before) as u64)
}

fn read_chunked(r: &mut impl BufRead, response: &mut Response) -> io::Result<()> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    loop {
        let mut budget = 4096;
        let line = read_line(r, &mut budget)?;
        let line = String::from_utf8_lossy(&line);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| bad(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers are not needed; the connection is closed anyway.
            return Ok(());
        }
        let room = (MAX_BODY_BYTES - response.body.len()) as u64;
        let want = size.min(room);
        let got = read_up_to(r, want, &mut response.body)?;
        if got < want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunk",
            ));
        }
        if size > room {
            response.truncated = true;
            return Ok(());
        }
        let mut budget = 2;
        let end = read_line(r, &mut budget)?;
        if !end.is_empty() {
            return Err(bad("chunk not followed by CRLF".into()));
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn min_days(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

pub(crate) fn run(spec: &HttpSpec, deadline: Deadline, options: &Options) -> Outcome {
    let mut url = match Url::parse(&spec.url) {
        Ok(u) => u,
        Err(e) => return Outcome::down(e),
    };
    let first_host = url.host.clone();
    let mut method = spec.method.clone();
    let mut roots = None;
    let mut cert_days = None;
    let mut redirects = 0;
    let response = loop {
        let hop = Hop {
            url: &url,
            method: &method,
            // Credentials go to the host they were configured for only.
            send_auth: url.host == first_host,
        };
        let (days, result) = exchange(&hop, spec, &deadline, &mut roots, options);
        cert_days = min_days(cert_days, days);
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let e = if redirects > 0 {
                    format!("{e} (after {redirects} redirects, at {url})")
                } else {
                    e
                };
                return Outcome {
                    cert_days_left: cert_days,
                    ..Outcome::down(e)
                };
            }
        };
        let is_redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
        let location = response.header("location").map(str::to_string);
        match location {
            Some(location) if spec.follow_redirects && is_redirect => {
                if redirects == MAX_REDIRECTS {
                    return Outcome {
                        cert_days_left: cert_days,
                        ..Outcome::down(format!(
                            "more than {MAX_REDIRECTS} redirects (the last to {location})"
                        ))
                    };
                }
                url = match url.join(&location) {
                    Ok(u) => u,
                    Err(e) => {
                        return Outcome {
                            cert_days_left: cert_days,
                            ..Outcome::down(format!("bad redirect to {location:?}: {e}"))
                        };
                    }
                };
                if (response.status == 303 && method != "HEAD")
                    || (matches!(response.status, 301 | 302) && method == "POST")
                {
                    method = "GET".to_string();
                }
                redirects += 1;
            }
            _ => break response,
        }
    };
    let latency = deadline.elapsed_ms();

    let mut detail = format!("HTTP {} {}", response.status, response.reason)
        .trim_end()
        .to_string();
    if redirects > 0 {
        detail.push_str(&format!(" after {redirects} redirect(s), at {url}"));
    }
    if response.truncated {
        detail.push_str(&format!(
            "; body longer than {} KiB, only its start was read",
            MAX_BODY_BYTES / 1024
        ));
    }
    let mut out = Outcome {
        up: true,
        latency_ms: Some(latency),
        cert_days_left: cert_days,
        cert_warning: false,
        error: None,
        detail: Some(detail),
    };
    let fail = |out: &mut Outcome, e: String| {
        if out.up {
            out.up = false;
            out.error = Some(e);
        }
    };

    if !spec
        .expected_status
        .iter()
        .any(|r| r.contains(response.status))
    {
        let expected = spec
            .expected_status
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        fail(
            &mut out,
            format!("HTTP status {} (expected {expected})", response.status),
        );
    }
    if let Some(k) = &spec.keyword {
        let found = find(&response.body, k.as_bytes());
        let scope = if response.truncated {
            format!("the first {} KiB of the body", MAX_BODY_BYTES / 1024)
        } else {
            "the body".to_string()
        };
        if spec.keyword_absent && found {
            fail(&mut out, format!("keyword {k:?} found in {scope}"));
        } else if !spec.keyword_absent && !found {
            fail(&mut out, format!("keyword {k:?} not found in {scope}"));
        }
    }
    if let Some(max) = spec.max_latency_ms
        && latency > f64::from(max)
    {
        fail(
            &mut out,
            format!("response took {latency:.0} ms, more than the {max} ms allowed"),
        );
    }
    if let Some(days) = cert_days {
        if days < 0.0 {
            fail(
                &mut out,
                format!("certificate expired {} days ago", (-days).floor()),
            );
            out.cert_warning = true;
        } else if let Some(warn) = spec.cert_warn_days
            && days < f64::from(warn)
        {
            out.cert_warning = true;
            if out.up {
                out.error = Some(format!("certificate expires in {} days", days.floor()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_urls() {
        let u = Url::parse("https://Example.com").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (true, "example.com", 443, "/")
        );
        let u = Url::parse("http://127.0.0.1:8080/a/b?x=1#frag").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/a/b?x=1"));
        let u = Url::parse("http://[::1]:81?q").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("[::1]", 81, "/?q")
        );
        assert_eq!(u.to_string(), "http://[::1]:81/?q");
        for bad in [
            "",
            "example.com",
            "ftp://example.com/",
            "http://",
            "http://exa mple.com/",
            "http://host:0/",
            "http://host:70000/",
            "http://u:p@host/",
            "http://[zz]/",
            "http://host:abc/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn join_locations() {
        let base = Url::parse("http://h:81/a/b?q=1").unwrap();
        let j = |l: &str| base.join(l).unwrap().to_string();
        assert_eq!(j("/x"), "http://h:81/x");
        assert_eq!(j("c"), "http://h:81/a/c");
        assert_eq!(j("?z"), "http://h:81/a/b?z");
        assert_eq!(j("https://other/p"), "https://other/p");
        assert_eq!(j("//other:90/p"), "http://other:90/p");
        assert_eq!(j("/p?u=http://x/"), "http://h:81/p?u=http://x/");
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn chunked_and_lengths() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let r = read_response(&mut &raw[..], false).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world"[..]));
        let raw = b"HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef";
        let r = read_response(&mut &raw[..], false).unwrap();
        assert_eq!(
            (r.status, r.reason.as_str(), r.body.as_slice()),
            (404, "Not Found", &b"abc"[..])
        );
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read_response(&mut &raw[..], false).is_err());
        let raw = b"HTTP/1.1 200 OK\r\n\r\nuntil close";
        let r = read_response(&mut &raw[..], false).unwrap();
        assert_eq!(r.body, b"until close");
        let raw = b"SSH-2.0-OpenSSH\r\n";
        assert!(read_response(&mut &raw[..], false).is_err());
        let mut big = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        big.resize(big.len() + MAX_BODY_BYTES + 10, b'x');
        let r = read_response(&mut &big[..], false).unwrap();
        assert!(r.truncated);
        assert_eq!(r.body.len(), MAX_BODY_BYTES);
    }
}
