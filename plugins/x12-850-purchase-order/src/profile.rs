//! The partner profile (the route's `config`) and the master data that say who writes the 850 and to whom: the
//! plant's own interchange id, its GS application code, the usage indicator, the separators; which suppliers
//! trade X12 and under which interchange id; and the host's clock in the plant's zone for the envelope's dates.
//!
//! A profile that cannot be read is the route's fault, not the order's: it is `unknown-reference` with code
//! `profile`, so the order is parked and can be replayed once the route's configuration is fixed.

use millwright_sdk::host::{self, LookupError};
use millwright_sdk::types::{MappingError, Position};
use millwright_sdk::x12;

use crate::element::Separators;
use crate::path::Path;

/// The plant's own interchange id, `<ISA05 qualifier>/<ISA06 id>`: `ZZ/ACMEMFG`. Required.
pub const SENDER_KEY: &str = "interchange-sender";
/// GS02, the plant's application sender code. Default: the id of `interchange-sender`.
pub const APPLICATION_SENDER_KEY: &str = "application-sender";
/// ISA15: `P` production (default) or `T` test.
pub const USAGE_KEY: &str = "usage-indicator";
/// ISA14: `true` asks the supplier for a TA1 interchange acknowledgment; `false` (default) does not.
pub const TA1_KEY: &str = "ta1-requested";
/// The element separator, one character. Default `*`.
pub const ELEMENT_SEPARATOR_KEY: &str = "element-separator";
/// The sub-element (component) separator, ISA16, one character. Default `>`.
pub const SUB_ELEMENT_SEPARATOR_KEY: &str = "sub-element-separator";
/// The segment terminator, one character. Default `~`.
pub const SEGMENT_TERMINATOR_KEY: &str = "segment-terminator";
/// What follows each segment terminator: `none` (default), `lf` or `crlf`.
pub const LINE_BREAK_KEY: &str = "line-break";
/// BEG02 for a `standard` order: `SA` (stand-alone order, default), `NE` (new order) or another 2-character code.
pub const STANDARD_ORDER_TYPE_KEY: &str = "standard-order-type";

/// The master-data table of the suppliers that trade X12: ERP supplier number → `<qualifier>/<id>`.
pub const PARTNERS_TABLE: &str = "x12-partners";
/// The master-data table of GS03 codes, by ERP supplier number; a supplier without a row gets its ISA08 id.
pub const APPLICATION_RECEIVERS_TABLE: &str = "x12-application-receivers";

/// An interchange id: the ISA05/ISA07 qualifier and the ISA06/ISA08 id, both without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeId {
    pub qualifier: String,
    pub id: String,
}

impl InterchangeId {
    /// Reads `<qualifier>/<id>`: a qualifier of two upper-case letters or digits (`ZZ`, `01`, `14`), an id of 1
    /// to 15 printable ASCII characters with no spaces around it. The error says what is wrong.
    pub fn parse(text: &str, separators: &Separators) -> Result<Self, String> {
        let Some((qualifier, id)) = text.split_once('/') else {
            return Err(format!(
                "`{text}` is not `<qualifier>/<id>` such as `ZZ/ACMEMFG`"
            ));
        };
        if qualifier.len() != 2
            || !qualifier
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(format!(
                "`{text}`: the qualifier `{qualifier}` is not two upper-case letters or digits (ISA05/ISA07)"
            ));
        }
        if id.is_empty() || id.len() > 15 {
            return Err(format!(
                "`{text}`: the id `{id}` must be 1 to 15 characters (ISA06/ISA08)"
            ));
        }
        if id.starts_with(' ') || id.ends_with(' ') {
            return Err(format!(
                "`{text}`: the id has spaces around it; the ISA pads it itself"
            ));
        }
        if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic() && *c != ' ') {
            return Err(format!(
                "`{text}`: the id holds {c:?}, which is not a printable ASCII character"
            ));
        }
        if let Some(c) = id.chars().find(|&c| {
            c == separators.element || c == separators.component || c == separators.segment
        }) {
            return Err(format!(
                "`{text}`: the id holds `{c}`, one of the interchange's separators"
            ));
        }
        Ok(InterchangeId {
            qualifier: qualifier.to_owned(),
            id: id.to_owned(),
        })
    }

    /// `<qualifier>/<id>`, as the sequences of control numbers are named after it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.qualifier, self.id)
    }
}

