//! Clients over the wire: Raft's ([`RaftClient`]), Paxos's ([`PaxosClient`]) and PBFT's
//! ([`PbftClient`]).
//!
//! A Raft client over the wire, speaking the model client's messages (`src/raft/client.rs`): a
//! `Request(Op)`, then wait for the leader's `Reply { session, seq, .. }`. On a timeout it sends
//! the same request again — the leader appends each operation once, so a retry never applies it
//! twice — a bounded number of times.
//!
//! The model's client sends every request to every server (only the leader acts on it). This one
//! sends to the server that answered its last request, and to every server when it knows no
//! leader yet or after a timeout. That is a subset of the model's behaviours on a lossy network:
//! a request not sent to a server is one the network lost on its way there, and the servers'
//! rules do not depend on who else got it. It spares each follower a datagram to decode,
//! authenticate and ignore per request (docs/runtime-performance.md).
//!
//! Sessions. An operation is named by (client number, session, seq), and the leader deduplicates
//! by scanning its log for an equal operation. Each [`RaftClient`] draws its session, a random
//! `u64`, from the operating system's generator when it is created, so every client run (every
//! `quorum client` process) has its own, and numbers its requests 1, 2, … within it. Nothing is
//! kept on disk: no lost, stale or copied file can make a new request equal an old one, so a
//! request is never answered from an earlier run's entry. Two runs of one client number collide
//! only if they draw the same session (a chance of about k²/2⁶⁵ after k runs: below 10⁻⁷ after a
//! million). A reply names the session and seq it answers, and the client takes only the reply
//! to its request in flight, never one meant for an earlier run or request. Within a session a
//! seq may be repeated only to retry the same operation ([`ClientError::SeqReused`] otherwise).

use super::wire::{self, ClusterKey, Header, ReplayGuard};
use crate::paxos::{Layout, PaxosMsg, Value as PaxosValue};
use crate::pbft::signed::Wire;
use crate::pbft::PbftMsg;
use crate::raft::{Key, Op, OpKind, RaftMsg, Seq, Session, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("no reply after {attempts} attempts of {timeout:?}: the operation may or may not have taken effect")]
    NoReply { attempts: u32, timeout: Duration },
    #[error("cannot encode the request: {0}")]
    Encode(#[from] postcard::Error),
    #[error("cannot draw a session from the operating system's random generator: {0}")]
    Random(String),
    #[error("request {seq} after request {last} of the same session: a seq may be repeated only to retry the same operation")]
    SeqReused { seq: Seq, last: Seq },
}

/// A client's end of the wire: seals what it sends as its actor id, and accepts only
/// authenticated, fresh datagrams from the servers' own addresses.
pub struct Endpoint {
    socket: UdpSocket,
    servers: Vec<SocketAddr>,
    key: ClusterKey,
    id: u64,
    epoch: u64,
    wire_seq: u64,
    guards: Vec<ReplayGuard>,
    /// The receive buffer, allocated once.
    buf: Vec<u8>,
}

impl Endpoint {
    /// The endpoint of actor `id` (after the servers in the model's layout).
    pub fn new(servers: Vec<SocketAddr>, key: ClusterKey, id: usize) -> Result<Endpoint, ClientError> {
        let any = match servers.first() {
            Some(SocketAddr::V6(_)) => "[::]:0",
            _ => "0.0.0.0:0",
        };
        let socket = UdpSocket::bind(any)?;
        let epoch = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        let guards = vec![ReplayGuard::default(); servers.len()];
        let buf = vec![0u8; wire::MAX_DATAGRAM + 1];
        Ok(Endpoint { socket, servers, key, id: id as u64, epoch, wire_seq: 0, guards, buf })
    }

    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    /// Sends `msg` to server `to`; a server that is down is not an error (others may answer).
    pub fn send<M: Serialize>(&mut self, to: usize, msg: &M) -> Result<(), ClientError> {
        let Some(&addr) = self.servers.get(to) else { return Ok(()) };
        self.wire_seq += 1;
        let header = Header {
            cluster: self.key.cluster_id(),
            sender: self.id,
            receiver: to as u64,
            epoch: self.epoch,
            seq: self.wire_seq,
        };
        let bytes = wire::seal(&self.key, &header, msg)?;
        let _ = self.socket.send_to(&bytes, addr);
        Ok(())
    }

