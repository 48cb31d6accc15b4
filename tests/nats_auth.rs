//! NATS credentials and the accounts `millwright nats-config` writes, on a real nats-server started with them:
//! the host connects with its user, a partner's allowed publish is acknowledged and its durable consumer receives
//! what was sent while it was away, and every other subject is denied.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use support::nats::{self, Host, free_port};

const HOST_PASSWORD: &str = "host-secret-7f3a";
const PARTNER_PASSWORD: &str = "allegheny-secret-19c4";

/// A nats-server run with a configuration file, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &std::path::Path, accounts: &str) -> Server {
    let port = free_port();
    std::fs::write(dir.join("accounts.conf"), accounts).expect("write accounts");
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: \"{}\" }}\ninclude \"accounts.conf\"\n",
            dir.join("store").display()
        ),
    )
    .expect("write nats.conf");
    let binary = millwright::bus::embedded::find_binary().expect("nats-server");
    let child = Command::new(binary)
        .arg("-c")
        .arg(&conf)
        .env("MILLWRIGHT_NATS_PASSWORD", HOST_PASSWORD)
        .env("ACME_ALLEGHENY_NATS_PASSWORD", PARTNER_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nats-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        url: format!("nats://127.0.0.1:{port}"),
    }
}

/// Connects as `user` (with its inbox prefix, when it has one), collecting the server's errors (permission
/// violations) as they come.
async fn connect(
    url: &str,
    user: &str,
    password: &str,
    inbox: Option<&str>,
) -> Result<(async_nats::Client, Arc<Mutex<Vec<String>>>), async_nats::ConnectError> {
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = errors.clone();
    let mut options =
        async_nats::ConnectOptions::with_user_and_password(user.into(), password.into());
    if let Some(prefix) = inbox {
        options = options.custom_inbox_prefix(prefix);
    }
    let client = options
        .event_callback(move |event| {
            let sink = sink.clone();
            async move {
                if let async_nats::Event::ServerError(err) = event {
                    sink.lock().expect("lock").push(err.to_string());
                }
            }
        })
        .connect(url)
        .await?;
    Ok((client, errors))
}

