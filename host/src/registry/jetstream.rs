//! The registry in JetStream, for a fleet: every host reads and watches the same buckets, so an activation on one
//! host switches the slot on all of them.
//!
//! Metadata lives in one KV bucket (`MW_REGISTRY` unless [`JsOptions`] says otherwise), one key per thing:
//! `version.<tenant>.<slot>.<sha256>` (a [`VersionMeta`]), `slot.<tenant>.<slot>` (a [`SlotState`]; the KV
//! revision is the compare-and-set token) and `route.<tenant>.<name>` (the route as given). Artifacts live in an
//! Object Store bucket (`MW_PLUGINS`), one object per sha256, chunked by the client. Names are checked before
//! they become keys, and a checked name has no `.`, `*` or `>`, so every key has exactly the tokens it should.
//!
//! The buckets keep one revision per key (history is the slot's own `history` field, not the bucket's) and only
//! use what nats-server 2.9 offers.

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_nats::jetstream::kv::{self, Operation};
use async_nats::jetstream::stream::StorageType;
use async_nats::jetstream::{self, object_store};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;

use crate::names::{RouteName, Sha256, Slot, Tenant};

use super::{Backend, Change, RegistryError, SlotState, VersionMeta};

/// Where a [`JsBackend`] keeps things.
#[derive(Debug, Clone)]
pub struct JsOptions {
    /// The KV bucket for version rows, slots and routes.
    pub kv_bucket: String,
    /// The Object Store bucket for artifacts.
    pub object_bucket: String,
    /// Replicas of both buckets when this host creates them (1 on a single server; 3 in a cluster of 3).
    pub replicas: usize,
}

impl Default for JsOptions {
    /// `MW_REGISTRY` and `MW_PLUGINS`, one replica.
    fn default() -> Self {
        Self {
            kv_bucket: "MW_REGISTRY".to_string(),
            object_bucket: "MW_PLUGINS".to_string(),
            replicas: 1,
        }
    }
}

/// The registry's JetStream buckets.
#[derive(Clone)]
pub struct JsBackend {
    kv: kv::Store,
    objects: object_store::ObjectStore,
}

impl std::fmt::Debug for JsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsBackend")
            .field("kv", &self.kv.name)
            .finish_non_exhaustive()
    }
}

impl JsBackend {
    /// Opens the buckets, creating them if missing. Safe on every start, and when several hosts start at once:
    /// a bucket another host created in the meantime is opened as it is.
    pub async fn open(js: jetstream::Context, options: &JsOptions) -> anyhow::Result<Self> {
        let kv = open_kv(&js, options).await?;
        let objects = match js.get_object_store(&options.object_bucket).await {
            Ok(objects) => objects,
            Err(_) => {
                let created = js
                    .create_object_store(object_store::Config {
                        bucket: options.object_bucket.clone(),
                        description: Some("Millwright: plugin components by sha256".to_string()),
                        storage: StorageType::File,
                        num_replicas: options.replicas,
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(objects) => objects,
                    Err(err) => js
                        .get_object_store(&options.object_bucket)
                        .await
                        .map_err(|_| err)
                        .with_context(|| {
                            format!(
                                "creating the JetStream Object Store {}",
                                options.object_bucket
                            )
                        })?,
                }
            }
        };
        Ok(Self { kv, objects })
    }

    /// The value under `key` and its revision; `None` if missing or deleted.
    async fn get(&self, key: &str) -> Result<Option<(Bytes, u64)>, RegistryError> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|err| RegistryError::storage(format!("reading {key}"), err))?;
        Ok(entry
            .filter(|entry| entry.operation == Operation::Put)
            .map(|entry| (entry.value, entry.revision)))
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), RegistryError> {
        self.kv
            .put(key, value.into())
            .await
            .map(|_| ())
            .map_err(|err| RegistryError::storage(format!("storing {key}"), err))
    }

    /// Deletes `key`; `false` if there was nothing to delete.
    async fn delete(&self, key: &str) -> Result<bool, RegistryError> {
        if self.get(key).await?.is_none() {
            return Ok(false);
        }
        self.kv
            .delete(key)
            .await
            .map_err(|err| RegistryError::storage(format!("deleting {key}"), err))?;
        Ok(true)
    }

    /// The live keys under `prefix`, parsed.
    async fn keys(&self, prefix: &str) -> Result<Vec<Key>, RegistryError> {
        let keys: Vec<String> = self
            .kv
            .keys()
            .await
            .map_err(|err| RegistryError::storage("listing the registry's keys", err))?
            .try_collect()
            .await
            .map_err(|err| RegistryError::storage("listing the registry's keys", err))?;
        Ok(keys
            .iter()
            .filter(|key| key.starts_with(prefix))
            .filter_map(|key| Key::parse(key))
            .collect())
    }

    /// The values of `keys`, decoded; keys deleted since they were listed are left out.
    async fn values<T: serde::de::DeserializeOwned>(
        &self,
        keys: impl IntoIterator<Item = String>,
    ) -> Result<BTreeMap<String, T>, RegistryError> {
        let mut values = BTreeMap::new();
        for key in keys {
            if let Some((bytes, _)) = self.get(&key).await? {
                values.insert(key.clone(), decode(&key, &bytes)?);
            }
        }
        Ok(values)
    }
}

