//! Property tests of the parser on untrusted bytes: a short run, in the normal test suite on stable, of what
//! the fuzz targets `x12` and `edifact` check at length (`scripts/fuzz`, docs/fuzzing.md). The properties are
//! in `checks/`, shared with the fuzz targets: a refusal names a byte within the document, an accepted X12
//! interchange renders back to the same tree, and the acknowledgment reader agrees with `parse`.
//!
//! Inputs are arbitrary bytes (behind an `ISA` or `UNB` so they reach the envelope readers), and real
//! documents of the public corpus (`../shared/edi-corpus`, read in place; `MILLWRIGHT_EDI_CORPUS` to read it
//! elsewhere) changed the ways damaged files arrive: cut short, bytes flipped or replaced, segments doubled or
//! dropped, bytes inserted, a separator swapped for another throughout. `corpus.rs` already walks every prefix
//! and one replaced byte of every file; these combine several changes at random places.
//!
//! Inputs that once broke a property are kept below as named regression tests.

mod checks;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;

/// Cases per property: enough to reach the envelope checks on every run, few enough for seconds on 2 cores.
const CASES: u32 = 384;

/// `CASES`, or `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        // A failure prints its shrunk input, which is kept as a named regression test in this file rather than
        // in a file proptest would write beside it.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("MILLWRIGHT_EDI_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/edi-corpus"),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "EDI corpus not found at {}: check out the shared corpus next to the repository, or set \
         MILLWRIGHT_EDI_CORPUS to its directory",
        dir.display()
    );
    dir
}

/// Every EDI document of the corpus (not its notes, manifests or expected JSON), sorted by path.
fn documents() -> &'static [Vec<u8>] {
    static DOCUMENTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let mut paths = Vec::new();
        let mut stack = vec![corpus_dir()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
            for entry in entries {
                let path = entry.expect("directory entry").path();
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if path.is_dir() {
                    stack.push(path);
                } else if !matches!(ext, "md" | "tsv" | "json") {
                    paths.push(path);
                }
            }
        }
        paths.sort();
        let documents: Vec<Vec<u8>> = paths
            .iter()
            .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display())))
            .collect();
        assert!(
            documents.len() > 100,
            "only {} corpus documents; the corpus looks incomplete",
            documents.len()
        );
        documents
    })
}

/// The byte that ends this document's segments: the one after ISA16 for X12, UNA's sixth for EDIFACT with a
/// UNA, `'` otherwise.
fn terminator(document: &[u8]) -> u8 {
    let start = document
        .iter()
        .position(|b| b.is_ascii_alphabetic())
        .unwrap_or(0);
    let header = document.get(start..).unwrap_or(&[]);
    if header.starts_with(b"ISA") {
        header.get(105).copied().unwrap_or(b'~')
    } else if header.starts_with(b"UNA") {
        header.get(8).copied().unwrap_or(b'\'')
    } else {
        b'\''
    }
}

/// The document's segments, each with its terminator (and the line break after it, if any).
fn segments(document: &[u8]) -> Vec<&[u8]> {
    let end = terminator(document);
    document
        .split_inclusive(|&b| b == end)
        .filter(|s| !s.is_empty())
        .collect()
}

/// One way a document arrives damaged.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut short at this point.
    Truncate(usize),
    /// One byte XORed with a mask.
    Flip(usize, u8),
    /// One byte replaced, by a separator, a control character or a letter.
    Replace(usize, u8),
    /// Bytes inserted.
    Insert(usize, Vec<u8>),
    /// A segment sent twice.
    DuplicateSegment(usize),
    /// A segment left out.
    DeleteSegment(usize),
    /// Two segments in the other order.
    SwapSegments(usize, usize),
    /// Every occurrence of one byte (a separator, usually) replaced by another, header and all.
    SwapSeparator { from: u8, to: u8 },
}

/// Bytes that mean something to one of the standards, and a few that mean trouble.
const INTERESTING: [u8; 18] = [
    b'~', b'*', b'>', b'^', b'|', b'\'', b'+', b':', b'?', b'.', b'\n', b'\r', 0x00, 0x1d, 0x7f,
    0xFF, b'0', b' ',
];

fn damage() -> impl Strategy<Value = Damage> {
    let interesting = prop::sample::select(INTERESTING.to_vec());
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Damage::Flip(i, m)),
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Damage::Replace(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Damage::Insert(i, b)),
        any::<usize>().prop_map(Damage::DuplicateSegment),
        any::<usize>().prop_map(Damage::DeleteSegment),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Damage::SwapSegments(a, b)),
        (interesting.clone(), interesting)
            .prop_map(|(from, to)| Damage::SwapSeparator { from, to }),
    ]
}

