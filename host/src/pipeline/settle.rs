//! What becomes of a mapped input: its outputs published in input order and their acknowledgments awaited
//! together, its HTTP deliveries, and — when something failed — a retry with backoff or a dead letter.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{AckKind, Message};
use bytes::Bytes;
use tokio::task::JoinSet;

use super::message::{Failure, Identity, Outcome};
use super::pool::{Answer, Pool};
use super::{Route, acks, dlq, parked};
use crate::bus;
use crate::config::{Kind, RouteCommon, Target};
use crate::invoke::{Action, FailureClass};
use crate::rules;
use crate::trace;

/// Output `index` of an input: `<route>:<stream>:<sequence>:<index>`, the same on every redelivery.
fn output_id(route: &Route, id: &Identity, index: usize) -> String {
    format!("{}:{}:{index}", route.common.name, id.key)
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
/// for acknowledgments, deliveries and dead letters to a task of its own. An input of a route that acknowledges
/// X12 brings its 997s and TA1s (`acks`): they go out with its outputs, or before its dead letter.
#[allow(
    clippy::too_many_arguments,
    reason = "the input, its verdict and the loop's bookkeeping"
)]
pub(super) async fn settle(
    route: &Arc<Route>,
    message: Message,
    id: Identity,
    pool: &Arc<Pool>,
    outcome: Outcome,
    plan: Option<acks::Plan>,
    permit: tokio::sync::OwnedSemaphorePermit,
    settling: &mut JoinSet<()>,
) {
    let route = route.clone();
    let plugin: Arc<str> = pool.label_arc();
    let ack_target = match &route.kind {
        Kind::Inbound {
            acknowledgments: Some(a),
            ..
        } => Some(a.target.to_string()),
        _ => None,
    };
    let ack_outputs = match (&plan, &ack_target) {
        (Some(plan), Some(target)) => plan.outputs(&route, &id, target),
        _ => Vec::new(),
    };
    // The rules place each event (published, or held back) and record what the events change; state that
    // cannot be written makes the input wait.
    let mut placed: Option<rules::Placement> = None;
    let mut outputs: Vec<(String, HeaderMap, Bytes)> = match outcome {
        Outcome::Answer(Answer::Events(events)) => {
            let placement = match &route.rules {
                Some(rules) => match rules.place(&events).await {
                    Ok(placement) => placement,
                    Err(err) => {
                        let failure = Failure::new(
                            FailureClass::Host,
                            format!("the rules' state cannot be read or written just now: {err:#}"),
                        );
                        settling.spawn(async move {
                            fail(&route, &message, &id, &plugin, failure).await;
                            drop(permit);
                        });
                        return;
                    }
                },
                None => None,
            };
            let outputs: Vec<(String, HeaderMap, Bytes)> = events
                .into_iter()
                .enumerate()
                .map(|(index, event)| {
                    let output_id = output_id(&route, &id, index);
                    let mut headers = output_headers(&route, &message, &id, &plugin, &output_id);
                    headers.insert(bus::EVENT_TYPE, event.event_type);
                    headers.insert(bus::CONTENT_TYPE, "application/json");
                    let held = placement.as_ref().is_some_and(|p| p.is_held_back(index));
                    let subject = if held {
                        bus::quarantine_subject(&route.tenant, event.event_type)
                    } else {
                        bus::ev_subject(&route.tenant, event.event_type)
                    };
                    (subject, headers, Bytes::from(event.json))
                })
                .collect();
            placed = placement;
            outputs
        }
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
                        let output_id = output_id(&route, &id, index);
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
                let mut traced = traced_outputs(&route, &ack_outputs);
                // The partner hears why before the input goes to the dead letters; if it cannot be told, the
                // input stays and is tried again.
                match publish_all(&route, ack_outputs).await {
                    Ok(stored) => {
                        for (output, stored) in traced.iter_mut().zip(stored) {
                            output.stored = Some(stored);
                        }
                        fail_with(&route, &message, &id, &plugin, failure, &traced).await;
                    }
                    Err(failure) => fail(&route, &message, &id, &plugin, failure).await,
                }
                drop(permit);
            });
            return;
        }
    };
    outputs.extend(ack_outputs);
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
    // What the trace records of each output, read before they go (the payloads move into the publishes).
    let mut traced = traced_outputs(&route, &outputs);
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
                .map_err(|err| bus::publish::classify(&err, &subject, denials))
        });
        let stored = futures::future::join_all(waits).await;
        let sequences: Vec<u64> = stored
            .iter()
            .map(|s| s.as_ref().map_or(0, |ack| ack.sequence))
            .collect();
        for (output, stored) in traced.iter_mut().zip(&stored) {
            output.stored = stored.as_ref().ok().map(|ack| (ack.stream.clone(), ack.sequence));
        }
        // Decisions the rules make from here on (releases) are this input's.
        let since = jiff::Timestamp::now();
        match failed.or_else(|| stored.into_iter().find_map(Result::err)) {
            // Nothing is lost: the input is retried (outputs already stored are dropped as duplicates then) or,
            // when the server will never take an output, dead-lettered with the reason.
            Some(failure) => fail(&route, &message, &id, &plugin, Failure::publish(failure)).await,
            None => {
                if let (Some(rules), Some(placement)) = (&route.rules, &placed) {
                    let stored: Vec<(u64, String)> = sequences
                        .iter()
                        .enumerate()
                        .map(|(index, sequence)| (*sequence, output_id(&route, &id, index)))
                        .collect();
                    if let Err(err) = rules.settle(placement, &stored, &id.correlation_id).await {
                        let failure = Failure::new(
                            FailureClass::Host,
                            format!("the rules' state cannot be written just now: {err:#}"),
                        );
                        fail(&route, &message, &id, &plugin, failure).await;
                        drop(permit);
                        return;
                    }
                }
                let mut refused = None;
                if let Some(plan) = plan {
                    match after_acknowledged(&route, &message, &id, &plugin, plan).await {
                        Ok(letter) => refused = letter,
                        Err(failure) => {
                            fail(&route, &message, &id, &plugin, failure).await;
                            drop(permit);
                            return;
                        }
                    }
                }
                if let Some(trace) = &route.trace {
                    let input = trace_input(&route, &message, &id, since);
                    trace.write(trace::settled(&input, &traced, refused)).await;
                    if let Some(rules) = &route.rules {
                        let lots = trace::lots_decided(&traced);
                        if !lots.is_empty() {
                            trace.decisions(trace::lots_of(rules), &lots, since).await;
                        }
                    }
                }
                if let Err(err) = message.ack().await {
                    tracing::warn!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "acknowledging: {err}; JetStream will redeliver and the outputs dedupe");
                }
            }
        }
        drop(permit);
    });
}

