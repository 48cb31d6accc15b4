//! Dead letters: what a route writes when it gives up on a message, and how `millwright dlq` lists and replays
//! them.
//!
//! A dead letter is the original message — payload and headers as they arrived — on `mw.<tenant>.dlq.<route>`,
//! with the failure added as `Mw-*` headers (see [`crate::bus`]). Its id is `<tenant>/<sequence>` in the tenant's
//! dead-letter stream. A replay publishes the message again on the route's input (`Mw-Replay-Subject`: the
//! source subject of an inbound route, the route's own replay subject for an outbound one) with its correlation
//! id, and deletes the dead letter only once JetStream has stored the replay.

use anyhow::{Context, Result, anyhow, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, Message, stream::DirectGetErrorKind};
use serde::Serialize;

use super::{Failure, Identity, Kind, Route};
use crate::bus::{self, StreamKind};
use crate::invoke::Action;

/// The headers of a dead letter: the input's own, then the failure.
pub(super) fn dead_letter_headers(
    route: &Route,
    message: &Message,
    id: &Identity,
    plugin: &str,
    failure: &Failure,
) -> HeaderMap {
    let mut headers = bus::carried_headers(message.headers.as_ref());
    if let Some(original_id) = bus::header(message.headers.as_ref(), bus::MSG_ID) {
        headers.insert(bus::DLQ_ORIGINAL_ID, original_id);
    }
    // One dead letter per input, however often this one is redelivered.
    headers.insert(
        bus::MSG_ID,
        format!("dlq:{}:{}", route.common.name, id.key).as_str(),
    );
    headers.insert(bus::CORRELATION_ID, id.correlation_id.as_str());
    headers.insert(bus::CAUSATION_ID, id.message_id.as_str());
    if let Kind::Inbound { source, .. } = &route.kind {
        headers.insert(bus::SOURCE, source.as_str());
    }
    headers.insert(bus::PLUGIN, plugin);
    headers.insert(bus::DLQ_ROUTE, route.common.name.as_str());
    headers.insert(bus::DLQ_CLASS, failure.class);
    headers.insert(bus::DLQ_ERROR, one_line(&failure.error).as_str());
    if let Some(diagnostic) = &failure.diagnostic {
        headers.insert(bus::DLQ_DIAGNOSTIC, diagnostic.to_string().as_str());
    }
    headers.insert(bus::DLQ_ATTEMPTS, id.delivered.to_string().as_str());
    if failure.action == Action::Park {
        headers.insert(bus::DLQ_PARKED, "true");
    }
    headers.insert(bus::DLQ_AT, jiff::Timestamp::now().to_string().as_str());
    let replay_to = match &route.kind {
        Kind::Inbound { .. } => message.subject.to_string(),
        Kind::Outbound { .. } => bus::replay_subject(&route.tenant, &route.common.name),
    };
    headers.insert(bus::DLQ_REPLAY_TO, replay_to.as_str());
    headers
}

/// Header values are one line; an error text may not be.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A dead letter as `dlq list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// `<tenant>/<sequence>`: what `dlq replay --id` takes.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The route that gave up.
    pub route: String,
    /// The error class.
    pub class: String,
    /// The error as a sentence.
    pub error: String,
    /// The plugin's located diagnostic, when it gave one.
    pub diagnostic: Option<serde_json::Value>,
    /// Deliveries tried.
    pub attempts: u32,
    /// Parked: replay once the master data is fixed.
    pub parked: bool,
    /// When it was given up.
    pub dead_at: String,
    /// The plugin that failed.
    pub plugin: Option<String>,
    /// The input's correlation id.
    pub correlation_id: Option<String>,
    /// Where a replay goes.
    pub replay_to: String,
    /// The payload's size.
    pub bytes: usize,
}

