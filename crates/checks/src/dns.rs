//! A minimal DNS client (RFC 1035) and the DNS check: one question over UDP,
//! retransmitted with backoff until the deadline, retried over TCP when the
//! answer comes back truncated.

use std::fmt;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use crate::net::{DeadlineStream, connect, describe};
use crate::{Deadline, DnsSpec, Outcome, ms};

const RESOLV_CONF: &str = "/etc/resolv.conf";
/// The UDP payload size announced with EDNS(0) (the DNS flag day value).
const EDNS_UDP_SIZE: u16 = 1232;
const TYPE_CNAME: u16 = 5;
const TYPE_OPT: u16 = 41;

/// `"ip"`, `"ip:port"`, `"[v6]"` or `"[v6]:port"`; port 53 by default.
pub(crate) fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<Ipv6Addr>()
    {
        return Ok(SocketAddr::new(IpAddr::V6(ip), 53));
    }
    match s.parse::<SocketAddr>() {
        Ok(a) if a.port() != 0 => Ok(a),
        Ok(_) => Err(format!("resolver {s:?}: port must be between 1 and 65535")),
        Err(_) => Err(format!(
            "resolver {s:?} is not an IP address or ip:port (host names are not accepted)"
        )),
    }
}

/// The first usable `nameserver` line of `/etc/resolv.conf`.
fn system_resolver() -> Result<SocketAddr, String> {
    let text = std::fs::read_to_string(RESOLV_CONF)
        .map_err(|e| format!("no resolver given and {RESOLV_CONF} unreadable: {e}"))?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.split_whitespace().next())
        .find_map(|ip| ip.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .ok_or_else(|| format!("no resolver given and no nameserver in {RESOLV_CONF}"))
}

fn random_id() -> u16 {
    // RandomState is seeded from the OS once per thread and differs per call.
    std::collections::hash_map::RandomState::new().hash_one(SystemTime::now()) as u16
}

fn encode_name(name: &str, out: &mut Vec<u8>) {
    let name = name.strip_suffix('.').unwrap_or(name);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn build_query(id: u16, name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0, 0, 0, 0]); // ANCOUNT, NSCOUNT
    q.extend_from_slice(&(edns as u16).to_be_bytes()); // ARCOUNT
    encode_name(name, &mut q);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    if edns {
        q.push(0); // root
        q.extend_from_slice(&TYPE_OPT.to_be_bytes());
        q.extend_from_slice(&EDNS_UDP_SIZE.to_be_bytes());
        q.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // ext. RCODE/flags, RDLENGTH
    }
    q
}

/// One answer value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Ip(IpAddr),
    Name(String),
    Mx(u16, String),
    Txt(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Ip(ip) => write!(f, "{ip}"),
            Answer::Name(n) => f.write_str(n),
            Answer::Mx(p, n) => write!(f, "{p} {n}"),
            Answer::Txt(t) => write!(f, "{t:?}"),
        }
    }
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Answer {
    /// Whether this answer is what the check's `expected` asks for.
    fn matches(&self, expected: &str) -> bool {
        let expected = expected.trim();
        match self {
            Answer::Ip(ip) => match expected.parse::<IpAddr>() {
                Ok(e) => e == *ip,
                Err(_) => false,
            },
            Answer::Name(n) => normalize(n) == normalize(expected),
            Answer::Mx(p, n) => match expected.split_once(char::is_whitespace) {
                Some((pref, host)) => {
                    pref.parse::<u16>() == Ok(*p) && normalize(host) == normalize(n)
                }
                None => normalize(expected) == normalize(n),
            },
            Answer::Txt(t) => t.contains(expected),
        }
    }
}

#[derive(Debug)]
struct Reply {
    rcode: u8,
    truncated: bool,
    /// Values of records of the asked type, in answer order.
    answers: Vec<Answer>,
    /// CNAME targets met on the way (when the type asked is not CNAME).
    cnames: Vec<String>,
}

struct Parser<'a> {
    msg: &'a [u8],
}

