//! One canonical event in, one expected-receipt body out: refuse what the ERP cannot take, then copy the ship
//! notice into the shape of `body`.
//!
//! Every refusal is an `invalid-document`: a ship notice without items or without an order to receive
//! against will not improve by retrying. Its diagnostic points with a JSON path into the canonical event as
//! the host writes it (`$['ship-notice'].orders[1].items[0].quantity.value`), so the operator reading the dead
//! letter finds the field in the event they are holding.

use millwright_sdk::types::{
    CanonicalEvent, IdScheme, MappingError, OutboundDocument, Position, Purpose, ShipNotice,
    ShippedItem,
};

use crate::body::{Address, Carrier, ExpectedReceipt, Line, Lot, Party, Quantity, SchemedId};

/// The event types this plugin renders, as `describe` and the refusal of any other type name them.
pub(crate) const RENDERS: &str = "canonical:ship-notice";

/// Renders one event: a `ship-notice` becomes one `application/json` document, anything else is refused.
pub(crate) fn render(
    event: CanonicalEvent,
    receiving_plant: Option<String>,
) -> Result<Vec<OutboundDocument>, MappingError> {
    let notice = match event {
        CanonicalEvent::ShipNotice(notice) => notice,
        other => {
            let kind = other.kind();
            return Err(MappingError::invalid(
                format!(
                    "erp-expected-receipt renders ship-notice events only ({RENDERS}), \
                     not a {kind} event: route only ship notices to this target"
                ),
                Position::new().with_json_path(JsonPath::root().field(kind).0),
            ));
        }
    };
    let receipt = expected_receipt(&notice, receiving_plant)?;
    let payload = serde_json::to_vec(&receipt)
        .expect("the body holds only strings, numbers, lists and records with string keys");
    let mut headers = Vec::new();
    if !notice.header.idempotency_key.is_empty() {
        // The same event rendered again (a redelivery, a replay) carries the same key, so the ERP can drop it.
        headers.push((
            "Idempotency-Key".to_owned(),
            notice.header.idempotency_key.clone(),
        ));
    }
    Ok(vec![OutboundDocument {
        content_type: "application/json".to_owned(),
        file_name: Some(format!(
            "expected-receipt-{}.json",
            file_safe(&receipt.ship_notice_id)
        )),
        headers,
        payload,
    }])
}

/// The body for one ship notice, or the first thing in it the ERP could not take.
fn expected_receipt(
    notice: &ShipNotice,
    receiving_plant: Option<String>,
) -> Result<ExpectedReceipt, MappingError> {
    let at = JsonPath::root().field("ship-notice");

    let ship_notice_id = notice.shipment_id.trim();
    if ship_notice_id.is_empty() {
        return Err(at.field("shipment-id").invalid(
            "the ship notice has no shipment id, and the ERP files expected receipts under it",
        ));
    }
    let supplier = match &notice.ship_from {
        Some(from) if from.name.is_some() || !from.ids.is_empty() => party(from),
        _ => {
            return Err(at.field("ship-from").invalid(
                "the ship notice names no ship-from party (no name, no id), and the ERP needs the supplier",
            ));
        }
    };

    let lines = lines(notice, &at)?;
    if lines.is_empty() {
        return Err(at.field("orders").invalid(
            "the ship notice ships no items, and an expected receipt needs at least one line",
        ));
    }

    Ok(ExpectedReceipt {
        ship_notice_id: ship_notice_id.to_owned(),
        purpose: purpose(notice.purpose),
        correlation_id: notice.header.correlation_id.clone(),
        source_event_id: notice.header.id.clone(),
        source_system: notice.header.source_system.clone(),
        receiving_plant,
        supplier,
        ship_to: notice.ship_to.as_ref().map(party),
        shipped_at: notice.shipped_at.as_ref().map(|t| t.utc.clone()),
        expected_at: notice.expected_at.as_ref().map(|t| t.utc.clone()),
        carrier: notice.carrier.as_ref().map(|c| Carrier {
            scac: c.scac.clone(),
            name: c.name.clone(),
            transport_mode: c.transport_mode.clone(),
        }),
        bill_of_lading: notice.bill_of_lading.clone(),
        tracking_number: notice.tracking.clone(),
        lines,
    })
}

/// Where an item sits in the shipment: its path and the labels around it.
struct Placement<'a> {
    at: JsonPath,
    pack_sscc: Option<&'a str>,
    pallet_sscc: Option<&'a str>,
}

