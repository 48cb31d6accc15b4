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
//! diagnostic, the attempt count and the plugin; `dlq` replays it. A parked one names the master-data tables its
//! call missed, and comes back on its own when one of them changes ([`parked`]).

mod acks;
pub mod dlq;
pub mod http;
mod message;
pub mod parked;
pub mod pool;
pub mod routes;
mod settle;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::{AckKind, Message, consumer};
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::bus::{self, StreamKind};
pub use crate::config::Kind;
use crate::config::RouteCommon;
use crate::names::Tenant;
pub(crate) use message::derived_correlation_id;
use message::{identity, invoke};
use pool::Pool;
pub use settle::backoff;
use settle::settle;

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
    /// The tenant's master data, live, and its store: what a message about to be parked is checked against.
    pub lookups: bus::lookups::TenantLookups,
    /// Where acknowledgments draw their control numbers (the plugins' `sequences.next`).
    pub sequences: Arc<dyn crate::host_api::Sequences>,
    /// The tenant's interchanges seen, for routes that acknowledge; opened on first use.
    pub interchanges: tokio::sync::OnceCell<async_nats::jetstream::kv::Store>,
    /// The tenant's business rules, for inbound routes when any is on: they place each event (published or
    /// quarantined) before it goes out.
    pub rules: Option<Arc<crate::rules::TenantRules>>,
    /// The tenant's trace, when it records one: every input, output, dead letter and release, by business key.
    pub trace: Option<Arc<crate::trace::Trace>>,
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
    tracing::info!(tenant = %route.tenant, route = %route.common.name, mapping = %route.common.mapping, "route started");
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
            Some((message, id, pool, permit, (result, plan))) = mapped.next() => {
                settle(&route, message, id, &pool, result, plan, permit, &mut settling).await;
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
