//! Acknowledgments end to end on small documents written here: the inbound document, the verdicts, the
//! rendered 997/999/TA1 byte for byte, and that every rendered acknowledgment parses back with this crate's
//! own `parse` and says what was meant. `tests/corpus.rs` runs the reader over the public corpus.

use jiff::civil::DateTime;

use super::*;
use crate::{Interchange, Position, Segment, parse, render_x12};

/// The host's clock in these tests.
fn now() -> DateTime {
    jiff::civil::date(2024, 3, 5).at(14, 7, 0, 0)
}

fn ids(n: u32) -> ControlNumbers {
    ControlNumbers {
        interchange: 7000 + n,
        group: 8000 + n,
        transaction: 1,
    }
}

/// A 106-character ISA with `*`, the component separator and `~`.
fn isa(
    sender: &str,
    receiver: &str,
    isa11: &str,
    version: &str,
    control: &str,
    ack: &str,
) -> String {
    let component = if version >= "00501" { ":" } else { ">" };
    format!(
        "ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*240305*1400*{isa11}*{version}*{control}*{ack}*P*{component}~"
    )
}

/// A ship notice's body (ST to SE): nine segments before SE, the LIN with its part number at 8, the SN1
/// with quantity and unit at 9.
fn asn_set(control: &str) -> String {
    format!(
        "ST*856*{control}~BSN*00*SHIP1*20240305*1400~HL*1**S~TD1*CTN25*2~HL*2*1*O~PRF*PO123~HL*3*2*I~\
         LIN**BP*PART-A~SN1**24*EA~SE*10*{control}~"
    )
}

/// Steelco's ship notice to Millwright: one interchange (ISA13 101), one group (GS06 501), one set.
fn asn() -> String {
    format!(
        "{}GS*SH*STEELCO*MILLWRIGHT*20240305*1400*501*X*004010~{}GE*1*501~IEA*1*000000101~",
        isa("STEELCO", "MILLWRIGHT", "U", "00401", "000000101", "0"),
        asn_set("0001")
    )
}

fn outcomes_for(received: &Received<'_>) -> Outcomes {
    let outcomes = Outcomes::new(received);
    let mut with_parse = outcomes.clone();
    if let Err(error) = parse(received.document) {
        // The reader has seen what the strict parser reports: recording it again changes nothing.
        assert!(
            !with_parse.record(received.finding(&error)),
            "the reader missed what parse reports: {error}"
        );
    }
    assert_eq!(with_parse, outcomes);
    outcomes
}

/// The 997 or 999 for group `g` of interchange `i`, rendered, checked against what it must say, as text.
fn render_group_ack(
    received: &Received<'_>,
    outcomes: &Outcomes,
    i: usize,
    g: usize,
    kind: AckKind,
    n: u32,
) -> String {
    let interchange = &received.interchanges[i];
    let group = &interchange.groups[g];
    let outcome = &outcomes.interchanges[i].groups[g];
    let tree = functional_ack(group, interchange, outcome, kind, ids(n), now());
    let bytes = render_x12(&tree).expect("the acknowledgment renders");
    check_functional_ack(&bytes, interchange, group, outcome, kind);
    String::from_utf8(bytes).expect("ASCII")
}

