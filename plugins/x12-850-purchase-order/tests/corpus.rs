//! Every X12 850 of the public corpus (`../shared/edi-corpus`, or `MILLWRIGHT_EDI_CORPUS`, read in place and never
//! copied): each purchase order in it is read into a canonical purchase order by a small reader here (BEG, CUR,
//! N1, PO1, PID, DTM), rendered by the plugin, parsed back by the host's parser and read again, and the round
//! trip must keep the PO number, the lines, their quantities, units (through the unit tables), prices, part
//! numbers and descriptions. Where a corpus order holds something the canonical model or an 850 written under
//! this plugin's rules cannot carry, the expectation below says what, file by file; every such note must still
//! occur, so the list cannot go stale.

// The SDK's harness exists on native targets only; built for wasm these tests are empty.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::path::{Path, PathBuf};

use common::{acme, corpus_dir, render};
use millwright_sdk::edi::{self, Interchange, Transaction};
use millwright_sdk::harness::Harness;
use millwright_sdk::types::{
    CanonicalEvent, EventHeader, IdScheme, Identifier, ItemRef, MappingError, OrderKind, OrderLine,
    Party, PartyRole, Price, PurchaseOrder, Quantity, Reference, Timestamp,
};
use millwright_sdk::x12;

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; the corpus lives in ../shared/edi-corpus",
                    path.display()
                )
            });
            pending.extend(entries.map(|entry| entry.expect("a directory entry").path()));
        } else {
            all.push(path);
        }
    }
    all.sort();
    all
}

/// Whether a file is an X12 interchange holding an 850: it starts with ISA (after a byte-order mark or
/// whitespace) and has a segment `ST<sep>850<sep>`, with the element separator ISA declares.
fn is_x12_850(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = &start[start.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let Some(&sep) = start.strip_prefix(b"ISA").and_then(|rest| rest.first()) else {
        return false;
    };
    let needle = [b'S', b'T', sep, b'8', b'5', b'0', sep];
    start
        .windows(needle.len())
        .enumerate()
        .any(|(i, w)| w == needle && (i == 0 || !start[i - 1].is_ascii_alphanumeric()))
}

/// The corpus 850s, by name relative to the corpus.
fn corpus_850s() -> Vec<(String, Vec<u8>)> {
    let root = corpus_dir();
    files(&root)
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            is_x12_850(&bytes).then(|| {
                let name = path
                    .strip_prefix(&root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                (name, bytes)
            })
        })
        .collect()
}

/// What the test reader found in one 850, and what it could not put into the canonical model.
struct Read {
    po: PurchaseOrder,
    /// Things of the corpus order the canonical model cannot hold; empty when it holds them all.
    not_held: Vec<String>,
}

