//! The CLI contract of shared/design.md §3, end to end: exit codes 0/1/2, progress on stderr, the
//! JSON object on the last line of stdout, `bugs --json`, and clear errors for bad input.

use serde_json::Value;
use std::process::{Command, Output};

fn quorum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quorum")).args(args).output().expect("quorum runs")
}

fn last_json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("stdout has a last line");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

fn property<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["properties"]
        .as_array()
        .expect("properties is an array")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no property {name} in {report}"))
}

const SMALL: [&str; 6] = ["--clients", "0", "--crashes", "0", "--max-round", "1"];

fn check_small(extra: &[&str]) -> Output {
    let mut args = vec!["check", "paxos"];
    args.extend(SMALL);
    args.extend(extra);
    quorum(&args)
}

fn assert_all_as_expected(report: &Value) {
    for p in report["properties"].as_array().expect("properties") {
        let expected = if p["expectation"] == "sometimes" { "discovered" } else { "holds" };
        assert_eq!(p["status"], expected, "{p}");
        assert!(p["trace"].is_array(), "{p}");
    }
}

#[test]
fn check_paxos_small_bound_exits_0_with_a_complete_json_report() {
    let out = check_small(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = last_json(&out);
    assert_eq!(r["protocol"], "paxos");
    assert_eq!(r["complete"], true);
    assert!(r["unique_states"].as_u64().expect("a count") > 0);
    assert!(r["max_depth"].as_u64().is_some() && r["seconds"].as_f64().is_some());
    assert_eq!(r["config"]["acceptors"], 3);
    assert_eq!(r["config"]["max_round"], 1);
    assert_all_as_expected(&r);
    // Progress and the configuration line go to stderr, not into the JSON stream.
    assert!(String::from_utf8_lossy(&out.stderr).contains("checking paxos"));
}

#[test]
fn check_paxos_without_json_prints_each_verdict() {
    let out = check_small(&[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["agreement", "validity", "stability", "linearizable", "value chosen", "eventually chosen"] {
        assert!(stdout.contains(name), "{name} missing from:\n{stdout}");
    }
    assert!(stdout.contains("complete"), "{stdout}");
}

#[test]
fn bfs_and_simulation_strategies_exit_0_on_the_small_bound() {
    let bfs = check_small(&["--strategy", "bfs", "--json"]);
    assert_eq!(bfs.status.code(), Some(0));
    assert_eq!(last_json(&bfs)["complete"], true);

    let sim = check_small(&["--strategy", "simulation", "--timeout", "1", "--json"]);
    assert_eq!(sim.status.code(), Some(0), "{}", String::from_utf8_lossy(&sim.stdout));
    let r = last_json(&sim);
    assert_eq!(r["complete"], false, "a simulation never exhausts the bound");
    for p in r["properties"].as_array().expect("properties") {
        assert_ne!(p["status"], "violated", "{p}");
    }
}

#[test]
fn symmetry_reduction_keeps_verdicts_and_saves_states() {
    let with = last_json(&check_small(&["--json"]));
    let without = last_json(&check_small(&["--no-symmetry", "--json"]));
    let verdicts = |r: &Value| -> Vec<(String, String)> {
        r["properties"]
            .as_array()
            .expect("properties")
            .iter()
            .map(|p| (p["name"].to_string(), p["status"].to_string()))
            .collect()
    };
    assert_eq!(verdicts(&with), verdicts(&without));
    assert!(without["unique_states"].as_u64() > with["unique_states"].as_u64());
}

#[test]
fn bugs_json_lists_each_bug_with_the_property_it_breaks() {
    let out = quorum(&["bugs", "paxos", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let bugs: Value = serde_json::from_slice(&out.stdout).expect("one JSON array");
    let bugs = bugs.as_array().expect("an array");
    assert_eq!(bugs.len(), quorum::paxos::Bug::ALL.len());
    for b in bugs {
        assert!(b["name"].is_string() && b["breaks"].is_string() && b["why"].is_string(), "{b}");
    }
    let text = quorum(&["bugs", "paxos"]);
    assert_eq!(text.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&text.stdout).lines().count(), quorum::paxos::Bug::ALL.len());
}

#[test]
fn every_bug_exits_1_with_its_property_violated_and_numbered_steps() {
    let out = quorum(&["bugs", "paxos", "--json"]);
    let bugs: Value = serde_json::from_slice(&out.stdout).expect("one JSON array");
    for b in bugs.as_array().expect("an array") {
        let name = b["name"].as_str().expect("a name");
        let out = quorum(&["check", "paxos", "--bug", name, "--json"]);
        assert_eq!(out.status.code(), Some(1), "--bug {name}");
        let r = last_json(&out);
        let p = property(&r, b["breaks"].as_str().expect("a property"));
        assert_eq!(p["status"], "violated", "--bug {name}: {p}");
        assert!(!p["trace"].as_array().expect("a trace").is_empty(), "--bug {name}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("Counterexample for") && stdout.contains("    1. "), "--bug {name}:\n{stdout}");
    }
}

/// Exit 2, a message on stderr naming the problem, and no panic.
fn assert_bad_input(args: &[&str], needle: &str) {
    let out = quorum(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn bad_flags_and_impossible_configs_exit_2_with_a_clear_error() {
    assert_bad_input(&["frobnicate"], "unrecognized subcommand");
    assert_bad_input(&["check", "zab"], "unrecognized subcommand 'zab'");
    assert_bad_input(&["check", "paxos", "--frobnicate"], "--frobnicate");
    assert_bad_input(&["check", "paxos", "--acceptors", "x"], "--acceptors");
    assert_bad_input(&["check", "paxos", "--acceptors", "0"], "acceptors must be at least 1");
    assert_bad_input(&["check", "paxos", "--proposers", "0"], "proposers must be at least 1");
    assert_bad_input(&["check", "paxos", "--learners", "0"], "learners must be at least 1");
    assert_bad_input(&["check", "paxos", "--crashes", "4"], "--crashes 4");
    assert_bad_input(&["check", "paxos", "--max-round", "0"], "--max-round");
    assert_bad_input(&["check", "paxos", "--crash-learners", "--learner-crashes", "1"], "exclude each other");
    assert_bad_input(&["check", "paxos", "--clients", "27"], "clients");
    assert_bad_input(&["check", "paxos", "--bug", "no-such-bug"], "unknown bug 'no-such-bug'");
    assert_bad_input(&["check", "paxos", "--threads", "0"], "--threads");
    assert_bad_input(&["check", "paxos", "--threads", "100000"], "--threads must be between 1 and 256");
    assert_bad_input(&["explore", "paxos", "--addr", "not-an-address"], "cannot serve on not-an-address");
    assert_bad_input(&["check", "paxos", "--network", "nonsense"], "--network");
    assert_bad_input(&["check", "paxos", "--strategy", "nonsense"], "--strategy");
    assert_bad_input(&["bugs", "zab"], "invalid value 'zab'");
    assert_bad_input(&["check", "raft", "--servers", "0"], "--servers must be between 1 and 9");
    assert_bad_input(&["check", "raft", "--max-term", "0"], "--max-term");
    assert_bad_input(&["check", "raft", "--max-log", "0"], "--max-log");
    assert_bad_input(&["check", "raft", "--requests", "9"], "--requests");
    assert_bad_input(&["check", "raft", "--crashes", "4"], "--crashes 4 exceeds the 3 servers");
    assert_bad_input(&["check", "raft", "--servers", "x"], "--servers");
    assert_bad_input(&["check", "raft", "--acceptors", "3"], "--acceptors applies to paxos, not raft");
    assert_bad_input(&["check", "paxos", "--max-term", "3"], "--max-term applies to raft, not paxos");
    assert_bad_input(&["check", "raft", "--bug", "figure-9"], "unknown bug 'figure-9'; the Raft bugs are");
}

/// `quorum client --peers … <put K V | get K | propose V>` (design §3): a missing key or value,
/// or one too many, is a usage error (exit 2) before any file or socket is touched.
#[test]
fn client_put_without_a_value_or_get_without_a_key_exits_2() {
    fn client<'a>(op: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["client", "--peers", "127.0.0.1:1", "--key-file", "/nonexistent/key"];
        args.extend(op);
        args
    }
    assert_bad_input(&client(&["put", "x"]), "<VALUE>");
    assert_bad_input(&client(&["put"]), "<KEY>");
    assert_bad_input(&client(&["get"]), "<KEY>");
    assert_bad_input(&client(&["get", "x", "y"]), "unexpected argument 'y'");
    assert_bad_input(&client(&["propose"]), "<VALUE>");
    // With both, the next problem is the key file: the syntax was accepted.
    assert_bad_input(&client(&["put", "x", "-1"]), "/nonexistent/key");
    assert_bad_input(&client(&["get", "x"]), "/nonexistent/key");
    assert_bad_input(&["check", "raft", "--keys", "0"], "--keys must be between 1 and 26");
    assert_bad_input(&["check", "paxos", "--keys", "2"], "--keys applies to raft and pbft, not paxos");
}

#[test]
fn check_raft_small_bound_exits_0_with_a_complete_json_report() {
    let out = quorum(&["check", "raft", "--crashes", "0", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = last_json(&out);
    assert_eq!(r["protocol"], "raft");
    assert_eq!(r["complete"], true);
    assert_eq!(r["unique_states"], 24_941);
    assert_eq!(r["config"]["servers"], 3);
    assert_eq!(r["config"]["max_term"], 2);
    assert_all_as_expected(&r);
    assert_eq!(property(&r, "requests eventually committed")["status"], "holds");
    assert!(String::from_utf8_lossy(&out.stderr).contains("checking raft"));
}

#[test]
fn bugs_raft_json_lists_each_bug_with_the_property_it_breaks() {
    let out = quorum(&["bugs", "raft", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let bugs: Value = serde_json::from_slice(&out.stdout).expect("one JSON array");
    let bugs = bugs.as_array().expect("an array");
    assert_eq!(bugs.len(), quorum::raft::Bug::ALL.len());
    assert!(bugs.iter().any(|b| b["name"] == "figure8-commit" && b["breaks"] == "leader completeness"));
    assert!(bugs.iter().any(|b| b["name"] == "unbound-header" && b["breaks"] == "election safety"));
}

/// `quorum check raft --bug NAME` for every name `bugs raft --json` lists: exit 1, that property
/// violated, the counterexample as numbered steps.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn every_raft_bug_exits_1_with_its_property_violated_and_numbered_steps() {
    let out = quorum(&["bugs", "raft", "--json"]);
    let bugs: Value = serde_json::from_slice(&out.stdout).expect("one JSON array");
    for b in bugs.as_array().expect("an array") {
        let name = b["name"].as_str().expect("a name");
        let out = quorum(&["check", "raft", "--bug", name, "--json"]);
        assert_eq!(out.status.code(), Some(1), "--bug {name}");
        let r = last_json(&out);
        let p = property(&r, b["breaks"].as_str().expect("a property"));
        assert_eq!(p["status"], "violated", "--bug {name}: {p}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("Counterexample for") && stdout.contains("    1. "), "--bug {name}:\n{stdout}");
    }
}

/// The headline of `quorum check raft`: the default bound (with a crash-restart) is checked
/// completely and everything holds.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn check_raft_default_bound_exits_0_complete() {
    let out = quorum(&["check", "raft", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let r = last_json(&out);
    assert_eq!(r["complete"], true);
    assert_eq!(r["unique_states"], 904_750);
    assert_all_as_expected(&r);
}

#[test]
fn help_exits_0() {
    for args in [&["--help"][..], &["check", "--help"], &["bugs", "--help"], &["explore", "--help"], &["bugs", "raft"]]
    {
        assert_eq!(quorum(args).status.code(), Some(0), "{args:?}");
    }
}

/// The contract's headline: the default bound is checked completely and everything holds.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn check_paxos_default_bound_exits_0_complete() {
    let out = quorum(&["check", "paxos", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let r = last_json(&out);
    assert_eq!(r["complete"], true);
    assert_eq!(r["unique_states"], 2_131_115);
    assert_all_as_expected(&r);
}

/// PBFT's default bound (a Byzantine primary with one misbehaviour, one Put, view 0) is checked
/// completely and everything holds: the count is the one models/pbft.rs asserts.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn check_pbft_default_bound_exits_0_complete() {
    let out = quorum(&["check", "pbft", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let r = last_json(&out);
    assert_eq!(r["complete"], true);
    assert_eq!(r["unique_states"], 82_567);
    assert_all_as_expected(&r);
}

/// Every planted PBFT bug: `check pbft --bug NAME` exits 1 with the property the bug breaks
/// violated. The five that need a view change are shown by replaying their scenarios (a search
/// takes too long: strategy "replay", never complete); the others by BFS.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn check_pbft_with_each_bug_exits_1_with_its_property_violated() {
    let bugs = last_json(&quorum(&["bugs", "pbft", "--json"]));
    let bugs = bugs.as_array().expect("a list");
    assert_eq!(bugs.len(), quorum::pbft::Bug::ALL.len());
    let mut replayed = Vec::new();
    for b in bugs {
        let name = b["name"].as_str().expect("a name");
        let out = quorum(&["check", "pbft", "--bug", name, "--json"]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let r = last_json(&out);
        let broken = r["properties"].as_array().expect("properties").iter().find(|p| p["name"] == b["breaks"]);
        assert_eq!(broken.map(|p| p["status"].clone()), Some(Value::from("violated")), "{name}: {r}");
        if r["strategy"] == "replay" {
            assert_eq!(r["complete"], false, "{name}");
            replayed.push(name.to_owned());
        }
    }
    let expect = [
        "commit-quorum-2f",
        "prepared-with-2f-1",
        "pre-prepare-from-anyone",
        "new-view-ignores-prepared",
        "collect-before-stable",
    ];
    assert_eq!(replayed, expect);
}

/// Beyond PBFT's tolerance — n = 3 with one Byzantine replica, n = 4 with two — `check pbft`
/// gives them the two misbehaviours a counterexample needs, stops at the first one (agreement
/// violated, exit 1), and names the culprits: every replica named signed two conflicting orders,
/// and with two Byzantine replicas both are named (f + 1). Within the tolerance (n = 3 with a
/// silent replica: a crash, replaced by a view change) everything holds.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn check_pbft_beyond_its_tolerance_exits_1_and_names_the_culprits() {
    let culprits = |args: &[&str]| -> Vec<String> {
        let out = quorum(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let r = last_json(&out);
        assert_eq!(r["config"]["moves"], 2, "{args:?}: {}", r["config"]);
        let agreement = r["properties"].as_array().expect("properties").iter().find(|p| p["name"] == "agreement");
        let agreement = agreement.expect("agreement is checked");
        assert_eq!(agreement["status"], "violated", "{args:?}");
        let evidence = agreement["evidence"].as_array().expect("evidence");
        let mut named: Vec<String> =
            evidence.iter().filter_map(|e| e.as_str()?.split(' ').next().map(str::to_owned)).collect();
        assert!(evidence.iter().all(|e| e.as_str().is_some_and(|e| e.contains(" signed "))), "{evidence:?}");
        named.sort();
        named
    };
    assert_eq!(culprits(&["check", "pbft", "--replicas", "3", "--json"]), ["r0"]);
    assert_eq!(culprits(&["check", "pbft", "--byzantine", "2", "--json"]), ["r0", "r1"]);
    let silent = quorum(&["check", "pbft", "--replicas", "3", "--silent", "--max-view", "1", "--json"]);
    assert_eq!(silent.status.code(), Some(0), "{}", String::from_utf8_lossy(&silent.stderr));
}

/// With `--strategy`, `check --bug` searches even where a scenario could be replayed.
#[test]
fn an_explicit_strategy_searches_instead_of_replaying_the_scenario() {
    let out = quorum(&["check", "pbft", "--bug", "commit-quorum-2f", "--strategy", "dfs", "--timeout", "1", "--json"]);
    assert_ne!(last_json(&out)["strategy"], "replay");
}

/// `--timeout` stops a check on time with one checker thread too (Stateright's lone worker does
/// not read the deadline itself): a bound far too big to finish reports `complete: false`.
#[test]
fn a_timeout_stops_a_single_threaded_check() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["check", "raft", "--servers", "5", "--threads", "1", "--timeout", "2", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("quorum runs");
    let started = std::time::Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a 2-second timeout did not stop the check within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let report = last_json(&out);
    assert_eq!(report["complete"], Value::Bool(false), "{report}");
}

/// A fresh cluster key in a temp dir, for runtime commands that must get past the key file.
fn key_in(dir: &tempfile::TempDir) -> String {
    let key = dir.path().join("cluster.key");
    let out = quorum(&["keygen", key.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    key.to_str().expect("utf-8 path").to_owned()
}

/// `put`/`get` take their key and value verbatim: a value that looks like a flag (`-h`, `--`) is
/// data, not a request for help (which printed help, exited 0 and wrote nothing); a leading `--`
/// lets a key look like one. Each is accepted here up to the key file (the next thing read); the
/// values stored are checked against a cluster in tests/cluster.rs.
#[test]
fn client_put_and_get_take_values_that_look_like_flags_verbatim() {
    fn client<'a>(op: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["client", "--peers", "127.0.0.1:1", "--key-file", "/nonexistent/key"];
        args.extend(op);
        args
    }
    for op in [&["put", "x", "-h"][..], &["put", "x", "--"], &["put", "x", "--help"], &["put", "--", "-k", "-v"]] {
        assert_bad_input(&client(op), "/nonexistent/key");
    }
    assert_bad_input(&client(&["get", "--", "-h"]), "/nonexistent/key");
    // A `--` is skipped only before the key: after it, it would be the value and `v` one too many.
    assert_bad_input(&client(&["put", "x", "--", "v"]), "unexpected argument 'v'");
    // Help is still there, as the first argument.
    for op in [&["put", "-h"][..], &["put", "--help"], &["get", "--help"]] {
        let out = quorum(&client(op));
        assert_eq!(out.status.code(), Some(0), "{op:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("verbatim"), "{op:?}");
    }
}

/// A client number the nodes do not accept (they take `--clients`, 8 by default) is refused up
/// front, not sent until "no reply … may or may not have taken effect".
#[test]
fn client_number_outside_the_clusters_clients_exits_2_before_sending() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = key_in(&dir);
    let base = ["client", "--peers", "127.0.0.1:1", "--key-file", &key, "--attempts", "1", "--timeout-ms", "50"];
    let with =
        |extra: &[&'static str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect::<Vec<_>>() };
    for (extra, says) in [
        (&["--client", "99", "get", "x"][..], "--client 99 is not a client of the cluster"),
        (&["--client", "8", "put", "x", "1"], "client numbers 0..8"),
        (&["--clients", "4", "--client", "4", "get", "x"], "client numbers 0..4"),
        (&["--client", "8", "propose", "a"], "--client 8"),
        (&["--clients", "27", "get", "x"], "--clients must be at most 26"),
    ] {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_bad_input(&args, says);
    }
    // In range, it gets as far as the network (nobody listens: exit 1).
    let args = with(&["--client", "7", "get", "x"]);
    let out = quorum(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Port 0 would bind a random port and never be reachable at the address given.
#[test]
fn a_peer_with_port_0_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = key_in(&dir);
    let data = dir.path().join("d");
    let data = data.to_str().expect("utf-8 path");
    let peers = "127.0.0.1:7000,127.0.0.1:0";
    assert_bad_input(&["client", "--peers", peers, "--key-file", &key, "--attempts", "1", "get", "x"], "port 0");
    assert_bad_input(
        &["node", "raft", "--id", "0", "--peers", peers, "--data-dir", data, "--key-file", &key],
        "port 0",
    );
}

/// README: bad storage exits 2. A `--data-dir` that is a file is bad storage, for `node` and
/// `cluster` alike.
#[test]
fn a_data_dir_that_is_a_file_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = key_in(&dir);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write");
    let file = file.to_str().expect("utf-8 path");
    let node = ["node", "raft", "--id", "0", "--peers", "127.0.0.1:1", "--data-dir", file, "--key-file", &key];
    assert_bad_input(&node, "is not a directory");
    assert_bad_input(&["cluster", "raft", "-n", "1", "--base-port", "1", "--data-dir", file], "is not a directory");
    let inside = format!("{file}/sub");
    let node = ["node", "raft", "--id", "0", "--peers", "127.0.0.1:1", "--data-dir", &inside, "--key-file", &key];
    assert_bad_input(&node, "cannot create --data-dir");
}

/// A PBFT node signs what it sends: it will not start without its replica keys, and keys that
/// are missing, of another cluster size, or another replica's are bad input naming the file.
/// `keygen --pbft-replicas` never replaces keys, and a cluster's nodes are given the keys it
/// writes.
#[test]
fn pbft_nodes_need_their_signing_keys_and_bad_key_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = key_in(&dir);
    let keys = dir.path().join("replica-keys");
    let keys = keys.to_str().expect("utf-8 path");
    let data = dir.path().join("d");
    let data = data.to_str().expect("utf-8 path");
    let peers = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4";
    let node = |id: &str, extra: &[&str]| -> Vec<String> {
        let base = ["node", "pbft", "--id", id, "--peers", peers, "--data-dir", data, "--key-file", &key];
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let bad =
        |args: Vec<String>, says: &str| assert_bad_input(&args.iter().map(String::as_str).collect::<Vec<_>>(), says);
    bad(node("0", &[]), "a PBFT replica signs what it sends: give --replica-keys DIR");
    bad(node("0", &["--replica-keys", keys]), "replicas.pub: No such file");
    let out = quorum(&["keygen", "--pbft-replicas", "3", keys]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 3 PBFT replicas' signing keys"));
    assert_bad_input(&["keygen", "--pbft-replicas", "4", keys], "already exists");
    assert_bad_input(&["keygen", "--pbft-replicas", "0", keys], "0 is not in 1..=9");
    bad(node("0", &["--replica-keys", keys]), "lists 3 public keys; the cluster has 4 replicas");
    let three = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3";
    std::fs::copy(format!("{keys}/replica-1.key"), format!("{keys}/replica-0.key")).expect("copy");
    let args = ["node", "pbft", "--id", "0", "--peers", three, "--data-dir", data, "--key-file", &key];
    let mut args = args.to_vec();
    args.extend(["--replica-keys", keys]);
    assert_bad_input(&args, "does not belong to replica 0");
    let five = format!("{peers},127.0.0.1:5");
    let args = ["node", "pbft", "--id", "0", "--peers", &five, "--data-dir", data, "--key-file", &key];
    assert_bad_input(&args, "PBFT's runtime runs at most 4 replicas");
}

/// The runtime commands find the protocol among those the runtime hosts (`runtime::door`): an
/// unknown one is clap's error naming the hosted ones, and a flag of another protocol's nodes or
/// client is refused with the protocol it belongs to, before anything is read or started.
#[test]
fn runtime_commands_take_hosted_protocols_and_refuse_another_protocols_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = key_in(&dir);
    let data = dir.path().join("d");
    let data = data.to_str().expect("utf-8 path");
    let node = |protocol: &'static str, extra: &[&'static str]| -> Vec<String> {
        let base = ["node", protocol, "--id", "0", "--peers", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"];
        let files = ["--data-dir", data, "--key-file", &key];
        base.iter().chain(&files).chain(extra).map(|s| s.to_string()).collect()
    };
    let bad =
        |args: Vec<String>, says: &str| assert_bad_input(&args.iter().map(String::as_str).collect::<Vec<_>>(), says);
    bad(node("frobnicate", &[]), "invalid value 'frobnicate' for '<PROTOCOL>'");
    assert_bad_input(&["cluster", "frobnicate"], "[possible values: raft, paxos, pbft]");
    bad(node("pbft", &["--max-batch", "8"]), "error: --max-batch applies to raft, not pbft");
    bad(node("raft", &["--proposers", "2"]), "error: --proposers applies to paxos, not raft");
    bad(
        node("raft", &["--proposers", "2", "--learners", "1"]),
        "error: --proposers and --learners apply to paxos, not raft",
    );
    bad(node("paxos", &["--max-batch", "8"]), "error: --max-batch applies to raft, not paxos");
    bad(
        node("paxos", &["--proposers", "2"]),
        "paxos: 3 servers in --peers leave no acceptor after 2 proposer(s) and 1 learner(s)",
    );
    bad(node("raft", &["--max-batch", "0"]), "--max-batch must be between 1 and 1024, got 0");
    assert_bad_input(
        &["cluster", "raft", "--learners", "2", "--data-dir", data],
        "--learners applies to paxos, not raft",
    );
    assert_bad_input(
        &["cluster", "paxos", "--heartbeat-only", "--data-dir", data],
        "--heartbeat-only applies to raft, not paxos",
    );
    assert_bad_input(
        &["cluster", "paxos", "-n", "2", "--data-dir", data],
        "paxos: 2 servers in --peers leave no acceptor",
    );
    let client = ["client", "--peers", "127.0.0.1:1", "--key-file", &key];
    let with = |extra: &[&'static str]| client.iter().chain(extra).copied().collect::<Vec<&str>>();
    assert_bad_input(&with(&["--learners", "2", "get", "x"]), "--learners applies to `propose` (paxos)");
    assert_bad_input(
        &with(&["--proposers", "1", "--learners", "1", "put", "x", "y"]),
        "--proposers and --learners apply to `propose` (paxos)",
    );
    assert_bad_input(&with(&["propose", "a"]), "paxos: 1 servers in --peers leave no acceptor");
    assert_bad_input(&with(&["frobnicate"]), "unrecognized subcommand 'frobnicate'");
    assert_bad_input(&["bench"], "`quorum bench` needs raft, paxos, pbft or check");
    assert_bad_input(
        &["bench", "paxos"],
        "`quorum bench paxos` is not implemented: single-decree Paxos chooses one value",
    );
    assert_bad_input(
        &["bench", "pbft", "--value-size", "65"],
        "--value-size must be between 1 and 64 bytes for pbft, got 65",
    );
    assert_bad_input(&["bench", "cluster", "frobnicate"], "invalid value 'frobnicate'");
    assert_bad_input(&["bench", "raft", "--proposers", "2"], "--proposers applies to paxos, not raft");
    assert_bad_input(&["bench", "raft", "--max-batch", "0"], "--max-batch must be between 1 and 1024, got 0");
}
