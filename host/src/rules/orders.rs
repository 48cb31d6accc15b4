//! Order change: a supplier's acknowledgment that changes, back-orders or rejects lines of a purchase order
//! raises an `order-change` alert for the buyer. Each purchase order is kept as it went out (`po.<order>` in
//! the rule state), with when it was acknowledged; an acknowledgment is compared with it line by line (by line
//! number): a line status other than `accepted`, a quantity or unit other than ordered, or a promise later than
//! the date asked is a change.
//! An acknowledgment of an order the rules never saw go out raises the alert too, saying so.

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::alerts::{Alert, AlertState};
use super::decimal::Decimal;
use super::state::Documents;
use super::{Rule, RuleState, Stored};

/// One ordered line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderedLine {
    /// The line number.
    pub line_number: String,
    /// The item as canonical JSON (`item-ref`).
    pub item: Value,
    /// The quantity as canonical JSON (`quantity`).
    pub quantity: Value,
    /// The requested date, when given.
    pub requested_date: Option<String>,
}

/// A purchase order as it went out, and its acknowledgment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    /// The order number.
    pub order_id: String,
    /// Its lines.
    pub lines: Vec<OrderedLine>,
    /// When it was seen going out.
    pub sent_at: jiff::Timestamp,
    /// When the supplier acknowledged it, and the acknowledgment's id.
    pub acknowledged: Option<(jiff::Timestamp, String)>,
}

/// The order-change rule.
pub struct OrderChange;

impl Rule for OrderChange {
    fn name(&self) -> &'static str {
        "order-change"
    }

    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match event.event_type {
                "purchase-order" => ordered(state, &event.value["purchase-order"]).await,
                "order-acknowledgment" => {
                    acknowledged(state, &event.value["order-acknowledgment"], event).await
                }
                _ => Ok(()),
            }
        })
    }
}

async fn ordered(state: &RuleState, order: &Value) -> Result<()> {
    let Some(order_id) = order["order-id"].as_str() else {
        return Ok(());
    };
    let lines: Vec<OrderedLine> = order["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| OrderedLine {
            line_number: line["line-number"].as_str().unwrap_or_default().to_string(),
            item: line["item"].clone(),
            quantity: line["quantity"].clone(),
            requested_date: line["requested-date"].as_str().map(str::to_string),
        })
        .collect();
    state
        .documents
        .change_new(
            &Documents::key("po", order_id),
            |current: Option<OpenOrder>| {
                // A change order replaces the lines; the acknowledgment already received stays on record.
                Ok(Some(OpenOrder {
                    order_id: order_id.to_string(),
                    lines: lines.clone(),
                    sent_at: current
                        .as_ref()
                        .map_or_else(jiff::Timestamp::now, |c| c.sent_at),
                    acknowledged: current.and_then(|c| c.acknowledged),
                }))
            },
        )
        .await?;
    Ok(())
}

/// Whether date `a` is after date `b` (ISO dates, `2024-06-18`, with or without a time); an earlier promise is no
/// change a buyer must act on.
fn is_later(a: &str, b: &str) -> bool {
    match (
        a.parse::<jiff::civil::Date>(),
        b.parse::<jiff::civil::Date>(),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => a.get(..10) > b.get(..10),
    }
}

/// What changed in one acknowledged line.
fn changes(ordered: Option<&OrderedLine>, line: &Value) -> Vec<String> {
    let number = line["line-number"].as_str().unwrap_or("?");
    let mut out = Vec::new();
    match line["status"].as_str().unwrap_or_default() {
        "accepted" => {}
        "changed" => out.push(format!("line {number} changed")),
        "back-ordered" => out.push(format!("line {number} back-ordered")),
        "rejected" => out.push(format!("line {number} rejected")),
        other => out.push(format!("line {number}: status {other}")),
    }
    let Some(ordered) = ordered else {
        out.push(format!("line {number} is not on the order"));
        return out;
    };
    let (given, asked) = (&line["quantity"], &ordered.quantity);
    let same_quantity = given["unit"] == asked["unit"]
        && Decimal::parse(given["value"].as_str().unwrap_or_default())
            == Decimal::parse(asked["value"].as_str().unwrap_or_default());
    if !same_quantity {
        out.push(format!(
            "line {number}: {} {} instead of {} {}",
            given["value"].as_str().unwrap_or("?"),
            given["unit"].as_str().unwrap_or("?"),
            asked["value"].as_str().unwrap_or("?"),
            asked["unit"].as_str().unwrap_or("?")
        ));
    }
    if let (Some(promised), Some(requested)) = (
        line["promised-date"].as_str(),
        ordered.requested_date.as_deref(),
    ) && is_later(promised, requested)
    {
        out.push(format!(
            "line {number}: promised for {promised}, later than the {requested} asked"
        ));
    }
    out
}

