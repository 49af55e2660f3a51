//! What the runtime needs of a protocol's actor beyond `stateright::actor::Actor`: a status line
//! for the logs and the stats file, and guards for the limits of the model's types. Each protocol
//! implements it beside its runtime door (`src/raft/hosting.rs`, `src/paxos/hosting.rs`).
//!
//! Raft's terms and indices are `u64`: a real cluster does not run out of them (a term ending at
//! `u64::MAX` is still refused rather than wrapped). Paxos rounds are `u8`: a partitioned proposer
//! retries often, so the runtime refuses, with a logged reason, the few inputs that would overflow.

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
