//! What the heading section of a DESADV says: when the goods left and arrive (DTM), the orders, bill of lading
//! and carrier's reference (RFF), who ships and who receives (NAD), the carrier (TDT) and the weights (MEA).
//!
//! Every field is taken from its first occurrence, as the 856 plugin does; a reference the ship notice has no
//! field for is kept with its qualifier. References inside a party's group (NAD's RFF, a VAT number) belong to
//! the party and are not read.

use millwright_sdk::edi::view::{Segment, Segments};
use millwright_sdk::edifact;
use millwright_sdk::types::{
    Address, Carrier, Identifier, MappingError, OrderRef, Party, PartyRole, Quantity, Reference,
    Timestamp,
};

use crate::mapping::Ctx;

/// The shipment-level fields of a ship notice, and the orders the heading names.
#[derive(Default)]
pub(crate) struct Facts {
    pub(crate) shipped_at: Option<Timestamp>,
    pub(crate) expected_at: Option<Timestamp>,
    /// DTM 137, the message's date: the event time when the despatch date is missing.
    pub(crate) document_at: Option<Timestamp>,
    pub(crate) carrier: Option<Carrier>,
    pub(crate) bill_of_lading: Option<String>,
    pub(crate) tracking: Option<String>,
    pub(crate) ship_from: Option<Party>,
    pub(crate) ship_to: Option<Party>,
    pub(crate) gross_weight: Option<Quantity>,
    pub(crate) net_weight: Option<Quantity>,
    pub(crate) lading_quantity: Option<Quantity>,
    /// RFF+ON of the heading, in order, each once.
    pub(crate) orders: Vec<OrderRef>,
}

/// Reads the heading section (every segment before the first CPS or LIN).
pub(crate) fn read(ctx: &mut Ctx<'_>, heading: Segments<'_>) -> Result<Facts, MappingError> {
    let mut facts = Facts::default();
    let (tx, zone) = (ctx.tx, ctx.zone);
    let at = |qualifier: &str| {
        edifact::dtm(heading, qualifier)
            .map(|dtm| dtm.timestamp(tx, zone))
            .transpose()
    };
    facts.shipped_at = at("11")?;
    facts.expected_at = match at("17")? {
        Some(expected) => Some(expected),
        None => at("132")?,
    };
    facts.document_at = at("137")?;

    let (mut ship_from, mut supplier, mut ship_to, mut delivery_party) = (None, None, None, None);
    let mut in_party = false;
    for (i, seg) in heading.iter().enumerate() {
        match seg.id() {
            "NAD" => {
                in_party = true;
                let slot = match seg.el(1) {
                    "SF" => &mut ship_from,
                    "SU" => &mut supplier,
                    "ST" => &mut ship_to,
                    "DP" => &mut delivery_party,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(seg);
                }
            }
            // The party's own references, contacts and places.
            "RFF" | "DTM" | "CTA" | "COM" | "LOC" if in_party => {}
            "RFF" => reference(ctx, heading.range(i, heading.len()), &mut facts)?,
            "TDT" => {
                in_party = false;
                if facts.carrier.is_none() {
                    facts.carrier = carrier(seg);
                }
            }
            "MEA" => {
                in_party = false;
                weight(ctx, seg, &mut facts)?;
            }
            _ => in_party = false,
        }
    }
    facts.ship_from = ship_from
        .or(supplier)
        .map(|nad| party(nad, PartyRole::ShipFrom));
    facts.ship_to = ship_to
        .or(delivery_party)
        .map(|nad| party(nad, PartyRole::ShipTo));
    Ok(facts)
}

/// An RFF (the first segment of `from`): ON an order (with the DTM+171 right after it), BM the bill of lading,
/// CN the carrier's reference, anything else a reference as sent.
fn reference(ctx: &mut Ctx<'_>, from: Segments<'_>, facts: &mut Facts) -> Result<(), MappingError> {
    let Some(rff) = from.get(0) else {
        return Ok(());
    };
    let (qualifier, value) = (rff.component(1, 1), rff.component(1, 2));
    if value.is_empty() {
        return Ok(());
    }
    match qualifier {
        "ON" => {
            let order = order_ref(ctx, from)?;
            if !facts.orders.iter().any(|o| o.order_id == order.order_id) {
                facts.orders.push(order);
            }
        }
        "BM" if facts.bill_of_lading.is_none() => facts.bill_of_lading = Some(value.to_owned()),
        "CN" if facts.tracking.is_none() => facts.tracking = Some(value.to_owned()),
        _ => ctx.references.push(Reference::new(qualifier, value)),
    }
    Ok(())
}

