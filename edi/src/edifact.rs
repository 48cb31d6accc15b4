//! UN/EDIFACT interchanges: the optional UNA service string, UNB..UNZ, optional UNG..UNE groups and
//! UNH..UNT messages, with references and counts checked as a CONTRL-sending translator would.
//!
//! Without UNA the ISO 9735 defaults apply (`:` `+` `.` `?` space `'`). The repetition separator exists only
//! in syntax version 4 (UNB S001 0002 = `4`), so it is switched on after UNB is read. Messages outside a UNG
//! are collected in one group whose fields are empty, as WIT `edi.group` documents.

use crate::error::{EdiError, code};
use crate::model::{
    Element, Group, Interchange, Position, Segment, Separators, Standard, Transaction,
};
use crate::scan::{Delimiters, Scanner, SegmentList, Sep, control_character, skip_filler};
use crate::x12::{check_count, excerpt, same_control_number};

/// Parses one interchange starting at `start` (which holds `UNA` or `UNB`); returns it and where it ended.
///
/// `text` is `doc` as text when the whole document is valid UTF-8 (see `Scanner::with_text`).
pub(crate) fn parse_interchange(
    doc: &[u8],
    text: Option<&str>,
    start: usize,
) -> Result<(Interchange, usize), EdiError> {
    let (service, after_una) = read_una(doc, start)?;
    let unb_at = skip_filler(doc, after_una);
    if !doc
        .get(unb_at..)
        .is_some_and(|rest| rest.starts_with(b"UNB"))
    {
        return Err(EdiError::new(
            format!(
                "UNA at byte {start} is followed by `{}` instead of the UNB interchange header; the \
                 interchange is incomplete",
                excerpt(doc, unb_at)
            ),
            Position::at_byte(unb_at),
            None,
        ));
    }
    let mut delims = Delimiters {
        element: service.element,
        component: service.component,
        repetition: None,
        segment: service.segment,
        release: service.release,
    };
    let mut scanner = Scanner::new(doc, unb_at, delims, Standard::Edifact).with_text(text);
    let unb = scanner
        .next_segment()
        .map_err(|e| e.within(None, 1))?
        .ok_or_else(|| {
            EdiError::new(
                "the document ends before UNB",
                Position::at_byte(unb_at),
                None,
            )
        })?;
    let syntax = unb.elements.first().cloned().unwrap_or_default();
    if component(&syntax, 2) == "4" {
        delims.repetition = service.reserved.or(Some(Sep::ascii(b'*')));
        scanner.set_delimiters(delims);
    }
    let sender = unb.elements.get(1).cloned().unwrap_or_default();
    let recipient = unb.elements.get(2).cloned().unwrap_or_default();
    let when = unb.elements.get(3).cloned().unwrap_or_default();
    let mut interchange = Interchange {
        standard: Standard::Edifact,
        separators: Separators {
            element: service.element.ch,
            component: service.component.ch,
            repetition: delims.repetition.map(|r| r.ch),
            segment: service.segment.ch,
            release: service.release.map(|r| r.ch),
            decimal_mark: Some(service.decimal),
        },
        sender_qualifier: component(&sender, 2).to_owned(),
        sender_id: component(&sender, 1).to_owned(),
        receiver_qualifier: component(&recipient, 2).to_owned(),
        receiver_id: component(&recipient, 1).to_owned(),
        date: component(&when, 1).to_owned(),
        time: component(&when, 2).to_owned(),
        version: join_components(&syntax, 0),
        control_number: unb.value(5).to_owned(),
        acknowledgment_requested: unb.value(9) == "1",
        test: unb.value(11) == "1",
        groups: Vec::new(),
        service_segments: Vec::new(),
        byte_offset: start as u64,
    };

    let mut index: u32 = 1;
    let mut group: Option<(Group, Segment)> = None;
    let mut message: Option<(Transaction, Segment, u32)> = None;
    // The open message's segments, moved into its Transaction at UNT (see `SegmentList`).
    let mut message_segments = SegmentList::default();
    let mut uses_ung = false;
    let mut bare_messages = false;
    loop {
        let next_index = message
            .as_ref()
            .map_or(index.saturating_add(1), |m| m.2.saturating_add(1));
        let Some(mut segment) = scanner.next_segment().map_err(|e| {
            let control = message.as_ref().map(|m| m.0.control_number.as_str());
            e.within(control, next_index)
        })?
        else {
            return Err(ends_early(&interchange, &group, &message, doc.len()));
        };
        index = index.saturating_add(1);
        segment.index = index;
        // The tag, copied to the stack so `segment` can be moved in the arms (tags are 3 ASCII bytes).
        let mut tag = [0u8; 3];
        let id = match segment.id.as_bytes() {
            service @ [b'U', b'N', _] => {
                tag.copy_from_slice(service);
                std::str::from_utf8(&tag).unwrap_or("")
            }
            _ => "",
        };
        match id {
            "UNA" | "UNB" | "UNG" | "UNE" | "UNZ" | "UNH" if message.is_some() => {
                return Err(missing(&segment, "UNT", &message_name(&message)));
            }
            "UNA" | "UNB" | "UNG" | "UNZ" if group.is_some() => {
                return Err(missing(&segment, "UNE", &group_name(&group)));
            }
            "UNA" | "UNB" => {
                return Err(missing(
                    &segment,
                    "UNZ",
                    &format!(
                        "interchange {} (at byte {start})",
                        interchange.control_number
                    ),
                ));
            }
            "UNZ" => {
                let (counted, what) = if uses_ung {
                    (interchange.groups.len(), "functional groups")
                } else {
                    (
                        interchange
                            .groups
                            .iter()
                            .map(|g| g.transactions.len())
                            .sum(),
                        "messages",
                    )
                };
                check_reference(&segment, "UNZ02", "UNB 0020", &interchange.control_number)?;
                check_count(
                    &segment,
                    1,
                    "UNZ01",
                    counted,
                    || format!("{what} in interchange {}", interchange.control_number),
                    code::EDIFACT_COUNT,
                )?;
                return Ok((interchange, scanner.pos()));
            }
            "UNG" => {
                if bare_messages {
                    return Err(mixed(&segment));
                }
                uses_ung = true;
                group = Some((start_group(&segment), segment));
            }
            "UNE" => {
                let Some((g, header)) = group.take() else {
                    return Err(outside(&segment, "without a UNG group header"));
                };
                check_reference(&segment, "UNE02", "UNG 0048", &g.control_number)?;
                check_count(
                    &segment,
                    1,
                    "UNE01",
                    g.transactions.len(),
                    || {
                        format!(
                            "messages in group {} (UNG at byte {})",
                            g.control_number, header.byte_offset
                        )
                    },
                    code::EDIFACT_COUNT,
                )?;
                interchange.groups.push(g);
            }
            "UNH" => {
                if group.is_none() {
                    if uses_ung {
                        return Err(mixed(&segment));
                    }
                    bare_messages = true;
                }
                segment.index = 1;
                let header = segment.elements.get(1).cloned().unwrap_or_default();
                let version = join_components(&header, 1);
                let transaction = Transaction {
                    code: component(&header, 1).to_owned(),
                    control_number: segment.value(1).to_owned(),
                    version: Some(version).filter(|v| !v.is_empty()),
                    segments: Vec::new(),
                };
                message_segments = SegmentList::default();
                message = Some((transaction, segment, 1));
            }
            "UNT" => {
                let Some((mut transaction, header, count)) = message.take() else {
                    return Err(outside(&segment, "without a UNH message header"));
                };
                transaction.segments = std::mem::take(&mut message_segments).into_vec();
                segment.index = count.saturating_add(1);
                let cn = transaction.control_number.clone();
                check_reference(&segment, "UNT02", "UNH 0062", &cn)
                    .and_then(|()| {
                        check_count(
                            &segment,
                            1,
                            "UNT01",
                            segment.index as usize,
                            || format!(
                                "segments in message {} {cn} (UNH at byte {}), counting UNH and UNT",
                                transaction.code, header.byte_offset
                            ),
                            code::EDIFACT_COUNT,
                        )
                    })
                    .map_err(|e| e.within(Some(&cn), segment.index))?;
                match &mut group {
                    Some((g, _)) => g.transactions.push(transaction),
                    None => {
                        if interchange.groups.is_empty() {
                            interchange.groups.push(Group::default());
                        }
                        if let Some(g) = interchange.groups.last_mut() {
                            g.transactions.push(transaction);
                        }
                    }
                }
            }
            _ => {
                if let Some((_, _, count)) = &mut message {
                    *count = count.saturating_add(1);
                    segment.index = *count;
                    message_segments.push(segment);
                } else {
                    return Err(outside(&segment, "outside any message (UNH..UNT)"));
                }
            }
        }
    }
}

