//! The command queue on SQLite: create, deliver (claim), stream results,
//! cancel, expire. Agents reach their commands only through their host id;
//! users only through their tenant.

use std::collections::BTreeMap;

use lxmon_proto::{
    AgentCommand, CommandPoll, CommandStatus, CommandUpdate, MAX_COMMAND_OUTPUT_BYTES,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::*;

const COLUMNS: &str = "id, tenant_id, host_id, action, args, status, created_by, created_at, expires_at, delivered_at, \
     started_at, finished_at, exit_code, duration_ms, truncated, error, output";

fn from_row(r: &rusqlite::Row<'_>, with_output: bool) -> rusqlite::Result<Command> {
    let args: String = r.get(4)?;
    let status: String = r.get(5)?;
    Ok(Command {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        host_id: r.get(2)?,
        action: r.get(3)?,
        args: serde_json::from_str(&args).unwrap_or_default(),
        status: CommandStatus::parse(&status).unwrap_or(CommandStatus::Failed),
        created_by: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        delivered_at: r.get(9)?,
        started_at: r.get(10)?,
        finished_at: r.get(11)?,
        exit_code: r.get(12)?,
        duration_ms: r.get::<_, Option<i64>>(13)?.map(|d| d as u64),
        truncated: r.get(14)?,
        error: r.get(15)?,
        output: if with_output { Some(r.get(16)?) } else { None },
    })
}

#[allow(clippy::too_many_arguments)]
pub fn create(
    conn: &Connection,
    tenant: TenantId,
    host: HostId,
    action: &str,
    args: &BTreeMap<String, String>,
    created_by: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<Command> {
    let owned: Option<i64> = conn
        .query_row(
            "SELECT id FROM hosts WHERE id = ?1 AND tenant_id = ?2",
            params![host, tenant],
            |r| r.get(0),
        )
        .optional()?;
    if owned.is_none() {
        return Err(StoreError::NotFound);
    }
    conn.execute(
        "INSERT INTO commands (tenant_id, host_id, action, args, status, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7)",
        params![tenant, host, action, serde_json::to_string(args).expect("args serialize"), created_by, now, now + ttl_ms],
    )?;
    get(conn, tenant, conn.last_insert_rowid())?.ok_or(StoreError::NotFound)
}

pub fn get(conn: &Connection, tenant: TenantId, id: i64) -> Result<Option<Command>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM commands WHERE id = ?1 AND tenant_id = ?2"
        ))?
        .query_row(params![id, tenant], |r| from_row(r, true))
        .optional()?)
}

pub fn list(
    conn: &Connection,
    tenant: TenantId,
    host: HostId,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Command>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM commands WHERE tenant_id = ?1 AND host_id = ?2 AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let rows = stmt.query_map(params![tenant, host, before, limit.clamp(1, 500)], |r| {
        from_row(r, false)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn cancel(conn: &Connection, tenant: TenantId, id: i64, now: i64) -> Result<Command> {
    let current = get(conn, tenant, id)?.ok_or(StoreError::NotFound)?;
    if current.status.is_final() {
        return Err(StoreError::Conflict(format!(
            "command already {}",
            current.status.as_str()
        )));
    }
    // A pending command is simply never delivered; a delivered or running
    // one is announced to its agent on its next poll.
    let tell_agent = current.status != CommandStatus::Pending;
    conn.execute(
        "UPDATE commands SET status = 'cancelled', finished_at = ?3, cancel_sent = ?4 WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant, now, i64::from(!tell_agent)],
    )?;
    get(conn, tenant, id)?.ok_or(StoreError::NotFound)
}

/// A delivered command the agent never acknowledged (its poll answer was
/// lost) is offered again after this; agents run an id only once.
pub const REDELIVER_AFTER_MS: i64 = 60_000;

/// Whether the host has commands to hand over or cancellations to announce.
pub fn has_work(conn: &Connection, host: HostId, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM commands WHERE host_id = ?1
                AND (status = 'pending' OR (status = 'cancelled' AND cancel_sent = 0)
                     OR (status = 'delivered' AND started_at IS NULL AND delivered_at <= ?2)))",
        )?
        .query_row(params![host, now - REDELIVER_AFTER_MS], |r| r.get(0))?)
}

