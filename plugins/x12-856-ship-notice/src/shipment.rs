//! What the shipment level of an 856 says: when it shipped and arrives, who carries it, its bill of lading
//! and tracking number, where it comes from and goes to, and its weights and handling-unit count.
//!
//! Partners put these segments in the shipment HL loop or, some of them, before the first HL; both places are
//! read, the first occurrence wins.

use millwright_sdk::edi::view::{Segment, Segments};
use millwright_sdk::host::{self, LogLevel, LookupError};
use millwright_sdk::types::{
    Address, Carrier, Identifier, MappingError, Party, PartyRole, Quantity, Reference, Timestamp,
};
use millwright_sdk::x12;

use crate::context::Ctx;
use crate::hierarchy::Tree;

/// The shipment-level fields of a ship notice.
#[derive(Default)]
pub(crate) struct Facts {
    pub(crate) shipped_at: Option<Timestamp>,
    pub(crate) expected_at: Option<Timestamp>,
    pub(crate) carrier: Option<Carrier>,
    pub(crate) bill_of_lading: Option<String>,
    pub(crate) tracking: Option<String>,
    pub(crate) ship_from: Option<Party>,
    pub(crate) ship_to: Option<Party>,
    pub(crate) gross_weight: Option<Quantity>,
    pub(crate) net_weight: Option<Quantity>,
    pub(crate) lading_quantity: Option<Quantity>,
}

/// Reads the header segments and every shipment loop.
pub(crate) fn facts(
    ctx: &mut Ctx<'_>,
    header: Segments<'_>,
    tree: &Tree<'_>,
) -> Result<Facts, MappingError> {
    let mut facts = Facts::default();
    let slices =
        || std::iter::once(header).chain(tree.shipments.iter().map(|&s| tree.nodes[s].hl.segments));
    for segments in slices() {
        read(ctx, segments, &mut facts)?;
    }
    // `SH` (shipper) stands in for a ship-from the sender did not name with `SF`.
    if facts.ship_from.is_none() {
        facts.ship_from = slices().find_map(|segments| {
            let i = segments
                .iter()
                .position(|s| s.is("N1") && s.el(1) == "SH")?;
            Some(party(
                n1_loop(segments.range(i, segments.len())),
                PartyRole::ShipFrom,
            ))
        });
    }
    Ok(facts)
}

