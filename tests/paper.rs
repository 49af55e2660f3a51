//! One test per rule of the papers, named after its section, as etcd's `raft_paper_test.go` is:
//! `s5_4_1_…` is Raft §5.4.1, `fig2_…` Figure 2, `s9_6_…`/`s10_2_1_…` Ongaro's dissertation,
//! `phase_1b_…` the notes' Paxos phase 1(b). Each drives the real actor (its `on_msg` and
//! `on_timeout`, through `quorum::testkit`) into the rule's situation and checks the state it
//! reaches and what it saves before it sends. Where a planted bug corrupts the rule, the test
//! also runs the bug and sees the outcome flip, so that the test is known to be able to fail.
//!
//! The rule tables of docs/raft.md and docs/paxos.md name these tests, row by row; the last test
//! here keeps the tables and this file in step.

use quorum::paxos::{self, Ballot, PaxosMsg, PaxosStorage, PaxosTimer};
use quorum::raft::server::{Elections, Progress, Replication, Role, ServerCfg};
use quorum::raft::{
    AppendEntries, Bug, BugSet, Entry, OpKind, RaftActor, RaftMsg, RaftStorage, RaftTimer, VoteRequest,
};
use quorum::testkit::{paxos as px, raft, Node, Step};
use stateright::actor::Id;

// ---------------------------------------------------------------------------------------------
// Raft

fn ae(term: u64, prev_index: u64, prev_term: u64, entries: Vec<Entry>, commit: u64) -> RaftMsg {
    RaftMsg::AppendEntries(AppendEntries { term, prev_index, prev_term, entries, commit })
}

fn rv(term: u64, last_index: u64, last_term: u64) -> RaftMsg {
    RaftMsg::RequestVote(VoteRequest { term, last_index, last_term })
}

fn ok(term: u64, m: u64) -> RaftMsg {
    RaftMsg::Appended { term, result: Ok(m) }
}

fn mismatch(term: u64, prev: u64) -> RaftMsg {
    RaftMsg::Appended { term, result: Err(prev) }
}

/// The granted flag of the only Vote a step sent.
fn vote_granted(step: &Step<RaftActor>) -> bool {
    match step.sent().as_slice() {
        [(_, RaftMsg::Vote { granted, .. })] => *granted,
        other => panic!("expected one Vote, got {other:?}"),
    }
}

fn progress(node: &Node<RaftActor>) -> Vec<Progress> {
    match &node.server().role {
        Role::Leader { progress } => progress.clone(),
        other => panic!("not a leader: {other:?}"),
    }
}

/// (nextIndex, matchIndex) of follower `f`.
fn next_match(node: &Node<RaftActor>, f: usize) -> (u64, u64) {
    let p = progress(node)[f];
    (p.next, p.matched)
}

/// Server 0 of three, the leader of term 2 whose log was `[t1; before]` on its disk, so that its
/// log is those entries and its no-op (term 2) after them.
fn leader_of_term_2(cfg: ServerCfg, before: usize) -> Node<RaftActor> {
    let mut s0 = raft::server_from(cfg, 0, 1, None, raft::log(&vec![1; before]));
    raft::elect(&mut s0, 3);
    assert_eq!(s0.server().term, 2);
    s0
}

#[test]
fn fig2_higher_term_makes_a_follower() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::LeaderKeepsLeading)] {
        let mut s0 = raft::server(raft::cfg(3, bugs), 0);
        raft::elect(&mut s0, 3);
        // s1 campaigns in term 2 with a log as up to date as the leader's ([t1:noop]).
        let step = s0.deliver(1, rv(2, 1, 1));
        let s = s0.server();
        assert_eq!((s.term, s.voted_for), (2, Some(Id::from(1))), "{bugs:?}: {s:?}");
        assert!(step.saved_before_sends(), "{step:?}");
        assert_eq!(step.saved()[0].term, 2);
        // The rule: the old leader is a follower now; the planted bug keeps it leading.
        assert_eq!(s.is_leader(), bugs.has(Bug::LeaderKeepsLeading), "{bugs:?}: {s:?}");
    }
}

#[test]
fn fig2_message_from_an_older_term_is_ignored() {
    let mut s0 = raft::server_from(raft::cfg(3, BugSet::NONE), 0, 2, None, raft::log(&[1]));
    for msg in [ae(1, 1, 1, vec![raft::entry(1, 2)], 1), rv(1, 5, 1), ok(1, 1), raft::yes(1, 0)] {
        let step = s0.deliver(1, msg.clone());
        assert!(step.is_no_op(), "{msg:?}: {step:?}");
    }
    assert_eq!((s0.server().term, s0.server().log.len(), s0.server().commit), (2, 1, 0));
}

