//! The golden fixtures: canonical purchase orders (`tests/*.json`, as the host writes canonical JSON) rendered
//! through the SDK's native harness and compared byte for byte with the 850s in `tests/*.expected.x12`, which
//! are what `millwright plugin test` writes for the built component (the command is on [`common::acme`]).
//! Then the supplier's reading of them: the host's own X12 parser takes each one, and finds the order's
//! number, lines, quantities, units, prices and part numbers where an 850 keeps them.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{
    acme, brightwire_order, canonical, document, events, fixture, lines, order, parse, render,
    transaction,
};
use erp_orders_json::ErpOrdersMapper;
use millwright_sdk::OutboundMapper;
use millwright_sdk::harness::Harness;
use millwright_sdk::host::LogLevel;
use millwright_sdk::types::{CanonicalEvent, IdScheme, OutboundDocument};
use x12_850_purchase_order::PurchaseOrderRenderer;

fn expected(name: &str) -> Vec<u8> {
    let path = fixture(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_golden(document: &OutboundDocument, name: &str) {
    let expected = expected(name);
    assert!(
        document.payload == expected,
        "the 850 differs from {name}; rendered:\n{}",
        String::from_utf8_lossy(&document.payload)
    );
}

#[test]
fn the_brightwire_order_is_the_golden_850_byte_for_byte() {
    let harness = acme();
    let document = document(&harness, brightwire_order());
    assert_golden(&document, "po-4500013001.expected.x12");
    assert_eq!(document.content_type, "application/edi-x12");
    assert_eq!(document.file_name.as_deref(), Some("850-4500013001.x12"));
    assert_eq!(
        document.headers,
        [
            ("X12-Receiver".to_owned(), "ZZ/BRIGHTWIRE".to_owned()),
            (
                "X12-Interchange-Control-Number".to_owned(),
                "000000001".to_owned()
            )
        ]
    );
    // The ERP's purchasing group has no X12 qualifier: left out, and the log says so.
    let logs = harness.logs();
    assert!(
        logs.iter().any(|l| l.level == LogLevel::Info
            && l.message.contains("`purchasing-group`")
            && l.message.contains("x12-reference-qualifiers")),
        "{logs:?}"
    );
}

/// The chain the plant runs: the ERP's purchase order JSON, mapped by the reference `erp-orders-json` plugin,
/// then sent to Brightwire. The canonical event is read from that plugin's golden file and, to be sure the two
/// agree, mapped again natively here.
#[test]
fn the_erps_purchase_order_reaches_brightwire_as_the_golden_850() {
    let published = events("../../erp-orders-json/tests/po-4500019921.expected.json");
    assert_eq!(published.len(), 1);
    let document = document(
        &acme(),
        match published[0].clone() {
            CanonicalEvent::PurchaseOrder(po) => po,
            other => panic!("a {}", other.kind()),
        },
    );
    assert_golden(&document, "po-4500019921.expected.x12");

    let erp = fixture("../../erp-orders-json/tests/po-4500019921.json");
    let envelope = canonical::host_envelope(&erp, "erp-orders", "acme", common::NOW);
    let mapped = Harness::new()
        .with_config("timezone", "Europe/Berlin")
        .with_config("buyer-name", "ACME Brakes, Plant 2")
        .with_now(common::NOW)
        .map::<ErpOrdersMapper>(envelope)
        .expect("the reference ERP plugin maps its fixture");
    assert_eq!(
        mapped, published,
        "erp-orders-json's golden file is what it maps"
    );

    // A price per carton on a line ordered in pieces travels in a CTP, not in PO104.
    let interchange = parse(&document.payload);
    let segments = lines(transaction(&interchange));
    assert!(
        segments.contains(&"CTP**UCP*21.50*1*CT".to_owned()),
        "{segments:#?}"
    );
    assert!(
        segments.contains(&"N1*ST**92*P2-D4".to_owned()),
        "the ERP's storage location, assigned by the buyer: {segments:#?}"
    );
}

#[test]
fn the_rhein_stahl_order_renders_nothing_and_the_log_says_why() {
    let harness = acme();
    let po = order("po-4500013002-rhein-stahl.json");
    assert_eq!(
        render(&harness, CanonicalEvent::PurchaseOrder(po)),
        Ok(Vec::new()),
        "Rhein Stahl takes orders through its portal, not X12"
    );
    let logs = harness.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].level, LogLevel::Info);
    assert_eq!(
        logs[0].message,
        "purchase order 4500013002: supplier RS10 is not in the `x12-partners` table, so it does not trade X12; \
         no 850 is sent"
    );
}

