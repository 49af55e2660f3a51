//! The Raft bug zoo: classic mistakes, each planted behind one `if bugs.has(..)` at the line it
//! corrupts, off by default. Each names the property that must catch it; `models/raft.rs` asserts
//! that the checker does.

use super::model::property::*;
use crate::bugs::PlantedBug;
use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Bug {
    /// Leader commits an entry of an earlier term once a majority stores it (Figure 8).
    Figure8Commit,
    /// Voter grants its vote without the up-to-date check.
    VoteWithoutLogCheck,
    /// Current term and vote are not saved; a restart forgets them (Stateright's examples/raft.rs).
    TermNotPersisted,
    /// Candidate counts every vote message, so a duplicated vote counts twice.
    CountDuplicateVotes,
    /// Leader takes a success response as acknowledging its whole log, which may have grown since
    /// the AppendEntries it answers was sent.
    StaleAppendResponse,
    /// Follower truncates its log after `prev_index` on every AppendEntries, also a stale one.
    TruncateOnStaleAppend,
    /// Follower takes the leader's commit index before the consistency check verified anything.
    FollowerCommitPastPrefix,
    /// Leader does not step down when it sees a higher term.
    LeaderKeepsLeading,
    /// Follower acknowledges entries before saving them.
    LogNotPersisted,
    /// Follower appends entries without the consistency check.
    NoConsistencyCheck,
    /// Leader answers a Get from its own log, without committing a read entry.
    StaleRead,
    /// Leader never sends heartbeats: entries after its first message are never replicated.
    /// Defined for heartbeat-driven replication (the model's default, which `bug_config` keeps):
    /// with eager replication on, requests and acknowledgements carry entries without heartbeats,
    /// so this mistake no longer stops commits (the reason a real leader needs heartbeats then is
    /// lost messages and followers' election timers, which no-crash, no-loss bounds do not show).
    NoHeartbeat,
    /// Leader that writes its log in parallel with replicating it counts its own copy before it
    /// is on disk.
    LeaderCountsUnsavedLog,
    /// Candidate counts a vote whatever candidate it names: the old wire format, whose header did
    /// not name the receiver, with a vote that did not name its candidate. Checked with the
    /// redirecting adversary on (`RaftModelCfg::redirects`).
    UnboundHeader,
    /// Server that receives a pre-vote takes the term it proposes as a term it has seen, and
    /// moves to it. Checked with pre-vote on (`RaftModelCfg::pre_vote`).
    PreVoteRaisesTerm,
    /// Server that hears from its leader still answers vote requests: the lease of check-quorum
    /// ignored. Checked with check-quorum on (`RaftModelCfg::check_quorum`).
    VoteInLease,
    /// Leader's quorum check counts a follower it sent a heartbeat to as heard from, so a leader
    /// cut off from its majority stays leader. Checked with check-quorum on.
    CheckQuorumCountsSends,
    /// Leader commits an entry once one follower stores it besides itself: two copies, the
    /// majority of 3 servers, hard-coded. Invisible with 3 servers, where 2 is the majority;
    /// with 5, an entry on 2 of them is committed (`bug_config` checks it at 5).
    CommitQuorumOfTwo,
}

impl Bug {
    pub const ALL: [Bug; 18] = [
        Bug::Figure8Commit,
        Bug::VoteWithoutLogCheck,
        Bug::TermNotPersisted,
        Bug::CountDuplicateVotes,
        Bug::StaleAppendResponse,
        Bug::TruncateOnStaleAppend,
        Bug::FollowerCommitPastPrefix,
        Bug::LeaderKeepsLeading,
        Bug::LogNotPersisted,
        Bug::NoConsistencyCheck,
        Bug::StaleRead,
        Bug::NoHeartbeat,
        Bug::LeaderCountsUnsavedLog,
        Bug::UnboundHeader,
        Bug::PreVoteRaisesTerm,
        Bug::VoteInLease,
        Bug::CheckQuorumCountsSends,
        Bug::CommitQuorumOfTwo,
    ];
}

impl PlantedBug for Bug {
    const LIST: &'static [Bug] = &Bug::ALL;

