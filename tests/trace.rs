//! The trace end to end, against a real nats-server and the plant's plugins and documents: a purchase order,
//! its 855, its 856 and a broken 856 for the same order show on `po:<order>` — inputs, events, the 850 sent,
//! the 997s, the dead letter — in time order with their subjects, through the CLI and the API; a held lot shows
//! its hold, the quarantined consumption, the alert and the release; a correlation id shows its flow; an input
//! published twice with one `Nats-Msg-Id` is traced once; a malformed key is refused and an unknown one is empty.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::api::Api;
use support::nats::{self, Host, NatsServer};

const WAIT: Duration = Duration::from_secs(60);
const PO: &str = "4500020114";

fn config(dir: &Path) -> PathBuf {
    let data = support::root().join("examples/plant/master-data");
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
rules = {{ quarantine = true }}
lookups = {{ units = "{data}/units.csv", x12-partners = "{data}/x12-partners.csv", x12-units-out = "{data}/x12-units-out.csv" }}

[[tenants.acme.inbound]]
source = "erp"
plugin = "{erp}"
config = {{ timezone = "America/Chicago", buyer-name = "ACME Brake Systems" }}

[[tenants.acme.inbound]]
source = "supplier-855"
plugin = "{x855}"
config = {{ timezone = "Europe/Berlin" }}
acknowledgments = {{ kind = "997", target = "supplier-997" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{x856}"
config = {{ timezone = "Europe/Berlin" }}
acknowledgments = {{ kind = "997", target = "supplier-997" }}

[[tenants.acme.inbound]]
source = "qms"
plugin = "{qms}"
config = {{ timezone = "America/Chicago", site = "P2" }}

[[tenants.acme.inbound]]
source = "mes"
plugin = "{mes}"
config = {{ timezone = "America/Chicago", site = "P2" }}

[[tenants.acme.outbound]]
name = "supplier-850"
events = ["purchase-order"]
plugin = "{x850}"
config = {{ interchange-sender = "ZZ/ACMEMFG", application-sender = "ACMEMFG", usage-indicator = "P", timezone = "America/Chicago", line-break = "lf" }}
target = {{ subject = "supplier-850" }}
"#,
            data = data.display(),
            erp = support::component("erp-orders-json").display(),
            x855 = support::component("x12-855-order-ack").display(),
            x856 = support::component("x12-856-ship-notice").display(),
            x850 = support::component("x12-850-purchase-order").display(),
            qms = support::component("qms-quality-json").display(),
            mes = support::component("b2mml-production").display(),
        ),
    )
}

fn document(name: &str) -> Vec<u8> {
    std::fs::read(support::root().join("examples/plant/documents").join(name))
        .expect("plant document")
}

/// The 856 again, as another interchange whose hierarchy is broken (an order under a parent that does not
/// exist): the mapping refuses it, and it still names the purchase order.
fn broken_856() -> Vec<u8> {
    let text = String::from_utf8(document("brightwire-856-SHP-BW-240617-01.x12")).expect("text");
    assert!(text.contains("HL*2*1*O") && text.contains(&format!("PRF*{PO}")));
    text.replace("000004815", "000004816")
        .replace("*4815*", "*4816*")
        .replace("HL*2*1*O", "HL*2*7*O")
        .into_bytes()
}

fn entries(timeline: &Value) -> Vec<Value> {
    timeline["entries"].as_array().expect("entries").clone()
}

