//! `millwright serve` end to end: a real nats-server on a free loopback port, the real binary, the reference
//! plugins, and JetStream read back as a user would check it.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::nats::{self, Host, NatsServer};

const IN: &str = "MW_acme_IN";
const EV: &str = "MW_acme_EV";
const DLQ: &str = "MW_acme_DLQ";

fn quickstart_asn() -> String {
    std::fs::read_to_string(
        support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
    )
    .expect("quickstart ASN")
}

/// The quickstart ship notice with its own shipment id.
fn asn(shipment: &str) -> Vec<u8> {
    quickstart_asn()
        .replace("SHP-240611-07", shipment)
        .into_bytes()
}

fn units_csv(dir: &Path, extra: &str) -> String {
    let text =
        std::fs::read_to_string(support::root().join("examples/quickstart/master-data/units.csv"))
            .expect("units.csv");
    let path = dir.join("units.csv");
    std::fs::write(&path, format!("{text}{extra}")).expect("write units");
    path.display().to_string()
}

/// A config with tenant acme, inbound route `supplier-856` through the reference 856 plugin.
fn config_856(dir: &Path, units: &str, extra_route_keys: &str) -> std::path::PathBuf {
    let plugin = support::component("x12-856-ship-notice");
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
lookups = {{ units = "{units}" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{plugin}"
config = {{ timezone = "America/New_York" }}
workers = 2
batch = 32
{extra_route_keys}
"#,
            plugin = plugin.display()
        ),
    )
}

fn shipment_id(event: &serde_json::Value) -> String {
    event["ship-notice"]["shipment-id"]
        .as_str()
        .expect("shipment-id")
        .to_string()
}

#[test]
fn a_thousand_ship_notices_in_a_thousand_canonical_ship_notices_out() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let units = units_csv(dir.path(), "");
    let config = config_856(dir.path(), &units, "");
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    rt.block_on(async {
        let (_client, js) = server.client().await;
        publish_notices(&js, "corr", "SHP").await;
        let events = nats::wait_for(
            &js,
            EV,
            "mw.acme.ev.ship-notice",
            1000,
            Duration::from_secs(300),
        )
        .await;
        // Settle: nothing more may arrive (a duplicate would show up here).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let events = {
            let again = nats::stored(&js, EV, "mw.acme.ev.>").await;
            assert_eq!(
                again.len(),
                events.len(),
                "more events arrived after the first 1000"
            );
            again
        };
        assert_eq!(
            events.len(),
            1000,
            "one canonical ship notice per document, no duplicates"
        );
        let mut seen: HashMap<String, String> = HashMap::new();
        for event in &events {
            assert_eq!(event.subject, "mw.acme.ev.ship-notice");
            let correlation = event
                .header("Mw-Correlation-Id")
                .expect("correlation header")
                .to_string();
            let json = event.json();
            assert_eq!(
                json["ship-notice"]["header"]["correlation-id"], correlation,
                "the event's header carries the input's correlation id"
            );
            let i: usize = correlation
                .trim_start_matches("corr-")
                .parse()
                .expect("corr-<i>");
            assert_eq!(
                shipment_id(&json),
                format!("SHP-{i:04}"),
                "the output belongs to its input"
            );
            assert_eq!(event.header("Mw-Source"), Some("supplier-856"));
            assert!(
                event
                    .header("Mw-Plugin")
                    .is_some_and(|p| p.starts_with("x12-856-ship-notice@")),
                "Mw-Plugin names the plugin: {:?}",
                event.header("Mw-Plugin")
            );
            assert!(event.header("Mw-Causation-Id").is_some());
            assert!(
                event
                    .header("Nats-Msg-Id")
                    .is_some_and(|id| id.starts_with("supplier-856:MW_acme_IN:"))
            );
            assert!(
                seen.insert(correlation.clone(), shipment_id(&json))
                    .is_none(),
                "{correlation} twice"
            );
        }
        assert_eq!(seen.len(), 1000);
        assert!(
            nats::drained(&js, IN, "in-supplier-856").await,
            "every input acknowledged"
        );
        assert_eq!(
            nats::count_on(&js, DLQ, "mw.acme.dlq.>").await,
            0,
            "no dead letters"
        );
    });
    assert!(host.terminate(), "graceful exit on SIGTERM");
}

