//! The golden fixtures, both written here from the standards: Rhein Stahl's EANCOM D.96A DESADV
//! `RS-DA-240611-0042` (coil and strip for plant P2 on one order, a pallet of two slit coils and a master coil)
//! and its EANCOM 2002 (D.01B) DESADV `RS-DA-240618-0051` (a replacement: two orders, pallets without cartons,
//! test coupons with serial numbers, a despatch time with its own UTC offset, an arrival time with a DTM 735
//! offset). Each is mapped through the SDK's native harness and compared with its `.expected.json`, which is
//! what `millwright plugin test` prints for the built component:
//!
//! ```sh
//! millwright plugin test plugins/target/components/edifact-desadv-ship-notice.wasm \
//!     plugins/edifact-desadv-ship-notice/tests/rhein-stahl-desadv-d96a.edi --tenant acme \
//!     --source rhein-stahl-desadv --now 2024-06-11T13:00:00Z --config timezone=Europe/Berlin
//! ```
//!
//! Then the receiving clerk's reading of them: which labels to scan, which heat numbers, how much of what.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{all_items, canonical_json, fixture, only, qty, rhein_stahl};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{CanonicalEvent, IdScheme, Purpose};
use serde_json::Value;

use edifact_desadv_ship_notice::DespatchAdviceMapper;

/// A fixture's events as the host would publish them. `tenant` and `correlation-id` are the host's to set
/// (from the route and the input message), so the envelope carries the ones the runner wrote.
fn mapped(name: &str, expected: &Value) -> Vec<CanonicalEvent> {
    let mut envelope = envelope_from_file(fixture(name)).expect("the fixture is here");
    envelope.source = "rhein-stahl-desadv".into();
    envelope.tenant = "acme".into();
    envelope.correlation_id = expected[0]["ship-notice"]["header"]["correlation-id"]
        .as_str()
        .expect("the golden file names a correlation id")
        .to_owned();
    rhein_stahl()
        .map::<DespatchAdviceMapper>(envelope)
        .expect("the fixture maps")
}

fn expected(name: &str) -> Value {
    let path = fixture(&name.replace(".edi", ".expected.json"));
    serde_json::from_slice(&std::fs::read(&path).expect("the golden file is beside the fixture"))
        .expect("the golden file is JSON")
}

fn assert_golden(name: &str) {
    let expected = expected(name);
    let actual = Value::Array(mapped(name, &expected).iter().map(canonical_json).collect());
    assert_eq!(
        actual,
        expected,
        "the mapping of {name} differs from its golden file:\n{}",
        serde_json::to_string_pretty(&actual).expect("JSON")
    );
}

#[test]
fn the_d96a_fixture_maps_to_the_canonical_json_in_its_golden_file() {
    assert_golden("rhein-stahl-desadv-d96a.edi");
}

#[test]
fn the_d01b_fixture_maps_to_the_canonical_json_in_its_golden_file() {
    assert_golden("rhein-stahl-desadv-d01b.edi");
}

