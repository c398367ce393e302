//! A small SMTP submission client over `std::net::TcpStream` and rustls:
//! EHLO, STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, MAIL/RCPT/DATA with
//! dot-stuffing, QUIT. One message per connection, every step bounded by
//! the attempt's deadline.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sha2::{Digest, Sha256};

use crate::config::{EmailConfig, TlsMode};
use crate::error::{NotifyError, scrub};
use crate::model::Notification;
use crate::render;
use crate::retry::Failure;

const CHANNEL: &str = "email";
const MAX_LINE: usize = 8192;
const MAX_REPLY_LINES: usize = 200;

/// The certificates in `pem`; at least one.
pub(crate) fn parse_pem_roots(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        out.push(cert.map_err(|e| format!("is not valid PEM: {e}"))?);
    }
    if out.is_empty() {
        return Err("contains no CERTIFICATE block".to_owned());
    }
    Ok(out)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static P: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn tls_config(extra_pem: Option<&str>) -> Result<Arc<ClientConfig>, NotifyError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_pem {
        let certs = parse_pem_roots(pem).map_err(|m| crate::config::ConfigError {
            field: "ca_cert_pem".into(),
            message: m,
        })?;
        for c in certs {
            roots.add(c).map_err(|e| crate::config::ConfigError {
                field: "ca_cert_pem".into(),
                message: format!("certificate rejected: {e}"),
            })?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Closed,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(t) => Some(t),
            Stream::Tls(s) => Some(&s.sock),
            Stream::Closed => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(t) => t.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(t) => t.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(t) => t.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Closed => Ok(()),
        }
    }
}

struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join(" ")
    }
}

struct Session<'a> {
    stream: Stream,
    rbuf: Vec<u8>,
    host: &'a str,
    deadline: Instant,
    timeout: Duration,
    secrets: &'a [String],
    tls: Option<Arc<ClientConfig>>,
}

