//! Canonical JSON for the native tests of the plugins that produce or consume `material-consumption`,
//! `production-completion`, `purchase-order`, `work-order-status`, `quality-hold`, `goods-receipt` and
//! `inventory-movement` events: the same JSON the host writes (WIT names in kebab-case, a variant as
//! `{"case": payload}` or `"case"`, an option as `null` or its value), so a golden file made by
//! `millwright plugin test` is compared key for key with what the harness returns.
//!
//! The SDK's types carry no serde derives, so this module spells the mapping out. It is compiled into the
//! tests of b2mml-production, erp-orders-json, qms-quality-json, erp-inventory-posting and x12-850-purchase-order
//! (by `#[path]`).

#![allow(dead_code)]

use millwright_sdk::types::*;
use serde_json::{Map, Value, json};

/// An event as the host publishes it.
pub fn event(event: &CanonicalEvent) -> Value {
    let payload = match event {
        CanonicalEvent::MaterialConsumption(e) => json!({
            "header": header(&e.header),
            "work-order": e.work_order,
            "operation": e.operation,
            "item": item(&e.item),
            "lot": e.lot.as_ref().map(lot_ref),
            "quantity": quantity(&e.quantity),
            "location": identifier(&e.location),
            "consumed-at": timestamp(&e.consumed_at),
        }),
        CanonicalEvent::ProductionCompletion(e) => json!({
            "header": header(&e.header),
            "work-order": e.work_order,
            "item": item(&e.item),
            "lot-created": e.lot_created.as_ref().map(lot_ref),
            "quantity-good": quantity(&e.quantity_good),
            "quantity-scrap": quantity(&e.quantity_scrap),
            "scrap-reason": e.scrap_reason,
            "location": identifier(&e.location),
            "completed-at": timestamp(&e.completed_at),
            "operation": e.operation,
        }),
        CanonicalEvent::PurchaseOrder(e) => json!({
            "header": header(&e.header),
            "order-id": e.order_id,
            "kind": order_kind(e.kind),
            "purpose": purpose(e.purpose),
            "revision": e.revision,
            "order-date": e.order_date,
            "buyer": party(&e.buyer),
            "supplier": party(&e.supplier),
            "currency": e.currency,
            "lines": e.lines.iter().map(order_line).collect::<Vec<_>>(),
            "references": e.references.iter().map(reference).collect::<Vec<_>>(),
        }),
        CanonicalEvent::WorkOrderStatus(e) => json!({
            "header": header(&e.header),
            "work-order": e.work_order,
            "item": item(&e.item),
            "quantity-planned": quantity(&e.quantity_planned),
            "quantity-done": quantity(&e.quantity_done),
            "state": work_order_state(e.state),
            "at": timestamp(&e.at),
        }),
        CanonicalEvent::QualityHold(e) => json!({
            "header": header(&e.header),
            "hold-id": e.hold_id,
            "scope": hold_scope(&e.scope),
            "reason": e.reason,
            "disposition": disposition(e.disposition),
            "quantity": e.quantity.as_ref().map(quantity),
            "at": timestamp(&e.at),
            "decided-by": e.decided_by,
        }),
        CanonicalEvent::GoodsReceipt(e) => json!({
            "header": header(&e.header),
            "receipt-id": e.receipt_id,
            "ship-notice-ref": e.ship_notice_ref,
            "order-ref": e.order_ref.as_ref().map(order_ref),
            "order-line": e.order_line,
            "item": item(&e.item),
            "quantity-received": quantity(&e.quantity_received),
            "quantity-accepted": quantity(&e.quantity_accepted),
            "quantity-rejected": quantity(&e.quantity_rejected),
            "discrepancy-reason": e.discrepancy_reason,
            "lots": e.lots.iter().map(lot_ref).collect::<Vec<_>>(),
            "location": identifier(&e.location),
            "received-at": timestamp(&e.received_at),
            "posted-at": timestamp(&e.posted_at),
        }),
        CanonicalEvent::InventoryMovement(e) => json!({
            "header": header(&e.header),
            "movement-id": e.movement_id,
            "kind": movement_kind(e.kind),
            "item": item(&e.item),
            "lot": e.lot.as_ref().map(lot_ref),
            "quantity": quantity(&e.quantity),
            "from": e.from.as_ref().map(identifier),
            "to": e.to.as_ref().map(identifier),
            "reason": e.reason,
            "reference-document": e.reference_document.as_ref().map(|d| json!({"kind": d.kind, "id": d.id})),
            "from-status": e.from_status.map(lot_status),
            "to-status": e.to_status.map(lot_status),
        }),
        other => panic!("canonical JSON for {} is not needed here", other.kind()),
    };
    let mut wrapper = Map::new();
    wrapper.insert(event.kind().to_owned(), payload);
    Value::Object(wrapper)
}

