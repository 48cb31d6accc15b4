//! Every reference plugin but the 856 against its own native run, in the pattern of `856/native` vs
//! `856/component` in `mapping.rs`: the plugin crate's mapping called natively through the SDK harness, vs the
//! same mapping as a component in the host, on the same input of about 1 KiB and about 16 KiB.
//!
//! - inbound (`x12-855-order-ack`, `edifact-desadv-ship-notice`, `x12-944-warehouse-receipt`,
//!   `b2mml-production`, `erp-orders-json`, `qms-quality-json`): one document in, events out. `native` is
//!   `Harness::map`; `component` is `Session::map_typed` with a fresh instance per message (the events lifted
//!   into the contract's Rust types, no JSON written), as `856/component`; `component-reused` is the same call on
//!   one warm instance.
//! - outbound (`x12-850-purchase-order`, `erp-inventory-posting`): canonical events in, documents out. `native` is
//!   `Harness::render` on the SDK's typed event; `component` is `Session::render`, which takes the event as
//!   canonical JSON (as the pipeline does), reads it into the contract's types and renders it in a fresh
//!   instance. The inventory posting takes one small event per call, so its 16 KiB input is a batch of events,
//!   one call each.
//!
//! Each input is built from the plugin's own fixtures (plugins/<name>/tests/) by repeating their loops with
//! their numbers, counts and totals kept right. Before anything is measured, every input is mapped once both
//! ways; it must succeed, and native and component must give the same events (or documents).
//!
//! Build the plugins first, then: `cargo bench -p millwright --bench plugins`. Figures go to
//! docs/BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use millwright::engine::{Engine, EngineOptions};
use millwright::host_api::{FixedClock, Lookups, SlotContext};
use millwright::invoke::{Envelope, InstancePolicy, Limits, Mapper};
use millwright::plugin::Plugin;
use millwright_sdk::harness::Harness;
use millwright_sdk::types as sdk;
use millwright_sdk::{InboundMapper, OutboundMapper};
use serde_json::Value;

/// Canonical JSON read into the SDK's types: the plugins' own shared test reader.
#[path = "../../plugins/b2mml-production/tests/common/canonical.rs"]
mod canonical;

/// The same allocator as the `millwright` binary, on both sides of every ratio (as in `mapping.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TENANT: &str = "acme";
const MESSAGE_ID: &str = "bench-1";
const CORRELATION_ID: &str = "bench";

/// The sizes measured: a label and the input size aimed at.
const SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("16KiB", 16 * 1024)];

/// A route as the plugin's golden files were made with it: its source (inbound) or target (outbound), its
/// profile, its master data and the clock.
struct Route {
    plugin: &'static str,
    name: &'static str,
    config: &'static [(&'static str, &'static str)],
    /// Master-data tables: name and a CSV file beside the plugin's tests.
    lookups: &'static [(&'static str, &'static str)],
    now: &'static str,
}

impl Route {
    fn fixture(&self, file: &str) -> PathBuf {
        plugins_dir().join(self.plugin).join("tests").join(file)
    }

