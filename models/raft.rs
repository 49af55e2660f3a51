//! Raft: exhaustive checks within stated bounds, and the bug zoo. Every bound below is explored
//! completely (DFS with symmetry over servers) and its unique-state count asserted.

use quorum::bugs::PlantedBug;
use quorum::raft::model::{bug_config, property::*, RaftModelCfg};
use quorum::raft::Bug;
use stateright::Model;

use crate::common::{assert_exhaustively_correct, has};

fn no_crash() -> RaftModelCfg {
    RaftModelCfg { crashes: 0, ..RaftModelCfg::default() }
}

#[test]
fn raft_3_servers_term_2_one_request_no_crash_is_safe_and_live() {
    let report = assert_exhaustively_correct(no_crash(), STATES_T2_NO_CRASH);
    assert!(has(&report, EVENTUALLY_COMMITTED) && has(&report, LINEARIZABLE));
}

#[test]
fn raft_3_servers_term_2_put_then_get_no_crash_is_linearizable_and_live() {
    assert_exhaustively_correct(RaftModelCfg { requests: 2, ..no_crash() }, STATES_T2_PUT_GET);
}

/// The default bound of `quorum check raft`: one crash-restart of any server, at any point.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_3_servers_term_2_one_request_one_crash_keeps_every_safety_property() {
    let report = assert_exhaustively_correct(RaftModelCfg::default(), STATES_DEFAULT);
    assert!(has(&report, LEADER_REPLACED), "a crashed leader is replaced in this bound");
    assert!(!has(&report, EVENTUALLY_COMMITTED), "liveness is only claimed without crashes");
}

