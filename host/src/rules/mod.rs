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
//! changes in acknowledgments ([`orders`]), receipts that differ from their ship notice ([`receipts`]).

pub mod alerts;
mod decimal;
pub mod orders;
pub mod quarantine;
pub mod receipts;
pub mod state;

use anyhow::Result;
use async_nats::jetstream;
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
}

/// A tenant's rules and their state.
pub struct TenantRules {
    rules: Vec<Box<dyn Rule>>,
    /// The state the rules keep, for the verbs that read or decide it.
    pub state: RuleState,
}

impl std::fmt::Debug for TenantRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantRules")
            .field("tenant", &self.state.tenant)
            .field(
                "rules",
                &self.rules.iter().map(|r| r.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Where an input's events go, read once for every rule.
#[derive(Debug, Default)]
pub struct Placement {
    /// Per event, in order: its type.
    types: Vec<&'static str>,
    /// Per event: the event as canonical JSON.
    values: Vec<Value>,
    /// Per event: why it is held back, or None when it is published on `ev`.
    held_back: Vec<Option<HeldBack>>,
}

impl Placement {
    /// Whether event `index` is held back.
    pub fn is_held_back(&self, index: usize) -> bool {
        self.held_back.get(index).is_some_and(Option::is_some)
    }
}

impl TenantRules {
    /// Opens the tenant's rule state, with the rules `settings` turn on.
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
                description: "the business rules' state: lots, open orders, ship notices",
                max_age: std::time::Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        let documents = Documents::new(store);
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
        Ok(Self {
            rules,
            state: RuleState {
                tenant: tenant.clone(),
                lots: Lots::new(tenant.clone(), js.clone(), documents.clone()),
                documents,
                alerts: Alerts::open(js, tenant).await?,
            },
        })
    }

    /// Whether any rule is on.
    pub fn active(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Decides where each event goes; an error makes the input wait.
    pub async fn place(&self, events: &[Event]) -> Result<Placement> {
        let mut placement = Placement::default();
        for event in events {
            let value: Value = serde_json::from_slice(&event.json)?;
            let seen = Seen {
                event_type: event.event_type,
                value: &value,
            };
            let mut held = None;
            for rule in &self.rules {
                if let Some(why) = rule.hold_back(&self.state, &seen).await? {
                    held = Some(why);
                    break;
                }
            }
            placement.types.push(event.event_type);
            placement.values.push(value);
            placement.held_back.push(held);
        }
        Ok(placement)
    }

    /// Once the input's outputs are stored: every rule settles every event (`stored[i]` is event `i`'s stream
    /// sequence and message id). Idempotent.
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
            for rule in &self.rules {
                rule.settle(&self.state, &event).await?;
            }
        }
        Ok(())
    }
}
