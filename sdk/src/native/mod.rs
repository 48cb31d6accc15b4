//! The in-process host behind [`crate::host`] and [`crate::edi`] on native targets.
//!
//! A [`crate::harness::Harness`] installs a [`NativeHost`] in a thread-local for the duration of one call, so the
//! mapping code runs unchanged in `cargo test` and in criterion benches; nothing here is compiled for wasm,
//! where the real host answers the same calls.

mod clock;
mod edi;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::bindings::inbound::millwright::adapter::host::{LogLevel, LookupError};
use crate::bindings::inbound::millwright::adapter::types::Timestamp;

pub(crate) use clock::local_to_utc;
pub(crate) use edi::{edi_parse, edi_parse_flat, edi_render_x12};

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// How loud it was.
    pub level: LogLevel,
    /// What it said.
    pub message: String,
}

/// What a harness gives the plugin: partner profile, master data, a clock, and a place for log lines.
#[derive(Debug, Default)]
pub(crate) struct NativeHost {
    pub(crate) config: HashMap<String, String>,
    pub(crate) lookups: HashMap<String, HashMap<String, String>>,
    pub(crate) now: Option<Timestamp>,
    pub(crate) logs: RefCell<Vec<LogLine>>,
    /// The last number each sequence gave.
    pub(crate) sequences: RefCell<HashMap<String, u64>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<NativeHost>>> = const { RefCell::new(None) };
}

/// Keeps a host installed on this thread until dropped, then puts back whatever was there before (so nested
/// harness calls and panicking tests leave the thread as they found it).
pub(crate) struct Installed {
    previous: Option<Rc<NativeHost>>,
}

pub(crate) fn install(host: Rc<NativeHost>) -> Installed {
    let previous = CURRENT.with(|c| c.replace(Some(host)));
    Installed { previous }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

fn current() -> Option<Rc<NativeHost>> {
    CURRENT.with(|c| c.borrow().clone())
}

pub(crate) fn log(level: LogLevel, message: &str) {
    match current() {
        Some(host) => host.logs.borrow_mut().push(LogLine {
            level,
            message: message.to_owned(),
        }),
        None => eprintln!("[{level:?}] {message}"),
    }
}

thread_local! {
    /// Sequences outside a harness: from 1 per name, for the life of the thread.
    static LOOSE_SEQUENCES: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

pub(crate) fn sequence_next(name: &str, max: u64) -> Result<u64, String> {
    if max == 0 {
        return Err("a sequence's max must be at least 1".to_owned());
    }
    let step = |numbers: &mut HashMap<String, u64>| {
        let last = numbers.entry(name.to_owned()).or_insert(0);
        *last = if *last >= max { 1 } else { *last + 1 };
        *last
    };
    Ok(match current() {
        Some(host) => step(&mut host.sequences.borrow_mut()),
        None => LOOSE_SEQUENCES.with(|numbers| step(&mut numbers.borrow_mut())),
    })
}

pub(crate) fn config(key: &str) -> Option<String> {
    current().and_then(|host| host.config.get(key).cloned())
}

pub(crate) fn lookup(table: &str, key: &str) -> Result<Option<String>, LookupError> {
    let host = current().ok_or_else(|| LookupError::NoSuchTable(table.to_owned()))?;
    let table_rows = host
        .lookups
        .get(table)
        .ok_or_else(|| LookupError::NoSuchTable(table.to_owned()))?;
    Ok(table_rows.get(key).cloned())
}

pub(crate) fn now() -> Timestamp {
    match current().and_then(|host| host.now.clone()) {
        Some(now) => now,
        None => clock::system_now(),
    }
}
