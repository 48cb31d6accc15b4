//! Quarantine: quality holds a lot, and a consumption of it (or an issue movement) must not reach the systems
//! that would book it. The lot's state lives in the tenant's rule bucket (`MW_<tenant>_RULES`, key
//! `lot.<lot>`): its holds, its status, and the messages held back for it. A consumption of a held lot is
//! published on `mw.<t>.quarantine.<type>` instead of `mw.<t>.ev.<type>`; a release publishes each on `ev`
//! once (`Nats-Msg-Id` `release:<sequence>`); a scrap leaves them quarantined for a person to discard.
//!
//! Items match when the hold names none, or when the hold and the event name the same item: a shared id
//! (scheme and value), or the same internal item through the tenant's item cross-reference (table `items`,
//! [`super::matching`]), so a consumption naming the supplier's part number is held back by a hold on ACME's
//! item. Lots match by the lot number the hold names, against the event's internal and supplier lot numbers.

use anyhow::{Context, Result};
use async_nats::jetstream;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::alerts::{Alert, AlertState, Note};
use super::matching::MasterData;
use super::state::Documents;
use super::{HeldBack, Rule, RuleState, Seen, Stored};
use crate::bus::{self, StreamKind};
use crate::names::Tenant;

/// Whether a lot may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LotStatus {
    /// On hold: consumption is held back.
    Held,
    /// Released: what was held back went on.
    Released,
    /// Scrapped: what was held back stays, for a person to discard.
    Scrapped,
}

/// One hold on a lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    /// The quality system's hold id.
    pub hold_id: String,
    /// The item's ids as the hold names them (`scheme:value`); empty: any item.
    pub items: Vec<String>,
    /// Why.
    pub reason: String,
}

/// What became of a message held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Still held back.
    Waiting,
    /// Published on `ev`.
    Released,
    /// Dropped by a person.
    Discarded,
}

/// One message held back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quarantined {
    /// Its sequence in the tenant's quarantine stream.
    pub sequence: u64,
    /// Its event type.
    pub event_type: String,
    /// Its output id (`Nats-Msg-Id`).
    pub message_id: String,
    /// What became of it.
    pub fate: Fate,
    /// Who released or discarded it, when, and why.
    pub decided: Option<super::alerts::Note>,
}

/// A lot as the rules know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LotState {
    /// The lot number.
    pub lot: String,
    /// Where it stands.
    pub status: LotStatus,
    /// Its holds, in the order they came.
    pub holds: Vec<Hold>,
    /// The messages held back for it.
    pub quarantined: Vec<Quarantined>,
}

impl LotState {
    /// Whether a consumption of `items` of this lot is held back, the items compared through `data`.
    pub fn holds_back(&self, items: &[String], data: &MasterData) -> bool {
        self.status != LotStatus::Released
            && self
                .holds
                .iter()
                .any(|h| h.items.is_empty() || data.same_item(&h.items, items))
    }
}

/// The lot states of a tenant, in its rule bucket.
#[derive(Clone)]
pub struct Lots {
    tenant: Tenant,
    js: jetstream::Context,
    documents: Documents,
}

impl Lots {
    pub(super) fn new(tenant: Tenant, js: jetstream::Context, documents: Documents) -> Self {
        Self {
            tenant,
            js,
            documents,
        }
    }

    fn key(lot: &str) -> String {
        Documents::key("lot", lot)
    }

    /// A lot's state, if the rules know it.
    pub async fn get(&self, lot: &str) -> Result<Option<LotState>> {
        self.documents.get(&Self::key(lot)).await
    }

    /// Every lot with messages held back or decided.
    pub async fn with_quarantine(&self) -> Result<Vec<LotState>> {
        let mut out: Vec<LotState> = self
            .documents
            .all::<LotState>("lot")
            .await?
            .into_iter()
            .filter(|state| !state.quarantined.is_empty())
            .collect();
        out.sort_by(|a, b| a.lot.cmp(&b.lot));
        Ok(out)
    }

    /// Changes a lot's state with compare-and-set (`apply` gets None for a lot the rules do not know and returns
    /// None to leave it); the state after.
    pub async fn change(
        &self,
        lot: &str,
        apply: impl Fn(Option<LotState>) -> Result<Option<LotState>>,
    ) -> Result<Option<LotState>> {
        self.documents.change(&Self::key(lot), apply).await
    }

