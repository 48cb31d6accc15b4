//! What the rules read from the tenant's master data, the same live tables the plugins see: which items are the
//! same item, and how a quantity in one unit reads in another.
//!
//! - **Items** (table `items`: supplier part → internal item). Two items match when they share an id (scheme and
//!   value), or when the cross-reference makes them the same internal item: an id value that is a key of the
//!   table stands for its internal item, and one that is a value of the table is that internal item. So
//!   Brightwire's `BW-HB1040-ZP` matches ACME's `FST-M10-40` whatever scheme each side writes it under. Without
//!   the table, only shared ids match.
//! - **Units** (table `unit-conversions`: key `<from>/<to>`, value the factor, `LBR/KGM` → `0.45359237`: one
//!   pound is 0.45359237 kilograms). A row serves both directions. Quantities are compared as exact fractions
//!   ([`Amount`]), so going the other way (dividing by the factor) loses nothing. Two quantities whose units
//!   no row links are not comparable; a row whose factor is not a positive decimal is bad master data
//!   ([`MasterDataError`]), reported as such where the comparison is reported, never a panic.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::decimal::Decimal;
use crate::host_api::lookup::{LiveLookups, Lookups};

/// The item cross-reference: supplier part → internal item.
pub const ITEMS: &str = "items";
/// Unit conversions: `<from>/<to>` → factor.
pub const UNIT_CONVERSIONS: &str = "unit-conversions";

/// A row of master data the rules cannot use: which table, which key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("master data table {table}, key {key:?}: {problem}")]
pub struct MasterDataError {
    /// The table.
    pub table: String,
    /// The row's key.
    pub key: String,
    /// What is wrong with its value.
    pub problem: String,
}

impl MasterDataError {
    /// A bad row of `table`.
    pub fn new(table: &str, key: &str, problem: impl Into<String>) -> Self {
        Self {
            table: table.to_string(),
            key: key.to_string(),
            problem: problem.into(),
        }
    }
}

/// The value part of an id as the rules write ids (`scheme:value`; a scheme with a payload is JSON,
/// `{"other":"ZZ"}:value`).
pub fn id_value(id: &str) -> &str {
    let rest = if id.starts_with('{') {
        id.find("}:").map_or(id, |at| &id[at + 1..])
    } else {
        id
    };
    rest.split_once(':').map_or(rest, |(_, value)| value)
}

/// An exact quantity in some unit: `numerator / denominator`, the denominator positive. A quantity converted
/// against a factor's direction divides by it; kept as a fraction, it compares exactly.
#[derive(Debug, Clone, Copy)]
pub struct Amount {
    numerator: Decimal,
    denominator: Decimal,
}

impl Amount {
    /// A decimal as it is.
    pub fn of(value: Decimal) -> Self {
        Self {
            numerator: value,
            denominator: Decimal::ONE,
        }
    }

    /// Zero.
    pub fn zero() -> Self {
        Self::of(Decimal::ZERO)
    }

    /// The sum; None on overflow.
    pub fn plus(self, other: Amount) -> Option<Amount> {
        let numerator = self
            .numerator
            .times(other.denominator)?
            .plus(other.numerator.times(self.denominator)?)?;
        Some(Amount {
            numerator,
            denominator: self.denominator.times(other.denominator)?,
        })
    }

    /// The product with a decimal; None on overflow.
    pub fn times(self, factor: Decimal) -> Option<Amount> {
        Some(Amount {
            numerator: self.numerator.times(factor)?,
            denominator: self.denominator,
        })
    }

    /// How it compares with `other`; None on overflow.
    pub fn compare(self, other: Amount) -> Option<Ordering> {
        self.numerator
            .times(other.denominator)?
            .partial_cmp(&other.numerator.times(self.denominator)?)
    }

    /// As a decimal, for a person: exact when it is one, else rounded to six places.
    pub fn shown(self) -> String {
        if self.denominator == Decimal::ONE {
            return self.numerator.normalized().to_string();
        }
        self.numerator
            .divided(self.denominator, 6)
            .map_or_else(|| "?".to_string(), |d| d.to_string())
    }
}

/// The tenant's master data as one rule decision reads it: one snapshot of the live tables, with the
/// cross-reference's internal items indexed.
#[derive(Debug)]
pub struct MasterData {
    tables: Arc<Lookups>,
    internal: HashSet<String>,
}

