//! Property tests of the host's readers of untrusted bodies: a short run, in the normal test suite on stable,
//! of what the fuzz targets `canonical_json`, `rule_settings`, `route_body` and `lookup_table` check at length
//! (`scripts/fuzz`, docs/fuzzing.md). The properties are in `checks/`, shared with the fuzz targets.
//!
//! Inputs are arbitrary bytes; JSON built from the readers' own vocabulary (canonical event and field names,
//! rule and route keys) so that it gets past the first member; the golden canonical events of `tests/golden`
//! (read in place) damaged at random paths, as text and as JSON; and CSV of awkward fields. No server and no
//! NATS: these are the library functions the admin API and the `canonical` mapper call.
//!
//! Inputs that once broke a property are kept at the end as named regression tests.

mod checks;
mod support;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Cases per property: seconds on 2 cores in a debug build.
const CASES: u32 = 256;

/// `CASES`, or `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        // A failure prints its shrunk input, which is kept as a named regression test in this file rather than
        // in a file proptest would write beside it.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// --- JSON built from a vocabulary ---

/// Strings a reader gives meaning to, and a few it must refuse.
const WORDS: [&str; 24] = [
    "4h",
    "30m",
    "1d",
    "500ms",
    "-5m",
    "soon",
    "5%",
    "2.5%",
    "-1%",
    "2024-06-12T12:40:00Z",
    "2024-06-12 12:40",
    "12.5",
    "1,5",
    "H87",
    "original",
    "inbound",
    "outbound",
    "canonical",
    "ship-notice",
    "",
    " ",
    "\u{7}",
    "${SECRET}",
    "http://127.0.0.1:1/x",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(WORDS.to_vec()).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ]
}

/// JSON whose object keys are mostly `keys`, nested up to four deep.
fn json_of(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        8 => prop::sample::select(keys.to_vec()).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ];
    leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

// --- The canonical mapper ---

const CANONICAL_KEYS: &[&str] = &[
    "ship-notice",
    "purchase-order",
    "goods-receipt",
    "quality-hold",
    "header",
    "id",
    "idempotency-key",
    "source-system",
    "tenant",
    "site",
    "event-time",
    "correlation-id",
    "utc",
    "original-offset-minutes",
    "value",
    "unit",
    "quantity",
    "lines",
    "hold-id",
    "scope",
    "location",
    "scheme",
    "reason",
    "disposition",
    "at",
    "shipment-id",
    "purpose",
];

/// The golden canonical events (`tests/golden/**/*.json`), each file a list of events as the host published it.
fn golden_documents() -> &'static [Value] {
    static DOCUMENTS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let mut documents = Vec::new();
        let mut stack = vec![support::golden("")];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read(&path).expect("golden file");
                    documents.push(serde_json::from_slice(&text).expect("golden JSON"));
                }
            }
        }
        assert!(
            documents.len() >= 5,
            "only {} golden documents",
            documents.len()
        );
        documents
    })
}

/// One change to a JSON document, at a place picked by a random walk.
#[derive(Debug, Clone)]
enum Edit {
    /// The value there replaced.
    Replace(Vec<usize>, Value),
    /// The member (or item) there removed.
    Remove(Vec<usize>),
    /// A member added beside it, under this key.
    Add(Vec<usize>, String, Value),
    /// The member there given another name.
    Rename(Vec<usize>, String),
    /// The item there sent twice.
    Duplicate(Vec<usize>),
}

/// Walks `steps` into `value` and applies `f` to the container holding the value reached (and its key or index).
fn at_place(value: &mut Value, steps: &[usize], f: &mut dyn FnMut(&mut Value, usize)) {
    let Some((&step, rest)) = steps.split_first() else {
        return;
    };
    let len = match value {
        Value::Array(items) => items.len(),
        Value::Object(members) => members.len(),
        _ => 0,
    };
    if len == 0 {
        return;
    }
    let i = step % len;
    let child = match value {
        Value::Array(items) => &mut items[i],
        Value::Object(members) => members.values_mut().nth(i).expect("within len"),
        _ => return,
    };
    let descend = !rest.is_empty()
        && match child {
            Value::Array(items) => !items.is_empty(),
            Value::Object(members) => !members.is_empty(),
            _ => false,
        };
    if descend {
        at_place(child, rest, f);
    } else {
        f(value, i);
    }
}

