//! The trace: for every business key — a purchase order, a shipment, a lot, a work order, a correlation id — the
//! timeline of what touched it: inputs, canonical events, documents out, X12 acknowledgments, dead letters,
//! messages quarantined and released, alerts.
//!
//! The index lives in NATS, in the tenant's stream `MW_<tenant>_TRACE`, one subject per key:
//! `mw.<tenant>.trace.<kind>.<token>`, where `<kind>` is `po`, `shipment`, `lot`, `wo` or `cid` and `<token>` is
//! the key's value in unpadded base64url, so any value fits one subject token. Each step of the flow that touches
//! a key (one input settled, one dead letter, one release, one alert) publishes one small JSON record on that
//! key's subject holding the step's entries for it. Reading a key's timeline is an ordered consumer filtered on
//! that one subject: it reads the key's records and nothing else, however large the stream.
//!
//! A record's `Nats-Msg-Id` is `trace:<kind>.<token>:<step>`, the step named by what it records (`in:<stream>:
//! <sequence>` for an input, `dlq:<sequence>`, `release:<sequence>`, `alert:<id>`), so a redelivered input or a
//! settling done twice writes nothing new. The trace is an index, not the record of truth: an entry that cannot
//! be written is logged and the flow goes on, never held up for it. A tenant turns it off with `trace = false`.
//!
//! Where entries are written: the pipeline once an input's outputs are stored (`pipeline::settle`: the input,
//! its events or documents, its acknowledgments, what the rules held back and what its releases freed) and when
//! it stores a dead letter; the service when a person releases or discards a quarantined message; the rules'
//! alerts when one is raised, acknowledged or resolved ([`alert_raised`], [`alert_moved`]).

pub mod keys;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};

use anyhow::{Context, Result, bail};
use async_nats::jetstream::{self, consumer, stream};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::bus::{self, StreamKind};
use crate::config::Nats;
use crate::names::Tenant;

/// The longest key value the trace takes.
pub const MAX_KEY_LEN: usize = 256;

/// The most records one timeline reads; a key touched more often answers the first ones and says so.
const MAX_RECORDS: u64 = 20_000;

/// What a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    /// A purchase order number (`po:4500019921`).
    Po,
    /// A shipment id (`shipment:SHP-BW-240617-01`).
    Shipment,
    /// A lot number (`lot:B2406-17`).
    Lot,
    /// A work order (`wo:WO-240617-01`).
    Wo,
    /// A correlation id: the flow of one input and everything it caused.
    Correlation,
}

impl KeyKind {
    /// The subject token, and the prefix of the key as written (`cid` for a correlation id).
    pub fn token(self) -> &'static str {
        match self {
            KeyKind::Po => "po",
            KeyKind::Shipment => "shipment",
            KeyKind::Lot => "lot",
            KeyKind::Wo => "wo",
            KeyKind::Correlation => "cid",
        }
    }

    fn from_token(token: &str) -> Option<Self> {
        [
            KeyKind::Po,
            KeyKind::Shipment,
            KeyKind::Lot,
            KeyKind::Wo,
            KeyKind::Correlation,
        ]
        .into_iter()
        .find(|k| k.token() == token)
    }
}

/// A business key: what it names and its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// What it names.
    pub kind: KeyKind,
    /// Its value, as the documents write it.
    pub value: String,
}

impl Key {
    /// A key of `kind` with `value` (trusted: read from events the host made).
    pub fn new(kind: KeyKind, value: &str) -> Self {
        Self {
            kind,
            value: value.to_string(),
        }
    }

    /// A correlation id's key.
    pub fn correlation(id: &str) -> Self {
        Self::new(KeyKind::Correlation, id)
    }

    /// Reads a key as a person writes it: `po:<n>`, `shipment:<id>`, `lot:<n>`, `wo:<n>`, `cid:<id>`, or a bare
    /// correlation id. An empty value, a control character, a value longer than [`MAX_KEY_LEN`] or an unknown
    /// `<word>:` prefix is refused with what to write instead.
    pub fn parse(text: &str) -> Result<Self> {
        let (kind, value) = match text.split_once(':') {
            Some((prefix, value)) => match KeyKind::from_token(prefix) {
                Some(kind) => (kind, value),
                None if !prefix.is_empty()
                    && prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') =>
                {
                    bail!(
                        "unknown key kind {prefix:?}: write po:<order>, shipment:<id>, lot:<lot>, wo:<work order>, or a correlation id (cid:<id> when it contains a colon)"
                    )
                }
                None => (KeyKind::Correlation, text),
            },
            None => (KeyKind::Correlation, text),
        };
        let value = value.trim();
        if value.is_empty() {
            bail!("the key {text:?} has no value: write e.g. po:4500019921 or lot:B2406-17");
        }
        if value.chars().any(char::is_control) {
            bail!("the key {text:?} holds a control character");
        }
        if value.len() > MAX_KEY_LEN {
            bail!(
                "the key is {} bytes long; keys are at most {MAX_KEY_LEN}",
                value.len()
            );
        }
        Ok(Self::new(kind, value))
    }

