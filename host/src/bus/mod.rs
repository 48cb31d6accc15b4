//! NATS: subjects and headers, the tenants' JetStream streams, the connection, and the embedded nats-server.
//!
//! Every subject of a tenant starts `mw.<tenant>.` and lives in one of the tenant's four streams: `MW_<tenant>_IN`
//! (documents arriving on `mw.<tenant>.in.<source>`, and replays into outbound routes on
//! `mw.<tenant>.replay.<route>`), `MW_<tenant>_EV` (canonical events on `mw.<tenant>.ev.<event-type>`),
//! `MW_<tenant>_OUT` (documents for targets on `mw.<tenant>.out.<target>`) and `MW_<tenant>_DLQ` (dead letters on
//! `mw.<tenant>.dlq.<route>`), and keeps payloads too large to travel inline in its Object Store bucket
//! `MW_<tenant>_PAYLOADS` ([`payloads`]). Streams and the bucket are created or updated at start, so a restart with
//! a changed file is safe. Its master-data tables live in buckets of their own ([`lookups`]). [`publish`] knows
//! the server's limits: what fits, and which failures a retry can mend.

pub mod buckets;
pub mod embedded;
pub mod lookups;
pub mod partners;
pub mod payloads;
pub mod publish;
pub mod sequences;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use async_nats::jetstream::{self, stream};

use crate::config::Nats;

/// The dedupe id JetStream keys on.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// Kept from an input to every output, generated when the input has none.
pub const CORRELATION_ID: &str = "Mw-Correlation-Id";
/// The id of the message that caused this one.
pub const CAUSATION_ID: &str = "Mw-Causation-Id";
/// The source the input came from.
pub const SOURCE: &str = "Mw-Source";
/// `name@version+sha256:…` of the plugin that produced the message.
pub const PLUGIN: &str = "Mw-Plugin";
/// The canonical event type of an event message.
pub const EVENT_TYPE: &str = "Mw-Event-Type";
/// The file name an outbound document asks for.
pub const FILE_NAME: &str = "Mw-File-Name";
/// The content type of a payload.
pub const CONTENT_TYPE: &str = "Content-Type";

/// Dead letters: the route that gave up.
pub const DLQ_ROUTE: &str = "Mw-Route";
/// Dead letters: why — `invalid-document`, `unknown-reference`, `transient`, `deadline`, `trap`, `output-limit`,
/// `bad-output`, `host`, `empty-payload`, `payload-too-large`, `not-text`, `bad-input`, `payload-unavailable`,
/// `output-too-large`, `publish-refused`, `publish-failed`, `delivery-failed`, `delivery-rejected`, `no-route`.
pub const DLQ_CLASS: &str = "Mw-Error-Class";
/// Dead letters: the error as a sentence, one line of ASCII ([`publish::header_text`]).
pub const DLQ_ERROR: &str = "Mw-Error";
/// Dead letters: the plugin's located diagnostic, as one line of canonical JSON in ASCII ([`publish::header_json`]).
pub const DLQ_DIAGNOSTIC: &str = "Mw-Diagnostic";
/// Dead letters: how many deliveries were tried.
pub const DLQ_ATTEMPTS: &str = "Mw-Attempts";
/// Dead letters: `true` when parked (master data missing): replay once the data is fixed.
pub const DLQ_PARKED: &str = "Mw-Parked";
/// Parked dead letters: the master-data tables the plugin looked up and missed, each with the version it saw
/// (`units@3,items`; no version: the tenant had no such table). A change to one of them replays the letter.
pub const DLQ_PARKED_TABLES: &str = "Mw-Parked-Tables";
/// Dead letters: when the message was given up, RFC 3339.
pub const DLQ_AT: &str = "Mw-Dead-At";
/// Dead letters: where a replay publishes the message again.
pub const DLQ_REPLAY_TO: &str = "Mw-Replay-Subject";
/// Dead letters: the input's original `Nats-Msg-Id`, if it had one.
pub const DLQ_ORIGINAL_ID: &str = "Mw-Original-Msg-Id";
/// Replays: the dead letter (`<tenant>/<sequence>`) a message was replayed from.
pub const REPLAYED_FROM: &str = "Mw-Replayed-From";
/// The input a message descends from (`<stream>:<sequence>`): set on a dead letter and kept by its replays, so
/// a replayed interchange is known as the one that came before, not a duplicate of it.
pub const ORIGIN: &str = "Mw-Origin";
/// A quarantined message released: who released it (`rule:quarantine` or a person).
pub const RELEASED_BY: &str = "Mw-Released-By";
/// Acknowledgments: `997`, `999` or `TA1`.
pub const ACK_KIND: &str = "Mw-Ack-Kind";