#[test]
fn s5_2_election_timeout_starts_an_election_saving_term_and_vote_first() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::TermNotPersisted)] {
        let mut s0 = raft::server_from(raft::cfg(3, bugs), 0, 1, None, raft::log(&[1]));
        let step = s0.timeout(RaftTimer::Election);
        let s = s0.server();
        assert!(s.is_candidate());
        assert_eq!((s.term, s.voted_for), (2, Some(Id::from(0))));
        assert!(step.saved_before_sends(), "{step:?}");
        let sent = step.sent();
        assert_eq!(sent.len(), 2);
        for (k, (to, msg)) in sent.into_iter().enumerate() {
            assert_eq!((to, msg), (Id::from(k + 1), rv(2, 1, 1)));
        }
        // What reaches the disk: term 2 and the vote for itself; the bug saves term 0.
        let saved = step.saved()[0].clone();
        let expected = RaftStorage { term: 2, voted_for: Some(Id::from(0)), log: raft::log(&[1]) };
        assert_eq!(saved == expected, !bugs.has(Bug::TermNotPersisted), "{bugs:?}: {saved:?}");
    }
}

#[test]
fn s5_2_voter_grants_at_most_one_vote_per_term() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::TermNotPersisted)] {
        let mut s0 = raft::server(raft::cfg(3, bugs), 0);
        let step = s0.deliver(1, rv(1, 0, 0));
        assert!(vote_granted(&step));
        assert!(step.saved_before_sends(), "the vote is on disk before the yes leaves: {step:?}");
        assert_eq!(s0.server().voted_for, Some(Id::from(1)));
        // Another candidate of the same term: no; the same candidate asking again: yes again.
        assert!(!vote_granted(&s0.deliver(2, rv(1, 0, 0))));
        assert!(vote_granted(&s0.deliver(1, rv(1, 0, 0))));
        // A crash does not free the vote, since it was saved; with the bug it does.
        s0.restart();
        let again = vote_granted(&s0.deliver(2, rv(1, 0, 0)));
        assert_eq!(again, bugs.has(Bug::TermNotPersisted), "{bugs:?}: {s0:?}");
    }
}

#[test]
fn s5_4_1_voter_denies_a_less_up_to_date_candidate() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::VoteWithoutLogCheck)] {
        let buggy = bugs.has(Bug::VoteWithoutLogCheck);
        // The voter's log ends at index 2, term 2.
        let voter = || raft::server_from(raft::cfg(3, bugs), 0, 2, None, raft::log(&[1, 2]));
        // A longer log whose last term is lower: less up to date (t_v > t_c).
        let mut s0 = voter();
        let step = s0.deliver(1, rv(3, 3, 1));
        assert_eq!(vote_granted(&step), buggy, "{bugs:?}: {step:?}");
        assert_eq!(s0.server().term, 3, "a denied candidate's term is still adopted");
        assert!(step.saved_before_sends(), "{step:?}");
        // The same last term, a shorter log (t_v = t_c and i_v > i_c).
        let mut s0 = voter();
        assert_eq!(vote_granted(&s0.deliver(1, rv(3, 1, 2))), buggy);
        assert_eq!(s0.server().voted_for.is_some(), buggy);
        // As up to date, or more: granted.
        for (last_index, last_term) in [(2, 2), (1, 3)] {
            let mut s0 = voter();
            assert!(vote_granted(&s0.deliver(1, rv(3, last_index, last_term))));
        }
    }
}

#[test]
fn s5_2_votes_are_counted_once_per_voter() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::CountDuplicateVotes)] {
        let mut s0 = raft::server(raft::cfg(5, bugs), 0);
        s0.timeout(RaftTimer::Election);
        s0.deliver(1, raft::yes(1, 0));
        s0.deliver(1, raft::yes(1, 0)); // a duplicate
                                        // Two voters of five: no majority; the bug counts three.
        assert_eq!(s0.server().is_leader(), bugs.has(Bug::CountDuplicateVotes), "{bugs:?}: {s0:?}");
        s0.deliver(2, raft::yes(1, 0));
        assert!(s0.server().is_leader());
    }
}

#[test]
fn s5_3_new_leader_initialises_next_and_match_index_and_announces_itself() {
    let mut s0 = raft::server_from(raft::cfg(3, BugSet::NONE), 0, 1, None, raft::log(&[1, 1]));
    s0.timeout(RaftTimer::Election);
    let step = s0.deliver(1, raft::yes(2, 0));
    assert!(s0.server().is_leader());
    for f in [1, 2] {
        assert_eq!(next_match(&s0, f), (3, 0), "nextIndex = last index + 1, matchIndex = 0");
    }
    // At once, every follower gets the AppendEntries for its nextIndex: the no-op after entry 2.
    let noop = s0.server().log.get(2).cloned().expect("the no-op");
    let sent = step.sent();
    assert_eq!(sent.len(), 2, "{step:?}");
    for (k, (to, msg)) in sent.into_iter().enumerate() {
        assert_eq!((to, msg), (Id::from(k + 1), ae(2, 2, 1, vec![noop.clone()], 0)));
    }
    assert!(step.timers_set().contains(&&RaftTimer::Heartbeat), "{step:?}");
}