    /// `mw.<tenant>.trace.<kind>.<base64url value>`.
    pub fn subject(&self, tenant: &str) -> String {
        format!(
            "mw.{tenant}.trace.{}.{}",
            self.kind.token(),
            URL_SAFE_NO_PAD.encode(&self.value)
        )
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.token(), self.value)
    }
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Happening {
    /// A document or event came in on a route.
    Input,
    /// A canonical event went out on `ev`.
    Event,
    /// A canonical event was held back on `quarantine` (its lot is on hold).
    Quarantined,
    /// A document went out to a target (a subject, or an HTTP delivery).
    Output,
    /// An X12 acknowledgment (997, 999, TA1) went back to the partner.
    Ack,
    /// An input was given up and kept as a dead letter.
    DeadLetter,
    /// A quarantined event was released onto `ev`.
    Release,
    /// A quarantined event or a dead letter was discarded by a person, with a reason.
    Discard,
    /// The rules raised an alert.
    Alert,
}

impl Happening {
    /// As the CLI prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Happening::Input => "input",
            Happening::Event => "event",
            Happening::Quarantined => "quarantined",
            Happening::Output => "output",
            Happening::Ack => "ack",
            Happening::DeadLetter => "dead-letter",
            Happening::Release => "release",
            Happening::Discard => "discard",
            Happening::Alert => "alert",
        }
    }
}

/// One thing that happened to a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// When: for an input, when JetStream stored it; otherwise when the host saw it done.
    #[schema(value_type = String)]
    pub at: jiff::Timestamp,
    /// What happened.
    pub kind: Happening,
    /// The subject of the message (an HTTP delivery: `http:<route>`).
    pub subject: String,
    /// The stream that holds it, if one does.
    pub stream: Option<String>,
    /// Its sequence in that stream.
    pub sequence: Option<u64>,
    /// The route that did it.
    pub route: Option<String>,
    /// The canonical event type, for events.
    pub event_type: Option<String>,
    /// The message's id (`Nats-Msg-Id`), a dead letter's `<tenant>/<sequence>`, an alert's id.
    pub id: String,
    /// The flow it belongs to.
    pub correlation_id: String,
    /// A word more: a dead letter's class and error, the acknowledgment's kind, an alert's message.
    pub note: Option<String>,
}

/// What one step of the flow recorded for one key: the record on the key's subject.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    key: String,
    entries: Vec<Entry>,
    /// Keys whose story continues this one's: the lots received against an order, the work orders that
    /// consumed a lot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    related: Vec<String>,
}

/// A key's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    /// The key, as read (`po:4500019921`, `cid:…`).
    pub key: String,
    /// Its subject in the trace stream.
    pub subject: String,
    /// Whether the tenant records its trace now (`trace = false` turns it off; what was recorded stays).
    pub recording: bool,
    /// Whether the key has more records than one answer reads (the first ones are given).
    pub truncated: bool,
    /// The keys whose timelines are merged in, when the key is an order: the lots received against it, then
    /// the work orders that consumed them.
    pub followed: Vec<String>,
    /// What happened, oldest first.
    pub entries: Vec<Entry>,
}

/// The entries one step of the flow writes, grouped by key.
#[derive(Debug)]
pub struct Step {
    id: String,
    records: BTreeMap<Key, Vec<Entry>>,
    related: BTreeMap<Key, Vec<Key>>,
}