/// Two crash-restarts in total, of any servers at any points (the same server twice, or two).
#[test]
#[ignore = "extended suite, minutes: cargo test --release --test models -- --ignored two_crashes"]
fn raft_3_servers_term_2_one_request_two_crashes_keeps_every_safety_property() {
    let report =
        assert_exhaustively_correct(RaftModelCfg { crashes: 2, ..RaftModelCfg::default() }, STATES_TWO_CRASHES);
    assert!(has(&report, LEADER_REPLACED));
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_3_servers_term_3_one_request_no_crash_is_safe_and_live() {
    assert_exhaustively_correct(RaftModelCfg { max_term: 3, ..no_crash() }, STATES_T3);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_3_servers_term_2_two_clients_no_crash_is_linearizable_and_live() {
    assert_exhaustively_correct(RaftModelCfg { clients: 2, ..no_crash() }, STATES_TWO_CLIENTS);
}

/// Loss is covered without exploring drops (docs/raft.md, "Loss"): with `--lossy`, the same
/// states and the same safety verdicts as without it; only the liveness claim is withdrawn.
#[test]
fn raft_lossy_network_checks_the_same_states_without_the_liveness_claim() {
    let lossy = RaftModelCfg { requests: 2, lossy: true, ..no_crash() };
    let report = assert_exhaustively_correct(lossy, STATES_T2_PUT_GET);
    assert!(!has(&report, EVENTUALLY_COMMITTED), "loss can lose every message: no liveness claim");
}

/// The larger release bound: a lossy network (drops subsumed, see above) plus one crash-restart
/// of any server at any point, and a client doing Put then Get. Logs are bounded to 3 entries:
/// the second leader's no-op and both requests fit, but a path with two no-ops and both requests
/// (4 entries) is cut, which is what lets this bound finish (about a minute in release).
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_lossy_network_with_a_crash_restart_and_put_then_get_keeps_every_safety_property() {
    let cfg = RaftModelCfg { requests: 2, crashes: 1, lossy: true, max_log: Some(3), ..RaftModelCfg::default() };
    let report = assert_exhaustively_correct(cfg, STATES_LOSSY_CRASH_PUT_GET);
    assert!(has(&report, LEADER_REPLACED) && has(&report, LINEARIZABLE));
}

/// Figure 8, checked completely: 3 servers, terms ≤ 4, the leaders' no-op entries and no client,
/// no crash (a leader that stops being heard from is enough). The correct commit rule keeps
/// Leader Completeness over the whole bound; `figure8_commit_breaks_leader_completeness` below
/// finds the counterexample in the same bound.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_3_servers_term_4_no_client_keeps_leader_completeness_figure_8_bound() {
    let cfg = RaftModelCfg { bugs: Default::default(), ..bug_config(Bug::Figure8Commit) };
    assert_exhaustively_correct(cfg, STATES_FIGURE8);
}

/// Figure 8's plain bound with a client (issue 7, "Reach"): 3 servers, terms ≤ 4, one client Put,
/// logs unbounded, no restriction on elections, and the duplicating network (which contains
/// every non-duplicating run). The correct model finishes the bound with no violation (about
/// 2 minutes in release), and the planted `figure8-commit` is found in the same bound.
#[test]
#[ignore = "extended suite, minutes: cargo test --release --test models -- --ignored figure_8_plain"]
fn figure_8_plain_bound_with_a_client_is_exhausted_and_the_figure8_bug_is_found_in_it() {
    let cfg = RaftModelCfg { max_term: 4, clients: 1, ..no_crash() };
    assert_exhaustively_correct(cfg.clone(), STATES_FIGURE8_PLAIN);

    let buggy = RaftModelCfg { bugs: quorum::raft::BugSet::of(Bug::Figure8Commit), ..cfg };
    let opts = quorum::check::CheckOptions { stop_at_first_failure: true, ..crate::common::dfs() };
    let report = quorum::protocol::Protocol::check(&buggy, &opts);
    let p = report.property(LEADER_COMPLETENESS).expect("checked");
    assert_eq!(p.status, quorum::check::Status::Violated, "{}", quorum::check::render(&report));
}

/// The replicated map with two keys and two clients, each writing its own key, then reading the
/// other's (the store-buffering pattern; [`quorum::raft::client::op`]): one leader (terms <= 1),
/// no log bound, so reads see the other client's write or not, in every order. Checked
/// against the key-value specification ([`quorum::raft::kv::KvMap`]).
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_3_servers_term_1_two_clients_on_two_keys_put_then_get_is_linearizable_and_live() {
    let cfg = RaftModelCfg { clients: 2, requests: 2, keys: 2, max_term: 1, ..no_crash() };
    let report = assert_exhaustively_correct(cfg, STATES_TWO_KEYS_T1);
    assert!(has(&report, LINEARIZABLE) && has(&report, EVENTUALLY_COMMITTED));
}

/// With keys, a stale read is still caught: two leaders (terms <= 2), logs <= 3, two clients on
/// two keys. The bound is exhausted without the bug; with `stale-read` a deposed leader answers
/// a client's Get of the other client's key, whose Put has returned, from its own log.
#[test]
fn two_keys_term_2_logs_3_is_linearizable_and_the_stale_read_bug_is_caught_with_keys() {
    let cfg = RaftModelCfg { clients: 2, requests: 2, keys: 2, max_log: Some(3), ..no_crash() };
    assert_exhaustively_correct(cfg.clone(), STATES_TWO_KEYS_T2_LOG3);

    let buggy = cfg.with_bug(Bug::StaleRead);
    let opts = quorum::check::CheckOptions { stop_at_first_failure: true, ..crate::common::dfs() };
    let report = quorum::protocol::Protocol::check(&buggy, &opts);
    let p = report.property(LINEARIZABLE).expect("checked");
    assert_eq!(p.status, quorum::check::Status::Violated, "{}", quorum::check::render(&report));
    let rendered = quorum::check::render(&report);
    assert!(rendered.contains("get0.2 y") || rendered.contains("get1.2 x"), "a Get of a key: {rendered}");
}

/// The wire binds each datagram to its receiver, so the model's network delivers a message only
/// to its addressee. With an on-path adversary that copies any message between servers to any
/// other server (`redirects`), the protocol still keeps every property, because a vote names its
/// candidate; `unbound_header_..` below shows that without that, a copied vote elects two
/// leaders. Terms <= 1: one election, a client Put.
#[test]
fn a_redirecting_adversary_term_1_one_request_breaks_no_property_when_votes_name_their_candidate() {
    let cfg = RaftModelCfg { redirects: true, max_term: 1, ..no_crash() };
    let report = assert_exhaustively_correct(cfg, STATES_REDIRECTS_T1);
    assert!(has(&report, EVENTUALLY_COMMITTED) && has(&report, LINEARIZABLE));
}

/// The same adversary over two terms (a second election, stale leaders' messages redirected):
/// every property holds.
#[test]
#[ignore = "extended suite, minutes: cargo test --release --test models -- --ignored redirecting_adversary_term_2"]
fn a_redirecting_adversary_term_2_one_request_breaks_no_property_when_votes_name_their_candidate() {
    let cfg = RaftModelCfg { redirects: true, ..no_crash() };
    assert_exhaustively_correct(cfg, STATES_REDIRECTS_T2);
}

/// Pre-vote and check-quorum (Ongaro §9.6, §6.2), as the runtime runs them: every property of
/// Raft holds, and so do their own — terms start with a majority's pre-vote, a leader is deposed
/// only once a majority has stopped following it, a leader that stays past a quorum check heard
/// from a majority — and a leader steps down at a quorum check on some path.
fn elections(cfg: RaftModelCfg) -> RaftModelCfg {
    RaftModelCfg { pre_vote: true, check_quorum: true, ..cfg }
}

#[test]
fn pre_vote_and_check_quorum_term_1_one_request_keep_every_property_and_liveness() {
    let report =
        assert_exhaustively_correct(elections(RaftModelCfg { max_term: 1, ..no_crash() }), STATES_ELECTIONS_T1);
    for p in [TERMS_PRE_VOTED, LEADER_STABLE, LEADER_HAS_QUORUM, LEADER_STEPPED_DOWN, EVENTUALLY_COMMITTED] {
        assert!(has(&report, p), "{p} is checked");
    }
}

/// A second election: a leader deposed (or stepping down) and replaced.
#[test]
fn check_quorum_term_2_no_client_keeps_every_property() {
    let cfg = RaftModelCfg { check_quorum: true, clients: 0, ..no_crash() };
    assert_exhaustively_correct(cfg, STATES_CHECK_QUORUM_T2);
}

/// Every pre-vote's answer may still raise its pre-candidate until it holds the last term: a
/// second term costs more than a second election does without pre-vote.
#[test]
#[ignore = "extended suite, minutes: cargo test --release --test models -- --ignored pre_vote_and_check_quorum_term_2"]
fn pre_vote_and_check_quorum_term_2_no_client_keep_every_property() {
    assert_exhaustively_correct(elections(RaftModelCfg { clients: 0, ..no_crash() }), STATES_ELECTIONS_T2);
}

/// A crash-restart of any server at any point: a restarted server holds no lease.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn pre_vote_and_check_quorum_term_1_one_request_one_crash_keep_every_safety_property() {
    assert_exhaustively_correct(
        elections(RaftModelCfg { max_term: 1, ..RaftModelCfg::default() }),
        STATES_ELECTIONS_T1_CRASH,
    );
}

