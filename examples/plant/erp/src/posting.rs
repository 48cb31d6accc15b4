//! A material document as the inventory-posting plugin sends it, read and checked, and each of its items as
//! the stock it moves. Nothing here touches the books: a document either reads whole or is refused naming the
//! item and the field.

use serde_json::{Map, Value};

use crate::decimal::Decimal;
use crate::{Place, Refusal, StockType};

/// The movement types this ERP posts, for the refusal of any other.
pub const MOVEMENT_TYPES: &str = "101, 102, 122, 201, 202, 261, 262, 301, 311, 321, 322, 343, 344, 349, 350, 501, 502, \
                                  551, 552";

/// A material document's header, checked; the items are read one by one with [`item`].
#[derive(Debug)]
pub struct Header {
    /// `PostingDate`, `YYYY-MM-DD`.
    pub posting_date: String,
    /// `GoodsMovementCode`.
    pub code: String,
    /// `ReferenceDocument`, when sent.
    pub reference: Option<String>,
}

/// One item: where its quantity goes or comes from.
#[derive(Debug)]
pub struct Item {
    pub material: String,
    pub movement_type: String,
    pub quantity: Decimal,
    pub unit: String,
    /// The stock the item changes: a quantity out of one (negative) or into one (positive); a transfer or a
    /// status change has both.
    pub changes: Vec<(Place, StockType, Decimal)>,
    /// The order or cost center the item is posted against, for the log.
    pub account: Option<String>,
}

/// A JSON object as posted.
pub type Object = Map<String, Value>;

/// The document object and its items, whether `to_MaterialDocumentItem` is the list itself or OData's
/// `{"results": [...]}`.
pub fn read(body: &[u8]) -> Result<(Object, Vec<Object>), Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        Refusal::bad(
            "not-json",
            format!("the body is not JSON ({err}); post one material document as a JSON object"),
        )
    })?;
    let Value::Object(document) = value else {
        return Err(Refusal::bad(
            "not-an-object",
            "the body is JSON but not an object; post one material document as a JSON object",
        ));
    };
    let items = match document.get("to_MaterialDocumentItem") {
        Some(Value::Array(items)) => items,
        Some(Value::Object(o)) if matches!(o.get("results"), Some(Value::Array(_))) => {
            match &o["results"] {
                Value::Array(items) => items,
                _ => unreachable!("matched above"),
            }
        }
        None | Some(Value::Null) => {
            return Err(Refusal::bad(
                "missing-field",
                "the document has no `to_MaterialDocumentItem`",
            )
            .field("to_MaterialDocumentItem"));
        }
        Some(_) => {
            return Err(Refusal::bad(
                "invalid-field",
                "`to_MaterialDocumentItem` is not a list of items",
            )
            .field("to_MaterialDocumentItem"));
        }
    };
    if items.is_empty() {
        return Err(Refusal::bad(
            "missing-field",
            "`to_MaterialDocumentItem` is empty: a material document posts at least one item",
        )
        .field("to_MaterialDocumentItem"));
    }
    let items = items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(o) => Ok(o.clone()),
            _ => Err(Refusal::bad("invalid-field", "the item is not a JSON object").item(i)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((document, items))
}

/// The header's fields, checked.
pub fn header(document: &Map<String, Value>) -> Result<Header, Refusal> {
    let field = Fields {
        object: document,
        item: None,
    };
    let posting_date = field.required("PostingDate")?;
    check_date(&posting_date).map_err(|why| field.invalid("PostingDate", why))?;
    if let Some(date) = field.optional("DocumentDate")? {
        check_date(&date).map_err(|why| field.invalid("DocumentDate", why))?;
    }
    let code = field.required("GoodsMovementCode")?;
    if !matches!(
        code.as_str(),
        "01" | "02" | "03" | "04" | "05" | "06" | "07"
    ) {
        return Err(field.invalid(
            "GoodsMovementCode",
            format!("`{code}` is not a goods movement code (01 to 07)"),
        ));
    }
    Ok(Header {
        posting_date,
        code,
        reference: field.optional("ReferenceDocument")?,
    })
}

