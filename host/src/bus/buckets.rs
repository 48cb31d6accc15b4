//! JetStream KV buckets as the host opens them: created when missing, with the layout the KV API expects.
//!
//! A bucket is created as the stream behind it (`KV_<bucket>`), not with `create_key_value`: that one first asks
//! for the account's JetStream info, and async-nats 0.51 cannot parse the answer of a 2.9 server (it lacks
//! `reserved_memory`), so it fails there. Several hosts may open the same bucket at once; whichever creates it,
//! every one ends up with it.

use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::{self, kv, stream, stream::StorageType};

/// How a bucket is made when it is missing.
#[derive(Debug, Clone)]
pub struct Bucket<'a> {
    /// Its name: `MW_REGISTRY`, `MW_SEQUENCES` ...
    pub name: &'a str,
    /// What it holds, for people listing streams.
    pub description: &'a str,
    /// How long a value is kept; zero keeps it for ever.
    pub max_age: Duration,
    /// Replicas in a cluster (1 on a single server).
    pub replicas: usize,
}

/// Opens the KV bucket, creating it if missing. One revision is kept per key: values carry their own history
/// where they need one, and compare-and-set needs only the latest.
pub async fn key_value(js: &jetstream::Context, bucket: &Bucket<'_>) -> Result<kv::Store> {
    let name = bucket.name;
    if let Ok(kv) = js.get_key_value(name).await {
        return Ok(kv);
    }
    let created = js
        .create_stream(stream::Config {
            name: format!("KV_{name}"),
            description: Some(format!("Millwright: {}", bucket.description)),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_message_size: -1,
            max_age: bucket.max_age,
            storage: StorageType::File,
            num_replicas: bucket.replicas,
            discard: stream::DiscardPolicy::New,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            ..Default::default()
        })
        .await;
    match js.get_key_value(name).await {
        Ok(kv) => Ok(kv),
        // Another host may have created it in the meantime, with settings of its own; then the get succeeds.
        Err(err) => Err(match created {
            Err(create) => anyhow::Error::new(create),
            Ok(_) => anyhow::Error::new(err),
        })
        .with_context(|| format!("creating the JetStream KV bucket {name}")),
    }
}
