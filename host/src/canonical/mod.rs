//! Canonical events on the wire: JSON written from the contract's own types, and its JSON Schema.
//!
//! The WIT in `wit/` is the one source of truth for the canonical model. Plugins return events as component
//! values; this module writes them as JSON using the WIT names (kebab-case fields, a variant as
//! `{"case": payload}` or `"case"` when it has no payload, an option as `null` or its value), reads that JSON
//! back for outbound mappers, and derives the JSON Schema from the same WIT, so consumers that are not plugins
//! get an exact description of what is published and nothing can drift between three hand-kept copies.

pub mod kebab;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use wasmtime::component::Val;
use wasmtime::component::types::Type;
use wit_parser::{Resolve, TypeDefKind, TypeOwner};

/// The contract's WIT files, built into the binary so `millwright schema` needs nothing on disk.
const WIT_FILES: &[(&str, &str)] = &[
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("edi.wit", include_str!("../../../wit/edi.wit")),
    ("host.wit", include_str!("../../../wit/host.wit")),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
];

/// Whether canonical JSON holds a control character in one of its strings — a C0 control (U+0000–U+001F) or
/// DEL — which no canonical value may hold, whatever the plugin's language: `None` when it is clean, else a
/// sentence naming the JSON path, the character and its position in the string.
///
/// This runs on every event the host publishes, so the common case is one `memchr` pass: serde_json writes a
/// control character as an escape (`\u0000`, `\n` ...), and DEL as itself, so a document with neither a
/// backslash nor DEL is clean. Only a document with a control character is parsed again, to find its path.
pub fn control_character(json: &[u8]) -> Option<String> {
    let mut at = 0;
    let mut found = false;
    while let Some(offset) = memchr::memchr2(b'\\', 0x7f, &json[at..]) {
        let i = at + offset;
        if json[i] == 0x7f {
            found = true;
            break;
        }
        match json.get(i + 1) {
            Some(b'b' | b'f' | b'n' | b'r' | b't') => {
                found = true;
                break;
            }
            Some(b'u') => {
                let code = json
                    .get(i + 2..i + 6)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok());
                if code.is_some_and(|c| c < 0x20 || c == 0x7f) {
                    found = true;
                    break;
                }
                at = i + 6;
            }
            _ => at = i + 2,
        }
        if at >= json.len() {
            break;
        }
    }
    if !found {
        return None;
    }
    let value: Value = serde_json::from_slice(json).ok()?;
    let mut path = String::from("$");
    let (path, index, ch) = find_control(&value, &mut path)?;
    Some(format!(
        "{path} holds the control character U+{:04X} at character {index}; canonical strings may not hold C0 control characters or DEL (a mapping must refuse such a document or drop the character)",
        ch as u32
    ))
}

fn find_control(value: &Value, path: &mut String) -> Option<(String, usize, char)> {
    let is_control = |c: char| c < ' ' || c == '\u{7f}';
    match value {
        Value::String(s) => s
            .chars()
            .enumerate()
            .find(|(_, c)| is_control(*c))
            .map(|(index, c)| (path.clone(), index, c)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_control(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            path.push('.');
            path.push_str(key);
            let found = find_control(item, path);
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

/// Writes a component value as canonical JSON.
pub fn to_json(val: &Val) -> Result<Value> {
    Ok(match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::S8(n) => json!(n),
        Val::U8(n) => json!(n),
        Val::S16(n) => json!(n),
        Val::U16(n) => json!(n),
        Val::S32(n) => json!(n),
        Val::U32(n) => json!(n),
        Val::S64(n) => json!(n),
        Val::U64(n) => json!(n),
        Val::Float32(n) => json!(n),
        Val::Float64(n) => json!(n),
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(s) => Value::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<_>>()?)
        }
        Val::Record(fields) => {
            let mut map = Map::with_capacity(fields.len());
            for (name, value) in fields {
                map.insert(name.clone(), to_json(value)?);
            }
            Value::Object(map)
        }
        Val::Variant(case, None) | Val::Enum(case) => Value::String(case.clone()),
        Val::Variant(case, Some(payload)) => {
            let mut map = Map::with_capacity(1);
            map.insert(case.clone(), to_json(payload)?);
            Value::Object(map)
        }
        Val::Option(None) => Value::Null,
        Val::Option(Some(value)) => to_json(value)?,
        Val::Result(result) => {
            let (key, value) = match result {
                Ok(v) => ("ok", v),
                Err(v) => ("err", v),
            };
            let inner = match value {
                Some(v) => to_json(v)?,
                None => Value::Null,
            };
            json!({ key: inner })
        }
        Val::Flags(names) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        Val::Map(_) | Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            bail!("a {val:?} has no canonical JSON form")
        }
    })
}

