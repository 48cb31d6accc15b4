//! `millwright bench`: the end-to-end load tool. It publishes N ship notices of a chosen size through a real
//! nats-server and measures throughput and latency twice in the same run: first raw JetStream — publish, then a
//! pull consumer fetching and acknowledging the same payloads, no plugin — as the baseline; then the 856
//! pipeline — the same publishes into a tenant's source, the route mapping each through the plugin and publishing
//! the canonical ship notice, and a pull consumer taking those. Latency is from a document's publish to its
//! (raw or mapped) message reaching the consumer.
//!
//! Each phase also reports the CPU time it cost, per document: this process's (the load generator and the
//! consumer, and in the pipeline the route too) and the embedded nats-server's, and how busy that kept the
//! cores. A phase whose cores were busy throughout is CPU-bound: then the CPU per document, not the code's
//! waiting, sets its throughput.

mod cpu;
mod documents;
mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;

use self::cpu::{Sample, Usage};
use crate::bus::{self, embedded::Embedded};
use crate::config::Config;
use crate::service::{Prepared, Service};

pub mod swap;

pub use documents::{packs_for, ship_notice};

/// The rules `--rules` turns on: every rule, tuned as examples/plant/millwright.toml tunes them.
const PLANT_RULES: &str = r#"rules = { quarantine = true, order-change = true, receipt-discrepancy = true, over-consumption = true, over-consumption-tolerance = "5%", ack-overdue = "4h", receipt-overdue = "1d", dead-letter-aged = "1d" }"#;

/// What to run.

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Documents per run.
    pub documents: usize,
    /// Approximate document size in bytes.
    pub size: usize,
    /// The inbound plugin (the reference 856 mapper).
    pub plugin: PathBuf,
    /// A NATS server to use instead of a fresh embedded one.
    pub nats_url: Option<String>,
    /// Plugin threads for the route.
    pub workers: usize,
    /// Reuse instances instead of a fresh one per message.
    pub reuse: bool,
    /// Messages per fetch, for both consumers.
    pub batch: usize,
    /// The business rules on, as the plant example runs them ([`PLANT_RULES`]).
    pub rules: bool,
    /// The trace index on.
    pub trace: bool,
}

/// One run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// Documents through.
    pub documents: usize,
    /// Seconds from the first publish to the last message consumed.
    pub seconds: f64,
    /// Documents per second.
    pub per_second: f64,
    /// Median publish-to-consume latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// What the phase cost in CPU; `None` where `/proc` cannot be read.
    pub cpu: Option<CpuFigures>,
}

/// One phase's CPU time, per document, and how busy it kept the cores.
#[derive(Debug, Clone, Serialize)]
pub struct CpuFigures {
    /// This process: the load generator and the consumer, and in the pipeline the route. Microseconds.
    pub host_us_per_document: f64,
    /// The embedded nats-server, microseconds; `None` when the bench joined a server by URL (its process is not
    /// ours to see) or the server restarted during the phase.
    pub server_us_per_document: Option<f64>,
    /// Both together; this process alone when the server is not seen.
    pub total_us_per_document: f64,
    /// The CPU time above over (wall time × cores): near 1 the phase was CPU-bound.
    pub busy: f64,
    /// The phase's whole CPU time, milliseconds: against the clock's tick, how exact the figures above are.
    pub total_ms: f64,
}

/// Both runs and their ratio.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The document's size in bytes.
    pub document_bytes: usize,
    /// Raw JetStream publish + consume.
    pub baseline: RunFigures,
    /// The 856 pipeline.
    pub pipeline: RunFigures,
    /// Pipeline throughput / baseline throughput.
    pub ratio: f64,
    /// The cores the bench could use.
    pub cores: usize,
    /// One tick of the CPU clock the figures are read with, milliseconds.
    pub cpu_tick_ms: f64,
    /// Whether nats-server's CPU is counted: it is for the embedded server, not for one joined by URL.
    pub server_seen: bool,
    /// The pipeline's throughput with every core busy at its CPU per document (cores / total CPU per
    /// document): the most these cores can give it, however its waiting is arranged.
    pub pipeline_cpu_ceiling_per_second: Option<f64>,
}