    /// Publishes a message held back for `lot` on `ev` (once: its id is `release:<sequence>`) and records its
    /// fate. Messages already decided are left as they are; false when the lot holds no such message.
    pub async fn release(
        &self,
        lot: &str,
        sequence: u64,
        note: super::alerts::Note,
    ) -> Result<bool> {
        let Some(state) = self.get(lot).await? else {
            return Ok(false);
        };
        let Some(held) = state.quarantined.iter().find(|q| q.sequence == sequence) else {
            return Ok(false);
        };
        if held.fate != Fate::Waiting {
            return Ok(true);
        }
        let stream = self
            .js
            .get_stream(bus::stream_name(&self.tenant, StreamKind::Quarantine))
            .await
            .context("opening the quarantine stream")?;
        let message = stream
            .direct_get(sequence)
            .await
            .with_context(|| format!("reading quarantined message {sequence}"))?;
        let mut headers = bus::carried_headers(Some(&message.headers));
        headers.insert(bus::MSG_ID, format!("release:{sequence}").as_str());
        headers.insert(bus::RELEASED_BY, note.by.as_str());
        self.js
            .publish_with_headers(
                bus::ev_subject(&self.tenant, &held.event_type),
                headers,
                message.payload.clone(),
            )
            .await
            .context("releasing a quarantined message")?
            .await
            .context("releasing a quarantined message: JetStream did not store it")?;
        self.decide(lot, sequence, Fate::Released, note).await?;
        Ok(true)
    }

    /// Records the fate of a message held back for `lot`, unless it has one.
    pub async fn decide(
        &self,
        lot: &str,
        sequence: u64,
        fate: Fate,
        note: super::alerts::Note,
    ) -> Result<()> {
        self.change(lot, |state| {
            let Some(mut state) = state else {
                return Ok(None);
            };
            let Some(held) = state
                .quarantined
                .iter_mut()
                .find(|q| q.sequence == sequence && q.fate == Fate::Waiting)
            else {
                return Ok(None);
            };
            held.fate = fate;
            held.decided = Some(note.clone());
            Ok(Some(state))
        })
        .await
        .map(drop)
    }
}

/// The quarantine rule.
pub struct Quarantine;

impl Rule for Quarantine {
    fn name(&self) -> &'static str {
        "quarantine"
    }

    fn hold_back<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Seen<'a>,
    ) -> BoxFuture<'a, Result<Option<HeldBack>>> {
        Box::pin(held_back(state, event.event_type, event.value))
    }

    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if event.event_type == "quality-hold" {
                let hold = &event.value["quality-hold"];
                match decide(state, hold).await? {
                    Decided::Released(lot) => release_lot(state, &lot).await?,
                    Decided::ReleasedUnheld(lot) => {
                        unheld_release(state, hold, &lot, event.correlation_id).await?;
                    }
                    Decided::Other => {}
                }
                return Ok(());
            }
            let Some(held) = event.held_back else {
                return Ok(());
            };
            let lot_state = state
                .lots
                .change(&held.lot, |lot| {
                    let Some(mut lot) = lot else { return Ok(None) };
                    if lot.quarantined.iter().any(|q| q.sequence == event.sequence) {
                        return Ok(None);
                    }
                    lot.quarantined.push(Quarantined {
                        sequence: event.sequence,
                        event_type: event.event_type.to_string(),
                        message_id: event.output_id.to_string(),
                        fate: Fate::Waiting,
                        decided: None,
                    });
                    Ok(Some(lot))
                })
                .await?;
            tracing::warn!(tenant = %state.tenant, lot = %held.lot, sequence = event.sequence, "{} quarantined: lot {} is on hold ({})", held.about, held.lot, held.holds.join(", "));
            for hold in &held.holds {
                state
                    .alerts
                    .raise(Alert {
                        id: format!("quarantine:{hold}:{}", held.lot),
                        kind: "quarantine".into(),
                        severity: "warning".into(),
                        subject: format!("lot:{}", held.lot),
                        message: format!(
                            "{} consumes lot {}, which quality holds ({hold}): the consumption is quarantined until the lot is released",
                            held.about, held.lot
                        ),
                        concerns: held.concerns.clone(),
                        correlation_id: event.correlation_id.to_string(),
                        raised_at: jiff::Timestamp::now(),
                        state: AlertState::Open,
                        acknowledged: None,
                        resolved: None,
                    })
                    .await?;
            }
            // Released while this was being held back: it goes on now.
            if lot_state.is_some_and(|s| s.status == LotStatus::Released) {
                release_lot(state, &held.lot).await?;
            }
            Ok(())
        })
    }
}

/// What a quality decision did to a lot.
enum Decided {
    /// It released a lot that was held.
    Released(String),
    /// It released a lot no hold on record names.
    ReleasedUnheld(String),
    /// Anything else: a hold, a scrap, a decision about no lot.
    Other,
}

