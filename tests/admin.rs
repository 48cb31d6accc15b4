//! The registry, hot swap and the admin API end to end: a real nats-server, the real binary (one or two hosts),
//! the reference 856 plugin uploaded through the API, and JetStream read back as a user would check it.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::api::{Api, error_code};
use support::nats::{self, ADMIN_TOKEN, Host, NatsServer};

const EV: &str = "MW_acme_EV";
const DLQ: &str = "MW_acme_DLQ";

fn asn(shipment: &str) -> Vec<u8> {
    std::fs::read_to_string(
        support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
    )
    .expect("quickstart ASN")
    .replace("SHP-240611-07", shipment)
    .into_bytes()
}

fn component(name: &str) -> Vec<u8> {
    std::fs::read(support::component(name)).expect("built plugin")
}

/// The 856 plugin as another build: the same mapping, other bytes (a custom section naming the build), so
/// another sha256 — a new upload as far as the registry is concerned.
fn variant(build: u32) -> Vec<u8> {
    millwright::cli::bench::swap::build_variant(&component("x12-856-ship-notice"), build)
}

fn sha256(bytes: &[u8]) -> String {
    millwright::names::Sha256::of(bytes).to_string()
}

/// A tenant acme whose inbound route reads `supplier-856` through slot `supplier-856`, seeded from the file when
/// `seed` is set.
fn config(dir: &Path, seed: bool, extra: &str) -> std::path::PathBuf {
    let plugin = support::component("x12-856-ship-notice");
    let route = if seed {
        format!(
            "[[tenants.acme.inbound]]\nsource = \"supplier-856\"\nplugin = \"{}\"\nworkers = 2\nbatch = 32\n",
            plugin.display()
        )
    } else {
        String::new()
    };
    nats::write_config(
        dir,
        &format!(
            "[tenants.acme]\nlookups = {{ units = \"{}\" }}\n\n{route}{extra}",
            support::root()
                .join("examples/quickstart/master-data/units.csv")
                .display()
        ),
    )
}