const SENT: &str = "Mw-Bench-Sent-Ns";
/// The tenant's one source, which its one route reads.
const SOURCE: &str = "supplier-856";
/// Publishes in flight at most, well under the client's limit of unacknowledged publishes.
const ACK_WINDOW: usize = 4096;

fn now_ns(origin: Instant) -> u64 {
    origin.elapsed().as_nanos() as u64
}

fn figures(
    documents: usize,
    seconds: f64,
    mut latencies: Vec<u64>,
    usage: Usage,
    cores: usize,
) -> RunFigures {
    latencies.sort_unstable();
    let pick = |q: f64| quantile_ms(&latencies, q, |&ns| ns as f64 / 1e6);
    RunFigures {
        documents,
        seconds,
        per_second: documents as f64 / seconds,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        cpu: cpu_figures(documents, usage, cores),
    }
}

fn cpu_figures(documents: usize, usage: Usage, cores: usize) -> Option<CpuFigures> {
    let host = usage.host?;
    let total = host + usage.server.unwrap_or_default();
    let per_document = |cpu: std::time::Duration| cpu.as_secs_f64() * 1e6 / documents.max(1) as f64;
    Some(CpuFigures {
        host_us_per_document: per_document(host),
        server_us_per_document: usage.server.map(per_document),
        total_us_per_document: per_document(total),
        busy: total.as_secs_f64()
            / (usage.wall.as_secs_f64() * cores as f64).max(f64::MIN_POSITIVE),
        total_ms: total.as_secs_f64() * 1e3,
    })
}

/// Publishes every document (pipelined: acknowledgments awaited together at the end), each with a correlation id
/// `bench-<index>` and its send time, which `sent` is told too.
async fn publish_all(
    js: &jetstream::Context,
    subject: &str,
    documents: &[Vec<u8>],
    origin: Instant,
    mut sent: impl FnMut(usize, u64),
) -> Result<()> {
    // Acknowledgments are awaited in a window, oldest first: the client holds a permit per unacknowledged
    // publish, so awaiting none until the end would stall once the permits run out.
    let mut acks: std::collections::VecDeque<jetstream::context::PublishAckFuture> =
        std::collections::VecDeque::new();
    for (index, document) in documents.iter().enumerate() {
        if acks.len() >= ACK_WINDOW
            && let Some(ack) = acks.pop_front()
        {
            ack.await.context("storing a published document")?;
        }
        let at = now_ns(origin);
        sent(index, at);
        let mut headers = HeaderMap::new();
        headers.insert(SENT, at.to_string().as_str());
        headers.insert(bus::CORRELATION_ID, format!("bench-{index}").as_str());
        acks.push_back(
            js.publish_with_headers(subject.to_string(), headers, document.clone().into())
                .await
                .context("publishing")?,
        );
    }
    for ack in acks {
        ack.await.context("storing a published document")?;
    }
    Ok(())
}

/// Consumes `expected` messages from a fresh pull consumer, acknowledging each, and returns the latencies (from
/// the send time found by `sent`) and the time of the last one.
async fn consume(
    consumer: consumer::PullConsumer,
    expected: usize,
    batch: usize,
    origin: Instant,
    sent: impl Fn(&jetstream::Message) -> Option<u64>,
) -> Result<(Vec<u64>, u64)> {
    let mut latencies = Vec::with_capacity(expected);
    let mut last = 0;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(batch)
        .messages()
        .await?;
    while latencies.len() < expected {
        let message = tokio::time::timeout(Duration::from_secs(60), messages.next())
            .await
            .with_context(|| {
                format!(
                    "no message for 60 s after {} of {expected}",
                    latencies.len()
                )
            })?
            .context("the consumer ended")?
            .map_err(|err| anyhow::anyhow!("consuming: {err}"))?;
        last = now_ns(origin);
        if let Some(sent) = sent(&message) {
            latencies.push(last.saturating_sub(sent));
        }
        message
            .ack()
            .await
            .map_err(|err| anyhow::anyhow!("acknowledging: {err}"))?;
    }
    Ok((latencies, last))
}

