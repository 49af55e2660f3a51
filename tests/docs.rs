//! The docs cannot drift from the code: every `quorum` command shown in them runs and exits as
//! documented; every fenced block is closed by a bare fence; every `module::function` or
//! `Type::member` they name is defined in src/, and every repository file they cite exists; every
//! state count in a check table is one its models/ file asserts, every planted bug's step count (in
//! a table, the bug zoo or a sentence naming it) is the one its `bug_tests!` asserts, a count
//! quoted as "N states" in prose is asserted too (or a named measurement), and README's
//! bug totals are the code's.
//!
//! The commands are the lines of fenced ```sh and ```console blocks in README.md and docs/*.md
//! that start (after an optional `$ `) with `quorum`, `target/release/quorum` or
//! `cargo run --release --`; they run with the binary under test, in a fresh temporary
//! directory. A trailing comment `# … exit N …` gives the expected exit code (0 otherwise). Other
//! lines (cargo build/test, shell variables, output) are not commands of the binary.
//!
//! A block that must not run (it starts a server, or takes minutes) is preceded by
//! `<!-- not run: WHY; tested in tests/FILE.rs::TEST -->`, and TEST must exist in that file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Doc {
    file: PathBuf,
    line: usize,
    args: Vec<String>,
    exit: i32,
}

/// The marker before a skipped block: the (file, test)s it names.
fn marker(line: &str) -> Option<Result<Vec<(String, String)>, String>> {
    let body = line.trim().strip_prefix("<!-- not run:")?.strip_suffix("-->")?;
    let Some(at) = body.find("tested in ") else {
        return Some(Err(format!("marker without \"tested in FILE::TEST\": {line}")));
    };
    let named = body[at + "tested in ".len()..].trim();
    let tests: Option<Vec<(String, String)>> = named
        .split(", ")
        .map(|t| t.split_once("::").map(|(f, t)| (f.trim().to_owned(), t.trim().to_owned())))
        .collect();
    Some(tests.filter(|t| !t.is_empty()).ok_or_else(|| format!("marker must name FILE::TEST[, FILE::TEST]: {line}")))
}

fn command(line: &str) -> Option<(Vec<String>, i32)> {
    let line = line.trim().strip_prefix("$ ").unwrap_or(line.trim());
    let rest =
        ["quorum ", "target/release/quorum ", "cargo run --release -- "].iter().find_map(|p| line.strip_prefix(p))?;
    let (cmd, comment) = match rest.find(" #") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, ""),
    };
    let exit = comment
        .split("exit ")
        .nth(1)
        .and_then(|s| s.chars().next())
        .and_then(|c| c.to_digit(10))
        .map_or(0, |d| d as i32);
    Some((cmd.split_whitespace().map(String::from).collect(), exit))
}

