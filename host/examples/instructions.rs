//! Runs one step of the mapping benchmark a fixed number of times, for counting instructions with valgrind's
//! callgrind, which a busy machine does not disturb the way it disturbs timings:
//!
//! ```sh
//! cargo build --release -p millwright --example instructions
//! valgrind --tool=callgrind --toggle-collect='*instructions::step*' \
//!     target/release/examples/instructions component   # or: native, instantiate
//! ```
//!
//! Divide the collected instructions by the number of steps (300, or 1,000 for `instantiate`). The inputs are
//! those of `benches/mapping.rs`: the 1 KiB ship notice, the same plugin, the same harness.

#[path = "../benches/support/mod.rs"]
mod support;

use millwright::invoke::{Envelope, InstancePolicy, Mapper, Session};
use millwright_sdk::harness::Harness;
use x12_856_ship_notice::ShipNoticeMapper;

/// The allocator of the `millwright` binary and of `benches/mapping.rs`, so the counts are of what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What is counted: one message, or one instantiation.
enum Step<'a> {
    Native(&'a Harness, &'a millwright_sdk::types::Envelope),
    Component(Session<'a>, &'a Envelope),
    Instantiate(&'a Mapper),
}

#[inline(never)]
fn step(step: &mut Step<'_>) {
    match step {
        Step::Native(harness, envelope) => {
            std::hint::black_box(
                harness
                    .map::<ShipNoticeMapper>((*envelope).clone())
                    .expect("maps"),
            );
        }
        Step::Component(session, envelope) => {
            std::hint::black_box(session.map_typed(envelope).expect("maps"));
        }
        Step::Instantiate(mapper) => mapper.instantiate_and_drop().expect("instantiates"),
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let document = support::ship_notice(5);
    let mapper = support::load("x12-856-ship-notice", InstancePolicy::Fresh);
    let harness = Harness::new().with_config("timezone", "America/Chicago");
    let sdk_envelope = millwright_sdk::types::Envelope::for_bytes("supplier-856", document.clone());
    let host_envelope = support::envelope(document);
    let (mut current, count) = match which.as_str() {
        "native" => (Step::Native(&harness, &sdk_envelope), 300),
        "component" => (Step::Component(mapper.session(), &host_envelope), 300),
        "instantiate" => (Step::Instantiate(&mapper), 1000),
        _ => {
            eprintln!("usage: instructions native|component|instantiate");
            std::process::exit(2);
        }
    };
    // Warm up outside the counted steps: the pool's first slot, the allocator, the time-zone database.
    let mut warm = Step::Component(mapper.session(), &host_envelope);
    for _ in 0..20 {
        if let Step::Component(session, envelope) = &mut warm {
            session.map_typed(envelope).expect("maps");
        }
        harness
            .map::<ShipNoticeMapper>(sdk_envelope.clone())
            .expect("maps");
    }
    for _ in 0..count {
        step(&mut current);
    }
    println!("{count} steps");
}
