//! Single-decree Paxos: exhaustive checks within stated bounds, and the bug zoo.

use quorum::paxos::model::{
    bug_config, describe_action, learn_config, property::*, relearn_config, NetworkKind, PaxosModelCfg,
};
use quorum::paxos::Bug;
use stateright::{Checker, Model};

use crate::common::{assert_exhaustively_correct, has};

#[test]
fn two_proposers_two_rounds_three_acceptors_one_crash_duplicating_network_is_safe() {
    let cfg = PaxosModelCfg { clients: 0, crashes: 1, ..PaxosModelCfg::default() };
    let report = assert_exhaustively_correct(cfg, 1_101_373);
    assert!(has(&report, DUELING), "the dueling-proposers witness is checked with two proposers");
    assert!(!has(&report, EVENTUALLY_CHOSEN), "liveness is only claimed without crashes");
}

#[test]
fn two_clients_two_proposers_two_rounds_duplicating_network_is_linearizable_and_live() {
    let cfg = PaxosModelCfg { clients: 2, crashes: 0, ..PaxosModelCfg::default() };
    let report = assert_exhaustively_correct(cfg, 546_187);
    assert!(has(&report, EVENTUALLY_CHOSEN) && has(&report, LINEARIZABLE));
}

#[test]
fn three_proposers_one_round_each_is_safe_and_live() {
    let cfg = PaxosModelCfg { proposers: 3, clients: 0, crashes: 0, max_round: 1, ..PaxosModelCfg::default() };
    assert_exhaustively_correct(cfg, 30_917);
}

#[test]
fn lossy_network_with_a_crash_and_two_clients_one_round_is_safe() {
    let cfg = PaxosModelCfg { clients: 2, crashes: 1, max_round: 1, lossy: true, ..PaxosModelCfg::default() };
    let report = assert_exhaustively_correct(cfg, 127_569);
    assert!(!has(&report, EVENTUALLY_CHOSEN), "a lossy network can lose every message: no liveness claim");
}

#[test]
fn nonduplicating_network_with_a_crash_two_rounds_is_safe() {
    let cfg = PaxosModelCfg {
        clients: 0,
        crashes: 1,
        network: NetworkKind::UnorderedNonduplicating,
        ..PaxosModelCfg::default()
    };
    // The same count as on the duplicating network: once dead messages are removed, a delivered
    // message is as good as gone there too.
    assert_exhaustively_correct(cfg, 1_101_373);
}

#[test]
fn two_clients_two_proposers_two_rounds_ordered_network_is_linearizable_and_live() {
    let cfg = PaxosModelCfg { clients: 2, crashes: 0, network: NetworkKind::Ordered, ..PaxosModelCfg::default() };
    assert_exhaustively_correct(cfg, 438_556);
}

/// A proposer crashes after (or before) the decision and restarts knowing only its round; it
/// proposes its value again with a new ballot, which adopts the chosen value (phase 2(a)), and
/// the learner, having learned, answers that ballot's votes with Chosen. Liveness, stated
/// precisely: once the one proposer crash of the bound has happened, on a network that delivers
/// every message once and with no other crash, every maximal path within the bound (2 ballots)
/// ends with the proposer up and knowing the decision — or down for good because it crashed in
/// its last round, which leaves its restart no ballot within the bound.
#[test]
fn a_proposer_restarted_after_the_decision_relearns_it() {
    let report = assert_exhaustively_correct(relearn_config(), 1_760);
    assert!(has(&report, DECISION_RELEARNED) && !has(&report, EVENTUALLY_CHOSEN));
}

/// A learner crashes and restarts knowing only what it saved (it learned nothing yet): the votes
/// it had counted are gone, and each acceptor sends its Accepted once. Restarted, it asks the
/// acceptors what they accepted and the proposer what was decided (`learner::catch_up`).
/// Liveness, stated precisely: once the one learner crash of the bound has happened, with one
/// proposer and one ballot, two learners, no other crash and a network that delivers every
/// message once, every maximal path ends with a value chosen and both learners up and knowing it.
#[test]
fn a_learner_restarted_after_losing_its_votes_learns_the_decision() {
    let report = assert_exhaustively_correct(learn_config(), 635);
    assert!(has(&report, DECISION_LEARNED) && has(&report, EVENTUALLY_CHOSEN));
}

