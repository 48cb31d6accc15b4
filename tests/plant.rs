//! The plant example end to end: `examples/plant/millwright.toml` as it is, against a real nats-server and the
//! example's ERP (`examples/plant/erp`, served in this process on a free port), with the example's documents
//! published on their sources as the ERP, the suppliers, the 3PLs, quality and the MES would; then the stock the
//! ERP keeps of them, as the plant would check it.
//!
//! Only what a test must change is changed: the NATS URL and the data dir (flags of `serve`) and the ERP's
//! address (`ACME_ERP_ADDR`, which the file reads from the environment). One nats-server and one host serve
//! every check, since starting the host compiles ten plugins; each check runs on its own and a failing one does
//! not hide the others: the test fails at the end naming every check that failed.

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_nats::jetstream::Context;
use serde_json::Value;
use support::nats::{self, Host, NatsServer, Stored};

const IN: &str = "MW_acme_IN";
const EV: &str = "MW_acme_EV";
const OUT: &str = "MW_acme_OUT";
const DLQ: &str = "MW_acme_DLQ";
const QUARANTINE: &str = "MW_acme_QUARANTINE";
const ALERT: &str = "MW_acme_ALERT";

/// How long any one output may take to appear: generous, for a loaded 2-core machine. Nothing is timed.
const PATIENCE: Duration = Duration::from_secs(60);

/// The documents of examples/plant/documents: the source each arrives on and the correlation id it is sent with.
const DOCUMENTS: &[(&str, &str, &str)] = &[
    (
        "canonical",
        "canonical-po-4500020131.json",
        "plant-canonical-po",
    ),
    (
        "erp",
        "erp-po-4500020114-brightwire.json",
        "plant-erp-po-brightwire",
    ),
    (
        "erp",
        "erp-po-4500020115-rhein-stahl.json",
        "plant-erp-po-rhein-stahl",
    ),
    ("erp", "erp-wo-240617-01.json", "plant-erp-work-order"),
    ("supplier-855", "brightwire-855-4500020114.x12", "plant-855"),
    (
        "supplier-856",
        "brightwire-856-SHP-BW-240617-01.x12",
        "plant-856",
    ),
    (
        "supplier-desadv",
        "rhein-stahl-desadv-RS-DA-240617-0057.edi",
        "plant-desadv",
    ),
    ("wms-944", "riverside-944-RV-240618-002.x12", "plant-944"),
    (
        "dock-3pl",
        "dock-3pl-receipts-GR-P2D2-240620-0007.csv",
        "plant-dock-csv",
    ),
    ("qms", "qms-hold-QH-240618-003.json", "plant-qms-hold"),
    ("qms", "qms-release-QH-240618-003.json", "plant-qms-release"),
    ("mes", "mes-production-WO-240617-01.xml", "plant-mes"),
];

/// ACME's order to Rhein Stahl as an EANCOM ORDERS, sent by mistake to the DESADV source.
const ORDERS: &str = "UNA:+.? '\nUNB+UNOC:3+5412345000013:14+4012345000009:14+240610:1512+ACME0610001'\n\
UNH+1+ORDERS:D:96A:UN:EAN008'\nBGM+220+4500020115+9'\nDTM+137:20240610:102'\nNAD+BY+5412345000013::9'\n\
NAD+SU+4012345000009::9'\nNAD+DP+5412345000020::9'\nLIN+1++4012345100075:EN'\nQTY+21:24000:KGM'\nUNS+S'\n\
CNT+2:1'\nUNT+11+1'\nUNZ+1+ACME0610001'\n";

