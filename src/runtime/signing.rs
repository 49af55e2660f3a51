//! Per-replica signing keys (Ed25519), for protocols whose messages are relayed: a PBFT replica
//! forwards what others signed (prepared certificates inside view changes, view changes inside a
//! new-view), and the cluster key's HMAC proves only who sent the datagram, not who said what
//! it carries. A signature proves that to every replica, so that a Byzantine replica holding the
//! cluster key still cannot put words in another's mouth.
//!
//! A key directory, written by `quorum keygen --pbft-replicas N DIR` (and by `quorum cluster
//! pbft` under its data directory):
//!
//! ```text
//! DIR/replicas.pub     N lines: replica i's public key, 64 hex digits, in id order
//! DIR/replica-I.key    replica I's secret seed, 64 hex digits, readable by its owner only
//! ```
//!
//! Replica `i` reads `replicas.pub` and its own `replica-i.key` only (and checks that they
//! match): a deployment gives each machine its own secret and everyone's public keys. A local
//! cluster keeps all secrets in one directory, as it keeps all nodes on one machine.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Ed25519 keys and seeds are 32 bytes.
const KEY_BYTES: usize = 32;

/// An Ed25519 signature (64 bytes, as two halves: serde's arrays stop at 32).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Sig(pub [u8; 32], pub [u8; 32]);

impl std::fmt::Debug for Sig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sig({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}, line {line}: expected 64 hex digits (from `quorum keygen --pbft-replicas N DIR`)")]
    NotHex { path: PathBuf, line: usize },
    #[error("{path}, line {line}: not an Ed25519 public key")]
    BadPublicKey { path: PathBuf, line: usize },
    #[error("{path} lists {found} public keys; the cluster has {replicas} replicas")]
    Count { path: PathBuf, found: usize, replicas: usize },
    #[error("{secret} does not belong to replica {id}: its public key is not line {line} of {public}", line = id + 1)]
    Mismatch { secret: PathBuf, public: PathBuf, id: usize },
    #[error("{path} already exists; remove the directory's keys first to replace them")]
    Exists { path: PathBuf },
}

/// One replica's secret key and every replica's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaKeys {
    me: usize,
    secret: SigningKey,
    public: Vec<VerifyingKey>,
}

fn public_path(dir: &Path) -> PathBuf {
    dir.join("replicas.pub")
}

