//! The tolerant envelope reader: what arrived, even when [`crate::parse`] refuses it.
//!
//! An acknowledgment echoes the inbound ids (ISA05–ISA08, ISA13, GS01, GS06, ST01, ST02 …), and a partner
//! needs one most when its document is broken, so this reader keeps going where the strict parser stops: it
//! records each problem as a located [`EdiError`] with the code `parse` would give, resynchronizes at the
//! next segment terminator and reads on (the pass itself is in `reader`; this module holds what it finds).
//! Segments are split by the crate's scanner (`scan`), so every
//! terminator and separator style `parse` reads is read the same way here; only the ISA header, which
//! `parse` refuses outright when it is damaged, has a reader of its own (`header`) that keeps what it could
//! read.
//!
//! The reader checks exactly what the strict parser checks about envelopes (control numbers, counts,
//! trailers, segments outside their envelope, duplicate ISA13, control characters), never more: a document
//! `parse` accepts leaves no problem here. It does not check HL hierarchies; that error reaches the
//! acknowledgment through [`Received::finding`].

use std::ops::Range;

use crate::error::EdiError;
use crate::model::{Segment, Separators, Standard};
use crate::scan::{Delimiters, Scanner};
use crate::x12::same_control_number;

use super::reader;

/// Everything the reader found in one document.
#[derive(Clone)]
pub struct Received<'a> {
    /// The X12 interchanges, in document order.
    pub interchanges: Vec<ReceivedInterchange>,
    /// Every problem seen, in document order, as located errors with the codes [`crate::parse`] uses (TA1
    /// notes such as `023`, AK5/AK9 codes such as `4`, or `control-character`); [`crate::ack::Outcomes::new`]
    /// turns them into acknowledgment codes.
    pub problems: Vec<EdiError>,
    /// Why no interchange could be read, when none was: the document is empty, EDIFACT (acknowledged with
    /// CONTRL, not here), or holds no readable ISA header. No acknowledgment can be addressed then.
    pub unreadable: Option<String>,
    /// The document, for the segments that findings read again (a copy of bad data, a segment's tag).
    pub(super) document: &'a [u8],
    /// The document as text when it is valid UTF-8, as the scanner takes it.
    pub(super) text: Option<&'a str>,
}

impl std::fmt::Debug for Received<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("interchanges", &self.interchanges)
            .field("problems", &self.problems)
            .field("unreadable", &self.unreadable)
            .finish_non_exhaustive()
    }
}

/// A trailer as received: its count and control number, uncompared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// IEA01, GE01 or SE01 as sent.
    pub count: String,
    /// IEA02, GE02 or SE02 as sent.
    pub control_number: String,
    /// Where the trailer starts in the document.
    pub byte_offset: usize,
}

/// One interchange (ISA..IEA) as received.
#[derive(Debug, Clone)]
pub struct ReceivedInterchange {
    /// The separators the ISA declared; None when they could not be read or cannot split segments (TA1
    /// `004`, `026`, `027`), and then nothing after the ISA was read.
    pub separators: Option<Separators>,
    /// ISA05.
    pub sender_qualifier: String,
    /// ISA06, trailing padding removed.
    pub sender_id: String,
    /// ISA07.
    pub receiver_qualifier: String,
    /// ISA08, trailing padding removed.
    pub receiver_id: String,
    /// ISA09 (YYMMDD).
    pub date: String,
    /// ISA10 (HHMM).
    pub time: String,
    /// ISA12 (`00401`).
    pub version: String,
    /// ISA13.
    pub control_number: String,
    /// ISA14 is `1`: the sender asks for a TA1.
    pub acknowledgment_requested: bool,
    /// ISA15 is `T`.
    pub test: bool,
    /// The IEA, when one closed the interchange.
    pub iea: Option<Trailer>,
    /// The functional groups, in order.
    pub groups: Vec<ReceivedGroup>,
    /// The bytes from the ISA to the end of the IEA (or to where the interchange was cut off).
    pub bytes: Range<usize>,
    /// The separators as the scanner takes them.
    pub(super) delimiters: Option<Delimiters>,
}

impl ReceivedInterchange {
    /// Whether the IEA is there and agrees with the ISA13 and the number of groups read.
    pub fn iea_matches(&self) -> bool {
        self.iea.as_ref().is_some_and(|iea| {
            same_control_number(&iea.control_number, &self.control_number)
                && counts(&iea.count, self.groups.len())
        })
    }
}