/// Headers that describe a failure; a replay removes them.
pub const FAILURE_HEADERS: &[&str] = &[
    DLQ_ROUTE,
    DLQ_CLASS,
    DLQ_ERROR,
    DLQ_DIAGNOSTIC,
    DLQ_ATTEMPTS,
    DLQ_PARKED,
    DLQ_PARKED_TABLES,
    DLQ_AT,
    DLQ_REPLAY_TO,
    DLQ_ORIGINAL_ID,
];

/// `mw.<tenant>.in.<source>`.
pub fn in_subject(tenant: &str, source: &str) -> String {
    format!("mw.{tenant}.in.{source}")
}

/// `mw.<tenant>.quarantine.<event-type>`.
pub fn quarantine_subject(tenant: &str, event_type: &str) -> String {
    format!("mw.{tenant}.quarantine.{event_type}")
}

/// `mw.<tenant>.alert.<kind>`.
pub fn alert_subject(tenant: &str, kind: &str) -> String {
    format!("mw.{tenant}.alert.{kind}")
}

/// `mw.<tenant>.ev.<event-type>`.
pub fn ev_subject(tenant: &str, event_type: &str) -> String {
    format!("mw.{tenant}.ev.{event_type}")
}

/// `mw.<tenant>.out.<target>`.
pub fn out_subject(tenant: &str, target: &str) -> String {
    format!("mw.{tenant}.out.{target}")
}

/// `mw.<tenant>.dlq.<route>`.
pub fn dlq_subject(tenant: &str, route: &str) -> String {
    format!("mw.{tenant}.dlq.{route}")
}

/// `mw.<tenant>.replay.<route>`: replays into an outbound route, whose inputs are shared event subjects.
pub fn replay_subject(tenant: &str, route: &str) -> String {
    format!("mw.{tenant}.replay.{route}")
}

/// The tenant's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// Documents in, and replays into outbound routes.
    In,
    /// Canonical events.
    Ev,
    /// Documents out to subject targets.
    Out,
    /// Dead letters.
    Dlq,
    /// Events the rules hold back (a consumption of a held lot), until released or discarded.
    Quarantine,
    /// Alerts the rules raise: canonical exception events.
    Alert,
}

impl StreamKind {
    /// Every kind, in the order a message meets them.
    pub const ALL: [StreamKind; 6] = [
        StreamKind::In,
        StreamKind::Ev,
        StreamKind::Out,
        StreamKind::Dlq,
        StreamKind::Quarantine,
        StreamKind::Alert,
    ];

    fn suffix(self) -> &'static str {
        match self {
            StreamKind::In => "IN",
            StreamKind::Ev => "EV",
            StreamKind::Out => "OUT",
            StreamKind::Dlq => "DLQ",
            StreamKind::Quarantine => "QUARANTINE",
            StreamKind::Alert => "ALERT",
        }
    }

    fn subjects(self, tenant: &str) -> Vec<String> {
        match self {
            StreamKind::In => vec![format!("mw.{tenant}.in.>"), format!("mw.{tenant}.replay.>")],
            StreamKind::Ev => vec![format!("mw.{tenant}.ev.>")],
            StreamKind::Out => vec![format!("mw.{tenant}.out.>")],
            StreamKind::Dlq => vec![format!("mw.{tenant}.dlq.>")],
            StreamKind::Quarantine => vec![format!("mw.{tenant}.quarantine.>")],
            StreamKind::Alert => vec![format!("mw.{tenant}.alert.>")],
        }
    }
}

/// `MW_<tenant>_IN` and so on.
pub fn stream_name(tenant: &str, kind: StreamKind) -> String {
    format!("MW_{tenant}_{}", kind.suffix())
}

/// A connection to NATS with JetStream on it, and what the host learns about the server as it runs.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client.
    pub client: async_nats::Client,
    /// JetStream on it, with publish acknowledgments pipelined (many in flight).
    pub js: jetstream::Context,
    /// Subjects the server refused this connection permission to publish on.
    pub denials: publish::Denials,
}

impl Connection {
    /// The largest message (headers and payload) the server takes, as it announced when the client connected.
    pub fn max_payload(&self) -> usize {
        self.client.max_payload()
    }
}

