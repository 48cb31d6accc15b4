//! The admin API: JSON over HTTP under `/v1`, served by `serve` beside the routes (axum on hyper).
//!
//! Every `/v1` call needs `Authorization: Bearer <token>`: the bootstrap platform-admin token comes from
//! `MILLWRIGHT_ADMIN_TOKEN` (or `serve` makes one and prints it once; only its sha256 is kept), the others from
//! `/v1/tokens` ([`crate::access`]); [`authorize`] checks each call against the token's role and records every
//! change in the audit log. `/healthz`,
//! `/readyz` and the OpenAPI document at `/v1/openapi.json` are open, for probes and tools. Errors are JSON,
//! `{"error": {"code": "...", "message": "..."}}`, with a stable code and a message that says what to do.
//!
//! The handlers and the OpenAPI document come from the same annotations ([`api`]), and the document is checked
//! in at `docs/openapi.json`; a test fails when they disagree.

mod access;
mod dead_letters;
mod errors;
pub mod lookups;
pub mod plugins;
mod routes;
pub mod rules;
mod tls;
mod trace;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, RequestPartsExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use errors::ApiError;
pub use tls::AdminTls;

use crate::access::Principal;
use crate::access::tokens::Refusal;
use crate::service::Service;

/// The environment variable holding the platform-admin token.
pub const TOKEN_ENV: &str = "MILLWRIGHT_ADMIN_TOKEN";
/// Where the admin API listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7070";
/// The largest plugin upload taken, unless told otherwise.
pub const DEFAULT_MAX_UPLOAD: usize = 64 << 20;

/// How the admin API is reached.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    pub addr: String,
    /// The platform-admin token; `None` makes one and prints it once.
    pub token: Option<String>,
    /// The largest plugin upload, in bytes.
    pub max_upload: usize,
    /// A certificate and key to serve HTTPS with; plain HTTP without.
    pub tls: Option<AdminTls>,
}

impl Default for AdminOptions {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR.into(),
            token: None,
            max_upload: DEFAULT_MAX_UPLOAD,
            tls: None,
        }
    }
}

/// The admin API's listener, bound before the service starts so a taken port fails at once.
#[derive(Debug)]
pub struct Admin {
    listener: TcpListener,
    token_sha256: [u8; 32],
    max_upload: usize,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) service: Arc<Service>,
    token_sha256: [u8; 32],
    pub(crate) max_upload: usize,
}