/// The commands to run, and the (file, test) of every skipped block.
#[allow(clippy::type_complexity)]
fn collect(files: &[PathBuf]) -> (Vec<Doc>, Vec<(PathBuf, usize, String, String)>, Vec<String>) {
    let (mut run, mut skipped, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for file in files {
        let text = std::fs::read_to_string(file).expect("readable doc");
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let fence = lines[i].trim_start();
            if !fence.starts_with("```") {
                i += 1;
                continue;
            }
            let lang = fence.trim_start_matches('`').trim();
            let start = i;
            i += 1;
            let mut body = Vec::new();
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push((i + 1, lines[i]));
                i += 1;
            }
            i += 1;
            if !matches!(lang, "sh" | "console" | "shell" | "bash") {
                continue;
            }
            let before = lines[..start].iter().rev().find(|l| !l.trim().is_empty()).copied().unwrap_or("");
            let commands: Vec<_> = body.iter().filter_map(|(n, l)| command(l).map(|c| (*n, c))).collect();
            match marker(before) {
                Some(Ok(tests)) => {
                    if commands.is_empty() {
                        problems.push(format!(
                            "{}:{}: a not-run marker on a block without commands",
                            file.display(),
                            start + 1
                        ));
                    }
                    skipped.extend(tests.into_iter().map(|(f, t)| (file.clone(), start + 1, f, t)));
                }
                Some(Err(e)) => problems.push(format!("{}:{}: {e}", file.display(), start + 1)),
                None => run.extend(commands.into_iter().map(|(line, (args, exit))| Doc {
                    file: file.clone(),
                    line,
                    args,
                    exit,
                })),
            }
        }
    }
    (run, skipped, problems)
}

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir("docs")
        .expect("docs/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn run(doc: &Doc, dir: &Path) -> Result<(), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(&doc.args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("still running after 90 s: mark its block not-run and name the test that covers it".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    if status.code() != Some(doc.exit) {
        return Err(format!("exit {:?}, documented {}; stderr:\n{err}", status.code(), doc.exit));
    }
    if err.contains("panicked") {
        return Err(format!("panicked:\n{err}"));
    }
    Ok(())
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn every_command_in_the_docs_exits_as_documented() {
    let (docs, skipped, mut problems) = collect(&doc_files());
    assert!(docs.len() >= 15, "only {} commands found: is the extraction broken?", docs.len());
    for (file, line, test_file, test) in &skipped {
        match std::fs::read_to_string(test_file) {
            Ok(src) if src.contains(&format!("fn {test}(")) => {}
            _ => problems
                .push(format!("{}:{line}: the covering test {test_file}::{test} does not exist", file.display())),
        }
    }
    for doc in &docs {
        let dir = tempfile::tempdir().expect("a temp dir");
        if let Err(e) = run(doc, dir.path()) {
            problems.push(format!("{}:{}: quorum {}: {e}", doc.file.display(), doc.line, doc.args.join(" ")));
        }
    }
    eprintln!("ran {} documented commands; {} blocks not run (each names its test)", docs.len(), skipped.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_extraction_reads_commands_exit_codes_and_markers() {
    assert_eq!(command("quorum bugs raft"), Some((vec!["bugs".into(), "raft".into()], 0)));
    assert_eq!(
        command("$ cargo run --release -- check raft --bug stale-read   # exit 1: a counterexample"),
        Some((vec!["check".into(), "raft".into(), "--bug".into(), "stale-read".into()], 1))
    );
    assert_eq!(command("cargo test --release"), None);
    assert_eq!(
        marker("<!-- not run: a server; tested in tests/cluster.rs::three_node -->"),
        Some(Ok(vec![("tests/cluster.rs".into(), "three_node".into())]))
    );
    assert_eq!(
        marker("<!-- not run: slow; tested in tests/cli.rs::a, tests/cli.rs::b -->")
            .and_then(Result::ok)
            .map(|t| t.len()),
        Some(2)
    );
    assert!(matches!(marker("<!-- not run: slow -->"), Some(Err(_))));
}

/// README's count of planted bugs ("with N, M and K planted bugs", Paxos, Raft, PBFT) is the code's.
#[test]
fn the_readme_counts_the_planted_bugs_the_code_plants() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = format!(
        "with {}, {} and {} planted bugs",
        quorum::paxos::Bug::ALL.len(),
        quorum::raft::Bug::ALL.len(),
        quorum::pbft::Bug::ALL.len()
    );
    assert!(flat.contains(&expected), "README.md should say \"{expected}\"");
}

// ---------------------------------------------------------------------------------------------
// Docs that cannot drift: fences, named code, cited files, and the counts the models assert.
// ---------------------------------------------------------------------------------------------

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fenced block opens with ``` (an info string allowed) and closes with a bare ```: a
/// closing fence with text after it is not a closing fence, and the rest of the file would
/// render as code.
fn fence_problems(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut open: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim();
        if !fence.starts_with("```") {
            continue;
        }
        match open {
            None => open = Some(i + 1),
            Some(_) if fence == "```" => open = None,
            Some(at) => problems.push(format!(
                "{name}:{}: text after a closing fence (the block opened at line {at} would run on)",
                i + 1
            )),
        }
    }
    if let Some(at) = open {
        problems.push(format!("{name}:{at}: a fence never closed"));
    }
    problems
}

