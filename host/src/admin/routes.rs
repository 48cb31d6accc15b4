//! Routes (list, show, create, update, delete — applied live on every host) and dead letters (list, show,
//! replay).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::errors::{self, ApiError, ErrorBody};
use crate::config::Target;
use crate::pipeline::Kind;
use crate::pipeline::dlq::{self, DeadLetter, ReplayOutcome};
use crate::pipeline::routes::{Origin, RouteSpec};
use crate::registry;

/// How long a route change waits for this host to apply it before answering.
const APPLY_WAIT: Duration = Duration::from_secs(10);

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_routes, create_route))
        .routes(routes!(show_route, put_route, delete_route))
        .routes(routes!(list_dead_letters))
        .routes(routes!(show_dead_letter))
        .routes(routes!(replay_dead_letters))
}

/// A route as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteView {
    /// The route's name.
    pub name: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The slot it runs.
    pub slot: String,
    /// The source it reads (inbound).
    pub source: Option<String>,
    /// The event types it takes (outbound).
    pub events: Option<Vec<String>>,
    /// The target: `subject:<name>` or the URL (outbound).
    pub target: Option<String>,
    /// `config` (the file, at `line`) or `api`.
    pub origin: String,
    /// The file's line, for routes from the configuration.
    pub line: Option<usize>,
    /// The version serving it on this host (`name@version+sha`), none while it waits for its slot.
    pub serving: Option<String>,
}

async fn view(state: &AppState, spec: &RouteSpec) -> RouteView {
    let serving = state
        .service
        .routes
        .status()
        .await
        .into_iter()
        .find(|r| r.tenant == spec.tenant && r.name == spec.common.name)
        .and_then(|r| r.serving);
    let (direction, source, events, target) = match &spec.kind {
        Kind::Inbound { source, .. } => ("inbound", Some(source.clone()), None, None),
        Kind::Outbound { events, target } => (
            "outbound",
            None,
            Some(events.clone()),
            Some(match target {
                Target::Subject { name } => format!("subject:{name}"),
                Target::Http { url, .. } => url.clone(),
            }),
        ),
    };
    let (origin, line) = match spec.origin {
        Origin::Config { line } => ("config", Some(line)),
        Origin::Api => ("api", None),
    };
    RouteView {
        name: spec.common.name.clone(),
        direction: direction.into(),
        slot: spec.common.slot.clone(),
        source,
        events,
        target,
        origin: origin.into(),
        line,
        serving,
    }
}

/// The tenant's routes on this host.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/routes", tag = "routes",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<RouteView>), (status = 404, body = ErrorBody))
)]
async fn list_routes(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<RouteView>>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    let mut specs: Vec<RouteSpec> = state
        .service
        .routes
        .specs()
        .await
        .into_iter()
        .filter(|s| s.tenant == tenant)
        .collect();
    specs.sort_by(|a, b| a.common.name.cmp(&b.common.name));
    let mut out = Vec::new();
    for spec in &specs {
        out.push(view(&state, spec).await);
    }
    Ok(Json(out))
}

async fn running(state: &AppState, tenant: &str, name: &str) -> Result<RouteSpec, ApiError> {
    state
        .service
        .routes
        .spec(tenant, name)
        .await
        .ok_or_else(|| {
            ApiError::not_found(
                "route_not_found",
                format!("tenant {tenant} has no route {name:?}"),
            )
        })
}

/// One route.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/routes/{name}", tag = "routes",
    params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = RouteView), (status = 404, body = ErrorBody))
)]
async fn show_route(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<RouteView>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    let spec = running(&state, &tenant, &name).await?;
    Ok(Json(view(&state, &spec).await))
}

