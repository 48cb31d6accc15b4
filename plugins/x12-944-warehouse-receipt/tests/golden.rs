//! The golden fixture: Riverside 3PL's 944 for what it received of Brightwire's shipment against ACME's order
//! 4500013001 at plant P2 (`riverside-944.x12`, written here from the X12 standard), mapped through the SDK's
//! native harness and compared with `riverside-944.expected.json`, which is what `millwright plugin test`
//! prints for the built component:
//!
//! ```sh
//! millwright plugin test plugins/target/components/x12-944-warehouse-receipt.wasm \
//!     plugins/x12-944-warehouse-receipt/tests/riverside-944.x12 --tenant acme --source riverside-944 \
//!     --now 2024-06-17T20:45:00Z --config timezone=America/New_York --config dock-location=P2-D4 \
//!     --lookup units=examples/quickstart/master-data/units.csv
//! ```
//!
//! Then the receiving clerk's reading of it: per line what came, what may be used, what not and why.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{NOW, canonical_json, counts, fixture, receipts, riverside};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{CanonicalEvent, IdScheme};
use serde_json::Value;
use x12_944_warehouse_receipt::GoodsReceiptMapper;

/// The fixture's events as the host would publish them. `tenant` and `correlation-id` are the host's to set
/// (from the route and the input message), so the envelope carries the ones the runner wrote.
fn mapped(expected: &Value) -> Vec<CanonicalEvent> {
    let mut envelope =
        envelope_from_file(fixture("riverside-944.x12")).expect("the fixture is here");
    envelope.source = "riverside-944".into();
    envelope.tenant = "acme".into();
    envelope.correlation_id = expected[0]["goods-receipt"]["header"]["correlation-id"]
        .as_str()
        .expect("the golden file names a correlation id")
        .to_owned();
    riverside()
        .with_lookup_csv(
            "units",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/quickstart/master-data/units.csv"
            ),
        )
        .expect("the quickstart unit table is in examples/")
        .map::<GoodsReceiptMapper>(envelope)
        .expect("the fixture maps")
}

fn expected() -> Value {
    let path = fixture("riverside-944.expected.json");
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
        "the mapping differs from riverside-944.expected.json:\n{}",
        serde_json::to_string_pretty(&actual).expect("JSON")
    );
}

#[test]
fn the_clerk_sees_each_line_received_accepted_and_rejected_with_the_reason() {
    let all = receipts(mapped(&expected()));
    let lines: Vec<_> = all
        .iter()
        .map(|r| {
            (
                r.receipt_id.as_str(),
                r.order_line.as_deref(),
                r.item.id(&IdScheme::BuyerPart),
                counts(r),
                r.discrepancy_reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "RV-240617-003-1",
                Some("1"),
                Some("FST-M10-40"),
                ("5000", "4800", "200", "H87"),
                Some("damaged product or container (01): 200 H87")
            ),
            // W13 07 (good condition) notes nothing.
            (
                "RV-240617-003-2",
                Some("2"),
                Some("FST-M8-25"),
                ("6000", "6000", "0", "H87"),
                None
            ),
            // Short: W0701 already counts what came, nothing is rejected.
            (
                "RV-240617-003-3",
                Some("3"),
                Some("FST-NUT-M10"),
                ("11500", "11500", "0", "H87"),
                Some("quantity short (02): 500 H87")
            ),
            // Held for inspection: 12.5 lb not accepted, at the scale the warehouse weighed with.
            (
                "RV-240617-003-4",
                Some("5"),
                Some("FST-WSH-M10"),
                ("400.0", "387.5", "12.5", "LBR"),
                Some("hold (09): 12.5 LBR")
            ),
        ]
    );
    let first = &all[0];
    assert_eq!(first.header.id, "x12:RIVERSIDE3PL:000000311:311:0001:1");
    assert_eq!(
        first.header.idempotency_key,
        "RIVERSIDE3PL:000000311:311:0001:1"
    );
    assert_eq!(
        first.order_ref.as_ref().map(|o| o.order_id.as_str()),
        Some("4500013001")
    );
    assert_eq!(first.ship_notice_ref.as_deref(), Some("SHP-BW-240614-01"));
    assert_eq!(
        (first.location.scheme.clone(), first.location.value.as_str()),
        (IdScheme::Internal, "P2-D4"),
        "the 944 names no location: the profile's dock"
    );
    assert_eq!(
        first
            .lots
            .iter()
            .map(|l| l.supplier_lot.as_deref())
            .collect::<Vec<_>>(),
        [Some("B2406-11")]
    );
    assert_eq!(first.item.id(&IdScheme::VendorPart), Some("BW-HB1040-ZP"));
    // W1702 at midnight in New York (EDT), posted when the host mapped it.
    assert_eq!(
        (
            first.received_at.utc.as_str(),
            first.received_at.original_offset_minutes
        ),
        ("2024-06-17T04:00:00Z", Some(-240))
    );
    assert_eq!(first.header.event_time, first.received_at);
    assert_eq!(first.posted_at.utc, NOW);
}
