//! Millwright reference plugin: a canonical `purchase-order` in, one X12 004010 850 interchange out, for the
//! suppliers that trade X12; nothing for the others, and nothing for any other event.
//!
//! - `profile`: the route's profile and the partner tables: the plant's interchange id and GS code, usage,
//!   separators, and which suppliers trade X12 under which interchange id.
//! - `order`: the purchase order to the 850's segments (BEG, CUR, REF, N1 loops, PO1 loops, CTT).
//! - `element`: the one place a value becomes an X12 element, refused when it would break the interchange.
//! - `units`: UN/ECE Rec 20 units to X12 unit codes.
//! - `envelope`: control numbers from the host's sequences, the clock, ISA/GS/ST and the host's renderer.
//! - `calendar`, `decimal`: dates and the CTT hash total, without floats; `path`: JSON paths for errors.

mod calendar;
mod decimal;
mod element;
mod envelope;
mod order;
mod path;
mod profile;
mod units;

use millwright_sdk::OutboundMapper;
use millwright_sdk::host::{self, LogLevel};
use millwright_sdk::types::{
    CanonicalEvent, IdScheme, MappingError, OutboundDocument, PluginInfo, PurchaseOrder, Target,
};

pub use envelope::{MAX_CONTROL_NUMBER, ST02};
pub use order::REFERENCE_QUALIFIERS_TABLE;
pub use profile::{
    APPLICATION_RECEIVERS_TABLE, APPLICATION_SENDER_KEY, ELEMENT_SEPARATOR_KEY, LINE_BREAK_KEY,
    PARTNERS_TABLE, SEGMENT_TERMINATOR_KEY, SENDER_KEY, STANDARD_ORDER_TYPE_KEY,
    SUB_ELEMENT_SEPARATOR_KEY, TA1_KEY, USAGE_KEY,
};
pub use units::{TABLE as UNITS_TABLE, built_in as built_in_unit};

/// The content type of the document.
pub const CONTENT_TYPE: &str = "application/edi-x12";

/// The purchase order to X12 850 renderer.
///
/// Partner profile keys: `interchange-sender` (required, `ZZ/ACMEMFG`), `application-sender`,
/// `usage-indicator`, `ta1-requested`, `element-separator`, `sub-element-separator`, `segment-terminator`,
/// `line-break`, `standard-order-type`, `timezone`. Master data: `x12-partners` (required: which suppliers trade
/// X12, as whom), `x12-application-receivers`, `x12-units-out`, `x12-reference-qualifiers` (optional). The
/// target's name does not change the document. `README.md` says what each does.
pub struct PurchaseOrderRenderer;

impl OutboundMapper for PurchaseOrderRenderer {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "x12-850-purchase-order",
            env!("CARGO_PKG_VERSION"),
            ["canonical:purchase-order"],
        )
        .with_description(
            "canonical purchase orders to X12 004010 850 interchanges for the suppliers that trade X12",
        )
    }

    fn render(
        event: CanonicalEvent,
        _target: Target,
    ) -> Result<Vec<OutboundDocument>, MappingError> {
        match event {
            CanonicalEvent::PurchaseOrder(po) => render(&po),
            // The contract: an empty list means nothing is sent for this event.
            _ => Ok(Vec::new()),
        }
    }
}

/// One purchase order: one 850 when its supplier trades X12, else nothing.
fn render(po: &PurchaseOrder) -> Result<Vec<OutboundDocument>, MappingError> {
    let supplier_at = path::Path::event().field("supplier").field("ids");
    let Some((k, supplier)) = po
        .supplier
        .ids
        .iter()
        .enumerate()
        .find(|(_, id)| id.scheme == IdScheme::Internal && !id.value.trim().is_empty())
        .map(|(k, id)| (k, id.value.trim()))
    else {
        return Err(supplier_at.invalid(
            "missing-supplier-number",
            "the supplier has no internal id (the ERP's supplier number), so whether it trades X12, and as \
             whom, cannot be looked up",
        ));
    };
    let supplier_at = supplier_at.index(k).field("value");

    let Some(row) = profile::partner_row(supplier, &supplier_at)? else {
        host::log(
            LogLevel::Info,
            &format!(
                "purchase order {}: supplier {supplier} is not in the `{PARTNERS_TABLE}` table, so it does not \
                 trade X12; no 850 is sent",
                po.order_id
            ),
        );
        return Ok(Vec::new());
    };
    let profile = profile::Profile::read()?;
    let receiver = profile::receiver(supplier, &row, &profile.separators, &supplier_at)?;
    let segments = order::segments(po, &profile)?;
    let now = envelope::local_now(&profile)?;
    // Numbers are drawn last, so an order refused above leaves no gap in the partner's series.
    let numbers = envelope::control_numbers(&receiver)?;
    let payload = envelope::render(&profile, &receiver, segments, numbers, now)?;
    Ok(vec![OutboundDocument {
        content_type: CONTENT_TYPE.to_owned(),
        file_name: Some(format!("850-{}.x12", file_safe(&po.order_id))),
        headers: vec![
            ("X12-Receiver".to_owned(), receiver.interchange.name()),
            (
                "X12-Interchange-Control-Number".to_owned(),
                format!("{:09}", numbers.0),
            ),
        ],
        payload,
    }])
}

/// An id made safe for a file name: anything but letters, digits, `.`, `_` and `-` becomes `_`.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

millwright_sdk::export_outbound!(PurchaseOrderRenderer);
// The rendering uses no WASI: the component imports only the contract, and a fresh instance binds less.
millwright_sdk::inert_wasi!();
