//! A running host probed as a hostile user would: outputs too large for the server, dead letters too large to
//! store, replays naming ids that are not there, control characters in documents, admin requests of the wrong
//! shape, a signal during start-up, NATS going away, and plugins that write to stderr. Each test drives the real
//! binary against a real nats-server (default `max_payload`, 1 MiB) and checks what an operator would see.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::api::{Api, error_code};
use support::nats::{self, Host, NatsServer, Stored};

const IN: &str = "MW_acme_IN";
const EV: &str = "MW_acme_EV";
const DLQ: &str = "MW_acme_DLQ";

/// Tenant acme: `supplier-856` through the 856 plugin, `misbehaving` through the test plugin, and `extra` (more
/// route tables) appended. Retries are quick so a test sees them.
fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    nats::write_config(
        dir,
        &format!(
            r#"
[defaults]
max_attempts = 3
backoff = "100ms"
max_backoff = "200ms"

[tenants.acme]
lookups = {{ units = "{units}" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{asn}"
config = {{ timezone = "America/Chicago" }}
workers = 1

[[tenants.acme.inbound]]
source = "misbehaving"
plugin = "{misbehaving}"
workers = 1
{extra}
"#,
            units = support::root()
                .join("examples/quickstart/master-data/units.csv")
                .display(),
            asn = support::component("x12-856-ship-notice").display(),
            misbehaving = support::component("test-misbehaving").display(),
        ),
    )
}

fn quickstart_asn() -> String {
    std::fs::read_to_string(
        support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
    )
    .expect("quickstart ASN")
}

/// A valid 856 of one shipment, one order and `items` item loops: about 64 bytes of X12 per item, and four
/// times that of canonical JSON.
fn large_asn(items: usize) -> Vec<u8> {
    let mut body = vec![
        "ST*856*0001".to_string(),
        "BSN*00*SHP-LARGE-1*20240611*1415*0001".into(),
        "HL*1**S".into(),
        "HL*2*1*O".into(),
        "PRF*4500012345".into(),
    ];
    for i in 0..items {
        body.push(format!("HL*{}*2*I", i + 3));
        body.push(format!("LIN*{i}*BP*ACME-PART-{i:05}*VP*V-{i:05}"));
        body.push("SN1**10*EA".into());
    }
    body.push(format!("CTT*{}", items + 2));
    body.push(format!("SE*{}*0001", body.len() + 1));
    let mut document = String::from(
        "ISA*00*          *00*          *ZZ*ALLEGHENYCOIL  *ZZ*ACMESTAMPING   *240611*1416*U*00401*000000907*0*P*>~GS*SH*ALLEGHENYCOIL*ACMESTAMPING*20240611*1416*907*X*004010~",
    );
    for segment in body {
        document.push_str(&segment);
        document.push('~');
    }
    document.push_str("GE*1*907~IEA*1*000000907~");
    document.into_bytes()
}

/// An X12 856 of exactly `size` bytes whose SE01 miscounts its segments: invalid as a whole, and invalid in the
/// same way only when read to its end (a cut copy fails elsewhere).
fn invalid_asn_of_size(size: usize) -> Vec<u8> {
    let head = "ISA*00*          *00*          *ZZ*ALLEGHENYCOIL  *ZZ*ACMESTAMPING   *240611*1416*U*00401*000000908*0*P*>~GS*SH*ALLEGHENYCOIL*ACMESTAMPING*20240611*1416*908*X*004010~ST*856*0001~BSN*00*SHP-INVALID*20240611*1415*0001~HL*1**S~REF*ZZ*";
    let tail = "~SE*99*0001~GE*1*908~IEA*1*000000908~";
    let filler = size - head.len() - tail.len();
    let mut document = String::with_capacity(size);
    document.push_str(head);
    document.extend(std::iter::repeat_n('A', filler));
    document.push_str(tail);
    assert_eq!(document.len(), size);
    document.into_bytes()
}

/// The dead letters of route `route`, with their failure class.
async fn dead_letters(js: &async_nats::jetstream::Context, route: &str) -> Vec<Stored> {
    nats::stored(js, DLQ, &format!("mw.acme.dlq.{route}")).await
}

#[test]
fn an_output_larger_than_the_server_takes_is_dead_lettered_at_once_not_retried() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &config(dir.path(), ""),
        &server.url,
        &dir.path().join("data"),
    );
    let document = large_asn(10_000);
    assert!(
        (600_000..1_000_000).contains(&document.len()),
        "{}",
        document.len()
    );
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        nats::publish(&js, "mw.acme.in.supplier-856", &[], document).await;
        let letters = nats::wait_for(
            &js,
            DLQ,
            "mw.acme.dlq.supplier-856",
            1,
            Duration::from_secs(60),
        )
        .await;
        let letter = &letters[0];
        assert_eq!(letter.header("Mw-Error-Class"), Some("output-too-large"));
        assert_eq!(letter.header("Mw-Attempts"), Some("1"), "not retried");
        let error = letter.header("Mw-Error").expect("error");
        assert!(
            error.contains("max_payload") && error.contains("mw.acme.ev.ship-notice"),
            "{error}"
        );
        // The input is acknowledged and nothing was published for it.
        let started = Instant::now();
        while !nats::drained(&js, IN, "in-supplier-856").await {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "input left unacknowledged"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(nats::count_on(&js, EV, "mw.acme.ev.>").await, 0);
        // And it stays that way: no redelivery, no second dead letter.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(dead_letters(&js, "supplier-856").await.len(), 1);
    });
    assert!(!host.log().contains("will be retried"), "{}", host.log());
    assert!(host.terminate());
}