/// Expires what waited too long, hands the host its pending commands (now
/// `delivered`) and the cancellations it has not been told of.
pub fn poll(tx: &rusqlite::Transaction<'_>, host: HostId, now: i64) -> Result<CommandPoll> {
    tx.execute(
        "UPDATE commands SET status = 'expired', finished_at = ?2 WHERE host_id = ?1 AND status = 'pending' AND expires_at <= ?2",
        params![host, now],
    )?;
    tx.execute(
        "UPDATE commands SET status = 'pending' WHERE host_id = ?1 AND status = 'delivered'
         AND started_at IS NULL AND delivered_at <= ?2",
        params![host, now - REDELIVER_AFTER_MS],
    )?;
    let mut poll = CommandPoll::default();
    {
        let mut stmt =
            tx.prepare_cached("SELECT id, action, args FROM commands WHERE host_id = ?1 AND status = 'pending' ORDER BY id")?;
        let rows = stmt.query_map([host], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, action, args) = row?;
            poll.commands.push(AgentCommand {
                id,
                action,
                args: serde_json::from_str(&args).unwrap_or_default(),
            });
        }
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM commands WHERE host_id = ?1 AND status = 'cancelled' AND cancel_sent = 0 ORDER BY id",
        )?;
        poll.cancel = stmt
            .query_map([host], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
    }
    for c in &poll.commands {
        tx.execute(
            "UPDATE commands SET status = 'delivered', delivered_at = ?2 WHERE id = ?1",
            params![c.id, now],
        )?;
    }
    for id in &poll.cancel {
        tx.execute("UPDATE commands SET cancel_sent = 1 WHERE id = ?1", [id])?;
    }
    Ok(poll)
}

/// Applies an agent's update to one of its host's commands. Returns the
/// command and whether the update was new (a resent chunk is not).
pub fn update(
    tx: &rusqlite::Transaction<'_>,
    host: HostId,
    u: &CommandUpdate,
    now: i64,
) -> Result<(Command, bool)> {
    let row: Option<(TenantId, String, i64, i64)> = tx
        .query_row(
            "SELECT tenant_id, status, next_seq, length(output) FROM commands WHERE id = ?1 AND host_id = ?2",
            params![u.id, host],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((tenant, status, next_seq, stored_len)) = row else {
        return Err(StoreError::NotFound);
    };
    let status = CommandStatus::parse(&status).unwrap_or(CommandStatus::Failed);
    let fresh =
        i64::from(u.seq) >= next_seq && (!status.is_final() || status == CommandStatus::Cancelled);
    if fresh {
        // Keep at most MAX_COMMAND_OUTPUT_BYTES, cut on a character boundary.
        let room = MAX_COMMAND_OUTPUT_BYTES.saturating_sub(stored_len as usize);
        let mut take = u.output.len().min(room);
        while !u.output.is_char_boundary(take) {
            take -= 1;
        }
        let cut = take < u.output.len();
        // A cancelled command stays cancelled; its late output is still kept.
        let new_status = if status == CommandStatus::Cancelled {
            status
        } else {
            u.status
        };
        tx.execute(
            "UPDATE commands SET
                output = output || ?2,
                next_seq = ?3,
                status = ?4,
                started_at = CASE WHEN ?4 != 'delivered' THEN coalesce(started_at, ?5) ELSE started_at END,
                delivered_at = coalesce(delivered_at, ?5),
                finished_at = CASE WHEN ?6 THEN coalesce(finished_at, ?5) ELSE finished_at END,
                exit_code = coalesce(?7, exit_code),
                duration_ms = coalesce(?8, duration_ms),
                truncated = truncated OR ?9,
                error = coalesce(?10, error)
             WHERE id = ?1",
            params![
                u.id,
                &u.output[..take],
                i64::from(u.seq) + 1,
                new_status.as_str(),
                now,
                new_status.is_final(),
                u.exit_code,
                u.duration_ms.map(|d| d as i64),
                u.truncated || cut,
                u.error,
            ],
        )?;
    }
    let command = get(tx, tenant, u.id)?.ok_or(StoreError::NotFound)?;
    Ok((command, fresh))
}

/// Expires pending commands of every host whose time to live has passed.
pub fn expire(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE commands SET status = 'expired', finished_at = ?1 WHERE status = 'pending' AND expires_at <= ?1",
        [now],
    )?)
}
