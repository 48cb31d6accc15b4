//! One message through one plugin: a store with limits and a deadline, the call, and what its result means.
//!
//! A [`Mapper`] is a plugin made ready to run in one slot: its imports resolved once into an `InstancePre`, its
//! `describe` answered, its limits set. A [`Session`] runs messages through it on one thread: with the default
//! [`InstancePolicy::Fresh`] every message gets a new instance from the pooling allocator, so nothing a message
//! does can leak into the next; [`InstancePolicy::Reuse`] keeps one warm instance for a number of messages, which
//! interpreted guests need (their start-up costs milliseconds), and drops it after any failure. Every outcome is
//! classified into an [`InvokeError`] whose [`InvokeError::action`] tells the pipeline what to do with the input.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, Linker, TypedFunc, Val};
use wasmtime::{Store, Trap};

use crate::canonical::{self, kebab};
use crate::engine::Engine;
use crate::host_api::bindings::millwright::adapter::types;
use crate::host_api::{self, HostState, SlotContext};
use crate::plugin::{Plugin, PluginError, PluginInfo, World};

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

/// What the pipeline does with an input whose call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Dead-letter at once; retrying cannot help.
    DeadLetter,
    /// Dead-letter as parked: replay once the tenant's master data is fixed.
    Park,
    /// Retry with backoff; dead-letter after the configured attempts.
    Retry,
}

/// The class of a mapping error, as the plugin chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// `invalid-document`.
    InvalidDocument,
    /// `unknown-reference`.
    UnknownReference,
    /// `transient`.
    Transient,
}

impl ErrorClass {
    /// The WIT case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::InvalidDocument => "invalid-document",
            ErrorClass::UnknownReference => "unknown-reference",
            ErrorClass::Transient => "transient",
        }
    }
}

/// Why a call produced no output.
#[derive(Debug, Error)]
pub enum InvokeError {
    /// The plugin rejected the input with a `mapping-error`.
    #[error("{}: {}", class.as_str(), diagnostic_text(diagnostic))]
    Mapping {
        /// Which kind of error.
        class: ErrorClass,
        /// The plugin's located diagnostic, as canonical JSON (`message`, `at`, `code`).
        diagnostic: Value,
    },
    /// The plugin ran past its deadline.
    #[error("the plugin ran past its deadline of {0:?}")]
    Deadline(Duration),
    /// The plugin trapped (a panic, an out-of-bounds access, memory exhausted).
    #[error("the plugin trapped: {trap}{}", stderr.as_ref().map(|s| format!("; it wrote: {s}")).unwrap_or_default())]
    Trap {
        /// wasmtime's description of the trap.
        trap: String,
        /// What the plugin wrote to stderr before it trapped (a panic message), if anything.
        stderr: Option<String>,
    },
    /// The plugin returned more than its limits allow.
    #[error("the plugin's output is over its limit: {0}")]
    OutputLimit(String),
    /// The plugin returned something the host cannot use.
    #[error("the plugin returned an unusable result: {0}")]
    BadOutput(String),
    /// The host could not set up the call; not the plugin's fault.
    #[error("the host could not run the plugin: {0}")]
    Host(String),
}

impl InvokeError {
    /// What to do with the input.
    pub fn action(&self) -> Action {
        match self {
            InvokeError::Mapping {
                class: ErrorClass::InvalidDocument,
                ..
            } => Action::DeadLetter,
            InvokeError::Mapping {
                class: ErrorClass::UnknownReference,
                ..
            } => Action::Park,
            InvokeError::Mapping {
                class: ErrorClass::Transient,
                ..
            } => Action::Retry,
            // A trap or a deadline may be the input's fault or a passing condition; retry, then dead-letter.
            InvokeError::Deadline(_) | InvokeError::Trap { .. } | InvokeError::Host(_) => {
                Action::Retry
            }
            InvokeError::OutputLimit(_) | InvokeError::BadOutput(_) => Action::DeadLetter,
        }
    }
}

