//! Scenarios and diagrams: every scenario replays in its model and its outcome holds; `quorum
//! scenario` prints it, links it into the Explorer and draws it; the diagrams committed under
//! docs/diagrams/ are the ones the code generates now.

use quorum::teach::scenario::{self, Step};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn quorum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quorum")).args(args).output().expect("quorum runs")
}

const NAMES: [&str; 17] = [
    "split-vote",
    "leader-crash",
    "figure7",
    "figure8",
    "figure8-bug",
    "restart-keeps-term",
    "restart-forgets-term",
    "dueling-proposers",
    "acceptor-recovers-promise",
    "pbft-normal-case",
    "pbft-silent-primary",
    "pbft-checkpoint",
    "pbft-new-view-ignores-prepared",
    "pbft-commit-quorum-2f",
    "pbft-prepared-with-2f-1",
    "pbft-pre-prepare-from-anyone",
    "pbft-collect-before-stable",
];

#[test]
fn every_scenario_replays_and_its_outcome_holds() {
    let names: Vec<_> = scenario::all().iter().map(|s| s.name()).collect();
    assert_eq!(names, NAMES);
    for s in scenario::all() {
        let run = s.run().unwrap_or_else(|e| panic!("{} does not replay: {e}", s.name()));
        assert!(run.holds(), "{}:\n{}", s.name(), run.render());
        assert!(run.svg.is_some(), "{}: no diagram", s.name());
        assert!(run.explorer_path.starts_with("0/"), "{}: {}", s.name(), run.explorer_path);
    }
}

/// Stateright's examples/raft.rs Election Safety counterexample (8 steps, docs/raft.md) is the
/// planted bug term-not-persisted; with Figure 2's persistence the same steps elect no second
/// leader of term 1.
#[test]
fn a_restarted_voter_elects_a_second_leader_only_when_its_term_is_not_saved() {
    let with = scenario::find("restart-forgets-term").expect("listed").run().expect("replays");
    let without = scenario::find("restart-keeps-term").expect("listed").run().expect("replays");
    assert!(with.verdicts.iter().any(|v| v.contains("election safety") && v.ends_with("violated at step 8")));
    assert!(!without.verdicts.iter().any(|v| v.contains("violated")), "{}", without.render());
}

#[test]
fn figure8_commits_the_old_entry_only_with_the_bug() {
    let with = scenario::find("figure8-bug").expect("listed").run().expect("replays");
    let without = scenario::find("figure8").expect("listed").run().expect("replays");
    let violated = |r: &scenario::Run| r.verdicts.iter().filter(|v| v.contains("violated")).count();
    assert_eq!(violated(&without), 0, "{}", without.render());
    assert_eq!(violated(&with), 3, "{}", with.render());
    assert!(with.verdicts.iter().any(|v| v.contains("leader completeness") && v.ends_with("violated at step 19")));
    // The first 19 steps are the same in both: only the commit rule differs.
    let first = |r: &scenario::Run| r.trace.iter().take(19).map(|l| l.action.clone()).collect::<Vec<_>>();
    assert_eq!(first(&with), first(&without));
}

#[test]
fn a_step_that_matches_nothing_is_an_error_naming_the_step() {
    use quorum::raft::RaftModelCfg;
    use quorum::teach::scenario::{cannot, step, Protocol};
    let cfg = RaftModelCfg::default();
    let model = cfg.model();
    let steps: [Step; 2] = [step("s0 election timeout", ""), step("s0 -> s9 : Vote", "")];
    let err = scenario::replay(&cfg, &model, &steps).expect_err("no such action");
    let msg = err.to_string();
    assert!(msg.starts_with("step 2 \"s0 -> s9 : Vote\": no enabled action matches"), "{msg}");
    assert!(msg.contains("s0 -> s1 : RequestVote(t1, last 0@t0)"), "the enabled actions are listed: {msg}");

    let ambiguous = [step("s0 election timeout", ""), step("s0 -> s", "")];
    let msg = scenario::replay(&cfg, &model, &ambiguous).expect_err("ambiguous").to_string();
    assert!(msg.starts_with("step 2 \"s0 -> s\": 2 enabled actions match"), "{msg}");

    let possible = [cannot("s0 election timeout", "")];
    let msg = scenario::replay(&cfg, &model, &possible).expect_err("possible").to_string();
    assert!(msg.contains("should be impossible here"), "{msg}");
}

