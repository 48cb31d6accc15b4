//! What the host's readers of untrusted bodies must keep, whatever the bytes: one definition shared by the
//! property tests (`tests/properties.rs`, on stable in the normal test run) and the fuzz targets
//! (`fuzz/fuzz_targets/`, under cargo-fuzz), so both check the same thing. Each function panics when a
//! property does not hold; a panic inside the reader itself is the first thing either harness reports.
//!
//! The readers are the ones a document or an admin request reaches without a server in between:
//! - the built-in `canonical` mapper ([`millwright::canonical::mapper::map`]), which reads canonical JSON
//!   published by a partner against the contract;
//! - the rule settings of `PUT /v1/tenants/{t}/rules` ([`RuleSettings::from_json`]);
//! - the route checker behind `PUT /v1/tenants/{t}/routes/{r}` ([`millwright::config::route::api_route`]);
//! - the master-data table reader behind `PUT /v1/tenants/{t}/lookups/{table}` ([`Table::parse`]).
//!
//! A refusal is always located: a JSON path that leads into the document (or a line and column when it is
//! not JSON), the field, or the line of the table. What is accepted reads back as itself.

use millwright::canonical;
use millwright::config::route::api_route;
use millwright::host_api::lookup::Table;
use millwright::invoke::{Envelope, FailureClass, InvokeError, Limits};
use millwright::names::RouteName;
use millwright::rules::settings::RuleSettings;
use serde_json::Value;

/// The tenant the canonical mapper publishes for.
pub const TENANT: &str = "acme";

/// The name the route's address gives.
pub const ROUTE: &str = "supplier-856";

/// The canonical mapper on one payload: events stamped with the host's tenant and correlation id and free of
/// control characters, or an `invalid-document` refusal whose JSON path leads into the document.
pub fn canonical_json(data: &[u8]) {
    let envelope = Envelope {
        source: "canonical".into(),
        message_id: "m-1".into(),
        correlation_id: "corr-1".into(),
        received_at: jiff::Timestamp::UNIX_EPOCH,
        content_type: Some("application/json".into()),
        file_name: None,
        headers: Vec::new(),
        payload: bytes::Bytes::copy_from_slice(data),
    };
    let document: Option<Value> = serde_json::from_slice(data).ok();
    match canonical::mapper::map(TENANT, &envelope, &Limits::default()) {
        Ok(events) => {
            let given = match &document {
                Some(Value::Array(values)) => values.len(),
                Some(Value::Object(_)) => 1,
                other => {
                    panic!("events read from something that is not an event or a list: {other:?}")
                }
            };
            assert_eq!(events.len(), given, "one event per event given");
            for event in &events {
                let value: Value = serde_json::from_slice(&event.json).expect("an event is JSON");
                let header = &value[event.event_type]["header"];
                assert_eq!(header["tenant"], TENANT, "the host's tenant: {value}");
                assert_eq!(
                    header["correlation-id"], "corr-1",
                    "the host's correlation id: {value}"
                );
                assert_eq!(
                    canonical::control_character(&event.json),
                    None,
                    "a published event holds a control character"
                );
            }
        }
        Err(InvokeError::Mapping { class, diagnostic }) => {
            assert_eq!(class, FailureClass::InvalidDocument, "{diagnostic}");
            let at = &diagnostic["at"];
            match (&document, at["json-path"].as_str()) {
                (Some(document), Some(path)) => assert!(
                    resolves(document, path),
                    "the refusal names {path}, which is not in the document: {diagnostic}"
                ),
                (None, None) => assert!(
                    at["line"].as_u64().is_some_and(|l| l >= 1) && at["element"].is_u64(),
                    "a document that is not JSON is refused at a line and column: {diagnostic}"
                ),
                _ => panic!("a refusal neither at a JSON path nor at a line: {diagnostic}"),
            }
            assert!(
                diagnostic["message"]
                    .as_str()
                    .is_some_and(|m| !m.trim().is_empty()),
                "a refusal without a word: {diagnostic}"
            );
        }
        // A limit, not a fault of the reader: the document is larger than a route takes.
        Err(InvokeError::OutputLimit(_)) => {}
        Err(other) => {
            panic!("the canonical mapper failed on a document as the host's fault: {other}")
        }
    }
}

