//! The liveness checker (`quorum::check::liveness`) on real models: where a bound is acyclic its
//! verdict on `eventually` is the terminal-state verdict Stateright gives, for the correct
//! protocol and for a planted bug that breaks liveness; and a violation comes with its path.
//!
//! Fairness here: each message's delivery (sender, receiver, message) is weakly fair; timers and
//! the Byzantine menu carry none. In these PBFT bounds no state repeats (messages accumulate on
//! the duplicating network, views and executions only grow), so every violation is a finite path
//! to a state where nothing is enabled.

use quorum::check::liveness::{eventually, Fair};
use quorum::check::{CheckOptions, Status};
use quorum::pbft::model::{bug_config, property::EVENTUALLY_ANSWERED, requests_answered, PbftAction};
use quorum::pbft::{Bug, PbftModelCfg};
use quorum::protocol::Protocol;
use stateright::actor::ActorModelAction;

/// `eventually requests answered` in `cfg`'s model by the liveness checker: the states it
/// explored, and whether it holds (and the length of the violating path if not).
fn liveness(cfg: &PbftModelCfg) -> (usize, Option<usize>) {
    let model = cfg.clone().into_model();
    let fair = |_: &_, a: &PbftAction| match a {
        ActorModelAction::Deliver { src, dst, msg } => Some((Fair::Weak, format!("{src:?}>{dst:?}:{msg:?}"))),
        _ => None,
    };
    let v = eventually(&model, |s| requests_answered(&model, s), fair, 1_000_000).expect("within a million states");
    let lasso = v.violation.map(|l| {
        assert!(l.cycle.is_empty(), "these bounds are acyclic");
        l.stem.len()
    });
    (v.states, lasso)
}

/// Stateright's verdict on the same property (terminal states), with the whole bound explored.
fn terminal_verdict(cfg: &PbftModelCfg) -> Status {
    let report = cfg.check(&CheckOptions { threads: 1, ..CheckOptions::default() });
    assert!(report.complete);
    report.property(EVENTUALLY_ANSWERED).expect("checked").status
}

/// Four bounds, without symmetry reduction (the counts are those of Stateright's checker with it
/// off): a silent primary replaced; the window moved by a checkpoint; the same bound without
/// checkpoints, where the second request stalls; and `only-primary-replies`.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn on_acyclic_pbft_bounds_the_liveness_verdicts_are_the_terminal_state_ones() {
    let silent = PbftModelCfg { silent: true, max_view: 1, ..PbftModelCfg::default() };
    let windowed = PbftModelCfg { requests: 2, window: Some(1), checkpoint: 1, ..silent.clone() };
    let stalled = PbftModelCfg { checkpoint: 0, ..windowed.clone() };
    let bug = bug_config(Bug::OnlyPrimaryReplies);
    let cases = [
        (silent, Status::Holds, (539, None)),
        (windowed, Status::Holds, (4_302, None)),
        (stalled, Status::Violated, (609, Some(26))),
        // The 18 steps of the bug zoo's shortest counterexample: the explorer is breadth-first.
        (bug, Status::Violated, (30_354, Some(18))),
    ];
    for (cfg, terminal, expected) in cases {
        let found = liveness(&cfg);
        assert_eq!(terminal_verdict(&cfg), terminal, "{}", cfg.describe());
        assert_eq!(found.1.is_none(), terminal == Status::Holds, "{}", cfg.describe());
        assert_eq!(found, expected, "{}", cfg.describe());
    }
}
