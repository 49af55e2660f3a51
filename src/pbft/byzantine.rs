//! What a Byzantine PBFT replica may do beyond the correct code: its menu for
//! [`crate::byzantine`]. Each item is one message, sent to every other replica (or, a reply, to
//! its client); broadcasting loses no attack, since a message that is never delivered to a
//! replica is as if not sent to it, and the network may hold any message back forever.
//!
//! - *equivocate*: a pre-prepare, prepare or commit, for its view and any sequence number in the
//!   window, of any request it knows or the null request, that the correct code did not send;
//! - *lie in a view change*: report none of its prepared certificates, or
//!   (with `forge`) one it does not have — its signatures do not verify;
//! - *reply with a wrong result*: a Get's value no client wrote, or a Put's "done" before it ran;
//! - with `forge` on, *pretend to be another*: a prepare or commit naming another replica as its
//!   sender, a client request no client sent. With authentication (the correct code) every one
//!   of these is dropped on arrival; the planted `no-authentication` lets them through.
//!
//! Replaying an old message needs no item: on the model's duplicating network any message may be
//! delivered again at any time.

use super::replica::{certificates, primary, sent, ReplicaCfg, ReplicaState};
use super::{OpKind, Order, PbftMsg, Prepared, Reply, Req, ViewChange};
use crate::byzantine::Move;
use serde::Serialize;
use stateright::actor::Id;
use std::collections::BTreeSet;

/// The menu's bounds, part of the model's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Menu {
    /// Misbehaviours in total (the budget of [`crate::byzantine::Faulty`]).
    pub moves: u8,
    /// The highest view a lie in a view change may name (the model's view bound).
    pub max_view: super::View,
    /// Whether the menu holds forgeries (messages in another's name, forged certificates).
    pub forge: bool,
    /// The replica does nothing at all, not even the correct code: the notes' "Bob doesn't
    /// respond", a crash before its first step (the runtime's `--byzantine-mode silent`).
    pub silent: bool,
    /// The replica runs the correct code until it crashes, its one misbehaviour ([`crash`]),
    /// and does nothing after.
    pub crash: bool,
}

/// Whether a replica that crashes has crashed: its one move is spent.
pub fn crashed(bounds: &Menu, s: &crate::byzantine::Faulty<ReplicaState>) -> bool {
    bounds.crash && s.moves_left == 0
}

/// The one move of a replica that crashes: it sends nothing, and its budget is spent.
pub fn crash() -> Move<PbftMsg> {
    Move { what: "crashes", sends: Vec::new() }
}

/// A value no client writes: what a lying reply reports.
pub fn lie() -> super::Value {
    super::Value::from('Z')
}

/// The requests the replica has seen: pending, ordered or executed.
fn known(s: &ReplicaState) -> BTreeSet<Req> {
    let mut reqs: BTreeSet<Req> = s.pending.iter().cloned().map(Req::Op).collect();
    for slot in s.log.values() {
        reqs.extend(slot.pre_prepare.iter().cloned());
        reqs.extend(slot.prepares.iter().chain(&slot.commits).map(|(r, _)| r.clone()));
    }
    reqs.extend(s.executed.values().cloned());
    reqs.insert(Req::Null);
    reqs
}

/// Every misbehaviour open to Byzantine replica `me` in state `s` (for one that crashes: the
/// crash).
pub fn menu(cfg: &ReplicaCfg, bounds: &Menu, s: &ReplicaState, me: Id) -> Vec<Move<PbftMsg>> {
    if bounds.crash {
        return vec![crash()];
    }
    let others: Vec<Id> = cfg.replica_ids().filter(|r| *r != me).collect();
    let to_others =
        |what: &'static str, msg: PbftMsg| Move { what, sends: others.iter().map(|r| (*r, msg.clone())).collect() };
    let mut moves = Vec::new();
    let v = s.view;
    let reqs = known(s);
    let slot = |seq| s.log.get(&(v, seq));
    let h = super::replica::low(s);
    for seq in h + 1..=h + cfg.window {
        for req in &reqs {
            let order = Order { view: v, seq, req: req.clone(), replica: me };
            let sent_pp = primary(cfg, v) == me && slot(seq).is_some_and(|sl| sl.pre_prepare.as_ref() == Some(req));
            let sent = |commit| slot(seq).is_some_and(|sl| sent(sl, me, req, commit));
            if !sent_pp {
                moves.push(to_others("equivocates", PbftMsg::PrePrepare(order.clone())));
            }
            if !sent(false) && primary(cfg, v) != me {
                moves.push(to_others("equivocates", PbftMsg::Prepare(order.clone())));
            }
            if !sent(true) {
                moves.push(to_others("equivocates", PbftMsg::Commit(order.clone())));
            }
            if bounds.forge {
                for &other in others.iter().filter(|r| **r != primary(cfg, v)) {
                    let forged = Order { replica: other, ..order.clone() };
                    moves.push(to_others("speaks for another", PbftMsg::Prepare(forged.clone())));
                    moves.push(to_others("speaks for another", PbftMsg::Commit(forged)));
                }
            }
        }
    }
    if v < bounds.max_view {
        let view = v + 1;
        if !certificates(s, cfg).is_empty() {
            let vc = ViewChange { view, prepared: BTreeSet::new(), replica: me, stable: s.stable.clone() };
            moves.push(to_others("hides what it prepared", PbftMsg::ViewChange(vc)));
        }
        if bounds.forge {
            let prepares = super::replica::prepare_quorum(cfg);
            for seq in h + 1..=h + cfg.window {
                for req in &reqs {
                    let cert = Prepared { view: v, seq, req: req.clone(), prepares, forged: true };
                    let vc =
                        ViewChange { view, prepared: BTreeSet::from([cert]), replica: me, stable: s.stable.clone() };
                    moves.push(to_others("forges a certificate", PbftMsg::ViewChange(vc)));
                }
            }
        }
    }
    for req in &reqs {
        let Req::Op(op) = req else { continue };
        let result = match op.kind {
            OpKind::Put(..) => None,
            _ => Some(lie()),
        };
        if s.replies.get(&(op.client, op.session)).is_some_and(|c| c.seq == op.seq && c.result == result) {
            continue; // what the correct code says
        }
        let reply = Reply { view: v, client: op.client, session: op.session, seq: op.seq, result, replica: me };
        moves.push(Move { what: "lies to the client", sends: vec![(cfg.client_id(op.client), PbftMsg::Reply(reply))] });
    }
    if bounds.forge && cfg.clients > 0 {
        let mut op = crate::raft::client::op(0, 1, 1);
        op.kind = OpKind::Put(super::Key::from(""), lie());
        moves.push(to_others("forges a client request", PbftMsg::Request(op)));
    }
    moves
}