#[test]
fn swapping_versions_under_a_steady_stream_loses_and_duplicates_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let pid = host.pid();
    let api = Api::new(&host);
    let rt = support::runtime();
    rt.block_on(async {
        let (_, js) = server.client().await;
        let seeded = api.get("/v1/tenants/acme/plugins/supplier-856").await.1;
        let first = seeded["active"]["sha256"].as_str().expect("seeded").to_string();
        // Four more versions of the slot, uploaded (and compiled) before the stream starts.
        let mut shas = vec![first.clone()];
        for i in 1..=4 {
            let bytes = variant(i);
            let (status, body) = api.upload("acme", "supplier-856", bytes.clone(), "shadow=false").await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            assert_eq!(body["version"]["sha256"], sha256(&bytes));
            shas.push(sha256(&bytes));
        }

        // The stream: 1,200 documents over about 12 s.
        const DOCUMENTS: usize = 1200;
        let publisher = {
            let js = js.clone();
            tokio::spawn(async move {
                let mut sent = Vec::with_capacity(DOCUMENTS);
                for i in 0..DOCUMENTS {
                    let at = Instant::now();
                    nats::publish(&js, "mw.acme.in.supplier-856", &[("Mw-Correlation-Id", &format!("c-{i}"))], asn(&format!("SHP-{i:05}"))).await;
                    sent.push(at);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                sent
            })
        };
        // Ten activations and two rollbacks while it flows: (requested, answered, the sha active after).
        let mut switches: Vec<(Instant, Instant, String)> = Vec::new();
        let plan: Vec<Option<usize>> = vec![
            Some(1), Some(2), Some(3), None, Some(4), Some(1), Some(0), Some(2), None, Some(3), Some(4), Some(0),
        ];
        for step in plan {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let requested = Instant::now();
            let (status, body) = match step {
                Some(i) => {
                    api.post_json(
                        "/v1/tenants/acme/plugins/supplier-856/activate",
                        json!({ "sha256": shas[i] }),
                    )
                    .await
                }
                None => api.post_json("/v1/tenants/acme/plugins/supplier-856/rollback", json!(null)).await,
            };
            let answered = Instant::now();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["serving"], json!(["supplier-856"]), "{body}");
            let active = body["active"]["sha256"].as_str().expect("active").to_string();
            if let Some(i) = step {
                assert_eq!(active, shas[i]);
            }
            switches.push((requested, answered, active));
        }
        let sent = publisher.await.expect("publisher");
        let outputs = nats::wait_for(&js, EV, "mw.acme.ev.ship-notice", DOCUMENTS, Duration::from_secs(120)).await;

        // None lost, none duplicated.
        let mut by_correlation: HashMap<String, &nats::Stored> = HashMap::new();
        for output in &outputs {
            let correlation = output.header("Mw-Correlation-Id").expect("correlation").to_string();
            assert!(by_correlation.insert(correlation.clone(), output).is_none(), "{correlation} twice");
        }
        assert_eq!(by_correlation.len(), DOCUMENTS);

        // Every output was made by a version active at some moment between its input's publication and its
        // own storing: the one active when the input was fetched, or the one before for inputs in flight.
        let origin_instant = Instant::now();
        let origin_unix = jiff::Timestamp::now().as_nanosecond();
        let unix_of = |at: Instant| origin_unix - (origin_instant - at).as_nanos() as i128;
        let active_during = |from: i128, to: i128| -> HashSet<String> {
            let mut set = HashSet::new();
            let mut current = first.clone();
            for (requested, answered, sha) in &switches {
                let (requested, answered) = (unix_of(*requested), unix_of(*answered));
                if answered < from {
                    current = sha.clone();
                    continue;
                }
                set.insert(current.clone());
                if requested <= to {
                    set.insert(sha.clone());
                }
                current = sha.clone();
                if requested > to {
                    break;
                }
            }
            set.insert(current);
            set
        };
        let mut versions_seen = HashSet::new();
        for (i, published) in sent.iter().enumerate() {
            let output = by_correlation[&format!("c-{i}")];
            let plugin = output.header("Mw-Plugin").expect("Mw-Plugin");
            let sha_prefix = plugin.rsplit('+').next().expect("name@version+sha");
            let allowed = active_during(unix_of(*published), output.stored_at);
            assert!(
                allowed.iter().any(|sha| sha.starts_with(sha_prefix)),
                "input c-{i} came out of {plugin}, but only {allowed:?} were active between its publication and its output"
            );
            versions_seen.insert(sha_prefix.to_string());
        }
        assert!(versions_seen.len() >= 4, "the stream saw only {versions_seen:?}");
        assert!(nats::count_on(&js, DLQ, "mw.acme.dlq.>").await == 0, "nothing is dead-lettered");
    });
    assert_eq!(host.pid(), pid);
    assert_eq!(
        host.log().matches("ready:").count(),
        1,
        "the host never restarted"
    );
    assert!(host.terminate(), "the host stops cleanly after the swaps");
}

