//! The routes a host runs, changed while it runs: routes from the configuration file start with the service;
//! routes created through the admin API are kept in the registry, so every host of a fleet starts and stops
//! them on the same change. Each running route follows its slot: when the slot's active version changes, the
//! route builds plugin threads for the new version off the async runtime and switches to them between two
//! messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::breaker::{Breaker, Breakers};
use super::{Kind, Route, http::Delivery, pool::Pool};
use crate::bus::Connection;
use crate::bus::lookups::TenantLookups;
pub use crate::config::Origin;
use crate::config::{Mapping, RouteCommon, RouteDef, Target};
use crate::host_api::{Sequences, SlotContext};
use crate::invoke::{Limits, Mapper};
use crate::names::{RouteName, Sha256, Slot, Tenant};
use crate::plugin::World;
use crate::versions::{Loaded, Versions};

/// Everything needed to run one route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// The tenant.
    pub tenant: Tenant,
    /// Name, slot, profile, limits.
    pub common: RouteCommon,
    /// Inbound or outbound.
    pub kind: Kind,
    /// The tenant's master data: live, shared by the tenant's routes, and its store.
    pub lookups: TenantLookups,
    /// The tenant's business rules, when any is on: shared by the tenant's routes.
    pub rules: Option<Arc<crate::rules::TenantRules>>,
    /// The tenant's trace: shared by the tenant's routes.
    pub trace: Option<Arc<crate::trace::Trace>>,
    /// Where it was defined.
    pub origin: Origin,
}

impl RouteSpec {
    /// The spec of a checked route of `tenant`, with the tenant's master data.
    pub fn new(tenant: Tenant, route: RouteDef, lookups: TenantLookups) -> Self {
        Self {
            tenant,
            common: route.common,
            kind: route.kind,
            lookups,
            rules: None,
            trace: None,
            origin: route.origin,
        }
    }

    /// The same, with the tenant's rules.
    pub fn with_rules(mut self, rules: Option<Arc<crate::rules::TenantRules>>) -> Self {
        self.rules = rules;
        self
    }

    /// The same, with the tenant's trace.
    pub fn with_trace(mut self, trace: Option<Arc<crate::trace::Trace>>) -> Self {
        self.trace = trace;
        self
    }

    /// The route as it was defined.
    pub fn def(&self) -> RouteDef {
        RouteDef {
            common: self.common.clone(),
            kind: self.kind.clone(),
            origin: self.origin,
        }
    }

    /// The world the route's plugin must implement.
    pub fn world(&self) -> World {
        match self.kind {
            Kind::Inbound { .. } => World::Inbound,
            Kind::Outbound { .. } => World::Outbound,
        }
    }
}

/// What a route is doing, for the admin API and `/readyz`.
#[derive(Debug, Clone, Serialize)]
pub struct RouteStatus {
    /// The tenant.
    pub tenant: Tenant,
    /// The route's name.
    pub name: RouteName,
    /// Its slot; `None` when a built-in mapper maps it.
    pub slot: Option<Slot>,
    /// The version serving it (`name@version+sha`), or `None` while it waits for its slot.
    pub serving: Option<String>,
    /// The sha256 of the version serving it.
    pub serving_sha256: Option<Sha256>,
}

struct Running {
    spec: RouteSpec,
    stop: watch::Sender<bool>,
    pool: watch::Receiver<Option<Arc<Pool>>>,
    worker: JoinHandle<()>,
    builder: JoinHandle<()>,
}

/// The running routes of this host.
pub struct Routes {
    bus: Connection,
    versions: Arc<Versions>,
    /// Where the plugins' `sequences.next` numbers are kept.
    sequences: Arc<dyn Sequences>,
    running: Mutex<BTreeMap<(Tenant, RouteName), Running>>,
    /// The circuit breaker of every slot the routes run.
    breakers: Arc<Breakers>,
    /// Bumped whenever a route starts, stops or switches versions, so a caller can wait for a state instead
    /// of polling for it.
    changed: watch::Sender<u64>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes").finish_non_exhaustive()
    }
}

