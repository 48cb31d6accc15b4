//! Helpers shared by the integration tests: where the fixtures and the public corpus are, the canonical JSON
//! the host publishes for an order acknowledgment, and small X12 855 documents built in the test.

#![allow(dead_code)]

use std::path::PathBuf;

use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    AcknowledgmentStatus, CanonicalEvent, Envelope, EventHeader, IdScheme, Identifier, ItemRef,
    LineStatus, MappingError, OrderAcknowledgment, Position, Quantity, Timestamp,
};
use serde_json::{Value, json};
use x12_855_order_ack::OrderAcknowledgmentMapper;

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

/// Brightwire's partner profile: Brightwire writes its dates in Chicago time.
pub fn brightwire() -> Harness {
    Harness::new()
        .with_config("timezone", "America/Chicago")
        .with_now("2024-06-12T15:00:00Z")
}

/// Maps a document held in memory on the `brightwire-855` route.
pub fn map(harness: &Harness, doc: Vec<u8>) -> Result<Vec<CanonicalEvent>, MappingError> {
    harness.map::<OrderAcknowledgmentMapper>(Envelope::for_bytes("brightwire-855", doc))
}

/// The acknowledgments among the events; panics if any event is something else.
pub fn acknowledgments(events: Vec<CanonicalEvent>) -> Vec<OrderAcknowledgment> {
    events
        .into_iter()
        .map(|event| match event {
            CanonicalEvent::OrderAcknowledgment(ack) => ack,
            other => panic!(
                "expected only order acknowledgments, got a {}",
                other.kind()
            ),
        })
        .collect()
}

/// The one acknowledgment of a single-transaction document.
pub fn only(events: Vec<CanonicalEvent>) -> OrderAcknowledgment {
    let mut all = acknowledgments(events);
    assert_eq!(all.len(), 1, "expected exactly one acknowledgment");
    all.remove(0)
}

/// An X12 interchange from Brightwire to ACME with one transaction of `code` around `body` (the segments
/// between ST and SE, without terminators), with correct counts and control numbers.
pub fn x12(code: &str, body: &[&str]) -> Vec<u8> {
    let mut doc = String::from(
        "ISA*00*          *00*          *ZZ*BRIGHTWIRE     *ZZ*ACMEMFG        *240612*0930*U*00401*000000812*0*P*>~\
         GS*PR*BRIGHTWIRE*ACMEMFG*20240612*0930*812*X*004010~",
    );
    doc.push_str(&format!("ST*{code}*0001~"));
    for segment in body {
        doc.push_str(segment);
        doc.push('~');
    }
    doc.push_str(&format!(
        "SE*{}*0001~GE*1*812~IEA*1*000000812~",
        body.len() + 2
    ));
    doc.into_bytes()
}

/// Same as [`x12`] for an 855.
pub fn x12_855(body: &[&str]) -> Vec<u8> {
    x12("855", body)
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

/// A line as `(line number, buyer part, quantity, unit, status, promised date)`: what a buyer reads first.
pub type LineSummary<'a> = (
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
    LineStatus,
    Option<&'a str>,
);

/// Every line of an acknowledgment as a [`LineSummary`].
pub fn summary(ack: &OrderAcknowledgment) -> Vec<LineSummary<'_>> {
    ack.lines
        .iter()
        .map(|l| {
            (
                l.line_number.as_str(),
                l.item.id(&IdScheme::BuyerPart),
                l.quantity.value.as_str(),
                l.quantity.unit.as_str(),
                l.status,
                l.promised_date.as_deref(),
            )
        })
        .collect()
}

/// The canonical JSON the host publishes for an event, written from the contract's types with their WIT names
/// (kebab-case fields, a case without payload as a string, a case with one as `{"case": payload}`, an absent
/// option as `null`), as `millwright plugin test` prints it.
pub fn canonical_json(event: &CanonicalEvent) -> Value {
    match event {
        CanonicalEvent::OrderAcknowledgment(ack) => {
            json!({ "order-acknowledgment": acknowledgment(ack) })
        }
        other => panic!(
            "this plugin publishes order acknowledgments, not a {}",
            other.kind()
        ),
    }
}

fn acknowledgment(ack: &OrderAcknowledgment) -> Value {
    json!({
        "header": header(&ack.header),
        "order-id": ack.order_id,
        "status": match ack.status {
            AcknowledgmentStatus::Accepted => "accepted",
            AcknowledgmentStatus::AcceptedWithChanges => "accepted-with-changes",
            AcknowledgmentStatus::Rejected => "rejected",
        },
        "lines": ack.lines.iter().map(|line| json!({
            "line-number": line.line_number,
            "item": item(&line.item),
            "quantity": quantity(&line.quantity),
            "status": match line.status {
                LineStatus::Accepted => "accepted",
                LineStatus::Changed => "changed",
                LineStatus::Rejected => "rejected",
                LineStatus::BackOrdered => "back-ordered",
            },
            "promised-date": line.promised_date,
        })).collect::<Vec<_>>(),
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
