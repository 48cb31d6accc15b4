//! The built-in `canonical` mapper: for a system that already speaks the canonical model, a route can name
//! `mapper = "canonical"` instead of a plugin, and publish canonical JSON straight in.
//!
//! A document is one canonical event (`{"purchase-order": {...}}`) or a list of them, in the JSON the host
//! itself publishes ([`super::kebab`]). Each is read into the contract's types, so every field, case and option
//! is checked exactly as an outbound plugin's input is; then the lexical types the contract states in words are
//! checked (a `timestamp`'s `utc` is RFC 3339 in UTC, a `quantity`'s `value` a decimal), and the header's
//! `id` and `idempotency-key` must be given. As for a plugin's events, the host sets each header's `tenant` and
//! `correlation-id`. The first error dead-letters the document as `invalid-document`, its diagnostic naming the
//! JSON path (`$[1]['ship-notice'].lines[0].quantity.value`); nothing of a document with an error is published.

use serde_json::{Value, json};

use super::kebab;
use crate::host_api::bindings::millwright::adapter::types;
use crate::invoke::{Envelope, Event, FailureClass, InvokeError, Limits, event_type};

/// The label routes and logs show for the built-in mapper.
pub const LABEL: &str = "canonical (built-in)";

/// Reads `envelope`'s payload as canonical events for `tenant`.
pub fn map(tenant: &str, envelope: &Envelope, limits: &Limits) -> Result<Vec<Event>, InvokeError> {
    let document: Value = serde_json::from_slice(&envelope.payload).map_err(|err| {
        invalid(
            format!("the document is not JSON: {err}"),
            json!({"line": err.line(), "element": err.column()}),
        )
    })?;
    let (values, listed) = match document {
        Value::Array(values) => (values, true),
        value @ Value::Object(_) => (vec![value], false),
        other => {
            return Err(at_path(
                "$",
                format!(
                    "expected a canonical event (an object such as {{\"purchase-order\": {{...}}}}) or a list of them, found {}",
                    kind(&other)
                ),
            ));
        }
    };
    if values.is_empty() {
        return Err(at_path("$", "the list holds no events"));
    }
    if values.len() > limits.max_outputs {
        return Err(InvokeError::Mapping {
            class: FailureClass::InvalidDocument,
            diagnostic: json!({
                "message": format!("{} events in one document; a route takes at most {}", values.len(), limits.max_outputs),
                "at": {"json-path": "$"},
                "code": "too-many-events",
            }),
        });
    }
    let mut events = Vec::with_capacity(values.len());
    let mut bytes = 0usize;
    for (index, value) in values.iter().enumerate() {
        let prefix = if listed {
            format!("$[{index}]")
        } else {
            "$".to_string()
        };
        let mut event: types::CanonicalEvent = kebab::from_value(value)
            .map_err(|err| at_path(&format!("{prefix}{}", bracketed(&err.path)), err.message))?;
        lexical(value, &mut prefix.clone())?;
        // What the reader passed over (a member the record does not have, a misspelt optional one) would be lost
        // without a word: the event written back must hold everything the document said.
        let written = kebab::serialize(&event, serde_json::value::Serializer)
            .map_err(|e| InvokeError::Host(format!("writing canonical JSON: {e}")))?;
        if let Some((path, message)) = unread(value, &written, &mut prefix.clone()) {
            return Err(at_path(&path, message));
        }
        let kind = event_type(&event);
        let header = crate::invoke::header_mut(&mut event);
        for (field, given) in [
            ("id", &header.id),
            ("idempotency-key", &header.idempotency_key),
        ] {
            if given.trim().is_empty() {
                let mut path = prefix.clone();
                push_key(&mut path, kind);
                push_key(&mut path, "header");
                push_key(&mut path, field);
                return Err(at_path(
                    &path,
                    format!(
                        "`{field}` is empty: every canonical event names itself and how to deduplicate it"
                    ),
                ));
            }
        }
        header.tenant = tenant.to_string();
        header.correlation_id.clone_from(&envelope.correlation_id);
        if header.source_system.trim().is_empty() {
            header.source_system.clone_from(&envelope.source);
        }
        let mut out = Vec::with_capacity(512);
        kebab::serialize(&event, &mut serde_json::Serializer::new(&mut out))
            .map_err(|e| InvokeError::Host(format!("writing canonical JSON: {e}")))?;
        if let Some(problem) = super::control_character(&out) {
            return Err(InvokeError::Mapping {
                class: FailureClass::InvalidDocument,
                diagnostic: json!({
                    "message": format!("event {index}: {problem}"),
                    "at": {"json-path": prefix},
                    "code": "control-character",
                }),
            });
        }
        bytes += out.len();
        if bytes > limits.max_output_bytes {
            return Err(InvokeError::OutputLimit(format!(
                "more than {} bytes of canonical JSON",
                limits.max_output_bytes
            )));
        }
        events.push(Event {
            event_type: event_type(&event),
            json: out,
        });
    }
    Ok(events)
}

