//! Remote commands on the real host: real processes, real `/proc`.
//!
//! The first part drives the executor directly ([`exec::execute`] after
//! [`Actions::prepare`]); the second runs the whole command channel
//! ([`CommandRunner`], and once the full [`Agent`]) against a small fake
//! server that speaks the agent API's command endpoints.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lxmon_agent::actions::{ActionConfig, Actions};
use lxmon_agent::commands::{CommandRunner, CommandStats};
use lxmon_agent::config::Secret;
use lxmon_agent::exec::{self, Control, Finished, Sink, StopReason};
use lxmon_agent::{Agent, Cli, Config, Shutdown};
use lxmon_proto::{AgentCommand, CommandPoll, CommandStatus, CommandUpdate};

// ---------------------------------------------------------------------------
// Helpers

fn actions(toml_text: &str) -> Actions {
    #[derive(serde::Deserialize)]
    struct File {
        actions: Vec<ActionConfig>,
    }
    let file: File = toml::from_str(toml_text).expect("test TOML parses");
    Actions::from_config(&file.actions).expect("test actions are valid")
}

fn command(id: i64, action: &str, args: &[(&str, &str)]) -> AgentCommand {
    AgentCommand {
        id,
        action: action.into(),
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Everything a sink was told, with times.
#[derive(Debug, Default)]
struct Collected {
    started: Option<Instant>,
    chunks: Vec<(Instant, String)>,
    finished: Option<Finished>,
}

impl Collected {
    fn output(&self) -> String {
        self.chunks.iter().map(|(_, c)| c.as_str()).collect()
    }
    fn result(&self) -> &Finished {
        self.finished.as_ref().expect("finished")
    }
}

impl Sink for Collected {
    fn started(&mut self) {
        assert!(self.started.is_none() && self.chunks.is_empty());
        self.started = Some(Instant::now());
    }
    fn output(&mut self, text: String) {
        assert!(self.finished.is_none());
        assert!(!text.is_empty());
        self.chunks.push((Instant::now(), text));
    }
    fn finished(&mut self, result: Finished) {
        assert!(self.finished.is_none(), "finished once");
        self.finished = Some(result);
    }
}

/// Prepares and runs one command to its end.
fn run(actions: &Actions, action: &str, args: &[(&str, &str)]) -> Result<Collected, String> {
    let invocation = actions.prepare(&command(1, action, args))?;
    let mut sink = Collected::default();
    exec::execute(&invocation, Control::new(), &mut sink);
    Ok(sink)
}

/// A process is gone once its /proc entry is, or it is a zombie waiting
/// for a reaper that is not us.
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("?");
            state == "Z" || state == "X"
        }
    }
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if is_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    is_gone(pid)
}

fn pids_in(output: &str) -> Vec<u32> {
    output
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

// ---------------------------------------------------------------------------
// The executor

#[test]
fn shell_metacharacters_are_refused_by_a_strict_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let list = actions(&format!(
        r#"
[[actions]]
name = "restart-unit"
argv = ["/usr/bin/touch", "{d}/{{unit}}"]
[actions.params.unit]
pattern = "^[a-z0-9@._-]+\\.service$"
"#
    ));
    for bad in [
        "; rm -rf /",
        "a.service; touch {d}/pwned",
        "$(id).service",
        "$(touch {d}/pwned).service",
        "`touch {d}/pwned`.service",
        "a.service\ntouch",
        "a.service\n",
        "a.service|id",
        "a.service && id",
        "a.service > x",
        "a .service",
        "*.service",
    ] {
        let bad = bad.replace("{d}", &d.to_string());
        let err = run(&list, "restart-unit", &[("unit", &bad)]).unwrap_err();
        assert!(err.contains("does not match its pattern"), "{bad:?}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing ran"
    );
    // The same action with a good value does run: the refusals above were
    // the allowlist's doing.
    let ok = run(&list, "restart-unit", &[("unit", "nginx.service")]).unwrap();
    assert_eq!(ok.result().status, CommandStatus::Succeeded);
    assert!(dir.path().join("nginx.service").exists());
}

#[test]
fn a_permissive_pattern_passes_each_value_as_one_uninterpreted_argument() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let list = actions(
        r#"
[[actions]]
name = "echo"
argv = ["/bin/echo", "{text}"]
[actions.params.text]
pattern = "(?s).*"

[[actions]]
name = "brackets"
argv = ["/usr/bin/printf", "[%s]\n", "--opt={text}", "{text}"]
[actions.params.text]
pattern = "(?s).*"
"#,
    );
    let values = [
        format!("; touch {d}/semicolon"),
        format!("$(touch {d}/subst)"),
        format!("`touch {d}/backtick`"),
        format!("x\ntouch {d}/newline"),
        format!("x && touch {d}/and || touch {d}/or"),
        format!("x | tee {d}/pipe"),
        format!("x > {d}/redirect"),
        "* ~ $HOME ${PATH} 'single' \"double\" \\back".to_owned(),
        "two  spaces\tand tab".to_owned(),
    ];
    for value in &values {
        let echoed = run(&list, "echo", &[("text", value)]).unwrap();
        assert_eq!(echoed.result().status, CommandStatus::Succeeded);
        assert_eq!(echoed.output(), format!("{value}\n"), "printed literally");
        let bracketed = run(&list, "brackets", &[("text", value)]).unwrap();
        assert_eq!(
            bracketed.output(),
            format!("[--opt={value}]\n[{value}]\n"),
            "exactly one argv element per template element"
        );
    }
    let created: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(created.is_empty(), "no shell ran: {created:?}");
}

