//! The registry's behaviour, written once and run on both backends: a directory in a temporary folder, and
//! JetStream on a real nats-server started for each test on a free loopback port.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;

use super::dir::DirBackend;
use super::jetstream::{JsBackend, JsOptions};
use super::*;

static TENANT: LazyLock<Tenant> = LazyLock::new(|| tenant("acme"));
static SLOT: LazyLock<Slot> = LazyLock::new(|| slot("supplier-856"));

fn tenant(name: &str) -> Tenant {
    Tenant::new(name).expect("a valid tenant")
}

fn slot(name: &str) -> Slot {
    Slot::new(name).expect("a valid slot")
}

fn route(name: &str) -> RouteName {
    RouteName::new(name).expect("a valid route name")
}

/// A registry on one backend, and ways to look underneath it.
trait Fixture {
    fn registry(&self) -> &Registry;
    fn backend(&self) -> &Arc<dyn Backend>;
    /// Everything stored, in a form that changes whenever anything is written.
    async fn snapshot(&self) -> Vec<String>;
    /// The registry as another host sees it (a directory: the same process, so the same backend).
    async fn other_host(&self) -> Registry;
    /// Writes entries with names the rules refuse straight into the store, as a hand edit would.
    async fn plant_bad_names(&self);
}

struct DirFixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    backend: Arc<dyn Backend>,
    registry: Registry,
}

impl DirFixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path().join("registry");
        let backend: Arc<dyn Backend> =
            Arc::new(DirBackend::open(&root).expect("opening the registry directory"));
        Self {
            _dir: dir,
            root,
            registry: Registry::new(Arc::clone(&backend)),
            backend,
        }
    }
}

/// Every file and directory under `root`, with the sha256 of each file's contents.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("reading the registry directory") {
            let path = entry.expect("directory entry").path();
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                out.push(format!("{relative}/"));
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.push(format!("{relative} {}", Sha256::of(&bytes)));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

impl Fixture for DirFixture {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    async fn snapshot(&self) -> Vec<String> {
        tree(&self.root)
    }

    async fn other_host(&self) -> Registry {
        self.registry.clone()
    }

    async fn plant_bad_names(&self) {
        let state = serde_json::to_vec(&json!({"revision": 1, "active": null, "history": []}))
            .expect("json");
        for dir in [
            "slots/a.b",
            "slots/acme",
            "routes/acme",
            "versions/a b/supplier-856",
        ] {
            std::fs::create_dir_all(self.root.join(dir)).expect("mkdir");
        }
        std::fs::write(self.root.join("slots/a.b/x.json"), &state).expect("write");
        std::fs::write(self.root.join("slots/acme/x y.json"), &state).expect("write");
        std::fs::write(self.root.join("routes/acme/_unrouted.json"), b"{}").expect("write");
        std::fs::write(self.root.join("routes/acme/a%2Fb.json"), b"{}").expect("write");
    }
}

/// A nats-server with JetStream for one test, in its own store directory, killed when dropped.
struct NatsServer {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl NatsServer {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let store = tempfile::tempdir().expect("temporary directory");
        let child = Command::new(crate::bus::embedded::find_binary().expect("nats-server"))
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        let server = Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _store: store,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not accept connections on {}", server.url);
    }

