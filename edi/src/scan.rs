//! The segment scanner shared by X12 and EDIFACT: one pass over the bytes, splitting segments, elements,
//! repeats and components with the separators the envelope header declared.
//!
//! It sits under `x12` and `edifact`, which read the header, build a [`Delimiters`] and then pull segments one
//! at a time. Rules that hold in both standards live here, so they are applied the same way:
//!
//! - Line breaks (CR, LF) are never data unless one of them is the segment terminator. Real files wrap data at
//!   80 columns or put CR/LF after every terminator; neither X12's nor EDIFACT's UNOA/UNOB character sets allow
//!   a line break inside a value, so dropping them is safe and makes wrapped files parse as intended.
//! - Whitespace (space, TAB, VT, FF, CR, LF) and a DOS end-of-file mark (0x1A) before a segment tag are
//!   filler (indented files, `~ GS`, a 0x1A after the last trailer).
//! - Any other C0 control character (0x00–0x1F) or DEL (0x7F) is refused with code `control-character`, at
//!   its byte, segment, element and component: in a value, in a segment tag or where one should start, and in
//!   the ISA/UNA/UNB header. Neither X12's basic and extended character sets nor EDIFACT's UNOA/UNOB/UNOC
//!   repertoires hold them as data, and one that gets through reaches canonical events as `\u0000`. Exempt:
//!   - the separators this interchange declared (element, component, repetition, terminator, release):
//!     real files use 0x15, 0x1D, 0x1F, 0x07 and 0x7F, and the scanner never takes them for data; a released
//!     character is data, though, so a control character after the release character is refused even when
//!     it is a separator;
//!   - CR and LF, dropped as above, and the filler before a tag;
//!   - the raw bytes of X12 `BIN`/`BDS` (below).
//!
//!   TAB inside a value is refused like the rest: no character set above allows it, and no corpus file has
//!   one (`tests/corpus-expectations.txt`). Bytes 0x80–0x9F, and U+0080–U+009F in UTF-8 documents, are kept:
//!   in Windows-1252 they are printable (`€`, `…`, `Š`), and that is what files "declared UNOC" often are.
//!   The check is in the byte tables the scanner already consults (`special`, [`FastTables`]), so clean
//!   documents pay nothing for it.
//! - X12 `BIN`/`BDS` segments carry a byte count and raw bytes, read verbatim (line breaks and control
//!   characters included).
//! - Values are UTF-8 when they are valid UTF-8, otherwise Windows-1252 (what files "declared UNOC" and
//!   X12 files from Windows tools usually are), so decoding never fails and never loses a byte's meaning.

use crate::error::{EdiError, code};
use crate::model::{Element, Position, Segment, Standard};

/// One separator as it appears in the document: its bytes (1–4) and the character they stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sep {
    bytes: [u8; 4],
    len: usize,
    /// The character, decoded as UTF-8 or, for a lone non-ASCII byte, Windows-1252.
    pub ch: char,
}

impl Sep {
    /// Decodes the separator starting at `pos`: a whole UTF-8 character when the bytes form one, else the
    /// single byte. None at the end of the document.
    pub fn decode_at(doc: &[u8], pos: usize) -> Option<Sep> {
        let first = *doc.get(pos)?;
        let width = match first {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1,
        };
        if width > 1
            && let Some(bytes) = doc.get(pos..pos.saturating_add(width))
            && let Ok(s) = std::str::from_utf8(bytes)
            && let Some(ch) = s.chars().next()
        {
            let mut buf = [0u8; 4];
            buf[..width].copy_from_slice(bytes);
            return Some(Sep {
                bytes: buf,
                len: width,
                ch,
            });
        }
        Some(Sep {
            bytes: [first, 0, 0, 0],
            len: 1,
            ch: windows_1252(first),
        })
    }

    /// A separator for an ASCII character.
    pub fn ascii(b: u8) -> Sep {
        Sep {
            bytes: [b, 0, 0, 0],
            len: 1,
            ch: windows_1252(b),
        }
    }

    /// How many bytes the separator takes in the document.
    pub fn len(&self) -> usize {
        self.len
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    fn first(&self) -> u8 {
        self.bytes[0]
    }

    pub fn matches(&self, doc: &[u8], pos: usize) -> bool {
        doc.get(pos..pos.saturating_add(self.len)) == Some(self.as_bytes())
    }

    /// True for letters, digits and spaces, which occur in data and so cannot separate it.
    pub fn is_data_char(&self) -> bool {
        self.ch.is_alphanumeric() || self.ch == ' '
    }
}

/// The separators a scanner splits by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delimiters {
    pub element: Sep,
    pub component: Sep,
    pub repetition: Option<Sep>,
    pub segment: Sep,
    pub release: Option<Sep>,
}

