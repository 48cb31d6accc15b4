//! What the mapper refuses, and where it says the problem is: JSON that does not parse, JSON of the wrong
//! shape (another document, a number where a decimal string belongs), values that are not what the member
//! means, and units the tenant has not mapped. Every diagnostic carries a JSON path, a line and a byte offset.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{envelope_of, fixture, invalid, map, map_json, path};
use millwright_sdk::types::{CanonicalEvent, MappingError, Purpose};

fn po_fixture() -> String {
    std::fs::read_to_string(fixture("po-4500019921.json")).expect("fixture")
}

#[test]
fn json_that_does_not_parse_is_refused_with_its_line_offset_and_path() {
    let text = po_fixture().replace(
        "\"OrderQuantity\": \"5000\",",
        "\"OrderQuantity\": \"5000\"",
    );
    let d = invalid(map_json(&text).expect_err("a missing comma"));
    assert!(d.message.contains("not valid JSON"), "{}", d.message);
    assert_eq!(path(&d), "$.to_PurchaseOrderItem[0]");
    assert_eq!(d.at.line, Some(22));
    let offset = d.at.byte_offset.expect("offset") as usize;
    assert!(
        text[offset..].starts_with("\"PurchaseOrderQuantityUnit\""),
        "{}",
        &text[offset..]
    );
}

