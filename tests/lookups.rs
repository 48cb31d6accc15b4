//! Live master data end to end: tables kept in JetStream and loaded through the admin API or the CLI, used by
//! every host of a fleet without a restart, seeded from the configuration only while the store has none, bad
//! tables refused naming the line, and notices parked for a missing unit mapped on their own once it is loaded.
//! A real nats-server, the real binary, the reference 856 plugin.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::{Api, error_code};
use support::nats::{self, ADMIN_TOKEN, Host, NatsServer};

const EV: &str = "MW_acme_EV";
const DLQ: &str = "MW_acme_DLQ";

/// The quickstart units table, with `extra` rows after it.
fn units(extra: &str) -> String {
    let text =
        std::fs::read_to_string(support::root().join("examples/quickstart/master-data/units.csv"))
            .expect("units.csv");
    format!("{text}{extra}")
}

/// The quickstart ship notice with its own shipment id, its items shipped in unit `unit`.
fn asn(shipment: &str, unit: &str) -> Vec<u8> {
    std::fs::read_to_string(
        support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
    )
    .expect("quickstart ASN")
    .replace("SHP-240611-07", shipment)
    .replace("SN1**48*EA", &format!("SN1**48*{unit}"))
    .into_bytes()
}

/// Tenant acme with the tables `tables` (name and CSV text, written beside the file) and its inbound route
/// `supplier-856` through the reference 856 plugin.
fn config(dir: &Path, tables: &[(&str, &str)]) -> PathBuf {
    let mut lookups = Vec::new();
    for (name, text) in tables {
        let path = dir.join(format!("{name}.csv"));
        std::fs::write(&path, text).expect("write table");
        lookups.push(format!("{name} = \"{}\"", path.display()));
    }
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
lookups = {{ {} }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{}"
config = {{ timezone = "America/New_York" }}
workers = 2
batch = 32
"#,
            lookups.join(", "),
            support::component("x12-856-ship-notice").display()
        ),
    )
}

/// `PUT` a table with `content_type`.
async fn put_table(
    api: &Api,
    table: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    api.call(
        api.http
            .put(format!("{}/v1/tenants/acme/lookups/{table}", api.url))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body),
    )
    .await
}

