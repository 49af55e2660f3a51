//! The client: issues its operations one at a time — Put, then Get, then Put again … — each sent
//! to every server (only a leader acts on it), and waits for the leader's reply. With one key (the
//! default) every operation is on the empty key; with several, each client writes its own key
//! and reads the next one's.

use super::actor::RaftActor;
use super::{Key, Op, OpKind, RaftMsg, Seq, Value};
use stateright::actor::{Id, Out};

/// What a client knows: its number, the servers, and how many operations it issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCfg {
    pub number: u8,
    pub servers: Vec<Id>,
    pub requests: u8,
    /// Keys in use (at least 1).
    pub keys: u8,
}

/// The number of operations completed (the one in flight is the next).
pub type ClientState = Seq;

/// Request `seq` of client `number` with `keys` keys: odd ones write, even ones read. The key is
/// the `(number + seq - 1) % keys`-th: with two keys, client 0 writes x and reads y, client 1
/// writes y and reads x (the store-buffering pattern, which a non-linearizable read shows up in).
pub fn op(number: u8, seq: Seq, keys: u8) -> Op {
    let index = (u64::from(number) + seq.saturating_sub(1)) % u64::from(keys.max(1));
    let k = key(u8::try_from(index).unwrap_or(0), keys);
    let kind = if seq % 2 == 1 { OpKind::Put(k, value(number, seq)) } else { OpKind::Get(k) };
    Op { client: number, session: 0, seq, kind }
}

/// Key `index` of `keys`: the empty key when there is one (so that a one-key model's operations
/// and traces read as a register's), else 'x', 'y', 'z', 'a', ….
pub fn key(index: u8, keys: u8) -> Key {
    if keys <= 1 {
        return Key::from("");
    }
    Key::from(char::from(b'a' + (23 + index % 26) % 26))
}

/// The value a Put writes: 'A', 'B', … for each client's first Put, 'a', 'b', … for its second.
pub fn value(number: u8, seq: Seq) -> Value {
    let base = if seq <= 2 { b'A' } else { b'a' };
    Value::from(char::from(base + number % 26))
}

/// Sends request `seq` to every server.
fn send(cfg: &ClientCfg, seq: Seq, o: &mut Out<RaftActor>) {
    for &server in &cfg.servers {
        o.send(server, RaftMsg::Request(op(cfg.number, seq, cfg.keys)));
    }
}

/// Starts the client: its first request goes out at once.
pub fn start(cfg: &ClientCfg, o: &mut Out<RaftActor>) -> ClientState {
    if cfg.requests > 0 {
        send(cfg, 1, o);
    }
    0
}

/// A follower names the leader: send the operation in flight there (again).
pub fn on_redirect(s: &ClientState, cfg: &ClientCfg, seq: Seq, leader: Id, o: &mut Out<RaftActor>) {
    if seq == *s + 1 && seq <= Seq::from(cfg.requests) {
        o.send(leader, RaftMsg::Request(op(cfg.number, seq, cfg.keys)));
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