/// Whether a JSON path as the host writes it (`$[1]['ship-notice'].lines[0]`, `$.x`, `$["odd key"]`) leads to
/// a value in `document`. Keys are matched by trying each member's three spellings, so any key works.
pub fn resolves(document: &Value, path: &str) -> bool {
    path.strip_prefix('$')
        .is_some_and(|rest| follows(document, rest))
}

fn follows(here: &Value, rest: &str) -> bool {
    if rest.is_empty() {
        return true;
    }
    let at_boundary = |after: &str| after.is_empty() || after.starts_with(['.', '[']);
    match here {
        Value::Array(items) => rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .and_then(|(index, after)| Some((index.parse::<usize>().ok()?, after)))
            .is_some_and(|(index, after)| {
                at_boundary(after) && items.get(index).is_some_and(|item| follows(item, after))
            }),
        Value::Object(members) => members.iter().any(|(key, value)| {
            [
                format!(".{key}"),
                format!("['{key}']"),
                format!("[{key:?}]"),
            ]
            .iter()
            .any(|spelling| {
                rest.strip_prefix(spelling.as_str())
                    .is_some_and(|after| at_boundary(after) && follows(value, after))
            })
        }),
        _ => false,
    }
}

/// Rule settings as `PUT /v1/tenants/{t}/rules` reads them: accepted settings write back to JSON that reads as
/// the same settings (what the API shows pastes back); a refusal names the field or the line and column.
pub fn rule_settings(data: &[u8]) {
    match RuleSettings::from_json(data) {
        Ok(settings) => {
            let written = serde_json::to_vec(&settings).expect("settings write as JSON");
            let again = RuleSettings::from_json(&written).unwrap_or_else(|err| {
                panic!(
                    "the settings as written do not read back: {err}\n{}",
                    String::from_utf8_lossy(&written)
                )
            });
            assert_eq!(
                again, settings,
                "written and read again, the settings changed"
            );
        }
        Err(message) => assert!(
            message.starts_with("rule settings, at ") || message.contains(" at line "),
            "the refusal names neither a field nor a line: {message}"
        ),
    }
}

/// A route body as `PUT /v1/tenants/{t}/routes/{r}` reads it, once axum has read it as JSON (bodies that are not
/// JSON are axum's to refuse): an accepted route has the address's name; a refusal says something.
pub fn route_body(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        let _ = route_value(&body);
    }
}

/// The route checker on one JSON body; the route's result, for properties that look further.
pub fn route_value(body: &Value) -> Result<(), String> {
    let name = RouteName::new(ROUTE).expect("a valid route name");
    match api_route(&name, body) {
        Ok(route) => {
            assert_eq!(
                route.common.name.as_str(),
                ROUTE,
                "the route is the address's"
            );
            Ok(())
        }
        Err(err) => {
            let message = format!("{err:#}");
            assert!(!message.trim().is_empty(), "a refusal without a word");
            Err(message)
        }
    }
}

/// A lookup table as `PUT /v1/tenants/{t}/lookups/{table}` reads it: an accepted table writes back to CSV that
/// reads as the same table; a refusal names a line of the body, unless the whole table is empty.
pub fn lookup_table(data: &[u8]) {
    match Table::parse(data) {
        Ok(table) => {
            let written = table.to_csv();
            let again = Table::parse(&written).unwrap_or_else(|err| {
                panic!(
                    "the table as written does not read back: {err}\n{}",
                    String::from_utf8_lossy(&written)
                )
            });
            assert_eq!(again, table, "written and read again, the table changed");
        }
        Err(err) if err.code == "empty_table" => assert_eq!(err.line, None, "{err}"),
        Err(err) => {
            let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            assert!(
                err.line.is_some_and(|l| (1..=lines).contains(&l)),
                "the refusal ({}) names line {:?} of {lines}: {err}",
                err.code,
                err.line
            );
        }
    }
}
