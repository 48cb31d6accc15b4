//! Reading a JSON document so that every problem has an address: a small parser that keeps the byte offset of
//! every value and numbers as their text, and typed accessors that carry the JSON path (`$.lines[3].quantity`)
//! into every diagnostic, with the line and byte offset beside it.
//!
//! A general-purpose parser would read `1e400` as infinity (or fail without saying where) and a quantity
//! `500.000` as the float `500`; here a number stays the text the sender wrote, so a quantity sent as a JSON
//! number is refused at its path, never rounded. Duplicate keys are refused too: which one the sender meant is
//! not knowable. Nesting is limited, so a hostile document cannot exhaust the plugin's stack.
//!
//! This file is compiled into both JSON plugins, erp-orders-json and qms-quality-json (the latter includes it
//! by `#[path]`): the plugins' workspace has no shared crate for mapping internals.

#![allow(dead_code)]

use millwright_sdk::host::{self, LookupError};
use millwright_sdk::types::{MappingError, Position, Timestamp};

/// Arrays and objects nested deeper than this are refused; business documents nest a handful of levels.
const MAX_DEPTH: usize = 64;

/// A JSON value with the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub offset: usize,
    pub value: Value,
}

/// A JSON value; numbers are kept as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Value {
    /// What a person calls this kind of value, for "expected …, found …".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "true or false",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A parsed document: the text (for line numbers) and its root value.
#[derive(Debug)]
pub struct Document<'t> {
    text: &'t str,
    pub root: Node,
}

impl<'t> Document<'t> {
    /// Parses a payload: UTF-8 (a byte-order mark is allowed), one JSON value, nothing after it but
    /// whitespace. A syntax error is `invalid-document` at its line and byte offset, with the path of the
    /// value being read when it broke off.
    pub fn parse(payload: &'t [u8]) -> Result<Self, MappingError> {
        let text = std::str::from_utf8(payload).map_err(|e| {
            let at = e.valid_up_to();
            syntax_error(
                payload,
                at,
                "$",
                format!("the document is not UTF-8: byte {at} starts an invalid sequence"),
            )
        })?;
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut parser = Parser {
            bytes: payload,
            pos: bom,
            path: vec![Step::Root],
        };
        let root = parser.document()?;
        Ok(Document { text, root })
    }

    /// The root value, addressed `$`.
    pub fn root(&self) -> At<'_> {
        At {
            node: &self.root,
            path: "$".to_owned(),
            text: self.text,
        }
    }
}

/// A value and where it is: the JSON path and, through the document's text, its line and byte offset.
#[derive(Debug, Clone)]
pub struct At<'d> {
    pub node: &'d Node,
    pub path: String,
    text: &'d str,
}

impl<'d> At<'d> {
    /// Where this value is, as a diagnostic's position.
    pub fn position(&self) -> Position {
        position(self.text.as_bytes(), self.node.offset, &self.path)
    }

    /// An `invalid-document` error at this value; the message is prefixed with the path.
    pub fn invalid(&self, message: impl std::fmt::Display) -> MappingError {
        MappingError::invalid(format!("{}: {message}", self.path), self.position())
    }

    /// An `unknown-reference` error at this value; the message is prefixed with the path.
    pub fn unknown(&self, message: impl std::fmt::Display) -> MappingError {
        MappingError::unknown_reference(format!("{}: {message}", self.path), self.position())
    }

    fn expected(&self, what: &str) -> MappingError {
        self.invalid(format!("expected {what}, found {}", self.node.value.kind()))
    }