/// The default bound of `quorum check paxos`: two clients and an acceptor crash on top of the
/// two checks above.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn default_bound_two_clients_two_proposers_two_rounds_one_crash_is_safe() {
    assert_exhaustively_correct(PaxosModelCfg::default(), 2_131_115);
}

/// Three proposers, three clients and a crash: the larger bound of the release suite.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn three_clients_three_proposers_one_round_one_crash_is_safe() {
    let cfg = PaxosModelCfg { proposers: 3, clients: 3, crashes: 1, max_round: 1, ..PaxosModelCfg::default() };
    assert_exhaustively_correct(cfg, 1_587_365);
}

/// Symmetry reduction is sound here: with and without it, every property gets the same verdict.
#[test]
fn symmetry_reduction_over_acceptors_keeps_every_verdict() {
    let cfg = PaxosModelCfg { clients: 2, crashes: 1, max_round: 1, ..PaxosModelCfg::default() };
    crate::common::assert_symmetry_keeps_every_verdict(cfg, 3, (8_781, 45_460));
}

/// An example of a value being chosen, found by BFS among paths of at most 6 steps (the fewest:
/// two prepares, two promises, two accepts).
#[test]
fn a_value_is_chosen_in_six_steps() {
    let cfg = PaxosModelCfg { proposers: 1, clients: 0, crashes: 0, max_round: 1, ..PaxosModelCfg::default() };
    let checker = cfg.clone().into_model().checker().target_max_depth(8).spawn_bfs().join();
    let path = checker.discovery(VALUE_CHOSEN).expect("a value can be chosen");
    let steps: Vec<String> = path.into_actions().iter().map(|a| describe_action(&cfg, a)).collect();
    let expected = [
        "p3 -> a1 : Prepare(b1.3)",
        "a1 -> p3 : Promise(b1.3, none)",
        "p3 -> a2 : Prepare(b1.3)",
        "a2 -> p3 : Promise(b1.3, none)",
        "p3 -> a2 : Accept(b1.3, A)",
        "p3 -> a1 : Accept(b1.3, A)",
    ];
    assert_eq!(steps, expected);
}

/// Every planted bug is caught, at its smallest bound, by the property it breaks, with a
/// shortest counterexample of the asserted length; and the same bound without the bug is clean.
fn assert_caught(bug: Bug, steps: usize) {
    crate::common::assert_caught(bug.name(), bug_config(bug), bug.breaks(), steps);
}

macro_rules! bug_tests {
    ($($name:ident: $bug:expr, $steps:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_caught($bug, $steps);
        }
    )*};
}

bug_tests! {
    acceptor_ignoring_its_promise_breaks_agreement: Bug::AcceptorIgnoresPromise, 12;
    adopting_the_lowest_accepted_value_breaks_agreement: Bug::LowestAcceptedValue, 17;
    a_promise_lost_in_a_crash_breaks_agreement: Bug::PromiseNotPersisted, 14;
    non_unique_ballots_break_agreement: Bug::NonUniqueBallots, 12;
    a_learner_counting_duplicates_breaks_learner_agreement: Bug::LearnerCountsDuplicates, 7;
    a_proposer_inventing_a_value_breaks_validity: Bug::InventsValue, 6;
    a_learner_forgetting_in_a_crash_breaks_stability: Bug::LearnerForgets, 10;
    reporting_the_own_value_breaks_linearizability: Bug::ReportsOwnValue, 14;
    a_vote_taken_as_final_breaks_eventual_choice: Bug::VoteIsFinal, 16;
    a_learner_silent_after_learning_leaves_a_restarted_proposer_waiting: Bug::SilentLearner, 18;
    a_restarted_learner_that_never_catches_up_misses_the_decision: Bug::LearnerNoCatchUp, 11;
    a_learner_quorum_of_two_breaks_learner_agreement_with_5_acceptors: Bug::LearnerQuorumOfTwo, 10;
}

#[test]
fn every_bug_names_a_property_of_its_model() {
    for bug in Bug::ALL {
        let names: Vec<_> = bug_config(bug).into_model().properties().iter().map(|p| p.name).collect();
        assert!(names.contains(&bug.breaks()), "{bug} breaks {:?}, which {names:?} lacks", bug.breaks());
    }
}
