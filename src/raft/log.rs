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

/// A server's log: a `Vec` of entries shared until changed (copy on write). Every step clones the
/// server's state (to tell a step that changed nothing); with a shared log that clone costs
/// nothing, and only a step that changes the log copies it. Compares, hashes and serialises as
/// the `Vec` it holds.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Log(std::sync::Arc<Vec<Entry>>);

impl std::ops::Deref for Log {
    type Target = Vec<Entry>;
    fn deref(&self) -> &Vec<Entry> {
        &self.0
    }
}

impl std::ops::DerefMut for Log {
    /// Copies the entries first if another state shares them.
    fn deref_mut(&mut self) -> &mut Vec<Entry> {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

impl From<Vec<Entry>> for Log {
    fn from(v: Vec<Entry>) -> Log {
        Log(std::sync::Arc::new(v))
    }
}

impl FromIterator<Entry> for Log {
    fn from_iter<I: IntoIterator<Item = Entry>>(iter: I) -> Log {
        Log::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
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
pub fn last_index(log: &[Entry]) -> Index {
    len_index(log.len())
}

/// The term of the last entry (0 for an empty log).
pub fn last_term(log: &[Entry]) -> Term {
    log.last().map_or(0, |e| e.term)
}

/// The term of the entry at `index`; index 0 ("before the first entry") has term 0.
pub fn term_at(log: &[Entry], index: Index) -> Option<Term> {
    match index {
        0 => Some(0),
        i => log.get(pos(i) - 1).map(|e| e.term),
    }
}

/// The entry at `index` (1-based).
pub fn entry_at(log: &[Entry], index: Index) -> Option<&Entry> {
    pos(index).checked_sub(1).and_then(|i| log.get(i))
}

/// The notes' vote-denial rule ("log coherency": deny votes if the candidate has a less complete
/// log; Raft §5.4.1): voter v denies candidate c when `(t_v > t_c) or (t_v = t_c and i_v > i_c)`,
/// with t and i the term and index of each one's last entry.
pub fn deny_vote(voter_last_term: Term, voter_last_index: Index, cand_last_term: Term, cand_last_index: Index) -> bool {
    voter_last_term > cand_last_term || (voter_last_term == cand_last_term && voter_last_index > cand_last_index)
}

/// Figure 2, AppendEntries step 2 (the consistency check, Raft §5.3): reply false if the log does
/// not contain an entry at `prev_index` whose term matches `prev_term`.
pub fn matches(log: &[Entry], prev_index: Index, prev_term: Term) -> bool {
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
pub fn append_changes(log: &[Entry], prev_index: Index, entries: &[Entry], bugs: BugSet) -> bool {
    let from = pos(prev_index);
    if bugs.has(Bug::TruncateOnStaleAppend) {
        return match log.get(from..) {
            Some(tail) => tail != entries,
            None => !entries.is_empty(),
        };
    }
    entries.iter().enumerate().any(|(k, e)| log.get(from.saturating_add(k)).is_none_or(|x| x.term != e.term))
}

/// Whether the log already holds the operation (a leader appends each client request once:
/// clients retry, and the network duplicates).
pub fn contains_op(log: &[Entry], op: &Op) -> bool {
    log.iter().any(|e| e.op == *op)
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
pub fn value_at(log: &[Entry], key: &Key, index: Index) -> Option<Value> {
    log.iter().take(pos(index)).rev().find_map(|e| writes(&e.op, key).cloned())
}
