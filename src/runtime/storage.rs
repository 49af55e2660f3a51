//! Durable storage: [`RecordLog`], the append-only log of an actor's `Storage`, and
//! [`FileStore`], one small record replaced atomically (the boot epoch).
//!
//! **Why an append-only log.** The protocols emit their whole persistent state on every save
//! (Raft: term, vote and the whole log). Rewriting it each time costs O(log) bytes per fsync:
//! with 100-byte values, a 10,000-entry log is ~1.2 MB per save, which would bound a leader to a
//! few dozen saves per second. So the node writes only what changed since its last save
//! ([`Durable::changes_from`]: for Raft, a new term or vote, and "keep the first k entries, then
//! these"), appended as checksummed records and made durable with one `fdatasync` per step. Paxos
//! state is tiny and saved rarely: each record is the whole state.
//!
//! Log layout: a head of three 4 KiB blocks — `LOG_MAGIC` (4 bytes) and the format version (u16
//! LE) in the first, one [`Watermark`] slot at the start of each of the other two — then records:
//! payload length (u32 LE), CRC-32 of the length bytes and payload (u32 LE), postcard payload: the
//! changes of one save, so that every record boundary is a state that was saved. The log is not
//! compacted: Raft keeps its whole log in memory anyway (no snapshots in this implementation), and
//! the file is about that size.
//!
//! **What was acknowledged.** A log cut exactly between two records, or deleted, looks like an
//! older or empty state, and a node restarting from it forgets votes and entries it acknowledged.
//! So each save, after its record's `fdatasync` and before any message of its step leaves, writes
//! the count, end and last checksum of the good records into the slot the previous save did not
//! use, in place and without a sync of its own: the page cache keeps it across a crash of the
//! process, and the next save's `fdatasync` makes it durable. The intact slot with the higher
//! sequence number counts; a torn slot write leaves the other, one save older. On open, the log
//! must hold every record the watermark counts, intact; past it, a record cut short or failing its
//! checksum was never acknowledged (a crash or a full disk in the middle of a write) and is
//! dropped with what follows, and cut off the file before the next append. Anything else — bad
//! magic or version, a log shorter than its watermark, a bad record at or below it, neither slot
//! intact, an undecodable record or one that does not fit the state before it, a missing log on a
//! node that has run before — is an error naming the file: a node must never silently start from
//! empty or older state. docs/architecture.md (Storage) has the costs and what this cannot detect.
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
/// The format version of [`RecordLog`]s: 3 since the head holds the watermark and Raft operations
/// carry their client's session (a version-2 log holds sessionless operations and no watermark, a
/// version-1 log keyless operations: this build must not misread either).
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
    #[error("storage file {path} is corrupted: checksum mismatch in the record at byte {offset} (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { path: PathBuf, offset: usize, stored: u32, computed: u32 },
    #[error("storage file {path} is corrupted: the record does not decode ({source})")]
    Decode { path: PathBuf, source: postcard::Error },
    #[error("cannot encode the record for {path}: {source}")]
    Encode { path: PathBuf, source: postcard::Error },
    #[error("storage file {path} is missing, but the node has run before ({evidence} exists): starting empty would forget what it acknowledged")]
    Missing { path: PathBuf, evidence: PathBuf },
    #[error("storage file {path} is truncated: {found} bytes, but its watermark counts {records} records ({bytes} bytes) as acknowledged: starting from less would forget what it acknowledged")]
    Shorter { path: PathBuf, found: u64, records: u64, bytes: u64 },
    #[error("storage file {path} is corrupted: neither of its two watermark slots is intact")]
    AckCorrupt { path: PathBuf },
    #[error("storage file {path} does not match its watermark: {why}")]
    AckMismatch { path: PathBuf, why: String },
    #[error("storage file {path}: an earlier write or sync failed, so nothing more is written until the node restarts and recovers")]
    Poisoned { path: PathBuf },
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
        return Err(StorageError::Checksum { path: path(), offset: 0, stored, computed });
    }
    postcard::from_bytes(payload).map_err(|source| StorageError::Decode { path: path(), source })
}