#[test]
fn a_timeout_kills_the_child_and_its_grandchild() {
    let list = actions(
        r#"
[[actions]]
name = "hang"
argv = ["/bin/sh", "-c", "echo $$; sleep 300 & echo $!; sleep 300"]
timeout_s = 1
"#,
    );
    let began = Instant::now();
    let out = run(&list, "hang", &[]).unwrap();
    let took = began.elapsed();
    let result = out.result();
    assert_eq!(result.status, CommandStatus::TimedOut, "{result:?}");
    assert_eq!(result.exit_code, Some(128 + 9), "killed by SIGKILL");
    assert!(
        (1000..3000).contains(&result.duration_ms),
        "{}",
        result.duration_ms
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    let pids = pids_in(&out.output());
    assert_eq!(
        pids.len(),
        2,
        "shell and background sleep: {:?}",
        out.output()
    );
    for pid in pids {
        assert!(wait_gone(pid, Duration::from_secs(2)), "pid {pid} survived");
    }
}

#[test]
fn output_beyond_the_cap_is_discarded_and_memory_stays_bounded() {
    let list = actions(
        r#"
[[actions]]
name = "yes"
argv = ["/usr/bin/yes"]
timeout_s = 1
output_cap_bytes = 4096
"#,
    );
    let before = vm_hwm_kib();
    let out = run(&list, "yes", &[]).unwrap();
    let after = vm_hwm_kib();
    let result = out.result();
    assert_eq!(result.status, CommandStatus::TimedOut);
    assert!(result.truncated);
    let output = out.output();
    assert_eq!(output.len(), 4096, "exactly the cap is kept");
    assert!(output.lines().all(|l| l == "y"));
    assert!(
        result.output_bytes_seen > 1024 * 1024,
        "yes wrote {} bytes; all were read",
        result.output_bytes_seen
    );
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "peak memory grew by {} KiB while {} bytes were discarded",
        after - before,
        result.output_bytes_seen
    );
}

#[test]
fn the_environment_is_cleared_to_a_fixed_set() {
    let list = actions(
        r#"
[[actions]]
name = "env"
argv = ["/usr/bin/env"]
"#,
    );
    let out = run(&list, "env", &[]).unwrap();
    assert_eq!(out.result().status, CommandStatus::Succeeded);
    let mut lines: Vec<String> = out.output().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "HOME=/",
            "LANG=C.UTF-8",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
    );
}

#[test]
fn exit_codes_and_signals_are_reported() {
    let list = actions(
        r#"
[[actions]]
name = "three"
argv = ["/bin/sh", "-c", "echo out; echo err >&2; echo out2; exit 3"]

[[actions]]
name = "signal"
argv = ["/bin/sh", "-c", "kill -TERM $$"]

[[actions]]
name = "true"
argv = ["/bin/true"]
"#,
    );
    let three = run(&list, "three", &[]).unwrap();
    let r = three.result();
    assert_eq!((r.status, r.exit_code), (CommandStatus::Failed, Some(3)));
    assert_eq!(r.error, None);
    assert!(!r.truncated);
    assert_eq!(
        three.output(),
        "out\nerr\nout2\n",
        "stdout and stderr interleaved in order"
    );
    let signal = run(&list, "signal", &[]).unwrap();
    assert_eq!(
        (signal.result().status, signal.result().exit_code),
        (CommandStatus::Failed, Some(128 + 15))
    );
    let ok = run(&list, "true", &[]).unwrap();
    assert_eq!(
        (ok.result().status, ok.result().exit_code),
        (CommandStatus::Succeeded, Some(0))
    );
    assert!(ok.started.is_some());
}

