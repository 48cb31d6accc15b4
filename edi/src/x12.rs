//! X12 interchanges: reading the ISA header, assembling ISA/GS/ST..SE/GE/IEA into the tree, and checking
//! control numbers and counts as a receiving translator would before it sends a TA1 or 997.
//!
//! The ISA is read by its structure rather than by byte columns: the element separator is the byte after
//! `ISA`, sixteen separators later comes ISA16 (the component separator), and the character right after ISA16
//! is the segment terminator. For a well-formed 106-character ISA this is exactly the fixed-width reading;
//! it also reads the real files whose ISA is 105 or 107 characters (a short ISA06, a line break wrapped into
//! ISA10), which a column-based reader would misread into wrong separators and garbage.

use crate::error::{EdiError, code};
use crate::hl;
use crate::model::{Group, Interchange, Position, Segment, Separators, Standard, Transaction};
use crate::scan::{
    Delimiters, Scanner, SegmentList, Sep, control_character, is_control, printable,
};

/// The longest ISA field we accept before deciding the header is not an ISA (real fields are 1–15 chars).
const MAX_ISA_FIELD: usize = 40;

/// Interchange-level segments that may sit between ISA and the first GS.
const SERVICE_SEGMENTS: [&str; 4] = ["TA1", "ISB", "ISE", "ISX"];

/// The parsed ISA header.
struct Isa {
    /// ISA01..ISA15, with CR/LF removed.
    fields: Vec<String>,
    delims: Delimiters,
    separators: Separators,
    /// Where the first segment after the ISA may start.
    end: usize,
}

/// Parses one interchange starting at `start` (which holds `ISA`); returns it and where it ended.
///
/// `text` is `doc` as text when the whole document is valid UTF-8 (see `Scanner::with_text`).
pub(crate) fn parse_interchange(
    doc: &[u8],
    text: Option<&str>,
    start: usize,
) -> Result<(Interchange, usize), EdiError> {
    let isa = read_isa(doc, start)?;
    let field = |n: usize| isa.fields.get(n - 1).map_or("", String::as_str);
    let mut interchange = Interchange {
        standard: Standard::X12,
        separators: isa.separators.clone(),
        sender_qualifier: field(5).trim().to_owned(),
        sender_id: field(6).trim_end().to_owned(),
        receiver_qualifier: field(7).trim().to_owned(),
        receiver_id: field(8).trim_end().to_owned(),
        date: field(9).trim().to_owned(),
        time: field(10).trim().to_owned(),
        version: field(12).trim().to_owned(),
        control_number: field(13).trim().to_owned(),
        acknowledgment_requested: field(14).trim() == "1",
        test: field(15).trim() == "T",
        groups: Vec::new(),
        service_segments: Vec::new(),
        byte_offset: start as u64,
    };
    let mut scanner = Scanner::new(doc, isa.end, isa.delims, Standard::X12).with_text(text);
    let mut open = Open::default();
    let mut interchange_index: u32 = 1;
    loop {
        let next_index = match &open.transaction {
            Some(t) => t.count.saturating_add(1),
            None => interchange_index.saturating_add(1),
        };
        let segment = scanner
            .next_segment()
            .map_err(|e| e.within(open.control_number(), next_index))?;
        let Some(mut segment) = segment else {
            return Err(open.ends_early(&interchange, start, doc.len()));
        };
        interchange_index = interchange_index.saturating_add(1);
        segment.index = interchange_index;
        match segment.id.as_str() {
            "ISA" | "IEA" | "GS" | "GE" | "ST" if open.transaction.is_some() => {
                return Err(open.missing_trailer(&segment, &interchange));
            }
            "ISA" | "IEA" | "GS" if open.group.is_some() => {
                return Err(open.missing_trailer(&segment, &interchange));
            }
            "ISA" => return Err(open.missing_trailer(&segment, &interchange)),
            "IEA" => {
                check_iea(&interchange, &segment)?;
                return Ok((interchange, scanner.pos()));
            }
            "GS" => open.group = Some(start_group(segment)),
            "GE" => {
                let Some(group) = open.group.take() else {
                    return Err(outside("GE", &segment, "without a GS header"));
                };
                interchange.groups.push(close_group(group, &segment)?);
            }
            "ST" => {
                if open.group.is_none() {
                    return Err(outside(
                        "ST",
                        &segment,
                        "outside any functional group: the GS header is missing",
                    ));
                }
                segment.index = 1;
                open.transaction = Some(OpenTransaction::start(segment));
            }
            "SE" => {
                let Some(transaction) = open.transaction.take() else {
                    return Err(outside("SE", &segment, "without an ST header"));
                };
                let transaction = transaction.close(segment)?;
                if let Some(group) = &mut open.group {
                    group.group.transactions.push(transaction);
                }
            }
            _ => {
                if let Some(transaction) = &mut open.transaction {
                    transaction.count = transaction.count.saturating_add(1);
                    segment.index = transaction.count;
                    transaction.segments.push(segment);
                } else if open.group.is_some() {
                    return Err(outside(
                        &segment.id.clone(),
                        &segment,
                        "outside any transaction set (between GS and ST, or after SE): the ST header is \
                         missing",
                    ));
                } else if SERVICE_SEGMENTS.contains(&segment.id.as_str()) {
                    interchange.service_segments.push(segment);
                } else {
                    return Err(outside(
                        &segment.id.clone(),
                        &segment,
                        "outside any functional group: the GS and ST headers are missing",
                    ));
                }
            }
        }
    }
}