/// Runs the baseline and the pipeline and returns the figures.
pub async fn run(options: BenchOptions) -> Result<Report> {
    if !options.plugin.is_file() {
        bail!(
            "no plugin at {} (build the plugins with `millwright plugin build`)",
            options.plugin.display()
        );
    }
    // The route's file lives in a temporary directory: name the plugin absolutely.
    let mut options = options;
    options.plugin = std::fs::canonicalize(&options.plugin)
        .with_context(|| format!("finding {}", options.plugin.display()))?;
    let data = tempfile::tempdir().context("a temporary data dir")?;
    let nats = BenchNats::start(options.nats_url.clone(), data.path()).await?;
    let result = run_on(&options, &nats.url, data.path(), nats.embedded.as_ref()).await;
    nats.stop().await;
    result
}

/// The server a bench runs on: the one given by URL, or a nats-server of its own on a free loopback port with
/// its store under `data`.
pub(crate) struct BenchNats {
    /// The server's URL.
    pub(crate) url: String,
    /// The bench's own server, when no URL was given.
    pub(crate) embedded: Option<Embedded>,
}

impl BenchNats {
    pub(crate) async fn start(url: Option<String>, data: &std::path::Path) -> Result<Self> {
        if let Some(url) = url {
            return Ok(Self {
                url,
                embedded: None,
            });
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let embedded = Embedded::start(data, port).await?;
        Ok(Self {
            url: embedded.url().to_string(),
            embedded: Some(embedded),
        })
    }

    pub(crate) async fn stop(self) {
        if let Some(embedded) = self.embedded {
            embedded.stop().await;
        }
    }
}

/// The route service as `serve` starts it — the same [`Prepared`] and [`Service::start`] — for a bench, with its
/// plugins compiled (cached under `data`), and a consumer of `tenant`'s ship notices from the stream's start.
/// Returns once the route serves.
pub(crate) async fn start_service(
    config: &Config,
    connection: &bus::Connection,
    data: &std::path::Path,
    tenant: &str,
    stopping: watch::Receiver<bool>,
) -> Result<(Arc<Service>, consumer::PullConsumer)> {
    let prepared = {
        let (config, cache) = (config.clone(), data.join("compiled"));
        tokio::task::spawn_blocking(move || Prepared::new(config, &cache)).await??
    };
    let service = Service::start(prepared, connection.clone(), stopping).await?;
    if !service.wait_serving(Duration::from_secs(60)).await {
        bail!("the bench route did not start serving within a minute");
    }
    let ev = connection
        .js
        .get_stream(bus::stream_name(tenant, bus::StreamKind::Ev))
        .await?
        .create_consumer(consumer::pull::Config {
            durable_name: Some("bench".into()),
            filter_subject: bus::ev_subject(tenant, "ship-notice"),
            ack_policy: consumer::AckPolicy::Explicit,
            deliver_policy: consumer::DeliverPolicy::All,
            max_ack_pending: 20_000,
            ..Default::default()
        })
        .await?;
    Ok((service, ev))
}

/// The `q` quantile of sorted `values` (nearest rank), in milliseconds; 0 for none.
pub(crate) fn quantile_ms<T>(sorted: &[T], q: f64, ms: impl Fn(&T) -> f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
        .map_or(0.0, ms)
}

async fn run_on(
    options: &BenchOptions,
    url: &str,
    data: &std::path::Path,
    server: Option<&Embedded>,
) -> Result<Report> {
    let cores = cpu::cores();
    let sample = || Sample::take(server.and_then(Embedded::pid));
    let packs = packs_for(options.size);
    let documents: Vec<Vec<u8>> = (0..options.documents)
        .map(|i| ship_notice(packs, &format!("SHP-{i:06}")))
        .collect();
    let document_bytes = documents.first().map_or(0, Vec::len);
    // A tenant name of its own per run, so a shared server's earlier runs do not interfere.
    let tenant = format!("bench{}", std::process::id());
    let config_text = format!(
        r#"
[nats]
max_age = "1h"

[tenants.{tenant}]
trace = {trace}
{rules}

[[tenants.{tenant}.inbound]]
source = "{SOURCE}"
plugin = "{plugin}"
workers = {workers}
batch = {batch}
instances = "{instances}"
"#,
        plugin = options.plugin.display(),
        workers = options.workers,
        batch = options.batch,
        instances = if options.reuse { "reuse" } else { "fresh" },
        rules = if options.rules { PLANT_RULES } else { "" },
        trace = options.trace,
    );
    let config = Config::parse(&config_text, &data.join("bench.toml"), &|name| {
        std::env::var(name).ok()
    })?;
    let connection = bus::connect(url, &config.nats).await?;
    let (client, js) = (connection.client.clone(), connection.js.clone());

    // Baseline: the same payloads through a stream of the same kind, no plugin.
    let raw_stream = format!("BENCH_RAW_{tenant}");
    let raw_subject = format!("bench.{tenant}.raw");
    let raw = js
        .create_or_update_stream(stream::Config {
            name: raw_stream.clone(),
            subjects: vec![raw_subject.clone()],
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(3600),
            duplicate_window: config.nats.duplicate_window,
            ..Default::default()
        })
        .await
        .context("creating the baseline stream")?;
    let raw_consumer = js
        .get_stream(&raw.config.name)
        .await?
        .create_consumer(consumer::pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            max_ack_pending: 20_000,
            ..Default::default()
        })
        .await?;
    let origin = Instant::now();
    let baseline = {
        let before = sample();
        let consumer = tokio::spawn(consume(
            raw_consumer,
            documents.len(),
            options.batch,
            origin,
            sent_header,
        ));
        let start = now_ns(origin);
        publish_all(&js, &raw_subject, &documents, origin, |_, _| {}).await?;
        let (latencies, last) = consumer.await??;
        let usage = before.until(&sample());
        figures(
            documents.len(),
            (last - start) as f64 / 1e9,
            latencies,
            usage,
            cores,
        )
    };
    js.delete_stream(&raw_stream).await.ok();