    fn read(&self, file: &str) -> String {
        let path = self.fixture(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn harness(&self) -> Harness {
        let mut harness = Harness::new().with_now(self.now);
        for (key, value) in self.config {
            harness = harness.with_config(*key, *value);
        }
        for (table, file) in self.lookups {
            harness = harness
                .with_lookup_csv(*table, self.fixture(file))
                .expect("the table is beside the tests");
        }
        harness
    }

    fn instant(&self) -> jiff::Timestamp {
        self.now.parse().expect("an RFC 3339 instant")
    }

    /// The built component in this route's slot, with the same profile, tables and clock as the harness.
    fn mapper(&self, policy: InstancePolicy) -> Mapper {
        let path = plugins_dir().join(format!("target/components/{}.wasm", self.plugin));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `millwright plugin build` first",
                path.display()
            )
        });
        let engine = Engine::new(&EngineOptions::default()).expect("engine");
        let plugin = Plugin::load(&engine, self.plugin, &bytes).expect("plugin");
        let mut slot =
            SlotContext::new(TENANT, self.name).with_clock(Arc::new(FixedClock(self.instant())));
        for (key, value) in self.config {
            slot = slot.with_config(*key, *value);
        }
        let mut lookups = Lookups::default();
        for (table, file) in self.lookups {
            lookups
                .load_csv(table, &self.fixture(file))
                .expect("the table is beside the tests");
        }
        slot = slot.with_lookups(lookups);
        Mapper::new(&engine, plugin, slot, Limits::default(), policy).expect("mapper")
    }

    /// A document as the native harness gets it: the same fields the host gives the component.
    fn sdk_envelope(&self, payload: &[u8]) -> sdk::Envelope {
        sdk::Envelope {
            source: self.name.to_owned(),
            tenant: TENANT.to_owned(),
            message_id: MESSAGE_ID.to_owned(),
            correlation_id: CORRELATION_ID.to_owned(),
            received_at: sdk::Timestamp::utc(self.now),
            content_type: None,
            file_name: None,
            headers: Vec::new(),
            payload: payload.to_vec(),
        }
    }

    fn host_envelope(&self, payload: &[u8]) -> Envelope {
        Envelope {
            source: self.name.to_owned(),
            message_id: MESSAGE_ID.into(),
            correlation_id: CORRELATION_ID.into(),
            received_at: self.instant(),
            content_type: None,
            file_name: None,
            headers: Vec::new(),
            payload: payload.to_vec().into(),
        }
    }
}

/// The plugins' workspace.
fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

/// `build(n)` for the `n` whose size is closest to `target` bytes (n from 1).
fn sized<T>(target: usize, size: impl Fn(&T) -> usize, build: impl Fn(usize) -> T) -> T {
    let mut best = build(1);
    let mut n = 2;
    loop {
        let next = build(n);
        if size(&next).abs_diff(target) < size(&best).abs_diff(target) {
            best = next;
        } else if size(&next) > target {
            return best;
        }
        n += 1;
    }
}

