//! Millwright reference plugin: the ERP's purchase orders and production orders as JSON in, canonical
//! `purchase-order` and `work-order-status` events out.
//!
//! - `json`: the located JSON reader (every diagnostic has a JSON path, a line and a byte offset).
//! - `mapping`: a message to its documents (one, a list, or an OData `d` envelope), and the event header.
//! - `purchase_order`: a purchase order, modelled on SAP S/4HANA's purchase order API.
//! - `production_order`: a production order, modelled on SAP S/4HANA's production order API.

mod json;
mod mapping;
mod production_order;
mod purchase_order;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

/// The ERP order JSON to `purchase-order` / `work-order-status` mapper.
///
/// Partner profile keys: `timezone` (for times without an offset; UTC when unset), `buyer-name` (optional,
/// the buyer party's name on purchase orders). Master data: `units` (the ERP's unit code to UN/ECE Rec 20),
/// optional and backed by a built-in table.
pub struct ErpOrdersMapper;

impl InboundMapper for ErpOrdersMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "erp-orders-json",
            env!("CARGO_PKG_VERSION"),
            ["json:erp-purchase-order", "json:erp-production-order"],
        )
        .with_description(
            "an ERP's purchase orders and production orders as JSON to canonical purchase orders and \
             work-order status",
        )
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        mapping::map(&document)
    }
}

millwright_sdk::export_inbound!(ErpOrdersMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
