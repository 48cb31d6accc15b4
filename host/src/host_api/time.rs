//! Time for plugins: the clock behind `host.now`, and `host.local-to-utc` for EDI dates that carry no offset.
//!
//! X12 writes dates and times without a zone; the partner profile names it. Converting in the host means every
//! plugin, in any language, gets the same answer from one time-zone database, and tests can pin the clock.

use super::bindings::millwright::adapter::types::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> jiff::Timestamp;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A clock that always says the same instant: for reproducible offline runs and tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub jiff::Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        self.0
    }
}

/// An instant as the contract writes it: RFC 3339 in UTC, plus the original offset when there was one.
pub fn to_wit(instant: jiff::Timestamp, offset_minutes: Option<i32>) -> Timestamp {
    Timestamp {
        utc: millwright_edi::time::format_utc(instant),
        original_offset_minutes: offset_minutes,
    }
}

/// `host.local-to-utc`: see `millwright_edi::time::local_to_utc`, which the SDK's native harness uses too.
pub fn local_to_utc(date: &str, time: &str, zone: &str) -> Result<Timestamp, String> {
    millwright_edi::time::local_to_utc(date, time, zone).map(|instant| Timestamp {
        utc: instant.utc,
        original_offset_minutes: Some(instant.offset_minutes),
    })
}