/// Publishes outputs and waits until every one is stored; where each was stored (stream, sequence).
async fn publish_all(
    route: &Route,
    outputs: Vec<(String, HeaderMap, Bytes)>,
) -> Result<Vec<(String, u64)>, Failure> {
    let mut acks = Vec::with_capacity(outputs.len());
    for (subject, headers, payload) in outputs {
        let ack = route
            .bus
            .js
            .publish_with_headers(subject.clone(), headers, payload)
            .await
            .map_err(|err| {
                Failure::publish(bus::publish::classify(&err, &subject, &route.bus.denials))
            })?;
        acks.push((subject, ack));
    }
    let mut stored = Vec::with_capacity(acks.len());
    for (subject, ack) in acks {
        let ack = ack.await.map_err(|err| {
            Failure::publish(bus::publish::classify(&err, &subject, &route.bus.denials))
        })?;
        stored.push((ack.stream, ack.sequence));
    }
    Ok(stored)
}

/// What the trace records of `outputs`; nothing when the tenant records no trace.
fn traced_outputs(route: &Route, outputs: &[(String, HeaderMap, Bytes)]) -> Vec<trace::Output> {
    if route.trace.is_none() {
        return Vec::new();
    }
    outputs
        .iter()
        .map(|(subject, headers, payload)| trace::Output::new(subject, headers, payload))
        .collect()
}

/// The input as the trace records it.
fn trace_input<'a>(
    route: &'a Route,
    message: &'a Message,
    id: &'a Identity,
    settled_at: jiff::Timestamp,
) -> trace::Input<'a> {
    let outbound = matches!(route.kind, Kind::Outbound { .. });
    trace::Input {
        subject: message.subject.as_str(),
        key: &id.key,
        message_id: &id.message_id,
        correlation_id: &id.correlation_id,
        route: route.common.name.as_str(),
        stored_at: id.stored_at,
        settled_at,
        keys: trace::input_keys(&message.payload, outbound),
        recorded: !outbound,
    }
}

