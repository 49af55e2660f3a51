//! Raft's scenarios: the classic situations of the paper and of RaftScope, replayed in the
//! model of [`RaftModelCfg::into_model`].

use super::{cannot, ensure, last, step, Spec};
use crate::raft::log::{self, Entry, Log};
use crate::raft::model::{property::*, server_log, server_state, RaftSysState};
use crate::raft::{Bug, OpKind, RaftModelCfg, Term};
use stateright::Model;

type RaftSpec = Spec<RaftModelCfg>;

/// The Raft scenarios, in the guide's order.
pub static SCENARIOS: [RaftSpec; 7] =
    [SPLIT_VOTE, LEADER_CRASH, FIGURE7, FIGURE8, FIGURE8_BUG, RESTART_KEEPS_TERM, RESTART_FORGETS_TERM];

fn leaders(s: &RaftSysState) -> Vec<(Term, usize)> {
    s.history.leaders.iter().map(|(t, id)| (*t, usize::from(*id))).collect()
}

fn at(states: &[RaftSysState], k: usize) -> Result<&RaftSysState, String> {
    states.get(k).ok_or_else(|| format!("the path has no step {k}"))
}

const SPLIT_VOTE: RaftSpec = Spec {
    name: "split-vote",
    about: "two candidates split the votes of term 1; a new election in term 2 succeeds",
    cfg: || RaftModelCfg { servers: 4, clients: 0, crashes: 0, max_term: 2, ..RaftModelCfg::default() },
    steps: &[
        step("s0 election timeout", "s0: candidate in term 1, votes for itself"),
        step("s1 election timeout", "s1: candidate in term 1 too"),
        step("s0 -> s2 : RequestVote(t1", ""),
        step("s2 -> s0 : Vote(t1, yes)", "s0 has 2 of 4 votes; 3 make a majority"),
        step("s1 -> s3 : RequestVote(t1", ""),
        step("s3 -> s1 : Vote(t1, yes)", "s1 has 2 of 4 votes too"),
        cannot("s0 -> s3 : RequestVote(t1, last 0@t0)", "s3 already voted in term 1: one vote per term"),
        cannot("s1 -> s2 : RequestVote(t1, last 0@t0)", "s2 already voted in term 1"),
        cannot("s0 -> s1 : RequestVote(t1, last 0@t0)", "s1 voted for itself"),
        step("s0 election timeout", "no leader in term 1: s0 tries again, term 2"),
        step("s0 -> s1 : RequestVote(t2", "s1 sees term 2, becomes a follower"),
        step("s1 -> s0 : Vote(t2, yes)", ""),
        step("s0 -> s2 : RequestVote(t2", ""),
        step("s2 -> s0 : Vote(t2, yes)", "3 of 4: s0 leads term 2"),
    ],
    expect: "no leader is elected in term 1; s0 is the one leader, of term 2",
    violates: &[],
    check: |_, _, states| {
        let l = leaders(last(states)?);
        ensure(l == [(2, 0)], || format!("elected (term, server): {l:?}, expected only (2, s0)"))
    },
};

const LEADER_CRASH: RaftSpec = Spec {
    name: "leader-crash",
    about: "a leader commits a client's write and crashes; a new leader is elected and keeps the write",
    cfg: RaftModelCfg::default,
    steps: &[
        step("s0 election timeout", "s0: candidate in term 1"),
        step("s0 -> s1 : RequestVote(t1", ""),
        step("s1 -> s0 : Vote(t1, yes)", "s0 leads term 1 and appends its no-op entry"),
        step("c3 -> s0 : Request", "the client's write reaches the leader: index 2"),
        step("s0 -> s1 : AppendEntries(t1, prev 0@t0", ""),
        step("s1 -> s0 : Appended(t1, ok up to 1)", "the no-op is on a majority: committed"),
        step("s0 heartbeat", "the next entry goes out"),
        step("s0 -> s1 : AppendEntries(t1, prev 1@t1", ""),
        step("s1 -> s0 : Appended(t1, ok up to 2)", "the write is on a majority: committed"),
        step("s0 -> c3 : Reply", "the client has its answer"),
        step("s0 crashes", "the leader is gone"),
        step("s1 election timeout", "s1: candidate in term 2"),
        step("s1 -> s2 : RequestVote(t2", "s2's log is empty: s1's is at least as up to date"),
        step("s2 -> s1 : Vote(t2, yes)", "s1 leads term 2, with the committed write in its log"),
    ],
    expect: "s1 leads term 2 after s0 crashed, and its log holds the write that was committed in term 1",
    violates: &[],
    check: |cfg, model, states| {
        let s = last(states)?;
        let replaced = model.properties().into_iter().find(|p| p.name == LEADER_REPLACED);
        ensure(replaced.is_some_and(|p| (p.condition)(model, s)), || "the crashed leader was not replaced".into())?;
        let leader = server_state(s, 1).filter(|st| st.is_leader() && st.term == 2);
        let write = leader.and_then(|st| log::entry_at(&st.log, 2));
        ensure(write.is_some_and(|e| matches!(e.op.kind, OpKind::Put(..)) && e.term == 1), || {
            format!(
                "s1 should lead term 2 with the term-1 write at index 2:\n{}",
                crate::raft::model::describe_state(cfg, s)
            )
        })
    },
};