/// Pulls segments out of a document one at a time.
pub(crate) struct Scanner<'a> {
    doc: &'a [u8],
    pos: usize,
    delims: Delimiters,
    standard: Standard,
    /// First bytes that need a closer look (separators, release, CR, LF, and the control characters that are
    /// refused, see [`is_control`]); everything else is copied in runs.
    special: [bool; 256],
    /// Reused for values that are not one contiguous slice (line breaks or release characters inside).
    scratch: Vec<u8>,
    /// Tables for [`Scanner::fast_segment`], when every separator is one distinct ASCII byte.
    fast: Option<FastTables>,
    /// `doc` as text when the whole document is valid UTF-8 (see [`Scanner::with_text`]).
    text: Option<&'a str>,
}

/// Byte classes for the fast path.
const DATA: u8 = 0;
const ELEMENT: u8 = 1;
const COMPONENT: u8 = 2;
const REPETITION: u8 = 3;
/// The segment terminator, and the bytes the fast path leaves to the general scanner (CR, LF, release, and
/// the control characters that are not separators, which the general path refuses).
const STOP: u8 = 4;

/// Lookup tables for the single-byte-separator fast path.
struct FastTables {
    element: u8,
    segment: u8,
    /// [`DATA`], [`ELEMENT`], [`COMPONENT`], [`REPETITION`] or [`STOP`] for every byte.
    class: [u8; 256],
}

impl FastTables {
    /// Tables for `delims`, or None when a separator is multi-byte or non-ASCII, two coincide, or one other
    /// than the terminator is a line break: those documents take the general path.
    fn new(delims: &Delimiters) -> Option<FastTables> {
        let byte = |sep: Sep| (sep.len() == 1 && sep.first().is_ascii()).then(|| sep.first());
        let element = byte(delims.element)?;
        let component = byte(delims.component)?;
        let segment = byte(delims.segment)?;
        let repetition = match delims.repetition {
            Some(r) => Some(byte(r)?),
            None => None,
        };
        let release = match delims.release {
            Some(r) => Some(byte(r)?),
            None => None,
        };
        let mut all = vec![element, component, segment];
        all.extend(repetition);
        all.extend(release);
        for (i, b) in all.iter().enumerate() {
            if all.iter().skip(i + 1).any(|other| other == b) {
                return None;
            }
            if *b != segment && matches!(*b, b'\r' | b'\n') {
                return None;
            }
        }
        let mut class = CONTROL_CLASSES;
        class[usize::from(element)] = ELEMENT;
        class[usize::from(component)] = COMPONENT;
        if let Some(r) = repetition {
            class[usize::from(r)] = REPETITION;
        }
        for b in [segment, b'\r', b'\n'].into_iter().chain(release) {
            class[usize::from(b)] = STOP;
        }
        Some(FastTables {
            element,
            segment,
            class,
        })
    }
}

/// Where a value sits in its segment, all 1-based: element, occurrence of a repeating element, component.
#[derive(Clone, Copy)]
struct Slot {
    element: usize,
    occurrence: usize,
    component: usize,
}

/// How a value ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Element,
    Component,
    Repetition,
    Segment,
}

impl<'a> Scanner<'a> {
    pub fn new(doc: &'a [u8], pos: usize, delims: Delimiters, standard: Standard) -> Self {
        let mut scanner = Scanner {
            doc,
            pos,
            delims,
            standard,
            special: [false; 256],
            scratch: Vec::new(),
            fast: None,
            text: None,
        };
        scanner.set_delimiters(delims);
        scanner
    }

    /// Gives the scanner the whole document as text, when it is valid UTF-8 (`std::str::from_utf8(doc)`), so
    /// values are sliced from it instead of each segment being validated again.
    pub fn with_text(mut self, text: Option<&'a str>) -> Self {
        self.text = text.filter(|t| t.len() == self.doc.len());
        self
    }

    /// Switches separators mid-stream (EDIFACT learns the repetition separator from UNB's syntax version).
    pub fn set_delimiters(&mut self, delims: Delimiters) {
        self.delims = delims;
        let mut special = CONTROLS;
        special[usize::from(b'\r')] = true;
        special[usize::from(b'\n')] = true;
        for sep in [
            Some(delims.element),
            Some(delims.component),
            delims.repetition,
            Some(delims.segment),
        ]
        .into_iter()
        .chain([delims.release])
        .flatten()
        {
            special[usize::from(sep.first())] = true;
        }
        self.special = special;
        self.fast = FastTables::new(&delims);
    }