/// Records a quality decision about a lot.
async fn decide(state: &RuleState, hold: &Value) -> Result<Decided> {
    let Some(key) = hold["scope"].get("lot") else {
        // A hold of an item, a location or a handling unit: not a lot the rule tracks.
        return Ok(Decided::Other);
    };
    let Some(lot) = key["lot"].as_str().filter(|l| !l.trim().is_empty()) else {
        return Ok(Decided::Other);
    };
    let hold_id = hold["hold-id"].as_str().unwrap_or_default().to_string();
    let items = item_ids(&key["item"]);
    let reason = hold["reason"].as_str().unwrap_or_default().to_string();
    let status = match hold["disposition"].as_str().unwrap_or_default() {
        "release" => LotStatus::Released,
        "scrap" => LotStatus::Scrapped,
        // hold, rework: the lot may not be used.
        _ => LotStatus::Held,
    };
    let after = state
        .lots
        .change(lot, |current| {
            let mut current = current.unwrap_or_else(|| LotState {
                lot: lot.to_string(),
                status,
                holds: Vec::new(),
                quarantined: Vec::new(),
            });
            if status == LotStatus::Released && current.holds.is_empty() {
                // A release of a lot never held: nothing to free; kept so the release is on record.
                current.status = LotStatus::Released;
                return Ok(Some(current));
            }
            if !current.holds.iter().any(|h| h.hold_id == hold_id) {
                current.holds.push(Hold {
                    hold_id: hold_id.clone(),
                    items: items.clone(),
                    reason: reason.clone(),
                });
            }
            current.status = status;
            Ok(Some(current))
        })
        .await?;
    tracing::info!(tenant = %state.tenant, lot, hold = %hold_id, ?status, "lot {}", match status {
        LotStatus::Held => "held: its consumption is quarantined",
        LotStatus::Released => "released",
        LotStatus::Scrapped => "scrapped: what it held back stays quarantined",
    });
    Ok(match (status, after) {
        (LotStatus::Released, Some(after)) if !after.holds.is_empty() => {
            Decided::Released(lot.to_string())
        }
        (LotStatus::Released, _) => Decided::ReleasedUnheld(lot.to_string()),
        _ => Decided::Other,
    })
}

/// A release of a lot no hold on record names: the event goes on, and an `info` alert says so — the hold may
/// never have reached the host, so what it should have held back may have been used.
async fn unheld_release(
    state: &RuleState,
    hold: &Value,
    lot: &str,
    correlation_id: &str,
) -> Result<()> {
    let hold_id = hold["hold-id"].as_str().unwrap_or("?");
    state
        .alerts
        .raise(Alert {
            id: format!("quarantine:{hold_id}:{lot}:released-unheld"),
            kind: "quarantine".into(),
            severity: "info".into(),
            subject: format!("lot:{lot}"),
            message: format!(
                "quality released lot {lot} ({hold_id}), which no hold on record names: nothing was held back; if a hold was placed, it never reached the rules"
            ),
            concerns: json!({
                "documents": [{"kind": "quality-hold", "id": hold_id}],
                "items": hold["scope"]["lot"].get("item").filter(|i| !i.is_null()).into_iter().collect::<Vec<_>>(),
                "lots": [lot],
                "quantities": [],
                "locations": [],
            }),
            correlation_id: correlation_id.to_string(),
            raised_at: jiff::Timestamp::now(),
            state: AlertState::Open,
            acknowledged: None,
            resolved: None,
        })
        .await?;
    Ok(())
}

/// Whether a consumption (or an issue movement) uses a lot on hold.
async fn held_back(state: &RuleState, event_type: &str, value: &Value) -> Result<Option<HeldBack>> {
    if event_type != "material-consumption" && event_type != "inventory-movement" {
        return Ok(None);
    }
    let body = &value[event_type];
    if event_type == "inventory-movement" && body["kind"] != "issue" {
        return Ok(None);
    }
    // A return to stock (negative) takes nothing from the lot.
    if body["quantity"]["value"]
        .as_str()
        .is_some_and(|v| v.trim_start().starts_with('-'))
    {
        return Ok(None);
    }
    let items = item_ids(&body["item"]);
    for lot in lot_numbers(&body["lot"]) {
        let Some(lot_state) = state.lots.get(&lot).await? else {
            continue;
        };
        if !lot_state.holds_back(&items, &state.master_data.now()) {
            continue;
        }
        let (about, document) = match event_type {
            "material-consumption" => (
                format!("work order {}", body["work-order"].as_str().unwrap_or("?")),
                json!({"kind": "work-order", "id": body["work-order"]}),
            ),
            _ => (
                format!("movement {}", body["movement-id"].as_str().unwrap_or("?")),
                json!({"kind": "inventory-movement", "id": body["movement-id"]}),
            ),
        };
        let location = body
            .get("location")
            .or_else(|| body.get("from"))
            .filter(|l| !l.is_null());
        return Ok(Some(HeldBack {
            lot: lot.clone(),
            holds: lot_state.holds.iter().map(|h| h.hold_id.clone()).collect(),
            concerns: json!({
                "documents": [document],
                "items": [body["item"]],
                "lots": [lot],
                "quantities": [{"what": "held-back", "quantity": body["quantity"]}],
                "locations": location.map(|l| vec![l.clone()]).unwrap_or_default(),
            }),
            about,
        }));
    }
    Ok(None)
}

