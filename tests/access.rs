//! Tokens, roles and the audit log against a real nats-server and the real binary: every operation of the
//! OpenAPI document called with every kind of token, a fleet of two hosts honouring a revocation, partners
//! confined to their slots, and the audit log read as each role may.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::api::Api;
use support::nats::{self, ADMIN_TOKEN, Host, NatsServer};

/// Tenants acme and other; acme's inbound route runs slot `supplier-856`, seeded from the file, and its outbound
/// one slot `erp-out`'s neighbour; other has one route of its own.
fn config(dir: &Path) -> std::path::PathBuf {
    let plugin = support::component("x12-856-ship-notice");
    nats::write_config(
        dir,
        &format!(
            "[tenants.acme]\nlookups = {{ units = \"{units}\" }}\n\n\
             [[tenants.acme.inbound]]\nsource = \"supplier-856\"\nplugin = \"{plugin}\"\n\n\
             [[tenants.acme.inbound]]\nsource = \"dock-856\"\nslot = \"dock-856\"\nplugin = \"{plugin}\"\n\n\
             [[tenants.other.inbound]]\nsource = \"supplier-856\"\nplugin = \"{plugin}\"\n",
            units = support::root()
                .join("examples/quickstart/master-data/units.csv")
                .display(),
            plugin = plugin.display()
        ),
    )
}

fn client() -> reqwest::Client {
    millwright::http_client::builder(None)
        .expect("TLS settings")
        .build()
        .expect("client")
}