/// Once an acknowledged input's outputs are stored: its interchanges are remembered, and the part of it that
/// was refused is dead-lettered on its own (its letter, for the trace). An error leaves the input to be tried
/// again (its outputs dedupe).
async fn after_acknowledged(
    route: &Route,
    message: &Message,
    id: &Identity,
    plugin: &str,
    plan: acks::Plan,
) -> Result<Option<trace::Letter>, Failure> {
    let Kind::Inbound {
        acknowledgments: Some(config),
        ..
    } = &route.kind
    else {
        return Ok(None);
    };
    let origin = acks::origin(message, id);
    acks::remember(route, config, &origin, &plan.mapped)
        .await
        .map_err(|err| Failure::new(FailureClass::Host, format!("{err:#}")))?;
    if let Some((payload, failure)) = plan.rejected {
        let headers = dlq::dead_letter_headers(route, message, id, plugin, &failure);
        let stored = dlq::store(
            &route.bus,
            &route.tenant,
            &route.common.name,
            &id.key,
            headers,
            payload,
        )
        .await
        .map_err(|err| {
            Failure::new(
                FailureClass::Host,
                format!("storing the dead letter of the refused sets: {err:#}"),
            )
        })?;
        tracing::warn!(tenant = %route.tenant, route = %route.common.name, input = %id.key, dead_letter = stored.sequence, class = failure.class.as_str(), "the rest mapped; the refused part dead-lettered: {}", failure.error);
        return Ok(Some(trace::Letter::new(
            &route.tenant,
            &route.common.name,
            stored.sequence,
            failure.class.as_str(),
            &failure.error,
        )));
    }
    Ok(None)
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
        let output_id = output_id(route, id, index);
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
    if let Some(trace) = &route.trace {
        let delivered: Vec<trace::Output> = (0..documents.len())
            .map(|index| trace::Output {
                subject: format!("http:{}", route.common.name),
                id: output_id(route, id, index),
                event_type: None,
                ack: None,
                keys: Vec::new(),
                stored: None,
            })
            .collect();
        let input = trace_input(route, message, id, jiff::Timestamp::now());
        trace.write(trace::settled(&input, &delivered, None)).await;
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
    fail_with(route, message, id, plugin, failure, &[]).await;
}

/// [`fail`], for an input whose acknowledgments (`acks`, stored) went to the partner before it failed.
async fn fail_with(
    route: &Route,
    message: &Message,
    id: &Identity,
    plugin: &str,
    failure: Failure,
    acks: &[trace::Output],
) {
    let attempts = id.delivered;
    if failure.action() == Action::Retry && attempts < i64::from(route.common.max_attempts) {
        let delay = backoff(&route.common, attempts);
        tracing::info!(tenant = %route.tenant, route = %route.common.name, input = %id.key, attempt = attempts, class = failure.class.as_str(), ?delay, "{}; retrying", failure.error);
        let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
        return;
    }
    let parking = failure.action() == Action::Park;
    if parking && parked::changed_since(route, &failure.missed).await {
        // This host's tables were behind the store's; they are not now, so the message is tried again at once.
        tracing::info!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "{}; a table it missed has changed meanwhile: trying it again instead of parking it", failure.error);
        let _ = message.ack_with(AckKind::Nak(None)).await;
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
            if let Some(trace) = &route.trace {
                // Acknowledgments sent before the letter are timed before it.
                let input = trace_input(route, message, id, jiff::Timestamp::now());
                let letter = trace::Letter::new(
                    &route.tenant,
                    &route.common.name,
                    stored.sequence,
                    failure.class.as_str(),
                    &failure.error,
                );
                trace
                    .write(trace::dead_lettered(&input, acks, letter))
                    .await;
            }
            let _ = message.ack().await;
            if parking {
                parked::after_parking(route, &failure.missed, stored.sequence).await;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_from_backoff_up_to_max_backoff() {
        let common = crate::config::route::api_route(
            &crate::names::RouteName::new("r").expect("name"),
            &serde_json::json!({"direction": "inbound", "source": "s", "backoff": "250ms", "max_backoff": "2s"}),
        )
        .expect("route")
        .common;
        let delays: Vec<u128> = (1..=6).map(|n| backoff(&common, n).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000, 2000]);
        assert_eq!(
            backoff(&common, 0).as_millis(),
            250,
            "a first delivery counts as one"
        );
        assert_eq!(backoff(&common, i64::MAX).as_millis(), 2000, "no overflow");
    }
}
