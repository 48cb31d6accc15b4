//! The one place where a value from the canonical event becomes an X12 element, and so the one place that makes
//! sure the interchange cannot break: X12 has no escape character, so a value holding a separator, a control
//! character or a character outside ASCII, or one too long or too short for its element, is refused with the
//! JSON path of the canonical field it came from, never written.
//!
//! The lengths and types are the X12 004010 data dictionary's (`AN` string, `ID` code, `R` decimal, `N0`
//! integer). Spaces around a string are dropped before it is measured, as X12 suppresses them.

use millwright_sdk::x12;

use crate::path::Path;
use millwright_sdk::types::MappingError;

/// The separators the interchange is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    /// Between elements (ISA byte 4).
    pub element: char,
    /// Between the components of a composite element (ISA16).
    pub component: char,
    /// After every segment.
    pub segment: char,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            element: '*',
            component: '>',
            segment: '~',
        }
    }
}

/// The data element type, as the X12 dictionary gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `AN`: any characters of the character set.
    Text,
    /// `ID`: a code from a code list; upper-case letters and digits here.
    Code,
    /// `R`: a decimal number; the length counts its digits only.
    Decimal,
}

/// One element of one segment: its name for messages (`BEG03`), its type and its length limits.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The segment tag and element number, as the standard names it.
    pub name: &'static str,
    pub kind: Kind,
    pub min: usize,
    pub max: usize,
}

impl Spec {
    /// A string element (`AN min/max`).
    pub const fn text(name: &'static str, min: usize, max: usize) -> Self {
        Spec {
            name,
            kind: Kind::Text,
            min,
            max,
        }
    }

    /// A code element (`ID min/max`).
    pub const fn code(name: &'static str, min: usize, max: usize) -> Self {
        Spec {
            name,
            kind: Kind::Code,
            min,
            max,
        }
    }

    /// A decimal element (`R min/max`).
    pub const fn decimal(name: &'static str, min: usize, max: usize) -> Self {
        Spec {
            name,
            kind: Kind::Decimal,
            min,
            max,
        }
    }
}

impl Separators {
    /// `value` as element `spec`, or the error for the canonical field at `at`. Strings lose surrounding spaces.
    pub fn check(&self, value: &str, spec: Spec, at: &Path) -> Result<String, MappingError> {
        let name = spec.name;
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(at.invalid(
                "control-character",
                format!(
                    "{name} would carry the control character U+{:04X}, which has no place in an X12 element",
                    u32::from(c)
                ),
            ));
        }
        if let Some(c) = value.chars().find(|c| !c.is_ascii()) {
            return Err(at.invalid(
                "character-set",
                format!(
                    "{name} would carry `{c}`, which is outside the ASCII characters an X12 004010 interchange \
                     declares; write the value in ASCII"
                ),
            ));
        }
        if let Some(c) = value
            .chars()
            .find(|&c| c == self.element || c == self.component || c == self.segment)
        {
            let which = if c == self.element {
                "element separator"
            } else if c == self.component {
                "sub-element separator"
            } else {
                "segment terminator"
            };
            return Err(at.invalid(
                "separator-in-value",
                format!(
                    "{name} `{value}` contains `{c}`, the interchange's {which}; X12 has no escape character, \
                     so the value must be changed before the order can be sent"
                ),
            ));
        }
        let value = value.trim_matches(' ');
        let length = match spec.kind {
            Kind::Text => value.len(),
            Kind::Code => {
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return Err(at.invalid(
                        "invalid-code",
                        format!("{name} `{value}` is not a code of upper-case letters and digits"),
                    ));
                }
                value.len()
            }
            Kind::Decimal => {
                if !x12::is_decimal(value) {
                    return Err(at.invalid(
                        "not-a-decimal",
                        format!(
                            "{name} `{value}` is not a decimal number (digits with at most one `.`)"
                        ),
                    ));
                }
                value.bytes().filter(u8::is_ascii_digit).count()
            }
        };
        let unit = if spec.kind == Kind::Decimal {
            "digits"
        } else {
            "characters"
        };
        if length > spec.max {
            return Err(at.invalid(
                "too-long",
                format!(
                    "{name} `{value}` has {length} {unit}; X12 allows at most {}",
                    spec.max
                ),
            ));
        }
        if length < spec.min {
            let message = if length == 0 {
                format!("{name} would be empty, and the 850 needs a value here")
            } else {
                format!(
                    "{name} `{value}` has {length} {unit}; X12 needs at least {}",
                    spec.min
                )
            };
            return Err(at.invalid("too-short", message));
        }
        Ok(value.to_owned())
    }

    /// Like [`Separators::check`], but an empty (or all-space) value is `None` rather than an error.
    pub fn optional(
        &self,
        value: &str,
        spec: Spec,
        at: &Path,
    ) -> Result<Option<String>, MappingError> {
        if value.trim_matches(' ').is_empty() {
            Ok(None)
        } else {
            self.check(value, spec, at).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value written, or the error's code.
    fn check(value: &str, spec: Spec) -> String {
        match Separators::default().check(value, spec, &Path::event()) {
            Ok(value) => value,
            Err(e) => format!("error: {}", e.diagnostic().code.clone().unwrap_or_default()),
        }
    }

    #[test]
    fn values_that_would_break_the_interchange_are_refused() {
        let text = Spec::text("PO107", 1, 48);
        assert_eq!(check(" BW-HB1040-ZP ", text), "BW-HB1040-ZP");
        assert_eq!(check("A*B", text), "error: separator-in-value");
        assert_eq!(check("A>B", text), "error: separator-in-value");
        assert_eq!(check("A~", text), "error: separator-in-value");
        assert_eq!(check("A\u{7}B", text), "error: control-character");
        assert_eq!(check("A\nB", text), "error: control-character");
        assert_eq!(check("M10×40", text), "error: character-set");
        assert_eq!(check(&"9".repeat(49), text), "error: too-long");
        assert_eq!(check("  ", text), "error: too-short");
    }

    #[test]
    fn codes_and_decimals_are_checked_by_their_type() {
        assert_eq!(check("EUR", Spec::code("CUR02", 3, 3)), "EUR");
        assert_eq!(
            check("eur", Spec::code("CUR02", 3, 3)),
            "error: invalid-code"
        );
        let quantity = Spec::decimal("PO102", 1, 15);
        assert_eq!(check("5000.000", quantity), "5000.000");
        assert_eq!(check("1e3", quantity), "error: not-a-decimal");
        // Fifteen digits fit, the point does not count.
        assert_eq!(check("12345678901.2345", quantity), "12345678901.2345");
        assert_eq!(check("1234567890123456", quantity), "error: too-long");
    }
}