/// Publishes what a released lot held back, and resolves its quarantine alerts.
async fn release_lot(state: &RuleState, lot: &str) -> Result<()> {
    let Some(lot_state) = state.lots.get(lot).await? else {
        return Ok(());
    };
    let note = Note {
        by: "rule:quarantine".into(),
        at: jiff::Timestamp::now(),
        note: Some(format!("lot {lot} released")),
    };
    let mut released = 0;
    for held in lot_state
        .quarantined
        .iter()
        .filter(|q| q.fate == Fate::Waiting)
    {
        state
            .lots
            .release(lot, held.sequence, note.clone())
            .await
            .with_context(|| format!("releasing what lot {lot} held back"))?;
        released += 1;
    }
    for hold in &lot_state.holds {
        state
            .alerts
            .resolve(&format!("quarantine:{}:{lot}", hold.hold_id), note.clone())
            .await?;
    }
    if released > 0 {
        tracing::info!(tenant = %state.tenant, lot, released, "lot released: {released} quarantined message(s) published on ev");
    }
    Ok(())
}

/// An identifier as the rules compare them: `scheme:value`.
pub fn id_text(id: &Value) -> Option<String> {
    let value = id["value"].as_str()?;
    match &id["scheme"] {
        Value::String(scheme) => Some(format!("{scheme}:{value}")),
        Value::Null => None,
        // A scheme with a payload (`{"internal": "ERP"}`), written as JSON.
        scheme => Some(format!("{scheme}:{value}")),
    }
}

/// The ids of an `item-ref`.
pub fn item_ids(item: &Value) -> Vec<String> {
    item["ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(id_text).collect())
        .unwrap_or_default()
}

/// The lot numbers of an optional `lot-ref`: internal, then supplier.
pub fn lot_numbers(lot: &Value) -> Vec<String> {
    ["internal-lot", "supplier-lot"]
        .iter()
        .filter_map(|k| lot[*k].as_str())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_holds_back_its_items_of_the_lot_until_released() {
        let mut state = LotState {
            lot: "L1".into(),
            status: LotStatus::Held,
            holds: vec![Hold {
                hold_id: "QH-1".into(),
                items: vec!["buyer-part:RM-1".into()],
                reason: "DIM".into(),
            }],
            quarantined: Vec::new(),
        };
        let none = MasterData::none();
        assert!(state.holds_back(&["vendor-part:V-9".into(), "buyer-part:RM-1".into()], &none));
        assert!(
            !state.holds_back(&["buyer-part:RM-2".into()], &none),
            "another item's lot of the same number"
        );
        assert!(!state.holds_back(&["vendor-part:V-9".into()], &none));
        let xref = crate::rules::matching::tests::master_data(&[(
            "items",
            "supplier_part,internal_item\nV-9,RM-1\n",
        )]);
        assert!(
            state.holds_back(&["vendor-part:V-9".into()], &xref),
            "the supplier's part number of the held item"
        );
        state.status = LotStatus::Scrapped;
        assert!(
            state.holds_back(&["buyer-part:RM-1".into()], &none),
            "scrapped stays held back"
        );
        state.status = LotStatus::Released;
        assert!(!state.holds_back(&["buyer-part:RM-1".into()], &none));
        state.status = LotStatus::Held;
        state.holds[0].items.clear();
        assert!(
            state.holds_back(&[], &none),
            "a hold naming no item holds every item of the lot"
        );
    }

    #[test]
    fn ids_and_lot_numbers_are_read_from_canonical_json() {
        let item = serde_json::json!({"ids": [{"scheme": "buyer-part", "value": "RM-1"}, {"scheme": "gtin", "value": "1"}]});
        assert_eq!(item_ids(&item), ["buyer-part:RM-1", "gtin:1"]);
        let lot = serde_json::json!({"internal-lot": "L1", "supplier-lot": "S1"});
        assert_eq!(lot_numbers(&lot), ["L1", "S1"]);
        assert!(lot_numbers(&Value::Null).is_empty());
    }
}
