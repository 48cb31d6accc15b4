//! Helpers shared by the integration tests: where the fixtures and the public corpus are, Rhein Stahl's partner
//! profile, the canonical JSON the host publishes for a ship notice, and small DESADV messages built in the test.

#![allow(dead_code)]

use std::path::PathBuf;

use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    Address, CanonicalEvent, Carrier, Envelope, EventHeader, IdScheme, Identifier, ItemRef, LotRef,
    MappingError, OrderRef, Pack, Party, PartyRole, Position, Purpose, Quantity, Reference,
    ShipNotice, ShipmentOrder, ShippedItem, Tare, Timestamp,
};
use serde_json::{Value, json};

use edifact_desadv_ship_notice::DespatchAdviceMapper;

/// A file beside the tests.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// The public EDI corpus, read in place: `MILLWRIGHT_EDI_CORPUS`, or `../shared/edi-corpus` beside the
/// repository.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("MILLWRIGHT_EDI_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/edi-corpus")
        })
}

/// Rhein Stahl's partner profile: its dates are Duisburg's local time.
pub fn rhein_stahl() -> Harness {
    Harness::new()
        .with_config("timezone", "Europe/Berlin")
        .with_now("2024-06-11T13:00:00Z")
}

/// Maps a document held in memory on the `rhein-stahl-desadv` route.
pub fn map(harness: &Harness, doc: Vec<u8>) -> Result<Vec<CanonicalEvent>, MappingError> {
    harness.map::<DespatchAdviceMapper>(Envelope::for_bytes("rhein-stahl-desadv", doc))
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

/// The one ship notice of a single-message document.
pub fn only(events: Vec<CanonicalEvent>) -> ShipNotice {
    let mut all = notices(events);
    assert_eq!(all.len(), 1, "expected exactly one ship notice");
    all.remove(0)
}

/// An interchange from Rhein Stahl to ACME with one message of `message_type` (`DESADV:D:96A:UN:EAN005`)
/// around `body` (the segments between UNH and UNT, without terminators), with correct counts and references.
pub fn edifact(message_type: &str, body: &[&str]) -> Vec<u8> {
    let mut doc =
        String::from("UNA:+.? 'UNB+UNOC:3+4012345000009:14+5412345000013:14+240611:1420+IC77'");
    doc.push_str(&format!("UNH+9+{message_type}'"));
    for segment in body {
        doc.push_str(segment);
        doc.push('\'');
    }
    doc.push_str(&format!("UNT+{}+9'UNZ+1+IC77'", body.len() + 2));
    doc.into_bytes()
}

/// Same as [`edifact`] for an EANCOM D.96A DESADV.
pub fn desadv(body: &[&str]) -> Vec<u8> {
    edifact("DESADV:D:96A:UN:EAN005", body)
}

/// The diagnostic of an error that must be `invalid-document`.
pub fn invalid(
    result: Result<Vec<CanonicalEvent>, MappingError>,
) -> (String, Position, Option<String>) {
    match result {
        Err(MappingError::InvalidDocument(d)) => (d.message, d.at, d.code),
        other => panic!("expected invalid-document, got {other:?}"),
    }
}

/// A position as `(transaction, segment index, segment id, element, component)`.
pub type Located<'a> = (
    Option<&'a str>,
    Option<u32>,
    Option<&'a str>,
    Option<u32>,
    Option<u32>,
);

/// Where a diagnostic points, as a [`Located`].
pub fn located(at: &Position) -> Located<'_> {
    (
        at.transaction.as_deref(),
        at.segment_index,
        at.segment_id.as_deref(),
        at.element,
        at.component,
    )
}

/// Every item of a notice, wherever it sits (order, tare, pack), order by order: tares (their packs, then items
/// loose on them), then packs, then unpacked items.
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

/// An item's quantity as `(value, unit)`.
pub fn qty(item: &ShippedItem) -> (&str, &str) {
    (item.quantity.value.as_str(), item.quantity.unit.as_str())
}

/// The canonical JSON the host publishes for an event, written from the contract's types with their WIT names
/// (kebab-case fields, a case without payload as a string, a case with one as `{"case": payload}`, an absent
/// option as `null`), as `millwright plugin test` prints it.
pub fn canonical_json(event: &CanonicalEvent) -> Value {
    match event {
        CanonicalEvent::ShipNotice(notice) => json!({ "ship-notice": ship_notice(notice) }),
        other => panic!("this plugin publishes ship notices, not a {}", other.kind()),
    }
}

pub fn ship_notice(n: &ShipNotice) -> Value {
    json!({
        "header": header(&n.header),
        "shipment-id": n.shipment_id,
        "purpose": purpose(n.purpose),
        "shipped-at": n.shipped_at.as_ref().map(timestamp),
        "expected-at": n.expected_at.as_ref().map(timestamp),
        "carrier": n.carrier.as_ref().map(carrier),
        "bill-of-lading": n.bill_of_lading,
        "tracking": n.tracking,
        "ship-from": n.ship_from.as_ref().map(party),
        "ship-to": n.ship_to.as_ref().map(party),
        "gross-weight": n.gross_weight.as_ref().map(quantity),
        "net-weight": n.net_weight.as_ref().map(quantity),
        "lading-quantity": n.lading_quantity.as_ref().map(quantity),
        "orders": n.orders.iter().map(order).collect::<Vec<_>>(),
        "references": n.references.iter().map(reference).collect::<Vec<_>>(),
    })
}

