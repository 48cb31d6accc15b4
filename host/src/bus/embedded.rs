//! The embedded default: with no NATS URL configured, `serve` runs its own `nats-server` as a child process —
//! JetStream on, its store under the data dir, bound to 127.0.0.1 — waits until it is ready, restarts it if it
//! dies, and stops it on shutdown. A server left over from a run that was killed (its pid file says which) is
//! stopped first, so the port and the store are free.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where `nats-server` is looked for besides `PATH`: Debian's package installs it in /usr/sbin.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"];

/// How to install it, for the error when it is missing.
pub const INSTALL_HINT: &str = "install it with `sudo apt-get install nats-server` (Debian, Ubuntu) or from \
https://github.com/nats-io/nats-server/releases, or join a running server with --nats-url";

/// Finds the `nats-server` binary: `MILLWRIGHT_NATS_SERVER` if set, else `PATH`, then the usual system
/// directories.
pub fn find_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("MILLWRIGHT_NATS_SERVER") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "MILLWRIGHT_NATS_SERVER names {}, which is not a file; {INSTALL_HINT}",
            path.display()
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| anyhow!("nats-server was not found on PATH or in /usr/sbin; {INSTALL_HINT}"))
}

/// A running, supervised nats-server.
#[derive(Debug)]
pub struct Embedded {
    url: String,
    pid_file: PathBuf,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<()>,
}

struct Setup {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Setup {
    fn log_file(&self) -> PathBuf {
        self.dir.join("nats-server.log")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("nats-server.pid")
    }

    fn spawn(&self) -> Result<Child> {
        Command::new(&self.binary)
            .arg("--addr")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--jetstream")
            .arg("--store_dir")
            .arg(self.dir.join("jetstream"))
            .arg("--server_name")
            .arg("millwright-embedded")
            .arg("--pid")
            .arg(self.pid_file())
            .arg("--log")
            .arg(self.log_file())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))
    }

    /// The last lines the server logged, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// Waits until the server accepts clients and JetStream answers.
    async fn wait_ready(&self, child: &mut Child) -> Result<()> {
        let url = format!("nats://127.0.0.1:{}", self.port);
        for _ in 0..150 {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "nats-server exited at start ({status}); its log ({}) ends:\n{}",
                    self.log_file().display(),
                    self.log_tail()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
                && let Ok(client) = async_nats::connect(&url).await
            {
                let js = async_nats::jetstream::new(client);
                // JetStream answers the stream list (empty on a new store) once it is up.
                if !matches!(js.stream_names().next().await, Some(Err(_))) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "nats-server did not become ready within 15 s; its log ({}) ends:\n{}",
            self.log_file().display(),
            self.log_tail()
        )
    }
}

impl Embedded {
    /// Starts nats-server on 127.0.0.1:`port` with its store under `data_dir/nats`, and returns once it is ready.
    pub async fn start(data_dir: &Path, port: u16) -> Result<Self> {
        let binary = find_binary()?;
        let dir = data_dir.join("nats");
        std::fs::create_dir_all(&dir).with_context(|| {
            format!(
                "creating the embedded nats-server's directory {}",
                dir.display()
            )
        })?;
        let setup = Setup { binary, dir, port };
        stop_leftover(&setup.pid_file()).await;
        if let Err(err) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            bail!(
                "port {port} on 127.0.0.1 is taken ({err}), so the embedded nats-server cannot start; if a NATS \
server already runs there, join it with --nats-url nats://127.0.0.1:{port}, else set `embedded_port` under [nats]"
            );
        }
        let mut child = setup.spawn()?;
        setup.wait_ready(&mut child).await?;
        tracing::info!(port, store = %setup.dir.display(), "embedded nats-server is ready");
        let url = format!("nats://127.0.0.1:{port}");
        let pid_file = setup.pid_file();
        let (stop, stopping) = watch::channel(false);
        let supervisor = tokio::spawn(supervise(setup, child, stopping));
        Ok(Self {
            url,
            pid_file,
            stop,
            supervisor,
        })
    }

    /// The URL clients connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The running server's process id, as its pid file says (a restarted server writes its new one).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it to exit.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.supervisor.await;
    }
}

/// Restarts the server whenever it dies, until asked to stop.
async fn supervise(setup: Setup, mut child: Child, mut stopping: watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(250);
    loop {
        tokio::select! {
            status = child.wait() => {
                tracing::error!(
                    status = %status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                    log = %setup.log_file().display(),
                    tail = %setup.log_tail(),
                    "the embedded nats-server exited; restarting it"
                );
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stopping.changed() => return,
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                    match setup.spawn() {
                        Ok(mut next) => match setup.wait_ready(&mut next).await {
                            Ok(()) => {
                                tracing::warn!("the embedded nats-server is back");
                                child = next;
                                delay = Duration::from_millis(250);
                                break;
                            }
                            Err(err) => tracing::error!("restarting the embedded nats-server: {err:#}"),
                        },
                        Err(err) => tracing::error!("restarting the embedded nats-server: {err:#}"),
                    }
                }
            }
            _ = stopping.changed() => {
                terminate(&mut child).await;
                return;
            }
        }
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
        tracing::warn!("the embedded nats-server did not stop within 10 s; killing it");
    }
    let _ = child.kill().await;
}

/// Stops a nats-server left running by an earlier host that was killed before it could stop it.
async fn stop_leftover(pid_file: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
    else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let ours = String::from_utf8_lossy(&cmdline).contains("millwright-embedded");
    let Some(process) = rustix::process::Pid::from_raw(pid).filter(|_| ours) else {
        return;
    };
    tracing::warn!(pid, "stopping a nats-server left running by an earlier run");
    let _ = rustix::process::kill_process(process, rustix::process::Signal::TERM);
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = rustix::process::kill_process(process, rustix::process::Signal::KILL);
}
