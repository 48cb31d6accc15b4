//! Receipt discrepancy: a goods receipt that differs from the ship notice it names raises a
//! `receipt-discrepancy` alert — an item the notice did not ship, another quantity than shipped (in the same
//! unit; quantities in different units are reported as not comparable), or a lot the notice did not name. Each
//! ship notice is kept as shipped (`asn.<shipment>` in the rule state), its items summed per item, unit and
//! lots, with the receipts that named it; a receipt naming a notice the rules never saw raises the alert too, saying so.

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::alerts::{Alert, AlertState};
use super::decimal::Decimal;
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
    /// The receipts (event ids) that named it.
    pub receipts: Vec<String>,
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
            .find(|i| i.unit == unit && i.lots == lots && i.ids.iter().any(|id| ids.contains(id)));
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
    state
        .documents
        .change(
            &Documents::key("asn", shipment_id),
            |current: Option<AwaitedShipment>| {
                Ok(Some(AwaitedShipment {
                    shipment_id: shipment_id.to_string(),
                    items: items.clone(),
                    expected_at: expected_at.clone(),
                    receipts: current.map(|c| c.receipts).unwrap_or_default(),
                }))
            },
        )
        .await?;
    Ok(())
}

/// How a receipt differs from what the notice shipped of its item: `shipped` are the notice's entries of the
/// item (one per lot set). A receipt naming lots is compared with the entries of those lots; one naming none,
/// with all of them.
fn differences(receipt: &Value, shipped: &[&ShippedItem], shipment: &str) -> Vec<String> {
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
    if let Some(other) = matching.iter().find(|s| s.unit != unit) {
        return vec![format!(
            "received in {unit}, shipped in {}: the quantities cannot be compared",
            other.unit
        )];
    }
    let total = matching
        .iter()
        .filter_map(|s| Decimal::parse(&s.quantity))
        .try_fold(Decimal::parse("0").expect("zero"), Decimal::plus);
    match total {
        Some(total) if Some(total) != Decimal::parse(value) => {
            vec![format!("{value} {unit} received, {total} {unit} shipped")]
        }
        _ => Vec::new(),
    }
}

async fn received(state: &RuleState, receipt: &Value, event: &Stored<'_>) -> Result<()> {
    let Some(shipment) = receipt["ship-notice-ref"]
        .as_str()
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    let receipt_id = receipt["receipt-id"].as_str().unwrap_or_default();
    let event_id = receipt["header"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let awaited: Option<AwaitedShipment> = state
        .documents
        .change(
            &Documents::key("asn", shipment),
            |current: Option<AwaitedShipment>| {
                Ok(current.map(|mut c| {
                    if !c.receipts.contains(&event_id) {
                        c.receipts.push(event_id.clone());
                    }
                    c
                }))
            },
        )
        .await?;
    let ids = item_ids(&receipt["item"]);
    let found = match &awaited {
        None => vec![format!(
            "ship notice {shipment} was not seen: the receipt cannot be checked against it"
        )],
        Some(awaited) => {
            let shipped: Vec<&ShippedItem> = awaited
                .items
                .iter()
                .filter(|i| i.ids.iter().any(|id| ids.contains(id)))
                .collect();
            differences(receipt, &shipped, shipment)
        }
    };
    if found.is_empty() {
        return Ok(());
    }
    let shipped_quantity = awaited.as_ref().and_then(|a| {
        a.items
            .iter()
            .find(|i| i.ids.iter().any(|id| ids.contains(id)))
            .map(|i| json!({"value": i.quantity, "unit": i.unit}))
    });
    let mut quantities =
        vec![json!({"what": "received", "quantity": receipt["quantity-received"]})];
    if let Some(shipped) = shipped_quantity {
        quantities.push(json!({"what": "shipped", "quantity": shipped}));
    }
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
            concerns: json!({
                "documents": [
                    {"kind": "ship-notice", "id": shipment},
                    {"kind": "goods-receipt", "id": receipt_id},
                ],
                "items": [receipt["item"]],
                "lots": receipt["lots"].as_array().into_iter().flatten().flat_map(lot_numbers).collect::<Vec<_>>(),
                "quantities": quantities,
                "locations": [receipt["location"]],
            }),
            correlation_id: event.correlation_id.to_string(),
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
        let item = shipped();
        let one = [&item];
        assert!(differences(&receipt("5000.0", "H87", "B2406-17"), &one, "S").is_empty());
        assert_eq!(
            differences(&receipt("4850", "H87", "B2406-17"), &one, "S"),
            ["4850 H87 received, 5000 H87 shipped"]
        );
        assert_eq!(
            differences(&receipt("5000", "H87", "B2406-99"), &one, "S"),
            ["lot B2406-99 received, the notice shipped B2406-17"]
        );
        assert_eq!(
            differences(&receipt("11", "LBR", "B2406-17"), &one, "S"),
            ["received in LBR, shipped in H87: the quantities cannot be compared"]
        );
        assert_eq!(
            differences(&receipt("5", "H87", "X"), &[], "S"),
            ["5 H87 received of an item ship notice S did not ship"]
        );
    }

    #[test]
    fn a_receipt_of_one_lot_is_compared_with_what_was_shipped_of_that_lot() {
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
        assert!(differences(&receipt("12150", "KGM", "H1"), &both, "S").is_empty());
        assert!(differences(&receipt("11890", "KGM", "H2"), &both, "S").is_empty());
        assert_eq!(
            differences(&receipt("11000", "KGM", "H2"), &both, "S"),
            ["11000 KGM received, 11890 KGM shipped"]
        );
        let unnamed = json!({"quantity-received": {"value": "24040", "unit": "KGM"}, "lots": []});
        assert!(
            differences(&unnamed, &both, "S").is_empty(),
            "no lot named: the item's total"
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
