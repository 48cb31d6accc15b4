//! The canonical model, as generated from `wit/types.wit`, with constructors that keep mappings short.
//!
//! Every type here is the one the host serializes to canonical JSON, so a mapping builds these values and
//! nothing else. The rules of the model (decimal strings, schemes chosen by qualifier, UTC instants) are in the
//! WIT file; the helpers below make the right thing the short thing.

pub use crate::bindings::inbound::millwright::adapter::types::*;

impl Quantity {
    /// A quantity, with the value exactly as the sender wrote it and a UN/ECE Recommendation 20 unit code.
    ///
    /// ```
    /// use millwright_sdk::types::Quantity;
    /// let q = Quantity::new("12.5", "KGM");
    /// assert_eq!(q.value, "12.5");
    /// ```
    pub fn new(value: impl Into<String>, unit: impl Into<String>) -> Self {
        Quantity {
            value: value.into(),
            unit: unit.into(),
        }
    }
}

impl Timestamp {
    /// An instant in UTC with no original offset, from an RFC 3339 string ending in `Z`.
    pub fn utc(rfc3339: impl Into<String>) -> Self {
        Timestamp {
            utc: rfc3339.into(),
            original_offset_minutes: None,
        }
    }
}

impl Identifier {
    /// An identifier in the given scheme.
    pub fn new(scheme: IdScheme, value: impl Into<String>) -> Self {
        Identifier {
            scheme,
            value: value.into(),
        }
    }

    /// The buyer's part number (X12 `BP`).
    pub fn buyer_part(value: impl Into<String>) -> Self {
        Self::new(IdScheme::BuyerPart, value)
    }

    /// The vendor's part number (X12 `VP`, `VN`).
    pub fn vendor_part(value: impl Into<String>) -> Self {
        Self::new(IdScheme::VendorPart, value)
    }

    /// A GTIN, UPC or EAN (X12 `UP`, `UK`, `EN`).
    pub fn gtin(value: impl Into<String>) -> Self {
        Self::new(IdScheme::Gtin, value)
    }

    /// A Serial Shipping Container Code (X12 `MAN*GM`).
    pub fn sscc(value: impl Into<String>) -> Self {
        Self::new(IdScheme::Sscc, value)
    }

    /// A D-U-N-S number.
    pub fn duns(value: impl Into<String>) -> Self {
        Self::new(IdScheme::Duns, value)
    }

    /// A Global Location Number.
    pub fn gln(value: impl Into<String>) -> Self {
        Self::new(IdScheme::Gln, value)
    }

    /// The tenant's own internal code.
    pub fn internal(value: impl Into<String>) -> Self {
        Self::new(IdScheme::Internal, value)
    }

    /// An identifier in a scheme the model has no name for, named by the sender's qualifier.
    pub fn other(qualifier: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(IdScheme::Other(qualifier.into()), value)
    }
}

impl ItemRef {
    /// The first id of the given scheme, if the sender gave one.
    ///
    /// ```
    /// use millwright_sdk::types::{IdScheme, Identifier, ItemRef};
    /// let item = ItemRef { ids: vec![Identifier::gtin("058824077500"), Identifier::buyer_part("01113481")], description: None };
    /// assert_eq!(item.id(&IdScheme::BuyerPart), Some("01113481"));
    /// ```
    pub fn id(&self, scheme: &IdScheme) -> Option<&str> {
        self.ids
            .iter()
            .find(|id| &id.scheme == scheme)
            .map(|id| id.value.as_str())
    }
}

impl Reference {
    /// A qualified reference without a description.
    pub fn new(qualifier: impl Into<String>, value: impl Into<String>) -> Self {
        Reference {
            qualifier: qualifier.into(),
            value: value.into(),
            description: None,
        }
    }
}

impl Default for Position {
    fn default() -> Self {
        Self::new()
    }
}

impl Position {
    /// A position that says nothing yet; fill it in with the `with_*` methods.
    pub fn new() -> Self {
        Position {
            transaction: None,
            segment_index: None,
            segment_id: None,
            element: None,
            component: None,
            line: None,
            json_path: None,
            byte_offset: None,
        }
    }

    /// The transaction's control number (ST02, UNH 0062).
    pub fn with_transaction(mut self, control_number: impl Into<String>) -> Self {
        self.transaction = Some(control_number.into());
        self
    }

    /// The segment's position in its transaction (header = 1) and its tag.
    pub fn with_segment(mut self, index: u32, id: impl Into<String>) -> Self {
        self.segment_index = Some(index);
        self.segment_id = Some(id.into());
        self
    }

    /// The element's position in the segment, 1-based.
    pub fn with_element(mut self, element: u32) -> Self {
        self.element = Some(element);
        self
    }

    /// The component's position in the element, 1-based.
    pub fn with_component(mut self, component: u32) -> Self {
        self.component = Some(component);
        self
    }

