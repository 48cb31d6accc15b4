//! The parsed segment tree, shaped after the WIT `edi` interface (`wit/edi.wit`) so the host can convert it
//! field by field and the Rust SDK can use it natively in tests.
//!
//! Names and fields follow the WIT records in snake_case. The one addition is
//! [`Interchange::service_segments`], which keeps X12 interchange-level segments (TA1, ISB, ISE) that the WIT
//! record has no place for yet; without it a TA1-only interchange would parse to an empty shell.

/// Which standard a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standard {
    /// ANSI ASC X12 (ISA..IEA).
    X12,
    /// UN/EDIFACT (UNA/UNB..UNZ).
    Edifact,
}

/// The characters that separate things, as the document declared them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Separators {
    /// X12: ISA byte 4; EDIFACT: UNA 2 (default `+`).
    pub element: char,
    /// X12: ISA16; EDIFACT: UNA 1 (default `:`).
    pub component: char,
    /// X12: ISA11 from version 00402 on; EDIFACT: UNA 5 (default `*`) in syntax version 4. None when not
    /// declared.
    pub repetition: Option<char>,
    /// X12: the character after ISA16; EDIFACT: UNA 6 (default `'`).
    pub segment: char,
    /// EDIFACT only: UNA 4 (default `?`); None when UNA declares a space (no release character).
    pub release: Option<char>,
    /// EDIFACT only: UNA 3 (default `.`).
    pub decimal_mark: Option<char>,
}

/// One data element: its components (a simple element has one) and, rarely, its repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The first or only occurrence, split into components, with release characters removed.
    pub components: Vec<String>,
    /// Further occurrences of a repeating element, each split into components.
    pub repeats: Vec<Vec<String>>,
}

impl Element {
    /// A simple element holding one value.
    pub fn simple(value: impl Into<String>) -> Self {
        Element {
            components: vec![value.into()],
            repeats: Vec::new(),
        }
    }

    /// The first component of the first occurrence, or `""` when the element is empty.
    pub fn value(&self) -> &str {
        self.components.first().map_or("", String::as_str)
    }
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The tag: `BSN`, `HL`, `LIN`.
    pub id: String,
    /// The elements after the tag; `elements[0]` is element 01.
    pub elements: Vec<Element>,
    /// The segment's position in its transaction (header = 1); for envelope and interchange-level segments,
    /// its position in the interchange (ISA/UNB = 1).
    pub index: u32,
    /// Where the segment's tag starts in the document.
    pub byte_offset: u64,
}

impl Segment {
    /// The first component of element `n` (1-based, as in `BSN02`), or `""` when absent.
    pub fn value(&self, n: usize) -> &str {
        n.checked_sub(1)
            .and_then(|i| self.elements.get(i))
            .map_or("", Element::value)
    }
}

/// One transaction set (X12 ST..SE) or message (EDIFACT UNH..UNT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// ST01 (`856`) or UNH 0065 (`DESADV`).
    pub code: String,
    /// ST02 or UNH 0062.
    pub control_number: String,
    /// X12 ST03 (implementation convention), or the EDIFACT message version `D:96A:UN`.
    pub version: Option<String>,
    /// The segments between the header and the trailer, in order.
    pub segments: Vec<Segment>,
}

/// One functional group (X12 GS..GE, EDIFACT UNG..UNE). EDIFACT messages outside a UNG sit in a group whose
/// fields are empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// GS01 (`SH` for ship notices), or UNG 0038.
    pub functional_id: String,
    /// GS02, or UNG 0040.
    pub sender: String,
    /// GS03, or UNG 0044.
    pub receiver: String,
    /// GS04 (CCYYMMDD), or UNG 0017.
    pub date: String,
    /// GS05 (HHMM[SS[dd]]), or UNG 0019.
    pub time: String,
    /// GS06 or UNG 0048.
    pub control_number: String,
    /// GS08: `004010`, `004010VICS`, `005010X231`; or the UNG message version. A 997 echoes it.
    pub version: String,
    /// The transaction sets (messages) in the group, in order.
    pub transactions: Vec<Transaction>,
}

/// One interchange (X12 ISA..IEA, EDIFACT UNB..UNZ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interchange {
    /// X12 or EDIFACT.
    pub standard: Standard,
    /// The separators this interchange declared.
    pub separators: Separators,
    /// ISA05, or UNB 0007 (sender).
    pub sender_qualifier: String,
    /// ISA06 (trailing padding removed), or UNB 0004.
    pub sender_id: String,
    /// ISA07, or UNB 0007 (recipient).
    pub receiver_qualifier: String,
    /// ISA08 (trailing padding removed), or UNB 0010.
    pub receiver_id: String,
    /// ISA09 (YYMMDD), or UNB 0017.
    pub date: String,
    /// ISA10 (HHMM), or UNB 0019.
    pub time: String,
    /// ISA12 (`00401`), or the EDIFACT syntax id and version (`UNOC:3`).
    pub version: String,
    /// ISA13 or UNB 0020.
    pub control_number: String,
    /// ISA14 (`1` asks for a TA1), or UNB 0031.
    pub acknowledgment_requested: bool,
    /// ISA15 (`P` production, `T` test), or UNB 0035 (`1` test).
    pub test: bool,
    /// The functional groups, in order.
    pub groups: Vec<Group>,
    /// X12 interchange-level segments outside any group (TA1, ISB, ISE), in order. Not in WIT
    /// `edi.interchange` yet; always empty for EDIFACT.
    pub service_segments: Vec<Segment>,
    /// The interchange's byte offset in the file.
    pub byte_offset: u64,
}

/// Where something is in a document; the same fields as WIT `types.position`.
///
/// The parser fills `byte_offset` and `segment_id` always, `segment_index` and `element` where they apply.
/// `line` and `json_path` are for other formats and stay `None` here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    /// The transaction's control number (ST02, UNH 0062), for files that hold several.
    pub transaction: Option<String>,
    /// The segment's position in its transaction, counting the header (ST, UNH) as 1, as in a 997 AK3; for
    /// envelope segments, its position in the interchange (ISA, UNB = 1).
    pub segment_index: Option<u32>,
    /// The segment's tag: `SN1`, `HL`, `LIN`.
    pub segment_id: Option<String>,
    /// The element's position in the segment, 1-based (`SN1-02` is 2).
    pub element: Option<u32>,
    /// The component's position in the element, 1-based.
    pub component: Option<u32>,
    /// The line in the file, 1-based, for line-oriented formats; always `None` for EDI.
    pub line: Option<u32>,
    /// A JSON path, for JSON documents; always `None` for EDI.
    pub json_path: Option<String>,
    /// The byte offset in the document.
    pub byte_offset: Option<u64>,
}

impl Position {
    /// A position at a byte offset and nothing else.
    pub fn at_byte(offset: usize) -> Self {
        Position {
            byte_offset: Some(offset as u64),
            ..Position::default()
        }
    }

    /// The position of a segment (its tag, index and offset).
    pub fn of_segment(segment: &Segment) -> Self {
        Position {
            segment_index: Some(segment.index),
            segment_id: Some(segment.id.clone()),
            byte_offset: Some(segment.byte_offset),
            ..Position::default()
        }
    }

    /// The same position, narrowed to element `n` (1-based).
    pub fn element(mut self, n: usize) -> Self {
        self.element = u32::try_from(n).ok();
        self
    }

    /// The same position, inside the transaction with this control number.
    pub fn in_transaction(mut self, control_number: Option<&str>) -> Self {
        self.transaction = control_number.map(str::to_owned);
        self
    }
}
