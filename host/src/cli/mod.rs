//! The `millwright` command: the argument tree, logging, and one function per command that calls the library
//! and prints what it answers. Nothing here is part of the running service: the commands that change a host's
//! state go through its admin API ([`client`]), and the tools below are the CLI's own.
//!
//! - [`plugin`]: build, test, push, list, activate, roll back, sign plugins;
//! - [`dlq`]: list, replay and discard dead letters;
//! - [`lookup`]: load, list, show and roll back master-data tables, through the admin API;
//! - [`client`]: the CLI's side of the admin API;
//! - [`ops`]: publish and watch over NATS, for trying a host out, and the dead-letter commands' NATS side;
//! - [`runner`]: a plugin run offline exactly as the host runs it (`plugin test`);
//! - [`builder`]: `plugin build`; [`doctor`]: `doctor`; [`bench`]: `bench`, the end-to-end load tool.

mod access;
mod alerts;
pub mod bench;
pub mod builder;
pub mod client;
mod dlq;
pub mod doctor;
mod lookup;
pub mod ops;
mod plugin;
pub mod runner;
mod trace;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

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
        command: plugin::PluginCommand,
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
        #[arg(long, env = "MILLWRIGHT_ADMIN_ADDR", default_value = crate::admin::DEFAULT_ADDR)]
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
        /// Serve the admin API over HTTPS with this certificate chain (PEM); with --admin-tls-key. Wins over the
        /// file's [admin] tls_cert.
        #[arg(long, env = "MILLWRIGHT_ADMIN_TLS_CERT", requires = "admin_tls_key")]
        admin_tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --admin-tls-cert.
        #[arg(long, env = "MILLWRIGHT_ADMIN_TLS_KEY", requires = "admin_tls_cert")]
        admin_tls_key: Option<PathBuf>,
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
    /// Dead letters: list them, replay them, discard one with a reason.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// Master-data tables (units, items, locations ...): load a new version, list, show, roll back — on every
    /// host of a running service at once, through its admin API.
    Lookup {
        #[command(subcommand)]
        command: lookup::LookupCommand,
    },
    /// Alerts the plant's rules raised (a consumption quarantined ...): list, show, acknowledge, resolve.
    Alerts {
        #[command(subcommand)]
        command: alerts::AlertsCommand,
    },
    /// Which business rules a tenant runs and how they are tuned: show, set, reset to the file's — on every host
    /// of a running service at once, through its admin API.
    Rules {
        #[command(subcommand)]
        command: alerts::RulesCommand,
    },
    /// What the quarantine rule holds back (consumption of held lots): list, release or discard one message.
    Quarantine {
        #[command(subcommand)]
        command: alerts::QuarantineCommand,
    },
    /// API tokens: make one for a role (platform-admin, tenant-admin, partner, viewer), list, revoke.
    Token {
        #[command(subcommand)]
        command: access::TokenCommand,
    },
    /// The changes asked of the admin API: who, what, when, the outcome.
    Audit(access::AuditArgs),
    /// A business key's timeline: every input, event, output, acknowledgment, dead letter, quarantine, release
    /// and alert that touched `po:<order>`, `shipment:<id>`, `lot:<lot>`, `wo:<work order>` or a correlation id.
    Trace(trace::TraceArgs),
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
        /// Run the tenant with every business rule on, tuned as examples/plant runs them (quarantine,
        /// order-change, receipt-discrepancy, over-consumption and the service levels); without, none is.
        #[arg(long)]
        rules: bool,
        /// Run the tenant with its trace index on, as `serve` does by default; without, it is off.
        #[arg(long)]
        trace: bool,
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
    /// Write the nats-server accounts block for the file's partners: each gets a user that may publish only to
    /// its sources and consume its targets through a durable consumer of its own; the hosts get the user
    /// `millwright`. Passwords stay in the server's environment (the block names each variable).
    NatsConfig {
        /// The configuration file `serve` runs with.
        #[arg(long, env = "MILLWRIGHT_CONFIG")]
        config: PathBuf,
        /// Write the block to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
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
    /// A CA certificate (PEM) to trust for an https:// admin URL, besides the system's roots.
    #[arg(long, env = "MILLWRIGHT_ADMIN_CA")]
    ca_file: Option<PathBuf>,
}

impl ApiArgs {
    fn target(self) -> client::ApiTarget {
        client::ApiTarget {
            url: self.admin_url,
            token: self.token,
            ca_file: self.ca_file,
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

/// Runs the command the arguments name; the process's exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service says what it does; the one-shot commands only warn, except that a plugin run offline shows
    // its author the plugin's own log lines.
    let default_level = match cli.command {
        Command::Serve { .. } => "info,async_nats=warn",
        Command::Plugin {
            command: plugin::PluginCommand::Test { .. },
        } => "warn,plugin=debug",
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
            admin_tls_cert,
            admin_tls_key,
            shutdown_grace,
        } => {
            let config = crate::config::Config::load(&config)?;
            let tls = match (admin_tls_cert, admin_tls_key) {
                (Some(cert), Some(key)) => Some(crate::admin::AdminTls { cert, key }),
                _ => config.admin_tls.clone(),
            };
            let admin = crate::admin::AdminOptions {
                addr: admin_addr,
                token: admin_token,
                max_upload: max_upload_mb.saturating_mul(1 << 20),
                tls,
            };
            let runtime = runtime()?;
            let served = runtime.block_on(crate::serve::serve(
                config,
                crate::serve::ServeOptions {
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
            let report = runtime()?.block_on(bench::swap::run(bench::swap::SwapOptions {
                plugin,
                documents,
                rate,
                swaps,
                size,
                nats_url,
            }))?;
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
                let line = |name: &str, group: &bench::swap::Latency| {
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
            rules,
            trace,
            json,
            swaps: None,
            ..
        } => {
            let report = runtime()?.block_on(bench::run(bench::BenchOptions {
                documents,
                size,
                plugin,
                nats_url,
                workers,
                reuse,
                batch,
                rules,
                trace,
            }))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dlq { command } => dlq::run(command),
        Command::Lookup { command } => lookup::run(command),
        Command::Alerts { command } => alerts::run_alerts(command),
        Command::Quarantine { command } => alerts::run_quarantine(command),
        Command::Rules { command } => alerts::run_rules(command),
        Command::Trace(args) => trace::run(args),
        Command::Token { command } => access::run_token(command),
        Command::Audit(args) => access::run_audit(args),
        Command::NatsConfig { config: path, out } => {
            // The block names no secret of the file: a variable the file asks for may be unset here (a
            // stand-in that reads as a host, a port or a word takes its place).
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the configuration {}", path.display()))?;
            let config = crate::config::Config::parse(&text, &path, &|name| {
                Some(std::env::var(name).unwrap_or_else(|_| "0".into()))
            })?;
            let block = crate::bus::partners::accounts_block(&config);
            match out {
                Some(path) => {
                    std::fs::write(&path, block)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{block}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            print!("{}", runner::pretty(&crate::canonical::json_schema()?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print_json(&crate::admin::api())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => {
            let checks = doctor::run();
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
        Command::Plugin { command } => plugin::run(command),
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
