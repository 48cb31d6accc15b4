//! Serde for the generated contract types, with the contract's own names.
//!
//! `bindgen!` derives `Serialize` and `Deserialize` on the Rust types it generates from the WIT, but Rust names
//! them its way: `ship_notice` fields and `ShipNotice` variants. These adapters sit between those derives and
//! any serde serializer or deserializer and use the WIT names instead (`ship-notice`), so canonical JSON is
//! written straight from the typed values a plugin returned, and read straight into the typed values an outbound
//! plugin is called with, in one pass, with no intermediate tree. Variants are `{"case": payload}`, or `"case"`
//! without a payload; options are `null` or their value; records are objects.
//!
//! The adapters know nothing of one contract version: they serve the types of every version the host binds.

mod de;
mod ser;

use std::cell::RefCell;
use std::fmt::{self, Display, Write as _};

use rustc_hash::FxHashMap;

pub use de::{PathError, deserialize, from_value};
pub use ser::serialize;

/// A Rust field name (`ship_to`, `r#from`) written as its WIT name (`ship-to`, `from`).
struct FieldName(&'static str);

impl Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0.trim_start_matches("r#").trim_end_matches('_');
        for c in name.chars() {
            f.write_char(if c == '_' { '-' } else { c })?;
        }
        Ok(())
    }
}

/// A Rust variant name (`ShipNotice`) written as its WIT case name (`ship-notice`).
struct CaseName(&'static str);

impl Display for CaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    f.write_char('-')?;
                }
                f.write_char(c.to_ascii_lowercase())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// The WIT name of a Rust field or variant name. The names come from the generated types, so there are only
/// as many as the contract has; each is converted once per thread and kept for the life of the process.
///
/// Every field of every event passes through here, so the cache is keyed by where the `'static` name lies
/// (its address and length) with a multiplicative hash, not by hashing its text: hashing the text with std's
/// SipHash was half of the time spent writing canonical JSON. The same text at two addresses only makes two
/// entries.
fn wit_name(rust: &'static str, case: bool) -> &'static str {
    type Key = (usize, usize, bool);
    thread_local! {
        static NAMES: RefCell<FxHashMap<Key, &'static str>> = RefCell::new(FxHashMap::default());
    }
    let key = (rust.as_ptr().addr(), rust.len(), case);
    NAMES.with(|names| {
        *names.borrow_mut().entry(key).or_insert_with(|| {
            let name = if case {
                CaseName(rust).to_string()
            } else {
                FieldName(rust).to_string()
            };
            Box::leak(name.into_boxed_str())
        })
    })
}

fn field_name(rust: &'static str) -> &'static str {
    wit_name(rust, false)
}

fn case_name(rust: &'static str) -> &'static str {
    wit_name(rust, true)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Scheme {
        BuyerPart,
        Other(String),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Line {
        line_number: String,
        r#from: Option<String>,
        scheme: Scheme,
        other: Scheme,
        pair: (String, u8),
        items: Vec<Option<Scheme>>,
    }

    const JSON: &str = r#"{"line-number":"10","from":null,"scheme":"buyer-part","other":{"other":"ZZ"},"pair":["a",1],"items":[null,"buyer-part"]}"#;

    fn line() -> Line {
        Line {
            line_number: "10".into(),
            r#from: None,
            scheme: Scheme::BuyerPart,
            other: Scheme::Other("ZZ".into()),
            pair: ("a".into(), 1),
            items: vec![None, Some(Scheme::BuyerPart)],
        }
    }

    #[test]
    fn rust_names_are_written_as_wit_names() {
        let mut out = Vec::new();
        super::serialize(&line(), &mut serde_json::Serializer::new(&mut out)).expect("serializes");
        assert_eq!(String::from_utf8(out).expect("utf-8"), JSON);
    }

    #[test]
    fn wit_names_are_read_back_into_the_rust_types() {
        let value: serde_json::Value = serde_json::from_str(JSON).expect("JSON");
        let back: Line = super::from_value(&value).expect("reads");
        assert_eq!(back, line());
    }

    #[test]
    fn a_wrong_value_is_named_by_its_json_path() {
        let mut value: serde_json::Value = serde_json::from_str(JSON).expect("JSON");
        value["items"][1] = serde_json::json!("sold-to");
        let err = super::from_value::<Line>(&value).expect_err("unknown case");
        assert_eq!(err.path, "$.items[1]", "{err}");
        assert!(err.message.contains("sold-to"), "{err}");
        value["items"][1] = serde_json::json!(null);
        value["line-number"] = serde_json::json!(10);
        let err = super::from_value::<Line>(&value).expect_err("a number");
        assert_eq!(err.path, "$.line-number", "{err}");
        let mut value: serde_json::Value = serde_json::from_str(JSON).expect("JSON");
        value.as_object_mut().expect("object").remove("scheme");
        let err = super::from_value::<Line>(&value).expect_err("missing");
        assert!(err.message.contains("missing field `scheme`"), "{err}");
    }
}
