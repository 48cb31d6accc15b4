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