/// An envelope around a fixture file exactly as `millwright plugin test --tenant <tenant> --source <source>
/// --now <now>` builds it: message id `file-<first 8 bytes of the SHA-256 in hex>`, correlation id
/// `offline-<the same>`, so a golden file the host wrote compares equal key for key.
pub fn host_envelope(path: &str, source: &str, tenant: &str, now: &str) -> Envelope {
    use sha2::Digest;
    let payload = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let digest: String = sha2::Sha256::digest(&payload)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Envelope {
        source: source.to_owned(),
        tenant: tenant.to_owned(),
        message_id: format!("file-{digest}"),
        correlation_id: format!("offline-{digest}"),
        received_at: Timestamp::utc(now),
        content_type: None,
        file_name: std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        headers: Vec::new(),
        payload,
    }
}

/// Several events, as `millwright plugin test` prints them.
pub fn events(events: &[CanonicalEvent]) -> Value {
    Value::Array(events.iter().map(event).collect())
}

fn header(h: &EventHeader) -> Value {
    json!({
        "id": h.id,
        "source-system": h.source_system,
        "tenant": h.tenant,
        "site": h.site,
        "event-time": timestamp(&h.event_time),
        "correlation-id": h.correlation_id,
        "idempotency-key": h.idempotency_key,
    })
}

fn timestamp(t: &Timestamp) -> Value {
    json!({"utc": t.utc, "original-offset-minutes": t.original_offset_minutes})
}

fn quantity(q: &Quantity) -> Value {
    json!({"value": q.value, "unit": q.unit})
}

fn scheme(s: &IdScheme) -> Value {
    match s {
        IdScheme::BuyerPart => json!("buyer-part"),
        IdScheme::VendorPart => json!("vendor-part"),
        IdScheme::ManufacturerPart => json!("manufacturer-part"),
        IdScheme::Gtin => json!("gtin"),
        IdScheme::EngineeringChange => json!("engineering-change"),
        IdScheme::Sscc => json!("sscc"),
        IdScheme::Duns => json!("duns"),
        IdScheme::Gln => json!("gln"),
        IdScheme::MutuallyDefined => json!("mutually-defined"),
        IdScheme::Internal => json!("internal"),
        IdScheme::Other(q) => json!({"other": q}),
    }
}

fn identifier(i: &Identifier) -> Value {
    json!({"scheme": scheme(&i.scheme), "value": i.value})
}

fn item(i: &ItemRef) -> Value {
    json!({"ids": i.ids.iter().map(identifier).collect::<Vec<_>>(), "description": i.description})
}

fn lot_ref(l: &LotRef) -> Value {
    json!({
        "supplier-lot": l.supplier_lot,
        "internal-lot": l.internal_lot,
        "quantity": l.quantity.as_ref().map(quantity),
        "expiry": l.expiry,
        "serials": l.serials,
        "sub-lot": l.sub_lot,
    })
}

fn lot_status(s: LotStatus) -> &'static str {
    match s {
        LotStatus::Released => "released",
        LotStatus::Quarantined => "quarantined",
        LotStatus::Blocked => "blocked",
    }
}

