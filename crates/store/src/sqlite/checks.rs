//! Health checks on SQLite: definitions, runs, per-day uptime, status pages.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::*;

const COLUMNS: &str = "id, tenant_id, name, spec, interval_s, timeout_s, retries, run_on_host, enabled, status, failures, \
     last_checked, last_change, last_error, last_latency_ms, cert_days_left, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Check> {
    let spec: String = r.get(3)?;
    Ok(Check {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        name: r.get(2)?,
        spec: serde_json::from_str(&spec).unwrap_or(serde_json::Value::Null),
        interval_s: r.get(4)?,
        timeout_s: r.get(5)?,
        retries: r.get(6)?,
        run_on_host: r.get(7)?,
        enabled: r.get(8)?,
        status: r.get(9)?,
        failures: r.get(10)?,
        last_checked: r.get(11)?,
        last_change: r.get(12)?,
        last_error: r.get(13)?,
        last_latency_ms: r.get(14)?,
        cert_days_left: r.get(15)?,
        created_at: r.get(16)?,
    })
}

fn host_in_tenant(conn: &Connection, tenant: TenantId, host: Option<HostId>) -> Result<()> {
    if let Some(host) = host {
        let found: Option<i64> = conn
            .query_row(
                "SELECT id FROM hosts WHERE id = ?1 AND tenant_id = ?2",
                params![host, tenant],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_none() {
            return Err(StoreError::Rejected(format!(
                "no host {host} in this tenant to run the check"
            )));
        }
    }
    Ok(())
}

pub fn create(conn: &Connection, tenant: TenantId, d: &CheckDefinition, now: i64) -> Result<Check> {
    host_in_tenant(conn, tenant, d.run_on_host)?;
    conn.execute(
        "INSERT INTO checks (tenant_id, name, spec, interval_s, timeout_s, retries, run_on_host, enabled, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![tenant, d.name, d.spec.to_string(), d.interval_s, d.timeout_s, d.retries, d.run_on_host, d.enabled, now],
    )?;
    get(conn, tenant, conn.last_insert_rowid())?.ok_or(StoreError::NotFound)
}

pub fn get(conn: &Connection, tenant: TenantId, id: i64) -> Result<Option<Check>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM checks WHERE id = ?1 AND tenant_id = ?2"
        ))?
        .query_row(params![id, tenant], from_row)
        .optional()?)
}

