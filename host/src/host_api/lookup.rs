//! A tenant's master-data tables, as plugins see them through `host.lookup`.
//!
//! Each table maps a key to a value: supplier part to internal item, X12 unit to UN/ECE Rec 20 unit, partner
//! location code to internal location. Tables are written as two-column CSV with a header row, so a planner can
//! keep them in a spreadsheet; [`Table::parse`] is the one reader of that format, for the configuration's files,
//! the admin API's uploads and the versions read back from JetStream alike.
//!
//! A running host keeps every tenant's tables in JetStream ([`crate::bus::lookups`]) and holds them in one
//! [`LiveLookups`] handle per tenant, which the service's watch updates when a table is loaded or rolled back on
//! any host. A plugin call takes one [`Lookups`] snapshot when it begins, so it sees one version of every table
//! whatever is loaded meanwhile; the tables it looked up and missed are noted as [`Miss`]es, so a message parked
//! for missing master data can say which tables it waits for.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};

/// Why a table was refused, and where: a stable code, the line (1-based, when one line is to blame) and what is
/// wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct CsvError {
    /// `not_utf8`, `not_csv`, `bad_header`, `wrong_columns`, `empty_key`, `duplicate_key` or `empty_table`.
    pub code: &'static str,
    /// The line the problem is on.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl CsvError {
    fn at(code: &'static str, line: u64, message: impl Into<String>) -> Self {
        Self {
            code,
            line: Some(line),
            message: message.into(),
        }
    }
}

/// One master-data table: its two column names, its rows in the order they were given, and — for a table kept
/// in the store — which version it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    columns: [String; 2],
    rows: Vec<(String, String)>,
    index: HashMap<String, usize>,
    version: u64,
    revision: u64,
}

impl Table {
    /// Reads a table: an optional UTF-8 byte order mark, a header row of two columns, then `key,value` rows.
    /// Spaces around a field are trimmed and blank lines skipped. Refused, naming the line: bytes that are not
    /// UTF-8, a field holding a control character, a header or row with another number of columns, an empty
    /// key, a key given twice, and a table with no rows.
    pub fn parse(bytes: &[u8]) -> Result<Table, CsvError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        if let Err(err) = std::str::from_utf8(bytes) {
            let at = err.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let column = at
                - bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1)
                + 1;
            return Err(CsvError::at(
                "not_utf8",
                line,
                format!("byte {column} of the line is not UTF-8 text; save the table as UTF-8 CSV"),
            ));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let mut columns = None;
        let mut rows = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut first_line: HashMap<usize, u64> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|err| {
                let line = err.position().map_or(0, csv::Position::line);
                CsvError::at("not_csv", line, format!("not CSV: {err}"))
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            if let Some((field, c)) = record
                .iter()
                .enumerate()
                .find_map(|(n, f)| f.chars().find(|c| c.is_control()).map(|c| (n + 1, c)))
            {
                return Err(CsvError::at(
                    "not_csv",
                    line,
                    format!(
                        "field {field} holds the control character {:?}; a table holds one-line text",
                        c
                    ),
                ));
            }
            if record.len() != 2 {
                let (code, what) = if columns.is_none() {
                    ("bad_header", "the header row")
                } else {
                    ("wrong_columns", "the row")
                };
                return Err(CsvError::at(
                    code,
                    line,
                    format!(
                        "{what} has {} column{}; a table has 2 (key,value)",
                        record.len(),
                        if record.len() == 1 { "" } else { "s" }
                    ),
                ));
            }
            let (key, value) = (&record[0], &record[1]);
            if columns.is_none() {
                // A byte order mark is not part of a column's name, wherever it is: one more than the one
                // stripped above, or inside quotes, would otherwise be written back at the start of the file,
                // where it is read as the file's mark and the name changes.
                let key = key.trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace());
                columns = Some([key.to_string(), value.to_string()]);
                continue;
            }
            if key.is_empty() {
                return Err(CsvError::at("empty_key", line, "the key is empty"));
            }
            if let Some(&at) = index.get(key) {
                let first = first_line.get(&at).copied().unwrap_or(0);
                return Err(CsvError::at(
                    "duplicate_key",
                    line,
                    format!("key {key:?} appears twice (first on line {first})"),
                ));
            }
            index.insert(key.to_string(), rows.len());
            first_line.insert(rows.len(), line);
            rows.push((key.to_string(), value.to_string()));
        }
        let Some(columns) = columns else {
            return Err(CsvError {
                code: "empty_table",
                line: None,
                message: "the table is empty; it needs a header row and at least one key,value row"
                    .into(),
            });
        };
        if rows.is_empty() {
            return Err(CsvError {
                code: "empty_table",
                line: None,
                message: "the table has a header row and no rows".into(),
            });
        }
        Ok(Table {
            columns,
            rows,
            index,
            version: 0,
            revision: 0,
        })
    }

    /// The table as CSV, the same whoever wrote it and however: its header row and rows, quoted only where a
    /// field needs it, lines ending `\n`. [`Table::parse`] reads it back to the same table; its sha256 is the
    /// version's digest.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let lines = std::iter::once((&self.columns[0], &self.columns[1]))
            .chain(self.rows.iter().map(|(k, v)| (k, v)));
        for (key, value) in lines {
            // Writing into memory cannot fail.
            let _ = writer.write_record([key, value]);
        }
        writer.into_inner().unwrap_or_default()
    }

    /// The value of `key`, if the table has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&at| self.rows[at].1.as_str())
    }

    /// The column names of the header row.
    pub fn columns(&self) -> &[String; 2] {
        &self.columns
    }

    /// The rows, in the order they were given.
    pub fn rows(&self) -> &[(String, String)] {
        &self.rows
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows (never, for a parsed table).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table's version in the tenant's store; 0 for a table read from a file, offline.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The store's revision of the table's pointer this table was read under: every load and rollback has a
    /// higher one, so it orders changes (0 offline).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The same table, as version `version` of the store, read under pointer revision `revision`.
    pub fn stamped(mut self, version: u64, revision: u64) -> Self {
        self.version = version;
        self.revision = revision;
        self
    }
}

