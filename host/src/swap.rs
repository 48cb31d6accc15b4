//! Hot swap: turns the registry's active pointers into compiled plugin versions the routes run.
//!
//! Every slot a route uses has a watch channel holding its active version, compiled. [`Versions`] follows the
//! registry's changes (a JetStream KV watch, so every host of a fleet sees the same activation): when a slot's
//! active pointer moves it fetches the artifact, compiles it off the async runtime (the engine caches compiled
//! code by sha256 under the data dir, and compiled plugins stay in memory, so re-activating a version compiles
//! nothing) and publishes it on the slot's channel. Each route builds its plugin threads for the new version and
//! switches to them between two messages (see [`crate::pipeline::routes`]); messages already fetched finish on
//! the version they were fetched under.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::host_api::SlotContext;
use crate::invoke::{InstancePolicy, Limits, Mapper};
use crate::plugin::{Plugin, PluginError, World};
use crate::registry::{Change, Registry, SlotState, VersionMeta};

/// A slot's active version, compiled.
#[derive(Debug)]
pub struct Loaded {
    /// What the registry holds about it.
    pub meta: VersionMeta,
    /// The compiled component.
    pub plugin: Plugin,
}

type Slot = (String, String);

/// The compiled active version of every slot in use, following the registry.
pub struct Versions {
    engine: Engine,
    registry: Registry,
    tenants: HashSet<String>,
    compiled: Mutex<HashMap<String, Plugin>>,
    /// One compile per sha at a time: a second caller waits and finds it compiled.
    compiling: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The active sha the registry last named per slot.
    latest: Mutex<HashMap<Slot, String>>,
    slots: Mutex<HashMap<Slot, watch::Sender<Option<Arc<Loaded>>>>>,
}

impl std::fmt::Debug for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions").finish_non_exhaustive()
    }
}

impl Versions {
    /// Loads the active version of every slot of `tenants` and follows the registry from then on, until `stop`
    /// turns true. A version uploaded through any host is compiled here as soon as it is stored, so its
    /// activation only switches.
    pub async fn start(
        engine: Engine,
        registry: Registry,
        tenants: HashSet<String>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Arc<Self>> {
        let versions = Arc::new(Self {
            engine,
            registry: registry.clone(),
            tenants,
            compiled: Mutex::default(),
            compiling: Mutex::default(),
            latest: Mutex::default(),
            slots: Mutex::default(),
        });
        // Watch first, then read: a change made in between is seen twice rather than missed.
        let mut changes = registry
            .watch()
            .await
            .context("watching the plugin registry")?;
        for (tenant, slot, state) in registry
            .slots(None)
            .await
            .context("reading the registry's slots")?
        {
            if versions.tenants.contains(&tenant) {
                versions.note(&tenant, &slot, &state);
                versions.apply(&tenant, &slot, &state).await;
            }
        }
        let follower = versions.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    change = changes.next() => match change {
                        Some(Change::Slot { tenant, slot, state }) if follower.tenants.contains(&tenant) => {
                            follower.note(&tenant, &slot, &state);
                            let follower = follower.clone();
                            tokio::spawn(async move { follower.apply(&tenant, &slot, &state).await });
                        }
                        Some(Change::Version { meta }) if follower.tenants.contains(&meta.tenant) => {
                            let follower = follower.clone();
                            tokio::spawn(async move { follower.prepare(meta).await });
                        }
                        Some(_) => {}
                        None => {
                            // The watch fell behind or NATS went away: watch again, then read every slot, so a
                            // change made meanwhile is not missed.
                            tracing::warn!("the plugin registry's watch ended; watching it again");
                            let Some(again) = follower.rewatch(&mut stop).await else { return };
                            changes = again;
                        }
                    },
                    _ = stop.changed() => return,
                }
            }
        });
        Ok(versions)
    }

    /// A new watch of the registry once it can be had (retrying every second), after which every slot is read
    /// and applied again; `None` when `stop` turns true first.
    async fn rewatch(
        self: &Arc<Self>,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<futures::stream::BoxStream<'static, Change>> {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.changed() => return None,
            }
            let changes = match self.registry.watch().await {
                Ok(changes) => changes,
                Err(err) => {
                    tracing::warn!("watching the plugin registry: {err}; retrying");
                    continue;
                }
            };
            match self.registry.slots(None).await {
                Ok(slots) => {
                    for (tenant, slot, state) in slots {
                        if self.tenants.contains(&tenant) {
                            self.note(&tenant, &slot, &state);
                            let this = self.clone();
                            tokio::spawn(async move { this.apply(&tenant, &slot, &state).await });
                        }
                    }
                    return Some(changes);
                }
                Err(err) => tracing::warn!("reading the registry's slots: {err}; retrying"),
            }
        }
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
    pub fn subscribe(&self, tenant: &str, slot: &str) -> watch::Receiver<Option<Arc<Loaded>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry((tenant.to_string(), slot.to_string()))
            .or_insert_with(|| watch::channel(None).0)
            .subscribe()
    }

    /// The version `tenant`/`slot` runs on this host now.
    pub fn current(&self, tenant: &str, slot: &str) -> Option<Arc<Loaded>> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .get(&(tenant.to_string(), slot.to_string()))
            .and_then(|tx| tx.borrow().clone())
    }

    /// Validates and compiles `bytes` off the async runtime and has the plugin describe itself (see
    /// [`inspect`]); a sha compiled before is taken from memory.
    pub async fn compile(
        &self,
        name: &str,
        bytes: Bytes,
        tenant: &str,
        slot: &str,
        needed: Option<&Needed>,
    ) -> Result<Plugin, PluginError> {
        let sha = crate::engine::sha256_hex(&bytes);
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
        let (name, tenant, slot) = (name.to_string(), tenant.to_string(), slot.to_string());
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
    pub fn is_compiled(&self, sha: &str) -> bool {
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

    fn cached(&self, sha: &str) -> Option<Plugin> {
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sha)
            .cloned()
    }

    /// Notes the version the registry names for a slot, in the order the changes arrive.
    fn note(&self, tenant: &str, slot: &str, state: &SlotState) {
        if let Some(sha) = &state.active {
            self.latest
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((tenant.to_string(), slot.to_string()), sha.clone());
        }
    }

    /// Moves `tenant`/`slot` to the version `state` names, if it is not the one it runs. Changes may be applied
    /// concurrently (a compile must not hold up other slots): a version is switched in only if it is still the
    /// latest the registry named for the slot when its load is done.
    async fn apply(&self, tenant: &str, slot: &str, state: &SlotState) {
        let Some(sha) = state.active.clone() else {
            return;
        };
        let key = (tenant.to_string(), slot.to_string());
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
                tracing::info!(tenant, slot, version = %loaded.meta.version, sha256 = %sha, "slot switched to {}@{}", loaded.meta.name, loaded.meta.version);
                let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                let tx = slots
                    .entry((tenant.to_string(), slot.to_string()))
                    .or_insert_with(|| watch::channel(None).0);
                tx.send_replace(Some(Arc::new(loaded)));
            }
            Err(err) => {
                tracing::error!(tenant, slot, sha256 = %sha, "cannot load the slot's active version, the slot keeps the one it runs: {err:#}");
            }
        }
    }

    async fn load(&self, tenant: &str, slot: &str, sha: &str) -> Result<Loaded> {
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
    tenant: &str,
    slot: &str,
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