/// Makes a token with the bootstrap token; its secret.
async fn token(api: &Api, body: Value) -> String {
    let (status, created) = api.post_json("/v1/tokens", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {created}");
    created["token"].as_str().expect("the token").to_string()
}

/// Calls `method path` with `token` (none when empty) and a JSON body for writes; the status and body.
async fn call(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    method: Method,
    path: &str,
) -> (StatusCode, Value) {
    let mut request = http.request(method.clone(), format!("{url}{path}"));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if method == Method::POST || method == Method::PUT {
        request = request.json(&json!({}));
    }
    let response = request.send().await.expect("admin API");
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Which kinds of token may call each operation, written out here by hand so the test does not read the policy
/// it checks. `P` platform admin, `A` tenant admin of acme, `p` partner of acme for `supplier-856`, `q` partner
/// of acme for another slot, `v` viewer of acme, `V` viewer of every tenant, `o` tenant admin of other.
fn allowed(method: &str, template: &str) -> Option<&'static str> {
    Some(match (method, template) {
        ("get", "/v1/tenants") => "PAvVo",
        ("get", "/v1/tenants/{tenant}") => "PAvV",
        ("get", "/v1/tenants/{tenant}/plugins") => "PApqvV",
        ("get", "/v1/tenants/{tenant}/plugins/{slot}") => "PApvV",
        ("get", "/v1/tenants/{tenant}/plugins/{slot}/versions/{sha256}") => "PApvV",
        ("post", "/v1/tenants/{tenant}/plugins/{slot}/versions")
        | ("post", "/v1/tenants/{tenant}/plugins/{slot}/activate")
        | ("post", "/v1/tenants/{tenant}/plugins/{slot}/rollback") => "PAp",
        ("delete", "/v1/tenants/{tenant}/plugins/{slot}/versions/{sha256}") => "PA",
        ("get", "/v1/tenants/{tenant}/dead-letters")
        | ("get", "/v1/tenants/{tenant}/dead-letters/{sequence}") => "PApqvV",
        ("get", t) if t.starts_with("/v1/tenants/{tenant}/") => "PAvV",
        (_, t) if t.starts_with("/v1/tenants/{tenant}/") => "PA",
        // A tenant admin manages its own tenant's tokens and reads its own audit log, whichever tenant.
        ("post", "/v1/tokens") | ("get", "/v1/tokens") | ("delete", "/v1/tokens/{id}") => "PAo",
        ("get", "/v1/audit") => "PAo",
        _ => return None,
    })
}

/// The path with its parameters filled in for tenant acme.
fn concrete(template: &str) -> String {
    template
        .replace("{tenant}", "acme")
        .replace("{slot}", "supplier-856")
        .replace("{sha256}", &"0".repeat(64))
        .replace("{sequence}", "1")
        .replace("{name}", "supplier-856")
        .replace("{table}", "units")
        .replace("{lot}", "L1")
        .replace("{id}", "tok_0000000000000000")
        .replace("{key}", "po:1")
}

#[test]
fn every_operation_answers_each_role_as_the_matrix_says() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(&config(dir.path()), &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    let url = host.admin_url();
    let http = client();
    support::runtime().block_on(async {
        let mut tokens: Vec<(char, String)> = vec![('P', ADMIN_TOKEN.to_string())];
        for (kind, body) in [
            ('A', json!({"name": "acme admin", "role": "tenant-admin", "tenant": "acme"})),
            ('p', json!({"name": "supplier a", "role": "partner", "tenant": "acme", "slots": ["supplier-856"]})),
            ('q', json!({"name": "dock", "role": "partner", "tenant": "acme", "slots": ["dock-856"]})),
            ('v', json!({"name": "plant staff", "role": "viewer", "tenant": "acme"})),
            ('V', json!({"name": "dashboards", "role": "viewer"})),
            ('o', json!({"name": "other admin", "role": "tenant-admin", "tenant": "other"})),
        ] {
            tokens.push((kind, token(&api, body).await));
        }
        // Tokens that must get 401 everywhere: none, garbage, revoked, expired.
        let revoked = token(&api, json!({"name": "gone", "role": "tenant-admin", "tenant": "acme"})).await;
        let listed = api.get("/v1/tokens").await.1;
        let id = listed
            .as_array()
            .expect("tokens")
            .iter()
            .find(|t| t["name"] == "gone")
            .and_then(|t| t["id"].as_str())
            .expect("the revoked token's id")
            .to_string();
        let (status, _) = api
            .call(api.http.delete(format!("{url}/v1/tokens/{id}")))
            .await;
        assert_eq!(status, StatusCode::OK);
        let expired = token(&api, json!({"name": "short", "role": "viewer", "expires": "1s"})).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let refused = [
            String::new(),
            "mwt_garbage".to_string(),
            revoked.clone(),
            expired.clone(),
        ];

        let (_, doc) = api.get("/v1/openapi.json").await;
        let paths = doc["paths"].as_object().expect("paths");
        let mut unlisted = Vec::new();
        let mut checked = 0;
        for (template, item) in paths {
            let methods: Vec<&str> = item
                .as_object()
                .expect("path item")
                .keys()
                .map(String::as_str)
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(m))
                .collect();
            // The server answers no method the document does not list.
            for other in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                if methods.contains(&other.to_ascii_lowercase().as_str()) {
                    continue;
                }
                let method = Method::from_bytes(other.as_bytes()).expect("method");
                let (status, _) = call(&http, &url, ADMIN_TOKEN, method, &concrete(template)).await;
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{other} {template}");
            }
            if !template.starts_with("/v1/") {
                continue; // the open probes
            }
            for method in methods {
                let Some(kinds) = allowed(method, template) else {
                    unlisted.push(format!("{method} {template}"));
                    continue;
                };
                let verb = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
                let path = concrete(template);
                for (kind, secret) in &tokens {
                    let (status, body) = call(&http, &url, secret, verb.clone(), &path).await;
                    if kinds.contains(*kind) {
                        assert!(
                            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                            "token {kind} must be let through {method} {path}: {status} {body}"
                        );
                    } else {
                        assert_eq!(
                            status,
                            StatusCode::FORBIDDEN,
                            "token {kind} must be refused {method} {path}: {body}"
                        );
                        assert_eq!(body["error"]["code"], "forbidden", "{body}");
                    }
                    checked += 1;
                }
                for secret in &refused {
                    let (status, body) = call(&http, &url, secret, verb.clone(), &path).await;
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
                }
            }
        }
        assert!(
            unlisted.is_empty(),
            "operations the authorization matrix does not name (add them to `allowed`): {unlisted:?}"
        );
        assert!(checked > 200, "only {checked} calls checked");

        // Beside the document the server answers only the document itself; anything else is a JSON 404.
        let (status, _) = call(&http, &url, "", Method::GET, "/v1/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        for path in ["/v1/admin", "/v1/tenants/acme/secrets", "/metrics.json", "/v2/tenants"] {
            let (status, body) = call(&http, &url, ADMIN_TOKEN, Method::GET, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }

        // The refusals say why, and no token reaches the log.
        let (_, body) = call(&http, &url, &revoked, Method::GET, "/v1/tenants").await;
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| m.contains("revoked")),
            "{body}"
        );
        let (_, body) = call(&http, &url, &expired, Method::GET, "/v1/tenants").await;
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| m.contains("expired")),
            "{body}"
        );
        let log = host.log();
        for (_, secret) in &tokens {
            assert!(!log.contains(secret.as_str()), "a token was written to the log");
        }
    });
    assert!(host.terminate());
}