fn edit(document: &mut Value, edit: &Edit) {
    match edit {
        Edit::Replace(steps, new) => at_place(document, steps, &mut |parent, i| match parent {
            Value::Array(items) => items[i] = new.clone(),
            Value::Object(members) => {
                if let Some(v) = members.values_mut().nth(i) {
                    *v = new.clone();
                }
            }
            _ => {}
        }),
        Edit::Remove(steps) => at_place(document, steps, &mut |parent, i| match parent {
            Value::Array(items) => {
                items.remove(i);
            }
            Value::Object(members) => {
                if let Some(key) = members.keys().nth(i).cloned() {
                    members.shift_remove(&key);
                }
            }
            _ => {}
        }),
        Edit::Add(steps, key, new) => at_place(document, steps, &mut |parent, _| {
            if let Value::Object(members) = parent {
                members.insert(key.clone(), new.clone());
            }
        }),
        Edit::Rename(steps, key) => at_place(document, steps, &mut |parent, i| {
            if let Value::Object(members) = parent
                && let Some(old) = members.keys().nth(i).cloned()
                && let Some(v) = members.shift_remove(&old)
            {
                members.insert(key.clone(), v);
            }
        }),
        Edit::Duplicate(steps) => at_place(document, steps, &mut |parent, i| {
            if let Value::Array(items) = parent {
                let copy = items[i].clone();
                items.insert(i, copy);
            }
        }),
    }
}

fn edits() -> impl Strategy<Value = Edit> {
    let steps = || prop::collection::vec(any::<usize>(), 1..8);
    let key = || {
        prop_oneof![
            prop::sample::select(CANONICAL_KEYS.to_vec()).prop_map(str::to_string),
            "\\PC{0,8}",
        ]
    };
    prop_oneof![
        (steps(), leaf()).prop_map(|(s, v)| Edit::Replace(s, v)),
        steps().prop_map(Edit::Remove),
        (steps(), key(), leaf()).prop_map(|(s, k, v)| Edit::Add(s, k, v)),
        (steps(), key()).prop_map(|(s, k)| Edit::Rename(s, k)),
        steps().prop_map(Edit::Duplicate),
    ]
}

/// A golden document, or one event of it, with one to three edits.
fn damaged_events() -> impl Strategy<Value = Value> {
    (
        any::<usize>(),
        prop::option::of(any::<usize>()),
        prop::collection::vec(edits(), 1..=3),
    )
        .prop_map(|(which, one, edits)| {
            let documents = golden_documents();
            let mut document = documents[which % documents.len()].clone();
            if let (Some(i), Value::Array(events)) = (one, &document)
                && !events.is_empty()
            {
                document = events[i % events.len()].clone();
            }
            for e in &edits {
                edit(&mut document, e);
            }
            document
        })
}

/// A golden document as text, cut short or with bytes replaced.
fn damaged_text() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<usize>(),
        any::<usize>(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    )
        .prop_map(|(which, cut, replacements)| {
            let documents = golden_documents();
            let mut text = serde_json::to_vec(&documents[which % documents.len()]).expect("JSON");
            for (at, byte) in replacements {
                let len = text.len();
                text[at % len] = byte;
            }
            let keep = cut % (text.len() + 1);
            text.truncate(keep.max(text.len() / 2));
            text
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_canonical_mapper_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        checks::canonical_json(&data);
    }

    #[test]
    fn the_canonical_mapper_refuses_at_a_path_in_the_document(document in json_of(CANONICAL_KEYS)) {
        checks::canonical_json(&serde_json::to_vec(&document).expect("JSON"));
    }

    #[test]
    fn damaged_golden_events_are_published_clean_or_refused_where_damaged(document in damaged_events()) {
        checks::canonical_json(&serde_json::to_vec(&document).expect("JSON"));
    }

    #[test]
    fn damaged_golden_text_is_refused_at_a_line_or_path(text in damaged_text()) {
        checks::canonical_json(&text);
    }
}