const FIGURE7: RaftSpec = Spec {
    name: "figure7",
    about: "a new leader repairs a follower with an extra entry and one with missing entries (a small Figure 7)",
    cfg: || RaftModelCfg { crashes: 0, ..RaftModelCfg::default() },
    steps: &[
        step("s0 election timeout", "s0: candidate in term 1"),
        step("s0 -> s1 : RequestVote(t1", ""),
        step("s1 -> s0 : Vote(t1, yes)", "s0 leads term 1: log [t1:noop]"),
        step("s0 -> s1 : AppendEntries(t1, prev 0@t0", "s1: [t1:noop]"),
        step("s1 -> s0 : Appended(t1, ok up to 1)", "the no-op is committed"),
        step("c3 -> s0 : Request", "s0 appends the write at index 2; nobody else has it"),
        step("s1 election timeout", "s1 stops hearing from s0: term 2"),
        step("s1 -> s2 : RequestVote(t2, last 1@t1)", ""),
        step("s2 -> s1 : Vote(t2, yes)", "s1 leads term 2: [t1:noop, t2:noop]. s0 has an extra entry, s2 misses two"),
        step("s1 -> s0 : AppendEntries(t2, prev 1@t1", "s0 steps down; its index 2 conflicts and is replaced"),
        step("s0 -> s1 : Appended(t2, ok up to 2)", "t2:noop is on a majority: committed"),
        step("s1 -> s2 : AppendEntries(t2, prev 1@t1", "s2 has nothing at index 1"),
        step("s2 -> s1 : Appended(t2, mismatch at 1)", "s1 lowers s2's nextIndex to 1"),
        step("s1 heartbeat", ""),
        step("s1 -> s2 : AppendEntries(t2, prev 0@t0", "the first missing entry"),
        step("s2 -> s1 : Appended(t2, ok up to 1)", ""),
        step("s1 heartbeat", ""),
        step("s1 -> s2 : AppendEntries(t2, prev 1@t1, [t2:noop], commit 2)", "the second"),
        step("s2 -> s1 : Appended(t2, ok up to 2)", "every log is now the leader's"),
    ],
    expect: "when s1 is elected, s0 holds an extra uncommitted entry and s2 misses entries; at the end all three logs equal the leader's",
    violates: &[],
    check: |_, _, states| {
        let elected = at(states, 9)?;
        let (s0, s1, s2) = (server_log(elected, 0), server_log(elected, 1), server_log(elected, 2));
        ensure(s0.len() == 2 && s1.len() == 2 && s0.get(1) != s1.get(1) && s2.is_empty(), || {
            format!("after step 9: s0 {s0:?}, s1 {s1:?}, s2 {s2:?}")
        })?;
        let end = last(states)?;
        let logs: Vec<&Log> = (0..3).map(|i| server_log(end, i)).collect();
        ensure(logs.iter().all(|l| *l == logs[1]), || format!("logs differ at the end: {logs:?}"))
    },
};

