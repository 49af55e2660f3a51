//! Durable storage: [`RecordLog`], the append-only log of an actor's `Storage`, and
//! [`FileStore`], one small record replaced atomically (the boot epoch, a client's last seq).
//!
//! **Why an append-only log.** The protocols emit their whole persistent state on every save
//! (Raft: term, vote and the whole log). Rewriting it each time costs O(log) bytes per fsync:
//! with 100-byte values, a 10,000-entry log is ~1.2 MB per save, which would bound a leader to a
//! few dozen saves per second. So the node writes only what changed since its last save
//! ([`Durable::changes_from`]: for Raft, a new term or vote, and "keep the first k entries, then
//! these"), appended as checksummed records and made durable with one `fdatasync` per step. Paxos
//! state is tiny and saved rarely: each record is the whole state.
//!
//! Log layout: `LOG_MAGIC` (4 bytes), format version (u16 LE), then records: payload length
//! (u32 LE), CRC-32 of the length bytes and payload (u32 LE), postcard payload: the changes of
//! one save, so that every record boundary is a state that was saved. A bad magic or
//! version, a record cut short, a checksum mismatch, an undecodable record or one that does not
//! fit the state before it are errors naming the file: a node must never silently start from
//! empty or older state. (A file cut exactly between two records cannot be told from an older
//! one; a crash never does that: a record is written by one `write` and only acknowledged after
//! `fdatasync`.) The log is not compacted: Raft keeps its whole log in memory anyway (no
//! snapshots in this implementation), and the file is about that size.
//!
//! [`FileStore`] record layout: `MAGIC` (4 bytes), format version (u16 LE), payload length
//! (u32 LE), CRC-32 of the payload (u32 LE), then the payload. A save writes `NAME.tmp`, fsyncs
//! it, renames it over `NAME` and fsyncs the directory.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: [u8; 4] = *b"QRM1";
/// The format version of [`FileStore`] records.
pub const VERSION: u16 = 1;
/// The format version of [`RecordLog`]s: 3 since Raft operations carry their client's session (a
/// version-2 log holds sessionless operations, a version-1 log keyless ones, which this build
/// must not misread).
pub const LOG_VERSION: u16 = 3;
const HEADER: usize = 4 + 2 + 4 + 4;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage file {path} is corrupted: record at byte {offset} does not fit the state before it ({why})")]
    Replay { path: PathBuf, offset: usize, why: String },
    #[error("storage file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("storage file {path} is corrupted: it does not start with the quorum magic bytes")]
    BadMagic { path: PathBuf },
    #[error("storage file {path} has format version {found}, this build reads version {expected}")]
    Version { path: PathBuf, found: u16, expected: u16 },
    #[error("storage file {path} is truncated: {found} bytes, the record needs {expected}")]
    Truncated { path: PathBuf, expected: usize, found: usize },
    #[error("storage file {path} is corrupted: {found} bytes, the record needs {expected} (trailing garbage)")]
    Trailing { path: PathBuf, expected: usize, found: usize },
    #[error("storage file {path} is corrupted: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { path: PathBuf, stored: u32, computed: u32 },
    #[error("storage file {path} is corrupted: the record does not decode ({source})")]
    Decode { path: PathBuf, source: postcard::Error },
    #[error("cannot encode the record for {path}: {source}")]
    Encode { path: PathBuf, source: postcard::Error },
}

/// One durable record in a file.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    tmp: PathBuf,
    dir: PathBuf,
}

