//! The QMS fixtures through the mapper, as a quality engineer or a planner would read the result: which hold,
//! what it covers, what was decided, how much, when and why; and key for key against the canonical JSON the
//! host published for them.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{canonical, envelope, fixture, holds, map};
use millwright_sdk::InboundMapper;
use millwright_sdk::types::{Disposition, HoldScope, IdScheme, Quantity};
use qms_quality_json::QualityHoldMapper;
use serde_json::Value;

fn assert_golden(input: &str, golden: &str) {
    let events = map(envelope(input)).expect("the fixture maps");
    let actual = canonical::events(&events);
    let text = std::fs::read_to_string(fixture(golden)).expect("golden file");
    let expected: Value = serde_json::from_str(&text).expect("golden is JSON");
    assert_eq!(
        actual,
        expected,
        "{input} differs from {golden}; mapped:\n{}",
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
}

#[test]
fn the_rotor_lot_hold_is_the_golden_file_key_for_key() {
    assert_golden("hold-l240610-r07.json", "hold-l240610-r07.expected.json");
}

#[test]
fn the_list_of_decisions_is_the_golden_file_key_for_key() {
    assert_golden("decisions.json", "decisions.expected.json");
}

#[test]
fn the_rotor_lot_is_held_with_its_quantity_reason_and_who_decided() {
    let [hold] = holds(map(envelope("hold-l240610-r07.json")).expect("maps"))
        .try_into()
        .expect("one hold");
    assert_eq!(hold.hold_id, "QH-240612-007");
    assert_eq!(hold.disposition, Disposition::Hold);
    let HoldScope::Lot(lot) = &hold.scope else {
        panic!("a lot hold, got {:?}", hold.scope)
    };
    assert_eq!(lot.lot, "L240610-R07");
    assert_eq!(lot.item.id(&IdScheme::Internal), Some("BRK-ROTOR-330"));
    assert_eq!(lot.item.id(&IdScheme::BuyerPart), Some("BRK-ROTOR-330"));
    assert_eq!(hold.quantity, Some(Quantity::new("116", "H87")));
    assert_eq!(
        hold.reason,
        "DIM-RUNOUT: Lateral runout above 0.05 mm on 3 of 8 samples"
    );
    assert_eq!(hold.decided_by.as_deref(), Some("J. Kowalski (jkowalski)"));
    assert_eq!(hold.at.utc, "2024-06-12T12:40:00Z");
    assert_eq!(hold.at.original_offset_minutes, Some(-300));
    assert_eq!(hold.header.site.as_deref(), Some("P2"));
}

#[test]
fn each_decision_keeps_its_scope_and_disposition() {
    let holds = holds(map(envelope("decisions.json")).expect("maps"));
    let summary: Vec<_> = holds
        .iter()
        .map(|h| {
            let scope = match &h.scope {
                HoldScope::Item(i) => format!("item {}", i.id(&IdScheme::Internal).unwrap_or("?")),
                HoldScope::Lot(l) => format!(
                    "lot {} of {}",
                    l.lot,
                    l.item.id(&IdScheme::Internal).unwrap_or("?")
                ),
                HoldScope::Serial(s) => format!(
                    "serial {} of {}",
                    s.serial,
                    s.item.id(&IdScheme::Internal).unwrap_or("?")
                ),
                HoldScope::Location(l) => format!("location {}", l.value),
                HoldScope::HandlingUnit(h) => format!("handling unit {h}"),
            };
            (h.hold_id.as_str(), scope, h.disposition, h.quantity.clone())
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "QH-240612-007",
                "lot L240610-R07 of BRK-ROTOR-330".to_owned(),
                Disposition::Release,
                Some(Quantity::new("110", "H87"))
            ),
            (
                "QH-240612-007",
                "lot L240610-R07 of BRK-ROTOR-330".to_owned(),
                Disposition::Scrap,
                Some(Quantity::new("6", "H87"))
            ),
            (
                "QH-240612-009",
                "serial A01-0117 of BRK-ASSY-330".to_owned(),
                Disposition::Rework,
                None
            ),
            (
                "QH-240612-010",
                "handling unit 340123450000000178".to_owned(),
                Disposition::Hold,
                None
            ),
            (
                "QH-240612-011",
                "location P2-D4".to_owned(),
                Disposition::Hold,
                None
            ),
            (
                "QH-240612-012",
                "item COIL-S355-2MM".to_owned(),
                Disposition::Hold,
                Some(Quantity::new("12.450", "TNE"))
            ),
        ]
    );
    // Two decisions on one hold at one instant are two facts: their idempotency keys differ.
    assert_ne!(
        holds[0].header.idempotency_key,
        holds[1].header.idempotency_key
    );
    // No site in the message and none in the profile.
    assert_eq!(holds[5].header.site, None);
    assert_eq!(holds[5].at.utc, "2024-06-12T11:30:00Z");
}

#[test]
fn the_profile_site_stands_in_when_a_decision_names_none() {
    let events = common::qms_profile()
        .with_config("site", "P2")
        .map::<QualityHoldMapper>(envelope("decisions.json"))
        .expect("maps");
    assert!(
        holds(events)
            .iter()
            .all(|h| h.header.site.as_deref() == Some("P2"))
    );
}

#[test]
fn describe_names_the_plugin_and_its_document() {
    let info = QualityHoldMapper::describe();
    assert_eq!(info.name, "qms-quality-json");
    assert_eq!(info.document_types, ["json:qms-quality-hold"]);
}