/// Every item of the notice as a line, order by order; within an order, pallets (their packs, then items
/// loose on them), then packs, then unpacked items, as the canonical hierarchy holds them.
fn lines(notice: &ShipNotice, at: &JsonPath) -> Result<Vec<Line>, MappingError> {
    let mut lines = Vec::new();
    for (o, shipment_order) in notice.orders.iter().enumerate() {
        let at = at.field("orders").index(o);
        let mut placed: Vec<(Placement, &ShippedItem)> = Vec::new();
        for (t, tare) in shipment_order.tares.iter().enumerate() {
            let at = at.field("tares").index(t);
            let pallet = tare.sscc.as_deref();
            for (p, pack) in tare.packs.iter().enumerate() {
                let at = at.field("packs").index(p);
                for (i, item) in pack.items.iter().enumerate() {
                    let at = at.field("items").index(i);
                    let pack_sscc = pack.sscc.as_deref();
                    placed.push((
                        Placement {
                            at,
                            pack_sscc,
                            pallet_sscc: pallet,
                        },
                        item,
                    ));
                }
            }
            for (i, item) in tare.items.iter().enumerate() {
                let at = at.field("items").index(i);
                placed.push((
                    Placement {
                        at,
                        pack_sscc: pallet,
                        pallet_sscc: pallet,
                    },
                    item,
                ));
            }
        }
        for (p, pack) in shipment_order.packs.iter().enumerate() {
            let at = at.field("packs").index(p);
            for (i, item) in pack.items.iter().enumerate() {
                let at = at.field("items").index(i);
                let pack_sscc = pack.sscc.as_deref();
                placed.push((
                    Placement {
                        at,
                        pack_sscc,
                        pallet_sscc: None,
                    },
                    item,
                ));
            }
        }
        for (i, item) in shipment_order.items.iter().enumerate() {
            let at = at.field("items").index(i);
            placed.push((
                Placement {
                    at,
                    pack_sscc: None,
                    pallet_sscc: None,
                },
                item,
            ));
        }
        if placed.is_empty() {
            continue;
        }

        // Only an order that ships something must say which order it is.
        let order = match &shipment_order.order {
            Some(order) if !order.order_id.trim().is_empty() => order,
            Some(_) => {
                return Err(at.field("order").field("order-id").invalid(
                    "the order has an empty order id, and the ERP receives items against an order",
                ));
            }
            None => {
                return Err(at.field("order").invalid(format!(
                    "{} item(s) are shipped outside any purchase order, and the ERP receives items \
                     against an order",
                    placed.len()
                )));
            }
        };

        for (placement, item) in placed {
            let line_number = u32::try_from(lines.len() + 1).unwrap_or(u32::MAX);
            lines.push(line(
                line_number,
                &order.order_id,
                order.release.clone(),
                item,
                placement,
            )?);
        }
    }
    Ok(lines)
}

/// One item as a line.
fn line(
    line_number: u32,
    order_id: &str,
    order_release: Option<String>,
    item: &ShippedItem,
    placement: Placement,
) -> Result<Line, MappingError> {
    let at = placement.at;
    let buyer_item = item.item.id(&IdScheme::BuyerPart).map(str::to_owned);
    let supplier_item = item.item.id(&IdScheme::VendorPart).map(str::to_owned);
    if buyer_item.is_none() && supplier_item.is_none() {
        let sent: Vec<String> = item.item.ids.iter().map(|id| scheme(&id.scheme)).collect();
        let sent = if sent.is_empty() {
            "none".to_owned()
        } else {
            sent.join(", ")
        };
        return Err(at.field("item").field("ids").invalid(format!(
            "the item has neither a buyer's nor a supplier's item number (ids sent: {sent}), \
             and the ERP needs one of them to know the material"
        )));
    }
    let quantity = shipped_quantity(&item.quantity, &at.field("quantity"))?;
    let lots = item
        .lots
        .iter()
        .enumerate()
        .map(|(l, lot)| {
            let quantity = match &lot.quantity {
                Some(q) => Some(shipped_quantity(
                    q,
                    &at.field("lots").index(l).field("quantity"),
                )?),
                None => None,
            };
            Ok(Lot {
                supplier_lot: lot.supplier_lot.clone(),
                internal_lot: lot.internal_lot.clone(),
                quantity,
                expiry: lot.expiry.clone(),
                serials: lot.serials.clone(),
            })
        })
        .collect::<Result<Vec<_>, MappingError>>()?;
    Ok(Line {
        line_number,
        order_number: order_id.trim().to_owned(),
        order_release,
        order_line: item.line_number.clone(),
        buyer_item,
        supplier_item,
        gtin: item.item.id(&IdScheme::Gtin).map(str::to_owned),
        description: item.item.description.clone(),
        quantity,
        lots,
        serials: item.serials.clone(),
        sscc: placement.pack_sscc.map(str::to_owned),
        pallet_sscc: placement.pallet_sscc.map(str::to_owned),
    })
}

