//! Unit tests of the public API with small inline documents: one per envelope rule, separator style and
//! error. The corpus tests in `tests/corpus.rs` cover real files.

use super::*;

/// A 106-character ISA with the given separators, ISA11, ISA12 and ISA13.
fn isa(
    element: &str,
    component: &str,
    terminator: &str,
    isa11: &str,
    version: &str,
    control: &str,
) -> String {
    let fields = [
        "00",
        "          ",
        "00",
        "          ",
        "ZZ",
        "SENDER         ",
        "ZZ",
        "RECEIVER       ",
        "240101",
        "1200",
        isa11,
        version,
        control,
        "0",
        "P",
    ];
    let mut s = String::from("ISA");
    for f in fields {
        s.push_str(element);
        s.push_str(f);
    }
    format!("{s}{element}{component}{terminator}")
}

/// An interchange whose segments are written with `*`, `>` and `~` and then translated to the given
/// separators. `line_end` follows every terminator.
fn x12_with(
    element: &str,
    component: &str,
    terminator: &str,
    line_end: &str,
    segments: &[&str],
) -> Vec<u8> {
    let mut doc = isa(element, component, terminator, "U", "00401", "000000001");
    doc.push_str(line_end);
    for s in segments {
        let s = s.replace('*', element).replace('>', component);
        doc.push_str(&s);
        doc.push_str(terminator);
        doc.push_str(line_end);
    }
    doc.into_bytes()
}

const ASN: [&str; 13] = [
    "GS*SH*SENDER*RECEIVER*20240101*1200*7*X*004010",
    "ST*856*0001",
    "BSN*00*SHIP1*20240101*1200",
    "HL*1**S",
    "TD1*CTN25*2",
    "HL*2*1*O",
    "PRF*PO123",
    "HL*3*2*I",
    "LIN**BP*PART>A",
    "SN1**24*EA",
    "SE*10*0001",
    "GE*1*7",
    "IEA*1*000000001",
];

fn asn_with(replace: &[(&str, &str)]) -> Vec<u8> {
    let segments: Vec<String> = ASN
        .iter()
        .map(|s| {
            replace
                .iter()
                .find(|(from, _)| from == s)
                .map_or_else(|| (*s).to_owned(), |(_, to)| (*to).to_owned())
        })
        .collect();
    let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
    x12_with("*", ">", "~", "", &refs)
}

fn parse_err(doc: &[u8]) -> EdiError {
    parse(doc).expect_err("the document must be rejected")
}

fn parse_ok(doc: &[u8]) -> Vec<Interchange> {
    parse(doc).unwrap_or_else(|e| panic!("the document must parse: {e} at {:?}", e.at))
}

#[test]
fn ship_notice_parses_into_the_tree() {
    let interchanges = parse_ok(&asn_with(&[]));
    assert_eq!(interchanges.len(), 1);
    let ic = &interchanges[0];
    assert_eq!(ic.standard, Standard::X12);
    assert_eq!(
        ic.separators,
        Separators {
            element: '*',
            component: '>',
            repetition: None,
            segment: '~',
            release: None,
            decimal_mark: None
        }
    );
    assert_eq!(
        (ic.sender_qualifier.as_str(), ic.sender_id.as_str()),
        ("ZZ", "SENDER")
    );
    assert_eq!(ic.receiver_id, "RECEIVER");
    assert_eq!((ic.date.as_str(), ic.time.as_str()), ("240101", "1200"));
    assert_eq!(
        (ic.version.as_str(), ic.control_number.as_str()),
        ("00401", "000000001")
    );
    assert!(!ic.test && !ic.acknowledgment_requested);
    let group = &ic.groups[0];
    assert_eq!(group.functional_id, "SH");
    assert_eq!(
        (group.control_number.as_str(), group.version.as_str()),
        ("7", "004010")
    );
    let t = &group.transactions[0];
    assert_eq!(
        (
            t.code.as_str(),
            t.control_number.as_str(),
            t.version.as_deref()
        ),
        ("856", "0001", None)
    );
    assert_eq!(t.segments.len(), 8, "segments between ST and SE");
    let bsn = &t.segments[0];
    assert_eq!((bsn.id.as_str(), bsn.index), ("BSN", 2), "ST counts as 1");
    assert_eq!(bsn.byte_offset, 106 + 47 + 12);
    let lin = &t.segments[6];
    assert_eq!(lin.elements[2].components, vec!["PART", "A"]);
}

#[test]
fn bom_crlf_and_indentation_are_not_data() {
    let mut doc = b"\xEF\xBB\xBF\r\n".to_vec();
    let body = x12_with("*", ">", "~", "\r\n    ", &ASN);
    doc.extend_from_slice(&body);
    let ic = parse_ok(&doc).remove(0);
    assert_eq!(ic.byte_offset, 5);
    let t = &ic.groups[0].transactions[0];
    assert_eq!(t.segments[0].value(2), "SHIP1");
    assert_eq!(t.segments.last().map(|s| s.value(3)), Some("EA"));
}

