//! `millwright lookup load|list|get|rollback`: a tenant's master-data tables, through a running host's admin API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use super::client::{ApiTarget, answer, client, connect_error};
use super::{ApiArgs, print_json, runtime, show};
use crate::admin::lookups::{LoadResult, TableContents, TableView};
use crate::names::{TableName, Tenant};

#[derive(Debug, Subcommand)]
pub(super) enum LookupCommand {
    /// Load a table from a CSV file as its new version, used by every host at once, without a restart.
    ///
    /// The file is a header row, then key,value rows, as the configuration's tables are. The host checks it
    /// whole — UTF-8, two columns on every line, no empty or repeated key, at least one row, at most 16 MiB — and
    /// refuses a bad one naming the line, changing nothing. The version before is kept for `lookup rollback`.
    /// Dead letters parked for the table are replayed on their own. A table loaded this way stays loaded across
    /// restarts: the configuration's file seeds a table only while the store has none. Exit status: 0 when
    /// loaded (or when the current version already holds these rows), 3 when refused.
    Load {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The table's name, as plugins look it up (`units`, `items`).
        table: String,
        /// The CSV file.
        file: PathBuf,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tables: version, rows, when and by whom it was loaded, and the previous version.
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
    /// Print a table's current version as CSV, or the value of one key.
    ///
    /// Exit status 3 when the table, or the key, does not exist.
    Get {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The table.
        table: String,
        /// Print only this key's value.
        key: Option<String>,
        /// Print the host's answer as JSON (the table's versions, and its rows).
        #[arg(long)]
        json: bool,
    },
    /// Make a table's previous version current again, on every host at once; the version it replaces becomes the
    /// previous one, so a second rollback goes forward again.
    ///
    /// Exit status 3 when the table has no previous version.
    Rollback {
        #[command(flatten)]
        api: ApiArgs,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The table.
        table: String,
        /// Print the host's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(command: LookupCommand) -> Result<ExitCode> {
    match command {
        LookupCommand::Load {
            api,
            tenant,
            table,
            file,
            json,
        } => {
            let path = table_path(&tenant, &table)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let target = api.target();
            let result: LoadResult = runtime()?.block_on(async {
                let response = client(&target)?
                    .put(target.endpoint(&path))
                    .bearer_auth(&target.token)
                    .header(reqwest::header::CONTENT_TYPE, "text/csv")
                    .body(bytes)
                    .send()
                    .await
                    .map_err(|err| connect_error(&target, err))?;
                answer(&target, response).await
            })?;
            show(json, &result, |r| describe_load(&tenant, r))?;
        }
        LookupCommand::List { api, tenant, json } => {
            Tenant::new(&tenant)?;
            let target = api.target();
            let tables: Vec<TableView> =
                runtime()?.block_on(get(&target, &format!("/tenants/{tenant}/lookups")))?;
            show(json, &tables, |t| describe_tables(&tenant, t))?;
        }
        LookupCommand::Get {
            api,
            tenant,
            table,
            key,
            json,
        } => {
            let path = table_path(&tenant, &table)?;
            let target = api.target();
            let contents: TableContents = runtime()?.block_on(async {
                let mut request = client(&target)?.get(target.endpoint(&path));
                if let Some(key) = &key {
                    request = request.query(&[("key", key)]);
                }
                let response = request
                    .bearer_auth(&target.token)
                    .send()
                    .await
                    .map_err(|err| connect_error(&target, err))?;
                answer(&target, response).await
            })?;
            match (json, &key) {
                (true, _) => print_json(&contents)?,
                (false, Some(_)) => {
                    for row in &contents.entries {
                        println!("{}", row.value);
                    }
                }
                (false, None) => print!("{}", as_csv(&contents)?),
            }
        }
        LookupCommand::Rollback {
            api,
            tenant,
            table,
            json,
        } => {
            let path = format!("{}/rollback", table_path(&tenant, &table)?);
            let target = api.target();
            let view: TableView = runtime()?.block_on(async {
                let response = client(&target)?
                    .post(target.endpoint(&path))
                    .bearer_auth(&target.token)
                    .send()
                    .await
                    .map_err(|err| connect_error(&target, err))?;
                answer(&target, response).await
            })?;
            show(json, &view, |v| describe_rollback(&tenant, v))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `/tenants/<tenant>/lookups/<table>`, once both are names (so neither can reach another path of the API).
fn table_path(tenant: &str, table: &str) -> Result<String> {
    let (tenant, table) = (Tenant::new(tenant)?, TableName::new(table)?);
    Ok(format!("/tenants/{tenant}/lookups/{table}"))
}

async fn get<T: serde::de::DeserializeOwned>(target: &ApiTarget, path: &str) -> Result<T> {
    let response = client(target)?
        .get(target.endpoint(path))
        .bearer_auth(&target.token)
        .send()
        .await
        .map_err(|err| connect_error(target, err))?;
    answer(target, response).await
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

fn describe_load(tenant: &str, result: &LoadResult) -> String {
    let t = &result.table;
    if !result.created {
        return format!(
            "{tenant}/{}: version {} already holds these rows; nothing changed\n",
            t.table, t.version
        );
    }
    format!(
        "loaded {tenant}/{} version {} ({} rows, sha256 {}){}; in use on this host: {}\n",
        t.table,
        t.version,
        t.rows,
        short(&t.sha256),
        t.previous
            .as_ref()
            .map(|p| format!(", previous version {} kept for a rollback", p.version))
            .unwrap_or_default(),
        in_use(t)
    )
}

fn describe_rollback(tenant: &str, t: &TableView) -> String {
    format!(
        "{tenant}/{}: back to version {} ({} rows, loaded {} by {}){}; in use on this host: {}\n",
        t.table,
        t.version,
        t.rows,
        t.loaded_at,
        t.loaded_by.as_deref().unwrap_or("unknown"),
        t.previous
            .as_ref()
            .map(|p| format!("; version {} is now the previous one", p.version))
            .unwrap_or_default(),
        in_use(t)
    )
}

fn in_use(t: &TableView) -> String {
    t.in_use_here
        .map_or_else(|| "none yet".to_string(), |v| format!("version {v}"))
}

fn describe_tables(tenant: &str, tables: &[TableView]) -> String {
    if tables.is_empty() {
        return format!("tenant {tenant} has no lookup tables\n");
    }
    let mut out = format!(
        "{:<20} {:>7} {:>7}  {:<26} {:<24} {}\n",
        "table", "version", "rows", "loaded at", "by", "previous"
    );
    for t in tables {
        out.push_str(&format!(
            "{:<20} {:>7} {:>7}  {:<26} {:<24} {}\n",
            t.table,
            t.version,
            t.rows,
            t.loaded_at,
            t.loaded_by.as_deref().unwrap_or("-"),
            t.previous
                .as_ref()
                .map_or_else(|| "-".to_string(), |p| p.version.to_string())
        ));
    }
    out
}

/// The rows as CSV with their header row, as `lookup load` takes them back.
fn as_csv(contents: &TableContents) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(&contents.columns)?;
    for row in &contents.entries {
        writer.write_record([&row.key, &row.value])?;
    }
    let bytes = writer.into_inner().context("writing CSV")?;
    String::from_utf8(bytes).context("writing CSV")
}
