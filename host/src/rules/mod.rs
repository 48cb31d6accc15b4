//! Business rules, in the host, on host-owned state: what a plant needs the flow itself to enforce, beside
//! the mappings. Each tenant runs the rules its configuration turns on (`[tenants.<t>.rules]`).
//!
//! Every rule is a [`Rule`]: it sees an inbound route's canonical events in two steps, both between the plugin
//! call and the input's acknowledgment (so a restart or a redelivery loses nothing, and state that cannot be
//! written makes the input wait and come back):
//!
//! 1. [`Rule::hold_back`], before the events are published: whether one must go to `mw.<t>.quarantine.<type>`
//!    instead of `mw.<t>.ev.<type>` (only quarantine says yes);
//! 2. [`Rule::settle`], once every output is stored: the state the event changes, the alerts it raises or
//!    resolves, what it releases. It must be idempotent: a redelivered input settles again.
//!
//! State lives in the tenant's KV bucket `MW_<tenant>_RULES` ([`state`]), so every host of a fleet agrees;
//! alerts in `MW_<tenant>_ALERTS` ([`alerts`]). The rules: quarantine of held lots ([`quarantine`]), order
//! changes in acknowledgments ([`orders`]), receipts that differ from their ship notice ([`receipts`]),
//! consumption beyond a work order's plan ([`consumption`]); items and units compared through the tenant's
//! master data ([`matching`]); acknowledgments and receipts that come late and dead letters left unresolved,
//! on durable timers ([`sla`]).

pub mod alerts;
pub mod consumption;
mod decimal;
pub mod matching;
pub mod orders;
pub mod quarantine;
pub mod receipts;
pub mod settings;
pub mod sla;
pub mod state;

use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use async_nats::jetstream::{self, kv};
use futures::future::BoxFuture;
use serde_json::Value;

use crate::bus::buckets;
use crate::config::RuleSettings;
use crate::invoke::Event;
use crate::names::Tenant;
use alerts::Alerts;
use quarantine::Lots;
use state::Documents;

/// One business rule.
pub trait Rule: Send + Sync {
    /// Its name, as the configuration turns it on and alerts it resolves name it (`rule:<name>`).
    fn name(&self) -> &'static str;

    /// Before the event is published: whether it must be held back, and why. Most rules hold nothing back.
    fn hold_back<'a>(
        &'a self,
        _state: &'a RuleState,
        _event: &'a Seen<'a>,
    ) -> BoxFuture<'a, Result<Option<HeldBack>>> {
        Box::pin(async { Ok(None) })
    }

    /// Once the input's outputs are stored: what the event changes. Idempotent.
    fn settle<'a>(
        &'a self,
        state: &'a RuleState,
        event: &'a Stored<'a>,
    ) -> BoxFuture<'a, Result<()>>;
}

/// An event about to be published.
#[derive(Debug)]
pub struct Seen<'a> {
    /// Its type: `material-consumption`.
    pub event_type: &'static str,
    /// The event, as canonical JSON (`{"material-consumption": {...}}`).
    pub value: &'a Value,
}

/// An event stored.
#[derive(Debug)]
pub struct Stored<'a> {
    /// Its type.
    pub event_type: &'static str,
    /// The event, as canonical JSON.
    pub value: &'a Value,
    /// Its sequence in the stream that stored it (events, or quarantine).
    pub sequence: u64,
    /// Its `Nats-Msg-Id`.
    pub output_id: &'a str,
    /// Why it was held back, when it was.
    pub held_back: Option<&'a HeldBack>,
    /// The flow it belongs to.
    pub correlation_id: &'a str,
}

/// An event held back, and why.
#[derive(Debug, Clone)]
pub struct HeldBack {
    /// The lot number that matched.
    pub lot: String,
    /// Its holds.
    pub holds: Vec<String>,
    /// For the alert: the documents, items, quantities and locations concerned.
    pub concerns: Value,
    /// The work order or movement, for the alert's message.
    pub about: String,
}

/// What the rules share: the tenant's state and alerts.
pub struct RuleState {
    /// The tenant.
    pub tenant: Tenant,
    /// Documents: open orders, ship notices awaiting receipt ...
    pub documents: Documents,
    /// Lots: holds, status and what they hold back.
    pub lots: Lots,
    /// Alerts.
    pub alerts: Alerts,
    /// The tenant's master data (item cross-reference, unit conversions, bill of materials), live.
    pub master_data: matching::Tables,
    /// The service levels' durable timers.
    pub timers: sla::Timers,
}

