//! The mapping's rules on small inline DESADV messages: dates by format and offset, purposes, parties,
//! references, the carrier, the CPS hierarchy and how it is split by order, batches and serials, units and
//! counts, and every way a message is refused, each with the position the supplier needs to fix it.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{all_items, desadv, edifact, invalid, located, map, notices, only, qty, rhein_stahl};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{Envelope, IdScheme, MappingError, Purpose, Timestamp};

use edifact_desadv_ship_notice::DespatchAdviceMapper;

const BGM: &str = "BGM+351+DES-1+9";
const LIN: [&str; 2] = ["LIN+1++4012345100013:EN", "QTY+12:10:KGM"];

fn with_lines(head: &[&str]) -> Vec<u8> {
    let mut body: Vec<&str> = head.to_vec();
    body.extend(LIN);
    desadv(&body)
}

#[test]
fn dates_are_read_by_their_format_in_the_partner_zone_unless_they_carry_an_offset() {
    /// An instant as `(UTC, original offset)`.
    type At<'a> = (&'a str, Option<i32>);
    /// The DTMs, the despatch instant they give, the expected instant.
    type Case<'a> = (&'a [&'a str], At<'a>, Option<At<'a>>);
    let cases: &[Case<'_>] = &[
        (
            &["DTM+11:20240611:102"],
            ("2024-06-10T22:00:00Z", Some(120)),
            None,
        ),
        (
            &["DTM+11:202406111415:203", "DTM+17:20240709141530:204"],
            ("2024-06-11T12:15:00Z", Some(120)),
            Some(("2024-07-09T12:15:30Z", Some(120))),
        ),
        (
            &["DTM+11:202406111415-0500:205"],
            ("2024-06-11T19:15:00Z", Some(-300)),
            None,
        ),
        (
            &[
                "DTM+11:202406111415:203",
                "DTM+735:?+0000:406",
                "DTM+132:202407091400:203",
            ],
            ("2024-06-11T14:15:00Z", Some(0)),
            Some(("2024-07-09T12:00:00Z", Some(120))),
        ),
        // DTM 17 wins over DTM 132, wherever each stands.
        (
            &[
                "DTM+132:20240708:102",
                "DTM+17:20240709:102",
                "DTM+11:240611:101",
            ],
            ("2024-06-10T22:00:00Z", Some(120)),
            Some(("2024-07-08T22:00:00Z", Some(120))),
        ),
    ];
    for (dates, shipped, expected) in cases {
        let mut head = vec![BGM];
        head.extend(*dates);
        let notice = only(map(&rhein_stahl(), with_lines(&head)).expect("maps"));
        let at = |t: &Option<Timestamp>| {
            t.as_ref()
                .map(|t| (t.utc.clone(), t.original_offset_minutes))
        };
        assert_eq!(
            at(&notice.shipped_at),
            Some((shipped.0.to_owned(), shipped.1)),
            "{dates:?}"
        );
        assert_eq!(
            at(&notice.expected_at),
            expected.map(|(u, o)| (u.to_owned(), o)),
            "{dates:?}"
        );
        assert_eq!(
            notice.header.event_time,
            notice.shipped_at.clone().expect("DTM 11"),
            "{dates:?}"
        );
    }
}

#[test]
fn the_event_time_is_the_despatch_date_else_the_message_date_else_when_it_arrived() {
    let notice = only(
        map(
            &rhein_stahl(),
            with_lines(&[BGM, "DTM+137:202406111418:203"]),
        )
        .expect("maps"),
    );
    assert_eq!(notice.header.event_time.utc, "2024-06-11T12:18:00Z");
    assert_eq!(notice.shipped_at, None);

    let mut envelope = Envelope::for_bytes("rhein-stahl-desadv", with_lines(&[BGM]));
    envelope.received_at = Timestamp::utc("2024-06-11T13:05:00Z");
    let notice = only(
        rhein_stahl()
            .map::<DespatchAdviceMapper>(envelope)
            .expect("maps"),
    );
    assert_eq!(notice.header.event_time.utc, "2024-06-11T13:05:00Z");
}

#[test]
fn without_a_partner_zone_local_times_are_read_as_utc_with_no_offset_claimed() {
    let notice = only(
        map(
            &Harness::new(),
            with_lines(&[BGM, "DTM+11:202406111415:203"]),
        )
        .expect("maps"),
    );
    let shipped = notice.shipped_at.expect("DTM 11");
    assert_eq!(
        (shipped.utc.as_str(), shipped.original_offset_minutes),
        ("2024-06-11T14:15:00Z", None)
    );
}

