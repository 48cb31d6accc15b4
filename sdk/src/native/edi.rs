//! `edi.parse` and `edi.render-x12` natively, through the host's own parser crate `millwright-edi`, with the
//! conversions between its types and the generated WIT types (the same shapes, field by field).

use millwright_edi as native;

use crate::edi::{EdiError, Interchange};

pub(crate) fn edi_parse(document: &[u8]) -> Result<Vec<Interchange>, EdiError> {
    native::parse(document)
        .map(|interchanges| interchanges.into_iter().map(interchange_to_wit).collect())
        .map_err(error_to_wit)
}

pub(crate) fn edi_render_x12(interchange: &Interchange) -> Result<Vec<u8>, EdiError> {
    native::render_x12(&interchange_from_wit(interchange.clone())).map_err(error_to_wit)
}

millwright_edi::wit_conversions!(edi = crate::edi, types = crate::types);
