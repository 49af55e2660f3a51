//! Raft ("In Search of an Understandable Consensus Algorithm", extended version, Figure 2) as a
//! pure Stateright actor, with the course notes' rules named where they apply.
//!
//! - [`log`]: the replicated log — entries `(index, term, data)`, the notes' vote-denial rule,
//!   the consistency check and truncation;
//! - [`server`]: one `step` per role (follower, candidate, leader), as etcd's raft does;
//! - [`client`]: issues key-value operations and waits for the leader's reply;
//! - [`kv`]: the sequential specification of the replicated map, for linearizability;
//! - [`actor`]: the `Actor` hosting servers and clients;
//! - [`bug`]: the planted bugs, each a classic mistake one `if` away from the correct rule;
//! - [`door`] and [`hosting`]: the doors to the rest of `quorum` — the model's flags, bugs and
//!   scenarios ([`crate::protocol::Protocol`]), and how the runtime runs the actor over UDP
//!   ([`crate::runtime::door::Hosting`]).
//!
//! The rules above are what a student reads. [`model`] is the checking side: the one model
//! builder, its properties (first), ghost history, bounds and reductions.
//!
//! Nothing but the doors knows of sockets, files or clocks: timers, sends and saves are `Out`
//! commands.

pub mod actor;
pub mod bug;
pub mod client;
pub mod door;
pub mod hosting;
pub mod kv;
pub mod log;
pub mod model;
pub mod server;

pub use actor::{RaftActor, RaftState, RaftStorage, RaftTimer};
pub use bug::{Bug, BugSet};
pub use log::{Entry, Log};
pub use model::{RaftModel, RaftModelCfg};

use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};
use std::fmt;

/// A term number. Terms only grow; the model bounds them with `max_term`. 64 bits, as etcd's: a
/// real cluster never runs out (the model's state counts do not depend on the width).
pub type Term = u64;
/// A log index; the first entry has index 1, and index 0 stands for "before the first entry".
pub type Index = u64;
/// A client's request number within its session: 1, 2, …
pub type Seq = u64;
/// A client run's session: the model's clients use 0; the runtime's draw a fresh random one per
/// run, so that no request of a new run can equal an operation of an earlier one.
pub type Session = u64;

/// A value clients write into the replicated map: bytes. The model writes one-letter values
/// ("A", "B", …), the runtime's clients any bytes (the benchmark 100-byte ones). Shared, so that
/// cloning a log (every step clones the server's state) copies no value bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Value(pub std::sync::Arc<[u8]>);

impl Value {
    /// The bytes of the value.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A key of the replicated map: bytes, represented as a [`Value`]. A model with one key uses the
/// empty key, which operations print as nothing (`put0.1=A`), so its traces read as a register's.
pub type Key = Value;

impl From<char> for Value {
    fn from(c: char) -> Value {
        Value(c.to_string().into_bytes().into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value(s.as_bytes().into())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value(v.into())
    }
}

impl fmt::Display for Value {
    /// As text (invalid UTF-8 replaced), so that the model's values read `A`, not `[65]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A client operation on the replicated map, as it travels in log entries. It is named by
/// (`client`, `session`, `seq`): the leader appends an operation once however often it is
/// requested, and answers a repeated request from the entry it appended.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Op {
    /// The client's number (0, 1, …), not its actor id, so that symmetry over servers keeps it.
    pub client: u8,
    /// The client run that issued it (0 in the model).
    pub session: Session,
    /// The request number within the session: 1, 2, … (one outstanding request per client).
    pub seq: Seq,
    pub kind: OpKind,
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// Set the key to the value.
    Put(Key, Value),
    /// Read the key.
    Get(Key),
    /// The blank entry a new leader appends at the start of its term (Raft §8).
    Noop,
}

impl Op {
    /// The bytes of its key and value (0 for a no-op): what the leader's batching budget
    /// (`Replication::max_batch_bytes`) counts.
    pub fn value_len(&self) -> usize {
        match &self.kind {
            OpKind::Put(k, v) => k.as_bytes().len().saturating_add(v.as_bytes().len()),
            OpKind::Get(k) => k.as_bytes().len(),
            OpKind::Noop => 0,
        }
    }

    /// The key it reads or writes (none for a no-op).
    pub fn key(&self) -> Option<&Key> {
        match &self.kind {
            OpKind::Put(k, _) | OpKind::Get(k) => Some(k),
            OpKind::Noop => None,
        }
    }
}

/// `client.seq` in the model (session 0), `client~session.seq` with the session in hex otherwise.
struct OpName<'a>(&'a Op);

impl fmt::Display for OpName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Op { client, session, seq, .. } = self.0;
        match session {
            0 => write!(f, "{client}.{seq}"),
            s => write!(f, "{client}~{s:x}.{seq}"),
        }
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The empty key (a one-key model's) is not printed: `put0.1=A`, else `put0.1 x=A`.
        let key = |k: &Key| if k.as_bytes().is_empty() { String::new() } else { format!(" {k}") };
        match &self.kind {
            OpKind::Put(k, v) => write!(f, "put{}{}={v}", OpName(self), key(k)),
            OpKind::Get(k) => write!(f, "get{}{}", OpName(self), key(k)),
            OpKind::Noop => write!(f, "noop"),
        }
    }
}

