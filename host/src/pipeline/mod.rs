//! Route workers: fetch → invoke → publish → ack, with retries and dead letters.
//!
//! Each route is a durable pull consumer (an outbound route has one per event type it takes, and one for its
//! replays). Messages are fetched in batches and mapped on the route's plugin threads, several at once; outputs
//! are published in input order with `Nats-Msg-Id` = `<route>:<stream>:<sequence>:<index>`, their
//! acknowledgments awaited together (never one round trip per message), and the input is acknowledged only once
//! every output is stored. A redelivered input therefore produces the same ids, and JetStream's dedupe drops
//! the repeats: at-least-once in, effectively-once out.
//!
//! A failed call does what its class says (see [`FailureClass::action`]): dead-letter at once, dead-letter as
//! parked, or nak with a growing delay and dead-letter after the route's `max_attempts`. A dead letter on
//! `mw.<tenant>.dlq.<route>` keeps the original payload and headers and adds the error class, the located
//! diagnostic, the attempt count and the plugin; `dlq` replays it.

pub mod dlq;
pub mod http;
pub mod pool;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::HeaderMap;
use async_nats::jetstream::{AckKind, Message, consumer};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::bus::{self, StreamKind};
pub use crate::config::Kind;
use crate::config::{RouteCommon, Target};
use crate::names::Tenant;
use crate::invoke::{Action, Envelope, FailureClass, InvokeError};
use pool::{Answer, Job, Pool};

