//! The learner: phase 3 of the notes. It persists the value it learned, because it answers
//! reads with it, and that it was started, so that a restart can tell it may have missed votes.
//! Its votes live in memory only: a learner that lost them (or missed the decision while it was
//! down) catches up by asking the acceptors again ([`catch_up`]).

use super::actor::{PaxosActor, PaxosStorage};
use super::{insert_sorted, majority, Ballot, Bug, BugSet, PaxosMsg, Value};
use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};
use std::fmt;

#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LearnerState {
    /// Votes heard so far, as (ballot, value, acceptor), sorted; cleared once a value is learned.
    pub votes: Vec<(Ballot, Value, Id)>,
    pub learned: Option<Value>,
    /// Clients whose Read waits for a value to be learned.
    pub readers: Vec<Id>,
}

impl fmt::Debug for LearnerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.learned {
            Some(v) => write!(f, "learned {v}")?,
            None => {
                write!(f, "votes [")?;
                for (i, (b, v, a)) in self.votes.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    write!(f, "{sep}{}:{b:?}={v}", usize::from(*a))?;
                }
                write!(f, "]")?;
            }
        }
        if !self.readers.is_empty() {
            write!(f, ", {} readers waiting", self.readers.len())?;
        }
        Ok(())
    }
}

/// What a learner knows of its cluster.
#[derive(Clone, Debug)]
pub struct LearnerCfg<'a> {
    /// How many acceptors there are; they are actors `0..acceptors` (the model's and the
    /// runtime's layout).
    pub acceptors: usize,
    pub proposers: &'a [Id],
    pub bugs: BugSet,
}

/// Phase 3: remember that acceptor `src` accepted (b, v). Counts acceptors, not messages.
/// Returns false if the vote was already known.
pub fn record_vote(s: &mut LearnerState, bugs: BugSet, src: Id, b: Ballot, v: Value) -> bool {
    let vote = (b, v, src);
    match s.votes.binary_search(&vote) {
        Ok(_) if !bugs.has(Bug::LearnerCountsDuplicates) => false,
        Ok(at) | Err(at) => {
            s.votes.insert(at, vote);
            true
        }
    }
}

/// Phase 3: a proposal is chosen once a majority of acceptors accepted it.
pub fn is_chosen(s: &LearnerState, bugs: BugSet, acceptors: usize, b: Ballot, v: Value) -> bool {
    // The bug: the majority of 3 acceptors, two votes, whatever the number of acceptors.
    let quorum = if bugs.has(Bug::LearnerQuorumOfTwo) { 2.min(acceptors) } else { majority(acceptors) };
    s.votes.iter().filter(|(vb, vv, _)| *vb == b && *vv == v).count() >= quorum
}

/// Start, or restart from `saved`. A learner that saved a value has learned it. One started for
/// the first time saves that it was started and asks nobody (started late, it asks when a client
/// reads from it). One restarted without a value may have lost votes it had counted, or missed
/// the decision while it was down: it catches up.
pub fn start(saved: Option<Option<Value>>, cfg: &LearnerCfg, o: &mut Out<PaxosActor>) -> LearnerState {
    match saved {
        Some(Some(v)) => LearnerState { learned: Some(v), ..LearnerState::default() },
        Some(None) => {
            catch_up(cfg, o);
            LearnerState::default()
        }
        None => {
            o.save(PaxosStorage::Learner { learned: None });
            LearnerState::default()
        }
    }
}