#[test]
fn s8_new_leader_appends_a_noop_of_its_term() {
    let mut s0 = raft::server_from(raft::cfg(3, BugSet::NONE), 0, 1, None, raft::log(&[1]));
    s0.timeout(RaftTimer::Election);
    let step = s0.deliver(2, raft::yes(2, 0));
    let log = &s0.server().log;
    assert_eq!(log.len(), 2);
    let last = log.last().expect("an entry");
    assert_eq!(last.term, 2);
    assert!(matches!(last.op.kind, OpKind::Noop), "{last:?}");
    // The no-op is on the leader's disk before the AppendEntries carrying it leave.
    assert!(step.saved_before_sends(), "{step:?}");
    assert_eq!(&step.saved()[0].log, log);
}

#[test]
fn s5_2_candidate_that_hears_from_its_terms_leader_becomes_follower() {
    let mut s0 = raft::server(raft::cfg(3, BugSet::NONE), 0);
    s0.timeout(RaftTimer::Election);
    assert!(s0.server().is_candidate());
    let step = s0.deliver(2, ae(1, 0, 0, vec![], 0));
    let s = s0.server();
    assert!(matches!(s.role, Role::Follower), "{s:?}");
    assert_eq!((s.term, s.leader, s.voted_for), (1, Some(Id::from(2)), Some(Id::from(0))));
    let sent = step.sent();
    assert_eq!(sent, vec![(Id::from(2), ok(1, 0))]);
}

#[test]
fn s5_3_heartbeat_sends_each_follower_the_entry_at_its_next_index() {
    let mut s0 = raft::server(raft::cfg(3, BugSet::NONE), 0);
    raft::elect(&mut s0, 3);
    s0.deliver(1, ok(1, 1)); // s1 holds the no-op; s2 has not answered
    assert_eq!(s0.server().commit, 1);
    let step = s0.timeout(RaftTimer::Heartbeat);
    let noop = s0.server().log.get(0).cloned().expect("the no-op");
    let sent = step.sent();
    assert_eq!(sent, vec![(Id::from(1), ae(1, 1, 1, vec![], 1)), (Id::from(2), ae(1, 0, 0, vec![noop], 1))]);
    assert!(step.timers_set().contains(&&RaftTimer::Heartbeat), "re-armed: {step:?}");
}

#[test]
fn s5_3_append_entries_carries_up_to_max_batch_entries() {
    for max_batch in [1, 2] {
        let cfg = ServerCfg::cluster(3, 1, BugSet::NONE, Replication { max_batch, ..Replication::default() });
        let mut s0 = leader_of_term_2(cfg, 3); // log [t1 t1 t1 t2:noop], nextIndex 4
        s0.deliver(1, mismatch(2, 3));
        s0.deliver(1, mismatch(2, 2)); // nextIndex 2
        assert_eq!(next_match(&s0, 1), (2, 0));
        let step = s0.timeout(RaftTimer::Heartbeat);
        let to_s1: Vec<_> = step.sent().into_iter().filter(|(to, _)| *to == Id::from(1)).collect();
        let [(_, RaftMsg::AppendEntries(AppendEntries { prev_index: 1, entries, .. }))] = to_s1.as_slice() else {
            panic!("{step:?}")
        };
        assert_eq!(entries.len(), max_batch, "{step:?}");
        assert_eq!(entries[0], s0.server().log.get(1).cloned().expect("entry 2"));
    }
}

fn eager(parallel_persist: bool) -> ServerCfg {
    let replication = Replication { parallel_persist, ..Replication::eager(8, usize::MAX) };
    ServerCfg::cluster(3, 1, BugSet::NONE, replication)
}

#[test]
fn s5_3_eager_leader_sends_a_new_entry_at_once() {
    for cfg in [raft::cfg(3, BugSet::NONE), eager(false)] {
        let is_eager = cfg.replication().eager;
        let mut s0 = raft::server(cfg, 0);
        raft::elect(&mut s0, 3);
        s0.deliver(1, ok(1, 1));
        s0.deliver(2, ok(1, 1)); // both followers hold everything: nothing in flight
        let step = s0.deliver(3, RaftMsg::Request(raft::put(1)));
        assert_eq!(s0.server().log.len(), 2);
        let new = s0.server().log.get(1).cloned().expect("the new entry");
        let expected: Vec<(Id, RaftMsg)> = match is_eager {
            true => vec![(Id::from(1), ae(1, 1, 1, vec![new.clone()], 1)), (Id::from(2), ae(1, 1, 1, vec![new], 1))],
            false => vec![], // heartbeat-driven: it waits for the next heartbeat
        };
        assert_eq!(step.sent(), expected, "eager {is_eager}: {step:?}");
        assert!(step.saved_before_sends(), "the leader saves its new entry first: {step:?}");
    }
}

