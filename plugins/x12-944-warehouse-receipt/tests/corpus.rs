//! The mapping against the public corpus (`../shared/edi-corpus`, or `MILLWRIGHT_EDI_CORPUS`, read in place).
//!
//! The corpus holds no 944 (which is why `riverside-944.x12` was written here from the standard): the test
//! counts them, so it will notice one being added. What the corpus does hold is every other X12 and EDIFACT
//! document a misrouted partner could send to a 944 route, and each must be refused with a located error that
//! names what came: never a panic, never an event.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::path::{Path, PathBuf};

use common::{corpus_dir, riverside};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{CanonicalEvent, MappingError};
use x12_944_warehouse_receipt::GoodsReceiptMapper;

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

/// Whether a file is an X12 interchange holding a 944: `ST<sep>944<sep>` with the separator ISA declares.
fn is_x12_944(bytes: &[u8]) -> bool {
    let start = start(bytes);
    let Some(&sep) = start.strip_prefix(b"ISA").and_then(|rest| rest.first()) else {
        return false;
    };
    let needle = [b'S', b'T', sep, b'9', b'4', b'4', sep];
    start.windows(needle.len()).any(|w| w == needle)
}

/// Whether a file starts like an interchange (ISA, UNA or UNB): what a partner would send to the route.
fn is_edi(bytes: &[u8]) -> bool {
    let start = start(bytes);
    ["ISA", "UNA", "UNB"]
        .iter()
        .any(|tag| start.starts_with(tag.as_bytes()))
}

fn map(path: &Path) -> Result<Vec<CanonicalEvent>, MappingError> {
    let envelope = envelope_from_file(path).expect("a corpus file is readable");
    let harness = riverside();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        harness.map::<GoodsReceiptMapper>(envelope)
    }))
    .unwrap_or_else(|_| panic!("{}: the mapping panicked", path.display()))
}

#[test]
fn the_corpus_has_no_944_so_the_fixture_is_written_from_the_standard() {
    let all = files(&corpus_dir());
    let found: Vec<_> = all
        .iter()
        .filter(|path| std::fs::read(path).is_ok_and(|bytes| is_x12_944(&bytes)))
        .collect();
    assert!(
        all.len() > 100,
        "only {} files under {}",
        all.len(),
        corpus_dir().display()
    );
    assert_eq!(
        found.len(),
        0,
        "a 944 joined the corpus: {found:?}; map it in a test here"
    );
}

#[test]
fn every_other_corpus_interchange_on_the_944_route_is_refused_naming_what_came() {
    let root = corpus_dir();
    let mut refused_by_type = 0;
    let mut refused_by_parser = 0;
    for path in files(&root) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if !is_edi(&bytes) {
            continue;
        }
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        match map(&path) {
            Ok(events) => assert!(
                events.is_empty(),
                "{name}: a non-944 mapped to {} events",
                events.len()
            ),
            Err(MappingError::InvalidDocument(d))
                if d.code.as_deref() == Some("wrong-transaction") =>
            {
                assert!(
                    d.message.contains("expected an X12 944"),
                    "{name}: {}",
                    d.message
                );
                assert_eq!(d.at.segment_index, Some(1), "{name}: at the ST or UNH");
                assert!(
                    d.at.transaction.is_some(),
                    "{name}: the transaction is named"
                );
                refused_by_type += 1;
            }
            Err(MappingError::InvalidDocument(d)) => {
                assert!(
                    d.at.segment_index.is_some() || d.at.byte_offset.is_some(),
                    "{name}: the parser's error is not located: {d:?}"
                );
                refused_by_parser += 1;
            }
            Err(other) => panic!("{name}: expected invalid-document, got {other:?}"),
        }
    }
    // Dozens of the corpus's files parse and are of other types; some are broken on purpose.
    assert!(
        refused_by_type >= 40,
        "only {refused_by_type} files refused by their type"
    );
    assert!(
        refused_by_parser >= 5,
        "only {refused_by_parser} files refused by the parser"
    );
}