/// Polls `GET /v1/tenants/acme/lookups/units` on `api` until this host uses `version`; how long it took.
async fn in_use(api: &Api, version: u64, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = api.get("/v1/tenants/acme/lookups/units").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["in_use_here"] == json!(version) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "the host still uses {} {within:?} after the change: {body}",
            body["in_use_here"]
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Ship notices on `mw.acme.ev.ship-notice` with correlation id `correlation`, waiting up to `timeout` for one.
async fn ship_notice(js: &async_nats::jetstream::Context, correlation: &str, timeout: Duration) {
    let started = Instant::now();
    loop {
        let events = nats::stored(js, EV, "mw.acme.ev.ship-notice").await;
        if events
            .iter()
            .any(|e| e.header("Mw-Correlation-Id") == Some(correlation))
        {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "no ship notice for {correlation} within {timeout:?}; the dead letters: {:?}",
            nats::stored(js, DLQ, "mw.acme.dlq.>")
                .await
                .iter()
                .map(|l| (
                    l.header("Mw-Correlation-Id").map(str::to_string),
                    l.header("Mw-Error").map(str::to_string)
                ))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_table_loaded_through_one_host_is_in_use_on_both_within_a_second_without_a_restart() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &[("units", &units(""))]);
    let a = Host::start(&config, &server.url, &dir.path().join("a"));
    let b = Host::start(&config, &server.url, &dir.path().join("b"));
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        // One host seeded the table from the file; both use that version.
        for api in [&api_a, &api_b] {
            let (status, body) = api.get("/v1/tenants/acme/lookups").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
            assert_eq!(body[0]["table"], "units");
            assert_eq!(body[0]["version"], 1);
            assert_eq!(body[0]["change"], "seed");
            assert_eq!(body[0]["in_use_here"], 1);
            assert!(body[0]["previous"].is_null(), "{body}");
        }

        let (status, body) = put_table(&api_a, "units", "text/csv", units("ZZ,KGM\n")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let loaded = Instant::now();
        assert_eq!(
            (body["created"].clone(), body["version"].clone()),
            (json!(true), json!(2)),
            "{body}"
        );
        assert_eq!(
            body["in_use_here"], 2,
            "host a uses it when it answers: {body}"
        );
        assert_eq!(body["previous"]["version"], 1, "{body}");
        in_use(
            &api_b,
            2,
            Duration::from_secs(1).saturating_sub(loaded.elapsed()),
        )
        .await;

        // The plugins on both hosts map the new unit: each host's route takes its share of these.
        for n in 0..8 {
            nats::publish(
                &js,
                "mw.acme.in.supplier-856",
                &[("Mw-Correlation-Id", &format!("zz-{n}"))],
                asn(&format!("SHP-ZZ-{n}"), "ZZ"),
            )
            .await;
        }
        for n in 0..8 {
            ship_notice(&js, &format!("zz-{n}"), Duration::from_secs(30)).await;
        }
        assert_eq!(nats::count_on(&js, DLQ, "mw.acme.dlq.>").await, 0);

        // Back through the other host: both use version 1 again within a second, and a second rollback goes
        // forward again.
        let (status, body) = api_b
            .post_json("/v1/tenants/acme/lookups/units/rollback", json!(null))
            .await;
        let rolled = Instant::now();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["version"].clone(), body["change"].clone()),
            (json!(1), json!("rollback")),
            "{body}"
        );
        assert_eq!(body["previous"]["version"], 2, "{body}");
        in_use(
            &api_a,
            1,
            Duration::from_secs(1).saturating_sub(rolled.elapsed()),
        )
        .await;
        let (status, body) = api_a
            .post_json("/v1/tenants/acme/lookups/units/rollback", json!(null))
            .await;
        assert_eq!(
            (status, body["version"].clone()),
            (StatusCode::OK, json!(2)),
            "{body}"
        );
        in_use(&api_b, 2, Duration::from_secs(1)).await;
    });
    assert!(
        a.log().contains("lookup table in use: version 2"),
        "{}",
        a.log()
    );
    assert!(
        b.log().contains("lookup table in use: version 2"),
        "{}",
        b.log()
    );
}