#[test]
fn a_dead_letter_too_large_to_store_keeps_its_document_whole_for_replay() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &config(dir.path(), ""),
        &server.url,
        &dir.path().join("data"),
    );
    let api = Api::new(&host);
    let document = invalid_asn_of_size(1_048_360);
    let digest = millwright::names::Sha256::of(&document).to_string();
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        nats::publish(&js, "mw.acme.in.supplier-856", &[], document.clone()).await;
        let first = nats::wait_for(
            &js,
            DLQ,
            "mw.acme.dlq.supplier-856",
            1,
            Duration::from_secs(60),
        )
        .await
        .remove(0);
        assert_eq!(first.header("Mw-Error-Class"), Some("invalid-document"));
        // The dead letter fits the server: the document waits in the tenant's payload bucket, named and checked.
        assert!(first.payload.is_empty());
        assert_eq!(first.header("Mw-Payload-Size"), Some("1048360"));
        assert_eq!(first.header("Mw-Payload-Sha256"), Some(digest.as_str()));
        let object = first
            .header("Mw-Payload-Object")
            .expect("object")
            .to_string();
        assert!(object.starts_with("MW_acme_PAYLOADS/"), "{object}");
        let stored = js
            .get_object_store("MW_acme_PAYLOADS")
            .await
            .expect("bucket")
            .get(object.trim_start_matches("MW_acme_PAYLOADS/"))
            .await
            .expect("object");
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut { stored }, &mut bytes)
            .await
            .expect("read");
        assert_eq!(bytes, document, "the whole document is kept");
        // The API lists it with its real size.
        let (status, listed) = api.get("/v1/tenants/acme/dead-letters").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed[0]["bytes"], 1_048_360);
        assert_eq!(listed[0]["payload_object"], json!(object));

        // A replay reads it back whole: the route fails on it exactly as before, at the same place.
        let sequence = first.sequence;
        let (status, report) = api
            .post_json(
                "/v1/tenants/acme/dead-letters/replay",
                json!({ "ids": [sequence] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["results"][0]["outcome"], "replayed", "{report}");
        let started = Instant::now();
        let second = loop {
            let letters = dead_letters(&js, "supplier-856").await;
            if let Some(second) = letters.into_iter().find(|l| l.sequence != sequence) {
                break second;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no new dead letter after the replay"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(second.header("Mw-Error"), first.header("Mw-Error"));
        assert_eq!(
            second.header("Mw-Diagnostic"),
            first.header("Mw-Diagnostic")
        );
        assert_eq!(second.header("Mw-Payload-Sha256"), Some(digest.as_str()));
        assert_eq!(
            second.header("Mw-Payload-Object"),
            Some(object.as_str()),
            "the same object"
        );
        assert_eq!(
            dead_letters(&js, "supplier-856").await.len(),
            1,
            "the first one left"
        );
    });
    assert!(
        !host.log().contains("could not store the dead letter"),
        "{}",
        host.log()
    );
    assert!(host.terminate());
}

#[test]
fn a_replay_answers_for_each_id_and_a_malformed_one_changes_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &config(dir.path(), ""),
        &server.url,
        &dir.path().join("data"),
    );
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        for _ in 0..2 {
            nats::publish(&js, "mw.acme.in.misbehaving", &[], b"invalid".to_vec()).await;
        }
        let letters = nats::wait_for(
            &js,
            DLQ,
            "mw.acme.dlq.misbehaving",
            2,
            Duration::from_secs(60),
        )
        .await;
        let (first, second) = (letters[0].sequence, letters[1].sequence);
        for malformed in [
            json!({ "ids": [0] }),
            json!({ "ids": [first], "all": true }),
            json!({ "ids": [first], "route": "misbehaving" }),
            json!({ "ids": "1" }),
            json!({}),
            json!({ "all": true, "route": "a.b" }),
        ] {
            let (status, body) = api
                .post_json("/v1/tenants/acme/dead-letters/replay", malformed.clone())
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed}: {body}");
            assert!(!error_code(&body).is_empty(), "{body}");
        }
        assert_eq!(
            dead_letters(&js, "misbehaving").await.len(),
            2,
            "nothing replayed"
        );

        let (status, report) = api
            .post_json(
                "/v1/tenants/acme/dead-letters/replay",
                json!({ "ids": [first, 999_997] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(
            (&report["replayed"], &report["not_found"], &report["failed"]),
            (&json!(1), &json!(1), &json!(0)),
            "{report}"
        );
        assert_eq!(report["results"][0]["id"], format!("acme/{first}"));
        assert_eq!(report["results"][0]["outcome"], "replayed");
        assert_eq!(report["results"][0]["subject"], "mw.acme.in.misbehaving");
        assert_eq!(report["results"][1]["id"], "acme/999997");
        assert_eq!(report["results"][1]["outcome"], "not-found");
        // The one that was there went; the other stays.
        let (_, listed) = api
            .get("/v1/tenants/acme/dead-letters?route=misbehaving")
            .await;
        let ids: Vec<&str> = listed
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|l| l["id"].as_str())
            .collect();
        assert!(ids.contains(&format!("acme/{second}").as_str()), "{listed}");
        assert!(!ids.contains(&format!("acme/{first}").as_str()), "{listed}");
    });
    assert!(host.terminate());
}

