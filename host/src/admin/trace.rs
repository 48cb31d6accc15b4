//! The trace through the API: a business key's timeline. The handler reads the key, calls the service's one
//! verb, and answers the timeline.

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::errors::{ApiError, ErrorBody};
use crate::trace::Timeline;

pub(super) fn router() -> OpenApiRouter<AppState> {
    // A trace asked without a key is a request to fix, not a path that does not exist.
    OpenApiRouter::new()
        .routes(routes!(show_trace))
        .route("/v1/tenants/{tenant}/trace", axum::routing::get(no_key))
        .route("/v1/tenants/{tenant}/trace/", axum::routing::get(no_key))
}

async fn no_key(State(state): State<AppState>, Path(tenant): Path<String>) -> ApiError {
    match state.service.tenant(&tenant) {
        Ok(_) => ApiError::bad_request(
            "invalid_key",
            "give a key: /trace/po:<order>, shipment:<id>, lot:<lot>, wo:<work order> or a correlation id".to_string(),
        ),
        Err(err) => err.into(),
    }
}

/// A business key's timeline, oldest first: every input, event, output, acknowledgment, dead letter,
/// quarantine, release and alert that touched it. `key` is `po:<order>`, `shipment:<id>`, `lot:<lot>`,
/// `wo:<work order>`, `cid:<correlation id>` or a bare correlation id. A key never seen answers an empty
/// timeline.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/trace/{key}", tag = "trace",
    params(("tenant" = String, Path), ("key" = String, Path, description = "po:4500019921, shipment:SHP-1, lot:B2406-17, wo:WO-1, or a correlation id")),
    responses(
        (status = 200, body = Timeline),
        (status = 400, body = ErrorBody, description = "an empty or malformed key"),
        (status = 404, body = ErrorBody, description = "no such tenant")
    )
)]
async fn show_trace(
    State(state): State<AppState>,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<Json<Timeline>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    Ok(Json(state.service.trace(&tenant, &key).await?))
}
