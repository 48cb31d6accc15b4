//! Helpers shared by the integration tests: the fixtures, the profile the MES route runs with, and the
//! events pulled apart the way a planner reads them.

#![allow(dead_code)]

pub mod canonical;

use b2mml_production::ProductionPerformanceMapper;
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, MappingError, MaterialConsumption, ProductionCompletion,
};

/// A fixture beside the tests.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The route's source name, tenant and clock, as the golden files were made:
/// `millwright plugin test ... --tenant acme --source mes-p2 --now 2024-06-11T21:05:00Z`.
pub const SOURCE: &str = "mes-p2";
pub const TENANT: &str = "acme";
pub const NOW: &str = "2024-06-11T21:05:00Z";

/// The MES route's profile: plant P2 is in Chicago's zone.
pub fn mes_profile() -> Harness {
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

/// Maps with the MES profile.
pub fn map(envelope: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    mes_profile().map::<ProductionPerformanceMapper>(envelope)
}

/// The consumptions and completions among the events, in order.
pub fn split(events: &[CanonicalEvent]) -> (Vec<&MaterialConsumption>, Vec<&ProductionCompletion>) {
    let mut consumed = Vec::new();
    let mut produced = Vec::new();
    for event in events {
        match event {
            CanonicalEvent::MaterialConsumption(c) => consumed.push(c),
            CanonicalEvent::ProductionCompletion(p) => produced.push(p),
            other => panic!("unexpected {} event", other.kind()),
        }
    }
    (consumed, produced)
}

/// The diagnostic of an `invalid-document` error; panics on any other class.
pub fn invalid(error: MappingError) -> millwright_sdk::types::Diagnostic {
    match error {
        MappingError::InvalidDocument(d) => d,
        other => panic!("expected invalid-document, got {other:?}"),
    }
}