#[test]
fn s5_3_eager_leader_follows_a_response_with_the_next_entries() {
    for cfg in [raft::cfg(3, BugSet::NONE), eager(false)] {
        let is_eager = cfg.replication().eager;
        let mut s0 = leader_of_term_2(cfg, 2); // log [t1 t1 t2:noop], nextIndex 3
        let step = s0.deliver(1, mismatch(2, 2));
        assert_eq!(next_match(&s0, 1), (2, 0));
        let log = s0.server().log.to_vec();
        let expected = ae(2, 1, 1, log[1..].to_vec(), 0);
        match is_eager {
            true => assert_eq!(step.sent(), vec![(Id::from(1), expected)], "{step:?}"),
            false => assert!(step.sent().is_empty(), "{step:?}"),
        }
    }
}

/// The leader of term 1 in an eager, parallel-writing cluster whose followers hold its no-op.
fn parallel_leader(bugs: BugSet) -> Node<RaftActor> {
    let cfg = eager(true).with_bugs(bugs);
    let mut s0 = raft::server(cfg, 0);
    raft::elect(&mut s0, 3); // its no-op left unsaved: a step that changed only its log
    s0.timeout(RaftTimer::Persist);
    s0.deliver(1, ok(1, 1));
    s0.deliver(2, ok(1, 1));
    assert_eq!(s0.server().commit, 1);
    s0
}

#[test]
fn s10_2_1_leader_sends_before_it_saves_and_saves_in_a_later_step() {
    let mut s0 = parallel_leader(BugSet::NONE);
    let step = s0.deliver(3, RaftMsg::Request(raft::put(1)));
    // The entry leaves at once, unsaved; the Persist timer will write it.
    assert_eq!(step.sent().len(), 2, "{step:?}");
    assert!(step.saved().is_empty(), "{step:?}");
    assert_eq!(step.timers_set(), vec![&RaftTimer::Persist]);
    assert_eq!(s0.disk.as_ref().map(|d| d.log.len()), Some(1));
    let step = s0.timeout(RaftTimer::Persist);
    assert_eq!(step.saved().len(), 1, "{step:?}");
    assert_eq!(s0.disk.as_ref().map(|d| d.log.len()), Some(2));
}

#[test]
fn s10_2_1_leader_counts_itself_only_for_entries_on_its_disk() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::LeaderCountsUnsavedLog)] {
        let mut s0 = parallel_leader(bugs);
        s0.deliver(3, RaftMsg::Request(raft::put(1)));
        s0.deliver(1, ok(1, 2)); // one follower stores entry 2; the leader's copy is unsaved
        let early = s0.server().commit == 2;
        assert_eq!(early, bugs.has(Bug::LeaderCountsUnsavedLog), "{bugs:?}: {s0:?}");
        if !early {
            // Once it is on its disk, the leader counts itself: saved, committed, answered.
            let step = s0.timeout(RaftTimer::Persist);
            assert_eq!(s0.server().commit, 2);
            assert!(step.saved_before_sends(), "{step:?}");
            assert!(matches!(step.sent().as_slice(), [(c, RaftMsg::Reply { seq: 1, .. })] if *c == Id::from(3)));
        }
    }
}

#[test]
fn s5_3_follower_refuses_entries_after_a_prefix_it_lacks() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::NoConsistencyCheck)] {
        let mut s1 = raft::server_from(raft::cfg(3, bugs), 1, 1, None, raft::log(&[1]));
        // The leader of term 2 believes entry 1 has term 2; s1's has term 1.
        let step = s1.deliver(0, ae(2, 1, 2, vec![raft::entry(2, 7)], 0));
        let refused = s1.server().log == raft::log(&[1]);
        assert_eq!(refused, !bugs.has(Bug::NoConsistencyCheck), "{bugs:?}: {s1:?}");
        if refused {
            assert_eq!(step.sent(), vec![(Id::from(0), mismatch(2, 1))]);
        }
        assert!(step.saved_before_sends(), "the new term is saved first: {step:?}");
        // The matching prefix: accepted.
        let mut s1 = raft::server_from(raft::cfg(3, bugs), 1, 1, None, raft::log(&[1]));
        let step = s1.deliver(0, ae(2, 1, 1, vec![raft::entry(2, 7)], 0));
        assert_eq!(step.sent(), vec![(Id::from(0), ok(2, 2))]);
        assert_eq!(s1.server().log.len(), 2);
    }
}