/// The canonical purchase order of one 850 transaction, read the way an inbound 850 mapping would: BEG, CUR,
/// the N1 loops of the buyer and the supplier, and per PO1 loop the PO1, the first PID with a description and a
/// DTM 002. An order without N1*BY is the interchange sender's (ISA06, mutually defined). The supplier is given
/// the ERP number `CORPUS`, which the test's partner table knows. Units go through [`CORPUS_UNITS`], then the
/// SDK's built-in table, as a tenant's `units` table would.
fn read_850(sender: &str, tx: &Transaction) -> Read {
    let mut not_held = Vec::new();
    let beg = tx.find("BEG");
    let beg_el = |n: usize| beg.map_or("", |b| b.el(n));
    let purpose = x12::purpose(beg_el(1)).unwrap_or_else(|| {
        not_held.push(format!(
            "BEG01 `{}` is no purpose the model knows",
            beg_el(1)
        ));
        millwright_sdk::types::Purpose::Original
    });
    let kind = match beg_el(2) {
        "BK" => OrderKind::Blanket,
        "RL" => OrderKind::Release,
        _ => OrderKind::Standard,
    };
    let mut references = Vec::new();
    if !beg_el(4).is_empty() {
        references.push(Reference::new("RE", beg_el(4)));
    }
    let order_date = match beg_el(5) {
        "" => None,
        date => {
            let iso = x12::iso_date(date);
            if iso.is_none() {
                not_held.push(format!("BEG05 `{date}` is not a date"));
            }
            iso
        }
    };
    let mut buyer = party(PartyRole::Buyer);
    if !tx.segments.iter().any(|s| s.is("N1") && s.el(1) == "BY") {
        buyer
            .ids
            .push(Identifier::new(IdScheme::MutuallyDefined, sender.trim()));
    }
    let mut supplier = party(PartyRole::Supplier);
    supplier.ids.push(Identifier::internal("CORPUS"));
    let mut currency = None;
    let mut lines: Vec<OrderLine> = Vec::new();
    for segment in &tx.segments {
        match segment.id.as_str() {
            "CUR" if lines.is_empty() => currency = segment.opt(2).map(str::to_owned),
            "N1" if lines.is_empty() => {
                let target = match segment.el(1) {
                    "BY" => &mut buyer,
                    "SU" | "SE" | "VN" => &mut supplier,
                    _ => continue,
                };
                target.name = segment.opt(2).map(str::to_owned);
                if let (Some(q), Some(id)) = (segment.opt(3), segment.opt(4)) {
                    target
                        .ids
                        .push(Identifier::new(x12::party_id_scheme(q), id));
                }
            }
            "PO1" => {
                let position = lines.len() + 1;
                let value = segment.el(2);
                if !x12::is_decimal(value) {
                    not_held.push(format!(
                        "PO1 {position}: PO102 `{value}` is no quantity (the model needs one)"
                    ));
                }
                let code = segment.el(3);
                let table = CORPUS_UNITS.iter().find(|(x12, _)| *x12 == code);
                let unit = match table.map(|(_, rec20)| *rec20).or(x12::built_in_unit(code)) {
                    Some(unit) => unit.to_owned(),
                    None => {
                        not_held.push(format!(
                            "PO1 {position}: PO103 `{}` has no UN/ECE Rec 20 code in the unit tables",
                            segment.el(3)
                        ));
                        String::new()
                    }
                };
                let ids = segment
                    .pairs(6)
                    .map(|(_, q, v)| Identifier::new(x12::product_id_scheme(q), v))
                    .collect();
                lines.push(OrderLine {
                    line_number: segment
                        .opt(1)
                        .map_or_else(|| position.to_string(), str::to_owned),
                    item: ItemRef {
                        ids,
                        description: None,
                    },
                    quantity: Quantity::new(value, unit),
                    price: segment.opt(4).map(|amount| Price {
                        amount: amount.to_owned(),
                        per_unit: None,
                    }),
                    requested_date: None,
                    ship_to: None,
                });
            }
            "PID" => {
                if let Some(line) = lines.last_mut()
                    && line.item.description.is_none()
                {
                    line.item.description = segment.opt(5).map(str::to_owned);
                }
            }
            "DTM" if segment.el(1) == "002" => {
                if let Some(line) = lines.last_mut()
                    && line.requested_date.is_none()
                {
                    line.requested_date = x12::iso_date(segment.el(2));
                }
            }
            _ => {}
        }
    }
    Read {
        po: PurchaseOrder {
            header: EventHeader {
                id: format!("x12:corpus:{}", tx.control_number),
                source_system: "corpus".to_owned(),
                tenant: "acme".to_owned(),
                site: None,
                event_time: Timestamp::utc("2024-06-11T12:00:00Z"),
                correlation_id: "corpus".to_owned(),
                idempotency_key: tx.control_number.clone(),
            },
            order_id: beg_el(3).to_owned(),
            kind,
            purpose,
            revision: None,
            order_date,
            buyer,
            supplier,
            currency,
            lines,
            references,
        },
        not_held,
    }
}

fn party(role: PartyRole) -> Party {
    Party {
        ids: Vec::new(),
        name: None,
        roles: vec![role],
        address: None,
        edi_identities: Vec::new(),
    }
}

/// A line as the round trip compares it: number, quantity, Rec 20 unit, price, description, and the part
/// numbers as a sorted set of (scheme, value).
type LineSummary = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