#[test]
fn each_separator_style_reads_the_same_tree() {
    let reference = parse_ok(&asn_with(&[]));
    let styles: [(&str, &str, &str, &str); 8] = [
        ("|", ">", "~", ""),
        ("~", "`", "*", "\r\n"),
        ("*", ">", "\n", ""),
        ("*", ">", "\r", "\n"),
        ("+", ":", "'", "\r\n"),
        ("\u{7f}", ">", "\u{15}", "\r\n"),
        ("*", ":", "…", "\n"),
        ("~", "¦", "\"", "\r\n"),
    ];
    for (element, component, terminator, line_end) in styles {
        let doc = x12_with(element, component, terminator, line_end, &ASN);
        let ic = parse_ok(&doc).remove(0);
        let seps = &ic.separators;
        let expected = (
            element.chars().next(),
            component.chars().next(),
            terminator.chars().next(),
        );
        assert_eq!(
            (Some(seps.element), Some(seps.component), Some(seps.segment)),
            expected
        );
        assert_eq!(
            ic.groups[0].transactions[0]
                .segments
                .iter()
                .map(|s| &s.elements)
                .collect::<Vec<_>>(),
            reference[0].groups[0].transactions[0]
                .segments
                .iter()
                .map(|s| &s.elements)
                .collect::<Vec<_>>(),
            "separators {element:?} {component:?} {terminator:?}"
        );
    }
}

#[test]
fn isa11_is_a_repetition_separator_from_00402_on() {
    let body = "GS*HS*A*B*20240101*1200*1*X*005010~ST*271*0001~EB*1**30^42^45>1*MA~SE*3*0001~GE*1*1~IEA*1*000000001~";
    let doc = format!("{}{body}", isa("*", ">", "~", "^", "00501", "000000001"));
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!(ic.separators.repetition, Some('^'));
    let eb = &ic.groups[0].transactions[0].segments[0];
    assert_eq!(eb.elements[2].components, vec!["30"]);
    assert_eq!(
        eb.elements[2].repeats,
        vec![vec!["42".to_owned()], vec!["45".to_owned(), "1".to_owned()]]
    );

    // Before 00402 ISA11 is the standards id, so `^` is data.
    let doc = format!("{}{body}", isa("*", ">", "~", "^", "00401", "000000001"));
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!(ic.separators.repetition, None);
    let eb = &ic.groups[0].transactions[0].segments[0];
    assert_eq!(eb.elements[2].components, vec!["30^42^45", "1"]);
}

#[test]
fn data_wrapped_at_80_columns_reads_as_if_unwrapped() {
    let flat = String::from_utf8(asn_with(&[])).expect("ascii");
    let wrapped: String = flat
        .as_bytes()
        .chunks(80)
        .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
        .collect();
    let mut a = parse_ok(flat.as_bytes());
    let mut b = parse_ok(wrapped.as_bytes());
    for ic in a.iter_mut().chain(b.iter_mut()) {
        for s in ic
            .groups
            .iter_mut()
            .flat_map(|g| &mut g.transactions)
            .flat_map(|t| &mut t.segments)
        {
            s.byte_offset = 0;
        }
    }
    assert_eq!(a, b);
}

#[test]
fn isa_with_a_short_field_is_read_by_its_separators() {
    // ISA06 has 14 characters instead of 15, so the ISA is 105 characters long.
    let doc = String::from_utf8(asn_with(&[])).expect("ascii").replacen(
        "SENDER         ",
        "SENDER        ",
        1,
    );
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!((ic.separators.component, ic.separators.segment), ('>', '~'));
    assert_eq!(ic.sender_id, "SENDER");
}

#[test]
fn truncated_interchange_is_premature_end() {
    let doc = asn_with(&[]);
    let text = String::from_utf8(doc.clone()).expect("ascii");
    let cut = text.find("GE*").expect("a GE");
    let err = parse_err(&doc[..cut]);
    assert_eq!(err.code.as_deref(), Some("023"));
    assert_eq!(err.at.byte_offset, Some(cut as u64));
    assert!(err.message.contains("has no GE"), "{}", err.message);
    assert!(err.message.contains("has no IEA"), "{}", err.message);

    // Cut inside a segment: located at the segment that has no terminator.
    let err = parse_err(&doc[..cut + 4]);
    assert_eq!(err.code.as_deref(), Some("023"));
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.byte_offset),
        (Some("GE"), Some(cut as u64))
    );
}

#[test]
fn missing_se_is_reported_at_the_segment_that_came_instead() {
    let err = parse_err(&asn_with(&[("SE*10*0001", "N1*ST*DOCK 4")]));
    assert_eq!(err.code.as_deref(), Some("023"));
    assert_eq!(err.at.segment_id.as_deref(), Some("GE"));
    assert!(
        err.message.starts_with("transaction set 856 0001"),
        "{}",
        err.message
    );
    assert!(err.message.contains("has no SE"), "{}", err.message);
}

#[test]
fn iea02_that_differs_from_isa13_is_001() {
    let err = parse_err(&asn_with(&[("IEA*1*000000001", "IEA*1*000000049")]));
    assert_eq!(err.code.as_deref(), Some("001"));
    assert_eq!(err.at.segment_id.as_deref(), Some("IEA"));
    assert_eq!(err.at.element, Some(2));
    assert_eq!(
        err.at.segment_index,
        Some(14),
        "IEA is the 14th segment of the interchange"
    );
    assert!(
        err.message
            .contains("IEA02 `000000049` does not match ISA13 `000000001`"),
        "{}",
        err.message
    );
}

