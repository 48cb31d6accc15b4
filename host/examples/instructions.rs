//! Runs one step of the mapping benchmark a fixed number of times, for counting instructions with valgrind's
//! callgrind, which a busy machine does not disturb the way it disturbs timings:
//!
//! ```sh
//! cargo build --release -p millwright --example instructions
//! valgrind --tool=callgrind --toggle-collect='*instructions::step*' \
//!     target/release/examples/instructions component   # or: native, json, instantiate; then `16` for 16 KiB
//! ```
//!
//! Divide the collected instructions by the number of steps (300, or 1,000 for `instantiate`; a tenth of that with `16`). The inputs are
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
    /// The component, then the events written as canonical JSON.
    Json(Session<'a>, &'a Envelope),
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
        Step::Json(session, envelope) => {
            std::hint::black_box(session.map(envelope).expect("maps"));
        }
        Step::Instantiate(mapper) => mapper.instantiate_and_drop().expect("instantiates"),
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    // The 1 KiB notice by default; `16` for the 16 KiB one (a tenth of the steps).
    let large = std::env::args().nth(2).as_deref() == Some("16");
    let document = support::ship_notice(if large { 134 } else { 5 });
    let mapper = support::load("x12-856-ship-notice", InstancePolicy::Fresh);
    let harness = Harness::new().with_config("timezone", "America/Chicago");
    let sdk_envelope = millwright_sdk::types::Envelope::for_bytes("supplier-856", document.clone());
    let host_envelope = support::envelope(document);
    let (mut current, mut count) = match which.as_str() {
        "native" => (Step::Native(&harness, &sdk_envelope), 300),
        "component" => (Step::Component(mapper.session(), &host_envelope), 300),
        "instantiate" => (Step::Instantiate(&mapper), 1000),
        "json" => (Step::Json(mapper.session(), &host_envelope), 300),
        "ab" => {
            alternate(
                ("native", Step::Native(&harness, &sdk_envelope)),
                (
                    "component",
                    Step::Component(mapper.session(), &host_envelope),
                ),
                if large { 20 } else { 200 },
            );
            return;
        }
        // `vs <other.wasm> [16]`: the built 856 component against another build of it, alternating.
        "vs" => {
            let other = std::env::args().nth(2).unwrap_or_default();
            let large = std::env::args().nth(3).as_deref() == Some("16");
            let document = support::ship_notice(if large { 134 } else { 5 });
            let host_envelope = support::envelope(document);
            let other = support::load_file(
                "x12-856-ship-notice",
                std::path::Path::new(&other),
                InstancePolicy::Fresh,
            );
            alternate(
                ("built", Step::Component(mapper.session(), &host_envelope)),
                ("other", Step::Component(other.session(), &host_envelope)),
                if large { 20 } else { 200 },
            );
            return;
        }
        _ => {
            eprintln!(
                "usage: instructions native|component|json|instantiate|ab [16] | vs <other.wasm> [16]"
            );
            std::process::exit(2);
        }
    };
    if large {
        count /= 10;
    }
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

/// Times `a` and `b` in alternating blocks of `block` steps, 101 blocks each, and prints the median time per
/// step of each and the rate of `b` against `a`. Alternating keeps a noisy machine's slow moments from falling
/// on one side only.
fn alternate((name_a, mut a): (&str, Step<'_>), (name_b, mut b): (&str, Step<'_>), block: usize) {
    let time = |step_: &mut Step<'_>| {
        let start = std::time::Instant::now();
        for _ in 0..block {
            step(step_);
        }
        start.elapsed().as_secs_f64() * 1e6 / block as f64
    };
    for _ in 0..5 {
        time(&mut a);
        time(&mut b);
    }
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..101 {
        ta.push(time(&mut a));
        tb.push(time(&mut b));
    }
    ta.sort_by(f64::total_cmp);
    tb.sort_by(f64::total_cmp);
    let (ma, mb) = (ta[50], tb[50]);
    println!(
        "{name_a} {ma:.2} µs, {name_b} {mb:.2} µs, rate {:.2}×",
        ma / mb
    );
}
