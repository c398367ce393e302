//! ICMP echo ("ping") over an unprivileged ICMP datagram socket when the
//! kernel allows it (`net.ipv4.ping_group_range` covers our group), else a raw
//! socket (root or `CAP_NET_RAW`). IPv4 and IPv6.
//!
//! Echo requests go out every `interval` (at most 500 ms, less when the
//! timeout is short) and replies are awaited until all are in or the deadline
//! passes. Replies are matched on sequence number and a random token in the
//! payload, so concurrent pings (and raw sockets, which see every ICMP
//! packet of the host) never count another probe's replies.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime};

use crate::net::{describe, resolve};
use crate::{Deadline, Outcome, PingSpec, ms};

const MAX_INTERVAL: Duration = Duration::from_millis(500);
const PAYLOAD_TAG: &[u8; 8] = b"lxmon-ck";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `SOCK_DGRAM` + `IPPROTO_ICMP[V6]`: the kernel owns the identifier.
    Datagram,
    Raw,
}

struct IcmpSocket {
    fd: OwnedFd,
    kind: Kind,
    v6: bool,
}

fn os_socket(domain: i32, ty: i32, proto: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd at once.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl IcmpSocket {
    fn open(v6: bool) -> Result<IcmpSocket, String> {
        let (domain, proto) = if v6 {
            (libc::AF_INET6, libc::IPPROTO_ICMPV6)
        } else {
            (libc::AF_INET, libc::IPPROTO_ICMP)
        };
        let dgram_err = match os_socket(domain, libc::SOCK_DGRAM, proto) {
            Ok(fd) => {
                return Ok(IcmpSocket {
                    fd,
                    kind: Kind::Datagram,
                    v6,
                });
            }
            Err(e) => e,
        };
        match os_socket(domain, libc::SOCK_RAW, proto) {
            Ok(fd) => Ok(IcmpSocket {
                fd,
                kind: Kind::Raw,
                v6,
            }),
            Err(raw_err) => Err(format!(
                "cannot open an ICMP socket: unprivileged ({dgram_err}; see \
                 net.ipv4.ping_group_range) and raw ({raw_err}; needs root or CAP_NET_RAW)"
            )),
        }
    }

    fn send_to(&self, packet: &[u8], to: IpAddr) -> io::Result<()> {
        // SAFETY: an all-zero sockaddr_storage is a valid value.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match to {
            IpAddr::V4(ip) => {
                let sa = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(ip.octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sa) };
                mem::size_of::<libc::sockaddr_in>()
            }
            IpAddr::V6(ip) => {
                let sa = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: 0,
                    sin6_flowinfo: 0,
                    sin6_addr: libc::in6_addr {
                        s6_addr: ip.octets(),
                    },
                    sin6_scope_id: 0,
                };
                // SAFETY: as above, for sockaddr_in6.
                unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sa) };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        // SAFETY: packet and storage are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                &storage as *const _ as *const libc::sockaddr,
                len as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Waits up to `wait` for something to read.
    fn readable(&self, wait: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Round up so a sub-millisecond wait does not become a busy loop.
        let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        match r {
            r if r < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
            0 => Ok(false),
            _ => Ok(true),
        }
    }

    /// One datagram without blocking: its bytes and source, or `None`.
    fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, Option<IpAddr>)>> {
        // SAFETY: an all-zero sockaddr_storage is a valid value.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: buf and storage are valid for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                &mut storage as *mut _ as *mut libc::sockaddr,
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let from = match storage.ss_family as i32 {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in.
                let sa = unsafe { &*(&storage as *const _ as *const libc::sockaddr_in) };
                Some(IpAddr::V4(Ipv4Addr::from(sa.sin_addr.s_addr.to_ne_bytes())))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6.
                let sa = unsafe { &*(&storage as *const _ as *const libc::sockaddr_in6) };
                Some(IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr)))
            }
            _ => None,
        };
        Ok(Some((n as usize, from)))
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(v6: bool, ident: u16, seq: u16, token: u64) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&token.to_be_bytes());
    p.extend_from_slice(PAYLOAD_TAG);
    if !v6 {
        // ICMPv6 checksums cover a pseudo-header and are filled in by the kernel.
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// What one received packet means for this probe.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Reply(u16),
    /// An ICMP error about one of our requests (unreachable, TTL exceeded).
    Error(String),
    Other,
}