#[test]
fn a_program_that_cannot_start_fails_with_the_reason() {
    let list = actions(
        r#"
[[actions]]
name = "missing"
argv = ["/nonexistent/lxmon-test-program", "x"]

[[actions]]
name = "not-executable"
argv = ["/etc/hostname"]
"#,
    );
    let missing = run(&list, "missing", &[]).unwrap();
    let r = missing.result();
    assert_eq!((r.status, r.exit_code), (CommandStatus::Failed, None));
    let error = r.error.as_deref().unwrap();
    assert!(error.contains("/nonexistent/lxmon-test-program"), "{error}");
    assert!(error.contains("No such file"), "{error}");
    assert!(missing.started.is_none(), "never reported as running");
    let denied = run(&list, "not-executable", &[]).unwrap();
    assert_eq!(denied.result().status, CommandStatus::Failed);
    assert!(denied.result().error.is_some());
}

#[test]
fn commands_run_in_root_with_stdin_closed() {
    let list = actions(
        r#"
[[actions]]
name = "pwd"
argv = ["/bin/pwd"]

[[actions]]
name = "cat"
argv = ["/bin/cat"]
timeout_s = 5
"#,
    );
    assert_eq!(run(&list, "pwd", &[]).unwrap().output(), "/\n");
    let cat = run(&list, "cat", &[]).unwrap();
    assert_eq!(cat.result().status, CommandStatus::Succeeded, "EOF at once");
    assert!(cat.result().duration_ms < 2000);
}

#[test]
fn output_streams_in_chunks_as_it_arrives() {
    let list = actions(
        r#"
[[actions]]
name = "slow"
argv = ["/bin/sh", "-c", "echo first; sleep 1; echo second"]

[[actions]]
name = "burst"
argv = ["/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done"]
output_cap_bytes = 1048576
"#,
    );
    let slow = run(&list, "slow", &[]).unwrap();
    assert_eq!(slow.chunks.len(), 2, "{:?}", slow.chunks);
    assert_eq!(slow.chunks[0].1, "first\n");
    assert_eq!(slow.chunks[1].1, "second\n");
    let started = slow.started.unwrap();
    assert!(slow.chunks[0].0 - started < Duration::from_millis(700));
    assert!(slow.chunks[1].0 - slow.chunks[0].0 > Duration::from_millis(700));

    let burst = run(&list, "burst", &[]).unwrap();
    let output = burst.output();
    assert_eq!(output.lines().count(), 20000);
    assert!(output.ends_with("line 19999\n"));
    // Batched: a few chunks of up to about 16 KiB, not one per line.
    assert!(
        burst.chunks.len() < 200,
        "{} chunks for {} bytes",
        burst.chunks.len(),
        output.len()
    );
}

#[test]
fn a_stop_kills_the_process_group_at_once() {
    let list = actions(
        r#"
[[actions]]
name = "sleep"
argv = ["/bin/sh", "-c", "echo $$; sleep 300"]
timeout_s = 600
"#,
    );
    let invocation = list.prepare(&command(1, "sleep", &[])).unwrap();
    let control = Control::new();
    let killer = control.killer();
    let worker = std::thread::spawn(move || {
        let mut sink = Collected::default();
        exec::execute(&invocation, control, &mut sink);
        sink
    });
    std::thread::sleep(Duration::from_millis(500));
    let began = Instant::now();
    killer.stop(StopReason::AgentStopped);
    let out = worker.join().unwrap();
    assert!(began.elapsed() < Duration::from_secs(3));
    let r = out.result();
    assert_eq!(r.status, CommandStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("agent stopped"));
    let pids = pids_in(&out.output());
    assert_eq!(pids.len(), 1);
    assert!(wait_gone(pids[0], Duration::from_secs(2)));
}