fn read_lot_status(r: &Reader, key: &str) -> Result<Option<LotStatus>, String> {
    Ok(match r.opt_string(key)?.as_deref() {
        None => None,
        Some("released") => Some(LotStatus::Released),
        Some("quarantined") => Some(LotStatus::Quarantined),
        Some("blocked") => Some(LotStatus::Blocked),
        Some(other) => return Err(format!("{}.{key}: unknown lot status {other:?}", r.path)),
    })
}

fn order_ref(o: &OrderRef) -> Value {
    json!({"order-id": o.order_id, "release": o.release, "order-date": o.order_date})
}

fn party(p: &Party) -> Value {
    json!({
        "ids": p.ids.iter().map(identifier).collect::<Vec<_>>(),
        "name": p.name,
        "roles": p.roles.iter().map(|r| party_role(*r)).collect::<Vec<_>>(),
        "address": p.address.as_ref().map(|a| json!({
            "lines": a.lines,
            "city": a.city,
            "region": a.region,
            "postal-code": a.postal_code,
            "country": a.country,
        })),
        "edi-identities": p.edi_identities.iter().map(|e| json!({"qualifier": e.qualifier, "id": e.id})).collect::<Vec<_>>(),
    })
}

fn order_line(l: &OrderLine) -> Value {
    json!({
        "line-number": l.line_number,
        "item": item(&l.item),
        "quantity": quantity(&l.quantity),
        "price": l.price.as_ref().map(|p| json!({"amount": p.amount, "per-unit": p.per_unit})),
        "requested-date": l.requested_date,
        "ship-to": l.ship_to.as_ref().map(identifier),
    })
}

fn reference(r: &Reference) -> Value {
    json!({"qualifier": r.qualifier, "value": r.value, "description": r.description})
}

fn hold_scope(s: &HoldScope) -> Value {
    match s {
        HoldScope::Item(i) => json!({"item": item(i)}),
        HoldScope::Lot(k) => json!({"lot": {"item": item(&k.item), "lot": k.lot}}),
        HoldScope::Serial(k) => json!({"serial": {"item": item(&k.item), "serial": k.serial}}),
        HoldScope::Location(l) => json!({"location": identifier(l)}),
        HoldScope::HandlingUnit(h) => json!({"handling-unit": h}),
    }
}

fn party_role(r: PartyRole) -> &'static str {
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

fn order_kind(k: OrderKind) -> &'static str {
    match k {
        OrderKind::Standard => "standard",
        OrderKind::Release => "release",
        OrderKind::Blanket => "blanket",
    }
}

fn work_order_state(s: WorkOrderState) -> &'static str {
    match s {
        WorkOrderState::Released => "released",
        WorkOrderState::Started => "started",
        WorkOrderState::Held => "held",
        WorkOrderState::Completed => "completed",
    }
}

fn disposition(d: Disposition) -> &'static str {
    match d {
        Disposition::Hold => "hold",
        Disposition::Release => "release",
        Disposition::Scrap => "scrap",
        Disposition::Rework => "rework",
    }
}

fn movement_kind(k: MovementKind) -> &'static str {
    match k {
        MovementKind::Receipt => "receipt",
        MovementKind::Issue => "issue",
        MovementKind::Transfer => "transfer",
        MovementKind::Adjustment => "adjustment",
        MovementKind::StatusChange => "status-change",
    }
}

// ---- reading canonical JSON back, for the outbound plugin's fixtures -----------------------------------------

