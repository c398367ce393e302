//! Tenants, users, agent keys, enrollment tokens and the audit log on SQLite.
//! Every function that touches tenant-owned rows filters by the tenant it is
//! given; the few global lookups say why they are global.

use lxmon_proto::Labels;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::now_ms;
use crate::*;

fn labels_json(labels: &Labels) -> String {
    serde_json::to_string(labels).expect("labels serialize")
}

fn labels_from(text: String) -> Labels {
    serde_json::from_str(&text).unwrap_or_default()
}

fn digest(bytes: Vec<u8>) -> [u8; 32] {
    let mut out = [0u8; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(&bytes);
    }
    out
}

// --- tenants ---------------------------------------------------------------

const TENANT_COLUMNS: &str = "id, name, suspended, created_at";

fn tenant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        name: r.get(1)?,
        suspended: r.get(2)?,
        created_at: r.get(3)?,
    })
}

pub fn create_tenant(conn: &Connection, name: &str) -> Result<Tenant> {
    let n = conn.execute(
        "INSERT INTO tenants (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now_ms()],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "tenant {name:?} already exists"
        )));
    }
    tenant(conn, conn.last_insert_rowid())?.ok_or(StoreError::NotFound)
}

pub fn tenants(conn: &Connection) -> Result<Vec<Tenant>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id"))?;
    Ok(stmt
        .query_map([], tenant_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn tenant(conn: &Connection, id: TenantId) -> Result<Option<Tenant>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1"
        ))?
        .query_row([id], tenant_from_row)
        .optional()?)
}

pub fn update_tenant(
    conn: &Connection,
    id: TenantId,
    name: Option<&str>,
    suspended: Option<bool>,
) -> Result<Tenant> {
    if let Some(name) = name {
        let taken: Option<i64> = conn
            .query_row(
                "SELECT id FROM tenants WHERE name = ?1 AND id != ?2",
                params![name, id],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "tenant {name:?} already exists"
            )));
        }
    }
    let n = conn.execute(
        "UPDATE tenants SET name = coalesce(?2, name), suspended = coalesce(?3, suspended) WHERE id = ?1",
        params![id, name, suspended],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    tenant(conn, id)?.ok_or(StoreError::NotFound)
}

/// Deletes a tenant and everything it owns, in one transaction.
pub fn delete_tenant(tx: &Transaction<'_>, id: TenantId) -> Result<()> {
    if id == 1 {
        return Err(StoreError::Rejected(
            "the default tenant cannot be deleted".into(),
        ));
    }
    let hosts = "SELECT id FROM hosts WHERE tenant_id = ?1";
    for sql in [
        format!("DELETE FROM head WHERE host_id IN ({hosts})"),
        format!("DELETE FROM chunks WHERE host_id IN ({hosts})"),
        format!("DELETE FROM series WHERE host_id IN ({hosts})"),
        "DELETE FROM commands WHERE tenant_id = ?1".into(),
        "DELETE FROM check_results WHERE check_id IN (SELECT id FROM checks WHERE tenant_id = ?1)"
            .into(),
        "DELETE FROM check_daily WHERE check_id IN (SELECT id FROM checks WHERE tenant_id = ?1)"
            .into(),
        "DELETE FROM checks WHERE tenant_id = ?1".into(),
        "DELETE FROM status_pages WHERE tenant_id = ?1".into(),
        "DELETE FROM alert_objects WHERE tenant_id = ?1".into(),
        "DELETE FROM alerts WHERE tenant_id = ?1".into(),
        "DELETE FROM notifications WHERE tenant_id = ?1".into(),
        "DELETE FROM agent_keys WHERE tenant_id = ?1".into(),
        "DELETE FROM hosts WHERE tenant_id = ?1".into(),
        "DELETE FROM enrollment_tokens WHERE tenant_id = ?1".into(),
        "DELETE FROM users WHERE tenant_id = ?1".into(),
        "DELETE FROM audit WHERE tenant_id = ?1".into(),
    ] {
        tx.execute(&sql, [id])?;
    }
    if tx.execute("DELETE FROM tenants WHERE id = ?1", [id])? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// --- users -----------------------------------------------------------------

const USER_COLUMNS: &str = "id, tenant_id, username, password_hash, role, disabled, session_epoch, totp_secret, \
     recovery_codes, invite_sha256 IS NOT NULL, created_at";

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(4)?;
    let codes: String = r.get(8)?;
    Ok(User {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        username: r.get(2)?,
        password_hash: r.get(3)?,
        // An unknown role string grants the least.
        role: Role::parse(&role).unwrap_or(Role::TenantReporter),
        disabled: r.get(5)?,
        session_epoch: r.get(6)?,
        totp_secret: r.get(7)?,
        recovery_codes: serde_json::from_str(&codes).unwrap_or_default(),
        invite_pending: r.get(9)?,
        created_at: r.get(10)?,
    })
}

