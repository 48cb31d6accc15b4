//! A mapper that misbehaves on request. The host's tests send it a command as the document and check that the
//! host contains what follows: a deadline, a trap, a memory cap, an output limit, and state left behind in an
//! instance. Never deploy it.
//!
//! Commands (the whole payload): `loop` spins forever; `panic` panics (`panic <message>` with that message, line
//! breaks included); `grow` allocates until memory runs out;
//! `flood N` returns N exception events; `count` returns one exception whose message is how many documents this
//! instance has mapped (1 with a fresh instance per message); `exception <text>` returns one exception whose
//! message is the text as sent (control characters included); `transient`, `unknown` and `invalid` return that
//! mapping error; `ambient` returns one exception describing what the plugin can see of the machine (its
//! environment, a file, the wall clock); `parse` followed by a newline and an EDI document parses it through
//! the host's `edi` import and returns nothing (for benchmarks); anything else returns no events.

use std::sync::atomic::{AtomicU32, Ordering};

use millwright_sdk::InboundMapper;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, Exception, MappingError, PluginInfo, Position, Severity,
    Timestamp,
};

/// Documents mapped by this instance; survives between calls only when the host reuses the instance.
static MAPPED: AtomicU32 = AtomicU32::new(0);

/// The misbehaving mapper.
pub struct Misbehaving;

impl InboundMapper for Misbehaving {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "test-misbehaving",
            env!("CARGO_PKG_VERSION"),
            ["test:command"],
        )
        .with_description("misbehaves on request; for the host's tests only")
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        let count = MAPPED.fetch_add(1, Ordering::Relaxed) + 1;
        // `parse` is followed by an EDI document on the next line: parse it through the host and return nothing,
        // so a benchmark can see what the host's parser costs a component, apart from any mapping.
        if let Some(edi) = document.payload.strip_prefix(b"parse\n") {
            millwright_sdk::edi::parse(edi)?;
            return Ok(Vec::new());
        }
        let command = String::from_utf8_lossy(&document.payload)
            .trim()
            .to_string();
        let (verb, arg) = command.split_once(' ').unwrap_or((command.as_str(), ""));
        match verb {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "panic" if arg.is_empty() => panic!("asked to panic"),
            "panic" => panic!("{arg}"),
            "exception" => Ok(vec![exception(&document, arg)]),
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "flood" => {
                let n: usize = arg.parse().unwrap_or(0);
                Ok((0..n)
                    .map(|i| exception(&document, &format!("event {i}")))
                    .collect())
            }
            "count" => Ok(vec![exception(&document, &count.to_string())]),
            "ambient" => {
                let seen = format!(
                    "env={} file={} clock={}",
                    std::env::vars().count(),
                    std::fs::read("/etc/hostname").is_ok(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                );
                Ok(vec![exception(&document, &seen)])
            }
            "transient" => Err(MappingError::transient(
                "asked to fail transiently",
                Position::new(),
            )),
            "unknown" => Err(MappingError::unknown_reference(
                "asked for an unknown item",
                Position::new(),
            )),
            "invalid" => Err(MappingError::invalid(
                "asked to reject the document",
                Position::new().with_line(1).with_element(1),
            )),
            _ => Ok(Vec::new()),
        }
    }
}

fn exception(document: &Envelope, message: &str) -> CanonicalEvent {
    CanonicalEvent::Exception(Exception {
        header: EventHeader {
            id: format!("test:{}:{message}", document.message_id),
            source_system: document.source.clone(),
            // Claims another tenant and flow: the host must overwrite both from the route and the input.
            tenant: "another-tenant".into(),
            site: None,
            event_time: Timestamp::utc("2024-01-01T00:00:00Z"),
            correlation_id: "forged".into(),
            idempotency_key: format!("{}:{message}", document.message_id),
        },
        kind: "test".into(),
        severity: Severity::Info,
        subject: "test".into(),
        message: message.into(),
        concerns: None,
    })
}

millwright_sdk::export_inbound!(Misbehaving);
