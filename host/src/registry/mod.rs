//! The plugin registry: every uploaded version of every tenant's slots, which one is active, and what came before.
//!
//! An upload ends here once [`crate::plugin::Plugin::load`] has validated it and its signature was checked
//! ([`signature::verify`]): [`Registry::add_version`] stores the bytes by sha256 and a [`VersionMeta`] row for the
//! slot. Activation and rollback move the slot's active pointer with a compare-and-set on its [`SlotState`], so
//! two admins (or two hosts) switching one slot at once both land, in some order, and nothing is lost. Route
//! workers learn about a switch from [`Registry::watch`] and load the new version for every later message; a
//! message already running finishes on the version it started with.
//!
//! Storage sits behind [`Backend`]: a local directory for one machine ([`dir::DirBackend`]), JetStream KV and
//! Object Store for a fleet ([`jetstream::JsBackend`]), where every host watches the same keys and switches on
//! the same event. Every name that reaches a backend — tenant, slot, route, sha256 — is one of the checked types
//! of [`crate::names`], so nothing taken from a request can become a path or a key it was not meant to be; names
//! read back from storage are checked again before they are trusted.

pub mod dir;
pub mod jetstream;
mod model;
pub mod signature;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use thiserror::Error;

use crate::names::{NameError, RouteName, Sha256, Slot, Tenant};
pub use model::{
    Activation, ActivationKind, Change, HISTORY_LIMIT, SignatureStatus, SlotState, VersionMeta,
};

/// How often an activation or rollback re-reads the slot and tries again after losing a race.
const CAS_ATTEMPTS: usize = 32;

/// Why a registry call did nothing. Callers branch on it; [`RegistryError::code`] is the stable name the admin
/// API reports.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// A tenant, slot, route name or sha256 that is not allowed; nothing was read or written.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// The thing asked for does not exist.
    #[error("{what} {name} was not found")]
    NotFound {
        /// What was looked for: `version`, `route`, ...
        what: &'static str,
        /// Which one, e.g. `acme/supplier-856@<sha256>`.
        name: String,
    },
    /// A version string that more than one upload in the slot carries.
    #[error(
        "{tenant}/{slot} has {} uploads with version {version} ({}); activate one by its sha256",
        candidates.len(),
        candidates.iter().map(Sha256::as_str).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// The tenant.
        tenant: Tenant,
        /// The slot.
        slot: Slot,
        /// The version string asked for.
        version: String,
        /// The sha256 of every upload that carries it.
        candidates: Vec<Sha256>,
    },
    /// Deleting the version a slot is running.
    #[error(
        "{sha256} is the active version of {tenant}/{slot}; activate another version or roll back first"
    )]
    ActiveVersion {
        /// The tenant.
        tenant: Tenant,
        /// The slot.
        slot: Slot,
        /// The active version.
        sha256: Sha256,
    },
    /// A rollback with no earlier version to go back to.
    #[error("{tenant}/{slot} has no earlier version to roll back to")]
    NothingToRollBack {
        /// The tenant.
        tenant: Tenant,
        /// The slot.
        slot: Slot,
    },
    /// A compare-and-set lost a race: someone else changed it first. [`Registry`] retries these itself.
    #[error("{what} was changed by someone else at the same time; try again")]
    Conflict {
        /// What was being changed, e.g. `slot acme/supplier-856`.
        what: String,
    },
    /// Uploaded bytes whose sha256 is not the one their metadata names.
    #[error("the upload's bytes have sha256 {actual}, but its metadata says {expected}")]
    DigestMismatch {
        /// The sha256 in the metadata.
        expected: Sha256,
        /// The sha256 of the bytes.
        actual: Sha256,
    },
    /// The storage underneath failed (disk, NATS); the message says what was being done.
    #[error("registry storage: {0:#}")]
    Storage(anyhow::Error),
}

