//! Accountability, the course notes' "decrease the incentive to misbehave" made checkable: from a
//! run, the replicas that signed two conflicting orders — a pre-prepare, prepare or commit of two
//! different requests for the same view and sequence number — with both messages as evidence.
//!
//! A correct replica never signs two: it pre-prepares one request per number of its view
//! (`replica::assign`, `replica::enter_view`), and prepares and commits only the one it accepted
//! for the slot. So everyone named here is Byzantine, and the evidence convicts it before anyone:
//! each message reached a correct replica over an authenticated channel (the channel, like the
//! paper's MACs and the runtime's HMAC, proves who sent it). When correct replicas execute
//! different requests at one number, the two quorums behind the two commits share `n - 2f`
//! replicas (2 of 4 when two are Byzantine, 1 of 3 in the n = 3 counterexample), each of which
//! signed for both: the check finds at least those.

use super::{PbftAction, PbftModelCfg};
use crate::pbft::{Order, PbftMsg, Req, SeqNo, View};
use stateright::actor::{ActorModelAction, Id};
use std::collections::BTreeMap;

/// A replica that signed two conflicting orders, and the two deliveries that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Culprit {
    pub replica: Id,
    /// (message, the correct replica it reached), twice: same view and number, other requests.
    pub evidence: [(PbftMsg, Id); 2],
}

/// The orders a message signs: its (view, number, request) if it is a pre-prepare, prepare or
/// commit.
fn order(msg: &PbftMsg) -> Option<&Order> {
    match msg {
        PbftMsg::PrePrepare(o) | PbftMsg::Prepare(o) | PbftMsg::Commit(o) => Some(o),
        _ => None,
    }
}

/// Every replica that, along `actions`, signed orders of two different requests for one view
/// and sequence number that reached correct replicas, each with its first such pair.
pub fn culprits(cfg: &PbftModelCfg, actions: &[PbftAction]) -> Vec<Culprit> {
    let mut first: BTreeMap<(Id, View, SeqNo), (Req, PbftMsg, Id)> = BTreeMap::new();
    let mut found: BTreeMap<Id, Culprit> = BTreeMap::new();
    for action in actions {
        let ActorModelAction::Deliver { src, dst, msg } = action else { continue };
        let Some(o) = order(msg) else { continue };
        // Evidence only from what a correct replica received from the signer itself.
        if o.replica != *src || !cfg.is_replica(*dst) || cfg.is_byzantine(*dst) {
            continue;
        }
        match first.get(&(o.replica, o.view, o.seq)) {
            None => {
                first.insert((o.replica, o.view, o.seq), (o.req.clone(), msg.clone(), *dst));
            }
            Some((req, earlier, to)) if *req != o.req && !found.contains_key(&o.replica) => {
                let evidence = [(earlier.clone(), *to), (msg.clone(), *dst)];
                found.insert(o.replica, Culprit { replica: o.replica, evidence });
            }
            Some(_) => {}
        }
    }
    found.into_values().collect()
}

/// The culprits in words, for reports: "r0 signed … to r1 and … to r2".
pub fn describe(cfg: &PbftModelCfg, culprits: &[Culprit]) -> Vec<String> {
    culprits
        .iter()
        .map(|c| {
            let [(a, to_a), (b, to_b)] = &c.evidence;
            format!(
                "{} signed {a:?} to {} and {b:?} to {}",
                cfg.actor_name(c.replica),
                cfg.actor_name(*to_a),
                cfg.actor_name(*to_b)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbft::client::op;

    fn deliver(src: usize, dst: usize, msg: PbftMsg) -> PbftAction {
        ActorModelAction::Deliver { src: Id::from(src), dst: Id::from(dst), msg }
    }

    fn pre_prepare(req: Req, by: usize) -> PbftMsg {
        PbftMsg::PrePrepare(Order { view: 0, seq: 1, req, replica: Id::from(by) })
    }

    #[test]
    fn a_primary_that_pre_prepares_two_requests_for_one_number_is_named_with_both() {
        let cfg = PbftModelCfg::default();
        let put = Req::Op(op(0, 1, 1));
        let run = [deliver(0, 1, pre_prepare(put.clone(), 0)), deliver(0, 2, pre_prepare(Req::Null, 0))];
        let found = culprits(&cfg, &run);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].replica, Id::from(0));
        assert_eq!(found[0].evidence, [(pre_prepare(put, 0), Id::from(1)), (pre_prepare(Req::Null, 0), Id::from(2))]);
    }

    #[test]
    fn the_same_order_twice_or_orders_of_other_numbers_convict_nobody() {
        let cfg = PbftModelCfg::default();
        let put = Req::Op(op(0, 1, 1));
        let other_number = PbftMsg::PrePrepare(Order { view: 0, seq: 2, req: Req::Null, replica: Id::from(0) });
        let run = [
            deliver(0, 1, pre_prepare(put.clone(), 0)),
            deliver(0, 2, pre_prepare(put, 0)),
            deliver(0, 3, other_number),
        ];
        assert!(culprits(&cfg, &run).is_empty());
    }

    #[test]
    fn a_message_in_another_replicas_name_or_received_by_a_byzantine_one_is_no_evidence() {
        let cfg = PbftModelCfg::default(); // replica 0 is Byzantine
        let put = Req::Op(op(0, 1, 1));
        // Replica 3 forges replica 2's pre-prepare; replica 0 (Byzantine) "receives" a conflict.
        let run = [
            deliver(2, 1, pre_prepare(put.clone(), 2)),
            deliver(3, 1, pre_prepare(Req::Null, 2)),
            deliver(1, 0, pre_prepare(put, 1)),
            deliver(1, 0, pre_prepare(Req::Null, 1)),
        ];
        assert!(culprits(&cfg, &run).is_empty());
    }
}
