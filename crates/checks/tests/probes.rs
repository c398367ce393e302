//! TCP, ping and DNS checks against real sockets on this machine.
//!
//! Destinations that must not answer are made inside a private network
//! namespace created by the test (root only): its own loopback, a blackhole
//! route or a veth pair whose far end is also inside it. Nothing leaves the
//! machine and the host's network configuration is not touched; the
//! namespace disappears when its thread ends.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use lxmon_checks::{CheckSpec, DnsSpec, Outcome, PingSpec, RecordType, TcpSpec, run};

const MARGIN: Duration = Duration::from_millis(700);

/// Runs `f` on a fresh thread inside a private network namespace, after
/// `ip lo up` and `ip <each of setup>` there. `None` (test skipped) when not
/// root: creating a network namespace needs CAP_SYS_ADMIN.
fn in_private_netns<T: Send + 'static>(
    setup: &[&str],
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: a private network namespace needs root");
        return None;
    }
    let setup: Vec<String> = setup.iter().map(|s| s.to_string()).collect();
    let t = thread::spawn(move || {
        // Only this thread (and what it spawns) moves to the new namespace.
        // SAFETY: unshare(2) with a flag allowed in multi-threaded processes.
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            r,
            0,
            "unshare(CLONE_NEWNET): {}",
            io::Error::last_os_error()
        );
        for cmd in std::iter::once("link set lo up").chain(setup.iter().map(String::as_str)) {
            let out = Command::new("ip")
                .args(cmd.split_whitespace())
                .output()
                .expect("run ip (iproute2)");
            assert!(
                out.status.success(),
                "ip {cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        f()
    });
    Some(t.join().expect("netns thread panicked"))
}

/// A veth pair inside the namespace with 192.0.2.0/24 (TEST-NET-1) routed
/// into it: packets go out and nobody ever answers (ARP fails).
const SILENT_ROUTE: &[&str] = &[
    "link add lxck0 type veth peer name lxck1",
    "link set lxck0 up",
    "link set lxck1 up",
    "route add 192.0.2.0/24 dev lxck0",
];

fn timed(spec: CheckSpec, timeout: Duration) -> (Outcome, Duration) {
    let started = Instant::now();
    let o = run(&spec, timeout);
    (o, started.elapsed())
}

// ---- TCP ----

#[test]
fn tcp_open_port_is_up() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let spec = CheckSpec::Tcp(TcpSpec {
        host: "127.0.0.1".into(),
        port: port.into(),
    });
    let o = run(&spec, Duration::from_secs(2));
    assert!(o.up, "{o:?}");
    assert!(o.latency_ms.is_some());
    assert_eq!(o.detail, Some(format!("connected to 127.0.0.1:{port}")));

    // By name too.
    let spec = CheckSpec::Tcp(TcpSpec {
        host: "localhost".into(),
        port: port.into(),
    });
    assert!(run(&spec, Duration::from_secs(2)).up);
}

#[test]
fn tcp_closed_port_is_down() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = run(
        &CheckSpec::Tcp(TcpSpec {
            host: "127.0.0.1".into(),
            port: port.into(),
        }),
        Duration::from_secs(2),
    );
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(e.contains("refused"), "{e}");
}

#[test]
fn tcp_to_a_silent_address_times_out_within_the_timeout() {
    let Some((o, took)) = in_private_netns(SILENT_ROUTE, || {
        timed(
            CheckSpec::Tcp(TcpSpec {
                host: "192.0.2.1".into(),
                port: 80,
            }),
            Duration::from_millis(700),
        )
    }) else {
        return;
    };
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("no answer from 192.0.2.1:80 within 700 ms")
    );
    assert!(took < Duration::from_millis(700) + MARGIN, "took {took:?}");
}

// ---- ping ----

#[test]
fn ping_localhost_is_up() {
    let spec = CheckSpec::Ping(PingSpec::new("127.0.0.1"));
    let o = run(&spec, Duration::from_secs(3));
    assert!(o.up, "{o:?}");
    let d = o.detail.unwrap();
    assert!(d.starts_with("3/3 replies from 127.0.0.1, 0% loss"), "{d}");
    assert!(o.latency_ms.unwrap() > 0.0);
    assert_eq!(o.error, None);
}

#[test]
fn ping_ipv6_loopback_is_up() {
    let Some(o) = in_private_netns(&[], || {
        run(
            &CheckSpec::Ping(PingSpec {
                host: "::1".into(),
                count: 2,
            }),
            Duration::from_secs(3),
        )
    }) else {
        return;
    };
    assert!(o.up, "{o:?}");
    assert!(o.detail.unwrap().starts_with("2/2 replies from ::1"));
}