    /// This value as an object.
    pub fn object(&self) -> Result<Object<'d>, MappingError> {
        match &self.node.value {
            Value::Object(fields) => Ok(Object {
                at: self.clone(),
                fields,
            }),
            _ => Err(self.expected("an object")),
        }
    }

    /// This value's items, when it is an array.
    pub fn items(&self) -> Result<Vec<At<'d>>, MappingError> {
        match &self.node.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, node)| At {
                    node,
                    path: format!("{}[{i}]", self.path),
                    text: self.text,
                })
                .collect()),
            _ => Err(self.expected("an array")),
        }
    }

    /// A string, cleaned: trimmed, whitespace runs made one space; other control characters are refused.
    /// `None` for `null` or an empty string.
    pub fn text(&self) -> Result<Option<String>, MappingError> {
        match &self.node.value {
            Value::Null => Ok(None),
            Value::String(s) => {
                let clean = clean_text(s).map_err(|c| {
                    self.invalid(format!(
                        "holds the control character U+{:04X}, which no canonical value may hold",
                        c as u32
                    ))
                })?;
                Ok(Some(clean).filter(|s| !s.is_empty()))
            }
            _ => Err(self.expected("a string")),
        }
    }

    /// A decimal written as a string, exactly as sent (`"500"`, `"0.084"`, `"-3"` when `signed`). A JSON
    /// number is refused, whatever its value: it would be read as a float.
    pub fn decimal(&self, signed: bool) -> Result<String, MappingError> {
        let example = "a decimal string such as \"500.000\"";
        match &self.node.value {
            Value::Number(n) => Err(self.invalid(format!(
                "expected {example}, found the JSON number {n}; quantities and amounts are sent as strings, \
                 never as numbers, so no digit is lost to floating point"
            ))),
            Value::String(s) => {
                let value = s.trim();
                if !is_decimal(value) {
                    return Err(self.invalid(format!(
                        "`{s}` is not a decimal (digits with at most one `.`, such as 500.000)"
                    )));
                }
                if value.starts_with('-') && !signed {
                    return Err(self.invalid(format!("`{s}` is negative, and this value cannot be")));
                }
                Ok(value.to_owned())
            }
            _ => Err(self.expected(example)),
        }
    }

    /// An instant: RFC 3339 / ISO 8601 `2024-06-11T14:30:00-05:00` (or `Z`; fractions of a second dropped).
    /// A time without an offset is read in the profile's `timezone`, UTC when unset.
    pub fn timestamp(&self) -> Result<Timestamp, MappingError> {
        let Some(text) = self.text()? else {
            return Err(self.expected("a date and time such as \"2024-06-11T14:30:00-05:00\""));
        };
        parse_timestamp(&text).map_err(|why| self.invalid(why))
    }

    /// A calendar date `YYYY-MM-DD`.
    pub fn date(&self) -> Result<String, MappingError> {
        let Some(text) = self.text()? else {
            return Err(self.expected("a date such as \"2024-06-14\""));
        };
        if is_iso_date(&text) {
            Ok(text)
        } else {
            Err(self.invalid(format!(
                "`{text}` is not a date YYYY-MM-DD such as 2024-06-14"
            )))
        }
    }
}

/// An object and where it is.
#[derive(Debug, Clone)]
pub struct Object<'d> {
    pub at: At<'d>,
    fields: &'d [(String, Node)],
}

impl<'d> Object<'d> {
    /// The member named `key`, when present (even when `null`).
    pub fn get(&self, key: &str) -> Option<At<'d>> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(k, node)| At {
                node,
                path: member_path(&self.at.path, k),
                text: self.at.text,
            })
    }

    /// Whether the object has a member named `key`.
    pub fn has(&self, key: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == key)
    }

    /// The member named `key`, which must be present and not `null`.
    pub fn required(&self, key: &str) -> Result<At<'d>, MappingError> {
        match self.get(key) {
            Some(at) if at.node.value != Value::Null => Ok(at),
            Some(at) => Err(at.invalid("is null, and it is required")),
            None => Err(self
                .at
                .invalid(format!("has no `{key}`, and it is required"))),
        }
    }

    /// A required, non-empty string.
    pub fn string(&self, key: &str) -> Result<String, MappingError> {
        let at = self.required(key)?;
        at.text()?
            .ok_or_else(|| at.invalid("is empty, and it is required"))
    }

    /// An optional string: `None` when absent, `null` or empty.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>, MappingError> {
        match self.get(key) {
            Some(at) => at.text(),
            None => Ok(None),
        }
    }

    /// An optional member that is present and not `null`.
    pub fn opt(&self, key: &str) -> Option<At<'d>> {
        self.get(key).filter(|at| at.node.value != Value::Null)
    }
}

