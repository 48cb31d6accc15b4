//! The reader behind [`super::received`]: one pass over the document with the crate's scanner, keeping the
//! envelopes open at each segment, recording every problem where `parse` would stop, and resynchronizing at
//! the next segment terminator after a segment the scanner refuses.

use crate::error::{EdiError, code};
use crate::model::{Position, Segment, Standard};
use crate::scan::{Delimiters, Scanner, Sep, printable, skip_filler};
use crate::x12::{check_count, same_control_number};

use super::header::{find_isa, read_isa};
use super::received::{Received, ReceivedGroup, ReceivedInterchange, ReceivedTransaction, Trailer};

/// Interchange-level segments that may sit outside any group, as in the strict reader.
const SERVICE_SEGMENTS: [&str; 4] = ["TA1", "ISB", "ISE", "ISX"];

/// Reads the document of `received` into it.
pub(super) fn read(received: &mut Received<'_>) {
    let mut reader = Reader { received };
    reader.document();
}

struct Reader<'r, 'a> {
    received: &'r mut Received<'a>,
}

/// The envelopes open at the current segment.
#[derive(Default)]
struct Open {
    group: Option<ReceivedGroup>,
    transaction: Option<ReceivedTransaction>,
}

impl Open {
    fn control_number(&self) -> Option<String> {
        self.transaction.as_ref().map(|t| t.control_number.clone())
    }
}

impl Reader<'_, '_> {
    fn problem(&mut self, error: EdiError) {
        self.received.problems.push(error);
    }

    fn document(&mut self) {
        let doc = self.received.document;
        let start = if doc.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut pos = skip_filler(doc, start);
        if pos >= doc.len() {
            self.received.unreadable =
                Some("the document is empty or holds only whitespace".to_owned());
            return;
        }
        let rest = doc.get(pos..).unwrap_or(&[]);
        if !rest.starts_with(b"ISA") {
            if rest.starts_with(b"UNA") || rest.starts_with(b"UNB") {
                self.received.unreadable = Some(
                    "the document is EDIFACT, which is acknowledged with CONTRL, not with a 997 or TA1"
                        .to_owned(),
                );
                return;
            }
            let Some(at) = find_isa(doc, pos) else {
                self.received.unreadable = Some(no_isa(doc, pos));
                return;
            };
            self.problem(EdiError::new(
                format!(
                    "the document starts with `{}` at byte {pos}, not with an ISA header; the first ISA is at \
                     byte {at}; remove what precedes it or ask the sender to resend the file",
                    printable(rest, 24)
                ),
                Position::at_byte(pos),
                Some(code::INVALID_CONTENT),
            ));
            pos = at;
        }
        while pos < doc.len() {
            let end = self.interchange(pos).max(pos + 1);
            pos = skip_filler(doc, end);
            let rest = doc.get(pos..).unwrap_or(&[]);
            if rest.is_empty() || rest.starts_with(b"ISA") {
                continue;
            }
            if rest.starts_with(b"UNA") || rest.starts_with(b"UNB") {
                // An EDIFACT interchange after an X12 one: `parse` reads it, acknowledgments here do not.
                return;
            }
            let last = self
                .received
                .interchanges
                .last()
                .map_or(String::new(), |i| i.control_number.clone());
            self.problem(EdiError::new(
                format!(
                    "after the IEA of interchange {last} the document continues at byte {pos} with `{}`, which \
                     is not an ISA header: data outside any interchange; remove it or ask the sender to resend \
                     the file",
                    printable(rest, 24)
                ),
                Position::at_byte(pos),
                Some(code::INVALID_CONTENT),
            ));
            match find_isa(doc, pos + 1) {
                Some(at) => pos = at,
                None => return,
            }
        }
    }

    /// Reads the interchange whose ISA starts at `start`; returns where it ended.
    fn interchange(&mut self, start: usize) -> usize {
        let doc = self.received.document;
        let isa = read_isa(doc, start);
        let field = |n: usize| isa.fields.get(n - 1).map_or("", String::as_str);
        let mut interchange = ReceivedInterchange {
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
            iea: None,
            groups: Vec::new(),
            bytes: start..start,
            delimiters: isa.delimiters,
        };
        if let Some(problem) = isa.problem {
            self.problem(problem);
        }
        let end = match isa.delimiters {
            Some(delimiters) => {
                self.duplicate(&interchange, start);
                self.segments(&mut interchange, delimiters, isa.end)
            }
            // Without separators nothing after the ISA can be split; the next readable ISA starts afresh.
            None => find_isa(doc, isa.end.max(start + 1)).unwrap_or(doc.len()),
        };
        interchange.bytes = start..end;
        self.received.interchanges.push(interchange);
        end
    }

