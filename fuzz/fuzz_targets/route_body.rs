//! The route checker behind `PUT /v1/tenants/{t}/routes/{r}` (`config::route::api_route`), on bodies that are JSON:
//! the properties of `tests/checks`, which `tests/properties.rs` runs briefly on stable.

#![no_main]

#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::route_body(data));