/// The first member of `given` that `read` (the event as the contract's types hold it, written back) does not
/// hold: its path and what is wrong. Members `read` adds (options left out, written as null) are fine.
fn unread(given: &Value, read: &Value, path: &mut String) -> Option<(String, String)> {
    match (given, read) {
        (Value::Object(given), Value::Object(read)) => {
            for (key, value) in given {
                let len = path.len();
                push_key(path, key);
                let Some(kept) = read.get(key) else {
                    let mut fields: Vec<&str> = read.keys().map(String::as_str).collect();
                    fields.sort_unstable();
                    return Some((
                        path.clone(),
                        format!(
                            "`{key}` is not a field here; the fields are {}",
                            fields.join(", ")
                        ),
                    ));
                };
                if let Some(found) = unread(value, kept, path) {
                    return Some(found);
                }
                path.truncate(len);
            }
            None
        }
        (Value::Array(given), Value::Array(read)) => {
            for (i, (value, kept)) in given.iter().zip(read).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if let Some(found) = unread(value, kept, path) {
                    return Some(found);
                }
                path.truncate(len);
            }
            None
        }
        (given, read) if given == read => None,
        // A number given for a text field, a case written another way: read, but not as written.
        (given, read) => Some((
            path.clone(),
            format!("{given} is read as {read}; write it as the contract does"),
        )),
    }
}

/// The checks the contract states in words: a `timestamp` (an object with `utc` and `original-offset-minutes`)
/// is an RFC 3339 instant in UTC; a `quantity` (an object with `value` and `unit`) has a decimal value.
fn lexical(value: &Value, path: &mut String) -> Result<(), InvokeError> {
    match value {
        Value::Object(fields) => {
            if fields.contains_key("original-offset-minutes")
                && let Some(Value::String(utc)) = fields.get("utc")
                && (!utc.ends_with('Z') || utc.parse::<jiff::Timestamp>().is_err())
            {
                push_key(path, "utc");
                return Err(at_path(
                    path,
                    format!(
                        "{utc:?} is not an RFC 3339 instant in UTC, such as \"2024-06-11T19:15:00Z\""
                    ),
                ));
            }
            if fields.contains_key("unit")
                && let Some(Value::String(decimal)) = fields.get("value")
                && !is_decimal(decimal)
            {
                push_key(path, "value");
                return Err(at_path(
                    path,
                    format!(
                        "{decimal:?} is not a decimal number written as text, such as \"12.5\" or \"-3\""
                    ),
                ));
            }
            for (key, field) in fields {
                let before = path.len();
                push_key(path, key);
                lexical(field, path)?;
                path.truncate(before);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let before = path.len();
                path.push_str(&format!("[{i}]"));
                lexical(item, path)?;
                path.truncate(before);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Appends a member to a JSON path: `.lines`, `['ship-notice']`, or `["odd key"]`.
fn push_key(path: &mut String, key: &str) {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        path.push('.');
        path.push_str(key);
    } else if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        path.push_str(&format!("['{key}']"));
    } else {
        path.push_str(&format!("[{key:?}]"));
    }
}

/// A path as the deserializer writes it (`$.ship-notice.lines[0].quantity`) in this module's form
/// (`['ship-notice'].lines[0].quantity`), without the leading `$`.
fn bracketed(path: &str) -> String {
    let mut out = String::new();
    for part in path
        .trim_start_matches('$')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (key, indexes) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !key.is_empty() {
            push_key(&mut out, key);
        }
        out.push_str(indexes);
    }
    out
}

/// An optional sign, digits, and an optional fraction: `12`, `-3`, `60.310`, `.5` is not.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn invalid(message: String, at: Value) -> InvokeError {
    InvokeError::Mapping {
        class: FailureClass::InvalidDocument,
        diagnostic: json!({"message": message, "at": at, "code": "canonical-json"}),
    }
}

