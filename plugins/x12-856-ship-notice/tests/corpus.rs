//! The mapping on real 856 files from the public corpus (`../shared/edi-corpus`, read in place), through the
//! SDK's native harness. Each test checks what a receiving clerk would check against the paper: shipment id
//! and purpose, the orders and their PO numbers, the SSCC on each pack, item ids by scheme, quantities and
//! units as sent.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{all_items, corpus, id, notices, only_notice, order_ids, qty};
use millwright_sdk::harness::{Harness, envelope_from_file};
use millwright_sdk::types::{IdScheme, MappingError, Purpose};
use x12_856_ship_notice::ShipNoticeMapper;

fn chicago() -> Harness {
    Harness::new().with_config("timezone", "America/Chicago")
}

fn map_file(
    harness: &Harness,
    relative: &str,
) -> Result<Vec<millwright_sdk::types::CanonicalEvent>, MappingError> {
    let envelope =
        envelope_from_file(corpus(relative)).expect("the corpus is beside the repository");
    harness.map::<ShipNoticeMapper>(envelope)
}

#[test]
fn bots_856_1_ships_one_order_in_three_labelled_cartons() {
    let notice = only_notice(map_file(&chicago(), "bots-plugins/x12/856_1.x12").expect("maps"));
    assert_eq!(notice.shipment_id, "15918861602");
    assert_eq!(notice.purpose, Purpose::Original);
    assert_eq!(notice.header.id, "x12:111111111:000000001:1:0062");
    assert_eq!(notice.header.idempotency_key, "111111111:000000001:1:0062");
    // DTM*017*20040805, midnight in Chicago (CDT).
    let expected = notice.expected_at.as_ref().expect("DTM 017");
    assert_eq!(
        (expected.utc.as_str(), expected.original_offset_minutes),
        ("2004-08-05T05:00:00Z", Some(-300))
    );
    // No DTM 011: the event time is BSN03/BSN04.
    assert_eq!(notice.header.event_time.utc, "2004-08-05T05:00:00Z");

    assert_eq!(order_ids(&notice), [Some("ordernumber")]);
    let order = &notice.orders[0];
    assert_eq!(
        order.order.as_ref().and_then(|o| o.order_date.as_deref()),
        Some("2004-08-08")
    );
    let ssccs: Vec<_> = order.packs.iter().map(|p| p.sscc.as_deref()).collect();
    assert_eq!(
        ssccs,
        [
            Some("0000123456781234567892"),
            Some("0000123456781234567891"),
            Some("0000123456781234567890")
        ]
    );
    let per_pack: Vec<_> = order.packs.iter().map(|p| p.items.len()).collect();
    assert_eq!(per_pack, [4, 2, 52], "58 LIN segments in the file");

    let first = &order.packs[0].items[0];
    assert_eq!(first.line_number.as_deref(), Some("4"));
    assert_eq!(id(first, IdScheme::Gtin), Some("058824077500"));
    assert_eq!(id(first, IdScheme::BuyerPart), Some("01113481"));
    assert_eq!(qty(first), ("11", "H87"));

    let to = notice.ship_to.as_ref().expect("N1*ST");
    assert_eq!(to.ids[0].scheme, IdScheme::MutuallyDefined);
    assert_eq!(to.ids[0].value, "DESTINATION1");
    // N1*SH stands in for the missing N1*SF.
    assert_eq!(
        notice.ship_from.as_ref().map(|p| p.ids[0].value.as_str()),
        Some("XXXXXX")
    );
}

