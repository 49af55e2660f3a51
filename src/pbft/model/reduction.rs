//! The dead-message reduction of the PBFT model: a message that no handler can ever act on is
//! removed from the network, so that states differing only in such messages are one. Each rule
//! below names the check of the handler that ignores the message for good; a debug build
//! delivers every message declared dead through the real actor first
//! ([`crate::check::dead::assert_dead_deliveries_are_no_ops`]), and models/reduction.rs compares
//! reduced and unreduced verdicts.

use super::{replica_state, PbftModel, PbftSysState};
use crate::pbft::actor::PbftState;
use crate::pbft::replica::{
    counts, in_window, last_executed, low, primary, valid_new_view, valid_view_change, ReplicaCfg, ReplicaState,
};
use crate::pbft::{Bug, Order, PbftMsg, SeqNo};
use stateright::actor::Envelope;

/// Whether `env` is a no-op for its receiver now and in every future. Views only grow, a
/// replica leaves a view change only for a later view, and a client's count of completed
/// requests only grows.
pub fn is_dead(m: &PbftModel, s: &PbftSysState, env: &Envelope<PbftMsg>) -> bool {
    let cfg = &m.cfg;
    let authenticated = !cfg.bugs.has(Bug::NoAuthentication);
    let claimed = match &env.msg {
        PbftMsg::Request(op) => Some(cfg.replica_cfg().client_id(op.client)),
        msg => msg.claimed_replica(),
    };
    if authenticated && claimed.is_some_and(|c| c != env.src) {
        return true; // `byzantine::authentic` drops it at every receiver
    }
    let dst = usize::from(env.dst);
    if let Some(PbftState::Client(c)) = s.actor_states.get(dst).map(|a| &**a) {
        // `client::on_reply`: a reply to another client, to a request done, or from a replica
        // already counted for the request in flight, is ignored.
        let PbftMsg::Reply(r) = &env.msg else { return true };
        let number = cfg.client_number(env.dst).and_then(|n| u8::try_from(n).ok());
        return Some(r.client) != number || r.seq <= c.done || c.replies.contains_key(&r.replica);
    }
    let Some(r) = replica_state(s, dst) else { return false };
    let me = env.dst;
    let rc = cfg.replica_cfg();
    // The slot a normal-case message of the receiver's view goes to, if it has one.
    let slot = |o: &Order| (o.view == r.view).then(|| r.log.get(&(o.view, o.seq))).flatten();
    match &env.msg {
        // `on_pre_prepare`: only the primary's, for the receiver's view, within the window, and
        // the first for its slot (the planted pre-prepare-from-anyone takes one of any view
        // from anyone, even for a slot forgotten on a view change: nothing is dead for it).
        PbftMsg::PrePrepare(_) if cfg.bugs.has(Bug::PrePrepareFromAnyone) => false,
        PbftMsg::PrePrepare(o) => {
            o.view < r.view
                || o.replica != primary(&rc, o.view)
                || o.replica == me
                || beyond_window(&rc, r, o.seq)
                || slot(o).is_some_and(|sl| sl.pre_prepare.is_some())
        }
        // `on_prepare`, `on_commit`: only of the receiver's view, from a backup (a replica),
        // within the window, and while it can count ([`counts`]: a slot whose pre-prepare
        // names another request, or that is already prepared or committed-local, takes no
        // more), once per sender.
        PbftMsg::Prepare(o) | PbftMsg::Commit(o) => {
            let commit = matches!(env.msg, PbftMsg::Commit(_));
            o.view < r.view
                || (!commit && o.replica == primary(&rc, o.view))
                || !cfg.is_replica(o.replica)
                || beyond_window(&rc, r, o.seq)
                || slot(o).is_some_and(|sl| {
                    let seen = if commit { &sl.commits } else { &sl.prepares };
                    !counts(&rc, o.view, sl, &o.req, commit) || seen.contains(&(o.req.clone(), o.replica))
                })
        }
        // `on_view_change`, `on_new_view`: only for a later view, or the one being changed to;
        // only valid ones, a view change once per sender and not its own, a new-view only from
        // the view's primary (the view changes of a view are kept until it is entered, when
        // the view rule takes over).
        PbftMsg::ViewChange(vc) => {
            vc.view < r.view
                || (vc.view == r.view && !r.changing)
                || vc.replica == me
                || !valid_view_change(&rc, vc)
                || r.view_changes.get(&vc.view).is_some_and(|m| m.contains_key(&vc.replica))
        }
        PbftMsg::NewView(nv) => {
            nv.view < r.view
                || (nv.view == r.view && !r.changing)
                || nv.replica != primary(&rc, nv.view)
                || nv.replica == me
                || !valid_new_view(&rc, nv)
        }
        // `on_request`: a request older than the last one executed for its client is ignored;
        // the last one is answered again, which is dead once its client is past it (a reply
        // cache with a capacity forgets sessions: then no request is dead).
        PbftMsg::Request(op) => {
            rc.sessions == 0
                && r.replies
                    .get(&(op.client, op.session))
                    .is_some_and(|c| c.seq > op.seq || (c.seq == op.seq && client_done(m, s, op.client) >= op.seq))
        }
        // `on_checkpoint`: only another replica's, at a checkpoint's sequence number above the
        // low watermark (which only grows), once per sender.
        PbftMsg::Checkpoint(c) => {
            c.replica == me
                || !cfg.is_replica(c.replica)
                || rc.checkpoint == 0
                || !c.seq.is_multiple_of(rc.checkpoint)
                || c.seq <= low(r)
                || r.checkpoints.get(&c.seq).is_some_and(|m| m.contains_key(&c.replica))
        }
        // `on_fetch`: only another replica's, answered while the receiver holds the state of
        // that checkpoint; once it executed past it without recording it, it never will.
        PbftMsg::Fetch { seq, replica } => {
            *replica == me || !cfg.is_replica(*replica) || (!r.snapshots.contains_key(seq) && last_executed(r) >= *seq)
        }
        // `on_transfer`: only while the receiver is behind its stable checkpoint at that
        // number (the low watermark only grows, and a stable checkpoint never changes its
        // digest), with the digest 2f+1 signed.
        PbftMsg::Transfer(t) => {
            last_executed(r) >= t.seq
                || low(r) > t.seq
                || r.stable.as_ref().is_some_and(|c| c.seq == t.seq && c.digest != t.state.digest())
        }
        PbftMsg::Reply(_) => true, // replicas ignore replies
    }
}

