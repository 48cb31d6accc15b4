//! The `millwright` command: parses arguments, sets up logging, and hands each subcommand to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use millwright::ops;
use millwright::pipeline::dlq::ReplayOutcome;
use millwright::runner::{self, Outcome, RunOptions, Runner};
use serde_json::Value;

/// Every message through a route is many small allocations made on one thread and freed on another. glibc's
/// malloc spent about a quarter of the host's CPU on them; with mimalloc the host needs 14-30 % less CPU per
/// document (docs/BENCHMARKS.md, "The allocator: mimalloc in the binary").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Millwright keeps ERP, MES, WMS and partner EDI in step by routing their documents through sandboxed
/// WebAssembly mapping plugins into one canonical model.
#[derive(Debug, Parser)]
#[command(name = "millwright", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Build, test and inspect mapping plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Run the service: route documents over NATS JetStream through the configured plugins.
    ///
    /// With no NATS URL (flag, environment or file) it starts and supervises its own nats-server on 127.0.0.1,
    /// with its store under the data dir. SIGTERM or Ctrl-C stops fetching, finishes what is in flight, and stops.
    Serve {
        /// The configuration file (TOML): tenants and routes.
        #[arg(long, env = "MILLWRIGHT_CONFIG")]
        config: PathBuf,
        /// Join this NATS server or cluster instead of running the embedded one.
        #[arg(long, env = "MILLWRIGHT_NATS_URL")]
        nats_url: Option<String>,
        /// Where the host keeps its state (default: the file's data_dir, else ~/.local/share/millwright).
        #[arg(long, env = "MILLWRIGHT_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Where the admin API listens (127.0.0.1:0 picks a free port; the log says which).
        #[arg(long, env = "MILLWRIGHT_ADMIN_ADDR", default_value = millwright::admin::DEFAULT_ADDR)]
        admin_addr: String,
        /// The platform-admin token for the API; unset, serve makes one and prints it once.
        #[arg(
            long = "admin-token",
            env = "MILLWRIGHT_ADMIN_TOKEN",
            hide_env_values = true
        )]
        admin_token: Option<String>,
        /// The largest plugin upload the API takes, in MiB.
        #[arg(long, default_value_t = 64)]
        max_upload_mb: usize,
        /// At shutdown, how long routes may take to finish the messages they hold ("30s", "2m"); what is still
        /// in flight then is left for JetStream to redeliver.
        #[arg(long, env = "MILLWRIGHT_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
        shutdown_grace: std::time::Duration,
    },
    /// Publish documents to a tenant's source, as a partner or system would.
    Publish {
        #[command(flatten)]
        nats: NatsArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The source: the document goes to mw.<tenant>.in.<source>.
        #[arg(long)]
        source: String,
        /// Set the correlation id instead of letting the host derive one.
        #[arg(long)]
        correlation_id: Option<String>,
        /// The documents, one message each.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a tenant's messages as they arrive: canonical events by default.
    Watch {
        #[command(flatten)]
        nats: NatsArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Which subjects, after mw.<tenant>.: ev.>, ev.ship-notice, out.>, dlq.>, in.> ...
        #[arg(default_value = "ev.>")]
        subjects: String,
        /// Start from the oldest stored message instead of the next new one.
        #[arg(long)]
        all: bool,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
        /// Give up after this many seconds without enough messages (exit 3).
        #[arg(long)]
        timeout: Option<u64>,
    },
    /// Dead letters: list them, replay them.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Measure the 856 pipeline end to end against raw JetStream publish + consume, in the same run.
    ///
    /// Starts its own nats-server (or uses --nats-url), publishes the documents raw through a stream and a pull
    /// consumer (the baseline), then through a route with the plugin, and prints throughput, p50/p99 latency and
    /// the ratio.
    Bench {
        /// Documents per run.
        #[arg(long, default_value_t = 2000)]
        documents: usize,
        /// Approximate document size in bytes (a synthetic S/O/P/I ship notice).
        #[arg(long, default_value_t = 1024)]
        size: usize,
        /// The inbound plugin.
        #[arg(
            long,
            default_value = "plugins/target/components/x12-856-ship-notice.wasm"
        )]
        plugin: PathBuf,
        /// Use this NATS server instead of starting one.
        #[arg(long)]
        nats_url: Option<String>,
        /// Plugin threads for the route.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Reuse instances instead of a fresh one per message.
        #[arg(long)]
        reuse: bool,
        /// Messages per fetch, for both consumers.
        #[arg(long, default_value_t = 128)]
        batch: usize,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Measure hot swap instead: this many steps while documents flow at --rate through a route with 2
        /// fresh-instance workers (--workers, --reuse and --batch are for the throughput run), in rounds of an
        /// upload with activation, a rollback and a re-activation; reports upload-to-serving and switch times
        /// and p99 latency around swaps and uploads against steady state.
        #[arg(long)]
        swaps: Option<usize>,
        /// With --swaps: documents per second.
        #[arg(long, default_value_t = 200)]
        rate: usize,
    },
    /// Print the JSON Schema of canonical events as the host publishes them.
    Schema,
    /// Print the admin API's OpenAPI document (the one `serve` serves at /v1/openapi.json).
    Openapi,
    /// Check this machine: toolchain, wasm target, pooling allocator, nats-server, componentize-py.
    Doctor,
}

