//! The ISA header, read as the strict reader in `x12` reads it (by its separators, not by columns) but
//! keeping what it could read when the header is damaged, so that a TA1 can still answer it.
//!
//! `parse` refuses a damaged ISA outright; an acknowledgment needs ISA05–ISA08 and ISA13 from exactly those
//! headers. The rules are the strict reader's (a field ends at the element separator, CR/LF inside fields
//! are dropped, ISA16 and the character after it are the component separator and terminator, ISA11 is the
//! repetition separator from 00402 on), so the two agree on every header `parse` accepts.

use crate::error::{EdiError, code};
use crate::model::{Position, Separators};
use crate::scan::{Delimiters, Sep, control_character, decode, is_control};

/// The longest ISA field read before deciding the header is not an ISA, as in the strict reader.
const MAX_ISA_FIELD: usize = 40;

/// What the ISA reader could read.
pub(super) struct Isa {
    /// ISA01..ISA15 as far as they were read, with CR/LF removed.
    pub fields: Vec<String>,
    pub separators: Option<Separators>,
    pub delimiters: Option<Delimiters>,
    /// Where the first segment after the header may start (or where reading stopped).
    pub end: usize,
    /// What is wrong with the header, with the code `parse` gives it.
    pub problem: Option<EdiError>,
}

/// Reads an ISA header as `x12`'s strict reader does (by its separators, not by columns), but keeps what it
/// could read when the header is damaged: the fields before the damage, and the separators unless they
/// are themselves the damage.
pub(super) fn read_isa(doc: &[u8], start: usize) -> Isa {
    let at = |pos: usize| {
        let mut p = Position::at_byte(pos);
        p.segment_id = Some("ISA".to_owned());
        p.segment_index = Some(1);
        p
    };
    let mut isa = Isa {
        fields: Vec::with_capacity(15),
        separators: None,
        delimiters: None,
        end: doc.len().min(start + 3),
        problem: None,
    };
    let truncated = |pos: usize| {
        EdiError::new(
            format!(
                "the document ends at byte {pos} inside the ISA header that starts at byte {start}: the file is \
                 truncated; ask the sender to resend it"
            ),
            at(pos),
            Some(code::PREMATURE_END),
        )
    };
    let mut pos = start + 3;
    let Some(element) = Sep::decode_at(doc, pos) else {
        isa.problem = Some(truncated(pos));
        return isa;
    };
    if element.is_data_char() || element.ch == '\r' || element.ch == '\n' {
        isa.problem = Some(EdiError::new(
            format!(
                "ISA at byte {start}: the element separator (the character after `ISA`) is `{}`, which occurs in \
                 data; the header is corrupt or this is not an X12 interchange",
                element.ch.escape_debug()
            ),
            at(pos),
            Some(code::INVALID_ELEMENT_SEPARATOR),
        ));
        return isa;
    }
    pos += element.len();
    let mut isa11_at = pos;
    let mut value = Vec::with_capacity(MAX_ISA_FIELD + 1);
    let mut controls: Vec<(usize, usize, u8)> = Vec::new();
    for n in 1..=15usize {
        if n == 11 {
            isa11_at = pos;
        }
        value.clear();
        loop {
            let Some(&b) = doc.get(pos) else {
                isa.fields.push(decode(&value));
                isa.end = pos;
                isa.problem = Some(truncated(pos));
                return isa;
            };
            if element.matches(doc, pos) {
                pos += element.len();
                break;
            }
            if is_control(b) {
                controls.push((n, pos, b));
            }
            pos += 1;
            if b != b'\r' && b != b'\n' {
                value.push(b);
            }
            if value.len() > MAX_ISA_FIELD {
                isa.end = pos;
                isa.problem = Some(EdiError::new(
                    format!(
                        "ISA{n:02} runs past {MAX_ISA_FIELD} characters without the element separator `{}`: the \
                         ISA header at byte {start} is corrupt (ISA fields are at most 15 characters)",
                        element.ch.escape_debug()
                    ),
                    at(pos).element(n),
                    Some(code::INVALID_CONTENT),
                ));
                return isa;
            }
        }
        isa.fields.push(decode(&value));
    }
    while matches!(doc.get(pos), Some(b'\r' | b'\n')) {
        pos += 1;
    }
    let Some(component) = Sep::decode_at(doc, pos) else {
        isa.end = pos;
        isa.problem = Some(truncated(pos));
        return isa;
    };
    pos += component.len();
    let Some(segment) = Sep::decode_at(doc, pos) else {
        isa.end = pos;
        isa.problem = Some(truncated(pos));
        return isa;
    };
    let terminator_at = pos;
    pos += segment.len();
    isa.end = pos;
    if component.is_data_char() || component == element {
        isa.problem = Some(EdiError::new(
            format!(
                "ISA16 (the component separator) is `{}`, which cannot separate components; the ISA header at \
                 byte {start} is corrupt",
                component.ch.escape_debug()
            ),
            at(terminator_at.saturating_sub(component.len())).element(16),
            Some(code::INVALID_COMPONENT_SEPARATOR),
        ));
        return isa;
    }
    if segment.is_data_char() || segment == element || segment == component {
        isa.problem = Some(EdiError::new(
            format!(
                "ISA at byte {start}: the segment terminator (the character after ISA16) is `{}`, which occurs \
                 in data or is another separator; the sender must end every segment with a distinct \
                 terminator such as `~`",
                segment.ch.escape_debug()
            ),
            at(terminator_at),
            Some(code::INVALID_SEGMENT_TERMINATOR),
        ));
        return isa;
    }
    // ISA11 is the repetition separator from version 00402 on; before that it is the standards id `U`.
    let version: u32 = isa
        .fields
        .get(11)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let repetition = if version >= 402 && isa.fields.get(10).is_some_and(|f| f.chars().count() == 1)
    {
        Sep::decode_at(doc, isa11_at)
            .filter(|r| !r.is_data_char() && *r != element && *r != component && *r != segment)
    } else {
        None
    };
    // A control character in a field is a problem, but the separators still split the rest, so reading
    // goes on (the strict reader stops here).
    if let Some(&(n, byte_at, b)) = controls
        .iter()
        .find(|(n, _, b)| !(*n == 11 && repetition.is_some_and(|r| r.ch == char::from(*b))))
    {
        let mut position = at(byte_at).element(n);
        position.component = Some(1);
        isa.problem = Some(control_character(
            b,
            byte_at,
            &format!("in ISA{n:02} of the ISA header at byte {start}"),
            position,
        ));
    }
    isa.separators = Some(Separators {
        element: element.ch,
        component: component.ch,
        repetition: repetition.map(|r| r.ch),
        segment: segment.ch,
        release: None,
        decimal_mark: None,
    });
    isa.delimiters = Some(Delimiters {
        element,
        component,
        repetition,
        segment,
        release: None,
    });
    isa
}

/// The first position at or after `from` where a readable ISA header starts (its separators can split
/// segments), and `ISA` is not the end of a longer word.
pub(super) fn find_isa(doc: &[u8], from: usize) -> Option<usize> {
    let mut p = from;
    loop {
        let rest = doc.get(p..)?;
        let at = p + rest.windows(3).position(|w| w == b"ISA")?;
        let boundary = at == 0 || doc.get(at - 1).is_some_and(|b| !b.is_ascii_alphanumeric());
        if boundary && read_isa(doc, at).delimiters.is_some() {
            return Some(at);
        }
        p = at + 1;
    }
}