    /// The byte offset the scanner has reached.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The next segment, with `index` 0 (the envelope layer numbers it), or None at the end of the document.
    pub fn next_segment(&mut self) -> Result<Option<Segment>, EdiError> {
        self.pos = skip_filler(self.doc, self.pos);
        let start = self.pos;
        if start >= self.doc.len() {
            return Ok(None);
        }
        if let Some(segment) = self.fast_segment(start) {
            return Ok(Some(segment));
        }
        let id = self.read_tag(start)?;
        let mut segment = Segment {
            id,
            elements: Vec::new(),
            index: 0,
            byte_offset: start as u64,
        };
        if self.delims.segment.matches(self.doc, self.pos) {
            self.pos += self.delims.segment.len();
            return Ok(Some(segment));
        }
        if self.pos >= self.doc.len() {
            // A tag-only last segment whose line-break terminator was stripped (see `ends_at_eof`).
            return Ok(Some(segment));
        }
        // read_tag stopped at the element separator.
        self.pos += self.delims.element.len();
        let binary_after = match (self.standard, segment.id.as_str()) {
            (Standard::X12, "BIN") => Some(1),
            (Standard::X12, "BDS") => Some(2),
            _ => None,
        };
        let mut occurrence: Vec<String> = Vec::new();
        let mut first: Option<Vec<String>> = None;
        let mut repeats: Vec<Vec<String>> = Vec::new();
        loop {
            let slot = Slot {
                element: segment.elements.len() + 1,
                occurrence: if first.is_none() {
                    1
                } else {
                    repeats.len() + 2
                },
                component: occurrence.len() + 1,
            };
            let (value, stop) = self.read_value(&segment, start, slot)?;
            occurrence.push(value);
            match stop {
                Stop::Component => continue,
                Stop::Repetition => {
                    let done = std::mem::take(&mut occurrence);
                    if first.is_none() {
                        first = Some(done);
                    } else {
                        repeats.push(done);
                    }
                    continue;
                }
                Stop::Element | Stop::Segment => {
                    let done = std::mem::take(&mut occurrence);
                    let element = match first.take() {
                        None => Element {
                            components: done,
                            repeats: Vec::new(),
                        },
                        Some(components) => {
                            repeats.push(done);
                            Element {
                                components,
                                repeats: std::mem::take(&mut repeats),
                            }
                        }
                    };
                    segment.elements.push(element);
                }
            }
            if stop == Stop::Segment {
                return Ok(Some(segment));
            }
            if binary_after == Some(segment.elements.len()) {
                self.read_binary(&mut segment, start)?;
                return Ok(Some(segment));
            }
        }
    }

    /// The segment at `start` in one pass over its bytes, for the common case: single-byte ASCII separators
    /// and a segment with a valid tag and no line break, release character or binary data inside. Returns
    /// None, having consumed nothing, for anything else; [`Scanner::next_segment`] then takes the general
    /// path, which gives the same tree for what this accepts and also reports the errors.
    ///
    /// UTF-8 is checked once for the whole document (see [`Scanner::with_text`]), or once for the segment
    /// when the document as a whole is not valid UTF-8; a value split from valid UTF-8 at ASCII separators is
    /// itself valid, so it is copied without a further check. Vectors are sized from separator counts.
    fn fast_segment(&mut self, start: usize) -> Option<Segment> {
        let fast = self.fast.as_ref()?;
        let rest = self.doc.get(start..)?;
        // One pass to the terminator, counting element separators and noting components and repeats.
        let mut separators = 0usize;
        let mut nested = false;
        let mut stop_at = None;
        for (i, &b) in rest.iter().enumerate() {
            match fast.class[usize::from(b)] {
                DATA => {}
                ELEMENT => separators += 1,
                STOP => {
                    stop_at = Some(i);
                    break;
                }
                _ => nested = true,
            }
        }
        let stop_at = stop_at?;
        let stop = *rest.get(stop_at)?;
        let next = if stop == fast.segment {
            start + stop_at + 1
        } else if stop == b'\r' && fast.segment == b'\n' && rest.get(stop_at + 1) == Some(&b'\n') {
            // CR LF with LF as the terminator: the general path drops the CR.
            start + stop_at + 2
        } else {
            return None;
        };
        let bytes = rest.get(..stop_at)?;
        let tag_len = bytes
            .iter()
            .position(|&b| b == fast.element)
            .unwrap_or(bytes.len());
        let tag = bytes.get(..tag_len)?;
        let min = if self.standard == Standard::Edifact {
            3
        } else {
            2
        };
        if tag.len() < min
            || tag.len() > 3
            || !tag
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            || (self.standard == Standard::X12 && matches!(tag, b"BIN" | b"BDS"))
        {
            return None;
        }
        let id = match self.text {
            Some(text) => text.get(start..start + tag_len),
            None => std::str::from_utf8(tag).ok(),
        }?
        .to_owned();
        let elements = match bytes.get(tag_len + 1..) {
            None => Vec::new(),
            Some(body) => {
                let text = match self.text {
                    Some(text) => text.get(start + tag_len + 1..start + stop_at),
                    None => std::str::from_utf8(body).ok(),
                };
                split_elements(body, text, separators, nested, fast)
            }
        };
        self.pos = next;
        Some(Segment {
            id,
            elements,
            index: 0,
            byte_offset: start as u64,
        })
    }

