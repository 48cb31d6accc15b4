//! `millwright serve`: starts the service and stops it, in order.
//!
//! Start: check the plugin files the configuration names (compiling them, before anything else, so a bad file
//! stops the host at once), bind the admin API's listener, reach NATS (the embedded nats-server unless a URL is
//! given), create the tenants' streams, start the [`Service`] (registry, slots, routes), then serve the admin API
//! and sweep unrouted documents. A signal during start-up stops it where it is.
//!
//! Stop, on SIGTERM or Ctrl-C, one step after the other, each logged with what it left:
//! 1. the admin API stops taking requests, finishing those it has (at most 10 s);
//! 2. every route stops fetching and finishes the messages it holds — publishes their outputs and acknowledges
//!    them — for at most the grace period (`--shutdown-grace`, 30 s by default); what a route still holds then is
//!    left unacknowledged, and JetStream redelivers it, to this host after a restart or to another;
//! 3. the NATS connection is flushed (at most 5 s), so acknowledgments sent are not lost in a buffer;
//! 4. the embedded nats-server, when there is one, is stopped.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::admin;
use crate::bus::{self, embedded::Embedded};
use crate::config::Config;
use crate::service::{Prepared, Service};

/// How long routes may take to finish what they hold at shutdown, unless told otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

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
    /// How long routes may take to finish what they hold at shutdown.
    pub grace: Duration,
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

    let compiling = {
        let (config, cache) = (config.clone(), data_dir.join("compiled"));
        tokio::task::spawn_blocking(move || Prepared::new(config, &cache))
    };
    let plugins = config
        .tenants
        .iter()
        .flat_map(|t| &t.routes)
        .filter(|r| r.common.plugin.is_some())
        .count();
    tracing::info!("compiling the {plugins} plugin file(s) the configuration names");
    let Some(compiled) = starting(&shutting_down, "compiling the plugins", compiling).await else {
        return Ok(());
    };
    let prepared = compiled.context("compiling the plugins")??;
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
        connect_and_start(prepared, &url, shutting_down.clone()),
    )
    .await
    {
        None => Ok(()),
        Some(Err(err)) => Err(err),
        Some(Ok(service)) => {
            started.store(true, Ordering::SeqCst);
            run(service, &url, admin, shutting_down, options.grace).await;
            Ok(())
        }
    };
    signals.abort();
    if let Some(embedded) = embedded {
        embedded.stop().await;
        tracing::info!("shutdown: the embedded nats-server stopped");
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
    prepared: Prepared,
    url: &str,
    shutting_down: watch::Receiver<bool>,
) -> Result<Arc<Service>> {
    let connection = bus::connect(url, &prepared.config().nats).await?;
    tracing::info!(
        "NATS at {url} takes messages of up to {} bytes (max_payload); larger outputs are dead-lettered",
        connection.max_payload()
    );
    Service::start(prepared, connection, shutting_down).await
}

/// Serves until the signal, then stops in order: the admin API, the routes (within `grace`), the connection.
async fn run(
    service: Arc<Service>,
    url: &str,
    admin: admin::Admin,
    shutting_down: watch::Receiver<bool>,
    grace: Duration,
) {
    let admin = admin.serve(service.clone(), shutting_down.clone());
    tracing::info!(
        "ready: {} routes for {} tenants on {url}",
        service.routes().specs().await.len(),
        service.config().tenants.len(),
    );
    service.sweep_until(shutting_down).await;

    match tokio::time::timeout(Duration::from_secs(10), admin).await {
        Ok(_) => tracing::info!("shutdown: the admin API stopped"),
        Err(_) => {
            tracing::warn!("shutdown: the admin API had requests running after 10 s; they were cut")
        }
    }
    let unfinished = service.stop_routes(grace).await;
    if unfinished.is_empty() {
        tracing::info!("shutdown: every route stopped; nothing is left in flight");
    } else {
        tracing::warn!(
            "shutdown: {} route(s) still had messages in flight after {grace:?} and were stopped: {}; JetStream redelivers those messages",
            unfinished.len(),
            unfinished.join(", ")
        );
    }
    match tokio::time::timeout(Duration::from_secs(5), service.bus().client.flush()).await {
        Ok(Ok(())) => tracing::info!("shutdown: the NATS connection is flushed"),
        Ok(Err(err)) => tracing::warn!("shutdown: flushing the NATS connection: {err}"),
        Err(_) => tracing::warn!(
            "shutdown: the NATS connection did not flush within 5 s; unsent acknowledgments are redelivered"
        ),
    }
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