pub fn create_user(
    conn: &Connection,
    tenant: TenantId,
    username: &str,
    password_hash: &str,
    role: Role,
    invite: Option<&Invite>,
) -> Result<UserId> {
    let inserted = conn.execute(
        "INSERT INTO users (tenant_id, username, password_hash, role, invite_sha256, invite_expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (username) DO NOTHING",
        params![
            tenant,
            username,
            password_hash,
            role.as_str(),
            invite.map(|i| i.secret_sha256.to_vec()),
            invite.map(|i| i.expires_at),
            now_ms()
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "user {username:?} already exists"
        )));
    }
    Ok(conn.last_insert_rowid())
}

/// Global by design: login knows only a username.
pub fn user_by_name(conn: &Connection, username: &str) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?1"
        ))?
        .query_row([username], user_from_row)
        .optional()?)
}

/// Global by design: a session token names its user, whose tenant it checks.
pub fn user_by_id(conn: &Connection, id: UserId) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id], user_from_row)
        .optional()?)
}

/// The pending invitation of a user, if any (global, like the token).
pub fn invite_of(conn: &Connection, id: UserId) -> Result<Option<Invite>> {
    let row: Option<(Option<Vec<u8>>, Option<i64>)> = conn
        .query_row(
            "SELECT invite_sha256, invite_expires_at FROM users WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        Some((Some(sha), Some(expires_at))) => Some(Invite {
            secret_sha256: digest(sha),
            expires_at,
        }),
        _ => None,
    })
}

pub fn users(conn: &Connection, tenant: TenantId) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 ORDER BY username"
    ))?;
    Ok(stmt
        .query_map([tenant], user_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn user(conn: &Connection, tenant: TenantId, id: UserId) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 AND id = ?2"
        ))?
        .query_row(params![tenant, id], user_from_row)
        .optional()?)
}

pub fn update_user(
    conn: &Connection,
    tenant: TenantId,
    id: UserId,
    patch: &UserPatch,
) -> Result<User> {
    let current = user(conn, tenant, id)?.ok_or(StoreError::NotFound)?;
    let role_changed = patch.role.is_some_and(|r| r != current.role);
    let disabled_now = patch.disabled == Some(true) && !current.disabled;
    let end_sessions =
        patch.end_sessions || patch.password_hash.is_some() || role_changed || disabled_now;
    let (totp_set, totp_value) = match &patch.totp_secret {
        Some(v) => (true, v.clone()),
        None => (false, None),
    };
    conn.execute(
        "UPDATE users SET
            role = coalesce(?3, role),
            disabled = coalesce(?4, disabled),
            password_hash = coalesce(?5, password_hash),
            invite_sha256 = CASE WHEN ?5 IS NULL THEN invite_sha256 ELSE NULL END,
            invite_expires_at = CASE WHEN ?5 IS NULL THEN invite_expires_at ELSE NULL END,
            totp_secret = CASE WHEN ?6 THEN ?7 ELSE totp_secret END,
            recovery_codes = coalesce(?8, recovery_codes),
            session_epoch = session_epoch + ?9
         WHERE tenant_id = ?1 AND id = ?2",
        params![
            tenant,
            id,
            patch.role.map(Role::as_str),
            patch.disabled,
            patch.password_hash,
            totp_set,
            totp_value,
            patch
                .recovery_codes
                .as_ref()
                .map(|c| serde_json::to_string(c).expect("codes serialize")),
            i64::from(end_sessions),
        ],
    )?;
    user(conn, tenant, id)?.ok_or(StoreError::NotFound)
}