fn summary(po: &PurchaseOrder) -> (String, Vec<LineSummary>) {
    let lines = po
        .lines
        .iter()
        .map(|l| {
            let mut ids: Vec<(String, String)> = l
                .item
                .ids
                .iter()
                .map(|id| (format!("{:?}", id.scheme), id.value.trim().to_owned()))
                .collect();
            ids.sort();
            ids.dedup();
            (
                l.line_number.clone(),
                l.quantity.value.clone(),
                l.quantity.unit.clone(),
                l.price.as_ref().map(|p| p.amount.clone()),
                l.item.description.as_ref().map(|d| d.trim().to_owned()),
                ids,
            )
        })
        .collect();
    (po.order_id.clone(), lines)
}

/// The tenant's unit table for the corpus, X12 → Rec 20 (inbound), and its reverse given to the plugin as
/// `x12-units-out`: `CR` cubic metre.
const CORPUS_UNITS: &[(&str, &str)] = &[("CR", "MTQ")];

/// What became of one corpus order.
#[derive(Debug)]
enum Outcome {
    /// Rendered, parsed and read back with everything compared equal.
    RoundTrip,
    /// Part of the order cannot be held by the canonical model: said, and not rendered.
    NotHeld(String),
    /// The plugin refused the order, with its located diagnostic (path and code).
    Refused(String),
}

/// Every 850 transaction of the corpus: (file, ST02, outcome).
fn outcomes() -> Vec<(String, String, Outcome)> {
    let mut harness = acme().with_lookup("x12-partners", "CORPUS", "ZZ/CORPUSVENDOR");
    for (x12, rec20) in CORPUS_UNITS {
        harness = harness.with_lookup("x12-units-out", *rec20, *x12);
    }
    let mut all = Vec::new();
    for (name, bytes) in corpus_850s() {
        let interchanges: Vec<Interchange> = match edi::parse(&bytes) {
            Ok(interchanges) => interchanges,
            Err(e) => {
                all.push((
                    name,
                    String::new(),
                    Outcome::NotHeld(format!("the host's parser refuses the file: {}", e.message)),
                ));
                continue;
            }
        };
        for tx in edi::transactions(&interchanges).filter(|t| t.transaction.code == "850") {
            let st02 = tx.transaction.control_number.clone();
            let outcome = round_trip(&harness, &name, &tx.interchange.sender_id, tx.transaction);
            all.push((name.clone(), st02, outcome));
        }
    }
    all
}

fn round_trip(harness: &Harness, name: &str, sender: &str, tx: &Transaction) -> Outcome {
    let read = read_850(sender, tx);
    if !read.not_held.is_empty() {
        return Outcome::NotHeld(read.not_held.join("; "));
    }
    let expected = summary(&read.po);
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render(harness, CanonicalEvent::PurchaseOrder(read.po.clone()))
    }))
    .unwrap_or_else(|_| panic!("{name} ST02 {}: the renderer panicked", tx.control_number));
    let documents = match rendered {
        Ok(documents) => documents,
        Err(MappingError::InvalidDocument(d) | MappingError::UnknownReference(d)) => {
            return Outcome::Refused(format!(
                "{} at {}: {}",
                d.code.unwrap_or_default(),
                d.at.json_path.unwrap_or_default(),
                d.message
            ));
        }
        Err(other) => panic!(
            "{name} ST02 {}: never transient here: {other:?}",
            tx.control_number
        ),
    };
    assert_eq!(documents.len(), 1, "{name} ST02 {}", tx.control_number);
    let back = common::parse(&documents[0].payload);
    let back_tx = common::transaction(&back);
    let again = read_850(&back.sender_id, back_tx);
    assert!(again.not_held.is_empty(), "{name}: {:?}", again.not_held);
    let actual = summary(&again.po);
    assert_eq!(
        actual, expected,
        "{name} ST02 {}: the round trip changed the order",
        tx.control_number
    );
    Outcome::RoundTrip
}

