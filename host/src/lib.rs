//! Millwright's host runtime: loads sandboxed WebAssembly mapping plugins and runs manufacturing documents
//! through them into one canonical model.
//!
//! Read it in the order a message meets it. The data path:

/// NATS: subjects, headers, streams, the connection and its limits, the embedded nats-server.
pub mod bus;
/// Canonical events as JSON from the contract's types and back, and their JSON Schema.
pub mod canonical;
/// The wasmtime engine: pooling allocator, epoch ticker, compile cache.
pub mod engine;
/// The host side of the WIT imports: log, config, lookup, clock, edi.
pub mod host_api;
/// The one HTTP client (reqwest over rustls): the CLI's and outbound deliveries', with the trust they share.
pub mod http_client;
/// One message through one plugin: limits, deadline, the typed call, failure classes.
pub mod invoke;
/// The names that have rules (tenant, slot, route, source, target, sha256), checked once where they enter.
pub mod names;
/// Route workers: fetch, invoke, publish, ack; retries, dead letters, replay; the running route set.
pub mod pipeline;
/// A validated, compiled plugin and what it says about itself.
pub mod plugin;
/// Business rules on host-owned state: quarantine of held lots, alerts.
pub mod rules;
/// The trace: per business key (purchase order, shipment, lot, work order, correlation id), every hop.
pub mod trace;
/// Hot swap: every slot's active version, compiled, for the routes that run it.
pub mod versions;

// The control side: what runs, and the verbs that change it.

/// Who may do what: tokens with roles (stored hashed, followed by every host), the policy, the audit log.
pub mod access;
/// The admin API: HTTP to the service's verbs and back, its auth, health.
pub mod admin;
/// The service's configuration file: tenants, routes (checked by the same code as the API's), NATS.
pub mod config;
/// Plugin versions per tenant and slot, the active pointer, rollback, routes; in a directory or JetStream.
pub mod registry;
/// `millwright serve`: starts the service and stops it, in order.
pub mod serve;
/// The running host and its verbs: slots and versions, routes, dead letters; the registry follower.
pub mod service;

// Beside the service.

/// The `millwright` command and the tools only it uses (admin API client, publish/watch, offline runner, build,
/// doctor, the load tool).
pub mod cli;

pub use millwright_edi as edi;