pub fn list(conn: &Connection, tenant: TenantId) -> Result<Vec<Check>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM checks WHERE tenant_id = ?1 ORDER BY name, id"
    ))?;
    Ok(stmt
        .query_map([tenant], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Every enabled check the server itself runs (scheduler; all tenants).
pub fn server_side(conn: &Connection) -> Result<Vec<Check>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM checks WHERE enabled = 1 AND run_on_host IS NULL ORDER BY id"
    ))?;
    Ok(stmt
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The enabled checks a host's agent runs.
pub fn for_host(conn: &Connection, host: HostId) -> Result<Vec<Check>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM checks WHERE enabled = 1 AND run_on_host = ?1 ORDER BY id"
    ))?;
    Ok(stmt
        .query_map([host], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn update(conn: &Connection, tenant: TenantId, id: i64, d: &CheckDefinition) -> Result<Check> {
    host_in_tenant(conn, tenant, d.run_on_host)?;
    let n = conn.execute(
        "UPDATE checks SET name = ?3, spec = ?4, interval_s = ?5, timeout_s = ?6, retries = ?7, run_on_host = ?8, enabled = ?9
         WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant, d.name, d.spec.to_string(), d.interval_s, d.timeout_s, d.retries, d.run_on_host, d.enabled],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id)?.ok_or(StoreError::NotFound)
}

pub fn delete(tx: &Transaction<'_>, tenant: TenantId, id: i64) -> Result<()> {
    if tx.execute(
        "DELETE FROM checks WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant],
    )? == 0
    {
        return Err(StoreError::NotFound);
    }
    tx.execute("DELETE FROM check_results WHERE check_id = ?1", [id])?;
    tx.execute("DELETE FROM check_daily WHERE check_id = ?1", [id])?;
    Ok(())
}

/// Stores a run and moves the check's state: `up` on success, `down` after
/// more than `retries` failures in a row. `host` restricts the update to a
/// check that host's agent runs.
pub fn record(
    tx: &Transaction<'_>,
    id: i64,
    host: Option<HostId>,
    run: &CheckRun,
) -> Result<(Check, Option<StatusChange>)> {
    let row: Option<(TenantId, Option<HostId>, String, u32, u32)> = tx
        .query_row(
            "SELECT tenant_id, run_on_host, status, failures, retries FROM checks WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((tenant, runner, status, failures, retries)) = row else {
        return Err(StoreError::NotFound);
    };
    if host.is_some() && runner != host {
        return Err(StoreError::NotFound);
    }
    tx.execute(
        "INSERT INTO check_results (check_id, ts, up, latency_ms, cert_days_left, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, run.ts, run.up, run.latency_ms, run.cert_days_left, run.error],
    )?;
    tx.execute(
        "INSERT INTO check_daily (check_id, day, up, total) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (check_id, day) DO UPDATE SET up = up + excluded.up, total = total + 1",
        params![id, run.ts.div_euclid(86_400_000), i64::from(run.up)],
    )?;
    let failures = if run.up { 0 } else { failures + 1 };
    let new_status = if run.up {
        "up"
    } else if failures > retries {
        "down"
    } else {
        status.as_str()
    };
    let change = (new_status != status).then(|| StatusChange {
        from: status.clone(),
        to: new_status.to_owned(),
    });
    tx.execute(
        "UPDATE checks SET status = ?2, failures = ?3, last_checked = ?4, last_error = ?5, last_latency_ms = ?6,
            cert_days_left = coalesce(?7, cert_days_left), last_change = CASE WHEN ?8 THEN ?4 ELSE last_change END
         WHERE id = ?1",
        params![id, new_status, failures, run.ts, run.error, run.latency_ms, run.cert_days_left, change.is_some()],
    )?;
    Ok((get(tx, tenant, id)?.ok_or(StoreError::NotFound)?, change))
}

pub fn runs(
    conn: &Connection,
    tenant: TenantId,
    id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<CheckRun>> {
    get(conn, tenant, id)?.ok_or(StoreError::NotFound)?;
    let mut stmt = conn.prepare_cached(
        "SELECT ts, up, latency_ms, cert_days_left, error FROM check_results
         WHERE check_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts LIMIT 20000",
    )?;
    let rows = stmt.query_map(params![id, from, to], |r| {
        Ok(CheckRun {
            ts: r.get(0)?,
            up: r.get(1)?,
            latency_ms: r.get(2)?,
            cert_days_left: r.get(3)?,
            error: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Runs that were up, and all runs, since `since` (per-run rows).
pub fn uptime(conn: &Connection, id: i64, since: i64) -> Result<(u64, u64)> {
    Ok(conn
        .prepare_cached("SELECT coalesce(sum(up), 0), count(*) FROM check_results WHERE check_id = ?1 AND ts >= ?2")?
        .query_row(params![id, since], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))?)
}

pub fn daily(conn: &Connection, id: i64, since_day: i64) -> Result<Vec<DailyUptime>> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, up, total FROM check_daily WHERE check_id = ?1 AND day >= ?2 ORDER BY day",
    )?;
    let rows = stmt.query_map(params![id, since_day], |r| {
        Ok(DailyUptime {
            day: r.get(0)?,
            up: r.get(1)?,
            total: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn page_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusPage> {
    let checks: String = r.get(4)?;
    let hosts: String = r.get(5)?;
    Ok(StatusPage {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        slug: r.get(2)?,
        title: r.get(3)?,
        check_ids: serde_json::from_str(&checks).unwrap_or_default(),
        host_ids: serde_json::from_str(&hosts).unwrap_or_default(),
        created_at: r.get(6)?,
    })
}

const PAGE_COLUMNS: &str = "id, tenant_id, slug, title, check_ids, host_ids, created_at";

pub fn create_page(
    conn: &Connection,
    tenant: TenantId,
    slug: &str,
    title: &str,
    checks: &[i64],
    hosts: &[HostId],
    now: i64,
) -> Result<StatusPage> {
    for id in checks {
        get(conn, tenant, *id)?
            .ok_or_else(|| StoreError::Rejected(format!("no check {id} in this tenant")))?;
    }
    for host in hosts {
        host_in_tenant(conn, tenant, Some(*host))?;
    }
    let n = conn.execute(
        "INSERT INTO status_pages (tenant_id, slug, title, check_ids, host_ids, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (slug) DO NOTHING",
        params![tenant, slug, title, serde_json::to_string(checks).expect("ids"), serde_json::to_string(hosts).expect("ids"), now],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "the address {slug:?} is taken"
        )));
    }
    page_by_slug(conn, slug)?.ok_or(StoreError::NotFound)
}

pub fn pages(conn: &Connection, tenant: TenantId) -> Result<Vec<StatusPage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PAGE_COLUMNS} FROM status_pages WHERE tenant_id = ?1 ORDER BY id"
    ))?;
    Ok(stmt
        .query_map([tenant], page_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Global by design: a published page is found by its address alone.
pub fn page_by_slug(conn: &Connection, slug: &str) -> Result<Option<StatusPage>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PAGE_COLUMNS} FROM status_pages WHERE slug = ?1"
        ))?
        .query_row([slug], page_from_row)
        .optional()?)
}

pub fn delete_page(conn: &Connection, tenant: TenantId, id: i64) -> Result<()> {
    if conn.execute(
        "DELETE FROM status_pages WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant],
    )? == 0
    {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
