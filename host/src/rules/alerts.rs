//! Alerts: what the rules raise for people, each once, with a life — open, acknowledged, resolved — kept in the
//! tenant's KV bucket `MW_<tenant>_ALERTS` (every host sees the same) and published as a canonical `exception`
//! event on `mw.<tenant>.alert.<kind>` when raised.
//!
//! An alert's id says what it is about (`quarantine:<hold>:<lot>`), so the same condition seen again — a
//! redelivered input, a second consumption of the same held lot, another host — finds it and raises nothing
//! new. Its event is published with `Nats-Msg-Id` `alert:<id>`: a raise interrupted between the publish and the
//! record publishes the same message again, and JetStream drops it.

use anyhow::{Context, Result, bail};
use async_nats::jetstream::{self, kv};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::bus::{self, buckets};
use crate::names::Tenant;

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AlertState {
    /// Raised; nobody has taken it.
    Open,
    /// A person has seen it and is on it.
    Acknowledged,
    /// Over: a person resolved it, or its rule saw the condition clear.
    Resolved,
}

/// Who moved an alert on, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// A person (as the API caller names them) or `rule:<name>`.
    pub by: String,
    /// When.
    #[schema(value_type = String)]
    pub at: jiff::Timestamp,
    /// What they said.
    pub note: Option<String>,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// Stable for the condition: `quarantine:QH-240618-003:B2406-17`.
    pub id: String,
    /// `quarantine`, `receipt-discrepancy`, `order-change` ... : the last token of its subject.
    pub kind: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// What it is about: `lot:B2406-17`, `purchase-order:4500020114`.
    pub subject: String,
    /// One sentence for a person.
    pub message: String,
    /// The documents, items, lots, quantities and locations concerned, as the exception event's `concerns`.
    #[schema(value_type = Object)]
    pub concerns: Value,
    /// The flow that raised it.
    pub correlation_id: String,
    /// When it was raised.
    #[schema(value_type = String)]
    pub raised_at: jiff::Timestamp,
    /// Where it stands.
    pub state: AlertState,
    /// Who acknowledged it.
    pub acknowledged: Option<Note>,
    /// Who resolved it.
    pub resolved: Option<Note>,
}

impl Alert {
    /// The canonical `exception` event announcing it.
    pub fn event(&self, tenant: &str) -> Value {
        let at = json!({"utc": self.raised_at.to_string(), "original-offset-minutes": null});
        json!({"exception": {
            "header": {
                "id": format!("alert:{}", self.id),
                "source-system": "millwright-rules",
                "tenant": tenant,
                "site": null,
                "event-time": at,
                "correlation-id": self.correlation_id,
                "idempotency-key": format!("alert:{}", self.id),
            },
            "kind": self.kind,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "concerns": self.concerns,
        }})
    }
}

