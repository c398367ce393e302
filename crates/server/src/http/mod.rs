//! The HTTP API: one module per area, routes and OpenAPI document built from
//! the same list so neither can drift from the other.

pub mod accounts;
pub mod agent;
pub mod alerts;
pub mod assets;
pub mod authz;
pub mod checks;
pub mod commands;
pub mod compat;
pub mod enroll;
pub mod error;
pub mod events;
pub mod extract;
pub mod servers;
pub mod session;
pub mod system;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ApiResult};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "lxmon", description = "Self-hosted monitoring and remote operations for Linux fleets."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "agent", description = "Agent → server (agent key)"),
        (name = "servers", description = "Hosts and their metrics (session)"),
        (name = "auth", description = "Dashboard sessions and one's own account"),
        (name = "users", description = "Users of a tenant (tenant admins)"),
        (name = "tenants", description = "Tenants (platform admins)"),
        (name = "agent-keys", description = "Agent keys and enrollment tokens (tenant admins)"),
        (name = "audit", description = "The audit log (tenant admins)"),
        (name = "commands", description = "Remote commands: allowlisted actions run by agents"),
        (name = "checks", description = "Health checks, uptime and public status pages"),
        (name = "alerts", description = "Alarms, rules, channels, routing, silences, maintenance windows, incoming webhooks"),
        (name = "system", description = "Health and metadata"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "agent_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Agent key: lxk_<id>.<secret>"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The API's routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(agent::register))
        .routes(routes!(agent::metrics))
        .routes(routes!(agent::batch))
        .routes(routes!(agent::heartbeat))
        .routes(routes!(agent::config))
        .routes(routes!(compat::push))
        .routes(routes!(enroll::enroll))
        .routes(routes!(enroll::install_script))
        .routes(routes!(enroll::agent_unit))
        .routes(routes!(enroll::agent_binary))
        .routes(routes!(session::login))
        .routes(routes!(session::refresh))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::totp_setup))
        .routes(routes!(session::totp_enable))
        .routes(routes!(session::totp_disable))
        .routes(routes!(session::accept_invite))
        .routes(routes!(accounts::list_users, accounts::create_user))
        .routes(routes!(
            accounts::get_user,
            accounts::patch_user,
            accounts::delete_user
        ))
        .routes(routes!(accounts::list_tenants, accounts::create_tenant))
        .routes(routes!(
            accounts::get_tenant,
            accounts::patch_tenant,
            accounts::delete_tenant
        ))
        .routes(routes!(accounts::list_keys, accounts::create_key))
        .routes(routes!(accounts::rotate_key))
        .routes(routes!(accounts::revoke_key))
        .routes(routes!(accounts::list_tokens, accounts::create_token))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(accounts::audit))
        .routes(routes!(commands::run))
        .routes(routes!(commands::status))
        .routes(routes!(commands::history))
        .routes(routes!(commands::cancel))
        .routes(routes!(commands::poll))
        .routes(routes!(commands::result))
        .routes(routes!(checks::list, checks::create))
        .routes(routes!(checks::get, checks::update, checks::delete))
        .routes(routes!(checks::test))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::ack_alert))
        .routes(routes!(alerts::assign_alert))
        .routes(routes!(alerts::list_notifications))
        .routes(routes!(alerts::list_rules, alerts::create_rule))
        .routes(routes!(
            alerts::get_rule,
            alerts::update_rule,
            alerts::delete_rule
        ))
        .routes(routes!(alerts::preview_rule))
        .routes(routes!(alerts::list_channels, alerts::create_channel))
        .routes(routes!(alerts::update_channel, alerts::delete_channel))
        .routes(routes!(alerts::test_channel))
        .routes(routes!(alerts::get_routing, alerts::put_routing))
        .routes(routes!(alerts::list_silences, alerts::create_silence))
        .routes(routes!(alerts::delete_silence))
        .routes(routes!(
            alerts::list_maintenance,
            alerts::create_maintenance
        ))
        .routes(routes!(
            alerts::update_maintenance,
            alerts::delete_maintenance
        ))
        .routes(routes!(alerts::list_webhooks, alerts::create_webhook))
        .routes(routes!(alerts::delete_webhook))
        .routes(routes!(alerts::incoming))
        .routes(routes!(checks::results))
        .routes(routes!(checks::agent_results))
        .routes(routes!(checks::list_pages, checks::create_page))
        .routes(routes!(checks::delete_page))
        .routes(routes!(checks::public_json))
        .routes(routes!(checks::public_page))
        .routes(routes!(servers::list))
        .routes(routes!(servers::get, servers::delete))
        .routes(routes!(servers::metrics))
        .routes(routes!(servers::latest))
        .routes(routes!(events::stream))
        .routes(routes!(system::health))
        .split_for_parts()
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    // A route layer runs after routing, so it sees which route matched; the
    // routes added after it (OpenAPI document, /metrics, the dashboard) are
    // public.
    api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        authz::authorize,
    ))
    .route(
        "/api/openapi.json",
        get(move || async move { axum::Json(doc.as_ref().clone()) }),
    )
    .route("/metrics", get(system::prometheus))
    .fallback(system::fallback)
    // Bodies are bounded per route by `extract::read_body`, which answers
    // with the JSON error shape instead of axum's plain-text 413.
    .layer(DefaultBodyLimit::disable())
    .with_state(state)
}
