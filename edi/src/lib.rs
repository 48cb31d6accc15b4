//! X12 and EDIFACT parsing, validation and rendering for Millwright: the native implementation behind the
//! WIT `edi` interface (`wit/edi.wit`).
//!
//! A plugin gets a validated segment tree instead of re-implementing envelopes. [`parse`] finds every
//! interchange in a file, reads separators from each ISA or UNA, checks control numbers, counts and 856 HL
//! hierarchies, and reports the first problem as a located [`EdiError`] carrying the TA1/997 code that
//! answers it. [`render_x12`] writes a tree back with computed trailers. The parser is not schema-driven:
//! unknown segment tags are data, only envelopes and HL loops are checked.
//!
//! What it accepts as data: UTF-8, or Windows-1252 where a document is not valid UTF-8, with line breaks
//! inside segments dropped. Control characters (0x00–0x1F and 0x7F) are refused with the code
//! `control-character` and their position, unless they are the interchange's declared separators, CR/LF,
//! filler before a segment tag, or X12 `BIN`/`BDS` raw data; the rules are in `scan`'s module docs.
//!
//! - `model`: the tree and [`Position`], mirroring the WIT records.
//! - `error`: [`EdiError`] and the acknowledgment codes.
//! - `scan`: the one-pass segment scanner shared by both standards.
//! - `x12`, `edifact`: envelope assembly and checks per standard.
//! - `hl`: the HL hierarchy check.
//! - `render`: X12 output.
//! - [`ack`]: 997/999 functional and TA1 interchange acknowledgments, from a tolerant reading of what arrived
//!   (which works where [`parse`] refuses), the parser's errors and the mapping plugins' refusals.

// `EdiError` mirrors WIT `edi-error` field for field (a message, a whole `position`, a code), so it is large;
// it is built once per rejected document, and boxing it would make the native type differ from the WIT one.
#![allow(
    clippy::result_large_err,
    reason = "EdiError mirrors the WIT record and is only built on the rejection path"
)]

pub mod ack;
mod edifact;
mod error;
mod hl;
mod model;
mod render;
mod scan;
pub mod time;
mod wit;
mod x12;

pub use error::EdiError;
pub use model::{
    Element, Group, Interchange, Position, Segment, Separators, Standard, Transaction,
};

use scan::{printable, skip_filler};

/// Parses every interchange in a document, X12 or EDIFACT, told apart by its first segment.
///
/// A UTF-8 byte-order mark and whitespace before and between interchanges are skipped; a file may mix X12
/// and EDIFACT interchanges and change separators from one interchange to the next. Returns the first
/// problem found: a document that parses has matching control numbers and counts, in any transaction with
/// HL segments a consistent hierarchy, and no control characters in its values other than in X12 binary
/// segments (see the crate docs).
///
/// ```
/// let doc = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~\
/// GS*SH*SENDER*RECEIVER*20240101*1200*1*X*004010~ST*856*0001~BSN*00*SHIP1*20240101*1200~SE*3*0001~GE*1*1~IEA*1*000000001~";
/// let interchanges = millwright_edi::parse(doc)?;
/// assert_eq!(interchanges[0].groups[0].transactions[0].code, "856");
/// # Ok::<(), millwright_edi::EdiError>(())
/// ```
pub fn parse(document: &[u8]) -> Result<Vec<Interchange>, EdiError> {
    let start = if document.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut pos = skip_filler(document, start);
    if pos >= document.len() {
        return Err(EdiError::new(
            "not an X12 or EDIFACT document: it is empty or holds only whitespace",
            Position::at_byte(pos),
            None,
        ));
    }
    // Most files hold one interchange. An Interchange is large, so Vec's default first capacity of four
    // would be a large allocation, which in glibc first merges every small freed block.
    // Validated once here rather than value by value; None sends the scanner to per-segment checks.
    let text = std::str::from_utf8(document).ok();
    let mut interchanges: Vec<Interchange> = Vec::with_capacity(1);
    while pos < document.len() {
        let rest = document.get(pos..).unwrap_or(&[]);
        let (interchange, end) = if rest.starts_with(b"ISA") {
            x12::parse_interchange(document, text, pos)?
        } else if rest.starts_with(b"UNA") || rest.starts_with(b"UNB") {
            edifact::parse_interchange(document, text, pos)?
        } else if interchanges.is_empty() {
            return Err(not_edi(document, pos));
        } else {
            return Err(trailing(document, pos, &interchanges));
        };
        if interchange.standard == Standard::X12
            && let Some(first) = interchanges
                .iter()
                .find(|i| same_interchange_id(i, &interchange))
        {
            let mut at = Position::at_byte(pos).element(13);
            at.segment_id = Some("ISA".to_owned());
            at.segment_index = Some(1);
            return Err(EdiError::new(
                format!(
                    "ISA13 {} from {}/{} to {}/{} at byte {pos} repeats the interchange at byte {}: a control \
                     number is used once per sender and receiver, so this is a duplicate; ask the sender whether \
                     it was sent twice",
                    interchange.control_number,
                    interchange.sender_qualifier,
                    interchange.sender_id,
                    interchange.receiver_qualifier,
                    interchange.receiver_id,
                    first.byte_offset
                ),
                at,
                Some(error::code::DUPLICATE_CONTROL_NUMBER),
            ));
        }
        interchanges.push(interchange);
        pos = skip_filler(document, end);
    }
    Ok(interchanges)
}

