//! The X12 parser (`millwright_edi::parse`) and the acknowledgment reader on arbitrary bytes, after `ISA` unless
//! they start with it: the properties of `edi/tests/checks`, which `edi/tests/properties.rs` runs briefly on
//! stable.

#![no_main]

#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../../edi/tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::x12(data));
