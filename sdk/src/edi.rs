//! The parsed EDI tree (X12 and EDIFACT) from `wit/edi.wit`, the host's parser and renderer, and accessors
//! that read segments the way the standards number them.
//!
//! A plugin never splits a document itself: [`parse`] gives it interchanges whose envelopes, control numbers,
//! counts and (in an 856) HL hierarchy are already checked. What is left is reading elements by their X12
//! numbers ([`Segment::el`]), finding segments ([`Transaction::find`]), walking HL loops
//! ([`Transaction::hl_loops`]) and saying where a problem is ([`Transaction::at`]).

use crate::types::{Diagnostic, MappingError, Position};

pub mod view;

pub use crate::bindings::inbound::millwright::adapter::edi::{
    EdiError, Element, Group, Interchange, Segment, Separators, Standard, Transaction,
};

use crate::bindings::inbound::millwright::adapter::edi as wit;

/// Parses every interchange in a file, X12 or EDIFACT. Returns the first problem found, located; a document
/// that parses has matching control numbers and counts and, in an 856, a consistent HL hierarchy.
pub fn parse(document: &[u8]) -> Result<Vec<Interchange>, EdiError> {
    #[cfg(target_family = "wasm")]
    return wit::parse(document).map(from_parsed);
    #[cfg(not(target_family = "wasm"))]
    return crate::native::edi_parse(document);
}

/// Writes an X12 interchange with its own separators; the trailers (SE, GE, IEA) are computed from the tree.
/// Fails when a value contains a separator.
pub fn render_x12(interchange: &Interchange) -> Result<Vec<u8>, EdiError> {
    #[cfg(target_family = "wasm")]
    return wit::render_x12(interchange);
    #[cfg(not(target_family = "wasm"))]
    return crate::native::edi_render_x12(interchange);
}

/// The tree that a `parsed-document` lays flat, as `interchange` records: how the host's parse result, which
/// crosses into the plugin as one string of values and a few lists of numbers, becomes the tree mappings walk.
/// Building it here, in the plugin's own memory, costs a fraction of having the host write every value into the
/// plugin through a separate allocation call.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) fn from_parsed(document: wit::ParsedDocument) -> Vec<Interchange> {
    let wit::ParsedDocument {
        text,
        interchanges,
        segments,
        segment_offsets,
        elements,
        components,
        repeats,
    } = document;
    // The host lays the tables out itself; should an entry ever point out of bounds, it reads as empty.
    let value = |start: u32, len: u32| {
        let start = start as usize;
        text.get(start..start + len as usize)
            .unwrap_or_default()
            .to_owned()
    };
    /// Entries `first..first + count` of a table whose entries are `width` numbers wide.
    fn entries(
        table: &[u32],
        width: usize,
        first: u32,
        count: u32,
    ) -> std::slice::ChunksExact<'_, u32> {
        let (first, count) = (first as usize, count as usize);
        table
            .get(first * width..(first + count) * width)
            .unwrap_or_default()
            .chunks_exact(width)
    }
    let strings = |first: u32, count: u32| -> Vec<String> {
        entries(&components, 2, first, count)
            .map(|c| value(c[0], c[1]))
            .collect()
    };
    let segments = |range: wit::IndexRange| -> Vec<Segment> {
        entries(&segments, 5, range.first, range.count)
            .zip(segment_offsets.iter().skip(range.first as usize))
            .map(|(s, &byte_offset)| Segment {
                id: value(s[0], s[1]),
                elements: entries(&elements, 6, s[2], s[3])
                    .map(|e| Element {
                        value: value(e[0], e[1]),
                        components: (e[3] > 0).then(|| strings(e[2], e[3])),
                        repeats: (e[5] > 0).then(|| {
                            entries(&repeats, 2, e[4], e[5])
                                .map(|r| strings(r[0], r[1]))
                                .collect()
                        }),
                    })
                    .collect(),
                index: s[4],
                byte_offset,
            })
            .collect()
    };
    interchanges
        .into_iter()
        .map(|i| Interchange {
            standard: i.standard,
            separators: i.separators,
            sender_qualifier: i.sender_qualifier,
            sender_id: i.sender_id,
            receiver_qualifier: i.receiver_qualifier,
            receiver_id: i.receiver_id,
            date: i.date,
            time: i.time,
            version: i.version,
            control_number: i.control_number,
            acknowledgment_requested: i.acknowledgment_requested,
            test: i.test,
            groups: i
                .groups
                .into_iter()
                .map(|g| Group {
                    functional_id: g.functional_id,
                    sender: g.sender,
                    receiver: g.receiver,
                    date: g.date,
                    time: g.time,
                    control_number: g.control_number,
                    version: g.version,
                    transactions: g
                        .transactions
                        .into_iter()
                        .map(|t| Transaction {
                            code: t.code,
                            control_number: t.control_number,
                            version: t.version,
                            segments: segments(t.segments),
                        })
                        .collect(),
                })
                .collect(),
            service_segments: segments(i.service_segments),
            byte_offset: i.byte_offset,
        })
        .collect()
}

