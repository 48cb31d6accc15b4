//! What authorization costs an admin request on the host's side: the presented token's sha256, its record found
//! among 10,000 in this host's copy of the token bucket, its revocation and expiry checked, and the policy's
//! decision for the operation — the work `authorize` adds to every request before the handler runs (the
//! bucket itself is read only for a token this host has not seen yet). Group `access`.
//!
//! `cargo bench -p millwright --bench access`. Figures go to docs/BENCHMARKS.md.

use std::collections::HashMap;
use std::hint::black_box;

use axum::http::Method;
use criterion::{Criterion, criterion_group, criterion_main};
use millwright::access::tokens::{TokenRecord, digest};
use millwright::access::{Grant, Role, permits};
use millwright::names::{Slot, Tenant};

fn record(i: usize) -> TokenRecord {
    TokenRecord {
        id: format!("tok_{i:016x}"),
        name: format!("partner {i}"),
        grant: Grant {
            role: Role::Partner,
            tenant: Some(Tenant::new("acme").expect("tenant")),
            slots: vec![Slot::new("supplier-856").expect("slot")],
        },
        created_at: jiff::Timestamp::now(),
        created_by: "platform-admin".into(),
        expires_at: None,
        revoked_at: None,
        revoked_by: None,
    }
}

fn bench(c: &mut Criterion) {
    let tokens: Vec<String> = (0..10_000).map(|i| format!("mwt_{i:064x}")).collect();
    let known: std::sync::RwLock<HashMap<[u8; 32], TokenRecord>> = std::sync::RwLock::new(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (digest(t), record(i)))
            .collect(),
    );
    let presented = tokens[4242].as_str();
    let mut group = c.benchmark_group("access");
    group.bench_function("authorize", |b| {
        b.iter(|| {
            let digest = digest(black_box(presented));
            let record = known
                .read()
                .expect("lock")
                .get(&digest)
                .cloned()
                .expect("known");
            let principal = record.principal(jiff::Timestamp::now()).expect("live");
            permits(
                &principal.grant,
                &Method::POST,
                black_box("/v1/tenants/{tenant}/plugins/{slot}/versions"),
                Some("acme"),
                Some("supplier-856"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
