//! `millwright token create|list|revoke` and `millwright audit`: who may call the admin API, and what was asked
//! of it, through a running host's admin API.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use super::client::{call, call_with, encode};
use super::{ApiArgs, runtime, show};
use crate::access::audit::AuditRecord;
use crate::access::tokens::TokenRecord;
use crate::access::{Created, Role};

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Make a token and print it once (it is kept only as a hash: store it now).
    ///
    /// Roles: platform-admin (everything), tenant-admin (everything inside --tenant), partner (upload, list,
    /// activate and roll back --slot's versions of --tenant, read their routes' dead letters), viewer (reads
    /// --tenant, or every tenant without it). A tenant admin makes partner and viewer tokens of its own tenant.
    Create {
        #[command(flatten)]
        api: ApiArgs,
        /// platform-admin, tenant-admin, partner or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The tenant it covers.
        #[arg(long)]
        tenant: Option<String>,
        /// A partner's slot (repeatable).
        #[arg(long = "slot")]
        slots: Vec<String>,
        /// How long it works, e.g. 30d, 12h (default: until revoked).
        #[arg(long)]
        expires: Option<String>,
        /// What it is for (default: the role and tenant).
        #[arg(long)]
        name: Option<String>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the tokens you manage: id, name, role, what it covers, expiry, whether revoked.
    List {
        #[command(flatten)]
        api: ApiArgs,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: every host refuses it from then on. Exit status 3 when there is no such token.
    Revoke {
        #[command(flatten)]
        api: ApiArgs,
        /// The token's id (`tok_…`, as `token list` shows it).
        id: String,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `millwright audit`'s arguments.
#[derive(Debug, clap::Args)]
pub(super) struct AuditArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// Only this tenant's changes (a tenant admin sees only its own).
    #[arg(long)]
    tenant: Option<String>,
    /// How far back, e.g. 24h, 7d.
    #[arg(long, default_value = "24h")]
    since: String,
    /// The newest this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

pub(super) fn run_token(command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Create {
            api,
            role,
            tenant,
            slots,
            expires,
            name,
            json,
        } => {
            let name = name.unwrap_or_else(|| match &tenant {
                Some(tenant) => format!("{role} of {tenant}"),
                None => role.to_string(),
            });
            let body = json!({
                "name": name,
                "role": role,
                "tenant": tenant,
                "slots": slots,
                "expires": expires,
            });
            let created: Created =
                runtime()?.block_on(call(&api.target(), "/tokens", Some(body)))?;
            show(json, &created, |c| {
                format!(
                    "{}\n\n{} ({}) {}{}\nThe token is shown this once: store it now. `millwright token revoke {}` ends it.\n",
                    c.token,
                    c.record.id,
                    c.record.name,
                    covers(&c.record),
                    c.record
                        .expires_at
                        .map(|at| format!(", expires {at}"))
                        .unwrap_or_default(),
                    c.record.id
                )
            })?;
        }
        TokenCommand::List { api, json } => {
            let tokens: Vec<TokenRecord> =
                runtime()?.block_on(call(&api.target(), "/tokens", None))?;
            show(json, &tokens, |tokens| {
                if tokens.is_empty() {
                    return "no tokens (besides the bootstrap platform-admin's)\n".into();
                }
                let mut out = format!(
                    "{:<20} {:<24} {:<40} {:<22} state\n",
                    "id", "name", "role", "expires"
                );
                let now = jiff::Timestamp::now();
                for t in tokens {
                    let state = if let Some(at) = t.revoked_at {
                        format!("revoked {at} by {}", t.revoked_by.as_deref().unwrap_or("?"))
                    } else if t.live(now) {
                        "live".into()
                    } else {
                        "expired".into()
                    };
                    out.push_str(&format!(
                        "{:<20} {:<24} {:<40} {:<22} {state}\n",
                        t.id,
                        t.name,
                        covers(t),
                        t.expires_at
                            .map(|at| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                            .unwrap_or_else(|| "never".into()),
                    ));
                }
                out
            })?;
        }
        TokenCommand::Revoke { api, id, json } => {
            let record: TokenRecord = runtime()?.block_on(call_with(
                &api.target(),
                reqwest::Method::DELETE,
                &format!("/tokens/{}", encode(&id)),
                None,
            ))?;
            show(json, &record, |r| {
                format!(
                    "revoked {} ({}) by {}\n",
                    r.id,
                    r.name,
                    r.revoked_by.as_deref().unwrap_or("?")
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a token covers, in words: `partner of acme (supplier-856)`.
fn covers(record: &TokenRecord) -> String {
    let grant = &record.grant;
    let mut text = grant.role.to_string();
    match &grant.tenant {
        Some(tenant) => text.push_str(&format!(" of {tenant}")),
        None if grant.role == Role::Viewer => text.push_str(" of every tenant"),
        None => {}
    }
    if !grant.slots.is_empty() {
        let slots: Vec<&str> = grant.slots.iter().map(|s| s.as_str()).collect();
        text.push_str(&format!(" ({})", slots.join(", ")));
    }
    text
}

pub(super) fn run_audit(args: AuditArgs) -> Result<ExitCode> {
    let mut path = format!("/audit?since={}&limit={}", encode(&args.since), args.limit);
    if let Some(tenant) = &args.tenant {
        path.push_str(&format!("&tenant={}", encode(tenant)));
    }
    let records: Vec<AuditRecord> = runtime()?.block_on(call(&args.api.target(), &path, None))?;
    show(args.json, &records, |records| {
        if records.is_empty() {
            return "no changes in that time\n".into();
        }
        let mut out = String::new();
        for r in records {
            out.push_str(&format!(
                "{}  {:<8} {:>3} {:<6} {} {}\n",
                r.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                r.outcome,
                r.status,
                r.method,
                r.path,
                r.who
            ));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}
