//! What the registry holds: a version's record, a slot's active pointer with its history, and the changes a
//! watcher is told of.

use serde::{Deserialize, Serialize};

use crate::names::{RouteName, Sha256, Slot, Tenant};

/// How many activations and rollbacks a slot remembers; rollback cannot go back further than this.
pub const HISTORY_LIMIT: usize = 100;

/// One uploaded version of a plugin in one tenant's slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMeta {
    /// The tenant that owns the slot.
    pub tenant: Tenant,
    /// The slot the version was uploaded to (a route names its slot).
    pub slot: Slot,
    /// The sha256 of the component's bytes; also the artifact's name.
    pub sha256: Sha256,
    /// The plugin's own name, from `describe`.
    pub name: String,
    /// The plugin's own version, a semver string from `describe`.
    pub version: String,
    /// `inbound-mapper` or `outbound-mapper`.
    pub world: String,
    /// The contract version it was built against, e.g. `0.1.0`.
    pub contract: String,
    /// Its size in bytes.
    pub size: u64,
    /// Who uploaded it (a token's name).
    pub uploaded_by: String,
    /// When it was uploaded.
    pub uploaded_at: jiff::Timestamp,
    /// Whether a partner key vouched for it.
    pub signature: SignatureStatus,
}

/// What the signature check said about a version when it was uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SignatureStatus {
    /// Uploaded without a signature, to a tenant that does not require one.
    Unsigned,
    /// Signed, and the signature verified with the named partner key.
    Verified {
        /// The name of the tenant's key that verified it.
        key: String,
    },
}

/// Whether a switch of the active pointer moved forward or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationKind {
    /// A version was chosen by sha256 or version.
    Activate,
    /// The previous version came back.
    Rollback,
}

/// One switch of a slot's active pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// The version that became active.
    pub sha256: Sha256,
    /// Its semver string, for people reading the history.
    pub version: String,
    /// When.
    pub at: jiff::Timestamp,
    /// Who.
    pub by: String,
    /// Forward or back.
    pub action: ActivationKind,
}

/// A slot's active pointer and how it got there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotState {
    /// The sha256 of the active version; `None` before the first activation.
    pub active: Option<Sha256>,
    /// Activations and rollbacks, oldest first, at most [`HISTORY_LIMIT`].
    #[serde(default)]
    pub history: Vec<Activation>,
}

impl SlotState {
    /// The versions a rollback steps back through, most recent last: the history replayed as an undo stack,
    /// where an activation pushes and a rollback pops back to the version it names. Its last entry is the
    /// active version.
    pub(super) fn undo_stack(&self) -> Vec<&Sha256> {
        let mut stack: Vec<&Sha256> = Vec::new();
        for entry in &self.history {
            match entry.action {
                ActivationKind::Activate => stack.push(&entry.sha256),
                ActivationKind::Rollback => {
                    stack.pop();
                    // A rollback skips versions deleted since they were active, so it may pop more than one.
                    while stack.last().is_some_and(|top| **top != entry.sha256) {
                        stack.pop();
                    }
                    // The entries that led here fell off the front of a full history: start again from here.
                    if stack.is_empty() {
                        stack.push(&entry.sha256);
                    }
                }
            }
        }
        stack
    }

    pub(super) fn record(&mut self, entry: Activation) {
        self.active = Some(entry.sha256.clone());
        self.history.push(entry);
        if self.history.len() > HISTORY_LIMIT {
            let excess = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..excess);
        }
    }
}

/// A change to a slot or a route, as [`Backend::watch`] reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    /// A slot's active pointer or history changed.
    Slot {
        /// The tenant.
        tenant: Tenant,
        /// The slot.
        slot: Slot,
        /// Its new state.
        state: SlotState,
    },
    /// A version was uploaded (hosts compile it ahead of its activation).
    Version {
        /// What the registry holds about it.
        meta: VersionMeta,
    },
    /// A route was stored or deleted.
    Route {
        /// The tenant.
        tenant: Tenant,
        /// The route's name.
        name: RouteName,
        /// The route as stored; `None` when it was deleted.
        route: Option<serde_json::Value>,
    },
}
