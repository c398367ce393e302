//! Traffic, packets, errors and drops per network interface from
//! `/proc/net/dev`. The loopback interface is skipped: its traffic never
//! leaves the host.

use std::collections::HashMap;
use std::time::Instant;

use lxmon_proto::{MAX_LABEL_VALUE_LEN, Sample};

use super::{
    CollectError, Collector, Ctx, Output, counter_rate, elapsed_since, next_u64, read_into,
};

/// The counters of one interface the agent uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfaceCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_drops: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_drops: u64,
}

/// One interface line of `/proc/net/dev`; `None` for the two header lines.
pub fn parse_line(line: &str) -> Option<(&str, IfaceCounters)> {
    // Old kernels glue a long counter to the colon ("eth0:123"), so split on
    // the colon rather than on whitespace.
    let (name, rest) = line.split_once(':')?;
    let mut f = rest.split_ascii_whitespace();
    let rx_bytes = next_u64(&mut f)?;
    let rx_packets = next_u64(&mut f)?;
    let rx_errors = next_u64(&mut f)?;
    let rx_drops = next_u64(&mut f)?;
    let _fifo = f.next()?;
    let _frame = f.next()?;
    let _compressed = f.next()?;
    let _multicast = f.next()?;
    let tx_bytes = next_u64(&mut f)?;
    let tx_packets = next_u64(&mut f)?;
    let tx_errors = next_u64(&mut f)?;
    let tx_drops = next_u64(&mut f)?;
    Some((
        name.trim(),
        IfaceCounters {
            rx_bytes,
            rx_packets,
            rx_errors,
            rx_drops,
            tx_bytes,
            tx_packets,
            tx_errors,
            tx_drops,
        },
    ))
}

/// `net.*` series, one set per interface.
pub struct NetworkCollector {
    buf: String,
    prev: HashMap<String, (IfaceCounters, u64)>,
    prev_at: Option<Instant>,
    round: u64,
}

impl NetworkCollector {
    pub fn new() -> NetworkCollector {
        NetworkCollector {
            buf: String::with_capacity(4096),
            prev: HashMap::new(),
            prev_at: None,
            round: 0,
        }
    }

    fn emit(&mut self, now: Instant, text: &str, out: &mut Vec<Sample>) {
        self.round += 1;
        let elapsed = elapsed_since(self.prev_at, now);
        for (name, cur) in text.lines().filter_map(parse_line) {
            // Names become label values; the kernel allows odd bytes in them.
            if name == "lo"
                || name.len() > MAX_LABEL_VALUE_LEN
                || name.chars().any(char::is_control)
            {
                continue;
            }
            let before = match self.prev.get_mut(name) {
                Some(entry) => {
                    let before = (entry.1 + 1 == self.round).then_some(entry.0);
                    *entry = (cur, self.round);
                    before
                }
                None => {
                    self.prev.insert(name.to_owned(), (cur, self.round));
                    None
                }
            };
            let sample = |metric: &str, v: f64| Sample::new(metric, v).with_label("iface", name);
            if let (Some(p), Some(secs)) = (before, elapsed) {
                let rates = [
                    ("net.rx_bytes_per_sec", p.rx_bytes, cur.rx_bytes),
                    ("net.tx_bytes_per_sec", p.tx_bytes, cur.tx_bytes),
                    ("net.rx_packets_per_sec", p.rx_packets, cur.rx_packets),
                    ("net.tx_packets_per_sec", p.tx_packets, cur.tx_packets),
                ];
                for (metric, was, is) in rates {
                    if let Some(r) = counter_rate(was, is, secs) {
                        out.push(sample(metric, r));
                    }
                }
            }
            out.push(sample("net.rx_errors_total", cur.rx_errors as f64));
            out.push(sample("net.tx_errors_total", cur.tx_errors as f64));
            out.push(sample("net.rx_drops_total", cur.rx_drops as f64));
            out.push(sample("net.tx_drops_total", cur.tx_drops as f64));
        }
        let round = self.round;
        self.prev.retain(|_, (_, seen)| *seen == round);
        self.prev_at = Some(now);
    }
}

impl Default for NetworkCollector {
    fn default() -> Self {
        NetworkCollector::new()
    }
}

impl Collector for NetworkCollector {
    fn name(&self) -> &'static str {
        "network"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        let mut text = std::mem::take(&mut self.buf);
        let result = read_into(&ctx.proc_root.join("net/dev"), &mut text);
        if result.is_ok() {
            self.emit(ctx.now, &text, &mut out.samples);
        }
        self.buf = text;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{snapshot_ctx, value};

    #[test]
    fn parses_lines_including_glued_counters() {
        let (name, c) = parse_line("  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0").unwrap();
        assert_eq!(name, "eth0");
        assert_eq!(
            (c.rx_bytes, c.rx_packets, c.rx_errors, c.rx_drops),
            (1000, 10, 1, 2)
        );
        assert_eq!(
            (c.tx_bytes, c.tx_packets, c.tx_errors, c.tx_drops),
            (2000, 20, 3, 4)
        );
        let (name, c) = parse_line("eth1:4294967296 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0").unwrap();
        assert_eq!((name, c.rx_bytes), ("eth1", 4_294_967_296));
        assert!(parse_line("Inter-|   Receive                            |  Transmit").is_none());
        assert!(
            parse_line(" face |bytes    packets errs drop fifo frame compressed multicast|bytes")
                .is_none()
        );
    }

    #[test]
    fn rates_and_totals_from_fixture_snapshots() {
        let base = Instant::now();
        let mut c = NetworkCollector::new();
        let mut out = Output::default();
        c.collect(&snapshot_ctx("t0", base, 0), &mut out).unwrap();
        assert!(out.samples.iter().all(|s| !s.name.ends_with("_per_sec")));
        assert!(out.samples.iter().all(|s| s.labels["iface"] != "lo"));
        assert_eq!(
            value(&out.samples, "net.rx_errors_total", Some(("iface", "ens3"))),
            Some(3.0)
        );

        let mut out = Output::default();
        c.collect(&snapshot_ctx("t1", base, 10), &mut out).unwrap();
        let ens3 = |m| value(&out.samples, m, Some(("iface", "ens3")));
        assert_eq!(ens3("net.rx_bytes_per_sec"), Some(125_000.0));
        assert_eq!(ens3("net.tx_bytes_per_sec"), Some(31_250.0));
        assert_eq!(ens3("net.rx_packets_per_sec"), Some(100.0));
        assert_eq!(ens3("net.tx_packets_per_sec"), Some(60.0));
        assert_eq!(ens3("net.rx_drops_total"), Some(12.0));
        // docker0's tx counter went backwards in t1 (interface recreated):
        // no tx rate, the rx rate is still there.
        let docker = |m| value(&out.samples, m, Some(("iface", "docker0")));
        assert_eq!(docker("net.tx_bytes_per_sec"), None);
        assert_eq!(docker("net.rx_bytes_per_sec"), Some(10.0));
    }
}