/// The envelopes open at the current segment.
#[derive(Default)]
struct Open {
    group: Option<OpenGroup>,
    transaction: Option<OpenTransaction>,
}

struct OpenGroup {
    group: Group,
    header: Segment,
}

struct OpenTransaction {
    transaction: Transaction,
    header: Segment,
    /// Segments so far, counting ST as 1.
    count: u32,
    /// The segments between ST and SE, moved into `transaction` at SE.
    segments: SegmentList,
}

impl Open {
    fn control_number(&self) -> Option<&str> {
        self.transaction
            .as_ref()
            .map(|t| t.transaction.control_number.as_str())
    }

    /// A header or trailer arrived while an inner envelope was still open.
    fn missing_trailer(&self, found: &Segment, interchange: &Interchange) -> EdiError {
        let (what, trailer) = if let Some(t) = &self.transaction {
            (
                format!(
                    "transaction set {} {} (ST at byte {})",
                    t.transaction.code, t.transaction.control_number, t.header.byte_offset
                ),
                "SE",
            )
        } else if let Some(g) = &self.group {
            (
                format!(
                    "functional group {} (GS at byte {})",
                    g.group.control_number, g.header.byte_offset
                ),
                "GE",
            )
        } else {
            (
                format!(
                    "interchange {} (ISA at byte {})",
                    interchange.control_number, interchange.byte_offset
                ),
                "IEA",
            )
        };
        EdiError::new(
            format!(
                "{what} has no {trailer}: {} at byte {} comes first; the trailer is missing or the file was cut \
                 and joined, ask the sender to resend it",
                found.id, found.byte_offset
            ),
            Position::of_segment(found).in_transaction(self.control_number()),
            Some(code::PREMATURE_END),
        )
    }

    /// The document ended inside the interchange.
    fn ends_early(&self, interchange: &Interchange, start: usize, len: usize) -> EdiError {
        let mut missing = Vec::new();
        if let Some(t) = &self.transaction {
            missing.push(format!(
                "transaction set {} {} (ST at byte {}) has no SE",
                t.transaction.code, t.transaction.control_number, t.header.byte_offset
            ));
        }
        if let Some(g) = &self.group {
            missing.push(format!(
                "functional group {} (GS at byte {}) has no GE",
                g.group.control_number, g.header.byte_offset
            ));
        }
        missing.push(format!(
            "interchange {} (ISA at byte {start}) has no IEA",
            interchange.control_number
        ));
        EdiError::new(
            format!(
                "the document ends at byte {len} but {}: the file is truncated; ask the sender to resend it",
                missing.join(", ")
            ),
            Position::at_byte(len).in_transaction(self.control_number()),
            Some(code::PREMATURE_END),
        )
    }
}

fn outside(id: &str, segment: &Segment, why: &str) -> EdiError {
    EdiError::new(
        format!(
            "segment {id} at byte {} is {why}; the envelope is broken, ask the sender to resend it",
            segment.byte_offset
        ),
        Position::of_segment(segment),
        Some(code::INVALID_CONTENT),
    )
}

fn start_group(gs: Segment) -> OpenGroup {
    OpenGroup {
        group: Group {
            functional_id: gs.value(1).to_owned(),
            sender: gs.value(2).to_owned(),
            receiver: gs.value(3).to_owned(),
            date: gs.value(4).to_owned(),
            time: gs.value(5).to_owned(),
            control_number: gs.value(6).to_owned(),
            version: gs.value(8).to_owned(),
            transactions: Vec::new(),
        },
        header: gs,
    }
}