impl RegistryError {
    /// The stable snake_case name of the error, for API responses and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::InvalidName(_) => "invalid_name",
            RegistryError::NotFound { .. } => "not_found",
            RegistryError::Ambiguous { .. } => "ambiguous_version",
            RegistryError::ActiveVersion { .. } => "active_version",
            RegistryError::NothingToRollBack { .. } => "nothing_to_roll_back",
            RegistryError::Conflict { .. } => "conflict",
            RegistryError::DigestMismatch { .. } => "digest_mismatch",
            RegistryError::Storage(_) => "storage",
        }
    }

    /// The HTTP status the admin API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            RegistryError::InvalidName(_) | RegistryError::DigestMismatch { .. } => 400,
            RegistryError::NotFound { .. } => 404,
            RegistryError::Ambiguous { .. }
            | RegistryError::ActiveVersion { .. }
            | RegistryError::NothingToRollBack { .. }
            | RegistryError::Conflict { .. } => 409,
            RegistryError::Storage(_) => 503,
        }
    }

    /// A storage failure, with what was being done.
    pub(crate) fn storage(doing: impl fmt::Display, err: impl Into<anyhow::Error>) -> Self {
        RegistryError::Storage(err.into().context(doing.to_string()))
    }
}

/// Where the registry keeps artifacts, version rows, active pointers and routes.
///
/// The names it is given are checked already (they are [`crate::names`] types); names it reads back from
/// storage it checks, skipping what it did not write. Writes are atomic: a reader sees the old value or the new
/// one, never half of one. Listings come in no particular order.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Stores an artifact under its sha256. Storing one that is already there is a no-op. The caller has checked
    /// that `sha256` is the digest of `bytes`.
    async fn put_artifact(&self, sha256: &Sha256, bytes: Bytes) -> Result<(), RegistryError>;

    /// The artifact's bytes, if stored.
    async fn artifact(&self, sha256: &Sha256) -> Result<Option<Bytes>, RegistryError>;

    /// Removes an artifact; removing one that is not there is a no-op.
    async fn delete_artifact(&self, sha256: &Sha256) -> Result<(), RegistryError>;

    /// Stores a version row, replacing one with the same tenant, slot and sha256.
    async fn put_version(&self, meta: &VersionMeta) -> Result<(), RegistryError>;

    /// One version row, if there is one.
    async fn version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<Option<VersionMeta>, RegistryError>;

    /// The tenant's version rows, of one slot or of all of them.
    async fn versions(
        &self,
        tenant: &Tenant,
        slot: Option<&Slot>,
    ) -> Result<Vec<VersionMeta>, RegistryError>;

    /// Every `(tenant, slot)` with a version row for this sha256, across all tenants.
    async fn artifact_users(&self, sha256: &Sha256) -> Result<Vec<(Tenant, Slot)>, RegistryError>;

    /// Removes a version row; [`RegistryError::NotFound`] if there is none.
    async fn delete_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<(), RegistryError>;

    /// A slot's state and its revision, the token [`Backend::put_slot`] compares against.
    async fn slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
    ) -> Result<Option<(SlotState, u64)>, RegistryError>;

    /// Compare-and-set: stores `state` if the slot is still at revision `expected` (`None`: the slot must not
    /// exist yet) and returns the new revision. A lost race is [`RegistryError::Conflict`] and changes nothing.
    async fn put_slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        state: &SlotState,
        expected: Option<u64>,
    ) -> Result<u64, RegistryError>;

    /// Every slot with a state, of one tenant or of all: `(tenant, slot, state)`.
    async fn slots(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, Slot, SlotState)>, RegistryError>;

    /// Stores a route, replacing one of the same name.
    async fn put_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        route: &serde_json::Value,
    ) -> Result<(), RegistryError>;

    /// Removes a route; [`RegistryError::NotFound`] if there is none.
    async fn delete_route(&self, tenant: &Tenant, name: &RouteName) -> Result<(), RegistryError>;

    /// Every route, of one tenant or of all: `(tenant, name, route)`.
    async fn routes(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, RouteName, serde_json::Value)>, RegistryError>;

    /// Every change to slots and routes made after this call returns, in the order they were stored (JetStream:
    /// from any host; a directory: made through this process). The stream ends when it can no longer promise to
    /// deliver every change (a watcher fell too far behind, the connection was lost for good); the caller then
    /// re-reads the state and watches again.
    async fn watch(&self) -> Result<BoxStream<'static, Change>, RegistryError>;
}

