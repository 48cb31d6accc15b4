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
//!
//! A slot whose version fails input after input is suspended by its [`breaker`]: the route then fetches nothing
//! and holds what it had fetched, unacknowledged, with "in progress" acknowledgments that keep JetStream from
//! redelivering them (a redelivery would count as an attempt); one at a time goes through as a probe, and all go
//! once the suspension is lifted.

mod acks;
pub mod breaker;
pub mod dlq;
pub mod http;
mod message;
mod oauth;
pub mod parked;
pub mod pool;
pub mod routes;
mod settle;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use crate::invoke::Action;
use crate::names::Tenant;
use breaker::{Breaker, Gate};
pub(crate) use message::derived_correlation_id;
use message::{Identity, Outcome, identity, invoke};
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
    /// The slot's circuit breaker; `None` for a built-in mapper.
    pub breaker: Option<Arc<Breaker>>,
}

impl Route {
    /// The input as the slot's breaker counts it: what the plugin job names ([`pool::Job::input`]).
    fn input_key<'a>(&self, id: &'a Identity) -> &'a str {
        match self.kind {
            Kind::Inbound { .. } => &id.message_id,
            Kind::Outbound { .. } => &id.key,
        }
    }

    /// Whether `message` may go through the plugin now.
    fn gate(&self, message: &Message) -> Gate {
        match &self.breaker {
            Some(breaker) => breaker.gate(self.input_key(&identity(message))),
            None => Gate::Open,
        }
    }
}

/// How often held messages are told to JetStream to be in progress: well within the route's `ack_wait`.
fn progress_every(ack_wait: Duration) -> Duration {
    (ack_wait / 3).max(Duration::from_millis(50))
}

/// Waits until the breaker may let a held message through: its state changed, or the next probe is due.
/// Cancelling it drops nothing.
async fn breaker_wakes(breaker: Option<&Arc<Breaker>>, changes: &mut Option<watch::Receiver<u64>>) {
    let (Some(breaker), Some(changes)) = (breaker, changes.as_mut()) else {
        return;
    };
    let Some(wait) = breaker.wait() else { return };
    tokio::select! {
        _ = changes.changed() => {}
        _ = tokio::time::sleep(wait) => {}
    }
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
    // Messages held while the slot is suspended: the fetchers ask for a probe only when none is held.
    let held_count = Arc::new(AtomicUsize::new(0));
    let mut fetchers = JoinSet::new();
    for consumer in consumers {
        fetchers.spawn(fetch(
            consumer,
            batch,
            tx.clone(),
            shutdown.clone(),
            route.clone(),
            held_count.clone(),
        ));
    }
    drop(tx);

    // In flight: taken from the channel and not yet settled (acked, naked or dead-lettered).
    let in_flight = Arc::new(Semaphore::new(batch * 2));
    let mut mapped = FuturesOrdered::new();
    let mut settling = JoinSet::new();
    // Taken while the slot is suspended, oldest first: neither in flight nor settled, kept alive in JetStream.
    let mut held: VecDeque<Message> = VecDeque::new();
    let mut progress = tokio::time::interval(progress_every(route.common.ack_wait));
    let mut changes = route.breaker.as_ref().map(|b| b.subscribe());
    // Maps a message on `pool`, in the route's order; worked out once per delivery: the checks, the plugin call
    // and the outputs share its identity.
    let launch = |message: Message, pool: Arc<Pool>, permit: tokio::sync::OwnedSemaphorePermit| {
        let route = route.clone();
        async move {
            let id = identity(&message);
            let result = invoke(&route, &message, &id, &pool).await;
            (message, id, pool, permit, result)
        }
    };
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            Some((message, id, pool, permit, (result, plan))) = mapped.next() => {
                if let Some(breaker) = &route.breaker {
                    breaker.done(route.input_key(&id));
                }
                match result {
                    // Its slot was suspended before its call: it waits with the others, its attempt not spent.
                    Outcome::Failed(failure) if failure.action() == Action::Hold => {
                        held.push_back(message);
                        drop(permit);
                    }
                    result => settle(&route, message, id, &pool, result, plan, permit, &mut settling).await,
                }
            }
            // Only this loop takes permits, so one is free whenever the count says so; the settling tasks give
            // them back, and their ends wake the loop.
            message = rx.recv(), if open && in_flight.available_permits() > 0 => {
                match message {
                    Some((message, pool)) => {
                        if held.is_empty() && route.gate(&message) != Gate::Closed {
                            match in_flight.clone().try_acquire_owned() {
                                Ok(permit) => mapped.push_back(launch(message, pool, permit)),
                                // Unreachable in practice; hand the message back rather than hold it.
                                Err(_) => {
                                    let _ = message.ack_with(AckKind::Nak(None)).await;
                                }
                            }
                        } else {
                            held.push_back(message);
                        }
                    }
                    None => open = false,
                }
            }
            Some(_) = settling.join_next(), if !settling.is_empty() => {}
            // Nothing is lost if this is cancelled: the held messages stay where they are.
            _ = progress.tick(), if !held.is_empty() => {
                for message in &held {
                    let _ = message.ack_with(AckKind::Progress).await;
                }
            }
            _ = breaker_wakes(route.breaker.as_ref(), &mut changes), if !held.is_empty() && in_flight.available_permits() > 0 => {}
            else => break,
        }
        // Held messages go, oldest first, once the slot is lifted; one goes as the probe when it is due.
        while open && in_flight.available_permits() > 0 {
            let Some(front) = held.front() else { break };
            if route.gate(front) == Gate::Closed {
                break;
            }
            // On the version active now: activating another one is a way out of a suspension.
            let pool = route.active.borrow().clone();
            let (Some(pool), Ok(permit)) = (pool, in_flight.clone().try_acquire_owned()) else {
                break;
            };
            let Some(message) = held.pop_front() else {
                break;
            };
            mapped.push_back(launch(message, pool, permit));
        }
        if !open {
            // Stopping: what is held goes back to JetStream for this host's successor or another host.
            for message in held.drain(..) {
                let _ = message.ack_with(AckKind::Nak(None)).await;
            }
        }
        held_count.store(held.len(), Ordering::Relaxed);
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
/// slot has no active version nothing is fetched; while it is suspended, only one message when a probe is due and
/// the route holds none to probe with.
async fn fetch(
    consumer: consumer::PullConsumer,
    batch: usize,
    tx: mpsc::Sender<(Message, Arc<Pool>)>,
    mut shutdown: watch::Receiver<bool>,
    route: Arc<Route>,
    held: Arc<AtomicUsize>,
) {
    let mut delay = Duration::from_millis(200);
    let mut active = route.active.clone();
    let mut changes = route.breaker.as_ref().map(|b| b.subscribe());
    while !*shutdown.borrow() {
        if active.borrow().is_none() {
            tokio::select! {
                waited = active.wait_for(Option::is_some) => if waited.is_err() { return },
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let mut wanted = batch;
        if let (Some(breaker), Some(changes)) = (&route.breaker, changes.as_mut())
            && let Some(wait) = breaker.wait()
        {
            if wait.is_zero() && held.load(Ordering::Relaxed) == 0 {
                wanted = 1;
            } else {
                // Cancelling the wait drops nothing: the loop looks again.
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = tokio::time::sleep(wait.max(Duration::from_millis(100))) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        }
        let messages = consumer
            .batch()
            .max_messages(wanted)
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