/// Pre-vote alone over two terms with a crash-restart.
#[test]
#[ignore = "extended suite, minutes: cargo test --release --test models -- --ignored pre_vote_term_2_no_client"]
fn pre_vote_term_2_no_client_one_crash_keeps_every_safety_property() {
    let cfg = RaftModelCfg { pre_vote: true, clients: 0, ..RaftModelCfg::default() };
    assert_exhaustively_correct(cfg, STATES_PRE_VOTE_T2_CRASH);
}

/// A leader that believes every mismatch (`server::repair_follower`, which the runtime runs so
/// that a follower restarted from an older copy of its files is refilled) keeps every property:
/// stale mismatches, reordered and duplicated, only move its matchIndex back. With a
/// crash-restart of any server at any point.
#[test]
fn a_leader_believing_every_mismatch_term_1_one_crash_keeps_every_safety_property() {
    let cfg = RaftModelCfg { repair: true, max_term: 1, ..RaftModelCfg::default() };
    assert_exhaustively_correct(cfg, STATES_REPAIR_T1_CRASH);
}

/// Pre-vote at the plain bound (about 3 minutes):
/// `cargo test --release --test models -- --ignored pre_vote_term_2`.
#[test]
#[ignore = "about 3 minutes: cargo test --release --test models -- --ignored pre_vote_term_2"]
fn pre_vote_term_2_one_request_no_crash_is_safe_and_live() {
    let report = assert_exhaustively_correct(RaftModelCfg { pre_vote: true, ..no_crash() }, STATES_PRE_VOTE_T2);
    assert!(has(&report, EVENTUALLY_COMMITTED) && has(&report, TERMS_PRE_VOTED));
}

/// Symmetry stays sound with pre-vote and check-quorum (a pre-vote's reply names its candidate,
/// renamed with the servers; the ghost state's server ids are renamed too).
#[test]
fn symmetry_reduction_keeps_every_verdict_with_pre_vote_and_check_quorum() {
    let cfg = elections(RaftModelCfg { max_term: 1, ..no_crash() });
    crate::common::assert_symmetry_keeps_every_verdict(cfg, 5, STATES_ELECTIONS_SYMMETRY);
}

/// Symmetry reduction is sound here: with and without it, every property gets the same verdict.
#[test]
fn symmetry_reduction_over_servers_keeps_every_verdict() {
    // 3 servers: about 3! = 6 times fewer states.
    let cfg = RaftModelCfg { max_term: 2, crashes: 1, clients: 0, ..RaftModelCfg::default() };
    crate::common::assert_symmetry_keeps_every_verdict(cfg, 5, STATES_SYMMETRY);
}

/// Symmetry stays sound with the redirecting adversary (it treats every server alike; a vote's
/// candidate is renamed with the servers): the same verdicts, 6x fewer states.
#[test]
fn symmetry_reduction_keeps_every_verdict_with_the_redirecting_adversary() {
    let cfg = RaftModelCfg { redirects: true, max_term: 1, ..no_crash() };
    crate::common::assert_symmetry_keeps_every_verdict(cfg, 5, (STATES_REDIRECTS_T1, 38_426));
}

