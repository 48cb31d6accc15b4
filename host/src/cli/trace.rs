//! `millwright trace`: a business key's timeline — every input, event, output, acknowledgment, dead letter,
//! quarantine, release and alert that touched it — through a running host's admin API, one line per entry.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use super::client::{call, path};
use super::{ApiArgs, runtime, show};
use crate::trace::{Entry, Timeline};

/// `millwright trace --tenant T KEY [--json]`.
#[derive(Debug, clap::Args)]
pub(super) struct TraceArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// `po:<order>`, `shipment:<id>`, `lot:<lot>`, `wo:<work order>`, `cid:<correlation id>`, or a bare
    /// correlation id.
    key: String,
    /// Print the host's answer as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: TraceArgs) -> Result<ExitCode> {
    let key = crate::trace::Key::parse(&args.key)?;
    let path = path(&args.tenant, &["trace", &key.to_string()])?;
    let timeline: Timeline = runtime()?.block_on(call(&args.api.target(), &path, None))?;
    show(args.json, &timeline, describe)?;
    Ok(ExitCode::SUCCESS)
}

/// One line per entry, oldest first: time, what happened, subject, stream/sequence, route, event type, id.
fn describe(timeline: &Timeline) -> String {
    let mut out = String::new();
    if timeline.entries.is_empty() {
        let _ = writeln!(out, "nothing recorded for {}", timeline.key);
    } else if !timeline.followed.is_empty() {
        let _ = writeln!(
            out,
            "{}, with {}",
            timeline.key,
            timeline.followed.join(", ")
        );
    }
    for entry in &timeline.entries {
        let _ = writeln!(out, "{}", line(entry));
    }
    if timeline.truncated {
        let _ = writeln!(
            out,
            "(more recorded than one answer holds; the first shown)"
        );
    }
    if !timeline.recording {
        let _ = writeln!(out, "(this tenant records no trace now: trace = false)");
    }
    out
}

fn line(entry: &Entry) -> String {
    let at = entry.at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    let place = match (&entry.stream, entry.sequence) {
        (Some(stream), Some(sequence)) => format!("{stream}/{sequence}"),
        (Some(stream), None) => stream.clone(),
        _ => "-".into(),
    };
    let mut line = format!(
        "{at}  {:<11}  {}  {place}  route={}  {}id={}",
        entry.kind.as_str(),
        entry.subject,
        entry.route.as_deref().unwrap_or("-"),
        entry
            .event_type
            .as_deref()
            .map(|t| format!("type={t}  "))
            .unwrap_or_default(),
        entry.id,
    );
    if let Some(note) = &entry.note {
        let _ = write!(line, "  ({note})");
    }
    line
}
