//! Runs a plugin's mapping natively, against an in-process host the test chooses (native targets only).
//!
//! The same `InboundMapper` a component exports runs here in an ordinary `cargo test` or a criterion bench:
//! the harness installs a host for the duration of one call, with the partner profile
//! ([`with_config`](Harness::with_config)), the tenant's master data ([`with_lookup`](Harness::with_lookup),
//! [`with_lookup_csv`](Harness::with_lookup_csv)) and the clock ([`with_now`](Harness::with_now)); EDI is
//! parsed by the host's own parser crate, and `local-to-utc` follows the rules documented on
//! [`crate::host::local_to_utc`].
//!
//! ```
//! use millwright_sdk::harness::Harness;
//! use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};
//! use millwright_sdk::{host, InboundMapper};
//!
//! struct Zone;
//! impl InboundMapper for Zone {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("zone", "0.1.0", ["x12:856"])
//!     }
//!     fn map(_: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
//!         host::log(host::LogLevel::Info, &host::config("timezone").unwrap_or_default());
//!         Ok(Vec::new())
//!     }
//! }
//!
//! let harness = Harness::new().with_config("timezone", "America/Chicago");
//! let events = harness.map::<Zone>(Envelope::for_bytes("supplier-856", Vec::new())).unwrap();
//! assert!(events.is_empty());
//! assert_eq!(harness.logs()[0].message, "America/Chicago");
//! ```

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::rc::Rc;

use crate::native::{self, NativeHost};
use crate::types::{CanonicalEvent, Envelope, MappingError, OutboundDocument, Target, Timestamp};
use crate::{InboundMapper, OutboundMapper};

pub use crate::native::LogLine;

/// A partner profile, master data and clock for running mappings natively. Build it once, call
/// [`map`](Harness::map) or [`render`](Harness::render) as often as needed; log lines accumulate.
#[derive(Debug, Default)]
pub struct Harness {
    host: Rc<NativeHost>,
}

impl Harness {
    /// A harness with an empty profile, no master-data tables and the machine's clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the sequence `name` continue after `last`: its next number is `last + 1`.
    pub fn with_sequence(mut self, name: impl Into<String>, last: u64) -> Self {
        self.host_mut()
            .sequences
            .get_mut()
            .insert(name.into(), last);
        self
    }

    fn host_mut(&mut self) -> &mut NativeHost {
        // The host is only shared while a call runs, and calls borrow `self`, so here it is unique.
        Rc::get_mut(&mut self.host).expect("the harness host is shared only during a call")
    }

    /// Sets one partner profile value, as `host::config(key)` will return it.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.host_mut().config.insert(key.into(), value.into());
        self
    }

    /// Adds one row to a master-data table, creating the table.
    pub fn with_lookup(
        mut self,
        table: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.host_mut()
            .lookups
            .entry(table.into())
            .or_default()
            .insert(key.into(), value.into());
        self
    }

    /// Loads a master-data table from a CSV file of two columns, `key,value`, with a header row. Fields may be
    /// double-quoted (with `""` for a quote inside); blank lines are skipped. An error names the file and line.
    pub fn with_lookup_csv(
        mut self,
        table: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> io::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
        let rows = parse_two_column_csv(&text).map_err(|(line, why)| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{line}: {why}", path.display()),
            )
        })?;
        self.host_mut()
            .lookups
            .entry(table.into())
            .or_default()
            .extend(rows);
        Ok(self)
    }

    /// Fixes the clock: `host::now()` returns this instant (RFC 3339 UTC, `2024-03-01T14:30:00Z`).
    pub fn with_now(mut self, utc: impl Into<String>) -> Self {
        self.host_mut().now = Some(Timestamp::utc(utc));
        self
    }

    /// Runs an inbound mapper on one document with this harness's host installed.
    pub fn map<M: InboundMapper>(
        &self,
        document: Envelope,
    ) -> Result<Vec<CanonicalEvent>, MappingError> {
        let _installed = native::install(Rc::clone(&self.host));
        M::map(document)
    }

    /// Runs an outbound mapper on one event with this harness's host installed.
    pub fn render<M: OutboundMapper>(
        &self,
        event: CanonicalEvent,
        target: Target,
    ) -> Result<Vec<OutboundDocument>, MappingError> {
        let _installed = native::install(Rc::clone(&self.host));
        M::render(event, target)
    }

    /// Everything the plugin logged through this harness, in order.
    pub fn logs(&self) -> Vec<LogLine> {
        self.host.logs.borrow().clone()
    }
}

/// An envelope around a file's bytes, as [`Envelope::for_bytes`] builds it, with the file name set and the
/// source named after the file's stem.
pub fn envelope_from_file(path: impl AsRef<Path>) -> io::Result<Envelope> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
    let stem = path
        .file_stem()
        .map_or_else(|| "file".to_owned(), |s| s.to_string_lossy().into_owned());
    let mut envelope = Envelope::for_bytes(stem, bytes);
    envelope.file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(envelope)
}

fn parse_two_column_csv(text: &str) -> Result<HashMap<String, String>, (usize, String)> {
    let mut rows = HashMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).ok_or((i + 1, "unbalanced quotes".to_owned()))?;
        match fields.as_slice() {
            [key, value] => {
                rows.insert(key.clone(), value.clone());
            }
            _ => {
                return Err((
                    i + 1,
                    format!("expected 2 fields (key,value), found {}", fields.len()),
                ));
            }
        }
    }
    Ok(rows)
}

fn split_csv_line(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host;

    #[test]
    fn csv_tables_accept_quotes_and_reject_a_third_column() {
        let rows =
            parse_two_column_csv("x12,rec20\nEA,C62\n\"LB\",\"L\"\"BR\"\n\n").expect("valid");
        assert_eq!(rows.get("EA").map(String::as_str), Some("C62"));
        assert_eq!(rows.get("LB").map(String::as_str), Some("L\"BR"));
        assert_eq!(
            parse_two_column_csv("k,v\na,b,c\n")
                .expect_err("must be rejected")
                .0,
            2
        );
    }

    #[test]
    fn the_host_is_installed_only_during_the_call() {
        struct Probe;
        impl InboundMapper for Probe {
            fn describe() -> crate::types::PluginInfo {
                crate::types::PluginInfo::new("probe", "0", ["test"])
            }
            fn map(_: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
                assert_eq!(host::config("k").as_deref(), Some("v"));
                assert_eq!(host::lookup("units", "EA"), Ok(Some("C62".to_owned())));
                assert_eq!(host::lookup("units", "XX"), Ok(None));
                assert!(matches!(
                    host::lookup("items", "1"),
                    Err(host::LookupError::NoSuchTable(_))
                ));
                assert_eq!(host::now().utc, "2024-03-01T14:30:00Z");
                Ok(Vec::new())
            }
        }
        let harness = Harness::new()
            .with_config("k", "v")
            .with_lookup("units", "EA", "C62")
            .with_now("2024-03-01T14:30:00Z");
        assert_eq!(
            harness.map::<Probe>(Envelope::for_bytes("t", Vec::new())),
            Ok(Vec::new())
        );
        assert_eq!(host::config("k"), None);
    }
}