    fn name(self) -> &'static str {
        match self {
            Bug::Figure8Commit => "figure8-commit",
            Bug::VoteWithoutLogCheck => "vote-without-log-check",
            Bug::TermNotPersisted => "term-not-persisted",
            Bug::CountDuplicateVotes => "count-duplicate-votes",
            Bug::StaleAppendResponse => "stale-append-response",
            Bug::TruncateOnStaleAppend => "truncate-on-stale-append",
            Bug::FollowerCommitPastPrefix => "follower-commit-past-prefix",
            Bug::LeaderKeepsLeading => "leader-keeps-leading",
            Bug::LogNotPersisted => "log-not-persisted",
            Bug::NoConsistencyCheck => "no-consistency-check",
            Bug::StaleRead => "stale-read",
            Bug::NoHeartbeat => "no-heartbeat",
            Bug::LeaderCountsUnsavedLog => "leader-counts-unsaved-log",
            Bug::UnboundHeader => "unbound-header",
            Bug::PreVoteRaisesTerm => "pre-vote-raises-term",
            Bug::VoteInLease => "vote-in-lease",
            Bug::CheckQuorumCountsSends => "check-quorum-counts-sends",
            Bug::CommitQuorumOfTwo => "commit-quorum-of-two",
        }
    }

    fn breaks(self) -> &'static str {
        match self {
            Bug::Figure8Commit => LEADER_COMPLETENESS,
            Bug::VoteWithoutLogCheck => LEADER_COMPLETENESS,
            Bug::TermNotPersisted => ELECTION_SAFETY,
            Bug::CountDuplicateVotes => ELECTION_SAFETY,
            Bug::StaleAppendResponse => COMMITTED_DURABLE,
            Bug::TruncateOnStaleAppend => COMMITTED_DURABLE,
            Bug::FollowerCommitPastPrefix => STATE_MACHINE_SAFETY,
            Bug::LeaderKeepsLeading => LEADER_APPEND_ONLY,
            Bug::LogNotPersisted => COMMITTED_DURABLE,
            Bug::NoConsistencyCheck => LOG_MATCHING,
            Bug::StaleRead => LINEARIZABLE,
            Bug::NoHeartbeat => EVENTUALLY_COMMITTED,
            Bug::LeaderCountsUnsavedLog => COMMITTED_DURABLE,
            Bug::UnboundHeader => ELECTION_SAFETY,
            Bug::PreVoteRaisesTerm => TERMS_PRE_VOTED,
            Bug::VoteInLease => LEADER_STABLE,
            Bug::CheckQuorumCountsSends => LEADER_HAS_QUORUM,
            Bug::CommitQuorumOfTwo => COMMITTED_DURABLE,
        }
    }

    fn why(self) -> &'static str {
        match self {
            Bug::Figure8Commit => "Raft §5.4.2: a majority storing an entry of an earlier term does not make it safe; a server with a later-term last entry can still win and overwrite it. Only entries of the leader's own term are committed by counting",
            Bug::VoteWithoutLogCheck => "the notes' log coherency: a voter must deny a candidate whose log is less complete than its own, or a leader without a committed entry can be elected",
            Bug::TermNotPersisted => "current term and vote are persistent state (Figure 2): a server that forgets its vote in a crash can vote twice in one term and elect two leaders",
            Bug::CountDuplicateVotes => "votes are counted per voter, not per message: on a network that duplicates, one vote counted twice fakes a majority",
            Bug::StaleAppendResponse => "a response describes the follower's log when it answered an older, shorter AppendEntries: matchIndex must be prev_index + entries sent, not the leader's log length now, or an entry held by a minority is committed",
            Bug::TruncateOnStaleAppend => "Figure 2 deletes entries only on a conflict: truncating after prev_index on a stale or duplicated AppendEntries removes entries that are already committed",
            Bug::FollowerCommitPastPrefix => "Figure 2: commitIndex = min(leaderCommit, index of last new entry), after the consistency check; entries this message did not verify may be stale ones from another leader",
            Bug::LeaderKeepsLeading => "a server that sees a higher term must become a follower (Figure 2, all servers); a leader that keeps leading rewrites its log with another leader's entries",
            Bug::LogNotPersisted => "a follower must save the entries before it acknowledges them: a crash then loses entries the leader counted as stored, and a committed entry is held by a minority",
            Bug::NoConsistencyCheck => "the consistency check is what gives Log Matching by induction: appending without it puts an entry after a prefix that differs from the leader's",
            Bug::StaleRead => "a leader that answers reads from its own state may have been replaced without knowing it, and returns a value older than a completed write",
            Bug::LeaderCountsUnsavedLog => "a leader that sends entries before they are on its own disk may count itself towards their majority only once they are: a crash first loses its copy, and an entry committed with it is held by a minority",
            Bug::UnboundHeader => "a message must reach only its addressee: a voter's yes to one candidate, copied on the wire to another with the voter as sender, elects a second leader in the same term unless the datagram names its receiver and the vote its candidate",
            Bug::PreVoteRaisesTerm => "Ongaro §9.6: a pre-vote changes nobody's term; a server that moves to the term a pre-vote proposes has entered a term no majority agreed to, and its higher term deposes the leader that pre-vote exists to protect",
            Bug::VoteInLease => "Ongaro §9.6: a server that has heard from a current leader within the minimum election timeout neither updates its term nor grants its vote; without that lease, a server that rejoins deposes a leader that a majority still follows",
            Bug::CheckQuorumCountsSends => "Ongaro §6.2: a leader steps down when an election timeout passes without hearing from a majority; a leader that counts the followers it sends heartbeats to, instead of those it hears from, counts them whether or not they are there, and an isolated leader keeps leading",
            Bug::NoHeartbeat => "entries reach followers only in AppendEntries: a leader that never sends its periodic AppendEntries never replicates, and nothing is committed",
            Bug::CommitQuorumOfTwo => "a majority is more than half of the servers, n / 2 + 1: the leader and one follower are a majority of 3 only. With 5 servers an entry on 2 is committed, the other 3 can elect a leader without it, and a committed entry is lost. A check with 3 servers cannot tell this rule from the correct one",
        }
    }

    fn bit(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of planted Raft bugs, usually empty.
pub type BugSet = crate::bugs::BugSet<Bug>;
