//! What every parse of untrusted bytes must keep, whatever the bytes: one definition shared by the property
//! tests (`tests/properties.rs`, on stable in the normal test run) and the fuzz targets (`fuzz/fuzz_targets/`,
//! under cargo-fuzz), so both check the same thing. Each function panics when a property does not hold; a
//! panic inside the parser itself is the first thing either harness reports.
//!
//! - A refusal is located: its `byte_offset` is set and lies within the document, and it says something.
//! - A document `parse` accepts renders back (X12) to a document that parses to the same tree, unless an ISA
//!   field is wider than its column or holds a separator (or ISA13 is not digits), which `render_x12` refuses
//!   naming the field.
//! - The acknowledgment reader (`ack::received`), which reads what `parse` refuses, never panics on it; on a
//!   document `parse` accepts it sees no problem, and on one it refuses it has already seen the refusal
//!   (recording `parse`'s error changes no verdict), as its module documentation promises; an HL refusal,
//!   which the reader leaves to `parse`, rejects a set once recorded.

use millwright_edi::ack::{self, Outcomes};
use millwright_edi::{Interchange, Standard, parse, render_x12};

/// The X12 target: the bytes as given when they start an interchange with `ISA`, else after `ISA`, so every
/// input reaches the X12 envelope reader rather than the "not EDI" refusal.
pub fn x12(data: &[u8]) {
    if data.starts_with(b"ISA") {
        document(data);
    } else {
        document(&[b"ISA", data].concat());
    }
}

/// The EDIFACT target: the bytes as given when they start with `UNA` or `UNB`, else after `UNB`.
pub fn edifact(data: &[u8]) {
    if data.starts_with(b"UNA") || data.starts_with(b"UNB") {
        document(data);
    } else {
        document(&[b"UNB", data].concat());
    }
}

/// Every property of one document, X12, EDIFACT or neither.
pub fn document(data: &[u8]) {
    let parsed = parse(data);
    match &parsed {
        Ok(interchanges) => {
            for interchange in interchanges {
                if interchange.standard == Standard::X12 {
                    renders_back(interchange);
                }
            }
        }
        Err(error) => {
            let at = error
                .at
                .byte_offset
                .unwrap_or_else(|| panic!("the refusal `{error}` names no byte ({:?})", error.at));
            assert!(
                at <= data.len() as u64,
                "the refusal `{error}` names byte {at} of a {}-byte document",
                data.len()
            );
            assert!(!error.message.trim().is_empty(), "a refusal without a word");
        }
    }
    acknowledgment_reader(data, parsed.as_deref());
}

/// An accepted X12 interchange rendered by `render_x12` parses back to the same tree (offsets aside).
///
/// The one refusal allowed is the documented one, about the ISA: `parse` reads the ISA by its separators, takes
/// fields up to 40 characters (real files have a short ISA06 or a wrapped ISA10) and does not split them, while
/// the rendered ISA is fixed-width, its ISA13 digits, and X12 has no escape; so an ISA field wider than its
/// column or holding one of the interchange's separators, or an ISA13 that is not digits, cannot be written,
/// and `render_x12` refuses it naming the ISA field.
fn renders_back(interchange: &Interchange) {
    let i = interchange;
    let isa = [
        (&i.sender_qualifier, 2),
        (&i.sender_id, 15),
        (&i.receiver_qualifier, 2),
        (&i.receiver_id, 15),
        (&i.date, 6),
        (&i.time, 4),
        (&i.version, 5),
        (&i.control_number, 9),
    ];
    let s = &i.separators;
    let separators = [
        Some(s.element),
        Some(s.component),
        Some(s.segment),
        s.repetition,
    ];
    let unwritable = isa.iter().any(|(value, width)| {
        value.chars().count() > *width || value.chars().any(|c| separators.contains(&Some(c)))
    }) || i.control_number.is_empty()
        || !i.control_number.bytes().all(|b| b.is_ascii_digit());
    let rendered = match render_x12(interchange) {
        Ok(rendered) => rendered,
        Err(e) if unwritable && e.at.segment_id.as_deref() == Some("ISA") => return,
        Err(e) => panic!("an accepted interchange does not render: {e}"),
    };
    let again = parse(&rendered).unwrap_or_else(|e| {
        panic!(
            "the rendered interchange does not parse: {e}\n{}",
            String::from_utf8_lossy(&rendered)
        )
    });
    assert_eq!(
        comparable(again),
        comparable(vec![interchange.clone()]),
        "rendering and parsing again changed the tree"
    );
}

/// The reader never panics; it agrees with `parse` on what is wrong with an X12 document.
fn acknowledgment_reader(data: &[u8], parsed: Result<&[Interchange], &millwright_edi::EdiError>) {
    let received = ack::received(data);
    let outcomes = Outcomes::new(&received);
    match parsed {
        Ok(interchanges) if interchanges.iter().all(|i| i.standard == Standard::X12) => {
            assert!(
                received.problems.is_empty(),
                "parse accepts the document, the reader saw {:?}",
                received.problems
            );
            assert!(
                outcomes.all_accepted(),
                "parse accepts, the reader rejects: {outcomes:?}"
            );
        }
        Ok(_) => {}
        // The reader does not check HL hierarchies: that refusal reaches the acknowledgment through
        // `finding`, and rejects the set it names.
        Err(error) if error.at.segment_id.as_deref() == Some("HL") && error.code.is_none() => {
            let mut with_parse = outcomes.clone();
            with_parse.record(received.finding(error));
            assert!(
                !with_parse.all_accepted(),
                "the HL refusal `{error}` rejects nothing: {with_parse:?}"
            );
        }
        Err(error) => {
            let mut with_parse = outcomes.clone();
            assert!(
                !with_parse.record(received.finding(error)),
                "the reader missed `{error}` ({:?} at {:?}); it saw {:?}",
                error.code,
                error.at,
                received.problems
            );
        }
    }
}

/// What rendering may change: byte offsets; ISA13, which is written zero-padded to its nine digits (`parse`
/// reads an ISA by its separators and keeps a short ISA13 as sent); and the byte count of BIN01 and BDS02,
/// which is written from the data as the rendered UTF-8 holds it (data read as Windows-1252 grows). Everything
/// else must survive.
fn comparable(mut interchanges: Vec<Interchange>) -> Vec<Interchange> {
    for i in &mut interchanges {
        i.byte_offset = 0;
        i.control_number = format!("{:0>9}", i.control_number);
        for s in &mut i.service_segments {
            s.byte_offset = 0;
        }
        for s in i
            .groups
            .iter_mut()
            .flat_map(|g| &mut g.transactions)
            .flat_map(|t| &mut t.segments)
        {
            s.byte_offset = 0;
            let count = match s.id.as_str() {
                "BIN" => 0,
                "BDS" => 1,
                _ => continue,
            };
            let data = s.value(count + 2).len().to_string();
            if let Some(element) = s.elements.get_mut(count) {
                *element = millwright_edi::Element::simple(data);
            }
        }
    }
    interchanges
}
