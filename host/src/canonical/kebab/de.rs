//! Reading: any serde deserializer into the generated types, with WIT names.
//!
//! The derived `Deserialize` impls ask for struct fields and enum variants by their Rust names; this adapter
//! reads the WIT name from the input and hands the derive the Rust name it knows (`ship-to` → `ship_to`,
//! `buyer-part` → `BuyerPart`), and wraps every nested value the same way.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::{case_name, field_name};

/// Deserializes a `T` of the generated types from `deserializer`, reading WIT (kebab-case) names.
pub fn deserialize<'de, T: de::Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize(Kebab(deserializer))
}

/// Why a JSON value is not the type it was read as, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The JSON path of the first problem: `$.ship-notice.orders[0].items[2].quantity.value`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for PathError {}

/// Reads canonical JSON into a `T` of the generated types; an error names the JSON path of the first problem.
pub fn from_value<'de, T: de::Deserialize<'de>>(
    value: &'de serde_json::Value,
) -> Result<T, PathError> {
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(value, &mut track);
    match T::deserialize(Kebab(tracked)) {
        Ok(value) => Ok(value),
        Err(err) => Err(PathError {
            path: located(value, &track.path()),
            message: err.to_string(),
        }),
    }
}

/// The error's path, as far as it is in the document. A case written as a string where the contract wants one
/// with a payload (`"ship-notice"` for `{"ship-notice": {...}}`) is a step of the path to serde but no member
/// of the document: the path stops at the string, so a diagnostic never names a place the sender cannot find.
fn located(value: &serde_json::Value, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    let mut here = Some(value);
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                here = here.and_then(|v| v.get(*index));
            }
            Segment::Map { key } => {
                out.push('.');
                out.push_str(key);
                here = here.and_then(|v| v.get(key.as_str()));
            }
            Segment::Enum { variant } => {
                let payload = here.and_then(|v| v.get(variant.as_str()));
                if here.is_some() && payload.is_none() {
                    break;
                }
                out.push('.');
                out.push_str(variant);
                here = payload;
            }
            Segment::Unknown => break,
        }
    }
    out
}

struct Kebab<D>(D);

/// A visitor whose nested values are read through the adapter too.
struct Wrap<V>(V);

/// Reads a struct from a map whose keys are WIT field names.
struct StructVisitor<V> {
    visitor: V,
    fields: &'static [&'static str],
}

/// Reads an enum whose case names are WIT case names.
struct EnumVisitor<V> {
    visitor: V,
    variants: &'static [&'static str],
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Kebab<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Wrap(visitor))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_bool(Wrap(visitor))
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_i8(Wrap(visitor))
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_i16(Wrap(visitor))
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_i32(Wrap(visitor))
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_i64(Wrap(visitor))
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_u8(Wrap(visitor))
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_u16(Wrap(visitor))
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_u32(Wrap(visitor))
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_u64(Wrap(visitor))
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_f32(Wrap(visitor))
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_f64(Wrap(visitor))
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_char(Wrap(visitor))
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_str(Wrap(visitor))
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_string(Wrap(visitor))
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_bytes(Wrap(visitor))
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_byte_buf(Wrap(visitor))
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_option(Wrap(visitor))
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit(Wrap(visitor))
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(Wrap(visitor))
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // A record is a JSON object keyed by WIT names; the derive's field names are the Rust ones.
        self.0.deserialize_map(StructVisitor { visitor, fields })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_enum(name, variants, EnumVisitor { visitor, variants })
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_identifier(Wrap(visitor))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }
}

macro_rules! forward {
    ($($method:ident($ty:ty),)*) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method(v)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward! {
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Kebab(d))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Kebab(d))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Seq(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Map { map, fields: None })
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Enum {
            data,
            variants: None,
        })
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StructVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Map {
            map,
            fields: Some(self.fields),
        })
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(Enum {
            data,
            variants: Some(self.variants),
        })
    }
}

/// A seed whose value is read through the adapter.
struct Nested<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nested<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Kebab(d))
    }
}

/// A seed for a name: reads the WIT name and gives the inner seed the Rust name among `names` it stands for.
struct Name<S> {
    seed: S,
    names: &'static [&'static str],
    wit: fn(&'static str) -> &'static str,
    /// Enum cases: a name that is none of them is refused here. Record fields: passed on.
    cases: bool,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Name<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let given: String = de::Deserialize::deserialize(d)?;
        match self.names.iter().find(|rust| (self.wit)(rust) == given) {
            Some(rust) => self.seed.deserialize((*rust).into_deserializer()),
            // Not a case of the enum: named with the WIT names a writer can use (the derive would list the Rust
            // ones, and would take a Rust name as if it were right).
            None if self.cases => {
                let cases: Vec<String> = self
                    .names
                    .iter()
                    .map(|rust| format!("`{}`", case_name(rust)))
                    .collect();
                Err(de::Error::custom(format_args!(
                    "unknown case `{given}`, expected one of {}",
                    cases.join(", ")
                )))
            }
            // Not a field of the record: the derive passes over it (a newer writer's field an older reader
            // lacks); the canonical mapper, which must not, checks for it on its own.
            None => self.seed.deserialize(given.into_deserializer()),
        }
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Nested(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Map<A> {
    map: A,
    /// A record's Rust field names; `None` for a plain map, whose keys are data.
    fields: Option<&'static [&'static str]>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.fields {
            Some(fields) => self.map.next_key_seed(Name {
                seed,
                names: fields,
                wit: field_name,
                cases: false,
            }),
            None => self.map.next_key_seed(Nested(seed)),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(Nested(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

struct Enum<A> {
    data: A,
    /// The enum's Rust variant names; `None` when the deserializer did not say (read as written).
    variants: Option<&'static [&'static str]>,
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let (value, variant) = match self.variants {
            Some(variants) => self.data.variant_seed(Name {
                seed,
                names: variants,
                wit: case_name,
                cases: true,
            })?,
            None => self.data.variant_seed(seed)?,
        };
        Ok((value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Nested(seed))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0
            .struct_variant(fields, StructVisitor { visitor, fields })
    }
}