#[test]
fn every_golden_event_reads_back_through_the_canonical_mapper() {
    for document in golden_documents() {
        let text = serde_json::to_vec(document).expect("JSON");
        checks::canonical_json(&text);
        let envelope = millwright::invoke::Envelope {
            source: "canonical".into(),
            message_id: "m-1".into(),
            correlation_id: "corr-1".into(),
            received_at: jiff::Timestamp::UNIX_EPOCH,
            content_type: None,
            file_name: None,
            headers: Vec::new(),
            payload: bytes::Bytes::from(text),
        };
        let events = millwright::canonical::mapper::map(
            checks::TENANT,
            &envelope,
            &millwright::invoke::Limits::default(),
        )
        .unwrap_or_else(|e| panic!("a golden document is refused: {e}"));
        assert_eq!(Some(events.len()), document.as_array().map(Vec::len));
    }
}

#[test]
fn json_paths_resolve_only_into_the_document() {
    let document =
        json!([{"ship-notice": {"lines": [{"quantity": {"value": "1"}}], "odd key": 1, "x": 2}}]);
    for good in [
        "$",
        "$[0]",
        "$[0]['ship-notice'].lines[0].quantity.value",
        "$[0]['ship-notice'][\"odd key\"]",
        "$[0]['ship-notice'].x",
    ] {
        assert!(checks::resolves(&document, good), "{good}");
    }
    for bad in [
        "",
        "$[1]",
        "$[0]['ship-notice'].lines[1]",
        "$[0]['ship-notice'].line",
        "$[0]['ship-notice'].xy",
        "$[0].ship",
    ] {
        assert!(!checks::resolves(&document, bad), "{bad}");
    }
}

// --- Rule settings ---

const RULE_KEYS: &[&str] = &[
    "quarantine",
    "order-change",
    "receipt-discrepancy",
    "over-consumption",
    "over-consumption-tolerance",
    "ack-overdue",
    "receipt-overdue",
    "dead-letter-aged",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rule_settings_never_panic_on_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        checks::rule_settings(&data);
    }

    #[test]
    fn rule_settings_read_back_as_written_or_are_refused_at_a_field(document in json_of(RULE_KEYS)) {
        checks::rule_settings(&serde_json::to_vec(&document).expect("JSON"));
    }

    #[test]
    fn any_window_and_tolerance_read_back_as_written(
        // A window is read through a signed duration, so it is never longer than i64::MAX seconds.
        seconds in 0..=i64::MAX as u64,
        nanos in 0u32..1_000_000_000,
        tolerance in "[0-9]{1,20}(\\.[0-9]{1,9})?",
    ) {
        let window = millwright::rules::settings::Window(std::time::Duration::new(seconds, nanos));
        let body = json!({
            "ack-overdue": window.to_string(),
            "over-consumption-tolerance": format!("{tolerance}%"),
        });
        checks::rule_settings(&serde_json::to_vec(&body).expect("JSON"));
    }
}

// --- Routes ---

const ROUTE_KEYS: &[&str] = &[
    "direction",
    "name",
    "source",
    "slot",
    "plugin",
    "config",
    "payload",
    "mapper",
    "acknowledgments",
    "kind",
    "target",
    "duplicate_window",
    "events",
    "subject",
    "url",
    "method",
    "headers",
    "timeout",
    "instances",
    "recycle_after",
    "workers",
    "max_attempts",
    "backoff",
    "max_backoff",
    "ack_wait",
    "deadline",
    "memory_mb",
    "max_payload_bytes",
    "batch",
];

