//! What the mapper refuses, and where it says the problem is: JSON that does not parse, another document
//! where a hold is expected, numbers where decimal strings belong, values that are not what the member means,
//! and units the tenant has not mapped. Every diagnostic carries a JSON path, a line and a byte offset.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{envelope_of, fixture, invalid, map, map_json, path};
use millwright_sdk::types::MappingError;

fn hold_fixture() -> String {
    std::fs::read_to_string(fixture("hold-l240610-r07.json")).expect("fixture")
}

#[test]
fn a_work_order_where_a_quality_hold_is_expected_is_refused_at_the_root() {
    let work_order = r#"{"ManufacturingOrder": "WO-240611-01", "Material": "BRK-ASSY-330", "OrderStatus": "REL"}"#;
    let d = invalid(map_json(work_order).expect_err("a work order"));
    assert_eq!(path(&d), "$");
    assert!(
        d.message.contains("`holdId`") && d.message.contains("ManufacturingOrder"),
        "{}",
        d.message
    );
    assert_eq!((d.at.line, d.at.byte_offset), (Some(1), Some(0)));

    let list = format!("[{}, {work_order}]", hold_fixture());
    let d = invalid(map_json(&list).expect_err("a work order in the list"));
    assert_eq!(path(&d), "$[1]");
}

#[test]
fn json_that_does_not_parse_is_refused_with_its_line_offset_and_path() {
    let text = hold_fixture().replace("\"lot\": \"L240610-R07\"", "\"lot\": \"L240610-R07");
    let d = invalid(map_json(&text).expect_err("an unterminated string"));
    assert!(d.message.contains("not valid JSON"), "{}", d.message);
    assert!(path(&d).starts_with("$.scope"), "{}", path(&d));
    assert!(d.at.line.is_some() && d.at.byte_offset.is_some());
}

#[test]
fn a_number_where_a_decimal_string_belongs_is_refused_at_its_path() {
    for number in ["116", "1e400", "116.0"] {
        let text = hold_fixture().replace("\"value\": \"116\"", &format!("\"value\": {number}"));
        let d = invalid(map_json(&text).expect_err(number));
        assert_eq!(path(&d), "$.quantity.value", "{number}");
        assert!(
            d.message.contains(&format!("JSON number {number}")),
            "{}",
            d.message
        );
        assert_eq!(d.at.line, Some(14));
        let offset = d.at.byte_offset.expect("offset") as usize;
        assert!(text[offset..].starts_with(number));
    }
    let text = hold_fixture().replace("\"value\": \"116\"", "\"value\": \"-116\"");
    let d = invalid(map_json(&text).expect_err("negative"));
    assert_eq!(path(&d), "$.quantity.value");
}

#[test]
fn unknown_dispositions_and_scope_types_name_the_choices() {
    let text = hold_fixture().replace(
        "\"disposition\": \"hold\"",
        "\"disposition\": \"return-to-supplier\"",
    );
    let d = invalid(map_json(&text).expect_err("unknown disposition"));
    assert_eq!(path(&d), "$.disposition");
    assert!(
        d.message.contains("use-as-is") && d.message.contains("rework"),
        "{}",
        d.message
    );

    let text = hold_fixture().replace("\"type\": \"lot\"", "\"type\": \"batch\"");
    let d = invalid(map_json(&text).expect_err("unknown scope"));
    assert_eq!(path(&d), "$.scope.type");
    assert!(d.message.contains("handling-unit"), "{}", d.message);

    let text = hold_fixture().replace("\"lot\": \"L240610-R07\"", "\"serial\": \"L240610-R07\"");
    let d = invalid(map_json(&text).expect_err("a lot scope without a lot"));
    assert_eq!(path(&d), "$.scope");
    assert!(d.message.contains("`lot`"), "{}", d.message);
}

#[test]
fn a_hold_needs_a_reason_and_a_decision_time() {
    let text = hold_fixture().replace(
        "\"code\": \"DIM-RUNOUT\",\n    \"text\": \"Lateral runout above 0.05 mm on 3 of 8 samples\"",
        "",
    );
    let d = invalid(map_json(&text).expect_err("an empty reason"));
    assert_eq!(path(&d), "$.reason");

    let text = hold_fixture().replace("\"2024-06-12T07:40:00-05:00\"", "\"12.06.2024 07:40\"");
    let d = invalid(map_json(&text).expect_err("not RFC 3339"));
    assert_eq!(path(&d), "$.decidedAt");

    let text = hold_fixture().replace("\"decidedAt\"", "\"decided\"");
    let d = invalid(map_json(&text).expect_err("no time"));
    assert_eq!(path(&d), "$");
    assert!(d.message.contains("`decidedAt`"), "{}", d.message);
}

#[test]
fn an_unknown_unit_is_an_unknown_reference_naming_the_code_and_the_table() {
    let text = hold_fixture().replace("\"unit\": \"EA\"", "\"unit\": \"TRAY\"");
    match map_json(&text).expect_err("unknown unit") {
        MappingError::UnknownReference(d) => {
            assert_eq!(path(&d), "$.quantity.unit");
            assert!(
                d.message.contains("`TRAY`") && d.message.contains("`units`"),
                "{}",
                d.message
            );
        }
        other => panic!("expected unknown-reference, got {other:?}"),
    }
    let events = common::qms_profile()
        .with_lookup("units", "TRAY", "PF")
        .map::<qms_quality_json::QualityHoldMapper>(envelope_of(text.into_bytes()))
        .expect("the table knows it");
    let hold = common::holds(events).remove(0);
    assert_eq!(hold.quantity.map(|q| q.unit).as_deref(), Some("PF"));
}

#[test]
fn truncated_and_garbled_fixtures_map_or_are_refused_with_a_location() {
    for name in ["hold-l240610-r07.json", "decisions.json"] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        common::garble::check_truncations_and_garbling(&bytes, name, |b| map(envelope_of(b)));
    }
}
