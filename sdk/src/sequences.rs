//! Numbers the host keeps for a plugin: the control numbers an outbound document's envelope needs (an X12 ISA13
//! or GS06), unique per sequence across every host of a fleet.
//!
//! ```
//! use millwright_sdk::sequences;
//! # let _run = millwright_sdk::harness::Harness::new();
//! let isa13 = sequences::next("x12-interchange:ZZ/BRIGHTWIRE", 999_999_999).unwrap();
//! let gs06 = sequences::next("x12-group:ZZ/BRIGHTWIRE", 999_999_999).unwrap();
//! assert!(isa13 >= 1 && gs06 >= 1);
//! ```
//!
//! Built for wasm, [`next`] calls the `millwright:adapter/sequences` import. Built natively, it counts in the
//! in-process host a [`crate::harness::Harness`] installs (from 1 per name, or from where
//! [`Harness::with_sequence`](crate::harness::Harness::with_sequence) set it); outside a harness, from 1 per name
//! for the life of the thread.

/// The next number of the sequence `name`, from 1 up to `max` and then from 1 again. Within one call of the
/// plugin, asking again gives the next number; when the host delivers the same input again, the same calls get
/// the same numbers, so a resent document is the same document. An error means the numbers cannot be kept just
/// now: answer [`MappingError::transient`](crate::types::MappingError::transient) so the host retries.
pub fn next(name: &str, max: u64) -> Result<u64, String> {
    #[cfg(target_family = "wasm")]
    return crate::bindings::inbound::millwright::adapter::sequences::next(name, max);
    #[cfg(not(target_family = "wasm"))]
    return crate::native::sequence_next(name, max);
}
