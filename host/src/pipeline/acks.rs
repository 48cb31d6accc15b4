//! X12 acknowledgments for the inbound routes that ask for them (`acknowledgments = { kind = "997", target =
//! ... }`): one 997 or 999 per functional group, a TA1 when ISA14 asks for one or the interchange itself is at
//! fault, and duplicate interchanges refused.
//!
//! What arrived is read with [`millwright_edi::ack::received`], which reads what the strict parser refuses.
//! The plugin then maps the document made of the sets nothing has rejected yet; when it refuses one as an
//! invalid document, its diagnostic names the set ([`Received::refusal`]), that set is rejected, and the rest
//! is mapped again. So a partner's one bad set does not hold back the good ones: the good ones are mapped and
//! acknowledged `A`, the bad one `R` with its AK3/AK4, and the bad part — the same envelopes around the
//! rejected sets — is dead-lettered, to be replayed once corrected. A document whose every set is rejected is
//! dead-lettered whole.
//!
//! A document is acknowledged when there is a verdict on it: mapped, or refused for what it says. One that
//! waits (a retry, master data it misses, a plugin that crashed) is acknowledged when it is finally mapped, on
//! its replay.
//!
//! Control numbers come from the tenant's sequences `x12-interchange:<q>/<id>` and `x12-group:<q>/<id>` of the
//! partner, the ones its 850s draw from, keyed by the input, so a redelivered input sends the same
//! acknowledgments (and JetStream drops them as duplicates). Interchanges are remembered in the KV bucket
//! `MW_<tenant>_INTERCHANGES` (key: sender and ISA13) once an input's outputs are stored, with the input they
//! came from (`Mw-Origin`, kept on dead letters and their replays): another input with the same sender and
//! ISA13 within the route's `duplicate_window` is refused with a TA1 `025` and dead-lettered as
//! `duplicate-interchange`; a redelivery or a replay of the same input is not a duplicate.

use std::ops::Range;
use std::sync::Arc;

use anyhow::{Context, Result};
use async_nats::HeaderMap;
use async_nats::jetstream::kv;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use millwright_edi::Position;
use millwright_edi::ack::{
    self, ControlNumbers, Finding, InterchangeNote, Outcomes, Received, SetError, SetOutcome,
};
use serde::{Deserialize, Serialize};

use super::Route;
use super::message::{Failure, Identity, Outcome};
use super::pool::{Job, Pool};
use crate::bus::{self, buckets};
use crate::config::{AckKind, Acknowledgments};
use crate::host_api::Sequences;
use crate::invoke::{Envelope, FailureClass, InvokeError};

/// The largest control number X12 writes (nine digits).
const MAX_CONTROL_NUMBER: u64 = 999_999_999;

/// What an acknowledged input leaves to settle once its plugin has answered.
#[derive(Default)]
pub(super) struct Plan {
    /// The acknowledgments, in order: published on the route's ack target with the input's outputs.
    pub(super) acks: Vec<AckDocument>,
    /// The interchanges mapped: remembered once the outputs are stored.
    pub(super) mapped: Vec<String>,
    /// The part of the input that was refused while the rest was mapped: dead-lettered beside the outputs.
    pub(super) rejected: Option<(Bytes, Failure)>,
}

/// One acknowledgment interchange.
#[derive(Debug)]
pub(super) struct AckDocument {
    /// `997`, `999` or `TA1`.
    pub(super) kind: &'static str,
    /// The partner's ISA13 it answers.
    pub(super) answers: String,
    /// The X12 text.
    pub(super) bytes: Vec<u8>,
}