impl Step {
    /// A step named `id` (`in:MW_acme_IN:5`, `dlq:12` ...): the last part of its records' `Nats-Msg-Id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            records: BTreeMap::new(),
            related: BTreeMap::new(),
        }
    }

    /// Adds `entry` to the timeline of each of `keys`.
    pub fn add<'k>(&mut self, keys: impl IntoIterator<Item = &'k Key>, entry: &Entry) {
        for key in keys {
            self.records
                .entry(key.clone())
                .or_default()
                .push(entry.clone());
        }
    }

    /// Records that the story of `from` goes on in `to`'s (an order's in the lots received against it, a lot's
    /// in the work orders that consumed it): reading an order's timeline follows these.
    fn relate(&mut self, keys: &[Key]) {
        for (from, to) in [(KeyKind::Po, KeyKind::Lot), (KeyKind::Lot, KeyKind::Wo)] {
            for source in keys.iter().filter(|k| k.kind == from) {
                let related = self.related.entry(source.clone()).or_default();
                for target in keys.iter().filter(|k| k.kind == to) {
                    if !related.contains(target) {
                        related.push(target.clone());
                    }
                }
            }
        }
    }

    /// Whether it records nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// One input, as its step records it.
#[derive(Debug)]
pub struct Input<'a> {
    /// Its subject.
    pub subject: &'a str,
    /// `<stream>:<sequence>`.
    pub key: &'a str,
    /// Its `Nats-Msg-Id`, else its key.
    pub message_id: &'a str,
    /// Its flow.
    pub correlation_id: &'a str,
    /// The route that took it.
    pub route: &'a str,
    /// When JetStream stored it.
    pub stored_at: jiff::Timestamp,
    /// When its outputs were stored: the time of their entries.
    pub settled_at: jiff::Timestamp,
    /// Keys it names itself (an outbound route's event, an X12 document's orders), beside its outputs'.
    pub keys: Vec<Key>,
    /// Whether the input is recorded as an input (an inbound route's document); an outbound route's input is
    /// an event the inbound side recorded already.
    pub recorded: bool,
}

impl Input<'_> {
    fn entry(&self) -> Entry {
        let (stream, sequence) = match self.key.rsplit_once(':') {
            Some((stream, sequence)) => (Some(stream.to_string()), sequence.parse().ok()),
            None => (None, None),
        };
        Entry {
            at: self.stored_at,
            kind: Happening::Input,
            subject: self.subject.to_string(),
            stream,
            sequence,
            route: Some(self.route.to_string()),
            event_type: None,
            id: self.message_id.to_string(),
            correlation_id: self.correlation_id.to_string(),
            note: None,
        }
    }
}

/// One output of an input, stored.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its subject.
    pub subject: String,
    /// Its `Nats-Msg-Id`.
    pub id: String,
    /// Its canonical event type, for an event.
    pub event_type: Option<String>,
    /// `997`, `999`, `TA1` for an acknowledgment.
    pub ack: Option<String>,
    /// The keys of the event it carries (empty for documents: they take the input's).
    pub keys: Vec<Key>,
    /// The stream and sequence JetStream stored it at (`None` for an HTTP delivery).
    pub stored: Option<(String, u64)>,
}

impl Output {
    /// What an output is, with its keys read from its payload when it is a canonical event.
    pub fn new(subject: &str, headers: &async_nats::HeaderMap, payload: &[u8]) -> Self {
        let event_type = bus::header(Some(headers), bus::EVENT_TYPE).map(str::to_string);
        let keys = match &event_type {
            Some(_) => serde_json::from_slice::<Value>(payload)
                .map(|v| keys::of_event(&v))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Self {
            subject: subject.to_string(),
            id: bus::header(Some(headers), bus::MSG_ID)
                .unwrap_or_default()
                .to_string(),
            event_type,
            ack: bus::header(Some(headers), bus::ACK_KIND).map(str::to_string),
            keys,
            stored: None,
        }
    }
}

/// A dead letter stored, as the trace records it.
#[derive(Debug, Clone)]
pub struct Letter {
    entry: Entry,
    sequence: u64,
}

impl Letter {
    /// Dead letter `sequence` of `tenant`'s route `route`, for a failure of `class`.
    pub fn new(tenant: &str, route: &str, sequence: u64, class: &str, error: &str) -> Self {
        let mut note = format!("{class}: {error}");
        if note.len() > 300 {
            let mut end = 300;
            while !note.is_char_boundary(end) {
                end -= 1;
            }
            note.truncate(end);
            note.push('…');
        }
        Self {
            sequence,
            entry: Entry {
                at: jiff::Timestamp::now(),
                kind: Happening::DeadLetter,
                subject: bus::dlq_subject(tenant, route),
                stream: Some(bus::stream_name(tenant, StreamKind::Dlq)),
                sequence: Some(sequence),
                route: Some(route.to_string()),
                event_type: None,
                id: format!("{tenant}/{sequence}"),
                correlation_id: String::new(),
                note: Some(note),
            },
        }
    }