pub fn delete_user(conn: &Connection, tenant: TenantId, id: UserId) -> Result<()> {
    if conn.execute(
        "DELETE FROM users WHERE tenant_id = ?1 AND id = ?2",
        params![tenant, id],
    )? == 0
    {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// --- agent keys ------------------------------------------------------------

pub const KEY_COLUMNS: &str = "k.id, k.tenant_id, k.key_id, k.name, k.secret_sha256, k.host_id, k.labels, k.created_at, \
     k.last_used_at, k.expires_at, k.revoked_at, t.suspended";
pub const KEY_FROM: &str = "agent_keys k JOIN tenants t ON t.id = k.tenant_id";

pub fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AgentKey> {
    Ok(AgentKey {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        key_id: r.get(2)?,
        name: r.get(3)?,
        secret_sha256: digest(r.get(4)?),
        host_id: r.get(5)?,
        labels: labels_from(r.get(6)?),
        created_at: r.get(7)?,
        last_used_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked_at: r.get(10)?,
        tenant_suspended: r.get(11)?,
    })
}

pub fn insert_agent_key(
    conn: &Connection,
    tenant: TenantId,
    name: &str,
    key_id: &str,
    secret_sha256: &[u8; 32],
    host: Option<HostId>,
    labels: &Labels,
) -> Result<AgentKey> {
    conn.execute(
        "INSERT INTO agent_keys (tenant_id, key_id, name, secret_sha256, host_id, labels, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![tenant, key_id, name, &secret_sha256[..], host, labels_json(labels), now_ms()],
    )?;
    agent_key(conn, key_id)?.ok_or(StoreError::NotFound)
}

/// Global by design: authentication comes before the tenant is known; the
/// record names its tenant.
pub fn agent_key(conn: &Connection, key_id: &str) -> Result<Option<AgentKey>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {KEY_COLUMNS} FROM {KEY_FROM} WHERE k.key_id = ?1"
        ))?
        .query_row([key_id], key_from_row)
        .optional()?)
}

pub fn agent_keys(conn: &Connection, tenant: TenantId) -> Result<Vec<AgentKey>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM {KEY_FROM} WHERE k.tenant_id = ?1 ORDER BY k.id"
    ))?;
    Ok(stmt
        .query_map([tenant], key_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn rotate_agent_key(
    tx: &Transaction<'_>,
    tenant: TenantId,
    key_id: &str,
    new_key_id: &str,
    new_sha256: &[u8; 32],
    old_expires_at: i64,
) -> Result<AgentKey> {
    let old = agent_key(tx, key_id)?
        .filter(|k| k.tenant_id == tenant && k.revoked_at.is_none())
        .ok_or(StoreError::NotFound)?;
    tx.execute(
        "UPDATE agent_keys SET expires_at = min(coalesce(expires_at, ?2), ?2) WHERE id = ?1",
        params![old.id, old_expires_at],
    )?;
    insert_agent_key(
        tx,
        tenant,
        &old.name,
        new_key_id,
        new_sha256,
        old.host_id,
        &old.labels,
    )
}

// --- enrollment tokens -----------------------------------------------------

const TOKEN_COLUMNS: &str = "id, tenant_id, token_id, name, secret_sha256, labels, max_uses, uses, expires_at, created_at, revoked_at";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EnrollmentToken> {
    Ok(EnrollmentToken {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        token_id: r.get(2)?,
        name: r.get(3)?,
        secret_sha256: digest(r.get(4)?),
        labels: labels_from(r.get(5)?),
        max_uses: r.get(6)?,
        uses: r.get(7)?,
        expires_at: r.get(8)?,
        created_at: r.get(9)?,
        revoked_at: r.get(10)?,
    })
}

pub fn create_enrollment_token(
    conn: &Connection,
    tenant: TenantId,
    t: &NewEnrollmentToken,
) -> Result<EnrollmentToken> {
    conn.execute(
        "INSERT INTO enrollment_tokens (tenant_id, token_id, name, secret_sha256, labels, max_uses, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            tenant,
            t.token_id,
            t.name,
            &t.secret_sha256[..],
            labels_json(&t.labels),
            t.max_uses,
            t.expires_at,
            now_ms()
        ],
    )?;
    enrollment_token(conn, &t.token_id)?.ok_or(StoreError::NotFound)
}

/// Global by design: the install script presents only the token.
pub fn enrollment_token(conn: &Connection, token_id: &str) -> Result<Option<EnrollmentToken>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE token_id = ?1"
        ))?
        .query_row([token_id], token_from_row)
        .optional()?)
}