#[test]
fn killed_mid_stream_and_restarted_every_output_exactly_once() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let units = units_csv(dir.path(), "");
    // A short ack wait, so what the killed host held is redelivered quickly after the restart.
    let config = config_856(dir.path(), &units, "ack_wait = \"3s\"");
    let data = dir.path().join("data");
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let host = start_mid_stream(&config, &server.url, &data, &rt, &js, "kill");
    let first_pid = host.pid();
    host.kill();
    let host = Host::start(&config, &server.url, &data);
    assert_ne!(host.pid(), first_pid);
    rt.block_on(async {
        wait_until_drained(&js).await;
        exactly_once(&js).await;
    });
    assert!(host.terminate());

    // Whether the kill landed between an output being stored and its input being acknowledged is luck; make
    // the redelivery certain: drop the route's consumer so every input is delivered again from the start.
    rt.block_on(async {
        js.get_stream(IN)
            .await
            .expect("stream")
            .delete_consumer("in-supplier-856")
            .await
            .expect("delete consumer");
    });
    let host = Host::start(&config, &server.url, &data);
    rt.block_on(async {
        wait_until_drained(&js).await;
        // All 1000 were mapped again; their outputs carried the same ids and were dropped as duplicates.
        exactly_once(&js).await;
    });
    assert!(host.terminate());
}

/// Publishes 1000 ship notices on supplier-856: shipment `<shipment>-nnnn`, correlation id `<correlation>-n`.
async fn publish_notices(js: &async_nats::jetstream::Context, correlation: &str, shipment: &str) {
    for i in 0..1000 {
        nats::publish(
            js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", &format!("{correlation}-{i}"))],
            asn(&format!("{shipment}-{i:04}")),
        )
        .await;
    }
}