impl Admin {
    /// Binds the listener and settles the token: the given one, or a new one printed once on stderr.
    pub async fn bind(options: &AdminOptions) -> Result<Self> {
        let tls = options
            .tls
            .as_ref()
            .map(AdminTls::server_config)
            .transpose()?;
        let listener = TcpListener::bind(&options.addr).await.with_context(|| {
            format!(
                "the admin API cannot listen on {}: is another host running there? Pick another with --admin-addr",
                options.addr
            )
        })?;
        let token = match options.token.clone().filter(|t| !t.is_empty()) {
            Some(token) => token,
            None => {
                let mut bytes = [0u8; 24];
                getrandom::fill(&mut bytes)
                    .map_err(|err| anyhow::anyhow!("making an admin token: {err}"))?;
                let token = format!("mw_{}", hex::encode(bytes));
                eprintln!("admin token (shown once; set {TOKEN_ENV} to choose your own): {token}");
                token
            }
        };
        Ok(Self {
            listener,
            token_sha256: Sha256::digest(token.as_bytes()).into(),
            max_upload: options.max_upload,
            tls,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves the API for `service` until `stop` turns true.
    pub fn serve(self, service: Arc<Service>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let addr = self
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let state = AppState {
            service,
            token_sha256: self.token_sha256,
            max_upload: self.max_upload,
        };
        let app = router(state);
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!("admin API on {scheme}://{addr}/v1 (OpenAPI at /v1/openapi.json)");
        tokio::spawn(async move {
            let served = match self.tls {
                None => {
                    axum::serve(self.listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|s| *s).await;
                        })
                        .await
                }
                Some(tls) => {
                    // axum-server finishes the TLS handshakes off the accept loop, so a slow client holds up
                    // only itself; on stop it takes no new connections and waits for those it has (serve's
                    // caller bounds the wait).
                    let handle = axum_server::Handle::new();
                    let stopper = handle.clone();
                    tokio::spawn(async move {
                        let _ = stop.wait_for(|s| *s).await;
                        stopper.graceful_shutdown(None);
                    });
                    match self.listener.into_std().and_then(|listener| {
                        axum_server::from_tcp_rustls(
                            listener,
                            axum_server::tls_rustls::RustlsConfig::from_config(tls),
                        )
                    }) {
                        Ok(server) => server.handle(handle).serve(app.into_make_service()).await,
                        Err(err) => Err(err),
                    }
                }
            };
            if let Err(err) = served {
                tracing::error!("the admin API stopped: {err}");
            }
        })
    }
}

/// The document's fixed parts; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Millwright admin API",
        description = "Tenants, plugin versions and hot swap, routes, master-data tables, dead letters. Every /v1 \
                       call takes `Authorization: Bearer <token>`. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        version = "1.0.0"
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn parts() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let open = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz));
    let guarded = OpenApiRouter::new()
        .routes(routes!(list_tenants))
        .routes(routes!(show_tenant))
        .merge(plugins::router())
        .merge(routes::router())
        .merge(lookups::router())
        .merge(rules::router())
        .merge(trace::router())
        .merge(dead_letters::router())
        .merge(access::router());
    (open, guarded)
}

/// The OpenAPI document of this API, as served at `/v1/openapi.json`.
pub fn api() -> utoipa::openapi::OpenApi {
    let (open, guarded) = parts();
    let (_, mut doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .merge(open)
        .merge(guarded)
        .split_for_parts();
    // Probes are open: say so per operation.
    for path in ["/healthz", "/readyz"] {
        if let Some(item) = doc.paths.paths.get_mut(path)
            && let Some(get) = item.get.as_mut()
        {
            get.security = Some(Vec::new());
        }
    }
    doc
}

fn router(state: AppState) -> axum::Router {
    let (open, guarded) = parts();
    let guarded = guarded.layer(middleware::from_fn_with_state(state.clone(), authorize));
    let (app, _) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .merge(open)
        .merge(guarded)
        .split_for_parts();
    let doc = api();
    app.route(
        "/v1/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { Json(doc) }
        }),
    )
    .fallback(|| async {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such resource; the API's paths are listed at /v1/openapi.json",
        )
    })
    // Uploads over the cap are read to their end and refused with 413 (see plugins::upload); only far beyond
    // it is a request cut off.
    .layer(axum::extract::DefaultBodyLimit::max(
        state
            .max_upload
            .saturating_mul(4)
            .max(state.max_upload.saturating_add(16 << 20)),
    ))
    .layer(middleware::from_fn(json_errors))
    .with_state(state)
}

/// Authenticates the caller, checks the operation against [`crate::access::permits`], hands the handler the
/// caller, and records every change asked (refused ones too) in the audit log.
async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let (mut parts, body) = request.into_parts();
    let params: Vec<(String, String)> = parts
        .extract::<RawPathParams>()
        .await
        .map(|params| {
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let tenant = param("tenant");
    let (principal, response) = match authenticate(&state, &parts.headers).await {
        Err(refused) => (None, refused.into_response()),
        Ok(principal)
            if !crate::access::permits(
                &principal.grant,
                &method,
                &template,
                tenant,
                param("slot"),
            ) =>
        {
            let refused = ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "{} may not {method} {path}{}",
                    principal.who(),
                    covering(&principal.grant)
                ),
            );
            (Some(principal), refused.into_response())
        }
        Ok(principal) => {
            parts.extensions.insert(principal.clone());
            let answered = next.run(Request::from_parts(parts, body)).await;
            (Some(principal), answered)
        }
    };
    if method != Method::GET && method != Method::HEAD {
        let status = response.status().as_u16();
        let record = crate::access::audit::AuditRecord {
            at: jiff::Timestamp::now(),
            who: principal
                .as_ref()
                .map_or_else(|| "unknown".to_string(), Principal::who),
            token_id: principal.as_ref().map(|p| p.id.clone()),
            method: method.to_string(),
            path,
            tenant: tenant.map(str::to_string),
            status,
            outcome: crate::access::audit::AuditRecord::outcome_of(status).to_string(),
        };
        if let Err(err) = state.service.audit().record(&record).await {
            tracing::error!(
                "the audit log did not take {} {} ({status}): {err:#}",
                record.method,
                record.path
            );
        }
    }
    response
}

