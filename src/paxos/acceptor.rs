//! The acceptor: phases 1(b) and 2(b) of the notes. Its whole state is persistent.

use super::actor::{PaxosActor, PaxosStorage};
use super::{Ballot, Bug, BugSet, PaxosMsg, Proposal, Value};
use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};
use std::fmt;

#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AcceptorState {
    /// The highest ballot this acceptor answered a prepare for (its promise).
    pub promised: Option<Ballot>,
    /// The highest-numbered proposal it accepted.
    pub accepted: Option<Proposal>,
}

impl fmt::Debug for AcceptorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.promised {
            Some(b) => write!(f, "promised {b:?}")?,
            None => write!(f, "no promise")?,
        }
        match self.accepted {
            Some((b, v)) => write!(f, ", accepted {b:?}={v}"),
            None => Ok(()),
        }
    }
}

impl AcceptorState {
    /// Phase 1(b): respond to a prepare numbered `b` unless a prepare numbered higher was already
    /// answered. An equal ballot comes from the same proposer (ballots are unique) asking again,
    /// e.g. after its Promise was lost, and gets the same answer.
    pub fn may_promise(&self, b: Ballot) -> bool {
        self.promised.is_none_or(|p| b >= p)
    }

    /// Phase 2(b): accept a proposal numbered `b` unless a prepare numbered higher was answered.
    pub fn may_accept(&self, b: Ballot) -> bool {
        self.promised.is_none_or(|p| b >= p)
    }
}

/// Phase 1(b): promise not to accept proposals numbered below `b` and report the
/// highest-numbered proposal accepted so far. The promise is saved before it is sent.
pub fn on_prepare(s: &mut AcceptorState, bugs: BugSet, src: Id, b: Ballot, o: &mut Out<PaxosActor>) {
    if bugs.has(Bug::VoteIsFinal) && s.accepted.is_some() {
        return;
    }
    if !s.may_promise(b) {
        return;
    }
    s.promised = Some(b);
    if !bugs.has(Bug::PromiseNotPersisted) {
        o.save(PaxosStorage::Acceptor(*s));
    }
    o.send(src, PaxosMsg::Promise(b, s.accepted));
}

/// Phase 2(b): accept proposal (b, v) unless a higher prepare was answered, save the vote, and
/// tell the learners (phase 3: "each acceptor, whenever it accepts a proposal, responds to all
/// learners").
pub fn on_accept(s: &mut AcceptorState, bugs: BugSet, b: Ballot, v: Value, learners: &[Id], o: &mut Out<PaxosActor>) {
    if !(bugs.has(Bug::AcceptorIgnoresPromise) || s.may_accept(b)) {
        return;
    }
    if s.accepted == Some((b, v)) {
        return; // already voted for it: the learners have (or will get) its Accepted
    }
    s.promised = s.promised.max(Some(b));
    s.accepted = Some((b, v));
    o.save(PaxosStorage::Acceptor(*s));
    o.broadcast(learners, &PaxosMsg::Accepted(b, v));
}

/// Paxos Made Simple §2.3: "a learner can ask the acceptors what proposals they have accepted".
/// A learner's CatchUp gets this acceptor's accepted proposal, the same Accepted it sent the
/// learners when it accepted (nothing if it accepted nothing: it tells every learner when it
/// does). Only learners are answered: the Accepted is a vote, for a learner to count.
pub fn on_catch_up(s: &AcceptorState, src: Id, learners: &[Id], o: &mut Out<PaxosActor>) {
    if let (Some((b, v)), true) = (s.accepted, learners.contains(&src)) {
        o.send(src, PaxosMsg::Accepted(b, v));
    }
}
