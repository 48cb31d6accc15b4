//! The commands that talk to NATS directly, for local testing: `publish` a document to a source and `watch` a
//! tenant's subjects. Everything that reads or changes a tenant's state goes through the admin API instead.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::consumer;
use futures::StreamExt;

use crate::bus::{self, StreamKind};
use crate::config::{Config, Nats};

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
