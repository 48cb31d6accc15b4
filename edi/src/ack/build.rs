//! Building the acknowledgments as trees for [`crate::render_x12`]: a 997 or 999 per functional group, a
//! TA1 per interchange.
//!
//! Each is an interchange of its own, addressed back to the sender (ISA05/06 and ISA07/08 swapped, GS02 and
//! GS03 swapped), written in the inbound interchange's separators and ISA12 so the partner's translator
//! reads it as it wrote, with the control numbers the host assigns and its clock's date and time. Values
//! copied from the inbound document were split by those same separators, so they cannot contain one; the
//! only free text, AK404's copy of bad data, is left out when it would not survive the trip, and control
//! characters of a damaged ISA are dropped from the ids. An id too wide for the fixed ISA (a damaged header
//! read tolerantly) makes `render_x12` refuse the acknowledgment rather than cut the id.

use jiff::civil::DateTime;

use crate::model::{Element, Group, Interchange, Segment, Separators, Standard, Transaction};

use super::codes::{InterchangeNote, SetError, SetStatus};
use super::outcome::{ElementFault, GroupOutcome, SegmentFault, SetOutcome};
use super::received::{ReceivedGroup, ReceivedInterchange};

/// The implementation convention a 999 follows and names in its GS08 and ST03: the 999 TR3 with its
/// errata.
const IMPLEMENTATION_ACK: &str = "005010X231A1";

/// Which functional acknowledgment to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// The 997 functional acknowledgment: AK1, AK2, AK3, AK4, AK5, AK9. Its GS08 echoes the inbound GS08;
    /// AK103 and AK203 are written from version 005010 on.
    Functional997,
    /// The 999 implementation acknowledgment (005010X231A1): AK1 with GS08, AK2 with ST03, IK3, CTX (the
    /// business unit), IK4, IK5, AK9. Its GS08 and ST03 are `005010X231A1`, the convention it follows.
    Implementation999,
}

/// The control numbers of an outbound acknowledgment, assigned by the host: unique per partner for the
/// ISA13 (a repeat is a duplicate to the partner), per interchange for GS06, per group for ST02.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlNumbers {
    /// ISA13 and IEA02, 1 to 999999999, written with nine digits.
    pub interchange: u32,
    /// GS06 and GE02, 1 to 999999999.
    pub group: u32,
    /// ST02 and SE02, written with at least four digits (`0001`).
    pub transaction: u32,
}

/// The 997 or 999 answering one received functional group, in its own interchange.
///
/// `outcome.sets[i]` answers `group.transactions[i]` (a set without one is answered as accepted), and
/// `outcome.errors` are the group's AK9 codes; [`super::Outcomes`] holds one [`GroupOutcome`] per group in
/// this shape. Every received set gets an AK2 loop; AK9 counts the sets GE01 declared (the sets received
/// when GE01 is missing or not a number), the sets received and the sets accepted (`A` or `E`). A group
/// whose own envelope is at fault (GE missing, GE02 or GE01 wrong) is `R` with its AK905 codes while AK904
/// still counts the sets accepted on their own, as translators write it (`AK9*R*2*2*1*4`). Send it only
/// when the interchange itself is accepted: a rejected interchange is answered by its TA1 alone.
///
/// ```
/// use millwright_edi::ack::{self, AckKind, ControlNumbers, Outcomes};
/// let doc = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~\
/// GS*SH*SENDER*RECEIVER*20240101*1200*7*X*004010~ST*856*0001~BSN*00*SHIP1*20240101*1200~SE*3*0001~GE*1*7~IEA*1*000000001~";
/// let received = ack::received(doc);
/// let outcomes = Outcomes::new(&received);
/// let ids = ControlNumbers { interchange: 42, group: 42, transaction: 1 };
/// let now = jiff::civil::date(2024, 1, 1).at(12, 5, 0, 0);
/// let (interchange, group) = (&received.interchanges[0], &received.interchanges[0].groups[0]);
/// let fa = ack::functional_ack(group, interchange, &outcomes.interchanges[0].groups[0], AckKind::Functional997, ids, now);
/// let bytes = millwright_edi::render_x12(&fa)?;
/// assert!(bytes.ends_with(b"ST*997*0001~AK1*SH*7~AK2*856*0001~AK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*42~IEA*1*000000042~"));
/// # Ok::<(), millwright_edi::EdiError>(())
/// ```
pub fn functional_ack(
    group: &ReceivedGroup,
    interchange: &ReceivedInterchange,
    outcome: &GroupOutcome,
    kind: AckKind,
    ids: ControlNumbers,
    now: DateTime,
) -> Interchange {
    let mut ack = envelope(interchange, ids.interchange, now);
    let implementation = kind == AckKind::Implementation999;
    let version = if implementation {
        IMPLEMENTATION_ACK.to_owned()
    } else if group.version.trim().is_empty() {
        // A GS without GS08: the version of the interchange's own controls, in GS08's form.
        format!("{}0", ack.version)
    } else {
        group.version.clone()
    };
    // AK103 and AK203 exist from 005010 on; the 999 is 005010 by definition.
    let from_5010 = implementation || version_number(&version) >= 5010;
    let mut body = Body {
        segments: Vec::new(),
        separators: &ack.separators,
    };
    let mut ak1 = vec![group.functional_id.as_str(), group.control_number.as_str()];
    if from_5010 {
        ak1.push(&group.version);
    }
    body.simple("AK1", &ak1);
    let accepted = SetOutcome::accepted();
    for (i, transaction) in group.transactions.iter().enumerate() {
        let set = outcome.sets.get(i).unwrap_or(&accepted);
        let mut ak2 = vec![
            transaction.code.as_str(),
            transaction.control_number.as_str(),
        ];
        if from_5010 && let Some(convention) = &transaction.version {
            ak2.push(convention);
        }
        body.simple("AK2", &ak2);
        let mut faults: Vec<&SegmentFault> = set.segments.iter().collect();
        faults.sort_by_key(|f| f.position);
        for fault in faults {
            body.segment_fault(fault, implementation);
        }
        body.set_response(set, implementation);
    }
    let received = group.transactions.len();
    let included = group
        .ge
        .as_ref()
        .and_then(|ge| ge.count.trim().parse::<usize>().ok())
        .unwrap_or(received);
    let mut ak9 = vec![
        outcome.status(received).code().to_owned(),
        included.to_string(),
        received.to_string(),
        outcome.accepted(received).to_string(),
    ];
    ak9.extend(outcome.errors.iter().take(5).map(|e| e.code().to_owned()));
    let ak9: Vec<&str> = ak9.iter().map(String::as_str).collect();
    body.simple("AK9", &ak9);

    let segments = body.segments;
    ack.groups.push(Group {
        functional_id: "FA".to_owned(),
        sender: group.receiver.clone(),
        receiver: group.sender.clone(),
        date: format!("{:04}{:02}{:02}", now.year(), now.month(), now.day()),
        time: format!("{:02}{:02}", now.hour(), now.minute()),
        control_number: ids.group.to_string(),
        version,
        transactions: vec![Transaction {
            code: if implementation { "999" } else { "997" }.to_owned(),
            control_number: format!("{:04}", ids.transaction),
            version: implementation.then(|| IMPLEMENTATION_ACK.to_owned()),
            segments,
        }],
    });
    ack
}