pub const LOG_MAGIC: [u8; 4] = *b"QRL1";
const LOG_HEADER: usize = 4 + 2;
const RECORD_HEADER: usize = 4 + 4;

/// The magic bytes of a watermark slot.
pub const SLOT_MAGIC: [u8; 4] = *b"QRA1";
/// A watermark slot: magic, seq, records, bytes (u64 LE each), CRC-32 of the last acknowledged
/// record (u32 LE), CRC-32 of the slot's first 32 bytes (u32 LE).
pub const SLOT_LEN: usize = 4 + 8 + 8 + 8 + 4 + 4;
/// Where the two watermark slots start: each in its own 4 KiB block, apart from the header's, so
/// that a torn write of one (a block half written at a power cut) touches nothing else.
pub const SLOT_AT: [u64; 2] = [4096, 8192];
/// Where the records start: the head (header, slots) is the file's first three 4 KiB blocks.
pub const RECORDS_AT: u64 = 12_288;
/// The environment variable that makes a node's log fail with ENOSPC once the file would pass
/// that many bytes, the record crossing it half written (for tests of a full disk where no small
/// filesystem can be mounted).
pub const LOG_LIMIT_ENV: &str = "QUORUM_FAULT_LOG_LIMIT";

/// What a log had acknowledged: its first `records` records, the file `bytes` long up to their
/// end (head included), the last of them with checksum `last_crc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermark {
    /// Which write this is; the slot is `seq % 2`, and the intact slot with the higher seq counts.
    pub seq: u64,
    pub records: u64,
    pub bytes: u64,
    pub last_crc: u32,
}

impl Watermark {
    /// The watermark of a log with no record.
    pub const EMPTY: Watermark = Watermark { seq: 0, records: 0, bytes: RECORDS_AT, last_crc: 0 };

