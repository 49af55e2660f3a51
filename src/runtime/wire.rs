//! The wire format: one message per UDP datagram, authenticated with the cluster key.
//!
//! ```text
//! datagram = postcard((Header, Msg)) ‖ HMAC-SHA256(key, postcard((Header, Msg)))   (32 bytes)
//! Header   = { cluster: u64, sender: u64, receiver: u64, epoch: u64, seq: u64 }
//! ```
//!
//! The tag is checked first, in constant time, before anything is decoded: a datagram from
//! someone without the key costs one HMAC and is never parsed. Then the cluster id (so that two
//! clusters sharing a key by mistake do not mix), the receiver id (the datagram is addressed to
//! this node: a copy redirected to another node, or reflected back to its sender, is dropped),
//! the sender id (known, not the receiver itself, and — for servers — sending from its
//! configured address), and the (epoch, seq) pair against replays.
//!
//! The receiver in the header is what makes the model's network true of the wire: the checker
//! assumes that a message reaches only its addressee. Without it, a voter's "yes" to one
//! candidate, copied on the way to another with the voter's source address, passed the tag, the
//! address check and the replay window, and elected two leaders in one term (the planted bug
//! `unbound-header` shows that in the model, with its redirecting adversary).
//!
//! Replays: every sender numbers its datagrams `seq = 1, 2, …` within a boot `epoch` that grows
//! with every start (servers persist it in their data directory; clients use the wall clock in
//! nanoseconds). A receiver keeps, per sender, the highest (epoch, seq) accepted and a 64-wide
//! window of the seqs below it (as IPsec and DTLS do), so that reordered datagrams still pass but
//! each is accepted at most once, and a restarted sender (a higher epoch) is accepted at once.
//!
//! What the shared key does not give: any holder of the key can speak for any id (it is one key
//! per cluster, not one per node); the address check only stops a key holder elsewhere from
//! posing as a server. PBFT, where a node may be Byzantine and so holds the key while lying,
//! closes that with per-replica signatures inside the message ([`super::signing`],
//! `pbft::signed`); Raft and Paxos trust every key holder, as their fault model does.

use hmac::{Hmac, KeyInit, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Datagrams larger than this are dropped unread: just below the largest UDP payload over IPv4
/// (65,507 bytes). A Raft AppendEntries carries up to `--max-batch` entries and about
/// [`crate::raft::hosting::BATCH_BYTES`] of keys and values, and a request's key and value
/// are at most [`crate::raft::hosting::MAX_KEY`] and
/// [`crate::raft::hosting::MAX_VALUE`] bytes, so every message the nodes send fits.
pub const MAX_DATAGRAM: usize = 65_000;
pub const TAG_LEN: usize = 32;
/// The key: 32 random bytes, stored as 64 hex digits.
pub const KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Derived from the key ([`ClusterKey::cluster_id`]).
    pub cluster: u64,
    /// The sender's actor id (its index in the model's layout).
    pub sender: u64,
    /// The receiver's actor id: a datagram is accepted only by the actor it was sent to.
    pub receiver: u64,
    /// The sender's boot epoch: grows with every start of the sender.
    pub epoch: u64,
    /// 1, 2, … within the epoch.
    pub seq: u64,
}

/// The per-cluster secret.
#[derive(Clone)]
pub struct ClusterKey {
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterKey(cluster {:#018x})", self.cluster_id())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("key file {path} must hold {} hex digits (from `quorum keygen`), found {found} characters", KEY_LEN * 2)]
    Length { path: PathBuf, found: usize },
    #[error("key file {path} holds a character that is not a hex digit")]
    NotHex { path: PathBuf },
    #[error("key file {path} already exists; remove it first to replace the cluster key")]
    Exists { path: PathBuf },
}

impl ClusterKey {
    pub fn from_bytes(key: [u8; KEY_LEN]) -> ClusterKey {
        ClusterKey { key }
    }

    /// A fresh random key from the operating system's generator.
    pub fn random() -> ClusterKey {
        use rand::RngCore;
        let mut key = [0u8; KEY_LEN];
        // ThreadRng is a CSPRNG seeded from the operating system.
        rand::rng().fill_bytes(&mut key);
        ClusterKey { key }
    }

    /// Reads a key written by [`ClusterKey::write_new`] (surrounding whitespace allowed).
    pub fn read(path: &Path) -> Result<ClusterKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
        let hex = text.trim();
        if hex.len() != KEY_LEN * 2 {
            return Err(KeyError::Length { path: path.to_owned(), found: hex.chars().count() });
        }
        let mut key = [0u8; KEY_LEN];
        for (i, byte) in key.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(|| KeyError::NotHex { path: path.to_owned() })?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| KeyError::NotHex { path: path.to_owned() })?;
        }
        Ok(ClusterKey { key })
    }

    /// Writes a fresh random key to `path` (which must not exist), readable by its owner only.
    pub fn write_new(path: &Path) -> Result<ClusterKey, KeyError> {
        use std::io::Write;
        let key = ClusterKey::random();
        let hex: String = key.key.iter().map(|b| format!("{b:02x}")).collect();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let io = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists { path: path.to_owned() }
            } else {
                KeyError::Io { path: path.to_owned(), source }
            }
        };
        let mut f = opts.open(path).map_err(io)?;
        writeln!(f, "{hex}").map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(key)
    }

    /// A public name for the cluster, derived from the key so that it needs no configuration.
    pub fn cluster_id(&self) -> u64 {
        let d = Sha256::new().chain_update(b"quorum cluster id").chain_update(self.key).finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&d[..8]);
        u64::from_le_bytes(id)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }
}

