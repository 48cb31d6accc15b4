//! The rule settings of `PUT /v1/tenants/{t}/rules` (`RuleSettings::from_json`): the properties of `tests/checks`,
//! which `tests/properties.rs` runs briefly on stable.

#![no_main]

#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::rule_settings(data));