/// A tenant's rules and their state.
pub struct TenantRules {
    /// The rules running now; swapped whole when the settings change, so one input sees one set.
    active: RwLock<Arc<Active>>,
    /// The file's settings, which the API's replace until deleted.
    file: RuleSettings,
    /// The rule state bucket, where the API's settings are kept too.
    store: kv::Store,
    /// The state the rules keep, for the verbs that read or decide it.
    pub state: RuleState,
}

/// The rules running, and the settings that made them.
struct Active {
    settings: RuleSettings,
    /// Whether the settings came from the API (else the file).
    from_api: bool,
    rules: Vec<Box<dyn Rule>>,
}

impl Active {
    fn new(settings: RuleSettings, from_api: bool) -> Self {
        let mut rules: Vec<Box<dyn Rule>> = Vec::new();
        if settings.quarantine {
            rules.push(Box::new(quarantine::Quarantine));
        }
        if settings.order_change {
            rules.push(Box::new(orders::OrderChange));
        }
        if settings.receipt_discrepancy {
            rules.push(Box::new(receipts::ReceiptDiscrepancy));
        }
        if settings.over_consumption {
            rules.push(Box::new(consumption::OverConsumption {
                tolerance: settings.over_consumption_tolerance,
            }));
        }
        if let Some(window) = settings.ack_overdue {
            rules.push(Box::new(sla::AckOverdue(window)));
        }
        if let Some(grace) = settings.receipt_overdue {
            rules.push(Box::new(sla::ReceiptOverdue(grace)));
        }
        Self {
            settings,
            from_api,
            rules,
        }
    }
}

impl std::fmt::Debug for TenantRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantRules")
            .field("tenant", &self.state.tenant)
            .field("rules", &self.names())
            .finish()
    }
}

/// Where an input's events go, read once for every rule.
pub struct Placement {
    /// The rules that placed them, which settle them too.
    active: Arc<Active>,
    /// Per event, in order: its type.
    types: Vec<&'static str>,
    /// Per event: the event as canonical JSON.
    values: Vec<Value>,
    /// Per event: why it is held back, or None when it is published on `ev`.
    held_back: Vec<Option<HeldBack>>,
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placement")
            .field("types", &self.types)
            .field("held_back", &self.held_back)
            .finish_non_exhaustive()
    }
}

impl Placement {
    /// Whether event `index` is held back.
    pub fn is_held_back(&self, index: usize) -> bool {
        self.held_back.get(index).is_some_and(Option::is_some)
    }
}

/// The settings a tenant runs, and where they come from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RulesInForce {
    /// The settings.
    pub settings: RuleSettings,
    /// `file` (the configuration's `[tenants.<t>.rules]`) or `api` (put through the API, kept in the store).
    pub source: String,
    /// The rules on, by name.
    pub running: Vec<String>,
}

