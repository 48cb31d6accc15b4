//! Millwright reference plugin: X12 855 purchase order acknowledgments in, one canonical `order-acknowledgment`
//! per transaction out.
//!
//! - `mapping`: one document to its events (the transaction check, BAK, the PO1 loops and their ACKs).
//! - `codes`: the code tables the mapping reads (BAK02, ACK01, the date qualifiers of a promise), kept apart so
//!   that the README, the tests and a reimplementation in another language can follow them line by line.

mod codes;
mod mapping;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

/// The X12 855 to `order-acknowledgment` mapper.
///
/// Partner profile keys: `timezone` (IANA name or `±HH:MM`; UTC when unset) for the acknowledgment date.
/// Master data: `units` (X12 unit code to UN/ECE Rec 20), optional and backed by the SDK's built-in table.
pub struct OrderAcknowledgmentMapper;

impl InboundMapper for OrderAcknowledgmentMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new("x12-855-order-ack", env!("CARGO_PKG_VERSION"), ["x12:855"])
            .with_description(
                "X12 855 purchase order acknowledgments to canonical order-acknowledgment events",
            )
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        mapping::map(&document)
    }
}

millwright_sdk::export_inbound!(OrderAcknowledgmentMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
