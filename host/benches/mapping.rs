//! What one message costs in the host, measured against baselines in the same run:
//!
//! - `856/native` vs `856/component`: the reference 856 mapping compiled natively and called through the SDK
//!   harness, vs the same mapping as a component in the host (a fresh instance per message, the host's parser
//!   behind the `edi` import, the events lifted into the contract's Rust types), on the same synthetic ship
//!   notices of about 1 KiB and 16 KiB; `856/component+json` adds writing the events as canonical JSON, which
//!   the native baseline does not do;
//! - `instance/fresh` vs `instance/reused`: a whole message with a new instance each time vs one warm instance,
//!   and `instance/instantiate` alone (instantiate from the `InstancePre` and drop).
//!
//! - `edi/native` vs `edi/through-host`: the host's parser called natively vs called by a component through the
//!   `edi` import (the `test-misbehaving` plugin's `parse` command, on a warm instance), on the same 1 KiB ship
//!   notice: what crossing the boundary with a parsed tree costs.
//!
//! - `epoch/on` vs `epoch/off`: the 856 component (fresh instance per message, as `856/component`) on an engine
//!   whose compiled code checks the epoch — what enforces every call's deadline — vs one without the checks:
//!   what deadlines cost the mapping.
//!
//! The bench uses mimalloc, the binary's global allocator, on both sides of every ratio.
//!
//! Build the plugins first, then: `cargo bench -p millwright --bench mapping`. Figures go to
//! docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use millwright::invoke::{InstancePolicy, Mapper};
use millwright_sdk::harness::Harness;
use x12_856_ship_notice::ShipNoticeMapper;

/// The same allocator as the `millwright` binary (host/src/main.rs), so the host's side is measured as it ships.
/// The native baseline runs in this process too and gets it as well, so the ratios stay like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;
use support::{envelope, load, load_with, ship_notice};

fn mapper(policy: InstancePolicy) -> Mapper {
    load("x12-856-ship-notice", policy)
}

fn native_vs_component(c: &mut Criterion) {
    let fresh = mapper(InstancePolicy::Fresh);
    let harness = Harness::new().with_config("timezone", "America/Chicago");
    let mut group = c.benchmark_group("856");
    for (label, packs) in [("1KiB", 5), ("16KiB", 134)] {
        let doc = ship_notice(packs);
        group.throughput(Throughput::Bytes(doc.len() as u64));
        let sdk_envelope = millwright_sdk::types::Envelope::for_bytes("supplier-856", doc.clone());
        group.bench_with_input(BenchmarkId::new("native", label), &sdk_envelope, |b, e| {
            b.iter(|| black_box(harness.map::<ShipNoticeMapper>(e.clone()).expect("maps")))
        });
        let host_envelope = envelope(doc);
        group.bench_with_input(
            BenchmarkId::new("component", label),
            &host_envelope,
            |b, e| {
                let mut session = fresh.session();
                b.iter(|| black_box(session.map_typed(e).expect("maps")))
            },
        );
        group.bench_with_input(
            BenchmarkId::new("component+json", label),
            &host_envelope,
            |b, e| {
                let mut session = fresh.session();
                b.iter(|| black_box(session.map(e).expect("maps")))
            },
        );
    }
    group.finish();
}

fn epoch_on_vs_off(c: &mut Criterion) {
    use millwright::engine::EngineOptions;
    let on = mapper(InstancePolicy::Fresh);
    let off = load_with(
        "x12-856-ship-notice",
        InstancePolicy::Fresh,
        &EngineOptions::default().with_epoch_interruption(false),
    );
    let mut group = c.benchmark_group("epoch");
    for (label, packs) in [("1KiB", 5), ("16KiB", 134)] {
        let message = envelope(ship_notice(packs));
        for (name, mapper) in [("on", &on), ("off", &off)] {
            group.bench_with_input(BenchmarkId::new(name, label), &message, |b, e| {
                let mut session = mapper.session();
                b.iter(|| black_box(session.map_typed(e).expect("maps")))
            });
        }
    }
    group.finish();
}

fn fresh_vs_reused(c: &mut Criterion) {
    let fresh = mapper(InstancePolicy::Fresh);
    let reused = mapper(InstancePolicy::Reuse {
        recycle_after: u32::MAX,
    });
    let message = envelope(ship_notice(4));
    let mut group = c.benchmark_group("instance");
    group.bench_function("fresh", |b| {
        let mut session = fresh.session();
        b.iter(|| black_box(session.map(&message).expect("maps")))
    });
    group.bench_function("reused", |b| {
        let mut session = reused.session();
        b.iter(|| black_box(session.map(&message).expect("maps")))
    });
    group.bench_function("instantiate", |b| {
        b.iter(|| fresh.instantiate_and_drop().expect("instantiates"))
    });
    group.finish();
}

fn edi_boundary(c: &mut Criterion) {
    let probe = load(
        "test-misbehaving",
        InstancePolicy::Reuse {
            recycle_after: u32::MAX,
        },
    );
    let doc = ship_notice(4);
    let mut command = b"parse\n".to_vec();
    command.extend_from_slice(&doc);
    let message = envelope(command);
    let mut group = c.benchmark_group("edi");
    group.bench_function("native", |b| {
        b.iter(|| black_box(millwright::edi::parse(&doc).expect("parses")))
    });
    group.bench_function("through-host", |b| {
        let mut session = probe.session();
        b.iter(|| black_box(session.map_typed(&message).expect("parses")))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = native_vs_component, epoch_on_vs_off, fresh_vs_reused, edi_boundary
}
criterion_main!(benches);