/// Interprets a received datagram (raw IPv4 ones start with the IP header).
fn classify(sock: &IcmpSocket, mut pkt: &[u8], ident: u16, token: u64) -> Seen {
    if sock.kind == Kind::Raw && !sock.v6 {
        let ihl = match pkt.first() {
            Some(b) => ((b & 0x0f) as usize) * 4,
            None => return Seen::Other,
        };
        pkt = match pkt.get(ihl..) {
            Some(p) => p,
            None => return Seen::Other,
        };
    }
    if pkt.len() < 8 {
        return Seen::Other;
    }
    let (ty, code) = (pkt[0], pkt[1]);
    let (reply_type, unreach, exceeded) = if sock.v6 { (129, 1, 3) } else { (0, 3, 11) };
    let ours = |icmp: &[u8], check_payload: bool| {
        icmp.len() >= 8
            && (sock.kind == Kind::Datagram || icmp[4..6] == ident.to_be_bytes())
            && (!check_payload || icmp.get(8..16) == Some(&token.to_be_bytes()[..]))
    };
    if ty == reply_type {
        if ours(pkt, true) {
            return Seen::Reply(u16::from_be_bytes([pkt[6], pkt[7]]));
        }
        return Seen::Other;
    }
    if sock.kind == Kind::Raw && (ty == unreach || ty == exceeded) {
        // The error quotes our request: its IP header, then at least 8 bytes.
        let inner = &pkt[8..];
        let inner_icmp = if sock.v6 {
            inner.get(40..)
        } else {
            inner
                .first()
                .and_then(|b| inner.get(((b & 0x0f) as usize) * 4..))
        };
        if let Some(icmp) = inner_icmp
            && icmp.first() == Some(&if sock.v6 { 128 } else { 8 })
            && ours(icmp, false)
        {
            let what = if ty == exceeded {
                "time to live exceeded"
            } else {
                match (sock.v6, code) {
                    (false, 0) | (true, 0) => "network unreachable",
                    (false, 1) | (true, 3) => "host unreachable",
                    (false, 13) | (true, 1) => "administratively prohibited",
                    _ => "destination unreachable",
                }
            };
            return Seen::Error(what.to_string());
        }
    }
    Seen::Other
}

pub(crate) fn run(spec: &PingSpec, deadline: Deadline) -> Outcome {
    let addrs = match resolve(&spec.host, 0, &deadline) {
        Ok(a) => a,
        Err(e) => return Outcome::down(describe(&e)),
    };
    // IPv4 first: it works on every host; IPv6 when the name has only that.
    let target = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(|a| a.ip())
        .expect("resolve never returns an empty list");
    let sock = match IcmpSocket::open(target.is_ipv6()) {
        Ok(s) => s,
        Err(e) => return Outcome::down(e),
    };
    let count = spec.count.clamp(1, crate::MAX_PING_COUNT) as u16;
    let random = std::collections::hash_map::RandomState::new();
    let token = random.hash_one((SystemTime::now(), target));
    let ident = (token >> 48) as u16;
    let interval = (deadline.timeout() / (2 * u32::from(count))).min(MAX_INTERVAL);

    let mut sent_at: HashMap<u16, Instant> = HashMap::new();
    let mut rtts: Vec<Duration> = Vec::new();
    let mut icmp_error: Option<String> = None;
    let mut sent: u16 = 0;
    let mut next_send = Instant::now();
    let mut buf = [0u8; 1500];
    loop {
        if sent == count && rtts.len() == usize::from(count) {
            break;
        }
        let now = Instant::now();
        let left = deadline.remaining();
        if left.is_zero() {
            break;
        }
        if sent < count && now >= next_send {
            let seq = sent + 1;
            if let Err(e) = sock.send_to(&echo_request(sock.v6, ident, seq, token), target) {
                if rtts.is_empty() {
                    return Outcome::down(format!("cannot send to {target}: {e}"));
                }
                break;
            }
            sent_at.insert(seq, Instant::now());
            sent += 1;
            next_send += interval;
            continue;
        }
        let wait = if sent < count {
            next_send.saturating_duration_since(now).min(left)
        } else {
            left
        };
        match sock.readable(wait) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(e) => return Outcome::down(format!("waiting for ICMP replies: {e}")),
        }
        loop {
            let (n, from) = match sock.recv(&mut buf) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(e) => return Outcome::down(format!("receiving ICMP replies: {e}")),
            };
            match classify(&sock, &buf[..n], ident, token) {
                Seen::Reply(seq) if from.is_none_or(|f| f == target) => {
                    if let Some(at) = sent_at.remove(&seq) {
                        rtts.push(at.elapsed());
                    }
                }
                Seen::Error(what) => {
                    let by = from
                        .map(|f| format!(" (reported by {f})"))
                        .unwrap_or_default();
                    icmp_error.get_or_insert(format!("{what}{by}"));
                }
                _ => {}
            }
        }
    }

    let sent = usize::from(sent);
    let received = rtts.len();
    let loss = 100.0 * (sent - received) as f64 / sent.max(1) as f64;
    let kind = match sock.kind {
        Kind::Datagram => "icmp datagram socket",
        Kind::Raw => "raw socket",
    };
    if received == 0 {
        let why = icmp_error
            .unwrap_or_else(|| format!("no reply within {} ms", deadline.timeout().as_millis()));
        return Outcome {
            detail: Some(format!(
                "0/{sent} replies from {target}, 100% loss ({kind})"
            )),
            ..Outcome::down(format!("{target}: {why}"))
        };
    }
    let total: Duration = rtts.iter().sum();
    let avg = ms(total) / received as f64;
    let min = rtts.iter().min().map(|d| ms(*d)).unwrap_or(0.0);
    let max = rtts.iter().max().map(|d| ms(*d)).unwrap_or(0.0);
    Outcome {
        up: true,
        latency_ms: Some(avg),
        detail: Some(format!(
            "{received}/{sent} replies from {target}, {loss:.0}% loss, \
             rtt min/avg/max {min:.3}/{avg:.3}/{max:.3} ms ({kind})"
        )),
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_packet() {
        // Echo request id 1 seq 1, no payload: 0x0800 + 0x0001 + 0x0001.
        let p = [8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(checksum(&p), !0x0802);
        let mut q = echo_request(false, 0x1234, 7, 42);
        assert_eq!(checksum(&q), 0, "a packet with its checksum sums to zero");
        q[1] = 1;
        assert_ne!(checksum(&q), 0);
    }
}