#[test]
fn bots_856_2_maps_each_transaction_and_each_order() {
    let all = notices(map_file(&chicago(), "bots-plugins/x12/856_2.x12").expect("maps"));
    assert_eq!(all.len(), 2, "two ST..SE in one interchange");
    let first = &all[0];
    assert_eq!(first.shipment_id, "4167427123");
    assert_eq!(
        order_ids(first),
        [
            Some("ordernumber1"),
            Some("ordernumber2"),
            Some("ordernumber4")
        ]
    );
    let dates: Vec<_> = first
        .orders
        .iter()
        .map(|o| o.order.as_ref().and_then(|r| r.order_date.as_deref()))
        .collect();
    assert_eq!(
        dates,
        [Some("2004-08-09"), Some("2004-08-10"), Some("2004-08-11")]
    );
    let ssccs: Vec<_> = first.orders[1]
        .packs
        .iter()
        .map(|p| p.sscc.as_deref())
        .collect();
    assert_eq!(
        ssccs,
        [
            Some("0000123456781234567893"),
            Some("0000123456781234567892")
        ]
    );

    assert_eq!(
        first.bill_of_lading.as_deref(),
        Some("bill of lading number")
    );
    assert_eq!(first.tracking.as_deref(), Some("carrierreferencenumber"));
    assert_eq!(
        first.carrier.as_ref().and_then(|c| c.scac.as_deref()),
        Some("SCAC")
    );
    let shipped = first.shipped_at.as_ref().expect("DTM 011");
    assert_eq!(
        shipped.utc, "2006-04-02T06:00:00Z",
        "midnight on 2006-04-02, still CST (UTC-6) before that night's 02:00 change"
    );
    let address = first
        .ship_to
        .as_ref()
        .and_then(|p| p.address.as_ref())
        .expect("N3/N4 under N1*ST");
    assert_eq!(address.lines, ["BUILDING 3B", "2001 ENTERPRISE PARK"]);
    assert_eq!(
        (address.city.as_deref(), address.country.as_deref()),
        (Some("JUAREZ"), Some("MEX"))
    );

    let item = &first.orders[0].packs[0].items[0];
    assert_eq!(id(item, IdScheme::Gtin), Some("8712345678913"));
    assert_eq!(id(item, IdScheme::VendorPart), Some("suart"));
    assert_eq!(id(item, IdScheme::BuyerPart), Some("byart"));
    assert_eq!(qty(item), ("24", "H87"));
    let ordered = item.quantity_ordered.as_ref().expect("SN105/SN106");
    assert_eq!(
        (ordered.value.as_str(), ordered.unit.as_str()),
        ("36", "H87")
    );
    assert_eq!(item.item.description.as_deref(), Some("description"));

    let second = &all[1];
    assert_eq!(second.header.id, "x12:111111111:000000002:2:0061");
    let to = second.ship_to.as_ref().expect("N1*ST");
    assert_eq!(
        (to.ids[0].scheme.clone(), to.ids[0].value.as_str()),
        (IdScheme::Gln, "00996")
    );
}

#[test]
fn partner2_with_edifact_like_separators_reads_like_any_other_856() {
    let all =
        notices(map_file(&chicago(), "bots-plugins/x12/PARTNER2_20130123_1.x12").expect("maps"));
    assert_eq!(all.len(), 2);
    let notice = &all[0];
    assert_eq!(notice.header.id, "x12:SENDER:000000002:2:0003");
    assert_eq!(
        order_ids(notice),
        [
            Some("ordernumber1"),
            Some("ordernumber2"),
            Some("ordernumber4")
        ]
    );
    let item = &notice.orders[0].packs[0].items[0];
    assert_eq!(item.line_number, None, "LIN01 is empty");
    // Unknown qualifiers are kept with their qualifier, never guessed from their position.
    assert_eq!(id(item, IdScheme::Other("IN".into())), Some("byart"));
    assert_eq!(id(item, IdScheme::Other("XX".into())), Some("ADD VALUE"));
    assert_eq!(id(item, IdScheme::BuyerPart), None);
    assert_eq!(qty(item), ("24", "H87"));
}

