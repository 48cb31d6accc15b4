//! One canonical event to one material document: which movement type each stock change is, where (plant and
//! storage location), in which of the ERP's units, against which order. `README.md` has the movement type
//! table this code implements.

use millwright_sdk::host::{self, LogLevel, LookupError};
use millwright_sdk::types::{
    CanonicalEvent, GoodsReceipt, IdScheme, Identifier, InventoryMovement, ItemRef, LotRef,
    LotStatus, MappingError, MaterialConsumption, MovementKind, OutboundDocument, Position,
    ProductionCompletion, Quantity, Timestamp,
};

use crate::body::{MaterialDocument, MaterialDocumentItem};

/// The event types this plugin renders, as `describe` names them.
pub const RENDERS: [&str; 4] = [
    "canonical:goods-receipt",
    "canonical:inventory-movement",
    "canonical:material-consumption",
    "canonical:production-completion",
];

/// The master-data table from Rec 20 units to the ERP's units.
pub const UNITS_TABLE: &str = "erp-units";
/// The master-data table from canonical location codes to `<plant>/<storage location>`.
pub const LOCATIONS_TABLE: &str = "erp-storage-locations";
/// The profile key naming the cost center issues and scrappings are charged to.
pub const COST_CENTER_KEY: &str = "erp-cost-center";

/// Rec 20 codes and the ERP's units for them; the tenant's `erp-units` table overrides any of them.
pub const BUILT_IN_UNITS: &[(&str, &str)] = &[
    ("H87", "EA"),
    ("C62", "EA"),
    ("EA", "EA"),
    ("KGM", "KG"),
    ("GRM", "G"),
    ("TNE", "TO"),
    ("LBR", "LB"),
    ("MTR", "M"),
    ("MMT", "MM"),
    ("CMT", "CM"),
    ("LTR", "L"),
    ("MLT", "ML"),
    ("MTK", "M2"),
    ("MTQ", "M3"),
    ("CT", "CAR"),
];

const UNRESTRICTED: &str = "01";
const BLOCKED: &str = "07";

/// Renders one event: one `application/json` material document for the four stock events, nothing for any
/// other event type or for an event that changes no stock.
pub fn render(event: CanonicalEvent) -> Result<Vec<OutboundDocument>, MappingError> {
    let kind = event.kind();
    let (document, key, name) = match &event {
        CanonicalEvent::GoodsReceipt(e) => {
            (goods_receipt(e)?, &e.header.idempotency_key, &e.receipt_id)
        }
        CanonicalEvent::MaterialConsumption(e) => {
            (consumption(e)?, &e.header.idempotency_key, &e.header.id)
        }
        CanonicalEvent::ProductionCompletion(e) => {
            (completion(e)?, &e.header.idempotency_key, &e.header.id)
        }
        CanonicalEvent::InventoryMovement(e) => {
            (movement(e)?, &e.header.idempotency_key, &e.movement_id)
        }
        // The contract: an empty list means nothing is sent for this event.
        _ => return Ok(Vec::new()),
    };
    if document.items.is_empty() {
        host::log(
            LogLevel::Info,
            &format!("the {kind} changes no stock the ERP keeps; nothing is posted"),
        );
        return Ok(Vec::new());
    }
    let payload = serde_json::to_vec(&document)
        .expect("the body holds only strings and records with string keys");
    let mut headers = Vec::new();
    if !key.is_empty() {
        // The same event rendered again (a redelivery, a replay) carries the same key, so the ERP can drop it.
        headers.push(("Idempotency-Key".to_owned(), key.clone()));
    }
    Ok(vec![OutboundDocument {
        content_type: "application/json".to_owned(),
        file_name: Some(format!("material-document-{kind}-{}.json", file_safe(name))),
        headers,
        payload,
    }])
}