#[test]
fn the_cli_loads_lists_shows_and_rolls_back_a_table_through_the_admin_api() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &[("units", &units(""))]);
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let url = host.admin_url();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
            .arg("lookup")
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
    let items = dir.path().join("items-v1.csv");
    std::fs::write(
        &items,
        "supplier_part,internal_item\nAC-1008-060,RM-100860\n\"AC,1\", RM-1\n",
    )
    .expect("items");
    let items = items.display().to_string();

    let (code, out, err) = cli(&["load", "--tenant", "acme", "items", &items]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("loaded acme/items version 1 (2 rows"), "{out}");
    assert!(out.contains("in use on this host: version 1"), "{out}");
    // The same rows again: nothing changes.
    let (code, out, err) = cli(&["load", "--tenant", "acme", "items", &items]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("version 1 already holds these rows"), "{out}");

    let (code, out, _) = cli(&["get", "--tenant", "acme", "items"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "supplier_part,internal_item\nAC-1008-060,RM-100860\n\"AC,1\",RM-1\n"
    );
    let (code, out, _) = cli(&["get", "--tenant", "acme", "items", "AC,1"]);
    assert_eq!((code, out.as_str()), (Some(0), "RM-1\n"));
    let (code, _, err) = cli(&["get", "--tenant", "acme", "items", "NOPE"]);
    assert_eq!(code, Some(3));
    assert!(
        err.contains("no key \"NOPE\"") && err.contains("key_not_found"),
        "{err}"
    );
    let (code, _, err) = cli(&["get", "--tenant", "acme", "pallets"]);
    assert_eq!(code, Some(3));
    assert!(
        err.contains("no lookup table \"pallets\"") && err.contains("units"),
        "{err}"
    );

    let v2 = dir.path().join("items-v2.csv");
    std::fs::write(&v2, "supplier_part,internal_item\nAC-1008-060,RM-200000\n").expect("items");
    let (code, out, err) = cli(&[
        "load",
        "--tenant",
        "acme",
        "items",
        &v2.display().to_string(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("version 2 (1 rows") && out.contains("previous version 1"),
        "{out}"
    );
    let (code, out, _) = cli(&["list", "--tenant", "acme"]);
    assert_eq!(code, Some(0));
    let line = |table: &str| {
        out.lines()
            .find(|l| l.starts_with(table))
            .unwrap_or_else(|| panic!("no {table} in {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let items_line = line("items");
    assert_eq!(
        (items_line[1].as_str(), items_line[2].as_str()),
        ("2", "1"),
        "{out}"
    );
    assert_eq!(
        items_line.last().map(String::as_str),
        Some("1"),
        "previous: {out}"
    );
    assert_eq!(line("units")[1], "1", "{out}");

    let (code, out, err) = cli(&["rollback", "--tenant", "acme", "items"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("back to version 1 (2 rows")
            && out.contains("version 2 is now the previous one"),
        "{out}"
    );
    let (code, out, _) = cli(&["get", "--tenant", "acme", "items", "AC-1008-060"]);
    assert_eq!((code, out.as_str()), (Some(0), "RM-100860\n"));
    let (code, out, _) = cli(&["get", "--tenant", "acme", "items", "--json"]);
    assert_eq!(code, Some(0));
    let shown: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["entries"][1], json!({"key": "AC,1", "value": "RM-1"}));

    // Refusals exit 3 with the host's reason.
    let (code, _, err) = cli(&["rollback", "--tenant", "acme", "units"]);
    assert_eq!(code, Some(3));
    assert!(err.contains("nothing_to_roll_back"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "k,v\nA,1\nB\n").expect("bad");
    let (code, _, err) = cli(&[
        "load",
        "--tenant",
        "acme",
        "items",
        &bad.display().to_string(),
    ]);
    assert_eq!(code, Some(3));
    assert!(
        err.contains("line 3") && err.contains("wrong_columns"),
        "{err}"
    );
    let (code, _, err) = cli(&["load", "--tenant", "acme", "it/../ems", &items]);
    assert_eq!(code, Some(3));
    assert!(
        err.contains("lookup table \"it/../ems\" is not allowed"),
        "{err}"
    );
    let (code, _, err) = cli(&["load", "--tenant", "acme", "items", "/nonexistent.csv"]);
    assert_eq!(code, Some(3));
    assert!(err.contains("/nonexistent.csv"), "{err}");
    let (code, out, _) = cli(&["get", "--tenant", "acme", "items", "AC-1008-060"]);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "RM-100860\n"),
        "refusals changed nothing"
    );
    let (code, out, _) = cli(&["load", "--help"]);
    assert_eq!(code, Some(0));
    // The help is wrapped to the terminal's width: read it as one line.
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("naming the line") && out.contains("lookup rollback"),
        "{out}"
    );
}

#[test]
fn the_files_seed_only_an_empty_store_and_a_table_loaded_through_the_api_survives_a_restart() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config_path = config(dir.path(), &[("units", &units(""))]);
    let data = dir.path().join("data");
    let host = Host::start(&config_path, &server.url, &data);
    assert!(
        host.log().contains("lookup table seeded from"),
        "{}",
        host.log()
    );
    let api = Api::new(&host);
    let rt = support::runtime();
    rt.block_on(async {
        let (status, body) =
            put_table(&api, "units", "text/csv; charset=utf-8", units("ZZ,KGM\n")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    });
    assert!(host.terminate());

    // The file changes, and a new table appears in it: the store's units win, the new table is seeded.
    let config_path = config(
        dir.path(),
        &[
            ("units", &units("QQ,XYZ\n")),
            ("items", "supplier_part,internal_item\nP-1,I-1\n"),
        ],
    );
    let host = Host::start(&config_path, &server.url, &data);
    let log = host.log();
    assert!(log.contains("the store's version 2 is used"), "{log}");
    assert!(
        log.contains("lookup table seeded from") && log.contains("items.csv"),
        "{log}"
    );
    let api = Api::new(&host);
    rt.block_on(async {
        let (status, body) = api.get("/v1/tenants/acme/lookups/units?key=ZZ").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["version"].clone(), body["in_use_here"].clone()),
            (json!(2), json!(2)),
            "{body}"
        );
        assert_eq!(body["entries"], json!([{"key": "ZZ", "value": "KGM"}]));
        assert_eq!(body["loaded_by"], "platform-admin");
        let (status, body) = api.get("/v1/tenants/acme/lookups/units?key=QQ").await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::NOT_FOUND, "key_not_found"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("\"QQ\"")),
            "{body}"
        );
        let (status, body) = api.get("/v1/tenants/acme/lookups/items").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["version"].clone(), body["change"].clone()),
            (json!(1), json!("seed")),
            "{body}"
        );
        assert!(
            body["loaded_by"]
                .as_str()
                .is_some_and(|b| b.starts_with("config ") && b.ends_with("items.csv")),
            "{body}"
        );
        let (_, tenant) = api.get("/v1/tenants/acme").await;
        assert_eq!(tenant["lookups"], json!(["items", "units"]), "{tenant}");
        // A table loaded only through the API is kept too, and the tenant lists it.
        let (status, body) = put_table(
            &api,
            "locations",
            "text/csv",
            "partner,internal\nDOCK-1,P2-D1\n",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    });
    assert!(host.terminate());
    let host = Host::start(&config_path, &server.url, &data);
    let api = Api::new(&host);
    rt.block_on(async {
        let (status, body) = api.get("/v1/tenants/acme/lookups").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let tables: Vec<(&str, u64)> = body
            .as_array()
            .expect("tables")
            .iter()
            .map(|t| {
                (
                    t["table"].as_str().unwrap_or_default(),
                    t["in_use_here"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            tables,
            [("items", 1), ("locations", 1), ("units", 2)],
            "{body}"
        );
    });
}

/// A bad table: what it is, its content type, its bytes, and the status, code and line the API must answer.
type BadTable = (
    &'static str,
    &'static str,
    Vec<u8>,
    StatusCode,
    &'static str,
    Option<&'static str>,
);

#[test]
fn bad_tables_get_a_4xx_naming_what_and_the_line_and_change_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &[("units", &units(""))]);
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let before = api.get("/v1/tenants/acme/lookups/units").await.1;
        let cases: Vec<BadTable> = vec![
            (
                "not UTF-8",
                "text/csv",
                b"x12,rec20\nEA,H87\nLB,L\xe9R\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "not_utf8",
                Some("line 3"),
            ),
            (
                "binary",
                "text/csv",
                b"x12,rec20\nEA,H\x0087\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "not_csv",
                Some("line 2"),
            ),
            (
                "JSON",
                "text/csv",
                br#"{"EA": "H87"}"#.to_vec(),
                StatusCode::BAD_REQUEST,
                "bad_header",
                Some("line 1"),
            ),
            (
                "short row",
                "text/csv",
                b"x12,rec20\nEA,H87\nLB\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "wrong_columns",
                Some("line 3"),
            ),
            (
                "long row",
                "text/csv",
                b"x12,rec20\nEA,H87,x\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "wrong_columns",
                Some("line 2"),
            ),
            (
                "empty key",
                "text/csv",
                b"x12,rec20\nEA,H87\n ,LBR\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "empty_key",
                Some("line 3"),
            ),
            (
                "key twice",
                "text/csv",
                b"x12,rec20\nEA,H87\nLB,LBR\nEA,C62\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "duplicate_key",
                Some("line 4"),
            ),
            (
                "no rows",
                "text/csv",
                b"x12,rec20\n".to_vec(),
                StatusCode::BAD_REQUEST,
                "empty_table",
                None,
            ),
            (
                "nothing",
                "text/csv",
                Vec::new(),
                StatusCode::BAD_REQUEST,
                "empty_table",
                None,
            ),
            (
                "not sent as CSV",
                "application/json",
                b"x12,rec20\nEA,H87\n".to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("text/csv"),
            ),
            (
                "over 16 MiB",
                "text/csv",
                format!("k,v\n{}", "A,1\n".repeat(5 << 20)).into_bytes(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                Some("16777216"),
            ),
        ];
        for (what, content_type, body, status, code, names) in cases {
            let (got, answer) = put_table(&api, "units", content_type, body).await;
            assert_eq!(
                (got, error_code(&answer)),
                (status, code),
                "{what}: {answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            if let Some(names) = names {
                assert!(message.contains(names), "{what}: {message}");
            }
        }
        for (table, status, code) in [
            ("a.b", StatusCode::BAD_REQUEST, "invalid_name"),
            ("a%2Fb", StatusCode::BAD_REQUEST, "invalid_name"),
            ("un%20its", StatusCode::BAD_REQUEST, "invalid_name"),
            (&"x".repeat(65), StatusCode::BAD_REQUEST, "invalid_name"),
        ] {
            let (got, answer) = put_table(&api, table, "text/csv", "k,v\nA,1\n").await;
            assert_eq!(
                (got, error_code(&answer)),
                (status, code),
                "{table}: {answer}"
            );
        }
        let (status, body) = api
            .call(
                api.http
                    .put(format!("{}/v1/tenants/nobody/lookups/units", api.url))
                    .header(reqwest::header::CONTENT_TYPE, "text/csv")
                    .body("k,v\nA,1\n"),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::NOT_FOUND, "tenant_not_found"),
            "{body}"
        );
        let (status, body) = api.get("/v1/tenants/acme/lookups/pallets").await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::NOT_FOUND, "table_not_found"),
            "{body}"
        );
        let (status, body) = api
            .post_json("/v1/tenants/acme/lookups/pallets/rollback", json!(null))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::NOT_FOUND, "table_not_found"),
            "{body}"
        );
        let (status, body) = api
            .post_json("/v1/tenants/acme/lookups/units/rollback", json!(null))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::CONFLICT, "nothing_to_roll_back"),
            "{body}"
        );

        assert_eq!(
            api.get("/v1/tenants/acme/lookups/units").await.1,
            before,
            "the table is unchanged"
        );
        let (_, tables) = api.get("/v1/tenants/acme/lookups").await;
        assert_eq!(
            tables.as_array().map(Vec::len),
            Some(1),
            "no table was made: {tables}"
        );
    });
}

