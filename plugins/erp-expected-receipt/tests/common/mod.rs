//! Helpers shared by the integration tests: the quickstart ship notice, mapped by the reference 856 plugin
//! through the SDK's native harness, and rendering it with this plugin.

#![allow(dead_code)]

use erp_expected_receipt::ExpectedReceiptRenderer;
use millwright_sdk::harness::{Harness, envelope_from_file};
use millwright_sdk::types::{CanonicalEvent, MappingError, OutboundDocument, ShipNotice, Target};
use serde_json::Value;
use x12_856_ship_notice::ShipNoticeMapper;

/// The quickstart's X12 856 from Allegheny Coil, read in place from `examples/`.
pub const QUICKSTART_ASN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/quickstart/documents/allegheny-coil-asn.x12"
);

/// The quickstart's X12 to Rec 20 unit table, read in place.
pub const QUICKSTART_UNITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/quickstart/master-data/units.csv"
);

/// The partner profile and master data `scripts/demo` maps the quickstart 856 with.
pub fn supplier_profile() -> Harness {
    Harness::new()
        .with_config("timezone", "America/Chicago")
        .with_lookup_csv("units", QUICKSTART_UNITS)
        .expect("the quickstart unit table is in examples/")
}

/// The quickstart 856 as the reference inbound plugin maps it: one ship notice.
pub fn quickstart_notice() -> ShipNotice {
    let envelope = envelope_from_file(QUICKSTART_ASN).expect("the quickstart ASN is in examples/");
    let mut events = supplier_profile()
        .map::<ShipNoticeMapper>(envelope)
        .expect("the reference 856 plugin maps the quickstart ASN");
    assert_eq!(events.len(), 1, "the quickstart ASN holds one transaction");
    match events.remove(0) {
        CanonicalEvent::ShipNotice(notice) => notice,
        other => panic!("expected a ship notice, got a {}", other.kind()),
    }
}

/// Renders one event for the ERP target with the given profile.
pub fn render(
    harness: &Harness,
    event: CanonicalEvent,
) -> Result<Vec<OutboundDocument>, MappingError> {
    harness.render::<ExpectedReceiptRenderer>(event, Target::named("erp"))
}

/// Renders a ship notice that must render into exactly one document, and returns it.
pub fn render_one(harness: &Harness, notice: ShipNotice) -> OutboundDocument {
    let mut documents =
        render(harness, CanonicalEvent::ShipNotice(notice)).expect("the ship notice renders");
    assert_eq!(documents.len(), 1, "one ship notice, one expected receipt");
    documents.remove(0)
}

/// A document's payload, parsed as the ERP would parse it.
pub fn body(document: &OutboundDocument) -> Value {
    serde_json::from_slice(&document.payload).expect("the payload is JSON")
}

/// The diagnostic of an `invalid-document` error as `(message, json-path)`; panics on any other class.
pub fn invalid(error: MappingError) -> (String, Option<String>) {
    match error {
        MappingError::InvalidDocument(d) => (d.message, d.at.json_path),
        other => panic!("expected invalid-document, got {other:?}"),
    }
}