/// The route's profile, read once per order.
#[derive(Debug, Clone)]
pub struct Profile {
    pub sender: InterchangeId,
    /// GS02.
    pub application_sender: String,
    /// ISA15 `T`.
    pub test: bool,
    /// ISA14 `1`.
    pub ta1_requested: bool,
    pub separators: Separators,
    /// Written after every segment terminator.
    pub line_break: &'static str,
    /// BEG02 of a `standard` order.
    pub standard_order_type: String,
    /// The plant's time zone, for ISA09/ISA10 and GS04/GS05.
    pub zone: String,
}

/// A profile value that cannot be used: the route must be fixed, and the order waits parked.
fn profile_error(key: &str, message: impl std::fmt::Display) -> MappingError {
    MappingError::unknown_reference(
        format!("profile key `{key}`: {message}; fix the route's config and replay the order"),
        Position::new(),
    )
    .with_code("profile")
}

fn separator(key: &str, default: char) -> Result<char, MappingError> {
    let Some(text) = host::config(key) else {
        return Ok(default);
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_graphic() && !c.is_ascii_alphanumeric() => Ok(c),
        _ => Err(profile_error(
            key,
            format!(
                "`{}` is not one printable ASCII character other than a letter or a digit",
                text.escape_debug()
            ),
        )),
    }
}

impl Profile {
    /// Reads the profile from the host, checking every value.
    pub fn read() -> Result<Self, MappingError> {
        let separators = Separators {
            element: separator(ELEMENT_SEPARATOR_KEY, '*')?,
            component: separator(SUB_ELEMENT_SEPARATOR_KEY, '>')?,
            segment: separator(SEGMENT_TERMINATOR_KEY, '~')?,
        };
        if separators.element == separators.component
            || separators.element == separators.segment
            || separators.component == separators.segment
        {
            return Err(profile_error(
                ELEMENT_SEPARATOR_KEY,
                format!(
                    "the element separator `{}`, sub-element separator `{}` and segment terminator `{}` must \
                     differ",
                    separators.element, separators.component, separators.segment
                ),
            ));
        }
        let sender = match host::config(SENDER_KEY) {
            Some(text) => InterchangeId::parse(text.trim(), &separators)
                .map_err(|why| profile_error(SENDER_KEY, why))?,
            None => {
                return Err(profile_error(
                    SENDER_KEY,
                    "not set; it names the plant on the envelope (ISA05/ISA06), e.g. `ZZ/ACMEMFG`",
                ));
            }
        };
        let application_sender = match host::config(APPLICATION_SENDER_KEY) {
            Some(code) => application_code(code.trim(), &separators)
                .map_err(|why| profile_error(APPLICATION_SENDER_KEY, why))?,
            None => application_code(&sender.id, &separators)
                .map_err(|why| profile_error(SENDER_KEY, format!("as GS02: {why}")))?,
        };
        let test = match host::config(USAGE_KEY).as_deref().map(str::trim) {
            None | Some("P") => false,
            Some("T") => true,
            Some(other) => {
                return Err(profile_error(
                    USAGE_KEY,
                    format!("`{other}` is neither `P` (production) nor `T` (test)"),
                ));
            }
        };
        let ta1_requested = match host::config(TA1_KEY).as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(profile_error(
                    TA1_KEY,
                    format!("`{other}` is neither `true` nor `false`"),
                ));
            }
        };
        let line_break = match host::config(LINE_BREAK_KEY).as_deref().map(str::trim) {
            None | Some("none") => "",
            Some("lf") => "\n",
            Some("crlf") => "\r\n",
            Some(other) => {
                return Err(profile_error(
                    LINE_BREAK_KEY,
                    format!("`{other}` is none of `none`, `lf`, `crlf`"),
                ));
            }
        };
        let standard_order_type = match host::config(STANDARD_ORDER_TYPE_KEY) {
            None => "SA".to_owned(),
            Some(code) => {
                let code = code.trim();
                if code.len() != 2
                    || !code
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return Err(profile_error(
                        STANDARD_ORDER_TYPE_KEY,
                        format!("`{code}` is not a BEG02 code of two upper-case letters or digits"),
                    ));
                }
                code.to_owned()
            }
        };
        Ok(Profile {
            sender,
            application_sender,
            test,
            ta1_requested,
            separators,
            line_break,
            standard_order_type,
            zone: x12::partner_zone(),
        })
    }
}

