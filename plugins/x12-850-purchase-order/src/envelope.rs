//! The envelope around the 850: ISA13 and GS06 from the host's sequences, named after the receiver so that
//! every interchange the plant sends that partner (these 850s and, under the same names, the host's own 997s)
//! counts in one series; ISA09/10 and GS04/05 from the host's clock in the plant's zone; ST02 `0001`, the only
//! set of its interchange. The host's renderer writes the tree and computes SE, GE and IEA, so counts and
//! control numbers always match.

use millwright_sdk::edi::{self, Element, Group, Interchange, Separators, Standard, Transaction};
use millwright_sdk::host;
use millwright_sdk::sequences;
use millwright_sdk::types::{MappingError, Position};

use crate::calendar;
use crate::order::Segment;
use crate::profile::{Profile, Receiver};

/// The largest ISA13 and GS06: nine digits.
pub const MAX_CONTROL_NUMBER: u64 = 999_999_999;
/// ISA12: the interchange control version, 4010.
const ISA12: &str = "00401";
/// GS08: X12 004010.
const GS08: &str = "004010";
/// ST02 of the one transaction set in each interchange.
pub const ST02: &str = "0001";

/// The name of the sequence of interchange control numbers (ISA13) sent to `receiver`.
pub fn interchange_sequence(receiver: &Receiver) -> String {
    format!("x12-interchange:{}", receiver.interchange.name())
}

/// The name of the sequence of group control numbers (GS06) sent to `receiver`.
pub fn group_sequence(receiver: &Receiver) -> String {
    format!("x12-group:{}", receiver.interchange.name())
}

/// ISA13 and GS06 for the next interchange to `receiver`. A sequence the host cannot move on just now is
/// `transient`: the host retries, and a retry is given the same numbers.
pub fn control_numbers(receiver: &Receiver) -> Result<(u64, u64), MappingError> {
    let next = |name: String| {
        sequences::next(&name, MAX_CONTROL_NUMBER).map_err(|why| {
            MappingError::transient(
                format!(
                    "the control number sequence `{name}` cannot be drawn from just now: {why}"
                ),
                Position::new(),
            )
            .with_code("sequence-unavailable")
        })
    };
    let isa13 = next(interchange_sequence(receiver))?;
    let gs06 = next(group_sequence(receiver))?;
    Ok((isa13, gs06))
}

/// The host's clock in the plant's zone, as minutes of local time.
pub fn local_now(profile: &Profile) -> Result<calendar::Minutes, MappingError> {
    let now = host::now();
    let utc = calendar::utc_minutes(&now.utc).ok_or_else(|| {
        MappingError::transient(
            format!(
                "the host's clock answered `{}`, which is not an RFC 3339 UTC instant",
                now.utc
            ),
            Position::new(),
        )
        .with_code("clock")
    })?;
    calendar::local(utc, &profile.zone).map_err(|why| {
        MappingError::unknown_reference(
            format!(
                "profile key `timezone`: `{}` cannot be used: {why}; fix the route's config and replay the \
                 order",
                profile.zone
            ),
            Position::new(),
        )
        .with_code("profile")
    })
}

/// The interchange written to bytes, with the profile's line break after every segment terminator.
pub fn render(
    profile: &Profile,
    receiver: &Receiver,
    segments: Vec<Segment>,
    (isa13, gs06): (u64, u64),
    now: calendar::Minutes,
) -> Result<Vec<u8>, MappingError> {
    let date = calendar::date8(now);
    let segments = segments
        .into_iter()
        .enumerate()
        .map(|(i, s)| edi::Segment {
            id: s.id.to_owned(),
            elements: s.elements.into_iter().map(Element::simple).collect(),
            // ST is segment 1 of its set.
            index: u32::try_from(i + 2).unwrap_or(u32::MAX),
            byte_offset: 0,
        })
        .collect();
    let interchange = Interchange {
        standard: Standard::X12,
        separators: Separators {
            element: profile.separators.element,
            component: profile.separators.component,
            repetition: None,
            segment: profile.separators.segment,
            release: None,
            decimal_mark: None,
        },
        sender_qualifier: profile.sender.qualifier.clone(),
        sender_id: profile.sender.id.clone(),
        receiver_qualifier: receiver.interchange.qualifier.clone(),
        receiver_id: receiver.interchange.id.clone(),
        date: date[2..].to_owned(),
        time: calendar::time4(now),
        version: ISA12.to_owned(),
        control_number: isa13.to_string(),
        acknowledgment_requested: profile.ta1_requested,
        test: profile.test,
        groups: vec![Group {
            functional_id: "PO".to_owned(),
            sender: profile.application_sender.clone(),
            receiver: receiver.application.clone(),
            date,
            time: calendar::time4(now),
            control_number: gs06.to_string(),
            version: GS08.to_owned(),
            transactions: vec![Transaction {
                code: "850".to_owned(),
                control_number: ST02.to_owned(),
                version: None,
                segments,
            }],
        }],
        service_segments: Vec::new(),
        byte_offset: 0,
    };
    // Every value was checked against the separators before, so the renderer has nothing left to refuse; should
    // it refuse anyway, the order is not sent half-written.
    let bytes = edi::render_x12(&interchange).map_err(|e| {
        MappingError::invalid(
            format!("the interchange could not be written: {}", e.message),
            e.at,
        )
        .with_code("render")
    })?;
    if profile.line_break.is_empty() {
        return Ok(bytes);
    }
    // The terminator occurs only at the end of segments: no value holds it.
    let mut terminator = [0u8; 4];
    let terminator = profile
        .separators
        .segment
        .encode_utf8(&mut terminator)
        .as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    let mut rest = bytes.as_slice();
    while let Some(i) = rest.windows(terminator.len()).position(|w| w == terminator) {
        let end = i + terminator.len();
        out.extend_from_slice(&rest[..end]);
        out.extend_from_slice(profile.line_break.as_bytes());
        rest = &rest[end..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}