fn diagnostic_text(diagnostic: &Value) -> String {
    let message = diagnostic["message"].as_str().unwrap_or("(no message)");
    let at = &diagnostic["at"];
    let mut place = Vec::new();
    if let Some(t) = at["transaction"].as_str() {
        place.push(format!("transaction {t}"));
    }
    match (at["segment-id"].as_str(), at["segment-index"].as_u64()) {
        (Some(id), Some(i)) => place.push(format!("segment {id} #{i}")),
        (Some(id), None) => place.push(format!("segment {id}")),
        (None, Some(i)) => place.push(format!("segment #{i}")),
        (None, None) => {}
    }
    if let Some(e) = at["element"].as_u64() {
        // Line-oriented formats (CSV) number their fields as columns; EDI numbers elements within a segment.
        if at["line"].is_u64() && at["segment-id"].is_null() {
            place.push(format!("column {e}"));
        } else {
            place.push(format!("element {e:02}"));
        }
    }
    if let Some(c) = at["component"].as_u64() {
        place.push(format!("component {c}"));
    }
    if let Some(l) = at["line"].as_u64() {
        place.push(format!("line {l}"));
    }
    if let Some(p) = at["json-path"].as_str() {
        place.push(p.to_string());
    }
    if let Some(o) = at["byte-offset"].as_u64() {
        place.push(format!("byte {o}"));
    }
    let code = diagnostic["code"]
        .as_str()
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default();
    if place.is_empty() {
        format!("{message}{code}")
    } else {
        format!("{message}{code} (at {})", place.join(", "))
    }
}

/// A document arriving for an inbound mapper.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The route's source name.
    pub source: String,
    /// The input message's id.
    pub message_id: String,
    /// The flow's correlation id.
    pub correlation_id: String,
    /// When the host received it.
    pub received_at: jiff::Timestamp,
    /// Its content type, if known.
    pub content_type: Option<String>,
    /// Its file name, if it came as a file.
    pub file_name: Option<String>,
    /// Other headers.
    pub headers: Vec<(String, String)>,
    /// The document.
    pub payload: Vec<u8>,
}

/// A canonical event as the host publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type, the WIT case name: `ship-notice`.
    pub event_type: &'static str,
    /// The event as canonical JSON.
    pub json: Vec<u8>,
}

impl Event {
    /// The event as a JSON value, for reading it in tests and tools.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// A document an outbound mapper produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundDocument {
    /// Its content type.
    pub content_type: String,
    /// A file name, when the target wants files.
    pub file_name: Option<String>,
    /// Extra headers for the target.
    pub headers: Vec<(String, String)>,
    /// The document.
    pub payload: Vec<u8>,
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
        if plugin.world == World::Inbound {
            check_map_signature(&pre, entry, &slot, &describing, &limits).map_err(|err| {
                PluginError::NotAMapper {
                    name: plugin.name.clone(),
                    exports: format!("its inbound interface does not match the contract: {err}"),
                }
            })?;
        }
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
        let bound = match self.plugin.world {
            World::Inbound => Bound::Inbound(entry),
            World::Outbound => Bound::Outbound(entry),
        };
        Ok(Instance {
            store,
            bound,
            uses: 0,
        })
    }
}

struct Instance {
    store: Store<HostState>,
    bound: Bound,
    uses: u32,
}

/// The instance's entry point: `map` of an inbound mapper, called typed (see [`typed_map`]); `render` of an
/// outbound mapper, called with dynamic values.
enum Bound {
    Inbound(Func),
    Outbound(Func),
}

/// The parameters and results of `inbound.map`, as the typed call lowers and lifts them.
type MapParams<'a> = (&'a types::Envelope,);
type MapResults = (Result<Vec<types::CanonicalEvent>, types::MappingError>,);

/// `map` as a typed function, without checking its type again. A typed function is normally checked against
/// the component's types when it is made, field name by field name through the whole canonical model, which
/// cost about a third of every instantiation; [`check_map_signature`] does that once per mapper instead.
fn typed_map<'a>(func: Func) -> TypedFunc<MapParams<'a>, MapResults> {
    // SAFETY: `func` is the `map` export of an instance of the mapper's component, and `Mapper::new` refused
    // the component unless that export has exactly this signature (`check_map_signature`). Every instance of
    // one component has the same export types, so the check holds for this instance too.
    #[allow(unsafe_code)]
    unsafe {
        TypedFunc::new_unchecked(func)
    }
}

/// Runs messages through one mapper on one thread, holding a warm instance when the policy says so.
pub struct Session<'m> {
    mapper: &'m Mapper,
    warm: Option<Instance>,
}

