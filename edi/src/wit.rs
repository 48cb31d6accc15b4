//! Conversions between this crate's tree and the contract's generated `edi` types.
//!
//! The host (wasmtime's bindings) and the SDK's native harness (wit-bindgen's bindings) each have their own
//! generated Rust types for `wit/edi.wit`, with the same names and fields. This macro writes the conversions
//! once for both, so the two can never map the tree differently. A simple element crosses as its value alone;
//! components and repeats only when the element has them. `parse` results cross as a `parsed-document`: the
//! same tree laid flat, every tag and value a span of one string (`document_to_wit`).

/// Defines `interchange_to_wit`, `interchange_from_wit`, `document_to_wit`, `error_to_wit` and
/// `position_to_wit` for the generated modules at `edi = path::to::edi, types = path::to::types`.
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

        /// The parsed interchanges as one `parsed-document`. Offsets are `u32`: a document is far smaller than
        /// 4 GiB (the host caps messages and plugin memory well below that).
        #[allow(dead_code)]
        pub(crate) fn document_to_wit(
            interchanges: Vec<$crate::Interchange>,
        ) -> $edi::ParsedDocument {
            /// Appends `value` to the text and returns its span.
            fn span(text: &mut String, value: &str) -> [u32; 2] {
                let start = text.len() as u32;
                text.push_str(value);
                [start, value.len() as u32]
            }
            /// Appends components and returns their first entry and count.
            fn push_components(doc: &mut $edi::ParsedDocument, values: &[String]) -> [u32; 2] {
                let first = (doc.components.len() / 2) as u32;
                for value in values {
                    let s = span(&mut doc.text, value);
                    doc.components.extend_from_slice(&s);
                }
                [first, values.len() as u32]
            }
            fn push_segments(
                doc: &mut $edi::ParsedDocument,
                segments: &[$crate::Segment],
            ) -> $edi::IndexRange {
                let first = doc.segment_offsets.len() as u32;
                for segment in segments {
                    let id = span(&mut doc.text, &segment.id);
                    let first_element = (doc.elements.len() / 6) as u32;
                    for element in &segment.elements {
                        let value = span(&mut doc.text, element.value());
                        let components = if element.components.len() > 1 {
                            push_components(doc, &element.components)
                        } else {
                            [0, 0]
                        };
                        let first_repeat = (doc.repeats.len() / 2) as u32;
                        for repeat in &element.repeats {
                            let r = push_components(doc, repeat);
                            doc.repeats.extend_from_slice(&r);
                        }
                        doc.elements.extend_from_slice(&[
                            value[0],
                            value[1],
                            components[0],
                            components[1],
                            first_repeat,
                            element.repeats.len() as u32,
                        ]);
                    }
                    doc.segments.extend_from_slice(&[
                        id[0],
                        id[1],
                        first_element,
                        segment.elements.len() as u32,
                        segment.index,
                    ]);
                    doc.segment_offsets.push(segment.byte_offset);
                }
                $edi::IndexRange {
                    first,
                    count: segments.len() as u32,
                }
            }
            let (mut segment_count, mut element_count, mut text_len) = (0, 0, 0);
            for segment in interchanges.iter().flat_map(|i| {
                i.groups
                    .iter()
                    .flat_map(|g| g.transactions.iter().flat_map(|t| t.segments.iter()))
                    .chain(i.service_segments.iter())
            }) {
                segment_count += 1;
                element_count += segment.elements.len();
                text_len += segment.id.len()
                    + segment
                        .elements
                        .iter()
                        .map(|e| e.components.first().map_or(0, String::len))
                        .sum::<usize>();
            }
            let mut doc = $edi::ParsedDocument {
                text: String::with_capacity(text_len),
                interchanges: Vec::with_capacity(interchanges.len()),
                segments: Vec::with_capacity(segment_count * 5),
                segment_offsets: Vec::with_capacity(segment_count),
                elements: Vec::with_capacity(element_count * 6),
                components: Vec::new(),
                repeats: Vec::new(),
            };
            for i in interchanges {
                let groups = i
                    .groups
                    .into_iter()
                    .map(|g| $edi::ParsedGroup {
                        transactions: g
                            .transactions
                            .into_iter()
                            .map(|t| $edi::ParsedTransaction {
                                segments: push_segments(&mut doc, &t.segments),
                                code: t.code,
                                control_number: t.control_number,
                                version: t.version,
                            })
                            .collect(),
                        functional_id: g.functional_id,
                        sender: g.sender,
                        receiver: g.receiver,
                        date: g.date,
                        time: g.time,
                        control_number: g.control_number,
                        version: g.version,
                    })
                    .collect();
                let service_segments = push_segments(&mut doc, &i.service_segments);
                doc.interchanges.push($edi::ParsedInterchange {
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
                    groups,
                    service_segments,
                    byte_offset: i.byte_offset,
                });
            }
            doc
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
