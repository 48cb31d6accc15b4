//! The XML layer: bytes to a well-formed tree, the B2MML `ProductionPerformance` elements in it, and
//! positions (line, byte offset, element path) for every diagnostic.
//!
//! A document is either a bare `ProductionPerformance` or an ISA-95 Part 5 transaction
//! (`ProcessProductionPerformance`, `SyncProductionPerformance`, `ShowProductionPerformance`) whose `DataArea`
//! holds one or more of them. Every B2MML element must be in one of the namespaces in [`NAMESPACES`].

use millwright_sdk::types::{MappingError, Position};
use roxmltree::{Document, Node, ParsingOptions};

use crate::values;

/// The namespaces of the B2MML releases read here: the unversioned namespace of V0600's legacy schemas and
/// of V0700 and later, and the version-suffixed namespaces of V0600 and V0601.
pub const NAMESPACES: &[&str] = &[
    "http://www.mesa.org/xml/B2MML",
    "http://www.mesa.org/xml/B2MML-V0600",
    "http://www.mesa.org/xml/B2MML-V0601",
];

/// The transaction verbs whose `DataArea` reports production; `Get`, `Cancel`, `Acknowledge`, `Change` and
/// `Respond` do not report what was produced, and are refused.
const VERBS: &[&str] = &["Process", "Sync", "Show"];

/// More nodes than any production report holds; a larger document is refused before it fills memory.
const NODES_LIMIT: u32 = 200_000;

/// Elements nested deeper than this are refused before the XML parser sees them: its descent is recursive,
/// and a plugin's stack is small. A B2MML report nests about a dozen levels.
const MAX_NESTING: usize = 100;

/// Parses the payload, refusing bytes that are not UTF-8 or not well-formed XML (DTDs included: a production
/// report has no use for one, and entity expansion is an attack surface).
pub fn parse(payload: &[u8]) -> Result<Document<'_>, MappingError> {
    let text = match std::str::from_utf8(payload) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            let line = line_of(&payload[..at]);
            return Err(MappingError::invalid(
                format!(
                    "the document is not UTF-8: byte {at} (line {line}) starts an invalid sequence; \
                     B2MML is read as UTF-8"
                ),
                Position::new().with_line(line).with_byte_offset(at as u64),
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = payload.len() - text.len();
    check_nesting(text).map_err(|at| {
        let offset = at + bom;
        MappingError::invalid(
            format!(
                "elements are nested more than {MAX_NESTING} deep at byte {offset}; a B2MML \
                 ProductionPerformance nests about a dozen"
            ),
            Position::new()
                .with_line(line_of(&payload[..offset]))
                .with_byte_offset(offset as u64),
        )
    })?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
    };
    Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        let offset = match e {
            // The parser reports these at the start of the document; point where the problem is: the
            // declaration itself, or the end where more was expected.
            roxmltree::Error::DtdDetected => text.find("<!DOCTYPE").unwrap_or(0),
            roxmltree::Error::UnclosedRootNode
            | roxmltree::Error::UnexpectedEndOfStream
            | roxmltree::Error::NoRootNode => text.len(),
            _ => byte_offset(text, pos.row, pos.col),
        } + bom;
        let line = line_of(&payload[..offset]);
        MappingError::invalid(
            format!(
                "the document is not well-formed XML: {e}; expected a B2MML ProductionPerformance"
            ),
            Position::new()
                .with_line(line)
                .with_byte_offset(offset as u64),
        )
    })
}

/// The `ProductionPerformance` elements of the document, or the reason it is not a B2MML production report.
pub fn performances<'a, 'i>(doc: &'a Document<'i>) -> Result<Vec<Node<'a, 'i>>, MappingError> {
    let root = doc.root_element();
    let name = root.tag_name().name();
    let namespace = root.tag_name().namespace().unwrap_or("");
    let expected =
        "a B2MML ProductionPerformance, or a Process/Sync/ShowProductionPerformance transaction";
    if !NAMESPACES.contains(&namespace) {
        let found = if namespace.is_empty() {
            format!("`{name}` in no namespace")
        } else {
            format!("`{name}` in namespace `{namespace}`")
        };
        return Err(invalid_at(
            &root,
            format!(
                "the root element is {found}; expected {expected} in one of the namespaces {}",
                NAMESPACES.join(", ")
            ),
        ));
    }
    if name == "ProductionPerformance" {
        return Ok(vec![root]);
    }
    let verb = name.strip_suffix("ProductionPerformance");
    match verb {
        Some(verb) if VERBS.contains(&verb) => {
            let Some(data_area) = child(&root, "DataArea") else {
                return Err(invalid_at(
                    &root,
                    format!("`{name}` has no DataArea; expected DataArea/ProductionPerformance"),
                ));
            };
            let found = children(&data_area, "ProductionPerformance");
            if found.is_empty() {
                return Err(invalid_at(
                    &data_area,
                    format!(
                        "{} holds no ProductionPerformance",
                        element_path(&data_area)
                    ),
                ));
            }
            Ok(found)
        }
        Some(verb) if !verb.is_empty() => Err(invalid_at(
            &root,
            format!(
                "`{name}` does not report production; expected {expected} (verbs read: {})",
                VERBS.join(", ")
            ),
        )),
        _ => Err(invalid_at(
            &root,
            format!("the root element is `{name}`; expected {expected}"),
        )),
    }
}

/// The B2MML child elements of `node` with the given local name.
pub fn children<'a, 'i>(node: &Node<'a, 'i>, name: &str) -> Vec<Node<'a, 'i>> {
    node.children()
        .filter(|c| c.is_element() && is_b2mml(c) && c.tag_name().name() == name)
        .collect()
}

