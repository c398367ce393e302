//! The command queue against a real server, with the test speaking the
//! agent's side of the protocol: delivery by long-poll, streamed results,
//! cancellation, expiry, restart, and agents kept to their own commands.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    admin: Api,
    agent: Api,
    host: i64,
}

fn actions() -> Value {
    json!([
        {"name": "uptime", "timeout_s": 5},
        {"name": "restart-unit", "description": "Restart a unit", "timeout_s": 60,
         "params": [{"name": "unit", "pattern": "[a-z0-9@._-]+\\.service"}]}
    ])
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let key = server.create_key("cmd");
    let agent = Api::as_agent(&server.url(), &key);
    let r = agent.post_json(
        "/api/agent/register",
        &json!({"hostname": "cmd-host", "actions": actions()}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let host = r.body["server_id"].as_i64().unwrap();
    Fixture {
        _dir: dir,
        admin: Api::logged_in(&server.url()),
        server,
        agent,
        host,
    }
}

fn run(api: &Api, host: i64, body: Value) -> Reply {
    api.post_json(&format!("/api/servers/{host}/command"), &body)
}

fn update(agent: &Api, id: i64, seq: u32, status: &str, output: &str, extra: Value) -> Reply {
    let mut body = json!({"id": id, "seq": seq, "status": status, "output": output});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    agent.post_json("/api/agent/command-result", &body)
}

#[test]
fn a_command_reaches_a_waiting_agent_at_once_and_its_output_streams_back() {
    let f = fixture();
    let announced = f.admin.get(&format!("/api/servers/{}", f.host)).body["actions"].clone();
    assert_eq!(
        announced[1]["params"][0]["pattern"], "[a-z0-9@._-]+\\.service",
        "{announced}"
    );
    assert_eq!(announced.as_array().unwrap().len(), 2);
    // The agent is already waiting when the command is queued.
    let agent_url = f.server.url();
    let key = f.agent.token.clone().unwrap();
    let waiter = std::thread::spawn(move || {
        let agent = Api::as_agent(&agent_url, &key);
        let r = agent.get("/api/agent/commands?wait=20");
        (Instant::now(), r)
    });
    std::thread::sleep(Duration::from_millis(500));
    let queued_at = Instant::now();
    let r = run(
        &f.admin,
        f.host,
        json!({"action": "restart-unit", "args": {"unit": "nginx.service"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let id = r.body["id"].as_i64().unwrap();
    let (delivered_at, poll) = waiter.join().unwrap();
    assert_eq!(poll.status, 200);
    let latency = delivered_at.duration_since(queued_at);
    assert!(
        latency < Duration::from_millis(500),
        "delivery took {latency:?}"
    );
    assert_eq!(
        poll.body["commands"],
        json!([{"id": id, "action": "restart-unit", "args": {"unit": "nginx.service"}}])
    );
    let status = |api: &Api| api.get(&format!("/api/commands/{id}/status")).body;
    assert_eq!(status(&f.admin)["status"], "delivered");

    assert_eq!(
        update(&f.agent, id, 0, "running", "", json!({})).body,
        json!({"stored": true, "cancelled": false})
    );
    assert_eq!(
        update(&f.agent, id, 1, "running", "Restarting ", json!({})).status,
        200
    );
    // A resent chunk is stored once.
    assert_eq!(
        update(&f.agent, id, 1, "running", "Restarting ", json!({})).body["stored"],
        false
    );
    let s = status(&f.admin);
    assert_eq!(
        (s["status"].as_str(), s["output"].as_str()),
        (Some("running"), Some("Restarting "))
    );
    let r = update(
        &f.agent,
        id,
        2,
        "succeeded",
        "nginx\n",
        json!({"exit_code": 0, "duration_ms": 120}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let s = status(&f.admin);
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["output"], "Restarting nginx\n");
    assert_eq!(
        (s["exit_code"].as_i64(), s["duration_ms"].as_i64()),
        (Some(0), Some(120))
    );
    assert!(s["finished_at"].is_i64() && s["started_at"].is_i64() && s["delivered_at"].is_i64());
    // A late update after the end changes nothing.
    assert_eq!(
        update(&f.agent, id, 3, "failed", "late", json!({})).body["stored"],
        false
    );
    assert_eq!(status(&f.admin)["status"], "succeeded");

    let history = f
        .admin
        .get(&format!("/api/servers/{}/commands", f.host))
        .body;
    assert_eq!(history[0]["id"], id);
    assert!(history[0].get("output").is_none(), "history omits output");
    let audit = f.admin.get("/api/audit?action=command.").body.to_string();
    assert!(
        audit.contains("command.run") && audit.contains("command.result"),
        "{audit}"
    );
    assert!(
        audit.contains("nginx.service"),
        "arguments are audited: {audit}"
    );
}

#[test]
fn requests_the_agent_would_refuse_are_refused_up_front() {
    let f = fixture();
    for (body, what) in [
        (json!({"action": "rm-rf"}), "unknown action"),
        (json!({"action": "restart-unit"}), "missing argument"),
        (
            json!({"action": "restart-unit", "args": {"unit": "nginx.service; rm -rf /"}}),
            "metacharacters",
        ),
        (
            json!({"action": "restart-unit", "args": {"unit": "$(reboot).service"}}),
            "substitution",
        ),
        (
            json!({"action": "restart-unit", "args": {"unit": "a.service\nb.service"}}),
            "newline",
        ),
        (
            json!({"action": "restart-unit", "args": {"unit": "x.service", "extra": "1"}}),
            "undeclared argument",
        ),
        (
            json!({"action": "uptime", "args": {"x": "1"}}),
            "argument to an action without parameters",
        ),
    ] {
        let r = run(&f.admin, f.host, body);
        assert_eq!(r.status, 422, "{what}: {}", r.body);
    }
    assert_eq!(
        run(&f.admin, 999_999, json!({"action": "uptime"})).status,
        404
    );
    let poll = f.agent.get("/api/agent/commands?wait=0").body;
    assert_eq!(poll["commands"], json!([]), "nothing was queued");
}

#[test]
fn cancellation_before_and_during_a_run() {
    let f = fixture();
    let id = run(&f.admin, f.host, json!({"action": "uptime"})).body["id"]
        .as_i64()
        .unwrap();
    let r = f
        .admin
        .post_json(&format!("/api/commands/{id}/cancel"), &json!({}));
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("cancelled"))
    );
    let poll = f.agent.get("/api/agent/commands?wait=0").body;
    assert_eq!(
        poll,
        json!({"commands": [], "cancel": []}),
        "a cancelled pending command is never delivered"
    );
    assert_eq!(
        f.admin
            .post_json(&format!("/api/commands/{id}/cancel"), &json!({}))
            .status,
        409
    );

    let id = run(&f.admin, f.host, json!({"action": "uptime"})).body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        f.agent.get("/api/agent/commands?wait=0").body["commands"][0]["id"],
        id
    );
    update(&f.agent, id, 0, "running", "", json!({}));
    let started = Instant::now();
    let agent_url = f.server.url();
    let key = f.agent.token.clone().unwrap();
    let waiter = std::thread::spawn(move || {
        Api::as_agent(&agent_url, &key)
            .get("/api/agent/commands?wait=20")
            .body
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        f.admin
            .post_json(&format!("/api/commands/{id}/cancel"), &json!({}))
            .status,
        200
    );
    let poll = waiter.join().unwrap();
    assert_eq!(
        poll["cancel"],
        json!([id]),
        "the waiting agent is told to stop it"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let r = update(
        &f.agent,
        id,
        1,
        "failed",
        "killed\n",
        json!({"exit_code": 137}),
    );
    assert_eq!(r.body["cancelled"], true);
    let s = f.admin.get(&format!("/api/commands/{id}/status")).body;
    assert_eq!(
        (s["status"].as_str(), s["output"].as_str()),
        (Some("cancelled"), Some("killed\n"))
    );
}

#[test]
fn commands_survive_a_restart_and_expire_when_nobody_picks_them_up() {
    let mut f = fixture();
    let id = run(&f.admin, f.host, json!({"action": "uptime"})).body["id"]
        .as_i64()
        .unwrap();
    f.server.kill9();
    f.server.restart();
    let poll = f.agent.get("/api/agent/commands?wait=0").body;
    assert_eq!(
        poll["commands"][0]["id"], id,
        "queued before the restart, delivered after"
    );
    // A command whose time to live passed (made directly in the store: the
    // API's is ten minutes) expires instead of running late.
    {
        use lxmon_store::Store;
        let store = lxmon_store::SqliteStore::open(lxmon_store::StoreOptions::new(
            f.server.data_dir.join("lxmon.sqlite"),
        ))
        .unwrap();
        store
            .create_command(
                1,
                f.host,
                "uptime",
                &Default::default(),
                "test",
                now_ms() - 10_000,
                5_000,
            )
            .unwrap();
    }
    let poll = f.agent.get("/api/agent/commands?wait=0").body;
    assert_eq!(poll["commands"], json!([]));
    let admin = Api::logged_in(&f.server.url());
    let history = admin.get(&format!("/api/servers/{}/commands", f.host)).body;
    assert_eq!(history[0]["status"], "expired", "{history}");
}

#[test]
fn an_agent_gets_and_answers_only_its_own_commands() {
    let f = fixture();
    let key2 = f.server.create_key("other");
    let other = Api::as_agent(&f.server.url(), &key2);
    assert_eq!(
        other.get("/api/agent/commands?wait=0").status,
        409,
        "must register first"
    );
    assert_eq!(
        other
            .post_json(
                "/api/agent/register",
                &json!({"hostname": "other-host", "actions": actions()})
            )
            .status,
        200
    );
    let id = run(&f.admin, f.host, json!({"action": "uptime"})).body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        other.get("/api/agent/commands?wait=0").body["commands"],
        json!([])
    );
    let r = update(
        &other,
        id,
        0,
        "succeeded",
        "forged",
        json!({"exit_code": 0}),
    );
    assert_eq!(r.status, 404);
    let r = f.agent.get("/api/agent/commands?wait=0");
    assert_eq!(r.body["commands"][0]["id"], id);
    let s = f.admin.get(&format!("/api/commands/{id}/status")).body;
    assert_eq!(
        (s["status"].as_str(), s["output"].as_str()),
        (Some("delivered"), Some(""))
    );
    // Oversized chunks are refused.
    let big = "x".repeat(70 * 1024);
    assert_eq!(
        update(&f.agent, id, 0, "running", &big, json!({})).status,
        413
    );
}