impl TenantRules {
    /// Opens the tenant's rule state, with the rules `file` turns on (or the API's, when it has put some), reading
    /// the tenant's live master data.
    pub async fn open(
        js: &jetstream::Context,
        tenant: &Tenant,
        file: RuleSettings,
        lookups: crate::host_api::lookup::LiveLookups,
    ) -> Result<Self> {
        let name = format!("MW_{tenant}_RULES");
        let store = buckets::key_value(
            js,
            &buckets::Bucket {
                name: &name,
                description: "the business rules' state: lots, open orders, ship notices",
                max_age: std::time::Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        let documents = Documents::new(store.clone());
        let stored = match store
            .get(settings::KEY)
            .await
            .with_context(|| format!("reading {name}/{}", settings::KEY))?
        {
            Some(bytes) => match RuleSettings::from_json(&bytes) {
                Ok(settings) => Some(settings),
                Err(err) => {
                    tracing::error!(%tenant, "{name}/{}: {err}; the file's rules run until they are put again through the API", settings::KEY);
                    None
                }
            },
            None => None,
        };
        let active = match stored {
            Some(settings) => Active::new(settings, true),
            None => Active::new(file.clone(), false),
        };
        Ok(Self {
            active: RwLock::new(Arc::new(active)),
            file,
            store,
            state: RuleState {
                tenant: tenant.clone(),
                lots: Lots::new(tenant.clone(), js.clone(), documents.clone()),
                documents,
                alerts: Alerts::open(js, tenant).await?,
                master_data: matching::Tables::new(lookups),
                timers: sla::Timers::open(js, tenant).await?,
            },
        })
    }

    fn current(&self) -> Arc<Active> {
        self.active
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The names of the rules running.
    pub fn names(&self) -> Vec<&'static str> {
        self.current().rules.iter().map(|r| r.name()).collect()
    }

    /// The settings in force, and where they come from.
    pub fn in_force(&self) -> RulesInForce {
        let active = self.current();
        RulesInForce {
            settings: active.settings.clone(),
            source: if active.from_api { "api" } else { "file" }.to_string(),
            running: active.rules.iter().map(|r| r.name().to_string()).collect(),
        }
    }

    /// Keeps `settings` in the store for every host (each swaps to them as it sees the change, this one at once).
    pub async fn put_settings(&self, settings: RuleSettings) -> Result<RulesInForce> {
        let bytes = serde_json::to_vec(&settings)?;
        self.store
            .put(settings::KEY, bytes.into())
            .await
            .context("keeping the rule settings")?;
        self.apply(Some(settings));
        Ok(self.in_force())
    }

    /// Deletes the API's settings: every host goes back to its file's.
    pub async fn delete_settings(&self) -> Result<RulesInForce> {
        self.store
            .delete(settings::KEY)
            .await
            .context("deleting the rule settings")?;
        self.apply(None);
        Ok(self.in_force())
    }

    /// Runs `settings` (the API's), or the file's when None.
    fn apply(&self, settings: Option<RuleSettings>) {
        let active = match settings {
            Some(settings) => Active::new(settings, true),
            None => Active::new(self.file.clone(), false),
        };
        let mut current = self
            .active
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.settings != active.settings || current.from_api != active.from_api {
            tracing::info!(tenant = %self.state.tenant, rules = ?active.rules.iter().map(|r| r.name()).collect::<Vec<_>>(), source = if active.from_api { "api" } else { "file" }, "the tenant's rules changed");
            *current = Arc::new(active);
        }
    }

    /// Follows the API's settings in the store until `stop`, swapping this host's rules as they change.
    pub async fn follow(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        use futures::StreamExt as _;
        loop {
            let mut watch = match self.store.watch(settings::KEY).await {
                Ok(watch) => watch,
                Err(err) => {
                    tracing::warn!(tenant = %self.state.tenant, "watching the rule settings: {err}; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            loop {
                tokio::select! {
                    entry = watch.next() => match entry {
                        Some(Ok(entry)) => match entry.operation {
                            kv::Operation::Put => match RuleSettings::from_json(&entry.value) {
                                Ok(settings) => self.apply(Some(settings)),
                                Err(err) => tracing::error!(tenant = %self.state.tenant, "{err}; this host keeps the rules it runs"),
                            },
                            kv::Operation::Delete | kv::Operation::Purge => self.apply(None),
                        },
                        Some(Err(err)) => {
                            tracing::warn!(tenant = %self.state.tenant, "the rule settings' watch failed: {err}; watching again");
                            break;
                        }
                        None => break,
                    },
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Decides where each event goes, or None when no rule runs; an error makes the input wait.
    pub async fn place(&self, events: &[Event]) -> Result<Option<Placement>> {
        let active = self.current();
        if active.rules.is_empty() {
            return Ok(None);
        }
        let mut placement = Placement {
            active: active.clone(),
            types: Vec::with_capacity(events.len()),
            values: Vec::with_capacity(events.len()),
            held_back: Vec::with_capacity(events.len()),
        };
        for event in events {
            let value: Value = serde_json::from_slice(&event.json)?;
            let seen = Seen {
                event_type: event.event_type,
                value: &value,
            };
            let mut held = None;
            for rule in &active.rules {
                if let Some(why) = rule.hold_back(&self.state, &seen).await? {
                    held = Some(why);
                    break;
                }
            }
            placement.types.push(event.event_type);
            placement.values.push(value);
            placement.held_back.push(held);
        }
        Ok(Some(placement))
    }

    /// Once the input's outputs are stored: every rule that placed them settles every event (`stored[i]` is
    /// event `i`'s stream sequence and message id). Idempotent.
    pub async fn settle(
        &self,
        placement: &Placement,
        stored: &[(u64, String)],
        correlation_id: &str,
    ) -> Result<()> {
        for (((event_type, value), held), (sequence, output_id)) in placement
            .types
            .iter()
            .zip(&placement.values)
            .zip(&placement.held_back)
            .zip(stored)
        {
            let event = Stored {
                event_type,
                value,
                sequence: *sequence,
                output_id,
                held_back: held.as_ref(),
                correlation_id,
            };
            for rule in &placement.active.rules {
                rule.settle(&self.state, &event).await?;
            }
        }
        Ok(())
    }
}
