//! Body compression shared by both sides.
//!
//! A report is small (a few KiB of JSON) and compressed alone, so a generic
//! compressor spends most of its output re-describing metric names. Both sides
//! therefore share a raw-content zstd dictionary holding the report vocabulary;
//! a report compressed with it costs little more than its values. The
//! dictionary is part of the protocol: it never changes once released; a new
//! one gets a new header value.

use std::cell::RefCell;
use std::io::Read;

/// Header an agent sets when its zstd body was compressed with
/// [`DICTIONARY_V1`]. Without it, a zstd body is decoded without dictionary.
pub const DICT_HEADER: &str = "x-lxmon-zstd-dict";
/// The value of [`DICT_HEADER`] for [`DICTIONARY_V1`].
pub const DICT_V1: &str = "v1";
/// [`DICT_HEADER`] value prefix for a report compressed against the host's
/// previous report: `report:<seq>` names the report (by its `seq`) whose
/// exact JSON bytes, as the server acknowledged them, are the raw-content
/// dictionary. Consecutive reports of a host differ mostly in their values,
/// so such a body costs a few bytes per changed value. A server that does
/// not hold that report answers 409 [`UNKNOWN_BASE`] and the agent sends
/// the report again with [`DICTIONARY_V1`].
pub const DICT_REPORT_PREFIX: &str = "report:";
/// Error code of the 409 for a [`DICT_REPORT_PREFIX`] body whose base
/// report the server does not hold (restarted, or a report was lost).
pub const UNKNOWN_BASE: &str = "unknown_base";
/// zstd level for delta bodies, as for [`DICTIONARY_V1`] bodies. Level 9
/// made real reports 3 % smaller but cost three times the CPU (loading the
/// base as a dictionary dominates), on every host every interval.
const DELTA_LEVEL: i32 = 6;

/// Raw-content dictionary, version 1. zstd favours the end of a raw
/// dictionary, so the most frequent fragments come last.
pub const DICTIONARY_V1: &[u8] = concat!(
    r#"{"v":1,"host":{"hostname":"","machine_id":""},"ts":1700000000000,"interval_s":10,"seq":1,"#,
    r#""info":{"os":"Debian GNU/Linux 12 (bookworm)","kernel":"6.1.0-amd64","arch":"x86_64","agent_version":"0.1.0","boot_time":1700000000},"#,
    r#""processes":{"by_cpu":[{"pid":1,"name":"systemd","cpu_percent":0.0,"rss_bytes":0}],"by_memory":[{"pid":1,"name":"postgres","cpu_percent":0.0,"rss_bytes":0}]},"#,
    r#""metrics":["#,
    r#"{"n":"system.uptime_seconds","v":0},{"n":"system.processes_count","v":0},{"n":"cpu.cores_count","v":2},"#,
    r#"{"n":"swap.total_bytes","v":0},{"n":"swap.used_bytes","v":0},"#,
    r#"{"n":"mem.total_bytes","v":0},{"n":"mem.used_bytes","v":0},{"n":"mem.free_bytes","v":0},{"n":"mem.available_bytes","v":0},{"n":"mem.cached_bytes","v":0},{"n":"mem.buffers_bytes","v":0},{"n":"mem.used_percent","v":0},"#,
    r#"{"n":"load.1m","v":0.0},{"n":"load.5m","v":0.0},{"n":"load.15m","v":0.0},"#,
    r#"{"n":"fs.total_bytes","l":{"mount":"/"},"v":0},{"n":"fs.used_bytes","l":{"mount":"/"},"v":0},{"n":"fs.free_bytes","l":{"mount":"/"},"v":0},{"n":"fs.used_percent","l":{"mount":"/"},"v":0},"#,
    r#"{"n":"fs.inodes_total","l":{"mount":"/boot"},"v":0},{"n":"fs.inodes_used","l":{"mount":"/home"},"v":0},{"n":"fs.inodes_free","l":{"mount":"/var"},"v":0},"#,
    r#"{"n":"disk.read_bytes_per_sec","l":{"device":"sda"},"v":0},{"n":"disk.write_bytes_per_sec","l":{"device":"nvme0n1"},"v":0},"#,
    r#"{"n":"disk.reads_per_sec","l":{"device":"vda"},"v":0},{"n":"disk.writes_per_sec","l":{"device":"vda"},"v":0},{"n":"disk.busy_percent","l":{"device":"vda"},"v":0},"#,
    r#"{"n":"net.rx_errors_total","l":{"iface":"eth0"},"v":0},{"n":"net.tx_errors_total","l":{"iface":"eth0"},"v":0},"#,
    r#"{"n":"net.rx_drops_total","l":{"iface":"eth0"},"v":0},{"n":"net.tx_drops_total","l":{"iface":"eth0"},"v":0},"#,
    r#"{"n":"net.rx_packets_per_sec","l":{"iface":"ens3"},"v":0},{"n":"net.tx_packets_per_sec","l":{"iface":"ens3"},"v":0},"#,
    r#"{"n":"net.rx_bytes_per_sec","l":{"iface":"eth0"},"v":0},{"n":"net.tx_bytes_per_sec","l":{"iface":"eth0"},"v":0},"#,
    r#"{"n":"cpu.core.usage_percent","l":{"core":"0"},"v":0},{"n":"cpu.core.usage_percent","l":{"core":"1"},"v":0},"#,
    r#"{"n":"cpu.user_percent","v":0},{"n":"cpu.system_percent","v":0},{"n":"cpu.iowait_percent","v":0},{"n":"cpu.steal_percent","v":0},"#,
    r#"{"n":"cpu.usage_percent","v":0}]}"#,
)
.as_bytes();

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Zstd,
    ZstdDictV1,
    /// zstd against the host's report with this `seq` ([`DICT_REPORT_PREFIX`]).
    ZstdReport(u64),
}