    pub fn encode(&self) -> [u8; SLOT_LEN] {
        let mut out = [0u8; SLOT_LEN];
        out[..4].copy_from_slice(&SLOT_MAGIC);
        out[4..12].copy_from_slice(&self.seq.to_le_bytes());
        out[12..20].copy_from_slice(&self.records.to_le_bytes());
        out[20..28].copy_from_slice(&self.bytes.to_le_bytes());
        out[28..32].copy_from_slice(&self.last_crc.to_le_bytes());
        let crc = crc32fast::hash(&out[..32]);
        out[32..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// One slot's bytes back; `None` if they are not an intact slot (torn, or never written).
    pub fn decode(slot: &[u8]) -> Option<Watermark> {
        let slot = slot.get(..SLOT_LEN)?;
        let u64_at = |i: usize| slot.get(i..i + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        let u32_at = |i: usize| slot.get(i..i + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        if slot[..4] != SLOT_MAGIC || u32_at(32)? != crc32fast::hash(&slot[..32]) {
            return None;
        }
        Some(Watermark { seq: u64_at(4)?, records: u64_at(12)?, bytes: u64_at(20)?, last_crc: u32_at(28)? })
    }

    /// The newer intact slot of a log's bytes; `None` if neither is intact.
    pub fn read(log: &[u8]) -> Option<Watermark> {
        let slot = |at: u64| log.get(at as usize..).and_then(Watermark::decode);
        SLOT_AT.into_iter().filter_map(slot).max_by_key(|m| m.seq)
    }

    /// Where this watermark is written.
    fn slot_at(&self) -> u64 {
        SLOT_AT[(self.seq % 2) as usize]
    }
}

/// A saved state that can be written as changes to the previous one.
pub trait Durable: Clone + Serialize + DeserializeOwned {
    type Change: Serialize + DeserializeOwned;
    /// The changes that turn `saved` (`None`: nothing saved yet) into `self`; empty if equal.
    fn changes_from(&self, saved: Option<&Self>) -> Vec<Self::Change>;
    /// Applies one change read back from disk; an error if it cannot follow `saved`.
    fn apply(saved: Option<Self>, change: Self::Change) -> Result<Self, String>;
}

/// A log read back: the state of its good records, and what follows them.
#[derive(Debug)]
pub struct Replayed<T> {
    pub state: Option<T>,
    /// Good records, the file's length up to their end, the last one's checksum (0 if none).
    pub records: u64,
    pub len: u64,
    pub last_crc: u32,
    /// The watermark read.
    pub mark: Watermark,
    /// Bytes after the good records: a torn or corrupt record past the watermark, and all after.
    pub dropped: u64,
}

/// What [`RecordLog::recover`] repaired.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of a torn final record, never acknowledged, cut off the log.
    pub dropped: u64,
    /// Intact records past the watermark (a power cut after their save), now counted by it.
    pub adopted: u64,
    /// The log was created (a node starting for the first time).
    pub created: bool,
}

/// The append-only log of one actor's saved state, with its watermark in its head.
pub struct RecordLog<T: Durable> {
    path: PathBuf,
    dir: PathBuf,
    file: Option<File>,
    /// What the file holds up to `len`, to compute the next changes.
    saved: Option<T>,
    /// The good part of the file: `records` records up to byte `len`, the last with `last_crc`.
    records: u64,
    len: u64,
    last_crc: u32,
    /// Bytes after `len` on disk (a torn final record), cut off before the next append.
    torn: u64,
    /// The watermark last read or written (`None`: the file does not exist yet).
    mark: Option<Watermark>,
    /// Set by a failed write or sync: what is on disk past `len` is unknown, and a failed
    /// `fdatasync` cannot be retried safely, so nothing more is written until a restart.
    poisoned: bool,
    /// [`LOG_LIMIT_ENV`]: fail with ENOSPC past this many bytes.
    limit: Option<u64>,
    buf: Vec<u8>,
}

impl<T: Durable> RecordLog<T> {
    /// Reads back the log `name` in `dir` (a missing file is an empty log), changing nothing on
    /// disk, so it is safe while a node writes it: the log must hold every record its watermark
    /// counts, intact; after them, a record cut short or failing its checksum was never
    /// acknowledged and is dropped, with all after it (`dropped`).
    pub fn open(dir: &Path, name: &str) -> Result<RecordLog<T>, StorageError> {
        let path = dir.join(name);
        let replayed = match fs::read(&path) {
            Ok(bytes) => Some(decode_log(&path, &bytes)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(StorageError::Io { path, source }),
        };
        let mut log = RecordLog {
            path,
            dir: dir.to_owned(),
            file: None,
            saved: None,
            records: 0,
            len: 0,
            last_crc: 0,
            torn: 0,
            mark: None,
            poisoned: false,
            limit: None,
            buf: Vec::new(),
        };
        if let Some(r) = replayed {
            (log.saved, log.records, log.len, log.last_crc) = (r.state, r.records, r.len, r.last_crc);
            (log.torn, log.mark) = (r.dropped, Some(r.mark));
        }
        Ok(log)
    }

    /// A node's open: [`Self::open`], refusing a missing log if the node has run before
    /// (`ran_before`: the file that shows it, e.g. its epoch); then it creates the log if it is
    /// missing, cuts a torn final record off it durably (a warning names the file and the bytes
    /// dropped) and counts intact records past the watermark, before anything is appended.
    pub fn recover(
        dir: &Path,
        name: &str,
        ran_before: Option<&Path>,
    ) -> Result<(RecordLog<T>, Recovery), StorageError> {
        fs::create_dir_all(dir).map_err(|source| StorageError::Io { path: dir.to_owned(), source })?;
        let mut log = RecordLog::open(dir, name)?;
        if let (None, Some(evidence)) = (log.mark, ran_before) {
            return Err(StorageError::Missing { path: log.path, evidence: evidence.to_owned() });
        }
        log.limit = std::env::var(LOG_LIMIT_ENV).ok().and_then(|v| v.parse().ok());
        let recovery = Recovery {
            dropped: log.torn,
            adopted: log.mark.map_or(0, |m| log.records.saturating_sub(m.records)),
            created: log.mark.is_none(),
        };
        log.prepare()?;
        Ok((log, recovery))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was saved last (recovered on open).
    pub fn saved(&self) -> Option<&T> {
        self.saved.as_ref()
    }

    /// Bytes after the good records, dropped on open (a torn, never-acknowledged record).
    pub fn dropped(&self) -> u64 {
        self.torn
    }

    /// Makes the file ready to append: it exists and is open, holds nothing after its good
    /// records, and its watermark counts them all, durably. Idempotent.
    fn prepare(&mut self) -> Result<(), StorageError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StorageError::Io { path, source }
        };
        if self.mark.is_none() {
            // The head written whole and renamed into place, so that the file is absent or has
            // its head: a node creates it once, before its first epoch.
            let mut head = vec![0u8; RECORDS_AT as usize];
            head[..4].copy_from_slice(&LOG_MAGIC);
            head[4..6].copy_from_slice(&LOG_VERSION.to_le_bytes());
            let mark = Watermark::EMPTY;
            let at = mark.slot_at() as usize;
            head[at..at + SLOT_LEN].copy_from_slice(&mark.encode());
            let mut tmp = self.path.as_os_str().to_owned();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(&head).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
            drop(f);
            fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
            sync_dir(&self.dir)?;
            (self.mark, self.len) = (Some(mark), RECORDS_AT);
        }
        if self.file.is_none() {
            let f = OpenOptions::new().read(true).write(true).open(&self.path).map_err(io(&self.path))?;
            self.file = Some(f);
        }
        let Some(f) = self.file.as_ref() else { return Ok(()) };
        if self.torn > 0 {
            f.set_len(self.len).map_err(io(&self.path))?;
            f.sync_all().map_err(io(&self.path))?;
            tracing::warn!(
                path = %self.path.display(),
                dropped_bytes = self.torn,
                kept_bytes = self.len,
                "dropped a torn final record that was never acknowledged (past the watermark)"
            );
            self.torn = 0;
        }
        if self.mark.is_some_and(|m| m.records < self.records) {
            self.write_mark()?;
            if let Some(f) = self.file.as_ref() {
                f.sync_data().map_err(io(&self.path))?;
            }
        }
        Ok(())
    }

    /// Makes `value` the saved state: appends its changes and syncs, then advances the watermark
    /// (made durable by the next save's sync). On disk when this returns. After an error nothing
    /// more is written (every later save fails too): the node must stop; its restart recovers.
    pub fn save(&mut self, value: &T) -> Result<(), StorageError> {
        if self.poisoned {
            return Err(StorageError::Poisoned { path: self.path.clone() });
        }
        let changes = value.changes_from(self.saved.as_ref());
        if changes.is_empty() {
            return Ok(());
        }
        self.prepare()?;
        self.buf.clear();
        // One record per save, so that every record boundary is a state that was saved.
        let payload =
            postcard::to_stdvec(&changes).map_err(|source| StorageError::Encode { path: self.path.clone(), source })?;
        let crc = push_record(&mut self.buf, &payload);
        self.poisoned = true;
        self.append(crc)?;
        self.poisoned = false;
        self.saved = Some(value.clone());
        Ok(())
    }

    /// Writes `self.buf` at `self.len` and syncs it, then the watermark.
    fn append(&mut self, crc: u32) -> Result<(), StorageError> {
        use std::os::unix::fs::FileExt;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StorageError::Io { path, source }
        };
        let Some(f) = self.file.as_ref() else { return Err(StorageError::Poisoned { path: self.path.clone() }) };
        let end = self.len + self.buf.len() as u64;
        match self.limit {
            Some(limit) if end > limit => {
                let fits = (limit.saturating_sub(self.len) as usize).min(self.buf.len());
                f.write_all_at(&self.buf[..fits], self.len).map_err(io(&self.path))?;
                let source = io::Error::from_raw_os_error(libc::ENOSPC);
                return Err(StorageError::Io { path: self.path.clone(), source });
            }
            // One write per save: a kill -9 cannot leave half a record behind it.
            _ => f.write_all_at(&self.buf, self.len).map_err(io(&self.path))?,
        }
        f.sync_data().map_err(io(&self.path))?;
        (self.len, self.records, self.last_crc) = (end, self.records + 1, crc);
        self.write_mark()
    }

    /// Writes the watermark of the good records in place, in the slot the previous one did not
    /// use: a torn write leaves the other slot, one save older. Not synced: on a crash of the
    /// process the page cache keeps it; the next save's `fdatasync` makes it durable.
    fn write_mark(&mut self) -> Result<(), StorageError> {
        use std::os::unix::fs::FileExt;
        let Some(f) = self.file.as_ref() else { return Err(StorageError::Poisoned { path: self.path.clone() }) };
        let seq = self.mark.map_or(0, |m| m.seq) + 1;
        let mark = Watermark { seq, records: self.records, bytes: self.len, last_crc: self.last_crc };
        f.write_all_at(&mark.encode(), mark.slot_at())
            .map_err(|source| StorageError::Io { path: self.path.clone(), source })?;
        self.mark = Some(mark);
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let io = |source| StorageError::Io { path: dir.to_owned(), source };
    OpenOptions::new().read(true).open(dir).map_err(io)?.sync_all().map_err(io)
}

/// Appends one record; returns its checksum.
fn push_record(out: &mut Vec<u8>, payload: &[u8]) -> u32 {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    let crc = crc.finalize();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    crc
}

/// The bytes of a log that saves `value` at once, its watermark counting that record (for
/// tests and tools).
pub fn encode_log<T: Durable>(path: &Path, value: &T) -> Result<Vec<u8>, StorageError> {
    let mut out = vec![0u8; RECORDS_AT as usize];
    out[..4].copy_from_slice(&LOG_MAGIC);
    out[4..6].copy_from_slice(&LOG_VERSION.to_le_bytes());
    let payload = postcard::to_stdvec(&value.changes_from(None))
        .map_err(|source| StorageError::Encode { path: path.to_owned(), source })?;
    let last_crc = push_record(&mut out, &payload);
    let mark = Watermark { seq: 1, records: 1, bytes: out.len() as u64, last_crc };
    let at = mark.slot_at() as usize;
    out[at..at + SLOT_LEN].copy_from_slice(&mark.encode());
    Ok(out)
}

/// The byte offsets where the records of a log end (a cut there leaves whole records), as far as
/// its length fields can be followed; for tests and tools.
pub fn record_ends(log: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = RECORDS_AT as usize;
    while let Some(head) = log.get(at..at + RECORD_HEADER) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        at = (at + RECORD_HEADER).saturating_add(len);
        if at > log.len() {
            break;
        }
        ends.push(at);
    }
    ends
}

/// Checks and replays a log read from `path` against the watermark in its head (see
/// [`RecordLog::open`] for the rules).
pub fn decode_log<T: Durable>(path: &Path, bytes: &[u8]) -> Result<Replayed<T>, StorageError> {
    check_header(path, bytes, LOG_MAGIC, LOG_HEADER, LOG_VERSION)?;
    if (bytes.len() as u64) < RECORDS_AT {
        return Err(StorageError::Truncated {
            path: path.to_owned(),
            expected: RECORDS_AT as usize,
            found: bytes.len(),
        });
    }
    let mark = Watermark::read(bytes).ok_or_else(|| StorageError::AckCorrupt { path: path.to_owned() })?;
    decode_with(path, bytes, mark)
}

/// [`decode_log`] against watermark `mark`.
pub fn decode_with<T: Durable>(path: &Path, bytes: &[u8], mark: Watermark) -> Result<Replayed<T>, StorageError> {
    let p = || path.to_owned();
    let total = bytes.len() as u64;
    if total < mark.bytes {
        return Err(StorageError::Shorter { path: p(), found: total, records: mark.records, bytes: mark.bytes });
    }
    let mismatch = |why: String| StorageError::AckMismatch { path: p(), why };
    let mut out = Replayed { state: None, records: 0, len: RECORDS_AT, last_crc: 0, mark, dropped: 0 };
    let mut at = RECORDS_AT as usize;
    while at < bytes.len() {
        let (end, crc, payload) = match check_record(path, bytes, at) {
            Ok(r) => r,
            // Past the watermark: never acknowledged; torn by a crash or a full disk.
            Err(_) if at as u64 >= mark.bytes => {
                out.dropped = total - at as u64;
                break;
            }
            Err(e) => return Err(e),
        };
        let changes: Vec<T::Change> =
            postcard::from_bytes(payload).map_err(|source| StorageError::Decode { path: p(), source })?;
        for change in changes {
            out.state =
                Some(T::apply(out.state, change).map_err(|why| StorageError::Replay { path: p(), offset: at, why })?);
        }
        (out.records, out.last_crc, out.len) = (out.records + 1, crc, end as u64);
        if (at as u64) < mark.bytes && end as u64 > mark.bytes {
            return Err(mismatch(format!("no record ends at byte {} (one spans {at}..{end})", mark.bytes)));
        }
        if end as u64 == mark.bytes && (out.records, crc) != (mark.records, mark.last_crc) {
            return Err(mismatch(format!(
                "the record ending at byte {end} is record {} with checksum {crc:#010x}, the watermark counts {} ending with {:#010x}",
                out.records, mark.records, mark.last_crc
            )));
        }
        at = end;
    }
    if out.records < mark.records {
        return Err(mismatch(format!("it has {} records, the watermark counts {}", out.records, mark.records)));
    }
    Ok(out)
}

/// The record at byte `at`: where it ends, its checksum and its payload; an error if it is cut
/// short or fails its checksum.
fn check_record<'a>(path: &Path, bytes: &'a [u8], at: usize) -> Result<(usize, u32, &'a [u8]), StorageError> {
    let p = || path.to_owned();
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
        return Err(StorageError::Checksum { path: p(), offset: at, stored, computed });
    }
    Ok((end, stored, payload))
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

/// Paxos: each record is the whole (small) state; the last one wins. (PBFT's replicas keep
/// nothing: `()`, never saved.)
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
whole_state_durable!(crate::paxos::actor::PaxosStorage, u8, u64, ());

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

