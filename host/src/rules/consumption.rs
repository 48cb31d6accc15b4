//! Over-consumption: a work order that consumes more of a component than its plan allows raises an
//! `over-consumption` alert, once per work order and component (`over-consumption:<work order>:<item>`).
//!
//! Each work order is kept in the rule state (`wo.<work order>`): its product and planned quantity from the
//! latest `work-order-status`, and every `material-consumption` against it, once per event id (a redelivered
//! input changes nothing). The plan of a component comes from master data, since the work order names only its
//! product: table `bom`, key `<product>/<component>` (the tenant's item numbers, through the `items`
//! cross-reference when the documents name supplier parts), value the quantity of the component per unit of
//! the product as the work order plans it, with its unit (`BRK-ASSY-330/COIL-S355-2MM` → `3.5 KGM`). Planned
//! component = planned product × per unit; the consumption, summed over every unit it came in (converted
//! through `unit-conversions`), may exceed it by the tenant's `over-consumption-tolerance` (`"5%"`, default 0).
//!
//! - A component with no `bom` row (or a tenant with no `bom` table) is not checked: no alert.
//! - A `bom` row that is not a quantity per unit (`"1,85 kg"`), or a consumption in a unit no conversion links
//!   to the `bom`'s, cannot be checked: one `over-consumption` alert per work order and component says so,
//!   naming the table, the key and what is wrong (`over-consumption:<work order>:<item>:unchecked`); the event
//!   is published as always. Fixing the row checks the next consumption.
//! - A consumption for a work order the rules have not seen raises an `over-consumption` alert saying so
//!   (`over-consumption:unknown-work-order:<work order>`, as an acknowledgment of an unknown order raises an
//!   `order-change` alert), and is kept: when the work order's status arrives, what was consumed is checked and
//!   that alert is resolved.
//! - A consumption held back by quarantine counts: the line used the material, whatever becomes of the message.
//! - A return (negative quantity) counts against what was consumed; when the total falls back within the plan
//!   (or a new status plans more), the rule resolves its alert.

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use super::alerts::{Alert, AlertState, Note};
use super::decimal::Decimal;
use super::matching::{Amount, MasterData, MasterDataError};
use super::quarantine::{item_ids, lot_numbers};
use super::state::Documents;
use super::{Rule, RuleState, Stored};

/// The bill of materials: `<product>/<component>` → quantity per unit of product, with its unit.
pub const BOM: &str = "bom";

/// A percentage, as the settings write it: `"5%"`, `"2.5%"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(value_type = String, example = "5%")]
pub struct Percent(Decimal);

impl Default for Percent {
    fn default() -> Self {
        Percent(Decimal::ZERO)
    }
}

impl Percent {
    /// Reads `"5%"`: a decimal at least zero, then `%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let number = text.trim().strip_suffix('%').ok_or_else(|| {
            format!("{text:?} is not a percentage like \"5%\" (the % sign is needed)")
        })?;
        match Decimal::parse(number) {
            Some(d) if !d.is_negative() => Ok(Percent(d)),
            _ => Err(format!(
                "{text:?} is not a percentage like \"5%\": {number:?} is not a decimal at least 0"
            )),
        }
    }

    /// `p/100`: the share of a plan that may be consumed beyond it.
    fn fraction(self) -> Option<Decimal> {
        self.0.times(Decimal::new(1, 2))
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%", self.0.normalized())
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Percent::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A quantity as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// The decimal, as sent.
    pub value: String,
    /// Its unit.
    pub unit: String,
}

/// One consumption against a work order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    /// The event's id: a consumption counts once.
    pub event: String,
    /// The component, as the tenant numbers it.
    pub item: String,
    /// The component as the event names it (canonical `item-ref`), for alerts.
    pub item_ref: Value,
    /// How much (negative: a return).
    pub quantity: Measured,
    /// The lot numbers it names.
    pub lots: Vec<String>,
    /// Where (canonical `identifier`).
    pub location: Value,
}

