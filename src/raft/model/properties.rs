//! The properties, named as in the paper's Figure 3 and the mission: each an `always`,
//! `sometimes` or `eventually` over the system state and its ghost history
//! ([`RaftHistory`]). [`all`] lists what a configuration checks; the predicates follow.

use crate::raft::log::{self, Log};
use crate::raft::server::ServerState;
use crate::raft::{majority, Index, Seq, Term};
use stateright::actor::Id;
use stateright::Property;

/// Property names (the paper's Figure 3, and the mission's), shared by the model, the bug zoo,
/// the CLI and the tests.
pub mod property {
    pub const ELECTION_SAFETY: &str = "election safety";
    pub const LEADER_APPEND_ONLY: &str = "leader append-only";
    pub const LOG_MATCHING: &str = "log matching";
    pub const LEADER_COMPLETENESS: &str = "leader completeness";
    pub const STATE_MACHINE_SAFETY: &str = "state machine safety";
    pub const COMMITTED_DURABLE: &str = "committed entries durable";
    pub const LINEARIZABLE: &str = "linearizable";
    pub const LEADER_ELECTED: &str = "leader elected";
    pub const ENTRY_COMMITTED: &str = "entry committed";
    pub const LEADER_REPLACED: &str = "leader replaced after a crash";
    pub const EVENTUALLY_COMMITTED: &str = "requests eventually committed";
    pub const TERMS_PRE_VOTED: &str = "terms start with a majority's pre-vote";
    pub const LEADER_STABLE: &str = "leader deposed only without a majority";
    pub const LEADER_HAS_QUORUM: &str = "leader steps down without a majority";
    pub const LEADER_STEPPED_DOWN: &str = "an isolated leader steps down";
}
use super::{durable_log, server_log, server_state, RaftHistory, RaftModel, RaftModelCfg, RaftSysState};
use property::*;

/// Every property checked under `cfg`, in the order reports list them.
pub fn all(cfg: &RaftModelCfg) -> Vec<Property<RaftModel>> {
    let mut ps = vec![
        Property::always(ELECTION_SAFETY, |_: &RaftModel, s: &RaftSysState| election_safety(&s.history)),
        Property::always(LEADER_APPEND_ONLY, |_: &RaftModel, s: &RaftSysState| !s.history.append_only_broken),
        Property::always(LOG_MATCHING, log_matching),
        Property::always(LEADER_COMPLETENESS, leader_completeness),
        Property::always(STATE_MACHINE_SAFETY, |_: &RaftModel, s: &RaftSysState| state_machine_safety(&s.history)),
        Property::always(COMMITTED_DURABLE, committed_durable),
        Property::always(LINEARIZABLE, |_: &RaftModel, s: &RaftSysState| s.history.lin.serialized_history().is_some()),
        Property::sometimes(LEADER_ELECTED, |_: &RaftModel, s: &RaftSysState| !s.history.leaders.is_empty()),
    ];
    if cfg.clients > 0 && cfg.requests > 0 {
        ps.push(Property::sometimes(ENTRY_COMMITTED, |_: &RaftModel, s: &RaftSysState| !s.history.applied.is_empty()));
    }
    if cfg.crashes > 0 && cfg.max_term >= 2 {
        ps.push(Property::sometimes(LEADER_REPLACED, leader_replaced));
    }
    if cfg.pre_vote {
        ps.push(Property::always(TERMS_PRE_VOTED, terms_pre_voted));
    }
    if cfg.check_quorum {
        ps.push(Property::always(LEADER_STABLE, |_: &RaftModel, s: &RaftSysState| !s.history.deposed_with_majority));
        ps.push(Property::always(LEADER_HAS_QUORUM, |_: &RaftModel, s: &RaftSysState| {
            !s.history.kept_without_majority
        }));
        ps.push(Property::sometimes(LEADER_STEPPED_DOWN, |_: &RaftModel, s: &RaftSysState| s.history.stepped_down));
    }
    // Not with a log bound either: a path cut off by it would look terminal.
    if !cfg.lossy && cfg.crashes == 0 && cfg.max_log.is_none() {
        ps.push(Property::eventually(EVENTUALLY_COMMITTED, requests_committed_or_last_election_failed));
    }
    ps
}

/// Figure 3, Election Safety: at most one leader can be elected in a given term — over the
/// whole history, not only among the leaders of the current state.
pub fn election_safety(h: &RaftHistory) -> bool {
    let terms: Vec<Term> = h.leaders.iter().map(|(t, _)| *t).collect();
    terms.windows(2).all(|w| w[0] != w[1])
}

