//! Runs one allowlisted command: a real process, never a shell.
//!
//! The program is executed directly (`execve` of the absolute path in
//! argv[0]) with a cleared environment plus a fixed set ([`FIXED_ENV`]),
//! stdin from `/dev/null`, cwd `/`, in a process group of its own and,
//! when the action says so, as another user. stdout and stderr share one
//! pipe, so they arrive interleaved exactly as written.
//!
//! Three threads per command:
//!
//! - the caller's, which runs [`execute`]: it batches output into chunks
//!   (every [`FLUSH_EVERY`] or [`FLUSH_BYTES`]), enforces the timeout and
//!   reacts to [`Killer::stop`];
//! - a reader, which decodes the pipe as UTF-8 (lossily, never splitting a
//!   character) and keeps at most the action's output cap, discarding the
//!   rest as it arrives, so memory stays bounded whatever the program
//!   prints;
//! - a waiter, which notices the exit without reaping the process, so the
//!   group's id cannot be reused before the group is killed.
//!
//! The whole group is killed with SIGKILL on timeout, on a stop request,
//! and once the main process has exited (after a short grace for the
//! output still in flight), so an action leaves no process behind unless
//! it deliberately left its process group.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lxmon_proto::CommandStatus;

use crate::actions::Invocation;

/// The whole environment of a command.
pub const FIXED_ENV: [(&str, &str); 3] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LANG", "C.UTF-8"),
    ("HOME", "/"),
];
/// Longest wait before output is handed on.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Output handed on at once when this much has accumulated.
pub const FLUSH_BYTES: usize = 16 * 1024;
/// How long output is still read after the main process exited, for
/// what is in the pipe and background processes finishing; then the
/// group is killed.
pub const EXIT_GRACE: Duration = Duration::from_secs(1);
/// How long a killed process may take to die before the result is
/// reported without its exit status.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long the pipe may stay open after the group was killed (held by
/// a process that left the group).
const EOF_GRACE: Duration = Duration::from_millis(200);

/// Receives a command's progress, in this order: `started` (when the
/// process runs), `output` (zero or more chunks), `finished` (always, once).
pub trait Sink {
    fn started(&mut self);
    fn output(&mut self, text: String);
    fn finished(&mut self, result: Finished);
}

/// The end of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub status: CommandStatus,
    /// The exit code, or 128 + the signal that killed it; `None` when it
    /// never started or its status could not be read.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// Output went beyond the action's cap and the rest was discarded.
    pub truncated: bool,
    pub error: Option<String>,
    /// Bytes the command wrote, kept or not (for logs and tests).
    pub output_bytes_seen: u64,
}

impl Finished {
    /// A command that never ran.
    pub fn not_run(status: CommandStatus, error: String) -> Finished {
        Finished {
            status,
            exit_code: None,
            duration_ms: 0,
            truncated: false,
            error: Some(error),
            output_bytes_seen: 0,
        }
    }
}

/// Why a command is stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The server cancelled it; its result is not wanted.
    Cancelled,
    /// The agent is shutting down.
    AgentStopped,
}

enum Event {
    /// Output is waiting to be handed on.
    Data,
    /// [`FLUSH_BYTES`] are waiting.
    Full,
    /// The pipe closed.
    Eof,
    /// The main process exited (not reaped yet).
    Exited,
    Reaped(io::Result<ExitStatus>),
    Stop(StopReason),
}

/// The channel a command's [`execute`] listens on. Create it first, so
/// a [`Killer`] exists before the process does.
pub struct Control {
    tx: Sender<Event>,
    rx: Receiver<Event>,
}

impl Control {
    pub fn new() -> Control {
        let (tx, rx) = mpsc::channel();
        Control { tx, rx }
    }

    pub fn killer(&self) -> Killer {
        Killer(self.tx.clone())
    }
}

impl Default for Control {
    fn default() -> Self {
        Control::new()
    }
}

/// Stops a command from another thread: its process group is killed.
#[derive(Clone)]
pub struct Killer(Sender<Event>);

impl Killer {
    pub fn stop(&self, reason: StopReason) {
        let _ = self.0.send(Event::Stop(reason));
    }
}

/// A resolved user to run as.
#[derive(Debug, Clone)]
pub struct Account {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    /// Supplementary groups, the primary one included.
    pub groups: Vec<libc::gid_t>,
}

