//! The JSON body the ERP's inventory-posting endpoint takes: a material document, modelled on SAP S/4HANA's
//! `API_MATERIAL_DOCUMENT_SRV` (`A_MaterialDocumentHeader` with its `to_MaterialDocumentItem` deep insert).
//! These structs are the shape; `README.md` shows it filled in.
//!
//! Keys are SAP's PascalCase names. Every key is always present: what the event does not carry is `null`, so
//! the ERP's mapping never has to tell a missing key from an empty one. Quantities are decimal strings exactly
//! as the event carries them (without the sign: the movement type says the direction), never JSON numbers.

use serde::Serialize;

/// One material document: one business event's stock postings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MaterialDocument {
    /// The kind of transaction: `01` goods receipt for a purchase order, `02` for a production order, `03`
    /// goods issue, `04` transfer posting, `05` other goods receipt.
    pub goods_movement_code: &'static str,
    /// The day the posting counts for in the plant's books, `YYYY-MM-DD`.
    pub posting_date: String,
    /// The day the business event happened, `YYYY-MM-DD`.
    pub document_date: String,
    /// The document the posting answers to: the delivery note (ship notice) or receipt, the work order, the
    /// movement id.
    pub reference_document: String,
    /// The canonical event's id, so a material document leads back to the message it came from.
    pub material_document_header_text: String,
    /// The items, one per stock posting.
    #[serde(rename = "to_MaterialDocumentItem")]
    pub items: Vec<MaterialDocumentItem>,
}

/// One stock posting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MaterialDocumentItem {
    /// The ERP's material number (the tenant's internal item number).
    pub material: String,
    /// The plant whose stock changes.
    pub plant: String,
    /// The storage location whose stock changes.
    pub storage_location: Option<String>,
    /// The batch (lot).
    pub batch: Option<String>,
    /// The movement type: `101`, `261`, `311`, `551` ... (`README.md` has the table).
    pub goods_movement_type: &'static str,
    /// The stock the goods go to on a receipt: `01` unrestricted use, `07` blocked.
    pub inventory_stock_type: Option<&'static str>,
    /// The quantity, a positive decimal string as the event carries it.
    pub quantity_in_entry_unit: String,
    /// The ERP's unit of `quantity_in_entry_unit`.
    pub entry_unit: String,
    /// The purchase order received against.
    pub purchase_order: Option<String>,
    /// The purchase order's item.
    pub purchase_order_item: Option<String>,
    /// The production order issued to or received from.
    pub manufacturing_order: Option<String>,
    /// What a receipt refers to: `B` a purchase order, `F` a production order.
    pub goods_movement_ref_doc_type: Option<&'static str>,
    /// A transfer's receiving plant.
    pub issuing_or_receiving_plant: Option<String>,
    /// A transfer's receiving storage location.
    #[serde(rename = "IssuingOrReceivingStorageLoc")]
    pub issuing_or_receiving_storage_location: Option<String>,
    /// The cost center an issue or a scrapping is charged to (the profile's `erp-cost-center`).
    pub cost_center: Option<String>,
    /// The batch's expiry, `YYYY-MM-DD`.
    pub shelf_life_expiration_date: Option<String>,
    /// Why: an operation, a discrepancy, a movement's reason, the scrap not posted.
    pub material_document_item_text: Option<String>,
}