impl Plan {
    /// The acknowledgments as outputs: subject, headers and payload, with ids stable across redeliveries.
    pub(super) fn outputs(
        &self,
        route: &Route,
        id: &Identity,
        target: &str,
    ) -> Vec<(String, HeaderMap, Bytes)> {
        let subject = bus::out_subject(&route.tenant, target);
        self.acks
            .iter()
            .enumerate()
            .map(|(n, ack)| {
                let mut headers = HeaderMap::new();
                let output_id = format!("{}:{}:ack:{n}", route.common.name, id.key);
                headers.insert(bus::MSG_ID, output_id.as_str());
                headers.insert(bus::CORRELATION_ID, id.correlation_id.as_str());
                headers.insert(bus::CAUSATION_ID, id.message_id.as_str());
                headers.insert(bus::CONTENT_TYPE, "application/edi-x12");
                headers.insert(
                    bus::FILE_NAME,
                    format!("{}-{}.x12", ack.kind, ack.answers).as_str(),
                );
                headers.insert(bus::ACK_KIND, ack.kind);
                (subject.clone(), headers, Bytes::from(ack.bytes.clone()))
            })
            .collect()
    }
}

/// What the duplicate check remembers of an interchange.
#[derive(Debug, Serialize, Deserialize)]
struct Seen {
    /// The input it came in (`Mw-Origin`, else the input's stream and sequence).
    origin: String,
    /// The route that mapped it.
    route: String,
    /// When.
    at: jiff::Timestamp,
}

/// The input an input descends from: itself, or the one its dead letter was made of.
pub(super) fn origin(message: &async_nats::jetstream::Message, id: &Identity) -> String {
    bus::header(message.headers.as_ref(), bus::ORIGIN)
        .map_or_else(|| id.key.clone(), str::to_string)
}

