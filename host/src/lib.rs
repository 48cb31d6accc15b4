//! Millwright's host runtime: loads sandboxed WebAssembly mapping plugins and runs manufacturing documents
//! through them into one canonical model.
//!
//! Read it in flow order:

/// The admin API: tenants, plugins and versions, routes, dead letters, health.
pub mod admin;
/// Building the plugins workspace (`millwright plugin build`).
pub mod builder;
/// NATS: subjects, headers, streams, the embedded nats-server.
pub mod bus;
/// Canonical events as JSON, and their JSON Schema, from the WIT.
pub mod canonical;
/// The CLI's side of the admin API: plugin push, list, activate, rollback.
pub mod client;
/// The service's configuration file: tenants, routes, NATS.
pub mod config;
/// Checks of the machine (`millwright doctor`).
pub mod doctor;
/// The wasmtime engine: pooling allocator, epoch ticker, compile cache.
pub mod engine;
/// The host side of the WIT imports: log, config, lookup, clock, edi.
pub mod host_api;
/// One message through one plugin: limits, deadline, result classification.
pub mod invoke;
/// `millwright bench`: the end-to-end load tool.
pub mod loadtest;
/// Operator commands over NATS: publish, watch, dlq list and replay.
pub mod ops;
/// Route workers: fetch, invoke, publish, ack; retries, dead letters, replay.
pub mod pipeline;
/// The names that have rules (tenant, slot, route, source, target, sha256), checked once where they enter.
pub mod names;
/// A validated, compiled plugin and what it says about itself.
pub mod plugin;
/// Plugin versions per tenant and slot, the active pointer, rollback; in a directory or JetStream.
pub mod registry;
/// The offline runner behind `millwright plugin test`.
pub mod runner;
/// `millwright serve`: starts the service and stops it, in order.
pub mod serve;
/// The running host and its verbs: slots and versions, routes, dead letters; the registry follower.
pub mod service;

pub use millwright_edi as edi;