impl Routes {
    /// No routes yet.
    pub fn new(bus: Connection, versions: Arc<Versions>, sequences: Arc<dyn Sequences>) -> Self {
        Self {
            bus,
            versions,
            sequences,
            running: Mutex::default(),
            breakers: Arc::default(),
            changed: watch::channel(0).0,
        }
    }

    /// The slots' circuit breakers on this host.
    pub fn breakers(&self) -> &Arc<Breakers> {
        &self.breakers
    }

    fn bump(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// Starts `spec`, or restarts it with its new settings when a route of that name runs (the durable
    /// consumer is kept, so it goes on where the old one stopped).
    pub async fn start(&self, spec: RouteSpec) -> Result<()> {
        let key = (spec.tenant.clone(), spec.common.name.clone());
        let old = self.running.lock().await.remove(&key);
        if let Some(old) = old {
            finish(old).await;
        }
        let http = match &spec.kind {
            Kind::Outbound {
                target: target @ Target::Http { .. },
                ..
            } => Some(Delivery::new(target)?),
            _ => None,
        };
        let (pool_tx, pool) = watch::channel(None);
        let breaker = spec
            .common
            .slot()
            .map(|slot| self.breakers.slot(&spec.tenant, slot));
        let builder = tokio::spawn(follow_slot(
            spec.clone(),
            self.versions.clone(),
            self.sequences.clone(),
            pool_tx,
            self.changed.clone(),
            breaker.clone(),
        ));
        let (stop, stopping) = watch::channel(false);
        let route = Arc::new(Route {
            tenant: spec.tenant.clone(),
            common: spec.common.clone(),
            kind: spec.kind.clone(),
            active: pool.clone(),
            bus: self.bus.clone(),
            http,
            lookups: spec.lookups.clone(),
            sequences: self.sequences.clone(),
            interchanges: tokio::sync::OnceCell::new(),
            rules: match &spec.kind {
                // Kept even when no rule runs: the API may turn them on.
                Kind::Inbound { .. } => spec.rules.clone(),
                Kind::Outbound { .. } => None,
            },
            trace: spec.trace.clone().filter(|t| t.recording()),
            breaker,
        });
        let worker = tokio::spawn(super::run(route, stopping));
        self.running.lock().await.insert(
            key,
            Running {
                spec,
                stop,
                pool,
                worker,
                builder,
            },
        );
        self.bump();
        Ok(())
    }

    /// Stops a route: it fetches no more, finishes what it has in flight and acknowledges it. Its durable
    /// consumer stays, so messages not yet taken wait in the stream. `false` when no such route runs.
    pub async fn stop(&self, tenant: &Tenant, name: &RouteName) -> bool {
        let running = self
            .running
            .lock()
            .await
            .remove(&(tenant.clone(), name.clone()));
        match running {
            Some(running) => {
                finish(running).await;
                self.bump();
                true
            }
            None => false,
        }
    }

    /// Stops every route, each finishing what it has in flight.
    /// Stops every route, each finishing what it has in flight for at most `grace`; a route still busy then is
    /// stopped where it is, leaving its messages unacknowledged for JetStream to redeliver. The routes that did
    /// not finish in time, as `tenant/route`.
    pub async fn stop_all(&self, grace: std::time::Duration) -> Vec<String> {
        let all = std::mem::take(&mut *self.running.lock().await);
        // Told all first, so they wind down together.
        for running in all.values() {
            let _ = running.stop.send(true);
        }
        let deadline = tokio::time::Instant::now() + grace;
        let mut unfinished = Vec::new();
        for ((tenant, name), mut running) in all {
            running.builder.abort();
            if tokio::time::timeout_at(deadline, &mut running.worker)
                .await
                .is_err()
            {
                running.worker.abort();
                unfinished.push(format!("{tenant}/{name}"));
            }
        }
        self.bump();
        unfinished
    }

    /// The routes running now.
    pub async fn specs(&self) -> Vec<RouteSpec> {
        self.running
            .lock()
            .await
            .values()
            .map(|r| r.spec.clone())
            .collect()
    }

    /// The route `tenant`/`name`, if it runs.
    pub async fn spec(&self, tenant: &Tenant, name: &RouteName) -> Option<RouteSpec> {
        self.running
            .lock()
            .await
            .get(&(tenant.clone(), name.clone()))
            .map(|r| r.spec.clone())
    }

    /// Waits, at most `timeout`, until the route `tenant`/`name` runs as `def` says and — when `serving` — serves
    /// a version. Wakes on every change of the route set, never polls. The route's status once it does.
    pub async fn wait_running(
        &self,
        tenant: &Tenant,
        def: &RouteDef,
        serving: bool,
        timeout: std::time::Duration,
    ) -> Option<RouteStatus> {
        let key = (tenant.clone(), def.common.name.clone());
        let mut changed = self.changed.subscribe();
        let wait = async {
            loop {
                changed.borrow_and_update();
                if let Some(status) = self
                    .running
                    .lock()
                    .await
                    .get(&key)
                    .filter(|r| r.spec.def() == *def)
                    .map(status)
                    .filter(|s| !serving || s.serving.is_some())
                {
                    return Some(status);
                }
                if changed.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// Waits, at most `timeout`, until no route `tenant`/`name` runs; whether it came to that.
    pub async fn wait_stopped(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        timeout: std::time::Duration,
    ) -> bool {
        let key = (tenant.clone(), name.clone());
        let mut changed = self.changed.subscribe();
        let wait = async {
            loop {
                changed.borrow_and_update();
                if !self.running.lock().await.contains_key(&key) {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// What every route is serving.
    pub async fn status(&self) -> Vec<RouteStatus> {
        self.running.lock().await.values().map(status).collect()
    }

    /// Waits until every route of `tenant` on `slot` serves `sha256`, at most `timeout`; returns the routes
    /// that do.
    pub async fn wait_serving(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
        timeout: std::time::Duration,
    ) -> Vec<RouteName> {
        let receivers: Vec<(RouteName, watch::Receiver<Option<Arc<Pool>>>)> = self
            .running
            .lock()
            .await
            .values()
            .filter(|r| r.spec.tenant == *tenant && r.spec.common.slot() == Some(slot))
            .map(|r| (r.spec.common.name.clone(), r.pool.clone()))
            .collect();
        let mut serving = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        for (name, mut pool) in receivers {
            let waited = tokio::time::timeout_at(
                deadline,
                pool.wait_for(|p| p.as_ref().is_some_and(|p| p.sha256() == Some(sha256))),
            )
            .await;
            if matches!(waited, Ok(Ok(_))) {
                serving.push(name);
            }
        }
        serving
    }
}

/// What a running route is doing.
fn status(r: &Running) -> RouteStatus {
    let pool = r.pool.borrow().clone();
    RouteStatus {
        tenant: r.spec.tenant.clone(),
        name: r.spec.common.name.clone(),
        slot: r.spec.common.slot().cloned(),
        serving: pool.as_ref().map(|p| p.label().to_string()),
        serving_sha256: pool.as_ref().and_then(|p| p.sha256().cloned()),
    }
}

async fn finish(running: Running) {
    let _ = running.stop.send(true);
    let _ = running.worker.await;
    running.builder.abort();
}

/// Builds plugin threads for each version the route's slot activates and hands them to the route; for a
/// built-in mapper, its threads once.
async fn follow_slot(
    spec: RouteSpec,
    versions: Arc<Versions>,
    sequences: Arc<dyn Sequences>,
    pool: watch::Sender<Option<Arc<Pool>>>,
    changed: watch::Sender<u64>,
    breaker: Option<Arc<Breaker>>,
) {
    let slot_name = match &spec.common.mapping {
        Mapping::Slot(slot) => slot.clone(),
        Mapping::Canonical => {
            let name = format!("{}/{}", spec.tenant, spec.common.name);
            match Pool::canonical(&spec.tenant, spec.common.workers, &name) {
                Ok(new) => {
                    pool.send_replace(Some(Arc::new(new)));
                    changed.send_modify(|generation| *generation += 1);
                }
                Err(err) => {
                    tracing::error!(tenant = %spec.tenant, route = %spec.common.name, "starting the canonical mapper's threads: {err}");
                }
            }
            return;
        }
    };
    let mut slot = versions.subscribe(&spec.tenant, &slot_name);
    if let Ok(None) = versions.registry().active(&spec.tenant, &slot_name).await {
        tracing::warn!(tenant = %spec.tenant, route = %spec.common.name, slot = %slot_name, "slot {slot_name} has no active version: the route's messages wait in the stream until one is activated");
    }
    loop {
        let loaded = slot.borrow_and_update().clone();
        if let Some(loaded) = loaded {
            let same = pool
                .borrow()
                .as_ref()
                .is_some_and(|p| p.sha256() == Some(&loaded.meta.sha256));
            if !same {
                let engine = versions.engine().clone();
                let (for_build, sequences) = (spec.clone(), sequences.clone());
                let for_pool = breaker.clone();
                let built = tokio::task::spawn_blocking(move || {
                    build_pool(&engine, &for_build, &loaded, sequences, for_pool)
                })
                .await;
                match built {
                    Ok(Ok(new)) => {
                        tracing::info!(tenant = %spec.tenant, route = %spec.common.name, plugin = %new.label(), "route serves a new version");
                        if let (Some(breaker), Some(sha)) = (&breaker, new.sha256()) {
                            breaker.serve(sha, new.label(), spec.common.breaker);
                        }
                        pool.send_replace(Some(Arc::new(new)));
                        changed.send_modify(|generation| *generation += 1);
                    }
                    Ok(Err(err)) => {
                        tracing::error!(tenant = %spec.tenant, route = %spec.common.name, slot = %slot_name, "cannot run the slot's new version, the route keeps the one it runs: {err:#}");
                    }
                    Err(err) => {
                        tracing::error!(tenant = %spec.tenant, route = %spec.common.name, "building the plugin threads stopped: {err}");
                    }
                }
            }
        }
        if slot.changed().await.is_err() {
            return;
        }
    }
}

/// The route's plugin threads for `loaded`: its profile, master data and limits, and the slot's breaker.
pub fn build_pool(
    engine: &crate::engine::Engine,
    spec: &RouteSpec,
    loaded: &Loaded,
    sequences: Arc<dyn Sequences>,
    breaker: Option<Arc<Breaker>>,
) -> Result<Pool> {
    let Some(slot_name) = spec.common.slot() else {
        anyhow::bail!(
            "route {} runs {}, not a plugin",
            spec.common.name,
            spec.common.mapping
        );
    };
    let world = spec.world();
    if loaded.plugin.world != world {
        anyhow::bail!(
            "slot {slot_name}'s active version {}@{} implements the {} world, but route {} needs an {world}",
            loaded.meta.name,
            loaded.meta.version,
            loaded.plugin.world,
            spec.common.name
        );
    }
    let mut slot = SlotContext::new(spec.tenant.clone(), slot_name.clone())
        .with_live_lookups(spec.lookups.live.clone())
        .with_sequences(sequences);
    for (key, value) in &spec.common.config {
        slot = slot.with_config(key.clone(), value.clone());
    }
    let limits = Limits {
        deadline: spec.common.deadline,
        memory_bytes: spec.common.memory_bytes,
        ..Limits::default()
    };
    let mapper = Mapper::new(
        engine,
        loaded.plugin.clone(),
        slot,
        limits,
        spec.common.instances,
    )?;
    Ok(Pool::new(
        mapper,
        spec.common.workers,
        &format!("{}/{}", spec.tenant, spec.common.name),
        breaker,
    )?)
}
