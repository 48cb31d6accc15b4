//! Parse throughput of `millwright_edi::parse` on real ship notices: every X12 856 in the public corpus
//! (`../shared/edi-corpus`, or `MILLWRIGHT_EDI_CORPUS`) that parses, as one set, and the largest of them alone.
//! Throughput is reported in bytes, so criterion prints MB/s (MiB/s).
//!
//! Run with `CARGO_TARGET_DIR=/work/target-edi cargo bench -p millwright-edi --bench parse`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus_dir() -> PathBuf {
    std::env::var_os("MILLWRIGHT_EDI_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/edi-corpus"),
        PathBuf::from,
    )
}

/// Every corpus file that parses and holds an 856.
fn ship_notices() -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![corpus_dir()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let is_856 = millwright_edi::parse(&bytes).is_ok_and(|interchanges| {
                interchanges
                    .iter()
                    .flat_map(|i| &i.groups)
                    .flat_map(|g| &g.transactions)
                    .any(|t| t.code == "856")
            });
            if is_856 {
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    found
}

fn parse_856(c: &mut Criterion) {
    let files = ship_notices();
    assert!(
        !files.is_empty(),
        "no 856 files found under {}",
        corpus_dir().display()
    );
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let mut group = c.benchmark_group("parse_856");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function(format!("all_{}_files_{total}_bytes", files.len()), |b| {
        b.iter(|| {
            for (_, bytes) in &files {
                black_box(millwright_edi::parse(black_box(bytes)).ok());
            }
        });
    });
    if let Some((path, bytes)) = files.iter().max_by_key(|(_, b)| b.len()) {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("largest_{name}_{}_bytes", bytes.len()), |b| {
            b.iter(|| black_box(millwright_edi::parse(black_box(bytes)).ok()));
        });
    }
    group.finish();
}

criterion_group!(benches, parse_856);
criterion_main!(benches);
