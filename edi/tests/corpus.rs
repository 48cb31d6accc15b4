//! Runs the parser over the public EDI corpus (`../shared/edi-corpus`, read in place, never copied) and
//! compares every file's outcome with the reviewed list in `tests/corpus-expectations.txt`.
//!
//! The list is the golden file: one line per corpus file, `path<TAB>ok<TAB>summary` or
//! `path<TAB>error<TAB>code=… segment=… index=… element=… byte=… message`. Every error line was reviewed by
//! reading the file; the reasons are in the comment lines of the list. Set `MILLWRIGHT_EDI_CORPUS` to read
//! the corpus elsewhere, and `MILLWRIGHT_BLESS=1` to rewrite the list after a deliberate change (then review
//! the diff).
//!
//! Which files are documents: everything except `*.md` (SOURCES.md), `*.tsv` (bots' manifest) and `*.json`
//! (php-edifact's expected parse output, not EDI).
//!
//! Also here: X12 files that parse are rendered and parsed again and must give the same tree, and every
//! file survives its prefixes and single-byte mutations without a panic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use millwright_edi::{Interchange, Standard, parse, render_x12};

const EXPECTATIONS: &str = "tests/corpus-expectations.txt";

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("MILLWRIGHT_EDI_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/edi-corpus"),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "EDI corpus not found at {}: check out the shared corpus next to the repository, or set \
         MILLWRIGHT_EDI_CORPUS to its directory",
        dir.display()
    );
    dir
}

fn is_document(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    !matches!(ext, "md" | "tsv" | "json")
}

/// Every document in the corpus, by path relative to the corpus root (with `/`), sorted.
fn corpus_files() -> BTreeMap<String, Vec<u8>> {
    let root = corpus_dir();
    let mut files = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if is_document(&path) {
                let rel = path
                    .strip_prefix(&root)
                    .expect("path under the corpus root");
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                files.insert(name, bytes);
            }
        }
    }
    files
}

fn summary(interchanges: &[Interchange]) -> String {
    let groups: usize = interchanges.iter().map(|i| i.groups.len()).sum();
    let mut types: Vec<&str> = Vec::new();
    let mut transactions = 0;
    for t in interchanges
        .iter()
        .flat_map(|i| &i.groups)
        .flat_map(|g| &g.transactions)
    {
        transactions += 1;
        if !types.contains(&t.code.as_str()) {
            types.push(&t.code);
        }
    }
    let service: usize = interchanges.iter().map(|i| i.service_segments.len()).sum();
    let mut line = format!(
        "interchanges={} groups={groups} transactions={transactions} types={}",
        interchanges.len(),
        if types.is_empty() {
            "-".to_owned()
        } else {
            types.join(",")
        }
    );
    if service > 0 {
        let _ = write!(line, " service-segments={service}");
    }
    line
}

fn outcome(bytes: &[u8]) -> String {
    match parse(bytes) {
        Ok(interchanges) => format!("ok\t{}", summary(&interchanges)),
        Err(e) => {
            let at = &e.at;
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
            format!(
                "error\tcode={} segment={} index={} element={} byte={} {}",
                opt(e.code.clone()),
                opt(at.segment_id.clone()),
                opt(at.segment_index.map(|i| i.to_string())),
                opt(at.element.map(|i| i.to_string())),
                opt(at.byte_offset.map(|i| i.to_string())),
                e.message.replace(['\t', '\n'], " ")
            )
        }
    }
}

