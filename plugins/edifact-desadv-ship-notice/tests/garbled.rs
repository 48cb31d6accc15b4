//! Bad input made from both golden fixtures in the test: cut at every 7th byte, one byte overwritten at every
//! 5th, separators swapped or lost, each segment dropped (with and without the UNT count put right). Every
//! variant must map to clean canonical events or be refused with a located error: never a panic, never a
//! transient error, never a control character in a published string.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{canonical_json, fixture, rhein_stahl};
use edifact_desadv_ship_notice::DespatchAdviceMapper;
use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError};
use serde_json::Value;

/// The golden fixtures, each with its bytes.
fn originals() -> Vec<(&'static str, Vec<u8>)> {
    ["rhein-stahl-desadv-d96a.edi", "rhein-stahl-desadv-d01b.edi"]
        .into_iter()
        .map(|name| {
            (
                name,
                std::fs::read(fixture(name)).expect("the fixture is here"),
            )
        })
        .collect()
}

/// Whether a string anywhere in the JSON holds a C0 control character or DEL, which the host refuses to publish.
fn has_control(value: &Value) -> bool {
    match value {
        Value::String(s) => s.chars().any(|c| c < ' ' || c == '\u{7f}'),
        Value::Array(items) => items.iter().any(has_control),
        Value::Object(fields) => fields.values().any(has_control),
        _ => false,
    }
}

/// Maps one variant and checks the outcome; returns whether it mapped.
fn check(what: &str, doc: Vec<u8>) -> bool {
    let harness = rhein_stahl();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        harness.map::<DespatchAdviceMapper>(Envelope::for_bytes("rhein-stahl-desadv", doc))
    }))
    .unwrap_or_else(|_| panic!("{what}: the mapping panicked"));
    match result {
        Ok(events) => {
            for event in &events {
                assert!(
                    matches!(event, CanonicalEvent::ShipNotice(_)),
                    "{what}: a {} event",
                    event.kind()
                );
                assert!(
                    !has_control(&canonical_json(event)),
                    "{what}: a control character in {event:?}"
                );
            }
            true
        }
        Err(MappingError::InvalidDocument(d) | MappingError::UnknownReference(d)) => {
            assert!(!d.message.is_empty(), "{what}: an empty message");
            assert!(
                d.at.segment_index.is_some() || d.at.byte_offset.is_some(),
                "{what}: the error says neither segment nor byte: {d:?}"
            );
            false
        }
        Err(e) => panic!("{what}: bad input is never transient: {e:?}"),
    }
}

#[test]
fn each_fixture_cut_anywhere_maps_or_is_refused_with_a_location() {
    for (name, doc) in originals() {
        let mut mapped = 0;
        for cut in (0..doc.len()).step_by(7) {
            mapped += usize::from(check(
                &format!("{name}: cut at byte {cut}"),
                doc[..cut].to_vec(),
            ));
        }
        // A cut document lacks its trailers: none of them may pass for a whole despatch advice.
        assert_eq!(mapped, 0, "a truncated interchange was mapped");
        assert!(check(name, doc), "the fixture itself must map");
    }
}

#[test]
fn each_fixture_with_a_byte_overwritten_maps_or_is_refused_with_a_location() {
    for (name, doc) in originals() {
        for at in (0..doc.len()).step_by(5) {
            for replacement in [b'+', b':', b'\'', b'?', b'X', b'9', b' ', 0x01] {
                let mut bad = doc.clone();
                bad[at] = replacement;
                check(&format!("{name}: byte {at} set to {replacement:#04x}"), bad);
            }
        }
    }
}

/// The document with two bytes swapped from byte `from` on, except where the release character `?` makes one
/// of them data.
fn swapped(doc: &[u8], a: u8, b: u8, from: usize) -> Vec<u8> {
    doc.iter()
        .enumerate()
        .map(|(i, &byte)| match byte {
            _ if i < from || (i > 0 && doc[i - 1] == b'?') => byte,
            x if x == a => b,
            x if x == b => a,
            x => x,
        })
        .collect()
}