/// Starts the host on a stream already holding 1000 ship notices (KILL-nnnn, correlation `<correlation>-n`) and
/// returns it once it has mapped at least 150 of them and not all: certainly in the middle of the stream. (A
/// first start creates the streams and the route's consumer; the documents are queued while it is stopped.)
fn start_mid_stream(
    config: &Path,
    url: &str,
    data: &Path,
    rt: &tokio::runtime::Runtime,
    js: &async_nats::jetstream::Context,
    correlation: &str,
) -> Host {
    assert!(Host::start(config, url, data).terminate());
    rt.block_on(publish_notices(js, correlation, "KILL"));
    let host = Host::start(config, url, data);
    rt.block_on(async {
        let started = std::time::Instant::now();
        loop {
            let done = nats::count_on(js, EV, "mw.acme.ev.>").await;
            if done >= 150 {
                assert!(
                    done < 1000,
                    "the host finished before it could be stopped mid-stream"
                );
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "no progress: {done} events"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    host
}

/// Waits until route supplier-856 has nothing pending or unacknowledged.
async fn wait_until_drained(js: &async_nats::jetstream::Context) {
    let started = std::time::Instant::now();
    while !nats::drained(js, IN, "in-supplier-856").await {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "inputs still pending after 300 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every KILL-nnnn shipment has exactly one canonical ship notice.
async fn exactly_once(js: &async_nats::jetstream::Context) {
    let events = nats::stored(js, EV, "mw.acme.ev.>").await;
    let mut per_shipment: HashMap<String, usize> = HashMap::new();
    for event in &events {
        *per_shipment.entry(shipment_id(&event.json())).or_default() += 1;
    }
    let missing: Vec<String> = (0..1000)
        .map(|i| format!("KILL-{i:04}"))
        .filter(|s| !per_shipment.contains_key(s))
        .collect();
    let repeated = per_shipment.values().filter(|n| **n > 1).count();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(repeated, 0, "shipments with more than one ship notice");
    assert_eq!(events.len(), 1000);
}

/// `millwright ARGS` against `host`'s admin API with the test token.
fn through(host: &Host, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(args)
        .env("MILLWRIGHT_ADMIN_URL", host.admin_url())
        .env("MILLWRIGHT_ADMIN_TOKEN", nats::ADMIN_TOKEN)
        .output()
        .expect("run millwright")
}

#[test]
fn bad_documents_are_dead_lettered_with_their_diagnostic_and_a_parked_one_comes_back_once_its_table_is_fixed()
 {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    // No row for the unit ZZ yet: a notice using it is parked until the master data has one.
    let units = units_csv(dir.path(), "");
    let config = config_856(dir.path(), &units, "max_payload_bytes = 4096");
    let data = dir.path().join("data");
    let host = Host::start(&config, &server.url, &data);
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let broken_count = quickstart_asn().replace("SE*38*0001", "SE*37*0001");
    let unknown_unit = quickstart_asn()
        .replace("SN1**48*EA", "SN1**48*ZZ")
        .replace("SHP-240611-07", "SHP-PARKED");
    rt.block_on(async {
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "bad-count")],
            broken_count.into_bytes(),
        )
        .await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "bad-unit")],
            unknown_unit.into_bytes(),
        )
        .await;
        nats::publish(&js, "mw.acme.in.supplier-856", &[], Vec::new()).await;
        nats::publish(&js, "mw.acme.in.supplier-856", &[], vec![b'x'; 5000]).await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[],
            vec![b'I', b'S', b'A', 0xff, 0xfe],
        )
        .await;
        nats::publish(
            &js,
            "mw.acme.in.nobody-knows",
            &[("Mw-Correlation-Id", "stray")],
            asn("SHP-STRAY"),
        )
        .await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "good")],
            asn("SHP-GOOD"),
        )
        .await;
        let letters = nats::wait_for(&js, DLQ, "mw.acme.dlq.>", 6, Duration::from_secs(60)).await;
        let by_class: HashMap<&str, &nats::Stored> = letters
            .iter()
            .map(|l| (l.header("Mw-Error-Class").expect("class"), l))
            .collect();

        let invalid = by_class["invalid-document"];
        assert_eq!(invalid.subject, "mw.acme.dlq.supplier-856");
        assert_eq!(invalid.header("Mw-Correlation-Id"), Some("bad-count"));
        assert_eq!(
            invalid.header("Mw-Attempts"),
            Some("1"),
            "invalid documents are never retried"
        );
        let diagnostic: serde_json::Value =
            serde_json::from_str(invalid.header("Mw-Diagnostic").expect("diagnostic"))
                .expect("JSON");
        assert_eq!(
            diagnostic["at"]["segment-id"], "SE",
            "located at the SE segment: {diagnostic}"
        );
        assert!(
            invalid
                .header("Mw-Plugin")
                .is_some_and(|p| p.starts_with("x12-856-ship-notice@"))
        );
        assert_eq!(
            invalid.payload,
            quickstart_asn()
                .replace("SE*38*0001", "SE*37*0001")
                .into_bytes(),
            "the original payload is kept"
        );

        let parked = by_class["unknown-reference"];
        assert_eq!(parked.header("Mw-Parked"), Some("true"));
        assert!(
            parked.header("Mw-Error").is_some_and(|e| e.contains("ZZ")),
            "{:?}",
            parked.header("Mw-Error")
        );

        assert!(
            by_class["empty-payload"]
                .header("Mw-Error")
                .is_some_and(|e| e.contains("empty"))
        );
        assert!(
            by_class["not-text"]
                .header("Mw-Error")
                .is_some_and(|e| e.contains("offset 3"))
        );
        let large = by_class["payload-too-large"];
        assert!(
            large
                .header("Mw-Error")
                .is_some_and(|e| e.contains("5000 bytes") && e.contains("4096")),
            "{:?}",
            large.header("Mw-Error")
        );
        assert_eq!(large.payload.len(), 5000, "kept whole");
        let stray = by_class["no-route"];
        assert_eq!(stray.subject, "mw.acme.dlq._unrouted");
        assert!(
            stray
                .header("Mw-Error")
                .is_some_and(|e| e.contains("nobody-knows"))
        );
        assert_eq!(stray.header("Mw-Correlation-Id"), Some("stray"));

        // The route kept going: the good notice after them is out.
        let good = nats::wait_for(
            &js,
            EV,
            "mw.acme.ev.ship-notice",
            1,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].header("Mw-Correlation-Id"), Some("good"));
    });

    // The list shows them, with the parked one marked.
    let list = through(&host, &["dlq", "list", "--tenant", "acme", "--json"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(listed.len(), 6);
    let parked_id = listed
        .iter()
        .find(|l| l["parked"] == true)
        .and_then(|l| l["id"].as_str())
        .expect("a parked letter")
        .to_string();

    // Fix the master data: the parked notice comes back on its own, no replay asked.
    let fixed = units_csv(dir.path(), "ZZ,KGM\n");
    let load = std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(["lookup", "load", "--tenant", "acme", "units", &fixed])
        .env("MILLWRIGHT_ADMIN_URL", host.admin_url())
        .env("MILLWRIGHT_ADMIN_TOKEN", nats::ADMIN_TOKEN)
        .output()
        .expect("millwright lookup load");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    rt.block_on(async {
        let events = nats::wait_for(
            &js,
            EV,
            "mw.acme.ev.ship-notice",
            2,
            Duration::from_secs(60),
        )
        .await;
        let replayed = events
            .iter()
            .find(|e| shipment_id(&e.json()) == "SHP-PARKED")
            .expect("the parked notice delivered after the replay");
        assert_eq!(
            replayed.header("Mw-Correlation-Id"),
            Some("bad-unit"),
            "the replay keeps the correlation id"
        );
        // It left the dead letters; the other five stay.
        assert_eq!(nats::count_on(&js, DLQ, "mw.acme.dlq.>").await, 5);
    });
    // Replaying it again says it is not there, and exits 1.
    let again = through(&host, &["dlq", "replay", "--id", &parked_id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains(&format!("not found: {parked_id}")),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(host.terminate());
}

#[test]
fn a_plugin_that_traps_on_one_document_does_not_stop_its_route() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let plugin = support::component("test-misbehaving");
    let config = nats::write_config(
        dir.path(),
        &format!(
            r#"
[tenants.acme]

[[tenants.acme.inbound]]
source = "commands"
plugin = "{}"
workers = 2
max_attempts = 3
backoff = "2s"
"#,
            plugin.display()
        ),
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    rt.block_on(async {
        let (_client, js) = server.client().await;
        nats::publish(
            &js,
            "mw.acme.in.commands",
            &[("Mw-Correlation-Id", "the-bad-one")],
            b"panic".to_vec(),
        )
        .await;
        for i in 0..200 {
            nats::publish(
                &js,
                "mw.acme.in.commands",
                &[("Mw-Correlation-Id", &format!("ok-{i}"))],
                b"flood 1".to_vec(),
            )
            .await;
        }
        let letters =
            nats::wait_for(&js, DLQ, "mw.acme.dlq.commands", 1, Duration::from_secs(60)).await;
        let letter = &letters[0];
        assert_eq!(letter.header("Mw-Error-Class"), Some("trap"));
        assert_eq!(
            letter.header("Mw-Attempts"),
            Some("3"),
            "retried, then dead-lettered"
        );
        assert_eq!(letter.header("Mw-Correlation-Id"), Some("the-bad-one"));
        assert!(
            letter
                .header("Mw-Error")
                .is_some_and(|e| e.contains("panic")),
            "{:?}",
            letter.header("Mw-Error")
        );
        // Every good document was done while the bad one waited out its retries (2 s, then 4 s): nothing
        // queued behind it.
        let events = nats::stored(&js, EV, "mw.acme.ev.>").await;
        assert_eq!(events.len(), 200, "all 200 good documents mapped");
        let last_good = events.iter().map(|e| e.stored_at).max().expect("events");
        assert!(
            last_good < letter.stored_at,
            "the good documents waited for the bad one"
        );
        // And the route is still running after it gave up.
        nats::publish(
            &js,
            "mw.acme.in.commands",
            &[("Mw-Correlation-Id", "after")],
            b"flood 1".to_vec(),
        )
        .await;
        let events = nats::wait_for(&js, EV, "mw.acme.ev.>", 201, Duration::from_secs(30)).await;
        assert_eq!(
            events.last().and_then(|e| e.header("Mw-Correlation-Id")),
            Some("after")
        );
    });
    assert!(host.terminate());
}

/// What the test's ERP endpoint received.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: serde_json::Value,
}

/// A local HTTP endpoint standing in for the ERP: records every POST to /receipts and answers 201.
async fn erp_endpoint(
    port: u16,
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    tokio::task::JoinHandle<()>,
) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    let received: std::sync::Arc<std::sync::Mutex<Vec<Received>>> = Default::default();
    async fn receive(
        State(received): State<std::sync::Arc<std::sync::Mutex<Vec<Received>>>>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        received
            .lock()
            .expect("lock")
            .push(Received { headers, body });
        StatusCode::CREATED
    }
    let app = axum::Router::new()
        .route("/receipts", axum::routing::post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the ERP port");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (received, server)
}

#[test]
fn an_http_target_that_is_down_retries_then_dead_letters_and_replay_delivers() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let units = units_csv(dir.path(), "");
    let port = nats::free_port();
    let config = nats::write_config(
        dir.path(),
        &format!(
            r#"
[tenants.acme]
lookups = {{ units = "{units}" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{inbound}"
config = {{ timezone = "America/New_York" }}

[[tenants.acme.outbound]]
name = "erp"
events = ["ship-notice"]
plugin = "{outbound}"
target = {{ url = "http://127.0.0.1:{port}/receipts", headers = {{ Authorization = "Bearer ${{TEST_ERP_TOKEN}}" }}, timeout = "2s" }}
max_attempts = 3
backoff = "300ms"
"#,
            inbound = support::component("x12-856-ship-notice").display(),
            outbound = support::component("erp-expected-receipt").display(),
        ),
    );
    let host = Host::start_with_env(
        &config,
        Some(&server.url),
        &dir.path().join("data"),
        &[("TEST_ERP_TOKEN", "t0ken")],
    );
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "to-erp")],
            asn("SHP-ERP"),
        )
        .await;
        // The ERP is down: three attempts, then a dead letter on the outbound route.
        let letters = nats::wait_for(&js, DLQ, "mw.acme.dlq.erp", 1, Duration::from_secs(60)).await;
        let letter = &letters[0];
        assert_eq!(letter.header("Mw-Error-Class"), Some("delivery-failed"));
        assert_eq!(letter.header("Mw-Attempts"), Some("3"));
        assert_eq!(letter.header("Mw-Correlation-Id"), Some("to-erp"));
        assert_eq!(
            letter.header("Mw-Replay-Subject"),
            Some("mw.acme.replay.erp")
        );
        assert!(
            letter
                .header("Mw-Error")
                .is_some_and(|e| e.contains(&port.to_string())),
            "{:?}",
            letter.header("Mw-Error")
        );
    });
    // The ERP comes back; replay delivers once.
    let (received, _erp) = rt.block_on(erp_endpoint(port));
    let replay = through(
        &host,
        &[
            "dlq", "replay", "--tenant", "acme", "--route", "erp", "--all",
        ],
    );
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    rt.block_on(async {
        let started = std::time::Instant::now();
        while received.lock().expect("lock").is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the replay never reached the ERP"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Let any duplicate show itself.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let received = received.lock().expect("lock").clone();
        assert_eq!(received.len(), 1, "delivered once: {received:?}");
        let request = &received[0];
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("mw-correlation-id"), Some("to-erp"));
        assert_eq!(
            header("authorization"),
            Some("Bearer t0ken"),
            "the secret from the environment"
        );
        // The business fact's own key, the notice's (`<ISA06>:<ISA13>:<GS06>:<ST02>`), alone: the same after a
        // replay, where the host's output id would not be.
        let keys: Vec<&str> = request
            .headers
            .iter()
            .filter(|(n, _)| n == "idempotency-key")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(keys, ["ALLEGHENYCOIL:000000907:907:0001"]);
        assert!(header("mw-plugin").is_some_and(|p| p.starts_with("erp-expected-receipt@")));
        assert!(
            request.body.to_string().contains("SHP-ERP"),
            "{}",
            request.body
        );
        assert_eq!(
            nats::count_on(&js, DLQ, "mw.acme.dlq.>").await,
            0,
            "the dead letter left once delivered"
        );
    });
    assert!(host.terminate());
}

