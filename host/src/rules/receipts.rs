//! Receipt discrepancy: a goods receipt that differs from the ship notice it names raises a
//! `receipt-discrepancy` alert — an item the notice did not ship, another quantity than shipped, or a lot the
//! notice did not name. Each ship notice is kept as shipped (`asn.<shipment>` in the rule state), its items
//! summed per item, unit and lots, with the receipts that named it.
//!
//! Items are matched through the tenant's item cross-reference, and quantities in different units converted
//! through its `unit-conversions` table ([`super::matching`]); two units no row links are reported as not
//! comparable, and so is a row that is bad master data (naming the table, the key and what is wrong).
//!
//! A receipt can be processed before its notice (a 3PL's count often beats the supplier's ASN): it is kept
//! pending on the notice's entry (`asn.<shipment>`, `pending`), with no alert, and compared when the notice
//! arrives. A receipt whose notice does not come within the receipt-overdue grace is reported by that rule's
//! timer ([`super::sla`]) as a `receipt-discrepancy` naming a notice never seen.

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::alerts::{Alert, AlertState};
use super::decimal::Decimal;
use super::matching::{Amount, MasterData};
use super::quarantine::{item_ids, lot_numbers};
use super::state::Documents;
use super::{Rule, RuleState, Stored};

/// One item as shipped, summed over the notice's packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedItem {
    /// Its ids (`scheme:value`).
    pub ids: Vec<String>,
    /// The item as canonical JSON, for alerts.
    pub item: Value,
    /// The quantity shipped, summed.
    pub quantity: String,
    /// Its unit.
    pub unit: String,
    /// The lot numbers shipped.
    pub lots: Vec<String>,
    /// The orders it was shipped against.
    pub orders: Vec<String>,
}

/// A ship notice as shipped, and the receipts that named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitedShipment {
    /// The shipment id.
    pub shipment_id: String,
    /// Its items.
    pub items: Vec<ShippedItem>,
    /// When it is expected, when the notice says.
    pub expected_at: Option<String>,
    /// The receipts (event ids) that named it and were compared with it.
    pub receipts: Vec<String>,
    /// Whether the notice itself was seen; false while only receipts naming it were.
    #[serde(default = "seen")]
    pub notice_seen: bool,
    /// Receipts that came before the notice, compared when it arrives.
    #[serde(default)]
    pub pending: Vec<PendingReceipt>,
}

fn seen() -> bool {
    true
}

/// A receipt waiting for its ship notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReceipt {
    /// The receipt event's id.
    pub event_id: String,
    /// The receipt, as canonical JSON (`goods-receipt`'s body).
    pub receipt: Value,
    /// The flow it belongs to, for its alert.
    pub correlation_id: String,
}

/// The receipt-discrepancy rule.
pub struct ReceiptDiscrepancy;

impl Rule for ReceiptDiscrepancy {
    fn name(&self) -> &'static str {
        "receipt-discrepancy"
    }

    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match event.event_type {
                "ship-notice" => shipped(state, &event.value["ship-notice"]).await,
                "goods-receipt" => received(state, &event.value["goods-receipt"], event).await,
                _ => Ok(()),
            }
        })
    }
}

/// Every shipped item of a notice, wherever it sits (order, tare, pack), with its order.
pub(super) fn shipped_items(notice: &Value) -> Vec<(Option<String>, &Value)> {
    fn walk<'a>(
        node: &'a Value,
        order: &Option<String>,
        out: &mut Vec<(Option<String>, &'a Value)>,
    ) {
        for item in node["items"].as_array().into_iter().flatten() {
            out.push((order.clone(), item));
        }
        for child in ["tares", "packs"] {
            for nested in node[child].as_array().into_iter().flatten() {
                walk(nested, order, out);
            }
        }
    }
    let mut out = Vec::new();
    for order in notice["orders"].as_array().into_iter().flatten() {
        let id = order["order"]["order-id"].as_str().map(str::to_string);
        walk(order, &id, &mut out);
    }
    out
}

