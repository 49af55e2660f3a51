//! A Raft client over the wire, speaking exactly the model client's protocol
//! (`src/raft/client.rs`): a `Request(Op)` to every server (only the leader acts on it), then
//! wait for the leader's `Reply { seq, .. }`. On a timeout it sends the same request again — the
//! leader appends each operation once, so a retry never applies it twice — a bounded number of
//! times.
//!
//! An operation is named by (client number, seq), both `u8`, and the leader deduplicates by
//! scanning its log. So a seq must never be reused by the same client number while the cluster's
//! log lives: a reused (client, seq, kind) would be answered from the old entry (a stale read, or
//! a write that is not applied). The CLI persists the last seq per client number in a file
//! ([`SeqFile`]), bumped and fsynced before the request is sent.

use super::storage::{FileStore, StorageError};
use super::wire::{self, ClusterKey, Header, ReplayGuard};
use crate::raft::{Op, OpKind, RaftMsg, Value};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("no reply after {attempts} attempts of {timeout:?}: the operation may or may not have taken effect")]
    NoReply { attempts: u32, timeout: Duration },
    #[error("cannot encode the request: {0}")]
    Encode(#[from] postcard::Error),
    #[error("client {client} has used all 255 sequence numbers (in {path}); use another --client number, or delete the file if the cluster's data was wiped")]
    SeqExhausted { client: u8, path: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub struct RaftClient {
    socket: UdpSocket,
    servers: Vec<SocketAddr>,
    key: ClusterKey,
    number: u8,
    epoch: u64,
    wire_seq: u64,
    guards: Vec<ReplayGuard>,
    /// Per attempt.
    pub timeout: Duration,
    pub attempts: u32,
}

impl RaftClient {
    /// Client `number` (actor id `servers.len() + number`, as in the model's layout).
    pub fn new(servers: Vec<SocketAddr>, key: ClusterKey, number: u8) -> Result<RaftClient, ClientError> {
        let any = match servers.first() {
            Some(SocketAddr::V6(_)) => "[::]:0",
            _ => "0.0.0.0:0",
        };
        let socket = UdpSocket::bind(any)?;
        let epoch = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        let guards = vec![ReplayGuard::default(); servers.len()];
        Ok(RaftClient {
            socket,
            servers,
            key,
            number,
            epoch,
            wire_seq: 0,
            guards,
            timeout: Duration::from_millis(500),
            attempts: 10,
        })
    }

    pub fn number(&self) -> u8 {
        self.number
    }

    /// Writes `v`.
    pub fn put(&mut self, seq: u8, v: Value) -> Result<(), ClientError> {
        self.call(Op { client: self.number, seq, kind: OpKind::Put(v) }).map(|_| ())
    }

    /// Reads the register (`None`: never written).
    pub fn get(&mut self, seq: u8) -> Result<Option<Value>, ClientError> {
        self.call(Op { client: self.number, seq, kind: OpKind::Get })
    }

    /// Sends `op` to every server until the leader replies, at most `attempts` times.
    pub fn call(&mut self, op: Op) -> Result<Option<Value>, ClientError> {
        let mut buf = vec![0u8; wire::MAX_DATAGRAM + 1];
        for _ in 0..self.attempts {
            for i in 0..self.servers.len() {
                self.wire_seq += 1;
                let header = Header {
                    cluster: self.key.cluster_id(),
                    sender: (self.servers.len() + usize::from(self.number)) as u64,
                    epoch: self.epoch,
                    seq: self.wire_seq,
                };
                let bytes = wire::seal(&self.key, &header, &RaftMsg::Request(op))?;
                // A server that is down is not an error: the others may lead.
                let _ = self.socket.send_to(&bytes, self.servers[i]);
            }
            let deadline = Instant::now() + self.timeout;
            while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
                self.socket.set_read_timeout(Some(left))?;
                let (len, src) = match self.socket.recv_from(&mut buf) {
                    Ok(r) => r,
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(e.into()),
                };
                let Ok((h, msg)) = wire::open::<RaftMsg>(&self.key, &buf[..len]) else { continue };
                let Ok(sender) = usize::try_from(h.sender) else { continue };
                if self.servers.get(sender) != Some(&src) || !self.guards[sender].accept(h.epoch, h.seq) {
                    continue;
                }
                if let RaftMsg::Reply { seq, value } = msg {
                    if seq == op.seq {
                        return Ok(value);
                    }
                }
            }
        }
        Err(ClientError::NoReply { attempts: self.attempts, timeout: self.timeout })
    }
}

/// The last seq a client number used, kept durably so that a new run never reuses one.
pub struct SeqFile {
    store: FileStore,
    client: u8,
}

impl SeqFile {
    pub fn open(dir: &Path, client: u8) -> Result<SeqFile, ClientError> {
        Ok(SeqFile { store: FileStore::open(dir, &format!("client-{client}.seq"))?, client })
    }

    /// A seq never used before by this client number (saved before it is returned).
    pub fn next(&self) -> Result<u8, ClientError> {
        let last: u8 = self.store.load()?.unwrap_or(0);
        let next = last.checked_add(1).ok_or_else(|| ClientError::SeqExhausted {
            client: self.client,
            path: self.store.path().display().to_string(),
        })?;
        self.store.save(&next)?;
        Ok(next)
    }
}
