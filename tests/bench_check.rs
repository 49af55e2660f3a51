//! `quorum bench check --quick --runs 1` end to end: it builds Stateright's examples from the
//! downloaded stateright source (outside the repository, cached in the temp dir across runs), runs
//! ours and theirs as child processes and prints the Markdown table. Skipped, with the reason
//! printed, when cargo's registry has no stateright 0.31 source; on CI (`CI=true`) that is a
//! failure instead. Bad flags exit 2 without running anything.

use std::path::PathBuf;
use std::process::Command;

fn quorum() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quorum"))
}

/// Whether cargo's registry holds a stateright 0.31 source with its examples (what the bench needs).
fn stateright_source_present() -> bool {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry").join("src")) else { return false };
    std::fs::read_dir(src).into_iter().flatten().flatten().any(|index| {
        std::fs::read_dir(index.path()).into_iter().flatten().flatten().any(|k| {
            k.file_name().to_string_lossy().starts_with("stateright-0.31.")
                && k.path().join("examples").join("paxos.rs").is_file()
        })
    })
}

#[test]
fn bench_check_quick_prints_ours_and_stateright_side_by_side() {
    if !stateright_source_present() {
        let reason = "no stateright 0.31 source in cargo's registry (run `cargo fetch`)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{reason}");
        }
        eprintln!("skipped: {reason}");
        return;
    }
    let out = quorum().args(["bench", "check", "--quick", "--runs", "1"]).output().expect("quorum runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "| check | model | unique states |",
        "Stateright: `examples/paxos check-dfs 2`",
        "Stateright: `examples/paxos check 2`",
        "ours: `quorum bench check-mirror --clients 2 --strategy dfs",
        "Stateright: `examples/raft check 3 8`",
        "| 6,425,257 |",
        "verdicts agree",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in\n{stdout}");
    }
    // The mirror's and the example's state counts at 2 clients, as models/ and the example assert.
    assert!(stdout.contains("| 11,371 |") && stdout.contains("| 16,668 |"), "{stdout}");
    assert!(!stdout.contains("a property failed") && !stdout.contains("exit code ≠ 0"), "{stdout}");
}

#[test]
fn bench_check_bad_flags_exit_2_without_running() {
    for args in [
        &["bench", "check", "--runs", "0"][..],
        &["bench", "check", "--runs", "x"],
        &["bench", "check", "--threads", "0"],
        &["bench", "check", "--timeout", "0", "--growth"],
        &["bench", "check", "--frobnicate"],
        &["bench", "check-mirror", "--clients", "9"],
        &["bench"],
    ] {
        let out = quorum().args(args).output().expect("quorum runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
