//! A real nats-server on a free loopback port, the real `millwright serve` beside it, and a JetStream client
//! for the test's side of the conversation.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use futures::StreamExt;

/// A free TCP port on 127.0.0.1 (bound and released; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The admin token every test host runs with.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A nats-server with JetStream, its store in a temporary directory, killed when dropped.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts it and waits until it accepts connections.
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = Self::spawn(port, store.path());
        Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            port,
            store,
        }
    }

    /// Kills it (SIGKILL) and starts it again on the same port and store, as after a crash.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(self.port, self.store.path());
    }

    fn spawn(port: u16, store: &Path) -> Child {
        let binary = millwright::bus::embedded::find_binary()
            .unwrap_or_else(|err| panic!("{err} (scripts/test installs it)"));
        let child = Command::new(binary)
            .args([
                "--addr",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--jetstream",
            ])
            .arg("--store_dir")
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not listen on {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// A JetStream client.
    pub async fn client(&self) -> (async_nats::Client, jetstream::Context) {
        let client = async_nats::connect(&self.url)
            .await
            .expect("connect to nats");
        let js = jetstream::new(client.clone());
        (client, js)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `millwright serve`, its stderr collected (and echoed) for assertions and failures.
pub struct Host {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Host {
    /// Starts `millwright serve --config <config> --nats-url <url> --data-dir <data_dir>` and waits for its
    /// "ready" line (plugins compiled, streams and consumers in place).
    pub fn start(config: &Path, nats_url: &str, data_dir: &Path) -> Self {
        Self::start_with_env(config, Some(nats_url), data_dir, &[])
    }

    /// [`Host::start`] with extra environment variables (the secrets a configuration asks for); without a NATS
    /// URL the host runs its embedded nats-server.
    pub fn start_with_env(
        config: &Path,
        nats_url: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        Self::launch(config, nats_url, data_dir, env, &[])
    }

    /// [`Host::start`] with extra arguments to `serve`.
    pub fn start_with_args(config: &Path, nats_url: &str, data_dir: &Path, args: &[&str]) -> Self {
        Self::launch(config, Some(nats_url), data_dir, &[], args)
    }

    fn launch(
        config: &Path,
        nats_url: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        let host = Self::spawn(config, nats_url, data_dir, env, args);
        host.wait_for_log("ready:", Duration::from_secs(180));
        host
    }

    /// Starts `millwright serve` like [`Host::start`] without waiting for it to be ready.
    pub fn spawn(
        config: &Path,
        nats_url: Option<&str>,
        data_dir: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_millwright"));
        command
            .envs(env.iter().copied())
            .env_remove("MILLWRIGHT_NATS_URL")
            .arg("serve")
            .arg("--config")
            .arg(config);
        if let Some(url) = nats_url {
            command.arg("--nats-url").arg(url);
        }
        let mut child = command
            .arg("--data-dir")
            .arg(data_dir)
            // Tests run side by side: each host's admin API on a port of its own.
            .arg("--admin-addr")
            .arg("127.0.0.1:0")
            .env("MILLWRIGHT_ADMIN_TOKEN", ADMIN_TOKEN)
            .args(args)
            .env("MILLWRIGHT_LOG", "info,async_nats=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start millwright serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[host] {line}");
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        Self { child, log }
    }

    /// What the host has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until stderr contains `needle`; panics with the log if it does not within `timeout`, or the host
    /// exits first.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let started = Instant::now();
        loop {
            if self.log().contains(needle) {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "the host did not log {needle:?} within {timeout:?}; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `millwright ARGS` against this host's admin API with the test token: its exit code, stdout and
    /// stderr.
    pub fn cli(&self, args: &[&str]) -> (Option<i32>, String, String) {
        self.cli_as(ADMIN_TOKEN, args)
    }

    /// [`Host::cli`] with another token.
    pub fn cli_as(&self, token: &str, args: &[&str]) -> (Option<i32>, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
            .args(args)
            .env("MILLWRIGHT_ADMIN_URL", self.admin_url())
            .env("MILLWRIGHT_ADMIN_TOKEN", token)
            .output()
            .expect("millwright");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The admin API's base URL, e.g. `http://127.0.0.1:40123` (or `https://...`), from the host's log.
    pub fn admin_url(&self) -> String {
        self.wait_for_log("admin API on http", Duration::from_secs(60));
        let log = self.log();
        let start = log.find("admin API on http").expect("logged") + "admin API on ".len();
        let rest = &log[start..];
        let end = rest.find("/v1").expect("the address ends with /v1");
        rest[..end].to_string()
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and waits for a graceful exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        self.signal_term();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the host did not stop within 60 s of SIGTERM; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Host {
    /// Sends SIGTERM and returns at once.
    pub fn signal_term(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tenant `acme` with `rules` (the inside of `rules = { ... }`) and the plant's order flow: the ERP's orders,
/// Brightwire's 855s and 856s, Riverside's 944s, with the plant's units and items tables.
pub fn order_flow_config(dir: &Path, rules: &str) -> PathBuf {
    let data = super::root().join("examples/plant/master-data");
    let component = |name: &str| super::component(name).display().to_string();
    write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
rules = {{ {rules} }}
lookups = {{ units = "{units}", items = "{items}" }}

[[tenants.acme.inbound]]
source = "erp"
plugin = "{erp}"
config = {{ timezone = "America/Chicago", buyer-name = "ACME Brake Systems" }}

[[tenants.acme.inbound]]
source = "supplier-855"
plugin = "{ack}"
config = {{ timezone = "Europe/Berlin" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{asn}"
config = {{ timezone = "Europe/Berlin" }}

[[tenants.acme.inbound]]
source = "wms-944"
plugin = "{receipt}"
config = {{ timezone = "America/Chicago", dock-location = "P2-D4" }}
"#,
            units = data.join("units.csv").display(),
            items = data.join("items.csv").display(),
            erp = component("erp-orders-json"),
            ack = component("x12-855-order-ack"),
            asn = component("x12-856-ship-notice"),
            receipt = component("x12-944-warehouse-receipt"),
        ),
    )
}

/// Writes `text` to `dir/millwright.toml` and returns the path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("millwright.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Publishes `payload` on `subject` with the given headers and waits until JetStream stored it.
pub async fn publish(
    js: &jetstream::Context,
    subject: &str,
    headers: &[(&str, &str)],
    payload: Vec<u8>,
) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, *value);
    }
    js.publish_with_headers(subject.to_string(), map, payload.into())
        .await
        .expect("publish")
        .await
        .expect("stored");
}

/// One stored message, as the tests look at it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its subject.
    pub subject: String,
    /// Its headers.
    pub headers: Vec<(String, String)>,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Its stream sequence.
    pub sequence: u64,
    /// When JetStream stored it, Unix nanoseconds.
    pub stored_at: i128,
}

impl Stored {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The payload as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("JSON payload")
    }
}

/// Every message stored in `stream` on `filter`, oldest first, read without consuming anything.
pub async fn stored(js: &jetstream::Context, stream: &str, filter: &str) -> Vec<Stored> {
    let stream = js.get_stream(stream).await.expect("stream");
    let mut out = Vec::new();
    let mut next = 1;
    loop {
        match stream.direct_get_next_for_subject(filter, Some(next)).await {
            Ok(message) => {
                next = message.sequence + 1;
                out.push(Stored {
                    subject: message.subject.to_string(),
                    headers: message
                        .headers
                        .iter()
                        .flat_map(|(n, vs)| {
                            let name: &str = n.as_ref();
                            vs.iter()
                                .map(move |v| (name.to_string(), v.as_str().to_string()))
                        })
                        .collect(),
                    payload: message.payload.to_vec(),
                    sequence: message.sequence,
                    stored_at: message.time.unix_timestamp_nanos(),
                });
            }
            Err(_) => return out,
        }
    }
}

/// Waits until `stream` holds at least `count` messages on `filter`, and returns them; panics after `timeout`
/// with what it did find.
pub async fn wait_for(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    count: usize,
    timeout: Duration,
) -> Vec<Stored> {
    let started = Instant::now();
    loop {
        let found = count_on(js, stream, filter).await;
        if found >= count {
            return stored(js, stream, filter).await;
        }
        assert!(
            started.elapsed() < timeout,
            "{found} of {count} messages on {filter} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many messages `stream` holds on `filter` (a subject or a wildcard).
pub async fn count_on(js: &jetstream::Context, stream: &str, filter: &str) -> usize {
    let Ok(stream) = js.get_stream(stream).await else {
        return 0;
    };
    let Ok(info) = stream.info_with_subjects(filter).await else {
        return 0;
    };
    info.filter_map(|r| async move { r.ok() })
        .fold(0, |sum, (_, n)| async move { sum + n })
        .await
}

/// Whether the consumer has nothing pending or unacknowledged.
pub async fn drained(js: &jetstream::Context, stream: &str, durable: &str) -> bool {
    let Ok(stream) = js.get_stream(stream).await else {
        return false;
    };
    match stream.get_consumer::<consumer::pull::Config>(durable).await {
        Ok(mut consumer) => match consumer.info().await {
            Ok(info) => info.num_pending == 0 && info.num_ack_pending == 0,
            Err(_) => false,
        },
        Err(_) => false,
    }
}
