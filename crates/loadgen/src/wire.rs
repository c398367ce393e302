//! Report bodies as they travel: JSON compressed with the protocol's zstd
//! dictionary, or against the agent's previous report as live agents send
//! them, one report per request, or NDJSON batches bounded like the server
//! bounds them.

use bytes::Bytes;
use lxmon_proto::compress::{compress_against, compress_with_dict};
use lxmon_proto::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, Report};

/// A request body ready to send.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The compressed body (what goes on the wire).
    pub body: Bytes,
    /// Reports in it (1, or the records of a batch).
    pub reports: u64,
    /// Samples in it.
    pub samples: u64,
    /// Uncompressed JSON bytes.
    pub json_bytes: u64,
    /// Compressed against this report of the agent (`report:<seq>`), not
    /// with the shared dictionary.
    pub base_seq: Option<u64>,
}

/// The compressor's output keeps the capacity of its worst-case bound;
/// pre-built bodies are held by the hundred thousand, so drop the slack.
fn shrunk(mut body: Vec<u8>) -> Bytes {
    body.shrink_to_fit();
    Bytes::from(body)
}

/// One report, as `POST /api/agent/metrics` takes it.
pub fn encode_report(report: &Report) -> Encoded {
    encode_report_against(report, None).0
}

/// One report compressed against `base` (the seq and exact JSON of the
/// agent's last acknowledged report) when given, as `lxmon-agent` sends
/// live reports, else with the shared dictionary. Also returns the report's
/// JSON: the base of the next one.
pub fn encode_report_against(report: &Report, base: Option<(u64, &[u8])>) -> (Encoded, Vec<u8>) {
    let json = serde_json::to_vec(report).expect("a report always serializes");
    let body = match base {
        Some((_, base)) => compress_against(&json, base),
        None => compress_with_dict(&json),
    };
    let encoded = Encoded {
        body: shrunk(body),
        reports: 1,
        samples: report.metrics.len() as u64,
        json_bytes: json.len() as u64,
        base_seq: base.map(|(seq, _)| seq),
    };
    (encoded, json)
}

/// Reports (oldest first) as NDJSON batches for
/// `POST /api/agent/metrics/batch`: each at most [`MAX_BATCH_RECORDS`]
/// records and [`MAX_BATCH_BYTES`] before compression.
pub fn encode_batches(reports: &[Report]) -> Vec<Encoded> {
    encode_batches_bounded(reports, MAX_BATCH_RECORDS, MAX_BATCH_BYTES)
}

/// [`encode_batches`] with explicit bounds (tests use small ones).
pub fn encode_batches_bounded(
    reports: &[Report],
    max_records: usize,
    max_bytes: usize,
) -> Vec<Encoded> {
    let mut out = Vec::new();
    let mut ndjson: Vec<u8> = Vec::new();
    let (mut records, mut samples) = (0u64, 0u64);
    let flush =
        |ndjson: &mut Vec<u8>, records: &mut u64, samples: &mut u64, out: &mut Vec<Encoded>| {
            if *records > 0 {
                out.push(Encoded {
                    body: shrunk(compress_with_dict(ndjson)),
                    reports: *records,
                    samples: *samples,
                    json_bytes: ndjson.len() as u64,
                    base_seq: None,
                });
            }
            ndjson.clear();
            *records = 0;
            *samples = 0;
        };
    for report in reports {
        let mut line = serde_json::to_vec(report).expect("a report always serializes");
        line.push(b'\n');
        assert!(
            line.len() <= max_bytes,
            "one report is larger than a whole batch"
        );
        if records as usize == max_records || ndjson.len() + line.len() > max_bytes {
            flush(&mut ndjson, &mut records, &mut samples, &mut out);
        }
        ndjson.extend_from_slice(&line);
        records += 1;
        samples += report.metrics.len() as u64;
    }
    flush(&mut ndjson, &mut records, &mut samples, &mut out);
    out
}

/// Wire size of reports read from text: one JSON report, or NDJSON (one per
/// line), each compressed alone with the shared dictionary (`wire_*`, what
/// an agent sends first and after a server restart), and each after the
/// first compressed against the line before it (`delta_*`, what a live
/// agent sends once the server holds its previous report).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WireSize {
    pub reports: u64,
    pub samples: u64,
    pub json_bytes: u64,
    pub wire_bytes: u64,
    pub wire_bytes_per_report: f64,
    pub wire_bytes_per_sample: f64,
    pub json_bytes_per_sample: f64,
    /// Reports after the first, and their bytes and samples as deltas.
    pub delta_reports: u64,
    pub delta_wire_bytes: u64,
    pub delta_wire_bytes_per_report: f64,
    pub delta_wire_bytes_per_sample: f64,
}

