//! Alerting on SQLite: configuration objects, alert episodes, notifications.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::*;

const OBJECT_COLUMNS: &str = "id, tenant_id, kind, name, body, created_by, created_at, updated_at";

fn kind_from(s: &str) -> AlertObjectKind {
    match s {
        "rule" => AlertObjectKind::Rule,
        "channel" => AlertObjectKind::Channel,
        "routing" => AlertObjectKind::Routing,
        "silence" => AlertObjectKind::Silence,
        "maintenance" => AlertObjectKind::Maintenance,
        _ => AlertObjectKind::Webhook,
    }
}

fn object_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertObject> {
    let kind: String = r.get(2)?;
    let body: String = r.get(4)?;
    Ok(AlertObject {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: kind_from(&kind),
        name: r.get(3)?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub fn create_object(
    conn: &Connection,
    tenant: TenantId,
    kind: AlertObjectKind,
    name: &str,
    body: &serde_json::Value,
    by: Option<&str>,
    now: i64,
) -> Result<AlertObject> {
    conn.execute(
        "INSERT INTO alert_objects (tenant_id, kind, name, body, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![tenant, kind.as_str(), name, body.to_string(), by, now],
    )?;
    object(conn, Some(tenant), kind, conn.last_insert_rowid())?.ok_or(StoreError::NotFound)
}

/// `tenant` None: across tenants (the engine, incoming webhooks by id).
pub fn objects(
    conn: &Connection,
    tenant: Option<TenantId>,
    kind: AlertObjectKind,
) -> Result<Vec<AlertObject>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM alert_objects
         WHERE kind = ?1 AND (?2 IS NULL OR tenant_id = ?2) ORDER BY id"
    ))?;
    Ok(stmt
        .query_map(params![kind.as_str(), tenant], object_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn object(
    conn: &Connection,
    tenant: Option<TenantId>,
    kind: AlertObjectKind,
    id: i64,
) -> Result<Option<AlertObject>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM alert_objects
             WHERE id = ?1 AND kind = ?2 AND (?3 IS NULL OR tenant_id = ?3)"
        ))?
        .query_row(params![id, kind.as_str(), tenant], object_from_row)
        .optional()?)
}

pub fn update_object(
    conn: &Connection,
    tenant: TenantId,
    kind: AlertObjectKind,
    id: i64,
    name: &str,
    body: &serde_json::Value,
    now: i64,
) -> Result<AlertObject> {
    let changed = conn.execute(
        "UPDATE alert_objects SET name = ?4, body = ?5, updated_at = ?6
         WHERE id = ?1 AND kind = ?2 AND tenant_id = ?3",
        params![id, kind.as_str(), tenant, name, body.to_string(), now],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    object(conn, Some(tenant), kind, id)?.ok_or(StoreError::NotFound)
}

pub fn delete_object(
    conn: &Connection,
    tenant: TenantId,
    kind: AlertObjectKind,
    id: i64,
) -> Result<()> {
    let changed = conn.execute(
        "DELETE FROM alert_objects WHERE id = ?1 AND kind = ?2 AND tenant_id = ?3",
        params![id, kind.as_str(), tenant],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

const ALERT_COLUMNS: &str = "id, tenant_id, fingerprint, source, source_id, name, severity, state, host_id, labels, \
     annotations, summary, value, started_at, fired_at, resolved_at, updated_at, last_notified_at, notify_count, \
     suppressed, ack_by, ack_at, ack_comment, assignee";

fn map_from(json: String) -> BTreeMap<String, String> {
    serde_json::from_str(&json).unwrap_or_default()
}

fn alert_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alert> {
    let ack_by: Option<String> = r.get(20)?;
    let ack_at: Option<i64> = r.get(21)?;
    Ok(Alert {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        fingerprint: r.get(2)?,
        source: r.get(3)?,
        source_id: r.get(4)?,
        name: r.get(5)?,
        severity: r.get(6)?,
        state: r.get(7)?,
        host_id: r.get(8)?,
        labels: map_from(r.get(9)?),
        annotations: map_from(r.get(10)?),
        summary: r.get(11)?,
        value: r.get(12)?,
        started_at: r.get(13)?,
        fired_at: r.get(14)?,
        resolved_at: r.get(15)?,
        updated_at: r.get(16)?,
        last_notified_at: r.get(17)?,
        notify_count: r.get(18)?,
        suppressed: r.get(19)?,
        ack: match (ack_by, ack_at) {
            (Some(by), Some(at)) => Some(AlertAck {
                by,
                at,
                comment: r.get(22)?,
            }),
            _ => None,
        },
        assignee: r.get(23)?,
    })
}

fn to_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".into())
}

/// Inserts alerts with id 0 (setting their ids) and updates the others. Ack
/// and assignee are left alone: people change them through the API while
/// the engine holds its own copy.
pub fn save_alerts(tx: &Transaction<'_>, alerts: &mut [Alert]) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO alerts (tenant_id, fingerprint, source, source_id, name, severity, state, host_id, labels,
             annotations, summary, value, started_at, fired_at, resolved_at, updated_at, last_notified_at,
             notify_count, suppressed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE alerts SET name = ?2, severity = ?3, state = ?4, labels = ?5, annotations = ?6, summary = ?7,
             value = ?8, fired_at = ?9, resolved_at = ?10, updated_at = ?11, last_notified_at = ?12,
             notify_count = ?13, suppressed = ?14
         WHERE id = ?1",
    )?;
    for a in alerts.iter_mut() {
        if a.id == 0 {
            insert.execute(params![
                a.tenant_id,
                a.fingerprint,
                a.source,
                a.source_id,
                a.name,
                a.severity,
                a.state,
                a.host_id,
                to_json(&a.labels),
                to_json(&a.annotations),
                a.summary,
                a.value,
                a.started_at,
                a.fired_at,
                a.resolved_at,
                a.updated_at,
                a.last_notified_at,
                a.notify_count,
                a.suppressed
            ])?;
            a.id = tx.last_insert_rowid();
        } else {
            update.execute(params![
                a.id,
                a.name,
                a.severity,
                a.state,
                to_json(&a.labels),
                to_json(&a.annotations),
                a.summary,
                a.value,
                a.fired_at,
                a.resolved_at,
                a.updated_at,
                a.last_notified_at,
                a.notify_count,
                a.suppressed
            ])?;
        }
    }
    Ok(())
}

/// Pending alerts whose condition went away before they fired are noise,
/// not history.
pub fn delete_alerts(tx: &Transaction<'_>, ids: &[i64]) -> Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM alerts WHERE id = ?1 AND state = 'pending'")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

pub fn open_alerts(conn: &Connection) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE state != 'resolved' ORDER BY id"
    ))?;
    Ok(stmt
        .query_map([], alert_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn alerts(conn: &Connection, f: &AlertFilter) -> Result<Vec<Alert>> {
    let states = serde_json::to_string(&f.states).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts
         WHERE tenant_id = ?1
           AND (?2 = '[]' OR state IN (SELECT value FROM json_each(?2)))
           AND (?3 IS NULL OR severity = ?3)
           AND (?4 IS NULL OR source = ?4)
           AND (?5 IS NULL OR host_id = ?5)
           AND (?6 IS NULL OR id < ?6)
         ORDER BY id DESC LIMIT ?7"
    ))?;
    Ok(stmt
        .query_map(
            params![
                f.tenant,
                states,
                f.severity,
                f.source,
                f.host_id,
                f.before_id,
                f.limit.clamp(1, 1000)
            ],
            alert_from_row,
        )?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn alert(conn: &Connection, tenant: TenantId, id: i64) -> Result<Option<Alert>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1 AND tenant_id = ?2"
        ))?
        .query_row(params![id, tenant], alert_from_row)
        .optional()?)
}

