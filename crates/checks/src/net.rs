//! Name resolution and TCP connects bounded by a [`Deadline`]; the TCP check.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;

use crate::{Deadline, Outcome, TcpSpec, ms};

/// `host` without the brackets of a bracketed IPv6 literal.
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Resolves `host` (name or IP literal) within the deadline.
///
/// `getaddrinfo` cannot be interrupted, so it runs on a helper thread that is
/// abandoned when the deadline passes (it ends on its own when the system
/// resolver gives up); the caller is never held past the deadline.
pub(crate) fn resolve(host: &str, port: u16, deadline: &Deadline) -> io::Result<Vec<SocketAddr>> {
    let bare = bare_host(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let left = deadline.left()?;
    let (tx, rx) = mpsc::channel();
    let name = bare.to_string();
    thread::Builder::new()
        .name("lxmon-resolve".into())
        .spawn(move || {
            let r = (name.as_str(), port)
                .to_socket_addrs()
                .map(|it| it.collect::<Vec<_>>());
            let _ = tx.send(r);
        })?;
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) if addrs.is_empty() => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{bare} has no addresses"),
        )),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(io::Error::new(
            e.kind(),
            format!("cannot resolve {bare}: {e}"),
        )),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("resolving {bare} timed out"),
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other(format!(
            "cannot resolve {bare}: resolver thread failed"
        ))),
    }
}

/// Connects to the first address that answers. Each address gets an equal
/// share of the time left, so one black-holed address (say an unreachable
/// IPv6 route) does not use up the whole deadline.
pub(crate) fn connect(addrs: &[SocketAddr], deadline: &Deadline) -> io::Result<TcpStream> {
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.left()?;
        let share = left / (addrs.len() - i) as u32;
        match TcpStream::connect_timeout(addr, share.max(std::time::Duration::from_millis(1))) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(io::Error::new(e.kind(), format!("connect to {addr}: {e}"))),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
}

/// A `TcpStream` whose every read and write is bounded by the deadline.
pub(crate) struct DeadlineStream {
    pub(crate) inner: TcpStream,
    pub(crate) deadline: Deadline,
}

fn timed_out(e: io::Error) -> io::Error {
    // A socket timeout surfaces as EAGAIN (WouldBlock) on Linux.
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out")
    } else {
        e
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.left()?;
        self.inner.set_read_timeout(Some(left))?;
        self.inner.read(buf).map_err(timed_out)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.deadline.left()?;
        self.inner.set_write_timeout(Some(left))?;
        self.inner.write(buf).map_err(timed_out)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Human form of an I/O error, with timeouts named as such.
pub(crate) fn describe(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::TimedOut && e.to_string() == "timed out" {
        "timed out".to_string()
    } else {
        e.to_string()
    }
}

pub(crate) fn run_tcp(spec: &TcpSpec, deadline: Deadline) -> Outcome {
    // validate() has bounded the port.
    let port = spec.port as u16;
    let addrs = match resolve(&spec.host, port, &deadline) {
        Ok(a) => a,
        Err(e) => return Outcome::down(describe(&e)),
    };
    let started = std::time::Instant::now();
    match connect(&addrs, &deadline) {
        Ok(s) => {
            let peer = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            Outcome {
                up: true,
                latency_ms: Some(ms(started.elapsed())),
                detail: Some(format!("connected to {peer}")),
                ..Outcome::default()
            }
        }
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Outcome::down(format!(
            "no answer from {}:{port} within {} ms",
            bare_host(&spec.host),
            deadline.timeout().as_millis()
        )),
        Err(e) => Outcome::down(describe(&e)),
    }
}