/// A tenant's alerts.
#[derive(Clone)]
pub struct Alerts {
    tenant: Tenant,
    js: jetstream::Context,
    store: kv::Store,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// How many times a change is tried again after another host changed the same alert first.
const ATTEMPTS: usize = 16;

impl Alerts {
    /// Opens (or creates) the tenant's alert bucket.
    pub async fn open(js: &jetstream::Context, tenant: &Tenant) -> Result<Self> {
        let name = format!("MW_{tenant}_ALERTS");
        let store = buckets::key_value(
            js,
            &buckets::Bucket {
                name: &name,
                description: "the alerts the rules raised, and where each stands",
                max_age: std::time::Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        Ok(Self {
            tenant: tenant.clone(),
            js: js.clone(),
            store,
        })
    }

    fn key(id: &str) -> String {
        URL_SAFE_NO_PAD.encode(id)
    }

    /// Raises `alert` unless one with its id was raised before; whether it is new. The event goes out before the
    /// record, so an alert on record was announced.
    pub async fn raise(&self, alert: Alert) -> Result<bool> {
        let key = Self::key(&alert.id);
        if self
            .store
            .get(&key)
            .await
            .context("reading an alert")?
            .is_some()
        {
            return Ok(false);
        }
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(bus::MSG_ID, format!("alert:{}", alert.id).as_str());
        headers.insert(bus::CORRELATION_ID, alert.correlation_id.as_str());
        headers.insert(bus::EVENT_TYPE, "exception");
        headers.insert(bus::CONTENT_TYPE, "application/json");
        let payload = serde_json::to_vec(&alert.event(&self.tenant))?;
        self.js
            .publish_with_headers(
                bus::alert_subject(&self.tenant, &alert.kind),
                headers,
                payload.into(),
            )
            .await
            .context("publishing an alert")?
            .await
            .context("publishing an alert: JetStream did not store it")?;
        match self
            .store
            .create(&key, serde_json::to_vec(&alert)?.into())
            .await
        {
            Ok(_) => {
                tracing::warn!(tenant = %self.tenant, alert = %alert.id, kind = %alert.kind, "alert: {}", alert.message);
                crate::trace::alert_raised(&self.tenant, &alert).await;
                Ok(true)
            }
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(err).context("recording an alert"),
        }
    }

    /// One alert.
    pub async fn get(&self, id: &str) -> Result<Option<Alert>> {
        Ok(self
            .store
            .entry(Self::key(id))
            .await
            .context("reading an alert")?
            .filter(|e| e.operation == kv::Operation::Put)
            .map(|e| serde_json::from_slice(&e.value))
            .transpose()?)
    }

    /// Every alert, newest first; only those in `state` when given.
    pub async fn list(&self, state: Option<AlertState>) -> Result<Vec<Alert>> {
        use futures::StreamExt as _;
        let mut keys = self.store.keys().await.context("listing alerts")?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.context("listing alerts")?;
            if let Some(value) = self.store.get(&key).await.context("reading an alert")?
                && let Ok(alert) = serde_json::from_slice::<Alert>(&value)
                && state.is_none_or(|s| s == alert.state)
            {
                out.push(alert);
            }
        }
        out.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Acknowledges an open alert; None when there is no such alert.
    pub async fn acknowledge(&self, id: &str, note: Note) -> Result<Option<Alert>> {
        let after = self
            .change(id, |alert| match alert.state {
                AlertState::Open => {
                    alert.state = AlertState::Acknowledged;
                    alert.acknowledged = Some(note.clone());
                    Ok(true)
                }
                AlertState::Acknowledged => Ok(false),
                AlertState::Resolved => bail!("alert {id} is resolved already"),
            })
            .await?;
        if let Some(alert) = after
            .as_ref()
            .filter(|a| a.acknowledged.as_ref() == Some(&note))
        {
            crate::trace::alert_moved(&self.tenant, alert, "acknowledged", &note).await;
        }
        Ok(after)
    }

    /// Resolves an alert (open or acknowledged); None when there is no such alert. Resolving a resolved one
    /// changes nothing.
    pub async fn resolve(&self, id: &str, note: Note) -> Result<Option<Alert>> {
        let after = self
            .change(id, |alert| {
                if alert.state == AlertState::Resolved {
                    return Ok(false);
                }
                alert.state = AlertState::Resolved;
                alert.resolved = Some(note.clone());
                Ok(true)
            })
            .await?;
        if let Some(alert) = after
            .as_ref()
            .filter(|a| a.resolved.as_ref() == Some(&note))
        {
            crate::trace::alert_moved(&self.tenant, alert, "resolved", &note).await;
        }
        Ok(after)
    }

    async fn change(
        &self,
        id: &str,
        apply: impl Fn(&mut Alert) -> Result<bool>,
    ) -> Result<Option<Alert>> {
        let key = Self::key(id);
        for _ in 0..ATTEMPTS {
            let Some(entry) = self
                .store
                .entry(&key)
                .await
                .context("reading an alert")?
                .filter(|e| e.operation == kv::Operation::Put)
            else {
                return Ok(None);
            };
            let mut alert: Alert = serde_json::from_slice(&entry.value)?;
            if !apply(&mut alert)? {
                return Ok(Some(alert));
            }
            match self
                .store
                .update(&key, serde_json::to_vec(&alert)?.into(), entry.revision)
                .await
            {
                Ok(_) => {
                    tracing::info!(tenant = %self.tenant, alert = %id, state = ?alert.state, "alert changed");
                    return Ok(Some(alert));
                }
                Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(err) => return Err(err).context("changing an alert"),
            }
        }
        bail!("alert {id} was changed by others {ATTEMPTS} times in a row; try again")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alerts_event_is_canonical_json_the_contract_reads() {
        let alert = Alert {
            id: "quarantine:QH-1:L1".into(),
            kind: "quarantine".into(),
            severity: "warning".into(),
            subject: "lot:L1".into(),
            message: "held".into(),
            concerns: json!({"documents": [{"kind": "work-order", "id": "WO-1"}], "items": [], "lots": ["L1"],
                "quantities": [], "locations": []}),
            correlation_id: "c-1".into(),
            raised_at: jiff::Timestamp::from_second(1_718_000_000).expect("instant"),
            state: AlertState::Open,
            acknowledged: None,
            resolved: None,
        };
        let event = alert.event("acme");
        let read: crate::host_api::bindings::millwright::adapter::types::CanonicalEvent =
            crate::canonical::kebab::from_value(&event).expect("canonical");
        assert_eq!(crate::invoke::event_type(&read), "exception");
        assert_eq!(
            event["exception"]["header"]["id"],
            "alert:quarantine:QH-1:L1"
        );
    }
}
