//! Millwright reference plugin: the quality system's holds and decisions as JSON in, canonical `quality-hold`
//! events out, one per decision.
//!
//! - `json`: the located JSON reader, shared with erp-orders-json (every diagnostic has a JSON path, a line
//!   and a byte offset).
//! - `hold`: one hold or decision to its event.

#[path = "../../erp-orders-json/src/json.rs"]
mod json;

mod hold;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

/// The QMS hold JSON to `quality-hold` mapper.
///
/// Partner profile keys: `timezone` (for times without an offset; UTC when unset), `site` (optional, the site
/// when a decision names none). Master data: `units` (the QMS's unit code to UN/ECE Rec 20), optional and
/// backed by a built-in table.
pub struct QualityHoldMapper;

impl InboundMapper for QualityHoldMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "qms-quality-json",
            env!("CARGO_PKG_VERSION"),
            ["json:qms-quality-hold"],
        )
        .with_description(
            "a quality system's holds and decisions as JSON to canonical quality holds",
        )
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        hold::map(&document)
    }
}

millwright_sdk::export_inbound!(QualityHoldMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
