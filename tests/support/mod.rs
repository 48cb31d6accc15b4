//! What the end-to-end tests share: where the built plugins, the corpus and the golden files are.

#![allow(dead_code)]

pub mod api;
pub mod nats;

use std::path::{Path, PathBuf};

/// A multi-threaded runtime for a test's async parts.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The project root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A built plugin component. The tests do not build plugins themselves: `scripts/test` (or
/// `millwright plugin build`) does, once, before `cargo test`.
pub fn component(name: &str) -> PathBuf {
    let path = root()
        .join("plugins/target/components")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: build the plugins first with `cargo run -p millwright -- plugin build` (scripts/test does)",
        path.display()
    );
    path
}

/// A file of the public EDI corpus, read in place (never copied into the repo).
pub fn corpus(relative: &str) -> PathBuf {
    let base = std::env::var_os("MILLWRIGHT_EDI_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/edi-corpus"));
    let path = base.join(relative);
    assert!(
        path.is_file(),
        "{} is missing: the corpus lives in ../shared/edi-corpus beside the checkout (or set MILLWRIGHT_EDI_CORPUS)",
        path.display()
    );
    path
}

/// A golden file under tests/golden.
pub fn golden(relative: &str) -> PathBuf {
    root().join("tests/golden").join(relative)
}

/// Whether to rewrite golden files from actual output (`MILLWRIGHT_BLESS=1`), for review in the diff.
pub fn blessing() -> bool {
    std::env::var_os("MILLWRIGHT_BLESS").is_some_and(|v| v == "1")
}

/// The instant every golden run pins the host clock to.
pub const NOW: &str = "2024-06-11T20:00:00Z";