async fn acknowledged(state: &RuleState, ack: &Value, event: &Stored<'_>) -> Result<()> {
    let Some(order_id) = ack["order-id"].as_str() else {
        return Ok(());
    };
    let ack_id = ack["header"]["id"].as_str().unwrap_or_default().to_string();
    let key = Documents::key("po", order_id);
    let order: Option<OpenOrder> = state
        .documents
        .change(&key, |current: Option<OpenOrder>| {
            Ok(current.map(|mut order| {
                order
                    .acknowledged
                    .get_or_insert((jiff::Timestamp::now(), ack_id.clone()));
                order
            }))
        })
        .await?;
    let lines: Vec<&Value> = ack["lines"].as_array().into_iter().flatten().collect();
    let (found, severity) = match &order {
        None => (
            vec![format!(
                "order {order_id} was not seen going out: the acknowledgment cannot be checked against it"
            )],
            "warning",
        ),
        Some(order) => {
            let found: Vec<String> = lines
                .iter()
                .flat_map(|line| {
                    let number = line["line-number"].as_str().unwrap_or_default();
                    changes(order.lines.iter().find(|l| l.line_number == number), line)
                })
                .collect();
            let rejected =
                ack["status"] == "rejected" || lines.iter().any(|l| l["status"] == "rejected");
            (found, if rejected { "error" } else { "warning" })
        }
    };
    if found.is_empty() {
        return Ok(());
    }
    let changed: Vec<&&Value> = lines
        .iter()
        .filter(|l| l["status"] != "accepted" || order.is_none())
        .collect();
    let mut quantities = Vec::new();
    for line in &changed {
        let number = line["line-number"].as_str().unwrap_or_default();
        if let Some(asked) = order
            .as_ref()
            .and_then(|o| o.lines.iter().find(|l| l.line_number == number))
        {
            quantities.push(
                json!({"what": format!("ordered line {number}"), "quantity": asked.quantity}),
            );
        }
        quantities.push(
            json!({"what": format!("acknowledged line {number}"), "quantity": line["quantity"]}),
        );
    }
    let items: Vec<Value> = changed.iter().map(|l| l["item"].clone()).collect();
    state
        .alerts
        .raise(Alert {
            id: format!("order-change:{order_id}:{ack_id}"),
            kind: "order-change".into(),
            severity: severity.into(),
            subject: format!("purchase-order:{order_id}"),
            message: format!(
                "the acknowledgment of order {order_id} ({}) changes it: {}",
                ack["status"].as_str().unwrap_or("?"),
                found.join("; ")
            ),
            concerns: json!({
                "documents": [
                    {"kind": "purchase-order", "id": order_id},
                    {"kind": "order-acknowledgment", "id": ack_id},
                ],
                "items": items,
                "lots": [],
                "quantities": quantities,
                "locations": [],
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

    fn line(quantity: &str, date: Option<&str>) -> OrderedLine {
        OrderedLine {
            line_number: "10".into(),
            item: json!({"ids": []}),
            quantity: json!({"value": quantity, "unit": "H87"}),
            requested_date: date.map(str::to_string),
        }
    }

    #[test]
    fn an_acknowledged_line_is_compared_with_the_ordered_one() {
        let ordered = line("5000", Some("2024-06-24"));
        let same = json!({"line-number": "10", "status": "accepted",
            "quantity": {"value": "5000.0", "unit": "H87"}, "promised-date": "2024-06-24"});
        assert!(changes(Some(&ordered), &same).is_empty(), "5000.0 is 5000");
        let fewer = json!({"line-number": "10", "status": "changed",
            "quantity": {"value": "4000", "unit": "H87"}, "promised-date": "2024-06-26"});
        assert_eq!(
            changes(Some(&ordered), &fewer),
            [
                "line 10 changed",
                "line 10: 4000 H87 instead of 5000 H87",
                "line 10: promised for 2024-06-26, later than the 2024-06-24 asked"
            ]
        );
        let sooner = json!({"line-number": "10", "status": "accepted",
            "quantity": {"value": "5000", "unit": "H87"}, "promised-date": "2024-06-21"});
        assert!(
            changes(Some(&ordered), &sooner).is_empty(),
            "an earlier promise is no change"
        );
        let back = json!({"line-number": "10", "status": "back-ordered",
            "quantity": {"value": "5000", "unit": "H87"}});
        assert_eq!(changes(Some(&ordered), &back), ["line 10 back-ordered"]);
        assert_eq!(changes(None, &same), ["line 10 is not on the order"]);
    }
}