/// A work order as the rules know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    /// Its id.
    pub work_order: String,
    /// The product, as the tenant numbers it; None until a status was seen.
    pub product: Option<String>,
    /// The planned quantity of the product; None until a status was seen.
    pub planned: Option<Measured>,
    /// Every consumption, once each.
    pub consumed: Vec<Consumed>,
    /// Whether a consumption came before any status (its alert is resolved when one comes).
    #[serde(default)]
    pub consumed_unseen: bool,
    /// The components whose over-consumption alert is open, for resolving it when the condition clears.
    #[serde(default)]
    pub alerted: Vec<String>,
}

/// The over-consumption rule.
#[derive(Debug, Default)]
pub struct OverConsumption {
    /// How far beyond the plan consumption may go.
    pub tolerance: Percent,
}

impl Rule for OverConsumption {
    fn name(&self) -> &'static str {
        "over-consumption"
    }

    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match event.event_type {
                "work-order-status" => {
                    self.planned(state, &event.value["work-order-status"], event)
                        .await
                }
                "material-consumption" => {
                    self.consumed(state, &event.value["material-consumption"], event)
                        .await
                }
                _ => Ok(()),
            }
        })
    }
}

fn key(work_order: &str) -> String {
    Documents::key("wo", work_order)
}

fn measured(quantity: &Value) -> Option<Measured> {
    Some(Measured {
        value: quantity["value"].as_str()?.to_string(),
        unit: quantity["unit"].as_str()?.to_string(),
    })
}

/// A `bom` row's value: a quantity per unit of product, `3.5 KGM`.
pub fn per_unit(key: &str, value: &str) -> Result<(Decimal, String), MasterDataError> {
    let bad = |what: &str| {
        MasterDataError::new(
            BOM,
            key,
            format!("{value:?} is not a quantity per unit of product like \"1.85 KGM\": {what}"),
        )
    };
    let mut parts = value.split_whitespace();
    let (Some(number), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(
            "a decimal and a unit, separated by a space, are needed",
        ));
    };
    let Some(number) = Decimal::parse(number) else {
        return Err(bad(&format!("{number:?} is not a decimal")));
    };
    if number.is_negative() {
        return Err(bad("the quantity is below zero"));
    }
    Ok((number, unit.to_string()))
}

/// What a work order may consume of a component, and what it did.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Within the plan, or not planned by the `bom`.
    Fine,
    /// Beyond it.
    Over {
        planned: Measured,
        tolerance: Measured,
        allowed: Measured,
        consumed: Measured,
    },
    /// It cannot be said: bad master data, or units nothing converts.
    Unchecked(String),
}

/// Checks what `order` consumed of `item` against its plan.
fn verdict(order: &WorkOrder, item: &str, tolerance: Percent, data: &MasterData) -> Verdict {
    let (Some(product), Some(planned)) = (&order.product, &order.planned) else {
        return Verdict::Fine;
    };
    let Some(planned_product) = Decimal::parse(&planned.value) else {
        return Verdict::Fine;
    };
    let bom_key = format!("{product}/{item}");
    let Some(row) = data.table(BOM).and_then(|t| t.get(&bom_key)) else {
        return Verdict::Fine;
    };
    let (each, unit) = match per_unit(&bom_key, row) {
        Ok(parsed) => parsed,
        Err(err) => return Verdict::Unchecked(err.to_string()),
    };
    let overflow = || Verdict::Unchecked(format!("{BOM} {bom_key}: the plan overflows"));
    let Some(plan) = planned_product.times(each) else {
        return overflow();
    };
    let Some((extra, allowed)) = tolerance
        .fraction()
        .and_then(|f| plan.times(f))
        .and_then(|extra| Some((extra, plan.plus(extra)?)))
    else {
        return overflow();
    };
    let quantities: Vec<(Decimal, &str)> = order
        .consumed
        .iter()
        .filter(|c| c.item == item)
        .filter_map(|c| Some((Decimal::parse(&c.quantity.value)?, c.quantity.unit.as_str())))
        .collect();
    let consumed = match data.sum_in(quantities, &unit) {
        Ok(Ok(total)) => total,
        Ok(Err(other)) => {
            return Verdict::Unchecked(format!(
                "consumed in {other}, planned in {unit} ({BOM} {bom_key}), and no unit-conversions row \
                 {other}/{unit} or {unit}/{other} converts them"
            ));
        }
        Err(err) => return Verdict::Unchecked(err.to_string()),
    };
    match consumed.compare(Amount::of(allowed)) {
        Some(std::cmp::Ordering::Greater) => Verdict::Over {
            planned: Measured {
                value: plan.to_string(),
                unit: unit.clone(),
            },
            tolerance: Measured {
                value: extra.to_string(),
                unit: unit.clone(),
            },
            allowed: Measured {
                value: allowed.to_string(),
                unit: unit.clone(),
            },
            consumed: Measured {
                value: consumed.shown(),
                unit,
            },
        },
        Some(_) => Verdict::Fine,
        None => overflow(),
    }
}