/// Parses a rendered 997/999 and checks that it answers `group` as `outcome` says: addressed back, AK1 and
/// every AK2 echoing the inbound ids, AK5 per set, AK9 counts.
fn check_functional_ack(
    bytes: &[u8],
    interchange: &ReceivedInterchange,
    group: &ReceivedGroup,
    outcome: &GroupOutcome,
    kind: AckKind,
) {
    let parsed = parse(bytes).unwrap_or_else(|e| {
        panic!(
            "the acknowledgment does not parse: {e}\n{}",
            String::from_utf8_lossy(bytes)
        )
    });
    assert_eq!(parsed.len(), 1);
    let ack = &parsed[0];
    assert_eq!(
        (ack.sender_qualifier.as_str(), ack.sender_id.as_str()),
        (
            interchange.receiver_qualifier.as_str(),
            interchange.receiver_id.as_str()
        )
    );
    assert_eq!(
        (ack.receiver_qualifier.as_str(), ack.receiver_id.as_str()),
        (
            interchange.sender_qualifier.as_str(),
            interchange.sender_id.as_str()
        )
    );
    assert!(!ack.acknowledgment_requested);
    assert_eq!(ack.groups.len(), 1);
    let fa = &ack.groups[0];
    assert_eq!(fa.functional_id, "FA");
    assert_eq!(
        (fa.sender.as_str(), fa.receiver.as_str()),
        (group.receiver.as_str(), group.sender.as_str())
    );
    let (code, response, segment) = match kind {
        AckKind::Functional997 => {
            assert_eq!(fa.version, group.version, "a 997 echoes GS08");
            ("997", "AK5", "AK3")
        }
        AckKind::Implementation999 => {
            assert_eq!(fa.version, "005010X231A1");
            ("999", "IK5", "IK3")
        }
    };
    assert_eq!(fa.transactions.len(), 1);
    let set = &fa.transactions[0];
    assert_eq!(set.code, code);
    let segments = &set.segments;
    let first = segments.first().expect("AK1");
    assert_eq!(first.id, "AK1");
    assert_eq!(
        (first.value(1), first.value(2)),
        (group.functional_id.as_str(), group.control_number.as_str())
    );
    let ak2s: Vec<&Segment> = segments.iter().filter(|s| s.id == "AK2").collect();
    assert_eq!(ak2s.len(), group.transactions.len(), "one AK2 per set");
    for (ak2, inbound) in ak2s.iter().zip(&group.transactions) {
        assert_eq!(
            (ak2.value(1), ak2.value(2)),
            (inbound.code.as_str(), inbound.control_number.as_str())
        );
    }
    let responses: Vec<&Segment> = segments.iter().filter(|s| s.id == response).collect();
    assert_eq!(
        responses.len(),
        group.transactions.len(),
        "one {response} per set"
    );
    for (i, r) in responses.iter().enumerate() {
        let want = outcome
            .sets
            .get(i)
            .map_or(SetStatus::Accepted, |s| s.status);
        assert_eq!(r.value(1), want.code(), "{response} of set {i}");
    }
    let faults: usize = (0..group.transactions.len())
        .map(|i| outcome.sets.get(i).map_or(0, |s| s.segments.len()))
        .sum();
    assert_eq!(segments.iter().filter(|s| s.id == segment).count(), faults);
    let ak9 = segments.last().expect("AK9");
    assert_eq!(ak9.id, "AK9");
    let received = group.transactions.len();
    let accepted = responses
        .iter()
        .filter(|r| matches!(r.value(1), "A" | "E"))
        .count();
    assert_eq!(ak9.value(1), outcome.status(received).code());
    assert_eq!(
        ak9.value(3),
        received.to_string(),
        "AK903 counts the sets received"
    );
    assert_eq!(
        ak9.value(4),
        accepted.to_string(),
        "AK904 counts the AK5s that accept"
    );
    let declared = group
        .ge
        .as_ref()
        .and_then(|ge| ge.count.parse::<usize>().ok())
        .unwrap_or(received);
    assert_eq!(ak9.value(2), declared.to_string(), "AK902 is GE01");
}

/// Renders a TA1 and checks it parses back as an interchange holding only that TA1, answering `inbound`.
fn render_ta1(
    inbound: &ReceivedInterchange,
    accepted: bool,
    note: InterchangeNote,
    n: u32,
) -> String {
    let tree = ta1(inbound, accepted, note, 7000 + n, now());
    let bytes = render_x12(&tree).expect("the TA1 renders");
    let parsed: Vec<Interchange> = parse(&bytes).unwrap_or_else(|e| {
        panic!(
            "the TA1 does not parse: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(parsed.len(), 1);
    let ack = &parsed[0];
    assert!(ack.groups.is_empty());
    assert_eq!(ack.service_segments.len(), 1);
    let ta1 = &ack.service_segments[0];
    assert_eq!(ta1.id, "TA1");
    assert_eq!(
        ta1.value(1).trim_start_matches('0'),
        inbound.control_number.trim_start_matches('0')
    );
    assert_eq!(InterchangeNote::from_code(ta1.value(5)), Some(note));
    assert_eq!(ack.receiver_id, inbound.sender_id);
    String::from_utf8(bytes).expect("ASCII")
}

/// Golden acknowledgments are written one segment a line here for the reader; the rendered ones have none.
fn golden(lines: &str) -> String {
    lines.lines().map(str::trim).collect()
}

#[test]
fn a_good_ship_notice_gets_a_997_that_accepts_it() {
    let doc = asn();
    let received = received(doc.as_bytes());
    assert!(received.problems.is_empty(), "{:?}", received.problems);
    let outcomes = outcomes_for(&received);
    assert!(outcomes.all_accepted());
    assert!(!outcomes.interchanges[0].ta1_due(&received.interchanges[0]));
    let ack = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 1);
    assert_eq!(
        ack,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007001*0*P*>~
             GS*FA*MILLWRIGHT*STEELCO*20240305*1407*8001*X*004010~
             ST*997*0001~
             AK1*SH*501~
             AK2*856*0001~
             AK5*A~
             AK9*A*1*1*1~
             SE*6*0001~
             GE*1*8001~
             IEA*1*000007001~"
        )
    );
}

#[test]
fn a_ship_notice_whose_se01_miscounts_is_rejected_with_ak5_code_4() {
    let doc = asn().replace("SE*10*0001", "SE*11*0001");
    let received = received(doc.as_bytes());
    let outcomes = outcomes_for(&received);
    assert_eq!(
        outcomes.interchanges[0].groups[0].sets[0],
        SetOutcome::rejected([SetError::SegmentCount])
    );
    let ack = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 2);
    assert_eq!(
        ack,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007002*0*P*>~
             GS*FA*MILLWRIGHT*STEELCO*20240305*1407*8002*X*004010~
             ST*997*0001~
             AK1*SH*501~
             AK2*856*0001~
             AK5*R*4~
             AK9*R*1*1*0~
             SE*6*0001~
             GE*1*8002~
             IEA*1*000007002~"
        )
    );
}