impl Session<'_> {
    fn timeout_err(&self) -> NotifyError {
        NotifyError::Timeout {
            channel: CHANNEL,
            host: self.host.to_owned(),
            timeout_ms: self.timeout.as_millis() as u64,
        }
    }

    fn io_err(&self, e: io::Error) -> NotifyError {
        if let Some(tls) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return NotifyError::Tls {
                channel: CHANNEL,
                host: self.host.to_owned(),
                detail: tls.to_string(),
            };
        }
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timeout_err(),
            _ => NotifyError::Connect {
                channel: CHANNEL,
                host: self.host.to_owned(),
                detail: format!("connection lost: {e}"),
            },
        }
    }

    /// Sets the socket timeouts to what is left of the deadline.
    fn arm(&self) -> Result<(), NotifyError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timeout_err());
        }
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.set_read_timeout(Some(left));
            let _ = tcp.set_write_timeout(Some(left));
        }
        Ok(())
    }

    fn write_all(&mut self, data: &[u8]) -> Result<(), NotifyError> {
        self.arm()?;
        let r = self
            .stream
            .write_all(data)
            .and_then(|()| self.stream.flush());
        r.map_err(|e| self.io_err(e))
    }

    fn read_line(&mut self) -> Result<String, NotifyError> {
        loop {
            if let Some(pos) = self.rbuf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.rbuf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.rbuf.len() > MAX_LINE {
                return Err(self.protocol("reply line too long"));
            }
            self.arm()?;
            let mut chunk = [0u8; 4096];
            let n = match self.stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            if n == 0 {
                return Err(NotifyError::Connect {
                    channel: CHANNEL,
                    host: self.host.to_owned(),
                    detail: "the server closed the connection".to_owned(),
                });
            }
            self.rbuf.extend_from_slice(&chunk[..n]);
        }
    }

    fn protocol(&self, detail: &str) -> NotifyError {
        NotifyError::Protocol {
            channel: CHANNEL,
            host: self.host.to_owned(),
            detail: detail.to_owned(),
        }
    }

    fn read_reply(&mut self) -> Result<Reply, NotifyError> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line()?;
            let b = line.as_bytes();
            let code = match b.get(..3) {
                Some(d) if d.iter().all(u8::is_ascii_digit) => {
                    u16::from(d[0] - b'0') * 100
                        + u16::from(d[1] - b'0') * 10
                        + u16::from(d[2] - b'0')
                }
                _ => {
                    let detail = format!("not an SMTP reply: {}", scrub(&line, self.secrets, 100));
                    return Err(self.protocol(&detail));
                }
            };
            let more = b.get(3) == Some(&b'-');
            lines.push(scrub(line.get(4..).unwrap_or(""), self.secrets, 300));
            if lines.len() > MAX_REPLY_LINES {
                return Err(self.protocol("reply too long"));
            }
            if !more {
                return Ok(Reply { code, lines });
            }
        }
    }

    /// Sends one command line (CRLF added) and reads the reply.
    fn command(&mut self, line: &str) -> Result<Reply, NotifyError> {
        let mut data = Vec::with_capacity(line.len() + 2);
        data.extend_from_slice(line.as_bytes());
        data.extend_from_slice(b"\r\n");
        self.write_all(&data)?;
        self.read_reply()
    }

    /// `reply` if its code is one of `ok`, else the error for `stage`.
    fn expect(&self, reply: Reply, ok: &[u16], stage: &'static str) -> Result<Reply, NotifyError> {
        if ok.contains(&reply.code) {
            return Ok(reply);
        }
        if reply.code >= 400 {
            return Err(NotifyError::Smtp {
                host: self.host.to_owned(),
                stage,
                code: reply.code,
                detail: crate::render::truncate(&reply.text(), 300),
            });
        }
        Err(self.protocol(&format!("unexpected reply {} to {stage}", reply.code)))
    }

    fn start_tls(&mut self) -> Result<(), NotifyError> {
        let Stream::Plain(mut tcp) = std::mem::replace(&mut self.stream, Stream::Closed) else {
            return Err(self.protocol("TLS started twice"));
        };
        let config = self.tls.clone().expect("TLS config prepared for TLS modes");
        let name = ServerName::try_from(self.host.to_owned()).map_err(|_| NotifyError::Tls {
            channel: CHANNEL,
            host: self.host.to_owned(),
            detail: "the host is not a valid TLS server name".to_owned(),
        })?;
        let mut conn = ClientConnection::new(config, name).map_err(|e| NotifyError::Tls {
            channel: CHANNEL,
            host: self.host.to_owned(),
            detail: e.to_string(),
        })?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timeout_err());
        }
        let _ = tcp.set_read_timeout(Some(left));
        let _ = tcp.set_write_timeout(Some(left));
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                let err = match e.kind() {
                    io::ErrorKind::UnexpectedEof => NotifyError::Tls {
                        channel: CHANNEL,
                        host: self.host.to_owned(),
                        detail: "the server closed the connection during the handshake".to_owned(),
                    },
                    _ => self.io_err(e),
                };
                return Err(err);
            }
        }
        self.stream = Stream::Tls(Box::new(StreamOwned::new(conn, tcp)));
        Ok(())
    }

    fn ehlo(&mut self, name: &str, allow_helo: bool) -> Result<Vec<String>, NotifyError> {
        let reply = self.command(&format!("EHLO {name}"))?;
        if reply.code == 250 {
            // The first line is the server's greeting; the others are
            // extension keywords with parameters.
            return Ok(reply
                .lines
                .iter()
                .skip(1)
                .map(|l| l.to_ascii_uppercase())
                .collect());
        }
        if allow_helo && matches!(reply.code, 500 | 502) {
            let reply = self.command(&format!("HELO {name}"))?;
            self.expect(reply, &[250], "HELO")?;
            return Ok(Vec::new());
        }
        self.expect(reply, &[250], "EHLO").map(|_| Vec::new())
    }

    fn auth(&mut self, exts: &[String], user: &str, password: &str) -> Result<(), NotifyError> {
        let mechs: Vec<&str> = exts
            .iter()
            .filter_map(|e| e.strip_prefix("AUTH ").or_else(|| e.strip_prefix("AUTH=")))
            .flat_map(str::split_whitespace)
            .collect();
        let auth_err = |code: u16, reply: &Reply| NotifyError::AuthFailed {
            host: self.host.to_owned(),
            code,
            detail: crate::render::truncate(&reply.text(), 300),
        };
        if mechs.contains(&"PLAIN") {
            let token = B64.encode(format!("\0{user}\0{password}"));
            let reply = self.command(&format!("AUTH PLAIN {token}"))?;
            return match reply.code {
                235 => Ok(()),
                c if c >= 400 => Err(auth_err(c, &reply)),
                c => Err(self.protocol(&format!("unexpected reply {c} to AUTH PLAIN"))),
            };
        }
        if mechs.contains(&"LOGIN") {
            for (step, secret) in [("AUTH LOGIN", None), ("username", Some(user))]
                .into_iter()
                .chain(std::iter::once(("password", Some(password))))
            {
                let line = match secret {
                    None => step.to_owned(),
                    Some(s) => B64.encode(s),
                };
                let reply = self.command(&line)?;
                let want = if step == "password" { 235 } else { 334 };
                match reply.code {
                    c if c == want => {}
                    c if c >= 400 => return Err(auth_err(c, &reply)),
                    c => {
                        return Err(
                            self.protocol(&format!("unexpected reply {c} to AUTH LOGIN ({step})"))
                        );
                    }
                }
            }
            return Ok(());
        }
        Err(NotifyError::AuthUnsupported {
            host: self.host.to_owned(),
        })
    }

    fn quit(&mut self) {
        if self.command("QUIT").is_ok()
            && let Stream::Tls(s) = &mut self.stream
        {
            s.conn.send_close_notify();
            let _ = s.conn.complete_io(&mut s.sock);
        }
    }
}

