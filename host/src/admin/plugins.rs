//! Plugins and versions: upload (validate, compile, optional shadow run, optional activation), list, show,
//! activate, roll back, delete an inactive version. Each handler reads the request, calls one verb of the
//! service, and writes its answer as the views below.

use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::errors::{ApiError, ErrorBody};
use super::{AppState, caller};
use crate::access::Principal;
use crate::names::{Sha256, Slot, Tenant};
use crate::registry::{self, ActivationKind, VersionMeta};
use crate::service::shadow::ShadowReport;
use crate::service::slots::{Activated, SlotReport, Upload, Uploaded, Which};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_slots))
        .routes(routes!(show_slot))
        .routes(routes!(upload))
        .routes(routes!(show_version, delete_version))
        .routes(routes!(activate))
        .routes(routes!(rollback))
        .routes(routes!(resume))
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
    fn new(meta: &VersionMeta, active: Option<&Sha256>, compiled: bool) -> Self {
        Self {
            sha256: meta.sha256.to_string(),
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
            active: active == Some(&meta.sha256),
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

/// A slot suspended by its circuit breaker on this host: its messages wait in the stream.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuspensionView {
    /// The version suspended (sha256).
    pub sha256: String,
    /// Its `name@version+sha`.
    pub plugin: String,
    /// When it was suspended (RFC 3339).
    pub since: String,
    /// Inputs in a row that failed by the plugin's fault.
    pub failures: u32,
    /// The class of the last failure: `deadline`, `trap`, `memory-limit`, `output-limit`, `bad-output`.
    pub last_class: Option<String>,
    /// The last failure, as its dead letter says it.
    pub last_error: Option<String>,
    /// When one message will be let through as a probe (RFC 3339).
    pub next_probe: String,
    /// The wait between probes now, in milliseconds; each failed probe doubles it up to the route's
    /// `max_probe_backoff`.
    pub probe_backoff_ms: u64,
}

impl SuspensionView {
    /// The view of a suspension.
    pub fn new(suspension: &crate::pipeline::breaker::Suspension) -> Self {
        Self {
            sha256: suspension.version.to_string(),
            plugin: suspension.plugin.clone(),
            since: suspension.since.to_string(),
            failures: suspension.failures,
            last_class: suspension.last_class.map(|c| c.as_str().to_string()),
            last_error: suspension.last_error.clone(),
            next_probe: suspension.next_probe.to_string(),
            probe_backoff_ms: u64::try_from(suspension.probe_backoff.as_millis())
                .unwrap_or(u64::MAX),
        }
    }
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
    /// Set while the slot is suspended on this host (its version failed too many inputs in a row); lifted by a
    /// successful probe, by activating another version, or by `POST .../resume`.
    #[serde(default)]
    pub suspension: Option<SuspensionView>,
}

impl SlotView {
    fn new(state: &AppState, report: SlotReport) -> Self {
        let active = report.state.active.as_ref();
        let view = |v: &VersionMeta| {
            VersionView::new(v, active, state.service.versions().is_compiled(&v.sha256))
        };
        Self {
            tenant: report.tenant.to_string(),
            slot: report.slot.to_string(),
            active: report
                .versions
                .iter()
                .find(|v| Some(&v.sha256) == active)
                .map(view),
            versions: report.versions.iter().map(view).collect(),
            history: report
                .state
                .history
                .iter()
                .map(|a| ActivationView {
                    sha256: a.sha256.to_string(),
                    version: a.version.clone(),
                    at: a.at.to_string(),
                    by: a.by.clone(),
                    action: match a.action {
                        ActivationKind::Activate => "activate".into(),
                        ActivationKind::Rollback => "rollback".into(),
                    },
                })
                .collect(),
            serving: report
                .serving
                .into_iter()
                .map(|r| Serving {
                    route: r.name.to_string(),
                    plugin: r.serving,
                    sha256: r.serving_sha256.map(|s| s.to_string()),
                })
                .collect(),
            suspension: report.suspension.as_ref().map(SuspensionView::new),
        }
    }
}

impl ActivationResult {
    fn new(state: &AppState, activated: Activated) -> Self {
        let compiled = state.service.versions().is_compiled(&activated.meta.sha256);
        Self {
            active: VersionView::new(&activated.meta, Some(&activated.meta.sha256), compiled),
            serving: activated.serving.iter().map(ToString::to_string).collect(),
            not_switched: activated
                .not_switched
                .iter()
                .map(ToString::to_string)
                .collect(),
            elapsed_ms: activated.elapsed.as_secs_f64() * 1e3,
        }
    }
}

/// The tenant's slots.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/plugins", tag = "plugins",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<SlotView>), (status = 404, body = ErrorBody))
)]
async fn list_slots(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    let tenant = Tenant::new(&tenant)?;
    let reports = state.service.slots(&tenant).await?;
    Ok(Json(
        reports
            .into_iter()
            // A partner lists its own slots.
            .filter(|r| principal.grant.covers_slot(r.slot.as_str()))
            .map(|r| SlotView::new(&state, r))
            .collect(),
    ))
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
    let (tenant, slot) = (Tenant::new(&tenant)?, Slot::new(&slot)?);
    let report = state.service.slot(&tenant, &slot).await?;
    Ok(Json(SlotView::new(&state, report)))
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

/// What an upload's multipart body held.
struct Parts {
    plugin: Option<(String, Bytes)>,
    fixtures: Vec<(String, Bytes)>,
    signature: Option<String>,
}

/// Reads an upload's parts: `plugin` (once), `fixture` (any number), `signature` (once). The body is read to its
/// end even past the cap (keeping nothing more), so the client gets the 413 rather than a connection closed
/// under it while it is still sending.
async fn read_parts(mut multipart: Multipart, max_upload: usize) -> Result<Parts, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the upload is over the host's cap of {max_upload} bytes (serve --max-upload-mb)"
            ),
        )
    };
    let mut parts = Parts {
        plugin: None,
        fixtures: Vec::new(),
        signature: None,
    };
    let mut received = 0usize;
    // A second `plugin` or `signature` part is refused once the body is read: which one was meant is not known.
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
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len();
                    if received <= max_upload {
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
        if received > max_upload {
            continue;
        }
        let bytes = Bytes::from(bytes);
        match name.as_str() {
            "plugin" if parts.plugin.is_some() => duplicate = Some("plugin"),
            "signature" if parts.signature.is_some() => duplicate = Some("signature"),
            "plugin" => {
                parts.plugin = Some((file_name.unwrap_or_else(|| "plugin.wasm".into()), bytes));
            }
            "fixture" => {
                let file_name =
                    file_name.unwrap_or_else(|| format!("fixture-{}", parts.fixtures.len() + 1));
                parts.fixtures.push((file_name, bytes));
            }
            "signature" => {
                parts.signature = Some(String::from_utf8_lossy(&bytes).trim().to_string());
            }
            other => {
                return Err(ApiError::bad_request(
                    "bad_multipart",
                    format!("unknown part {other:?}: the parts are plugin, fixture and signature"),
                ));
            }
        }
    }
    if received > max_upload {
        return Err(too_large());
    }
    if let Some(part) = duplicate {
        return Err(ApiError::bad_request(
            "duplicate_part",
            format!("the upload has more than one `{part}` part; send exactly one"),
        ));
    }
    Ok(parts)
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
    Extension(principal): Extension<Principal>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadResult>), ApiError> {
    let Query(options) = options.map_err(|err| {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "{}; the options are activate=true|false, shadow=true|false and recent=<count>",
                err.body_text()
            ),
        )
    })?;
    let multipart = multipart.map_err(|err| {
        ApiError::bad_request(
            "bad_multipart",
            format!(
                "the upload must be multipart/form-data with a `plugin` part: {}",
                err.body_text()
            ),
        )
    })?;
    let parts = read_parts(multipart, state.max_upload).await?;
    // Checked once the body is read, so even a refusal reaches a client still sending.
    state.service.tenant(&tenant)?;
    let (tenant, slot) = (Tenant::new(&tenant)?, Slot::new(&slot)?);
    let Some((file_name, bytes)) = parts.plugin else {
        return Err(ApiError::bad_request(
            "missing_plugin",
            "the upload has no `plugin` part: send the .wasm component as a part named plugin",
        ));
    };
    let uploaded: Uploaded = state
        .service
        .upload(Upload {
            tenant,
            slot,
            file_name,
            bytes,
            fixtures: parts.fixtures,
            signature: parts.signature,
            by: caller(&principal),
            activate: options.activate,
            shadow: options.shadow.unwrap_or(true),
            recent: options.recent.unwrap_or(20),
        })
        .await?;
    let active_sha = uploaded.activation.as_ref().map(|a| a.meta.sha256.clone());
    let active = match active_sha {
        Some(sha) => Some(sha),
        None => state
            .service
            .registry()
            .slot(&uploaded.meta.tenant, &uploaded.meta.slot)
            .await
            .map_err(crate::service::ServiceError::from)?
            .and_then(|s| s.active),
    };
    let status = if uploaded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let compiled = state.service.versions().is_compiled(&uploaded.meta.sha256);
    Ok((
        status,
        Json(UploadResult {
            version: VersionView::new(&uploaded.meta, active.as_ref(), compiled),
            created: uploaded.created,
            compile_ms: uploaded.compile.as_secs_f64() * 1e3,
            shadow: uploaded.shadow,
            activation: uploaded
                .activation
                .map(|a| ActivationResult::new(&state, a)),
        }),
    ))
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
    state.service.tenant(&tenant)?;
    let (tenant, slot, sha256) = (
        Tenant::new(&tenant)?,
        Slot::new(&slot)?,
        Sha256::new(&sha256)?,
    );
    let (meta, slot_state) = state.service.version(&tenant, &slot, &sha256).await?;
    let compiled = state.service.versions().is_compiled(&meta.sha256);
    Ok(Json(VersionView::new(
        &meta,
        slot_state.active.as_ref(),
        compiled,
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
    state.service.tenant(&tenant)?;
    let (tenant, slot, sha256) = (
        Tenant::new(&tenant)?,
        Slot::new(&slot)?,
        Sha256::new(&sha256)?,
    );
    state
        .service
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
    Extension(principal): Extension<Principal>,
    body: Result<Json<ActivateRequest>, JsonRejection>,
) -> Result<Json<ActivationResult>, ApiError> {
    let started = Instant::now();
    state.service.tenant(&tenant)?;
    let (tenant, slot) = (Tenant::new(&tenant)?, Slot::new(&slot)?);
    let Json(request) = body.map_err(|err| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be {{\"sha256\": ...}} or {{\"version\": ...}}: {err}"),
        )
    })?;
    let which = match (request.sha256, request.version) {
        (Some(sha), None) => Which::Sha(Sha256::new(&sha)?),
        (None, Some(version)) => Which::Version(version),
        _ => {
            return Err(ApiError::bad_request(
                "bad_request",
                "say which version: {\"sha256\": \"...\"} or {\"version\": \"...\"}, one of the two",
            ));
        }
    };
    let activated = state
        .service
        .activate(&tenant, &slot, which, &caller(&principal), started)
        .await?;
    Ok(Json(ActivationResult::new(&state, activated)))
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
    Extension(principal): Extension<Principal>,
) -> Result<Json<ActivationResult>, ApiError> {
    let started = Instant::now();
    state.service.tenant(&tenant)?;
    let (tenant, slot) = (Tenant::new(&tenant)?, Slot::new(&slot)?);
    let activated = state
        .service
        .activate(&tenant, &slot, Which::Back, &caller(&principal), started)
        .await?;
    Ok(Json(ActivationResult::new(&state, activated)))
}

/// Lifts the slot's suspension on this host: its routes take their messages again at once, on the active version.
/// Each host of a fleet keeps its own breaker; the others lift theirs at their next successful probe.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plugins/{slot}/resume", tag = "plugins",
    params(("tenant" = String, Path), ("slot" = String, Path)),
    responses(
        (status = 200, body = SlotView, description = "resumed; the slot as it is now"),
        (status = 404, body = ErrorBody, description = "no such tenant or slot"),
        (status = 409, body = ErrorBody, description = "the slot is not suspended on this host")
    )
)]
async fn resume(
    State(state): State<AppState>,
    Path((tenant, slot)): Path<(String, String)>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<SlotView>, ApiError> {
    state.service.tenant(&tenant)?;
    let (tenant, slot) = (Tenant::new(&tenant)?, Slot::new(&slot)?);
    let report = state
        .service
        .resume(&tenant, &slot, &caller(&principal))
        .await?;
    Ok(Json(SlotView::new(&state, report)))
}
