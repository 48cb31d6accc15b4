//! Millwright reference plugin: X12 944 warehouse stock transfer receipt advices in, one canonical
//! `goods-receipt` per received line (W07) out.
//!
//! - `mapping`: one document to its events (the transaction check, W17, N1 and N9, the W07 loops, W14).
//! - `conditions`: the receiving condition codes (W1303) and what each does to the accepted quantity.
//! - `decimal`: exact decimal arithmetic on quantities as sent (accepted = received − rejected, the W14 total),
//!   without floats.

mod conditions;
mod decimal;
mod mapping;

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};

/// The X12 944 to `goods-receipt` mapper.
///
/// Partner profile keys: `timezone` (IANA name or `±HH:MM`; UTC when unset) for W1702, and `dock-location`
/// (the receiving location when the 944's N1*WH carries no id). Master data: `units` (X12 unit code to UN/ECE
/// Rec 20), optional and backed by the SDK's built-in table.
pub struct GoodsReceiptMapper;

impl InboundMapper for GoodsReceiptMapper {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "x12-944-warehouse-receipt",
            env!("CARGO_PKG_VERSION"),
            ["x12:944"],
        )
        .with_description(
            "X12 944 warehouse stock transfer receipt advices to canonical goods-receipt events",
        )
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        mapping::map(&document)
    }
}

millwright_sdk::export_inbound!(GoodsReceiptMapper);
// The mapping uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
