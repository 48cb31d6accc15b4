//! What cannot be sent, and what is refused instead of a broken interchange: every value that would break the
//! 850 (a separator, a control character, a character outside ASCII, a value too long for its element), an
//! order the supplier could not act on, master data that is missing or malformed, a route profile that cannot be
//! used. Each error is located (the JSON path of the canonical field, and a stable code); mutated fixtures never
//! make the renderer panic.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{
    acme, brightwire_order, canonical, document, fixture, invalid, lines, located, parse, refused,
    render, transaction, unknown,
};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    CanonicalEvent, Identifier, MappingError, PartyRole, Price, Quantity, Reference,
};
use serde_json::Value;

#[test]
fn separator_characters_in_a_part_number_are_refused_at_the_part_number() {
    for bad in ["BW-HB*1040", "BW-HB1040~", "BW>HB1040"] {
        let mut po = brightwire_order();
        po.lines[0].item.ids[1].value = bad.to_owned();
        let d = invalid(refused(&acme(), po));
        assert_eq!(
            located(&d),
            (
                "$['purchase-order'].lines[0].item.ids[1].value",
                "separator-in-value"
            ),
            "{bad}: {}",
            d.message
        );
        assert!(d.message.contains("PO1"), "{}", d.message);
    }
}

#[test]
fn a_separator_is_only_a_separator_when_the_profile_chooses_it() {
    let mut po = brightwire_order();
    po.lines[0].item.ids[1].value = "BW-HB*1040".to_owned();
    let pipes = acme()
        .with_config("element-separator", "|")
        .with_config("sub-element-separator", "^")
        .with_config("segment-terminator", "!");
    let document = document(&pipes, po);
    let text = String::from_utf8(document.payload.clone()).expect("ASCII");
    assert!(
        text.contains("PO1|1|5000|EA|0.182|PE|BP|FST-M10-40|VP|BW-HB*1040!\n"),
        "{text}"
    );
    assert!(text.starts_with("ISA|00|"), "{text}");
    let interchange = parse(&document.payload);
    assert_eq!(interchange.separators.element, '|');
    assert_eq!(interchange.separators.component, '^');
    assert_eq!(interchange.separators.segment, '!');

    let mut po = brightwire_order();
    po.lines[2].item.description = Some("Hex nut M10 | class 8".to_owned());
    let d = invalid(refused(&pipes, po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].lines[2].item.description",
            "separator-in-value"
        )
    );
}

#[test]
fn a_control_character_is_refused_wherever_it_is() {
    let mut po = brightwire_order();
    po.lines[3].item.description = Some("Hex bolt\u{7}M12".to_owned());
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].lines[3].item.description",
            "control-character"
        )
    );
    let mut po = brightwire_order();
    po.buyer.name = Some("ACME\r\nBrake Systems".to_owned());
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        ("$['purchase-order'].buyer.name", "control-character")
    );
}

#[test]
fn characters_outside_ascii_are_refused() {
    let mut po = brightwire_order();
    po.supplier.address.as_mut().expect("an address").lines[0] = "Drahtstraße 4".to_owned();
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].supplier.address.lines[0]",
            "character-set"
        )
    );
}

#[test]
fn values_too_long_for_their_element_are_refused() {
    let mut po = brightwire_order();
    po.order_id = "4500013001-REV-0002-ZZZZ".to_owned();
    let d = invalid(refused(&acme(), po));
    assert_eq!(located(&d), ("$['purchase-order']['order-id']", "too-long"));
    assert!(
        d.message.contains("BEG03") && d.message.contains("22"),
        "{}",
        d.message
    );

    let mut po = brightwire_order();
    po.buyer.name =
        Some("ACME Brake Systems, Plant 2, Receiving Dock 4, Attention: Inbound".to_owned());
    let d = invalid(refused(&acme(), po));
    assert_eq!(located(&d), ("$['purchase-order'].buyer.name", "too-long"));

    let mut po = brightwire_order();
    po.lines[5].quantity.value = "1234567890123456".to_owned();
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        ("$['purchase-order'].lines[5].quantity.value", "too-long")
    );

    let mut po = brightwire_order();
    po.buyer.address.as_mut().expect("an address").region = Some("Illinois".to_owned());
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        ("$['purchase-order'].buyer.address.region", "invalid-code")
    );
}