/// Reads one canonical event of the kinds the inventory-posting plugin renders (and the two the B2MML
/// plugin makes), and the purchase orders the X12 850 plugin renders. Errors name the JSON path, as the host's
/// reader does.
pub fn read_event(value: &Value) -> Result<CanonicalEvent, String> {
    let object = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or("$: expected {\"<event-type>\": {...}}")?;
    let (kind, payload) = object.iter().next().ok_or("$: empty")?;
    let r = Reader::new(payload, format!("$['{kind}']"))?;
    let event = match kind.as_str() {
        "goods-receipt" => CanonicalEvent::GoodsReceipt(GoodsReceipt {
            header: r.get("header", read_header)?,
            receipt_id: r.string("receipt-id")?,
            ship_notice_ref: r.opt_string("ship-notice-ref")?,
            order_ref: r.opt("order-ref", |r| {
                Ok(OrderRef {
                    order_id: r.string("order-id")?,
                    release: r.opt_string("release")?,
                    order_date: r.opt_string("order-date")?,
                })
            })?,
            order_line: r.opt_string("order-line")?,
            item: r.get("item", read_item)?,
            quantity_received: r.get("quantity-received", read_quantity)?,
            quantity_accepted: r.get("quantity-accepted", read_quantity)?,
            quantity_rejected: r.get("quantity-rejected", read_quantity)?,
            discrepancy_reason: r.opt_string("discrepancy-reason")?,
            lots: r.list("lots", read_lot_ref)?,
            location: r.get("location", read_identifier)?,
            received_at: r.get("received-at", read_timestamp)?,
            posted_at: r.get("posted-at", read_timestamp)?,
        }),
        "inventory-movement" => CanonicalEvent::InventoryMovement(InventoryMovement {
            header: r.get("header", read_header)?,
            movement_id: r.string("movement-id")?,
            kind: match r.string("kind")?.as_str() {
                "receipt" => MovementKind::Receipt,
                "issue" => MovementKind::Issue,
                "transfer" => MovementKind::Transfer,
                "adjustment" => MovementKind::Adjustment,
                "status-change" => MovementKind::StatusChange,
                other => return Err(format!("{}.kind: unknown kind {other:?}", r.path)),
            },
            item: r.get("item", read_item)?,
            lot: r.opt("lot", read_lot_ref)?,
            quantity: r.get("quantity", read_quantity)?,
            from: r.opt("from", read_identifier)?,
            to: r.opt("to", read_identifier)?,
            reason: r.opt_string("reason")?,
            reference_document: r.opt("reference-document", |r| {
                Ok(DocumentRef {
                    kind: r.string("kind")?,
                    id: r.string("id")?,
                })
            })?,
            from_status: read_lot_status(&r, "from-status")?,
            to_status: read_lot_status(&r, "to-status")?,
        }),
        "material-consumption" => CanonicalEvent::MaterialConsumption(MaterialConsumption {
            header: r.get("header", read_header)?,
            work_order: r.string("work-order")?,
            operation: r.opt_string("operation")?,
            item: r.get("item", read_item)?,
            lot: r.opt("lot", read_lot_ref)?,
            quantity: r.get("quantity", read_quantity)?,
            location: r.get("location", read_identifier)?,
            consumed_at: r.get("consumed-at", read_timestamp)?,
        }),
        "production-completion" => CanonicalEvent::ProductionCompletion(ProductionCompletion {
            header: r.get("header", read_header)?,
            work_order: r.string("work-order")?,
            item: r.get("item", read_item)?,
            lot_created: r.opt("lot-created", read_lot_ref)?,
            quantity_good: r.get("quantity-good", read_quantity)?,
            quantity_scrap: r.get("quantity-scrap", read_quantity)?,
            scrap_reason: r.opt_string("scrap-reason")?,
            location: r.get("location", read_identifier)?,
            completed_at: r.get("completed-at", read_timestamp)?,
            operation: r.opt_string("operation")?,
        }),
        "purchase-order" => CanonicalEvent::PurchaseOrder(PurchaseOrder {
            header: r.get("header", read_header)?,
            order_id: r.string("order-id")?,
            kind: match r.string("kind")?.as_str() {
                "standard" => OrderKind::Standard,
                "release" => OrderKind::Release,
                "blanket" => OrderKind::Blanket,
                other => return Err(format!("{}.kind: unknown kind {other:?}", r.path)),
            },
            purpose: match r.string("purpose")?.as_str() {
                "original" => Purpose::Original,
                "replace" => Purpose::Replace,
                "cancel" => Purpose::Cancel,
                "change" => Purpose::Change,
                "confirmation" => Purpose::Confirmation,
                "duplicate" => Purpose::Duplicate,
                other => return Err(format!("{}.purpose: unknown purpose {other:?}", r.path)),
            },
            revision: r.opt_string("revision")?,
            order_date: r.opt_string("order-date")?,
            buyer: r.get("buyer", read_party)?,
            supplier: r.get("supplier", read_party)?,
            currency: r.opt_string("currency")?,
            lines: r.list("lines", read_order_line)?,
            references: r.list("references", read_reference)?,
        }),
        other => return Err(format!("$: reading a {other} event is not needed here")),
    };
    r.done()?;
    Ok(event)
}

