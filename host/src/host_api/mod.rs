//! The host side of the WIT imports: what a plugin can ask the host for, and nothing more.
//!
//! `invoke` creates one [`HostState`] per store (so per message, with fresh instances). The state carries the
//! slot's partner profile, the tenant's master data (a snapshot taken when each call begins, and the tables the
//! call missed), the clock and the message's correlation id; the trait impls below answer the plugin's `host` and
//! `edi` calls from it. WASI is linked too, because Rust's std and
//! interpreted guests import a few WASI interfaces, but deny-by-default: no preopened directories, no environment,
//! no arguments, no network, stdin empty, a clock frozen at the Unix epoch (the only real clock is `host.now`),
//! and stderr captured into a small buffer whose contents are attached to a trap report. Whatever a plugin writes
//! reaches the host's log one line per event, tagged with the slot and version, control characters escaped. The WASI context is only
//! built if the plugin actually calls into WASI, so a plugin that never does pays nothing for it.

pub mod lookup;
pub mod time;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

pub use lookup::{LiveLookups, Lookups, Miss};
pub use time::{Clock, FixedClock, SystemClock};

/// Generated bindings for the contract: the imports implemented below, and the canonical types, which derive
/// serde's traits so events are written to JSON and read back straight from them.
///
/// The current contract (`wit/`, 0.2.0) is what the host speaks and publishes. Every published version before it
/// is bound too (`wit/published/<version>/`), so a plugin built against it keeps running: its imports are served
/// under their own version, and its events are read into the current types.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "inbound-mapper",
        imports: { default: trappable },
        anyhow: true,
        additional_derives: [serde::Serialize, serde::Deserialize],
    });

    /// Contract 0.1.0, for plugins built before 0.2.0.
    pub mod v0_1 {
        wasmtime::component::bindgen!({
            path: "../wit/published/0.1.0",
            world: "inbound-mapper",
            imports: { default: trappable },
            anyhow: true,
            additional_derives: [serde::Serialize, serde::Deserialize],
        });
    }
}

use bindings::millwright::adapter::sequences;

/// The longest log line a plugin may write; longer ones are cut.
const MAX_LOG_LINE: usize = 4096;
/// How many log lines one call may write before the rest are dropped.
const MAX_LOG_LINES: u32 = 200;
/// How much stderr is kept for a trap report.
const STDERR_CAPTURE: usize = 4096;
/// How many missed tables one call notes; a parked message names them in a header.
const MAX_MISSED_TABLES: usize = 16;

/// What a plugin in one slot sees of its surroundings: shared by every call in the slot.
#[derive(Clone)]
pub struct SlotContext {
    /// The tenant that owns the slot.
    pub tenant: String,
    /// The slot's name (a route or a partner mapping), for log lines.
    pub slot: String,
    /// The partner profile values the plugin reads with `config`.
    pub config: BTreeMap<String, String>,
    /// The tenant's master-data tables, as they change: each call takes a snapshot when it begins.
    pub lookups: LiveLookups,
    /// The clock behind `now`.
    pub clock: Arc<dyn Clock>,
    /// The numbers behind `sequences.next`.
    pub sequences: Arc<dyn Sequences>,
}

/// Where `sequences.next` keeps its numbers: JetStream for a running host, memory for an offline run.
pub trait Sequences: Send + Sync {
    /// The number of sequence `name` of `tenant` that the allocation `key` was given, or the next one (1 to
    /// `max`, then 1 again) when it was given none: the same key always gets the same number. Blocks.
    fn number(&self, tenant: &str, name: &str, key: &str, max: u64) -> Result<u64, String>;
}

/// One sequence in memory: its last number, and the number each allocation key was given.
type MemorySequence = (u64, std::collections::HashMap<String, u64>);

/// Sequences in memory: each name counts from 1, for offline runs and tests.
#[derive(Debug, Default)]
pub struct MemorySequences {
    numbers: std::sync::Mutex<std::collections::HashMap<String, MemorySequence>>,
}

