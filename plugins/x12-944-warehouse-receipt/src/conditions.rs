//! Receiving condition codes (W1303, element 412) and what each does to a line.
//!
//! A W13 reports part of a line's received quantity in a condition. The warehouse counted those units (W0701
//! includes them), so the question is only whether they may be used: damaged, wrong, failed, held, scrapped or
//! returned units are **rejected** (they come off the accepted quantity); a shortage, an overage or a container
//! problem is **noted** in the discrepancy reason but rejects nothing, since W0701 already counts what arrived;
//! `07` (good condition) says nothing worth noting. A code not listed here is refused: reading an unknown
//! condition as harmless could put damaged stock into use.

/// What a condition does to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// The W13 quantity comes off the accepted quantity, and the condition is noted.
    Reject,
    /// The condition is noted in the discrepancy reason; nothing is rejected.
    Note,
    /// Nothing to note.
    None,
}

/// W1303 codes, their X12 names and their effect.
pub(crate) const CONDITIONS: &[(&str, &str, Effect)] = &[
    ("01", "damaged product or container", Effect::Reject),
    ("02", "quantity short", Effect::Note),
    ("03", "quantity over", Effect::Note),
    ("04", "quality problem", Effect::Reject),
    ("05", "incorrect product", Effect::Reject),
    ("06", "non-standard container", Effect::Note),
    ("07", "good condition", Effect::None),
    ("08", "rejected", Effect::Reject),
    ("09", "hold", Effect::Reject),
    ("10", "material scrapped", Effect::Reject),
    (
        "11",
        "adjust supplier shipped cumulative quantity",
        Effect::Note,
    ),
    ("12", "quantity over - returned to supplier", Effect::Reject),
    (
        "13",
        "quantity received, but cannot process because no matching ship notice",
        Effect::Note,
    ),
    (
        "14",
        "quantity received and processed with no matching ship notice/manifest",
        Effect::Note,
    ),
    ("16", "not received - ship notice required", Effect::Note),
];

/// The name and effect of a condition code.
pub(crate) fn condition(code: &str) -> Option<(&'static str, Effect)> {
    CONDITIONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|&(_, name, effect)| (name, effect))
}

/// The codes, for messages.
pub(crate) fn codes() -> String {
    CONDITIONS
        .iter()
        .map(|(c, _, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}
