//! The mapping on every X12 855 in the public corpus (`../shared/edi-corpus`, or `MILLWRIGHT_EDI_CORPUS`, read
//! in place): each file maps or is refused with a located error, never a panic, and the files whose content is
//! known are checked the way a buyer would read them.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::path::{Path, PathBuf};

use common::{acknowledgments, brightwire, corpus_dir, summary};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{
    AcknowledgmentStatus, CanonicalEvent, IdScheme, LineStatus, MappingError,
};
use x12_855_order_ack::OrderAcknowledgmentMapper;

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; the corpus lives in ../shared/edi-corpus",
                    path.display()
                )
            });
            pending.extend(entries.map(|entry| entry.expect("a directory entry").path()));
        } else {
            all.push(path);
        }
    }
    all.sort();
    all
}

/// Whether a file is an X12 interchange holding an 855: it starts with ISA (after a byte-order mark or
/// whitespace) and has a segment `ST<sep>855<sep>`, with the element separator ISA declares.
fn is_x12_855(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = &start[start.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let Some(&sep) = start.strip_prefix(b"ISA").and_then(|rest| rest.first()) else {
        return false;
    };
    let needle = [b'S', b'T', sep, b'8', b'5', b'5', sep];
    start
        .windows(needle.len())
        .enumerate()
        .any(|(i, w)| w == needle && (i == 0 || !start[i - 1].is_ascii_alphanumeric()))
}

/// Maps a file, turning a panic into a test failure that names the file.
fn map(path: &Path) -> Result<Vec<CanonicalEvent>, MappingError> {
    let envelope = envelope_from_file(path).expect("a corpus file is readable");
    let harness = brightwire();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        harness.map::<OrderAcknowledgmentMapper>(envelope)
    }))
    .unwrap_or_else(|_| panic!("{}: the mapping panicked", path.display()))
}

fn outcomes() -> Vec<(String, Result<Vec<CanonicalEvent>, MappingError>)> {
    let root = corpus_dir();
    files(&root)
        .into_iter()
        .filter(|path| std::fs::read(path).is_ok_and(|bytes| is_x12_855(&bytes)))
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let outcome = map(&path);
            (name, outcome)
        })
        .collect()
}

fn outcome<'a>(
    all: &'a [(String, Result<Vec<CanonicalEvent>, MappingError>)],
    name: &str,
) -> &'a Result<Vec<CanonicalEvent>, MappingError> {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is not among the corpus 855s"))
        .1
}

#[test]
fn every_corpus_855_maps_or_is_refused_with_a_located_error() {
    let all = outcomes();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "bots-plugins/x12/855-004010UCS-01.x12",
            "node-x12/855.edi",
            "oopfactory_x12parser/ORD___855__855SSimmons.txt",
            "oopfactory_x12parser/ORD___855__Example1_Adobe.txt",
            "staedi/x12__issue590__multi-tx-transaction-type.edi",
            "stedi-bootstrap/855_inbound.edi",
        ],
        "the 855s of the corpus under {}",
        corpus_dir().display()
    );
    for (name, outcome) in &all {
        match outcome {
            Ok(events) => {
                assert!(!events.is_empty(), "{name}: no events");
                acknowledgments(events.clone());
            }
            Err(MappingError::InvalidDocument(d) | MappingError::UnknownReference(d)) => {
                assert!(
                    d.at.segment_index.is_some() || d.at.byte_offset.is_some(),
                    "{name}: the error is not located: {d:?}"
                );
                assert!(!d.message.is_empty(), "{name}");
            }
            Err(other) => panic!("{name}: a corpus file is never transient: {other:?}"),
        }
    }
}

fn acks(name: &str) -> Vec<millwright_sdk::types::OrderAcknowledgment> {
    let all = outcomes();
    match outcome(&all, name) {
        Ok(events) => acknowledgments(events.clone()),
        Err(e) => panic!("{name}: {e:?}"),
    }
}

#[test]
fn node_x12_rejected_books_keep_the_header_accepted_as_bak02_says() {
    let all = acks("node-x12/855.edi");
    let ack = &all[0];
    assert_eq!(
        (ack.order_id.as_str(), ack.status),
        ("POTEST1112", AcknowledgmentStatus::Accepted)
    );
    // BAK09 20201015 in the profile's zone.
    assert_eq!(ack.header.event_time.utc, "2020-10-15T05:00:00Z");
    let lines: Vec<_> = ack
        .lines
        .iter()
        .map(|l| {
            (
                l.line_number.as_str(),
                l.quantity.value.as_str(),
                l.quantity.unit.as_str(),
                l.status,
            )
        })
        .collect();
    use LineStatus::*;
    assert_eq!(
        lines,
        [
            ("1", "3", "C62", Accepted),
            ("2", "0", "C62", Rejected),
            ("3", "0", "C62", Rejected),
            ("4", "2", "C62", Accepted)
        ]
    );
    assert_eq!(ack.lines[0].item.id(&IdScheme::Gtin), Some("9780446360265"));
    assert_eq!(
        ack.lines[0].item.description.as_deref(),
        Some("DIC WEBSTERS NEW WORLD")
    );
}

