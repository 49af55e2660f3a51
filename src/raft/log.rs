//! The replicated log: entries `(index, term, data)` as in the notes, with index 1 first. The
//! rules that read or change a log are here, each as one function.

use super::{Bug, BugSet, Index, Key, Op, OpKind, Term, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One log entry: the term of the leader that created it, and the client's operation. Its index is
/// its position in the log (1-based).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub term: Term,
    pub op: Op,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}:{:?}", self.term, self.op)
    }
}

/// How many entries a sealed chunk of a [`Log`] holds.
pub const CHUNK: usize = 64;

/// A server's log, stored so that cloning it and changing its end are cheap however long it is.
///
/// Every step clones the server's state (to tell a step that changed nothing, and to decide what
/// to save), so the log is shared between the state before and the state after a step. A plain
/// `Vec` (even shared with copy on write) is copied whole when the step appends, which made a
/// real cluster's work per write grow with its log. Here the entries are full chunks of
/// [`CHUNK`] entries, each shared (`Arc`) and never changed once sealed, followed by a tail of
/// fewer than [`CHUNK`] entries, shared until changed (copy on write). Appending copies at most
/// the tail and the list of chunk pointers; two logs that share chunks compare in one pointer
/// test per chunk. The chunking is canonical (it depends only on the length), so two equal logs
/// have the same chunk boundaries.
///
/// A log compares, orders, hashes and serialises exactly as the `Vec` of its entries would: the
/// model's state counts, the wire format and the storage format do not depend on the chunking.
/// The model's logs (a few entries) never fill a chunk.
#[derive(Clone, Default)]
pub struct Log {
    chunks: std::sync::Arc<Vec<std::sync::Arc<[Entry]>>>,
    tail: std::sync::Arc<Vec<Entry>>,
}

impl Log {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.chunks.len() * CHUNK + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_empty()
    }

    /// The entry at 0-based position `at`.
    pub fn get(&self, at: usize) -> Option<&Entry> {
        match self.chunks.get(at / CHUNK) {
            Some(chunk) => chunk.get(at % CHUNK),
            None => self.tail.get(at - self.chunks.len() * CHUNK),
        }
    }

    pub fn last(&self) -> Option<&Entry> {
        self.tail.last().or_else(|| self.chunks.last().and_then(|c| c.last()))
    }

    /// The entries in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + Clone + '_ {
        self.chunks.iter().flat_map(|c| c.iter()).chain(self.tail.iter())
    }

    /// The entries from 0-based position `from` on (none if `from` is past the end).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &Entry> + '_ {
        let first = (from / CHUNK).min(self.chunks.len());
        let skip = from - first * CHUNK;
        self.chunks[first..].iter().flat_map(|c| c.iter()).chain(self.tail.iter()).skip(skip)
    }

    /// The 0-based position of the first entry that satisfies `pred`. A plain loop over each
    /// chunk's slice: a leader runs it over its whole log for every client request.
    pub fn position(&self, mut pred: impl FnMut(&Entry) -> bool) -> Option<usize> {
        for (c, chunk) in self.chunks.iter().enumerate() {
            if let Some(k) = chunk.iter().position(&mut pred) {
                return Some(c * CHUNK + k);
            }
        }
        self.tail.iter().position(pred).map(|k| self.chunks.len() * CHUNK + k)
    }

    /// The entries as a `Vec`.
    pub fn to_vec(&self) -> Vec<Entry> {
        self.iter().cloned().collect()
    }

    /// Appends one entry.
    pub fn push(&mut self, e: Entry) {
        let tail = std::sync::Arc::make_mut(&mut self.tail);
        tail.push(e);
        if tail.len() == CHUNK {
            let full: std::sync::Arc<[Entry]> = std::mem::take(tail).into();
            std::sync::Arc::make_mut(&mut self.chunks).push(full);
        }
    }

    pub fn extend_from_slice(&mut self, entries: &[Entry]) {
        for e in entries {
            self.push(e.clone());
        }
    }

    /// Keeps the first `len` entries (nothing happens if the log is not longer).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let full = len / CHUNK;
        if full < self.chunks.len() {
            // The cut falls inside a sealed chunk: it becomes the tail, cut.
            let chunks = std::sync::Arc::make_mut(&mut self.chunks);
            let cut = chunks[full][..len % CHUNK].to_vec();
            chunks.truncate(full);
            self.tail = std::sync::Arc::new(cut);
        } else {
            std::sync::Arc::make_mut(&mut self.tail).truncate(len - full * CHUNK);
        }
    }

    /// Whether the log begins with all of `prefix`'s entries.
    pub fn starts_with(&self, prefix: &Log) -> bool {
        prefix.len() <= self.len() && self.common_prefix(prefix) == prefix.len()
    }

    /// The length of the longest common prefix of two logs. Chunks shared by both count at once.
    pub fn common_prefix(&self, other: &Log) -> usize {
        let mut n = 0;
        for (a, b) in self.chunks.iter().zip(other.chunks.iter()) {
            if std::sync::Arc::ptr_eq(a, b) || a == b {
                n += CHUNK;
            } else {
                return n + a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
            }
        }
        n + self.iter_from(n).zip(other.iter_from(n)).take_while(|(x, y)| x == y).count()
    }
}