#[test]
fn processes_left_in_the_group_are_killed_when_the_command_ends() {
    let list = actions(
        r#"
[[actions]]
name = "detach"
argv = ["/bin/sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"]

[[actions]]
name = "linger"
argv = ["/bin/sh", "-c", "sleep 300 & echo $!"]
"#,
    );
    let detach = run(&list, "detach", &[]).unwrap();
    assert_eq!(detach.result().status, CommandStatus::Succeeded);
    assert!(detach.result().duration_ms < 1000);
    let pid = pids_in(&detach.output())[0];
    assert!(
        wait_gone(pid, Duration::from_secs(2)),
        "background {pid} left"
    );

    // A background process holding the output open delays the end by the
    // grace period only.
    let began = Instant::now();
    let linger = run(&list, "linger", &[]).unwrap();
    assert_eq!(linger.result().status, CommandStatus::Succeeded);
    assert!(began.elapsed() < exec::EXIT_GRACE + Duration::from_secs(2));
    let pid = pids_in(&linger.output())[0];
    assert!(
        wait_gone(pid, Duration::from_secs(2)),
        "background {pid} left"
    );
}

#[test]
fn an_action_can_run_as_another_user() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let list = actions(
        r#"
[[actions]]
name = "whoami"
argv = ["/usr/bin/id"]
user = "nobody"
"#,
    );
    let out = run(&list, "whoami", &[]).unwrap();
    assert_eq!(out.result().status, CommandStatus::Succeeded, "{out:?}");
    let id = out.output();
    assert!(id.starts_with("uid=65534(nobody) gid=65534"), "{id}");
    assert!(!id.contains("(root)"), "no root group left: {id}");
}

#[test]
fn preflight_accepts_another_user_only_with_the_needed_privileges() {
    let list = actions(
        r#"
[[actions]]
name = "whoami"
argv = ["/usr/bin/id"]
user = "nobody"
"#,
    );
    let result = lxmon_agent::commands::preflight(&list);
    if is_root() {
        // This host's root has every capability (not so in the shipped
        // systemd unit, whose comments say what to add).
        assert_eq!(result, Ok(()));
    } else {
        assert!(
            result
                .unwrap_err()
                .contains("needs the agent to run as root")
        );
    }
    let plain = actions("[[actions]]\nname = \"a\"\nargv = [\"/nonexistent/x\"]\n");
    assert_eq!(
        lxmon_agent::commands::preflight(&plain),
        Ok(()),
        "a missing program is only a warning"
    );
}

// ---------------------------------------------------------------------------
// A fake server for the command endpoints

#[derive(Default)]
struct ServerState {
    /// Poll responses to hand out, in order.
    polls: VecDeque<CommandPoll>,
    /// Every update posted, with when it arrived (including refused ones).
    attempts: Vec<(Instant, CommandUpdate)>,
    /// Updates acknowledged, once per (id, seq).
    stored: BTreeMap<(i64, u32), CommandUpdate>,
    /// Drop the connection of this many next update posts.
    drop_next: usize,
    /// Answer this many next update posts with 503.
    fail_next: usize,
    /// Answer updates of these commands with this status.
    status_for: HashMap<i64, u16>,
    /// Acknowledge updates of these commands with `cancelled: true`.
    cancel_acks: HashSet<i64>,
    registrations: Vec<serde_json::Value>,
}

#[derive(Clone)]
struct FakeServer {
    url: String,
    state: Arc<(Mutex<ServerState>, Condvar)>,
}