/// A goods receipt: the accepted quantity to unrestricted stock and the rejected quantity to blocked stock,
/// both `101` against the purchase order (`501` without one).
fn goods_receipt(e: &GoodsReceipt) -> Result<MaterialDocument, MappingError> {
    let at = Path::event("goods-receipt");
    let material = material(&e.item, &at)?;
    let place = place(&e.location, &at.field("location"))?;
    let order = e.order_ref.as_ref().map(|o| o.order_id.clone());
    let (code, movement, ref_type) = match order {
        Some(_) => ("01", "101", Some("B")),
        None => ("05", "501", None),
    };
    let accepted = amount(&e.quantity_accepted, &at.field("quantity-accepted"), false)?;
    let rejected = amount(&e.quantity_rejected, &at.field("quantity-rejected"), false)?;

    let item =
        |quantity: &Amount, lot: Option<&LotRef>, stock: &'static str| MaterialDocumentItem {
            material: material.clone(),
            plant: place.plant.clone(),
            storage_location: place.storage_location.clone(),
            batch: lot.and_then(batch),
            goods_movement_type: movement,
            inventory_stock_type: Some(stock),
            quantity_in_entry_unit: quantity.value.clone(),
            entry_unit: quantity.unit.clone(),
            purchase_order: order.clone(),
            purchase_order_item: order.as_ref().and(e.order_line.clone()),
            manufacturing_order: None,
            goods_movement_ref_doc_type: ref_type,
            issuing_or_receiving_plant: None,
            issuing_or_receiving_storage_location: None,
            cost_center: None,
            shelf_life_expiration_date: lot.and_then(|l| l.expiry.clone()),
            material_document_item_text: e.discrepancy_reason.clone(),
        };

    let mut items = Vec::new();
    match e.lots.as_slice() {
        [] | [_] => {
            let lot = e.lots.first();
            if !accepted.is_zero {
                items.push(item(&accepted, lot, UNRESTRICTED));
            }
            if !rejected.is_zero {
                items.push(item(&rejected, lot, BLOCKED));
            }
        }
        lots => {
            if !rejected.is_zero {
                return Err(at.field("quantity-rejected").invalid(
                    "the receipt splits into several lots and rejects a quantity, and which lot the rejected \
                     quantity belongs to is not said: post one receipt per lot",
                ));
            }
            for (i, lot) in lots.iter().enumerate() {
                let at = at.field("lots").index(i).field("quantity");
                let Some(quantity) = &lot.quantity else {
                    return Err(at.invalid(
                        "the receipt has several lots and this one has no quantity, so its stock cannot be \
                         posted",
                    ));
                };
                let quantity = amount(quantity, &at, false)?;
                if !quantity.is_zero {
                    items.push(item(&quantity, Some(lot), UNRESTRICTED));
                }
            }
        }
    }
    Ok(MaterialDocument {
        goods_movement_code: code,
        posting_date: local_date(&e.posted_at, &at.field("posted-at"))?,
        document_date: local_date(&e.received_at, &at.field("received-at"))?,
        reference_document: e
            .ship_notice_ref
            .clone()
            .unwrap_or_else(|| e.receipt_id.clone()),
        material_document_header_text: e.header.id.clone(),
        items,
    })
}

