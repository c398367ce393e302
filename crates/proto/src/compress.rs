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
                Some(_) => None,
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
/// small compressed bomb cannot exhaust memory).
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
        assert_eq!(Encoding::from_headers(Some("br"), None), None);
    }
}
