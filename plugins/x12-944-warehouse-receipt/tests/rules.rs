//! The mapping's rules on small inline 944 documents: what each receiving condition does, where the location,
//! the lots and the ship notice come from, how a line is numbered, the W14 check, and every way a document is
//! refused, each with the position the warehouse needs to fix it.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{counts, invalid, located, map, receipts, riverside, x12, x12_944};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{GoodsReceipt, IdScheme, MappingError};

const W17: &str = "W17*F*20240617*RV-1*4500013001*SHP-1";
const WH: &str = "N1*WH*RIVERSIDE 3PL AT ACME PLANT P2";

fn one(body: &[&str]) -> GoodsReceipt {
    let mut all = receipts(map(&riverside(), x12_944(body)).expect("maps"));
    assert_eq!(all.len(), 1, "one W07, one receipt");
    all.remove(0)
}

#[test]
fn each_condition_code_rejects_notes_or_ignores_its_quantity() {
    for (code, rejected, noted) in [
        ("01", true, true),
        ("02", false, true),
        ("03", false, true),
        ("04", true, true),
        ("05", true, true),
        ("06", false, true),
        ("07", false, false),
        ("08", true, true),
        ("09", true, true),
        ("10", true, true),
        ("11", false, true),
        ("12", true, true),
        ("13", false, true),
        ("14", false, true),
        ("16", false, true),
    ] {
        let w13 = format!("W13*3*EA*{code}");
        let receipt = one(&[W17, WH, "W07*10*EA**BP*FST-M10-40", &w13]);
        let expected = if rejected {
            ("10", "7", "3", "H87")
        } else {
            ("10", "10", "0", "H87")
        };
        assert_eq!(counts(&receipt), expected, "W1303 {code}");
        assert_eq!(receipt.discrepancy_reason.is_some(), noted, "W1303 {code}");
    }
}

#[test]
fn several_exceptions_add_up_at_the_largest_scale_and_are_all_noted_in_order() {
    let receipt = one(&[
        W17,
        WH,
        "W07*10*EA**BP*FST-M10-40",
        "W13*2.5*EA*01**AB",
        "W13*1*EA*03",
        "W13*1.25*EA*04",
    ]);
    assert_eq!(counts(&receipt), ("10", "6.25", "3.75", "H87"));
    assert_eq!(
        receipt.discrepancy_reason.as_deref(),
        Some(
            "damaged product or container (01): 2.5 H87, damage reason AB; quantity over (03): 1 H87; \
             quality problem (04): 1.25 H87"
        )
    );
}

#[test]
fn a_single_line_keeps_the_receipt_number_and_the_transaction_id_unsuffixed() {
    let receipt = one(&[W17, WH, "W07*10*EA**BP*FST-M10-40"]);
    assert_eq!(receipt.receipt_id, "RV-1");
    assert_eq!(receipt.header.id, "x12:RIVERSIDE3PL:000000312:312:0001");
    assert_eq!(
        receipt.header.idempotency_key,
        "RIVERSIDE3PL:000000312:312:0001"
    );
    assert_eq!(receipt.order_line, None);
    assert_eq!(receipt.lots, []);
}

#[test]
fn the_location_is_the_warehouse_id_the_944_names_else_the_profile_dock() {
    let named = one(&[W17, "N1*WH*RIVERSIDE 3PL*ZZ*P2-D4", "W07*1*EA**BP*A"]);
    assert_eq!(
        (named.location.scheme, named.location.value.as_str()),
        (IdScheme::MutuallyDefined, "P2-D4")
    );
    let gln = one(&[
        W17,
        "N1*WH*RIVERSIDE 3PL*UL*0614141000029",
        "W07*1*EA**BP*A",
    ]);
    assert_eq!(gln.location.scheme, IdScheme::Gln);
    let from_profile = one(&[W17, "W07*1*EA**BP*A"]);
    assert_eq!(
        (
            from_profile.location.scheme,
            from_profile.location.value.as_str()
        ),
        (IdScheme::Internal, "P2-D4")
    );

    let err = map(
        &Harness::new().with_config("timezone", "America/New_York"),
        x12_944(&[W17, WH, "W07*1*EA**BP*A"]),
    )
    .expect_err("no location anywhere");
    let MappingError::UnknownReference(d) = err else {
        panic!("expected unknown-reference, got {err:?}")
    };
    assert!(d.message.contains("`dock-location`"), "{}", d.message);
    assert_eq!(d.code.as_deref(), Some("unknown-location"));
    assert_eq!(located(&d.at), (Some("0001"), Some(2), Some("W17"), None));
}

