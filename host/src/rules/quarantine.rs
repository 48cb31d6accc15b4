//! Quarantine: quality holds a lot, and a consumption of it (or an issue movement) must not reach the systems
//! that would book it. The lot's state lives in the tenant's rule bucket (`MW_<tenant>_RULES`, key
//! `lot.<lot>`): its holds, its status, and the messages held back for it. A consumption of a held lot is
//! published on `mw.<t>.quarantine.<type>` instead of `mw.<t>.ev.<type>`; a release publishes each on `ev`
//! once (`Nats-Msg-Id` `release:<sequence>`); a scrap leaves them quarantined for a person to discard.
//!
//! Items match when the hold names none, or when the hold and the event share an id (scheme and value). Lots
//! match by the lot number the hold names, against the event's internal and supplier lot numbers.

use anyhow::{Context, Result, bail};
use async_nats::jetstream::{self, kv};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::bus::{self, StreamKind};
use crate::names::Tenant;

/// How many times a change is tried again after another host changed the same lot first.
const ATTEMPTS: usize = 32;

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
    /// Whether a consumption of `items` of this lot is held back.
    pub fn holds_back(&self, items: &[String]) -> bool {
        self.status != LotStatus::Released
            && self
                .holds
                .iter()
                .any(|h| h.items.is_empty() || h.items.iter().any(|i| items.contains(i)))
    }
}

/// The lot states of a tenant, in its rule bucket.
#[derive(Clone)]
pub struct Lots {
    tenant: Tenant,
    js: jetstream::Context,
    store: kv::Store,
}

impl Lots {
    pub(super) fn new(tenant: Tenant, js: jetstream::Context, store: kv::Store) -> Self {
        Self { tenant, js, store }
    }

    fn key(lot: &str) -> String {
        format!("lot.{}", URL_SAFE_NO_PAD.encode(lot))
    }

    /// A lot's state, if the rules know it.
    pub async fn get(&self, lot: &str) -> Result<Option<LotState>> {
        Ok(self
            .store
            .get(Self::key(lot))
            .await
            .with_context(|| format!("reading the state of lot {lot}"))?
            .map(|v| serde_json::from_slice(&v))
            .transpose()?)
    }

    /// Every lot with messages held back or decided.
    pub async fn with_quarantine(&self) -> Result<Vec<LotState>> {
        use futures::StreamExt as _;
        let mut keys = self.store.keys().await.context("listing lots")?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.context("listing lots")?;
            if !key.starts_with("lot.") {
                continue;
            }
            if let Some(value) = self.store.get(&key).await.context("reading a lot")?
                && let Ok(state) = serde_json::from_slice::<LotState>(&value)
                && !state.quarantined.is_empty()
            {
                out.push(state);
            }
        }
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
        let key = Self::key(lot);
        for _ in 0..ATTEMPTS {
            let entry = self
                .store
                .entry(&key)
                .await
                .with_context(|| format!("reading the state of lot {lot}"))?
                .filter(|e| e.operation == kv::Operation::Put);
            let (current, revision) = match &entry {
                Some(e) => (
                    Some(serde_json::from_slice::<LotState>(&e.value)?),
                    Some(e.revision),
                ),
                None => (None, None),
            };
            let Some(next) = apply(current.clone())? else {
                return Ok(current);
            };
            if Some(&next) == current.as_ref() {
                return Ok(current);
            }
            let value = serde_json::to_vec(&next)?.into();
            let written = match revision {
                Some(revision) => self
                    .store
                    .update(&key, value, revision)
                    .await
                    .map(drop)
                    .map_err(|e| {
                        (
                            e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                            e.to_string(),
                        )
                    }),
                None => self.store.create(&key, value).await.map(drop).map_err(|e| {
                    (
                        e.kind() == kv::CreateErrorKind::AlreadyExists,
                        e.to_string(),
                    )
                }),
            };
            match written {
                Ok(()) => return Ok(Some(next)),
                Err((true, _)) => continue,
                Err((false, err)) => bail!("writing the state of lot {lot}: {err}"),
            }
        }
        bail!("lot {lot} was changed by others {ATTEMPTS} times in a row")
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
        assert!(state.holds_back(&["vendor-part:V-9".into(), "buyer-part:RM-1".into()]));
        assert!(
            !state.holds_back(&["buyer-part:RM-2".into()]),
            "another item's lot of the same number"
        );
        state.status = LotStatus::Scrapped;
        assert!(
            state.holds_back(&["buyer-part:RM-1".into()]),
            "scrapped stays held back"
        );
        state.status = LotStatus::Released;
        assert!(!state.holds_back(&["buyer-part:RM-1".into()]));
        state.status = LotStatus::Held;
        state.holds[0].items.clear();
        assert!(
            state.holds_back(&[]),
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