    /// Records TA1 025 when an earlier interchange of the document has the same ids, as `parse` does.
    fn duplicate(&mut self, interchange: &ReceivedInterchange, start: usize) {
        let same = |i: &&ReceivedInterchange| {
            i.delimiters.is_some()
                && i.control_number == interchange.control_number
                && i.sender_qualifier == interchange.sender_qualifier
                && i.sender_id == interchange.sender_id
                && i.receiver_qualifier == interchange.receiver_qualifier
                && i.receiver_id == interchange.receiver_id
        };
        let Some(first) = self.received.interchanges.iter().find(same) else {
            return;
        };
        let mut at = Position::at_byte(start).element(13);
        at.segment_id = Some("ISA".to_owned());
        at.segment_index = Some(1);
        let message = format!(
            "ISA13 {} from {}/{} to {}/{} at byte {start} repeats the interchange at byte {}: a control number \
             is used once per sender and receiver, so this is a duplicate; ask the sender whether it was sent \
             twice",
            interchange.control_number,
            interchange.sender_qualifier,
            interchange.sender_id,
            interchange.receiver_qualifier,
            interchange.receiver_id,
            first.bytes.start
        );
        self.problem(EdiError::new(
            message,
            at,
            Some(code::DUPLICATE_CONTROL_NUMBER),
        ));
    }

    /// Reads the segments after the ISA header up to the IEA, the next ISA or the end of the document;
    /// returns where the interchange ended.
    fn segments(
        &mut self,
        interchange: &mut ReceivedInterchange,
        delimiters: Delimiters,
        from: usize,
    ) -> usize {
        let doc = self.received.document;
        let text = self.received.text;
        let mut scanner = Scanner::new(doc, from, delimiters, Standard::X12).with_text(text);
        let mut open = Open::default();
        // Segments so far in the interchange, ISA = 1, as `parse` numbers envelope segments.
        let mut index: u32 = 1;
        loop {
            let start = skip_filler(doc, scanner.pos());
            let next_index = match &open.transaction {
                Some(t) => u32::try_from(t.offsets.len() + 1).unwrap_or(u32::MAX),
                None => index.saturating_add(1),
            };
            let mut segment = match scanner.next_segment() {
                Ok(Some(segment)) => segment,
                Ok(None) => return self.ends_early(interchange, open),
                Err(error) => {
                    let error = error.within(open.control_number().as_deref(), next_index);
                    self.problem(error);
                    // The damaged segment still counts: the sender sent it and counted it in SE01.
                    match &mut open.transaction {
                        Some(t) => t.offsets.push(start),
                        None => index = index.saturating_add(1),
                    }
                    match next_terminator(doc, scanner.pos().max(start), delimiters.segment) {
                        Some(next) => {
                            scanner =
                                Scanner::new(doc, next, delimiters, Standard::X12).with_text(text);
                            continue;
                        }
                        None => return self.ends_early(interchange, open),
                    }
                }
            };
            index = index.saturating_add(1);
            segment.index = index;
            let offset = start_of(&segment);
            match segment.id.as_str() {
                "ISA" => {
                    self.missing_trailers(interchange, &mut open, &segment, true);
                    return offset;
                }
                "IEA" => {
                    self.missing_trailers(interchange, &mut open, &segment, false);
                    self.check_iea(interchange, &segment);
                    interchange.iea = Some(trailer(&segment));
                    return scanner.pos();
                }
                "GS" => {
                    self.missing_trailers(interchange, &mut open, &segment, false);
                    open.group = Some(start_group(&segment));
                }
                "GE" => {
                    self.close_transaction(&mut open, &segment);
                    match open.group.take() {
                        Some(mut group) => {
                            self.check_ge(&group, &segment);
                            group.ge = Some(trailer(&segment));
                            group.bytes.end = scanner.pos();
                            interchange.groups.push(group);
                        }
                        None => self.problem(outside(&segment, "without a GS header")),
                    }
                }
                "ST" => {
                    self.close_transaction(&mut open, &segment);
                    if open.group.is_none() {
                        self.problem(outside(
                            &segment,
                            "outside any functional group: the GS header is missing",
                        ));
                    }
                    // A set outside any group is read to its SE so that its segments are not reported one by
                    // one, then dropped: no 997 can answer it.
                    open.transaction = Some(start_transaction(&segment));
                }
                "SE" => match open.transaction.take() {
                    Some(mut transaction) => {
                        transaction.offsets.push(offset);
                        segment.index =
                            u32::try_from(transaction.offsets.len()).unwrap_or(u32::MAX);
                        transaction.segment_count = transaction.offsets.len();
                        self.check_se(&transaction, &segment);
                        transaction.se = Some(trailer(&segment));
                        transaction.bytes.end = scanner.pos();
                        if let Some(group) = &mut open.group {
                            group.transactions.push(transaction);
                        }
                    }
                    None => self.problem(outside(&segment, "without an ST header")),
                },
                id => {
                    if let Some(transaction) = &mut open.transaction {
                        transaction.offsets.push(offset);
                        transaction.segment_count = transaction.offsets.len();
                    } else if open.group.is_some() {
                        self.problem(outside(
                            &segment,
                            "outside any transaction set (between GS and ST, or after SE): the ST header \
                             is missing",
                        ));
                    } else if !SERVICE_SEGMENTS.contains(&id) {
                        self.problem(outside(
                            &segment,
                            "outside any functional group: the GS and ST headers are missing",
                        ));
                    }
                }
            }
        }
    }

