//! One message through one plugin: a store with limits and a deadline, the call, and what its result means.
//!
//! A [`Mapper`] is a plugin made ready to run in one slot: its imports resolved once into an `InstancePre`, its
//! `describe` answered, its entry point's signature checked, its limits set. A [`Session`] runs messages through
//! it on one thread: with the default [`InstancePolicy::Fresh`] every message gets a new instance from the
//! pooling allocator, so nothing a message does can leak into the next; [`InstancePolicy::Reuse`] keeps one warm
//! instance for a number of messages, which interpreted guests need (their start-up costs milliseconds), and
//! drops it after any failure.
//!
//! - [`inbound`]: `map`, a document in, canonical events out (written as canonical JSON);
//! - [`outbound`]: `render`, a canonical event in, documents out;
//! - [`error`]: every outcome classified into an [`InvokeError`] and its [`FailureClass`], which tells the
//!   pipeline what to do with the input.
//!
//! Both worlds are called through the contract's generated types, typed, with no hand decoding.

mod error;
mod inbound;
mod outbound;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, Linker};

use crate::engine::Engine;
use crate::host_api::{self, HostState, SlotContext};
use crate::plugin::{Contract, Plugin, PluginError, PluginInfo, World};
use error::classify_trap;

pub use error::{Action, FailureClass, InvokeError, diagnostic_text};
pub(crate) use inbound::header_mut;
pub use inbound::{Envelope, Event, event_type};
pub use outbound::OutboundDocument;

/// Whether each message gets a fresh instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstancePolicy {
    /// A new instance per message: the strongest isolation, and cheap with the pooling allocator.
    #[default]
    Fresh,
    /// One instance serves up to `recycle_after` messages, then is replaced; any failure replaces it at once.
    Reuse {
        /// Messages per instance.
        recycle_after: u32,
    },
}

/// What one call may use.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time for one call, enforced by epoch interruption.
    pub deadline: Duration,
    /// The most linear memory the plugin may grow to.
    pub memory_bytes: usize,
    /// The most events (or documents) one call may return.
    pub max_outputs: usize,
    /// The most bytes of output (canonical JSON, or document payloads) one call may return.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            memory_bytes: 128 << 20,
            max_outputs: 10_000,
            max_output_bytes: 16 << 20,
        }
    }
}

/// A plugin ready to run in one slot.
pub struct Mapper {
    /// Held so the engine's epoch ticker, which enforces deadlines, lives as long as the mapper.
    _engine: Engine,
    plugin: Plugin,
    info: PluginInfo,
    pre: InstancePre<HostState>,
    entry: ComponentExportIndex,
    slot: Arc<SlotContext>,
    label: Arc<str>,
    limits: Limits,
    policy: InstancePolicy,
    /// The contract version the plugin was built against, which decides the types it is called with.
    contract: Contract,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper")
            .field("plugin", &self.label)
            .field("slot", &self.slot)
            .field("limits", &self.limits)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Mapper {
    /// Resolves the plugin's imports against what the host provides and asks it to describe itself. A plugin
    /// that imports something the host does not give, or whose `describe` fails, is refused here.
    pub fn new(
        engine: &Engine,
        mut plugin: Plugin,
        slot: SlotContext,
        limits: Limits,
        policy: InstancePolicy,
    ) -> Result<Self, PluginError> {
        let mut linker = Linker::new(engine.wasmtime());
        host_api::add_to_linker(&mut linker).map_err(|err| PluginError::Describe {
            name: plugin.name.clone(),
            reason: format!("setting up host imports: {err:#}"),
        })?;
        let pre =
            linker
                .instantiate_pre(&plugin.component)
                .map_err(|err| PluginError::Imports {
                    name: plugin.name.clone(),
                    reason: format!("{err:#}"),
                })?;
        let export = |name: &str| {
            plugin
                .component
                .get_export_index(Some(&plugin.interface_index), name)
                .ok_or_else(|| PluginError::NotAMapper {
                    name: plugin.name.clone(),
                    exports: format!("its {} interface has no `{name}` function", plugin.world),
                })
        };
        let entry = export(plugin.world.entry_point())?;
        let describe = export("describe")?;
        let mut limits = limits;
        limits.memory_bytes = limits.memory_bytes.min(engine.max_memory_bytes());
        let slot = Arc::new(slot);
        let describing: Arc<str> = Arc::from(plugin.name.as_str());
        let info = describe_plugin(&pre, describe, &slot, &describing, &limits).map_err(|err| {
            PluginError::Describe {
                name: plugin.name.clone(),
                reason: err.to_string(),
            }
        })?;
        let contract =
            Contract::of(&plugin.contract).ok_or_else(|| PluginError::UnsupportedVersion {
                name: plugin.name.clone(),
                version: plugin.contract.clone(),
                supported: crate::plugin::CONTRACT_VERSION.to_string(),
            })?;
        // Checked once here, so that each instance can call its entry point typed without checking again.
        let probe = Probe {
            pre: &pre,
            entry,
            slot: &slot,
            label: &describing,
            limits: &limits,
        };
        let checked = match plugin.world {
            World::Inbound => inbound::check_signature(&probe, contract),
            World::Outbound => outbound::check_signature(&probe, contract),
        };
        checked.map_err(|err| PluginError::NotAMapper {
            name: plugin.name.clone(),
            exports: format!(
                "its {} interface does not match the contract: {err}",
                plugin.world
            ),
        })?;
        plugin.info = Some(info.clone());
        let label = Arc::from(plugin.label());
        Ok(Self {
            _engine: engine.clone(),
            plugin,
            info,
            pre,
            entry,
            slot,
            label,
            limits,
            policy,
            contract,
        })
    }

    /// The plugin.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// `name@version+sha` for headers and logs.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Starts a session for one worker thread.
    pub fn session(&self) -> Session<'_> {
        Session {
            mapper: self,
            warm: None,
            missed: Vec::new(),
        }
    }

