//! Writing an X12 interchange back to bytes, for outbound documents (997s, ASNs) built as trees.
//!
//! The trailers are computed, never copied: SE01/SE02, GE01/GE02 and IEA01/IEA02 come from the tree, so a
//! plugin cannot send a count that does not match. What cannot be written faithfully is refused instead of
//! escaped (X12 has no release character): a value containing a separator, a field too wide for the fixed
//! ISA, or repeats without a declared repetition separator.

use crate::error::EdiError;
use crate::model::{Element, Interchange, Position, Standard};

/// Where the value being written sits, for error messages.
#[derive(Clone, Copy)]
struct Context<'a> {
    transaction: Option<&'a str>,
    index: u32,
    byte_offset: u64,
}

struct Writer<'a> {
    out: Vec<u8>,
    element: char,
    component: char,
    repetition: Option<char>,
    segment: char,
    interchange: &'a Interchange,
}

/// Renders an X12 interchange with its own separators; see [`crate::render_x12`].
pub(crate) fn render_x12(interchange: &Interchange) -> Result<Vec<u8>, EdiError> {
    let seps = &interchange.separators;
    let fail = |message: String| {
        let mut at = Position::at_byte(0);
        at.segment_id = Some("ISA".to_owned());
        at.segment_index = Some(1);
        Err(EdiError::new(message, at, None))
    };
    if interchange.standard != Standard::X12 {
        return fail("render_x12 writes X12 only, and this interchange is EDIFACT".to_owned());
    }
    let mut all = vec![seps.element, seps.component, seps.segment];
    all.extend(seps.repetition);
    for (i, c) in all.iter().enumerate() {
        if c.is_alphanumeric() || *c == ' ' || all.iter().skip(i + 1).any(|o| o == c) {
            return fail(format!(
                "separator `{}` cannot be used: separators must be distinct and must not be letters, digits \
                 or spaces",
                c.escape_debug()
            ));
        }
    }
    let version: u32 = interchange.version.trim().parse().unwrap_or(0);
    if seps.repetition.is_some() && version < 402 {
        return fail(format!(
            "a repetition separator is set but ISA12 version `{}` predates 00402, where ISA11 is the \
             standards id `U`; use version 00402 or later, or drop the repetition separator",
            interchange.version
        ));
    }
    let mut w = Writer {
        out: Vec::with_capacity(1024),
        element: seps.element,
        component: seps.component,
        repetition: seps.repetition,
        segment: seps.segment,
        interchange,
    };
    w.isa()?;
    for segment in &interchange.service_segments {
        let ctx = Context {
            transaction: None,
            index: segment.index,
            byte_offset: segment.byte_offset,
        };
        w.segment(&segment.id, &segment.elements, ctx)?;
    }
    let envelope = Context {
        transaction: None,
        index: 0,
        byte_offset: 0,
    };
    for group in &interchange.groups {
        let gs = [
            &group.functional_id,
            &group.sender,
            &group.receiver,
            &group.date,
            &group.time,
            &group.control_number,
            "X",
            &group.version,
        ];
        w.simple_segment("GS", &gs, envelope)?;
        for transaction in &group.transactions {
            let ctx = Context {
                transaction: Some(&transaction.control_number),
                index: 1,
                byte_offset: 0,
            };
            let mut st = vec![
                transaction.code.as_str(),
                transaction.control_number.as_str(),
            ];
            st.extend(transaction.version.as_deref());
            w.simple_segment("ST", &st, ctx)?;
            for segment in &transaction.segments {
                let ctx = Context {
                    index: segment.index,
                    byte_offset: segment.byte_offset,
                    ..ctx
                };
                w.segment(&segment.id, &segment.elements, ctx)?;
            }
            let count = (transaction.segments.len() + 2).to_string();
            w.simple_segment("SE", &[&count, &transaction.control_number], ctx)?;
        }
        let count = group.transactions.len().to_string();
        w.simple_segment("GE", &[&count, &group.control_number], envelope)?;
    }
    let count = interchange.groups.len().to_string();
    w.simple_segment("IEA", &[&count, &w.isa13()?], envelope)?;
    Ok(w.out)
}