#[test]
fn lots_come_from_w0708_and_the_line_n9_else_from_the_header_n9() {
    let all = receipts(
        map(
            &riverside(),
            x12_944(&[
                W17,
                WH,
                "N9*LT*HEADER-LOT",
                "W07*1*EA**BP*A***LOT-A",
                "N9*LT*LOT-B",
                "N9*LT*LOT-A",
                "W07*1*EA**BP*B",
            ]),
        )
        .expect("maps"),
    );
    let lots: Vec<Vec<&str>> = all
        .iter()
        .map(|r| {
            r.lots
                .iter()
                .filter_map(|l| l.supplier_lot.as_deref())
                .collect()
        })
        .collect();
    assert_eq!(lots, [vec!["LOT-A", "LOT-B"], vec!["HEADER-LOT"]]);
}

#[test]
fn the_ship_notice_is_w1705_else_the_header_n9_si() {
    let from_n9 = one(&[
        "W17*F*20240617*RV-1*4500013001",
        "N9*BM*BOL-1",
        "N9*SI*SID-9",
        WH,
        "W07*1*EA**BP*A",
    ]);
    assert_eq!(from_n9.ship_notice_ref.as_deref(), Some("SID-9"));
    let none = one(&["W17*F*20240617*RV-1*4500013001", WH, "W07*1*EA**BP*A"]);
    assert_eq!(none.ship_notice_ref, None);
}

#[test]
fn item_ids_are_the_case_code_then_every_qualified_pair() {
    let receipt = one(&[
        W17,
        WH,
        "W07*24*CA*10012345678902*BP*FST-M10-40*VN*BW-HB1040-ZP*LOT-1**EN*4012345000016",
        "G69*HEX BOLT M10X40 8.8 ZINC",
    ]);
    let ids: Vec<_> = receipt
        .item
        .ids
        .iter()
        .map(|id| (id.scheme.clone(), id.value.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (IdScheme::Gtin, "10012345678902"),
            (IdScheme::BuyerPart, "FST-M10-40"),
            (IdScheme::VendorPart, "BW-HB1040-ZP"),
            (IdScheme::Gtin, "4012345000016"),
        ]
    );
    assert_eq!(
        receipt.item.description.as_deref(),
        Some("HEX BOLT M10X40 8.8 ZINC")
    );
    assert_eq!(counts(&receipt), ("24", "24", "0", "CS"));
}

#[test]
fn a_w14_total_equal_at_any_scale_passes_and_none_at_all_is_not_checked() {
    for w14 in ["W14*11", "W14*11.000"] {
        let all = receipts(
            map(
                &riverside(),
                x12_944(&[W17, WH, "W07*10*EA**BP*A", "W07*1*EA**BP*B", w14]),
            )
            .expect("maps"),
        );
        assert_eq!(all.len(), 2, "{w14}");
    }
    let all = receipts(map(&riverside(), x12_944(&[W17, WH, "W07*10*EA**BP*A"])).expect("maps"));
    assert_eq!(all.len(), 1);
}

#[test]
fn without_a_partner_zone_the_receipt_date_is_read_as_utc_with_no_offset_claimed() {
    let harness = Harness::new().with_config("dock-location", "P2-D4");
    let receipt =
        receipts(map(&harness, x12_944(&[W17, WH, "W07*1*EA**BP*A"])).expect("maps")).remove(0);
    assert_eq!(
        (
            receipt.received_at.utc.as_str(),
            receipt.received_at.original_offset_minutes
        ),
        ("2024-06-17T00:00:00Z", None)
    );
}

#[test]
fn an_unknown_unit_is_parked_as_unknown_reference_naming_the_code_and_the_table() {
    let err = map(&riverside(), x12_944(&[W17, WH, "W07*10*ZZ**BP*A"])).expect_err("ZZ is no unit");
    let MappingError::UnknownReference(d) = err else {
        panic!("expected unknown-reference, got {err:?}")
    };
    assert!(
        d.message.contains("`ZZ`") && d.message.contains("`units`"),
        "{}",
        d.message
    );
    assert_eq!(
        located(&d.at),
        (Some("0001"), Some(4), Some("W07"), Some(2))
    );
    assert_eq!(d.code.as_deref(), Some("unknown-unit"));
}

