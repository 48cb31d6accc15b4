//! The mapping's rules on small inline 855 documents: how the acknowledgment type and the line codes read, which
//! date is a promise, what a PO1 without an ACK means, and every way a document is refused, each with the
//! position a supplier needs to fix it.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{brightwire, invalid, located, map, only, summary, x12, x12_855};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{AcknowledgmentStatus, IdScheme, LineStatus, MappingError};

const BAK: &str = "BAK*00*AD*4500013001*20240610";

#[test]
fn every_bak02_type_reads_as_its_status_and_lines_without_ack_follow_it() {
    use AcknowledgmentStatus::*;
    for (code, status, line) in [
        ("AC", AcceptedWithChanges, LineStatus::Accepted),
        ("AD", Accepted, LineStatus::Accepted),
        ("AE", AcceptedWithChanges, LineStatus::Accepted),
        ("AK", Accepted, LineStatus::Accepted),
        ("AP", Accepted, LineStatus::Accepted),
        ("AT", Accepted, LineStatus::Accepted),
        ("RD", Rejected, LineStatus::Rejected),
        ("RF", Rejected, LineStatus::Rejected),
        ("RJ", Rejected, LineStatus::Rejected),
        ("RO", Rejected, LineStatus::Rejected),
    ] {
        let bak = format!("BAK*00*{code}*4500013001*20240610");
        let ack = only(
            map(
                &brightwire(),
                x12_855(&[&bak, "DTM*068*20240617", "PO1*1*10*EA***BP*FST-M10-40"]),
            )
            .expect("maps"),
        );
        assert_eq!(ack.status, status, "BAK02 {code}");
        assert_eq!(
            ack.lines[0].status, line,
            "PO1 without ACK under BAK02 {code}"
        );
        let promise = (line == LineStatus::Accepted).then_some("2024-06-17");
        assert_eq!(
            ack.lines[0].promised_date.as_deref(),
            promise,
            "BAK02 {code}"
        );
    }
}

#[test]
fn every_ack01_code_in_the_table_reads_as_its_line_status() {
    use LineStatus::*;
    for (code, status) in [
        ("AC", Accepted),
        ("AR", Accepted),
        ("BP", BackOrdered),
        ("DR", Changed),
        ("IA", Accepted),
        ("IB", BackOrdered),
        ("IC", Changed),
        ("ID", Rejected),
        ("IE", Accepted),
        ("IP", Changed),
        ("IQ", Changed),
        ("IR", Rejected),
        ("IS", Changed),
        ("R1", Rejected),
        ("R2", Rejected),
        ("R3", Rejected),
        ("R4", Rejected),
        ("R5", Rejected),
        ("R6", Rejected),
        ("R7", Rejected),
        ("R8", Rejected),
        ("SP", Accepted),
    ] {
        let ack_segment = format!("ACK*{code}*10*EA");
        let ack = only(
            map(
                &brightwire(),
                x12_855(&[BAK, "PO1*1*10*EA***BP*FST-M10-40", &ack_segment]),
            )
            .expect("maps"),
        );
        assert_eq!(ack.lines[0].status, status, "ACK01 {code}");
    }
}

#[test]
fn a_promise_comes_from_the_ack_then_the_po1_loop_then_the_header_and_only_with_a_promise_qualifier()
 {
    let ack = only(
        map(
            &brightwire(),
            x12_855(&[
                BAK,
                "DTM*002*20240601",
                "DTM*068*20240617",
                "PO1*1*10*EA***BP*A",
                "ACK*IA*10*EA*017*20240620",
                "PO1*2*10*EA***BP*B",
                "DTM*079*20240618",
                "ACK*IA*10*EA",
                "PO1*3*10*EA***BP*C",
                "ACK*IA*10*EA*002*20240605",
                "PO1*4*10*EA***BP*D",
                "ACK*IA*10*EA*069*20240621",
                "ACK*IR*0*EA*068*20240622",
            ]),
        )
        .expect("maps"),
    );
    let promises: Vec<_> = ack
        .lines
        .iter()
        .map(|l| l.promised_date.as_deref())
        .collect();
    assert_eq!(
        promises,
        [
            Some("2024-06-20"),
            Some("2024-06-18"),
            // 002 (delivery requested) is the buyer's wish, not a promise: the header's 068 applies.
            Some("2024-06-17"),
            Some("2024-06-21"),
            // A rejected line keeps a date its own ACK gives.
            Some("2024-06-22"),
        ]
    );
}