#[test]
fn control_characters_never_reach_a_canonical_event_whatever_the_plugin_language() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let python = format!(
        "\n[[tenants.acme.inbound]]\nsource = \"dock-3pl\"\nplugin = \"{}\"\ninstances = \"reuse\"\nworkers = 1\n",
        support::component("py-goods-receipt-csv").display()
    );
    let host = Host::start(
        &config(dir.path(), &python),
        &server.url,
        &dir.path().join("data"),
    );
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        // NULs before the shipment id: the host's parser refuses the document, saying where.
        let asn = quickstart_asn().replace("SHP-240611-07", "\u{0}\u{0}\u{0}SHP-240611-07");
        nats::publish(&js, "mw.acme.in.supplier-856", &[], asn.into_bytes()).await;
        // A Rust plugin and a Python plugin that pass a control character through: the host refuses the event.
        nats::publish(
            &js,
            "mw.acme.in.misbehaving",
            &[],
            b"exception a\x1b[2Jb".to_vec(),
        )
        .await;
        let csv = std::fs::read_to_string(
            support::root().join("examples/quickstart/documents/dock-receipts.csv"),
        )
        .expect("csv")
        .replace("GR-240612-0032", "GR-240612\u{0}0032");
        nats::publish(&js, "mw.acme.in.dock-3pl", &[], csv.into_bytes()).await;

        let letter = nats::wait_for(
            &js,
            DLQ,
            "mw.acme.dlq.supplier-856",
            1,
            Duration::from_secs(60),
        )
        .await
        .remove(0);
        assert_eq!(letter.header("Mw-Error-Class"), Some("invalid-document"));
        let diagnostic: Value =
            serde_json::from_str(letter.header("Mw-Diagnostic").expect("diagnostic"))
                .expect("JSON");
        assert_eq!(diagnostic["at"]["segment-id"], "BSN", "{diagnostic}");
        assert_eq!(diagnostic["at"]["element"], 2, "{diagnostic}");
        assert!(
            diagnostic["message"]
                .as_str()
                .unwrap_or_default()
                .contains("0x00"),
            "{diagnostic}"
        );

        for (route, path) in [
            // The plugin writes the text into the event's id as well as its message: the first one is named.
            ("misbehaving", "$.exception.header.id"),
            ("dock-3pl", "$.goods-receipt.header.idempotency-key"),
        ] {
            let letter = nats::wait_for(
                &js,
                DLQ,
                &format!("mw.acme.dlq.{route}"),
                1,
                Duration::from_secs(60),
            )
            .await
            .remove(0);
            assert_eq!(
                letter.header("Mw-Error-Class"),
                Some("bad-output"),
                "{route}"
            );
            let error = letter.header("Mw-Error").expect("error");
            assert!(
                error.contains(path) && error.contains("control character"),
                "{route}: {error}"
            );
        }
        // No event was published for any of them: the CSV's good rows are not published without the bad one.
        assert_eq!(nats::count_on(&js, EV, "mw.acme.ev.>").await, 0);
    });
    assert!(host.terminate());
}

