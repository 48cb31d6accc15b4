//! The parse result read in place: the same interchanges, groups, transactions, segments and elements as the
//! tree in [`crate::edi`], with the same accessors, but every tag and value a `&str` borrowed from the one
//! string the host's parse result carries.
//!
//! [`crate::edi::parse`] builds that tree in the plugin: a `String` for every value and a `Vec` for every
//! segment, then frees them all when the mapping is done. That copy and those allocations were about a third of
//! what a ship notice mapping did inside the component. [`Document::parse`] keeps the parse result as it arrived
//! (a string and a few tables of numbers) and hands out small `Copy` views into it, so reading costs no
//! allocation at all. The views are read-only; build an owned [`crate::edi::Interchange`] to render X12.
//!
//! ```
//! use millwright_sdk::edi::view::Document;
//!
//! let doc = Document::parse(b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~GS*SH*SENDER*RECEIVER*20240101*1200*1*X*004010~ST*856*0001~BSN*00*SHIP1*20240101*1200~SE*3*0001~GE*1*1~IEA*1*000000001~")
//!     .expect("parses");
//! let tx = doc.transactions().next().expect("one transaction");
//! assert_eq!((tx.code(), tx.control_number()), ("856", "0001"));
//! let bsn = tx.find("BSN").expect("a BSN");
//! assert_eq!((bsn.el(2), bsn.index()), ("SHIP1", 2));
//! ```

use crate::bindings::inbound::millwright::adapter::edi as wit;
use crate::edi::{EdiError, Separators, Standard};
use crate::types::Position;

/// A parsed file: every interchange in it, laid out as the host's parser returned it.
pub struct Document {
    flat: wit::ParsedDocument,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("interchanges", &self.flat.interchanges.len())
            .field("segments", &(self.flat.segments.len() / SEGMENT))
            .finish()
    }
}

/// Numbers per entry in the layout's tables (see `parsed-document` in `wit/edi.wit`).
const SEGMENT: usize = 5;
const ELEMENT: usize = 6;
const SPAN: usize = 2;

impl Document {
    /// Parses every interchange in a file, X12 or EDIFACT, with the host's parser: the same checks and the same
    /// errors as [`crate::edi::parse`].
    pub fn parse(document: &[u8]) -> Result<Self, EdiError> {
        #[cfg(target_family = "wasm")]
        let flat = wit::parse(document)?;
        #[cfg(not(target_family = "wasm"))]
        let flat = crate::native::edi_parse_flat(document)?;
        Ok(Self { flat })
    }

    /// The interchanges, in file order.
    pub fn interchanges(&self) -> impl ExactSizeIterator<Item = Interchange<'_>> {
        self.flat
            .interchanges
            .iter()
            .map(move |raw| Interchange { doc: self, raw })
    }

    /// Every transaction, in file order, each knowing its group and interchange.
    pub fn transactions(&self) -> impl Iterator<Item = Transaction<'_>> {
        self.interchanges()
            .flat_map(|interchange| interchange.groups())
            .flat_map(|group| group.transactions())
    }

    /// The text of a span, or `""` should the host ever lay out a span past the end.
    fn text(&self, start: u32, len: u32) -> &str {
        let start = start as usize;
        start
            .checked_add(len as usize)
            .and_then(|end| self.flat.text.get(start..end))
            .unwrap_or_default()
    }

    /// Entry `i` of a table whose entries are `W` numbers wide, or zeros should it be missing.
    fn entry<const W: usize>(table: &[u32], i: u32) -> [u32; W] {
        Self::words::<W>(table, i, W, 0)
    }

    /// `N` numbers from field `field` on of entry `i` of a table whose entries are `width` numbers wide, or
    /// zeros should they be missing: a view reads only the fields it needs.
    fn words<const N: usize>(table: &[u32], i: u32, width: usize, field: usize) -> [u32; N] {
        (i as usize)
            .checked_mul(width)
            .and_then(|start| start.checked_add(field))
            .and_then(|start| table.get(start..start.checked_add(N)?))
            .and_then(|e| e.try_into().ok())
            .unwrap_or([0; N])
    }
}

