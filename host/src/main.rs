//! The `millwright` command: parses arguments, sets up logging, and hands each subcommand to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use millwright::runner::{self, Outcome, RunOptions, Runner};
use serde_json::Value;

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
    /// Print the JSON Schema of canonical events as the host publishes them.
    Schema,
    /// Check this machine: toolchain, wasm target, pooling allocator, nats-server, componentize-py.
    Doctor,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MILLWRIGHT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(3)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
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