    fn entry(&self, correlation_id: &str) -> Entry {
        Entry {
            correlation_id: correlation_id.to_string(),
            ..self.entry.clone()
        }
    }
}

/// The lots whose quarantined messages an input's outputs may have decided: the lots its quality holds name
/// and those it held back.
pub fn lots_decided(outputs: &[Output]) -> Vec<String> {
    let mut lots = Vec::new();
    for output in outputs {
        let deciding = output.event_type.as_deref() == Some("quality-hold")
            || output.subject.contains(".quarantine.");
        for key in output
            .keys
            .iter()
            .filter(|k| deciding && k.kind == KeyKind::Lot)
        {
            if !lots.contains(&key.value) {
                lots.push(key.value.clone());
            }
        }
    }
    lots
}

/// Where the rules keep their lots.
pub fn lots_of(rules: &crate::rules::TenantRules) -> &crate::rules::quarantine::Lots {
    &rules.state.lots
}

/// The keys of an input payload that did not become events: the event an outbound route took, or the orders an
/// X12 document names.
pub fn input_keys(payload: &[u8], outbound: bool) -> Vec<Key> {
    if outbound {
        serde_json::from_slice::<Value>(payload)
            .map(|v| keys::of_event(&v))
            .unwrap_or_default()
    } else {
        keys::of_x12(payload)
    }
}

/// The step of an input whose outputs are stored: the input itself on every key it touched, each event on its
/// own keys, each document and acknowledgment on every key of the input.
pub fn settled(input: &Input<'_>, outputs: &[Output], refused: Option<Letter>) -> Step {
    let mut step = Step::new(format!("in:{}", input.key));
    let mut all: Vec<Key> = vec![Key::correlation(input.correlation_id)];
    for key in input
        .keys
        .iter()
        .chain(outputs.iter().flat_map(|o| &o.keys))
    {
        if !all.contains(key) {
            all.push(key.clone());
        }
    }
    if input.recorded {
        step.add(&all, &input.entry());
    }
    let now = input.settled_at;
    let cid = Key::correlation(input.correlation_id);
    for output in outputs {
        let kind = if output.ack.is_some() {
            Happening::Ack
        } else if output.event_type.is_some() && output.subject.contains(".quarantine.") {
            Happening::Quarantined
        } else if output.event_type.is_some() && output.subject.contains(".ev.") {
            Happening::Event
        } else {
            Happening::Output
        };
        let entry = Entry {
            at: now,
            kind,
            subject: output.subject.clone(),
            stream: output.stored.as_ref().map(|(s, _)| s.clone()),
            sequence: output.stored.as_ref().map(|(_, n)| *n),
            route: Some(input.route.to_string()),
            event_type: output.event_type.clone(),
            id: output.id.clone(),
            correlation_id: input.correlation_id.to_string(),
            note: output
                .ack
                .as_ref()
                .map(|kind| format!("{kind} acknowledgment")),
        };
        match kind {
            Happening::Event | Happening::Quarantined => {
                step.add(std::iter::once(&cid).chain(&output.keys), &entry);
                step.relate(&output.keys);
            }
            _ => step.add(&all, &entry),
        }
    }
    if let Some(letter) = refused {
        step.add(&all, &letter.entry(input.correlation_id));
    }
    step
}

/// The step of a dead letter: the input and the letter, on the input's keys and its flow; any acknowledgment
/// sent before it (a 997 rejecting the document) with them.
pub fn dead_lettered(input: &Input<'_>, acks: &[Output], letter: Letter) -> Step {
    let mut step = Step::new(format!("dlq:{}", letter.sequence));
    let mut keys = vec![Key::correlation(input.correlation_id)];
    keys.extend(input.keys.iter().cloned());
    step.add(&keys, &input.entry());
    let now = input.settled_at;
    for ack in acks {
        step.add(
            &keys,
            &Entry {
                at: now,
                kind: Happening::Ack,
                subject: ack.subject.clone(),
                stream: ack.stored.as_ref().map(|(s, _)| s.clone()),
                sequence: ack.stored.as_ref().map(|(_, n)| *n),
                route: Some(input.route.to_string()),
                event_type: None,
                id: ack.id.clone(),
                correlation_id: input.correlation_id.to_string(),
                note: ack
                    .ack
                    .as_ref()
                    .map(|kind| format!("{kind} acknowledgment")),
            },
        );
    }
    step.add(&keys, &letter.entry(input.correlation_id));
    step
}

/// A tenant's trace: where its entries are written and read.
#[derive(Debug)]
pub struct Trace {
    tenant: Tenant,
    js: jetstream::Context,
    recording: bool,
}

/// The tenants whose trace this process records, by name: how a raised alert finds its tenant's trace (the
/// rules' alerts are opened by the rules, which carry no trace of their own).
static RECORDING: LazyLock<RwLock<HashMap<String, Arc<Trace>>>> = LazyLock::new(Default::default);

/// `MW_<tenant>_TRACE`.
pub fn stream_name(tenant: &str) -> String {
    format!("MW_{tenant}_TRACE")
}

impl Trace {
    /// Opens the tenant's trace; when `recording`, creates (or updates) its stream first, with the tenant's
    /// retention and duplicate window. A tenant that does not record keeps what was recorded before.
    pub async fn open(
        js: &jetstream::Context,
        tenant: &Tenant,
        nats: &Nats,
        recording: bool,
    ) -> Result<Arc<Self>> {
        if recording {
            let name = stream_name(tenant);
            js.create_or_update_stream(stream::Config {
                name: name.clone(),
                subjects: vec![format!("mw.{tenant}.trace.>")],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: nats.max_age,
                duplicate_window: nats.duplicate_window,
                allow_direct: true,
                description: Some(format!(
                    "Millwright: tenant {tenant}'s trace, one subject per business key"
                )),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating or updating the JetStream stream {name}"))?;
        }
        let trace = Arc::new(Self {
            tenant: tenant.clone(),
            js: js.clone(),
            recording,
        });
        let mut recorders = RECORDING.write().unwrap_or_else(|e| e.into_inner());
        if recording {
            recorders.insert(tenant.to_string(), trace.clone());
        } else {
            recorders.remove(tenant.as_str());
        }
        Ok(trace)
    }

    /// Whether the tenant records its trace.
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Writes a step's records, all published before any acknowledgment is awaited. Failures are logged: the
    /// trace never holds up the flow.
    pub async fn write(&self, step: Step) {
        if !self.recording || step.is_empty() {
            return;
        }
        let mut acks = Vec::with_capacity(step.records.len());
        let mut related = step.related;
        for (key, entries) in step.records {
            let related = related
                .remove(&key)
                .unwrap_or_default()
                .iter()
                .map(Key::to_string)
                .collect();
            let subject = key.subject(&self.tenant);
            let mut headers = async_nats::HeaderMap::new();
            let id = format!(
                "trace:{}.{}:{}",
                key.kind.token(),
                URL_SAFE_NO_PAD.encode(&key.value),
                step.id
            );
            headers.insert(bus::MSG_ID, id.as_str());
            headers.insert(bus::CONTENT_TYPE, "application/json");
            let record = Record {
                key: key.to_string(),
                entries,
                related,
            };
            let payload = match serde_json::to_vec(&record) {
                Ok(payload) => payload,
                Err(err) => {
                    tracing::warn!(tenant = %self.tenant, %key, "trace entry not written: {err}");
                    continue;
                }
            };
            match self
                .js
                .publish_with_headers(subject, headers, payload.into())
                .await
            {
                Ok(ack) => acks.push((key, ack)),
                Err(err) => {
                    tracing::warn!(tenant = %self.tenant, %key, step = %step.id, "trace entry not written: {err}");
                }
            }
        }
        for (key, stored) in futures::future::join_all(
            acks.into_iter()
                .map(|(key, ack)| async move { (key, ack.await) }),
        )
        .await
        {
            if let Err(err) = stored {
                tracing::warn!(tenant = %self.tenant, %key, step = %step.id, "trace entry not stored: {err}");
            }
        }
    }

    /// Records what a person or a release decided about quarantined messages of `lots` since `since`: each
    /// release or discard, on the lot, the held-back event's keys and its flow. Best effort, like every write.
    pub async fn decisions(
        &self,
        lots: &crate::rules::quarantine::Lots,
        names: &[String],
        since: jiff::Timestamp,
    ) {
        use crate::rules::quarantine::Fate;
        if !self.recording {
            return;
        }
        let quarantine = bus::stream_name(&self.tenant, StreamKind::Quarantine);
        let mut seen = Vec::new();
        for lot in names {
            if seen.contains(lot) {
                continue;
            }
            seen.push(lot.clone());
            let state = match lots.get(lot).await {
                Ok(Some(state)) => state,
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(tenant = %self.tenant, lot, "trace: reading the lot: {err:#}");
                    continue;
                }
            };
            for held in &state.quarantined {
                let (kind, Some(decided)) = (held.fate, &held.decided) else {
                    continue;
                };
                if kind == Fate::Waiting || decided.at < since {
                    continue;
                }
                let (happening, step) = match kind {
                    Fate::Released => (Happening::Release, format!("release:{}", held.sequence)),
                    _ => (Happening::Discard, format!("discard:{}", held.sequence)),
                };
                let (correlation_id, event_keys) = self.held_back(&quarantine, held.sequence).await;
                let mut keys = vec![Key::new(KeyKind::Lot, lot)];
                if let Some(cid) = &correlation_id {
                    keys.push(Key::correlation(cid));
                }
                keys.extend(
                    event_keys
                        .into_iter()
                        .filter(|k| !keys.contains(k))
                        .collect::<Vec<_>>(),
                );
                let mut step = Step::new(step);
                step.add(
                    &keys,
                    &Entry {
                        at: decided.at,
                        kind: happening,
                        subject: match kind {
                            Fate::Released => bus::ev_subject(&self.tenant, &held.event_type),
                            _ => bus::quarantine_subject(&self.tenant, &held.event_type),
                        },
                        stream: Some(quarantine.clone()),
                        sequence: Some(held.sequence),
                        route: None,
                        event_type: Some(held.event_type.clone()),
                        id: match kind {
                            Fate::Released => format!("release:{}", held.sequence),
                            _ => held.message_id.clone(),
                        },
                        correlation_id: correlation_id.unwrap_or_default(),
                        note: Some(match &decided.note {
                            Some(note) => format!("by {}: {note}", decided.by),
                            None => format!("by {}", decided.by),
                        }),
                    },
                );
                self.write(step).await;
            }
        }
    }

    /// The flow and the keys of a message held back, read from the quarantine stream.
    async fn held_back(&self, stream: &str, sequence: u64) -> (Option<String>, Vec<Key>) {
        let message = match self.js.get_stream_no_info(stream).await {
            Ok(stream) => stream.direct_get(sequence).await,
            Err(err) => {
                tracing::warn!(tenant = %self.tenant, sequence, "trace: opening {stream}: {err}");
                return (None, Vec::new());
            }
        };
        match message {
            Ok(message) => (
                bus::header(Some(&message.headers), bus::CORRELATION_ID).map(str::to_string),
                input_keys(&message.payload, true),
            ),
            Err(err) => {
                tracing::warn!(tenant = %self.tenant, sequence, "trace: reading quarantined message: {err}");
                (None, Vec::new())
            }
        }
    }

    /// A key's timeline, oldest first (ties in the order they were written). An order's timeline goes on with
    /// the lots received against it and the work orders that consumed them, each read on its own subject and
    /// merged in (an entry recorded on several of them appears once). A key never seen has an empty timeline.
    pub async fn read(&self, key: &Key) -> Result<Timeline> {
        let (mut timeline, related) = self.read_one(key).await?;
        if key.kind != KeyKind::Po {
            return Ok(timeline);
        }
        let mut entries: Vec<(jiff::Timestamp, usize, Entry)> =
            std::mem::take(&mut timeline.entries)
                .into_iter()
                .enumerate()
                .map(|(order, entry)| (entry.at, order, entry))
                .collect();
        let mut next: Vec<Key> = related;
        let mut followed: Vec<Key> = Vec::new();
        // Two hops: the order's lots, then those lots' work orders.
        for _ in 0..2 {
            let mut further = Vec::new();
            for key in next {
                if followed.contains(&key) {
                    continue;
                }
                let (more, related) = self.read_one(&key).await?;
                timeline.truncated |= more.truncated;
                for entry in more.entries {
                    let seen = entries.iter().any(|(_, _, e)| {
                        e.at == entry.at
                            && e.kind == entry.kind
                            && e.id == entry.id
                            && e.subject == entry.subject
                    });
                    if !seen {
                        entries.push((entry.at, entries.len(), entry));
                    }
                }
                followed.push(key);
                further.extend(related);
            }
            next = further;
        }
        entries.sort_by_key(|e| (e.0, e.1));
        timeline.entries = entries.into_iter().map(|(_, _, e)| e).collect();
        timeline.followed = followed.iter().map(Key::to_string).collect();
        Ok(timeline)
    }

    /// One key's own timeline, and the keys its records relate it to.
    async fn read_one(&self, key: &Key) -> Result<(Timeline, Vec<Key>)> {
        let subject = key.subject(&self.tenant);
        let mut timeline = Timeline {
            key: key.to_string(),
            subject: subject.clone(),
            recording: self.recording,
            truncated: false,
            followed: Vec::new(),
            entries: Vec::new(),
        };
        let mut related: Vec<Key> = Vec::new();
        let name = stream_name(&self.tenant);
        let stream = match self.js.get_stream(&name).await {
            Ok(stream) => stream,
            Err(err)
                if matches!(
                    err.kind(),
                    jetstream::context::GetStreamErrorKind::JetStream(_)
                ) =>
            {
                // Never recorded: nothing to read.
                return Ok((timeline, related));
            }
            Err(err) => return Err(err).with_context(|| format!("opening the stream {name}")),
        };
        let mut consumer: consumer::Consumer<consumer::pull::OrderedConfig> = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: subject.clone(),
                deliver_policy: consumer::DeliverPolicy::All,
                description: Some("millwright trace read".into()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("reading the trace of {key}"))?;
        let pending = consumer
            .info()
            .await
            .with_context(|| format!("reading the trace of {key}"))?
            .num_pending;
        if pending == 0 {
            return Ok((timeline, related));
        }
        let wanted = pending.min(MAX_RECORDS);
        timeline.truncated = pending > MAX_RECORDS;
        let mut messages = consumer
            .messages()
            .await
            .with_context(|| format!("reading the trace of {key}"))?;
        let mut read = 0u64;
        let mut entries: Vec<(jiff::Timestamp, u64, usize, Entry)> = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while read < wanted {
            let next = tokio::time::timeout_at(deadline, messages.next()).await;
            let message = match next {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(err))) => bail!("reading the trace of {key}: {err}"),
                Ok(None) => break,
                Err(_) => bail!("reading the trace of {key}: no answer within 30 s"),
            };
            read += 1;
            let (sequence, left) = message
                .info()
                .map(|i| (i.stream_sequence, i.pending))
                .unwrap_or((read, 1));
            match serde_json::from_slice::<Record>(&message.payload) {
                Ok(record) => {
                    for key in record.related.iter().filter_map(|k| Key::parse(k).ok()) {
                        if !related.contains(&key) {
                            related.push(key);
                        }
                    }
                    for (index, entry) in record.entries.into_iter().enumerate() {
                        entries.push((entry.at, sequence, index, entry));
                    }
                }
                Err(err) => {
                    tracing::warn!(tenant = %self.tenant, %key, sequence, "a trace record that is not JSON, skipped: {err}");
                }
            }
            if left == 0 {
                break;
            }
        }
        entries.sort_by_key(|e| (e.0, e.1, e.2));
        timeline.entries = entries.into_iter().map(|(_, _, _, e)| e).collect();
        Ok((timeline, related))
    }
}

