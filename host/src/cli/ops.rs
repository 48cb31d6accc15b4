//! The operator's commands that talk to a running system over NATS: `publish` a document to a source, `watch` a
//! tenant's subjects, and `dlq list` / `dlq replay`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use futures::StreamExt;

use crate::bus::{self, StreamKind};
use crate::config::{Config, Nats};
use crate::pipeline::dlq::{self, DeadLetter, ReplayOutcome};

/// Where the system's NATS is, from the flags and the file.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL to connect to.
    pub url: String,
    /// Connection settings (token).
    pub nats: Nats,
    /// The file, when one was given.
    pub config: Option<Config>,
}

impl Target {
    /// `--nats-url` wins; else the file's URL; else the embedded server's port from the file, or the default.
    pub fn resolve(config: Option<&Path>, nats_url: Option<String>) -> Result<Self> {
        let config = config.map(Config::load).transpose()?;
        let nats = config.as_ref().map(|c| c.nats.clone()).unwrap_or_default();
        let url = nats_url.unwrap_or_else(|| nats.client_url());
        Ok(Self { url, nats, config })
    }

    async fn connect(&self) -> Result<bus::Connection> {
        bus::connect(&self.url, &self.nats).await
    }

    /// The tenants to look at: the one asked for, the file's, or every tenant with Millwright streams.
    async fn tenants(&self, js: &jetstream::Context, tenant: Option<&str>) -> Result<Vec<String>> {
        if let Some(tenant) = tenant {
            return Ok(vec![tenant.to_string()]);
        }
        if let Some(config) = &self.config {
            return Ok(config.tenants.iter().map(|t| t.name.to_string()).collect());
        }
        let mut names = js.stream_names();
        let mut tenants = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.context("listing streams")?;
            if let Some(tenant) = name
                .strip_prefix("MW_")
                .and_then(|n| n.strip_suffix("_DLQ"))
            {
                tenants.push(tenant.to_string());
            }
        }
        tenants.sort();
        Ok(tenants)
    }
}

/// Publishes each file as one document on `mw.<tenant>.in.<source>` and prints where JetStream stored it.
pub async fn publish(
    target: &Target,
    tenant: &str,
    source: &str,
    files: &[std::path::PathBuf],
    correlation_id: Option<&str>,
) -> Result<()> {
    let bus::Connection { client, js, .. } = target.connect().await?;
    let subject = bus::in_subject(tenant, source);
    for file in files {
        let payload = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let mut headers = HeaderMap::new();
        if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
            headers.insert(bus::FILE_NAME, name);
        }
        if let Some(id) = correlation_id {
            headers.insert(bus::CORRELATION_ID, id);
        }
        let ack = js
            .publish_with_headers(subject.clone(), headers, payload.into())
            .await
            .with_context(|| format!("publishing {} to {subject}", file.display()))?
            .await
            .with_context(|| {
                format!(
                    "{subject} is not stored by any stream; has `millwright serve` started with tenant {tenant}?"
                )
            })?;
        println!(
            "{} → {subject} (stream {}, sequence {})",
            file.display(),
            ack.stream,
            ack.sequence
        );
    }
    client.flush().await?;
    Ok(())
}

