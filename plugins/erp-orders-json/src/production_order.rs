//! A production order as the ERP sends it (modelled on SAP S/4HANA's `A_ProductionOrder_2`; `README.md`
//! documents every member) to a canonical `work-order-status`.

use millwright_sdk::types::{
    CanonicalEvent, Identifier, ItemRef, MappingError, Quantity, WorkOrderState, WorkOrderStatus,
};

use crate::json::Object;
use crate::mapping::Message;

/// The ERP's system statuses and the canonical state each is; `None`: the status publishes no event (the
/// order is not released yet, or is deleted: the canonical work order has no such state).
pub const STATUSES: &[(&str, Option<WorkOrderState>)] = &[
    ("CRTD", None),
    ("REL", Some(WorkOrderState::Released)),
    ("PCNF", Some(WorkOrderState::Started)),
    ("PDLV", Some(WorkOrderState::Started)),
    ("CNF", Some(WorkOrderState::Completed)),
    ("DLV", Some(WorkOrderState::Completed)),
    ("TECO", Some(WorkOrderState::Completed)),
    ("CLSD", Some(WorkOrderState::Completed)),
    ("LKD", Some(WorkOrderState::Held)),
    ("DLT", None),
];

/// Maps one production order; `None` when its status publishes nothing.
pub fn map(order: &Object, message: &mut Message) -> Result<Option<CanonicalEvent>, MappingError> {
    let work_order = order.string("ManufacturingOrder")?;
    let status_at = order.required("OrderStatus")?;
    let status = status_at.text()?.unwrap_or_default();
    let Some((_, state)) = STATUSES.iter().find(|(code, _)| *code == status) else {
        let codes: Vec<&str> = STATUSES.iter().map(|(c, _)| *c).collect();
        return Err(status_at.invalid(format!(
            "`{status}` is not a production order status; expected one of {}",
            codes.join(", ")
        )));
    };
    let material = order.string("Material")?;
    let planned = order.required("TotalQuantity")?.decimal(false)?;
    let unit = message.units.resolve(&order.required("ProductionUnit")?)?;
    let done = match order.opt("MfgOrderConfirmedYieldQty") {
        Some(at) => at.decimal(false)?,
        None => zero_like(&planned),
    };
    let last_change = match order.opt("LastChangeDateTime") {
        Some(at) => Some(at.timestamp()?),
        None => None,
    };
    let Some(state) = *state else {
        return Ok(None);
    };
    let at = last_change
        .clone()
        .unwrap_or_else(|| message.envelope.received_at.clone());
    let version = message.version(last_change.as_ref());
    let header = message.header(
        &format!("ManufacturingOrder:{work_order}:{status}:{version}"),
        order.opt_string("ProductionPlant")?,
        at.clone(),
    );
    Ok(Some(CanonicalEvent::WorkOrderStatus(WorkOrderStatus {
        header,
        work_order,
        item: ItemRef {
            ids: vec![
                Identifier::internal(material.clone()),
                Identifier::buyer_part(material),
            ],
            description: order.opt_string("MaterialName")?,
        },
        quantity_planned: Quantity::new(planned, unit.clone()),
        quantity_done: Quantity::new(done, unit),
        state,
        at,
    })))
}

/// Zero with the scale of `like`: `0` for `120`, `0.000` for `120.000`.
fn zero_like(like: &str) -> String {
    match like.split_once('.') {
        Some((_, fraction)) if !fraction.is_empty() => format!("0.{}", "0".repeat(fraction.len())),
        _ => "0".to_owned(),
    }
}
