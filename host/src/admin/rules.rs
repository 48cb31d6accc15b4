//! The rules through the API: which rules a tenant runs and how they are tuned, its alerts (list, show, acknowledge, resolve) and its quarantine (list,
//! release or discard a message held back). Each handler reads the request, calls one verb of the service, and
//! answers with the state after.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::errors::{ApiError, ErrorBody};
use super::{AppState, caller};
use crate::access::Principal;
use crate::rules::RulesInForce;
use crate::rules::alerts::{Alert, AlertState};
use crate::rules::quarantine::LotState;
use crate::rules::settings::RuleSettings;
use crate::service::rules::Decision;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show_rules, put_rules, reset_rules))
        .routes(routes!(list_alerts))
        .routes(routes!(show_alert))
        .routes(routes!(acknowledge_alert))
        .routes(routes!(resolve_alert))
        .routes(routes!(list_quarantine))
        .routes(routes!(release_quarantined))
        .routes(routes!(discard_quarantined))
}

/// Which alerts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AlertQuery {
    /// `open`, `acknowledged` or `resolved`; all when absent.
    state: Option<AlertState>,
}

/// A person's note on an alert.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AlertNote {
    /// What they say (optional).
    note: Option<String>,
}

/// A person's decision about a message held back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// Why (required): recorded with the decision.
    reason: String,
}

fn body<T>(given: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    given
        .map(|Json(body)| body)
        .map_err(|err| ApiError::bad_request("invalid_body", err.body_text()))
}

/// The rules the tenant runs, their settings, and where those come from (the file, or the API).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/rules", tag = "rules",
    params(("tenant" = String, Path)),
    responses((status = 200, body = RulesInForce), (status = 404, body = ErrorBody, description = "no such tenant"))
)]
async fn show_rules(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<RulesInForce>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(state.service.rule_settings(&tenant)?))
}

/// Replaces the tenant's rule settings on every host, over the file's, from the next input on. A rule left out
/// is off.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/rules", tag = "rules",
    params(("tenant" = String, Path)),
    request_body = RuleSettings,
    responses(
        (status = 200, body = RulesInForce),
        (status = 400, body = ErrorBody, description = "settings that are not the rules' (the field named)"),
        (status = 404, body = ErrorBody, description = "no such tenant")
    )
)]
async fn put_rules(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Extension(principal): Extension<Principal>,
    given: axum::body::Bytes,
) -> Result<Json<RulesInForce>, ApiError> {
    let settings = RuleSettings::from_json(&given)
        .map_err(|err| ApiError::bad_request("invalid_settings", err))?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(
        state
            .service
            .put_rule_settings(&tenant, settings, &caller(&principal))
            .await?,
    ))
}

/// Forgets the settings put through the API: every host runs the file's again.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/rules", tag = "rules",
    params(("tenant" = String, Path)),
    responses((status = 200, body = RulesInForce), (status = 404, body = ErrorBody, description = "no such tenant"))
)]
async fn reset_rules(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<RulesInForce>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(
        state
            .service
            .reset_rule_settings(&tenant, &caller(&principal))
            .await?,
    ))
}

/// The tenant's alerts, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/alerts", tag = "rules",
    params(("tenant" = String, Path), AlertQuery),
    responses(
        (status = 200, body = Vec<Alert>),
        (status = 400, body = ErrorBody, description = "a state that is not open, acknowledged or resolved"),
        (status = 404, body = ErrorBody, description = "no such tenant")
    )
)]
async fn list_alerts(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let Query(query) =
        query.map_err(|err| ApiError::bad_request("invalid_query", err.body_text()))?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(state.service.alerts(&tenant, query.state).await?))
}

/// One alert.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/alerts/{id}", tag = "rules",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody, description = "no such tenant or alert"))
)]
async fn show_alert(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Alert>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(state.service.alert(&tenant, &id).await?))
}

