//! What the shipment holds: orders, tares, packs and items, from the HL tree.
//!
//! Items carry every id the sender gave, each with the scheme its qualifier names (never its position in
//! LIN), quantities as sent with their unit mapped to UN/ECE Rec 20, lots and serials. Tares and packs carry
//! their SSCC (`MAN*GM`) and other marks. In the automotive S/I layout there is no order level: items name their
//! order in their own PRF, and items of the same order are grouped under it.

use millwright_sdk::edi::view::Segment;
use millwright_sdk::types::{
    Identifier, ItemRef, LotRef, MappingError, OrderRef, Pack, Quantity, Reference, ShipmentOrder,
    ShippedItem, Tare,
};
use millwright_sdk::x12;

use crate::context::Ctx;
use crate::hierarchy::{Level, Node, Tree};

/// The orders of every shipment in the tree, in document order.
pub(crate) fn orders(
    ctx: &mut Ctx<'_>,
    tree: &Tree<'_>,
) -> Result<Vec<ShipmentOrder>, MappingError> {
    let mut orders: Vec<ShipmentOrder> = Vec::new();
    for &shipment in &tree.shipments {
        for &child in &tree.nodes[shipment].children {
            let node = &tree.nodes[child];
            match node.level {
                Level::Order => orders.push(order(ctx, tree, child)?),
                Level::Tare => {
                    let tare = tare(ctx, tree, child)?;
                    order_for(&mut orders, None).tares.push(tare);
                }
                Level::Pack => {
                    let pack = pack(ctx, tree, child)?;
                    order_for(&mut orders, None).packs.push(pack);
                }
                Level::Item => {
                    let own_order = match node.hl.find("PRF") {
                        Some(prf) => Some(order_ref(ctx, prf)?),
                        None => None,
                    };
                    let item = item(ctx, node)?;
                    order_for(&mut orders, own_order).items.push(item);
                }
                // The tree never puts a shipment under a shipment.
                Level::Shipment => {}
            }
        }
    }
    Ok(orders)
}

/// The order with this reference, created at the end when there is none yet.
fn order_for(orders: &mut Vec<ShipmentOrder>, order: Option<OrderRef>) -> &mut ShipmentOrder {
    let i = match orders.iter().position(|o| o.order == order) {
        Some(i) => i,
        None => {
            orders.push(ShipmentOrder {
                order,
                tares: Vec::new(),
                packs: Vec::new(),
                items: Vec::new(),
            });
            orders.len() - 1
        }
    };
    &mut orders[i]
}

/// PRF: the purchase order number (PRF01), release (PRF02) and order date (PRF04).
fn order_ref(ctx: &Ctx<'_>, prf: Segment<'_>) -> Result<OrderRef, MappingError> {
    let order_date = match prf.opt(4) {
        Some(date) => Some(x12::iso_date(date).ok_or_else(|| {
            ctx.invalid(prf, 4, format!("PRF04 `{date}` is not a CCYYMMDD date"))
        })?),
        None => None,
    };
    Ok(OrderRef {
        order_id: ctx.required(prf, 1)?.to_owned(),
        release: prf.opt(2).map(str::to_owned),
        order_date,
    })
}

fn order(ctx: &mut Ctx<'_>, tree: &Tree<'_>, index: usize) -> Result<ShipmentOrder, MappingError> {
    let node = &tree.nodes[index];
    let mut order = ShipmentOrder {
        order: match node.hl.find("PRF") {
            Some(prf) => Some(order_ref(ctx, prf)?),
            None => None,
        },
        tares: Vec::new(),
        packs: Vec::new(),
        items: Vec::new(),
    };
    for seg in node.hl.all("REF") {
        keep_reference(ctx, seg);
    }
    for &child in &node.children {
        match tree.nodes[child].level {
            Level::Tare => order.tares.push(tare(ctx, tree, child)?),
            Level::Pack => order.packs.push(pack(ctx, tree, child)?),
            Level::Item => order.items.push(item(ctx, &tree.nodes[child])?),
            Level::Shipment | Level::Order => {}
        }
    }
    Ok(order)
}

/// The marks, packaging and weight of a tare or pack.
struct HandlingUnit {
    sscc: Option<String>,
    marks: Vec<Reference>,
    packaging: Option<String>,
    weight: Option<Quantity>,
}

fn handling_unit(ctx: &mut Ctx<'_>, node: &Node<'_>) -> Result<HandlingUnit, MappingError> {
    let mut unit = HandlingUnit {
        sscc: None,
        marks: Vec::new(),
        packaging: None,
        weight: None,
    };
    for seg in node.hl.segments {
        match seg.id() {
            // MAN01/MAN02 and MAN04/MAN05 are two qualified marks; the first GM is the SSCC-18 label.
            "MAN" => {
                for (q, v) in [(1, 2), (4, 5)] {
                    let (qualifier, value) = (seg.el(q), seg.el(v));
                    if value.is_empty() {
                        continue;
                    }
                    if qualifier == "GM" && unit.sscc.is_none() {
                        unit.sscc = Some(value.to_owned());
                    } else {
                        unit.marks.push(Reference::new(qualifier, value));
                    }
                }
            }
            "REF" => {
                if let Some(value) = seg.opt(2) {
                    unit.marks.push(Reference {
                        qualifier: seg.el(1).to_owned(),
                        value: value.to_owned(),
                        description: seg.opt(3).map(str::to_owned),
                    });
                }
            }
            "TD1" => {
                unit.packaging = unit
                    .packaging
                    .take()
                    .or_else(|| seg.opt(1).map(str::to_owned));
                if unit.weight.is_none() && seg.opt(7).is_some() {
                    unit.weight = Some(Quantity::new(ctx.decimal(seg, 7)?, ctx.unit(seg, 8)?));
                }
            }
            _ => {}
        }
    }
    Ok(unit)
}