#[test]
fn every_admin_error_is_json_with_a_code_and_a_refused_upload_leaves_nothing_compiled() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let host = Host::start(&config(dir.path(), ""), &server.url, &data);
    let api = Api::new(&host);
    let compiled = || {
        std::fs::read_dir(data.join("compiled"))
            .expect("cache")
            .count()
    };
    support::runtime().block_on(async {
        let url = &api.url;
        let raw = |request: reqwest::RequestBuilder| async move {
            let response = request.send().await.expect("send");
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let text = response.text().await.expect("body");
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("not JSON ({status}, {content_type}): {text:?}"));
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
            (status, body)
        };
        let token = nats::ADMIN_TOKEN;
        let versions = format!("{url}/v1/tenants/acme/plugins/supplier-856/versions");
        let cases = [
            (
                "wrong content type",
                api.http
                    .post(&versions)
                    .bearer_auth(token)
                    .header("content-type", "text/plain")
                    .body("not a form"),
                StatusCode::BAD_REQUEST,
                "bad_multipart",
            ),
            (
                "bad query value",
                api.http
                    .post(format!("{versions}?activate=maybe"))
                    .bearer_auth(token)
                    .multipart(Form::new().part("plugin", Part::bytes(b"x".to_vec()))),
                StatusCode::BAD_REQUEST,
                "invalid_query",
            ),
            (
                "wrong method",
                api.http
                    .patch(format!("{url}/v1/tenants/acme"))
                    .bearer_auth(token),
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ),
            (
                "two plugin parts",
                api.http.post(&versions).bearer_auth(token).multipart(
                    Form::new()
                        .part("plugin", Part::bytes(b"\0asm".to_vec()).file_name("a.wasm"))
                        .part("plugin", Part::bytes(b"\0asm".to_vec()).file_name("b.wasm")),
                ),
                StatusCode::BAD_REQUEST,
                "duplicate_part",
            ),
            (
                "a body that is not JSON",
                api.http
                    .post(format!("{url}/v1/tenants/acme/dead-letters/replay"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body("{not json"),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
        ];
        for (what, request, status, code) in cases {
            let (got, body) = raw(request).await;
            assert_eq!((got, error_code(&body)), (status, code), "{what}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.len() > 10),
                "{what}: {body}"
            );
        }

        // The scheme is matched whatever its case.
        for scheme in ["bearer", "BEARER", "Bearer"] {
            let (status, _) = raw(api
                .http
                .get(format!("{url}/v1/tenants"))
                .header("authorization", format!("{scheme} {token}")))
            .await;
            assert_eq!(status, StatusCode::OK, "{scheme}");
        }

        // An upload refused for its world leaves no compiled artifact behind.
        let before = compiled();
        let outbound = std::fs::read(support::component("erp-expected-receipt")).expect("plugin");
        let (status, body) = api
            .upload("acme", "supplier-856", outbound, "shadow=false")
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "wrong_world"),
            "{body}"
        );
        assert_eq!(compiled(), before, "nothing added to the compile cache");
    });
    assert!(host.terminate());
}