/// One JSON object being read, with its path; `done` refuses keys nobody read, as the host does.
struct Reader<'v> {
    object: &'v Map<String, Value>,
    path: String,
    read: std::cell::RefCell<Vec<&'v str>>,
}

impl<'v> Reader<'v> {
    fn new(value: &'v Value, path: String) -> Result<Self, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("{path}: expected an object"))?;
        Ok(Reader {
            object,
            path,
            read: Default::default(),
        })
    }

    fn field(&self, name: &str) -> Option<&'v Value> {
        let (key, value) = self.object.get_key_value(name)?;
        self.read.borrow_mut().push(key.as_str());
        Some(value)
    }

    fn at(&self, name: &str) -> String {
        format!("{}['{name}']", self.path)
    }

    fn get<T>(&self, name: &str, read: impl Fn(&Reader) -> Result<T, String>) -> Result<T, String> {
        let value = self
            .field(name)
            .ok_or_else(|| format!("{}: missing", self.at(name)))?;
        let r = Reader::new(value, self.at(name))?;
        let t = read(&r)?;
        r.done()?;
        Ok(t)
    }

    fn opt<T>(
        &self,
        name: &str,
        read: impl Fn(&Reader) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.field(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.get(name, read).map(Some),
        }
    }

    fn list<T>(
        &self,
        name: &str,
        read: impl Fn(&Reader) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let value = self
            .field(name)
            .ok_or_else(|| format!("{}: missing", self.at(name)))?;
        let items = value
            .as_array()
            .ok_or_else(|| format!("{}: expected an array", self.at(name)))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let r = Reader::new(v, format!("{}[{i}]", self.at(name)))?;
                let t = read(&r)?;
                r.done()?;
                Ok(t)
            })
            .collect()
    }

    fn string(&self, name: &str) -> Result<String, String> {
        match self.field(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(format!("{}: expected a string", self.at(name))),
        }
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, String> {
        match self.field(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(format!("{}: expected a string or null", self.at(name))),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        match self.field(name) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{}: expected strings", self.at(name)))
                })
                .collect(),
            _ => Err(format!("{}: expected an array of strings", self.at(name))),
        }
    }

    fn done(&self) -> Result<(), String> {
        let read = self.read.borrow();
        match self.object.keys().find(|k| !read.contains(&k.as_str())) {
            Some(extra) => Err(format!("{}: unknown field {extra:?}", self.path)),
            None => Ok(()),
        }
    }
}

fn read_header(r: &Reader) -> Result<EventHeader, String> {
    Ok(EventHeader {
        id: r.string("id")?,
        source_system: r.string("source-system")?,
        tenant: r.string("tenant")?,
        site: r.opt_string("site")?,
        event_time: r.get("event-time", read_timestamp)?,
        correlation_id: r.string("correlation-id")?,
        idempotency_key: r.string("idempotency-key")?,
    })
}

fn read_timestamp(r: &Reader) -> Result<Timestamp, String> {
    let offset = match r.field("original-offset-minutes") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| format!("{}: expected an s32", r.at("original-offset-minutes")))?,
        ),
    };
    Ok(Timestamp {
        utc: r.string("utc")?,
        original_offset_minutes: offset,
    })
}

fn read_quantity(r: &Reader) -> Result<Quantity, String> {
    Ok(Quantity::new(r.string("value")?, r.string("unit")?))
}