#[test]
fn every_message_function_code_reads_as_its_purpose() {
    use Purpose::*;
    for (code, purpose) in [
        ("9", Original),
        ("", Original),
        ("1", Cancel),
        ("3", Cancel),
        ("4", Change),
        ("5", Replace),
        ("6", Confirmation),
        ("7", Duplicate),
        ("31", Duplicate),
    ] {
        let bgm = format!("BGM+351+DES-1+{code}");
        let notice = only(map(&rhein_stahl(), with_lines(&[&bgm])).expect("maps"));
        assert_eq!(notice.purpose, purpose, "1225 `{code}`");
    }
}

#[test]
fn parties_prefer_ship_from_and_ship_to_and_take_their_scheme_from_the_agency() {
    let notice = only(
        map(
            &rhein_stahl(),
            with_lines(&[
                BGM,
                "NAD+SU+4012345000009::9++RHEIN STAHL AG",
                "RFF+VA:DE811234567",
                "NAD+SF+150000001::16++RHEIN STAHL AG:WERK HAGEN:TOR 3+INDUSTRIESTRASSE 40:HALLE 2+HAGEN+NW+58099+DE",
                "NAD+DP+5412345000020::9",
                "NAD+ST+P2::92++ACME PLANT P2",
            ]),
        )
        .expect("maps"),
    );
    let from = notice.ship_from.expect("NAD+SF");
    assert_eq!(
        (from.ids[0].scheme.clone(), from.ids[0].value.as_str()),
        (IdScheme::Duns, "150000001")
    );
    assert_eq!(
        from.name.as_deref(),
        Some("RHEIN STAHL AG WERK HAGEN TOR 3")
    );
    let address = from.address.expect("NAD address parts");
    assert_eq!(address.lines, ["INDUSTRIESTRASSE 40", "HALLE 2"]);
    assert_eq!(
        (
            address.city.as_deref(),
            address.region.as_deref(),
            address.postal_code.as_deref(),
            address.country.as_deref()
        ),
        (Some("HAGEN"), Some("NW"), Some("58099"), Some("DE"))
    );
    let to = notice.ship_to.expect("NAD+ST");
    assert_eq!(
        (to.ids[0].scheme.clone(), to.address),
        (IdScheme::MutuallyDefined, None)
    );
    assert!(
        notice.references.is_empty(),
        "the VAT number belongs to the supplier, not the shipment"
    );
}

