//! What the mapper refuses, and where it says the problem is: XML that is not well-formed, XML that is not a
//! B2MML production report, a report that lacks what the canonical events need, and units the tenant has not
//! mapped. Every refusal carries the line and byte offset of the element at fault.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{envelope_of, fixture, invalid, map};
use millwright_sdk::types::MappingError;

const V0600: &str = "http://www.mesa.org/xml/B2MML-V0600";

/// A one-actual report around `actual` (the MaterialActual's children), in the V0600 namespace.
fn report(actual: &str) -> String {
    format!(
        "<ProductionPerformance xmlns=\"{V0600}\">\n\
         <ID>PP-T-1</ID>\n\
         <ProductionResponse>\n\
         <ProductionRequestID>WO-240611-01</ProductionRequestID>\n\
         <SegmentResponse>\n\
         <ProcessSegmentID>0020-ASSEMBLE</ProcessSegmentID>\n\
         <Location><EquipmentID>P2-L3</EquipmentID><EquipmentElementLevel>ProductionLine</EquipmentElementLevel></Location>\n\
         <ActualEndTime>2024-06-11T14:30:00-05:00</ActualEndTime>\n\
         <MaterialActual>\n{actual}\n</MaterialActual>\n\
         </SegmentResponse>\n\
         </ProductionResponse>\n\
         </ProductionPerformance>\n"
    )
}

const ROTORS: &str = "<MaterialDefinitionID>BRK-ROTOR-330</MaterialDefinitionID>\n\
     <MaterialUse>Consumed</MaterialUse>\n\
     <Quantity><QuantityString>120</QuantityString><UnitOfMeasure>EA</UnitOfMeasure></Quantity>";

/// The byte offset of the first occurrence of `needle` in `text`.
fn offset_of(text: &str, needle: &str) -> u64 {
    text.find(needle).expect("needle present") as u64
}

#[test]
fn the_one_actual_report_used_below_maps() {
    let events = map(envelope_of(report(ROTORS))).expect("maps");
    assert_eq!(events.len(), 1);
}

#[test]
fn xml_that_is_not_well_formed_is_refused_with_its_line_and_byte_offset() {
    let doc = report(ROTORS).replace("</Quantity>", "</Quantit>");
    let d = invalid(map(envelope_of(doc.clone())).expect_err("not well-formed"));
    assert!(d.message.contains("not well-formed"), "{}", d.message);
    assert_eq!(d.at.line, Some(12));
    let offset = d.at.byte_offset.expect("a byte offset") as usize;
    assert!(
        doc[..offset].ends_with("</Quantit>")
            || doc[offset..].starts_with("</Quantit>")
            || doc[..offset].contains("</Quantit"),
        "offset {offset} points near the bad end tag: {:?}",
        &doc[offset.saturating_sub(20)..offset]
    );
}

#[test]
fn a_truncated_report_is_refused_at_its_end() {
    let doc = report(ROTORS);
    let cut = &doc[..doc.find("</SegmentResponse>").expect("the segment's end")];
    let d = invalid(map(envelope_of(cut)).expect_err("truncated"));
    assert!(d.message.contains("never closed"), "{}", d.message);
    assert_eq!(d.at.byte_offset, Some(cut.len() as u64));
    assert_eq!(d.at.line, Some(14));
}

#[test]
fn a_document_type_declaration_is_refused() {
    let doc = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE ProductionPerformance [<!ENTITY lol \"lol\">]>\n{}",
        report(ROTORS)
    );
    let d = invalid(map(envelope_of(doc.clone())).expect_err("a DTD"));
    assert_eq!(d.at.line, Some(2), "{}", d.message);
    assert_eq!(d.at.byte_offset, Some(offset_of(&doc, "<!DOCTYPE")));
}

#[test]
fn bytes_that_are_not_utf8_are_refused_at_the_first_bad_byte() {
    let mut doc = report(ROTORS).into_bytes();
    let at = doc
        .windows(3)
        .position(|w| w == b"120")
        .expect("the quantity");
    doc[at] = 0xFF;
    let d = invalid(map(envelope_of(doc)).expect_err("not UTF-8"));
    assert_eq!(d.at.byte_offset, Some(at as u64));
    assert_eq!(d.at.line, Some(12));
}

