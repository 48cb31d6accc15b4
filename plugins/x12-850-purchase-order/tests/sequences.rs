//! Control numbers: ISA13 and GS06 come from the host's sequences named after the receiver
//! (`x12-interchange:ZZ/BRIGHTWIRE`, `x12-group:ZZ/BRIGHTWIRE`), the names the host is to number its own 997s
//! to the same partner from, so every interchange the plant sends a partner counts in one series. The SDK's
//! harness keeps the sequences as the host does, and `Harness::with_sequence` sets where one stands.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{acme, brightwire_order, document, parse};
use millwright_sdk::types::Identifier;

/// ISA13, IEA02, GS06 and GE02 of a rendered 850, as the host's parser read them (it checks that each pair
/// matches), with the header naming the interchange.
fn control_numbers(document: &millwright_sdk::types::OutboundDocument) -> (String, String) {
    let interchange = parse(&document.payload);
    let header = document
        .headers
        .iter()
        .find(|(name, _)| name == "X12-Interchange-Control-Number")
        .map(|(_, value)| value.clone());
    assert_eq!(header.as_deref(), Some(interchange.control_number.as_str()));
    (
        interchange.control_number.clone(),
        interchange.groups[0].control_number.clone(),
    )
}

#[test]
fn two_orders_to_one_supplier_get_consecutive_control_numbers() {
    let harness = acme()
        .with_sequence("x12-interchange:ZZ/BRIGHTWIRE", 4710)
        .with_sequence("x12-group:ZZ/BRIGHTWIRE", 911);
    let first = document(&harness, brightwire_order());
    let mut second_order = brightwire_order();
    second_order.order_id = "4500013003".to_owned();
    let second = document(&harness, second_order);
    assert_eq!(
        control_numbers(&first),
        ("000004711".to_owned(), "912".to_owned())
    );
    assert_eq!(
        control_numbers(&second),
        ("000004712".to_owned(), "913".to_owned())
    );
    // ST02 is 0001 in every interchange: each holds one set.
    let text = String::from_utf8_lossy(&second.payload).into_owned();
    assert!(
        text.contains("ST*850*0001~\n") && text.contains("SE*34*0001~\n"),
        "{text}"
    );
}

#[test]
fn at_999999999_the_control_numbers_start_again_at_1() {
    let harness = acme()
        .with_sequence("x12-interchange:ZZ/BRIGHTWIRE", 999_999_999)
        .with_sequence("x12-group:ZZ/BRIGHTWIRE", 999_999_998);
    let first = document(&harness, brightwire_order());
    let second = document(&harness, brightwire_order());
    assert_eq!(
        control_numbers(&first),
        ("000000001".to_owned(), "999999999".to_owned())
    );
    assert_eq!(
        control_numbers(&second),
        ("000000002".to_owned(), "1".to_owned())
    );
}

#[test]
fn each_partner_counts_in_its_own_series() {
    let harness = acme()
        .with_lookup("x12-partners", "NW07", "01/045678912")
        .with_sequence("x12-interchange:ZZ/BRIGHTWIRE", 80);
    let brightwire = document(&harness, brightwire_order());
    let mut po = brightwire_order();
    po.supplier.ids = vec![Identifier::internal("NW07")];
    po.supplier.name = Some("Northwind Springs".to_owned());
    let northwind = document(&harness, po);
    assert_eq!(control_numbers(&brightwire).0, "000000081");
    assert_eq!(control_numbers(&northwind).0, "000000001");
    let interchange = parse(&northwind.payload);
    assert_eq!(
        (
            interchange.receiver_qualifier.as_str(),
            interchange.receiver_id.trim(),
            interchange.groups[0].receiver.as_str()
        ),
        ("01", "045678912", "045678912")
    );
}

#[test]
fn a_partners_own_gs03_comes_from_its_table() {
    let harness = acme().with_lookup("x12-application-receivers", "BW01", "BWPO");
    let interchange = parse(&document(&harness, brightwire_order()).payload);
    assert_eq!(interchange.groups[0].receiver, "BWPO");
    assert_eq!(interchange.receiver_id.trim(), "BRIGHTWIRE");
}

#[test]
fn a_refused_order_draws_no_control_number() {
    let harness = acme();
    let mut bad = brightwire_order();
    bad.lines[0].quantity.value = "-1".to_owned();
    assert!(
        harness
            .render::<x12_850_purchase_order::PurchaseOrderRenderer>(
                millwright_sdk::types::CanonicalEvent::PurchaseOrder(bad),
                millwright_sdk::types::Target::named("supplier-850")
            )
            .is_err()
    );
    let good = document(&harness, brightwire_order());
    assert_eq!(
        control_numbers(&good),
        ("000000001".to_owned(), "1".to_owned())
    );
}

#[test]
fn the_usage_indicator_and_ta1_request_come_from_the_profile() {
    let harness = acme()
        .with_config("usage-indicator", "T")
        .with_config("ta1-requested", "true")
        .with_config("application-sender", "ACMEP2");
    let interchange = parse(&document(&harness, brightwire_order()).payload);
    assert!(interchange.test && interchange.acknowledgment_requested);
    assert_eq!(interchange.groups[0].sender, "ACMEP2");
}
