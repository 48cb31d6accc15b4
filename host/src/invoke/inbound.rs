//! `map`: a document in, canonical events out, written as canonical JSON from the contract's generated types.
//!
//! The host sets each event's `tenant` and `correlation-id`, whatever the plugin wrote there, and refuses an
//! answer whose canonical strings hold a control character ([`crate::canonical::control_character`]).

use bytes::Bytes;
use serde_json::Value;

use super::error::mapping_error;
use super::{InvokeError, Probe, Session, typed_unchecked};
use crate::canonical::{self, kebab};
use crate::host_api;
use crate::host_api::bindings::millwright::adapter::types;
use crate::host_api::bindings::v0_1::millwright::adapter::types as v0_1;
use crate::plugin::{Contract, World};

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

/// The parameters and results of `inbound.map`, as the typed call lowers and lifts them: the current contract's,
/// and 0.1.0's, whose envelope and mapping error are the same shapes and whose events are read into the current
/// types ([`upgrade`]).
type MapParams<'a> = (&'a types::Envelope,);
type MapResults = (Result<Vec<types::CanonicalEvent>, types::MappingError>,);
type MapResultsV0_1 = (Result<Vec<v0_1::CanonicalEvent>, types::MappingError>,);

/// Checks once that the component's `map` has its contract's signature, so each instance can call it typed
/// without checking again.
pub(super) fn check_signature(probe: &Probe<'_>, contract: Contract) -> Result<(), String> {
    match contract {
        Contract::V0_2 => probe.check::<MapParams<'_>, MapResults>(),
        Contract::V0_1 => probe.check::<MapParams<'_>, MapResultsV0_1>(),
    }
}

/// A 0.1.0 event as the current contract's: every field 0.2.0 added is optional, so 0.1.0's JSON reads as is.
fn upgrade(event: &v0_1::CanonicalEvent) -> Result<types::CanonicalEvent, InvokeError> {
    let json = kebab::serialize(event, serde_json::value::Serializer)
        .map_err(|e| InvokeError::BadOutput(format!("writing a 0.1.0 event: {e}")))?;
    kebab::from_value(&json)
        .map_err(|e| InvokeError::Host(format!("reading a 0.1.0 event as 0.2.0: {e}")))
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
                    "output of {bytes} bytes of canonical JSON (and more) over the {} limit",
                    super::error::mebibytes(limit)
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
        let mut instance = self.begin(
            World::Inbound,
            &envelope.correlation_id,
            &envelope.message_id,
        )?;
        let mut events = match self.mapper.contract {
            Contract::V0_2 => {
                // SAFETY: `Mapper::new` checked this signature for the component (`check_signature`).
                #[allow(unsafe_code)]
                let map = unsafe { typed_unchecked::<MapParams<'_>, MapResults>(instance.entry) };
                let called = map.call(&mut instance.store, (&argument,));
                let (result,) = self.end(instance, called)?;
                result.map_err(mapping_error)?
            }
            Contract::V0_1 => {
                // SAFETY: as above, for the 0.1.0 signature.
                #[allow(unsafe_code)]
                let map =
                    unsafe { typed_unchecked::<MapParams<'_>, MapResultsV0_1>(instance.entry) };
                let called = map.call(&mut instance.store, (&argument,));
                let (result,) = self.end(instance, called)?;
                result
                    .map_err(mapping_error)?
                    .iter()
                    .map(upgrade)
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let limit = self.mapper.limits.max_outputs;
        if events.len() > limit {
            return Err(InvokeError::OutputLimit(format!(
                "{} events, over the limit of {limit}",
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
