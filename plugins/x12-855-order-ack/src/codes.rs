//! The code tables of the mapping. Each row is a code as X12 defines it, what the canonical model makes of it,
//! and the code's name in the standard (for messages and the README). A code that is not in a table is refused
//! with `invalid-document`: guessing what a partner meant would publish a wrong answer to an order.

use millwright_sdk::types::{AcknowledgmentStatus, LineStatus};

/// BAK02 (element 587, acknowledgment type) to the acknowledgment's status.
pub(crate) const ACKNOWLEDGMENT_TYPES: &[(&str, AcknowledgmentStatus, &str)] = &[
    (
        "AC",
        AcknowledgmentStatus::AcceptedWithChanges,
        "acknowledge - with detail and change",
    ),
    (
        "AD",
        AcknowledgmentStatus::Accepted,
        "acknowledge - with detail, no change",
    ),
    (
        "AE",
        AcknowledgmentStatus::AcceptedWithChanges,
        "acknowledge - with exception detail only",
    ),
    (
        "AK",
        AcknowledgmentStatus::Accepted,
        "acknowledge - no detail or change",
    ),
    (
        "AP",
        AcknowledgmentStatus::Accepted,
        "acknowledge - product replenishment",
    ),
    ("AT", AcknowledgmentStatus::Accepted, "accepted"),
    ("RD", AcknowledgmentStatus::Rejected, "reject with detail"),
    (
        "RF",
        AcknowledgmentStatus::Rejected,
        "reject with exception detail only",
    ),
    ("RJ", AcknowledgmentStatus::Rejected, "rejected - no detail"),
    (
        "RO",
        AcknowledgmentStatus::Rejected,
        "rejected with counter offer",
    ),
];

/// ACK01 (element 668, line item status) to the line's status.
pub(crate) const LINE_STATUSES: &[(&str, LineStatus, &str)] = &[
    ("AC", LineStatus::Accepted, "item accepted and shipped"),
    (
        "AR",
        LineStatus::Accepted,
        "item accepted and released for shipment",
    ),
    (
        "BP",
        LineStatus::BackOrdered,
        "item accepted - partial shipment, balance backordered",
    ),
    (
        "DR",
        LineStatus::Changed,
        "item accepted - date rescheduled",
    ),
    ("IA", LineStatus::Accepted, "item accepted"),
    ("IB", LineStatus::BackOrdered, "item backordered"),
    ("IC", LineStatus::Changed, "item accepted - changes made"),
    ("ID", LineStatus::Rejected, "item deleted"),
    ("IE", LineStatus::Accepted, "item accepted, price pending"),
    ("IP", LineStatus::Changed, "item accepted - price changed"),
    (
        "IQ",
        LineStatus::Changed,
        "item accepted - quantity changed",
    ),
    ("IR", LineStatus::Rejected, "item rejected"),
    (
        "IS",
        LineStatus::Changed,
        "item accepted - substitution made",
    ),
    (
        "R1",
        LineStatus::Rejected,
        "item rejected, not a contract item",
    ),
    (
        "R2",
        LineStatus::Rejected,
        "item rejected, invalid item product number",
    ),
    (
        "R3",
        LineStatus::Rejected,
        "item rejected, invalid unit of issue",
    ),
    (
        "R4",
        LineStatus::Rejected,
        "item rejected, contract item not available",
    ),
    (
        "R5",
        LineStatus::Rejected,
        "item rejected, reorder item as a just in time (JIT) order",
    ),
    (
        "R6",
        LineStatus::Rejected,
        "item rejected, reorder item as an extended delivery order (EDO)",
    ),
    (
        "R7",
        LineStatus::Rejected,
        "item rejected, reorder item as a drop shipment",
    ),
    (
        "R8",
        LineStatus::Rejected,
        "item rejected, reorder item as a surge order",
    ),
    (
        "SP",
        LineStatus::Accepted,
        "item accepted - schedule date pending",
    ),
];

/// ACK01 codes X12 defines that the canonical line status cannot express: the item is neither accepted, changed,
/// back-ordered nor rejected but waits for something.
pub(crate) const HOLD_STATUSES: &[(&str, &str)] = &[
    ("IF", "item on hold, incomplete description"),
    ("IH", "item on hold"),
    ("IW", "item on hold - waiver required"),
];

/// Date/time qualifiers (element 374: ACK04, DTM01) whose date is a promise: when the supplier will ship or
/// deliver. Other dates (002 delivery requested, 010 requested ship ...) repeat the buyer's wish and are no
/// promise.
pub(crate) const PROMISE_QUALIFIERS: &[(&str, &str)] = &[
    ("017", "estimated delivery"),
    ("067", "current schedule delivery"),
    ("068", "current schedule ship"),
    ("069", "promised for delivery"),
    ("079", "promised for shipment"),
];

/// BAK01 (element 353, transaction set purpose) codes that withdraw an acknowledgment. The canonical
/// acknowledgment states the supplier's current answer and has no way to withdraw one.
pub(crate) const WITHDRAWING_PURPOSES: &[(&str, &str)] =
    &[("01", "cancellation"), ("03", "delete")];

/// The entry of a table with this code.
pub(crate) fn find<'t, T>(
    table: &'t [(&str, T, &str)],
    code: &str,
) -> Option<&'t (&'t str, T, &'t str)> {
    table.iter().find(|(c, _, _)| *c == code)
}

/// The name of a code in a two-column table.
pub(crate) fn name<'t>(table: &'t [(&str, &str)], code: &str) -> Option<&'t str> {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// The codes of a table, for messages: `AC, AD, ...`.
pub(crate) fn codes<T>(table: &[(&str, T, &str)]) -> String {
    table
        .iter()
        .map(|(c, _, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}