fn malformed(what: &str) -> String {
    format!("malformed DNS response: {what}")
}

impl Parser<'_> {
    fn u16_at(&self, pos: usize) -> Result<u16, String> {
        self.msg
            .get(pos..pos + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| malformed("truncated"))
    }

    /// A possibly compressed name at `pos`: the name and the position after it.
    fn name(&self, mut pos: usize) -> Result<(String, usize), String> {
        let mut name = String::new();
        let mut end = None;
        let mut jumps = 0;
        loop {
            let len = *self
                .msg
                .get(pos)
                .ok_or_else(|| malformed("name runs past the end"))?;
            match len & 0xc0 {
                0xc0 => {
                    let b = *self
                        .msg
                        .get(pos + 1)
                        .ok_or_else(|| malformed("bad pointer"))?;
                    end.get_or_insert(pos + 2);
                    jumps += 1;
                    if jumps > 64 {
                        return Err(malformed("compression loop"));
                    }
                    pos = (((len & 0x3f) as usize) << 8) | b as usize;
                }
                0x00 if len == 0 => {
                    if name.is_empty() {
                        name.push('.');
                    }
                    return Ok((name, end.unwrap_or(pos + 1)));
                }
                0x00 => {
                    let label = self
                        .msg
                        .get(pos + 1..pos + 1 + len as usize)
                        .ok_or_else(|| malformed("label runs past the end"))?;
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push_str(&String::from_utf8_lossy(label));
                    if name.len() > 255 {
                        return Err(malformed("name too long"));
                    }
                    pos += 1 + len as usize;
                }
                _ => return Err(malformed("unknown label type")),
            }
        }
    }
}

