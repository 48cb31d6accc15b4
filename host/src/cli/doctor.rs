//! `millwright doctor`: what this machine has and lacks for building plugins and running the host.
//!
//! Each check prints one line with what was found and, when something is missing, the command that fixes it.

use std::process::Command;

use crate::engine::{Allocator, Engine, EngineOptions};

/// One check's result.
#[derive(Debug)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Whether the host cannot work without it (as opposed to a slower or partial setup).
    pub required: bool,
    /// What was found, or what to do.
    pub detail: String,
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs every check.
pub fn run() -> Vec<Check> {
    let mut checks = Vec::new();
    let rustc = output("rustc", &["--version"]);
    checks.push(Check {
        name: "rust toolchain",
        ok: rustc.is_some(),
        required: false,
        detail: rustc.unwrap_or_else(|| {
            "rustc not found: install rustup, then run any cargo command in the project".into()
        }),
    });
    let sysroot = output("rustc", &["--print", "sysroot"]);
    let target = sysroot
        .map(|root| {
            std::path::Path::new(&root)
                .join("lib/rustlib/wasm32-wasip2")
                .is_dir()
        })
        .unwrap_or(false);
    checks.push(Check {
        name: "wasm32-wasip2 target",
        ok: target,
        required: false,
        detail: if target {
            "installed".into()
        } else {
            "missing: `rustup target add wasm32-wasip2` (rust-toolchain.toml installs it on first cargo use)".into()
        },
    });
    let engine = Engine::new(&EngineOptions::default());
    let (ok, detail) = match engine.as_ref().map(Engine::allocator) {
        Ok(Allocator::Pooling) => (true, "pooling allocator available".to_string()),
        Ok(Allocator::OnDemand { reason }) => (
            false,
            format!("unavailable, instances are allocated on demand: {reason}"),
        ),
        Err(err) => (false, format!("the engine cannot start: {err:#}")),
    };
    checks.push(Check {
        name: "pooling allocator",
        ok,
        required: engine.is_err(),
        detail,
    });
    // The same search `serve` does on the embedded default (Debian installs it in /usr/sbin).
    let nats = crate::bus::embedded::find_binary().and_then(|binary| {
        output(&binary.display().to_string(), &["--version"])
            .map(|version| format!("{version} ({})", binary.display()))
            .ok_or_else(|| anyhow::anyhow!("{} does not run", binary.display()))
    });
    checks.push(Check {
        name: "nats-server",
        ok: nats.is_ok(),
        required: false,
        detail: nats
            .unwrap_or_else(|err| format!("{err:#} (needed by `serve` on the embedded default)")),
    });
    let py = output("componentize-py", &["--version"]);
    checks.push(Check {
        name: "componentize-py",
        ok: py.is_some(),
        required: false,
        detail: py.unwrap_or_else(|| {
            "not found: `pip install componentize-py==0.25.1` (to build Python plugins)".into()
        }),
    });
    checks
}
