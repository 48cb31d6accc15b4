//! `millwright serve`: the service. Loads and compiles every route's plugin, reaches NATS (the embedded
//! nats-server unless a URL is given), creates the tenants' streams and the routes' consumers, runs the routes,
//! and on SIGTERM or Ctrl-C stops fetching, finishes what is in flight and stops the embedded server.
//!
//! A document sent to a source no route knows is not left unseen in the stream: a sweep, at start and every few
//! seconds, moves it to the tenant's dead letters (route `_unrouted`, class `no-route`) with a warning naming
//! the source, from where it can be replayed once a route for it exists.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_nats::jetstream;
use futures::TryStreamExt;
use tokio::sync::watch;

use crate::bus::{self, StreamKind, embedded::Embedded};
use crate::config::{Config, RouteCommon, Target, Tenant};
use crate::engine::{Engine, EngineOptions};
use crate::host_api::{Lookups, SlotContext};
use crate::invoke::{Limits, Mapper};
use crate::pipeline::{self, Kind, Route, http::Delivery, pool::Pool};
use crate::plugin::{Plugin, World};

/// The dead-letter route name for documents whose source no route takes.
pub const UNROUTED: &str = "_unrouted";

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
}

/// A route's plugin compiled and ready, before NATS is reached.
pub struct Prepared {
    tenant: String,
    common: RouteCommon,
    kind: Kind,
    pool: Pool,
    http: Option<Delivery>,
}

/// Loads and checks every route's plugin: an inbound route needs an inbound mapper, an outbound route an
/// outbound one. Compiling is CPU work, so this runs off the async runtime.
pub fn prepare(config: &Config, engine: &Engine) -> Result<Vec<Prepared>> {
    let mut prepared = Vec::new();
    for tenant in &config.tenants {
        let mut lookups = Lookups::default();
        for (table, file) in &tenant.lookups {
            lookups
                .load_csv(table, file)
                .with_context(|| format!("tenant {}", tenant.name))?;
        }
        for route in &tenant.inbound {
            let pool = load(
                config,
                engine,
                tenant,
                &route.common,
                &lookups,
                World::Inbound,
            )?;
            prepared.push(Prepared {
                tenant: tenant.name.clone(),
                common: route.common.clone(),
                kind: Kind::Inbound {
                    source: route.source.clone(),
                    text: route.text,
                },
                pool,
                http: None,
            });
        }
        for route in &tenant.outbound {
            let pool = load(
                config,
                engine,
                tenant,
                &route.common,
                &lookups,
                World::Outbound,
            )?;
            let http = match &route.target {
                Target::Http {
                    url,
                    method,
                    headers,
                    timeout,
                    ..
                } => Some(Delivery::new(url, method, headers.clone(), *timeout)?),
                Target::Subject { .. } => None,
            };
            prepared.push(Prepared {
                tenant: tenant.name.clone(),
                common: route.common.clone(),
                kind: Kind::Outbound {
                    events: route.events.clone(),
                    target: route.target.clone(),
                },
                pool,
                http,
            });
        }
    }
    Ok(prepared)
}

fn load(
    config: &Config,
    engine: &Engine,
    tenant: &Tenant,
    common: &RouteCommon,
    lookups: &Lookups,
    world: World,
) -> Result<Pool> {
    let place = format!(
        "{}, line {}: tenant {}, route {}",
        config.path.display(),
        common.line,
        tenant.name,
        common.name
    );
    let bytes = std::fs::read(&common.plugin)
        .with_context(|| format!("{place}: reading {}", common.plugin.display()))?;
    let plugin = Plugin::load(engine, &common.plugin.display().to_string(), &bytes)
        .with_context(|| place.clone())?;
    if plugin.world != world {
        bail!(
            "{place}: {} implements the {} world, but an {} route needs an {world}",
            common.plugin.display(),
            plugin.world,
            match world {
                World::Inbound => "inbound",
                World::Outbound => "outbound",
            },
        );
    }
    let mut slot =
        SlotContext::new(tenant.name.clone(), common.name.clone()).with_lookups(lookups.clone());
    for (key, value) in &common.config {
        slot = slot.with_config(key.clone(), value.clone());
    }
    let limits = Limits {
        deadline: common.deadline,
        memory_bytes: common.memory_bytes,
        ..Limits::default()
    };
    let mapper = Mapper::new(engine, plugin, slot, limits, common.instances)
        .with_context(|| place.clone())?;
    Pool::new(
        mapper,
        common.workers,
        &format!("{}/{}", tenant.name, common.name),
    )
    .with_context(|| format!("{place}: starting its plugin threads"))
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
    let signals = tokio::spawn(wait_for_signal(shutdown.clone()));

    let engine_options = EngineOptions::default().with_cache_dir(data_dir.join("compiled"));
    let prepared = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let engine = Engine::new(&engine_options)?;
            prepare(&config, &engine)
        })
        .await
        .context("compiling the plugins")??
    };

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
    let result = run(&config, &url, prepared, shutting_down).await;
    signals.abort();
    if let Some(embedded) = embedded {
        embedded.stop().await;
        tracing::info!("embedded nats-server stopped");
    }
    result
}

