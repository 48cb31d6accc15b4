//! The `millwright` command: parses arguments, sets up logging, and hands each subcommand to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use millwright::ops;
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
    },
    /// Print the JSON Schema of canonical events as the host publishes them.
    Schema,
    /// Check this machine: toolchain, wasm target, pooling allocator, nats-server, componentize-py.
    Doctor,
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
        } => {
            let config = millwright::config::Config::load(&config)?;
            runtime()?.block_on(millwright::serve::serve(
                config,
                millwright::serve::ServeOptions { nats_url, data_dir },
            ))?;
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
            workers,
            reuse,
            batch,
            json,
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
                let replayed = runtime()?.block_on(ops::dlq_replay(
                    &target,
                    tenant.as_deref(),
                    route.as_deref(),
                    &id,
                    all,
                ))?;
                for r in &replayed {
                    println!("replayed {} → {}", r.id, r.subject);
                }
                if replayed.is_empty() {
                    eprintln!("nothing to replay");
                }
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Schema => {
            print!("{}", runner::pretty(&millwright::canonical::json_schema()?));
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