/// Records a raised alert on its lot, the documents it concerns and its flow, when the tenant records its
/// trace. Called by the rules' alerts once the alert is on record.
pub async fn alert_raised(tenant: &str, alert: &crate::rules::alerts::Alert) {
    let note = format!("{}: {}", alert.severity, alert.message);
    alert_entry(tenant, alert, alert.raised_at, "raised", note).await;
}

/// Records that a person or a rule acknowledged or resolved an alert (`what`), on the same keys as its raise.
pub async fn alert_moved(
    tenant: &str,
    alert: &crate::rules::alerts::Alert,
    what: &str,
    by: &crate::rules::alerts::Note,
) {
    let note = match &by.note {
        Some(note) => format!("{what} by {}: {note}", by.by),
        None => format!("{what} by {}", by.by),
    };
    alert_entry(tenant, alert, by.at, what, note).await;
}

async fn alert_entry(
    tenant: &str,
    alert: &crate::rules::alerts::Alert,
    at: jiff::Timestamp,
    what: &str,
    note: String,
) {
    let trace = RECORDING
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(tenant)
        .cloned();
    let Some(trace) = trace else { return };
    let mut keys = keys::of_alert(&alert.subject, &alert.concerns);
    if !alert.correlation_id.is_empty() {
        keys.push(Key::correlation(&alert.correlation_id));
    }
    let mut step = Step::new(format!("alert:{}:{what}", alert.id));
    step.add(
        &keys,
        &Entry {
            at,
            kind: Happening::Alert,
            subject: bus::alert_subject(tenant, &alert.kind),
            stream: Some(bus::stream_name(tenant, StreamKind::Alert)),
            sequence: None,
            route: None,
            event_type: Some("exception".into()),
            id: alert.id.clone(),
            correlation_id: alert.correlation_id.clone(),
            note: Some(note),
        },
    );
    trace.write(step).await;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace")
            .to_path_buf()
    }

    #[test]
    fn an_order_leads_to_the_lots_received_against_it_and_a_lot_to_the_work_orders_that_consumed_it()
     {
        let mut step = Step::new("in:MW_acme_IN:1");
        let receipt = [
            Key::new(KeyKind::Shipment, "SHP-1"),
            Key::new(KeyKind::Po, "4500020114"),
            Key::new(KeyKind::Lot, "B2406-17"),
            Key::new(KeyKind::Lot, "N2406-09"),
        ];
        step.relate(&receipt);
        let consumption = [
            Key::new(KeyKind::Wo, "WO-240617-01"),
            Key::new(KeyKind::Lot, "B2406-17"),
        ];
        step.relate(&consumption);
        step.relate(&consumption);
        let related = |kind, value| {
            step.related
                .get(&Key::new(kind, value))
                .map(|keys| keys.iter().map(Key::to_string).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(
            related(KeyKind::Po, "4500020114"),
            ["lot:B2406-17", "lot:N2406-09"]
        );
        assert_eq!(related(KeyKind::Lot, "B2406-17"), ["wo:WO-240617-01"]);
        assert!(related(KeyKind::Lot, "N2406-09").is_empty());
        assert!(related(KeyKind::Shipment, "SHP-1").is_empty());
    }

    #[test]
    fn keys_are_read_as_people_write_them_and_fit_one_subject_token() {
        let po = Key::parse("po:4500019921").expect("po");
        assert_eq!((po.kind, po.value.as_str()), (KeyKind::Po, "4500019921"));
        assert_eq!(po.subject("acme"), "mw.acme.trace.po.NDUwMDAxOTkyMQ");
        let lot = Key::parse("lot:B2406-17/a.b *>").expect("lot");
        let subject = lot.subject("acme");
        assert_eq!(subject.split('.').count(), 5, "{subject}");
        assert!(!subject.contains(['*', '>', ' ', '/']), "{subject}");
        let bare = Key::parse("shift-1").expect("correlation");
        assert_eq!(bare.kind, KeyKind::Correlation);
        assert_eq!(bare.to_string(), "cid:shift-1");
        let urn = Key::parse("cid:urn:uuid:1").expect("cid");
        assert_eq!(urn.value, "urn:uuid:1");
        assert_eq!(
            Key::parse("0f8c-7a:2").expect("not a word prefix").kind,
            KeyKind::Correlation
        );
        for bad in ["", "po:", "lot:  ", "pos:4500", "po:45\n00"] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Key::parse(&format!("po:{}", "9".repeat(MAX_KEY_LEN + 1))).is_err());
    }

    #[test]
    fn an_input_is_on_every_key_it_touched_and_an_event_only_on_its_own() {
        let input = Input {
            subject: "mw.acme.in.mes",
            key: "MW_acme_IN:7",
            message_id: "m-7",
            correlation_id: "shift-1",
            route: "mes",
            stored_at: jiff::Timestamp::UNIX_EPOCH,
            settled_at: jiff::Timestamp::UNIX_EPOCH,
            keys: Vec::new(),
            recorded: true,
        };
        let event = |subject: &str, lot: &str| Output {
            subject: subject.into(),
            id: format!("mes:MW_acme_IN:7:{lot}"),
            event_type: Some("material-consumption".into()),
            ack: None,
            keys: vec![Key::new(KeyKind::Wo, "WO-1"), Key::new(KeyKind::Lot, lot)],
            stored: Some(("MW_acme_EV".into(), 3)),
        };
        let outputs = [
            event("mw.acme.ev.material-consumption", "L1"),
            event("mw.acme.quarantine.material-consumption", "L2"),
        ];
        let step = settled(&input, &outputs, None);
        assert_eq!(lots_decided(&outputs), ["L2"], "what it held back");
        assert_eq!(step.id, "in:MW_acme_IN:7");
        let kinds =
            |key: &Key| -> Vec<Happening> { step.records[key].iter().map(|e| e.kind).collect() };
        assert_eq!(
            kinds(&Key::new(KeyKind::Lot, "L2")),
            [Happening::Input, Happening::Quarantined]
        );
        assert_eq!(
            kinds(&Key::new(KeyKind::Lot, "L1")),
            [Happening::Input, Happening::Event]
        );
        assert_eq!(
            kinds(&Key::correlation("shift-1")),
            [Happening::Input, Happening::Event, Happening::Quarantined]
        );
        assert_eq!(
            step.records[&Key::new(KeyKind::Lot, "L1")][0]
                .stream
                .as_deref(),
            Some("MW_acme_IN")
        );
    }
}