#[test]
fn well_formed_xml_that_is_not_b2mml_names_what_was_expected() {
    let other = "<Invoice xmlns=\"urn:example:invoice\"><ID>1</ID></Invoice>";
    let d = invalid(map(envelope_of(other)).expect_err("not B2MML"));
    assert!(
        d.message.contains("`Invoice`") && d.message.contains("ProductionPerformance"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("http://www.mesa.org/xml/B2MML"),
        "{}",
        d.message
    );
    assert_eq!((d.at.line, d.at.byte_offset), (Some(1), Some(0)));

    let no_namespace = report(ROTORS).replace(&format!(" xmlns=\"{V0600}\""), "");
    let d = invalid(map(envelope_of(no_namespace)).expect_err("no namespace"));
    assert!(d.message.contains("in no namespace"), "{}", d.message);

    let old = report(ROTORS).replace(V0600, "http://www.mesa.org/xml/B2MML-V0401");
    let d = invalid(map(envelope_of(old)).expect_err("an older release"));
    assert!(d.message.contains("B2MML-V0401"), "{}", d.message);
}

#[test]
fn other_b2mml_documents_and_verbs_are_refused() {
    let schedule =
        format!("<ProductionSchedule xmlns=\"{V0600}\"><ID>S1</ID></ProductionSchedule>");
    let d = invalid(map(envelope_of(schedule)).expect_err("a schedule"));
    assert!(d.message.contains("ProductionSchedule"), "{}", d.message);

    let cancel = format!(
        "<CancelProductionPerformance xmlns=\"{V0600}\"><DataArea><Cancel/>{}</DataArea></CancelProductionPerformance>",
        report(ROTORS).replace(&format!(" xmlns=\"{V0600}\""), "")
    );
    let d = invalid(map(envelope_of(cancel)).expect_err("a cancel"));
    assert!(
        d.message.contains("does not report production"),
        "{}",
        d.message
    );

    let empty = format!(
        "<ProcessProductionPerformance xmlns=\"{V0600}\">\n<DataArea><Process/></DataArea></ProcessProductionPerformance>"
    );
    let d = invalid(map(envelope_of(empty)).expect_err("no performance"));
    assert!(
        d.message.contains("holds no ProductionPerformance"),
        "{}",
        d.message
    );
    assert_eq!(d.at.line, Some(2));
}

#[test]
fn a_production_response_without_a_work_order_is_refused_at_that_response() {
    let doc = report(ROTORS).replace(
        "<ProductionRequestID>WO-240611-01</ProductionRequestID>\n",
        "",
    );
    let d = invalid(map(envelope_of(doc.clone())).expect_err("no work order"));
    assert!(d.message.contains("ProductionRequestID"), "{}", d.message);
    assert!(
        d.message
            .contains("/ProductionPerformance/ProductionResponse[1]"),
        "{}",
        d.message
    );
    assert_eq!(
        d.at.byte_offset,
        Some(offset_of(&doc, "<ProductionResponse>"))
    );
    assert_eq!(d.at.line, Some(3));
}

#[test]
fn a_quantity_that_is_not_a_decimal_string_is_refused_where_it_is_written() {
    for bad in ["1e400", "12,5", "1.2.3", "NaN", "+4"] {
        let doc = report(&ROTORS.replace(">120<", &format!(">{bad}<")));
        let d = invalid(map(envelope_of(doc.clone())).expect_err(bad));
        assert!(d.message.contains(&format!("`{bad}`")), "{}", d.message);
        assert!(
            d.message
                .contains("MaterialActual[1]/Quantity[1]/QuantityString[1]"),
            "{}",
            d.message
        );
        assert_eq!(
            d.at.byte_offset,
            Some(offset_of(&doc, "<QuantityString>")),
            "{bad}"
        );
        assert_eq!(d.at.line, Some(12), "{bad}");
    }
}

#[test]
fn a_produced_quantity_may_not_be_negative_but_a_consumed_one_may() {
    let produced = ROTORS
        .replace("Consumed", "Produced")
        .replace(">120<", ">-2<");
    let d = invalid(map(envelope_of(report(&produced))).expect_err("negative output"));
    assert!(d.message.contains("cannot be negative"), "{}", d.message);
    let returned = ROTORS.replace(">120<", ">-2<");
    assert_eq!(
        map(envelope_of(report(&returned))).expect("a return").len(),
        1
    );
}

#[test]
fn an_actual_without_item_use_or_quantity_is_refused_naming_what_is_missing() {
    for (drop, expected) in [
        (
            "<MaterialDefinitionID>BRK-ROTOR-330</MaterialDefinitionID>",
            "MaterialDefinitionID",
        ),
        ("<MaterialUse>Consumed</MaterialUse>", "MaterialUse"),
        (
            "<Quantity><QuantityString>120</QuantityString><UnitOfMeasure>EA</UnitOfMeasure></Quantity>",
            "no Quantity",
        ),
        ("<UnitOfMeasure>EA</UnitOfMeasure>", "UnitOfMeasure"),
    ] {
        let doc = report(&ROTORS.replace(drop, ""));
        let d = invalid(map(envelope_of(doc)).expect_err(expected));
        assert!(d.message.contains(expected), "{expected}: {}", d.message);
        assert!(d.at.line.is_some() && d.at.byte_offset.is_some());
    }
}

#[test]
fn a_report_without_a_time_or_a_location_is_refused() {
    let doc = report(ROTORS).replace(
        "<ActualEndTime>2024-06-11T14:30:00-05:00</ActualEndTime>\n",
        "",
    );
    let d = invalid(map(envelope_of(doc)).expect_err("no time"));
    assert!(d.message.contains("ActualEndTime"), "{}", d.message);

    let doc = report(ROTORS).replace(
        "<Location><EquipmentID>P2-L3</EquipmentID><EquipmentElementLevel>ProductionLine</EquipmentElementLevel></Location>\n",
        "",
    );
    let d = invalid(map(envelope_of(doc)).expect_err("no location"));
    assert!(d.message.contains("EquipmentID"), "{}", d.message);

    let doc = report(ROTORS).replace("2024-06-11T14:30:00-05:00", "11.06.2024 14:30");
    let d = invalid(map(envelope_of(doc)).expect_err("not a dateTime"));
    assert!(d.message.contains("xsd:dateTime"), "{}", d.message);
    assert_eq!(d.at.line, Some(8));
}

#[test]
fn an_unknown_unit_is_an_unknown_reference_naming_the_code_and_the_table() {
    let doc = report(&ROTORS.replace(">EA<", ">BOX7<"));
    match map(envelope_of(doc.clone())).expect_err("unknown unit") {
        MappingError::UnknownReference(d) => {
            assert!(
                d.message.contains("`BOX7`") && d.message.contains("`units`"),
                "{}",
                d.message
            );
            assert_eq!(d.at.byte_offset, Some(offset_of(&doc, "<UnitOfMeasure>")));
        }
        other => panic!("expected unknown-reference, got {other:?}"),
    }
}

#[test]
fn samples_and_carriers_are_not_events_and_an_empty_report_holds_none() {
    let carrier = ROTORS.replace("Consumed", "Carrier");
    assert_eq!(map(envelope_of(report(&carrier))).expect("maps"), []);
    let empty =
        format!("<ProductionPerformance xmlns=\"{V0600}\"><ID>PP-0</ID></ProductionPerformance>");
    assert_eq!(map(envelope_of(empty)).expect("maps"), []);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let nested = |depth: usize| {
        format!(
            "<ProductionPerformance xmlns=\"{V0600}\"><ProductionResponse><ProductionRequestID>WO-1</ProductionRequestID>{}{}</ProductionResponse></ProductionPerformance>",
            "<SegmentResponse>".repeat(depth),
            "</SegmentResponse>".repeat(depth)
        )
    };
    let d = invalid(map(envelope_of(nested(50))).expect_err("segments too deep"));
    assert!(
        d.message
            .contains("nests segment responses more than 16 deep"),
        "{}",
        d.message
    );
    let d = invalid(map(envelope_of(nested(50_000))).expect_err("elements too deep"));
    assert!(
        d.message.contains("nested more than 100 deep"),
        "{}",
        d.message
    );
}

/// Every prefix of each fixture: the events of a complete report, or a located `invalid-document`.
#[test]
fn every_truncation_of_the_fixtures_maps_or_is_refused_with_a_position() {
    for name in ["wo-240611-01.xml", "sync-wo-240611-02.xml"] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        for cut in 0..bytes.len() {
            check_mapped_or_located(&bytes[..cut], &format!("{name} cut at {cut}"));
        }
    }
}

