//! Helpers shared by the integration tests: canonical events read from the fixtures, rendering with the ERP
//! route's profile, and the documents laid out as the golden files hold them.

#![allow(dead_code)]

#[path = "../../../b2mml-production/tests/common/canonical.rs"]
pub mod canonical;

use erp_inventory_posting::InventoryPostingRenderer;
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{CanonicalEvent, Diagnostic, MappingError, OutboundDocument, Target};
use serde_json::{Value, json};

/// A file beside the tests.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The ERP route's profile, as the golden files were made:
/// `millwright plugin test ... --target erp-inventory --config erp-cost-center=P2-4711`.
pub fn erp_profile() -> Harness {
    Harness::new().with_config("erp-cost-center", "P2-4711")
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

/// Renders one event for the ERP target.
pub fn render(
    harness: &Harness,
    event: CanonicalEvent,
) -> Result<Vec<OutboundDocument>, MappingError> {
    harness.render::<InventoryPostingRenderer>(event, Target::named("erp-inventory"))
}

/// Renders an event that must become exactly one document, and returns its body.
pub fn body(harness: &Harness, event: CanonicalEvent) -> Value {
    let mut documents = render(harness, event).expect("the event renders");
    assert_eq!(documents.len(), 1, "one event, one material document");
    serde_json::from_slice(&documents.remove(0).payload).expect("the payload is JSON")
}

/// A document as the golden files hold it: the host's fields, with the payload parsed.
pub fn golden_form(document: &OutboundDocument) -> Value {
    json!({
        "content-type": document.content_type,
        "file-name": document.file_name,
        "headers": document.headers,
        "body": serde_json::from_slice::<Value>(&document.payload).expect("the payload is JSON"),
    })
}

/// A golden file.
pub fn golden(name: &str) -> Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The diagnostic of an `invalid-document` error; panics on any other class.
pub fn invalid(error: MappingError) -> Diagnostic {
    match error {
        MappingError::InvalidDocument(d) => d,
        other => panic!("expected invalid-document, got {other:?}"),
    }
}

/// The JSON path of a diagnostic.
pub fn path(d: &Diagnostic) -> &str {
    d.at.json_path.as_deref().unwrap_or("<none>")
}
