//! The symmetry reduction of the PBFT model: replicas that play the same part are
//! interchangeable, so a state stands for every state that renumbers them.
//!
//! The rules compare a replica's id only with the primary's (`replica::primary`, view mod n) and
//! with the sender's, so renumbering replicas maps runs to runs as long as it keeps (a) the
//! primary of every view the bound reaches, (b) who is Byzantine and (c) the clients. [`parts`]
//! gives each replica its part; [`representative`] renumbers within parts. At views <= 0 with a
//! correct primary the three backups are interchangeable (6 numberings); at views <= 1 only the
//! two replicas that are primary of no view (2). Symmetry needs every id in the state rewritten:
//! the `Rewrite` impls below, for states, messages, the Byzantine menu and the ghost history.

use super::{PbftHistory, PbftModelCfg, PbftSysState};
use crate::byzantine::{Faulty, Move};
use crate::pbft::actor::{PbftState, PbftTimer};
use crate::pbft::client::ClientState;
use crate::pbft::replica::{primary, ReplicaState, Slot};
use crate::pbft::{NewView, Order, PbftMsg, Req, ViewChange};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};
use std::collections::BTreeSet;

/// Each replica's part: the primaries of the bound's views each their own, then the other
/// correct replicas one part, the other Byzantine ones another.
pub fn parts(cfg: &PbftModelCfg) -> Vec<u8> {
    let rc = cfg.replica_cfg();
    let primaries: BTreeSet<Id> = (0..=cfg.max_view).map(|v| primary(&rc, v)).collect();
    (0..cfg.replicas)
        .map(|i| {
            let id = Id::from(i);
            match (primaries.contains(&id), cfg.is_byzantine(id)) {
                (true, _) => u8::try_from(i + 2).unwrap_or(u8::MAX),
                (false, false) => 0,
                (false, true) => 1,
            }
        })
        .collect()
}

/// The representative of `s`'s class: of the renumberings within parts, the one whose state
/// hashes lowest (the same for every member of the class, so the count does not depend on the
/// order threads visit states). Also forgets the last delivery.
pub fn representative(s: &PbftSysState) -> PbftSysState {
    let parts = s.history.parts.clone();
    let replicas: Vec<usize> = (0..parts.len()).collect();
    let orders: Vec<Vec<usize>> = crate::check::symmetry::permutations(&replicas)
        .into_iter()
        .filter(|order| order.iter().enumerate().all(|(k, &i)| parts[k] == parts[i]))
        .collect();
    if orders.len() <= 1 {
        return crate::check::network::without_last_delivery(s);
    }
    crate::check::symmetry::least_renumbering(s, &replicas, orders)
        .unwrap_or_else(|| crate::check::network::without_last_delivery(s))
}

fn ids<S>(set: &BTreeSet<(Req, Id)>, plan: &RewritePlan<Id, S>) -> BTreeSet<(Req, Id)> {
    set.iter().map(|(r, i)| (r.clone(), plan.rewrite(i))).collect()
}

impl Rewrite<Id> for Order {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Order { replica: plan.rewrite(&self.replica), ..self.clone() }
    }
}

impl Rewrite<Id> for ViewChange {
    /// Certificates carry a count of signers, no ids.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        ViewChange { replica: plan.rewrite(&self.replica), ..self.clone() }
    }
}

impl Rewrite<Id> for PbftMsg {
    /// A request names its client by number: clients are never renumbered.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            PbftMsg::Request(op) => PbftMsg::Request(op.clone()),
            PbftMsg::PrePrepare(o) => PbftMsg::PrePrepare(o.rewrite(plan)),
            PbftMsg::Prepare(o) => PbftMsg::Prepare(o.rewrite(plan)),
            PbftMsg::Commit(o) => PbftMsg::Commit(o.rewrite(plan)),
            PbftMsg::Reply(r) => PbftMsg::Reply(crate::pbft::Reply { replica: plan.rewrite(&r.replica), ..r.clone() }),
            PbftMsg::ViewChange(vc) => PbftMsg::ViewChange(vc.rewrite(plan)),
            PbftMsg::Checkpoint(c) => {
                PbftMsg::Checkpoint(crate::pbft::Checkpoint { replica: plan.rewrite(&c.replica), ..c.clone() })
            }
            PbftMsg::Fetch { seq, replica } => PbftMsg::Fetch { seq: *seq, replica: plan.rewrite(replica) },
            PbftMsg::Transfer(t) => {
                PbftMsg::Transfer(crate::pbft::Transfer { replica: plan.rewrite(&t.replica), ..t.clone() })
            }
            PbftMsg::NewView(nv) => PbftMsg::NewView(NewView {
                view: nv.view,
                view_changes: nv.view_changes.iter().map(|vc| vc.rewrite(plan)).collect(),
                pre_prepares: nv.pre_prepares.clone(),
                replica: plan.rewrite(&nv.replica),
            }),
        }
    }
}

impl Rewrite<Id> for Slot {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Slot { prepares: ids(&self.prepares, plan), commits: ids(&self.commits, plan), ..self.clone() }
    }
}

impl Rewrite<Id> for ReplicaState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        ReplicaState {
            log: self.log.iter().map(|(k, slot)| (*k, slot.rewrite(plan))).collect(),
            view_changes: self
                .view_changes
                .iter()
                .map(|(v, vcs)| (*v, vcs.iter().map(|(i, vc)| (plan.rewrite(i), vc.rewrite(plan))).collect()))
                .collect(),
            checkpoints: self
                .checkpoints
                .iter()
                .map(|(n, cps)| (*n, cps.iter().map(|(i, c)| (plan.rewrite(i), *c)).collect()))
                .collect(),
            ..self.clone()
        }
    }
}

impl Rewrite<Id> for PbftState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            PbftState::Replica(r) => PbftState::Replica(r.rewrite(plan)),
            PbftState::Byzantine(b) => {
                PbftState::Byzantine(Faulty { honest: b.honest.rewrite(plan), moves_left: b.moves_left })
            }
            PbftState::Client(c) => PbftState::Client(ClientState {
                done: c.done,
                replies: c.replies.iter().map(|(i, v)| (plan.rewrite(i), v.clone())).collect(),
            }),
        }
    }
}

impl Rewrite<Id> for PbftTimer {
    fn rewrite<S>(&self, _plan: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}

impl Rewrite<Id> for Move<PbftMsg> {
    /// The receivers renamed and sorted again, so that a renumbered move equals the one the
    /// renumbered replica would offer.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut sends: Vec<(Id, PbftMsg)> =
            self.sends.iter().map(|(to, m)| (plan.rewrite(to), m.rewrite(plan))).collect();
        sends.sort();
        Move { what: self.what, sends }
    }
}

impl Rewrite<Id> for PbftHistory {
    /// Symmetry renumbers replicas only: the clients' history and the parts stay.
    fn rewrite<S>(&self, _plan: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}