/// X12 segments of a fixture (terminator `~`, a line break after each), without terminators.
fn x12_segments(text: &str) -> Vec<String> {
    text.split('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The element `i` of an X12 segment.
fn x12_element(segment: &str, i: usize) -> &str {
    segment.split('*').nth(i).unwrap_or("")
}

/// An X12 segment with element `i` replaced.
fn x12_with(segment: &str, i: usize, value: &str) -> String {
    let mut elements: Vec<&str> = segment.split('*').collect();
    elements[i] = value;
    elements.join("*")
}

/// The fixture's segments up to its first loop (`header` of them), then `body`, then its SE with SE01 counted and
/// the rest of its envelope.
fn x12_document(segments: &[String], header: usize, body: Vec<String>) -> Vec<u8> {
    let st = segments
        .iter()
        .position(|s| s.starts_with("ST*"))
        .expect("ST");
    let se = segments
        .iter()
        .position(|s| s.starts_with("SE*"))
        .expect("SE");
    let mut out: Vec<String> = segments[..header].to_vec();
    out.extend(body);
    let count = out.len() - st + 1;
    out.push(x12_with(&segments[se], 1, &count.to_string()));
    out.extend_from_slice(&segments[se + 1..]);
    let mut text = String::new();
    for segment in out {
        text.push_str(&segment);
        text.push_str("~\n");
    }
    text.into_bytes()
}

/// The fixture's loops: each from a segment `starts` accepts up to the next one, or to `end`.
fn loops(segments: &[String], starts: &str, end: &str) -> (usize, Vec<Vec<String>>) {
    let first = segments
        .iter()
        .position(|s| s.starts_with(starts))
        .expect("a loop");
    let mut all: Vec<Vec<String>> = Vec::new();
    for segment in &segments[first..] {
        if segment.starts_with(end) {
            break;
        }
        if segment.starts_with(starts) {
            all.push(Vec::new());
        }
        all.last_mut().expect("a loop").push(segment.clone());
    }
    (first, all)
}

/// `x12-855-order-ack`: brightwire-855.x12 with its six PO1 loops (PO1, PID, ACK) repeated in turn, PO101 and
/// CTT01 numbered and counted.
fn order_ack(route: &Route, n: usize) -> Vec<u8> {
    let segments = x12_segments(&route.read("brightwire-855.x12"));
    let (header, po1) = loops(&segments, "PO1*", "CTT*");
    let mut body = Vec::new();
    for i in 0..n {
        let mut lp = po1[i % po1.len()].clone();
        lp[0] = x12_with(&lp[0], 1, &(i + 1).to_string());
        body.extend(lp);
    }
    body.push(format!("CTT*{n}"));
    x12_document(&segments, header, body)
}

/// `x12-944-warehouse-receipt`: riverside-944.x12 with its four LX loops (LX, W07, G69, N9, W13) repeated in
/// turn, LX01 numbered and the W14 total summed.
fn warehouse_receipt(route: &Route, n: usize) -> Vec<u8> {
    let segments = x12_segments(&route.read("riverside-944.x12"));
    let (header, lx) = loops(&segments, "LX*", "W14*");
    let mut body = Vec::new();
    let mut tenths: u64 = 0;
    for i in 0..n {
        let mut lp = lx[i % lx.len()].clone();
        lp[0] = x12_with(&lp[0], 1, &(i + 1).to_string());
        let w07 = lp.iter().find(|s| s.starts_with("W07*")).expect("W07");
        let quantity: f64 = x12_element(w07, 1).parse().expect("a quantity");
        tenths += (quantity * 10.0).round() as u64;
        body.extend(lp);
    }
    let total = if tenths.is_multiple_of(10) {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    };
    body.push(format!("W14*{total}"));
    x12_document(&segments, header, body)
}

/// The GS1 check digit of the digits of `body`.
fn gs1_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

/// `edifact-desadv-ship-notice`: rhein-stahl-desadv-d96a.edi with its consignment and pallet, then its three
/// line packs (CPS, PAC, MEA, PCI, GIN with an SSCC, LIN, PIA, IMD, QTY, RFF, PCI, GIN with a batch) repeated in
/// turn under their parents: CPS and LIN numbered, every SSCC its own (with its check digit), CNT and UNT counted.
fn despatch_advice(route: &Route, n: usize) -> Vec<u8> {
    let text = route.read("rhein-stahl-desadv-d96a.edi");
    let (una, rest) = text.split_once('\n').expect("UNA on its own line");
    let segments: Vec<&str> = rest
        .split('\'')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let at = |id: &str| {
        segments
            .iter()
            .position(|s| s.starts_with(id))
            .unwrap_or_else(|| panic!("{id}"))
    };
    let (unh, cnt, unt) = (at("UNH+"), at("CNT+"), at("UNT+"));
    let mut groups: Vec<Vec<&str>> = Vec::new();
    for segment in &segments[..cnt] {
        if segment.starts_with("CPS+") {
            groups.push(Vec::new());
        }
        if let Some(group) = groups.last_mut() {
            group.push(segment);
        }
    }
    let header = &segments[..at("CPS+")];
    let (outer, packs): (Vec<_>, Vec<_>) = groups
        .into_iter()
        .partition(|g| !g.iter().any(|s| s.starts_with("LIN+")));
    let mut out: Vec<String> = header.iter().map(|s| (*s).to_owned()).collect();
    for group in &outer {
        out.extend(group.iter().map(|s| (*s).to_owned()));
    }
    for i in 0..n {
        let pack = &packs[i % packs.len()];
        let parent = pack[0].split('+').nth(2).expect("a parent pack");
        out.push(format!("CPS+{}+{parent}", outer.len() + i + 1));
        for segment in &pack[1..] {
            if segment.starts_with("GIN+BJ+") {
                let body = format!("34012345{:09}", 100 + i);
                out.push(format!("GIN+BJ+{body}{}", gs1_check_digit(&body)));
            } else if let Some(lin) = segment.strip_prefix("LIN+") {
                let (_, tail) = lin.split_once('+').expect("LIN");
                out.push(format!("LIN+{}+{tail}", i + 1));
            } else {
                out.push((*segment).to_owned());
            }
        }
    }
    out.push(format!("CNT+2:{n}"));
    let count = out.len() - unh + 1;
    let reference = segments[unt].rsplit('+').next().expect("UNT02");
    out.push(format!("UNT+{count}+{reference}"));
    out.extend(segments[unt + 1..].iter().map(|s| (*s).to_owned()));
    let mut doc = format!("{una}\n");
    for segment in out {
        doc.push_str(&segment);
        doc.push_str("'\n");
    }
    doc.into_bytes()
}

/// `b2mml-production`: wo-240611-01.xml without its comment and indentation, with its two segment responses
/// (stamping: one consumption; assembly: three consumptions and a completion) repeated in turn, each with an ID
/// of its own.
fn production_performance(route: &Route, n: usize) -> Vec<u8> {
    let text = route.read("wo-240611-01.xml");
    let (before, after) = text.split_once("<!--").expect("a comment");
    let (_, after) = after.split_once("-->").expect("a comment");
    let compact: String = format!("{before}{after}")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let open = "<SegmentResponse>";
    let close = "</SegmentResponse>";
    let first = compact.find(open).expect("a segment response");
    let last = compact.rfind(close).expect("a segment response") + close.len();
    let responses: Vec<String> = compact[first..last]
        .split_inclusive(close)
        .map(|s| s.trim().to_owned())
        .collect();
    let mut doc = compact[..first].to_owned();
    for i in 0..n {
        let response = &responses[i % responses.len()];
        let id_start = response.find("<ID>").expect("an ID") + "<ID>".len();
        let id_end = response.find("</ID>").expect("an ID");
        doc.push_str(&response[..id_start]);
        doc.push_str(&format!("SR-WO-240611-01-{:04}", (i + 1) * 10));
        doc.push_str(&response[id_end..]);
        doc.push('\n');
    }
    doc.push_str(&compact[last..]);
    doc.into_bytes()
}

/// `erp-orders-json`: po-4500019921.json, compact, with its two items (and their schedule lines) repeated in
/// turn, each with an item number of its own.
fn erp_order(route: &Route, n: usize) -> Vec<u8> {
    let mut order: Value = serde_json::from_str(&route.read("po-4500019921.json")).expect("JSON");
    let items = order["to_PurchaseOrderItem"]
        .as_array()
        .expect("items")
        .clone();
    let repeated: Vec<Value> = (0..n)
        .map(|i| {
            let mut item = items[i % items.len()].clone();
            item["PurchaseOrderItem"] = Value::String(((i + 1) * 10).to_string());
            item
        })
        .collect();
    order["to_PurchaseOrderItem"] = Value::Array(repeated);
    serde_json::to_vec(&order).expect("JSON")
}

/// `qms-quality-json`: decisions.json, compact, its six decisions repeated in turn.
fn quality_decisions(route: &Route, n: usize) -> Vec<u8> {
    let decisions: Vec<Value> = serde_json::from_str(&route.read("decisions.json")).expect("JSON");
    let repeated: Vec<&Value> = (0..n).map(|i| &decisions[i % decisions.len()]).collect();
    serde_json::to_vec(&repeated).expect("JSON")
}

/// `x12-850-purchase-order`: the purchase order of po-4500013001.json with its six lines repeated in turn, each
/// numbered.
fn purchase_order(route: &Route, n: usize) -> Vec<Value> {
    let mut event: Value = serde_json::from_str(&route.read("po-4500013001.json")).expect("JSON");
    let order = &mut event["purchase-order"];
    let lines = order["lines"].as_array().expect("lines").clone();
    let repeated: Vec<Value> = (0..n)
        .map(|i| {
            let mut line = lines[i % lines.len()].clone();
            line["line-number"] = Value::String((i + 1).to_string());
            line
        })
        .collect();
    order["lines"] = Value::Array(repeated);
    vec![event]
}

/// `erp-inventory-posting`: the goods receipt and the three movements of its fixtures, in turn; each is one call.
fn inventory_events(route: &Route, n: usize) -> Vec<Value> {
    let mut events = vec![
        serde_json::from_str::<Value>(&route.read("goods-receipt-4500019921.json")).expect("JSON"),
    ];
    match serde_json::from_str(&route.read("movements.json")).expect("JSON") {
        Value::Array(movements) => events.extend(movements),
        other => panic!("movements.json holds {other}"),
    }
    (0..n).map(|i| events[i % events.len()].clone()).collect()
}

fn json_size(events: &[Value]) -> usize {
    events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("JSON").len())
        .sum()
}

/// Native vs component (fresh instance, and one reused instance) for an inbound plugin, at both sizes.
fn inbound<M: InboundMapper>(
    c: &mut Criterion,
    route: &Route,
    build: fn(&Route, usize) -> Vec<u8>,
) {
    let harness = route.harness();
    let fresh = route.mapper(InstancePolicy::Fresh);
    let reused = route.mapper(InstancePolicy::Reuse {
        recycle_after: u32::MAX,
    });
    let mut group = c.benchmark_group(route.plugin);
    for (label, target) in SIZES {
        let doc = sized(target, Vec::len, |n| build(route, n));
        let sdk_envelope = route.sdk_envelope(&doc);
        let host_envelope = route.host_envelope(&doc);
        let native = harness
            .map::<M>(sdk_envelope.clone())
            .unwrap_or_else(|e| panic!("{} {label}: natively: {e:?}", route.plugin));
        let component = fresh
            .session()
            .map_typed(&host_envelope)
            .unwrap_or_else(|e| panic!("{} {label}: component: {e}", route.plugin));
        assert!(!native.is_empty(), "{} {label}: no events", route.plugin);
        assert_eq!(
            format!("{native:?}"),
            format!("{component:?}"),
            "{} {label}: native and component events differ",
            route.plugin
        );
        eprintln!(
            "{} {label}: {} bytes, {} events",
            route.plugin,
            doc.len(),
            native.len()
        );
        group.throughput(Throughput::Bytes(doc.len() as u64));
        group.bench_with_input(BenchmarkId::new("native", label), &sdk_envelope, |b, e| {
            b.iter(|| black_box(harness.map::<M>(e.clone()).expect("maps")))
        });
        group.bench_with_input(
            BenchmarkId::new("component", label),
            &host_envelope,
            |b, e| {
                let mut session = fresh.session();
                b.iter(|| black_box(session.map_typed(e).expect("maps")))
            },
        );
        group.bench_with_input(
            BenchmarkId::new("component-reused", label),
            &host_envelope,
            |b, e| {
                let mut session = reused.session();
                b.iter(|| black_box(session.map_typed(e).expect("maps")))
            },
        );
    }
    group.finish();
}

/// Native vs component (fresh instance, and one reused instance) for an outbound plugin, at both sizes: every
/// event of the input rendered, one call each.
fn outbound<M: OutboundMapper>(
    c: &mut Criterion,
    route: &Route,
    build: fn(&Route, usize) -> Vec<Value>,
) {
    let harness = route.harness();
    let fresh = route.mapper(InstancePolicy::Fresh);
    let reused = route.mapper(InstancePolicy::Reuse {
        recycle_after: u32::MAX,
    });
    let target = sdk::Target::named(route.name);
    let mut group = c.benchmark_group(route.plugin);
    for (label, size) in SIZES {
        let values = sized(size, |v: &Vec<Value>| json_size(v), |n| build(route, n));
        let bytes = json_size(&values);
        let events: Vec<sdk::CanonicalEvent> = values
            .iter()
            .map(|v| canonical::read_event(v).expect("a canonical event"))
            .collect();
        let keys: Vec<String> = (1..=values.len()).map(|i| format!("bench-{i}")).collect();
        // A harness of its own for the check: the native sequences count every call, the host's give the same
        // number to the same input key, so the first call on each side is the one that compares.
        let checking = route.harness();
        let mut session = fresh.session();
        let mut documents = 0;
        for ((event, value), key) in events.iter().zip(&values).zip(&keys) {
            let native = checking
                .render::<M>(event.clone(), target.clone())
                .unwrap_or_else(|e| panic!("{} {label}: natively: {e:?}", route.plugin));
            let component = session
                .render(value, route.name, CORRELATION_ID, key)
                .unwrap_or_else(|e| panic!("{} {label}: component: {e}", route.plugin));
            assert!(!native.is_empty(), "{} {label}: no documents", route.plugin);
            assert_eq!(native.len(), component.len(), "{} {label}", route.plugin);
            for (n, c) in native.iter().zip(&component) {
                assert_eq!(
                    (
                        &n.content_type,
                        &n.file_name,
                        &n.headers,
                        String::from_utf8_lossy(&n.payload)
                    ),
                    (
                        &c.content_type,
                        &c.file_name,
                        &c.headers,
                        String::from_utf8_lossy(&c.payload)
                    ),
                    "{} {label}: native and component documents differ",
                    route.plugin
                );
            }
            documents += native.len();
        }
        eprintln!(
            "{} {label}: {} events, {bytes} bytes of canonical JSON, {documents} documents",
            route.plugin,
            values.len()
        );
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::new("native", label), &events, |b, events| {
            b.iter(|| {
                for event in events {
                    black_box(
                        harness
                            .render::<M>(event.clone(), target.clone())
                            .expect("renders"),
                    );
                }
            })
        });
        for (kind, mapper) in [("component", &fresh), ("component-reused", &reused)] {
            group.bench_with_input(BenchmarkId::new(kind, label), &values, |b, values| {
                let mut session = mapper.session();
                b.iter(|| {
                    for (value, key) in values.iter().zip(&keys) {
                        black_box(
                            session
                                .render(value, route.name, CORRELATION_ID, key)
                                .expect("renders"),
                        );
                    }
                })
            });
        }
    }
    group.finish();
}

