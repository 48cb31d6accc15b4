//! The contract's two published versions served side by side: plugins built against `millwright:adapter@0.1.0`
//! (before control numbers and the fields 0.2.0 added) keep running unchanged beside 0.2.0 plugins, in one host,
//! inbound and outbound; and the numbers `sequences.next` hands out are unique across hosts and the same for an
//! input delivered again.

mod support;

use std::sync::Arc;
use std::time::Duration;

use millwright::bus::sequences::JetStreamSequences;
use millwright::host_api::Sequences;
use support::nats::{self, Host, NatsServer};

fn millwright(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(args)
        .output()
        .expect("run millwright")
}

#[test]
fn plugin_test_names_the_contract_each_plugin_was_built_against() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("note.txt");
    std::fs::write(&input, "dock door 4 jammed\n").expect("write");
    let legacy = support::component("test-contract-0-1");
    let out = millwright(&[
        "plugin",
        "test",
        legacy.to_str().expect("utf-8"),
        input.to_str().expect("utf-8"),
        "--tenant",
        "acme",
        "--source",
        "legacy",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("contract 0.1.0"), "{stderr}");
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let exception = &events[0]["exception"];
    assert_eq!(exception["message"], "dock door 4 jammed");
    assert_eq!(exception["kind"], "contract-0.1");
    // A field 0.2.0 added reads as absent, the host's own (tenant, correlation id) are filled in as for any plugin.
    assert_eq!(exception["concerns"], serde_json::Value::Null);
    assert_eq!(exception["header"]["tenant"], "acme");

    let current = support::component("qms-quality-json");
    let hold = support::root().join("plugins/qms-quality-json/tests/hold-l240610-r07.json");
    let out = millwright(&[
        "plugin",
        "test",
        current.to_str().expect("utf-8"),
        hold.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("contract 0.2.0"), "{stderr}");
}

#[test]
fn one_host_serves_plugins_of_both_contracts_inbound_and_outbound() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let config = nats::write_config(
        dir.path(),
        &format!(
            r#"
[tenants.acme]

[[tenants.acme.inbound]]
source = "legacy"
plugin = "{legacy_in}"

[[tenants.acme.inbound]]
source = "qms"
plugin = "{qms}"

[[tenants.acme.outbound]]
name = "legacy-out"
events = ["exception", "quality-hold"]
plugin = "{legacy_out}"
target = {{ subject = "legacy-out" }}
"#,
            legacy_in = support::component("test-contract-0-1").display(),
            qms = support::component("qms-quality-json").display(),
            legacy_out = support::component("test-contract-0-1-outbound").display(),
        ),
    );
    let host = Host::start(&config, &server.url, &dir.path().join("data"));
    let rt = support::runtime();
    rt.block_on(async {
        let (_client, js) = server.client().await;
        // A 0.1.0 inbound plugin's event, published as a 0.2.0 event.
        nats::publish(&js, "mw.acme.in.legacy", &[], b"line 2 stopped".to_vec()).await;
        // A 0.2.0 plugin's event with a field 0.1.0 does not have (`decided-by`), rendered by a 0.1.0 plugin.
        let hold = std::fs::read(
            support::root().join("plugins/qms-quality-json/tests/hold-l240610-r07.json"),
        )
        .expect("the QMS fixture");
        nats::publish(&js, "mw.acme.in.qms", &[], hold).await;

        let events = nats::wait_for(
            &js,
            "MW_acme_EV",
            "mw.acme.ev.>",
            2,
            Duration::from_secs(60),
        )
        .await;
        let exception = events
            .iter()
            .map(nats::Stored::json)
            .find(|e| e.get("exception").is_some())
            .expect("the 0.1.0 plugin's exception");
        assert_eq!(exception["exception"]["message"], "line 2 stopped");
        assert_eq!(exception["exception"]["concerns"], serde_json::Value::Null);
        let hold = events
            .iter()
            .map(nats::Stored::json)
            .find(|e| e.get("quality-hold").is_some())
            .expect("the 0.2.0 plugin's hold");
        assert_eq!(
            hold["quality-hold"]["decided-by"],
            "J. Kowalski (jkowalski)"
        );

        let out = nats::wait_for(
            &js,
            "MW_acme_OUT",
            "mw.acme.out.legacy-out",
            2,
            Duration::from_secs(60),
        )
        .await;
        let mut rendered: Vec<String> = out
            .iter()
            .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
            .collect();
        rendered.sort();
        assert!(rendered[0].starts_with("exception "), "{rendered:?}");
        assert!(rendered[0].ends_with(" for legacy-out"), "{rendered:?}");
        assert!(rendered[1].starts_with("quality-hold "), "{rendered:?}");
        assert_eq!(
            nats::count_on(&js, "MW_acme_DLQ", "mw.acme.dlq.>").await,
            0,
            "nothing dead-lettered"
        );
    });
    assert!(host.terminate());
}

#[test]
fn sequences_are_unique_across_hosts_and_the_same_for_an_input_delivered_again() {
    let server = NatsServer::start();
    let rt = support::runtime();
    let (first, second) = rt.block_on(async {
        let (_client, js) = server.client().await;
        let first = JetStreamSequences::open(&js, Duration::from_secs(3600))
            .await
            .expect("open");
        let second = JetStreamSequences::open(&js, Duration::from_secs(3600))
            .await
            .expect("open");
        (Arc::new(first), Arc::new(second))
    });
    // Plugins call from threads of their own; two "hosts" draw 50 numbers each at the same time.
    let draw = |sequences: Arc<JetStreamSequences>, host: &'static str| {
        std::thread::spawn(move || {
            (0..50)
                .map(|i| {
                    sequences
                        .number(
                            "acme",
                            "x12-interchange:ZZ/BRIGHTWIRE",
                            &format!("{host}-input-{i}#1"),
                            999_999_999,
                        )
                        .expect("a number")
                })
                .collect::<Vec<u64>>()
        })
    };
    let a = draw(first.clone(), "a");
    let b = draw(second.clone(), "b");
    let mut all: Vec<u64> = a
        .join()
        .expect("a")
        .into_iter()
        .chain(b.join().expect("b"))
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=100).collect::<Vec<u64>>(),
        "every number once, none skipped"
    );

    // The same input's call, asked again on the other host, gets its number back.
    let again = second
        .number(
            "acme",
            "x12-interchange:ZZ/BRIGHTWIRE",
            "a-input-7#1",
            999_999_999,
        )
        .expect("a number");
    let original = first
        .number(
            "acme",
            "x12-interchange:ZZ/BRIGHTWIRE",
            "a-input-7#1",
            999_999_999,
        )
        .expect("a number");
    assert_eq!(again, original);
    assert!(again <= 100);

    // Another partner's sequence and another tenant's start from 1; past `max` a sequence starts again at 1.
    assert_eq!(
        first
            .number("acme", "x12-interchange:ZZ/OTHER", "x#1", 3)
            .expect("n"),
        1
    );
    assert_eq!(
        first
            .number("globex", "x12-interchange:ZZ/BRIGHTWIRE", "x#1", 9)
            .expect("n"),
        1
    );
    assert_eq!(
        first
            .number("acme", "x12-interchange:ZZ/OTHER", "y#1", 3)
            .expect("n"),
        2
    );
    assert_eq!(
        first
            .number("acme", "x12-interchange:ZZ/OTHER", "z#1", 3)
            .expect("n"),
        3
    );
    assert_eq!(
        first
            .number("acme", "x12-interchange:ZZ/OTHER", "w#1", 3)
            .expect("n"),
        1
    );
}