    async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(&self.url)
            .await
            .expect("connecting to nats-server");
        async_nats::jetstream::new(client)
    }

    async fn backend(&self) -> JsBackend {
        JsBackend::open(self.jetstream().await, &JsOptions::default())
            .await
            .expect("opening the registry buckets")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct JsFixture {
    server: NatsServer,
    js: async_nats::jetstream::Context,
    backend: Arc<dyn Backend>,
    registry: Registry,
}

impl JsFixture {
    async fn start() -> Self {
        let server = NatsServer::start().await;
        let js = server.jetstream().await;
        let backend: Arc<dyn Backend> = Arc::new(
            JsBackend::open(js.clone(), &JsOptions::default())
                .await
                .expect("opening the registry buckets"),
        );
        Self {
            server,
            js,
            registry: Registry::new(Arc::clone(&backend)),
            backend,
        }
    }
}

impl Fixture for JsFixture {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Every write to a bucket is a message in its stream, so the streams' last sequences change on any write.
    async fn snapshot(&self) -> Vec<String> {
        let options = JsOptions::default();
        let mut snapshot = Vec::new();
        for stream in [
            format!("KV_{}", options.kv_bucket),
            format!("OBJ_{}", options.object_bucket),
        ] {
            let info = self
                .js
                .get_stream(&stream)
                .await
                .expect("the bucket's stream")
                .get_info()
                .await
                .expect("stream info");
            snapshot.push(format!(
                "{stream}: last {} messages {}",
                info.state.last_sequence, info.state.messages
            ));
        }
        snapshot
    }

    async fn other_host(&self) -> Registry {
        Registry::new(Arc::new(self.server.backend().await))
    }

    async fn plant_bad_names(&self) {
        let kv = self
            .js
            .get_key_value(JsOptions::default().kv_bucket)
            .await
            .expect("the bucket");
        let state = serde_json::to_vec(&json!({"active": null, "history": []})).expect("json");
        for key in [
            "slot.acme.a/b",
            "slot.a-b.x=y",
            "route.acme._unrouted",
            "version.acme.supplier-856.not-a-sha256",
        ] {
            kv.put(key, state.clone().into()).await.expect("put");
        }
    }
}

/// An upload: fake component bytes (the registry stores bytes; validation happened before it) and their row.
/// The bytes depend on the version and `body` only, so one build uploaded to two slots is one artifact.
fn upload(tenant: &Tenant, slot: &Slot, version: &str, body: &str) -> (VersionMeta, Bytes) {
    let bytes = Bytes::from(format!("\0asm\x0d\0\x01\0 {version} {body}"));
    let meta = VersionMeta {
        tenant: tenant.clone(),
        slot: slot.clone(),
        sha256: Sha256::of(&bytes),
        name: "x12-856-ship-notice".to_string(),
        version: version.to_string(),
        world: "inbound-mapper".to_string(),
        contract: "0.1.0".to_string(),
        size: 0,
        uploaded_by: "partner-token".to_string(),
        uploaded_at: jiff::Timestamp::now(),
        signature: SignatureStatus::Unsigned,
    };
    (meta, bytes)
}

/// Uploads a version of `acme/supplier-856` and returns its sha256.
async fn add(registry: &Registry, version: &str) -> Sha256 {
    add_to(registry, &SLOT, version, "").await
}

async fn add_to(registry: &Registry, slot: &Slot, version: &str, body: &str) -> Sha256 {
    let (meta, bytes) = upload(&TENANT, slot, version, body);
    registry
        .add_version(meta, bytes)
        .await
        .expect("adding a version")
        .sha256
}

fn active_of(state: &SlotState) -> Sha256 {
    state.active.clone().expect("a version is active")
}

fn code<T: std::fmt::Debug>(result: Result<T, RegistryError>) -> &'static str {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(err) => err.code(),
    }
}

async fn next_change(changes: &mut futures::stream::BoxStream<'static, Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .expect("a change within 10 s")
        .expect("the watch is still open")
}

async fn versions_are_added_listed_and_shown(fx: &impl Fixture) {
    let registry = fx.registry();
    let (meta, bytes) = upload(&TENANT, &SLOT, "1.0.0", "");
    let stored = registry
        .add_version(meta.clone(), bytes.clone())
        .await
        .expect("adding 1.0.0");
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.sha256, meta.sha256);
    let v2 = add(registry, "1.1.0").await;
    let erp = add_to(registry, &slot("erp-receipt"), "0.3.0", "").await;

    let in_slot: BTreeSet<Sha256> = registry
        .versions(&TENANT, Some(&SLOT))
        .await
        .expect("listing the slot")
        .into_iter()
        .map(|meta| meta.sha256)
        .collect();
    assert_eq!(in_slot, BTreeSet::from([meta.sha256.clone(), v2.clone()]));
    let all = registry
        .versions(&TENANT, None)
        .await
        .expect("listing the tenant");
    assert_eq!(all.len(), 3);
    assert!(
        all.iter()
            .any(|meta| meta.sha256 == erp && meta.slot == "erp-receipt")
    );
    assert!(
        registry
            .versions(&tenant("globex"), None)
            .await
            .expect("listing another tenant")
            .is_empty(),
        "another tenant sees none of acme's versions"
    );

    let shown = registry
        .version(&TENANT, &SLOT, &meta.sha256)
        .await
        .expect("showing")
        .expect("the version exists");
    assert_eq!(shown, stored);
    assert_eq!(
        registry.artifact(&meta.sha256).await.expect("artifact"),
        bytes
    );
    assert_eq!(
        registry.active(&TENANT, &SLOT).await.expect("active"),
        None,
        "nothing is active before an activation"
    );
}

