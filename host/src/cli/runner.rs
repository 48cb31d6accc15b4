//! The offline runner: a plugin and some files, no NATS, no server.
//!
//! This is how a partner tests a mapping before uploading it (`millwright plugin test`), and how the golden tests
//! drive the reference plugins: the same engine, limits and host imports as `serve`, with the inputs read from
//! files and the output compared against an expected file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::{Engine, EngineOptions};
use crate::host_api::{Clock, FixedClock, Lookups, SlotContext, SystemClock};
use crate::invoke::{
    Envelope, Event, InstancePolicy, InvokeError, Limits, Mapper, OutboundDocument,
};
use crate::plugin::{Plugin, World};

/// What to run and with which surroundings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The tenant the run pretends to be (default `offline`).
    pub tenant: Option<String>,
    /// The source name put on the envelope (default: the plugin's name).
    pub source: Option<String>,
    /// Partner profile values.
    pub config: Vec<(String, String)>,
    /// Master-data tables: name and CSV file.
    pub lookups: Vec<(String, PathBuf)>,
    /// Pin the host clock (RFC 3339), for reproducible output.
    pub now: Option<jiff::Timestamp>,
    /// Outbound mappers: the target name.
    pub target: Option<String>,
    /// Where compiled plugins are cached, if anywhere.
    pub cache_dir: Option<PathBuf>,
}

/// What one input produced.
#[derive(Debug)]
pub enum Outcome {
    /// Canonical events (inbound) as JSON.
    Events(Vec<Value>),
    /// Documents (outbound).
    Documents(Vec<OutboundDocument>),
    /// The plugin refused the input or failed.
    Failed(InvokeError),
}

/// A loaded plugin with its surroundings, ready to run files.
#[derive(Debug)]
pub struct Runner {
    mapper: Mapper,
    options: RunOptions,
}

impl Runner {
    /// Loads, validates and describes the plugin at `path`.
    pub fn new(path: &Path, options: RunOptions) -> Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading plugin {}", path.display()))?;
        let engine = Engine::new(&EngineOptions {
            cache_dir: options.cache_dir.clone(),
            ..EngineOptions::default()
        })?;
        let plugin = Plugin::load(&engine, &path.display().to_string(), &bytes)?;
        let mut lookups = Lookups::default();
        for (table, file) in &options.lookups {
            lookups.load_csv(table, file)?;
        }
        let clock: Arc<dyn Clock> = match options.now {
            Some(now) => Arc::new(FixedClock(now)),
            None => Arc::new(SystemClock),
        };
        let tenant = options.tenant.clone().unwrap_or_else(|| "offline".into());
        let mut slot = SlotContext::new(tenant, "offline")
            .with_lookups(lookups)
            .with_clock(clock);
        for (key, value) in &options.config {
            slot = slot.with_config(key, value);
        }
        let mapper = Mapper::new(
            &engine,
            plugin,
            slot,
            Limits::default(),
            InstancePolicy::Fresh,
        )?;
        engine.keep(&mapper.plugin().component, &mapper.plugin().sha256);
        Ok(Self { mapper, options })
    }

    /// The loaded mapper.
    pub fn mapper(&self) -> &Mapper {
        &self.mapper
    }

    /// Runs one input file. For an inbound mapper the file is the document; for an outbound mapper it is one
    /// canonical event, or an array of them, as JSON.
    pub fn run_file(&self, input: &Path) -> Result<Outcome> {
        let payload =
            std::fs::read(input).with_context(|| format!("reading input {}", input.display()))?;
        match self.mapper.plugin().world {
            World::Inbound => Ok(self.run_document(input, payload)),
            World::Outbound => self.run_events(input, &payload),
        }
    }

    /// Maps one document held in memory; `name` stands for its file name.
    pub fn run_document(&self, name: &Path, payload: Vec<u8>) -> Outcome {
        // Ids derived from the content, so the same file gives the same output on every run.
        let digest = hex::encode(&Sha256::digest(&payload)[..8]);
        let now = self.options.now.unwrap_or_else(jiff::Timestamp::now);
        let envelope = Envelope {
            source: self
                .options
                .source
                .clone()
                .unwrap_or_else(|| self.mapper.info().name.clone()),
            message_id: format!("file-{digest}"),
            correlation_id: format!("offline-{digest}"),
            received_at: now,
            content_type: None,
            file_name: name.file_name().map(|n| n.to_string_lossy().into_owned()),
            headers: Vec::new(),
            payload: payload.into(),
        };
        match self.mapper.session().map(&envelope) {
            Ok(events) => Outcome::Events(events.iter().map(Event::value).collect()),
            Err(err) => Outcome::Failed(err),
        }
    }

    fn run_events(&self, input: &Path, payload: &[u8]) -> Result<Outcome> {
        let json: Value = serde_json::from_slice(payload).with_context(|| {
            format!(
                "{}: not JSON; an outbound mapper takes canonical events",
                input.display()
            )
        })?;
        let events = match json {
            Value::Array(events) => events,
            event => vec![event],
        };
        let target = self
            .options
            .target
            .clone()
            .unwrap_or_else(|| "offline".into());
        // Keys derived from the content, as for documents: each file's events draw control numbers of their own,
        // and the same file draws the same ones again.
        let digest = hex::encode(&Sha256::digest(payload)[..8]);
        let mut session = self.mapper.session();
        let mut documents = Vec::new();
        for (i, event) in events.iter().enumerate() {
            match session.render(
                event,
                &target,
                &format!("offline-{digest}"),
                &format!("file-{digest}:{i}"),
            ) {
                Ok(docs) => documents.extend(docs),
                Err(err) => return Ok(Outcome::Failed(err)),
            }
        }
        Ok(Outcome::Documents(documents))
    }
}

/// A readable line diff between the expected and actual JSON, or none when they are equal.
pub fn diff_json(expected: &Value, actual: &Value) -> Option<String> {
    if expected == actual {
        return None;
    }
    let expected = pretty(expected);
    let actual = pretty(actual);
    let diff = similar::TextDiff::from_lines(&expected, &actual);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header("expected", "actual")
            .to_string(),
    )
}

/// JSON as the runner prints it: two-space indentation and a final newline.
pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Parses `key=value`.
pub fn parse_pair(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => bail!("{text:?} is not key=value"),
    }
}