    /// The next valid message from a server before `deadline`, with the server's id.
    pub fn recv<M: DeserializeOwned>(&mut self, deadline: Instant) -> Result<Option<(usize, M)>, ClientError> {
        let buf = &mut self.buf;
        while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
            self.socket.set_read_timeout(Some(left))?;
            let (len, src) = match self.socket.recv_from(buf) {
                Ok(r) => r,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break,
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::Interrupted) =>
                {
                    continue
                }
                Err(e) => return Err(e.into()),
            };
            let Ok((h, msg)) = wire::open::<M>(&self.key, &buf[..len]) else { continue };
            let Ok(sender) = usize::try_from(h.sender) else { continue };
            // Addressed to this client (a copy of another client's reply is not an answer).
            if h.receiver != self.id
                || self.servers.get(sender) != Some(&src)
                || !self.guards[sender].accept(h.epoch, h.seq)
            {
                continue;
            }
            return Ok(Some((sender, msg)));
        }
        Ok(None)
    }
}

/// A client of a replicated key-value map (Raft's, PBFT's): request `seq` of its session puts or
/// gets a key.
pub trait KvClient {
    fn number(&self) -> u8;
    fn put(&mut self, seq: Seq, key: Key, v: Value) -> Result<(), ClientError>;
    fn get(&mut self, seq: Seq, key: Key) -> Result<Option<Value>, ClientError>;
}

/// A fresh session: a random `u64` from the operating system's generator.
fn draw_session() -> Result<Session, ClientError> {
    use rand::TryRngCore;
    rand::rngs::OsRng.try_next_u64().map_err(|e| ClientError::Random(e.to_string()))
}

pub struct RaftClient {
    end: Endpoint,
    number: u8,
    session: Session,
    /// The last operation sent: a later one needs a higher seq, or to be a retry of it.
    last: Option<Op>,
    /// The server that answered the last request: the next one goes to it alone.
    leader: Option<usize>,
    /// Per attempt.
    pub timeout: Duration,
    pub attempts: u32,
}

impl RaftClient {
    /// Client `number` (actor id `servers.len() + number`, as in the model's layout), in a fresh
    /// random session.
    pub fn new(servers: Vec<SocketAddr>, key: ClusterKey, number: u8) -> Result<RaftClient, ClientError> {
        let session = draw_session()?;
        let id = servers.len() + usize::from(number);
        Ok(RaftClient {
            end: Endpoint::new(servers, key, id)?,
            number,
            session,
            last: None,
            leader: None,
            timeout: Duration::from_millis(500),
            attempts: 10,
        })
    }

    pub fn number(&self) -> u8 {
        self.number
    }

    pub fn session(&self) -> Session {
        self.session
    }

    /// Sets `key` to `v`.
    pub fn put(&mut self, seq: Seq, key: impl Into<Key>, v: impl Into<Value>) -> Result<(), ClientError> {
        self.call(seq, OpKind::Put(key.into(), v.into())).map(|_| ())
    }

    /// Reads `key` (`None`: never written).
    pub fn get(&mut self, seq: Seq, key: impl Into<Key>) -> Result<Option<Value>, ClientError> {
        self.call(seq, OpKind::Get(key.into()))
    }

