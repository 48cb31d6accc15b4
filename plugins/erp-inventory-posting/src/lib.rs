//! Millwright reference plugin: canonical stock events (goods receipts, inventory movements, material
//! consumption, production completions) in, one JSON material document for the ERP's inventory-posting
//! endpoint out, delivered by the host over HTTP.
//!
//! - `body`: the JSON shape the ERP takes, as typed structs (`README.md` shows it filled in).
//! - `render`: the event to that body: movement types, plants and storage locations, the ERP's units.

mod body;
mod render;

use millwright_sdk::OutboundMapper;
use millwright_sdk::types::{CanonicalEvent, MappingError, OutboundDocument, PluginInfo, Target};

pub use render::{BUILT_IN_UNITS, COST_CENTER_KEY, LOCATIONS_TABLE, UNITS_TABLE};

/// The stock events to ERP material document renderer.
///
/// Partner profile keys: `erp-cost-center` (optional), the cost center issues and scrappings are charged to.
/// Master data: `erp-units` (Rec 20 code to the ERP's unit) and `erp-storage-locations` (location code to
/// `<plant>/<storage location>`), both optional and backed by built-in rules. The target's name does not
/// change the body.
pub struct InventoryPostingRenderer;

impl OutboundMapper for InventoryPostingRenderer {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "erp-inventory-posting",
            env!("CARGO_PKG_VERSION"),
            render::RENDERS,
        )
        .with_description(
            "canonical goods receipts, inventory movements, consumption and completions to an ERP's \
             material document JSON body",
        )
    }

    fn render(
        event: CanonicalEvent,
        _target: Target,
    ) -> Result<Vec<OutboundDocument>, MappingError> {
        render::render(event)
    }
}

millwright_sdk::export_outbound!(InventoryPostingRenderer);
// The rendering uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