    /// Reads a segment tag up to the element separator or terminator and checks it is 2–3 upper-case
    /// letters or digits (EDIFACT: 3).
    fn read_tag(&mut self, start: usize) -> Result<String, EdiError> {
        let mut tag = [0u8; 3];
        let mut len = 0usize;
        let mut valid = true;
        loop {
            let Some(&b) = self.doc.get(self.pos) else {
                if len > 0 && self.ends_at_eof() {
                    break;
                }
                return Err(EdiError::new(
                    format!(
                        "the document ends inside a segment tag starting `{}` at byte {start}: the file is \
                         truncated; ask the sender to resend it",
                        printable(self.doc.get(start..).unwrap_or(&[]), 12)
                    ),
                    Position::at_byte(start),
                    Some(code::PREMATURE_END),
                ));
            };
            if self.delims.segment.matches(self.doc, self.pos)
                || self.delims.element.matches(self.doc, self.pos)
            {
                break;
            }
            if b == b'\r' || b == b'\n' {
                self.pos += 1;
                continue;
            }
            if is_control(b) {
                let place = if len == 0 {
                    "where a segment tag should start".to_owned()
                } else {
                    format!("inside the segment tag that starts at byte {start}")
                };
                return Err(control_character(
                    b,
                    self.pos,
                    &place,
                    Position::at_byte(self.pos),
                ));
            }
            if len < 3 && (b.is_ascii_uppercase() || b.is_ascii_digit()) {
                tag[len] = b;
                len += 1;
            } else {
                valid = false;
            }
            self.pos += 1;
            if !valid {
                break;
            }
        }
        let min = if self.standard == Standard::Edifact {
            3
        } else {
            2
        };
        if !valid || len < min {
            let what = if self.standard == Standard::Edifact {
                "3 upper-case letters or digits"
            } else {
                "2 or 3 upper-case letters or digits"
            };
            return Err(EdiError::new(
                format!(
                    "invalid segment tag `{}` at byte {start}: a tag is {what}; the segment terminator before \
                     it may be missing or the data may be corrupt",
                    printable(self.doc.get(start..).unwrap_or(&[]), 12)
                ),
                Position::at_byte(start),
                Some(code::INVALID_CONTENT),
            ));
        }
        Ok(String::from_utf8_lossy(tag.get(..len).unwrap_or(&[])).into_owned())
    }

    /// Reads one value up to the next separator, dropping line breaks and release characters and refusing
    /// control characters (see [`is_control`]); `slot` says where the value sits, for that error.
    fn read_value(
        &mut self,
        segment: &Segment,
        start: usize,
        slot: Slot,
    ) -> Result<(String, Stop), EdiError> {
        self.scratch.clear();
        let doc = self.doc;
        loop {
            // Copy the run of ordinary bytes in one go.
            let run_start = self.pos;
            while let Some(&b) = doc.get(self.pos) {
                if self.special[usize::from(b)] {
                    break;
                }
                self.pos += 1;
            }
            if let Some(run) = doc.get(run_start..self.pos) {
                self.scratch.extend_from_slice(run);
            }
            if self.pos >= doc.len() {
                if self.ends_at_eof() {
                    return Ok((decode(&self.scratch), Stop::Segment));
                }
                return Err(self.truncated(segment, start));
            }
            let d = self.delims;
            if let Some(release) = d.release
                && release.matches(doc, self.pos)
            {
                self.pos += release.len();
                while matches!(doc.get(self.pos), Some(b'\r' | b'\n')) {
                    self.pos += 1;
                }
                let Some(next) = Sep::decode_at(doc, self.pos) else {
                    return Err(self.truncated(segment, start));
                };
                // A released character is data, so a control character is refused here even when it is
                // one of the separators.
                if next.len() == 1 && is_control(next.first()) {
                    return Err(control_in_value(
                        segment,
                        start,
                        slot,
                        self.pos,
                        next.first(),
                    ));
                }
                self.scratch.extend_from_slice(next.as_bytes());
                self.pos += next.len();
                continue;
            }
            let stop = if d.segment.matches(doc, self.pos) {
                Some((Stop::Segment, d.segment.len()))
            } else if d.element.matches(doc, self.pos) {
                Some((Stop::Element, d.element.len()))
            } else if d.component.matches(doc, self.pos) {
                Some((Stop::Component, d.component.len()))
            } else {
                d.repetition
                    .filter(|r| r.matches(doc, self.pos))
                    .map(|r| (Stop::Repetition, r.len()))
            };
            if let Some((stop, len)) = stop {
                self.pos += len;
                return Ok((decode(&self.scratch), stop));
            }
            // A line break that is not the terminator, a control character that is not a separator, or the
            // first byte of a multi-byte separator that did not match in full.
            if let Some(&b) = doc.get(self.pos)
                && b != b'\r'
                && b != b'\n'
            {
                if is_control(b) {
                    return Err(control_in_value(segment, start, slot, self.pos, b));
                }
                self.scratch.push(b);
            }
            self.pos += 1;
        }
    }

