//! The detail section of a DESADV: the CPS hierarchy of packages and the line items packed in them, turned into
//! the ship notice's orders, tares, packs and items.
//!
//! A CPS group is the CPS and the segments after it up to the first LIN or the next CPS (its package section:
//! PAC, MEA, PCI, GIN ...); a line item group is a LIN and the segments after it up to the next LIN, CPS, UNS or
//! CNT, and belongs to the CPS before it. A CPS without a parent (7166) and without an SSCC is the consignment
//! itself; every other CPS is a handling unit. A handling unit that holds other handling units is a tare (a
//! pallet), one that holds none is a pack; three levels of handling units do not fit the ship notice and are
//! refused. Orders come from RFF+ON, a line's own or else the heading's only one, and a handling unit is listed
//! under every order one of its lines belongs to, with that order's lines.

use std::collections::{BTreeMap, HashMap};

use millwright_sdk::edi::view::{Segment, Segments};
use millwright_sdk::edifact;
use millwright_sdk::host::{self, LogLevel, LookupError};
use millwright_sdk::types::{
    Identifier, ItemRef, LotRef, MappingError, OrderRef, Pack, Quantity, Reference, ShipmentOrder,
    ShippedItem, Tare,
};

use crate::header::{self, Facts};
use crate::mapping::Ctx;

/// One CPS group.
struct Package<'a> {
    cps: Segment<'a>,
    /// 7164, trimmed.
    id: &'a str,
    parent: Option<usize>,
    /// The segments after the CPS up to the first LIN or the next CPS.
    section: Segments<'a>,
    /// Whether it is a handling unit (else the consignment).
    unit: bool,
    /// Whether a handling unit is inside it.
    holds_units: bool,
}

/// One line item group.
struct Line<'a> {
    lin: Segment<'a>,
    body: Segments<'a>,
    package: Option<usize>,
}

/// The packages and lines of the detail section, in document order.
fn split<'a>(detail: Segments<'a>) -> (Vec<Package<'a>>, Vec<Line<'a>>) {
    let mut packages: Vec<Package<'a>> = Vec::new();
    let mut lines = Vec::new();
    let mut i = 0;
    while let Some(seg) = detail.get(i) {
        let end = (i + 1..detail.len())
            .find(|&j| {
                detail.get(j).is_some_and(|s| match seg.id() {
                    "CPS" => matches!(s.id(), "CPS" | "LIN"),
                    _ => matches!(s.id(), "CPS" | "LIN" | "UNS" | "CNT"),
                })
            })
            .unwrap_or(detail.len());
        match seg.id() {
            "CPS" => packages.push(Package {
                cps: seg,
                id: seg.el(1).trim(),
                parent: None,
                section: detail.range(i + 1, end),
                unit: false,
                holds_units: false,
            }),
            "LIN" => lines.push(Line {
                lin: seg,
                body: detail.range(i + 1, end),
                package: packages.len().checked_sub(1),
            }),
            _ => {}
        }
        i = end.max(i + 1);
    }
    (packages, lines)
}

/// A package id as CPS ids are compared: the same number (`2` and `02`) or, for ids that are not numbers, the
/// same text.
#[derive(PartialEq, Eq, Hash)]
enum PackageId<'a> {
    Number(u64),
    Text(&'a str),
}

impl<'a> PackageId<'a> {
    fn of(id: &'a str) -> Self {
        match id.parse() {
            Ok(number) => PackageId::Number(number),
            Err(_) => PackageId::Text(id),
        }
    }
}

/// The SSCCs (GIN+BJ) and other marks of a package section.
fn package_marks(section: Segments<'_>) -> (Vec<&str>, Vec<Reference>) {
    let mut ssccs = Vec::new();
    let mut marks = Vec::new();
    for gin in section.all("GIN") {
        let qualifier = gin.el(1);
        for n in 2..=6 {
            let id = gin.component(n, 1);
            if id.is_empty() {
                continue;
            }
            if qualifier == "BJ" {
                ssccs.push(id);
            } else {
                marks.push(Reference::new(qualifier, id));
            }
        }
    }
    (ssccs, marks)
}