/// Prints messages of a tenant's stream as they arrive: subject, `Mw-*` headers and payload (JSON pretty).
pub async fn watch(
    target: &Target,
    tenant: &str,
    subjects: &str,
    all: bool,
    count: Option<usize>,
    timeout: Option<Duration>,
) -> Result<()> {
    let js = target.connect().await?.js;
    let filter = format!("mw.{tenant}.{subjects}");
    let kind = match subjects.split('.').next() {
        Some("in") | Some("replay") => StreamKind::In,
        Some("ev") => StreamKind::Ev,
        Some("out") => StreamKind::Out,
        Some("dlq") => StreamKind::Dlq,
        Some("quarantine") => StreamKind::Quarantine,
        Some("alert") => StreamKind::Alert,
        _ => bail!(
            "watch what? say ev.>, out.>, dlq.>, in.>, quarantine.> or alert.> (got {subjects})"
        ),
    };
    let stream_name = bus::stream_name(tenant, kind);
    let stream = js.get_stream(&stream_name).await.with_context(|| {
        format!("no stream {stream_name}; has `millwright serve` started with tenant {tenant}?")
    })?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter.clone(),
            deliver_policy: if all {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .with_context(|| format!("watching {filter}"))?;
    let mut messages = consumer.messages().await?;
    eprintln!(
        "watching {filter}{}",
        if all { " (from the start)" } else { "" }
    );
    let mut seen = 0;
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    loop {
        if count.is_some_and(|c| seen >= c) {
            return Ok(());
        }
        let next = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, messages.next()).await {
                Ok(next) => next,
                Err(_) => bail!("{seen} message(s) on {filter} before the timeout"),
            },
            None => messages.next().await,
        };
        let Some(message) = next else { return Ok(()) };
        let message = message.context("reading the stream")?;
        seen += 1;
        let mut text = format!("── {}\n", message.subject);
        if let Some(headers) = &message.headers {
            let mut lines: Vec<String> = headers
                .iter()
                .filter(|(name, _)| {
                    let name: &str = name.as_ref();
                    name.starts_with("Mw-") || name == bus::MSG_ID
                })
                .flat_map(|(name, values)| {
                    values
                        .iter()
                        .map(move |v| format!("   {name}: {}\n", v.as_str()))
                })
                .collect();
            lines.sort();
            text.extend(lines);
        }
        match serde_json::from_slice::<serde_json::Value>(&message.payload) {
            Ok(json) => text.push_str(&serde_json::to_string_pretty(&json)?),
            Err(_) => text.push_str(&String::from_utf8_lossy(&message.payload)),
        }
        text.push('\n');
        // A closed pipe (`| head`) ends the watch quietly.
        let mut out = std::io::stdout();
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return Ok(());
        }
    }
}

/// `dlq list`.
pub async fn dlq_list(
    target: &Target,
    tenant: Option<&str>,
    route: Option<&str>,
) -> Result<Vec<DeadLetter>> {
    let js = target.connect().await?.js;
    let mut all = Vec::new();
    for tenant in target.tenants(&js, tenant).await? {
        all.extend(dlq::list(&js, &tenant, route).await?);
    }
    Ok(all)
}

/// `dlq replay`: the dead letters named by `ids` (`<tenant>/<sequence>`, or a sequence with `tenant`), or every
/// one of the tenant (and route) with `all`. Every id is read before any is replayed, so a malformed one
/// changes nothing; then each gets its own outcome.
pub async fn dlq_replay(
    target: &Target,
    tenant: Option<&str>,
    route: Option<&str>,
    ids: &[String],
    all: bool,
) -> Result<Vec<ReplayOutcome>> {
    let mut wanted: Vec<(String, u64)> = Vec::new();
    for id in ids {
        let (t, seq) = match id.split_once('/') {
            Some((t, seq)) => (t.to_string(), seq),
            None => match tenant {
                Some(t) => (t.to_string(), id.as_str()),
                None => {
                    bail!("dead letter id {id}: write it as <tenant>/<sequence>, or give --tenant")
                }
            },
        };
        let seq: u64 = seq
            .parse()
            .with_context(|| format!("dead letter id {id}: {seq} is not a sequence number"))?;
        wanted.push((t, seq));
    }
    let connection = target.connect().await?;
    if all {
        for tenant in target.tenants(&connection.js, tenant).await? {
            for letter in dlq::list(&connection.js, &tenant, route).await? {
                if let Some(seq) = letter.id.rsplit('/').next().and_then(|s| s.parse().ok()) {
                    wanted.push((tenant.clone(), seq));
                }
            }
        }
    }
    let mut outcomes = Vec::new();
    for (tenant, seq) in wanted {
        outcomes.push(dlq::replay(&connection, &tenant, seq).await);
    }
    connection.client.flush().await?;
    Ok(outcomes)
}
