//! An invariant of Raft's log and elections, checked to be preserved by every step.
//!
//! Log Matching, Election Safety and Leader Completeness are not inductive on their own: a state
//! can satisfy them and be one delivery away from breaking them (an AppendEntries in flight that
//! carries an inconsistent entry, a granted vote the voter has forgotten). [`inv`] strengthens
//! them with the facts their proofs rest on — the messages in flight agree with the logs, votes
//! are backed by the voter's saved state, terms in a log only grow — and the test applies every
//! enabled step to drawn states and requires the invariant again.
//!
//! States are drawn by random walks of up to 150 steps from the initial state, at a bound beyond
//! the exhaustive checks (terms ≤ 4, a Put and a Get, a crash-restart), with proptest choosing
//! every step so that failures shrink to short walks. Like the Paxos suite, it samples reachable
//! states, not arbitrary states that satisfy the invariant.

use crate::walk::{last, preserved, walk};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use quorum::bugs::PlantedBug;
use quorum::raft::log::{self, Entry};
use quorum::raft::model::{self, server_log, RaftSysState};
use quorum::raft::server::Role;
use quorum::raft::{Bug, Index, RaftModel, RaftModelCfg, RaftMsg, RaftState, Term};
use stateright::actor::{Id, Network};

fn cfg() -> RaftModelCfg {
    RaftModelCfg { requests: 2, max_term: 4, crashes: 1, ..RaftModelCfg::default() }
}

/// Server `i`'s current term and vote: what it saved if it is down.
fn term_and_vote(s: &RaftSysState, i: usize) -> (Term, Option<Id>) {
    match model::server_state(s, i) {
        Some(st) => (st.term, st.voted_for),
        None => s.actor_storages[i].as_ref().map_or((0, None), |st| (st.term, st.voted_for)),
    }
}

/// Conjunct 1: every server has saved its term, vote and log (Figure 2's persistent state).
pub fn saved_state_matches(m: &RaftModel, s: &RaftSysState) -> bool {
    (0..m.cfg.servers).all(|i| match (model::server_state(s, i), &s.actor_storages[i]) {
        (Some(st), Some(saved)) => (st.term, st.voted_for, &st.log) == (saved.term, saved.voted_for, &saved.log),
        (Some(st), None) => st.term == 0 && st.log.is_empty(),
        (None, _) => true,
    })
}

/// Conjunct 2: the terms in every log only grow, and none is above its server's current term.
pub fn log_terms_grow(m: &RaftModel, s: &RaftSysState) -> bool {
    (0..m.cfg.servers).all(|i| {
        let log = server_log(s, i);
        log.iter().zip(log.iter().skip(1)).all(|(a, b)| a.term <= b.term)
            && log::last_term(log) <= term_and_vote(s, i).0
    })
}