#[test]
fn without_ack02_the_line_takes_the_ordered_quantity_and_without_po101_its_position() {
    let ack = only(
        map(
            &brightwire(),
            x12_855(&[
                BAK,
                "PO1**250*LB***VP*BW-FW10-ZP*BP*FST-WSH-M10",
                "ACK*IA",
                "PO1**3*CA***UP*012345678905",
                "ACK*IB**",
            ]),
        )
        .expect("maps"),
    );
    use LineStatus::*;
    assert_eq!(
        summary(&ack),
        [
            ("1", Some("FST-WSH-M10"), "250", "LBR", Accepted, None),
            ("2", None, "3", "CS", BackOrdered, None),
        ]
    );
    assert_eq!(ack.lines[1].item.id(&IdScheme::Gtin), Some("012345678905"));
    assert_eq!(
        ack.lines[0].item.ids.first().map(|id| id.scheme.clone()),
        Some(IdScheme::VendorPart),
        "ids keep the order the supplier sent them in"
    );
}

#[test]
fn an_acknowledgment_without_lines_says_only_its_status() {
    let ack = only(map(&brightwire(), x12_855(&["BAK*00*RJ*4500013001*20240610"])).expect("maps"));
    assert_eq!(ack.status, AcknowledgmentStatus::Rejected);
    assert!(ack.lines.is_empty());
    // No BAK09: the event time is BAK04.
    assert_eq!(ack.header.event_time.utc, "2024-06-10T05:00:00Z");
}

#[test]
fn without_a_partner_zone_dates_are_read_as_utc_with_no_offset_claimed() {
    let ack = only(map(&Harness::new(), x12_855(&[BAK])).expect("maps"));
    assert_eq!(
        (
            ack.header.event_time.utc.as_str(),
            ack.header.event_time.original_offset_minutes
        ),
        ("2024-06-10T00:00:00Z", None)
    );
}