/// Reads canonical JSON into a component value of type `ty`. Errors name the JSON path that is wrong.
pub fn from_json(ty: &Type, value: &Value) -> Result<Val> {
    from_json_at(ty, value, &mut String::from("$"))
}

fn from_json_at(ty: &Type, value: &Value, path: &mut String) -> Result<Val> {
    let mismatch = |want: &str| anyhow!("{path}: expected {want}, found {}", kind(value));
    let int = |value: &Value| -> Result<i128> {
        value
            .as_i64()
            .map(i128::from)
            .or_else(|| value.as_u64().map(i128::from))
            .ok_or_else(|| mismatch("an integer"))
    };
    let ranged = |value: &Value, name: &str| -> Result<i128> {
        int(value).with_context(|| format!("{path}: not a valid {name}"))
    };
    macro_rules! number {
        ($variant:ident, $t:ty, $name:literal) => {{
            let n = ranged(value, $name)?;
            Val::$variant(
                <$t>::try_from(n)
                    .map_err(|_| anyhow!("{path}: {n} is out of range for {}", $name))?,
            )
        }};
    }
    Ok(match ty {
        Type::Bool => Val::Bool(value.as_bool().ok_or_else(|| mismatch("true or false"))?),
        Type::S8 => number!(S8, i8, "s8"),
        Type::U8 => number!(U8, u8, "u8"),
        Type::S16 => number!(S16, i16, "s16"),
        Type::U16 => number!(U16, u16, "u16"),
        Type::S32 => number!(S32, i32, "s32"),
        Type::U32 => number!(U32, u32, "u32"),
        Type::S64 => number!(S64, i64, "s64"),
        Type::U64 => number!(U64, u64, "u64"),
        Type::Float32 => {
            let n = value.as_f64().ok_or_else(|| mismatch("a number"))?;
            #[allow(clippy::cast_possible_truncation)]
            Val::Float32(n as f32)
        }
        Type::Float64 => Val::Float64(value.as_f64().ok_or_else(|| mismatch("a number"))?),
        Type::Char => {
            let s = value
                .as_str()
                .ok_or_else(|| mismatch("a one-character string"))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(mismatch("a one-character string")),
            }
        }
        Type::String => Val::String(
            value
                .as_str()
                .ok_or_else(|| mismatch("a string"))?
                .to_string(),
        ),
        Type::List(list) => {
            let items = value.as_array().ok_or_else(|| mismatch("an array"))?;
            let element = list.ty();
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(from_json_at(&element, item, path)?);
                path.truncate(len);
            }
            Val::List(out)
        }
        Type::Tuple(tuple) => {
            let items = value.as_array().ok_or_else(|| mismatch("an array"))?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                bail!(
                    "{path}: expected {} items, found {}",
                    types.len(),
                    items.len()
                );
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, ty)) in items.iter().zip(&types).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(from_json_at(ty, item, path)?);
                path.truncate(len);
            }
            Val::Tuple(out)
        }
        Type::Record(record) => {
            let object = value.as_object().ok_or_else(|| mismatch("an object"))?;
            let mut out = Vec::new();
            let mut known = 0;
            for field in record.fields() {
                let len = path.len();
                path.push('.');
                path.push_str(field.name);
                let item = object.get(field.name);
                known += usize::from(item.is_some());
                let val = match (item, &field.ty) {
                    (Some(item), ty) => from_json_at(ty, item, path)?,
                    (None, Type::Option(_)) => Val::Option(None),
                    (None, _) => bail!("{path}: missing"),
                };
                path.truncate(len);
                out.push((field.name.to_string(), val));
            }
            if known != object.len() {
                let names: Vec<&str> = record.fields().map(|f| f.name).collect();
                let extra: Vec<&String> = object
                    .keys()
                    .filter(|k| !names.contains(&k.as_str()))
                    .collect();
                bail!("{path}: unknown field(s) {extra:?}; the fields are {names:?}");
            }
            Val::Record(out)
        }
        Type::Variant(variant) => {
            let (name, payload) =
                case_of(value).ok_or_else(|| mismatch("a case name or {\"case\": payload}"))?;
            let Some(case) = variant.cases().find(|c| c.name == name) else {
                let names: Vec<&str> = variant.cases().map(|c| c.name).collect();
                bail!("{path}: {name:?} is not one of {names:?}");
            };
            match (case.ty, payload) {
                (None, None) => Val::Variant(name.to_string(), None),
                (Some(ty), Some(payload)) => {
                    let len = path.len();
                    path.push('.');
                    path.push_str(name);
                    let inner = from_json_at(&ty, payload, path)?;
                    path.truncate(len);
                    Val::Variant(name.to_string(), Some(Box::new(inner)))
                }
                (None, Some(_)) => bail!("{path}: case {name:?} takes no payload"),
                (Some(_), None) => {
                    bail!("{path}: case {name:?} needs a payload: {{\"{name}\": ...}}")
                }
            }
        }
        Type::Enum(en) => {
            let name = value.as_str().ok_or_else(|| mismatch("a string"))?;
            if !en.names().any(|n| n == name) {
                let names: Vec<&str> = en.names().collect();
                bail!("{path}: {name:?} is not one of {names:?}");
            }
            Val::Enum(name.to_string())
        }
        Type::Option(option) => match value {
            Value::Null => Val::Option(None),
            other => Val::Option(Some(Box::new(from_json_at(&option.ty(), other, path)?))),
        },
        Type::Result(result) => {
            let object = value
                .as_object()
                .filter(|o| o.len() == 1)
                .ok_or_else(|| mismatch("{\"ok\": ..} or {\"err\": ..}"))?;
            let (key, inner) = object
                .iter()
                .next()
                .ok_or_else(|| mismatch("{\"ok\": ..}"))?;
            let ty = match key.as_str() {
                "ok" => result.ok(),
                "err" => result.err(),
                _ => return Err(mismatch("{\"ok\": ..} or {\"err\": ..}")),
            };
            let inner = match ty {
                Some(ty) => Some(Box::new(from_json_at(&ty, inner, path)?)),
                None => None,
            };
            Val::Result(if key == "ok" { Ok(inner) } else { Err(inner) })
        }
        Type::Flags(flags) => {
            let items = value
                .as_array()
                .ok_or_else(|| mismatch("an array of flag names"))?;
            let mut out = Vec::new();
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| mismatch("an array of flag names"))?;
                if !flags.names().any(|n| n == name) {
                    bail!("{path}: {name:?} is not a flag of this type");
                }
                out.push(name.to_string());
            }
            Val::Flags(out)
        }
        other => bail!("{path}: values of type {other:?} cannot be read from JSON"),
    })
}

