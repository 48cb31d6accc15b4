//! Why a verb of the service did nothing: one typed error that knows its HTTP status (for the admin API) and
//! its exit code (for the CLI), with a stable snake_case code for scripts and a message a person can act on.

use crate::names::NameError;
use crate::plugin::PluginError;
use crate::registry::RegistryError;

/// What kind of refusal or failure an error is; it decides the HTTP status and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or names something invalid (400).
    Invalid,
    /// The caller may not do this (403).
    Forbidden,
    /// What the request names does not exist (404).
    NotFound,
    /// The request conflicts with the state: taken, active, defined in the file (409).
    Conflict,
    /// The upload is over the host's cap (413).
    TooLarge,
    /// The request is well formed but cannot be done with what it carries: not a component, wrong world (422).
    Unprocessable,
    /// Accepted and stored, but not yet applied on this host (202).
    Pending,
    /// The host cannot do it just now: NATS or storage unavailable (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status the admin API answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::Unprocessable => 422,
            ErrorKind::Pending => 202,
            ErrorKind::Unavailable => 503,
        }
    }

    /// The kind an HTTP status stands for, for the CLI reading the admin API's answer.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            400 => ErrorKind::Invalid,
            401 | 403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::TooLarge,
            422 => ErrorKind::Unprocessable,
            202 => ErrorKind::Pending,
            _ => ErrorKind::Unavailable,
        }
    }

    /// The CLI's exit status: 3 for a request the host refused or could not do, as every CLI command that
    /// fails does; a command's own partial outcomes (a replay of which some ids were not there) use 1.
    pub fn exit_code(self) -> u8 {
        3
    }
}

/// A verb's error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// What kind it is.
    pub kind: ErrorKind,
    /// A stable snake_case code: `not_found`, `wrong_world`, `source_taken` ...
    pub code: &'static str,
    /// What was wrong and what to do.
    pub message: String,
}

impl ServiceError {
    /// An error of `kind` with `code` and `message`.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    /// 400.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    /// 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    /// 422.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, code, message)
    }

    /// 503, with what was being done.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::Unavailable, "unavailable", err.to_string())
    }

    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// The CLI's exit status.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl From<NameError> for ServiceError {
    fn from(err: NameError) -> Self {
        Self::invalid("invalid_name", err.to_string())
    }
}

impl From<RegistryError> for ServiceError {
    fn from(err: RegistryError) -> Self {
        let kind = match &err {
            RegistryError::InvalidName(_) | RegistryError::DigestMismatch { .. } => {
                ErrorKind::Invalid
            }
            RegistryError::NotFound { .. } => ErrorKind::NotFound,
            RegistryError::Ambiguous { .. }
            | RegistryError::ActiveVersion { .. }
            | RegistryError::NothingToRollBack { .. }
            | RegistryError::Conflict { .. } => ErrorKind::Conflict,
            RegistryError::Storage(_) => ErrorKind::Unavailable,
        };
        let message = match &err {
            RegistryError::Storage(inner) => format!("registry storage: {inner:#}"),
            other => other.to_string(),
        };
        Self::new(kind, err.code(), message)
    }
}

impl From<PluginError> for ServiceError {
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
        Self::unprocessable(code, err.to_string())
    }
}

impl From<anyhow::Error> for ServiceError {
    fn from(err: anyhow::Error) -> Self {
        Self::unavailable(format!("{err:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status_and_reads_back_from_it() {
        for kind in [
            ErrorKind::Invalid,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::TooLarge,
            ErrorKind::Unprocessable,
            ErrorKind::Pending,
            ErrorKind::Unavailable,
        ] {
            assert_eq!(ErrorKind::from_http_status(kind.http_status()), kind);
            assert_eq!(kind.exit_code(), 3);
        }
        assert_eq!(ErrorKind::from_http_status(500), ErrorKind::Unavailable);
    }

    #[test]
    fn registry_errors_keep_their_codes() {
        let err = ServiceError::from(RegistryError::NotFound {
            what: "version",
            name: "acme/s@x".into(),
        });
        assert_eq!((err.http_status(), err.code), (404, "not_found"));
        let err = ServiceError::from(crate::names::Tenant::new("a.b").expect_err("invalid"));
        assert_eq!((err.http_status(), err.code), (400, "invalid_name"));
    }
}