impl Session<'_> {
    /// Maps one document into canonical events (inbound mappers), written as canonical JSON. The header's
    /// `tenant` and `correlation-id` are set by the host, whatever the plugin wrote there.
    pub fn map(&mut self, envelope: &Envelope) -> Result<Vec<Event>, InvokeError> {
        let events = self.map_typed(envelope)?;
        let limit = self.mapper.limits.max_output_bytes;
        let mut out = Vec::with_capacity(events.len());
        let mut bytes = 0usize;
        for event in &events {
            let mut json = Vec::with_capacity(1024);
            kebab::serialize(event, &mut serde_json::Serializer::new(&mut json))
                .map_err(|e| InvokeError::BadOutput(format!("writing canonical JSON: {e}")))?;
            if let Some(problem) = canonical::control_character(&json) {
                return Err(InvokeError::BadOutput(problem));
            }
            bytes += json.len();
            if bytes > limit {
                return Err(InvokeError::OutputLimit(format!(
                    "more than {limit} bytes of canonical JSON"
                )));
            }
            out.push(Event {
                event_type: event_type(event),
                json,
            });
        }
        Ok(out)
    }

    /// Maps one document into canonical events as the contract's typed values, with the host's header fields
    /// set; what [`Session::map`] writes to JSON.
    pub fn map_typed(
        &mut self,
        envelope: &Envelope,
    ) -> Result<Vec<types::CanonicalEvent>, InvokeError> {
        let mut instance = self.take_instance()?;
        let Bound::Inbound(func) = instance.bound else {
            return Err(InvokeError::Host(format!(
                "{} is an outbound mapper; it renders events, it does not map documents",
                self.mapper.plugin.name
            )));
        };
        let argument = types::Envelope {
            source: envelope.source.clone(),
            tenant: self.mapper.slot.tenant.clone(),
            message_id: envelope.message_id.clone(),
            correlation_id: envelope.correlation_id.clone(),
            received_at: host_api::time::to_wit(envelope.received_at, None),
            content_type: envelope.content_type.clone(),
            file_name: envelope.file_name.clone(),
            headers: envelope.headers.clone(),
            payload: envelope.payload.clone(),
        };
        let deadline = self.mapper.limits.deadline;
        instance
            .store
            .data_mut()
            .begin_call(&envelope.correlation_id);
        instance
            .store
            .set_epoch_deadline(Engine::ticks_for(deadline));
        let called = typed_map(func).call(&mut instance.store, (&argument,));
        instance.uses += 1;
        let result = match called {
            Ok((result,)) => {
                self.keep(instance);
                result
            }
            // A failed instance is never reused: its memory may be half-written.
            Err(err) => return Err(classify_trap(err, &mut instance.store, deadline)),
        };
        let mut events = result.map_err(typed_mapping_error)?;
        let limit = self.mapper.limits.max_outputs;
        if events.len() > limit {
            return Err(InvokeError::OutputLimit(format!(
                "{} events, the limit is {limit}",
                events.len()
            )));
        }
        for event in &mut events {
            let header = header_mut(event);
            header.tenant.clone_from(&self.mapper.slot.tenant);
            header.correlation_id.clone_from(&envelope.correlation_id);
        }
        Ok(events)
    }

    /// Keeps a healthy instance for the next message when the policy reuses instances.
    fn keep(&mut self, instance: Instance) {
        if let InstancePolicy::Reuse { recycle_after } = self.mapper.policy
            && instance.uses < recycle_after
        {
            self.warm = Some(instance);
        }
    }

    /// Renders one canonical event (JSON) for `target` (outbound mappers).
    pub fn render(
        &mut self,
        event: &Value,
        target: &str,
        correlation_id: &str,
    ) -> Result<Vec<OutboundDocument>, InvokeError> {
        if self.mapper.plugin.world != World::Outbound {
            return Err(InvokeError::Host(format!(
                "{} is an inbound mapper; it maps documents, it does not render events",
                self.mapper.plugin.name
            )));
        }
        let params = self.param_types()?;
        let event_type = params
            .first()
            .ok_or_else(|| InvokeError::Host("render takes no parameters".into()))?;
        let event = canonical::from_json(event_type, event)
            .map_err(|e| InvokeError::Host(format!("the event is not canonical JSON: {e:#}")))?;
        let target = Val::Record(vec![("name".into(), Val::String(target.into()))]);
        let result = self.call(correlation_id, &[event, target])?;
        let docs = match result {
            Ok(Some(list)) => match *list {
                Val::List(docs) => docs,
                other => {
                    return Err(InvokeError::BadOutput(format!(
                        "expected a list of documents, got {other:?}"
                    )));
                }
            },
            Ok(None) => Vec::new(),
            Err(err) => return Err(mapping_error(err)),
        };
        let limits = &self.mapper.limits;
        if docs.len() > limits.max_outputs {
            return Err(InvokeError::OutputLimit(format!(
                "{} documents, the limit is {}",
                docs.len(),
                limits.max_outputs
            )));
        }
        let out: Vec<OutboundDocument> = docs
            .iter()
            .map(document_from_val)
            .collect::<Result<_, _>>()?;
        let bytes: usize = out.iter().map(|d| d.payload.len()).sum();
        if bytes > limits.max_output_bytes {
            return Err(InvokeError::OutputLimit(format!(
                "{bytes} bytes of documents, the limit is {}",
                limits.max_output_bytes
            )));
        }
        Ok(out)
    }

    fn param_types(&mut self) -> Result<Vec<wasmtime::component::types::Type>, InvokeError> {
        let instance = self.take_instance()?;
        let func = match &instance.bound {
            Bound::Outbound(func) => *func,
            Bound::Inbound(_) => {
                return Err(InvokeError::Host(
                    "an inbound mapper has no render function".into(),
                ));
            }
        };
        let types = func
            .ty(&instance.store)
            .params()
            .map(|(_, ty)| ty)
            .collect();
        self.warm = Some(instance);
        Ok(types)
    }

    fn take_instance(&mut self) -> Result<Instance, InvokeError> {
        match self.warm.take() {
            Some(instance) => Ok(instance),
            None => self.mapper.instantiate(),
        }
    }

    /// Calls the entry point and returns its `result<_, mapping-error>` payload.
    #[allow(clippy::type_complexity)]
    fn call(
        &mut self,
        correlation_id: &str,
        params: &[Val],
    ) -> Result<Result<Option<Box<Val>>, Option<Box<Val>>>, InvokeError> {
        let mut instance = self.take_instance()?;
        let func = match &instance.bound {
            Bound::Outbound(func) => *func,
            Bound::Inbound(_) => {
                return Err(InvokeError::Host(
                    "an inbound mapper has no render function".into(),
                ));
            }
        };
        let deadline = self.mapper.limits.deadline;
        instance.store.data_mut().begin_call(correlation_id);
        instance
            .store
            .set_epoch_deadline(Engine::ticks_for(deadline));
        let mut results = [Val::Bool(false)];
        let called = func.call(&mut instance.store, params, &mut results);
        instance.uses += 1;
        match called {
            Ok(()) => {
                self.keep(instance);
                let [result] = results;
                match result {
                    Val::Result(result) => Ok(result),
                    other => Err(InvokeError::BadOutput(format!(
                        "expected a result, got {other:?}"
                    ))),
                }
            }
            // A failed instance is never reused: its memory may be half-written.
            Err(err) => Err(classify_trap(err, &mut instance.store, deadline)),
        }
    }
}