fn inbound_route() -> Value {
    json!({
        "direction": "inbound",
        "source": "supplier-856",
        "slot": "x12-856",
        "config": {"timezone": "America/Chicago"},
        "payload": "text",
        "acknowledgments": {"kind": "997", "target": "supplier-acks", "duplicate_window": "1d"},
        "instances": "reuse",
        "recycle_after": 100,
        "workers": 2,
        "max_attempts": 3,
        "backoff": "1s",
        "max_backoff": "1m",
        "ack_wait": "30s",
        "deadline": "2s",
        "memory_mb": 64,
        "max_payload_bytes": 1048576,
        "batch": 32
    })
}

fn outbound_route() -> Value {
    json!({
        "direction": "outbound",
        "events": ["ship-notice"],
        "target": {"url": "http://127.0.0.1:9/receipts", "method": "PUT", "headers": {"x-plant": "P2"}, "timeout": "5s"},
        "slot": "erp-json"
    })
}

/// What each kind of field is given instead of what it takes.
fn wrong_for(field: &str) -> Vec<Value> {
    match field {
        "recycle_after" | "workers" | "max_attempts" | "memory_mb" | "max_payload_bytes"
        | "batch" => vec![
            json!("2"),
            json!(-1),
            json!(1.5),
            json!(true),
            json!([]),
            json!({}),
            json!(1e30),
        ],
        "config" => vec![
            json!("timezone"),
            json!(5),
            json!([]),
            json!({"timezone": 5}),
        ],
        "acknowledgments" => vec![
            json!("997"),
            json!(5),
            json!({"kind": 997}),
            json!({"target": []}),
        ],
        "events" => vec![json!("ship-notice"), json!(5), json!([5]), json!({})],
        "target" => vec![
            json!("erp"),
            json!(5),
            json!({"subject": 5}),
            json!({"headers": {"x": 1}}),
        ],
        _ => vec![json!(5), json!(true), json!([]), json!({}), json!(1.5)],
    }
}

const ROUTE_FIELDS: &[&str] = &[
    "direction",
    "name",
    "source",
    "slot",
    "plugin",
    "config",
    "payload",
    "mapper",
    "acknowledgments",
    "events",
    "target",
    "instances",
    "recycle_after",
    "workers",
    "max_attempts",
    "backoff",
    "max_backoff",
    "ack_wait",
    "deadline",
    "memory_mb",
    "max_payload_bytes",
    "batch",
];

/// Whether a refusal names `field` as the place of the problem, not merely among the fields it lists.
fn names_field(message: &str, field: &str) -> bool {
    message.contains(&format!("at {field}"))
        || message.contains(&format!("{field} is "))
        || message.contains(&format!("unknown field `{field}`"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn route_bodies_never_panic_on_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        checks::route_body(&data);
    }

    #[test]
    fn route_bodies_of_route_keys_are_checked_without_panic(body in json_of(ROUTE_KEYS)) {
        let _ = checks::route_value(&body);
    }

    #[test]
    fn a_route_field_of_the_wrong_type_is_refused_naming_the_field(
        outbound in any::<bool>(),
        field in prop::sample::select(ROUTE_FIELDS.to_vec()),
        pick in any::<usize>(),
    ) {
        let mut body = if outbound { outbound_route() } else { inbound_route() };
        let wrong = wrong_for(field);
        body[field] = wrong[pick % wrong.len()].clone();
        let message = checks::route_value(&body)
            .expect_err("a field of the wrong type is refused");
        prop_assert!(names_field(&message, field), "{field} = {}: {message}", body[field]);
    }
}

#[test]
fn the_route_bodies_the_properties_start_from_are_valid() {
    assert_eq!(checks::route_value(&inbound_route()), Ok(()));
    assert_eq!(checks::route_value(&outbound_route()), Ok(()));
}

// --- Lookup tables ---

/// A CSV field: plain text, or text with what CSV gives meaning to (commas, quotes, spaces, line breaks), or a
/// control character, a byte order mark, or nothing.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._-]{1,8}",
        1 => "[ ,\"a\r\n]{0,4}",
        1 => "\\PC{0,6}",
        1 => Just("\u{feff}".to_string()),
        1 => Just("\u{7}".to_string()),
        1 => Just(String::new()),
    ]
}

