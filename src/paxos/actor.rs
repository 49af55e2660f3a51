//! One `Actor` type for all Paxos roles, so that a single `ActorModel` (and a single UDP runtime)
//! can host them. Each handler clones the role's small state, applies one rule from the role's
//! module, and writes it back only if it changed, so that no-op deliveries stay no-ops.

use super::acceptor::{self, AcceptorState};
use super::client::{self, ClientState};
use super::learner::{self, LearnerCfg, LearnerState};
use super::proposer::{self, ProposerCfg, ProposerState};
use super::{BugSet, PaxosMsg, Value};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt;

/// The role an actor plays, with what it knows of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Acceptor { learners: Vec<Id> },
    Proposer { acceptors: Vec<Id>, first_proposer: Id, own_value: Option<Value> },
    Learner { acceptors: usize, proposers: Vec<Id> },
    Client { proposer: Id, learner: Id, value: Value },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaxosActor {
    pub role: Role,
    /// Planted bugs; empty unless a test or `--bug` asks for one.
    pub bugs: BugSet,
}

/// The state of one actor. The variant order (acceptors first) matches the actor layout.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PaxosState {
    Acceptor(AcceptorState),
    Proposer(ProposerState),
    Learner(LearnerState),
    Client(ClientState),
}

impl fmt::Debug for PaxosState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaxosState::Acceptor(s) => write!(f, "Acceptor({s:?})"),
            PaxosState::Proposer(s) => write!(f, "Proposer({s:?})"),
            PaxosState::Learner(s) => write!(f, "Learner({s:?})"),
            PaxosState::Client(s) => write!(f, "Client({s:?})"),
        }
    }
}

/// What survives a crash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PaxosStorage {
    /// Promise and vote, saved before the Promise or Accepted leaves.
    Acceptor(AcceptorState),
    /// The last round used, so that a restarted proposer never reuses a ballot.
    Proposer { round: u8 },
    /// The learned value, saved before anyone is told; `None` once started, before it learned
    /// (so that a restart is told apart from a first start).
    Learner { learned: Option<Value> },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PaxosTimer {
    /// A proposer's ballot took too long: try a higher one.
    Retry,
}

impl Actor for PaxosActor {
    type Msg = PaxosMsg;
    type State = PaxosState;
    type Timer = PaxosTimer;
    type Random = ();
    type Storage = PaxosStorage;

    fn name(&self) -> String {
        match self.role {
            Role::Acceptor { .. } => "Acceptor",
            Role::Proposer { .. } => "Proposer",
            Role::Learner { .. } => "Learner",
            Role::Client { .. } => "Client",
        }
        .to_owned()
    }