/// One interchange (X12 ISA..IEA, EDIFACT UNB..UNZ).
#[derive(Debug, Clone, Copy)]
pub struct Interchange<'a> {
    doc: &'a Document,
    raw: &'a wit::ParsedInterchange,
}

impl<'a> Interchange<'a> {
    /// X12 or EDIFACT.
    pub fn standard(&self) -> Standard {
        self.raw.standard
    }
    /// The separators the document declared.
    pub fn separators(&self) -> Separators {
        self.raw.separators
    }
    /// ISA05, or UNB 0007.
    pub fn sender_qualifier(&self) -> &'a str {
        &self.raw.sender_qualifier
    }
    /// ISA06, or UNB 0004.
    pub fn sender_id(&self) -> &'a str {
        &self.raw.sender_id
    }
    /// ISA07, or UNB 0007.
    pub fn receiver_qualifier(&self) -> &'a str {
        &self.raw.receiver_qualifier
    }
    /// ISA08, or UNB 0010.
    pub fn receiver_id(&self) -> &'a str {
        &self.raw.receiver_id
    }
    /// ISA09 (YYMMDD), or UNB 0017.
    pub fn date(&self) -> &'a str {
        &self.raw.date
    }
    /// ISA10 (HHMM), or UNB 0019.
    pub fn time(&self) -> &'a str {
        &self.raw.time
    }
    /// ISA12, or the EDIFACT syntax id and version.
    pub fn version(&self) -> &'a str {
        &self.raw.version
    }
    /// ISA13, or UNB 0020.
    pub fn control_number(&self) -> &'a str {
        &self.raw.control_number
    }
    /// ISA14, or UNB 0031.
    pub fn acknowledgment_requested(&self) -> bool {
        self.raw.acknowledgment_requested
    }
    /// ISA15 is `T`, or UNB 0035 is `1`.
    pub fn test(&self) -> bool {
        self.raw.test
    }
    /// The interchange's byte offset in the file.
    pub fn byte_offset(&self) -> u64 {
        self.raw.byte_offset
    }
    /// X12 interchange-level segments outside any group (TA1, ISB, ISE), in order.
    pub fn service_segments(&self) -> Segments<'a> {
        Segments::of(self.doc, self.raw.service_segments)
    }
    /// The functional groups, in order.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = Group<'a>> + use<'a> {
        let interchange = *self;
        self.raw
            .groups
            .iter()
            .map(move |raw| Group { interchange, raw })
    }
}

/// One functional group (X12 GS..GE, EDIFACT UNG..UNE, or the empty group around EDIFACT messages outside one).
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    interchange: Interchange<'a>,
    raw: &'a wit::ParsedGroup,
}

impl<'a> Group<'a> {
    /// The interchange the group came in.
    pub fn interchange(&self) -> Interchange<'a> {
        self.interchange
    }
    /// GS01 (`SH` for ship notices).
    pub fn functional_id(&self) -> &'a str {
        &self.raw.functional_id
    }
    /// GS02.
    pub fn sender(&self) -> &'a str {
        &self.raw.sender
    }
    /// GS03.
    pub fn receiver(&self) -> &'a str {
        &self.raw.receiver
    }
    /// GS04 (CCYYMMDD).
    pub fn date(&self) -> &'a str {
        &self.raw.date
    }
    /// GS05 (HHMM[SS[dd]]).
    pub fn time(&self) -> &'a str {
        &self.raw.time
    }
    /// GS06, or UNG 0048.
    pub fn control_number(&self) -> &'a str {
        &self.raw.control_number
    }
    /// GS08: `004010`, `005010X231`.
    pub fn version(&self) -> &'a str {
        &self.raw.version
    }
    /// The transactions, in order.
    pub fn transactions(&self) -> impl ExactSizeIterator<Item = Transaction<'a>> + use<'a> {
        let group = *self;
        self.raw
            .transactions
            .iter()
            .map(move |raw| Transaction { group, raw })
    }
}