/// The first B2MML child element of `node` with the given local name.
pub fn child<'a, 'i>(node: &Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && is_b2mml(c) && c.tag_name().name() == name)
}

fn is_b2mml(node: &Node) -> bool {
    NAMESPACES.contains(&node.tag_name().namespace().unwrap_or(""))
}

/// The cleaned text of a leaf element; `None` when it is empty. Text holding a control character other than
/// whitespace is refused.
pub fn text(node: &Node) -> Result<Option<String>, MappingError> {
    let raw: String = node
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    match values::clean_text(&raw) {
        Ok(clean) if clean.is_empty() => Ok(None),
        Ok(clean) => Ok(Some(clean)),
        Err(c) => Err(invalid_at(
            node,
            format!(
                "{} holds the control character U+{:04X}, which no canonical value may hold",
                element_path(node),
                c as u32
            ),
        )),
    }
}

/// The cleaned text of the first child element named `name`, if it has any.
pub fn child_text(node: &Node, name: &str) -> Result<Option<String>, MappingError> {
    match child(node, name) {
        Some(c) => text(&c),
        None => Ok(None),
    }
}

/// An `invalid-document` error at `node`: its line and byte offset; the message should name the element.
pub fn invalid_at(node: &Node, message: impl Into<String>) -> MappingError {
    MappingError::invalid(message, position(node))
}

/// Where `node` starts: line and byte offset.
pub fn position(node: &Node) -> Position {
    let start = node.range().start;
    let line = node.document().text_pos_at(start).row;
    Position::new()
        .with_line(line)
        .with_byte_offset(start as u64)
}

/// An XPath to `node` with the position of each element among its namesakes:
/// `/ProductionPerformance/ProductionResponse[1]/SegmentResponse[2]/MaterialActual[3]`.
pub fn element_path(node: &Node) -> String {
    let mut steps = Vec::new();
    for n in node.ancestors().filter(Node::is_element) {
        let name = n.tag_name().name();
        let step = match n.parent_element() {
            None => name.to_owned(),
            Some(_) => {
                // `prev_siblings` starts at the node itself, so the count is 1-based.
                let index = n
                    .prev_siblings()
                    .filter(|s| s.is_element() && s.tag_name() == n.tag_name())
                    .count();
                format!("{name}[{index}]")
            }
        };
        steps.push(step);
    }
    steps.reverse();
    format!("/{}", steps.join("/"))
}

/// Counts element nesting with a lexical scan (comments, CDATA, processing instructions, declarations and
/// quoted attribute values skipped), returning the offset of the first start tag deeper than
/// [`MAX_NESTING`]. It only guards the parser's stack: what it cannot make sense of, the parser refuses.
fn check_nesting(text: &str) -> Result<(), usize> {
    let bytes = text.as_bytes();
    let skip_to = |from: usize, end: &str| {
        text[from..]
            .find(end)
            .map_or(bytes.len(), |i| from + i + end.len())
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &text[i..];
        if rest.starts_with("<!--") {
            i = skip_to(i, "-->");
        } else if rest.starts_with("<![CDATA[") {
            i = skip_to(i, "]]>");
        } else if rest.starts_with("<?") {
            i = skip_to(i, "?>");
        } else if rest.starts_with("<!") {
            i = skip_to(i, ">");
        } else if rest.starts_with("</") {
            depth = depth.saturating_sub(1);
            i = skip_to(i, ">");
        } else {
            let start = i;
            let mut quote = None;
            let mut j = i + 1;
            while j < bytes.len() {
                match (quote, bytes[j]) {
                    (None, b'"' | b'\'') => quote = Some(bytes[j]),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= bytes.len() || bytes[j - 1] != b'/' {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(start);
                }
            }
            i = j + 1;
        }
    }
    Ok(())
}

/// The 1-based line of the end of `bytes`.
fn line_of(bytes: &[u8]) -> u32 {
    let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    u32::try_from(lines).unwrap_or(u32::MAX)
}

/// The byte offset of a 1-based row and character column in `text`, clamped to its length.
fn byte_offset(text: &str, row: u32, col: u32) -> usize {
    let mut offset = 0;
    for _ in 1..row {
        match text[offset..].find('\n') {
            Some(i) => offset += i + 1,
            None => return text.len(),
        }
    }
    let line = &text[offset..];
    let chars = usize::try_from(col.saturating_sub(1)).unwrap_or(usize::MAX);
    offset
        + line
            .char_indices()
            .nth(chars)
            .map_or(line.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_follow_rows_and_character_columns() {
        let text = "<a>\n  <bé/>\n</a>";
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 3), 6);
        assert_eq!(byte_offset(text, 2, 6), 10);
        assert_eq!(byte_offset(text, 9, 1), text.len());
    }

    #[test]
    fn nesting_is_counted_outside_comments_cdata_and_attribute_values() {
        assert_eq!(
            check_nesting("<a><b/><c x='>'><!-- <d> --><![CDATA[<e>]]></c></a>"),
            Ok(())
        );
        let deep = format!("<a>{}", "<b>".repeat(MAX_NESTING));
        assert_eq!(check_nesting(&deep), Err(3 * MAX_NESTING));
    }

    #[test]
    fn element_paths_count_namesakes() {
        let doc = Document::parse("<P><R/><R><S/><S><M/></S></R></P>").expect("well-formed");
        let m = doc
            .descendants()
            .find(|n| n.has_tag_name("M"))
            .expect("M is there");
        assert_eq!(element_path(&m), "/P/R[2]/S[2]/M[1]");
    }
}
