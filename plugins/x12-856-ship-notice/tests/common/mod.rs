//! Helpers shared by the integration tests: corpus paths, building small X12 documents, and pulling the ship
//! notices out of a mapping's events.

#![allow(dead_code)]

use millwright_sdk::types::{CanonicalEvent, IdScheme, ShipNotice, ShippedItem};

/// A file of the public EDI corpus, read in place from `../shared/edi-corpus` beside the repository.
pub fn corpus(relative: &str) -> String {
    format!(
        "{}/../../../shared/edi-corpus/{relative}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// An X12 interchange with one 856 transaction around `body` (the segments between ST and SE, without
/// terminators), with correct counts and control numbers.
pub fn x12_856(body: &[&str]) -> Vec<u8> {
    x12_transaction("856", body)
}

/// Same as [`x12_856`] for any transaction code.
pub fn x12_transaction(code: &str, body: &[&str]) -> Vec<u8> {
    let mut doc = String::from(
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240301*0830*U*00401*000000101*0*P*>~\
         GS*SH*SENDER*RECEIVER*20240301*0830*7*X*004010~",
    );
    doc.push_str(&format!("ST*{code}*0001~"));
    for segment in body {
        doc.push_str(segment);
        doc.push('~');
    }
    doc.push_str(&format!(
        "SE*{}*0001~GE*1*7~IEA*1*000000101~",
        body.len() + 2
    ));
    doc.into_bytes()
}

/// The ship notices among the events; panics if any event is something else.
pub fn notices(events: Vec<CanonicalEvent>) -> Vec<ShipNotice> {
    events
        .into_iter()
        .map(|event| match event {
            CanonicalEvent::ShipNotice(notice) => notice,
            other => panic!("expected only ship notices, got a {}", other.kind()),
        })
        .collect()
}

/// The one ship notice of a single-transaction document.
pub fn only_notice(events: Vec<CanonicalEvent>) -> ShipNotice {
    let mut all = notices(events);
    assert_eq!(all.len(), 1, "expected exactly one ship notice");
    all.remove(0)
}

/// Every item of a notice, wherever it sits (order, tare, pack), in document order per order.
pub fn all_items(notice: &ShipNotice) -> Vec<&ShippedItem> {
    let mut items = Vec::new();
    for order in &notice.orders {
        for tare in &order.tares {
            for pack in &tare.packs {
                items.extend(&pack.items);
            }
            items.extend(&tare.items);
        }
        for pack in &order.packs {
            items.extend(&pack.items);
        }
        items.extend(&order.items);
    }
    items
}

/// The order ids of a notice, `None` for items outside any order.
pub fn order_ids(notice: &ShipNotice) -> Vec<Option<&str>> {
    notice
        .orders
        .iter()
        .map(|o| o.order.as_ref().map(|r| r.order_id.as_str()))
        .collect()
}

/// An item's id of a scheme.
pub fn id(item: &ShippedItem, scheme: IdScheme) -> Option<&str> {
    item.item.id(&scheme)
}

/// An item's quantity as `(value, unit)`.
pub fn qty(item: &ShippedItem) -> (&str, &str) {
    (item.quantity.value.as_str(), item.quantity.unit.as_str())
}