/// Writes an X12 interchange with its own separators.
///
/// The trailers (SE, GE, IEA) are computed from the tree, so counts and control numbers always match; ISA
/// fields are padded to their fixed widths (ISA01–ISA04 are written as `00` and blanks, GS07 as `X`). Fails
/// when a value contains a separator or a control character (code `control-character`), an ISA field is too
/// wide, or the interchange is EDIFACT.
pub fn render_x12(interchange: &Interchange) -> Result<Vec<u8>, EdiError> {
    render::render_x12(interchange)
}

fn same_interchange_id(a: &Interchange, b: &Interchange) -> bool {
    a.standard == b.standard
        && a.control_number == b.control_number
        && a.sender_qualifier == b.sender_qualifier
        && a.sender_id == b.sender_id
        && a.receiver_qualifier == b.receiver_qualifier
        && a.receiver_id == b.receiver_id
}

/// Explains why a document that does not start with ISA, UNA or UNB was refused.
fn not_edi(document: &[u8], pos: usize) -> EdiError {
    let rest = document.get(pos..).unwrap_or(&[]);
    let hint = if rest.starts_with(&[0xFF, 0xFE]) || rest.starts_with(&[0xFE, 0xFF]) {
        " It is UTF-16 text; convert it to UTF-8 or ASCII first."
    } else if rest.starts_with(&[0xC9, 0xE2, 0xC1]) {
        " It looks like EBCDIC (`ISA` in EBCDIC); convert it to ASCII first."
    } else if rest.starts_with(b"GS") || rest.starts_with(b"ST") {
        " It looks like X12 without its ISA interchange header; ask the sender for the whole interchange."
    } else if rest.starts_with(b"UNH") || rest.starts_with(b"UNG") {
        " It looks like EDIFACT without its UNB interchange header; ask the sender for the whole interchange."
    } else {
        ""
    };
    EdiError::new(
        format!(
            "not an X12 or EDIFACT document: it starts with `{}` (an X12 interchange starts with ISA, an EDIFACT \
             one with UNA or UNB).{hint}",
            printable(rest, 24)
        ),
        Position::at_byte(pos),
        None,
    )
}

/// Explains content after the last interchange's trailer.
fn trailing(document: &[u8], pos: usize, interchanges: &[Interchange]) -> EdiError {
    let last = interchanges.last();
    let (trailer, code) = match last.map(|i| i.standard) {
        Some(Standard::Edifact) => ("UNZ", None),
        _ => ("IEA", Some(error::code::INVALID_CONTENT)),
    };
    EdiError::new(
        format!(
            "after the {trailer} of interchange {} the document continues at byte {pos} with `{}`, which is not an \
             ISA, UNA or UNB header: data outside any interchange; remove it or ask the sender to resend the file",
            last.map_or("", |i| i.control_number.as_str()),
            printable(document.get(pos..).unwrap_or(&[]), 24)
        ),
        Position::at_byte(pos),
        code,
    )
}

#[cfg(test)]
mod tests;
