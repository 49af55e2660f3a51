//! What the protocol suites share: the exhaustive check of a bound, and the check that a planted
//! bug is caught.

use quorum::check::{CheckOptions, CheckReport, Status, Strategy};
use quorum::protocol::Protocol;

pub fn dfs() -> CheckOptions {
    CheckOptions { threads: 2, ..CheckOptions::default() }
}

/// Checks `cfg` exhaustively with DFS and asserts the whole bound was explored, every `always`
/// and `eventually` property holds, every `sometimes` property has an example, and the state
/// count is `states`.
pub fn assert_exhaustively_correct<C: Protocol>(cfg: C, states: usize) -> CheckReport {
    let report = cfg.check(&dfs());
    for p in &report.properties {
        assert!(
            matches!(p.status, Status::Holds | Status::Discovered),
            "{}: property \"{}\" is {:?}:\n{}",
            cfg.describe(),
            p.name,
            p.status,
            quorum::check::render(&report)
        );
    }
    assert!(report.complete, "{}: the check did not finish the bound", cfg.describe());
    assert_eq!(report.unique_states, states, "{}: the state space changed", cfg.describe());
    report
}

pub fn has(report: &CheckReport, name: &str) -> bool {
    report.property(name).is_some()
}

/// A planted bug (in `cfg`, at its smallest bound) is caught by the property it breaks, with a
/// shortest counterexample of `steps` steps (BFS); and the same bound without the bug is clean.
pub fn assert_caught<C: Protocol>(bug: &str, cfg: C, breaks: &str, steps: usize) {
    let opts =
        CheckOptions { strategy: Strategy::Bfs, threads: 1, stop_at_first_failure: true, ..CheckOptions::default() };
    let report = cfg.check(&opts);
    let p = report.property(breaks).expect("the bug's property is checked");
    assert_eq!(p.status, Status::Violated, "{bug} was not caught:\n{}", quorum::check::render(&report));
    assert_eq!(p.trace.len(), steps, "{bug}: counterexample length changed:\n{}", quorum::check::render(&report));

    let report = cfg.without_bugs().check(&dfs());
    assert!(
        report.complete && !report.any_violated(),
        "{bug}'s bound without the bug:\n{}",
        quorum::check::render(&report)
    );
}

/// Symmetry reduction is sound for `cfg`: with and without it every property gets the same
/// verdict; it saves at least `factor` times the states; and the two counts are `states`.
pub fn assert_symmetry_keeps_every_verdict<C: Protocol>(cfg: C, factor: usize, states: (usize, usize)) {
    let reduced = cfg.check(&dfs());
    let full = cfg.check(&CheckOptions { symmetry: false, ..dfs() });
    assert!(reduced.complete && full.complete);
    let verdicts = |r: &CheckReport| r.properties.iter().map(|p| (p.name.clone(), p.status)).collect::<Vec<_>>();
    assert_eq!(verdicts(&reduced), verdicts(&full));
    assert!(
        full.unique_states >= factor * reduced.unique_states,
        "symmetry should save at least {factor}x: {} vs {}",
        full.unique_states,
        reduced.unique_states
    );
    assert_eq!((reduced.unique_states, full.unique_states), states);
}
