//! Bad input made from good: every truncation of a fixture and pseudo-random garblings of it (a fixed seed, so
//! a failure replays). Shared with qms-quality-json's tests (by `#[path]`).

use millwright_sdk::types::{CanonicalEvent, MappingError};

use super::canonical;

/// Every truncation and pseudo-random garbling of `bytes` maps, or is refused with a located diagnostic; any
/// output is canonical (no control characters). `map` is the mapper under test.
pub fn check_truncations_and_garbling(
    bytes: &[u8],
    name: &str,
    map: impl Fn(Vec<u8>) -> Result<Vec<CanonicalEvent>, MappingError>,
) {
    for cut in 0..bytes.len() {
        check(&map, bytes[..cut].to_vec(), &format!("{name} cut at {cut}"));
    }
    let mut seed: u64 = 0x2406_1102;
    let mut next = move |bound: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % bound.max(1)
    };
    let garbage: &[&[u8]] = &[
        b"{", b"}", b"[", b"]", b"\"", b",", b":", b"\\", b"\xff", b"\x01", b"1e400", b"-",
        b"null", b"0", b"\\u0000",
    ];
    for round in 0..2000 {
        let mut garbled = bytes.to_vec();
        for _ in 0..=next(3) {
            let at = next(garbled.len());
            match next(3) {
                0 => {
                    let g = garbage[next(garbage.len())];
                    garbled.splice(at..(at + 1).min(garbled.len()), g.iter().copied());
                }
                1 => {
                    let len = next(12).min(garbled.len() - at);
                    garbled.drain(at..at + len);
                }
                _ => {
                    let len = next(40).min(garbled.len() - at);
                    let copy = garbled[at..at + len].to_vec();
                    garbled.splice(at..at, copy);
                }
            }
        }
        check(&map, garbled, &format!("{name} round {round}"));
    }
}

fn check(
    map: &impl Fn(Vec<u8>) -> Result<Vec<CanonicalEvent>, MappingError>,
    bytes: Vec<u8>,
    what: &str,
) {
    let len = bytes.len() as u64;
    match map(bytes) {
        Ok(events) => {
            let json = canonical::events(&events).to_string();
            assert!(
                !json.contains("\\u00") && !json.contains('\u{7f}'),
                "{what}: a control character in the output: {json}"
            );
        }
        Err(MappingError::InvalidDocument(d) | MappingError::UnknownReference(d)) => {
            let offset =
                d.at.byte_offset
                    .unwrap_or_else(|| panic!("{what}: no byte offset: {}", d.message));
            assert!(offset <= len, "{what}: offset {offset} beyond the end");
            assert!(d.at.line.is_some(), "{what}: no line: {}", d.message);
            assert!(
                d.at.json_path
                    .as_deref()
                    .is_some_and(|p| p.starts_with('$')),
                "{what}: no JSON path: {}",
                d.message
            );
        }
        Err(other) => panic!("{what}: unexpected {other:?}"),
    }
}