impl Encoding {
    /// Picks the encoding from the `Content-Encoding` and [`DICT_HEADER`]
    /// header values. `None` for an encoding this protocol does not accept.
    pub fn from_headers(content_encoding: Option<&str>, dict: Option<&str>) -> Option<Encoding> {
        match content_encoding.map(str::trim) {
            None | Some("") | Some("identity") => Some(Encoding::Identity),
            Some("gzip") | Some("x-gzip") => Some(Encoding::Gzip),
            Some("zstd") => match dict.map(str::trim) {
                None => Some(Encoding::Zstd),
                Some(DICT_V1) => Some(Encoding::ZstdDictV1),
                Some(other) => other
                    .strip_prefix(DICT_REPORT_PREFIX)
                    .and_then(|seq| seq.parse().ok())
                    .map(Encoding::ZstdReport),
            },
            Some(_) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("decoded body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body is not valid {0}: {1}")]
    Corrupt(&'static str, String),
}

thread_local! {
    static DICT_DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
    static DICT_COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DELTA_COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DELTA_DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses a report against `base`, the exact JSON of the host's report
/// the server last acknowledged; send it with `Content-Encoding: zstd` and
/// `x-lxmon-zstd-dict: report:<base seq>`.
pub fn compress_against(body: &[u8], base: &[u8]) -> Vec<u8> {
    DELTA_COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = slot.get_or_insert_with(|| {
            // The frame records the content size (the server's bomb check)
            // and a checksum of the content: decoded against any other base
            // than the one it was made with, a delta fails to decode instead
            // of yielding a plausible report with other values.
            let mut c = zstd::bulk::Compressor::new(DELTA_LEVEL).expect("zstd context");
            c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
                .expect("zstd parameter");
            c
        });
        compressor
            .set_dictionary(DELTA_LEVEL, base)
            .expect("a raw-content dictionary loads");
        compressor
            .compress(body)
            .expect("in-memory zstd compression cannot fail")
    })
}

/// Decodes a body made by [`compress_against`] with the same `base`,
/// refusing to produce more than `limit` bytes.
pub fn decode_against(body: &[u8], base: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let size = zstd::zstd_safe::get_frame_content_size(body)
        .map_err(|_| DecodeError::Corrupt("zstd", "bad frame header".into()))?
        .ok_or_else(|| DecodeError::Corrupt("zstd", "frame without content size".into()))?;
    if size as usize > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    DELTA_DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor =
            slot.get_or_insert_with(|| zstd::bulk::Decompressor::new().expect("zstd context"));
        decompressor
            .set_dictionary(base)
            .map_err(|e| DecodeError::Corrupt("zstd", e.to_string()))?;
        decompressor
            .decompress(body, size as usize)
            .map_err(|e| DecodeError::Corrupt("zstd", e.to_string()))
    })
}

