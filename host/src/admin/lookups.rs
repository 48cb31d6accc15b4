//! Master data: list a tenant's tables, show one (or one row), load a new version from CSV, roll back. Each
//! handler reads the request, calls one verb of the service, and writes its answer as the views below.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::errors::{ApiError, ErrorBody};
use super::{AppState, caller};
use crate::access::Principal;
use crate::bus::lookups::{ChangeKind, VersionInfo};
use crate::names::TableName;
use crate::service::lookups::{MAX_TABLE_BYTES, TableState};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_lookups))
        .routes(routes!(show_lookup, load_lookup))
        .routes(routes!(rollback_lookup))
}

/// One stored version of a table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TableVersionView {
    /// Counts from 1 per table.
    pub version: u64,
    /// The sha256 of the version's normalised CSV.
    pub sha256: String,
    /// How many rows.
    pub rows: usize,
    /// When it was loaded (RFC 3339).
    pub loaded_at: String,
    /// Who loaded it: `platform-admin`, or `config <file>` for a table seeded from the configuration.
    pub loaded_by: Option<String>,
}

impl From<VersionInfo> for TableVersionView {
    fn from(v: VersionInfo) -> Self {
        Self {
            version: v.version,
            sha256: v.sha256,
            rows: v.rows,
            loaded_at: v.loaded_at.to_string(),
            loaded_by: v.loaded_by,
        }
    }
}

/// A master-data table: its current version, the previous one (what a rollback goes back to), and the version
/// this host's plugins use.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TableView {
    /// The table's name, as plugins look it up.
    pub table: String,
    /// The current version.
    pub version: u64,
    /// Its row count.
    pub rows: usize,
    /// The sha256 of its normalised CSV.
    pub sha256: String,
    /// When it was loaded (RFC 3339).
    pub loaded_at: String,
    /// Who loaded it.
    pub loaded_by: Option<String>,
    /// The version before it, kept for a rollback.
    pub previous: Option<TableVersionView>,
    /// What last moved the table: `seed`, `load` or `rollback`.
    pub change: String,
    /// When (RFC 3339).
    pub changed_at: String,
    /// The version this host's plugin calls see now (the current one, moments after a change on another
    /// host); `null` when this host has not read the table.
    pub in_use_here: Option<u64>,
}

impl From<TableState> for TableView {
    fn from(state: TableState) -> Self {
        let pointer = state.pointer;
        let change = match pointer.change {
            ChangeKind::Seed => "seed",
            ChangeKind::Load => "load",
            ChangeKind::Rollback => "rollback",
        };
        Self {
            table: state.table.to_string(),
            version: pointer.current.version,
            rows: pointer.current.rows,
            sha256: pointer.current.sha256,
            loaded_at: pointer.current.loaded_at.to_string(),
            loaded_by: pointer.current.loaded_by,
            previous: pointer.previous.map(TableVersionView::from),
            change: change.to_string(),
            changed_at: pointer.changed_at.to_string(),
            in_use_here: state.in_use_here,
        }
    }
}

/// One row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowView {
    /// The key a plugin looks up.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// A table with its rows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TableContents {
    /// The table.
    #[serde(flatten)]
    pub table: TableView,
    /// The header row's two column names.
    pub columns: Vec<String>,
    /// The rows, in the order they were loaded (only the asked one, with `?key=`).
    pub entries: Vec<RowView>,
}

/// What a load did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoadResult {
    /// False when the current version already held exactly these rows (nothing was written).
    pub created: bool,
    /// The table after the load.
    #[serde(flatten)]
    pub table: TableView,
}

/// One row instead of the whole table.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RowQuery {
    /// Only this key's row; 404 naming the key when the table has none.
    key: Option<String>,
}

/// The tenant's master-data tables.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/lookups", tag = "lookups",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<TableView>), (status = 404, body = ErrorBody, description = "no such tenant"))
)]
async fn list_lookups(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<TableView>>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let tables = state.service.lookup_tables(&tenant).await?;
    Ok(Json(tables.into_iter().map(TableView::from).collect()))
}

/// One table with its rows, as its current version holds them; with `key`, that row only.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/lookups/{table}", tag = "lookups",
    params(("tenant" = String, Path), ("table" = String, Path), RowQuery),
    responses(
        (status = 200, body = TableContents),
        (status = 400, body = ErrorBody, description = "not a table's name"),
        (status = 404, body = ErrorBody, description = "no such tenant, table or key")
    )
)]
async fn show_lookup(
    State(state): State<AppState>,
    Path((tenant, table)): Path<(String, String)>,
    query: Result<Query<RowQuery>, QueryRejection>,
) -> Result<Json<TableContents>, ApiError> {
    let Query(query) =
        query.map_err(|err| ApiError::bad_request("invalid_query", err.body_text()))?;
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let table = state
        .service
        .lookup_table(&tenant, &table, query.key.as_deref())
        .await?;
    Ok(Json(TableContents {
        table: TableView::from(table.state),
        columns: table.columns.to_vec(),
        entries: table
            .rows
            .into_iter()
            .map(|(key, value)| RowView { key, value })
            .collect(),
    }))
}