    /// Instantiates the plugin and drops the instance: what a fresh instance per message costs before the call.
    /// For benchmarks and start-up checks.
    pub fn instantiate_and_drop(&self) -> Result<(), InvokeError> {
        self.instantiate().map(drop)
    }

    fn instantiate(&self) -> Result<Instance, InvokeError> {
        let mut store = new_store(self.pre.engine(), &self.slot, &self.label, &self.limits);
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|err| classify_trap(err, &mut store, self.limits.deadline))?;
        let entry = instance.get_func(&mut store, self.entry).ok_or_else(|| {
            InvokeError::Host("the entry point vanished after instantiation".into())
        })?;
        Ok(Instance {
            store,
            entry,
            uses: 0,
        })
    }
}

struct Instance {
    store: Store<HostState>,
    /// The entry point: `map` of an inbound mapper, `render` of an outbound one, called typed by
    /// [`inbound`] and [`outbound`].
    entry: Func,
    uses: u32,
}

/// Runs messages through one mapper on one thread, holding a warm instance when the policy says so.
pub struct Session<'m> {
    mapper: &'m Mapper,
    warm: Option<Instance>,
    /// The master-data tables the last call looked up and missed.
    missed: Vec<host_api::Miss>,
}

impl Session<'_> {
    /// The master-data tables the last call looked up and missed (no such key, or no such table): what a
    /// message parked for `unknown-reference` waits for.
    pub fn take_misses(&mut self) -> Vec<host_api::Miss> {
        std::mem::take(&mut self.missed)
    }

    /// Keeps a healthy instance for the next message when the policy reuses instances.
    fn keep(&mut self, instance: Instance) {
        if let InstancePolicy::Reuse { recycle_after } = self.mapper.policy
            && instance.uses < recycle_after
        {
            self.warm = Some(instance);
        }
    }

    fn take_instance(&mut self) -> Result<Instance, InvokeError> {
        match self.warm.take() {
            Some(instance) => Ok(instance),
            None => self.mapper.instantiate(),
        }
    }

    /// Takes an instance of a mapper of `world` and readies it for a call: the log budget and correlation id
    /// of this message, and the deadline.
    fn begin(
        &mut self,
        world: World,
        correlation_id: &str,
        input_key: &str,
    ) -> Result<Instance, InvokeError> {
        self.missed.clear();
        if self.mapper.plugin.world != world {
            return Err(InvokeError::Host(format!(
                "{} is an {}; the route asked it for what an {world} does",
                self.mapper.plugin.name, self.mapper.plugin.world
            )));
        }
        let mut instance = self.take_instance()?;
        instance
            .store
            .data_mut()
            .begin_call(correlation_id, input_key);
        instance
            .store
            .set_epoch_deadline(Engine::ticks_for(self.mapper.limits.deadline));
        instance.uses += 1;
        Ok(instance)
    }

    /// Ends a call: a healthy instance may be kept; a failed one never is, its memory may be half-written.
    fn end<T>(
        &mut self,
        mut instance: Instance,
        called: wasmtime::Result<T>,
    ) -> Result<T, InvokeError> {
        self.missed = instance.store.data_mut().take_misses();
        match called {
            Ok(result) => {
                self.keep(instance);
                Ok(result)
            }
            Err(err) => Err(classify_trap(
                err,
                &mut instance.store,
                self.mapper.limits.deadline,
            )),
        }
    }
}

