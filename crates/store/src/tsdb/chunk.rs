//! Sealed chunks: one host's series over one time window, column-compressed.
//!
//! All series of a host share the report timestamps, so a chunk stores the
//! timestamps once and, per series, a presence bitmap (only when the series
//! missed some reports) and its value columns. Raw chunks have one column;
//! rollup chunks have five (min, max, sum, count, last). Every column is
//! compressed with pco, which finds the structure of host metrics on its own:
//! regular timestamp deltas, integer-valued floats, values quantised to 0.01.
//!
//! Layout: `version u8, columns u8, n_points varint, ts_len varint, ts pco,
//! n_series varint, then per series: id delta varint, flags u8, [bitmap],
//! per column: len varint, pco bytes`.

use std::collections::BTreeMap;

use pco::ChunkConfig;
use pco::standalone::{simple_compress, simple_decompress};

use super::varint::{Reader, put_i64, put_u64};
use crate::{Result, SeriesId, StoreError};

/// 2: every value column starts with a kind byte (see [`ValueKind`]).
const VERSION: u8 = 2;
const FLAG_BITMAP: u8 = 1;

/// Columns of a rollup row.
pub const ROLLUP_COLUMNS: usize = 5;
pub const COL_MIN: usize = 0;
pub const COL_MAX: usize = 1;
pub const COL_SUM: usize = 2;
pub const COL_COUNT: usize = 3;
pub const COL_LAST: usize = 4;

/// Decoded chunk: points of several series sharing a timestamp axis.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub columns: usize,
    /// Ascending, unique.
    pub timestamps: Vec<i64>,
    pub series: Vec<BlockSeries>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlockSeries {
    pub id: SeriesId,
    /// One flag per timestamp: does this series have a point there.
    pub present: Vec<bool>,
    /// `columns` vectors, each with one value per present point.
    pub cols: Vec<Vec<f64>>,
}

impl BlockSeries {
    /// `(timestamp index, row)` for each present point.
    pub fn rows(&self) -> impl Iterator<Item = (usize, impl Iterator<Item = f64> + '_)> + '_ {
        self.present
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .enumerate()
            .map(move |(j, (i, _))| (i, self.cols.iter().map(move |c| c[j])))
    }
}

impl Block {
    /// Number of stored points (series × present timestamps).
    pub fn point_count(&self) -> usize {
        self.series
            .iter()
            .map(|s| s.cols.first().map_or(0, Vec::len))
            .sum()
    }

    /// Builds a block from `(series, timestamp) → row` entries.
    pub fn from_points(
        columns: usize,
        points: &BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>>,
    ) -> Block {
        let mut timestamps: Vec<i64> = points.values().flat_map(|m| m.keys().copied()).collect();
        timestamps.sort_unstable();
        timestamps.dedup();
        let series = points
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(&id, m)| {
                let mut present = vec![false; timestamps.len()];
                let mut cols = vec![Vec::with_capacity(m.len()); columns];
                for (ts, row) in m {
                    let i = timestamps
                        .binary_search(ts)
                        .expect("timestamp collected above");
                    present[i] = true;
                    for (col, v) in cols.iter_mut().zip(row) {
                        col.push(*v);
                    }
                }
                BlockSeries { id, present, cols }
            })
            .collect();
        Block {
            columns,
            timestamps,
            series,
        }
    }

    /// The inverse of [`Block::from_points`], adding into `points` so that
    /// later calls override earlier ones for the same (series, timestamp).
    pub fn into_points(self, points: &mut BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>>) {
        for s in &self.series {
            let entry = points.entry(s.id).or_default();
            for (i, row) in s.rows() {
                entry.insert(self.timestamps[i], row.collect());
            }
        }
    }

    /// Aggregates a raw (one-column) block into rollup buckets of
    /// `resolution_ms`, keyed by bucket start.
    pub fn rollup(&self, resolution_ms: i64) -> BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>> {
        debug_assert_eq!(self.columns, 1);
        let mut out: BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        for s in &self.series {
            let buckets = out.entry(s.id).or_default();
            for (i, mut row) in s.rows() {
                let v = row.next().expect("one column");
                let bucket = self.timestamps[i].div_euclid(resolution_ms) * resolution_ms;
                let agg = buckets
                    .entry(bucket)
                    .or_insert_with(|| vec![f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0, 0.0]);
                agg[COL_MIN] = agg[COL_MIN].min(v);
                agg[COL_MAX] = agg[COL_MAX].max(v);
                agg[COL_SUM] += v;
                agg[COL_COUNT] += 1.0;
                // Rows come in timestamp order, so the last write is the last value.
                agg[COL_LAST] = v;
            }
        }
        out
    }
}