fn classify_trap(
    err: wasmtime::Error,
    store: &mut Store<HostState>,
    deadline: Duration,
) -> InvokeError {
    if let Some(trap) = err.downcast_ref::<Trap>()
        && *trap == Trap::Interrupt
    {
        return InvokeError::Deadline(deadline);
    }
    let trap = err.downcast_ref::<Trap>().map(ToString::to_string);
    let stderr = store.data_mut().take_stderr();
    InvokeError::Trap {
        trap: trap.unwrap_or_else(|| format!("{err:#}")),
        stderr,
    }
}

fn typed_mapping_error(err: types::MappingError) -> InvokeError {
    let (class, diagnostic) = match err {
        types::MappingError::InvalidDocument(d) => (ErrorClass::InvalidDocument, d),
        types::MappingError::UnknownReference(d) => (ErrorClass::UnknownReference, d),
        types::MappingError::Transient(d) => (ErrorClass::Transient, d),
    };
    match kebab::serialize(&diagnostic, serde_json::value::Serializer) {
        Ok(diagnostic) => InvokeError::Mapping { class, diagnostic },
        Err(e) => InvokeError::BadOutput(e.to_string()),
    }
}

/// One arm per event type, so adding a case to `canonical-event` fails to compile until it is handled here.
macro_rules! event_types {
    ($($case:ident => $name:literal,)*) => {
        /// The event type of a canonical event: its WIT case name.
        pub fn event_type(event: &types::CanonicalEvent) -> &'static str {
            match event {
                $(types::CanonicalEvent::$case(_) => $name,)*
            }
        }

        /// The header every canonical event carries.
        pub fn header_mut(event: &mut types::CanonicalEvent) -> &mut types::EventHeader {
            match event {
                $(types::CanonicalEvent::$case(e) => &mut e.header,)*
            }
        }
    };
}

