//! `millwright rules show|set|reset`, `millwright alerts list|show|ack|resolve` and
//! `millwright quarantine list|release|discard`: which rules run, what they raised and what they hold back,
//! through a running host's admin API.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::client::{call, call_with, path};
use super::{ApiArgs, runtime, show};
use crate::rules::RulesInForce;
use crate::rules::alerts::{Alert, AlertState};
use crate::rules::quarantine::{Fate, LotState};

#[derive(Debug, Subcommand)]
pub(super) enum AlertsCommand {
    /// List a tenant's alerts, newest first: id, kind, state, what it is about.
    List {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Only the alerts in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one alert whole: its message, what it concerns, who acknowledged and resolved it.
    Show {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The alert's id (`quarantine:QH-240618-003:B2406-17`).
        id: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an open alert: you are on it. Exit status 3 when it does not exist or is resolved.
    Ack {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The alert's id.
        id: String,
        /// A note, kept with the acknowledgment.
        #[arg(long)]
        note: Option<String>,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Resolve an alert. Exit status 3 when it does not exist.
    Resolve {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The alert's id.
        id: String,
        /// A note, kept with the resolution.
        #[arg(long)]
        note: Option<String>,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// An alert's state, as the CLI takes it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum StateArg {
    Open,
    Acknowledged,
    Resolved,
}

#[derive(Debug, Subcommand)]
pub(super) enum QuarantineCommand {
    /// List the lots that hold messages back (or held them), each message with its fate.
    List {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish one message a lot holds back, as a release of the lot would. Exit status 3 when there is no such
    /// message or it was decided already.
    Release {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The lot.
        lot: String,
        /// The message's sequence, as `quarantine list` shows it.
        sequence: u64,
        /// Why (required): recorded with the decision.
        #[arg(long)]
        reason: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drop one message a lot holds back: it goes nowhere, and the decision is recorded.
    Discard {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The lot.
        lot: String,
        /// The message's sequence, as `quarantine list` shows it.
        sequence: u64,
        /// Why (required): recorded with the decision.
        #[arg(long)]
        reason: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum RulesCommand {
    /// Show the rules a tenant runs, their settings, and whether they are the file's or the API's.
    Show {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change settings on every host, over the file's: `quarantine=true order-change=false ack-overdue=4h`. The
    /// others stay as they are in force; `NAME=` (nothing after) turns a setting off or back to its default.
    Set {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// `NAME=VALUE`, as `[tenants.<t>.rules]` writes them.
        #[arg(required = true, value_name = "NAME=VALUE")]
        settings: Vec<String>,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget the settings put through the API: every host runs the file's again.
    Reset {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run_alerts(command: AlertsCommand) -> Result<ExitCode> {
    match command {
        AlertsCommand::List {
            api,
            tenant,
            state,
            json,
        } => {
            let mut path = path(&tenant, &["alerts"])?;
            if let Some(state) = state {
                path.push_str(match state {
                    StateArg::Open => "?state=open",
                    StateArg::Acknowledged => "?state=acknowledged",
                    StateArg::Resolved => "?state=resolved",
                });
            }
            let alerts: Vec<Alert> = runtime()?.block_on(call(&api.target(), &path, None))?;
            show(json, &alerts, |a| describe_alerts(&tenant, a))?;
        }
        AlertsCommand::Show {
            api,
            tenant,
            id,
            json,
        } => {
            let path = path(&tenant, &["alerts", &id])?;
            let alert: Alert = runtime()?.block_on(call(&api.target(), &path, None))?;
            show(json, &alert, describe_alert)?;
        }
        AlertsCommand::Ack {
            api,
            tenant,
            id,
            note,
            json,
        } => {
            let path = path(&tenant, &["alerts", &id, "ack"])?;
            let alert: Alert =
                runtime()?.block_on(call(&api.target(), &path, Some(json!({"note": note}))))?;
            show(json, &alert, describe_alert)?;
        }
        AlertsCommand::Resolve {
            api,
            tenant,
            id,
            note,
            json,
        } => {
            let path = path(&tenant, &["alerts", &id, "resolve"])?;
            let alert: Alert =
                runtime()?.block_on(call(&api.target(), &path, Some(json!({"note": note}))))?;
            show(json, &alert, describe_alert)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_quarantine(command: QuarantineCommand) -> Result<ExitCode> {
    let (api, tenant, lot, sequence, reason, json, verb) = match command {
        QuarantineCommand::List { api, tenant, json } => {
            let path = path(&tenant, &["quarantine"])?;
            let lots: Vec<LotState> = runtime()?.block_on(call(&api.target(), &path, None))?;
            show(json, &lots, |l| describe_lots(&tenant, l))?;
            return Ok(ExitCode::SUCCESS);
        }
        QuarantineCommand::Release {
            api,
            tenant,
            lot,
            sequence,
            reason,
            json,
        } => (api, tenant, lot, sequence, reason, json, "release"),
        QuarantineCommand::Discard {
            api,
            tenant,
            lot,
            sequence,
            reason,
            json,
        } => (api, tenant, lot, sequence, reason, json, "discard"),
    };
    let path = path(&tenant, &["quarantine", &lot, &sequence.to_string(), verb])?;
    let state: LotState =
        runtime()?.block_on(call(&api.target(), &path, Some(json!({"reason": reason}))))?;
    show(json, &state, |s| {
        describe_lots(&tenant, std::slice::from_ref(s))
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_rules(command: RulesCommand) -> Result<ExitCode> {
    let (target, tenant, json, method, body) = match command {
        RulesCommand::Show { api, tenant, json } => {
            (api.target(), tenant, json, reqwest::Method::GET, None)
        }
        RulesCommand::Set {
            api,
            tenant,
            settings,
            json,
        } => {
            let changes = changes(&settings)?;
            let target = api.target();
            let current: RulesInForce =
                runtime()?.block_on(call(&target, &path(&tenant, &["rules"])?, None))?;
            let mut merged = serde_json::to_value(&current.settings)?;
            let object = merged
                .as_object_mut()
                .ok_or_else(|| anyhow::anyhow!("the host's rule settings are not an object"))?;
            for (name, value) in changes {
                match value {
                    Some(value) => object.insert(name, value),
                    None => object.remove(&name),
                };
            }
            (target, tenant, json, reqwest::Method::PUT, Some(merged))
        }
        RulesCommand::Reset { api, tenant, json } => {
            (api.target(), tenant, json, reqwest::Method::DELETE, None)
        }
    };
    let path = path(&tenant, &["rules"])?;
    let in_force: RulesInForce = runtime()?.block_on(call_with(&target, method, &path, body))?;
    show(json, &in_force, |r| describe_rules(&tenant, r))?;
    Ok(ExitCode::SUCCESS)
}

/// `NAME=VALUE` pairs: `true`/`false` and numbers as JSON, anything else as text; `NAME=` as None.
fn changes(pairs: &[String]) -> Result<Vec<(String, Option<serde_json::Value>)>> {
    pairs
        .iter()
        .map(|pair| {
            let Some((name, value)) = pair.split_once('=') else {
                anyhow::bail!(
                    "{pair:?}: write a setting as NAME=VALUE (quarantine=true, ack-overdue=4h)"
                );
            };
            let value = value.trim();
            let value = if value.is_empty() {
                None
            } else {
                Some(
                    serde_json::from_str::<serde_json::Value>(value)
                        .ok()
                        .filter(|v| v.is_boolean() || v.is_number())
                        .unwrap_or_else(|| json!(value)),
                )
            };
            Ok((name.trim().to_string(), value))
        })
        .collect()
}

fn describe_rules(tenant: &str, rules: &RulesInForce) -> String {
    let running = if rules.running.is_empty() {
        "none".to_string()
    } else {
        rules.running.join(", ")
    };
    let mut lines = vec![format!(
        "tenant {tenant} runs: {running} (settings from the {})",
        rules.source
    )];
    if let Ok(serde_json::Value::Object(settings)) = serde_json::to_value(&rules.settings) {
        for (name, value) in settings {
            lines.push(format!("  {name} = {value}"));
        }
    }
    lines.join("\n") + "\n"
}

fn state_word(state: AlertState) -> &'static str {
    match state {
        AlertState::Open => "open",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Resolved => "resolved",
    }
}

fn describe_alerts(tenant: &str, alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return format!("tenant {tenant} has no alerts");
    }
    alerts
        .iter()
        .map(|a| {
            format!(
                "{}  {:<12}  {:<8}  {}  {}",
                a.raised_at,
                state_word(a.state),
                a.severity,
                a.id,
                a.subject
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn describe_alert(alert: &Alert) -> String {
    let mut lines = vec![
        format!("{} ({}, {})", alert.id, alert.kind, alert.severity),
        format!("  {}", alert.message),
        format!(
            "  about {}; raised {}; correlation {}",
            alert.subject, alert.raised_at, alert.correlation_id
        ),
        format!("  state: {}", state_word(alert.state)),
    ];
    for (what, note) in [
        ("acknowledged", &alert.acknowledged),
        ("resolved", &alert.resolved),
    ] {
        if let Some(note) = note {
            lines.push(format!(
                "  {what} by {} at {}{}",
                note.by,
                note.at,
                note.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ));
        }
    }
    lines.join("\n")
}

fn describe_lots(tenant: &str, lots: &[LotState]) -> String {
    if lots.is_empty() {
        return format!("tenant {tenant} holds nothing back");
    }
    let mut lines = Vec::new();
    for lot in lots {
        let holds: Vec<&str> = lot.holds.iter().map(|h| h.hold_id.as_str()).collect();
        lines.push(format!(
            "lot {} ({:?}; holds {})",
            lot.lot,
            lot.status,
            holds.join(", ")
        ));
        for q in &lot.quarantined {
            let fate = match q.fate {
                Fate::Waiting => "waiting".to_string(),
                Fate::Released | Fate::Discarded => {
                    let decided = q.decided.as_ref();
                    format!(
                        "{} by {}{}",
                        if q.fate == Fate::Released {
                            "released"
                        } else {
                            "discarded"
                        },
                        decided.map_or("?", |d| d.by.as_str()),
                        decided
                            .and_then(|d| d.note.as_deref())
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    )
                }
            };
            lines.push(format!("  {:>6}  {:<22}  {fate}", q.sequence, q.event_type));
        }
    }
    lines.join("\n")
}