#[test]
fn every_corpus_file_has_its_reviewed_outcome() {
    let files = corpus_files();
    assert!(!files.is_empty(), "the corpus directory holds no documents");
    let actual: BTreeMap<&str, String> = files
        .iter()
        .map(|(k, v)| (k.as_str(), outcome(v)))
        .collect();

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXPECTATIONS);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("MILLWRIGHT_BLESS").is_some_and(|v| v == "1") {
        // Keep the reviewed comments (lines starting with `#`) at the top.
        let mut out: String = text
            .lines()
            .take_while(|l| l.starts_with('#') || l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        for (name, result) in &actual {
            let _ = writeln!(out, "{name}\t{result}");
        }
        std::fs::write(&path, out).expect("writing the expectation list");
        return;
    }
    let expected: BTreeMap<&str, &str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect();
    let mut problems = Vec::new();
    for (name, result) in &actual {
        match expected.get(name) {
            None => problems.push(format!("{name}: not in the list; it gives\n    {result}")),
            Some(want) if want != result => {
                problems.push(format!(
                    "{name}:\n    expected {want}\n    actual   {result}"
                ));
            }
            Some(_) => {}
        }
    }
    for name in expected.keys() {
        if !actual.contains_key(name) {
            problems.push(format!("{name}: listed but no longer in the corpus"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} corpus outcome(s) differ from {EXPECTATIONS}:\n{}\n\nIf the change is intended, rerun with \
         MILLWRIGHT_BLESS=1 to rewrite the list, then review every changed line by reading the file.",
        problems.len(),
        problems.join("\n")
    );
}

/// Byte offsets change when a tree is rendered again; everything else must survive.
fn without_offsets(mut interchanges: Vec<Interchange>) -> Vec<Interchange> {
    for i in &mut interchanges {
        i.byte_offset = 0;
        for s in &mut i.service_segments {
            s.byte_offset = 0;
        }
        for s in i
            .groups
            .iter_mut()
            .flat_map(|g| &mut g.transactions)
            .flat_map(|t| &mut t.segments)
        {
            s.byte_offset = 0;
        }
    }
    interchanges
}

#[test]
fn x12_corpus_files_survive_render_and_parse_unchanged() {
    let mut checked = 0;
    for (name, bytes) in corpus_files() {
        let Ok(interchanges) = parse(&bytes) else {
            continue;
        };
        if interchanges.iter().any(|i| i.standard != Standard::X12) {
            continue;
        }
        let mut rendered = Vec::new();
        for interchange in &interchanges {
            let out =
                render_x12(interchange).unwrap_or_else(|e| panic!("{name}: render failed: {e}"));
            rendered.extend_from_slice(&out);
        }
        let again = parse(&rendered).unwrap_or_else(|e| {
            panic!(
                "{name}: the rendered document does not parse: {e}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(
            without_offsets(again),
            without_offsets(interchanges),
            "{name}: the tree changed"
        );
        checked += 1;
    }
    assert!(
        checked > 50,
        "only {checked} X12 files round-tripped; the corpus looks incomplete"
    );
}

/// Positions to cut or mutate: every one for files up to 512 bytes; for larger files every one of the first
/// 160 bytes (the ISA/UNB header) and last 64 (the trailers) plus about 150 evenly spread in between, so the
/// test stays fast in a debug build.
fn sample(len: usize) -> Vec<usize> {
    if len <= 512 {
        return (0..=len).collect();
    }
    let step = (len / 150).max(1);
    let mut points: Vec<usize> = (0..160).chain(len - 64..=len).collect();
    points.extend((160..len - 64).step_by(step));
    points
}

#[test]
fn prefixes_and_single_byte_mutations_never_panic() {
    const REPLACEMENTS: [u8; 8] = [b'~', b'*', b'\n', 0x00, 0xFF, b'A', b'+', b'\''];
    for (name, bytes) in corpus_files() {
        let points = sample(bytes.len());
        for &cut in &points {
            let prefix = bytes.get(..cut).expect("cut within the file");
            let result = std::panic::catch_unwind(|| {
                if let Ok(interchanges) = parse(prefix) {
                    for i in &interchanges {
                        let _ = render_x12(i);
                    }
                }
            });
            assert!(
                result.is_ok(),
                "{name}: parsing the first {cut} bytes panicked"
            );
        }
        let mut mutated = bytes.clone();
        for (k, &at) in points.iter().filter(|&&p| p < bytes.len()).enumerate() {
            let original = mutated[at];
            let replacement = REPLACEMENTS[k % REPLACEMENTS.len()];
            mutated[at] = replacement;
            let result = std::panic::catch_unwind(|| parse(&mutated).is_ok());
            assert!(
                result.is_ok(),
                "{name}: parsing with byte {at} set to {replacement:#04x} panicked"
            );
            mutated[at] = original;
        }
    }
}

// Acknowledgments (`millwright_edi::ack`) over the corpus: the tolerant reader agrees with `parse` wherever
// `parse` accepts a file, has already seen whatever `parse` refuses, never panics, and every acknowledgment
// built from a corpus file renders and parses back; the corpus's own 997s, 999s and TA1s read with the
// acknowledgment code lists.

use millwright_edi::Segment;
use millwright_edi::ack::{
    self, AckKind, ControlNumbers, ElementError, GroupError, GroupStatus, InterchangeNote,
    Outcomes, Received, SegmentError, SetError, SetStatus,
};

/// The reader's ids and counts equal the strict tree's, level by level.
fn assert_reader_agrees(name: &str, received: &Received<'_>, strict: &[Interchange]) {
    assert_eq!(
        received.interchanges.len(),
        strict.len(),
        "{name}: interchanges"
    );
    for (r, s) in received.interchanges.iter().zip(strict) {
        assert_eq!(
            r.separators.as_ref(),
            Some(&s.separators),
            "{name}: separators"
        );
        assert_eq!(
            (
                &r.sender_qualifier,
                &r.sender_id,
                &r.receiver_qualifier,
                &r.receiver_id
            ),
            (
                &s.sender_qualifier,
                &s.sender_id,
                &s.receiver_qualifier,
                &s.receiver_id
            ),
            "{name}: ISA05-ISA08"
        );
        assert_eq!(
            (&r.date, &r.time, &r.version, &r.control_number),
            (&s.date, &s.time, &s.version, &s.control_number),
            "{name}: ISA09, ISA10, ISA12, ISA13"
        );
        assert_eq!(
            (r.acknowledgment_requested, r.test),
            (s.acknowledgment_requested, s.test),
            "{name}: ISA14, ISA15"
        );
        assert!(r.iea_matches(), "{name}: IEA");
        assert_eq!(r.groups.len(), s.groups.len(), "{name}: groups");
        for (rg, sg) in r.groups.iter().zip(&s.groups) {
            assert_eq!(
                (
                    &rg.functional_id,
                    &rg.sender,
                    &rg.receiver,
                    &rg.control_number,
                    &rg.version
                ),
                (
                    &sg.functional_id,
                    &sg.sender,
                    &sg.receiver,
                    &sg.control_number,
                    &sg.version
                ),
                "{name}: GS01, GS02, GS03, GS06, GS08"
            );
            assert!(rg.ge_matches(), "{name}: GE");
            assert_eq!(rg.transactions.len(), sg.transactions.len(), "{name}: sets");
            for (rt, st) in rg.transactions.iter().zip(&sg.transactions) {
                assert_eq!(
                    (&rt.code, &rt.control_number, &rt.version),
                    (&st.code, &st.control_number, &st.version),
                    "{name}: ST01-ST03"
                );
                assert_eq!(rt.segment_count, st.segments.len() + 2, "{name}: segments");
                assert!(rt.se_matches(), "{name}: SE");
            }
        }
    }
}

#[test]
fn the_ack_reader_agrees_with_parse_on_every_corpus_file() {
    let files = corpus_files();
    let (mut read, mut agreed, mut refused) = (0, 0, 0);
    for (name, bytes) in &files {
        let received = std::panic::catch_unwind(|| ack::received(bytes))
            .unwrap_or_else(|_| panic!("{name}: the reader panicked"));
        read += 1;
        let outcomes = Outcomes::new(&received);
        match parse(bytes) {
            Ok(strict) if strict.iter().all(|i| i.standard == Standard::X12) => {
                assert_reader_agrees(name, &received, &strict);
                assert!(
                    received.problems.is_empty(),
                    "{name}: parse accepts it, the reader saw {:?}",
                    received.problems
                );
                assert!(outcomes.all_accepted(), "{name}: {outcomes:?}");
                agreed += 1;
            }
            Ok(_) => assert!(received.unreadable.is_some(), "{name}: EDIFACT is not read"),
            Err(error) => {
                // Whatever parse reports, the reader's own verdicts already hold.
                let mut with_parse = outcomes.clone();
                assert!(
                    !with_parse.record(received.finding(&error)),
                    "{name}: the reader missed `{error}` ({:?})",
                    error.code
                );
                if !received.interchanges.is_empty() {
                    assert!(
                        !outcomes.all_accepted(),
                        "{name}: refused by parse, accepted here"
                    );
                    refused += 1;
                }
            }
        }
    }
    assert!(
        read > 100,
        "only {read} corpus files read; the corpus looks incomplete"
    );
    assert!(agreed > 100, "only {agreed} X12 files compared with parse");
    assert!(refused >= 15, "only {refused} refused X12 files answered");
}

/// Builds every acknowledgment a file calls for and checks each parses back and answers what arrived. With
/// `must_render`, each must also render: a damaged file may hold ids an acknowledgment cannot carry (an
/// ISA06 holding the terminator), which `render_x12` refuses rather than writes.
fn acknowledge(
    name: &str,
    bytes: &[u8],
    strict_error: Option<&millwright_edi::EdiError>,
    must_render: bool,
) -> usize {
    let received = ack::received(bytes);
    let mut outcomes = Outcomes::new(&received);
    if let Some(error) = strict_error {
        outcomes.record(received.finding(error));
    }
    let now = jiff::civil::date(2024, 3, 5).at(14, 7, 0, 0);
    let ids = ControlNumbers {
        interchange: 1,
        group: 1,
        transaction: 1,
    };
    let mut built = 0;
    for (i, interchange) in received.interchanges.iter().enumerate() {
        let outcome = &outcomes.interchanges[i];
        if outcome.ta1_due(interchange) {
            let note = outcome.note.unwrap_or(InterchangeNote::NoError);
            let tree = ack::ta1(interchange, outcome.accepted(), note, 1, now);
            let rendered = render_x12(&tree);
            assert!(
                rendered.is_ok() || !must_render,
                "{name}: its TA1 does not render"
            );
            if let Ok(rendered) = rendered {
                let back = parse(&rendered)
                    .unwrap_or_else(|e| panic!("{name}: its TA1 does not parse: {e}"));
                assert_eq!(back[0].service_segments[0].value(5), note.code(), "{name}");
                built += 1;
            }
        }
        if !outcome.accepted() {
            continue;
        }
        for (g, group) in interchange.groups.iter().enumerate() {
            for kind in [AckKind::Functional997, AckKind::Implementation999] {
                let tree =
                    ack::functional_ack(group, interchange, &outcome.groups[g], kind, ids, now);
                let rendered = match render_x12(&tree) {
                    Ok(rendered) => rendered,
                    Err(e) if must_render => panic!("{name}: its ack does not render: {e}"),
                    Err(_) => continue,
                };
                let back = parse(&rendered).unwrap_or_else(|e| {
                    panic!(
                        "{name}: its ack does not parse: {e}\n{}",
                        String::from_utf8_lossy(&rendered)
                    )
                });
                let set = &back[0].groups[0].transactions[0];
                let ak1 = &set.segments[0];
                assert_eq!(
                    (ak1.value(1), ak1.value(2)),
                    (group.functional_id.as_str(), group.control_number.as_str()),
                    "{name}: AK1"
                );
                let ak2: Vec<(&str, &str)> = set
                    .segments
                    .iter()
                    .filter(|s| s.id == "AK2")
                    .map(|s| (s.value(1), s.value(2)))
                    .collect();
                let sent: Vec<(&str, &str)> = group
                    .transactions
                    .iter()
                    .map(|t| (t.code.as_str(), t.control_number.as_str()))
                    .collect();
                assert_eq!(ak2, sent, "{name}: AK2");
                let ak9 = set.segments.last().expect("AK9");
                assert_eq!(
                    ak9.value(3),
                    group.transactions.len().to_string(),
                    "{name}: AK903"
                );
                built += 1;
            }
        }
    }
    built
}

#[test]
fn acknowledgments_for_every_corpus_file_render_and_parse_back() {
    let mut built = 0;
    for (name, bytes) in corpus_files() {
        let error = parse(&bytes).err();
        built += acknowledge(&name, &bytes, error.as_ref(), true);
    }
    assert!(
        built > 200,
        "only {built} acknowledgments built from the corpus"
    );
}

#[test]
fn the_ack_reader_survives_prefixes_and_single_byte_mutations() {
    const REPLACEMENTS: [u8; 8] = [b'~', b'*', b'\n', 0x00, 0xFF, b'A', b'+', b'\''];
    for (name, bytes) in corpus_files() {
        let points = sample(bytes.len());
        for &cut in &points {
            let prefix = bytes.get(..cut).expect("cut within the file");
            let result = std::panic::catch_unwind(|| {
                acknowledge(&name, prefix, parse(prefix).err().as_ref(), false)
            });
            assert!(
                result.is_ok(),
                "{name}: acknowledging the first {cut} bytes panicked"
            );
        }
        let mut mutated = bytes.clone();
        for (k, &at) in points.iter().filter(|&&p| p < bytes.len()).enumerate() {
            let original = mutated[at];
            let replacement = REPLACEMENTS[(k + 3) % REPLACEMENTS.len()];
            mutated[at] = replacement;
            let result = std::panic::catch_unwind(|| {
                acknowledge(&name, &mutated, parse(&mutated).err().as_ref(), false)
            });
            assert!(
                result.is_ok(),
                "{name}: acknowledging with byte {at} set to {replacement:#04x} panicked"
            );
            mutated[at] = original;
        }
    }
}

/// What reading one acknowledgment transaction (997 or 999) with the code lists found wrong, if anything.
fn misread(set: &millwright_edi::Transaction) -> Vec<String> {
    let implementation = set.code == "999";
    let (segment, element, response) = if implementation {
        ("IK3", "IK4", "IK5")
    } else {
        ("AK3", "AK4", "AK5")
    };
    let mut wrong = Vec::new();
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let segments = &set.segments;
    match segments.first() {
        Some(ak1) if ak1.id == "AK1" => {
            let gs01 = ak1.value(1);
            if gs01.len() != 2 || !gs01.bytes().all(|b| b.is_ascii_alphanumeric()) {
                wrong.push(format!("AK101 `{gs01}` is not a functional id"));
            }
            if !number(ak1.value(2)) {
                wrong.push(format!(
                    "AK102 `{}` is not a group control number",
                    ak1.value(2)
                ));
            }
        }
        _ => wrong.push("no AK1 first".to_owned()),
    }
    let (mut loops, mut accepted) = (0usize, 0usize);
    let mut last: Option<&Segment> = None;
    for s in segments {
        let id = s.id.as_str();
        if id == "AK2" {
            loops += 1;
        } else if id == segment {
            let tag = s.value(1);
            if !(2..=3).contains(&tag.len()) || !number(s.value(2)) {
                wrong.push(format!("{id} `{tag}` at `{}`", s.value(2)));
            }
            if SegmentError::from_code(s.value(4)).is_none() {
                wrong.push(format!("{id}04 `{}`", s.value(4)));
            }
        } else if id == element {
            let position = s.elements.first().map_or("", |e| e.value());
            let reference = s.value(2);
            if !number(position) || !(reference.is_empty() || number(reference)) {
                wrong.push(format!("{id} at `{position}` reference `{reference}`"));
            }
            if ElementError::from_code(s.value(3)).is_none() {
                wrong.push(format!("{id}03 `{}`", s.value(3)));
            }
        } else if id == response {
            match SetStatus::from_code(s.value(1)) {
                Some(status) if status.is_accepted() => accepted += 1,
                Some(_) => {}
                None => wrong.push(format!("{id}01 `{}`", s.value(1))),
            }
            for n in 2..=s.elements.len() {
                if SetError::from_code(s.value(n)).is_none() {
                    wrong.push(format!("{id}{n:02} `{}`", s.value(n)));
                }
            }
        }
        last = Some(s);
    }
    match last {
        Some(ak9) if ak9.id == "AK9" => {
            if GroupStatus::from_code(ak9.value(1)).is_none() {
                wrong.push(format!("AK901 `{}`", ak9.value(1)));
            }
            let counts: Vec<&str> = (2..=4).map(|n| ak9.value(n)).collect();
            if !counts.iter().all(|c| number(c)) {
                wrong.push(format!("AK902-AK904 {counts:?}"));
            } else if loops > 0 {
                // When the sets are listed, AK903 counts them and AK904 counts those accepted.
                if counts[1] != loops.to_string() || counts[2] != accepted.to_string() {
                    wrong.push(format!(
                        "AK9 counts {counts:?} for {loops} AK2 loops, {accepted} accepted"
                    ));
                }
            }
            for n in 5..=ak9.elements.len() {
                if GroupError::from_code(ak9.value(n)).is_none() {
                    wrong.push(format!("AK9{n:02} `{}`", ak9.value(n)));
                }
            }
        }
        _ => wrong.push("no AK9 last".to_owned()),
    }
    wrong
}

#[test]
fn corpus_997s_999s_and_ta1s_read_with_the_ack_code_lists() {
    // Deliberately broken acknowledgments (staedi's validator fixtures) that the code lists must catch.
    let broken = [
        "staedi/x12__extraDelimiter997.edi",
        "staedi/x12__invalid997.edi",
    ];
    let (mut sets, mut ta1s) = (0, 0);
    let mut caught = Vec::new();
    for (name, bytes) in corpus_files() {
        let Ok(interchanges) = parse(&bytes) else {
            continue;
        };
        for interchange in &interchanges {
            for ta1 in interchange
                .service_segments
                .iter()
                .filter(|s| s.id == "TA1")
            {
                ta1s += 1;
                assert!(
                    matches!(ta1.value(4), "A" | "E" | "R"),
                    "{name}: TA104 `{}`",
                    ta1.value(4)
                );
                let note = ta1.value(5);
                assert!(
                    note.is_empty() || InterchangeNote::from_code(note).is_some(),
                    "{name}: TA105 `{note}`"
                );
            }
            for set in interchange
                .groups
                .iter()
                .flat_map(|g| &g.transactions)
                .filter(|t| t.code == "997" || t.code == "999")
            {
                if set.segments.is_empty() {
                    continue; // staedi's x12__empty997.edi: an ST and SE with nothing between.
                }
                sets += 1;
                let wrong = misread(set);
                if broken.contains(&name.as_str()) {
                    assert!(
                        !wrong.is_empty(),
                        "{name}: its deliberate errors went unnoticed"
                    );
                    caught.push(name.clone());
                } else {
                    assert!(wrong.is_empty(), "{name} {}: {wrong:?}", set.control_number);
                }
            }
        }
    }
    caught.sort();
    caught.dedup();
    assert_eq!(
        caught, broken,
        "every deliberately broken acknowledgment is read"
    );
    assert!(sets >= 20, "only {sets} acknowledgment sets in the corpus");
    assert!(ta1s >= 5, "only {ta1s} TA1s in the corpus");
}
