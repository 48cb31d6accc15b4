//! API tokens: made here, shown once, kept only as their sha256 in the KV bucket `MW_TOKENS` (one key per
//! token, the digest in hex), followed by every host.
//!
//! A presented token is hashed and looked up: in this host's copy of the bucket, else in the bucket itself (a
//! token made a moment ago on another host). The bootstrap token is compared in constant time; the others are
//! found by their digest, which tells an attacker nothing about any token's bytes. A token is refused once
//! revoked or expired; revocation keeps its record, so `token list` still shows who had it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use utoipa::ToSchema;

use super::{Grant, Principal};
use crate::bus::buckets::{Bucket, key_value};

/// The bucket holding every token's record.
pub const BUCKET: &str = "MW_TOKENS";
/// The longest token name.
const MAX_NAME: usize = 64;

/// What the host keeps of a token: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRecord {
    /// Its id, for `token revoke`: `tok_` and 16 hex digits.
    pub id: String,
    /// What it is for, e.g. `supplier-a uploads`.
    pub name: String,
    /// Its role and what the role covers.
    #[serde(flatten)]
    pub grant: Grant,
    /// When it was made (RFC 3339).
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// Who made it.
    pub created_by: String,
    /// When it stops working, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl TokenRecord {
    /// Whether it is neither revoked nor expired at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// The caller it names at `now`, or why it is refused (revoked, expired).
    pub fn principal(self, now: Timestamp) -> Result<Principal, Refusal> {
        if self.revoked_at.is_some() {
            return Err(Refusal::Revoked {
                id: self.id,
                name: self.name,
            });
        }
        if let Some(at) = self.expires_at
            && at <= now
        {
            return Err(Refusal::Expired {
                id: self.id,
                name: self.name,
                at,
            });
        }
        Ok(Principal {
            id: self.id,
            name: self.name,
            grant: self.grant,
        })
    }
}

/// A token just made: the secret, shown this once, and its record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Created {
    /// The token. It is not kept: store it now.
    pub token: String,
    /// What the host keeps.
    #[serde(flatten)]
    pub record: TokenRecord,
}

/// Why a token was refused; the messages say so without echoing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a token of this host or fleet.
    #[error("the token is not valid for this host")]
    Unknown,
    /// Revoked.
    #[error("the token {id} ({name}) was revoked")]
    Revoked {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
    },
    /// Past its expiry.
    #[error("the token {id} ({name}) expired at {at}")]
    Expired {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// When.
        at: Timestamp,
    },
    /// The token store could not be read.
    #[error("the token store cannot be read right now ({0}); try again")]
    Unavailable(String),
}

/// What a token change was refused for.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The request was wrong: the message says how.
    #[error("{0}")]
    Invalid(String),
    /// No token has that id.
    #[error("no token has the id {0}; `millwright token list` shows them")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Every token of the fleet, as this host knows them.
pub struct Tokens {
    kv: kv::Store,
    known: RwLock<HashMap<[u8; 32], TokenRecord>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

/// A token's sha256, as the bucket keys it.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two digests in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|err| anyhow::anyhow!("drawing random bytes: {err}"))?;
    Ok(hex::encode(buffer))
}

impl Tokens {
    /// Opens (creating if missing) the token bucket.
    pub async fn open(js: &jetstream::Context) -> Result<Arc<Self>> {
        let kv = key_value(
            js,
            &Bucket {
                name: BUCKET,
                description: "admin API tokens, by the sha256 of each (never the token)",
                max_age: Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        Ok(Arc::new(Self {
            kv,
            known: RwLock::default(),
        }))
    }

    /// Who `presented` is, or why it is refused; `bootstrap` is the sha256 of the environment's token.
    pub async fn authenticate(
        &self,
        presented: &str,
        bootstrap: &[u8; 32],
    ) -> Result<Principal, Refusal> {
        let digest = digest(presented);
        if constant_time_eq(&digest, bootstrap) {
            return Ok(Principal::bootstrap());
        }
        let known = self
            .known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&digest)
            .cloned();
        let record = match known {
            Some(record) => record,
            None => {
                let stored = self
                    .kv
                    .get(hex::encode(digest))
                    .await
                    .map_err(|err| Refusal::Unavailable(err.to_string()))?;
                let Some(bytes) = stored else {
                    return Err(Refusal::Unknown);
                };
                let record: TokenRecord = serde_json::from_slice(&bytes).map_err(|err| {
                    Refusal::Unavailable(format!("a token record does not read: {err}"))
                })?;
                self.remember(digest, record.clone());
                record
            }
        };
        record.principal(Timestamp::now())
    }

    fn remember(&self, digest: [u8; 32], record: TokenRecord) {
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest, record);
    }