impl OverConsumption {
    /// A work order's status: its product and plan, then what it consumed so far checked against them.
    async fn planned(&self, state: &RuleState, status: &Value, event: &Stored<'_>) -> Result<()> {
        let Some(work_order) = status["work-order"].as_str().filter(|w| !w.is_empty()) else {
            return Ok(());
        };
        let data = state.master_data.now();
        let product = data.item_number(&item_ids(&status["item"]));
        let planned = measured(&status["quantity-planned"]);
        let Some(order) = state
            .documents
            .change(&key(work_order), |current: Option<WorkOrder>| {
                let mut order = current.unwrap_or_else(|| WorkOrder {
                    work_order: work_order.to_string(),
                    product: None,
                    planned: None,
                    consumed: Vec::new(),
                    consumed_unseen: false,
                    alerted: Vec::new(),
                });
                order.product = product.clone();
                order.planned = planned.clone();
                Ok(Some(order))
            })
            .await?
        else {
            return Ok(());
        };
        let mut items: Vec<&str> = order.consumed.iter().map(|c| c.item.as_str()).collect();
        items.sort_unstable();
        items.dedup();
        for item in items {
            self.check(state, &order, item, &data, event).await?;
        }
        if order.consumed_unseen {
            state
                .alerts
                .resolve(
                    &format!("over-consumption:unknown-work-order:{work_order}"),
                    Note {
                        by: "rule:over-consumption".into(),
                        at: jiff::Timestamp::now(),
                        note: Some(format!(
                            "work order {work_order} seen: its consumption is checked against its plan"
                        )),
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// A consumption: recorded once, then checked against the work order's plan.
    async fn consumed(&self, state: &RuleState, body: &Value, event: &Stored<'_>) -> Result<()> {
        let Some(work_order) = body["work-order"].as_str().filter(|w| !w.is_empty()) else {
            return Ok(());
        };
        let Some(quantity) = measured(&body["quantity"]) else {
            return Ok(());
        };
        let data = state.master_data.now();
        let ids = item_ids(&body["item"]);
        let Some(item) = data.item_number(&ids) else {
            return Ok(());
        };
        let event_id = body["header"]["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .unwrap_or(event.output_id)
            .to_string();
        let consumed = Consumed {
            event: event_id.clone(),
            item: item.clone(),
            item_ref: body["item"].clone(),
            quantity,
            lots: lot_numbers(&body["lot"]),
            location: body["location"].clone(),
        };
        let Some(order) = state
            .documents
            .change(&key(work_order), |current: Option<WorkOrder>| {
                let mut order = current.unwrap_or_else(|| WorkOrder {
                    work_order: work_order.to_string(),
                    product: None,
                    planned: None,
                    consumed: Vec::new(),
                    consumed_unseen: true,
                    alerted: Vec::new(),
                });
                if order.consumed.iter().any(|c| c.event == event_id) {
                    return Ok(None);
                }
                order.consumed.push(consumed.clone());
                Ok(Some(order))
            })
            .await?
        else {
            return Ok(());
        };
        if order.planned.is_none() {
            let locations: Vec<&Value> = Some(&body["location"])
                .filter(|l| !l.is_null())
                .into_iter()
                .collect();
            state
                .alerts
                .raise(Alert {
                    id: format!("over-consumption:unknown-work-order:{work_order}"),
                    kind: "over-consumption".into(),
                    severity: "warning".into(),
                    subject: format!("work-order:{work_order}"),
                    message: format!(
                        "work order {work_order} was not seen: its consumption of {item} cannot be checked \
                         against its plan until its status arrives"
                    ),
                    concerns: json!({
                        "documents": [{"kind": "work-order", "id": work_order}],
                        "items": [body["item"]],
                        "lots": consumed.lots,
                        "quantities": [{"what": "consumed", "quantity": body["quantity"]}],
                        "locations": locations,
                    }),
                    correlation_id: event.correlation_id.to_string(),
                    raised_at: jiff::Timestamp::now(),
                    state: AlertState::Open,
                    acknowledged: None,
                    resolved: None,
                })
                .await?;
            return Ok(());
        }
        self.check(state, &order, &item, &data, event).await
    }

    /// Raises (once) or resolves the alert of one component of a work order.
    async fn check(
        &self,
        state: &RuleState,
        order: &WorkOrder,
        item: &str,
        data: &MasterData,
        event: &Stored<'_>,
    ) -> Result<()> {
        let work_order = &order.work_order;
        let found = verdict(order, item, self.tolerance, data);
        let of_item: Vec<&Consumed> = order.consumed.iter().filter(|c| c.item == item).collect();
        let mut lots: Vec<&str> = of_item
            .iter()
            .flat_map(|c| c.lots.iter().map(String::as_str))
            .collect();
        lots.sort_unstable();
        lots.dedup();
        let mut locations: Vec<&Value> = of_item
            .iter()
            .map(|c| &c.location)
            .filter(|l| !l.is_null())
            .collect();
        locations.dedup();
        let item_ref = of_item.last().map_or(Value::Null, |c| c.item_ref.clone());
        let product = order.product.as_deref().unwrap_or("?");
        let planned = order.planned.as_ref();
        let planned_product = planned.map_or_else(
            || "?".to_string(),
            |p| format!("{} {} of {product}", p.value, p.unit),
        );
        let (id, severity, message, quantities) = match &found {
            Verdict::Fine => {
                if order.alerted.iter().any(|a| a == item) {
                    self.cleared(state, work_order, item).await?;
                }
                return Ok(());
            }
            Verdict::Over {
                planned,
                tolerance,
                allowed,
                consumed,
            } => {
                tracing::warn!(tenant = %state.tenant, work_order, item, "over-consumption: {} {} consumed, {} {} allowed", consumed.value, consumed.unit, allowed.value, allowed.unit);
                (
                    format!("over-consumption:{work_order}:{item}"),
                    "warning",
                    format!(
                        "work order {work_order} consumed {} {} of {item}, more than the {} {} planned for \
                         {planned_product} plus the {} tolerance ({} {} allowed)",
                        consumed.value,
                        consumed.unit,
                        planned.value,
                        planned.unit,
                        self.tolerance,
                        allowed.value,
                        allowed.unit,
                    ),
                    json!([
                        {"what": "planned", "quantity": planned},
                        {"what": "tolerance", "quantity": tolerance},
                        {"what": "consumed", "quantity": consumed},
                    ]),
                )
            }
            Verdict::Unchecked(why) => {
                tracing::warn!(tenant = %state.tenant, work_order, item, "consumption cannot be checked: {why}");
                let consumed: Vec<Value> = of_item
                    .iter()
                    .map(|c| json!({"what": "consumed", "quantity": c.quantity}))
                    .collect();
                (
                    format!("over-consumption:{work_order}:{item}:unchecked"),
                    "warning",
                    format!(
                        "work order {work_order}'s consumption of {item} cannot be checked against its plan: {why}"
                    ),
                    Value::Array(consumed),
                )
            }
        };
        let raised = state
            .alerts
            .raise(Alert {
                id,
                kind: "over-consumption".into(),
                severity: severity.into(),
                subject: format!("work-order:{work_order}"),
                message,
                concerns: json!({
                    "documents": [{"kind": "work-order", "id": work_order}],
                    "items": [item_ref],
                    "lots": lots,
                    "quantities": quantities,
                    "locations": locations,
                }),
                correlation_id: event.correlation_id.to_string(),
                raised_at: jiff::Timestamp::now(),
                state: AlertState::Open,
                acknowledged: None,
                resolved: None,
            })
            .await?;
        if raised && matches!(found, Verdict::Over { .. }) {
            state
                .documents
                .change(&key(work_order), |current: Option<WorkOrder>| {
                    Ok(current.map(|mut order| {
                        if !order.alerted.iter().any(|a| a == item) {
                            order.alerted.push(item.to_string());
                        }
                        order
                    }))
                })
                .await?;
        }
        Ok(())
    }

    /// Consumption back within the plan: the component's alert is resolved.
    async fn cleared(&self, state: &RuleState, work_order: &str, item: &str) -> Result<()> {
        state
            .alerts
            .resolve(
                &format!("over-consumption:{work_order}:{item}"),
                Note {
                    by: "rule:over-consumption".into(),
                    at: jiff::Timestamp::now(),
                    note: Some(format!(
                        "work order {work_order}'s consumption of {item} is within its plan again"
                    )),
                },
            )
            .await?;
        state
            .documents
            .change(&key(work_order), |current: Option<WorkOrder>| {
                Ok(current.map(|mut order| {
                    order.alerted.retain(|a| a != item);
                    order
                }))
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::matching::tests::master_data;
    use crate::rules::matching::{ITEMS, UNIT_CONVERSIONS};

    fn order(consumed: &[(&str, &str, &str)]) -> WorkOrder {
        WorkOrder {
            work_order: "WO-1".into(),
            product: Some("BRK-ASSY-330".into()),
            planned: Some(Measured {
                value: "120".into(),
                unit: "H87".into(),
            }),
            consumed: consumed
                .iter()
                .enumerate()
                .map(|(n, (item, value, unit))| Consumed {
                    event: format!("e{n}"),
                    item: item.to_string(),
                    item_ref: Value::Null,
                    quantity: Measured {
                        value: value.to_string(),
                        unit: unit.to_string(),
                    },
                    lots: Vec::new(),
                    location: Value::Null,
                })
                .collect(),
            consumed_unseen: false,
            alerted: Vec::new(),
        }
    }

    const BOM_CSV: &str = "product/component,per_unit\nBRK-ASSY-330/COIL-S355-2MM,3.5 KGM\n";

    fn percent(text: &str) -> Percent {
        Percent::parse(text).expect(text)
    }

    #[test]
    fn consumption_beyond_plan_and_tolerance_is_over() {
        let data = master_data(&[(BOM, BOM_CSV)]);
        let coil = "COIL-S355-2MM";
        assert_eq!(
            verdict(
                &order(&[(coil, "412.500", "KGM")]),
                coil,
                percent("0%"),
                &data
            ),
            Verdict::Fine,
            "within the 420 KGM planned"
        );
        assert_eq!(
            verdict(
                &order(&[(coil, "420", "KGM")]),
                coil,
                Percent::default(),
                &data
            ),
            Verdict::Fine,
            "exactly the plan"
        );
        let Verdict::Over {
            planned,
            tolerance,
            allowed,
            consumed,
        } = verdict(
            &order(&[(coil, "412.5", "KGM"), (coil, "30", "KGM")]),
            coil,
            percent("5%"),
            &data,
        )
        else {
            panic!("442.5 KGM is more than 420 KGM + 5%");
        };
        assert_eq!(
            (planned.value.as_str(), planned.unit.as_str()),
            ("420", "KGM")
        );
        assert_eq!(tolerance.value, "21");
        assert_eq!(allowed.value, "441");
        assert_eq!(consumed.value, "442.5");
        assert_eq!(
            verdict(
                &order(&[
                    (coil, "412.5", "KGM"),
                    (coil, "30", "KGM"),
                    (coil, "-2", "KGM")
                ]),
                coil,
                percent("5%"),
                &data
            ),
            Verdict::Fine,
            "a return brings it back within"
        );
        assert_eq!(
            verdict(
                &order(&[("GREASE", "99", "KGM")]),
                "GREASE",
                percent("0%"),
                &data
            ),
            Verdict::Fine,
            "no bom row: not checked"
        );
    }

    #[test]
    fn consumption_in_another_unit_is_converted_or_reported_unchecked() {
        let coil = "COIL-S355-2MM";
        let consumed = order(&[(coil, "400", "KGM"), (coil, "100", "LBR")]);
        let converting = master_data(&[
            (BOM, BOM_CSV),
            (UNIT_CONVERSIONS, "from_to,factor\nLBR/KGM,0.45359237\n"),
        ]);
        let Verdict::Over { consumed: c, .. } =
            verdict(&consumed, coil, Percent::default(), &converting)
        else {
            panic!("400 KGM + 45.359237 KGM is over 420 KGM");
        };
        assert_eq!(c.value, "445.359237");
        let Verdict::Unchecked(why) = verdict(
            &consumed,
            coil,
            Percent::default(),
            &master_data(&[(BOM, BOM_CSV), (ITEMS, "a,b\nX,Y\n")]),
        ) else {
            panic!("no conversion");
        };
        assert!(why.contains("consumed in LBR, planned in KGM"), "{why}");
    }

    #[test]
    fn a_bad_bom_row_is_reported_naming_table_key_and_value() {
        let bad = |row: &str| {
            let data = master_data(&[(BOM, &format!("product/component,per_unit\n{row}\n"))]);
            match verdict(&order(&[("C", "1", "KGM")]), "C", Percent::default(), &data) {
                Verdict::Unchecked(why) => why,
                other => panic!("{row}: {other:?}"),
            }
        };
        let why = bad("BRK-ASSY-330/C,\"1,85 kg\"");
        assert!(
            why.starts_with("master data table bom, key \"BRK-ASSY-330/C\""),
            "{why}"
        );
        assert!(why.contains("\"1,85\" is not a decimal"), "{why}");
        assert!(bad("BRK-ASSY-330/C,1.85").contains("a decimal and a unit"));
        assert!(bad("BRK-ASSY-330/C,-1 KGM").contains("below zero"));
        assert!(bad("BRK-ASSY-330/C,1 KGM extra").contains("a decimal and a unit"));
        assert_eq!(
            per_unit("k", "1.85 KGM").map(|(d, u)| (d.to_string(), u)),
            Ok(("1.85".into(), "KGM".into()))
        );
    }

    #[test]
    fn a_tolerance_is_a_percentage() {
        assert_eq!(percent("5%").to_string(), "5%");
        assert_eq!(percent(" 2.50% ").to_string(), "2.5%");
        assert_eq!(
            percent("5%").fraction().map(|a| a.to_string()),
            Some("0.05".into())
        );
        assert!(
            Percent::parse("5")
                .expect_err("no % sign")
                .contains("% sign")
        );
        assert!(Percent::parse("-5%").is_err());
        assert!(Percent::parse("five%").is_err());
        let json: Percent = serde_json::from_str("\"7.5%\"").expect("JSON");
        assert_eq!(serde_json::to_string(&json).expect("JSON"), "\"7.5%\"");
    }
}