#[test]
fn s5_3_follower_deletes_only_conflicting_entries() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::TruncateOnStaleAppend)] {
        let mut s1 = raft::server_from(raft::cfg(3, bugs), 1, 2, None, raft::log(&[1, 1, 1]));
        // A stale AppendEntries for entry 1, which s1 already holds: nothing is deleted.
        let step = s1.deliver(0, ae(2, 0, 0, vec![raft::entry(1, 1)], 0));
        assert_eq!(step.sent(), vec![(Id::from(0), ok(2, 1))]);
        let kept = s1.server().log.len() == 3;
        assert_eq!(kept, !bugs.has(Bug::TruncateOnStaleAppend), "{bugs:?}: {s1:?}");
        // A conflict at entry 2 (term 2 against term 1): it and what follows go.
        let mut s1 = raft::server_from(raft::cfg(3, bugs), 1, 2, None, raft::log(&[1, 1, 1]));
        let step = s1.deliver(0, ae(2, 1, 1, vec![raft::entry(2, 9)], 0));
        let expected = vec![raft::entry(1, 1), raft::entry(2, 9)];
        assert_eq!(s1.server().log.to_vec(), expected);
        assert!(step.saved_before_sends(), "the new log is saved before the ack: {step:?}");
        assert_eq!(step.saved()[0].log.to_vec(), expected);
    }
}

#[test]
fn fig2_follower_commit_is_min_of_leader_commit_and_last_new_entry() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::FollowerCommitPastPrefix)] {
        // s1's entries 2 and 3 may be a deposed leader's: this message verifies only entry 1.
        let mut s1 = raft::server_from(raft::cfg(3, bugs), 1, 1, None, raft::log(&[1, 1, 1]));
        s1.deliver(0, ae(1, 0, 0, vec![raft::entry(1, 1)], 3));
        let expected = if bugs.has(Bug::FollowerCommitPastPrefix) { 3 } else { 1 };
        assert_eq!(s1.server().commit, expected, "{bugs:?}: {s1:?}");
    }
}

#[test]
fn s5_3_success_raises_match_index_and_mismatch_lowers_next_index() {
    let mut s0 = leader_of_term_2(raft::cfg(3, BugSet::NONE), 2); // log [t1 t1 t2:noop]
    assert!(s0.deliver(1, mismatch(2, 2)).changed);
    assert_eq!(next_match(&s0, 1), (2, 0));
    // The same mismatch again (duplicated): it no longer fits, nothing moves.
    assert!(s0.deliver(1, mismatch(2, 2)).is_no_op());
    s0.deliver(1, ok(2, 3));
    assert_eq!(next_match(&s0, 1), (4, 3));
    assert_eq!(s0.server().commit, 3);
    // A reordered older success moves nothing back.
    s0.deliver(1, ok(2, 1));
    assert_eq!(next_match(&s0, 1), (4, 3));
    // The planted bug reads any success as covering the leader's whole log.
    for bugs in [BugSet::NONE, BugSet::of(Bug::StaleAppendResponse)] {
        let mut s0 = leader_of_term_2(raft::cfg(3, bugs), 2);
        s0.deliver(2, ok(2, 1)); // answers an AppendEntries that carried entry 1 only
        let expected = if bugs.has(Bug::StaleAppendResponse) { 3 } else { 1 };
        assert_eq!(next_match(&s0, 2).1, expected, "{bugs:?}");
    }
}

#[test]
fn s5_4_2_leader_commits_by_counting_only_entries_of_its_term() {
    for bugs in [BugSet::NONE, BugSet::of(Bug::Figure8Commit)] {
        let mut s0 = leader_of_term_2(raft::cfg(3, bugs), 1); // log [t1 t2:noop]
        s0.deliver(1, ok(2, 1)); // entry 1 (term 1) is on a majority now
        let expected = if bugs.has(Bug::Figure8Commit) { 1 } else { 0 };
        assert_eq!(s0.server().commit, expected, "{bugs:?}: {s0:?}");
        s0.deliver(1, ok(2, 2)); // the no-op of term 2 commits, and entry 1 with it
        assert_eq!(s0.server().commit, 2);
    }
}