/// A route to create or replace: `direction` and the keys of a route table of the configuration file
/// (`source`, `slot`, `config`, `payload`, `events`, `target`, `workers`, `batch`, `instances`, ...), without
/// `plugin`: API routes run a slot.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"direction": "inbound", "source": "supplier-856", "slot": "supplier-856", "config": {"timezone": "America/Chicago"}}))]
pub struct RouteBody {
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The route's name (for create; it must match the path for update).
    pub name: Option<String>,
    /// The rest of the route's keys.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// Creates a route; it starts consuming on every host without a restart.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/routes", tag = "routes",
    params(("tenant" = String, Path)),
    request_body = RouteBody,
    responses(
        (status = 201, body = RouteView),
        (status = 400, body = ErrorBody, description = "the route is not valid"),
        (status = 404, body = ErrorBody, description = "no such tenant, or the slot has no versions"),
        (status = 409, body = ErrorBody, description = "the name or source is taken")
    )
)]
async fn create_route(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    let body = json_body(body)?;
    let name = body
        .get("name")
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .or_else(|| {
            body.get("source")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_route",
                "name the route: `name` (an inbound route may take its source's name)",
            )
        })?;
    if state.service.routes.spec(&tenant, &name).await.is_some() {
        return Err(ApiError::conflict(
            "route_exists",
            format!(
                "tenant {tenant} already has a route {name:?}; change it with PUT /v1/tenants/{tenant}/routes/{name}"
            ),
        ));
    }
    let view = store(&state, &tenant, &name, body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Creates or replaces the route `name`; every host applies it without a restart (a replaced route finishes what
/// it has in flight, then goes on from where it stopped with its new settings).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/routes/{name}", tag = "routes",
    params(("tenant" = String, Path), ("name" = String, Path)),
    request_body = RouteBody,
    responses(
        (status = 200, body = RouteView, description = "replaced"),
        (status = 201, body = RouteView, description = "created"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the route is the configuration file's, or its source is taken")
    )
)]
async fn put_route(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    let body = json_body(body)?;
    let existed = state.service.routes.spec(&tenant, &name).await.is_some();
    let view = store(&state, &tenant, &name, body).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view)))
}

fn json_body(
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<serde_json::Value, ApiError> {
    body.map(|Json(v)| v).map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be a JSON route: {err}"),
        )
    })
}