/// Maps an input of an acknowledging route and works out its acknowledgments.
pub(super) async fn map(
    route: &Route,
    acks: &Acknowledgments,
    id: &Identity,
    origin: &str,
    pool: &Pool,
    envelope: Envelope,
) -> (Outcome, Option<Plan>) {
    let payload = envelope.payload.clone();
    let received = ack::received(&payload);
    if received.interchanges.is_empty() {
        // Not X12 (or no readable ISA): nothing can be addressed; the plugin says what it is.
        tracing::info!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "no acknowledgment: {}", received.unreadable.as_deref().unwrap_or("no interchange"));
        return (plain(pool, envelope).await, None);
    }
    let mut outcomes = Outcomes::new(&received);
    let keys: Vec<Option<String>> = received.interchanges.iter().map(interchange_key).collect();
    let mut duplicates = Vec::new();
    if !acks.duplicate_window.is_zero() {
        match seen_before(route, acks, &keys, origin).await {
            Ok(found) => {
                for (index, seen) in found {
                    outcomes.record(Finding::Interchange {
                        interchange: index,
                        note: InterchangeNote::DuplicateControlNumber,
                    });
                    duplicates.push((index, seen));
                }
            }
            Err(err) => {
                let failure = Failure::new(
                    FailureClass::Host,
                    format!("checking the interchanges for duplicates: {err:#}"),
                );
                return (Outcome::Failed(failure), None);
            }
        }
    }
    // Map what nothing has rejected; a refusal rejects its set and the rest is mapped again.
    let mut refusals: Vec<String> = Vec::new();
    let mut diagnostic = None;
    let sets = received
        .interchanges
        .iter()
        .map(|i| i.groups.iter().map(|g| g.transactions.len()).sum::<usize>())
        .sum::<usize>();
    let mut answer = None;
    for _ in 0..=sets {
        let reduced = Reduced::build(&received, &payload, &outcomes, true);
        if reduced.sets == 0 {
            break;
        }
        let mut attempt = envelope.clone();
        attempt.payload = Bytes::from(reduced.bytes.clone());
        match pool.run(Job::Map(attempt)).await {
            (Ok(mapped), _) => {
                answer = Some(mapped);
                break;
            }
            (Err(err @ InvokeError::Mapping { .. }), missed)
                if err.class() == FailureClass::InvalidDocument =>
            {
                let refusal = err.diagnostic().cloned().unwrap_or_default();
                let position = reduced.original_position(&refusal["at"]);
                let code = refusal["code"].as_str();
                let finding = received.refusal(&position, code);
                let named = matches!(finding, Finding::Set { .. });
                if !named || !outcomes.record(finding) {
                    // The refusal names no set of the document: nothing in it can be said to be mapped.
                    reject_all(&mut outcomes, &received);
                    let failure = Failure {
                        class: err.class(),
                        diagnostic: Some(refusal),
                        error: err.to_string(),
                        missed,
                    };
                    return refused(route, acks, id, &received, &outcomes, failure).await;
                }
                refusals.push(err.to_string());
                diagnostic.get_or_insert(refusal);
            }
            (Err(err), missed) => {
                // No verdict on the document yet (a retry, missing master data, a crash): acknowledged when mapped.
                let failure = Failure {
                    class: err.class(),
                    diagnostic: err.diagnostic().cloned(),
                    error: err.to_string(),
                    missed,
                };
                return (Outcome::Failed(failure), None);
            }
        }
    }
    let problems: Vec<String> = received
        .problems
        .iter()
        .map(ToString::to_string)
        .chain(duplicates.iter().map(|(index, seen)| {
            let i = &received.interchanges[*index];
            format!(
                "interchange {} from {}/{} was received before (input {} on route {}, at {}): a duplicate, not mapped again",
                i.control_number, i.sender_qualifier, i.sender_id, seen.origin, seen.route, seen.at
            )
        }))
        .chain(refusals)
        .collect();
    let class = if !duplicates.is_empty() && received.problems.is_empty() && diagnostic.is_none() {
        FailureClass::DuplicateInterchange
    } else {
        FailureClass::InvalidDocument
    };
    let failure = (!problems.is_empty()).then(|| Failure {
        class,
        error: problems.join("; "),
        diagnostic,
        missed: Vec::new(),
    });
    match (answer, failure) {
        (Some(answer), failure) => {
            let mapped = Reduced::build(&received, &payload, &outcomes, true);
            let plan = Plan {
                acks: acknowledgments(route, acks, id, &received, &outcomes).await,
                mapped: mapped
                    .interchanges
                    .iter()
                    .filter_map(|&i| keys[i].clone())
                    .collect(),
                rejected: failure.map(|failure| {
                    let refused = Reduced::build(&received, &payload, &outcomes, false);
                    (Bytes::from(refused.bytes), failure)
                }),
            };
            (Outcome::Answer(answer), Some(plan))
        }
        (None, Some(failure)) => refused(route, acks, id, &received, &outcomes, failure).await,
        (None, None) => {
            // Interchanges without a single transaction set: acknowledged, nothing to map.
            let plan = Plan {
                acks: acknowledgments(route, acks, id, &received, &outcomes).await,
                ..Plan::default()
            };
            (
                Outcome::Answer(super::pool::Answer::Events(Vec::new())),
                Some(plan),
            )
        }
    }
}

/// An input refused whole: its acknowledgments and the failure that dead-letters it.
async fn refused(
    route: &Route,
    acks: &Acknowledgments,
    id: &Identity,
    received: &Received<'_>,
    outcomes: &Outcomes,
    failure: Failure,
) -> (Outcome, Option<Plan>) {
    let plan = Plan {
        acks: acknowledgments(route, acks, id, received, outcomes).await,
        ..Plan::default()
    };
    (Outcome::Failed(failure), Some(plan))
}

async fn plain(pool: &Pool, envelope: Envelope) -> Outcome {
    match pool.run(Job::Map(envelope)).await {
        (Ok(answer), _) => Outcome::Answer(answer),
        (Err(err), missed) => Outcome::Failed(Failure {
            class: err.class(),
            diagnostic: err.diagnostic().cloned(),
            error: err.to_string(),
            missed,
        }),
    }
}