fn document(name: &str) -> Vec<u8> {
    let path = support::root().join("examples/plant/documents").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn config() -> PathBuf {
    support::root().join("examples/plant/millwright.toml")
}

/// The canonical purchase order with a decimal comma in its second line's quantity.
fn bad_canonical_order() -> Vec<u8> {
    let text = String::from_utf8(document("canonical-po-4500020131.json")).expect("UTF-8");
    let bad = text.replace(
        r#""value": "4000", "unit": "H87""#,
        r#""value": "4,000", "unit": "H87""#,
    );
    assert_ne!(bad, text, "the example order has a line of 4000 pieces");
    bad.into_bytes()
}

// ---- Reading what came out, as a user would ----

/// For each element of `list`, the values at `pointers` (JSON pointers, separated by spaces) joined by ` | `, a
/// missing value or `null` written `-`: a table to compare with the expected one, a line per row.
fn table<'a>(list: impl IntoIterator<Item = &'a Value>, pointers: &str) -> Vec<String> {
    list.into_iter()
        .map(|v| {
            pointers
                .split_whitespace()
                .map(|p| match v.pointer(p) {
                    None | Some(Value::Null) => "-".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

fn array(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
}

/// Every item of a ship notice, loose or in a tare or pack, in document order, with its order's id.
fn shipped_items(notice: &Value) -> Vec<Value> {
    let mut items = Vec::new();
    for order in array(&notice["orders"]) {
        let order_id = &order["order"]["order-id"];
        let mut add = |list: &Value| {
            for item in array(list) {
                let mut item = item.clone();
                item["order-id"] = order_id.clone();
                items.push(item);
            }
        };
        add(&order["items"]);
        for unit in array(&order["tares"]).iter().chain(array(&order["packs"])) {
            add(&unit["items"]);
            for pack in unit["packs"].as_array().into_iter().flatten() {
                add(&pack["items"]);
            }
        }
    }
    items
}

/// An X12 interchange's segments, each written with `*` between its elements whatever its separators were.
fn x12_segments(text: &str) -> Vec<String> {
    let text = text.trim_start();
    assert!(
        text.starts_with("ISA") && text.len() > 106,
        "not an X12 interchange: {text}"
    );
    let element = text.as_bytes()[3] as char;
    let terminator = text.as_bytes()[105] as char;
    text.split(terminator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace(element, "*"))
        .collect()
}

/// The segments tagged `tag`.
fn x12<'a>(segments: &'a [String], tag: &str) -> Vec<&'a str> {
    segments
        .iter()
        .filter(|s| s.split('*').next() == Some(tag))
        .map(String::as_str)
        .collect()
}

/// The example's ERP on a free loopback port, in this process: its base URL.
async fn start_erp() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the ERP");
    let addr = listener.local_addr().expect("its address");
    let erp = plant_erp::Erp::new(plant_erp::Settings {
        log: false,
        ..plant_erp::Settings::default()
    });
    tokio::spawn(plant_erp::serve(listener, erp));
    format!("http://{addr}")
}

/// The event types the `erp-postings` route posts.
const STOCK_EVENTS: [&str; 4] = [
    "goods-receipt",
    "material-consumption",
    "production-completion",
    "inventory-movement",
];

/// The running plant: the nats-server, the host on examples/plant/millwright.toml, the ERP.
struct Plant {
    js: Context,
    /// The ERP's base URL, and a client for it.
    erp: String,
    http: reqwest::Client,
    host: Host,
    _server: NatsServer,
    _dir: tempfile::TempDir,
}

impl Plant {
    /// Publishes a document on `mw.acme.in.<source>` with its own correlation id.
    async fn publish(&self, source: &str, correlation: &str, payload: Vec<u8>) {
        nats::publish(
            &self.js,
            &format!("mw.acme.in.{source}"),
            &[("Mw-Correlation-Id", correlation)],
            payload,
        )
        .await;
    }

    /// Waits for `count` messages on `filter` with correlation id `correlation` and returns them all, in stream
    /// order; when they do not come, says what the dead letters hold.
    async fn wait(
        &self,
        stream: &str,
        filter: &str,
        correlation: &str,
        count: usize,
    ) -> Vec<Stored> {
        let started = Instant::now();
        loop {
            let found = correlated(nats::stored(&self.js, stream, filter).await, correlation);
            if found.len() >= count {
                return found;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{} of {count} messages on {filter} for {correlation} after {PATIENCE:?}; dead letters: {:#?}",
                found.len(),
                self.dead_letters().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The canonical events of `event_type` made of the document sent as `correlation`, once there are `count`.
    async fn events(&self, event_type: &str, correlation: &str, count: usize) -> Vec<Value> {
        let messages = self
            .wait(EV, &format!("mw.acme.ev.{event_type}"), correlation, count)
            .await;
        assert_eq!(
            messages.len(),
            count,
            "{event_type} events for {correlation}"
        );
        messages
            .iter()
            .map(|m| {
                assert_eq!(m.header("Mw-Event-Type"), Some(event_type));
                m.json()[event_type].clone()
            })
            .collect()
    }

    /// Waits until the consumer `durable` of `stream` has taken and acknowledged everything stored for it.
    async fn drained(&self, stream: &str, durable: &str) {
        let started = Instant::now();
        while !nats::drained(&self.js, stream, durable).await {
            assert!(
                started.elapsed() < PATIENCE,
                "{durable} still has work after {PATIENCE:?}; the host's log:\n{}",
                self.host.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET` of the ERP's `path`: its JSON answer.
    async fn erp_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.erp))
            .send()
            .await
            .expect("the ERP answers");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON")
    }

    /// The material documents the ERP has posted, in order.
    async fn documents(&self) -> Vec<Value> {
        array(&self.erp_get("/documents").await).clone()
    }

    /// The stock events made of the document sent as `correlation`: their ids (`header.id`).
    async fn stock_event_ids(&self, correlation: &str) -> Vec<String> {
        correlated(
            nats::stored(&self.js, EV, "mw.acme.ev.>").await,
            correlation,
        )
        .iter()
        .filter_map(|m| {
            let event_type = m.header("Mw-Event-Type")?;
            STOCK_EVENTS.contains(&event_type).then(|| {
                m.json()[event_type]["header"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .collect()
    }

    /// The material documents the ERP posted of the stock events of `correlation`, once there are `count`.
    async fn documents_for(&self, correlation: &str, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let ids = self.stock_event_ids(correlation).await;
            let found: Vec<Value> = self
                .documents()
                .await
                .into_iter()
                .filter(|d| {
                    d["MaterialDocumentHeaderText"]
                        .as_str()
                        .is_some_and(|id| ids.iter().any(|i| i == id))
                })
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{} of {count} material documents for {correlation} after {PATIENCE:?}; dead letters: {:#?}",
                found.len(),
                self.dead_letters().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every dead letter as (route, correlation id, error).
    async fn dead_letters(&self) -> Vec<(String, String, String)> {
        let mut letters: Vec<_> = nats::stored(&self.js, DLQ, "mw.acme.dlq.>")
            .await
            .iter()
            .map(|l| {
                let h = |n| l.header(n).unwrap_or_default().to_string();
                (h("Mw-Route"), h("Mw-Correlation-Id"), h("Mw-Error"))
            })
            .collect();
        letters.sort();
        letters
    }

    /// Waits until an alert of each (kind, subject) is on record.
    async fn wait_alerts(&self, wanted: &[(&str, &str)]) {
        let started = Instant::now();
        loop {
            let alerts = nats::stored(&self.js, ALERT, "mw.acme.alert.>").await;
            let missing: Vec<_> = wanted
                .iter()
                .filter(|(kind, subject)| {
                    !alerts.iter().any(|a| {
                        let alert = &a.json()["exception"];
                        alert["kind"] == *kind && alert["subject"] == *subject
                    })
                })
                .collect();
            if missing.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no alert {missing:?} after {PATIENCE:?}; the host's log:\n{}",
                self.host.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The X12 850 rendered for the order sent as `correlation`: one, from ACME to Brightwire.
    async fn the_850(&self, correlation: &str) -> Vec<String> {
        let out = self
            .wait(OUT, "mw.acme.out.supplier-850", correlation, 1)
            .await;
        assert_eq!(out.len(), 1, "one 850 per order");
        let segments = x12_segments(std::str::from_utf8(&out[0].payload).expect("ASCII"));
        let isa: Vec<&str> = segments[0].split('*').map(str::trim).collect();
        assert_eq!(
            isa[5..9],
            ["ZZ", "ACMEMFG", "ZZ", "BRIGHTWIRE"],
            "ISA05-08: from ACME to Brightwire"
        );
        assert!(
            x12(&segments, "GS")[0].starts_with("GS*PO*ACMEMFG*BRIGHTWIRE*"),
            "{segments:?}"
        );
        assert!(
            x12(&segments, "ST")[0].starts_with("ST*850*"),
            "{segments:?}"
        );
        segments
    }
}

fn correlated(messages: Vec<Stored>, correlation: &str) -> Vec<Stored> {
    messages
        .into_iter()
        .filter(|m| m.header("Mw-Correlation-Id") == Some(correlation))
        .collect()
}

// ---- The checks, each what a user of the plant would look at ----

async fn a_canonical_purchase_order_goes_out_to_brightwire_as_an_850(plant: &Plant) {
    let order = &plant
        .events("purchase-order", "plant-canonical-po", 1)
        .await[0];
    assert_eq!(
        table(
            [order],
            "/order-id /header/id /header/tenant /header/correlation-id"
        ),
        ["4500020131 | kanban-p2:4500020131:1 | acme | plant-canonical-po"],
        "the sender's id kept, the tenant and correlation id set by the host"
    );

    let segments = plant.the_850("plant-canonical-po").await;
    assert_eq!(
        x12(&segments, "BEG"),
        ["BEG*00*RL*4500020131*KB-P2-0619-014*20240619"],
        "an original release against the framework agreement"
    );
    assert!(
        x12(&segments, "N1").contains(&"N1*ST**UL*5412345000020"),
        "to plant P2's dock: {segments:?}"
    );
    assert_eq!(
        x12(&segments, "PO1"),
        [
            "PO1*1*2000*EA*0.182*PE*BP*FST-M10-40*VP*BW-HB1040-ZP",
            "PO1*2*4000*EA*0.045*PE*BP*FST-NUT-M10*VP*BW-HN10-ZP",
        ]
    );
    assert_eq!(x12(&segments, "CTT"), ["CTT*2*6000"]);
}

async fn an_erp_purchase_order_for_brightwire_is_an_event_and_an_850(plant: &Plant) {
    let order = &plant
        .events("purchase-order", "plant-erp-po-brightwire", 1)
        .await[0];
    assert_eq!(
        table(
            [order],
            "/order-id /purpose /supplier/ids/0/scheme /supplier/ids/0/value"
        ),
        ["4500020114 | original | internal | BW01"]
    );
    assert_eq!(
        table(
            array(&order["lines"]),
            "/line-number /item/ids/1/value /item/ids/2/value /quantity/value /quantity/unit /requested-date \
                /ship-to/value"
        ),
        [
            "10 | FST-M10-40 | BW-HB1040-ZP | 5000 | H87 | 2024-06-18 | P2-D4",
            "20 | FST-NUT-M10 | BW-HN10-ZP | 10000 | H87 | 2024-06-18 | P2-D4",
            "30 | FST-WSH-M10 | BW-FW10-ZP | 400 | LBR | 2024-06-18 | P2-D4",
        ]
    );

    let segments = plant.the_850("plant-erp-po-brightwire").await;
    assert_eq!(x12(&segments, "BEG"), ["BEG*00*SA*4500020114**20240610"]);
    assert_eq!(
        x12(&segments, "PO1"),
        [
            "PO1*10*5000*EA*0.182*PE*BP*FST-M10-40*VP*BW-HB1040-ZP",
            "PO1*20*10000*EA*0.045*PE*BP*FST-NUT-M10*VP*BW-HN10-ZP",
            "PO1*30*400*LB*2.15*PE*BP*FST-WSH-M10*VP*BW-FW10-ZP",
        ]
    );
}

async fn an_erp_purchase_order_for_rhein_stahl_is_an_event_and_no_850(plant: &Plant) {
    let order = &plant
        .events("purchase-order", "plant-erp-po-rhein-stahl", 1)
        .await[0];
    assert_eq!(
        table(
            [order],
            "/order-id /supplier/ids/0/value /supplier/ids/1/scheme /supplier/ids/1/value"
        ),
        ["4500020115 | RS10 | gln | 4012345000009"]
    );
    assert_eq!(
        table(
            array(&order["lines"]),
            "/line-number /item/ids/0/value /quantity/value /quantity/unit"
        ),
        ["10 | COIL-S355-2MM | 24000 | KGM"]
    );
    // Once the 850 route has taken every purchase order, there is none for Rhein Stahl, and no dead letter.
    plant.drained(EV, "out-supplier-850-purchase-order").await;
    let out = nats::stored(&plant.js, OUT, "mw.acme.out.>").await;
    assert!(
        correlated(out, "plant-erp-po-rhein-stahl").is_empty(),
        "Rhein Stahl takes no X12"
    );
    let letters = nats::stored(&plant.js, DLQ, "mw.acme.dlq.>").await;
    assert!(correlated(letters, "plant-erp-po-rhein-stahl").is_empty());
}

async fn the_erp_releases_the_work_order(plant: &Plant) {
    let order = &plant
        .events("work-order-status", "plant-erp-work-order", 1)
        .await[0];
    assert_eq!(
        table(
            [order],
            "/work-order /state /item/ids/0/value /quantity-planned/value /quantity-planned/unit"
        ),
        ["WO-240617-01 | released | BRK-ASSY-330 | 120 | H87"]
    );
}

async fn brightwires_855_confirms_the_order_with_one_line_changed(plant: &Plant) {
    let ack = &plant.events("order-acknowledgment", "plant-855", 1).await[0];
    assert_eq!(
        table([ack], "/order-id /status"),
        ["4500020114 | accepted-with-changes"]
    );
    assert_eq!(
        table(
            array(&ack["lines"]),
            "/line-number /item/ids/0/value /status /quantity/value /quantity/unit /promised-date"
        ),
        [
            "10 | FST-M10-40 | accepted | 5000 | H87 | 2024-06-17",
            "20 | FST-NUT-M10 | changed | 12000 | H87 | 2024-06-17",
            "30 | FST-WSH-M10 | accepted | 400 | LBR | 2024-06-17",
        ]
    );
}

/// What a receiving clerk reads of a ship notice's items.
const SHIPPED: &str = "/order-id /line-number /item/ids/0/value /item/ids/1/value /quantity/value /quantity/unit \
    /lots/0/supplier-lot";

async fn brightwires_856_announces_the_shipment_of_the_order(plant: &Plant) {
    let notice = &plant.events("ship-notice", "plant-856", 1).await[0];
    assert_eq!(
        table(
            [notice],
            "/shipment-id /purpose /shipped-at/utc /bill-of-lading /ship-to/ids/0/scheme /ship-to/ids/0/value"
        ),
        ["SHP-BW-240617-01 | original | 2024-06-17T08:30:00Z | BOL-BW-77311 | gln | 5412345000020"]
    );
    assert_eq!(
        table(array(&notice["orders"][0]["tares"]), "/sscc"),
        ["340123450000100011"]
    );
    assert_eq!(
        table(&shipped_items(notice), SHIPPED),
        [
            "4500020114 | 10 | FST-M10-40 | BW-HB1040-ZP | 5000 | H87 | B2406-17",
            "4500020114 | 20 | FST-NUT-M10 | BW-HN10-ZP | 12000 | H87 | N2406-09",
            "4500020114 | 30 | FST-WSH-M10 | BW-FW10-ZP | 400 | LBR | W2406-04",
        ]
    );
}

async fn rhein_stahls_desadv_announces_two_coils(plant: &Plant) {
    let notice = &plant.events("ship-notice", "plant-desadv", 1).await[0];
    assert_eq!(
        table(
            [notice],
            "/shipment-id /ship-from/ids/0/value /ship-to/ids/0/value /gross-weight/value /gross-weight/unit"
        ),
        ["RS-DA-240617-0057 | 4012345000009 | 5412345000020 | 24310 | KGM"],
        "from Rhein Stahl's GLN to plant P2's delivery point"
    );
    assert_eq!(
        table(array(&notice["orders"][0]["packs"]), "/sscc"),
        ["340123450000200018", "340123450000200025"]
    );
    let items = shipped_items(notice);
    assert_eq!(
        table(&items, SHIPPED),
        [
            "4500020115 | 10 | 4012345100075 | RS-HR-S355-2.0X1250 | 12150 | KGM | H24-91207",
            "4500020115 | 10 | 4012345100075 | RS-HR-S355-2.0X1250 | 11890 | KGM | H24-91208",
        ]
    );
    assert_eq!(
        table(
            &items,
            "/item/ids/0/scheme /item/ids/2/scheme /item/ids/2/value"
        ),
        [
            "gtin | buyer-part | COIL-S355-2MM",
            "gtin | buyer-part | COIL-S355-2MM"
        ],
        "ACME's item number from the PIA"
    );
}

/// What stores and purchasing read of a goods receipt.
const RECEIVED: &str = "/receipt-id /order-ref/order-id /order-line /item/ids/0/value /quantity-received/value \
    /quantity-accepted/value /quantity-rejected/value /quantity-received/unit /lots/0/supplier-lot /location/value";

async fn riversides_944_reports_what_dock_p2_d4_received(plant: &Plant) {
    let receipts = plant.events("goods-receipt", "plant-944", 3).await;
    assert_eq!(
        table(&receipts, RECEIVED),
        [
            "RV-240618-002-1 | 4500020114 | 10 | FST-M10-40 | 5000 | 4850 | 150 | H87 | B2406-17 | P2-D4",
            "RV-240618-002-2 | 4500020114 | 20 | FST-NUT-M10 | 12000 | 12000 | 0 | H87 | N2406-09 | P2-D4",
            "RV-240618-002-3 | 4500020114 | 30 | FST-WSH-M10 | 400 | 400 | 0 | LBR | W2406-04 | P2-D4",
        ]
    );
    assert_eq!(
        receipts[0]["discrepancy-reason"],
        "damaged product or container (01): 150 H87"
    );
    assert_eq!(
        table(&receipts, "/ship-notice-ref"),
        ["SHP-BW-240617-01", "SHP-BW-240617-01", "SHP-BW-240617-01"]
    );
}

async fn the_coil_docks_csv_reports_both_coils_under_acmes_item_number(plant: &Plant) {
    let receipts = plant.events("goods-receipt", "plant-dock-csv", 2).await;
    assert_eq!(
        table(&receipts, RECEIVED),
        [
            "GR-P2D2-240620-0007 | 4500020115 | 10 | RS-HR-S355-2.0X1250 | 12150 | 12150 | 0 | KGM | H24-91207 | P2-D2",
            "GR-P2D2-240620-0007 | 4500020115 | 10 | RS-HR-S355-2.0X1250 | 11890 | 11890 | 0 | KGM | H24-91208 | P2-D2",
        ]
    );
    assert_eq!(
        table(
            &receipts,
            "/item/ids/1/scheme /item/ids/1/value /ship-notice-ref"
        ),
        [
            "internal | COIL-S355-2MM | RS-DA-240617-0057",
            "internal | COIL-S355-2MM | RS-DA-240617-0057"
        ],
        "the items table gives ACME's number"
    );
}

async fn quality_holds_the_bolt_lot_then_releases_it(plant: &Plant) {
    let mut decisions = plant.events("quality-hold", "plant-qms-hold", 1).await;
    decisions.extend(plant.events("quality-hold", "plant-qms-release", 1).await);
    assert_eq!(
        table(
            &decisions,
            "/hold-id /disposition /scope/lot/item/ids/0/value /scope/lot/lot /quantity/value /quantity/unit /at/utc \
                /header/site"
        ),
        [
            "QH-240618-003 | hold | FST-M10-40 | B2406-17 | 4850 | H87 | 2024-06-18T20:20:00Z | P2",
            "QH-240618-003 | release | FST-M10-40 | B2406-17 | 4850 | H87 | 2024-06-19T12:05:00Z | P2",
        ]
    );
}

async fn the_mes_reports_what_the_work_order_consumed_and_completed(plant: &Plant) {
    let consumed = plant.events("material-consumption", "plant-mes", 3).await;
    // In stream order, unless the quarantine held the bolts back until the lot's release (the hold, the release
    // and the report arrive together here, and the rules are on): sorted.
    let mut consumed = table(
        &consumed,
        "/work-order /operation /item/ids/0/value /lot/internal-lot /quantity/value /quantity/unit \
            /location/value",
    );
    consumed.sort();
    assert_eq!(
        consumed,
        [
            "WO-240617-01 | 0010-STAMP-PLATE | COIL-S355-2MM | H24-91207 | 412.500 | KGM | P2-PRESS-2",
            "WO-240617-01 | 0020-ASSEMBLE | FST-M10-40 | B2406-17 | 480 | H87 | P2-L3",
            "WO-240617-01 | 0020-ASSEMBLE | LUB-GREASE-HT | - | 0.850 | KGM | P2-L3",
        ]
    );
    let completed = plant.events("production-completion", "plant-mes", 1).await;
    assert_eq!(
        table(
            &completed,
            "/work-order /item/ids/0/value /lot-created/internal-lot /quantity-good/value /quantity-scrap/value \
                /scrap-reason /location/value"
        ),
        ["WO-240617-01 | BRK-ASSY-330 | L240619-A01 | 118 | 2 | ROTOR-RUNOUT | P2-FG1"]
    );
}

/// What the ERP books of a material document: its header, then its items.
const POSTED: &str = "/GoodsMovementType /InventoryStockType /Material /QuantityInEntryUnit /EntryUnit /Batch /Plant \
    /StorageLocation /PurchaseOrder /PurchaseOrderItem /ManufacturingOrder";

/// The material documents the ERP posted of the stock events, by the canonical event's id
/// (`MaterialDocumentHeaderText`), once all nine are there.
async fn documents_by_event(plant: &Plant) -> BTreeMap<String, Value> {
    let mut by_event = BTreeMap::new();
    for (correlation, count) in [("plant-944", 3), ("plant-dock-csv", 2), ("plant-mes", 4)] {
        for document in plant.documents_for(correlation, count).await {
            let id = document["MaterialDocumentHeaderText"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            by_event.insert(id, document);
        }
    }
    by_event
}

/// A material document's items as posted (the ERP answers them under OData's `results`).
fn items(document: &Value) -> &Vec<Value> {
    array(&document["to_MaterialDocumentItem"]["results"])
}

async fn receipts_consumption_and_completions_are_posted_to_the_erp(plant: &Plant) {
    // The ERP takes material documents only on the path the configuration names and only as application/json:
    // each one it posted came as the plugin rendered it.
    let documents = documents_by_event(plant).await;
    let document = |event_id: &str| {
        let body = documents.get(event_id).unwrap_or_else(|| {
            panic!(
                "no material document for {event_id}: {:?}",
                documents.keys()
            )
        });
        let mut lines = table([body], "/GoodsMovementCode /ReferenceDocument");
        lines.extend(table(items(body), POSTED));
        lines
    };
    // Riverside's count: the accepted bolts into unrestricted stock, the damaged ones into blocked stock.
    assert_eq!(
        document("x12:RIVERSIDE3PL:000000327:327:0001:1"),
        [
            "01 | SHP-BW-240617-01",
            "101 | 01 | FST-M10-40 | 4850 | EA | B2406-17 | P2 | 0004 | 4500020114 | 10 | -",
            "101 | 07 | FST-M10-40 | 150 | EA | B2406-17 | P2 | 0004 | 4500020114 | 10 | -",
        ]
    );
    assert_eq!(
        document("x12:RIVERSIDE3PL:000000327:327:0001:2"),
        [
            "01 | SHP-BW-240617-01",
            "101 | 01 | FST-NUT-M10 | 12000 | EA | N2406-09 | P2 | 0004 | 4500020114 | 20 | -"
        ]
    );
    assert_eq!(
        document("x12:RIVERSIDE3PL:000000327:327:0001:3"),
        [
            "01 | SHP-BW-240617-01",
            "101 | 01 | FST-WSH-M10 | 400 | LB | W2406-04 | P2 | 0004 | 4500020114 | 30 | -"
        ]
    );
    // The coil dock's CSV: each coil against the Rhein Stahl order, at the coil dock.
    let mut coils: Vec<String> = plant
        .documents_for("plant-dock-csv", 2)
        .await
        .iter()
        .flat_map(|d| table(items(d), POSTED))
        .collect();
    coils.sort();
    assert_eq!(
        coils,
        [
            "101 | 01 | COIL-S355-2MM | 11890 | KG | H24-91208 | P2 | 0002 | 4500020115 | 10 | -",
            "101 | 01 | COIL-S355-2MM | 12150 | KG | H24-91207 | P2 | 0002 | 4500020115 | 10 | -",
        ]
    );
    // The MES: three goods issues to the work order, and the good assemblies into finished goods.
    assert_eq!(
        ["1", "2", "3", "4"].map(|n| document(&format!("b2mml:PP-P2-240619-0031:{n}"))),
        [
            [
                "03 | WO-240617-01",
                "261 | - | COIL-S355-2MM | 412.500 | KG | H24-91207 | P2 | 0310 | - | - | WO-240617-01"
            ],
            [
                "03 | WO-240617-01",
                "261 | - | FST-M10-40 | 480 | EA | B2406-17 | P2 | 0300 | - | - | WO-240617-01"
            ],
            [
                "03 | WO-240617-01",
                "261 | - | LUB-GREASE-HT | 0.850 | KG | - | P2 | 0300 | - | - | WO-240617-01"
            ],
            [
                "02 | WO-240617-01",
                "101 | 01 | BRK-ASSY-330 | 118 | EA | L240619-A01 | P2 | 0900 | - | - | WO-240617-01"
            ],
        ]
    );
    // Each numbered by the ERP, once.
    let mut numbers: Vec<&str> = documents
        .values()
        .map(|d| d["MaterialDocument"].as_str().unwrap_or_default())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 9, "{numbers:?}");
}

async fn each_posting_carries_one_idempotency_key_naming_the_business_fact(plant: &Plant) {
    // The ERP drops a posting whose key it has already booked: the key must be one (the ERP refuses a request
    // with two), and the same for the same fact however often it is rendered (a redelivery, a replay from the
    // dead letters).
    let mut keys = BTreeMap::new();
    for event_type in STOCK_EVENTS {
        for message in nats::stored(&plant.js, EV, &format!("mw.acme.ev.{event_type}")).await {
            let header = &message.json()[event_type]["header"];
            let id = header["id"].as_str().unwrap_or_default().to_string();
            keys.insert(
                id,
                header["idempotency-key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    let documents = documents_by_event(plant).await;
    for (event_id, document) in &documents {
        assert_eq!(
            document["IdempotencyKey"].as_str(),
            Some(keys[event_id].as_str()),
            "the Idempotency-Key of the posting of {event_id}"
        );
    }

    // The damaged bolts' receipt delivered again, as a redelivery would: the ERP answers with the material
    // document it posted the first time, and no stock moves.
    let first = &documents["x12:RIVERSIDE3PL:000000327:327:0001:1"];
    let mut again = first.clone();
    let header = again.as_object_mut().expect("a document");
    for assigned in [
        "__metadata",
        "MaterialDocument",
        "MaterialDocumentYear",
        "IdempotencyKey",
    ] {
        header.remove(assigned);
    }
    let posted_items: Vec<Value> = items(first)
        .iter()
        .map(|item| {
            let mut item = item.clone();
            let fields = item.as_object_mut().expect("an item");
            for assigned in [
                "MaterialDocument",
                "MaterialDocumentYear",
                "MaterialDocumentItem",
            ] {
                fields.remove(assigned);
            }
            item
        })
        .collect();
    again["to_MaterialDocumentItem"] = Value::Array(posted_items);
    let stock = plant.erp_get("/balances").await;
    let response = plant
        .http
        .post(format!(
            "{}/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader",
            plant.erp
        ))
        .header(
            "Idempotency-Key",
            keys["x12:RIVERSIDE3PL:000000327:327:0001:1"].as_str(),
        )
        .json(&again)
        .send()
        .await
        .expect("the ERP answers");
    assert_eq!(response.status(), 201);
    assert_eq!(
        response
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["d"]["MaterialDocument"], first["MaterialDocument"]);
    assert_eq!(plant.erp_get("/balances").await, stock, "nothing moved");
    assert_eq!(plant.documents().await.len(), 9, "nothing posted");
}

async fn the_erp_keeps_the_plants_stock(plant: &Plant) {
    documents_by_event(plant).await;
    const BALANCE: &str = "/material /batch /plant /storage_location /stock_type /quantity /unit";
    // What the week left in the ERP's books: the receipts at the Riverside dock (0004) and the coil dock (0002),
    // the 150 damaged bolts blocked, the assemblies in finished goods (0900). The MES reports consumption on
    // line 3 (0300) and press 2 (0310), where no staging from the docks was reported and the grease was never
    // received: plant P2 allows negative unrestricted stock, and the deficits there are what staging must
    // still bring.
    assert_eq!(
        table(array(&plant.erp_get("/balances").await), BALANCE),
        [
            "BRK-ASSY-330 | L240619-A01 | P2 | 0900 | unrestricted | 118 | EA",
            "COIL-S355-2MM | H24-91207 | P2 | 0002 | unrestricted | 12150 | KG",
            "COIL-S355-2MM | H24-91207 | P2 | 0310 | unrestricted | -412.500 | KG",
            "COIL-S355-2MM | H24-91208 | P2 | 0002 | unrestricted | 11890 | KG",
            "FST-M10-40 | B2406-17 | P2 | 0004 | unrestricted | 4850 | EA",
            "FST-M10-40 | B2406-17 | P2 | 0004 | blocked | 150 | EA",
            "FST-M10-40 | B2406-17 | P2 | 0300 | unrestricted | -480 | EA",
            "FST-NUT-M10 | N2406-09 | P2 | 0004 | unrestricted | 12000 | EA",
            "FST-WSH-M10 | W2406-04 | P2 | 0004 | unrestricted | 400 | LB",
            "LUB-GREASE-HT | - | P2 | 0300 | unrestricted | -0.850 | KG",
        ]
    );
    // A lot as the plant asks for it: what is left of it in the plant, everywhere, exactly.
    let lot = |material: &'static str, batch: &'static str| async move {
        let balances = plant
            .erp_get(&format!("/balances?material={material}&batch={batch}"))
            .await;
        array(&balances)
            .iter()
            .map(|b| {
                let quantity = b["quantity"].as_str().expect("a decimal string");
                match quantity.strip_prefix('-') {
                    Some(taken) => plant_erp::Decimal::parse_unsigned(taken)
                        .expect("a decimal")
                        .negated(),
                    None => plant_erp::Decimal::parse_unsigned(quantity).expect("a decimal"),
                }
            })
            .fold(plant_erp::Decimal::ZERO, plant_erp::Decimal::plus)
            .to_string()
    };
    assert_eq!(
        lot("FST-M10-40", "B2406-17").await,
        "4520",
        "4850 + 150 received, 480 used"
    );
    assert_eq!(
        lot("COIL-S355-2MM", "H24-91207").await,
        "11737.500",
        "12150 kg received, 412.5 kg stamped"
    );
    assert_eq!(
        lot("BRK-ASSY-330", "L240619-A01").await,
        "118",
        "the good assemblies; the 2 scrapped never entered stock"
    );
    // The dock, as the receiving clerk sees it.
    assert_eq!(
        table(
            array(&plant.erp_get("/balances?location=P2/0004").await),
            "/material /batch /stock_type /quantity"
        ),
        [
            "FST-M10-40 | B2406-17 | unrestricted | 4850",
            "FST-M10-40 | B2406-17 | blocked | 150",
            "FST-NUT-M10 | N2406-09 | unrestricted | 12000",
            "FST-WSH-M10 | W2406-04 | unrestricted | 400",
        ]
    );
}

/// The dead letter of the document sent as `correlation` to route `route`, with its diagnostic.
async fn dead_letter(plant: &Plant, route: &str, correlation: &str) -> (Stored, Value) {
    let letters = plant
        .wait(DLQ, &format!("mw.acme.dlq.{route}"), correlation, 1)
        .await;
    assert_eq!(letters.len(), 1, "one dead letter");
    let letter = letters[0].clone();
    assert_eq!(letter.header("Mw-Route"), Some(route));
    assert_eq!(
        letter.header("Mw-Error-Class"),
        Some("invalid-document"),
        "never retried"
    );
    let diagnostic =
        serde_json::from_str(letter.header("Mw-Diagnostic").expect("Mw-Diagnostic")).expect("JSON");
    (letter, diagnostic)
}

async fn a_bad_canonical_order_is_a_dead_letter_naming_the_json_path(plant: &Plant) {
    let (letter, diagnostic) = dead_letter(plant, "canonical", "plant-bad-canonical").await;
    assert_eq!(
        diagnostic["at"]["json-path"], "$['purchase-order'].lines[1].quantity.value",
        "{diagnostic}"
    );
    let error = letter.header("Mw-Error").unwrap_or_default();
    assert!(error.contains(r#""4,000" is not a decimal"#), "{error}");
    assert_eq!(
        letter.payload,
        bad_canonical_order(),
        "kept as sent, to replay once fixed"
    );
    // Nothing of it was published.
    plant.drained(IN, "in-canonical").await;
    let events = nats::stored(&plant.js, EV, "mw.acme.ev.>").await;
    assert!(correlated(events, "plant-bad-canonical").is_empty());
}

async fn an_orders_on_the_desadv_route_is_a_dead_letter_saying_so(plant: &Plant) {
    let (letter, diagnostic) =
        dead_letter(plant, "supplier-desadv", "plant-orders-misrouted").await;
    assert_eq!(
        table([&diagnostic], "/code /at/segment-id /at/element"),
        ["wrong-transaction | UNH | 2"],
        "{diagnostic}"
    );
    let error = letter.header("Mw-Error").unwrap_or_default();
    assert!(
        error.contains("expected an EDIFACT DESADV") && error.contains("got ORDERS"),
        "{error}"
    );
    assert_eq!(letter.payload, ORDERS.as_bytes());
}

async fn an_850_on_the_855_route_is_a_dead_letter_saying_so(plant: &Plant, the_850: &[u8]) {
    let (letter, diagnostic) = dead_letter(plant, "supplier-855", "plant-850-misrouted").await;
    assert_eq!(
        table([&diagnostic], "/code /at/segment-id /at/element"),
        ["wrong-transaction | ST | 1"],
        "{diagnostic}"
    );
    let error = letter.header("Mw-Error").unwrap_or_default();
    assert!(
        error.contains("expected an X12 855") && error.contains("got transaction 850"),
        "{error}"
    );
    assert_eq!(letter.payload, the_850);
}

async fn nothing_is_lost(plant: &Plant) {
    let inbound = [
        "erp",
        "canonical",
        "supplier-855",
        "supplier-856",
        "supplier-desadv",
        "wms-944",
        "dock-3pl",
        "qms",
        "mes",
    ];
    for route in inbound {
        plant.drained(IN, &format!("in-{route}")).await;
    }
    for event in STOCK_EVENTS {
        plant
            .drained(EV, &format!("out-erp-postings-{event}"))
            .await;
    }
    plant.drained(EV, "out-supplier-850-purchase-order").await;
    // Every document of the example mapped: the only dead letters are the three wrong documents.
    let letters: Vec<String> = plant
        .dead_letters()
        .await
        .into_iter()
        .map(|(route, correlation, _)| format!("{route} | {correlation}"))
        .collect();
    assert_eq!(
        letters,
        [
            "canonical | plant-bad-canonical",
            "supplier-855 | plant-850-misrouted",
            "supplier-desadv | plant-orders-misrouted",
        ]
    );
    // Each stock event posted once: 3 + 2 receipts, 3 issues, 1 completion.
    let documents = plant.documents().await;
    assert_eq!(documents.len(), 9, "{documents:#?}");
    // Both purchase orders to Brightwire went out, and only they.
    assert_eq!(
        nats::count_on(&plant.js, OUT, "mw.acme.out.supplier-850").await,
        2
    );
}

impl Plant {
    /// A nats-server, the example's ERP, and a host on examples/plant/millwright.toml posting to it.
    fn start(rt: &tokio::runtime::Runtime) -> Self {
        let server = NatsServer::start();
        let dir = tempfile::tempdir().expect("tmp");
        let erp = rt.block_on(start_erp());
        let host = Host::start_with_env(
            &config(),
            Some(&server.url),
            &dir.path().join("data"),
            &[("ACME_ERP_ADDR", erp.trim_start_matches("http://"))],
        );
        let (_, js) = rt.block_on(server.client());
        Plant {
            js,
            erp,
            http: millwright::http_client::builder(None)
                .expect("TLS settings")
                .build()
                .expect("client"),
            host,
            _server: server,
            _dir: dir,
        }
    }
}

/// One check of the plant, not yet run.
type Check<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

#[test]
fn the_plant_example_runs_end_to_end() {
    let rt = support::runtime();
    let plant = Plant::start(&rt);

    // Everything arrives at once, as in a plant; each check then looks for what its document gave.
    let the_850 = rt.block_on(async {
        for (source, file, correlation) in DOCUMENTS {
            plant.publish(source, correlation, document(file)).await;
        }
        plant
            .publish("canonical", "plant-bad-canonical", bad_canonical_order())
            .await;
        plant
            .publish(
                "supplier-desadv",
                "plant-orders-misrouted",
                ORDERS.as_bytes().to_vec(),
            )
            .await;
        // ACME's own 850 to Brightwire, looped back by a mistaken mailbox onto Brightwire's 855 source.
        let sent = plant
            .wait(
                OUT,
                "mw.acme.out.supplier-850",
                "plant-erp-po-brightwire",
                1,
            )
            .await;
        let the_850 = sent[0].payload.clone();
        plant
            .publish("supplier-855", "plant-850-misrouted", the_850.clone())
            .await;
        the_850
    });

    macro_rules! checks {
        ($($check:ident $(($($arg:expr),*))?),* $(,)?) => {
            vec![$((stringify!($check), Box::pin($check(&plant $($(, $arg)*)?)) as Check)),*]
        };
    }
    let checks: Vec<(&str, Check)> = checks![
        a_canonical_purchase_order_goes_out_to_brightwire_as_an_850,
        an_erp_purchase_order_for_brightwire_is_an_event_and_an_850,
        an_erp_purchase_order_for_rhein_stahl_is_an_event_and_no_850,
        the_erp_releases_the_work_order,
        brightwires_855_confirms_the_order_with_one_line_changed,
        brightwires_856_announces_the_shipment_of_the_order,
        rhein_stahls_desadv_announces_two_coils,
        riversides_944_reports_what_dock_p2_d4_received,
        the_coil_docks_csv_reports_both_coils_under_acmes_item_number,
        quality_holds_the_bolt_lot_then_releases_it,
        the_mes_reports_what_the_work_order_consumed_and_completed,
        receipts_consumption_and_completions_are_posted_to_the_erp,
        each_posting_carries_one_idempotency_key_naming_the_business_fact,
        the_erp_keeps_the_plants_stock,
        a_bad_canonical_order_is_a_dead_letter_naming_the_json_path,
        an_orders_on_the_desadv_route_is_a_dead_letter_saying_so,
        an_850_on_the_855_route_is_a_dead_letter_saying_so(&the_850),
        nothing_is_lost,
    ];
    // Each check on its own: a failing one says so (its panic is above) and the others still run.
    let mut failed = Vec::new();
    for (name, check) in checks {
        if std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(check))).is_err() {
            eprintln!("FAILED: {name}");
            failed.push(name);
        }
    }
    assert!(
        failed.is_empty(),
        "these checks of the plant failed (see their panics above): {failed:#?}"
    );
}

/// The week again, one document after another as the demo tells it, with the plant's rules on and a short
/// acknowledgment window: each exception the week holds raises its alert once, the held lot's consumption waits
/// for its release, the document parked for master data completes when the table has it, and every input ends up
/// delivered or dead-lettered with its reason.
#[test]
fn the_plants_week_in_order_raises_each_alert_once_and_accounts_for_every_input() {
    let rt = support::runtime();
    let plant = Plant::start(&rt);
    let api = support::api::Api::new(&plant.host);
    let text = |name: &str| String::from_utf8(document(name)).expect("UTF-8");
    rt.block_on(async {
        // The operator shortens the acknowledgment window through the API.
        let (status, rules) = api.get("/v1/tenants/acme/rules").await;
        assert_eq!(status, 200, "{rules}");
        assert_eq!(rules["source"], "file");
        let mut settings = rules["settings"].clone();
        settings["ack-overdue"] = "2s".into();
        let (status, rules) = api
            .call(
                api.http
                    .put(format!("{}/v1/tenants/acme/rules", api.url))
                    .json(&settings),
            )
            .await;
        assert_eq!(status, 200, "{rules}");

        for (source, file, correlation) in &DOCUMENTS[..4] {
            plant.publish(source, correlation, document(file)).await;
        }
        for correlation in [
            "plant-canonical-po",
            "plant-erp-po-brightwire",
            "plant-erp-po-rhein-stahl",
        ] {
            plant.events("purchase-order", correlation, 1).await;
        }
        plant
            .publish(
                "supplier-855",
                "week-855",
                document("brightwire-855-4500020114.x12"),
            )
            .await;
        plant.events("order-acknowledgment", "week-855", 1).await;

        // A garbled 856 is rejected with a 997; the whole one sent again is accepted.
        let whole = text("brightwire-856-SHP-BW-240617-01.x12");
        let count_at = whole.find("SE*").expect("an SE segment") + 3;
        let count_end = count_at + whole[count_at..].find('*').expect("SE02");
        let garbled = format!("{}99{}", &whole[..count_at], &whole[count_end..]);
        plant
            .publish("supplier-856", "week-856-garbled", garbled.into_bytes())
            .await;
        let rejection = plant
            .wait(OUT, "mw.acme.out.supplier-997", "week-856-garbled", 1)
            .await;
        let rejection = String::from_utf8_lossy(&rejection[0].payload).into_owned();
        assert!(rejection.contains("AK9*R"), "{rejection}");
        plant
            .publish(
                "supplier-856",
                "week-856",
                document("brightwire-856-SHP-BW-240617-01.x12"),
            )
            .await;
        plant.events("ship-notice", "week-856", 1).await;
        plant
            .publish(
                "supplier-desadv",
                "week-desadv",
                document("rhein-stahl-desadv-RS-DA-240617-0057.edi"),
            )
            .await;
        plant.events("ship-notice", "week-desadv", 1).await;

        // The coil dock writes KGS, which the units table lacks: parked, then mapped once the table has it.
        let dock = text("dock-3pl-receipts-GR-P2D2-240620-0007.csv").replace(",KG,", ",KGS,");
        plant
            .publish("dock-3pl", "week-dock", dock.into_bytes())
            .await;
        plant
            .wait(DLQ, "mw.acme.dlq.dock-3pl", "week-dock", 1)
            .await;
        let units =
            std::fs::read_to_string(support::root().join("examples/plant/master-data/units.csv"))
                .expect("units")
                + "KGS,KGM\n";
        let (status, loaded) = api
            .call(
                api.http
                    .put(format!("{}/v1/tenants/acme/lookups/units", api.url))
                    .header("content-type", "text/csv")
                    .body(units),
            )
            .await;
        assert_eq!(status, 201, "{loaded}");
        plant.events("goods-receipt", "week-dock", 2).await;

        // Riverside counts 50 lb of washers fewer than Brightwire shipped.
        let short = text("riverside-944-RV-240618-002.x12")
            .replace("W07*400*LB", "W07*350*LB")
            .replace("W14*17400", "W14*17350");
        plant
            .publish("wms-944", "week-944", short.into_bytes())
            .await;
        plant.events("goods-receipt", "week-944", 3).await;

        // Quality holds the bolt lot before the MES reports the shift: the bolts' consumption waits.
        plant
            .publish("qms", "week-hold", document("qms-hold-QH-240618-003.json"))
            .await;
        plant.events("quality-hold", "week-hold", 1).await;
        plant
            .publish(
                "mes",
                "week-mes",
                document("mes-production-WO-240617-01.xml"),
            )
            .await;
        let held = plant
            .wait(
                QUARANTINE,
                "mw.acme.quarantine.material-consumption",
                "week-mes",
                1,
            )
            .await;
        assert_eq!(
            held[0].json()["material-consumption"]["lot"]["internal-lot"],
            "B2406-17"
        );
        assert_eq!(
            plant
                .events("material-consumption", "week-mes", 2)
                .await
                .len(),
            2,
            "the coil and the grease go on"
        );
        plant
            .publish(
                "qms",
                "week-release",
                document("qms-release-QH-240618-003.json"),
            )
            .await;
        let consumed = plant.events("material-consumption", "week-mes", 3).await;
        assert!(
            consumed
                .iter()
                .any(|c| c["lot"]["internal-lot"] == "B2406-17")
        );
        plant.documents_for("week-mes", 4).await;

        // The orders nobody acknowledged: Rhein Stahl's and the kanban release.
        plant
            .wait_alerts(&[
                ("ack-overdue", "purchase-order:4500020115"),
                ("ack-overdue", "purchase-order:4500020131"),
            ])
            .await;
    });

    // Every alert the week holds, each once, in the state its rule left it.
    let (status, alerts) = rt.block_on(api.get("/v1/tenants/acme/alerts"));
    assert_eq!(status, 200, "{alerts}");
    let mut raised = table(array(&alerts), "/kind /subject /state");
    raised.sort();
    assert_eq!(
        raised,
        [
            "ack-overdue | purchase-order:4500020115 | open",
            "ack-overdue | purchase-order:4500020131 | open",
            "order-change | purchase-order:4500020114 | open",
            "quarantine | lot:B2406-17 | resolved",
            "receipt-discrepancy | ship-notice:SHP-BW-240617-01 | open",
        ]
    );
    let published = rt.block_on(nats::stored(&plant.js, ALERT, "mw.acme.alert.>"));
    assert_eq!(published.len(), raised.len(), "each alert published once");
    let discrepancy = array(&alerts)
        .iter()
        .find(|a| a["kind"] == "receipt-discrepancy")
        .expect("discrepancy");
    assert_eq!(
        discrepancy["message"],
        "receipt RV-240618-002-3 differs from ship notice SHP-BW-240617-01: 350 LBR received, 400 LBR shipped"
    );
    assert_eq!(
        discrepancy["concerns"]["items"][0]["ids"][0]["value"],
        "FST-WSH-M10"
    );
    assert_eq!(discrepancy["concerns"]["lots"][0], "W2406-04");

    // Every input is accounted for: it became events (published or held back and released), or it is a dead
    // letter with its reason (the garbled 856), or it was parked and mapped again (the dock's CSV).
    rt.block_on(async {
        let events = nats::stored(&plant.js, EV, "mw.acme.ev.>").await;
        let letters = nats::stored(&plant.js, DLQ, "mw.acme.dlq.>").await;
        for input in nats::stored(&plant.js, IN, "mw.acme.in.>").await {
            let correlation = input.header("Mw-Correlation-Id").unwrap_or_default();
            let became_events = events
                .iter()
                .any(|e| e.header("Mw-Correlation-Id") == Some(correlation));
            let letter = letters
                .iter()
                .find(|l| l.header("Mw-Correlation-Id") == Some(correlation));
            assert!(
                became_events
                    || letter.is_some_and(|l| !l.header("Mw-Error").unwrap_or_default().is_empty()),
                "input {} ({correlation}) is neither delivered nor a dead letter with its reason",
                input.subject
            );
        }
        assert_eq!(
            plant.dead_letters().await.len(),
            1,
            "only the garbled 856 is left; the parked CSV was replayed"
        );

        // The ERP booked the week: the short washers, the released bolts issued to line 3.
        for (material, batch, location, expected) in [
            (
                "FST-WSH-M10",
                "W2406-04",
                "P2/0004",
                "unrestricted | 350 | LB",
            ),
            (
                "FST-M10-40",
                "B2406-17",
                "P2/0300",
                "unrestricted | -480 | EA",
            ),
        ] {
            let path = format!("/balances?material={material}&batch={batch}&location={location}");
            assert_eq!(
                table(
                    array(&plant.erp_get(&path).await),
                    "/stock_type /quantity /unit"
                ),
                [expected],
                "{path}"
            );
        }
        assert_eq!(plant.documents().await.len(), 9);

        // The order's timeline tells its story from the 850 to the ERP posting of what consumed its bolts.
        let (status, timeline) = api.get("/v1/tenants/acme/trace/po:4500020114").await;
        assert_eq!(status, 200, "{timeline}");
        let happened: Vec<String> = array(&timeline["entries"])
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap_or_default(),
                    e["event_type"].as_str().unwrap_or_default()
                )
            })
            .collect();
        for expected in [
            "event purchase-order",
            "output ",
            "event order-acknowledgment",
            "ack ",
            "dead-letter ",
            "event ship-notice",
            "event goods-receipt",
            "event quality-hold",
            "quarantined material-consumption",
            "release material-consumption",
            "event production-completion",
            "alert exception",
        ] {
            assert!(
                happened.iter().any(|h| h == expected),
                "{expected:?} missing from the order's timeline: {happened:#?}"
            );
        }
        // The quarantine alert, raised and then resolved by the lot's release, both on the timeline.
        let notes: Vec<&str> = array(&timeline["entries"])
            .iter()
            .filter(|e| e["kind"] == "alert" && e["id"] == "quarantine:QH-240618-003:B2406-17")
            .filter_map(|e| e["note"].as_str())
            .collect();
        assert_eq!(notes.len(), 2, "{notes:#?}");
        assert!(
            notes[1].starts_with("resolved by rule:quarantine"),
            "{notes:#?}"
        );
    });
}