#[test]
fn quorum_scenario_lists_prints_and_draws() {
    let list = quorum(&["scenario", "list"]);
    assert_eq!(list.status.code(), Some(0));
    let text = String::from_utf8_lossy(&list.stdout);
    for name in NAMES {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing from:\n{text}");
    }

    let dir = tempfile::tempdir().expect("a temp dir");
    let svg = dir.path().join("split.svg");
    let out = quorum(&["scenario", "split-vote", "--svg", svg.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in ["  1. s0 election timeout", "not possible: s0 -> s3 : RequestVote", "outcome: as expected"] {
        assert!(stdout.contains(needle), "{needle:?} missing from:\n{stdout}");
    }
    assert!(stdout.contains("Explorer: quorum explore raft --servers 4 --clients 0"), "{stdout}");
    assert!(stdout.contains("#/steps/0/"), "{stdout}");
    let drawn = std::fs::read_to_string(&svg).expect("the diagram was written");
    assert!(drawn.starts_with("<svg") && drawn.contains("RequestVote(t2, last 0@t0)"), "{drawn}");

    let bad = quorum(&["scenario", "figure-9"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown scenario 'figure-9'; the scenarios are: split-vote, leader-crash"), "{err}");

    let unwritable = quorum(&["scenario", "figure7", "--svg", "/no/such/dir/x.svg"]);
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unwritable.stderr).contains("cannot write /no/such/dir/x.svg"));
}

#[test]
fn check_with_a_bug_writes_the_counterexample_diagram_of_the_gallery() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let svg = dir.path().join("bug.svg");
    let args =
        ["check", "raft", "--bug", "leader-keeps-leading", "--threads", "1", "--svg", svg.to_str().expect("utf-8")];
    let out = quorum(&args);
    assert_eq!(out.status.code(), Some(1));
    let drawn = std::fs::read_to_string(&svg).expect("the diagram was written");
    let committed = std::fs::read_to_string("docs/diagrams/raft-leader-keeps-leading.svg").expect("committed");
    assert_eq!(drawn, committed, "`quorum check --svg` and `quorum docs diagrams` draw the same");

    // Nothing violated: nothing drawn, and the verdict's exit code stands.
    let none = dir.path().join("none.svg");
    let out = quorum(&[
        "check",
        "paxos",
        "--clients",
        "0",
        "--crashes",
        "0",
        "--max-round",
        "1",
        "--svg",
        none.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!none.exists());
}

/// The diagrams in docs/diagrams/ are current: regenerating them gives the same files, and
/// there is no stale file besides them. (Regenerate with `quorum docs diagrams docs/diagrams`.)
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn committed_diagrams_are_current() {
    let gallery = quorum::teach::diagram::gallery().expect("every diagram is drawn");
    let mut expected: Vec<String> = gallery.iter().map(|(name, _)| name.clone()).collect();
    expected.sort();
    let mut present: Vec<String> = std::fs::read_dir("docs/diagrams")
        .expect("docs/diagrams exists")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    present.sort();
    assert_eq!(present, expected, "run `quorum docs diagrams docs/diagrams`");
    for (name, svg) in gallery {
        let committed = std::fs::read_to_string(format!("docs/diagrams/{name}")).expect("readable");
        assert!(committed == svg, "docs/diagrams/{name} is stale: run `quorum docs diagrams docs/diagrams`");
    }
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").to_string()
}

/// The HTTP status line of GET `path`, retrying while the server starts.
fn status_of(addr: &str, path: &str) -> String {
    for _ in 0..100 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout set");
            let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut body = String::new();
            if s.write_all(req.as_bytes()).is_ok() && s.read_to_string(&mut body).is_ok() && !body.is_empty() {
                return body.lines().next().unwrap_or_default().to_owned();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no answer from the Explorer at {addr}");
}

/// Each scenario's Explorer link leads to a state in the Explorer started with the printed
/// command. (With `--bug`, `explore` serves at once when a scenario replays the bug's
/// counterexample in the same model, as each of these does: no search first.)
#[test]
fn every_scenario_link_opens_in_the_explorer_started_with_its_command() {
    for s in scenario::all() {
        let run = s.run().expect("replays");
        let addr = free_addr();
        let mut args: Vec<String> = vec!["explore".into(), run.protocol.into()];
        args.extend(run.flags.iter().flat_map(|f| f.split(' ').map(String::from).collect::<Vec<_>>()));
        args.extend(["--addr".into(), addr.clone()]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("explore starts");
        let ok = status_of(&addr, &format!("/.states/{}", run.explorer_path));
        let bad = status_of(&addr, &format!("/.states/{}/999", run.explorer_path));
        let _ = child.kill();
        let _ = child.wait();
        assert!(ok.starts_with("HTTP/1.1 200"), "{}: {ok}", s.name());
        assert!(
            !bad.starts_with("HTTP/1.1 200"),
            "{}: a wrong path is refused, so the right one means something",
            s.name()
        );
    }
}

/// docs/scenarios.md shows each scenario's trace: every line of it is what `quorum scenario NAME`
/// prints now, so the guide cannot drift from the code.
#[test]
fn the_traces_in_the_guide_are_what_the_scenarios_print() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scenarios.md")).expect("the guide");
    let mut checked = 0;
    for s in scenario::all() {
        let heading = format!("## `{}`\n", s.name());
        let section = doc.split(&heading).nth(1).unwrap_or_else(|| panic!("docs/scenarios.md lacks {heading}"));
        let section = section.split("\n## ").next().unwrap_or_default();
        let block = section.split("```text\n").nth(1).and_then(|b| b.split("```").next());
        let block = block.unwrap_or_else(|| panic!("{}: no text block with its trace", s.name()));
        let out = quorum(&["scenario", s.name()]);
        let printed = String::from_utf8_lossy(&out.stdout);
        let printed: Vec<&str> = printed.lines().collect();
        for line in block.lines() {
            assert!(
                printed.contains(&line),
                "{}: the guide shows\n{line}\nwhich `quorum scenario` no longer prints",
                s.name()
            );
        }
        checked += 1;
    }
    assert_eq!(checked, NAMES.len());
}
