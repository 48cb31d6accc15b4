//! The quarantine rule end to end, against a real nats-server, the plant's QMS and MES plugins and documents:
//! a consumption of a lot quality holds is held back on `mw.acme.quarantine.*` with one alert, a restart loses
//! nothing, the release publishes what was held back on `ev` once and resolves the alert, and a person can
//! discard what a scrapped lot held back, with a reason, through the CLI.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::api::Api;
use support::nats::{self, ADMIN_TOKEN, Host, NatsServer, Stored};

const WAIT: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn config(dir: &Path) -> PathBuf {
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
rules = {{ quarantine = true }}

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

fn cli(host: &Host, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(args)
        .env("MILLWRIGHT_ADMIN_URL", host.admin_url())
        .env("MILLWRIGHT_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("millwright");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_held_lot_quarantines_its_consumption_across_a_restart_until_released_once() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path());
    let data = dir.path().join("data");
    let host = Host::start(&config, &server.url, &data);
    let rt = runtime();
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
    let (code, out, err) = cli(
        &host,
        &["alerts", "list", "--tenant", "acme", "--state", "open"],
    );
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
    let (code, out, err) = cli(&host, &["quarantine", "list", "--tenant", "acme", "--json"]);
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
    let (code, _, err) = cli(
        &host,
        &[
            "quarantine",
            "discard",
            "--tenant",
            "acme",
            "B2406-17",
            &sequence,
            "--reason",
            "",
        ],
    );
    assert_eq!(code, Some(3), "a decision needs its reason: {err}");
    assert!(err.contains("reason"), "{err}");
    let (code, out, err) = cli(
        &host,
        &[
            "quarantine",
            "discard",
            "--tenant",
            "acme",
            "B2406-17",
            &sequence,
            "--reason",
            "lot scrapped, bolts pulled from line 3",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("discarded by platform-admin: lot scrapped"),
        "{out}"
    );
    let (code, _, err) = cli(
        &host,
        &[
            "quarantine",
            "release",
            "--tenant",
            "acme",
            "B2406-17",
            &sequence,
            "--reason",
            "oops",
        ],
    );
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
