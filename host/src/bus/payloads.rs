//! Payloads kept beside a message instead of inside it, in the tenant's JetStream Object Store bucket
//! `MW_<tenant>_PAYLOADS`.
//!
//! A dead letter is its input plus the failure's headers, so an input close to the server's `max_payload` can
//! make a dead letter that no longer fits; a replay adds headers of its own too. Rather than lose the document
//! or retry it forever, the host stores such a payload as an object and sends the message with an empty
//! payload and three headers naming it: `Mw-Payload-Object` (`<bucket>/<name>`), `Mw-Payload-Size` and
//! `Mw-Payload-Sha256`. Routes read the object back before mapping, checking size and digest, so a replay
//! always has the whole document. Objects expire with the streams' `max_age`; a dead letter replayed inline
//! deletes its object at once.
//!
//! A reference is only ever followed into the tenant's own bucket, so a header on one tenant's message cannot
//! read another tenant's documents.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use async_nats::HeaderMap;
use async_nats::jetstream::{self, object_store, stream::StorageType};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::header;

/// The object holding the payload: `<bucket>/<name>`.
pub const OBJECT: &str = "Mw-Payload-Object";
/// The payload's size in bytes.
pub const SIZE: &str = "Mw-Payload-Size";
/// The payload's sha256, lowercase hex.
pub const SHA256: &str = "Mw-Payload-Sha256";

/// The headers of a payload reference.
pub const HEADERS: [&str; 3] = [OBJECT, SIZE, SHA256];

/// Copies a payload reference from `from` to `to`, if `from` has one: a dead letter of a message whose payload
/// is kept in the bucket points at the same object.
pub fn copy_reference(from: Option<&HeaderMap>, to: &mut HeaderMap) {
    for name in HEADERS {
        if let Some(value) = header(from, name) {
            to.insert(name, value);
        }
    }
}

/// `MW_<tenant>_PAYLOADS`.
pub fn bucket(tenant: &str) -> String {
    format!("MW_{tenant}_PAYLOADS")
}

/// Creates the tenant's bucket if it is missing; its objects live as long as the streams keep messages.
pub async fn ensure_bucket(js: &jetstream::Context, tenant: &str, max_age: Duration) -> Result<()> {
    let name = bucket(tenant);
    if js.get_object_store(&name).await.is_ok() {
        return Ok(());
    }
    let created = js
        .create_object_store(object_store::Config {
            bucket: name.clone(),
            description: Some(format!(
                "Millwright: tenant {tenant}'s payloads too large to travel inline"
            )),
            max_age,
            storage: StorageType::File,
            ..Default::default()
        })
        .await;
    match created {
        Ok(_) => Ok(()),
        // Another host made it meanwhile.
        Err(err) => js
            .get_object_store(&name)
            .await
            .map(drop)
            .map_err(|_| anyhow!("creating the Object Store bucket {name}: {err}")),
    }
}

/// Where a payload was put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRef {
    /// The object's name in the tenant's bucket.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its sha256, lowercase hex.
    pub sha256: String,
}

impl PayloadRef {
    /// Writes the three headers that name the payload.
    pub fn insert_into(&self, tenant: &str, headers: &mut HeaderMap) {
        headers.insert(OBJECT, format!("{}/{}", bucket(tenant), self.name).as_str());
        headers.insert(SIZE, self.size.to_string().as_str());
        headers.insert(SHA256, self.sha256.as_str());
    }

    /// The reference a message carries, if any. A reference into another tenant's bucket, or with a size or
    /// digest that cannot be read, is an error.
    pub fn from_headers(tenant: &str, headers: Option<&HeaderMap>) -> Result<Option<Self>> {
        let Some(object) = header(headers, OBJECT) else {
            return Ok(None);
        };
        let own = bucket(tenant);
        let name = object
            .strip_prefix(own.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                anyhow!("{OBJECT} names {object:?}, which is not in tenant {tenant}'s bucket {own}")
            })?;
        let size = header(headers, SIZE)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("{OBJECT} {object} comes without a readable {SIZE}"))?;
        let sha256 = header(headers, SHA256)
            .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| anyhow!("{OBJECT} {object} comes without a readable {SHA256}"))?;
        Ok(Some(Self {
            name: name.to_string(),
            size,
            sha256: sha256.to_ascii_lowercase(),
        }))
    }
}

