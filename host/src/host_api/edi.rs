//! `edi.parse` and `edi.render-x12` for plugins: the native parser in `millwright-edi`, with its tree copied
//! into the contract's types.

use millwright_edi as native;

use super::HostState;
use super::bindings::millwright::adapter::{edi, types};

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

pub(crate) fn position_to_wit(at: native::Position) -> types::Position {
    types::Position {
        transaction: at.transaction,
        segment_index: at.segment_index,
        segment_id: at.segment_id,
        element: at.element,
        component: at.component,
        line: at.line,
        json_path: at.json_path,
        byte_offset: at.byte_offset,
    }
}

fn error_to_wit(err: native::EdiError) -> edi::EdiError {
    edi::EdiError {
        message: err.message,
        at: position_to_wit(err.at),
        code: err.code,
    }
}

fn interchange_to_wit(i: native::Interchange) -> edi::Interchange {
    edi::Interchange {
        standard: match i.standard {
            native::Standard::X12 => edi::Standard::X12,
            native::Standard::Edifact => edi::Standard::Edifact,
        },
        separators: edi::Separators {
            element: i.separators.element,
            component: i.separators.component,
            repetition: i.separators.repetition,
            segment: i.separators.segment,
            release: i.separators.release,
            decimal_mark: i.separators.decimal_mark,
        },
        sender_qualifier: i.sender_qualifier,
        sender_id: i.sender_id,
        receiver_qualifier: i.receiver_qualifier,
        receiver_id: i.receiver_id,
        date: i.date,
        time: i.time,
        version: i.version,
        control_number: i.control_number,
        acknowledgment_requested: i.acknowledgment_requested,
        test: i.test,
        groups: i
            .groups
            .into_iter()
            .map(|g| edi::Group {
                functional_id: g.functional_id,
                sender: g.sender,
                receiver: g.receiver,
                date: g.date,
                time: g.time,
                control_number: g.control_number,
                version: g.version,
                transactions: g
                    .transactions
                    .into_iter()
                    .map(|t| edi::Transaction {
                        code: t.code,
                        control_number: t.control_number,
                        version: t.version,
                        segments: t.segments.into_iter().map(segment_to_wit).collect(),
                    })
                    .collect(),
            })
            .collect(),
        service_segments: i.service_segments.into_iter().map(segment_to_wit).collect(),
        byte_offset: i.byte_offset,
    }
}

fn segment_to_wit(s: native::Segment) -> edi::Segment {
    edi::Segment {
        id: s.id,
        elements: s.elements.into_iter().map(element_to_wit).collect(),
        index: s.index,
        byte_offset: s.byte_offset,
    }
}

fn segment_from_wit(s: edi::Segment) -> native::Segment {
    native::Segment {
        id: s.id,
        elements: s.elements.into_iter().map(element_from_wit).collect(),
        index: s.index,
        byte_offset: s.byte_offset,
    }
}

fn interchange_from_wit(i: edi::Interchange) -> native::Interchange {
    native::Interchange {
        standard: match i.standard {
            edi::Standard::X12 => native::Standard::X12,
            edi::Standard::Edifact => native::Standard::Edifact,
        },
        separators: native::Separators {
            element: i.separators.element,
            component: i.separators.component,
            repetition: i.separators.repetition,
            segment: i.separators.segment,
            release: i.separators.release,
            decimal_mark: i.separators.decimal_mark,
        },
        sender_qualifier: i.sender_qualifier,
        sender_id: i.sender_id,
        receiver_qualifier: i.receiver_qualifier,
        receiver_id: i.receiver_id,
        date: i.date,
        time: i.time,
        version: i.version,
        control_number: i.control_number,
        acknowledgment_requested: i.acknowledgment_requested,
        test: i.test,
        groups: i
            .groups
            .into_iter()
            .map(|g| native::Group {
                functional_id: g.functional_id,
                sender: g.sender,
                receiver: g.receiver,
                date: g.date,
                time: g.time,
                control_number: g.control_number,
                version: g.version,
                transactions: g
                    .transactions
                    .into_iter()
                    .map(|t| native::Transaction {
                        code: t.code,
                        control_number: t.control_number,
                        version: t.version,
                        segments: t.segments.into_iter().map(segment_from_wit).collect(),
                    })
                    .collect(),
            })
            .collect(),
        service_segments: i
            .service_segments
            .into_iter()
            .map(segment_from_wit)
            .collect(),
        byte_offset: i.byte_offset,
    }
}

fn element_to_wit(e: native::Element) -> edi::Element {
    let mut components = e.components;
    let (value, components) = if components.len() > 1 {
        (components[0].clone(), Some(components))
    } else {
        (components.pop().unwrap_or_default(), None)
    };
    edi::Element {
        value,
        components,
        repeats: (!e.repeats.is_empty()).then_some(e.repeats),
    }
}

fn element_from_wit(e: edi::Element) -> native::Element {
    native::Element {
        components: e.components.unwrap_or_else(|| vec![e.value]),
        repeats: e.repeats.unwrap_or_default(),
    }
}
