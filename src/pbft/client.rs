//! The client (§4.1): issues its operations one at a time — Put, then Get, … as Raft's clients
//! do ([`crate::raft::client::op`]) — each sent to every replica, and accepts a result once f+1
//! replicas report the same one: at least one of them is correct.

use super::actor::PbftActor;
use super::{Bug, BugSet, PbftMsg, Reply, Seq, Value};
use crate::byzantine::authentic;
use serde::Serialize;
use stateright::actor::{Id, Out};
use std::collections::BTreeMap;
use std::fmt;

pub use crate::raft::client::op;

/// What a client knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientCfg {
    pub number: u8,
    pub replicas: usize,
    pub f: usize,
    pub requests: u8,
    pub keys: u8,
    #[serde(serialize_with = "crate::bugs::serialize")]
    pub bugs: BugSet,
}

/// Operations completed, and the replies to the one in flight (the first from each replica).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClientState {
    pub done: Seq,
    pub replies: BTreeMap<Id, Option<Value>>,
}

impl fmt::Debug for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client, {} done", self.done)?;
        for (r, v) in &self.replies {
            write!(f, ", r{} says {}", usize::from(*r), v.as_ref().map_or("ok".to_owned(), |v| v.to_string()))?;
        }
        Ok(())
    }
}

/// Sends request `seq` to every replica (§4.1 sends it to the primary and, on a timeout, to
/// all; sending to all at once lets every backup's timer watch it).
fn send(cfg: &ClientCfg, seq: Seq, o: &mut Out<PbftActor>) {
    for r in 0..cfg.replicas {
        o.send(Id::from(r), PbftMsg::Request(op(cfg.number, seq, cfg.keys)));
    }
}

pub fn start(cfg: &ClientCfg, o: &mut Out<PbftActor>) -> ClientState {
    if cfg.requests > 0 {
        send(cfg, 1, o);
    }
    ClientState::default()
}

/// Replies needed to accept a result: f+1 matching ones, from distinct replicas (§4.1).
pub fn replies_needed(cfg: &ClientCfg) -> usize {
    if cfg.bugs.has(Bug::ClientTrustsOneReply) {
        return 1; // the bug: the first reply
    }
    cfg.f + 1
}

/// §4.1: a reply to the operation in flight counts once per replica; f+1 matching results
/// complete it, and the next operation goes out.
pub fn on_reply(s: &mut ClientState, cfg: &ClientCfg, src: Id, r: &Reply, o: &mut Out<PbftActor>) {
    let authenticated = !cfg.bugs.has(Bug::NoAuthentication);
    if !authentic(src, r.replica, authenticated) || usize::from(r.replica) >= cfg.replicas {
        return;
    }
    let in_flight = op(cfg.number, s.done + 1, cfg.keys);
    if (r.client, r.session, r.seq) != (cfg.number, in_flight.session, in_flight.seq) || r.seq > Seq::from(cfg.requests)
    {
        return;
    }
    s.replies.entry(r.replica).or_insert_with(|| r.result.clone());
    let matching = s.replies.values().filter(|v| **v == r.result).count();
    if matching >= replies_needed(cfg) {
        s.done = r.seq;
        s.replies.clear();
        if r.seq < Seq::from(cfg.requests) {
            send(cfg, r.seq + 1, o);
        }
    }
}