/// Looks a user up in the system's user database (`getpwnam_r`,
/// `getgrouplist`).
pub fn lookup_user(name: &str) -> Result<Account, String> {
    let cname = CString::new(name).map_err(|_| format!("{name:?} contains a NUL byte"))?;
    let mut buf = vec![0u8; 1024];
    // SAFETY: a zeroed passwd is a valid out-parameter (pointers null).
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    loop {
        // SAFETY: every pointer is valid for the call; buf outlives pwd's use.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 {
            return Err(format!(
                "cannot look up user {name:?}: {}",
                io::Error::from_raw_os_error(rc)
            ));
        }
        break;
    }
    if result.is_null() {
        return Err(format!("no such user {name:?}"));
    }
    let (uid, gid) = (pwd.pw_uid, pwd.pw_gid);
    let mut groups: Vec<libc::gid_t> = vec![0; 32];
    loop {
        let mut n = groups.len() as libc::c_int;
        // SAFETY: groups has room for n entries; n is updated to the count.
        let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            groups.truncate(n.max(0) as usize);
            break;
        }
        if groups.len() >= 65536 {
            return Err(format!("user {name:?} is in too many groups"));
        }
        let wanted = (n.max(0) as usize).max(groups.len() * 2);
        groups.resize(wanted, 0);
    }
    Ok(Account { uid, gid, groups })
}