#[test]
fn a_group_whose_ge02_differs_is_rejected_in_ak9_while_its_set_is_accepted() {
    let doc = asn().replace("GE*1*501", "GE*1*502");
    let received = received(doc.as_bytes());
    let outcomes = outcomes_for(&received);
    assert_eq!(
        outcomes.interchanges[0].groups[0].errors,
        [GroupError::ControlNumberMismatch]
    );
    let ack = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 13);
    assert!(
        ack.contains("~AK1*SH*501~AK2*856*0001~AK5*A~AK9*R*1*1*1*4~SE*6*0001~"),
        "{ack}"
    );
}

#[test]
fn a_nul_in_an_element_is_ak4_code_6_without_a_copy_of_the_data() {
    let doc = asn().replace("BSN*00*SHIP1", "BSN*00*SH\0IP1");
    let err = parse(doc.as_bytes()).expect_err("parse refuses the NUL");
    assert_eq!(err.code.as_deref(), Some("control-character"));
    let received = received(doc.as_bytes());
    let outcomes = outcomes_for(&received);
    let ack = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 3);
    assert_eq!(
        ack,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007003*0*P*>~
             GS*FA*MILLWRIGHT*STEELCO*20240305*1407*8003*X*004010~
             ST*997*0001~
             AK1*SH*501~
             AK2*856*0001~
             AK3*BSN*2**8~
             AK4*2**6~
             AK5*R*5~
             AK9*R*1*1*0~
             SE*8*0001~
             GE*1*8003~
             IEA*1*000007003~"
        )
    );
}

#[test]
fn a_set_the_plugin_refuses_at_an_element_is_ak4_code_7_with_a_copy() {
    let doc = asn().replace("SN1**24*EA", "SN1**24*XX");
    assert!(parse(doc.as_bytes()).is_ok());
    let received = received(doc.as_bytes());
    let mut outcomes = outcomes_for(&received);
    // As the 856 plugin locates it: transaction, segment, element and byte (SDK `Transaction::at`).
    let sn1 = doc.find("SN1").expect("SN1") as u64;
    let at = Position {
        transaction: Some("0001".to_owned()),
        segment_index: Some(9),
        segment_id: Some("SN1".to_owned()),
        element: Some(3),
        byte_offset: Some(sn1),
        ..Position::default()
    };
    let finding = received.refusal(&at, None);
    let expected = SetOutcome::rejected([]).with_segment(
        SegmentFault::new("SN1", 9, SegmentError::DataElementErrors)
            .with_element(ElementFault::new(3, ElementError::InvalidCodeValue).with_copy("XX")),
    );
    assert_eq!(
        finding,
        Finding::Set {
            interchange: 0,
            group: 0,
            set: 0,
            outcome: expected.clone()
        }
    );
    // Without the byte offset (a position built by hand), the ST02 finds the same set.
    let by_number = Position {
        byte_offset: None,
        ..at.clone()
    };
    assert_eq!(received.refusal(&by_number, None), finding);
    assert!(outcomes.record(finding.clone()));
    assert!(
        !outcomes.record(finding),
        "recording it twice changes nothing"
    );
    let ack = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 4);
    assert_eq!(
        ack,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007004*0*P*>~
             GS*FA*MILLWRIGHT*STEELCO*20240305*1407*8004*X*004010~
             ST*997*0001~
             AK1*SH*501~
             AK2*856*0001~
             AK3*SN1*9**8~
             AK4*3**7*XX~
             AK5*R*5~
             AK9*R*1*1*0~
             SE*8*0001~
             GE*1*8004~
             IEA*1*000007004~"
        )
    );
}

