//! `millwright plugin …`: build, test offline, push, list, activate, roll back, resume, and sign plugins.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::Value;

use super::runner::{self, Outcome, RunOptions, Runner};
use super::{ApiArgs, SlotArgs, default_cache_dir, runtime, show};

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(super) enum PluginCommand {
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
    /// Lift a slot's suspension on the host: its routes take their waiting messages again at once.
    ///
    /// A slot is suspended when its active version failed too many inputs in a row (the routes'
    /// `suspend_after`); `plugin list` shows it. A successful probe or activating another version lifts it too.
    Resume {
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

pub(super) fn run(command: PluginCommand) -> Result<ExitCode> {
    match command {
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
            let push = super::client::Push {
                plugin,
                tenant,
                slot,
                activate,
                fixtures,
                signature,
                no_shadow,
            };
            let progress = !json && std::io::stderr().is_terminal();
            let result =
                runtime()?.block_on(super::client::push(&api.target(), &push, progress))?;
            show(json, &result, super::client::describe_upload)?;
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Keygen { out } => {
            use crate::registry::signature;
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|err| anyhow::anyhow!("making a key: {err}"))?;
            let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, seed);
            let public = signature::public_key_of(&secret)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
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
            let bytes =
                std::fs::read(&plugin).with_context(|| format!("reading {}", plugin.display()))?;
            let secret = std::fs::read_to_string(&key)
                .with_context(|| format!("reading the key {}", key.display()))?;
            let signature = crate::registry::signature::sign(&bytes, secret.trim())?;
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
            let slots = runtime()?.block_on(super::client::list(
                &api.target(),
                &tenant,
                slot.as_deref(),
            ))?;
            show(json, slots.as_slice(), super::client::describe_slots)?;
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
                (_, Some(sha)) => super::client::Which::Sha(sha),
                (Some(version), None) => super::client::Which::Version(version),
                (None, None) => anyhow::bail!("say which version: --version or --sha"),
            };
            let result = runtime()?.block_on(super::client::activate(
                &api.target(),
                &tenant,
                &slot,
                &which,
            ))?;
            show(json, &result, super::client::describe_activation)?;
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Rollback {
            api,
            at: SlotArgs { tenant, slot },
            json,
        } => {
            let result =
                runtime()?.block_on(super::client::rollback(&api.target(), &tenant, &slot))?;
            show(json, &result, super::client::describe_activation)?;
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Resume {
            api,
            at: SlotArgs { tenant, slot },
            json,
        } => {
            let slot = runtime()?.block_on(super::client::resume(&api.target(), &tenant, &slot))?;
            show(json, &slot, |slot| {
                super::client::describe_slots(std::slice::from_ref(slot))
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Build { plugins_dir, debug } => {
            let written = super::builder::build_all(&plugins_dir, !debug)?;
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
    }
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
