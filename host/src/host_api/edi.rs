//! `edi.parse` and `edi.render-x12` for plugins: the native parser in `millwright-edi`, with its tree laid flat
//! into a `parsed-document` (one string of values and a few lists of numbers) so it crosses into the plugin in a
//! handful of copies instead of one guest allocation per value.

use millwright_edi as native;

use super::HostState;
use super::bindings::millwright::adapter::edi;

impl edi::Host for HostState {
    fn parse(
        &mut self,
        document: Vec<u8>,
    ) -> anyhow::Result<Result<edi::ParsedDocument, edi::EdiError>> {
        Ok(native::parse(&document)
            .map(document_to_wit)
            .map_err(error_to_wit))
    }

    fn render_x12(
        &mut self,
        interchange: edi::Interchange,
    ) -> anyhow::Result<Result<Vec<u8>, edi::EdiError>> {
        Ok(native::render_x12(&interchange_from_wit(interchange)).map_err(error_to_wit))
    }
}

millwright_edi::wit_conversions!(
    edi = super::bindings::millwright::adapter::edi,
    types = super::bindings::millwright::adapter::types
);