fn x12_855(c: &mut Criterion) {
    let route = Route {
        plugin: "x12-855-order-ack",
        name: "brightwire-855",
        config: &[("timezone", "America/Chicago")],
        lookups: &[],
        now: "2024-06-12T15:00:00Z",
    };
    inbound::<x12_855_order_ack::OrderAcknowledgmentMapper>(c, &route, order_ack);
}

fn desadv(c: &mut Criterion) {
    let route = Route {
        plugin: "edifact-desadv-ship-notice",
        name: "rhein-stahl-desadv",
        config: &[("timezone", "Europe/Berlin")],
        lookups: &[],
        now: "2024-06-11T13:00:00Z",
    };
    inbound::<edifact_desadv_ship_notice::DespatchAdviceMapper>(c, &route, despatch_advice);
}

fn x12_944(c: &mut Criterion) {
    let route = Route {
        plugin: "x12-944-warehouse-receipt",
        name: "riverside-944",
        config: &[("timezone", "America/New_York"), ("dock-location", "P2-D4")],
        lookups: &[],
        now: "2024-06-17T20:45:00Z",
    };
    inbound::<x12_944_warehouse_receipt::GoodsReceiptMapper>(c, &route, warehouse_receipt);
}

fn b2mml(c: &mut Criterion) {
    let route = Route {
        plugin: "b2mml-production",
        name: "mes-p2",
        config: &[("timezone", "America/Chicago")],
        lookups: &[],
        now: "2024-06-11T21:05:00Z",
    };
    inbound::<b2mml_production::ProductionPerformanceMapper>(c, &route, production_performance);
}