fn close_group(open: OpenGroup, ge: &Segment) -> Result<Group, EdiError> {
    let group = open.group;
    let gs_at = open.header.byte_offset;
    if !same_control_number(ge.value(2), &group.control_number) {
        let shifted = match open.header.elements.len() {
            8 => String::new(),
            n => format!(" (that GS has {n} elements instead of 8, so its fields may be shifted)"),
        };
        return Err(EdiError::new(
            format!(
                "GE02 `{}` does not match GS06 `{}`{shifted} of the functional group at byte {gs_at}: the \
                 trailer belongs to another group or the file was edited; ask the sender to correct and resend \
                 it",
                ge.value(2),
                group.control_number
            ),
            Position::of_segment(ge).element(2),
            Some(code::GROUP_CONTROL_NUMBER_MISMATCH),
        ));
    }
    check_count(
        ge,
        1,
        "GE01",
        group.transactions.len(),
        || {
            format!(
                "transaction sets in functional group {} (GS at byte {gs_at})",
                group.control_number
            )
        },
        code::TRANSACTION_COUNT,
    )?;
    Ok(group)
}

impl OpenTransaction {
    fn start(st: Segment) -> Self {
        OpenTransaction {
            transaction: Transaction {
                code: st.value(1).to_owned(),
                control_number: st.value(2).to_owned(),
                version: Some(st.value(3).to_owned()).filter(|v| !v.is_empty()),
                segments: Vec::new(),
            },
            header: st,
            count: 1,
            segments: SegmentList::default(),
        }
    }

    fn close(self, mut se: Segment) -> Result<Transaction, EdiError> {
        let mut transaction = self.transaction;
        transaction.segments = self.segments.into_vec();
        se.index = self.count.saturating_add(1);
        let cn = transaction.control_number.as_str();
        let describe = || {
            format!(
                "transaction set {} {cn} (ST at byte {})",
                transaction.code, self.header.byte_offset
            )
        };
        if !same_control_number(se.value(2), cn) {
            return Err(EdiError::new(
                format!(
                    "SE02 `{}` does not match ST02 `{cn}` of {}: the trailer belongs to another \
                     transaction set or the file was edited; ask the sender to correct and resend it",
                    se.value(2),
                    describe()
                ),
                Position::of_segment(&se)
                    .element(2)
                    .in_transaction(Some(cn)),
                Some(code::SET_CONTROL_NUMBER_MISMATCH),
            ));
        }
        check_count(
            &se,
            1,
            "SE01",
            se.index as usize,
            || format!("segments in {}, counting ST and SE", describe()),
            code::SEGMENT_COUNT,
        )
        .map_err(|e| e.within(Some(cn), se.index))?;
        hl::check_hierarchy(&transaction)?;
        Ok(transaction)
    }
}

fn check_iea(interchange: &Interchange, iea: &Segment) -> Result<(), EdiError> {
    if !same_control_number(iea.value(2), &interchange.control_number) {
        return Err(EdiError::new(
            format!(
                "IEA02 `{}` does not match ISA13 `{}` of the interchange at byte {}: the trailer belongs to \
                 another interchange or the file was edited; ask the sender to correct and resend it",
                iea.value(2),
                interchange.control_number,
                interchange.byte_offset
            ),
            Position::of_segment(iea).element(2),
            Some(code::CONTROL_NUMBER_MISMATCH),
        ));
    }
    check_count(
        iea,
        1,
        "IEA01",
        interchange.groups.len(),
        || {
            format!(
                "functional groups in interchange {} (ISA at byte {})",
                interchange.control_number, interchange.byte_offset
            )
        },
        code::GROUP_COUNT,
    )
}

/// Checks a trailer's count element against what was counted.
pub(crate) fn check_count(
    trailer: &Segment,
    element: usize,
    name: &str,
    counted: usize,
    what: impl FnOnce() -> String,
    code: &str,
) -> Result<(), EdiError> {
    let declared = trailer.value(element);
    let at = Position::of_segment(trailer).element(element);
    match declared.trim().parse::<usize>() {
        Ok(n) if n == counted => Ok(()),
        Ok(n) => Err(EdiError::new(
            format!(
                "{name} says {n} but there are {counted} {}: segments are missing or the count is wrong; ask \
                 the sender to correct and resend it",
                what()
            ),
            at,
            Some(code),
        )),
        Err(_) => Err(EdiError::new(
            format!(
                "{name} `{declared}` is not a number; it must count the {counted} {}; ask the sender to \
                 correct and resend it",
                what()
            ),
            at,
            Some(code),
        )),
    }
}

