//! The golden fixture: Brightwire's 855 for ACME's order 4500013001 (`brightwire-855.x12`, written here from the
//! X12 standard), mapped through the SDK's native harness and compared with `brightwire-855.expected.json`,
//! which is what `millwright plugin test` prints for the built component:
//!
//! ```sh
//! millwright plugin test plugins/target/components/x12-855-order-ack.wasm \
//!     plugins/x12-855-order-ack/tests/brightwire-855.x12 --tenant acme --source brightwire-855 \
//!     --now 2024-06-12T15:00:00Z --config timezone=America/Chicago \
//!     --lookup units=examples/quickstart/master-data/units.csv
//! ```
//!
//! Then the buyer's reading of it: every line's status, quantity and promised day.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{brightwire, canonical_json, fixture, only, summary};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{AcknowledgmentStatus, CanonicalEvent, IdScheme, LineStatus};
use serde_json::Value;
use x12_855_order_ack::OrderAcknowledgmentMapper;

fn brightwire_with_units() -> millwright_sdk::harness::Harness {
    brightwire()
        .with_lookup_csv(
            "units",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/quickstart/master-data/units.csv"
            ),
        )
        .expect("the quickstart unit table is in examples/")
}

/// The fixture's events as the host would publish them. `tenant` and `correlation-id` are the host's to set
/// (from the route and the input message), so the envelope carries the ones the runner wrote.
fn mapped(expected: &Value) -> Vec<CanonicalEvent> {
    let mut envelope =
        envelope_from_file(fixture("brightwire-855.x12")).expect("the fixture is here");
    envelope.source = "brightwire-855".into();
    envelope.tenant = "acme".into();
    envelope.correlation_id = expected[0]["order-acknowledgment"]["header"]["correlation-id"]
        .as_str()
        .expect("the golden file names a correlation id")
        .to_owned();
    brightwire_with_units()
        .map::<OrderAcknowledgmentMapper>(envelope)
        .expect("the fixture maps")
}

fn expected() -> Value {
    let path = fixture("brightwire-855.expected.json");
    serde_json::from_slice(&std::fs::read(&path).expect("the golden file is beside the fixture"))
        .expect("the golden file is JSON")
}

#[test]
fn the_fixture_maps_to_the_canonical_json_in_the_golden_file() {
    let expected = expected();
    let actual = Value::Array(mapped(&expected).iter().map(canonical_json).collect());
    assert_eq!(
        actual,
        expected,
        "the mapping differs from brightwire-855.expected.json:\n{}",
        serde_json::to_string_pretty(&actual).expect("JSON")
    );
}

#[test]
fn the_buyer_sees_each_line_answered_as_brightwire_wrote_it() {
    let ack = only(mapped(&expected()));
    assert_eq!(ack.order_id, "4500013001");
    assert_eq!(
        ack.status,
        AcknowledgmentStatus::AcceptedWithChanges,
        "BAK02 AC"
    );
    assert_eq!(ack.header.id, "x12:BRIGHTWIRE:000004711:4711:0001");
    assert_eq!(ack.header.idempotency_key, "BRIGHTWIRE:000004711:4711:0001");
    // BAK09, the acknowledgment's own date, at midnight in Chicago (CDT).
    assert_eq!(
        (
            ack.header.event_time.utc.as_str(),
            ack.header.event_time.original_offset_minutes
        ),
        ("2024-06-12T05:00:00Z", Some(-300))
    );
    use LineStatus::*;
    assert_eq!(
        summary(&ack),
        [
            (
                "1",
                Some("FST-M10-40"),
                "5000",
                "H87",
                Accepted,
                Some("2024-06-17")
            ),
            // One PO1, two ACKs: 6000 ship on the 17th, 2000 are back-ordered to 1 July.
            (
                "2",
                Some("FST-M8-25"),
                "6000",
                "H87",
                Accepted,
                Some("2024-06-17")
            ),
            (
                "2",
                Some("FST-M8-25"),
                "2000",
                "H87",
                BackOrdered,
                Some("2024-07-01")
            ),
            // IQ: 12000 instead of 10000 (Brightwire ships full boxes).
            (
                "3",
                Some("FST-NUT-M10"),
                "12000",
                "H87",
                Changed,
                Some("2024-06-17")
            ),
            // IR: no promise, not even the header's.
            ("4", Some("FST-M12-60"), "0", "H87", Rejected, None),
            // No ACK under BAK02 AC: accepted as ordered, in pounds, on the header's ship date.
            (
                "5",
                Some("FST-WSH-M10"),
                "400",
                "LBR",
                Accepted,
                Some("2024-06-17")
            ),
            // DR with qualifier 067: the delivery date moved.
            (
                "6",
                Some("FST-M10-30"),
                "1000",
                "H87",
                Changed,
                Some("2024-06-24")
            ),
        ]
    );
    let first = &ack.lines[0].item;
    assert_eq!(first.id(&IdScheme::VendorPart), Some("BW-HB1040-ZP"));
    assert_eq!(
        first.description.as_deref(),
        Some("HEX BOLT M10X40 8.8 ZINC")
    );
}