/// The registry as the admin API and the route workers use it: versions, activation, rollback, routes.
#[derive(Clone)]
pub struct Registry {
    backend: Arc<dyn Backend>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// Stores an uploaded version: its bytes by sha256, then its row in the slot. Uploading bytes the slot
    /// already has changes nothing and returns the row stored the first time. `meta.size` is set from the bytes;
    /// `meta.sha256` must be their digest.
    pub async fn add_version(
        &self,
        mut meta: VersionMeta,
        bytes: Bytes,
    ) -> Result<VersionMeta, RegistryError> {
        let actual = digest(bytes.clone()).await?;
        if actual != meta.sha256 {
            return Err(RegistryError::DigestMismatch {
                expected: meta.sha256,
                actual,
            });
        }
        meta.size = bytes.len() as u64;
        // The artifact goes first, so that a row never names bytes that are not stored. It is put even when the
        // row exists: a re-upload restores an artifact lost to a delete that raced an upload.
        self.backend.put_artifact(&meta.sha256, bytes).await?;
        if let Some(existing) = self
            .backend
            .version(&meta.tenant, &meta.slot, &meta.sha256)
            .await?
        {
            return Ok(existing);
        }
        self.backend.put_version(&meta).await?;
        Ok(meta)
    }

    /// One version of a slot.
    pub async fn version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<Option<VersionMeta>, RegistryError> {
        self.backend.version(tenant, slot, sha256).await
    }

    /// A tenant's versions, of one slot or all, oldest upload first.
    pub async fn versions(
        &self,
        tenant: &Tenant,
        slot: Option<&Slot>,
    ) -> Result<Vec<VersionMeta>, RegistryError> {
        let mut versions = self.backend.versions(tenant, slot).await?;
        versions.sort_by(|a, b| {
            (&a.slot, a.uploaded_at, &a.sha256).cmp(&(&b.slot, b.uploaded_at, &b.sha256))
        });
        Ok(versions)
    }

    /// Makes the version with this sha256 the slot's active one and returns the slot's new state. The version
    /// must have been uploaded to this slot. Activating the version that is already active changes nothing.
    pub async fn activate(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
        by: &str,
    ) -> Result<SlotState, RegistryError> {
        self.switch(tenant, slot, |current| async move {
            if current.active.as_deref() == Some(sha256) {
                return Ok(None);
            }
            let meta = self.require_version(tenant, slot, sha256).await?;
            let mut next = current;
            next.record(Activation {
                sha256: meta.sha256,
                version: meta.version,
                at: jiff::Timestamp::now(),
                by: by.to_string(),
                action: ActivationKind::Activate,
            });
            Ok(Some(next))
        })
        .await
    }

