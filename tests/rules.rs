//! The quarantine rule end to end, against a real nats-server, the plant's QMS and MES plugins and documents:
//! a consumption of a lot quality holds is held back on `mw.acme.quarantine.*` with one alert, a restart loses
//! nothing, the release publishes what was held back on `ev` once and resolves the alert, and a person can
//! discard what a scrapped lot held back, with a reason, through the CLI.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::api::Api;
use support::nats::{self, Host, NatsServer, Stored};

const WAIT: Duration = Duration::from_secs(60);

fn config(dir: &Path) -> PathBuf {
    config_with(dir, "rules = { quarantine = true }")
}

/// The QMS and MES routes, with `rules` as the tenant's rules line.
fn config_with(dir: &Path, rules: &str) -> PathBuf {
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
{rules}

[[tenants.acme.inbound]]
source = "qms"
plugin = "{qms}"
config = {{ timezone = "America/Chicago", site = "P2" }}

[[tenants.acme.inbound]]
source = "mes"
plugin = "{mes}"
config = {{ timezone = "America/Chicago", site = "P2" }}
"#,
            qms = support::component("qms-quality-json").display(),
            mes = support::component("b2mml-production").display(),
        ),
    )
}

fn document(name: &str) -> String {
    std::fs::read_to_string(support::root().join("examples/plant/documents").join(name))
        .expect("plant document")
}

/// The plant's MES report, as report `n` (its own ids), consuming lot B2406-17 among others.
fn mes_report(n: u32) -> Vec<u8> {
    document("mes-production-WO-240617-01.xml")
        .replace("PP-P2-240619-0031", &format!("PP-P2-240619-00{n}"))
        .into_bytes()
}

fn hold(hold_id: &str, disposition: &str) -> Vec<u8> {
    document("qms-hold-QH-240618-003.json")
        .replace("QH-240618-003", hold_id)
        .replace(
            "\"disposition\": \"hold\"",
            &format!("\"disposition\": \"{disposition}\""),
        )
        .into_bytes()
}

fn consumptions_of(stored: &[Stored], lot: &str) -> usize {
    stored
        .iter()
        .filter(|m| m.json()["material-consumption"]["lot"]["internal-lot"] == lot)
        .count()
}

