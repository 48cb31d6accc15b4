//! Where in the canonical event a problem is: a JSON path into the event as the host writes it (RFC 9535, names
//! with a hyphen in brackets: `$['purchase-order'].lines[2].quantity.unit`), and the errors that carry one.

use millwright_sdk::types::{MappingError, Position};

/// A JSON path into the canonical `purchase-order` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// The event itself: `$['purchase-order']`.
    pub fn event() -> Self {
        Path("$['purchase-order']".to_owned())
    }

    /// A member of the object at this path.
    pub fn field(&self, name: &str) -> Self {
        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Path(format!("{}.{name}", self.0))
        } else {
            Path(format!("{}['{name}']", self.0))
        }
    }

    /// An element of the array at this path.
    pub fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn position(&self) -> Position {
        Position::new().with_json_path(self.0.clone())
    }

    /// The event is wrong here and will stay wrong: `invalid-document`.
    pub fn invalid(&self, code: &str, message: impl Into<String>) -> MappingError {
        MappingError::invalid(message, self.position()).with_code(code)
    }

    /// The event names master data the tenant lacks (or holds malformed): `unknown-reference`, parked until the
    /// data is fixed.
    pub fn unknown(&self, code: &str, message: impl Into<String>) -> MappingError {
        MappingError::unknown_reference(message, self.position()).with_code(code)
    }

    /// Something outside the event failed and may work later: `transient`, retried.
    pub fn transient(&self, code: &str, message: impl Into<String>) -> MappingError {
        MappingError::transient(message, self.position()).with_code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_hyphen_are_bracketed() {
        let at = Path::event()
            .field("lines")
            .index(2)
            .field("quantity")
            .field("unit");
        assert_eq!(at.as_str(), "$['purchase-order'].lines[2].quantity.unit");
        assert_eq!(
            Path::event().field("order-id").as_str(),
            "$['purchase-order']['order-id']"
        );
    }
}
