//! What the ERP cannot take, and what it is not sent: events of other types render nothing (the contract's
//! empty list); a stock event the ERP cannot post is `invalid-document` with a JSON path into the canonical
//! event; a unit the tenant has not mapped is `unknown-reference`. Mutated fixtures never panic.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{canonical, erp_profile, events, invalid, path, render};
use millwright_sdk::types::{
    CanonicalEvent, Disposition, HoldScope, Identifier, ItemRef, LotRef, LotStatus, MappingError,
    MovementKind, QualityHold, Quantity,
};
use serde_json::Value;

fn receipt() -> CanonicalEvent {
    events("goods-receipt-4500019921.json").remove(0)
}

fn movement(i: usize) -> millwright_sdk::types::InventoryMovement {
    match events("movements.json").remove(i) {
        CanonicalEvent::InventoryMovement(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn an_event_type_it_does_not_post_renders_nothing() {
    let CanonicalEvent::GoodsReceipt(r) = receipt() else {
        unreachable!()
    };
    let hold = CanonicalEvent::QualityHold(QualityHold {
        header: r.header,
        hold_id: "QH-240612-007".to_owned(),
        scope: HoldScope::Lot(millwright_sdk::types::LotKey {
            item: ItemRef {
                ids: vec![Identifier::internal("BRK-ROTOR-330")],
                description: None,
            },
            lot: "L240610-R07".to_owned(),
        }),
        reason: "DIM-RUNOUT".to_owned(),
        disposition: Disposition::Hold,
        quantity: None,
        at: r.received_at,
        decided_by: None,
    });
    assert_eq!(render(&erp_profile(), hold), Ok(Vec::new()));
}

#[test]
fn an_event_that_changes_no_stock_renders_nothing() {
    let mut events = events("../../b2mml-production/tests/sync-wo-240611-02.expected.json");
    // The second event is a completion of 0 good and 3 scrapped: nothing entered stock.
    let completion = events.remove(1);
    assert!(matches!(
        completion,
        CanonicalEvent::ProductionCompletion(_)
    ));
    assert_eq!(render(&erp_profile(), completion), Ok(Vec::new()));
    // The first is a return of 4 rotors from the order.
    let documents = render(&erp_profile(), events.remove(0)).expect("renders");
    let body: Value = serde_json::from_slice(&documents[0].payload).expect("JSON");
    assert_eq!(
        body["to_MaterialDocumentItem"][0]["GoodsMovementType"],
        "262"
    );
    assert_eq!(
        body["to_MaterialDocumentItem"][0]["QuantityInEntryUnit"],
        "4"
    );
}

#[test]
fn a_status_change_without_both_stock_statuses_is_refused_naming_the_missing_one() {
    let mut m = movement(0);
    m.kind = MovementKind::StatusChange;
    let d = invalid(
        render(&erp_profile(), CanonicalEvent::InventoryMovement(m.clone())).expect_err("refused"),
    );
    assert_eq!(path(&d), "$['inventory-movement']['from-status']");
    m.from_status = Some(LotStatus::Released);
    let d = invalid(
        render(&erp_profile(), CanonicalEvent::InventoryMovement(m.clone())).expect_err("refused"),
    );
    assert_eq!(path(&d), "$['inventory-movement']['to-status']");
    m.to_status = Some(LotStatus::Released);
    let d =
        invalid(render(&erp_profile(), CanonicalEvent::InventoryMovement(m)).expect_err("refused"));
    assert!(
        d.message.contains("same status (released)"),
        "{}",
        d.message
    );
}

#[test]
fn a_status_change_posts_the_movement_type_for_the_statuses_it_leaves_and_enters() {
    use LotStatus::{Blocked, Quarantined, Released};
    for (from, to, expected) in [
        (Quarantined, Released, "321"),
        (Released, Quarantined, "322"),
        (Blocked, Released, "343"),
        (Released, Blocked, "344"),
        (Blocked, Quarantined, "349"),
        (Quarantined, Blocked, "350"),
    ] {
        let mut m = movement(0);
        m.kind = MovementKind::StatusChange;
        m.from_status = Some(from);
        m.to_status = Some(to);
        let documents =
            render(&erp_profile(), CanonicalEvent::InventoryMovement(m)).expect("renders");
        let body: Value = serde_json::from_slice(&documents[0].payload).expect("JSON");
        assert_eq!(body["GoodsMovementCode"], "04", "{from:?} -> {to:?}");
        assert_eq!(
            body["to_MaterialDocumentItem"][0]["GoodsMovementType"], expected,
            "{from:?} -> {to:?}"
        );
    }
}

#[test]
fn an_unknown_unit_is_an_unknown_reference_naming_the_code_and_the_table() {
    let CanonicalEvent::GoodsReceipt(mut r) = receipt() else {
        unreachable!()
    };
    r.quantity_accepted = Quantity::new("2950", "XPL");
    match render(&erp_profile(), CanonicalEvent::GoodsReceipt(r)).expect_err("unknown unit") {
        MappingError::UnknownReference(d) => {
            assert!(
                d.message.contains("`XPL`") && d.message.contains("`erp-units`"),
                "{}",
                d.message
            );
            assert_eq!(path(&d), "$['goods-receipt']['quantity-accepted'].unit");
        }
        other => panic!("expected unknown-reference, got {other:?}"),
    }
}

#[test]
fn what_the_erp_cannot_post_is_refused_at_its_path() {
    let CanonicalEvent::GoodsReceipt(mut r) = receipt() else {
        unreachable!()
    };
    r.item.ids = vec![Identifier::vendor_part("BW-HX-M10X40-88Z")];
    let d =
        invalid(render(&erp_profile(), CanonicalEvent::GoodsReceipt(r)).expect_err("no material"));
    assert_eq!(path(&d), "$['goods-receipt'].item.ids");
    assert!(d.message.contains("vendor-part"), "{}", d.message);

    for bad in ["1e400", "2,950", "", "-50"] {
        let CanonicalEvent::GoodsReceipt(mut r) = receipt() else {
            unreachable!()
        };
        r.quantity_rejected = Quantity::new(bad, "H87");
        let d = invalid(render(&erp_profile(), CanonicalEvent::GoodsReceipt(r)).expect_err(bad));
        assert_eq!(
            path(&d),
            "$['goods-receipt']['quantity-rejected'].value",
            "{bad}"
        );
    }

    let CanonicalEvent::GoodsReceipt(mut r) = receipt() else {
        unreachable!()
    };
    let lot = |l: &str| LotRef {
        supplier_lot: Some(l.to_owned()),
        internal_lot: None,
        quantity: None,
        expiry: None,
        serials: vec![],
        sub_lot: None,
    };
    r.lots = vec![lot("BW-1"), lot("BW-2")];
    let d = invalid(
        render(&erp_profile(), CanonicalEvent::GoodsReceipt(r.clone()))
            .expect_err("rejected across lots"),
    );
    assert_eq!(path(&d), "$['goods-receipt']['quantity-rejected']");
    r.quantity_rejected = Quantity::new("0", "H87");
    let d = invalid(
        render(&erp_profile(), CanonicalEvent::GoodsReceipt(r))
            .expect_err("a lot without quantity"),
    );
    assert_eq!(path(&d), "$['goods-receipt'].lots[0].quantity");

    let mut m = movement(2);
    m.from = None;
    let d = invalid(
        render(&erp_profile(), CanonicalEvent::InventoryMovement(m))
            .expect_err("an issue from nowhere"),
    );
    assert_eq!(path(&d), "$['inventory-movement'].from");

    let mut m = movement(0);
    m.header.event_time.utc = "12.06.2024 15:20".to_owned();
    let d = invalid(
        render(&erp_profile(), CanonicalEvent::InventoryMovement(m)).expect_err("not RFC 3339"),
    );
    assert_eq!(path(&d), "$['inventory-movement'].header['event-time'].utc");
}

#[test]
fn several_lots_with_quantities_are_posted_one_item_each() {
    let CanonicalEvent::GoodsReceipt(mut r) = receipt() else {
        unreachable!()
    };
    let lot = |l: &str, q: &str| LotRef {
        supplier_lot: Some(l.to_owned()),
        internal_lot: None,
        quantity: Some(Quantity::new(q, "H87")),
        expiry: Some("2029-06-30".to_owned()),
        serials: vec![],
        sub_lot: None,
    };
    r.lots = vec![lot("BW-240528-113", "2000"), lot("BW-240529-007", "950")];
    r.quantity_rejected = Quantity::new("0", "H87");
    let documents = render(&erp_profile(), CanonicalEvent::GoodsReceipt(r)).expect("renders");
    let body: Value = serde_json::from_slice(&documents[0].payload).expect("JSON");
    let items = body["to_MaterialDocumentItem"].as_array().expect("items");
    let batches: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["Batch"].as_str().unwrap_or_default(),
                i["QuantityInEntryUnit"].as_str().unwrap_or_default(),
                i["ShelfLifeExpirationDate"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        batches,
        [
            ("BW-240528-113", "2000", "2029-06-30"),
            ("BW-240529-007", "950", "2029-06-30")
        ]
    );
}

/// Every string of every fixture event replaced by odd values, one at a time: the renderer answers with a
/// document or a located error, never a panic.
#[test]
fn mutated_events_render_or_are_refused_with_a_path() {
    let odd = [
        "",
        "-",
        "1e400",
        "-0",
        "ZZZ",
        "\u{7f}",
        "P2-",
        "-D4",
        "2024-13-45T99:99:99Z",
        "٣",
    ];
    for name in [
        "goods-receipt-4500019921.json",
        "movements.json",
        "../../b2mml-production/tests/wo-240611-01.expected.json",
    ] {
        let text = std::fs::read_to_string(common::fixture(name)).expect("fixture");
        let json: Value = serde_json::from_str(&text).expect("JSON");
        let list = match json {
            Value::Array(items) => items,
            one => vec![one],
        };
        for event in list {
            let mut leaves = Vec::new();
            strings(&event, &mut String::new(), &mut leaves);
            for leaf in &leaves {
                for value in odd {
                    let mut mutated = event.clone();
                    *mutated.pointer_mut(leaf).expect("the leaf") = Value::String(value.to_owned());
                    let Ok(event) = canonical::read_event(&mutated) else {
                        continue; // the host would refuse it before the plugin sees it
                    };
                    match render(&erp_profile(), event) {
                        Ok(_) => {}
                        Err(
                            MappingError::InvalidDocument(d) | MappingError::UnknownReference(d),
                        ) => {
                            assert!(
                                d.at.json_path
                                    .as_deref()
                                    .is_some_and(|p| p.starts_with("$['")),
                                "{name} {leaf} = {value:?}: no path: {}",
                                d.message
                            );
                        }
                        Err(other) => panic!("{name} {leaf} = {value:?}: {other:?}"),
                    }
                }
            }
        }
    }
}

/// The JSON pointers of every string in `value`.
fn strings(value: &Value, pointer: &mut String, out: &mut Vec<String>) {
    match value {
        Value::String(_) => out.push(pointer.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                strings(item, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                pointer.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")));
                strings(item, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}