/// Material issued to a work order (`261`) or returned from it (`262`).
fn consumption(e: &MaterialConsumption) -> Result<MaterialDocument, MappingError> {
    let at = Path::event("material-consumption");
    let material = material(&e.item, &at)?;
    let place = place(&e.location, &at.field("location"))?;
    let quantity = amount(&e.quantity, &at.field("quantity"), true)?;
    let mut items = Vec::new();
    if !quantity.is_zero {
        items.push(MaterialDocumentItem {
            material,
            plant: place.plant,
            storage_location: place.storage_location,
            batch: e.lot.as_ref().and_then(batch),
            goods_movement_type: if quantity.negative { "262" } else { "261" },
            inventory_stock_type: None,
            quantity_in_entry_unit: quantity.value,
            entry_unit: quantity.unit,
            purchase_order: None,
            purchase_order_item: None,
            manufacturing_order: Some(e.work_order.clone()),
            goods_movement_ref_doc_type: None,
            issuing_or_receiving_plant: None,
            issuing_or_receiving_storage_location: None,
            cost_center: None,
            shelf_life_expiration_date: None,
            material_document_item_text: e.operation.as_ref().map(|op| format!("operation {op}")),
        });
    }
    let date = local_date(&e.consumed_at, &at.field("consumed-at"))?;
    Ok(MaterialDocument {
        goods_movement_code: "03",
        posting_date: date.clone(),
        document_date: date,
        reference_document: e.work_order.clone(),
        material_document_header_text: e.header.id.clone(),
        items,
    })
}

/// Good output received from the work order (`101` with reference `F`). Scrap never entered stock, so it is
/// not posted; the item text says how much was scrapped and why, for the person reading the document.
fn completion(e: &ProductionCompletion) -> Result<MaterialDocument, MappingError> {
    let at = Path::event("production-completion");
    let material = material(&e.item, &at)?;
    let place = place(&e.location, &at.field("location"))?;
    let good = amount(&e.quantity_good, &at.field("quantity-good"), false)?;
    let scrap = amount(&e.quantity_scrap, &at.field("quantity-scrap"), false)?;
    let text = (!scrap.is_zero).then(|| {
        let reason = e
            .scrap_reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        format!(
            "scrap {} {}{reason} reported, not posted",
            scrap.value, scrap.unit
        )
    });
    let mut items = Vec::new();
    if !good.is_zero {
        items.push(MaterialDocumentItem {
            material,
            plant: place.plant,
            storage_location: place.storage_location,
            batch: e.lot_created.as_ref().and_then(batch),
            goods_movement_type: "101",
            inventory_stock_type: Some(UNRESTRICTED),
            quantity_in_entry_unit: good.value,
            entry_unit: good.unit,
            purchase_order: None,
            purchase_order_item: None,
            manufacturing_order: Some(e.work_order.clone()),
            goods_movement_ref_doc_type: Some("F"),
            issuing_or_receiving_plant: None,
            issuing_or_receiving_storage_location: None,
            cost_center: None,
            shelf_life_expiration_date: e.lot_created.as_ref().and_then(|l| l.expiry.clone()),
            material_document_item_text: text,
        });
    }
    let date = local_date(&e.completed_at, &at.field("completed-at"))?;
    Ok(MaterialDocument {
        goods_movement_code: "02",
        posting_date: date.clone(),
        document_date: date,
        reference_document: e.work_order.clone(),
        material_document_header_text: e.header.id.clone(),
        items,
    })
}