fn read(ctx: &mut Ctx<'_>, segments: Segments<'_>, facts: &mut Facts) -> Result<(), MappingError> {
    for (i, seg) in segments.iter().enumerate() {
        match seg.id() {
            "DTM" => match seg.el(1) {
                "011" if facts.shipped_at.is_none() => {
                    facts.shipped_at = Some(ctx.timestamp(seg, 2, 3)?)
                }
                "017" if facts.expected_at.is_none() => {
                    facts.expected_at = Some(ctx.timestamp(seg, 2, 3)?)
                }
                _ => {}
            },
            "TD5" if facts.carrier.is_none() => facts.carrier = carrier(seg),
            "TD1" => td1(ctx, seg, facts)?,
            "MEA" if seg.el(1) == "PD" => mea(ctx, seg, facts)?,
            "REF" => reference(ctx, seg, facts),
            "N1" => {
                let party_loop = n1_loop(segments.range(i, segments.len()));
                match seg.el(1) {
                    "SF" if facts.ship_from.is_none() => {
                        facts.ship_from = Some(party(party_loop, PartyRole::ShipFrom));
                    }
                    "ST" if facts.ship_to.is_none() => {
                        facts.ship_to = Some(party(party_loop, PartyRole::ShipTo));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// TD5: the SCAC when TD502 says the code in TD503 is one (`2`), the routing (TD505) as its name, the transport
/// method (TD504) as sent.
fn carrier(td5: Segment<'_>) -> Option<Carrier> {
    let carrier = Carrier {
        scac: td5.opt(3).filter(|_| td5.el(2) == "2").map(str::to_owned),
        name: td5.opt(5).map(str::to_owned),
        transport_mode: td5.opt(4).map(str::to_owned),
    };
    (carrier.scac.is_some() || carrier.name.is_some() || carrier.transport_mode.is_some())
        .then_some(carrier)
}

/// REF: BM the bill of lading, CN the carrier's tracking (PRO) number, anything else a reference as sent.
fn reference(ctx: &mut Ctx<'_>, seg: Segment<'_>, facts: &mut Facts) {
    let Some(value) = seg.opt(2).or_else(|| seg.opt(3)) else {
        return;
    };
    match seg.el(1) {
        "BM" if facts.bill_of_lading.is_none() => facts.bill_of_lading = Some(value.to_owned()),
        "CN" if facts.tracking.is_none() => facts.tracking = Some(value.to_owned()),
        qualifier => ctx.references.push(Reference {
            qualifier: qualifier.to_owned(),
            value: value.to_owned(),
            description: seg
                .opt(3)
                .filter(|_| seg.opt(2).is_some())
                .map(str::to_owned),
        }),
    }
}

/// TD1: the lading quantity (TD102) in the unit of its packaging form (TD101), and the weight (TD107/TD108),
/// gross unless TD106 says net (`N`).
fn td1(ctx: &mut Ctx<'_>, seg: Segment<'_>, facts: &mut Facts) -> Result<(), MappingError> {
    if facts.lading_quantity.is_none() && seg.opt(2).is_some() {
        facts.lading_quantity = lading_quantity(ctx, seg)?;
    }
    if seg.opt(7).is_some() {
        let weight = Some(Quantity::new(ctx.decimal(seg, 7)?, ctx.unit(seg, 8)?));
        match seg.el(6) {
            "N" if facts.net_weight.is_none() => facts.net_weight = weight,
            "N" => {}
            _ if facts.gross_weight.is_none() => facts.gross_weight = weight,
            _ => {}
        }
    }
    Ok(())
}

/// Packaging forms (the first three characters of TD101) whose UN/ECE Rec 20 code is unambiguous.
const PACKAGING_UNITS: &[(&str, &str)] = &[
    ("CTN", "CT"),
    ("CAS", "CS"),
    ("BOX", "BX"),
    ("PLT", "PF"),
    ("PCS", "H87"),
    ("PKG", "PK"),
    ("BAG", "BG"),
    ("DRM", "DR"),
];

fn lading_quantity(ctx: &Ctx<'_>, seg: Segment<'_>) -> Result<Option<Quantity>, MappingError> {
    let count = ctx.decimal(seg, 2)?;
    let form: String = seg.el(1).trim().chars().take(3).collect();
    let unit = match host::lookup("packaging", &form) {
        Ok(Some(unit)) => Some(unit),
        Ok(None) | Err(LookupError::NoSuchTable(_)) => PACKAGING_UNITS
            .iter()
            .find(|(f, _)| *f == form)
            .map(|(_, unit)| (*unit).to_owned()),
        Err(LookupError::Unavailable(why)) => {
            return Err(MappingError::transient(
                format!("the `packaging` table could not be read: {why}"),
                ctx.at(seg, 1),
            ));
        }
    };
    if unit.is_none() {
        // The count of handling units is informative; a packaging form without a unit must not park the ASN.
        host::log(
            LogLevel::Warn,
            &format!(
                "TD1 at segment {}: packaging `{}` has no Rec 20 unit, lading quantity {count} left out; \
                 add it to the `packaging` table",
                seg.index(),
                seg.el(1)
            ),
        );
    }
    Ok(unit.map(|unit| Quantity::new(count, unit)))
}

/// MEA*PD: physical dimensions, G gross and N net weight, when TD1 gave none.
fn mea(ctx: &mut Ctx<'_>, seg: Segment<'_>, facts: &mut Facts) -> Result<(), MappingError> {
    let slot = match seg.el(2) {
        "G" => &mut facts.gross_weight,
        "N" => &mut facts.net_weight,
        _ => return Ok(()),
    };
    if slot.is_none() && seg.opt(3).is_some() {
        let value = ctx.decimal(seg, 3)?;
        let unit = ctx.unit(seg, 4)?;
        *slot = Some(Quantity::new(value, unit));
    }
    Ok(())
}

/// The N1 segment and the N2/N3/N4/PER segments after it.
fn n1_loop(from_n1: Segments<'_>) -> Segments<'_> {
    let end = from_n1
        .iter()
        .skip(1)
        .position(|s| !matches!(s.id(), "N2" | "N3" | "N4" | "PER"))
        .map_or(from_n1.len(), |p| p + 1);
    from_n1.range(0, end)
}

fn party(n1_loop: Segments<'_>, role: PartyRole) -> Party {
    let mut party = Party {
        ids: Vec::new(),
        name: None,
        roles: vec![role],
        address: None,
        edi_identities: Vec::new(),
    };
    let mut address = Address {
        lines: Vec::new(),
        city: None,
        region: None,
        postal_code: None,
        country: None,
    };
    let mut has_address = false;
    for seg in n1_loop {
        match seg.id() {
            "N1" => {
                party.name = seg.opt(2).map(str::to_owned);
                if let Some(id) = seg.opt(4) {
                    party
                        .ids
                        .push(Identifier::new(x12::party_id_scheme(seg.el(3)), id));
                }
            }
            "N3" => {
                address.lines.extend(
                    [seg.opt(1), seg.opt(2)]
                        .into_iter()
                        .flatten()
                        .map(str::to_owned),
                );
                has_address = true;
            }
            "N4" => {
                address.city = seg.opt(1).map(str::to_owned);
                address.region = seg.opt(2).map(str::to_owned);
                address.postal_code = seg.opt(3).map(str::to_owned);
                address.country = seg.opt(4).map(str::to_owned);
                has_address = true;
            }
            _ => {}
        }
    }
    if has_address {
        party.address = Some(address);
    }
    party
}