#[test]
fn a_held_lot_quarantines_its_consumption_across_a_restart_until_released_once() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path());
    let data = dir.path().join("data");
    let host = Host::start(&config, &server.url, &data);
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240618-003", "hold")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 1, WAIT).await;
        nats::publish(
            &js,
            "mw.acme.in.mes",
            &[("Mw-Correlation-Id", "shift-1")],
            mes_report(31),
        )
        .await;
        // The coil and the grease go on, with the completion; the bolts of the held lot are held back.
        let ev = nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.material-consumption",
            2,
            WAIT,
        )
        .await;
        assert_eq!(consumptions_of(&ev, "H24-91207"), 1);
        assert_eq!(consumptions_of(&ev, "B2406-17"), 0);
        nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.production-completion",
            1,
            WAIT,
        )
        .await;
        let held = nats::wait_for(
            &js,
            "MW_acme_QUARANTINE",
            "mw.acme.quarantine.material-consumption",
            1,
            WAIT,
        )
        .await;
        assert_eq!(consumptions_of(&held, "B2406-17"), 1);
        assert_eq!(held[0].header("Mw-Correlation-Id"), Some("shift-1"));
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.quarantine", 1, WAIT).await;
        let alert = alerts[0].json();
        assert_eq!(alert["exception"]["kind"], "quarantine");
        assert_eq!(alert["exception"]["subject"], "lot:B2406-17");
        assert_eq!(alert["exception"]["concerns"]["lots"][0], "B2406-17");
        assert_eq!(
            alert["exception"]["concerns"]["documents"][0]["id"],
            "WO-240617-01"
        );
        assert_eq!(alert["exception"]["header"]["correlation-id"], "shift-1");
    });
    let (code, out, err) = host.cli(&["alerts", "list", "--tenant", "acme", "--state", "open"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("quarantine:QH-240618-003:B2406-17") && out.contains("open"),
        "{out}"
    );

    // A host killed after the hold still holds back the next consumption of the lot, and raises no second alert.
    host.kill();
    let host = Host::start(&config, &server.url, &data);
    rt.block_on(async {
        nats::publish(&js, "mw.acme.in.mes", &[], mes_report(32)).await;
        let held = nats::wait_for(
            &js,
            "MW_acme_QUARANTINE",
            "mw.acme.quarantine.material-consumption",
            2,
            WAIT,
        )
        .await;
        assert_eq!(consumptions_of(&held, "B2406-17"), 2);

        // The release: both go on, once each, and the alert is resolved by the rule.
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240618-003", "release")).await;
        let ev = nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.material-consumption",
            6,
            WAIT,
        )
        .await;
        assert_eq!(consumptions_of(&ev, "B2406-17"), 2);
        let released = ev
            .iter()
            .find(|m| m.json()["material-consumption"]["lot"]["internal-lot"] == "B2406-17")
            .expect("released");
        assert_eq!(released.header("Mw-Released-By"), Some("rule:quarantine"));
        assert_eq!(
            released.header("Mw-Correlation-Id"),
            Some("shift-1"),
            "the flow it belongs to"
        );
        // The same release again (a resend) publishes nothing more.
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240618-003", "release")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 3, WAIT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let ev = nats::stored(&js, "MW_acme_EV", "mw.acme.ev.material-consumption").await;
        assert_eq!(consumptions_of(&ev, "B2406-17"), 2, "released once");
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.>").await,
            1,
            "one alert for the lot's hold, however many consumptions it held back"
        );
    });
    let api = Api::new(&host);
    rt.block_on(async {
        let (status, alert) = api
            .get("/v1/tenants/acme/alerts/quarantine:QH-240618-003:B2406-17")
            .await;
        assert!(status.is_success(), "{alert}");
        assert_eq!(alert["state"], "resolved");
        assert_eq!(alert["resolved"]["by"], "rule:quarantine");
    });

    // A second hold, scrapped: what it holds back stays until a person discards it, with a reason.
    rt.block_on(async {
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240620-011", "hold")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 4, WAIT).await;
        nats::publish(&js, "mw.acme.in.mes", &[], mes_report(33)).await;
        nats::wait_for(
            &js,
            "MW_acme_QUARANTINE",
            "mw.acme.quarantine.material-consumption",
            3,
            WAIT,
        )
        .await;
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240620-011", "scrap")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 5, WAIT).await;
    });
    let (code, out, err) = host.cli(&["quarantine", "list", "--tenant", "acme", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let lots: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let lot = &lots[0];
    assert_eq!(lot["lot"], "B2406-17");
    assert_eq!(lot["status"], "scrapped");
    let waiting: Vec<u64> = lot["quarantined"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|q| q["fate"] == "waiting")
        .map(|q| q["sequence"].as_u64().expect("sequence"))
        .collect();
    assert_eq!(waiting.len(), 1, "{lot}");
    let sequence = waiting[0].to_string();
    let (code, _, err) = host.cli(&[
        "quarantine",
        "discard",
        "--tenant",
        "acme",
        "B2406-17",
        &sequence,
        "--reason",
        "",
    ]);
    assert_eq!(code, Some(3), "a decision needs its reason: {err}");
    assert!(err.contains("reason"), "{err}");
    let (code, out, err) = host.cli(&[
        "quarantine",
        "discard",
        "--tenant",
        "acme",
        "B2406-17",
        &sequence,
        "--reason",
        "lot scrapped, bolts pulled from line 3",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("discarded by platform-admin: lot scrapped"),
        "{out}"
    );
    let (code, _, err) = host.cli(&[
        "quarantine",
        "release",
        "--tenant",
        "acme",
        "B2406-17",
        &sequence,
        "--reason",
        "oops",
    ]);
    assert_eq!(code, Some(3), "decided already: {err}");
    rt.block_on(async {
        let ev = nats::stored(&js, "MW_acme_EV", "mw.acme.ev.material-consumption").await;
        assert_eq!(
            consumptions_of(&ev, "B2406-17"),
            2,
            "the discarded one went nowhere"
        );
    });
    assert!(host.terminate());
}

fn plant_config(dir: &Path) -> PathBuf {
    nats::order_flow_config(dir, "order-change = true, receipt-discrepancy = true")
}

#[test]
fn a_changed_acknowledgment_and_a_short_receipt_each_raise_one_alert_naming_what_differs() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &plant_config(dir.path()),
        &server.url,
        &dir.path().join("data"),
    );
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let api = Api::new(&host);
    rt.block_on(async {
        let docs = "examples/plant/documents";
        let read =
            |name: &str| std::fs::read(support::root().join(docs).join(name)).expect("document");
        nats::publish(
            &js,
            "mw.acme.in.erp",
            &[],
            read("erp-po-4500020114-brightwire.json"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.purchase-order", 1, WAIT).await;
        // Brightwire confirms 12000 nuts on line 20 instead of what was ordered.
        nats::publish(
            &js,
            "mw.acme.in.supplier-855",
            &[("Mw-Correlation-Id", "po-4500020114")],
            read("brightwire-855-4500020114.x12"),
        )
        .await;
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.order-change", 1, WAIT).await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["subject"], "purchase-order:4500020114");
        assert_eq!(alert["header"]["correlation-id"], "po-4500020114");
        let message = alert["message"].as_str().expect("message");
        assert!(message.contains("line 20 changed"), "{message}");
        assert!(
            !message.contains("line 10"),
            "accepted lines are not changes: {message}"
        );
        assert_eq!(alert["concerns"]["documents"][0]["id"], "4500020114");

        // The same acknowledgment again: no second alert.
        nats::publish(
            &js,
            "mw.acme.in.supplier-855",
            &[],
            read("brightwire-855-4500020114.x12"),
        )
        .await;
        nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.order-acknowledgment",
            2,
            WAIT,
        )
        .await;

        // An acknowledgment of an order never seen: an alert saying so.
        let stranger = String::from_utf8(read("brightwire-855-4500020114.x12"))
            .expect("text")
            .replace("4500020114", "4500029999");
        nats::publish(&js, "mw.acme.in.supplier-855", &[], stranger.into_bytes()).await;
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.order-change", 2, WAIT).await;
        let unknown = alerts
            .iter()
            .map(|a| a.json())
            .find(|a| a["exception"]["subject"] == "purchase-order:4500029999")
            .expect("the unknown order's alert");
        assert!(
            unknown["exception"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("was not seen going out")),
            "{unknown}"
        );

        // The ship notice, then Riverside's count: 4000 bolts where 5000 were shipped.
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[],
            read("brightwire-856-SHP-BW-240617-01.x12"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.ship-notice", 1, WAIT).await;
        let short = String::from_utf8(read("riverside-944-RV-240618-002.x12"))
            .expect("text")
            .replace("W07*5000*", "W07*4000*")
            .replace("W14*17400", "W14*16400");
        nats::publish(&js, "mw.acme.in.wms-944", &[], short.into_bytes()).await;
        let alerts = nats::wait_for(
            &js,
            "MW_acme_ALERT",
            "mw.acme.alert.receipt-discrepancy",
            1,
            WAIT,
        )
        .await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["subject"], "ship-notice:SHP-BW-240617-01");
        let message = alert["message"].as_str().expect("message");
        assert!(
            message.contains("4000 H87 received, 5000 H87 shipped"),
            "{message}"
        );
        // The nuts and washers matched what was shipped: one alert only.
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.goods-receipt", 3, WAIT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.receipt-discrepancy").await,
            1
        );
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.order-change").await,
            2
        );

        let (status, open) = api.get("/v1/tenants/acme/alerts?state=open").await;
        assert!(status.is_success(), "{open}");
        assert_eq!(open.as_array().map(Vec::len), Some(3), "{open}");
        assert_eq!(nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await, 0);
    });
    assert!(host.terminate());
}

