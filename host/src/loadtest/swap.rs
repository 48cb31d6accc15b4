//! `millwright bench swap`: hot swap under a steady stream, measured end to end.
//!
//! One process runs a nats-server (its own, unless `--nats-url`), the service with one inbound route on slot
//! `supplier-856`, and the admin API on a free loopback port. A publisher sends ship notices at a steady rate;
//! meanwhile versions of the plugin are uploaded through the API and activated (each a new build: the plugin's
//! bytes with a custom section naming the build, so a new sha256 and a real compile), alternating with
//! re-activations of versions compiled before. It reports, in the same run:
//!
//! - upload-to-serving time (the request sent until the answer says this host's route serves the version,
//!   compile included) and re-activation time of a compiled version;
//! - publish-to-output latency of documents published in the windows around swaps (from the request to one
//!   second after the answer) against those published outside them, p50 and p99, and their ratio;
//! - documents lost (no output) and duplicated (more than one output), which must be 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::consumer;
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;

use super::{packs_for, ship_notice};
use crate::admin::{Admin, AdminOptions};
use crate::bus::{self, embedded::Embedded};
use crate::config::Config;
use crate::serve;

/// What to run.
#[derive(Debug, Clone)]
pub struct SwapOptions {
    /// The inbound plugin (built 856 component).
    pub plugin: PathBuf,
    /// Documents published in all.
    pub documents: usize,
    /// Documents per second.
    pub rate: usize,
    /// Swaps during the stream (half new uploads, half re-activations).
    pub swaps: usize,
    /// Approximate document size.
    pub size: usize,
    /// Use this NATS server instead of starting one.
    pub nats_url: Option<String>,
}

/// Latency figures of one group of documents.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Documents in the group.
    pub documents: usize,
    /// Median publish-to-output latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct SwapReport {
    /// Upload request to serving, compile included, per new version (ms).
    pub upload_to_serving_ms: Vec<f64>,
    /// Re-activation of a compiled version to serving (ms).
    pub reactivation_ms: Vec<f64>,
    /// Documents published outside the swap windows.
    pub steady: Latency,
    /// Documents published inside them.
    pub around_swaps: Latency,
    /// around_swaps.p99 / steady.p99.
    pub p99_ratio: f64,
    /// Documents with no output.
    pub lost: usize,
    /// Documents with more than one output.
    pub duplicated: usize,
}

const TOKEN: &str = "bench-swap";
const TENANT: &str = "benchswap";
const SLOT: &str = "supplier-856";
/// How long after an activation's answer documents still count as published around the swap.
const AFTER: Duration = Duration::from_secs(1);

/// The plugin's bytes with a custom section naming `build`: the same mapping, another sha256.
pub fn build_variant(component: &[u8], build: u32) -> Vec<u8> {
    fn leb128(out: &mut Vec<u8>, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"millwright-build";
    let mut section = Vec::new();
    leb128(&mut section, name.len() as u64);
    section.extend_from_slice(name);
    section.extend_from_slice(&build.to_le_bytes());
    let mut out = component.to_vec();
    out.push(0);
    leb128(&mut out, section.len() as u64);
    out.extend_from_slice(&section);
    out
}

/// Runs it.
pub async fn run(options: SwapOptions) -> Result<SwapReport> {
    if !options.plugin.is_file() {
        bail!(
            "no plugin at {} (build the plugins with `millwright plugin build`)",
            options.plugin.display()
        );
    }
    if options.rate == 0 || options.documents == 0 {
        bail!("--documents and --rate must be at least 1");
    }
    let plugin = std::fs::canonicalize(&options.plugin)?;
    let component = std::fs::read(&plugin)?;
    let data = tempfile::tempdir().context("a temporary data dir")?;
    let embedded = match &options.nats_url {
        Some(_) => None,
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            Some(Embedded::start(data.path(), port).await?)
        }
    };
    let url = options
        .nats_url
        .clone()
        .or_else(|| embedded.as_ref().map(|e| e.url().to_string()))
        .unwrap_or_default();
    let config_text = format!(
        "[nats]\nmax_age = \"1h\"\n\n[tenants.{TENANT}]\n\n[[tenants.{TENANT}.inbound]]\nsource = \"{SLOT}\"\nplugin = \"{}\"\nworkers = 2\n",
        plugin.display()
    );
    let config = Config::parse(&config_text, &data.path().join("bench.toml"), &|name| {
        std::env::var(name).ok()
    })?;
    let result = run_on(&options, &component, config, &url, data.path()).await;
    if let Some(embedded) = embedded {
        embedded.stop().await;
    }
    result
}