impl From<EdiError> for MappingError {
    /// A document the parser rejects is wrong and stays wrong: `invalid-document`, with the parser's message,
    /// position and acknowledgment code.
    fn from(e: EdiError) -> Self {
        MappingError::InvalidDocument(Diagnostic {
            message: e.message,
            at: e.at,
            code: e.code,
        })
    }
}

/// One transaction with the group and interchange around it: what an event header needs.
#[derive(Clone, Copy)]
pub struct TransactionRef<'a> {
    /// The interchange (ISA..IEA) the transaction came in.
    pub interchange: &'a Interchange,
    /// The functional group (GS..GE).
    pub group: &'a Group,
    /// The transaction set (ST..SE).
    pub transaction: &'a Transaction,
}

/// Every transaction in parsed interchanges, in document order, with its group and interchange.
pub fn transactions(interchanges: &[Interchange]) -> impl Iterator<Item = TransactionRef<'_>> {
    interchanges.iter().flat_map(|interchange| {
        interchange.groups.iter().flat_map(move |group| {
            group
                .transactions
                .iter()
                .map(move |transaction| TransactionRef {
                    interchange,
                    group,
                    transaction,
                })
        })
    })
}

impl std::fmt::Debug for TransactionRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionRef")
            .field("isa13", &self.interchange.control_number)
            .field("gs06", &self.group.control_number)
            .field("st02", &self.transaction.control_number)
            .finish()
    }
}

impl Element {
    /// Component `m` (1-based), or `""` when the element has fewer components.
    pub fn component(&self, m: usize) -> &str {
        match (m, &self.components) {
            (1, _) => &self.value,
            (_, Some(components)) => m
                .checked_sub(1)
                .and_then(|i| components.get(i))
                .map_or("", String::as_str),
            (_, None) => "",
        }
    }

    /// Whether every component is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
            && self
                .components
                .as_ref()
                .is_none_or(|c| c.iter().all(String::is_empty))
    }

    /// A simple element holding one value.
    pub fn simple(value: impl Into<String>) -> Self {
        Element {
            value: value.into(),
            components: None,
            repeats: None,
        }
    }
}

impl Segment {
    /// Element `n` as X12 numbers it (`SN1-02` is `el(2)`), or its first component when it is composite; `""`
    /// when the segment has no such element.
    ///
    /// ```
    /// # use millwright_sdk::edi::{Element, Segment};
    /// # fn el(v: &str) -> Element { Element::simple(v) }
    /// let sn1 = Segment { id: "SN1".into(), elements: vec![el(""), el("24"), el("EA")], index: 12, byte_offset: 0 };
    /// assert_eq!(sn1.el(2), "24");
    /// assert_eq!(sn1.el(3), "EA");
    /// assert_eq!(sn1.el(5), "");
    /// assert_eq!(sn1.opt(1), None);
    /// ```
    pub fn el(&self, n: usize) -> &str {
        self.component(n, 1)
    }

    /// Element `n` (1-based) when it is present and not empty.
    pub fn opt(&self, n: usize) -> Option<&str> {
        Some(self.el(n)).filter(|v| !v.is_empty())
    }

    /// Component `m` of element `n`, both 1-based (`TD108` is `component(8, 1)`, `C00102` is
    /// `component(1, 2)`), or `""`.
    pub fn component(&self, n: usize, m: usize) -> &str {
        self.element(n).map_or("", |e| e.component(m))
    }

    /// Element `n` (1-based) with all its components and repeats.
    pub fn element(&self, n: usize) -> Option<&Element> {
        n.checked_sub(1).and_then(|i| self.elements.get(i))
    }

    /// Whether the segment has this tag.
    pub fn is(&self, tag: &str) -> bool {
        self.id == tag
    }

