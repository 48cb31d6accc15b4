//! Millwright's host runtime: loads sandboxed WebAssembly mapping plugins and runs manufacturing documents
//! through them into one canonical model.
//!
//! Read it in flow order:

/// Building the plugins workspace (`millwright plugin build`).
pub mod builder;
/// Canonical events as JSON, and their JSON Schema, from the WIT.
pub mod canonical;
/// Checks of the machine (`millwright doctor`).
pub mod doctor;
/// The wasmtime engine: pooling allocator, epoch ticker, compile cache.
pub mod engine;
/// The host side of the WIT imports: log, config, lookup, clock, edi.
pub mod host_api;
/// One message through one plugin: limits, deadline, result classification.
pub mod invoke;
/// A validated, compiled plugin and what it says about itself.
pub mod plugin;
/// The offline runner behind `millwright plugin test`.
pub mod runner;

pub use millwright_edi as edi;