impl FakeServer {
    fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = FakeServer {
            url: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::default(),
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || s.serve(stream));
            }
        });
        server
    }

    fn with<T>(&self, f: impl FnOnce(&mut ServerState) -> T) -> T {
        let mut st = self.state.0.lock().unwrap();
        let out = f(&mut st);
        self.state.1.notify_all();
        out
    }

    fn push_poll(&self, poll: CommandPoll) {
        self.with(|st| st.polls.push_back(poll));
    }

    /// Stored updates of one command, in seq order.
    fn updates(&self, id: i64) -> Vec<CommandUpdate> {
        self.with(|st| {
            st.stored
                .range((id, 0)..=(id, u32::MAX))
                .map(|(_, u)| u.clone())
                .collect()
        })
    }

    fn attempts(&self, id: i64) -> Vec<CommandUpdate> {
        self.with(|st| {
            st.attempts
                .iter()
                .filter(|(_, u)| u.id == id)
                .map(|(_, u)| u.clone())
                .collect()
        })
    }

    /// Waits until `cond` holds on the state.
    fn wait_for(&self, within: Duration, what: &str, cond: impl Fn(&ServerState) -> bool) {
        let until = Instant::now() + within;
        let mut st = self.state.0.lock().unwrap();
        while !cond(&st) {
            let now = Instant::now();
            assert!(now < until, "timed out waiting for {what}");
            st = self.state.1.wait_timeout(st, until - now).unwrap().0;
        }
    }

    fn wait_final(&self, id: i64, within: Duration) -> CommandUpdate {
        self.wait_for(within, &format!("the final update of {id}"), |st| {
            st.stored
                .range((id, 0)..=(id, u32::MAX))
                .any(|(_, u)| u.status.is_final())
        });
        self.updates(id).pop().unwrap()
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let reply = match (method, path) {
            ("GET", "/api/agent/commands") => {
                assert_eq!(query, "wait=30");
                Some(self.long_poll())
            }
            ("POST", "/api/agent/command-result") => self.command_result(&body),
            ("POST", "/api/agent/register") => {
                self.with(|st| {
                    st.registrations
                        .push(serde_json::from_slice(&body).unwrap())
                });
                Some((
                    200,
                    r#"{"server_id":1,"registered":true,"last_seq":null,"config":{"report_interval_s":null,"heartbeat_interval_s":60}}"#.to_owned(),
                ))
            }
            ("POST", "/api/agent/metrics") => Some((
                200,
                r#"{"received":true,"duplicate":false,"next_report_in":1}"#.to_owned(),
            )),
            ("POST", "/api/agent/heartbeat") => Some((200, r#"{"status":"ok"}"#.to_owned())),
            ("GET", "/api/agent/config") => Some((
                200,
                r#"{"report_interval_s":null,"heartbeat_interval_s":60}"#.to_owned(),
            )),
            _ => Some((
                404,
                r#"{"error":{"code":"not_found","message":"no"}}"#.to_owned(),
            )),
        };
        let Some((status, body)) = reply else {
            return; // drop the connection without an answer
        };
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }

    /// Holds the poll up to 2 s, answering as soon as there is something.
    fn long_poll(&self) -> (u16, String) {
        let until = Instant::now() + Duration::from_secs(2);
        let mut st = self.state.0.lock().unwrap();
        loop {
            if let Some(poll) = st.polls.pop_front() {
                return (200, serde_json::to_string(&poll).unwrap());
            }
            let now = Instant::now();
            if now >= until {
                return (200, "{}".to_owned());
            }
            st = self.state.1.wait_timeout(st, until - now).unwrap().0;
        }
    }

    fn command_result(&self, body: &[u8]) -> Option<(u16, String)> {
        let update: CommandUpdate = serde_json::from_slice(body).unwrap();
        self.with(|st| {
            st.attempts.push((Instant::now(), update.clone()));
            if st.drop_next > 0 {
                st.drop_next -= 1;
                return None;
            }
            if st.fail_next > 0 {
                st.fail_next -= 1;
                return Some((
                    503,
                    r#"{"error":{"code":"unavailable","message":"restarting"}}"#.to_owned(),
                ));
            }
            if let Some(status) = st.status_for.get(&update.id) {
                return Some((
                    *status,
                    r#"{"error":{"code":"not_found","message":"no such command for this host"}}"#
                        .to_owned(),
                ));
            }
            let key = (update.id, update.seq);
            let stored = !st.stored.contains_key(&key);
            if stored {
                st.stored.insert(key, update.clone());
            }
            let cancelled = st.cancel_acks.contains(&update.id);
            Some((
                200,
                format!(r#"{{"stored":{stored},"cancelled":{cancelled}}}"#),
            ))
        })
    }
}

/// A command runner against `server`, stopped when dropped.
struct Runner {
    shutdown: Shutdown,
    runner: Option<CommandRunner>,
}

impl Runner {
    fn start(server: &FakeServer, list: Actions) -> Runner {
        let shutdown = Shutdown::new();
        let runner = CommandRunner::start(
            list,
            &server.url,
            &Secret::new("test-key"),
            Duration::from_secs(5),
            &shutdown,
            Arc::new(CommandStats::default()),
        )
        .unwrap();
        Runner {
            shutdown,
            runner: Some(runner),
        }
    }

    fn stop(&mut self) {
        self.shutdown.trigger();
        if let Some(r) = self.runner.take() {
            r.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn poll_of(commands: Vec<AgentCommand>) -> CommandPoll {
    CommandPoll {
        commands,
        cancel: Vec::new(),
    }
}

/// Seqs 0..n without gap, `running` first, one final status last.
fn assert_well_formed(updates: &[CommandUpdate]) {
    for (i, u) in updates.iter().enumerate() {
        assert_eq!(u.seq as usize, i, "{updates:?}");
        let last = i + 1 == updates.len();
        assert_eq!(u.status.is_final(), last, "{updates:?}");
    }
}

// ---------------------------------------------------------------------------
// The command channel

#[test]
fn a_command_arrives_in_well_under_a_second_and_its_result_streams_back_in_order() {
    let server = FakeServer::start();
    let list = actions(
        r#"
[[actions]]
name = "greet"
argv = ["/bin/sh", "-c", "echo hello $0; sleep 0.5; echo bye", "{who}"]
[actions.params.who]
pattern = "[a-z]+"
"#,
    );
    let _runner = Runner::start(&server, list);
    // Let the agent settle into a long poll, then queue the command.
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    server.push_poll(poll_of(vec![command(1, "greet", &[("who", "world")])]));
    server.wait_for(Duration::from_secs(5), "the first update", |st| {
        !st.attempts.is_empty()
    });
    let latency = sent.elapsed();
    assert!(latency < Duration::from_millis(900), "{latency:?}");

    let last = server.wait_final(1, Duration::from_secs(10));
    assert_eq!(last.status, CommandStatus::Succeeded);
    assert_eq!(last.exit_code, Some(0));
    assert!(last.duration_ms.unwrap() >= 500);
    assert!(!last.truncated);
    let updates = server.updates(1);
    assert_well_formed(&updates);
    assert_eq!(updates[0].status, CommandStatus::Running);
    assert!(
        updates.len() >= 3,
        "output streamed before the end: {updates:?}"
    );
    let output: String = updates.iter().map(|u| u.output.as_str()).collect();
    assert_eq!(output, "hello world\nbye\n");

    // Delivered again (a lost poll answer): not run twice.
    server.push_poll(poll_of(vec![command(1, "greet", &[("who", "world")])]));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.attempts(1).len(), updates.len(), "no second run");
}

#[test]
fn refused_commands_get_one_rejected_update_and_run_nothing() {
    let server = FakeServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let list = actions(&format!(
        r#"
[[actions]]
name = "touch"
argv = ["/usr/bin/touch", "{d}/{{name}}"]
[actions.params.name]
pattern = "[a-z]+"
"#
    ));
    let _runner = Runner::start(&server, list);
    server.push_poll(poll_of(vec![
        // Not in the list (it would be, on a careless agent, a way to run
        // anything): refused.
        command(1, "touch-anything", &[("name", "unlisted")]),
        command(2, "touch", &[("name", &format!("x; touch {d}/pwned"))]),
        command(3, "touch", &[("name", "extra"), ("mode", "777")]),
        command(4, "touch", &[]),
        command(5, "touch", &[("name", "allowed")]),
    ]));
    for id in 1..=4 {
        let u = server.wait_final(id, Duration::from_secs(5));
        assert_eq!((u.seq, u.status), (0, CommandStatus::Rejected), "{u:?}");
        assert!(u.error.is_some());
        assert_eq!(server.attempts(id).len(), 1, "one update only");
    }
    assert!(
        server.updates(1)[0]
            .error
            .as_deref()
            .unwrap()
            .contains("not in this agent's allowlist")
    );
    let allowed = server.wait_final(5, Duration::from_secs(5));
    assert_eq!(allowed.status, CommandStatus::Succeeded);
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["allowed"], "only the allowed command ran");
}

#[test]
fn a_result_lands_after_connection_errors_and_server_errors() {
    let server = FakeServer::start();
    server.with(|st| {
        st.drop_next = 1;
        st.fail_next = 1;
    });
    let list = actions(
        r#"
[[actions]]
name = "count"
argv = ["/bin/sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done; exit 4"]
"#,
    );
    let _runner = Runner::start(&server, list);
    server.push_poll(poll_of(vec![command(9, "count", &[])]));
    let last = server.wait_final(9, Duration::from_secs(15));
    assert_eq!(
        (last.status, last.exit_code),
        (CommandStatus::Failed, Some(4))
    );
    let updates = server.updates(9);
    assert_well_formed(&updates);
    let output: String = updates.iter().map(|u| u.output.as_str()).collect();
    assert_eq!(output, "1\n2\n3\n");
    let attempts = server.attempts(9);
    assert!(attempts.len() >= updates.len() + 2, "retried: {attempts:?}");
    // A retry resends the same update, unchanged.
    assert_eq!(attempts[0], attempts[1]);
    assert_eq!(attempts[1], attempts[2]);
}

#[test]
fn a_refused_update_drops_that_commands_updates_only() {
    let server = FakeServer::start();
    server.with(|st| {
        st.status_for.insert(5, 404);
    });
    let list = actions(
        r#"
[[actions]]
name = "chatty"
argv = ["/bin/sh", "-c", "for i in 1 2 3 4 5; do echo $i; sleep 0.2; done"]
"#,
    );
    let _runner = Runner::start(&server, list);
    server.push_poll(poll_of(vec![
        command(5, "chatty", &[]),
        command(6, "chatty", &[]),
    ]));
    let other = server.wait_final(6, Duration::from_secs(10));
    assert_eq!(other.status, CommandStatus::Succeeded);
    std::thread::sleep(Duration::from_millis(500));
    let refused = server.attempts(5);
    assert_eq!(refused.len(), 1, "nothing after the 404: {refused:?}");
    assert_eq!(refused[0].seq, 0);
}

#[test]
fn a_cancel_in_a_poll_kills_the_command_and_stops_its_updates() {
    let server = FakeServer::start();
    let list = actions(
        r#"
[[actions]]
name = "sleep"
argv = ["/bin/sh", "-c", "echo $$; sleep 300 & echo $!; wait"]
timeout_s = 600
"#,
    );
    let _runner = Runner::start(&server, list);
    server.push_poll(poll_of(vec![command(7, "sleep", &[])]));
    server.wait_for(Duration::from_secs(5), "the pids", |st| {
        let text: String = st
            .stored
            .values()
            .filter(|u| u.id == 7)
            .map(|u| u.output.as_str())
            .collect();
        pids_in(&text).len() == 2
    });
    let text: String = server.updates(7).iter().map(|u| u.output.clone()).collect();
    let pids = pids_in(&text);
    server.push_poll(CommandPoll {
        commands: Vec::new(),
        cancel: vec![7],
    });
    for pid in pids {
        assert!(wait_gone(pid, Duration::from_secs(3)), "pid {pid} survived");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.attempts(7).iter().all(|u| !u.status.is_final()),
        "no final update after a cancel"
    );
}

#[test]
fn a_cancelled_ack_kills_the_command() {
    let server = FakeServer::start();
    let list = actions(
        r#"
[[actions]]
name = "ticker"
argv = ["/bin/sh", "-c", "echo $$; while :; do echo tick; sleep 0.1; done"]
timeout_s = 600
"#,
    );
    let _runner = Runner::start(&server, list);
    server.push_poll(poll_of(vec![command(8, "ticker", &[])]));
    server.wait_for(Duration::from_secs(5), "output", |st| {
        st.stored
            .values()
            .any(|u| u.id == 8 && !u.output.is_empty())
    });
    let text: String = server.updates(8).iter().map(|u| u.output.clone()).collect();
    let pid = pids_in(&text)[0];
    // From now on the server answers "cancelled".
    server.with(|st| {
        st.cancel_acks.insert(8);
    });
    let asked = server.attempts(8).len();
    assert!(wait_gone(pid, Duration::from_secs(3)), "pid {pid} survived");
    let count = server.attempts(8).len();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(server.attempts(8).len(), count, "no update after the kill");
    assert!(count <= asked + 2, "{count} updates after {asked}");
    assert!(server.attempts(8).iter().all(|u| !u.status.is_final()));
}

#[test]
fn at_most_four_commands_run_at_once() {
    let server = FakeServer::start();
    let list = actions(
        r#"
[[actions]]
name = "nap"
argv = ["/bin/sleep", "1"]
"#,
    );
    let _runner = Runner::start(&server, list);
    server.push_poll(poll_of((1..=6).map(|id| command(id, "nap", &[])).collect()));
    for id in 1..=6 {
        assert_eq!(
            server.wait_final(id, Duration::from_secs(10)).status,
            CommandStatus::Succeeded
        );
    }
    let mut starts: Vec<Instant> = server.with(|st| {
        st.attempts
            .iter()
            .filter(|(_, u)| u.seq == 0 && u.status == CommandStatus::Running)
            .map(|(t, _)| *t)
            .collect()
    });
    starts.sort();
    assert_eq!(starts.len(), 6);
    assert!(
        starts[3] - starts[0] < Duration::from_millis(500),
        "4 at once"
    );
    assert!(
        starts[4] - starts[0] > Duration::from_millis(800),
        "the 5th waited for a free slot"
    );
}

#[test]
fn shutdown_kills_running_commands_and_reports_agent_stopped() {
    let server = FakeServer::start();
    let list = actions(
        r#"
[[actions]]
name = "sleep"
argv = ["/bin/sh", "-c", "echo $$; sleep 300"]
timeout_s = 600
"#,
    );
    let mut runner = Runner::start(&server, list);
    server.push_poll(poll_of(
        (1..=5).map(|id| command(id, "sleep", &[])).collect(),
    ));
    server.wait_for(Duration::from_secs(5), "four pids", |st| {
        st.stored.values().filter(|u| !u.output.is_empty()).count() == 4
    });
    let text: String = (1..=5)
        .flat_map(|id| server.updates(id))
        .map(|u| u.output)
        .collect();
    let pids = pids_in(&text);
    assert_eq!(pids.len(), 4);
    let began = Instant::now();
    runner.stop();
    assert!(began.elapsed() < Duration::from_secs(5));
    for pid in pids {
        assert!(wait_gone(pid, Duration::from_secs(2)), "pid {pid} survived");
    }
    for id in 1..=5 {
        let updates = server.updates(id);
        let last = updates.last().unwrap();
        assert_eq!(last.status, CommandStatus::Failed, "{updates:?}");
        let error = last.error.as_deref().unwrap();
        if id <= 4 {
            assert_eq!(error, "agent stopped");
            assert_well_formed(&updates);
        } else {
            assert_eq!(error, "agent stopped before running it");
            assert_eq!(updates.len(), 1, "never ran");
        }
    }
}

#[test]
fn the_agent_announces_its_actions_and_runs_commands() {
    let server = FakeServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("agent.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
server = "{url}"
key = "test-key"
interval = 1
spool_dir = "{spool}"

[[actions]]
name = "restart-unit"
description = "Restart a systemd unit"
argv = ["/bin/echo", "restarting", "{{unit}}"]
timeout_s = 60
output_cap_bytes = 65536
[actions.params.unit]
pattern = "^[a-z0-9@._-]+\\.service$"
description = "unit name"
"#,
            url = server.url,
            spool = dir.path().join("spool").display()
        ),
    )
    .unwrap();
    let cli = Cli {
        config: Some(config_path),
        ..Cli::default()
    };
    let config = Config::resolve(&cli, &|_| None).unwrap();
    let agent = Agent::new(config).unwrap();
    let stats = agent.stats();
    let shutdown = Shutdown::new();
    let stopper = shutdown.clone();
    let thread = std::thread::spawn(move || agent.run(&shutdown));

    server.wait_for(Duration::from_secs(5), "registration", |st| {
        !st.registrations.is_empty()
    });
    let registration = server.with(|st| st.registrations[0].clone());
    assert_eq!(
        registration["actions"],
        serde_json::json!([{
            "name": "restart-unit",
            "description": "Restart a systemd unit",
            "params": [{"name": "unit", "pattern": "^[a-z0-9@._-]+\\.service$", "description": "unit name"}],
            "timeout_s": 60
        }]),
        "names and rules, never the argv"
    );

    server.push_poll(poll_of(vec![
        command(1, "restart-unit", &[("unit", "nginx.service")]),
        command(2, "restart-unit", &[("unit", "nginx.service; reboot")]),
    ]));
    let done = server.wait_final(1, Duration::from_secs(5));
    assert_eq!(done.status, CommandStatus::Succeeded);
    let output: String = server.updates(1).iter().map(|u| u.output.clone()).collect();
    assert_eq!(output, "restarting nginx.service\n");
    assert_eq!(
        server.wait_final(2, Duration::from_secs(5)).status,
        CommandStatus::Rejected
    );
    assert_eq!(stats.commands().received(), 2);
    assert_eq!(stats.commands().rejected(), 1);

    stopper.trigger();
    thread.join().unwrap().unwrap();
}

#[test]
fn the_deploy_example_is_all_commented_out() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/agent.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("# [[actions]]"));
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("[[actions]]"))
    );
}
