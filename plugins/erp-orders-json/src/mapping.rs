//! One message to its documents and their events. A message holds one order, a list of orders, or the same
//! wrapped as an OData V2 response (`{"d": {...}}`, `{"d": {"results": [...]}}`); each order is a purchase
//! order (it has `PurchaseOrder`) or a production order (it has `ManufacturingOrder`).

use millwright_sdk::host::{self, LogLevel};
use millwright_sdk::types::{CanonicalEvent, Envelope, EventHeader, MappingError, Timestamp};

use crate::json::{At, Document, Units, Value};
use crate::{production_order, purchase_order};

/// Units ERP systems write (SAP's commercial codes), and their Rec 20 codes. A tenant's `units` table
/// overrides any of them; the Rec 20 codes themselves are accepted as they are.
pub const BUILT_IN_UNITS: &[(&str, &str)] = &[
    ("EA", "H87"),
    ("PC", "H87"),
    ("ST", "H87"),
    ("PCE", "H87"),
    ("KG", "KGM"),
    ("G", "GRM"),
    ("TO", "TNE"),
    ("T", "TNE"),
    ("LB", "LBR"),
    ("M", "MTR"),
    ("MM", "MMT"),
    ("L", "LTR"),
    ("M2", "MTK"),
    ("M3", "MTQ"),
    ("CAR", "CT"),
    ("H87", "H87"),
    ("C62", "C62"),
    ("KGM", "KGM"),
    ("GRM", "GRM"),
    ("TNE", "TNE"),
    ("LBR", "LBR"),
    ("MTR", "MTR"),
    ("MMT", "MMT"),
    ("LTR", "LTR"),
    ("MTK", "MTK"),
    ("MTQ", "MTQ"),
    ("CT", "CT"),
];

/// What every document's event needs from the message.
pub struct Message<'e> {
    pub envelope: &'e Envelope,
    pub units: Units,
    count: usize,
}

impl Message<'_> {
    /// The header of the next event: `json:<message id>:<n>`, and an idempotency key that names the business
    /// fact (`<source>:<kind>:<document id>:<version>`), so the same order version sent twice is one fact.
    pub fn header(
        &mut self,
        fact: &str,
        site: Option<String>,
        event_time: Timestamp,
    ) -> EventHeader {
        self.count += 1;
        let envelope = self.envelope;
        EventHeader {
            id: format!("json:{}:{}", envelope.message_id, self.count),
            source_system: envelope.source.clone(),
            tenant: envelope.tenant.clone(),
            site,
            event_time,
            correlation_id: envelope.correlation_id.clone(),
            idempotency_key: format!("{}:{fact}", envelope.source),
        }
    }

    /// The version part of an idempotency key: the document's last change, else this message.
    pub fn version(&self, last_change: Option<&Timestamp>) -> String {
        match last_change {
            Some(t) => t.utc.clone(),
            None => self.envelope.message_id.clone(),
        }
    }
}

/// Maps one message.
pub fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let doc = Document::parse(&envelope.payload)?;
    let mut message = Message {
        envelope,
        units: Units::new(BUILT_IN_UNITS),
        count: 0,
    };
    let mut events = Vec::new();
    for order in documents(doc.root())? {
        if let Some(event) = one(&order, &mut message)? {
            events.push(event);
        }
    }
    Ok(events)
}

/// The orders of a message: the root itself, its items, or what its OData `d` wrapper holds.
fn documents(root: At<'_>) -> Result<Vec<At<'_>>, MappingError> {
    match &root.node.value {
        Value::Array(_) => root.items(),
        Value::Object(_) => {
            let object = root.object()?;
            let is_order = object.has("PurchaseOrder") || object.has("ManufacturingOrder");
            match object.get("d") {
                Some(d) if !is_order => match &d.node.value {
                    Value::Object(_) if d.object()?.has("results") => {
                        d.object()?.required("results")?.items()
                    }
                    _ => Ok(vec![d]),
                },
                _ => Ok(vec![root]),
            }
        }
        _ => Err(root.invalid(format!(
            "expected a purchase order or production order object, a list of them, or an OData \
             {{\"d\": ...}} response, found {}",
            root.node.value.kind()
        ))),
    }
}

fn one(order: &At, message: &mut Message) -> Result<Option<CanonicalEvent>, MappingError> {
    let object = order.object()?;
    match (
        object.has("PurchaseOrder"),
        object.has("ManufacturingOrder"),
    ) {
        (true, false) => purchase_order::map(&object, message).map(Some),
        (false, true) => {
            let event = production_order::map(&object, message)?;
            if event.is_none() {
                host::log(
                    LogLevel::Info,
                    &format!(
                        "{}: the production order's status publishes no event",
                        order.path
                    ),
                );
            }
            Ok(event)
        }
        (true, true) => Err(order.invalid(
            "has both `PurchaseOrder` and `ManufacturingOrder`; a document is one or the other",
        )),
        (false, false) => Err(order.invalid(
            "is neither a purchase order (no `PurchaseOrder`) nor a production order (no \
             `ManufacturingOrder`)",
        )),
    }
}
