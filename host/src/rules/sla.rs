//! Service levels: alerts for what did not happen in time — no acknowledgment of a purchase order within a
//! window of it going out (`ack-overdue`), no receipt of a ship notice by its expected date plus a grace
//! (`receipt-overdue`), a dead letter left unresolved past a window (`dead-letter-aged`). Each is on when its
//! window is set in the tenant's rule settings.
//!
//! **Timers.** An order or a notice settled starts a durable timer: a document in the tenant's KV bucket
//! `MW_<tenant>_TIMERS` holding its deadline and the alert it raises. They have a bucket of their own rather
//! than a `timer.` prefix in `MW_<tenant>_RULES` so that the one watch every host keeps of them reads timers and
//! nothing else (the rule state holds every lot, order and notice ever seen, and the API's settings), and so
//! that the rule state's listings never walk past timers. Each host keeps the pending timers in memory through
//! that watch (read whole when it starts, then change by change: no scan per tick), sleeps until the earliest
//! deadline and fires what is due by raising its alert. Every host fires every due timer; the alert's id
//! (`ack-overdue:<order>`, `receipt-overdue:<shipment>`) makes the second raise a no-op, and a timer survives a
//! restart of every host because it is in KV: one that came due while no host ran fires when one starts.
//!
//! A timer is `pending`, `fired` or `cleared`, and stays on record once done: a purchase order redelivered
//! after its acknowledgment finds its timer cleared and starts none, and an acknowledgment that arrives before
//! its order (another route, another host) clears the timer before it exists. The condition clearing (the
//! acknowledgment, a receipt naming the notice) clears the timer and resolves an alert already raised, by
//! `rule:<name>`. A fire and a clear racing on two hosts end resolved: the fire raises first and then marks the
//! timer fired with compare-and-set; finding it cleared meanwhile, it resolves the alert itself.
//!
//! **Deadlines.** `ack-overdue`: when this host first saw the order go out, plus the window. `receipt-overdue`:
//! the notice's expected date plus the grace, but never earlier than when the notice was seen plus the grace —
//! a notice that arrives after its expected date (or names none) gets the grace from its arrival, rather than
//! raising the moment it is read. The window in force when the timer starts is the one it keeps; a rule turned
//! off drops its pending timers as they come due, raising nothing.
//!
//! A goods receipt naming a notice no host has seen starts a timer of its own (`notice-missing`, under the
//! receipt-overdue grace): if the notice has not come by then, a `receipt-discrepancy` alert says the receipt
//! names a notice never seen; the notice arriving clears it (and the receipt is compared with it then).
//!
//! **Dead letters** need no timer: the tenant's dead-letter stream is in time order, so the task reads it from
//! its first message only while the messages are older than the window, raises an alert for each
//! (`dead-letter-aged:<sequence>`), and remembers where it stopped; the first younger message's age says when to
//! look again. A dead letter leaves the stream when it is replayed or discarded, and
//! [`dead_letter_gone`] (called by both) resolves its alert.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use async_nats::jetstream::{self, kv, stream::DirectGetErrorKind};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::alerts::{Alert, AlertState, Alerts, Note};
use super::quarantine::{item_ids, lot_numbers};
use super::settings::{RuleSettings, Window};
use super::state::Documents;
use super::{Rule, RuleState, Stored, TenantRules};
use crate::bus::{self, StreamKind, buckets};
use crate::names::Tenant;

/// No acknowledgment of a purchase order within the window.
pub const ACK_OVERDUE: &str = "ack-overdue";
/// No receipt of a ship notice by its expected date plus the grace.
pub const RECEIPT_OVERDUE: &str = "receipt-overdue";
/// A dead letter unresolved past the window.
pub const DEAD_LETTER_AGED: &str = "dead-letter-aged";
/// The timer of a receipt naming a ship notice not seen yet: the notice must come within the receipt-overdue
/// grace, or the receipt is reported as a `receipt-discrepancy` naming a notice never seen.
const NOTICE_MISSING: &str = "notice-missing";

/// The longest a timer task sleeps before reading the clock again (and looking whether a rule was turned on).
const LONGEST_SLEEP: Duration = Duration::from_secs(60);
/// How long a timer whose fire failed (NATS away) waits before it is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// When an order not acknowledged is overdue: seen plus the window.
pub fn ack_deadline(seen: jiff::Timestamp, window: Window) -> jiff::Timestamp {
    after(seen, window.0)
}