/// Opens the registry's KV bucket, creating it if missing.
async fn open_kv(js: &jetstream::Context, options: &JsOptions) -> anyhow::Result<kv::Store> {
    crate::bus::buckets::key_value(
        js,
        &crate::bus::buckets::Bucket {
            name: &options.kv_bucket,
            description: "plugin versions, active pointers, routes",
            max_age: std::time::Duration::ZERO,
            replicas: options.replicas,
        },
    )
    .await
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, RegistryError> {
    serde_json::to_vec(value).map_err(|err| RegistryError::storage("encoding JSON", err))
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, RegistryError> {
    serde_json::from_slice(bytes)
        .map_err(|err| RegistryError::storage(format!("reading {key}"), err))
}

/// A registry key, parsed back into its checked parts.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    Version {
        tenant: Tenant,
        slot: Slot,
        sha256: Sha256,
    },
    Slot {
        tenant: Tenant,
        slot: Slot,
    },
    Route {
        tenant: Tenant,
        name: RouteName,
    },
}

impl Key {
    fn version(tenant: &Tenant, slot: &Slot, sha256: &Sha256) -> String {
        format!("version.{tenant}.{slot}.{sha256}")
    }

    fn slot(tenant: &Tenant, slot: &Slot) -> String {
        format!("slot.{tenant}.{slot}")
    }

    fn route(tenant: &Tenant, name: &RouteName) -> String {
        format!("route.{tenant}.{name}")
    }

    /// `None` for a key this module did not write (its names are checked again: the bucket can be written by
    /// anyone with access to the server).
    fn parse(key: &str) -> Option<Key> {
        let parts: Vec<&str> = key.split('.').collect();
        Some(match parts.as_slice() {
            ["version", tenant, slot, sha256] => Key::Version {
                tenant: Tenant::new(tenant).ok()?,
                slot: Slot::new(slot).ok()?,
                sha256: Sha256::new(sha256).ok()?,
            },
            ["slot", tenant, slot] => Key::Slot {
                tenant: Tenant::new(tenant).ok()?,
                slot: Slot::new(slot).ok()?,
            },
            ["route", tenant, name] => Key::Route {
                tenant: Tenant::new(tenant).ok()?,
                name: RouteName::new(name).ok()?,
            },
            _ => return None,
        })
    }
}

/// The change a KV entry stands for, if it is one a watcher cares about.
fn change(entry: kv::Entry) -> Option<Change> {
    match Key::parse(&entry.key)? {
        Key::Version { .. } => match entry.operation {
            Operation::Put => match serde_json::from_slice::<VersionMeta>(&entry.value) {
                Ok(meta) => Some(Change::Version { meta }),
                Err(err) => {
                    tracing::warn!(key = %entry.key, error = %err, "skipping an unreadable version in the registry");
                    None
                }
            },
            Operation::Delete | Operation::Purge => None,
        },
        Key::Slot { tenant, slot } => match entry.operation {
            Operation::Put => match serde_json::from_slice::<SlotState>(&entry.value) {
                Ok(state) => Some(Change::Slot {
                    tenant,
                    slot,
                    state,
                }),
                Err(err) => {
                    tracing::warn!(key = %entry.key, error = %err, "skipping an unreadable slot in the registry");
                    None
                }
            },
            // Slots are never deleted by the registry.
            Operation::Delete | Operation::Purge => None,
        },
        Key::Route { tenant, name } => match entry.operation {
            Operation::Put => match serde_json::from_slice(&entry.value) {
                Ok(route) => Some(Change::Route {
                    tenant,
                    name,
                    route: Some(route),
                }),
                Err(err) => {
                    tracing::warn!(key = %entry.key, error = %err, "skipping an unreadable route in the registry");
                    None
                }
            },
            Operation::Delete | Operation::Purge => Some(Change::Route {
                tenant,
                name,
                route: None,
            }),
        },
    }
}

