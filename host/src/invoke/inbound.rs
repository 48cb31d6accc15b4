//! `map`: a document in, canonical events out, written as canonical JSON from the contract's generated types.
//!
//! The host sets each event's `tenant` and `correlation-id`, whatever the plugin wrote there, and refuses an
//! answer whose canonical strings hold a control character ([`crate::canonical::control_character`]).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, TypedFunc};

use super::error::mapping_error;
use super::{InvokeError, Limits, Session, probe};
use crate::canonical::{self, kebab};
use crate::host_api::bindings::millwright::adapter::types;
use crate::host_api::{self, HostState, SlotContext};
use crate::plugin::World;

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
    /// The document, as the message carried it: copied once, into the plugin's argument.
    pub payload: Bytes,
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

/// The parameters and results of `inbound.map`, as the typed call lowers and lifts them.
type MapParams<'a> = (&'a types::Envelope,);
type MapResults = (Result<Vec<types::CanonicalEvent>, types::MappingError>,);

/// `map` as a typed function, without checking its type again. A typed function is normally checked against
/// the component's types when it is made, field name by field name through the whole canonical model, which
/// cost about a third of every instantiation; [`check_signature`] does that once per mapper instead.
fn typed_map<'a>(func: Func) -> TypedFunc<MapParams<'a>, MapResults> {
    // SAFETY: `func` is the `map` export of an instance of the mapper's component, and `Mapper::new` refused
    // the component unless that export has exactly this signature (`check_signature`). Every instance of one
    // component has the same export types, so the check holds for this instance too.
    #[allow(unsafe_code)]
    unsafe {
        TypedFunc::new_unchecked(func)
    }
}

/// Checks once that the component's `map` has the contract's signature, so each instance can call it typed
/// without checking again ([`typed_map`]).
pub(super) fn check_signature(
    pre: &InstancePre<HostState>,
    entry: ComponentExportIndex,
    slot: &Arc<SlotContext>,
    label: &Arc<str>,
    limits: &Limits,
) -> Result<(), String> {
    let (mut store, instance) = probe(pre, slot, label, limits).map_err(|err| err.to_string())?;
    let func = instance
        .get_func(&mut store, entry)
        .ok_or_else(|| "map vanished after instantiation".to_string())?;
    func.typed::<MapParams<'_>, MapResults>(&store)
        .map(drop)
        .map_err(|err| format!("{err:#}"))
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
        let argument = types::Envelope {
            source: envelope.source.clone(),
            tenant: self.mapper.slot.tenant.clone(),
            message_id: envelope.message_id.clone(),
            correlation_id: envelope.correlation_id.clone(),
            received_at: host_api::time::to_wit(envelope.received_at, None),
            content_type: envelope.content_type.clone(),
            file_name: envelope.file_name.clone(),
            headers: envelope.headers.clone(),
            payload: envelope.payload.to_vec(),
        };
        let mut instance = self.begin(World::Inbound, &envelope.correlation_id)?;
        let called = typed_map(instance.entry).call(&mut instance.store, (&argument,));
        let (result,) = self.end(instance, called)?;
        let mut events = result.map_err(mapping_error)?;
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
        pub(crate) fn header_mut(event: &mut types::CanonicalEvent) -> &mut types::EventHeader {
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