fn case_of(value: &Value) -> Option<(&str, Option<&Value>)> {
    match value {
        Value::String(name) => Some((name, None)),
        Value::Object(object) if object.len() == 1 => object
            .iter()
            .next()
            .map(|(name, payload)| (name.as_str(), Some(payload))),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The canonical event types: the cases of `canonical-event`, which are also the last token of
/// `mw.<tenant>.ev.<event-type>`. A test checks the list against wit/types.wit.
pub const EVENT_TYPES: &[&str] = &[
    "item",
    "party",
    "location",
    "lot",
    "purchase-order",
    "order-acknowledgment",
    "ship-notice",
    "goods-receipt",
    "material-consumption",
    "production-completion",
    "inventory-movement",
    "quality-hold",
    "work-order-status",
    "exception",
];

/// The JSON Schema (draft 2020-12) of a canonical event as the host writes it, derived from wit/types.wit.
pub fn json_schema() -> Result<Value> {
    let mut resolve = Resolve::default();
    let mut map = wit_parser::SourceMap::new();
    for (name, text) in WIT_FILES {
        map.push_str(name, *text);
    }
    let group = map
        .parse()
        .map_err(|(_, err)| anyhow!("parsing the built-in WIT: {err}"))?;
    let package = resolve
        .push_group(group)
        .context("resolving the built-in WIT")?;
    let package_name = resolve.packages[package].name.to_string();
    let types = resolve.packages[package]
        .interfaces
        .get("types")
        .copied()
        .context("the built-in WIT has no `types` interface")?;
    let mut defs = Map::new();
    for (_, &id) in &resolve.interfaces[types].types {
        let def = &resolve.types[id];
        let Some(name) = &def.name else { continue };
        let mut schema = kind_schema(&resolve, &def.kind);
        if let (Some(docs), Some(object)) = (&def.docs.contents, schema.as_object_mut()) {
            object.insert("description".into(), Value::String(docs.trim().to_string()));
        }
        defs.insert(name.clone(), schema);
    }
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:{package_name}:canonical-event"),
        "title": "Millwright canonical event",
        "description": format!(
            "One canonical event as Millwright publishes it on mw.<tenant>.ev.<event-type>, written from {package_name}."
        ),
        "$ref": "#/$defs/canonical-event",
        "$defs": defs,
    }))
}

