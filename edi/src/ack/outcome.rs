//! Verdicts: what an acknowledgment says about each transaction set, group and interchange. The conversions
//! that produce them, from a parser error ([`Received::finding`]) and from a mapping plugin's refusal
//! ([`Received::refusal`]), are in `finding`.
//!
//! [`Outcomes`] mirrors [`Received`] level by level, so `outcomes.interchanges[i].groups[g].sets[s]` answers
//! `received.interchanges[i].groups[g].transactions[s]`. Every set starts accepted; [`Outcomes::record`]
//! merges a [`Finding`] in, keeping the worst status and every distinct code, so recording the same problem
//! twice (the reader saw it, then `parse` reported it) changes nothing.

use super::codes::{
    ElementError, GroupError, GroupStatus, InterchangeNote, SegmentError, SetError, SetStatus,
};
use super::received::{Received, ReceivedInterchange};

/// The verdicts for one document, shaped like [`Received`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    /// One per received interchange, same order.
    pub interchanges: Vec<InterchangeOutcome>,
}

/// The verdict on one interchange and its groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterchangeOutcome {
    /// The TA1 note when the interchange itself is at fault (the first one found); None when it is not.
    pub note: Option<InterchangeNote>,
    /// One per received group, same order.
    pub groups: Vec<GroupOutcome>,
}

impl InterchangeOutcome {
    /// Whether a TA1 is due: the sender asked for one (ISA14 = 1) or the interchange is at fault.
    pub fn ta1_due(&self, interchange: &ReceivedInterchange) -> bool {
        self.note.is_some() || interchange.acknowledgment_requested
    }

    /// Whether the interchange is accepted, so its groups are answered with 997s or 999s. A rejected one is
    /// answered by its TA1 alone: nothing in it is processed.
    pub fn accepted(&self) -> bool {
        self.note.is_none()
    }
}

/// The verdict on one functional group and its sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupOutcome {
    /// AK905–AK909: what is wrong with the group's own envelope (GE missing, GE02 or GE01 wrong).
    pub errors: Vec<GroupError>,
    /// One per received set, same order.
    pub sets: Vec<SetOutcome>,
}

impl GroupOutcome {
    /// AK901 for a group of `received` sets: `R` when the group's envelope is at fault or nothing was
    /// accepted, `P` when some sets were rejected, `E` when all were accepted but some with errors, else `A`.
    pub fn status(&self, received: usize) -> GroupStatus {
        let accepted = self.accepted(received);
        let noted = (0..received).any(|i| {
            self.sets
                .get(i)
                .is_some_and(|s| s.status == SetStatus::AcceptedWithErrors)
        });
        if !self.errors.is_empty() || (received > 0 && accepted == 0) {
            GroupStatus::Rejected
        } else if accepted < received {
            GroupStatus::PartiallyAccepted
        } else if noted {
            GroupStatus::AcceptedWithErrors
        } else {
            GroupStatus::Accepted
        }
    }

    /// AK904 for a group of `received` sets: how many are accepted (`A` or `E`); a set without an outcome
    /// counts as accepted.
    pub fn accepted(&self, received: usize) -> usize {
        (0..received)
            .filter(|&i| self.sets.get(i).is_none_or(|s| s.status.is_accepted()))
            .count()
    }
}

/// The verdict on one transaction set: AK5 (or IK5) and the AK3/AK4 (IK3/IK4) loops before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// AK501.
    pub status: SetStatus,
    /// AK502–AK506, at most five written. A set that is not accepted and has none is written with `5` (one
    /// or more segments in error).
    pub errors: Vec<SetError>,
    /// The segments at fault, one AK3 each.
    pub segments: Vec<SegmentFault>,
}

impl SetOutcome {
    /// Accepted, with nothing to report.
    pub fn accepted() -> Self {
        SetOutcome {
            status: SetStatus::Accepted,
            errors: Vec::new(),
            segments: Vec::new(),
        }
    }

    /// Rejected for these reasons (AK502–AK506).
    pub fn rejected(errors: impl IntoIterator<Item = SetError>) -> Self {
        SetOutcome {
            status: SetStatus::Rejected,
            errors: errors.into_iter().collect(),
            segments: Vec::new(),
        }
    }

