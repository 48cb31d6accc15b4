//! The `millwright` binary as a partner uses it: `plugin test` with and without `--expect`, its exit codes, and
//! one clear message for every kind of bad plugin and bad document.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn millwright(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let cache = support::root().join("target/test-compile-cache");
    Command::new(env!("CARGO_BIN_EXE_millwright"))
        .args(args.iter().map(|a| a.as_ref()))
        .env("MILLWRIGHT_CACHE_DIR", cache)
        .output()
        .expect("run millwright")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn asn() -> std::path::PathBuf {
    support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12")
}

fn test_856(extra: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let plugin = support::component("x12-856-ship-notice");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"plugin", &"test", &plugin];
    args.extend_from_slice(extra);
    millwright(&args)
}

#[test]
fn plugin_test_prints_canonical_events_as_json() {
    let input = asn();
    let out = test_856(&[&input, &"--config", &"timezone=America/Chicago"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(events[0]["ship-notice"]["shipment-id"], "SHP-240611-07");
    assert!(stderr(&out).contains("1 event(s)"), "{}", stderr(&out));
}

#[test]
fn matching_expectation_exits_zero_and_a_difference_exits_one_with_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = asn();
    let golden = support::golden("x12-856/quickstart-allegheny-coil-asn.json");
    let common: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &input,
        &"--config",
        &"timezone=America/Chicago",
        &"--tenant",
        &"acme",
        &"--source",
        &"supplier-856",
        &"--now",
        &support::NOW,
    ];
    let units = format!(
        "units={}",
        support::root()
            .join("examples/quickstart/master-data/units.csv")
            .display()
    );
    let mut args = common.clone();
    args.extend_from_slice(&[&"--lookup", &units, &"--expect", &golden]);
    let out = test_856(&args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let changed = dir.path().join("changed.json");
    let text = std::fs::read_to_string(&golden)
        .expect("golden")
        .replace("BOL-88231", "BOL-00000");
    std::fs::write(&changed, text).expect("write");
    let mut args = common;
    args.extend_from_slice(&[&"--lookup", &units, &"--expect", &changed]);
    let out = test_856(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("-      \"bill-of-lading\": \"BOL-00000\""),
        "{diff}"
    );
    assert!(
        diff.contains("+      \"bill-of-lading\": \"BOL-88231\""),
        "{diff}"
    );
}

#[test]
fn mapping_error_exits_two_with_a_located_diagnostic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.x12");
    let text = std::fs::read_to_string(asn())
        .expect("asn")
        .replace("SN1**48*EA", "SN1**4,8*EA");
    std::fs::write(&broken, text).expect("write");
    let out = test_856(&[&broken]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("broken.x12: invalid-document"), "{err}");
    assert!(err.contains("segment SN1"), "{err}");
    assert!(err.contains("element 02"), "{err}");
}

#[test]
fn envelope_error_from_the_host_parser_names_the_segment_and_code() {
    // IEA02 000000049 does not match ISA13 000003438 in this public file.
    let input = support::corpus("gozer/asn856.txt");
    let out = test_856(&[&input]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("IEA"), "{err}");
    assert!(err.contains("000003438"), "{err}");
}

#[test]
fn a_file_that_is_not_edi_is_rejected_not_mapped() {
    let input = support::root().join("README.md");
    let out = test_856(&[&input]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid-document"),
        "{}",
        stderr(&out)
    );
}

fn plugin_error(plugin: &Path) -> String {
    let input = asn();
    let out = millwright(&[&"plugin", &"test", &plugin, &input]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn bad_plugins_get_one_clear_message_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let text = write("notes.wasm", b"these are not the bytes you want");
    assert!(plugin_error(&text).contains("not a WebAssembly file"));

    let empty = write("empty.wasm", b"");
    assert!(plugin_error(&empty).contains("the file is empty"));

    let core = write(
        "core.wasm",
        &wat::parse_str("(module (func (export \"map\")))").expect("wat"),
    );
    assert!(plugin_error(&core).contains("a core WebAssembly module, not a component"));

    let real = std::fs::read(support::component("x12-856-ship-notice")).expect("plugin");
    let truncated = write("truncated.wasm", &real[..real.len() / 2]);
    assert!(plugin_error(&truncated).contains("not a valid component"));

    let other = write(
        "other.wasm",
        &wat::parse_str(
            r#"(component (core module $m (func (export "f"))) (core instance $i (instantiate $m))
            (func (export "run") (canon lift (core func $i "f"))))"#,
        )
        .expect("wat"),
    );
    let message = plugin_error(&other);
    assert!(
        message.contains("not a Millwright mapper") && message.contains("its exports: run"),
        "{message}"
    );

    let future = write(
        "future.wasm",
        &wat::parse_str(
            r#"(component (core module $m (func (export "f"))) (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $e (export "describe" (func $f)) (export "map" (func $f)))
            (export "millwright:adapter/inbound@1.2.0" (instance $e)))"#,
        )
        .expect("wat"),
    );
    let message = plugin_error(&future);
    assert!(
        message.contains("millwright:adapter@1.2.0") && message.contains("0.1.x"),
        "{message}"
    );

    let missing = dir.path().join("missing.wasm");
    let out = millwright(&[&"plugin", &"test", &missing, &asn()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("missing.wasm"), "{}", stderr(&out));
}

#[test]
fn python_plugin_rejects_a_bad_quantity_at_its_line_and_parks_an_unknown_unit() {
    let plugin = support::component("py-goods-receipt-csv");
    let samples = support::root().join("plugins/py-goods-receipt-csv/samples");
    let out = millwright(&[
        &"plugin",
        &"test",
        &plugin,
        &samples.join("bad-quantity.csv"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid-document") && stderr(&out).contains("line 3"),
        "{}",
        stderr(&out)
    );

    let out = millwright(&[
        &"plugin",
        &"test",
        &plugin,
        &samples.join("unknown-unit.csv"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown-reference") && stderr(&out).contains("FT"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_is_a_json_schema_for_every_event_type() {
    let out = millwright(&[&"schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["$defs"]["canonical-event"]["oneOf"]
            .as_array()
            .map(Vec::len),
        Some(14)
    );
}

#[test]
fn checked_in_schema_matches_the_contract() {
    let out = millwright(&[&"schema"]);
    let generated = stdout(&out);
    let path = support::root().join("docs/canonical-event.schema.json");
    if support::blessing() {
        std::fs::write(&path, &generated).expect("write schema");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).expect("docs/canonical-event.schema.json");
    assert!(
        checked_in == generated,
        "docs/canonical-event.schema.json is stale: run `millwright schema > docs/canonical-event.schema.json`"
    );
}

#[test]
fn broken_envelopes_and_hierarchies_are_rejected_with_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = std::fs::read_to_string(asn()).expect("asn");
    let cases = [
        // An item whose HL02 names a parent that does not exist.
        (
            "orphan.x12",
            original.replace("HL*9*8*I", "HL*9*12*I"),
            "HL",
        ),
        // The interchange stops after the transaction: no GE, no IEA.
        (
            "truncated.x12",
            original[..original.find("GE*1*907").expect("GE")].to_string(),
            "023",
        ),
        // SE01 says one segment fewer than there are.
        (
            "count.x12",
            original.replace("SE*38*0001", "SE*37*0001"),
            "SE",
        ),
        // GE02 does not match GS06.
        ("group.x12", original.replace("GE*1*907", "GE*1*908"), "GE"),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let out = test_856(&[&path]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(name) && err.contains("invalid-document") && err.contains(needle),
            "{name}: {err}"
        );
    }
}