impl DeadLetter {
    fn from_stored(tenant: &str, message: &jetstream::message::StreamMessage) -> Self {
        let headers = Some(&message.headers);
        let text = |name| bus::header(headers, name).unwrap_or_default().to_string();
        Self {
            id: format!("{tenant}/{}", message.sequence),
            tenant: tenant.to_string(),
            route: text(bus::DLQ_ROUTE),
            class: text(bus::DLQ_CLASS),
            error: text(bus::DLQ_ERROR),
            diagnostic: bus::header(headers, bus::DLQ_DIAGNOSTIC)
                .and_then(|d| serde_json::from_str(d).ok()),
            attempts: text(bus::DLQ_ATTEMPTS).parse().unwrap_or(0),
            parked: bus::header(headers, bus::DLQ_PARKED) == Some("true"),
            dead_at: text(bus::DLQ_AT),
            plugin: bus::header(headers, bus::PLUGIN).map(str::to_string),
            correlation_id: bus::header(headers, bus::CORRELATION_ID).map(str::to_string),
            replay_to: text(bus::DLQ_REPLAY_TO),
            bytes: message.payload.len(),
        }
    }
}

/// The tenant's dead letters, oldest first, of one route or all.
pub async fn list(
    js: &jetstream::Context,
    tenant: &str,
    route: Option<&str>,
) -> Result<Vec<DeadLetter>> {
    let stream = dlq_stream(js, tenant).await?;
    let filter = bus::dlq_subject(tenant, route.unwrap_or(">"));
    let mut out = Vec::new();
    let mut next = 1;
    loop {
        match stream
            .direct_get_next_for_subject(&filter, Some(next))
            .await
        {
            Ok(message) => {
                next = message.sequence + 1;
                out.push(DeadLetter::from_stored(tenant, &message));
            }
            Err(err) if matches!(err.kind(), DirectGetErrorKind::NotFound) => break,
            Err(err) => return Err(anyhow!("reading the dead letters of {tenant}: {err}")),
        }
    }
    Ok(out)
}

async fn dlq_stream(js: &jetstream::Context, tenant: &str) -> Result<jetstream::stream::Stream> {
    let name = bus::stream_name(tenant, StreamKind::Dlq);
    js.get_stream(&name).await.with_context(|| {
        format!(
            "tenant {tenant} has no dead-letter stream {name}; has `serve` run with this tenant?"
        )
    })
}

/// Where one replay went.
#[derive(Debug, Clone, Serialize)]
pub struct Replayed {
    /// The dead letter's id.
    pub id: String,
    /// The subject it was published on.
    pub subject: String,
    /// Its correlation id.
    pub correlation_id: Option<String>,
}

/// Replays dead letter `sequence` of `tenant` and deletes it once the replay is stored.
pub async fn replay(js: &jetstream::Context, tenant: &str, sequence: u64) -> Result<Replayed> {
    let stream = dlq_stream(js, tenant).await?;
    let id = format!("{tenant}/{sequence}");
    let message = match stream.direct_get(sequence).await {
        Ok(message) => message,
        Err(err) if matches!(err.kind(), DirectGetErrorKind::NotFound) => {
            bail!(
                "there is no dead letter {id} (already replayed, or never there); `millwright dlq list` shows them"
            )
        }
        Err(err) => return Err(anyhow!("reading dead letter {id}: {err}")),
    };
    let Some(subject) = bus::header(Some(&message.headers), bus::DLQ_REPLAY_TO).map(str::to_string)
    else {
        bail!(
            "dead letter {id} does not say where to replay it (no {} header)",
            bus::DLQ_REPLAY_TO
        );
    };
    if !subject.starts_with(&format!("mw.{tenant}.")) {
        bail!(
            "dead letter {id} asks to be replayed to {subject}, outside tenant {tenant}; refused"
        );
    }
    let mut headers = bus::carried_headers(Some(&message.headers));
    // A second replay of the same dead letter, before the first deleted it, is dropped as a duplicate.
    headers.insert(bus::MSG_ID, format!("replay:{tenant}:{sequence}").as_str());
    headers.insert(bus::REPLAYED_FROM, id.as_str());
    js.publish_with_headers(subject.clone(), headers, message.payload.clone())
        .await
        .with_context(|| format!("replaying {id} to {subject}"))?
        .await
        .with_context(|| format!("replaying {id} to {subject}: JetStream did not store it"))?;
    stream.delete_message(sequence).await.with_context(|| {
        format!("{id} was replayed to {subject}, but deleting the dead letter failed")
    })?;
    Ok(Replayed {
        id,
        subject,
        correlation_id: bus::header(Some(&message.headers), bus::CORRELATION_ID)
            .map(str::to_string),
    })
}
