//! Helpers shared by the integration tests: the fixtures, the ERP route's profile, and the diagnostics.

#![allow(dead_code)]

#[path = "../../../b2mml-production/tests/common/canonical.rs"]
pub mod canonical;
pub mod garble;

use erp_orders_json::ErpOrdersMapper;
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{CanonicalEvent, Diagnostic, Envelope, MappingError};

/// A fixture beside the tests.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// How the golden files were made: `millwright plugin test ... --tenant acme --source erp-orders
/// --now 2024-06-11T21:05:00Z --config timezone=Europe/Berlin --config "buyer-name=ACME Brakes, Plant 2"`.
pub const SOURCE: &str = "erp-orders";
pub const TENANT: &str = "acme";
pub const NOW: &str = "2024-06-11T21:05:00Z";

/// The ERP route's profile.
pub fn erp_profile() -> Harness {
    Harness::new()
        .with_config("timezone", "Europe/Berlin")
        .with_config("buyer-name", "ACME Brakes, Plant 2")
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

/// Maps with the ERP profile.
pub fn map(envelope: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    erp_profile().map::<ErpOrdersMapper>(envelope)
}

/// Maps JSON text made in a test.
pub fn map_json(json: &str) -> Result<Vec<CanonicalEvent>, MappingError> {
    map(envelope_of(json.as_bytes().to_vec()))
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
