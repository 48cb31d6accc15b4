//! `millwright plugin build`: builds every plugin in the plugins workspace into a component.
//!
//! Rust plugins are one cargo workspace built for wasm32-wasip2; plugins in other languages carry a `build.sh`
//! that writes their component. Every component lands in `plugins/target/components/<name>.wasm`, the one place
//! the examples, tests and benchmarks read them from.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The wasm target Rust plugins are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Where built components go, below the plugins directory.
pub fn components_dir(plugins: &Path) -> PathBuf {
    plugins.join("target").join("components")
}

/// Builds every plugin under `plugins` and returns the components written.
pub fn build_all(plugins: &Path, release: bool) -> Result<Vec<PathBuf>> {
    let manifest = plugins.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} has no Cargo.toml: run this from the project root or pass --plugins-dir",
            plugins.display()
        );
    }
    let out = components_dir(plugins);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();

    eprintln!(
        "[1/2] building Rust plugins: cargo build --target {TARGET}{}",
        if release { " --release" } else { "" }
    );
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(plugins)
        .args(["build", "--target", TARGET]);
    if release {
        cargo.arg("--release");
    }
    let status = cargo
        .status()
        .context("running cargo (is the Rust toolchain installed?)")?;
    if !status.success() {
        bail!("cargo build of the plugins failed ({status}); the errors are above");
    }
    let profile = if release { "release" } else { "debug" };
    let built = plugins.join("target").join(TARGET).join(profile);
    for member in rust_members(plugins)? {
        let file = built.join(format!("{}.wasm", member.replace('-', "_")));
        if !file.is_file() {
            bail!("cargo reported success but {} is missing", file.display());
        }
        let dest = out.join(format!("{member}.wasm"));
        std::fs::copy(&file, &dest).with_context(|| format!("copying {}", file.display()))?;
        report(&dest);
        written.push(dest);
    }

    eprintln!("[2/2] building plugins in other languages (build.sh)");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(plugins)?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("build.sh")))
        .filter(|script| script.is_file())
        .collect();
    scripts.sort();
    for script in scripts {
        let dir = script.parent().unwrap_or(plugins);
        eprintln!("      {}", script.display());
        let status = Command::new("bash")
            .arg("build.sh")
            .current_dir(dir)
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        if !status.success() {
            bail!(
                "{} failed ({status}); the errors are above",
                script.display()
            );
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = out.join(format!("{name}.wasm"));
        if !dest.is_file() {
            bail!("{} did not write {}", script.display(), dest.display());
        }
        report(&dest);
        written.push(dest);
    }
    Ok(written)
}

fn report(path: &Path) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "      wrote {} ({} KiB)",
        path.display(),
        size.div_ceil(1024)
    );
}

/// The Rust plugin crates: the workspace's members, read from its Cargo.toml.
fn rust_members(plugins: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(plugins.join("Cargo.toml"))?;
    let mut members = Vec::new();
    let mut in_members = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("members") {
            in_members = true;
        }
        if in_members {
            for part in line.split('"').skip(1).step_by(2) {
                members.push(part.to_string());
            }
            if line.contains(']') {
                break;
            }
        }
    }
    if members.is_empty() {
        bail!(
            "{}/Cargo.toml lists no workspace members",
            plugins.display()
        );
    }
    Ok(members)
}
