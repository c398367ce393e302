//! Harness for end-to-end tests: the real `lxmon-server` and `lxmon-agent`
//! binaries as child processes on loopback, and a small HTTP client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ADMIN_PASSWORD: &str = "e2e-admin-password";

pub fn server_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lxmon-server"))
}

/// The agent binary, built beside the server by `cargo build --workspace`
/// (the README's test command does that first).
pub fn agent_bin() -> PathBuf {
    let path = server_bin().with_file_name("lxmon-agent");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Polls `f` every 100 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

fn signal(child: &Child, sig: i32) {
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    args: Vec<String>,
}

impl Server {
    /// Starts a server on `port` with its store in `data_dir`.
    pub fn start(data_dir: &Path, port: u16, args: &[&str]) -> Server {
        let mut server = Server {
            child: None,
            port,
            data_dir: data_dir.to_owned(),
            args: args.iter().map(|s| s.to_string()).collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.with_extension("server.log"))
            .unwrap();
        let mut child = Command::new(server_bin())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.args)
            .env("LXMON_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LXMON_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        // The banner's first line says the listener is bound.
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(
            line.contains("listening on"),
            "unexpected server output {line:?}"
        );
        std::thread::spawn(move || for _ in stdout.lines() {});
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGKILL);
            child.wait().unwrap();
        }
    }

    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            child.wait().unwrap();
        }
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        self.spawn();
    }

    /// Runs `lxmon-server agent-key create` against this data dir.
    pub fn create_key(&self, name: &str) -> String {
        create_key(&self.data_dir, name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn create_key(data_dir: &Path, name: &str) -> String {
    let out = Command::new(server_bin())
        .args(["agent-key", "create", "--name", name, "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(key.starts_with("lxk_"), "{stdout}");
    key
}

/// A running agent; SIGTERM on drop so it flushes like under systemd.
pub struct Agent {
    child: Option<Child>,
}

impl Agent {
    pub fn start(server_url: &str, key: &str, spool_dir: &Path, args: &[&str]) -> Agent {
        let log = std::fs::File::create(spool_dir.with_extension("agent.log")).unwrap();
        let child = Command::new(agent_bin())
            .args(["--server", server_url, "--spool-dir"])
            .arg(spool_dir)
            .args(args)
            .env("LXMON_KEY", key)
            .env("LXMON_LOG_LEVEL", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Agent { child: Some(child) }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            let status = child.wait().unwrap();
            assert!(status.success(), "agent exited with {status}");
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            let _ = child.wait();
        }
    }
}

/// An HTTP client for the API; every status is returned, none is an error.
pub struct Api {
    http: ureq::Agent,
    pub base: String,
    pub token: Option<String>,
    /// Sent with every request (e.g. `x-lxmon-tenant`).
    pub headers: Vec<(String, String)>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Api {
    pub fn new(base: &str) -> Api {
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            // The server closes a connection whose request body it refused
            // unread (auth failures); a fresh connection per request keeps
            // the tests from racing that close.
            .max_idle_connections(0)
            .build()
            .into();
        Api {
            http,
            base: base.to_owned(),
            token: None,
            headers: Vec::new(),
        }
    }

    /// Logs in as `username`; panics unless it works.
    pub fn login_as(base: &str, username: &str, password: &str) -> Api {
        let mut api = Api::new(base);
        let r = api.post_json(
            "/api/auth/login",
            &serde_json::json!({"username": username, "password": password}),
        );
        assert_eq!(r.status, 200, "login {username}: {}", r.body);
        api.token = Some(r.body["token"].as_str().unwrap().to_owned());
        api
    }

    /// Any method, optional JSON body.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let payload = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                serde_json::to_vec(b).unwrap()
            }
            None => Vec::new(),
        };
        let request = builder.body(payload).unwrap();
        Self::finish(self.http.run(request).unwrap())
    }

    pub fn logged_in(base: &str) -> Api {
        let mut api = Api::new(base);
        let r = api.post_json(
            "/api/auth/login",
            &serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        api.token = Some(r.body["token"].as_str().unwrap().to_owned());
        api
    }

    fn finish(mut resp: ureq::http::Response<ureq::Body>) -> Reply {
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).unwrap(),
        )
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::finish(req.send(&body[..]).unwrap())
    }

    /// A client authenticated with an agent key instead of a session.
    pub fn as_agent(base: &str, key: &str) -> Api {
        let mut api = Api::new(base);
        api.token = Some(key.to_owned());
        api
    }

    /// Series values of one host: (timestamps, series).
    pub fn series(&self, host: i64, query: &str) -> Value {
        let r = self.get(&format!("/api/servers/{host}/metrics?{query}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }
}

/// A minimal valid report body.
pub fn report(seq: u64, ts: i64, cpu: f64) -> Value {
    serde_json::json!({
        "v": 1, "host": {"hostname": "e2e-host"}, "ts": ts, "interval_s": 10, "seq": seq,
        "metrics": [
            {"n": "cpu.usage_percent", "v": cpu},
            {"n": "fs.used_bytes", "l": {"mount": "/"}, "v": 1000},
        ]
    })
}

/// Reads a value from /proc/meminfo in bytes.
pub fn meminfo_bytes(field: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024.0
}

/// Sends only the request head, declaring a body of `len` bytes, and reads
/// the answer: a server that checks the declared length answers at once.
pub fn post_declaring_length(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    len: usize,
) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {len}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// Streams `len` bytes chunked (no declared length) and reads the answer.
pub fn post_chunked(base: &str, path: &str, headers: &[(&str, &str)], len: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        let n = chunk.len().min(len - sent);
        // The server may answer and close before everything is sent.
        if write!(s, "{n:x}\r\n")
            .and_then(|_| s.write_all(&chunk[..n]))
            .and_then(|_| s.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
        sent += n;
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}
