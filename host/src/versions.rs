//! Hot swap: turns the registry's active pointers into compiled plugin versions the routes run.
//!
//! Every slot a route uses has a watch channel holding its active version, compiled. [`Versions`] hears of the
//! registry's changes from the service's follower (a JetStream KV watch, so every host of a fleet sees the same
//! activation): when a slot's active pointer moves it fetches the artifact, compiles it off the async runtime (the engine caches compiled
//! code by sha256 under the data dir, and compiled plugins stay in memory, so re-activating a version compiles
//! nothing) and publishes it on the slot's channel. Each route builds its plugin threads for the new version and
//! switches to them between two messages (see [`crate::pipeline::routes`]); messages already fetched finish on
//! the version they were fetched under.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::host_api::SlotContext;
use crate::invoke::{InstancePolicy, Limits, Mapper};
use crate::names::{Sha256, Slot, Tenant};
use crate::plugin::{Plugin, PluginError, World};
use crate::registry::{Registry, SlotState, VersionMeta};

/// A slot's active version, compiled.
#[derive(Debug)]
pub struct Loaded {
    /// What the registry holds about it.
    pub meta: VersionMeta,
    /// The compiled component.
    pub plugin: Plugin,
}

type SlotKey = (Tenant, Slot);

/// The compiled active version of every slot in use, following the registry.
pub struct Versions {
    engine: Engine,
    registry: Registry,
    tenants: HashSet<Tenant>,
    compiled: Mutex<HashMap<Sha256, Plugin>>,
    /// One compile per sha at a time: a second caller waits and finds it compiled.
    compiling: Mutex<HashMap<Sha256, Arc<tokio::sync::Mutex<()>>>>,
    /// The active sha the registry last named per slot.
    latest: Mutex<HashMap<SlotKey, Sha256>>,
    slots: Mutex<HashMap<SlotKey, watch::Sender<Option<Arc<Loaded>>>>>,
}

impl std::fmt::Debug for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions").finish_non_exhaustive()
    }
}

impl Versions {
    /// Nothing loaded yet; [`Versions::load_all`] reads the registry, and the service's follower keeps it current.
    pub fn new(engine: Engine, registry: Registry, tenants: HashSet<Tenant>) -> Self {
        Self {
            engine,
            registry,
            tenants,
            compiled: Mutex::default(),
            compiling: Mutex::default(),
            latest: Mutex::default(),
            slots: Mutex::default(),
        }
    }

    /// Loads the active version of every slot of this host's tenants.
    pub async fn load_all(&self) -> Result<()> {
        for (tenant, slot, state) in self
            .registry
            .slots(None)
            .await
            .context("reading the registry's slots")?
        {
            if self.tenants.contains(&tenant) {
                self.note(&tenant, &slot, &state);
                self.apply(&tenant, &slot, &state).await;
            }
        }
        Ok(())
    }

    /// A slot's active pointer moved (on this host or another): switch to the version it names, off the caller's
    /// task, so a compile does not hold up other slots.
    pub fn slot_changed(self: &Arc<Self>, tenant: Tenant, slot: Slot, state: SlotState) {
        if !self.tenants.contains(&tenant) {
            return;
        }
        self.note(&tenant, &slot, &state);
        let this = self.clone();
        tokio::spawn(async move { this.apply(&tenant, &slot, &state).await });
    }