    // The pipeline: the same publishes into the tenant's source, through the route.
    let (shutdown, shutting_down) = watch::channel(false);
    let (service, ev) =
        start_service(&config, &connection, data, &tenant, shutting_down.clone()).await?;
    let routes = {
        let service = service.clone();
        tokio::spawn(async move {
            service.sweep_until(shutting_down).await;
            service.stop_routes(Duration::from_secs(30)).await;
        })
    };
    // The phase starts once the route has its consumer, so its setting up is neither timed nor counted.
    wait_for_consumer(
        &js,
        &bus::stream_name(&tenant, bus::StreamKind::In),
        // An inbound route is named after its source, and its consumer after the route.
        &format!("in-{SOURCE}"),
    )
    .await?;
    let sent_at: Arc<std::sync::Mutex<HashMap<String, u64>>> = Arc::default();
    let pipeline = {
        let before = sample();
        let sent_at_consumer = sent_at.clone();
        let consumer = tokio::spawn(consume(
            ev,
            documents.len(),
            options.batch,
            origin,
            move |m| {
                let correlation = bus::header(m.headers.as_ref(), bus::CORRELATION_ID)?;
                sent_at_consumer.lock().ok()?.get(correlation).copied()
            },
        ));
        let start = now_ns(origin);
        let subject = bus::in_subject(&tenant, SOURCE);
        publish_all(&js, &subject, &documents, origin, |index, at| {
            if let Ok(mut map) = sent_at.lock() {
                map.insert(format!("bench-{index}"), at);
            }
        })
        .await?;
        let (latencies, last) = consumer.await??;
        let usage = before.until(&sample());
        figures(
            documents.len(),
            (last - start) as f64 / 1e9,
            latencies,
            usage,
            cores,
        )
    };
    let _ = shutdown.send(true);
    let _ = routes.await;
    for kind in bus::StreamKind::ALL {
        js.delete_stream(bus::stream_name(&tenant, kind)).await.ok();
    }
    client.flush().await.ok();
    let ratio = pipeline.per_second / baseline.per_second;
    let server_seen = server.is_some();
    let pipeline_cpu_ceiling_per_second = pipeline
        .cpu
        .as_ref()
        .filter(|cpu| cpu.server_us_per_document.is_some())
        .map(|cpu| cores as f64 * 1e6 / cpu.total_us_per_document);
    Ok(Report {
        document_bytes,
        baseline,
        pipeline,
        ratio,
        cores,
        cpu_tick_ms: cpu::resolution().as_secs_f64() * 1e3,
        server_seen,
        pipeline_cpu_ceiling_per_second,
    })
}

