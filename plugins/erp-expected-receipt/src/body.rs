//! The JSON body the ERP's expected-receipts (inbound deliveries) endpoint takes: these structs are the shape,
//! and `README.md` shows it filled in.
//!
//! Keys are camelCase, as ERP REST APIs write them. Every key is always present: a value the ship notice does
//! not carry is `null` (or `[]` for a list), so the ERP's mapping never has to tell a missing key from an empty
//! one. Quantities are decimal strings exactly as the supplier sent them, with a UN/ECE Recommendation 20 unit
//! code, never JSON numbers: a float would turn `920.250` into `920.25` and lose the sender's scale.

use serde::Serialize;

/// One expected receipt: a ship notice as the ERP records it before the goods arrive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedReceipt {
    /// The supplier's shipment id (BSN02 on an X12 856): the key the ERP files the expected receipt under.
    pub ship_notice_id: String,
    /// What the notice does to an earlier one with the same id: `original`, `replace`, `cancel`, `change`,
    /// `confirmation` or `duplicate`.
    pub purpose: &'static str,
    /// The flow the ship notice belongs to, from the event header: the thread that ties the ERP record back to
    /// the EDI file it came from.
    pub correlation_id: String,
    /// The canonical event's id, e.g. `x12:ALLEGHENYCOIL:000000907:907:0001`.
    pub source_event_id: String,
    /// The system or partner the ship notice came from.
    pub source_system: String,
    /// The ERP plant receiving the goods: the partner profile's `erp-plant` value.
    pub receiving_plant: Option<String>,
    /// The supplier: the ship notice's ship-from party.
    pub supplier: Party,
    /// Where the goods are going, as the supplier named it.
    pub ship_to: Option<Party>,
    /// When the goods left, UTC (RFC 3339 with `Z`).
    pub shipped_at: Option<String>,
    /// When the goods are expected at the ship-to, UTC (RFC 3339 with `Z`).
    pub expected_at: Option<String>,
    /// Who carries the goods.
    pub carrier: Option<Carrier>,
    /// The bill of lading number.
    pub bill_of_lading: Option<String>,
    /// The carrier's tracking or PRO number.
    pub tracking_number: Option<String>,
    /// One line per shipped item, in the order the ship notice lists them.
    pub lines: Vec<Line>,
}

/// A supplier or ship-to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    /// The name as sent.
    pub name: Option<String>,
    /// Every id the sender gave, each with its scheme.
    pub ids: Vec<SchemedId>,
    /// The postal address, when sent.
    pub address: Option<Address>,
}

/// An identifier and the numbering it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemedId {
    /// The canonical scheme name (`duns`, `gln`, `mutually-defined`, `buyer-part` ...), or `other:<qualifier>`
    /// for a scheme the canonical model has no name for.
    pub scheme: String,
    /// The id itself.
    pub value: String,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street lines, in order.
    pub lines: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country code, as sent (ISO 3166-1 alpha-2 or alpha-3).
    pub country: Option<String>,
}

/// The carrier moving the goods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Carrier {
    /// The Standard Carrier Alpha Code.
    pub scac: Option<String>,
    /// The carrier's name.
    pub name: Option<String>,
    /// Transport method as sent (`M` motor, `A` air, `R` rail ...).
    pub transport_mode: Option<String>,
}

/// One expected line: an item, the order line it fills, how much, which lots, and the label it travels under.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// 1, 2, 3 ... in the order of `lines`.
    pub line_number: u32,
    /// The purchase order the item is shipped against.
    pub order_number: String,
    /// The order's release, for a call-off against a blanket order.
    pub order_release: Option<String>,
    /// The order line the item fills, as the supplier sent it (`10`, `20`).
    pub order_line: Option<String>,
    /// The buyer's item number (X12 `BP`): the ERP's material number.
    pub buyer_item: Option<String>,
    /// The supplier's item number (X12 `VP`/`VN`).
    pub supplier_item: Option<String>,
    /// The item's GTIN (UPC, EAN), the number on its barcode, when sent.
    pub gtin: Option<String>,
    /// The item's description, as sent.
    pub description: Option<String>,
    /// How much is shipped.
    pub quantity: Quantity,
    /// The lots the quantity belongs to; several when the supplier split it.
    pub lots: Vec<Lot>,
    /// Serial numbers shipped on this line outside any lot.
    pub serials: Vec<String>,
    /// The SSCC of the handling unit the item travels in: its pack, or its pallet when it lies loose on one;
    /// `null` when that unit carries no SSCC or the item is not packed.
    pub sscc: Option<String>,
    /// The SSCC of the pallet the item is on, when it is on one.
    pub pallet_sscc: Option<String>,
}

/// A quantity: a decimal string exactly as sent and a UN/ECE Recommendation 20 unit code.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quantity {
    /// The amount, e.g. `"920.250"`.
    pub value: String,
    /// The unit, e.g. `LBR`, `H87`, `KGM`.
    pub unit: String,
}

/// A lot on a line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lot {
    /// The supplier's lot (heat, batch) number.
    pub supplier_lot: Option<String>,
    /// The lot number inside the tenant's systems, when already known.
    pub internal_lot: Option<String>,
    /// How much of the line's quantity is in this lot, when the supplier said.
    pub quantity: Option<Quantity>,
    /// Expiry date, `YYYY-MM-DD`.
    pub expiry: Option<String>,
    /// Serial numbers in this lot.
    pub serials: Vec<String>,
}