    /// Reads the raw bytes of an X12 BIN (BIN01 = length) or BDS (BDS02 = length) segment.
    fn read_binary(&mut self, segment: &mut Segment, start: usize) -> Result<(), EdiError> {
        let n = segment.elements.len();
        let count = segment.value(n).to_owned();
        let name = format!("{}{n:02}", segment.id);
        let mut at = Position::at_byte(start).element(n);
        at.segment_id = Some(segment.id.clone());
        let len: usize = match count.parse() {
            Ok(len) if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) => len,
            _ => {
                return Err(EdiError::new(
                    format!(
                        "{name} `{count}` is not a byte count: {} carries raw binary data whose length must be \
                         given as digits; fix the sender's {} segment",
                        segment.id, segment.id
                    ),
                    at,
                    Some(code::INVALID_CONTENT),
                ));
            }
        };
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.doc.len());
        let Some(bytes) = end.and_then(|end| self.doc.get(self.pos..end)) else {
            return Err(EdiError::new(
                format!(
                    "{name} says {len} bytes of binary data follow, but the document ends first: the file is \
                     truncated; ask the sender to resend it"
                ),
                at,
                Some(code::PREMATURE_END),
            ));
        };
        segment.elements.push(Element::simple(decode(bytes)));
        self.pos += len;
        if !self.delims.segment.matches(self.doc, self.pos) {
            let found = printable(self.doc.get(self.pos..).unwrap_or(&[]), 8);
            return Err(EdiError::new(
                format!(
                    "{name} says {len} bytes of binary data, but they are followed by `{found}` instead of the \
                     segment terminator `{}`: the byte count is wrong",
                    self.delims.segment.ch.escape_debug()
                ),
                at.element(n + 1),
                Some(code::INVALID_CONTENT),
            ));
        }
        self.pos += self.delims.segment.len();
        Ok(())
    }

    /// Whether the end of the document may stand in for the last segment's terminator: only when the
    /// terminator is a line break, because editors and transfer tools routinely strip a file's final line
    /// break. A missing `~` is not excused; a cut file is still caught by the envelope checks either way.
    fn ends_at_eof(&self) -> bool {
        matches!(self.delims.segment.ch, '\r' | '\n')
    }

    fn truncated(&self, segment: &Segment, start: usize) -> EdiError {
        let mut at = Position::at_byte(start).element(segment.elements.len() + 1);
        at.segment_id = Some(segment.id.clone());
        EdiError::new(
            format!(
                "the document ends inside segment {} (byte {start}) before its terminator `{}`: the file is \
                 truncated; ask the sender to resend it",
                segment.id,
                self.delims.segment.ch.escape_debug()
            ),
            at,
            Some(code::PREMATURE_END),
        )
    }
}

/// A transaction's segments while it is being read: kept in blocks under 1 KiB and moved into one exactly
/// sized Vec when the trailer arrives.
///
/// Growing one Vec would make a large allocation (1 KiB and up) every time it doubles, near the start of the
/// transaction. glibc answers every large allocation by first merging all small freed blocks (those of a
/// previously dropped tree), after which each of the many small allocations that follow (one per value) is
/// carved out of the merged space instead of reusing a freed block: several times slower. Blocks keep the
/// large allocation to one, at the end.
#[derive(Default)]
pub(crate) struct SegmentList {
    blocks: Vec<Vec<Segment>>,
    len: usize,
}

impl SegmentList {
    /// Segments per block: as many as fit in 960 bytes.
    const BLOCK: usize = {
        let n = 960 / std::mem::size_of::<Segment>();
        if n == 0 { 1 } else { n }
    };

