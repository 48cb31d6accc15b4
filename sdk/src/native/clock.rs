//! `local-to-utc` and `now` natively. The conversion itself is `millwright_edi::time::local_to_utc`, the very
//! function the host answers wasm plugins with, so a mapping gives the same timestamps in `cargo test` and in
//! the host.

use crate::bindings::inbound::millwright::adapter::types::Timestamp;

pub(crate) fn system_now() -> Timestamp {
    Timestamp::utc(millwright_edi::time::format_utc(jiff::Timestamp::now()))
}

pub(crate) fn local_to_utc(date: &str, time: &str, zone: &str) -> Result<Timestamp, String> {
    millwright_edi::time::local_to_utc(date, time, zone).map(|instant| Timestamp {
        utc: instant.utc,
        original_offset_minutes: Some(instant.offset_minutes),
    })
}
