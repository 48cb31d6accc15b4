//! A plugin: a component that passed validation, compiled, with what the host knows about it.
//!
//! Every way a plugin enters the host (the offline runner, a route's configured file, an upload) goes through
//! [`Plugin::load`], which turns anything that is not a Millwright mapper for a contract this host serves into
//! one [`PluginError`] naming the file and what to do, before a single message reaches it.

use std::fmt;

use thiserror::Error;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex};

use crate::engine::Engine;
use crate::names::Sha256;

/// The contract package every plugin is built against.
pub const CONTRACT_PACKAGE: &str = "millwright:adapter";

/// The contract versions this host serves, newest first. A plugin built against any `0.1.x` runs here.
pub const SUPPORTED_CONTRACTS: &[(u64, u64)] = &[(0, 1), (0, 2)];

/// The contract version this host was built with.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// The published contract versions a plugin can be built against, as the host calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// 0.1.x: its events are read into the current types before they are published.
    V0_1,
    /// 0.2.x, the current one.
    V0_2,
}

impl Contract {
    /// The family of a version string (`0.1.0`, `0.2.3`), if the host serves it.
    pub fn of(version: &str) -> Option<Self> {
        let mut parts = version.split('.').map(|p| p.parse::<u64>());
        match (parts.next(), parts.next()) {
            (Some(Ok(0)), Some(Ok(1))) => Some(Contract::V0_1),
            (Some(Ok(0)), Some(Ok(2))) => Some(Contract::V0_2),
            _ => None,
        }
    }
}

/// Which way a plugin maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// Documents in, canonical events out (`world inbound-mapper`).
    Inbound,
    /// Canonical events in, documents out (`world outbound-mapper`).
    Outbound,
}

impl World {
    /// The WIT name of the world.
    pub fn wit_name(self) -> &'static str {
        match self {
            World::Inbound => "inbound-mapper",
            World::Outbound => "outbound-mapper",
        }
    }

    /// The world a WIT name names: `inbound-mapper` or `outbound-mapper`.
    pub fn from_wit_name(name: &str) -> Option<Self> {
        match name {
            "inbound-mapper" => Some(World::Inbound),
            "outbound-mapper" => Some(World::Outbound),
            _ => None,
        }
    }

    fn interface(self) -> &'static str {
        match self {
            World::Inbound => "inbound",
            World::Outbound => "outbound",
        }
    }

    /// The exported function that does the mapping.
    pub fn entry_point(self) -> &'static str {
        match self {
            World::Inbound => "map",
            World::Outbound => "render",
        }
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wit_name())
    }
}

/// Why a file is not a plugin this host can run. Each message names the file and says what to do.
#[derive(Debug, Error)]
pub enum PluginError {
    /// Zero bytes.
    #[error(
        "{name}: the file is empty; build the plugin with `millwright plugin build` and use the .wasm it writes"
    )]
    Empty {
        /// The file or upload name.
        name: String,
    },
    /// No WebAssembly magic number.
    #[error(
        "{name}: not a WebAssembly file (it starts with {start}); a plugin is the .wasm component that \
         `millwright plugin build` writes"
    )]
    NotWasm {
        /// The file or upload name.
        name: String,
        /// The first bytes, escaped.
        start: String,
    },
    /// A core module, not a component.
    #[error(
        "{name}: a core WebAssembly module, not a component; build Rust plugins for the wasm32-wasip2 target \
         (which makes components) or wrap the module with `wasm-tools component new`"
    )]
    CoreModule {
        /// The file or upload name.
        name: String,
    },
    /// Wasmtime rejected it: truncated, malformed or using unsupported features.
    #[error("{name}: not a valid component: {reason}")]
    Invalid {
        /// The file or upload name.
        name: String,
        /// wasmtime's explanation.
        reason: String,
    },
    /// A component, but not a Millwright mapper.
    #[error(
        "{name}: not a Millwright mapper: it exports neither {CONTRACT_PACKAGE}/inbound nor \
         {CONTRACT_PACKAGE}/outbound (its exports: {exports}); build it against world inbound-mapper or \
         outbound-mapper from the wit/ directory"
    )]
    NotAMapper {
        /// The file or upload name.
        name: String,
        /// What it does export.
        exports: String,
    },
    /// Built against a contract version this host does not serve.
    #[error(
        "{name}: built against contract {CONTRACT_PACKAGE}@{version}, which this host does not serve (it serves \
         {supported}); rebuild the plugin against wit/ version {CONTRACT_VERSION} or run a host that serves \
         {version}"
    )]
    UnsupportedVersion {
        /// The file or upload name.
        name: String,
        /// The version the plugin targets.
        version: String,
        /// What this host serves.
        supported: String,
    },
    /// Both worlds at once.
    #[error("{name}: exports both inbound and outbound; a plugin implements exactly one world")]
    BothWorlds {
        /// The file or upload name.
        name: String,
    },
    /// It needs an import the host does not give plugins.
    #[error(
        "{name}: {reason}; plugins may import only {CONTRACT_PACKAGE}/host and /edi (and the WASI basics std needs)"
    )]
    Imports {
        /// The file or upload name.
        name: String,
        /// wasmtime's explanation, naming the import.
        reason: String,
    },
    /// A mapper of the other world than the slot or route needs.
    #[error("{name}: implements the {world} world, but {needed_by} needs an {expected}")]
    WrongWorld {
        /// The file or upload name.
        name: String,
        /// What it implements.
        world: World,
        /// What is needed.
        expected: World,
        /// Who needs it: `route supplier-856 (slot supplier-856)`, `slot acme/erp's active version erp@1.0.0`.
        needed_by: String,
    },
    /// `describe` trapped or returned nonsense.
    #[error("{name}: its describe function failed: {reason}")]
    Describe {
        /// The file or upload name.
        name: String,
        /// What happened.
        reason: String,
    },
}

