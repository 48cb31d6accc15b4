//! Acknowledgments for inbound X12: the 997 (or 999) that answers each functional group and the TA1 that
//! answers an interchange, built as trees and written with [`crate::render_x12`].
//!
//! An acknowledgment must be sent for documents that [`crate::parse`] refuses, which is exactly when the
//! strict tree is missing, so this module starts from its own picture of what arrived. The flow:
//!
//! 1. [`received`] reads the envelopes tolerantly: every interchange, group and transaction set with the ids
//!    an acknowledgment echoes, whatever is broken around them, plus every problem it saw as a located
//!    [`EdiError`] with the same codes `parse` uses. It never panics and reads every terminator the scanner
//!    reads; a document with no readable ISA says why in [`Received::unreadable`].
//! 2. [`Outcomes::new`] turns those problems into verdicts: AK3/AK4/AK5 per transaction set, AK9 codes per
//!    group, a TA1 note per interchange. The host adds the strict parser's error
//!    ([`Received::finding`]) and a mapping plugin's refusal ([`Received::refusal`]) with
//!    [`Outcomes::record`]; a verdict already known is not recorded twice.
//! 3. [`functional_ack`] writes one 997 or 999 per group, [`ta1`] one TA1 per interchange that asked for
//!    one or is itself at fault. Sender and receiver are swapped, separators and versions echo the inbound
//!    interchange, and the host assigns the new control numbers ([`ControlNumbers`]).
//!
//! The code tables (which [`EdiError`] code becomes which acknowledgment code, and how a plugin's
//! diagnostic is mapped) are in [`Received::finding`] and [`Received::refusal`]; the code lists themselves
//! are X12's, one enum per data element ([`SegmentError`] for AK304, [`ElementError`] for AK403,
//! [`SetStatus`] and [`SetError`] for AK5, [`GroupStatus`] and [`GroupError`] for AK9,
//! [`InterchangeNote`] for TA105). A set is rejected when its syntax is bad or a plugin refused it, and
//! accepted otherwise; nothing here rejects what the strict parser accepts, so a document `parse` takes and
//! no plugin refuses is acknowledged as accepted throughout.
//!
//! [`EdiError`]: crate::EdiError

#![warn(missing_docs)]

mod build;
mod codes;
mod finding;
mod header;
mod outcome;
mod reader;
mod received;

pub use build::{AckKind, ControlNumbers, functional_ack, ta1};
pub use codes::{
    ElementError, GroupError, GroupStatus, InterchangeNote, SegmentError, SetError, SetStatus,
};
pub use outcome::{
    BusinessUnit, ElementFault, Finding, GroupOutcome, InterchangeOutcome, Outcomes, SegmentFault,
    SetOutcome,
};
pub use received::{
    Received, ReceivedGroup, ReceivedInterchange, ReceivedTransaction, Trailer, received,
};

#[cfg(test)]
mod tests;
