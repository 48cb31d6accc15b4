//! Dead letters: what a route writes when it gives up on a message, and how `millwright dlq` lists, replays
//! and discards them.
//!
//! A dead letter is the original message — payload and headers as they arrived — on `mw.<tenant>.dlq.<route>`,
//! with the failure added as `Mw-*` headers (see [`crate::bus`]). Its id is `<tenant>/<sequence>` in the tenant's
//! dead-letter stream. A replay publishes the message again on the route's input (`Mw-Replay-Subject`: the
//! source subject of an inbound route, the route's own replay subject for an outbound one) with its correlation
//! id, and deletes the dead letter only once JetStream has stored the replay. A person may discard one instead,
//! with a reason. Either way, once the dead letter is gone its `dead-letter-aged` alert, if it was raised, is
//! resolved ([`crate::rules::sla`]).
//!
//! Every header value is printable ASCII ([`bus::publish::header_text`]), and a dead letter always fits the
//! server's `max_payload`: when the input and the failure's headers together do not, the input goes to the
//! tenant's payload bucket and the dead letter names it ([`bus::payloads`]), so a replay still has the whole
//! document.

use anyhow::{Context, Result, anyhow, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, Message, stream::DirectGetErrorKind};
use bytes::Bytes;
use serde::Serialize;

use super::Route;
use super::message::{Failure, Identity};
use crate::bus::payloads::{self, PayloadRef};
use crate::bus::publish::{header_json, header_text, header_text_decoded, wire_size};
use crate::bus::{self, Connection, StreamKind};
use crate::config::Kind;
use crate::host_api::Miss;
use crate::invoke::{Action, FailureClass};
use crate::names::{RouteName, UNROUTED};

/// The longest error sentence a dead letter's `Mw-Error` keeps.
const MAX_ERROR_TEXT: usize = 2048;
/// The longest diagnostic a dead letter's `Mw-Diagnostic` keeps; a longer one keeps its message, cut.
const MAX_DIAGNOSTIC: usize = 8192;

/// The headers of a dead letter: the input's own, then the failure.
pub(super) fn dead_letter_headers(
    route: &Route,
    message: &Message,
    id: &Identity,
    plugin: &str,
    failure: &Failure,
) -> HeaderMap {
    let (source, replay_to) = match &route.kind {
        Kind::Inbound { source, .. } => (Some(source.as_str()), message.subject.to_string()),
        Kind::Outbound { .. } => (None, bus::replay_subject(&route.tenant, &route.common.name)),
    };
    failure_headers(
        message.headers.as_ref(),
        &route.common.name,
        source,
        &replay_to,
        id,
        plugin,
        failure,
        jiff::Timestamp::now(),
    )
}

/// [`dead_letter_headers`] from its parts: the input's headers, the route, where a replay goes, the input's
/// identity, the plugin, the failure and when.
#[allow(
    clippy::too_many_arguments,
    reason = "each part is one header's source"
)]
fn failure_headers(
    original: Option<&HeaderMap>,
    route: &RouteName,
    source: Option<&str>,
    replay_to: &str,
    id: &Identity,
    plugin: &str,
    failure: &Failure,
    at: jiff::Timestamp,
) -> HeaderMap {
    let mut headers = bus::carried_headers(original);
    payloads::copy_reference(original, &mut headers);
    if let Some(original_id) = bus::header(original, bus::MSG_ID) {
        headers.insert(bus::DLQ_ORIGINAL_ID, original_id);
    }
    // One dead letter per input, however often this one is redelivered.
    headers.insert(bus::MSG_ID, format!("dlq:{route}:{}", id.key).as_str());
    if bus::header(original, bus::ORIGIN).is_none() {
        headers.insert(bus::ORIGIN, id.key.as_str());
    }
    headers.insert(bus::CORRELATION_ID, id.correlation_id.as_str());
    headers.insert(bus::CAUSATION_ID, id.message_id.as_str());
    if let Some(source) = source {
        headers.insert(bus::SOURCE, source);
    }
    headers.insert(bus::PLUGIN, plugin);
    headers.insert(bus::DLQ_ROUTE, route.as_str());
    headers.insert(bus::DLQ_CLASS, failure.class.as_str());
    headers.insert(bus::DLQ_ERROR, error_text(&failure.error).as_str());
    if let Some(diagnostic) = &failure.diagnostic {
        headers.insert(bus::DLQ_DIAGNOSTIC, diagnostic_text(diagnostic).as_str());
    }
    headers.insert(bus::DLQ_ATTEMPTS, id.delivered.to_string().as_str());
    if failure.action() == Action::Park {
        headers.insert(bus::DLQ_PARKED, "true");
        if !failure.missed.is_empty() {
            let tables = super::parked::tables_header(&failure.missed);
            headers.insert(bus::DLQ_PARKED_TABLES, tables.as_str());
        }
    }
    headers.insert(bus::DLQ_AT, at.to_string().as_str());
    headers.insert(bus::DLQ_REPLAY_TO, replay_to);
    headers
}

