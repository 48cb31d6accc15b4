//! Routes: list, show, create, update, delete — applied live on every host. Each handler reads the request,
//! calls one verb of the service, and writes its answer.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::errors::{ApiError, ErrorBody};
use crate::config::{Kind, Origin, Target};
use crate::names::{RouteName, Tenant};
use crate::pipeline::routes::{RouteSpec, RouteStatus};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_routes, create_route))
        .routes(routes!(show_route, put_route, delete_route))
}

/// A route as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteView {
    /// The route's name.
    pub name: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The slot it runs; none when the host's built-in mapper maps it (see `mapper`).
    pub slot: Option<String>,
    /// `canonical` for an inbound route whose partner sends canonical JSON, mapped by the host.
    pub mapper: Option<String>,
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

impl RouteView {
    fn new(spec: &RouteSpec, status: Option<RouteStatus>) -> Self {
        let (direction, source, events, target) = match &spec.kind {
            Kind::Inbound { source, .. } => ("inbound", Some(source.to_string()), None, None),
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
            name: spec.common.name.to_string(),
            direction: direction.into(),
            slot: spec.common.slot().map(ToString::to_string),
            mapper: match spec.common.mapping {
                crate::config::Mapping::Canonical => Some("canonical".into()),
                crate::config::Mapping::Slot(_) => None,
            },
            source,
            events,
            target,
            origin: origin.into(),
            line,
            serving: status.and_then(|s| s.serving),
        }
    }
}

async fn view(state: &AppState, spec: &RouteSpec) -> RouteView {
    let status = state
        .service
        .route_status(&spec.tenant, &spec.common.name)
        .await;
    RouteView::new(spec, status)
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
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let mut out = Vec::new();
    for spec in state.service.routes_of(&tenant).await {
        out.push(view(&state, &spec).await);
    }
    Ok(Json(out))
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
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let name = RouteName::new(&name)?;
    let spec = state.service.route(&tenant, &name).await?;
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
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let body = json_body(body)?;
    let name = body
        .get("name")
        .or_else(|| body.get("source"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_route",
                "name the route: `name` (an inbound route may take its source's name)",
            )
        })?;
    let name = RouteName::new(name)?;
    put(&state, &tenant, &name, &body, true).await
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
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let body = json_body(body)?;
    let name = RouteName::new(&name)?;
    put(&state, &tenant, &name, &body, false).await
}

async fn put(
    state: &AppState,
    tenant: &Tenant,
    name: &RouteName,
    body: &serde_json::Value,
    create_only: bool,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    let put = state
        .service
        .put_route(tenant, name, body, create_only)
        .await?;
    let status = if put.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(RouteView::new(&put.spec, Some(put.status)))))
}

fn json_body(
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<serde_json::Value, ApiError> {
    body.map(|Json(v)| v).map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be a JSON route: {err}"),
        )
    })
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
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let name = RouteName::new(&name)?;
    state.service.delete_route(&tenant, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
