//! Plugins and versions: upload (validate, compile, optional shadow run, optional activation), list, show,
//! activate, roll back, delete an inactive version.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::errors::{self, ApiError, ErrorBody};
use super::shadow::{self, ShadowReport};
use super::{AppState, caller};
use crate::plugin::World;
use crate::registry::{self, ActivationKind, SlotState, VersionMeta, signature};
use crate::serve::version_meta;
use crate::swap;

/// How long an activation waits for this host's routes to switch before it answers.
const SWITCH_WAIT: Duration = Duration::from_secs(10);

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_slots))
        .routes(routes!(show_slot))
        .routes(routes!(upload))
        .routes(routes!(show_version, delete_version))
        .routes(routes!(activate))
        .routes(routes!(rollback))
}

/// One uploaded version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    /// The sha256 of the component: its identity.
    pub sha256: String,
    /// The plugin's own name (from `describe`).
    pub name: String,
    /// The plugin's own version (from `describe`).
    pub version: String,
    /// `inbound-mapper` or `outbound-mapper`.
    pub world: String,
    /// The contract version it was built against.
    pub contract: String,
    /// Bytes.
    pub size: u64,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When (RFC 3339).
    pub uploaded_at: String,
    /// `unsigned`, or `verified:<key name>`.
    pub signature: String,
    /// Whether it is the slot's active version.
    pub active: bool,
    /// Whether this host holds it compiled (it compiles every upload as soon as it is stored, so an activation
    /// only switches).
    pub compiled_here: bool,
}

impl VersionView {
    fn new(meta: &VersionMeta, active: Option<&str>, compiled: bool) -> Self {
        Self {
            sha256: meta.sha256.clone(),
            name: meta.name.clone(),
            version: meta.version.clone(),
            world: meta.world.clone(),
            contract: meta.contract.clone(),
            size: meta.size,
            uploaded_by: meta.uploaded_by.clone(),
            uploaded_at: meta.uploaded_at.to_string(),
            signature: match &meta.signature {
                registry::SignatureStatus::Unsigned => "unsigned".into(),
                registry::SignatureStatus::Verified { key } => format!("verified:{key}"),
            },
            active: active == Some(meta.sha256.as_str()),
            compiled_here: compiled,
        }
    }
}

/// One switch of the active pointer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActivationView {
    /// The version that became active.
    pub sha256: String,
    /// Its version string.
    pub version: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub by: String,
    /// `activate` or `rollback`.
    pub action: String,
}

/// A route and the version it serves on this host.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Serving {
    /// The route.
    pub route: String,
    /// `name@version+sha` of the version serving it, none while it waits.
    pub plugin: Option<String>,
    /// The sha256 of that version.
    pub sha256: Option<String>,
}

/// A slot: its versions, the active one and the history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotView {
    /// The tenant.
    pub tenant: String,
    /// The slot.
    pub slot: String,
    /// The active version, if any.
    pub active: Option<VersionView>,
    /// Every version, newest first.
    pub versions: Vec<VersionView>,
    /// Activations and rollbacks, oldest first.
    pub history: Vec<ActivationView>,
    /// The routes on this host that run the slot, with the version each serves.
    pub serving: Vec<Serving>,
}

async fn slot_view(state: &AppState, tenant: &str, slot: &str) -> Result<SlotView, ApiError> {
    let registry = &state.service.registry;
    let slot_state: SlotState = registry.slot(tenant, slot).await?.unwrap_or_default();
    let versions = registry.versions(tenant, Some(slot)).await?;
    let routes = state.service.routes.status().await;
    let serving: Vec<Serving> = routes
        .into_iter()
        .filter(|r| r.tenant == tenant && r.slot == slot)
        .map(|r| Serving {
            route: r.name,
            plugin: r.serving,
            sha256: r.serving_sha256,
        })
        .collect();
    if versions.is_empty() && serving.is_empty() {
        return Err(ApiError::not_found(
            "slot_not_found",
            format!("tenant {tenant} has no slot {slot:?}: upload a version to create it"),
        ));
    }
    let active = slot_state.active.as_deref();
    Ok(SlotView {
        tenant: tenant.to_string(),
        slot: slot.to_string(),
        active: versions
            .iter()
            .find(|v| Some(v.sha256.as_str()) == active)
            .map(|v| VersionView::new(v, active, state.service.versions.is_compiled(&v.sha256))),
        versions: versions
            .iter()
            .map(|v| VersionView::new(v, active, state.service.versions.is_compiled(&v.sha256)))
            .collect(),
        history: slot_state
            .history
            .iter()
            .map(|a| ActivationView {
                sha256: a.sha256.clone(),
                version: a.version.clone(),
                at: a.at.to_string(),
                by: a.by.clone(),
                action: match a.action {
                    ActivationKind::Activate => "activate".into(),
                    ActivationKind::Rollback => "rollback".into(),
                },
            })
            .collect(),
        serving,
    })
}