/// An error sentence as a header value: one line of ASCII, at most [`MAX_ERROR_TEXT`] bytes.
fn error_text(error: &str) -> String {
    let text = header_text(error);
    if text.len() <= MAX_ERROR_TEXT {
        return text;
    }
    // The escaped text is ASCII, so any byte index is a character boundary.
    format!("{} [cut]", &text[..MAX_ERROR_TEXT])
}

/// A plugin's diagnostic as a header value: its JSON in ASCII; one too long keeps its message (cut), code and
/// position only.
fn diagnostic_text(diagnostic: &serde_json::Value) -> String {
    let text = header_json(diagnostic);
    if text.len() <= MAX_DIAGNOSTIC {
        return text;
    }
    let message: String = diagnostic["message"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(1024)
        .collect();
    let mut short = serde_json::json!({
        "message": format!("{message} [cut]"),
        "code": diagnostic["code"],
        "at": diagnostic["at"],
    });
    if header_json(&short).len() > MAX_DIAGNOSTIC {
        short["at"] = serde_json::Value::Null;
    }
    header_json(&short)
}

/// What storing a dead letter did.
#[derive(Debug, Clone, Copy)]
pub struct StoredDeadLetter {
    /// The payload went to the tenant's payload bucket: it did not fit beside the headers.
    pub offloaded: bool,
    /// Its sequence in the tenant's dead-letter stream: the number in its id.
    pub sequence: u64,
}

/// Stores a dead letter on `mw.<tenant>.dlq.<route>`: the payload inline when it fits beside `headers` within
/// the server's `max_payload`, else in the tenant's payload bucket (as `dlq/<route>/<key>`), named by the dead
/// letter's headers. A payload that is already a reference (a replayed large document) stays one.
pub async fn store(
    bus: &Connection,
    tenant: &str,
    route: &str,
    key: &str,
    mut headers: HeaderMap,
    payload: Bytes,
) -> Result<StoredDeadLetter> {
    let subject = bus::dlq_subject(tenant, route);
    let offloaded = wire_size(&headers, payload.len()) > bus.max_payload();
    let payload = if offloaded {
        let name = format!("dlq/{route}/{key}");
        let reference = payloads::put(&bus.js, tenant, &name, &payload)
            .await
            .context("keeping the payload in the tenant's payload bucket")?;
        reference.insert_into(tenant, &mut headers);
        Bytes::new()
    } else {
        payload
    };
    let size = wire_size(&headers, payload.len());
    if size > bus.max_payload() {
        bail!(
            "the dead letter's headers alone are {size} bytes, over the server's max_payload of {}",
            bus.max_payload()
        );
    }
    let stored = bus
        .js
        .publish_with_headers(subject.clone(), headers, payload)
        .await
        .with_context(|| format!("publishing to {subject}"))?
        .await
        .with_context(|| format!("storing on {subject}"))?;
    Ok(StoredDeadLetter {
        offloaded,
        sequence: stored.sequence,
    })
}

/// The headers of a document moved to the dead letters because no route takes its source (route
/// [`UNROUTED`], class `no-route`).
pub fn unrouted_headers(
    tenant: &str,
    source: &str,
    subject: &str,
    key: &str,
    message: &jetstream::message::StreamMessage,
) -> HeaderMap {
    let mut headers = bus::carried_headers(Some(&message.headers));
    payloads::copy_reference(Some(&message.headers), &mut headers);
    if bus::header(Some(&headers), bus::CORRELATION_ID).is_none() {
        let stored_at = jiff::Timestamp::from_nanosecond(message.time.unix_timestamp_nanos())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let derived = super::derived_correlation_id(key, stored_at);
        headers.insert(bus::CORRELATION_ID, derived.as_str());
    }
    if let Some(original_id) = bus::header(Some(&message.headers), bus::MSG_ID) {
        headers.insert(bus::DLQ_ORIGINAL_ID, original_id);
    }
    headers.insert(bus::MSG_ID, format!("dlq:{UNROUTED}:{key}").as_str());
    headers.insert(bus::SOURCE, source);
    headers.insert(bus::DLQ_ROUTE, UNROUTED);
    headers.insert(bus::DLQ_CLASS, FailureClass::NoRoute.as_str());
    headers.insert(
        bus::DLQ_ERROR,
        header_text(&format!(
            "tenant {tenant} has no inbound route for source {source}"
        ))
        .as_str(),
    );
    headers.insert(bus::DLQ_ATTEMPTS, "0");
    headers.insert(bus::DLQ_AT, jiff::Timestamp::now().to_string().as_str());
    headers.insert(bus::DLQ_REPLAY_TO, subject);
    headers
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
    /// Parked: the tables its plugin call looked up and missed, with the version it saw; a change to one of
    /// them replays it.
    pub parked_tables: Vec<Miss>,
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
    /// Where the payload is kept when it was too large to travel inline: `<bucket>/<name>`.
    pub payload_object: Option<String>,
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
            error: header_text_decoded(&text(bus::DLQ_ERROR)),
            diagnostic: bus::header(headers, bus::DLQ_DIAGNOSTIC)
                .and_then(|d| serde_json::from_str(d).ok()),
            attempts: text(bus::DLQ_ATTEMPTS).parse().unwrap_or(0),
            parked: bus::header(headers, bus::DLQ_PARKED) == Some("true"),
            parked_tables: bus::header(headers, bus::DLQ_PARKED_TABLES)
                .map(super::parked::parse_tables)
                .unwrap_or_default(),
            dead_at: text(bus::DLQ_AT),
            plugin: bus::header(headers, bus::PLUGIN).map(str::to_string),
            correlation_id: bus::header(headers, bus::CORRELATION_ID).map(str::to_string),
            replay_to: text(bus::DLQ_REPLAY_TO),
            bytes: bus::header(headers, payloads::SIZE)
                .and_then(|s| s.parse().ok())
                .unwrap_or(message.payload.len()),
            payload_object: bus::header(headers, payloads::OBJECT).map(str::to_string),
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

/// What became of one dead letter a replay named. Several hosts may act on the same dead letters and a replay
/// can fail halfway, so a replay of many is not all-or-nothing: each id gets its own outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ReplayOutcome {
    /// Published again on its route's input and deleted from the dead letters.
    Replayed {
        /// The dead letter's id, `<tenant>/<sequence>`.
        id: String,
        /// The subject it was published on.
        subject: String,
        /// Its correlation id.
        correlation_id: Option<String>,
        /// Set when something after the replay went wrong (the dead letter could not be deleted).
        note: Option<String>,
    },
    /// No such dead letter: already replayed or discarded, or never there.
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// Not replayed; it stays in the dead letters.
    Failed {
        /// The id asked for.
        id: String,
        /// Why.
        error: String,
    },
}

impl ReplayOutcome {
    /// The dead letter's id.
    pub fn id(&self) -> &str {
        match self {
            ReplayOutcome::Replayed { id, .. }
            | ReplayOutcome::NotFound { id }
            | ReplayOutcome::Failed { id, .. } => id,
        }
    }
}

/// Replays dead letter `sequence` of `tenant`, and deletes it once JetStream stored the replay.
pub async fn replay(bus: &Connection, tenant: &str, sequence: u64) -> ReplayOutcome {
    let id = format!("{tenant}/{sequence}");
    match replay_one(bus, tenant, sequence, &id).await {
        Ok(outcome) => outcome,
        Err(err) => ReplayOutcome::Failed {
            id,
            error: format!("{err:#}"),
        },
    }
}

async fn replay_one(
    bus: &Connection,
    tenant: &str,
    sequence: u64,
    id: &str,
) -> Result<ReplayOutcome> {
    let stream = dlq_stream(&bus.js, tenant).await?;
    let message = match stream.direct_get(sequence).await {
        Ok(message) => message,
        Err(err) if matches!(err.kind(), DirectGetErrorKind::NotFound) => {
            return Ok(ReplayOutcome::NotFound { id: id.to_string() });
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
    let reference = PayloadRef::from_headers(tenant, Some(&message.headers))?;
    let mut headers = bus::carried_headers(Some(&message.headers));
    // A second replay of the same dead letter, before the first deleted it, is dropped as a duplicate.
    headers.insert(bus::MSG_ID, format!("replay:{tenant}:{sequence}").as_str());
    headers.insert(bus::REPLAYED_FROM, id);
    let payload = match &reference {
        Some(reference) => payloads::get(&bus.js, tenant, reference).await?,
        None => message.payload.clone(),
    };
    // Inline when it fits; else by reference, so the route reads it from the payload bucket.
    let mut kept = None;
    let payload = if wire_size(&headers, payload.len()) <= bus.max_payload() {
        payload
    } else {
        let reference = match reference.clone() {
            Some(reference) => reference,
            None => payloads::put(&bus.js, tenant, &format!("replay/{sequence}"), &payload).await?,
        };
        reference.insert_into(tenant, &mut headers);
        kept = Some(reference);
        Bytes::new()
    };
    bus.js
        .publish_with_headers(subject.clone(), headers, payload)
        .await
        .with_context(|| format!("replaying {id} to {subject}"))?
        .await
        .with_context(|| format!("replaying {id} to {subject}: JetStream did not store it"))?;
    let correlation_id =
        bus::header(Some(&message.headers), bus::CORRELATION_ID).map(str::to_string);
    let note = match stream.delete_message(sequence).await {
        Ok(_) => {
            crate::rules::sla::dead_letter_gone(
                &bus.js,
                tenant,
                sequence,
                crate::rules::alerts::Note {
                    by: format!("rule:{}", crate::rules::sla::DEAD_LETTER_AGED),
                    at: jiff::Timestamp::now(),
                    note: Some(format!("replayed to {subject}")),
                },
            )
            .await;
            None
        }
        Err(err) => Some(format!(
            "replayed, but deleting the dead letter failed ({err}); it is still listed, and replaying it again within the duplicate window is dropped as a duplicate"
        )),
    };
    // The object is no longer needed once the document travelled inline.
    if let (Some(reference), None) = (&reference, &kept)
        && note.is_none()
        && let Err(err) = payloads::delete(&bus.js, tenant, reference).await
    {
        tracing::warn!(
            tenant,
            dead_letter = id,
            "deleting the replayed payload {}: {err:#}; it expires with the streams",
            reference.name
        );
    }
    Ok(ReplayOutcome::Replayed {
        id: id.to_string(),
        subject,
        correlation_id,
        note,
    })
}

/// A dead letter a person discarded.
#[derive(Debug, Clone)]
pub struct Discarded {
    /// `<tenant>/<sequence>`.
    pub id: String,
    /// Its sequence in the tenant's dead-letter stream.
    pub sequence: u64,
    /// The route that gave up on it.
    pub route: String,
    /// The subject it was kept on.
    pub subject: String,
    /// The input's correlation id.
    pub correlation_id: Option<String>,
    /// The business keys its document names (read from the payload when it travelled inline).
    pub keys: Vec<crate::trace::Key>,
    /// Who discarded it, when, and why.
    pub note: crate::rules::alerts::Note,
}

impl Discarded {
    /// The trace's record of it: a discard on its flow and the keys its document names.
    pub fn step(&self) -> crate::trace::Step {
        let mut keys = Vec::new();
        if let Some(cid) = &self.correlation_id {
            keys.push(crate::trace::Key::correlation(cid));
        }
        for key in &self.keys {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        let tenant = self.id.split('/').next().unwrap_or_default();
        let mut step = crate::trace::Step::new(format!("dlq-discard:{}", self.sequence));
        step.add(
            &keys,
            &crate::trace::Entry {
                at: self.note.at,
                kind: crate::trace::Happening::Discard,
                subject: self.subject.clone(),
                stream: Some(bus::stream_name(tenant, StreamKind::Dlq)),
                sequence: Some(self.sequence),
                route: Some(self.route.clone()),
                event_type: None,
                id: self.id.clone(),
                correlation_id: self.correlation_id.clone().unwrap_or_default(),
                note: Some(format!(
                    "dead letter discarded by {}: {}",
                    self.note.by,
                    self.note.note.as_deref().unwrap_or_default()
                )),
            },
        );
        step
    }
}

/// Discards dead letter `sequence` of `tenant`: deletes it (and its payload object, when it has one) and
/// resolves its `dead-letter-aged` alert with `reason` as the note. None when there is no such dead letter
/// (replayed or discarded already, by this host or another, or never there).
pub async fn discard(
    bus: &Connection,
    tenant: &str,
    sequence: u64,
    reason: &str,
    by: &str,
) -> Result<Option<Discarded>> {
    let id = format!("{tenant}/{sequence}");
    let stream = dlq_stream(&bus.js, tenant).await?;
    let message = match stream.direct_get(sequence).await {
        Ok(message) => message,
        Err(err) if matches!(err.kind(), DirectGetErrorKind::NotFound) => return Ok(None),
        Err(err) => return Err(anyhow!("reading dead letter {id}: {err}")),
    };
    let headers = Some(&message.headers);
    let reference = PayloadRef::from_headers(tenant, headers).ok().flatten();
    let keys = match &reference {
        Some(_) => Vec::new(),
        None => {
            // An inbound route's dead letter names its source; an outbound one's payload is an event.
            let outbound = bus::header(headers, bus::SOURCE).is_none();
            crate::trace::input_keys(&message.payload, outbound)
        }
    };
    match stream.delete_message(sequence).await {
        Ok(true) => {}
        // Another host deleted it first: its discard or replay is the one on record.
        Ok(false) => return Ok(None),
        Err(err) => {
            if stream
                .direct_get(sequence)
                .await
                .is_err_and(|e| matches!(e.kind(), DirectGetErrorKind::NotFound))
            {
                return Ok(None);
            }
            return Err(anyhow!("deleting dead letter {id}: {err}"));
        }
    }
    if let Some(reference) = &reference
        && let Err(err) = payloads::delete(&bus.js, tenant, reference).await
    {
        tracing::warn!(
            tenant,
            dead_letter = %id,
            "deleting the discarded payload {}: {err:#}; it expires with the streams",
            reference.name
        );
    }
    let note = crate::rules::alerts::Note {
        by: by.to_string(),
        at: jiff::Timestamp::now(),
        note: Some(reason.to_string()),
    };
    crate::rules::sla::dead_letter_gone(&bus.js, tenant, sequence, note.clone()).await;
    tracing::info!(tenant, dead_letter = %id, by, reason, "dead letter discarded");
    Ok(Some(Discarded {
        id,
        sequence,
        route: bus::header(headers, bus::DLQ_ROUTE)
            .unwrap_or_default()
            .to_string(),
        subject: message.subject.to_string(),
        correlation_id: bus::header(headers, bus::CORRELATION_ID).map(str::to_string),
        keys,
        note,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn identity() -> Identity {
        Identity {
            key: "MW_acme_IN:57".into(),
            message_id: "partner-msg-9".into(),
            correlation_id: "c-1".into(),
            delivered: 3,
            stored_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_dead_letter_keeps_the_input_and_adds_the_failure_in_ascii() {
        let mut original = HeaderMap::new();
        original.insert(bus::MSG_ID, "partner-msg-9");
        original.insert(bus::FILE_NAME, "asn.x12");
        original.insert(bus::DLQ_CLASS, "an earlier failure");
        let failure = Failure {
            class: FailureClass::UnknownReference,
            error: "unknown unit — \"ZZ\"\nsecond line".into(),
            diagnostic: Some(
                json!({"message": "unit ZZ — not in units", "at": {"segment-id": "SN1"}}),
            ),
            missed: vec![
                Miss {
                    table: "units".into(),
                    version: Some(3),
                },
                Miss {
                    table: "packaging".into(),
                    version: None,
                },
            ],
        };
        let route = RouteName::new("supplier-856").expect("name");
        let headers = failure_headers(
            Some(&original),
            &route,
            Some("supplier-856"),
            "mw.acme.in.supplier-856",
            &identity(),
            "x12-856@1.0.0+abc",
            &failure,
            jiff::Timestamp::UNIX_EPOCH,
        );
        let get = |name| bus::header(Some(&headers), name);
        assert_eq!(get(bus::MSG_ID), Some("dlq:supplier-856:MW_acme_IN:57"));
        assert_eq!(get(bus::DLQ_ORIGINAL_ID), Some("partner-msg-9"));
        assert_eq!(
            get(bus::FILE_NAME),
            Some("asn.x12"),
            "the input's headers are kept"
        );
        assert_eq!(
            get(bus::DLQ_CLASS),
            Some("unknown-reference"),
            "an earlier failure is replaced"
        );
        assert_eq!(get(bus::DLQ_PARKED), Some("true"));
        assert_eq!(get(bus::DLQ_PARKED_TABLES), Some("units@3,packaging"));
        assert_eq!(get(bus::DLQ_ATTEMPTS), Some("3"));
        assert_eq!(get(bus::DLQ_REPLAY_TO), Some("mw.acme.in.supplier-856"));
        assert_eq!(get(bus::CORRELATION_ID), Some("c-1"));
        for (name, values) in headers.iter() {
            for value in values {
                assert!(
                    value.as_str().bytes().all(|b| (0x20..0x7f).contains(&b)),
                    "{name}: {value:?}"
                );
            }
        }
        assert_eq!(
            header_text_decoded(get(bus::DLQ_ERROR).expect("error")),
            "unknown unit — \"ZZ\" | second line"
        );
        let diagnostic: serde_json::Value =
            serde_json::from_str(get(bus::DLQ_DIAGNOSTIC).expect("diagnostic")).expect("JSON");
        assert_eq!(diagnostic["message"], "unit ZZ — not in units");
    }

    #[test]
    fn a_huge_error_or_diagnostic_is_cut_to_fit_a_header() {
        let error = error_text(&"x".repeat(100_000));
        assert!(
            error.len() <= MAX_ERROR_TEXT + 6 && error.ends_with("[cut]"),
            "{}",
            error.len()
        );
        let diagnostic = diagnostic_text(&json!({"message": "y".repeat(100_000), "code": "c"}));
        assert!(diagnostic.len() <= MAX_DIAGNOSTIC, "{}", diagnostic.len());
        let back: serde_json::Value = serde_json::from_str(&diagnostic).expect("still JSON");
        assert_eq!(back["code"], "c");
    }
}