pub fn enrollment_tokens(conn: &Connection, tenant: TenantId) -> Result<Vec<EnrollmentToken>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE tenant_id = ?1 ORDER BY id"
    ))?;
    Ok(stmt
        .query_map([tenant], token_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn revoke_enrollment_token(conn: &Connection, tenant: TenantId, id: i64) -> Result<()> {
    let n = conn.execute(
        "UPDATE enrollment_tokens SET revoked_at = coalesce(revoked_at, ?3) WHERE tenant_id = ?1 AND id = ?2",
        params![tenant, id, now_ms()],
    )?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Uses one enrollment of the token and creates the agent's key, atomically:
/// two installs racing for the last use cannot both succeed.
pub fn redeem_enrollment_token(
    tx: &Transaction<'_>,
    token_id: &str,
    now: i64,
    key_name: &str,
    new_key_id: &str,
    new_sha256: &[u8; 32],
) -> Result<AgentKey> {
    let token = enrollment_token(tx, token_id)?.ok_or(StoreError::NotFound)?;
    if token.revoked_at.is_some() {
        return Err(StoreError::Rejected("enrollment token was revoked".into()));
    }
    if now >= token.expires_at {
        return Err(StoreError::Rejected("enrollment token has expired".into()));
    }
    if token.uses >= token.max_uses {
        return Err(StoreError::Rejected(
            "enrollment token has been used up".into(),
        ));
    }
    tx.execute(
        "UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?1",
        [token.id],
    )?;
    insert_agent_key(
        tx,
        token.tenant_id,
        key_name,
        new_key_id,
        new_sha256,
        None,
        &token.labels,
    )
}

// --- audit -----------------------------------------------------------------

pub fn record_audit(conn: &Connection, e: &AuditEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (tenant_id, ts, actor, action, target, client_ip, outcome, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.tenant_id,
        e.ts,
        e.actor,
        e.action,
        e.target,
        e.client_ip,
        e.outcome,
        e.detail
    ])?;
    Ok(())
}

pub fn audit_log(conn: &Connection, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, tenant_id, ts, actor, action, target, client_ip, outcome, detail FROM audit
         WHERE (?1 IS NULL OR tenant_id = ?1)
           AND (?2 IS NULL OR actor = ?2)
           AND (?3 IS NULL OR substr(action, 1, length(?3)) = ?3)
           AND (?4 IS NULL OR ts >= ?4)
           AND (?5 IS NULL OR ts <= ?5)
           AND (?6 IS NULL OR id < ?6)
         ORDER BY id DESC LIMIT ?7",
    )?;
    let rows = stmt.query_map(
        params![
            f.tenant,
            f.actor,
            f.action,
            f.since_ms,
            f.until_ms,
            f.before_id,
            f.limit.clamp(1, 1000)
        ],
        |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                tenant_id: r.get(1)?,
                ts: r.get(2)?,
                actor: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                client_ip: r.get(6)?,
                outcome: r.get(7)?,
                detail: r.get(8)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
