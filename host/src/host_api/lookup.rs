//! A tenant's master-data tables, as plugins see them through `host.lookup`.
//!
//! Each table maps a key to a value: supplier part to internal item, X12 unit to UN/ECE Rec 20 unit, partner
//! location code to internal location. Tables are loaded from two-column CSV files with a header row, so a
//! planner can keep them in a spreadsheet.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The master-data tables of one tenant, by name.
#[derive(Debug, Default, Clone)]
pub struct Lookups {
    tables: HashMap<String, HashMap<String, String>>,
}

impl Lookups {
    /// The table named `name`, if the tenant has one.
    pub fn get(&self, name: &str) -> Option<&HashMap<String, String>> {
        self.tables.get(name)
    }

    /// Adds or replaces a table.
    pub fn insert(&mut self, name: impl Into<String>, rows: HashMap<String, String>) {
        self.tables.insert(name.into(), rows);
    }

    /// Loads table `name` from a CSV file: a header row, then `key,value` rows. A row with another number of
    /// columns, or a key given twice, is an error naming the line.
    pub fn load_csv(&mut self, name: &str, path: &Path) -> Result<()> {
        let text = std::fs::read(path)
            .with_context(|| format!("reading lookup table {name} from {}", path.display()))?;
        let rows = parse_csv(&text).with_context(|| format!("{}", path.display()))?;
        self.insert(name, rows);
        Ok(())
    }
}

fn parse_csv(text: &[u8]) -> Result<HashMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text);
    let mut rows = HashMap::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != 2 {
            bail!(
                "line {line}: expected 2 columns (key,value), found {}",
                record.len()
            );
        }
        let (key, value) = (&record[0], &record[1]);
        if key.is_empty() {
            bail!("line {line}: the key is empty");
        }
        if rows.insert(key.to_string(), value.to_string()).is_some() {
            bail!("line {line}: key {key:?} appears twice");
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_column_table_loads_by_key() {
        let rows = parse_csv(b"x12,rec20\nLB,LBR\n EA , H87\n").expect("parses");
        assert_eq!(rows.get("LB").map(String::as_str), Some("LBR"));
        assert_eq!(rows.get("EA").map(String::as_str), Some("H87"));
    }

    #[test]
    fn bad_rows_name_their_line() {
        let err = parse_csv(b"k,v\nLB,LBR\nEA\n").expect_err("short row");
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = parse_csv(b"k,v\nLB,LBR\nLB,KGM\n").expect_err("duplicate");
        assert!(err.to_string().contains("appears twice"), "{err}");
    }
}