    /// Sends request `seq` of this session until the leader replies to it, at most `attempts`
    /// times: the first time to the last server that replied, if any, else (and on every retry)
    /// to every server.
    fn call(&mut self, seq: Seq, kind: OpKind) -> Result<Option<Value>, ClientError> {
        let op = Op { client: self.number, session: self.session, seq, kind };
        if let Some(last) = self.last.as_ref().filter(|last| seq < last.seq || (seq == last.seq && op != **last)) {
            return Err(ClientError::SeqReused { seq, last: last.seq });
        }
        self.last = Some(op.clone());
        for attempt in 0..self.attempts {
            match self.leader.filter(|_| attempt == 0) {
                Some(leader) => self.end.send(leader, &RaftMsg::Request(op.clone()))?,
                None => {
                    for i in 0..self.end.servers() {
                        self.end.send(i, &RaftMsg::Request(op.clone()))?;
                    }
                }
            }
            let deadline = Instant::now() + self.timeout;
            while let Some((from, msg)) = self.end.recv::<RaftMsg>(deadline)? {
                if let RaftMsg::Reply { session, seq, value } = msg {
                    if (session, seq) == (op.session, op.seq) {
                        self.leader = Some(from);
                        return Ok(value);
                    }
                }
            }
            self.leader = None;
        }
        Err(ClientError::NoReply { attempts: self.attempts, timeout: self.timeout })
    }
}

impl KvClient for RaftClient {
    fn number(&self) -> u8 {
        self.number
    }
    fn put(&mut self, seq: Seq, key: Key, v: Value) -> Result<(), ClientError> {
        RaftClient::put(self, seq, key, v)
    }
    fn get(&mut self, seq: Seq, key: Key) -> Result<Option<Value>, ClientError> {
        RaftClient::get(self, seq, key)
    }
}

/// A Paxos client over the wire, as the model's (`src/paxos/client.rs`): `Propose(v)` to its
/// proposer until `Decided(d)`, then `Read` from its learner until `ReadOk(r)`. Resending is safe:
/// a proposer remembers each waiting client once, and a learner answers every read.
pub struct PaxosClient {
    end: Endpoint,
    proposer: usize,
    learner: usize,
    pub timeout: Duration,
    pub attempts: u32,
}

impl PaxosClient {
    /// Client `number` of a cluster laid out as `layout` (its id, proposer and learner as in the
    /// model: `Layout::client_id`, `proposer_of`, `learner_of`).
    pub fn new(
        servers: Vec<SocketAddr>,
        key: ClusterKey,
        layout: &Layout,
        number: usize,
    ) -> Result<PaxosClient, ClientError> {
        Ok(PaxosClient {
            end: Endpoint::new(servers, key, usize::from(layout.client_id(number)))?,
            proposer: usize::from(layout.proposer_of(number)),
            learner: usize::from(layout.learner_of(number)),
            timeout: Duration::from_millis(500),
            attempts: 10,
        })
    }

    /// Proposes `v`; returns the chosen value (maybe another client's) and the learner's answer.
    pub fn propose(&mut self, v: PaxosValue) -> Result<(PaxosValue, PaxosValue), ClientError> {
        let decided = self.ask(self.proposer, &PaxosMsg::Propose(v), |m| match m {
            PaxosMsg::Decided(d) => Some(d),
            _ => None,
        })?;
        let read = self.ask(self.learner, &PaxosMsg::Read, |m| match m {
            PaxosMsg::ReadOk(r) => Some(r),
            _ => None,
        })?;
        Ok((decided, read))
    }

    fn ask(
        &mut self,
        to: usize,
        msg: &PaxosMsg,
        answer: impl Fn(PaxosMsg) -> Option<PaxosValue>,
    ) -> Result<PaxosValue, ClientError> {
        for _ in 0..self.attempts {
            self.end.send(to, msg)?;
            let deadline = Instant::now() + self.timeout;
            while let Some((from, m)) = self.end.recv::<PaxosMsg>(deadline)? {
                if from == to {
                    if let Some(v) = answer(m) {
                        return Ok(v);
                    }
                }
            }
        }
        Err(ClientError::NoReply { attempts: self.attempts, timeout: self.timeout })
    }
}

/// A PBFT client over the wire, as the model's (`src/pbft/client.rs`, §4.1): each request goes
/// to every replica, and its result is accepted once f+1 replicas (`f = (n-1)/3`) report the
/// same one for it — at least one of them is correct. On a timeout the request goes to every
/// replica again: one that executed it answers from its reply cache, and the replies already
/// counted still count. Sessions as [`RaftClient`]'s: a random one per client, requests 1, 2, …
/// within it, and the replicas keep one reply cache per (client, session).
pub struct PbftClient {
    end: Endpoint,
    number: u8,
    session: Session,
    last: Option<Op>,
    pub timeout: Duration,
    pub attempts: u32,
}