fn tare(ctx: &mut Ctx<'_>, tree: &Tree<'_>, index: usize) -> Result<Tare, MappingError> {
    let node = &tree.nodes[index];
    let unit = handling_unit(ctx, node)?;
    let mut tare = Tare {
        sscc: unit.sscc,
        marks: unit.marks,
        packaging: unit.packaging,
        weight: unit.weight,
        packs: Vec::new(),
        items: Vec::new(),
    };
    for &child in &node.children {
        match tree.nodes[child].level {
            Level::Pack => tare.packs.push(pack(ctx, tree, child)?),
            Level::Item => tare.items.push(item(ctx, &tree.nodes[child])?),
            _ => {}
        }
    }
    Ok(tare)
}

fn pack(ctx: &mut Ctx<'_>, tree: &Tree<'_>, index: usize) -> Result<Pack, MappingError> {
    let node = &tree.nodes[index];
    let unit = handling_unit(ctx, node)?;
    let items = tree
        .children(index)
        .filter(|child| child.level == Level::Item)
        .map(|child| item(ctx, child))
        .collect::<Result<_, _>>()?;
    Ok(Pack {
        sscc: unit.sscc,
        marks: unit.marks,
        packaging: unit.packaging,
        weight: unit.weight,
        items,
    })
}

/// One item loop: LIN ids, SN1 quantities, PID description, lots and serials from LIN and REF, lot expiry
/// from DTM 036.
fn item(ctx: &mut Ctx<'_>, node: &Node<'_>) -> Result<ShippedItem, MappingError> {
    let hl = node.hl;
    let missing = |tag: &str, what: &str| {
        ctx.invalid(
            hl.hl,
            3,
            format!("item HL {} has no {tag} segment ({what})", hl.id),
        )
    };
    let lin = hl
        .find("LIN")
        .ok_or_else(|| missing("LIN", "item identification"))?;
    let sn1 = hl
        .find("SN1")
        .ok_or_else(|| missing("SN1", "quantity shipped"))?;

    let mut ids = Vec::new();
    let mut lots: Vec<String> = Vec::new();
    let mut serials: Vec<String> = Vec::new();
    for (_, qualifier, value) in lin.pairs(2) {
        if value.is_empty() {
            continue;
        }
        match qualifier {
            "LT" => push_new(&mut lots, value),
            "SN" => push_new(&mut serials, value),
            _ => ids.push(Identifier::new(x12::product_id_scheme(qualifier), value)),
        }
    }
    let mut expiry = None;
    for seg in hl.segments {
        match (seg.id(), seg.el(1)) {
            ("REF", "LT") => seg.opt(2).into_iter().for_each(|v| push_new(&mut lots, v)),
            ("REF", "SE") => seg
                .opt(2)
                .into_iter()
                .for_each(|v| push_new(&mut serials, v)),
            ("REF", _) => keep_reference(ctx, seg),
            ("DTM", "036") => {
                let date = ctx.required(seg, 2)?;
                expiry = Some(x12::iso_date(date).ok_or_else(|| {
                    ctx.invalid(seg, 2, format!("DTM02 `{date}` is not a CCYYMMDD date"))
                })?);
            }
            _ => {}
        }
    }

    let quantity = Quantity::new(ctx.decimal(sn1, 2)?, ctx.unit(sn1, 3)?);
    let quantity_ordered = match sn1.opt(5) {
        Some(_) => Some(Quantity::new(ctx.decimal(sn1, 5)?, ctx.unit(sn1, 6)?)),
        None => None,
    };
    let description = hl.all("PID").find_map(|pid| pid.opt(5)).map(str::to_owned);

    Ok(ShippedItem {
        line_number: lin.opt(1).map(str::to_owned),
        item: ItemRef { ids, description },
        quantity,
        quantity_ordered,
        lots: lots
            .into_iter()
            .map(|lot| LotRef {
                supplier_lot: Some(lot),
                internal_lot: None,
                quantity: None,
                expiry: expiry.clone(),
                serials: Vec::new(),
                sub_lot: None,
            })
            .collect(),
        serials,
    })
}

fn push_new(values: &mut Vec<String>, value: &str) {
    if !values.iter().any(|v| v == value) {
        values.push(value.to_owned());
    }
}

/// A REF the ship notice has no field for, kept with its qualifier.
fn keep_reference(ctx: &mut Ctx<'_>, seg: Segment<'_>) {
    if let Some(value) = seg.opt(2) {
        ctx.references.push(Reference {
            qualifier: seg.el(1).to_owned(),
            value: value.to_owned(),
            description: seg.opt(3).map(str::to_owned),
        });
    }
}