/// Connects to NATS and opens JetStream. Losing the connection and getting it back are logged, with the server
/// and how long it was gone; the client reconnects on its own meanwhile.
pub async fn connect(url: &str, nats: &Nats) -> Result<Connection> {
    let denials = publish::Denials::default();
    let connected: Arc<OnceLock<async_nats::Client>> = Arc::default();
    let lost_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut options = async_nats::ConnectOptions::new()
        .name("millwright")
        .connection_timeout(Duration::from_secs(5))
        // Large batches of acks and publishes: the client's buffers should not be the bottleneck.
        .client_capacity(65_536)
        .subscription_capacity(65_536)
        .event_callback({
            let (denials, connected, lost_at, url) = (
                denials.clone(),
                connected.clone(),
                lost_at.clone(),
                url.to_string(),
            );
            move |event| {
                let (denials, connected, lost_at, url) = (
                    denials.clone(),
                    connected.clone(),
                    lost_at.clone(),
                    url.clone(),
                );
                async move { connection_event(event, &url, &denials, &connected, &lost_at) }
            }
        });
    if let Some(token) = &nats.token {
        options = options.token(token.clone());
    }
    if let Some((user, password)) = &nats.user {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(seed) = &nats.nkey_seed {
        options = options.nkey(seed.clone());
    }
    if let Some(creds) = &nats.creds {
        options = options
            .credentials_file(creds)
            .await
            .with_context(|| format!("reading the NATS credentials {}", creds.display()))?;
    }
    if let Some(ca) = &nats.ca {
        options = options.add_root_certificates(ca.clone());
    }
    let client = tokio::time::timeout(Duration::from_secs(30), options.connect(url))
        .await
        .map_err(|_| anyhow!("could not reach NATS at {url} within 30 s; is the server running?"))?
        .with_context(|| format!("connecting to NATS at {url}"))?;
    let _ = connected.set(client.clone());
    let js = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(10))
        .max_ack_inflight(8192)
        .backpressure_on_inflight(true)
        .build(client.clone());
    Ok(Connection {
        client,
        js,
        denials,
    })
}

/// Logs what happens to the connection; remembers publish permission violations for [`publish::classify`].
fn connection_event(
    event: async_nats::Event,
    url: &str,
    denials: &publish::Denials,
    connected: &OnceLock<async_nats::Client>,
    lost_at: &Mutex<Option<Instant>>,
) {
    let server = || match connected.get().map(|c| c.server_info()) {
        Some(info) if !info.server_name.is_empty() => {
            format!("{} ({}:{})", info.server_name, info.host, info.port)
        }
        Some(info) => format!("{}:{}", info.host, info.port),
        None => url.to_string(),
    };
    match event {
        async_nats::Event::Disconnected => {
            let mut lost = lost_at.lock().unwrap_or_else(|e| e.into_inner());
            lost.get_or_insert_with(Instant::now);
            tracing::warn!(
                url,
                "lost the connection to NATS at {}; reconnecting",
                server()
            );
        }
        async_nats::Event::Connected => {
            let since = lost_at.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(since) = since {
                tracing::info!(
                    url,
                    "connected to NATS again at {} after {:.1} s",
                    server(),
                    since.elapsed().as_secs_f64()
                );
            }
        }
        async_nats::Event::ServerError(err) => {
            let text = err.to_string();
            denials.note(&text);
            tracing::warn!(url, "the NATS server reported: {text}");
        }
        async_nats::Event::LameDuckMode => {
            tracing::warn!(
                url,
                "the NATS server {} is shutting down (lame duck mode)",
                server()
            );
        }
        async_nats::Event::SlowConsumer(sid) => {
            tracing::warn!(
                url,
                "NATS subscription {sid} is a slow consumer: messages were dropped by the client"
            );
        }
        async_nats::Event::ClientError(err) => tracing::warn!(url, "NATS client error: {err}"),
        async_nats::Event::Draining | async_nats::Event::Closed => {}
    }
}

/// Creates the tenant's streams, or updates them to the current settings. Safe to run on every start.
pub async fn ensure_streams(js: &jetstream::Context, tenant: &str, nats: &Nats) -> Result<()> {
    for kind in StreamKind::ALL {
        let name = stream_name(tenant, kind);
        js.create_or_update_stream(stream::Config {
            name: name.clone(),
            subjects: kind.subjects(tenant),
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            max_age: nats.max_age,
            duplicate_window: nats.duplicate_window,
            allow_direct: true,
            description: Some(format!("Millwright: tenant {tenant}")),
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating or updating the JetStream stream {name}"))?;
    }
    payloads::ensure_bucket(js, tenant, nats.max_age).await
}

/// The headers a message carries on to its dead letter or its replay: all of them but its `Nats-Msg-Id` (the
/// copy gets its own), the failure headers of an earlier dead letter, and a payload reference (the copy says
/// where its own payload is, see [`payloads::copy_reference`]).
pub fn carried_headers(original: Option<&async_nats::HeaderMap>) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    for (name, values) in original.into_iter().flat_map(|h| h.iter()) {
        let name: &str = name.as_ref();
        if name == MSG_ID
            || name == REPLAYED_FROM
            || FAILURE_HEADERS.contains(&name)
            || payloads::HEADERS.contains(&name)
        {
            continue;
        }
        for value in values {
            headers.append(name, value.as_str());
        }
    }
    headers
}

/// A header's value as text, if present.
pub fn header<'a>(headers: Option<&'a async_nats::HeaderMap>, name: &str) -> Option<&'a str> {
    headers
        .and_then(|h| h.get(name))
        .map(|v| v.as_str())
        .filter(|v| !v.is_empty())
}
