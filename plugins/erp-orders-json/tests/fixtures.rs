//! The ERP fixtures through the mapper, as a buyer and a planner would read the result, and key for key
//! against the canonical JSON the host published for them.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{canonical, envelope, erp_profile, fixture, map};
use erp_orders_json::ErpOrdersMapper;
use millwright_sdk::InboundMapper;
use millwright_sdk::types::{
    CanonicalEvent, IdScheme, OrderKind, Price, Purpose, Quantity, WorkOrderState,
};
use serde_json::Value;

fn assert_golden(input: &str, golden: &str) {
    let events = map(envelope(input)).expect("the fixture maps");
    let actual = canonical::events(&events);
    let text = std::fs::read_to_string(fixture(golden)).expect("golden file");
    let expected: Value = serde_json::from_str(&text).expect("golden is JSON");
    assert_eq!(
        actual,
        expected,
        "{input} differs from {golden}; mapped:\n{}",
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
}

#[test]
fn the_brightwire_order_is_the_golden_file_key_for_key() {
    assert_golden("po-4500019921.json", "po-4500019921.expected.json");
}

#[test]
fn the_odata_list_is_the_golden_file_key_for_key() {
    assert_golden("orders-odata.json", "orders-odata.expected.json");
}

#[test]
fn the_brightwire_order_has_its_supplier_lines_quantities_prices_and_earliest_dates() {
    let events = map(envelope("po-4500019921.json")).expect("maps");
    let [CanonicalEvent::PurchaseOrder(po)] = events.as_slice() else {
        panic!("one purchase order, got {events:?}");
    };
    assert_eq!(po.order_id, "4500019921");
    assert_eq!(po.purpose, Purpose::Original);
    assert_eq!(po.kind, OrderKind::Standard);
    assert_eq!(po.supplier.ids[0].value, "BW01");
    assert_eq!(
        po.supplier.name.as_deref(),
        Some("Brightwire Fasteners GmbH")
    );
    assert_eq!(po.buyer.name.as_deref(), Some("ACME Brakes, Plant 2"));
    assert_eq!(po.currency.as_deref(), Some("EUR"));
    let lines: Vec<_> = po
        .lines
        .iter()
        .map(|l| {
            (
                l.line_number.as_str(),
                l.item.id(&IdScheme::BuyerPart),
                l.item.id(&IdScheme::VendorPart),
                l.quantity.clone(),
                l.price.clone(),
                l.requested_date.as_deref(),
                l.ship_to.as_ref().map(|s| s.value.as_str()),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "10",
                Some("FST-M10-40"),
                Some("BW-HX-M10X40-88Z"),
                Quantity::new("5000", "H87"),
                Some(Price {
                    amount: "0.084".into(),
                    per_unit: None
                }),
                Some("2024-06-14"),
                Some("P2-D4")
            ),
            (
                "20",
                Some("FST-M10-NUT"),
                Some("BW-NUT-M10-8Z"),
                Quantity::new("5000.000", "H87"),
                Some(Price {
                    amount: "21.50".into(),
                    per_unit: Some("CT".into())
                }),
                Some("2024-06-14"),
                Some("P2-D4")
            ),
        ]
    );
    // Changed at 09:14:22 in Walldorf (UTC+2).
    assert_eq!(po.header.event_time.utc, "2024-06-03T07:14:22Z");
    assert_eq!(po.header.event_time.original_offset_minutes, Some(120));
}

#[test]
fn the_odata_list_holds_a_changed_coil_order_and_two_work_orders_but_not_the_unreleased_one() {
    let events = map(envelope("orders-odata.json")).expect("maps");
    assert_eq!(events.len(), 3, "the CRTD order is not released yet");
    let CanonicalEvent::PurchaseOrder(po) = &events[0] else {
        panic!("a purchase order first")
    };
    assert_eq!(
        po.purpose,
        Purpose::Replace,
        "a change resends the whole order"
    );
    assert!(
        po.supplier
            .ids
            .iter()
            .any(|id| id.scheme == IdScheme::Gln && id.value == "4012345000009")
    );
    assert_eq!(po.lines[0].quantity, Quantity::new("24.000", "TNE"));
    assert_eq!(
        po.lines[0].item.id(&IdScheme::BuyerPart),
        Some("COIL-S355-2MM")
    );

    let states: Vec<_> = events[1..]
        .iter()
        .map(|e| match e {
            CanonicalEvent::WorkOrderStatus(w) => (
                w.work_order.as_str(),
                w.item.id(&IdScheme::Internal),
                w.quantity_planned.clone(),
                w.quantity_done.clone(),
                w.state,
                w.header.site.as_deref(),
            ),
            other => panic!("expected work-order status, got {}", other.kind()),
        })
        .collect();
    assert_eq!(
        states,
        [
            (
                "WO-240611-01",
                Some("BRK-ASSY-330"),
                Quantity::new("120", "H87"),
                Quantity::new("0", "H87"),
                WorkOrderState::Released,
                Some("P2")
            ),
            (
                "WO-240611-02",
                Some("BRK-ASSY-330"),
                Quantity::new("60", "H87"),
                Quantity::new("24", "H87"),
                WorkOrderState::Started,
                Some("P2")
            ),
        ]
    );
}

#[test]
fn the_same_order_version_sent_twice_has_the_same_idempotency_key() {
    let once = map(envelope("po-4500019921.json")).expect("maps");
    let mut again = envelope("po-4500019921.json");
    again.message_id = "redelivered".to_owned();
    let twice = map(again).expect("maps");
    let key = |e: &CanonicalEvent| match e {
        CanonicalEvent::PurchaseOrder(po) => po.header.idempotency_key.clone(),
        _ => unreachable!(),
    };
    assert_eq!(key(&once[0]), key(&twice[0]));
    assert_eq!(
        key(&once[0]),
        "erp-orders:PurchaseOrder:4500019921:create:2024-06-03T07:14:22Z"
    );
}

#[test]
fn a_tenant_units_table_overrides_the_built_in_one() {
    let events = erp_profile()
        .with_lookup("units", "EA", "C62")
        .map::<ErpOrdersMapper>(envelope("po-4500019921.json"))
        .expect("maps");
    let CanonicalEvent::PurchaseOrder(po) = &events[0] else {
        panic!()
    };
    assert_eq!(po.lines[0].quantity.unit, "C62");
    assert_eq!(po.lines[1].quantity.unit, "H87", "PC is not in the table");
}

#[test]
fn describe_names_the_plugin_and_its_documents() {
    let info = ErpOrdersMapper::describe();
    assert_eq!(info.name, "erp-orders-json");
    assert_eq!(
        info.document_types,
        ["json:erp-purchase-order", "json:erp-production-order"]
    );
}