/// One transaction set (X12 ST..SE) or message (EDIFACT UNH..UNT), knowing its group and interchange.
#[derive(Clone, Copy)]
pub struct Transaction<'a> {
    group: Group<'a>,
    raw: &'a wit::ParsedTransaction,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("isa13", &self.interchange().control_number())
            .field("gs06", &self.group.control_number())
            .field("st02", &self.control_number())
            .finish()
    }
}

impl<'a> Transaction<'a> {
    /// The group the transaction came in.
    pub fn group(&self) -> Group<'a> {
        self.group
    }
    /// The interchange the transaction came in.
    pub fn interchange(&self) -> Interchange<'a> {
        self.group.interchange
    }
    /// ST01 (`856`), or UNH 0065 (`DESADV`).
    pub fn code(&self) -> &'a str {
        &self.raw.code
    }
    /// ST02, or UNH 0062.
    pub fn control_number(&self) -> &'a str {
        &self.raw.control_number
    }
    /// ST03, or the EDIFACT message version `D:96A:UN`.
    pub fn version(&self) -> Option<&'a str> {
        self.raw.version.as_deref()
    }
    /// The segments between the header and the trailer, in order.
    pub fn segments(&self) -> Segments<'a> {
        Segments::of(self.group.interchange.doc, self.raw.segments)
    }
    /// The first segment with this tag.
    pub fn find(&self, tag: &str) -> Option<Segment<'a>> {
        self.segments().find(tag)
    }
    /// Every segment with this tag, in order.
    pub fn all<'t>(&self, tag: &'t str) -> impl Iterator<Item = Segment<'a>> + use<'a, 't> {
        self.segments().all(tag)
    }
    /// The segments before the first HL (the 856's BSN, a DTM or two).
    pub fn header_segments(&self) -> Segments<'a> {
        let segments = self.segments();
        let end = segments.iter().position(|s| s.is("HL"));
        segments.range(0, end.unwrap_or(segments.len()))
    }

    /// The HL loops in document order. A loop ends at the next HL or at the summary `CTT`.
    pub fn hl_loops(&self) -> Vec<HlLoop<'a>> {
        let segments = self.segments();
        let mut loops = Vec::new();
        let mut i = 0;
        while let Some(hl) = segments.get(i) {
            i += 1;
            if !hl.is("HL") {
                continue;
            }
            let start = i;
            while segments.get(i).is_some_and(|s| !s.is("HL") && !s.is("CTT")) {
                i += 1;
            }
            loops.push(HlLoop {
                hl,
                id: hl.el(1),
                parent: hl.opt(2),
                level: hl.el(3),
                segments: segments.range(start, i),
            });
        }
        loops
    }

    /// Where a segment is, for a diagnostic: this transaction's control number, the segment's index and tag.
    pub fn position(&self, segment: Segment<'_>) -> Position {
        Position::new()
            .with_transaction(self.control_number().to_owned())
            .with_segment(segment.index(), segment.id().to_owned())
            .with_byte_offset(segment.byte_offset())
    }

    /// Where an element is (1-based, as X12 numbers it), for a diagnostic.
    pub fn at(&self, segment: Segment<'_>, element: u32) -> Position {
        self.position(segment).with_element(element)
    }
}

/// A run of consecutive segments of one transaction (or of an interchange's service segments).
#[derive(Clone, Copy)]
pub struct Segments<'a> {
    doc: &'a Document,
    first: u32,
    count: u32,
}