fn member_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!(
            "{parent}['{}']",
            key.replace('\\', "\\\\").replace('\'', "\\'")
        )
    }
}

fn position(bytes: &[u8], offset: usize, path: &str) -> Position {
    let offset = offset.min(bytes.len());
    let line = bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
    Position::new()
        .with_json_path(path)
        .with_line(u32::try_from(line).unwrap_or(u32::MAX))
        .with_byte_offset(offset as u64)
}

fn syntax_error(bytes: &[u8], offset: usize, path: &str, message: String) -> MappingError {
    MappingError::invalid(message, position(bytes, offset, path))
}

/// One step of the path to the value being parsed.
#[derive(Debug, Clone)]
enum Step {
    Root,
    Key(String),
    Index(usize),
}

struct Parser<'b> {
    bytes: &'b [u8],
    pos: usize,
    path: Vec<Step>,
}

impl Parser<'_> {
    fn path(&self) -> String {
        let mut path = String::new();
        for step in &self.path {
            match step {
                Step::Root => path.push('$'),
                Step::Key(k) => path = member_path(&path, k),
                Step::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        path
    }

    fn error(&self, message: impl Into<String>) -> MappingError {
        let path = self.path();
        let found = match self.bytes.get(self.pos) {
            None => "the end of the document".to_owned(),
            Some(b) if b.is_ascii_graphic() => format!("`{}`", *b as char),
            Some(b) => format!("byte 0x{b:02X}"),
        };
        syntax_error(
            self.bytes,
            self.pos,
            &path,
            format!(
                "the document is not valid JSON: {}, found {found} (in {path})",
                message.into()
            ),
        )
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn document(&mut self) -> Result<Node, MappingError> {
        self.skip_whitespace();
        let root = self.value(0)?;
        self.skip_whitespace();
        if self.pos < self.bytes.len() {
            self.path = vec![Step::Root];
            return Err(self.error("expected the end of the document after the value"));
        }
        Ok(root)
    }

    fn value(&mut self, depth: usize) -> Result<Node, MappingError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!(
                "arrays and objects nest more than {MAX_DEPTH} deep"
            )));
        }
        let offset = self.pos;
        let value = match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            _ => return Err(self.error("expected a value")),
        };
        Ok(Node { offset, value })
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, MappingError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error(format!("expected `{word}`")))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, MappingError> {
        self.pos += 1;
        let mut fields: Vec<(String, Node)> = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            self.skip_whitespace();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a member name in double quotes"));
            }
            let key_at = self.pos;
            let key = self.string()?;
            if fields.iter().any(|(k, _)| *k == key) {
                self.pos = key_at;
                self.path.push(Step::Key(key.clone()));
                return Err(self.error(format!("the member `{key}` appears twice in one object")));
            }
            self.skip_whitespace();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected `:` after the member name"));
            }
            self.pos += 1;
            self.skip_whitespace();
            self.path.push(Step::Key(key.clone()));
            let value = self.value(depth + 1)?;
            self.path.pop();
            fields.push((key, value));
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, MappingError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            self.path.push(Step::Index(items.len()));
            let item = self.value(depth + 1)?;
            self.path.pop();
            items.push(item);
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, MappingError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The payload is valid UTF-8 and the run stops only at ASCII bytes, so it is whole characters.
            out.push_str(std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default());
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => {
                    return Err(self.error("a control character must be escaped inside a string"));
                }
                None => return Err(self.error("expected the closing `\"` of the string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char, MappingError> {
        let c = match self.bytes.get(self.pos) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if !self.bytes[self.pos..].starts_with(b"\\u") {
                        return Err(self.error("expected the low surrogate `\\uDC00`–`\\uDFFF`"));
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error("expected a low surrogate `\\uDC00`–`\\uDFFF`"));
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                return char::from_u32(code).ok_or_else(|| {
                    self.error("expected a Unicode scalar value, not a lone surrogate")
                });
            }
            _ => {
                return Err(
                    self.error("expected an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX")
                );
            }
        };
        self.pos += 1;
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, MappingError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits after \\u"))?;
        let value =
            u32::from_str_radix(digits, 16).map_err(|_| self.error("expected four hex digits"))?;
        self.pos += 4;
        Ok(value)
    }

    fn number(&mut self) -> Result<String, MappingError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos > from
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        if self.bytes.get(self.pos) == Some(&b'0') {
            self.pos += 1;
            if self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                return Err(self.error("a number may not have a leading zero"));
            }
        } else if !digits(self) {
            return Err(self.error("expected a digit"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        Ok(String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned())
    }
}

// ---- values ------------------------------------------------------------------------------------------------

/// The partner profile key naming the zone of times written without an offset.
pub const TIMEZONE_KEY: &str = "timezone";

/// Trimmed, with every run of whitespace one space; `Err` carries the first other control character.
pub fn clean_text(raw: &str) -> Result<String, char> {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split([' ', '\t', '\n', '\r']) {
        if word.is_empty() {
            continue;
        }
        if let Some(c) = word.chars().find(|c| c.is_control()) {
            return Err(c);
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Ok(out)
}

/// An optional `-`, digits and at most one `.`, with at least one digit.
pub fn is_decimal(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let mut points = 0;
    let mut any_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => any_digit = true,
            b'.' => points += 1,
            _ => return false,
        }
    }
    any_digit && points <= 1
}

/// `YYYY-MM-DD` with a month 01–12 and a day that month has.
pub fn is_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|_| s.bytes().all(|c| c.is_ascii_digit()))
    };
    let (Some(year), Some(month), Some(day)) = (num(&text[..4]), num(&text[5..7]), num(&text[8..]))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// An RFC 3339 / ISO 8601 date and time as a UTC timestamp with the written offset kept.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    let bad = || {
        format!(
            "`{text}` is not a date and time such as 2024-06-11T14:30:00-05:00 (date, `T`, time, and `Z` or \
             an offset)"
        )
    };
    let (date, rest) = text.split_once(['T', 't']).ok_or_else(bad)?;
    if !is_iso_date(date) {
        return Err(bad());
    }
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let time = time.split('.').next().unwrap_or_default();
    let parts: Vec<&str> = time.split(':').collect();
    let two = |s: &&str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let hhmmss = match parts.as_slice() {
        [h, m] if two(h) && two(m) => format!("{h}{m}"),
        [h, m, s] if two(h) && two(m) && two(s) => format!("{h}{m}{s}"),
        _ => return Err(bad()),
    };
    let zone = match zone {
        "" => host::config(TIMEZONE_KEY).unwrap_or_else(|| "UTC".to_owned()),
        "Z" | "z" => "UTC".to_owned(),
        offset
            if offset.len() == 6
                && offset.as_bytes()[3] == b':'
                && offset[1..3]
                    .bytes()
                    .chain(offset[4..].bytes())
                    .all(|b| b.is_ascii_digit()) =>
        {
            offset.to_owned()
        }
        _ => return Err(bad()),
    };
    host::local_to_utc(&date.replace('-', ""), &hhmmss, &zone)
        .map_err(|why| format!("`{text}`: {why}"))
}