/// Marks every set not yet rejected as rejected: the document's refusal could not be pinned on one.
fn reject_all(outcomes: &mut Outcomes, received: &Received<'_>) {
    for (i, interchange) in received.interchanges.iter().enumerate() {
        for (g, group) in interchange.groups.iter().enumerate() {
            for s in 0..group.transactions.len() {
                let accepted = outcomes.interchanges[i].groups[g]
                    .sets
                    .get(s)
                    .is_none_or(|o| o.status.is_accepted());
                if accepted {
                    outcomes.record(Finding::Set {
                        interchange: i,
                        group: g,
                        set: s,
                        outcome: SetOutcome::rejected([SetError::SegmentsInError]),
                    });
                }
            }
        }
    }
}

/// The 997s (or 999s) and TA1s answering the document, with the partner's next control numbers.
async fn acknowledgments(
    route: &Route,
    acks: &Acknowledgments,
    id: &Identity,
    received: &Received<'_>,
    outcomes: &Outcomes,
) -> Vec<AckDocument> {
    // The date and time in the envelopes are the partner's, as its documents' are: the profile's `timezone`.
    let zone = route
        .common
        .config
        .get("timezone")
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let now = zone.to_datetime(jiff::Timestamp::now());
    let kind = match acks.kind {
        AckKind::Functional997 => ack::AckKind::Functional997,
        AckKind::Implementation999 => ack::AckKind::Implementation999,
    };
    let mut out = Vec::new();
    for (i, (interchange, outcome)) in received
        .interchanges
        .iter()
        .zip(&outcomes.interchanges)
        .enumerate()
    {
        let partner = format!(
            "{}/{}",
            interchange.sender_qualifier.trim(),
            interchange.sender_id.trim()
        );
        let answers = interchange.control_number.trim().to_string();
        let mut documents = Vec::new();
        if outcome.ta1_due(interchange) {
            let note = outcome.note.unwrap_or(InterchangeNote::NoError);
            documents.push(("TA1", None, note));
        }
        if outcome.accepted() {
            for g in 0..interchange.groups.len() {
                documents.push((
                    if kind == ack::AckKind::Functional997 {
                        "997"
                    } else {
                        "999"
                    },
                    Some(g),
                    InterchangeNote::NoError,
                ));
            }
        }
        for (n, (label, group, note)) in documents.into_iter().enumerate() {
            let call = format!("{}:{}:ack:{i}:{n}", route.common.name, id.key);
            let numbers = match control_numbers(route, &partner, &call, group.is_some()).await {
                Ok(numbers) => numbers,
                Err(err) => {
                    tracing::error!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "no {label} for interchange {answers} from {partner}: {err}");
                    continue;
                }
            };
            let tree = match group {
                Some(g) => ack::functional_ack(
                    &interchange.groups[g],
                    interchange,
                    &outcome.groups[g],
                    kind,
                    numbers,
                    now,
                ),
                None => ack::ta1(
                    interchange,
                    outcome.accepted(),
                    note,
                    numbers.interchange,
                    now,
                ),
            };
            match millwright_edi::render_x12(&tree) {
                Ok(bytes) => out.push(AckDocument {
                    kind: label,
                    answers: answers.clone(),
                    bytes,
                }),
                Err(err) => {
                    tracing::warn!(tenant = %route.tenant, route = %route.common.name, input = %id.key, "no {label} for interchange {answers} from {partner}: it cannot be written ({err}); the sender's ids are damaged");
                }
            }
        }
    }
    out
}

/// The next interchange (and, for a 997, group) control number for the partner, the same for this call of
/// this input however often it is delivered.
async fn control_numbers(
    route: &Route,
    partner: &str,
    call: &str,
    group: bool,
) -> Result<ControlNumbers, String> {
    let draw = |name: String| {
        let sequences: Arc<dyn Sequences> = route.sequences.clone();
        let (tenant, key) = (route.tenant.to_string(), call.to_string());
        async move {
            tokio::task::spawn_blocking(move || {
                sequences.number(&tenant, &name, &key, MAX_CONTROL_NUMBER)
            })
            .await
            .map_err(|err| format!("drawing a control number: {err}"))?
        }
    };
    let interchange = draw(format!("x12-interchange:{partner}")).await?;
    let group = if group {
        draw(format!("x12-group:{partner}")).await?
    } else {
        1
    };
    let narrow = |n: u64| u32::try_from(n).map_err(|_| format!("control number {n} is too large"));
    Ok(ControlNumbers {
        interchange: narrow(interchange)?,
        group: narrow(group)?,
        transaction: 1,
    })
}

