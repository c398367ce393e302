//! The time-series engine, independent of the database holding its bytes.
//!
//! - [`head`]: the encoding of one report's samples as a head row (recent,
//!   unsealed data, written once per report before the agent's 2xx).
//! - [`chunk`]: a sealed, column-compressed block of one host's series over a
//!   time window; the same format serves raw samples (one column) and rollups
//!   (min, max, sum, count, last).
//! - [`plan`]: choosing a tier and step for a query, and folding points into
//!   step buckets.

pub mod chunk;
pub mod head;
pub mod plan;
mod varint;

/// A query without an explicit step gets about this many points.
pub const DEFAULT_POINTS: i64 = 1000;
/// A query may ask for at most this many points per series.
pub const MAX_POINTS: i64 = 20_000;
