//! The mapping on small inline 856 documents: the layouts and fields the corpus lacks (tares, lots,
//! serials), and every way a document is refused, each with the position a partner needs to fix it.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{all_items, id, only_notice, qty, x12_856, x12_transaction};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{CanonicalEvent, Envelope, IdScheme, MappingError, Position, Purpose};
use x12_856_ship_notice::ShipNoticeMapper;

fn map(harness: &Harness, doc: Vec<u8>) -> Result<Vec<CanonicalEvent>, MappingError> {
    harness.map::<ShipNoticeMapper>(Envelope::for_bytes("acme-856", doc))
}

/// An S/O/T/P/I shipment with lots and serials every way X12 sends them.
fn pallet_document(sn1: &str) -> Vec<u8> {
    x12_856(&[
        "BSN*05*SHIP-77*20240301*0830",
        "HL*1**S",
        "TD1*PLT94*2****G*1250.5*KG",
        "TD5*B*2*ODFL*M*OLD DOMINION",
        "REF*BM*BOL-9",
        "REF*CN*PRO-123",
        "REF*PK*PACKLIST-4*printed on pallet",
        "DTM*011*20240301*0830",
        "DTM*017*20240304",
        "N1*SF*ACME STEEL*1*123456789",
        "N1*ST*PLANT 4*UL*0614141000005",
        "N3*1 MILL ROAD",
        "N4*GARY*IN*46401*US",
        "HL*2*1*O",
        "PRF*PO-4711*REL-2**20240215",
        "HL*3*2*T",
        "MAN*GM*00106141411234567890",
        "HL*4*3*P",
        "MAN*GM*00106141411234567891**CP*CARTON-1",
        "HL*5*4*I",
        "LIN*1*BP*WIDGET-1*VP*W1-ACME*LT*LOT-A*SN*S-1",
        sn1,
        "REF*LT*LOT-B",
        "REF*SE*S-2",
        "DTM*036*20250101",
        "HL*6*3*I",
        "LIN*2*UP*012345678905*MG*MFG-9",
        "SN1**3*PK",
        "CTT*2",
    ])
}

#[test]
fn a_pallet_shipment_keeps_tare_pack_lots_serials_and_decimal_quantities_as_sent() {
    let harness = Harness::new().with_config("timezone", "-05:00");
    let notice = only_notice(map(&harness, pallet_document("SN1**12.5*LB**20*LB")).expect("maps"));
    assert_eq!(notice.purpose, Purpose::Replace);
    assert_eq!(notice.shipment_id, "SHIP-77");
    assert_eq!(notice.header.id, "x12:SENDER:000000101:7:0001");
    assert_eq!(notice.header.idempotency_key, "SENDER:000000101:7:0001");
    assert_eq!(notice.header.event_time.utc, "2024-03-01T13:30:00Z");
    assert_eq!(notice.header.event_time.original_offset_minutes, Some(-300));
    assert_eq!(
        notice.expected_at.as_ref().map(|t| t.utc.as_str()),
        Some("2024-03-04T05:00:00Z")
    );
    assert_eq!(
        (notice.bill_of_lading.as_deref(), notice.tracking.as_deref()),
        (Some("BOL-9"), Some("PRO-123"))
    );
    assert_eq!(notice.references.len(), 1);
    assert_eq!(
        notice.references[0].description.as_deref(),
        Some("printed on pallet")
    );
    let lading = notice
        .lading_quantity
        .as_ref()
        .map(|q| (q.value.as_str(), q.unit.as_str()));
    assert_eq!(lading, Some(("2", "PF")));
    let gross = notice
        .gross_weight
        .as_ref()
        .map(|q| (q.value.as_str(), q.unit.as_str()));
    assert_eq!(gross, Some(("1250.5", "KGM")));
    let from = notice.ship_from.as_ref().expect("N1*SF");
    assert_eq!(
        (from.ids[0].scheme.clone(), from.name.as_deref()),
        (IdScheme::Duns, Some("ACME STEEL"))
    );
    let to = notice.ship_to.as_ref().expect("N1*ST");
    assert_eq!(to.ids[0].scheme, IdScheme::Gln);
    assert_eq!(
        to.address.as_ref().and_then(|a| a.postal_code.as_deref()),
        Some("46401")
    );

    let order = &notice.orders[0];
    let po = order.order.as_ref().expect("PRF");
    assert_eq!(
        (
            po.order_id.as_str(),
            po.release.as_deref(),
            po.order_date.as_deref()
        ),
        ("PO-4711", Some("REL-2"), Some("2024-02-15"))
    );
    let tare = &order.tares[0];
    assert_eq!(tare.sscc.as_deref(), Some("00106141411234567890"));
    let pack = &tare.packs[0];
    assert_eq!(pack.sscc.as_deref(), Some("00106141411234567891"));
    assert_eq!(
        (
            pack.marks[0].qualifier.as_str(),
            pack.marks[0].value.as_str()
        ),
        ("CP", "CARTON-1")
    );

    let item = &pack.items[0];
    assert_eq!(qty(item), ("12.5", "LBR"));
    let ordered = item
        .quantity_ordered
        .as_ref()
        .map(|q| (q.value.as_str(), q.unit.as_str()));
    assert_eq!(ordered, Some(("20", "LBR")));
    assert_eq!(id(item, IdScheme::BuyerPart), Some("WIDGET-1"));
    assert_eq!(id(item, IdScheme::VendorPart), Some("W1-ACME"));
    assert_eq!(
        item.item.ids.len(),
        2,
        "LT and SN are a lot and a serial, not item ids"
    );
    let lots: Vec<_> = item
        .lots
        .iter()
        .map(|l| (l.supplier_lot.as_deref(), l.expiry.as_deref()))
        .collect();
    assert_eq!(
        lots,
        [
            (Some("LOT-A"), Some("2025-01-01")),
            (Some("LOT-B"), Some("2025-01-01"))
        ]
    );
    assert_eq!(item.serials, ["S-1", "S-2"]);

    let on_tare = &tare.items[0];
    assert_eq!(id(on_tare, IdScheme::Gtin), Some("012345678905"));
    assert_eq!(id(on_tare, IdScheme::ManufacturerPart), Some("MFG-9"));
    assert_eq!(qty(on_tare), ("3", "PK"));
}

