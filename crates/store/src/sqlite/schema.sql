-- lxmon embedded schema, version 1. Every tenant-owned table carries
-- tenant_id (directly, or through its host for series data).

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS tenants (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    suspended  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    -- Bumped on password change, disable and role change: session tokens
    -- carry the epoch they were issued at and stop working when it moves.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    totp_secret   BLOB,
    -- JSON array of SHA-256 hex digests of unused recovery codes.
    recovery_codes TEXT NOT NULL DEFAULT '[]',
    invite_sha256 BLOB,
    invite_expires_at INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS hosts (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    hostname      TEXT NOT NULL,
    os            TEXT NOT NULL DEFAULT '',
    arch          TEXT NOT NULL DEFAULT '',
    kernel        TEXT NOT NULL DEFAULT '',
    agent_version TEXT NOT NULL DEFAULT '',
    machine_id    TEXT,
    labels        TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    last_seen     INTEGER,
    last_seq      INTEGER,
    interval_s    INTEGER,
    boot_time     INTEGER,
    -- JSON array of the actions the agent's allowlist permits (ActionSpec).
    actions       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS hosts_tenant ON hosts(tenant_id, hostname);

CREATE TABLE IF NOT EXISTS agent_keys (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    key_id        TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    host_id       INTEGER REFERENCES hosts(id),
    -- Labels an enrollment token asked for, applied to the host at registration.
    labels        TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    -- Set when the key was rotated: it keeps working until then.
    expires_at    INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE IF NOT EXISTS enrollment_tokens (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    token_id      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    labels        TEXT NOT NULL DEFAULT '{}',
    max_uses      INTEGER NOT NULL,
    uses          INTEGER NOT NULL DEFAULT 0,
    expires_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

CREATE TABLE IF NOT EXISTS audit (
    id         INTEGER PRIMARY KEY,
    -- NULL for platform-level actions (tenant management, failed logins of
    -- unknown users).
    tenant_id  INTEGER,
    ts         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    client_ip  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit(tenant_id, id);

-- One row per (host, metric, label set). Labels are canonical JSON (sorted keys).
CREATE TABLE IF NOT EXISTS series (
    id      INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL,
    UNIQUE (host_id, name, labels)
);

-- Head: one row per report not yet sealed into a chunk (tsdb::head encoding).
CREATE TABLE IF NOT EXISTS head (
    host_id INTEGER NOT NULL,
    ts      INTEGER NOT NULL,
    seq     INTEGER,
    data    BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS head_host_ts ON head(host_id, ts);

-- Sealed chunks (tsdb::chunk encoding). tier: 0 raw (1 h span), 1 = 5 min
-- rollups (1 day span), 2 = 1 h rollups (30 day span).
CREATE TABLE IF NOT EXISTS chunks (
    host_id  INTEGER NOT NULL,
    tier     INTEGER NOT NULL,
    start_ts INTEGER NOT NULL,
    points   INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (host_id, tier, start_ts)
) WITHOUT ROWID;

-- Remote commands (DESIGN §5): queued here, delivered by long-poll, results
-- streamed back into `output`.
CREATE TABLE IF NOT EXISTS commands (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    host_id      INTEGER NOT NULL,
    action       TEXT NOT NULL,
    args         TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    started_at   INTEGER,
    finished_at  INTEGER,
    exit_code    INTEGER,
    duration_ms  INTEGER,
    truncated    INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    output       TEXT NOT NULL DEFAULT '',
    -- Next output chunk expected from the agent.
    next_seq     INTEGER NOT NULL DEFAULT 0,
    -- A cancelled command the agent already had: has the agent been told?
    cancel_sent  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS commands_host ON commands(host_id, status);

-- Health checks (DESIGN §8). `spec` is the probe definition as JSON
-- (lxmon-checks' CheckSpec); `run_on_host` names the agent that runs it, or
-- NULL for the server.
CREATE TABLE IF NOT EXISTS checks (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    spec           TEXT NOT NULL,
    interval_s     INTEGER NOT NULL,
    timeout_s      INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    run_on_host    INTEGER,
    enabled        INTEGER NOT NULL DEFAULT 1,
    status         TEXT NOT NULL DEFAULT 'unknown',
    failures       INTEGER NOT NULL DEFAULT 0,
    last_checked   INTEGER,
    last_change    INTEGER,
    last_error     TEXT,
    last_latency_ms REAL,
    cert_days_left REAL,
    created_at     INTEGER NOT NULL
);

-- One row per run, kept for the raw retention period.
CREATE TABLE IF NOT EXISTS check_results (
    check_id       INTEGER NOT NULL,
    ts             INTEGER NOT NULL,
    up             INTEGER NOT NULL,
    latency_ms     REAL,
    cert_days_left REAL,
    error          TEXT
);
CREATE INDEX IF NOT EXISTS check_results_ts ON check_results(check_id, ts);

-- Runs per day, for uptime over long periods (status pages show 90 days).
CREATE TABLE IF NOT EXISTS check_daily (
    check_id INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    up       INTEGER NOT NULL,
    total    INTEGER NOT NULL,
    PRIMARY KEY (check_id, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS status_pages (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    slug       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    check_ids  TEXT NOT NULL DEFAULT '[]',
    host_ids   TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);

-- Alerting configuration (DESIGN §7): rules, channels, the routing tree,
-- silences, maintenance windows and incoming webhooks, each kept as its JSON
-- definition (lxmon-alert / lxmon-notify types). Channel and webhook secrets
-- live in `body` and are never returned by the API.
CREATE TABLE IF NOT EXISTS alert_objects (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_objects_kind ON alert_objects(tenant_id, kind);

-- Alerts: one row per episode of a condition (pending → firing → resolved),
-- identified by its fingerprint; at most one open episode per fingerprint.
CREATE TABLE IF NOT EXISTS alerts (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    fingerprint   TEXT NOT NULL,
    source        TEXT NOT NULL,
    source_id     INTEGER NOT NULL,
    name          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    state         TEXT NOT NULL,
    host_id       INTEGER,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    summary       TEXT NOT NULL,
    value         REAL,
    started_at    INTEGER NOT NULL,
    fired_at      INTEGER,
    resolved_at   INTEGER,
    updated_at    INTEGER NOT NULL,
    last_notified_at INTEGER,
    notify_count  INTEGER NOT NULL DEFAULT 0,
    suppressed    TEXT,
    ack_by        TEXT,
    ack_at        INTEGER,
    ack_comment   TEXT,
    assignee      TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts(tenant_id, fingerprint) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_recent ON alerts(tenant_id, id);

-- Every notification attempt (sent or failed), for the alarm detail and audits.
CREATE TABLE IF NOT EXISTS notifications (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    channel_id   INTEGER,
    channel_name TEXT NOT NULL,
    alert_ids    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    error        TEXT,
    attempts     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_recent ON notifications(tenant_id, id);
