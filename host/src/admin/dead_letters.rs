//! Dead letters: list, show, replay, discard. Each handler reads the request, calls one verb of the service, and writes
//! its answer.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::errors::{ApiError, ErrorBody};
use super::{AppState, caller};
use crate::access::{Principal, Role};
use crate::names::{RouteName, Tenant};
use crate::pipeline::dlq::{DeadLetter, ReplayOutcome};
use crate::service::dead_letters::Replay;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_dead_letters))
        .routes(routes!(show_dead_letter))
        .routes(routes!(replay_dead_letters))
        .routes(routes!(discard_dead_letter))
}

/// Which dead letters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeadLetterFilter {
    /// Only this route's (`_unrouted` for documents no route took).
    route: Option<String>,
}

/// A dead letter.
#[derive(Debug, Serialize, ToSchema)]
struct DeadLetterView {
    /// `<tenant>/<sequence>`: what replay takes.
    id: String,
    route: String,
    /// `invalid-document`, `unknown-reference`, `transient`, `trap`, `deadline`, `no-route`, ...
    class: String,
    error: String,
    /// The located diagnostic, as the plugin gave it.
    #[schema(value_type = Option<Object>)]
    diagnostic: Option<serde_json::Value>,
    attempts: u32,
    /// Parked for missing master data: replayed on its own when a table it waits for changes.
    parked: bool,
    /// Parked: the tables its plugin call looked up and missed, with the version it saw.
    parked_tables: Vec<ParkedTable>,
    dead_at: String,
    plugin: Option<String>,
    correlation_id: Option<String>,
    /// Where a replay publishes it.
    replay_to: String,
    /// The payload's size.
    bytes: usize,
    /// Where the payload is kept when it was too large to travel inline (`<bucket>/<name>` in the tenant's
    /// Object Store bucket); a replay reads it from there.
    payload_object: Option<String>,
}

/// A table a parked dead letter waits for.
#[derive(Debug, Serialize, ToSchema)]
struct ParkedTable {
    table: String,
    /// The version its plugin call saw; `null`: the tenant had no such table.
    version: Option<u64>,
}

impl From<DeadLetter> for DeadLetterView {
    fn from(d: DeadLetter) -> Self {
        Self {
            id: d.id,
            route: d.route,
            class: d.class,
            error: d.error,
            diagnostic: d.diagnostic,
            attempts: d.attempts,
            parked: d.parked,
            parked_tables: d
                .parked_tables
                .into_iter()
                .map(|m| ParkedTable {
                    table: m.table,
                    version: m.version,
                })
                .collect(),
            dead_at: d.dead_at,
            plugin: d.plugin,
            correlation_id: d.correlation_id,
            replay_to: d.replay_to,
            bytes: d.bytes,
            payload_object: d.payload_object,
        }
    }
}

/// The tenant's dead letters, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/dead-letters", tag = "dead letters",
    params(("tenant" = String, Path), DeadLetterFilter),
    responses((status = 200, body = Vec<DeadLetterView>), (status = 404, body = ErrorBody))
)]
async fn list_dead_letters(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(tenant): Path<String>,
    filter: Result<Query<DeadLetterFilter>, QueryRejection>,
) -> Result<Json<Vec<DeadLetterView>>, ApiError> {
    let Query(filter) =
        filter.map_err(|err| ApiError::bad_request("invalid_query", err.body_text()))?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let route = filter
        .route
        .as_deref()
        .map(RouteName::dead_letter_route)
        .transpose()?;
    let letters = state.service.dead_letters(&tenant, route.as_ref()).await?;
    let readable = readable_routes(&state, &principal, &tenant).await;
    Ok(Json(
        letters
            .into_iter()
            .filter(|l| readable.as_ref().is_none_or(|r| r.contains(&l.route)))
            .map(DeadLetterView::from)
            .collect(),
    ))
}

/// The routes whose dead letters `principal` reads: all (`None`), or for a partner those that run its slots.
async fn readable_routes(
    state: &AppState,
    principal: &Principal,
    tenant: &Tenant,
) -> Option<Vec<String>> {
    if principal.grant.role != Role::Partner {
        return None;
    }
    Some(
        state
            .service
            .routes_of(tenant)
            .await
            .into_iter()
            .filter(|spec| {
                spec.common
                    .slot()
                    .is_some_and(|slot| principal.grant.covers_slot(slot.as_str()))
            })
            .map(|spec| spec.common.name.to_string())
            .collect(),
    )
}

fn sequence(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("{id:?} is not a dead letter's sequence number (the number after the tenant in its id)"),
        )
    })
}

/// One dead letter.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/dead-letters/{sequence}", tag = "dead letters",
    params(("tenant" = String, Path), ("sequence" = u64, Path)),
    responses((status = 200, body = DeadLetterView), (status = 404, body = ErrorBody))
)]
async fn show_dead_letter(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<DeadLetterView>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let letter = state.service.dead_letter(&tenant, sequence(&id)?).await?;
    if let Some(readable) = readable_routes(&state, &principal, &tenant).await
        && !readable.contains(&letter.route)
    {
        // Another route's letter is, to a partner, not there.
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("dead letter {tenant}/{id} was not found among the routes running your slots"),
        ));
    }
    Ok(Json(DeadLetterView::from(letter)))
}