/// The master-data tables of one tenant, by name: one consistent snapshot.
#[derive(Debug, Default, Clone)]
pub struct Lookups {
    tables: HashMap<String, Arc<Table>>,
}

impl Lookups {
    /// The table named `name`, if the tenant has one.
    pub fn get(&self, name: &str) -> Option<&Table> {
        self.tables.get(name).map(|t| &**t)
    }

    /// Adds or replaces a table.
    pub fn insert(&mut self, name: impl Into<String>, table: Table) {
        self.tables.insert(name.into(), Arc::new(table));
    }

    /// The tables' names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tables.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Loads table `name` from a CSV file ([`Table::parse`]); an error names the file and the line.
    pub fn load_csv(&mut self, name: &str, path: &Path) -> Result<()> {
        self.insert(name, read_csv(name, path)?);
        Ok(())
    }
}

/// Reads table `name` from a CSV file ([`Table::parse`]); an error names the file and the line.
pub fn read_csv(name: &str, path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading lookup table {name} from {}", path.display()))?;
    Table::parse(&bytes).with_context(|| format!("lookup table {name} in {}", path.display()))
}

/// A tenant's tables as they change: a snapshot replaced whole, one table at a time, and shared by every plugin
/// thread of the tenant's routes. Cloning it shares the same tables.
#[derive(Debug, Clone, Default)]
pub struct LiveLookups {
    current: Arc<RwLock<Arc<Lookups>>>,
}

impl LiveLookups {
    /// Tables that start as `lookups`.
    pub fn new(lookups: Lookups) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(lookups))),
        }
    }

    /// The tables now: what one plugin call sees from its start to its end.
    pub fn snapshot(&self) -> Arc<Lookups> {
        // A poisoned lock still holds a whole snapshot: a writer only ever swaps one in.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `table` in place of table `name` unless the one held is the same change or a later one (its
    /// revision is not lower); whether it was put. Calls already running keep the snapshot they began with.
    pub fn apply(&self, name: &str, table: Table) -> bool {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if current
            .get(name)
            .is_some_and(|held| held.revision() >= table.revision())
        {
            return false;
        }
        let mut next = Lookups::clone(&current);
        next.insert(name, table);
        *current = Arc::new(next);
        true
    }

    /// Drops table `name` unless the one held is a later change than `revision`; whether it was dropped.
    pub fn remove(&self, name: &str, revision: u64) -> bool {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if current
            .get(name)
            .is_none_or(|held| held.revision() >= revision)
        {
            return false;
        }
        let mut next = Lookups::clone(&current);
        next.tables.remove(name);
        *current = Arc::new(next);
        true
    }
}