/// Which slot a plugin command acts on.
#[derive(Debug, clap::Args)]
struct SlotArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The slot.
    #[arg(long)]
    slot: String,
}

/// How to reach a host's admin API.
#[derive(Debug, clap::Args)]
struct ApiArgs {
    /// The admin API of a running host.
    #[arg(
        long,
        env = "MILLWRIGHT_ADMIN_URL",
        default_value = "http://127.0.0.1:7070"
    )]
    admin_url: String,
    /// The admin token (serve prints one at start unless MILLWRIGHT_ADMIN_TOKEN set it).
    #[arg(long, env = "MILLWRIGHT_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

impl ApiArgs {
    fn target(self) -> millwright::client::ApiTarget {
        millwright::client::ApiTarget {
            url: self.admin_url,
            token: self.token,
        }
    }
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints the host's answer as JSON, or as `describe` words it for people.
fn show<T: serde::Serialize + ?Sized>(
    json: bool,
    value: &T,
    describe: impl Fn(&T) -> String,
) -> Result<()> {
    if json {
        print_json(value)
    } else {
        print!("{}", describe(value));
        Ok(())
    }
}

/// How to reach the system's NATS.
#[derive(Debug, clap::Args)]
struct NatsArgs {
    /// The configuration file `serve` runs with: its NATS URL, or its embedded server's port, and its tenants.
    #[arg(long, env = "MILLWRIGHT_CONFIG")]
    config: Option<PathBuf>,
    /// The NATS server (default: the file's, else the embedded server's nats://127.0.0.1:4222).
    #[arg(long, env = "MILLWRIGHT_NATS_URL")]
    nats_url: Option<String>,
}

impl NatsArgs {
    fn resolve(self) -> Result<ops::Target> {
        ops::Target::resolve(self.config.as_deref(), self.nats_url)
    }
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// List dead letters: id, route, class, attempts, error.
    List {
        #[command(flatten)]
        nats: NatsArgs,
        /// Only this tenant's (default: every tenant in the file, or every tenant with streams).
        #[arg(long)]
        tenant: Option<String>,
        /// Only this route's.
        #[arg(long)]
        route: Option<String>,
        /// Print JSON, one object per dead letter.
        #[arg(long)]
        json: bool,
    },
    /// Publish dead letters again on their route's input; each leaves the dead letters once the replay is stored.
    ///
    /// Each id gets its own outcome (replayed, not found, failed and why); a replay of many is not all-or-nothing.
    /// Exit status: 0 when every one was replayed, 1 when some were not, 3 when the request itself was wrong.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all"])))]
    Replay {
        #[command(flatten)]
        nats: NatsArgs,
        /// The tenant (needed for ids without one, and with --all narrows to it).
        #[arg(long)]
        tenant: Option<String>,
        /// With --all: only this route's.
        #[arg(long)]
        route: Option<String>,
        /// A dead letter id, `<tenant>/<sequence>` as `dlq list` prints it (repeatable).
        #[arg(long)]
        id: Vec<String>,
        /// Every dead letter of the tenant (and route).
        #[arg(long)]
        all: bool,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Run a mapper offline on input files and print what it produces.
    ///
    /// Inbound mappers take documents (X12, EDIFACT, CSV ...) and print canonical events as JSON; outbound
    /// mappers take canonical events as JSON and print the documents they render. Exit status: 0 on success,
    /// 1 when the output differs from --expect, 2 when the plugin rejects an input (a mapping error, with its
    /// located diagnostic), 3 when the plugin or an input cannot be loaded.
    Test {
        /// The plugin component (.wasm).
        plugin: PathBuf,
        /// Input files, run in order.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Compare the output with this JSON file and show a diff when they differ.
        #[arg(long)]
        expect: Option<PathBuf>,
        /// A partner profile value the plugin reads with `config` (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = runner::parse_pair)]
        config: Vec<(String, String)>,
        /// A master-data table the plugin reads with `lookup`: a two-column CSV with a header (repeatable).
        #[arg(long = "lookup", value_name = "TABLE=FILE.csv", value_parser = runner::parse_pair)]
        lookups: Vec<(String, String)>,
        /// Pin the host clock to this instant (RFC 3339), for reproducible output.
        #[arg(long)]
        now: Option<jiff::Timestamp>,
        /// The tenant to run as.
        #[arg(long, default_value = "offline")]
        tenant: String,
        /// The source name on the envelope (default: the plugin's own name).
        #[arg(long)]
        source: Option<String>,
        /// Outbound mappers: the target name.
        #[arg(long)]
        target: Option<String>,
        /// Where compiled plugins are cached, so a plugin is compiled once (default: ~/.cache/millwright).
        #[arg(long, env = "MILLWRIGHT_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Upload a plugin version to a slot of a running host, optionally activating it.
    ///
    /// The host validates it (a component of a supported contract and the slot's world, within the size cap,
    /// signed where the tenant requires), compiles it, runs it beside the active version on the fixtures and the
    /// slot's recent inputs (the shadow run) and reports every difference, then activates it if asked.
    Push {
        /// The component (.wasm).
        plugin: PathBuf,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        at: SlotArgs,
        /// Activate the version once stored (and shadow-run).
        #[arg(long)]
        activate: bool,
        /// Sample inputs for the shadow run: every file in this directory.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// A file with the base64 ed25519 signature of the component.
        #[arg(long)]
        signature: Option<PathBuf>,
        /// Skip the shadow run.
        #[arg(long)]
        no_shadow: bool,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make an ed25519 key pair for signing plugins: the secret key goes to a file, the public key (to register
    /// with the tenant under signing_keys) is printed.
    Keygen {
        /// Where to write the secret key (base64); it must not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a plugin with a secret key from `plugin keygen`; writes the base64 signature to <plugin>.sig (or --out).
    Sign {
        /// The component (.wasm).
        plugin: PathBuf,
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signature.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List a tenant's plugin slots and versions (`*` marks the active one).
    List {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Only this slot.
        #[arg(long)]
        slot: Option<String>,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a version the slot's active one; every host switches, messages in flight finish on the old one.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["version", "sha"])))]
    Activate {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        at: SlotArgs,
        /// The version string the plugin describes itself with.
        #[arg(long)]
        version: Option<String>,
        /// The version's sha256.
        #[arg(long)]
        sha: Option<String>,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Switch the slot back to the version active before the current one.
    Rollback {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        at: SlotArgs,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build every plugin in the plugins workspace into plugins/target/components/.
    Build {
        /// The plugins directory.
        #[arg(long, default_value = "plugins")]
        plugins_dir: PathBuf,
        /// Build without optimizations (faster to build, slower to run).
        #[arg(long)]
        debug: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service says what it does; the one-shot commands only warn.
    let default_level = match cli.command {
        Command::Serve { .. } => "info,async_nats=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MILLWRIGHT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain text for a log file or a collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(3)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            config,
            nats_url,
            data_dir,
            admin_addr,
            admin_token,
            max_upload_mb,
            shutdown_grace,
        } => {
            let config = millwright::config::Config::load(&config)?;
            let admin = millwright::admin::AdminOptions {
                addr: admin_addr,
                token: admin_token,
                max_upload: max_upload_mb.saturating_mul(1 << 20),
            };
            let runtime = runtime()?;
            let served = runtime.block_on(millwright::serve::serve(
                config,
                millwright::serve::ServeOptions {
                    nats_url,
                    data_dir,
                    admin,
                    grace: shutdown_grace,
                },
            ));
            // A compile abandoned by a signal during start-up keeps its thread until it is done; it must not hold
            // up the exit.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            served?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Publish {
            nats,
            tenant,
            source,
            correlation_id,
            files,
        } => {
            let target = nats.resolve()?;
            runtime()?.block_on(ops::publish(
                &target,
                &tenant,
                &source,
                &files,
                correlation_id.as_deref(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch {
            nats,
            tenant,
            subjects,
            all,
            count,
            timeout,
        } => {
            let target = nats.resolve()?;
            runtime()?.block_on(ops::watch(
                &target,
                &tenant,
                &subjects,
                all,
                count,
                timeout.map(std::time::Duration::from_secs),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            documents,
            size,
            plugin,
            nats_url,
            json,
            swaps: Some(swaps),
            rate,
            ..
        } => {
            let report = runtime()?.block_on(millwright::loadtest::swap::run(
                millwright::loadtest::swap::SwapOptions {
                    plugin,
                    documents,
                    rate,
                    swaps,
                    size,
                    nats_url,
                },
            ))?;
            if json {
                print_json(&report)?;
            } else {
                let list = |v: &[f64]| {
                    v.iter()
                        .map(|ms| format!("{ms:.0}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!(
                    "hot swap under {rate} documents/s, {} documents of {size} bytes",
                    documents
                );
                println!(
                    "upload to serving, compile included (ms): {}",
                    list(&report.upload_to_serving_ms)
                );
                println!(
                    "  of which validating and compiling (ms):  {}",
                    list(&report.compile_ms)
                );
                println!(
                    "switch between compiled versions (ms):     {}",
                    list(&report.switch_ms)
                );
                let line = |name: &str, group: &millwright::loadtest::swap::Latency| {
                    println!(
                        "{name:<15} {:>6} documents  p50 {:>7.2} ms  p99 {:>7.2} ms",
                        group.documents, group.p50_ms, group.p99_ms
                    )
                };
                line("steady:", &report.steady);
                line("around swaps:", &report.around_swaps);
                line("around uploads:", &report.around_uploads);
                println!(
                    "p99 around swaps / steady: {:.2}x   (around uploads / steady: {:.2}x)   lost: {}   duplicated: {}",
                    report.p99_ratio, report.upload_p99_ratio, report.lost, report.duplicated
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            documents,
            size,
            plugin,
            nats_url,
            workers,
            reuse,
            batch,
            json,
            swaps: None,
            ..
        } => {
            let report = runtime()?.block_on(millwright::loadtest::run(
                millwright::loadtest::BenchOptions {
                    documents,
                    size,
                    plugin,
                    nats_url,
                    workers,
                    reuse,
                    batch,
                },
            ))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dlq { command } => match command {
            DlqCommand::List {
                nats,
                tenant,
                route,
                json,
            } => {
                let target = nats.resolve()?;
                let letters = runtime()?.block_on(ops::dlq_list(
                    &target,
                    tenant.as_deref(),
                    route.as_deref(),
                ))?;
                if json {
                    for letter in &letters {
                        println!("{}", serde_json::to_string(letter)?);
                    }
                } else if letters.is_empty() {
                    eprintln!("no dead letters");
                } else {
                    println!(
                        "{:<16} {:<20} {:<18} {:>8}  error",
                        "id", "route", "class", "attempts"
                    );
                    for l in &letters {
                        let class = if l.parked {
                            format!("{} (parked)", l.class)
                        } else {
                            l.class.clone()
                        };
                        println!(
                            "{:<16} {:<20} {:<18} {:>8}  {}",
                            l.id, l.route, class, l.attempts, l.error
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            DlqCommand::Replay {
                nats,
                tenant,
                route,
                id,
                all,
            } => {
                let target = nats.resolve()?;
                let outcomes = runtime()?.block_on(ops::dlq_replay(
                    &target,
                    tenant.as_deref(),
                    route.as_deref(),
                    &id,
                    all,
                ))?;
                let mut missed = 0;
                for outcome in &outcomes {
                    match outcome {
                        ReplayOutcome::Replayed {
                            id, subject, note, ..
                        } => {
                            println!("replayed {id} → {subject}");
                            if let Some(note) = note {
                                eprintln!("warning: {id}: {note}");
                            }
                        }
                        ReplayOutcome::NotFound { id } => {
                            missed += 1;
                            eprintln!(
                                "not found: {id} (already replayed or discarded, or never there)"
                            );
                        }
                        ReplayOutcome::Failed { id, error } => {
                            missed += 1;
                            eprintln!("failed: {id}: {error} (it stays in the dead letters)");
                        }
                    }
                }
                if outcomes.is_empty() {
                    eprintln!("nothing to replay");
                }
                Ok(if missed == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
        },
        Command::Schema => {
            print!("{}", runner::pretty(&millwright::canonical::json_schema()?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print_json(&millwright::admin::api())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => {
            let checks = millwright::doctor::run();
            let mut failed = false;
            for check in &checks {
                let mark = if check.ok { "ok  " } else { "MISSING" };
                println!("{mark:8} {:22} {}", check.name, check.detail);
                failed |= check.required && !check.ok;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Plugin { command } => match command {
            PluginCommand::Push {
                plugin,
                api,
                at: SlotArgs { tenant, slot },
                activate,
                fixtures,
                signature,
                no_shadow,
                json,
            } => {
                use std::io::IsTerminal;
                let push = millwright::client::Push {
                    plugin,
                    tenant,
                    slot,
                    activate,
                    fixtures,
                    signature,
                    no_shadow,
                };
                let progress = !json && std::io::stderr().is_terminal();
                let result = runtime()?.block_on(millwright::client::push(
                    &api.target(),
                    &push,
                    progress,
                ))?;
                show(json, &result, millwright::client::describe_upload)?;
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Keygen { out } => {
                use millwright::registry::signature;
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|err| anyhow::anyhow!("making a key: {err}"))?;
                let secret =
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, seed);
                let public = signature::public_key_of(&secret)?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&out)
                    .with_context(|| {
                        format!("creating {} (it must not exist yet)", out.display())
                    })?;
                std::io::Write::write_all(&mut file, format!("{secret}\n").as_bytes())?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600))?;
                }
                eprintln!("secret key written to {} (keep it private)", out.display());
                println!("{public}");
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Sign { plugin, key, out } => {
                let bytes = std::fs::read(&plugin)
                    .with_context(|| format!("reading {}", plugin.display()))?;
                let secret = std::fs::read_to_string(&key)
                    .with_context(|| format!("reading the key {}", key.display()))?;
                let signature = millwright::registry::signature::sign(&bytes, secret.trim())?;
                let out = out.unwrap_or_else(|| {
                    let mut name = plugin.clone().into_os_string();
                    name.push(".sig");
                    PathBuf::from(name)
                });
                std::fs::write(&out, format!("{signature}\n"))
                    .with_context(|| format!("writing {}", out.display()))?;
                eprintln!("signature written to {}", out.display());
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::List {
                api,
                tenant,
                slot,
                json,
            } => {
                let slots = runtime()?.block_on(millwright::client::list(
                    &api.target(),
                    &tenant,
                    slot.as_deref(),
                ))?;
                show(json, slots.as_slice(), millwright::client::describe_slots)?;
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Activate {
                api,
                at: SlotArgs { tenant, slot },
                version,
                sha,
                json,
            } => {
                let which = match (version, sha) {
                    (_, Some(sha)) => millwright::client::Which::Sha(sha),
                    (Some(version), None) => millwright::client::Which::Version(version),
                    (None, None) => anyhow::bail!("say which version: --version or --sha"),
                };
                let result = runtime()?.block_on(millwright::client::activate(
                    &api.target(),
                    &tenant,
                    &slot,
                    &which,
                ))?;
                show(json, &result, millwright::client::describe_activation)?;
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Rollback {
                api,
                at: SlotArgs { tenant, slot },
                json,
            } => {
                let result = runtime()?.block_on(millwright::client::rollback(
                    &api.target(),
                    &tenant,
                    &slot,
                ))?;
                show(json, &result, millwright::client::describe_activation)?;
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Build { plugins_dir, debug } => {
                let written = millwright::builder::build_all(&plugins_dir, !debug)?;
                eprintln!("built {} plugin(s)", written.len());
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Test {
                plugin,
                inputs,
                expect,
                config,
                lookups,
                now,
                tenant,
                source,
                target,
                cache_dir,
            } => {
                let options = RunOptions {
                    tenant: Some(tenant),
                    source,
                    config,
                    lookups: lookups
                        .into_iter()
                        .map(|(t, f)| (t, PathBuf::from(f)))
                        .collect(),
                    now,
                    target,
                    cache_dir: cache_dir.or_else(default_cache_dir),
                };
                plugin_test(&plugin, &inputs, expect.as_deref(), options)
            }
        },
    }
}

/// `"30s"`, `"500ms"`, `"2m"`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let parsed: jiff::SignedDuration = text
        .parse()
        .map_err(|err| format!("{text:?} is not a duration like \"30s\" or \"2m\": {err}"))?;
    std::time::Duration::try_from(parsed).map_err(|_| "a duration cannot be negative".to_string())
}

/// `~/.cache/millwright/compiled`, or none when there is no home directory.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("millwright").join("compiled"))
}

fn plugin_test(
    plugin: &std::path::Path,
    inputs: &[PathBuf],
    expect: Option<&std::path::Path>,
    options: RunOptions,
) -> Result<ExitCode> {
    let runner = Runner::new(plugin, options)?;
    let info = runner.mapper().info();
    eprintln!(
        "{} {} ({}, contract {}) handles {}",
        info.name,
        info.version,
        runner.mapper().plugin().world,
        runner.mapper().plugin().contract,
        info.document_types.join(", ")
    );
    let mut events = Vec::new();
    let mut rendered = Vec::new();
    for input in inputs {
        match runner.run_file(input)? {
            Outcome::Events(e) => {
                eprintln!("{}: {} event(s)", input.display(), e.len());
                events.extend(e);
            }
            Outcome::Documents(docs) => {
                eprintln!("{}: {} document(s)", input.display(), docs.len());
                rendered.extend(docs);
            }
            Outcome::Failed(err) => {
                eprintln!("error: {}: {err}", input.display());
                return Ok(ExitCode::from(2));
            }
        }
    }
    let actual = if rendered.is_empty() {
        Value::Array(events)
    } else {
        Value::Array(
            rendered
                .into_iter()
                .map(|d| {
                    serde_json::json!({
                        "content-type": d.content_type,
                        "file-name": d.file_name,
                        "headers": d.headers,
                        "payload": String::from_utf8_lossy(&d.payload),
                    })
                })
                .collect(),
        )
    };
    match expect {
        None => {
            print!("{}", runner::pretty(&actual));
            Ok(ExitCode::SUCCESS)
        }
        Some(path) => {
            let text = std::fs::read(path)
                .with_context(|| format!("reading expected output {}", path.display()))?;
            let expected: Value = serde_json::from_slice(&text)
                .with_context(|| format!("{}: not JSON", path.display()))?;
            match runner::diff_json(&expected, &actual) {
                None => {
                    eprintln!("output matches {}", path.display());
                    Ok(ExitCode::SUCCESS)
                }
                Some(diff) => {
                    print!("{diff}");
                    eprintln!("output differs from {} (diff above)", path.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