/// The TA1 answering one received interchange, alone in an interchange of its own (no group; IEA01 is 0).
///
/// TA101–TA103 are the inbound ISA13, ISA09 and ISA10; TA104 is `A` when `accepted` with note `000`, `E`
/// when accepted with another note, `R` when not accepted; TA105 is `note`. Send one when
/// [`super::InterchangeOutcome::ta1_due`] says so: the sender asked (ISA14 = 1) or the interchange is at
/// fault, and then with its [`super::InterchangeOutcome::note`] and `accepted` false.
pub fn ta1(
    interchange: &ReceivedInterchange,
    accepted: bool,
    note: InterchangeNote,
    control_number: u32,
    now: DateTime,
) -> Interchange {
    let mut ack = envelope(interchange, control_number, now);
    let answered = interchange.control_number.trim();
    let answered = if is_digits(answered, 1..=9) {
        format!("{answered:0>9}")
    } else {
        // An ISA13 that cannot be echoed (the header was damaged before or at it).
        "000000000".to_owned()
    };
    let date = if is_digits(&interchange.date, 6..=6) {
        interchange.date.clone()
    } else {
        ack.date.clone()
    };
    let time = if is_digits(&interchange.time, 4..=4) {
        interchange.time.clone()
    } else {
        ack.time.clone()
    };
    let status = match (accepted, note) {
        (false, _) => "R",
        (true, InterchangeNote::NoError) => "A",
        (true, _) => "E",
    };
    let elements = [answered.as_str(), &date, &time, status, note.code()]
        .into_iter()
        .map(Element::simple)
        .collect();
    ack.service_segments.push(Segment {
        id: "TA1".to_owned(),
        elements,
        index: 2,
        byte_offset: 0,
    });
    ack
}

/// The interchange an acknowledgment travels in, addressed back to the sender of `inbound`.
fn envelope(inbound: &ReceivedInterchange, control_number: u32, now: DateTime) -> Interchange {
    let version = if is_digits(&inbound.version, 5..=5) {
        inbound.version.clone()
    } else {
        "00401".to_owned()
    };
    Interchange {
        standard: Standard::X12,
        separators: separators(inbound.separators.as_ref(), &version),
        sender_qualifier: printable_only(&inbound.receiver_qualifier),
        sender_id: printable_only(&inbound.receiver_id),
        receiver_qualifier: printable_only(&inbound.sender_qualifier),
        receiver_id: printable_only(&inbound.sender_id),
        date: format!(
            "{:02}{:02}{:02}",
            i32::from(now.year()).rem_euclid(100),
            now.month(),
            now.day()
        ),
        time: format!("{:02}{:02}", now.hour(), now.minute()),
        version,
        control_number: format!("{control_number:09}"),
        acknowledgment_requested: false,
        test: inbound.test,
        groups: Vec::new(),
        service_segments: Vec::new(),
        byte_offset: 0,
    }
}