async fn adding_the_same_bytes_again_changes_nothing(fx: &impl Fixture) {
    let registry = fx.registry();
    let (meta, bytes) = upload(&TENANT, &SLOT, "1.0.0", "");
    let first = registry
        .add_version(meta.clone(), bytes.clone())
        .await
        .expect("first upload");
    let before = fx.snapshot().await;

    let again = VersionMeta {
        uploaded_by: "someone-else".to_string(),
        uploaded_at: jiff::Timestamp::now(),
        ..meta
    };
    let second = registry
        .add_version(again, bytes)
        .await
        .expect("second upload");
    assert_eq!(second, first, "the row stored the first time comes back");
    assert_eq!(fx.snapshot().await, before, "nothing was written");
    assert_eq!(
        registry
            .versions(&TENANT, Some(&SLOT))
            .await
            .expect("listing")
            .len(),
        1
    );
}

async fn bytes_that_do_not_match_their_sha256_are_refused(fx: &impl Fixture) {
    let registry = fx.registry();
    let before = fx.snapshot().await;
    let (meta, _) = upload(&TENANT, &SLOT, "1.0.0", "signed");
    let (_, other_bytes) = upload(&TENANT, &SLOT, "1.0.0", "swapped");
    assert_eq!(
        code(registry.add_version(meta, other_bytes).await),
        "digest_mismatch"
    );
    assert_eq!(fx.snapshot().await, before, "nothing was written");
}

async fn versions_are_activated_by_sha256_and_by_version(fx: &impl Fixture) {
    let registry = fx.registry();
    let v1 = add(registry, "1.0.0").await;
    let v2 = add(registry, "2.0.0").await;

    let state = registry
        .activate(&TENANT, &SLOT, &v1, "ops")
        .await
        .expect("activating by sha256");
    assert_eq!(active_of(&state), v1);
    assert_eq!(state.history.len(), 1);
    assert_eq!(state.history[0].action, ActivationKind::Activate);
    assert_eq!(state.history[0].by, "ops");
    assert_eq!(state.history[0].version, "1.0.0");
    let active = registry
        .active(&TENANT, &SLOT)
        .await
        .expect("active")
        .expect("a version is active");
    assert_eq!(active.sha256, v1);

    let state = registry
        .activate_version(&TENANT, &SLOT, "2.0.0", "ops")
        .await
        .expect("activating by version");
    assert_eq!(active_of(&state), v2);
    assert_eq!(state.history.len(), 2);

    let again = registry
        .activate(&TENANT, &SLOT, &v2, "ops")
        .await
        .expect("activating the active version");
    assert_eq!(
        again, state,
        "activating the active version changes nothing"
    );

    let v3a = add_to(registry, &SLOT, "3.0.0", "first build").await;
    let v3b = add_to(registry, &SLOT, "3.0.0", "second build").await;
    match registry
        .activate_version(&TENANT, &SLOT, "3.0.0", "ops")
        .await
    {
        Err(RegistryError::Ambiguous { candidates, .. }) => {
            let mut expected = vec![v3a, v3b];
            expected.sort();
            assert_eq!(candidates, expected);
        }
        other => panic!("expected an ambiguous version, got {other:?}"),
    }
    assert_eq!(
        code(
            registry
                .activate_version(&TENANT, &SLOT, "9.9.9", "ops")
                .await
        ),
        "not_found"
    );
    let state = registry
        .slot(&TENANT, &SLOT)
        .await
        .expect("slot")
        .expect("slot exists");
    assert_eq!(
        active_of(&state),
        v2,
        "failed activations left 2.0.0 active"
    );
}