#[async_trait::async_trait]
impl Backend for JsBackend {
    async fn put_artifact(&self, sha256: &Sha256, bytes: Bytes) -> Result<(), RegistryError> {
        match self.objects.info(sha256.as_str()).await {
            Ok(info) if !info.deleted => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == object_store::InfoErrorKind::NotFound => {}
            Err(err) => {
                return Err(RegistryError::storage(
                    format!("looking up artifact {sha256}"),
                    err,
                ));
            }
        }
        self.objects
            .put(sha256.as_str(), &mut bytes.as_ref())
            .await
            .map(|_| ())
            .map_err(|err| RegistryError::storage(format!("storing artifact {sha256}"), err))
    }

    async fn artifact(&self, sha256: &Sha256) -> Result<Option<Bytes>, RegistryError> {
        let mut object = match self.objects.get(sha256.as_str()).await {
            Ok(object) => object,
            Err(err) if err.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(RegistryError::storage(
                    format!("reading artifact {sha256}"),
                    err,
                ));
            }
        };
        let mut bytes = Vec::with_capacity(object.info().size);
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|err| RegistryError::storage(format!("reading artifact {sha256}"), err))?;
        Ok(Some(bytes.into()))
    }

    async fn delete_artifact(&self, sha256: &Sha256) -> Result<(), RegistryError> {
        match self.objects.info(sha256.as_str()).await {
            Ok(info) if info.deleted => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == object_store::InfoErrorKind::NotFound => return Ok(()),
            Err(err) => {
                return Err(RegistryError::storage(
                    format!("looking up artifact {sha256}"),
                    err,
                ));
            }
        }
        match self.objects.delete(sha256.as_str()).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == object_store::DeleteErrorKind::NotFound => Ok(()),
            Err(err) => Err(RegistryError::storage(
                format!("deleting artifact {sha256}"),
                err,
            )),
        }
    }

    async fn put_version(&self, meta: &VersionMeta) -> Result<(), RegistryError> {
        self.put(
            &Key::version(&meta.tenant, &meta.slot, &meta.sha256),
            encode(meta)?,
        )
        .await
    }

    async fn version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<Option<VersionMeta>, RegistryError> {
        let key = Key::version(tenant, slot, sha256);
        match self.get(&key).await? {
            Some((bytes, _)) => decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    async fn versions(
        &self,
        tenant: &Tenant,
        slot: Option<&Slot>,
    ) -> Result<Vec<VersionMeta>, RegistryError> {
        let prefix = match slot {
            Some(slot) => {
                format!("version.{tenant}.{slot}.")
            }
            None => format!("version.{tenant}."),
        };
        let keys = self
            .keys(&prefix)
            .await?
            .into_iter()
            .filter_map(|key| match key {
                Key::Version {
                    tenant,
                    slot,
                    sha256,
                } => Some(Key::version(&tenant, &slot, &sha256)),
                _ => None,
            });
        Ok(self
            .values::<VersionMeta>(keys)
            .await?
            .into_values()
            .collect())
    }

    async fn artifact_users(&self, sha256: &Sha256) -> Result<Vec<(Tenant, Slot)>, RegistryError> {
        Ok(self
            .keys("version.")
            .await?
            .into_iter()
            .filter_map(|key| match key {
                Key::Version {
                    tenant,
                    slot,
                    sha256: used,
                } if used == *sha256 => Some((tenant, slot)),
                _ => None,
            })
            .collect())
    }

    async fn delete_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<(), RegistryError> {
        if self.delete(&Key::version(tenant, slot, sha256)).await? {
            Ok(())
        } else {
            Err(RegistryError::NotFound {
                what: "version",
                name: format!("{tenant}/{slot}@{sha256}"),
            })
        }
    }

    async fn slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
    ) -> Result<Option<(SlotState, u64)>, RegistryError> {
        let key = Key::slot(tenant, slot);
        match self.get(&key).await? {
            Some((bytes, revision)) => Ok(Some((decode(&key, &bytes)?, revision))),
            None => Ok(None),
        }
    }

    async fn put_slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        state: &SlotState,
        expected: Option<u64>,
    ) -> Result<u64, RegistryError> {
        let key = Key::slot(tenant, slot);
        let value = Bytes::from(encode(state)?);
        let conflict = || RegistryError::Conflict {
            what: format!("slot {tenant}/{slot}"),
        };
        match expected {
            None => self.kv.create(&key, value).await.map_err(|err| {
                if err.kind() == kv::CreateErrorKind::AlreadyExists {
                    conflict()
                } else {
                    RegistryError::storage(format!("storing {key}"), err)
                }
            }),
            Some(revision) => self.kv.update(&key, value, revision).await.map_err(|err| {
                if err.kind() == kv::UpdateErrorKind::WrongLastRevision {
                    conflict()
                } else {
                    RegistryError::storage(format!("storing {key}"), err)
                }
            }),
        }
    }

    async fn slots(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, Slot, SlotState)>, RegistryError> {
        let prefix = match tenant {
            Some(tenant) => {
                format!("slot.{tenant}.")
            }
            None => "slot.".to_string(),
        };
        let mut slots = Vec::new();
        for key in self.keys(&prefix).await? {
            if let Key::Slot { tenant, slot } = key
                && let Some((state, _)) = self.slot(&tenant, &slot).await?
            {
                slots.push((tenant, slot, state));
            }
        }
        Ok(slots)
    }

    async fn put_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        route: &serde_json::Value,
    ) -> Result<(), RegistryError> {
        self.put(&Key::route(tenant, name), encode(route)?).await
    }

    async fn delete_route(&self, tenant: &Tenant, name: &RouteName) -> Result<(), RegistryError> {
        if self.delete(&Key::route(tenant, name)).await? {
            Ok(())
        } else {
            Err(RegistryError::NotFound {
                what: "route",
                name: format!("{tenant}/{name}"),
            })
        }
    }

    async fn routes(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, RouteName, serde_json::Value)>, RegistryError> {
        let prefix = match tenant {
            Some(tenant) => {
                format!("route.{tenant}.")
            }
            None => "route.".to_string(),
        };
        let mut routes = Vec::new();
        for key in self.keys(&prefix).await? {
            if let Key::Route { tenant, name } = key {
                let key = Key::route(&tenant, &name);
                if let Some((bytes, _)) = self.get(&key).await? {
                    routes.push((tenant, name, decode(&key, &bytes)?));
                }
            }
        }
        Ok(routes)
    }

    async fn watch(&self) -> Result<BoxStream<'static, Change>, RegistryError> {
        // The consumer exists once `watch_all` returns, so every later change is delivered.
        let entries = self
            .kv
            .watch_all()
            .await
            .map_err(|err| RegistryError::storage("watching the registry", err))?;
        let bucket = self.kv.name.clone();
        Ok(entries
            .take_while(move |entry| {
                if let Err(err) = entry {
                    tracing::warn!(%bucket, error = %err, "the registry watch failed; it ends");
                }
                std::future::ready(entry.is_ok())
            })
            .filter_map(|entry| std::future::ready(entry.ok().and_then(change)))
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_into_their_checked_parts() {
        let sha = Sha256::new(&"a".repeat(64)).expect("sha");
        let acme = Tenant::new("acme").expect("tenant");
        let slot = Slot::new("supplier-856").expect("slot");
        assert_eq!(
            Key::parse(&Key::version(&acme, &slot, &sha)),
            Some(Key::Version {
                tenant: acme.clone(),
                slot: slot.clone(),
                sha256: sha.clone(),
            })
        );
        assert_eq!(
            Key::parse(&Key::slot(&acme, &slot)),
            Some(Key::Slot {
                tenant: acme.clone(),
                slot
            })
        );
        assert_eq!(Key::parse("route.acme._unrouted"), None);
        assert_eq!(Key::parse("version.acme.erp.not-a-sha"), None);
        assert_eq!(Key::parse("slot.acme.erp.extra"), None);
        assert_eq!(Key::parse("other.acme.erp"), None);
    }
}