    fn on_start(&self, id: Id, storage: &Option<PaxosStorage>, o: &mut Out<Self>) -> PaxosState {
        match &self.role {
            Role::Acceptor { .. } => PaxosState::Acceptor(match storage {
                Some(PaxosStorage::Acceptor(saved)) => *saved,
                _ => AcceptorState::default(),
            }),
            Role::Proposer { acceptors, first_proposer, own_value } => {
                let mut s = ProposerState::default();
                if let Some(PaxosStorage::Proposer { round }) = storage {
                    s.round = *round;
                }
                if let Some(v) = own_value {
                    s.proposal = Some(*v);
                    let cfg = ProposerCfg { acceptors, first_proposer: *first_proposer, bugs: self.bugs };
                    proposer::start_ballot(&mut s, id, &cfg, o);
                }
                PaxosState::Proposer(s)
            }
            Role::Learner { acceptors, proposers } => {
                let cfg = LearnerCfg { acceptors: *acceptors, proposers, bugs: self.bugs };
                let saved = match storage {
                    Some(PaxosStorage::Learner { learned }) => Some(*learned),
                    _ => None,
                };
                PaxosState::Learner(learner::start(saved, &cfg, o))
            }
            Role::Client { proposer, value, .. } => PaxosState::Client(client::start(*proposer, *value, o)),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<PaxosState>, src: Id, msg: PaxosMsg, o: &mut Out<Self>) {
        use PaxosMsg::*;
        match (&self.role, &**state) {
            (Role::Acceptor { learners }, PaxosState::Acceptor(s)) => {
                let mut next = *s;
                match msg {
                    Prepare(b) => acceptor::on_prepare(&mut next, self.bugs, src, b, o),
                    Accept(b, v) => acceptor::on_accept(&mut next, self.bugs, b, v, learners, o),
                    CatchUp => acceptor::on_catch_up(&next, src, learners, o),
                    _ => {}
                }
                if next != *s {
                    *state.to_mut() = PaxosState::Acceptor(next);
                }
            }
            (Role::Proposer { acceptors, first_proposer, .. }, PaxosState::Proposer(s)) => {
                let cfg = ProposerCfg { acceptors, first_proposer: *first_proposer, bugs: self.bugs };
                let mut next = s.clone();
                match msg {
                    Propose(v) => proposer::on_propose(&mut next, id, &cfg, src, v, o),
                    Promise(b, accepted) => proposer::on_promise(&mut next, id, &cfg, src, b, accepted, o),
                    Chosen(v) => proposer::on_chosen(&mut next, self.bugs, v, o),
                    CatchUp => proposer::on_catch_up(&next, src, o),
                    _ => {}
                }
                if next != *s {
                    *state.to_mut() = PaxosState::Proposer(next);
                }
            }
            (Role::Learner { acceptors, proposers }, PaxosState::Learner(s)) => {
                let cfg = LearnerCfg { acceptors: *acceptors, proposers, bugs: self.bugs };
                let mut next = s.clone();
                match msg {
                    Accepted(b, v) => learner::on_accepted(&mut next, &cfg, src, b, v, o),
                    Read => learner::on_read_or_catch_up(&mut next, &cfg, src, o),
                    Chosen(v) => learner::on_chosen(&mut next, &cfg, src, v, o),
                    _ => {}
                }
                if next != *s {
                    *state.to_mut() = PaxosState::Learner(next);
                }
            }
            (Role::Client { learner, .. }, PaxosState::Client(s)) => {
                let mut next = *s;
                match msg {
                    Decided(_) => client::on_decided(&mut next, *learner, o),
                    ReadOk(_) => client::on_read_ok(&mut next),
                    _ => {}
                }
                if next != *s {
                    *state.to_mut() = PaxosState::Client(next);
                }
            }
            _ => {} // a state that does not match the role cannot arise
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<PaxosState>, timer: &PaxosTimer, o: &mut Out<Self>) {
        if let (Role::Proposer { acceptors, first_proposer, .. }, PaxosState::Proposer(s), PaxosTimer::Retry) =
            (&self.role, &**state, timer)
        {
            let cfg = ProposerCfg { acceptors, first_proposer: *first_proposer, bugs: self.bugs };
            let mut next = s.clone();
            proposer::on_retry(&mut next, id, &cfg, o);
            if next != *s {
                *state.to_mut() = PaxosState::Proposer(next);
            }
        }
    }
}

fn rewrite_ids<S>(ids: &[Id], plan: &RewritePlan<Id, S>) -> Vec<Id> {
    let mut out: Vec<Id> = ids.iter().map(|i| plan.rewrite(i)).collect();
    out.sort();
    out
}

fn rewrite_acceptor<S>(s: &AcceptorState, plan: &RewritePlan<Id, S>) -> AcceptorState {
    AcceptorState { promised: s.promised.rewrite(plan), accepted: s.accepted.map(|(b, v)| (b.rewrite(plan), v)) }
}

impl Rewrite<Id> for PaxosState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            PaxosState::Acceptor(s) => PaxosState::Acceptor(rewrite_acceptor(s, plan)),
            PaxosState::Proposer(s) => PaxosState::Proposer(ProposerState {
                clients: rewrite_ids(&s.clients, plan),
                promises: rewrite_ids(&s.promises, plan),
                highest: s.highest.map(|(b, v)| (b.rewrite(plan), v)),
                ..s.clone()
            }),
            PaxosState::Learner(s) => {
                let mut votes: Vec<_> =
                    s.votes.iter().map(|(b, v, a)| (b.rewrite(plan), *v, plan.rewrite(a))).collect();
                votes.sort();
                PaxosState::Learner(LearnerState { votes, learned: s.learned, readers: rewrite_ids(&s.readers, plan) })
            }
            PaxosState::Client(s) => PaxosState::Client(*s),
        }
    }
}

impl Rewrite<Id> for PaxosStorage {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            PaxosStorage::Acceptor(s) => PaxosStorage::Acceptor(rewrite_acceptor(s, plan)),
            other => other.clone(),
        }
    }
}

impl Rewrite<Id> for PaxosTimer {
    fn rewrite<S>(&self, _plan: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}
