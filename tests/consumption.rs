//! Over-consumption, receipts before their notice, and items and units compared through master data, end to
//! end against a real nats-server with the plant's plugins, documents and master data (`items`, `units`,
//! `bom`, `unit-conversions`).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::Value;
use support::api::Api;
use support::nats::{self, Host, NatsServer};

const WAIT: Duration = Duration::from_secs(60);
const IN: &str = "MW_acme_IN";
const EV: &str = "MW_acme_EV";
const ALERT: &str = "MW_acme_ALERT";

fn config(dir: &Path) -> PathBuf {
    let data = support::root().join("examples/plant/master-data");
    let table = |name: &str| data.join(name).display().to_string();
    let component = |name: &str| support::component(name).display().to_string();
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
rules = {{ quarantine = true, receipt-discrepancy = true, over-consumption = true, over-consumption-tolerance = "5%" }}
lookups = {{ units = "{units}", items = "{items}", bom = "{bom}", unit-conversions = "{conversions}" }}

[[tenants.acme.inbound]]
source = "erp"
plugin = "{erp}"
config = {{ timezone = "America/Chicago", buyer-name = "ACME Brake Systems" }}

[[tenants.acme.inbound]]
source = "qms"
plugin = "{qms}"
config = {{ timezone = "America/Chicago", site = "P2" }}

[[tenants.acme.inbound]]
source = "mes"
plugin = "{mes}"
config = {{ timezone = "America/Chicago", site = "P2" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{asn}"
config = {{ timezone = "Europe/Berlin" }}

[[tenants.acme.inbound]]
source = "wms-944"
plugin = "{receipt}"
config = {{ timezone = "America/Chicago", dock-location = "P2-D4" }}
"#,
            units = table("units.csv"),
            items = table("items.csv"),
            bom = table("bom.csv"),
            conversions = table("unit-conversions.csv"),
            erp = component("erp-orders-json"),
            qms = component("qms-quality-json"),
            mes = component("b2mml-production"),
            asn = component("x12-856-ship-notice"),
            receipt = component("x12-944-warehouse-receipt"),
        ),
    )
}

fn document(name: &str) -> String {
    std::fs::read_to_string(support::root().join("examples/plant/documents").join(name))
        .expect("plant document")
}

/// The ERP's production order, as work order `wo`: 120 BRK-ASSY-330.
fn work_order(wo: &str) -> Vec<u8> {
    document("erp-wo-240617-01.json")
        .replace("WO-240617-01", wo)
        .into_bytes()
}

/// The MES's shift report, as report `report` of work order `wo`, consuming `coil` kg of coil (the plant's
/// report: 412.500), 480 bolts and 0.850 kg of grease.
fn shift(wo: &str, report: &str, coil: &str) -> Vec<u8> {
    document("mes-production-WO-240617-01.xml")
        .replace("WO-240617-01", wo)
        .replace("PP-P2-240619-0031", report)
        .replace(
            "<QuantityString>412.500</QuantityString>",
            &format!("<QuantityString>{coil}</QuantityString>"),
        )
        .into_bytes()
}