/// The corpus orders that do not round trip: (file, ST02, what the outcome says, why). Everything else must.
const LIMITS: &[(&str, &str, &str, &str)] = &[
    (
        "bots-plugins/x12/850-004010.15.x12",
        "0004",
        "invalid-gtin at $['purchase-order'].lines[0].item.ids[0].value: GTIN `71711964140`",
        "its PO1s qualify as UP ids that are no GTINs (11 digits, `717119.837242`, `B000056EWE`); the canonical \
         model reads them as GTINs, and an 850 written here names a GTIN only by its true length",
    ),
    (
        "gozer/po850.txt",
        "",
        "SE01 says 33 but there are 21 segments",
        "the file's own SE count is wrong, so the host refuses it before any mapping",
    ),
    (
        "node-x12/850_3.edi",
        "8830",
        "PO103 `KI` has no UN/ECE Rec 20 code",
        "`KI` is no X12 unit code the tables know, so the canonical quantity has no unit",
    ),
    (
        "node-x12/850_fat.edi",
        "",
        "repeats the interchange at byte 0",
        "the file holds the same interchange twice, which the host refuses as a duplicate",
    ),
    (
        "oopfactory_x12parser/ORD___850__Example4_Adobe_ShrinkWrapped.txt",
        "",
        "the segment terminator (the character after ISA16) is ` `, a space",
        "a space as segment terminator cannot be told from data, so the host refuses the file",
    ),
];

/// The corpus files holding an 850, and the 850s in them that round trip.
const FILES: usize = 48;
const ROUND_TRIPS: usize = 84;

#[test]
fn every_corpus_850_round_trips_or_says_what_cannot_be_carried() {
    let found = corpus_850s();
    assert_eq!(
        found.len(),
        FILES,
        "the 850s of the corpus under {}: {:#?}",
        corpus_dir().display(),
        found.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let all = outcomes();
    let mut used = vec![false; LIMITS.len()];
    let mut round_trips = 0;
    for (name, st02, outcome) in &all {
        let said = match outcome {
            Outcome::RoundTrip => {
                round_trips += 1;
                continue;
            }
            Outcome::NotHeld(said) | Outcome::Refused(said) => said,
        };
        let limit = LIMITS
            .iter()
            .position(|(file, st, says, _)| file == name && st == st02 && said.contains(says));
        match limit {
            Some(i) => used[i] = true,
            None => {
                panic!("{name} ST02 {st02} does not round trip, and no limit says why: {outcome:?}")
            }
        }
    }
    for (i, (file, st02, says, why)) in LIMITS.iter().enumerate() {
        assert!(
            used[i],
            "{file} ST02 {st02} was expected not to round trip ({why}: {says}), and now does or is gone"
        );
    }
    assert_eq!(
        round_trips, ROUND_TRIPS,
        "the corpus 850s that keep their PO number, lines, quantities, units, prices, part numbers and \
         descriptions through canonical → 850 → canonical"
    );
}

/// One corpus order read as a supplier would read what the plugin sends for it: the retail widget order of
/// node-x12, whose lines carry buyer catalog numbers (`CB`), vendor numbers (`VN`) and a promotion (`PR`).
#[test]
fn the_node_x12_widget_order_goes_out_with_its_part_numbers_by_qualifier() {
    let (_, bytes) = corpus_850s()
        .into_iter()
        .find(|(name, _)| name == "node-x12/850.edi")
        .expect("node-x12/850.edi is in the corpus");
    let interchanges = edi::parse(&bytes).expect("the host parses it");
    let tx = edi::transactions(&interchanges).next().expect("one 850");
    let read = read_850(&tx.interchange.sender_id, tx.transaction);
    assert!(read.not_held.is_empty(), "{:?}", read.not_held);
    let harness = acme().with_lookup("x12-partners", "CORPUS", "ZZ/CORPUSVENDOR");
    let mut documents = render(&harness, CanonicalEvent::PurchaseOrder(read.po)).expect("renders");
    let back = common::parse(&documents.remove(0).payload);
    let lines = common::lines(common::transaction(&back));
    assert_eq!(lines[0], "BEG*00*SA*08292233294**20101127");
    let po1s: Vec<&String> = lines.iter().filter(|l| l.starts_with("PO1")).collect();
    assert_eq!(po1s.len(), 6);
    assert_eq!(
        po1s[0], "PO1*1*120*EA*9.25*PE*VP*AB3542*CB*065322-117*PR*RO",
        "the vendor's number first, then the others as the order gave them; the basis TE became PE, as the canonical price keeps its amount, not its basis"
    );
    assert_eq!(lines.last().map(String::as_str), Some("CTT*6*1310"));
}