#[test]
fn a_long_description_is_written_in_several_pids() {
    let mut po = brightwire_order();
    let text = "Hex bolt M10x40 8.8 zinc flake coated, DIN 933, packed in cartons of 500 pieces, labelled with the \
                buyer part number";
    po.lines[0].item.description = Some(text.to_owned());
    let tx_doc = document(&acme(), po);
    let interchange = parse(&tx_doc.payload);
    let pids: Vec<String> = transaction(&interchange)
        .all("PID")
        .take(2)
        .map(|p| p.el(5).to_owned())
        .collect();
    assert!(pids.iter().all(|p| p.len() <= 80), "{pids:?}");
    assert_eq!(pids.join(" "), text);
}

#[test]
fn a_unit_in_no_table_is_an_unknown_reference_naming_the_code_and_the_table() {
    let mut po = brightwire_order();
    po.lines[2].quantity.unit = "XPL".to_owned();
    let d = unknown(refused(&acme(), po));
    assert_eq!(
        located(&d),
        ("$['purchase-order'].lines[2].quantity.unit", "unknown-unit")
    );
    assert!(
        d.message.contains("`XPL`") && d.message.contains("`x12-units-out`"),
        "{}",
        d.message
    );
    // Loaded into the tenant's table, the same order goes out.
    let mut po = brightwire_order();
    po.lines[2].quantity.unit = "XPL".to_owned();
    let document = document(&acme().with_lookup("x12-units-out", "XPL", "PL"), po);
    let interchange = parse(&document.payload);
    let units: Vec<String> = transaction(&interchange)
        .all("PO1")
        .map(|p| p.el(3).to_owned())
        .collect();
    assert_eq!(units, ["EA", "EA", "PL", "EA", "LB", "EA"]);
}

#[test]
fn the_tenants_unit_table_overrides_the_built_in_one_and_must_hold_x12_codes() {
    let harness = acme().with_lookup("x12-units-out", "H87", "PC");
    let document = document(&harness, brightwire_order());
    let interchange = parse(&document.payload);
    assert_eq!(
        transaction(&interchange).find("PO1").map(|p| p.el(3)),
        Some("PC")
    );
    let harness = acme().with_lookup("x12-units-out", "H87", "each");
    let d = unknown(refused(&harness, brightwire_order()));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].lines[0].quantity.unit",
            "invalid-table-value"
        )
    );
}

#[test]
fn a_supplier_without_its_erp_number_is_refused() {
    let mut po = brightwire_order();
    po.supplier.ids = vec![Identifier::gln("4012345000009")];
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].supplier.ids",
            "missing-supplier-number"
        )
    );
}

#[test]
fn a_supplier_in_the_table_with_a_malformed_x12_id_is_parked_until_the_row_is_fixed() {
    for row in [
        "BRIGHTWIRE",
        "ZZ/",
        "Z/BRIGHTWIRE",
        "ZZ/BRIGHTWIRE-FASTENERS-GMBH",
        "ZZ/BRIGHT*WIRE",
    ] {
        let harness = Harness::new()
            .with_config("interchange-sender", "ZZ/ACMEMFG")
            .with_lookup("x12-partners", "BW01", row);
        let d = unknown(refused(&harness, brightwire_order()));
        assert_eq!(
            located(&d),
            (
                "$['purchase-order'].supplier.ids[0].value",
                "invalid-partner-id"
            ),
            "{row}"
        );
        assert!(
            d.message.contains("x12-partners") && d.message.contains("BW01"),
            "{}",
            d.message
        );
    }
}

#[test]
fn an_order_without_lines_is_refused() {
    let mut po = brightwire_order();
    po.lines.clear();
    let d = invalid(refused(&acme(), po));
    assert_eq!(located(&d), ("$['purchase-order'].lines", "no-lines"));
}

#[test]
fn negative_and_non_numeric_quantities_and_prices_are_refused() {
    for (value, code) in [
        ("-8000", "negative-quantity"),
        ("8,000", "not-a-decimal"),
        ("1e3", "not-a-decimal"),
        ("", "not-a-decimal"),
        ("eight", "not-a-decimal"),
    ] {
        let mut po = brightwire_order();
        po.lines[1].quantity = Quantity::new(value, "H87");
        let d = invalid(refused(&acme(), po));
        assert_eq!(
            located(&d),
            ("$['purchase-order'].lines[1].quantity.value", code),
            "{value:?}"
        );
    }
    let mut po = brightwire_order();
    po.lines[1].price = Some(Price {
        amount: "-0.121".to_owned(),
        per_unit: None,
    });
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].lines[1].price.amount",
            "negative-price"
        )
    );
}