/// A GS02/GS03 application code: 2 to 15 printable ASCII characters, no separator.
fn application_code(code: &str, separators: &Separators) -> Result<String, String> {
    if code.len() < 2 || code.len() > 15 {
        return Err(format!("`{code}` must be 2 to 15 characters (GS02/GS03)"));
    }
    if let Some(c) = code.chars().find(|&c| {
        !(c.is_ascii_graphic() || c == ' ')
            || c == separators.element
            || c == separators.component
            || c == separators.segment
    }) {
        return Err(format!(
            "`{}` holds {c:?}, which cannot be written in the GS segment",
            code.escape_debug()
        ));
    }
    Ok(code.to_owned())
}

/// A supplier that trades X12: who receives the interchange and the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// ISA07/ISA08, from `x12-partners`.
    pub interchange: InterchangeId,
    /// GS03, from `x12-application-receivers` or else ISA08.
    pub application: String,
}

/// The `x12-partners` row of a supplier, by its ERP supplier number (found at `at`), or `None` when the supplier
/// is not in the table and so does not trade X12.
pub fn partner_row(supplier: &str, at: &Path) -> Result<Option<String>, MappingError> {
    match host::lookup(PARTNERS_TABLE, supplier) {
        Ok(row) => Ok(row),
        Err(LookupError::NoSuchTable(_)) => Err(at.unknown(
            "no-partner-table",
            format!(
                "the tenant has no `{PARTNERS_TABLE}` table, so no supplier can be sent an 850; load it with one \
                 row per supplier that trades X12 (ERP supplier number, `<qualifier>/<id>`)"
            ),
        )),
        Err(LookupError::Unavailable(why)) => Err(at.transient(
            "lookup-unavailable",
            format!("the `{PARTNERS_TABLE}` table could not be read: {why}"),
        )),
    }
}

/// The X12 receiver of a supplier from its `x12-partners` row, and its GS03.
pub fn receiver(
    supplier: &str,
    row: &str,
    separators: &Separators,
    at: &Path,
) -> Result<Receiver, MappingError> {
    let interchange = InterchangeId::parse(row.trim(), separators).map_err(|why| {
        at.unknown(
            "invalid-partner-id",
            format!(
                "the `{PARTNERS_TABLE}` row of supplier `{supplier}` is not an X12 interchange id: {why}; \
                 correct the row"
            ),
        )
    })?;
    let application = match host::lookup(APPLICATION_RECEIVERS_TABLE, supplier) {
        Ok(Some(code)) => application_code(code.trim(), separators).map_err(|why| {
            at.unknown(
                "invalid-table-value",
                format!(
                    "the `{APPLICATION_RECEIVERS_TABLE}` row of supplier `{supplier}`: {why}; correct the row"
                ),
            )
        })?,
        Ok(None) | Err(LookupError::NoSuchTable(_)) => {
            application_code(&interchange.id, separators).map_err(|why| {
                at.unknown(
                    "invalid-partner-id",
                    format!(
                        "the `{PARTNERS_TABLE}` row of supplier `{supplier}` cannot serve as GS03: {why}; add \
                         a row to `{APPLICATION_RECEIVERS_TABLE}`"
                    ),
                )
            })?
        }
        Err(LookupError::Unavailable(why)) => {
            return Err(at.transient(
                "lookup-unavailable",
                format!("the `{APPLICATION_RECEIVERS_TABLE}` table could not be read: {why}"),
            ));
        }
    };
    Ok(Receiver {
        interchange,
        application,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interchange_ids_are_a_qualifier_and_an_id_that_fits_the_isa() {
        let seps = Separators::default();
        let id = InterchangeId::parse("ZZ/BRIGHTWIRE", &seps).expect("valid");
        assert_eq!(
            (id.qualifier.as_str(), id.id.as_str()),
            ("ZZ", "BRIGHTWIRE")
        );
        assert_eq!(id.name(), "ZZ/BRIGHTWIRE");
        // An id may hold a slash itself: the first one splits.
        assert_eq!(
            InterchangeId::parse("01/12/34", &seps).map(|i| i.id),
            Ok("12/34".to_owned())
        );
        for bad in [
            "BRIGHTWIRE",
            "Z/BRIGHTWIRE",
            "zz/BRIGHTWIRE",
            "ZZ/",
            "ZZ/BRIGHTWIRE-FASTENERS",
            "ZZ/ BRIGHTWIRE",
            "ZZ/BRIGHT*WIRE",
            "ZZ/BRIGHT\tWIRE",
        ] {
            assert!(InterchangeId::parse(bad, &seps).is_err(), "{bad}");
        }
    }
}
