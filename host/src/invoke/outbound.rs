//! `render`: a canonical event in, documents for one target out, through the contract's generated types.
//!
//! The event arrives as canonical JSON (from a stream, a replay, a shadow run) and is read straight into the
//! typed `canonical-event` the plugin is called with ([`crate::canonical::kebab::from_value`]); an event that is
//! not canonical JSON of the contract is refused naming the JSON path that is wrong.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, TypedFunc};

use super::error::mapping_error;
use super::{InvokeError, Limits, Session, probe};
use crate::canonical::kebab;
use crate::host_api::bindings::millwright::adapter::types;
use crate::host_api::{HostState, SlotContext};
use crate::plugin::World;

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

/// The parameters and results of `outbound.render`, as the typed call lowers and lifts them.
type RenderParams<'a> = (&'a types::CanonicalEvent, &'a types::Target);
type RenderResults = (Result<Vec<types::OutboundDocument>, types::MappingError>,);

/// `render` as a typed function, without checking its type again (see [`check_signature`]).
fn typed_render<'a>(func: Func) -> TypedFunc<RenderParams<'a>, RenderResults> {
    // SAFETY: `func` is the `render` export of an instance of the mapper's component, and `Mapper::new` refused
    // the component unless that export has exactly this signature (`check_signature`). Every instance of one
    // component has the same export types, so the check holds for this instance too.
    #[allow(unsafe_code)]
    unsafe {
        TypedFunc::new_unchecked(func)
    }
}

/// Checks once that the component's `render` has the contract's signature.
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
        .ok_or_else(|| "render vanished after instantiation".to_string())?;
    func.typed::<RenderParams<'_>, RenderResults>(&store)
        .map(drop)
        .map_err(|err| format!("{err:#}"))
}

impl Session<'_> {
    /// Renders one canonical event (JSON) for `target` (outbound mappers).
    pub fn render(
        &mut self,
        event: &Value,
        target: &str,
        correlation_id: &str,
    ) -> Result<Vec<OutboundDocument>, InvokeError> {
        let event: types::CanonicalEvent = kebab::from_value(event).map_err(|err| {
            InvokeError::BadInput(format!("the event is not canonical JSON: {err}"))
        })?;
        let target = types::Target {
            name: target.to_string(),
        };
        let mut instance = self.begin(World::Outbound, correlation_id)?;
        let called = typed_render(instance.entry).call(&mut instance.store, (&event, &target));
        let (result,) = self.end(instance, called)?;
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
                "{bytes} bytes of documents, the limit is {}",
                limits.max_output_bytes
            )));
        }
        Ok(documents.into_iter().map(OutboundDocument::from).collect())
    }
}