/// The inbound separators when the renderer can write them with `version` (distinct, no letter, digit or
/// space; a repetition separator only from 00402 on), else `*`, `:`, `~` (and `^` from 00402 on).
fn separators(inbound: Option<&Separators>, version: &str) -> Separators {
    let repeats = version_number(version) >= 402;
    if let Some(inbound) = inbound {
        let repetition = inbound.repetition.filter(|_| repeats);
        let mut all = vec![inbound.element, inbound.component, inbound.segment];
        all.extend(repetition);
        let distinct = all
            .iter()
            .enumerate()
            .all(|(i, c)| !all.iter().skip(i + 1).any(|o| o == c));
        if distinct && all.iter().all(|c| !c.is_alphanumeric() && *c != ' ') {
            return Separators {
                element: inbound.element,
                component: inbound.component,
                repetition,
                segment: inbound.segment,
                release: None,
                decimal_mark: None,
            };
        }
    }
    Separators {
        element: '*',
        component: ':',
        repetition: repeats.then_some('^'),
        segment: '~',
        release: None,
        decimal_mark: None,
    }
}

/// The body of a 997 or 999 being written: its segments, numbered as in the set (ST = 1).
struct Body<'a> {
    segments: Vec<Segment>,
    separators: &'a Separators,
}

impl Body<'_> {
    fn push(&mut self, id: &str, mut elements: Vec<Element>) {
        // X12 writes no trailing empty elements.
        while elements
            .last()
            .is_some_and(|e| e.value().is_empty() && e.components.len() <= 1)
        {
            elements.pop();
        }
        let index = u32::try_from(self.segments.len() + 2).unwrap_or(u32::MAX);
        self.segments.push(Segment {
            id: id.to_owned(),
            elements,
            index,
            byte_offset: 0,
        });
    }

    fn simple(&mut self, id: &str, values: &[&str]) {
        self.push(id, values.iter().map(|v| Element::simple(*v)).collect());
    }

    /// AK3 (IK3, then the 999's business-unit CTX) and its AK4s (IK4s).
    fn segment_fault(&mut self, fault: &SegmentFault, implementation: bool) {
        let position = fault.position.to_string();
        self.simple(
            if implementation { "IK3" } else { "AK3" },
            &[
                &fault.segment_id,
                &position,
                fault.loop_id.as_deref().unwrap_or(""),
                fault.error.code(),
            ],
        );
        if implementation && let Some(unit) = &fault.business_unit {
            let context = Element {
                components: vec![unit.name.clone(), unit.value.clone()],
                repeats: Vec::new(),
            };
            self.push("CTX", vec![context]);
        }
        for element in &fault.elements {
            self.element_fault(element, implementation);
        }
    }

    fn element_fault(&mut self, fault: &ElementFault, implementation: bool) {
        let mut position = vec![
            fault.position.to_string(),
            fault.component.map_or_else(String::new, |c| c.to_string()),
            fault.repetition.map_or_else(String::new, |r| r.to_string()),
        ];
        while position.last().is_some_and(String::is_empty) {
            position.pop();
        }
        let copy = fault
            .copy
            .as_deref()
            .filter(|c| self.can_copy(c))
            .map(|c| c.chars().take(99).collect::<String>())
            .unwrap_or_default();
        let elements = vec![
            Element {
                components: position,
                repeats: Vec::new(),
            },
            Element::simple(fault.reference.map_or_else(String::new, |r| r.to_string())),
            Element::simple(fault.error.code()),
            Element::simple(copy),
        ];
        self.push(if implementation { "IK4" } else { "AK4" }, elements);
    }

    /// AK5 (IK5): the status and its codes; a set that is not accepted always has one.
    fn set_response(&mut self, set: &SetOutcome, implementation: bool) {
        let mut values = vec![set.status.code()];
        values.extend(set.errors.iter().take(5).map(|e| e.code()));
        if set.status != SetStatus::Accepted && set.errors.is_empty() {
            values.push(SetError::SegmentsInError.code());
        }
        self.simple(if implementation { "IK5" } else { "AK5" }, &values);
    }

    /// Whether a copy of bad data can be written: no separator of this acknowledgment, no control
    /// character (which the partner's parser would refuse, as this crate's does).
    fn can_copy(&self, copy: &str) -> bool {
        let s = self.separators;
        !copy.is_empty()
            && !copy.chars().any(|c| {
                c.is_control()
                    || c == s.element
                    || c == s.component
                    || c == s.segment
                    || Some(c) == s.repetition
            })
    }
}

/// An ISA id without the control characters a damaged header may hold (the reader keeps them so the TA1
/// can answer it; the partner's parser would refuse them in the answer).
fn printable_only(id: &str) -> String {
    id.chars().filter(|c| !c.is_control()).collect()
}

/// The number a version starts with: `004010VICS` is 4010, `00401` is 401; 0 without digits.
fn version_number(version: &str) -> u32 {
    let digits: String = version
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

fn is_digits(value: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}
