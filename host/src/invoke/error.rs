//! Why a message produced no output, and what the host does about it.
//!
//! Every failure of a message, wherever it happens — a check before the plugin runs, the plugin's own
//! `mapping-error`, a trap, a publish the server refuses, an HTTP target that answers 500 — has one
//! [`FailureClass`]. The class is what dead letters carry in `Mw-Error-Class`, what metrics count, and what
//! decides the [`Action`]: dead-letter at once, park, or retry and then dead-letter.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use wasmtime::{Store, Trap};

use crate::canonical::kebab;
use crate::host_api::HostState;
use crate::host_api::bindings::millwright::adapter::types;

/// What the pipeline does with an input that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Dead-letter at once; retrying cannot help.
    DeadLetter,
    /// Dead-letter as parked: replay once the tenant's master data is fixed.
    Park,
    /// Retry with backoff; dead-letter after the route's `max_attempts`.
    Retry,
    /// Keep it waiting, unacknowledged, without counting an attempt: its slot is suspended.
    Hold,
}

macro_rules! failure_classes {
    ($($(#[$doc:meta])* $case:ident => $name:literal, $action:ident;)*) => {
        /// Every way a message can fail. The WIT names of the plugin's `mapping-error` cases come first.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum FailureClass {
            $($(#[$doc])* $case,)*
        }

        impl FailureClass {
            /// Every class, in a stable order.
            pub const ALL: &[FailureClass] = &[$(FailureClass::$case,)*];

            /// The name dead letters carry in `Mw-Error-Class`: `invalid-document`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FailureClass::$case => $name,)*
                }
            }

            /// What the host does with an input that failed this way.
            pub fn action(self) -> Action {
                match self {
                    $(FailureClass::$case => Action::$action,)*
                }
            }
        }
    };
}

failure_classes! {
    /// The plugin says the document is wrong and will stay wrong.
    InvalidDocument => "invalid-document", DeadLetter;
    /// The plugin says master data is missing: parked until it is loaded.
    UnknownReference => "unknown-reference", Park;
    /// The plugin asked to be tried again later.
    Transient => "transient", Retry;
    /// The plugin ran past its deadline (it may be the input, or a slow moment).
    Deadline => "deadline", Retry;
    /// The plugin trapped: a panic, an out-of-bounds access, a stack overflow.
    Trap => "trap", Retry;
    /// The plugin tried to grow its memory past the route's cap.
    MemoryLimit => "memory-limit", Retry;
    /// The plugin returned more events or bytes than its limits allow.
    OutputLimit => "output-limit", DeadLetter;
    /// The plugin returned something the host cannot use (a control character in a canonical string ...).
    BadOutput => "bad-output", DeadLetter;
    /// The host could not run the plugin; not the plugin's fault.
    Host => "host", Retry;
    /// The message had no payload.
    EmptyPayload => "empty-payload", DeadLetter;
    /// The payload is over the route's `max_payload_bytes`.
    PayloadTooLarge => "payload-too-large", DeadLetter;
    /// The route takes text and the payload is not UTF-8.
    NotText => "not-text", DeadLetter;
    /// The message is not what the route reads (an event that is not JSON, a payload reference into another
    /// tenant's bucket).
    BadInput => "bad-input", DeadLetter;
    /// An X12 interchange whose sender and ISA13 another input brought within the route's duplicate window.
    DuplicateInterchange => "duplicate-interchange", DeadLetter;
    /// A payload kept in the tenant's bucket could not be read just now.
    PayloadUnavailable => "payload-unavailable", Retry;
    /// An output with its headers is over the server's `max_payload`.
    OutputTooLarge => "output-too-large", DeadLetter;
    /// The server will never take an output: a subject it denies, a stream limit the message alone breaks.
    PublishRefused => "publish-refused", DeadLetter;
    /// Publishing timed out, found no stream, or lost the connection.
    PublishFailed => "publish-failed", Retry;
    /// An HTTP target was unreachable, timed out, or answered 408, 429 or 5xx.
    DeliveryFailed => "delivery-failed", Retry;
    /// An HTTP target answered another 4xx.
    DeliveryRejected => "delivery-rejected", DeadLetter;
    /// A document for a source no route takes.
    NoRoute => "no-route", DeadLetter;
    /// The slot's version failed too often in a row and is suspended: the message waits in the stream.
    Suspended => "suspended", Hold;
}

impl std::fmt::Display for FailureClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a plugin call produced no output.
#[derive(Debug, Error)]
pub enum InvokeError {
    /// The plugin rejected the input with a `mapping-error`.
    #[error("{}: {}", class.as_str(), diagnostic_text(diagnostic))]
    Mapping {
        /// Which kind of error: `invalid-document`, `unknown-reference` or `transient`.
        class: FailureClass,
        /// The plugin's located diagnostic, as canonical JSON (`message`, `at`, `code`).
        diagnostic: Value,
    },
    /// The plugin ran past its deadline.
    #[error("the plugin ran past its deadline of {0:?}")]
    Deadline(Duration),
    /// The plugin tried to grow its memory past its cap.
    #[error("the plugin reached its memory cap of {} (it asked for {} bytes)", mebibytes(*cap), asked)]
    MemoryLimit {
        /// The cap, in bytes.
        cap: usize,
        /// The memory size the plugin asked to grow to.
        asked: usize,
    },
    /// The plugin trapped (a panic, an out-of-bounds access, a stack overflow).
    #[error("the plugin trapped: {trap}{}", stderr.as_ref().map(|s| format!("; it wrote: {s}")).unwrap_or_default())]
    Trap {
        /// wasmtime's description of the trap.
        trap: String,
        /// What the plugin wrote to stderr before it trapped (a panic message), one line, escaped.
        stderr: Option<String>,
    },
    /// The plugin returned more than its limits allow.
    #[error("the plugin's output is over its limit: {0}")]
    OutputLimit(String),
    /// The plugin returned something the host cannot use.
    #[error("the plugin returned an unusable result: {0}")]
    BadOutput(String),
    /// The input is not what the plugin takes (an event that is not canonical JSON of its contract).
    #[error("the input is not what the plugin takes: {0}")]
    BadInput(String),
    /// The host could not set up the call; not the plugin's fault.
    #[error("the host could not run the plugin: {0}")]
    Host(String),
    /// The slot is suspended: the plugin was not called (see [`crate::pipeline::breaker`]).
    #[error("{0}")]
    Suspended(String),
}

/// A size in bytes as people say it: `128 MiB`, or the bytes when it is not whole mebibytes.
pub fn mebibytes(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

impl InvokeError {
    /// The failure's class.
    pub fn class(&self) -> FailureClass {
        match self {
            InvokeError::Mapping { class, .. } => *class,
            InvokeError::Deadline(_) => FailureClass::Deadline,
            InvokeError::MemoryLimit { .. } => FailureClass::MemoryLimit,
            InvokeError::Trap { .. } => FailureClass::Trap,
            InvokeError::OutputLimit(_) => FailureClass::OutputLimit,
            InvokeError::BadOutput(_) => FailureClass::BadOutput,
            InvokeError::BadInput(_) => FailureClass::BadInput,
            InvokeError::Host(_) => FailureClass::Host,
            InvokeError::Suspended(_) => FailureClass::Suspended,
        }
    }

    /// What to do with the input.
    pub fn action(&self) -> Action {
        self.class().action()
    }

    /// The plugin's located diagnostic, when it gave one.
    pub fn diagnostic(&self) -> Option<&Value> {
        match self {
            InvokeError::Mapping { diagnostic, .. } => Some(diagnostic),
            _ => None,
        }
    }
}

/// A diagnostic as one sentence: its message, its code and where it is.
pub fn diagnostic_text(diagnostic: &Value) -> String {
    let message = diagnostic["message"].as_str().unwrap_or("(no message)");
    let at = &diagnostic["at"];
    let mut place = Vec::new();
    if let Some(t) = at["transaction"].as_str() {
        place.push(format!("transaction {t}"));
    }
    match (at["segment-id"].as_str(), at["segment-index"].as_u64()) {
        (Some(id), Some(i)) => place.push(format!("segment {id} #{i}")),
        (Some(id), None) => place.push(format!("segment {id}")),
        (None, Some(i)) => place.push(format!("segment #{i}")),
        (None, None) => {}
    }
    if let Some(e) = at["element"].as_u64() {
        // Line-oriented formats (CSV) number their fields as columns; EDI numbers elements within a segment.
        if at["line"].is_u64() && at["segment-id"].is_null() {
            place.push(format!("column {e}"));
        } else {
            place.push(format!("element {e:02}"));
        }
    }
    if let Some(c) = at["component"].as_u64() {
        place.push(format!("component {c}"));
    }
    if let Some(l) = at["line"].as_u64() {
        place.push(format!("line {l}"));
    }
    if let Some(p) = at["json-path"].as_str() {
        place.push(p.to_string());
    }
    if let Some(o) = at["byte-offset"].as_u64() {
        place.push(format!("byte {o}"));
    }
    let code = diagnostic["code"]
        .as_str()
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default();
    if place.is_empty() {
        format!("{message}{code}")
    } else {
        format!("{message}{code} (at {})", place.join(", "))
    }
}

/// A failed call, from wasmtime's error: a deadline when the epoch interrupted it, the memory cap when the
/// store's limiter refused a growth, else a trap (a stack overflow named as one) with what the plugin wrote to
/// stderr.
pub(super) fn classify_trap(
    err: wasmtime::Error,
    store: &mut Store<HostState>,
    deadline: Duration,
) -> InvokeError {
    if let Some(trap) = err.downcast_ref::<Trap>()
        && *trap == Trap::Interrupt
    {
        return InvokeError::Deadline(deadline);
    }
    if let Some(asked) = store.data_mut().limits.take_refused() {
        let _ = store.data_mut().take_stderr();
        return InvokeError::MemoryLimit {
            cap: store.data().limits.memory_cap(),
            asked,
        };
    }
    let trap = err.downcast_ref::<Trap>().map(|trap| match trap {
        Trap::StackOverflow => {
            "stack overflow: the call stack is exhausted (recursion too deep)".to_string()
        }
        other => other.to_string(),
    });
    let stderr = store.data_mut().take_stderr();
    InvokeError::Trap {
        trap: trap.unwrap_or_else(|| format!("{err:#}")),
        stderr,
    }
}

/// The plugin's `mapping-error`, as the host acts on it.
pub(super) fn mapping_error(err: types::MappingError) -> InvokeError {
    let (class, diagnostic) = match err {
        types::MappingError::InvalidDocument(d) => (FailureClass::InvalidDocument, d),
        types::MappingError::UnknownReference(d) => (FailureClass::UnknownReference, d),
        types::MappingError::Transient(d) => (FailureClass::Transient, d),
    };
    match kebab::serialize(&diagnostic, serde_json::value::Serializer) {
        Ok(diagnostic) => InvokeError::Mapping { class, diagnostic },
        Err(e) => InvokeError::BadOutput(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_class_has_a_distinct_name_and_the_plugins_three_come_first() {
        let names: std::collections::HashSet<&str> =
            FailureClass::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), FailureClass::ALL.len());
        assert_eq!(
            &FailureClass::ALL[..3],
            &[
                FailureClass::InvalidDocument,
                FailureClass::UnknownReference,
                FailureClass::Transient
            ]
        );
        // The serde name is the header's.
        for class in FailureClass::ALL {
            assert_eq!(
                serde_json::to_value(class).expect("serializes"),
                json!(class.as_str())
            );
        }
    }

    #[test]
    fn the_class_decides_what_happens_to_the_input() {
        assert_eq!(FailureClass::InvalidDocument.action(), Action::DeadLetter);
        assert_eq!(FailureClass::UnknownReference.action(), Action::Park);
        for retried in [
            FailureClass::Transient,
            FailureClass::Trap,
            FailureClass::Deadline,
            FailureClass::PublishFailed,
            FailureClass::DeliveryFailed,
        ] {
            assert_eq!(retried.action(), Action::Retry, "{retried}");
        }
        for dead in [
            FailureClass::OutputTooLarge,
            FailureClass::PublishRefused,
            FailureClass::BadOutput,
            FailureClass::NoRoute,
        ] {
            assert_eq!(dead.action(), Action::DeadLetter, "{dead}");
        }
    }

    #[test]
    fn a_diagnostic_reads_as_one_located_sentence() {
        let x12 = json!({
            "message": "SN1-03 unit ZZ is not known",
            "code": "unknown-unit",
            "at": {"transaction": "0001", "segment-id": "SN1", "segment-index": 27, "element": 3, "byte-offset": 812}
        });
        assert_eq!(
            diagnostic_text(&x12),
            "SN1-03 unit ZZ is not known [unknown-unit] (at transaction 0001, segment SN1 #27, element 03, byte 812)"
        );
        let csv = json!({"message": "quantity is negative", "at": {"line": 4, "element": 6}});
        assert_eq!(
            diagnostic_text(&csv),
            "quantity is negative (at column 6, line 4)"
        );
        let json_path =
            json!({"message": "not a number", "at": {"json-path": "$.lines[3].quantity"}});
        assert_eq!(
            diagnostic_text(&json_path),
            "not a number (at $.lines[3].quantity)"
        );
        assert_eq!(diagnostic_text(&json!({})), "(no message)");
    }
}