#[test]
fn dates_must_be_days_of_the_calendar() {
    let mut po = brightwire_order();
    po.lines[4].requested_date = Some("2024-06-31".to_owned());
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].lines[4]['requested-date']",
            "invalid-date"
        )
    );
    let mut po = brightwire_order();
    po.order_date = Some("10.06.2024".to_owned());
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        ("$['purchase-order']['order-date']", "invalid-date")
    );
}

#[test]
fn without_an_order_date_the_event_day_where_it_was_sent_is_the_order_date() {
    let mut po = brightwire_order();
    po.order_date = None;
    // 23:30 UTC on the 10th, sent from Berlin (+02:00): the 11th.
    po.header.event_time.utc = "2024-06-10T23:30:00Z".to_owned();
    let document = document(&acme(), po);
    let interchange = parse(&document.payload);
    assert_eq!(
        transaction(&interchange).find("BEG").map(|b| b.el(5)),
        Some("20240611")
    );
}

#[test]
fn an_item_the_supplier_could_not_identify_is_refused() {
    let mut po = brightwire_order();
    po.lines[0].item.ids = vec![Identifier::sscc("003456789012345675")];
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        ("$['purchase-order'].lines[0].item.ids", "no-item-id")
    );
    let mut po = brightwire_order();
    po.lines[0].item.ids.push(Identifier::gtin("40063813339"));
    let d = invalid(refused(&acme(), po));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].lines[0].item.ids[2].value",
            "invalid-gtin"
        )
    );
}

#[test]
fn references_take_their_x12_qualifier_and_the_release_number_goes_to_beg04() {
    let mut po = brightwire_order();
    po.references.push(Reference::new("RE", "0007"));
    po.revision = Some("2".to_owned());
    let harness = acme().with_lookup("x12-reference-qualifiers", "purchasing-group", "PG");
    let document = document(&harness, po);
    let interchange = parse(&document.payload);
    let tx = transaction(&interchange);
    assert_eq!(tx.find("BEG").map(|b| b.el(4)), Some("0007"));
    let refs: Vec<String> = lines(tx)
        .into_iter()
        .filter(|l| l.starts_with("REF"))
        .collect();
    assert_eq!(
        refs,
        [
            "REF*CT*BW-FA-2024-01*framework agreement 2024",
            "REF*PG*F01",
            "REF*PP*2"
        ]
    );
}

#[test]
fn purposes_and_kinds_choose_beg01_and_beg02() {
    use millwright_sdk::types::{OrderKind, Purpose};
    for (purpose, kind, beg01, beg02) in [
        (Purpose::Original, OrderKind::Standard, "00", "NE"),
        (Purpose::Replace, OrderKind::Release, "05", "RL"),
        (Purpose::Cancel, OrderKind::Blanket, "01", "BK"),
        (Purpose::Change, OrderKind::Standard, "04", "NE"),
    ] {
        let mut po = brightwire_order();
        po.purpose = purpose;
        po.kind = kind;
        let document = document(&acme().with_config("standard-order-type", "NE"), po);
        let interchange = parse(&document.payload);
        let beg = transaction(&interchange)
            .find("BEG")
            .cloned()
            .expect("a BEG");
        assert_eq!(
            (beg.el(1), beg.el(2)),
            (beg01, beg02),
            "{purpose:?} {kind:?}"
        );
    }
}

#[test]
fn ship_tos_that_differ_by_line_go_into_each_po1_loop() {
    let mut po = brightwire_order();
    po.lines[1].ship_to = Some(Identifier::internal("P2-D4"));
    po.buyer.roles.retain(|r| *r != PartyRole::BillTo);
    let document = document(&acme(), po);
    let interchange = parse(&document.payload);
    let segments = lines(transaction(&interchange));
    let n1: Vec<&String> = segments.iter().filter(|s| s.starts_with("N1")).collect();
    assert_eq!(
        n1[..4],
        [
            "N1*BY*ACME Brake Systems*UL*5412345000013",
            "N1*SU*Brightwire Fasteners*92*BW01",
            "N1*ST**UL*5412345000020",
            "N1*ST**92*P2-D4"
        ]
    );
    // Each ST follows its line's DTM.
    let second = segments
        .iter()
        .position(|s| s.starts_with("PO1*2*"))
        .expect("line 2");
    assert_eq!(segments[second + 3], "N1*ST**92*P2-D4");
}

