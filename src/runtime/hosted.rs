//! What the runtime needs of a protocol beyond `stateright::actor::Actor`: a status line for the
//! logs and the stats file, and guards for the limits of the model's types.
//!
//! Raft's terms and indices are `u64`: a real cluster does not run out of them (a term ending at
//! `u64::MAX` is still refused rather than wrapped). Paxos rounds are `u8`: a partitioned proposer
//! retries often, so the runtime refuses, with a logged reason, the few inputs that would overflow.

use crate::paxos::{PaxosActor, PaxosMsg, PaxosState, PaxosTimer};
use crate::raft::server::Role;
use crate::raft::{OpKind, RaftActor, RaftMsg, RaftState, RaftTimer};
use serde::Serialize;
use stateright::actor::{Actor, Id};

/// A protocol-neutral summary of a node's state, logged on change and written to the stats file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// e.g. follower, candidate, leader, acceptor.
    pub role: String,
    /// Raft: the current term; Paxos: the promised or current round.
    pub term: u64,
    /// Raft: the commit index; Paxos: 1 once a value is learned or decided.
    pub commit: u64,
    /// Raft: the log length.
    pub log_len: u64,
    /// The last committed or learned entry, for the log line.
    pub last: String,
}

/// What the runtime does with an input the protocol would mishandle outside the model's bounds.
#[derive(Debug, PartialEq, Eq)]
pub enum Guard {
    Deliver,
    /// Drop this input (counted and logged).
    Refuse(&'static str),
}

pub trait Hosted: Actor {
    fn status(state: &Self::State) -> Status;

    /// Whether to hand `msg` from `src` (already authenticated) to the actor.
    fn admit_msg(&self, _state: &Self::State, _src: Id, _msg: &Self::Msg) -> Guard {
        Guard::Deliver
    }

    fn admit_timeout(_state: &Self::State, _timer: &Self::Timer) -> Guard {
        Guard::Deliver
    }
}

/// The largest value a client may write (bytes): a request, and an AppendEntries carrying it,
/// must fit in one datagram ([`crate::runtime::wire::MAX_DATAGRAM`]).
pub const RAFT_MAX_VALUE: usize = 16 * 1024;
/// The longest key a client may name (bytes). Keys are names, not payloads: a small bound keeps
/// a request with the largest key and value well inside one datagram.
pub const RAFT_MAX_KEY: usize = 1024;
/// The runtime's byte budget for the values of one AppendEntries (`Replication::max_batch_bytes`).
pub const RAFT_BATCH_BYTES: usize = 32 * 1024;

impl Hosted for RaftActor {
    fn status(state: &RaftState) -> Status {
        match state {
            RaftState::Server(s) => Status {
                role: match s.role {
                    Role::Follower => "follower",
                    Role::PreCandidate { .. } => "pre-candidate",
                    Role::Candidate { .. } => "candidate",
                    Role::Leader { .. } => "leader",
                }
                .to_owned(),
                term: s.term,
                commit: s.commit,
                log_len: s.log.len() as u64,
                last: crate::raft::log::entry_at(&s.log, s.commit).map_or_else(String::new, |e| format!("{e:?}")),
            },
            RaftState::Client(done) => Status { role: "client".into(), commit: *done, ..Status::default() },
        }
    }

    /// Also: a request must carry its sender's own client number, so that a client cannot
    /// have the leader answer (or deduplicate against) another client's operations.
    fn admit_msg(&self, _state: &RaftState, src: Id, msg: &RaftMsg) -> Guard {
        if let (RaftActor::Server(cfg), RaftMsg::Request(op)) = (self, msg) {
            if cfg.clients.get(usize::from(op.client)) != Some(&src) {
                return Guard::Refuse("a request naming another client's number");
            }
        }
        match msg {
            RaftMsg::Request(op) if op.kind == OpKind::Noop => Guard::Refuse("clients may not send no-ops"),
            RaftMsg::Request(op) if op.key().is_some_and(|k| k.as_bytes().len() > RAFT_MAX_KEY) => {
                Guard::Refuse("key longer than 1 KiB")
            }
            RaftMsg::Request(crate::raft::Op { kind: OpKind::Put(_, v), .. })
                if v.as_bytes().len() > RAFT_MAX_VALUE =>
            {
                Guard::Refuse("value larger than 16 KiB")
            }
            _ => Guard::Deliver,
        }
    }

