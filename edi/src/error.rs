//! The one error type of the crate: a located, human-readable reason a document was rejected.
//!
//! It mirrors WIT `edi.edi-error` so the host can hand it to a guest unchanged. The `code` lets the host
//! answer with the acknowledgment the partner expects: an X12 TA1 note code (`001`, `004`, `021`–`027`), a
//! 997 AK5/AK9 code (`3`, `4`, `5`), or an EDIFACT CONTRL syntax error code (`28`, `29`). One code is not an
//! acknowledgment code but a name, `control-character` (see [`code::CONTROL_CHARACTER`]): no single
//! acknowledgment code answers that problem in both standards and at every level, so the host picks the one
//! its acknowledgment needs.

use crate::model::Position;

/// A document that could not be parsed or rendered, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EdiError {
    /// What is wrong and what to do, in one sentence: "IEA02 000000049 does not match ISA13 000003438 …".
    pub message: String,
    /// Where it is wrong.
    pub at: Position,
    /// The X12 TA1 or 997 code (or EDIFACT CONTRL code) that answers it, when one applies.
    pub code: Option<String>,
}

impl EdiError {
    pub(crate) fn new(message: impl Into<String>, at: Position, code: Option<&str>) -> Self {
        EdiError {
            message: message.into(),
            at,
            code: code.map(str::to_owned),
        }
    }

    /// Adds the transaction control number and segment index the scanner could not know.
    pub(crate) fn within(mut self, transaction: Option<&str>, index: u32) -> Self {
        if self.at.transaction.is_none() {
            self.at.transaction = transaction.map(str::to_owned);
        }
        if self.at.segment_index.is_none() {
            self.at.segment_index = Some(index);
        }
        self
    }
}

/// TA1 I18 and 997 codes used by the X12 checks, named so the call sites read as the standard does.
pub(crate) mod code {
    /// TA1: interchange control number in header and trailer do not match.
    pub const CONTROL_NUMBER_MISMATCH: &str = "001";
    /// TA1: invalid segment terminator.
    pub const INVALID_SEGMENT_TERMINATOR: &str = "004";
    /// TA1: invalid number of included groups value.
    pub const GROUP_COUNT: &str = "021";
    /// TA1: improper (premature) end of file.
    pub const PREMATURE_END: &str = "023";
    /// TA1: invalid interchange content.
    pub const INVALID_CONTENT: &str = "024";
    /// TA1: duplicate interchange control number.
    pub const DUPLICATE_CONTROL_NUMBER: &str = "025";
    /// TA1: invalid data element separator.
    pub const INVALID_ELEMENT_SEPARATOR: &str = "026";
    /// TA1: invalid component element separator.
    pub const INVALID_COMPONENT_SEPARATOR: &str = "027";
    /// 997 AK5: transaction set control number in header and trailer do not match.
    pub const SET_CONTROL_NUMBER_MISMATCH: &str = "3";
    /// 997 AK5: number of included segments does not match actual count.
    pub const SEGMENT_COUNT: &str = "4";
    /// 997 AK9: group control number in header and trailer do not agree.
    pub const GROUP_CONTROL_NUMBER_MISMATCH: &str = "4";
    /// 997 AK9: number of included transaction sets does not match actual count.
    pub const TRANSACTION_COUNT: &str = "5";
    /// EDIFACT CONTRL (0085): references do not match.
    pub const EDIFACT_REFERENCES: &str = "28";
    /// EDIFACT CONTRL (0085): control count does not match number of instances received.
    pub const EDIFACT_COUNT: &str = "29";
    /// A C0 control character (0x00–0x1F) or DEL (0x7F) where data belongs: in a value, a segment tag or an
    /// ISA/UNA/UNB header, and not one of the separators the header declared (see `scan`'s module docs).
    ///
    /// A name rather than an acknowledgment code, because the answer depends on where the byte is and which
    /// acknowledgment is sent: X12 997/999 AK4/IK4 element error `6` (invalid character in data element) with
    /// AK5 `5`, TA1 `024` (invalid interchange content) for the ISA header, EDIFACT CONTRL `21` (invalid
    /// character(s)).
    pub const CONTROL_CHARACTER: &str = "control-character";
}