    /// Makes a token for `grant`, valid for `expires_in` if given, and stores its record.
    pub async fn create(
        &self,
        name: &str,
        grant: Grant,
        expires_in: Option<Duration>,
        by: &Principal,
    ) -> Result<Created, TokenError> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(TokenError::Invalid(format!(
                "a token's name is 1 to {MAX_NAME} printable characters, e.g. \"supplier-a uploads\""
            )));
        }
        grant.check().map_err(TokenError::Invalid)?;
        let now = Timestamp::now();
        let expires_at = match expires_in {
            None => None,
            Some(d) if d.is_zero() => {
                return Err(TokenError::Invalid(
                    "an expiry must be in the future, e.g. \"30d\"".into(),
                ));
            }
            Some(d) => Some(
                jiff::SignedDuration::try_from(d)
                    .ok()
                    .and_then(|d| now.checked_add(d).ok())
                    .ok_or_else(|| {
                        TokenError::Invalid(format!("an expiry of {d:?} is too far away"))
                    })?,
            ),
        };
        let token = format!("mwt_{}", random_hex(32)?);
        let record = TokenRecord {
            id: format!("tok_{}", random_hex(8)?),
            name: name.to_string(),
            grant,
            created_at: now,
            created_by: by.who(),
            expires_at,
            revoked_at: None,
            revoked_by: None,
        };
        let digest = digest(&token);
        let value = serde_json::to_vec(&record).context("writing a token record")?;
        self.kv
            .create(hex::encode(digest), Bytes::from(value))
            .await
            .context("storing the token")?;
        self.remember(digest, record.clone());
        Ok(Created { token, record })
    }

    /// Every token's record with its key, read from the bucket.
    async fn stored(&self) -> Result<Vec<(String, TokenRecord, u64)>> {
        let mut keys = self.kv.keys().await.context("listing the tokens")?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.context("listing the tokens")?;
            let Some(entry) = self.kv.entry(&key).await.context("reading a token")? else {
                continue;
            };
            if entry.operation != kv::Operation::Put {
                continue;
            }
            match serde_json::from_slice::<TokenRecord>(&entry.value) {
                Ok(record) => out.push((key, record, entry.revision)),
                Err(err) => tracing::warn!("the token record {key} does not read: {err}"),
            }
        }
        Ok(out)
    }

    /// Every token's record, oldest first.
    pub async fn list(&self) -> Result<Vec<TokenRecord>> {
        let mut records: Vec<TokenRecord> = self
            .stored()
            .await?
            .into_iter()
            .map(|(_, r, _)| r)
            .collect();
        records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(records)
    }

    /// The record of the token `id`.
    pub async fn find(&self, id: &str) -> Result<TokenRecord, TokenError> {
        self.stored()
            .await?
            .into_iter()
            .map(|(_, r, _)| r)
            .find(|r| r.id == id)
            .ok_or_else(|| TokenError::NotFound(id.to_string()))
    }

    /// Revokes the token `id` (revoking one already revoked changes nothing) and answers its record.
    pub async fn revoke(&self, id: &str, by: &Principal) -> Result<TokenRecord, TokenError> {
        for _ in 0..8 {
            let Some((key, mut record, revision)) = self
                .stored()
                .await?
                .into_iter()
                .find(|(_, r, _)| r.id == id)
            else {
                return Err(TokenError::NotFound(id.to_string()));
            };
            if record.revoked_at.is_some() {
                return Ok(record);
            }
            record.revoked_at = Some(Timestamp::now());
            record.revoked_by = Some(by.who());
            let value = serde_json::to_vec(&record).context("writing a token record")?;
            if self
                .kv
                .update(&key, Bytes::from(value), revision)
                .await
                .is_ok()
            {
                if let Ok(bytes) = hex::decode(&key)
                    && let Ok(digest) = <[u8; 32]>::try_from(bytes.as_slice())
                {
                    self.remember(digest, record.clone());
                }
                return Ok(record);
            }
        }
        Err(TokenError::Store(anyhow::anyhow!(
            "the token {id} kept changing while it was revoked; try again"
        )))
    }

    /// Keeps this host's copy in step with the bucket until `stop`: every record as it is now, then each change
    /// as it is stored, from any host.
    pub async fn follow(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let mut changes = match self.kv.watch_with_history(">").await {
                Ok(changes) => changes,
                Err(err) => {
                    tracing::warn!("watching the tokens: {err}; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            loop {
                tokio::select! {
                    entry = changes.next() => match entry {
                        Some(Ok(entry)) => self.apply(&entry),
                        Some(Err(err)) => {
                            tracing::warn!("the tokens' watch failed: {err}; watching again");
                            break;
                        }
                        None => break,
                    },
                    _ = stop.changed() => return,
                }
            }
        }
    }

    fn apply(&self, entry: &kv::Entry) {
        let Some(digest) = hex::decode(&entry.key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        else {
            return;
        };
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<TokenRecord>(&entry.value) {
                Ok(record) => {
                    known.insert(digest, record);
                }
                Err(err) => {
                    tracing::warn!("the token record {} does not read: {err}", entry.key);
                    known.remove(&digest);
                }
            },
            kv::Operation::Delete | kv::Operation::Purge => {
                known.remove(&digest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_equal_only_when_equal() {
        let a = digest("a");
        let b = digest("b");
        assert!(constant_time_eq(&a, &a));
        assert!(!constant_time_eq(&a, &b));
    }

    #[test]
    fn a_token_is_live_until_revoked_or_expired() {
        let now = Timestamp::now();
        let mut record = TokenRecord {
            id: "tok_1".into(),
            name: "n".into(),
            grant: Grant::platform_admin(),
            created_at: now,
            created_by: "platform-admin".into(),
            expires_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        assert!(record.live(now));
        record.expires_at = Some(now);
        assert!(!record.live(now));
        record.expires_at = None;
        record.revoked_at = Some(now);
        assert!(!record.live(now));
    }
}
