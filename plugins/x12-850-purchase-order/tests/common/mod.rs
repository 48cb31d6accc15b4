//! Helpers shared by the integration tests: the fixtures, the Brightwire route's profile as the golden files were
//! made with it, canonical events read from JSON, rendering, and the rendered 850 parsed back with the host's
//! own X12 parser.

#![allow(dead_code)]

#[path = "../../../b2mml-production/tests/common/canonical.rs"]
pub mod canonical;

use std::path::PathBuf;

use millwright_sdk::edi::{self, Interchange, Segment, Transaction};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    CanonicalEvent, Diagnostic, MappingError, OutboundDocument, PurchaseOrder, Target,
};
use serde_json::Value;
use x12_850_purchase_order::PurchaseOrderRenderer;

/// A file beside the tests.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))
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

/// The instant the golden files were rendered at: 16:05 in Chicago.
pub const NOW: &str = "2024-06-11T21:05:00Z";

/// The route's profile, as the golden files were made:
///
/// ```sh
/// millwright plugin test plugins/target/components/x12-850-purchase-order.wasm <event.json> \
///     --tenant acme --target supplier-850 --now 2024-06-11T21:05:00Z \
///     --config interchange-sender=ZZ/ACMEMFG --config timezone=America/Chicago --config line-break=lf \
///     --lookup x12-partners=plugins/x12-850-purchase-order/tests/x12-partners.csv
/// ```
pub fn acme() -> Harness {
    Harness::new()
        .with_config("interchange-sender", "ZZ/ACMEMFG")
        .with_config("timezone", "America/Chicago")
        .with_config("line-break", "lf")
        .with_now(NOW)
        .with_lookup_csv("x12-partners", fixture("x12-partners.csv"))
        .expect("the partner table is beside the tests")
}

/// The canonical events of a fixture: one event or a list, as the host reads them.
pub fn events(name: &str) -> Vec<CanonicalEvent> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let list = match json {
        Value::Array(items) => items,
        one => vec![one],
    };
    list.iter()
        .map(|v| canonical::read_event(v).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

/// The one purchase order of a fixture.
pub fn order(name: &str) -> PurchaseOrder {
    match events(name).remove(0) {
        CanonicalEvent::PurchaseOrder(po) => po,
        other => panic!("{name} holds a {}, not a purchase order", other.kind()),
    }
}

/// The Brightwire order of the golden file.
pub fn brightwire_order() -> PurchaseOrder {
    order("po-4500013001.json")
}

/// Renders one event for the supplier route.
pub fn render(
    harness: &Harness,
    event: CanonicalEvent,
) -> Result<Vec<OutboundDocument>, MappingError> {
    harness.render::<PurchaseOrderRenderer>(event, Target::named("supplier-850"))
}

/// Renders a purchase order that must become exactly one document.
pub fn document(harness: &Harness, po: PurchaseOrder) -> OutboundDocument {
    let mut documents =
        render(harness, CanonicalEvent::PurchaseOrder(po)).expect("the order renders");
    assert_eq!(documents.len(), 1, "one order, one interchange");
    documents.remove(0)
}

/// Renders a purchase order that must be refused, and returns the error.
pub fn refused(harness: &Harness, po: PurchaseOrder) -> MappingError {
    match render(harness, CanonicalEvent::PurchaseOrder(po)) {
        Ok(documents) => panic!(
            "expected a refusal, got {} document(s):\n{}",
            documents.len(),
            documents
                .iter()
                .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
                .collect::<String>()
        ),
        Err(e) => e,
    }
}

/// The diagnostic of an `invalid-document` error; panics on any other class.
pub fn invalid(error: MappingError) -> Diagnostic {
    match error {
        MappingError::InvalidDocument(d) => d,
        other => panic!("expected invalid-document, got {other:?}"),
    }
}

/// The diagnostic of an `unknown-reference` error; panics on any other class.
pub fn unknown(error: MappingError) -> Diagnostic {
    match error {
        MappingError::UnknownReference(d) => d,
        other => panic!("expected unknown-reference, got {other:?}"),
    }
}

/// The JSON path and code of a diagnostic.
pub fn located(d: &Diagnostic) -> (&str, &str) {
    (
        d.at.json_path.as_deref().unwrap_or("<no path>"),
        d.code.as_deref().unwrap_or("<no code>"),
    )
}

/// A rendered interchange, parsed by the host's X12 parser (the native build of the one the host runs); panics
/// with the parser's located message when it does not parse.
pub fn parse(payload: &[u8]) -> Interchange {
    let mut interchanges = edi::parse(payload).unwrap_or_else(|e| {
        panic!(
            "the rendered 850 does not parse: {} at {:?}\n{}",
            e.message,
            e.at,
            String::from_utf8_lossy(payload)
        )
    });
    assert_eq!(interchanges.len(), 1, "one interchange per document");
    interchanges.remove(0)
}

/// The one transaction of a rendered interchange.
pub fn transaction(interchange: &Interchange) -> &Transaction {
    assert_eq!(interchange.groups.len(), 1, "one group");
    let group = &interchange.groups[0];
    assert_eq!(group.transactions.len(), 1, "one transaction set");
    &group.transactions[0]
}

/// Every segment of a transaction as `TAG*el*el...`, for assertions that read like the file.
pub fn lines(transaction: &Transaction) -> Vec<String> {
    transaction.segments.iter().map(text).collect()
}

/// A segment written back with `*`.
pub fn text(segment: &Segment) -> String {
    let mut out = segment.id.clone();
    for element in &segment.elements {
        out.push('*');
        out.push_str(&element.value);
    }
    out
}
