//! The quickstart's X12 856 (read in place from `examples/`), mapped by the reference 856 plugin and rendered
//! for the ERP, through the SDK's native harness. Each test checks what the receiving clerk or the ERP
//! integrator would check in the body: one line per item, quantities as sent with their units, lots, the SSCC
//! each line travels under, the order lines, and the correlation id that leads back to the EDI file.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{body, quickstart_notice, render_one, supplier_profile};
use erp_expected_receipt::ExpectedReceiptRenderer;
use millwright_sdk::OutboundMapper;
use serde_json::{Value, json};

/// The quickstart body as `README.md` documents it, kept beside the tests.
const GOLDEN: &str = include_str!("quickstart-expected-receipt.json");

#[test]
fn the_quickstart_ship_notice_becomes_one_json_expected_receipt_named_after_the_shipment() {
    let notice = quickstart_notice();
    let idempotency_key = notice.header.idempotency_key.clone();
    let document = render_one(&supplier_profile(), notice);
    assert_eq!(document.content_type, "application/json");
    assert_eq!(
        document.file_name.as_deref(),
        Some("expected-receipt-SHP-240611-07.json")
    );
    assert_eq!(
        document.headers,
        [("Idempotency-Key".to_owned(), idempotency_key)]
    );
}

#[test]
fn every_item_of_the_quickstart_is_a_line_with_its_order_line_items_quantity_lots_and_sscc() {
    let receipt = body(&render_one(&supplier_profile(), quickstart_notice()));
    let lines = receipt["lines"].as_array().expect("lines is a list");
    assert_eq!(lines.len(), 3, "two coils on a pallet and one loose carton");

    let summary: Vec<Value> = lines
        .iter()
        .map(|line| {
            json!([
                line["lineNumber"],
                line["orderNumber"],
                line["orderLine"],
                line["buyerItem"],
                line["supplierItem"],
                line["gtin"],
                line["quantity"],
                line["lots"].as_array().map(|lots| lots
                    .iter()
                    .map(|lot| lot["supplierLot"].clone())
                    .collect::<Vec<_>>()),
                line["sscc"],
                line["palletSscc"],
            ])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!([1, "4500012345", "10", "ACME-CS-1008", "AC-1008-060", null,
                   {"value": "920.250", "unit": "LBR"}, ["H24-5531"],
                   "000123450000000024", "000123450000000017"]),
            json!([2, "4500012345", "20", "ACME-CS-1010", "AC-1010-075", null,
                   {"value": "920.250", "unit": "LBR"}, ["H24-5532"],
                   "000123450000000031", "000123450000000017"]),
            json!([3, "4500012377", "1", "ACME-BRKT-22", null, "012345678905",
                   {"value": "48", "unit": "H87"}, [],
                   null, null]),
        ]
    );
    assert!(
        lines
            .iter()
            .all(|line| line["quantity"]["value"].is_string()),
        "quantities are decimal strings, never JSON numbers"
    );
}

#[test]
fn the_header_carries_the_shipment_its_parties_times_carrier_and_correlation_id() {
    let notice = quickstart_notice();
    let correlation_id = notice.header.correlation_id.clone();
    assert!(!correlation_id.is_empty());
    let receipt = body(&render_one(&supplier_profile(), notice));
    assert_eq!(receipt["correlationId"], json!(correlation_id));
    assert_eq!(
        receipt["sourceEventId"],
        "x12:ALLEGHENYCOIL:000000907:907:0001"
    );
    assert_eq!(receipt["shipNoticeId"], "SHP-240611-07");
    assert_eq!(receipt["purpose"], "original");
    assert_eq!(receipt["supplier"]["name"], "ALLEGHENY COIL & STRIP");
    assert_eq!(
        receipt["supplier"]["ids"],
        json!([{"scheme": "duns", "value": "088112233"}])
    );
    assert_eq!(receipt["shipTo"]["name"], "ACME STAMPING PLANT 2");
    // DTM*011 14:15 and DTM*017 07:00 in the partner's zone, Chicago daylight time (UTC-5).
    assert_eq!(receipt["shippedAt"], "2024-06-11T19:15:00Z");
    assert_eq!(receipt["expectedAt"], "2024-06-12T12:00:00Z");
    assert_eq!(receipt["carrier"]["scac"], "ODFL");
    assert_eq!(receipt["billOfLading"], "BOL-88231");
    assert_eq!(receipt["trackingNumber"], "PRO-5521773");
}

#[test]
fn the_receiving_plant_is_the_profiles_erp_plant_and_null_without_one() {
    let with_plant = supplier_profile().with_config("erp-plant", "TOL2");
    let receipt = body(&render_one(&with_plant, quickstart_notice()));
    assert_eq!(receipt["receivingPlant"], "TOL2");

    let receipt = body(&render_one(&supplier_profile(), quickstart_notice()));
    assert_eq!(receipt["receivingPlant"], Value::Null);
}

#[test]
fn the_quickstart_body_is_the_golden_file_key_for_key() {
    let receipt = body(&render_one(
        &supplier_profile().with_config("erp-plant", "TOL2"),
        quickstart_notice(),
    ));
    let golden: Value = serde_json::from_str(GOLDEN).expect("the golden file is JSON");
    assert_eq!(
        receipt,
        golden,
        "rendered:\n{}",
        serde_json::to_string_pretty(&receipt).unwrap_or_default()
    );
}

#[test]
fn rendering_the_same_event_twice_gives_the_same_bytes() {
    let once = render_one(&supplier_profile(), quickstart_notice());
    let twice = render_one(&supplier_profile(), quickstart_notice());
    assert_eq!(once, twice);
}

#[test]
fn describe_names_the_plugin_its_version_and_canonical_ship_notices() {
    let info = ExpectedReceiptRenderer::describe();
    assert_eq!(info.name, "erp-expected-receipt");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.document_types, ["canonical:ship-notice"]);
}