/// Who the request's bearer token says the caller is, or the refusal.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!(
                    "send a token as `Authorization: Bearer <token>` (serve printed the platform admin's at start, or takes it from {TOKEN_ENV}; `millwright token create` makes others)"
                ),
            )
        })?;
    state
        .service
        .tokens()
        .authenticate(presented, &state.token_sha256)
        .await
        .map_err(|refusal| match refusal {
            Refusal::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                refusal.to_string(),
            ),
            _ => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                refusal.to_string(),
            ),
        })
}

/// What a grant covers, for a refusal's message.
fn covering(grant: &crate::access::Grant) -> String {
    let mut text = format!(": the token is a {}", grant.role);
    if let Some(tenant) = &grant.tenant {
        text.push_str(&format!(" of tenant {tenant}"));
    }
    if !grant.slots.is_empty() {
        let slots: Vec<&str> = grant.slots.iter().map(|s| s.as_str()).collect();
        text.push_str(&format!(" for slots {}", slots.join(", ")));
    }
    text
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is matched without regard to case, as RFC
/// 9110 says of authentication schemes.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Turns every error answer that is not yet the API's JSON error body — axum's own refusals (a wrong method,
/// a body over the limit, an unreadable path or query) — into one, with a code by status, so a client can
/// always read `{"error": {"code", "message"}}`.
async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!(
                "{method} is not allowed on {path}; the paths and their methods are listed at /v1/openapi.json"
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            format!("the request body is over the host's limit ({text})"),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", text),
        StatusCode::BAD_REQUEST => ("bad_request", text),
        StatusCode::NOT_FOUND => ("not_found", text),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", text),
        _ if status.is_server_error() => ("internal", text),
        _ => ("error", text),
    };
    let message = if message.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        message
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// Always `ok` when the process answers.
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Whether the host does its work: connected to NATS, every route serving a version.
#[derive(Debug, Serialize, ToSchema)]
struct Readiness {
    /// True when NATS is connected and no route waits.
    ready: bool,
    /// NATS connection state.
    nats: String,
    /// Routes that wait, and why.
    waiting: Vec<Waiting>,
    /// Slots suspended on this host by their circuit breaker: their messages wait in the stream. They leave the
    /// host ready (200) — a restart would not mend a plugin — so a probe that wants to alert on them reads this.
    suspended: Vec<SuspendedSlot>,
}

/// A slot suspended on this host.
#[derive(Debug, Serialize, ToSchema)]
struct SuspendedSlot {
    tenant: String,
    slot: String,
    /// The version suspended, `name@version+sha`.
    plugin: String,
    /// Since when (RFC 3339).
    since: String,
    /// Inputs in a row that failed by the plugin's fault.
    failures: u32,
    /// The last failure.
    reason: String,
    /// When one message will be let through as a probe (RFC 3339).
    next_probe: String,
}

/// A route that does not serve yet.
#[derive(Debug, Serialize, ToSchema)]
struct Waiting {
    tenant: String,
    route: String,
    slot: String,
    /// What is missing.
    reason: String,
}

/// Ready when connected to NATS with every route serving; 503 names what waits. Suspended slots are named in a
/// ready answer too.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, body = Readiness, description = "ready"),
    (status = 503, body = Readiness, description = "not ready: see `waiting` and `nats`")
))]
async fn readyz(State(state): State<AppState>) -> Response {
    let connection = state.service.bus().client.connection_state();
    let connected = matches!(connection, async_nats::connection::State::Connected);
    let waiting: Vec<Waiting> = state
        .service
        .routes()
        .status()
        .await
        .into_iter()
        .filter(|r| r.serving.is_none())
        .filter_map(|r| {
            let slot = r.slot?;
            Some(Waiting {
                reason: format!(
                    "slot {slot} has no active version; upload one and activate it (millwright plugin push --tenant {} --slot {slot} --activate)",
                    r.tenant
                ),
                tenant: r.tenant.to_string(),
                route: r.name.to_string(),
                slot: slot.to_string(),
            })
        })
        .collect();
    let suspended = state
        .service
        .routes()
        .breakers()
        .suspended()
        .into_iter()
        .map(|s| SuspendedSlot {
            tenant: s.tenant.to_string(),
            slot: s.slot.to_string(),
            plugin: s.plugin,
            since: s.since.to_string(),
            failures: s.failures,
            reason: s.last_error.unwrap_or_default(),
            next_probe: s.next_probe.to_string(),
        })
        .collect();
    let ready = connected && waiting.is_empty();
    let body = Readiness {
        ready,
        nats: connection.to_string(),
        waiting,
        suspended,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// A tenant and what it has.
#[derive(Debug, Serialize, ToSchema)]
struct TenantView {
    /// Its name: the second token of its subjects.
    name: String,
    /// Its master-data tables.
    lookups: Vec<String>,
    /// Its routes' names.
    routes: Vec<String>,
    /// Its plugin slots that have versions.
    slots: Vec<String>,
}

async fn tenant_view(state: &AppState, name: &str) -> Result<TenantView, ApiError> {
    let tenant = state.service.tenant(name)?;
    let mut routes: Vec<String> = state
        .service
        .routes_of(&tenant.name)
        .await
        .into_iter()
        .map(|s| s.common.name.to_string())
        .collect();
    routes.sort();
    let mut slots: Vec<String> = state
        .service
        .registry()
        .versions(&tenant.name, None)
        .await
        .map_err(crate::service::ServiceError::from)?
        .into_iter()
        .map(|v| v.slot.to_string())
        .collect();
    slots.sort();
    slots.dedup();
    Ok(TenantView {
        name: tenant.name.to_string(),
        lookups: state.service.lookup_names(&tenant.name),
        routes,
        slots,
    })
}

/// The tenants this host serves (from its configuration).
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", responses(
    (status = 200, body = Vec<TenantView>),
    (status = 401, body = errors::ErrorBody)
))]
async fn list_tenants(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<TenantView>>, ApiError> {
    let mut out = Vec::new();
    for tenant in &state.service.config().tenants {
        // A token sees the tenants it covers.
        if !principal.grant.covers(&tenant.name) {
            continue;
        }
        out.push(tenant_view(&state, &tenant.name).await?);
    }
    Ok(Json(out))
}

/// One tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's name")),
    responses(
        (status = 200, body = TenantView),
        (status = 404, body = errors::ErrorBody, description = "no such tenant")
    )
)]
async fn show_tenant(
    State(state): State<AppState>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    Ok(Json(tenant_view(&state, &tenant).await?))
}

/// The caller's identity, for the registry's `uploaded_by` and activation history, the alerts' and the
/// quarantine's decisions: the token's name and role.
pub(crate) fn caller(principal: &Principal) -> String {
    principal.who()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_whatever_its_case() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "  Bearer   abc  "] {
            assert_eq!(bearer_token(value), Some("abc"), "{value:?}");
        }
        for value in ["Basic abc", "Bearer", "Bearer ", "abc", "Bearerabc"] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