async fn run_on(
    options: &SwapOptions,
    component: &[u8],
    config: Config,
    url: &str,
    data: &std::path::Path,
) -> Result<SwapReport> {
    let (client, js) = bus::connect(url, &config.nats).await?;
    let engine = crate::engine::Engine::new(
        &crate::engine::EngineOptions::default().with_cache_dir(data.join("compiled")),
    )?;
    let seeds = {
        let config = config.clone();
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || serve::check_plugins(&config, &engine)).await??
    };
    bus::ensure_streams(&js, TENANT, &config.nats).await?;
    let ev = js
        .get_stream(bus::stream_name(TENANT, bus::StreamKind::Ev))
        .await?
        .create_consumer(consumer::pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            max_ack_pending: 20_000,
            ..Default::default()
        })
        .await?;
    let (stop, stopping) = watch::channel(false);
    let service = serve::Service::start(
        config,
        client.clone(),
        js.clone(),
        engine,
        seeds,
        stopping.clone(),
    )
    .await?;
    if !service.wait_serving(Duration::from_secs(60)).await {
        bail!("the bench route did not start serving within a minute");
    }
    let admin = Admin::bind(&AdminOptions {
        addr: "127.0.0.1:0".into(),
        token: Some(TOKEN.into()),
        ..AdminOptions::default()
    })
    .await?;
    let admin_url = format!("http://{}", admin.local_addr()?);
    let admin_task = admin.serve(service.clone(), stopping.clone());
    let routes = {
        let service = service.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move { service.run_until(stopping).await })
    };

    let origin = Instant::now();
    // Outputs: correlation id -> receive times (more than one is a duplicate).
    let received: Arc<Mutex<HashMap<usize, Vec<Duration>>>> = Arc::default();
    let collector = {
        let received = received.clone();
        let expected = options.documents;
        tokio::spawn(async move {
            let mut messages = ev.messages().await?;
            let mut count = 0usize;
            while count < expected {
                let Ok(Some(message)) =
                    tokio::time::timeout(Duration::from_secs(30), messages.next()).await
                else {
                    break;
                };
                let message = message.map_err(|e| anyhow::anyhow!("consuming: {e}"))?;
                let at = origin.elapsed();
                if let Some(index) = bus::header(message.headers.as_ref(), bus::CORRELATION_ID)
                    .and_then(|c| c.strip_prefix("swap-"))
                    .and_then(|i| i.parse::<usize>().ok())
                    && let Ok(mut received) = received.lock()
                {
                    received.entry(index).or_default().push(at);
                }
                count += 1;
                message
                    .ack()
                    .await
                    .map_err(|e| anyhow::anyhow!("acknowledging: {e}"))?;
            }
            anyhow::Ok(())
        })
    };

    let document = ship_notice(packs_for(options.size), "SHP-SWAP");
    let interval = Duration::from_secs_f64(1.0 / options.rate as f64);
    let publisher = {
        let js = js.clone();
        let documents = options.documents;
        let subject = bus::in_subject(TENANT, SLOT);
        tokio::spawn(async move {
            let mut sent = Vec::with_capacity(documents);
            let mut acks = Vec::new();
            for index in 0..documents {
                let due = interval.mul_f64(index as f64);
                if let Some(wait) = due.checked_sub(origin.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
                let mut headers = HeaderMap::new();
                headers.insert(bus::CORRELATION_ID, format!("swap-{index}").as_str());
                sent.push(origin.elapsed());
                acks.push(
                    js.publish_with_headers(subject.clone(), headers, document.clone().into())
                        .await?,
                );
                if acks.len() >= 512 {
                    for ack in acks.drain(..) {
                        ack.await?;
                    }
                }
            }
            for ack in acks {
                ack.await?;
            }
            anyhow::Ok(sent)
        })
    };

    // The swaps, spread over the middle of the stream.
    let http = reqwest::Client::new();
    let total = interval.mul_f64(options.documents as f64);
    let mut windows: Vec<(Duration, Duration)> = Vec::new();
    let mut uploads = Vec::new();
    let mut reactivations = Vec::new();
    let mut shas: Vec<String> = Vec::new();
    for swap in 0..options.swaps {
        let due = total.mul_f64((swap + 1) as f64 / (options.swaps + 1) as f64);
        if let Some(wait) = due.checked_sub(origin.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let requested = origin.elapsed();
        let started = Instant::now();
        if swap % 2 == 0 || shas.len() < 2 {
            let bytes = build_variant(component, swap as u32 + 1);
            let form = reqwest::multipart::Form::new().part(
                "plugin",
                reqwest::multipart::Part::bytes(bytes).file_name("plugin.wasm"),
            );
            let answer: serde_json::Value = http
                .post(format!(
                    "{admin_url}/v1/tenants/{TENANT}/plugins/{SLOT}/versions?activate=true&shadow=false"
                ))
                .bearer_auth(TOKEN)
                .multipart(form)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            uploads.push(started.elapsed().as_secs_f64() * 1e3);
            if let Some(sha) = answer["version"]["sha256"].as_str() {
                shas.push(sha.to_string());
            }
        } else {
            // Back to the version before the one active: compiled already.
            let sha = shas[shas.len() - 2].clone();
            http.post(format!(
                "{admin_url}/v1/tenants/{TENANT}/plugins/{SLOT}/activate"
            ))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "sha256": sha }))
            .send()
            .await?
            .error_for_status()?;
            reactivations.push(started.elapsed().as_secs_f64() * 1e3);
            shas.push(sha);
        }
        windows.push((requested, origin.elapsed() + AFTER));
    }

    let sent = publisher.await??;
    collector.await??;
    let _ = stop.send(true);
    let _ = routes.await;
    let _ = admin_task.await;
    for kind in [
        bus::StreamKind::In,
        bus::StreamKind::Ev,
        bus::StreamKind::Out,
        bus::StreamKind::Dlq,
    ] {
        js.delete_stream(bus::stream_name(TENANT, kind)).await.ok();
    }
    client.flush().await.ok();

    let received = received.lock().map(|r| r.clone()).unwrap_or_default();
    let mut steady = Vec::new();
    let mut around = Vec::new();
    let (mut lost, mut duplicated) = (0, 0);
    for (index, published) in sent.iter().enumerate() {
        match received.get(&index).map(Vec::as_slice) {
            None | Some([]) => lost += 1,
            Some(times) => {
                if times.len() > 1 {
                    duplicated += 1;
                }
                let latency = times[0].saturating_sub(*published);
                if windows
                    .iter()
                    .any(|(from, to)| published >= from && published <= to)
                {
                    around.push(latency);
                } else {
                    steady.push(latency);
                }
            }
        }
    }
    let steady = latency(steady);
    let around_swaps = latency(around);
    Ok(SwapReport {
        upload_to_serving_ms: uploads,
        reactivation_ms: reactivations,
        p99_ratio: if steady.p99_ms > 0.0 {
            around_swaps.p99_ms / steady.p99_ms
        } else {
            0.0
        },
        steady,
        around_swaps,
        lost,
        duplicated,
    })
}

fn latency(mut values: Vec<Duration>) -> Latency {
    values.sort_unstable();
    let pick = |q: f64| {
        values
            .get(((values.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Latency {
        documents: values.len(),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    }
}