fn secret_path(dir: &Path, id: usize) -> PathBuf {
    dir.join(format!("replica-{id}.key"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; KEY_BYTES]> {
    let text = text.trim();
    if text.len() != 2 * KEY_BYTES || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; KEY_BYTES];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Writes `text` to a new file `path` (refusing to replace one), readable by its owner only when
/// `secret`, synced.
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), SigningKeyError> {
    use std::io::Write;
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::AlreadyExists => SigningKeyError::Exists { path: path.to_owned() },
        _ => SigningKeyError::Io { path: path.to_owned(), source },
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, if secret { 0o600 } else { 0o644 });
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

impl ReplicaKeys {
    /// Writes fresh keys for `replicas` replicas into `dir` (created if missing; existing keys
    /// are never replaced), from the operating system's generator.
    pub fn write_new(dir: &Path, replicas: usize) -> Result<(), SigningKeyError> {
        use rand::RngCore;
        std::fs::create_dir_all(dir).map_err(|source| SigningKeyError::Io { path: dir.to_owned(), source })?;
        let public = public_path(dir);
        for path in std::iter::once(public.clone()).chain((0..replicas).map(|i| secret_path(dir, i))) {
            if path.exists() {
                return Err(SigningKeyError::Exists { path });
            }
        }
        let mut lines = String::new();
        for i in 0..replicas {
            let mut seed = [0u8; KEY_BYTES];
            rand::rng().fill_bytes(&mut seed);
            let secret = SigningKey::from_bytes(&seed);
            write_new(&secret_path(dir, i), &format!("{}\n", hex(&seed)), true)?;
            lines.push_str(&hex(secret.verifying_key().as_bytes()));
            lines.push('\n');
        }
        write_new(&public, &lines, false)
    }

    /// Whether `dir` holds a public key file (written by [`ReplicaKeys::write_new`]).
    pub fn exist(dir: &Path) -> bool {
        public_path(dir).exists()
    }

    /// Replica `id`'s keys in a cluster of `replicas`, from `dir`.
    pub fn read(dir: &Path, id: usize, replicas: usize) -> Result<ReplicaKeys, SigningKeyError> {
        let path = public_path(dir);
        let text =
            std::fs::read_to_string(&path).map_err(|source| SigningKeyError::Io { path: path.clone(), source })?;
        let mut public = Vec::new();
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let bytes = unhex(line).ok_or_else(|| SigningKeyError::NotHex { path: path.clone(), line: i + 1 })?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| SigningKeyError::BadPublicKey { path: path.clone(), line: i + 1 })?;
            public.push(key);
        }
        if public.len() != replicas {
            return Err(SigningKeyError::Count { path, found: public.len(), replicas });
        }
        let secret_file = secret_path(dir, id);
        let text = std::fs::read_to_string(&secret_file)
            .map_err(|source| SigningKeyError::Io { path: secret_file.clone(), source })?;
        let seed = unhex(&text).ok_or_else(|| SigningKeyError::NotHex { path: secret_file.clone(), line: 1 })?;
        let secret = SigningKey::from_bytes(&seed);
        if public.get(id) != Some(&secret.verifying_key()) {
            return Err(SigningKeyError::Mismatch { secret: secret_file, public: path, id });
        }
        Ok(ReplicaKeys { me: id, secret, public })
    }

    /// Keys made from fixed seeds (`seed(i)` for replica i): for tests.
    pub fn from_seeds(me: usize, replicas: usize, seed: impl Fn(usize) -> [u8; KEY_BYTES]) -> ReplicaKeys {
        let public = (0..replicas).map(|i| SigningKey::from_bytes(&seed(i)).verifying_key()).collect();
        ReplicaKeys { me, secret: SigningKey::from_bytes(&seed(me)), public }
    }

    /// This replica's id.
    pub fn me(&self) -> usize {
        self.me
    }

    /// This replica's signature of `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> Sig {
        let s = self.secret.sign(bytes).to_bytes();
        let (mut r, mut z) = ([0u8; 32], [0u8; 32]);
        r.copy_from_slice(&s[..32]);
        z.copy_from_slice(&s[32..]);
        Sig(r, z)
    }

    /// Whether `sig` is replica `id`'s signature of `bytes` (strict verification: no malleable
    /// encodings).
    pub fn verify(&self, id: usize, bytes: &[u8], sig: &Sig) -> bool {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&sig.0);
        s[32..].copy_from_slice(&sig.1);
        let sig = ed25519_dalek::Signature::from_bytes(&s);
        self.public.get(id).is_some_and(|k| k.verify_strict(bytes, &sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_written_are_read_back_each_replica_signs_and_only_its_signature_verifies() {
        let dir = tempfile::tempdir().unwrap();
        ReplicaKeys::write_new(dir.path(), 4).unwrap();
        let keys: Vec<ReplicaKeys> = (0..4).map(|i| ReplicaKeys::read(dir.path(), i, 4).unwrap()).collect();
        let sig = keys[2].sign(b"prepare");
        assert!(keys.iter().all(|k| k.verify(2, b"prepare", &sig)));
        assert!(!keys[0].verify(1, b"prepare", &sig), "in another's name");
        assert!(!keys[0].verify(2, b"commit", &sig), "of another message");
        assert!(!keys[0].verify(9, b"prepare", &sig), "of no replica");
        let mut bent = sig;
        bent.1[0] ^= 1;
        assert!(!keys[0].verify(2, b"prepare", &bent));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(secret_path(dir.path(), 0)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_key_files_are_clear_errors_and_keys_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        ReplicaKeys::write_new(dir.path(), 4).unwrap();
        let err = |e: SigningKeyError| e.to_string();
        assert!(matches!(ReplicaKeys::write_new(dir.path(), 4), Err(SigningKeyError::Exists { .. })));
        assert!(
            err(ReplicaKeys::read(dir.path(), 0, 7).unwrap_err()).contains("lists 4 public keys; the cluster has 7")
        );
        // Replica 1's secret given to replica 0.
        std::fs::copy(secret_path(dir.path(), 1), dir.path().join("stolen")).unwrap();
        std::fs::remove_file(secret_path(dir.path(), 0)).unwrap();
        std::fs::rename(dir.path().join("stolen"), secret_path(dir.path(), 0)).unwrap();
        assert!(err(ReplicaKeys::read(dir.path(), 0, 4).unwrap_err()).contains("does not belong to replica 0"));
        std::fs::write(secret_path(dir.path(), 2), "xyz\n").unwrap();
        assert!(err(ReplicaKeys::read(dir.path(), 2, 4).unwrap_err()).contains("expected 64 hex digits"));
        std::fs::remove_file(secret_path(dir.path(), 3)).unwrap();
        assert!(matches!(ReplicaKeys::read(dir.path(), 3, 4), Err(SigningKeyError::Io { .. })));
        std::fs::write(public_path(dir.path()), "é".repeat(64)).unwrap();
        assert!(err(ReplicaKeys::read(dir.path(), 1, 4).unwrap_err()).contains("line 1"));
    }
}
