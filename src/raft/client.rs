//! The client: issues its operations one at a time — Put, then Get, then Put again … — each sent
//! to every server (only a leader acts on it), and waits for the leader's reply.

use super::actor::RaftActor;
use super::{Op, OpKind, RaftMsg, Seq, Value};
use stateright::actor::{Id, Out};

/// What a client knows: its number, the servers, and how many operations it issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCfg {
    pub number: u8,
    pub servers: Vec<Id>,
    pub requests: u8,
}

/// The number of operations completed (the one in flight is the next).
pub type ClientState = Seq;

/// Request `seq` of client `number`: odd ones write, even ones read.
pub fn op(number: u8, seq: Seq) -> Op {
    let kind = if seq % 2 == 1 { OpKind::Put(value(number, seq)) } else { OpKind::Get };
    Op { client: number, seq, kind }
}

/// The value a Put writes: 'A', 'B', … for each client's first Put, 'a', 'b', … for its second.
pub fn value(number: u8, seq: Seq) -> Value {
    let base = if seq <= 2 { b'A' } else { b'a' };
    Value::from(char::from(base + number % 26))
}

fn send(cfg: &ClientCfg, seq: Seq, o: &mut Out<RaftActor>) {
    for &server in &cfg.servers {
        o.send(server, RaftMsg::Request(op(cfg.number, seq)));
    }
}

pub fn start(cfg: &ClientCfg, o: &mut Out<RaftActor>) -> ClientState {
    if cfg.requests > 0 {
        send(cfg, 1, o);
    }
    0
}

/// A follower names the leader: send the operation in flight there (again).
pub fn on_redirect(s: &ClientState, cfg: &ClientCfg, seq: Seq, leader: Id, o: &mut Out<RaftActor>) {
    if seq == *s + 1 && seq <= Seq::from(cfg.requests) {
        o.send(leader, RaftMsg::Request(op(cfg.number, seq)));
    }
}

/// The reply to the operation in flight: it is complete; issue the next one.
pub fn on_reply(s: &mut ClientState, cfg: &ClientCfg, seq: Seq, o: &mut Out<RaftActor>) {
    if seq == *s + 1 && seq <= Seq::from(cfg.requests) {
        *s = seq;
        if seq < Seq::from(cfg.requests) {
            send(cfg, seq + 1, o);
        }
    }
}