/// Control numbers match when they are the same text, or the same number written with different leading
/// zeros (`1` and `000000001`): both are the same N0 value, and rejecting them would only bounce good files.
pub(crate) fn same_control_number(trailer: &str, header: &str) -> bool {
    let (t, h) = (trailer.trim(), header.trim());
    if t == h {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(t) && digits(h) && t.trim_start_matches('0') == h.trim_start_matches('0')
}

/// Reads the ISA header by its structure (see the module docs) and checks its separators.
fn read_isa(doc: &[u8], start: usize) -> Result<Isa, EdiError> {
    let at = |pos: usize| {
        let mut p = Position::at_byte(pos);
        p.segment_id = Some("ISA".to_owned());
        p.segment_index = Some(1);
        p
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
    let element = Sep::decode_at(doc, pos).ok_or_else(|| truncated(pos))?;
    if element.is_data_char() || element.ch == '\r' || element.ch == '\n' {
        return Err(EdiError::new(
            format!(
                "ISA at byte {start}: the element separator (the character after `ISA`) is `{}`, which occurs \
                 in data; the header is corrupt or this is not an X12 interchange",
                element.ch.escape_debug()
            ),
            at(pos),
            Some(code::INVALID_ELEMENT_SEPARATOR),
        ));
    }
    pos += element.len();
    let mut fields = Vec::with_capacity(15);
    let mut isa11_at = pos;
    let mut value = Vec::with_capacity(MAX_ISA_FIELD + 1);
    // Control characters in ISA01..ISA15 (field, byte offset, byte): refused once the separators are known,
    // since ISA11 may be the repetition separator.
    let mut controls: Vec<(usize, usize, u8)> = Vec::new();
    for n in 1..=15usize {
        if n == 11 {
            isa11_at = pos;
        }
        value.clear();
        loop {
            let Some(&b) = doc.get(pos) else {
                return Err(truncated(pos));
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
                return Err(EdiError::new(
                    format!(
                        "ISA{n:02} runs past {MAX_ISA_FIELD} characters without the element separator `{}`: \
                         the ISA header at byte {start} is corrupt (ISA fields are at most 15 characters)",
                        element.ch.escape_debug()
                    ),
                    at(pos).element(n),
                    Some(code::INVALID_CONTENT),
                ));
            }
        }
        fields.push(crate::scan::decode(&value));
    }
    while matches!(doc.get(pos), Some(b'\r' | b'\n')) {
        pos += 1;
    }
    let component = Sep::decode_at(doc, pos).ok_or_else(|| truncated(pos))?;
    pos += component.len();
    let segment = Sep::decode_at(doc, pos).ok_or_else(|| truncated(pos))?;
    let terminator_at = pos;
    pos += segment.len();

    if component.is_data_char() || component == element {
        return Err(EdiError::new(
            format!(
                "ISA16 (the component separator) is `{}`, which {}; the ISA header at byte {start} is corrupt",
                component.ch.escape_debug(),
                if component == element {
                    "is also the element separator"
                } else {
                    "occurs in data"
                }
            ),
            at(terminator_at.saturating_sub(component.len())).element(16),
            Some(code::INVALID_COMPONENT_SEPARATOR),
        ));
    }
    if segment.is_data_char() || segment == element || segment == component {
        let why = if segment.ch == ' ' {
            "a space; spaces occur in data, so segments cannot be told apart. The sender must use a \
             terminator such as `~`"
                .to_owned()
        } else if segment.is_data_char() {
            format!(
                "a letter or digit, so the segment terminator is missing (ISA16 `{}` is followed directly by \
                 data); the sender must end every segment with a terminator such as `~`",
                component.ch.escape_debug()
            )
        } else {
            "also used as a separator; the sender must use distinct separators".to_owned()
        };
        return Err(EdiError::new(
            format!(
                "ISA at byte {start}: the segment terminator (the character after ISA16) is `{}`, {why}",
                segment.ch.escape_debug()
            ),
            at(terminator_at),
            Some(code::INVALID_SEGMENT_TERMINATOR),
        ));
    }

    // ISA11 is the repetition separator from version 00402 on; before that it is the standards id `U`.
    let version: u32 = fields
        .get(11)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let repetition = if version >= 402 && fields.get(10).is_some_and(|f| f.chars().count() == 1) {
        Sep::decode_at(doc, isa11_at)
            .filter(|r| !r.is_data_char() && *r != element && *r != component && *r != segment)
    } else {
        None
    };
    if let Some(&(n, byte_at, b)) = controls
        .iter()
        .find(|(n, _, b)| !(*n == 11 && repetition.is_some_and(|r| r.ch == char::from(*b))))
    {
        let mut position = at(byte_at).element(n);
        position.component = Some(1);
        return Err(control_character(
            b,
            byte_at,
            &format!("in ISA{n:02} of the ISA header at byte {start}"),
            position,
        ));
    }
    let separators = Separators {
        element: element.ch,
        component: component.ch,
        repetition: repetition.map(|r| r.ch),
        segment: segment.ch,
        release: None,
        decimal_mark: None,
    };
    Ok(Isa {
        fields,
        delims: Delimiters {
            element,
            component,
            repetition,
            segment,
            release: None,
        },
        separators,
        end: pos,
    })
}

/// A short excerpt for messages about what was found where an envelope was expected.
pub(crate) fn excerpt(doc: &[u8], pos: usize) -> String {
    printable(doc.get(pos..).unwrap_or(&[]), 24)
}