#[test]
fn control_numbers_with_different_leading_zeros_match() {
    parse_ok(&asn_with(&[
        ("IEA*1*000000001", "IEA*1*1"),
        ("GE*1*7", "GE*1*0007"),
    ]));
}

#[test]
fn ge02_that_differs_from_gs06_is_reported() {
    let err = parse_err(&asn_with(&[("GE*1*7", "GE*1*8")]));
    assert_eq!(err.code.as_deref(), Some("4"));
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.element),
        (Some("GE"), Some(2))
    );
    assert!(
        err.message.contains("GE02 `8` does not match GS06 `7`"),
        "{}",
        err.message
    );
}

#[test]
fn se02_that_differs_from_st02_is_reported() {
    let err = parse_err(&asn_with(&[("SE*10*0001", "SE*10*0002")]));
    assert_eq!(err.code.as_deref(), Some("3"));
    assert_eq!(err.at.transaction.as_deref(), Some("0001"));
    assert_eq!((err.at.segment_index, err.at.element), (Some(10), Some(2)));
    assert!(
        err.message
            .contains("SE02 `0002` does not match ST02 `0001`"),
        "{}",
        err.message
    );
}

#[test]
fn wrong_segment_count_in_se01_is_reported() {
    let err = parse_err(&asn_with(&[("SE*10*0001", "SE*12*0001")]));
    assert_eq!(err.code.as_deref(), Some("4"));
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.element),
        (Some("SE"), Some(1))
    );
    assert!(
        err.message
            .contains("SE01 says 12 but there are 10 segments"),
        "{}",
        err.message
    );
}

#[test]
fn wrong_transaction_count_in_ge01_is_reported() {
    let err = parse_err(&asn_with(&[("GE*1*7", "GE*2*7")]));
    assert_eq!(err.code.as_deref(), Some("5"));
    assert!(
        err.message
            .contains("GE01 says 2 but there are 1 transaction sets"),
        "{}",
        err.message
    );
}

#[test]
fn wrong_group_count_in_iea01_is_021() {
    let err = parse_err(&asn_with(&[("IEA*1*000000001", "IEA*3*000000001")]));
    assert_eq!(err.code.as_deref(), Some("021"));
    assert_eq!(err.at.element, Some(1));
}

#[test]
fn hl_pointing_to_a_missing_parent_names_both_numbers() {
    let err = parse_err(&asn_with(&[("HL*3*2*I", "HL*3*7*I")]));
    assert!(
        err.message.contains("HL 3 names parent 7"),
        "{}",
        err.message
    );
    assert_eq!(err.at.segment_id.as_deref(), Some("HL"));
    assert_eq!((err.at.segment_index, err.at.element), (Some(7), Some(2)));
    assert_eq!(err.at.transaction.as_deref(), Some("0001"));
}

#[test]
fn hl_without_parents_on_every_level_is_accepted() {
    parse_ok(&asn_with(&[
        ("HL*2*1*O", "HL*2**O"),
        ("HL*3*2*I", "HL*3**I"),
    ]));
}

#[test]
fn something_that_is_not_edi_is_named_as_such() {
    let err = parse_err(b"DXS*9999990000*DX*004010UCS~");
    assert!(
        err.message.starts_with(
            "not an X12 or EDIFACT document: it starts with `DXS*9999990000*DX*004010…`"
        ),
        "{}",
        err.message
    );
    assert_eq!(err.at.byte_offset, Some(0));
    let err = parse_err(b"\xEF\xBB\xBF  \r\n");
    assert!(err.message.contains("empty"), "{}", err.message);
    let err = parse_err(b"GS*SH*A*B*20240101*1200*1*X*004010~");
    assert!(err.message.contains("without its ISA"), "{}", err.message);
}

#[test]
fn segment_between_transactions_is_outside_any_envelope() {
    let err = parse_err(&asn_with(&[("GE*1*7", "N1*ST*DOCK 4")]));
    assert_eq!(err.code.as_deref(), Some("024"));
    assert!(
        err.message.contains("outside any transaction set"),
        "{}",
        err.message
    );
}

#[test]
fn data_after_the_last_iea_is_rejected() {
    let mut doc = asn_with(&[]);
    doc.extend_from_slice(b"\r\nGARBAGE");
    let err = parse_err(&doc);
    assert_eq!(err.code.as_deref(), Some("024"));
    assert!(err.message.contains("`GARBAGE`"), "{}", err.message);
}

#[test]
fn tag_that_is_not_upper_case_alphanumeric_is_invalid_content() {
    let err = parse_err(&asn_with(&[("TD1*CTN25*2", "Td1*CTN25*2")]));
    assert_eq!(err.code.as_deref(), Some("024"));
    assert_eq!(err.at.transaction.as_deref(), Some("0001"));
    assert_eq!(err.at.segment_index, Some(4));
    assert!(
        err.message.contains("invalid segment tag `Td1*CTN25*2~"),
        "{}",
        err.message
    );
}