/// The duplicate-check key of an interchange: its sender and ISA13 (without leading zeros); None when the
/// header is too damaged to name them.
fn interchange_key(interchange: &ack::ReceivedInterchange) -> Option<String> {
    let number = interchange.control_number.trim();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = number.trim_start_matches('0');
    let sender = format!(
        "{}/{}",
        interchange.sender_qualifier.trim(),
        interchange.sender_id.trim()
    );
    Some(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(sender),
        if number.is_empty() { "0" } else { number }
    ))
}

async fn interchanges(route: &Route, acks: &Acknowledgments) -> Result<kv::Store> {
    route
        .interchanges
        .get_or_try_init(|| async {
            let name = format!("MW_{}_INTERCHANGES", route.tenant);
            buckets::key_value(
                &route.bus.js,
                &buckets::Bucket {
                    name: &name,
                    description: "the X12 interchanges mapped, by sender and ISA13 (duplicate check)",
                    max_age: acks.duplicate_window,
                    replicas: 1,
                },
            )
            .await
        })
        .await
        .cloned()
}

/// The interchanges of the document that another input brought within the window.
async fn seen_before(
    route: &Route,
    acks: &Acknowledgments,
    keys: &[Option<String>],
    origin: &str,
) -> Result<Vec<(usize, Seen)>> {
    let store = interchanges(route, acks).await?;
    let window =
        jiff::SignedDuration::try_from(acks.duplicate_window).unwrap_or(jiff::SignedDuration::MAX);
    let now = jiff::Timestamp::now();
    let mut found = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let Some(key) = key else { continue };
        let Some(value) = store
            .get(key)
            .await
            .with_context(|| format!("reading interchange {key}"))?
        else {
            continue;
        };
        let Ok(seen) = serde_json::from_slice::<Seen>(&value) else {
            continue;
        };
        if seen.origin != origin && now.duration_since(seen.at) <= window {
            found.push((index, seen));
        }
    }
    Ok(found)
}

/// Remembers the interchanges an input mapped, once its outputs are stored.
pub(super) async fn remember(
    route: &Route,
    acks: &Acknowledgments,
    origin: &str,
    keys: &[String],
) -> Result<()> {
    if keys.is_empty() || acks.duplicate_window.is_zero() {
        return Ok(());
    }
    let store = interchanges(route, acks).await?;
    let seen = serde_json::to_vec(&Seen {
        origin: origin.to_string(),
        route: route.common.name.to_string(),
        at: jiff::Timestamp::now(),
    })?;
    for key in keys {
        store
            .put(key, seen.clone().into())
            .await
            .with_context(|| format!("remembering interchange {key}"))?;
    }
    Ok(())
}

/// A document made of some of the received sets in their envelopes (GE and IEA counts written anew), and
/// where its bytes came from, so a position in it can be read back in the original.
struct Reduced {
    bytes: Vec<u8>,
    /// (start in `bytes`, start in the original, length) of each copied run.
    pieces: Vec<(usize, usize, usize)>,
    /// How many sets it holds.
    sets: usize,
    /// The interchanges it holds sets of.
    interchanges: Vec<usize>,
}