    /// Closes the open set (and, unless `found` is GE, the open group) because `found` came first; with
    /// `interchange_too` the interchange has no IEA either.
    fn missing_trailers(
        &mut self,
        interchange: &mut ReceivedInterchange,
        open: &mut Open,
        found: &Segment,
        interchange_too: bool,
    ) {
        self.close_transaction(open, found);
        if let Some(mut group) = open.group.take() {
            self.problem(EdiError::new(
                format!(
                    "functional group {} (GS at byte {}) has no GE: {} at byte {} comes first; the trailer is \
                     missing or the file was cut and joined, ask the sender to resend it",
                    group.control_number, group.bytes.start, found.id, found.byte_offset
                ),
                Position::of_segment(found),
                Some(code::PREMATURE_END),
            ));
            group.bytes.end = start_of(found);
            interchange.groups.push(group);
        }
        if interchange_too {
            self.problem(EdiError::new(
                format!(
                    "interchange {} (ISA at byte {}) has no IEA: {} at byte {} comes first; the trailer is \
                     missing or the file was cut and joined, ask the sender to resend it",
                    interchange.control_number,
                    interchange.bytes.start,
                    found.id,
                    found.byte_offset
                ),
                Position::of_segment(found),
                Some(code::PREMATURE_END),
            ));
        }
    }

    /// Closes the open set without its SE because `found` came first.
    fn close_transaction(&mut self, open: &mut Open, found: &Segment) {
        let Some(mut transaction) = open.transaction.take() else {
            return;
        };
        self.problem(EdiError::new(
            format!(
                "transaction set {} {} (ST at byte {}) has no SE: {} at byte {} comes first; the trailer is \
                 missing or the file was cut and joined, ask the sender to resend it",
                transaction.code,
                transaction.control_number,
                transaction.bytes.start,
                found.id,
                found.byte_offset
            ),
            Position::of_segment(found).in_transaction(Some(&transaction.control_number)),
            Some(code::PREMATURE_END),
        ));
        transaction.bytes.end = start_of(found);
        if let Some(group) = &mut open.group {
            group.transactions.push(transaction);
        }
    }

    /// The document ended inside the interchange: closes what is open and records TA1 023.
    fn ends_early(&mut self, interchange: &mut ReceivedInterchange, mut open: Open) -> usize {
        let len = self.received.document.len();
        let mut missing = Vec::new();
        let control_number = open.control_number();
        if let Some(mut transaction) = open.transaction.take() {
            missing.push(format!(
                "transaction set {} {} (ST at byte {}) has no SE",
                transaction.code, transaction.control_number, transaction.bytes.start
            ));
            transaction.bytes.end = len;
            if let Some(group) = &mut open.group {
                group.transactions.push(transaction);
            }
        }
        if let Some(mut group) = open.group.take() {
            missing.push(format!(
                "functional group {} (GS at byte {}) has no GE",
                group.control_number, group.bytes.start
            ));
            group.bytes.end = len;
            interchange.groups.push(group);
        }
        missing.push(format!(
            "interchange {} (ISA at byte {}) has no IEA",
            interchange.control_number, interchange.bytes.start
        ));
        self.problem(EdiError::new(
            format!(
                "the document ends at byte {len} but {}: the file is truncated; ask the sender to resend it",
                missing.join(", ")
            ),
            Position::at_byte(len).in_transaction(control_number.as_deref()),
            Some(code::PREMATURE_END),
        ));
        len
    }

    fn check_se(&mut self, transaction: &ReceivedTransaction, se: &Segment) {
        let cn = transaction.control_number.as_str();
        let describe = || {
            format!(
                "transaction set {} {cn} (ST at byte {})",
                transaction.code, transaction.bytes.start
            )
        };
        if !same_control_number(se.value(2), cn) {
            self.problem(EdiError::new(
                format!(
                    "SE02 `{}` does not match ST02 `{cn}` of {}: the trailer belongs to another transaction set \
                     or the file was edited; ask the sender to correct and resend it",
                    se.value(2),
                    describe()
                ),
                Position::of_segment(se).element(2).in_transaction(Some(cn)),
                Some(code::SET_CONTROL_NUMBER_MISMATCH),
            ));
        }
        if let Err(error) = check_count(
            se,
            1,
            "SE01",
            transaction.segment_count,
            || format!("segments in {}, counting ST and SE", describe()),
            code::SEGMENT_COUNT,
        ) {
            self.problem(error.within(Some(cn), se.index));
        }
    }

