//! `millwright dlq list|replay|discard`: the tenant's dead letters, sending them back to their routes, and
//! discarding one for good with a reason — through a running host's admin API, so the token's role governs
//! them (a partner sees the dead letters of the routes running its slots) and the audit log records them.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;

use super::client::{ApiTarget, answer, call, client, connect_error, encode, path};
use super::{ApiArgs, runtime};

#[derive(Debug, Subcommand)]
pub(super) enum DlqCommand {
    /// List dead letters: id, route, class, attempts, error.
    List {
        #[command(flatten)]
        api: ApiArgs,
        /// Only this tenant's (default: every tenant the token covers).
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
        api: ApiArgs,
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
    /// Discard a dead letter for good, with a reason: recorded in the trace of its flow, and as the resolution
    /// of its `dead-letter-aged` alert. Goes through a running host's admin API. Exit status 3 when there is no
    /// such dead letter or no reason.
    Discard {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The dead letter: `<tenant>/<sequence>` as `dlq list` prints it, or the sequence alone.
        #[arg(long)]
        id: String,
        /// Why it is discarded (required).
        #[arg(long)]
        reason: String,
    },
}

pub(super) fn run(command: DlqCommand) -> Result<ExitCode> {
    match command {
        DlqCommand::Discard {
            api,
            tenant,
            id,
            reason,
        } => {
            let tenant = crate::names::Tenant::new(&tenant)?;
            let sequence = match id.split_once('/') {
                Some((named, _)) if named != tenant.as_str() => {
                    bail!("dead letter {id} is not tenant {tenant}'s")
                }
                Some((_, sequence)) => sequence,
                None => id.as_str(),
            };
            let sequence: u64 = sequence.parse().map_err(|_| {
                anyhow!(
                    "{id:?} is not a dead letter id: `<tenant>/<sequence>` as `dlq list` prints it"
                )
            })?;
            let target = api.target();
            let report: serde_json::Value = runtime()?.block_on(async {
                let response = client(&target)?
                    .post(target.endpoint(&format!(
                        "/tenants/{tenant}/dead-letters/{sequence}/discard"
                    )))
                    .bearer_auth(&target.token)
                    .json(&serde_json::json!({ "reason": reason }))
                    .send()
                    .await
                    .map_err(|err| connect_error(&target, err))?;
                answer(&target, response).await
            })?;
            println!(
                "discarded {} by {}: {}",
                report["id"].as_str().unwrap_or(&id),
                report["by"].as_str().unwrap_or("?"),
                report["reason"].as_str().unwrap_or(&reason)
            );
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::List {
            api,
            tenant,
            route,
            json,
        } => {
            let target = api.target();
            let letters =
                runtime()?.block_on(list(&target, tenant.as_deref(), route.as_deref()))?;
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
                    let text = |key: &str| l[key].as_str().unwrap_or_default().to_string();
                    let mut class = text("class");
                    if l["parked"] == true {
                        class.push_str(" (parked)");
                    }
                    println!(
                        "{:<16} {:<20} {:<18} {:>8}  {}",
                        text("id"),
                        text("route"),
                        class,
                        l["attempts"].as_u64().unwrap_or_default(),
                        text("error")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Replay {
            api,
            tenant,
            route,
            id,
            all,
        } => {
            let target = api.target();
            let results =
                runtime()?.block_on(replay(&target, tenant.as_deref(), route, &id, all))?;
            let mut missed = 0;
            for result in &results {
                let text = |key: &str| result[key].as_str().unwrap_or_default().to_string();
                let id = text("id");
                match text("outcome").as_str() {
                    "replayed" => {
                        println!("replayed {id} → {}", text("subject"));
                        if let Some(note) = result["error"].as_str() {
                            eprintln!("warning: {id}: {note}");
                        }
                    }
                    "not-found" => {
                        missed += 1;
                        eprintln!(
                            "not found: {id} (already replayed or discarded, or never there)"
                        );
                    }
                    _ => {
                        missed += 1;
                        eprintln!(
                            "failed: {id}: {} (it stays in the dead letters)",
                            text("error")
                        );
                    }
                }
            }
            if results.is_empty() {
                eprintln!("nothing to replay");
            }
            Ok(if missed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// The dead letters of `tenant` (or of every tenant the token covers), of one route or all.
async fn list(
    target: &ApiTarget,
    tenant: Option<&str>,
    route: Option<&str>,
) -> Result<Vec<serde_json::Value>> {
    let tenants: Vec<String> = match tenant {
        Some(tenant) => vec![tenant.to_string()],
        None => {
            let listed: Vec<serde_json::Value> = call(target, "/tenants", None).await?;
            listed
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        }
    };
    let mut letters = Vec::new();
    for tenant in tenants {
        let mut path = path(&tenant, &["dead-letters"])?;
        if let Some(route) = route {
            path.push_str(&format!("?route={}", encode(route)));
        }
        let some: Vec<serde_json::Value> = call(target, &path, None).await?;
        letters.extend(some);
    }
    Ok(letters)
}

/// Replays `ids` (`<tenant>/<sequence>`, or sequences of `tenant`), or all of `tenant` (and `route`): one request
/// per tenant; every id's outcome.
async fn replay(
    target: &ApiTarget,
    tenant: Option<&str>,
    route: Option<String>,
    ids: &[String],
    all: bool,
) -> Result<Vec<serde_json::Value>> {
    let mut asked: Vec<(String, serde_json::Value)> = Vec::new();
    if all {
        let tenant = tenant.ok_or_else(|| anyhow!("--all needs --tenant"))?;
        asked.push((
            tenant.to_string(),
            serde_json::json!({ "all": true, "route": route }),
        ));
    } else {
        let mut by_tenant: Vec<(String, Vec<u64>)> = Vec::new();
        for id in ids {
            let (named, sequence) = match id.split_once('/') {
                Some((named, sequence)) => (named, sequence),
                None => (
                    tenant.ok_or_else(|| {
                        anyhow!("{id:?} names no tenant: use `<tenant>/<sequence>` as `dlq list` prints it, or --tenant")
                    })?,
                    id.as_str(),
                ),
            };
            let sequence: u64 = sequence.parse().map_err(|_| {
                anyhow!(
                    "{id:?} is not a dead letter id: `<tenant>/<sequence>` as `dlq list` prints it"
                )
            })?;
            match by_tenant.iter_mut().find(|(t, _)| t == named) {
                Some((_, sequences)) => sequences.push(sequence),
                None => by_tenant.push((named.to_string(), vec![sequence])),
            }
        }
        for (tenant, sequences) in by_tenant {
            asked.push((tenant, serde_json::json!({ "ids": sequences })));
        }
    }
    let mut results = Vec::new();
    for (tenant, body) in asked {
        let report: serde_json::Value = call(
            target,
            &path(&tenant, &["dead-letters", "replay"])?,
            Some(body),
        )
        .await?;
        if let Some(some) = report["results"].as_array() {
            results.extend(some.iter().cloned());
        }
    }
    Ok(results)
}