#[test]
fn unknown_segment_tags_are_data() {
    let ic = parse_ok(&asn_with(&[("TD1*CTN25*2", "ZZ9*ANYTHING")])).remove(0);
    assert_eq!(ic.groups[0].transactions[0].segments[2].id, "ZZ9");
}

#[test]
fn isa16_followed_by_data_means_the_terminator_is_missing() {
    let doc = String::from_utf8(asn_with(&[]))
        .expect("ascii")
        .replace('~', "");
    let err = parse_err(doc.as_bytes());
    assert_eq!(err.code.as_deref(), Some("004"));
    assert_eq!(err.at.byte_offset, Some(105));
    assert!(err.message.contains("is `G`"), "{}", err.message);
}

#[test]
fn line_break_terminator_may_be_missing_at_the_very_end() {
    let mut doc = x12_with("*", ">", "\n", "", &ASN);
    doc.pop();
    parse_ok(&doc);
    let mut doc = asn_with(&[]);
    doc.pop();
    assert_eq!(
        parse_err(&doc).code.as_deref(),
        Some("023"),
        "a missing `~` is not excused"
    );
}

#[test]
fn several_interchanges_with_different_separators_parse_in_order() {
    let mut doc = asn_with(&[]);
    doc.extend_from_slice(b"\r\n");
    let second: Vec<String> = ASN
        .iter()
        .map(|s| s.replace("000000001", "000000002"))
        .collect();
    let refs: Vec<&str> = second.iter().map(String::as_str).collect();
    let mut other = x12_with("|", ":", "\u{15}", "\r\n", &refs);
    let text =
        String::from_utf8(other.clone())
            .expect("ascii")
            .replacen("000000001", "000000002", 1);
    other = text.into_bytes();
    doc.extend_from_slice(&other);
    let interchanges = parse_ok(&doc);
    assert_eq!(interchanges.len(), 2);
    assert_eq!(interchanges[1].separators.element, '|');
    assert_eq!(interchanges[1].control_number, "000000002");
}

#[test]
fn duplicate_isa13_in_one_file_is_025() {
    let mut doc = asn_with(&[]);
    doc.extend_from_slice(&asn_with(&[]));
    let err = parse_err(&doc);
    assert_eq!(err.code.as_deref(), Some("025"));
}

#[test]
fn ta1_interchange_keeps_its_service_segments() {
    let doc = format!(
        "{}\r\n  TA1*000000123*240101*1200*A*000~\r\nIEA*0*000000001~",
        isa("*", "^", "~", "U", "00401", "000000001")
    );
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert!(ic.groups.is_empty());
    assert_eq!(ic.service_segments.len(), 1);
    assert_eq!(
        (
            ic.service_segments[0].id.as_str(),
            ic.service_segments[0].index
        ),
        ("TA1", 2)
    );
}

#[test]
fn render_writes_computed_trailers_and_parses_back() {
    let mut ic = parse_ok(&asn_with(&[])).remove(0);
    // Drop a segment: the rendered SE01 must follow.
    ic.groups[0].transactions[0].segments.remove(2);
    let out = render_x12(&ic).expect("renders");
    let text = String::from_utf8(out.clone()).expect("ascii");
    assert!(
        text.starts_with(&isa("*", ">", "~", "U", "00401", "000000001")),
        "{text}"
    );
    assert!(
        text.contains("~SE*9*0001~GE*1*7~IEA*1*000000001~"),
        "{text}"
    );
    let again = parse_ok(&out).remove(0);
    assert_eq!(again.groups[0].transactions[0].segments.len(), 7);
}

#[test]
fn render_refuses_a_value_containing_a_separator() {
    let mut ic = parse_ok(&asn_with(&[])).remove(0);
    ic.groups[0].transactions[0].segments[0].elements[1] = Element::simple("SHIP*1");
    let err = render_x12(&ic).expect_err("separator in data");
    assert_eq!(err.at.segment_id.as_deref(), Some("BSN"));
    assert_eq!(
        (err.at.element, err.at.transaction.as_deref()),
        (Some(2), Some("0001"))
    );
    assert!(
        err.message
            .contains("BSN02 `SHIP*1` contains the separator `*`"),
        "{}",
        err.message
    );
}

#[test]
fn render_refuses_a_value_holding_a_control_character() {
    let mut ic = parse_ok(&asn_with(&[])).remove(0);
    ic.groups[0].transactions[0].segments[0].elements[1] = Element::simple("SHIP\u{7}1");
    let err = render_x12(&ic).expect_err("control character in data");
    assert_eq!(err.at.segment_id.as_deref(), Some("BSN"));
    assert_eq!(err.at.element, Some(2));
    assert_eq!(err.code.as_deref(), Some("control-character"));
    assert!(
        err.message.contains("control character '\\u{7}'"),
        "{}",
        err.message
    );
}

#[test]
fn render_refuses_repeats_without_a_repetition_separator() {
    let mut ic = parse_ok(&asn_with(&[])).remove(0);
    ic.groups[0].transactions[0].segments[0].elements[0].repeats = vec![vec!["01".to_owned()]];
    let err = render_x12(&ic).expect_err("repeats need ISA11");
    assert!(err.message.contains("BSN01 repeats"), "{}", err.message);
}