/// What a plugin says about itself (`describe`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    /// Its short name.
    pub name: String,
    /// Its own version.
    pub version: String,
    /// The documents it handles.
    pub document_types: Vec<String>,
    /// What it does.
    pub description: Option<String>,
}

/// A validated, compiled mapper component.
#[derive(Clone)]
pub struct Plugin {
    /// Where it came from: a path or an upload name, for messages.
    pub name: String,
    /// The compiled component.
    pub component: Component,
    /// Which world it implements.
    pub world: World,
    /// The contract version it was built against, e.g. `0.1.0`.
    pub contract: String,
    /// The sha256 of its bytes.
    pub sha256: Sha256,
    /// Its size in bytes.
    pub size: usize,
    /// What it says about itself; filled in by [`crate::invoke::Mapper::new`].
    pub info: Option<PluginInfo>,
    pub(crate) interface_index: ComponentExportIndex,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("world", &self.world)
            .field("contract", &self.contract)
            .field("sha256", &self.sha256)
            .field("info", &self.info)
            .finish()
    }
}

impl Plugin {
    /// Validates and compiles `bytes`. `name` is used in every message (a file path or an upload name).
    pub fn load(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Self, PluginError> {
        let name = name.to_string();
        check_header(&name, bytes)?;
        let (component, sha256) = engine.compile(bytes).map_err(|err| PluginError::Invalid {
            name: name.clone(),
            reason: format!("{err:#}"),
        })?;
        let (world, contract, export_name) = find_world(&name, engine, &component)?;
        let interface_index = component
            .get_export_index(None, &export_name)
            .ok_or_else(|| PluginError::NotAMapper {
                name: name.clone(),
                exports: export_name.clone(),
            })?;
        Ok(Self {
            name,
            component,
            world,
            contract,
            sha256,
            size: bytes.len(),
            info: None,
            interface_index,
        })
    }

    /// `slot@version+sha256` as the `Mw-Plugin` header writes it (the version from `describe`).
    pub fn label(&self) -> String {
        let (name, version) = match &self.info {
            Some(info) => (info.name.as_str(), info.version.as_str()),
            None => (self.name.as_str(), "?"),
        };
        format!("{name}@{version}+{}", self.sha256.short())
    }
}

fn check_header(name: &str, bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.is_empty() {
        return Err(PluginError::Empty { name: name.into() });
    }
    if !bytes.starts_with(b"\0asm") {
        let start: String = bytes
            .iter()
            .take(8)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from)
            .collect();
        return Err(PluginError::NotWasm {
            name: name.into(),
            start: format!("\"{start}\""),
        });
    }
    // Bytes 4..8: version 1 and layer 0 for a core module; a component has layer 1.
    if bytes.len() >= 8 && bytes[4..8] == [1, 0, 0, 0] {
        return Err(PluginError::CoreModule { name: name.into() });
    }
    Ok(())
}