async fn rollback_steps_back_like_undo(fx: &impl Fixture) {
    let registry = fx.registry();
    assert_eq!(
        code(registry.rollback(&TENANT, &SLOT, "ops").await),
        "nothing_to_roll_back",
        "a slot never activated has nothing to roll back to"
    );
    let v1 = add(registry, "1.0.0").await;
    let v2 = add(registry, "2.0.0").await;
    let v3 = add(registry, "3.0.0").await;
    for sha in [&v1, &v2, &v3] {
        registry
            .activate(&TENANT, &SLOT, sha, "ops")
            .await
            .expect("activating");
    }

    let state = registry
        .rollback(&TENANT, &SLOT, "ops")
        .await
        .expect("first rollback");
    assert_eq!(active_of(&state), v2);
    let last = state.history.last().expect("history");
    assert_eq!(
        (last.action, last.version.as_str()),
        (ActivationKind::Rollback, "2.0.0")
    );
    let state = registry
        .rollback(&TENANT, &SLOT, "ops")
        .await
        .expect("second rollback");
    assert_eq!(active_of(&state), v1);
    let before = registry.slot(&TENANT, &SLOT).await.expect("slot");
    assert_eq!(
        code(registry.rollback(&TENANT, &SLOT, "ops").await),
        "nothing_to_roll_back"
    );
    assert_eq!(
        registry.slot(&TENANT, &SLOT).await.expect("slot"),
        before,
        "a refused rollback changes nothing"
    );

    // Undo, not toggle: after v1 → v3, a rollback returns to v1, not to the v2 that was rolled back from.
    registry
        .activate(&TENANT, &SLOT, &v3, "ops")
        .await
        .expect("activating");
    let state = registry
        .rollback(&TENANT, &SLOT, "ops")
        .await
        .expect("rollback");
    assert_eq!(active_of(&state), v1);

    // A version deleted since it was active is skipped.
    let erp_slot = slot("erp-receipt");
    let slot = &erp_slot;
    let a = add_to(registry, slot, "1.0.0", "").await;
    let b = add_to(registry, slot, "2.0.0", "").await;
    let c = add_to(registry, slot, "3.0.0", "").await;
    for sha in [&a, &b, &c] {
        registry
            .activate(&TENANT, slot, sha, "ops")
            .await
            .expect("activating");
    }
    registry
        .delete_version(&TENANT, slot, &b)
        .await
        .expect("deleting 2.0.0");
    let state = registry
        .rollback(&TENANT, slot, "ops")
        .await
        .expect("rollback");
    assert_eq!(active_of(&state), a);
}

async fn delete_refuses_the_active_version_and_keeps_shared_artifacts(fx: &impl Fixture) {
    let registry = fx.registry();
    // The same bytes in two slots: one artifact, two rows.
    let shared = add_to(registry, &SLOT, "1.0.0", "shared").await;
    assert_eq!(
        add_to(registry, &slot("backup"), "1.0.0", "shared").await,
        shared,
        "same bytes, same sha256"
    );
    let other = add(registry, "2.0.0").await;
    registry
        .activate(&TENANT, &SLOT, &shared, "ops")
        .await
        .expect("activating");

    assert_eq!(
        code(registry.delete_version(&TENANT, &SLOT, &shared).await),
        "active_version"
    );
    assert!(
        registry
            .version(&TENANT, &SLOT, &shared)
            .await
            .expect("show")
            .is_some(),
        "the active version is still there"
    );

    registry
        .delete_version(&TENANT, &slot("backup"), &shared)
        .await
        .expect("deleting the inactive row");
    assert!(
        registry
            .version(&TENANT, &slot("backup"), &shared)
            .await
            .expect("show")
            .is_none()
    );
    assert!(
        registry.artifact(&shared).await.is_ok(),
        "the artifact stays while another slot uses it"
    );

    registry
        .activate(&TENANT, &SLOT, &other, "ops")
        .await
        .expect("activating 2.0.0");
    registry
        .delete_version(&TENANT, &SLOT, &shared)
        .await
        .expect("deleting the last row");
    assert_eq!(code(registry.artifact(&shared).await), "not_found");
    assert_eq!(
        code(registry.delete_version(&TENANT, &SLOT, &shared).await),
        "not_found"
    );
    assert!(registry.artifact(&other).await.is_ok());
}