fn check_names(tenant: &str, slot: &str) -> Result<(), ApiError> {
    registry::check_name("tenant", tenant)?;
    registry::check_name("slot", slot)?;
    Ok(())
}

/// The tenant's slots.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins", tag = "plugins",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<SlotView>), (status = 404, body = ErrorBody))
)]
async fn list_slots(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    let mut slots: Vec<String> = state
        .service
        .registry
        .versions(&tenant, None)
        .await?
        .into_iter()
        .map(|v| v.slot)
        .chain(
            state
                .service
                .routes
                .status()
                .await
                .into_iter()
                .filter(|r| r.tenant == tenant)
                .map(|r| r.slot),
        )
        .collect();
    slots.sort();
    slots.dedup();
    let mut out = Vec::new();
    for slot in slots {
        out.push(slot_view(&state, &tenant, &slot).await?);
    }
    Ok(Json(out))
}

/// One slot: versions, the active one, history, and what this host's routes serve.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins/{slot}", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path)),
    responses((status = 200, body = SlotView), (status = 404, body = ErrorBody))
)]
async fn show_slot(
    State(state): State<AppState>,
    Path((tenant, slot)): Path<(String, String)>,
) -> Result<Json<SlotView>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    check_names(&tenant, &slot)?;
    Ok(Json(slot_view(&state, &tenant, &slot).await?))
}

/// Options of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadOptions {
    /// Activate the version once it is stored (and the shadow run, if any, is done).
    #[serde(default)]
    activate: bool,
    /// Run the new version and the active one on the fixtures and the slot's recent inputs and report every
    /// difference (default: true).
    shadow: Option<bool>,
    /// How many of the slot's most recent inputs the shadow run takes (default 20, at most 500).
    recent: Option<usize>,
}

/// What an upload did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadResult {
    /// The version stored (or the one stored before, for the same bytes).
    pub version: VersionView,
    /// False when the slot already had these bytes.
    pub created: bool,
    /// Milliseconds spent validating and compiling.
    pub compile_ms: f64,
    /// The shadow run's report, when one ran.
    pub shadow: Option<ShadowReport>,
    /// The activation, when asked for.
    pub activation: Option<ActivationResult>,
}

/// What an activation or rollback did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivationResult {
    /// The version now active.
    pub active: VersionView,
    /// The routes on this host serving it when the answer was sent.
    pub serving: Vec<String>,
    /// The routes on this host that run the slot but had not switched within 10 s (see the host's log).
    pub not_switched: Vec<String>,
    /// Milliseconds from the request to this host's routes serving the version.
    pub elapsed_ms: f64,
}