fn read_identifier(r: &Reader) -> Result<Identifier, String> {
    let scheme = match r.field("scheme") {
        Some(Value::String(s)) => match s.as_str() {
            "buyer-part" => IdScheme::BuyerPart,
            "vendor-part" => IdScheme::VendorPart,
            "manufacturer-part" => IdScheme::ManufacturerPart,
            "gtin" => IdScheme::Gtin,
            "engineering-change" => IdScheme::EngineeringChange,
            "sscc" => IdScheme::Sscc,
            "duns" => IdScheme::Duns,
            "gln" => IdScheme::Gln,
            "mutually-defined" => IdScheme::MutuallyDefined,
            "internal" => IdScheme::Internal,
            other => return Err(format!("{}: unknown scheme {other:?}", r.at("scheme"))),
        },
        Some(Value::Object(o)) if o.len() == 1 && o.get("other").is_some_and(Value::is_string) => {
            IdScheme::Other(o["other"].as_str().unwrap_or_default().to_owned())
        }
        _ => return Err(format!("{}: expected a scheme", r.at("scheme"))),
    };
    Ok(Identifier {
        scheme,
        value: r.string("value")?,
    })
}

fn read_item(r: &Reader) -> Result<ItemRef, String> {
    Ok(ItemRef {
        ids: r.list("ids", read_identifier)?,
        description: r.opt_string("description")?,
    })
}

fn read_lot_ref(r: &Reader) -> Result<LotRef, String> {
    Ok(LotRef {
        supplier_lot: r.opt_string("supplier-lot")?,
        internal_lot: r.opt_string("internal-lot")?,
        quantity: r.opt("quantity", read_quantity)?,
        expiry: r.opt_string("expiry")?,
        serials: r.strings("serials")?,
        sub_lot: r.opt_string("sub-lot")?,
    })
}

fn read_party(r: &Reader) -> Result<Party, String> {
    let roles = r
        .strings("roles")?
        .iter()
        .map(|role| {
            Ok(match role.as_str() {
                "buyer" => PartyRole::Buyer,
                "supplier" => PartyRole::Supplier,
                "ship-from" => PartyRole::ShipFrom,
                "ship-to" => PartyRole::ShipTo,
                "bill-to" => PartyRole::BillTo,
                "remit-to" => PartyRole::RemitTo,
                "carrier" => PartyRole::Carrier,
                "manufacturer" => PartyRole::Manufacturer,
                "customer" => PartyRole::Customer,
                "other" => PartyRole::Other,
                other => return Err(format!("{}: unknown role {other:?}", r.at("roles"))),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Party {
        ids: r.list("ids", read_identifier)?,
        name: r.opt_string("name")?,
        roles,
        address: r.opt("address", |r| {
            Ok(Address {
                lines: r.strings("lines")?,
                city: r.opt_string("city")?,
                region: r.opt_string("region")?,
                postal_code: r.opt_string("postal-code")?,
                country: r.opt_string("country")?,
            })
        })?,
        edi_identities: r.list("edi-identities", |r| {
            Ok(EdiIdentity {
                qualifier: r.string("qualifier")?,
                id: r.string("id")?,
            })
        })?,
    })
}

fn read_order_line(r: &Reader) -> Result<OrderLine, String> {
    Ok(OrderLine {
        line_number: r.string("line-number")?,
        item: r.get("item", read_item)?,
        quantity: r.get("quantity", read_quantity)?,
        price: r.opt("price", |r| {
            Ok(Price {
                amount: r.string("amount")?,
                per_unit: r.opt_string("per-unit")?,
            })
        })?,
        requested_date: r.opt_string("requested-date")?,
        ship_to: r.opt("ship-to", read_identifier)?,
    })
}

fn read_reference(r: &Reader) -> Result<Reference, String> {
    Ok(Reference {
        qualifier: r.string("qualifier")?,
        value: r.string("value")?,
        description: r.opt_string("description")?,
    })
}