/// EHLO's argument: the local address as an address literal (RFC 5321
/// 4.1.3), which needs no host name configuration and is always valid.
fn client_name(local: Option<SocketAddr>) -> String {
    match local.map(|a| a.ip()) {
        Some(IpAddr::V4(ip)) => format!("[{ip}]"),
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => format!("[{v4}]"),
            None => format!("[IPv6:{ip}]"),
        },
        None => "[127.0.0.1]".to_owned(),
    }
}

fn connect(
    cfg: &EmailConfig,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, NotifyError> {
    let host = cfg.host.as_str();
    let addrs: Vec<SocketAddr> = (host, cfg.port)
        .to_socket_addrs()
        .map_err(|e| NotifyError::Connect {
            channel: CHANNEL,
            host: host.to_owned(),
            detail: format!("cannot resolve the host: {e}"),
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() != io::ErrorKind::TimedOut => NotifyError::Connect {
            channel: CHANNEL,
            host: format!("{host}:{}", cfg.port),
            detail: e.to_string(),
        },
        Some(_) => NotifyError::Timeout {
            channel: CHANNEL,
            host: format!("{host}:{}", cfg.port),
            timeout_ms: timeout.as_millis() as u64,
        },
        None => NotifyError::Connect {
            channel: CHANNEL,
            host: host.to_owned(),
            detail: "the host name has no address".to_owned(),
        },
    })
}

/// One delivery attempt: a whole SMTP session.
pub(crate) fn send_once(
    cfg: &EmailConfig,
    n: &Notification,
    timeout: Duration,
    secrets: &[String],
) -> Result<Option<u16>, Failure> {
    let deadline = Instant::now() + timeout;
    let tls = match cfg.security {
        TlsMode::None => None,
        TlsMode::Starttls | TlsMode::Tls => Some(tls_config(cfg.ca_cert_pem.as_deref())?),
    };
    let tcp = connect(cfg, deadline, timeout)?;
    let name = client_name(tcp.local_addr().ok());
    let mut s = Session {
        stream: Stream::Plain(tcp),
        rbuf: Vec::new(),
        host: &cfg.host,
        deadline,
        timeout,
        secrets,
        tls,
    };
    if cfg.security == TlsMode::Tls {
        s.start_tls()?;
    }
    let greeting = s.read_reply()?;
    s.expect(greeting, &[220], "greeting")?;
    let can_helo = cfg.security == TlsMode::None && cfg.username.is_none();
    let mut exts = s.ehlo(&name, can_helo)?;
    if cfg.security == TlsMode::Starttls {
        if !exts.iter().any(|e| e == "STARTTLS") {
            s.quit();
            return Err(NotifyError::StartTlsUnavailable {
                host: cfg.host.clone(),
            }
            .into());
        }
        let reply = s.command("STARTTLS")?;
        s.expect(reply, &[220], "STARTTLS")?;
        if !s.rbuf.is_empty() {
            // Bytes sent before the handshake would be read as if they came
            // over TLS (CVE-2011-0411 style injection).
            return Err(s.protocol("data received after the STARTTLS reply").into());
        }
        s.start_tls()?;
        exts = s.ehlo(&name, false)?;
    }
    // AUTH travels over TLS, or in clear only because security "none" was
    // chosen explicitly.
    if let Some(user) = &cfg.username {
        let password = cfg.password.as_deref().unwrap_or("");
        s.auth(&exts, user, password)?;
    }
    let reply = s.command(&format!("MAIL FROM:<{}>", cfg.from))?;
    s.expect(reply, &[250], "MAIL FROM")?;
    for to in &cfg.to {
        let reply = s.command(&format!("RCPT TO:<{to}>"))?;
        s.expect(reply, &[250, 251], "RCPT TO")?;
    }
    let reply = s.command("DATA")?;
    s.expect(reply, &[354], "DATA")?;
    let message = compose(cfg, n, crate::time::now_secs());
    s.write_all(&dot_stuff(&message))?;
    let reply = s.read_reply()?;
    let reply = s.expect(reply, &[250], "message")?;
    s.quit();
    Ok(Some(reply.code))
}

/// The message with CRLF line ends, ready for dot-stuffing: headers and a
/// text/plain UTF-8 body (7bit when it is short-lined ASCII, otherwise
/// quoted-printable).
pub(crate) fn compose(cfg: &EmailConfig, n: &Notification, now_secs: i64) -> String {
    let body = render::text(n).replace("\r\n", "\n").replace('\r', "\n");
    let plain = body.is_ascii() && body.lines().all(|l| l.len() <= 998);
    let (encoding, body) = if plain {
        ("7bit", body.replace('\n', "\r\n"))
    } else {
        ("quoted-printable", quoted_printable(&body))
    };
    let domain = cfg.from.rsplit('@').next().unwrap_or("localhost");
    let mut m = String::new();
    m.push_str(&format!("Date: {}\r\n", crate::time::rfc5322(now_secs)));
    m.push_str(&format!("From: {}\r\n", cfg.from));
    m.push_str(&format!("To: {}\r\n", cfg.to.join(",\r\n ")));
    m.push_str(&format!(
        "Subject: {}\r\n",
        encode_header(&render::email_subject(n))
    ));
    m.push_str(&format!(
        "Message-ID: <{}@{domain}>\r\n",
        message_id_local(n)
    ));
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    m.push_str(&format!("Content-Transfer-Encoding: {encoding}\r\n"));
    m.push_str("Auto-Submitted: auto-generated\r\n");
    m.push_str(&format!(
        "X-Mailer: lxmon/{}\r\n",
        env!("CARGO_PKG_VERSION")
    ));
    m.push_str("\r\n");
    m.push_str(&body);
    if !m.ends_with("\r\n") {
        m.push_str("\r\n");
    }
    m
}

fn message_id_local(n: &Notification) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(n.title.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.lxmon")
}

/// A header value: as is when it is printable ASCII, else RFC 2047
/// encoded-words (`=?UTF-8?B?...?=`, each at most 75 characters, folded).
/// Control characters never reach the header either way.
pub(crate) fn encode_header(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) && !s.contains("=?") {
        return s;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        // 45 bytes encode to 60 base64 characters: 12 + 60 = 72 per word.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", B64.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", B64.encode(&chunk)));
    }
    words.join("\r\n ")
}

