//! What the host gives a plugin: logging, the partner profile, master data and time.
//!
//! Built for wasm, each function calls the `millwright:adapter/host` import. Built natively, it calls the
//! in-process host that [`crate::harness::Harness`] installs for the duration of a call; outside a harness the
//! profile and master data are empty, the clock is the machine's and log lines go to standard error.

use crate::bindings::inbound::millwright::adapter::types::Timestamp;

pub use crate::bindings::inbound::millwright::adapter::host::{LogLevel, LookupError};

#[cfg(target_family = "wasm")]
use crate::bindings::inbound::millwright::adapter::host as wit;

/// Writes a line to the host's log, tagged with the tenant, slot, plugin version and correlation id. Long
/// messages are cut; a plugin that logs too much in one call is cut off for the rest of the call.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_family = "wasm")]
    wit::log(level, message);
    #[cfg(not(target_family = "wasm"))]
    crate::native::log(level, message);
}

/// One value of the slot's partner profile (`timezone`, `sender-id` ...), or `None` when the profile does
/// not set it.
pub fn config(key: &str) -> Option<String> {
    #[cfg(target_family = "wasm")]
    return wit::config(key);
    #[cfg(not(target_family = "wasm"))]
    return crate::native::config(key);
}

/// Looks a key up in one of the tenant's master-data tables.
///
/// `Ok(None)`: the table has no such key. `Err(LookupError::NoSuchTable)`: the tenant has no table of that name
/// (a mapper usually answers `unknown-reference`, or falls back to a built-in table).
/// `Err(LookupError::Unavailable)`: the master data could not be read just now (a mapper usually answers
/// `transient`).
pub fn lookup(table: &str, key: &str) -> Result<Option<String>, LookupError> {
    #[cfg(target_family = "wasm")]
    return wit::lookup(table, key);
    #[cfg(not(target_family = "wasm"))]
    return crate::native::lookup(table, key);
}

/// The host's current time, the only clock a plugin has.
pub fn now() -> Timestamp {
    #[cfg(target_family = "wasm")]
    return wit::now();
    #[cfg(not(target_family = "wasm"))]
    return crate::native::now();
}

/// Turns a local date and time into a UTC timestamp, as X12 writes them.
///
/// The host implements exactly these rules, and so does the native implementation used in tests:
///
/// - `date` is `CCYYMMDD` or `YYMMDD`, digits only. A two-digit year `00`–`49` is 20YY, `50`–`99` is 19YY.
/// - `time` is empty (midnight), `HHMM`, `HHMMSS` or `HHMMSS` followed by one or two digits of decimal
///   seconds, which are dropped. Hours run 00–23 (X12's `2400` is not accepted).
/// - `zone` is an IANA name (`America/Chicago`, `Europe/Berlin`), `UTC` or `Z`, or a fixed offset `±HH:MM` or
///   `±HHMM`.
/// - A local time that does not exist (skipped by a daylight-saving change) moves forward by the length of the
///   gap; one that exists twice (repeated by the change back) is taken at its first occurrence, before the
///   change. This is the "compatible" rule of RFC 5545 and Temporal.
/// - The result's `utc` is RFC 3339 with whole seconds and a `Z` (`2024-03-01T14:30:00Z`); its
///   `original-offset-minutes` is the zone's offset at that instant (`-300` for US Central daylight time), so
///   the sender's local time can be recovered.
/// - An error names the part that could not be read: "date `20241301` is not a valid CCYYMMDD or YYMMDD date".
///
/// ```
/// use millwright_sdk::host::local_to_utc;
/// let t = local_to_utc("20240701", "0830", "America/Chicago").unwrap();
/// assert_eq!(t.utc, "2024-07-01T13:30:00Z");
/// assert_eq!(t.original_offset_minutes, Some(-300));
/// assert!(local_to_utc("240230", "", "UTC").is_err());
/// ```
pub fn local_to_utc(date: &str, time: &str, zone: &str) -> Result<Timestamp, String> {
    #[cfg(target_family = "wasm")]
    return wit::local_to_utc(date, time, zone);
    #[cfg(not(target_family = "wasm"))]
    return crate::native::local_to_utc(date, time, zone);
}