/// Links every CPS to its parent and tells the consignment from handling units.
fn build_tree(ctx: &Ctx<'_>, packages: &mut [Package<'_>]) -> Result<(), MappingError> {
    // Found by a hash of the id rather than by a scan: a despatch advice of thousands of labelled cartons must
    // not take quadratic time.
    let mut seen: HashMap<PackageId<'_>, usize> = HashMap::with_capacity(packages.len());
    for i in 0..packages.len() {
        let cps = packages[i].cps;
        if seen.insert(PackageId::of(packages[i].id), i).is_some() {
            return Err(ctx.invalid(
                cps,
                1,
                0,
                "duplicate-package",
                format!("CPS `{}` repeats the id of an earlier CPS", packages[i].id),
            ));
        }
        let parent = match cps.el(2).trim() {
            "" => None,
            parent => Some(
                seen.get(&PackageId::of(parent))
                    .copied()
                    .filter(|&p| p < i)
                    .ok_or_else(|| {
                        ctx.invalid(
                            cps,
                            2,
                            0,
                            "unknown-parent",
                            format!(
                                "CPS `{}` names parent `{parent}`, which is no earlier CPS",
                                packages[i].id
                            ),
                        )
                    })?,
            ),
        };
        let has_sscc = !package_marks(packages[i].section).0.is_empty();
        packages[i].parent = parent;
        packages[i].unit = parent.is_some() || has_sscc;
        if let Some(p) = parent
            && packages[i].unit
            && packages[p].unit
        {
            if packages[p].parent.is_some_and(|g| packages[g].unit) {
                return Err(ctx.invalid(
                    cps,
                    2,
                    0,
                    "too-deep",
                    format!(
                        "CPS `{}` is a third level of packages (inside `{}`, inside `{}`); a ship notice holds \
                         pallets, the packs on them and the items in those",
                        packages[i].id,
                        packages[p].id,
                        packages[packages[p].parent.unwrap_or(p)].id
                    ),
                ));
            }
            packages[p].holds_units = true;
        }
    }
    Ok(())
}

/// The handling-unit fields of a package: SSCC, other marks, package type (PAC 7065), gross weight (MEA AAB,
/// AAD or G).
struct UnitFields {
    sscc: Option<String>,
    marks: Vec<Reference>,
    packaging: Option<String>,
    weight: Option<Quantity>,
}

fn unit_fields(ctx: &mut Ctx<'_>, package: &Package<'_>) -> Result<UnitFields, MappingError> {
    let (ssccs, marks) = package_marks(package.section);
    if ssccs.len() > 1 {
        let gin = package
            .section
            .all("GIN")
            .find(|g| g.el(1) == "BJ")
            .unwrap_or(package.cps);
        return Err(ctx.invalid(
            gin,
            2,
            0,
            "several-packages",
            format!(
                "CPS `{}` carries {} SSCCs ({}); the ship notice needs one CPS per labelled package",
                package.id,
                ssccs.len(),
                ssccs.join(", ")
            ),
        ));
    }
    let packaging = package
        .section
        .find("PAC")
        .map(|pac| pac.component(3, 1))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let weight = match package
        .section
        .all("MEA")
        .find(|m| matches!(m.component(2, 1), "AAB" | "AAD" | "G"))
    {
        Some(mea) => Some(header::measure(ctx, mea)?),
        None => None,
    };
    Ok(UnitFields {
        sscc: ssccs.first().map(|s| (*s).to_owned()),
        marks,
        packaging,
        weight,
    })
}

