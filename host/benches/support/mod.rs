//! What the mapping benchmark and the instruction counter share: the same plugin set up the same way, and the
//! same documents in the same envelope.

use std::path::Path;

use millwright::engine::{Engine, EngineOptions};
use millwright::host_api::SlotContext;
use millwright::invoke::{Envelope, InstancePolicy, Limits, Mapper};
use millwright::plugin::Plugin;

/// The synthetic S/O/P/I ship notice of `millwright bench`, with `packs` packs.
pub fn ship_notice(packs: usize) -> Vec<u8> {
    millwright::cli::bench::ship_notice(packs, "SHP-BENCH")
}

/// The built plugin `name` as tenant acme's supplier-856 slot (time zone America/Chicago).
pub fn load(name: &str, policy: InstancePolicy) -> Mapper {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../plugins/target/components/{name}.wasm"));
    load_file(name, &path, policy)
}

/// The component at `path` as plugin `name` in that slot: another build of a plugin, to compare with it.
#[allow(
    dead_code,
    reason = "the instruction counter uses it, the bench does not"
)]
pub fn load_file(name: &str, path: &Path, policy: InstancePolicy) -> Mapper {
    load_on(name, path, policy, &EngineOptions::default())
}

/// The built plugin `name` in that slot, on an engine made with `options` (epoch checks off, to measure them).
#[allow(
    dead_code,
    reason = "the bench uses it, the instruction counter does not"
)]
pub fn load_with(name: &str, policy: InstancePolicy, options: &EngineOptions) -> Mapper {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../plugins/target/components/{name}.wasm"));
    load_on(name, &path, policy, options)
}

fn load_on(name: &str, path: &Path, policy: InstancePolicy, options: &EngineOptions) -> Mapper {
    let engine = Engine::new(options).expect("engine");
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `millwright plugin build` first",
            path.display()
        )
    });
    let plugin = Plugin::load(&engine, name, &bytes).expect("plugin");
    let slot = SlotContext::new("acme", "supplier-856").with_config("timezone", "America/Chicago");
    Mapper::new(&engine, plugin, slot, Limits::default(), policy).expect("mapper")
}

/// `payload` as it arrives from source supplier-856.
pub fn envelope(payload: Vec<u8>) -> Envelope {
    Envelope {
        source: "supplier-856".into(),
        message_id: "bench-1".into(),
        correlation_id: "bench".into(),
        received_at: jiff::Timestamp::UNIX_EPOCH,
        content_type: None,
        file_name: None,
        headers: Vec::new(),
        payload: payload.into(),
    }
}