/// Item `index`: its fields checked and its movement type turned into stock changes.
pub fn item(index: usize, object: &Map<String, Value>) -> Result<Item, Refusal> {
    use StockType::{Blocked, QualityInspection, Unrestricted};
    let field = Fields {
        object,
        item: Some(index),
    };
    let material = field.required("Material")?;
    let plant = field.required("Plant")?;
    let storage_location = field.optional("StorageLocation")?;
    let batch = field.optional("Batch")?;
    let movement_type = field.required("GoodsMovementType")?;
    let quantity_text = field.required("QuantityInEntryUnit")?;
    let quantity = Decimal::parse_unsigned(&quantity_text)
        .map_err(|why| field.refusal("not-a-decimal", "QuantityInEntryUnit", why))?;
    if quantity.is_zero() {
        return Err(field.invalid(
            "QuantityInEntryUnit",
            "the quantity is zero: an item moves some stock",
        ));
    }
    let unit = field.required("EntryUnit")?;
    let stock_type = match field.optional("InventoryStockType")?.as_deref() {
        None | Some("01") => Unrestricted,
        Some("02") => QualityInspection,
        Some("07") => Blocked,
        Some(other) => {
            return Err(field.invalid(
                "InventoryStockType",
                format!("`{other}` is not a stock type: 01 unrestricted use, 02 quality inspection, 07 blocked"),
            ));
        }
    };
    let here = Place {
        material: material.clone(),
        batch,
        plant,
        storage_location,
    };
    let plus = |place: &Place, stock: StockType| (place.clone(), stock, quantity);
    let minus = |place: &Place, stock: StockType| (place.clone(), stock, quantity.negated());

    let account: Option<String>;
    let changes = match movement_type.as_str() {
        // Goods receipt against a purchase order or a production order, and its reversal.
        "101" | "102" => {
            account = Some(match field.required("GoodsMovementRefDocType")?.as_str() {
                "B" => {
                    let order = field.required("PurchaseOrder")?;
                    let line = field.required("PurchaseOrderItem")?;
                    format!("purchase order {order}/{line}")
                }
                "F" => format!("production order {}", field.required("ManufacturingOrder")?),
                other => {
                    return Err(field.invalid(
                        "GoodsMovementRefDocType",
                        format!(
                            "`{other}` is not a reference this ERP receives against: B a purchase order, F a \
                             production order"
                        ),
                    ));
                }
            });
            if movement_type == "101" {
                vec![plus(&here, stock_type)]
            } else {
                vec![minus(&here, stock_type)]
            }
        }
        // Return delivery to the vendor.
        "122" => {
            account = Some(format!(
                "purchase order {}",
                field.required("PurchaseOrder")?
            ));
            vec![minus(&here, stock_type)]
        }
        // Receipt without a purchase order, and its reversal.
        "501" => {
            account = None;
            vec![plus(&here, stock_type)]
        }
        "502" => {
            account = None;
            vec![minus(&here, stock_type)]
        }
        // Goods issue to a production order, and the return from it.
        "261" | "262" => {
            account = Some(format!(
                "production order {}",
                field.required("ManufacturingOrder")?
            ));
            if movement_type == "261" {
                vec![minus(&here, Unrestricted)]
            } else {
                vec![plus(&here, Unrestricted)]
            }
        }
        // Goods issue to a cost center, scrapping, and their reversals.
        "201" | "551" | "202" | "552" => {
            account = Some(format!("cost center {}", field.required("CostCenter")?));
            if matches!(movement_type.as_str(), "201" | "551") {
                vec![minus(&here, Unrestricted)]
            } else {
                vec![plus(&here, Unrestricted)]
            }
        }
        // Transfer posting: storage location to storage location in the plant (311), plant to plant (301).
        "311" | "301" => {
            let to = if movement_type == "311" {
                Place {
                    storage_location: Some(field.required("IssuingOrReceivingStorageLoc")?),
                    ..here.clone()
                }
            } else {
                Place {
                    plant: field.required("IssuingOrReceivingPlant")?,
                    storage_location: field.optional("IssuingOrReceivingStorageLoc")?,
                    ..here.clone()
                }
            };
            account = Some(format!("to {}", to.location()));
            vec![minus(&here, stock_type), plus(&to, stock_type)]
        }
        // Status changes between unrestricted use, quality inspection and blocked stock, in place.
        "321" | "322" | "343" | "344" | "349" | "350" => {
            let (from, to) = match movement_type.as_str() {
                "321" => (QualityInspection, Unrestricted),
                "322" => (Unrestricted, QualityInspection),
                "343" => (Blocked, Unrestricted),
                "344" => (Unrestricted, Blocked),
                "349" => (Blocked, QualityInspection),
                _ => (QualityInspection, Blocked),
            };
            account = None;
            vec![minus(&here, from), plus(&here, to)]
        }
        other => {
            return Err(field.refusal(
                "unknown-movement-type",
                "GoodsMovementType",
                format!("movement type `{other}` is not one this ERP posts ({MOVEMENT_TYPES})"),
            ));
        }
    };
    Ok(Item {
        material,
        movement_type,
        quantity,
        unit,
        changes,
        account,
    })
}

/// `YYYY-MM-DD`, a day of the Gregorian calendar.
fn check_date(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let number = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let bad = || format!("`{text}` is not a date written YYYY-MM-DD");
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(bad());
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day == 0 || day > days {
        return Err(bad());
    }
    Ok(())
}

/// The fields of the header or of one item, read with refusals that name them.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    item: Option<usize>,
}

impl Fields<'_> {
    fn refusal(&self, code: &'static str, name: &'static str, why: impl Into<String>) -> Refusal {
        let refusal = Refusal::bad(code, why).field(name);
        match self.item {
            Some(i) => refusal.item(i),
            None => refusal,
        }
    }

    fn invalid(&self, name: &'static str, why: impl Into<String>) -> Refusal {
        self.refusal("invalid-field", name, why)
    }

    /// A string field that may be absent, `null` or empty (all three: not given).
    fn optional(&self, name: &'static str) -> Result<Option<String>, Refusal> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.invalid(
                name,
                format!("`{name}` is {other}, not a string (quantities too are strings: \"2950\")"),
            )),
        }
    }

    /// A string field that must be given and not empty.
    fn required(&self, name: &'static str) -> Result<String, Refusal> {
        self.optional(name)?.ok_or_else(|| {
            self.refusal(
                "missing-field",
                name,
                format!("`{name}` is missing, null or empty, and this posting needs it"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_calendar_days() {
        for good in ["2024-06-18", "2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(check_date(good).is_ok(), "{good}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-06-31",
            "2024-06-00",
            "18.06.2024",
            "2024-6-18",
            "2024-06-18T00:00:00",
            "",
        ] {
            assert!(check_date(bad).is_err(), "{bad}");
        }
    }
}
