//! One B2MML production report to its events: every `MaterialActual` of every `SegmentResponse` of every
//! `ProductionResponse`, in document order, becomes a `material-consumption` (`Consumed`, `Consumable`) or a
//! `production-completion` (`Produced`). What an actual does not say itself (where, when) it inherits from
//! the segment response, the production response and the report around it.

use millwright_sdk::host::{self, LogLevel};
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, Identifier, ItemRef, LotRef, MappingError,
    MaterialConsumption, ProductionCompletion, Quantity, Timestamp,
};
use roxmltree::Node;

use crate::document::{self, child, child_text, children, element_path, invalid_at};
use crate::values::{self, Units};

/// The partner profile key naming the site when no `Location` says which site it is.
pub const SITE_KEY: &str = "site";

/// A `Produced` actual's property holding the scrapped part of the output (its `Quantity`).
pub const SCRAP_QUANTITY: &str = "ScrapQuantity";
/// A `Produced` actual's property holding why it was scrapped (its `Value/ValueString`).
pub const SCRAP_REASON: &str = "ScrapReason";

/// Nested `SegmentResponse` and `Location` elements deeper than this are refused: no plant model is that
/// deep, and the walk must not exhaust the stack on a hostile document.
const MAX_DEPTH: usize = 16;

/// Maps one document.
pub fn map(envelope: &Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
    let doc = document::parse(&envelope.payload)?;
    let mut events = Vec::new();
    let mut units = Units::default();
    for (p, performance) in document::performances(&doc)?.into_iter().enumerate() {
        let key = match child_text(&performance, "ID")? {
            Some(id) => id,
            None => format!("{}/{}", envelope.message_id, p + 1),
        };
        let mut report = Report {
            envelope,
            key,
            count: 0,
            units: &mut units,
            events: &mut events,
        };
        let context = Context {
            work_order: None,
            operation: None,
            time: time_of(&performance, &["EndTime", "PublishedDate"])?,
            location: scope_of(&performance)?,
        };
        for response in children(&performance, "ProductionResponse") {
            let Some(work_order) = child_text(&response, "ProductionRequestID")? else {
                return Err(invalid_at(
                    &response,
                    format!(
                        "{} has no ProductionRequestID; expected the work order it reports on",
                        element_path(&response)
                    ),
                ));
            };
            let context = Context {
                work_order: Some(work_order),
                time: time_of(&response, &["EndTime"])?.or(context.time.clone()),
                location: inherit(scope_of(&response)?, &context.location),
                operation: None,
            };
            for segment in children(&response, "SegmentResponse") {
                report.segment(&segment, &context, 0)?;
            }
        }
    }
    Ok(events)
}

/// What an actual inherits from the elements around it.
#[derive(Debug, Clone)]
struct Context {
    work_order: Option<String>,
    operation: Option<String>,
    time: Option<Timestamp>,
    location: Option<Scope>,
}

/// An ISA-95 equipment scope: the innermost equipment named, and the site when one level says `Site`.
#[derive(Debug, Clone)]
struct Scope {
    equipment: String,
    site: Option<String>,
}

/// The events of one `ProductionPerformance`.
struct Report<'r> {
    envelope: &'r Envelope,
    key: String,
    count: usize,
    units: &'r mut Units,
    events: &'r mut Vec<CanonicalEvent>,
}