impl FileStore {
    /// The record `name` in directory `dir` (created if missing).
    pub fn open(dir: &Path, name: &str) -> Result<FileStore, StorageError> {
        fs::create_dir_all(dir).map_err(|source| StorageError::Io { path: dir.to_owned(), source })?;
        Ok(FileStore { path: dir.join(name), tmp: dir.join(format!("{name}.tmp")), dir: dir.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved record, or `None` if nothing was ever saved. A leftover temp file is an
    /// unfinished save (its rename never happened), so it is ignored.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, StorageError> {
        match fs::read(&self.path) {
            Ok(bytes) => decode(&self.path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Io { path: self.path.clone(), source }),
        }
    }

    /// Replaces the record durably: on disk when this returns.
    pub fn save<T: Serialize>(&self, value: &T) -> Result<(), StorageError> {
        let bytes = encode(&self.path, value)?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StorageError::Io { path, source }
        };
        let mut f = File::create(&self.tmp).map_err(io(&self.tmp))?;
        f.write_all(&bytes).map_err(io(&self.tmp))?;
        f.sync_all().map_err(io(&self.tmp))?;
        drop(f);
        fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        // The rename is durable only once the directory entry is.
        let d = OpenOptions::new().read(true).open(&self.dir).map_err(io(&self.dir))?;
        d.sync_all().map_err(io(&self.dir))?;
        Ok(())
    }
}

/// The record's bytes: header, then the postcard payload.
pub fn encode<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, StorageError> {
    let payload =
        postcard::to_stdvec(value).map_err(|source| StorageError::Encode { path: path.to_owned(), source })?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The start both file formats share: `magic`, then the format version; `header` bytes in all
/// before the first record. A file too short for them is truncated, unless even its first bytes
/// are not the magic.
fn check_header(path: &Path, bytes: &[u8], magic: [u8; 4], header: usize, expected: u16) -> Result<(), StorageError> {
    let path = || path.to_owned();
    if bytes.len() < header {
        if !magic.starts_with(&bytes[..bytes.len().min(4)]) {
            return Err(StorageError::BadMagic { path: path() });
        }
        return Err(StorageError::Truncated { path: path(), expected: header, found: bytes.len() });
    }
    if bytes[..4] != magic {
        return Err(StorageError::BadMagic { path: path() });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != expected {
        return Err(StorageError::Version { path: path(), found: version, expected });
    }
    Ok(())
}

/// Checks and decodes a record read from `path`.
pub fn decode<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StorageError> {
    let path = || path.to_owned();
    check_header(&path(), bytes, MAGIC, HEADER, VERSION)?;
    let len = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]) as usize;
    let stored = u32::from_le_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
    let expected = HEADER.saturating_add(len);
    if bytes.len() < expected {
        return Err(StorageError::Truncated { path: path(), expected, found: bytes.len() });
    }
    if bytes.len() > expected {
        return Err(StorageError::Trailing { path: path(), expected, found: bytes.len() });
    }
    let payload = &bytes[HEADER..];
    let computed = crc32fast::hash(payload);
    if computed != stored {
        return Err(StorageError::Checksum { path: path(), stored, computed });
    }
    postcard::from_bytes(payload).map_err(|source| StorageError::Decode { path: path(), source })
}

pub const LOG_MAGIC: [u8; 4] = *b"QRL1";
const LOG_HEADER: usize = 4 + 2;
const RECORD_HEADER: usize = 4 + 4;

/// A saved state that can be written as changes to the previous one.
pub trait Durable: Clone + Serialize + DeserializeOwned {
    type Change: Serialize + DeserializeOwned;
    /// The changes that turn `saved` (`None`: nothing saved yet) into `self`; empty if equal.
    fn changes_from(&self, saved: Option<&Self>) -> Vec<Self::Change>;
    /// Applies one change read back from disk; an error if it cannot follow `saved`.
    fn apply(saved: Option<Self>, change: Self::Change) -> Result<Self, String>;
}

/// The append-only log of one actor's saved state.
pub struct RecordLog<T: Durable> {
    path: PathBuf,
    dir: PathBuf,
    file: Option<File>,
    /// What the file holds, to compute the next changes.
    saved: Option<T>,
    buf: Vec<u8>,
}

impl<T: Durable> RecordLog<T> {
    /// Opens (and reads back) the log `name` in `dir` (created if missing).
    pub fn open(dir: &Path, name: &str) -> Result<RecordLog<T>, StorageError> {
        fs::create_dir_all(dir).map_err(|source| StorageError::Io { path: dir.to_owned(), source })?;
        let path = dir.join(name);
        let saved = match fs::read(&path) {
            Ok(bytes) => decode_log(&path, &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(StorageError::Io { path, source }),
        };
        Ok(RecordLog { path, dir: dir.to_owned(), file: None, saved, buf: Vec::new() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was saved last (recovered on open).
    pub fn saved(&self) -> Option<&T> {
        self.saved.as_ref()
    }

    /// Makes `value` the saved state: appends its changes and syncs. On disk when this returns.
    pub fn save(&mut self, value: &T) -> Result<(), StorageError> {
        let changes = value.changes_from(self.saved.as_ref());
        if changes.is_empty() {
            return Ok(());
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StorageError::Io { path, source }
        };
        self.buf.clear();
        let fresh = self.file.is_none() && !self.path.exists();
        if fresh {
            self.buf.extend_from_slice(&LOG_MAGIC);
            self.buf.extend_from_slice(&LOG_VERSION.to_le_bytes());
        }
        // One record per save, so that every record boundary is a state that was saved.
        let payload =
            postcard::to_stdvec(&changes).map_err(|source| StorageError::Encode { path: self.path.clone(), source })?;
        push_record(&mut self.buf, &payload);
        if self.file.is_none() {
            let f = OpenOptions::new().create(true).append(true).open(&self.path).map_err(io(&self.path))?;
            self.file = Some(f);
        }
        let Some(f) = self.file.as_mut() else { return Ok(()) };
        // One write per save: a kill -9 cannot leave half a record behind it.
        f.write_all(&self.buf).map_err(io(&self.path))?;
        f.sync_data().map_err(io(&self.path))?;
        if fresh {
            // The new file's directory entry must be durable too.
            let d = OpenOptions::new().read(true).open(&self.dir).map_err(io(&self.dir))?;
            d.sync_all().map_err(io(&self.dir))?;
        }
        self.saved = Some(value.clone());
        Ok(())
    }
}

fn push_record(out: &mut Vec<u8>, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
}

/// The bytes of a log that saves `value` at once (for tests and tools).
pub fn encode_log<T: Durable>(path: &Path, value: &T) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::new();
    out.extend_from_slice(&LOG_MAGIC);
    out.extend_from_slice(&LOG_VERSION.to_le_bytes());
    let payload = postcard::to_stdvec(&value.changes_from(None))
        .map_err(|source| StorageError::Encode { path: path.to_owned(), source })?;
    push_record(&mut out, &payload);
    Ok(out)
}

/// Checks and replays a log read from `path`.
pub fn decode_log<T: Durable>(path: &Path, bytes: &[u8]) -> Result<Option<T>, StorageError> {
    let p = || path.to_owned();
    check_header(path, bytes, LOG_MAGIC, LOG_HEADER, LOG_VERSION)?;
    let mut state: Option<T> = None;
    let mut at = LOG_HEADER;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + RECORD_HEADER) else {
            return Err(StorageError::Truncated { path: p(), expected: at + RECORD_HEADER, found: bytes.len() });
        };
        let len_bytes = [head[0], head[1], head[2], head[3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let stored = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let end = (at + RECORD_HEADER).saturating_add(len);
        let Some(payload) = bytes.get(at + RECORD_HEADER..end) else {
            return Err(StorageError::Truncated { path: p(), expected: end, found: bytes.len() });
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&len_bytes);
        crc.update(payload);
        let computed = crc.finalize();
        if computed != stored {
            return Err(StorageError::Checksum { path: p(), stored, computed });
        }
        let changes: Vec<T::Change> =
            postcard::from_bytes(payload).map_err(|source| StorageError::Decode { path: p(), source })?;
        for change in changes {
            state = Some(T::apply(state, change).map_err(|why| StorageError::Replay { path: p(), offset: at, why })?);
        }
        at = end;
    }
    Ok(state)
}

/// Raft: a new term or vote, and "keep the first k entries, then append these" — a leader's or a
/// follower's append is one small record, a truncation of a conflicting suffix too.
#[derive(Serialize, serde::Deserialize)]
pub enum RaftChange {
    Vote { term: crate::raft::Term, voted_for: Option<stateright::actor::Id> },
    Entries { keep: crate::raft::Index, entries: Vec<crate::raft::Entry> },
}

impl Durable for crate::raft::RaftStorage {
    type Change = RaftChange;

    fn changes_from(&self, saved: Option<&Self>) -> Vec<RaftChange> {
        let mut out = Vec::new();
        if saved.is_none_or(|s| (s.term, s.voted_for) != (self.term, self.voted_for)) {
            out.push(RaftChange::Vote { term: self.term, voted_for: self.voted_for });
        }
        let (keep, old_len) = saved.map_or((0, 0), |s| (s.log.common_prefix(&self.log), s.log.len()));
        if keep < old_len || keep < self.log.len() {
            let keep_index = crate::raft::log::len_index(keep);
            out.push(RaftChange::Entries { keep: keep_index, entries: self.log.iter_from(keep).cloned().collect() });
        }
        out
    }

    fn apply(saved: Option<Self>, change: RaftChange) -> Result<Self, String> {
        let mut s = saved.unwrap_or(crate::raft::RaftStorage { term: 0, voted_for: None, log: Default::default() });
        match change {
            RaftChange::Vote { term, voted_for } => {
                s.term = term;
                s.voted_for = voted_for;
            }
            RaftChange::Entries { keep, entries } => {
                let keep = crate::raft::log::pos(keep);
                if keep > s.log.len() {
                    return Err(format!("keeps {keep} entries of a log of {}", s.log.len()));
                }
                s.log.truncate(keep);
                s.log.extend(entries);
            }
        }
        Ok(s)
    }
}

/// Paxos: each record is the whole (small) state; the last one wins.
macro_rules! whole_state_durable {
    ($($t:ty),*) => {$(
        impl Durable for $t {
            type Change = $t;
            fn changes_from(&self, saved: Option<&Self>) -> Vec<$t> {
                if saved == Some(self) { Vec::new() } else { vec![self.clone()] }
            }
            fn apply(_saved: Option<Self>, change: $t) -> Result<Self, String> {
                Ok(change)
            }
        }
    )*};
}
whole_state_durable!(crate::paxos::actor::PaxosStorage, u8, u64);

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::open(dir.path(), "state").unwrap();
        (dir, s)
    }

    #[test]
    fn a_saved_record_loads_back_and_nothing_saved_is_none() {
        let (_d, s) = store();
        assert_eq!(s.load::<Vec<u32>>().unwrap(), None);
        s.save(&vec![1u32, 2, 3]).unwrap();
        s.save(&vec![4u32, 5]).unwrap();
        assert_eq!(s.load::<Vec<u32>>().unwrap(), Some(vec![4, 5]));
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_an_error_naming_the_file() {
        let (_d, s) = store();
        s.save(&(7u8, vec!['a'; 20])).unwrap();
        let good = fs::read(s.path()).unwrap();
        for cut in 0..good.len() {
            let e = decode::<(u8, Vec<char>)>(s.path(), &good[..cut]).unwrap_err();
            assert!(e.to_string().contains(&s.path().display().to_string()), "{e}");
        }
        for byte in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                assert!(decode::<(u8, Vec<char>)>(s.path(), &bad).is_err(), "flip {byte}.{bit} accepted");
            }
        }
    }