async fn activating_an_unknown_version_is_not_found_and_changes_nothing(fx: &impl Fixture) {
    let registry = fx.registry();
    let v1 = add(registry, "1.0.0").await;
    let elsewhere = add_to(registry, &slot("erp-receipt"), "5.0.0", "").await;
    registry
        .activate(&TENANT, &SLOT, &v1, "ops")
        .await
        .expect("activating");
    let before = fx.backend().slot(&TENANT, &SLOT).await.expect("slot");

    let unknown = Sha256::of(b"never uploaded");
    assert_eq!(
        code(registry.activate(&TENANT, &SLOT, &unknown, "ops").await),
        "not_found"
    );
    assert_eq!(
        code(registry.activate(&TENANT, &SLOT, &elsewhere, "ops").await),
        "not_found",
        "a version of another slot is not this slot's"
    );
    assert_eq!(
        fx.backend().slot(&TENANT, &SLOT).await.expect("slot"),
        before,
        "state and revision unchanged"
    );
    assert_eq!(
        code(
            registry
                .activate(&TENANT, &slot("fresh"), &unknown, "ops")
                .await
        ),
        "not_found"
    );
    assert_eq!(
        registry.slot(&TENANT, &slot("fresh")).await.expect("slot"),
        None,
        "no slot was created"
    );
}

async fn names_read_back_from_storage_are_checked_again(fx: &impl Fixture) {
    // The store may hold what this module did not write (a hand-edited directory, a KV key put by a script):
    // listings skip a name that breaks the rules rather than hand it to a route or a path.
    let registry = fx.registry();
    let good = add(registry, "1.0.0").await;
    registry
        .activate(&TENANT, &SLOT, &good, "ops")
        .await
        .expect("activating");
    registry
        .put_route(
            &TENANT,
            &route("inbound-856"),
            &json!({"source": "supplier-856"}),
        )
        .await
        .expect("a route");
    fx.plant_bad_names().await;
    let slots = registry.slots(None).await.expect("slots");
    assert_eq!(
        slots
            .iter()
            .map(|(t, s, _)| format!("{t}/{s}"))
            .collect::<Vec<_>>(),
        ["acme/supplier-856"]
    );
    let routes = registry.routes(None).await.expect("routes");
    assert_eq!(
        routes
            .iter()
            .map(|(t, r, _)| format!("{t}/{r}"))
            .collect::<Vec<_>>(),
        ["acme/inbound-856"]
    );
    assert_eq!(
        registry
            .versions(&TENANT, None)
            .await
            .expect("versions")
            .len(),
        1
    );
}

async fn concurrent_activations_all_land_in_the_history(fx: &impl Fixture) {
    let registry = fx.registry();
    let mut shas = Vec::new();
    for n in 0..6 {
        shas.push(add(registry, &format!("1.{n}.0")).await);
    }
    let tasks: Vec<_> = shas
        .iter()
        .map(|sha| {
            let registry = registry.clone();
            let sha = sha.clone();
            tokio::spawn(async move { registry.activate(&TENANT, &SLOT, &sha, "ops").await })
        })
        .collect();
    for task in futures::future::join_all(tasks).await {
        task.expect("task").expect("every activation succeeds");
    }
    let state = registry
        .slot(&TENANT, &SLOT)
        .await
        .expect("slot")
        .expect("exists");
    let recorded: BTreeSet<&str> = state.history.iter().map(|a| a.sha256.as_str()).collect();
    let expected: BTreeSet<&str> = shas.iter().map(Sha256::as_str).collect();
    assert_eq!(state.history.len(), 6, "{:#?}", state.history);
    assert_eq!(recorded, expected);
    assert_eq!(
        state.active.as_deref(),
        state.history.last().map(|a| a.sha256.as_str()),
        "the last activation stored is the active one"
    );
}

async fn a_stale_revision_is_a_conflict_and_changes_nothing(fx: &impl Fixture) {
    let backend = fx.backend();
    let first = SlotState {
        active: Some(Sha256::of(b"one")),
        history: Vec::new(),
    };
    let second = SlotState {
        active: Some(Sha256::of(b"two")),
        history: Vec::new(),
    };
    let r1 = backend
        .put_slot(&TENANT, &SLOT, &first, None)
        .await
        .expect("creating");
    assert_eq!(
        code(backend.put_slot(&TENANT, &SLOT, &second, None).await),
        "conflict",
        "creating a slot that exists"
    );
    let r2 = backend
        .put_slot(&TENANT, &SLOT, &second, Some(r1))
        .await
        .expect("updating at the current revision");
    assert_ne!(r1, r2);
    assert_eq!(
        code(backend.put_slot(&TENANT, &SLOT, &first, Some(r1)).await),
        "conflict",
        "updating from a stale revision"
    );
    assert_eq!(
        backend.slot(&TENANT, &SLOT).await.expect("slot"),
        Some((second, r2))
    );
}