/// When a ship notice not received is overdue: its expected date plus the grace, but never earlier than when
/// it was seen plus the grace (a notice arriving late, or naming no date, gets the grace from its arrival).
pub fn receipt_deadline(
    expected: Option<jiff::Timestamp>,
    seen: jiff::Timestamp,
    grace: Window,
) -> jiff::Timestamp {
    let from = expected.map_or(seen, |expected| expected.max(seen));
    after(from, grace.0)
}

/// Whether a dead letter stored at `stored` is past the window at `now`.
pub fn is_aged(stored: jiff::Timestamp, window: Window, now: jiff::Timestamp) -> bool {
    after(stored, window.0) <= now
}

/// `at` plus `span`, saturating at the largest instant.
fn after(at: jiff::Timestamp, span: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(span)
        .ok()
        .and_then(|span| at.checked_add(span).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// Where a timer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimerState {
    /// Waiting for its deadline.
    Pending,
    /// Its deadline passed: its alert is raised.
    Fired,
    /// The condition cleared (or the rule was turned off) before it fired, or after: nothing more to raise.
    Cleared,
}

/// A durable timer: a deadline and the alert it raises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    /// The rule: `ack-overdue`, `receipt-overdue`.
    pub rule: String,
    /// What it waits on: the order or shipment id.
    pub about: String,
    /// When it was started.
    pub started_at: jiff::Timestamp,
    /// When it fires.
    pub due: jiff::Timestamp,
    /// Where it stands.
    pub state: TimerState,
    /// Why it was cleared, when it was.
    pub cleared: Option<Note>,
    /// The alert it raises (its `raised_at` is set when it fires).
    pub alert: Option<Alert>,
}

/// What the timer task reads of each timer it watches.
#[derive(Deserialize)]
struct TimerHead {
    due: jiff::Timestamp,
    state: TimerState,
}

/// A tenant's timers, in `MW_<tenant>_TIMERS`.
#[derive(Clone)]
pub struct Timers {
    store: kv::Store,
    documents: Documents,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers").finish_non_exhaustive()
    }
}

