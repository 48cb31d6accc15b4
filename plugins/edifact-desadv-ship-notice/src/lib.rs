//! Millwright reference plugin: EDIFACT DESADV despatch advices (D.96A and D.01B, EANCOM or plain) in, one
//! canonical `ship-notice` per message out: the same ship notice the X12 856 plugin gives for the same shipment.
//!
//! - `mapping`: one document to its events (the message check, BGM, the event header).
//! - `header`: what the heading section says (dates, references, parties, carrier, weights).
//! - `packing`: the CPS hierarchy and the line items under it, grouped by order into tares, packs and items.

mod header;
mod mapping;
mod packing;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

/// The EDIFACT DESADV to `ship-notice` mapper.
///
/// Partner profile keys: `timezone` (IANA name or `±HH:MM`; UTC when unset) for DTM values without an offset of
/// their own. Master data: `units` (EDIFACT measure unit to UN/ECE Rec 20) and `packaging` (package type to Rec
/// 20), both optional and both backed by built-in tables.
pub struct DespatchAdviceMapper;

impl InboundMapper for DespatchAdviceMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "edifact-desadv-ship-notice",
            env!("CARGO_PKG_VERSION"),
            ["edifact:DESADV"],
        )
        .with_description("EDIFACT DESADV despatch advices to canonical ship-notice events")
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        mapping::map(&document)
    }
}

millwright_sdk::export_inbound!(DespatchAdviceMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