/// PAC package types (7065, UN/ECE Recommendation 21 and EANCOM's pallet codes) whose Rec 20 unit is
/// unambiguous, for the consignment's package count.
const PACKAGE_UNITS: &[(&str, &str)] = &[
    ("CT", "CT"),
    ("CS", "CS"),
    ("BX", "BX"),
    ("PK", "PK"),
    ("BG", "BG"),
    ("DR", "DR"),
    ("PX", "PF"),
    ("200", "PF"),
    ("201", "PF"),
    ("202", "PF"),
];

/// The consignment's package section: the package count (PAC 7224 with its type) and the weights.
fn consignment(
    ctx: &mut Ctx<'_>,
    package: &Package<'_>,
    facts: &mut Facts,
) -> Result<(), MappingError> {
    for mea in package.section.all("MEA") {
        header::weight(ctx, mea, facts)?;
    }
    let Some(pac) = package.section.all("PAC").find(|pac| !pac.el(1).is_empty()) else {
        return Ok(());
    };
    if facts.lading_quantity.is_some() {
        return Ok(());
    }
    let count = ctx.decimal(pac, 1, 1, "number of packages (7224)")?;
    let kind = pac.component(3, 1);
    let unit = match host::lookup("packaging", kind) {
        Ok(Some(unit)) => Some(unit),
        Ok(None) | Err(LookupError::NoSuchTable(_)) => PACKAGE_UNITS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, unit)| (*unit).to_owned()),
        Err(LookupError::Unavailable(why)) => {
            return Err(MappingError::transient(
                format!("the `packaging` table could not be read: {why}"),
                ctx.at(pac, 3, 1),
            )
            .with_code("lookup-unavailable"));
        }
    };
    match unit {
        Some(unit) => facts.lading_quantity = Some(Quantity::new(count, unit)),
        // The count of packages is informative; a package type without a unit must not park the despatch advice.
        None => host::log(
            LogLevel::Warn,
            &format!(
                "PAC at segment {}: package type `{kind}` has no Rec 20 unit, package count {count} left out; \
                 add it to the `packaging` table",
                pac.index()
            ),
        ),
    }
    Ok(())
}

/// A line item, with the order it fills.
struct Item {
    order: Option<OrderRef>,
    item: ShippedItem,
}

/// The first RFF+ON of a line's body, as an order and the order's line number (C506 1156).
fn line_order(
    ctx: &Ctx<'_>,
    body: Segments<'_>,
) -> Result<Option<(OrderRef, Option<String>)>, MappingError> {
    let Some(at) = body
        .iter()
        .position(|s| s.is("RFF") && s.component(1, 1) == "ON" && !s.component(1, 2).is_empty())
    else {
        return Ok(None);
    };
    let from = body.range(at, body.len());
    let order = header::order_ref(ctx, from)?;
    let line = from
        .get(0)
        .map(|rff| rff.component(1, 3))
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    Ok(Some((order, line)))
}