/// Stores `payload` as `name` in the tenant's bucket.
pub async fn put(
    js: &jetstream::Context,
    tenant: &str,
    name: &str,
    payload: &[u8],
) -> Result<PayloadRef> {
    let store = js
        .get_object_store(bucket(tenant))
        .await
        .with_context(|| format!("opening the Object Store bucket {}", bucket(tenant)))?;
    let mut reader = payload;
    store
        .put(name, &mut reader)
        .await
        .with_context(|| format!("storing {name} in {}", bucket(tenant)))?;
    Ok(PayloadRef {
        name: name.to_string(),
        size: payload.len() as u64,
        sha256: hex::encode(Sha256::digest(payload)),
    })
}

/// Reads the payload `reference` names back, and checks it is the one that was stored.
pub async fn get(js: &jetstream::Context, tenant: &str, reference: &PayloadRef) -> Result<Bytes> {
    let name = bucket(tenant);
    let store = js
        .get_object_store(&name)
        .await
        .with_context(|| format!("opening the Object Store bucket {name}"))?;
    let mut object = store.get(&reference.name).await.with_context(|| {
        format!(
            "reading {}/{} (it expires with the streams' max_age)",
            name, reference.name
        )
    })?;
    let mut bytes = Vec::with_capacity(usize::try_from(reference.size).unwrap_or(0));
    object
        .read_to_end(&mut bytes)
        .await
        .with_context(|| format!("reading {}/{}", name, reference.name))?;
    if bytes.len() as u64 != reference.size
        || hex::encode(Sha256::digest(&bytes)) != reference.sha256
    {
        bail!(
            "{}/{} is not the payload stored ({} bytes, expected {} with sha256 {})",
            name,
            reference.name,
            bytes.len(),
            reference.size,
            reference.sha256
        );
    }
    Ok(Bytes::from(bytes))
}

/// Deletes the object `reference` names; one already gone is fine.
pub async fn delete(js: &jetstream::Context, tenant: &str, reference: &PayloadRef) -> Result<()> {
    let store = js.get_object_store(bucket(tenant)).await?;
    match store.delete(&reference.name).await {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == object_store::DeleteErrorKind::NotFound => Ok(()),
        Err(err) => Err(anyhow!("deleting {}: {err}", reference.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_reads_back_from_its_headers() {
        let reference = PayloadRef {
            name: "dlq/supplier-856/MW_acme_IN:57".into(),
            size: 1_048_360,
            sha256: "ab".repeat(32),
        };
        let mut headers = HeaderMap::new();
        reference.insert_into("acme", &mut headers);
        assert_eq!(
            PayloadRef::from_headers("acme", Some(&headers)).expect("valid"),
            Some(reference)
        );
        assert_eq!(
            PayloadRef::from_headers("acme", Some(&HeaderMap::new())).expect("none"),
            None
        );
    }

    #[test]
    fn a_reference_into_another_tenants_bucket_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(OBJECT, "MW_other_PAYLOADS/dlq/x");
        headers.insert(SIZE, "3");
        headers.insert(SHA256, "ab".repeat(32).as_str());
        let err = PayloadRef::from_headers("acme", Some(&headers)).expect_err("refused");
        assert!(
            err.to_string().contains("not in tenant acme's bucket"),
            "{err}"
        );
        // A tenant whose name is a prefix of another's does not reach it either.
        headers.insert(OBJECT, "MW_acme_PAYLOADSX/dlq/x");
        assert!(PayloadRef::from_headers("acme", Some(&headers)).is_err());
    }
}
