//! Millwright reference plugin: X12 856 advance ship notices in, one canonical `ship-notice` per transaction
//! out.
//!
//! Modules, each using only those listed after it:
//!
//! - `mapping`: one document to its events (envelope checks, BSN, the event header).
//! - `shipment`: what the shipment level says (dates, carrier, references, ship-from and ship-to, weights).
//! - `contents`: orders, tares, packs and items, with ids picked by qualifier and units mapped to Rec 20.
//! - `context`: the `Ctx` of one transaction (error positions, element readers, the unit cache, the partner's
//!   zone, collected references) that `shipment` and `contents` read through.
//! - `hierarchy`: the HL tree, with the layouts partners actually send (S/O/I, S/O/P/I, S/O/T/P/I, S/I).

mod contents;
mod context;
mod hierarchy;
mod mapping;
mod shipment;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

/// The X12 856 to `ship-notice` mapper.
///
/// Partner profile keys: `timezone` (IANA name or `±HH:MM`; UTC when unset) for the X12 dates. Master data:
/// `units` (X12 unit code to UN/ECE Rec 20) and `packaging` (TD101 packaging form to Rec 20), both optional
/// and both backed by built-in tables.
pub struct ShipNoticeMapper;

impl InboundMapper for ShipNoticeMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "x12-856-ship-notice",
            env!("CARGO_PKG_VERSION"),
            ["x12:856"],
        )
        .with_description("X12 856 advance ship notices to canonical ship-notice events")
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        mapping::map(&document)
    }
}

millwright_sdk::export_inbound!(ShipNoticeMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