/// Whether sequence number `seq` is outside the receiver's window for good: at or below its low
/// watermark, which only grows, or above its high one when no checkpoint ever moves it.
fn beyond_window(rc: &ReplicaCfg, r: &ReplicaState, seq: SeqNo) -> bool {
    !in_window(rc, low(r), seq) && (seq <= low(r) || rc.checkpoint == 0)
}

/// The requests client `c` has completed.
fn client_done(m: &PbftModel, s: &PbftSysState, c: u8) -> crate::pbft::Seq {
    let id = m.cfg.replica_cfg().client_id(c);
    match s.actor_states.get(usize::from(id)).map(|a| &**a) {
        Some(PbftState::Client(cs)) => cs.done,
        _ => 0,
    }
}

impl PbftModel {
    /// Removes every dead message ([`is_dead`]) unless the configuration keeps them
    /// (`reduce_dead` off). A debug build first delivers each through the real actor and panics
    /// if one changes anything.
    pub(crate) fn remove_dead_messages(&self, s: &mut PbftSysState) {
        if !self.cfg.reduce_dead {
            return;
        }
        #[cfg(debug_assertions)]
        crate::check::dead::assert_dead_deliveries_are_no_ops(
            &self.actors.actors,
            s,
            |_| false,
            |e| is_dead(self, s, e),
            |_| false,
        );
        // The network is taken out while the rules read the rest of the state (no copy of it).
        let mut network = std::mem::replace(&mut s.network, stateright::actor::Network::new_unordered_duplicating([]));
        crate::check::network::remove_dead(&mut network, |e| is_dead(self, s, e));
        s.network = network;
    }
}