impl PartialEq for Log {
    fn eq(&self, other: &Log) -> bool {
        self.len() == other.len() && self.common_prefix(other) == self.len()
    }
}

impl Eq for Log {}

impl PartialOrd for Log {
    fn partial_cmp(&self, other: &Log) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Log {
    /// Lexicographic, as a `Vec`'s.
    fn cmp(&self, other: &Log) -> std::cmp::Ordering {
        let n = self.common_prefix(other);
        match (self.get(n), other.get(n)) {
            (Some(a), Some(b)) => a.cmp(b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        }
    }
}

impl std::hash::Hash for Log {
    /// As a `Vec`'s (its length, then each entry), so that hashes do not depend on the chunking.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_usize(self.len());
        for e in self.iter() {
            e.hash(h);
        }
    }
}

impl Serialize for Log {
    /// As a sequence of entries (the format of a `Vec<Entry>`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for e in self.iter() {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Log {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Log, D::Error> {
        Vec::<Entry>::deserialize(d).map(Log::from)
    }
}

impl From<Vec<Entry>> for Log {
    fn from(v: Vec<Entry>) -> Log {
        v.into_iter().collect()
    }
}

impl FromIterator<Entry> for Log {
    fn from_iter<I: IntoIterator<Item = Entry>>(iter: I) -> Log {
        let mut log = Log::default();
        for e in iter {
            log.push(e);
        }
        log
    }
}

impl Extend<Entry> for Log {
    fn extend<I: IntoIterator<Item = Entry>>(&mut self, iter: I) {
        for e in iter {
            self.push(e);
        }
    }
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The 0-based position in a `Vec` of the entry at `index` + 1, i.e. `index` as a length
/// (saturating: an index beyond `usize` is beyond any log).
pub fn pos(index: Index) -> usize {
    usize::try_from(index).unwrap_or(usize::MAX)
}

/// A length (of a log or of a list of entries) as an index.
pub fn len_index(len: usize) -> Index {
    Index::try_from(len).unwrap_or(Index::MAX)
}

/// The index of the last entry (0 for an empty log).
pub fn last_index(log: &Log) -> Index {
    len_index(log.len())
}

/// The term of the last entry (0 for an empty log).
pub fn last_term(log: &Log) -> Term {
    log.last().map_or(0, |e| e.term)
}

/// The term of the entry at `index`; index 0 ("before the first entry") has term 0.
pub fn term_at(log: &Log, index: Index) -> Option<Term> {
    match index {
        0 => Some(0),
        i => log.get(pos(i) - 1).map(|e| e.term),
    }
}

/// The entry at `index` (1-based).
pub fn entry_at(log: &Log, index: Index) -> Option<&Entry> {
    pos(index).checked_sub(1).and_then(|i| log.get(i))
}

/// Where a log ends: the index and term of its last entry (0 and 0 for an empty log). The
/// vote-denial rule compares two of these; as a type, the voter's and the candidate's cannot be
/// swapped with each other, nor an index with a term, as four bare integers could.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastEntry {
    pub index: Index,
    pub term: Term,
}