/// A receipt, issue, transfer or adjustment, by the table in `README.md`.
fn movement(e: &InventoryMovement) -> Result<MaterialDocument, MappingError> {
    let at = Path::event("inventory-movement");
    let material = material(&e.item, &at)?;
    let quantity = amount(&e.quantity, &at.field("quantity"), true)?;
    let reference = e.reference_document.as_ref();
    let order_of = |kind: &str| reference.filter(|r| r.kind == kind).map(|r| r.id.clone());
    let purchase_order = order_of("purchase-order");
    let work_order = order_of("work-order");
    let scrapping = e
        .reason
        .as_deref()
        .is_some_and(|r| r.to_ascii_lowercase().contains("scrap"));
    let cost_center = || host::config(COST_CENTER_KEY).filter(|c| !c.trim().is_empty());

    let mut item = MaterialDocumentItem {
        material,
        plant: String::new(),
        storage_location: None,
        batch: e.lot.as_ref().and_then(batch),
        goods_movement_type: "",
        inventory_stock_type: None,
        quantity_in_entry_unit: quantity.value.clone(),
        entry_unit: quantity.unit.clone(),
        purchase_order: None,
        purchase_order_item: None,
        manufacturing_order: None,
        goods_movement_ref_doc_type: None,
        issuing_or_receiving_plant: None,
        issuing_or_receiving_storage_location: None,
        cost_center: None,
        shelf_life_expiration_date: e.lot.as_ref().and_then(|l| l.expiry.clone()),
        material_document_item_text: e.reason.clone(),
    };
    let code = match e.kind {
        MovementKind::Receipt => {
            let place = place(
                required(&e.to, &at.field("to"), "receipt")?,
                &at.field("to"),
            )?;
            (item.plant, item.storage_location) = (place.plant, place.storage_location);
            let back = quantity.negative;
            if let Some(po) = purchase_order {
                item.goods_movement_type = if back { "102" } else { "101" };
                item.purchase_order = Some(po);
                item.goods_movement_ref_doc_type = Some("B");
                item.inventory_stock_type = Some(UNRESTRICTED);
                "01"
            } else if let Some(wo) = work_order {
                item.goods_movement_type = if back { "102" } else { "101" };
                item.manufacturing_order = Some(wo);
                item.goods_movement_ref_doc_type = Some("F");
                item.inventory_stock_type = Some(UNRESTRICTED);
                "02"
            } else {
                item.goods_movement_type = if back { "502" } else { "501" };
                item.inventory_stock_type = Some(UNRESTRICTED);
                "05"
            }
        }
        MovementKind::Issue => {
            let place = place(
                required(&e.from, &at.field("from"), "issue")?,
                &at.field("from"),
            )?;
            (item.plant, item.storage_location) = (place.plant, place.storage_location);
            // An issue takes stock away (negative); a positive one is a return.
            let back = !quantity.negative;
            if let Some(wo) = work_order {
                item.goods_movement_type = if back { "262" } else { "261" };
                item.manufacturing_order = Some(wo);
            } else if scrapping {
                item.goods_movement_type = if back { "552" } else { "551" };
                item.cost_center = cost_center();
            } else {
                item.goods_movement_type = if back { "202" } else { "201" };
                item.cost_center = cost_center();
            }
            "03"
        }
        MovementKind::Transfer => {
            let from = place(
                required(&e.from, &at.field("from"), "transfer")?,
                &at.field("from"),
            )?;
            let to = place(
                required(&e.to, &at.field("to"), "transfer")?,
                &at.field("to"),
            )?;
            item.goods_movement_type = if from.plant == to.plant { "311" } else { "301" };
            (item.plant, item.storage_location) = (from.plant, from.storage_location);
            item.issuing_or_receiving_plant = Some(to.plant);
            item.issuing_or_receiving_storage_location = to.storage_location;
            "04"
        }
        MovementKind::Adjustment => {
            let (location, path) = match (&e.to, &e.from) {
                (Some(to), _) => (to, at.field("to")),
                (None, Some(from)) => (from, at.field("from")),
                (None, None) => {
                    return Err(at.field("to").invalid(
                        "an adjustment names neither `to` nor `from`, so the ERP cannot tell whose stock \
                         changes",
                    ));
                }
            };
            let place = place(location, &path)?;
            (item.plant, item.storage_location) = (place.plant, place.storage_location);
            if quantity.negative {
                // Stock written off: scrapped to the cost center.
                item.goods_movement_type = "551";
                item.cost_center = cost_center();
                "03"
            } else {
                item.goods_movement_type = "501";
                item.inventory_stock_type = Some(UNRESTRICTED);
                "05"
            }
        }
        MovementKind::StatusChange => {
            let (location, path) = match (&e.from, &e.to) {
                (Some(from), _) => (from, at.field("from")),
                (None, Some(to)) => (to, at.field("to")),
                (None, None) => {
                    return Err(at.field("from").invalid(
                        "a status change names neither `from` nor `to`, so the ERP cannot tell whose stock \
                         changes status",
                    ));
                }
            };
            let place = place(location, &path)?;
            (item.plant, item.storage_location) = (place.plant, place.storage_location);
            item.goods_movement_type = status_change_type(e, &at)?;
            "04"
        }
    };
    let items = if quantity.is_zero {
        Vec::new()
    } else {
        vec![item]
    };
    let date = local_date(
        &e.header.event_time,
        &at.field("header").field("event-time"),
    )?;
    Ok(MaterialDocument {
        goods_movement_code: code,
        posting_date: date.clone(),
        document_date: date,
        reference_document: e.movement_id.clone(),
        material_document_header_text: e.header.id.clone(),
        items,
    })
}

