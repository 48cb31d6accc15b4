//! Slots as verbs: what a slot holds, uploading a version, activating one, rolling back, deleting one.
//!
//! An upload is checked before anything is kept: its signature against the tenant's partner keys, then its
//! bytes — a component of a contract this host serves, of the world the slot's routes need, that describes
//! itself — compiled once (cached by sha256). Only then is it stored, shadow-run beside the active version, and
//! activated if asked. An activation moves the slot's active pointer in the registry (a compare-and-set, so
//! every host switches on the same change) and answers once this host's routes on the slot serve it.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::shadow::{self, ShadowReport};
use super::{ErrorKind, Service, ServiceError, version_meta};
use crate::names::{RouteName, Sha256, Slot, Tenant};
use crate::pipeline::breaker::Suspension;
use crate::pipeline::routes::RouteStatus;
use crate::plugin::World;
use crate::registry::{SlotState, VersionMeta, signature};
use crate::versions::Needed;

/// How long an activation waits for this host's routes to switch before it answers.
const SWITCH_WAIT: Duration = Duration::from_secs(10);

/// A slot: its state, its versions, and what this host's routes serve from it.
#[derive(Debug, Clone)]
pub struct SlotReport {
    /// The tenant.
    pub tenant: Tenant,
    /// The slot.
    pub slot: Slot,
    /// The active pointer and its history.
    pub state: SlotState,
    /// Every version, oldest upload first.
    pub versions: Vec<VersionMeta>,
    /// The routes on this host that run the slot.
    pub serving: Vec<RouteStatus>,
    /// The slot's suspension on this host, while its circuit breaker holds it suspended.
    pub suspension: Option<Suspension>,
}

/// An upload.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The tenant.
    pub tenant: Tenant,
    /// The slot.
    pub slot: Slot,
    /// The file name it came with, for messages.
    pub file_name: String,
    /// The component.
    pub bytes: Bytes,
    /// Sample inputs for the shadow run, with their file names.
    pub fixtures: Vec<(String, Bytes)>,
    /// The base64 ed25519 signature of the component, if sent.
    pub signature: Option<String>,
    /// Who uploads it.
    pub by: String,
    /// Activate it once stored (and shadow-run).
    pub activate: bool,
    /// Run it beside the active version first.
    pub shadow: bool,
    /// How many of the slot's most recent inputs the shadow run takes.
    pub recent: usize,
}

/// What an upload did.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// The version stored (or the one stored before, for the same bytes).
    pub meta: VersionMeta,
    /// False when the slot already had these bytes.
    pub created: bool,
    /// Time spent validating and compiling.
    pub compile: Duration,
    /// The shadow run's report, when one ran.
    pub shadow: Option<ShadowReport>,
    /// The activation, when asked for.
    pub activation: Option<Activated>,
}

/// Which version to make active.
#[derive(Debug, Clone)]
pub enum Which {
    /// The version with this sha256.
    Sha(Sha256),
    /// The one upload with this version string.
    Version(String),
    /// The version active before the current one.
    Back,
}

/// What an activation or rollback did.
#[derive(Debug, Clone)]
pub struct Activated {
    /// The version now active.
    pub meta: VersionMeta,
    /// The routes on this host serving it when the answer was sent.
    pub serving: Vec<RouteName>,
    /// The routes on this host that run the slot but had not switched within 10 s (see the host's log).
    pub not_switched: Vec<RouteName>,
    /// From the request to this host's routes serving the version.
    pub elapsed: Duration,
}

impl Service {
    /// One slot: versions, the active one, history, and what this host's routes serve. A slot with neither
    /// versions nor routes does not exist.
    pub async fn slot(&self, tenant: &Tenant, slot: &Slot) -> Result<SlotReport, ServiceError> {
        self.tenant(tenant)?;
        let state = self.registry.slot(tenant, slot).await?.unwrap_or_default();
        let versions = self.registry.versions(tenant, Some(slot)).await?;
        let serving: Vec<RouteStatus> = self
            .routes
            .status()
            .await
            .into_iter()
            .filter(|r| r.tenant == *tenant && r.slot.as_ref() == Some(slot))
            .collect();
        if versions.is_empty() && serving.is_empty() {
            return Err(ServiceError::not_found(
                "slot_not_found",
                format!(
                    "tenant {tenant} has no slot {:?}: upload a version to create it",
                    slot.as_str()
                ),
            ));
        }
        let suspension = self
            .routes
            .breakers()
            .get(tenant, slot)
            .and_then(|breaker| breaker.suspension());
        Ok(SlotReport {
            tenant: tenant.clone(),
            slot: slot.clone(),
            state,
            versions,
            serving,
            suspension,
        })
    }

