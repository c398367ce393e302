//! Agent → server: registration, reports (single and NDJSON backfill),
//! heartbeats and configuration.

use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use lxmon_proto::{
    AgentCheck, AgentConfig, BatchAck, Heartbeat, HeartbeatAck, MAX_BATCH_BYTES, MAX_BATCH_RECORDS,
    MAX_REPORT_BYTES, MAX_TEXT_LEN, MetricsAck, RegisterRequest, RegisterResponse, Report,
    TopProcesses, validate_labels, validate_report,
};
use lxmon_store::{HostId, HostRegistration, IngestOutcome, NewReport, TenantId};
use std::sync::atomic::Ordering::Relaxed;

use super::error::{ApiError, ApiResult};
use super::events::LiveEvent;
use super::extract::{AgentAuth, parse_json, read_body, read_report_body, unknown_base};
use crate::state::AppState;

/// Largest registration or heartbeat body.
const SMALL_BODY: usize = 64 * 1024;
const HEARTBEAT_INTERVAL_S: u32 = 60;

/// The settings of a host's agent, with the health checks it runs.
async fn agent_config(state: &AppState, host: Option<HostId>) -> ApiResult<AgentConfig> {
    let checks = match host {
        Some(host) => state.blocking(move |s| s.host_checks(host)).await?,
        None => Vec::new(),
    };
    Ok(AgentConfig {
        report_interval_s: None,
        heartbeat_interval_s: HEARTBEAT_INTERVAL_S,
        checks: checks
            .into_iter()
            .map(|c| AgentCheck {
                id: c.id,
                spec: c.spec,
                interval_s: c.interval_s,
                timeout_s: c.timeout_s,
            })
            .collect(),
    })
}

