//! Single-decree Paxos ("Paxos Made Simple", and the course notes' phases 1–3) as pure
//! Stateright actors.
//!
//! Roles are separate actors so that each rule of the notes is visible on its own:
//! - [`acceptor`]: phase 1(b) *promise* and phase 2(b) *accept*;
//! - [`proposer`]: phase 1(a) *prepare* and phase 2(a) *accept request*;
//! - [`learner`]: phase 3, "a value is chosen when a majority of acceptors accepted it", and
//!   catching up on a decision it missed;
//! - [`client`]: proposes a value, is told the chosen one, then reads it back from a learner;
//! - [`actor`]: the `Actor` hosting every role; [`spec`]: the sequential specification;
//! - [`bug`]: the planted bugs;
//! - [`layout`]: which actor id plays which role (acceptors first), for the model, the runtime
//!   and the tests;
//! - [`door`] and [`hosting`]: the doors to the rest of `quorum` — the model's flags, bugs and
//!   scenarios ([`crate::protocol::Protocol`]), and how the runtime runs the roles over UDP
//!   ([`crate::runtime::door::Hosting`]).
//!
//! The rules above are what a student reads. [`model`] is the checking side: the one model
//! builder, its properties (first), ghost history, bounds and reductions.
//!
//! Nothing but the doors knows of sockets, files or clocks: timers, sends and saves are `Out`
//! commands.

pub mod acceptor;
pub mod actor;
pub mod bug;
pub mod client;
pub mod door;
pub mod hosting;
pub mod layout;
pub mod learner;
pub mod model;
pub mod proposer;
pub mod spec;

pub use actor::{PaxosActor, PaxosState, PaxosStorage, PaxosTimer, Role};
pub use bug::{Bug, BugSet};
pub use layout::Layout;
pub use model::{CfgError, NetworkKind, PaxosHistory, PaxosModel, PaxosModelCfg};

use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};
use std::fmt;

/// A proposed value. Clients propose `'A'`, `'B'`, …; `'?'` is never proposed.
pub type Value = char;

/// A proposal number. Paxos needs them totally ordered and unique per proposer: ordering is by
/// round first, then by proposer id, so two proposers never share a ballot.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u8,
    pub proposer: Id,
}

impl fmt::Debug for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}.{}", self.round, usize::from(self.proposer))
    }
}

impl Rewrite<Id> for Ballot {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Ballot { round: self.round, proposer: plan.rewrite(&self.proposer) }
    }
}

/// A proposal an acceptor has accepted: its ballot and value.
pub type Proposal = (Ballot, Value);

/// The messages of the protocol, named after the notes' phases.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PaxosMsg {
    /// Client → proposer: please get this value chosen.
    Propose(Value),
    /// Phase 1(a), proposer → acceptors: prepare request numbered `Ballot`.
    Prepare(Ballot),
    /// Phase 1(b), acceptor → proposer: a promise not to accept proposals numbered below the
    /// ballot, with the highest-numbered proposal the acceptor has accepted (if any).
    Promise(Ballot, Option<Proposal>),
    /// Phase 2(a), proposer → acceptors: accept request for proposal (ballot, value).
    Accept(Ballot, Value),
    /// Phase 2(b)/3, acceptor → learners: "I accepted this proposal".
    Accepted(Ballot, Value),
    /// Phase 3, learner → proposers: this value is chosen. Also proposer → learner, answering a
    /// learner's CatchUp with the decision the proposer was told.
    Chosen(Value),
    /// Proposer → client: the value that was chosen (maybe another client's).
    Decided(Value),
    /// Client → learner: which value is chosen?
    Read,
    /// Learner → client: the chosen value (a learner answers only once it has learned).
    ReadOk(Value),
    /// Learner → acceptors and proposers: "which proposals have you accepted?", from a learner
    /// that may have missed the decision (restarted, or read while it has learned nothing). An
    /// acceptor answers with its Accepted, a proposer that knows the decision with Chosen.
    CatchUp,
}

impl fmt::Debug for PaxosMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PaxosMsg::*;
        match self {
            Propose(v) => write!(f, "Propose({v})"),
            Prepare(b) => write!(f, "Prepare({b:?})"),
            Promise(b, None) => write!(f, "Promise({b:?}, none)"),
            Promise(b, Some((ab, v))) => write!(f, "Promise({b:?}, {ab:?}={v})"),
            Accept(b, v) => write!(f, "Accept({b:?}, {v})"),
            Accepted(b, v) => write!(f, "Accepted({b:?}, {v})"),
            Chosen(v) => write!(f, "Chosen({v})"),
            Decided(v) => write!(f, "Decided({v})"),
            Read => write!(f, "Read"),
            ReadOk(v) => write!(f, "ReadOk({v})"),
            CatchUp => write!(f, "CatchUp"),
        }
    }
}

impl Rewrite<Id> for PaxosMsg {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        use PaxosMsg::*;
        match self {
            Prepare(b) => Prepare(b.rewrite(plan)),
            Promise(b, p) => Promise(b.rewrite(plan), p.map(|(ab, v)| (ab.rewrite(plan), v))),
            Accept(b, v) => Accept(b.rewrite(plan), *v),
            Accepted(b, v) => Accepted(b.rewrite(plan), *v),
            other => *other,
        }
    }
}

pub use crate::quorums::majority;

/// A sorted set of actor ids without duplicates, small and cheap to hash.
pub(crate) fn insert_sorted(ids: &mut Vec<Id>, id: Id) -> bool {
    match ids.binary_search(&id) {
        Ok(_) => false,
        Err(at) => {
            ids.insert(at, id);
            true
        }
    }
}