/// The 19 steps of `quorum check raft --bug figure8-commit` (BFS, one thread): the paper's
/// Figure 8 (a)–(d) with the leaders' no-op entries as the log.
macro_rules! figure8_steps {
    ($($more:expr),* $(,)?) => {
        &[
            step("s0 election timeout", "(a) s0: candidate in term 1"),
            step("s0 -> s1 : RequestVote(t1", ""),
            step("s1 -> s0 : Vote(t1, yes)", "s0 leads term 1: [t1:noop], replicated nowhere yet"),
            step("s1 election timeout", "(b) s1: candidate in term 2"),
            step("s1 -> s0 : RequestVote(t2", "s0 steps down; denies (its log is more up to date)"),
            step("s1 -> s2 : RequestVote(t2", ""),
            step("s2 -> s1 : Vote(t2, yes)", "s1 leads term 2: [t2:noop], replicated nowhere"),
            step("s0 election timeout", "(c) s0: candidate in term 3"),
            step("s0 -> s2 : RequestVote(t3", ""),
            step("s2 -> s0 : Vote(t3, yes)", "s0 leads term 3: [t1:noop, t3:noop]"),
            step("s0 -> s1 : AppendEntries(t3", "s1 learns of term 3"),
            step("s0 -> s2 : AppendEntries(t3, prev 1@t1", ""),
            step("s2 -> s0 : Appended(t3, mismatch at 1)", "s2's log is empty"),
            step("s0 heartbeat", ""),
            step("s0 -> s2 : AppendEntries(t3, prev 0@t0, [t1:noop]", "s2: [t1:noop]"),
            step("s2 -> s0 : Appended(t3, ok up to 1)", "t1:noop is on a majority (s0, s2), but it is from term 1"),
            step("s1 election timeout", "(d) s1: candidate in term 4, last entry t2:noop"),
            step("s1 -> s2 : RequestVote(t4", "t2 > t1: s1's log is more up to date than s2's"),
            step("s2 -> s1 : Vote(t4, yes)", "s1 leads term 4: [t2:noop, t4:noop]"),
            $($more),*
        ]
    };
}

const FIGURE8_BOUND: fn() -> RaftModelCfg = || RaftModelCfg { bugs: Default::default(), ..figure8_bug_cfg() };

fn figure8_bug_cfg() -> RaftModelCfg {
    crate::raft::model::bug_config(Bug::Figure8Commit)
}

/// Whether entry `e` was ever applied at `index` along the path.
fn ever_applied(states: &[RaftSysState], index: crate::raft::Index, e: impl Fn(&Entry) -> bool) -> bool {
    states.iter().any(|s| s.history.applied.keys().any(|(i, entry)| *i == index && e(entry)))
}

const FIGURE8: RaftSpec = Spec {
    name: "figure8",
    about: "Figure 8 with the correct commit rule: the term-1 entry on a majority is not committed, and is safely overwritten",
    cfg: FIGURE8_BOUND,
    steps: figure8_steps![
        step("s1 -> s2 : AppendEntries(t4, prev 1@t2", "s2 holds t1:noop at index 1: mismatch"),
        step("s2 -> s1 : Appended(t4, mismatch at 1)", ""),
        step("s1 heartbeat", ""),
        step("s1 -> s2 : AppendEntries(t4, prev 0@t0, [t2:noop]", "s2's t1:noop conflicts and is replaced"),
        step("s2 -> s1 : Appended(t4, ok up to 1)", "t2:noop is on a majority, but not of term 4: not committed"),
        step("s1 -> s2 : AppendEntries(t4, prev 1@t2, [t4:noop], commit 0)", "a duplicate of step 20's message; it fits now"),
        step("s2 -> s1 : Appended(t4, ok up to 2)", "t4:noop on a majority: indices 1 and 2 committed"),
    ],
    expect: "at step 16 s0 does not commit t1:noop (not of its term); s1 later commits t2:noop at index 1 and no property breaks",
    violates: &[],
    check: |_, _, states| {
        let t1 = |e: &Entry| e.term == 1;
        ensure(!ever_applied(states, 1, t1), || "t1:noop was committed".into())?;
        ensure(ever_applied(states, 1, |e| e.term == 2), || "s1 did not commit t2:noop at index 1".into())
    },
};