/// Parses a response to (`id`, `name`, `qtype`). `Ok(None)`: not a response
/// to this query (wrong ID or question), to be ignored.
fn parse_reply(msg: &[u8], id: u16, name: &str, qtype: u16) -> Result<Option<Reply>, String> {
    let p = Parser { msg };
    if msg.len() < 12 || p.u16_at(0)? != id {
        return Ok(None);
    }
    let flags = p.u16_at(2)?;
    if flags & 0x8000 == 0 {
        return Ok(None); // a query, not a response
    }
    let qdcount = p.u16_at(4)?;
    let ancount = p.u16_at(6)?;
    let mut pos = 12;
    for i in 0..qdcount {
        let (qname, next) = p.name(pos)?;
        let qt = p.u16_at(next)?;
        if i == 0 && (normalize(&qname) != normalize(name) || qt != qtype) {
            return Ok(None);
        }
        pos = next + 4;
    }
    let rcode = (flags & 0x000f) as u8;
    let truncated = flags & 0x0200 != 0;
    let mut reply = Reply {
        rcode,
        truncated,
        answers: Vec::new(),
        cnames: Vec::new(),
    };
    for _ in 0..ancount {
        let parsed = (|| -> Result<usize, String> {
            let (_owner, next) = p.name(pos)?;
            let rtype = p.u16_at(next)?;
            let rdlen = p.u16_at(next + 8)? as usize;
            let start = next + 10;
            let rdata = msg
                .get(start..start + rdlen)
                .ok_or_else(|| malformed("record data runs past the end"))?;
            let value = match rtype {
                1 if rdlen == 4 => Some(Answer::Ip(IpAddr::V4(Ipv4Addr::new(
                    rdata[0], rdata[1], rdata[2], rdata[3],
                )))),
                28 if rdlen == 16 => {
                    let b: [u8; 16] = rdata.try_into().map_err(|_| malformed("AAAA"))?;
                    Some(Answer::Ip(IpAddr::V6(Ipv6Addr::from(b))))
                }
                2 | 5 => Some(Answer::Name(p.name(start)?.0)),
                15 if rdlen >= 3 => Some(Answer::Mx(p.u16_at(start)?, p.name(start + 2)?.0)),
                16 => {
                    let mut text = Vec::new();
                    let mut i = 0;
                    while i < rdata.len() {
                        let n = rdata[i] as usize;
                        let s = rdata
                            .get(i + 1..i + 1 + n)
                            .ok_or_else(|| malformed("TXT string runs past the end"))?;
                        text.extend_from_slice(s);
                        i += 1 + n;
                    }
                    Some(Answer::Txt(String::from_utf8_lossy(&text).into_owned()))
                }
                _ => None,
            };
            if let Some(v) = value {
                if rtype == qtype {
                    reply.answers.push(v);
                } else if rtype == TYPE_CNAME
                    && let Answer::Name(n) = v
                {
                    reply.cnames.push(n);
                }
            }
            Ok(start + rdlen)
        })();
        match parsed {
            Ok(next) => pos = next,
            // A truncated UDP answer may end in the middle of a record.
            Err(_) if truncated => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Some(reply))
}

fn rcode_text(rcode: u8) -> String {
    match rcode {
        1 => "FORMERR (the resolver could not parse the query)".into(),
        2 => "SERVFAIL (the resolver failed to get an answer)".into(),
        3 => "NXDOMAIN (the name does not exist)".into(),
        4 => "NOTIMP (the resolver does not support this query)".into(),
        5 => "REFUSED (the resolver refused to answer)".into(),
        n => format!("response code {n}"),
    }
}

fn io_failure(what: &str, e: &io::Error, server: SocketAddr, deadline: &Deadline) -> String {
    if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock {
        format!(
            "no answer from {server} within {} ms",
            deadline.timeout().as_millis()
        )
    } else if e.kind() == io::ErrorKind::ConnectionRefused {
        format!("{server} refused the query ({what}: nothing listening)")
    } else {
        format!("{what} {server}: {}", describe(e))
    }
}

/// UDP exchange: sends and resends (1 s, 2 s, 4 s, ...) until a matching
/// reply arrives or the deadline passes.
fn query_udp(
    server: SocketAddr,
    query: &[u8],
    name: &str,
    qtype: u16,
    deadline: &Deadline,
) -> Result<Reply, String> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let fail = |e: io::Error| io_failure("querying", &e, server, deadline);
    let sock = UdpSocket::bind(bind).map_err(fail)?;
    // Connected: the kernel drops datagrams from any other address.
    sock.connect(server).map_err(fail)?;
    let mut buf = vec![0u8; 65535];
    let mut wait = Duration::from_secs(1);
    loop {
        sock.send(query).map_err(fail)?;
        let resend_at = Instant::now() + wait;
        loop {
            let left = deadline.left().map_err(fail)?;
            let until_resend = resend_at.saturating_duration_since(Instant::now());
            if until_resend.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left.min(until_resend)))
                .map_err(fail)?;
            match sock.recv(&mut buf) {
                Ok(n) => {
                    if let Some(reply) = parse_reply(&buf[..n], id, name, qtype)? {
                        return Ok(reply);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(fail(e)),
            }
        }
        wait *= 2;
    }
}

/// TCP exchange (RFC 7766): two-byte length prefix each way.
fn query_tcp(
    server: SocketAddr,
    query: &[u8],
    name: &str,
    qtype: u16,
    deadline: &Deadline,
) -> Result<Reply, String> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let fail = |e: io::Error| io_failure("querying over TCP", &e, server, deadline);
    let tcp = connect(&[server], deadline).map_err(fail)?;
    let mut s = DeadlineStream {
        inner: tcp,
        deadline: *deadline,
    };
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    s.write_all(&framed).map_err(fail)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).map_err(fail)?;
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).map_err(fail)?;
    parse_reply(&msg, id, name, qtype)?
        .ok_or_else(|| format!("{server} answered a different question over TCP"))
}