#[test]
fn rules_turned_on_through_the_api_run_at_once_survive_a_restart_and_reset_to_the_file() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config_with(dir.path(), "");
    let data = dir.path().join("data");
    let host = Host::start(&config, &server.url, &data);
    let show = |host: &Host| {
        let (code, out, err) = host.cli(&["rules", "show", "--tenant", "acme", "--json"]);
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str::<serde_json::Value>(&out).expect("json")
    };
    let shown = show(&host);
    assert_eq!(shown["source"], "file");
    assert_eq!(shown["running"], serde_json::json!([]));

    let (code, out, err) = host.cli(&["rules", "set", "--tenant", "acme", "quarantine=true"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("runs: quarantine (settings from the api)"),
        "{out}"
    );
    // A setting the rules do not have is refused, naming it; nothing changes.
    let (code, _, err) = host.cli(&[
        "rules",
        "set",
        "--tenant",
        "acme",
        "quarantine=false",
        "quarantin=true",
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("unknown field `quarantin`"), "{err}");
    assert_eq!(show(&host)["settings"]["quarantine"], true);

    // The running routes hold back a consumption of a held lot from the next input on, with no restart.
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240618-003", "hold")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 1, WAIT).await;
        nats::publish(&js, "mw.acme.in.mes", &[], mes_report(31)).await;
        let held = nats::wait_for(
            &js,
            "MW_acme_QUARANTINE",
            "mw.acme.quarantine.material-consumption",
            1,
            WAIT,
        )
        .await;
        assert_eq!(consumptions_of(&held, "B2406-17"), 1);
    });

    // The store keeps them over the file's across a restart; a reset brings the file's back on every host.
    host.kill();
    let host = Host::start(&config, &server.url, &data);
    let shown = show(&host);
    assert_eq!(shown["source"], "api");
    assert_eq!(shown["running"], serde_json::json!(["quarantine"]));
    let (code, out, err) = host.cli(&["rules", "reset", "--tenant", "acme"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("runs: none (settings from the file)"), "{out}");
    rt.block_on(async {
        nats::publish(&js, "mw.acme.in.mes", &[], mes_report(32)).await;
        let ev = nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.material-consumption",
            4,
            WAIT,
        )
        .await;
        assert_eq!(
            consumptions_of(&ev, "B2406-17"),
            1,
            "published, rules off again"
        );
    });
    let api = Api::new(&host);
    let (status, body) = rt.block_on(
        api.call(
            api.http
                .put(format!("{}/v1/tenants/acme/rules", api.url))
                .json(&serde_json::json!({"order-change": "yes"})),
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(support::api::error_code(&body), "invalid_settings");
    assert!(body.to_string().contains("at order-change"), "{body}");
}

#[test]
fn a_release_of_a_lot_never_held_goes_on_with_one_info_alert() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path());
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        for _ in 0..2 {
            nats::publish(
                &js,
                "mw.acme.in.qms",
                &[("Mw-Correlation-Id", "qms-1")],
                hold("QH-240618-009", "release"),
            )
            .await;
        }
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 2, WAIT).await;
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.quarantine", 1, WAIT).await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["severity"], "info");
        assert_eq!(alert["subject"], "lot:B2406-17");
        assert_eq!(alert["header"]["correlation-id"], "qms-1");
        assert!(
            alert["message"]
                .as_str()
                .unwrap_or_default()
                .contains("which no hold on record names"),
            "{alert}"
        );
        // A consumption of the lot afterwards is not held back.
        nats::publish(&js, "mw.acme.in.mes", &[], mes_report(31)).await;
        let ev = nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.material-consumption",
            3,
            WAIT,
        )
        .await;
        assert_eq!(consumptions_of(&ev, "B2406-17"), 1);
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.>").await,
            1
        );
    });
    drop(host);
}