fn apply(document: &[u8], damage: &Damage) -> Vec<u8> {
    let mut out = document.to_vec();
    let len = out.len();
    match damage {
        Damage::Truncate(i) => out.truncate(pick(*i, len + 1)),
        Damage::Flip(i, mask) if len > 0 => out[pick(*i, len)] ^= mask,
        Damage::Replace(i, byte) if len > 0 => out[pick(*i, len)] = *byte,
        Damage::Insert(i, bytes) => {
            let at = pick(*i, len + 1);
            out.splice(at..at, bytes.iter().copied());
        }
        Damage::DuplicateSegment(i) => {
            let segments = segments(document);
            if !segments.is_empty() {
                let k = pick(*i, segments.len());
                out = segments[..=k].concat();
                out.extend(segments[k..].concat());
            }
        }
        Damage::DeleteSegment(i) => {
            let mut segments = segments(document);
            if !segments.is_empty() {
                segments.remove(pick(*i, segments.len()));
                out = segments.concat();
            }
        }
        Damage::SwapSegments(a, b) => {
            let mut segments = segments(document);
            if !segments.is_empty() {
                let (a, b) = (pick(*a, segments.len()), pick(*b, segments.len()));
                segments.swap(a, b);
                out = segments.concat();
            }
        }
        Damage::SwapSeparator { from, to } => {
            for b in &mut out {
                if b == from {
                    *b = *to;
                }
            }
        }
        Damage::Flip(..) | Damage::Replace(..) => {}
    }
    out
}

/// A corpus document with one to four kinds of damage.
fn damaged_document() -> impl Strategy<Value = Vec<u8>> {
    (any::<usize>(), prop::collection::vec(damage(), 1..=4)).prop_map(|(which, damages)| {
        let documents = documents();
        let mut document = documents[pick(which, documents.len())].clone();
        for d in &damages {
            document = apply(&document, d);
        }
        document
    })
}

/// The first `head` bytes of a corpus document (its ISA or UNA/UNB header, if long enough), then anything.
fn header_then_noise() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<usize>(),
        0usize..200,
        prop::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(|(which, head, noise)| {
            let documents = documents();
            let document = &documents[pick(which, documents.len())];
            let mut out = document[..head.min(document.len())].to_vec();
            out.extend(noise);
            out
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_after_isa_never_panic_and_every_refusal_is_located(
        data in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        checks::x12(&data);
    }

    #[test]
    fn arbitrary_bytes_after_unb_never_panic_and_every_refusal_is_located(
        data in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        checks::edifact(&data);
    }

    #[test]
    fn a_real_header_followed_by_noise_is_refused_at_a_byte_of_it(data in header_then_noise()) {
        checks::document(&data);
    }

    #[test]
    fn damaged_corpus_documents_keep_every_property(data in damaged_document()) {
        checks::document(&data);
    }
}

#[test]
fn the_damage_changes_what_it_says() {
    let document = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~GS*SH*S*R*20240101*1200*1*X*004010~ST*856*0001~BSN*00*SHIP1*20240101*1200~SE*3*0001~GE*1*1~IEA*1*000000001~";
    assert_eq!(terminator(document), b'~');
    assert_eq!(segments(document).len(), 7);
    let doubled = apply(document, &Damage::DuplicateSegment(3));
    assert_eq!(segments(&doubled).len(), 8);
    assert_eq!(segments(&doubled)[3], segments(&doubled)[4]);
    let dropped = apply(document, &Damage::DeleteSegment(3));
    assert_eq!(segments(&dropped).len(), 6);
    assert!(!dropped.windows(3).any(|w| w == b"BSN"));
    let swapped = apply(
        document,
        &Damage::SwapSeparator {
            from: b'*',
            to: b'|',
        },
    );
    assert!(!swapped.contains(&b'*') && swapped.contains(&b'|'));
    assert!(millwright_edi::parse(document).is_ok());
    assert!(millwright_edi::parse(&doubled).is_err());
}

/// Element `i` of `n` (n > 0), for a random `i`.
fn pick(i: usize, n: usize) -> usize {
    i % n
}

// --- Inputs the fuzzers turned up ---

/// BIN data read as Windows-1252 (the document is not UTF-8) is rendered as UTF-8, so its byte count grows:
/// `render_x12` writes BIN01 from the data it writes, and the tree it parses back differs in that count only.
#[test]
fn binary_data_read_as_windows_1252_renders_with_its_utf8_byte_count() {
    let document = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~GS*SH*S*R*20240101*1200*1*X*004010~ST*856*0001~BIN*2*A\x85~SE*3*0001~GE*1*1~IEA*1*000000001~";
    checks::document(document);
    let parsed = millwright_edi::parse(document).expect("parses");
    let bin = &parsed[0].groups[0].transactions[0].segments[0];
    assert_eq!((bin.value(1), bin.value(2)), ("2", "A\u{2026}"));
    let rendered = millwright_edi::render_x12(&parsed[0]).expect("renders");
    let text = String::from_utf8(rendered).expect("rendered as UTF-8");
    assert!(text.contains("BIN*4*A\u{2026}~"), "{text}");
}