    fn raft(term: u64, voted: Option<usize>, log: &[(u64, &str)]) -> crate::raft::RaftStorage {
        use crate::raft::{Entry, Op, OpKind, Value};
        crate::raft::RaftStorage {
            term,
            voted_for: voted.map(stateright::actor::Id::from),
            log: log
                .iter()
                .enumerate()
                .map(|(k, (t, v))| Entry {
                    term: *t,
                    op: Op {
                        client: 0,
                        session: 0,
                        seq: k as u64 + 1,
                        kind: OpKind::Put(Value::from(""), Value::from(*v)),
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn the_record_log_replays_appends_votes_and_truncations_and_appends_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let states = [
            raft(1, Some(0), &[]),
            raft(1, Some(0), &[(1, "a")]),
            raft(1, Some(0), &[(1, "a"), (1, "b"), (1, "c")]),
            raft(2, None, &[(1, "a"), (1, "b"), (1, "c")]),
            raft(2, Some(1), &[(1, "a"), (2, "x")]), // a conflicting suffix replaced
            raft(2, Some(1), &[(1, "a"), (2, "x")]), // no change: nothing written
        ];
        let mut sizes = Vec::new();
        {
            let mut log = RecordLog::open(dir.path(), "state").unwrap();
            assert!(log.saved().is_none());
            for s in &states {
                log.save(s).unwrap();
                sizes.push(fs::metadata(log.path()).unwrap().len());
                assert_eq!(RecordLog::open(dir.path(), "state").unwrap().saved(), Some(s));
            }
        }
        assert_eq!(sizes[4], sizes[5], "an unchanged state appends nothing");
        // Appending two entries to a 1-entry log writes about two entries, not three.
        let entry = sizes[1] - sizes[0];
        assert!(sizes[2] - sizes[1] < 3 * entry, "{sizes:?}");
        let reopened = RecordLog::<crate::raft::RaftStorage>::open(dir.path(), "state").unwrap();
        assert_eq!(reopened.saved(), states.last());
    }

    #[test]
    fn every_cut_inside_a_record_and_every_bit_flip_of_the_record_log_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RecordLog::open(dir.path(), "state").unwrap();
        log.save(&raft(3, Some(1), &[(1, "q")])).unwrap();
        let one = fs::read(log.path()).unwrap().len();
        log.save(&raft(3, Some(1), &[(1, "q"), (3, "r")])).unwrap();
        let good = fs::read(log.path()).unwrap();
        let path = log.path().to_owned();
        let boundaries = [LOG_HEADER, one, good.len()];
        for cut in 0..good.len() {
            let r = decode_log::<crate::raft::RaftStorage>(&path, &good[..cut]);
            if boundaries.contains(&cut) {
                assert!(r.is_ok(), "cut at record boundary {cut}: {r:?}");
            } else {
                let e = r.unwrap_err();
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
                assert!(e.to_string().contains("truncated") || e.to_string().contains("magic"), "{cut}: {e}");
            }
        }
        for byte in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                assert!(decode_log::<crate::raft::RaftStorage>(&path, &bad).is_err(), "flip {byte}.{bit} accepted");
            }
        }
    }

    #[test]
    fn a_record_that_does_not_fit_the_state_before_it_is_an_error() {
        let path = Path::new("/data/state");
        let mut bytes = LOG_MAGIC.to_vec();
        bytes.extend_from_slice(&LOG_VERSION.to_le_bytes());
        let change = vec![RaftChange::Entries { keep: 5, entries: Vec::new() }];
        push_record(&mut bytes, &postcard::to_stdvec(&change).unwrap());
        let e = decode_log::<crate::raft::RaftStorage>(path, &bytes).unwrap_err();
        assert!(e.to_string().contains("/data/state") && e.to_string().contains("keeps 5 entries"), "{e}");
    }

    #[test]
    fn a_log_of_the_keyless_version_1_or_sessionless_version_2_format_is_refused_not_misread() {
        let path = Path::new("/data/state");
        for old in [1u16, 2] {
            let mut bytes = LOG_MAGIC.to_vec();
            bytes.extend_from_slice(&old.to_le_bytes());
            push_record(&mut bytes, &postcard::to_stdvec(&Vec::<RaftChange>::new()).unwrap());
            let e = decode_log::<crate::raft::RaftStorage>(path, &bytes).unwrap_err();
            assert!(matches!(e, StorageError::Version { found, expected: 3, .. } if found == old), "{e}");
            assert!(e.to_string().contains("/data/state") && e.to_string().contains(&format!("version {old}")), "{e}");
        }
    }
}