#[test]
fn gregarican_pack_carries_its_sscc_and_the_shipment_its_lading() {
    let notice = only_notice(
        map_file(
            &chicago(),
            "oopfactory_x12parser/ORD___856__FromGregarican.txt",
        )
        .expect("maps"),
    );
    assert_eq!(notice.shipment_id, "521649209219");
    assert_eq!(order_ids(&notice), [Some("SO/VINCE1")]);
    let pack = &notice.orders[0].packs[0];
    assert_eq!(pack.sscc.as_deref(), Some("00007121610006156802"));
    let item = &pack.items[0];
    assert_eq!(id(item, IdScheme::Gtin), Some("883932284904"));
    assert_eq!(id(item, IdScheme::Other("PR".into())), Some("507.5"));
    assert_eq!(qty(item), ("1", "H87"));
    assert_eq!(
        item.item.description.as_deref(),
        Some("16X12MM SMALL WHEATON")
    );

    let carrier = notice.carrier.as_ref().expect("TD5");
    assert_eq!(
        (
            carrier.scac.as_deref(),
            carrier.name.as_deref(),
            carrier.transport_mode.as_deref()
        ),
        (Some("FED2"), Some("FEDX 2 DAY"), Some("M"))
    );
    let lading = notice.lading_quantity.as_ref().expect("TD1*CTN25*1");
    assert_eq!((lading.value.as_str(), lading.unit.as_str()), ("1", "CT"));
    let gross = notice.gross_weight.as_ref().expect("TD1 G weight");
    assert_eq!((gross.value.as_str(), gross.unit.as_str()), ("1", "LBR"));
    let refs: Vec<_> = notice
        .references
        .iter()
        .map(|r| (r.qualifier.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(refs, [("DP", "12345"), ("IV", "S1429672")]);
}

#[test]
fn example1_keeps_pieces_and_pounds_apart_and_reads_times_in_the_partner_zone() {
    let notice = only_notice(
        map_file(&chicago(), "oopfactory_x12parser/ORD___856__Example1.txt").expect("maps"),
    );
    assert_eq!(notice.shipment_id, "123456");
    let order = notice.orders[0].order.as_ref().expect("PRF");
    assert_eq!(
        (order.order_id.as_str(), order.release.as_deref()),
        ("123456", Some("1234"))
    );
    let quantities: Vec<_> = all_items(&notice).into_iter().map(qty).collect();
    assert_eq!(quantities, [("16", "H87"), ("23", "LBR"), ("16", "H87")]);
    let first = all_items(&notice)[0];
    assert_eq!(id(first, IdScheme::Other("CB".into())), Some("1234-123456"));

    // DTM*011*20010420*1421 and DTM*017*20010422*0800, Chicago daylight time.
    assert_eq!(
        notice.shipped_at.as_ref().map(|t| t.utc.as_str()),
        Some("2001-04-20T19:21:00Z")
    );
    assert_eq!(notice.header.event_time.utc, "2001-04-20T19:21:00Z");
    assert_eq!(
        notice.expected_at.as_ref().map(|t| t.utc.as_str()),
        Some("2001-04-22T13:00:00Z")
    );

    let from = notice.ship_from.as_ref().expect("N1*SF");
    assert_eq!(
        (from.ids[0].scheme.clone(), from.ids[0].value.as_str()),
        (IdScheme::MutuallyDefined, "ACME ELECT00")
    );
    let to = notice.ship_to.as_ref().expect("N1*ST");
    assert_eq!(
        (to.ids[0].scheme.clone(), to.ids[0].value.as_str()),
        (IdScheme::Duns, "201495124")
    );
}

#[test]
fn example1_units_follow_the_tenant_table_where_it_has_an_entry() {
    let harness = chicago().with_lookup("units", "PC", "C62");
    let notice = only_notice(
        map_file(&harness, "oopfactory_x12parser/ORD___856__Example1.txt").expect("maps"),
    );
    let quantities: Vec<_> = all_items(&notice).into_iter().map(qty).collect();
    assert_eq!(quantities, [("16", "C62"), ("23", "LBR"), ("16", "C62")]);
}

#[test]
fn example3_automotive_items_without_an_order_level_are_grouped_by_their_own_prf() {
    let harness = chicago();
    let notice = only_notice(
        map_file(&harness, "oopfactory_x12parser/ORD___856__Example3.txt").expect("maps"),
    );
    assert_eq!(notice.shipment_id, "146940");
    assert_eq!(order_ids(&notice), [Some("5500005194")]);
    let items = &notice.orders[0].items;
    let lines: Vec<_> = items.iter().map(|i| i.line_number.as_deref()).collect();
    assert_eq!(lines, [Some("00030"), Some("00010"), Some("00020")]);
    assert_eq!(id(&items[0], IdScheme::BuyerPart), Some("000 260 056 524"));
    assert_eq!(id(&items[0], IdScheme::VendorPart), Some("abc123"));
    assert_eq!(id(&items[0], IdScheme::EngineeringChange), Some("02"));
    let quantities: Vec<_> = items.iter().map(qty).collect();
    assert_eq!(
        quantities,
        [("1596", "H87"), ("1152", "H87"), ("1440", "H87")]
    );

    let weights = (notice.gross_weight.as_ref(), notice.net_weight.as_ref());
    let weights = weights
        .0
        .zip(weights.1)
        .map(|(g, n)| (g.value.as_str(), n.value.as_str(), n.unit.as_str()));
    assert_eq!(
        weights,
        Some(("5063.82", "4215.078", "LBR")),
        "MEA*PD*G/N, scale kept"
    );
    assert_eq!(
        notice.carrier.as_ref().and_then(|c| c.scac.as_deref()),
        Some("AVRT")
    );
    assert_eq!(notice.bill_of_lading.as_deref(), Some("146940"));
    // TD1*PAT90*15: no Rec 20 unit for PAT, so the count is left out and the operator is told.
    assert_eq!(notice.lading_quantity, None);
    assert!(harness.logs().iter().any(|l| l.message.contains("PAT90")));
}

#[test]
fn example4_items_whose_hl02_is_omitted_belong_to_the_order_before_them() {
    let notice = only_notice(
        map_file(&chicago(), "oopfactory_x12parser/ORD___856__Example4.txt").expect("maps"),
    );
    assert_eq!(notice.shipment_id, "DELIVERYNUMBER");
    assert_eq!(order_ids(&notice), [Some("PO NUMBER")]);
    let items = &notice.orders[0].items;
    assert_eq!(items.len(), 7);
    assert_eq!(
        id(&items[0], IdScheme::Other("SK".into())),
        Some("100014544")
    );
    assert_eq!(id(&items[0], IdScheme::VendorPart), Some("25555120"));
    let quantities: Vec<_> = items.iter().map(qty).collect();
    assert_eq!(
        quantities[..3],
        [("10", "H87"), ("5", "H87"), ("10", "H87")]
    );
    assert_eq!(
        notice
            .gross_weight
            .as_ref()
            .map(|w| (w.value.as_str(), w.unit.as_str())),
        Some(("9072", "LBR"))
    );
    assert_eq!(notice.bill_of_lading.as_deref(), Some("10000-2378635"));
}

#[test]
fn one_edi_source_856_advance_notification_is_an_original() {
    let notice = only_notice(
        map_file(&chicago(), "oopfactory_x12parser/ORD___856__edi1Source.txt").expect("maps"),
    );
    assert_eq!(notice.shipment_id, "829716");
    assert_eq!(
        notice.purpose,
        Purpose::Original,
        "BSN01 14, advance notification"
    );
    assert_eq!(order_ids(&notice), [Some("99999817")]);
    let items = &notice.orders[0].items;
    assert_eq!(id(&items[0], IdScheme::VendorPart), Some("87787D"));
    assert_eq!(id(&items[0], IdScheme::Gtin), Some("999999310145"));
    assert_eq!(qty(&items[0]), ("24", "H87"));
    assert_eq!(items[1].item.description.as_deref(), Some("RED WIDGET"));
    assert_eq!(qty(&items[1]), ("6", "H87"));
    assert_eq!(
        notice.gross_weight.as_ref().map(|w| w.value.as_str()),
        Some("60.310"),
        "the sender's scale"
    );
    assert_eq!(notice.tracking.as_deref(), Some("5787970539"));
    // N1*SF wins over N1*SH: its address says ROAD where SH says RD.
    let from = notice
        .ship_from
        .as_ref()
        .and_then(|p| p.address.as_ref())
        .expect("N1*SF with N3");
    assert_eq!(from.lines, ["31875 SOLON ROAD"]);
}

#[test]
fn example2_without_a_shipment_id_is_rejected_at_bsn02() {
    let err = map_file(&chicago(), "oopfactory_x12parser/ORD___856__Example2.txt")
        .expect_err("BSN02 empty");
    let MappingError::InvalidDocument(d) = err else {
        panic!("expected invalid-document, got {err:?}")
    };
    assert_eq!(d.at.transaction.as_deref(), Some("0001"));
    assert_eq!(
        (d.at.segment_index, d.at.segment_id.as_deref(), d.at.element),
        (Some(2), Some("BSN"), Some(2))
    );
}

#[test]
fn a_file_whose_trailer_does_not_match_is_rejected_with_the_parsers_reason() {
    let err = map_file(&chicago(), "gozer/asn856.txt").expect_err("IEA02 != ISA13");
    let MappingError::InvalidDocument(d) = err else {
        panic!("expected invalid-document, got {err:?}")
    };
    assert!(d.message.contains("IEA02"), "{}", d.message);
    assert_eq!(d.at.segment_id.as_deref(), Some("IEA"));
}