    fn admit_timeout(state: &RaftState, timer: &RaftTimer) -> Guard {
        match (state, timer) {
            (RaftState::Server(s), RaftTimer::Election) if s.term == crate::raft::Term::MAX => {
                Guard::Refuse("term space exhausted")
            }
            _ => Guard::Deliver,
        }
    }
}

impl Hosted for PaxosActor {
    /// term: the acceptor's promised round, the proposer's round; commit: 1 once the acceptor
    /// accepted, the proposer was told the decision, the learner learned.
    fn status(state: &PaxosState) -> Status {
        let (role, term, commit, last) = match state {
            PaxosState::Acceptor(s) => (
                "acceptor",
                s.promised.map_or(0, |b| b.round),
                u64::from(s.accepted.is_some()),
                s.accepted.map_or_else(String::new, |(b, v)| format!("accepted {b:?}={v}")),
            ),
            PaxosState::Proposer(s) => (
                "proposer",
                s.round,
                u64::from(s.decided.is_some()),
                s.decided.map_or_else(String::new, |v| format!("decided {v}")),
            ),
            PaxosState::Learner(s) => (
                "learner",
                0,
                u64::from(s.learned.is_some()),
                s.learned.map_or_else(String::new, |v| format!("learned {v}")),
            ),
            PaxosState::Client(_) => ("client", 0, 0, String::new()),
        };
        Status { role: role.to_owned(), term: term.into(), commit, log_len: 0, last }
    }

    /// Ballot rounds are u8: a proposer at round 255 starts no new ballot.
    fn admit_msg(&self, state: &PaxosState, _src: Id, msg: &PaxosMsg) -> Guard {
        match (state, msg) {
            (PaxosState::Proposer(s), PaxosMsg::Propose(_)) if s.round == u8::MAX && s.proposal.is_none() => {
                Guard::Refuse("round space exhausted: Paxos rounds are u8 in this implementation")
            }
            _ => Guard::Deliver,
        }
    }

    fn admit_timeout(state: &PaxosState, timer: &PaxosTimer) -> Guard {
        match (state, timer) {
            (PaxosState::Proposer(s), PaxosTimer::Retry) if s.round == u8::MAX => {
                Guard::Refuse("round space exhausted: Paxos rounds are u8 in this implementation")
            }
            _ => Guard::Deliver,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::server::{Replication, ServerCfg};
    use crate::raft::{BugSet, Key, Op, Value};

    fn admit(kind: OpKind) -> Guard {
        let cfg = ServerCfg::cluster(1, 1, BugSet::NONE, Replication::default());
        let state = RaftState::Server(crate::raft::server::ServerState::restore(None));
        RaftActor::Server(cfg).admit_msg(
            &state,
            Id::from(1),
            &RaftMsg::Request(Op { client: 0, session: 0, seq: 1, kind }),
        )
    }

    #[test]
    fn keys_and_values_up_to_the_limits_are_delivered_longer_ones_refused_with_a_reason() {
        let key = |n: usize| Key::from(vec![b'k'; n]);
        let value = |n: usize| Value::from(vec![b'v'; n]);
        assert_eq!(admit(OpKind::Get(key(RAFT_MAX_KEY))), Guard::Deliver);
        assert_eq!(admit(OpKind::Put(key(RAFT_MAX_KEY), value(RAFT_MAX_VALUE))), Guard::Deliver);
        assert_eq!(admit(OpKind::Get(key(RAFT_MAX_KEY + 1))), Guard::Refuse("key longer than 1 KiB"));
        assert_eq!(admit(OpKind::Put(key(RAFT_MAX_KEY + 1), value(1))), Guard::Refuse("key longer than 1 KiB"));
        assert_eq!(admit(OpKind::Put(key(1), value(RAFT_MAX_VALUE + 1))), Guard::Refuse("value larger than 16 KiB"));
        assert_eq!(admit(OpKind::Noop), Guard::Refuse("clients may not send no-ops"));
    }
}
