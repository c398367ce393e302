//! Remote commands: users queue an allowlisted action for a host; its agent
//! picks it up by long-poll and streams the output back. The agent's own
//! allowlist is the authority; the checks here only give users an early,
//! clear error.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lxmon_proto::{
    ActionSpec, CommandPoll, CommandUpdate, CommandUpdateAck, MAX_COMMAND_ARG_LEN,
    MAX_COMMAND_ARGS, MAX_COMMAND_CHUNK_BYTES, MAX_LONG_POLL_S,
};
use lxmon_store::{Command, HostId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::authz::{AuditNote, Caller};
use super::error::{ApiError, ApiResult};
use super::events::LiveEvent;
use super::extract::{AgentAuth, parse_json, read_body};
use crate::state::AppState;

/// A command not picked up within this is `expired`.
pub const COMMAND_TTL_MS: i64 = 10 * 60 * 1000;

#[derive(Deserialize, ToSchema)]
pub struct RunCommand {
    pub action: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

/// Whole-value match of a parameter pattern, as the agent applies it.
fn full_match(pattern: &str, value: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

/// Checks a request against what the host's agent announced.
pub fn check_against(actions: &[ActionSpec], req: &RunCommand) -> ApiResult<()> {
    let Some(spec) = actions.iter().find(|a| a.name == req.action) else {
        return Err(ApiError::unprocessable(
            "unknown_action",
            format!("this host's agent does not allow {:?}", req.action),
        ));
    };
    if req.args.len() > MAX_COMMAND_ARGS {
        return Err(ApiError::unprocessable(
            "invalid_args",
            format!("at most {MAX_COMMAND_ARGS} arguments"),
        ));
    }
    for name in req.args.keys() {
        if !spec.params.iter().any(|p| &p.name == name) {
            return Err(ApiError::unprocessable(
                "invalid_args",
                format!("{:?} takes no argument {name:?}", spec.name),
            ));
        }
    }
    for param in &spec.params {
        let value = req.args.get(&param.name).ok_or_else(|| {
            ApiError::unprocessable("invalid_args", format!("missing argument {:?}", param.name))
        })?;
        if value.len() > MAX_COMMAND_ARG_LEN || !full_match(&param.pattern, value) {
            return Err(ApiError::unprocessable(
                "invalid_args",
                format!("argument {:?} does not match {}", param.name, param.pattern),
            ));
        }
    }
    Ok(())
}

fn id_of(path: Result<Path<i64>, PathRejection>) -> ApiResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("bad_path", "id must be an integer"))
}

/// Queue an allowlisted action on a host.
#[utoipa::path(post, path = "/api/servers/{id}/command", tag = "commands", params(("id" = i64, Path)), request_body = RunCommand,
    responses((status = 201, body = Command), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<HostId>, PathRejection>,
    body: Result<Json<RunCommand>, JsonRejection>,
) -> ApiResult<Response> {
    let host_id = id_of(path)?;
    let Json(req) = body?;
    let tenant = caller.tenant;
    let host = state
        .blocking(move |s| s.host(tenant, host_id))
        .await?
        .ok_or_else(|| ApiError::not_found("server"))?;
    check_against(&host.actions, &req)?;
    let who = caller.username.clone();
    let (action, args) = (req.action.clone(), req.args.clone());
    let command = state
        .blocking(move |s| {
            s.create_command(
                tenant,
                host_id,
                &action,
                &args,
                &who,
                crate::now_ms(),
                COMMAND_TTL_MS,
            )
        })
        .await?;
    state.wake_agent(host_id);
    publish(&state, &command, "");
    let mut note = AuditNote::new(
        "command.run",
        format!(
            "command {} {} on {}",
            command.id, command.action, host.hostname
        ),
    );
    note.detail = serde_json::to_string(&command.args).unwrap_or_default();
    Ok(note.attach((StatusCode::CREATED, Json(command))))
}

fn publish(state: &AppState, c: &Command, output: &str) {
    state.events.publish(
        c.tenant_id,
        LiveEvent::Command {
            command_id: c.id,
            host_id: c.host_id,
            status: c.status,
            output: output.to_owned(),
        },
    );
}

/// A command's status, timings and output so far.
#[utoipa::path(get, path = "/api/commands/{id}/status", tag = "commands", params(("id" = i64, Path)),
    responses((status = 200, body = Command), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<Command>> {
    let id = id_of(path)?;
    let tenant = caller.tenant;
    state
        .blocking(move |s| s.command(tenant, id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("command"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Commands older than this id (paging).
    pub before: Option<i64>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
}

/// A host's command history, newest first (without output).
#[utoipa::path(get, path = "/api/servers/{id}/commands", tag = "commands", params(("id" = i64, Path), HistoryParams),
    responses((status = 200, body = Vec<Command>), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<HostId>, PathRejection>,
    params: Result<Query<HistoryParams>, QueryRejection>,
) -> ApiResult<Json<Vec<Command>>> {
    let host = id_of(path)?;
    let Query(p) = params?;
    let tenant = caller.tenant;
    if state
        .blocking(move |s| s.host(tenant, host))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("server"));
    }
    Ok(Json(
        state
            .blocking(move |s| s.commands(tenant, host, p.before, p.limit.unwrap_or(50)))
            .await?,
    ))
}

/// Cancel a command: never delivered if pending; killed by its agent if running.
#[utoipa::path(post, path = "/api/commands/{id}/cancel", tag = "commands", params(("id" = i64, Path)),
    responses((status = 200, body = Command), (status = 404, body = lxmon_proto::ErrorBody), (status = 409, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let tenant = caller.tenant;
    let command = state
        .blocking(move |s| s.cancel_command(tenant, id, crate::now_ms()))
        .await?;
    state.wake_agent(command.host_id);
    publish(&state, &command, "");
    Ok(AuditNote::new(
        "command.cancel",
        format!("command {} {}", command.id, command.action),
    )
    .attach(Json(command)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollParams {
    /// Seconds to hold the request open waiting for a command (0 to 60).
    pub wait: Option<u32>,
}

/// The agent's long-poll: answers as soon as a command (or a cancellation)
/// is there for its host, or after `wait` seconds with nothing.
#[utoipa::path(get, path = "/api/agent/commands", tag = "agent", params(PollParams),
    responses((status = 200, body = CommandPoll), (status = 401, body = lxmon_proto::ErrorBody), (status = 409, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn poll(
    State(state): State<AppState>,
    agent: AgentAuth,
    params: Result<Query<PollParams>, QueryRejection>,
) -> ApiResult<Json<CommandPoll>> {
    let Query(p) = params?;
    let host = agent.key.host_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_registered",
            "register before polling for commands",
        )
    })?;
    let wait = Duration::from_secs(u64::from(p.wait.unwrap_or(0).min(MAX_LONG_POLL_S)));
    let deadline = tokio::time::Instant::now() + wait;
    let wakeup = state.agent_wakeup(host);
    let mut closing = state.events.closing_signal();
    loop {
        // Registered before checking, so a command queued in between still
        // wakes this request.
        let notified = wakeup.notified();
        let poll = state
            .blocking(move |s| s.poll_commands(host, crate::now_ms()))
            .await?;
        if !poll.commands.is_empty()
            || !poll.cancel.is_empty()
            || tokio::time::Instant::now() >= deadline
        {
            return Ok(Json(poll));
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = closing.changed() => return Ok(Json(CommandPoll::default())),
        }
    }
}

/// An output chunk or status change of one of the agent's commands.
#[utoipa::path(post, path = "/api/agent/command-result", tag = "agent", request_body = CommandUpdate,
    responses((status = 200, body = CommandUpdateAck), (status = 404, body = lxmon_proto::ErrorBody), (status = 413, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = [])))]
pub async fn result(
    State(state): State<AppState>,
    agent: AgentAuth,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    let update: CommandUpdate =
        parse_json(&read_body(&headers, body, MAX_COMMAND_CHUNK_BYTES + 4096).await?)?;
    if update.output.len() > MAX_COMMAND_CHUNK_BYTES {
        return Err(ApiError::too_large(format!(
            "output chunks are at most {MAX_COMMAND_CHUNK_BYTES} bytes"
        )));
    }
    let host = agent
        .key
        .host_id
        .ok_or_else(|| ApiError::not_found("command"))?;
    let chunk = update.output.clone();
    let (command, stored) = state
        .blocking(move |s| s.update_command(host, &update, crate::now_ms()))
        .await
        .map_err(|e| e.naming("command"))?;
    if stored {
        publish(&state, &command, &chunk);
    }
    let ack = Json(CommandUpdateAck {
        stored,
        cancelled: command.status == lxmon_proto::CommandStatus::Cancelled,
    });
    // The final result of every command is audited, attributed to the agent.
    if stored && command.status.is_final() {
        let note = AuditNote {
            action: "command.result".into(),
            target: format!("command {} {}", command.id, command.action),
            actor: Some(format!("agent {}", agent.key.name)),
            tenant: Some(command.tenant_id),
            detail: format!(
                "{} exit={} duration_ms={} truncated={}",
                command.status.as_str(),
                command.exit_code.map_or("-".into(), |c| c.to_string()),
                command.duration_ms.map_or("-".into(), |d| d.to_string()),
                command.truncated
            ),
        };
        return Ok(note.attach(ack));
    }
    Ok(axum::response::IntoResponse::into_response(ack))
}
