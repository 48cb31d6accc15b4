//! `millwright dlq list|replay|discard`: the tenant's dead letters, sending them back to their routes, and
//! discarding one for good with a reason (through a running host's admin API, which records the reason).

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;

use super::client::{answer, client, connect_error};
use super::{ApiArgs, NatsArgs, ops, runtime};
use crate::pipeline::dlq::ReplayOutcome;

#[derive(Debug, Subcommand)]
pub(super) enum DlqCommand {
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
            nats,
            tenant,
            route,
            json,
        } => {
            let target = nats.resolve()?;
            let letters =
                runtime()?.block_on(ops::dlq_list(&target, tenant.as_deref(), route.as_deref()))?;
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
    }
}