/// Whether a request's content type says CSV: `text/csv` (what the API documents), `application/csv` or
/// `text/plain`, or none at all.
fn says_csv(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let given = value.to_str().unwrap_or_default();
    let essence = given
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if matches!(
        essence.as_str(),
        "text/csv" | "application/csv" | "text/plain"
    ) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "a lookup table is sent as CSV with `Content-Type: text/csv` (a header row, then key,value rows), not {:?}",
                given.chars().take(100).collect::<String>()
            ),
        ))
    }
}

/// Reads a table's body, keeping at most [`MAX_TABLE_BYTES`]. A larger body is read on a little (so the client
/// gets the answer rather than a connection closed under it) and refused with 413.
async fn read_table(body: Body) -> Result<Vec<u8>, ApiError> {
    let too_large = |received: usize| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the table is over {received} bytes; a lookup table is at most {MAX_TABLE_BYTES} bytes of CSV"
            ),
        )
    };
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::bad_request("bad_body", format!("reading the request body: {err}"))
        })?;
        received += chunk.len();
        if received <= MAX_TABLE_BYTES {
            bytes.extend_from_slice(&chunk);
        } else if received > MAX_TABLE_BYTES.saturating_mul(4) {
            // Far beyond the cap: stop reading; the connection closes with the answer.
            return Err(too_large(received));
        }
    }
    if received > MAX_TABLE_BYTES {
        return Err(too_large(received));
    }
    Ok(bytes)
}

/// Replaces the table with the CSV body as a new version (the one before is kept for a rollback). The body is a
/// header row, then `key,value` rows; spaces around a field are trimmed. It is checked whole first: bytes that
/// are not UTF-8, a control character in a field, a row of another number of columns, an empty key, a key
/// given twice, no rows at all, or more than 16 MiB are refused (naming the line), and the stored table is
/// unchanged. The new version is in use on this host when the answer comes, and on every other host moments
/// later; parked dead letters waiting for the table are replayed.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/lookups/{table}", tag = "lookups",
    params(("tenant" = String, Path), ("table" = String, Path, description = "1 to 64 letters, digits, '-' or '_'")),
    request_body(content = String, content_type = "text/csv", description = "a header row, then key,value rows"),
    responses(
        (status = 201, body = LoadResult, description = "a new version, now current"),
        (status = 200, body = LoadResult, description = "the current version already holds these rows"),
        (status = 400, body = ErrorBody, description = "not a table: the code says what (not_utf8, not_csv, bad_header, wrong_columns, empty_key, duplicate_key, empty_table, invalid_name), the message where"),
        (status = 404, body = ErrorBody, description = "no such tenant"),
        (status = 413, body = ErrorBody, description = "over 16 MiB"),
        (status = 415, body = ErrorBody, description = "not sent as text/csv")
    )
)]
async fn load_lookup(
    State(state): State<AppState>,
    Path((tenant, table)): Path<(String, String)>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<LoadResult>), ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    TableName::new(&table)?;
    says_csv(&headers)?;
    let body = read_table(body).await?;
    let loaded = state
        .service
        .load_lookup(&tenant, &table, &body, &caller(&principal))
        .await?;
    let status = if loaded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(LoadResult {
            created: loaded.created,
            table: TableView::from(loaded.state),
        }),
    ))
}

/// Makes the previous version current again, on every host; the version it replaces becomes the previous one,
/// so a second rollback goes forward again.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/lookups/{table}/rollback", tag = "lookups",
    params(("tenant" = String, Path), ("table" = String, Path)),
    responses(
        (status = 200, body = TableView),
        (status = 400, body = ErrorBody, description = "not a table's name"),
        (status = 404, body = ErrorBody, description = "no such tenant or table"),
        (status = 409, body = ErrorBody, description = "the table has no previous version, or changed meanwhile")
    )
)]
async fn rollback_lookup(
    State(state): State<AppState>,
    Path((tenant, table)): Path<(String, String)>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<TableView>, ApiError> {
    let tenant = state.service.tenant(&tenant)?.name.clone();
    let rolled = state
        .service
        .rollback_lookup(&tenant, &table, &caller(&principal))
        .await?;
    Ok(Json(TableView::from(rolled)))
}