/// A RequestVote's arguments (Figure 2), and a pre-vote's (Ongaro §9.6): the term asked for, and
/// where the candidate's log ends, which a voter compares with its own ([`log::deny_vote`]).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VoteRequest {
    pub term: Term,
    pub last_index: Index,
    pub last_term: Term,
}

impl VoteRequest {
    /// The candidate's last entry, as [`log::deny_vote`] takes it.
    pub fn last(&self) -> log::LastEntry {
        log::LastEntry { index: self.last_index, term: self.last_term }
    }
}

/// An AppendEntries' arguments (Figure 2): the leader's term, the entries after (`prev_index`,
/// `prev_term`), and the leader's commit index.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppendEntries {
    pub term: Term,
    pub prev_index: Index,
    pub prev_term: Term,
    pub entries: Vec<Entry>,
    pub commit: Index,
}

/// The messages of Figure 2, and the client's.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RaftMsg {
    /// Candidate → servers: vote for me in `term`; my log ends at (`last_index`, `last_term`).
    RequestVote(VoteRequest),
    /// Voter → candidate: the answer, with the voter's term and the candidate it answers, so
    /// that a copy delivered to another candidate is not a vote for it ([`server::vote_names_me`]).
    Vote { term: Term, granted: bool, candidate: Id },
    /// Leader → follower: the entries after (`prev_index`, `prev_term`) (at most one here), and
    /// the leader's commit index.
    AppendEntries(AppendEntries),
    /// Follower → leader: `Ok(match_index)` when its log matches the leader's up to there,
    /// `Err(prev_index)` when the consistency check failed at `prev_index`.
    Appended { term: Term, result: Result<Index, Index> },
    /// Pre-candidate → servers (Ongaro §9.6): would you vote for me in `term` (my term + 1), my
    /// log ending at (`last_index`, `last_term`)? Changes no one's term.
    PreVote(VoteRequest),
    /// Server → pre-candidate: yes, with the proposed term; or no, with the server's own term.
    /// It names the pre-candidate, as a vote does.
    PreVoteReply { term: Term, granted: bool, candidate: Id },
    /// Client → servers: please commit this operation (only a leader acts on it).
    Request(Op),
    /// Leader → client: the operation `seq` of `session` is committed; for a Get, its key's
    /// value then. (The client is the addressee: the operation's client number names it.)
    Reply { session: Session, seq: Seq, value: Option<Value> },
    /// Follower → client: I am not the leader; the leader of my term is this server.
    Redirect { seq: Seq, leader: Id },
}

impl fmt::Debug for RaftMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RaftMsg::*;
        match self {
            RequestVote(VoteRequest { term, last_index, last_term }) => {
                write!(f, "RequestVote(t{term}, last {last_index}@t{last_term})")
            }
            // The candidate is the envelope's receiver, except for a copy redirected on the way
            // (traces say so: `model::describe_action`).
            Vote { term, granted, .. } => write!(f, "Vote(t{term}, {})", if *granted { "yes" } else { "no" }),
            AppendEntries(self::AppendEntries { term, prev_index, prev_term, entries, commit }) => {
                write!(f, "AppendEntries(t{term}, prev {prev_index}@t{prev_term}, {entries:?}, commit {commit})")
            }
            PreVote(VoteRequest { term, last_index, last_term }) => {
                write!(f, "PreVote(t{term}, last {last_index}@t{last_term})")
            }
            PreVoteReply { term, granted, .. } => {
                write!(f, "PreVoteReply(t{term}, {})", if *granted { "yes" } else { "no" })
            }
            Appended { term, result: Ok(m) } => write!(f, "Appended(t{term}, ok up to {m})"),
            Appended { term, result: Err(p) } => write!(f, "Appended(t{term}, mismatch at {p})"),
            Request(op) => write!(f, "Request({op:?})"),
            Reply { session, seq, value } => {
                match session {
                    0 => write!(f, "Reply({seq}")?,
                    s => write!(f, "Reply(~{s:x}.{seq}")?,
                }
                match value {
                    Some(v) => write!(f, ", {v})"),
                    None => write!(f, ")"),
                }
            }
            Redirect { seq, leader } => write!(f, "Redirect({seq}, to s{})", usize::from(*leader)),
        }
    }
}

impl Rewrite<Id> for RaftMsg {
    /// A redirect, a vote and a pre-vote's reply name a server; other messages' servers are the envelope's.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            RaftMsg::Redirect { seq, leader } => RaftMsg::Redirect { seq: *seq, leader: plan.rewrite(leader) },
            RaftMsg::Vote { term, granted, candidate } => {
                RaftMsg::Vote { term: *term, granted: *granted, candidate: plan.rewrite(candidate) }
            }
            RaftMsg::PreVoteReply { term, granted, candidate } => {
                RaftMsg::PreVoteReply { term: *term, granted: *granted, candidate: plan.rewrite(candidate) }
            }
            other => other.clone(),
        }
    }
}

pub use crate::quorums::majority;
