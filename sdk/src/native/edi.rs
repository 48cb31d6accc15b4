//! `edi.parse` and `edi.render-x12` natively, through the host's own parser crate `millwright-edi`, with the
//! conversions between its types and the generated WIT types (the same shapes, field by field).

use millwright_edi as native;

use crate::bindings::inbound::millwright::adapter::edi::{EdiError, Interchange};

pub(crate) fn edi_parse(document: &[u8]) -> Result<Vec<Interchange>, EdiError> {
    native::parse(document)
        .map(|interchanges| interchanges.into_iter().map(interchange_to_wit).collect())
        .map_err(error_to_wit)
}

pub(crate) fn edi_parse_flat(
    document: &[u8],
) -> Result<crate::bindings::inbound::millwright::adapter::edi::ParsedDocument, EdiError> {
    native::parse(document)
        .map(document_to_wit)
        .map_err(error_to_wit)
}

pub(crate) fn edi_render_x12(interchange: &Interchange) -> Result<Vec<u8>, EdiError> {
    native::render_x12(&interchange_from_wit(interchange.clone())).map_err(error_to_wit)
}

millwright_edi::wit_conversions!(
    edi = crate::bindings::inbound::millwright::adapter::edi,
    types = crate::bindings::inbound::millwright::adapter::types
);

#[cfg(test)]
mod tests {
    use super::*;

    /// An X12 5010 notice with a composite element and a repeating one, so every part of the flat layout is
    /// used.
    const NOTICE: &[u8] = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*P*>~\
GS*SH*SENDER*RECEIVER*20240101*1200*1*X*005010~ST*856*0001~BSN*00*SHIP1*20240101*1200~REF*ZZ*A>B>C~\
REF*YY*X^Y>Z*~SE*5*0001~GE*1*1~IEA*1*000000001~";

    #[test]
    fn a_parsed_document_turns_back_into_the_tree_it_lays_flat() {
        let tree: Vec<Interchange> = native::parse(NOTICE)
            .expect("parses")
            .into_iter()
            .map(interchange_to_wit)
            .collect();
        let segments = &tree[0].groups[0].transactions[0].segments;
        assert_eq!(
            segments[1].elements[1].components.as_deref(),
            Some(&["A".to_owned(), "B".to_owned(), "C".to_owned()][..])
        );
        assert_eq!(
            segments[2].elements[1].repeats,
            Some(vec![vec!["Y".to_owned(), "Z".to_owned()]])
        );
        let flat = document_to_wit(native::parse(NOTICE).expect("parses"));
        assert_eq!(crate::edi::from_parsed(flat), tree);
    }
}
