//! The mapping on every DESADV in the public corpus (`../shared/edi-corpus`, or `MILLWRIGHT_EDI_CORPUS`, read in
//! place): each file maps or is refused with a located error, never a panic, and the files whose content is
//! known are checked the way a receiving clerk would read them. Every other interchange of the corpus is sent to
//! the route too, as a misrouted partner would, and must be refused naming what it is.
//!
//! The corpus's DESADVs are all D.96A; none is D.01B, which is why `rhein-stahl-desadv-d01b.edi` was written
//! here from the standard.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::path::{Path, PathBuf};

use common::{all_items, corpus_dir, notices, qty, rhein_stahl};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{CanonicalEvent, Diagnostic, IdScheme, MappingError, Purpose};

use edifact_desadv_ship_notice::DespatchAdviceMapper;

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

/// The bytes after a byte-order mark and leading whitespace.
fn start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    &bytes[bytes.iter().take_while(|b| b.is_ascii_whitespace()).count()..]
}

fn is_edifact(bytes: &[u8]) -> bool {
    let start = start(bytes);
    start.starts_with(b"UNA") || start.starts_with(b"UNB")
}

/// Whether a file is an EDIFACT interchange with a DESADV message in it.
fn is_desadv(bytes: &[u8]) -> bool {
    is_edifact(bytes) && bytes.windows(6).any(|w| w == b"DESADV")
}

fn map(path: &Path) -> Result<Vec<CanonicalEvent>, MappingError> {
    let envelope = envelope_from_file(path).expect("a corpus file is readable");
    let harness = rhein_stahl();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        harness.map::<DespatchAdviceMapper>(envelope)
    }))
    .unwrap_or_else(|_| panic!("{}: the mapping panicked", path.display()))
}

fn name(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn outcomes() -> Vec<(String, Result<Vec<CanonicalEvent>, MappingError>)> {
    let root = corpus_dir();
    files(&root)
        .into_iter()
        .filter(|path| std::fs::read(path).is_ok_and(|bytes| is_desadv(&bytes)))
        .map(|path| (name(&root, &path), map(&path)))
        .collect()
}

fn refused(all: &[(String, Result<Vec<CanonicalEvent>, MappingError>)], file: &str) -> Diagnostic {
    match all.iter().find(|(n, _)| n == file).map(|(_, o)| o) {
        Some(Err(MappingError::InvalidDocument(d))) => d.clone(),
        other => panic!("{file}: expected invalid-document, got {other:?}"),
    }
}

#[test]
fn every_corpus_desadv_maps_or_is_refused_with_a_located_error() {
    let all = outcomes();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "bots-plugins/edifact/desadv1.edi",
            "bots-plugins/edifact/desadv2.edi",
            "bots-plugins/edifact/dutchic_desadv1.edi",
            "php-edifact/D96ADESADV.edi",
            "php-edifact/example_utf8.edi",
        ],
        "the DESADVs of the corpus under {}",
        corpus_dir().display()
    );
    for (name, outcome) in &all {
        match outcome {
            Ok(events) => assert!(!notices(events.clone()).is_empty(), "{name}"),
            Err(MappingError::InvalidDocument(d) | MappingError::UnknownReference(d)) => {
                assert!(
                    d.at.segment_index.is_some() && d.at.transaction.is_some(),
                    "{name}: {d:?}"
                );
                assert!(d.code.is_some(), "{name}: {d:?}");
            }
            Err(other) => panic!("{name}: a corpus file is never transient: {other:?}"),
        }
    }
}

#[test]
fn the_php_despatch_advices_are_refused_for_a_message_function_that_is_a_date() {
    let all = outcomes();
    for file in ["php-edifact/D96ADESADV.edi", "php-edifact/example_utf8.edi"] {
        let d = refused(&all, file);
        assert_eq!(d.code.as_deref(), Some("unknown-purpose"), "{file}");
        assert!(d.message.contains("`700101`"), "{file}: {}", d.message);
        assert_eq!(
            (
                d.at.transaction.as_deref(),
                d.at.segment_index,
                d.at.element
            ),
            (Some("142"), Some(2), Some(3)),
            "{file}: BGM+351+Y02197250+700101"
        );
    }
}

