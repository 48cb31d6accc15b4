//! The registry in a local directory: one machine, no NATS needed for the plugin store.
//!
//! The root is opened once as a cap-std [`Dir`] and every read and write goes through it, so no path can leave
//! the root: not a name (they are checked before any I/O), not `..`, not a symlink planted inside. The layout:
//!
//! ```text
//! artifacts/<sha256>.wasm
//! versions/<tenant>/<slot>/<sha256>.json     a VersionMeta
//! slots/<tenant>/<slot>.json                 a SlotState with its revision
//! routes/<tenant>/<name>.json                the route as given
//! ```
//!
//! A file is written under a temporary name starting with `.` (which no checked name does, so listings skip
//! it), synced, then renamed over the old one, so a reader or a crash sees the old file or the new one, never
//! a torn one. All file I/O runs on tokio's blocking pool (`spawn_blocking`): artifacts are megabytes, and a
//! slow disk must not stall the route workers. Compare-and-set on slots holds one process-wide lock around
//! read, compare and write, taken on the blocking thread, never across an `.await`; so one directory serves
//! one host process. Watchers hear about changes made through this [`DirBackend`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use bytes::Bytes;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{Backend, Change, RegistryError, SlotState, VersionMeta};
use crate::names::{NameError, RouteName, Sha256, Slot, Tenant};

/// Serializes every slot compare-and-set in the process, whichever `DirBackend` it goes through.
static SLOT_WRITES: Mutex<()> = Mutex::new(());

/// Changes a watcher may fall behind by before its stream ends.
const WATCH_BUFFER: usize = 1024;

/// A registry directory.
pub struct DirBackend {
    root: Arc<Dir>,
    path: PathBuf,
    changes: broadcast::Sender<Change>,
}

impl std::fmt::Debug for DirBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A slot file: the state and the revision compare-and-set checks.
#[derive(Serialize, Deserialize)]
struct SlotFile {
    revision: u64,
    #[serde(flatten)]
    state: SlotState,
}

impl DirBackend {
    /// Opens the registry at `path`, creating it if missing. The only use of ambient authority: everything after
    /// goes through the opened directory.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        Dir::create_ambient_dir_all(path, ambient_authority())
            .with_context(|| format!("creating the plugin registry {}", path.display()))?;
        let root = Dir::open_ambient_dir(path, ambient_authority())
            .with_context(|| format!("opening the plugin registry {}", path.display()))?;
        for sub in ["artifacts", "versions", "slots", "routes"] {
            root.create_dir_all(sub).with_context(|| {
                format!("creating {sub} in the plugin registry {}", path.display())
            })?;
        }
        let (changes, _) = broadcast::channel(WATCH_BUFFER);
        Ok(Self {
            root: Arc::new(root),
            path: path.to_path_buf(),
            changes,
        })
    }

    /// Runs `work` on the blocking pool with the root directory.
    async fn io<T, F>(&self, doing: String, work: F) -> Result<T, RegistryError>
    where
        T: Send + 'static,
        F: FnOnce(&Dir) -> Result<T, RegistryError> + Send + 'static,
    {
        let root = Arc::clone(&self.root);
        let registry = self.path.display().to_string();
        tokio::task::spawn_blocking(move || work(&root))
            .await
            .map_err(|err| RegistryError::storage(format!("{doing} in {registry}"), err))?
            .map_err(|err| match err {
                RegistryError::Storage(err) => {
                    RegistryError::Storage(err.context(format!("{doing} in {registry}")))
                }
                other => other,
            })
    }

    fn announce(&self, change: Change) {
        // No receiver is not an error: nobody is watching.
        let _ = self.changes.send(change);
    }
}

fn storage(err: io::Error) -> RegistryError {
    RegistryError::Storage(err.into())
}