    pub fn push(&mut self, segment: Segment) {
        match self.blocks.last_mut() {
            Some(block) if block.len() < Self::BLOCK => block.push(segment),
            _ => {
                let mut block = Vec::with_capacity(Self::BLOCK);
                block.push(segment);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    /// All segments, in order, in a Vec of exactly their number (or the one block, when they fit in one).
    pub fn into_vec(mut self) -> Vec<Segment> {
        if self.blocks.len() <= 1 {
            return self.blocks.pop().unwrap_or_default();
        }
        let mut segments = Vec::with_capacity(self.len);
        for block in self.blocks {
            segments.extend(block);
        }
        segments
    }
}

/// Splits a segment body (the bytes after the tag's element separator, without the terminator) into
/// elements, repeats and components, for [`Scanner::fast_segment`].
///
/// `text` is `body` as text when it is valid UTF-8 (values are then copied without another check, since a
/// split at ASCII separators cannot cut a character), `count` the number of elements and `nested` whether
/// any component or repetition separator occurs.
fn split_elements(
    body: &[u8],
    text: Option<&str>,
    count: usize,
    nested: bool,
    fast: &FastTables,
) -> Vec<Element> {
    let value = |from: usize, to: usize| -> String {
        match text.and_then(|text| text.get(from..to)) {
            Some(value) => value.to_owned(),
            None => decode(body.get(from..to).unwrap_or(&[])),
        }
    };
    let simple = |value: String| Element {
        components: vec![value],
        repeats: Vec::new(),
    };
    let mut elements = Vec::with_capacity(count);
    if !nested {
        let mut from = 0;
        for (i, &b) in body.iter().enumerate() {
            if b == fast.element {
                elements.push(simple(value(from, i)));
                from = i + 1;
            }
        }
        elements.push(simple(value(from, body.len())));
        return elements;
    }
    let mut from = 0;
    loop {
        let mut to = from;
        let mut nested = false;
        while let Some(&b) = body.get(to) {
            let class = fast.class[usize::from(b)];
            if class == ELEMENT {
                break;
            }
            nested |= class != DATA;
            to += 1;
        }
        let element = if nested {
            split_nested(body, from, to, fast, &value)
        } else {
            Element {
                components: vec![value(from, to)],
                repeats: Vec::new(),
            }
        };
        elements.push(element);
        if to >= body.len() {
            return elements;
        }
        from = to + 1;
    }
}

/// Splits one element holding component or repetition separators, as the general path does.
fn split_nested(
    body: &[u8],
    from: usize,
    to: usize,
    fast: &FastTables,
    value: &impl Fn(usize, usize) -> String,
) -> Element {
    let mut occurrence: Vec<String> = Vec::new();
    let mut first: Option<Vec<String>> = None;
    let mut repeats: Vec<Vec<String>> = Vec::new();
    let mut start = from;
    for (i, &b) in body.get(from..to).unwrap_or(&[]).iter().enumerate() {
        let at = from + i;
        match fast.class[usize::from(b)] {
            COMPONENT => {
                occurrence.push(value(start, at));
                start = at + 1;
            }
            REPETITION => {
                occurrence.push(value(start, at));
                start = at + 1;
                let done = std::mem::take(&mut occurrence);
                if first.is_none() {
                    first = Some(done);
                } else {
                    repeats.push(done);
                }
            }
            _ => {}
        }
    }
    occurrence.push(value(start, to));
    match first {
        None => Element {
            components: occurrence,
            repeats: Vec::new(),
        },
        Some(components) => {
            repeats.push(occurrence);
            Element {
                components,
                repeats,
            }
        }
    }
}

/// Whether `b` is a control character that is never data: C0 (0x00–0x1F) or DEL (0x7F), except CR and LF,
/// which are line ends and dropped wherever they are not the terminator. Callers exempt the document's own
/// separators, and the bytes [`skip_filler`] skips before a segment tag. Bytes 0x80–0x9F are not controls
/// here: they are printable Windows-1252 characters (see [`windows_1252`]).
pub(crate) fn is_control(b: u8) -> bool {
    CONTROLS[usize::from(b)]
}

/// [`is_control`] for every byte: C0 (0x00–0x1F) but CR (0x0D) and LF (0x0A), and DEL (0x7F). Built at compile
/// time; the base of the scanner's byte tables.
const CONTROLS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x80 {
        table[b] = (b < 0x20 && b != 0x0D && b != 0x0A) || b == 0x7F;
        b += 1;
    }
    table
};

/// The fast path's byte classes before the separators are set: [`STOP`] for control characters, which the
/// general path then refuses unless they are separators, [`DATA`] for the rest.
const CONTROL_CLASSES: [u8; 256] = {
    let mut table = [DATA; 256];
    let mut b = 0;
    while b < 256 {
        if CONTROLS[b] {
            table[b] = STOP;
        }
        b += 1;
    }
    table
};

/// A control byte as messages name it: `0x00 (NUL)`.
pub(crate) fn control_name(b: u8) -> String {
    const C0: [&str; 32] = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF",
        "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM",
        "SUB", "ESC", "FS", "GS", "RS", "US",
    ];
    let name = match b {
        0x7F => "DEL",
        _ => C0.get(usize::from(b)).copied().unwrap_or("not a control"),
    };
    format!("0x{b:02X} ({name})")
}

/// The error for control byte `b` at byte `pos`; `place` says where it is, `at` is its position.
pub(crate) fn control_character(b: u8, pos: usize, place: &str, at: Position) -> EdiError {
    EdiError::new(
        format!(
            "control character {} at byte {pos} {place}: X12 and EDIFACT data hold no control characters \
             other than the separators the header declares; the file is corrupt or was padded by a transfer \
             tool, ask the sender to correct and resend it",
            control_name(b)
        ),
        at,
        Some(code::CONTROL_CHARACTER),
    )
}

/// [`control_character`] inside a value of `segment` (which starts at byte `start`).
fn control_in_value(segment: &Segment, start: usize, slot: Slot, pos: usize, b: u8) -> EdiError {
    let mut at = Position::at_byte(pos).element(slot.element);
    at.segment_id = Some(segment.id.clone());
    at.component = u32::try_from(slot.component).ok();
    let repeat = if slot.occurrence > 1 {
        format!(" repeat {}", slot.occurrence)
    } else {
        String::new()
    };
    control_character(
        b,
        pos,
        &format!(
            "in {}{:02}{repeat}, component {} (segment {} at byte {start})",
            segment.id, slot.element, slot.component, segment.id
        ),
        at,
    )
}

/// Skips whitespace and DOS end-of-file marks (0x1A) between segments and interchanges: the only places
/// where TAB, VT, FF and 0x1A are not refused as control characters.
pub(crate) fn skip_filler(doc: &[u8], mut pos: usize) -> usize {
    while let Some(&b) = doc.get(pos) {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C | 0x1A) {
            pos += 1;
        } else {
            break;
        }
    }
    pos
}

