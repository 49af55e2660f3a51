//! Every `quorum` command shown in the docs runs and exits as documented.
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

/// README's count of planted bugs ("with N and M planted bugs", Paxos then Raft) is the code's.
#[test]
fn the_readme_counts_the_planted_bugs_the_code_plants() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = format!("with {} and {} planted bugs", quorum::paxos::Bug::ALL.len(), quorum::raft::Bug::ALL.len());
    assert!(flat.contains(&expected), "README.md should say \"{expected}\"");
}