    /// Two saves; returns the log, the file's bytes, where the first record ends and the
    /// watermark after the first save.
    fn two_saves(dir: &Path) -> (RecordLog<R>, Vec<u8>, usize, Watermark) {
        let mut log = RecordLog::open(dir, "state").unwrap();
        log.save(&raft(3, Some(1), &[(1, "q")])).unwrap();
        let after_one = fs::read(log.path()).unwrap();
        let first = Watermark::read(&after_one).unwrap();
        assert_eq!((first.records, first.bytes), (1, after_one.len() as u64));
        log.save(&raft(3, Some(1), &[(1, "q"), (3, "r")])).unwrap();
        let good = fs::read(log.path()).unwrap();
        (log, good, after_one.len(), first)
    }

    type R = crate::raft::RaftStorage;

    /// Every cut is refused (the watermark counts both records); every bit flip in a record or
    /// in the header is refused; one in a watermark slot or the head's padding is not, and
    /// changes nothing: the other slot counts, and both records are intact.
    #[test]
    fn every_cut_and_every_bit_flip_of_a_record_of_the_log_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (log, good, _, _) = two_saves(dir.path());
        let path = log.path().to_owned();
        let all = Watermark::read(&good).unwrap();
        assert_eq!((all.records, all.bytes), (2, good.len() as u64));
        for cut in 0..good.len() {
            let e = decode_log::<R>(&path, &good[..cut]).unwrap_err();
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            assert!(e.to_string().contains("truncated") || e.to_string().contains("magic"), "{cut}: {e}");
        }
        for byte in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                let r = decode_log::<R>(&path, &bad);
                if byte < LOG_HEADER || byte >= RECORDS_AT as usize {
                    assert!(r.is_err(), "flip {byte}.{bit} accepted");
                } else {
                    let r = r.unwrap_or_else(|e| panic!("flip {byte}.{bit} in the head: {e}"));
                    assert_eq!((r.state.as_ref(), r.dropped), (log.saved(), 0), "flip {byte}.{bit}");
                }
            }
        }
    }

    /// Against the watermark of the first of two saves (what a power cut can leave: the second
    /// save's watermark was not synced yet): every cut or bit flip in the first record is
    /// refused; in the second it is dropped and the first state recovered; a cut at the record
    /// boundary reads as the first state (the limit of a watermark one save behind).
    #[test]
    fn past_the_watermark_a_torn_or_corrupt_record_is_dropped_and_at_or_below_it_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (log, good, one, first) = two_saves(dir.path());
        let path = log.path().to_owned();
        let state1 = raft(3, Some(1), &[(1, "q")]);
        for cut in RECORDS_AT as usize..=good.len() {
            let r = decode_with::<R>(&path, &good[..cut], first);
            if cut < one {
                let e = r.unwrap_err();
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
                assert!(e.to_string().contains("truncated") && e.to_string().contains("acknowledged"), "{cut}: {e}");
            } else if cut < good.len() {
                let r = r.unwrap();
                assert_eq!((r.state.as_ref(), r.len, r.dropped), (Some(&state1), one as u64, (cut - one) as u64));
            } else {
                assert_eq!(r.unwrap().state.as_ref(), log.saved());
            }
        }
        for byte in RECORDS_AT as usize..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                let r = decode_with::<R>(&path, &bad, first);
                if byte < one {
                    assert!(r.is_err(), "flip {byte}.{bit} at or below the watermark accepted");
                } else {
                    let r = r.unwrap_or_else(|e| panic!("flip {byte}.{bit} past the watermark: {e}"));
                    assert_eq!((r.state.as_ref(), r.dropped), (Some(&state1), (good.len() - one) as u64));
                }
            }
        }
    }

    #[test]
    fn a_deleted_shortened_or_replaced_log_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (log, good, one, _) = two_saves(dir.path());
        let path = log.path().display().to_string();
        drop(log);
        let state = dir.path().join("state");
        fs::write(&state, &good[..one]).unwrap();
        let e = RecordLog::<R>::open(dir.path(), "state").err().unwrap();
        assert!(matches!(e, StorageError::Shorter { records: 2, .. }), "{e}");
        assert!(e.to_string().contains(&path) && e.to_string().contains("acknowledged"), "{e}");
        // Deleted: refused once the node has run before; without that evidence, a new log.
        fs::remove_file(&state).unwrap();
        let epoch = dir.path().join("epoch");
        let e = RecordLog::<R>::recover(dir.path(), "state", Some(&epoch)).err().unwrap();
        assert!(matches!(e, StorageError::Missing { .. }), "{e}");
        assert!(e.to_string().contains(&path) && e.to_string().contains(&epoch.display().to_string()), "{e}");
        assert!(!state.exists(), "a refused recovery creates nothing");
        // Another log of the same length under this head: its last record is not the counted one.
        let other = tempfile::tempdir().unwrap();
        let mut log = RecordLog::open(other.path(), "state").unwrap();
        log.save(&raft(3, Some(1), &[(1, "q")])).unwrap();
        log.save(&raft(3, Some(1), &[(1, "q"), (3, "s")])).unwrap();
        let mut replaced = good[..RECORDS_AT as usize].to_vec();
        replaced.extend_from_slice(&fs::read(log.path()).unwrap()[RECORDS_AT as usize..]);
        assert_eq!(replaced.len(), good.len());
        let e = decode_log::<R>(Path::new(&path), &replaced).unwrap_err();
        assert!(matches!(e, StorageError::AckMismatch { .. }), "{e}");
        assert!(e.to_string().contains(&path) && e.to_string().contains("checksum"), "{e}");
    }

    #[test]
    fn a_torn_watermark_slot_falls_back_to_the_older_one_and_a_torn_record_is_cut_off_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _, _, _) = two_saves(dir.path());
        let state3 = raft(4, None, &[(1, "q"), (3, "r")]);
        log.save(&state3).unwrap();
        drop(log);
        let state = dir.path().join("state");
        let mut bytes = fs::read(&state).unwrap();
        let newest = Watermark::read(&bytes).unwrap();
        assert_eq!((newest.seq, newest.records), (3, 3));
        // The newest slot half written: the older one counts, and the intact third record is kept.
        let at = newest.slot_at() as usize;
        bytes[at + 10..at + SLOT_LEN].fill(0);
        assert_eq!(Watermark::read(&bytes).map(|m| m.records), Some(2));
        let good_len = bytes.len();
        // … and a fourth record torn by a crash in its write.
        let mut torn = Vec::new();
        push_record(&mut torn, &[7u8; 40]);
        bytes.extend_from_slice(&torn[..20]);
        fs::write(&state, &bytes).unwrap();
        let (mut log, recovery) = RecordLog::<R>::recover(dir.path(), "state", None).unwrap();
        assert_eq!(recovery, Recovery { dropped: 20, adopted: 1, created: false });
        assert_eq!(log.saved(), Some(&state3));
        let bytes = fs::read(&state).unwrap();
        assert_eq!(bytes.len(), good_len, "cut off before any append");
        assert_eq!(Watermark::read(&bytes).map(|m| m.records), Some(3), "the intact record is counted");
        let state4 = raft(4, Some(2), &[(1, "q"), (3, "r")]);
        log.save(&state4).unwrap();
        drop(log);
        let reopened = RecordLog::<R>::open(dir.path(), "state").unwrap();
        assert_eq!((reopened.saved(), reopened.dropped()), (Some(&state4), 0));
        let bytes = fs::read(&state).unwrap();
        let mark = Watermark::read(&bytes).unwrap();
        assert_eq!((mark.records, mark.bytes), (4, bytes.len() as u64));
    }

    #[test]
    fn a_failed_write_poisons_the_log_and_a_restart_drops_the_half_written_record() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, recovery) = RecordLog::recover(dir.path(), "state", None).unwrap();
        assert_eq!(recovery, Recovery { dropped: 0, adopted: 0, created: true });
        let state1 = raft(1, Some(0), &[(1, "a")]);
        log.save(&state1).unwrap();
        let len = fs::metadata(log.path()).unwrap().len();
        log.limit = Some(len + 5); // a full disk after 5 more bytes
        let e = log.save(&raft(1, Some(0), &[(1, "a"), (1, "b")])).unwrap_err();
        assert!(matches!(&e, StorageError::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC)), "{e}");
        assert_eq!(fs::metadata(log.path()).unwrap().len(), len + 5, "half a record on disk");
        assert_eq!(log.saved(), Some(&state1), "the failed save is not the saved state");
        log.limit = None;
        let e = log.save(&raft(2, None, &[(1, "a")])).unwrap_err();
        assert!(matches!(e, StorageError::Poisoned { .. }), "{e}");
        drop(log);
        let (mut log, recovery) = RecordLog::<R>::recover(dir.path(), "state", None).unwrap();
        assert_eq!((recovery.dropped, log.saved()), (5, Some(&state1)));
        let state2 = raft(1, Some(0), &[(1, "a"), (1, "c")]);
        log.save(&state2).unwrap();
        drop(log);
        assert_eq!(RecordLog::open(dir.path(), "state").unwrap().saved(), Some(&state2));
    }

    #[test]
    fn a_watermark_slot_round_trips_and_every_bit_flip_makes_it_unreadable() {
        let m = Watermark { seq: 9, records: 7, bytes: 1234, last_crc: 0xdead_beef };
        let slot = m.encode();
        assert_eq!(Watermark::decode(&slot), Some(m));
        for byte in 0..SLOT_LEN {
            for bit in 0..8 {
                let mut bad = slot;
                bad[byte] ^= 1 << bit;
                assert_eq!(Watermark::decode(&bad), None, "flip {byte}.{bit}");
            }
        }
        assert_eq!(Watermark::read(&[]), None);
    }

    #[test]
    fn a_record_that_does_not_fit_the_state_before_it_is_an_error() {
        let path = Path::new("/data/state");
        let mut bytes = encode_log(path, &raft(1, None, &[])).unwrap();
        bytes.truncate(RECORDS_AT as usize);
        let change = vec![RaftChange::Entries { keep: 5, entries: Vec::new() }];
        push_record(&mut bytes, &postcard::to_stdvec(&change).unwrap());
        let e = decode_with::<R>(path, &bytes, Watermark::EMPTY).unwrap_err();
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