/// Every planted bug is caught, at its smallest bound, by the property it breaks, with a
/// shortest counterexample of the asserted length; and the same bound without the bug is clean.
fn assert_caught(bug: Bug, steps: usize) {
    crate::common::assert_caught(bug.name(), bug_config(bug), bug.breaks(), steps);
}

macro_rules! bug_tests {
    ($($(#[$attr:meta])* $name:ident: $bug:expr, $steps:expr;)*) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            assert_caught($bug, $steps);
        }
    )*};
}

bug_tests! {
    #[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
    figure8_commit_breaks_leader_completeness: Bug::Figure8Commit, 19;
    voting_without_the_log_check_breaks_leader_completeness: Bug::VoteWithoutLogCheck, 8;
    a_term_forgotten_in_a_crash_breaks_election_safety: Bug::TermNotPersisted, 8;
    counting_a_duplicated_vote_breaks_election_safety: Bug::CountDuplicateVotes, 8;
    truncating_on_a_stale_append_loses_a_committed_entry: Bug::TruncateOnStaleAppend, 10;
    a_follower_committing_before_the_check_breaks_state_machine_safety: Bug::FollowerCommitPastPrefix, 14;
    a_leader_keeping_its_role_in_a_new_term_breaks_leader_append_only: Bug::LeaderKeepsLeading, 7;
    acknowledging_unsaved_entries_loses_a_committed_entry: Bug::LogNotPersisted, 5;
    appending_without_the_consistency_check_breaks_log_matching: Bug::NoConsistencyCheck, 11;
    answering_reads_from_the_leader_log_is_not_linearizable: Bug::StaleRead, 15;
    a_leader_without_heartbeats_never_commits: Bug::NoHeartbeat, 9;
    a_stale_success_taken_for_the_whole_log_loses_a_committed_entry: Bug::StaleAppendResponse, 6;
    a_leader_counting_its_unsaved_log_loses_a_committed_entry: Bug::LeaderCountsUnsavedLog, 5;
    unbound_header_lets_a_copied_vote_elect_two_leaders: Bug::UnboundHeader, 5;
    a_pre_vote_that_raises_its_receivers_term_starts_a_term_no_majority_chose: Bug::PreVoteRaisesTerm, 2;
    a_vote_granted_inside_the_lease_deposes_a_leader_a_majority_follows: Bug::VoteInLease, 6;
    a_quorum_check_counting_sends_keeps_an_isolated_leader: Bug::CheckQuorumCountsSends, 5;
    a_commit_quorum_of_two_loses_a_committed_entry_with_5_servers: Bug::CommitQuorumOfTwo, 7;
}

#[test]
fn every_bug_names_a_property_of_its_model() {
    for bug in Bug::ALL {
        let names: Vec<_> = bug_config(bug).into_model().properties().iter().map(|p| p.name).collect();
        assert!(names.contains(&bug.breaks()), "{bug} breaks {:?}, which {names:?} lacks", bug.breaks());
    }
}

const STATES_T2_NO_CRASH: usize = 24_941;
const STATES_T2_PUT_GET: usize = 92_408;
const STATES_DEFAULT: usize = 904_750;
const STATES_TWO_CRASHES: usize = 3_472_773;
const STATES_T3: usize = 476_846;
const STATES_TWO_CLIENTS: usize = 386_397;
const STATES_LOSSY_CRASH_PUT_GET: usize = 1_729_908;
const STATES_FIGURE8: usize = 416_079;
const STATES_FIGURE8_PLAIN: usize = 6_895_443;
const STATES_TWO_KEYS_T1: usize = 185_662;
const STATES_TWO_KEYS_T2_LOG3: usize = 98_533;
const STATES_REDIRECTS_T1: usize = 6_424;
const STATES_REDIRECTS_T2: usize = 450_268;
const STATES_SYMMETRY: (usize, usize) = (26_728, 159_921);
const STATES_ELECTIONS_T1: usize = 12_601;
const STATES_CHECK_QUORUM_T2: usize = 19_362;
const STATES_ELECTIONS_T2: usize = 1_450_498;
const STATES_ELECTIONS_T1_CRASH: usize = 86_932;
const STATES_PRE_VOTE_T2_CRASH: usize = 1_634_171;
const STATES_PRE_VOTE_T2: usize = 1_872_394;
const STATES_REPAIR_T1_CRASH: usize = 19_501;
const STATES_ELECTIONS_SYMMETRY: (usize, usize) = (12_601, 75_285);