/// Quoted-printable (RFC 2045 6.7) with CRLF line ends and soft breaks
/// keeping lines at most 76 characters.
pub(crate) fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let bytes = line.as_bytes();
        let mut len = 0;
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let token = if literal {
                char::from(b).to_string()
            } else {
                format!("={b:02X}")
            };
            if len + token.len() > 75 {
                out.push_str("=\r\n");
                len = 0;
            }
            out.push_str(&token);
            len += token.len();
        }
        if i + 1 < lines.len() {
            out.push_str("\r\n");
        }
    }
    out
}

/// The DATA payload: each line starting with `.` gets another `.`, then
/// the `CRLF . CRLF` terminator.
pub(crate) fn dot_stuff(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    for line in message.split_inclusive("\r\n") {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        assert_eq!(
            dot_stuff("a\r\n.b\r\n..c\r\nd.\r\n.\r\n"),
            b"a\r\n..b\r\n...c\r\nd.\r\n..\r\n.\r\n"
        );
        assert_eq!(dot_stuff(".x"), b"..x\r\n.\r\n");
    }

    #[test]
    fn qp() {
        assert_eq!(quoted_printable("a=b"), "a=3Db");
        assert_eq!(quoted_printable("grün"), "gr=C3=BCn");
        assert_eq!(quoted_printable("end \nx\t"), "end=20\r\nx=09");
        let long = "é".repeat(60);
        let enc = quoted_printable(&long);
        assert!(enc.split("\r\n").all(|l| l.len() <= 76), "{enc}");
        assert!(!enc.contains("=\r\nC3"), "a token was split: {enc}");
    }

    #[test]
    fn header_encoding() {
        assert_eq!(encode_header("[FIRING:1] CPU"), "[FIRING:1] CPU");
        assert_eq!(encode_header("a\r\nBcc: x"), "a  Bcc: x");
        let e = encode_header("Hohe CPU-Last auf Rechner müde");
        assert!(e.starts_with("=?UTF-8?B?"), "{e}");
        let long = encode_header(&"ü".repeat(100));
        for w in long.split("\r\n ") {
            assert!(w.len() <= 75, "{w}");
            let b64 = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
            let raw = B64.decode(b64).unwrap();
            assert!(String::from_utf8(raw).is_ok(), "a character was split");
        }
    }

    #[test]
    fn ehlo_names() {
        assert_eq!(
            client_name(Some("10.0.0.1:5".parse().unwrap())),
            "[10.0.0.1]"
        );
        assert_eq!(client_name(Some("[::1]:5".parse().unwrap())), "[IPv6:::1]");
    }
}
