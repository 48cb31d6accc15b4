//! `millwright bench swap`: hot swap under a steady stream, measured end to end.
//!
//! One process runs a nats-server (its own, unless `--nats-url`), the service with one inbound route on slot
//! `supplier-856`, and the admin API on a free loopback port. A publisher sends ship notices at a steady rate;
//! meanwhile, in rounds of three: a new build of the plugin is uploaded through the API with `activate=true`
//! (the plugin's bytes with a custom section naming the build: a new sha256 and a real compile), the slot is
//! rolled back, and the new build is activated again. It reports, in the same run:
//!
//! - upload-to-serving time (the upload request sent until the answer says this host's route serves the
//!   version, compile included) and the time of each switch between compiled versions (rollback, activation);
//! - publish-to-output latency of documents published in the windows around switches and around uploads (each
//!   from the request to one second after the answer) against those published outside every window, p50 and
//!   p99; the switches' p99 over the steady p99 is the hot swap's cost, the uploads' shows what compiling on the
//!   same cores costs the stream;
//! - documents lost (no output) and duplicated (more than one output), which must be 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use async_nats::HeaderMap;
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;

use super::{BenchNats, packs_for, quantile_ms, ship_notice, start_service};
use crate::admin::{Admin, AdminOptions};
use crate::bus;
use crate::config::Config;

/// What to run.
#[derive(Debug, Clone)]
pub struct SwapOptions {
    /// The inbound plugin (built 856 component).
    pub plugin: PathBuf,
    /// Documents published in all.
    pub documents: usize,
    /// Documents per second.
    pub rate: usize,
    /// Switches during the stream: each round of three is an upload with activation, a rollback and a
    /// re-activation.
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
    /// Of which validating and compiling, as the host reported it (ms).
    pub compile_ms: Vec<f64>,
    /// Switches between compiled versions (rollbacks and re-activations), request to serving (ms).
    pub switch_ms: Vec<f64>,
    /// Documents published outside every window.
    pub steady: Latency,
    /// Documents published around a switch between compiled versions.
    pub around_swaps: Latency,
    /// Documents published around an upload (compile and switch).
    pub around_uploads: Latency,
    /// around_swaps.p99 / steady.p99.
    pub p99_ratio: f64,
    /// around_uploads.p99 / steady.p99.
    pub upload_p99_ratio: f64,
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
    let nats = BenchNats::start(options.nats_url.clone(), data.path()).await?;
    let config_text = format!(
        "[nats]\nmax_age = \"1h\"\n\n[tenants.{TENANT}]\n\n[[tenants.{TENANT}.inbound]]\nsource = \"{SLOT}\"\nplugin = \"{}\"\nworkers = 2\n",
        plugin.display()
    );
    let config = Config::parse(&config_text, &data.path().join("bench.toml"), &|name| {
        std::env::var(name).ok()
    })?;
    let result = run_on(&options, &component, config, &nats.url, data.path()).await;
    nats.stop().await;
    result
}

async fn run_on(
    options: &SwapOptions,
    component: &[u8],
    config: Config,
    url: &str,
    data: &std::path::Path,
) -> Result<SwapReport> {
    let connection = bus::connect(url, &config.nats).await?;
    let (client, js) = (connection.client.clone(), connection.js.clone());
    let (stop, stopping) = watch::channel(false);
    let (service, ev) = start_service(&config, &connection, data, TENANT, stopping.clone()).await?;
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
        tokio::spawn(async move {
            service.sweep_until(stopping).await;
            service.stop_routes(Duration::from_secs(30)).await;
        })
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
    let mut swap_windows: Vec<(Duration, Duration)> = Vec::new();
    let mut upload_windows: Vec<(Duration, Duration)> = Vec::new();
    let mut uploads = Vec::new();
    let mut compiles = Vec::new();
    let mut switches = Vec::new();
    let mut latest = String::new();
    for step in 0..options.swaps {
        let due = total.mul_f64((step + 1) as f64 / (options.swaps + 1) as f64);
        if let Some(wait) = due.checked_sub(origin.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let requested = origin.elapsed();
        let started = Instant::now();
        let slot_url = format!("{admin_url}/v1/tenants/{TENANT}/plugins/{SLOT}");
        match step % 3 {
            0 => {
                let bytes = build_variant(component, step as u32 + 1);
                let form = reqwest::multipart::Form::new().part(
                    "plugin",
                    reqwest::multipart::Part::bytes(bytes).file_name("plugin.wasm"),
                );
                let answer: serde_json::Value = http
                    .post(format!("{slot_url}/versions?activate=true&shadow=false"))
                    .bearer_auth(TOKEN)
                    .multipart(form)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                uploads.push(started.elapsed().as_secs_f64() * 1e3);
                compiles.push(answer["compile_ms"].as_f64().unwrap_or_default());
                latest = answer["version"]["sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                upload_windows.push((requested, origin.elapsed() + AFTER));
                continue;
            }
            1 => {
                http.post(format!("{slot_url}/rollback"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await?
                    .error_for_status()?;
            }
            _ => {
                http.post(format!("{slot_url}/activate"))
                    .bearer_auth(TOKEN)
                    .json(&serde_json::json!({ "sha256": latest }))
                    .send()
                    .await?
                    .error_for_status()?;
            }
        }
        switches.push(started.elapsed().as_secs_f64() * 1e3);
        swap_windows.push((requested, origin.elapsed() + AFTER));
    }

    let sent = publisher.await??;
    collector.await??;
    let _ = stop.send(true);
    let _ = routes.await;
    let _ = admin_task.await;
    for kind in bus::StreamKind::ALL {
        js.delete_stream(bus::stream_name(TENANT, kind)).await.ok();
    }
    client.flush().await.ok();

    let received = received.lock().map(|r| r.clone()).unwrap_or_default();
    let mut steady = Vec::new();
    let mut around = Vec::new();
    let mut around_upload = Vec::new();
    let inside = |windows: &[(Duration, Duration)], at: &Duration| {
        windows.iter().any(|(from, to)| at >= from && at <= to)
    };
    let (mut lost, mut duplicated) = (0, 0);
    for (index, published) in sent.iter().enumerate() {
        match received.get(&index).map(Vec::as_slice) {
            None | Some([]) => lost += 1,
            Some(times) => {
                if times.len() > 1 {
                    duplicated += 1;
                }
                let latency = times[0].saturating_sub(*published);
                if inside(&upload_windows, published) {
                    around_upload.push(latency);
                } else if inside(&swap_windows, published) {
                    around.push(latency);
                } else {
                    steady.push(latency);
                }
            }
        }
    }
    let steady = latency(steady);
    let around_swaps = latency(around);
    let around_uploads = latency(around_upload);
    let ratio = |group: &Latency| {
        if steady.p99_ms > 0.0 {
            group.p99_ms / steady.p99_ms
        } else {
            0.0
        }
    };
    Ok(SwapReport {
        upload_to_serving_ms: uploads,
        compile_ms: compiles,
        switch_ms: switches,
        p99_ratio: ratio(&around_swaps),
        upload_p99_ratio: ratio(&around_uploads),
        steady,
        around_swaps,
        around_uploads,
        lost,
        duplicated,
    })
}

fn latency(mut values: Vec<Duration>) -> Latency {
    values.sort_unstable();
    let pick = |q: f64| quantile_ms(&values, q, |d| d.as_secs_f64() * 1e3);
    Latency {
        documents: values.len(),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    }
}