impl LastEntry {
    /// The last entry of `log`.
    pub fn of(log: &Log) -> LastEntry {
        LastEntry { index: last_index(log), term: last_term(log) }
    }
}

/// The notes' vote-denial rule ("log coherency": deny votes if the candidate has a less complete
/// log; Raft §5.4.1): voter v denies candidate c when `(t_v > t_c) or (t_v = t_c and i_v > i_c)`,
/// with t and i the term and index of each one's last entry.
pub fn deny_vote(voter: LastEntry, candidate: LastEntry) -> bool {
    voter.term > candidate.term || (voter.term == candidate.term && voter.index > candidate.index)
}

/// Figure 2, AppendEntries step 2 (the consistency check, Raft §5.3): reply false if the log does
/// not contain an entry at `prev_index` whose term matches `prev_term`.
pub fn matches(log: &Log, prev_index: Index, prev_term: Term) -> bool {
    term_at(log, prev_index) == Some(prev_term)
}

/// Figure 2, AppendEntries steps 3–4, after the consistency check passed: if an existing entry
/// conflicts with a new one (same index, different terms), delete it and all that follow; append
/// any new entries not already in the log. Entries that already match are kept, so a stale or
/// duplicated AppendEntries never shortens the log. Returns whether the log changed.
pub fn append_after(log: &mut Log, prev_index: Index, entries: &[Entry], bugs: BugSet) -> bool {
    if bugs.has(Bug::TruncateOnStaleAppend) {
        // The bug: "make the log equal to the leader's from prev_index on" — which also removes
        // matching entries past those sent, e.g. committed ones, on a stale or duplicate message.
        let before = log.clone();
        log.truncate(pos(prev_index));
        log.extend_from_slice(entries);
        return *log != before;
    }
    let mut changed = false;
    for (k, e) in entries.iter().enumerate() {
        let at = pos(prev_index).saturating_add(k); // 0-based position of index prev_index + k + 1
        match log.get(at) {
            Some(existing) if existing.term == e.term => {}
            Some(_) => {
                log.truncate(at);
                log.push(e.clone());
                changed = true;
            }
            None => {
                log.push(e.clone());
                changed = true;
            }
        }
    }
    changed
}

/// Whether [`append_after`] would change the log, without changing it (for the model's
/// dead-message rule, which asks this of every AppendEntries in flight).
pub fn append_changes(log: &Log, prev_index: Index, entries: &[Entry], bugs: BugSet) -> bool {
    let from = pos(prev_index);
    if bugs.has(Bug::TruncateOnStaleAppend) {
        return match from <= log.len() {
            true => !log.iter_from(from).eq(entries.iter()),
            false => !entries.is_empty(),
        };
    }
    entries.iter().enumerate().any(|(k, e)| log.get(from.saturating_add(k)).is_none_or(|x| x.term != e.term))
}

/// The state machine's Put rule: a Put sets its key to its value; a Get or a no-op sets nothing.
/// Returns the value `op` writes to `key`, if it writes that key.
pub fn writes<'a>(op: &'a Op, key: &Key) -> Option<&'a Value> {
    match &op.kind {
        OpKind::Put(k, v) if k == key => Some(v),
        OpKind::Put(..) | OpKind::Get(_) | OpKind::Noop => None,
    }
}

/// The state machine's Get rule: the value of `key` after applying the entries up to `index`,
/// i.e. the value the last Put of that key among them wrote (None if none did).
pub fn value_at(log: &Log, key: &Key, index: Index) -> Option<Value> {
    (0..pos(index).min(log.len())).rev().find_map(|at| writes(&log.get(at)?.op, key).cloned())
}