#[test]
fn a_plugin_refusal_maps_its_code_and_position_to_the_x12_lists() {
    let doc = asn().replace("SN1**24*EA", "SN1**24*");
    let received = received(doc.as_bytes());
    let at = |index: u32, id: &str, element: Option<u32>| Position {
        transaction: Some("0001".to_owned()),
        segment_index: Some(index),
        segment_id: Some(id.to_owned()),
        element,
        ..Position::default()
    };
    let set = |finding: Finding| match finding {
        Finding::Set { outcome, .. } => outcome,
        other => panic!("expected a set finding, got {other:?}"),
    };
    let fault = |outcome: &SetOutcome| {
        let f = &outcome.segments[0];
        (
            f.segment_id.clone(),
            f.position,
            f.error,
            f.elements
                .first()
                .map(|e| (e.position, e.error, e.copy.clone())),
        )
    };
    // An element that is empty: mandatory data element missing.
    let empty = set(received.refusal(&at(9, "SN1", Some(3)), None));
    assert_eq!(
        fault(&empty),
        (
            "SN1".to_owned(),
            9,
            SegmentError::DataElementErrors,
            Some((3, ElementError::MandatoryMissing, None))
        )
    );
    // A date the plugin could not read.
    let date = set(received.refusal(&at(2, "BSN", Some(3)), Some("invalid-date")));
    assert_eq!(
        fault(&date),
        (
            "BSN".to_owned(),
            2,
            SegmentError::DataElementErrors,
            Some((3, ElementError::InvalidDate, Some("20240305".to_owned())))
        )
    );
    // An X12 AK403 code passes through.
    let too_long = set(received.refusal(&at(8, "LIN", Some(3)), Some("5")));
    assert_eq!(
        fault(&too_long).3,
        Some((3, ElementError::TooLong, Some("PART-A".to_owned())))
    );
    // A segment that is not where the plugin looked for it: mandatory segment missing.
    let missing = set(received.refusal(&at(3, "DTM", None), None));
    assert_eq!(
        fault(&missing),
        (
            "DTM".to_owned(),
            3,
            SegmentError::MandatorySegmentMissing,
            None
        )
    );
    let named = set(received.refusal(&at(4, "TD1", None), Some("missing-segment")));
    assert_eq!(fault(&named).2, SegmentError::MandatorySegmentMissing);
    // ST01 refused, or the plugin's own code: transaction set not supported.
    assert_eq!(
        set(received.refusal(&at(1, "ST", Some(1)), None)),
        SetOutcome::rejected([SetError::NotSupported])
    );
    assert_eq!(
        set(received.refusal(&at(1, "ST", None), Some("wrong-transaction"))),
        SetOutcome::rejected([SetError::NotSupported])
    );
    // Only the transaction: the set is rejected with AK5 5 alone.
    let only = Position {
        transaction: Some("0001".to_owned()),
        ..Position::default()
    };
    assert_eq!(
        set(received.refusal(&only, None)),
        SetOutcome::rejected([SetError::SegmentsInError])
    );
    // A transaction the document does not hold.
    let elsewhere = Position {
        transaction: Some("9999".to_owned()),
        ..Position::default()
    };
    assert!(matches!(
        received.refusal(&elsewhere, None),
        Finding::Unanswerable { .. }
    ));
}

fn two_groups() -> String {
    format!(
        "{}GS*SH*STEELCO*MILLWRIGHT*20240305*1400*501*X*004010~{}GE*1*501~\
         GS*SH*STEELCO*MILLWRIGHT*20240305*1400*502*X*004010VICS~{}{}GE*2*502~IEA*2*000000101~",
        isa("STEELCO", "MILLWRIGHT", "U", "00401", "000000101", "0"),
        asn_set("0001"),
        asn_set("0001"),
        asn_set("0002").replace("LIN**BP*PART-A", "LIN**ZZ*PART-A"),
    )
}

#[test]
fn a_two_group_interchange_gets_one_997_per_group() {
    let doc = two_groups();
    let received = received(doc.as_bytes());
    assert!(received.problems.is_empty(), "{:?}", received.problems);
    let mut outcomes = outcomes_for(&received);
    // The plugin refuses LIN02 of the second group's second set; ST02 0002 occurs once in the document.
    let at = Position {
        transaction: Some("0002".to_owned()),
        segment_index: Some(8),
        segment_id: Some("LIN".to_owned()),
        element: Some(2),
        ..Position::default()
    };
    let finding = received.refusal(&at, None);
    assert!(
        matches!(
            finding,
            Finding::Set {
                interchange: 0,
                group: 1,
                set: 1,
                ..
            }
        ),
        "{finding:?}"
    );
    outcomes.record(finding);
    let first = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 5);
    assert_eq!(
        first,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007005*0*P*>~
             GS*FA*MILLWRIGHT*STEELCO*20240305*1407*8005*X*004010~
             ST*997*0001~
             AK1*SH*501~
             AK2*856*0001~
             AK5*A~
             AK9*A*1*1*1~
             SE*6*0001~
             GE*1*8005~
             IEA*1*000007005~"
        )
    );
    let second = render_group_ack(&received, &outcomes, 0, 1, AckKind::Functional997, 6);
    assert_eq!(
        second,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007006*0*P*>~
             GS*FA*MILLWRIGHT*STEELCO*20240305*1407*8006*X*004010VICS~
             ST*997*0001~
             AK1*SH*502~
             AK2*856*0001~
             AK5*A~
             AK2*856*0002~
             AK3*LIN*8**8~
             AK4*2**7*ZZ~
             AK5*R*5~
             AK9*P*2*2*1~
             SE*10*0001~
             GE*1*8006~
             IEA*1*000007006~"
        )
    );
}

/// A 5010 claim interchange: ISA11 `^`, component `:`, GS08 and ST03 005010X222A1, two sets; the second's
/// DTP03 (at segment 5) is not a date.
fn claims() -> String {
    let claim = |control: &str, date: &str| {
        format!(
            "ST*837*{control}*005010X222A1~BHT*0019*00*0123*20240305*1400*CH~NM1*41*2*CLINIC*****46*12345~\
             CLM*2646377{control}*100***11:B:1*Y*A*Y*I~DTP*472*D8*{date}~SE*6*{control}~"
        )
    };
    format!(
        "{}GS*HC*CLINIC*PAYER*20240305*1400*17*X*005010X222A1~{}{}GE*2*17~IEA*1*000000201~",
        isa("CLINIC", "PAYER", "^", "00501", "000000201", "0"),
        claim("0001", "20240301"),
        claim("0002", "2024030X")
    )
}