impl Sequences for MemorySequences {
    fn number(&self, tenant: &str, name: &str, key: &str, max: u64) -> Result<u64, String> {
        let mut numbers = self.numbers.lock().unwrap_or_else(|e| e.into_inner());
        let (last, given) = numbers.entry(format!("{tenant}/{name}")).or_default();
        if let Some(number) = given.get(key) {
            return Ok(*number);
        }
        *last = if *last >= max.max(1) { 1 } else { *last + 1 };
        given.insert(key.to_string(), *last);
        Ok(*last)
    }
}

impl std::fmt::Debug for SlotContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotContext")
            .field("tenant", &self.tenant)
            .field("slot", &self.slot)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SlotContext {
    /// A context for `tenant`/`slot` with no profile values, no tables and the system clock.
    pub fn new(tenant: impl Into<String>, slot: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            slot: slot.into(),
            config: BTreeMap::new(),
            lookups: LiveLookups::default(),
            clock: Arc::new(SystemClock),
            sequences: Arc::new(MemorySequences::default()),
        }
    }

    /// Adds a partner profile value.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Uses these master-data tables, as they are.
    pub fn with_lookups(mut self, lookups: Lookups) -> Self {
        self.lookups = LiveLookups::new(lookups);
        self
    }

    /// Uses a tenant's live tables: every call sees them as they are when it begins.
    pub fn with_live_lookups(mut self, lookups: LiveLookups) -> Self {
        self.lookups = lookups;
        self
    }

    /// Uses this clock for `now`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps `sequences.next`'s numbers here.
    pub fn with_sequences(mut self, sequences: Arc<dyn Sequences>) -> Self {
        self.sequences = sequences;
        self
    }
}

/// The data of one store: one plugin instance's view of the host.
pub struct HostState {
    slot: Arc<SlotContext>,
    plugin: Arc<str>,
    correlation_id: String,
    /// The input this call maps, which keys the numbers `sequences.next` gives.
    input_key: String,
    /// How often each sequence was asked for in this call.
    sequence_calls: std::collections::HashMap<String, u32>,
    /// The master data this call sees, taken when it began.
    tables: Arc<Lookups>,
    /// The tables this call looked up and missed.
    missed: Vec<Miss>,
    log_lines: u32,
    pub(crate) limits: CallLimits,
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    stderr: Option<MemoryOutputPipe>,
}

impl HostState {
    pub(crate) fn new(slot: Arc<SlotContext>, plugin: Arc<str>, memory_bytes: usize) -> Self {
        Self {
            tables: slot.lookups.snapshot(),
            missed: Vec::new(),
            slot,
            plugin,
            correlation_id: String::new(),
            input_key: String::new(),
            sequence_calls: std::collections::HashMap::new(),
            log_lines: 0,
            limits: CallLimits {
                store: StoreLimitsBuilder::new()
                    .memory_size(memory_bytes)
                    .instances(64)
                    .tables(64)
                    .memories(8)
                    .trap_on_grow_failure(true)
                    .build(),
                memory_cap: memory_bytes,
                refused: None,
            },
            wasi: None,
            table: ResourceTable::new(),
            stderr: None,
        }
    }

    /// Starts a new call: the log budget is per call, log lines carry the message's correlation id, the
    /// numbers `sequences.next` gives are keyed by the input, so the same input gets the same numbers, and the
    /// call sees the tenant's tables as they are now, one version of each, to its end.
    pub(crate) fn begin_call(&mut self, correlation_id: &str, input_key: &str) {
        self.tables = self.slot.lookups.snapshot();
        self.missed.clear();
        self.correlation_id.clear();
        self.correlation_id.push_str(correlation_id);
        self.input_key.clear();
        self.input_key.push_str(input_key);
        self.sequence_calls.clear();
        self.log_lines = 0;
    }

    /// What the plugin wrote to stderr, if anything (a Rust panic message, a Python traceback), as one line for
    /// a trap report. Each line is also logged as an event of its own, with the tenant, slot, plugin version and
    /// correlation id, its control characters escaped, so nothing a plugin writes can pass for a host log line.
    pub(crate) fn take_stderr(&mut self) -> Option<String> {
        let pipe = self.stderr.as_ref()?;
        let bytes = pipe.contents();
        if bytes.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<String> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .map(escape_controls)
            .collect();
        for line in &lines {
            tracing::warn!(
                target: "plugin", tenant = %self.slot.tenant, slot = %self.slot.slot, plugin = %self.plugin,
                correlation_id = %self.correlation_id, stream = "stderr", "{line}"
            );
        }
        Some(lines.join(" | "))
    }