#[test]
fn an_856_on_the_944_route_is_invalid_naming_what_was_expected_and_what_came() {
    let (message, at, code) = invalid(map(
        &riverside(),
        x12("856", &["BSN*00*SHP-1*20240614*1200", "HL*1**S"]),
    ));
    assert!(
        message.contains("expected an X12 944") && message.contains("856"),
        "{message}"
    );
    assert_eq!(located(&at), (Some("0001"), Some(1), Some("ST"), Some(1)));
    assert_eq!(code.as_deref(), Some("wrong-transaction"));
}

#[test]
fn refusals_point_at_the_segment_and_element_to_fix() {
    /// The body, where the error is (segment index, tag, element or 0), what the message says, the code.
    type Case<'a> = (&'a [&'a str], (u32, &'a str, u32), &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[WH, "W07*1*EA**BP*A"],
            (2, "W17", 0),
            "no W17",
            "missing-segment",
        ),
        (&[W17, WH], (4, "W07", 0), "no W07", "missing-segment"),
        (
            &["W17*F*20241317*RV-1*4500013001", WH, "W07*1*EA"],
            (2, "W17", 2),
            "20241317",
            "invalid-date",
        ),
        (
            &["W17*F**RV-1*4500013001", WH, "W07*1*EA"],
            (2, "W17", 2),
            "W1702 is required",
            "missing-element",
        ),
        (
            &["W17*F*20240617**4500013001", WH, "W07*1*EA"],
            (2, "W17", 3),
            "W1703 is required",
            "missing-element",
        ),
        (
            &["W17*F*20240617*RV-1", WH, "W07*1*EA"],
            (2, "W17", 4),
            "W1704 is required",
            "missing-element",
        ),
        (
            &[W17, WH, "W07**EA"],
            (4, "W07", 1),
            "W0701 is required",
            "missing-element",
        ),
        (
            &[W17, WH, "W07*-5*EA"],
            (4, "W07", 1),
            "`-5` is not a quantity",
            "invalid-quantity",
        ),
        (
            &[W17, WH, "W07*5,5*EA"],
            (4, "W07", 1),
            "`5,5` is not a quantity",
            "invalid-quantity",
        ),
        (
            &[W17, WH, "W07*5"],
            (4, "W07", 2),
            "W0702 is required",
            "missing-element",
        ),
        (
            &[W17, WH, "W07*5*EA", "W13*6*EA*01"],
            (5, "W13", 1),
            "reject more than the 5 EA",
            "rejected-exceeds-received",
        ),
        (
            &[W17, WH, "W07*5*EA", "W13*3*EA*01", "W13*3*EA*09"],
            (6, "W13", 1),
            "reject more",
            "rejected-exceeds-received",
        ),
        (
            &[W17, WH, "W07*5*EA", "W13*1*LB*01"],
            (5, "W13", 2),
            "W1302 `LB` (LBR) differs",
            "unit-mismatch",
        ),
        (
            &[W17, WH, "W07*5*EA", "W13*1*EA*99"],
            (5, "W13", 3),
            "W1303 `99`",
            "unknown-condition",
        ),
        (
            &[W17, WH, "W07*5*EA", "W13*1*EA"],
            (5, "W13", 3),
            "W1303 is required",
            "missing-element",
        ),
        (
            &[W17, WH, "W07*5*EA", "W13**EA*01"],
            (5, "W13", 1),
            "W1301 is required",
            "missing-element",
        ),
        (
            &[W17, WH, "W07*5*EA", "W07*6*EA", "W14*10"],
            (6, "W14", 1),
            "W14 says 10",
            "total-mismatch",
        ),
        (
            &[W17, WH, "W07*5*EA", "W14*five"],
            (5, "W14", 1),
            "`five` is not a quantity",
            "invalid-quantity",
        ),
    ];
    for (body, (index, segment, element), says, expected_code) in cases {
        let (message, at, code) = invalid(map(&riverside(), x12_944(body)));
        assert!(message.contains(says), "{body:?}: {message}");
        let element = (*element > 0).then_some(*element);
        assert_eq!(
            located(&at),
            (Some("0001"), Some(*index), Some(*segment), element),
            "{body:?}: {message}"
        );
        assert_eq!(code.as_deref(), Some(*expected_code), "{body:?}");
    }
}

#[test]
fn the_total_mismatch_names_both_totals() {
    let (message, _, _) = invalid(map(
        &riverside(),
        x12_944(&[W17, WH, "W07*400.0*LB", "W07*12.25*LB", "W14*412"]),
    ));
    assert!(
        message.contains("W14 says 412") && message.contains("add up to 412.25"),
        "{message}"
    );
}