#[test]
fn a_999_answers_a_5010_group_with_ik3_ctx_ik4_and_ik5() {
    let doc = claims();
    let received = received(doc.as_bytes());
    assert!(received.problems.is_empty(), "{:?}", received.problems);
    let mut outcomes = outcomes_for(&received);
    let at = Position {
        transaction: Some("0002".to_owned()),
        segment_index: Some(5),
        segment_id: Some("DTP".to_owned()),
        element: Some(3),
        ..Position::default()
    };
    let Finding::Set {
        interchange,
        group,
        set,
        mut outcome,
    } = received.refusal(&at, Some("invalid-date"))
    else {
        panic!("the refusal names a set");
    };
    // The host names the claim (CLM01) the error is in, and the element's reference number, which the
    // plugin knows and the diagnostic does not carry.
    let fault = outcome.segments.remove(0);
    let element = fault.elements[0].clone().with_reference(1251);
    let fault = SegmentFault {
        elements: vec![element],
        ..fault
    }
    .with_business_unit("CLM01", "26463770002");
    outcome.segments.push(fault);
    outcomes.record(Finding::Set {
        interchange,
        group,
        set,
        outcome,
    });
    let ack = render_group_ack(&received, &outcomes, 0, 0, AckKind::Implementation999, 7);
    assert_eq!(
        ack,
        golden(
            "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *240305*1407*^*00501*000007007*0*P*:~
             GS*FA*PAYER*CLINIC*20240305*1407*8007*X*005010X231A1~
             ST*999*0001*005010X231A1~
             AK1*HC*17*005010X222A1~
             AK2*837*0001*005010X222A1~
             IK5*A~
             AK2*837*0002*005010X222A1~
             IK3*DTP*5**8~
             CTX*CLM01:26463770002~
             IK4*3*1251*8*2024030X~
             IK5*R*5~
             AK9*P*2*2*1~
             SE*11*0001~
             GE*1*8007~
             IEA*1*000007007~"
        )
    );
    // The same verdicts as a 997 of 5010: AK103 and AK203 are written, IK segments and CTX are not.
    let fa = render_group_ack(&received, &outcomes, 0, 0, AckKind::Functional997, 8);
    assert!(
        fa.contains("AK1*HC*17*005010X222A1~AK2*837*0001*005010X222A1~AK5*A~AK2*837*0002*005010X222A1~AK3*DTP*5**8~AK4*3*1251*8*2024030X~AK5*R*5~AK9*P*2*2*1~"),
        "{fa}"
    );
}

#[test]
fn a_duplicate_interchange_gets_a_ta1_with_note_025() {
    let doc = format!("{}\n{}", asn(), asn());
    let err = parse(doc.as_bytes()).expect_err("parse refuses the duplicate");
    assert_eq!(err.code.as_deref(), Some("025"));
    let received = received(doc.as_bytes());
    assert_eq!(received.interchanges.len(), 2);
    let outcomes = outcomes_for(&received);
    assert_eq!(outcomes.interchanges[0].note, None);
    assert_eq!(
        outcomes.interchanges[1].note,
        Some(InterchangeNote::DuplicateControlNumber)
    );
    let second = &received.interchanges[1];
    assert!(outcomes.interchanges[1].ta1_due(second));
    assert!(!outcomes.interchanges[1].accepted());
    let ta1 = render_ta1(second, false, InterchangeNote::DuplicateControlNumber, 9);
    assert_eq!(
        ta1,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007009*0*P*>~
             TA1*000000101*240305*1400*R*025~
             IEA*0*000007009~"
        )
    );
}

#[test]
fn an_interchange_that_asks_for_a_ta1_gets_one_that_accepts_it() {
    let doc = asn().replace("*000000101*0*P*", "*000000101*1*P*");
    let received = received(doc.as_bytes());
    let outcomes = outcomes_for(&received);
    assert!(outcomes.all_accepted());
    let interchange = &received.interchanges[0];
    assert!(interchange.acknowledgment_requested);
    assert!(outcomes.interchanges[0].ta1_due(interchange));
    let ta1 = render_ta1(interchange, true, InterchangeNote::NoError, 10);
    assert_eq!(
        ta1,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007010*0*P*>~
             TA1*000000101*240305*1400*A*000~
             IEA*0*000007010~"
        )
    );
}