#[test]
fn sigterm_finishes_what_is_in_flight_and_leaves_nothing_unacknowledged() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let units = units_csv(dir.path(), "");
    // The default ack wait (30 s): anything the host left unacknowledged would still show as pending.
    let config = config_856(dir.path(), &units, "");
    let data = dir.path().join("data");
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    let host = start_mid_stream(&config, &server.url, &data, &rt, &js, "term");
    assert!(host.terminate(), "a graceful exit");
    rt.block_on(async {
        let mut consumer = js
            .get_stream(IN)
            .await
            .expect("stream")
            .get_consumer::<async_nats::jetstream::consumer::pull::Config>("in-supplier-856")
            .await
            .expect("consumer");
        let info = consumer.info().await.expect("info").clone();
        assert_eq!(
            info.num_ack_pending, 0,
            "everything taken was finished and acknowledged"
        );
        let done = nats::count_on(&js, EV, "mw.acme.ev.>").await;
        assert!(done < 1000, "stopped mid-stream");
        assert_eq!(
            done as u64 + info.num_pending,
            1000,
            "every input is either done (one output) or untouched"
        );
    });
    // The rest is done by the next start, exactly once.
    let host = Host::start(&config, &server.url, &data);
    rt.block_on(async {
        wait_until_drained(&js).await;
        exactly_once(&js).await;
    });
    assert!(host.terminate());
}