/// Uploads a version: `multipart/form-data` with a `plugin` part (the .wasm component), any number of
/// `fixture` parts (sample inputs for the shadow run, with file names) and an optional `signature` part
/// (base64 ed25519 signature of the component's bytes).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/{slot}/versions", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path), UploadOptions),
    request_body(content_type = "multipart/form-data", description = "parts: plugin (required), fixture (repeated), signature"),
    responses(
        (status = 201, body = UploadResult, description = "stored (and activated when asked)"),
        (status = 200, body = UploadResult, description = "these bytes were already a version of the slot"),
        (status = 400, body = ErrorBody, description = "bad names or a malformed request"),
        (status = 403, body = ErrorBody, description = "signature missing or not verified"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 413, body = ErrorBody, description = "over the size cap"),
        (status = 422, body = ErrorBody, description = "not a component, wrong world, unsupported contract")
    )
)]
async fn upload(
    State(state): State<AppState>,
    Path((tenant, slot)): Path<(String, String)>,
    options: Result<Query<UploadOptions>, QueryRejection>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadResult>), ApiError> {
    let started = Instant::now();
    let Query(options) = options.map_err(|err| {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "{}; the options are activate=true|false, shadow=true|false and recent=<count>",
                err.body_text()
            ),
        )
    })?;
    let mut multipart = multipart.map_err(|err| {
        ApiError::bad_request(
            "bad_multipart",
            format!(
                "the upload must be multipart/form-data with a `plugin` part: {}",
                err.body_text()
            ),
        )
    })?;
    let mut plugin: Option<(String, Bytes)> = None;
    let mut fixtures: Vec<(String, Bytes)> = Vec::new();
    let mut signature_b64: Option<String> = None;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the upload is over the host's cap of {} bytes (serve --max-upload-mb)",
                state.max_upload
            ),
        )
    };
    let mut received = 0usize;
    // A second `plugin` or `signature` part is refused, once the body is read: which one was meant is not known.
    let mut duplicate = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(err) => {
                return Err(ApiError::bad_request(
                    "bad_multipart",
                    format!("the upload is not readable multipart/form-data: {err}"),
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        // Read to the end even past the cap (keeping nothing more), so the client gets the 413 rather than a
        // connection closed under it while it is still sending.
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len();
                    if received <= state.max_upload {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(too_large());
                }
                Err(err) => {
                    return Err(ApiError::bad_request(
                        "bad_multipart",
                        format!("reading part {name:?} of the upload: {err}"),
                    ));
                }
            }
        }
        if received > state.max_upload {
            continue;
        }
        let bytes = Bytes::from(bytes);
        match name.as_str() {
            "plugin" if plugin.is_some() => duplicate = Some("plugin"),
            "signature" if signature_b64.is_some() => duplicate = Some("signature"),
            "plugin" => {
                plugin = Some((file_name.unwrap_or_else(|| "plugin.wasm".into()), bytes));
            }
            "fixture" => {
                let file_name =
                    file_name.unwrap_or_else(|| format!("fixture-{}", fixtures.len() + 1));
                fixtures.push((file_name, bytes));
            }
            "signature" => {
                signature_b64 = Some(String::from_utf8_lossy(&bytes).trim().to_string());
            }
            other => {
                return Err(ApiError::bad_request(
                    "bad_multipart",
                    format!("unknown part {other:?}: the parts are plugin, fixture and signature"),
                ));
            }
        }
    }
    // Checked once the body is read, so even a refusal reaches a client still sending.
    let tenant_config = errors::tenant(&state.service, &tenant)?.clone();
    check_names(&tenant, &slot)?;
    if received > state.max_upload {
        return Err(too_large());
    }
    if let Some(part) = duplicate {
        return Err(ApiError::bad_request(
            "duplicate_part",
            format!("the upload has more than one `{part}` part; send exactly one"),
        ));
    }
    let Some((file_name, bytes)) = plugin else {
        return Err(ApiError::bad_request(
            "missing_plugin",
            "the upload has no `plugin` part: send the .wasm component as a part named plugin",
        ));
    };
    let signature = signature::verify(
        &bytes,
        signature_b64.as_deref(),
        &tenant_config.signing_keys,
        tenant_config.require_signatures,
    )
    .map_err(|err| ApiError::new(StatusCode::FORBIDDEN, err.code(), err.to_string()))?;

    // The world is checked before the plugin is kept, so a refused upload leaves nothing compiled behind.
    let needed = needed_world(&state, &tenant, &slot).await?;
    let compiling = Instant::now();
    let compiled = state
        .service
        .versions
        .compile(&file_name, bytes.clone(), &tenant, &slot, needed.as_ref())
        .await?;
    let compile_ms = compiling.elapsed().as_secs_f64() * 1e3;

    let registry = &state.service.registry;
    let existed = registry
        .version(&tenant, &slot, &compiled.sha256)
        .await?
        .is_some();
    let meta = version_meta(&tenant, &slot, &compiled, &caller(&headers), signature);
    let meta = registry.add_version(meta, bytes).await?;
    tracing::info!(%tenant, %slot, version = %meta.version, sha256 = %meta.sha256, "version uploaded");

    let active = registry.active(&tenant, &slot).await?;
    let shadow = if options.shadow.unwrap_or(true) && (active.is_some() || !fixtures.is_empty()) {
        let recent = options.recent.unwrap_or(20).min(500);
        Some(
            shadow::run(
                &state.service,
                &tenant,
                &slot,
                &compiled,
                active.as_ref(),
                fixtures,
                recent,
            )
            .await?,
        )
    } else {
        None
    };
    let activation = if options.activate {
        Some(
            switch(
                &state,
                &tenant,
                &slot,
                started,
                Switch::To(meta.sha256.clone()),
                &headers,
            )
            .await?,
        )
    } else {
        None
    };
    let slot_state = registry.slot(&tenant, &slot).await?.unwrap_or_default();
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(UploadResult {
            version: VersionView::new(
                &meta,
                slot_state.active.as_deref(),
                state.service.versions.is_compiled(&meta.sha256),
            ),
            created: !existed,
            compile_ms,
            shadow,
            activation,
        }),
    ))
}