#[test]
fn rule_state_that_cannot_be_written_makes_the_input_wait_and_loses_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path());
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        nats::publish(&js, "mw.acme.in.qms", &[], hold("QH-240618-003", "hold")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.quality-hold", 1, WAIT).await;
        // The rule state's bucket takes no more writes: full, as a server out of its storage would be.
        let mut bucket = js.get_stream("KV_MW_acme_RULES").await.expect("bucket");
        let info = bucket.info().await.expect("info");
        let mut full = info.config.clone();
        full.max_bytes = i64::try_from(info.state.bytes).expect("size").max(1);
        js.update_stream(&full).await.expect("fill the bucket");

        nats::publish(&js, "mw.acme.in.mes", &[], mes_report(31)).await;
    });
    host.wait_for_log("the rules' state cannot be", WAIT);
    rt.block_on(async {
        // Nothing of the held lot went on while the state could not be written.
        let ev = nats::stored(&js, "MW_acme_EV", "mw.acme.ev.material-consumption").await;
        assert_eq!(consumptions_of(&ev, "B2406-17"), 0);
        assert_eq!(nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await, 0);

        // The bucket takes writes again: the input comes back, and the consumption is quarantined once.
        let mut bucket = js.get_stream("KV_MW_acme_RULES").await.expect("bucket");
        let mut config = bucket.info().await.expect("info").config.clone();
        config.max_bytes = -1;
        js.update_stream(&config).await.expect("free the bucket");
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.quarantine", 1, WAIT).await;
        assert_eq!(alerts[0].json()["exception"]["subject"], "lot:B2406-17");
        let held = nats::stored(
            &js,
            "MW_acme_QUARANTINE",
            "mw.acme.quarantine.material-consumption",
        )
        .await;
        assert_eq!(consumptions_of(&held, "B2406-17"), 1);
        let ev = nats::stored(&js, "MW_acme_EV", "mw.acme.ev.material-consumption").await;
        assert_eq!(consumptions_of(&ev, "B2406-17"), 0);
        assert_eq!(nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await, 0);
    });
    let (code, out, err) = host.cli(&["quarantine", "list", "--tenant", "acme"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("waiting"), "{out}");
}