/// RFF+ON (the first segment of `from`) as an order: the number (1154) and the date of a DTM+171 right after
/// it.
pub(crate) fn order_ref(ctx: &Ctx<'_>, from: Segments<'_>) -> Result<OrderRef, MappingError> {
    let order_date = match edifact::dtm(from.range(1, 2), "171") {
        Some(dtm) => Some(dtm.date(ctx.tx)?),
        None => None,
    };
    Ok(OrderRef {
        order_id: from.get(0).map_or("", |rff| rff.component(1, 2)).to_owned(),
        release: None,
        order_date,
    })
}

/// TDT: the carrier (C040) by its SCAC when its code list is the SCAC's (3055 = 182), its name (3128), and the
/// mode of transport (C220 8067) as sent.
fn carrier(tdt: Segment<'_>) -> Option<Carrier> {
    let text = |n: usize, m: usize| Some(tdt.component(n, m)).filter(|v| !v.is_empty());
    let carrier = Carrier {
        scac: text(5, 1)
            .filter(|_| tdt.component(5, 3) == "182")
            .map(str::to_owned),
        name: text(5, 4).map(str::to_owned),
        transport_mode: text(3, 1).map(str::to_owned),
    };
    (carrier.scac.is_some() || carrier.name.is_some() || carrier.transport_mode.is_some())
        .then_some(carrier)
}

/// The measured attribute codes (6313) of a gross and a net weight.
const GROSS: &[&str] = &["AAD", "G"];
const NET: &[&str] = &["AAC", "N"];

/// MEA with a gross (AAD total gross weight, G) or net (AAC total net weight, N) weight, when none was read yet.
pub(crate) fn weight(
    ctx: &mut Ctx<'_>,
    mea: Segment<'_>,
    facts: &mut Facts,
) -> Result<(), MappingError> {
    let attribute = mea.component(2, 1);
    let slot = if GROSS.contains(&attribute) {
        &mut facts.gross_weight
    } else if NET.contains(&attribute) {
        &mut facts.net_weight
    } else {
        return Ok(());
    };
    if slot.is_none() {
        *slot = Some(measure(ctx, mea)?);
    }
    Ok(())
}

/// The value (C174 6314) and unit (C174 6411) of a MEA.
pub(crate) fn measure(ctx: &mut Ctx<'_>, mea: Segment<'_>) -> Result<Quantity, MappingError> {
    let value = ctx.decimal(mea, 3, 2, "measurement value (6314)")?;
    let unit = ctx.unit(mea, 3, 1, None, "measurement unit (6411)")?;
    Ok(Quantity::new(value, unit))
}

/// The non-empty components of element `n`.
fn parts<'a>(nad: Segment<'a>, n: usize) -> Vec<&'a str> {
    nad.element(n)
        .map(|e| e.components().filter(|c| !c.is_empty()).collect())
        .unwrap_or_default()
}

/// NAD: the party id (C082 3039) with the scheme of its code list's agency (3055), the name (C080, its parts
/// joined by a space), the street (C059, one line per part), city (3164), country subdivision (C819 3229),
/// postal code (3251) and country (3207).
fn party(nad: Segment<'_>, role: PartyRole) -> Party {
    let text = |n: usize| Some(nad.el(n)).filter(|v| !v.is_empty()).map(str::to_owned);
    let id = nad.component(2, 1);
    let name = parts(nad, 4);
    let address = Address {
        lines: parts(nad, 5).into_iter().map(str::to_owned).collect(),
        city: text(6),
        region: Some(nad.component(7, 1))
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        postal_code: text(8),
        country: text(9),
    };
    let has_address = !address.lines.is_empty()
        || address.city.is_some()
        || address.region.is_some()
        || address.postal_code.is_some()
        || address.country.is_some();
    Party {
        ids: if id.is_empty() {
            Vec::new()
        } else {
            vec![Identifier::new(
                edifact::party_id_scheme(nad.component(2, 3)),
                id,
            )]
        },
        name: (!name.is_empty()).then(|| name.join(" ")),
        roles: vec![role],
        address: has_address.then_some(address),
        edi_identities: Vec::new(),
    }
}