pub(crate) fn run(spec: &DnsSpec, deadline: Deadline) -> Outcome {
    let server = match spec.resolver.as_deref() {
        Some(r) => parse_resolver(r),
        None => system_resolver(),
    };
    let server = match server {
        Ok(s) => s,
        Err(e) => return Outcome::down(e),
    };
    let rt = spec.record_type;
    let qtype = rt.code();
    let name = spec.name.trim();
    let started = Instant::now();
    let mut reply = match query_udp(
        server,
        &build_query(random_id(), name, qtype, true),
        name,
        qtype,
        &deadline,
    ) {
        // Old servers may reject EDNS with FORMERR: ask once more without it.
        Ok(r) if r.rcode == 1 => query_udp(
            server,
            &build_query(random_id(), name, qtype, false),
            name,
            qtype,
            &deadline,
        ),
        other => other,
    };
    let mut note = String::new();
    if let Ok(r) = &reply
        && r.truncated
    {
        reply = query_tcp(
            server,
            &build_query(random_id(), name, qtype, false),
            name,
            qtype,
            &deadline,
        )
        .map_err(|e| format!("answer truncated over UDP and the TCP retry failed: {e}"));
        note = " (over TCP: the UDP answer was truncated)".into();
    }
    let latency = ms(started.elapsed());
    let reply = match reply {
        Ok(r) => r,
        Err(e) => return Outcome::down(e),
    };
    let via = if reply.cnames.is_empty() {
        String::new()
    } else {
        format!(" via CNAME {}", reply.cnames.join(" -> "))
    };
    let values = reply
        .answers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let detail = format!("{rt} {name}{via}: {values}{note} from {server}");
    let mut out = Outcome {
        up: false,
        latency_ms: Some(latency),
        detail: Some(detail),
        ..Outcome::default()
    };
    if reply.rcode != 0 {
        out.detail = Some(format!(
            "{rt} {name}: {} from {server}",
            rcode_text(reply.rcode)
        ));
        out.error = Some(format!("{name}: {}", rcode_text(reply.rcode)));
    } else if reply.truncated {
        out.error = Some(format!("{name}: answer truncated even over TCP"));
    } else if reply.answers.is_empty() {
        out.error = Some(format!("no {rt} record for {name}{via}"));
    } else if let Some(expected) = &spec.expected
        && !reply.answers.iter().any(|a| a.matches(expected))
    {
        out.error = Some(format!(
            "{expected:?} is not among the {rt} answers for {name}: {values}"
        ));
    } else {
        out.up = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolvers() {
        assert_eq!(
            parse_resolver("10.0.0.1").unwrap(),
            "10.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("10.0.0.1:5353").unwrap(),
            "10.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(parse_resolver("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_resolver("[::1]:54").unwrap(),
            "[::1]:54".parse().unwrap()
        );
        assert!(parse_resolver("dns.google").is_err());
        assert!(parse_resolver("10.0.0.1:0").is_err());
    }

    #[test]
    fn query_bytes() {
        let q = build_query(0xabcd, "a.bc.", 1, false);
        assert_eq!(
            q,
            [
                0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 2, b'b', b'c', 0, 0, 1, 0, 1
            ]
        );
    }

    #[test]
    fn compressed_answers_and_loops() {
        // Response to "a.bc" MX with one MX answer whose exchange is a pointer.
        let mut m = build_query(7, "a.bc", 15, false);
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 1; // ANCOUNT
        m.extend_from_slice(&[
            0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, b'm', b'x', 0xc0, 12,
        ]);
        let r = parse_reply(&m, 7, "A.BC.", 15).unwrap().unwrap();
        assert_eq!(r.answers, vec![Answer::Mx(10, "mx.a.bc".into())]);
        assert!(r.answers[0].matches("10 MX.a.bc."));
        assert!(r.answers[0].matches("mx.a.bc"));
        assert!(!r.answers[0].matches("20 mx.a.bc"));
        // Wrong ID and wrong question are ignored, not errors.
        assert!(parse_reply(&m, 8, "a.bc", 15).unwrap().is_none());
        assert!(parse_reply(&m, 7, "b.bc", 15).unwrap().is_none());
        // A pointer to itself is an error, not a hang.
        let mut l = m.clone();
        let at = l.len() - 2;
        l[at + 1] = at as u8;
        assert!(parse_reply(&l, 7, "a.bc", 15).is_err());
    }
}