fn pco_err(e: pco::errors::PcoError) -> StoreError {
    StoreError::Corrupt(format!("pco: {e}"))
}

fn put_column<T: pco::data_types::Number>(out: &mut Vec<u8>, values: &[T]) -> Result<()> {
    if values.is_empty() {
        put_u64(out, 0);
        return Ok(());
    }
    let bytes = simple_compress(values, &ChunkConfig::default()).map_err(pco_err)?;
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(&bytes);
    Ok(())
}

fn read_column<'a, T: pco::data_types::Number>(
    r: &mut Reader<'a>,
    expected: usize,
) -> Result<Vec<T>> {
    let len = r.u64()? as usize;
    if len == 0 {
        return if expected == 0 {
            Ok(Vec::new())
        } else {
            Err(StoreError::Corrupt("empty column".into()))
        };
    }
    let values: Vec<T> = simple_decompress(r.bytes(len)?).map_err(pco_err)?;
    if values.len() != expected {
        return Err(StoreError::Corrupt(format!(
            "column has {} values, expected {expected}",
            values.len()
        )));
    }
    Ok(values)
}

/// How a value column is stored. Host metrics are mostly whole numbers
/// (bytes, counts) or percentages rounded to hundredths; as integers pco
/// compresses them noticeably better than as floats.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ValueKind {
    Float = 0,
    Integer = 1,
    Hundredths = 2,
}

const MAX_EXACT: f64 = (1u64 << 53) as f64;

fn kind_of(values: &[f64]) -> ValueKind {
    if values
        .iter()
        .all(|v| v.fract() == 0.0 && v.abs() < MAX_EXACT)
    {
        ValueKind::Integer
    } else if values.iter().all(|v| {
        let scaled = (v * 100.0).round();
        scaled.abs() < MAX_EXACT && scaled / 100.0 == *v
    }) {
        ValueKind::Hundredths
    } else {
        ValueKind::Float
    }
}

fn put_values(out: &mut Vec<u8>, values: &[f64]) -> Result<()> {
    let kind = kind_of(values);
    out.push(kind as u8);
    match kind {
        ValueKind::Float => put_column(out, values),
        ValueKind::Integer => {
            put_column(out, &values.iter().map(|v| *v as i64).collect::<Vec<_>>())
        }
        ValueKind::Hundredths => put_column(
            out,
            &values
                .iter()
                .map(|v| (v * 100.0).round() as i64)
                .collect::<Vec<_>>(),
        ),
    }
}

fn read_values(r: &mut Reader<'_>, expected: usize, version: u8) -> Result<Vec<f64>> {
    if version == 1 {
        return read_column(r, expected);
    }
    match r.u8()? {
        0 => read_column(r, expected),
        1 => Ok(read_column::<i64>(r, expected)?
            .into_iter()
            .map(|v| v as f64)
            .collect()),
        2 => Ok(read_column::<i64>(r, expected)?
            .into_iter()
            .map(|v| v as f64 / 100.0)
            .collect()),
        k => Err(StoreError::Corrupt(format!("unknown value kind {k}"))),
    }
}

fn skip_values(r: &mut Reader<'_>, version: u8) -> Result<()> {
    if version >= 2 {
        r.u8()?;
    }
    skip_column(r)
}

fn skip_column(r: &mut Reader<'_>) -> Result<()> {
    let len = r.u64()? as usize;
    r.bytes(len)?;
    Ok(())
}

pub fn encode(block: &Block) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + block.point_count());
    out.push(VERSION);
    out.push(block.columns as u8);
    put_u64(&mut out, block.timestamps.len() as u64);
    put_column(&mut out, &block.timestamps)?;
    put_u64(&mut out, block.series.len() as u64);
    let mut prev = 0;
    for s in &block.series {
        put_i64(&mut out, s.id - prev);
        prev = s.id;
        let complete = s.present.iter().all(|p| *p);
        out.push(if complete { 0 } else { FLAG_BITMAP });
        if !complete {
            let mut bits = vec![0u8; s.present.len().div_ceil(8)];
            for (i, _) in s.present.iter().enumerate().filter(|(_, p)| **p) {
                bits[i / 8] |= 1 << (i % 8);
            }
            out.extend_from_slice(&bits);
        }
        for col in &s.cols {
            put_values(&mut out, col)?;
        }
    }
    Ok(out)
}