/// The lines outside fenced blocks, numbered from 1.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut open = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            open = !open;
        } else if !open {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The inline code spans of a line.
fn spans(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// The Rust paths (`a::b`, `a::b::c`) that start an inline code span, without what follows them
/// (`()`, `{ .. }`, arguments). A span with a `/` names a file and its item: see `file_items`.
fn code_paths(line: &str) -> Vec<String> {
    spans(line)
        .filter(|s| !s.contains('/'))
        .filter_map(|s| {
            let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(s.len());
            let path = s[..end].trim_end_matches(':');
            let ok = path.contains("::")
                && path.split("::").all(|seg| seg.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'));
            ok.then(|| path.to_owned())
        })
        .collect()
}

/// Paths into other crates, which the docs name but src/ does not define.
const FOREIGN: &[(&str, &str)] = &[
    ("stateright", "the model checker"),
    ("std", "the standard library"),
    ("clap", "the CLI parser"),
    ("RegisterActor", "stateright::actor::register, in Stateright's examples and ours"),
    ("RegisterMsg", "stateright::actor::register"),
    ("Checker", "stateright::Checker"),
    ("Id", "stateright::actor::Id"),
    ("Vec", "std"),
    ("Arc", "std::sync"),
    ("Cow", "std::borrow"),
    ("File", "std::fs"),
    ("u64", "a primitive type"),
];

/// Whether `line` of a Rust source defines `name`: an item, a field or an enum variant.
fn defines(line: &str, name: &str) -> bool {
    let t = line.trim_start();
    let t = ["pub(crate) ", "pub(super) ", "pub "].iter().find_map(|p| t.strip_prefix(p)).unwrap_or(t);
    let item =
        ["fn ", "const fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "mod ", "macro_rules! "]
            .iter()
            .any(|kw| {
                t.strip_prefix(kw).is_some_and(|r| r.starts_with(name) && !r[name.len()..].starts_with(ident_char))
            });
    let member = t.strip_prefix(name).is_some_and(|r| {
        matches!(r.chars().next(), Some(',' | '(' | ':') | None) || r.starts_with(" {") || r.starts_with(" =")
    }) && !t.starts_with(&format!("{name}::"));
    item || member
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a documented path names something defined in `sources` (path, text): its last segment
/// is defined in a file of the module its first lowercase segment names (`server::step`: a file
/// src/…/server.rs, or under a directory server/), or in a file that defines the type it is a
/// member of or has an `impl` of it (`RaftModel::actions`: a file with `struct RaftModel` or
/// `impl RaftModel`).
fn resolves(path: &str, sources: &[(String, String)]) -> Result<(), String> {
    let segs: Vec<&str> = path.split("::").filter(|s| !matches!(*s, "quorum" | "crate")).collect();
    let (Some(&first), Some(&name)) = (segs.first(), segs.last()) else { return Err("empty path".into()) };
    if FOREIGN.iter().any(|(f, _)| *f == first) {
        return Ok(());
    }
    let defines_in = |text: &str, name: &str| text.lines().any(|l| defines(l, name));
    let parent = segs[segs.len().saturating_sub(2)];
    let files: Vec<&(String, String)> = if parent.starts_with(char::is_uppercase) {
        let implements = |text: &str| {
            [format!("impl {parent} "), format!("impl {parent}<"), format!(" for {parent} "), format!(" for {parent}<")]
                .iter()
                .any(|i| text.contains(i.as_str()))
        };
        sources.iter().filter(|(_, text)| defines_in(text, parent) || implements(text)).collect()
    } else {
        sources.iter().filter(|(file, _)| file.trim_end_matches(".rs").split('/').any(|part| part == first)).collect()
    };
    if files.is_empty() {
        return Err(format!("no file of src/ is the module or defines the type `{parent}`"));
    }
    if files.iter().any(|(_, text)| defines_in(text, name)) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not defined in {}",
            files.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>().join(", ")
        ))
    }
}

fn rust_sources(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(dir)];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.to_string_lossy().replace('\\', "/"), read(&path)));
            }
        }
    }
    out.sort();
    out
}

/// The repository's top-level directories a cited path may start with (and `shared/`, which
/// is not in the repository: a citation of it is always broken).
const REPO_DIRS: &[&str] = &["src/", "docs/", "tests/", "models/", "proofs/", "bench/", ".ci/", "shared/"];

/// The repository files the docs cite: inline code spans and link targets that start with a
/// top-level directory (`tests/cli.rs`, `../src/raft/server.rs`), with the item after a `::`
/// when there is one (`tests/cluster.rs::three_node`), relative to the repository root.
fn cited_files(doc: &str, line: &str) -> Vec<(String, Option<String>)> {
    let base = Path::new(doc).parent().unwrap_or(Path::new(""));
    let links = line.split("](").skip(1).filter_map(|s| s.split(')').next());
    let mut out = Vec::new();
    for cited in spans(line).chain(links) {
        let cited = cited.split('#').next().unwrap_or("").trim();
        let (file, item) = match cited.split_once("::") {
            Some((f, i)) => (f, Some(i.split(|c: char| !ident_char(c)).next().unwrap_or("").to_owned())),
            None => (cited, None),
        };
        if file.contains(' ') || file.is_empty() {
            continue;
        }
        let from_root = if file.starts_with("../") || file.starts_with("./") {
            let joined = base.join(file);
            let mut parts: Vec<&str> = Vec::new();
            for part in joined.to_str().unwrap_or("").split('/') {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    p => parts.push(p),
                }
            }
            parts.join("/")
        } else {
            file.to_owned()
        };
        // `src/foo/`: the placeholder of docs/architecture.md's "how to add a protocol".
        let placeholder = from_root.split('/').any(|part| part == "foo" || part.starts_with("foo."));
        if REPO_DIRS.iter().any(|d| from_root.starts_with(d)) && !placeholder {
            out.push((from_root, item));
        }
    }
    out
}