const ORDERS: &str = "UNB+UNOC:3+SENDER:14+RECEIVER:ZZ+240101:1200+REF1++++1++1'\
UNH+M1+ORDERS:D:96A:UN:EAN008'BGM+220+PO?+1?'A+9'LIN+1++4000862141404:EN'UNT+4+M1'UNZ+1+REF1'";

#[test]
fn edifact_without_una_uses_the_default_service_characters() {
    let ic = parse_ok(ORDERS.as_bytes()).remove(0);
    assert_eq!(ic.standard, Standard::Edifact);
    assert_eq!(
        ic.separators,
        Separators {
            element: '+',
            component: ':',
            repetition: None,
            segment: '\'',
            release: Some('?'),
            decimal_mark: Some('.')
        }
    );
    assert_eq!(
        (ic.sender_id.as_str(), ic.sender_qualifier.as_str()),
        ("SENDER", "14")
    );
    assert_eq!(
        (ic.version.as_str(), ic.control_number.as_str()),
        ("UNOC:3", "REF1")
    );
    assert!(ic.acknowledgment_requested && ic.test);
    let group = &ic.groups[0];
    assert_eq!(
        group.control_number, "",
        "messages outside UNG sit in an empty group"
    );
    let t = &group.transactions[0];
    assert_eq!(
        (t.code.as_str(), t.control_number.as_str()),
        ("ORDERS", "M1")
    );
    assert_eq!(t.version.as_deref(), Some("D:96A:UN:EAN008"));
    let bgm = &t.segments[0];
    assert_eq!(
        (bgm.index, bgm.value(2)),
        (2, "PO+1'A"),
        "release characters are removed"
    );
}

#[test]
fn edifact_una_declares_other_separators() {
    let doc = ORDERS
        .replace('+', "*")
        .replace(':', "=")
        .replace('\'', "~")
        .replace("PO?*1?~A", "PO?*1");
    let doc = format!("UNA=*,? ~\n{doc}");
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!(
        (
            ic.separators.element,
            ic.separators.component,
            ic.separators.segment
        ),
        ('*', '=', '~')
    );
    assert_eq!(ic.separators.decimal_mark, Some(','));
    assert_eq!(ic.groups[0].transactions[0].segments[0].value(2), "PO*1");
}

#[test]
fn edifact_syntax_4_declares_a_repetition_separator() {
    let doc = "UNA:+.?*'UNB+UNOC:4+S+R+240101:1200+1'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++A*B'UNT+3+1'UNZ+1+1'";
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!(ic.separators.repetition, Some('*'));
    let ftx = &ic.groups[0].transactions[0].segments[0];
    assert_eq!(ftx.elements[3].repeats, vec![vec!["B".to_owned()]]);
}

#[test]
fn edifact_groups_are_checked() {
    let doc = "UNB+UNOA:2+S+R+240101:1200+9'UNG+ORDERS+S+R+240101:1200+G1+UN+D:96A'\
UNH+1+ORDERS:D:96A:UN'BGM+220'UNT+3+1'UNE+1+G1'UNZ+1+9'";
    let ic = parse_ok(doc.as_bytes()).remove(0);
    let group = &ic.groups[0];
    assert_eq!(
        (group.functional_id.as_str(), group.control_number.as_str()),
        ("ORDERS", "G1")
    );
    assert_eq!(group.version, "D:96A");
    let err = parse_err(doc.replace("UNE+1+G1", "UNE+1+G2").as_bytes());
    assert_eq!(err.code.as_deref(), Some("28"));
    assert!(
        err.message
            .contains("UNE02 `G2` does not match UNG 0048 `G1`"),
        "{}",
        err.message
    );
}

#[test]
fn edifact_counts_and_references_are_checked() {
    let err = parse_err(ORDERS.replace("UNT+4+M1", "UNT+5+M1").as_bytes());
    assert_eq!(err.code.as_deref(), Some("29"));
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.segment_index),
        (Some("UNT"), Some(4))
    );
    assert_eq!(err.at.transaction.as_deref(), Some("M1"));
    let err = parse_err(ORDERS.replace("UNZ+1+REF1", "UNZ+1+REF2").as_bytes());
    assert_eq!(err.code.as_deref(), Some("28"));
    let err = parse_err(ORDERS.replace("UNZ+1+REF1", "UNZ+2+REF1").as_bytes());
    assert!(
        err.message
            .contains("UNZ01 says 2 but there are 1 messages"),
        "{}",
        err.message
    );
    let err = parse_err(&ORDERS.as_bytes()[..ORDERS.len() - 11]);
    assert!(err.message.contains("has no UNZ"), "{}", err.message);
}

#[test]
fn render_refuses_edifact() {
    let ic = parse_ok(ORDERS.as_bytes()).remove(0);
    assert!(render_x12(&ic).is_err());
}

// Control characters: C0 (0x00–0x1F) and DEL (0x7F) are refused as data with their position, except the
// document's own separators, CR/LF, filler before a segment tag and the raw bytes of BIN/BDS. Each test that
// shows something still parses also shows the refusal beside it, so none of them passes without the check.