    /// The same verdict with one more segment at fault; adds AK5 code `5` (one or more segments in error).
    pub fn with_segment(mut self, fault: SegmentFault) -> Self {
        push_unique(&mut self.errors, SetError::SegmentsInError);
        self.segments.push(fault);
        self
    }

    /// Merges another verdict on the same set into this one: the worse status, every distinct code and
    /// fault. Returns whether anything changed.
    pub fn merge(&mut self, other: SetOutcome) -> bool {
        let mut changed = false;
        if other.status.severity() > self.status.severity() {
            self.status = other.status;
            changed = true;
        }
        for error in other.errors {
            changed |= push_unique(&mut self.errors, error);
        }
        for fault in other.segments {
            match self.segments.iter_mut().find(|f| f.same_place(&fault)) {
                Some(known) => {
                    for element in fault.elements {
                        changed |= push_unique(&mut known.elements, element);
                    }
                    if known.business_unit.is_none() && fault.business_unit.is_some() {
                        known.business_unit = fault.business_unit;
                        changed = true;
                    }
                }
                None => {
                    self.segments.push(fault);
                    changed = true;
                }
            }
        }
        changed
    }
}

/// One segment at fault: an AK3 (IK3) and its AK4s (IK4s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFault {
    /// AK301, the segment's tag.
    pub segment_id: String,
    /// AK302, its position in the set counting ST as 1 (for a missing segment, where it was expected).
    pub position: u32,
    /// AK303, the loop identifier (LS01) of a bounded loop, when the segment is in one.
    pub loop_id: Option<String>,
    /// AK304.
    pub error: SegmentError,
    /// The elements at fault, one AK4 each.
    pub elements: Vec<ElementFault>,
    /// The business unit the 999 names in a CTX after the IK3 (`CLM01` and the claim's id in an 837);
    /// not written in a 997, which has no CTX.
    pub business_unit: Option<BusinessUnit>,
}

impl SegmentFault {
    /// A segment at fault, with no element detail yet.
    pub fn new(segment_id: impl Into<String>, position: u32, error: SegmentError) -> Self {
        SegmentFault {
            segment_id: segment_id.into(),
            position,
            loop_id: None,
            error,
            elements: Vec::new(),
            business_unit: None,
        }
    }

    /// The same fault with one more element at fault.
    pub fn with_element(mut self, element: ElementFault) -> Self {
        self.elements.push(element);
        self
    }

    /// The same fault inside the bounded loop `loop_id` (AK303).
    pub fn with_loop(mut self, loop_id: impl Into<String>) -> Self {
        self.loop_id = Some(loop_id.into());
        self
    }

    /// The same fault with the business unit a 999 names in its CTX.
    pub fn with_business_unit(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.business_unit = Some(BusinessUnit {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    fn same_place(&self, other: &SegmentFault) -> bool {
        self.segment_id == other.segment_id
            && self.position == other.position
            && self.error == other.error
    }
}

/// The business unit identifier of a 999 CTX (CTX01-1 and CTX01-2), e.g. `CLM01` and a claim id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessUnit {
    /// CTX01-1, the context name: the element that identifies the business unit (`CLM01`).
    pub name: String,
    /// CTX01-2, its value.
    pub value: String,
}

/// One data element at fault: an AK4 (IK4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementFault {
    /// AK401-1, the element's position in the segment (1-based).
    pub position: u32,
    /// AK401-2, the component's position in a composite element.
    pub component: Option<u32>,
    /// AK401-3, the occurrence of a repeating element (5010 on).
    pub repetition: Option<u32>,
    /// AK402, the data element reference number, when known.
    pub reference: Option<u32>,
    /// AK403.
    pub error: ElementError,
    /// AK404, a copy of the bad data. Never a control character or one of the acknowledgment's separators:
    /// such a copy is left out when the acknowledgment is built.
    pub copy: Option<String>,
}

impl ElementFault {
    /// Element `position` of a segment is at fault.
    pub fn new(position: u32, error: ElementError) -> Self {
        ElementFault {
            position,
            component: None,
            repetition: None,
            reference: None,
            error,
            copy: None,
        }
    }