pub fn ack(conn: &Connection, tenant: TenantId, id: i64, ack: Option<&AlertAck>) -> Result<Alert> {
    let changed = conn.execute(
        "UPDATE alerts SET ack_by = ?3, ack_at = ?4, ack_comment = ?5 WHERE id = ?1 AND tenant_id = ?2",
        params![
            id,
            tenant,
            ack.map(|a| &a.by),
            ack.map(|a| a.at),
            ack.and_then(|a| a.comment.as_ref())
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    alert(conn, tenant, id)?.ok_or(StoreError::NotFound)
}

pub fn assign(
    conn: &Connection,
    tenant: TenantId,
    id: i64,
    assignee: Option<&str>,
) -> Result<Alert> {
    let changed = conn.execute(
        "UPDATE alerts SET assignee = ?3 WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant, assignee],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    alert(conn, tenant, id)?.ok_or(StoreError::NotFound)
}

pub fn record_notification(conn: &Connection, n: &NotificationRecord) -> Result<i64> {
    conn.execute(
        "INSERT INTO notifications (tenant_id, channel_id, channel_name, alert_ids, kind, outcome, error, attempts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            n.tenant_id,
            n.channel_id,
            n.channel_name,
            serde_json::to_string(&n.alert_ids).unwrap_or_else(|_| "[]".into()),
            n.kind,
            n.outcome,
            n.error,
            n.attempts,
            n.created_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn notifications(
    conn: &Connection,
    tenant: TenantId,
    alert_id: Option<i64>,
    limit: u32,
) -> Result<Vec<NotificationRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, tenant_id, channel_id, channel_name, alert_ids, kind, outcome, error, attempts, created_at
         FROM notifications
         WHERE tenant_id = ?1
           AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(alert_ids) WHERE value = ?2))
         ORDER BY id DESC LIMIT ?3",
    )?;
    Ok(stmt
        .query_map(params![tenant, alert_id, limit.clamp(1, 1000)], |r| {
            let ids: String = r.get(4)?;
            Ok(NotificationRecord {
                id: r.get(0)?,
                tenant_id: r.get(1)?,
                channel_id: r.get(2)?,
                channel_name: r.get(3)?,
                alert_ids: serde_json::from_str(&ids).unwrap_or_default(),
                kind: r.get(5)?,
                outcome: r.get(6)?,
                error: r.get(7)?,
                attempts: r.get(8)?,
                created_at: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Resolved alerts and notifications older than `before` (retention).
pub fn prune(conn: &Connection, before: i64) -> Result<usize> {
    let alerts = conn.execute(
        "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?1",
        [before],
    )?;
    let notes = conn.execute("DELETE FROM notifications WHERE created_at < ?1", [before])?;
    Ok(alerts + notes)
}

pub fn metric_names(conn: &Connection, tenant: TenantId) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT s.name FROM series s JOIN hosts h ON h.id = s.host_id
         WHERE h.tenant_id = ?1 ORDER BY s.name",
    )?;
    Ok(stmt
        .query_map([tenant], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}