    /// Counts one log line against the call's budget; false once it is spent (the first line over it warns).
    fn log_budget(&mut self) -> bool {
        self.log_lines += 1;
        if self.log_lines == MAX_LOG_LINES + 1 {
            tracing::warn!(
                tenant = %self.slot.tenant, slot = %self.slot.slot, plugin = %self.plugin,
                correlation_id = %self.correlation_id,
                "plugin wrote more than {MAX_LOG_LINES} log lines in one call; dropping the rest"
            );
        }
        self.log_lines <= MAX_LOG_LINES
    }
}

/// A line a plugin wrote, safe for the host's log: control characters (a line break, an escape sequence that
/// would move a terminal's cursor) written as escapes.
fn escape_controls(line: &str) -> String {
    if !line.chars().any(char::is_control) {
        return line.to_string();
    }
    line.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// What one store may grow to: wasmtime's limits, and a note of a memory growth refused for the cap, so the trap
/// that follows is reported as the memory cap reached rather than as a bare trap.
#[derive(Debug)]
pub(crate) struct CallLimits {
    store: StoreLimits,
    memory_cap: usize,
    /// The size a refused growth asked for.
    refused: Option<usize>,
}

impl CallLimits {
    /// The memory cap, in bytes.
    pub(crate) fn memory_cap(&self) -> usize {
        self.memory_cap
    }

    /// The size the plugin asked to grow its memory to when the cap refused it, once.
    pub(crate) fn take_refused(&mut self) -> Option<usize> {
        self.refused.take()
    }
}

impl ResourceLimiter for CallLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.refused = Some(desired);
        }
        self.store.memory_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.store.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.store.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.store.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.store.instances()
    }

    fn tables(&self) -> usize {
        self.store.tables()
    }

    fn memories(&self) -> usize {
        self.store.memories()
    }
}

/// Adds every import a plugin may use to `linker`: the contract's `host` and `edi`, and deny-by-default WASI.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    bindings::InboundMapper::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    bindings::v0_1::InboundMapper::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    Ok(())
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let stderr = &mut self.stderr;
        let ctx = self.wasi.get_or_insert_with(|| {
            let pipe = MemoryOutputPipe::new(STDERR_CAPTURE);
            *stderr = Some(pipe.clone());
            // The builder's defaults already give no environment, arguments, preopens or network access.
            WasiCtxBuilder::new()
                .stderr(pipe)
                .wall_clock(FrozenClock)
                .monotonic_clock(FrozenClock)
                .allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false)
                // Deterministic hashing inside plugins, so the same input maps to the same output.
                .insecure_random_seed(0x6d69_6c6c_7772_6967_6874)
                .build()
        });
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

