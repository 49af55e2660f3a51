//! Durable storage for an actor's `Storage`: one file, replaced atomically on every save.
//!
//! A save writes `NAME.tmp`, fsyncs it, renames it over `NAME` and fsyncs the directory, so that
//! after a crash at any point the file holds either the old or the new record, never a mix, and a
//! rename that returned is on disk. The protocols save their whole persistent state each time
//! (Raft: term, vote and log; Paxos: promise and vote), which is small here (Raft's log holds at
//! most 255 entries), so a whole-file replace is simpler than an append-only log and needs no
//! compaction.
//!
//! Record layout: `MAGIC` (4 bytes), format version (u16 LE), payload length (u32 LE), CRC-32 of
//! the payload (u32 LE), then the postcard-encoded payload. Any mismatch is an error naming the
//! file: a node must never silently start from empty state after losing what it promised.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: [u8; 4] = *b"QRM1";
pub const VERSION: u16 = 1;
const HEADER: usize = 4 + 2 + 4 + 4;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("storage file {path} is corrupted: it does not start with the quorum magic bytes")]
    BadMagic { path: PathBuf },
    #[error("storage file {path} has format version {found}, this build reads version {VERSION}")]
    Version { path: PathBuf, found: u16 },
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

/// Checks and decodes a record read from `path`.
pub fn decode<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StorageError> {
    let path = || path.to_owned();
    if bytes.len() < HEADER {
        if !MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
            return Err(StorageError::BadMagic { path: path() });
        }
        return Err(StorageError::Truncated { path: path(), expected: HEADER, found: bytes.len() });
    }
    if bytes[..4] != MAGIC {
        return Err(StorageError::BadMagic { path: path() });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(StorageError::Version { path: path(), found: version });
    }
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
}