async fn another_host_watching_sees_activations_and_route_changes(fx: &impl Fixture) {
    let registry = fx.registry();
    let v1 = add(registry, "1.0.0").await;
    let other = fx.other_host().await;
    let mut changes = other.watch().await.expect("watching");

    let state = registry
        .activate(&TENANT, &SLOT, &v1, "ops")
        .await
        .expect("activating");
    assert_eq!(
        next_change(&mut changes).await,
        Change::Slot {
            tenant: TENANT.clone(),
            slot: SLOT.clone(),
            state,
        }
    );
    let body = json!({"source": "supplier-856", "slot": SLOT.as_str()});
    registry
        .put_route(&TENANT, &route("inbound-856"), &body)
        .await
        .expect("route");
    assert_eq!(
        next_change(&mut changes).await,
        Change::Route {
            tenant: TENANT.clone(),
            name: route("inbound-856"),
            route: Some(body),
        }
    );
    registry
        .delete_route(&TENANT, &route("inbound-856"))
        .await
        .expect("deleting the route");
    assert_eq!(
        next_change(&mut changes).await,
        Change::Route {
            tenant: TENANT.clone(),
            name: route("inbound-856"),
            route: None,
        }
    );
    let seen = other
        .active(&TENANT, &SLOT)
        .await
        .expect("active")
        .expect("the other host sees the active version");
    assert_eq!(seen.sha256, v1);
}

async fn routes_are_stored_listed_replaced_and_deleted(fx: &impl Fixture) {
    let registry = fx.registry();
    let inbound = json!({"source": "supplier-856", "slot": SLOT.as_str()});
    let outbound = json!({"events": ["ship-notice"], "slot": "erp-receipt"});
    registry
        .put_route(&TENANT, &route("inbound-856"), &inbound)
        .await
        .expect("route");
    registry
        .put_route(&TENANT, &route("erp"), &outbound)
        .await
        .expect("route");
    registry
        .put_route(&tenant("globex"), &route("inbound-856"), &inbound)
        .await
        .expect("route");

    let acme = registry.routes(Some(&TENANT)).await.expect("routes");
    assert_eq!(
        acme,
        vec![
            (TENANT.clone(), route("erp"), outbound.clone()),
            (TENANT.clone(), route("inbound-856"), inbound.clone()),
        ]
    );
    assert_eq!(registry.routes(None).await.expect("routes").len(), 3);

    let changed = json!({"source": "supplier-856", "slot": "supplier-856-v2"});
    registry
        .put_route(&TENANT, &route("inbound-856"), &changed)
        .await
        .expect("replacing");
    registry
        .delete_route(&TENANT, &route("erp"))
        .await
        .expect("deleting");
    assert_eq!(
        registry.routes(Some(&TENANT)).await.expect("routes"),
        vec![(TENANT.clone(), route("inbound-856"), changed)]
    );
    assert_eq!(
        code(registry.delete_route(&TENANT, &route("erp")).await),
        "not_found"
    );
}

fn entry(sha256: &str, action: ActivationKind) -> Activation {
    Activation {
        sha256: Sha256::new(sha256).expect("a sha256"),
        version: "1.0.0".to_string(),
        at: jiff::Timestamp::UNIX_EPOCH,
        by: "ops".to_string(),
        action,
    }
}

#[test]
fn the_history_keeps_the_latest_activations_up_to_its_limit() {
    let mut state = SlotState::default();
    for n in 0..HISTORY_LIMIT + 5 {
        state.record(entry(&format!("{n:064x}"), ActivationKind::Activate));
    }
    assert_eq!(state.history.len(), HISTORY_LIMIT);
    assert_eq!(state.history[0].sha256, format!("{:064x}", 5).as_str());
    assert_eq!(
        state.active.as_ref().map(Sha256::as_str),
        Some(format!("{:064x}", HISTORY_LIMIT + 4).as_str())
    );
}