#[test]
fn the_clerk_scans_a_pallet_of_two_slit_coils_and_a_master_coil_with_their_heat_numbers() {
    let name = "rhein-stahl-desadv-d96a.edi";
    let notice = only(mapped(name, &expected(name)));
    assert_eq!(
        (notice.shipment_id.as_str(), notice.purpose),
        ("RS-DA-240611-0042", Purpose::Original)
    );
    assert_eq!(notice.header.id, "edifact:4012345000009:RS240611042:1");
    // DTM+11 14:15 in Duisburg (CEST) and DTM+17 14:00 Duisburg time on 9 July.
    assert_eq!(
        notice
            .shipped_at
            .as_ref()
            .map(|t| (t.utc.as_str(), t.original_offset_minutes)),
        Some(("2024-06-11T12:15:00Z", Some(120)))
    );
    assert_eq!(notice.header.event_time.utc, "2024-06-11T12:15:00Z");
    assert_eq!(
        notice.expected_at.as_ref().map(|t| t.utc.as_str()),
        Some("2024-07-09T12:00:00Z")
    );
    let from = notice
        .ship_from
        .as_ref()
        .expect("NAD+SU stands in for NAD+SF");
    assert_eq!(
        (from.ids[0].scheme.clone(), from.ids[0].value.as_str()),
        (IdScheme::Gln, "4012345000009")
    );
    let to = notice
        .ship_to
        .as_ref()
        .expect("NAD+DP stands in for NAD+ST");
    assert_eq!(
        to.ids[0].value, "5412345000020",
        "plant P2's delivery point"
    );

    let order = &notice.orders[0];
    assert_eq!(
        order
            .order
            .as_ref()
            .map(|o| (o.order_id.as_str(), o.order_date.as_deref())),
        Some(("4500012990", Some("2024-05-20")))
    );
    let pallet = &order.tares[0];
    assert_eq!(pallet.sscc.as_deref(), Some("340123450000000017"));
    let labels: Vec<_> = pallet.packs.iter().map(|p| p.sscc.as_deref()).collect();
    assert_eq!(
        labels,
        [Some("340123450000000024"), Some("340123450000000031")]
    );
    assert_eq!(order.packs[0].sscc.as_deref(), Some("340123450000000048"));

    let items = all_items(&notice);
    let read: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i.line_number.as_deref(),
                i.item.id(&IdScheme::BuyerPart),
                qty(i),
                i.lots[0].supplier_lot.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            (
                Some("10"),
                Some("STL-STRIP-DC04-1.5-300"),
                ("2150", "KGM"),
                Some("H24-88731")
            ),
            (
                Some("10"),
                Some("STL-STRIP-DC04-1.5-300"),
                ("2180", "KGM"),
                Some("H24-88732")
            ),
            (
                Some("20"),
                Some("STL-COIL-HR-S355-3.0"),
                ("20520", "KGM"),
                Some("H24-88733")
            ),
        ]
    );
    assert_eq!(
        items[2].item.id(&IdScheme::VendorPart),
        Some("RS-HR-S355-3.0X1250")
    );
    assert_eq!(items[2].item.id(&IdScheme::Gtin), Some("4012345100020"));
}

#[test]
fn the_d01b_replacement_splits_its_pallets_by_order_and_keeps_serials_batches_and_expiry() {
    let name = "rhein-stahl-desadv-d01b.edi";
    let notice = only(mapped(name, &expected(name)));
    assert_eq!(notice.purpose, Purpose::Replace, "BGM 1225 = 5");
    // DTM+11 in format 205 carries +02:00; DTM+132 is followed by DTM+735 -04:00 (Toledo time).
    assert_eq!(
        notice
            .shipped_at
            .as_ref()
            .map(|t| (t.utc.as_str(), t.original_offset_minutes)),
        Some(("2024-06-18T06:45:00Z", Some(120)))
    );
    assert_eq!(
        notice
            .expected_at
            .as_ref()
            .map(|t| (t.utc.as_str(), t.original_offset_minutes)),
        Some(("2024-07-02T12:00:00Z", Some(-240)))
    );
    let carrier = notice.carrier.as_ref().expect("TDT");
    assert_eq!(
        (carrier.scac.as_deref(), carrier.transport_mode.as_deref()),
        (Some("RSLG"), Some("30"))
    );
    assert_eq!(
        notice
            .lading_quantity
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("2", "PF")),
        "PAC+2++PX on the consignment"
    );
    let orders: Vec<_> = notice
        .orders
        .iter()
        .map(|o| {
            (
                o.order.as_ref().map(|r| r.order_id.as_str()),
                o.packs
                    .iter()
                    .map(|p| p.sscc.as_deref())
                    .collect::<Vec<_>>(),
                o.items.len(),
            )
        })
        .collect();
    assert_eq!(
        orders,
        [
            (Some("4500013120"), vec![Some("340123450000000055")], 1),
            (Some("4500013121"), vec![Some("340123450000000062")], 0),
        ]
    );
    let coupons = &notice.orders[0].items[0];
    assert_eq!(coupons.serials.len(), 3);
    assert_eq!(qty(coupons), ("3", "H87"));
    let blanks = &notice.orders[0].packs[0].items[0];
    let heats: Vec<_> = blanks
        .lots
        .iter()
        .filter_map(|l| l.supplier_lot.as_deref())
        .collect();
    assert_eq!(heats, ["H24-90211", "H24-90212"]);
    assert_eq!(
        blanks
            .quantity_ordered
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("2000", "KGM"))
    );
    let spring = &notice.orders[1].packs[0].items[0];
    assert_eq!(
        qty(spring),
        ("1880.5", "KGM"),
        "a decimal comma becomes a point"
    );
    assert_eq!(spring.lots[0].expiry.as_deref(), Some("2026-06-18"));
}