#[test]
fn references_keep_their_qualifier_and_the_first_bm_and_cn_have_fields_of_their_own() {
    let notice = only(
        map(
            &rhein_stahl(),
            desadv(&[
                BGM,
                "RFF+BM:BOL-1",
                "RFF+BM:BOL-2",
                "RFF+CN:PRO-9",
                "RFF+AAK:DN-7",
                "CPS+1",
                "LIN+1++4012345100013:EN",
                "QTY+12:10:KGM",
                "RFF+LI:0042",
            ]),
        )
        .expect("maps"),
    );
    assert_eq!(
        (notice.bill_of_lading.as_deref(), notice.tracking.as_deref()),
        (Some("BOL-1"), Some("PRO-9"))
    );
    let refs: Vec<_> = notice
        .references
        .iter()
        .map(|r| (r.qualifier.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(refs, [("BM", "BOL-2"), ("AAK", "DN-7"), ("LI", "0042")]);
}

#[test]
fn the_carrier_is_named_its_scac_read_only_from_the_scac_code_list_and_its_mode_kept_as_sent() {
    for (tdt, scac, name, mode) in [
        (
            "TDT+20++30++ODFL::182:OLD DOMINION",
            Some("ODFL"),
            Some("OLD DOMINION"),
            Some("30"),
        ),
        (
            "TDT+20++10++4012345000092::9:RHEIN SHIPPING",
            None,
            Some("RHEIN SHIPPING"),
            Some("10"),
        ),
    ] {
        let notice = only(map(&rhein_stahl(), with_lines(&[BGM, tdt])).expect("maps"));
        let carrier = notice.carrier.expect("TDT");
        assert_eq!(
            (
                carrier.scac.as_deref(),
                carrier.name.as_deref(),
                carrier.transport_mode.as_deref()
            ),
            (scac, name, mode),
            "{tdt}"
        );
    }
    let notice = only(map(&rhein_stahl(), with_lines(&[BGM, "TDT+20"])).expect("maps"));
    assert_eq!(
        notice.carrier, None,
        "a TDT that names nothing is no carrier"
    );
}

#[test]
fn items_take_ids_by_type_batches_and_serials_from_pia_and_gin_and_the_expiry_of_dtm_36() {
    let notice = only(
        map(
            &rhein_stahl(),
            desadv(&[
                BGM,
                "CPS+1",
                "LIN+7++4012345100013:SRV",
                "PIA+5+RS-1:SA+ACME-1:BP+MFG-1:MF+HEAT-1:NB+SER-1:SN",
                "PIA+1+X9:HS",
                "IMD+F++:::STRIP:DC04",
                "QTY+12:1.500",
                "QTY+21:2:TNE",
                "PCI+36E",
                "DTM+36:20250101:102",
                "GIN+BX+HEAT-2+HEAT-1",
                "GIN+BN+SER-2",
            ]),
        )
        .expect("maps"),
    );
    let item = all_items(&notice)[0];
    let ids: Vec<_> = item
        .item
        .ids
        .iter()
        .map(|i| (i.scheme.clone(), i.value.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (IdScheme::Gtin, "4012345100013"),
            (IdScheme::VendorPart, "RS-1"),
            (IdScheme::BuyerPart, "ACME-1"),
            (IdScheme::ManufacturerPart, "MFG-1"),
            (IdScheme::Other("HS".into()), "X9"),
        ]
    );
    assert_eq!(item.item.description.as_deref(), Some("STRIP DC04"));
    assert_eq!(
        qty(item),
        ("1.500", "H87"),
        "no unit: a count of pieces (PCE)"
    );
    assert_eq!(
        item.quantity_ordered
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("2", "TNE"))
    );
    let lots: Vec<_> = item
        .lots
        .iter()
        .map(|l| (l.supplier_lot.as_deref(), l.expiry.as_deref()))
        .collect();
    assert_eq!(
        lots,
        [
            (Some("HEAT-1"), Some("2025-01-01")),
            (Some("HEAT-2"), Some("2025-01-01"))
        ]
    );
    assert_eq!(item.serials, ["SER-1", "SER-2"]);
    assert_eq!(
        item.line_number.as_deref(),
        Some("7"),
        "no RFF+ON line: LIN's own number"
    );
}

#[test]
fn lines_with_orders_of_their_own_split_a_pallet_between_the_orders() {
    let notice = only(
        map(
            &rhein_stahl(),
            desadv(&[
                BGM,
                "RFF+ON:PO-A",
                "DTM+171:20240501:102",
                "RFF+ON:PO-B",
                "CPS+1",
                "PAC+1++201",
                "LIN+1++1:EN",
                "QTY+12:1",
                "RFF+ON:PO-B:3",
                "CPS+2+1",
                "PAC+1++201",
                "PCI+33E",
                "GIN+BJ+340123450000000079",
                "CPS+3+2",
                "GIN+BJ+340123450000000086",
                "LIN+2++2:EN",
                "QTY+12:2",
                "RFF+ON:PO-A:1",
                "LIN+3++3:EN",
                "QTY+12:3",
                "RFF+ON:PO-C:1",
                "DTM+171:20240502:102",
                "CPS+4+2",
                "LIN+4++4:EN",
                "QTY+12:4",
                "RFF+ON:PO-A:2",
                "CPS+5+1",
                "GIN+BJ+340123450000000093",
            ]),
        )
        .expect("maps"),
    );
    let shape: Vec<_> = notice
        .orders
        .iter()
        .map(|o| {
            (
                o.order
                    .as_ref()
                    .map(|r| (r.order_id.as_str(), r.order_date.as_deref())),
                o.tares
                    .iter()
                    .map(|t| {
                        (
                            t.sscc.as_deref(),
                            t.packs
                                .iter()
                                .map(|p| {
                                    (
                                        p.sscc.as_deref(),
                                        p.items.iter().map(|i| qty(i).0).collect::<Vec<_>>(),
                                    )
                                })
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect::<Vec<_>>(),
                o.packs
                    .iter()
                    .map(|p| p.sscc.as_deref())
                    .collect::<Vec<_>>(),
                o.items.iter().map(|i| qty(i).0).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                Some(("PO-A", Some("2024-05-01"))),
                vec![(
                    Some("340123450000000079"),
                    vec![(Some("340123450000000086"), vec!["2"]), (None, vec!["4"])]
                )],
                // CPS 5 has no line: it goes with the first order.
                vec![Some("340123450000000093")],
                vec![],
            ),
            (Some(("PO-B", None)), vec![], vec![], vec!["1"]),
            (
                Some(("PO-C", Some("2024-05-02"))),
                vec![(
                    Some("340123450000000079"),
                    vec![(Some("340123450000000086"), vec!["3"])]
                )],
                vec![],
                vec![],
            ),
        ]
    );
    let lines: Vec<_> = all_items(&notice)
        .iter()
        .map(|i| i.line_number.as_deref())
        .collect();
    assert_eq!(lines, [Some("1"), Some("2"), Some("3"), Some("1")]);
    // PAC+1++201 on the consignment: one pallet.
    assert_eq!(
        notice
            .lading_quantity
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("1", "PF"))
    );
}

#[test]
fn a_root_cps_with_an_sscc_is_a_package_and_lines_without_any_order_share_one_group() {
    let notice = only(
        map(
            &rhein_stahl(),
            desadv(&[
                BGM,
                "LIN+1++1:EN",
                "QTY+12:1",
                "CPS+1",
                "PAC+1++CT",
                "MEA+PD+AAB+KGM:12,5",
                "PCI+33E",
                "GIN+BJ+340123450000000017",
                "GIN+ML+LABEL-1",
                "LIN+2++2:EN",
                "QTY+12:2",
            ]),
        )
        .expect("maps"),
    );
    assert_eq!(notice.orders.len(), 1);
    let order = &notice.orders[0];
    assert_eq!(order.order, None);
    assert_eq!(
        order.items.iter().map(|i| qty(i).0).collect::<Vec<_>>(),
        ["1"],
        "a LIN before any CPS is loose"
    );
    let pack = &order.packs[0];
    assert_eq!(pack.sscc.as_deref(), Some("340123450000000017"));
    assert_eq!(pack.packaging.as_deref(), Some("CT"));
    assert_eq!(
        pack.weight
            .as_ref()
            .map(|w| (w.value.as_str(), w.unit.as_str())),
        Some(("12.5", "KGM"))
    );
    assert_eq!(
        pack.marks
            .iter()
            .map(|m| (m.qualifier.as_str(), m.value.as_str()))
            .collect::<Vec<_>>(),
        [("ML", "LABEL-1")]
    );
    assert_eq!(
        notice.lading_quantity, None,
        "the only PAC belongs to a package, not the consignment"
    );
}

#[test]
fn a_package_type_without_a_unit_leaves_the_count_out_and_says_so_unless_the_tenant_table_has_it() {
    let doc = || desadv(&[BGM, "CPS+1", "PAC+3++CL", "LIN+1++1:EN", "QTY+12:1"]);
    let harness = rhein_stahl();
    let notice = only(map(&harness, doc()).expect("maps"));
    assert_eq!(notice.lading_quantity, None);
    assert!(
        harness.logs().iter().any(|l| l.message.contains("`CL`")),
        "{:?}",
        harness.logs()
    );
    let notice =
        only(map(&rhein_stahl().with_lookup("packaging", "CL", "CL"), doc()).expect("maps"));
    assert_eq!(
        notice
            .lading_quantity
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("3", "CL"))
    );
}

#[test]
fn the_tenant_unit_table_wins_and_an_unknown_unit_is_parked_naming_the_code_and_the_table() {
    let notice = only(
        map(
            &rhein_stahl().with_lookup("units", "PCE", "C62"),
            desadv(&[BGM, "LIN+1++1:EN", "QTY+12:4:PCE"]),
        )
        .expect("maps"),
    );
    assert_eq!(qty(all_items(&notice)[0]), ("4", "C62"));

    let err = map(
        &rhein_stahl(),
        desadv(&[BGM, "LIN+1++1:EN", "QTY+12:4:XYZ"]),
    )
    .expect_err("XYZ is no unit");
    let MappingError::UnknownReference(d) = err else {
        panic!("expected unknown-reference, got {err:?}")
    };
    assert!(
        d.message.contains("`XYZ`") && d.message.contains("`units`"),
        "{}",
        d.message
    );
    assert_eq!(
        located(&d.at),
        (Some("9"), Some(4), Some("QTY"), Some(1), Some(3))
    );
    assert_eq!(d.code.as_deref(), Some("unknown-unit"));
}

#[test]
fn the_same_message_sent_twice_gets_the_same_id_and_idempotency_key() {
    let once = only(map(&rhein_stahl(), with_lines(&[BGM])).expect("maps"));
    let twice = only(map(&rhein_stahl(), with_lines(&[BGM])).expect("maps"));
    assert_eq!(once.header.id, "edifact:4012345000009:IC77:9");
    assert_eq!(
        (once.header.id, once.header.idempotency_key),
        (twice.header.id, twice.header.idempotency_key)
    );
}

#[test]
fn a_d01b_message_maps_like_a_d96a_one() {
    let body = [
        BGM,
        "DTM+11:202406111415:203",
        "LIN+1++4012345100013:SRV",
        "QTY+12:10:KGM",
    ];
    let d01b = only(map(&rhein_stahl(), edifact("DESADV:D:01B:UN:EAN007", &body)).expect("maps"));
    let plain = only(map(&rhein_stahl(), edifact("DESADV:D:96A:UN", &body)).expect("maps"));
    assert_eq!(d01b.orders, plain.orders);
    assert_eq!(d01b.shipped_at, plain.shipped_at);
}

#[test]
fn an_orders_message_on_the_desadv_route_is_invalid_naming_what_was_expected_and_what_came() {
    let (message, at, code) = invalid(map(
        &rhein_stahl(),
        edifact("ORDERS:D:96A:UN:EAN008", &["BGM+220+PO-1+9"]),
    ));
    assert!(
        message.contains("expected an EDIFACT DESADV") && message.contains("ORDERS (EDIFACT)"),
        "{message}"
    );
    assert_eq!(
        located(&at),
        (Some("9"), Some(1), Some("UNH"), Some(2), None)
    );
    assert_eq!(code.as_deref(), Some("wrong-transaction"));
}

#[test]
fn an_x12_856_on_the_desadv_route_is_invalid_naming_it() {
    let x12 = b"ISA*00*          *00*          *ZZ*RHEINSTAHL     *ZZ*ACMEMFG        *240611*1420*U*00401*000000042*0*P*>~\
GS*SH*RHEINSTAHL*ACMEMFG*20240611*1420*42*X*004010~ST*856*0001~BSN*00*S-1*20240611*1418~SE*3*0001~GE*1*42~IEA*1*000000042~";
    let (message, at, _) = invalid(map(&rhein_stahl(), x12.to_vec()));
    assert!(message.contains("856 (X12)"), "{message}");
    assert_eq!(
        located(&at),
        (Some("0001"), Some(1), Some("ST"), Some(1), None)
    );
}

#[test]
fn refusals_point_at_the_segment_element_and_component_to_fix() {
    /// The body, where the error is (segment index, tag, element, component; 0 for none), what the message
    /// says, the code.
    type Case<'a> = (&'a [&'a str], (u32, &'a str, u32, u32), &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &["DTM+11:20240611:102"],
            (2, "BGM", 0, 0),
            "no BGM",
            "missing-segment",
        ),
        (
            &["BGM+220+PO-1+9"],
            (2, "BGM", 1, 1),
            "`220` is not 351",
            "wrong-document",
        ),
        (
            &["BGM+351++9"],
            (2, "BGM", 2, 1),
            "document number (1004) is required",
            "missing-element",
        ),
        (
            &["BGM+351+DES-1+2"],
            (2, "BGM", 3, 0),
            "(1225) `2`",
            "unknown-purpose",
        ),
        (
            &[BGM, "DTM+11:2024061114:203"],
            (3, "DTM", 1, 2),
            "does not fit format 203",
            "invalid-date",
        ),
        (
            &[BGM, "DTM+11:20240611:718"],
            (3, "DTM", 1, 3),
            "`718`",
            "invalid-date",
        ),
        (
            &[BGM, "DTM+11:20240631:102"],
            (3, "DTM", 1, 2),
            "20240631",
            "invalid-date",
        ),
        (
            &[BGM, "DTM+11:202406111415:203", "DTM+735:+1:406"],
            (4, "DTM", 1, 2),
            "735",
            "invalid-date",
        ),
        (
            &[BGM, "RFF+ON:PO-1", "DTM+171:2024-05-01:102"],
            (4, "DTM", 1, 2),
            "does not fit",
            "invalid-date",
        ),
        (
            &[BGM, "MEA+PD+AAD+KGM:heavy"],
            (3, "MEA", 3, 2),
            "`heavy` is not a number",
            "invalid-quantity",
        ),
        (
            &[BGM, "LIN+1++1:EN"],
            (3, "LIN", 1, 0),
            "no QTY+12",
            "missing-segment",
        ),
        (
            &[BGM, "LIN+1++1:EN", "QTY+12:1.2.3:KGM"],
            (4, "QTY", 1, 2),
            "`1.2.3` is not a number",
            "invalid-quantity",
        ),
        (
            &[BGM, "LIN+1++1:EN", "QTY+12::KGM"],
            (4, "QTY", 1, 2),
            "quantity (6060) is required",
            "missing-element",
        ),
        (
            &[BGM, "RFF+ON:PO-1", "RFF+ON:PO-2", "LIN+1++1:EN", "QTY+12:1"],
            (5, "LIN", 1, 0),
            "heading names 2 (PO-1, PO-2)",
            "ambiguous-order",
        ),
        (
            &[BGM, "CPS+1", "CPS+2+7"],
            (4, "CPS", 2, 0),
            "parent `7`",
            "unknown-parent",
        ),
        (
            &[BGM, "CPS+1", "CPS+2+2"],
            (4, "CPS", 2, 0),
            "parent `2`",
            "unknown-parent",
        ),
        (
            &[BGM, "CPS+1", "CPS+01"],
            (4, "CPS", 1, 0),
            "repeats the id",
            "duplicate-package",
        ),
        (
            &[BGM, "CPS+1", "CPS+2+1", "CPS+3+2", "CPS+4+3"],
            (6, "CPS", 2, 0),
            "third level",
            "too-deep",
        ),
        (
            &[
                BGM,
                "CPS+1",
                "CPS+2+1",
                "GIN+BJ+340123450000000017+340123450000000024",
                "LIN+1++1:EN",
                "QTY+12:1",
            ],
            (5, "GIN", 2, 0),
            "2 SSCCs",
            "several-packages",
        ),
        (
            &[BGM, "LIN+1++1:EN", "QTY+12:1", "CNT+2:2"],
            (5, "CNT", 1, 2),
            "says the message has 2 line items, but it has 1",
            "total-mismatch",
        ),
        (
            &[BGM, "LIN+1++1:EN", "QTY+12:1", "UNS+S", "CNT+2:one"],
            (6, "CNT", 1, 2),
            "`one`",
            "invalid-quantity",
        ),
    ];
    for (body, (index, segment, element, component), says, expected_code) in cases {
        let (message, at, code) = invalid(map(&rhein_stahl(), desadv(body)));
        assert!(message.contains(says), "{body:?}: {message}");
        let some = |n: u32| (n > 0).then_some(n);
        assert_eq!(
            located(&at),
            (
                Some("9"),
                Some(*index),
                Some(*segment),
                some(*element),
                some(*component)
            ),
            "{body:?}: {message}"
        );
        assert_eq!(code.as_deref(), Some(*expected_code), "{body:?}");
    }
}

#[test]
fn a_message_whose_cnt_matches_passes_and_every_message_of_a_file_maps() {
    let mut doc =
        String::from("UNA:+.? 'UNB+UNOC:3+4012345000009:14+5412345000013:14+240611:1420+IC78'");
    for (reference, number) in [("1", "DES-1"), ("2", "DES-2")] {
        doc.push_str(&format!(
            "UNH+{reference}+DESADV:D:96A:UN:EAN005'BGM+351+{number}+9'LIN+1++1:EN'QTY+12:1'UNS+S'CNT+2:1'UNT+7+{reference}'"
        ));
    }
    doc.push_str("UNZ+2+IC78'");
    let all = notices(map(&rhein_stahl(), doc.into_bytes()).expect("maps"));
    let ids: Vec<_> = all
        .iter()
        .map(|n| (n.shipment_id.as_str(), n.header.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("DES-1", "edifact:4012345000009:IC78:1"),
            ("DES-2", "edifact:4012345000009:IC78:2")
        ]
    );
}
