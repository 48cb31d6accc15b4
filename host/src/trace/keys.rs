//! The business keys a message carries: read from canonical events (what the mappings made of a document), and,
//! for an X12 document that never became events (a dead letter), from the few segments that name an order or a
//! shipment.

use serde_json::Value;

use super::{Key, KeyKind};

/// The keys of one canonical event (`{"<event-type>": {...}}`), without its correlation id: the purchase
/// orders, shipments, lots and work orders it names, each once, in the order found.
pub fn of_event(event: &Value) -> Vec<Key> {
    let mut keys = Keys::default();
    let Some((event_type, body)) = event.as_object().and_then(|o| o.iter().next()) else {
        return Vec::new();
    };
    match event_type.as_str() {
        "purchase-order" | "order-acknowledgment" => keys.add(KeyKind::Po, &body["order-id"]),
        "ship-notice" => {
            keys.add(KeyKind::Shipment, &body["shipment-id"]);
            for order in body["orders"].as_array().into_iter().flatten() {
                keys.add(KeyKind::Po, &order["order"]["order-id"]);
            }
        }
        "goods-receipt" => {
            keys.add(KeyKind::Shipment, &body["ship-notice-ref"]);
            keys.add(KeyKind::Po, &body["order-ref"]["order-id"]);
        }
        "material-consumption" | "production-completion" | "work-order-status" => {
            keys.add(KeyKind::Wo, &body["work-order"]);
        }
        "quality-hold" => keys.add(KeyKind::Lot, &body["scope"]["lot"]["lot"]),
        _ => {}
    }
    lots(body, &mut keys);
    keys.0
}

/// The keys of an alert: what it is about (`lot:B2406-17`, `purchase-order:…`, `work-order:…`) and the lots and
/// documents it concerns.
pub fn of_alert(subject: &str, concerns: &Value) -> Vec<Key> {
    let mut keys = Keys::default();
    if let Some((kind, value)) = subject.split_once(':')
        && let Some(kind) = document_kind(kind)
    {
        keys.push(Key::new(kind, value));
    }
    for lot in concerns["lots"].as_array().into_iter().flatten() {
        keys.add(KeyKind::Lot, lot);
    }
    for document in concerns["documents"].as_array().into_iter().flatten() {
        if let Some(kind) = document["kind"].as_str().and_then(document_kind) {
            keys.add(kind, &document["id"]);
        }
    }
    keys.0
}

/// The kind of key a document kind names, as alerts and subjects write them.
fn document_kind(kind: &str) -> Option<KeyKind> {
    match kind {
        "lot" => Some(KeyKind::Lot),
        "purchase-order" | "po" => Some(KeyKind::Po),
        "ship-notice" | "shipment" => Some(KeyKind::Shipment),
        "work-order" | "wo" => Some(KeyKind::Wo),
        _ => None,
    }
}

/// Every lot number anywhere in an event: `internal-lot` and `supplier-lot` of its lot references (a ship
/// notice's packs and items, a receipt's lots, a consumption's lot, a completion's lot created, a movement's).
fn lots(value: &Value, keys: &mut Keys) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map {
                if name == "internal-lot" || name == "supplier-lot" {
                    keys.add(KeyKind::Lot, inner);
                } else {
                    lots(inner, keys);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| lots(v, keys)),
        _ => {}
    }
}

/// The orders and shipments an X12 document names, read without the mapping: `BEG03` (850), `BAK03` (855),
/// `PRF01` (856), `BSN02` (856, the shipment). For a document that failed before it became events, so its dead
/// letter is found under its purchase order. Anything that is not an X12 interchange names nothing.
pub fn of_x12(payload: &[u8]) -> Vec<Key> {
    let mut keys = Keys::default();
    let start = payload
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(payload.len());
    let doc = &payload[start..];
    if doc.len() < 106 || !doc.starts_with(b"ISA") {
        return Vec::new();
    }
    let (element, terminator) = (doc[3], doc[105]);
    if element.is_ascii_alphanumeric() || terminator.is_ascii_alphanumeric() {
        return Vec::new();
    }
    for segment in doc.split(|b| *b == terminator) {
        let segment = segment.trim_ascii();
        let mut elements = segment.split(|b| *b == element);
        let (kind, position) = match elements.next() {
            Some(b"BEG" | b"BAK") => (KeyKind::Po, 3),
            Some(b"PRF") => (KeyKind::Po, 1),
            Some(b"BSN") => (KeyKind::Shipment, 2),
            _ => continue,
        };
        if let Some(value) = elements.nth(position - 1)
            && let Ok(value) = std::str::from_utf8(value)
        {
            keys.push(Key::new(kind, value.trim()));
        }
    }
    keys.0
}