#[test]
fn an_activation_through_one_host_is_serving_on_both_within_a_second() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let a = Host::start(&config, &server.url, &dir.path().join("a"));
    let b = Host::start(&config, &server.url, &dir.path().join("b"));
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    support::runtime().block_on(async {
        for i in 1..=2 {
            let bytes = variant(10 + i);
            let sha = sha256(&bytes);
            let (status, body) = api_a
                .upload("acme", "supplier-856", bytes, "shadow=false")
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            // Every host compiles an upload as soon as it is stored; an activation then only switches.
            let uploaded = Instant::now();
            loop {
                let (_, version) = api_b
                    .get(&format!(
                        "/v1/tenants/acme/plugins/supplier-856/versions/{sha}"
                    ))
                    .await;
                if version["compiled_here"] == json!(true) {
                    break;
                }
                assert!(
                    uploaded.elapsed() < Duration::from_secs(60),
                    "host b never compiled the upload: {version}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let (status, body) = api_a
                .post_json(
                    "/v1/tenants/acme/plugins/supplier-856/activate",
                    json!({ "sha256": sha }),
                )
                .await;
            let activated = Instant::now();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["serving"], json!(["supplier-856"]), "{body}");
            loop {
                let view = api_b.get("/v1/tenants/acme/plugins/supplier-856").await.1;
                if view["serving"][0]["sha256"] == json!(sha) {
                    break;
                }
                assert!(
                    activated.elapsed() < Duration::from_secs(1),
                    "host b still serves {} a second after the activation on host a",
                    view["serving"][0]["plugin"]
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // And back, through the other host.
        let (status, body) = api_b
            .post_json(
                "/v1/tenants/acme/plugins/supplier-856/rollback",
                json!(null),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let back = body["active"]["sha256"].as_str().expect("sha").to_string();
        assert_eq!(back, sha256(&variant(11)));
        let started = Instant::now();
        while api_a.get("/v1/tenants/acme/plugins/supplier-856").await.1["serving"][0]["sha256"]
            != json!(back)
        {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "host a did not roll back within a second"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

#[test]
fn routes_made_through_the_api_start_and_stop_without_a_restart_and_lose_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), false, "");
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let pid = host.pid();
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let (_, js) = server.client().await;
        // A route for a slot nobody uploaded to is refused, and nothing is stored.
        let route = json!({ "direction": "inbound", "name": "asn", "source": "supplier-856", "slot": "edi-856", "workers": 1, "batch": 16 });
        let (status, body) = api.post_json("/v1/tenants/acme/routes", route.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(error_code(&body), "slot_not_found");
        assert_eq!(api.get("/v1/tenants/acme/routes").await.1, json!([]));

        let (status, body) = api.upload("acme", "edi-856", component("x12-856-ship-notice"), "activate=true").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = api.post_json("/v1/tenants/acme/routes", route.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["origin"], "api");
        assert!(body["serving"].as_str().is_some_and(|s| s.contains("@")), "{body}");

        for i in 0..50 {
            nats::publish(&js, "mw.acme.in.supplier-856", &[("Mw-Correlation-Id", &format!("c-{i}"))], asn(&format!("SHP-{i:05}"))).await;
        }
        nats::wait_for(&js, EV, "mw.acme.ev.ship-notice", 50, Duration::from_secs(60)).await;

        // Delete it while documents keep coming: it finishes what it holds; the rest waits, visibly.
        let publisher = {
            let js = js.clone();
            tokio::spawn(async move {
                for i in 50..250 {
                    nats::publish(&js, "mw.acme.in.supplier-856", &[("Mw-Correlation-Id", &format!("c-{i}"))], asn(&format!("SHP-{i:05}"))).await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (status, body) = api.call(api.http.delete(format!("{}/v1/tenants/acme/routes/asn", api.url))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        publisher.await.expect("publisher");
        assert_eq!(api.get("/v1/tenants/acme/routes").await.1, json!([]));

        // Create it again and replay what arrived while it was gone: every document exactly once.
        let (status, body) = api.post_json("/v1/tenants/acme/routes", route).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokio::time::sleep(Duration::from_secs(4)).await; // at least one sweep of unrouted documents
        let (status, body) = api.post_json("/v1/tenants/acme/dead-letters/replay", json!({ "all": true, "route": "_unrouted" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let outputs = nats::wait_for(&js, EV, "mw.acme.ev.ship-notice", 250, Duration::from_secs(90)).await;
        let correlations: HashSet<String> = outputs
            .iter()
            .map(|o| o.header("Mw-Correlation-Id").expect("correlation").to_string())
            .collect();
        assert_eq!(outputs.len(), 250, "no duplicates");
        assert_eq!(correlations.len(), 250, "none lost");
        let (status, body) = api.get("/v1/tenants/acme/dead-letters").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!([]), "every dead letter replayed");
    });
    assert_eq!(host.pid(), pid);
    assert_eq!(host.log().matches("ready:").count(), 1);
}

/// A component that exports the contract's inbound interface at a future major version.
fn future_major() -> Vec<u8> {
    wat::parse_str(
        r#"(component (core module $m (func (export "f"))) (core instance $i (instantiate $m))
        (func $f (canon lift (core func $i "f")))
        (instance $e (export "describe" (func $f)) (export "map" (func $f)))
        (export "millwright:adapter/inbound@1.2.0" (instance $e)))"#,
    )
    .expect("wat")
}

#[test]
fn bad_uploads_and_requests_get_a_clear_4xx_and_change_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let host = Host::start_with_env(&config, Some(&server.url), &dir.path().join("data"), &[]);
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let before = api.registry_state().await;
        let good = component("x12-856-ship-notice");
        let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
            ("empty", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "empty_upload"),
            ("not wasm", b"ISA*00*          *00*".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not_wasm"),
            ("core module", wat::parse_str("(module)").expect("wat"), StatusCode::UNPROCESSABLE_ENTITY, "not_a_component"),
            ("truncated", good[..good.len() / 2].to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_component"),
            ("future major", future_major(), StatusCode::UNPROCESSABLE_ENTITY, "unsupported_contract"),
            ("wrong world", component("erp-expected-receipt"), StatusCode::UNPROCESSABLE_ENTITY, "wrong_world"),
        ];
        for (what, bytes, status, code) in cases {
            let (got, body) = api.upload("acme", "supplier-856", bytes, "activate=true").await;
            assert_eq!((got, error_code(&body)), (status, code), "{what}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| m.len() > 20), "{what}: {body}");
        }
        for (tenant, slot, status, code) in [
            ("acme", "a.b", StatusCode::BAD_REQUEST, "invalid_name"),
            ("acme", "a%2Fb", StatusCode::BAD_REQUEST, "invalid_name"),
            ("acme", "%2e%2e%2fetc", StatusCode::BAD_REQUEST, "invalid_name"),
            ("acme", &"x".repeat(65), StatusCode::BAD_REQUEST, "invalid_name"),
            ("nobody", "supplier-856", StatusCode::NOT_FOUND, "tenant_not_found"),
        ] {
            let (got, body) = api.upload(tenant, slot, good.clone(), "activate=true").await;
            assert_eq!((got, error_code(&body)), (status, code), "{tenant}/{slot}: {body}");
        }
        let (status, body) = api
            .post_json("/v1/tenants/acme/plugins/supplier-856/activate", json!({ "sha256": "0".repeat(64) }))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "version_not_found"), "{body}");
        let (status, body) = api
            .post_json("/v1/tenants/acme/plugins/supplier-856/rollback", json!(null))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "nothing_to_roll_back"), "{body}");
        let (status, body) = api
            .post_json("/v1/tenants/acme/routes", json!({ "direction": "inbound", "name": "x", "source": "other", "slot": "missing" }))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "slot_not_found"), "{body}");
        let (status, body) = api
            .post_json("/v1/tenants/acme/routes", json!({ "direction": "inbound", "name": "x", "source": "other", "slot": "supplier-856", "plugin": "/etc/passwd" }))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_route"), "{body}");
        let (status, body) = api
            .post_json("/v1/tenants/acme/routes", json!({ "direction": "inbound", "name": "x", "source": "supplier-856", "slot": "supplier-856" }))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "source_taken"), "{body}");
        let (status, body) = api
            .call(api.http.delete(format!("{}/v1/tenants/acme/routes/supplier-856", api.url)))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "defined_in_config"), "{body}");
        let active = before[0]["active"]["sha256"].as_str().expect("active").to_string();
        let (status, body) = api
            .call(api.http.delete(format!("{}/v1/tenants/acme/plugins/supplier-856/versions/{active}", api.url)))
            .await;
        assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "active_version"), "{body}");

        // Without the token, or with another: 401, and the same JSON shape.
        let response = api.http.get(format!("{}/v1/tenants", api.url)).send().await.expect("call");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let response = api.http.get(format!("{}/v1/tenants", api.url)).bearer_auth("guess").send().await.expect("call");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("json");
        assert_eq!(error_code(&body), "unauthorized");

        assert_eq!(api.registry_state().await, before, "the registry is unchanged");
        assert_eq!(api.get("/v1/tenants/acme/routes").await.1.as_array().map(Vec::len), Some(1));
    });
}