/// Resolves a system's unit codes to UN/ECE Rec 20: the tenant's `units` table first, then a built-in table.
#[derive(Debug)]
pub struct Units {
    built_in: &'static [(&'static str, &'static str)],
    resolved: Vec<(String, String)>,
}

impl Units {
    /// The master-data table consulted first.
    pub const TABLE: &'static str = "units";

    /// A resolver backed by `built_in` (codes matched case-insensitively); make one per document.
    pub fn new(built_in: &'static [(&'static str, &'static str)]) -> Self {
        Units {
            built_in,
            resolved: Vec::new(),
        }
    }

    /// The Rec 20 code of the unit written at `at`: `unknown-reference` naming the code and the table when
    /// neither table has it, `transient` when the table cannot be read just now.
    pub fn resolve(&mut self, at: &At) -> Result<String, MappingError> {
        let Some(code) = at.text()? else {
            return Err(at.invalid("is empty; expected a unit code such as EA or KG"));
        };
        if let Some((_, rec20)) = self.resolved.iter().find(|(c, _)| *c == code) {
            return Ok(rec20.clone());
        }
        let table = Self::TABLE;
        let from_table = match host::lookup(table, &code) {
            Ok(found) => found,
            Err(LookupError::NoSuchTable(_)) => None,
            Err(LookupError::Unavailable(why)) => {
                return Err(MappingError::transient(
                    format!("the `{table}` table could not be read: {why}"),
                    at.position(),
                ));
            }
        };
        let upper = code.to_ascii_uppercase();
        let rec20 = from_table
            .or_else(|| {
                self.built_in
                    .iter()
                    .find(|(c, _)| *c == upper)
                    .map(|(_, r)| (*r).to_owned())
            })
            .ok_or_else(|| {
                at.unknown(format!(
                    "unit `{code}` is neither in the tenant's `{table}` table nor in the built-in table; add it \
                     to `{table}` with its UN/ECE Rec 20 code"
                ))
            })?;
        self.resolved.push((code, rec20.clone()));
        Ok(rec20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, MappingError> {
        Document::parse(text.as_bytes()).map(|d| d.root)
    }

    fn error(text: &str) -> Position {
        parse(text).expect_err("invalid").diagnostic().at.clone()
    }

    #[test]
    fn values_keep_numbers_as_written_and_offsets() {
        let root =
            parse("{\"a\": [1e400, -0.5, \"x\\u00e9\\ud83d\\ude00\", true, null]}").expect("valid");
        let Value::Object(fields) = root.value else {
            panic!("an object")
        };
        let Value::Array(items) = &fields[0].1.value else {
            panic!("an array")
        };
        assert_eq!(items[0].value, Value::Number("1e400".to_owned()));
        assert_eq!(items[0].offset, 7);
        assert_eq!(items[1].value, Value::Number("-0.5".to_owned()));
        assert_eq!(items[2].value, Value::String("xé😀".to_owned()));
    }

    #[test]
    fn syntax_errors_carry_line_offset_and_the_path_being_read() {
        let at = error("{\n \"lines\": [\n  {\"q\": \"1\"},\n  {\"q\": 01}\n ]\n}");
        assert_eq!(at.json_path.as_deref(), Some("$.lines[1].q"));
        assert_eq!(at.line, Some(4));
        let at = error("{\"a\": 1");
        assert_eq!(at.byte_offset, Some(7));
        assert_eq!(at.json_path.as_deref(), Some("$"));
        let at = error("{\"a\": 1, \"a\": 2}");
        assert_eq!(at.json_path.as_deref(), Some("$.a"));
        assert_eq!(at.byte_offset, Some(9));
        assert!(parse("[1] x").is_err());
        assert!(parse("\"a\u{1}\"").is_err());
        assert!(parse("\"\\ud800\"").is_err());
        assert!(parse(&"[".repeat(10_000)).is_err());
    }

    #[test]
    fn paths_bracket_names_that_are_not_identifiers() {
        assert_eq!(member_path("$", "lines"), "$.lines");
        assert_eq!(member_path("$", "hold-id"), "$['hold-id']");
        assert_eq!(member_path("$", "it's"), "$['it\\'s']");
    }

    #[test]
    fn dates_and_times() {
        assert!(
            is_iso_date("2024-02-29") && !is_iso_date("2023-02-29") && !is_iso_date("2024-6-1")
        );
        let t = parse_timestamp("2024-06-11T14:30:00+02:00").expect("valid");
        assert_eq!(
            (t.utc.as_str(), t.original_offset_minutes),
            ("2024-06-11T12:30:00Z", Some(120))
        );
        for bad in [
            "2024-06-11",
            "2024-06-11T14:30:00+0200",
            "2024-06-11T1430Z",
            "/Date(1718150400000)/",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