/// The timeline of `key` once `done` says it holds what the test waits for.
async fn trace_until(api: &Api, key: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, timeline) = api.get(&format!("/v1/tenants/acme/trace/{key}")).await;
        assert!(status.is_success(), "{status}: {timeline}");
        let entries = entries(&timeline);
        if done(&entries) {
            return entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the trace of {key} never got there: {timeline:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn count(entries: &[Value], kind: &str, subject: &str) -> usize {
    entries
        .iter()
        .filter(|e| e["kind"] == kind && e["subject"] == subject)
        .count()
}

fn position(entries: &[Value], kind: &str, subject: &str) -> usize {
    entries
        .iter()
        .position(|e| e["kind"] == kind && e["subject"] == subject)
        .unwrap_or_else(|| panic!("no {kind} on {subject}: {entries:#?}"))
}

fn assert_in_time_order(entries: &[Value]) {
    let times: Vec<jiff::Timestamp> = entries
        .iter()
        .map(|e| e["at"].as_str().expect("at").parse().expect("timestamp"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not in time order: {times:?}"
    );
}

#[test]
fn a_purchase_order_a_lot_and_a_flow_each_show_their_timeline() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path());
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let api = Api::new(&host);

    let po_entries = rt.block_on(async {
        let order = [
            ("Nats-Msg-Id", "erp-po-4500020114-v1"),
            ("Mw-Correlation-Id", "po-flow-1"),
        ];
        nats::publish(
            &js,
            "mw.acme.in.erp",
            &order,
            document("erp-po-4500020114-brightwire.json"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_OUT", "mw.acme.out.supplier-850", 1, WAIT).await;
        // The same order published again with the same id: JetStream keeps one, and the trace shows one.
        nats::publish(
            &js,
            "mw.acme.in.erp",
            &order,
            document("erp-po-4500020114-brightwire.json"),
        )
        .await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-855",
            &[],
            document("brightwire-855-4500020114.x12"),
        )
        .await;
        nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.order-acknowledgment",
            1,
            WAIT,
        )
        .await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[],
            document("brightwire-856-SHP-BW-240617-01.x12"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.ship-notice", 1, WAIT).await;
        nats::publish(&js, "mw.acme.in.supplier-856", &[], broken_856()).await;
        nats::wait_for(&js, "MW_acme_DLQ", "mw.acme.dlq.supplier-856", 1, WAIT).await;
        trace_until(&api, &format!("po:{PO}"), |e| {
            count(e, "dead-letter", "mw.acme.dlq.supplier-856") == 1
                && count(e, "output", "mw.acme.out.supplier-850") == 1
        })
        .await
    });
    assert_in_time_order(&po_entries);
    assert_eq!(
        count(&po_entries, "input", "mw.acme.in.erp"),
        1,
        "the order published twice with one id is one input: {po_entries:#?}"
    );
    assert_eq!(count(&po_entries, "event", "mw.acme.ev.purchase-order"), 1);
    assert_eq!(count(&po_entries, "output", "mw.acme.out.supplier-850"), 1);
    assert_eq!(count(&po_entries, "input", "mw.acme.in.supplier-855"), 1);
    assert_eq!(
        count(&po_entries, "event", "mw.acme.ev.order-acknowledgment"),
        1
    );
    assert_eq!(
        count(&po_entries, "input", "mw.acme.in.supplier-856"),
        2,
        "the 856 and the broken one, read for its PRF without its mapping"
    );
    assert_eq!(count(&po_entries, "event", "mw.acme.ev.ship-notice"), 1);
    assert!(
        count(&po_entries, "ack", "mw.acme.out.supplier-997") >= 2,
        "the 855's and the 856's 997s: {po_entries:#?}"
    );
    // The story in the order it happened: the order, then the 850, the 855, the 856, the dead letter.
    let order = [
        position(&po_entries, "input", "mw.acme.in.erp"),
        position(&po_entries, "event", "mw.acme.ev.purchase-order"),
        position(&po_entries, "input", "mw.acme.in.supplier-855"),
        position(&po_entries, "event", "mw.acme.ev.order-acknowledgment"),
        position(&po_entries, "event", "mw.acme.ev.ship-notice"),
        position(&po_entries, "dead-letter", "mw.acme.dlq.supplier-856"),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}: {po_entries:#?}"
    );
    let input = &po_entries[position(&po_entries, "input", "mw.acme.in.erp")];
    assert_eq!(input["stream"], "MW_acme_IN");
    assert_eq!(input["route"], "erp");
    assert_eq!(input["id"], "erp-po-4500020114-v1");
    assert_eq!(input["correlation_id"], "po-flow-1");
    let event = &po_entries[position(&po_entries, "event", "mw.acme.ev.purchase-order")];
    assert_eq!(event["stream"], "MW_acme_EV");
    assert!(event["sequence"].as_u64().is_some_and(|s| s > 0), "{event}");
    assert_eq!(event["event_type"], "purchase-order");
    let letter = &po_entries[position(&po_entries, "dead-letter", "mw.acme.dlq.supplier-856")];
    assert_eq!(letter["stream"], "MW_acme_DLQ");
    assert_eq!(letter["id"], format!("acme/{}", letter["sequence"]));

    // The CLI prints the same timeline, a line per entry, in the same order.
    let (code, out, err) = host.cli(&["trace", "--tenant", "acme", &format!("po:{PO}")]);
    assert_eq!(code, Some(0), "{err}");
    // First the keys its story goes on in (the lots received against it), then a line per entry.
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(format!("po:{PO}, with lot:B2406-17, lot:N2406-09, lot:W2406-04").as_str()),
        "{out}"
    );
    let lines: Vec<&str> = lines.collect();
    assert_eq!(lines.len(), po_entries.len(), "{out}");
    for (line, entry) in lines.iter().zip(&po_entries) {
        assert!(
            line.contains(entry["kind"].as_str().expect("kind"))
                && line.contains(entry["subject"].as_str().expect("subject")),
            "{line} / {entry}"
        );
    }
    assert!(
        out.contains("dead-letter") && out.contains("mw.acme.dlq.supplier-856"),
        "{out}"
    );
    let (code, out, err) = host.cli(&["trace", "--tenant", "acme", "--json", &format!("po:{PO}")]);
    assert_eq!(code, Some(0), "{err}");
    let json: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(entries(&json).len(), po_entries.len());

    // The shipment has its own timeline: the 856, its event, its 997.
    let shipment = rt.block_on(trace_until(&api, "shipment:SHP-BW-240617-01", |e| {
        count(e, "event", "mw.acme.ev.ship-notice") == 1
    }));
    assert_eq!(
        count(&shipment, "input", "mw.acme.in.erp"),
        0,
        "{shipment:#?}"
    );

    // A held lot: the hold, the consumption held back, the alert, the release.
    let lot = rt.block_on(async {
        nats::publish(
            &js,
            "mw.acme.in.qms",
            &[],
            document("qms-hold-QH-240618-003.json"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 1, WAIT).await;
        nats::publish(
            &js,
            "mw.acme.in.mes",
            &[("Mw-Correlation-Id", "shift-1")],
            document("mes-production-WO-240617-01.xml"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.quarantine", 1, WAIT).await;
        nats::publish(
            &js,
            "mw.acme.in.qms",
            &[],
            document("qms-release-QH-240618-003.json"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 2, WAIT).await;
        trace_until(&api, "lot:B2406-17", |e| {
            e.iter().any(|e| e["kind"] == "release")
        })
        .await
    });
    assert_in_time_order(&lot);
    let steps = [
        position(&lot, "event", "mw.acme.ev.quality-hold"),
        position(&lot, "input", "mw.acme.in.mes"),
        position(
            &lot,
            "quarantined",
            "mw.acme.quarantine.material-consumption",
        ),
        position(&lot, "alert", "mw.acme.alert.quarantine"),
        position(&lot, "release", "mw.acme.ev.material-consumption"),
    ];
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}: {lot:#?}");
    let alert = &lot[steps[3]];
    assert_eq!(alert["id"], "quarantine:QH-240618-003:B2406-17");
    let release = &lot[steps[4]];
    assert_eq!(release["stream"], "MW_acme_QUARANTINE");
    assert_eq!(
        release["sequence"], lot[steps[2]]["sequence"],
        "the release names the message it let go"
    );
    assert_eq!(release["correlation_id"], "shift-1");
    assert!(
        release["note"]
            .as_str()
            .is_some_and(|n| n.contains("rule:quarantine")),
        "{release}"
    );
    assert_eq!(
        count(&lot, "event", "mw.acme.ev.material-consumption"),
        0,
        "the lot's consumption went out only on its release: {lot:#?}"
    );

    // A correlation id: the MES report's flow, everything in it, and nothing else.
    let flow = rt.block_on(trace_until(&api, "shift-1", |e| {
        e.iter().any(|e| e["kind"] == "release")
    }));
    assert!(
        flow.iter().all(|e| e["correlation_id"] == "shift-1"),
        "{flow:#?}"
    );
    for kind in ["input", "event", "quarantined", "alert", "release"] {
        assert!(
            flow.iter().any(|e| e["kind"] == kind),
            "no {kind}: {flow:#?}"
        );
    }
    assert!(
        count(&flow, "event", "mw.acme.ev.production-completion") >= 1,
        "{flow:#?}"
    );
    let (code, out, err) = host.cli(&["trace", "--tenant", "acme", "shift-1"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), flow.len(), "{out}");

    // Keys that are not keys are refused; a key never seen is an empty timeline.
    rt.block_on(async {
        for bad in ["po:", "pos:4500020114", "lot:%20"] {
            let (status, body) = api.get(&format!("/v1/tenants/acme/trace/{bad}")).await;
            assert_eq!(status.as_u16(), 400, "{bad}: {body}");
            assert_eq!(body["error"]["code"], "invalid_key", "{body}");
        }
        let (status, body) = api.get("/v1/tenants/acme/trace/").await;
        assert_eq!(status.as_u16(), 400, "{body}");
        let (status, body) = api.get("/v1/tenants/acme/trace/po:999").await;
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body["entries"], Value::Array(Vec::new()));
        assert_eq!(body["recording"], true);
        let (status, _) = api.get("/v1/tenants/nobody/trace/po:1").await;
        assert_eq!(status.as_u16(), 404);
    });
    let (code, out, err) = host.cli(&["trace", "--tenant", "acme", "po:999"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("nothing recorded for po:999"), "{out}");
    let (code, _, err) = host.cli(&["trace", "--tenant", "acme", "po:"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("no value"), "{err}");
    assert!(host.terminate());
}