/// Acknowledges an open alert: someone is on it.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/alerts/{id}/ack", tag = "rules",
    params(("tenant" = String, Path), ("id" = String, Path)),
    request_body = AlertNote,
    responses(
        (status = 200, body = Alert),
        (status = 400, body = ErrorBody, description = "a body that is not the note"),
        (status = 404, body = ErrorBody, description = "no such tenant or alert"),
        (status = 409, body = ErrorBody, description = "the alert is resolved")
    )
)]
async fn acknowledge_alert(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Extension(principal): Extension<Principal>,
    given: Result<Json<AlertNote>, JsonRejection>,
) -> Result<Json<Alert>, ApiError> {
    let note = body(given)?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(
        state
            .service
            .acknowledge_alert(&tenant, &id, &caller(&principal), note.note)
            .await?,
    ))
}

/// Resolves an alert.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/alerts/{id}/resolve", tag = "rules",
    params(("tenant" = String, Path), ("id" = String, Path)),
    request_body = AlertNote,
    responses(
        (status = 200, body = Alert),
        (status = 400, body = ErrorBody, description = "a body that is not the note"),
        (status = 404, body = ErrorBody, description = "no such tenant or alert")
    )
)]
async fn resolve_alert(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Extension(principal): Extension<Principal>,
    given: Result<Json<AlertNote>, JsonRejection>,
) -> Result<Json<Alert>, ApiError> {
    let note = body(given)?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(
        state
            .service
            .resolve_alert(&tenant, &id, &caller(&principal), note.note)
            .await?,
    ))
}

/// The lots that hold messages back (or held them), with each message's fate.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/quarantine", tag = "rules",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<LotState>), (status = 404, body = ErrorBody, description = "no such tenant"))
)]
async fn list_quarantine(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<LotState>>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(state.service.quarantine(&tenant).await?))
}

/// Publishes one message a lot holds back on `ev`, as a release of the lot would; the lot's state after.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/quarantine/{lot}/{sequence}/release", tag = "rules",
    params(("tenant" = String, Path), ("lot" = String, Path), ("sequence" = u64, Path)),
    request_body = DecisionBody,
    responses(
        (status = 200, body = LotState),
        (status = 400, body = ErrorBody, description = "no reason, or a body that is not the decision"),
        (status = 404, body = ErrorBody, description = "no such tenant, lot or message"),
        (status = 409, body = ErrorBody, description = "the message was released or discarded already")
    )
)]
async fn release_quarantined(
    State(state): State<AppState>,
    Path((tenant, lot, sequence)): Path<(String, String, u64)>,
    Extension(principal): Extension<Principal>,
    given: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<LotState>, ApiError> {
    decide(
        state,
        tenant,
        lot,
        sequence,
        principal,
        given,
        Decision::Release,
    )
    .await
}

/// Drops one message a lot holds back: it goes nowhere, and the decision is recorded.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/quarantine/{lot}/{sequence}/discard", tag = "rules",
    params(("tenant" = String, Path), ("lot" = String, Path), ("sequence" = u64, Path)),
    request_body = DecisionBody,
    responses(
        (status = 200, body = LotState),
        (status = 400, body = ErrorBody, description = "no reason, or a body that is not the decision"),
        (status = 404, body = ErrorBody, description = "no such tenant, lot or message"),
        (status = 409, body = ErrorBody, description = "the message was released or discarded already")
    )
)]
async fn discard_quarantined(
    State(state): State<AppState>,
    Path((tenant, lot, sequence)): Path<(String, String, u64)>,
    Extension(principal): Extension<Principal>,
    given: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<LotState>, ApiError> {
    decide(
        state,
        tenant,
        lot,
        sequence,
        principal,
        given,
        Decision::Discard,
    )
    .await
}

async fn decide(
    state: AppState,
    tenant: String,
    lot: String,
    sequence: u64,
    principal: Principal,
    given: Result<Json<DecisionBody>, JsonRejection>,
    decision: Decision,
) -> Result<Json<LotState>, ApiError> {
    let decided = body(given)?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(
        state
            .service
            .decide_quarantined(
                &tenant,
                &lot,
                sequence,
                decision,
                &caller(&principal),
                &decided.reason,
            )
            .await?,
    ))
}