/// Writes `bytes` to `dir/name` atomically: a temporary file in the same directory, synced, renamed over the
/// target, then the directory synced so the rename survives a power cut.
fn write_atomic(root: &Dir, dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    root.create_dir_all(dir)?;
    let parent = root.open_dir(dir)?;
    let temporary = format!(
        ".{name}.{}.{}.partial",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    );
    let written = (|| {
        let mut file = parent.create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        parent.rename(&temporary, &parent, name)
    })();
    if let Err(err) = written {
        let _ = parent.remove_file(&temporary);
        return Err(err);
    }
    // The directory handle cap-std opened is path-only and cannot be synced; a read handle to it can.
    parent.open(".")?.sync_all()
}

/// The file's bytes, or `None` if it does not exist.
fn read_optional(root: &Dir, path: &Path) -> io::Result<Option<Vec<u8>>> {
    match root.read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Removes a file; `false` if it was not there.
fn remove_optional(root: &Dir, path: &Path) -> io::Result<bool> {
    match root.remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// The entries of `dir` — subdirectories if `suffix` is empty, else files ending in `suffix` — whose names (the
/// suffix taken off) `parse` accepts; temporary files and anything else are skipped. A missing directory has
/// none.
fn list_names<T>(
    root: &Dir,
    dir: &Path,
    suffix: &str,
    parse: fn(&str) -> Result<T, NameError>,
) -> io::Result<Vec<T>> {
    let entries = match root.read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() != suffix.is_empty() {
            continue;
        }
        let file_name = entry.file_name();
        if let Some(name) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(suffix))
            .and_then(|n| parse(n).ok())
        {
            names.push(name);
        }
    }
    Ok(names)
}

