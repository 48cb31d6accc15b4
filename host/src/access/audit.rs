//! The audit log: one record per change asked of the admin API — who (token id, name, role), what (method and
//! path), when, and the outcome (the status, refusals included) — on the stream `MW_AUDIT`, subject
//! `mw.audit.tenant.<t>` for a tenant's resources and `mw.audit.platform` for the rest (tokens, tenants).
//!
//! Records are written once the answer is known and before it is sent, so a change the caller saw succeed is in
//! the log; a record that cannot be written is logged as an error and the answer still goes out (the change is
//! made by then). Bodies are never recorded: they may carry secrets.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The stream holding the audit log.
pub const STREAM: &str = "MW_AUDIT";
/// How long records are kept.
const MAX_AGE: Duration = Duration::from_secs(400 * 24 * 3600);
/// The most the log holds: refused calls are recorded too, so a flood of them must not fill the server; the
/// oldest records go first.
const MAX_BYTES: i64 = 1 << 30;
/// The most records one read scans.
const MAX_SCAN: u64 = 200_000;

/// One change asked of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// When the answer was given (RFC 3339).
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// Who asked: the token's name and role (`unknown` when no valid token came).
    pub who: String,
    /// The token's id, when one was valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The method.
    pub method: String,
    /// The path, as asked.
    pub path: String,
    /// The tenant the path names, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// `done`, `refused` (401/403), `rejected` (another 4xx) or `failed` (5xx).
    pub outcome: String,
}

impl AuditRecord {
    /// The outcome word of `status`.
    pub fn outcome_of(status: u16) -> &'static str {
        match status {
            401 | 403 => "refused",
            400..=499 => "rejected",
            500.. => "failed",
            _ => "done",
        }
    }

    fn subject(&self) -> String {
        match &self.tenant {
            Some(tenant) => format!("mw.audit.tenant.{tenant}"),
            None => "mw.audit.platform".into(),
        }
    }
}

/// Writes and reads the audit log.
#[derive(Debug, Clone)]
pub struct Audit {
    js: jetstream::Context,
}

impl Audit {
    /// Creates (or keeps) the stream.
    pub async fn open(js: &jetstream::Context) -> Result<Self> {
        js.get_or_create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec!["mw.audit.>".into()],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            max_age: MAX_AGE,
            max_bytes: MAX_BYTES,
            discard: stream::DiscardPolicy::Old,
            description: Some("Millwright: every change asked of the admin API".into()),
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating the JetStream stream {STREAM}"))?;
        Ok(Self { js: js.clone() })
    }

    /// Stores one record.
    pub async fn record(&self, record: &AuditRecord) -> Result<()> {
        let payload = serde_json::to_vec(record)?;
        self.js
            .publish(record.subject(), payload.into())
            .await
            .context("publishing an audit record")?
            .await
            .context("storing an audit record")?;
        Ok(())
    }

    /// The newest `limit` records since `since`, of one tenant or of all, oldest first.
    pub async fn read(
        &self,
        tenant: Option<&str>,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        let stream = self
            .js
            .get_stream(STREAM)
            .await
            .with_context(|| format!("opening the stream {STREAM}"))?;
        let filter = match tenant {
            Some(tenant) => format!("mw.audit.tenant.{tenant}"),
            None => "mw.audit.>".into(),
        };
        let start = time::OffsetDateTime::from_unix_timestamp_nanos(since.as_nanosecond())
            .context("the start of the audit read")?;
        let mut consumer: consumer::Consumer<consumer::pull::OrderedConfig> = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: start },
                description: Some("millwright audit read".into()),
                ..Default::default()
            })
            .await
            .context("reading the audit log")?;
        let pending = consumer
            .info()
            .await
            .context("reading the audit log")?
            .num_pending
            .min(MAX_SCAN);
        let mut out: VecDeque<AuditRecord> = VecDeque::with_capacity(limit.min(4096));
        if pending == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let mut messages = consumer.messages().await.context("reading the audit log")?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut read = 0u64;
        while read < pending {
            let message = match tokio::time::timeout_at(deadline, messages.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(err))) => bail!("reading the audit log: {err}"),
                Ok(None) => break,
                Err(_) => bail!("reading the audit log: no answer within 30 s"),
            };
            read += 1;
            let left = message.info().map(|i| i.pending).unwrap_or(1);
            match serde_json::from_slice::<AuditRecord>(&message.payload) {
                Ok(record) => {
                    if out.len() == limit {
                        out.pop_front();
                    }
                    out.push_back(record);
                }
                Err(err) => tracing::warn!("an audit record does not read: {err}"),
            }
            if left == 0 {
                break;
            }
        }
        Ok(out.into())
    }
}
