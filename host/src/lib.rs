//! placeholder
pub use wasmtime;
