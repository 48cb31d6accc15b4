//! UN/ECE Recommendation 20 units, as the canonical model carries them, to the X12 unit codes (element 355) an
//! 850 needs: the tenant's `x12-units-out` table first, then the SDK's table of X12 codes read backwards, so that
//! an order the inbound X12 plugins read and this plugin writes keeps its units.

use millwright_sdk::host::{self, LookupError};
use millwright_sdk::types::MappingError;
use millwright_sdk::x12::BUILT_IN_UNITS;

use crate::path::Path;

/// The master-data table from Rec 20 codes to X12 unit codes, consulted before the built-in table.
pub const TABLE: &str = "x12-units-out";

/// The X12 unit code for a Rec 20 code from the built-in table: the first X12 code that the SDK's
/// [`BUILT_IN_UNITS`] reads as that Rec 20 code (`H87` is `EA`, not `PC`; `C62` is `UN`; `KGM` is `KG`).
pub fn built_in(rec20: &str) -> Option<&'static str> {
    BUILT_IN_UNITS
        .iter()
        .find(|(_, code)| *code == rec20)
        .map(|(x12, _)| *x12)
}

/// Resolves units for one order, asking the host once per code.
#[derive(Debug, Default)]
pub struct Units {
    resolved: Vec<(String, String)>,
}

impl Units {
    /// The X12 unit code for the Rec 20 code `rec20` found at `at`.
    pub fn resolve(&mut self, rec20: &str, at: &Path) -> Result<String, MappingError> {
        if let Some((_, x12)) = self.resolved.iter().find(|(code, _)| code == rec20) {
            return Ok(x12.clone());
        }
        if rec20.trim().is_empty() {
            return Err(at.invalid(
                "missing-unit",
                "the quantity has no unit, and PO103 needs one",
            ));
        }
        let from_table = match host::lookup(TABLE, rec20) {
            Ok(found) => found,
            Err(LookupError::NoSuchTable(_)) => None,
            Err(LookupError::Unavailable(why)) => {
                return Err(at.transient(
                    "lookup-unavailable",
                    format!("the `{TABLE}` table could not be read: {why}"),
                ));
            }
        };
        let x12 = match from_table {
            Some(row) => {
                let code = row.trim();
                if code.len() != 2
                    || !code
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return Err(at.unknown(
                        "invalid-table-value",
                        format!(
                            "the `{TABLE}` table maps unit `{rec20}` to `{row}`, which is not an X12 unit code \
                             (two upper-case letters or digits, element 355); correct the row"
                        ),
                    ));
                }
                code.to_owned()
            }
            None => built_in(rec20).map(str::to_owned).ok_or_else(|| {
                at.unknown(
                    "unknown-unit",
                    format!(
                        "unit `{rec20}` is neither in the tenant's `{TABLE}` table nor in the built-in table; add \
                         it to `{TABLE}` with its X12 unit code (element 355)"
                    ),
                )
            })?,
        };
        self.resolved.push((rec20.to_owned(), x12.clone()));
        Ok(x12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_reads_the_sdks_backwards_and_prefers_the_first_code() {
        assert_eq!(built_in("H87"), Some("EA"));
        assert_eq!(built_in("C62"), Some("UN"));
        assert_eq!(built_in("KGM"), Some("KG"));
        assert_eq!(built_in("LBR"), Some("LB"));
        assert_eq!(built_in("CS"), Some("CA"));
        assert_eq!(built_in("XPL"), None);
        // Every built-in code goes back to the Rec 20 code it came from.
        for (_, rec20) in BUILT_IN_UNITS {
            let x12 = built_in(rec20).expect("every Rec 20 code of the table has an X12 code");
            assert_eq!(millwright_sdk::x12::built_in_unit(x12), Some(*rec20));
        }
    }
}