pub fn wire_size(text: &str) -> anyhow::Result<WireSize> {
    let mut parsed: Vec<Report> = Vec::new();
    let trimmed = text.trim();
    if trimmed.starts_with('{') && serde_json::from_str::<Report>(trimmed).is_ok() {
        parsed.push(serde_json::from_str(trimmed)?);
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let report: Report = serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("line {}: not a report: {e}", i + 1))?;
            parsed.push(report);
        }
    }
    anyhow::ensure!(!parsed.is_empty(), "no report found");
    let mut encoded: Vec<Encoded> = Vec::with_capacity(parsed.len());
    let (mut delta_reports, mut delta_wire_bytes, mut delta_samples) = (0u64, 0u64, 0u64);
    let mut base: Option<Vec<u8>> = None;
    for report in &parsed {
        let (whole, json) = encode_report_against(report, None);
        if let Some(base) = &base {
            delta_reports += 1;
            delta_wire_bytes += compress_against(&json, base).len() as u64;
            delta_samples += whole.samples;
        }
        encoded.push(whole);
        base = Some(json);
    }
    let reports = encoded.len() as u64;
    let samples: u64 = encoded.iter().map(|e| e.samples).sum();
    let json_bytes: u64 = encoded.iter().map(|e| e.json_bytes).sum();
    let wire_bytes: u64 = encoded.iter().map(|e| e.body.len() as u64).sum();
    let per = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    Ok(WireSize {
        reports,
        samples,
        json_bytes,
        wire_bytes,
        wire_bytes_per_report: per(wire_bytes, reports),
        wire_bytes_per_sample: per(wire_bytes, samples),
        json_bytes_per_sample: per(json_bytes, samples),
        delta_reports,
        delta_wire_bytes,
        delta_wire_bytes_per_report: per(delta_wire_bytes, delta_reports),
        delta_wire_bytes_per_sample: per(delta_wire_bytes, delta_samples),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimHost;
    use lxmon_proto::compress::{Encoding, decode};

    fn reports(n: usize) -> Vec<Report> {
        let mut h = SimHost::new(1, 0, 10, 1_700_000_000_000);
        (0..n)
            .map(|i| h.report(1_700_000_000_000 + i as i64 * 10_000))
            .collect()
    }

    #[test]
    fn batches_respect_bounds_and_round_trip() {
        let rs = reports(25);
        let one_line = serde_json::to_vec(&rs[0]).unwrap().len() + 1;
        let batches = encode_batches_bounded(&rs, 7, one_line * 5);
        assert_eq!(batches.iter().map(|b| b.reports).sum::<u64>(), 25);
        let mut seqs = Vec::new();
        for b in &batches {
            assert!(b.reports <= 7);
            assert!(b.json_bytes as usize <= one_line * 5);
            let text = decode(&b.body, Encoding::ZstdDictV1, 1 << 24).unwrap();
            for line in text.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
                seqs.push(serde_json::from_slice::<Report>(line).unwrap().seq);
            }
        }
        assert_eq!(seqs, (1..=25).collect::<Vec<u64>>());
    }

    #[test]
    fn a_delta_decodes_against_its_base_only() {
        let rs = reports(2);
        let (first, base) = encode_report_against(&rs[0], None);
        assert_eq!(first.base_seq, None);
        let (second, json) = encode_report_against(&rs[1], Some((rs[0].seq, &base)));
        assert_eq!(second.base_seq, Some(rs[0].seq));
        let decoded = lxmon_proto::compress::decode_against(&second.body, &base, 1 << 20).unwrap();
        assert_eq!(decoded, json);
        assert_eq!(serde_json::from_slice::<Report>(&decoded).unwrap(), rs[1]);
    }

    #[test]
    fn wire_size_of_json_and_ndjson() {
        let rs = reports(3);
        let one = wire_size(&serde_json::to_string_pretty(&rs[1]).unwrap()).unwrap();
        assert_eq!(one.reports, 1);
        assert_eq!(one.samples, rs[1].metrics.len() as u64);
        let nd: String = rs
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let all = wire_size(&nd).unwrap();
        assert_eq!(all.reports, 3);
        assert!(
            all.wire_bytes_per_sample > 0.0
                && all.wire_bytes_per_sample < all.json_bytes_per_sample
        );
        // Consecutive reports of one host: the delta carries little more
        // than the changed values.
        assert_eq!(all.delta_reports, 2);
        assert!(
            all.delta_wire_bytes_per_sample > 0.0
                && all.delta_wire_bytes_per_sample * 2.0 < all.wire_bytes_per_sample,
            "{all:?}"
        );
        assert_eq!(one.delta_reports, 0);
        assert!(wire_size("").is_err());
    }
}