/// Which dead letters to replay: `ids`, or `all` (of `route`, when given).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    /// Sequence numbers (the number after the tenant in a dead letter's id).
    #[serde(default)]
    ids: Vec<u64>,
    /// Every dead letter (of `route`, when given).
    #[serde(default)]
    all: bool,
    /// With `all`: only this route's.
    route: Option<String>,
}

/// What a replay did, id by id.
#[derive(Debug, Serialize, ToSchema)]
struct ReplayReport {
    /// How many were replayed.
    replayed: usize,
    /// How many were not there (already replayed or discarded, or never there).
    not_found: usize,
    /// How many could not be replayed; they stay in the dead letters.
    failed: usize,
    /// Each id's outcome, in the order asked.
    results: Vec<ReplayResult>,
}

/// One dead letter's outcome.
#[derive(Debug, Serialize, ToSchema)]
struct ReplayResult {
    /// `<tenant>/<sequence>`.
    id: String,
    /// `replayed`, `not-found` or `failed`.
    outcome: String,
    /// Replayed: the subject it was published on.
    subject: Option<String>,
    /// Replayed: its correlation id.
    correlation_id: Option<String>,
    /// Failed: why; replayed: what went wrong after the replay, if anything.
    error: Option<String>,
}

impl From<ReplayOutcome> for ReplayResult {
    fn from(outcome: ReplayOutcome) -> Self {
        match outcome {
            ReplayOutcome::Replayed {
                id,
                subject,
                correlation_id,
                note,
            } => Self {
                id,
                outcome: "replayed".into(),
                subject: Some(subject),
                correlation_id,
                error: note,
            },
            ReplayOutcome::NotFound { id } => Self {
                id,
                outcome: "not-found".into(),
                subject: None,
                correlation_id: None,
                error: None,
            },
            ReplayOutcome::Failed { id, error } => Self {
                id,
                outcome: "failed".into(),
                subject: None,
                correlation_id: None,
                error: Some(error),
            },
        }
    }
}

/// Replays dead letters into their routes' inputs, each with its correlation id; a dead letter is deleted once
/// JetStream stored its replay. The request is checked whole first (a malformed one changes nothing); then each
/// dead letter is replayed on its own, since several hosts act on the same dead letters and a replay can fail
/// halfway: the answer gives every id's outcome.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/dead-letters/replay", tag = "dead letters",
    params(("tenant" = String, Path)),
    request_body = ReplayRequest,
    responses(
        (status = 200, body = ReplayReport, description = "every id's outcome: replayed, not-found or failed"),
        (status = 400, body = ErrorBody, description = "a malformed request; nothing was replayed"),
        (status = 404, body = ErrorBody, description = "no such tenant")
    )
)]
async fn replay_dead_letters(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Result<Json<ReplayRequest>, JsonRejection>,
) -> Result<Json<ReplayReport>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let Json(request) = body.map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be {{\"ids\": [...]}} or {{\"all\": true}}: {err}"),
        )
    })?;
    let which = Replay::checked(request.ids, request.all, request.route.as_deref())?;
    let results: Vec<ReplayResult> = state
        .service
        .replay(&tenant, which)
        .await?
        .into_iter()
        .map(ReplayResult::from)
        .collect();
    let count = |outcome: &str| results.iter().filter(|r| r.outcome == outcome).count();
    Ok(Json(ReplayReport {
        replayed: count("replayed"),
        not_found: count("not-found"),
        failed: count("failed"),
        results,
    }))
}

/// Why a dead letter is discarded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DiscardRequest {
    /// Why (required): recorded in the trace and on the dead letter's `dead-letter-aged` alert.
    #[serde(default)]
    reason: Option<String>,
}

/// A dead letter discarded.
#[derive(Debug, Serialize, ToSchema)]
struct DiscardReport {
    /// `<tenant>/<sequence>`.
    id: String,
    /// The route that gave up on it.
    route: String,
    /// Its flow.
    correlation_id: Option<String>,
    /// Who discarded it.
    by: String,
    /// When.
    at: String,
    /// Why.
    reason: String,
}

/// Discards a dead letter for good, with a reason: it is deleted, the reason is recorded in the trace of its
/// flow, and its `dead-letter-aged` alert (if one was raised) is resolved with the reason as the note.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/dead-letters/{sequence}/discard", tag = "dead letters",
    params(("tenant" = String, Path), ("sequence" = u64, Path)),
    request_body = DiscardRequest,
    responses(
        (status = 200, body = DiscardReport),
        (status = 400, body = ErrorBody, description = "no reason, or a body that is not {\"reason\": \"...\"}"),
        (status = 404, body = ErrorBody, description = "no such tenant or dead letter")
    )
)]
async fn discard_dead_letter(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<DiscardRequest>, JsonRejection>,
) -> Result<Json<DiscardReport>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let sequence = sequence(&id)?;
    let Json(request) = body.map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!(
                "the body must be {{\"reason\": \"...\"}}: {}",
                err.body_text()
            ),
        )
    })?;
    let discarded = state
        .service
        .discard_dead_letter(
            &tenant,
            sequence,
            &caller(&principal),
            request.reason.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(Json(DiscardReport {
        id: discarded.id,
        route: discarded.route,
        correlation_id: discarded.correlation_id,
        by: discarded.note.by,
        at: discarded.note.at.to_string(),
        reason: discarded.note.note.unwrap_or_default(),
    }))
}