/// Runs `inv` to its end, reporting to `sink`. Returns when the result is
/// known (the final [`Sink::finished`] was called).
pub fn execute(inv: &Invocation, control: Control, sink: &mut dyn Sink) {
    let start = Instant::now();
    let account = match &inv.user {
        None => None,
        Some(user) => match lookup_user(user) {
            Ok(a) => Some(a),
            Err(e) => {
                sink.finished(Finished::not_run(
                    CommandStatus::Failed,
                    format!("cannot run as user {user:?}: {e}"),
                ));
                return;
            }
        },
    };
    let (read_end, write_end) = match pipe() {
        Ok(p) => p,
        Err(e) => {
            sink.finished(Finished::not_run(
                CommandStatus::Failed,
                format!("cannot create the output pipe: {e}"),
            ));
            return;
        }
    };

    let output = Arc::new(Mutex::new(OutputBuf::new(inv.output_cap)));
    let (child_tx, child_rx) = mpsc::channel::<Child>();
    let (reap_tx, reap_rx) = mpsc::channel::<()>();
    // Threads first: if one cannot start, no process exists yet.
    let threads = (|| -> io::Result<()> {
        let (out, tx) = (output.clone(), control.tx.clone());
        std::thread::Builder::new()
            .name(format!("cmd-{}-out", inv.id))
            .stack_size(64 * 1024)
            .spawn(move || read_output(File::from(read_end), &out, &tx))?;
        let tx = control.tx.clone();
        std::thread::Builder::new()
            .name(format!("cmd-{}-wait", inv.id))
            .stack_size(64 * 1024)
            .spawn(move || wait_child(child_rx, &tx, reap_rx))?;
        Ok(())
    })();
    if let Err(e) = threads {
        sink.finished(Finished::not_run(
            CommandStatus::Failed,
            format!("cannot start a thread: {e}"),
        ));
        return;
    }

    let child = match spawn(inv, write_end, account) {
        Ok(child) => child,
        Err(e) => {
            let as_user = inv
                .user
                .as_ref()
                .map(|u| format!(" as user {u:?}"))
                .unwrap_or_default();
            sink.finished(Finished::not_run(
                CommandStatus::Failed,
                format!("cannot start {}{as_user}: {e}", inv.argv[0]),
            ));
            return;
        }
    };
    let pgid = child.id() as libc::pid_t;
    tracing::debug!(id = inv.id, pid = pgid, argv = ?inv.argv, "command started");
    sink.started();
    let _ = child_tx.send(child);

    let mut run = Run {
        rx: control.rx,
        _tx: control.tx,
        output,
        sink,
        flush_at: None,
        eof: false,
    };
    let deadline = start + inv.timeout;
    let mut ending: Option<Ending> = None;
    let mut exited_at: Option<Instant> = None;

    // Until the main process exits, the deadline passes or a stop arrives.
    while exited_at.is_none() && ending.is_none() {
        match run.wait(deadline) {
            None => ending = Some(Ending::TimedOut),
            Some(Event::Exited) => exited_at = Some(Instant::now()),
            Some(Event::Stop(reason)) => ending = Some(Ending::Stopped(reason)),
            Some(_) => {}
        }
    }
    if exited_at.is_none() {
        kill_group(pgid);
        let until = Instant::now() + KILL_GRACE;
        while exited_at.is_none() {
            match run.wait(until) {
                None => break,
                Some(Event::Exited) => exited_at = Some(Instant::now()),
                Some(_) => {}
            }
        }
        if exited_at.is_none() {
            tracing::error!(
                id = inv.id,
                pid = pgid,
                "a killed command has not exited after {KILL_GRACE:?} (uninterruptible sleep?); reporting without its status"
            );
        }
    } else {
        // Exited: give the rest of the output (and background processes of
        // the group) a moment, then clean up the group.
        let until = (Instant::now() + EXIT_GRACE).min(deadline.max(Instant::now()));
        while !run.eof {
            match run.wait(until) {
                None | Some(Event::Stop(_)) => break,
                Some(_) => {}
            }
        }
        kill_group(pgid);
    }
    if !run.eof {
        let until = Instant::now() + EOF_GRACE;
        while !run.eof && run.wait(until).is_some() {}
    }

    // The group is dead or abandoned: the process may now be reaped.
    let mut status = None;
    if exited_at.is_some() {
        let _ = reap_tx.send(());
        let until = Instant::now() + Duration::from_secs(1);
        while status.is_none() {
            match run.wait(until) {
                None => break,
                Some(Event::Reaped(s)) => status = Some(s),
                Some(_) => {}
            }
        }
    }
    drop(reap_tx);
    // Last output; whatever still arrives (from a process that left the
    // group) is discarded.
    let (rest, truncated, seen) = {
        let mut out = run.output.lock().unwrap_or_else(|e| e.into_inner());
        out.closed = true;
        (out.take(), out.truncated, out.seen)
    };
    if !rest.is_empty() {
        run.sink.output(rest);
    }
    let duration_ms = exited_at
        .unwrap_or_else(Instant::now)
        .duration_since(start)
        .as_millis() as u64;
    let exit_code = match &status {
        Some(Ok(s)) => s.code().or_else(|| s.signal().map(|sig| 128 + sig)),
        _ => None,
    };
    let (status, error) = match ending {
        Some(Ending::TimedOut) => (CommandStatus::TimedOut, None),
        Some(Ending::Stopped(StopReason::Cancelled)) => {
            (CommandStatus::Cancelled, Some("cancelled".to_owned()))
        }
        Some(Ending::Stopped(StopReason::AgentStopped)) => {
            (CommandStatus::Failed, Some("agent stopped".to_owned()))
        }
        None => match &status {
            Some(Ok(s)) if s.success() => (CommandStatus::Succeeded, None),
            Some(Ok(_)) => (CommandStatus::Failed, None),
            Some(Err(e)) => (
                CommandStatus::Failed,
                Some(format!("cannot read the exit status: {e}")),
            ),
            None => (
                CommandStatus::Failed,
                Some("the exit status could not be read".to_owned()),
            ),
        },
    };
    run.sink.finished(Finished {
        status,
        exit_code,
        duration_ms,
        truncated,
        error,
        output_bytes_seen: seen,
    });
}

#[derive(Debug, Clone, Copy)]
enum Ending {
    TimedOut,
    Stopped(StopReason),
}

/// The executor's side of a running command.
struct Run<'a> {
    rx: Receiver<Event>,
    /// Kept so the channel never disconnects while we wait on it.
    _tx: Sender<Event>,
    output: Arc<Mutex<OutputBuf>>,
    sink: &'a mut dyn Sink,
    /// When waiting output must be handed on.
    flush_at: Option<Instant>,
    eof: bool,
}

