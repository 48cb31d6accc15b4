//! A purchase order as the ERP sends it (modelled on SAP S/4HANA's `A_PurchaseOrder` with its items and
//! schedule lines; `README.md` documents every member) to a canonical `purchase-order`.

use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Identifier, ItemRef, MappingError, OrderKind, OrderLine, Party, PartyRole,
    Price, PurchaseOrder, Purpose, Quantity, Reference,
};

use crate::json::Object;
use crate::mapping::Message;

/// The profile key naming the buyer party (the tenant itself) on purchase orders.
pub const BUYER_NAME_KEY: &str = "buyer-name";

/// Maps one purchase order.
pub fn map(po: &Object, message: &mut Message) -> Result<CanonicalEvent, MappingError> {
    let order_id = po.string("PurchaseOrder")?;
    let change_type = po.required("ChangeType")?;
    let purpose = match change_type.text()?.as_deref() {
        Some("create") => Purpose::Original,
        // The ERP sends the whole order as it stands after the change, so it replaces the earlier one.
        Some("change") => Purpose::Replace,
        Some("cancel") => Purpose::Cancel,
        other => {
            return Err(change_type.invalid(format!(
                "`{}` is not a change type; expected \"create\", \"change\" or \"cancel\"",
                other.unwrap_or_default()
            )));
        }
    };
    let kind = match po.opt_string("PurchaseOrderType")?.as_deref() {
        Some("FO") => OrderKind::Blanket,
        Some("LP") => OrderKind::Release,
        _ => OrderKind::Standard,
    };
    let order_date = match po.opt("PurchaseOrderDate") {
        Some(at) => Some(at.date()?),
        None => None,
    };
    let last_change = match po.opt("LastChangeDateTime") {
        Some(at) => Some(at.timestamp()?),
        None => None,
    };

    let supplier_number = po.string("Supplier")?;
    let mut supplier_ids = vec![Identifier::internal(supplier_number)];
    if let Some(gln) = po.opt_string("SupplierGLN")? {
        supplier_ids.push(Identifier::gln(gln));
    }
    let supplier = Party {
        ids: supplier_ids,
        name: po.opt_string("SupplierName")?,
        roles: vec![PartyRole::Supplier],
        address: None,
        edi_identities: Vec::new(),
    };
    let buyer = Party {
        ids: po
            .opt_string("CompanyCode")?
            .map(Identifier::internal)
            .into_iter()
            .collect(),
        name: host::config(BUYER_NAME_KEY).filter(|n| !n.trim().is_empty()),
        roles: vec![PartyRole::Buyer],
        address: None,
        edi_identities: Vec::new(),
    };

    let mut references = Vec::new();
    for (member, qualifier) in [
        ("PurchasingOrganization", "purchasing-organization"),
        ("PurchasingGroup", "purchasing-group"),
    ] {
        if let Some(value) = po.opt_string(member)? {
            references.push(Reference::new(qualifier, value));
        }
    }

    let items = po.required("to_PurchaseOrderItem")?;
    let mut lines = Vec::new();
    let mut plant = None;
    for item in items.items()? {
        let (line, item_plant) = line(&item.object()?, message)?;
        plant = plant.or(item_plant);
        lines.push(line);
    }
    if lines.is_empty() && purpose != Purpose::Cancel {
        return Err(
            items.invalid("holds no items; an order that is not cancelled needs at least one")
        );
    }

    let event_time = last_change
        .clone()
        .unwrap_or_else(|| message.envelope.received_at.clone());
    let change = change_type.text()?.unwrap_or_default();
    let version = message.version(last_change.as_ref());
    let header = message.header(
        &format!("PurchaseOrder:{order_id}:{change}:{version}"),
        plant,
        event_time,
    );
    Ok(CanonicalEvent::PurchaseOrder(PurchaseOrder {
        header,
        order_id,
        kind,
        purpose,
        revision: None,
        order_date,
        buyer,
        supplier,
        currency: po.opt_string("DocumentCurrency")?,
        lines,
        references,
    }))
}

/// One `to_PurchaseOrderItem` entry, and the plant it is for.
fn line(item: &Object, message: &mut Message) -> Result<(OrderLine, Option<String>), MappingError> {
    let line_number = item.string("PurchaseOrderItem")?;
    let material = item.string("Material")?;
    let mut ids = vec![
        Identifier::internal(material.clone()),
        Identifier::buyer_part(material),
    ];
    if let Some(vendor) = item.opt_string("SupplierMaterialNumber")? {
        ids.push(Identifier::vendor_part(vendor));
    }
    let value = item.required("OrderQuantity")?.decimal(false)?;
    let unit = message
        .units
        .resolve(&item.required("PurchaseOrderQuantityUnit")?)?;
    let price = match item.opt("NetPriceAmount") {
        Some(amount) => {
            let amount = amount.decimal(false)?;
            let per_unit = match item.opt("OrderPriceUnit") {
                Some(at) => Some(message.units.resolve(&at)?).filter(|u| *u != unit),
                None => None,
            };
            Some(Price { amount, per_unit })
        }
        None => None,
    };
    // The canonical line has one requested day: the earliest schedule line's.
    let mut requested_date: Option<String> = None;
    if let Some(schedule) = item.opt("to_ScheduleLine") {
        for line in schedule.items()? {
            let date = line
                .object()?
                .required("ScheduleLineDeliveryDate")?
                .date()?;
            if requested_date.as_ref().is_none_or(|d| date < *d) {
                requested_date = Some(date);
            }
        }
    }
    let plant = item.opt_string("Plant")?;
    let ship_to = item
        .opt_string("StorageLocation")?
        .or(plant.clone())
        .map(Identifier::internal);
    Ok((
        OrderLine {
            line_number,
            item: ItemRef {
                ids,
                description: item.opt_string("PurchaseOrderItemText")?,
            },
            quantity: Quantity::new(value, unit),
            price,
            requested_date,
            ship_to,
        },
        plant,
    ))
}