#[test]
fn every_fence_in_the_docs_is_closed_by_a_bare_fence() {
    let problems: Vec<String> =
        doc_files().iter().flat_map(|f| fence_problems(&f.display().to_string(), &read(f))).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_fence_check_finds_text_after_a_closing_fence_and_an_unclosed_fence() {
    assert!(fence_problems("ok", "a\n```sh\nquorum bugs raft\n```\nb\n```\nplain\n```\n").is_empty());
    let broken = fence_problems("raft.md", "```sh\nquorum check raft\n``` A leader appends\nmore\n");
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].starts_with("raft.md:3: text after a closing fence"));
    assert!(broken[1].starts_with("raft.md:1: a fence never closed"));
}

#[test]
fn every_code_path_the_docs_name_is_defined_in_src() {
    // The rule tables name their tests as `paper::…`: tests/paper.rs is that module.
    let mut sources = rust_sources("src");
    sources.push(("tests/paper.rs".to_owned(), read(Path::new("tests/paper.rs"))));
    let mut problems = Vec::new();
    let mut seen = 0;
    for file in doc_files() {
        for (n, line) in prose(&read(&file)) {
            for path in code_paths(line) {
                seen += 1;
                if let Err(e) = resolves(&path, &sources) {
                    problems.push(format!("{}:{n}: `{path}`: {e}", file.display()));
                }
            }
        }
    }
    assert!(seen >= 50, "only {seen} code paths found: is the extraction broken?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_code_path_check_resolves_functions_members_and_foreign_crates() {
    assert_eq!(
        code_paths("`server::step`, `RaftModelCfg::into_model()` and `RaftMsg::Vote { candidate }`"),
        ["server::step", "RaftModelCfg::into_model", "RaftMsg::Vote"]
    );
    assert!(code_paths("`tests/cli.rs::a` `a :: b` `--bug x` `8::9`").is_empty());
    let sources = vec![
        ("src/raft/server.rs".to_owned(), "pub fn step() {}\nfn become_leader(x: u8) {}\n".to_owned()),
        (
            "src/raft/model.rs".to_owned(),
            "pub struct RaftModelCfg {\n    pub lossy: bool,\n}\nenum Kind {\n    Local,\n    Vote { c: u8 },\n}\n"
                .to_owned(),
        ),
        ("src/raft/reduction.rs".to_owned(), "impl RaftModel {\n    fn dead_everywhere(&self) {}\n}\n".to_owned()),
    ];
    for good in [
        "server::step",
        "quorum::raft::server::become_leader",
        "RaftModelCfg::lossy",
        "Kind::Vote",
        "RaftModel::dead_everywhere",
        "std::fs::read",
    ] {
        assert_eq!(resolves(good, &sources), Ok(()), "{good}");
    }
    for bad in ["server::stepp", "server::become", "log::matches", "RaftModelCfg::eager", "Missing::new"] {
        assert!(resolves(bad, &sources).is_err(), "{bad} should not resolve");
    }
}

#[test]
fn every_file_the_docs_cite_is_in_the_repository() {
    let mut problems = Vec::new();
    for file in doc_files() {
        let name = file.display().to_string();
        for (n, line) in prose(&read(&file)) {
            for (cited, item) in cited_files(&name, line) {
                let path = Path::new(&cited);
                if !path.exists() {
                    problems.push(format!("{name}:{n}: `{cited}` is not in the repository"));
                } else if let Some(item) = item.filter(|_| path.is_file()) {
                    if !read(path).lines().any(|l| defines(l, &item)) {
                        problems.push(format!("{name}:{n}: `{cited}` defines no `{item}`"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_citation_check_reads_spans_links_and_items() {
    let cited = cited_files(
        "docs/raft.md",
        "see `shared/design.md`, [server](../src/raft/server.rs), [x](paxos.md#a), \
         `models/raft.rs::figure_8_bound`, `src/foo/door.rs` and `examples/raft.rs`",
    );
    assert_eq!(
        cited,
        [
            ("shared/design.md".to_owned(), None),
            ("models/raft.rs".to_owned(), Some("figure_8_bound".to_owned())),
            ("src/raft/server.rs".to_owned(), None),
        ]
    );
}

/// The numbers asserted in a models/ file: literals in a `const STATES_…`/`const STEPS_…` and in
/// the calls of the functions that assert a state count.
fn asserted_numbers(src: &str) -> std::collections::BTreeSet<u64> {
    let mut texts: Vec<&str> =
        src.lines().filter(|l| l.trim_start().starts_with("const STATES_") || l.contains("const STEPS_")).collect();
    for call in ["assert_exhaustively_correct(", "assert_all_hold(", "assert_symmetry_keeps_every_verdict("] {
        for (at, _) in src.match_indices(call).filter(|(at, _)| !src[..*at].ends_with("fn ")) {
            let rest = &src[at + call.len()..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            texts.push(&rest[..end]);
        }
    }
    texts.iter().flat_map(|t| numbers(t, '_')).collect()
}

/// The numbers in `text` written with digits and `sep` as the thousands separator (`904_750`,
/// `904,750`, `635`), not as part of a word (`t2`, `STATES_T2`).
fn numbers(text: &str, sep: char) -> Vec<u64> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() && (i == 0 || !(ident_char(chars[i - 1]) || chars[i - 1] == '.'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut digits = String::new();
        while j < chars.len()
            && (chars[j].is_ascii_digit() || (chars[j] == sep && chars.get(j + 1).is_some_and(char::is_ascii_digit)))
        {
            if chars[j] != sep {
                digits.push(chars[j]);
            }
            j += 1;
        }
        if !(j < chars.len() && (ident_char(chars[j]) || chars[j] == '.')) {
            out.extend(digits.parse::<u64>().ok());
        }
        i = j.max(i + 1);
    }
    out
}

/// The rows of the tables whose header starts `| check (models/FILE.rs)` or
/// `| mirror check (models/FILE.rs)` and ends `| unique states |`: (line, FILE, the numbers of the
/// last cell).
fn state_count_rows(text: &str) -> Vec<(usize, String, Vec<u64>)> {
    let mut rows = Vec::new();
    let mut table: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if !t.starts_with('|') {
            table = None;
            continue;
        }
        let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
        if let Some(file) = &table {
            if !cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
                rows.push((i + 1, file.clone(), numbers(cells.last().unwrap_or(&""), ',')));
            }
        } else if cells.last() == Some(&"unique states") {
            table = cells[0]
                .split("(models/")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .filter(|_| cells[0].starts_with("check (") || cells[0].starts_with("mirror check ("))
                .map(|f| format!("models/{f}"));
        }
    }
    rows
}

#[test]
fn every_state_count_in_a_check_table_is_asserted_by_its_model() {
    let mut problems = Vec::new();
    let mut rows_seen = 0;
    for file in doc_files() {
        for (n, model, counts) in state_count_rows(&read(&file)) {
            rows_seen += 1;
            let asserted = asserted_numbers(&read(Path::new(&model)));
            for count in counts.iter().filter(|c| !asserted.contains(c)) {
                problems.push(format!("{}:{n}: {count} states is not a count {model} asserts", file.display()));
            }
        }
    }
    assert!(rows_seen >= 40, "only {rows_seen} table rows found: is the extraction broken?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_state_count_check_reads_the_tables_and_the_asserted_numbers() {
    let model = "const STATES_T2: usize = 24_941;\nassert_exhaustively_correct(\n    cfg(t2),\n    635,\n);\n\
                 assert_symmetry_keeps_every_verdict(cfg, 5, (STATES_T2, 38_426));\nlet x = 12_345;\n";
    assert_eq!(asserted_numbers(model).into_iter().collect::<Vec<_>>(), [5, 635, 24_941, 38_426]);
    let doc = "| check (models/raft.rs) | bound | unique states |\n|---|---|---|\n| a | terms ≤ 2 | 24,941 |\n\
               | b | t2 | 635 / 12,345 |\n| c | each bug | — |\n\ntext\n| flags | unique states |\n|---|---|\n| x | 7 |\n";
    assert_eq!(
        state_count_rows(doc),
        [
            (3, "models/raft.rs".to_owned(), vec![24_941]),
            (4, "models/raft.rs".to_owned(), vec![635, 12_345]),
            (5, "models/raft.rs".to_owned(), vec![]),
        ]
    );
    let asserted = asserted_numbers(model);
    let drifted: Vec<u64> =
        state_count_rows(doc).into_iter().flat_map(|r| r.2).filter(|c| !asserted.contains(c)).collect();
    assert_eq!(drifted, [12_345], "a count the model does not assert is caught");
}

/// State counts the prose quotes that no model asserts: measurements of configurations the suite
/// does not check, each with where it comes from.
const MEASURED_STATES: &[(u64, &str)] = &[
    (152_804, "the mirror, local self-sends, dead messages kept: docs/paxos.md's table of choices"),
    (71_039, "the mirror on the ordered network with Stateright's recorder, dead messages kept"),
    (9_005, "Raft at the TLC bound: docs/raft.md's table of feature costs"),
    (814_550, "Stateright's own examples/raft.rs, BFS to depth 10"),
    (601_510, "eager replication without parallel writes, Put then Get"),
];

/// The counts written "N states" or "N unique states" (with thousands separators, 1,000 and up)
/// in prose, outside code blocks and tables.
fn prose_state_counts(text: &str) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    for (n, line) in prose(text).into_iter().filter(|(_, l)| !l.trim_start().starts_with('|')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let next = words.get(i + 1).map(|w| w.trim_end_matches(|c: char| !c.is_alphabetic()));
            let states = next == Some("states")
                || (next == Some("unique")
                    && words.get(i + 2).map(|w| w.trim_end_matches(|c: char| !c.is_alphabetic())) == Some("states"));
            let w = w.trim_start_matches('(');
            if states && w.contains(',') && w.chars().all(|c| c.is_ascii_digit() || c == ',') {
                out.extend(numbers(w, ',').into_iter().map(|c| (n, c)));
            }
        }
    }
    out
}

#[test]
fn every_state_count_quoted_in_prose_is_asserted_or_a_named_measurement() {
    let mut asserted = std::collections::BTreeSet::new();
    for (file, _) in rust_sources("models") {
        asserted.extend(asserted_numbers(&read(Path::new(&file))));
    }
    let mut problems = Vec::new();
    for file in doc_files() {
        for (n, count) in prose_state_counts(&read(&file)) {
            if !asserted.contains(&count) && !MEASURED_STATES.iter().any(|(m, _)| *m == count) {
                problems.push(format!(
                    "{}:{n}: {count} states is neither asserted in models/ nor a named measurement",
                    file.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_prose_count_check_reads_states_and_unique_states() {
    let doc = "explores 814,550 unique states in 15 s; (904,750 states) and\n~900 k states, 635 states, 24,941\n\n\
               | 1,000 states |\n```\n2,000 states\n```\n";
    assert_eq!(prose_state_counts(doc), [(1, 814_550), (1, 904_750)]);
}

/// The step counts a models/ file asserts for its planted bugs, as (variant, steps): a line that
/// names one `Bug::Variant` and ends with the count as its last argument (a `bug_tests!` row
/// `name: Bug::Variant, steps;`, `assert_caught(…, bug_config(Bug::Variant), PROPERTY, steps);`,
/// `assert_violated(…(Bug::Variant), PROPERTY, steps);`, a `(Bug::Variant, "scenario", steps),`
/// row), or a `let p = …(Bug::Variant)…;` whose `p.trace.len()` the function then asserts.
/// Configurations without the bug (`.without_bugs()`) assert state counts, not steps.
fn asserted_steps(src: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for l in src.lines() {
        let t = l.trim();
        if t.starts_with('}') || t.starts_with("fn ") {
            pending = None;
        }
        if t.starts_with("//") {
            continue;
        }
        if let (Some(variant), Some((_, n))) = (pending.as_ref(), t.split_once("p.trace.len(), ")) {
            if let Ok(steps) = n.trim_end_matches([')', ';']).trim().parse() {
                out.push((variant.clone(), steps));
                pending = None;
            }
            continue;
        }
        let Some((_, rest)) = t.split_once("Bug::") else { continue };
        let variant: String = rest.chars().take_while(|c| ident_char(*c)).collect();
        if variant.is_empty() || variant == "ALL" || t.contains("without_bugs") {
            continue;
        }
        let last = t.trim_end_matches([';', ',', ')']).rsplit_once(", ").map(|(_, n)| n.trim());
        match last.and_then(|n| n.parse().ok()) {
            Some(steps) => out.push((variant, steps)),
            None if t.starts_with("let p = ") => pending = Some(variant),
            None => {}
        }
    }
    out
}

/// The planted bugs' step counts a doc states: rows of a table headed `| bug | … steps …` (the
/// first number of the steps column) and, in the bug zoo, `### `NAME`` headings followed by
/// "Counterexample: N steps".
fn documented_steps(text: &str) -> Vec<(usize, String, usize)> {
    let mut out = Vec::new();
    let mut column: Option<usize> = None;
    let mut heading: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("### `").and_then(|r| r.split('`').next()) {
            heading = Some(name.to_owned());
        }
        if let Some(rest) = t.strip_prefix("Counterexample: ") {
            if let (Some(name), Some(&steps)) = (heading.take(), numbers(rest, ',').first()) {
                out.push((i + 1, name, steps as usize));
            }
        }
        if !t.starts_with('|') {
            column = None;
            continue;
        }
        let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
        match column {
            None if cells[0] == "bug" => {
                column = cells.iter().position(|c| c.contains("steps") || c.contains("counterexample"))
            }
            Some(col) if !cells[0].starts_with("---") => {
                let name = cells[0].trim_matches('`').to_owned();
                if let Some(steps) = cells.get(col).and_then(|c| numbers(c, ',').first().copied()) {
                    out.push((i + 1, name, steps as usize));
                }
            }
            _ => {}
        }
    }
    out
}

/// The step counts stated in prose: a sentence (outside code blocks and tables) that names
/// exactly one planted bug in backticks (`` `stale-read` `` or `` `… --bug stale-read` ``) and
/// states exactly one "N steps" or "N-step" is about that bug's shortest counterexample.
fn prose_steps(text: &str, bugs: &[&str]) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let body: Vec<&str> = prose(text).into_iter().map(|(_, l)| l).collect();
    for para in body.split(|l| l.trim().is_empty()) {
        let text = para.iter().filter(|l| !l.trim_start().starts_with('|'));
        let flat = text.flat_map(|l| l.split_whitespace()).collect::<Vec<_>>().join(" ");
        for sentence in flat.split(". ").flat_map(|s| s.split("; ")).flat_map(|s| s.split(": ")) {
            let mut named: Vec<&str> = spans(sentence)
                .filter_map(|span| {
                    let name = span.rsplit("--bug ").next().unwrap_or(span).trim();
                    bugs.iter().copied().find(|b| *b == name)
                })
                .collect();
            named.dedup();
            let words: Vec<&str> = sentence.split_whitespace().collect();
            let counts: Vec<usize> = words
                .iter()
                .enumerate()
                .filter_map(|(i, w)| match w.strip_suffix("-step") {
                    Some(n) => n.parse().ok(),
                    None if words
                        .get(i + 1)
                        .is_some_and(|next| next.trim_end_matches([',', '.', ')', ':']) == "steps") =>
                    {
                        w.parse().ok()
                    }
                    None => None,
                })
                .collect();
            if let ([bug], [steps]) = (named.as_slice(), counts.as_slice()) {
                out.push((sentence.chars().take(80).collect(), (*bug).to_owned(), *steps));
            }
        }
    }
    out
}

/// Each planted bug's step counts as its model asserts them: one for a Raft or Paxos bug (its
/// `bug_tests!` row); for a PBFT bug, each that models/pbft.rs asserts (a bound's shortest, a
/// scenario's, a DFS's), at least one.
fn bug_steps_in_the_models() -> std::collections::BTreeMap<&'static str, std::collections::BTreeSet<usize>> {
    use quorum::bugs::PlantedBug;
    fn named<B: PlantedBug>(model: &str) -> Vec<(&'static str, usize)> {
        let src = read(Path::new(model));
        asserted_steps(&src)
            .into_iter()
            .map(|(variant, steps)| {
                let bug = B::LIST.iter().find(|b| format!("{b:?}") == variant);
                (bug.unwrap_or_else(|| panic!("{model}: no bug {variant}")).name(), steps)
            })
            .collect()
    }
    let mut all = named::<quorum::paxos::Bug>("models/paxos.rs");
    all.extend(named::<quorum::raft::Bug>("models/raft.rs"));
    assert_eq!(all.len(), quorum::paxos::Bug::ALL.len() + quorum::raft::Bug::ALL.len(), "a bug without its test");
    let mut steps = std::collections::BTreeMap::new();
    for (bug, n) in all.into_iter().chain(named::<quorum::pbft::Bug>("models/pbft.rs")) {
        steps.entry(bug).or_insert_with(std::collections::BTreeSet::new).insert(n);
    }
    for bug in quorum::pbft::Bug::ALL {
        assert!(steps.contains_key(bug.name()), "models/pbft.rs asserts no step count for {}", bug.name());
    }
    assert_eq!(
        steps.len(),
        [PAXOS, RAFT, PBFT].iter().sum::<usize>(),
        "a bug without its test, or two bugs of one name"
    );
    steps
}

const PAXOS: usize = quorum::paxos::Bug::ALL.len();
const RAFT: usize = quorum::raft::Bug::ALL.len();
const PBFT: usize = quorum::pbft::Bug::ALL.len();

/// A bug's asserted step counts for a message: `9`, or `one of 22, 24, 33`.
fn one_of(steps: &std::collections::BTreeSet<usize>) -> String {
    let all: Vec<String> = steps.iter().map(usize::to_string).collect();
    if all.len() == 1 {
        all.concat()
    } else {
        format!("one of {}", all.join(", "))
    }
}

#[test]
fn every_planted_bug_step_count_in_the_docs_is_the_one_its_model_asserts() {
    let steps = bug_steps_in_the_models();
    let mut problems = Vec::new();
    let mut listed = std::collections::BTreeMap::new();
    for file in doc_files() {
        for (n, name, documented) in documented_steps(&read(&file)) {
            listed.entry(file.clone()).or_insert_with(Vec::new).push(name.clone());
            match steps.get(name.as_str()) {
                Some(s) if s.contains(&documented) => {}
                Some(s) => problems.push(format!(
                    "{}:{n}: `{name}` in {documented} steps; the model asserts {}",
                    file.display(),
                    one_of(s)
                )),
                None => problems.push(format!("{}:{n}: `{name}` is not a planted bug", file.display())),
            }
        }
    }
    let names: Vec<&str> = steps.keys().copied().collect();
    for file in doc_files() {
        for (sentence, name, documented) in prose_steps(&read(&file), &names) {
            if !steps[name.as_str()].contains(&documented) {
                problems.push(format!(
                    "{}: \"{sentence}…\": `{name}` in {documented} steps; the model asserts {}",
                    file.display(),
                    one_of(&steps[name.as_str()])
                ));
            }
        }
    }
    // The step tables of docs/raft.md and docs/paxos.md, and the bug zoo, list every bug (the
    // zoo PBFT's bugs too).
    let raft: Vec<&str> = quorum::raft::Bug::ALL.iter().map(|b| quorum::bugs::PlantedBug::name(*b)).collect();
    let paxos: Vec<&str> = quorum::paxos::Bug::ALL.iter().map(|b| quorum::bugs::PlantedBug::name(*b)).collect();
    let pbft: Vec<&str> = quorum::pbft::Bug::ALL.iter().map(|b| quorum::bugs::PlantedBug::name(*b)).collect();
    let expect = [
        ("docs/raft.md", raft.clone()),
        ("docs/paxos.md", paxos.clone()),
        ("docs/bug-zoo.md", [raft, paxos, pbft].concat()),
    ];
    for (doc, bugs) in expect {
        let got = listed.get(Path::new(doc)).cloned().unwrap_or_default();
        for bug in bugs.iter().filter(|b| !got.iter().any(|g| g == *b)) {
            problems.push(format!("{doc}: no step count for `{bug}`"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_step_count_check_reads_bug_tests_tables_and_the_zoo() {
    let model =
        "bug_tests! {\n    #[cfg_attr(x)]\n    figure8: Bug::Figure8Commit, 19;\n    b: Bug::StaleRead, 15;\n}\n";
    assert_eq!(asserted_steps(model), [("Figure8Commit".to_owned(), 19), ("StaleRead".to_owned(), 15)]);
    // models/pbft.rs: calls, a scenario row, a DFS's asserted length; not a bug-free bound's states.
    let model = "fn a() {\n    assert_caught(\"x\", cfg.with_bug(Bug::OnlyPrimaryReplies), EVENTUALLY_ANSWERED, 22);\n\
                 \x20   assert_violated(&bug_config(Bug::ClientTrustsOneReply), LINEARIZABLE, 6);\n\
                 \x20   assert_exhaustively_correct(bug_config(Bug::NoAuthentication).without_bugs(), 14);\n}\n\
                 fn b() {\n    let p = first_dfs_counterexample(&bug_config(Bug::NewViewIgnoresPrepared), AGREEMENT);\n\
                 \x20   assert_eq!(p.trace.len(), 33);\n}\n\
                 fn c() {\n    let p = first_dfs_counterexample(&cfg, AGREEMENT);\n    assert_eq!(p.trace.len(), 29);\n\
                 \x20   let cases = [\n        (Bug::CommitQuorum2f, \"pbft-commit-quorum-2f\", 24),\n    ];\n\
                 \x20   for bug in Bug::ALL {}\n}\n";
    assert_eq!(
        asserted_steps(model),
        [
            ("OnlyPrimaryReplies".to_owned(), 22),
            ("ClientTrustsOneReply".to_owned(), 6),
            ("NewViewIgnoresPrepared".to_owned(), 33),
            ("CommitQuorum2f".to_owned(), 24),
        ]
    );
    let doc =
        "| bug | steps | bound |\n|---|---|---|\n| `stale-read` | 15 | terms ≤ 2 |\n| `figure8-commit` | 18 | t4 |\n\n\
               | bug | bound | shortest counterexample |\n|---|---|---|\n| invents-value | 1 proposer | 6 steps |\n\n\
               ### `no-heartbeat` breaks \"x\"\n\ntext 12 steps\n\nCounterexample: 9 steps.\n";
    let prose = "`figure8-commit` is found\nin 19 steps. With `--bug stale-read`, BFS finds a 15-step trace.\n\n\
                 `a` and `stale-read` in 3 steps; `stale-read` in 2 steps or 4 steps.\n| `stale-read` | 9 steps |\n";
    let found: Vec<(String, usize)> =
        prose_steps(prose, &["figure8-commit", "stale-read"]).into_iter().map(|(_, b, n)| (b, n)).collect();
    assert_eq!(found, [("figure8-commit".to_owned(), 19), ("stale-read".to_owned(), 15), ("stale-read".to_owned(), 3)]);
    assert_eq!(
        documented_steps(doc),
        [
            (3, "stale-read".to_owned(), 15),
            (4, "figure8-commit".to_owned(), 18),
            (8, "invents-value".to_owned(), 6),
            (14, "no-heartbeat".to_owned(), 9),
        ]
    );
}
