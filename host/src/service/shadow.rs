//! The shadow run of an upload: the new version and the slot's active one map the same inputs — the fixtures
//! bundled with the upload and the slot's most recent inputs from its stream — side by side, off the routes,
//! with one frozen clock, and every difference in their outputs is reported. Nothing is published.

use std::sync::Arc;

use async_nats::jetstream;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use similar::TextDiff;
use utoipa::ToSchema;

use super::{Service, ServiceError};
use crate::bus::{self, StreamKind};
use crate::config::Kind;
use crate::host_api::{FixedClock, SlotContext};
use crate::invoke::{Envelope, InstancePolicy, Limits, Mapper};
use crate::names::{Slot, Tenant};
use crate::plugin::{Plugin, World};
use crate::registry::VersionMeta;

/// How far back in a stream the shadow run looks for the slot's recent inputs.
const SCAN_LIMIT: u64 = 5_000;

/// What the shadow run found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShadowReport {
    /// The version compared against (`name@version`), none when the slot had no active version.
    pub against: Option<String>,
    /// Inputs run: fixtures plus recent inputs.
    pub inputs: usize,
    /// Of which fixtures.
    pub fixtures: usize,
    /// Inputs on which both versions gave the same result.
    pub same: usize,
    /// Every input on which they differ.
    pub differences: Vec<ShadowDifference>,
    /// Inputs the new version failed on (also listed in `differences` when the active one did not fail).
    pub candidate_failures: usize,
}

/// One input on which the versions differ.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShadowDifference {
    /// `fixture:<file name>` or `<subject>#<stream sequence>`.
    pub input: String,
    /// A unified diff of the two results (active first), each output as pretty JSON or the error.
    pub diff: String,
}

struct Input {
    label: String,
    payload: Bytes,
}

