//! Canonical stock events rendered for the ERP, as the ERP integrator and the plant's inventory controller
//! would check the material documents: movement type, plant and storage location, batch, quantity as a
//! decimal string in the ERP's unit, the order referred to; and key for key against the documents the host
//! rendered from the same events (`tests/*.expected.json`).

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use b2mml_production::ProductionPerformanceMapper;
use common::{body, canonical, erp_profile, events, fixture, golden, golden_form, render};
use erp_inventory_posting::InventoryPostingRenderer;
use millwright_sdk::OutboundMapper;
use millwright_sdk::harness::Harness;
use millwright_sdk::types::CanonicalEvent;
use serde_json::{Value, json};

fn rendered(events: Vec<CanonicalEvent>) -> Value {
    let harness = erp_profile();
    Value::Array(
        events
            .into_iter()
            .flat_map(|e| render(&harness, e).expect("renders"))
            .map(|d| golden_form(&d))
            .collect(),
    )
}

fn assert_golden(input: &str, expected: &str) {
    let actual = rendered(events(input));
    assert_eq!(
        actual,
        golden(expected),
        "{input} differs from {expected}; rendered:\n{}",
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
}

#[test]
fn the_brightwire_receipt_is_the_golden_file_key_for_key() {
    assert_golden(
        "goods-receipt-4500019921.json",
        "goods-receipt-4500019921.expected.json",
    );
}

#[test]
fn the_warehouse_movements_are_the_golden_file_key_for_key() {
    assert_golden("movements.json", "movements.expected.json");
}

/// The B2MML shift report, mapped by the reference inbound plugin exactly as the host maps it, then posted.
#[test]
fn the_mes_shift_report_posts_as_the_golden_file_key_for_key() {
    let envelope = canonical::host_envelope(
        &format!(
            "{}/../b2mml-production/tests/wo-240611-01.xml",
            env!("CARGO_MANIFEST_DIR")
        ),
        "mes-p2",
        "acme",
        "2024-06-11T21:05:00Z",
    );
    let events = Harness::new()
        .with_config("timezone", "America/Chicago")
        .map::<ProductionPerformanceMapper>(envelope)
        .expect("the reference B2MML plugin maps its fixture");
    assert_eq!(rendered(events), golden("wo-240611-01.expected.json"));
    // The same events, read from the canonical JSON the host published for them.
    let published = fixture("../../b2mml-production/tests/wo-240611-01.expected.json");
    let text = std::fs::read_to_string(published).expect("the B2MML golden file");
    let list: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    let read: Vec<CanonicalEvent> = list
        .iter()
        .map(|v| canonical::read_event(v).expect("canonical"))
        .collect();
    assert_eq!(rendered(read), golden("wo-240611-01.expected.json"));
}

#[test]
fn accepted_goods_go_to_unrestricted_and_rejected_to_blocked_stock_against_the_order_line() {
    let receipt = body(
        &erp_profile(),
        events("goods-receipt-4500019921.json").remove(0),
    );
    assert_eq!(receipt["GoodsMovementCode"], "01");
    assert_eq!(
        receipt["ReferenceDocument"], "BW-ASN-88412",
        "the delivery note"
    );
    // Posted at 09:05 in Chicago on the 12th.
    assert_eq!(receipt["PostingDate"], "2024-06-12");
    let items: Vec<Value> = receipt["to_MaterialDocumentItem"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            json!([
                i["GoodsMovementType"],
                i["InventoryStockType"],
                i["Material"],
                i["Plant"],
                i["StorageLocation"],
                i["Batch"],
                i["QuantityInEntryUnit"],
                i["EntryUnit"],
                i["PurchaseOrder"],
                i["PurchaseOrderItem"]
            ])
        })
        .collect();
    assert_eq!(
        items,
        [
            json!([
                "101",
                "01",
                "FST-M10-40",
                "P2",
                "D4",
                "BW-240528-113",
                "2950",
                "EA",
                "4500019921",
                "10"
            ]),
            json!([
                "101",
                "07",
                "FST-M10-40",
                "P2",
                "D4",
                "BW-240528-113",
                "50",
                "EA",
                "4500019921",
                "10"
            ]),
        ]
    );
}

