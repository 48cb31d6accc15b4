//! The B2MML fixtures (written for these tests from the V0600 and V0700 schemas) through the mapper, as a
//! production planner would read the result: which work order and operation, which item and lot, how much
//! in which unit, where and when; and key for key against the canonical JSON the host published for them.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use b2mml_production::ProductionPerformanceMapper;
use common::{canonical, envelope, fixture, map, split};
use millwright_sdk::InboundMapper;
use millwright_sdk::types::{IdScheme, Quantity};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_golden(fixture_name: &str, golden_name: &str) {
    let events = map(envelope(fixture_name)).expect("the fixture maps");
    let actual = canonical::events(&events);
    let expected = golden(golden_name);
    assert_eq!(
        actual,
        expected,
        "{fixture_name} differs from {golden_name}; mapped:\n{}",
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
}

#[test]
fn the_v0600_shift_report_is_the_golden_file_key_for_key() {
    assert_golden("wo-240611-01.xml", "wo-240611-01.expected.json");
}

#[test]
fn the_v0700_sync_transaction_is_the_golden_file_key_for_key() {
    assert_golden("sync-wo-240611-02.xml", "sync-wo-240611-02.expected.json");
}

#[test]
fn the_shift_report_consumes_coil_rotors_fasteners_and_grease_against_the_work_order() {
    let events = map(envelope("wo-240611-01.xml")).expect("maps");
    let (consumed, _) = split(&events);
    let summary: Vec<_> = consumed
        .iter()
        .map(|c| {
            (
                c.work_order.as_str(),
                c.operation.as_deref(),
                c.item.id(&IdScheme::Internal),
                c.lot.as_ref().and_then(|l| l.internal_lot.as_deref()),
                c.quantity.clone(),
                c.location.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "WO-240611-01",
                Some("0010-STAMP-PLATE"),
                Some("COIL-S355-2MM"),
                Some("RS-240603-4471"),
                Quantity::new("412.500", "KGM"),
                "P2-PRESS-2"
            ),
            (
                "WO-240611-01",
                Some("0020-ASSEMBLE"),
                Some("BRK-ROTOR-330"),
                Some("L240610-R07"),
                Quantity::new("120", "H87"),
                "P2-L3"
            ),
            (
                "WO-240611-01",
                Some("0020-ASSEMBLE"),
                Some("FST-M10-40"),
                Some("BW-240528-113"),
                Quantity::new("480", "H87"),
                "P2-L3"
            ),
            (
                "WO-240611-01",
                Some("0020-ASSEMBLE"),
                Some("LUB-GREASE-HT"),
                None,
                Quantity::new("0.850", "KGM"),
                "P2-L3"
            ),
        ]
    );
    // The item number is the plant's own, which is also the buyer's part number on ACME's orders.
    assert!(
        consumed
            .iter()
            .all(|c| c.item.id(&IdScheme::Internal) == c.item.id(&IdScheme::BuyerPart))
    );
}

#[test]
fn the_shift_report_completes_118_good_and_2_scrapped_assemblies_in_a_new_lot() {
    let events = map(envelope("wo-240611-01.xml")).expect("maps");
    let (_, produced) = split(&events);
    assert_eq!(produced.len(), 1);
    let done = produced[0];
    assert_eq!(done.work_order, "WO-240611-01");
    assert_eq!(done.item.id(&IdScheme::Internal), Some("BRK-ASSY-330"));
    assert_eq!(
        done.lot_created
            .as_ref()
            .and_then(|l| l.internal_lot.as_deref()),
        Some("L240611-A01")
    );
    assert_eq!(done.quantity_good, Quantity::new("118", "H87"));
    assert_eq!(done.quantity_scrap, Quantity::new("2", "H87"));
    assert_eq!(done.scrap_reason.as_deref(), Some("ROTOR-RUNOUT"));
    assert_eq!(done.location.value, "P2-FG1");
    // ActualEndTime 14:30 at UTC-5, kept with its offset.
    assert_eq!(done.completed_at.utc, "2024-06-11T19:30:00Z");
    assert_eq!(done.completed_at.original_offset_minutes, Some(-300));
    assert_eq!(done.header.site.as_deref(), Some("P2"));
}

#[test]
fn a_return_keeps_its_sign_and_a_scrap_reason_alone_makes_the_whole_output_scrap() {
    let events = map(envelope("sync-wo-240611-02.xml")).expect("maps");
    let (consumed, produced) = split(&events);
    assert_eq!(consumed.len(), 1, "the carrier is not a consumption");
    assert_eq!(consumed[0].quantity, Quantity::new("-4", "H87"));
    let lot = consumed[0].lot.as_ref().expect("a lot");
    assert_eq!(lot.internal_lot.as_deref(), Some("L240610-R07"));
    assert_eq!(lot.sub_lot.as_deref(), Some("L240610-R07-C03"));
    assert!(lot.serials.is_empty(), "one sub-lot is not a serial");
    assert_eq!(produced.len(), 1);
    assert_eq!(produced[0].work_order, "WO-240611-02");
    assert_eq!(produced[0].operation.as_deref(), Some("0020-ASSEMBLE"));
    assert_eq!(produced[0].quantity_good, Quantity::new("0", "H87"));
    assert_eq!(produced[0].quantity_scrap, Quantity::new("3", "H87"));
    assert_eq!(produced[0].scrap_reason.as_deref(), Some("CALIPER-CRACK"));
    assert_eq!(produced[0].completed_at.utc, "2024-06-11T21:00:00Z");
    assert_eq!(produced[0].completed_at.original_offset_minutes, Some(0));
}

#[test]
fn the_same_report_sent_twice_gives_the_same_idempotency_keys() {
    let once = map(envelope("wo-240611-01.xml")).expect("maps");
    let mut again_envelope = envelope("wo-240611-01.xml");
    again_envelope.message_id = "another-delivery".to_owned();
    let twice = map(again_envelope).expect("maps");
    let keys = |events: &[millwright_sdk::types::CanonicalEvent]| -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                millwright_sdk::types::CanonicalEvent::MaterialConsumption(c) => {
                    c.header.idempotency_key.clone()
                }
                millwright_sdk::types::CanonicalEvent::ProductionCompletion(p) => {
                    p.header.idempotency_key.clone()
                }
                _ => unreachable!(),
            })
            .collect()
    };
    assert_eq!(keys(&once), keys(&twice));
    assert_eq!(keys(&once)[0], "mes-p2:PP-P2-240611-0042:1");
}

#[test]
fn a_tenant_units_table_overrides_the_built_in_one() {
    let harness = common::mes_profile().with_lookup("units", "EA", "C62");
    let events = harness
        .map::<ProductionPerformanceMapper>(envelope("wo-240611-01.xml"))
        .expect("maps");
    let (consumed, produced) = split(&events);
    assert_eq!(consumed[1].quantity, Quantity::new("120", "C62"));
    assert_eq!(
        consumed[0].quantity,
        Quantity::new("412.500", "KGM"),
        "KG is not in the table"
    );
    assert_eq!(produced[0].quantity_good.unit, "C62");
}

#[test]
fn describe_names_the_plugin_and_b2mml_production_performance() {
    let info = ProductionPerformanceMapper::describe();
    assert_eq!(info.name, "b2mml-production");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.document_types, ["b2mml:ProductionPerformance"]);
}