/// The ERP's movement type for a change of stock status: released is unrestricted use, quarantined is quality
/// inspection, blocked is blocked stock.
fn status_change_type(e: &InventoryMovement, at: &Path) -> Result<&'static str, MappingError> {
    use LotStatus::{Blocked, Quarantined, Released};
    let (Some(from), Some(to)) = (e.from_status, e.to_status) else {
        let missing = if e.from_status.is_none() {
            "from-status"
        } else {
            "to-status"
        };
        return Err(at.field(missing).invalid(
            "a status-change movement must say the stock status it leaves (`from-status`) and the one it enters \
             (`to-status`); without both no ERP movement type (321, 343, 344 ...) can be chosen",
        ));
    };
    Ok(match (from, to) {
        (Quarantined, Released) => "321",
        (Released, Quarantined) => "322",
        (Blocked, Released) => "343",
        (Released, Blocked) => "344",
        (Blocked, Quarantined) => "349",
        (Quarantined, Blocked) => "350",
        (Released, Released) | (Quarantined, Quarantined) | (Blocked, Blocked) => {
            return Err(at.field("to-status").invalid(format!(
                "the status change leaves and enters the same status ({}): nothing to post",
                lot_status_name(to)
            )));
        }
    })
}

fn lot_status_name(status: LotStatus) -> &'static str {
    match status {
        LotStatus::Released => "released",
        LotStatus::Quarantined => "quarantined",
        LotStatus::Blocked => "blocked",
    }
}

fn required<'a>(
    location: &'a Option<Identifier>,
    at: &Path,
    kind: &str,
) -> Result<&'a Identifier, MappingError> {
    location.as_ref().ok_or_else(|| {
        at.invalid(format!(
            "a {kind} needs this location, and the ERP cannot post stock without it"
        ))
    })
}

/// The ERP's material number: the item's internal number, else the buyer's part number (the same number
/// for the tenant's own items).
fn material(item: &ItemRef, at: &Path) -> Result<String, MappingError> {
    item.id(&IdScheme::Internal)
        .or_else(|| item.id(&IdScheme::BuyerPart))
        .map(str::to_owned)
        .ok_or_else(|| {
            let sent: Vec<String> = item.ids.iter().map(|id| scheme(&id.scheme)).collect();
            let sent = if sent.is_empty() {
                "none".to_owned()
            } else {
                sent.join(", ")
            };
            at.field("item").field("ids").invalid(format!(
                "the item has neither an internal number nor a buyer's part number (ids sent: {sent}), and \
                 the ERP's material number is one of them"
            ))
        })
}

/// The batch of a lot: the tenant's own lot number, else the supplier's.
fn batch(lot: &LotRef) -> Option<String> {
    lot.internal_lot
        .clone()
        .or_else(|| lot.supplier_lot.clone())
}

/// A quantity for the ERP: the value without its sign, the sign apart, and the unit in the ERP's code.
struct Amount {
    value: String,
    unit: String,
    negative: bool,
    is_zero: bool,
}