#[test]
fn a_fleet_knows_a_new_token_at_once_and_refuses_a_revoked_one_within_a_second() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path());
    let one = Host::start(&config, &server.url, &dir.path().join("one"));
    let two = Host::start(&config, &server.url, &dir.path().join("two"));
    let (code, out, err) = one.cli(&[
        "token",
        "create",
        "--role",
        "viewer",
        "--tenant",
        "acme",
        "--name",
        "plant staff",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let created: Value = serde_json::from_str(&out).expect("JSON");
    let secret = created["token"].as_str().expect("token").to_string();
    let id = created["id"].as_str().expect("id").to_string();
    assert!(
        secret.starts_with("mwt_") && secret.len() == 4 + 64,
        "{secret}"
    );
    assert_eq!(created["role"], "viewer");

    let as_viewer = |host: &Host, args: &[&str]| host.cli_as(&secret, args);
    // The other host knows it at once, and lets it read but not write.
    let (code, out, err) = as_viewer(&two, &["plugin", "list", "--tenant", "acme"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("supplier-856"), "{out}");
    let (code, _, err) = as_viewer(&two, &["rules", "reset", "--tenant", "acme"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("viewer") && err.contains("forbidden"), "{err}");
    let (code, _, err) = as_viewer(&two, &["alerts", "list", "--tenant", "other"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("forbidden"), "{err}");

    // Revoked on one host, refused by the other within a second.
    let (code, out, err) = one.cli(&["token", "revoke", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&id), "{out}");
    let revoked_at = Instant::now();
    let api = format!("{}/v1/tenants", two.admin_url());
    let refused_in = support::runtime().block_on(async {
        let http = client();
        loop {
            let status = http
                .get(&api)
                .bearer_auth(&secret)
                .send()
                .await
                .expect("admin API")
                .status();
            if status == StatusCode::UNAUTHORIZED {
                return revoked_at.elapsed();
            }
            assert!(
                revoked_at.elapsed() < Duration::from_secs(5),
                "still let in"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(refused_in < Duration::from_secs(1), "{refused_in:?}");
    let (code, out, _) = one.cli(&["token", "list"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(&id) && out.contains("revoked"), "{out}");
    assert!(!one.log().contains(&secret) && !two.log().contains(&secret));
    assert!(one.terminate());
    assert!(two.terminate());
}

#[test]
fn a_partner_works_its_own_slots_and_every_change_is_audited() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(&config(dir.path()), &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    let rt = support::runtime();
    let (partner, acme_admin) = rt.block_on(async {
        (
            token(&api, json!({"name": "supplier-a", "role": "partner", "tenant": "acme", "slots": ["supplier-856"]})).await,
            token(&api, json!({"name": "acme-it", "role": "tenant-admin", "tenant": "acme"})).await,
        )
    });
    let run = |secret: &str, args: &[&str]| host.cli_as(secret, args);
    // Another build of the seeded plugin (other bytes, so a new version).
    let plugin = dir.path().join("supplier-856-v2.wasm");
    let seeded = std::fs::read(support::component("x12-856-ship-notice")).expect("plugin");
    std::fs::write(
        &plugin,
        millwright::cli::bench::swap::build_variant(&seeded, 1),
    )
    .expect("write");
    let plugin = plugin.to_str().expect("path");
    // The partner uploads to its slot; the version records who.
    let (code, _, err) = run(
        &partner,
        &[
            "plugin",
            "push",
            plugin,
            "--tenant",
            "acme",
            "--slot",
            "supplier-856",
            "--no-shadow",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&partner, &["plugin", "list", "--tenant", "acme", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let slots: Value = serde_json::from_str(&out).expect("JSON");
    let names: BTreeSet<&str> = slots
        .as_array()
        .expect("slots")
        .iter()
        .filter_map(|s| s["slot"].as_str())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["supplier-856"]),
        "a partner lists its own slots"
    );
    assert!(out.contains("supplier-a (partner)"), "{out}");
    // Not another slot, not another tenant, not a route.
    for args in [
        vec![
            "plugin",
            "push",
            plugin,
            "--tenant",
            "acme",
            "--slot",
            "dock-856",
            "--no-shadow",
        ],
        vec![
            "plugin",
            "push",
            plugin,
            "--tenant",
            "other",
            "--slot",
            "supplier-856",
            "--no-shadow",
        ],
        vec!["rules", "show", "--tenant", "acme"],
        vec!["token", "create", "--role", "viewer", "--tenant", "acme"],
    ] {
        let (code, _, err) = run(&partner, &args);
        assert_ne!(code, Some(0), "{args:?}");
        assert!(err.contains("forbidden"), "{args:?}: {err}");
    }
    // Its dead letters are its routes' only: a broken document on each route, one each dead-lettered.
    rt.block_on(async {
        let (_, js) = server.client().await;
        for source in ["supplier-856", "dock-856"] {
            nats::publish(
                &js,
                &format!("mw.acme.in.{source}"),
                &[],
                b"not an interchange".to_vec(),
            )
            .await;
        }
        nats::wait_for(
            &js,
            "MW_acme_DLQ",
            "mw.acme.dlq.>",
            2,
            Duration::from_secs(30),
        )
        .await;
    });
    let (code, out, err) = run(&partner, &["dlq", "list", "--tenant", "acme", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let letters: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(letters.len(), 1, "{out}");
    assert_eq!(letters[0]["route"], "supplier-856");
    let (code, out, _) = run(ADMIN_TOKEN, &["dlq", "list", "--tenant", "acme", "--json"]);
    assert_eq!(code, Some(0));
    let dock = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .find(|l| l["route"] == "dock-856")
        .expect("the dock route's dead letter");
    let sequence = dock["id"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .expect("id");
    let (status, _) = rt.block_on(call(
        &client(),
        &host.admin_url(),
        &partner,
        Method::GET,
        &format!("/v1/tenants/acme/dead-letters/{sequence}"),
    ));
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another route's dead letter is not there for it"
    );

    // A tenant admin makes a viewer of its tenant, not of another, and not a tenant admin.
    let (code, _, err) = run(
        &acme_admin,
        &["token", "create", "--role", "viewer", "--tenant", "acme"],
    );
    assert_eq!(code, Some(0), "{err}");
    for args in [
        vec!["token", "create", "--role", "viewer", "--tenant", "other"],
        vec![
            "token",
            "create",
            "--role",
            "tenant-admin",
            "--tenant",
            "acme",
        ],
    ] {
        let (code, _, err) = run(&acme_admin, &args);
        assert_ne!(code, Some(0), "{args:?}");
        assert!(err.contains("forbidden"), "{args:?}: {err}");
    }

    // The audit log: the platform admin reads everything, acme's admin its tenant's, a partner nothing.
    let (code, out, err) = run(ADMIN_TOKEN, &["audit", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let records: Vec<Value> = serde_json::from_str(&out).expect("JSON");
    let find = |who: &str, method: &str, path: &str, outcome: &str| {
        records.iter().any(|r| {
            r["who"] == who && r["method"] == method && r["path"] == path && r["outcome"] == outcome
        })
    };
    assert!(
        find(
            "supplier-a (partner)",
            "POST",
            "/v1/tenants/acme/plugins/supplier-856/versions",
            "done"
        ),
        "{out}"
    );
    assert!(
        find(
            "supplier-a (partner)",
            "POST",
            "/v1/tenants/acme/plugins/dock-856/versions",
            "refused"
        ),
        "{out}"
    );
    assert!(
        find("platform-admin", "POST", "/v1/tokens", "done"),
        "{out}"
    );
    let (code, out, err) = run(&acme_admin, &["audit", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let own: Vec<Value> = serde_json::from_str(&out).expect("JSON");
    assert!(!own.is_empty());
    assert!(own.iter().all(|r| r["tenant"] == "acme"), "{out}");
    let (code, _, err) = run(&acme_admin, &["audit", "--tenant", "other"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("forbidden"), "{err}");
    let (code, _, err) = run(&partner, &["audit"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("forbidden"), "{err}");
    assert!(host.terminate());
}

#[test]
fn a_tenants_quotas_bound_what_the_api_takes_and_a_refusal_names_the_quota() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let plugin = support::component("x12-856-ship-notice");
    let config = nats::write_config(
        dir.path(),
        &format!(
            "[tenants.acme]\nlookups = {{ units = \"{units}\" }}\n\n\
             [tenants.acme.quotas]\nplugin_size_mb = 1\nversions_per_slot = 2\nmemory_mb = 128\nworkers = 3\nlookup_size_mb = 1\n\n\
             [[tenants.acme.inbound]]\nsource = \"supplier-856\"\nplugin = \"{plugin}\"\nworkers = 2\n",
            units = support::root()
                .join("examples/quickstart/master-data/units.csv")
                .display(),
            plugin = plugin.display()
        ),
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    let seeded = std::fs::read(&plugin).expect("plugin");
    let variant = |n| millwright::cli::bench::swap::build_variant(&seeded, n);
    support::runtime().block_on(async {
        let over = |body: &Value, quota: &str| {
            assert_eq!(body["error"]["code"], "over_quota", "{body}");
            assert!(
                body["error"]["message"].as_str().is_some_and(|m| m.contains(quota)),
                "{body}"
            );
        };
        // Routes: more memory, or more workers for the tenant, than its quotas allow.
        let (status, body) = api
            .post_json(
                "/v1/tenants/acme/routes",
                json!({"name": "dock", "direction": "inbound", "source": "dock-856", "slot": "supplier-856", "memory_mb": 256}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        over(&body, "quotas.memory_mb");
        let (status, body) = api
            .post_json(
                "/v1/tenants/acme/routes",
                json!({"name": "dock", "direction": "inbound", "source": "dock-856", "slot": "supplier-856", "workers": 2}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        over(&body, "quotas.workers");
        let (status, body) = api
            .post_json(
                "/v1/tenants/acme/routes",
                json!({"name": "dock", "direction": "inbound", "source": "dock-856", "slot": "supplier-856", "workers": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // Versions: the seeded one and one more; the third is refused until one is deleted.
        let (status, body) = api.upload("acme", "supplier-856", variant(1), "shadow=false").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = api.upload("acme", "supplier-856", variant(2), "shadow=false").await;
        assert_eq!(status, StatusCode::CONFLICT);
        over(&body, "quotas.versions_per_slot");
        // A plugin over the size quota is refused before anything else.
        let (status, body) = api
            .upload("acme", "supplier-856", vec![0u8; (1 << 20) + 1], "shadow=false")
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        over(&body, "quotas.plugin_size_mb");
        let versions = api.get("/v1/tenants/acme/plugins/supplier-856").await.1;
        assert_eq!(versions["versions"].as_array().map(Vec::len), Some(2), "nothing kept");

        // A table over the lookup quota.
        let mut table = String::from("x12,rec20\n");
        while table.len() <= 1 << 20 {
            table.push_str("AB,CDE\n");
        }
        let (status, body) = api
            .call(
                api.http
                    .put(format!("{}/v1/tenants/acme/lookups/units", api.url))
                    .header("content-type", "text/csv")
                    .body(table),
            )
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        over(&body, "quotas.lookup_size_mb");
    });
    assert!(host.terminate());
}