#[test]
fn ping_uses_the_unprivileged_socket_when_the_kernel_allows_it() {
    let Some(o) = in_private_netns(&[], || {
        // ping_group_range is per network namespace: this opens it for
        // every group in the private one only.
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647")
            .expect("set ping_group_range in the private namespace");
        run(
            &CheckSpec::Ping(PingSpec::new("127.0.0.1")),
            Duration::from_secs(3),
        )
    }) else {
        return;
    };
    assert!(o.up, "{o:?}");
    let d = o.detail.unwrap();
    assert!(d.ends_with("(icmp datagram socket)"), "{d}");
    // The host's own setting is untouched.
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    assert_ne!(
        host.split_whitespace().collect::<Vec<_>>(),
        ["0", "2147483647"]
    );
}

#[test]
fn ping_to_a_silent_test_net_address_times_out() {
    let timeout = Duration::from_millis(1000);
    let Some((o, took)) = in_private_netns(SILENT_ROUTE, move || {
        timed(CheckSpec::Ping(PingSpec::new("192.0.2.1")), timeout)
    }) else {
        return;
    };
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("192.0.2.1: no reply within 1000 ms")
    );
    assert!(
        o.detail
            .unwrap()
            .starts_with("0/3 replies from 192.0.2.1, 100% loss")
    );
    assert!(took >= timeout, "gave up early: {took:?}");
    assert!(took < timeout + MARGIN, "took {took:?}");
}

#[test]
fn ping_to_a_blackholed_address_fails_at_once() {
    let Some((o, took)) = in_private_netns(&["route add blackhole 192.0.2.0/24"], || {
        timed(
            CheckSpec::Ping(PingSpec::new("192.0.2.1")),
            Duration::from_secs(3),
        )
    }) else {
        return;
    };
    assert!(!o.up);
    let e = o.error.unwrap();
    // The kernel refuses to send into a blackhole route (EINVAL).
    assert!(e.starts_with("cannot send to 192.0.2.1: "), "{e}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

// ---- DNS ----

/// A tiny authoritative server for `*.test`, over UDP and TCP on one port.
fn dns_server() -> SocketAddr {
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            for packet in answer(&buf[..n], false) {
                let _ = udp.send_to(&packet, from);
            }
        }
    });
    thread::spawn(move || {
        for mut s in tcp.incoming().flatten() {
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
            if s.read_exact(&mut q).is_err() {
                continue;
            }
            if let Some(packet) = answer(&q, true).first() {
                let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(packet);
                let _ = s.write_all(&framed);
            }
        }
    });
    addr
}

fn name_bytes(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A resource record; `owner` None = a pointer to the question's name.
fn rr(owner: Option<&str>, rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut r = owner.map(name_bytes).unwrap_or_else(|| vec![0xc0, 12]);
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// The packets to send back for `query` (none: stay silent).
fn answer(query: &[u8], over_tcp: bool) -> Vec<Vec<u8>> {
    let mut pos = 12;
    let mut labels = Vec::new();
    while query[pos] != 0 {
        let n = query[pos] as usize;
        labels.push(String::from_utf8_lossy(&query[pos + 1..pos + 1 + n]).to_lowercase());
        pos += 1 + n;
    }
    let question = &query[12..pos + 5];
    let qtype = u16::from_be_bytes([query[pos + 1], query[pos + 2]]);
    let name = labels.join(".");
    let id = u16::from_be_bytes([query[0], query[1]]);
    let reply = |id: u16, flags: u16, records: &[Vec<u8>]| {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, records.len() as u8, 0, 0, 0, 0]);
        m.extend_from_slice(question);
        for r in records {
            m.extend_from_slice(r);
        }
        m
    };
    const OK: u16 = 0x8180;
    match (name.as_str(), qtype) {
        ("host.test", 1) => vec![reply(
            id,
            OK,
            &[rr(None, 1, &[192, 0, 2, 10]), rr(None, 1, &[192, 0, 2, 11])],
        )],
        ("alias.test", 1) => vec![reply(
            id,
            OK,
            &[
                rr(None, 5, &name_bytes("host.test")),
                rr(Some("host.test"), 1, &[192, 0, 2, 10]),
            ],
        )],
        ("mail.test", 15) => {
            // Preference 10, exchange "mx1" + pointer to "mail.test".
            vec![reply(
                id,
                OK,
                &[rr(None, 15, &[0, 10, 3, b'm', b'x', b'1', 0xc0, 12])],
            )]
        }
        ("big.test", 16) if !over_tcp => vec![reply(id, OK | 0x0200, &[])],
        ("big.test", 16) => {
            let mut txt = vec![7];
            txt.extend_from_slice(b"v=spf1 ");
            txt.push(4);
            txt.extend_from_slice(b"-all");
            vec![reply(id, OK, &[rr(None, 16, &txt)])]
        }
        ("spoof.test", 1) => vec![
            reply(id ^ 0x5555, OK, &[rr(None, 1, &[6, 6, 6, 6])]),
            reply(id, OK, &[rr(None, 1, &[192, 0, 2, 20])]),
        ],
        ("silent.test", _) => vec![],
        _ => vec![reply(id, 0x8183, &[])],
    }
}

