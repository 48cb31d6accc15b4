//! `render`: a canonical event in, documents for one target out, through the contract's generated types.
//!
//! The event arrives as canonical JSON (from a stream, a replay, a shadow run) and is read straight into the
//! typed `canonical-event` the plugin is called with ([`crate::canonical::kebab::from_value`]); an event that is
//! not canonical JSON of the contract is refused naming the JSON path that is wrong.

use serde_json::Value;

use super::error::mapping_error;
use super::{InvokeError, Probe, Session, typed_unchecked};
use crate::canonical::kebab;
use crate::host_api::bindings::millwright::adapter::types;
use crate::host_api::bindings::v0_1::millwright::adapter::types as v0_1;
use crate::plugin::{Contract, World};

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

impl From<types::OutboundDocument> for OutboundDocument {
    fn from(document: types::OutboundDocument) -> Self {
        Self {
            content_type: document.content_type,
            file_name: document.file_name,
            headers: document.headers,
            payload: document.payload,
        }
    }
}

/// The parameters and results of `outbound.render`, as the typed call lowers and lifts them: the current
/// contract's, and 0.1.0's, whose event is its own type (read from the same JSON, the fields 0.2.0 added left
/// out) and whose target, documents and mapping error are the same shapes.
type RenderParams<'a> = (&'a types::CanonicalEvent, &'a types::Target);
type RenderParamsV0_1<'a> = (&'a v0_1::CanonicalEvent, &'a types::Target);
type RenderResults = (Result<Vec<types::OutboundDocument>, types::MappingError>,);

/// Checks once that the component's `render` has its contract's signature.
pub(super) fn check_signature(probe: &Probe<'_>, contract: Contract) -> Result<(), String> {
    match contract {
        Contract::V0_2 => probe.check::<RenderParams<'_>, RenderResults>(),
        Contract::V0_1 => probe.check::<RenderParamsV0_1<'_>, RenderResults>(),
    }
}

impl Session<'_> {
    /// Renders one canonical event (JSON) for `target` (outbound mappers).
    /// `input_key` names the input (the event's message) the documents are made for: it keys the numbers the
    /// plugin takes from `sequences.next`, so a redelivered event renders the same documents.
    pub fn render(
        &mut self,
        event: &Value,
        target: &str,
        correlation_id: &str,
        input_key: &str,
    ) -> Result<Vec<OutboundDocument>, InvokeError> {
        let not_canonical =
            |err| InvokeError::BadInput(format!("the event is not canonical JSON: {err}"));
        let target = types::Target {
            name: target.to_string(),
        };
        let called = match self.mapper.contract {
            Contract::V0_2 => {
                let event: types::CanonicalEvent =
                    kebab::from_value(event).map_err(not_canonical)?;
                let mut instance = self.begin(World::Outbound, correlation_id, input_key)?;
                // SAFETY: `Mapper::new` checked this signature for the component (`check_signature`).
                #[allow(unsafe_code)]
                let render =
                    unsafe { typed_unchecked::<RenderParams<'_>, RenderResults>(instance.entry) };
                let called = render.call(&mut instance.store, (&event, &target));
                self.end(instance, called)?
            }
            Contract::V0_1 => {
                let event: v0_1::CanonicalEvent =
                    kebab::from_value(event).map_err(not_canonical)?;
                let mut instance = self.begin(World::Outbound, correlation_id, input_key)?;
                // SAFETY: as above, for the 0.1.0 signature.
                #[allow(unsafe_code)]
                let render = unsafe {
                    typed_unchecked::<RenderParamsV0_1<'_>, RenderResults>(instance.entry)
                };
                let called = render.call(&mut instance.store, (&event, &target));
                self.end(instance, called)?
            }
        };
        let (result,) = called;
        let documents = result.map_err(mapping_error)?;
        let limits = &self.mapper.limits;
        if documents.len() > limits.max_outputs {
            return Err(InvokeError::OutputLimit(format!(
                "{} documents, the limit is {}",
                documents.len(),
                limits.max_outputs
            )));
        }
        let bytes: usize = documents.iter().map(|d| d.payload.len()).sum();
        if bytes > limits.max_output_bytes {
            return Err(InvokeError::OutputLimit(format!(
                "output of {bytes} bytes of documents over the {} limit",
                super::error::mebibytes(limits.max_output_bytes)
            )));
        }
        Ok(documents.into_iter().map(OutboundDocument::from).collect())
    }
}