/// WASI's ambient clocks, stopped: plugins read time through `host.now` only, so replays are reproducible.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// How loud a plugin's log line is, whichever contract version it came through.
#[derive(Debug, Clone, Copy)]
enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl HostState {
    /// `host.log`: one log event per line the plugin wrote, each cut to a length and escaped.
    fn log(&mut self, level: Level, message: &str) {
        for line in message.lines() {
            if !self.log_budget() {
                return;
            }
            let mut line = line.to_string();
            if line.len() > MAX_LOG_LINE {
                let mut cut = MAX_LOG_LINE;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
                line.push_str(" [cut]");
            }
            let line = escape_controls(&line);
            let (tenant, slot, plugin, cid) = (
                &self.slot.tenant,
                &self.slot.slot,
                &*self.plugin,
                &self.correlation_id,
            );
            match level {
                Level::Trace => {
                    tracing::trace!(target: "plugin", %tenant, %slot, %plugin, correlation_id = %cid, "{line}")
                }
                Level::Debug => {
                    tracing::debug!(target: "plugin", %tenant, %slot, %plugin, correlation_id = %cid, "{line}")
                }
                Level::Info => {
                    tracing::info!(target: "plugin", %tenant, %slot, %plugin, correlation_id = %cid, "{line}")
                }
                Level::Warn => {
                    tracing::warn!(target: "plugin", %tenant, %slot, %plugin, correlation_id = %cid, "{line}")
                }
                Level::Error => {
                    tracing::error!(target: "plugin", %tenant, %slot, %plugin, correlation_id = %cid, "{line}")
                }
            }
        }
    }

    /// `host.lookup`: the row's value, or why the table cannot be read. A miss — no such key, or no such table
    /// — is noted, so a message parked for it says which tables it waits for.
    fn lookup(&mut self, table: &str, key: &str) -> Result<Option<String>, String> {
        let (found, version) = match self.tables.get(table) {
            Some(rows) => match rows.get(key) {
                Some(value) => return Ok(Some(value.to_string())),
                None => (Ok(None), Some(rows.version())),
            },
            None => (
                Err(format!(
                    "tenant {} has no master-data table named {table:?}",
                    self.slot.tenant
                )),
                None,
            ),
        };
        // Only a name a table can have: any other can never be loaded, so nothing is waiting for it.
        if self.missed.len() < MAX_MISSED_TABLES
            && !self.missed.iter().any(|m| m.table == table)
            && crate::names::TableName::new(table).is_ok()
        {
            self.missed.push(Miss {
                table: table.to_string(),
                version,
            });
        }
        found
    }

    /// The tables the last call looked up and missed, each once, in the order it first missed them.
    pub(crate) fn take_misses(&mut self) -> Vec<Miss> {
        std::mem::take(&mut self.missed)
    }
}

/// The `types`, `host` and `edi` imports of one contract version, for its generated bindings at `$root`. Each
/// version's types are its own Rust types, with the same shapes; the work behind them is shared.
macro_rules! contract_imports {
    ($($root:ident)::+ ; $edi:ident) => {
        impl $($root)::+::millwright::adapter::types::Host for HostState {}

        impl $($root)::+::millwright::adapter::host::Host for HostState {
            fn log(
                &mut self,
                level: $($root)::+::millwright::adapter::host::LogLevel,
                message: String,
            ) -> anyhow::Result<()> {
                use $($root)::+::millwright::adapter::host::LogLevel;
                let level = match level {
                    LogLevel::Trace => Level::Trace,
                    LogLevel::Debug => Level::Debug,
                    LogLevel::Info => Level::Info,
                    LogLevel::Warn => Level::Warn,
                    LogLevel::Error => Level::Error,
                };
                HostState::log(self, level, &message);
                Ok(())
            }

            fn config(&mut self, key: String) -> anyhow::Result<Option<String>> {
                Ok(self.slot.config.get(&key).cloned())
            }

            fn lookup(
                &mut self,
                table: String,
                key: String,
            ) -> anyhow::Result<
                Result<Option<String>, $($root)::+::millwright::adapter::host::LookupError>,
            > {
                Ok(HostState::lookup(self, &table, &key)
                    .map_err($($root)::+::millwright::adapter::host::LookupError::NoSuchTable))
            }

            fn now(
                &mut self,
            ) -> anyhow::Result<$($root)::+::millwright::adapter::types::Timestamp> {
                Ok($($root)::+::millwright::adapter::types::Timestamp {
                    utc: millwright_edi::time::format_utc(self.slot.clock.now()),
                    original_offset_minutes: None,
                })
            }

            fn local_to_utc(
                &mut self,
                date: String,
                time: String,
                zone: String,
            ) -> anyhow::Result<Result<$($root)::+::millwright::adapter::types::Timestamp, String>>
            {
                Ok(
                    millwright_edi::time::local_to_utc(&date, &time, &zone).map(|instant| {
                        $($root)::+::millwright::adapter::types::Timestamp {
                            utc: instant.utc,
                            original_offset_minutes: Some(instant.offset_minutes),
                        }
                    }),
                )
            }
        }

        mod $edi {
            use millwright_edi as native;

            use super::HostState;
            use super::$($root)::+::millwright::adapter::edi;

            impl edi::Host for HostState {
                fn parse(
                    &mut self,
                    document: Vec<u8>,
                ) -> anyhow::Result<Result<edi::ParsedDocument, edi::EdiError>> {
                    Ok(native::parse(&document)
                        .map(document_to_wit)
                        .map_err(error_to_wit))
                }

                fn render_x12(
                    &mut self,
                    interchange: edi::Interchange,
                ) -> anyhow::Result<Result<Vec<u8>, edi::EdiError>> {
                    Ok(native::render_x12(&interchange_from_wit(interchange)).map_err(error_to_wit))
                }
            }

            millwright_edi::wit_conversions!(
                edi = super::$($root)::+::millwright::adapter::edi,
                types = super::$($root)::+::millwright::adapter::types
            );
        }
    };
}