impl PbftClient {
    /// Client `number` (actor id `servers.len() + number`), in a fresh random session.
    pub fn new(servers: Vec<SocketAddr>, key: ClusterKey, number: u8) -> Result<PbftClient, ClientError> {
        let session = draw_session()?;
        let id = servers.len() + usize::from(number);
        Ok(PbftClient {
            end: Endpoint::new(servers, key, id)?,
            number,
            session,
            last: None,
            timeout: Duration::from_millis(500),
            attempts: 10,
        })
    }

    /// The replies a result needs: f+1 of n = 3f+1 or more replicas.
    pub fn replies_needed(&self) -> usize {
        self.end.servers().saturating_sub(1) / 3 + 1
    }

    /// Sends request `seq` of this session to every replica until f+1 replicas report the same
    /// result for it, at most `attempts` times.
    fn call(&mut self, seq: Seq, kind: OpKind) -> Result<Option<Value>, ClientError> {
        let op = Op { client: self.number, session: self.session, seq, kind };
        if let Some(last) = self.last.as_ref().filter(|last| seq < last.seq || (seq == last.seq && op != **last)) {
            return Err(ClientError::SeqReused { seq, last: last.seq });
        }
        self.last = Some(op.clone());
        let mut said: BTreeMap<usize, Option<Value>> = BTreeMap::new();
        for _ in 0..self.attempts {
            for i in 0..self.end.servers() {
                self.end.send(i, &Wire::Plain(PbftMsg::Request(op.clone())))?;
            }
            let deadline = Instant::now() + self.timeout;
            while let Some((from, msg)) = self.end.recv::<Wire>(deadline)? {
                let Wire::Plain(PbftMsg::Reply(r)) = msg else { continue };
                if (r.client, r.session, r.seq) != (op.client, op.session, op.seq) || usize::from(r.replica) != from {
                    continue;
                }
                let result = said.entry(from).or_insert(r.result).clone();
                if said.values().filter(|v| **v == result).count() >= self.replies_needed() {
                    return Ok(result);
                }
            }
        }
        Err(ClientError::NoReply { attempts: self.attempts, timeout: self.timeout })
    }
}

