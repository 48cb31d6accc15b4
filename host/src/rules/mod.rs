//! Business rules, in the host, on host-owned state: what a plant needs the flow itself to enforce, beside
//! the mappings. Each tenant runs the rules its configuration turns on (`[tenants.<t>.rules]`).
//!
//! A rule sees an inbound route's canonical events before they are published, in two steps, both between the
//! plugin call and the input's acknowledgment (so a restart or a redelivery loses nothing, and a state that
//! cannot be written makes the input wait and come back):
//!
//! 1. [`TenantRules::place`] decides where each event goes — `mw.<t>.ev.<type>`, or `mw.<t>.quarantine.<type>`
//!    — and records the state the events change (a lot held or released);
//! 2. once every output is stored, [`TenantRules::settle`] does what needs the outputs to exist: records what
//!    was held back (with its stream sequence), releases what a release frees, raises and resolves alerts
//!    ([`alerts`]).
//!
//! Both steps are idempotent: a redelivered input places its events the same way, its outputs dedupe, and its
//! settling finds the work done. State lives in the tenant's KV bucket `MW_<tenant>_RULES`, so every host of a
//! fleet agrees. The rules today: quarantine ([`quarantine`]).

pub mod alerts;
pub mod quarantine;

use anyhow::{Context, Result};
use async_nats::jetstream;
use serde_json::{Value, json};

use crate::bus::{self, buckets};
use crate::config::RuleSettings;
use crate::invoke::Event;
use crate::names::Tenant;
use alerts::{Alert, AlertState, Alerts, Note};
use quarantine::{Fate, Hold, LotState, LotStatus, Lots, Quarantined};

/// A tenant's rules and their state.
pub struct TenantRules {
    tenant: Tenant,
    settings: RuleSettings,
    /// Lots: holds, status and what is held back.
    pub lots: Lots,
    /// Alerts.
    pub alerts: Alerts,
}

impl std::fmt::Debug for TenantRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantRules")
            .field("tenant", &self.tenant)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Where an input's events go, and what is left once they are stored.
#[derive(Debug, Default)]
pub struct Placement {
    /// Per event, in order: quarantined for this lot, or (None) published on `ev`.
    pub quarantined: Vec<Option<HeldBack>>,
    /// Lots the input's holds released: what was held back for them goes on.
    pub released: Vec<String>,
}

/// An event held back, and why.
#[derive(Debug, Clone)]
pub struct HeldBack {
    /// The lot number that matched.
    pub lot: String,
    /// Its holds.
    pub holds: Vec<String>,
    /// For the alert: the documents, items and quantities concerned.
    pub concerns: Value,
    /// The work order or document, for the alert's message.
    pub about: String,
}