impl std::fmt::Debug for Segments<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Segments<'a> {
    fn of(doc: &'a Document, range: wit::IndexRange) -> Self {
        // Keep a range the host laid out wrongly inside the table, so that every index below it exists.
        let total = (doc.flat.segments.len() / SEGMENT) as u32;
        let first = range.first.min(total);
        Self {
            doc,
            first,
            count: range.count.min(total - first),
        }
    }

    /// How many segments.
    pub fn len(&self) -> usize {
        self.count as usize
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Segment `i` (0-based) of the run.
    pub fn get(&self, i: usize) -> Option<Segment<'a>> {
        (i < self.len()).then(|| Segment::new(self.doc, self.first + i as u32))
    }
    /// The segments in order.
    pub fn iter(&self) -> SegmentIter<'a> {
        SegmentIter {
            doc: self.doc,
            next: self.first,
            end: self.first + self.count,
        }
    }
    /// Segments `start..end` (0-based) of the run, clamped to it.
    pub fn range(&self, start: usize, end: usize) -> Segments<'a> {
        let end = end.min(self.len());
        let start = start.min(end);
        Segments {
            doc: self.doc,
            first: self.first + start as u32,
            count: (end - start) as u32,
        }
    }
    /// The first segment with this tag.
    pub fn find(&self, tag: &str) -> Option<Segment<'a>> {
        self.iter().find(|s| s.is(tag))
    }
    /// Every segment with this tag, in order.
    pub fn all<'t>(&self, tag: &'t str) -> impl Iterator<Item = Segment<'a>> + use<'a, 't> {
        self.iter().filter(move |s| s.is(tag))
    }
}

impl<'a> IntoIterator for Segments<'a> {
    type Item = Segment<'a>;
    type IntoIter = SegmentIter<'a>;
    fn into_iter(self) -> SegmentIter<'a> {
        self.iter()
    }
}

/// The segments of a [`Segments`] run, in order.
#[derive(Clone)]
pub struct SegmentIter<'a> {
    doc: &'a Document,
    next: u32,
    end: u32,
}

impl<'a> Iterator for SegmentIter<'a> {
    type Item = Segment<'a>;
    fn next(&mut self) -> Option<Segment<'a>> {
        (self.next < self.end).then(|| {
            self.next += 1;
            Segment::new(self.doc, self.next - 1)
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next) as usize;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for SegmentIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        (self.next < self.end).then(|| {
            self.end -= 1;
            Segment::new(self.doc, self.end)
        })
    }
}

impl ExactSizeIterator for SegmentIter<'_> {}

/// One segment.
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    doc: &'a Document,
    /// Its entry in the segment table, read once: tag span, first element and count, index.
    entry: [u32; SEGMENT],
    /// Its position in the segment table.
    at: u32,
}

impl std::fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_tuple(self.id());
        for n in 1..=self.len() {
            list.field(&self.el(n));
        }
        list.finish()
    }
}

impl<'a> Segment<'a> {
    fn new(doc: &'a Document, at: u32) -> Self {
        Segment {
            doc,
            entry: Document::entry::<SEGMENT>(&doc.flat.segments, at),
            at,
        }
    }

    fn entry(&self) -> [u32; SEGMENT] {
        self.entry
    }