impl Timers {
    /// Opens (or creates) the tenant's timer bucket.
    pub async fn open(js: &jetstream::Context, tenant: &Tenant) -> Result<Self> {
        let name = format!("MW_{tenant}_TIMERS");
        let store = buckets::key_value(
            js,
            &buckets::Bucket {
                name: &name,
                description: "the rules' durable timers: what to raise when, unless cleared first",
                max_age: Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        Ok(Self {
            documents: Documents::new(store.clone()),
            store,
        })
    }

    /// A timer, if there is one.
    pub async fn get(&self, rule: &str, about: &str) -> Result<Option<Timer>> {
        self.documents.get(&Documents::key(rule, about)).await
    }

    /// Starts `timer` unless one for the same rule and thing exists (pending, fired or cleared): the first
    /// sighting sets the deadline, and a redelivery or a resend moves nothing.
    pub async fn start(&self, timer: Timer) -> Result<()> {
        let key = Documents::key(&timer.rule, &timer.about);
        self.documents
            .change_new(&key, |current: Option<Timer>| {
                Ok(current.is_none().then(|| timer.clone()))
            })
            .await?;
        Ok(())
    }

    /// Clears the timer of `rule` for `about` if one was started (and resolves its alert if it was raised); one
    /// read when there is none.
    pub async fn clear_started(
        &self,
        alerts: &Alerts,
        rule: &str,
        about: &str,
        note: Note,
    ) -> Result<()> {
        match self.get(rule, about).await? {
            Some(timer) if timer.state != TimerState::Cleared => {
                self.clear(alerts, rule, about, note).await
            }
            _ => Ok(()),
        }
    }

    /// Clears the timer of `rule` for `about` (recording a cleared one when none was started yet, so that a
    /// late start finds it), and resolves its alert if it was raised.
    pub async fn clear(&self, alerts: &Alerts, rule: &str, about: &str, note: Note) -> Result<()> {
        let key = Documents::key(rule, about);
        self.documents
            .change(&key, |current: Option<Timer>| {
                Ok(match current {
                    Some(timer) if timer.state == TimerState::Cleared => None,
                    Some(mut timer) => {
                        timer.state = TimerState::Cleared;
                        timer.cleared = Some(note.clone());
                        Some(timer)
                    }
                    None => Some(Timer {
                        rule: rule.to_string(),
                        about: about.to_string(),
                        started_at: note.at,
                        due: note.at,
                        state: TimerState::Cleared,
                        cleared: Some(note.clone()),
                        alert: None,
                    }),
                })
            })
            .await?;
        alerts.resolve(&format!("{rule}:{about}"), note).await?;
        Ok(())
    }

    /// Fires the timer at `key` if it is pending and due at `now`: raises its alert (a no-op when another host
    /// did), then marks it fired; found cleared meanwhile, resolves the alert. A rule `settings` turn off drops
    /// the timer instead.
    async fn fire(
        &self,
        alerts: &Alerts,
        settings: &RuleSettings,
        key: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let Some(timer) = self.documents.get::<Timer>(key).await? else {
            return Ok(());
        };
        if timer.state != TimerState::Pending || timer.due > now {
            return Ok(());
        }
        let on = match timer.rule.as_str() {
            ACK_OVERDUE => settings.ack_overdue.is_some(),
            RECEIPT_OVERDUE | NOTICE_MISSING => settings.receipt_overdue.is_some(),
            _ => false,
        };
        if !on || timer.alert.is_none() {
            let note = Note {
                by: format!("rule:{}", timer.rule),
                at: now,
                note: Some("the rule was turned off before the deadline".into()),
            };
            self.documents
                .change(key, |current: Option<Timer>| {
                    Ok(current
                        .filter(|t| t.state == TimerState::Pending)
                        .map(|mut t| {
                            t.state = TimerState::Cleared;
                            t.cleared = Some(note.clone());
                            t
                        }))
                })
                .await?;
            return Ok(());
        }
        if let Some(mut alert) = timer.alert.clone() {
            alert.raised_at = now;
            alerts.raise(alert).await?;
        }
        let after = self
            .documents
            .change(key, |current: Option<Timer>| {
                Ok(current
                    .filter(|t| t.state == TimerState::Pending)
                    .map(|mut t| {
                        t.state = TimerState::Fired;
                        t
                    }))
            })
            .await?;
        if let Some(Timer {
            state: TimerState::Cleared,
            cleared: Some(note),
            ..
        }) = after
        {
            alerts
                .resolve(&format!("{}:{}", timer.rule, timer.about), note)
                .await?;
        }
        Ok(())
    }
}

/// The note a rule resolves its alert with.
fn rule_note(rule: &str, note: String) -> Note {
    Note {
        by: format!("rule:{rule}"),
        at: jiff::Timestamp::now(),
        note: Some(note),
    }
}

/// `ack-overdue`: a purchase order not acknowledged within the window.
pub struct AckOverdue(pub Window);

impl Rule for AckOverdue {
    fn name(&self) -> &'static str {
        ACK_OVERDUE
    }

    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match event.event_type {
                "purchase-order" => {
                    let order = &event.value["purchase-order"];
                    let Some(order_id) = order["order-id"].as_str() else {
                        return Ok(());
                    };
                    if order["purpose"] == "cancel" {
                        let note =
                            rule_note(ACK_OVERDUE, format!("order {order_id} was cancelled"));
                        return state
                            .timers
                            .clear(&state.alerts, ACK_OVERDUE, order_id, note)
                            .await;
                    }
                    // The order-change rule keeps when the order was first seen; without it, now is first.
                    let seen = state
                        .documents
                        .get::<super::orders::OpenOrder>(&Documents::key("po", order_id))
                        .await?
                        .map_or_else(jiff::Timestamp::now, |o| o.sent_at);
                    state
                        .timers
                        .start(ack_timer(order, order_id, seen, self.0, event))
                        .await
                }
                "order-acknowledgment" => {
                    let ack = &event.value["order-acknowledgment"];
                    let Some(order_id) = ack["order-id"].as_str() else {
                        return Ok(());
                    };
                    let ack_id = ack["header"]["id"].as_str().unwrap_or("?");
                    let note = rule_note(
                        ACK_OVERDUE,
                        format!("order {order_id} acknowledged ({ack_id})"),
                    );
                    state
                        .timers
                        .clear(&state.alerts, ACK_OVERDUE, order_id, note)
                        .await
                }
                _ => Ok(()),
            }
        })
    }
}

/// A party's first id and its name, for a message: `BW01 (Brightwire Fasteners GmbH)`.
fn party(party: &Value) -> (Option<String>, String) {
    let id = party["ids"][0]["value"].as_str().map(str::to_string);
    let name = party["name"].as_str();
    let text = match (&id, name) {
        (Some(id), Some(name)) => format!("{id} ({name})"),
        (Some(id), None) => id.clone(),
        (None, Some(name)) => name.to_string(),
        (None, None) => "the supplier".to_string(),
    };
    (id, text)
}