/// Compresses a body with zstd and [`DICTIONARY_V1`]; send it with
/// `Content-Encoding: zstd` and `x-lxmon-zstd-dict: v1`.
pub fn compress_with_dict(body: &[u8]) -> Vec<u8> {
    DICT_COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = slot.get_or_insert_with(|| {
            zstd::bulk::Compressor::with_dictionary(6, DICTIONARY_V1)
                .expect("static dictionary loads")
        });
        compressor
            .compress(body)
            .expect("in-memory zstd compression cannot fail")
    })
}

/// Decodes a request body, refusing to produce more than `limit` bytes (so a
/// small compressed bomb cannot exhaust memory). A [`Encoding::ZstdReport`]
/// body needs its base: [`decode_against`].
pub fn decode(body: &[u8], encoding: Encoding, limit: usize) -> Result<Vec<u8>, DecodeError> {
    match encoding {
        Encoding::Identity => {
            if body.len() > limit {
                return Err(DecodeError::TooLarge { limit });
            }
            Ok(body.to_vec())
        }
        Encoding::Gzip => read_bounded(flate2::read::GzDecoder::new(body), limit, "gzip"),
        Encoding::Zstd => match zstd::stream::read::Decoder::new(body) {
            Ok(decoder) => read_bounded(decoder, limit, "zstd"),
            Err(e) => Err(DecodeError::Corrupt("zstd", e.to_string())),
        },
        Encoding::ZstdReport(_) => Err(DecodeError::Corrupt(
            "zstd",
            "a delta body needs its base report".into(),
        )),
        Encoding::ZstdDictV1 => {
            // The agent's bulk compressor records the content size, which lets
            // us refuse an oversized body before decoding it.
            let declared = zstd::zstd_safe::get_frame_content_size(body)
                .map_err(|_| DecodeError::Corrupt("zstd", "bad frame header".into()))?;
            match declared {
                Some(size) if size as usize > limit => Err(DecodeError::TooLarge { limit }),
                Some(size) => DICT_DECOMPRESSOR.with(|cell| {
                    let mut slot = cell.borrow_mut();
                    let decompressor = slot.get_or_insert_with(|| {
                        zstd::bulk::Decompressor::with_dictionary(DICTIONARY_V1)
                            .expect("static dictionary loads")
                    });
                    decompressor
                        .decompress(body, size as usize)
                        .map_err(|e| DecodeError::Corrupt("zstd", e.to_string()))
                }),
                None => {
                    let decoder = zstd::stream::read::Decoder::with_dictionary(body, DICTIONARY_V1)
                        .map_err(|e| DecodeError::Corrupt("zstd", e.to_string()))?;
                    read_bounded(decoder, limit, "zstd")
                }
            }
        }
    }
}