    fn check_ge(&mut self, group: &ReceivedGroup, ge: &Segment) {
        if !same_control_number(ge.value(2), &group.control_number) {
            self.problem(EdiError::new(
                format!(
                    "GE02 `{}` does not match GS06 `{}` of the functional group at byte {}: the trailer belongs \
                     to another group or the file was edited; ask the sender to correct and resend it",
                    ge.value(2),
                    group.control_number,
                    group.bytes.start
                ),
                Position::of_segment(ge).element(2),
                Some(code::GROUP_CONTROL_NUMBER_MISMATCH),
            ));
        }
        if let Err(error) = check_count(
            ge,
            1,
            "GE01",
            group.transactions.len(),
            || {
                format!(
                    "transaction sets in functional group {} (GS at byte {})",
                    group.control_number, group.bytes.start
                )
            },
            code::TRANSACTION_COUNT,
        ) {
            self.problem(error);
        }
    }

    fn check_iea(&mut self, interchange: &ReceivedInterchange, iea: &Segment) {
        if !same_control_number(iea.value(2), &interchange.control_number) {
            self.problem(EdiError::new(
                format!(
                    "IEA02 `{}` does not match ISA13 `{}` of the interchange at byte {}: the trailer belongs to \
                     another interchange or the file was edited; ask the sender to correct and resend it",
                    iea.value(2),
                    interchange.control_number,
                    interchange.bytes.start
                ),
                Position::of_segment(iea).element(2),
                Some(code::CONTROL_NUMBER_MISMATCH),
            ));
        }
        if let Err(error) = check_count(
            iea,
            1,
            "IEA01",
            interchange.groups.len(),
            || {
                format!(
                    "functional groups in interchange {} (ISA at byte {})",
                    interchange.control_number, interchange.bytes.start
                )
            },
            code::GROUP_COUNT,
        ) {
            self.problem(error);
        }
    }
}

fn start_of(segment: &Segment) -> usize {
    usize::try_from(segment.byte_offset).unwrap_or(usize::MAX)
}

fn trailer(segment: &Segment) -> Trailer {
    Trailer {
        count: segment.value(1).to_owned(),
        control_number: segment.value(2).to_owned(),
        byte_offset: start_of(segment),
    }
}

fn start_group(gs: &Segment) -> ReceivedGroup {
    let start = start_of(gs);
    ReceivedGroup {
        functional_id: gs.value(1).to_owned(),
        sender: gs.value(2).to_owned(),
        receiver: gs.value(3).to_owned(),
        date: gs.value(4).to_owned(),
        time: gs.value(5).to_owned(),
        control_number: gs.value(6).to_owned(),
        version: gs.value(8).to_owned(),
        ge: None,
        transactions: Vec::new(),
        bytes: start..start,
    }
}

fn start_transaction(st: &Segment) -> ReceivedTransaction {
    let start = start_of(st);
    ReceivedTransaction {
        code: st.value(1).to_owned(),
        control_number: st.value(2).to_owned(),
        version: Some(st.value(3).to_owned()).filter(|v| !v.is_empty()),
        segment_count: 1,
        se: None,
        bytes: start..start,
        offsets: vec![start],
    }
}

fn outside(segment: &Segment, why: &str) -> EdiError {
    EdiError::new(
        format!(
            "segment {} at byte {} is {why}; the envelope is broken, ask the sender to resend it",
            segment.id, segment.byte_offset
        ),
        Position::of_segment(segment),
        Some(code::INVALID_CONTENT),
    )
}

/// Where the segment after the terminator that ends the segment around `from` starts.
fn next_terminator(doc: &[u8], from: usize, terminator: Sep) -> Option<usize> {
    (from..doc.len())
        .find(|&p| terminator.matches(doc, p))
        .map(|p| p + terminator.len())
}

/// Why no ISA was found at `pos`.
fn no_isa(doc: &[u8], pos: usize) -> String {
    let rest = doc.get(pos..).unwrap_or(&[]);
    let hint = if rest.starts_with(&[0xFF, 0xFE]) || rest.starts_with(&[0xFE, 0xFF]) {
        " It is UTF-16 text."
    } else if rest.starts_with(&[0xC9, 0xE2, 0xC1]) {
        " It looks like EBCDIC."
    } else if rest.starts_with(b"GS") || rest.starts_with(b"ST") {
        " It looks like X12 without its ISA interchange header."
    } else {
        ""
    };
    format!(
        "no readable ISA header: the document starts with `{}`, so no acknowledgment can be addressed.{hint}",
        printable(rest, 24)
    )
}