impl Report<'_> {
    fn segment(
        &mut self,
        segment: &Node,
        outer: &Context,
        depth: usize,
    ) -> Result<(), MappingError> {
        if depth >= MAX_DEPTH {
            return Err(invalid_at(
                segment,
                format!(
                    "{} nests segment responses more than {MAX_DEPTH} deep",
                    element_path(segment)
                ),
            ));
        }
        let operation = match child_text(segment, "ProcessSegmentID")? {
            Some(op) => Some(op),
            None => child_text(segment, "ProductSegmentID")?,
        };
        let context = Context {
            work_order: outer.work_order.clone(),
            operation: operation.or(outer.operation.clone()),
            time: time_of(segment, &["ActualEndTime"])?.or(outer.time.clone()),
            location: inherit(scope_of(segment)?, &outer.location),
        };
        for actual in segment.children().filter(Node::is_element) {
            let legacy_use = match actual.tag_name().name() {
                "MaterialActual" => None,
                "MaterialConsumedActual" => Some("Consumed"),
                "MaterialProducedActual" => Some("Produced"),
                "ConsumableActual" => Some("Consumable"),
                "SegmentResponse" => {
                    self.segment(&actual, &context, depth + 1)?;
                    continue;
                }
                _ => continue,
            };
            self.actual(&actual, legacy_use, &context)?;
        }
        Ok(())
    }

    fn actual(
        &mut self,
        actual: &Node,
        legacy_use: Option<&str>,
        context: &Context,
    ) -> Result<(), MappingError> {
        let path = || element_path(actual);
        let material_use = match legacy_use {
            Some(u) => u.to_owned(),
            None => child_text(actual, "MaterialUse")?.ok_or_else(|| {
                invalid_at(
                    actual,
                    format!(
                        "{} has no MaterialUse; expected Consumed, Consumable or Produced",
                        path()
                    ),
                )
            })?,
        };
        let produced = match material_use.as_str() {
            "Consumed" | "Consumable" => false,
            "Produced" => true,
            other => {
                // Samples, carriers and replaced assets move no stock the ERP plans with.
                host::log(
                    LogLevel::Debug,
                    &format!("{}: MaterialUse `{other}` is not mapped", path()),
                );
                return Ok(());
            }
        };

        let Some(material) = child_text(actual, "MaterialDefinitionID")? else {
            return Err(invalid_at(
                actual,
                format!(
                    "{} has no MaterialDefinitionID; expected the item consumed or produced",
                    path()
                ),
            ));
        };
        let item = ItemRef {
            ids: vec![
                Identifier::internal(material.clone()),
                Identifier::buyer_part(material),
            ],
            description: match child(actual, "Description") {
                Some(d) => document::text(&d)?,
                None => None,
            },
        };
        let lot = lot_of(actual)?;
        let Some(quantity_node) = child(actual, "Quantity") else {
            return Err(invalid_at(
                actual,
                format!(
                    "{} has no Quantity; expected QuantityString and UnitOfMeasure",
                    path()
                ),
            ));
        };
        let quantity = self.quantity(&quantity_node, !produced)?;

        let location = inherit(scope_of(actual)?, &context.location);
        let Some(location) = location else {
            return Err(invalid_at(
                actual,
                format!(
                    "{} has no Location or HierarchyScope, nor has any element around it; expected the \
                     EquipmentID where the material was used",
                    path()
                ),
            ));
        };
        let Some(time) = context.time.clone() else {
            return Err(invalid_at(
                actual,
                format!(
                    "no ActualEndTime on the segment response of {}, nor an EndTime around it; expected \
                     when the material was used",
                    path()
                ),
            ));
        };
        let work_order = context
            .work_order
            .clone()
            .expect("every actual is read inside a ProductionResponse with a work order");

        self.count += 1;
        let header = self.header(&location, time.clone());
        let event = if produced {
            let (quantity_good, quantity_scrap, scrap_reason) = self.scrap(actual, quantity)?;
            CanonicalEvent::ProductionCompletion(ProductionCompletion {
                header,
                work_order,
                item,
                lot_created: lot,
                quantity_good,
                quantity_scrap,
                scrap_reason,
                location: Identifier::internal(location.equipment),
                completed_at: time,
                operation: context.operation.clone(),
            })
        } else {
            CanonicalEvent::MaterialConsumption(MaterialConsumption {
                header,
                work_order,
                operation: context.operation.clone(),
                item,
                lot,
                quantity,
                location: Identifier::internal(location.equipment),
                consumed_at: time,
            })
        };
        self.events.push(event);
        Ok(())
    }

    /// A `Quantity` element: a decimal `QuantityString` and a `UnitOfMeasure` mapped to Rec 20. Only a
    /// consumption may be negative (a return to stock).
    fn quantity(&mut self, node: &Node, may_be_negative: bool) -> Result<Quantity, MappingError> {
        let value_node = child(node, "QuantityString");
        let value = match &value_node {
            Some(v) => document::text(v)?,
            None => None,
        };
        let Some(value) = value else {
            return Err(invalid_at(
                value_node.as_ref().unwrap_or(node),
                format!(
                    "{} has no QuantityString; expected a decimal such as 118 or 412.500",
                    element_path(node)
                ),
            ));
        };
        let value_node = value_node.expect("a value was read from it");
        if !values::is_decimal(&value) {
            return Err(invalid_at(
                &value_node,
                format!(
                    "{} is `{value}`, not a decimal (digits with at most one `.`, such as 412.500)",
                    element_path(&value_node)
                ),
            ));
        }
        if value.starts_with('-') && !may_be_negative {
            return Err(invalid_at(
                &value_node,
                format!(
                    "{} is `{value}`: a produced quantity cannot be negative",
                    element_path(&value_node)
                ),
            ));
        }
        let unit_node = child(node, "UnitOfMeasure");
        let unit = match &unit_node {
            Some(u) => document::text(u)?,
            None => None,
        };
        let Some(unit) = unit else {
            return Err(invalid_at(
                node,
                format!(
                    "{} has no UnitOfMeasure; expected the unit of {value}",
                    element_path(node)
                ),
            ));
        };
        let unit_node = unit_node.expect("a unit was read from it");
        let rec20 = self
            .units
            .resolve(&unit, || document::position(&unit_node))?;
        Ok(Quantity::new(value, rec20))
    }

    /// Good and scrapped output of a `Produced` actual, by its properties: `ScrapQuantity` (a Quantity) is
    /// the scrapped part and the actual's Quantity the good part; `ScrapReason` alone makes the whole actual
    /// scrap. Without either, all of it is good.
    fn scrap(
        &mut self,
        actual: &Node,
        quantity: Quantity,
    ) -> Result<(Quantity, Quantity, Option<String>), MappingError> {
        let mut scrap_quantity = None;
        let mut reason = None;
        for property in children(actual, "MaterialActualProperty") {
            let id = child_text(&property, "ID")?.unwrap_or_default();
            if id.eq_ignore_ascii_case(SCRAP_QUANTITY) {
                let Some(q) = child(&property, "Quantity") else {
                    return Err(invalid_at(
                        &property,
                        format!(
                            "{} ({SCRAP_QUANTITY}) has no Quantity; expected the scrapped quantity",
                            element_path(&property)
                        ),
                    ));
                };
                scrap_quantity = Some(self.quantity(&q, false)?);
            } else if id.eq_ignore_ascii_case(SCRAP_REASON) {
                let value = match child(&property, "Value") {
                    Some(v) => child_text(&v, "ValueString")?,
                    None => None,
                };
                reason = Some(value.ok_or_else(|| {
                    invalid_at(
                        &property,
                        format!(
                            "{} ({SCRAP_REASON}) has no Value/ValueString; expected the reason code",
                            element_path(&property)
                        ),
                    )
                })?);
            }
        }
        Ok(match (scrap_quantity, reason) {
            (Some(scrap), reason) => (quantity, scrap, reason),
            (None, Some(reason)) => {
                let good = Quantity::new(values::zero_like(&quantity.value), quantity.unit.clone());
                (good, quantity, Some(reason))
            }
            (None, None) => {
                let scrap =
                    Quantity::new(values::zero_like(&quantity.value), quantity.unit.clone());
                (quantity, scrap, None)
            }
        })
    }

    fn header(&self, location: &Scope, event_time: Timestamp) -> EventHeader {
        let key = format!("{}:{}", self.key, self.count);
        EventHeader {
            id: format!("b2mml:{key}"),
            source_system: self.envelope.source.clone(),
            tenant: self.envelope.tenant.clone(),
            site: location
                .site
                .clone()
                .or_else(|| host::config(SITE_KEY).filter(|s| !s.trim().is_empty())),
            event_time,
            correlation_id: self.envelope.correlation_id.clone(),
            idempotency_key: format!("{}:{key}", self.envelope.source),
        }
    }
}

