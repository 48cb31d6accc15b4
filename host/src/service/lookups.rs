//! Master data as verbs — list, show, load, roll back a tenant's tables — and the one watch that keeps every
//! host's tables in step with the store.
//!
//! Tables live in JetStream ([`crate::bus::lookups`]): a load through any host writes a new version and moves the
//! table's pointer, and every host's watch reads that version into the tenant's live tables, which the next
//! plugin call sees — no restart, and the routes' plugin threads are not rebuilt. A table named in the
//! configuration file seeds the store only when the store has no version of it; otherwise the store's wins, so a
//! load through the API survives a restart (the start logs which).
//!
//! When a table changes, every host replays the tenant's parked dead letters that wait for it
//! ([`parked::wants_replay`]); a second replay of the same letter is dropped as a duplicate, so it does not matter
//! which host comes first. A watch that ends is made again (every second until it can be), and the whole store is
//! read again then, so a change made meanwhile is not missed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};
use tokio::sync::watch;

use super::{Service, ServiceError};
use crate::bus::Connection;
use crate::bus::lookups::{
    ChangeKind, Loaded, LookupStore, Pointer, StoreError, TenantLookups, Update,
};
use crate::config::Config;
use crate::host_api::lookup::{self, CsvError, LiveLookups, Table};
use crate::names::{TableName, Tenant};
use crate::pipeline::{dlq, parked};

/// The largest table a load takes, in bytes of CSV.
pub const MAX_TABLE_BYTES: usize = 16 << 20;

/// A table as the service shows it: its pointer in the store, and the version this host's plugins see.
#[derive(Debug, Clone)]
pub struct TableState {
    /// The table.
    pub table: TableName,
    /// Its current and previous versions, and its last change.
    pub pointer: Pointer,
    /// The version this host's plugin calls see now; `None` when this host has not read the table.
    pub in_use_here: Option<u64>,
}

/// A table and its rows.
#[derive(Debug, Clone)]
pub struct TableRows {
    /// The table.
    pub state: TableState,
    /// The header row's column names.
    pub columns: [String; 2],
    /// The rows asked for, in the table's order.
    pub rows: Vec<(String, String)>,
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    /// Whether a new version was made; `false` when the current version already held these rows.
    pub created: bool,
    /// The table after the load.
    pub state: TableState,
}

impl From<CsvError> for ServiceError {
    fn from(err: CsvError) -> Self {
        ServiceError::invalid(err.code, err.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NoTable(table) => ServiceError::not_found(
                "table_not_found",
                format!("no lookup table {:?}", table.as_str()),
            ),
            StoreError::NothingToRollBack(table) => ServiceError::conflict(
                "nothing_to_roll_back",
                format!(
                    "lookup table {table} has only one version; there is nothing to roll back to"
                ),
            ),
            StoreError::Conflict(_) => ServiceError::conflict("conflict", err.to_string()),
            StoreError::Storage(err) => {
                ServiceError::unavailable(format!("master-data storage: {err:#}"))
            }
        }
    }
}

impl Service {
    /// The tenant's tables on this host, and their store.
    fn tables_of(&self, tenant: &Tenant) -> Result<(&TenantLookups, &LookupStore), ServiceError> {
        self.tenant(tenant)?;
        self.lookups
            .get(tenant)
            .and_then(|tables| Some((tables, tables.store.as_ref()?)))
            .ok_or_else(|| {
                ServiceError::unavailable(format!(
                    "tenant {tenant}'s master data is not open on this host"
                ))
            })
    }