/// The UNA service characters, or the defaults.
struct ServiceString {
    component: Sep,
    element: Sep,
    decimal: char,
    release: Option<Sep>,
    reserved: Option<Sep>,
    segment: Sep,
}

fn read_una(doc: &[u8], start: usize) -> Result<(ServiceString, usize), EdiError> {
    if !doc
        .get(start..)
        .is_some_and(|rest| rest.starts_with(b"UNA"))
    {
        let service = ServiceString {
            component: Sep::ascii(b':'),
            element: Sep::ascii(b'+'),
            decimal: '.',
            release: Some(Sep::ascii(b'?')),
            reserved: None,
            segment: Sep::ascii(b'\''),
        };
        return Ok((service, start));
    }
    let mut pos = start + 3;
    let mut chars = [Sep::ascii(b' '); 6];
    for slot in &mut chars {
        let Some(sep) = Sep::decode_at(doc, pos) else {
            return Err(EdiError::new(
                format!(
                    "the document ends inside the UNA service string at byte {start}: UNA needs six \
                     characters; the file is truncated"
                ),
                una_position(start),
                None,
            ));
        };
        *slot = sep;
        pos += sep.len();
    }
    let [component, element, decimal, release, reserved, segment] = chars;
    // The other five are separators (or reserved for one), which may be control characters; the decimal mark
    // is not a separator but stands for `.` or `,` in numbers, so a control character (a line break included:
    // it is no filler here) is refused.
    if decimal.len() == 1 && decimal.ch.is_ascii_control() {
        let byte_at = start + 3 + component.len() + element.len();
        let mut at = una_position(start);
        at.byte_offset = Some(byte_at as u64);
        return Err(control_character(
            u8::try_from(decimal.ch).unwrap_or(0),
            byte_at,
            &format!(
                "as the decimal mark (UNA3) of the UNA at byte {start}, which must be `.` or `,`"
            ),
            at,
        ));
    }
    let blank = |s: Sep| s.ch == ' ';
    let release = Some(release).filter(|r| !blank(*r));
    let reserved = Some(reserved).filter(|r| !blank(*r));
    let mut used = vec![('1', component), ('2', element), ('6', segment)];
    used.extend(release.map(|r| ('4', r)));
    for (i, (n, sep)) in used.iter().enumerate() {
        let clash = used.iter().skip(i + 1).any(|(_, other)| other == sep);
        if sep.is_data_char() || sep.ch == '\r' || sep.ch == '\n' || clash {
            return Err(EdiError::new(
                format!(
                    "UNA at byte {start}: service character {n} `{}` {}; the UNA is corrupt",
                    sep.ch.escape_debug(),
                    if clash {
                        "is used for two purposes"
                    } else {
                        "occurs in data and cannot separate it"
                    }
                ),
                una_position(start),
                None,
            ));
        }
    }
    let service = ServiceString {
        component,
        element,
        decimal: decimal.ch,
        release,
        reserved,
        segment,
    };
    Ok((service, pos))
}

