//! `millwright dlq list|replay`: the tenant's dead letters, and sending them back to their routes.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::{NatsArgs, ops, runtime};
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
}

pub(super) fn run(command: DlqCommand) -> Result<ExitCode> {
    match command {
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