#[test]
fn the_host_parses_the_850_and_finds_the_order_in_it() {
    let po = brightwire_order();
    let document = document(&acme(), po.clone());
    let interchange = parse(&document.payload);

    assert_eq!(
        (
            interchange.sender_qualifier.as_str(),
            interchange.sender_id.trim(),
            interchange.receiver_qualifier.as_str(),
            interchange.receiver_id.trim()
        ),
        ("ZZ", "ACMEMFG", "ZZ", "BRIGHTWIRE")
    );
    assert_eq!(
        (interchange.date.as_str(), interchange.time.as_str()),
        ("240611", "1605"),
        "21:05 UTC is 16:05 in Chicago"
    );
    assert_eq!(interchange.control_number, "000000001");
    assert!(!interchange.test && !interchange.acknowledgment_requested);
    let group = &interchange.groups[0];
    assert_eq!(
        (
            group.functional_id.as_str(),
            group.sender.as_str(),
            group.receiver.as_str(),
            group.date.as_str(),
            group.control_number.as_str(),
            group.version.as_str()
        ),
        ("PO", "ACMEMFG", "BRIGHTWIRE", "20240611", "1", "004010")
    );

    let tx = transaction(&interchange);
    assert_eq!(
        (tx.code.as_str(), tx.control_number.as_str()),
        ("850", "0001")
    );
    let beg = tx.find("BEG").expect("a BEG");
    assert_eq!(
        (beg.el(1), beg.el(2), beg.el(3), beg.el(5)),
        ("00", "SA", "4500013001", "20240610")
    );
    assert_eq!(tx.find("CUR").map(|c| c.el(2)), Some("EUR"));

    let po1s: Vec<_> = tx.all("PO1").collect();
    assert_eq!(po1s.len(), po.lines.len());
    for (line, po1) in po.lines.iter().zip(&po1s) {
        let x12_unit = x12_850_purchase_order::built_in_unit(&line.quantity.unit);
        assert_eq!(
            (po1.el(1), po1.el(2), Some(po1.el(3))),
            (
                line.line_number.as_str(),
                line.quantity.value.as_str(),
                x12_unit
            )
        );
        let price = line.price.as_ref().expect("every fixture line has a price");
        assert_eq!((po1.el(4), po1.el(5)), (price.amount.as_str(), "PE"));
        let ids: Vec<(&str, &str)> = po1.pairs(6).map(|(_, q, v)| (q, v)).collect();
        assert_eq!(
            &ids[..2],
            [
                ("BP", line.item.id(&IdScheme::BuyerPart).expect("a BP")),
                ("VP", line.item.id(&IdScheme::VendorPart).expect("a VP"))
            ]
        );
    }
    let summary: Vec<Vec<(&str, &str)>> = po1s
        .iter()
        .map(|po1| po1.pairs(6).map(|(_, q, v)| (q, v)).skip(2).collect())
        .collect();
    assert_eq!(summary[2], [("EN", "4006381333931")], "the nut's GTIN-13");
    assert_eq!(summary[3], [("EC", "C")], "the M12 bolt's drawing revision");
    assert_eq!(po1s[4].el(3), "LB", "washers by the pound");

    let dtms: Vec<(&str, &str)> = tx.all("DTM").map(|d| (d.el(1), d.el(2))).collect();
    assert_eq!(
        dtms,
        [
            ("002", "20240618"),
            ("002", "20240618"),
            ("002", "20240618"),
            ("002", "20240625"),
            ("002", "20240618"),
            ("002", "20240620")
        ]
    );
    let parties: Vec<(&str, &str, &str)> = tx
        .all("N1")
        .map(|n1| (n1.el(1), n1.el(3), n1.el(4)))
        .collect();
    assert_eq!(
        parties,
        [
            ("BY", "UL", "5412345000013"),
            ("BT", "UL", "5412345000013"),
            ("ST", "UL", "5412345000020"),
            ("SU", "92", "BW01")
        ]
    );
    let ctt = tx.find("CTT").expect("a CTT");
    assert_eq!((ctt.el(1), ctt.el(2)), ("6", "26900"));
}

#[test]
fn events_other_than_purchase_orders_render_nothing() {
    let published = events("../../erp-inventory-posting/tests/goods-receipt-4500019921.json");
    for event in published {
        assert_eq!(render(&acme(), event), Ok(Vec::new()));
    }
}

#[test]
fn describe_names_the_purchase_order() {
    let info = PurchaseOrderRenderer::describe();
    assert_eq!(info.name, "x12-850-purchase-order");
    assert_eq!(info.document_types, ["canonical:purchase-order"]);
}