const CONTROL_CHARACTER: &str = "control-character";

/// `doc` with the first occurrence of `from` replaced by `to` (for bytes that are not UTF-8).
fn replace_bytes(doc: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = doc
        .windows(from.len())
        .position(|w| w == from)
        .expect("the bytes to replace are in the document");
    let mut out = doc[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&doc[at + from.len()..]);
    out
}

/// [`x12_with`] for the ASN with every segment passed through `edit` first.
fn asn_edited(
    element: &str,
    component: &str,
    terminator: &str,
    line_end: &str,
    edit: impl Fn(&str) -> String,
) -> Vec<u8> {
    let segments: Vec<String> = ASN.iter().map(|s| edit(s)).collect();
    let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
    x12_with(element, component, terminator, line_end, &refs)
}

/// The byte offset of the first occurrence of `needle`.
fn offset_of(doc: &[u8], needle: &[u8]) -> u64 {
    doc.windows(needle.len())
        .position(|w| w == needle)
        .expect("the bytes are in the document") as u64
}

/// The error for a document that must be refused for a control character.
fn control_err(doc: &[u8]) -> EdiError {
    let err = parse_err(doc);
    assert_eq!(
        err.code.as_deref(),
        Some(CONTROL_CHARACTER),
        "{} at {:?}",
        err.message,
        err.at
    );
    err
}

#[test]
fn a_nul_inside_an_element_is_refused_with_its_position() {
    // What a probe sent: BSN02 starting with three NUL bytes.
    let doc = asn_with(&[(
        "BSN*00*SHIP1*20240101*1200",
        "BSN*00*\0\0\0SHP-240611-07*20240101*1200",
    )]);
    assert_eq!(doc[172], 0);
    let err = control_err(&doc);
    assert_eq!(
        err.at,
        Position {
            transaction: Some("0001".to_owned()),
            segment_index: Some(2),
            segment_id: Some("BSN".to_owned()),
            element: Some(2),
            component: Some(1),
            byte_offset: Some(172),
            ..Position::default()
        }
    );
    assert_eq!(
        err.message,
        "control character 0x00 (NUL) at byte 172 in BSN02, component 1 (segment BSN at byte 165): X12 and \
         EDIFACT data hold no control characters other than the separators the header declares; the file is \
         corrupt or was padded by a transfer tool, ask the sender to correct and resend it"
    );
}

#[test]
fn a_nul_in_the_isa_header_is_refused_with_its_position() {
    let doc = String::from_utf8(asn_with(&[])).expect("ascii").replacen(
        "SENDER         ",
        "SEN\0DER        ",
        1,
    );
    let err = control_err(doc.as_bytes());
    assert_eq!(
        (
            err.at.segment_id.as_deref(),
            err.at.segment_index,
            err.at.element,
            err.at.component,
            err.at.byte_offset
        ),
        (Some("ISA"), Some(1), Some(6), Some(1), Some(38))
    );
    assert!(
        err.message.starts_with(
            "control character 0x00 (NUL) at byte 38 in ISA06 of the ISA header at byte 0:"
        ),
        "{}",
        err.message
    );
}

#[test]
fn a_control_character_in_isa11_is_refused_unless_it_is_the_repetition_separator() {
    let body = "GS*HS*A*B*20240101*1200*1*X*005010~ST*271*0001~EB*1**30\u{1f}42*MA~SE*3*0001~GE*1*1~\
                IEA*1*000000001~";
    // From 00402 on ISA11 is the repetition separator, and a separator may be a control character.
    let doc = format!(
        "{}{body}",
        isa("*", ">", "~", "\u{1f}", "00501", "000000001")
    );
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!(ic.separators.repetition, Some('\u{1f}'));
    let eb = &ic.groups[0].transactions[0].segments[0];
    assert_eq!(eb.elements[2].repeats, vec![vec!["42".to_owned()]]);
    // Before 00402 ISA11 is the standards id `U`: a control character there is refused.
    let doc = format!(
        "{}{body}",
        isa("*", ">", "~", "\u{1f}", "00401", "000000001")
    );
    let err = control_err(doc.as_bytes());
    assert_eq!((err.at.element, err.at.byte_offset), (Some(11), Some(82)));
    assert!(err.message.contains("0x1F (US)"), "{}", err.message);
}

#[test]
fn del_in_an_edifact_value_is_refused_with_its_position() {
    let doc = ORDERS.replace("BGM+220+PO?+1?'A+9", "BGM+220+PO?+1?'A+9:\u{7f}X");
    let err = control_err(doc.as_bytes());
    assert_eq!(
        err.at,
        Position {
            transaction: Some("M1".to_owned()),
            segment_index: Some(2),
            segment_id: Some("BGM".to_owned()),
            element: Some(3),
            component: Some(2),
            byte_offset: Some(offset_of(doc.as_bytes(), b"\x7f")),
            ..Position::default()
        }
    );
    assert!(
        err.message
            .starts_with("control character 0x7F (DEL) at byte"),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("in BGM03, component 2 (segment BGM at byte"),
        "{}",
        err.message
    );
}

