//! The proposer: phases 1(a) and 2(a) of the notes. Only its round counter is persistent, so
//! that a restarted proposer never reuses a ballot.

use super::actor::{PaxosActor, PaxosStorage, PaxosTimer};
use super::{insert_sorted, majority, Ballot, Bug, BugSet, PaxosMsg, Proposal, Value};
use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};
use std::fmt;
use std::time::Duration;

/// How long a proposer waits for its ballot to succeed before it tries a higher one. The model
/// checker ignores durations (a timer may fire at any time); the UDP runtime draws from the range.
pub const RETRY_TIMEOUT: std::ops::Range<Duration> = Duration::from_millis(100)..Duration::from_millis(300);

/// Where the proposer is in its current ballot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Nothing to propose yet.
    #[default]
    Idle,
    /// Phase 1: Prepare sent, collecting promises.
    Preparing,
    /// Phase 2: Accept sent, waiting for a learner to report the chosen value.
    Accepting,
    /// A learner reported the chosen value.
    Done,
}

#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProposerState {
    /// The round of the current ballot (0 before the first one).
    pub round: u8,
    pub phase: Phase,
    /// The value this proposer was asked to get chosen.
    pub proposal: Option<Value>,
    /// Clients waiting for the decision.
    pub clients: Vec<Id>,
    /// Acceptors that promised the current ballot (phase 1 only).
    pub promises: Vec<Id>,
    /// The highest-numbered accepted proposal reported in those promises (phase 1 only).
    pub highest: Option<Proposal>,
    /// The chosen value, once a learner reported it.
    pub decided: Option<Value>,
}

impl fmt::Debug for ProposerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "round {} {:?}", self.round, self.phase)?;
        if let Some(v) = self.proposal {
            write!(f, ", proposing {v}")?;
        }
        if self.phase == Phase::Preparing {
            let ids: Vec<usize> = self.promises.iter().map(|i| usize::from(*i)).collect();
            write!(f, ", promises from {ids:?}")?;
            if let Some((b, v)) = self.highest {
                write!(f, ", highest {b:?}={v}")?;
            }
        }
        if let Some(v) = self.decided {
            write!(f, ", decided {v}")?;
        }
        Ok(())
    }
}

/// What a proposer knows of its cluster.
#[derive(Clone, Debug)]
pub struct ProposerCfg<'a> {
    pub acceptors: &'a [Id],
    /// Only used by the planted bug [`Bug::NonUniqueBallots`].
    pub first_proposer: Id,
    pub bugs: BugSet,
}

impl ProposerState {
    /// The ballot of the current round: (round, proposer id), unique to this proposer.
    pub fn ballot(&self, me: Id, cfg: &ProposerCfg) -> Ballot {
        let proposer = if cfg.bugs.has(Bug::NonUniqueBallots) { cfg.first_proposer } else { me };
        Ballot { round: self.round, proposer }
    }
}

/// Phase 1(a): select a proposal number higher than any this proposer used, save it, and send a
/// prepare request to the acceptors. The retry timer starts the next round if this one stalls.
pub fn start_ballot(s: &mut ProposerState, me: Id, cfg: &ProposerCfg, o: &mut Out<PaxosActor>) {
    s.round += 1;
    s.phase = Phase::Preparing;
    s.promises.clear();
    s.highest = None;
    o.save(PaxosStorage::Proposer { round: s.round });
    o.broadcast(cfg.acceptors, &PaxosMsg::Prepare(s.ballot(me, cfg)));
    o.set_timer(PaxosTimer::Retry, RETRY_TIMEOUT);
}

/// A client asks for `v`: the first request starts phase 1; every client gets the decision.
pub fn on_propose(s: &mut ProposerState, me: Id, cfg: &ProposerCfg, client: Id, v: Value, o: &mut Out<PaxosActor>) {
    if let Some(d) = s.decided {
        o.send(client, PaxosMsg::Decided(d));
        return;
    }
    insert_sorted(&mut s.clients, client);
    if s.proposal.is_none() {
        s.proposal = Some(v);
        start_ballot(s, me, cfg, o);
    }
}