impl TenantRules {
    /// Opens the tenant's rule state.
    pub async fn open(
        js: &jetstream::Context,
        tenant: &Tenant,
        settings: RuleSettings,
    ) -> Result<Self> {
        let name = format!("MW_{tenant}_RULES");
        let store = buckets::key_value(
            js,
            &buckets::Bucket {
                name: &name,
                description: "the business rules' state: lots and what they hold back",
                max_age: std::time::Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        Ok(Self {
            tenant: tenant.clone(),
            settings,
            lots: Lots::new(tenant.clone(), js.clone(), store),
            alerts: Alerts::open(js, tenant).await?,
        })
    }

    /// Whether any rule is on.
    pub fn active(&self) -> bool {
        self.settings.quarantine
    }

    /// Decides where each event goes and records the lot states they change; an error makes the input wait.
    pub async fn place(&self, events: &[Event]) -> Result<Placement> {
        let mut placement = Placement {
            quarantined: vec![None; events.len()],
            released: Vec::new(),
        };
        if !self.settings.quarantine {
            return Ok(placement);
        }
        for (index, event) in events.iter().enumerate() {
            match event.event_type {
                "quality-hold" => {
                    let value: Value = serde_json::from_slice(&event.json)?;
                    if let Some(lot) = self.hold(&value["quality-hold"]).await? {
                        placement.released.push(lot);
                    }
                }
                "material-consumption" | "inventory-movement" => {
                    let value: Value = serde_json::from_slice(&event.json)?;
                    placement.quarantined[index] = self.held_back(event.event_type, &value).await?;
                }
                _ => {}
            }
        }
        Ok(placement)
    }

    /// Records a quality decision about a lot; the lot, when it released one.
    async fn hold(&self, hold: &Value) -> Result<Option<String>> {
        let Some(key) = hold["scope"].get("lot") else {
            // A hold of an item, a location or a handling unit: not a lot the rules track (yet).
            return Ok(None);
        };
        let Some(lot) = key["lot"].as_str().filter(|l| !l.trim().is_empty()) else {
            return Ok(None);
        };
        let hold_id = hold["hold-id"].as_str().unwrap_or_default().to_string();
        let disposition = hold["disposition"].as_str().unwrap_or_default();
        let items = quarantine::item_ids(&key["item"]);
        let reason = hold["reason"].as_str().unwrap_or_default().to_string();
        let status = match disposition {
            "release" => LotStatus::Released,
            "scrap" => LotStatus::Scrapped,
            // hold, rework: the lot may not be used.
            _ => LotStatus::Held,
        };
        let after = self
            .lots
            .change(lot, |state| {
                let mut state = state.unwrap_or_else(|| LotState {
                    lot: lot.to_string(),
                    status,
                    holds: Vec::new(),
                    quarantined: Vec::new(),
                });
                if status == LotStatus::Released && state.holds.is_empty() {
                    // A release of a lot never held: nothing to free; kept so the release is on record.
                    state.status = LotStatus::Released;
                    return Ok(Some(state));
                }
                if !state.holds.iter().any(|h| h.hold_id == hold_id) {
                    state.holds.push(Hold {
                        hold_id: hold_id.clone(),
                        items: items.clone(),
                        reason: reason.clone(),
                    });
                }
                state.status = status;
                Ok(Some(state))
            })
            .await?;
        tracing::info!(tenant = %self.tenant, lot, hold = %hold_id, ?status, "lot {}", match status {
            LotStatus::Held => "held: its consumption is quarantined",
            LotStatus::Released => "released",
            LotStatus::Scrapped => "scrapped: what it held back stays quarantined",
        });
        Ok((status == LotStatus::Released && after.is_some()).then(|| lot.to_string()))
    }

    /// Whether a consumption (or an issue movement) uses a lot on hold.
    async fn held_back(&self, event_type: &str, value: &Value) -> Result<Option<HeldBack>> {
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
        let items = quarantine::item_ids(&body["item"]);
        for lot in quarantine::lot_numbers(&body["lot"]) {
            let Some(state) = self.lots.get(&lot).await? else {
                continue;
            };
            if state.holds_back(&items) {
                let about = match event_type {
                    "material-consumption" => {
                        format!("work order {}", body["work-order"].as_str().unwrap_or("?"))
                    }
                    _ => format!("movement {}", body["movement-id"].as_str().unwrap_or("?")),
                };
                let document = match event_type {
                    "material-consumption" => {
                        json!({"kind": "work-order", "id": body["work-order"]})
                    }
                    _ => json!({"kind": "inventory-movement", "id": body["movement-id"]}),
                };
                return Ok(Some(HeldBack {
                    lot: lot.clone(),
                    holds: state.holds.iter().map(|h| h.hold_id.clone()).collect(),
                    concerns: json!({
                        "documents": [document],
                        "items": [body["item"]],
                        "lots": [lot],
                        "quantities": [{"what": "held-back", "quantity": body["quantity"]}],
                        "locations": body.get("location").or_else(|| body.get("from")).filter(|l| !l.is_null()).map(|l| vec![l.clone()]).unwrap_or_default(),
                    }),
                    about,
                }));
            }
        }
        Ok(None)
    }

    /// Once the input's outputs are stored: records what was held back (`sequences[i]` is output `i`'s stream
    /// sequence, `ids[i]` its message id), raises the quarantine alerts, and releases what the input's releases
    /// freed. Idempotent.
    pub async fn settle(
        &self,
        placement: &Placement,
        events: &[(&'static str, u64, String)],
        correlation_id: &str,
    ) -> Result<()> {
        for (held, (event_type, sequence, message_id)) in placement.quarantined.iter().zip(events) {
            let Some(held) = held else { continue };
            let state = self
                .lots
                .change(&held.lot, |state| {
                    let Some(mut state) = state else {
                        return Ok(None);
                    };
                    if state.quarantined.iter().any(|q| q.sequence == *sequence) {
                        return Ok(None);
                    }
                    state.quarantined.push(Quarantined {
                        sequence: *sequence,
                        event_type: (*event_type).to_string(),
                        message_id: message_id.clone(),
                        fate: Fate::Waiting,
                        decided: None,
                    });
                    Ok(Some(state))
                })
                .await?;
            tracing::warn!(tenant = %self.tenant, lot = %held.lot, sequence, "{} quarantined: lot {} is on hold ({})", held.about, held.lot, held.holds.join(", "));
            for hold in &held.holds {
                self.alerts
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
                        correlation_id: correlation_id.to_string(),
                        raised_at: jiff::Timestamp::now(),
                        state: AlertState::Open,
                        acknowledged: None,
                        resolved: None,
                    })
                    .await?;
            }
            // Released while this was being held back: it goes on now.
            if state.is_some_and(|s| s.status == LotStatus::Released) {
                self.release_lot(&held.lot).await?;
            }
        }
        for lot in &placement.released {
            self.release_lot(lot).await?;
        }
        Ok(())
    }

    /// Publishes what a released lot held back, and resolves its quarantine alerts.
    async fn release_lot(&self, lot: &str) -> Result<()> {
        let Some(state) = self.lots.get(lot).await? else {
            return Ok(());
        };
        let note = Note {
            by: "rule:quarantine".into(),
            at: jiff::Timestamp::now(),
            note: Some(format!("lot {lot} released")),
        };
        let mut released = 0;
        for held in state.quarantined.iter().filter(|q| q.fate == Fate::Waiting) {
            self.lots
                .release(lot, held.sequence, note.clone())
                .await
                .with_context(|| format!("releasing what lot {lot} held back"))?;
            released += 1;
        }
        for hold in &state.holds {
            self.alerts
                .resolve(&format!("quarantine:{}:{lot}", hold.hold_id), note.clone())
                .await?;
        }
        if released > 0 {
            tracing::info!(tenant = %self.tenant, lot, released, "lot released: {released} quarantined message(s) published on {}", bus::ev_subject(&self.tenant, "<type>"));
        }
        Ok(())
    }
}