/// Waits until `durable` exists on `stream`.
async fn wait_for_consumer(js: &jetstream::Context, stream: &str, durable: &str) -> Result<()> {
    let stream = js.get_stream_no_info(stream).await?;
    for _ in 0..1000 {
        if stream.consumer_info(durable).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("the route's consumer {durable} did not appear within 10 s")
}

fn sent_header(message: &jetstream::Message) -> Option<u64> {
    bus::header(message.headers.as_ref(), SENT)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(per_second: f64, cpu: Option<CpuFigures>) -> RunFigures {
        RunFigures {
            documents: 1000,
            seconds: 1000.0 / per_second,
            per_second,
            p50_ms: 10.0,
            p99_ms: 20.0,
            cpu,
        }
    }

    fn cpu(host: f64, server: Option<f64>, busy: f64) -> CpuFigures {
        CpuFigures {
            host_us_per_document: host,
            server_us_per_document: server,
            total_us_per_document: host + server.unwrap_or_default(),
            busy,
            // 1,000 documents.
            total_ms: host + server.unwrap_or_default(),
        }
    }

    fn report(server: Option<f64>) -> Report {
        Report {
            document_bytes: 1052,
            baseline: run(20_000.0, Some(cpu(30.0, server.map(|_| 50.0), 0.8))),
            pipeline: run(5_000.0, Some(cpu(250.0, server, 0.95))),
            ratio: 0.25,
            cores: 2,
            cpu_tick_ms: 10.0,
            server_seen: server.is_some(),
            pipeline_cpu_ceiling_per_second: server.map(|s| 2e6 / (250.0 + s)),
        }
    }

    #[test]
    fn the_report_gives_each_phase_its_cpu_per_document_and_the_pipeline_its_ceiling() {
        let text = report(Some(150.0)).to_string();
        assert!(
            text.contains("pipeline / baseline throughput: 0.25x"),
            "{text}"
        );
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start) && l.contains("µs"))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            line("raw JetStream"),
            "raw JetStream (baseline) 30.0 µs 50.0 µs 80.0 µs 80%"
        );
        assert_eq!(
            line("856 pipeline"),
            "856 pipeline 250.0 µs 150.0 µs 400.0 µs 95%"
        );
        assert!(
            text.contains("allows at most 5000 docs/s: 0.25x this baseline"),
            "{text}"
        );
        assert!(!text.contains("not seen"), "{text}");
        assert!(
            text.contains("raw JetStream (baseline): 80 ms of CPU in all, so its CPU figures are good to ±25% only"),
            "{text}"
        );
        assert!(!text.contains("856 pipeline: "), "{text}");
    }

    #[test]
    fn a_server_joined_by_url_is_reported_as_not_seen_and_gives_no_ceiling() {
        let text = report(None).to_string();
        assert!(
            text.contains("nats-server's CPU is not seen (the bench joined it by --nats-url)"),
            "{text}"
        );
        assert!(!text.contains("allows at most"), "{text}");
        let pipeline = text
            .lines()
            .find(|l| l.starts_with("856 pipeline") && l.contains("µs"))
            .unwrap_or_default();
        assert!(pipeline.contains("not seen"), "{pipeline}");
    }
}