#[test]
fn a_truncated_document_gets_a_ta1_with_note_023() {
    let full = asn();
    let cut = full.find("SN1").expect("SN1") + 5;
    let doc = &full[..cut];
    let err = parse(doc.as_bytes()).expect_err("parse refuses the cut file");
    assert_eq!(err.code.as_deref(), Some("023"));
    let received = received(doc.as_bytes());
    let interchange = &received.interchanges[0];
    assert_eq!(interchange.iea, None);
    assert_eq!(interchange.groups.len(), 1);
    let set = &interchange.groups[0].transactions[0];
    assert_eq!(
        (
            set.code.as_str(),
            set.control_number.as_str(),
            set.se.is_none()
        ),
        ("856", "0001", true)
    );
    let outcomes = outcomes_for(&received);
    assert_eq!(
        outcomes.interchanges[0].note,
        Some(InterchangeNote::PrematureEnd)
    );
    assert!(!outcomes.interchanges[0].accepted());
    let ta1 = render_ta1(interchange, false, InterchangeNote::PrematureEnd, 11);
    assert_eq!(
        ta1,
        golden(
            "ISA*00*          *00*          *ZZ*MILLWRIGHT     *ZZ*STEELCO        *240305*1407*U*00401*000007011*0*P*>~
             TA1*000000101*240305*1400*R*023~
             IEA*0*000007011~"
        )
    );
}

/// What `finding` makes of the strict parser's error for `doc`.
fn finding_of(doc: &str) -> Finding {
    let err = parse(doc.as_bytes()).expect_err("parse refuses it");
    received(doc.as_bytes()).finding(&err)
}

fn set_of(finding: Finding) -> SetOutcome {
    match finding {
        Finding::Set { outcome, .. } => outcome,
        other => panic!("expected a set finding, got {other:?}"),
    }
}

#[test]
fn parser_errors_map_to_the_acknowledgment_codes_of_the_table() {
    let asn = asn();
    assert_eq!(
        set_of(finding_of(&asn.replace("SE*10*0001", "SE*10*0009"))),
        SetOutcome::rejected([SetError::ControlNumberMismatch])
    );
    assert_eq!(
        finding_of(&asn.replace("GE*1*501", "GE*1*599")),
        Finding::Group {
            interchange: 0,
            group: 0,
            error: GroupError::ControlNumberMismatch
        }
    );
    assert_eq!(
        finding_of(&asn.replace("GE*1*501", "GE*2*501")),
        Finding::Group {
            interchange: 0,
            group: 0,
            error: GroupError::TransactionCount
        }
    );
    assert_eq!(
        finding_of(&asn.replace("IEA*1*000000101", "IEA*1*000000102")),
        Finding::Interchange {
            interchange: 0,
            note: InterchangeNote::ControlNumberMismatch
        }
    );
    assert_eq!(
        finding_of(&asn.replace("IEA*1*", "IEA*2*")),
        Finding::Interchange {
            interchange: 0,
            note: InterchangeNote::GroupCount
        }
    );
    // A segment tag that is not one: unrecognized segment id, copied as far as it is letters and digits.
    assert_eq!(
        set_of(finding_of(&asn.replace("PRF*PO123", "Prf*PO123"))),
        SetOutcome::rejected([]).with_segment(SegmentFault::new(
            "Prf",
            6,
            SegmentError::UnrecognizedSegmentId
        ))
    );
    // The HL check (no code): HL02 names no earlier HL, so AK4 7 with a copy and HL02's reference number.
    assert_eq!(
        set_of(finding_of(&asn.replace("HL*3*2*I", "HL*3*9*I"))),
        SetOutcome::rejected([]).with_segment(
            SegmentFault::new("HL", 7, SegmentError::DataElementErrors).with_element(
                ElementFault::new(2, ElementError::InvalidCodeValue)
                    .with_reference(734)
                    .with_copy("9")
            )
        )
    );
    // A set cut off by the next ST inside a whole interchange: its trailer is missing (AK5 2).
    let cut = asn.replace(
        "SE*10*0001~GE*1*501",
        &format!("{}GE*2*501", asn_set("0002")),
    );
    assert_eq!(
        set_of(finding_of(&cut)),
        SetOutcome::rejected([SetError::TrailerMissing])
    );
    // A group cut off by the next GS after a set without SE: the set's trailer is missing (what parse
    // reports first), and the group's (AK9 3), which the reader reports too.
    let two = asn.replace(
        "SE*10*0001~GE*1*501~",
        &format!(
            "{}GS*SH*STEELCO*MILLWRIGHT*20240305*1400*502*X*004010~{}GE*1*502~",
            asn_set("0002"),
            asn_set("0003")
        ),
    );
    assert_eq!(
        set_of(finding_of(&two)),
        SetOutcome::rejected([SetError::TrailerMissing])
    );
    let outcomes = Outcomes::new(&received(two.as_bytes()));
    let group = &outcomes.interchanges[0].groups[0];
    assert_eq!(group.errors, [GroupError::TrailerMissing]);
    assert_eq!(
        group.sets[0],
        SetOutcome::rejected([SetError::TrailerMissing])
    );
    assert_eq!(group.sets[1], SetOutcome::accepted());
    assert_eq!(
        outcomes.interchanges[0].groups[1],
        GroupOutcome {
            errors: vec![],
            sets: vec![SetOutcome::accepted()]
        }
    );
    assert_eq!(
        outcomes.interchanges[0].note,
        Some(InterchangeNote::GroupCount)
    );
    // A segment between sets is interchange content (TA1 024), as parse codes it.
    assert_eq!(
        finding_of(&asn.replace("GE*1*501", "REF*BM*1~GE*1*501")),
        Finding::Interchange {
            interchange: 0,
            note: InterchangeNote::InvalidContent
        }
    );
    // A NUL in the ISA header: TA1 024; the reader still reads the interchange behind it.
    let nul = asn.replacen("STEELCO  ", "STEEL\0O  ", 1);
    assert_eq!(
        finding_of(&nul),
        Finding::Interchange {
            interchange: 0,
            note: InterchangeNote::InvalidContent
        }
    );
    assert_eq!(received(nul.as_bytes()).interchanges[0].groups.len(), 1);
    // EDIFACT is not answered here.
    let edifact = "UNB+UNOC:3+S+R+240101:1200+1'UNH+1+DESADV:D:96A:UN'UNT+3+1'UNZ+1+1'";
    assert!(matches!(finding_of(edifact), Finding::Unanswerable { .. }));
}