fn ack_timer(
    order: &Value,
    order_id: &str,
    seen: jiff::Timestamp,
    window: Window,
    event: &Stored<'_>,
) -> Timer {
    let due = ack_deadline(seen, window);
    let (supplier_id, supplier) = party(&order["supplier"]);
    let lines: Vec<&Value> = order["lines"].as_array().into_iter().flatten().collect();
    let mut documents = vec![json!({"kind": "purchase-order", "id": order_id})];
    if let Some(id) = supplier_id {
        documents.push(json!({"kind": "supplier", "id": id}));
    }
    let quantities: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({"what": format!("ordered line {}", l["line-number"].as_str().unwrap_or("?")),
                "quantity": l["quantity"]})
        })
        .collect();
    Timer {
        rule: ACK_OVERDUE.into(),
        about: order_id.into(),
        started_at: seen,
        due,
        state: TimerState::Pending,
        cleared: None,
        alert: Some(Alert {
            id: format!("{ACK_OVERDUE}:{order_id}"),
            kind: ACK_OVERDUE.into(),
            severity: "warning".into(),
            subject: format!("purchase-order:{order_id}"),
            message: format!(
                "order {order_id} to {supplier} ({} line{}) is not acknowledged {window} after it went out at {seen}",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" }
            ),
            concerns: json!({
                "documents": documents,
                "items": lines.iter().map(|l| l["item"].clone()).collect::<Vec<_>>(),
                "lots": [],
                "quantities": quantities,
                "locations": [],
            }),
            correlation_id: event.correlation_id.to_string(),
            raised_at: due,
            state: AlertState::Open,
            acknowledged: None,
            resolved: None,
        }),
    }
}

/// `receipt-overdue`: a ship notice not received by its expected date plus the grace.
pub struct ReceiptOverdue(pub Window);

impl Rule for ReceiptOverdue {
    fn name(&self) -> &'static str {
        RECEIPT_OVERDUE
    }

    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match event.event_type {
                "ship-notice" => {
                    let notice = &event.value["ship-notice"];
                    let Some(shipment) = notice["shipment-id"].as_str() else {
                        return Ok(());
                    };
                    if notice["purpose"] == "cancel" {
                        let note = rule_note(
                            RECEIPT_OVERDUE,
                            format!("ship notice {shipment} was cancelled"),
                        );
                        return state
                            .timers
                            .clear(&state.alerts, RECEIPT_OVERDUE, shipment, note)
                            .await;
                    }
                    let timer =
                        receipt_timer(notice, shipment, jiff::Timestamp::now(), self.0, event);
                    state.timers.start(timer).await?;
                    // Then a receipt that came first stops waiting for it. Each side writes its own timer before
                    // it reads the other's, so a receipt and its notice settled at once on two hosts still meet.
                    let note =
                        rule_note(RECEIPT_OVERDUE, format!("ship notice {shipment} arrived"));
                    state
                        .timers
                        .clear_started(&state.alerts, NOTICE_MISSING, shipment, note)
                        .await
                }
                "goods-receipt" => {
                    let receipt = &event.value["goods-receipt"];
                    let Some(shipment) = receipt["ship-notice-ref"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                    else {
                        return Ok(());
                    };
                    let receipt_id = receipt["receipt-id"].as_str().unwrap_or("?");
                    // A receipt before its notice: the notice has the grace to come.
                    if state.timers.get(RECEIPT_OVERDUE, shipment).await?.is_none() {
                        let timer = notice_missing_timer(
                            receipt,
                            receipt_id,
                            shipment,
                            jiff::Timestamp::now(),
                            self.0,
                            event,
                        );
                        state.timers.start(timer).await?;
                        if state.timers.get(RECEIPT_OVERDUE, shipment).await?.is_some() {
                            let note = rule_note(
                                RECEIPT_OVERDUE,
                                format!("ship notice {shipment} arrived"),
                            );
                            state
                                .timers
                                .clear_started(&state.alerts, NOTICE_MISSING, shipment, note)
                                .await?;
                        }
                    }
                    let note = rule_note(
                        RECEIPT_OVERDUE,
                        format!("ship notice {shipment} received ({receipt_id})"),
                    );
                    state
                        .timers
                        .clear(&state.alerts, RECEIPT_OVERDUE, shipment, note)
                        .await
                }
                _ => Ok(()),
            }
        })
    }
}

