//! The numbers behind `sequences.next`, kept in JetStream so every host of a fleet draws from the same sequence.
//!
//! Two buckets: `MW_SEQUENCES` holds each sequence's last number (`next.<tenant>.<name>`), moved on with a
//! compare-and-set, so two hosts never hand out the same number; `MW_SEQUENCE_USES` remembers which number each
//! allocation got (`use.<tenant>.<name>.<key>`, the key naming the input and the call), so an input delivered
//! again gets the numbers it got the first time and a resent document is the same document. Uses expire with the
//! streams' `max_age`; sequences never do. Names and keys are written base64url in the keys, since KV keys take
//! only `[-/_=.A-Za-z0-9]`.
//!
//! Plugins run on threads of their own, not on the async runtime, so [`Sequences::number`] blocks on the runtime
//! it was opened on.

use std::time::Duration;

use anyhow::Result;
use async_nats::jetstream::{self, kv};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::buckets::{self, Bucket};
use crate::host_api::Sequences;

/// How often an allocation re-reads the counter after losing a race to another host.
const ATTEMPTS: usize = 64;

/// Sequences in JetStream KV.
#[derive(Clone)]
pub struct JetStreamSequences {
    runtime: tokio::runtime::Handle,
    counters: kv::Store,
    uses: kv::Store,
}

impl std::fmt::Debug for JetStreamSequences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamSequences").finish_non_exhaustive()
    }
}

impl JetStreamSequences {
    /// Opens (or creates) the two buckets; allocations are remembered for `remember`. Call on the runtime the
    /// plugin threads will block on.
    pub async fn open(js: &jetstream::Context, remember: Duration) -> Result<Self> {
        let counters = buckets::key_value(
            js,
            &Bucket {
                name: "MW_SEQUENCES",
                description: "the last number of each plugin sequence (control numbers)",
                max_age: Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        let uses = buckets::key_value(
            js,
            &Bucket {
                name: "MW_SEQUENCE_USES",
                description: "which number each input's call of sequences.next was given",
                max_age: remember,
                replicas: 1,
            },
        )
        .await?;
        Ok(Self {
            runtime: tokio::runtime::Handle::current(),
            counters,
            uses,
        })
    }

    async fn allocate(&self, tenant: &str, name: &str, key: &str, max: u64) -> Result<u64, String> {
        let name64 = URL_SAFE_NO_PAD.encode(name);
        let use_key = format!("use.{tenant}.{name64}.{}", URL_SAFE_NO_PAD.encode(key));
        if let Some(number) = self.given(&use_key).await? {
            return Ok(number);
        }
        let counter = format!("next.{tenant}.{name64}");
        let unavailable = |err: &dyn std::fmt::Display| {
            format!(
                "the sequence {name} of tenant {tenant} cannot be read or moved on just now: {err}"
            )
        };
        for _ in 0..ATTEMPTS {
            let current = self
                .counters
                .entry(&counter)
                .await
                .map_err(|err| unavailable(&err))?
                .filter(|entry| entry.operation == kv::Operation::Put);
            let (last, revision) = match &current {
                Some(entry) => (
                    std::str::from_utf8(&entry.value)
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0),
                    Some(entry.revision),
                ),
                None => (0, None),
            };
            let next = if last >= max { 1 } else { last + 1 };
            let value = next.to_string().into_bytes().into();
            let moved = match revision {
                None => self
                    .counters
                    .create(&counter, value)
                    .await
                    .map(drop)
                    .map_err(|err| {
                        (
                            err.kind() == kv::CreateErrorKind::AlreadyExists,
                            err.to_string(),
                        )
                    }),
                Some(revision) => self
                    .counters
                    .update(&counter, value, revision)
                    .await
                    .map(drop)
                    .map_err(|err| {
                        (
                            err.kind() == kv::UpdateErrorKind::WrongLastRevision,
                            err.to_string(),
                        )
                    }),
            };
            match moved {
                Ok(()) => {}
                // Another host moved it first: read again.
                Err((true, _)) => continue,
                Err((false, err)) => return Err(unavailable(&err)),
            }
            // The number is this allocation's; if the same input got one meanwhile on another host (a redelivery
            // racing the first delivery), that one stands and this number is left unused.
            return match self
                .uses
                .create(&use_key, next.to_string().into_bytes().into())
                .await
            {
                Ok(_) => Ok(next),
                Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => self
                    .given(&use_key)
                    .await?
                    .ok_or_else(|| unavailable(&"the allocation vanished")),
                Err(err) => Err(unavailable(&err)),
            };
        }
        Err(unavailable(&format!(
            "it was moved by other hosts {ATTEMPTS} times in a row"
        )))
    }

    async fn given(&self, use_key: &str) -> Result<Option<u64>, String> {
        let entry = self
            .uses
            .get(use_key)
            .await
            .map_err(|err| format!("reading a sequence allocation: {err}"))?;
        Ok(entry.and_then(|value| std::str::from_utf8(&value).ok()?.parse().ok()))
    }
}

impl Sequences for JetStreamSequences {
    fn number(&self, tenant: &str, name: &str, key: &str, max: u64) -> Result<u64, String> {
        self.runtime.block_on(self.allocate(tenant, name, key, max))
    }
}