impl KvClient for PbftClient {
    fn number(&self) -> u8 {
        self.number
    }
    /// Sets `key` to `v`.
    fn put(&mut self, seq: Seq, key: Key, v: Value) -> Result<(), ClientError> {
        self.call(seq, OpKind::Put(key, v)).map(|_| ())
    }
    /// Reads `key` (`None`: never written).
    fn get(&mut self, seq: Seq, key: Key) -> Result<Option<Value>, ClientError> {
        self.call(seq, OpKind::Get(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::wire::KEY_LEN;

    /// Three fake servers on loopback; the client's requests they received, per server.
    struct Fakes {
        sockets: Vec<UdpSocket>,
        key: ClusterKey,
        seq: u64,
    }

    impl Fakes {
        fn new() -> Fakes {
            let sockets: Vec<UdpSocket> = (0..3).map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind")).collect();
            for s in &sockets {
                s.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
            }
            Fakes { sockets, key: ClusterKey::from_bytes([3; KEY_LEN]), seq: 0 }
        }

        fn addrs(&self) -> Vec<SocketAddr> {
            self.sockets.iter().map(|s| s.local_addr().expect("addr")).collect()
        }

        /// The requests server `i` has received since the last call, and where from.
        fn requests(&self, i: usize) -> Vec<(Op, SocketAddr)> {
            let mut buf = vec![0u8; wire::MAX_DATAGRAM + 1];
            let mut got = Vec::new();
            while let Ok((len, src)) = self.sockets[i].recv_from(&mut buf) {
                if let Ok((_, RaftMsg::Request(op))) = wire::open::<RaftMsg>(&self.key, &buf[..len]) {
                    got.push((op, src));
                }
            }
            got
        }

        /// Server `i` replies to request `seq` of `session`, with `value`.
        fn reply(&mut self, i: usize, session: Session, seq: Seq, value: Option<Value>, to: SocketAddr) {
            self.seq += 1;
            let header =
                Header { cluster: self.key.cluster_id(), sender: i as u64, receiver: 3, epoch: 1, seq: self.seq };
            let bytes = wire::seal(&self.key, &header, &RaftMsg::Reply { session, seq, value }).expect("seal");
            self.sockets[i].send_to(&bytes, to).expect("send");
        }
    }

    /// Runs `put(seq)` on a thread while server `leader` (if any) answers it; returns, per
    /// server, how many copies of the request it received.
    fn put_answered_by(fakes: &mut Fakes, client: &mut RaftClient, seq: Seq, leader: Option<usize>) -> [usize; 3] {
        let mut received = [0; 3];
        std::thread::scope(|s| {
            let call = s.spawn(|| client.put(seq, "k", "v"));
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut answered = false;
            while !call.is_finished() && Instant::now() < deadline {
                for (i, n) in received.iter_mut().enumerate() {
                    for (got, from) in fakes.requests(i) {
                        assert_eq!(got.seq, seq);
                        *n += 1;
                        if Some(i) == leader && !answered {
                            fakes.reply(i, got.session, seq, None, from);
                            answered = true;
                        }
                    }
                }
            }
            let result = call.join().expect("client thread");
            assert_eq!(result.is_ok(), leader.is_some(), "{result:?}");
        });
        received
    }

    #[test]
    fn the_client_sends_to_the_last_server_that_replied_and_to_all_after_a_timeout() {
        let mut fakes = Fakes::new();
        let mut client = RaftClient::new(fakes.addrs(), fakes.key.clone(), 0).expect("client");
        client.timeout = Duration::from_millis(150);
        client.attempts = 2;
        // No leader known: every server gets the request; server 1 answers.
        assert_eq!(put_answered_by(&mut fakes, &mut client, 1, Some(1)), [1, 1, 1]);
        // Then only server 1 gets the next one.
        assert_eq!(put_answered_by(&mut fakes, &mut client, 2, Some(1)), [0, 1, 0]);
        // Server 1 is gone: after its timeout the client asks everyone, and server 2 answers.
        assert_eq!(put_answered_by(&mut fakes, &mut client, 3, Some(2)), [1, 2, 1]);
        assert_eq!(put_answered_by(&mut fakes, &mut client, 4, Some(2)), [0, 0, 1]);
        // Nobody answers: one attempt to server 2, one to all, then the client gives up.
        assert_eq!(put_answered_by(&mut fakes, &mut client, 5, None), [1, 1, 2]);
    }

    /// A reply to the same seq of another session (an earlier run of this client number) is not
    /// the answer: the client waits for its own.
    #[test]
    fn the_client_takes_only_the_reply_that_names_its_session_and_seq() {
        let mut fakes = Fakes::new();
        let mut client = RaftClient::new(fakes.addrs(), fakes.key.clone(), 0).expect("client");
        client.timeout = Duration::from_secs(2);
        client.attempts = 1;
        let session = client.session();
        let got = std::thread::scope(|s| {
            let call = s.spawn(|| client.get(1, "x"));
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut answered = false;
            while !answered && Instant::now() < deadline {
                if let Some((op, from)) = fakes.requests(0).pop() {
                    assert_eq!((op.session, op.seq), (session, 1));
                    fakes.reply(0, session ^ 1, 1, Some(Value::from("old")), from);
                    fakes.reply(0, session, 2, Some(Value::from("later")), from);
                    fakes.reply(0, session, 1, Some(Value::from("new")), from);
                    answered = true;
                }
            }
            call.join().expect("client thread")
        });
        assert_eq!(got.expect("a reply"), Some(Value::from("new")));
    }

    #[test]
    fn two_clients_of_one_number_draw_different_sessions() {
        let fakes = Fakes::new();
        let a = RaftClient::new(fakes.addrs(), fakes.key.clone(), 0).expect("client");
        let b = RaftClient::new(fakes.addrs(), fakes.key.clone(), 0).expect("client");
        assert_ne!(a.session(), b.session());
    }

    /// Within a session a seq names one operation: repeating it for another operation, or going
    /// back, is refused before anything is sent (a late reply to the first would answer the
    /// second); repeating it for the same operation is a retry.
    #[test]
    fn a_seq_is_repeated_only_to_retry_the_same_operation() {
        let fakes = Fakes::new();
        let mut client = RaftClient::new(fakes.addrs(), fakes.key.clone(), 0).expect("client");
        client.timeout = Duration::from_millis(20);
        client.attempts = 1;
        assert!(matches!(client.put(2, "x", "a"), Err(ClientError::NoReply { .. })));
        assert!(matches!(client.put(2, "x", "a"), Err(ClientError::NoReply { .. })));
        assert!(matches!(client.get(2, "x"), Err(ClientError::SeqReused { seq: 2, last: 2 })));
        assert!(matches!(client.get(1, "x"), Err(ClientError::SeqReused { seq: 1, last: 2 })));
        assert!(matches!(client.get(3, "x"), Err(ClientError::NoReply { .. })));
        let sent: Vec<Seq> = fakes.requests(0).into_iter().map(|(op, _)| op.seq).collect();
        assert_eq!(sent, vec![2, 2, 3]);
    }
    /// PBFT's client takes a result only once f+1 = 2 of 4 replicas report it for its request: a
    /// lone lie, a reply to another session, and a reply naming another replica than its sender
    /// are not answers (if any of them counted, the client would print "lie" or wait in vain).
    #[test]
    fn the_pbft_client_takes_a_result_only_from_f_plus_1_matching_replies_to_its_request() {
        let sockets: Vec<UdpSocket> = (0..4).map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind")).collect();
        for s in &sockets {
            s.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
        }
        let key = ClusterKey::from_bytes([5; KEY_LEN]);
        let addrs: Vec<SocketAddr> = sockets.iter().map(|s| s.local_addr().expect("addr")).collect();
        let mut client = PbftClient::new(addrs, key.clone(), 0).expect("client");
        client.timeout = Duration::from_secs(3);
        client.attempts = 1;
        assert_eq!(client.replies_needed(), 2);
        let got = std::thread::scope(|s| {
            let call = s.spawn(|| client.get(1, Key::from("x")));
            let mut buf = vec![0u8; wire::MAX_DATAGRAM + 1];
            let deadline = Instant::now() + Duration::from_secs(5);
            let (op, from) = loop {
                assert!(Instant::now() < deadline, "no request reached replica 0");
                if let Ok((len, src)) = sockets[0].recv_from(&mut buf) {
                    if let Ok((_, Wire::Plain(PbftMsg::Request(op)))) = wire::open::<Wire>(&key, &buf[..len]) {
                        break (op, src);
                    }
                }
            };
            let mut seq = 0;
            let mut reply = |i: usize, replica: usize, session: Session, result: &str| {
                seq += 1;
                let header = Header { cluster: key.cluster_id(), sender: i as u64, receiver: 4, epoch: 1, seq };
                let r = crate::pbft::Reply {
                    view: 0,
                    client: 0,
                    session,
                    seq: 1,
                    result: Some(Value::from(result)),
                    replica: stateright::actor::Id::from(replica),
                };
                let bytes = wire::seal(&key, &header, &Wire::Plain(PbftMsg::Reply(r))).expect("seal");
                sockets[i].send_to(&bytes, from).expect("send");
            };
            reply(0, 0, op.session, "lie");
            reply(1, 1, op.session ^ 1, "old");
            reply(2, 1, op.session, "lie");
            reply(1, 1, op.session, "new");
            reply(3, 3, op.session, "new");
            call.join().expect("client thread")
        });
        assert_eq!(got.expect("a result"), Some(Value::from("new")));
    }
}