    /// The qualifier/value pairs starting at element `first` (`LIN02`/`LIN03`, `LIN04`/`LIN05` ... is
    /// `pairs(2)`), as `(element number of the qualifier, qualifier, value)`, skipping pairs that are entirely
    /// empty.
    ///
    /// ```
    /// # use millwright_sdk::edi::{Element, Segment};
    /// # fn el(v: &str) -> Element { Element::simple(v) }
    /// let lin = Segment { id: "LIN".into(), elements: vec![el("1"), el("UP"), el("0588"), el(""), el(""), el("BP"), el("0111")], index: 5, byte_offset: 0 };
    /// let pairs: Vec<_> = lin.pairs(2).collect();
    /// assert_eq!(pairs, vec![(2, "UP", "0588"), (6, "BP", "0111")]);
    /// ```
    pub fn pairs(&self, first: usize) -> impl Iterator<Item = (usize, &str, &str)> {
        (first..=self.elements.len())
            .step_by(2)
            .map(|n| (n, self.el(n), self.el(n + 1)))
            .filter(|(_, q, v)| !(q.is_empty() && v.is_empty()))
    }
}

/// One HL loop of a hierarchical transaction (856, 830 ...): the HL segment and the segments after it, up to
/// the next HL or the summary (`CTT`).
#[derive(Debug, Clone, Copy)]
pub struct HlLoop<'a> {
    /// The HL segment itself.
    pub hl: &'a Segment,
    /// HL01, the loop's id.
    pub id: &'a str,
    /// HL02, the id of the parent loop; `None` when the sender left it empty (the first loop, or a partner that
    /// omits parents).
    pub parent: Option<&'a str>,
    /// HL03, the level code: `S` shipment, `O` order, `T` tare, `P` pack, `I` item ...
    pub level: &'a str,
    /// The segments after the HL, in order.
    pub segments: &'a [Segment],
}

impl<'a> HlLoop<'a> {
    /// The first segment of the loop with this tag.
    pub fn find(&self, tag: &str) -> Option<&'a Segment> {
        self.segments.iter().find(|s| s.is(tag))
    }

    /// Every segment of the loop with this tag.
    pub fn all(&self, tag: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.is(tag))
    }
}

impl Transaction {
    /// The first segment with this tag.
    pub fn find(&self, tag: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.is(tag))
    }

    /// Every segment with this tag, in order.
    pub fn all<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.is(tag))
    }

    /// The segments before the first HL (the 856's BSN, a DTM or two).
    pub fn header_segments(&self) -> &[Segment] {
        let end = self
            .segments
            .iter()
            .position(|s| s.is("HL"))
            .unwrap_or(self.segments.len());
        &self.segments[..end]
    }

    /// The HL loops in document order. A loop ends at the next HL or at the summary `CTT`.
    pub fn hl_loops(&self) -> Vec<HlLoop<'_>> {
        let mut loops = Vec::new();
        let segments = &self.segments;
        let mut i = 0;
        while i < segments.len() {
            if !segments[i].is("HL") {
                i += 1;
                continue;
            }
            let hl = &segments[i];
            let start = i + 1;
            let mut end = start;
            while end < segments.len() && !segments[end].is("HL") && !segments[end].is("CTT") {
                end += 1;
            }
            loops.push(HlLoop {
                hl,
                id: hl.el(1),
                parent: hl.opt(2),
                level: hl.el(3),
                segments: &segments[start..end],
            });
            i = end;
        }
        loops
    }

    /// Where a segment is, for a diagnostic: this transaction's control number, the segment's index and tag.
    pub fn position(&self, segment: &Segment) -> Position {
        Position::new()
            .with_transaction(self.control_number.clone())
            .with_segment(segment.index, segment.id.clone())
            .with_byte_offset(segment.byte_offset)
    }

    /// Where an element is (1-based, as X12 numbers it), for a diagnostic.
    ///
    /// ```
    /// # use millwright_sdk::edi::{Segment, Transaction};
    /// # let sn1 = Segment { id: "SN1".into(), elements: vec![], index: 12, byte_offset: 340 };
    /// # let tx = Transaction { code: "856".into(), control_number: "0001".into(), version: None, segments: vec![] };
    /// let at = tx.at(&sn1, 2);
    /// assert_eq!((at.segment_index, at.segment_id.as_deref(), at.element), (Some(12), Some("SN1"), Some(2)));
    /// assert_eq!(at.transaction.as_deref(), Some("0001"));
    /// ```
    pub fn at(&self, segment: &Segment, element: u32) -> Position {
        self.position(segment).with_element(element)
    }
}
