//! Helpers shared by the integration tests: where the fixtures and the public corpus are, the canonical JSON
//! the host publishes for a goods receipt, and small X12 944 documents built in the test.

#![allow(dead_code)]

use std::path::PathBuf;

use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, GoodsReceipt, IdScheme, Identifier, ItemRef, LotRef,
    MappingError, OrderRef, Position, Quantity, Timestamp,
};
use serde_json::{Value, json};
use x12_944_warehouse_receipt::GoodsReceiptMapper;

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

/// The instant the tests' host clock shows: when the receipts are posted.
pub const NOW: &str = "2024-06-17T20:45:00Z";

/// Riverside 3PL's partner profile: New York time, and the dock at plant P2 it receives ACME's goods at.
pub fn riverside() -> Harness {
    Harness::new()
        .with_config("timezone", "America/New_York")
        .with_config("dock-location", "P2-D4")
        .with_now(NOW)
}

/// Maps a document held in memory on the `riverside-944` route.
pub fn map(harness: &Harness, doc: Vec<u8>) -> Result<Vec<CanonicalEvent>, MappingError> {
    harness.map::<GoodsReceiptMapper>(Envelope::for_bytes("riverside-944", doc))
}

/// The goods receipts among the events; panics if any event is something else.
pub fn receipts(events: Vec<CanonicalEvent>) -> Vec<GoodsReceipt> {
    events
        .into_iter()
        .map(|event| match event {
            CanonicalEvent::GoodsReceipt(receipt) => receipt,
            other => panic!("expected only goods receipts, got a {}", other.kind()),
        })
        .collect()
}

/// An X12 interchange from Riverside 3PL to ACME with one transaction of `code` around `body` (the segments
/// between ST and SE, without terminators), with correct counts and control numbers.
pub fn x12(code: &str, body: &[&str]) -> Vec<u8> {
    let mut doc = String::from(
        "ISA*00*          *00*          *ZZ*RIVERSIDE3PL   *ZZ*ACMEMFG        *240617*1630*U*00401*000000312*0*P*>~\
         GS*RE*RIVERSIDE3PL*ACMEMFG*20240617*1630*312*X*004010~",
    );
    doc.push_str(&format!("ST*{code}*0001~"));
    for segment in body {
        doc.push_str(segment);
        doc.push('~');
    }
    doc.push_str(&format!(
        "SE*{}*0001~GE*1*312~IEA*1*000000312~",
        body.len() + 2
    ));
    doc.into_bytes()
}

/// Same as [`x12`] for a 944.
pub fn x12_944(body: &[&str]) -> Vec<u8> {
    x12("944", body)
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

/// A position as `(transaction, segment index, segment id, element)`.
pub fn located(at: &Position) -> (Option<&str>, Option<u32>, Option<&str>, Option<u32>) {
    (
        at.transaction.as_deref(),
        at.segment_index,
        at.segment_id.as_deref(),
        at.element,
    )
}

/// A receipt's counts as `(received, accepted, rejected, unit)`: what the receiving clerk signs.
pub fn counts(receipt: &GoodsReceipt) -> (&str, &str, &str, &str) {
    (
        receipt.quantity_received.value.as_str(),
        receipt.quantity_accepted.value.as_str(),
        receipt.quantity_rejected.value.as_str(),
        receipt.quantity_received.unit.as_str(),
    )
}

/// The canonical JSON the host publishes for an event, written from the contract's types with their WIT names
/// (kebab-case fields, a case without payload as a string, a case with one as `{"case": payload}`, an absent
/// option as `null`), as `millwright plugin test` prints it.
pub fn canonical_json(event: &CanonicalEvent) -> Value {
    match event {
        CanonicalEvent::GoodsReceipt(receipt) => json!({ "goods-receipt": goods_receipt(receipt) }),
        other => panic!(
            "this plugin publishes goods receipts, not a {}",
            other.kind()
        ),
    }
}

fn goods_receipt(r: &GoodsReceipt) -> Value {
    json!({
        "header": header(&r.header),
        "receipt-id": r.receipt_id,
        "ship-notice-ref": r.ship_notice_ref,
        "order-ref": r.order_ref.as_ref().map(order_ref),
        "order-line": r.order_line,
        "item": item(&r.item),
        "quantity-received": quantity(&r.quantity_received),
        "quantity-accepted": quantity(&r.quantity_accepted),
        "quantity-rejected": quantity(&r.quantity_rejected),
        "discrepancy-reason": r.discrepancy_reason,
        "lots": r.lots.iter().map(lot).collect::<Vec<_>>(),
        "location": identifier(&r.location),
        "received-at": timestamp(&r.received_at),
        "posted-at": timestamp(&r.posted_at),
    })
}

fn order_ref(o: &OrderRef) -> Value {
    json!({ "order-id": o.order_id, "release": o.release, "order-date": o.order_date })
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