    /// The same fault, in component `component` of the element.
    pub fn with_component(mut self, component: u32) -> Self {
        self.component = Some(component);
        self
    }

    /// The same fault, with the element's data element reference number.
    pub fn with_reference(mut self, reference: u32) -> Self {
        self.reference = Some(reference);
        self
    }

    /// The same fault, with a copy of the bad data.
    pub fn with_copy(mut self, copy: impl Into<String>) -> Self {
        self.copy = Some(copy.into());
        self
    }
}

/// One verdict and what it is about, from [`Received::finding`] or [`Received::refusal`]; indexes are those
/// of [`Received`] (and of [`Outcomes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A transaction set is at fault: its AK5 and AK3/AK4s.
    Set {
        /// Index of the interchange.
        interchange: usize,
        /// Index of the group in the interchange.
        group: usize,
        /// Index of the set in the group.
        set: usize,
        /// The verdict on the set.
        outcome: SetOutcome,
    },
    /// A group's envelope is at fault: an AK9 code.
    Group {
        /// Index of the interchange.
        interchange: usize,
        /// Index of the group in the interchange.
        group: usize,
        /// The AK905 code.
        error: GroupError,
    },
    /// The interchange is at fault: a TA1 with this note, and no functional acknowledgment.
    Interchange {
        /// Index of the interchange.
        interchange: usize,
        /// The TA105 code.
        note: InterchangeNote,
    },
    /// Nothing X12 can answer: no interchange was read, the error is EDIFACT's, or a refusal names no
    /// transaction set of the document.
    Unanswerable {
        /// Why, for the log.
        reason: String,
    },
}

impl Outcomes {
    /// The verdicts on a received document from what the reader saw alone: every set accepted unless one of
    /// [`Received::problems`] says otherwise.
    pub fn new(received: &Received<'_>) -> Self {
        let mut outcomes = Outcomes {
            interchanges: received
                .interchanges
                .iter()
                .map(|i| InterchangeOutcome {
                    note: None,
                    groups: i
                        .groups
                        .iter()
                        .map(|g| GroupOutcome {
                            errors: Vec::new(),
                            sets: vec![SetOutcome::accepted(); g.transactions.len()],
                        })
                        .collect(),
                })
                .collect(),
        };
        for problem in &received.problems {
            outcomes.record(received.finding(problem));
        }
        outcomes
    }

    /// Merges a finding into the verdicts; returns whether anything changed. An interchange keeps the first
    /// note recorded (a TA1 carries one); a finding about an index that does not exist changes nothing.
    pub fn record(&mut self, finding: Finding) -> bool {
        match finding {
            Finding::Set {
                interchange,
                group,
                set,
                outcome,
            } => self
                .interchanges
                .get_mut(interchange)
                .and_then(|i| i.groups.get_mut(group))
                .and_then(|g| g.sets.get_mut(set))
                .is_some_and(|known| known.merge(outcome)),
            Finding::Group {
                interchange,
                group,
                error,
            } => self
                .interchanges
                .get_mut(interchange)
                .and_then(|i| i.groups.get_mut(group))
                .is_some_and(|g| push_unique(&mut g.errors, error)),
            Finding::Interchange { interchange, note } => {
                match self.interchanges.get_mut(interchange) {
                    Some(i) if i.note.is_none() => {
                        i.note = Some(note);
                        true
                    }
                    _ => false,
                }
            }
            Finding::Unanswerable { .. } => false,
        }
    }

    /// Whether every interchange, group and set is accepted with nothing to report.
    pub fn all_accepted(&self) -> bool {
        self.interchanges.iter().all(|i| {
            i.note.is_none()
                && i.groups.iter().all(|g| {
                    g.errors.is_empty() && g.sets.iter().all(|s| *s == SetOutcome::accepted())
                })
        })
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) -> bool {
    if list.contains(&item) {
        false
    } else {
        list.push(item);
        true
    }
}