#[test]
fn the_bots_despatch_advices_are_refused_for_a_package_that_is_its_own_parent() {
    let all = outcomes();
    for (file, transaction, index) in [
        ("bots-plugins/edifact/desadv1.edi", "7", 10),
        ("bots-plugins/edifact/desadv2.edi", "11", 14),
    ] {
        let d = refused(&all, file);
        assert_eq!(d.code.as_deref(), Some("unknown-parent"), "{file}");
        assert_eq!(
            (
                d.at.transaction.as_deref(),
                d.at.segment_index,
                d.at.segment_id.as_deref(),
                d.at.element
            ),
            (Some(transaction), Some(index), Some("CPS"), Some(2)),
            "{file}: CPS+123+123"
        );
    }
}

#[test]
fn dutchic_maps_eight_despatch_advices_with_quantities_at_the_senders_scale() {
    let all = outcomes();
    let events = match all
        .iter()
        .find(|(n, _)| n == "bots-plugins/edifact/dutchic_desadv1.edi")
    {
        Some((_, Ok(events))) => events.clone(),
        other => panic!("dutchic_desadv1.edi: {other:?}"),
    };
    let notices = notices(events);
    let ids: Vec<_> = notices.iter().map(|n| n.shipment_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "VERZENDVB8",
            "VERZENDVB7",
            "VERZENDVB6",
            "VERZENDVB5",
            "VERZENDVB4",
            "VERZENDVB3",
            "VERZENDVB2",
            "VERZENDVB1"
        ]
    );
    let first = &notices[0];
    assert_eq!(
        (first.purpose, first.header.id.as_str()),
        (Purpose::Original, "edifact:8712345678910:1:1")
    );
    // DTM+17:199811011200:203 in the profile's zone (CET), and no despatch date: the event time is DTM 137.
    assert_eq!(
        first.expected_at.as_ref().map(|t| t.utc.as_str()),
        Some("1998-11-01T11:00:00Z")
    );
    assert_eq!(first.header.event_time.utc, "2013-01-22T23:00:00Z");
    assert_eq!(
        first.ship_from.as_ref().map(|p| p.ids[0].value.as_str()),
        Some("8712300000018"),
        "NAD+SF, not NAD+SU"
    );
    assert_eq!(
        first.ship_to.as_ref().map(|p| p.ids[0].value.as_str()),
        Some("8712345002015")
    );
    assert_eq!(first.orders.len(), 1);
    assert_eq!(
        first.orders[0].order.as_ref().map(|o| o.order_id.as_str()),
        Some("124")
    );
    let items = all_items(first);
    assert_eq!(items.len(), 12);
    assert_eq!(qty(items[0]), ("1.000", "H87"));
    assert_eq!(qty(items[11]), ("121212121212.121", "H87"));
    assert_eq!(items[11].item.id(&IdScheme::Gtin), Some("8712345003920"));
    assert_eq!(
        first
            .references
            .iter()
            .map(|r| (r.qualifier.as_str(), r.value.as_str()))
            .collect::<Vec<_>>(),
        [("ZZZ", "EANNL1")]
    );
}

#[test]
fn every_other_corpus_interchange_on_the_desadv_route_is_refused_naming_what_came() {
    let root = corpus_dir();
    let (mut edifact, mut x12, mut by_parser) = (0, 0, 0);
    for path in files(&root) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let x12_file = start(&bytes).starts_with(b"ISA");
        if is_desadv(&bytes) || !(x12_file || is_edifact(&bytes)) {
            continue;
        }
        let name = name(&root, &path);
        match map(&path) {
            Ok(events) => assert!(
                events.is_empty(),
                "{name}: mapped to {} events",
                events.len()
            ),
            Err(MappingError::InvalidDocument(d))
                if d.code.as_deref() == Some("wrong-transaction") =>
            {
                assert!(
                    d.message.contains("expected an EDIFACT DESADV"),
                    "{name}: {}",
                    d.message
                );
                assert_eq!(d.at.segment_index, Some(1), "{name}: at the UNH or ST");
                if x12_file {
                    x12 += 1;
                } else {
                    edifact += 1;
                }
            }
            Err(MappingError::InvalidDocument(d)) => {
                assert!(
                    d.at.segment_index.is_some() || d.at.byte_offset.is_some(),
                    "{name}: the parser's error is not located: {d:?}"
                );
                by_parser += 1;
            }
            Err(other) => panic!("{name}: expected invalid-document, got {other:?}"),
        }
    }
    assert!(
        edifact >= 5,
        "only {edifact} EDIFACT files refused by their message type"
    );
    assert!(
        x12 >= 40,
        "only {x12} X12 files refused by their transaction type"
    );
    assert!(
        by_parser >= 5,
        "only {by_parser} files refused by the parser"
    );
}