#[test]
fn the_same_transaction_sent_twice_gets_the_same_id_and_idempotency_key() {
    let harness = Harness::new();
    let once = only_notice(map(&harness, pallet_document("SN1**1*EA")).expect("maps"));
    let twice = only_notice(map(&harness, pallet_document("SN1**1*EA")).expect("maps"));
    assert_eq!(once.header.id, twice.header.id);
    assert_eq!(once.header.idempotency_key, twice.header.idempotency_key);
}

#[test]
fn without_a_partner_zone_times_are_read_as_utc_with_no_offset_claimed() {
    let notice = only_notice(map(&Harness::new(), pallet_document("SN1**1*EA")).expect("maps"));
    let shipped = notice.shipped_at.expect("DTM 011");
    assert_eq!(
        (shipped.utc.as_str(), shipped.original_offset_minutes),
        ("2024-03-01T08:30:00Z", None)
    );
}

#[test]
fn a_partner_table_resolves_a_unit_the_built_in_table_does_not_know() {
    let harness = Harness::new().with_lookup("units", "Z9", "KGM");
    let notice = only_notice(map(&harness, pallet_document("SN1**7*Z9")).expect("maps"));
    assert_eq!(qty(all_items(&notice)[0]), ("7", "KGM"));
}

/// The diagnostic of an error that must be `invalid-document`.
fn invalid(result: Result<Vec<CanonicalEvent>, MappingError>) -> (String, Position) {
    match result {
        Err(MappingError::InvalidDocument(d)) => (d.message, d.at),
        other => panic!("expected invalid-document, got {other:?}"),
    }
}

fn located(at: &Position) -> (Option<&str>, Option<u32>, Option<&str>, Option<u32>) {
    (
        at.transaction.as_deref(),
        at.segment_index,
        at.segment_id.as_deref(),
        at.element,
    )
}

#[test]
fn an_unknown_unit_is_an_unknown_reference_naming_the_sn1_element() {
    let err = map(&Harness::new(), pallet_document("SN1**7*Z9")).expect_err("Z9 is no unit");
    let MappingError::UnknownReference(d) = err else {
        panic!("expected unknown-reference, got {err:?}")
    };
    assert!(d.message.contains("`Z9`"), "{}", d.message);
    assert_eq!(
        located(&d.at),
        (Some("0001"), Some(23), Some("SN1"), Some(3))
    );
}

#[test]
fn an_sn1_without_quantity_or_unit_is_invalid_at_that_element() {
    let (message, at) = invalid(map(&Harness::new(), pallet_document("SN1***EA")));
    assert!(message.contains("SN102"), "{message}");
    assert_eq!(located(&at), (Some("0001"), Some(23), Some("SN1"), Some(2)));

    let (_, at) = invalid(map(&Harness::new(), pallet_document("SN1**5")));
    assert_eq!(located(&at), (Some("0001"), Some(23), Some("SN1"), Some(3)));

    let (message, at) = invalid(map(&Harness::new(), pallet_document("SN1**12,5*EA")));
    assert!(message.contains("`12,5` is not a decimal"), "{message}");
    assert_eq!(at.element, Some(2));

    let (_, at) = invalid(map(&Harness::new(), pallet_document("SN1**12*EA**20")));
    assert_eq!(at.element, Some(6), "SN105 without its unit");
}

#[test]
fn a_document_that_is_not_an_856_is_invalid_naming_its_code() {
    let (message, at) = invalid(map(
        &Harness::new(),
        x12_transaction("810", &["BIG*20240301*INV-1"]),
    ));
    assert!(message.contains("810"), "{message}");
    assert_eq!(located(&at), (Some("0001"), Some(1), Some("ST"), Some(1)));
}

