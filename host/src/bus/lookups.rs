//! A tenant's master-data tables in JetStream, shared by every host of a fleet.
//!
//! Two buckets per tenant. The Object Store bucket `MW_<tenant>_LOOKUP_VERSIONS` holds whole versions, one object
//! per version named `<table>/<version>-<sha256>`: the table as normalised CSV ([`Table::to_csv`]), whose sha256
//! it is (an object holds any size, where a KV value holds at most 1 MiB). The KV bucket `MW_<tenant>_LOOKUPS`
//! holds one key per table, its [`Pointer`]: the current version and the previous one, each with its sha256, row
//! count, and when and by whom it was loaded. Every host watches the KV bucket.
//!
//! A load writes the version's object first and then moves the pointer with compare-and-set on the key's
//! revision, so a reader follows a pointer only to a version that is whole, and sees the old table or the new,
//! never a mix; two loads at once cannot both win (the loser reads the pointer again and goes after the winner).
//! A rollback swaps current and previous the same way. Only the current and previous versions are kept: once
//! the pointer moved, the objects of older versions are deleted ([`obsolete`]).

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use async_nats::jetstream::kv::{self, Operation};
use async_nats::jetstream::{self, object_store, stream::StorageType};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::host_api::lookup::{LiveLookups, Table};
use crate::names::{TableName, Tenant};

/// How often a load tries again when another load moved the pointer between its read and its write.
const LOAD_ATTEMPTS: usize = 5;

/// `MW_<tenant>_LOOKUPS`: the tables' pointers.
pub fn pointer_bucket(tenant: &str) -> String {
    format!("MW_{tenant}_LOOKUPS")
}

/// `MW_<tenant>_LOOKUP_VERSIONS`: the tables' versions.
pub fn version_bucket(tenant: &str) -> String {
    format!("MW_{tenant}_LOOKUP_VERSIONS")
}

/// One stored version of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Counts from 1 per table; a load takes the next number after every version the pointer names.
    pub version: u64,
    /// The sha256 of the version's normalised CSV, lowercase hex.
    pub sha256: String,
    /// How many rows.
    pub rows: usize,
    /// When it was loaded.
    pub loaded_at: jiff::Timestamp,
    /// Who loaded it: `platform-admin`, `config <file>`.
    pub loaded_by: Option<String>,
}

impl VersionInfo {
    /// The version's object in the tenant's version bucket: `<table>/<version>-<sha256>`.
    pub fn object(&self, table: &str) -> String {
        format!("{table}/{}-{}", self.version, self.sha256)
    }
}

/// What last moved a pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// The configuration file's table, into a store that had none.
    Seed,
    /// A load through the admin API.
    Load,
    /// Back to the previous version.
    Rollback,
}

/// A table's pointer: what every host serves, and what a rollback goes back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    /// The version in use.
    pub current: VersionInfo,
    /// The version before it, kept for a rollback.
    pub previous: Option<VersionInfo>,
    /// What moved the pointer last.
    pub change: ChangeKind,
    /// When.
    pub changed_at: jiff::Timestamp,
    /// By whom.
    pub changed_by: Option<String>,
}

impl Pointer {
    /// The highest version number the pointer names: the next load takes the one after.
    fn highest(&self) -> u64 {
        self.current
            .version
            .max(self.previous.as_ref().map_or(0, |p| p.version))
    }
}

/// Whether object `name` of the version bucket is an older version of `table` than `pointer` keeps: one whose
/// number is at most the highest the pointer names and that is neither its current nor its previous version. A
/// higher number is a load still on its way to the pointer, and is left alone.
pub fn obsolete(name: &str, table: &str, pointer: &Pointer) -> bool {
    let Some((version, sha256)) = name
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    let Ok(version) = version.parse::<u64>() else {
        return false;
    };
    let kept = |info: &VersionInfo| info.version == version && info.sha256 == sha256;
    version <= pointer.highest()
        && !kept(&pointer.current)
        && !pointer.previous.as_ref().is_some_and(kept)
}

/// Why a change of the store did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant has no such table.
    #[error("no table {0}")]
    NoTable(TableName),
    /// The table has no previous version to go back to.
    #[error("table {0} has no previous version")]
    NothingToRollBack(TableName),
    /// Another change moved the pointer first, every time this one tried.
    #[error("table {0} was changed by another request at the same time; try again")]
    Conflict(TableName),
    /// JetStream could not be read or written.
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

/// What a load did.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// A new version, now current.
    Changed {
        /// The pointer as moved.
        pointer: Pointer,
        /// Its revision.
        revision: u64,
    },
    /// The current version already holds exactly these rows; nothing was written.
    Unchanged {
        /// The pointer as it is.
        pointer: Pointer,
    },
}