/// Waits until the route taking `source` has acknowledged every input: each is settled, its alerts raised.
async fn settled(js: &jetstream::Context, source: &str) {
    let started = Instant::now();
    while !nats::drained(js, IN, &format!("in-{source}")).await {
        assert!(started.elapsed() < WAIT, "route {source} did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn alerts(js: &jetstream::Context, kind: &str) -> Vec<Value> {
    nats::stored(js, ALERT, &format!("mw.acme.alert.{kind}"))
        .await
        .iter()
        .map(|m| m.json()["exception"].clone())
        .collect()
}

fn consumptions_of(stored: &[nats::Stored], wo: &str) -> usize {
    stored
        .iter()
        .filter(|m| m.json()["material-consumption"]["work-order"] == wo)
        .count()
}

#[test]
fn over_consumption_is_raised_once_per_work_order_and_component_and_an_unknown_work_order_says_so()
{
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(&config(dir.path()), &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let api = Api::new(&host);
    rt.block_on(async {
        for wo in ["WO-A", "WO-B", "WO-C"] {
            nats::publish(&js, "mw.acme.in.erp", &[], work_order(wo)).await;
        }
        nats::wait_for(&js, EV, "mw.acme.ev.work-order-status", 3, WAIT).await;
        settled(&js, "erp").await;

        // The plant's own report: 412.5 of the 420 kg of coil planned (120 × 3.5 KGM), 480 of 480 bolts.
        nats::publish(
            &js,
            "mw.acme.in.mes",
            &[],
            shift("WO-A", "PP-A-1", "412.500"),
        )
        .await;
        // 440 kg: over the plan, within its 5% (441 kg).
        nats::publish(
            &js,
            "mw.acme.in.mes",
            &[],
            shift("WO-B", "PP-B-1", "440.000"),
        )
        .await;
        // 452 kg: beyond it.
        let over = shift("WO-C", "PP-C-1", "452.000");
        nats::publish(
            &js,
            "mw.acme.in.mes",
            &[("Mw-Correlation-Id", "shift-c")],
            over.clone(),
        )
        .await;
        let raised = nats::wait_for(&js, ALERT, "mw.acme.alert.over-consumption", 1, WAIT).await;
        let alert = &raised[0].json()["exception"];
        assert_eq!(alert["kind"], "over-consumption");
        assert_eq!(alert["subject"], "work-order:WO-C");
        assert_eq!(
            alert["header"]["id"],
            "alert:over-consumption:WO-C:COIL-S355-2MM"
        );
        assert_eq!(alert["header"]["correlation-id"], "shift-c");
        let message = alert["message"].as_str().expect("message");
        assert!(
            message.contains("consumed 452 KGM of COIL-S355-2MM")
                && message.contains("420 KGM planned for 120 H87 of BRK-ASSY-330")
                && message.contains("5% tolerance (441 KGM allowed)"),
            "{message}"
        );
        let concerns = &alert["concerns"];
        assert_eq!(
            concerns["documents"][0],
            serde_json::json!({"kind": "work-order", "id": "WO-C"})
        );
        assert_eq!(concerns["lots"], serde_json::json!(["H24-91207"]));
        assert_eq!(concerns["items"][0]["ids"][0]["value"], "COIL-S355-2MM");
        let quantity = |what: &str| {
            concerns["quantities"]
                .as_array()
                .expect("quantities")
                .iter()
                .find(|q| q["what"] == what)
                .map(|q| q["quantity"].clone())
                .unwrap_or_else(|| panic!("no {what} quantity: {concerns}"))
        };
        assert_eq!(
            quantity("planned"),
            serde_json::json!({"value": "420", "unit": "KGM"})
        );
        assert_eq!(
            quantity("tolerance"),
            serde_json::json!({"value": "21", "unit": "KGM"})
        );
        assert_eq!(
            quantity("consumed"),
            serde_json::json!({"value": "452", "unit": "KGM"})
        );

        // The same report again (a copy: the same consumptions, counted once), then a second shift's: 10 kg more
        // coil raises nothing new, while its bolts and grease now go beyond their plan too, one alert each.
        nats::publish(&js, "mw.acme.in.mes", &[], over).await;
        nats::publish(&js, "mw.acme.in.mes", &[], shift("WO-C", "PP-C-2", "10")).await;

        // A work order the rules never saw: its consumption goes on, with an alert saying so.
        nats::publish(
            &js,
            "mw.acme.in.mes",
            &[("Mw-Correlation-Id", "shift-x")],
            shift("WO-X", "PP-X-1", "412.500"),
        )
        .await;
        settled(&js, "mes").await;
        let ev = nats::stored(&js, EV, "mw.acme.ev.material-consumption").await;
        assert_eq!(consumptions_of(&ev, "WO-X"), 3, "published as always");
        assert_eq!(
            consumptions_of(&ev, "WO-C"),
            9,
            "the copy is published again, as every input is"
        );
        let raised = alerts(&js, "over-consumption").await;
        let mut ids: Vec<&str> = raised
            .iter()
            .filter_map(|a| a["header"]["id"].as_str())
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "alert:over-consumption:WO-C:COIL-S355-2MM",
                "alert:over-consumption:WO-C:FST-M10-40",
                "alert:over-consumption:WO-C:LUB-GREASE-HT",
                "alert:over-consumption:unknown-work-order:WO-X",
            ],
            "WO-A and WO-B within their plan, each of WO-C's components once, WO-X unknown"
        );
        let grease = raised
            .iter()
            .find(|a| a["header"]["id"] == "alert:over-consumption:WO-C:LUB-GREASE-HT")
            .expect("grease");
        assert!(
            grease["message"]
                .as_str()
                .is_some_and(|m| m.contains("consumed 1.7 KGM")),
            "two shifts' 0.850 kg, the copy not counted: {grease}"
        );
        let unknown = raised
            .iter()
            .find(|a| a["subject"] == "work-order:WO-X")
            .expect("WO-X");
        assert_eq!(unknown["subject"], "work-order:WO-X");
        assert_eq!(unknown["header"]["correlation-id"], "shift-x");
        assert!(
            unknown["message"]
                .as_str()
                .is_some_and(|m| m.contains("work order WO-X was not seen")),
            "{unknown}"
        );

        // WO-X's status comes after all: what it consumed is checked (within plan), and the rule resolves its alert.
        nats::publish(&js, "mw.acme.in.erp", &[], work_order("WO-X")).await;
        nats::wait_for(&js, EV, "mw.acme.ev.work-order-status", 4, WAIT).await;
        settled(&js, "erp").await;
        let (status, alert) = api
            .get("/v1/tenants/acme/alerts/over-consumption:unknown-work-order:WO-X")
            .await;
        assert!(status.is_success(), "{alert}");
        assert_eq!(alert["state"], "resolved");
        assert_eq!(alert["resolved"]["by"], "rule:over-consumption");
        assert_eq!(
            alerts(&js, "over-consumption").await.len(),
            4,
            "nothing new"
        );
        assert_eq!(nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await, 0);
    });
    assert!(host.terminate());
}

#[test]
fn a_receipt_before_its_notice_is_compared_when_the_notice_arrives_with_units_converted() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(&config(dir.path()), &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        // Riverside counts 4000 bolts (5000 shipped), 12000 nuts and 400 lb of washers, before Brightwire's
        // notice is in.
        let short = document("riverside-944-RV-240618-002.x12")
            .replace("W07*5000*", "W07*4000*")
            .replace("W14*17400", "W14*16400");
        nats::publish(
            &js,
            "mw.acme.in.wms-944",
            &[("Mw-Correlation-Id", "riverside-count")],
            short.into_bytes(),
        )
        .await;
        nats::wait_for(&js, EV, "mw.acme.ev.goods-receipt", 3, WAIT).await;
        settled(&js, "wms-944").await;
        assert_eq!(
            nats::count_on(&js, ALERT, "mw.acme.alert.>").await,
            0,
            "the receipts wait for their notice"
        );

        // The notice, with the washers in kilograms: 181.436948 kg is 400 lb through `unit-conversions`.
        let notice = document("brightwire-856-SHP-BW-240617-01.x12")
            .replace("SN1**400*LB**400*LB", "SN1**181.436948*KG**400*LB");
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[],
            notice.clone().into_bytes(),
        )
        .await;
        nats::wait_for(&js, EV, "mw.acme.ev.ship-notice", 1, WAIT).await;
        settled(&js, "supplier-856").await;
        let raised = alerts(&js, "receipt-discrepancy").await;
        assert_eq!(
            raised.len(),
            1,
            "the bolts only: nuts equal, washers equal once converted: {raised:?}"
        );
        let alert = &raised[0];
        assert_eq!(alert["subject"], "ship-notice:SHP-BW-240617-01");
        assert_eq!(
            alert["header"]["correlation-id"], "riverside-count",
            "the receipt's flow"
        );
        let message = alert["message"].as_str().expect("message");
        assert!(
            message.contains("4000 H87 received, 5000 H87 shipped"),
            "{message}"
        );
        assert!(!message.contains("not seen"), "{message}");

        // The notice again: compared already, nothing new.
        nats::publish(&js, "mw.acme.in.supplier-856", &[], notice.into_bytes()).await;
        settled(&js, "supplier-856").await;
        assert_eq!(nats::count_on(&js, ALERT, "mw.acme.alert.>").await, 1);
    });
    assert!(host.terminate());
}