/// The timer of a receipt that names ship notice `shipment` before the notice is seen: a
/// `receipt-discrepancy` when the notice has not come within the grace (cleared when it comes).
fn notice_missing_timer(
    receipt: &Value,
    receipt_id: &str,
    shipment: &str,
    seen: jiff::Timestamp,
    grace: Window,
    event: &Stored<'_>,
) -> Timer {
    let due = ack_deadline(seen, grace);
    let mut documents = vec![
        json!({"kind": "goods-receipt", "id": receipt_id}),
        json!({"kind": "ship-notice", "id": shipment}),
    ];
    if let Some(order) = receipt["order-ref"]["order-id"].as_str() {
        documents.push(json!({"kind": "purchase-order", "id": order}));
    }
    let lots: Vec<String> = receipt["lots"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(lot_numbers)
        .collect();
    Timer {
        rule: NOTICE_MISSING.into(),
        about: shipment.into(),
        started_at: seen,
        due,
        state: TimerState::Pending,
        cleared: None,
        alert: Some(Alert {
            id: format!("receipt-discrepancy:{NOTICE_MISSING}:{shipment}"),
            kind: "receipt-discrepancy".into(),
            severity: "warning".into(),
            subject: format!("ship-notice:{shipment}"),
            message: format!(
                "receipt {receipt_id} names ship notice {shipment}, which has not arrived {grace} after the receipt: nothing to compare it with"
            ),
            concerns: json!({
                "documents": documents,
                "items": [receipt["item"].clone()],
                "lots": lots,
                "quantities": [{"what": "received", "quantity": receipt["quantity-received"].clone()}],
                "locations": [receipt["location"].clone()],
            }),
            correlation_id: event.correlation_id.to_string(),
            raised_at: due,
            state: AlertState::Open,
            acknowledged: None,
            resolved: None,
        }),
    }
}

fn receipt_timer(
    notice: &Value,
    shipment: &str,
    seen: jiff::Timestamp,
    grace: Window,
    event: &Stored<'_>,
) -> Timer {
    let expected = notice["expected-at"]["utc"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let due = receipt_deadline(expected, seen, grace);
    let shipped = super::receipts::shipped_items(notice);
    let mut documents = vec![json!({"kind": "ship-notice", "id": shipment})];
    for order in shipped.iter().filter_map(|(order, _)| order.as_deref()) {
        let document = json!({"kind": "purchase-order", "id": order});
        if !documents.contains(&document) {
            documents.push(document);
        }
    }
    let mut items: Vec<Value> = Vec::new();
    let mut lots: Vec<String> = Vec::new();
    let mut quantities: Vec<Value> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (_, item) in &shipped {
        let ids = item_ids(&item["item"]);
        if !items.contains(&item["item"]) {
            items.push(item["item"].clone());
        }
        for lot in item["lots"].as_array().into_iter().flatten() {
            for number in lot_numbers(lot) {
                if !lots.contains(&number) {
                    lots.push(number);
                }
            }
        }
        let quantity = &item["quantity"];
        let what = ids.first().cloned().unwrap_or_else(|| "item".into());
        named.push(format!(
            "{} {} {what}",
            quantity["value"].as_str().unwrap_or("?"),
            quantity["unit"].as_str().unwrap_or("?")
        ));
        quantities.push(json!({"what": format!("shipped {what}"), "quantity": quantity}));
    }
    let (_, supplier) = party(&notice["supplier"]);
    let expected_text =
        expected.map_or_else(|| "no expected date".into(), |e| format!("expected {e}"));
    Timer {
        rule: RECEIPT_OVERDUE.into(),
        about: shipment.into(),
        started_at: seen,
        due,
        state: TimerState::Pending,
        cleared: None,
        alert: Some(Alert {
            id: format!("{RECEIPT_OVERDUE}:{shipment}"),
            kind: RECEIPT_OVERDUE.into(),
            severity: "warning".into(),
            subject: format!("ship-notice:{shipment}"),
            message: format!(
                "ship notice {shipment} from {supplier} ({expected_text}, grace {grace}) is not received: {}",
                if named.is_empty() {
                    "no items named".to_string()
                } else {
                    named.join(", ")
                }
            ),
            concerns: json!({
                "documents": documents,
                "items": items,
                "lots": lots,
                "quantities": quantities,
                "locations": [],
            }),
            correlation_id: event.correlation_id.to_string(),
            raised_at: due,
            state: AlertState::Open,
            acknowledged: None,
            resolved: None,
        }),
    }
}

/// The alert id of dead letter `sequence`.
pub fn dead_letter_alert_id(sequence: u64) -> String {
    format!("{DEAD_LETTER_AGED}:{sequence}")
}

/// Resolves the `dead-letter-aged` alert of dead letter `sequence` of `tenant`, if one was raised: called once
/// the dead letter is gone (replayed or discarded). Best effort: a failure is logged, never undoes the deletion.
pub async fn dead_letter_gone(js: &jetstream::Context, tenant: &str, sequence: u64, note: Note) {
    let resolved = async {
        let tenant = Tenant::new(tenant)?;
        Alerts::open(js, &tenant)
            .await?
            .resolve(&dead_letter_alert_id(sequence), note)
            .await
    }
    .await;
    if let Err(err) = resolved {
        tracing::warn!(
            tenant,
            sequence,
            "resolving the alert of a dead letter that is gone: {err:#}"
        );
    }
}

/// Where the dead-letter scan stands on this host.
#[derive(Debug, Default)]
struct DeadLetterScan {
    /// The next sequence to look at: every older dead letter was aged and alerted.
    next: u64,
}

impl DeadLetterScan {
    /// Raises an alert for every dead letter older than `window` not looked at yet, oldest first, stopping at
    /// the first younger one; when to look again.
    async fn check(
        &mut self,
        js: &jetstream::Context,
        tenant: &Tenant,
        alerts: &Alerts,
        window: Window,
        now: jiff::Timestamp,
    ) -> Result<jiff::Timestamp> {
        let name = bus::stream_name(tenant, StreamKind::Dlq);
        let stream = js
            .get_stream_no_info(&name)
            .await
            .with_context(|| format!("opening {name}"))?;
        let filter = bus::dlq_subject(tenant, ">");
        loop {
            let message = match stream
                .direct_get_next_for_subject(&filter, Some(self.next.max(1)))
                .await
            {
                Ok(message) => message,
                // Nothing younger than what was looked at: any dead letter stored from now on is aged a window
                // from now at the earliest.
                Err(err) if matches!(err.kind(), DirectGetErrorKind::NotFound) => {
                    return Ok(after(now, window.0));
                }
                Err(err) => return Err(anyhow!("reading {name}: {err}")),
            };
            let stored = jiff::Timestamp::from_nanosecond(message.time.unix_timestamp_nanos())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            if !is_aged(stored, window, now) {
                return Ok(after(stored, window.0));
            }
            alerts
                .raise(dead_letter_alert(tenant, &message, stored, window, now))
                .await?;
            self.next = message.sequence + 1;
        }
    }
}

fn dead_letter_alert(
    tenant: &Tenant,
    message: &jetstream::message::StreamMessage,
    stored: jiff::Timestamp,
    window: Window,
    now: jiff::Timestamp,
) -> Alert {
    let headers = Some(&message.headers);
    let id = format!("{tenant}/{}", message.sequence);
    let route = bus::header(headers, bus::DLQ_ROUTE).unwrap_or("?");
    let class = bus::header(headers, bus::DLQ_CLASS).unwrap_or("?");
    let error =
        bus::publish::header_text_decoded(bus::header(headers, bus::DLQ_ERROR).unwrap_or(""));
    let error: String = error.chars().take(300).collect();
    Alert {
        id: dead_letter_alert_id(message.sequence),
        kind: DEAD_LETTER_AGED.into(),
        severity: "warning".into(),
        subject: format!("dead-letter:{id}"),
        message: format!(
            "dead letter {id} of route {route} ({class}: {error}) is unresolved {window} after {stored}: replay or discard it"
        ),
        concerns: json!({
            "documents": [{"kind": "dead-letter", "id": id}],
            "items": [],
            "lots": [],
            "quantities": [],
            "locations": [],
        }),
        correlation_id: bus::header(headers, bus::CORRELATION_ID)
            .unwrap_or_default()
            .to_string(),
        raised_at: now,
        state: AlertState::Open,
        acknowledged: None,
        resolved: None,
    }
}

/// The pending timers this host knows, by deadline.
#[derive(Debug, Default)]
struct Pending {
    by_key: HashMap<String, jiff::Timestamp>,
    by_due: BTreeSet<(jiff::Timestamp, String)>,
}

impl Pending {
    fn set(&mut self, key: &str, due: Option<jiff::Timestamp>) {
        if let Some(old) = self.by_key.remove(key) {
            self.by_due.remove(&(old, key.to_string()));
        }
        if let Some(due) = due {
            self.by_key.insert(key.to_string(), due);
            self.by_due.insert((due, key.to_string()));
        }
    }

    fn first(&self) -> Option<jiff::Timestamp> {
        self.by_due.first().map(|(due, _)| *due)
    }

    fn due(&self, now: jiff::Timestamp) -> Vec<String> {
        self.by_due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(_, key)| key.clone())
            .collect()
    }
}

/// Runs the tenant's service-level timers on this host until `stop`: follows its timers and fires each when
/// due, and raises the alerts of aged dead letters. Spawn it once per tenant.
pub async fn run(rules: Arc<TenantRules>, js: jetstream::Context, mut stop: watch::Receiver<bool>) {
    let tenant = rules.state.tenant.clone();
    let timers = rules.state.timers.clone();
    let alerts = rules.state.alerts.clone();
    let mut scan = DeadLetterScan::default();
    let mut next_scan = jiff::Timestamp::now();
    loop {
        // Every pending timer is read again from the watch's history: one missed while no watch ran is not lost.
        let mut watch = match timers.store.watch_with_history(">").await {
            Ok(watch) => watch,
            Err(err) => {
                tracing::warn!(%tenant, "watching the rules' timers: {err}; trying again");
                tokio::select! {
                    // Nothing is in flight while waiting.
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        let mut pending = Pending::default();
        loop {
            let now = jiff::Timestamp::now();
            let settings = rules.in_force().settings;
            let mut wake = pending.first().unwrap_or(jiff::Timestamp::MAX);
            if settings.dead_letter_aged.is_some() {
                wake = wake.min(next_scan);
            }
            let sleep = now
                .duration_until(wake)
                .try_into()
                .unwrap_or(Duration::ZERO)
                .min(LONGEST_SLEEP);
            tokio::select! {
                // Dropping a pending `next` loses nothing: the timer is in KV, and a new watch reads it again.
                entry = watch.next() => match entry {
                    Some(Ok(entry)) => {
                        let due = match entry.operation {
                            // Only its state and deadline: the alert it carries is read when it fires.
                            kv::Operation::Put => serde_json::from_slice::<TimerHead>(&entry.value)
                                .ok()
                                .filter(|t| t.state == TimerState::Pending)
                                .map(|t| t.due),
                            kv::Operation::Delete | kv::Operation::Purge => None,
                        };
                        pending.set(&entry.key, due);
                    }
                    Some(Err(err)) => {
                        tracing::warn!(%tenant, "the timers' watch failed: {err}; watching again");
                        break;
                    }
                    None => break,
                },
                // Waking early or late changes nothing: what is due is read from the clock on waking.
                _ = tokio::time::sleep(sleep) => {
                    let now = jiff::Timestamp::now();
                    for key in pending.due(now) {
                        match timers.fire(&alerts, &settings, &key, now).await {
                            // Its change comes through the watch too; taken off now so it is not fired twice.
                            Ok(()) => pending.set(&key, None),
                            Err(err) => {
                                tracing::warn!(%tenant, timer = %key, "firing a timer: {err:#}; trying again");
                                pending.set(&key, Some(after(now, RETRY)));
                            }
                        }
                    }
                    if let Some(window) = settings.dead_letter_aged
                        && next_scan <= now
                    {
                        next_scan = match scan.check(&js, &tenant, &alerts, window, now).await {
                            Ok(next) => next,
                            Err(err) => {
                                tracing::warn!(%tenant, "looking for aged dead letters: {err:#}; trying again");
                                after(now, RETRY)
                            }
                        };
                    }
                },
                _ = stop.changed() => return,
            }
        }
        // The watch ended (NATS away, the watcher fell behind): wait a little and watch again. Nothing is in flight.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("instant")
    }

    fn window(text: &str) -> Window {
        Window::parse(text).expect("window")
    }

    #[test]
    fn service_levels_are_read_as_the_file_and_the_api_write_them() {
        let settings =
            RuleSettings::from_json(br#"{"ack-overdue": "4h", "dead-letter-aged": "1d"}"#)
                .expect("settings");
        assert_eq!(settings.ack_overdue, Some(window("4h")));
        assert_eq!(settings.dead_letter_aged, Some(window("1d")));
        assert_eq!(settings.receipt_overdue, None, "left out: off");
        let written = serde_json::to_value(&settings).expect("JSON");
        assert_eq!(written["ack-overdue"], "4h");
        assert!(written.get("receipt-overdue").is_none(), "{written}");
        let err = RuleSettings::from_json(br#"{"receipt-overdue": "soon"}"#).expect_err("refused");
        assert!(err.contains("receipt-overdue"), "{err}");
    }

    #[test]
    fn an_order_is_overdue_its_window_after_it_was_seen() {
        assert_eq!(
            ack_deadline(at("2024-06-10T13:42:10Z"), window("4h")),
            at("2024-06-10T17:42:10Z")
        );
        assert_eq!(
            ack_deadline(at("2024-06-10T13:42:10Z"), window("1d")),
            at("2024-06-11T13:42:10Z")
        );
    }

    #[test]
    fn a_notice_is_overdue_its_grace_after_its_expected_date_or_its_arrival_whichever_is_later() {
        let grace = window("1d");
        let seen = at("2024-06-17T09:00:00Z");
        assert_eq!(
            receipt_deadline(Some(at("2024-06-19T12:00:00Z")), seen, grace),
            at("2024-06-20T12:00:00Z"),
            "expected after it was seen: the expected date plus the grace"
        );
        assert_eq!(
            receipt_deadline(Some(at("2024-06-10T12:00:00Z")), seen, grace),
            at("2024-06-18T09:00:00Z"),
            "a notice read after its expected date gets the grace from its arrival"
        );
        assert_eq!(
            receipt_deadline(None, seen, grace),
            at("2024-06-18T09:00:00Z"),
            "no expected date: the grace from its arrival"
        );
    }

    #[test]
    fn a_dead_letter_is_aged_once_its_window_has_passed() {
        let stored = at("2024-06-17T09:00:00Z");
        assert!(!is_aged(stored, window("1d"), at("2024-06-18T08:59:59Z")));
        assert!(is_aged(stored, window("1d"), at("2024-06-18T09:00:00Z")));
        assert!(
            !is_aged(stored, Window(Duration::MAX), at("2099-01-01T00:00:00Z")),
            "a window past the end of time never ages"
        );
    }

    #[test]
    fn pending_timers_come_due_in_deadline_order_and_a_change_moves_them() {
        let mut pending = Pending::default();
        pending.set("b", Some(at("2024-06-17T10:00:00Z")));
        pending.set("a", Some(at("2024-06-17T09:00:00Z")));
        pending.set("c", Some(at("2024-06-17T11:00:00Z")));
        assert_eq!(pending.first(), Some(at("2024-06-17T09:00:00Z")));
        assert_eq!(pending.due(at("2024-06-17T10:00:00Z")), ["a", "b"]);
        pending.set("a", None);
        pending.set("b", Some(at("2024-06-17T12:00:00Z")));
        assert_eq!(pending.due(at("2024-06-17T11:30:00Z")), ["c"]);
        assert_eq!(pending.first(), Some(at("2024-06-17T11:00:00Z")));
    }

    #[test]
    fn a_late_notices_alert_names_what_was_shipped() {
        let notice = json!({"shipment-id": "S1", "supplier": {"ids": [{"value": "BW01"}], "name": "Brightwire"},
            "expected-at": {"utc": "2024-06-18T10:00:00Z"},
            "orders": [{"order": {"order-id": "PO1"}, "items": [
                {"item": {"ids": [{"scheme": "buyer-part", "value": "FST-M10-40"}]},
                 "quantity": {"value": "5000", "unit": "H87"},
                 "lots": [{"internal-lot": "B2406-17", "supplier-lot": null}]}]}]});
        let event = Stored {
            event_type: "ship-notice",
            value: &notice,
            sequence: 1,
            output_id: "x",
            held_back: None,
            correlation_id: "c-1",
        };
        let timer = receipt_timer(
            &notice,
            "S1",
            at("2024-06-17T09:00:00Z"),
            window("1d"),
            &event,
        );
        assert_eq!(timer.due, at("2024-06-19T10:00:00Z"));
        let alert = timer.alert.expect("alert");
        assert_eq!(alert.id, "receipt-overdue:S1");
        assert!(
            alert.message.contains("5000 H87 buyer-part:FST-M10-40"),
            "{}",
            alert.message
        );
        assert_eq!(alert.concerns["lots"], json!(["B2406-17"]));
        assert_eq!(alert.concerns["documents"][1]["id"], "PO1");
        let read: crate::host_api::bindings::millwright::adapter::types::CanonicalEvent =
            crate::canonical::kebab::from_value(&alert.event("acme")).expect("canonical");
        assert_eq!(crate::invoke::event_type(&read), "exception");
    }
}
