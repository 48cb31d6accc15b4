//! `millwright serve`: the service. Checks the plugin files the configuration names, reaches NATS (the embedded
//! nats-server unless a URL is given), creates the tenants' streams, opens the plugin registry on JetStream and
//! seeds the routes' slots from those files, starts the routes — the file's and those made through the admin
//! API, which every host follows through the registry's KV watch — and the admin API; on SIGTERM or Ctrl-C it
//! stops fetching, finishes what is in flight and stops the embedded server.
//!
//! A document sent to a source no route knows is not left unseen in the stream: a sweep, at start and every few
//! seconds, moves it to the tenant's dead letters (route `_unrouted`, class `no-route`) with a warning naming
//! the source, from where it can be replayed once a route for it exists. A source whose route was deleted keeps
//! its durable consumer: only what lies beyond what that consumer acknowledged is moved.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;

use crate::admin;
use crate::bus::{self, StreamKind, embedded::Embedded};
use crate::config::{self, ApiRoute, Config, RouteCommon};
use crate::engine::{Engine, EngineOptions};
use crate::host_api::Lookups;
use crate::pipeline::{
    Kind, dlq,
    routes::{Origin, RouteSpec, Routes},
};
use crate::plugin::{Plugin, World};
use crate::registry::{
    Change, Registry, SignatureStatus, VersionMeta,
    jetstream::{JsBackend, JsOptions},
};
use crate::swap::{self, Versions};

pub use crate::pipeline::dlq::UNROUTED;

/// Where `serve` keeps its state when neither the flag nor the file says: `$XDG_DATA_HOME/millwright`, else
/// `~/.local/share/millwright`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("millwright");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/millwright")
}

/// Everything `serve` needs besides the file.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Join this NATS server or cluster instead of the file's URL or the embedded server.
    pub nats_url: Option<String>,
    /// The data dir, instead of the file's or the default.
    pub data_dir: Option<PathBuf>,
    /// The admin API's address and token.
    pub admin: admin::AdminOptions,
}

/// A plugin file named by a route of the configuration, checked and compiled before NATS is reached: it seeds
/// the route's slot.
#[derive(Debug)]
pub struct Seed {
    tenant: String,
    slot: String,
    path: std::path::PathBuf,
    bytes: Bytes,
    plugin: Plugin,
}

/// Checks every plugin file the configuration names: a component of the route's world that describes itself.
/// Compiling is CPU work, so call this off the async runtime. A bad file fails here, naming its line.
pub fn check_plugins(config: &Config, engine: &Engine) -> Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for tenant in &config.tenants {
        let routes = tenant
            .inbound
            .iter()
            .map(|r| (&r.common, World::Inbound))
            .chain(tenant.outbound.iter().map(|r| (&r.common, World::Outbound)));
        for (common, world) in routes {
            let Some(path) = &common.plugin else { continue };
            let place = format!(
                "{}, line {}: tenant {}, route {}",
                config.path.display(),
                common.line,
                tenant.name,
                common.name
            );
            let bytes = std::fs::read(path)
                .with_context(|| format!("{place}: reading {}", path.display()))?;
            let needed = swap::Needed {
                world,
                by: format!(
                    "an {} route",
                    match world {
                        World::Inbound => "inbound",
                        World::Outbound => "outbound",
                    }
                ),
            };
            let plugin = swap::inspect(
                engine,
                &path.display().to_string(),
                &bytes,
                &tenant.name,
                &common.slot,
                Some(&needed),
            )
            .with_context(|| place.clone())?;
            seeds.push(Seed {
                tenant: tenant.name.clone(),
                slot: common.slot.clone(),
                path: path.clone(),
                bytes: Bytes::from(bytes),
                plugin,
            });
        }
    }
    Ok(seeds)
}