async fn run(
    config: &Config,
    url: &str,
    prepared: Vec<Prepared>,
    shutting_down: watch::Receiver<bool>,
) -> Result<()> {
    let (client, js) = bus::connect(url, &config.nats).await?;
    for tenant in &config.tenants {
        bus::ensure_streams(&js, &tenant.name, &config.nats).await?;
    }
    tracing::info!(
        "ready: {} routes for {} tenants on {url}",
        prepared.len(),
        config.tenants.len()
    );
    run_routes(config.clone(), js, prepared, shutting_down).await;
    if let Err(err) = client.flush().await {
        tracing::warn!("flushing the NATS connection: {err}");
    }
    tracing::info!("all routes stopped");
    Ok(())
}

/// Runs the prepared routes (and the sweep for unrouted documents) on `js` until `shutting_down` turns true and
/// every route has finished what it had in flight. The tenants' streams must exist.
pub async fn run_routes(
    config: Config,
    js: jetstream::Context,
    prepared: Vec<Prepared>,
    shutting_down: watch::Receiver<bool>,
) {
    let mut routes = tokio::task::JoinSet::new();
    for p in prepared {
        let route = Arc::new(Route {
            tenant: p.tenant,
            common: p.common,
            kind: p.kind,
            pool: p.pool,
            js: js.clone(),
            http: p.http,
        });
        routes.spawn(pipeline::run(route, shutting_down.clone()));
    }
    let sweeper = tokio::spawn(sweep_unrouted(js, config, shutting_down));
    while routes.join_next().await.is_some() {}
    let _ = sweeper.await;
}

async fn wait_for_signal(shutdown: watch::Sender<bool>) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::error!("cannot listen for SIGTERM: {err}");
            let _ = tokio::signal::ctrl_c().await;
            let _ = shutdown.send(true);
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing what is in flight"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: finishing what is in flight"),
    }
    let _ = shutdown.send(true);
}

/// Moves documents whose source has no route into the tenant's dead letters, every few seconds.
async fn sweep_unrouted(
    js: jetstream::Context,
    config: Config,
    mut shutting_down: watch::Receiver<bool>,
) {
    loop {
        for tenant in &config.tenants {
            if let Err(err) = sweep_tenant(&js, tenant).await {
                tracing::warn!(tenant = %tenant.name, "checking for documents no route takes: {err:#}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = shutting_down.changed() => return,
        }
    }
}

async fn sweep_tenant(js: &jetstream::Context, tenant: &Tenant) -> Result<()> {
    let sources: HashSet<&str> = tenant.inbound.iter().map(|r| r.source.as_str()).collect();
    let stream = js
        .get_stream(bus::stream_name(&tenant.name, StreamKind::In))
        .await?;
    let prefix = format!("mw.{}.in.", tenant.name);
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
        tracing::warn!(
            tenant = %tenant.name,
            source,
            count,
            "no route takes source {source}: its documents go to the dead letters (mw.{}.dlq.{UNROUTED}); add a route and replay them",
            tenant.name
        );
        let mut next = 1;
        loop {
            let message = match stream
                .direct_get_next_for_subject(&subject, Some(next))
                .await
            {
                Ok(message) => message,
                Err(_) => break,
            };
            next = message.sequence + 1;
            let mut headers = bus::carried_headers(Some(&message.headers));
            let key = format!(
                "{}:{}",
                bus::stream_name(&tenant.name, StreamKind::In),
                message.sequence
            );
            if bus::header(Some(&headers), bus::CORRELATION_ID).is_none() {
                let stored_at =
                    jiff::Timestamp::from_nanosecond(message.time.unix_timestamp_nanos())
                        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let derived = pipeline::derived_correlation_id(&key, stored_at);
                headers.insert(bus::CORRELATION_ID, derived.as_str());
            }
            headers.insert(bus::MSG_ID, format!("dlq:{UNROUTED}:{key}").as_str());
            headers.insert(bus::SOURCE, source);
            headers.insert(bus::DLQ_ROUTE, UNROUTED);
            headers.insert(bus::DLQ_CLASS, "no-route");
            headers.insert(
                bus::DLQ_ERROR,
                format!(
                    "tenant {} has no inbound route for source {source}",
                    tenant.name
                )
                .as_str(),
            );
            headers.insert(bus::DLQ_ATTEMPTS, "0");
            headers.insert(bus::DLQ_AT, jiff::Timestamp::now().to_string().as_str());
            headers.insert(bus::DLQ_REPLAY_TO, subject.as_str());
            js.publish_with_headers(
                bus::dlq_subject(&tenant.name, UNROUTED),
                headers,
                message.payload.clone(),
            )
            .await?
            .await?;
            stream.delete_message(message.sequence).await?;
        }
    }
    Ok(())
}