#[test]
fn the_same_transaction_sent_twice_gets_the_same_id_and_idempotency_key() {
    let doc = || x12_855(&[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10*EA"]);
    let once = only(map(&brightwire(), doc()).expect("maps"));
    let twice = only(map(&brightwire(), doc()).expect("maps"));
    assert_eq!(once.header.id, "x12:BRIGHTWIRE:000000812:812:0001");
    assert_eq!(
        (once.header.id, once.header.idempotency_key),
        (twice.header.id, twice.header.idempotency_key)
    );
}

#[test]
fn a_partner_unit_table_resolves_a_unit_the_built_in_table_does_not_know() {
    let harness = brightwire().with_lookup("units", "BG", "BG");
    let ack = only(
        map(
            &harness,
            x12_855(&[BAK, "PO1*1*10*BG***BP*A", "ACK*IA*12*BG"]),
        )
        .expect("maps"),
    );
    assert_eq!(
        (
            ack.lines[0].quantity.value.as_str(),
            ack.lines[0].quantity.unit.as_str()
        ),
        ("12", "BG")
    );
}

#[test]
fn an_unknown_unit_is_parked_as_unknown_reference_naming_the_code_and_the_table() {
    let err = map(
        &brightwire(),
        x12_855(&[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10*ZZ"]),
    )
    .expect_err("ZZ is no unit");
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
        (Some("0001"), Some(4), Some("ACK"), Some(3))
    );
    assert_eq!(d.code.as_deref(), Some("unknown-unit"));
}

#[test]
fn an_850_on_the_855_route_is_invalid_naming_what_was_expected_and_what_came() {
    let (message, at, code) = invalid(map(
        &brightwire(),
        x12(
            "850",
            &["BEG*00*SA*4500013001**20240610", "PO1*1*10*EA***BP*A"],
        ),
    ));
    assert!(
        message.contains("expected an X12 855") && message.contains("850"),
        "{message}"
    );
    assert_eq!(located(&at), (Some("0001"), Some(1), Some("ST"), Some(1)));
    assert_eq!(code.as_deref(), Some("wrong-transaction"));
}

#[test]
fn an_edifact_ordrsp_on_the_855_route_is_invalid_naming_it() {
    let ordrsp =
        b"UNB+UNOC:3+4012345000009:14+5412345000013:14+240611:1415+1'UNH+1+ORDRSP:D:96A:UN'\
BGM+231+RSP-1+9'UNT+3+1'UNZ+1+1'";
    let (message, at, _) = invalid(map(&brightwire(), ordrsp.to_vec()));
    assert!(message.contains("ORDRSP (EDIFACT)"), "{message}");
    assert_eq!(located(&at), (Some("1"), Some(1), Some("UNH"), Some(2)));
}

#[test]
fn refusals_point_at_the_segment_and_element_to_fix() {
    /// The body, where the error is (segment index, tag, element or 0), what the message says, the code.
    type Case<'a> = (&'a [&'a str], (u32, &'a str, u32), &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (&["REF*VR*BW01"], (2, "BAK", 0), "no BAK", "missing-segment"),
        (
            &["BAK*01*AD*4500013001*20240610"],
            (2, "BAK", 1),
            "`01` (cancellation)",
            "withdrawn-acknowledgment",
        ),
        (
            &["BAK*00*ZZ*4500013001*20240610"],
            (2, "BAK", 2),
            "BAK02 `ZZ`",
            "unknown-acknowledgment-type",
        ),
        (
            &["BAK*00*AD**20240610"],
            (2, "BAK", 3),
            "BAK03 is required",
            "missing-element",
        ),
        (
            &["BAK*00*AD*4500013001"],
            (2, "BAK", 4),
            "BAK04 is required",
            "missing-element",
        ),
        (
            &["BAK*00*AD*4500013001*20241310"],
            (2, "BAK", 4),
            "`20241310`",
            "invalid-date",
        ),
        (
            &["BAK*00*AD*4500013001*20240610****X*20240230"],
            (2, "BAK", 9),
            "20240230",
            "invalid-date",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*XX*10*EA"],
            (4, "ACK", 1),
            "ACK01 `XX`",
            "unknown-line-status",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IH*10*EA"],
            (4, "ACK", 1),
            "(item on hold)",
            "unknown-line-status",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK**10*EA"],
            (4, "ACK", 1),
            "ACK01 is required",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10"],
            (4, "ACK", 3),
            "ACK03 is required",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA**EA"],
            (4, "ACK", 2),
            "ACK03 names a unit",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*1,5*EA"],
            (4, "ACK", 2),
            "`1,5` is not a decimal",
            "invalid-quantity",
        ),
        (
            &[BAK, "PO1*1**EA***BP*A", "ACK*IA"],
            (4, "ACK", 2),
            "PO102 gives no ordered quantity",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1***BP*A"],
            (3, "PO1", 2),
            "PO1 has no ACK",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10*EA**20240617"],
            (4, "ACK", 4),
            "ACK04",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10*EA*068"],
            (4, "ACK", 5),
            "ACK05 is required",
            "missing-element",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10*EA*068*2024061"],
            (4, "ACK", 5),
            "`2024061`",
            "invalid-date",
        ),
        (
            &[BAK, "PO1*1*10*EA***BP*A", "ACK*IA*10*EA*068*20240230"],
            (4, "ACK", 5),
            "`20240230`",
            "invalid-date",
        ),
        (
            &["BAK*00*AD*4500013001*20240431"],
            (2, "BAK", 4),
            "`20240431`",
            "invalid-date",
        ),
        (
            &[BAK, "DTM*068*20241340", "PO1*1*10*EA***BP*A"],
            (3, "DTM", 2),
            "`20241340`",
            "invalid-date",
        ),
    ];
    for (body, (index, segment, element), says, expected_code) in cases {
        let (message, at, code) = invalid(map(&brightwire(), x12_855(body)));
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
fn bytes_that_are_not_edi_are_invalid() {
    let (message, _, _) = invalid(map(
        &brightwire(),
        b"PO,LINE,QTY\n4500013001,1,10\n".to_vec(),
    ));
    assert!(!message.is_empty());
}