/// The world a new version of `tenant`/`slot` must implement: the one the routes running the slot need, else the
/// slot's active version's. `None` for a slot nothing constrains yet.
async fn needed_world(
    state: &AppState,
    tenant: &str,
    slot: &str,
) -> Result<Option<swap::Needed>, ApiError> {
    if let Some(spec) = state
        .service
        .routes
        .specs()
        .await
        .into_iter()
        .find(|s| s.tenant == tenant && s.common.slot == slot)
    {
        return Ok(Some(swap::Needed {
            world: spec.world(),
            by: format!("route {} (which runs slot {slot})", spec.common.name),
        }));
    }
    let active = state.service.registry.active(tenant, slot).await?;
    Ok(active.and_then(|active| {
        let world = match active.world.as_str() {
            "inbound-mapper" => World::Inbound,
            "outbound-mapper" => World::Outbound,
            _ => return None,
        };
        Some(swap::Needed {
            world,
            by: format!(
                "slot {slot}, whose active version {}@{} is an {},",
                active.name, active.version, active.world
            ),
        })
    }))
}

/// One version.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins/{slot}/versions/{sha256}", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path), ("sha256" = String, Path)),
    responses((status = 200, body = VersionView), (status = 404, body = ErrorBody))
)]
async fn show_version(
    State(state): State<AppState>,
    Path((tenant, slot, sha256)): Path<(String, String, String)>,
) -> Result<Json<VersionView>, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    check_names(&tenant, &slot)?;
    registry::check_sha256(&sha256)?;
    let registry = &state.service.registry;
    let meta = registry
        .version(&tenant, &slot, &sha256)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "version_not_found",
                format!("slot {tenant}/{slot} has no version {sha256}"),
            )
        })?;
    let active = registry.slot(&tenant, &slot).await?.and_then(|s| s.active);
    Ok(Json(VersionView::new(
        &meta,
        active.as_deref(),
        state.service.versions.is_compiled(&meta.sha256),
    )))
}

/// Deletes a version that is not active (its artifact too, once no slot uses it).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/plugins/{slot}/versions/{sha256}", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path), ("sha256" = String, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "it is the active version")
    )
)]
async fn delete_version(
    State(state): State<AppState>,
    Path((tenant, slot, sha256)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    errors::tenant(&state.service, &tenant)?;
    check_names(&tenant, &slot)?;
    state
        .service
        .registry
        .delete_version(&tenant, &slot, &sha256)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which version to activate: by sha256, or by its version string.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActivateRequest {
    /// The version's sha256.
    sha256: Option<String>,
    /// The version's own version string (refused when several uploads carry it).
    version: Option<String>,
}

/// Makes a version the slot's active one: every host switches; messages in flight finish on the old one.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/{slot}/activate", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path)),
    request_body = ActivateRequest,
    responses(
        (status = 200, body = ActivationResult),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such version"),
        (status = 409, body = ErrorBody, description = "ambiguous version string"),
        (status = 422, body = ErrorBody, description = "wrong world for the slot's routes")
    )
)]
async fn activate(
    State(state): State<AppState>,
    Path((tenant, slot)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<ActivateRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ActivationResult>, ApiError> {
    let started = Instant::now();
    errors::tenant(&state.service, &tenant)?;
    check_names(&tenant, &slot)?;
    let Json(request) = body.map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be {{\"sha256\": ...}} or {{\"version\": ...}}: {err}"),
        )
    })?;
    let target = match (request.sha256, request.version) {
        (Some(sha), None) => Switch::To(sha),
        (None, Some(version)) => Switch::Version(version),
        _ => {
            return Err(ApiError::bad_request(
                "bad_request",
                "say which version: {\"sha256\": \"...\"} or {\"version\": \"...\"}, one of the two",
            ));
        }
    };
    Ok(Json(
        switch(&state, &tenant, &slot, started, target, &headers).await?,
    ))
}

