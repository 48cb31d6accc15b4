//! The rules' verbs: a tenant's alerts (list, show, acknowledge, resolve) and what its quarantine holds back
//! (list, release, discard), each decided by a person with a note, on the state every host shares; and which
//! rules run, tuned through the API.

use super::{Service, ServiceError};
use crate::names::Tenant;
use crate::rules::RulesInForce;
use crate::rules::alerts::{Alert, AlertState, Note};
use crate::rules::quarantine::{Fate, LotState};
use crate::rules::settings::RuleSettings;

/// What a person decides about a message held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Publish it on `ev`, as a release of its lot would.
    Release,
    /// Drop it: it stays in the quarantine stream, marked, and goes nowhere.
    Discard,
}

impl Service {
    /// The rules a tenant runs, their settings, and whether those are the file's or the API's.
    pub fn rule_settings(&self, tenant: &Tenant) -> Result<RulesInForce, ServiceError> {
        Ok(self.rules(tenant)?.in_force())
    }

    /// Runs `settings` for the tenant on every host (kept in the store, over the file's), from the next input.
    pub async fn put_rule_settings(
        &self,
        tenant: &Tenant,
        settings: RuleSettings,
        by: &str,
    ) -> Result<RulesInForce, ServiceError> {
        let in_force = self.rules(tenant)?.put_settings(settings).await?;
        tracing::info!(%tenant, by, running = ?in_force.running, "rule settings put through the API");
        Ok(in_force)
    }

    /// Forgets the API's settings: every host runs the file's again.
    pub async fn reset_rule_settings(
        &self,
        tenant: &Tenant,
        by: &str,
    ) -> Result<RulesInForce, ServiceError> {
        let in_force = self.rules(tenant)?.delete_settings().await?;
        tracing::info!(%tenant, by, running = ?in_force.running, "rule settings back to the file's");
        Ok(in_force)
    }

    /// The tenant's alerts, newest first; only those in `state` when given.
    pub async fn alerts(
        &self,
        tenant: &Tenant,
        state: Option<AlertState>,
    ) -> Result<Vec<Alert>, ServiceError> {
        Ok(self.rules(tenant)?.state.alerts.list(state).await?)
    }

    /// One alert.
    pub async fn alert(&self, tenant: &Tenant, id: &str) -> Result<Alert, ServiceError> {
        self.rules(tenant)?
            .state
            .alerts
            .get(id)
            .await?
            .ok_or_else(|| no_alert(tenant, id))
    }

    /// Acknowledges an open alert (an acknowledged one stays as it is); a resolved one is a conflict.
    pub async fn acknowledge_alert(
        &self,
        tenant: &Tenant,
        id: &str,
        by: &str,
        note: Option<String>,
    ) -> Result<Alert, ServiceError> {
        let alerts = &self.rules(tenant)?.state.alerts;
        match alerts.acknowledge(id, note_of(by, note)).await {
            Ok(Some(alert)) => Ok(alert),
            Ok(None) => Err(no_alert(tenant, id)),
            Err(err) if err.to_string().contains("resolved already") => {
                Err(ServiceError::conflict("alert_resolved", format!("{err:#}")))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Resolves an alert; resolving a resolved one changes nothing.
    pub async fn resolve_alert(
        &self,
        tenant: &Tenant,
        id: &str,
        by: &str,
        note: Option<String>,
    ) -> Result<Alert, ServiceError> {
        self.rules(tenant)?
            .state
            .alerts
            .resolve(id, note_of(by, note))
            .await?
            .ok_or_else(|| no_alert(tenant, id))
    }

    /// The lots that hold something back, or held it, with each message's fate.
    pub async fn quarantine(&self, tenant: &Tenant) -> Result<Vec<LotState>, ServiceError> {
        Ok(self.rules(tenant)?.state.lots.with_quarantine().await?)
    }

    /// A person's decision about one message a lot holds back: released on `ev`, or discarded; `reason` is
    /// required. The lot's state after.
    pub async fn decide_quarantined(
        &self,
        tenant: &Tenant,
        lot: &str,
        sequence: u64,
        decision: Decision,
        by: &str,
        reason: &str,
    ) -> Result<LotState, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reason_required",
                "say why (`reason`): a decision about held-back material is recorded with its reason",
            ));
        }
        let lots = &self.rules(tenant)?.state.lots;
        let Some(state) = lots.get(lot).await? else {
            return Err(no_quarantined(tenant, lot, sequence));
        };
        let Some(held) = state.quarantined.iter().find(|q| q.sequence == sequence) else {
            return Err(no_quarantined(tenant, lot, sequence));
        };
        if held.fate != Fate::Waiting {
            return Err(ServiceError::conflict(
                "already_decided",
                format!(
                    "message {sequence} of lot {lot} was {} already",
                    match held.fate {
                        Fate::Released => "released",
                        _ => "discarded",
                    }
                ),
            ));
        }
        let note = note_of(by, Some(reason.to_string()));
        let since = note.at;
        match decision {
            Decision::Release => {
                lots.release(lot, sequence, note).await?;
            }
            Decision::Discard => {
                lots.decide(lot, sequence, Fate::Discarded, note).await?;
            }
        }
        tracing::info!(%tenant, lot, sequence, ?decision, by, reason, "quarantined message decided");
        if let Some(trace) = self.traces.get(tenant) {
            trace.decisions(lots, &[lot.to_string()], since).await;
        }
        lots.get(lot)
            .await?
            .ok_or_else(|| no_quarantined(tenant, lot, sequence))
    }
}

fn note_of(by: &str, note: Option<String>) -> Note {
    Note {
        by: by.to_string(),
        at: jiff::Timestamp::now(),
        note: note.filter(|n| !n.trim().is_empty()),
    }
}

fn no_alert(tenant: &Tenant, id: &str) -> ServiceError {
    ServiceError::not_found(
        "alert_not_found",
        format!("tenant {tenant} has no alert {id:?}"),
    )
}

fn no_quarantined(tenant: &Tenant, lot: &str, sequence: u64) -> ServiceError {
    ServiceError::not_found(
        "not_quarantined",
        format!("tenant {tenant}'s lot {lot:?} holds back no message {sequence}"),
    )
}