/// Decodes a value: UTF-8 when valid, else Windows-1252 byte by byte.
pub(crate) fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// Windows-1252 for one byte; the five undefined bytes map to the C1 controls, as Latin-1 does.
pub(crate) fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    match b {
        0x80..=0x9F => HIGH
            .get(usize::from(b - 0x80))
            .copied()
            .unwrap_or(char::from(b)),
        _ => char::from(b),
    }
}

/// Up to `max` characters of `bytes` for an error message, with control and undecodable bytes escaped.
pub(crate) fn printable(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    let bytes = bytes.get(..max.saturating_mul(4)).unwrap_or(bytes);
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if shown >= max {
                out.push('…');
                return out;
            }
            shown += 1;
            if ch.is_control() {
                out.extend(ch.escape_default());
            } else {
                out.push(ch);
            }
        }
        for b in chunk.invalid() {
            if shown >= max {
                out.push('…');
                return out;
            }
            shown += 1;
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x12(doc: &[u8]) -> Scanner<'_> {
        let delims = Delimiters {
            element: Sep::ascii(b'*'),
            component: Sep::ascii(b'>'),
            repetition: Some(Sep::ascii(b'^')),
            segment: Sep::ascii(b'~'),
            release: None,
        };
        Scanner::new(doc, 0, delims, Standard::X12)
    }

    #[test]
    fn splits_elements_components_and_repeats() {
        let mut s = x12(b"EB*1**30^42>A^45*MA~");
        let seg = s.next_segment().expect("scans").expect("one segment");
        assert_eq!(seg.id, "EB");
        assert_eq!(seg.elements.len(), 4);
        assert_eq!(seg.elements[1].components, vec![""]);
        assert_eq!(seg.elements[2].components, vec!["30"]);
        assert_eq!(
            seg.elements[2].repeats,
            vec![vec!["42".to_owned(), "A".to_owned()], vec!["45".to_owned()]]
        );
        assert_eq!(seg.value(4), "MA");
        assert!(s.next_segment().expect("scans").is_none());
    }

    #[test]
    fn line_breaks_inside_a_segment_are_not_data() {
        let mut s = x12(b"  N1*ST*THERMA TRU INDIAN\r\nA DOOR~\r\n");
        let seg = s.next_segment().expect("scans").expect("one segment");
        assert_eq!(seg.value(2), "THERMA TRU INDIANA DOOR");
        assert_eq!(seg.byte_offset, 2);
    }

    #[test]
    fn binary_segment_is_read_by_its_byte_count() {
        let mut s = x12(b"BIN*5*a~\nb*~SE*1~");
        let seg = s.next_segment().expect("scans").expect("BIN");
        assert_eq!(seg.value(2), "a~\nb*");
        assert_eq!(s.next_segment().expect("scans").expect("SE").id, "SE");
    }

    #[test]
    fn binary_segment_with_a_non_numeric_count_is_rejected() {
        let err = x12(b"BIN*11a*DATA~").next_segment().expect_err("rejects");
        assert_eq!(err.code.as_deref(), Some("024"));
        assert!(err.message.contains("BIN01 `11a`"), "{}", err.message);
    }

    #[test]
    fn lower_case_tag_is_invalid_content() {
        let err = x12(b"Org*1~").next_segment().expect_err("rejects");
        assert_eq!(err.code.as_deref(), Some("024"));
        assert!(
            err.message.contains("invalid segment tag `Org*1~`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn non_utf8_values_are_read_as_windows_1252() {
        let mut s = x12(b"N1*M\xfcnchen \x80~");
        let seg = s.next_segment().expect("scans").expect("N1");
        assert_eq!(seg.value(1), "München €");
    }

    /// Every segment (or the error) the scanner gives for `doc`, with or without the fast path and the
    /// document-level text.
    fn scan_all(
        doc: &[u8],
        delims: Delimiters,
        standard: Standard,
        fast: bool,
    ) -> Vec<Result<Segment, EdiError>> {
        let mut s = Scanner::new(doc, 0, delims, standard).with_text(std::str::from_utf8(doc).ok());
        if !fast {
            s.fast = None;
            s.text = None;
        }
        let mut out = Vec::new();
        loop {
            match s.next_segment() {
                Ok(Some(segment)) => out.push(Ok(segment)),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }

    #[test]
    fn fast_path_gives_the_same_segments_and_errors_as_the_general_path() {
        let x12 = Delimiters {
            element: Sep::ascii(b'*'),
            component: Sep::ascii(b'>'),
            repetition: Some(Sep::ascii(b'^')),
            segment: Sep::ascii(b'~'),
            release: None,
        };
        // The fast path does take plain segments (else this test would compare the general path with itself).
        let plain = b"N1*ST*X>Y^Z~";
        assert!(
            Scanner::new(plain, 0, x12, Standard::X12)
                .fast_segment(0)
                .is_some()
        );
        let x12_lf = Delimiters {
            segment: Sep::ascii(b'\n'),
            ..x12
        };
        let edifact = Delimiters {
            element: Sep::ascii(b'+'),
            component: Sep::ascii(b':'),
            repetition: Some(Sep::ascii(b'*')),
            segment: Sep::ascii(b'\''),
            release: Some(Sep::ascii(b'?')),
        };
        let x12_docs: [&[u8]; 20] = [
            b"EB*1**30^42>A^45*MA~N1*ST*X~",
            b"HL~HL*~HL*1*~HL**~ST*856*0001~",
            b"N1*M\xfcnchen \x80~N1*\xe2\x82\xac>x~",
            b"N1*ST*A\r\nB~ \r\nN2*X~",
            b"Org*1~",
            b"ABCD*1~",
            b"*1~",
            b"HL>1*2~",
            b"BIN*5*a~\nb*~SE*1~",
            b"BDS*B64*3*abc~",
            b"N1*ST",
            b"N1*ST*\x1a~\x1aN2~",
            b"LIN*1*UP*0123^4567>8>9^^*X~",
            b"TA1*0~ISE~",
            b"BSN*00*\0\0\0SHP-1~",
            b"N1*A\tB~N2~",
            b"N1*A>B\x7f^C~",
            b"N\x011*A~",
            b"N1*A~\0N2~",
            b"BIN*3*\0\x01~~SE*1~",
        ];
        for doc in x12_docs {
            assert_eq!(
                scan_all(doc, x12, Standard::X12, true),
                scan_all(doc, x12, Standard::X12, false),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
        let lf_docs: [&[u8]; 4] = [
            b"ST*856*1\r\nBSN*00*X\r\nSE*2*1",
            b"ST*856*1\nBSN*0\r0*X\n\r\n",
            b"ST*856*1\r\r\nSE*2*1\n",
            b"ST\nSE\n",
        ];
        for doc in lf_docs {
            assert_eq!(
                scan_all(doc, x12_lf, Standard::X12, true),
                scan_all(doc, x12_lf, Standard::X12, false),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
        let edifact_docs: [&[u8]; 9] = [
            b"UNH+1+DESADV:D:96A:UN'BGM+351+X?'Y+9'",
            b"FTX+AAA+++A??B?:C?+D'",
            b"DTM+137:20240101:102*2:3'NAD+BY'",
            b"LI+1'",
            b"QTY+12:5\r\n'UNT+3+1'",
            b"IMD+F++:::caf\xe9'",
            b"ABC+1?",
            b"FTX+A?\x01B'",
            b"FTX+A:B\x1fC'",
        ];
        for doc in edifact_docs {
            assert_eq!(
                scan_all(doc, edifact, Standard::Edifact, true),
                scan_all(doc, edifact, Standard::Edifact, false),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    #[test]
    fn control_characters_as_separators_keep_the_fast_path_and_others_leave_it() {
        let delims = Delimiters {
            element: Sep::ascii(0x1D),
            component: Sep::ascii(0x1F),
            repetition: Some(Sep::ascii(0x1E)),
            segment: Sep::ascii(0x1C),
            release: None,
        };
        let clean = b"N1\x1dST\x1dX\x1fY\x1eZ\x1c";
        let mut s = Scanner::new(clean, 0, delims, Standard::X12);
        let seg = s.fast_segment(0).expect("the fast path takes it");
        assert_eq!(seg.elements[1].components, vec!["X", "Y"]);
        assert_eq!(seg.elements[1].repeats, vec![vec!["Z".to_owned()]]);
        let stray = b"N1\x1dS\x00T\x1c";
        let mut s = Scanner::new(stray, 0, delims, Standard::X12);
        assert!(s.fast_segment(0).is_none(), "left to the general path");
        let err = s.next_segment().expect_err("refused");
        assert_eq!(err.code.as_deref(), Some(code::CONTROL_CHARACTER));
        assert_eq!(
            (err.at.element, err.at.component, err.at.byte_offset),
            (Some(1), Some(1), Some(4))
        );
    }

    #[test]
    fn multi_byte_separator_is_decoded_as_one_character() {
        let sep = Sep::decode_at("…x".as_bytes(), 0).expect("a character");
        assert_eq!((sep.ch, sep.len()), ('…', 3));
        let lone = Sep::decode_at(&[0x85], 0).expect("a byte");
        assert_eq!((lone.ch, lone.len()), ('…', 1));
    }
}