    /// The names of the tenant's tables as this host's plugins see them.
    pub fn lookup_names(&self, tenant: &Tenant) -> Vec<String> {
        self.lookups
            .get(tenant)
            .map(|tables| {
                tables
                    .live
                    .snapshot()
                    .names()
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tenant's tables, by name, as the store has them.
    pub async fn lookup_tables(&self, tenant: &Tenant) -> Result<Vec<TableState>, ServiceError> {
        let (tables, store) = self.tables_of(tenant)?;
        let snapshot = tables.live.snapshot();
        Ok(store
            .pointers()
            .await?
            .into_iter()
            .map(|(table, pointer, _)| TableState {
                in_use_here: snapshot.get(&table).map(Table::version),
                table,
                pointer,
            })
            .collect())
    }

    /// One table and its rows, as its current version in the store holds them; with `key`, that row only (a
    /// 404 naming the key when the table has none).
    pub async fn lookup_table(
        &self,
        tenant: &Tenant,
        table: &str,
        key: Option<&str>,
    ) -> Result<TableRows, ServiceError> {
        let (tables, store) = self.tables_of(tenant)?;
        let table = TableName::new(table)?;
        let Some((pointer, revision)) = store.pointer(&table).await? else {
            let known = store.pointers().await?;
            let known: Vec<&str> = known.iter().map(|(t, _, _)| t.as_str()).collect();
            return Err(ServiceError::not_found(
                "table_not_found",
                format!(
                    "tenant {tenant} has no lookup table {:?} (it has: {}); load one with PUT /v1/tenants/{tenant}/lookups/{table}",
                    table.as_str(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let read = store.read(&table, &pointer.current, revision).await?;
        let rows = match key {
            None => read.rows().to_vec(),
            Some(key) => match read.get(key) {
                Some(value) => vec![(key.to_string(), value.to_string())],
                None => {
                    return Err(ServiceError::not_found(
                        "key_not_found",
                        format!(
                            "lookup table {table} (version {}) has no key {key:?}",
                            pointer.current.version
                        ),
                    ));
                }
            },
        };
        Ok(TableRows {
            columns: read.columns().clone(),
            rows,
            state: self.state(tables, table, pointer),
        })
    }

    /// Replaces table `table` of `tenant` with the CSV `body` (a header row, then `key,value` rows) as a new
    /// version, keeping the one before for a rollback. Checked whole first: a body that is refused changes
    /// nothing. This host uses the new version before answering; every other host within moments, through its
    /// watch.
    pub async fn load_lookup(
        &self,
        tenant: &Tenant,
        table: &str,
        body: &[u8],
        by: &str,
    ) -> Result<LoadedTable, ServiceError> {
        let (tables, store) = self.tables_of(tenant)?;
        let table = TableName::new(table)?;
        if body.len() > MAX_TABLE_BYTES {
            return Err(too_large(body.len()));
        }
        let quota = self.tenant(tenant)?.quotas.lookup_bytes;
        if body.len() > quota {
            return Err(ServiceError::new(
                super::ErrorKind::TooLarge,
                "over_quota",
                format!(
                    "the table is {} bytes, over tenant {tenant}'s quota of {} MiB (quotas.lookup_size_mb)",
                    body.len(),
                    quota >> 20
                ),
            ));
        }
        let rows = Table::parse(body)?;
        match store
            .load(&table, &rows, ChangeKind::Load, Some(by))
            .await?
        {
            Loaded::Changed { pointer, revision } => {
                tracing::info!(%tenant, %table, version = pointer.current.version, rows = pointer.current.rows, by, "lookup table loaded");
                self.use_here(tenant, tables, &table, &pointer, revision)
                    .await;
                Ok(LoadedTable {
                    created: true,
                    state: self.state(tables, table, pointer),
                })
            }
            Loaded::Unchanged { pointer } => Ok(LoadedTable {
                created: false,
                state: self.state(tables, table, pointer),
            }),
        }
    }

    /// Makes the previous version of table `table` current again; the version it replaces becomes the previous
    /// one, so a second rollback goes forward again.
    pub async fn rollback_lookup(
        &self,
        tenant: &Tenant,
        table: &str,
        by: &str,
    ) -> Result<TableState, ServiceError> {
        let (tables, store) = self.tables_of(tenant)?;
        let table = TableName::new(table)?;
        let (pointer, revision) = store.rollback(&table, Some(by)).await?;
        tracing::info!(%tenant, %table, version = pointer.current.version, by, "lookup table rolled back");
        self.use_here(tenant, tables, &table, &pointer, revision)
            .await;
        Ok(self.state(tables, table, pointer))
    }

    fn state(&self, tables: &TenantLookups, table: TableName, pointer: Pointer) -> TableState {
        TableState {
            in_use_here: tables.live.snapshot().get(&table).map(Table::version),
            table,
            pointer,
        }
    }

    /// Reads a change made here into this host's tables at once (its watch would, moments later) and replays
    /// the parked dead letters waiting for it; when the watch came first, it did both.
    async fn use_here(
        &self,
        tenant: &Tenant,
        tables: &TenantLookups,
        table: &TableName,
        pointer: &Pointer,
        revision: u64,
    ) {
        match tables.follow(table, pointer, revision).await {
            Ok(true) => {
                in_use(tenant, table, pointer);
                tokio::spawn(replay_parked(
                    self.bus.clone(),
                    tenant.clone(),
                    tables.live.clone(),
                    true,
                ));
            }
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(%tenant, %table, "reading the new version on this host: {err:#}; the watch tries again");
            }
        }
    }
}

fn too_large(size: usize) -> ServiceError {
    ServiceError::new(
        super::ErrorKind::TooLarge,
        "too_large",
        format!(
            "the table is {size} bytes; a lookup table is at most {MAX_TABLE_BYTES} bytes of CSV"
        ),
    )
}

fn in_use(tenant: &Tenant, table: &TableName, pointer: &Pointer) {
    tracing::info!(%tenant, %table, version = pointer.current.version, rows = pointer.current.rows, change = ?pointer.change, "lookup table in use: version {}", pointer.current.version);
}

/// The tenants' tables as the service starts, and the watches that keep them current.
pub(super) struct Started {
    /// Every tenant's tables, read from its store.
    pub(super) tables: HashMap<Tenant, TenantLookups>,
    /// A watch of every tenant's pointers, opened before the tables were read.
    pub(super) watches: Vec<(Tenant, BoxStream<'static, Update>)>,
}

/// Opens every tenant's store, seeds it from the configuration's files where it has no version of a table (and
/// logs which wins), watches it, and reads every table. A file that is not a table stops the start, naming its
/// line.
pub(super) async fn start(bus: &Connection, config: &Config) -> Result<Started> {
    let mut started = Started {
        tables: HashMap::new(),
        watches: Vec::new(),
    };
    for tenant in &config.tenants {
        let name = &tenant.name;
        let store = LookupStore::open(&bus.js, name)
            .await
            .with_context(|| format!("opening tenant {name}'s master data on JetStream"))?;
        for (table, file) in &tenant.lookups {
            let table_name = TableName::new(table).with_context(|| {
                format!("{}: tenant {name}'s lookup table", config.path.display())
            })?;
            let rows = lookup::read_csv(table, file).with_context(|| format!("tenant {name}"))?;
            seed(&store, &table_name, &rows, file).await?;
        }
        // Watch first, then read: a change made in between is seen twice rather than missed.
        let watch = store.watch().await?;
        let tables = TenantLookups {
            live: LiveLookups::default(),
            store: Some(store),
        };
        resync(name, &tables).await?;
        started.watches.push((name.clone(), watch));
        started.tables.insert(name.clone(), tables);
    }
    Ok(started)
}

/// Seeds `table` from the configuration's `file` when the store has no version of it.
async fn seed(
    store: &LookupStore,
    table: &TableName,
    rows: &Table,
    file: &std::path::Path,
) -> Result<()> {
    let tenant = store.tenant();
    let by = format!("config {}", file.display());
    match store
        .load(table, rows, ChangeKind::Seed, Some(&by))
        .await
        .map_err(|err| anyhow::anyhow!("seeding tenant {tenant}'s lookup table {table}: {err:#}"))?
    {
        Loaded::Changed { pointer, .. } => {
            tracing::info!(%tenant, %table, version = pointer.current.version, rows = pointer.current.rows, "lookup table seeded from {}: the store had none", file.display());
        }
        Loaded::Unchanged { pointer } => {
            let current = &pointer.current;
            let same = current.sha256
                == hex::encode(<sha2::Sha256 as sha2::Digest>::digest(rows.to_csv()));
            tracing::info!(
                %tenant, %table, version = current.version,
                "lookup table: the store's version {} is used{} (loaded at {} by {}), not {} (a file seeds a table only while the store has none; `millwright lookup load` loads it)",
                current.version,
                if same { ", which holds the same rows as the file" } else { "" },
                current.loaded_at,
                current.loaded_by.as_deref().unwrap_or("unknown"),
                file.display()
            );
        }
    }
    Ok(())
}

/// Brings a tenant's live tables in line with its whole store; whether any table changed. A table whose
/// version cannot be read is left as it is, with an error in the log.
async fn resync(tenant: &Tenant, tables: &TenantLookups) -> Result<bool> {
    let Some(store) = &tables.store else {
        return Ok(false);
    };
    let stored = store.pointers().await?;
    let mut changed = false;
    for (table, pointer, revision) in &stored {
        match tables.follow(table, pointer, *revision).await {
            Ok(true) => {
                in_use(tenant, table, pointer);
                changed = true;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::error!(%tenant, %table, "reading the table's version {}: {err:#}; this host keeps the one it has", pointer.current.version);
            }
        }
    }
    let kept: BTreeSet<&str> = stored.iter().map(|(t, _, _)| t.as_str()).collect();
    let held = tables.live.snapshot();
    for name in held.names() {
        if !kept.contains(name) && tables.live.remove(name, u64::MAX) {
            tracing::warn!(%tenant, table = name, "lookup table removed from the store; no longer in use");
            changed = true;
        }
    }
    Ok(changed)
}

/// What the follower sees: a change of a tenant's tables, or the end of its watch.
enum Seen {
    Update(Tenant, Box<Update>),
    Ended(Tenant),
}

fn tagged(tenant: Tenant, watch: BoxStream<'static, Update>) -> BoxStream<'static, Seen> {
    let ended = tenant.clone();
    watch
        .map(move |update| Seen::Update(tenant.clone(), Box::new(update)))
        .chain(futures::stream::once(async move { Seen::Ended(ended) }))
        .boxed()
}

/// Follows every tenant's tables until `stop` turns true: each change is read into the live tables and replays
/// the parked dead letters waiting for it. First replays the letters whose tables moved on while no host
/// watched (a host that stopped between a change and its replays).
pub(super) async fn follow(
    service: Arc<Service>,
    watches: Vec<(Tenant, BoxStream<'static, Update>)>,
    mut stop: watch::Receiver<bool>,
) {
    for (tenant, tables) in &service.lookups {
        tokio::spawn(replay_parked(
            service.bus.clone(),
            tenant.clone(),
            tables.live.clone(),
            false,
        ));
    }
    let mut all: SelectAll<BoxStream<'static, Seen>> = futures::stream::select_all(
        watches
            .into_iter()
            .map(|(tenant, watch)| tagged(tenant, watch)),
    );
    loop {
        tokio::select! {
            // Dropping a pending `next` loses nothing: every change is in the store, and a new watch re-reads it.
            seen = all.next() => match seen {
                Some(Seen::Update(tenant, update)) => {
                    let Some(tables) = service.lookups.get(&tenant) else { continue };
                    match tables.apply(&update).await {
                        Ok(true) => {
                            if let Some(pointer) = &update.pointer {
                                in_use(&tenant, &update.table, pointer);
                            }
                            tokio::spawn(replay_parked(service.bus.clone(), tenant, tables.live.clone(), true));
                        }
                        Ok(false) => {}
                        Err(err) => {
                            tracing::error!(%tenant, table = %update.table, "reading the table's new version: {err:#}; this host keeps the one it has until the table changes again");
                        }
                    }
                }
                Some(Seen::Ended(tenant)) => {
                    tracing::warn!(%tenant, "the master-data watch ended; watching it again");
                    match rewatch(&service, &tenant, &mut stop).await {
                        Some(watch) => all.push(tagged(tenant, watch)),
                        None => return,
                    }
                }
                None => {
                    // No tenant: nothing to follow.
                    let _ = stop.changed().await;
                    return;
                }
            },
            _ = stop.changed() => return,
        }
    }
}

/// A new watch of the tenant's tables once it can be had (retrying every second), after which the whole store
/// is read again; `None` when `stop` turns true first.
async fn rewatch(
    service: &Arc<Service>,
    tenant: &Tenant,
    stop: &mut watch::Receiver<bool>,
) -> Option<BoxStream<'static, Update>> {
    let tables = service.lookups.get(tenant)?;
    let store = tables.store.as_ref()?;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return None,
        }
        let watch = match store.watch().await {
            Ok(watch) => watch,
            Err(err) => {
                tracing::warn!(%tenant, "watching the master data: {err:#}; retrying");
                continue;
            }
        };
        match resync(tenant, tables).await {
            Ok(changed) => {
                if changed {
                    tokio::spawn(replay_parked(
                        service.bus.clone(),
                        tenant.clone(),
                        tables.live.clone(),
                        true,
                    ));
                }
                return Some(watch);
            }
            Err(err) => tracing::warn!(%tenant, "reading the master data again: {err:#}; retrying"),
        }
    }
}

/// Replays the tenant's parked dead letters that wait for a table now at another version than their call saw
/// (and, after a change (`changed`), those that name no table). Every host does this on every change; a letter
/// another host replayed first is not found, or its second replay dropped as a duplicate.
async fn replay_parked(bus: Connection, tenant: Tenant, live: LiveLookups, changed: bool) {
    let letters = match dlq::list(&bus.js, &tenant, None).await {
        Ok(letters) => letters,
        Err(err) => {
            tracing::warn!(%tenant, "looking for parked dead letters to replay: {err:#}");
            return;
        }
    };
    let tables = live.snapshot();
    let current = |name: &str| tables.get(name).map(Table::version);
    for letter in letters.iter().filter(|l| l.parked) {
        if !parked::wants_replay(&letter.parked_tables, current, changed) {
            continue;
        }
        let Some(sequence) = letter.id.rsplit('/').next().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let waits = if letter.parked_tables.is_empty() {
            "no table named".to_string()
        } else {
            parked::tables_header(&letter.parked_tables)
        };
        match dlq::replay(&bus, &tenant, sequence).await {
            dlq::ReplayOutcome::Replayed { id, subject, .. } => {
                tracing::info!(%tenant, dead_letter = %id, route = %letter.route, "replayed the parked dead letter to {subject}: the master data it waits for ({waits}) changed");
            }
            // Another host replayed it first.
            dlq::ReplayOutcome::NotFound { .. } => {}
            dlq::ReplayOutcome::Failed { id, error } => {
                tracing::warn!(%tenant, dead_letter = %id, "replaying the parked dead letter after its master data changed: {error}");
            }
        }
    }
}