fn amount(q: &Quantity, at: &Path, signed: bool) -> Result<Amount, MappingError> {
    let negative = q.value.starts_with('-');
    let value = q.value.strip_prefix('-').unwrap_or(&q.value);
    if !is_decimal(value) {
        return Err(at.field("value").invalid(format!(
            "quantity `{}` is not a decimal number (digits with at most one `.`)",
            q.value
        )));
    }
    if negative && !signed {
        return Err(at.field("value").invalid(format!(
            "quantity `{}` is negative, and it cannot be",
            q.value
        )));
    }
    let unit = erp_unit(&q.unit, &at.field("unit"))?;
    Ok(Amount {
        value: value.to_owned(),
        unit,
        negative,
        is_zero: value.bytes().all(|b| b == b'0' || b == b'.'),
    })
}

fn is_decimal(value: &str) -> bool {
    let mut digits = 0;
    let mut points = 0;
    for b in value.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1
}

/// The ERP's unit for a Rec 20 code: the tenant's `erp-units` table, then the built-in table.
fn erp_unit(rec20: &str, at: &Path) -> Result<String, MappingError> {
    let from_table = match host::lookup(UNITS_TABLE, rec20) {
        Ok(found) => found,
        Err(LookupError::NoSuchTable(_)) => None,
        Err(LookupError::Unavailable(why)) => {
            return Err(MappingError::transient(
                format!("the `{UNITS_TABLE}` table could not be read: {why}"),
                at.position(),
            ));
        }
    };
    from_table
        .or_else(|| {
            BUILT_IN_UNITS
                .iter()
                .find(|(code, _)| *code == rec20)
                .map(|(_, erp)| (*erp).to_owned())
        })
        .ok_or_else(|| {
            MappingError::unknown_reference(
                format!(
                    "unit `{rec20}` is neither in the tenant's `{UNITS_TABLE}` table nor in the built-in \
                     table; add it to `{UNITS_TABLE}` with the ERP's unit"
                ),
                at.position(),
            )
        })
}

/// Where stock is in the ERP: a plant and, usually, a storage location.
struct Place {
    plant: String,
    storage_location: Option<String>,
}

/// A canonical location code as the ERP's plant and storage location: the tenant's `erp-storage-locations`
/// table (`P2-D4` → `P2/0004`) first, else the code split at its first `-` (`P2-D4` → plant `P2`, storage
/// location `D4`; `P2` → plant `P2`).
fn place(location: &Identifier, at: &Path) -> Result<Place, MappingError> {
    let code = location.value.trim();
    if code.is_empty() {
        return Err(at
            .field("value")
            .invalid("the location is empty, and the ERP posts stock to a plant"));
    }
    let mapped = match host::lookup(LOCATIONS_TABLE, code) {
        Ok(found) => found,
        Err(LookupError::NoSuchTable(_)) => None,
        Err(LookupError::Unavailable(why)) => {
            return Err(MappingError::transient(
                format!("the `{LOCATIONS_TABLE}` table could not be read: {why}"),
                at.position(),
            ));
        }
    };
    let (plant, storage_location) = match &mapped {
        Some(row) => match row.split_once('/') {
            Some((plant, sloc)) => (plant.trim(), Some(sloc.trim())),
            None => (row.trim(), None),
        },
        None => match code.split_once('-') {
            Some((plant, sloc)) => (plant, Some(sloc)),
            None => (code, None),
        },
    };
    if plant.is_empty() {
        return Err(at.field("value").invalid(format!(
            "location `{code}` names no plant{}",
            if mapped.is_some() {
                format!(" in the `{LOCATIONS_TABLE}` table")
            } else {
                String::new()
            }
        )));
    }
    Ok(Place {
        plant: plant.to_owned(),
        storage_location: storage_location
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    })
}