#[test]
fn s8_leader_answers_a_client_once_its_entry_commits() {
    let mut s0 = raft::server(raft::cfg(3, BugSet::NONE), 0);
    raft::elect(&mut s0, 3);
    s0.deliver(1, ok(1, 1));
    let step = s0.deliver(3, RaftMsg::Request(raft::put(1)));
    assert!(step.sent().is_empty(), "not committed, not answered: {step:?}");
    // The client retries: the operation is appended once.
    s0.deliver(3, RaftMsg::Request(raft::put(1)));
    assert_eq!(s0.server().log.len(), 2);
    let reply = RaftMsg::Reply { session: 0, seq: 1, value: None };
    let step = s0.deliver(1, ok(1, 2));
    assert_eq!(s0.server().commit, 2);
    assert_eq!(step.sent(), vec![(Id::from(3), reply.clone())]);
    // Asked again once committed: answered again from its entry.
    let step = s0.deliver(3, RaftMsg::Request(raft::put(1)));
    assert_eq!(step.sent(), vec![(Id::from(3), reply)]);
    assert_eq!(s0.server().log.len(), 2);
}

type Envelope = (usize, usize, RaftMsg);

/// Runs one step at server `at`; records it in `bad` if it changed persistent state and a
/// message left before the save. Returns the messages it sent.
fn checked_step(
    nodes: &mut [Node<RaftActor>],
    at: usize,
    bad: &mut Vec<String>,
    step: impl FnOnce(&mut Node<RaftActor>) -> Step<RaftActor>,
) -> Vec<Envelope> {
    let node = &mut nodes[at];
    let before = node.server().durable();
    let step = step(node);
    if node.server().durable() != before && !step.sent().is_empty() && !step.saved_before_sends() {
        bad.push(format!("s{at}: {step:?}"));
    }
    step.sent().into_iter().map(|(to, m)| (at, usize::from(to), m)).collect()
}

/// Three servers exchange every message in order: s0 is elected and replicates a client's
/// Put. Returns the steps that changed persistent state and let a message leave before saving.
fn unsaved_sends(bugs: BugSet) -> Vec<String> {
    let mut nodes: Vec<Node<RaftActor>> = (0..3).map(|i| raft::server(raft::cfg(3, bugs), i)).collect();
    let mut bad = Vec::new();
    let mut queue = std::collections::VecDeque::new();
    queue.extend(checked_step(&mut nodes, 0, &mut bad, |n| n.timeout(RaftTimer::Election)));
    for round in 0..4 {
        while let Some((src, dst, msg)) = queue.pop_front() {
            if dst < 3 {
                queue.extend(checked_step(&mut nodes, dst, &mut bad, |n| n.deliver(src, msg)));
            }
        }
        match round {
            0 => queue.extend(checked_step(&mut nodes, 0, &mut bad, |n| n.deliver(3, RaftMsg::Request(raft::put(1))))),
            _ => queue.extend(checked_step(&mut nodes, 0, &mut bad, |n| n.timeout(RaftTimer::Heartbeat))),
        }
    }
    assert!(nodes.iter().all(|n| n.server().commit == 2), "{nodes:?}");
    bad
}

#[test]
fn fig2_persistent_state_is_saved_before_any_message_leaves() {
    assert_eq!(unsaved_sends(BugSet::NONE), Vec::<String>::new());
    // A follower that acknowledges entries before saving them is caught.
    assert!(!unsaved_sends(BugSet::of(Bug::LogNotPersisted)).is_empty());
}