/// One functional group (GS..GE) as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedGroup {
    /// GS01, the functional id (`SH`).
    pub functional_id: String,
    /// GS02, the application sender.
    pub sender: String,
    /// GS03, the application receiver.
    pub receiver: String,
    /// GS04 (CCYYMMDD).
    pub date: String,
    /// GS05 (HHMM…).
    pub time: String,
    /// GS06, the group control number.
    pub control_number: String,
    /// GS08, the version (`004010`, `005010X222A1`).
    pub version: String,
    /// The GE, when one closed the group.
    pub ge: Option<Trailer>,
    /// The transaction sets, in order, including those whose SE is missing.
    pub transactions: Vec<ReceivedTransaction>,
    /// The bytes from the GS to the end of the GE (or to where the group was cut off).
    pub bytes: Range<usize>,
}

impl ReceivedGroup {
    /// Whether the GE is there and agrees with GS06 and the number of sets read.
    pub fn ge_matches(&self) -> bool {
        self.ge.as_ref().is_some_and(|ge| {
            same_control_number(&ge.control_number, &self.control_number)
                && counts(&ge.count, self.transactions.len())
        })
    }
}

/// One transaction set (ST..SE) as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedTransaction {
    /// ST01 (`856`).
    pub code: String,
    /// ST02.
    pub control_number: String,
    /// ST03, the implementation convention reference, when sent.
    pub version: Option<String>,
    /// The segments counted, ST and (when present) SE included, as SE01 should count them.
    pub segment_count: usize,
    /// The SE, when one closed the set.
    pub se: Option<Trailer>,
    /// The bytes from the ST to the end of the SE (or to where the set was cut off).
    pub bytes: Range<usize>,
    /// Where each segment starts, ST first: position `n` in the set (ST = 1) is `offsets[n - 1]`.
    pub(super) offsets: Vec<usize>,
}

impl ReceivedTransaction {
    /// Whether the SE is there and agrees with ST02 and the number of segments read.
    pub fn se_matches(&self) -> bool {
        self.se.as_ref().is_some_and(|se| {
            same_control_number(&se.control_number, &self.control_number)
                && counts(&se.count, self.segment_count)
        })
    }

    /// The position in the set (ST = 1) of the segment holding `byte`.
    pub(super) fn index_of(&self, byte: usize) -> Option<u32> {
        let i = self.offsets.iter().rposition(|&o| o <= byte)?;
        u32::try_from(i + 1).ok()
    }
}

/// Whether a trailer's count element states `counted`.
fn counts(declared: &str, counted: usize) -> bool {
    declared.trim().parse::<usize>().ok() == Some(counted)
}

/// Reads every X12 interchange of a document, tolerating what [`crate::parse`] refuses; see the module
/// docs. Never panics, on any input.
///
/// ```
/// let doc = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~\
/// GS*SH*SENDER*RECEIVER*20240101*1200*7*X*004010~ST*856*0001~BSN*00*SHIP1*20240101*1200~SE*9*0001~GE*1*7~IEA*1*000000001~";
/// let received = millwright_edi::ack::received(doc);
/// let set = &received.interchanges[0].groups[0].transactions[0];
/// assert_eq!((set.code.as_str(), set.control_number.as_str(), set.segment_count), ("856", "0001", 3));
/// assert!(!set.se_matches());
/// assert_eq!(received.problems[0].code.as_deref(), Some("4"));
/// ```
pub fn received(document: &[u8]) -> Received<'_> {
    let mut received = Received {
        interchanges: Vec::new(),
        problems: Vec::new(),
        unreadable: None,
        document,
        text: std::str::from_utf8(document).ok(),
    };
    reader::read(&mut received);
    received
}

impl Received<'_> {
    /// The segment that starts at `offset`, scanned again with the interchange's separators; None when it
    /// cannot be scanned (it holds the damage being reported).
    pub(super) fn segment_at(&self, interchange: usize, offset: usize) -> Option<Segment> {
        let delimiters = self.interchanges.get(interchange)?.delimiters?;
        Scanner::new(self.document, offset, delimiters, Standard::X12)
            .with_text(self.text)
            .next_segment()
            .ok()
            .flatten()
    }

    /// The tag of the segment at `offset` as far as it can be copied into an AK301: the ASCII letters and
    /// digits among its first bytes, up to three, before the element separator or terminator.
    pub(super) fn raw_tag(&self, interchange: usize, offset: usize) -> String {
        let delimiters = self
            .interchanges
            .get(interchange)
            .and_then(|i| i.delimiters);
        let mut tag = String::new();
        let mut pos = offset;
        while let Some(&b) = self.document.get(pos) {
            let separator = delimiters.is_some_and(|d| {
                d.element.matches(self.document, pos) || d.segment.matches(self.document, pos)
            });
            if separator || tag.len() == 3 || pos >= offset + 8 {
                break;
            }
            if b.is_ascii_alphanumeric() {
                tag.push(char::from(b));
            }
            pos += 1;
        }
        tag
    }
}
