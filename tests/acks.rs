//! X12 acknowledgments end to end, against a real nats-server and the reference 856 plugin: a good and a
//! broken 856 each get their 997 on the ack target; one refused set in an interchange is rejected while the
//! others are mapped; a TA1 answers when ISA14 asks; a duplicate interchange is refused with TA1 025 and
//! dead-lettered, while a replay of a dead letter is not a duplicate.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::api::Api;
use support::nats::{self, Host, NatsServer, Stored};

const WAIT: Duration = Duration::from_secs(60);

fn config(dir: &Path) -> PathBuf {
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
acknowledgments = {{ kind = "997", target = "supplier-997" }}
max_attempts = 2
backoff = "200ms"
"#,
            units = support::root()
                .join("examples/quickstart/master-data/units.csv")
                .display(),
            plugin = support::component("x12-856-ship-notice").display(),
        ),
    )
}

/// The quickstart's 856 transaction set (ST..SE), one segment per line, with its ST02/SE02 set to `number`.
fn transaction(number: &str) -> Vec<String> {
    let text = std::fs::read_to_string(
        support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12"),
    )
    .expect("quickstart ASN");
    let segments: Vec<String> = text
        .split('~')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let start = segments
        .iter()
        .position(|s| s.starts_with("ST*"))
        .expect("ST");
    let end = segments
        .iter()
        .position(|s| s.starts_with("SE*"))
        .expect("SE");
    let mut set: Vec<String> = segments[start..=end].to_vec();
    let count = set.len();
    set[0] = format!("ST*856*{number}");
    set[count - 1] = format!("SE*{count}*{number}");
    set
}

/// An interchange from ALLEGHENYCOIL with ISA13 `control` (ISA14 `ta1`), one group of `sets`.
fn interchange(control: u32, ta1: bool, sets: &[Vec<String>]) -> Vec<u8> {
    let mut segments = vec![
        format!(
            "ISA*00*          *00*          *ZZ*ALLEGHENYCOIL  *ZZ*ACMESTAMPING   *240611*1416*U*00401*{control:09}*{}*P*>",
            u8::from(ta1)
        ),
        format!("GS*SH*ALLEGHENYCOIL*ACMESTAMPING*20240611*1416*{control}*X*004010"),
    ];
    for set in sets {
        segments.extend(set.iter().cloned());
    }
    segments.push(format!("GE*{}*{control}", sets.len()));
    segments.push(format!("IEA*1*{control:09}"));
    let mut text = segments.join("~\n");
    text.push_str("~\n");
    text.into_bytes()
}

/// A set whose BSN01 (purpose) is not one the 856 plugin knows: it refuses the set at BSN01.
fn bad_purpose(number: &str) -> Vec<String> {
    transaction(number)
        .into_iter()
        .map(|s| s.replace("BSN*00*", "BSN*99*"))
        .collect()
}

fn text(stored: &Stored) -> String {
    String::from_utf8_lossy(&stored.payload).into_owned()
}