#[test]
fn a_control_character_in_the_unb_header_is_refused_with_its_position() {
    let doc = ORDERS.replacen("SENDER:14", "SEN\u{1}DER:14", 1);
    let err = control_err(doc.as_bytes());
    assert_eq!(
        (
            err.at.segment_id.as_deref(),
            err.at.segment_index,
            err.at.element,
            err.at.component,
            err.at.byte_offset
        ),
        (Some("UNB"), Some(1), Some(2), Some(1), Some(14))
    );
    assert!(err.message.contains("0x01 (SOH)"), "{}", err.message);
}

#[test]
fn edifact_una_may_declare_control_separators_but_not_a_control_decimal_mark() {
    let body = ORDERS
        .replace("PO?+1?'A", "PO1")
        .replace('+', "\u{1d}")
        .replace(':', "\u{1f}")
        .replace('\'', "\u{1c}");
    let doc = format!("UNA\u{1f}\u{1d}.? \u{1c}{body}");
    let ic = parse_ok(doc.as_bytes()).remove(0);
    assert_eq!(
        (
            ic.separators.element,
            ic.separators.component,
            ic.separators.segment
        ),
        ('\u{1d}', '\u{1f}', '\u{1c}')
    );
    let lin = &ic.groups[0].transactions[0].segments[1];
    assert_eq!(lin.elements[2].components, vec!["4000862141404", "EN"]);

    // A released character is data, so even a released separator is refused when it is a control.
    let released = doc.replace("PO1", "PO?\u{1d}1");
    let err = control_err(released.as_bytes());
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.element),
        (Some("BGM"), Some(2))
    );
    assert_eq!(
        err.at.byte_offset,
        Some(offset_of(released.as_bytes(), b"?\x1d1") + 1)
    );

    // The decimal mark (UNA3) is not a separator.
    let bell = format!("UNA\u{1f}\u{1d}\u{7}? \u{1c}{body}");
    let err = control_err(bell.as_bytes());
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.byte_offset),
        (Some("UNA"), Some(5))
    );
    assert!(
        err.message.contains("0x07 (BEL)") && err.message.contains("decimal mark (UNA3)"),
        "{}",
        err.message
    );
}

#[test]
fn nak_as_the_x12_terminator_and_del_as_the_element_separator_still_parse() {
    let reference = parse_ok(&asn_with(&[]));
    let doc = x12_with("\u{7f}", ">", "\u{15}", "\r\n", &ASN);
    let ic = parse_ok(&doc).remove(0);
    assert_eq!(
        (ic.separators.element, ic.separators.segment),
        ('\u{7f}', '\u{15}')
    );
    assert_eq!(
        ic.groups[0].transactions[0].segments,
        reference[0].groups[0].transactions[0]
            .segments
            .iter()
            .zip(&ic.groups[0].transactions[0].segments)
            .map(|(r, s)| Segment {
                byte_offset: s.byte_offset,
                ..r.clone()
            })
            .collect::<Vec<_>>()
    );
    // The same bytes are refused where they are not this document's separators.
    let err = control_err(&asn_with(&[(
        "BSN*00*SHIP1*20240101*1200",
        "BSN*00*SHIP1\u{15}*20240101*1200",
    )]));
    assert!(err.message.contains("0x15 (NAK)"), "{}", err.message);
    let err = control_err(&asn_edited("\u{7f}", ">", "\u{15}", "\r\n", |s| {
        s.replace("SHIP1", "SHIP1\u{1}")
    }));
    assert_eq!(err.at.segment_id.as_deref(), Some("BSN"));
}

#[test]
fn gs_us_and_bel_as_separators_still_parse() {
    let styles: [(&str, &str, &str, &str); 3] = [
        ("\u{1d}", "\u{1f}", "\u{1c}", ""),
        ("*", ">", "\u{1d}", "\r\n"),
        ("*", "\u{1f}", "\u{7}", "\n"),
    ];
    for (element, component, terminator, line_end) in styles {
        let doc = x12_with(element, component, terminator, line_end, &ASN);
        let ic = parse_ok(&doc).remove(0);
        let t = &ic.groups[0].transactions[0];
        assert_eq!(t.segments[0].value(2), "SHIP1");
        assert_eq!(t.segments[6].elements[2].components, vec!["PART", "A"]);
        // RS (0x1E) is none of these documents' separators.
        let stray = asn_edited(element, component, terminator, line_end, |s| {
            s.replace("PART", "PA\u{1e}RT")
        });
        let err = control_err(&stray);
        assert_eq!(
            (
                err.at.segment_id.as_deref(),
                err.at.element,
                err.at.component
            ),
            (Some("LIN"), Some(3), Some(1)),
            "separators {element:?} {component:?} {terminator:?}"
        );
    }
}

