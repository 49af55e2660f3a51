//! The ghost state: what was proposed, voted, chosen, learned and answered along a path,
//! recorded from the messages actors send and receive.

use crate::paxos::spec::{Decree, DecreeOp, DecreeRet};
use crate::paxos::{Ballot, PaxosMsg, Value};
use stateright::actor::{Envelope, Id};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Rewrite, RewritePlan};
use std::sync::Arc;

use super::PaxosModelCfg;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Auxiliary ("ghost") state, recorded from the messages actors send and receive.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PaxosHistory {
    /// Every vote ever cast: (ballot, value, acceptor), from the Accepted messages sent.
    pub votes: BTreeSet<(Ballot, Value, Id)>,
    /// The values proposed (validity).
    pub proposed: BTreeSet<Value>,
    /// The first value each learner announced (stability).
    pub learned: BTreeMap<Id, Value>,
    /// The ballots whose proposer reached phase 2(a) (the dueling-proposers witness).
    pub accept_requests: BTreeSet<Ballot>,
    /// Proposer crashes so far (bounded by `proposer_crashes`).
    pub proposer_crashes: u8,
    /// Learner crashes so far (bounded by `learner_crashes`).
    pub learner_crashes: u8,
    /// The clients' operations (linearizability).
    pub lin: Arc<LinearizabilityTester<Id, Decree>>,
}

impl fmt::Debug for PaxosHistory {
    /// One line per field, in the notation of the actor states (`0:b1.3=A` is acceptor 0's vote
    /// for A in ballot b1.3), so that the Explorer's pretty-printed state stays short.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let votes: Vec<String> = self.votes.iter().map(|(b, v, a)| format!("{}:{b:?}={v}", usize::from(*a))).collect();
        let proposed: Vec<String> = self.proposed.iter().map(|v| v.to_string()).collect();
        let learned: Vec<String> = self.learned.iter().map(|(l, v)| format!("{}:{v}", usize::from(*l))).collect();
        let requests: Vec<String> = self.accept_requests.iter().map(|b| format!("{b:?}")).collect();
        f.debug_struct("PaxosHistory")
            .field("votes", &format_args!("[{}]", votes.join(" ")))
            .field("proposed", &format_args!("[{}]", proposed.join(" ")))
            .field("learned", &format_args!("[{}]", learned.join(" ")))
            .field("accept_requests", &format_args!("[{}]", requests.join(" ")))
            .field("proposer_crashes", &self.proposer_crashes)
            .field("learner_crashes", &self.learner_crashes)
            .field("lin", &format_args!("{:?}", self.lin))
            .finish()
    }
}

impl Default for PaxosHistory {
    fn default() -> Self {
        PaxosHistory {
            votes: BTreeSet::new(),
            proposed: BTreeSet::new(),
            learned: BTreeMap::new(),
            accept_requests: BTreeSet::new(),
            proposer_crashes: 0,
            learner_crashes: 0,
            lin: Arc::new(LinearizabilityTester::new(Decree(None))),
        }
    }
}

impl Rewrite<Id> for PaxosHistory {
    /// Symmetry only permutes acceptors, so client ids in `lin` are left as they are.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        PaxosHistory {
            votes: self.votes.iter().map(|(b, v, a)| (b.rewrite(plan), *v, plan.rewrite(a))).collect(),
            proposed: self.proposed.clone(),
            learned: self.learned.iter().map(|(l, v)| (plan.rewrite(l), *v)).collect(),
            accept_requests: self.accept_requests.iter().map(|b| b.rewrite(plan)).collect(),
            proposer_crashes: self.proposer_crashes,
            learner_crashes: self.learner_crashes,
            lin: self.lin.clone(),
        }
    }
}

pub(super) fn is_learner(cfg: &PaxosModelCfg, id: Id) -> bool {
    (cfg.acceptors + cfg.proposers..cfg.acceptors + cfg.proposers + cfg.learners).contains(&usize::from(id))
}

pub(super) fn is_client(cfg: &PaxosModelCfg, id: Id) -> bool {
    usize::from(id) >= cfg.acceptors + cfg.proposers + cfg.learners
}

pub(super) fn record_msg_out(cfg: &PaxosModelCfg, h: &PaxosHistory, env: Envelope<&PaxosMsg>) -> Option<PaxosHistory> {
    let next = || h.clone();
    match env.msg {
        PaxosMsg::Propose(v) if is_client(cfg, env.src) => {
            let mut h = next();
            let _ = Arc::make_mut(&mut h.lin).on_invoke(env.src, DecreeOp::Propose(*v));
            Some(h)
        }
        PaxosMsg::Read if is_client(cfg, env.src) => {
            let mut h = next();
            let _ = Arc::make_mut(&mut h.lin).on_invoke(env.src, DecreeOp::Read);
            Some(h)
        }
        PaxosMsg::Accepted(b, v) if !h.votes.contains(&(*b, *v, env.src)) => {
            let mut h = next();
            h.votes.insert((*b, *v, env.src));
            Some(h)
        }
        PaxosMsg::Chosen(v) if is_learner(cfg, env.src) && !h.learned.contains_key(&env.src) => {
            let mut h = next();
            h.learned.insert(env.src, *v);
            Some(h)
        }
        PaxosMsg::Accept(b, _) if !h.accept_requests.contains(b) => {
            let mut h = next();
            h.accept_requests.insert(*b);
            Some(h)
        }
        _ => None,
    }
}

pub(super) fn record_msg_in(cfg: &PaxosModelCfg, h: &PaxosHistory, env: Envelope<&PaxosMsg>) -> Option<PaxosHistory> {
    if !is_client(cfg, env.dst) {
        return None;
    }
    let ret = match env.msg {
        PaxosMsg::Decided(v) => DecreeRet::Decided(*v),
        PaxosMsg::ReadOk(v) => DecreeRet::ReadOk(Some(*v)),
        _ => return None,
    };
    let mut next = h.clone();
    let _ = Arc::make_mut(&mut next.lin).on_return(env.dst, ret);
    Some(next)
}