fn purpose(p: Purpose) -> &'static str {
    match p {
        Purpose::Original => "original",
        Purpose::Replace => "replace",
        Purpose::Cancel => "cancel",
        Purpose::Change => "change",
        Purpose::Confirmation => "confirmation",
        Purpose::Duplicate => "duplicate",
    }
}

fn carrier(c: &Carrier) -> Value {
    json!({ "scac": c.scac, "name": c.name, "transport-mode": c.transport_mode })
}

fn party(p: &Party) -> Value {
    json!({
        "ids": p.ids.iter().map(identifier).collect::<Vec<_>>(),
        "name": p.name,
        "roles": p.roles.iter().map(|r| role(*r)).collect::<Vec<_>>(),
        "address": p.address.as_ref().map(address),
        "edi-identities": p.edi_identities.iter().map(|e| json!({ "qualifier": e.qualifier, "id": e.id })).collect::<Vec<_>>(),
    })
}

fn role(r: PartyRole) -> &'static str {
    match r {
        PartyRole::Buyer => "buyer",
        PartyRole::Supplier => "supplier",
        PartyRole::ShipFrom => "ship-from",
        PartyRole::ShipTo => "ship-to",
        PartyRole::BillTo => "bill-to",
        PartyRole::RemitTo => "remit-to",
        PartyRole::Carrier => "carrier",
        PartyRole::Manufacturer => "manufacturer",
        PartyRole::Customer => "customer",
        PartyRole::Other => "other",
    }
}

fn address(a: &Address) -> Value {
    json!({
        "lines": a.lines,
        "city": a.city,
        "region": a.region,
        "postal-code": a.postal_code,
        "country": a.country,
    })
}

fn order(o: &ShipmentOrder) -> Value {
    json!({
        "order": o.order.as_ref().map(order_ref),
        "tares": o.tares.iter().map(tare).collect::<Vec<_>>(),
        "packs": o.packs.iter().map(pack).collect::<Vec<_>>(),
        "items": o.items.iter().map(shipped_item).collect::<Vec<_>>(),
    })
}

fn order_ref(o: &OrderRef) -> Value {
    json!({ "order-id": o.order_id, "release": o.release, "order-date": o.order_date })
}

fn tare(t: &Tare) -> Value {
    json!({
        "sscc": t.sscc,
        "marks": t.marks.iter().map(reference).collect::<Vec<_>>(),
        "packaging": t.packaging,
        "weight": t.weight.as_ref().map(quantity),
        "packs": t.packs.iter().map(pack).collect::<Vec<_>>(),
        "items": t.items.iter().map(shipped_item).collect::<Vec<_>>(),
    })
}

fn pack(p: &Pack) -> Value {
    json!({
        "sscc": p.sscc,
        "marks": p.marks.iter().map(reference).collect::<Vec<_>>(),
        "packaging": p.packaging,
        "weight": p.weight.as_ref().map(quantity),
        "items": p.items.iter().map(shipped_item).collect::<Vec<_>>(),
    })
}

fn shipped_item(i: &ShippedItem) -> Value {
    json!({
        "line-number": i.line_number,
        "item": item(&i.item),
        "quantity": quantity(&i.quantity),
        "quantity-ordered": i.quantity_ordered.as_ref().map(quantity),
        "lots": i.lots.iter().map(lot).collect::<Vec<_>>(),
        "serials": i.serials,
    })
}

fn lot(l: &LotRef) -> Value {
    json!({
        "supplier-lot": l.supplier_lot,
        "internal-lot": l.internal_lot,
        "quantity": l.quantity.as_ref().map(quantity),
        "expiry": l.expiry,
        "serials": l.serials,
        "sub-lot": l.sub_lot,
    })
}

fn reference(r: &Reference) -> Value {
    json!({ "qualifier": r.qualifier, "value": r.value, "description": r.description })
}

fn header(header: &EventHeader) -> Value {
    json!({
        "id": header.id,
        "source-system": header.source_system,
        "tenant": header.tenant,
        "site": header.site,
        "event-time": timestamp(&header.event_time),
        "correlation-id": header.correlation_id,
        "idempotency-key": header.idempotency_key,
    })
}

fn timestamp(t: &Timestamp) -> Value {
    json!({ "utc": t.utc, "original-offset-minutes": t.original_offset_minutes })
}

fn quantity(q: &Quantity) -> Value {
    json!({ "value": q.value, "unit": q.unit })
}

fn item(item: &ItemRef) -> Value {
    json!({
        "ids": item.ids.iter().map(identifier).collect::<Vec<_>>(),
        "description": item.description,
    })
}

fn identifier(id: &Identifier) -> Value {
    json!({ "scheme": scheme(&id.scheme), "value": id.value })
}

fn scheme(scheme: &IdScheme) -> Value {
    Value::String(
        match scheme {
            IdScheme::BuyerPart => "buyer-part",
            IdScheme::VendorPart => "vendor-part",
            IdScheme::ManufacturerPart => "manufacturer-part",
            IdScheme::Gtin => "gtin",
            IdScheme::EngineeringChange => "engineering-change",
            IdScheme::Sscc => "sscc",
            IdScheme::Duns => "duns",
            IdScheme::Gln => "gln",
            IdScheme::MutuallyDefined => "mutually-defined",
            IdScheme::Internal => "internal",
            IdScheme::Other(qualifier) => return json!({ "other": qualifier }),
        }
        .to_owned(),
    )
}