fn find_world(
    name: &str,
    engine: &Engine,
    component: &Component,
) -> Result<(World, String, String), PluginError> {
    let ty = component.component_type();
    let mut found = Vec::new();
    let mut exports = Vec::new();
    for (export, item) in ty.exports(engine.wasmtime()) {
        exports.push(export.to_string());
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            continue;
        }
        let Some(rest) = export
            .strip_prefix(CONTRACT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        let world = match interface {
            "inbound" => World::Inbound,
            "outbound" => World::Outbound,
            _ => continue,
        };
        debug_assert_eq!(world.interface(), interface);
        found.push((world, version.to_string(), export.to_string()));
    }
    match found.len() {
        0 => Err(PluginError::NotAMapper {
            name: name.into(),
            exports: if exports.is_empty() {
                "none".into()
            } else {
                exports.join(", ")
            },
        }),
        1 => {
            let (world, version, export) = found.remove(0);
            if !supported(&version) {
                return Err(PluginError::UnsupportedVersion {
                    name: name.into(),
                    version: if version.is_empty() {
                        "(unversioned)".into()
                    } else {
                        version
                    },
                    supported: SUPPORTED_CONTRACTS
                        .iter()
                        .map(|(major, minor)| format!("{major}.{minor}.x"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            Ok((world, version, export))
        }
        _ => Err(PluginError::BothWorlds { name: name.into() }),
    }
}

/// Semver compatibility as the component model applies it: `0.x` versions are compatible within a minor,
/// others within a major; newer minors than the host knows are not served (their imports may be missing).
fn supported(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>());
    let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) else {
        return false;
    };
    SUPPORTED_CONTRACTS
        .iter()
        .any(|&(m, n)| m == major && if major == 0 { n == minor } else { minor <= n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;

    fn engine() -> Engine {
        Engine::new(&EngineOptions::default().with_pooling(false)).expect("engine")
    }

    #[test]
    fn empty_file_is_refused_with_its_name() {
        let err = Plugin::load(&engine(), "empty.wasm", b"").expect_err("empty");
        assert!(
            err.to_string().starts_with("empty.wasm: the file is empty"),
            "{err}"
        );
    }

    #[test]
    fn text_file_is_not_wasm() {
        let err = Plugin::load(&engine(), "a.wasm", b"ISA*00*").expect_err("text");
        assert!(matches!(err, PluginError::NotWasm { .. }));
        assert!(err.to_string().contains("\"ISA*00*\""), "{err}");
    }

    #[test]
    fn core_module_is_named_as_such() {
        let module = wat::parse_str("(module)").expect("wat");
        let err = Plugin::load(&engine(), "core.wasm", &module).expect_err("core");
        assert!(matches!(err, PluginError::CoreModule { .. }), "{err}");
    }

    #[test]
    fn truncated_component_is_invalid() {
        let component = wat::parse_str("(component (core module (func)))").expect("wat");
        let err = Plugin::load(&engine(), "cut.wasm", &component[..component.len() - 3])
            .expect_err("truncated");
        assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
    }

    #[test]
    fn component_without_mapper_export_is_not_a_mapper() {
        let component = wat::parse_str(
            r#"(component (core module $m (func (export "f"))) (core instance $i (instantiate $m))
                (func (export "hello") (canon lift (core func $i "f"))))"#,
        )
        .expect("wat");
        let err = Plugin::load(&engine(), "other.wasm", &component).expect_err("not a mapper");
        assert!(matches!(err, PluginError::NotAMapper { .. }), "{err}");
        assert!(err.to_string().contains("its exports: hello"), "{err}");
    }

    #[test]
    fn another_major_version_is_refused() {
        let component = wat::parse_str(
            r#"(component (core module $m (func (export "f"))) (core instance $i (instantiate $m))
                (func $f (canon lift (core func $i "f")))
                (instance $e (export "describe" (func $f)))
                (export "millwright:adapter/inbound@1.0.0" (instance $e)))"#,
        )
        .expect("wat");
        let err = Plugin::load(&engine(), "v1.wasm", &component).expect_err("v1");
        assert!(
            matches!(err, PluginError::UnsupportedVersion { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("adapter@1.0.0"), "{err}");
    }

    #[test]
    fn contract_versions_follow_semver() {
        assert!(supported("0.1.0"));
        assert!(supported("0.1.7"));
        assert!(supported("0.2.0"));
        assert!(!supported("0.3.0"));
        assert_eq!(Contract::of("0.1.7"), Some(Contract::V0_1));
        assert_eq!(Contract::of("0.2.0"), Some(Contract::V0_2));
        assert_eq!(Contract::of("0.3.0"), None);
        assert!(!supported("1.0.0"));
        assert!(!supported("banana"));
    }
}