#[test]
fn a_route_profile_that_cannot_be_used_parks_the_order() {
    let cases: [(&str, Harness); 5] = [
        (
            "interchange-sender",
            Harness::new().with_lookup("x12-partners", "BW01", "ZZ/BRIGHTWIRE"),
        ),
        (
            "interchange-sender",
            acme().with_config("interchange-sender", "ACMEMFG"),
        ),
        (
            "usage-indicator",
            acme().with_config("usage-indicator", "X"),
        ),
        (
            "element-separator",
            acme().with_config("element-separator", "~"),
        ),
        ("timezone", acme().with_config("timezone", "Mars/Olympus")),
    ];
    for (key, harness) in cases {
        let d = unknown(refused(&harness, brightwire_order()));
        assert_eq!(d.code.as_deref(), Some("profile"), "{key}: {}", d.message);
        assert!(
            d.message.contains(&format!("`{key}`")),
            "{key}: {}",
            d.message
        );
    }
}

#[test]
fn a_tenant_without_a_partner_table_parks_the_order() {
    let harness = Harness::new().with_config("interchange-sender", "ZZ/ACMEMFG");
    let d = unknown(refused(&harness, brightwire_order()));
    assert_eq!(
        located(&d),
        (
            "$['purchase-order'].supplier.ids[0].value",
            "no-partner-table"
        )
    );
}

/// Every string of every fixture order replaced by odd values, one at a time: the renderer answers with an 850
/// the host's parser reads, nothing, or a located error; it never panics.
#[test]
fn mutated_orders_render_or_are_refused_with_a_path() {
    let odd = [
        "",
        "-",
        "-5",
        "1e400",
        "ZZZ",
        "\u{7f}",
        "*",
        "~",
        ">",
        "A\u{0}B",
        "٣",
        "2024-13-45",
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
    ];
    let mut tried = 0;
    for name in [
        "po-4500013001.json",
        "../../erp-orders-json/tests/po-4500019921.expected.json",
    ] {
        let text = std::fs::read_to_string(fixture(name)).expect("fixture");
        let json: Value = serde_json::from_str(&text).expect("JSON");
        let list = match json {
            Value::Array(items) => items,
            one => vec![one],
        };
        for event in list {
            let mut leaves = Vec::new();
            strings(&event, &mut String::new(), &mut leaves);
            for leaf in &leaves {
                for value in odd {
                    let mut mutated = event.clone();
                    *mutated.pointer_mut(leaf).expect("the leaf") = Value::String(value.to_owned());
                    let Ok(event) = canonical::read_event(&mutated) else {
                        continue; // the host would refuse it before the plugin sees it
                    };
                    tried += 1;
                    match render(&acme(), event) {
                        Ok(documents) => {
                            for d in documents {
                                parse(&d.payload);
                            }
                        }
                        Err(
                            MappingError::InvalidDocument(d) | MappingError::UnknownReference(d),
                        ) => {
                            assert!(
                                d.at.json_path
                                    .as_deref()
                                    .is_some_and(|p| p.starts_with("$['purchase-order']")),
                                "{name} {leaf} = {value:?}: no path: {}",
                                d.message
                            );
                            assert!(d.code.is_some(), "{name} {leaf} = {value:?}: no code");
                        }
                        Err(other) => panic!("{name} {leaf} = {value:?}: {other:?}"),
                    }
                }
            }
        }
    }
    assert!(tried > 1000, "only {tried} mutations were tried");
}

#[test]
fn a_quality_hold_or_any_other_event_renders_nothing() {
    let po = brightwire_order();
    let hold = CanonicalEvent::QualityHold(millwright_sdk::types::QualityHold {
        header: po.header,
        hold_id: "QH-240612-007".to_owned(),
        scope: millwright_sdk::types::HoldScope::HandlingUnit("003456789012345675".to_owned()),
        reason: "DIM-RUNOUT".to_owned(),
        disposition: millwright_sdk::types::Disposition::Hold,
        quantity: None,
        at: millwright_sdk::types::Timestamp::utc("2024-06-12T14:00:00Z"),
        decided_by: None,
    });
    let harness = acme();
    assert_eq!(render(&harness, hold), Ok(Vec::new()));
    assert!(
        harness.logs().is_empty(),
        "nothing to say about other events"
    );
}

/// The JSON pointers of every string in `value`.
fn strings(value: &Value, pointer: &mut String, out: &mut Vec<String>) {
    match value {
        Value::String(_) => out.push(pointer.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                strings(item, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                pointer.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")));
                strings(item, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}