/// Paxos Made Simple §2.3: a learner that may have missed the decision asks "the acceptors what
/// proposals they have accepted", and the proposers, which know the decision once a learner told
/// them (§2.3: "having a proposer issue a proposal"). The acceptors' answers are votes like any
/// other ([`on_accepted`]); a proposer's answer is the decision ([`on_chosen`]). No timer: on a
/// network that delivers, a learner that is up when a value is chosen gets the acceptors'
/// Accepted; where the network loses, a client's Read asks again each time it is resent.
pub fn catch_up(cfg: &LearnerCfg, o: &mut Out<PaxosActor>) {
    if cfg.bugs.has(Bug::LearnerNoCatchUp) {
        return;
    }
    let acceptors: Vec<Id> = (0..cfg.acceptors).map(Id::from).collect();
    o.broadcast(&acceptors, &PaxosMsg::CatchUp);
    o.broadcast(cfg.proposers, &PaxosMsg::CatchUp);
}

/// A proposer answers a [`catch_up`] with the decision it was told: learn it. Only a proposer's
/// word counts (it heard the decision from a learner, which learned it from a majority).
pub fn on_chosen(s: &mut LearnerState, cfg: &LearnerCfg, src: Id, v: Value, o: &mut Out<PaxosActor>) {
    if s.learned.is_none() && cfg.proposers.contains(&src) {
        learn(s, cfg, v, o);
    }
}

/// An Accepted arrives: record it, and learn the value once a majority accepted it. A learner
/// that has already learned answers it with [`tell_again`].
pub fn on_accepted(s: &mut LearnerState, cfg: &LearnerCfg, src: Id, b: Ballot, v: Value, o: &mut Out<PaxosActor>) {
    if let Some(learned) = s.learned {
        tell_again(cfg, b, learned, o);
        return;
    }
    if !record_vote(s, cfg.bugs, src, b, v) {
        return;
    }
    if is_chosen(s, cfg.bugs, cfg.acceptors, b, v) {
        learn(s, cfg, v, o);
    }
}

/// Learn `v`: save it before anyone is told, tell the proposers (so they stop retrying and answer
/// their clients), and answer the waiting readers.
pub fn learn(s: &mut LearnerState, cfg: &LearnerCfg, v: Value, o: &mut Out<PaxosActor>) {
    s.learned = Some(v);
    s.votes.clear();
    if !cfg.bugs.has(Bug::LearnerForgets) {
        o.save(PaxosStorage::Learner { learned: Some(v) });
    }
    o.broadcast(cfg.proposers, &PaxosMsg::Chosen(v));
    for r in std::mem::take(&mut s.readers) {
        o.send(r, PaxosMsg::ReadOk(v));
    }
}

/// Paxos Made Simple §2.3: a learner that missed the decision "will find out what value is
/// chosen only when a new proposal is chosen" — a proposer that does not know the decision (e.g.
/// restarted: only its round survives) issues a new proposal, phase 1 makes it adopt the chosen
/// value, and its acceptors' Accepted reach the learners again. A learner that already learned
/// `learned` therefore tells the ballot's proposer at once: the vote is for a ballot whose
/// proposer may not know the decision, and `learned` is chosen (it needs no new majority).
pub fn tell_again(cfg: &LearnerCfg, b: Ballot, learned: Value, o: &mut Out<PaxosActor>) {
    if !cfg.bugs.has(Bug::SilentLearner) {
        o.send(b.proposer, PaxosMsg::Chosen(learned));
    }
}

/// A client reads: answer with the learned value, or wait until one is learned (answering
/// "nothing yet" could contradict a decision this learner has not heard of).
pub fn on_read(s: &mut LearnerState, src: Id, o: &mut Out<PaxosActor>) {
    match s.learned {
        Some(v) => o.send(src, PaxosMsg::ReadOk(v)),
        None => {
            insert_sorted(&mut s.readers, src);
        }
    }
}

/// A client reads ([`on_read`]) from a learner that has learned nothing: the decision may have
/// been made while it was down, so it also [`catch_up`]s. Each resent Read asks again.
pub fn on_read_or_catch_up(s: &mut LearnerState, cfg: &LearnerCfg, src: Id, o: &mut Out<PaxosActor>) {
    on_read(s, src, o);
    if s.learned.is_none() {
        catch_up(cfg, o);
    }
}