fn dns(server: SocketAddr, name: &str, rt: RecordType, expected: Option<&str>) -> Outcome {
    let spec = DnsSpec {
        name: name.into(),
        record_type: rt,
        expected: expected.map(str::to_string),
        resolver: Some(server.to_string()),
    };
    run(&CheckSpec::Dns(spec), Duration::from_secs(3))
}

#[test]
fn dns_expected_answer_matched() {
    let server = dns_server();
    let o = dns(server, "host.test", RecordType::A, Some("192.0.2.11"));
    assert!(o.up, "{o:?}");
    assert_eq!(
        o.detail,
        Some(format!("A host.test: 192.0.2.10, 192.0.2.11 from {server}"))
    );
    // No expectation: any answer will do.
    assert!(dns(server, "HOST.test.", RecordType::A, None).up);
}

#[test]
fn dns_expected_answer_not_matched() {
    let server = dns_server();
    let o = dns(server, "host.test", RecordType::A, Some("192.0.2.99"));
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("\"192.0.2.99\" is not among the A answers for host.test: 192.0.2.10, 192.0.2.11")
    );
}

#[test]
fn dns_nxdomain_is_down() {
    let server = dns_server();
    let o = dns(server, "nope.test", RecordType::A, None);
    assert!(!o.up);
    assert_eq!(
        o.error.as_deref(),
        Some("nope.test: NXDOMAIN (the name does not exist)")
    );
}

#[test]
fn dns_cname_chain_and_mx() {
    let server = dns_server();
    let o = dns(server, "alias.test", RecordType::A, Some("192.0.2.10"));
    assert!(o.up, "{o:?}");
    assert!(o.detail.unwrap().contains("via CNAME host.test"));

    let o = dns(server, "mail.test", RecordType::Mx, Some("mx1.mail.test."));
    assert!(o.up, "{o:?}");
    assert!(o.detail.unwrap().contains("MX mail.test: 10 mx1.mail.test"));

    // The name exists but has no record of that type.
    let o = dns(server, "mail.test", RecordType::Aaaa, None);
    assert!(!o.up);
}

#[test]
fn dns_truncated_answer_is_retried_over_tcp() {
    let server = dns_server();
    let o = dns(server, "big.test", RecordType::Txt, Some("spf1"));
    assert!(o.up, "{o:?}");
    let d = o.detail.unwrap();
    assert!(d.contains("\"v=spf1 -all\""), "{d}");
    assert!(d.contains("over TCP: the UDP answer was truncated"), "{d}");
}

#[test]
fn dns_truncated_answer_without_tcp_is_reported() {
    // A UDP-only server that always sets TC.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let mut r = buf[..n].to_vec();
            r[2] = 0x83; // QR, TC, RD
            r[3] = 0x80;
            let _ = udp.send_to(&r, from);
        }
    });
    let o = dns(addr, "big.test", RecordType::Txt, None);
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(
        e.starts_with("answer truncated over UDP and the TCP retry failed: "),
        "{e}"
    );
}

#[test]
fn dns_reply_with_the_wrong_id_is_ignored() {
    let server = dns_server();
    let o = dns(server, "spoof.test", RecordType::A, None);
    assert!(o.up, "{o:?}");
    assert!(o.detail.unwrap().contains(": 192.0.2.20 from"));
}

#[test]
fn dns_silent_server_times_out_within_the_timeout() {
    let server = dns_server();
    let spec = CheckSpec::Dns(DnsSpec {
        resolver: Some(server.to_string()),
        ..DnsSpec::new("silent.test", RecordType::A)
    });
    let (o, took) = timed(spec, Duration::from_millis(1500));
    assert!(!o.up);
    assert_eq!(
        o.error,
        Some(format!("no answer from {server} within 1500 ms"))
    );
    assert!(took < Duration::from_millis(1500) + MARGIN, "took {took:?}");
}

#[test]
fn dns_nothing_listening_is_down() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = dns(
        format!("127.0.0.1:{port}").parse().unwrap(),
        "host.test",
        RecordType::A,
        None,
    );
    assert!(!o.up);
    let e = o.error.unwrap();
    assert!(e.contains("refused the query"), "{e}");
}
