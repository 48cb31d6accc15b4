//! What the host must know before and after it publishes: whether a message fits the server's `max_payload`,
//! whether a failed publish may succeed if tried again, and how text becomes a header value NATS clients read
//! back unchanged.
//!
//! NATS refuses a message whose headers and payload together exceed the `max_payload` the server announced
//! (1 MiB by default). Such a refusal is permanent: retrying the same output can never work, so the pipeline
//! dead-letters its input at once, and sizes every output before publishing any, so an input is never half
//! published. A publish that timed out or found no stream may work later and counts against the route's
//! attempts like any other transient failure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};

/// The size NATS counts against `max_payload`: the serialized header block (as `HPUB` sends it) plus the
/// payload. A message without headers counts its payload only.
pub fn wire_size(headers: &HeaderMap, payload_len: usize) -> usize {
    if headers.is_empty() {
        return payload_len;
    }
    // "NATS/1.0\r\n", then "<name>: <value>\r\n" for every value, then "\r\n".
    let mut size = 10 + 2;
    for (name, values) in headers.iter() {
        let name: &str = name.as_ref();
        for value in values {
            size += name.len() + 2 + value.as_str().len() + 2;
        }
    }
    size + payload_len
}

/// Why a publish failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishFailure {
    /// The server will never take this message: over `max_payload`, a subject it denies, a stream limit the
    /// message alone breaks.
    Permanent(String),
    /// It may take it later: no stream answered, no acknowledgment in time, the connection went away.
    Transient(String),
}

impl PublishFailure {
    /// The reason, as a sentence.
    pub fn message(&self) -> &str {
        match self {
            PublishFailure::Permanent(m) | PublishFailure::Transient(m) => m,
        }
    }
}

/// The JetStream API error code for "message size exceeds maximum allowed" (a stream's `max_msg_size`).
const JS_MESSAGE_TOO_LARGE: u64 = 10054;

/// How long a permission violation the server reported is taken to explain a publish that got no answer.
const DENIAL_MEMORY: Duration = Duration::from_secs(60);

/// Subjects the server refused this connection permission to publish on, as it reported them (asynchronously,
/// as `-ERR 'Permissions Violation for Publish to "<subject>"'`). A JetStream publish to a denied subject gets
/// no acknowledgment, only a timeout; this is how the host tells that timeout from a slow server.
#[derive(Debug, Clone, Default)]
pub struct Denials {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Denials {
    /// Records a server error if it is a publish permission violation.
    pub fn note(&self, server_error: &str) {
        if let Some(subject) = denied_subject(server_error) {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.retain(|_, at| at.elapsed() < DENIAL_MEMORY);
            seen.insert(subject, Instant::now());
        }
    }

    /// Whether the server recently denied publishing to `subject`.
    pub fn denied(&self, subject: &str) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(subject)
            .is_some_and(|at| at.elapsed() < DENIAL_MEMORY)
    }
}

/// The subject in `Permissions Violation for Publish to "<subject>"`, if the text is that error.
fn denied_subject(server_error: &str) -> Option<String> {
    let lower = server_error.to_ascii_lowercase();
    let start = lower.find("permissions violation for publish to")?;
    let rest = &server_error[start + "permissions violation for publish to".len()..];
    let rest = rest.trim_start().trim_start_matches(['"', '\'']);
    let end = rest.find(['"', '\'']).unwrap_or(rest.len());
    let subject = rest[..end].trim();
    (!subject.is_empty()).then(|| subject.to_string())
}

/// Sorts a failed JetStream publish to `subject` into permanent and transient.
pub fn classify(err: &PublishError, subject: &str, denials: &Denials) -> PublishFailure {
    let what = format!("publishing to {subject}: {err}");
    match err.kind() {
        PublishErrorKind::MaxPayloadExceeded => PublishFailure::Permanent(what),
        PublishErrorKind::TimedOut if denials.denied(subject) => PublishFailure::Permanent(
            format!("the NATS server denies publishing to {subject} (permissions violation)"),
        ),
        PublishErrorKind::Other => {
            let code = std::error::Error::source(err)
                .and_then(|source| source.downcast_ref::<async_nats::jetstream::Error>())
                .map(|js| js.error_code().0);
            if code == Some(JS_MESSAGE_TOO_LARGE) {
                PublishFailure::Permanent(what)
            } else {
                PublishFailure::Transient(what)
            }
        }
        _ => PublishFailure::Transient(what),
    }
}