#[test]
fn a_notice_parked_for_an_unknown_unit_is_mapped_on_its_own_once_the_unit_is_loaded() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &[("units", &units(""))]);
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    let rt = support::runtime();
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "waits-for-zz")],
            asn("SHP-PARKED", "ZZ"),
        )
        .await;
        let letters = nats::wait_for(&js, DLQ, "mw.acme.dlq.>", 1, Duration::from_secs(60)).await;
        let parked = &letters[0];
        assert_eq!(parked.header("Mw-Parked"), Some("true"));
        assert_eq!(parked.header("Mw-Error-Class"), Some("unknown-reference"));
        let tables = parked
            .header("Mw-Parked-Tables")
            .expect("the tables it waits for");
        assert!(tables.split(',').any(|t| t == "units@1"), "{tables}");
        let (_, listed) = api.get("/v1/tenants/acme/dead-letters").await;
        assert!(
            listed[0]["parked_tables"]
                .as_array()
                .is_some_and(|t| t.contains(&json!({"table": "units", "version": 1}))),
            "{listed}"
        );

        // Another table changing does not replay it: it waits for units.
        let (status, body) = put_table(
            &api,
            "items",
            "text/csv",
            "supplier_part,internal_item\nP-1,I-1\n",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(nats::count_on(&js, DLQ, "mw.acme.dlq.>").await, 1);

        // Loading units with the code maps it, with no replay asked for.
        let (status, body) = put_table(&api, "units", "text/csv", units("ZZ,KGM\n")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ship_notice(&js, "waits-for-zz", Duration::from_secs(30)).await;
        let events = nats::stored(&js, EV, "mw.acme.ev.ship-notice").await;
        let event = events
            .iter()
            .find(|e| e.header("Mw-Correlation-Id") == Some("waits-for-zz"))
            .expect("the parked notice");
        assert_eq!(event.json()["ship-notice"]["shipment-id"], "SHP-PARKED");
        let started = Instant::now();
        while nats::count_on(&js, DLQ, "mw.acme.dlq.>").await != 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the dead letter is still there"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    host.wait_for_log("replayed the parked dead letter", Duration::from_secs(10));
}
