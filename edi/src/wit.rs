//! Conversions between this crate's tree and the contract's generated `edi` types.
//!
//! The host (wasmtime's bindings) and the SDK's native harness (wit-bindgen's bindings) each have their own
//! generated Rust types for `wit/edi.wit`, with the same names and fields. This macro writes the conversions
//! once for both, so the two can never map the tree differently. A simple element crosses as its value alone;
//! components and repeats only when the element has them.

/// Defines `interchange_to_wit`, `interchange_from_wit`, `error_to_wit` and `position_to_wit` for the generated
/// modules at `edi = path::to::edi, types = path::to::types`.
#[macro_export]
macro_rules! wit_conversions {
    (edi = $edi:path, types = $types:path) => {
        use $edi as __edi_wit;
        use $types as __types_wit;
        $crate::__wit_conversions_body!(__edi_wit, __types_wit);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wit_conversions_body {
    ($edi:ident, $types:ident) => {
        #[allow(dead_code)]
        pub(crate) fn position_to_wit(at: $crate::Position) -> $types::Position {
            $types::Position {
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

        #[allow(dead_code)]
        pub(crate) fn error_to_wit(err: $crate::EdiError) -> $edi::EdiError {
            $edi::EdiError {
                message: err.message,
                at: position_to_wit(err.at),
                code: err.code,
            }
        }

        #[allow(dead_code)]
        pub(crate) fn interchange_to_wit(i: $crate::Interchange) -> $edi::Interchange {
            $edi::Interchange {
                standard: match i.standard {
                    $crate::Standard::X12 => $edi::Standard::X12,
                    $crate::Standard::Edifact => $edi::Standard::Edifact,
                },
                separators: $edi::Separators {
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
                    .map(|g| $edi::Group {
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
                            .map(|t| $edi::Transaction {
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

        #[allow(dead_code)]
        pub(crate) fn segment_to_wit(s: $crate::Segment) -> $edi::Segment {
            $edi::Segment {
                id: s.id,
                elements: s.elements.into_iter().map(element_to_wit).collect(),
                index: s.index,
                byte_offset: s.byte_offset,
            }
        }

        #[allow(dead_code)]
        pub(crate) fn segment_from_wit(s: $edi::Segment) -> $crate::Segment {
            $crate::Segment {
                id: s.id,
                elements: s.elements.into_iter().map(element_from_wit).collect(),
                index: s.index,
                byte_offset: s.byte_offset,
            }
        }

        #[allow(dead_code)]
        pub(crate) fn interchange_from_wit(i: $edi::Interchange) -> $crate::Interchange {
            $crate::Interchange {
                standard: match i.standard {
                    $edi::Standard::X12 => $crate::Standard::X12,
                    $edi::Standard::Edifact => $crate::Standard::Edifact,
                },
                separators: $crate::Separators {
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
                    .map(|g| $crate::Group {
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
                            .map(|t| $crate::Transaction {
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

        #[allow(dead_code)]
        pub(crate) fn element_to_wit(e: $crate::Element) -> $edi::Element {
            let mut components = e.components;
            let (value, components) = if components.len() > 1 {
                (components[0].clone(), Some(components))
            } else {
                (components.pop().unwrap_or_default(), None)
            };
            $edi::Element {
                value,
                components,
                repeats: (!e.repeats.is_empty()).then_some(e.repeats),
            }
        }

        #[allow(dead_code)]
        pub(crate) fn element_from_wit(e: $edi::Element) -> $crate::Element {
            $crate::Element {
                components: e.components.unwrap_or_else(|| vec![e.value]),
                repeats: e.repeats.unwrap_or_default(),
            }
        }
    };
}