#[test]
fn a_quality_hold_where_an_order_is_expected_is_refused_at_the_root() {
    let hold = r#"{"holdId": "QH-240612-007", "disposition": "hold"}"#;
    let d = invalid(map_json(hold).expect_err("not an order"));
    assert_eq!(path(&d), "$");
    assert!(
        d.message.contains("neither a purchase order"),
        "{}",
        d.message
    );
    assert_eq!((d.at.line, d.at.byte_offset), (Some(1), Some(0)));

    let d = invalid(map_json("\"4500019921\"").expect_err("a string"));
    assert!(d.message.contains("found a string"), "{}", d.message);

    let d = invalid(map_json(r#"[{"PurchaseOrder": "1"}, 7]"#).expect_err("a number in the list"));
    assert_eq!(
        path(&d),
        "$[0]",
        "the first problem: the first order has no ChangeType"
    );
    let d = invalid(map_json(r#"[7]"#).expect_err("a number in the list"));
    assert_eq!(path(&d), "$[0]");
    assert!(
        d.message.contains("expected an object, found a number"),
        "{}",
        d.message
    );
}

#[test]
fn a_number_where_a_decimal_string_belongs_is_refused_at_its_path() {
    for number in ["5000", "5000.5", "1e400", "-0"] {
        let text = po_fixture().replace(
            "\"OrderQuantity\": \"5000\"",
            &format!("\"OrderQuantity\": {number}"),
        );
        let d = invalid(map_json(&text).expect_err(number));
        assert_eq!(
            path(&d),
            "$.to_PurchaseOrderItem[0].OrderQuantity",
            "{number}"
        );
        assert!(
            d.message.contains(&format!("JSON number {number}")),
            "{}",
            d.message
        );
        assert_eq!(d.at.line, Some(21));
        let offset = d.at.byte_offset.expect("offset") as usize;
        assert!(text[offset..].starts_with(number), "{number}");
    }
    for bad in ["12,5", "1e3", "five", ""] {
        let text = po_fixture().replace(
            "\"NetPriceAmount\": \"0.084\"",
            &format!("\"NetPriceAmount\": \"{bad}\""),
        );
        let d = invalid(map_json(&text).expect_err(bad));
        assert_eq!(
            path(&d),
            "$.to_PurchaseOrderItem[0].NetPriceAmount",
            "{bad}"
        );
        assert!(d.message.contains("not a decimal"), "{}", d.message);
    }
    let text = po_fixture().replace(
        "\"OrderQuantity\": \"5000\"",
        "\"OrderQuantity\": \"-5000\"",
    );
    let d = invalid(map_json(&text).expect_err("negative"));
    assert!(d.message.contains("negative"), "{}", d.message);
}

#[test]
fn a_missing_or_unknown_change_type_is_refused_naming_the_choices() {
    let text = po_fixture().replace("\"ChangeType\": \"create\",\n", "");
    let d = invalid(map_json(&text).expect_err("no change type"));
    assert_eq!(path(&d), "$");
    assert!(d.message.contains("`ChangeType`"), "{}", d.message);

    let text = po_fixture().replace("\"ChangeType\": \"create\"", "\"ChangeType\": \"delete\"");
    let d = invalid(map_json(&text).expect_err("unknown change type"));
    assert_eq!(path(&d), "$.ChangeType");
    assert!(
        d.message.contains("\"create\", \"change\" or \"cancel\""),
        "{}",
        d.message
    );
}

#[test]
fn a_cancelled_order_may_have_no_items_but_a_new_one_must() {
    let cancel = r#"{"PurchaseOrder": "4500019921", "ChangeType": "cancel", "Supplier": "BW01", "to_PurchaseOrderItem": []}"#;
    let events = map_json(cancel).expect("a cancellation");
    let [CanonicalEvent::PurchaseOrder(po)] = events.as_slice() else {
        panic!("one order")
    };
    assert_eq!(po.purpose, Purpose::Cancel);
    let create = cancel.replace("cancel", "create");
    let d = invalid(map_json(&create).expect_err("no items"));
    assert_eq!(path(&d), "$.to_PurchaseOrderItem");
}

#[test]
fn dates_statuses_and_duplicate_members_are_checked_where_they_are() {
    let text = po_fixture().replace("\"2024-06-21\"", "\"21.06.2024\"");
    let d = invalid(map_json(&text).expect_err("a German date"));
    assert_eq!(
        path(&d),
        "$.to_PurchaseOrderItem[0].to_ScheduleLine[0].ScheduleLineDeliveryDate"
    );

    let text = po_fixture().replace("\"2024-06-03T09:14:22+02:00\"", "\"/Date(1717398862000)/\"");
    let d = invalid(map_json(&text).expect_err("an OData V2 date"));
    assert_eq!(path(&d), "$.LastChangeDateTime");

    let odata = std::fs::read_to_string(fixture("orders-odata.json")).expect("fixture");
    let text = odata.replace("\"OrderStatus\": \"PCNF\"", "\"OrderStatus\": \"STARTED\"");
    let d = invalid(map_json(&text).expect_err("an unknown status"));
    assert_eq!(path(&d), "$.d.results[2].OrderStatus");
    assert!(
        d.message.contains("REL") && d.message.contains("TECO"),
        "{}",
        d.message
    );

    let text = po_fixture().replace(
        "\"Supplier\": \"BW01\",",
        "\"Supplier\": \"BW01\", \"Supplier\": \"RS10\",",
    );
    let d = invalid(map_json(&text).expect_err("a duplicate"));
    assert_eq!(path(&d), "$.Supplier");
    assert!(d.message.contains("appears twice"), "{}", d.message);
}

#[test]
fn an_unknown_unit_is_an_unknown_reference_naming_the_code_and_the_table() {
    let text = po_fixture().replace(
        "\"PurchaseOrderQuantityUnit\": \"PC\"",
        "\"PurchaseOrderQuantityUnit\": \"BAG\"",
    );
    match map_json(&text).expect_err("unknown unit") {
        MappingError::UnknownReference(d) => {
            assert_eq!(
                path(&d),
                "$.to_PurchaseOrderItem[1].PurchaseOrderQuantityUnit"
            );
            assert!(
                d.message.contains("`BAG`") && d.message.contains("`units`"),
                "{}",
                d.message
            );
            assert_eq!(d.at.line, Some(38));
        }
        other => panic!("expected unknown-reference, got {other:?}"),
    }
}

#[test]
fn control_characters_and_bytes_that_are_not_utf8_are_refused() {
    let text = po_fixture().replace("Brightwire Fasteners GmbH", "Brightwire\\u0000Fasteners");
    let d = invalid(map_json(&text).expect_err("a NUL"));
    assert_eq!(path(&d), "$.SupplierName");
    let text = po_fixture().replace("Brightwire Fasteners GmbH", "Brightwire\\nFasteners   GmbH");
    let CanonicalEvent::PurchaseOrder(po) =
        &map_json(&text).expect("a line break is whitespace")[0]
    else {
        panic!()
    };
    assert_eq!(
        po.supplier.name.as_deref(),
        Some("Brightwire Fasteners GmbH")
    );

    let mut bytes = po_fixture().into_bytes();
    bytes[40] = 0xFE;
    let d = invalid(map(envelope_of(bytes)).expect_err("not UTF-8"));
    assert_eq!(d.at.byte_offset, Some(40));
}

#[test]
fn truncated_and_garbled_fixtures_map_or_are_refused_with_a_location() {
    for name in ["po-4500019921.json", "orders-odata.json"] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        common::garble::check_truncations_and_garbling(&bytes, name, |b| map(envelope_of(b)));
    }
}
