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

/// Tenant `neighbour`, well-behaved (the 856 plugin), and tenant `rogue`: one route per attack of the `hostile`
/// plugin, and two routes of `test-misbehaving` (`crashy`, resumed by an admin; `probed`, lifted by a probe).
/// Retries, deadlines and the breaker's waits are short so the test sees them.
fn rogue_config(dir: &Path, nats_url: &str) -> std::path::PathBuf {
    let hostile = support::component("hostile");
    let misbehaving = support::component("test-misbehaving");
    let socket = nats_url.trim_start_matches("nats://");
    let route = |source: &str, config: &str, extra: &str| {
        format!(
            "\n[[tenants.rogue.inbound]]\nsource = \"{source}\"\nplugin = \"{}\"\nconfig = {{ {config} }}\n{extra}\n",
            hostile.display()
        )
    };
    let routes = [
        route("loop", "mode = \"loop\"", "deadline = \"300ms\""),
        route("grow", "mode = \"grow\"", "memory_mb = 32"),
        route("giant", "mode = \"giant\"", ""),
        route("flood", "mode = \"flood\"", ""),
        route("recurse", "mode = \"recurse\"", ""),
        route("trap", "mode = \"trap\"", ""),
        route(
            "slow",
            "mode = \"slow\", seconds = \"2\"",
            "deadline = \"3s\"",
        ),
        route(
            "ambient",
            &format!("mode = \"ambient\", socket = \"{socket}\""),
            "",
        ),
    ]
    .concat();
    nats::write_config(
        dir,
        &format!(
            r#"
[defaults]
max_attempts = 2
backoff = "50ms"
max_backoff = "100ms"
suspend_after = 3
probe_backoff = "60s"
workers = 1

[tenants.neighbour]
lookups = {{ units = "{units}" }}

[[tenants.neighbour.inbound]]
source = "supplier-856"
plugin = "{asn}"
config = {{ timezone = "America/Chicago" }}

[tenants.rogue]
{routes}
[[tenants.rogue.inbound]]
source = "crashy"
plugin = "{misbehaving}"
max_attempts = 1

[[tenants.rogue.inbound]]
source = "probed"
plugin = "{misbehaving}"
max_attempts = 1
suspend_after = 2
probe_backoff = "500ms"
max_probe_backoff = "1s"
"#,
            units = support::root()
                .join("examples/quickstart/master-data/units.csv")
                .display(),
            asn = support::component("x12-856-ship-notice").display(),
            misbehaving = misbehaving.display(),
        ),
    )
}

/// The messages of `durable` still in the stream: not yet delivered, or delivered and not acknowledged.
async fn waiting(js: &async_nats::jetstream::Context, stream: &str, durable: &str) -> u64 {
    let mut consumer = js
        .get_stream(stream)
        .await
        .expect("stream")
        .get_consumer::<async_nats::jetstream::consumer::pull::Config>(durable)
        .await
        .expect("consumer");
    let info = consumer.info().await.expect("consumer info");
    info.num_pending + u64::try_from(info.num_ack_pending).expect("count")
}