/// A table a plugin call looked up and missed: it had no such key, or the tenant had no such table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Miss {
    /// The table's name.
    pub table: String,
    /// The version of the table the call saw; `None` when the tenant had no table of that name.
    pub version: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_column_table_loads_by_key() {
        let table = Table::parse(b"x12,rec20\nLB,LBR\n EA , H87\n").expect("parses");
        assert_eq!(table.get("LB"), Some("LBR"));
        assert_eq!(table.get("EA"), Some("H87"));
        assert_eq!(table.get("x12"), None, "the header is not a row");
        assert_eq!(table.columns(), &["x12".to_string(), "rec20".to_string()]);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn bad_tables_name_what_and_their_line() {
        let cases: &[(&[u8], &str, Option<u64>)] = &[
            (b"k,v\nLB,LBR\nEA\n", "wrong_columns", Some(3)),
            (b"k,v\nLB,LBR\nEA,a,b\n", "wrong_columns", Some(3)),
            (b"k,v\nLB,LBR\nLB,KGM\n", "duplicate_key", Some(3)),
            (b"k,v\n,LBR\n", "empty_key", Some(2)),
            (b"k\nLB,LBR\n", "bad_header", Some(1)),
            (b"{\"units\": {\"LB\": \"LBR\"}}\n", "bad_header", Some(1)),
            (b"k,v\n", "empty_table", None),
            (b"", "empty_table", None),
            (b"k,v\nLB,LBR\nEA,H\xff87\n", "not_utf8", Some(3)),
            (b"k,v\nLB,L\x00BR\n", "not_csv", Some(2)),
            (b"k,v\n\"LB\nX\",LBR\n", "not_csv", Some(2)),
        ];
        for (text, code, line) in cases {
            let err = Table::parse(text).expect_err("refused");
            assert_eq!(
                (err.code, err.line),
                (*code, *line),
                "{:?}: {err}",
                String::from_utf8_lossy(text)
            );
            if let Some(line) = line {
                assert!(
                    err.to_string().starts_with(&format!("line {line}: ")),
                    "{err}"
                );
            }
        }
        let err = Table::parse(b"k,v\nLB,LBR\nEA,H87\nLB,KGM\n").expect_err("duplicate");
        assert!(err.to_string().contains("first on line 2"), "{err}");
        let err = Table::parse(b"k,v\nLB,LBR\nEA,H\xff87\n").expect_err("not UTF-8");
        assert!(err.to_string().contains("byte 5"), "{err}");
    }

    #[test]
    fn a_byte_order_mark_and_blank_lines_are_not_rows() {
        let table = Table::parse(b"\xef\xbb\xbfx12,rec20\r\n\r\nLB,LBR\r\n").expect("parses");
        assert_eq!(table.columns()[0], "x12");
        assert_eq!(table.rows(), &[("LB".to_string(), "LBR".to_string())]);
    }

    #[test]
    fn the_normalised_csv_reads_back_to_the_same_table_and_is_the_same_however_written() {
        let table =
            Table::parse(b"part , item\n\"A,1\",\"say \"\"x\"\"\" \nB,2\n").expect("parses");
        assert_eq!(table.get("A,1"), Some("say \"x\""));
        let csv = table.to_csv();
        assert_eq!(Table::parse(&csv).expect("reads back"), table);
        let again =
            Table::parse(b"part,item\r\n\"A,1\",\"say \"\"x\"\"\"\r\n\"B\",2").expect("parses");
        assert_eq!(again.to_csv(), csv);
        assert_eq!(
            String::from_utf8(csv).expect("text"),
            "part,item\n\"A,1\",\"say \"\"x\"\"\"\nB,2\n"
        );
    }

    #[test]
    fn live_tables_take_only_later_changes_and_leave_taken_snapshots_alone() {
        let table = |text: &[u8], version, revision| {
            Table::parse(text)
                .expect("parses")
                .stamped(version, revision)
        };
        let live = LiveLookups::default();
        assert!(live.apply("units", table(b"k,v\nLB,LBR\n", 1, 5)));
        let before = live.snapshot();
        assert!(live.apply("units", table(b"k,v\nLB,LBR\nZZ,KGM\n", 2, 7)));
        assert!(
            !live.apply("units", table(b"k,v\nLB,LBR\n", 1, 6)),
            "an older change arriving late is ignored"
        );
        assert!(!live.apply("units", table(b"k,v\nLB,LBR\n", 1, 7)));
        assert_eq!(before.get("units").map(Table::version), Some(1));
        assert_eq!(before.get("units").and_then(|t| t.get("ZZ")), None);
        let after = live.snapshot();
        assert_eq!(after.get("units").and_then(|t| t.get("ZZ")), Some("KGM"));
        assert!(!live.remove("units", 7));
        assert!(live.remove("units", 8));
        assert!(live.snapshot().get("units").is_none());
    }
}
