//! Golden tests: real X12 856 files from the public corpus (and the quickstart's own sample) through the
//! reference plugin as a component in the host, compared with the canonical JSON checked in beside this file.
//! A change in the parser, the plugin or the host that changes any published field shows up here as a diff.
//!
//! `MILLWRIGHT_BLESS=1 cargo test --test golden` rewrites the golden files; review them before committing.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use millwright::cli::runner::{self, Outcome, RunOptions, Runner};
use serde_json::Value;

fn ship_notice_runner() -> &'static Runner {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER.get_or_init(|| {
        let options = RunOptions {
            tenant: Some("acme".into()),
            source: Some("supplier-856".into()),
            config: vec![("timezone".into(), "America/Chicago".into())],
            lookups: vec![(
                "units".into(),
                support::root().join("examples/quickstart/master-data/units.csv"),
            )],
            now: Some(support::NOW.parse().expect("instant")),
            ..RunOptions::default()
        };
        Runner::new(&support::component("x12-856-ship-notice"), options)
            .expect("the 856 plugin loads")
    })
}

fn goods_receipt_runner() -> &'static Runner {
    static RUNNER: OnceLock<Runner> = OnceLock::new();
    RUNNER.get_or_init(|| {
        let master = support::root().join("examples/quickstart/master-data");
        let options = RunOptions {
            tenant: Some("acme".into()),
            source: Some("dock-3pl".into()),
            lookups: vec![
                ("units".into(), master.join("units.csv")),
                ("items".into(), master.join("items.csv")),
            ],
            now: Some(support::NOW.parse().expect("instant")),
            ..RunOptions::default()
        };
        Runner::new(&support::component("py-goods-receipt-csv"), options)
            .expect("the Python plugin loads")
    })
}

fn check(runner: &Runner, input: &Path, golden: &str) {
    let actual = match runner.run_file(input).expect("input readable") {
        Outcome::Events(events) => Value::Array(events),
        Outcome::Documents(_) => panic!("an inbound mapper rendered documents"),
        Outcome::Failed(err) => panic!("{}: {err}", input.display()),
    };
    let path = support::golden(golden);
    if support::blessing() {
        std::fs::write(&path, runner::pretty(&actual)).expect("write golden");
        return;
    }
    let expected: Value = serde_json::from_slice(
        &std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with MILLWRIGHT_BLESS=1", path.display())),
    )
    .expect("golden is JSON");
    if let Some(diff) = runner::diff_json(&expected, &actual) {
        panic!(
            "{} differs from {}:\n{diff}",
            input.display(),
            path.display()
        );
    }
}

macro_rules! golden_856 {
    ($($name:ident: $corpus:literal => $golden:literal;)*) => {$(
        #[test]
        fn $name() {
            check(ship_notice_runner(), &support::corpus($corpus), concat!("x12-856/", $golden));
        }
    )*};
}

golden_856! {
    // S/O/P/I, three packs with SSCCs, 58 items; `~` terminators with CRLF.
    bots_856_1_pick_and_pack_with_sscc: "bots-plugins/x12/856_1.x12" => "bots-856_1.json";
    // Two transactions in one interchange, several orders per shipment.
    bots_856_2_two_transactions_several_orders: "bots-plugins/x12/856_2.x12" => "bots-856_2.json";
    // An X12 856 written with EDIFACT-like separators: `+`, `:` and `'`.
    bots_partner2_edifact_like_separators: "bots-plugins/x12/PARTNER2_20130123_1.x12" => "bots-PARTNER2_20130123_1.json";
    // S/O/P/I with MAN*GM SSCC-18 at pack level, GS08 004010VICS, a byte-order mark.
    oopfactory_gregarican_sopi_vics: "oopfactory_x12parser/ORD___856__FromGregarican.txt" => "oopfactory-FromGregarican.json";
    // `~` as element separator and `*` as terminator; SN1 mixes pieces and pounds.
    oopfactory_example1_swapped_separators_mixed_units: "oopfactory_x12parser/ORD___856__Example1.txt" => "oopfactory-Example1.json";
    // Automotive S/I layout (no order level), LIN BP/VN/EC, U+2026 as segment terminator.
    oopfactory_example3_automotive_s_i: "oopfactory_x12parser/ORD___856__Example3.txt" => "oopfactory-Example3.json";
    // HL02 parent ids omitted on every HL.
    oopfactory_example4_hl_parents_omitted: "oopfactory_x12parser/ORD___856__Example4.txt" => "oopfactory-Example4.json";
    // The widely copied "1 EDI Source" 856 with a newline as segment terminator.
    apimeister_004060_newline_terminator: "apimeister_x12-types/004060_856.edi" => "apimeister-004060_856.json";
}

#[test]
fn quickstart_s_o_t_p_i_steel_shipment() {
    let input = support::root().join("examples/quickstart/documents/allegheny-coil-asn.x12");
    check(
        ship_notice_runner(),
        &input,
        "x12-856/quickstart-allegheny-coil-asn.json",
    );
}

#[test]
fn python_plugin_maps_dock_receipts() {
    let input = support::root().join("examples/quickstart/documents/dock-receipts.csv");
    check(
        goods_receipt_runner(),
        &input,
        "csv-goods-receipt/quickstart-dock-receipts.json",
    );
}