impl Run<'_> {
    /// The next event other than output, or `None` once `until` passed.
    /// Hands output on as it becomes due.
    fn wait(&mut self, until: Instant) -> Option<Event> {
        loop {
            let now = Instant::now();
            if self.flush_at.is_some_and(|at| at <= now) {
                self.flush();
            }
            if now >= until {
                return None;
            }
            let wake = self.flush_at.map_or(until, |at| at.min(until));
            match self.rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(Event::Data) => {
                    if self.flush_at.is_none() {
                        self.flush_at = Some(now + FLUSH_EVERY);
                    }
                }
                Ok(Event::Full) => self.flush(),
                Ok(Event::Eof) => {
                    self.eof = true;
                    return Some(Event::Eof);
                }
                Ok(event) => return Some(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("we hold a sender"),
            }
        }
    }

    fn flush(&mut self) {
        self.flush_at = None;
        let text = self.output.lock().unwrap_or_else(|e| e.into_inner()).take();
        if !text.is_empty() {
            self.sink.output(text);
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Starts the process. The `Command` (and with it the parent's copies of
/// the pipe's write end) is dropped on return, so the reader sees the end
/// of output when the last process holding it exits.
fn spawn(inv: &Invocation, out: OwnedFd, account: Option<Account>) -> io::Result<Child> {
    let mut cmd = Command::new(&inv.argv[0]);
    cmd.args(&inv.argv[1..])
        .env_clear()
        .envs(FIXED_ENV)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .process_group(0);
    if let Some(account) = account {
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe system calls on data prepared beforehand.
        unsafe {
            cmd.pre_exec(move || switch_user(&account));
        }
    }
    cmd.spawn()
}

/// In the child: drop to `account` (groups first, then gid, then uid).
fn switch_user(account: &Account) -> io::Result<()> {
    // SAFETY: plain system calls on valid pointers.
    unsafe {
        if libc::setgroups(account.groups.len(), account.groups.as_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setgid(account.gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setuid(account.uid) != 0 {
            return Err(io::Error::last_os_error());
        }
        // If root can be regained, the switch did not really happen.
        if account.uid != 0 && libc::setuid(0) == 0 {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
    }
    Ok(())
}

/// SIGKILL to every process of the group. Only called while the group
/// leader is unreaped, so the id cannot belong to anyone else.
fn kill_group(pgid: libc::pid_t) {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(-pgid, libc::SIGKILL) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ESRCH) {
            tracing::error!(pgid, error = %e, "cannot kill a command's process group");
        }
    }
}

fn read_output(mut pipe: File, out: &Mutex<OutputBuf>, tx: &Sender<Event>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let event = out
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(&buf[..n]);
                if let Some(event) = event {
                    let _ = tx.send(event);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out.lock().unwrap_or_else(|e| e.into_inner()).end();
    let _ = tx.send(Event::Eof);
}

fn wait_child(child_rx: Receiver<Child>, tx: &Sender<Event>, reap_rx: Receiver<()>) {
    let Ok(mut child) = child_rx.recv() else {
        return; // never started
    };
    let pid = child.id() as libc::id_t;
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // WNOWAIT: observe the exit, leave the zombie (and its group id).
        // SAFETY: info is a valid out-parameter.
        let rc =
            unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if rc == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    let _ = tx.send(Event::Exited);
    // Reap once the group was killed, or once the executor gave up on us.
    let _ = reap_rx.recv();
    let status = child.wait();
    let _ = tx.send(Event::Reaped(status));
}

/// Output between the reader and the executor: decoded, capped, bounded.
struct OutputBuf {
    cap: usize,
    /// Bytes of text kept so far (handed on or pending).
    kept: usize,
    pending: String,
    /// The start of a UTF-8 sequence cut by the end of a read (≤ 3 bytes).
    carry: Vec<u8>,
    truncated: bool,
    /// The executor is done: discard everything.
    closed: bool,
    seen: u64,
    data_signalled: bool,
    full_signalled: bool,
}

impl OutputBuf {
    fn new(cap: usize) -> OutputBuf {
        OutputBuf {
            cap,
            kept: 0,
            pending: String::new(),
            carry: Vec::new(),
            truncated: false,
            closed: false,
            seen: 0,
            data_signalled: false,
            full_signalled: false,
        }
    }

    /// Adds bytes read from the pipe; says whether the executor should be
    /// told.
    fn push(&mut self, bytes: &[u8]) -> Option<Event> {
        self.seen += bytes.len() as u64;
        if self.closed || self.truncated {
            return None;
        }
        let joined;
        let mut rest: &[u8] = if self.carry.is_empty() {
            bytes
        } else {
            joined = [self.carry.as_slice(), bytes].concat();
            self.carry.clear();
            &joined
        };
        while !self.truncated {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.keep(text);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.keep(std::str::from_utf8(valid).expect("checked valid"));
                    match e.error_len() {
                        Some(n) => {
                            self.keep("\u{FFFD}");
                            rest = &after[n..];
                        }
                        None => {
                            // An incomplete sequence at the end: wait for the rest.
                            self.carry.extend_from_slice(after);
                            break;
                        }
                    }
                }
            }
        }
        if self.pending.len() >= FLUSH_BYTES && !self.full_signalled {
            self.full_signalled = true;
            self.data_signalled = true;
            Some(Event::Full)
        } else if !self.pending.is_empty() && !self.data_signalled {
            self.data_signalled = true;
            Some(Event::Data)
        } else {
            None
        }
    }

    /// Keeps as much of `text` as the cap allows, cut at a character
    /// boundary.
    fn keep(&mut self, text: &str) {
        let room = self.cap - self.kept;
        let take = if text.len() <= room {
            text
        } else {
            self.truncated = true;
            crate::actions::clip(text, room)
        };
        self.pending.push_str(take);
        self.kept += take.len();
    }

    /// The pipe closed: a cut sequence at the very end is invalid.
    fn end(&mut self) {
        if !self.carry.is_empty() && !self.closed && !self.truncated {
            self.carry.clear();
            self.keep("\u{FFFD}");
        }
    }

    fn take(&mut self) -> String {
        self.data_signalled = false;
        self.full_signalled = false;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(buf: &mut OutputBuf, pieces: &[&[u8]]) -> String {
        for p in pieces {
            buf.push(p);
        }
        buf.end();
        buf.take()
    }

    #[test]
    fn a_character_cut_between_reads_is_not_split() {
        let euro = "€".as_bytes(); // 3 bytes
        let mut buf = OutputBuf::new(1024);
        buf.push(b"a");
        buf.push(&euro[..1]);
        assert_eq!(buf.take(), "a", "the cut character waits");
        buf.push(&euro[1..2]);
        assert_eq!(buf.take(), "");
        buf.push(&[euro[2], b'b']);
        assert_eq!(buf.take(), "€b");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut buf = OutputBuf::new(1024);
        assert_eq!(
            all(&mut buf, &[b"a\xffb", b"\xe2\x82"]),
            "a\u{FFFD}b\u{FFFD}"
        );
        let mut buf = OutputBuf::new(1024);
        assert_eq!(all(&mut buf, &[b"\xe2\x82", b"x"]), "\u{FFFD}x");
    }

    #[test]
    fn the_cap_counts_kept_text_and_cuts_at_a_character_boundary() {
        let mut buf = OutputBuf::new(5);
        assert_eq!(all(&mut buf, &["ab€€".as_bytes()]), "ab€");
        assert!(buf.truncated);
        assert_eq!(buf.seen, 8);
        let mut exact = OutputBuf::new(5);
        assert_eq!(all(&mut exact, &[b"abcde"]), "abcde");
        assert!(!exact.truncated, "exactly the cap is not truncated");
        exact.push(b"f");
        assert!(exact.truncated);
        assert_eq!(exact.take(), "");
        assert_eq!(exact.seen, 6);
    }

    #[test]
    fn the_executor_is_told_once_per_batch() {
        let mut buf = OutputBuf::new(1 << 20);
        assert!(matches!(buf.push(b"x"), Some(Event::Data)));
        assert!(buf.push(b"y").is_none());
        assert!(matches!(buf.push(&[b'z'; FLUSH_BYTES]), Some(Event::Full)));
        assert!(buf.push(b"w").is_none());
        assert_eq!(buf.take().len(), FLUSH_BYTES + 3);
        assert!(matches!(buf.push(b"v"), Some(Event::Data)));
    }

    #[test]
    fn lookup_finds_root_and_refuses_unknown_users() {
        let root = lookup_user("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        assert!(
            lookup_user("no-such-user-lxmon")
                .unwrap_err()
                .contains("no such user")
        );
        assert!(lookup_user("a\0b").is_err());
    }
}
