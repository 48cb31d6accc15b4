//! Millwright reference plugin: a canonical `ship-notice` in, one JSON body for an ERP's expected-receipts
//! (inbound deliveries) REST endpoint out, so the ERP knows what is coming before the truck is at the dock.
//!
//! - `body`: the JSON shape the ERP takes, as typed structs (`README.md` shows it filled in).
//! - `render`: the event to that body, refusing with a located diagnostic what the ERP could not take.

mod body;
mod render;

use millwright_sdk::types::{CanonicalEvent, MappingError, OutboundDocument, PluginInfo, Target};
use millwright_sdk::{OutboundMapper, host};

/// The `ship-notice` to ERP expected-receipt renderer.
///
/// Partner profile keys: `erp-plant` (optional), the ERP plant receiving the goods, written into the body as
/// `receivingPlant`. No master data. The target's name does not change the body.
pub struct ExpectedReceiptRenderer;

impl OutboundMapper for ExpectedReceiptRenderer {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "erp-expected-receipt",
            env!("CARGO_PKG_VERSION"),
            [render::RENDERS],
        )
        .with_description(
            "canonical ship notices to an ERP's expected-receipt (inbound delivery) JSON body",
        )
    }

    fn render(
        event: CanonicalEvent,
        _target: Target,
    ) -> Result<Vec<OutboundDocument>, MappingError> {
        let plant = host::config("erp-plant").filter(|plant| !plant.trim().is_empty());
        render::render(event, plant)
    }
}

millwright_sdk::export_outbound!(ExpectedReceiptRenderer);