    /// Lifts the slot's suspension on this host, by an admin's word: its routes take their messages again at
    /// once. A slot that is not suspended here is a conflict, and nothing changes.
    pub async fn resume(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        by: &str,
    ) -> Result<SlotReport, ServiceError> {
        let report = self.slot(tenant, slot).await?;
        let resumed = self
            .routes
            .breakers()
            .get(tenant, slot)
            .is_some_and(|breaker| breaker.resume(by));
        if !resumed {
            return Err(ServiceError::conflict(
                "not_suspended",
                format!("slot {slot} of tenant {tenant} is not suspended on this host"),
            ));
        }
        Ok(SlotReport {
            suspension: None,
            ..report
        })
    }

    /// The tenant's slots: those with versions and those its routes run.
    pub async fn slots(&self, tenant: &Tenant) -> Result<Vec<SlotReport>, ServiceError> {
        self.tenant(tenant)?;
        let mut slots: Vec<Slot> = self
            .registry
            .versions(tenant, None)
            .await?
            .into_iter()
            .map(|v| v.slot)
            .chain(
                self.routes
                    .status()
                    .await
                    .into_iter()
                    .filter(|r| r.tenant == *tenant)
                    .filter_map(|r| r.slot),
            )
            .collect();
        slots.sort();
        slots.dedup();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            out.push(self.slot(tenant, &slot).await?);
        }
        Ok(out)
    }

    /// Checks, compiles, stores, shadow-runs and (when asked) activates an uploaded version.
    pub async fn upload(&self, upload: Upload) -> Result<Uploaded, ServiceError> {
        let started = Instant::now();
        let tenant_config = self.tenant(&upload.tenant)?;
        let (tenant, slot) = (&upload.tenant, &upload.slot);
        let quotas = &tenant_config.quotas;
        if upload.bytes.len() > quotas.plugin_bytes {
            return Err(ServiceError::new(
                ErrorKind::TooLarge,
                "over_quota",
                format!(
                    "the plugin is {} bytes, over tenant {tenant}'s quota of {} MiB (quotas.plugin_size_mb)",
                    upload.bytes.len(),
                    quotas.plugin_bytes >> 20
                ),
            ));
        }
        let signature = signature::verify(
            &upload.bytes,
            upload.signature.as_deref(),
            &tenant_config.signing_keys,
            tenant_config.require_signatures,
        )
        .map_err(|err| ServiceError::new(ErrorKind::Forbidden, err.code(), err.to_string()))?;
        // The world is checked before the plugin is kept, so a refused upload leaves nothing compiled behind.
        let needed = self.needed_world(tenant, slot).await?;
        let compiling = Instant::now();
        let compiled = self
            .versions
            .compile(
                &upload.file_name,
                upload.bytes.clone(),
                tenant,
                slot,
                needed.as_ref(),
            )
            .await?;
        let compile = compiling.elapsed();
        let existed = self
            .registry
            .version(tenant, slot, &compiled.sha256)
            .await?
            .is_some();
        if !existed {
            let kept = self.registry.versions(tenant, Some(slot)).await?.len();
            if kept >= quotas.versions_per_slot {
                return Err(ServiceError::conflict(
                    "over_quota",
                    format!(
                        "{tenant}/{slot} keeps {kept} versions, tenant {tenant}'s quota (quotas.versions_per_slot); delete an old one first (DELETE /v1/tenants/{tenant}/plugins/{slot}/versions/<sha256>)"
                    ),
                ));
            }
        }
        let meta = version_meta(tenant, slot, &compiled, &upload.by, signature);
        let meta = self.registry.add_version(meta, upload.bytes).await?;
        tracing::info!(%tenant, %slot, version = %meta.version, sha256 = %meta.sha256, "version uploaded");
        let active = self.registry.active(tenant, slot).await?;
        let shadow = if upload.shadow && (active.is_some() || !upload.fixtures.is_empty()) {
            Some(
                shadow::run(
                    self,
                    tenant,
                    slot,
                    &compiled,
                    active.as_ref(),
                    upload.fixtures,
                    upload.recent.min(500),
                )
                .await?,
            )
        } else {
            None
        };
        let activation = if upload.activate {
            Some(
                self.activate(
                    tenant,
                    slot,
                    Which::Sha(meta.sha256.clone()),
                    &upload.by,
                    started,
                )
                .await?,
            )
        } else {
            None
        };
        Ok(Uploaded {
            meta,
            created: !existed,
            compile,
            shadow,
            activation,
        })
    }

    /// Moves the slot's active pointer — to a version by sha256 or version string, or back — and waits (up to
    /// 10 s) until this host's routes on the slot serve it. Every host switches on the same registry change;
    /// messages in flight finish on the version they started with.
    pub async fn activate(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        which: Which,
        by: &str,
        started: Instant,
    ) -> Result<Activated, ServiceError> {
        self.tenant(tenant)?;
        // The world is checked before the pointer moves, so a route is never handed a plugin it cannot run.
        let state = match which {
            Which::Sha(sha) => {
                let candidate = self.registry.version(tenant, slot, &sha).await?.ok_or_else(|| {
                    ServiceError::not_found(
                        "version_not_found",
                        format!("slot {tenant}/{slot} has no version {sha}; list them with GET /v1/tenants/{tenant}/plugins/{slot}"),
                    )
                })?;
                self.check_routes_world(tenant, slot, &candidate.world)
                    .await?;
                self.registry.activate(tenant, slot, &sha, by).await?
            }
            Which::Version(version) => {
                for v in self
                    .registry
                    .versions(tenant, Some(slot))
                    .await?
                    .iter()
                    .filter(|v| v.version == version)
                {
                    self.check_routes_world(tenant, slot, &v.world).await?;
                }
                self.registry
                    .activate_version(tenant, slot, &version, by)
                    .await?
            }
            Which::Back => self.registry.rollback(tenant, slot, by).await?,
        };
        let sha = state.active.clone().ok_or_else(|| {
            ServiceError::unavailable(format!(
                "slot {tenant}/{slot} has no active version after the switch"
            ))
        })?;
        let meta = self
            .registry
            .version(tenant, slot, &sha)
            .await?
            .ok_or_else(|| {
                ServiceError::not_found(
                    "version_not_found",
                    format!("slot {tenant}/{slot} has no version {sha}"),
                )
            })?;
        let serving = self
            .routes
            .wait_serving(tenant, slot, &sha, SWITCH_WAIT)
            .await;
        let not_switched: Vec<RouteName> = self
            .routes
            .status()
            .await
            .into_iter()
            .filter(|r| {
                r.tenant == *tenant && r.slot.as_ref() == Some(slot) && !serving.contains(&r.name)
            })
            .map(|r| r.name)
            .collect();
        tracing::info!(%tenant, %slot, version = %meta.version, sha256 = %sha, ?serving, "slot activated");
        Ok(Activated {
            meta,
            serving,
            not_switched,
            elapsed: started.elapsed(),
        })
    }

    /// One version of a slot.
    pub async fn version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<(VersionMeta, SlotState), ServiceError> {
        self.tenant(tenant)?;
        let meta = self
            .registry
            .version(tenant, slot, sha256)
            .await?
            .ok_or_else(|| {
                ServiceError::not_found(
                    "version_not_found",
                    format!("slot {tenant}/{slot} has no version {sha256}"),
                )
            })?;
        let state = self.registry.slot(tenant, slot).await?.unwrap_or_default();
        Ok((meta, state))
    }

    /// Deletes a version that is not active (its artifact too, once no slot uses it).
    pub async fn delete_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<(), ServiceError> {
        self.tenant(tenant)?;
        Ok(self.registry.delete_version(tenant, slot, sha256).await?)
    }

    /// The world a new version of `tenant`/`slot` must implement: the one the routes running the slot need, else
    /// the slot's active version's. `None` for a slot nothing constrains yet.
    async fn needed_world(
        &self,
        tenant: &Tenant,
        slot: &Slot,
    ) -> Result<Option<Needed>, ServiceError> {
        if let Some(spec) = self
            .routes
            .specs()
            .await
            .into_iter()
            .find(|s| s.tenant == *tenant && s.common.slot() == Some(slot))
        {
            return Ok(Some(Needed {
                world: spec.world(),
                by: format!("route {} (which runs slot {slot})", spec.common.name),
            }));
        }
        let active = self.registry.active(tenant, slot).await?;
        Ok(active.and_then(|active| {
            let world = World::from_wit_name(&active.world)?;
            Some(Needed {
                world,
                by: format!(
                    "slot {slot}, whose active version {}@{} is an {},",
                    active.name, active.version, active.world
                ),
            })
        }))
    }

    /// Refuses a version whose world does not fit a route that runs the slot.
    async fn check_routes_world(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        world: &str,
    ) -> Result<(), ServiceError> {
        for spec in self.routes.specs().await {
            if spec.tenant == *tenant
                && spec.common.slot() == Some(slot)
                && spec.world().wit_name() != world
            {
                return Err(ServiceError::unprocessable(
                    "wrong_world",
                    format!(
                        "that version implements {world}, but route {} runs slot {slot} and needs an {}",
                        spec.common.name,
                        spec.world().wit_name()
                    ),
                ));
            }
        }
        Ok(())
    }
}