fn at_path(path: &str, message: impl Into<String>) -> InvokeError {
    invalid(message.into(), json!({"json-path": path}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(payload: &str) -> Envelope {
        Envelope {
            source: "canonical".into(),
            message_id: "m-1".into(),
            correlation_id: "corr-1".into(),
            received_at: jiff::Timestamp::UNIX_EPOCH,
            content_type: Some("application/json".into()),
            file_name: None,
            headers: Vec::new(),
            payload: bytes::Bytes::from(payload.to_string()),
        }
    }

    fn hold(quantity: &str, utc: &str) -> String {
        format!(
            r#"{{"quality-hold": {{"header": {{"id": "qh-1", "source-system": "qms", "tenant": "other", "site": "P2",
              "event-time": {{"utc": "{utc}", "original-offset-minutes": -300}}, "correlation-id": "forged",
              "idempotency-key": "qms:qh-1"}},
              "hold-id": "QH-1", "scope": {{"location": {{"scheme": "internal", "value": "P2-D4"}}}}, "reason": "DIM",
              "disposition": "hold", "quantity": {{"value": "{quantity}", "unit": "H87"}},
              "at": {{"utc": "{utc}", "original-offset-minutes": null}}}}}}"#
        )
    }

    fn path_of(err: InvokeError) -> String {
        match err {
            InvokeError::Mapping { class, diagnostic } => {
                assert_eq!(class, FailureClass::InvalidDocument);
                diagnostic["at"]["json-path"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("no path: {diagnostic}"))
            }
            other => panic!("expected invalid-document, got {other}"),
        }
    }

    #[test]
    fn one_event_or_a_list_is_published_with_the_hosts_tenant_and_correlation() {
        let one = map(
            "acme",
            &envelope(&hold("116", "2024-06-12T12:40:00Z")),
            &Limits::default(),
        )
        .expect("valid");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].event_type, "quality-hold");
        let value = one[0].value();
        assert_eq!(value["quality-hold"]["header"]["tenant"], "acme");
        assert_eq!(value["quality-hold"]["header"]["correlation-id"], "corr-1");
        assert_eq!(
            value["quality-hold"]["decided-by"],
            Value::Null,
            "an option left out reads as none"
        );
        let list = format!(
            "[{}, {}]",
            hold("1", "2024-06-12T12:40:00Z"),
            hold("2.5", "2024-06-12T12:41:00Z")
        );
        assert_eq!(
            map("acme", &envelope(&list), &Limits::default())
                .expect("valid")
                .len(),
            2
        );
    }

    #[test]
    fn a_bad_document_names_the_json_path_of_its_first_error() {
        let limits = Limits::default();
        let list = format!(
            "[{}, {}]",
            hold("1", "2024-06-12T12:40:00Z"),
            hold("1,5", "2024-06-12T12:41:00Z")
        );
        assert_eq!(
            path_of(map("acme", &envelope(&list), &limits).expect_err("bad decimal")),
            "$[1]['quality-hold'].quantity.value"
        );
        let late = hold("1", "2024-06-12 12:40");
        assert_eq!(
            path_of(map("acme", &envelope(&late), &limits).expect_err("bad instant")),
            "$['quality-hold'].header['event-time'].utc"
        );
        let wrong_case = hold("1", "2024-06-12T12:40:00Z").replace("\"hold\"", "\"quarantine\"");
        assert_eq!(
            path_of(map("acme", &envelope(&wrong_case), &limits).expect_err("unknown case")),
            "$['quality-hold'].disposition"
        );
        let no_id = hold("1", "2024-06-12T12:40:00Z").replace("\"id\": \"qh-1\"", "\"id\": \"\"");
        assert_eq!(
            path_of(map("acme", &envelope(&no_id), &limits).expect_err("empty id")),
            "$['quality-hold'].header.id"
        );
        let unknown = r#"{"shipment": {}}"#;
        assert!(
            path_of(map("acme", &envelope(unknown), &limits).expect_err("unknown type"))
                .starts_with('$')
        );
        for (doc, path) in [("[]", "$"), ("42", "$"), ("\"x\"", "$")] {
            assert_eq!(
                path_of(map("acme", &envelope(doc), &limits).expect_err(doc)),
                path,
                "{doc}"
            );
        }
        match map("acme", &envelope("{\"purchase-order\": "), &limits).expect_err("not JSON") {
            InvokeError::Mapping { diagnostic, .. } => {
                assert!(
                    diagnostic["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("not JSON")),
                    "{diagnostic}"
                );
                assert_eq!(diagnostic["at"]["line"], 1);
            }
            other => panic!("{other}"),
        }
        let extra = hold("1", "2024-06-12T12:40:00Z")
            .replace("\"reason\"", "\"colour\": \"blue\", \"reason\"");
        assert_eq!(
            path_of(map("acme", &envelope(&extra), &limits).expect_err("unknown member")),
            "$['quality-hold'].colour"
        );
        let rust_name = hold("1", "2024-06-12T12:40:00Z").replace("\"hold-id\"", "\"hold_id\"");
        assert_eq!(
            path_of(map("acme", &envelope(&rust_name), &limits).expect_err("a Rust name")),
            "$['quality-hold'].hold_id"
        );
        let rust_case = hold("1", "2024-06-12T12:40:00Z").replace("\"hold\"", "\"Hold\"");
        match map("acme", &envelope(&rust_case), &limits).expect_err("a Rust case name") {
            InvokeError::Mapping { diagnostic, .. } => {
                assert_eq!(
                    diagnostic["at"]["json-path"],
                    "$['quality-hold'].disposition"
                );
                let message = diagnostic["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("unknown case `Hold`") && message.contains("`hold`"),
                    "the cases as the contract writes them: {message}"
                );
            }
            other => panic!("{other}"),
        }
        let control = hold("1", "2024-06-12T12:40:00Z").replace("\"DIM\"", "\"DIM\\u0007\"");
        match map("acme", &envelope(&control), &limits).expect_err("control character") {
            InvokeError::Mapping { diagnostic, .. } => {
                assert_eq!(diagnostic["code"], "control-character")
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn decimals_are_signed_digits_with_an_optional_fraction() {
        for good in ["0", "12", "-3", "+4", "60.310"] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in ["", "-", ".5", "5.", "1,5", "1e3", "0x10", " 1"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