/// One running route's fixed parts.
pub struct Route {
    /// The tenant.
    pub tenant: Tenant,
    /// Name, limits, retry settings.
    pub common: RouteCommon,
    /// Inbound or outbound.
    pub kind: Kind,
    /// The route's slot: its active version's plugin threads, replaced when another version is activated.
    /// `None` while the slot has no active version: the route then fetches nothing and its messages wait.
    pub active: watch::Receiver<Option<Arc<Pool>>>,
    /// NATS and JetStream.
    pub bus: bus::Connection,
    /// HTTP deliveries, for HTTP targets.
    pub http: Option<http::Delivery>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("tenant", &self.tenant)
            .field("name", &self.common.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The consumers a route reads: (stream, durable name, filter subject).
fn consumers(route: &Route) -> Vec<(String, String, String)> {
    let t = &route.tenant;
    let name = &route.common.name;
    match &route.kind {
        Kind::Inbound { source, .. } => vec![(
            bus::stream_name(t, StreamKind::In),
            format!("in-{name}"),
            bus::in_subject(t, source),
        )],
        Kind::Outbound { events, .. } => {
            let mut list: Vec<_> = events
                .iter()
                .map(|event| {
                    (
                        bus::stream_name(t, StreamKind::Ev),
                        format!("out-{name}-{event}"),
                        bus::ev_subject(t, event),
                    )
                })
                .collect();
            list.push((
                bus::stream_name(t, StreamKind::In),
                format!("out-{name}-replay"),
                bus::replay_subject(t, name),
            ));
            list
        }
    }
}

/// Creates the route's durable consumers, or updates them to the route's settings.
async fn ensure_consumers(route: &Route) -> Result<Vec<consumer::PullConsumer>> {
    let mut out = Vec::new();
    for (stream, durable, filter) in consumers(route) {
        let config = consumer::pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: filter,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: route.common.ack_wait,
            // The route counts attempts itself and dead-letters; JetStream never gives up on its own.
            max_deliver: -1,
            max_ack_pending: 20_000,
            deliver_policy: consumer::DeliverPolicy::All,
            description: Some(format!(
                "Millwright route {} of tenant {}",
                route.common.name, route.tenant
            )),
            ..Default::default()
        };
        let stream_handle = route
            .bus
            .js
            .get_stream_no_info(&stream)
            .await
            .with_context(|| format!("opening stream {stream}"))?;
        // Creating a durable consumer that exists updates its editable settings (ack wait, description); one
        // whose fixed settings changed is kept as it is, with a warning.
        let consumer = match stream_handle.create_consumer(config).await {
            Ok(consumer) => consumer,
            Err(err) => {
                let existing = stream_handle.get_consumer(&durable).await.map_err(|e| {
                    anyhow::anyhow!("creating consumer {durable} on {stream}: {err}; {e}")
                })?;
                tracing::warn!(tenant = %route.tenant, route = %route.common.name, "consumer {durable} exists with other settings, kept as it is: {err}");
                existing
            }
        };
        out.push(consumer);
    }
    Ok(out)
}

/// Runs `route` until `shutdown` turns true: then stops fetching, finishes what is in flight and returns.
pub async fn run(route: Arc<Route>, mut shutdown: watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(500);
    let consumers = loop {
        match ensure_consumers(&route).await {
            Ok(consumers) => break consumers,
            Err(err) => {
                tracing::error!(tenant = %route.tenant, route = %route.common.name, "setting up the route's consumers: {err:#}; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    tracing::info!(tenant = %route.tenant, route = %route.common.name, slot = %route.common.slot, "route started");
    let batch = route.common.batch;
    let (tx, mut rx) = mpsc::channel::<(Message, Arc<Pool>)>(batch);
    let mut fetchers = JoinSet::new();
    for consumer in consumers {
        fetchers.spawn(fetch(
            consumer,
            batch,
            tx.clone(),
            shutdown.clone(),
            route.clone(),
        ));
    }
    drop(tx);

    // In flight: taken from the channel and not yet settled (acked, naked or dead-lettered).
    let in_flight = Arc::new(Semaphore::new(batch * 2));
    let mut mapped = FuturesOrdered::new();
    let mut settling = JoinSet::new();
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            Some((message, id, pool, permit, result)) = mapped.next() => {
                settle(&route, message, id, &pool, result, permit, &mut settling).await;
            }
            // Only this loop takes permits, so one is free whenever the count says so; the settling tasks give
            // them back, and their ends wake the loop.
            message = rx.recv(), if open && in_flight.available_permits() > 0 => {
                match (message, in_flight.clone().try_acquire_owned()) {
                    (Some((message, pool)), Ok(permit)) => {
                        let route = route.clone();
                        // Worked out once per delivery: the checks, the plugin call and the outputs share it.
                        let id = identity(&message);
                        mapped.push_back(async move {
                            let result = invoke(&route, &message, &id, &pool).await;
                            (message, id, pool, permit, result)
                        });
                    }
                    (Some((message, _)), Err(_)) => {
                        // Unreachable in practice; hand the message back rather than hold it.
                        let _ = message.ack_with(AckKind::Nak(None)).await;
                    }
                    (None, _) => open = false,
                }
            }
            Some(_) = settling.join_next(), if !settling.is_empty() => {}
            else => break,
        }
        if !open && mapped.is_empty() && settling.is_empty() {
            break;
        }
    }
    while fetchers.join_next().await.is_some() {}
    tracing::info!(tenant = %route.tenant, route = %route.common.name, "route stopped");
}

/// Pulls batches from one consumer into the route's channel until shutdown. A batch that has started is
/// finished, so every message pulled is handed to the route, each with the version active when it arrived: a
/// swap takes effect from the next message on, and a message already fetched finishes on its version. While the
/// slot has no active version nothing is fetched.
async fn fetch(
    consumer: consumer::PullConsumer,
    batch: usize,
    tx: mpsc::Sender<(Message, Arc<Pool>)>,
    mut shutdown: watch::Receiver<bool>,
    route: Arc<Route>,
) {
    let mut delay = Duration::from_millis(200);
    let mut active = route.active.clone();
    while !*shutdown.borrow() {
        if active.borrow().is_none() {
            tokio::select! {
                waited = active.wait_for(Option::is_some) => if waited.is_err() { return },
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let messages = consumer
            .batch()
            .max_messages(batch)
            .expires(Duration::from_secs(1))
            .messages()
            .await;
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(err) => {
                tracing::warn!(tenant = %route.tenant, route = %route.common.name, "fetching: {err}; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        delay = Duration::from_millis(200);
        while let Some(message) = messages.next().await {
            match message {
                Ok(message) => {
                    let pool = active.borrow().clone();
                    let Some(pool) = pool else {
                        // The route lost its version mid-batch (it is being removed): the message goes back.
                        let _ = message.ack_with(AckKind::Nak(None)).await;
                        continue;
                    };
                    if tx.send((message, pool)).await.is_err() {
                        return;
                    }
                }
                Err(err) => {
                    tracing::debug!(tenant = %route.tenant, route = %route.common.name, "batch ended: {err}");
                    break;
                }
            }
        }
    }
}

/// Where a message stands after its plugin call (or the checks before it).
enum Outcome {
    /// The plugin answered; the outputs go out.
    Answer(Answer),
    /// The message is refused before or by the plugin.
    Failed(Failure),
}

/// Why a message failed; its class decides what happens to it ([`FailureClass::action`]).
struct Failure {
    class: FailureClass,
    error: String,
    diagnostic: Option<serde_json::Value>,
}

impl Failure {
    fn new(class: FailureClass, error: String) -> Self {
        Self {
            class,
            error,
            diagnostic: None,
        }
    }

    /// A publish that failed: permanent ones are dead-lettered at once, transient ones count as attempts.
    fn publish(failure: bus::publish::PublishFailure) -> Self {
        match failure {
            bus::publish::PublishFailure::Permanent(error) => {
                Self::new(FailureClass::PublishRefused, error)
            }
            bus::publish::PublishFailure::Transient(error) => {
                Self::new(FailureClass::PublishFailed, error)
            }
        }
    }

    fn from_invoke(err: InvokeError) -> Self {
        Self {
            class: err.class(),
            diagnostic: err.diagnostic().cloned(),
            error: err.to_string(),
        }
    }

    fn action(&self) -> Action {
        self.class.action()
    }
}

/// What identifies one input, stable across its redeliveries.
struct Identity {
    /// `<stream>:<sequence>`: the prefix of every output id.
    key: String,
    /// The input's own id: its `Nats-Msg-Id`, else the key.
    message_id: String,
    /// Kept from the input, or derived from the key and the time JetStream stored it.
    correlation_id: String,
    /// The deliveries so far, this one included.
    delivered: i64,
    /// When JetStream stored it.
    stored_at: jiff::Timestamp,
}

fn identity(message: &Message) -> Identity {
    let headers = message.headers.as_ref();
    let (key, delivered, stored_at) = match message.info() {
        Ok(info) => (
            format!("{}:{}", info.stream, info.stream_sequence),
            info.delivered,
            jiff::Timestamp::from_nanosecond(info.published.unix_timestamp_nanos())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        ),
        Err(_) => (message.subject.to_string(), 1, jiff::Timestamp::now()),
    };
    let message_id = bus::header(headers, bus::MSG_ID)
        .map(str::to_string)
        .unwrap_or_else(|| key.clone());
    let correlation_id = bus::header(headers, bus::CORRELATION_ID)
        .map(str::to_string)
        .unwrap_or_else(|| derived_correlation_id(&key, stored_at));
    Identity {
        key,
        message_id,
        correlation_id,
        delivered,
        stored_at,
    }
}

/// A correlation id for an input that came without one: the same on every redelivery, unique per stored message.
pub(crate) fn derived_correlation_id(key: &str, stored_at: jiff::Timestamp) -> String {
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(stored_at.as_nanosecond().to_be_bytes())
        .finalize();
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Checks the message and runs it through the plugin.
async fn invoke(route: &Route, message: &Message, id: &Identity, pool: &Pool) -> Outcome {
    let payload = match payload_of(route, message).await {
        Ok(payload) => payload,
        Err(failure) => return Outcome::Failed(failure),
    };
    let limit = route.common.max_payload_bytes;
    if payload.len() > limit {
        return Outcome::Failed(Failure::new(
            FailureClass::PayloadTooLarge,
            format!(
                "the payload is {} bytes; route {} takes at most {limit} (max_payload_bytes)",
                payload.len(),
                route.common.name
            ),
        ));
    }
    let job = match &route.kind {
        Kind::Inbound { source, text } => {
            if payload.is_empty() {
                return Outcome::Failed(Failure::new(
                    FailureClass::EmptyPayload,
                    format!("the message on {} has an empty payload", message.subject),
                ));
            }
            if *text && let Err(err) = std::str::from_utf8(&payload) {
                return Outcome::Failed(Failure::new(
                    FailureClass::NotText,
                    format!(
                        "the payload is not UTF-8 text (invalid byte at offset {}); route {} expects text - set payload = \"bytes\" on the route if the partner sends another encoding",
                        err.valid_up_to(),
                        route.common.name
                    ),
                ));
            }
            let headers = message.headers.as_ref();
            Job::Map(Envelope {
                source: source.to_string(),
                message_id: id.message_id.clone(),
                correlation_id: id.correlation_id.clone(),
                received_at: id.stored_at,
                content_type: bus::header(headers, bus::CONTENT_TYPE).map(str::to_string),
                file_name: bus::header(headers, bus::FILE_NAME).map(str::to_string),
                headers: header_pairs(headers),
                payload,
            })
        }
        Kind::Outbound { target, .. } => {
            let event = match serde_json::from_slice(&payload) {
                Ok(event) => event,
                Err(err) => {
                    return Outcome::Failed(Failure::new(
                        FailureClass::BadInput,
                        format!("the event on {} is not JSON: {err}", message.subject),
                    ));
                }
            };
            Job::Render {
                event,
                target: target.name().to_string(),
                correlation_id: id.correlation_id.clone(),
            }
        }
    };
    match pool.run(job).await {
        Ok(answer) => Outcome::Answer(answer),
        Err(err) => Outcome::Failed(Failure::from_invoke(err)),
    }
}

/// The message's payload: its own, or, for a message too large to carry it inline (a replay of a large dead
/// letter), the one it names in the tenant's payload bucket (see [`bus::payloads`]).
async fn payload_of(route: &Route, message: &Message) -> Result<Bytes, Failure> {
    match bus::payloads::PayloadRef::from_headers(&route.tenant, message.headers.as_ref()) {
        Ok(None) => Ok(message.payload.clone()),
        Ok(Some(reference)) => bus::payloads::get(&route.bus.js, &route.tenant, &reference)
            .await
            .map_err(|err| Failure::new(FailureClass::PayloadUnavailable, format!("{err:#}"))),
        Err(err) => Err(Failure::new(FailureClass::BadInput, format!("{err:#}"))),
    }
}

fn header_pairs(headers: Option<&HeaderMap>) -> Vec<(String, String)> {
    let Some(headers) = headers else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.to_string(), value.as_str().to_string()))
        })
        .collect();
    pairs.sort();
    pairs
}

/// The headers every output of an input carries.
fn output_headers(
    route: &Route,
    message: &Message,
    id: &Identity,
    plugin: &str,
    output_id: &str,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(bus::MSG_ID, output_id);
    headers.insert(bus::CORRELATION_ID, id.correlation_id.as_str());
    headers.insert(bus::CAUSATION_ID, id.message_id.as_str());
    let source = match &route.kind {
        Kind::Inbound { source, .. } => Some(source.as_str()),
        Kind::Outbound { .. } => bus::header(message.headers.as_ref(), bus::SOURCE),
    };
    if let Some(source) = source {
        headers.insert(bus::SOURCE, source);
    }
    headers.insert(bus::PLUGIN, plugin);
    headers
}

/// Publishes what the plugin produced, in input order (this runs in the route's loop), and leaves the waiting
/// for acknowledgments, deliveries and dead letters to a task of its own.
async fn settle(
    route: &Arc<Route>,
    message: Message,
    id: Identity,
    pool: &Arc<Pool>,
    outcome: Outcome,
    permit: tokio::sync::OwnedSemaphorePermit,
    settling: &mut JoinSet<()>,
) {
    let route = route.clone();
    let plugin: Arc<str> = pool.label_arc();
    let outputs: Vec<(String, HeaderMap, Bytes)> = match outcome {
        Outcome::Answer(Answer::Events(events)) => events
            .into_iter()
            .enumerate()
            .map(|(index, event)| {
                let output_id = format!("{}:{}:{index}", route.common.name, id.key);
                let mut headers = output_headers(&route, &message, &id, &plugin, &output_id);
                headers.insert(bus::EVENT_TYPE, event.event_type);
                headers.insert(bus::CONTENT_TYPE, "application/json");
                let subject = bus::ev_subject(&route.tenant, event.event_type);
                (subject, headers, Bytes::from(event.json))
            })
            .collect(),
        Outcome::Answer(Answer::Documents(documents)) => match &route.kind {
            Kind::Outbound {
                target: Target::Subject { name },
                ..
            } => {
                let subject = bus::out_subject(&route.tenant, name);
                documents
                    .into_iter()
                    .enumerate()
                    .map(|(index, document)| {
                        let output_id = format!("{}:{}:{index}", route.common.name, id.key);
                        let mut headers =
                            output_headers(&route, &message, &id, &plugin, &output_id);
                        for (name, value) in &document.headers {
                            headers.insert(name.as_str(), value.as_str());
                        }
                        headers.insert(bus::CONTENT_TYPE, document.content_type.as_str());
                        if let Some(file) = &document.file_name {
                            headers.insert(bus::FILE_NAME, file.as_str());
                        }
                        (subject.clone(), headers, Bytes::from(document.payload))
                    })
                    .collect()
            }
            _ => {
                settling.spawn(async move {
                    deliver_http(&route, &message, &id, &plugin, documents).await;
                    drop(permit);
                });
                return;
            }
        },
        Outcome::Failed(failure) => {
            settling.spawn(async move {
                fail(&route, &message, &id, &plugin, failure).await;
                drop(permit);
            });
            return;
        }
    };
    // Sized before anything goes out: an output the server can never take fails its input whole, rather than
    // after the outputs before it were stored.
    let max_payload = route.bus.max_payload();
    let oversized = outputs
        .iter()
        .enumerate()
        .map(|(index, (subject, headers, payload))| {
            (
                index,
                subject,
                bus::publish::wire_size(headers, payload.len()),
            )
        })
        .find(|(_, _, size)| *size > max_payload);
    if let Some((index, subject, size)) = oversized {
        let failure = Failure::new(
            FailureClass::OutputTooLarge,
            format!(
                "output {index} for {subject} is {size} bytes with its headers; the NATS server takes at most {max_payload} (its max_payload)"
            ),
        );
        settling.spawn(async move {
            fail(&route, &message, &id, &plugin, failure).await;
            drop(permit);
        });
        return;
    }
    let mut acks = Vec::with_capacity(outputs.len());
    let mut failed = None;
    for (subject, headers, payload) in outputs {
        match route
            .bus
            .js
            .publish_with_headers(subject.clone(), headers, payload)
            .await
        {
            Ok(ack) => acks.push((subject, ack)),
            Err(err) => {
                failed = Some(bus::publish::classify(&err, &subject, &route.bus.denials));
                break;
            }
        }
    }
    settling.spawn(async move {
        let denials = &route.bus.denials;
        let waits = acks.into_iter().map(|(subject, ack)| async move {
            ack.await
                .map(drop)
                .map_err(|err| bus::publish::classify(&err, &subject, denials))
        });
        let stored = futures::future::join_all(waits).await;
        match failed.or_else(|| stored.into_iter().find_map(Result::err)) {
            // Nothing is lost: the input is retried (outputs already stored are dropped as duplicates then) or,
            // when the server will never take an output, dead-lettered with the reason.
            Some(failure) => fail(&route, &message, &id, &plugin, Failure::publish(failure)).await,
            None => {
                if let Err(err) = message.ack().await {
                    tracing::warn!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "acknowledging: {err}; JetStream will redeliver and the outputs dedupe");
                }
            }
        }
        drop(permit);
    });
}

async fn deliver_http(
    route: &Route,
    message: &Message,
    id: &Identity,
    plugin: &str,
    documents: Vec<crate::invoke::OutboundDocument>,
) {
    let Some(delivery) = &route.http else {
        fail(
            route,
            message,
            id,
            plugin,
            Failure::new(FailureClass::Host, "the route has no HTTP client".into()),
        )
        .await;
        return;
    };
    for (index, document) in documents.iter().enumerate() {
        let output_id = format!("{}:{}:{index}", route.common.name, id.key);
        let headers = output_headers(route, message, id, plugin, &output_id);
        if let Err(err) = delivery.send(document, &headers, &output_id).await {
            let class = if err.retryable {
                FailureClass::DeliveryFailed
            } else {
                FailureClass::DeliveryRejected
            };
            let failure = Failure::new(class, err.message);
            fail(route, message, id, plugin, failure).await;
            return;
        }
    }
    if let Err(err) = message.ack().await {
        tracing::warn!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "acknowledging: {err}");
    }
}

/// The delay before the next delivery after `delivered` attempts: `backoff`, doubling, at most `max_backoff`.
pub fn backoff(common: &RouteCommon, delivered: i64) -> Duration {
    let exponent = (delivered.max(1) - 1).min(20) as u32;
    common
        .backoff
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(common.max_backoff)
}

/// Retries, or dead-letters, a failed input.
async fn fail(route: &Route, message: &Message, id: &Identity, plugin: &str, failure: Failure) {
    let attempts = id.delivered;
    if failure.action() == Action::Retry && attempts < i64::from(route.common.max_attempts) {
        let delay = backoff(&route.common, attempts);
        tracing::info!(tenant = %route.tenant, route = %route.common.name, input = %id.key, attempt = attempts, class = failure.class.as_str(), ?delay, "{}; retrying", failure.error);
        let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
        return;
    }
    let headers = dlq::dead_letter_headers(route, message, id, plugin, &failure);
    let stored = dlq::store(
        &route.bus,
        &route.tenant,
        &route.common.name,
        &id.key,
        headers,
        message.payload.clone(),
    )
    .await;
    match stored {
        Ok(stored) => {
            tracing::warn!(tenant = %route.tenant, route = %route.common.name, input = %id.key, attempts, class = failure.class.as_str(), "dead-lettered{}: {}", if stored.offloaded { " (its payload kept in the tenant's payload bucket)" } else { "" }, failure.error);
            let _ = message.ack().await;
        }
        Err(err) => {
            // The dead letter is not stored, so the input must not go: it comes back and is tried again.
            tracing::error!(tenant = %route.tenant, route = %route.common.name, input = %id.key, class = failure.class.as_str(), "could not store the dead letter for ({}): {err:#}; the input stays and is tried again", failure.error);
            let _ = message
                .ack_with(AckKind::Nak(Some(backoff(&route.common, attempts))))
                .await;
        }
    }
}