/// The running service: the registry, the slots' active versions and the routes, on one NATS connection.
pub struct Service {
    /// The configuration it started with.
    pub config: Config,
    /// The NATS connection and JetStream on it.
    pub bus: bus::Connection,
    /// Plugin versions and active pointers.
    pub registry: Registry,
    /// The slots' active versions, compiled.
    pub versions: Arc<Versions>,
    /// The routes running on this host.
    pub routes: Arc<Routes>,
    lookups: HashMap<String, Lookups>,
    /// Held while the sweep moves a tenant's unrouted documents, and while a route starts: a route never
    /// starts consuming a source whose documents are being moved to the dead letters.
    sweeping: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Service {
    /// Opens the registry on JetStream, seeds the slots from the configuration's plugin files, and starts the
    /// file's routes and those made through the API. The tenants' streams must exist. Runs until `stop`.
    pub async fn start(
        config: Config,
        bus: bus::Connection,
        engine: Engine,
        seeds: Vec<Seed>,
        stop: watch::Receiver<bool>,
    ) -> Result<Arc<Self>> {
        let backend = JsBackend::open(bus.js.clone(), &JsOptions::default())
            .await
            .context("opening the plugin registry on JetStream")?;
        let registry = Registry::new(Arc::new(backend));
        let tenants = config.tenants.iter().map(|t| t.name.clone()).collect();
        let versions = Versions::start(engine, registry.clone(), tenants, stop.clone()).await?;
        for seed in seeds {
            seed_slot(&registry, &versions, seed).await?;
        }
        let mut lookups = HashMap::new();
        for tenant in &config.tenants {
            let mut tables = Lookups::default();
            for (table, file) in &tenant.lookups {
                tables
                    .load_csv(table, file)
                    .with_context(|| format!("tenant {}", tenant.name))?;
            }
            lookups.insert(tenant.name.clone(), tables);
        }
        let routes = Arc::new(Routes::new(bus.clone(), versions.clone()));
        let service = Arc::new(Self {
            config,
            bus,
            registry,
            versions,
            routes,
            lookups,
            sweeping: tokio::sync::Mutex::default(),
        });
        let mut changes = service
            .registry
            .watch()
            .await
            .context("watching the registry's routes")?;
        for tenant in &service.config.tenants {
            for route in &tenant.inbound {
                service
                    .routes
                    .start(service.spec(
                        &tenant.name,
                        route.common.clone(),
                        Kind::Inbound {
                            source: route.source.clone(),
                            text: route.text,
                        },
                        Origin::Config {
                            line: route.common.line,
                        },
                    ))
                    .await?;
            }
            for route in &tenant.outbound {
                service
                    .routes
                    .start(service.spec(
                        &tenant.name,
                        route.common.clone(),
                        Kind::Outbound {
                            events: route.events.clone(),
                            target: route.target.clone(),
                        },
                        Origin::Config {
                            line: route.common.line,
                        },
                    ))
                    .await?;
            }
        }
        for (tenant, name, body) in service.registry.routes(None).await? {
            service.apply_route(&tenant, &name, Some(&body)).await;
        }
        let follower = service.clone();
        let mut stop = stop;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    change = changes.next() => match change {
                        Some(Change::Route { tenant, name, route }) => {
                            follower.apply_route(&tenant, &name, route.as_ref()).await;
                        }
                        Some(_) => {}
                        None => {
                            tracing::warn!("the registry's watch ended; watching it again");
                            let Some(again) = follower.rewatch(&mut stop).await else { return };
                            changes = again;
                        }
                    },
                    _ = stop.changed() => return,
                }
            }
        });
        Ok(service)
    }

    /// A new watch of the registry once it can be had (retrying every second), after which the API's routes
    /// are read again: those stored meanwhile start, those deleted meanwhile stop. `None` when `stop` turns
    /// true first.
    async fn rewatch(
        &self,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<futures::stream::BoxStream<'static, Change>> {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return None,
            }
            let changes = match self.registry.watch().await {
                Ok(changes) => changes,
                Err(err) => {
                    tracing::warn!("watching the registry: {err}; retrying");
                    continue;
                }
            };
            let stored = match self.registry.routes(None).await {
                Ok(stored) => stored,
                Err(err) => {
                    tracing::warn!("reading the registry's routes: {err}; retrying");
                    continue;
                }
            };
            let kept: HashSet<(String, String)> = stored
                .iter()
                .map(|(tenant, name, _)| (tenant.clone(), name.clone()))
                .collect();
            for (tenant, name, body) in &stored {
                self.apply_route(tenant, name, Some(body)).await;
            }
            for spec in self.routes.specs().await {
                let key = (spec.tenant.clone(), spec.common.name.clone());
                if spec.origin == Origin::Api && !kept.contains(&key) {
                    self.apply_route(&key.0, &key.1, None).await;
                }
            }
            return Some(changes);
        }
    }

    /// A route's full description.
    pub fn spec(&self, tenant: &str, common: RouteCommon, kind: Kind, origin: Origin) -> RouteSpec {
        RouteSpec {
            tenant: tenant.to_string(),
            common,
            kind,
            lookups: self.lookups.get(tenant).cloned().unwrap_or_default(),
            origin,
        }
    }

    /// The route `name` of `tenant` as the API stored it, checked into a spec.
    pub fn api_spec(
        &self,
        tenant: &str,
        name: &str,
        body: &serde_json::Value,
    ) -> Result<RouteSpec> {
        let route = config::api_route(tenant, name, body)?;
        Ok(match route {
            ApiRoute::Inbound(route) => self.spec(
                tenant,
                route.common,
                Kind::Inbound {
                    source: route.source,
                    text: route.text,
                },
                Origin::Api,
            ),
            ApiRoute::Outbound(route) => self.spec(
                tenant,
                route.common,
                Kind::Outbound {
                    events: route.events,
                    target: route.target,
                },
                Origin::Api,
            ),
        })
    }

    /// Starts, restarts or stops an API route after a change in the registry (from this host or another).
    async fn apply_route(&self, tenant: &str, name: &str, body: Option<&serde_json::Value>) {
        if self.config.tenant(tenant).is_none() {
            tracing::warn!(
                tenant,
                route = name,
                "the registry has a route for a tenant this host does not serve; ignored"
            );
            return;
        }
        let running = self.routes.spec(tenant, name).await;
        if let Some(RouteSpec {
            origin: Origin::Config { line },
            ..
        }) = running
        {
            tracing::warn!(
                tenant,
                route = name,
                "the registry has a route named like the file's route at line {line}; the file's wins"
            );
            return;
        }
        match body {
            Some(body) => match self.api_spec(tenant, name, body) {
                Ok(spec) => {
                    if running.as_ref().is_some_and(|r| {
                        r.origin == Origin::Api && r.common == spec.common && r.kind == spec.kind
                    }) {
                        // Already running as stored (a change seen twice, or a resync).
                        return;
                    }
                    let _no_sweep = self.sweeping.lock().await;
                    if let Err(err) = self.routes.start(spec).await {
                        tracing::error!(tenant, route = name, "starting the route: {err:#}");
                    } else {
                        tracing::info!(tenant, route = name, "route started from the registry");
                    }
                }
                Err(err) => {
                    tracing::error!(
                        tenant,
                        route = name,
                        "the registry's route cannot run here: {err:#}"
                    );
                }
            },
            None => {
                if self.routes.stop(tenant, name).await {
                    tracing::info!(tenant, route = name, "route removed");
                }
            }
        }
    }

    /// The sources of `tenant` some running route takes.
    pub async fn sources(&self, tenant: &str) -> HashSet<String> {
        self.routes
            .specs()
            .await
            .into_iter()
            .filter(|spec| spec.tenant == tenant)
            .filter_map(|spec| match spec.kind {
                Kind::Inbound { source, .. } => Some(source),
                Kind::Outbound { .. } => None,
            })
            .collect()
    }

    /// Waits until every route serves a version, at most `timeout`; false if some still wait.
    pub async fn wait_serving(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self
                .routes
                .status()
                .await
                .iter()
                .all(|r| r.serving.is_some())
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Runs the sweep for unrouted documents until `stop`, then stops every route, each finishing what it has
    /// in flight.
    pub async fn run_until(self: &Arc<Self>, stop: watch::Receiver<bool>) {
        sweep_unrouted(self.clone(), stop).await;
        self.routes.stop_all().await;
    }
}