fn decode<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, RegistryError> {
    serde_json::from_slice(bytes)
        .map_err(|err| RegistryError::storage(format!("reading {}", path.display()), err))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, RegistryError> {
    serde_json::to_vec_pretty(value).map_err(|err| RegistryError::storage("encoding JSON", err))
}

fn artifact_path(sha256: &Sha256) -> PathBuf {
    Path::new("artifacts").join(format!("{sha256}.wasm"))
}

fn version_dir(tenant: &Tenant, slot: &Slot) -> PathBuf {
    Path::new("versions")
        .join(tenant.as_str())
        .join(slot.as_str())
}

fn slot_dir(tenant: &Tenant) -> PathBuf {
    Path::new("slots").join(tenant.as_str())
}

fn route_dir(tenant: &Tenant) -> PathBuf {
    Path::new("routes").join(tenant.as_str())
}

/// The tenants to list: the one asked for, or every tenant directory under `top`.
fn tenants(root: &Dir, top: &str, tenant: Option<&Tenant>) -> Result<Vec<Tenant>, RegistryError> {
    match tenant {
        Some(tenant) => Ok(vec![tenant.clone()]),
        None => list_names(root, Path::new(top), "", Tenant::new).map_err(storage),
    }
}

fn read_slot(root: &Dir, tenant: &Tenant, slot: &Slot) -> Result<Option<SlotFile>, RegistryError> {
    let path = slot_dir(tenant).join(format!("{slot}.json"));
    match read_optional(root, &path).map_err(storage)? {
        Some(bytes) => decode(&path, &bytes).map(Some),
        None => Ok(None),
    }
}

fn read_versions(
    root: &Dir,
    tenant: &Tenant,
    slot: &Slot,
) -> Result<Vec<VersionMeta>, RegistryError> {
    let dir = version_dir(tenant, slot);
    let mut versions = Vec::new();
    for sha256 in list_names(root, &dir, ".json", Sha256::new).map_err(storage)? {
        let path = dir.join(format!("{sha256}.json"));
        if let Some(bytes) = read_optional(root, &path).map_err(storage)? {
            versions.push(decode(&path, &bytes)?);
        }
    }
    Ok(versions)
}

#[async_trait::async_trait]
impl Backend for DirBackend {
    async fn put_artifact(&self, sha256: &Sha256, bytes: Bytes) -> Result<(), RegistryError> {
        let sha256 = sha256.clone();
        self.io(format!("storing artifact {sha256}"), move |root| {
            let path = artifact_path(&sha256);
            if root.try_exists(&path).map_err(storage)? {
                return Ok(());
            }
            write_atomic(
                root,
                Path::new("artifacts"),
                &format!("{sha256}.wasm"),
                &bytes,
            )
            .map_err(storage)
        })
        .await
    }

    async fn artifact(&self, sha256: &Sha256) -> Result<Option<Bytes>, RegistryError> {
        let path = artifact_path(sha256);
        self.io(format!("reading artifact {sha256}"), move |root| {
            Ok(read_optional(root, &path)
                .map_err(storage)?
                .map(Bytes::from))
        })
        .await
    }

    async fn delete_artifact(&self, sha256: &Sha256) -> Result<(), RegistryError> {
        let path = artifact_path(sha256);
        self.io(format!("deleting artifact {sha256}"), move |root| {
            remove_optional(root, &path).map_err(storage).map(|_| ())
        })
        .await
    }

    async fn put_version(&self, meta: &VersionMeta) -> Result<(), RegistryError> {
        let bytes = encode(meta)?;
        let dir = version_dir(&meta.tenant, &meta.slot);
        let name = format!("{}.json", meta.sha256);
        self.io(
            format!("storing {}", dir.join(&name).display()),
            move |root| write_atomic(root, &dir, &name, &bytes).map_err(storage),
        )
        .await?;
        self.announce(Change::Version { meta: meta.clone() });
        Ok(())
    }

    async fn version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<Option<VersionMeta>, RegistryError> {
        let path = version_dir(tenant, slot).join(format!("{sha256}.json"));
        self.io(
            format!("reading {}", path.display()),
            move |root| match read_optional(root, &path).map_err(storage)? {
                Some(bytes) => decode(&path, &bytes).map(Some),
                None => Ok(None),
            },
        )
        .await
    }

    async fn versions(
        &self,
        tenant: &Tenant,
        slot: Option<&Slot>,
    ) -> Result<Vec<VersionMeta>, RegistryError> {
        let tenant = tenant.clone();
        let slot = slot.cloned();
        self.io(format!("listing the versions of {tenant}"), move |root| {
            let slots = match slot {
                Some(slot) => vec![slot],
                None => list_names(
                    root,
                    &Path::new("versions").join(tenant.as_str()),
                    "",
                    Slot::new,
                )
                .map_err(storage)?,
            };
            let mut versions = Vec::new();
            for slot in slots {
                versions.extend(read_versions(root, &tenant, &slot)?);
            }
            Ok(versions)
        })
        .await
    }

    async fn artifact_users(&self, sha256: &Sha256) -> Result<Vec<(Tenant, Slot)>, RegistryError> {
        let sha256 = sha256.clone();
        self.io(format!("looking for the users of {sha256}"), move |root| {
            let mut users = Vec::new();
            for tenant in
                list_names(root, Path::new("versions"), "", Tenant::new).map_err(storage)?
            {
                let tenant_dir = Path::new("versions").join(tenant.as_str());
                for slot in list_names(root, &tenant_dir, "", Slot::new).map_err(storage)? {
                    let path = tenant_dir
                        .join(slot.as_str())
                        .join(format!("{sha256}.json"));
                    if root.try_exists(&path).map_err(storage)? {
                        users.push((tenant.clone(), slot));
                    }
                }
            }
            Ok(users)
        })
        .await
    }

    async fn delete_version(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        sha256: &Sha256,
    ) -> Result<(), RegistryError> {
        let path = version_dir(tenant, slot).join(format!("{sha256}.json"));
        let name = format!("{tenant}/{slot}@{sha256}");
        self.io(format!("deleting {}", path.display()), move |root| {
            if remove_optional(root, &path).map_err(storage)? {
                Ok(())
            } else {
                Err(RegistryError::NotFound {
                    what: "version",
                    name,
                })
            }
        })
        .await
    }

    async fn slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
    ) -> Result<Option<(SlotState, u64)>, RegistryError> {
        let (tenant, slot) = (tenant.clone(), slot.clone());
        self.io(format!("reading slot {tenant}/{slot}"), move |root| {
            Ok(read_slot(root, &tenant, &slot)?.map(|file| (file.state, file.revision)))
        })
        .await
    }

    async fn put_slot(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        state: &SlotState,
        expected: Option<u64>,
    ) -> Result<u64, RegistryError> {
        let (tenant, slot, state) = (tenant.clone(), slot.clone(), state.clone());
        let change = Change::Slot {
            tenant: tenant.clone(),
            slot: slot.clone(),
            state: state.clone(),
        };
        let revision = self
            .io(format!("storing slot {tenant}/{slot}"), move |root| {
                // Held on this blocking thread only, for one read and one write.
                let _writing = SLOT_WRITES.lock().unwrap_or_else(PoisonError::into_inner);
                let current = read_slot(root, &tenant, &slot)?.map(|file| file.revision);
                if current != expected {
                    return Err(RegistryError::Conflict {
                        what: format!("slot {tenant}/{slot}"),
                    });
                }
                let revision = current.unwrap_or(0) + 1;
                let bytes = encode(&SlotFile { revision, state })?;
                write_atomic(root, &slot_dir(&tenant), &format!("{slot}.json"), &bytes)
                    .map_err(storage)?;
                Ok(revision)
            })
            .await?;
        self.announce(change);
        Ok(revision)
    }

    async fn slots(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, Slot, SlotState)>, RegistryError> {
        let tenant = tenant.cloned();
        self.io("listing slots".to_string(), move |root| {
            let mut slots = Vec::new();
            for tenant in tenants(root, "slots", tenant.as_ref())? {
                for slot in
                    list_names(root, &slot_dir(&tenant), ".json", Slot::new).map_err(storage)?
                {
                    if let Some(file) = read_slot(root, &tenant, &slot)? {
                        slots.push((tenant.clone(), slot, file.state));
                    }
                }
            }
            Ok(slots)
        })
        .await
    }

    async fn put_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        route: &serde_json::Value,
    ) -> Result<(), RegistryError> {
        let bytes = encode(route)?;
        let dir = route_dir(tenant);
        let file = format!("{name}.json");
        self.io(format!("storing route {tenant}/{name}"), move |root| {
            write_atomic(root, &dir, &file, &bytes).map_err(storage)
        })
        .await?;
        self.announce(Change::Route {
            tenant: tenant.clone(),
            name: name.clone(),
            route: Some(route.clone()),
        });
        Ok(())
    }

    async fn delete_route(&self, tenant: &Tenant, name: &RouteName) -> Result<(), RegistryError> {
        let path = route_dir(tenant).join(format!("{name}.json"));
        let shown = format!("{tenant}/{name}");
        self.io(format!("deleting route {shown}"), move |root| {
            if remove_optional(root, &path).map_err(storage)? {
                Ok(())
            } else {
                Err(RegistryError::NotFound {
                    what: "route",
                    name: shown,
                })
            }
        })
        .await?;
        self.announce(Change::Route {
            tenant: tenant.clone(),
            name: name.clone(),
            route: None,
        });
        Ok(())
    }

    async fn routes(
        &self,
        tenant: Option<&Tenant>,
    ) -> Result<Vec<(Tenant, RouteName, serde_json::Value)>, RegistryError> {
        let tenant = tenant.cloned();
        self.io("listing routes".to_string(), move |root| {
            let mut routes = Vec::new();
            for tenant in tenants(root, "routes", tenant.as_ref())? {
                let dir = route_dir(&tenant);
                for name in list_names(root, &dir, ".json", RouteName::new).map_err(storage)? {
                    let path = dir.join(format!("{name}.json"));
                    if let Some(bytes) = read_optional(root, &path).map_err(storage)? {
                        routes.push((tenant.clone(), name, decode(&path, &bytes)?));
                    }
                }
            }
            Ok(routes)
        })
        .await
    }

    async fn watch(&self) -> Result<BoxStream<'static, Change>, RegistryError> {
        let receiver = self.changes.subscribe();
        let path = self.path.clone();
        Ok(futures::stream::unfold(receiver, move |mut receiver| {
            let path = path.clone();
            async move {
                match receiver.recv().await {
                    Ok(change) => Some((change, receiver)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(registry = %path.display(), missed, "a registry watcher fell behind; its watch ends");
                        None
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                }
            }
        })
        .boxed())
    }
}
