//! Report bodies as they travel: JSON compressed with the protocol's zstd
//! dictionary, one report per request or NDJSON batches bounded like the
//! server bounds them.

use bytes::Bytes;
use lxmon_proto::compress::compress_with_dict;
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
}

/// The compressor's output keeps the capacity of its worst-case bound;
/// pre-built bodies are held by the hundred thousand, so drop the slack.
fn shrunk(mut body: Vec<u8>) -> Bytes {
    body.shrink_to_fit();
    Bytes::from(body)
}

/// One report, as `POST /api/agent/metrics` takes it.
pub fn encode_report(report: &Report) -> Encoded {
    let json = serde_json::to_vec(report).expect("a report always serializes");
    Encoded {
        body: shrunk(compress_with_dict(&json)),
        reports: 1,
        samples: report.metrics.len() as u64,
        json_bytes: json.len() as u64,
    }
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
/// line), each compressed alone as an agent sends it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WireSize {
    pub reports: u64,
    pub samples: u64,
    pub json_bytes: u64,
    pub wire_bytes: u64,
    pub wire_bytes_per_report: f64,
    pub wire_bytes_per_sample: f64,
    pub json_bytes_per_sample: f64,
}

pub fn wire_size(text: &str) -> anyhow::Result<WireSize> {
    let mut encoded = Vec::new();
    let trimmed = text.trim();
    if trimmed.starts_with('{') && serde_json::from_str::<Report>(trimmed).is_ok() {
        encoded.push(encode_report(&serde_json::from_str(trimmed)?));
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let report: Report = serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("line {}: not a report: {e}", i + 1))?;
            encoded.push(encode_report(&report));
        }
    }
    anyhow::ensure!(!encoded.is_empty(), "no report found");
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
        assert!(wire_size("").is_err());
    }
}
