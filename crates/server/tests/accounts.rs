//! Accounts against a real server: the role matrix and the tenant-isolation
//! matrix, both generated from the route table and the OpenAPI document, then
//! each attack the accounts issue lists.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use lxmon_server::http::authz::{Access, ROUTES, allows};
use lxmon_store::Role;
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse-battery";

/// Two tenants with data, and a logged-in client per role.
struct World {
    _dir: tempfile::TempDir,
    server: Server,
    admin: Api,
    a: TenantData,
    b: TenantData,
}

struct TenantData {
    id: i64,
    admin: Api,
    reporter: Api,
    admin_user_id: i64,
    host_id: i64,
    key: String,
    key_id: String,
    token_id: i64,
    command_id: i64,
    check_id: i64,
    page_id: i64,
    rule_id: i64,
    channel_id: i64,
    silence_id: i64,
    window_id: i64,
    webhook_id: i64,
    alert_id: i64,
    /// Strings that belong to this tenant alone.
    markers: Vec<String>,
}

fn as_tenant(base: &str, token: &str, tenant: i64) -> Api {
    let mut api = Api::new(base);
    api.token = Some(token.to_owned());
    api.headers
        .push(("x-lxmon-tenant".into(), tenant.to_string()));
    api
}

fn populate(server: &Server, admin: &Api, name: &str) -> TenantData {
    let r = admin.post_json("/api/tenants", &json!({"name": name}));
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let scoped = as_tenant(&server.url(), admin.token.as_deref().unwrap(), id);
    let admin_name = format!("{name}-admin");
    let reporter_name = format!("{name}-reporter");
    let r = scoped.post_json(
        "/api/users",
        &json!({"username": admin_name, "role": "tenant_admin", "password": PASSWORD}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let admin_user_id = r.body["user"]["id"].as_i64().unwrap();
    assert_eq!(r.body["user"]["tenant_id"], id);
    let r = scoped.post_json(
        "/api/users",
        &json!({"username": reporter_name, "role": "tenant_reporter", "password": PASSWORD}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let tenant_admin = Api::login_as(&server.url(), &admin_name, PASSWORD);
    let r = tenant_admin.post_json("/api/agent-keys", &json!({"name": format!("{name}-key")}));
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let key_id = r.body["info"]["key_id"].as_str().unwrap().to_owned();
    let agent = Api::as_agent(&server.url(), &key);
    let hostname = format!("{name}-host");
    let action = format!("{name}-uptime");
    let r = agent.post_json(
        "/api/agent/register",
        &json!({"hostname": hostname, "labels": {"team": format!("{name}-team")}, "actions": [{"name": action, "timeout_s": 5}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let host_id = r.body["server_id"].as_i64().unwrap();
    let mut rep = report(1, now_ms() - 1000, 12.0);
    rep["host"]["hostname"] = json!(hostname);
    assert_eq!(agent.post_json("/api/agent/metrics", &rep).status, 200);
    let r = tenant_admin.post_json(
        "/api/enrollment-tokens",
        &json!({"name": format!("{name}-token"), "labels": {"site": format!("{name}-site")}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let token_id = r.body["info"]["id"].as_i64().unwrap();
    let r = tenant_admin.post_json(
        &format!("/api/servers/{host_id}/command"),
        &json!({"action": action}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let command_id = r.body["id"].as_i64().unwrap();
    let r = tenant_admin.post_json(
        "/api/checks",
        &json!({"name": format!("{name}-check"), "enabled": false, "spec": {"type": "tcp", "host": format!("{name}.internal"), "port": 5432}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let check_id = r.body["id"].as_i64().unwrap();
    let r = tenant_admin.post_json(
        "/api/status-pages",
        &json!({"title": format!("{name}-page"), "check_ids": [check_id]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let page_id = r.body["id"].as_i64().unwrap();
    let created = |path: &str, body: serde_json::Value| {
        let r = tenant_admin.post_json(path, &body);
        assert_eq!(r.status, 201, "{path}: {}", r.body);
        r.body
    };
    let rule_id = created(
        "/api/alert-rules",
        json!({"name": format!("{name}-rule"), "severity": "warning",
               "condition": {"type": "threshold", "metric": "cpu.usage_percent", "op": ">", "value": 99}}),
    )["id"]
        .as_i64()
        .unwrap();
    let channel_id = created(
        "/api/channels",
        json!({"name": format!("{name}-channel"),
               "config": {"kind": "webhook", "url": format!("http://{name}.internal/hook"), "secret": format!("{name}-hmac")}}),
    )["id"]
        .as_i64()
        .unwrap();
    let silence_id = created(
        "/api/silences",
        json!({"matchers": [{"name": "host", "op": "=", "value": format!("{name}-silenced")}],
               "ends_at": common::now_ms() + 3_600_000, "comment": "fixture"}),
    )["id"]
        .as_i64()
        .unwrap();
    let window_id = created(
        "/api/maintenance-windows",
        json!({"name": format!("{name}-window"), "cron": "0 2 * * sun", "duration_minutes": 60, "utc_offset_minutes": 0}),
    )["id"]
        .as_i64()
        .unwrap();
    let webhook = created(
        "/api/incoming-webhooks",
        json!({"name": format!("{name}-webhook")}),
    );
    let webhook_id = webhook["id"].as_i64().unwrap();
    let body = serde_json::to_vec(&json!({"name": format!("{name}-external"), "severity": "info"}))
        .unwrap();
    let signature = lxmon_notify::sign(webhook["secret"].as_str().unwrap().as_bytes(), &body);
    let r = Api::new(&server.url()).post(
        &format!("/api/webhooks/{webhook_id}"),
        &[
            ("content-type", "application/json"),
            ("x-lxmon-signature", &signature),
        ],
        body,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let r = tenant_admin.get("/api/alerts?source=webhook");
    let alert_id = r.body[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", r.body));
    TenantData {
        id,
        reporter: Api::login_as(&server.url(), &reporter_name, PASSWORD),
        admin: tenant_admin,
        admin_user_id,
        host_id,
        key,
        markers: vec![
            hostname,
            admin_name,
            reporter_name,
            key_id.clone(),
            format!("{name}-token"),
            format!("{name}-team"),
            format!("{name}-key"),
            action,
            format!("{name}-check"),
            format!("{name}.internal"),
            format!("{name}-page"),
            format!("{name}-rule"),
            format!("{name}-channel"),
            format!("{name}-silenced"),
            format!("{name}-window"),
            format!("{name}-webhook"),
            format!("{name}-external"),
        ],
        key_id,
        token_id,
        command_id,
        check_id,
        page_id,
        rule_id,
        channel_id,
        silence_id,
        window_id,
        webhook_id,
        alert_id,
    }
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let admin = Api::logged_in(&server.url());
    let a = populate(&server, &admin, "alpha");
    let b = populate(&server, &admin, "beta");
    World {
        _dir: dir,
        server,
        admin,
        a,
        b,
    }
}

/// `(method, path)` of every operation in the OpenAPI document.
fn documented_routes(api: &Api) -> BTreeSet<(String, String)> {
    let doc = api.get("/api/openapi.json").body;
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Fills a route's path parameters with the given tenant's objects.
fn fill(path: &str, t: &TenantData) -> String {
    let value = if path.starts_with("/api/servers/") {
        t.host_id.to_string()
    } else if path.starts_with("/api/users/") {
        t.admin_user_id.to_string()
    } else if path.starts_with("/api/agent-keys/") {
        t.key_id.clone()
    } else if path.starts_with("/api/enrollment-tokens/") {
        t.token_id.to_string()
    } else if path.starts_with("/api/checks/") {
        t.check_id.to_string()
    } else if path.starts_with("/api/status-pages/") {
        t.page_id.to_string()
    } else if path.starts_with("/api/commands/") {
        t.command_id.to_string()
    } else if path.starts_with("/api/alerts/") {
        t.alert_id.to_string()
    } else if path.starts_with("/api/alert-rules/") {
        t.rule_id.to_string()
    } else if path.starts_with("/api/channels/") {
        t.channel_id.to_string()
    } else if path.starts_with("/api/silences/") {
        t.silence_id.to_string()
    } else if path.starts_with("/api/maintenance-windows/") {
        t.window_id.to_string()
    } else if path.starts_with("/api/incoming-webhooks/") || path.starts_with("/api/webhooks/") {
        t.webhook_id.to_string()
    } else if path.starts_with("/api/tenants/") {
        t.id.to_string()
    } else {
        assert!(
            !path.contains('{'),
            "no fixture object for {path}: extend `fill` so the matrix covers it"
        );
        return path.to_owned();
    };
    let start = path.find('{').unwrap();
    let end = path.find('}').unwrap();
    format!("{}{value}{}", &path[..start], &path[end + 1..])
}

fn is_stream(path: &str) -> bool {
    path == "/api/events"
}

#[test]
fn the_route_table_covers_the_api_and_every_role_gets_what_it_says() {
    let w = world();
    let documented = documented_routes(&w.admin);
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, table,
        "the permission table and the OpenAPI document must list the same routes"
    );

    let anonymous = Api::new(&w.server.url());
    let callers = [
        (Role::PlatformAdmin, &w.admin),
        (Role::TenantAdmin, &w.a.admin),
        (Role::TenantReporter, &w.a.reporter),
    ];
    let mut checked = 0;
    for (method, path, access) in ROUTES {
        if *access < Access::Read {
            continue;
        }
        // Objects that do not exist: an allowed caller gets past the check
        // and then a 404/4xx, and nothing real is changed.
        let target = path
            .replace("{id}", "999999")
            .replace("{key_id}", "0000000000000000");
        let body = (*method != "GET").then(|| json!({}));
        let r = anonymous.request(method, &target, body.as_ref());
        assert_eq!(r.status, 401, "anonymous {method} {path}: {}", r.body);
        for (role, api) in callers {
            if is_stream(path) && allows(role, *access) {
                continue;
            }
            let r = api.request(method, &target, body.as_ref());
            if allows(role, *access) {
                assert!(
                    ![401, 403].contains(&r.status),
                    "{role:?} {method} {path} should pass: {} {}",
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(
                    r.status, 403,
                    "{role:?} {method} {path} should be forbidden: {}",
                    r.body
                );
                assert_eq!(r.body["error"]["code"], "forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} checks ran");
    // Agent endpoints do not take a session, and sessions endpoints no agent key.
    assert_eq!(
        w.admin
            .post_json("/api/agent/metrics", &report(1, now_ms(), 1.0))
            .status,
        401
    );
    assert_eq!(
        Api::as_agent(&w.server.url(), &w.a.key)
            .get("/api/servers")
            .status,
        401
    );
    // A tenant admin cannot point the tenant header elsewhere.
    let mut sneaky = as_tenant(&w.server.url(), w.b.admin.token.as_deref().unwrap(), w.a.id);
    assert_eq!(sneaky.get("/api/servers").status, 403);
    sneaky.headers.clear();
    assert_eq!(sneaky.get("/api/servers").status, 200);
}

#[test]
fn a_user_of_one_tenant_gets_no_byte_of_another() {
    let w = world();
    // Reads first, then attempts to change A's objects: the intruder's own
    // audit log records its attempts, with the ids it typed.
    for phase in ["read", "write"] {
        for intruder in [&w.b.admin, &w.b.reporter] {
            for (method, path, access) in ROUTES {
                if !matches!(access, Access::Read | Access::TenantAdmin) || is_stream(path) {
                    continue;
                }
                if (phase == "read") != (*method == "GET") {
                    continue;
                }
                let has_param = path.contains('{');
                if *method != "GET" && !has_param {
                    continue; // creates land in the caller's own tenant
                }
                let target = fill(path, &w.a);
                let body = (*method != "GET")
                    .then(|| json!({"confirm": "x", "role": "tenant_reporter", "disabled": true, "action": "alpha-uptime", "name": "x", "spec": {"type": "tcp", "host": "127.0.0.1", "port": 1}}));
                let r = intruder.request(method, &target, body.as_ref());
                let text = r.body.to_string();
                if phase == "read" {
                    for marker in &w.a.markers {
                        assert!(
                            !text.contains(marker.as_str()),
                            "{method} {target} leaked {marker:?}: {text}"
                        );
                    }
                }
                if has_param {
                    assert!(
                        [403, 404].contains(&r.status),
                        "{method} {target} as an outsider: {} {text}",
                        r.status
                    );
                    if r.status == 403 {
                        assert!(
                            !allows(Role::TenantReporter, *access),
                            "{method} {target} refused with 403, not 404"
                        );
                    }
                } else {
                    assert!(
                        [200, 403].contains(&r.status),
                        "{method} {target}: {} {text}",
                        r.status
                    );
                }
            }
        }
    }
    // Tenant A is intact: its host, user, key and token are all still there.
    let a = &w.a.admin;
    assert_eq!(a.get(&format!("/api/servers/{}", w.a.host_id)).status, 200);
    let user = a.get(&format!("/api/users/{}", w.a.admin_user_id)).body;
    assert_eq!(
        (user["disabled"].as_bool(), user["role"].as_str()),
        (Some(false), Some("tenant_admin"))
    );
    let keys = a.get("/api/agent-keys").body;
    assert_eq!(keys[0]["status"], "active", "{keys}");
    assert_eq!(
        Api::as_agent(&w.server.url(), &w.a.key)
            .post_json("/api/agent/heartbeat", &json!({"ts": now_ms()}))
            .status,
        200
    );
    let tokens = a.get("/api/enrollment-tokens").body;
    assert!(tokens[0]["revoked_at"].is_null(), "{tokens}");
    // And B sees its own.
    let hosts = w.b.reporter.get("/api/servers").body;
    assert_eq!(hosts.as_array().unwrap().len(), 1);
    assert_eq!(hosts[0]["hostname"], "beta-host");
}

fn server_secret(data_dir: &std::path::Path) -> Vec<u8> {
    use lxmon_store::Store;
    let store = lxmon_store::SqliteStore::open(lxmon_store::StoreOptions::new(
        data_dir.join("lxmon.sqlite"),
    ))
    .unwrap();
    store
        .secret("session-hmac", &|| panic!("the server created it"))
        .unwrap()
}

#[test]
fn forged_expired_and_revoked_sessions_are_refused() {
    let w = world();
    let keys = lxmon_server::auth::SessionKeys::new(server_secret(&w.server.data_dir));
    let now = now_ms() / 1000;
    let me = w.a.admin.get("/api/auth/me").body;
    let claims = |exp: i64, epoch: i64| lxmon_server::auth::Claims {
        sub: me["user_id"].as_i64().unwrap(),
        epoch,
        tenant: w.a.id,
        role: Role::TenantAdmin,
        name: "alpha-admin".into(),
        iat: now - 7200,
        exp,
    };
    let with = |token: String| {
        let mut api = Api::new(&w.server.url());
        api.token = Some(token);
        api.get("/api/servers")
    };
    // Sanity: a token signed with the real key works.
    assert_eq!(with(keys.issue(&claims(now + 600, 0))).status, 200);
    let expired = with(keys.issue(&claims(now - 10, 0)));
    assert_eq!(
        (expired.status, expired.body["error"]["code"].as_str()),
        (401, Some("session_expired"))
    );
    let forged =
        lxmon_server::auth::SessionKeys::new(b"not the key".to_vec()).issue(&claims(now + 600, 0));
    assert_eq!(with(forged).status, 401);
    let payload = keys
        .issue(&claims(now + 600, 0))
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(
        with(format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")).status,
        401,
        "alg none"
    );
    let promoted = lxmon_server::auth::Claims {
        role: Role::PlatformAdmin,
        ..claims(now + 600, 0)
    };
    // A token claiming more than the user has is still checked against the
    // user's record: tenants list is platform-only.
    let mut api = Api::new(&w.server.url());
    api.token = Some(keys.issue(&promoted));
    assert_eq!(api.get("/api/tenants").status, 403);

    // Disabling a user ends their sessions at once.
    let reporter_id =
        w.a.admin
            .get("/api/users")
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "alpha-reporter")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
    assert_eq!(w.a.reporter.get("/api/servers").status, 200);
    let r = w.a.admin.request(
        "PATCH",
        &format!("/api/users/{reporter_id}"),
        Some(&json!({"disabled": true})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.a.reporter.get("/api/servers");
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("session_revoked"))
    );
    let r = Api::new(&w.server.url()).post_json(
        "/api/auth/login",
        &json!({"username": "alpha-reporter", "password": PASSWORD}),
    );
    assert_eq!(r.status, 401, "a disabled user cannot log in");

    // Changing one's password ends the other sessions and returns a new one.
    let other_session = Api::login_as(&w.server.url(), "beta-admin", PASSWORD);
    let r = w.b.admin.post_json(
        "/api/auth/password",
        &json!({"current_password": "wrong-password", "new_password": "another-long-password"}),
    );
    assert_eq!(r.status, 403);
    let r = w.b.admin.post_json(
        "/api/auth/password",
        &json!({"current_password": PASSWORD, "new_password": "short"}),
    );
    assert_eq!(r.status, 422);
    let r = w.b.admin.post_json(
        "/api/auth/password",
        &json!({"current_password": PASSWORD, "new_password": "another-long-password"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(other_session.get("/api/servers").status, 401);
    let mut fresh = Api::new(&w.server.url());
    fresh.token = r.body["token"].as_str().map(String::from);
    assert_eq!(fresh.get("/api/servers").status, 200);
    // Refresh keeps a session going.
    let r = fresh.post_json("/api/auth/refresh", &json!({}));
    assert_eq!(r.status, 200);
}

#[test]
fn brute_force_is_rate_limited() {
    let w = world();
    let anon = Api::new(&w.server.url());
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            anon.post_json(
                "/api/auth/login",
                &json!({"username": "alpha-admin", "password": "guess-guess"}),
            )
            .status,
        );
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    let r = anon.post(
        "/api/auth/login",
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({"username": "alpha-admin", "password": PASSWORD})).unwrap(),
    );
    assert_eq!(
        r.status, 429,
        "even the right password waits once the account is locked"
    );
    assert_eq!(r.body["error"]["code"], "rate_limited");
    let retry = ureq_retry_after(&w.server.url());
    assert!(
        retry.is_some_and(|s| s > 0 && s <= 900),
        "Retry-After: {retry:?}"
    );
    // Another account is not locked by this one.
    assert_eq!(
        anon.post_json(
            "/api/auth/login",
            &json!({"username": "beta-admin", "password": PASSWORD})
        )
        .status,
        200
    );
    // Agent keys: wrong keys from one address are cut off too.
    let bad = Api::as_agent(&w.server.url(), "lxk_00000000deadbeef.wrong");
    let codes: Vec<u16> = (0..32)
        .map(|_| {
            bad.post_json("/api/agent/heartbeat", &json!({"ts": 1}))
                .status
        })
        .collect();
    assert_eq!(codes[0], 401);
    assert_eq!(*codes.last().unwrap(), 429, "{codes:?}");
}

fn ureq_retry_after(base: &str) -> Option<u64> {
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let r = http
        .post(format!("{base}/api/auth/login"))
        .header("content-type", "application/json")
        .send(r#"{"username":"alpha-admin","password":"x"}"#)
        .ok()?;
    r.headers().get("retry-after")?.to_str().ok()?.parse().ok()
}

#[test]
fn totp_second_factor_and_recovery_codes() {
    let w = world();
    let api = &w.a.admin;
    let setup = api.post_json("/api/auth/totp/setup", &json!({}));
    assert_eq!(setup.status, 200);
    let secret =
        lxmon_server::auth::totp::base32_decode(setup.body["secret"].as_str().unwrap()).unwrap();
    assert!(
        setup.body["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/lxmon:alpha-admin?")
    );
    let code = |offset: i64| lxmon_server::auth::totp::code(&secret, now_ms() / 1000 + offset);
    assert_eq!(
        api.post_json("/api/auth/totp/enable", &json!({"code": "000000"}))
            .status,
        422
    );
    let enabled = api.post_json("/api/auth/totp/enable", &json!({"code": code(0)}));
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let recovery: Vec<String> = enabled.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    let anon = Api::new(&w.server.url());
    let login = |extra: Value| {
        let mut body = json!({"username": "alpha-admin", "password": PASSWORD});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        anon.post_json("/api/auth/login", &body)
    };
    let r = login(json!({}));
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    let r = login(json!({"totp_code": "123456"}));
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("totp_invalid"))
    );
    assert_eq!(login(json!({"totp_code": code(0)})).status, 200);
    assert_eq!(login(json!({"recovery_code": recovery[3]})).status, 200);
    assert_eq!(
        login(json!({"recovery_code": recovery[3]})).status,
        401,
        "recovery codes work once"
    );
    assert_eq!(api.get("/api/auth/me").body["totp_enabled"], true);
    // The seed never comes back from the API.
    let users = w.admin.request("GET", "/api/users", None);
    assert!(
        !users
            .body
            .to_string()
            .contains(setup.body["secret"].as_str().unwrap())
    );
}

#[test]
fn invitations_set_the_password() {
    let w = world();
    let r = w.a.admin.post_json(
        "/api/users",
        &json!({"username": "invited-user", "role": "tenant_reporter"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["invite_token"].as_str().unwrap().to_owned();
    assert!(r.body["invite_path"].as_str().unwrap().contains(&token));
    assert_eq!(r.body["user"]["invite_pending"], true);
    let anon = Api::new(&w.server.url());
    // No password yet: login fails.
    assert_eq!(
        anon.post_json(
            "/api/auth/login",
            &json!({"username": "invited-user", "password": ""})
        )
        .status,
        401
    );
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(
        anon.post_json(
            "/api/invites/accept",
            &json!({"token": forged, "password": "a-long-password"})
        )
        .status,
        401
    );
    let r = anon.post_json(
        "/api/invites/accept",
        &json!({"token": token, "password": "a-long-password"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        anon.post_json(
            "/api/invites/accept",
            &json!({"token": token, "password": "a-long-password"})
        )
        .status,
        401,
        "used once"
    );
    Api::login_as(&w.server.url(), "invited-user", "a-long-password");
    // A tenant admin cannot create or promote platform admins.
    let r = w.a.admin.post_json(
        "/api/users",
        &json!({"username": "boss", "role": "platform_admin", "password": "a-long-password"}),
    );
    assert_eq!(r.status, 403);
}

#[test]
fn agent_keys_rotate_with_grace_and_revoke_at_once() {
    let w = world();
    let old = Api::as_agent(&w.server.url(), &w.a.key);
    let beat = |api: &Api| {
        api.post_json("/api/agent/heartbeat", &json!({"ts": now_ms()}))
            .status
    };
    let r = w.a.admin.post_json(
        &format!("/api/agent-keys/{}/rotate", w.a.key_id),
        &json!({"grace_s": 2}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let new = Api::as_agent(&w.server.url(), r.body["key"].as_str().unwrap());
    assert_eq!(
        r.body["info"]["host_id"], w.a.host_id,
        "the successor reports as the same host"
    );
    assert_eq!(
        (beat(&old), beat(&new)),
        (200, 200),
        "both work during the grace period"
    );
    let listed = w.a.admin.get("/api/agent-keys").body;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["status"] == "expiring"),
        "{listed}"
    );
    assert!(
        !listed
            .to_string()
            .contains(w.a.key.split('.').nth(1).unwrap()),
        "secrets are never listed"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        (beat(&old), beat(&new)),
        (401, 200),
        "the old key stops after the grace period"
    );
    let new_id = r.body["info"]["key_id"].as_str().unwrap();
    assert_eq!(
        w.a.admin
            .request("DELETE", &format!("/api/agent-keys/{new_id}"), None)
            .status,
        204
    );
    assert_eq!(beat(&new), 401, "revocation is immediate");
    let keys = w.a.admin.get("/api/agent-keys").body;
    let statuses: BTreeSet<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, BTreeSet::from(["expired", "revoked"]));
    assert!(
        keys[0]["last_used_at"].is_i64(),
        "last use is recorded: {keys}"
    );
}

#[test]
fn enrollment_tokens_expire_and_run_out() {
    let w = world();
    let r = w.a.admin.post_json(
        "/api/enrollment-tokens",
        &json!({"name": "once", "max_uses": 1, "labels": {"env": "prod"}}),
    );
    assert_eq!(r.status, 201);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let anon = Api::new(&w.server.url());
    let r = anon.post_json(
        "/api/agent/enroll",
        &json!({"token": token, "hostname": "new-box"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let key = r.body["key"].as_str().unwrap().to_owned();
    let r = Api::as_agent(&w.server.url(), &key)
        .post_json("/api/agent/register", &json!({"hostname": "new-box"}));
    assert_eq!(r.status, 200);
    let host =
        w.a.admin
            .get(&format!("/api/servers/{}", r.body["server_id"]))
            .body;
    assert_eq!(
        host["labels"]["env"], "prod",
        "the token's labels are applied"
    );
    let r = anon.post_json(
        "/api/agent/enroll",
        &json!({"token": token, "hostname": "second-box"}),
    );
    assert_eq!(
        (r.status, r.body["error"]["message"].as_str()),
        (422, Some("enrollment token has been used up"))
    );
    // An expired token (made directly in the store: the API's minimum life is a minute).
    {
        use lxmon_store::Store;
        let store = lxmon_store::SqliteStore::open(lxmon_store::StoreOptions::new(
            w.server.data_dir.join("lxmon.sqlite"),
        ))
        .unwrap();
        let secret = lxmon_server::auth::generate_secret(
            lxmon_server::auth::SecretKind::EnrollmentToken,
            None,
        );
        store
            .create_enrollment_token(
                w.a.id,
                &lxmon_store::NewEnrollmentToken {
                    token_id: secret.id.clone(),
                    name: "stale".into(),
                    secret_sha256: secret.secret_sha256,
                    labels: Default::default(),
                    max_uses: 5,
                    expires_at: now_ms() - 1000,
                },
            )
            .unwrap();
        let r = anon.post_json(
            "/api/agent/enroll",
            &json!({"token": secret.full, "hostname": "late-box"}),
        );
        assert_eq!(
            (r.status, r.body["error"]["message"].as_str()),
            (422, Some("enrollment token has expired"))
        );
    }
    let r = anon.post_json(
        "/api/agent/enroll",
        &json!({"token": "lxe_0123456789abcdef.nope", "hostname": "x"}),
    );
    assert_eq!(r.status, 401);
    // Revoked tokens stop at once.
    let r = w.a.admin.post_json(
        "/api/enrollment-tokens",
        &json!({"name": "revoked", "max_uses": 5}),
    );
    let (id, token) = (
        r.body["info"]["id"].as_i64().unwrap(),
        r.body["token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        w.a.admin
            .request("DELETE", &format!("/api/enrollment-tokens/{id}"), None)
            .status,
        204
    );
    assert_eq!(
        anon.post_json(
            "/api/agent/enroll",
            &json!({"token": token, "hostname": "x"})
        )
        .status,
        422
    );
}

#[test]
fn the_install_script_enrolls_a_host_into_a_temp_root() {
    let w = world();
    let r = w.a.admin.post_json(
        "/api/enrollment-tokens",
        &json!({"name": "install", "max_uses": 1}),
    );
    assert_eq!(r.status, 201);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert!(
        r.body["install_command"]
            .as_str()
            .unwrap()
            .contains("/install.sh | sudo sh -s -- --server")
    );
    let root = tempfile::tempdir().unwrap();
    // Exactly what an operator pipes into sh, fetched from the server.
    let script = std::process::Command::new("curl")
        .args(["-fsSL", &format!("{}/install.sh", w.server.url())])
        .output()
        .unwrap();
    assert!(script.status.success());
    let script_path = root.path().join("install.sh");
    std::fs::write(&script_path, &script.stdout).unwrap();
    let out = std::process::Command::new("sh")
        .arg(&script_path)
        .args([
            "--token",
            &token,
            "--hostname",
            "installed-box",
            "--no-systemd",
            "--root",
        ])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = root.path().join("usr/local/bin/lxmon-agent");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(agent_bin()).unwrap(),
        "the served agent binary was installed"
    );
    use std::os::unix::fs::PermissionsExt;
    let conf = root.path().join("etc/lxmon/agent.toml");
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains(&format!("server = \"{}\"", w.server.url())),
        "{text}"
    );
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("key = \""))
        .unwrap()
        .trim_end_matches('"');
    let unit = std::fs::read_to_string(root.path().join("etc/systemd/system/lxmon-agent.service"))
        .unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/lxmon-agent --config /etc/lxmon/agent.toml"));
    assert!(unit.contains("NoNewPrivileges=yes"));
    // The written key is a working key of tenant A.
    let r = Api::as_agent(&w.server.url(), key)
        .post_json("/api/agent/register", &json!({"hostname": "installed-box"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        w.a.admin
            .get(&format!("/api/servers/{}", r.body["server_id"]))
            .status,
        200
    );
    // Running it again with the used-up token fails clearly.
    let again = std::process::Command::new("sh")
        .arg(&script_path)
        .args(["--token", &token, "--no-systemd", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("used up"));
}

#[test]
fn tenants_suspend_and_delete_with_confirmation() {
    let w = world();
    let r = w.admin.request(
        "PATCH",
        &format!("/api/tenants/{}", w.a.id),
        Some(&json!({"suspended": true})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        w.a.admin.get("/api/servers").status,
        403,
        "a suspended tenant's sessions stop"
    );
    assert_eq!(
        Api::new(&w.server.url())
            .post_json(
                "/api/auth/login",
                &json!({"username": "alpha-admin", "password": PASSWORD})
            )
            .status,
        403
    );
    assert_eq!(
        Api::as_agent(&w.server.url(), &w.a.key)
            .post_json("/api/agent/heartbeat", &json!({"ts": 1}))
            .status,
        401
    );
    assert_eq!(
        w.b.admin.get("/api/servers").status,
        200,
        "other tenants are unaffected"
    );
    let r = w.admin.request(
        "PATCH",
        &format!("/api/tenants/{}", w.a.id),
        Some(&json!({"suspended": false, "name": "alpha-renamed"})),
    );
    assert_eq!(
        (r.status, r.body["name"].as_str()),
        (200, Some("alpha-renamed"))
    );
    assert_eq!(w.a.admin.get("/api/servers").status, 200);

    let r = w.admin.request(
        "DELETE",
        &format!("/api/tenants/{}", w.a.id),
        Some(&json!({"confirm": "alpha"})),
    );
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (422, Some("confirmation_mismatch"))
    );
    let r = w.admin.request(
        "DELETE",
        &format!("/api/tenants/{}", w.a.id),
        Some(&json!({"confirm": "alpha-renamed"})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(w.admin.get(&format!("/api/tenants/{}", w.a.id)).status, 404);
    assert_eq!(
        Api::new(&w.server.url())
            .post_json(
                "/api/auth/login",
                &json!({"username": "alpha-admin", "password": PASSWORD})
            )
            .status,
        401
    );
    assert_eq!(
        Api::as_agent(&w.server.url(), &w.a.key)
            .post_json("/api/agent/heartbeat", &json!({"ts": 1}))
            .status,
        401
    );
    assert_eq!(
        w.admin
            .request(
                "DELETE",
                "/api/tenants/1",
                Some(&json!({"confirm": "default"}))
            )
            .status,
        422,
        "the default tenant stays"
    );
}

#[test]
fn every_change_is_audited_and_secrets_never_leak() {
    let w = world();
    let _ = Api::new(&w.server.url()).post_json(
        "/api/auth/login",
        &json!({"username": "alpha-admin", "password": "wrong-one"}),
    );
    let r = w.a.admin.post_json(
        &format!("/api/agent-keys/{}/rotate", w.a.key_id),
        &json!({}),
    );
    let rotated_key = r.body["key"].as_str().unwrap().to_owned();
    let r = w.a.reporter.post_json(
        "/api/users",
        &json!({"username": "x", "role": "tenant_reporter", "password": "long-enough-1"}),
    );
    assert_eq!(r.status, 403);

    let page = w.a.admin.get("/api/audit?limit=500").body;
    let entries = page["entries"].as_array().unwrap();
    let find = |action: &str, outcome: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action && e["outcome"].as_str().unwrap().starts_with(outcome))
            .unwrap_or_else(|| panic!("no {action} {outcome} in {page}"))
    };
    let login_fail = find("auth.login", "denied");
    assert_eq!(login_fail["actor"], "alpha-admin");
    assert_eq!(login_fail["client_ip"], "127.0.0.1");
    find("auth.login", "ok");
    find("user.create", "ok");
    let rotation = find("agent_key.rotate", "ok");
    assert_eq!(rotation["actor"], "alpha-admin");
    assert!(rotation["target"].as_str().unwrap().contains(&w.a.key_id));
    let denied = find("POST /api/users", "denied");
    assert_eq!(denied["actor"], "alpha-reporter");
    find("enrollment_token.create", "ok");
    // Filters and paging.
    let only_keys = w.a.admin.get("/api/audit?action=agent_key.").body;
    assert!(
        only_keys["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("agent_key."))
    );
    let first = w.a.admin.get("/api/audit?limit=2").body;
    assert_eq!(first["entries"].as_array().unwrap().len(), 2);
    let before = first["next_before"].as_i64().unwrap();
    let second =
        w.a.admin
            .get(&format!("/api/audit?limit=2&before={before}"))
            .body;
    assert!(second["entries"][0]["id"].as_i64().unwrap() < before);
    // Other tenants' audit stays theirs.
    assert!(
        !w.b.admin
            .get("/api/audit?limit=1000")
            .body
            .to_string()
            .contains("alpha-")
    );

    // Secrets appear nowhere in the server's log.
    let log = std::fs::read_to_string(w.server.data_dir.with_extension("server.log")).unwrap();
    let secrets = [
        ADMIN_PASSWORD.to_owned(),
        PASSWORD.to_owned(),
        w.a.key.split('.').nth(1).unwrap().to_owned(),
        rotated_key.split('.').nth(1).unwrap().to_owned(),
    ];
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
    }
    assert!(log.contains("login failed"), "failed logins are logged");
    // Nor in any listing.
    for path in [
        "/api/users",
        "/api/agent-keys",
        "/api/enrollment-tokens",
        "/api/audit?limit=1000",
    ] {
        let text = w.a.admin.get(path).body.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{path} shows a secret");
        }
        assert!(!text.contains("$argon2"), "{path} shows a password hash");
    }
}