#[test]
fn sigterm_during_start_up_stops_the_start_up() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    // The Python plugin takes seconds to compile with a cold cache: the signal lands in the middle of it.
    let python = format!(
        "\n[[tenants.acme.inbound]]\nsource = \"dock-3pl\"\nplugin = \"{}\"\ninstances = \"reuse\"\nworkers = 1\n",
        support::component("py-goods-receipt-csv").display()
    );
    let config = config(dir.path(), &python);
    let host = Host::spawn(
        &config,
        Some(&server.url),
        &dir.path().join("data"),
        &[],
        &[],
    );
    host.wait_for_log("compiling the 3 plugin file(s)", Duration::from_secs(60));
    host.signal_term();
    let log = || host.log();
    let started = Instant::now();
    while !log().contains("start-up stopped while compiling the plugins") {
        assert!(
            started.elapsed() < Duration::from_secs(120) && !log().contains("ready:"),
            "start-up went on after SIGTERM; the log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        log().contains("SIGTERM during start-up: stopping start-up"),
        "{}",
        log()
    );
    assert!(host.terminate(), "a clean exit");
}

#[test]
fn losing_nats_and_getting_it_back_are_logged() {
    let mut server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &config(dir.path(), ""),
        &server.url,
        &dir.path().join("data"),
    );
    server.restart();
    host.wait_for_log("lost the connection to NATS", Duration::from_secs(30));
    host.wait_for_log("connected to NATS again", Duration::from_secs(60));
    let log = host.log();
    let line = log
        .lines()
        .find(|l| l.contains("connected to NATS again"))
        .expect("logged");
    assert!(line.contains("127.0.0.1") && line.contains(" s"), "{line}");
    assert!(host.terminate());
}

#[test]
fn what_a_plugin_writes_cannot_forge_a_log_line_or_a_header() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &config(dir.path(), ""),
        &server.url,
        &dir.path().join("data"),
    );
    let api = Api::new(&host);
    let forged = "2026-12-03T09:00:00.000000Z  INFO millwright::serve: ready: forged";
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        nats::publish(
            &js,
            "mw.acme.in.misbehaving",
            &[],
            format!("panic boom — twice\n{forged}").into_bytes(),
        )
        .await;
        let letter = nats::wait_for(
            &js,
            DLQ,
            "mw.acme.dlq.misbehaving",
            1,
            Duration::from_secs(60),
        )
        .await
        .remove(0);
        assert_eq!(letter.header("Mw-Error-Class"), Some("trap"));
        // Every header value is one line of printable ASCII.
        for (name, value) in &letter.headers {
            assert!(
                value.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{name}: {value:?}"
            );
        }
        let error = letter.header("Mw-Error").expect("error");
        assert!(error.contains("boom \\u2014 twice |"), "{error}");
        // The API gives the text back as the plugin wrote it.
        let (_, listed) = api
            .get("/v1/tenants/acme/dead-letters?route=misbehaving")
            .await;
        let text = listed[0]["error"].as_str().expect("error");
        assert!(
            text.contains("boom — twice | 2026-12-03T09:00:00.000000Z"),
            "{text}"
        );
    });
    let log = host.log();
    assert!(
        log.lines()
            .all(|l| !l.starts_with("2026-12-03T09:00:00.000000Z")),
        "a plugin wrote a line of the host's log:\n{log}"
    );
    // What it wrote is in the log as the plugin's own lines, tagged with where they came from.
    let tagged = log
        .lines()
        .filter(|l| {
            l.contains(forged)
                && l.contains(" plugin: ")
                && l.contains("tenant=acme")
                && l.contains("slot=misbehaving")
        })
        .count();
    assert!(tagged >= 1, "{log}");
    assert!(host.terminate());
}