fn kind_schema(resolve: &Resolve, kind: &TypeDefKind) -> Value {
    match kind {
        TypeDefKind::Record(record) => {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in &record.fields {
                let mut schema = type_schema(resolve, &field.ty);
                if let (Some(docs), Some(object)) = (&field.docs.contents, schema.as_object_mut()) {
                    object.insert("description".into(), Value::String(docs.trim().to_string()));
                }
                properties.insert(field.name.clone(), schema);
                required.push(Value::String(field.name.clone()));
            }
            json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
        }
        TypeDefKind::Variant(variant) => {
            let cases: Vec<Value> = variant
                .cases
                .iter()
                .map(|case| match &case.ty {
                    None => json!({ "const": case.name }),
                    Some(ty) => json!({
                        "type": "object",
                        "properties": { case.name.clone(): type_schema(resolve, ty) },
                        "required": [case.name],
                        "additionalProperties": false,
                    }),
                })
                .collect();
            json!({ "oneOf": cases })
        }
        TypeDefKind::Enum(en) => {
            json!({ "type": "string", "enum": en.cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>() })
        }
        TypeDefKind::Option(ty) => {
            json!({ "anyOf": [type_schema(resolve, ty), { "type": "null" }] })
        }
        TypeDefKind::List(ty) => json!({ "type": "array", "items": type_schema(resolve, ty) }),
        TypeDefKind::Tuple(tuple) => json!({
            "type": "array",
            "prefixItems": tuple.types.iter().map(|t| type_schema(resolve, t)).collect::<Vec<_>>(),
            "minItems": tuple.types.len(),
            "maxItems": tuple.types.len(),
        }),
        TypeDefKind::Type(ty) => type_schema(resolve, ty),
        TypeDefKind::Flags(flags) => json!({
            "type": "array",
            "items": { "enum": flags.flags.iter().map(|f| f.name.clone()).collect::<Vec<_>>() },
        }),
        TypeDefKind::Result(result) => {
            let side = |ty: &Option<wit_parser::Type>| {
                ty.as_ref()
                    .map_or(json!({ "type": "null" }), |t| type_schema(resolve, t))
            };
            json!({ "oneOf": [
                { "type": "object", "properties": { "ok": side(&result.ok) }, "required": ["ok"], "additionalProperties": false },
                { "type": "object", "properties": { "err": side(&result.err) }, "required": ["err"], "additionalProperties": false },
            ]})
        }
        other => json!({ "description": format!("{} has no JSON form", other.as_str()) }),
    }
}