fn read_bounded(
    reader: impl Read,
    limit: usize,
    what: &'static str,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Corrupt(what, e.to_string()))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_round_trip_and_gain() {
        let body = br#"{"v":1,"host":{"hostname":"web-1"},"ts":1700000001000,"interval_s":10,"seq":7,"metrics":[{"n":"cpu.usage_percent","v":12.5},{"n":"mem.used_bytes","v":123456789},{"n":"fs.used_bytes","l":{"mount":"/"},"v":987654321}]}"#;
        let with_dict = compress_with_dict(body);
        let plain = zstd::bulk::compress(body, 6).unwrap();
        assert!(
            with_dict.len() < plain.len(),
            "{} vs {}",
            with_dict.len(),
            plain.len()
        );
        assert_eq!(
            decode(&with_dict, Encoding::ZstdDictV1, 1 << 20).unwrap(),
            body
        );
        assert_eq!(decode(&plain, Encoding::Zstd, 1 << 20).unwrap(), body);
    }

    #[test]
    fn bombs_are_refused_before_they_grow() {
        let big = vec![b'a'; 2 << 20];
        let small = compress_with_dict(&big);
        assert!(small.len() < 1024);
        assert!(matches!(
            decode(&small, Encoding::ZstdDictV1, 1 << 20),
            Err(DecodeError::TooLarge { .. })
        ));
        let plain = zstd::stream::encode_all(&big[..], 3).unwrap();
        assert!(matches!(
            decode(&plain, Encoding::Zstd, 1 << 20),
            Err(DecodeError::TooLarge { .. })
        ));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &big).unwrap();
        let gz = gz.finish().unwrap();
        assert!(matches!(
            decode(&gz, Encoding::Gzip, 1 << 20),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn delta_against_the_previous_report() {
        let report = |seq: u64, cpu: f64, mem: u64| {
            format!(
                r#"{{"v":1,"host":{{"hostname":"web-1"}},"ts":{},"interval_s":10,"seq":{seq},"metrics":[{{"n":"cpu.usage_percent","v":{cpu}}},{{"n":"mem.used_bytes","v":{mem}}},{{"n":"mem.total_bytes","v":8589934592}},{{"n":"fs.used_bytes","l":{{"mount":"/"}},"v":987654321}}]}}"#,
                1_700_000_000_000 + seq * 10_000
            )
            .into_bytes()
        };
        let base = report(7, 12.5, 123_456_789);
        let next = report(8, 13.25, 123_460_001);
        let delta = compress_against(&next, &base);
        let alone = compress_with_dict(&next);
        assert!(
            delta.len() * 2 < alone.len(),
            "delta {} vs v1 dictionary {}",
            delta.len(),
            alone.len()
        );
        assert_eq!(decode_against(&delta, &base, 1 << 20).unwrap(), next);
        // Against any other base, even one that differs in a single value
        // of the same length, it does not decode at all (the checksum).
        let other = report(7, 99.5, 123_456_789);
        assert_eq!(other.len(), base.len());
        assert!(matches!(
            decode_against(&delta, &other, 1 << 20),
            Err(DecodeError::Corrupt(..))
        ));
        // Bounded like every other body.
        let big = vec![b'a'; 2 << 20];
        let bomb = compress_against(&big, &base);
        assert!(matches!(
            decode_against(&bomb, &base, 1 << 20),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_against(b"garbage", &base, 1024),
            Err(DecodeError::Corrupt(..))
        ));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert!(matches!(
            decode(b"not zstd", Encoding::ZstdDictV1, 1024),
            Err(DecodeError::Corrupt(..))
        ));
        assert!(matches!(
            decode(b"not gzip", Encoding::Gzip, 1024),
            Err(DecodeError::Corrupt(..))
        ));
    }

    #[test]
    fn encoding_negotiation() {
        assert_eq!(Encoding::from_headers(None, None), Some(Encoding::Identity));
        assert_eq!(
            Encoding::from_headers(Some("zstd"), Some("v1")),
            Some(Encoding::ZstdDictV1)
        );
        assert_eq!(Encoding::from_headers(Some("zstd"), Some("v9")), None);
        assert_eq!(
            Encoding::from_headers(Some("zstd"), Some("report:42")),
            Some(Encoding::ZstdReport(42))
        );
        assert_eq!(
            Encoding::from_headers(Some("zstd"), Some("report:-1")),
            None
        );
        assert_eq!(Encoding::from_headers(Some("br"), None), None);
    }
}
