//! `edi.parse` and `edi.render-x12` for plugins: the native parser in `millwright-edi`, with its tree copied
//! into the contract's types.

use millwright_edi as native;

use super::HostState;
use super::bindings::millwright::adapter::edi;

impl edi::Host for HostState {
    fn parse(
        &mut self,
        document: Vec<u8>,
    ) -> anyhow::Result<Result<Vec<edi::Interchange>, edi::EdiError>> {
        Ok(native::parse(&document)
            .map(|interchanges| interchanges.into_iter().map(interchange_to_wit).collect())
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