/// Phase 2(a), first half: keep the highest-numbered accepted proposal among the promises.
pub fn keep_highest(current: Option<Proposal>, reported: Option<Proposal>, bugs: BugSet) -> Option<Proposal> {
    match (current, reported) {
        (c, None) => c,
        (None, r) => r,
        (Some(c), Some(r)) if bugs.has(Bug::LowestAcceptedValue) => Some(c.min(r)),
        (Some(c), Some(r)) => Some(c.max(r)),
    }
}

/// Phase 2(a), second half: the value of the highest-numbered proposal among the promises, or,
/// if they report none, this proposer's own (a *proposed* value: "any value" means any
/// value some client proposed).
pub fn value_to_accept(s: &ProposerState, bugs: BugSet) -> Option<Value> {
    match s.highest {
        Some((_, v)) => Some(v),
        None if bugs.has(Bug::InventsValue) => Some('?'),
        None => s.proposal,
    }
}

/// Phase 1(b) received: count the promise; on a majority, send the accept request (phase 2(a))
/// to the acceptors that promised.
pub fn on_promise(
    s: &mut ProposerState,
    me: Id,
    cfg: &ProposerCfg,
    src: Id,
    b: Ballot,
    accepted: Option<Proposal>,
    o: &mut Out<PaxosActor>,
) {
    if s.phase != Phase::Preparing || b != s.ballot(me, cfg) || !insert_sorted(&mut s.promises, src) {
        return;
    }
    s.highest = keep_highest(s.highest, accepted, cfg.bugs);
    if s.promises.len() < majority(cfg.acceptors.len()) {
        return;
    }
    let Some(v) = value_to_accept(s, cfg.bugs) else { return };
    s.phase = Phase::Accepting;
    s.highest = None;
    // "sends an accept request to each of those acceptors": the ones that promised.
    o.broadcast(&std::mem::take(&mut s.promises), &PaxosMsg::Accept(b, v));
}

/// A learner reports the chosen value: stop retrying and answer the waiting clients.
pub fn on_chosen(s: &mut ProposerState, bugs: BugSet, v: Value, o: &mut Out<PaxosActor>) {
    if s.decided.is_some() {
        return;
    }
    s.decided = Some(v);
    s.phase = Phase::Done;
    s.promises.clear();
    s.highest = None;
    o.cancel_timer(PaxosTimer::Retry);
    let answer = if bugs.has(Bug::ReportsOwnValue) { s.proposal.unwrap_or(v) } else { v };
    for c in &s.clients {
        o.send(*c, PaxosMsg::Decided(answer));
    }
}

/// A learner that may have missed the decision asks (see `learner::catch_up`): a proposer that
/// was told the decision passes it on. Paxos Made Simple §2.3 lets a learner have a proposer
/// issue a proposal to find out the chosen value; one that knows the decision knows what that
/// proposal would get chosen. A proposer that does not know stays silent: it has nothing chosen
/// to tell, and if it is still trying, its ballot's Accepted will reach the learner.
pub fn on_catch_up(s: &ProposerState, learner: Id, o: &mut Out<PaxosActor>) {
    if let Some(v) = s.decided {
        o.send(learner, PaxosMsg::Chosen(v));
    }
}

/// Whether [`on_retry`] starts a new ballot (one more round) in state `s`.
pub fn retry_starts_ballot(s: &ProposerState) -> bool {
    s.decided.is_none() && s.proposal.is_some()
}

/// The retry timer fired and no decision is known: try again with a higher ballot. Two proposers
/// that keep preempting each other this way never finish (the dueling-proposers livelock).
pub fn on_retry(s: &mut ProposerState, me: Id, cfg: &ProposerCfg, o: &mut Out<PaxosActor>) {
    if retry_starts_ballot(s) {
        start_ballot(s, me, cfg, o);
    }
}