/// Checks a route, stores it in the registry (from where every host applies it) and waits for this host.
async fn store(
    state: &AppState,
    tenant: &str,
    name: &str,
    body: serde_json::Value,
) -> Result<RouteView, ApiError> {
    errors::tenant(&state.service, tenant)?;
    registry::check_name("route", name)?;
    if name.starts_with('_') {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!("route names starting with '_' are the host's own: {name:?}"),
        ));
    }
    let running = state.service.routes.spec(tenant, name).await;
    if let Some(RouteSpec {
        origin: Origin::Config { line },
        ..
    }) = &running
    {
        return Err(ApiError::conflict(
            "defined_in_config",
            format!(
                "route {name} is defined in {} at line {line}; change it there and restart",
                state.service.config.path.display()
            ),
        ));
    }
    let spec = state
        .service
        .api_spec(tenant, name, &body)
        .map_err(|err| ApiError::bad_request("invalid_route", format!("{err:#}")))?;
    // The slot must exist: a route for a slot nobody uploaded to is a typo more often than a plan.
    if state
        .service
        .registry
        .versions(tenant, Some(&spec.common.slot))
        .await?
        .is_empty()
    {
        return Err(ApiError::not_found(
            "slot_not_found",
            format!(
                "tenant {tenant} has no plugin slot {:?}: upload a version first (millwright plugin push --tenant {tenant} --slot {} <plugin.wasm>)",
                spec.common.slot, spec.common.slot
            ),
        ));
    }
    if let Some(active) = state
        .service
        .registry
        .active(tenant, &spec.common.slot)
        .await?
        && active.world != spec.world().wit_name()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_world",
            format!(
                "slot {}'s active version {}@{} is an {}, but an {} route needs an {}",
                spec.common.slot,
                active.name,
                active.version,
                active.world,
                if spec.world() == crate::plugin::World::Inbound {
                    "inbound"
                } else {
                    "outbound"
                },
                spec.world().wit_name()
            ),
        ));
    }
    if let Kind::Inbound { source, .. } = &spec.kind {
        for other in state.service.routes.specs().await {
            if other.tenant == tenant
                && other.common.name != name
                && matches!(&other.kind, Kind::Inbound { source: s, .. } if s == source)
            {
                return Err(ApiError::conflict(
                    "source_taken",
                    format!(
                        "source {source} is already read by route {}; one source feeds one route",
                        other.common.name
                    ),
                ));
            }
        }
    }
    let mut stored = body;
    if let Some(fields) = stored.as_object_mut() {
        fields.insert("name".into(), serde_json::Value::String(name.into()));
    }
    state
        .service
        .registry
        .put_route(tenant, name, &stored)
        .await?;
    let has_active = state
        .service
        .registry
        .active(tenant, &spec.common.slot)
        .await?
        .is_some();
    // The registry's watch applies it here as on every host; answer once it runs here.
    let deadline = tokio::time::Instant::now() + APPLY_WAIT;
    loop {
        if let Some(now) = state.service.routes.spec(tenant, name).await
            && now.origin == Origin::Api
            && now.common == spec.common
            && now.kind == spec.kind
        {
            // Running; with an active version in its slot, answer once it serves it.
            let route_view = view(state, &now).await;
            if route_view.serving.is_some() || !has_active {
                return Ok(route_view);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                StatusCode::ACCEPTED,
                "pending",
                "the route is stored but this host has not started it within 10 s; see the host's log",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deletes an API route: every host stops it, each finishing what it has in flight. Messages not yet taken stay
/// in the stream (the durable consumer is kept); documents arriving for its source go to the `_unrouted` dead
/// letters until a route takes the source again.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/routes/{name}", tag = "routes",
    params(("tenant" = String, Path), ("name" = String, Path)),
    responses(
        (status = 204, description = "stopped and deleted"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the route is the configuration file's")
    )
)]
async fn delete_route(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    registry::check_name("route", &name)?;
    let spec = running(&state, &tenant, &name).await?;
    if let Origin::Config { line } = spec.origin {
        return Err(ApiError::conflict(
            "defined_in_config",
            format!(
                "route {name} is defined in {} at line {line}; remove it there and restart",
                state.service.config.path.display()
            ),
        ));
    }
    state.service.registry.delete_route(&tenant, &name).await?;
    let deadline = tokio::time::Instant::now() + APPLY_WAIT;
    while state.service.routes.spec(&tenant, &name).await.is_some() {
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                StatusCode::ACCEPTED,
                "pending",
                "the route is deleted from the registry but still finishing here; see the host's log",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(StatusCode::NO_CONTENT)
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
    /// Parked for missing master data: replay once the data is fixed.
    parked: bool,
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
    Path(tenant): Path<String>,
    Query(filter): Query<DeadLetterFilter>,
) -> Result<Json<Vec<DeadLetterView>>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    if let Some(route) = &filter.route
        && route != crate::serve::UNROUTED
    {
        registry::check_name("route", route)?;
    }
    let letters = dlq::list(&state.service.bus.js, &tenant, filter.route.as_deref()).await?;
    Ok(Json(
        letters.into_iter().map(DeadLetterView::from).collect(),
    ))
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
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<DeadLetterView>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    let wanted = format!("{tenant}/{}", sequence(&id)?);
    dlq::list(&state.service.bus.js, &tenant, None)
        .await?
        .into_iter()
        .find(|d| d.id == wanted)
        .map(|d| Json(DeadLetterView::from(d)))
        .ok_or_else(|| {
            ApiError::not_found("dead_letter_not_found", format!("no dead letter {wanted}"))
        })
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

/// The most dead letters one request names.
const MAX_REPLAY_IDS: usize = 10_000;

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
    body: Result<Json<ReplayRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ReplayReport>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    let Json(request) = body.map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be {{\"ids\": [...]}} or {{\"all\": true}}: {err}"),
        )
    })?;
    if let Some(route) = &request.route {
        if !request.all {
            return Err(ApiError::bad_request(
                "bad_request",
                "\"route\" narrows {\"all\": true}; with \"ids\" leave it out",
            ));
        }
        if route != crate::serve::UNROUTED {
            registry::check_name("route", route)?;
        }
    }
    let sequences: Vec<u64> = match (request.all, request.ids.is_empty()) {
        (false, false) => {
            if request.ids.len() > MAX_REPLAY_IDS {
                return Err(ApiError::bad_request(
                    "bad_request",
                    format!(
                        "{} ids in one request; at most {MAX_REPLAY_IDS}",
                        request.ids.len()
                    ),
                ));
            }
            if let Some(zero) = request.ids.iter().position(|&id| id == 0) {
                return Err(ApiError::bad_request(
                    "invalid_id",
                    format!("ids[{zero}] is 0; dead letters are numbered from 1"),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            request
                .ids
                .into_iter()
                .filter(|id| seen.insert(*id))
                .collect()
        }
        (true, true) => dlq::list(&state.service.bus.js, &tenant, request.route.as_deref())
            .await?
            .iter()
            .filter_map(|d| d.id.rsplit('/').next()?.parse().ok())
            .collect(),
        _ => {
            return Err(ApiError::bad_request(
                "bad_request",
                "say which: {\"ids\": [sequence, ...]} or {\"all\": true} (with an optional \"route\"), not both",
            ));
        }
    };
    let mut results = Vec::with_capacity(sequences.len());
    for sequence in sequences {
        results.push(ReplayResult::from(
            dlq::replay(&state.service.bus, &tenant, sequence).await,
        ));
    }
    let count = |outcome: &str| results.iter().filter(|r| r.outcome == outcome).count();
    Ok(Json(ReplayReport {
        replayed: count("replayed"),
        not_found: count("not-found"),
        failed: count("failed"),
        results,
    }))
}