/// Figure 3, Log Matching: if two logs contain an entry with the same index and term, the logs
/// are identical in all entries up through that index.
pub fn log_matching(m: &RaftModel, s: &RaftSysState) -> bool {
    let logs: Vec<&Log> = (0..m.cfg.servers).map(|i| server_log(s, i)).collect();
    logs.iter().enumerate().all(|(i, a)| {
        logs[i + 1..].iter().all(|b| {
            let common = a.len().min(b.len());
            let same_term = |k: usize| a.get(k).map(|e| e.term) == b.get(k).map(|e| e.term);
            match (0..common).rev().find(|&k| same_term(k)) {
                Some(k) => a.common_prefix(b) > k,
                None => true,
            }
        })
    })
}

/// Figure 3, Leader Completeness: an entry committed in a term is present in the logs of the
/// leaders of all later terms (and of that term).
pub fn leader_completeness(m: &RaftModel, s: &RaftSysState) -> bool {
    (0..m.cfg.servers).filter_map(|i| server_state(s, i)).filter(|l| l.is_leader()).all(|l| {
        s.history
            .applied
            .iter()
            .filter(|(_, &term)| term <= l.term)
            .all(|((index, e), _)| log::entry_at(&l.log, *index) == Some(e))
    })
}

/// Figure 3, State Machine Safety: no two servers ever apply different entries at one index.
pub fn state_machine_safety(h: &RaftHistory) -> bool {
    let indices: Vec<Index> = h.applied.keys().map(|(i, _)| *i).collect();
    indices.windows(2).all(|w| w[0] != w[1])
}

/// The mission's "committed entries durable": every applied entry is on the disks of a majority
/// of servers, whatever crashed since.
pub fn committed_durable(m: &RaftModel, s: &RaftSysState) -> bool {
    s.history.applied.keys().all(|(index, e)| {
        let holders = (0..m.cfg.servers).filter(|&i| log::entry_at(durable_log(s, i), *index) == Some(e)).count();
        holders >= majority(m.cfg.servers)
    })
}

/// Ongaro §9.6, what pre-vote is for: every term a server holds (in memory or on disk) was
/// started by a server that a majority would vote for — one that received a "yes" to its
/// pre-vote for that term from enough servers to make a majority with itself. Read from the
/// replies actually sent, not from the pre-candidate's count.
pub fn terms_pre_voted(m: &RaftModel, s: &RaftSysState) -> bool {
    let pre_voted = |t: &Term| majority(m.cfg.servers) <= 1 || s.history.pre_voted.contains(t);
    (0..m.cfg.servers).all(|i| {
        let up = server_state(s, i).map_or(0, |st| st.term);
        let saved = s.actor_storages.get(i).and_then(|o| o.as_ref()).map_or(0, |st| st.term);
        [up, saved].iter().filter(|t| **t > 0).all(pre_voted)
    })
}

/// A leader crashed, and a later term has a leader.
fn leader_replaced(m: &RaftModel, s: &RaftSysState) -> bool {
    s.history
        .crashed_leader
        .is_some_and(|t| (0..m.cfg.servers).filter_map(|i| server_state(s, i)).any(|l| l.is_leader() && l.term > t))
}

/// Liveness, as far as a bounded check can state it. Stateright's `eventually` holds on a path
/// once the condition held at some state of it, and is judged at terminal states (no message
/// left whose delivery changes anything, no election left within the term bound); so the
/// condition must be stable once true. It is: every client's requests are answered, or the last
/// election the bound allows failed for good — every server is in the last term, none leads, and
/// no candidate can still reach a majority with the votes cast for it plus those of servers that
/// have not voted and would not deny it.
fn requests_committed_or_last_election_failed(m: &RaftModel, s: &RaftSysState) -> bool {
    s.history.returned.iter().all(|n| *n >= Seq::from(m.cfg.requests)) || last_election_failed(m, s)
}

fn last_election_failed(m: &RaftModel, s: &RaftSysState) -> bool {
    let servers: Vec<&ServerState> = (0..m.cfg.servers).filter_map(|i| server_state(s, i)).collect();
    if servers.len() < m.cfg.servers || servers.iter().any(|st| st.term != m.cfg.max_term || st.is_leader()) {
        return false;
    }
    (0..m.cfg.servers).all(|c| {
        let cand = servers[c];
        let cast = servers.iter().filter(|v| v.voted_for == Some(Id::from(c))).count();
        let open = servers
            .iter()
            .filter(|v| {
                v.voted_for.is_none() && !log::deny_vote(log::LastEntry::of(&v.log), log::LastEntry::of(&cand.log))
            })
            .count();
        !cand.is_candidate() || cast + open < majority(m.cfg.servers)
    })
}