/// Keys, each once.
#[derive(Default)]
struct Keys(Vec<Key>);

impl Keys {
    fn add(&mut self, kind: KeyKind, value: &Value) {
        if let Some(value) = value.as_str() {
            self.push(Key::new(kind, value.trim()));
        }
    }

    fn push(&mut self, key: Key) {
        if !key.value.is_empty() && !self.0.contains(&key) {
            self.0.push(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(keys: &[Key]) -> Vec<String> {
        keys.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_ship_notice_names_its_shipment_its_orders_and_every_lot_in_its_packs() {
        let event = json!({"ship-notice": {"shipment-id": "SHP-1", "orders": [
            {"order": {"order-id": "4500020114"}, "tares": [], "packs": [{"items": [{"lots": [
                {"internal-lot": null, "supplier-lot": "B2406-17"}]}]}], "items": []},
            {"order": {"order-id": "4500020114"}, "tares": [], "packs": [], "items": [{"lots": [
                {"internal-lot": "L-9", "supplier-lot": "B2406-17"}]}]}]}});
        assert_eq!(
            texts(&of_event(&event)),
            ["shipment:SHP-1", "po:4500020114", "lot:B2406-17", "lot:L-9"]
        );
    }

    #[test]
    fn orders_receipts_work_orders_and_holds_name_their_keys() {
        let po = json!({"purchase-order": {"order-id": "4500019921", "lines": []}});
        assert_eq!(texts(&of_event(&po)), ["po:4500019921"]);
        let receipt = json!({"goods-receipt": {"ship-notice-ref": "SHP-1",
            "order-ref": {"order-id": "4500019921"}, "lots": [{"internal-lot": "L1"}]}});
        assert_eq!(
            texts(&of_event(&receipt)),
            ["shipment:SHP-1", "po:4500019921", "lot:L1"]
        );
        let consumption = json!({"material-consumption": {"work-order": "WO-1",
            "lot": {"internal-lot": "B2406-17", "supplier-lot": " "}}});
        assert_eq!(texts(&of_event(&consumption)), ["wo:WO-1", "lot:B2406-17"]);
        let hold = json!({"quality-hold": {"scope": {"lot": {"item": {}, "lot": "B2406-17"}}}});
        assert_eq!(texts(&of_event(&hold)), ["lot:B2406-17"]);
        assert!(of_event(&json!({"exception": {"kind": "x"}})).is_empty());
    }

    #[test]
    fn an_x12_document_names_its_orders_and_shipment_without_its_mapping() {
        let doc = std::fs::read(
            crate::trace::tests::root()
                .join("examples/plant/documents/brightwire-856-SHP-BW-240617-01.x12"),
        )
        .expect("856");
        assert_eq!(
            texts(&of_x12(&doc)),
            ["shipment:SHP-BW-240617-01", "po:4500020114"]
        );
        assert!(of_x12(b"{\"not\": \"x12\"}").is_empty());
        assert!(of_x12(b"ISA*00*short~").is_empty());
    }

    #[test]
    fn an_alert_names_what_it_is_about_and_what_it_concerns() {
        let concerns =
            json!({"lots": ["B2406-17"], "documents": [{"kind": "work-order", "id": "WO-1"}]});
        assert_eq!(
            texts(&of_alert("lot:B2406-17", &concerns)),
            ["lot:B2406-17", "wo:WO-1"]
        );
    }
}
