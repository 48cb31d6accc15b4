//! Millwright reference plugin: ISA-95 B2MML `ProductionPerformance` reports from the MES in, canonical
//! `material-consumption` and `production-completion` events out, one per `MaterialActual`.
//!
//! - `document`: the XML layer: well-formedness, the B2MML namespaces, transactions, positions.
//! - `mapping`: production responses, segment responses and material actuals to events.
//! - `values`: text, decimals, `xsd:dateTime` instants and units as the canonical model holds them.

mod document;
mod mapping;
mod values;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

pub use document::NAMESPACES;
pub use mapping::{SCRAP_QUANTITY, SCRAP_REASON};

/// The B2MML `ProductionPerformance` to `material-consumption` / `production-completion` mapper.
///
/// Partner profile keys: `timezone` (IANA name or `±HH:MM`; UTC when unset) for times written without an
/// offset; `site` (optional), the site when no `Location` names one. Master data: `units` (the plant's unit
/// code to UN/ECE Rec 20), optional and backed by a built-in table.
pub struct ProductionPerformanceMapper;

impl InboundMapper for ProductionPerformanceMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "b2mml-production",
            env!("CARGO_PKG_VERSION"),
            ["b2mml:ProductionPerformance"],
        )
        .with_description(
            "ISA-95 B2MML ProductionPerformance reports to canonical material consumption and production \
             completions",
        )
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        mapping::map(&document)
    }
}

millwright_sdk::export_inbound!(ProductionPerformanceMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