/// Registers a configuration's plugin file as a version of its slot, and activates it when the slot has no
/// active version or the file holds content the configuration never activated before (so editing the file and
/// restarting switches, while a version activated through the API survives a plain restart).
async fn seed_slot(registry: &Registry, versions: &Versions, seed: Seed) -> Result<()> {
    let by = format!("config {}", seed.path.display());
    let meta = version_meta(
        &seed.tenant,
        &seed.slot,
        &seed.plugin,
        &by,
        SignatureStatus::Unsigned,
    );
    versions.remember(seed.plugin);
    let meta = registry
        .add_version(meta, seed.bytes)
        .await
        .with_context(|| {
            format!(
                "registering {} in slot {}/{}",
                seed.path.display(),
                seed.tenant,
                seed.slot
            )
        })?;
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
            .await
            .with_context(|| {
                format!(
                    "activating {} in slot {}/{}",
                    seed.path.display(),
                    seed.tenant,
                    seed.slot
                )
            })?;
        tracing::info!(tenant = %seed.tenant, slot = %seed.slot, version = %meta.version, "slot seeded from {}", seed.path.display());
    }
    Ok(())
}

/// The registry's record of a checked plugin.
pub fn version_meta(
    tenant: &str,
    slot: &str,
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
        tenant: tenant.to_string(),
        slot: slot.to_string(),
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

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn serve(config: Config, options: ServeOptions) -> Result<()> {
    let data_dir = options
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data dir {}", data_dir.display()))?;
    let (shutdown, shutting_down) = watch::channel(false);
    let started = Arc::new(AtomicBool::new(false));
    let signals = tokio::spawn(wait_for_signal(shutdown.clone(), started.clone()));

    let engine_options = EngineOptions::default().with_cache_dir(data_dir.join("compiled"));
    let compiling = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let engine = Engine::new(&engine_options)?;
            let seeds = check_plugins(&config, &engine)?;
            Ok((engine, seeds))
        })
    };
    let plugins = config
        .tenants
        .iter()
        .flat_map(|t| {
            t.inbound
                .iter()
                .map(|r| &r.common)
                .chain(t.outbound.iter().map(|r| &r.common))
        })
        .filter(|r| r.plugin.is_some())
        .count();
    tracing::info!("compiling the {plugins} plugin file(s) the configuration names");
    let Some(compiled) = starting(&shutting_down, "compiling the plugins", compiling).await else {
        return Ok(());
    };
    let (engine, seeds) = compiled.context("compiling the plugins")??;
    let admin = admin::Admin::bind(&options.admin).await?;

    let url = options.nats_url.clone().or_else(|| config.nats.url.clone());
    let embedded = match &url {
        Some(_) => None,
        None => Some(Embedded::start(&data_dir, config.nats.embedded_port).await?),
    };
    let url = url.unwrap_or_else(|| {
        embedded
            .as_ref()
            .map(|e| e.url().to_string())
            .unwrap_or_default()
    });
    let result = match starting(
        &shutting_down,
        "connecting to NATS and starting the routes",
        connect_and_start(config, &url, engine, seeds, shutting_down.clone()),
    )
    .await
    {
        None => Ok(()),
        Some(Err(err)) => Err(err),
        Some(Ok((service, tenants))) => {
            started.store(true, Ordering::SeqCst);
            run(service, tenants, &url, admin, shutting_down).await
        }
    };
    signals.abort();
    if let Some(embedded) = embedded {
        embedded.stop().await;
        tracing::info!("embedded nats-server stopped");
    }
    result
}