#[test]
fn the_reader_reads_every_terminator_and_separator_style_as_parse_does() {
    let styles: [(&str, &str, &str, &str); 9] = [
        ("*", ">", "~", ""),
        ("*", ">", "~", "\r\n"),
        ("*", ">", "\n", ""),
        ("*", ">", "\r", ""),
        ("*", ">", "\r\n", ""),
        ("|", "^", "'", "\n"),
        ("\x7f", ">", "\x15", ""),
        ("\x1d", "\x1f", "\x1c", ""),
        ("*", ":", "…", ""),
    ];
    for (element, component, terminator, line_end) in styles {
        let doc: String = asn()
            .split('~')
            .filter(|s| !s.is_empty())
            .map(|s| {
                // The ISA's component separator is its last character.
                let s = if s.starts_with("ISA") {
                    format!("{}{component}", &s[..s.len() - 1])
                } else {
                    s.to_owned()
                };
                format!("{}{terminator}{line_end}", s.replace('*', element))
            })
            .collect();
        let strict = parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
        let received = received(doc.as_bytes());
        assert!(
            received.problems.is_empty(),
            "{doc:?}: {:?}",
            received.problems
        );
        assert_same_ids(&received, &strict, &format!("{doc:?}"));
        // The acknowledgment is written in the partner's separators and reads back.
        let outcomes = Outcomes::new(&received);
        let tree = functional_ack(
            &received.interchanges[0].groups[0],
            &received.interchanges[0],
            &outcomes.interchanges[0].groups[0],
            AckKind::Functional997,
            ids(12),
            now(),
        );
        assert_eq!(
            Some(&tree.separators),
            received.interchanges[0].separators.as_ref()
        );
        let bytes = render_x12(&tree).expect("renders");
        check_functional_ack(
            &bytes,
            &received.interchanges[0],
            &received.interchanges[0].groups[0],
            &outcomes.interchanges[0].groups[0],
            AckKind::Functional997,
        );
    }
}

/// The reader's ids equal the strict parser's, level by level.
pub(crate) fn assert_same_ids(received: &Received<'_>, strict: &[Interchange], name: &str) {
    assert_eq!(
        received.interchanges.len(),
        strict.len(),
        "{name}: interchanges"
    );
    for (r, s) in received.interchanges.iter().zip(strict) {
        assert_eq!(
            r.separators.as_ref(),
            Some(&s.separators),
            "{name}: separators"
        );
        let ids = |i: &ReceivedInterchange| {
            (
                i.sender_qualifier.clone(),
                i.sender_id.clone(),
                i.receiver_qualifier.clone(),
                i.receiver_id.clone(),
                i.date.clone(),
                i.time.clone(),
                i.version.clone(),
                i.control_number.clone(),
                i.acknowledgment_requested,
                i.test,
            )
        };
        let strict_ids = (
            s.sender_qualifier.clone(),
            s.sender_id.clone(),
            s.receiver_qualifier.clone(),
            s.receiver_id.clone(),
            s.date.clone(),
            s.time.clone(),
            s.version.clone(),
            s.control_number.clone(),
            s.acknowledgment_requested,
            s.test,
        );
        assert_eq!(ids(r), strict_ids, "{name}: ISA");
        assert!(r.iea_matches(), "{name}: IEA");
        assert_eq!(r.groups.len(), s.groups.len(), "{name}: groups");
        for (rg, sg) in r.groups.iter().zip(&s.groups) {
            assert_eq!(
                (
                    &rg.functional_id,
                    &rg.sender,
                    &rg.receiver,
                    &rg.date,
                    &rg.time,
                    &rg.control_number,
                    &rg.version
                ),
                (
                    &sg.functional_id,
                    &sg.sender,
                    &sg.receiver,
                    &sg.date,
                    &sg.time,
                    &sg.control_number,
                    &sg.version
                ),
                "{name}: GS"
            );
            assert!(rg.ge_matches(), "{name}: GE");
            assert_eq!(rg.transactions.len(), sg.transactions.len(), "{name}: sets");
            for (rt, st) in rg.transactions.iter().zip(&sg.transactions) {
                assert_eq!(
                    (&rt.code, &rt.control_number, &rt.version),
                    (&st.code, &st.control_number, &st.version),
                    "{name}: ST"
                );
                assert_eq!(
                    rt.segment_count,
                    st.segments.len() + 2,
                    "{name}: segment count"
                );
                assert!(rt.se_matches(), "{name}: SE");
            }
        }
    }
}