fn erp_orders(c: &mut Criterion) {
    let route = Route {
        plugin: "erp-orders-json",
        name: "erp-orders",
        config: &[
            ("timezone", "Europe/Berlin"),
            ("buyer-name", "ACME Brakes, Plant 2"),
        ],
        lookups: &[],
        now: "2024-06-11T21:05:00Z",
    };
    inbound::<erp_orders_json::ErpOrdersMapper>(c, &route, erp_order);
}

fn qms(c: &mut Criterion) {
    let route = Route {
        plugin: "qms-quality-json",
        name: "qms",
        config: &[("timezone", "America/Chicago")],
        lookups: &[],
        now: "2024-06-12T21:00:00Z",
    };
    inbound::<qms_quality_json::QualityHoldMapper>(c, &route, quality_decisions);
}

fn x12_850(c: &mut Criterion) {
    let route = Route {
        plugin: "x12-850-purchase-order",
        name: "supplier-850",
        config: &[
            ("interchange-sender", "ZZ/ACMEMFG"),
            ("timezone", "America/Chicago"),
            ("line-break", "lf"),
        ],
        lookups: &[("x12-partners", "x12-partners.csv")],
        now: "2024-06-11T21:05:00Z",
    };
    outbound::<x12_850_purchase_order::PurchaseOrderRenderer>(c, &route, purchase_order);
}

fn inventory_posting(c: &mut Criterion) {
    let route = Route {
        plugin: "erp-inventory-posting",
        name: "erp-inventory",
        config: &[("erp-cost-center", "P2-4711")],
        lookups: &[],
        now: "2024-06-11T21:05:00Z",
    };
    outbound::<erp_inventory_posting::InventoryPostingRenderer>(c, &route, inventory_events);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = x12_855, desadv, x12_944, b2mml, erp_orders, qms, x12_850, inventory_posting
}
criterion_main!(benches);