impl MasterData {
    /// Reads `tables`.
    pub fn new(tables: Arc<Lookups>) -> Self {
        let internal = tables
            .get(ITEMS)
            .map(|t| t.rows().iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default();
        Self { tables, internal }
    }

    /// No master data at all.
    pub fn none() -> Self {
        Self::new(Arc::default())
    }

    /// A table, if the tenant has it.
    pub fn table(&self, name: &str) -> Option<&crate::host_api::lookup::Table> {
        self.tables.get(name)
    }

    /// The internal items the cross-reference makes of an item's ids (`scheme:value`).
    fn internal_items<'a>(&'a self, ids: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
        let table = self.tables.get(ITEMS);
        ids.iter().filter_map(move |id| {
            let value = id_value(id);
            match table.and_then(|t| t.get(value)) {
                Some(internal) => Some(internal),
                None => self.internal.contains(value).then_some(value),
            }
        })
    }

    /// Whether two items (their ids, `scheme:value`) are the same item: a shared id, or the same internal item
    /// through the cross-reference.
    pub fn same_item(&self, a: &[String], b: &[String]) -> bool {
        if a.iter().any(|id| b.contains(id)) {
            return true;
        }
        let theirs: Vec<&str> = self.internal_items(b).collect();
        !theirs.is_empty() && self.internal_items(a).any(|i| theirs.contains(&i))
    }

    /// The tenant's own number for an item, as master data keyed by item names it (the `bom`): its internal
    /// item through the cross-reference, else its `internal` id, else its `buyer-part` id, else its first id.
    pub fn item_number(&self, ids: &[String]) -> Option<String> {
        if let Some(internal) = self.internal_items(ids).next() {
            return Some(internal.to_string());
        }
        ["internal:", "buyer-part:"]
            .iter()
            .find_map(|scheme| ids.iter().find_map(|id| id.strip_prefix(scheme)))
            .or_else(|| ids.first().map(|id| id_value(id)))
            .map(str::to_string)
    }

    /// `value` in `from` as an amount in `to`: as it is for the same unit; Ok(None) when no row of
    /// `unit-conversions` links the two units; an error for a row that is there but unusable.
    pub fn convert(
        &self,
        value: Decimal,
        from: &str,
        to: &str,
    ) -> Result<Option<Amount>, MasterDataError> {
        if from == to {
            return Ok(Some(Amount::of(value)));
        }
        let Some(table) = self.tables.get(UNIT_CONVERSIONS) else {
            return Ok(None);
        };
        let factor = |key: &str| -> Result<Option<Decimal>, MasterDataError> {
            let Some(text) = table.get(key) else {
                return Ok(None);
            };
            match Decimal::parse(text) {
                Some(f) if f > Decimal::ZERO => Ok(Some(f)),
                _ => Err(MasterDataError::new(
                    UNIT_CONVERSIONS,
                    key,
                    format!(
                        "factor {text:?} is not a positive decimal (one {} is how many {})",
                        key.split('/').next().unwrap_or("?"),
                        key.split('/').nth(1).unwrap_or("?"),
                    ),
                )),
            }
        };
        let overflow = || MasterDataError::new(UNIT_CONVERSIONS, from, "the conversion overflows");
        if let Some(f) = factor(&format!("{from}/{to}"))? {
            return Amount::of(value).times(f).map(Some).ok_or_else(overflow);
        }
        if let Some(f) = factor(&format!("{to}/{from}"))? {
            return Ok(Some(Amount {
                numerator: value,
                denominator: f,
            }));
        }
        Ok(None)
    }

    /// Quantities summed in unit `to`; `Ok(Err(unit))` names the first unit no row links to `to`.
    pub fn sum_in<'a>(
        &self,
        quantities: impl IntoIterator<Item = (Decimal, &'a str)>,
        to: &str,
    ) -> Result<Result<Amount, String>, MasterDataError> {
        let mut total = Amount::zero();
        for (value, unit) in quantities {
            let Some(converted) = self.convert(value, unit, to)? else {
                return Ok(Err(unit.to_string()));
            };
            total = total
                .plus(converted)
                .ok_or_else(|| MasterDataError::new(UNIT_CONVERSIONS, unit, "the sum overflows"))?;
        }
        Ok(Ok(total))
    }
}

/// The master data the rules read: a tenant's live tables, indexed again only when they change.
#[derive(Debug, Default)]
pub struct Tables {
    live: LiveLookups,
    read: Mutex<Option<Arc<MasterData>>>,
}

impl Tables {
    /// The rules' view of `live`.
    pub fn new(live: LiveLookups) -> Self {
        Self {
            live,
            read: Mutex::default(),
        }
    }