/// Fixtures with bytes replaced, deleted or duplicated at pseudo-random places (a fixed seed, so a failure
/// can be replayed): never a panic, and any output is canonical.
#[test]
fn garbled_fixtures_map_or_are_refused_with_a_position() {
    let mut seed: u64 = 0x2406_1101;
    let mut next = move |bound: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % bound.max(1)
    };
    let garbage: &[&[u8]] = &[
        b"<", b">", b"&", b"\"", b"/", b"\xff", b"\x01", b"&#1;", b"]]>", b"-", b"\xc3", b"0", b"Z",
    ];
    for name in ["wo-240611-01.xml", "sync-wo-240611-02.xml"] {
        let original = std::fs::read(fixture(name)).expect("fixture");
        for round in 0..1500 {
            let mut bytes = original.clone();
            for _ in 0..=next(3) {
                let at = next(bytes.len());
                match next(3) {
                    0 => {
                        let g = garbage[next(garbage.len())];
                        bytes.splice(at..(at + 1).min(bytes.len()), g.iter().copied());
                    }
                    1 => {
                        let len = next(12).min(bytes.len() - at);
                        bytes.drain(at..at + len);
                    }
                    _ => {
                        let len = next(40).min(bytes.len() - at);
                        let copy: Vec<u8> = bytes[at..at + len].to_vec();
                        bytes.splice(at..at, copy);
                    }
                }
            }
            check_mapped_or_located(&bytes, &format!("{name} round {round}"));
        }
    }
}

fn check_mapped_or_located(bytes: &[u8], what: &str) {
    match map(envelope_of(bytes.to_vec())) {
        Ok(events) => {
            let json = common::canonical::events(&events).to_string();
            assert!(
                !json.contains("\\u00") && !json.contains('\u{7f}'),
                "{what}: a control character in the output: {json}"
            );
        }
        Err(MappingError::InvalidDocument(d) | MappingError::UnknownReference(d)) => {
            let offset =
                d.at.byte_offset
                    .unwrap_or_else(|| panic!("{what}: no byte offset: {}", d.message));
            assert!(
                offset <= bytes.len() as u64,
                "{what}: offset {offset} beyond the end"
            );
            assert!(d.at.line.is_some(), "{what}: no line: {}", d.message);
            assert!(!d.message.is_empty());
        }
        Err(other) => panic!("{what}: unexpected {other:?}"),
    }
}
