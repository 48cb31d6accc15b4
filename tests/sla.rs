//! The service-level rules end to end, against a real nats-server and the plant's plugins and documents, with
//! windows of seconds: a purchase order nobody acknowledges raises `ack-overdue` once (also when the host is
//! killed while its timer is pending), one acknowledged in time raises nothing, a late acknowledgment resolves
//! the alert; a ship notice not received raises `receipt-overdue` naming what was shipped, and its receipt
//! resolves it; a dead letter left alone raises `dead-letter-aged`, and discarding it through the CLI with a
//! reason removes it and resolves the alert with that reason.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt as _;
use support::api::Api;
use support::nats::{self, Host, NatsServer};

const WAIT: Duration = Duration::from_secs(60);

fn config(dir: &Path, rules: &str) -> PathBuf {
    nats::order_flow_config(dir, rules)
}

/// A plant document, with Brightwire's order 4500020114 renumbered `order`.
fn document(name: &str, order: &str) -> Vec<u8> {
    std::fs::read_to_string(support::root().join("examples/plant/documents").join(name))
        .expect("plant document")
        .replace("4500020114", order)
        .into_bytes()
}

/// The alert `id` once it is resolved; panics with it as it stands after [`WAIT`].
async fn resolved(api: &Api, id: &str) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let (status, alert) = api.get(&format!("/v1/tenants/acme/alerts/{id}")).await;
        if status.is_success() && alert["state"] == "resolved" {
            return alert;
        }
        assert!(started.elapsed() < WAIT, "alert {id} not resolved: {alert}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the tenant's timers hold a pending one about `about`.
async fn pending_timer(js: &async_nats::jetstream::Context, about: &str) {
    let started = std::time::Instant::now();
    loop {
        if let Ok(store) = js.get_key_value("MW_acme_TIMERS").await
            && let Ok(keys) = store.keys().await
        {
            let keys: Vec<String> = keys.filter_map(|k| async { k.ok() }).collect().await;
            for key in keys {
                if let Ok(Some(value)) = store.get(&key).await {
                    let timer: serde_json::Value = serde_json::from_slice(&value).expect("JSON");
                    if timer["about"] == about && timer["state"] == "pending" {
                        return;
                    }
                }
            }
        }
        assert!(started.elapsed() < WAIT, "no pending timer for {about}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn an_order_nobody_acknowledges_raises_ack_overdue_once_even_across_a_restart() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), r#"ack-overdue = "4s""#);
    let data = dir.path().join("data");
    let host = Host::start(&config, &server.url, &data);
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let api = Api::new(&host);
    let order = |n: &str| document("erp-po-4500020114-brightwire.json", n);
    let ack = |n: &str| document("brightwire-855-4500020114.x12", n);
    rt.block_on(async {
        // Order A is acknowledged at once; order B, sent after it, is not.
        nats::publish(&js, "mw.acme.in.erp", &[], order("4500020114")).await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.purchase-order", 1, WAIT).await;
        nats::publish(&js, "mw.acme.in.supplier-855", &[], ack("4500020114")).await;
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
            "mw.acme.in.erp",
            &[("Mw-Correlation-Id", "po-4500020201")],
            order("4500020201"),
        )
        .await;
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.ack-overdue", 1, WAIT).await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["kind"], "ack-overdue");
        assert_eq!(alert["subject"], "purchase-order:4500020201");
        assert_eq!(alert["header"]["correlation-id"], "po-4500020201");
        assert_eq!(alert["concerns"]["documents"][0]["id"], "4500020201");
        assert_eq!(alert["concerns"]["documents"][1]["kind"], "supplier");
        let lines = alert["concerns"]["quantities"].as_array().expect("lines");
        assert!(!lines.is_empty(), "{alert}");
        let message = alert["message"].as_str().expect("message");
        assert!(message.contains("Brightwire"), "{message}");
        // A's deadline came before B's: acknowledged in time, it raised nothing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.ack-overdue").await,
            1
        );

        // B's acknowledgment, late, resolves its alert.
        nats::publish(&js, "mw.acme.in.supplier-855", &[], ack("4500020201")).await;
        let alert = resolved(&api, "ack-overdue:4500020201").await;
        assert_eq!(alert["resolved"]["by"], "rule:ack-overdue");

        // Order C's timer is pending when the host is killed; the next host raises its alert, once.
        nats::publish(&js, "mw.acme.in.erp", &[], order("4500020202")).await;
        pending_timer(&js, "4500020202").await;
    });
    host.kill();
    let host = Host::start(&config, &server.url, &data);
    rt.block_on(async {
        let alerts =
            nats::wait_for(&js, "MW_acme_ALERT", "mw.acme.alert.ack-overdue", 2, WAIT).await;
        assert_eq!(
            alerts[1].json()["exception"]["subject"],
            "purchase-order:4500020202"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.ack-overdue").await,
            2,
            "once per order; A's cleared timer and B's resolved one raise nothing after the restart"
        );
    });
    let (code, out, err) = host.cli(&["alerts", "list", "--tenant", "acme", "--state", "open"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("ack-overdue:4500020202"), "{out}");
    assert!(!out.contains("ack-overdue:4500020201"), "resolved: {out}");
    assert!(host.terminate());
}

#[test]
fn a_notice_not_received_and_a_dead_letter_left_alone_raise_alerts_that_their_ends_resolve() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(
        dir.path(),
        r#"receipt-overdue = "2s", dead-letter-aged = "2s""#,
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let api = Api::new(&host);
    rt.block_on(async {
        // Brightwire's notice was expected in 2024: it gets its grace from its arrival, and nothing is received.
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "shp-bw")],
            document("brightwire-856-SHP-BW-240617-01.x12", "4500020114"),
        )
        .await;
        let alerts = nats::wait_for(
            &js,
            "MW_acme_ALERT",
            "mw.acme.alert.receipt-overdue",
            1,
            WAIT,
        )
        .await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["subject"], "ship-notice:SHP-BW-240617-01");
        assert_eq!(alert["header"]["correlation-id"], "shp-bw");
        let message = alert["message"].as_str().expect("message");
        assert!(
            message.contains("FST-M10-40"),
            "the bolts shipped: {message}"
        );
        assert!(
            !alert["concerns"]["items"]
                .as_array()
                .expect("items")
                .is_empty(),
            "{alert}"
        );
        assert!(
            alert["concerns"]["documents"]
                .as_array()
                .expect("documents")
                .iter()
                .any(|d| d["kind"] == "purchase-order" && d["id"] == "4500020114"),
            "{alert}"
        );
        // Riverside's receipt of it resolves the alert.
        nats::publish(
            &js,
            "mw.acme.in.wms-944",
            &[],
            document("riverside-944-RV-240618-002.x12", "4500020114"),
        )
        .await;
        let alert = resolved(&api, "receipt-overdue:SHP-BW-240617-01").await;
        assert_eq!(alert["resolved"]["by"], "rule:receipt-overdue");

        // A notice that is no interchange is dead-lettered, and left alone.
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "junk-1")],
            b"this is no interchange".to_vec(),
        )
        .await;
        let letters = nats::wait_for(&js, "MW_acme_DLQ", "mw.acme.dlq.>", 1, WAIT).await;
        let sequence = letters[0].sequence;
        let alerts = nats::wait_for(
            &js,
            "MW_acme_ALERT",
            "mw.acme.alert.dead-letter-aged",
            1,
            WAIT,
        )
        .await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["subject"], format!("dead-letter:acme/{sequence}"));
        assert_eq!(alert["header"]["correlation-id"], "junk-1");
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.receipt-overdue").await,
            1
        );
    });
    let id = format!(
        "acme/{}",
        rt.block_on(async { nats::stored(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await[0].sequence })
    );

    // No reason, no discard.
    let (code, _, err) = host.cli(&[
        "dlq", "discard", "--tenant", "acme", "--id", &id, "--reason", " ",
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("reason"), "{err}");
    let (code, _, err) = host.cli(&["dlq", "discard", "--tenant", "acme", "--id", &id]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--reason"), "{err}");
    rt.block_on(async {
        let (status, body) = api
            .post_json(
                &format!("/v1/tenants/acme/dead-letters/{}/discard", &id[5..]),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("reason"), "{body}");
        assert_eq!(nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await, 1);
    });

    let reason = "junk sent by mistake; Brightwire resent the notice";
    let (code, out, err) = host.cli(&[
        "dlq", "discard", "--tenant", "acme", "--id", &id, "--reason", reason,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("discarded {id} by platform-admin: {reason}")),
        "{out}"
    );
    rt.block_on(async {
        assert_eq!(nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await, 0);
        let alert = resolved(&api, &format!("dead-letter-aged:{}", &id[5..])).await;
        assert_eq!(alert["resolved"]["note"], reason);
        assert_eq!(alert["resolved"]["by"], "platform-admin");
        let (status, timeline) = api.get("/v1/tenants/acme/trace/junk-1").await;
        assert!(status.is_success(), "{timeline}");
        assert!(
            timeline["entries"]
                .as_array()
                .expect("entries")
                .iter()
                .any(|e| e["kind"] == "discard"
                    && e["note"].as_str().is_some_and(|n| n.contains(reason))),
            "the discard and its reason in the flow's trace: {timeline}"
        );
        let (status, body) = api
            .post_json(
                &format!("/v1/tenants/acme/dead-letters/{}/discard", &id[5..]),
                serde_json::json!({"reason": "again"}),
            )
            .await;
        assert_eq!(status, 404, "gone already: {body}");
    });
    assert!(host.terminate());
}

#[test]
fn a_receipt_whose_notice_never_comes_is_reported_once_and_one_whose_notice_comes_in_time_is_not() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(
        dir.path(),
        r#"receipt-discrepancy = true, receipt-overdue = "3s""#,
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let api = Api::new(&host);
    rt.block_on(async {
        // Riverside reports its receipt before Brightwire's notice: the notice has the grace to come, and comes.
        nats::publish(
            &js,
            "mw.acme.in.wms-944",
            &[("Mw-Correlation-Id", "early-944")],
            document("riverside-944-RV-240618-002.x12", "4500020114"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.goods-receipt", 3, WAIT).await;
        pending_timer(&js, "SHP-BW-240617-01").await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[],
            document("brightwire-856-SHP-BW-240617-01.x12", "4500020114"),
        )
        .await;
        nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.ship-notice", 1, WAIT).await;

        // Another receipt names a notice that never comes.
        let stray = String::from_utf8(document("riverside-944-RV-240618-002.x12", "4500020114"))
            .expect("UTF-8")
            .replace("SHP-BW-240617-01", "SHP-BW-999999-99")
            .replace("RV-240618-002", "RV-240618-003");
        nats::publish(
            &js,
            "mw.acme.in.wms-944",
            &[("Mw-Correlation-Id", "stray-944")],
            stray.into_bytes(),
        )
        .await;
        let alerts = nats::wait_for(
            &js,
            "MW_acme_ALERT",
            "mw.acme.alert.receipt-discrepancy",
            1,
            WAIT,
        )
        .await;
        let alert = &alerts[0].json()["exception"];
        assert_eq!(alert["subject"], "ship-notice:SHP-BW-999999-99");
        assert_eq!(alert["header"]["correlation-id"], "stray-944");
        let message = alert["message"].as_str().expect("message");
        assert!(
            message.contains("names ship notice SHP-BW-999999-99, which has not arrived 3s after"),
            "{message}"
        );
        // Once, and nothing about the notice that came in time (nor a receipt-overdue for it: it was received).
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (status, all) = api.get("/v1/tenants/acme/alerts").await;
        assert_eq!(status, 200, "{all}");
        let ids: Vec<&str> = all
            .as_array()
            .expect("alerts")
            .iter()
            .filter_map(|a| a["id"].as_str())
            .collect();
        assert_eq!(ids, ["receipt-discrepancy:notice-missing:SHP-BW-999999-99"]);
        assert_eq!(
            nats::count_on(&js, "MW_acme_ALERT", "mw.acme.alert.>").await,
            1
        );
    });
}
