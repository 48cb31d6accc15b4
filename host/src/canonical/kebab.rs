//! Serde for the generated contract types, with the contract's own names.
//!
//! `bindgen!` derives `Serialize` on the Rust types it generates from the WIT, but Rust names them its way:
//! `ship_notice` fields and `ShipNotice` variants. This adapter sits between those derives and any serde
//! serializer and writes the WIT names back (`ship-notice`), so canonical JSON comes straight from the typed
//! values a plugin returned, in one pass, with no intermediate tree. Variants become `{"case": payload}`, or
//! `"case"` without a payload; options become `null` or their value; records become objects.

use std::cell::RefCell;
use std::fmt::{self, Display, Write as _};

use rustc_hash::FxHashMap;
use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeSeq, Serializer};

/// Serializes `value` through `serializer` with WIT (kebab-case) names.
pub fn serialize<T: Serialize + ?Sized, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.serialize(Kebab(serializer))
}

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

/// A value whose own serialization goes through the adapter too.
struct Nested<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Nested<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Kebab(serializer))
    }
}

struct Kebab<S>(S);

/// Records become maps keyed by their WIT field names.
struct Record<M>(M);

/// Lists and tuples stay sequences of adapted values.
struct List<Q>(Q);

fn unsupported<E: ser::Error>(what: &str) -> E {
    E::custom(format!("{what} has no canonical JSON form"))
}

impl<S: Serializer> Serializer for Kebab<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = List<S::SerializeSeq>;
    type SerializeTuple = List<S::SerializeSeq>;
    type SerializeTupleStruct = List<S::SerializeSeq>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Record<S::SerializeMap>;
    type SerializeStruct = Record<S::SerializeMap>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.0.serialize_i64(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.0.serialize_u64(v)
    }
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.0.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.0.serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.0.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Nested(value))
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(case_name(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let mut map = self.0.serialize_map(Some(1))?;
        map.serialize_entry(case_name(variant), &Nested(value))?;
        map.end()
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(List)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_seq(Some(len)).map(List)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_seq(Some(len)).map(List)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Record)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_map(Some(len)).map(Record)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(unsupported("a struct variant"))
    }
}

impl<Q: SerializeSeq> SerializeSeq for List<Q> {
    type Ok = Q::Ok;
    type Error = Q::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Q::Error> {
        self.0.serialize_element(&Nested(value))
    }
    fn end(self) -> Result<Q::Ok, Q::Error> {
        self.0.end()
    }
}

impl<Q: SerializeSeq> ser::SerializeTuple for List<Q> {
    type Ok = Q::Ok;
    type Error = Q::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Q::Error> {
        self.0.serialize_element(&Nested(value))
    }
    fn end(self) -> Result<Q::Ok, Q::Error> {
        self.0.end()
    }
}

impl<Q: SerializeSeq> ser::SerializeTupleStruct for List<Q> {
    type Ok = Q::Ok;
    type Error = Q::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Q::Error> {
        self.0.serialize_element(&Nested(value))
    }
    fn end(self) -> Result<Q::Ok, Q::Error> {
        self.0.end()
    }
}

impl<M: SerializeMap> SerializeMap for Record<M> {
    type Ok = M::Ok;
    type Error = M::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), M::Error> {
        self.0.serialize_key(&Nested(key))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), M::Error> {
        self.0.serialize_value(&Nested(value))
    }
    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

impl<M: SerializeMap> ser::SerializeStruct for Record<M> {
    type Ok = M::Ok;
    type Error = M::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(field_name(key), &Nested(value))
    }
    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    #[derive(Serialize)]
    enum Scheme {
        BuyerPart,
        Other(String),
    }

    #[derive(Serialize)]
    struct Line {
        line_number: String,
        r#from: Option<String>,
        scheme: Scheme,
        other: Scheme,
        pair: (String, u8),
    }

    #[test]
    fn rust_names_are_written_as_wit_names() {
        let line = Line {
            line_number: "10".into(),
            r#from: None,
            scheme: Scheme::BuyerPart,
            other: Scheme::Other("ZZ".into()),
            pair: ("a".into(), 1),
        };
        let mut out = Vec::new();
        super::serialize(&line, &mut serde_json::Serializer::new(&mut out)).expect("serializes");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"line-number":"10","from":null,"scheme":"buyer-part","other":{"other":"ZZ"},"pair":["a",1]}"#
        );
    }
}