#[test]
fn bytes_0x80_to_0x9f_still_parse_as_windows_1252() {
    let doc = replace_bytes(&asn_with(&[]), b"PO123", b"M\x80\x85\x8a\x9f\x81");
    let ic = parse_ok(&doc).remove(0);
    assert_eq!(
        ic.groups[0].transactions[0].segments[4].value(1),
        "M€…Š\u{178}\u{81}"
    );
    // In a UTF-8 document, U+0080–U+009F are kept as well.
    let doc = asn_with(&[("PRF*PO123", "PRF*PO\u{85}\u{9f}")]);
    let ic = parse_ok(&doc).remove(0);
    assert_eq!(
        ic.groups[0].transactions[0].segments[4].value(1),
        "PO\u{85}\u{9f}"
    );
    // The byte just below them, DEL, is a control character.
    let doc = replace_bytes(&asn_with(&[]), b"PO123", b"M\x7f\x80");
    let err = control_err(&doc);
    assert_eq!(err.at.byte_offset, Some(offset_of(&doc, b"\x7f")));
}

#[test]
fn binary_segments_keep_their_control_bytes() {
    let doc = asn_with(&[
        ("PRF*PO123", "BIN*7*\0\u{1}\u{1f}\u{7f}~\r\n"),
        ("TD1*CTN25*2", "BDS*ASC*3*\u{15}\0\t"),
    ]);
    let ic = parse_ok(&doc).remove(0);
    let segments = &ic.groups[0].transactions[0].segments;
    assert_eq!(
        (segments[2].id.as_str(), segments[2].value(3)),
        ("BDS", "\u{15}\0\t")
    );
    assert_eq!(
        (segments[4].id.as_str(), segments[4].value(2)),
        ("BIN", "\0\u{1}\u{1f}\u{7f}~\r\n")
    );
    // The same bytes in an ordinary segment are refused.
    let err = control_err(&asn_with(&[("PRF*PO123", "PRF*\0\u{1}\u{1f}\u{7f}")]));
    assert_eq!(
        (err.at.segment_id.as_deref(), err.at.segment_index),
        (Some("PRF"), Some(6))
    );
}

#[test]
fn crlf_after_terminators_and_filler_before_tags_still_parse() {
    let reference = parse_ok(&asn_with(&[]));
    // Both the CRLF file and one with TAB, VT, FF and 0x1A before every tag, and 0x1A at the very end.
    for doc in [
        x12_with("*", ">", "~", "\r\n", &ASN),
        x12_with("*", ">", "~", "\r\n\t \u{b}\u{c}\u{1a}", &ASN),
        asn_edited("*", ">", "\n", "", |s| format!("{s}\r")),
    ] {
        let ic = parse_ok(&doc).remove(0);
        assert_eq!(
            ic.groups[0].transactions[0]
                .segments
                .iter()
                .map(|s| &s.elements)
                .collect::<Vec<_>>(),
            reference[0].groups[0].transactions[0]
                .segments
                .iter()
                .map(|s| &s.elements)
                .collect::<Vec<_>>()
        );
    }
    // NUL is no filler: a file padded with NULs between segments is refused where the next tag should be.
    let err = control_err(&x12_with("*", ">", "~", "\r\n\0", &ASN));
    assert_eq!(
        (
            err.at.byte_offset,
            err.at.segment_index,
            err.at.segment_id.as_deref()
        ),
        (Some(108), Some(2), None)
    );
    assert!(
        err.message.starts_with(
            "control character 0x00 (NUL) at byte 108 where a segment tag should start:"
        ),
        "{}",
        err.message
    );
    let err = control_err(&asn_with(&[("PRF*PO123", "P\u{1b}RF*PO123")]));
    assert!(
        err.message
            .contains("inside the segment tag that starts at byte"),
        "{}",
        err.message
    );
}

#[test]
fn a_tab_inside_a_value_is_refused_but_a_tab_before_a_segment_tag_is_filler() {
    for bsn in [
        "BSN*00*SHIP\t1*20240101*1200",
        "BSN*00*SHIP1\t*20240101*1200",
        "BSN*00*\tSHIP1*20240101*1200",
    ] {
        let err = control_err(&asn_with(&[("BSN*00*SHIP1*20240101*1200", bsn)]));
        assert_eq!(
            (err.at.segment_id.as_deref(), err.at.element),
            (Some("BSN"), Some(2)),
            "{bsn}"
        );
        assert!(err.message.contains("0x09 (TAB)"), "{}", err.message);
    }
    let ic = parse_ok(&x12_with("*", ">", "~", "\n\t", &ASN)).remove(0);
    assert_eq!(ic.groups[0].transactions[0].segments[0].value(2), "SHIP1");
}

#[test]
fn a_control_character_in_a_repeat_names_its_element_occurrence_and_component() {
    let body = "GS*HS*A*B*20240101*1200*1*X*005010~ST*271*0001~EB*1**30^42>A\u{2}^45*MA~SE*3*0001~\
                GE*1*1~IEA*1*000000001~";
    let doc = format!("{}{body}", isa("*", ">", "~", "^", "00501", "000000001"));
    let err = control_err(doc.as_bytes());
    assert_eq!(
        (
            err.at.transaction.as_deref(),
            err.at.segment_id.as_deref(),
            err.at.segment_index,
            err.at.element,
            err.at.component
        ),
        (Some("0001"), Some("EB"), Some(2), Some(3), Some(2))
    );
    assert!(
        err.message.contains(
            "0x02 (STX) at byte 166 in EB03 repeat 2, component 2 (segment EB at byte 153)"
        ),
        "{}",
        err.message
    );
}
