//! Bounds on everything an agent may send. The server rejects what exceeds
//! them; the agent never produces it.

/// Largest single-report body after decompression (`POST /api/agent/metrics`).
pub const MAX_REPORT_BYTES: usize = 1024 * 1024;
/// Largest batch body after decompression (`POST /api/agent/metrics/batch`),
/// FlexMON's 15 MB.
pub const MAX_BATCH_BYTES: usize = 15 * 1000 * 1000;
/// Most records in one NDJSON batch, FlexMON's 3000.
pub const MAX_BATCH_RECORDS: usize = 3000;
/// Most samples (series) in one report.
pub const MAX_SERIES_PER_REPORT: usize = 4096;
/// Longest metric name.
pub const MAX_METRIC_NAME_LEN: usize = 128;
/// Most labels on one sample.
pub const MAX_LABELS_PER_SAMPLE: usize = 8;
/// Longest label key.
pub const MAX_LABEL_KEY_LEN: usize = 64;
/// Longest label value (a mount point or interface name fits easily).
pub const MAX_LABEL_VALUE_LEN: usize = 256;
/// Longest hostname (RFC 1035 limit).
pub const MAX_HOSTNAME_LEN: usize = 253;
/// Longest free-text field (OS name, kernel, version, process name).
pub const MAX_TEXT_LEN: usize = 256;
/// Most processes in each top list.
pub const MAX_TOP_PROCESSES: usize = 10;
/// How far in the future a report's timestamp may be (clock skew allowance).
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;
/// Shortest and longest reporting interval, in seconds.
pub const MIN_INTERVAL_S: u32 = 1;
pub const MAX_INTERVAL_S: u32 = 300;
/// Default reporting interval, in seconds.
pub const DEFAULT_INTERVAL_S: u32 = 10;
/// Longest wait an agent may ask for on a long-poll, in seconds.
pub const MAX_LONG_POLL_S: u32 = 60;
/// Largest output chunk in one `POST /api/agent/command-result`.
pub const MAX_COMMAND_CHUNK_BYTES: usize = 64 * 1024;
/// Output the server keeps per command (agents cap lower, per action).
pub const MAX_COMMAND_OUTPUT_BYTES: usize = 1024 * 1024;
/// Most arguments of one command, and the longest argument value.
pub const MAX_COMMAND_ARGS: usize = 16;
pub const MAX_COMMAND_ARG_LEN: usize = 1024;
/// Most actions an agent may announce.
pub const MAX_ACTIONS: usize = 64;