#[test]
fn consumption_is_issued_to_the_work_order_and_good_output_received_from_it() {
    let bodies: Vec<Value> = events("../../b2mml-production/tests/wo-240611-01.expected.json")
        .into_iter()
        .map(|e| body(&erp_profile(), e))
        .collect();
    let summary: Vec<Value> = bodies
        .iter()
        .map(|b| {
            let i = &b["to_MaterialDocumentItem"][0];
            json!([
                b["GoodsMovementCode"],
                i["GoodsMovementType"],
                i["ManufacturingOrder"],
                i["Material"],
                i["Batch"],
                i["QuantityInEntryUnit"],
                i["EntryUnit"],
                i["StorageLocation"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!([
                "03",
                "261",
                "WO-240611-01",
                "COIL-S355-2MM",
                "RS-240603-4471",
                "412.500",
                "KG",
                "PRESS-2"
            ]),
            json!([
                "03",
                "261",
                "WO-240611-01",
                "BRK-ROTOR-330",
                "L240610-R07",
                "120",
                "EA",
                "L3"
            ]),
            json!([
                "03",
                "261",
                "WO-240611-01",
                "FST-M10-40",
                "BW-240528-113",
                "480",
                "EA",
                "L3"
            ]),
            json!([
                "03",
                "261",
                "WO-240611-01",
                "LUB-GREASE-HT",
                null,
                "0.850",
                "KG",
                "L3"
            ]),
            json!([
                "02",
                "101",
                "WO-240611-01",
                "BRK-ASSY-330",
                "L240611-A01",
                "118",
                "EA",
                "FG1"
            ]),
        ]
    );
    let completion = &bodies[4]["to_MaterialDocumentItem"][0];
    assert_eq!(completion["GoodsMovementRefDocType"], "F");
    assert_eq!(
        completion["MaterialDocumentItemText"],
        "scrap 2 EA (ROTOR-RUNOUT) reported, not posted"
    );
    assert_eq!(
        bodies[4]["to_MaterialDocumentItem"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "scrap is not posted"
    );
}

#[test]
fn a_transfer_is_311_a_write_off_551_to_the_cost_center_and_a_line_issue_261() {
    let bodies: Vec<Value> = events("movements.json")
        .into_iter()
        .map(|e| body(&erp_profile(), e))
        .collect();
    let transfer = &bodies[0]["to_MaterialDocumentItem"][0];
    assert_eq!(
        json!([
            bodies[0]["GoodsMovementCode"],
            transfer["GoodsMovementType"],
            transfer["StorageLocation"],
            transfer["IssuingOrReceivingPlant"],
            transfer["IssuingOrReceivingStorageLoc"],
            transfer["QuantityInEntryUnit"],
            transfer["EntryUnit"],
            transfer["Batch"]
        ]),
        json!([
            "04",
            "311",
            "D4",
            "P2",
            "S1",
            "12450.000",
            "KG",
            "RS-240603-4471"
        ])
    );
    let scrap = &bodies[1]["to_MaterialDocumentItem"][0];
    assert_eq!(
        json!([
            scrap["GoodsMovementType"],
            scrap["QuantityInEntryUnit"],
            scrap["CostCenter"],
            scrap["StorageLocation"]
        ]),
        json!(["551", "6", "P2-4711", "QA"]),
        "the quantity loses its sign: the movement type says the direction"
    );
    // 21:15 in Chicago on the 12th is already the 13th in UTC: the plant's day counts.
    assert_eq!(bodies[1]["PostingDate"], "2024-06-12");
    let issue = &bodies[2]["to_MaterialDocumentItem"][0];
    assert_eq!(
        json!([
            issue["GoodsMovementType"],
            issue["ManufacturingOrder"],
            issue["Material"],
            issue["QuantityInEntryUnit"]
        ]),
        json!(["261", "WO-240611-02", "FST-M10-40", "500"])
    );
}

#[test]
fn every_document_is_json_with_the_events_idempotency_key() {
    for event in events("movements.json") {
        let key = match &event {
            CanonicalEvent::InventoryMovement(m) => m.header.idempotency_key.clone(),
            _ => unreachable!(),
        };
        let documents = render(&erp_profile(), event).expect("renders");
        assert_eq!(documents[0].content_type, "application/json");
        assert_eq!(documents[0].headers, [("Idempotency-Key".to_owned(), key)]);
    }
}

#[test]
fn tenant_tables_choose_the_erps_units_and_storage_locations() {
    let harness = erp_profile()
        .with_lookup("erp-units", "H87", "ST")
        .with_lookup("erp-storage-locations", "P2-D4", "P200/0004");
    let receipt = body(&harness, events("goods-receipt-4500019921.json").remove(0));
    let item = &receipt["to_MaterialDocumentItem"][0];
    assert_eq!(
        json!([item["Plant"], item["StorageLocation"], item["EntryUnit"]]),
        json!(["P200", "0004", "ST"])
    );
}

#[test]
fn describe_names_the_four_stock_events() {
    let info = InventoryPostingRenderer::describe();
    assert_eq!(info.name, "erp-inventory-posting");
    assert_eq!(
        info.document_types,
        [
            "canonical:goods-receipt",
            "canonical:inventory-movement",
            "canonical:material-consumption",
            "canonical:production-completion"
        ]
    );
}