async fn shipped(state: &RuleState, notice: &Value) -> Result<()> {
    let Some(shipment_id) = notice["shipment-id"].as_str() else {
        return Ok(());
    };
    let data = state.master_data.now();
    let mut items: Vec<ShippedItem> = Vec::new();
    for (order, shipped) in shipped_items(notice) {
        let ids = item_ids(&shipped["item"]);
        let quantity = shipped["quantity"]["value"].as_str().unwrap_or("0");
        let unit = shipped["quantity"]["unit"].as_str().unwrap_or_default();
        let lots: Vec<String> = shipped["lots"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(lot_numbers)
            .collect();
        // One entry per item, unit and set of lots: a receipt of one lot is compared with what was shipped of it.
        let mut lots = lots;
        lots.sort();
        lots.dedup();
        let known = items
            .iter_mut()
            .find(|i| i.unit == unit && i.lots == lots && data.same_item(&i.ids, &ids));
        match known {
            Some(item) => {
                if let (Some(sum), Some(more)) =
                    (Decimal::parse(&item.quantity), Decimal::parse(quantity))
                    && let Some(total) = sum.plus(more)
                {
                    item.quantity = total.to_string();
                }
                if let Some(order) = order
                    && !item.orders.contains(&order)
                {
                    item.orders.push(order);
                }
            }
            None => items.push(ShippedItem {
                ids,
                item: shipped["item"].clone(),
                quantity: quantity.to_string(),
                unit: unit.to_string(),
                lots,
                orders: order.into_iter().collect(),
            }),
        }
    }
    let expected_at = notice["expected-at"]["utc"].as_str().map(str::to_string);
    let key = Documents::key("asn", shipment_id);
    let awaited = state
        .documents
        .change_new(&key, |current: Option<AwaitedShipment>| {
            let (receipts, pending) =
                current.map_or_else(Default::default, |c| (c.receipts, c.pending));
            Ok(Some(AwaitedShipment {
                shipment_id: shipment_id.to_string(),
                items: items.clone(),
                expected_at: expected_at.clone(),
                receipts,
                notice_seen: true,
                pending,
            }))
        })
        .await?;
    // The receipts that came first: compared now, then recorded as compared.
    let Some(awaited) = awaited.filter(|a| !a.pending.is_empty()) else {
        return Ok(());
    };
    for pending in &awaited.pending {
        tracing::info!(tenant = %state.tenant, shipment = shipment_id, receipt = %pending.event_id, "ship notice arrived after its receipt: comparing them now");
        compare(
            state,
            &awaited,
            &pending.receipt,
            &pending.event_id,
            &pending.correlation_id,
            &data,
        )
        .await?;
    }
    let compared: Vec<String> = awaited.pending.iter().map(|p| p.event_id.clone()).collect();
    state
        .documents
        .change(&key, |current: Option<AwaitedShipment>| {
            Ok(current.map(|mut c| {
                c.pending.retain(|p| !compared.contains(&p.event_id));
                for id in &compared {
                    if !c.receipts.contains(id) {
                        c.receipts.push(id.clone());
                    }
                }
                c
            }))
        })
        .await?;
    Ok(())
}

/// An alert's concerns: the notice, the receipt, its item, lots and location, and the quantities.
fn concerns(receipt: &Value, shipment: &str, shipped: Option<Value>) -> Value {
    let mut quantities =
        vec![json!({"what": "received", "quantity": receipt["quantity-received"]})];
    if let Some(shipped) = shipped {
        quantities.push(json!({"what": "shipped", "quantity": shipped}));
    }
    json!({
        "documents": [
            {"kind": "ship-notice", "id": shipment},
            {"kind": "goods-receipt", "id": receipt["receipt-id"].as_str().unwrap_or_default()},
        ],
        "items": [receipt["item"]],
        "lots": receipt["lots"].as_array().into_iter().flatten().flat_map(lot_numbers).collect::<Vec<_>>(),
        "quantities": quantities,
        "locations": Some(&receipt["location"]).filter(|l| !l.is_null()).into_iter().collect::<Vec<_>>(),
    })
}

/// How a receipt differs from what the notice shipped of its item: `shipped` are the notice's entries of the
/// item (one per lot set). A receipt naming lots is compared with the entries of those lots; one naming none,
/// with all of them.
fn differences(
    receipt: &Value,
    shipped: &[&ShippedItem],
    shipment: &str,
    data: &MasterData,
) -> Vec<String> {
    let quantity = &receipt["quantity-received"];
    let (value, unit) = (
        quantity["value"].as_str().unwrap_or("?"),
        quantity["unit"].as_str().unwrap_or("?"),
    );
    if shipped.is_empty() {
        return vec![format!(
            "{value} {unit} received of an item ship notice {shipment} did not ship"
        )];
    }
    // A receipt names a lot by its internal or its supplier number: one of them matching is enough.
    let named: Vec<Vec<String>> = receipt["lots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(lot_numbers)
        .filter(|numbers| !numbers.is_empty())
        .collect();
    let matching: Vec<&ShippedItem> = if named.is_empty() {
        shipped.to_vec()
    } else {
        shipped
            .iter()
            .copied()
            .filter(|s| named.iter().flatten().any(|n| s.lots.contains(n)))
            .collect()
    };
    if matching.is_empty() {
        let shipped_lots: Vec<&str> = shipped
            .iter()
            .flat_map(|s| s.lots.iter().map(String::as_str))
            .collect();
        let received: Vec<String> = named.iter().map(|n| n.join("/")).collect();
        return vec![format!(
            "lot {} received, the notice shipped {}",
            received.join(", "),
            if shipped_lots.is_empty() {
                "no lot".to_string()
            } else {
                shipped_lots.join(", ")
            }
        )];
    }
    let shipped_text = || {
        matching
            .iter()
            .map(|s| format!("{} {}", s.quantity, s.unit))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let quantities = matching
        .iter()
        .filter_map(|s| Some((Decimal::parse(&s.quantity)?, s.unit.as_str())));
    let total = match data.sum_in(quantities, unit) {
        Ok(Ok(total)) => total,
        Ok(Err(other)) => {
            return vec![format!(
                "received in {unit}, shipped in {other}: the quantities cannot be compared (no unit-conversions \
                 row {unit}/{other} or {other}/{unit})"
            )];
        }
        Err(err) => {
            return vec![format!(
                "received {value} {unit}, shipped {}: the quantities cannot be compared: {err}",
                shipped_text()
            )];
        }
    };
    let same = Decimal::parse(value)
        .and_then(|received| total.compare(Amount::of(received)))
        .is_some_and(|o| o == std::cmp::Ordering::Equal);
    if same {
        return Vec::new();
    }
    if matching.iter().all(|s| s.unit == unit) {
        vec![format!(
            "{value} {unit} received, {} {unit} shipped",
            total.shown()
        )]
    } else {
        vec![format!(
            "{value} {unit} received, {} shipped ({} {unit})",
            shipped_text(),
            total.shown()
        )]
    }
}

async fn received(state: &RuleState, receipt: &Value, event: &Stored<'_>) -> Result<()> {
    let Some(shipment) = receipt["ship-notice-ref"]
        .as_str()
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    let event_id = receipt["header"]["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or(event.output_id)
        .to_string();
    let pending = PendingReceipt {
        event_id: event_id.clone(),
        receipt: receipt.clone(),
        correlation_id: event.correlation_id.to_string(),
    };
    let awaited: Option<AwaitedShipment> = state
        .documents
        .change(
            &Documents::key("asn", shipment),
            |current: Option<AwaitedShipment>| {
                let mut c = current.unwrap_or_else(|| AwaitedShipment {
                    shipment_id: shipment.to_string(),
                    items: Vec::new(),
                    expected_at: None,
                    receipts: Vec::new(),
                    notice_seen: false,
                    pending: Vec::new(),
                });
                if !c.notice_seen {
                    // Before its notice: kept, and compared when the notice arrives.
                    if !c.pending.iter().any(|p| p.event_id == event_id) {
                        c.pending.push(pending.clone());
                    }
                } else if !c.receipts.contains(&event_id) {
                    c.receipts.push(event_id.clone());
                }
                Ok(Some(c))
            },
        )
        .await?;
    let Some(awaited) = awaited.filter(|a| a.notice_seen) else {
        tracing::info!(tenant = %state.tenant, shipment, receipt = %event_id, "receipt before its ship notice: compared when the notice arrives");
        return Ok(());
    };
    compare(
        state,
        &awaited,
        receipt,
        &event_id,
        event.correlation_id,
        &state.master_data.now(),
    )
    .await
}

/// Compares a receipt with the notice it names, and raises the alert when they differ.
async fn compare(
    state: &RuleState,
    awaited: &AwaitedShipment,
    receipt: &Value,
    event_id: &str,
    correlation_id: &str,
    data: &MasterData,
) -> Result<()> {
    let shipment = awaited.shipment_id.as_str();
    let receipt_id = receipt["receipt-id"].as_str().unwrap_or_default();
    let ids = item_ids(&receipt["item"]);
    let shipped: Vec<&ShippedItem> = awaited
        .items
        .iter()
        .filter(|i| data.same_item(&i.ids, &ids))
        .collect();
    let found = differences(receipt, &shipped, shipment, data);
    if found.is_empty() {
        return Ok(());
    }
    let shipped_quantity = shipped
        .first()
        .map(|i| json!({"value": i.quantity, "unit": i.unit}));
    state
        .alerts
        .raise(Alert {
            id: format!("receipt-discrepancy:{event_id}"),
            kind: "receipt-discrepancy".into(),
            severity: "warning".into(),
            subject: format!("ship-notice:{shipment}"),
            message: format!(
                "receipt {receipt_id} differs from ship notice {shipment}: {}",
                found.join("; ")
            ),
            concerns: concerns(receipt, shipment, shipped_quantity),
            correlation_id: correlation_id.to_string(),
            raised_at: jiff::Timestamp::now(),
            state: AlertState::Open,
            acknowledged: None,
            resolved: None,
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> ShippedItem {
        ShippedItem {
            ids: vec!["buyer-part:FST-M10-40".into()],
            item: json!({}),
            quantity: "5000".into(),
            unit: "H87".into(),
            lots: vec!["B2406-17".into()],
            orders: vec!["4500020114".into()],
        }
    }

    fn receipt(value: &str, unit: &str, lot: &str) -> Value {
        json!({"quantity-received": {"value": value, "unit": unit},
            "lots": [{"internal-lot": null, "supplier-lot": lot}]})
    }

    #[test]
    fn a_receipt_is_compared_with_what_its_notice_shipped() {
        let none = MasterData::none();
        let item = shipped();
        let one = [&item];
        assert!(differences(&receipt("5000.0", "H87", "B2406-17"), &one, "S", &none).is_empty());
        assert_eq!(
            differences(&receipt("4850", "H87", "B2406-17"), &one, "S", &none),
            ["4850 H87 received, 5000 H87 shipped"]
        );
        assert_eq!(
            differences(&receipt("5000", "H87", "B2406-99"), &one, "S", &none),
            ["lot B2406-99 received, the notice shipped B2406-17"]
        );
        assert_eq!(
            differences(&receipt("11", "LBR", "B2406-17"), &one, "S", &none),
            [
                "received in LBR, shipped in H87: the quantities cannot be compared (no unit-conversions \
              row LBR/H87 or H87/LBR)"
            ]
        );
        assert_eq!(
            differences(&receipt("5", "H87", "X"), &[], "S", &none),
            ["5 H87 received of an item ship notice S did not ship"]
        );
    }

    #[test]
    fn a_receipt_of_one_lot_is_compared_with_what_was_shipped_of_that_lot() {
        let none = MasterData::none();
        let coil = |lot: &str, kg: &str| ShippedItem {
            ids: vec!["buyer-part:COIL".into()],
            item: json!({}),
            quantity: kg.into(),
            unit: "KGM".into(),
            lots: vec![lot.into()],
            orders: Vec::new(),
        };
        let (a, b) = (coil("H1", "12150"), coil("H2", "11890"));
        let both = [&a, &b];
        assert!(differences(&receipt("12150", "KGM", "H1"), &both, "S", &none).is_empty());
        assert!(differences(&receipt("11890", "KGM", "H2"), &both, "S", &none).is_empty());
        assert_eq!(
            differences(&receipt("11000", "KGM", "H2"), &both, "S", &none),
            ["11000 KGM received, 11890 KGM shipped"]
        );
        let unnamed = json!({"quantity-received": {"value": "24040", "unit": "KGM"}, "lots": []});
        assert!(
            differences(&unnamed, &both, "S", &none).is_empty(),
            "no lot named: the item's total"
        );
    }

    #[test]
    fn a_receipt_in_another_unit_is_converted_through_the_tenants_table() {
        let washers = ShippedItem {
            ids: vec!["buyer-part:FST-WSH-M10".into()],
            item: json!({}),
            quantity: "181.436948".into(),
            unit: "KGM".into(),
            lots: vec!["W2406-04".into()],
            orders: Vec::new(),
        };
        let one = [&washers];
        let data = crate::rules::matching::tests::master_data(&[(
            "unit-conversions",
            "from_to,factor\nLBR/KGM,0.45359237\n",
        )]);
        assert!(
            differences(&receipt("400", "LBR", "W2406-04"), &one, "S", &data).is_empty(),
            "400 LBR is 181.436948 KGM"
        );
        assert_eq!(
            differences(&receipt("390", "LBR", "W2406-04"), &one, "S", &data),
            ["390 LBR received, 181.436948 KGM shipped (400 LBR)"]
        );
        let bad = crate::rules::matching::tests::master_data(&[(
            "unit-conversions",
            "from_to,factor\nLBR/KGM,pound\n",
        )]);
        let found = differences(&receipt("400", "LBR", "W2406-04"), &one, "S", &bad);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("cannot be compared: master data table unit-conversions, key \"LBR/KGM\": factor \"pound\""),
            "{found:?}"
        );
    }

    #[test]
    fn a_notices_items_are_found_in_its_orders_tares_and_packs() {
        let notice = json!({"orders": [{"order": {"order-id": "PO1"}, "items": [{"n": 1}],
            "tares": [{"items": [{"n": 2}], "packs": [{"items": [{"n": 3}]}]}], "packs": [{"items": [{"n": 4}]}]}]});
        let found: Vec<i64> = shipped_items(&notice)
            .iter()
            .map(|(order, item)| {
                assert_eq!(order.as_deref(), Some("PO1"));
                item["n"].as_i64().expect("n")
            })
            .collect();
        assert_eq!(
            found,
            [1, 2, 3, 4],
            "the order's own items, then each tare with its packs, then loose packs"
        );
    }
}