fn type_schema(resolve: &Resolve, ty: &wit_parser::Type) -> Value {
    use wit_parser::Type as T;
    let int = |min: i128, max: i128| json!({ "type": "integer", "minimum": min, "maximum": max });
    match ty {
        T::Bool => json!({ "type": "boolean" }),
        T::U8 => int(0, u8::MAX.into()),
        T::U16 => int(0, u16::MAX.into()),
        T::U32 => int(0, u32::MAX.into()),
        T::U64 => int(0, u64::MAX.into()),
        T::S8 => int(i8::MIN.into(), i8::MAX.into()),
        T::S16 => int(i16::MIN.into(), i16::MAX.into()),
        T::S32 => int(i32::MIN.into(), i32::MAX.into()),
        T::S64 => int(i64::MIN.into(), i64::MAX.into()),
        T::F32 | T::F64 => json!({ "type": "number" }),
        T::Char => json!({ "type": "string", "minLength": 1, "maxLength": 1 }),
        T::String => json!({ "type": "string" }),
        T::Id(id) => {
            let def = &resolve.types[*id];
            match (&def.name, &def.owner) {
                (Some(name), TypeOwner::Interface(_)) => {
                    json!({ "$ref": format!("#/$defs/{name}") })
                }
                _ => kind_schema(resolve, &def.kind),
            }
        }
        T::ErrorContext => json!({ "description": "error-context has no JSON form" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_canonical_json_has_no_control_character() {
        let clean = json!({"ship-notice": {"shipment-id": "SHP-1 \\n \"quoted\" — é", "lines": ["a\\\\b"]}});
        assert_eq!(control_character(clean.to_string().as_bytes()), None);
    }

    #[test]
    fn a_control_character_is_found_with_its_path() {
        for (text, ch) in [
            ("\u{0}\u{0}\u{0}SHP-240611-07", "U+0000"),
            ("SHP\n1", "U+000A"),
            ("SHP\u{7f}", "U+007F"),
            ("SHP\u{1b}[2J", "U+001B"),
        ] {
            let event = json!({"ship-notice": {"orders": [{"items": [{"line-number": text}]}]}});
            let problem = control_character(event.to_string().as_bytes())
                .unwrap_or_else(|| panic!("{text:?} is refused"));
            assert!(
                problem.starts_with(
                    "$.ship-notice.orders[0].items[0].line-number holds the control character"
                ),
                "{problem}"
            );
            assert!(problem.contains(ch), "{problem}");
        }
        // Bytes 0x80-0x9F decoded as Windows-1252 are printable characters, not controls.
        let event = json!({"lot": "€‚ƒ"});
        assert_eq!(control_character(event.to_string().as_bytes()), None);
    }

    #[test]
    fn schema_describes_every_canonical_event_case() {
        let schema = json_schema().expect("schema");
        let cases = schema["$defs"]["canonical-event"]["oneOf"]
            .as_array()
            .expect("cases");
        let names: Vec<&str> = cases
            .iter()
            .filter_map(|c| c["required"][0].as_str())
            .collect();
        // EVENT_TYPES (the routes' and subjects' list) is exactly the WIT variant's cases, in order.
        assert_eq!(names, EVENT_TYPES);
        let quantity = &schema["$defs"]["quantity"];
        assert_eq!(quantity["properties"]["value"]["$ref"], "#/$defs/decimal");
        assert_eq!(
            schema["$defs"]["decimal"]["type"], "string",
            "quantities are never floats"
        );
    }

    #[test]
    fn values_write_as_kebab_case_json() {
        let val = Val::Record(vec![
            (
                "scheme".into(),
                Val::Variant("other".into(), Some(Box::new(Val::String("ZZ".into())))),
            ),
            ("kind".into(), Val::Variant("gtin".into(), None)),
            ("expiry".into(), Val::Option(None)),
            ("purpose".into(), Val::Enum("replace".into())),
        ]);
        let json = to_json(&val).expect("json");
        assert_eq!(
            json,
            json!({ "scheme": { "other": "ZZ" }, "kind": "gtin", "expiry": null, "purpose": "replace" })
        );
    }
}
