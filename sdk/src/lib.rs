//! Everything a Rust Millwright plugin depends on.
//!
//! A plugin is a WebAssembly component that turns a partner's or system's document into canonical events (an
//! *inbound mapper*) or a canonical event into documents for a target (an *outbound mapper*). This crate gives
//! it:
//!
//! - the canonical model ([`types`]) and the parsed EDI tree ([`edi`]), generated from `wit/` so they are the
//!   types the host speaks, with constructors and accessors that keep mappings short, and views that read the
//!   parse result in place without copying a value ([`edi::view`]);
//! - the traits [`InboundMapper`] and [`OutboundMapper`] and the macros [`export_inbound!`] and
//!   [`export_outbound!`] that turn an implementation into the component's exports;
//! - the host's services as plain functions ([`host::config`], [`host::lookup`], [`host::local_to_utc`],
//!   [`edi::parse`] ...), which call the host when built for `wasm32-wasip2` and an in-process host
//!   otherwise;
//! - X12 knowledge every X12 mapper needs ([`x12`]): purpose codes, qualifiers to id schemes, unit codes to
//!   UN/ECE Recommendation 20, dates in the partner's time zone, event headers;
//! - the same for EDIFACT ([`edifact`]): message function codes, code list agencies and item number types,
//!   measure units, decimals with either decimal mark, DTM dates by their format code, event headers;
//! - on native targets, a test [`harness`] that runs the same mapping code in `cargo test` or a criterion bench,
//!   with the partner profile, master data and clock a test chooses.
//!
//! # A plugin
//!
//! ```
//! use millwright_sdk::types::{CanonicalEvent, Envelope, MappingError, PluginInfo};
//! use millwright_sdk::InboundMapper;
//!
//! struct Echo;
//!
//! impl InboundMapper for Echo {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("echo", "0.1.0", ["x12:856"])
//!     }
//!
//!     fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
//!         let _ = document;
//!         Ok(Vec::new())
//!     }
//! }
//!
//! millwright_sdk::export_inbound!(Echo);
//! # fn main() {}
//! ```
#![deny(missing_docs)]
// The error types are the WIT contract's (`mapping-error`, `edi-error`): the generated export traits return them
// unboxed, so boxing them here would only add conversions at every boundary.
#![allow(clippy::result_large_err)]

// The export macros and the generated bindings name this crate by its own name.
extern crate self as millwright_sdk;

#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings;

pub mod edi;
pub mod edifact;
pub mod host;
pub mod sequences;
pub mod types;
pub mod x12;

#[cfg(target_family = "wasm")]
mod allocator;

/// Every Rust plugin allocates through the SDK's allocator on wasm (see `allocator.rs` for why).
#[cfg(target_family = "wasm")]
#[global_allocator]
static ALLOCATOR: allocator::SizeClasses = allocator::SizeClasses::new();

mod inert_wasi;

#[cfg(not(target_family = "wasm"))]
pub mod harness;
#[cfg(not(target_family = "wasm"))]
mod native;

use types::{CanonicalEvent, Envelope, MappingError, OutboundDocument, PluginInfo, Target};

/// A plugin that turns documents from a partner or system into canonical events (world `inbound-mapper`).
///
/// The host calls [`describe`](InboundMapper::describe) once when it loads the plugin and
/// [`map`](InboundMapper::map) once per message, in a fresh instance unless the slot's policy reuses
/// instances: keep no state between calls. Register the implementation with [`export_inbound!`].
pub trait InboundMapper {
    /// Names the plugin and the documents it handles.
    fn describe() -> PluginInfo;

    /// Maps one document to the events it holds. An empty list means there is nothing to publish and the input
    /// is acknowledged. The error decides what the host does with the message: an
    /// [`InvalidDocument`](MappingError::InvalidDocument) is dead-lettered at once, an
    /// [`UnknownReference`](MappingError::UnknownReference) is parked until the master data is loaded, a
    /// [`Transient`](MappingError::Transient) is retried with backoff.
    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError>;
}

/// A plugin that turns canonical events into documents for a target (world `outbound-mapper`).
///
/// Same lifecycle as [`InboundMapper`]: [`describe`](OutboundMapper::describe) once at load,
/// [`render`](OutboundMapper::render) once per event. Register the implementation with [`export_outbound!`].
pub trait OutboundMapper {
    /// Names the plugin and the documents it produces.
    fn describe() -> PluginInfo;

    /// Renders one event for a target. An empty list means nothing is sent for this event.
    fn render(event: CanonicalEvent, target: Target)
    -> Result<Vec<OutboundDocument>, MappingError>;
}

impl<T: InboundMapper> bindings::inbound::exports::millwright::adapter::inbound::Guest for T {
    fn describe() -> PluginInfo {
        <T as InboundMapper>::describe()
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        <T as InboundMapper>::map(document)
    }
}

impl<T: OutboundMapper> bindings::outbound::exports::millwright::adapter::outbound::Guest for T {
    fn describe() -> PluginInfo {
        <T as OutboundMapper>::describe()
    }

    fn render(
        event: CanonicalEvent,
        target: Target,
    ) -> Result<Vec<OutboundDocument>, MappingError> {
        <T as OutboundMapper>::render(event, target)
    }
}

/// Exports an [`InboundMapper`] as the component's `millwright:adapter/inbound` interface.
///
/// Invoke it once, at the top level of the plugin's `lib.rs`, with the name of the implementing type. The
/// exports and the component-type section are only emitted for `target_family = "wasm"`: a native build (unit
/// tests, a benchmark linking several plugins) gets nothing from it, so plugins never clash on export names.
#[macro_export]
macro_rules! export_inbound {
    ($ty:ident) => {
        #[cfg(target_family = "wasm")]
        $crate::bindings::inbound::export_inbound_world!($ty with_types_in $crate::bindings::inbound);
    };
}

/// Exports an [`OutboundMapper`] as the component's `millwright:adapter/outbound` interface.
///
/// Same rules as [`export_inbound!`]: once, at the top level, with a type name; nothing on native targets.
#[macro_export]
macro_rules! export_outbound {
    ($ty:ident) => {
        #[cfg(target_family = "wasm")]
        $crate::bindings::outbound::export_outbound_world!($ty with_types_in $crate::bindings::outbound);
    };
}