/// A store for one instance: the slot's view of the host, the memory cap, and a deadline that also covers
/// instantiation (start-up code counts against the first call).
fn new_store(
    engine: &wasmtime::Engine,
    slot: &Arc<SlotContext>,
    label: &Arc<str>,
    limits: &Limits,
) -> Store<HostState> {
    let mut store = Store::new(
        engine,
        HostState::new(slot.clone(), label.clone(), limits.memory_bytes),
    );
    store.limiter(|state| &mut state.limits);
    store.set_epoch_deadline(Engine::ticks_for(limits.deadline));
    store
}

/// Instantiates the plugin once in a store of its own: for describing it and checking its entry point.
fn probe(
    pre: &InstancePre<HostState>,
    slot: &Arc<SlotContext>,
    label: &Arc<str>,
    limits: &Limits,
) -> Result<(Store<HostState>, wasmtime::component::Instance), InvokeError> {
    let mut store = new_store(pre.engine(), slot, label, limits);
    let instance = pre
        .instantiate(&mut store)
        .map_err(|err| classify_trap(err, &mut store, limits.deadline))?;
    Ok((store, instance))
}

/// What checking an entry point's signature needs: an instance to take the function from.
struct Probe<'a> {
    pre: &'a InstancePre<HostState>,
    entry: ComponentExportIndex,
    slot: &'a Arc<SlotContext>,
    label: &'a Arc<str>,
    limits: &'a Limits,
}

impl Probe<'_> {
    /// Checks that the entry point has the signature `(P) -> R`, so every instance can call it typed unchecked.
    fn check<P, R>(&self) -> Result<(), String>
    where
        P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower,
        R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
    {
        let (mut store, instance) =
            probe(self.pre, self.slot, self.label, self.limits).map_err(|err| err.to_string())?;
        let func = instance
            .get_func(&mut store, self.entry)
            .ok_or_else(|| "the entry point vanished after instantiation".to_string())?;
        func.typed::<P, R>(&store)
            .map(drop)
            .map_err(|err| format!("{err:#}"))
    }
}

/// An entry point as a typed function, without checking its type again. A typed function is normally checked
/// against the component's types when it is made, field name by field name through the whole canonical model,
/// which cost about a third of every instantiation; [`Probe::check`] does that once per mapper instead.
///
/// # Safety
///
/// `func` must be an export of an instance of a component whose export at that index [`Probe::check`] accepted
/// with these very `P` and `R`.
#[allow(unsafe_code)]
unsafe fn typed_unchecked<P, R>(func: Func) -> wasmtime::component::TypedFunc<P, R>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower,
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
{
    // SAFETY: the caller's promise: every instance of one component has the same export types, so the check
    // made once on a probe instance holds for this one.
    #[allow(unsafe_code)]
    unsafe {
        wasmtime::component::TypedFunc::new_unchecked(func)
    }
}

/// Asks the plugin to describe itself, in an instance of its own.
fn describe_plugin(
    pre: &InstancePre<HostState>,
    describe: ComponentExportIndex,
    slot: &Arc<SlotContext>,
    label: &Arc<str>,
    limits: &Limits,
) -> Result<PluginInfo, InvokeError> {
    use crate::host_api::bindings::millwright::adapter::types;
    let (mut store, instance) = probe(pre, slot, label, limits)?;
    let func = instance
        .get_func(&mut store, describe)
        .ok_or_else(|| InvokeError::Host("describe vanished after instantiation".into()))?;
    // Called once per plugin load, so the type check the typed call makes costs nothing that matters.
    let describe = func
        .typed::<(), (types::PluginInfo,)>(&store)
        .map_err(|err| {
            InvokeError::BadOutput(format!("describe does not match the contract: {err:#}"))
        })?;
    let (info,) = describe
        .call(&mut store, ())
        .map_err(|err| classify_trap(err, &mut store, limits.deadline))?;
    if info.name.is_empty() {
        return Err(InvokeError::BadOutput("describe gave no name".into()));
    }
    if info.version.is_empty() {
        return Err(InvokeError::BadOutput("describe gave no version".into()));
    }
    Ok(PluginInfo {
        name: info.name,
        version: info.version,
        document_types: info.document_types,
        description: info.description,
    })
}
