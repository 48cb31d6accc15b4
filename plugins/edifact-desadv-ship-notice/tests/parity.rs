//! One shipment, two standards: Rhein Stahl's D.96A DESADV `RS-DA-240611-0042` and the X12 856 describing the
//! same shipment (`rhein-stahl-856.x12`, written here), mapped by this plugin and by the reference 856 plugin.
//! A buyer must not be able to tell them apart: every business field of the two ship notices is equal; only the
//! event ids and idempotency keys (which name the source document), the route's source name and the
//! correlation id differ.

// The native harness runs these; built for wasm they have nothing to run on.
#![cfg(not(target_family = "wasm"))]

mod common;

use common::{canonical_json, fixture, rhein_stahl};
use millwright_sdk::harness::envelope_from_file;
use millwright_sdk::types::{CanonicalEvent, ShipNotice};
use serde_json::Value;

use edifact_desadv_ship_notice::DespatchAdviceMapper;
use x12_856_ship_notice::ShipNoticeMapper;

fn only(mut events: Vec<CanonicalEvent>) -> ShipNotice {
    assert_eq!(events.len(), 1);
    match events.remove(0) {
        CanonicalEvent::ShipNotice(notice) => notice,
        other => panic!("expected a ship notice, got a {}", other.kind()),
    }
}

fn desadv() -> ShipNotice {
    let envelope = envelope_from_file(fixture("rhein-stahl-desadv-d96a.edi")).expect("fixture");
    only(
        rhein_stahl()
            .map::<DespatchAdviceMapper>(envelope)
            .expect("the DESADV maps"),
    )
}

fn x12_856() -> ShipNotice {
    let envelope = envelope_from_file(fixture("rhein-stahl-856.x12")).expect("fixture");
    only(
        rhein_stahl()
            .map::<ShipNoticeMapper>(envelope)
            .expect("the 856 maps"),
    )
}

/// The canonical JSON of a notice without the fields that name its source document.
fn business_fields(notice: &ShipNotice) -> Value {
    let mut json = canonical_json(&CanonicalEvent::ShipNotice(notice.clone()));
    let header = json["ship-notice"]["header"]
        .as_object_mut()
        .expect("a header object");
    for source_specific in ["id", "idempotency-key", "source-system", "correlation-id"] {
        assert!(
            header.remove(source_specific).is_some(),
            "{source_specific}"
        );
    }
    json
}

#[test]
fn the_desadv_and_the_856_of_one_shipment_give_the_same_ship_notice() {
    let (desadv, x12) = (desadv(), x12_856());
    assert_eq!(
        business_fields(&desadv),
        business_fields(&x12),
        "the DESADV's ship notice differs from the 856's beyond ids and keys"
    );
    // What differs is only where each came from.
    assert_eq!(desadv.header.id, "edifact:4012345000009:RS240611042:1");
    assert_eq!(x12.header.id, "x12:RHEINSTAHL:000000042:42:0001");
    assert_ne!(desadv.header.idempotency_key, x12.header.idempotency_key);
}

#[test]
fn the_comparison_sees_every_business_field() {
    // The two notices agree field by field, and the fields compared are the ones a buyer reads.
    let (desadv, x12) = (desadv(), x12_856());
    assert_eq!(desadv.shipment_id, x12.shipment_id);
    assert_eq!(desadv.shipped_at, x12.shipped_at);
    assert_eq!(desadv.expected_at, x12.expected_at);
    assert_eq!(desadv.header.event_time, x12.header.event_time);
    assert_eq!(desadv.ship_from, x12.ship_from);
    assert_eq!(desadv.ship_to, x12.ship_to);
    assert_eq!(desadv.orders, x12.orders);
    assert_eq!(
        (desadv.gross_weight.clone(), desadv.net_weight.clone()),
        (x12.gross_weight.clone(), x12.net_weight.clone())
    );
    assert!(
        desadv.ship_from.is_some() && desadv.ship_to.is_some() && desadv.gross_weight.is_some()
    );
    assert_eq!(desadv.orders[0].tares[0].packs.len(), 2);
    // And the JSON comparison is not blind: one changed heat number is a difference.
    let mut changed = desadv.clone();
    changed.orders[0].packs[0].items[0].lots[0].supplier_lot = Some("H24-00000".into());
    assert_ne!(business_fields(&changed), business_fields(&x12));
}