#[test]
fn an_upload_over_the_size_cap_is_refused_with_413() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let host = Host::start_with_args(
        &config,
        &server.url,
        &dir.path().join("data"),
        &["--max-upload-mb", "1"],
    );
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let before = api.registry_state().await;
        let (status, body) = api
            .upload("acme", "supplier-856", vec![0u8; 3 << 20], "")
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            "{body}"
        );
        assert_eq!(api.registry_state().await, before);
    });
}

#[test]
fn the_cli_pushes_lists_activates_and_rolls_back_with_a_shadow_run() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let url = host.admin_url();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).expect("mkdir");
    std::fs::write(fixtures.join("asn-1.x12"), asn("SHP-FIX-1")).expect("fixture");
    let next = dir.path().join("next.wasm");
    std::fs::write(&next, variant(7)).expect("variant");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
            .args(args)
            .env("MILLWRIGHT_ADMIN_URL", &url)
            .env("MILLWRIGHT_ADMIN_TOKEN", ADMIN_TOKEN)
            .output()
            .expect("millwright");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let next_path = next.display().to_string();
    let fixtures_path = fixtures.display().to_string();
    let (code, out, err) = cli(&[
        "plugin",
        "push",
        &next_path,
        "--tenant",
        "acme",
        "--slot",
        "supplier-856",
        "--fixtures",
        &fixtures_path,
        "--activate",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("uploaded x12-856-ship-notice@"), "{out}");
    // The same mapping in other bytes: the shadow run finds no difference on the fixture.
    assert!(
        out.contains("1 inputs (1 fixtures), 1 same, 0 different"),
        "{out}"
    );
    assert!(out.contains("serving on this host: supplier-856"), "{out}");
    let (code, out, _) = cli(&["plugin", "list", "--tenant", "acme"]);
    assert_eq!(code, Some(0));
    let short = &sha256(&variant(7))[..12];
    assert!(
        out.lines()
            .any(|l| l.starts_with("  * ") && l.contains(short)),
        "{out}"
    );
    let (code, out, err) = cli(&[
        "plugin",
        "rollback",
        "--tenant",
        "acme",
        "--slot",
        "supplier-856",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains(short), "{out}");
    let (code, out, err) = cli(&[
        "plugin",
        "activate",
        "--tenant",
        "acme",
        "--slot",
        "supplier-856",
        "--sha",
        &sha256(&variant(7)),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(short), "{out}");
    // The version string names two uploads now: the CLI passes the host's explanation on.
    let (code, _, err) = cli(&[
        "plugin",
        "activate",
        "--tenant",
        "acme",
        "--slot",
        "supplier-856",
        "--version",
        "0.1.0",
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("activate one by its sha256") && err.contains("ambiguous_version"),
        "{err}"
    );
    let (code, _, err) = cli(&[
        "plugin",
        "push",
        "/nonexistent.wasm",
        "--tenant",
        "acme",
        "--slot",
        "s",
    ]);
    assert_eq!(code, Some(3));
    assert!(err.contains("/nonexistent.wasm"), "{err}");
}

#[test]
fn the_served_openapi_document_is_the_checked_in_one_and_every_path_answers() {
    let checked_in: Value = serde_json::from_str(
        &std::fs::read_to_string(support::root().join("docs/openapi.json"))
            .expect("docs/openapi.json"),
    )
    .expect("JSON");
    let generated = serde_json::to_value(millwright::admin::api()).expect("document");
    assert!(
        checked_in == generated,
        "docs/openapi.json is stale: run `millwright openapi > docs/openapi.json`"
    );
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let (status, served) = api.get("/v1/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(served, checked_in);
        // Every documented operation is routed: the server answers it with one of its documented statuses, never
        // with "no such path" or "method not allowed".
        let paths = served["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("item") {
                let concrete = path
                    .replace("{tenant}", "acme")
                    .replace("{slot}", "supplier-856")
                    .replace("{sha256}", &"0".repeat(64))
                    .replace("{name}", "nope")
                    .replace("{sequence}", "1");
                let url = format!("{}{concrete}", api.url);
                let request = match method.as_str() {
                    "get" => api.http.get(&url),
                    "post" => api.http.post(&url).json(&json!({})),
                    "put" => api.http.put(&url).json(&json!({})),
                    "delete" => api.http.delete(&url),
                    other => panic!("undocumented method {other}"),
                };
                let response = request.bearer_auth(ADMIN_TOKEN).send().await.expect("call");
                let status = response.status();
                let documented = operation["responses"].as_object().expect("responses");
                assert!(
                    documented.contains_key(status.as_str()),
                    "{method} {path} answered {status}, which the document does not list ({:?})",
                    documented.keys().collect::<Vec<_>>()
                );
            }
        }
    });
}

#[test]
fn a_route_waits_for_its_slot_and_a_tenant_that_requires_signatures_gets_only_signed_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let millwright = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
            .args(args)
            .output()
            .expect("millwright");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let key = dir.path().join("steelco.key");
    let public = millwright(&["plugin", "keygen", "--out", &key.display().to_string()]);
    let plugin = dir.path().join("asn.wasm");
    std::fs::write(&plugin, component("x12-856-ship-notice")).expect("plugin");
    millwright(&[
        "plugin",
        "sign",
        &plugin.display().to_string(),
        "--key",
        &key.display().to_string(),
    ]);
    let signature = std::fs::read_to_string(dir.path().join("asn.wasm.sig")).expect("signature");

    let server = NatsServer::start();
    let config = nats::write_config(
        dir.path(),
        &format!(
            "[tenants.acme]\nsigning_keys = {{ steelco = \"{public}\" }}\nrequire_signatures = true\n\n[[tenants.acme.inbound]]\nsource = \"supplier-856\"\nslot = \"edi\"\n"
        ),
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let (status, body) = api.get("/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["waiting"][0]["route"], "supplier-856", "{body}");
        assert!(
            body["waiting"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("slot edi has no active version")),
            "{body}"
        );

        let (status, body) = api
            .upload(
                "acme",
                "edi",
                component("x12-856-ship-notice"),
                "activate=true",
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::FORBIDDEN, "signature_required"),
            "{body}"
        );
        let tampered = Form::new()
            .part("plugin", Part::bytes(variant(3)).file_name("asn.wasm"))
            .text("signature", signature.trim().to_string());
        let (status, body) = api
            .call(
                api.http
                    .post(format!("{}/v1/tenants/acme/plugins/edi/versions", api.url))
                    .multipart(tampered),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::FORBIDDEN, "signature_invalid"),
            "{body}"
        );
        assert_eq!(
            api.registry_state().await,
            json!([{
                "tenant": "acme", "slot": "edi", "active": null, "versions": [], "history": [],
                "serving": [{ "route": "supplier-856", "plugin": null, "sha256": null }],
                "suspension": null
            }])
        );

        let signed = Form::new()
            .part(
                "plugin",
                Part::bytes(component("x12-856-ship-notice")).file_name("asn.wasm"),
            )
            .text("signature", signature.trim().to_string());
        let (status, body) = api
            .call(
                api.http
                    .post(format!(
                        "{}/v1/tenants/acme/plugins/edi/versions?activate=true",
                        api.url
                    ))
                    .multipart(signed),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["version"]["signature"], "verified:steelco");
        assert_eq!(
            body["activation"]["serving"],
            json!(["supplier-856"]),
            "{body}"
        );
        let (status, body) = api.get("/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["ready"], true);

        // The route that waited now maps what was published meanwhile and after.
        let (_, js) = server.client().await;
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "signed-1")],
            asn("SHP-SIGNED"),
        )
        .await;
        let outputs = nats::wait_for(
            &js,
            EV,
            "mw.acme.ev.ship-notice",
            1,
            Duration::from_secs(60),
        )
        .await;
        assert!(
            outputs[0]
                .header("Mw-Plugin")
                .is_some_and(|p| p.starts_with("x12-856-ship-notice@"))
        );
    });
}

#[test]
fn after_nats_restarts_an_activation_still_reaches_the_host() {
    let mut server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), true, "");
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    let rt = support::runtime();
    let bytes = variant(21);
    let sha = sha256(&bytes);
    rt.block_on(async {
        let (status, body) = api
            .upload("acme", "supplier-856", bytes, "shadow=false")
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    });
    server.restart();
    rt.block_on(async {
        let started = Instant::now();
        loop {
            let (status, _) = api.get("/readyz").await;
            if status == StatusCode::OK {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the host did not reconnect"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The activation goes through the registry's KV and back to the host through its watch.
        let started = Instant::now();
        loop {
            let (status, body) = api
                .post_json(
                    "/v1/tenants/acme/plugins/supplier-856/activate",
                    json!({ "sha256": sha }),
                )
                .await;
            if status == StatusCode::OK {
                assert_eq!(body["serving"], json!(["supplier-856"]), "{body}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "activation after the restart: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}
