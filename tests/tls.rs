//! TLS end to end, with a CA made for the test and a server certificate for 127.0.0.1 and localhost signed by it:
//! the admin API over HTTPS called by the CLI with `--ca-file` (and refused without it), delivery to an HTTPS
//! target trusted through the route's `ca`, and OAuth 2.0 client credentials against a local token endpoint.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::nats::{self, Host, NatsServer};

const DLQ: &str = "MW_acme_DLQ";

/// A CA and a server certificate it signed, as PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// A key that belongs to no certificate here.
    other_key: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Millwright test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let server_key = rcgen::KeyPair::generate().expect("server key");
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("server params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let server_cert = params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        Self {
            ca: write("ca.pem", ca_cert.pem()),
            cert: write("server.pem", server_cert.pem()),
            key: write("server.key", server_key.serialize_pem()),
            other_key: write(
                "other.key",
                rcgen::KeyPair::generate()
                    .expect("other key")
                    .serialize_pem(),
            ),
        }
    }

    fn server_config(&self) -> axum_server::tls_rustls::RustlsConfig {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(&self.cert)
            .expect("cert")
            .collect::<Result<Vec<_>, _>>()
            .expect("certs");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&self.key).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config))
    }
}

fn millwright(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(args)
        .env_remove("MILLWRIGHT_ADMIN_CA")
        .env_remove("MILLWRIGHT_ADMIN_URL")
        .output()
        .expect("millwright")
}