#[test]
fn with_no_nats_url_serve_runs_and_stops_its_own_nats_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let units = units_csv(dir.path(), "");
    let port = nats::free_port();
    let plugin = support::component("x12-856-ship-notice");
    let config = nats::write_config(
        dir.path(),
        &format!(
            r#"
[nats]
embedded_port = {port}

[tenants.acme]
lookups = {{ units = "{units}" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{plugin}"
"#,
            plugin = plugin.display()
        ),
    );
    let data = dir.path().join("data");
    let host = Host::start_with_env(&config, None, &data, &[]);
    let url = format!("nats://127.0.0.1:{port}");
    let rt = support::runtime();
    rt.block_on(async {
        let client = async_nats::connect(&url)
            .await
            .expect("the embedded server accepts clients");
        let js = async_nats::jetstream::new(client);
        nats::publish(&js, "mw.acme.in.supplier-856", &[], asn("SHP-EMBEDDED")).await;
        let events = nats::wait_for(
            &js,
            EV,
            "mw.acme.ev.ship-notice",
            1,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(shipment_id(&events[0].json()), "SHP-EMBEDDED");
    });
    assert!(
        data.join("nats/jetstream").is_dir(),
        "the store is under the data dir"
    );
    let pid: i32 = std::fs::read_to_string(data.join("nats/nats-server.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    // The server dies: the host starts it again, and documents flow again.
    let process = rustix::process::Pid::from_raw(pid).expect("pid");
    rustix::process::kill_process(process, rustix::process::Signal::KILL)
        .expect("SIGKILL nats-server");
    host.wait_for_log("the embedded nats-server is back", Duration::from_secs(60));
    rt.block_on(async {
        let client = async_nats::connect(&url)
            .await
            .expect("the restarted server accepts clients");
        let js = async_nats::jetstream::new(client);
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[],
            asn("SHP-AFTER-RESTART"),
        )
        .await;
        let events = nats::wait_for(
            &js,
            EV,
            "mw.acme.ev.ship-notice",
            2,
            Duration::from_secs(60),
        )
        .await;
        assert!(
            events
                .iter()
                .any(|e| shipment_id(&e.json()) == "SHP-AFTER-RESTART")
        );
    });
    let pid: i32 = std::fs::read_to_string(data.join("nats/nats-server.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(host.terminate());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the embedded nats-server stopped with the host"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "the nats-server process is gone"
    );
}

#[test]
fn a_bad_configuration_stops_serve_before_it_starts_naming_the_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let inbound = support::component("x12-856-ship-notice");
    let outbound = support::component("erp-expected-receipt");
    let cases = [
        (
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"INBOUND\"\nretries = 3\n".to_string(),
            vec!["line 5", "unknown field `retries`"],
        ),
        (
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"nope/missing.wasm\"\n".to_string(),
            vec!["line 4", "no plugin at", "missing.wasm"],
        ),
        (
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"INBOUND\"\n\n[[tenants.acme.inbound]]\nname = \"again\"\nsource = \"s\"\nplugin = \"INBOUND\"\n".to_string(),
            vec!["line 8", "already claimed by the route at line 2"],
        ),
        (
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"OUTBOUND\"\n".to_string(),
            vec![
                "line 2",
                "implements the outbound-mapper world",
                "an inbound route needs an inbound-mapper",
            ],
        ),
    ];
    for (text, expected) in cases {
        let text = text
            .replace("INBOUND", &inbound.display().to_string())
            .replace("OUTBOUND", &outbound.display().to_string());
        let config = nats::write_config(dir.path(), &text);
        let out = Command::new(env!("CARGO_BIN_EXE_millwright"))
            .args(["serve", "--nats-url", "nats://127.0.0.1:1", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .expect("run serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        for needle in expected {
            assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
        }
    }
}

#[test]
fn an_outbound_route_renders_events_onto_its_subject_with_every_header() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let units = units_csv(dir.path(), "");
    let config = nats::write_config(
        dir.path(),
        &format!(
            r#"
[tenants.acme]
lookups = {{ units = "{units}" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{inbound}"

[[tenants.acme.outbound]]
name = "erp"
events = ["ship-notice", "goods-receipt"]
plugin = "{outbound}"
config = {{ erp-plant = "P2" }}
target = {{ subject = "erp-inbox" }}
"#,
            inbound = support::component("x12-856-ship-notice").display(),
            outbound = support::component("erp-expected-receipt").display(),
        ),
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    rt.block_on(async {
        let (_client, js) = server.client().await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "two-hops")],
            asn("SHP-TWO-HOPS"),
        )
        .await;
        let out = nats::wait_for(
            &js,
            "MW_acme_OUT",
            "mw.acme.out.erp-inbox",
            1,
            Duration::from_secs(60),
        )
        .await;
        let events = nats::stored(&js, EV, "mw.acme.ev.>").await;
        assert_eq!(events.len(), 1);
        let document = &out[0];
        assert_eq!(
            document.header("Mw-Correlation-Id"),
            Some("two-hops"),
            "kept across both hops"
        );
        assert_eq!(
            document.header("Mw-Causation-Id"),
            events[0].header("Nats-Msg-Id"),
            "caused by the canonical event"
        );
        assert_eq!(document.header("Mw-Source"), Some("supplier-856"));
        assert!(
            document
                .header("Mw-Plugin")
                .is_some_and(|p| p.starts_with("erp-expected-receipt@"))
        );
        assert_eq!(document.header("Content-Type"), Some("application/json"));
        assert!(
            document
                .header("Mw-File-Name")
                .is_some_and(|f| f.contains("SHP-TWO-HOPS"))
        );
        let body = document.json();
        assert_eq!(
            body["receivingPlant"], "P2",
            "the route's profile reached the plugin"
        );
        assert_eq!(body["shipNoticeId"], "SHP-TWO-HOPS");
    });
    assert!(host.terminate());
}

#[test]
fn without_nats_server_serve_says_how_to_install_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let plugin = support::component("x12-856-ship-notice");
    let config = nats::write_config(
        dir.path(),
        &format!(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"{}\"\n",
            plugin.display()
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("MILLWRIGHT_NATS_URL")
        .env(
            "MILLWRIGHT_NATS_SERVER",
            dir.path().join("no-such-nats-server"),
        )
        .output()
        .expect("run serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no-such-nats-server"), "{stderr}");
    assert!(stderr.contains("apt-get install nats-server"), "{stderr}");
    assert!(stderr.contains("--nats-url"), "{stderr}");
}
