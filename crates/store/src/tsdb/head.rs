//! Head rows: one report's samples as `(series id, value)` pairs.
//!
//! Written once per report inside the ingest transaction, so this is on the
//! hot path: ids are delta-coded varints in ascending order, integral values
//! (byte counts, counters — most of a host's series) are zigzag varints, and
//! only fractional values take eight bytes.

use super::varint::{Reader, put_i64, put_u64};
use crate::{Result, SeriesId};

const MAX_EXACT_INT: f64 = (1u64 << 53) as f64;

/// Encodes pairs, which must be sorted by series id.
pub fn encode(pairs: &[(SeriesId, f64)], out: &mut Vec<u8>) {
    debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
    put_u64(out, pairs.len() as u64);
    let mut prev = 0;
    for &(id, value) in pairs {
        put_i64(out, id - prev);
        prev = id;
        if value.fract() == 0.0
            && value.abs() < MAX_EXACT_INT
            && !(value == 0.0 && value.is_sign_negative())
        {
            let z = ((value as i64) << 1) ^ ((value as i64) >> 63);
            put_u64(out, (z as u64) << 1);
        } else {
            put_u64(out, 1);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// Decodes a head row, calling `f` for each pair in ascending id order.
pub fn decode(buf: &[u8], mut f: impl FnMut(SeriesId, f64)) -> Result<()> {
    let mut r = Reader::new(buf);
    let n = r.u64()?;
    let mut id = 0;
    for _ in 0..n {
        id += r.i64()?;
        let header = r.u64()?;
        let value = if header & 1 == 1 {
            f64::from_le_bytes(r.bytes(8)?.try_into().expect("8 bytes"))
        } else {
            let z = header >> 1;
            (((z >> 1) as i64) ^ -((z & 1) as i64)) as f64
        };
        f(id, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_value_exactly() {
        let pairs = vec![
            (3, 0.0),
            (4, 12.34),
            (9, -5.0),
            (10, 123_456_789_012.0),
            (11, 1e300),
            (12, -0.0),
            (400, 9_007_199_254_740_993.0),
        ];
        let mut buf = Vec::new();
        encode(&pairs, &mut buf);
        let mut back = Vec::new();
        decode(&buf, |id, v| back.push((id, v))).unwrap();
        assert_eq!(back.len(), pairs.len());
        for (a, b) in pairs.iter().zip(&back) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn integral_values_are_compact() {
        let pairs: Vec<_> = (1..=100).map(|i| (i, (i * 1000) as f64)).collect();
        let mut buf = Vec::new();
        encode(&pairs, &mut buf);
        assert!(buf.len() < 100 * 5, "{} bytes", buf.len());
    }

    #[test]
    fn truncated_rows_are_errors() {
        let mut buf = Vec::new();
        encode(&[(1, 1.5), (2, 2.5)], &mut buf);
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut], |_, _| {}).is_err(), "cut at {cut}");
        }
    }
}
