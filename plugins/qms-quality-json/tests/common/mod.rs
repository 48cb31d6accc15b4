//! Helpers shared by the integration tests: the fixtures, the QMS route's profile, and the diagnostics.

#![allow(dead_code)]

#[path = "../../../b2mml-production/tests/common/canonical.rs"]
pub mod canonical;
#[path = "../../../erp-orders-json/tests/common/garble.rs"]
pub mod garble;

use millwright_sdk::harness::Harness;
use millwright_sdk::types::{CanonicalEvent, Diagnostic, Envelope, MappingError, QualityHold};
use qms_quality_json::QualityHoldMapper;

/// A fixture beside the tests.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// How the golden files were made: `millwright plugin test ... --tenant acme --source qms
/// --now 2024-06-12T21:00:00Z --config timezone=America/Chicago`.
pub const SOURCE: &str = "qms";
pub const TENANT: &str = "acme";
pub const NOW: &str = "2024-06-12T21:00:00Z";

/// The QMS route's profile.
pub fn qms_profile() -> Harness {
    Harness::new()
        .with_config("timezone", "America/Chicago")
        .with_now(NOW)
}

/// A fixture's envelope as the host builds it.
pub fn envelope(name: &str) -> Envelope {
    canonical::host_envelope(&fixture(name), SOURCE, TENANT, NOW)
}

/// An envelope around bytes made in a test.
pub fn envelope_of(payload: impl Into<Vec<u8>>) -> Envelope {
    let mut envelope = Envelope::for_bytes(SOURCE, payload);
    envelope.tenant = TENANT.to_owned();
    envelope
}

/// Maps with the QMS profile.
pub fn map(envelope: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    qms_profile().map::<QualityHoldMapper>(envelope)
}

/// Maps JSON text made in a test.
pub fn map_json(json: &str) -> Result<Vec<CanonicalEvent>, MappingError> {
    map(envelope_of(json.as_bytes().to_vec()))
}

/// The holds among the events; panics on anything else.
pub fn holds(events: Vec<CanonicalEvent>) -> Vec<QualityHold> {
    events
        .into_iter()
        .map(|e| match e {
            CanonicalEvent::QualityHold(h) => h,
            other => panic!("expected quality holds only, got {}", other.kind()),
        })
        .collect()
}

/// The diagnostic of an `invalid-document` error; panics on any other class.
pub fn invalid(error: MappingError) -> Diagnostic {
    match error {
        MappingError::InvalidDocument(d) => d,
        other => panic!("expected invalid-document, got {other:?}"),
    }
}

/// The JSON path of a diagnostic.
pub fn path(d: &Diagnostic) -> &str {
    d.at.json_path.as_deref().unwrap_or("<none>")
}