/// The calendar day of an instant where it happened: in the sender's offset when the timestamp keeps one,
/// else in UTC.
fn local_date(t: &Timestamp, at: &Path) -> Result<String, MappingError> {
    let bad = || {
        at.field("utc").invalid(format!(
            "`{}` is not an RFC 3339 UTC instant such as 2024-06-11T19:30:00Z",
            t.utc
        ))
    };
    let b = t.utc.as_bytes();
    if b.len() < 17
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.utc.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute)) =
        (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16))
    else {
        return Err(bad());
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return Err(bad());
    }
    let offset = i64::from(t.original_offset_minutes.unwrap_or(0));
    let minutes = days_from_civil(year, month, day) * 1440 + hour * 60 + minute + offset;
    let (y, m, d) = civil_from_days(minutes.div_euclid(1440));
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The canonical (WIT) name of a scheme.
fn scheme(scheme: &IdScheme) -> String {
    match scheme {
        IdScheme::BuyerPart => "buyer-part".to_owned(),
        IdScheme::VendorPart => "vendor-part".to_owned(),
        IdScheme::ManufacturerPart => "manufacturer-part".to_owned(),
        IdScheme::Gtin => "gtin".to_owned(),
        IdScheme::EngineeringChange => "engineering-change".to_owned(),
        IdScheme::Sscc => "sscc".to_owned(),
        IdScheme::Duns => "duns".to_owned(),
        IdScheme::Gln => "gln".to_owned(),
        IdScheme::MutuallyDefined => "mutually-defined".to_owned(),
        IdScheme::Internal => "internal".to_owned(),
        IdScheme::Other(q) => format!("other:{q}"),
    }
}

/// An id made safe for a file name: anything but letters, digits, `.`, `_` and `-` becomes `_`.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A JSON path into the canonical event as the host writes it (RFC 9535; names with a hyphen in brackets).
#[derive(Debug, Clone)]
struct Path(String);

impl Path {
    fn event(kind: &str) -> Self {
        Path(format!("$['{kind}']"))
    }

    fn field(&self, name: &str) -> Self {
        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Path(format!("{}.{name}", self.0))
        } else {
            Path(format!("{}['{name}']", self.0))
        }
    }

    fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }

    fn position(&self) -> Position {
        Position::new().with_json_path(self.0.clone())
    }

    fn invalid(&self, message: impl Into<String>) -> MappingError {
        MappingError::invalid(message, self.position())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dates_follow_the_senders_offset_across_midnight() {
        let date = |utc: &str, offset: Option<i32>| {
            local_date(
                &Timestamp {
                    utc: utc.to_owned(),
                    original_offset_minutes: offset,
                },
                &Path::event("x"),
            )
        };
        assert_eq!(
            date("2024-06-11T19:30:00Z", Some(-300)).as_deref(),
            Ok("2024-06-11")
        );
        assert_eq!(
            date("2024-06-12T02:30:00Z", Some(-300)).as_deref(),
            Ok("2024-06-11")
        );
        assert_eq!(
            date("2024-06-11T23:30:00Z", Some(120)).as_deref(),
            Ok("2024-06-12")
        );
        assert_eq!(
            date("2024-03-01T00:10:00Z", Some(-60)).as_deref(),
            Ok("2024-02-29")
        );
        assert_eq!(
            date("2024-12-31T23:59:00Z", None).as_deref(),
            Ok("2024-12-31")
        );
        assert!(date("11.06.2024", None).is_err());
        assert!(date("2024-13-11T19:30:00Z", None).is_err());
    }

    #[test]
    fn locations_split_into_plant_and_storage_location() {
        let at = Path::event("x");
        let p = place(&Identifier::internal("P2-D4"), &at).expect("valid");
        assert_eq!(
            (p.plant.as_str(), p.storage_location.as_deref()),
            ("P2", Some("D4"))
        );
        let p = place(&Identifier::internal("P2"), &at).expect("valid");
        assert_eq!((p.plant.as_str(), p.storage_location), ("P2", None));
        assert!(place(&Identifier::internal("-D4"), &at).is_err());
        assert!(place(&Identifier::internal(" "), &at).is_err());
    }
}