#[test]
fn simmons_answers_two_orders_and_promises_each_the_delivery_its_header_names() {
    let all = acks("oopfactory_x12parser/ORD___855__855SSimmons.txt");
    assert_eq!(all.len(), 2, "two ST..SE in one group");
    let orders: Vec<_> = all.iter().map(|a| a.order_id.as_str()).collect();
    assert_eq!(orders, ["7542", "99035"]);
    use LineStatus::*;
    assert_eq!(
        summary(&all[0]),
        [
            ("100", None, "1", "H87", Accepted, Some("2011-10-07")),
            ("200", None, "1", "H87", Accepted, Some("2011-10-07"))
        ]
    );
    assert_eq!(
        summary(&all[1]),
        [("100", None, "1", "H87", Accepted, Some("2011-10-06"))]
    );
    assert_eq!(all[1].header.id, "x12:121792154:000076417:76417:0002");
}

#[test]
fn adobe_acknowledges_with_detail_and_no_change_so_its_line_without_ack_is_accepted_as_ordered() {
    let all = acks("oopfactory_x12parser/ORD___855__Example1_Adobe.txt");
    let ack = &all[0];
    assert_eq!(
        (ack.order_id.as_str(), ack.status),
        ("0132710645", AcknowledgmentStatus::Accepted)
    );
    assert_eq!(
        summary(ack),
        [(
            "000010",
            Some("T05249"),
            "1",
            "H87",
            LineStatus::Accepted,
            None
        )]
    );
    assert_eq!(
        ack.lines[0].item.id(&IdScheme::ManufacturerPart),
        Some("00065008880AD01A00")
    );
    assert_eq!(
        ack.lines[0].item.description.as_deref(),
        Some("APRO,9.0,WIN,AOO,UE,1PK,N/A")
    );
}

#[test]
fn bots_ucs_lines_without_po101_are_numbered_by_position_and_promised_the_header_delivery_date() {
    let all = acks("bots-plugins/x12/855-004010UCS-01.x12");
    assert_eq!(all.len(), 6, "six ST..SE in one group");
    let first = &all[0];
    assert_eq!(
        (first.order_id.as_str(), first.status),
        ("194207", AcknowledgmentStatus::Accepted),
        "BAK02 AP"
    );
    assert_eq!(first.lines.len(), 26);
    let numbers: Vec<_> = first
        .lines
        .iter()
        .take(3)
        .map(|l| l.line_number.as_str())
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    // DTM*067 (current schedule delivery) comes before DTM*068 in the header: the first promise wins.
    assert_eq!(first.lines[0].promised_date.as_deref(), Some("2003-05-12"));
    assert_eq!(
        (
            first.lines[0].quantity.value.as_str(),
            first.lines[0].quantity.unit.as_str()
        ),
        ("102", "CS")
    );
    assert_eq!(
        first.lines[0].item.id(&IdScheme::Other("UA".into())),
        Some("001119432383")
    );
}

#[test]
fn staedi_acknowledgments_without_lines_map_to_their_status_alone() {
    let all = acks("staedi/x12__issue590__multi-tx-transaction-type.edi");
    let got: Vec<_> = all
        .iter()
        .map(|a| (a.order_id.as_str(), a.status, a.lines.len()))
        .collect();
    assert_eq!(
        got,
        [
            ("ORDER1", AcknowledgmentStatus::AcceptedWithChanges, 0),
            ("ORDER2", AcknowledgmentStatus::AcceptedWithChanges, 0)
        ]
    );
}

#[test]
fn stedi_dates_the_event_by_bak09_and_keeps_line_ids_that_are_not_numbers() {
    let all = acks("stedi-bootstrap/855_inbound.edi");
    let ack = &all[0];
    assert_eq!(
        ack.header.event_time.utc, "2022-09-13T05:00:00Z",
        "BAK09, not BAK04 (20220914)"
    );
    let lines: Vec<_> = ack
        .lines
        .iter()
        .map(|l| (l.line_number.as_str(), l.quantity.value.as_str()))
        .collect();
    assert_eq!(lines, [("item-1", "8"), ("item-2", "4")]);
    assert_eq!(ack.lines[1].item.description.as_deref(), Some("Detonator"));
}