#[test]
fn the_admin_api_serves_https_and_the_cli_trusts_it_through_its_ca_file() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let pki = Pki::new(dir.path());
    let config = nats::write_config(dir.path(), "[tenants.acme]\n");
    let cert = pki.cert.display().to_string();
    let key = pki.key.display().to_string();
    let host = Host::start_with_args(
        &config,
        &server.url,
        &dir.path().join("data"),
        &["--admin-tls-cert", &cert, "--admin-tls-key", &key],
    );
    let url = host.admin_url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = pki.ca.display().to_string();

    let (code, stdout, stderr) =
        host.cli(&["plugin", "list", "--tenant", "acme", "--ca-file", &ca]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");

    // Without the CA the host's certificate is not trusted, and the CLI says so and what to do.
    let (code, _, stderr) = host.cli(&["plugin", "list", "--tenant", "acme"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(stderr.contains("--ca-file"), "{stderr}");

    // MILLWRIGHT_ADMIN_CA does what --ca-file does.
    let out = Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(["plugin", "list", "--tenant", "acme"])
        .env("MILLWRIGHT_ADMIN_URL", &url)
        .env("MILLWRIGHT_ADMIN_TOKEN", nats::ADMIN_TOKEN)
        .env("MILLWRIGHT_ADMIN_CA", &ca)
        .output()
        .expect("millwright");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Plain HTTP to the HTTPS port gets nothing useful.
    let (code, _, _) = host.cli(&[
        "plugin",
        "list",
        "--tenant",
        "acme",
        "--admin-url",
        &url.replace("https://", "http://"),
    ]);
    assert_ne!(code, Some(0));

    assert!(host.terminate(), "a graceful stop over HTTPS");
}

#[test]
fn a_bad_certificate_or_key_stops_serve_at_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = Pki::new(dir.path());
    let config = nats::write_config(dir.path(), "[tenants.acme]\n");
    let not_pem = dir.path().join("not-pem.pem");
    std::fs::write(&not_pem, "this is not a certificate").expect("write");
    let missing = dir.path().join("missing.pem");
    let serve = |cert: &Path, key: &Path| {
        millwright(&[
            "serve",
            "--config",
            &config.display().to_string(),
            "--nats-url",
            "nats://127.0.0.1:1",
            "--data-dir",
            &dir.path().join("data").display().to_string(),
            "--admin-addr",
            "127.0.0.1:0",
            "--admin-tls-cert",
            &cert.display().to_string(),
            "--admin-tls-key",
            &key.display().to_string(),
        ])
    };
    for (cert, key, named, says) in [
        (&missing, &pki.key, &missing, "reading"),
        (&not_pem, &pki.key, &not_pem, "no PEM certificate"),
        (&pki.cert, &not_pem, &not_pem, "not PEM"),
        (&pki.cert, &pki.other_key, &pki.other_key, "cannot serve"),
    ] {
        let out = serve(cert, key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&named.display().to_string()) && stderr.contains(says),
            "{says} naming {}: {stderr}",
            named.display()
        );
    }
    // The file's [admin] table needs both.
    let config = nats::write_config(dir.path(), "[admin]\ntls_cert = \"server.pem\"\n");
    let out = millwright(&[
        "serve",
        "--config",
        &config.display().to_string(),
        "--nats-url",
        "nats://127.0.0.1:1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("tls_key"), "{stderr}");
}

/// What the test's target saw.
#[derive(Debug, Default)]
struct Target {
    /// The Authorization header of each document received.
    documents: Vec<Option<String>>,
    /// The other headers of each, as (name, value).
    headers: Vec<Vec<(String, String)>>,
    /// Token requests with the right credentials, and with wrong ones.
    token_requests: usize,
    refused_token_requests: usize,
    /// Documents refused with 401.
    unauthorized: usize,
    /// The last token issued, and tokens the target no longer takes.
    issued: Option<String>,
    revoked: Vec<String>,
    /// The `expires_in` of the next token issued.
    lifetime: u64,
}

type Shared = Arc<Mutex<Target>>;

/// An HTTPS server with the test CA's certificate: `/receipts` takes documents (checking the bearer token when
/// `/token` has issued one), `/token` is an OAuth token endpoint for `erp-client` / `erp-secret`.
async fn https_target(pki: &Pki) -> (u16, Shared) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    let shared: Shared = Arc::new(Mutex::new(Target {
        lifetime: 3600,
        ..Target::default()
    }));
    async fn receive(State(shared): State<Shared>, headers: HeaderMap) -> StatusCode {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut target = shared.lock().expect("lock");
        if let Some(token) = auth.as_deref().and_then(|a| a.strip_prefix("Bearer "))
            && token.starts_with("tok-")
            && (target.revoked.iter().any(|r| r == token)
                || target.issued.as_deref() != Some(token))
        {
            target.unauthorized += 1;
            return StatusCode::UNAUTHORIZED;
        }
        target.documents.push(auth);
        target.headers.push(
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
        );
        StatusCode::CREATED
    }
    async fn token(
        State(shared): State<Shared>,
        headers: HeaderMap,
        body: String,
    ) -> (StatusCode, String) {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("erp-client:erp-secret")
        );
        let mut target = shared.lock().expect("lock");
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
            || !body.contains("grant_type=client_credentials")
            || !body.contains("scope=receipts")
        {
            target.refused_token_requests += 1;
            return (
                StatusCode::UNAUTHORIZED,
                r#"{"error":"invalid_client"}"#.into(),
            );
        }
        target.token_requests += 1;
        let token = format!("tok-{}", target.token_requests);
        target.issued = Some(token.clone());
        (
            StatusCode::OK,
            serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": target.lifetime})
                .to_string(),
        )
    }
    let app = axum::Router::new()
        .route("/receipts", axum::routing::post(receive))
        .route("/token", axum::routing::post(token))
        .with_state(shared.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let server = axum_server::from_tcp_rustls(listener, pki.server_config()).expect("server");
    tokio::spawn(async move {
        let _ = server.serve(app.into_make_service()).await;
    });
    (port, shared)
}

fn asn(shipment: &str) -> Vec<u8> {
    std::fs::read_to_string(
        support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
    )
    .expect("quickstart ASN")
    .replace("SHP-240611-07", shipment)
    .into_bytes()
}

/// Tenant acme: the quickstart's 856 inbound, and `outbound` (route tables naming their target).
fn config(dir: &Path, outbound: &str) -> PathBuf {
    let units = support::root().join("examples/quickstart/master-data/units.csv");
    nats::write_config(
        dir,
        &format!(
            r#"
[tenants.acme]
lookups = {{ units = "{units}" }}

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "{inbound}"
config = {{ timezone = "America/New_York" }}
{outbound}
"#,
            units = units.display(),
            inbound = support::component("x12-856-ship-notice").display(),
        ),
    )
}

fn outbound_route(name: &str, target: &str) -> String {
    format!(
        r#"
[[tenants.acme.outbound]]
name = "{name}"
events = ["ship-notice"]
plugin = "{plugin}"
target = {target}
max_attempts = 2
backoff = "100ms"
"#,
        plugin = support::component("erp-expected-receipt").display()
    )
}

async fn wait_for_documents(shared: &Shared, count: usize) {
    let started = Instant::now();
    loop {
        let received = shared.lock().expect("lock").documents.len();
        if received >= count {
            // Let any extra one show itself.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{received} of {count} documents arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn delivery_reaches_an_https_target_trusted_through_the_routes_ca() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let pki = Pki::new(dir.path());
    let rt = support::runtime();
    let (port, shared) = rt.block_on(https_target(&pki));
    let config = config(
        dir.path(),
        &format!(
            "{}{}",
            // `ca` relative to the configuration file.
            outbound_route(
                "erp",
                &format!(
                    r#"{{ url = "https://localhost:{port}/receipts", ca = "ca.pem", headers = {{ Authorization = "Bearer fixed" }} }}"#
                )
            ),
            outbound_route(
                "untrusting",
                &format!(r#"{{ url = "https://127.0.0.1:{port}/receipts" }}"#)
            ),
        ),
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let (_client, js) = rt.block_on(server.client());
    rt.block_on(async {
        nats::publish(
            &js,
            "mw.acme.in.supplier-856",
            &[("Mw-Correlation-Id", "over-tls")],
            asn("SHP-TLS-1"),
        )
        .await;
        wait_for_documents(&shared, 1).await;
        {
            let target = shared.lock().expect("lock");
            assert_eq!(
                target.documents,
                [Some("Bearer fixed".to_string())],
                "delivered once, with its fixed header"
            );
            let header = |name: &str| -> Vec<&str> {
                target.headers[0]
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect()
            };
            // As over plain HTTP: the message's headers, and the business fact's own idempotency key alone.
            assert_eq!(header("mw-correlation-id"), ["over-tls"]);
            assert_eq!(
                header("idempotency-key"),
                ["ALLEGHENYCOIL:000000907:907:0001"]
            );
            assert!(header("mw-plugin")[0].starts_with("erp-expected-receipt@"));
        }
        // The route without the CA cannot trust the target: its document is dead-lettered saying so.
        let letters = nats::wait_for(
            &js,
            DLQ,
            "mw.acme.dlq.untrusting",
            1,
            Duration::from_secs(60),
        )
        .await;
        let reason = letters[0].header("Mw-Error").unwrap_or_default();
        assert!(reason.contains("not trusted"), "{reason}");
        assert_eq!(letters[0].header("Mw-Error-Class"), Some("delivery-failed"));
        assert_eq!(nats::count_on(&js, DLQ, "mw.acme.dlq.erp").await, 0);
    });
    assert!(host.terminate());
}

#[test]
fn oauth_client_credentials_fetch_a_token_once_again_on_expiry_and_once_on_a_401() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let pki = Pki::new(dir.path());
    let rt = support::runtime();
    let (port, shared) = rt.block_on(https_target(&pki));
    let oauth = |secret: &str| {
        format!(
            r#"{{ url = "https://localhost:{port}/receipts", ca = "ca.pem", oauth = {{ token_url = "https://localhost:{port}/token", client_id = "erp-client", client_secret = "${{{secret}}}", scope = "receipts" }} }}"#
        )
    };
    let config = config(
        dir.path(),
        &format!(
            "{}{}",
            outbound_route("erp", &oauth("ERP_SECRET")),
            outbound_route("wrong", &oauth("WRONG_SECRET")),
        ),
    );
    let host = Host::start_with_env(
        &config,
        Some(&server.url),
        &dir.path().join("data"),
        &[
            ("ERP_SECRET", "erp-secret"),
            ("WRONG_SECRET", "not-the-secret-7731"),
        ],
    );
    let (_client, js) = rt.block_on(server.client());
    let publish = |shipment: String| {
        let js = js.clone();
        async move {
            nats::publish(
                &js,
                "mw.acme.in.supplier-856",
                &[("Mw-Correlation-Id", shipment.as_str())],
                asn(&shipment),
            )
            .await;
        }
    };
    rt.block_on(async {
        // The route with the wrong secret dead-letters (after its retries), naming the token URL, never the secret.
        publish("SHP-OAUTH-0".into()).await;
        let letters =
            nats::wait_for(&js, DLQ, "mw.acme.dlq.wrong", 1, Duration::from_secs(60)).await;
        let reason = letters[0].header("Mw-Error").unwrap_or_default();
        assert!(
            reason.contains(&format!("https://localhost:{port}/token")),
            "{reason}"
        );
        assert!(reason.contains("401"), "{reason}");
        assert!(!reason.contains("not-the-secret-7731"), "{reason}");
        assert_eq!(letters[0].header("Mw-Error-Class"), Some("delivery-failed"));
        assert_eq!(letters[0].header("Mw-Attempts"), Some("2"));
        wait_for_documents(&shared, 1).await;
        assert!(shared.lock().expect("lock").refused_token_requests >= 2);

        // Many documents, one token.
        for n in 1..=5 {
            publish(format!("SHP-OAUTH-{n}")).await;
        }
        wait_for_documents(&shared, 6).await;
        {
            let target = shared.lock().expect("lock");
            assert_eq!(
                target.documents,
                vec![Some("Bearer tok-1".to_string()); 6],
                "one token for all"
            );
            assert_eq!(target.token_requests, 1, "one token request");
        }

        // The target stops taking the token: one 401, one new token, the document delivered with it.
        {
            let mut target = shared.lock().expect("lock");
            target.revoked.push("tok-1".into());
            target.lifetime = 2;
        }
        publish("SHP-OAUTH-6".into()).await;
        wait_for_documents(&shared, 7).await;
        {
            let target = shared.lock().expect("lock");
            assert_eq!(target.unauthorized, 1, "one 401");
            assert_eq!(target.token_requests, 2, "one new token, after the 401");
            assert_eq!(target.documents[6].as_deref(), Some("Bearer tok-2"));
        }

        // That token lives 2 s (used until 1.8 s): after it, the next document fetches another, with no 401.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        publish("SHP-OAUTH-7".into()).await;
        wait_for_documents(&shared, 8).await;
        let target = shared.lock().expect("lock");
        assert_eq!(
            target.unauthorized, 1,
            "no 401: the expired token was not sent"
        );
        assert_eq!(target.token_requests, 3, "one new token after expiry");
        assert_eq!(target.documents[7].as_deref(), Some("Bearer tok-3"));
        assert_eq!(target.documents.len(), 8, "each document once");
    });
    assert!(
        !host.log().contains("not-the-secret-7731") && !host.log().contains("erp-secret"),
        "no secret in the log"
    );
    assert!(host.terminate());
}
