//! The API's errors: a status, a stable code and a message a person can act on.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Tenant;
use crate::plugin::PluginError;
use crate::registry::RegistryError;
use crate::serve::Service;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code for scripts, e.g. `not_found`, `not_a_component`, `wrong_world`.
    code: String,
    /// What was wrong and what to do.
    message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "admin API: {}", self.message);
        }
        (
            self.status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code.to_string(),
                    message: self.message,
                },
            }),
        )
            .into_response()
    }
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        let status =
            StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, err.code(), err.to_string())
    }
}

impl From<PluginError> for ApiError {
    fn from(err: PluginError) -> Self {
        let code = match &err {
            PluginError::Empty { .. } => "empty_upload",
            PluginError::NotWasm { .. } => "not_wasm",
            PluginError::CoreModule { .. } => "not_a_component",
            PluginError::Invalid { .. } => "invalid_component",
            PluginError::NotAMapper { .. } => "not_a_mapper",
            PluginError::UnsupportedVersion { .. } => "unsupported_contract",
            PluginError::BothWorlds { .. } => "both_worlds",
            PluginError::Imports { .. } => "unsupported_imports",
            PluginError::Describe { .. } => "describe_failed",
            PluginError::WrongWorld { .. } => "wrong_world",
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.to_string())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{err:#}"),
        )
    }
}

/// The tenant `name` of the host's configuration, or a 404.
pub fn tenant<'a>(service: &'a Service, name: &str) -> Result<&'a Tenant, ApiError> {
    service.config.tenant(name).ok_or_else(|| {
        let known: Vec<&str> = service
            .config
            .tenants
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        ApiError::not_found(
            "tenant_not_found",
            format!(
                "no tenant {name:?} on this host (it serves: {})",
                known.join(", ")
            ),
        )
    })
}