impl Writer<'_> {
    fn error(
        &self,
        message: String,
        id: &str,
        element: Option<usize>,
        ctx: Context<'_>,
    ) -> EdiError {
        let mut at = Position {
            segment_id: Some(id.to_owned()),
            segment_index: Some(ctx.index).filter(|&i| i > 0),
            byte_offset: Some(ctx.byte_offset),
            ..Position::default()
        }
        .in_transaction(ctx.transaction);
        at.element = element.and_then(|e| u32::try_from(e).ok());
        EdiError::new(message, at, None)
    }

    fn isa13(&self) -> Result<String, EdiError> {
        let cn = self.interchange.control_number.trim();
        if !cn.is_empty() && cn.len() <= 9 && cn.bytes().all(|b| b.is_ascii_digit()) {
            Ok(format!("{cn:0>9}"))
        } else {
            let ctx = Context {
                transaction: None,
                index: 1,
                byte_offset: 0,
            };
            Err(self.error(
                format!("ISA13 `{cn}` must be 1 to 9 digits (it is zero-padded to 9)"),
                "ISA",
                Some(13),
                ctx,
            ))
        }
    }

    fn isa(&mut self) -> Result<(), EdiError> {
        let ic = self.interchange;
        let ctx = Context {
            transaction: None,
            index: 1,
            byte_offset: ic.byte_offset,
        };
        let isa11 = self.repetition.map_or_else(|| "U".to_owned(), String::from);
        let fields: [(&str, usize); 15] = [
            ("00", 2),
            ("", 10),
            ("00", 2),
            ("", 10),
            (&ic.sender_qualifier, 2),
            (&ic.sender_id, 15),
            (&ic.receiver_qualifier, 2),
            (&ic.receiver_id, 15),
            (&ic.date, 6),
            (&ic.time, 4),
            (&isa11, 1),
            (&ic.version, 5),
            ("", 9),
            (
                if ic.acknowledgment_requested {
                    "1"
                } else {
                    "0"
                },
                1,
            ),
            (if ic.test { "T" } else { "P" }, 1),
        ];
        let isa13 = self.isa13()?;
        self.out.extend_from_slice(b"ISA");
        for (i, (value, width)) in fields.iter().enumerate() {
            let n = i + 1;
            let value = if n == 13 { isa13.as_str() } else { value };
            if n != 11 {
                self.check("ISA", n, value, ctx)?;
            }
            let len = value.chars().count();
            if len > *width {
                return Err(self.error(
                    format!("ISA{n:02} `{value}` is {len} characters; the fixed-width ISA allows {width}"),
                    "ISA",
                    Some(n),
                    ctx,
                ));
            }
            self.push(self.element);
            self.out.extend_from_slice(value.as_bytes());
            self.out.extend(std::iter::repeat_n(b' ', width - len));
        }
        self.push(self.element);
        self.push(self.component);
        self.push(self.segment);
        Ok(())
    }

    fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    fn check(
        &self,
        id: &str,
        element: usize,
        value: &str,
        ctx: Context<'_>,
    ) -> Result<(), EdiError> {
        let found = value.chars().find(|&c| {
            c == self.element
                || c == self.component
                || c == self.segment
                || Some(c) == self.repetition
        });
        if let Some(c) = found {
            return Err(self.error(
                format!(
                    "{id}{element:02} `{value}` contains the separator `{}`; X12 has no escape character, so \
                     the value must be changed before it can be sent",
                    c.escape_debug()
                ),
                id,
                Some(element),
                ctx,
            ));
        }
        // A control character (C0 or DEL) is no data: a partner's translator may take it for a terminator.
        if let Some(c) = value.chars().find(|c| c.is_ascii_control()) {
            let mut err = self.error(
                format!(
                    "{id}{element:02} `{}` holds the control character {:?}; a value of an interchange is text",
                    value.escape_debug(),
                    c
                ),
                id,
                Some(element),
                ctx,
            );
            err.code = Some(crate::error::code::CONTROL_CHARACTER.to_owned());
            return Err(err);
        }
        Ok(())
    }

    fn simple_segment(
        &mut self,
        id: &str,
        values: &[&str],
        ctx: Context<'_>,
    ) -> Result<(), EdiError> {
        let elements: Vec<Element> = values.iter().map(|v| Element::simple(*v)).collect();
        self.segment(id, &elements, ctx)
    }

    fn segment(
        &mut self,
        id: &str,
        elements: &[Element],
        ctx: Context<'_>,
    ) -> Result<(), EdiError> {
        let binary = match id {
            "BIN" => Some(2),
            "BDS" => Some(3),
            _ => None,
        };
        self.out.extend_from_slice(id.as_bytes());
        for (i, element) in elements.iter().enumerate() {
            let n = i + 1;
            self.push(self.element);
            if binary == Some(n + 1) {
                // The byte count is written from the data that follows, so it is always right.
                let data = elements.get(n).map_or(0, |e| e.value().len());
                self.out.extend_from_slice(data.to_string().as_bytes());
                continue;
            }
            if binary == Some(n) {
                self.out.extend_from_slice(element.value().as_bytes());
                continue;
            }
            if !element.repeats.is_empty() && self.repetition.is_none() {
                return Err(self.error(
                    format!(
                        "{id}{n:02} repeats, but the interchange declares no repetition separator (ISA11, \
                         version 00402 or later)"
                    ),
                    id,
                    Some(n),
                    ctx,
                ));
            }
            let occurrences = std::iter::once(&element.components).chain(&element.repeats);
            for (r, components) in occurrences.enumerate() {
                if r > 0
                    && let Some(rep) = self.repetition
                {
                    self.push(rep);
                }
                for (c, value) in components.iter().enumerate() {
                    if c > 0 {
                        self.push(self.component);
                    }
                    self.check(id, n, value, ctx)?;
                    self.out.extend_from_slice(value.as_bytes());
                }
            }
        }
        self.push(self.segment);
        Ok(())
    }
}