/// Runs one step of start-up unless a signal stops the service first: `None` (and a log line saying which step
/// it stopped) when it did. Dropping the step abandons it: nothing it was making is kept (a compile finishes
/// on its thread and is dropped, the compile cache keeps only plugins that passed every check), and nothing was
/// consumed yet, so nothing is lost.
async fn starting<T>(
    stop: &watch::Receiver<bool>,
    step: &str,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    let mut stop = stop.clone();
    tokio::select! {
        done = work => Some(done),
        _ = stop.wait_for(|stopped| *stopped) => {
            tracing::info!("start-up stopped while {step}; nothing was consumed");
            None
        }
    }
}

async fn connect_and_start(
    config: Config,
    url: &str,
    engine: Engine,
    seeds: Vec<Seed>,
    shutting_down: watch::Receiver<bool>,
) -> Result<(Arc<Service>, usize)> {
    let connection = bus::connect(url, &config.nats).await?;
    tracing::info!(
        "NATS at {url} takes messages of up to {} bytes (max_payload); larger outputs are dead-lettered",
        connection.max_payload()
    );
    for tenant in &config.tenants {
        bus::ensure_streams(&connection.js, &tenant.name, &config.nats).await?;
    }
    let tenants = config.tenants.len();
    let service = Service::start(config, connection, engine, seeds, shutting_down).await?;
    Ok((service, tenants))
}