/// Runs the shadow comparison for an upload of `candidate` to `tenant`/`slot`.
pub(super) async fn run(
    service: &Service,
    tenant: &Tenant,
    slot: &Slot,
    candidate: &Plugin,
    active: Option<&VersionMeta>,
    fixtures: Vec<(String, Bytes)>,
    recent: usize,
) -> Result<ShadowReport, ServiceError> {
    // The profile and master data of the first route running the slot, so both versions see what they would
    // see in service.
    let spec = service
        .routes
        .specs()
        .await
        .into_iter()
        .find(|s| s.tenant == *tenant && s.common.slot() == Some(slot));
    let fixture_count = fixtures.len();
    let mut inputs: Vec<Input> = fixtures
        .into_iter()
        .map(|(name, payload)| Input {
            label: format!("fixture:{name}"),
            payload,
        })
        .collect();
    if let Some(spec) = &spec {
        let subjects: Vec<(StreamKind, String)> = match &spec.kind {
            Kind::Inbound { source, .. } => vec![(StreamKind::In, bus::in_subject(tenant, source))],
            Kind::Outbound { events, .. } => events
                .iter()
                .map(|e| (StreamKind::Ev, bus::ev_subject(tenant, e)))
                .collect(),
        };
        inputs.extend(recent_inputs(&service.bus.js, tenant, &subjects, recent).await?);
    }
    let active_plugin = match active {
        Some(meta) => Some(
            service
                .versions
                .compile(
                    &format!("{tenant}/{slot}@{}", meta.version),
                    service.registry.artifact(&meta.sha256).await?,
                    tenant,
                    slot,
                    None,
                )
                .await?,
        ),
        None => None,
    };
    let engine = service.versions.engine().clone();
    let candidate = candidate.clone();
    let against = active.map(|m| format!("{}@{}", m.name, m.version));
    let context = {
        let mut context =
            SlotContext::new(tenant, slot).with_clock(Arc::new(FixedClock(jiff::Timestamp::now())));
        if let Some(spec) = &spec {
            context = context.with_live_lookups(spec.lookups.live.clone());
            for (key, value) in &spec.common.config {
                context = context.with_config(key.clone(), value.clone());
            }
        }
        context
    };
    let (source, target) = match spec.as_ref().map(|s| &s.kind) {
        Some(Kind::Inbound { source, .. }) => (source.to_string(), String::new()),
        Some(Kind::Outbound { target, .. }) => (String::new(), target.name().to_string()),
        None => ("shadow".to_string(), "shadow".to_string()),
    };
    let received_at = jiff::Timestamp::now();
    tokio::task::spawn_blocking(move || {
        let mapper = |plugin: Plugin| {
            Mapper::new(
                &engine,
                plugin,
                context.clone(),
                Limits::default(),
                InstancePolicy::Fresh,
            )
        };
        let new = mapper(candidate)?;
        let old = active_plugin.map(mapper).transpose()?;
        let outcome = |mapper: &Mapper, input: &Input| -> String {
            let mut session = mapper.session();
            match mapper.plugin().world {
                World::Inbound => {
                    let envelope = Envelope {
                        source: source.clone(),
                        message_id: format!("shadow:{}", input.label),
                        correlation_id: "shadow".into(),
                        received_at,
                        content_type: None,
                        file_name: input.label.strip_prefix("fixture:").map(str::to_string),
                        headers: Vec::new(),
                        payload: input.payload.clone(),
                    };
                    match session.map(&envelope) {
                        Ok(events) => events
                            .iter()
                            .map(|e| pretty(&e.value()))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        Err(err) => format!("error: {err}"),
                    }
                }
                World::Outbound => match serde_json::from_slice(&input.payload) {
                    Ok(event) => match session.render(&event, &target, "shadow", &input.label) {
                        Ok(documents) => documents
                            .iter()
                            .map(|d| {
                                format!(
                                    "{} {}\n{}",
                                    d.content_type,
                                    d.file_name.as_deref().unwrap_or(""),
                                    String::from_utf8_lossy(&d.payload)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                        Err(err) => format!("error: {err}"),
                    },
                    Err(err) => format!("error: the input is not JSON: {err}"),
                },
            }
        };
        let mut report = ShadowReport {
            against,
            inputs: inputs.len(),
            fixtures: fixture_count,
            same: 0,
            differences: Vec::new(),
            candidate_failures: 0,
        };
        for input in &inputs {
            let theirs = outcome(&new, input);
            if theirs.starts_with("error: ") {
                report.candidate_failures += 1;
            }
            let ours = match &old {
                Some(old) => outcome(old, input),
                // Nothing to compare with: a failure of the new version is the difference worth showing.
                None if theirs.starts_with("error: ") => String::new(),
                None => theirs.clone(),
            };
            if ours == theirs {
                report.same += 1;
            } else {
                let diff = TextDiff::from_lines(&ours, &theirs)
                    .unified_diff()
                    .context_radius(3)
                    .header("active", "candidate")
                    .to_string();
                report.differences.push(ShadowDifference {
                    input: input.label.clone(),
                    diff,
                });
            }
        }
        Ok::<_, crate::plugin::PluginError>(report)
    })
    .await
    .map_err(|err| ServiceError::unavailable(format!("the shadow run stopped: {err}")))?
    .map_err(ServiceError::from)
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The last `wanted` messages on `subjects`, newest first, from the tenant's streams.
async fn recent_inputs(
    js: &jetstream::Context,
    tenant: &Tenant,
    subjects: &[(StreamKind, String)],
    wanted: usize,
) -> Result<Vec<Input>, ServiceError> {
    let mut out = Vec::new();
    for (kind, subject) in subjects {
        if out.len() >= wanted {
            break;
        }
        let name = bus::stream_name(tenant, *kind);
        let mut stream = js
            .get_stream(&name)
            .await
            .map_err(|err| anyhow::anyhow!("opening stream {name}: {err}"))?;
        let info = stream
            .info()
            .await
            .map_err(|err| anyhow::anyhow!("reading stream {name}: {err}"))?;
        let last = info.state.last_sequence;
        let first = info
            .state
            .first_sequence
            .max(last.saturating_sub(SCAN_LIMIT));
        let mut sequence = last;
        while sequence >= first && sequence > 0 && out.len() < wanted {
            if let Ok(message) = stream.direct_get(sequence).await
                && message.subject.as_str() == subject
            {
                out.push(Input {
                    label: format!("{subject}#{sequence}"),
                    payload: message.payload.clone(),
                });
            }
            sequence -= 1;
        }
    }
    Ok(out)
}