fn csv_line() -> impl Strategy<Value = String> {
    (prop::collection::vec(field(), 0..4), any::<bool>()).prop_map(|(fields, quote)| {
        fields
            .iter()
            .map(|f| {
                if quote {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn csv_table() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::collection::vec(csv_line(), 0..8),
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
    )
        .prop_map(|(bom, lines, end)| {
            let mut text = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            text.push_str(&lines.join(end));
            text.into_bytes()
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lookup_tables_never_panic_on_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        checks::lookup_table(&data);
    }

    #[test]
    fn lookup_tables_read_back_as_written_or_are_refused_at_a_line(data in csv_table()) {
        checks::lookup_table(&data);
    }
}

#[test]
fn the_example_tables_read_back_as_written() {
    for dir in [
        "examples/quickstart/master-data",
        "examples/plant/master-data",
    ] {
        let dir = support::root().join(dir);
        for entry in std::fs::read_dir(&dir).expect("master data") {
            let path = entry.expect("directory entry").path();
            let data = std::fs::read(&path).expect("table");
            assert!(
                millwright::host_api::lookup::Table::parse(&data).is_ok(),
                "{}",
                path.display()
            );
            checks::lookup_table(&data);
        }
    }
}

// --- Regressions: inputs that once broke a property ---

/// An event type written as a string, where the contract wants `{"ship-notice": {...}}`, was refused at
/// `$[0]['ship-notice']`, a member the document does not have; it is refused at the string.
#[test]
fn an_event_type_written_as_a_string_is_refused_at_the_string() {
    let document = br#"["ship-notice"]"#;
    checks::canonical_json(document);
    let envelope = millwright::invoke::Envelope {
        source: "canonical".into(),
        message_id: "m-1".into(),
        correlation_id: "corr-1".into(),
        received_at: jiff::Timestamp::UNIX_EPOCH,
        content_type: None,
        file_name: None,
        headers: Vec::new(),
        payload: bytes::Bytes::from_static(document),
    };
    match millwright::canonical::mapper::map(
        checks::TENANT,
        &envelope,
        &millwright::invoke::Limits::default(),
    ) {
        Err(millwright::invoke::InvokeError::Mapping { diagnostic, .. }) => {
            assert_eq!(diagnostic["at"]["json-path"], "$[0]", "{diagnostic}");
        }
        other => panic!("refused as invalid-document, got {other:?}"),
    }
}

/// A route field of the wrong JSON type was refused without naming it ("invalid type: string \"2\", expected
/// usize"), so the caller could not tell which of the route's keys was wrong.
#[test]
fn a_route_field_of_the_wrong_type_is_refused_at_its_path() {
    for (body, place) in [
        (
            json!({"direction": "inbound", "source": "supplier-856", "workers": "2"}),
            "at workers:",
        ),
        (json!({"direction": "inbound", "source": 5}), "at source:"),
        (
            json!({"direction": "outbound", "events": ["ship-notice"], "target": {"url": "http://127.0.0.1:9/x", "headers": {"x-plant": 2}}}),
            "at target.headers.x-plant:",
        ),
    ] {
        let message = checks::route_value(&body).expect_err("refused");
        assert!(message.contains(place), "{body}: {message}");
    }
}

/// A lookup table whose header began with a second byte order mark (or one inside quotes) was written back
/// with the mark at the start of the file, where the next read strips it: the column's name changed.
#[test]
fn a_byte_order_mark_in_a_column_name_does_not_survive_to_change_it() {
    for data in [
        "\u{feff}\u{feff}item,internal\nA-1,I-1\n",
        "\"\u{feff}\",internal\nA-1,I-1\n",
        "\u{feff}\" \u{feff}item\",internal\nA-1,I-1\n",
    ] {
        checks::lookup_table(data.as_bytes());
        let table = millwright::host_api::lookup::Table::parse(data.as_bytes()).expect("a table");
        assert!(
            !table.columns()[0].starts_with('\u{feff}'),
            "{data:?}: {:?}",
            table.columns()
        );
    }
}