#[test]
fn an_856_without_bsn_is_invalid() {
    let (message, at) = invalid(map(
        &Harness::new(),
        x12_856(&["HL*1**S", "HL*2*1*I", "LIN**BP*X", "SN1**1*EA"]),
    ));
    assert!(message.contains("BSN"), "{message}");
    assert_eq!(
        (at.transaction.as_deref(), at.segment_id.as_deref()),
        (Some("0001"), Some("BSN"))
    );
}

#[test]
fn an_unknown_purpose_code_is_invalid_at_bsn01() {
    let (message, at) = invalid(map(
        &Harness::new(),
        x12_856(&["BSN*99*S1*20240301*0830", "HL*1**S"]),
    ));
    assert!(message.contains("`99`"), "{message}");
    assert_eq!(located(&at), (Some("0001"), Some(2), Some("BSN"), Some(1)));
}

#[test]
fn an_hl_level_the_plugin_does_not_know_is_invalid_at_hl03() {
    let doc = x12_856(&[
        "BSN*00*S1*20240301*0830",
        "HL*1**S",
        "HL*2*1*X",
        "HL*3*2*I",
        "LIN**BP*X",
        "SN1**1*EA",
    ]);
    let (message, at) = invalid(map(&Harness::new(), doc));
    assert!(message.contains("`X`"), "{message}");
    assert_eq!(located(&at), (Some("0001"), Some(4), Some("HL"), Some(3)));
}

#[test]
fn an_order_under_an_item_is_invalid_at_hl02() {
    let doc = x12_856(&[
        "BSN*00*S1*20240301*0830",
        "HL*1**S",
        "HL*2*1*I",
        "LIN**BP*X",
        "SN1**1*EA",
        "HL*3*2*O",
    ]);
    let (_, at) = invalid(map(&Harness::new(), doc));
    assert_eq!(located(&at), (Some("0001"), Some(7), Some("HL"), Some(2)));
}

#[test]
fn a_parent_is_found_by_number_as_the_parser_checks_it_and_by_text_when_not_a_number() {
    // HL02 `01` names HL01 `1`, as the host's parser accepts; `A`, `B` are ids that are not numbers.
    let doc = x12_856(&[
        "BSN*00*S1*20240301*0830",
        "HL*1**S",
        "HL*2*01*O",
        "PRF*PO-1",
        "HL*A*1*O",
        "PRF*PO-2",
        "HL*B*A*P",
        "MAN*GM*00106141411234567891",
        "HL*3*002*I",
        "LIN**BP*X",
        "SN1**1*EA",
        "HL*C*B*I",
        "LIN**BP*Y",
        "SN1**2*EA",
    ]);
    let notice = only_notice(map(&Harness::new(), doc).expect("maps"));
    let orders: Vec<_> = notice
        .orders
        .iter()
        .map(|o| {
            let order = o.order.as_ref().map(|r| r.order_id.as_str());
            let loose: Vec<_> = o.items.iter().map(|i| qty(i).0).collect();
            let packed: Vec<_> = o
                .packs
                .iter()
                .flat_map(|p| p.items.iter().map(|i| qty(i).0))
                .collect();
            (order, loose, packed)
        })
        .collect();
    assert_eq!(
        orders,
        vec![
            (Some("PO-1"), vec!["1"], vec![]),
            (Some("PO-2"), vec![], vec!["2"]),
        ]
    );
}

#[test]
fn an_item_loop_without_lin_or_sn1_is_invalid() {
    let doc = x12_856(&[
        "BSN*00*S1*20240301*0830",
        "HL*1**S",
        "HL*2*1*I",
        "SN1**1*EA",
    ]);
    let (message, at) = invalid(map(&Harness::new(), doc));
    assert!(message.contains("LIN"), "{message}");
    assert_eq!(located(&at), (Some("0001"), Some(4), Some("HL"), Some(3)));

    let doc = x12_856(&[
        "BSN*00*S1*20240301*0830",
        "HL*1**S",
        "HL*2*1*I",
        "LIN**BP*X",
    ]);
    let (message, _) = invalid(map(&Harness::new(), doc));
    assert!(message.contains("SN1"), "{message}");
}

#[test]
fn an_impossible_ship_date_is_invalid_at_dtm02() {
    let doc = x12_856(&[
        "BSN*00*S1*20240301*0830",
        "HL*1**S",
        "DTM*011*20240230",
        "HL*2*1*I",
        "LIN**BP*X",
        "SN1**1*EA",
    ]);
    let (message, at) = invalid(map(&Harness::new(), doc));
    assert!(message.contains("20240230"), "{message}");
    assert_eq!(located(&at), (Some("0001"), Some(4), Some("DTM"), Some(2)));
}

#[test]
fn bytes_that_are_not_edi_are_invalid() {
    let (message, _) = invalid(map(&Harness::new(), b"PO,ITEM,QTY\n1,A,2\n".to_vec()));
    assert!(!message.is_empty());
}