    /// Makes the slot's upload with this version string active. More than one upload with that version is
    /// [`RegistryError::Ambiguous`], listing their sha256s.
    pub async fn activate_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        version: &str,
        by: &str,
    ) -> Result<SlotState, RegistryError> {
        let mut candidates: Vec<Sha256> = self
            .backend
            .versions(tenant, Some(slot))
            .await?
            .into_iter()
            .filter(|meta| meta.version == version)
            .map(|meta| meta.sha256)
            .collect();
        candidates.sort();
        match candidates.as_slice() {
            [] => Err(RegistryError::NotFound {
                what: "version",
                name: format!("{tenant}/{slot}@{version}"),
            }),
            [sha256] => self.activate(tenant, slot, sha256, by).await,
            _ => Err(RegistryError::Ambiguous {
                tenant: tenant.clone(),
                slot: slot.clone(),
                version: version.to_string(),
                candidates,
            }),
        }
    }

    /// Goes back to the version that was active before the current one. Like undo, a second rollback goes one
    /// further back: after activating v1, v2 and v3, rollbacks give v2, then v1, then
    /// [`RegistryError::NothingToRollBack`]. Versions deleted since are skipped.
    pub async fn rollback(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        by: &str,
    ) -> Result<SlotState, RegistryError> {
        self.switch(tenant, slot, |current| async move {
            let mut stack = current.undo_stack();
            stack.pop();
            while let Some(sha256) = stack.pop() {
                let Some(meta) = self.backend.version(tenant, slot, sha256).await? else {
                    continue;
                };
                let mut next = current.clone();
                next.record(Activation {
                    sha256: meta.sha256,
                    version: meta.version,
                    at: jiff::Timestamp::now(),
                    by: by.to_string(),
                    action: ActivationKind::Rollback,
                });
                return Ok(Some(next));
            }
            Err(RegistryError::NothingToRollBack {
                tenant: tenant.clone(),
                slot: slot.clone(),
            })
        })
        .await
    }

    /// Deletes a version of a slot, and its artifact once no slot of any tenant has a row for those bytes. The
    /// active version cannot be deleted ([`RegistryError::ActiveVersion`]).
    pub async fn delete_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<(), RegistryError> {
        let meta = self.require_version(tenant, slot, sha256).await?;
        let current = self.backend.slot(tenant, slot).await?;
        let (state, revision) = match current {
            Some((state, revision)) => (state, Some(revision)),
            None => (SlotState::default(), None),
        };
        if state.active.as_deref() == Some(sha256) {
            return Err(active_version(tenant, slot, sha256));
        }
        self.backend.delete_version(tenant, slot, sha256).await?;
        // An activation of this very version may have read the row before it went. Storing the slot unchanged
        // bumps its revision: either that activation's compare-and-set fails and it finds the row gone, or this
        // one fails and the version turns out active — then the row is put back and the delete refused.
        if let Err(err) = self
            .bump_unless_active(tenant, slot, sha256, state, revision)
            .await
        {
            if let Err(restore) = self.backend.put_version(&meta).await {
                tracing::error!(%tenant, %slot, %sha256, error = %restore, "could not restore a version row after a refused delete");
            }
            return Err(err);
        }
        if self.backend.artifact_users(sha256).await?.is_empty() {
            self.backend.delete_artifact(sha256).await?;
        }
        Ok(())
    }

    /// The slot's active version, if one was activated.
    pub async fn active(
        &self,
        tenant: &Tenant,
        slot: &Slot,
    ) -> Result<Option<VersionMeta>, RegistryError> {
        let Some((state, _)) = self.backend.slot(tenant, slot).await? else {
            return Ok(None);
        };
        let Some(sha256) = state.active else {
            return Ok(None);
        };
        self.require_version(tenant, slot, &sha256).await.map(Some)
    }

    /// A slot's state: the active pointer and its history.
    pub async fn slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
    ) -> Result<Option<SlotState>, RegistryError> {
        Ok(self
            .backend
            .slot(tenant, slot)
            .await?
            .map(|(state, _)| state))
    }

    /// Every slot with a state, of one tenant or all: `(tenant, slot, state)`, sorted by tenant and slot.
    pub async fn slots(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, Slot, SlotState)>, RegistryError> {
        let mut slots = self.backend.slots(tenant).await?;
        slots.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(slots)
    }

    /// The component's bytes, checked against their sha256; [`RegistryError::NotFound`] if not stored.
    pub async fn artifact(&self, sha256: &Sha256) -> Result<Bytes, RegistryError> {
        let Some(bytes) = self.backend.artifact(sha256).await? else {
            return Err(RegistryError::NotFound {
                what: "artifact",
                name: sha256.to_string(),
            });
        };
        let actual = digest(bytes.clone()).await?;
        if actual != *sha256 {
            return Err(RegistryError::Storage(anyhow::anyhow!(
                "the stored artifact {sha256} is damaged: its bytes have sha256 {actual}"
            )));
        }
        Ok(bytes)
    }

    /// Stores a route, replacing one of the same name.
    pub async fn put_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        route: &serde_json::Value,
    ) -> Result<(), RegistryError> {
        self.backend.put_route(tenant, name, route).await
    }

    /// Deletes a route; [`RegistryError::NotFound`] if there is none.
    pub async fn delete_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
    ) -> Result<(), RegistryError> {
        self.backend.delete_route(tenant, name).await
    }

    /// Every route, of one tenant or all: `(tenant, name, route)`, sorted by tenant and name.
    pub async fn routes(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, RouteName, serde_json::Value)>, RegistryError> {
        let mut routes = self.backend.routes(tenant).await?;
        routes.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(routes)
    }

    /// Every later change to slots and routes; see [`Backend::watch`] for when the stream ends.
    pub async fn watch(&self) -> Result<BoxStream<'static, Change>, RegistryError> {
        self.backend.watch().await
    }

    /// Stores the slot's state unchanged, re-reading it after every lost race, unless `sha256` has become its
    /// active version.
    async fn bump_unless_active(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
        mut state: SlotState,
        mut revision: Option<u64>,
    ) -> Result<(), RegistryError> {
        for _ in 0..CAS_ATTEMPTS {
            if state.active.as_deref() == Some(sha256) {
                return Err(active_version(tenant, slot, sha256));
            }
            match self.backend.put_slot(tenant, slot, &state, revision).await {
                Ok(_) => return Ok(()),
                Err(RegistryError::Conflict { .. }) => {
                    (state, revision) = match self.backend.slot(tenant, slot).await? {
                        Some((state, revision)) => (state, Some(revision)),
                        None => (SlotState::default(), None),
                    };
                }
                Err(err) => return Err(err),
            }
        }
        Err(RegistryError::Conflict {
            what: format!("slot {tenant}/{slot}"),
        })
    }

    async fn require_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<VersionMeta, RegistryError> {
        self.backend
            .version(tenant, slot, sha256)
            .await?
            .ok_or_else(|| RegistryError::NotFound {
                what: "version",
                name: format!("{tenant}/{slot}@{sha256}"),
            })
    }

    /// The compare-and-set loop behind activation and rollback: reads the slot, asks `next` for its new state
    /// (`None`: leave it as it is), and stores that only if nobody changed the slot in between; on a lost race,
    /// reads again. `next` runs again on every attempt, so its checks see the state it builds on.
    async fn switch<'a, F, Fut>(
        &'a self,
        tenant: &'a Tenant,
        slot: &'a Slot,
        next: F,
    ) -> Result<SlotState, RegistryError>
    where
        F: Fn(SlotState) -> Fut,
        Fut: Future<Output = Result<Option<SlotState>, RegistryError>> + 'a,
    {
        for _ in 0..CAS_ATTEMPTS {
            let (current, revision) = match self.backend.slot(tenant, slot).await? {
                Some((state, revision)) => (state, Some(revision)),
                None => (SlotState::default(), None),
            };
            let Some(state) = next(current.clone()).await? else {
                return Ok(current);
            };
            match self.backend.put_slot(tenant, slot, &state, revision).await {
                Ok(_) => return Ok(state),
                Err(RegistryError::Conflict { .. }) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(RegistryError::Conflict {
            what: format!("slot {tenant}/{slot}"),
        })
    }
}

fn active_version(tenant: &Tenant, slot: &Slot, sha256: &Sha256) -> RegistryError {
    RegistryError::ActiveVersion {
        tenant: tenant.clone(),
        slot: slot.clone(),
        sha256: sha256.clone(),
    }
}

/// Hashes off the async threads: a component can be tens of megabytes.
async fn digest(bytes: Bytes) -> Result<Sha256, RegistryError> {
    tokio::task::spawn_blocking(move || Sha256::of(&bytes))
        .await
        .map_err(|err| RegistryError::storage("hashing an artifact", err))
}