    /// The tag: `BSN`, `HL`, `LIN`.
    pub fn id(&self) -> &'a str {
        let [start, len, ..] = self.entry();
        self.doc.text(start, len)
    }
    /// Whether the segment has this tag.
    pub fn is(&self, tag: &str) -> bool {
        self.id() == tag
    }
    /// The segment's position in its transaction (the header is 1).
    pub fn index(&self) -> u32 {
        self.entry()[4]
    }
    /// The segment's byte offset in the file.
    pub fn byte_offset(&self) -> u64 {
        self.doc
            .flat
            .segment_offsets
            .get(self.at as usize)
            .copied()
            .unwrap_or_default()
    }
    /// How many elements follow the tag.
    pub fn len(&self) -> usize {
        self.entry()[3] as usize
    }
    /// Whether no element follows the tag.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `n` (1-based) with its components and repeats.
    pub fn element(&self, n: usize) -> Option<Element<'a>> {
        let [.., first, count, _] = self.entry();
        let i = n.checked_sub(1)?;
        (i < count as usize).then(|| Element {
            doc: self.doc,
            at: first.saturating_add(i as u32),
        })
    }
    /// Element `n` as X12 numbers it (`SN1-02` is `el(2)`), or its first component when it is composite; `""`
    /// when the segment has no such element.
    pub fn el(&self, n: usize) -> &'a str {
        self.element(n).map_or("", |e| e.value())
    }
    /// Element `n` (1-based) when it is present and not empty.
    pub fn opt(&self, n: usize) -> Option<&'a str> {
        Some(self.el(n)).filter(|v| !v.is_empty())
    }
    /// Component `m` of element `n`, both 1-based (`TD108` is `component(8, 1)`), or `""`.
    pub fn component(&self, n: usize, m: usize) -> &'a str {
        self.element(n).map_or("", |e| e.component(m))
    }
    /// The qualifier/value pairs starting at element `first` (`LIN02`/`LIN03`, `LIN04`/`LIN05` ... is
    /// `pairs(2)`), as `(element number of the qualifier, qualifier, value)`, skipping pairs that are entirely
    /// empty.
    pub fn pairs(&self, first: usize) -> impl Iterator<Item = (usize, &'a str, &'a str)> + use<'a> {
        let segment = *self;
        (first..=self.len())
            .step_by(2)
            .map(move |n| (n, segment.el(n), segment.el(n + 1)))
            .filter(|(_, q, v)| !(q.is_empty() && v.is_empty()))
    }
}

/// One data element.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    doc: &'a Document,
    at: u32,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.components()).finish()
    }
}

impl<'a> Element<'a> {
    /// Two of the element's six numbers: the value's span (field 0), its components (2) or its repeats (4).
    fn pair(&self, field: usize) -> [u32; 2] {
        Document::words::<2>(&self.doc.flat.elements, self.at, ELEMENT, field)
    }

    fn span(&self, table: &[u32], i: u32) -> &'a str {
        let [start, len] = Document::entry::<SPAN>(table, i);
        self.doc.text(start, len)
    }

    /// The first (or only) component of the first occurrence: what most mappings read.
    pub fn value(&self) -> &'a str {
        let [start, len] = self.pair(0);
        self.doc.text(start, len)
    }
    /// Component `m` (1-based) of the first occurrence, or `""` when the element has fewer components.
    pub fn component(&self, m: usize) -> &'a str {
        let [first, count] = self.pair(2);
        match m {
            1 => self.value(),
            _ if m <= count as usize => self.span(
                &self.doc.flat.components,
                first.saturating_add(m as u32 - 1),
            ),
            _ => "",
        }
    }
    /// Every component of the first occurrence; a simple element has one.
    pub fn components(&self) -> impl ExactSizeIterator<Item = &'a str> + use<'a> {
        let [first, count] = self.pair(2);
        let element = *self;
        let count = if count == 0 { 1 } else { count };
        (0..count).map(move |i| match (i, first) {
            (0, _) => element.value(),
            (i, first) => element.span(&element.doc.flat.components, first.saturating_add(i)),
        })
    }
    /// Whether every component is empty.
    pub fn is_empty(&self) -> bool {
        self.components().all(str::is_empty)
    }
    /// The further occurrences of a repeating element, each as its components.
    pub fn repeats(&self) -> impl ExactSizeIterator<Item = Vec<&'a str>> + use<'a> {
        let [first, count] = self.pair(4);
        let element = *self;
        (first..first.saturating_add(count)).map(move |r| {
            let [c_first, c_count] = Document::entry::<SPAN>(&element.doc.flat.repeats, r);
            (c_first..c_first.saturating_add(c_count))
                .map(|c| element.span(&element.doc.flat.components, c))
                .collect()
        })
    }
}