async fn denied(errors: &Arc<Mutex<Vec<String>>>, subject: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if errors.lock().expect("lock").iter().any(|e| {
            e.to_ascii_lowercase().contains("permissions violation") && e.contains(subject)
        }) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[test]
fn a_partner_publishes_to_its_sources_and_consumes_its_targets_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let plugin = support::component("x12-856-ship-notice");
    let config = nats::write_config(
        dir.path(),
        &format!(
            "[nats]\nuser = \"millwright\"\npassword = \"${{MW_NATS_PASSWORD}}\"\n\n\
             [tenants.acme.partners.allegheny]\nsources = [\"supplier-856\"]\ntargets = [\"asn-out\"]\n\n\
             [[tenants.acme.inbound]]\nsource = \"supplier-856\"\nplugin = \"{}\"\n",
            plugin.display()
        ),
    );
    let generated = Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(["nats-config", "--config"])
        .arg(&config)
        .output()
        .expect("millwright nats-config");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let accounts = String::from_utf8(generated.stdout).expect("UTF-8");
    assert!(
        !accounts.contains(PARTNER_PASSWORD) && accounts.contains("$ACME_ALLEGHENY_NATS_PASSWORD")
    );
    let server = start_server(dir.path(), &accounts);

    // The host connects with its own user (and makes the partner's durable consumer at start).
    let host = Host::start_with_env(
        &config,
        Some(&server.url),
        &dir.path().join("data"),
        &[("MW_NATS_PASSWORD", HOST_PASSWORD)],
    );
    let rt = support::runtime();
    rt.block_on(async {
        let (admin, _) = connect(&server.url, "millwright", HOST_PASSWORD, None)
            .await
            .expect("the host's user");
        let admin_js = jetstream::new(admin.clone());
        // Sent while the partner is offline: two for its target, one for another.
        for (subject, body) in [
            ("mw.acme.out.asn-out", "first"),
            ("mw.acme.out.erp", "not yours"),
            ("mw.acme.out.asn-out", "second"),
        ] {
            admin_js
                .publish(subject, body.into())
                .await
                .expect("publish")
                .await
                .expect("stored");
        }

        // A wrong password gets nowhere.
        assert!(
            connect(&server.url, "acme-allegheny", "guess", None)
                .await
                .is_err()
        );

        // Without its inbox prefix it hears no replies: its publish goes unacknowledged.
        let (stray, stray_errors) = connect(&server.url, "acme-allegheny", PARTNER_PASSWORD, None)
            .await
            .expect("the partner's user");
        let stray_js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(1))
            .build(stray.clone());
        let unheard = stray_js
            .publish("mw.acme.in.supplier-856", "x".into())
            .await
            .expect("sent")
            .await;
        assert!(unheard.is_err(), "acknowledged on an inbox it may not use");
        assert!(
            denied(&stray_errors, "_INBOX.").await,
            "{:?}",
            stray_errors.lock()
        );
        drop(stray);

        let prefix = millwright::bus::partners::inbox_prefix("acme", "allegheny");
        let (partner, errors) = connect(
            &server.url,
            "acme-allegheny",
            PARTNER_PASSWORD,
            Some(&prefix),
        )
        .await
        .expect("the partner's user");
        // Denied JetStream calls go unanswered: a short timeout keeps the test short.
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(1))
            .build(partner.clone());
        // Its publish to its source is acknowledged, and the host maps it.
        let asn = std::fs::read(
            support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
        )
        .expect("ASN");
        let ack = js
            .publish("mw.acme.in.supplier-856", asn.into())
            .await
            .expect("publish")
            .await
            .expect("acknowledged");
        assert_eq!(ack.stream, "MW_acme_IN");
        let events = nats::wait_for(
            &admin_js,
            "MW_acme_EV",
            "mw.acme.ev.ship-notice",
            1,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(events.len(), 1);

        // Its durable consumer holds what was sent while it was away, and only its target's.
        let mut reader: consumer::Consumer<consumer::pull::Config> = js
            .get_consumer_from_stream("partner-allegheny-asn-out", "MW_acme_OUT")
            .await
            .expect("its consumer");
        let mut batch = reader
            .fetch()
            .max_messages(10)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .expect("fetch");
        let mut got = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.expect("message");
            got.push(String::from_utf8_lossy(&message.payload).into_owned());
            message.double_ack().await.expect("ack confirmed");
        }
        assert_eq!(got, ["first", "second"]);
        assert_eq!(
            reader.info().await.expect("info").num_ack_pending,
            0,
            "its acks were taken"
        );

        // Everything else is denied.
        partner
            .publish("mw.acme.in.dock-856", "x".into())
            .await
            .expect("sent");
        assert!(
            denied(&errors, "mw.acme.in.dock-856").await,
            "{:?}",
            errors.lock()
        );
        partner
            .publish("mw.acme.ev.ship-notice", "x".into())
            .await
            .expect("sent");
        assert!(
            denied(&errors, "mw.acme.ev.ship-notice").await,
            "{:?}",
            errors.lock()
        );
        partner
            .publish("mw.other.in.supplier-856", "x".into())
            .await
            .expect("sent");
        assert!(
            denied(&errors, "mw.other.in.supplier-856").await,
            "{:?}",
            errors.lock()
        );
        let _sub = partner
            .subscribe("mw.acme.out.>")
            .await
            .expect("subscribe sent");
        assert!(
            denied(&errors, "mw.acme.out.>").await,
            "{:?}",
            errors.lock()
        );
        // Not the host's consumers, not a consumer of its own making, not the streams.
        assert!(
            js.get_consumer_from_stream::<consumer::pull::Config, _, _>(
                "in-supplier-856",
                "MW_acme_IN"
            )
            .await
            .is_err()
        );
        assert!(
            js.create_consumer_on_stream(
                consumer::pull::Config {
                    durable_name: Some("mine".into()),
                    filter_subject: "mw.acme.out.>".into(),
                    ..Default::default()
                },
                "MW_acme_OUT",
            )
            .await
            .is_err()
        );
        assert!(js.get_stream("MW_acme_EV").await.is_err());
        // The other target's document is still there for whoever may read it.
        assert_eq!(
            nats::count_on(&admin_js, "MW_acme_OUT", "mw.acme.out.erp").await,
            1
        );
    });
    assert!(host.terminate());
}
