//! What the ERP cannot take is refused as `invalid-document` (dead-lettered at once, never retried), with a
//! diagnostic that says what is wrong and a JSON path into the canonical event that points at it.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{invalid, quickstart_notice, render, supplier_profile};
use millwright_sdk::types::{
    CanonicalEvent, GoodsReceipt, Identifier, ItemRef, LotRef, OrderRef, Quantity, Timestamp,
};

#[test]
fn an_event_other_than_a_ship_notice_is_invalid_and_the_error_names_what_is_rendered() {
    let notice = quickstart_notice();
    let receipt = GoodsReceipt {
        header: notice.header,
        receipt_id: "GR-1".to_owned(),
        ship_notice_ref: Some(notice.shipment_id),
        order_ref: Some(OrderRef {
            order_id: "4500012377".to_owned(),
            release: None,
            order_date: None,
        }),
        order_line: Some("1".to_owned()),
        item: ItemRef {
            ids: vec![Identifier::buyer_part("ACME-BRKT-22")],
            description: None,
        },
        quantity_received: Quantity::new("48", "H87"),
        quantity_accepted: Quantity::new("48", "H87"),
        quantity_rejected: Quantity::new("0", "H87"),
        discrepancy_reason: None,
        lots: Vec::<LotRef>::new(),
        location: Identifier::internal("DOCK-1"),
        received_at: Timestamp::utc("2024-06-12T13:05:00Z"),
        posted_at: Timestamp::utc("2024-06-12T13:06:00Z"),
    };
    let error = render(&supplier_profile(), CanonicalEvent::GoodsReceipt(receipt))
        .expect_err("a goods receipt is not rendered");
    let (message, path) = invalid(error);
    assert!(
        message.contains("ship-notice") && message.contains("canonical:ship-notice"),
        "the message names the type rendered: {message}"
    );
    assert!(
        message.contains("goods-receipt"),
        "the message names the type received: {message}"
    );
    assert_eq!(path.as_deref(), Some("$['goods-receipt']"));
}

#[test]
fn a_ship_notice_without_items_is_refused_at_its_orders() {
    let mut notice = quickstart_notice();
    for order in &mut notice.orders {
        order.tares.clear();
        order.packs.clear();
        order.items.clear();
    }
    let (message, path) = invalid(
        render(&supplier_profile(), CanonicalEvent::ShipNotice(notice))
            .expect_err("nothing to expect"),
    );
    assert!(message.contains("no items"), "{message}");
    assert_eq!(path.as_deref(), Some("$['ship-notice'].orders"));
}

#[test]
fn items_shipped_outside_any_order_are_refused_at_that_order_level() {
    let mut notice = quickstart_notice();
    notice.orders[1].order = None;
    let (message, path) = invalid(
        render(&supplier_profile(), CanonicalEvent::ShipNotice(notice))
            .expect_err("nothing to receive against"),
    );
    assert!(message.contains("outside any purchase order"), "{message}");
    assert_eq!(path.as_deref(), Some("$['ship-notice'].orders[1].order"));
}

#[test]
fn a_quantity_that_is_not_a_decimal_is_refused_at_its_value() {
    let mut notice = quickstart_notice();
    notice.orders[0].tares[0].packs[1].items[0].quantity = Quantity::new("920,250", "LBR");
    let (message, path) = invalid(
        render(&supplier_profile(), CanonicalEvent::ShipNotice(notice)).expect_err("not a decimal"),
    );
    assert!(message.contains("`920,250`"), "{message}");
    assert_eq!(
        path.as_deref(),
        Some("$['ship-notice'].orders[0].tares[0].packs[1].items[0].quantity.value")
    );
}

#[test]
fn an_item_with_neither_buyer_nor_supplier_number_is_refused_at_its_ids() {
    let mut notice = quickstart_notice();
    notice.orders[1].items[0].item.ids = vec![Identifier::gtin("012345678905")];
    let (message, path) = invalid(
        render(&supplier_profile(), CanonicalEvent::ShipNotice(notice))
            .expect_err("no item number"),
    );
    assert!(
        message.contains("gtin"),
        "the ids that were sent: {message}"
    );
    assert_eq!(
        path.as_deref(),
        Some("$['ship-notice'].orders[1].items[0].item.ids")
    );
}

#[test]
fn a_ship_notice_without_a_supplier_is_refused_at_ship_from() {
    let mut notice = quickstart_notice();
    notice.ship_from = None;
    let (message, path) = invalid(
        render(&supplier_profile(), CanonicalEvent::ShipNotice(notice)).expect_err("no supplier"),
    );
    assert!(message.contains("supplier"), "{message}");
    assert_eq!(path.as_deref(), Some("$['ship-notice']['ship-from']"));
}
