//! The running host: its registry, the slots' compiled versions, the routes and the tenants' master data, on one
//! NATS connection — and the verbs that change them.
//!
//! This is the one room of the control side. The admin API translates HTTP to these verbs and back; the CLI
//! reaches them through the admin API; `serve` and the benches start a [`Service`] and stop it. Each verb checks
//! what it is given, does one thing, and answers with a typed [`ServiceError`] that knows its HTTP status and
//! its CLI exit code:
//!
//! - [`slots`]: upload a version (validate, compile, shadow-run in [`shadow`], store, activate), activate,
//!   roll back, delete a version, and what a slot holds;
//! - [`routes`]: put and delete a route (checked by the same code as the file's routes), and what runs;
//! - [`dead_letters`]: list, replay and discard;
//! - [`lookups`]: the tenants' master-data tables: list, show, load, roll back; the one watch that keeps every
//!   host's tables in step, and replays the dead letters parked for them;
//! - [`follower`]: the one watch of the registry that keeps versions and routes in step with every other host;
//! - [`unrouted`]: the sweep of documents no route takes.
//!
//! Starting seeds the slots from the configuration's plugin files ([`check_plugins`] runs before NATS is
//! reached, so a bad file stops the host before anything starts).

pub mod dead_letters;
mod error;
mod follower;
pub mod lookups;
pub mod routes;
pub mod rules;
pub mod shadow;
pub mod slots;
pub mod trace;
mod unrouted;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::sync::watch;

use crate::bus::Connection;
use crate::bus::lookups::TenantLookups;
use crate::config::{Config, Kind, TenantConfig};
use crate::engine::{Engine, EngineOptions};
use crate::names::{Slot, Source, Tenant};
use crate::pipeline::routes::{RouteSpec, Routes};
use crate::plugin::{Plugin, World};
use crate::registry::jetstream::{JsBackend, JsOptions};
use crate::registry::{Registry, SignatureStatus, VersionMeta};
use crate::versions::{self, Versions};
pub use error::{ErrorKind, ServiceError};

/// A plugin file named by a route of the configuration, checked and compiled before NATS is reached: it seeds
/// the route's slot.
#[derive(Debug)]
pub struct Seed {
    tenant: Tenant,
    slot: Slot,
    path: std::path::PathBuf,
    bytes: Bytes,
    plugin: Plugin,
}

/// Checks every plugin file the configuration names: a component of the route's world that describes itself.
/// Compiling is CPU work, so call this off the async runtime. A bad file fails here, naming its line.
pub fn check_plugins(config: &Config, engine: &Engine) -> Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for tenant in &config.tenants {
        for route in &tenant.routes {
            let (Some(path), Some(slot)) = (&route.common.plugin, route.common.slot()) else {
                continue;
            };
            let line = match route.origin {
                crate::config::Origin::Config { line } => line,
                crate::config::Origin::Api => 0,
            };
            let place = format!(
                "{}, line {line}: tenant {}, route {}",
                config.path.display(),
                tenant.name,
                route.common.name
            );
            let bytes = std::fs::read(path)
                .with_context(|| format!("{place}: reading {}", path.display()))?;
            let world = match route.kind {
                Kind::Inbound { .. } => World::Inbound,
                Kind::Outbound { .. } => World::Outbound,
            };
            let needed = versions::Needed {
                world,
                by: format!(
                    "an {} route",
                    match world {
                        World::Inbound => "inbound",
                        World::Outbound => "outbound",
                    }
                ),
            };
            let plugin = versions::inspect(
                engine,
                &path.display().to_string(),
                &bytes,
                &tenant.name,
                slot,
                Some(&needed),
            )
            .with_context(|| place.clone())?;
            seeds.push(Seed {
                tenant: tenant.name.clone(),
                slot: slot.clone(),
                path: path.clone(),
                bytes: Bytes::from(bytes),
                plugin,
            });
        }
    }
    Ok(seeds)
}

/// What a host is started from: its configuration, and the plugin files it names, compiled (the compile cache
/// under the data dir keeps them for the next start).
#[derive(Debug)]
pub struct Prepared {
    config: Config,
    engine: Engine,
    seeds: Vec<Seed>,
}

