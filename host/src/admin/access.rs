//! `/v1/tokens` (make, list, revoke API tokens) and `/v1/audit` (the changes asked of the API).
//!
//! A platform admin makes any token; a tenant admin makes, lists and revokes partner and viewer tokens of its own
//! tenant, and reads its tenant's audit log.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::errors::{ApiError, ErrorBody};
use crate::access::audit::AuditRecord;
use crate::access::tokens::{TokenError, TokenRecord};
use crate::access::{Created, Grant, Principal, Role};
use crate::names::{Slot, Tenant};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(read_audit))
}

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// What it is for, e.g. `supplier-a uploads` (1 to 64 printable characters).
    name: String,
    /// `platform-admin`, `tenant-admin`, `partner` or `viewer`.
    role: Role,
    /// The tenant it covers (all roles but platform-admin; a viewer without one reads every tenant).
    tenant: Option<String>,
    /// A partner's slots.
    #[serde(default)]
    slots: Vec<String>,
    /// How long it works, e.g. `30d`, `12h`; for ever when absent.
    expires: Option<String>,
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn token_error(err: TokenError) -> ApiError {
    match err {
        TokenError::Invalid(message) => ApiError::bad_request("invalid_token_request", message),
        TokenError::NotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", err.to_string())
        }
        TokenError::Store(err) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("the token store: {err:#}"),
        ),
    }
}

/// Whether `principal` may make, see or revoke a token with `grant`.
fn manages(principal: &Principal, grant: &Grant) -> bool {
    match principal.grant.role {
        Role::PlatformAdmin => true,
        Role::TenantAdmin => {
            matches!(grant.role, Role::Partner | Role::Viewer)
                && grant.tenant.is_some()
                && grant.tenant == principal.grant.tenant
        }
        Role::Partner | Role::Viewer => false,
    }
}

/// Makes a token; the answer carries it this once.
#[utoipa::path(post, path = "/v1/tokens", tag = "access",
    request_body = NewToken,
    responses(
        (status = 201, body = Created, description = "made: `token` is shown this once"),
        (status = 400, body = ErrorBody, description = "a role with what it cannot cover, a bad name or expiry"),
        (status = 403, body = ErrorBody, description = "the caller may not make this token"),
        (status = 404, body = ErrorBody, description = "no such tenant")
    )
)]
async fn create_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    given: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(asked) =
        given.map_err(|err| ApiError::bad_request("invalid_body", err.body_text()))?;
    let tenant = match &asked.tenant {
        Some(name) => Some(state.service.tenant(name)?.name.clone()),
        None => None,
    };
    let slots = asked
        .slots
        .iter()
        .map(|s| Slot::new(s))
        .collect::<Result<Vec<_>, _>>()?;
    let grant = Grant {
        role: asked.role,
        tenant,
        slots,
    };
    if !manages(&principal, &grant) {
        return Err(forbidden(format!(
            "{} may not make a {} token{}: a tenant admin makes partner and viewer tokens of its own tenant",
            principal.who(),
            grant.role,
            grant
                .tenant
                .as_ref()
                .map(|t| format!(" of tenant {t}"))
                .unwrap_or_default()
        )));
    }
    let expires = asked
        .expires
        .as_deref()
        .map(crate::config::parse_duration)
        .transpose()
        .map_err(|err| ApiError::bad_request("invalid_token_request", format!("expires: {err}")))?;
    let created = state
        .service
        .tokens()
        .create(&asked.name, grant, expires, &principal)
        .await
        .map_err(token_error)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The tokens the caller manages (a tenant admin: its tenant's partner and viewer tokens), oldest first.
#[utoipa::path(get, path = "/v1/tokens", tag = "access",
    responses((status = 200, body = Vec<TokenRecord>), (status = 403, body = ErrorBody))
)]
async fn list_tokens(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    let all = state
        .service
        .tokens()
        .list()
        .await
        .map_err(|err| token_error(TokenError::Store(err)))?;
    Ok(Json(
        all.into_iter()
            .filter(|r| manages(&principal, &r.grant))
            .collect(),
    ))
}

/// Revokes a token: every host refuses it from the moment the change reaches it (well within a second).
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "access",
    params(("id" = String, Path, description = "The token's id, `tok_…`")),
    responses(
        (status = 200, body = TokenRecord, description = "revoked (or revoked already)"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such token")
    )
)]
async fn revoke_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<TokenRecord>, ApiError> {
    let tokens = state.service.tokens();
    let record = tokens.find(&id).await.map_err(token_error)?;
    if !manages(&principal, &record.grant) {
        // A token the caller does not manage is, to it, not there.
        return Err(token_error(TokenError::NotFound(id)));
    }
    Ok(Json(
        tokens.revoke(&id, &principal).await.map_err(token_error)?,
    ))
}

/// Which audit records.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// One tenant's (a tenant admin reads only its own, and gets it when absent).
    tenant: Option<String>,
    /// How far back, e.g. `24h`, `7d` (default `24h`).
    since: Option<String>,
    /// The newest this many (default 100, at most 10000).
    limit: Option<usize>,
}

/// The changes asked of the API — who, what, when, the outcome — oldest first.
#[utoipa::path(get, path = "/v1/audit", tag = "access",
    params(AuditQuery),
    responses(
        (status = 200, body = Vec<AuditRecord>),
        (status = 400, body = ErrorBody, description = "a bad `since` or `limit`"),
        (status = 403, body = ErrorBody, description = "another tenant's log")
    )
)]
async fn read_audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    let Query(query) =
        query.map_err(|err| ApiError::bad_request("invalid_query", err.body_text()))?;
    let tenant: Option<Tenant> = match (&query.tenant, &principal.grant.tenant) {
        (Some(asked), _) => Some(state.service.tenant(asked)?.name.clone()),
        (None, own) => own.clone(),
    };
    if !principal.grant.covers_all() && (tenant.is_none() || tenant != principal.grant.tenant) {
        return Err(forbidden(format!(
            "{} reads only its own tenant's audit log",
            principal.who()
        )));
    }
    let since = match query.since.as_deref() {
        Some(text) => crate::config::parse_duration(text)
            .map_err(|err| ApiError::bad_request("invalid_query", format!("since: {err}")))?,
        None => Duration::from_secs(24 * 3600),
    };
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit: between 1 and 10000",
        ));
    }
    let start = jiff::SignedDuration::try_from(since)
        .ok()
        .and_then(|d| jiff::Timestamp::now().checked_sub(d).ok())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let records = state
        .service
        .audit()
        .read(tenant.as_ref().map(Tenant::as_str), start, limit)
        .await
        .map_err(|err| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("{err:#}"),
            )
        })?;
    Ok(Json(records))
}