fn una_position(start: usize) -> Position {
    let mut at = Position::at_byte(start);
    at.segment_id = Some("UNA".to_owned());
    at
}

fn start_group(ung: &Segment) -> Group {
    let part = |n: usize, c: usize| {
        n.checked_sub(1)
            .and_then(|i| ung.elements.get(i))
            .map_or("", |e| component(e, c))
            .to_owned()
    };
    Group {
        functional_id: part(1, 1),
        sender: part(2, 1),
        receiver: part(3, 1),
        date: part(4, 1),
        time: part(4, 2),
        control_number: part(5, 1),
        version: ung
            .elements
            .get(6)
            .map_or_else(String::new, |e| join_components(e, 0)),
        transactions: Vec::new(),
    }
}

/// Component `n` (1-based) of an element's first occurrence, or `""`.
fn component(element: &Element, n: usize) -> &str {
    n.checked_sub(1)
        .and_then(|i| element.components.get(i))
        .map_or("", String::as_str)
}

/// The components from `skip` on, joined with `:` (the canonical EDIFACT form, whatever the document used),
/// without trailing empty ones: `D:96A:UN`.
fn join_components(element: &Element, skip: usize) -> String {
    let parts: Vec<&str> = element
        .components
        .iter()
        .skip(skip)
        .map(String::as_str)
        .collect();
    let end = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    parts.get(..end).unwrap_or(&[]).join(":")
}

