//! Uptime, and the host's identity and slow-changing facts (OS, kernel,
//! architecture, boot time, hostname, machine id).

use std::path::Path;

use lxmon_proto::{HostInfo, MAX_HOSTNAME_LEN, MAX_TEXT_LEN, Sample};

use super::{CollectError, Collector, Ctx, Output, cpu, read_into};

/// Seconds since boot, the first field of `/proc/uptime`.
pub fn parse_uptime(text: &str) -> Result<f64, CollectError> {
    text.split_ascii_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| CollectError::parse("/proc/uptime", format!("unexpected content {text:?}")))
}

/// `PRETTY_NAME` from an os-release file, unquoted; falls back to `NAME`.
pub fn parse_os_release(text: &str) -> Option<String> {
    let mut name = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "PRETTY_NAME" if !value.is_empty() => return Some(value),
            "NAME" if !value.is_empty() => name = Some(value),
            _ => {}
        }
    }
    name
}

/// os-release values are shell-quoted: strip one pair of quotes and the
/// backslash escapes the format allows.
fn unquote(v: &str) -> String {
    let inner = match v.as_bytes() {
        [b'"', .., b'"'] | [b'\'', .., b'\''] if v.len() >= 2 => &v[1..v.len() - 1],
        _ => v,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn read_trimmed(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Cuts a text to the protocol's limit on a character boundary.
fn bounded(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The host's name from `<proc_root>/sys/kernel/hostname`, falling back to
/// `gethostname(2)`-equivalent `uname` when the file is unreadable.
pub fn read_hostname(ctx: &Ctx) -> Option<String> {
    let name = read_trimmed(&ctx.proc_root.join("sys/kernel/hostname")).or_else(uname_nodename)?;
    // The server refuses hostnames with whitespace or control characters.
    let name: String = name
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    (!name.is_empty()).then(|| bounded(name, MAX_HOSTNAME_LEN))
}

fn uname_nodename() -> Option<String> {
    // SAFETY: uname fills the struct we pass; nodename is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(u.nodename.as_ptr());
        Some(name.to_string_lossy().into_owned())
    }
}

/// `/etc/machine-id`: 32 hex characters, when the host has one.
pub fn read_machine_id(ctx: &Ctx) -> Option<String> {
    read_trimmed(&ctx.etc_root.join("machine-id"))
        .filter(|id| id.len() <= MAX_TEXT_LEN && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// OS, kernel, architecture, agent version and boot time.
pub fn read_host_info(ctx: &Ctx) -> HostInfo {
    let os = std::fs::read_to_string(ctx.etc_root.join("os-release"))
        .ok()
        .and_then(|t| parse_os_release(&t))
        .unwrap_or_else(|| "Linux".to_owned());
    let kernel = read_trimmed(&ctx.proc_root.join("sys/kernel/osrelease")).unwrap_or_default();
    let mut stat = String::new();
    let mut snapshot = cpu::StatSnapshot::default();
    let boot_time = read_into(&ctx.proc_root.join("stat"), &mut stat)
        .ok()
        .and_then(|_| cpu::parse_stat(&stat, &mut snapshot).ok())
        .and(snapshot.boot_time)
        .unwrap_or(0);
    HostInfo {
        os: bounded(os, MAX_TEXT_LEN),
        kernel: bounded(kernel, MAX_TEXT_LEN),
        arch: std::env::consts::ARCH.to_owned(),
        agent_version: crate::AGENT_VERSION.to_owned(),
        boot_time,
    }
}

/// `system.uptime_seconds`. (`system.processes_count` comes from the
/// processes collector, which walks `/proc` anyway.)
pub struct SystemCollector {
    buf: String,
}

impl SystemCollector {
    pub fn new() -> SystemCollector {
        SystemCollector {
            buf: String::with_capacity(64),
        }
    }
}

impl Default for SystemCollector {
    fn default() -> Self {
        SystemCollector::new()
    }
}

impl Collector for SystemCollector {
    fn name(&self) -> &'static str {
        "system"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        read_into(&ctx.proc_root.join("uptime"), &mut self.buf)?;
        let uptime = parse_uptime(&self.buf)?;
        out.samples
            .push(Sample::new("system.uptime_seconds", uptime.floor()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::collectors::test_support::{fixtures, snapshot_ctx, value};

    #[test]
    fn parses_uptime() {
        let text = std::fs::read_to_string(fixtures().join("host1/t0/proc/uptime")).unwrap();
        assert_eq!(parse_uptime(&text).unwrap(), 100_000.42);
        assert!(parse_uptime("").is_err());
        assert!(parse_uptime("-5 1").is_err());
    }

    #[test]
    fn parses_os_release_variants() {
        let text = std::fs::read_to_string(fixtures().join("host1/etc/os-release")).unwrap();
        assert_eq!(
            parse_os_release(&text).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            parse_os_release("NAME='Alpine Linux'\n").as_deref(),
            Some("Alpine Linux")
        );
        assert_eq!(
            parse_os_release("PRETTY_NAME=\"Say \\\"hi\\\"\"\n").as_deref(),
            Some("Say \"hi\"")
        );
        assert_eq!(parse_os_release("ID=x\n"), None);
    }

    #[test]
    fn host_identity_from_fixtures() {
        let ctx = snapshot_ctx("t0", Instant::now(), 0);
        assert_eq!(read_hostname(&ctx).as_deref(), Some("web-1.example.com"));
        assert_eq!(
            read_machine_id(&ctx).as_deref(),
            Some("4f6bd1c3e2a94d1f8c0b7a6e5d4c3b2a")
        );
        let info = read_host_info(&ctx);
        assert_eq!(info.os, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(info.kernel, "6.1.0-27-amd64");
        assert_eq!(info.boot_time, 1_699_900_000);
        assert_eq!(info.arch, std::env::consts::ARCH);
        assert_eq!(info.agent_version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn uptime_sample_from_fixture() {
        let mut c = SystemCollector::new();
        let mut out = Output::default();
        c.collect(&snapshot_ctx("t0", Instant::now(), 0), &mut out)
            .unwrap();
        assert_eq!(
            value(&out.samples, "system.uptime_seconds", None),
            Some(100_000.0)
        );
    }

    #[test]
    fn real_host_identity() {
        let ctx = Ctx::host();
        let hostname = read_hostname(&ctx).unwrap();
        assert!(!hostname.is_empty());
        let info = read_host_info(&ctx);
        assert!(!info.kernel.is_empty());
        assert!(info.boot_time > 1_000_000_000);
    }
}