    /// The tables now.
    pub fn now(&self) -> Arc<MasterData> {
        let snapshot = self.live.snapshot();
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(data) = read.as_ref()
            && Arc::ptr_eq(&data.tables, &snapshot)
        {
            return data.clone();
        }
        let data = Arc::new(MasterData::new(snapshot));
        *read = Some(data.clone());
        data
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::host_api::lookup::Table;

    /// Master data holding `tables` (name, CSV).
    pub(crate) fn master_data(tables: &[(&str, &str)]) -> MasterData {
        let mut lookups = Lookups::default();
        for (name, csv) in tables {
            lookups.insert(*name, Table::parse(csv.as_bytes()).expect("table"));
        }
        MasterData::new(Arc::new(lookups))
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn items_match_by_a_shared_id_or_through_the_cross_reference() {
        let none = MasterData::none();
        let xref = master_data(&[(
            ITEMS,
            "supplier_part,internal_item\nBW-HB1040-ZP,FST-M10-40\nBW-HN10-ZP,FST-NUT-M10\n",
        )]);
        let ours = ids(&["internal:FST-M10-40"]);
        let theirs = ids(&["vendor-part:BW-HB1040-ZP"]);
        let both = ids(&["buyer-part:FST-M10-40", "vendor-part:BW-HB1040-ZP"]);
        assert!(
            !none.same_item(&ours, &theirs),
            "no cross-reference: ids differ"
        );
        assert!(none.same_item(&both, &theirs), "a shared id");
        assert!(
            xref.same_item(&ours, &theirs),
            "the supplier's part is our item"
        );
        assert!(xref.same_item(&theirs, &ours));
        assert!(
            xref.same_item(&ids(&["buyer-part:FST-M10-40"]), &ours),
            "an internal item under another scheme"
        );
        assert!(!xref.same_item(&ids(&["vendor-part:BW-HN10-ZP"]), &ours));
        assert!(!xref.same_item(&ids(&["internal:OTHER"]), &ids(&["internal:ELSE"])));
        assert_eq!(xref.item_number(&theirs).as_deref(), Some("FST-M10-40"));
        assert_eq!(
            none.item_number(&ids(&["gtin:1", "buyer-part:B", "internal:I"]))
                .as_deref(),
            Some("I")
        );
        assert_eq!(id_value(r#"{"other":"ZZ"}:X:1"#), "X:1");
        assert_eq!(id_value("vendor-part:A:B"), "A:B");
    }

    #[test]
    fn units_convert_through_a_row_either_way_and_exactly() {
        let data = master_data(&[(UNIT_CONVERSIONS, "from_to,factor\nLBR/KGM,0.45359237\n")]);
        let d = |t| Decimal::parse(t).expect(t);
        let kg = data
            .convert(d("400"), "LBR", "KGM")
            .expect("row")
            .expect("factor");
        assert_eq!(kg.shown(), "181.436948");
        let lb = data
            .convert(d("181.436948"), "KGM", "LBR")
            .expect("row")
            .expect("factor");
        assert_eq!(lb.compare(Amount::of(d("400"))), Some(Ordering::Equal));
        assert_eq!(lb.shown(), "400");
        assert!(
            data.convert(d("1"), "KGM", "H87")
                .expect("no row")
                .is_none()
        );
        assert!(
            MasterData::none()
                .convert(d("1"), "LBR", "KGM")
                .expect("no table")
                .is_none()
        );
        let sum = data
            .sum_in([(d("100"), "KGM"), (d("400"), "LBR")], "KGM")
            .expect("rows")
            .expect("units");
        assert_eq!(sum.shown(), "281.436948");
        assert!(
            matches!(data.sum_in([(d("1"), "H87")], "KGM"), Ok(Err(unit)) if unit == "H87"),
            "a unit no row links"
        );
    }

    #[test]
    fn a_bad_conversion_row_is_an_error_naming_table_key_and_value() {
        let data = master_data(&[(
            UNIT_CONVERSIONS,
            "from_to,factor\nLBR/KGM,\"0,45\"\nTNE/KGM,-1000\n",
        )]);
        let d = |t| Decimal::parse(t).expect(t);
        let err = data.convert(d("1"), "LBR", "KGM").expect_err("bad row");
        assert_eq!(err.table, UNIT_CONVERSIONS);
        assert_eq!(err.key, "LBR/KGM");
        assert!(
            err.to_string()
                .contains("\"0,45\" is not a positive decimal"),
            "{err}"
        );
        let err = data
            .convert(d("1"), "KGM", "TNE")
            .expect_err("negative factor");
        assert_eq!(err.key, "TNE/KGM");
    }
}
