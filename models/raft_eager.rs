//! Raft with the runtime's replication (src/raft/server.rs, `Replication`): AppendEntries sent
//! at once on a request and on each response that leaves a follower behind, several entries per
//! message, and a leader that writes new entries to its disk in parallel with sending them
//! (`defer_leader_save`: it counts itself towards a majority only once they are saved). The
//! runtime runs with up to 64 entries per message; here 2, which is already more than these
//! bounds' logs ever need to send at once, so every batching path is taken. The suites in raft.rs
//! check the model's default (heartbeat-driven, one entry per message, save before sending).

use quorum::bugs::PlantedBug;
use quorum::raft::model::{bug_config, property::*, RaftModelCfg};
use quorum::raft::Bug;

use crate::common::{assert_exhaustively_correct, has};

fn eager(cfg: RaftModelCfg) -> RaftModelCfg {
    RaftModelCfg { eager: true, max_batch: 2, parallel_persist: true, ..cfg }
}

fn no_crash() -> RaftModelCfg {
    eager(RaftModelCfg { crashes: 0, ..RaftModelCfg::default() })
}

#[test]
fn raft_eager_batch_2_3_servers_term_2_one_request_no_crash_is_safe_and_live() {
    let report = assert_exhaustively_correct(no_crash(), STATES_T2_NO_CRASH);
    assert!(has(&report, EVENTUALLY_COMMITTED) && has(&report, LINEARIZABLE));
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_eager_batch_2_3_servers_term_2_put_then_get_no_crash_is_linearizable_and_live() {
    assert_exhaustively_correct(RaftModelCfg { requests: 2, ..no_crash() }, STATES_T2_PUT_GET);
}

/// The write a leader makes in parallel matters when it crashes before the write: one
/// crash-restart of any server at any point, with logs capped at 2 entries (the first leader's
/// no-op and the Put; a second leader cannot append its own no-op on top of both). Without the cap
/// the bound passed 7.2 M states in 13 minutes (loaded machine) without finishing.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_eager_parallel_writes_one_crash_restart_logs_2_keeps_every_safety_property() {
    let cfg = eager(RaftModelCfg { max_log: Some(2), ..RaftModelCfg::default() });
    let report = assert_exhaustively_correct(cfg, STATES_T2_ONE_CRASH_LOG_2);
    assert!(has(&report, LEADER_REPLACED), "a crashed leader is replaced in this bound");
}

/// The runtime's configuration whole: eager replication, parallel writes, pre-vote,
/// check-quorum and the repair of shrunk followers, every property (their own included) kept.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn raft_as_the_runtime_runs_it_with_pre_vote_check_quorum_and_repair_term_1_is_safe_and_live() {
    let cfg = RaftModelCfg { max_term: 1, pre_vote: true, check_quorum: true, repair: true, ..no_crash() };
    let report = assert_exhaustively_correct(cfg, STATES_RUNTIME_ELECTIONS_T1);
    assert!(has(&report, EVENTUALLY_COMMITTED) && has(&report, LEADER_STABLE) && has(&report, TERMS_PRE_VOTED));
}

/// Planted bugs are still caught with eager replication on, by the same property (the shortest
/// counterexample may be shorter than with heartbeats only).
fn assert_caught_eager(bug: Bug, steps: usize) {
    crate::common::assert_caught(bug.name(), eager(bug_config(bug)), bug.breaks(), steps);
}

#[test]
fn eager_a_stale_success_taken_for_the_whole_log_loses_a_committed_entry() {
    assert_caught_eager(Bug::StaleAppendResponse, STEPS_STALE_APPEND_RESPONSE);
}

#[test]
fn eager_truncating_on_a_stale_append_loses_a_committed_entry() {
    assert_caught_eager(Bug::TruncateOnStaleAppend, STEPS_TRUNCATE_ON_STALE_APPEND);
}

#[test]
fn eager_voting_without_the_log_check_breaks_leader_completeness() {
    assert_caught_eager(Bug::VoteWithoutLogCheck, STEPS_VOTE_WITHOUT_LOG_CHECK);
}

// Eager replication sends more (each send is a new message in the duplicating network), so these
// bounds hold more states than their heartbeat-only twins in raft.rs (24,941 and 92,408): eager
// replication alone (saving before sending) gave 87,425 and 601,510. Writing the leader's log in
// parallel makes the write a step of its own (the `Persist` timer), which interleaves with the
// deliveries of the entries it covers, and adds the leader's own progress to the state: 3.3× and
// 3.1× that. The planted bugs' shortest counterexamples take that one step more (they were 6, 8
// and 8 steps with eager replication alone).
const STATES_T2_NO_CRASH: usize = 289_382;
const STATES_RUNTIME_ELECTIONS_T1: usize = 395_232;
const STATES_T2_PUT_GET: usize = 1_844_382;
const STATES_T2_ONE_CRASH_LOG_2: usize = 1_940_967;
const STEPS_STALE_APPEND_RESPONSE: usize = 7;
const STEPS_TRUNCATE_ON_STALE_APPEND: usize = 9;
const STEPS_VOTE_WITHOUT_LOG_CHECK: usize = 9;