/// A change of one table's pointer, as a watch delivers it.
#[derive(Debug, Clone)]
pub struct Update {
    /// The table.
    pub table: TableName,
    /// The pointer and its revision; `None` when the key was deleted (by hand: the host never deletes one).
    pub pointer: Option<Pointer>,
    /// The key's revision.
    pub revision: u64,
}

/// A tenant's two lookup buckets.
#[derive(Clone)]
pub struct LookupStore {
    tenant: Tenant,
    kv: kv::Store,
    objects: object_store::ObjectStore,
}

impl std::fmt::Debug for LookupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupStore")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl LookupStore {
    /// Opens the tenant's buckets, creating them when missing (several hosts may do so at once).
    pub async fn open(js: &jetstream::Context, tenant: &Tenant) -> Result<Self> {
        let pointers = pointer_bucket(tenant);
        let kv = crate::bus::buckets::key_value(
            js,
            &crate::bus::buckets::Bucket {
                name: &pointers,
                description: &format!(
                    "tenant {tenant}'s master-data tables: which version is in use"
                ),
                max_age: Duration::ZERO,
                replicas: 1,
            },
        )
        .await?;
        let name = version_bucket(tenant);
        let objects = match js.get_object_store(&name).await {
            Ok(objects) => objects,
            Err(_) => {
                let created = js
                    .create_object_store(object_store::Config {
                        bucket: name.clone(),
                        description: Some(format!(
                            "Millwright: tenant {tenant}'s master-data tables, current and previous versions"
                        )),
                        storage: StorageType::File,
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(objects) => objects,
                    // Another host made it meanwhile.
                    Err(err) => js
                        .get_object_store(&name)
                        .await
                        .map_err(|_| anyhow!("creating the Object Store bucket {name}: {err}"))?,
                }
            }
        };
        Ok(Self {
            tenant: tenant.clone(),
            kv,
            objects,
        })
    }

    /// The tenant.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// Table `table`'s pointer and its revision; `None` when the store has no such table.
    pub async fn pointer(&self, table: &TableName) -> Result<Option<(Pointer, u64)>> {
        let entry = self
            .kv
            .entry(table.as_str())
            .await
            .with_context(|| format!("reading {}/{table}", self.kv.name))?;
        match entry.filter(|e| e.operation == Operation::Put) {
            Some(entry) => Ok(Some((decode(&entry)?, entry.revision))),
            None => Ok(None),
        }
    }

    /// Every table's pointer and revision, by name. A key that is not a table's name is skipped.
    pub async fn pointers(&self) -> Result<Vec<(TableName, Pointer, u64)>> {
        let keys: Vec<String> = self
            .kv
            .keys()
            .await
            .with_context(|| format!("listing {}", self.kv.name))?
            .try_collect()
            .await
            .with_context(|| format!("listing {}", self.kv.name))?;
        let mut out = Vec::new();
        for key in keys {
            let Ok(table) = TableName::new(&key) else {
                continue;
            };
            if let Some((pointer, revision)) = self.pointer(&table).await? {
                out.push((table, pointer, revision));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Reads version `info` of `table` back, checking it is the one stored, as the table of pointer revision
    /// `revision`.
    pub async fn read(
        &self,
        table: &TableName,
        info: &VersionInfo,
        revision: u64,
    ) -> Result<Table> {
        let name = info.object(table);
        let mut object = self.objects.get(&name).await.with_context(|| {
            format!(
                "reading version {} of table {table} ({}/{name})",
                info.version,
                version_bucket(&self.tenant)
            )
        })?;
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .with_context(|| format!("reading {name}"))?;
        if hex::encode(Sha256::digest(&bytes)) != info.sha256 {
            anyhow::bail!(
                "{}/{name} is not the version stored: its sha256 differs",
                version_bucket(&self.tenant)
            );
        }
        let table = Table::parse(&bytes).map_err(|err| {
            anyhow!(
                "{}/{name} is not a table: {err}",
                version_bucket(&self.tenant)
            )
        })?;
        Ok(table.stamped(info.version, revision))
    }

    /// Replaces `table` with `rows` as a new version, unless the current version holds the same rows: writes the
    /// version, then moves the pointer (compare-and-set), then deletes versions older than the two it keeps.
    pub async fn load(
        &self,
        table: &TableName,
        rows: &Table,
        change: ChangeKind,
        by: Option<&str>,
    ) -> Result<Loaded, StoreError> {
        let csv = rows.to_csv();
        let sha256 = hex::encode(Sha256::digest(&csv));
        for _ in 0..LOAD_ATTEMPTS {
            let held = self.pointer(table).await?;
            if let Some((pointer, _)) = &held
                && pointer.current.sha256 == sha256
            {
                return Ok(Loaded::Unchanged {
                    pointer: pointer.clone(),
                });
            }
            if change == ChangeKind::Seed
                && let Some((pointer, _)) = held
            {
                return Ok(Loaded::Unchanged { pointer });
            }
            let now = jiff::Timestamp::now();
            let info = VersionInfo {
                version: held.as_ref().map_or(0, |(p, _)| p.highest()) + 1,
                sha256: sha256.clone(),
                rows: rows.len(),
                loaded_at: now,
                loaded_by: by.map(str::to_string),
            };
            let name = info.object(table);
            self.objects
                .put(name.as_str(), &mut csv.as_slice())
                .await
                .with_context(|| format!("storing {}/{name}", version_bucket(&self.tenant)))?;
            let (previous, expected) = match held {
                Some((pointer, revision)) => (Some(pointer.current), Some(revision)),
                None => (None, None),
            };
            let pointer = Pointer {
                current: info,
                previous,
                change,
                changed_at: now,
                changed_by: by.map(str::to_string),
            };
            match self.swap(table, &pointer, expected).await? {
                Some(revision) => {
                    self.prune(table, &pointer).await;
                    return Ok(Loaded::Changed { pointer, revision });
                }
                // Another load won: read its pointer and go after it. This version's object is left for the
                // next prune (its number is taken by the winner's, so it counts as older).
                None => continue,
            }
        }
        Err(StoreError::Conflict(table.clone()))
    }

    /// Makes the previous version of `table` current again (and the current one previous).
    pub async fn rollback(
        &self,
        table: &TableName,
        by: Option<&str>,
    ) -> Result<(Pointer, u64), StoreError> {
        let Some((held, revision)) = self.pointer(table).await? else {
            return Err(StoreError::NoTable(table.clone()));
        };
        let Some(previous) = held.previous.clone() else {
            return Err(StoreError::NothingToRollBack(table.clone()));
        };
        // Checked before the pointer moves: a pointer to a version whose rows are gone would leave every host
        // on the old table with errors in its log.
        self.objects
            .info(previous.object(table))
            .await
            .with_context(|| {
                format!(
                    "version {} of table {table} is no longer in {}",
                    previous.version,
                    version_bucket(&self.tenant)
                )
            })?;
        let now = jiff::Timestamp::now();
        let pointer = Pointer {
            current: previous,
            previous: Some(held.current),
            change: ChangeKind::Rollback,
            changed_at: now,
            changed_by: by.map(str::to_string),
        };
        match self.swap(table, &pointer, Some(revision)).await? {
            Some(revision) => Ok((pointer, revision)),
            None => Err(StoreError::Conflict(table.clone())),
        }
    }

    /// Moves the pointer if its revision is still `expected` (`None`: if there is none yet); the new revision,
    /// or `None` when another change came first.
    async fn swap(
        &self,
        table: &TableName,
        pointer: &Pointer,
        expected: Option<u64>,
    ) -> Result<Option<u64>> {
        let value = Bytes::from(serde_json::to_vec(pointer).context("encoding a pointer")?);
        let failed =
            |err: &dyn std::fmt::Display| anyhow!("storing {}/{table}: {err}", self.kv.name);
        Ok(match expected {
            None => match self.kv.create(table.as_str(), value).await {
                Ok(revision) => Some(revision),
                Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => None,
                Err(err) => return Err(failed(&err)),
            },
            Some(revision) => match self.kv.update(table.as_str(), value, revision).await {
                Ok(revision) => Some(revision),
                Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => None,
                Err(err) => return Err(failed(&err)),
            },
        })
    }

    /// Deletes the objects of `table`'s versions older than the two `pointer` keeps. A failure only leaves an
    /// object behind, for the next prune.
    async fn prune(&self, table: &TableName, pointer: &Pointer) {
        let listed: Result<Vec<object_store::ObjectInfo>> =
            async { Ok(self.objects.list().await?.try_collect::<Vec<_>>().await?) }.await;
        let objects = match listed {
            Ok(objects) => objects,
            Err(err) => {
                tracing::warn!(tenant = %self.tenant, %table, "listing the table's versions to delete older ones: {err:#}");
                return;
            }
        };
        for object in objects {
            if object.deleted || !obsolete(&object.name, table, pointer) {
                continue;
            }
            if let Err(err) = self.objects.delete(&object.name).await {
                tracing::warn!(tenant = %self.tenant, %table, "deleting the old version {}: {err}", object.name);
            }
        }
    }

    /// Every change of every table's pointer from now on, until the watch fails (then the stream ends).
    pub async fn watch(&self) -> Result<BoxStream<'static, Update>> {
        // The consumer exists once `watch_all` returns, so every later change is delivered.
        let entries = self
            .kv
            .watch_all()
            .await
            .with_context(|| format!("watching {}", self.kv.name))?;
        let bucket = self.kv.name.clone();
        Ok(entries
            .take_while(move |entry| {
                if let Err(err) = entry {
                    tracing::warn!(%bucket, error = %err, "the master-data watch failed; it ends");
                }
                std::future::ready(entry.is_ok())
            })
            .filter_map(|entry| std::future::ready(entry.ok().and_then(update)))
            .boxed())
    }
}

fn decode(entry: &kv::Entry) -> Result<Pointer> {
    serde_json::from_slice(&entry.value)
        .with_context(|| format!("reading the pointer {}/{}", entry.bucket, entry.key))
}

/// The change a KV entry stands for; `None` for a key that is no table's name or a value that is no pointer.
fn update(entry: kv::Entry) -> Option<Update> {
    let table = TableName::new(&entry.key).ok()?;
    let pointer = match entry.operation {
        Operation::Put => match decode(&entry) {
            Ok(pointer) => Some(pointer),
            Err(err) => {
                tracing::warn!(bucket = %entry.bucket, key = %entry.key, "skipping an unreadable pointer: {err:#}");
                return None;
            }
        },
        Operation::Delete | Operation::Purge => None,
    };
    Some(Update {
        table,
        pointer,
        revision: entry.revision,
    })
}

/// A tenant's tables on this host: the live tables its routes' plugins read, and the store they come from.
#[derive(Debug, Clone, Default)]
pub struct TenantLookups {
    /// What the plugins see.
    pub live: LiveLookups,
    /// Where the tables are kept; `None` for tables that are only in memory.
    pub store: Option<LookupStore>,
}

impl TenantLookups {
    /// Puts the version `pointer` names into the live tables, unless they already hold that change or a later
    /// one; whether they changed.
    pub async fn follow(
        &self,
        table: &TableName,
        pointer: &Pointer,
        revision: u64,
    ) -> Result<bool> {
        if self
            .live
            .snapshot()
            .get(table)
            .is_some_and(|held| held.revision() >= revision)
        {
            return Ok(false);
        }
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let rows = store.read(table, &pointer.current, revision).await?;
        Ok(self.live.apply(table, rows))
    }

    /// Applies a watched change to the live tables; whether they changed.
    pub async fn apply(&self, update: &Update) -> Result<bool> {
        match &update.pointer {
            Some(pointer) => self.follow(&update.table, pointer, update.revision).await,
            None => Ok(self.live.remove(&update.table, update.revision)),
        }
    }

    /// Reads `table`'s pointer from the store and follows it: the version in use on this host is then at least
    /// the store's current one. The store's current version, `None` when it has no such table.
    pub async fn refresh(&self, table: &TableName) -> Result<Option<u64>> {
        let Some(store) = &self.store else {
            return Ok(self.live.snapshot().get(table).map(Table::version));
        };
        match store.pointer(table).await? {
            Some((pointer, revision)) => {
                self.follow(table, &pointer, revision).await?;
                Ok(Some(pointer.current.version))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: u64, sha: char) -> VersionInfo {
        VersionInfo {
            version,
            sha256: sha.to_string().repeat(64),
            rows: 1,
            loaded_at: jiff::Timestamp::UNIX_EPOCH,
            loaded_by: None,
        }
    }

    #[test]
    fn only_versions_older_than_the_two_kept_are_obsolete() {
        let pointer = Pointer {
            current: info(4, 'a'),
            previous: Some(info(5, 'b')),
            change: ChangeKind::Rollback,
            changed_at: jiff::Timestamp::UNIX_EPOCH,
            changed_by: None,
        };
        let name = |v: u64, sha: char| info(v, sha).object("units");
        assert_eq!(name(4, 'a'), format!("units/4-{}", "a".repeat(64)));
        assert!(!obsolete(&name(4, 'a'), "units", &pointer), "current");
        assert!(!obsolete(&name(5, 'b'), "units", &pointer), "previous");
        assert!(obsolete(&name(3, 'c'), "units", &pointer));
        assert!(
            obsolete(&name(5, 'c'), "units", &pointer),
            "a load that lost the race for version 5"
        );
        assert!(
            !obsolete(&name(6, 'c'), "units", &pointer),
            "a load on its way to the pointer"
        );
        assert!(
            !obsolete(&name(3, 'c'), "items", &pointer),
            "another table's"
        );
        assert!(!obsolete("units-old/3-x", "units", &pointer));
        assert!(!obsolete("units/x-y", "units", &pointer));
    }

    #[test]
    fn a_pointer_reads_back_from_its_json() {
        let pointer = Pointer {
            current: info(2, 'a'),
            previous: Some(info(1, 'b')),
            change: ChangeKind::Load,
            changed_at: jiff::Timestamp::UNIX_EPOCH,
            changed_by: Some("platform-admin".into()),
        };
        let json = serde_json::to_value(&pointer).expect("JSON");
        assert_eq!(json["change"], "load");
        assert_eq!(json["current"]["version"], 2);
        let back: Pointer = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, pointer);
        assert_eq!(back.highest(), 2);
    }
}
