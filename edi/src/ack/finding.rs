//! The two conversions into verdicts: from an error of the strict parser (or of the reader), and from a
//! mapping plugin's refusal. Both locate the problem in the [`Received`] picture by byte offset (a refusal
//! may name its set by ST02 instead), read the segment again from the document when the acknowledgment
//! needs its tag or a copy of the bad data, and pick the codes from the X12 lists (tables in the docs of
//! [`Received::finding`] and [`Received::refusal`]).

use crate::error::{EdiError, code};
use crate::model::Position;

use super::codes::{ElementError, GroupError, InterchangeNote, SegmentError, SetError};
use super::outcome::{ElementFault, Finding, SegmentFault, SetOutcome};
use super::received::{Received, ReceivedTransaction};

/// Where a byte is: the interchange that holds it (or the last one before it) and the group and set around
/// it, if any.
struct Place {
    interchange: usize,
    group: Option<usize>,
    set: Option<usize>,
}

impl Received<'_> {
    /// What acknowledgment answers an error of [`crate::parse`] (or one of [`Received::problems`]), located
    /// by its byte offset in this document.
    ///
    /// | error code | where | answer |
    /// |---|---|---|
    /// | `001`, `004`, `021`, `025`, `026`, `027` (any TA1 note) | anywhere | TA1 with that note |
    /// | `023` premature end | interchange without IEA | TA1 `023` |
    /// | `023` | a set cut off by another envelope segment | AK5 `R` `2` (trailer missing) |
    /// | `023` | a group cut off by GS or IEA | AK9 `R` `3` (trailer missing) |
    /// | `3` | SE | AK5 `R` `3` |
    /// | `4` | SE | AK5 `R` `4` |
    /// | `4` | GE | AK9 `R` `4` |
    /// | `5` | GE | AK9 `R` `5` |
    /// | `control-character` | a value in a set | AK3 `8`, AK4 `6` (no copy of the data), AK5 `R` `5` |
    /// | `control-character` | a segment tag in a set | AK3 `1` (unrecognized segment id), AK5 `R` `5` |
    /// | `control-character` | ISA, GS, or between sets | TA1 `024` |
    /// | `024` | an invalid segment tag in a set | AK3 `1`, AK5 `R` `5` |
    /// | `024` | a value in a set (BIN byte count) | AK3 `8`, AK4 `6`, AK5 `R` `5` |
    /// | `024` | outside any set | TA1 `024` |
    /// | none (HL hierarchy) | an element in a set | AK3 `8`, AK4 `1` if the element is empty, else `7`, with a copy; AK5 `R` `5` |
    /// | none | outside any set | TA1 `024` |
    /// | EDIFACT `28`, `29`, or no interchange read | — | [`Finding::Unanswerable`] |
    ///
    /// An unrecognized tag is AK3 `1` rather than `2` (unexpected segment): the tag is not one X12 defines,
    /// which is what `1` means, while `2` is for a known segment out of place.
    pub fn finding(&self, error: &EdiError) -> Finding {
        let code = error.code.as_deref();
        if matches!(code, Some(code::EDIFACT_REFERENCES | code::EDIFACT_COUNT)) {
            return unanswerable(format!(
                "EDIFACT error, answered with CONTRL: {}",
                error.message
            ));
        }
        let byte = self.byte_of(&error.at);
        let Some(place) = self.place(byte) else {
            return unanswerable(format!("no X12 interchange was read: {}", error.message));
        };
        let interchange = place.interchange;
        let segment_id = error.at.segment_id.as_deref();
        let set_finding = |outcome: SetOutcome| match (place.group, place.set) {
            (Some(group), Some(set)) => Some(Finding::Set {
                interchange,
                group,
                set,
                outcome,
            }),
            _ => None,
        };
        let group_finding = |error: GroupError| {
            place.group.map(|group| Finding::Group {
                interchange,
                group,
                error,
            })
        };
        let content = Finding::Interchange {
            interchange,
            note: InterchangeNote::InvalidContent,
        };
        let found = match code {
            Some(code::PREMATURE_END) => Some(self.premature_end(interchange, byte)),
            Some(code::SET_CONTROL_NUMBER_MISMATCH) => {
                set_finding(SetOutcome::rejected([SetError::ControlNumberMismatch]))
            }
            Some(code::GROUP_CONTROL_NUMBER_MISMATCH) if segment_id == Some("GE") => {
                group_finding(GroupError::ControlNumberMismatch)
            }
            Some(code::SEGMENT_COUNT) => {
                set_finding(SetOutcome::rejected([SetError::SegmentCount]))
            }
            Some(code::TRANSACTION_COUNT) => group_finding(GroupError::TransactionCount),
            Some(code::CONTROL_CHARACTER) => self
                .set_fault(&place, &error.at, Some(ElementError::InvalidCharacter))
                .and_then(set_finding),
            Some(code::INVALID_CONTENT) => self
                .set_fault(&place, &error.at, Some(ElementError::InvalidCharacter))
                .and_then(set_finding),
            None => self
                .set_fault(&place, &error.at, None)
                .and_then(set_finding),
            Some(other) => InterchangeNote::from_code(other)
                .map(|note| Finding::Interchange { interchange, note }),
        };
        found.unwrap_or(content)
    }

    /// What acknowledgment answers a mapping plugin that refused a transaction set as an invalid document
    /// (WIT `mapping-error.invalid-document`), from its diagnostic's position and code.
    ///
    /// The set is the one holding `at.byte-offset`; without one, the set whose ST02 is `at.transaction`
    /// (when several share it, the one whose segment at `at.segment-index` has the tag `at.segment-id`,
    /// else the first); without either, the document's only set. The verdict is always AK5 `R`:
    ///
    /// | diagnostic | answer |
    /// |---|---|
    /// | code `wrong-transaction`, or the element ST01 | AK5 `1` (transaction set not supported) |
    /// | code `missing-segment`, or a segment that is not at that position | AK3 `3` (mandatory segment missing) at the position given |
    /// | an element, code `invalid-date` / `invalid-time` / `control-character` | AK3 `8`, AK4 `8` / `9` / `6` |
    /// | an element, code an X12 AK403 code (`1`–`13`) | AK3 `8`, AK4 with that code |
    /// | an element that is empty or absent, other codes | AK3 `8`, AK4 `1` (mandatory data element missing) |
    /// | an element, other codes (`unknown-unit` …) or none | AK3 `8`, AK4 `7` (invalid code value) |
    /// | a segment but no element | AK3 `8` (segment has data element errors), no AK4 |
    /// | no segment | AK5 `5` alone |
    ///
    /// AK4 `7` is the generic answer because a plugin refuses a value it cannot map (a qualifier, a unit, a
    /// level code); the X12 list has no "invalid value" code more general than it. Every AK4 carries a copy of
    /// the element as received, when it has one that can be written.
    pub fn refusal(&self, at: &Position, code: Option<&str>) -> Finding {
        let Some((interchange, group, set)) = self.refused_set(at) else {
            return unanswerable(format!(
                "the refusal names no transaction set of this document (transaction {:?}, byte {:?})",
                at.transaction, at.byte_offset
            ));
        };
        let place = Place {
            interchange,
            group: Some(group),
            set: Some(set),
        };
        let finding = |outcome: SetOutcome| Finding::Set {
            interchange,
            group,
            set,
            outcome,
        };
        let Some(transaction) = self.transaction(&place) else {
            return unanswerable("the refused transaction set was not read".to_owned());
        };
        let index = at.segment_index.or_else(|| {
            at.byte_offset
                .and_then(|b| usize::try_from(b).ok())
                .and_then(|b| transaction.index_of(b))
        });
        let element_error = match code {
            Some("invalid-date") => Some(ElementError::InvalidDate),
            Some("invalid-time") => Some(ElementError::InvalidTime),
            Some(code::CONTROL_CHARACTER) => Some(ElementError::InvalidCharacter),
            Some(other) => ElementError::from_code(other),
            None => None,
        };
        let wrong_type =
            code == Some("wrong-transaction") || (index == Some(1) && at.element == Some(1));
        if wrong_type {
            return finding(SetOutcome::rejected([SetError::NotSupported]));
        }
        let Some(index) = index else {
            return finding(SetOutcome::rejected([SetError::SegmentsInError]));
        };
        let offset = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| transaction.offsets.get(i).copied());
        let present = offset.map(|o| (o, self.tag_at(interchange, o)));
        let named = at.segment_id.clone();
        let there = match (&present, &named) {
            (Some((_, tag)), Some(named)) => tag == named,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if code == Some("missing-segment") || !there {
            let tag = named
                .or_else(|| present.map(|(_, tag)| tag))
                .unwrap_or_default();
            let fault = SegmentFault::new(tag, index, SegmentError::MandatorySegmentMissing);
            return finding(SetOutcome::rejected([]).with_segment(fault));
        }
        let mut position = at.clone();
        position.segment_index = Some(index);
        let outcome = match at.element {
            Some(_) => {
                let value = self.value_at(&place, &position);
                let error = match (element_error, value.as_deref()) {
                    (Some(error), _) => error,
                    (None, None | Some("")) => ElementError::MandatoryMissing,
                    (None, Some(_)) => ElementError::InvalidCodeValue,
                };
                self.segment_fault(&place, &position, SegmentError::DataElementErrors)
                    .map(|fault| fault.with_element(self.element_fault(&place, &position, error)))
            }
            None => self.segment_fault(&place, &position, SegmentError::DataElementErrors),
        };
        match outcome {
            Some(fault) => finding(SetOutcome::rejected([]).with_segment(fault)),
            None => finding(SetOutcome::rejected([SetError::SegmentsInError])),
        }
    }

    /// The byte an error points at, or (without one) the start of the set its ST02 names.
    fn byte_of(&self, at: &Position) -> usize {
        if let Some(byte) = at.byte_offset {
            return usize::try_from(byte).unwrap_or(usize::MAX);
        }
        at.transaction
            .as_deref()
            .and_then(|cn| self.sets().find(|(.., t)| t.control_number == cn))
            .map_or(0, |(.., t)| t.bytes.start)
    }

    /// Every set of the document with its indexes.
    fn sets(&self) -> impl Iterator<Item = (usize, usize, usize, &ReceivedTransaction)> {
        self.interchanges.iter().enumerate().flat_map(|(i, ic)| {
            ic.groups.iter().enumerate().flat_map(move |(g, group)| {
                group
                    .transactions
                    .iter()
                    .enumerate()
                    .map(move |(s, t)| (i, g, s, t))
            })
        })
    }

    /// Where `byte` is. Interchanges, groups and sets are in document order and do not overlap, so each
    /// level is a binary search for the last one starting at or before the byte.
    fn place(&self, byte: usize) -> Option<Place> {
        let len = self.document.len();
        let last_from = |starts: usize| starts.checked_sub(1);
        let interchange =
            last_from(self.interchanges.partition_point(|i| i.bytes.start <= byte)).unwrap_or(0);
        let ic = self.interchanges.get(interchange)?;
        // An envelope cut off at the end of the document also holds the end itself, where a premature end
        // is reported.
        let holds = |range: &std::ops::Range<usize>, open: bool| {
            range.start <= byte && (byte < range.end || (open && byte == range.end && byte >= len))
        };
        let group = last_from(ic.groups.partition_point(|g| g.bytes.start <= byte)).filter(|&g| {
            ic.groups
                .get(g)
                .is_some_and(|g| holds(&g.bytes, g.ge.is_none()))
        });
        let set = group.and_then(|g| {
            let sets = &ic.groups.get(g)?.transactions;
            last_from(sets.partition_point(|t| t.bytes.start <= byte))
                .filter(|&s| sets.get(s).is_some_and(|t| holds(&t.bytes, t.se.is_none())))
        });
        Some(Place {
            interchange,
            group,
            set,
        })
    }

    fn transaction(&self, place: &Place) -> Option<&ReceivedTransaction> {
        self.interchanges
            .get(place.interchange)?
            .groups
            .get(place.group?)?
            .transactions
            .get(place.set?)
    }

    /// TA1 023 when the interchange has no IEA. Otherwise a trailer inside it is missing, and the premature
    /// end is reported at the segment that came instead, right after the envelope it cut off: the last set
    /// starting before `byte`, if it has no SE (AK5 2), else the last group starting before it, if it has no
    /// GE (AK9 3).
    fn premature_end(&self, interchange: usize, byte: usize) -> Finding {
        let whole = Finding::Interchange {
            interchange,
            note: InterchangeNote::PrematureEnd,
        };
        let Some(ic) = self.interchanges.get(interchange) else {
            return whole;
        };
        if ic.iea.is_none() {
            return whole;
        }
        let Some(g) = ic
            .groups
            .partition_point(|g| g.bytes.start < byte)
            .checked_sub(1)
        else {
            return whole;
        };
        let Some(group) = ic.groups.get(g) else {
            return whole;
        };
        let last = group
            .transactions
            .partition_point(|t| t.bytes.start < byte)
            .checked_sub(1);
        if let Some(s) = last
            && group.transactions.get(s).is_some_and(|t| t.se.is_none())
        {
            return Finding::Set {
                interchange,
                group: g,
                set: s,
                outcome: SetOutcome::rejected([SetError::TrailerMissing]),
            };
        }
        if group.ge.is_none() {
            return Finding::Group {
                interchange,
                group: g,
                error: GroupError::TrailerMissing,
            };
        }
        whole
    }

    /// The verdict on a set with a fault at `at`: an unreadable tag is AK3 1; a value is AK3 8 with an
    /// AK4 (`element`, or 1/7 from the value when None); a segment without element is AK3 8. None when
    /// `place` is not in a set.
    fn set_fault(
        &self,
        place: &Place,
        at: &Position,
        element: Option<ElementError>,
    ) -> Option<SetOutcome> {
        let transaction = self.transaction(place)?;
        let mut at = at.clone();
        if at.segment_index.is_none() {
            at.segment_index = at
                .byte_offset
                .and_then(|b| usize::try_from(b).ok())
                .and_then(|b| transaction.index_of(b));
        }
        let outcome = SetOutcome::rejected([]);
        if at.segment_id.is_none() {
            // The scanner could not read the tag.
            let fault = self.segment_fault(place, &at, SegmentError::UnrecognizedSegmentId);
            return Some(match fault {
                Some(fault) if !fault.segment_id.is_empty() => outcome.with_segment(fault),
                _ => SetOutcome::rejected([SetError::SegmentsInError]),
            });
        }
        let fault = self.segment_fault(place, &at, SegmentError::DataElementErrors)?;
        if at.element.is_none() {
            return Some(outcome.with_segment(fault));
        }
        let error = element.unwrap_or_else(|| match self.value_at(place, &at).as_deref() {
            None | Some("") => ElementError::MandatoryMissing,
            Some(_) => ElementError::InvalidCodeValue,
        });
        let element = self.element_fault(place, &at, error);
        Some(outcome.with_segment(fault.with_element(element)))
    }

    /// The AK3 of the segment at `at` (its tag from `at`, or as found in the document).
    fn segment_fault(
        &self,
        place: &Place,
        at: &Position,
        error: SegmentError,
    ) -> Option<SegmentFault> {
        let transaction = self.transaction(place)?;
        let index = at.segment_index?;
        let tag = match &at.segment_id {
            Some(tag) => tag.clone(),
            None => {
                let offset = usize::try_from(index)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| transaction.offsets.get(i).copied())?;
                self.raw_tag(place.interchange, offset)
            }
        };
        Some(SegmentFault::new(tag, index, error))
    }

    /// The AK4 of the element at `at`, with its reference number when known and a copy of its value.
    fn element_fault(&self, place: &Place, at: &Position, error: ElementError) -> ElementFault {
        let position = at.element.unwrap_or(1);
        let mut fault = ElementFault::new(position, error);
        fault.component = at
            .component
            .filter(|&c| c > 1 || self.is_composite(place, at));
        if let Some(reference) = at
            .segment_id
            .as_deref()
            .and_then(|tag| element_reference(tag, position))
        {
            fault.reference = Some(reference);
        }
        if error != ElementError::InvalidCharacter {
            fault.copy = self
                .value_at(place, at)
                .filter(|v| !v.is_empty() && !v.chars().any(char::is_control));
        }
        fault
    }

    /// The segment a position points at, scanned again from the document.
    fn segment_of(&self, place: &Place, at: &Position) -> Option<crate::model::Segment> {
        let transaction = self.transaction(place)?;
        let index = usize::try_from(at.segment_index?).ok()?;
        let offset = transaction.offsets.get(index.checked_sub(1)?).copied()?;
        self.segment_at(place.interchange, offset)
    }

    /// The value of the element (and component) a position points at: `Some("")` when the segment is
    /// there but the element is empty or absent, None when the segment cannot be read.
    fn value_at(&self, place: &Place, at: &Position) -> Option<String> {
        let segment = self.segment_of(place, at)?;
        let element = usize::try_from(at.element?).ok()?.checked_sub(1)?;
        let Some(element) = segment.elements.get(element) else {
            return Some(String::new());
        };
        let component = at
            .component
            .and_then(|c| usize::try_from(c).ok())
            .and_then(|c| c.checked_sub(1))
            .unwrap_or(0);
        Some(
            element
                .components
                .get(component)
                .cloned()
                .unwrap_or_default(),
        )
    }

    fn is_composite(&self, place: &Place, at: &Position) -> bool {
        let element = at
            .element
            .and_then(|e| usize::try_from(e).ok())
            .and_then(|e| e.checked_sub(1));
        self.segment_of(place, at)
            .zip(element)
            .and_then(|(s, e)| s.elements.get(e).map(|e| e.components.len() > 1))
            .unwrap_or(false)
    }

    fn tag_at(&self, interchange: usize, offset: usize) -> String {
        self.segment_at(interchange, offset)
            .map_or_else(|| self.raw_tag(interchange, offset), |s| s.id)
    }

    /// The set a plugin's refusal names (see [`Received::refusal`]).
    fn refused_set(&self, at: &Position) -> Option<(usize, usize, usize)> {
        if let Some(byte) = at.byte_offset.and_then(|b| usize::try_from(b).ok())
            && let Some(place) = self.place(byte)
            && let (Some(group), Some(set)) = (place.group, place.set)
        {
            return Some((place.interchange, group, set));
        }
        let Some(cn) = at.transaction.as_deref() else {
            let mut sets = self.sets();
            let only = sets.next()?;
            return sets.next().is_none().then_some((only.0, only.1, only.2));
        };
        let candidates: Vec<_> = self
            .sets()
            .filter(|(.., t)| t.control_number == cn)
            .collect();
        let fits = |&&(i, _, _, t): &&(usize, usize, usize, &ReceivedTransaction)| {
            let (Some(index), Some(tag)) = (at.segment_index, at.segment_id.as_deref()) else {
                return false;
            };
            usize::try_from(index)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| t.offsets.get(n))
                .is_some_and(|&o| self.tag_at(i, o) == tag)
        };
        let chosen = candidates
            .iter()
            .find(fits)
            .or_else(|| candidates.first())?;
        Some((chosen.0, chosen.1, chosen.2))
    }
}

fn unanswerable(reason: String) -> Finding {
    Finding::Unanswerable { reason }
}

/// The data element reference numbers (AK402) this crate can name: the elements its own checks locate.
fn element_reference(segment: &str, element: u32) -> Option<u32> {
    match (segment, element) {
        ("ST", 1) => Some(143),
        ("ST", 2) | ("SE", 2) => Some(329),
        ("ST", 3) => Some(1705),
        ("SE", 1) => Some(96),
        ("HL", 1) => Some(628),
        ("HL", 2) => Some(734),
        ("HL", 3) => Some(735),
        ("HL", 4) => Some(736),
        _ => None,
    }
}
