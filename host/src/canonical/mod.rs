//! Canonical events on the wire: JSON written from the contract's own types, and its JSON Schema.
//!
//! The WIT in `wit/` is the one source of truth for the canonical model. Plugins return events as the
//! contract's generated types; [`kebab`] writes them as JSON using the WIT names (kebab-case fields, a variant as
//! `{"case": payload}` or `"case"` when it has no payload, an option as `null` or its value) and reads that JSON
//! back into the same types for outbound mappers; [`json_schema`] derives the JSON Schema from the same WIT, so
//! consumers that are not plugins get an exact description of what is published and nothing can drift between
//! hand-kept copies. [`control_character`] is the check every published event passes.

pub mod kebab;
pub mod mapper;

use anyhow::{Context, Result, anyhow};
use serde_json::{Map, Value, json};
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
}