const FIGURE8_BUG: RaftSpec = Spec {
    name: "figure8-bug",
    about: "Figure 8 with the planted bug figure8-commit: a term-1 entry committed by counting is overwritten",
    cfg: figure8_bug_cfg,
    steps: figure8_steps![
        step("s1 -> s2 : AppendEntries(t4, prev 1@t2", "s2 holds t1:noop at index 1: mismatch"),
        step("s2 -> s1 : Appended(t4, mismatch at 1)", ""),
        step("s1 heartbeat", ""),
        step("s1 -> s2 : AppendEntries(t4, prev 0@t0, [t2:noop]", "the committed t1:noop is overwritten on s2"),
        step("s2 -> s1 : Appended(t4, ok up to 1)", "the bug again: s1 commits t2:noop where s0 applied t1:noop"),
        step("s1 -> s2 : AppendEntries(t4, prev 1@t2, [t4:noop], commit 0)", "a duplicate of step 20's message; it fits now"),
        step("s2 -> s1 : Appended(t4, ok up to 2)", "t4:noop committed"),
    ],
    expect: "s0 commits t1:noop at step 16 (the bug); leader completeness breaks at step 19, then the entry is overwritten and state machine safety breaks",
    violates: &[LEADER_COMPLETENESS, COMMITTED_DURABLE, STATE_MACHINE_SAFETY],
    check: |_, _, states| {
        ensure(ever_applied(states, 1, |e| e.term == 1), || "t1:noop was never committed".into())?;
        ensure(ever_applied(states, 1, |e| e.term == 2), || "t2:noop was never committed at index 1".into())
    },
};

/// The first steps of Stateright's own `examples/raft.rs` counterexample (docs/raft.md): s1
/// votes for s2 in term 1, then crashes and restarts.
macro_rules! restart_steps {
    ($($more:expr),* $(,)?) => {
        &[
            step("s2 election timeout", "s2: candidate in term 1"),
            step("s2 -> s1 : RequestVote(t1", ""),
            step("s1 -> s2 : Vote(t1, yes)", "s1 voted for s2 in term 1; s2 leads term 1"),
            step("s1 crashes", ""),
            step("s1 restarts from its saved state", ""),
            step("s1 election timeout", ""),
            $($more),*
        ]
    };
}

fn restart_cfg() -> RaftModelCfg {
    crate::raft::model::bug_config(Bug::TermNotPersisted)
}

const RESTART_KEEPS_TERM: RaftSpec = Spec {
    name: "restart-keeps-term",
    about: "a voter crashes and restarts with its saved term and vote: it cannot help elect a second leader of the same term",
    cfg: || RaftModelCfg { bugs: Default::default(), ..restart_cfg() },
    steps: restart_steps![
        step("s1 -> s0 : RequestVote(t2", "s1 restarted in term 1 (saved), so its election is for term 2"),
        step("s0 -> s1 : Vote(t2, yes)", "s1 leads term 2; s2 still leads term 1: one leader per term"),
    ],
    expect: "s2 leads term 1 and s1 leads term 2; election safety holds",
    violates: &[],
    check: |_, _, states| {
        let l = leaders(last(states)?);
        ensure(l == [(1, 2), (2, 1)], || format!("elected (term, server): {l:?}, expected (1, s2) and (2, s1)"))
    },
};

const RESTART_FORGETS_TERM: RaftSpec = Spec {
    name: "restart-forgets-term",
    about: "the planted bug term-not-persisted, as in Stateright's examples/raft.rs: a restarted voter forgets its term and vote, and term 1 gets two leaders",
    cfg: restart_cfg,
    steps: restart_steps![
        step("s1 -> s0 : RequestVote(t1", "s1 restarted in term 0 (nothing saved): it runs for term 1 again"),
        step("s0 -> s1 : Vote(t1, yes)", "s1 leads term 1, which s2 already leads"),
    ],
    expect: "two leaders of term 1 (s2, then s1): election safety breaks at the last step",
    violates: &[ELECTION_SAFETY],
    check: |_, _, states| {
        let l = leaders(last(states)?);
        ensure(l == [(1, 1), (1, 2)], || format!("elected (term, server): {l:?}, expected s1 and s2 in term 1"))
    },
};
