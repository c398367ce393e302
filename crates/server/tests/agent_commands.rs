//! Remote commands end to end: the real server, the real agent binary with
//! an allowlist in its config file, real processes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn agent_config(dir: &Path, scratch: &Path) -> std::path::PathBuf {
    let path = dir.join("agent.toml");
    let text = format!(
        r#"
[[actions]]
name = "echo"
description = "Print a message"
argv = ["/bin/echo", "{{msg}}"]
timeout_s = 5
[actions.params.msg]
# Deliberately lets shell metacharacters through: they must arrive as text.
pattern = "[A-Za-z0-9 ;$()`/._-]+"

[[actions]]
name = "fail"
argv = ["/bin/false"]
timeout_s = 5

[[actions]]
name = "hang"
argv = ["/bin/sleep", "30"]
timeout_s = 1

[[actions]]
name = "slow-hello"
argv = ["/bin/sh", "-c", "sleep 4; echo done"]
timeout_s = 30

[[actions]]
name = "touch"
argv = ["/usr/bin/touch", "{scratch}/{{name}}"]
timeout_s = 5
[actions.params.name]
pattern = "[a-z]+"
"#,
        scratch = scratch.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

struct Fixture {
    dir: tempfile::TempDir,
    server: Server,
    _agent: Agent,
    admin: Api,
    host: i64,
    scratch: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let key = server.create_key("cmd-agent");
    let config = agent_config(dir.path(), &scratch);
    let agent = Agent::start(
        &server.url(),
        &key,
        &dir.path().join("spool"),
        &["--interval", "5", "--config", config.to_str().unwrap()],
    );
    let admin = Api::logged_in(&server.url());
    let mut host = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            host = admin
                .get("/api/servers")
                .body
                .as_array()
                .and_then(|a| a.first())
                .and_then(|h| h["id"].as_i64());
            host.is_some()
        }),
        "agent never registered"
    );
    Fixture {
        dir,
        server,
        _agent: agent,
        admin,
        host: host.unwrap(),
        scratch,
    }
}

fn run(f: &Fixture, action: &str, args: Value) -> i64 {
    let r = f.admin.post_json(
        &format!("/api/servers/{}/command", f.host),
        &json!({"action": action, "args": args}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn wait_final(api: &Api, id: i64, timeout: Duration) -> Value {
    let mut last = Value::Null;
    let done = wait_until(timeout, || {
        let r = api.get(&format!("/api/commands/{id}/status"));
        last = r.body;
        !["pending", "delivered", "running"].contains(&last["status"].as_str().unwrap_or("pending"))
    });
    assert!(done, "command {id} did not finish: {last}");
    last
}

#[test]
fn allowed_actions_run_and_their_results_come_back() {
    let f = fixture();
    let announced = f.admin.get(&format!("/api/servers/{}", f.host)).body["actions"].clone();
    let names: Vec<&str> = announced
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "fail", "hang", "slow-hello", "touch"]);
    assert!(
        !announced.to_string().contains("/bin/"),
        "argv is never announced: {announced}"
    );

    let started = Instant::now();
    let id = run(&f, "echo", json!({"msg": "hello fleet"}));
    let s = wait_final(&f.admin, id, Duration::from_secs(10));
    assert_eq!(
        (s["status"].as_str(), s["exit_code"].as_i64()),
        (Some("succeeded"), Some(0)),
        "{s}"
    );
    assert_eq!(s["output"], "hello fleet\n");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "round trip took {:?}",
        started.elapsed()
    );

    let s = wait_final(
        &f.admin,
        run(&f, "fail", json!({})),
        Duration::from_secs(10),
    );
    assert_eq!(
        (s["status"].as_str(), s["exit_code"].as_i64()),
        (Some("failed"), Some(1)),
        "{s}"
    );

    let s = wait_final(
        &f.admin,
        run(&f, "hang", json!({})),
        Duration::from_secs(15),
    );
    assert_eq!(s["status"], "timed_out", "{s}");
    assert!(s["duration_ms"].as_i64().unwrap() < 5000);
}

#[test]
fn arguments_are_data_never_shell() {
    let f = fixture();
    let pwned = f.scratch.join("pwned");
    let msg = format!(
        "; touch {} ; $(touch {}) `touch {}`",
        pwned.display(),
        pwned.display(),
        pwned.display()
    );
    let s = wait_final(
        &f.admin,
        run(&f, "echo", json!({"msg": msg})),
        Duration::from_secs(10),
    );
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(
        s["output"],
        format!("{msg}\n"),
        "echo printed the argument as one literal word"
    );
    assert!(!pwned.exists(), "an argument was interpreted by a shell");
    // The server refuses what the pattern does not allow, before queueing.
    let r = f.admin.post_json(
        &format!("/api/servers/{}/command", f.host),
        &json!({"action": "touch", "args": {"name": "a;b"}}),
    );
    assert_eq!(r.status, 422);
}

#[test]
fn an_action_the_agent_does_not_list_is_refused_by_the_agent() {
    let f = fixture();
    // Bypass the API's check, as a compromised server would.
    {
        use lxmon_store::Store;
        let store = lxmon_store::SqliteStore::open(lxmon_store::StoreOptions::new(
            f.server.data_dir.join("lxmon.sqlite"),
        ))
        .unwrap();
        let args = [("name".to_owned(), "evil".to_owned())].into();
        let c = store
            .create_command(
                1,
                f.host,
                "rm-everything",
                &args,
                "attacker",
                now_ms(),
                60_000,
            )
            .unwrap();
        let c2 = store
            .create_command(
                1,
                f.host,
                "touch",
                &[("name".to_owned(), "a/../../b".to_owned())].into(),
                "attacker",
                now_ms(),
                60_000,
            )
            .unwrap();
        drop(store);
        for id in [c.id, c2.id] {
            // Wake the agent's long-poll: any API command for the host does it.
            let s = wait_final(&f.admin, id, Duration::from_secs(40));
            assert_eq!(s["status"], "rejected", "{s}");
            assert!(s["exit_code"].is_null(), "nothing ran: {s}");
            assert!(!s["error"].as_str().unwrap_or("").is_empty(), "{s}");
        }
    }
    assert_eq!(
        std::fs::read_dir(&f.scratch).unwrap().count(),
        0,
        "no action ran"
    );
    let _ = f.dir.path();
}

#[test]
fn a_result_lands_even_when_the_server_restarts_mid_command() {
    let mut f = fixture();
    let id = run(&f, "slow-hello", json!({}));
    assert!(wait_until(Duration::from_secs(10), || {
        f.admin.get(&format!("/api/commands/{id}/status")).body["status"] == "running"
    }));
    f.server.kill9();
    std::thread::sleep(Duration::from_secs(2));
    f.server.restart();
    let admin = Api::logged_in(&f.server.url());
    let s = wait_final(&admin, id, Duration::from_secs(60));
    assert_eq!(
        (s["status"].as_str(), s["output"].as_str()),
        (Some("succeeded"), Some("done\n")),
        "{s}"
    );
}