impl Prepared {
    /// Builds the engine and checks every plugin file the configuration names ([`check_plugins`]). Compiling is
    /// CPU work: call this off the async runtime.
    pub fn new(config: Config, cache_dir: &std::path::Path) -> Result<Self> {
        let engine = Engine::new(&EngineOptions::default().with_cache_dir(cache_dir))?;
        let seeds = check_plugins(&config, &engine)?;
        Ok(Self {
            config,
            engine,
            seeds,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// The running service: the registry, the slots' active versions and the routes, on one NATS connection.
pub struct Service {
    config: Config,
    bus: Connection,
    registry: Registry,
    versions: Arc<Versions>,
    routes: Arc<Routes>,
    /// Every tenant's master data: live on this host, kept in JetStream.
    lookups: HashMap<Tenant, TenantLookups>,
    /// Every tenant's business rules and their state.
    rules: HashMap<Tenant, Arc<crate::rules::TenantRules>>,
    /// Every tenant's trace (read even where it no longer records).
    traces: HashMap<Tenant, Arc<crate::trace::Trace>>,
    /// Held while the sweep moves a tenant's unrouted documents, and while a route starts: a route never
    /// starts consuming a source whose documents are being moved to the dead letters.
    sweeping: tokio::sync::Mutex<()>,
    /// The admin API's tokens, as every host of the fleet knows them.
    tokens: Arc<crate::access::Tokens>,
    /// The admin API's audit log.
    audit: crate::access::audit::Audit,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Service {
    /// Creates (or updates) the tenants' streams, opens the registry on JetStream, seeds the slots from the
    /// configuration's plugin files, starts the file's routes and those made through the API, and follows the
    /// registry until `stop`.
    pub async fn start(
        prepared: Prepared,
        bus: Connection,
        stop: watch::Receiver<bool>,
    ) -> Result<Arc<Self>> {
        let Prepared {
            config,
            engine,
            seeds,
        } = prepared;
        for tenant in &config.tenants {
            crate::bus::ensure_streams(&bus.js, &tenant.name, &config.nats).await?;
            crate::bus::partners::ensure_consumers(&bus.js, &tenant.name, &tenant.partners).await?;
        }
        let backend = JsBackend::open(bus.js.clone(), &JsOptions::default())
            .await
            .context("opening the plugin registry on JetStream")?;
        let registry = Registry::new(Arc::new(backend));
        let tenants = config.tenants.iter().map(|t| t.name.clone()).collect();
        let versions = Arc::new(Versions::new(engine, registry.clone(), tenants));
        // Watch first, then read: a change made in between is seen twice rather than missed.
        let changes = registry
            .watch()
            .await
            .context("watching the plugin registry")?;
        versions.load_all().await?;
        for seed in seeds {
            seed_slot(&registry, &versions, seed).await?;
        }
        let lookups::Started {
            tables: lookups,
            watches: lookup_changes,
        } = lookups::start(&bus, &config).await?;
        let sequences =
            crate::bus::sequences::JetStreamSequences::open(&bus.js, config.nats.max_age)
                .await
                .context("opening the plugins' sequences on JetStream")?;
        let routes = Arc::new(Routes::new(
            bus.clone(),
            versions.clone(),
            Arc::new(sequences),
        ));
        let mut rules = HashMap::new();
        for tenant in &config.tenants {
            let opened = crate::rules::TenantRules::open(
                &bus.js,
                &tenant.name,
                tenant.rules.clone(),
                lookups
                    .get(&tenant.name)
                    .map(|t| t.live.clone())
                    .unwrap_or_default(),
            )
            .await
            .with_context(|| format!("opening tenant {}'s rule state", tenant.name))?;
            rules.insert(tenant.name.clone(), Arc::new(opened));
        }
        let mut traces = HashMap::new();
        for tenant in &config.tenants {
            let trace =
                crate::trace::Trace::open(&bus.js, &tenant.name, &config.nats, tenant.trace)
                    .await
                    .with_context(|| format!("opening tenant {}'s trace", tenant.name))?;
            traces.insert(tenant.name.clone(), trace);
        }
        let tokens = crate::access::Tokens::open(&bus.js)
            .await
            .context("opening the admin API's tokens")?;
        tokio::spawn(tokens.clone().follow(stop.clone()));
        let audit = crate::access::audit::Audit::open(&bus.js)
            .await
            .context("opening the audit log")?;
        let service = Arc::new(Self {
            config,
            bus,
            registry,
            versions,
            routes,
            lookups,
            rules,
            traces,
            sweeping: tokio::sync::Mutex::default(),
            tokens,
            audit,
        });
        for tenant in &service.config.tenants {
            for route in &tenant.routes {
                service
                    .routes
                    .start(service.spec(&tenant.name, route.clone()))
                    .await?;
            }
        }
        for (tenant, name, body) in service.registry.routes(None).await? {
            service.apply_route(&tenant, &name, Some(&body)).await;
        }
        for rules in service.rules.values() {
            tokio::spawn(rules.clone().follow(stop.clone()));
        }
        // Each tenant's service-level timers and aged dead letters, until `stop`.
        for rules in service.rules.values() {
            tokio::spawn(crate::rules::sla::run(
                rules.clone(),
                service.bus.js.clone(),
                stop.clone(),
            ));
        }
        tokio::spawn(lookups::follow(
            service.clone(),
            lookup_changes,
            stop.clone(),
        ));
        tokio::spawn(follower::follow(service.clone(), changes, stop));
        Ok(service)
    }

    /// The configuration it started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The NATS connection.
    pub fn bus(&self) -> &Connection {
        &self.bus
    }

    /// Plugin versions and active pointers.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The admin API's tokens.
    pub fn tokens(&self) -> &crate::access::Tokens {
        &self.tokens
    }

    /// The admin API's audit log.
    pub fn audit(&self) -> &crate::access::audit::Audit {
        &self.audit
    }

    /// The slots' active versions, compiled.
    pub fn versions(&self) -> &Arc<Versions> {
        &self.versions
    }

    /// The routes running on this host.
    pub fn routes(&self) -> &Arc<Routes> {
        &self.routes
    }

    /// The tenant `name` this host serves, or a 404 listing those it does.
    pub fn tenant(&self, name: &str) -> Result<&TenantConfig, ServiceError> {
        self.config.tenant(name).ok_or_else(|| {
            let known: Vec<&str> = self
                .config
                .tenants
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            ServiceError::not_found(
                "tenant_not_found",
                format!(
                    "no tenant {name:?} on this host (it serves: {})",
                    known.join(", ")
                ),
            )
        })
    }

    /// A route's full description, with its tenant's master data (live, shared by the tenant's routes).
    fn spec(&self, tenant: &Tenant, route: crate::config::RouteDef) -> RouteSpec {
        RouteSpec::new(
            tenant.clone(),
            route,
            self.lookups.get(tenant).cloned().unwrap_or_default(),
        )
        .with_rules(self.rules.get(tenant).cloned())
        .with_trace(self.traces.get(tenant).cloned())
    }

    /// A tenant's business rules and their state.
    pub fn rules(&self, tenant: &Tenant) -> Result<&Arc<crate::rules::TenantRules>, ServiceError> {
        self.tenant(tenant)?;
        self.rules.get(tenant).ok_or_else(|| {
            ServiceError::not_found("no_tenant", format!("no tenant {tenant:?} on this host"))
        })
    }

    /// The sources of `tenant` some running route takes.
    pub async fn sources(&self, tenant: &Tenant) -> Vec<Source> {
        self.routes
            .specs()
            .await
            .into_iter()
            .filter(|spec| spec.tenant == *tenant)
            .filter_map(|spec| match spec.kind {
                Kind::Inbound { source, .. } => Some(source),
                Kind::Outbound { .. } => None,
            })
            .collect()
    }

    /// Waits until every route serves a version, at most `timeout`; false if some still wait.
    pub async fn wait_serving(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        for status in self.routes.status().await {
            let Some(spec) = self.routes.spec(&status.tenant, &status.name).await else {
                continue;
            };
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if self
                .routes
                .wait_running(&status.tenant, &spec.def(), true, left)
                .await
                .is_none()
            {
                return false;
            }
        }
        true
    }

    /// Moves documents no route takes to the dead letters, every few seconds, until `stop`.
    pub async fn sweep_until(self: &Arc<Self>, stop: watch::Receiver<bool>) {
        unrouted::sweep(self.clone(), stop).await;
    }

    /// Stops every route: each stops fetching and finishes what it has in flight, for at most `grace`; what is
    /// still in flight then is left unacknowledged and redelivered (to this host after a restart, or to another).
    /// The routes that did not finish in time.
    pub async fn stop_routes(&self, grace: Duration) -> Vec<String> {
        self.routes.stop_all(grace).await
    }
}

/// Registers a configuration's plugin file as a version of its slot, and activates it when the slot has no
/// active version or the file holds content the configuration never activated before (so editing the file and
/// restarting switches, while a version activated through the API survives a plain restart).
async fn seed_slot(
    registry: &Registry,
    versions: &Versions,
    seed: Seed,
) -> Result<(), ServiceError> {
    let by = format!("config {}", seed.path.display());
    let meta = version_meta(
        &seed.tenant,
        &seed.slot,
        &seed.plugin,
        &by,
        SignatureStatus::Unsigned,
    );
    versions.remember(seed.plugin);
    let meta = registry.add_version(meta, seed.bytes).await?;
    let state = registry.slot(&seed.tenant, &seed.slot).await?;
    let activate = match &state {
        None => true,
        Some(state) => {
            state.active.is_none()
                || !state
                    .history
                    .iter()
                    .any(|a| a.sha256 == meta.sha256 && a.by.starts_with("config "))
        }
    };
    if activate {
        registry
            .activate(&seed.tenant, &seed.slot, &meta.sha256, &by)
            .await?;
        tracing::info!(tenant = %seed.tenant, slot = %seed.slot, version = %meta.version, "slot seeded from {}", seed.path.display());
    }
    Ok(())
}

/// The registry's record of a checked plugin.
pub fn version_meta(
    tenant: &Tenant,
    slot: &Slot,
    plugin: &Plugin,
    by: &str,
    signature: SignatureStatus,
) -> VersionMeta {
    let (name, version) = plugin
        .info
        .as_ref()
        .map(|i| (i.name.clone(), i.version.clone()))
        .unwrap_or_else(|| (plugin.name.clone(), "0.0.0".into()));
    VersionMeta {
        tenant: tenant.clone(),
        slot: slot.clone(),
        sha256: plugin.sha256.clone(),
        name,
        version,
        world: plugin.world.wit_name().to_string(),
        contract: plugin.contract.clone(),
        size: plugin.size as u64,
        uploaded_by: by.to_string(),
        uploaded_at: jiff::Timestamp::now(),
        signature,
    }
}