/// The acknowledgments that answer ISA13 `control`.
async fn acks_for(js: &async_nats::jetstream::Context, control: u32, count: usize) -> Vec<Stored> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found: Vec<Stored> = nats::stored(js, "MW_acme_OUT", "mw.acme.out.supplier-997")
            .await
            .into_iter()
            .filter(|m| {
                let t = text(m);
                t.contains(&format!("AK1*SH*{control}~"))
                    || t.contains(&format!("TA1*{control:09}*"))
            })
            .collect();
        if found.len() >= count || tokio::time::Instant::now() > deadline {
            assert_eq!(found.len(), count, "acknowledgments of {control}");
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn dead_letters(js: &async_nats::jetstream::Context) -> Vec<Stored> {
    nats::stored(js, "MW_acme_DLQ", "mw.acme.dlq.>").await
}

/// The ISA13 an acknowledgment was sent with.
fn isa13(ack: &str) -> &str {
    ack.split('*').nth(13).expect("ISA13")
}

#[test]
fn good_broken_partly_refused_and_duplicate_interchanges_get_the_acknowledgments_a_partner_expects()
{
    let server = NatsServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let host = Host::start(&config(dir.path()), &server.url, &dir.path().join("data"));
    let api = Api::new(&host);
    support::runtime().block_on(async {
        let (_client, js) = server.client().await;
        let subject = "mw.acme.in.supplier-856";

        // A good 856: mapped, and a 997 accepting it, addressed back to the sender.
        let good = interchange(907, false, &[transaction("0001")]);
        nats::publish(&js, subject, &[("Nats-Msg-Id", "good-907")], good.clone()).await;
        let ack = &acks_for(&js, 907, 1).await[0];
        let ack_text = text(ack);
        assert!(
            ack_text.starts_with(
                "ISA*00*          *00*          *ZZ*ACMESTAMPING   *ZZ*ALLEGHENYCOIL  *"
            ),
            "sender and receiver swapped: {ack_text}"
        );
        assert!(
            ack_text.contains("ST*997*0001~AK1*SH*907~AK2*856*0001~AK5*A~AK9*A*1*1*1~SE*6*0001~"),
            "{ack_text}"
        );
        assert_eq!(ack.header("Mw-Ack-Kind"), Some("997"));
        assert_eq!(ack.header("Content-Type"), Some("application/edi-x12"));
        let events = nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.>", 1, WAIT).await;
        assert_eq!(
            events[0].json()["ship-notice"]["shipment-id"],
            "SHP-240611-07"
        );

        // A broken one (SE01 counts one segment too few): a 997 rejecting the set with AK5 code 4, and the
        // document dead-lettered whole; nothing mapped.
        let mut short = transaction("0001");
        let last = short.len() - 1;
        short[last] = format!("SE*{}*0001", short.len() - 1);
        let broken = interchange(908, false, &[short]);
        nats::publish(
            &js,
            subject,
            &[("Nats-Msg-Id", "broken-908")],
            broken.clone(),
        )
        .await;
        let ack_text = text(&acks_for(&js, 908, 1).await[0]);
        assert!(
            ack_text.contains("AK1*SH*908~AK2*856*0001~AK5*R*4~AK9*R*1*1*0~"),
            "{ack_text}"
        );
        let letters = nats::wait_for(&js, "MW_acme_DLQ", "mw.acme.dlq.>", 1, WAIT).await;
        assert_eq!(
            letters[0].header("Mw-Error-Class"),
            Some("invalid-document")
        );
        assert_eq!(
            letters[0].payload, broken,
            "the document is kept as it came"
        );

        // Two sets, the second with a purpose code the plugin does not know: the first is mapped and accepted,
        // the second rejected at BSN01 and dead-lettered on its own, in its envelopes; the partner asked for a TA1 too.
        let mixed = interchange(909, true, &[transaction("0001"), bad_purpose("0002")]);
        nats::publish(&js, subject, &[("Nats-Msg-Id", "mixed-909")], mixed).await;
        let answers = acks_for(&js, 909, 2).await;
        let ta1 = answers
            .iter()
            .map(text)
            .find(|t| t.contains("TA1*"))
            .expect("a TA1");
        assert!(ta1.contains("TA1*000000909*240611*1416*A*000~"), "{ta1}");
        let fa = answers
            .iter()
            .map(text)
            .find(|t| t.contains("ST*997*"))
            .expect("a 997");
        assert!(
            fa.contains(
                "AK2*856*0001~AK5*A~AK2*856*0002~AK3*BSN*2**8~AK4*1**7*99~AK5*R*5~AK9*P*2*2*1~"
            ),
            "{fa}"
        );
        let events = nats::wait_for(&js, "MW_acme_EV", "mw.acme.ev.>", 2, WAIT).await;
        assert_eq!(events.len(), 2, "the good set of 909 mapped, once");
        let letters = nats::wait_for(&js, "MW_acme_DLQ", "mw.acme.dlq.>", 2, WAIT).await;
        let refused = letters.last().expect("the refused part");
        let refused_text = text(refused);
        assert_eq!(refused.header("Mw-Error-Class"), Some("invalid-document"));
        assert!(refused_text.contains("ST*856*0002~"), "{refused_text}");
        assert!(!refused_text.contains("ST*856*0001~"), "{refused_text}");
        assert!(refused_text.contains("GE*1*909~"), "{refused_text}");
        assert!(refused_text.contains("IEA*1*000000909~"), "{refused_text}");

        // The same interchange sent again as another message: refused with TA1 025, dead-lettered as a
        // duplicate, not mapped twice.
        nats::publish(&js, subject, &[("Nats-Msg-Id", "good-907-again")], good).await;
        let letters = nats::wait_for(&js, "MW_acme_DLQ", "mw.acme.dlq.>", 3, WAIT).await;
        let duplicate = letters.last().expect("the duplicate");
        assert_eq!(
            duplicate.header("Mw-Error-Class"),
            Some("duplicate-interchange")
        );
        assert!(
            duplicate
                .header("Mw-Error")
                .is_some_and(|e| e.contains("907") && e.contains("ZZ/ALLEGHENYCOIL")),
            "{:?}",
            duplicate.header("Mw-Error")
        );
        let answers = acks_for(&js, 907, 2).await;
        assert!(
            answers
                .iter()
                .map(text)
                .any(|t| t.contains("TA1*000000907*240611*1416*R*025~")),
            "a TA1 refusing the duplicate"
        );
        assert_eq!(
            nats::count_on(&js, "MW_acme_EV", "mw.acme.ev.>").await,
            2,
            "the duplicate is not mapped"
        );

        // Replaying the refused part of 909 is not a duplicate of 909: it is refused for its purpose again.
        let (status, report) = api
            .post_json(
                "/v1/tenants/acme/dead-letters/replay",
                serde_json::json!({"ids": [refused.sequence]}),
            )
            .await;
        assert!(status.is_success(), "{report}");
        let deadline = tokio::time::Instant::now() + WAIT;
        let again = loop {
            let newer = dead_letters(&js)
                .await
                .into_iter()
                .find(|l| l.sequence > duplicate.sequence);
            match newer {
                Some(letter) => break letter,
                None if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => panic!("the replay was not dead-lettered again"),
            }
        };
        assert_eq!(
            again.header("Mw-Origin"),
            refused.header("Mw-Origin"),
            "a replay descends from the input it was made of"
        );
        assert_eq!(again.header("Mw-Error-Class"), Some("invalid-document"));

        // Every acknowledgment sent to the partner has an ISA13 of its own.
        let all: Vec<String> = nats::stored(&js, "MW_acme_OUT", "mw.acme.out.supplier-997")
            .await
            .iter()
            .map(text)
            .collect();
        let mut numbers: Vec<&str> = all.iter().map(|t| isa13(t)).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), all.len(), "{all:?}");
    });
    assert!(host.terminate());
}