/// Why a datagram was dropped before reaching the actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("oversize")]
    Oversize,
    #[error("too short for a tag")]
    Short,
    #[error("bad tag")]
    BadTag,
    #[error("undecodable")]
    Undecodable,
    #[error("wrong cluster")]
    WrongCluster,
    #[error("unknown sender")]
    UnknownSender,
    #[error("addressed to another actor")]
    Misaddressed,
    #[error("sender is the receiver itself")]
    FromSelf,
    #[error("sender id does not match the source address")]
    AddrMismatch,
    #[error("replayed")]
    Replayed,
    /// Not a wire error: the fault shim's partition (counted apart).
    #[error("partitioned")]
    Partitioned,
}

/// Encodes and tags one message.
pub fn seal<M: Serialize>(key: &ClusterKey, header: &Header, msg: &M) -> Result<Vec<u8>, postcard::Error> {
    let mut out = postcard::to_stdvec(&(header, msg))?;
    let tag = key.mac().chain_update(&out).finalize().into_bytes();
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Checks the size, the tag and the encoding, and returns the header and message. Who sent it,
/// and whether it is a replay, is for the caller ([`ReplayGuard`], the peer table) to decide.
pub fn open<M: DeserializeOwned>(key: &ClusterKey, datagram: &[u8]) -> Result<(Header, M), Reject> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(Reject::Oversize);
    }
    let Some(body_len) = datagram.len().checked_sub(TAG_LEN) else { return Err(Reject::Short) };
    let (body, tag) = datagram.split_at(body_len);
    key.mac().chain_update(body).verify_slice(tag).map_err(|_| Reject::BadTag)?;
    let ((header, msg), rest) = postcard::take_from_bytes::<(Header, M)>(body).map_err(|_| Reject::Undecodable)?;
    if !rest.is_empty() {
        return Err(Reject::Undecodable);
    }
    if header.cluster != key.cluster_id() {
        return Err(Reject::WrongCluster);
    }
    Ok((header, msg))
}

/// Per-sender replay state: the highest (epoch, seq) accepted and which of the 64 seqs below it
/// were seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayGuard {
    epoch: u64,
    top: u64,
    /// Bit i set: seq `top - i` was accepted.
    seen: u64,
}

impl ReplayGuard {
    pub const WINDOW: u64 = 64;

    /// Whether (epoch, seq) is new; if so it is recorded. Seq 0 is never valid.
    pub fn accept(&mut self, epoch: u64, seq: u64) -> bool {
        if seq == 0 || epoch < self.epoch {
            return false;
        }
        if epoch > self.epoch {
            *self = ReplayGuard { epoch, top: seq, seen: 1 };
            return true;
        }
        if seq > self.top {
            let shift = seq - self.top;
            self.seen = if shift >= Self::WINDOW { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.top = seq;
            return true;
        }
        let back = self.top - seq;
        if back >= Self::WINDOW || self.seen & (1 << back) != 0 {
            return false;
        }
        self.seen |= 1 << back;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_guard_accepts_each_seq_once_within_the_window_and_a_new_epoch_at_once() {
        let mut g = ReplayGuard::default();
        assert!(g.accept(1, 1));
        assert!(!g.accept(1, 1));
        assert!(g.accept(1, 3));
        assert!(g.accept(1, 2), "reordered, not replayed");
        assert!(!g.accept(1, 2));
        assert!(g.accept(1, 100));
        assert!(!g.accept(1, 30), "below the window");
        assert!(g.accept(1, 60));
        assert!(!g.accept(0, 500), "an older epoch");
        assert!(g.accept(2, 1), "a restarted sender");
        assert!(!g.accept(2, 0));
    }

    #[test]
    fn a_sealed_message_opens_and_any_change_is_a_bad_tag() {
        let key = ClusterKey::from_bytes([7; KEY_LEN]);
        let h = Header { cluster: key.cluster_id(), sender: 2, receiver: 1, epoch: 9, seq: 1 };
        let d = seal(&key, &h, &"hello".to_owned()).unwrap();
        assert_eq!(open::<String>(&key, &d).unwrap(), (h, "hello".to_owned()));
        for i in 0..d.len() {
            let mut bad = d.clone();
            bad[i] ^= 0x10;
            assert_eq!(open::<String>(&key, &bad).unwrap_err(), Reject::BadTag);
        }
        let other = ClusterKey::from_bytes([8; KEY_LEN]);
        assert_eq!(open::<String>(&other, &d).unwrap_err(), Reject::BadTag);
    }
}