/// One HL loop of a hierarchical transaction (856, 830 ...): the HL segment and the segments after it, up to
/// the next HL or the summary (`CTT`).
#[derive(Debug, Clone, Copy)]
pub struct HlLoop<'a> {
    /// The HL segment itself.
    pub hl: Segment<'a>,
    /// HL01, the loop's id.
    pub id: &'a str,
    /// HL02, the id of the parent loop; `None` when the sender left it empty.
    pub parent: Option<&'a str>,
    /// HL03, the level code: `S` shipment, `O` order, `T` tare, `P` pack, `I` item ...
    pub level: &'a str,
    /// The segments after the HL, in order.
    pub segments: Segments<'a>,
}

impl<'a> HlLoop<'a> {
    /// The first segment of the loop with this tag.
    pub fn find(&self, tag: &str) -> Option<Segment<'a>> {
        self.segments.find(tag)
    }
    /// Every segment of the loop with this tag.
    pub fn all<'t>(&self, tag: &'t str) -> impl Iterator<Item = Segment<'a>> + use<'a, 't> {
        self.segments.all(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edi as tree;

    /// Every value the views read equals the owned tree's, segment by segment and element by element.
    fn assert_same(file: &str, document: &Document, interchanges: &[tree::Interchange]) {
        assert_eq!(document.interchanges().len(), interchanges.len(), "{file}");
        for (view, owned) in document.interchanges().zip(interchanges) {
            assert_eq!(
                (view.sender_id(), view.receiver_id(), view.control_number()),
                (
                    owned.sender_id.as_str(),
                    owned.receiver_id.as_str(),
                    owned.control_number.as_str()
                ),
                "{file}"
            );
            assert_segments(file, view.service_segments(), &owned.service_segments);
            assert_eq!(view.groups().len(), owned.groups.len(), "{file}");
            for (group, owned_group) in view.groups().zip(&owned.groups) {
                assert_eq!(group.control_number(), owned_group.control_number, "{file}");
                assert_eq!(group.transactions().len(), owned_group.transactions.len());
                for (tx, owned_tx) in group.transactions().zip(&owned_group.transactions) {
                    assert_eq!(
                        (tx.code(), tx.control_number(), tx.version()),
                        (
                            owned_tx.code.as_str(),
                            owned_tx.control_number.as_str(),
                            owned_tx.version.as_deref()
                        ),
                        "{file}"
                    );
                    assert_segments(file, tx.segments(), &owned_tx.segments);
                    let (hl, owned_hl) = (tx.hl_loops(), owned_tx.hl_loops());
                    assert_eq!(hl.len(), owned_hl.len(), "{file}");
                    for (a, b) in hl.iter().zip(&owned_hl) {
                        assert_eq!((a.id, a.parent, a.level), (b.id, b.parent, b.level));
                        assert_eq!(a.hl.index(), b.hl.index);
                        assert_eq!(a.segments.len(), b.segments.len(), "{file} HL {}", a.id);
                    }
                    assert_eq!(tx.header_segments().len(), owned_tx.header_segments().len());
                }
            }
        }
    }

    fn assert_segments(file: &str, view: Segments<'_>, owned: &[tree::Segment]) {
        assert_eq!(view.len(), owned.len(), "{file}");
        for (segment, owned) in view.iter().zip(owned) {
            let at = format!("{file}, segment {} {}", owned.index, owned.id);
            assert_eq!(
                (segment.id(), segment.index(), segment.byte_offset()),
                (owned.id.as_str(), owned.index, owned.byte_offset),
                "{at}"
            );
            assert_eq!(segment.len(), owned.elements.len(), "{at}");
            for n in 1..=owned.elements.len() + 1 {
                assert_eq!(segment.el(n), owned.el(n), "{at} element {n}");
                for m in 1..=4 {
                    assert_eq!(
                        segment.component(n, m),
                        owned.component(n, m),
                        "{at} {n}-{m}"
                    );
                }
                let (Some(element), Some(owned)) = (segment.element(n), owned.element(n)) else {
                    assert!(segment.element(n).is_none() && owned.element(n).is_none());
                    continue;
                };
                let components: Vec<&str> = element.components().collect();
                let expected: Vec<&str> = match &owned.components {
                    Some(c) => c.iter().map(String::as_str).collect(),
                    None => vec![owned.value.as_str()],
                };
                assert_eq!(components, expected, "{at} element {n}");
                let repeats: Vec<Vec<&str>> = element.repeats().collect();
                let expected: Vec<Vec<&str>> = owned
                    .repeats
                    .iter()
                    .flatten()
                    .map(|r| r.iter().map(String::as_str).collect())
                    .collect();
                assert_eq!(repeats, expected, "{at} element {n}");
                assert_eq!(element.is_empty(), owned.is_empty(), "{at} element {n}");
            }
            assert_eq!(
                segment.pairs(2).collect::<Vec<_>>(),
                owned.pairs(2).collect::<Vec<_>>(),
                "{at}"
            );
        }
    }

    #[test]
    fn views_read_every_corpus_file_exactly_as_the_owned_tree_does() {
        let corpus = std::env::var_os("MILLWRIGHT_EDI_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/edi-corpus")
            });
        let mut files = vec![corpus.clone()];
        let mut parsed = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path)
                        .unwrap_or_else(|e| {
                            panic!(
                                "{}: {e}; the corpus lives in ../shared/edi-corpus",
                                path.display()
                            )
                        })
                        .map(|entry| entry.expect("a directory entry").path()),
                );
                continue;
            }
            let bytes = std::fs::read(&path).expect("a corpus file");
            let name = path.display().to_string();
            match (Document::parse(&bytes), tree::parse(&bytes)) {
                (Ok(document), Ok(interchanges)) => {
                    assert_same(&name, &document, &interchanges);
                    parsed += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{name}"),
                (a, b) => panic!(
                    "{name}: the views say {:?}, the tree {:?}",
                    a.err(),
                    b.err()
                ),
            }
        }
        // The corpus holds dozens of X12 and EDIFACT files that parse; a walk that found none saw no corpus.
        assert!(
            parsed >= 40,
            "only {parsed} corpus files parsed under {}",
            corpus.display()
        );
    }

    #[test]
    fn a_range_is_clamped_and_iterates_from_both_ends() {
        let doc = Document::parse(b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~GS*SH*SENDER*RECEIVER*20240101*1200*1*X*004010~ST*856*0001~BSN*00*SHIP1*20240101*1200~HL*1**S~TD1*CTN*2~HL*2*1*O~PRF*PO-1~CTT*2~SE*8*0001~GE*1*1~IEA*1*000000001~")
            .expect("parses");
        let tx = doc.transactions().next().expect("a transaction");
        let segments = tx.segments();
        let tags: Vec<&str> = segments.iter().rev().map(|s| s.id()).collect();
        assert_eq!(tags, ["CTT", "PRF", "HL", "TD1", "HL", "BSN"]);
        assert_eq!(segments.range(4, 99).len(), 2);
        assert!(segments.range(7, 3).is_empty());
        assert!(segments.get(6).is_none());
        assert_eq!(tx.header_segments().len(), 1);
        let loops = tx.hl_loops();
        assert_eq!(
            loops[0].segments.iter().map(|s| s.id()).collect::<Vec<_>>(),
            ["TD1"]
        );
        assert_eq!(loops[1].find("PRF").map(|s| s.el(1)), Some("PO-1"));
        assert_eq!(format!("{:?}", loops[1].hl), r#"HL("2", "1", "O")"#);
        let at = tx.at(loops[1].hl, 2);
        assert_eq!(
            (at.segment_index, at.element, at.transaction.as_deref()),
            (Some(5), Some(2), Some("0001"))
        );
    }
}
