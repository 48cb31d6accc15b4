//! The master-data table reader behind `PUT /v1/tenants/{t}/lookups/{table}` (`Table::parse`): the properties of
//! `tests/checks`, which `tests/properties.rs` runs briefly on stable.

#![no_main]

#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::lookup_table(data));