impl Reduced {
    /// The accepted sets (`accepted`) or the rejected ones, of the interchanges the outcomes take (or, for
    /// the rejected part, of every interchange with a set rejected or a group at fault), in their envelopes.
    fn build(
        received: &Received<'_>,
        document: &[u8],
        outcomes: &Outcomes,
        accepted: bool,
    ) -> Self {
        if accepted && outcomes.all_accepted() {
            // Nothing refused (the usual case): the document as it came.
            return Reduced {
                bytes: document.to_vec(),
                pieces: vec![(0, 0, document.len())],
                sets: received
                    .interchanges
                    .iter()
                    .flat_map(|i| &i.groups)
                    .map(|g| g.transactions.len())
                    .sum(),
                interchanges: (0..received.interchanges.len()).collect(),
            };
        }
        let mut out = Reduced {
            bytes: Vec::with_capacity(document.len()),
            pieces: Vec::new(),
            sets: 0,
            interchanges: Vec::new(),
        };
        for (i, (interchange, outcome)) in received
            .interchanges
            .iter()
            .zip(&outcomes.interchanges)
            .enumerate()
        {
            let Some(separators) = &interchange.separators else {
                continue;
            };
            if accepted && !outcome.accepted() {
                continue;
            }
            let mut groups = Vec::new();
            for (group, verdict) in interchange.groups.iter().zip(&outcome.groups) {
                let group_ok = verdict.errors.is_empty() && outcome.accepted();
                let sets: Vec<&Range<usize>> = group
                    .transactions
                    .iter()
                    .enumerate()
                    .filter(|(s, _)| {
                        let ok = verdict.sets.get(*s).is_none_or(|o| o.status.is_accepted());
                        if accepted {
                            group_ok && ok
                        } else {
                            !(group_ok && ok)
                        }
                    })
                    .map(|(_, t)| &t.bytes)
                    .collect();
                if !sets.is_empty() {
                    groups.push((group, sets));
                }
            }
            if groups.is_empty() {
                continue;
            }
            let first = interchange
                .groups
                .first()
                .map_or(interchange.bytes.end, |g| g.bytes.start);
            out.copy(document, interchange.bytes.start..first);
            for (group, sets) in &groups {
                let first = group
                    .transactions
                    .first()
                    .map_or(group.bytes.end, |t| t.bytes.start);
                out.copy(document, group.bytes.start..first);
                for set in sets {
                    out.copy(document, (*set).clone());
                }
                out.sets += sets.len();
                out.write(&format!(
                    "GE{e}{}{e}{}{s}",
                    sets.len(),
                    group.control_number.trim(),
                    e = separators.element,
                    s = separators.segment
                ));
            }
            out.write(&format!(
                "IEA{e}{}{e}{}{s}",
                groups.len(),
                interchange.control_number.trim(),
                e = separators.element,
                s = separators.segment
            ));
            out.interchanges.push(i);
        }
        out
    }

    fn copy(&mut self, document: &[u8], range: Range<usize>) {
        let range = range.start.min(document.len())..range.end.min(document.len());
        if range.is_empty() {
            return;
        }
        self.pieces
            .push((self.bytes.len(), range.start, range.len()));
        self.bytes.extend_from_slice(&document[range]);
    }

    fn write(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
    }

    /// A plugin's diagnostic position (canonical JSON), its byte offset read back in the original document.
    fn original_position(&self, at: &serde_json::Value) -> Position {
        let text = |key: &str| at[key].as_str().map(str::to_string);
        let number = |key: &str| at[key].as_u64().and_then(|n| u32::try_from(n).ok());
        let byte_offset = at["byte-offset"].as_u64().and_then(|offset| {
            let offset = usize::try_from(offset).ok()?;
            self.pieces
                .iter()
                .find(|(start, _, len)| (*start..start + len).contains(&offset))
                .map(|(start, original, _)| (original + offset - start) as u64)
        });
        Position {
            transaction: text("transaction"),
            segment_index: number("segment-index"),
            segment_id: text("segment-id"),
            element: number("element"),
            component: number("component"),
            line: number("line"),
            json_path: text("json-path"),
            byte_offset,
        }
    }
}