/// One LIN group: item numbers from LIN and PIA (batches and serials apart), the description (IMD), the
/// despatched (QTY 12) and ordered (QTY 21) quantities, batches and serials from PIA and GIN, the expiry (DTM
/// 36), the order (RFF+ON) and the other references.
fn item(
    ctx: &mut Ctx<'_>,
    line: &Line<'_>,
    heading_orders: &[OrderRef],
) -> Result<Item, MappingError> {
    let (lin, body) = (line.lin, line.body);
    let mut ids = Vec::new();
    let mut lots: Vec<String> = Vec::new();
    let mut serials: Vec<String> = Vec::new();
    let mut item_number =
        |value: &str, kind: &str, lots: &mut Vec<String>, serials: &mut Vec<String>| {
            if value.is_empty() {
                return;
            }
            match kind {
                "NB" => push_new(lots, value),
                "SN" => push_new(serials, value),
                _ => ids.push(Identifier::new(edifact::product_id_scheme(kind), value)),
            }
        };
    item_number(
        lin.component(3, 1),
        lin.component(3, 2),
        &mut lots,
        &mut serials,
    );
    let mut expiry = None;
    for seg in body {
        match seg.id() {
            "PIA" => {
                for n in 2..=6 {
                    item_number(
                        seg.component(n, 1),
                        seg.component(n, 2),
                        &mut lots,
                        &mut serials,
                    );
                }
            }
            "GIN" => {
                let target = match seg.el(1) {
                    "BX" => &mut lots,
                    "BN" => &mut serials,
                    _ => continue,
                };
                for n in 2..=6 {
                    let id = seg.component(n, 1);
                    if !id.is_empty() {
                        push_new(target, id);
                    }
                }
            }
            "DTM" if expiry.is_none() && seg.component(1, 1) == "36" => {
                let dtm = edifact::Dtm {
                    segment: seg,
                    offset: None,
                };
                expiry = Some(dtm.date(ctx.tx)?);
            }
            "RFF" if seg.component(1, 1) != "ON" && !seg.component(1, 2).is_empty() => ctx
                .references
                .push(Reference::new(seg.component(1, 1), seg.component(1, 2))),
            _ => {}
        }
    }
    let description = body.all("IMD").find_map(|imd| {
        let text: Vec<&str> = [imd.component(3, 4), imd.component(3, 5)]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect();
        (!text.is_empty()).then(|| text.join(" "))
    });

    let despatched = body
        .all("QTY")
        .find(|q| q.component(1, 1) == "12")
        .ok_or_else(|| {
            ctx.invalid(
                lin,
                1,
                0,
                "missing-segment",
                format!("LIN `{}` has no QTY+12 (despatched quantity)", lin.el(1)),
            )
        })?;
    let quantity = quantity_of(ctx, despatched)?;
    let quantity_ordered = match body.all("QTY").find(|q| q.component(1, 1) == "21") {
        Some(ordered) => Some(quantity_of(ctx, ordered)?),
        None => None,
    };

    let (order, order_line) = match line_order(ctx, body)? {
        Some((order, order_line)) => (Some(order), order_line),
        None => match heading_orders {
            [] => (None, None),
            [only] => (Some(only.clone()), None),
            several => {
                return Err(ctx.invalid(
                    lin,
                    1,
                    0,
                    "ambiguous-order",
                    format!(
                        "LIN `{}` names no order (RFF+ON) and the heading names {} ({}); give each line its \
                         RFF+ON",
                        lin.el(1),
                        several.len(),
                        several
                            .iter()
                            .map(|o| o.order_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        },
    };
    let line_number = order_line.or_else(|| lin.opt(1).map(str::to_owned));
    Ok(Item {
        order,
        item: ShippedItem {
            line_number,
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
        },
    })
}

/// QTY: the quantity (C186 6060) and its unit (6411; a count of pieces, `PCE`, when empty).
fn quantity_of(ctx: &mut Ctx<'_>, qty: Segment<'_>) -> Result<Quantity, MappingError> {
    let value = ctx.decimal(qty, 1, 2, "quantity (6060)")?;
    let unit = ctx.unit(qty, 1, 3, Some("PCE"), "measure unit (6411)")?;
    Ok(Quantity::new(value, unit))
}

fn push_new(values: &mut Vec<String>, value: &str) {
    if !values.iter().any(|v| v == value) {
        values.push(value.to_owned());
    }
}

/// What one order holds while it is built: loose items, and its handling units by the index of their CPS (so
/// they come out in document order).
#[derive(Default)]
struct OrderContents {
    items: Vec<ShippedItem>,
    /// Top-level handling units by the index of their CPS.
    units: BTreeMap<usize, UnitContents>,
}

/// What one order has in a top-level handling unit.
#[derive(Default)]
struct UnitContents {
    /// The unit's own items (a pack's, or those loose on a tare).
    items: Vec<ShippedItem>,
    /// For a tare: the items of each of its packs, by the index of the pack's CPS.
    packs: BTreeMap<usize, Vec<ShippedItem>>,
}

/// The orders of the message: the heading's, in order, then those only lines name, then, when some line has no
/// order, one group without. Every handling unit with lines is listed under the orders of its lines; one without
/// lines under the first order.
pub(crate) fn orders(
    ctx: &mut Ctx<'_>,
    detail: Segments<'_>,
    facts: &mut Facts,
) -> Result<Vec<ShipmentOrder>, MappingError> {
    let (mut packages, lines) = split(detail);
    build_tree(ctx, &mut packages)?;
    for package in packages.iter().filter(|p| !p.unit) {
        consignment(ctx, package, facts)?;
    }

    let mut groups: Vec<(Option<OrderRef>, OrderContents)> = facts
        .orders
        .iter()
        .map(|o| (Some(o.clone()), OrderContents::default()))
        .collect();
    let group_of = |groups: &mut Vec<(Option<OrderRef>, OrderContents)>,
                    order: Option<OrderRef>| {
        let id = order.as_ref().map(|o| o.order_id.clone());
        match groups
            .iter()
            .position(|(o, _)| o.as_ref().map(|o| &o.order_id) == id.as_ref())
        {
            Some(i) => i,
            None => {
                groups.push((order, OrderContents::default()));
                groups.len() - 1
            }
        }
    };
    // Top-level handling unit and pack (for a pack on a tare) of a package, if it is a handling unit.
    let place = |package: usize| -> Option<(usize, Option<usize>)> {
        let p = &packages[package];
        if !p.unit {
            return None;
        }
        match p.parent {
            Some(parent) if packages[parent].unit => Some((parent, Some(package))),
            _ => Some((package, None)),
        }
    };

    let mut placed = vec![false; packages.len()];
    let heading_orders = facts.orders.clone();
    for line in &lines {
        let Item { order, item } = item(ctx, line, &heading_orders)?;
        let g = group_of(&mut groups, order);
        let contents = &mut groups[g].1;
        match line.package.and_then(place) {
            None => contents.items.push(item),
            Some((top, pack)) => {
                placed[top] = true;
                let unit = contents.units.entry(top).or_default();
                match pack {
                    None => unit.items.push(item),
                    Some(pack) => {
                        placed[pack] = true;
                        unit.packs.entry(pack).or_default().push(item);
                    }
                }
            }
        }
    }
    // Handling units without lines: under the first order that has their tare, else the first order.
    for (package, _) in packages.iter().enumerate() {
        let Some((top, pack)) = place(package) else {
            continue;
        };
        if placed[package] {
            continue;
        }
        let g = match groups.iter().position(|(_, c)| c.units.contains_key(&top)) {
            Some(g) => g,
            None if groups.is_empty() => group_of(&mut groups, None),
            None => 0,
        };
        let unit = groups[g].1.units.entry(top).or_default();
        if let Some(pack) = pack {
            unit.packs.entry(pack).or_default();
        }
        placed[package] = true;
    }

    let mut orders = Vec::with_capacity(groups.len());
    for (order, contents) in groups {
        let mut shipment_order = ShipmentOrder {
            order,
            tares: Vec::new(),
            packs: Vec::new(),
            items: contents.items,
        };
        for (top, UnitContents { items, packs }) in contents.units {
            let fields = unit_fields(ctx, &packages[top])?;
            if packages[top].holds_units {
                let mut tare = Tare {
                    sscc: fields.sscc,
                    marks: fields.marks,
                    packaging: fields.packaging,
                    weight: fields.weight,
                    packs: Vec::new(),
                    items,
                };
                for (pack, items) in packs {
                    tare.packs
                        .push(pack_of(unit_fields(ctx, &packages[pack])?, items));
                }
                shipment_order.tares.push(tare);
            } else {
                shipment_order.packs.push(pack_of(fields, items));
            }
        }
        orders.push(shipment_order);
    }
    Ok(orders)
}

fn pack_of(fields: UnitFields, items: Vec<ShippedItem>) -> Pack {
    Pack {
        sscc: fields.sscc,
        marks: fields.marks,
        packaging: fields.packaging,
        weight: fields.weight,
        items,
    }
}