#[test]
fn s9_6_pre_vote_changes_no_term() {
    let elections = Elections { pre_vote: true, check_quorum: false };
    for bugs in [BugSet::NONE, BugSet::of(Bug::PreVoteRaisesTerm)] {
        let cfg = raft::cfg(3, bugs).with_elections(elections);
        let mut s0 = raft::server_from(cfg.clone(), 0, 1, None, raft::log(&[1]));
        let step = s0.timeout(RaftTimer::Election);
        assert!(s0.server().is_pre_candidate());
        assert_eq!(s0.server().term, 1);
        assert!(step.saved().is_empty(), "nothing persistent changed: {step:?}");
        let pre_vote = RaftMsg::PreVote(VoteRequest { term: 2, last_index: 1, last_term: 1 });
        assert_eq!(step.sent(), vec![(Id::from(1), pre_vote.clone()), (Id::from(2), pre_vote.clone())]);
        // A voter would vote yes, and stays in its term; the bug moves it to the proposed one.
        let mut s1 = raft::server_from(cfg, 1, 1, None, raft::log(&[1]));
        let step = s1.deliver(0, pre_vote);
        let reply = RaftMsg::PreVoteReply { term: 2, granted: true, candidate: Id::from(0) };
        assert_eq!(s1.server().term == 1, !bugs.has(Bug::PreVoteRaisesTerm), "{bugs:?}: {s1:?}");
        if !bugs.has(Bug::PreVoteRaisesTerm) {
            assert_eq!(step.sent(), vec![(Id::from(0), reply.clone())]);
            assert!(step.saved().is_empty(), "{step:?}");
        }
        // With a majority's yes, the real election starts: term 2, saved first.
        let step = s0.deliver(1, reply);
        assert!(s0.server().is_candidate());
        assert_eq!(s0.server().term, 2);
        assert!(step.saved_before_sends(), "{step:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Paxos: acceptors 0, 1, 2; proposers 3, 4; learners 5, 6; a client 7.

fn ballot(round: u8, proposer: usize) -> Ballot {
    Ballot { round, proposer: Id::from(proposer) }
}

const ACCEPTORS: [usize; 3] = [0, 1, 2];

#[test]
fn phase_1a_proposer_saves_a_higher_unique_ballot_before_preparing() {
    let mut p3 = px::proposer(3, &ACCEPTORS, paxos::BugSet::NONE);
    let step = p3.deliver(7, PaxosMsg::Propose('A'));
    assert_eq!(p3.proposer().round, 1);
    assert_eq!(step.saved(), vec![PaxosStorage::Proposer { round: 1 }]);
    assert!(step.saved_before_sends(), "{step:?}");
    let prepare = PaxosMsg::Prepare(ballot(1, 3));
    assert_eq!(step.sent(), ACCEPTORS.iter().map(|a| (Id::from(*a), prepare)).collect::<Vec<_>>());
    // The retry is a higher ballot, and a restart never reuses one.
    p3.timeout(PaxosTimer::Retry);
    p3.restart();
    assert_eq!(p3.proposer().round, 2);
    let step = p3.deliver(7, PaxosMsg::Propose('A'));
    assert_eq!(step.sent()[0].1, PaxosMsg::Prepare(ballot(3, 3)));
    // Ballots are unique to their proposer: proposer 4's first is not proposer 3's. The planted
    // bug numbers every proposer's ballots like the first proposer's.
    for bugs in [paxos::BugSet::NONE, paxos::BugSet::of(paxos::Bug::NonUniqueBallots)] {
        let role = paxos::Role::Proposer {
            acceptors: ACCEPTORS.iter().copied().map(Id::from).collect(),
            first_proposer: Id::from(3),
            own_value: None,
        };
        let (mut p4, _) = Node::start(paxos::PaxosActor { role, bugs }, 4);
        let step = p4.deliver(7, PaxosMsg::Propose('B'));
        let unique = step.sent()[0].1 == PaxosMsg::Prepare(ballot(1, 4));
        assert_eq!(unique, !bugs.has(paxos::Bug::NonUniqueBallots), "{step:?}");
    }
}

#[test]
fn phase_1b_acceptor_promises_and_saves_before_answering() {
    for bugs in [paxos::BugSet::NONE, paxos::BugSet::of(paxos::Bug::PromiseNotPersisted)] {
        let buggy = bugs.has(paxos::Bug::PromiseNotPersisted);
        let mut a0 = px::acceptor(0, &[5, 6], bugs);
        let step = a0.deliver(3, PaxosMsg::Prepare(ballot(1, 3)));
        assert_eq!(step.sent(), vec![(Id::from(3), PaxosMsg::Promise(ballot(1, 3), None))]);
        assert_eq!(a0.acceptor().promised, Some(ballot(1, 3)));
        assert_eq!(step.saved_before_sends(), !buggy, "{bugs:?}: {step:?}");
        // A higher prepare gets a promise too; a lower one afterwards gets nothing.
        a0.deliver(4, PaxosMsg::Prepare(ballot(1, 4)));
        assert!(a0.deliver(3, PaxosMsg::Prepare(ballot(1, 3))).is_no_op());
        // The promise survives a crash; with the bug it is forgotten.
        a0.restart();
        assert_eq!(a0.acceptor().promised == Some(ballot(1, 4)), !buggy, "{bugs:?}: {a0:?}");
    }
}

#[test]
fn phase_2a_proposer_on_a_majority_sends_the_highest_accepted_value() {
    for bugs in [paxos::BugSet::NONE, paxos::BugSet::of(paxos::Bug::LowestAcceptedValue)] {
        let mut p3 = px::proposer(3, &ACCEPTORS, bugs);
        p3.deliver(7, PaxosMsg::Propose('A'));
        p3.timeout(PaxosTimer::Retry); // ballot b2.3
        let b = ballot(2, 3);
        let step = p3.deliver(0, PaxosMsg::Promise(b, Some((ballot(1, 3), 'C'))));
        assert!(step.sent().is_empty(), "one promise of three is no majority");
        let step = p3.deliver(1, PaxosMsg::Promise(b, Some((ballot(1, 4), 'B'))));
        // To the two that promised, the value of the highest-numbered proposal they reported.
        let v = if bugs.has(paxos::Bug::LowestAcceptedValue) { 'C' } else { 'B' };
        let accept = PaxosMsg::Accept(b, v);
        assert_eq!(step.sent(), vec![(Id::from(0), accept), (Id::from(1), accept)], "{bugs:?}");
    }
    // No accepted proposal reported: the proposer's own (its client's) value.
    let mut p3 = px::proposer(3, &ACCEPTORS, paxos::BugSet::NONE);
    p3.deliver(7, PaxosMsg::Propose('A'));
    p3.deliver(0, PaxosMsg::Promise(ballot(1, 3), None));
    let step = p3.deliver(2, PaxosMsg::Promise(ballot(1, 3), None));
    let accept = PaxosMsg::Accept(ballot(1, 3), 'A');
    assert_eq!(step.sent(), vec![(Id::from(0), accept), (Id::from(2), accept)]);
}

#[test]
fn phase_2b_acceptor_accepts_unless_it_promised_higher_and_saves_before_telling_learners() {
    for bugs in [paxos::BugSet::NONE, paxos::BugSet::of(paxos::Bug::AcceptorIgnoresPromise)] {
        let buggy = bugs.has(paxos::Bug::AcceptorIgnoresPromise);
        let mut a0 = px::acceptor(0, &[5, 6], bugs);
        a0.deliver(4, PaxosMsg::Prepare(ballot(2, 4)));
        // Promised b2.4: an accept request numbered lower is refused.
        let step = a0.deliver(3, PaxosMsg::Accept(ballot(1, 3), 'A'));
        assert_eq!(step.is_no_op(), !buggy, "{bugs:?}: {step:?}");
        let step = a0.deliver(4, PaxosMsg::Accept(ballot(2, 4), 'B'));
        assert_eq!(a0.acceptor().accepted, Some((ballot(2, 4), 'B')));
        let accepted = PaxosMsg::Accepted(ballot(2, 4), 'B');
        assert_eq!(step.sent(), vec![(Id::from(5), accepted), (Id::from(6), accepted)]);
        assert!(step.saved_before_sends(), "the vote is on disk before the learners hear it: {step:?}");
    }
}

#[test]
fn phase_3_learner_learns_a_value_accepted_by_a_majority_and_saves_it_first() {
    for bugs in [paxos::BugSet::NONE, paxos::BugSet::of(paxos::Bug::LearnerCountsDuplicates)] {
        let mut l5 = px::learner(5, 3, &[3, 4], bugs);
        let vote = PaxosMsg::Accepted(ballot(1, 3), 'A');
        l5.deliver(0, vote);
        l5.deliver(0, vote); // a duplicate: still one acceptor
        let learned = l5.learner().learned.is_some();
        assert_eq!(learned, bugs.has(paxos::Bug::LearnerCountsDuplicates), "{bugs:?}: {l5:?}");
        if !learned {
            let step = l5.deliver(1, vote);
            assert_eq!(l5.learner().learned, Some('A'));
            assert!(step.saved_before_sends(), "{step:?}");
            assert_eq!(step.saved(), vec![PaxosStorage::Learner { learned: Some('A') }]);
            let chosen = PaxosMsg::Chosen('A');
            assert_eq!(step.sent(), vec![(Id::from(3), chosen), (Id::from(4), chosen)]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The docs' rule tables name these tests.

/// The `paper::…` names in the last column of each row of the table under `header`.
fn table_tests(doc: &str, header: &str) -> Vec<(String, Vec<String>)> {
    let mut lines = doc.lines().skip_while(|l| !l.starts_with(header));
    assert!(lines.next().is_some(), "no table headed {header:?}");
    lines
        .skip(1) // |---|---|
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let last = row.trim_end().trim_end_matches('|').rsplit('|').next().unwrap_or("");
            let names = last
                .split("paper::")
                .skip(1)
                .map(|s| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
                .collect();
            (row.to_owned(), names)
        })
        .collect()
}

#[test]
fn every_rule_table_row_names_a_test_in_this_file() {
    let me = include_str!("paper.rs");
    let tables = [
        (include_str!("../docs/raft.md"), "| rule (paper / notes) | function | test |", 20),
        (include_str!("../docs/paxos.md"), "| notes | rule | function | test |", 5),
    ];
    for (doc, header, at_least) in tables {
        let rows = table_tests(doc, header);
        assert!(rows.len() >= at_least, "{header}: only {} rows", rows.len());
        for (row, names) in rows {
            assert!(!names.is_empty(), "a row names no paper:: test: {row}");
            for name in names {
                assert!(me.contains(&format!("fn {name}()")), "no test `{name}` in tests/paper.rs: {row}");
            }
        }
    }
}
