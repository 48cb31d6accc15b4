//! `edi.parse` and `edi.render-x12` natively, through the host's own parser crate `millwright-edi`, with the
//! conversions between its types and the generated WIT types (the same shapes, field by field).

use millwright_edi as native;

use crate::edi::{
    EdiError, Element, Group, Interchange, Segment, Separators, Standard, Transaction,
};
use crate::types::Position;

pub(crate) fn edi_parse(document: &[u8]) -> Result<Vec<Interchange>, EdiError> {
    native::parse(document)
        .map(|interchanges| interchanges.into_iter().map(interchange_from).collect())
        .map_err(error_from)
}

pub(crate) fn edi_render_x12(interchange: &Interchange) -> Result<Vec<u8>, EdiError> {
    native::render_x12(&interchange_to(interchange)).map_err(error_from)
}

fn error_from(e: native::EdiError) -> EdiError {
    EdiError {
        message: e.message,
        at: position_from(e.at),
        code: e.code,
    }
}

fn position_from(p: native::Position) -> Position {
    Position {
        transaction: p.transaction,
        segment_index: p.segment_index,
        segment_id: p.segment_id,
        element: p.element,
        component: p.component,
        line: p.line,
        json_path: p.json_path,
        byte_offset: p.byte_offset,
    }
}

fn interchange_from(i: native::Interchange) -> Interchange {
    Interchange {
        standard: match i.standard {
            native::Standard::X12 => Standard::X12,
            native::Standard::Edifact => Standard::Edifact,
        },
        separators: Separators {
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
        groups: i.groups.into_iter().map(group_from).collect(),
        service_segments: i.service_segments.into_iter().map(segment_from).collect(),
        byte_offset: i.byte_offset,
    }
}

fn group_from(g: native::Group) -> Group {
    Group {
        functional_id: g.functional_id,
        sender: g.sender,
        receiver: g.receiver,
        date: g.date,
        time: g.time,
        control_number: g.control_number,
        version: g.version,
        transactions: g.transactions.into_iter().map(transaction_from).collect(),
    }
}

fn transaction_from(t: native::Transaction) -> Transaction {
    Transaction {
        code: t.code,
        control_number: t.control_number,
        version: t.version,
        segments: t.segments.into_iter().map(segment_from).collect(),
    }
}

fn segment_from(s: native::Segment) -> Segment {
    Segment {
        id: s.id,
        elements: s.elements.into_iter().map(element_from).collect(),
        index: s.index,
        byte_offset: s.byte_offset,
    }
}

fn interchange_to(i: &Interchange) -> native::Interchange {
    native::Interchange {
        standard: match i.standard {
            Standard::X12 => native::Standard::X12,
            Standard::Edifact => native::Standard::Edifact,
        },
        separators: native::Separators {
            element: i.separators.element,
            component: i.separators.component,
            repetition: i.separators.repetition,
            segment: i.separators.segment,
            release: i.separators.release,
            decimal_mark: i.separators.decimal_mark,
        },
        sender_qualifier: i.sender_qualifier.clone(),
        sender_id: i.sender_id.clone(),
        receiver_qualifier: i.receiver_qualifier.clone(),
        receiver_id: i.receiver_id.clone(),
        date: i.date.clone(),
        time: i.time.clone(),
        version: i.version.clone(),
        control_number: i.control_number.clone(),
        acknowledgment_requested: i.acknowledgment_requested,
        test: i.test,
        groups: i.groups.iter().map(group_to).collect(),
        service_segments: i.service_segments.iter().map(segment_to).collect(),
        byte_offset: i.byte_offset,
    }
}

fn group_to(g: &Group) -> native::Group {
    native::Group {
        functional_id: g.functional_id.clone(),
        sender: g.sender.clone(),
        receiver: g.receiver.clone(),
        date: g.date.clone(),
        time: g.time.clone(),
        control_number: g.control_number.clone(),
        version: g.version.clone(),
        transactions: g.transactions.iter().map(transaction_to).collect(),
    }
}

fn transaction_to(t: &Transaction) -> native::Transaction {
    native::Transaction {
        code: t.code.clone(),
        control_number: t.control_number.clone(),
        version: t.version.clone(),
        segments: t.segments.iter().map(segment_to).collect(),
    }
}

fn segment_to(s: &Segment) -> native::Segment {
    native::Segment {
        id: s.id.clone(),
        elements: s.elements.iter().map(element_to).collect(),
        index: s.index,
        byte_offset: s.byte_offset,
    }
}

// The same mapping as the host's (host/src/host_api/edi.rs): a simple element is its value alone.
fn element_from(e: native::Element) -> Element {
    let mut components = e.components;
    let (value, components) = if components.len() > 1 {
        (components[0].clone(), Some(components))
    } else {
        (components.pop().unwrap_or_default(), None)
    };
    Element {
        value,
        components,
        repeats: (!e.repeats.is_empty()).then_some(e.repeats),
    }
}

fn element_to(e: &Element) -> native::Element {
    native::Element {
        components: e
            .components
            .clone()
            .unwrap_or_else(|| vec![e.value.clone()]),
        repeats: e.repeats.clone().unwrap_or_default(),
    }
}