#[test]
fn a_document_without_an_isa_says_so() {
    for doc in [
        &b""[..],
        b"   \r\n",
        b"GS*SH*A*B*20240101*1200*1*X*004010~",
        b"\xff\xfeI\0S\0A\0",
        b"hello, world",
        b"UNB+UNOC:3+S+R+240101:1200+1'",
    ] {
        let received = received(doc);
        assert!(received.interchanges.is_empty());
        assert!(received.unreadable.is_some(), "{doc:?}");
        let outcomes = Outcomes::new(&received);
        assert!(outcomes.interchanges.is_empty());
    }
    // Content before the first ISA is a problem, and the interchange behind it is still read.
    let doc = format!("junk~{}", asn());
    let received = received(doc.as_bytes());
    assert_eq!(received.interchanges.len(), 1);
    assert_eq!(received.problems[0].code.as_deref(), Some("024"));
    assert_eq!(
        Outcomes::new(&received).interchanges[0].note,
        Some(InterchangeNote::InvalidContent)
    );
}

#[test]
fn a_broken_document_is_read_past_each_problem() {
    // SE01 wrong, a NUL in a later set, a segment outside any set, GE01 wrong, IEA02 wrong: all seen.
    let doc = format!(
        "{}GS*SH*STEELCO*MILLWRIGHT*20240305*1400*501*X*004010~{}{}REF*BM*1~GE*3*501~IEA*1*000000999~",
        isa("STEELCO", "MILLWRIGHT", "U", "00401", "000000101", "0"),
        asn_set("0001").replace("SE*10", "SE*12"),
        asn_set("0002").replace("PART-A", "PART\u{1}A"),
    );
    let received = received(doc.as_bytes());
    let codes: Vec<&str> = received
        .problems
        .iter()
        .filter_map(|p| p.code.as_deref())
        .collect();
    assert_eq!(codes, ["4", "control-character", "024", "5", "001"]);
    let outcomes = Outcomes::new(&received);
    let interchange = &outcomes.interchanges[0];
    assert_eq!(interchange.note, Some(InterchangeNote::InvalidContent));
    let group = &interchange.groups[0];
    assert_eq!(group.errors, [GroupError::TransactionCount]);
    assert_eq!(
        group.sets[0],
        SetOutcome::rejected([SetError::SegmentCount])
    );
    assert_eq!(group.sets[1].segments[0].segment_id, "LIN");
    assert_eq!(
        group.sets[1].segments[0].elements[0].error,
        ElementError::InvalidCharacter
    );
}

/// A small deterministic generator, so the garbage below is the same on every run.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// Reads a document and builds and renders every acknowledgment it could need; every rendered one must
/// parse back.
fn acknowledge_everything(doc: &[u8]) {
    let received = received(doc);
    let mut outcomes = Outcomes::new(&received);
    if let Err(error) = parse(doc) {
        outcomes.record(received.finding(&error));
    }
    for (i, interchange) in received.interchanges.iter().enumerate() {
        let outcome = &outcomes.interchanges[i];
        let note = outcome.note.unwrap_or(InterchangeNote::NoError);
        if let Ok(bytes) = render_x12(&ta1(interchange, outcome.accepted(), note, 1, now())) {
            assert!(
                parse(&bytes).is_ok(),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        for (g, group) in interchange.groups.iter().enumerate() {
            for kind in [AckKind::Functional997, AckKind::Implementation999] {
                let tree =
                    functional_ack(group, interchange, &outcome.groups[g], kind, ids(1), now());
                if let Ok(bytes) = render_x12(&tree) {
                    assert!(
                        parse(&bytes).is_ok(),
                        "{:?}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }
    }
}

#[test]
fn garbage_prefixes_and_mutations_never_panic_and_every_rendered_ack_parses() {
    let doc = two_groups();
    let bytes = doc.as_bytes();
    for cut in 0..=bytes.len() {
        acknowledge_everything(&bytes[..cut]);
    }
    let mut state = 7;
    const REPLACEMENTS: [u8; 10] = [b'~', b'*', b'>', b'\n', 0, 0xFF, b'A', b'I', b'S', 0x85];
    for at in 0..bytes.len() {
        let mut mutated = bytes.to_vec();
        mutated[at] = REPLACEMENTS[(lcg(&mut state) % 10) as usize];
        acknowledge_everything(&mutated);
    }
    for len in [1usize, 3, 17, 106, 107, 300, 2000] {
        let garbage: Vec<u8> = (0..len).map(|_| (lcg(&mut state) & 0xFF) as u8).collect();
        acknowledge_everything(&garbage);
        let mut isa_then_garbage = b"ISA*".to_vec();
        isa_then_garbage.extend(&garbage);
        acknowledge_everything(&isa_then_garbage);
    }
}