#[test]
fn a_history_cut_off_at_a_rollback_still_rolls_back_from_there() {
    let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
    // The activations before this rollback to `a` fell off the front of the history.
    let state = SlotState {
        active: Some(Sha256::new(&c).expect("sha")),
        history: vec![
            entry(&a, ActivationKind::Rollback),
            entry(&b, ActivationKind::Activate),
            entry(&c, ActivationKind::Activate),
        ],
    };
    assert_eq!(state.undo_stack(), vec![a.as_str(), b.as_str(), c.as_str()]);
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod on_dir {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(&super::DirFixture::new()).await;
                }
            )*
        }

        mod on_jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(&super::JsFixture::start().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    versions_are_added_listed_and_shown,
    adding_the_same_bytes_again_changes_nothing,
    bytes_that_do_not_match_their_sha256_are_refused,
    versions_are_activated_by_sha256_and_by_version,
    rollback_steps_back_like_undo,
    delete_refuses_the_active_version_and_keeps_shared_artifacts,
    activating_an_unknown_version_is_not_found_and_changes_nothing,
    names_read_back_from_storage_are_checked_again,
    concurrent_activations_all_land_in_the_history,
    a_stale_revision_is_a_conflict_and_changes_nothing,
    another_host_watching_sees_activations_and_route_changes,
    routes_are_stored_listed_replaced_and_deleted,
);

#[tokio::test]
async fn the_directory_backend_cannot_be_made_to_write_outside_its_root() {
    let fx = DirFixture::new();
    let outside = tempfile::tempdir().expect("temporary directory");
    // Symlinks planted inside the root that point out of it: the names are valid, the paths would escape.
    std::os::unix::fs::symlink(outside.path(), fx.root.join("versions/evil")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), fx.root.join("routes/evil")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), fx.root.join("slots/evil")).expect("symlink");

    let (meta, bytes) = upload(&tenant("evil"), &SLOT, "1.0.0", "");
    assert_eq!(code(fx.registry.add_version(meta, bytes).await), "storage");
    assert_eq!(
        code(
            fx.registry
                .put_route(&tenant("evil"), &route("r"), &json!({}))
                .await
        ),
        "storage"
    );
    assert_eq!(
        code(
            fx.backend
                .put_slot(&tenant("evil"), &SLOT, &SlotState::default(), None)
                .await
        ),
        "storage"
    );

    std::fs::remove_dir_all(fx.root.join("artifacts")).expect("removing artifacts/");
    std::os::unix::fs::symlink(outside.path(), fx.root.join("artifacts")).expect("symlink");
    let (meta, bytes) = upload(&TENANT, &SLOT, "1.0.0", "");
    assert_eq!(code(fx.registry.add_version(meta, bytes).await), "storage");

    assert_eq!(
        std::fs::read_dir(outside.path()).expect("outside").count(),
        0,
        "nothing was written outside the root"
    );
}

#[tokio::test]
async fn a_reopened_directory_has_everything_that_was_stored() {
    let fx = DirFixture::new();
    let v1 = add(&fx.registry, "1.0.0").await;
    fx.registry
        .activate(&TENANT, &SLOT, &v1, "ops")
        .await
        .expect("activating");
    fx.registry
        .put_route(
            &TENANT,
            &route("inbound-856"),
            &json!({"slot": SLOT.as_str()}),
        )
        .await
        .expect("route");

    let reopened = Registry::new(Arc::new(DirBackend::open(&fx.root).expect("reopening")));
    let active = reopened
        .active(&TENANT, &SLOT)
        .await
        .expect("active")
        .expect("a version is active");
    assert_eq!(active.sha256, v1);
    assert_eq!(reopened.routes(None).await.expect("routes").len(), 1);
    assert!(reopened.artifact(&v1).await.is_ok());
}

#[tokio::test]
async fn hosts_starting_at_once_all_open_the_same_buckets() {
    let server = NatsServer::start().await;
    let (a, b, c) = tokio::join!(server.backend(), server.backend(), server.backend());
    let first = Registry::new(Arc::new(a));
    let v1 = add(&first, "1.0.0").await;
    for other in [b, c] {
        let other = Registry::new(Arc::new(other));
        assert!(
            other
                .version(&TENANT, &SLOT, &v1)
                .await
                .expect("show")
                .is_some()
        );
        assert!(other.artifact(&v1).await.is_ok());
    }
}