/// A shipped quantity as the ERP takes it: a non-negative decimal string, kept exactly as sent, and a unit.
fn shipped_quantity(
    q: &millwright_sdk::types::Quantity,
    at: &JsonPath,
) -> Result<Quantity, MappingError> {
    if q.value.starts_with('-') {
        return Err(at.field("value").invalid(format!(
            "quantity `{}` is negative, and a shipped quantity cannot be",
            q.value
        )));
    }
    if !is_decimal(&q.value) {
        return Err(at.field("value").invalid(format!(
            "quantity `{}` is not a decimal number (digits with at most one `.`)",
            q.value
        )));
    }
    if q.unit.trim().is_empty() {
        return Err(at
            .field("unit")
            .invalid(format!("quantity `{}` has no unit", q.value)));
    }
    Ok(Quantity {
        value: q.value.clone(),
        unit: q.unit.clone(),
    })
}

/// Digits with at most one decimal point and at least one digit: `48`, `920.250`, `.5`, `3.`.
fn is_decimal(value: &str) -> bool {
    let mut digits = 0;
    let mut points = 0;
    for c in value.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1
}

fn party(party: &millwright_sdk::types::Party) -> Party {
    Party {
        name: party.name.clone(),
        ids: party
            .ids
            .iter()
            .map(|id| SchemedId {
                scheme: scheme(&id.scheme),
                value: id.value.clone(),
            })
            .collect(),
        address: party.address.as_ref().map(|a| Address {
            lines: a.lines.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        }),
    }
}

/// The canonical (WIT) name of a scheme; a scheme the model has no name for keeps the sender's qualifier.
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
        IdScheme::Other(qualifier) => format!("other:{qualifier}"),
    }
}

/// The canonical (WIT) name of a purpose.
fn purpose(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Original => "original",
        Purpose::Replace => "replace",
        Purpose::Cancel => "cancel",
        Purpose::Change => "change",
        Purpose::Confirmation => "confirmation",
        Purpose::Duplicate => "duplicate",
    }
}

/// A shipment id made safe for a file name: anything but letters, digits, `.`, `_` and `-` becomes `_`.
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

/// A JSON path into the canonical event (RFC 9535): `.name` for plain names, `['ship-notice']` for names with
/// a hyphen, which the shorthand does not allow.
#[derive(Debug, Clone, PartialEq)]
struct JsonPath(String);

impl JsonPath {
    fn root() -> Self {
        JsonPath("$".to_owned())
    }

    fn field(&self, name: &str) -> Self {
        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            JsonPath(format!("{}.{name}", self.0))
        } else {
            JsonPath(format!("{}['{name}']", self.0))
        }
    }

    fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{i}]", self.0))
    }

    /// An `invalid-document` error located here.
    fn invalid(&self, message: impl Into<String>) -> MappingError {
        MappingError::invalid(message, Position::new().with_json_path(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_brackets_only_for_hyphenated_names() {
        let path = JsonPath::root()
            .field("ship-notice")
            .field("orders")
            .index(1)
            .field("items")
            .index(0)
            .field("quantity");
        assert_eq!(path.0, "$['ship-notice'].orders[1].items[0].quantity");
    }

    #[test]
    fn decimals_are_digits_with_at_most_one_point() {
        for ok in ["48", "920.250", "0", ".5", "3."] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".", "1.2.3", "12,5", "1e3", "+4", " 4", "NaN"] {
            assert!(!is_decimal(bad), "{bad:?}");
        }
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_safe("SHP-240611-07"), "SHP-240611-07");
        assert_eq!(file_safe("../a b/c"), ".._a_b_c");
    }
}