/// Text as a header value that every NATS client reads back as written: one line, printable ASCII only. Line
/// breaks become ` | `; a backslash, a control character and anything beyond ASCII are written as JSON-style
/// escapes (`\\`, `\u2014`), which [`header_text_decoded`] reverses.
pub fn header_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split(['\r', '\n']).filter(|l| !l.is_empty());
    if let Some(first) = lines.next() {
        escape_into(first, &mut out, true);
        for line in lines {
            out.push_str(" | ");
            escape_into(line, &mut out, true);
        }
    }
    out
}

/// JSON as a header value: non-ASCII characters written as `\uXXXX` escapes inside its strings, so the value is
/// printable ASCII and still the same JSON.
pub fn header_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    // serde_json already escapes control characters and backslashes inside strings; only non-ASCII remains.
    escape_into(&text, &mut out, false);
    out
}

fn escape_into(text: &str, out: &mut String, backslash: bool) {
    use std::fmt::Write;
    for ch in text.chars() {
        match ch {
            '\\' if backslash => out.push_str("\\\\"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
}

/// Reverses [`header_text`]'s escapes. A malformed escape is kept as written.
pub fn header_text_decoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut units: Vec<u16> = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('\\') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("\\\\") {
            out.push('\\');
            rest = after;
            continue;
        }
        // A run of \uXXXX escapes, decoded together so surrogate pairs join.
        let mut run = tail;
        units.clear();
        while let Some(hex) = run.strip_prefix("\\u").and_then(|r| r.get(..4))
            && let Ok(unit) = u16::from_str_radix(hex, 16)
        {
            units.push(unit);
            run = &run[6..];
        }
        if units.is_empty() {
            out.push('\\');
            rest = &tail[1..];
        } else {
            out.extend(char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or('\u{fffd}')));
            rest = run;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_size_counts_what_nats_sends() {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", "abc");
        headers.append("Mw-Source", "x");
        headers.append("Mw-Source", "yz");
        // NATS/1.0\r\n + "Nats-Msg-Id: abc\r\n" + "Mw-Source: x\r\n" + "Mw-Source: yz\r\n" + \r\n
        assert_eq!(wire_size(&headers, 100), 10 + 18 + 14 + 15 + 2 + 100);
        assert_eq!(wire_size(&HeaderMap::new(), 7), 7);
    }

    #[test]
    fn header_text_is_printable_ascii_and_reads_back() {
        let text =
            "expects text — set payload = \"bytes\"\r\nsecond line … C:\\path \u{1F4E6} \u{0}";
        let value = header_text(text);
        assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)), "{value}");
        assert!(value.contains("\\u2014"), "{value}");
        assert!(value.contains(" | second line"), "{value}");
        assert_eq!(
            header_text_decoded(&value),
            "expects text — set payload = \"bytes\" | second line … C:\\path \u{1F4E6} \u{0}"
        );
    }

    #[test]
    fn header_json_is_ascii_and_the_same_json() {
        let value = serde_json::json!({"message": "Größe — \u{0} \"q\" \\", "n": 3});
        let text = header_json(&value);
        assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn a_permission_violation_names_its_subject() {
        let denials = Denials::default();
        denials.note("Permissions Violation for Publish to \"mw.acme.ev.ship-notice\"");
        denials.note("nats: authorization violation");
        assert!(denials.denied("mw.acme.ev.ship-notice"));
        assert!(!denials.denied("mw.acme.ev.goods-receipt"));
        assert_eq!(
            denied_subject("permissions violation for publish to 'a.b'"),
            Some("a.b".into())
        );
    }

    #[test]
    fn publish_errors_are_sorted_by_whether_a_retry_can_help() {
        let denials = Denials::default();
        let too_large = PublishError::new(PublishErrorKind::MaxPayloadExceeded);
        assert!(matches!(
            classify(&too_large, "s", &denials),
            PublishFailure::Permanent(_)
        ));
        let no_stream = PublishError::new(PublishErrorKind::StreamNotFound);
        assert!(matches!(
            classify(&no_stream, "s", &denials),
            PublishFailure::Transient(_)
        ));
        let timed_out = PublishError::new(PublishErrorKind::TimedOut);
        assert!(matches!(
            classify(&timed_out, "s", &denials),
            PublishFailure::Transient(_)
        ));
        denials.note("Permissions Violation for Publish to \"s\"");
        assert!(matches!(
            classify(&timed_out, "s", &denials),
            PublishFailure::Permanent(_)
        ));
    }
}
