//! The rules' state: JSON documents in the tenant's KV bucket `MW_<tenant>_RULES`, one key per business thing
//! (`lot.<lot>`, `po.<order>`, `asn.<shipment>`), changed with compare-and-set so hosts racing on the same key
//! never lose a change. Keys carry the thing's id base64url-encoded, since KV keys take only `[-/_=.A-Za-z0-9]`.

use anyhow::{Context, Result, bail};
use async_nats::jetstream::kv;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How many times a change is tried again after another host changed the same key first.
const ATTEMPTS: usize = 32;

/// A tenant's rule state.
#[derive(Clone)]
pub struct Documents {
    store: kv::Store,
}

impl Documents {
    pub(super) fn new(store: kv::Store) -> Self {
        Self { store }
    }

    /// The key of thing `id` of `kind`: `lot.<base64url id>`.
    pub fn key(kind: &str, id: &str) -> String {
        format!("{kind}.{}", URL_SAFE_NO_PAD.encode(id))
    }

    /// A document, if there is one.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.store
            .get(key)
            .await
            .with_context(|| format!("reading rule state {key}"))?
            .map(|v| {
                serde_json::from_slice(&v).with_context(|| format!("reading rule state {key}"))
            })
            .transpose()
    }

    /// Every document of `kind`.
    pub async fn all<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>> {
        use futures::StreamExt as _;
        let prefix = format!("{kind}.");
        let mut keys = self.store.keys().await.context("listing rule state")?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.context("listing rule state")?;
            if key.starts_with(&prefix)
                && let Some(value) = self.get(&key).await?
            {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// As [`Documents::change`], for a document that is most often new (a notice, an order, a timer seen the
    /// first time): `apply(None)` is written with one `create`, and only when the key exists already is it read
    /// and changed. One request instead of two in the common case; the same result in every case.
    pub async fn change_new<T: Serialize + DeserializeOwned + Clone + PartialEq>(
        &self,
        key: &str,
        apply: impl Fn(Option<T>) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        if let Some(first) = apply(None)? {
            let value = serde_json::to_vec(&first)?.into();
            match self.store.create(key, value).await {
                Ok(_) => return Ok(Some(first)),
                Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => {}
                Err(err) => bail!("writing rule state {key}: {err}"),
            }
        }
        self.change(key, apply).await
    }

    /// Changes a document with compare-and-set: `apply` gets the current one (None when there is none) and
    /// returns the new one, or None to leave it. The document after.
    pub async fn change<T: Serialize + DeserializeOwned + Clone + PartialEq>(
        &self,
        key: &str,
        apply: impl Fn(Option<T>) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        for _ in 0..ATTEMPTS {
            let entry = self
                .store
                .entry(key)
                .await
                .with_context(|| format!("reading rule state {key}"))?
                .filter(|e| e.operation == kv::Operation::Put);
            let (current, revision) = match &entry {
                Some(e) => (
                    Some(
                        serde_json::from_slice::<T>(&e.value)
                            .with_context(|| format!("reading rule state {key}"))?,
                    ),
                    Some(e.revision),
                ),
                None => (None, None),
            };
            let Some(next) = apply(current.clone())? else {
                return Ok(current);
            };
            if Some(&next) == current.as_ref() {
                return Ok(current);
            }
            let value = serde_json::to_vec(&next)?.into();
            let written = match revision {
                Some(revision) => self
                    .store
                    .update(key, value, revision)
                    .await
                    .map(drop)
                    .map_err(|e| {
                        (
                            e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                            e.to_string(),
                        )
                    }),
                None => self.store.create(key, value).await.map(drop).map_err(|e| {
                    (
                        e.kind() == kv::CreateErrorKind::AlreadyExists,
                        e.to_string(),
                    )
                }),
            };
            match written {
                Ok(()) => return Ok(Some(next)),
                Err((true, _)) => continue,
                Err((false, err)) => bail!("writing rule state {key}: {err}"),
            }
        }
        bail!("rule state {key} was changed by others {ATTEMPTS} times in a row")
    }
}