#[test]
fn a_consumption_naming_the_suppliers_part_of_a_held_item_is_quarantined() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(&config(dir.path()), &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        // Quality holds lot B2406-17 of ACME's FST-M10-40; the MES names the bolts by Brightwire's part number,
        // which the `items` cross-reference makes FST-M10-40.
        nats::publish(
            &js,
            "mw.acme.in.qms",
            &[],
            document("qms-hold-QH-240618-003.json").into_bytes(),
        )
        .await;
        nats::wait_for(&js, EV, "mw.acme.ev.quality-hold", 1, WAIT).await;
        settled(&js, "qms").await;
        let report = String::from_utf8(shift("WO-240617-01", "PP-Q-1", "412.500"))
            .expect("text")
            .replace(
                "<MaterialDefinitionID>FST-M10-40</MaterialDefinitionID>",
                "<MaterialDefinitionID>BW-HB1040-ZP</MaterialDefinitionID>",
            );
        nats::publish(&js, "mw.acme.in.mes", &[], report.into_bytes()).await;
        let held = nats::wait_for(
            &js,
            "MW_acme_QUARANTINE",
            "mw.acme.quarantine.material-consumption",
            1,
            WAIT,
        )
        .await;
        let consumption = &held[0].json()["material-consumption"];
        assert_eq!(consumption["item"]["ids"][0]["value"], "BW-HB1040-ZP");
        assert_eq!(consumption["lot"]["internal-lot"], "B2406-17");
        settled(&js, "mes").await;
        let ev = nats::stored(&js, EV, "mw.acme.ev.material-consumption").await;
        assert_eq!(ev.len(), 2, "the coil and the grease go on");
        let raised = alerts(&js, "quarantine").await;
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0]["subject"], "lot:B2406-17");
    });
    assert!(host.terminate());
}