event_types! {
    Item => "item",
    Party => "party",
    Location => "location",
    Lot => "lot",
    PurchaseOrder => "purchase-order",
    OrderAcknowledgment => "order-acknowledgment",
    ShipNotice => "ship-notice",
    GoodsReceipt => "goods-receipt",
    MaterialConsumption => "material-consumption",
    ProductionCompletion => "production-completion",
    InventoryMovement => "inventory-movement",
    QualityHold => "quality-hold",
    WorkOrderStatus => "work-order-status",
    Exception => "exception",
}

fn mapping_error(err: Option<Box<Val>>) -> InvokeError {
    let Some(err) = err else {
        return InvokeError::BadOutput("an error without a mapping-error".into());
    };
    match *err {
        Val::Variant(case, Some(diagnostic)) => {
            let class = match case.as_str() {
                "invalid-document" => ErrorClass::InvalidDocument,
                "unknown-reference" => ErrorClass::UnknownReference,
                "transient" => ErrorClass::Transient,
                other => {
                    return InvokeError::BadOutput(format!("unknown mapping-error case {other:?}"));
                }
            };
            match canonical::to_json(&diagnostic) {
                Ok(diagnostic) => InvokeError::Mapping { class, diagnostic },
                Err(e) => InvokeError::BadOutput(e.to_string()),
            }
        }
        other => InvokeError::BadOutput(format!("expected a mapping-error, got {other:?}")),
    }
}

fn document_from_val(val: &Val) -> Result<OutboundDocument, InvokeError> {
    let bad = |what: &str| InvokeError::BadOutput(format!("an outbound-document with {what}"));
    let Val::Record(fields) = val else {
        return Err(bad("no fields"));
    };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let content_type = match field("content-type") {
        Some(Val::String(s)) => s.clone(),
        _ => return Err(bad("no content-type")),
    };
    let file_name = match field("file-name") {
        Some(Val::Option(Some(v))) => match &**v {
            Val::String(s) => Some(s.clone()),
            _ => return Err(bad("a file-name that is not a string")),
        },
        _ => None,
    };
    let headers = match field("headers") {
        Some(Val::List(items)) => items
            .iter()
            .filter_map(|item| match item {
                Val::Tuple(kv) => match kv.as_slice() {
                    [Val::String(k), Val::String(v)] => Some((k.clone(), v.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let payload = match field("payload") {
        Some(Val::List(bytes)) => bytes
            .iter()
            .map(|b| match b {
                Val::U8(b) => Ok(*b),
                _ => Err(bad("a payload that is not bytes")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("no payload")),
    };
    Ok(OutboundDocument {
        content_type,
        file_name,
        headers,
        payload,
    })
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

/// Checks once that the component's `map` has the contract's signature, so each instance can call it typed
/// without checking again ([`typed_map`]).
fn check_map_signature(
    pre: &InstancePre<HostState>,
    entry: ComponentExportIndex,
    slot: &Arc<SlotContext>,
    label: &Arc<str>,
    limits: &Limits,
) -> Result<(), String> {
    let mut store = new_store(pre.engine(), slot, label, limits);
    let instance = pre
        .instantiate(&mut store)
        .map_err(|err| classify_trap(err, &mut store, limits.deadline).to_string())?;
    let func = instance
        .get_func(&mut store, entry)
        .ok_or_else(|| "map vanished after instantiation".to_string())?;
    func.typed::<MapParams<'_>, MapResults>(&store)
        .map(drop)
        .map_err(|err| format!("{err:#}"))
}

fn describe_plugin(
    pre: &InstancePre<HostState>,
    describe: ComponentExportIndex,
    slot: &Arc<SlotContext>,
    label: &Arc<str>,
    limits: &Limits,
) -> Result<PluginInfo, InvokeError> {
    let mut store = new_store(pre.engine(), slot, label, limits);
    let instance = pre
        .instantiate(&mut store)
        .map_err(|err| classify_trap(err, &mut store, limits.deadline))?;
    let func = instance
        .get_func(&mut store, describe)
        .ok_or_else(|| InvokeError::Host("describe vanished after instantiation".into()))?;
    let mut results = [Val::Bool(false)];
    func.call(&mut store, &[], &mut results)
        .map_err(|err| classify_trap(err, &mut store, limits.deadline))?;
    let [info] = results;
    let json = canonical::to_json(&info).map_err(|e| InvokeError::BadOutput(e.to_string()))?;
    let text = |key: &str| json[key].as_str().map(str::to_string);
    let info = PluginInfo {
        name: text("name")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| InvokeError::BadOutput("describe gave no name".into()))?,
        version: text("version")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| InvokeError::BadOutput("describe gave no version".into()))?,
        document_types: json["document-types"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        description: text("description"),
    };
    Ok(info)
}