contract_imports!(bindings; edi_current);
contract_imports!(bindings::v0_1; edi_v0_1);

/// The longest sequence name a plugin may use.
const MAX_SEQUENCE_NAME: usize = 200;

/// How many numbers one call of a plugin may draw: a document needs a handful (ISA13, GS06); a plugin drawing
/// more is looping, and each number is a write to JetStream.
const MAX_SEQUENCE_CALLS: u32 = 1_000;

impl sequences::Host for HostState {
    fn next(&mut self, name: String, max: u64) -> anyhow::Result<Result<u64, String>> {
        if max == 0 {
            return Ok(Err("a sequence's max must be at least 1".to_string()));
        }
        if name.is_empty() || name.len() > MAX_SEQUENCE_NAME || name.chars().any(char::is_control) {
            return Ok(Err(format!(
                "a sequence's name must be 1 to {MAX_SEQUENCE_NAME} bytes without control characters, such as \
                 `x12-interchange:ZZ/BRIGHTWIRE`"
            )));
        }
        let asked: u32 = self.sequence_calls.values().sum();
        if asked >= MAX_SEQUENCE_CALLS {
            return Ok(Err(format!(
                "a plugin may draw at most {MAX_SEQUENCE_CALLS} numbers per call"
            )));
        }
        // The n-th call for `name` in this call of the plugin: the same on every delivery of the same input.
        let calls = self.sequence_calls.entry(name.clone()).or_default();
        *calls += 1;
        let key = format!("{}#{}", self.input_key, calls);
        Ok(self
            .slot
            .sequences
            .number(&self.slot.tenant, &name, &key, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_plugin_writes_cannot_break_a_log_line() {
        assert_eq!(escape_controls("plain text — ok"), "plain text — ok");
        assert_eq!(
            escape_controls("a\r2026-12-03T09:00:00Z  INFO forged\u{1b}[2K"),
            "a\\r2026-12-03T09:00:00Z  INFO forged\\u{1b}[2K"
        );
    }

    #[test]
    fn a_call_sees_the_tables_as_they_were_when_it_began_and_notes_what_it_missed() {
        let table = |text: &[u8], version| {
            lookup::Table::parse(text)
                .expect("parses")
                .stamped(version, version)
        };
        let live = LiveLookups::default();
        live.apply("units", table(b"x12,rec20\nEA,H87\n", 1));
        let slot =
            Arc::new(SlotContext::new("acme", "supplier-856").with_live_lookups(live.clone()));
        let mut state = HostState::new(slot, Arc::from("plugin"), 1 << 20);
        state.begin_call("c-1", "MW_acme_IN:1");
        live.apply("units", table(b"x12,rec20\nEA,H87\nZZ,KGM\n", 2));
        assert_eq!(state.lookup("units", "EA"), Ok(Some("H87".into())));
        assert_eq!(
            state.lookup("units", "ZZ"),
            Ok(None),
            "loaded after the call began"
        );
        assert_eq!(state.lookup("units", "YY"), Ok(None));
        assert!(state.lookup("packaging", "PLT").is_err());
        assert!(state.lookup("no such.name", "x").is_err());
        assert_eq!(
            state.take_misses(),
            vec![
                Miss {
                    table: "units".into(),
                    version: Some(1)
                },
                Miss {
                    table: "packaging".into(),
                    version: None
                },
            ],
            "each table once; a name no table can have is not noted"
        );
        state.begin_call("c-2", "MW_acme_IN:2");
        assert_eq!(state.lookup("units", "ZZ"), Ok(Some("KGM".into())));
        assert!(state.take_misses().is_empty());
    }
}