fn events(doc: Vec<u8>) -> Vec<Value> {
    rhein_stahl()
        .map::<DespatchAdviceMapper>(Envelope::for_bytes("rhein-stahl-desadv", doc))
        .expect("maps")
        .iter()
        .map(canonical_json)
        .collect()
}

#[test]
fn separators_swapped_in_the_una_too_are_new_separators_and_the_events_stay_the_same() {
    for (name, doc) in originals() {
        for (a, b) in [(b'+', b':'), (b'+', b'\''), (b':', b'\'')] {
            assert_eq!(
                events(swapped(&doc, a, b, 0)),
                events(doc.clone()),
                "{name}: `{}` and `{}` swapped throughout",
                a as char,
                b as char
            );
        }
    }
}

#[test]
fn separators_swapped_or_lost_after_the_una_are_refused_with_a_location() {
    for (name, doc) in originals() {
        // The UNA is 9 bytes and declares the separators; everything after it must use them.
        let body = 9;
        let without = |drop: &[u8]| -> Vec<u8> {
            doc.iter()
                .enumerate()
                .filter(|&(i, b)| i < body || !drop.contains(b))
                .map(|(_, &b)| b)
                .collect()
        };
        for (what, bad) in [
            (
                "element and segment separators swapped after the UNA",
                swapped(&doc, b'+', b'\'', body),
            ),
            (
                "element and component separators swapped after the UNA",
                swapped(&doc, b'+', b':', body),
            ),
            ("segment terminators dropped after the UNA", without(b"'")),
            (
                "line breaks and terminators dropped after the UNA",
                without(b"'\n"),
            ),
            ("element separators dropped after the UNA", without(b"+")),
        ] {
            let what = format!("{name}: {what}");
            assert!(
                !check(&what, bad),
                "{what}: mapped as if nothing were wrong"
            );
        }
    }
}

#[test]
fn each_fixture_without_any_one_segment_maps_or_is_refused_with_a_location() {
    for (name, doc) in originals() {
        let text = String::from_utf8(doc.clone()).expect("the fixture is ASCII");
        let segments: Vec<&str> = text.split_terminator("'\n").collect();
        let unh = segments
            .iter()
            .position(|s| s.starts_with("UNH+"))
            .expect("a UNH");
        let unt = segments
            .iter()
            .position(|s| s.starts_with("UNT+"))
            .expect("a UNT");
        for drop in 0..segments.len() {
            let kept: Vec<&str> = segments
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != drop)
                .map(|(_, s)| *s)
                .collect();
            // As sent: the counts no longer match, so the envelope is refused.
            let raw = kept.iter().map(|s| format!("{s}'\n")).collect::<String>();
            if segments[drop].starts_with("UNA") {
                // Without UNA the ISO 9735 defaults apply, and they are the ones this UNA declares.
                assert_eq!(
                    events(raw.into_bytes()),
                    events(doc.clone()),
                    "without the UNA"
                );
                continue;
            }
            let mapped = check(&format!("{name}: segment {drop} dropped"), raw.into_bytes());
            assert!(
                !mapped,
                "segment {drop} ({}) dropped and still mapped",
                segments[drop]
            );
            // With UNT's count put right, the mapping itself sees the gap.
            if drop > unh && drop < unt {
                let fixed = kept
                    .iter()
                    .map(|s| match s.strip_prefix("UNT+") {
                        Some(rest) => format!(
                            "UNT+{}+{}'\n",
                            unt - unh,
                            rest.split('+').nth(1).unwrap_or("")
                        ),
                        None => format!("{s}'\n"),
                    })
                    .collect::<String>();
                check(
                    &format!("{name}: segment {drop} dropped, UNT count fixed"),
                    fixed.into_bytes(),
                );
            }
        }
    }
}