/// The lot of an actual: `MaterialLotID` as the internal lot; one `MaterialSubLotID` as its sub-lot, several as
/// serials (a response that names several sub-lots of one quantity is counting single items of the lot, which
/// ISA-95 identifies as sub-lots).
fn lot_of(actual: &Node) -> Result<Option<LotRef>, MappingError> {
    let lot = child_text(actual, "MaterialLotID")?;
    let mut sublots = Vec::new();
    for sublot in children(actual, "MaterialSubLotID") {
        if let Some(id) = document::text(&sublot)? {
            sublots.push(id);
        }
    }
    if lot.is_none() && sublots.is_empty() {
        return Ok(None);
    }
    let sub_lot = if sublots.len() == 1 {
        sublots.pop()
    } else {
        None
    };
    Ok(Some(LotRef {
        supplier_lot: None,
        internal_lot: lot,
        quantity: None,
        expiry: None,
        serials: sublots,
        sub_lot,
    }))
}

/// The first of the named time elements of `node` that is present, read as an `xsd:dateTime`.
fn time_of(node: &Node, names: &[&str]) -> Result<Option<Timestamp>, MappingError> {
    for name in names {
        let Some(element) = child(node, name) else {
            continue;
        };
        if let Some(text) = document::text(&element)? {
            return values::timestamp(&text)
                .map(Some)
                .map_err(|why| invalid_at(&element, format!("{}: {why}", element_path(&element))));
        }
    }
    Ok(None)
}

/// An element's own scope, taking the site from the scope around it when it names none; or the scope around
/// it when it has none.
fn inherit(inner: Option<Scope>, outer: &Option<Scope>) -> Option<Scope> {
    match (inner, outer) {
        (Some(mut inner), Some(outer)) => {
            inner.site = inner.site.or_else(|| outer.site.clone());
            Some(inner)
        }
        (inner, outer) => inner.or_else(|| outer.clone()),
    }
}

/// The equipment scope of `node`: its `HierarchyScope`, or else its (deprecated) `Location`.
fn scope_of(node: &Node) -> Result<Option<Scope>, MappingError> {
    let element = child(node, "HierarchyScope").or_else(|| child(node, "Location"));
    let Some(mut level) = element else {
        return Ok(None);
    };
    let name = level.tag_name().name();
    let mut scope: Option<Scope> = None;
    for _ in 0..MAX_DEPTH {
        let Some(equipment) = child_text(&level, "EquipmentID")? else {
            return Err(invalid_at(
                &level,
                format!("{} has no EquipmentID", element_path(&level)),
            ));
        };
        let is_site = child_text(&level, "EquipmentElementLevel")?.as_deref() == Some("Site");
        let site = match (&scope, is_site) {
            (_, true) => Some(equipment.clone()),
            (Some(outer), false) => outer.site.clone(),
            (None, false) => None,
        };
        scope = Some(Scope { equipment, site });
        match child(&level, name) {
            Some(inner) => level = inner,
            None => return Ok(scope),
        }
    }
    Err(invalid_at(
        &level,
        format!(
            "{} nests more than {MAX_DEPTH} levels",
            element_path(&level)
        ),
    ))
}