    /// A version was uploaded (through any host): compile it now, so its activation only switches.
    pub fn version_added(self: &Arc<Self>, meta: VersionMeta) {
        if !self.tenants.contains(&meta.tenant) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move { this.prepare(meta).await });
    }

    /// The registry behind.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The engine plugins are compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The channel holding `tenant`/`slot`'s active version (`None` while it has none).
    pub fn subscribe(&self, tenant: &Tenant, slot: &Slot) -> watch::Receiver<Option<Arc<Loaded>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry((tenant.clone(), slot.clone()))
            .or_insert_with(|| watch::channel(None).0)
            .subscribe()
    }

    /// The version `tenant`/`slot` runs on this host now.
    pub fn current(&self, tenant: &Tenant, slot: &Slot) -> Option<Arc<Loaded>> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .get(&(tenant.clone(), slot.clone()))
            .and_then(|tx| tx.borrow().clone())
    }

    /// Validates and compiles `bytes` off the async runtime and has the plugin describe itself (see
    /// [`inspect`]); a sha compiled before is taken from memory.
    pub async fn compile(
        &self,
        name: &str,
        bytes: Bytes,
        tenant: &Tenant,
        slot: &Slot,
        needed: Option<&Needed>,
    ) -> Result<Plugin, PluginError> {
        let sha = Sha256::of(&bytes);
        let lock = self
            .compiling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(sha.clone())
            .or_default()
            .clone();
        let _compiling = lock.lock().await;
        if let Some(plugin) = self.cached(&sha) {
            check_world(&plugin, needed)?;
            return Ok(plugin);
        }
        let engine = self.engine.clone();
        let (name, tenant, slot) = (name.to_string(), tenant.clone(), slot.clone());
        let needed = needed.cloned();
        let failed_name = name.clone();
        let plugin = tokio::task::spawn_blocking(move || {
            inspect(&engine, &name, &bytes, &tenant, &slot, needed.as_ref())
        })
        .await
        .map_err(|err| PluginError::Invalid {
            name: failed_name,
            reason: format!("the compiler stopped: {err}"),
        })??;
        self.remember(plugin.clone());
        Ok(plugin)
    }

    /// Keeps a compiled plugin in memory, so activating it compiles nothing.
    pub fn remember(&self, plugin: Plugin) {
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(plugin.sha256.clone(), plugin);
    }

    /// Whether this host holds `sha` compiled.
    pub fn is_compiled(&self, sha: &Sha256) -> bool {
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(sha)
    }

    /// Compiles an uploaded version ahead of its activation.
    async fn prepare(&self, meta: VersionMeta) {
        if self.is_compiled(&meta.sha256) {
            return;
        }
        let bytes = match self.registry.artifact(&meta.sha256).await {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::warn!(tenant = %meta.tenant, slot = %meta.slot, sha256 = %meta.sha256, "fetching an uploaded version to compile it: {err}");
                return;
            }
        };
        let name = format!("{}/{}@{}", meta.tenant, meta.slot, meta.version);
        match self
            .compile(&name, bytes, &meta.tenant, &meta.slot, None)
            .await
        {
            Ok(_) => {
                tracing::info!(tenant = %meta.tenant, slot = %meta.slot, version = %meta.version, sha256 = %meta.sha256, "uploaded version compiled, ready to activate")
            }
            Err(err) => {
                tracing::warn!(tenant = %meta.tenant, slot = %meta.slot, sha256 = %meta.sha256, "an uploaded version does not compile here: {err}")
            }
        }
    }

    fn cached(&self, sha: &Sha256) -> Option<Plugin> {
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sha)
            .cloned()
    }

    /// Notes the version the registry names for a slot, in the order the changes arrive.
    fn note(&self, tenant: &Tenant, slot: &Slot, state: &SlotState) {
        if let Some(sha) = &state.active {
            self.latest
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((tenant.clone(), slot.clone()), sha.clone());
        }
    }

    /// Moves `tenant`/`slot` to the version `state` names, if it is not the one it runs. Changes may be applied
    /// concurrently (a compile must not hold up other slots): a version is switched in only if it is still the
    /// latest the registry named for the slot when its load is done.
    async fn apply(&self, tenant: &Tenant, slot: &Slot, state: &SlotState) {
        let Some(sha) = state.active.clone() else {
            return;
        };
        let key = (tenant.clone(), slot.clone());
        if self
            .current(tenant, slot)
            .is_some_and(|loaded| loaded.meta.sha256 == sha)
        {
            return;
        }
        match self.load(tenant, slot, &sha).await {
            Ok(loaded) => {
                let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
                if latest.get(&key) != Some(&sha) {
                    return;
                }
                tracing::info!(%tenant, %slot, version = %loaded.meta.version, sha256 = %sha, "slot switched to {}@{}", loaded.meta.name, loaded.meta.version);
                let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                let tx = slots
                    .entry((tenant.clone(), slot.clone()))
                    .or_insert_with(|| watch::channel(None).0);
                tx.send_replace(Some(Arc::new(loaded)));
            }
            Err(err) => {
                tracing::error!(%tenant, %slot, sha256 = %sha, "cannot load the slot's active version, the slot keeps the one it runs: {err:#}");
            }
        }
    }

    async fn load(&self, tenant: &Tenant, slot: &Slot, sha: &Sha256) -> Result<Loaded> {
        let meta = self
            .registry
            .version(tenant, slot, sha)
            .await?
            .ok_or_else(|| anyhow!("the registry has no version {sha} in slot {tenant}/{slot}"))?;
        let plugin = match self.cached(sha) {
            Some(plugin) => plugin,
            None => {
                let bytes = self.registry.artifact(sha).await?;
                self.compile(
                    &format!("{tenant}/{slot}@{}", meta.version),
                    bytes,
                    tenant,
                    slot,
                    None,
                )
                .await?
            }
        };
        Ok(Loaded { meta, plugin })
    }
}

/// The world a slot's versions must implement, and who needs it, for refusing an upload before it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// The world.
    pub world: World,
    /// Who needs it, for the error: `route supplier-856`.
    pub by: String,
}

/// Validates and compiles `bytes` (blocking: compiling takes milliseconds to seconds), checks it implements the
/// world `needed` names (when given), and resolves the plugin's imports and asks it to describe itself, in a
/// context of `tenant`/`slot` with no partner profile: the checks an upload passes before it becomes a version.
/// Only a plugin that passes them all is written to the compile cache. The plugin returned carries what it said
/// of itself.
pub fn inspect(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
    tenant: &Tenant,
    slot: &Slot,
    needed: Option<&Needed>,
) -> Result<Plugin, PluginError> {
    let plugin = Plugin::load(engine, name, bytes)?;
    check_world(&plugin, needed)?;
    let mapper = Mapper::new(
        engine,
        plugin,
        SlotContext::new(tenant, slot),
        Limits::default(),
        InstancePolicy::Fresh,
    )?;
    let plugin = mapper.plugin().clone();
    engine.keep(&plugin.component, &plugin.sha256);
    Ok(plugin)
}

fn check_world(plugin: &Plugin, needed: Option<&Needed>) -> Result<(), PluginError> {
    match needed {
        Some(needed) if needed.world != plugin.world => Err(PluginError::WrongWorld {
            name: plugin.name.clone(),
            world: plugin.world,
            expected: needed.world,
            needed_by: needed.by.clone(),
        }),
        _ => Ok(()),
    }
}