fn appends(s: &RaftSysState) -> Vec<(Id, Term, Index, Term, Vec<Entry>)> {
    let Network::UnorderedDuplicating(set, _) = &s.network else { return Vec::new() };
    set.iter()
        .filter_map(|env| match &env.msg {
            RaftMsg::AppendEntries(quorum::raft::AppendEntries { term, prev_index, prev_term, entries, .. }) => {
                Some((env.src, *term, *prev_index, *prev_term, entries.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Conjunct 3: every AppendEntries in flight agrees with every log: a log holding its entry holds
/// its (prev_index, prev_term) too — Log Matching for the log fragments messages carry.
pub fn appends_agree_with_logs(m: &RaftModel, s: &RaftSysState) -> bool {
    appends(s).iter().all(|(_, term, prev, prev_term, entries)| {
        entries.iter().all(|e| e.term <= *term)
            && entries.first().is_none_or(|e| {
                (0..m.cfg.servers).all(|i| {
                    let log = server_log(s, i);
                    log::entry_at(log, prev + 1)
                        .is_none_or(|have| have.term != e.term || log::matches(log, *prev, *prev_term))
                })
            })
    })
}

/// Conjunct 4, votes are backed: a candidate counts only servers that voted for it in its term (or
/// have moved to a later one), and a granted vote in flight was saved by its voter.
pub fn votes_are_backed(m: &RaftModel, s: &RaftSysState) -> bool {
    let backs = |voter: usize, candidate: usize, term: Term| {
        let (t, v) = term_and_vote(s, voter);
        t > term || (t == term && v == Some(Id::from(candidate)))
    };
    let counted = (0..m.cfg.servers).all(|c| match model::server_state(s, c).map(|st| (&st.role, st.term)) {
        Some((Role::Candidate { votes }, term)) => votes.iter().all(|v| backs(usize::from(*v), c, term)),
        _ => true,
    });
    let Network::UnorderedDuplicating(set, _) = &s.network else { return counted };
    counted
        && set.iter().all(|env| match env.msg {
            RaftMsg::Vote { term, granted: true, .. } => backs(usize::from(env.src), usize::from(env.dst), term),
            _ => true,
        })
}

/// Figure 3's properties, as the model states them.
fn figure3(m: &RaftModel, s: &RaftSysState) -> [(&'static str, bool); 4] {
    [
        ("election safety", model::election_safety(&s.history)),
        ("log matching", model::log_matching(m, s)),
        ("leader completeness", model::leader_completeness(m, s)),
        ("state machine safety", model::state_machine_safety(&s.history)),
    ]
}

/// The strengthened invariant: the conjuncts above, and Figure 3's properties.
pub fn inv(m: &RaftModel, s: &RaftSysState) -> Result<(), &'static str> {
    let parts = [
        ("saved state matches", saved_state_matches(m, s)),
        ("log terms grow", log_terms_grow(m, s)),
        ("appends agree with logs", appends_agree_with_logs(m, s)),
        ("votes are backed", votes_are_backed(m, s)),
    ];
    parts.into_iter().chain(figure3(m, s)).find(|(_, ok)| !ok).map_or(Ok(()), |(name, _)| Err(name))
}

fn preserved_here(m: &RaftModel, s: &RaftSysState) -> Result<(), String> {
    preserved(m, s, |s| inv(m, s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn raft_inductive_invariant_is_preserved_by_every_step(choices in prop::collection::vec(any::<usize>(), 0..150)) {
        let model = cfg().into_model();
        let s = last(walk(&model, &choices));
        prop_assert_eq!(preserved_here(&model, &s), Ok(()));
    }

    /// The same invariant with pre-vote and check-quorum on, as the runtime runs: their pre-vote
    /// rounds, leases and quorum checks add steps, and none may break it.
    #[test]
    fn raft_inductive_invariant_is_preserved_with_pre_vote_and_check_quorum(choices in prop::collection::vec(any::<usize>(), 0..150)) {
        let model = elections().into_model();
        let s = last(walk(&model, &choices));
        prop_assert_eq!(preserved_here(&model, &s), Ok(()));
    }
}

fn elections() -> RaftModelCfg {
    RaftModelCfg { pre_vote: true, check_quorum: true, ..cfg() }
}

/// The walks reach interesting states: some drawn state has a leader with a committed entry
/// (otherwise the invariant would be checked on trivial states only), with and without pre-vote
/// and check-quorum.
#[test]
fn raft_walks_reach_committed_entries() {
    walks_reach_committed_entries(cfg());
    walks_reach_committed_entries(elections());
}

fn walks_reach_committed_entries(cfg: RaftModelCfg) {
    let model = cfg.into_model();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(any::<usize>(), 0..150);
    let reached = (0..500).any(|_| {
        let choices = strategy.new_tree(&mut runner).expect("a walk").current();
        let s = last(walk(&model, &choices));
        !s.history.applied.is_empty()
            && s.actor_states.iter().any(|a| matches!(&**a, RaftState::Server(st) if st.is_leader()))
    });
    assert!(reached, "no walk reached a leader with a committed entry");
}

/// The invariant has teeth: with a planted bug, some drawn state has a successor that breaks it.
fn broken_under(bug: Bug, conjuncts: &[&str]) {
    broken_in(cfg(), bug, conjuncts)
}

fn broken_in(cfg: RaftModelCfg, bug: Bug, conjuncts: &[&str]) {
    let model = cfg.with_bug(bug).into_model();
    crate::walk::assert_broken(&model, bug.name(), 3000, 150, conjuncts, |s| inv(&model, s));
}

#[test]
fn raft_invariant_breaks_under_no_consistency_check() {
    broken_under(Bug::NoConsistencyCheck, &["appends agree with logs", "log matching"]);
}

#[test]
fn raft_invariant_breaks_under_term_not_persisted() {
    broken_under(Bug::TermNotPersisted, &["saved state matches"]);
}

#[test]
fn raft_invariant_breaks_under_vote_without_log_check() {
    broken_under(Bug::VoteWithoutLogCheck, &["leader completeness"]);
}

#[test]
fn raft_invariant_breaks_under_count_duplicate_votes() {
    // With 3 servers one vote besides the candidate's own is a majority: a duplicate only
    // counts twice towards a majority of 5.
    let five = RaftModelCfg { servers: 5, clients: 0, max_term: 2, crashes: 0, ..cfg() };
    broken_in(five, Bug::CountDuplicateVotes, &["election safety"]);
}
