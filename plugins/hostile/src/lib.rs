//! A mapper that attacks its host, every message, in the way its route's `mode` (a profile value) says. The
//! host's tests run one route per mode beside a well-behaved tenant and check that each attack is stopped,
//! reported, and — when it goes on input after input — suspends its slot, while the neighbour notices nothing.
//! Never deploy it.
//!
//! Modes: `loop` spins forever; `grow` allocates until memory runs out; `giant` returns one event of `bytes`
//! bytes (17 MiB unless set); `flood` returns `count` events (20,000 unless set); `recurse` recurses until the
//! stack is exhausted; `trap` panics; `slow` spins until the host's clock has turned `seconds` times (2 unless
//! set: between one and two seconds) and then returns one event; `ambient` tries what a plugin must not have —
//! the environment, files, the clocks, a socket to `socket` (a `host:port`) — and returns one event saying what
//! it saw. Without a mode it returns one event echoing the document.

use millwright_sdk::InboundMapper;
use millwright_sdk::host;
use millwright_sdk::types::{
    CanonicalEvent, Envelope, EventHeader, Exception, MappingError, PluginInfo, Severity, Timestamp,
};

/// The hostile mapper.
pub struct Hostile;

impl InboundMapper for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo::new("hostile", env!("CARGO_PKG_VERSION"), ["test:any"]).with_description(
            "attacks its host as its route's `mode` says; for the host's tests only",
        )
    }

    fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
        let number = |key: &str, default: usize| {
            host::config(key)
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        match host::config("mode").as_deref() {
            Some("loop") => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Some("grow") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Some("giant") => {
                let text = "x".repeat(number("bytes", 17 << 20));
                Ok(vec![event(&document, 0, &text)])
            }
            Some("flood") => Ok((0..number("count", 20_000))
                .map(|i| event(&document, i, "flood"))
                .collect()),
            Some("recurse") => {
                let depth = descend(std::hint::black_box(u64::MAX >> 1));
                Ok(vec![event(&document, 0, &format!("returned from {depth}"))])
            }
            Some("trap") => panic!("hostile: asked to crash"),
            Some("slow") => {
                let turns = number("seconds", 2);
                let mut last = host::now().utc;
                let mut turned = 0;
                while turned < turns {
                    let now = host::now().utc;
                    if now != last {
                        turned += 1;
                        last = now;
                    }
                }
                Ok(vec![event(&document, 0, "slow but in time")])
            }
            Some("ambient") => Ok(vec![event(&document, 0, &ambient())]),
            _ => {
                let text = String::from_utf8_lossy(&document.payload).into_owned();
                Ok(vec![event(&document, 0, text.trim())])
            }
        }
    }
}

/// Recurses `depth` levels, each frame kept alive by what follows the call.
#[inline(never)]
fn descend(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    std::hint::black_box(descend(std::hint::black_box(depth - 1))).wrapping_add(1)
}

/// What the plugin sees of the machine it runs on: `env=0 path=absent read=refused(..) write=refused(..)
/// wall-clock=0 monotonic=0 socket=refused(..)` when the sandbox holds.
fn ambient() -> String {
    let outcome = |result: std::io::Result<()>| match result {
        Ok(()) => "allowed".to_string(),
        Err(err) => format!("refused({:?})", err.kind()),
    };
    let read = outcome(std::fs::read("/etc/passwd").map(drop));
    let write = outcome(std::fs::write("/tmp/hostile-was-here", b"x"));
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let started = std::time::Instant::now();
    std::hint::black_box((0..100_000u64).sum::<u64>());
    let monotonic = started.elapsed().as_nanos();
    let target = host::config("socket").unwrap_or_else(|| "127.0.0.1:4222".into());
    let socket = outcome(std::net::TcpStream::connect(target.as_str()).map(drop));
    format!(
        "env={} path={} read={read} write={write} wall-clock={wall} monotonic={monotonic} socket={socket}",
        std::env::vars().count(),
        std::env::var("PATH").map_or("absent".to_string(), |_| "present".to_string()),
    )
}

fn event(document: &Envelope, index: usize, message: &str) -> CanonicalEvent {
    CanonicalEvent::Exception(Exception {
        header: EventHeader {
            id: format!("hostile:{}:{index}", document.message_id),
            source_system: document.source.clone(),
            tenant: String::new(),
            site: None,
            event_time: Timestamp::utc("2024-01-01T00:00:00Z"),
            correlation_id: String::new(),
            idempotency_key: format!("{}:{index}", document.message_id),
        },
        kind: "test".into(),
        severity: Severity::Info,
        subject: "hostile".into(),
        message: message.into(),
        concerns: None,
    })
}

millwright_sdk::export_inbound!(Hostile);