fn check_reference(
    trailer: &Segment,
    name: &str,
    header: &str,
    expected: &str,
) -> Result<(), EdiError> {
    if same_control_number(trailer.value(2), expected) {
        return Ok(());
    }
    Err(EdiError::new(
        format!(
            "{name} `{}` does not match {header} `{expected}`: the trailer belongs to another envelope or the \
             file was edited; ask the sender to correct and resend it",
            trailer.value(2)
        ),
        Position::of_segment(trailer).element(2),
        Some(code::EDIFACT_REFERENCES),
    ))
}

fn message_name(message: &Option<(Transaction, Segment, u32)>) -> String {
    message.as_ref().map_or_else(String::new, |(t, h, _)| {
        format!(
            "message {} {} (UNH at byte {})",
            t.code, t.control_number, h.byte_offset
        )
    })
}

fn group_name(group: &Option<(Group, Segment)>) -> String {
    group.as_ref().map_or_else(String::new, |(g, h)| {
        format!("group {} (UNG at byte {})", g.control_number, h.byte_offset)
    })
}

fn missing(found: &Segment, trailer: &str, what: &str) -> EdiError {
    EdiError::new(
        format!(
            "{what} has no {trailer}: {} at byte {} comes first; the trailer is missing or the file was cut and \
             joined, ask the sender to resend it",
            found.id, found.byte_offset
        ),
        Position::of_segment(found),
        None,
    )
}

fn outside(segment: &Segment, why: &str) -> EdiError {
    EdiError::new(
        format!(
            "segment {} at byte {} is {why}; the envelope is broken, ask the sender to resend it",
            segment.id, segment.byte_offset
        ),
        Position::of_segment(segment),
        None,
    )
}

fn mixed(segment: &Segment) -> EdiError {
    EdiError::new(
        format!(
            "{} at byte {}: the interchange mixes messages inside UNG groups with messages outside them, which \
             ISO 9735 forbids; ask the sender to use one or the other",
            segment.id, segment.byte_offset
        ),
        Position::of_segment(segment),
        None,
    )
}

fn ends_early(
    interchange: &Interchange,
    group: &Option<(Group, Segment)>,
    message: &Option<(Transaction, Segment, u32)>,
    len: usize,
) -> EdiError {
    let mut missing = Vec::new();
    if message.is_some() {
        missing.push(format!("{} has no UNT", message_name(message)));
    }
    if group.is_some() {
        missing.push(format!("{} has no UNE", group_name(group)));
    }
    missing.push(format!(
        "interchange {} (at byte {}) has no UNZ",
        interchange.control_number, interchange.byte_offset
    ));
    EdiError::new(
        format!(
            "the document ends at byte {len} but {}: the file is truncated; ask the sender to resend it",
            missing.join(", ")
        ),
        Position::at_byte(len)
            .in_transaction(message.as_ref().map(|m| m.0.control_number.as_str())),
        None,
    )
}