async fn run(
    service: Arc<Service>,
    tenants: usize,
    url: &str,
    admin: admin::Admin,
    shutting_down: watch::Receiver<bool>,
) -> Result<()> {
    let admin = admin.serve(service.clone(), shutting_down.clone());
    tracing::info!(
        "ready: {} routes for {tenants} tenants on {url}",
        service.routes.specs().await.len(),
    );
    service.run_until(shutting_down).await;
    let _ = admin.await;
    if let Err(err) = service.bus.client.flush().await {
        tracing::warn!("flushing the NATS connection: {err}");
    }
    tracing::info!("all routes stopped");
    Ok(())
}

async fn wait_for_signal(shutdown: watch::Sender<bool>, started: Arc<AtomicBool>) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::error!("cannot listen for SIGTERM: {err}");
            let _ = tokio::signal::ctrl_c().await;
            let _ = shutdown.send(true);
            return;
        }
    };
    let signal = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "interrupted",
    };
    if started.load(Ordering::SeqCst) {
        tracing::info!("{signal}: finishing what is in flight");
    } else {
        tracing::info!("{signal} during start-up: stopping start-up");
    }
    let _ = shutdown.send(true);
}

/// Moves documents whose source has no route into the tenant's dead letters, every few seconds.
async fn sweep_unrouted(service: Arc<Service>, mut shutting_down: watch::Receiver<bool>) {
    loop {
        for tenant in &service.config.tenants {
            let _sweeping = service.sweeping.lock().await;
            let sources = service.sources(&tenant.name).await;
            if let Err(err) = sweep_tenant(&service.bus, &tenant.name, &sources).await {
                tracing::warn!(tenant = %tenant.name, "checking for documents no route takes: {err:#}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = shutting_down.changed() => return,
        }
    }
}

async fn sweep_tenant(
    connection: &bus::Connection,
    tenant: &str,
    sources: &HashSet<String>,
) -> Result<()> {
    let stream = connection
        .js
        .get_stream(bus::stream_name(tenant, StreamKind::In))
        .await?;
    let prefix = format!("mw.{tenant}.in.");
    let subjects: Vec<(String, usize)> = stream
        .info_with_subjects(format!("{prefix}>"))
        .await?
        .try_collect()
        .await?;
    for (subject, count) in subjects {
        let source = &subject[prefix.len()..];
        if count == 0 || sources.contains(source) {
            continue;
        }
        // A source that had a route has its durable consumer still: what it acknowledged was delivered, so only
        // what lies beyond goes to the dead letters.
        let mut done = 0;
        let mut consuming = false;
        let mut consumers = stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info?;
            if info.config.filter_subject == subject {
                done = done.max(info.ack_floor.stream_sequence);
                // Pull requests waiting or messages out: a host of the fleet runs a route for the source already.
                consuming |= info.num_waiting > 0 || info.num_ack_pending > 0;
            }
        }
        if consuming {
            continue;
        }
        if stream
            .direct_get_next_for_subject(&subject, Some(done + 1))
            .await
            .is_err()
        {
            continue;
        }
        tracing::warn!(
            %tenant,
            source,
            count,
            "no route takes source {source}: its documents go to the dead letters (mw.{tenant}.dlq.{UNROUTED}); add a route and replay them"
        );
        let mut next = done + 1;
        loop {
            let message = match stream
                .direct_get_next_for_subject(&subject, Some(next))
                .await
            {
                Ok(message) => message,
                Err(_) => break,
            };
            next = message.sequence + 1;
            let key = format!(
                "{}:{}",
                bus::stream_name(tenant, StreamKind::In),
                message.sequence
            );
            let headers = dlq::unrouted_headers(tenant, source, &subject, &key, &message);
            dlq::store(
                connection,
                tenant,
                UNROUTED,
                &key,
                headers,
                message.payload.clone(),
            )
            .await?;
            stream.delete_message(message.sequence).await?;
        }
    }
    Ok(())
}