/// The messages of the exception events the rogue tenant's route `source` published.
async fn rogue_events(js: &async_nats::jetstream::Context, source: &str) -> Vec<String> {
    nats::stored(js, "MW_rogue_EV", "mw.rogue.ev.exception")
        .await
        .into_iter()
        .filter(|e| e.header("Mw-Source") == Some(source))
        .map(|e| {
            e.json()["exception"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Waits until `check` says yes, polling; panics with `what` after `timeout`.
async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < timeout,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn hostile_plugins_are_stopped_and_suspended_while_the_neighbour_keeps_flowing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(
        &rogue_config(dir.path(), &server.url),
        &server.url,
        &dir.path().join("data"),
    );
    let api = Api::new(&host);
    const NEIGHBOUR_DOCUMENTS: usize = 20;
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        // The neighbour sends its ship notices all through the attacks.
        let neighbour = {
            let js = js.clone();
            let asn = quickstart_asn();
            tokio::spawn(async move {
                for _ in 0..NEIGHBOUR_DOCUMENTS {
                    nats::publish(
                        &js,
                        "mw.neighbour.in.supplier-856",
                        &[],
                        asn.clone().into_bytes(),
                    )
                    .await;
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            })
        };
        for source in [
            "loop", "grow", "giant", "flood", "recurse", "trap", "slow", "ambient",
        ] {
            for n in 1..=2 {
                nats::publish(
                    &js,
                    &format!("mw.rogue.in.{source}"),
                    &[],
                    format!("attack {n}").into_bytes(),
                )
                .await;
            }
        }

        // Each attack is stopped, classified and dead-lettered with what it was; retried where a retry may help.
        for (source, class, reason, attempts) in [
            ("loop", "deadline", "ran past its deadline of 300ms", "2"),
            (
                "grow",
                "memory-limit",
                "reached its memory cap of 32 MiB",
                "2",
            ),
            ("giant", "output-limit", "over the 16 MiB limit", "1"),
            (
                "flood",
                "output-limit",
                "20000 events, over the limit of 10000",
                "1",
            ),
            ("recurse", "trap", "stack overflow", "2"),
            ("trap", "trap", "hostile: asked to crash", "2"),
        ] {
            let letters = nats::wait_for(
                &js,
                "MW_rogue_DLQ",
                &format!("mw.rogue.dlq.{source}"),
                2,
                Duration::from_secs(60),
            )
            .await;
            for letter in &letters {
                assert_eq!(letter.header("Mw-Error-Class"), Some(class), "{source}");
                let error = letter.header("Mw-Error").expect("error");
                assert!(error.contains(reason), "{source}: {error}");
                assert_eq!(letter.header("Mw-Attempts"), Some(attempts), "{source}");
            }
        }
        // Slow but within its deadline: mapped, nothing dead-lettered.
        eventually(
            "the slow plugin's events",
            Duration::from_secs(30),
            || async { rogue_events(&js, "slow").await.len() == 2 },
        )
        .await;
        assert_eq!(
            nats::count_on(&js, "MW_rogue_DLQ", "mw.rogue.dlq.slow").await,
            0
        );
        // What the plugin saw of the machine: no environment, no files, stopped clocks, no network.
        eventually(
            "the ambient plugin's events",
            Duration::from_secs(30),
            || async { rogue_events(&js, "ambient").await.len() == 2 },
        )
        .await;
        for seen in rogue_events(&js, "ambient").await {
            assert!(
                seen.starts_with("env=0 path=absent read=refused(")
                    && seen.contains(" write=refused(")
                    && seen.contains(" wall-clock=0 monotonic=0 socket=refused("),
                "the sandbox leaked: {seen}"
            );
        }
        // Two inputs each: below suspend_after, nothing is suspended.
        let (_, slots) = api.get("/v1/tenants/rogue/plugins").await;
        for slot in slots.as_array().expect("slots") {
            assert!(slot["suspension"].is_null(), "{slot}");
        }

        // A third input that loops suspends the slot; the messages after it wait in the stream, untried.
        for n in 1..=4 {
            nats::publish(
                &js,
                "mw.rogue.in.loop",
                &[],
                format!("exception held-{n}").into_bytes(),
            )
            .await;
        }
        eventually(
            "the loop slot suspended",
            Duration::from_secs(30),
            || async { !api.get("/v1/tenants/rogue/plugins/loop").await.1["suspension"].is_null() },
        )
        .await;
        let (_, slot) = api.get("/v1/tenants/rogue/plugins/loop").await;
        let suspension = &slot["suspension"];
        assert_eq!(suspension["failures"], 3, "{slot}");
        assert_eq!(suspension["last_class"], "deadline", "{slot}");
        assert!(
            suspension["plugin"]
                .as_str()
                .is_some_and(|p| p.starts_with("hostile@")),
            "{slot}"
        );
        let (status, ready) = api.get("/readyz").await;
        assert_eq!(status, StatusCode::OK, "the host is alive: {ready}");
        assert_eq!(ready["suspended"][0]["tenant"], "rogue", "{ready}");
        assert_eq!(ready["suspended"][0]["slot"], "loop", "{ready}");
        assert!(
            ready["suspended"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("deadline")),
            "{ready}"
        );
        let (code, out, err) = host.cli(&["plugin", "list", "--tenant", "rogue", "--slot", "loop"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("SUSPENDED since"), "{out}");
        // Held, not burnt: no new dead letter, no event, every one still in the stream, a second later too.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            nats::count_on(&js, "MW_rogue_DLQ", "mw.rogue.dlq.loop").await,
            2
        );
        assert!(rogue_events(&js, "loop").await.is_empty());
        assert_eq!(waiting(&js, "MW_rogue_IN", "in-loop").await, 4);

        // Activating another version lifts it: the waiting messages go through the new one, none lost.
        let good = std::fs::read(support::component("test-misbehaving")).expect("plugin");
        let (status, body) = api
            .upload("rogue", "loop", good, "activate=true&shadow=false")
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        eventually(
            "the held messages mapped",
            Duration::from_secs(30),
            || async { rogue_events(&js, "loop").await.len() == 4 },
        )
        .await;
        let mut mapped = rogue_events(&js, "loop").await;
        mapped.sort();
        assert_eq!(mapped, ["held-1", "held-2", "held-3", "held-4"]);
        assert!(api.get("/v1/tenants/rogue/plugins/loop").await.1["suspension"].is_null());
        assert_eq!(
            nats::count_on(&js, "MW_rogue_DLQ", "mw.rogue.dlq.loop").await,
            2
        );

        // An admin lifts a suspension: what waited is mapped at once.
        for _ in 0..3 {
            nats::publish(&js, "mw.rogue.in.crashy", &[], b"panic".to_vec()).await;
        }
        eventually(
            "the crashy slot suspended",
            Duration::from_secs(30),
            || async {
                !api.get("/v1/tenants/rogue/plugins/crashy").await.1["suspension"].is_null()
            },
        )
        .await;
        for n in 1..=2 {
            nats::publish(
                &js,
                "mw.rogue.in.crashy",
                &[],
                format!("exception resumed-{n}").into_bytes(),
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(rogue_events(&js, "crashy").await.is_empty());
        assert_eq!(waiting(&js, "MW_rogue_IN", "in-crashy").await, 2);
        let (code, out, err) =
            host.cli(&["plugin", "resume", "--tenant", "rogue", "--slot", "crashy"]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(
            out.contains("rogue/crashy") && !out.contains("SUSPENDED"),
            "{out}"
        );
        eventually(
            "the resumed messages mapped",
            Duration::from_secs(30),
            || async { rogue_events(&js, "crashy").await.len() == 2 },
        )
        .await;
        let (code, _, err) =
            host.cli(&["plugin", "resume", "--tenant", "rogue", "--slot", "crashy"]);
        assert_ne!(code, Some(0));
        assert!(err.contains("not suspended"), "{err}");

        // A probe: a failed one doubles the wait; the next, a good document, lifts the suspension.
        for _ in 0..2 {
            nats::publish(&js, "mw.rogue.in.probed", &[], b"panic".to_vec()).await;
        }
        eventually(
            "the probed slot suspended",
            Duration::from_secs(30),
            || async {
                !api.get("/v1/tenants/rogue/plugins/probed").await.1["suspension"].is_null()
            },
        )
        .await;
        nats::publish(&js, "mw.rogue.in.probed", &[], b"panic".to_vec()).await;
        nats::publish(&js, "mw.rogue.in.probed", &[], b"exception probed".to_vec()).await;
        eventually(
            "a probe lifting the suspension",
            Duration::from_secs(30),
            || async { rogue_events(&js, "probed").await == ["probed"] },
        )
        .await;
        assert!(api.get("/v1/tenants/rogue/plugins/probed").await.1["suspension"].is_null());
        assert_eq!(
            nats::count_on(&js, "MW_rogue_DLQ", "mw.rogue.dlq.probed").await,
            3
        );

        // The neighbour noticed nothing: every document mapped, none dead-lettered.
        neighbour.await.expect("neighbour");
        nats::wait_for(
            &js,
            "MW_neighbour_EV",
            "mw.neighbour.ev.ship-notice",
            NEIGHBOUR_DOCUMENTS,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            nats::count_on(&js, "MW_neighbour_DLQ", "mw.neighbour.dlq.>").await,
            0
        );
    });
    let log = host.log();
    assert!(log.contains("slot suspended"), "{log}");
    assert!(log.contains("probe failed"), "{log}");
    assert!(host.terminate(), "the host stops cleanly");
}
