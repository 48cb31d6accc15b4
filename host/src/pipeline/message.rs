//! One input: who it is (stable across its redeliveries), the checks it passes before its plugin runs, the
//! plugin call, and what a failure of any of these is.

use async_nats::HeaderMap;
use async_nats::jetstream::Message;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::pool::{Answer, Job, Pool};
use super::{Route, acks};
use crate::bus;
use crate::config::Kind;
use crate::host_api::Miss;
use crate::invoke::{Action, Envelope, FailureClass, InvokeError};

/// Where a message stands after its plugin call (or the checks before it).
pub(super) enum Outcome {
    /// The plugin answered; the outputs go out.
    Answer(Answer),
    /// The message is refused before or by the plugin.
    Failed(Failure),
}

/// Why a message failed; its class decides what happens to it ([`FailureClass::action`]).
pub(super) struct Failure {
    pub(super) class: FailureClass,
    pub(super) error: String,
    pub(super) diagnostic: Option<serde_json::Value>,
    /// The master-data tables the plugin call looked up and missed: what a parked message waits for.
    pub(super) missed: Vec<Miss>,
}

impl Failure {
    pub(super) fn new(class: FailureClass, error: String) -> Self {
        Self {
            class,
            error,
            diagnostic: None,
            missed: Vec::new(),
        }
    }

    /// A publish that failed: permanent ones are dead-lettered at once, transient ones count as attempts.
    pub(super) fn publish(failure: bus::publish::PublishFailure) -> Self {
        match failure {
            bus::publish::PublishFailure::Permanent(error) => {
                Self::new(FailureClass::PublishRefused, error)
            }
            bus::publish::PublishFailure::Transient(error) => {
                Self::new(FailureClass::PublishFailed, error)
            }
        }
    }

    fn from_invoke(err: InvokeError, missed: Vec<Miss>) -> Self {
        Self {
            class: err.class(),
            diagnostic: err.diagnostic().cloned(),
            error: err.to_string(),
            missed,
        }
    }

    pub(super) fn action(&self) -> Action {
        self.class.action()
    }
}

/// What identifies one input, stable across its redeliveries.
pub(super) struct Identity {
    /// `<stream>:<sequence>`: the prefix of every output id.
    pub(super) key: String,
    /// The input's own id: its `Nats-Msg-Id`, else the key.
    pub(super) message_id: String,
    /// Kept from the input, or derived from the key and the time JetStream stored it.
    pub(super) correlation_id: String,
    /// The deliveries so far, this one included.
    pub(super) delivered: i64,
    /// When JetStream stored it.
    pub(super) stored_at: jiff::Timestamp,
}

pub(super) fn identity(message: &Message) -> Identity {
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

/// Checks the message and runs it through the plugin; for a route that acknowledges X12, also works out the
/// acknowledgments ([`acks`]).
pub(super) async fn invoke(
    route: &Route,
    message: &Message,
    id: &Identity,
    pool: &Pool,
) -> (Outcome, Option<acks::Plan>) {
    let outcome = match check(route, message, id).await {
        Ok(job) => job,
        Err(failure) => return (Outcome::Failed(failure), None),
    };
    if let (
        Job::Map(envelope),
        Kind::Inbound {
            acknowledgments: Some(acknowledgments),
            ..
        },
    ) = (&outcome, &route.kind)
    {
        let origin = acks::origin(message, id);
        return acks::map(route, acknowledgments, id, &origin, pool, envelope.clone()).await;
    }
    match pool.run(outcome).await {
        (Ok(answer), _) => (Outcome::Answer(answer), None),
        (Err(err), missed) => (Outcome::Failed(Failure::from_invoke(err, missed)), None),
    }
}

/// The checks before the plugin call: the payload, its size and encoding, and the job it makes.
async fn check(route: &Route, message: &Message, id: &Identity) -> Result<Job, Failure> {
    let payload = payload_of(route, message).await?;
    let limit = route.common.max_payload_bytes;
    if payload.len() > limit {
        return Err(Failure::new(
            FailureClass::PayloadTooLarge,
            format!(
                "the payload is {} bytes; route {} takes at most {limit} (max_payload_bytes)",
                payload.len(),
                route.common.name
            ),
        ));
    }
    let job = match &route.kind {
        Kind::Inbound { source, text, .. } => {
            if payload.is_empty() {
                return Err(Failure::new(
                    FailureClass::EmptyPayload,
                    format!("the message on {} has an empty payload", message.subject),
                ));
            }
            if *text && let Err(err) = std::str::from_utf8(&payload) {
                return Err(Failure::new(
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
                    return Err(Failure::new(
                        FailureClass::BadInput,
                        format!("the event on {} is not JSON: {err}", message.subject),
                    ));
                }
            };
            Job::Render {
                event,
                target: target.name().to_string(),
                correlation_id: id.correlation_id.clone(),
                input_key: id.key.clone(),
            }
        }
    };
    Ok(job)
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

pub(super) fn header_pairs(headers: Option<&HeaderMap>) -> Vec<(String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_correlation_id_is_stable_per_stored_message_and_unique_across_them() {
        let at = jiff::Timestamp::from_second(1_718_000_000).expect("instant");
        let a = derived_correlation_id("MW_acme_IN:1", at);
        assert_eq!(
            a,
            derived_correlation_id("MW_acme_IN:1", at),
            "a redelivery gets the same"
        );
        assert_ne!(a, derived_correlation_id("MW_acme_IN:2", at));
        // A stream recreated after a purge reuses sequence numbers; the time it stored them tells them apart.
        assert_ne!(
            a,
            derived_correlation_id("MW_acme_IN:1", at + jiff::SignedDuration::from_secs(1))
        );
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4, "shaped like a UUID: {a}");
    }
}