/// Goes back to the version active before the current one.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/{slot}/rollback", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path)),
    responses(
        (status = 200, body = ActivationResult),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "nothing to roll back to")
    )
)]
async fn rollback(
    State(state): State<AppState>,
    Path((tenant, slot)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<ActivationResult>, ApiError> {
    let started = Instant::now();
    errors::tenant(&state.service, &tenant)?;
    check_names(&tenant, &slot)?;
    Ok(Json(
        switch(&state, &tenant, &slot, started, Switch::Back, &headers).await?,
    ))
}

enum Switch {
    To(String),
    Version(String),
    Back,
}

/// Moves the active pointer and waits (up to [`SWITCH_WAIT`]) until this host's routes on the slot serve it.
async fn switch(
    state: &AppState,
    tenant: &str,
    slot: &str,
    started: Instant,
    target: Switch,
    headers: &HeaderMap,
) -> Result<ActivationResult, ApiError> {
    let registry = &state.service.registry;
    let by = caller(headers);
    // The world is checked before the pointer moves, so a route is never handed a plugin it cannot run.
    let candidate = match &target {
        Switch::To(sha) => {
            registry::check_sha256(sha)?;
            Some(registry.version(tenant, slot, sha).await?.ok_or_else(|| {
                ApiError::not_found("version_not_found", format!("slot {tenant}/{slot} has no version {sha}; list them with GET /v1/tenants/{tenant}/plugins/{slot}"))
            })?)
        }
        Switch::Version(_) | Switch::Back => None,
    };
    if let Some(candidate) = &candidate {
        check_routes_world(state, tenant, slot, &candidate.world).await?;
    }
    let slot_state = match target {
        Switch::To(sha) => registry.activate(tenant, slot, &sha, &by).await?,
        Switch::Version(version) => {
            let versions = registry.versions(tenant, Some(slot)).await?;
            for v in versions.iter().filter(|v| v.version == version) {
                check_routes_world(state, tenant, slot, &v.world).await?;
            }
            registry
                .activate_version(tenant, slot, &version, &by)
                .await?
        }
        Switch::Back => registry.rollback(tenant, slot, &by).await?,
    };
    let sha = slot_state.active.clone().unwrap_or_default();
    let meta = registry.version(tenant, slot, &sha).await?.ok_or_else(|| {
        ApiError::not_found(
            "version_not_found",
            format!("slot {tenant}/{slot} has no version {sha}"),
        )
    })?;
    let serving = state
        .service
        .routes
        .wait_serving(tenant, slot, &sha, SWITCH_WAIT)
        .await;
    let not_switched: Vec<String> = state
        .service
        .routes
        .status()
        .await
        .into_iter()
        .filter(|r| r.tenant == tenant && r.slot == slot && !serving.contains(&r.name))
        .map(|r| r.name)
        .collect();
    tracing::info!(%tenant, %slot, version = %meta.version, sha256 = %sha, ?serving, "slot activated");
    Ok(ActivationResult {
        active: VersionView::new(
            &meta,
            Some(&sha),
            state.service.versions.is_compiled(&meta.sha256),
        ),
        serving,
        not_switched,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

async fn check_routes_world(
    state: &AppState,
    tenant: &str,
    slot: &str,
    world: &str,
) -> Result<(), ApiError> {
    for spec in state.service.routes.specs().await {
        if spec.tenant == tenant && spec.common.slot == slot && spec.world().wit_name() != world {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong_world",
                format!(
                    "that version implements {world}, but route {} runs slot {slot} and needs an {}",
                    spec.common.name,
                    spec.world().wit_name()
                ),
            ));
        }
    }
    Ok(())
}