    /// The line in the file, 1-based.
    pub fn with_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// A JSON path such as `$.lines[3].quantity`.
    pub fn with_json_path(mut self, path: impl Into<String>) -> Self {
        self.json_path = Some(path.into());
        self
    }

    /// The byte offset in the document.
    pub fn with_byte_offset(mut self, offset: u64) -> Self {
        self.byte_offset = Some(offset);
        self
    }
}

impl Diagnostic {
    /// A diagnostic with no machine code.
    pub fn new(message: impl Into<String>, at: Position) -> Self {
        Diagnostic {
            message: message.into(),
            at,
            code: None,
        }
    }
}

impl MappingError {
    /// The document is wrong and will stay wrong: the host dead-letters it and never retries.
    ///
    /// ```
    /// use millwright_sdk::types::{MappingError, Position};
    /// let err = MappingError::invalid("SN1 has no quantity", Position::new().with_segment(12, "SN1").with_element(2));
    /// assert_eq!(err.diagnostic().at.element, Some(2));
    /// ```
    pub fn invalid(message: impl Into<String>, at: Position) -> Self {
        MappingError::InvalidDocument(Diagnostic::new(message, at))
    }

    /// The document names master data the tenant does not have: the host parks it until the data is loaded.
    pub fn unknown_reference(message: impl Into<String>, at: Position) -> Self {
        MappingError::UnknownReference(Diagnostic::new(message, at))
    }

    /// Something outside the document failed and may work later: the host retries with backoff.
    pub fn transient(message: impl Into<String>, at: Position) -> Self {
        MappingError::Transient(Diagnostic::new(message, at))
    }

    /// Adds a stable machine code (an X12 AK4 code, say) to the diagnostic.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.diagnostic_mut().code = Some(code.into());
        self
    }

    /// The diagnostic, whatever the kind of error.
    pub fn diagnostic(&self) -> &Diagnostic {
        match self {
            MappingError::InvalidDocument(d)
            | MappingError::UnknownReference(d)
            | MappingError::Transient(d) => d,
        }
    }

    fn diagnostic_mut(&mut self) -> &mut Diagnostic {
        match self {
            MappingError::InvalidDocument(d)
            | MappingError::UnknownReference(d)
            | MappingError::Transient(d) => d,
        }
    }
}

impl PluginInfo {
    /// Describes a plugin: its short name, its own semantic version and the documents it handles
    /// (`x12:856`, `csv:goods-receipt`, `canonical:ship-notice`).
    pub fn new<I, S>(name: impl Into<String>, version: impl Into<String>, document_types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PluginInfo {
            name: name.into(),
            version: version.into(),
            document_types: document_types.into_iter().map(Into::into).collect(),
            description: None,
        }
    }

    /// Adds a one-line description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl Envelope {
    /// An envelope around a document, as a test or a benchmark builds it: the given source, tenant `test`,
    /// message and correlation ids derived from the source, `received-at` from [`crate::host::now`].
    ///
    /// ```
    /// use millwright_sdk::types::Envelope;
    /// let doc = Envelope::for_bytes("supplier-856", b"ISA*00*...".to_vec());
    /// assert_eq!(doc.source, "supplier-856");
    /// ```
    pub fn for_bytes(source: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        let source = source.into();
        Envelope {
            message_id: format!("{source}-1"),
            correlation_id: format!("{source}-correlation"),
            source,
            tenant: "test".to_owned(),
            received_at: crate::host::now(),
            content_type: None,
            file_name: None,
            headers: Vec::new(),
            payload: payload.into(),
        }
    }

    /// The value of a message header, if the input carried it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Target {
    /// A target by its route name.
    pub fn named(name: impl Into<String>) -> Self {
        Target { name: name.into() }
    }
}

impl CanonicalEvent {
    /// The event type: the case name, which is also the last part of the subject the host publishes it on
    /// (`ship-notice`).
    pub fn kind(&self) -> &'static str {
        match self {
            CanonicalEvent::Item(_) => "item",
            CanonicalEvent::Party(_) => "party",
            CanonicalEvent::Location(_) => "location",
            CanonicalEvent::Lot(_) => "lot",
            CanonicalEvent::PurchaseOrder(_) => "purchase-order",
            CanonicalEvent::OrderAcknowledgment(_) => "order-acknowledgment",
            CanonicalEvent::ShipNotice(_) => "ship-notice",
            CanonicalEvent::GoodsReceipt(_) => "goods-receipt",
            CanonicalEvent::MaterialConsumption(_) => "material-consumption",
            CanonicalEvent::ProductionCompletion(_) => "production-completion",
            CanonicalEvent::InventoryMovement(_) => "inventory-movement",
            CanonicalEvent::QualityHold(_) => "quality-hold",
            CanonicalEvent::WorkOrderStatus(_) => "work-order-status",
            CanonicalEvent::Exception(_) => "exception",
        }
    }
}