/// Decodes a chunk, keeping only the series `wanted` accepts; the others'
/// columns are skipped without decompressing them.
pub fn decode(buf: &[u8], wanted: impl Fn(SeriesId) -> bool) -> Result<Block> {
    let mut r = Reader::new(buf);
    let version = r.u8()?;
    if version != 1 && version != VERSION {
        return Err(StoreError::Corrupt(format!(
            "unknown chunk version {version}"
        )));
    }
    let columns = r.u8()? as usize;
    let n = r.u64()? as usize;
    let timestamps: Vec<i64> = read_column(&mut r, n)?;
    let n_series = r.u64()?;
    let mut series = Vec::new();
    let mut id = 0;
    for _ in 0..n_series {
        id += r.i64()?;
        let flags = r.u8()?;
        let present: Vec<bool> = if flags & FLAG_BITMAP != 0 {
            let bits = r.bytes(n.div_ceil(8))?;
            (0..n).map(|i| bits[i / 8] & (1 << (i % 8)) != 0).collect()
        } else {
            vec![true; n]
        };
        if wanted(id) {
            let count = present.iter().filter(|p| **p).count();
            let cols = (0..columns)
                .map(|_| read_values(&mut r, count, version))
                .collect::<Result<Vec<_>>>()?;
            series.push(BlockSeries { id, present, cols });
        } else {
            for _ in 0..columns {
                skip_values(&mut r, version)?;
            }
        }
    }
    Ok(Block {
        columns,
        timestamps,
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_block() -> Block {
        let mut points: BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        for i in 0..360i64 {
            let ts = 1_700_000_000_000 + i * 10_000 + (i % 3);
            points
                .entry(1)
                .or_default()
                .insert(ts, vec![(i % 50) as f64 * 0.25]);
            points
                .entry(2)
                .or_default()
                .insert(ts, vec![8_000_000_000.0]);
            if i % 2 == 0 {
                points
                    .entry(7)
                    .or_default()
                    .insert(ts, vec![i as f64 * 1024.0]);
            }
        }
        Block::from_points(1, &points)
    }

    #[test]
    fn round_trip_with_gaps() {
        let block = sample_block();
        let bytes = encode(&block).unwrap();
        assert_eq!(decode(&bytes, |_| true).unwrap(), block);
        // Constant and regular series compress to well under a byte a sample.
        assert!(
            bytes.len() < block.point_count(),
            "{} bytes for {} points",
            bytes.len(),
            block.point_count()
        );
    }

    #[test]
    fn decode_can_skip_series() {
        let block = sample_block();
        let bytes = encode(&block).unwrap();
        let only7 = decode(&bytes, |id| id == 7).unwrap();
        assert_eq!(only7.series.len(), 1);
        assert_eq!(only7.series[0], block.series[2]);
        assert_eq!(only7.timestamps, block.timestamps);
    }

    #[test]
    fn rollup_aggregates_each_bucket() {
        let mut points: BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        for (ts, v) in [(0, 1.0), (100_000, 5.0), (200_000, 3.0), (300_000, 10.0)] {
            points.entry(1).or_default().insert(ts, vec![v]);
        }
        let rolled = Block::from_points(1, &points).rollup(300_000);
        assert_eq!(rolled[&1][&0], vec![1.0, 5.0, 9.0, 3.0, 3.0]);
        assert_eq!(rolled[&1][&300_000], vec![10.0, 10.0, 10.0, 1.0, 10.0]);
    }

    #[test]
    fn value_kinds_round_trip_exactly() {
        for (values, kind) in [
            (vec![0.0, 1.0, -5.0, 8e12], ValueKind::Integer),
            (vec![12.34, 0.01, 99.99, 100.0, -3.5], ValueKind::Hundredths),
            (vec![0.1 + 0.2, 1.0 / 3.0], ValueKind::Float),
            (vec![1e300], ValueKind::Float),
        ] {
            assert_eq!(kind_of(&values), kind, "{values:?}");
            let mut out = Vec::new();
            put_values(&mut out, &values).unwrap();
            let back = read_values(&mut Reader::new(&out), values.len(), VERSION).unwrap();
            assert_eq!(back, values);
        }
    }

    #[test]
    fn corrupt_chunks_are_errors() {
        let bytes = encode(&sample_block()).unwrap();
        for cut in [0, 1, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], |_| true).is_err(), "cut at {cut}");
        }
    }
}