fn check_registration(req: &RegisterRequest) -> ApiResult<()> {
    if !lxmon_proto::valid_hostname(&req.hostname) {
        return Err(ApiError::unprocessable(
            "invalid_registration",
            "hostname is empty, too long or has whitespace",
        ));
    }
    for (field, text) in [
        ("os", &req.os),
        ("arch", &req.arch),
        ("version", &req.version),
        ("kernel", &req.kernel),
    ] {
        if text.len() > MAX_TEXT_LEN {
            return Err(ApiError::unprocessable(
                "invalid_registration",
                format!("{field} is longer than {MAX_TEXT_LEN} bytes"),
            ));
        }
    }
    validate_labels("host labels", &req.labels)?;
    if req.actions.len() > lxmon_proto::MAX_ACTIONS {
        return Err(ApiError::unprocessable(
            "invalid_registration",
            format!("at most {} actions", lxmon_proto::MAX_ACTIONS),
        ));
    }
    for action in &req.actions {
        let sizes_ok = (1..=64).contains(&action.name.len())
            && action.description.len() <= MAX_TEXT_LEN
            && action.params.len() <= lxmon_proto::MAX_COMMAND_ARGS
            && action.params.iter().all(|p| {
                (1..=64).contains(&p.name.len())
                    && p.pattern.len() <= 1024
                    && p.description.len() <= MAX_TEXT_LEN
            });
        if !sizes_ok {
            return Err(ApiError::unprocessable(
                "invalid_registration",
                format!(
                    "action {:?} has a name, description or parameter out of bounds",
                    action.name.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

/// Register the agent's host (created on first call, updated after).
#[utoipa::path(post, path = "/api/agent/register", tag = "agent",
    request_body = RegisterRequest,
    responses((status = 200, body = RegisterResponse), (status = 401, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn register(
    State(state): State<AppState>,
    agent: AgentAuth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<RegisterResponse>> {
    let req: RegisterRequest = parse_json(&read_body(&headers, body, SMALL_BODY).await?)?;
    check_registration(&req)?;
    let reg = HostRegistration {
        hostname: req.hostname,
        os: req.os,
        arch: req.arch,
        kernel: req.kernel,
        agent_version: req.version,
        machine_id: req.machine_id,
        labels: req.labels,
        actions: req.actions,
    };
    let (tenant, key_id) = (agent.tenant, agent.key.key_id.clone());
    let host = state
        .blocking(move |s| s.register_host(tenant, &key_id, &reg))
        .await?;
    tracing::info!(host_id = host.id, hostname = %host.hostname, "agent registered");
    Ok(Json(RegisterResponse {
        server_id: host.id,
        registered: true,
        last_seq: host.last_seq,
        config: agent_config(&state, Some(host.id)).await?,
        delta_reports: true,
    }))
}

/// The host a key reports as; a key used before registering registers its
/// host from the report's identity.
async fn host_for(state: &AppState, agent: &AgentAuth, report: &Report) -> ApiResult<HostId> {
    if let Some(id) = agent.key.host_id {
        return Ok(id);
    }
    let reg = HostRegistration {
        hostname: report.host.hostname.clone(),
        machine_id: report.host.machine_id.clone(),
        ..Default::default()
    };
    let (tenant, key_id) = (agent.tenant, agent.key.key_id.clone());
    Ok(state
        .blocking(move |s| s.register_host(tenant, &key_id, &reg))
        .await?
        .id)
}

/// A validated agent report as the store takes it.
fn to_new(r: Report) -> NewReport {
    NewReport {
        seq: Some(r.seq),
        ts: r.ts,
        interval_s: r.interval_s,
        samples: r.metrics,
        info: r.info,
    }
}

/// Stores validated reports of one host and updates the server's figures.
pub async fn store_reports(
    state: &AppState,
    tenant: TenantId,
    host: HostId,
    reports: Vec<NewReport>,
    processes: Option<TopProcesses>,
    started: Instant,
) -> ApiResult<IngestOutcome> {
    let samples: usize = reports.iter().map(|r| r.samples.len()).sum();
    let newest = reports.iter().map(|r| r.ts).max();
    let for_alerts = state.alerts.pick(tenant, host, &reports, started);
    // Awaited directly: the writer replies once the reports are committed.
    let outcome = async {
        let receipt = state.store.submit_ingest(tenant, host, reports)?;
        receipt.await.map_err(|_| lxmon_store::StoreError::Closed)?
    }
    .await
    .map_err(|e| {
        let e = ApiError::from(e);
        state.telemetry.rejected(e.code);
        e
    })?;
    if let Some(p) = processes {
        state
            .processes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host, p);
    }
    let t = &state.telemetry;
    t.reports_ingested.fetch_add(outcome.stored as u64, Relaxed);
    t.reports_duplicate
        .fetch_add(outcome.duplicates as u64, Relaxed);
    if outcome.duplicates == 0 {
        t.samples_ingested.fetch_add(samples as u64, Relaxed);
    }
    t.observe_ingest(started.elapsed());
    if let (Some(input), true) = (for_alerts, outcome.stored > 0) {
        state.alerts.samples_stored(input);
    }
    if let (Some(ts), true) = (newest, outcome.stored > 0) {
        state
            .events
            .publish(tenant, LiveEvent::Report { host_id: host, ts });
    }
    Ok(outcome)
}

fn rejecting(state: &AppState) -> impl Fn(ApiError) -> ApiError + '_ {
    move |e| {
        state.telemetry.rejected(e.code);
        e
    }
}

/// Push one report. Durable when the 200 arrives.
#[utoipa::path(post, path = "/api/agent/metrics", tag = "agent",
    request_body(content = Report, description = "JSON; Content-Encoding zstd (with x-lxmon-zstd-dict: v1 for the shared dictionary, or report:<seq> for a body compressed against this host's report <seq>, the last one this server acknowledged) or gzip accepted"),
    responses((status = 200, body = MetricsAck), (status = 400, body = lxmon_proto::ErrorBody), (status = 401, body = lxmon_proto::ErrorBody),
        (status = 409, description = "unknown_base: a report:<seq> body whose base this server does not hold; send the report whole", body = lxmon_proto::ErrorBody),
        (status = 413, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    agent: AgentAuth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<MetricsAck>> {
    let started = Instant::now();
    let known_host = agent.key.host_id;
    let body = read_report_body(&headers, body, MAX_REPORT_BYTES, |seq| {
        known_host.and_then(|host| state.report_base(host, seq))
    })
    .await
    .map_err(rejecting(&state))?;
    let report: Report = match parse_json(&body.json) {
        Ok(report) => report,
        // A delta decoded against a base that was not the agent's: not
        // the agent's report, so ask for it whole rather than refuse it.
        Err(e) => {
            let e = body.base_seq.map_or(e, unknown_base);
            return Err(rejecting(&state)(e));
        }
    };
    validate_report(&report, crate::now_ms()).map_err(|e| rejecting(&state)(e.into()))?;
    let host = host_for(&state, &agent, &report).await?;
    let (interval, seq, samples) = (report.interval_s, report.seq, report.metrics.len());
    let processes = report.processes.clone();
    let outcome = store_reports(
        &state,
        agent.tenant,
        host,
        vec![to_new(report)],
        processes,
        started,
    )
    .await?;
    if outcome.stored > 0 {
        let t = &state.telemetry;
        t.report_wire_bytes.fetch_add(body.wire_len as u64, Relaxed);
        t.report_wire_samples.fetch_add(samples as u64, Relaxed);
        t.reports_delta
            .fetch_add(u64::from(body.base_seq.is_some()), Relaxed);
    }
    state.set_report_base(host, seq, body.json);
    Ok(Json(MetricsAck {
        received: true,
        duplicate: outcome.duplicates > 0,
        next_report_in: interval,
    }))
}

/// Backfill: NDJSON reports, oldest first. Validated as a whole before
/// anything is stored; an error names the offending line.
#[utoipa::path(post, path = "/api/agent/metrics/batch", tag = "agent",
    request_body(content = String, content_type = "application/x-ndjson", description = "One Report per line, at most 3000 lines and 15 MB"),
    responses((status = 200, body = BatchAck), (status = 400, body = lxmon_proto::ErrorBody), (status = 413, body = lxmon_proto::ErrorBody),
        (status = 422, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn batch(
    State(state): State<AppState>,
    agent: AgentAuth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<BatchAck>> {
    let started = Instant::now();
    let reject = rejecting(&state);
    let bytes = read_body(&headers, body, MAX_BATCH_BYTES)
        .await
        .map_err(&reject)?;
    let now = crate::now_ms();
    let mut reports: Vec<Report> = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if reports.len() == MAX_BATCH_RECORDS {
            return Err(reject(ApiError::too_large(format!(
                "batch has more than {MAX_BATCH_RECORDS} records"
            ))));
        }
        let report: Report = parse_json(line).map_err(|e| reject(e.at_line(line_no)))?;
        validate_report(&report, now).map_err(|e| reject(ApiError::from(e).at_line(line_no)))?;
        if let Some(prev) = reports.last()
            && report.seq <= prev.seq
        {
            return Err(reject(
                ApiError::unprocessable("out_of_order", "records must be in ascending seq order")
                    .at_line(line_no),
            ));
        }
        reports.push(report);
    }
    let Some(first) = reports.first() else {
        return Ok(Json(BatchAck {
            stored: 0,
            duplicates: 0,
            next_report_in: 0,
        }));
    };
    let host = host_for(&state, &agent, first).await?;
    let interval = reports.last().map_or(0, |r| r.interval_s);
    let processes = reports.iter().rev().find_map(|r| r.processes.clone());
    let reports = reports.into_iter().map(to_new).collect();
    let outcome = store_reports(&state, agent.tenant, host, reports, processes, started).await?;
    Ok(Json(BatchAck {
        stored: outcome.stored,
        duplicates: outcome.duplicates,
        next_report_in: interval,
    }))
}

/// Lightweight liveness signal.
#[utoipa::path(post, path = "/api/agent/heartbeat", tag = "agent", request_body = Heartbeat,
    responses((status = 200, body = HeartbeatAck), (status = 401, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn heartbeat(
    State(state): State<AppState>,
    agent: AgentAuth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<HeartbeatAck>> {
    let _beat: Heartbeat = parse_json(&read_body(&headers, body, SMALL_BODY).await?)?;
    if let Some(host) = agent.key.host_id {
        state.touches.host(agent.tenant, host, crate::now_ms());
    }
    Ok(Json(HeartbeatAck {
        status: "ok".into(),
    }))
}

/// Settings for this agent.
#[utoipa::path(get, path = "/api/agent/config", tag = "agent",
    responses((status = 200, body = AgentConfig), (status = 401, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn config(
    State(state): State<AppState>,
    agent: AgentAuth,
) -> ApiResult<Json<AgentConfig>> {
    Ok(Json(agent_config(&state, agent.key.host_id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_checks() {
        let mut req = RegisterRequest {
            hostname: "web-1".into(),
            os: String::new(),
            arch: String::new(),
            version: String::new(),
            kernel: String::new(),
            machine_id: None,
            labels: Default::default(),
            actions: Vec::new(),
        };
        assert!(check_registration(&req).is_ok());
        req.hostname = "a b".into();
        assert!(check_registration(&req).is_err());
        req.hostname = "ok".into();
        req.os = "x".repeat(MAX_TEXT_LEN + 1);
        assert!(check_registration(&req).is_err());
    }
}
