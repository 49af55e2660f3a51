//! A Raft server (Figure 2): its state, and one `step` per role — [`step_follower`],
//! [`step_candidate`], [`step_leader`] — after the rules that apply to all servers
//! ([`step`]). Each rule of the paper and of the notes is one function below, with a comment
//! citing it.

use super::actor::{RaftActor, RaftStorage, RaftTimer};
use super::log::{self, Entry, LastEntry, Log};
#[cfg(test)]
use super::Value;
use super::{majority, AppendEntries, Bug, BugSet, Index, Op, OpKind, RaftMsg, Term, VoteRequest};
use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};
use std::fmt;
use std::time::Duration;

/// What a server knows of the cluster. Not part of the state: it never changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerCfg {
    /// Every server, itself included: `0..n` in order (the constructors see to it, and the fields
    /// are private to the crate so that nothing else can build one that is not).
    pub(crate) servers: Vec<Id>,
    /// The clients, by client number.
    pub(crate) clients: Vec<Id>,
    pub(crate) bugs: BugSet,
    pub(crate) replication: Replication,
    pub(crate) elections: Elections,
}

/// The two additions to elections of Ongaro's dissertation, §9.6 (etcd's `PreVote` and
/// `CheckQuorum`). They change no safety argument: they keep a server that cannot win from
/// disrupting a leader that a majority follows, and a leader that lost its majority from staying
/// leader. Off in the model by default (the plain Raft of the paper, whose counts the suite
/// asserts); the runtime turns both on, and models/raft.rs checks them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Elections {
    /// A server whose election timer fires first asks whether a majority would vote for it in the
    /// next term, without raising its own term or anyone's ([`start_pre_vote`]); only if a
    /// majority would does it start the election.
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a majority within an election timeout
    /// ([`check_quorum`]); and a server that hears from a leader ignores vote requests until its
    /// own election timer fires ([`in_lease`]).
    pub check_quorum: bool,
}

impl Elections {
    /// The runtime's: both on.
    pub const RUNTIME: Elections = Elections { pre_vote: true, check_quorum: true };
}

/// How the leader replicates: two optimisations the paper allows (§5.3: "the leader issues
/// AppendEntries RPCs in parallel to each of the other servers"; an RPC carries "log entries to
/// store (empty for heartbeat; may send more than one for efficiency)"). The model's default is
/// the plainest Raft — one entry per message, sent only by heartbeats — so that its checks and
/// bug step counts stay as they are; the runtime turns both on (checked in models/raft_eager.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// Entries per AppendEntries (at least 1).
    pub max_batch: usize,
    /// And at most about this many bytes of values per AppendEntries (at least one entry is
    /// sent whatever its size), so that a message fits in a datagram.
    pub max_batch_bytes: usize,
    /// Send AppendEntries without waiting for a heartbeat: on a client request to a follower with
    /// nothing in flight, and on a response that moved a follower's progress while it is behind.
    pub eager: bool,
    /// The leader writes new entries to its disk in parallel with sending them, instead of
    /// before: see [`defer_leader_save`].
    pub parallel_persist: bool,
    /// The leader believes a mismatch at or below a follower's matchIndex: the follower's log is
    /// shorter than it was ([`repair_follower`]). Off: such a mismatch is taken as stale.
    pub repair: bool,
}

impl Default for Replication {
    /// Heartbeat-driven, one entry per message (the model's default).
    fn default() -> Self {
        Replication { max_batch: 1, max_batch_bytes: usize::MAX, eager: false, parallel_persist: false, repair: false }
    }
}

impl Replication {
    /// The runtime's: eager, up to `max_batch` entries and `max_batch_bytes` of values per message.
    pub fn eager(max_batch: usize, max_batch_bytes: usize) -> Self {
        Replication {
            max_batch: max_batch.max(1),
            max_batch_bytes,
            eager: true,
            parallel_persist: false,
            repair: false,
        }
    }
}

/// A server list that [`ServerCfg::new`] refuses. Servers must be the actors `0..n` in order: a
/// leader keeps its followers' progress in a list indexed by id, so a server numbered `n` or
/// above would silently never be sent AppendEntries.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerCfgError {
    #[error("a Raft cluster needs at least one server")]
    NoServers,
    #[error("server ids must be 0..{n} in order (a leader indexes its followers by id), got {got:?}")]
    ServerIds { n: usize, got: Vec<usize> },
    #[error("id {0} is both a server's and a client's")]
    ClientIsServer(usize),
}

impl ServerCfg {
    /// A server of the cluster `servers`, which must be `0..n` in order, with these clients (by
    /// client number; none of them a server). [`ServerCfg::cluster`] cannot get the servers wrong.
    pub fn new(
        servers: Vec<Id>,
        clients: Vec<Id>,
        bugs: BugSet,
        replication: Replication,
    ) -> Result<Self, ServerCfgError> {
        if servers.is_empty() {
            return Err(ServerCfgError::NoServers);
        }
        if servers.iter().enumerate().any(|(k, id)| usize::from(*id) != k) {
            let got = servers.iter().map(|id| usize::from(*id)).collect();
            return Err(ServerCfgError::ServerIds { n: servers.len(), got });
        }
        if let Some(c) = clients.iter().find(|c| usize::from(**c) < servers.len()) {
            return Err(ServerCfgError::ClientIsServer(usize::from(*c)));
        }
        Ok(ServerCfg { servers, clients, bugs, replication, elections: Elections::default() })
    }

    /// A server of the cluster `0..n` (at least one server) with `clients` clients, the actors
    /// after the servers: the layout of the model and of the runtime, which no argument can get
    /// wrong.
    pub fn cluster(n: usize, clients: usize, bugs: BugSet, replication: Replication) -> Self {
        let n = n.max(1);
        let servers = (0..n).map(Id::from).collect();
        let clients = (n..n.saturating_add(clients)).map(Id::from).collect();
        ServerCfg { servers, clients, bugs, replication, elections: Elections::default() }
    }

    pub fn with_elections(self, elections: Elections) -> Self {
        ServerCfg { elections, ..self }
    }

    pub fn with_bugs(self, bugs: BugSet) -> Self {
        ServerCfg { bugs, ..self }
    }

    /// Every server, `0..n`.
    pub fn servers(&self) -> &[Id] {
        &self.servers
    }

    /// The clients, by client number.
    pub fn clients(&self) -> &[Id] {
        &self.clients
    }

    pub fn bugs(&self) -> BugSet {
        self.bugs
    }

    pub fn replication(&self) -> Replication {
        self.replication
    }

    pub fn elections(&self) -> Elections {
        self.elections
    }
}

/// The leader's view of one follower (Figure 2, volatile state on leaders).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Progress {
    /// nextIndex: the next entry to send.
    pub next: Index,
    /// matchIndex: the highest entry known to be replicated there.
    pub matched: Index,
    /// Heard from since the leader's last quorum check (only with [`Elections::check_quorum`]).
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Follower,
    /// A follower whose election timer fired, with pre-vote on: the servers that would vote for
    /// it in the next term (sorted, itself included). Its term is unchanged.
    PreCandidate {
        votes: Vec<Id>,
    },
    /// The servers that granted their vote in this term (sorted, itself included).
    Candidate {
        votes: Vec<Id>,
    },
    /// One entry per server, indexed by server id (its own is unused).
    Leader {
        progress: Vec<Progress>,
    },
}

/// A server's state. `term`, `voted_for` and `log` are persistent (Figure 2) and saved in the
/// step that changes them, before any message of that step leaves; `role` and `commit` are
/// volatile and reset by a restart.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServerState {
    pub term: Term,
    pub voted_for: Option<Id>,
    pub log: Log,
    pub commit: Index,
    pub role: Role,
    /// The leader of the current term, once heard from (to redirect clients).
    pub leader: Option<Id>,
}

impl ServerState {
    /// A server starting (or restarting) as a follower from what it saved.
    pub fn restore(saved: Option<&RaftStorage>) -> ServerState {
        let (term, voted_for, log) = saved.map_or((0, None, Log::default()), |s| (s.term, s.voted_for, s.log.clone()));
        ServerState { term, voted_for, log, commit: 0, role: Role::Follower, leader: None }
    }

    pub fn durable(&self) -> RaftStorage {
        RaftStorage { term: self.term, voted_for: self.voted_for, log: self.log.clone() }
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    pub fn is_candidate(&self) -> bool {
        matches!(self.role, Role::Candidate { .. })
    }

    pub fn is_pre_candidate(&self) -> bool {
        matches!(self.role, Role::PreCandidate { .. })
    }
}

impl fmt::Debug for ServerState {
    /// One line per server, e.g. `L t2 voted s1 log [t1:put0.1=A] commit 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match &self.role {
            Role::Follower => "F".to_owned(),
            Role::PreCandidate { votes } => format!("P(pre-votes {})", names(votes)),
            Role::Candidate { votes } => format!("C(votes {})", names(votes)),
            Role::Leader { progress } => {
                // `*`: heard from since the last quorum check.
                let p: Vec<String> = progress
                    .iter()
                    .map(|p| format!("{}/{}{}", p.next, p.matched, if p.active { "*" } else { "" }))
                    .collect();
                format!("L(next/match {})", p.join(" "))
            }
        };
        write!(f, "{role} t{}", self.term)?;
        if let Some(v) = self.voted_for {
            write!(f, " voted s{}", usize::from(v))?;
        }
        write!(f, " log {:?} commit {}", self.log, self.commit)?;
        match self.leader {
            Some(l) if !self.is_leader() => write!(f, " leader s{}", usize::from(l)),
            _ => Ok(()),
        }
    }
}

/// `s0,s2`.
fn names(ids: &[Id]) -> String {
    ids.iter().map(|i| format!("s{}", usize::from(*i))).collect::<Vec<_>>().join(",")
}

pub const ELECTION_TIMEOUT: std::ops::Range<Duration> = Duration::from_millis(150)..Duration::from_millis(300);
pub const HEARTBEAT_INTERVAL: std::ops::Range<Duration> = Duration::from_millis(50)..Duration::from_millis(51);

/// The term a server message carries (client messages carry none).
pub fn msg_term(msg: &RaftMsg) -> Option<Term> {
    use RaftMsg::*;
    match msg {
        RequestVote(VoteRequest { term, .. })
        | Vote { term, .. }
        | AppendEntries(super::AppendEntries { term, .. })
        | Appended { term, .. } => Some(*term),
        // A pre-vote's term is one it proposes, not one anyone holds (Ongaro §9.6): see
        // [`handle_pre_vote`] and [`step_pre_candidate`].
        PreVote(_) | PreVoteReply { .. } | Request(_) | Reply { .. } | Redirect { .. } => None,
    }
}

/// Handles one message: the rules for all servers, then the role's own step.
pub fn step(s: &mut ServerState, cfg: &ServerCfg, id: Id, src: Id, msg: RaftMsg, o: &mut Out<RaftActor>) {
    if asks_for_vote(&msg) && in_lease(s, cfg) && !cfg.bugs.has(Bug::VoteInLease) {
        return ignore_vote_in_lease();
    }
    if let (RaftMsg::PreVote(req), true) = (&msg, cfg.bugs.has(Bug::PreVoteRaisesTerm)) {
        if req.term > s.term {
            observe_higher_term(s, cfg, req.term, o); // the bug: a proposed term taken as a seen one
        }
    }
    if let RaftMsg::PreVote(req) = &msg {
        return handle_pre_vote(s, src, req, o);
    }
    if let Some(t) = msg_term(&msg) {
        if t > s.term {
            observe_higher_term(s, cfg, t, o);
        } else if t < s.term {
            return ignore_stale_term();
        }
    }
    match s.role {
        Role::Follower => step_follower(s, cfg, id, src, msg, o),
        Role::PreCandidate { .. } => step_pre_candidate(s, cfg, id, src, msg, o),
        Role::Candidate { .. } => step_candidate(s, cfg, id, src, msg, o),
        Role::Leader { .. } => step_leader(s, cfg, id, src, msg, o),
    }
}

/// Figure 2, rules for all servers: "if RPC request or response contains term T > currentTerm:
/// set currentTerm = T, convert to follower" (and the vote of the new term is still free).
pub fn observe_higher_term(s: &mut ServerState, cfg: &ServerCfg, term: Term, o: &mut Out<RaftActor>) {
    s.term = term;
    s.voted_for = None;
    s.leader = None;
    if s.is_leader() && cfg.bugs.has(Bug::LeaderKeepsLeading) {
        return; // the bug: keeps its role (and its followers' progress) in the new term
    }
    become_follower(s, o);
}

/// Raft §5.2: a follower starts an election only if its timeout elapses "without receiving
/// AppendEntries RPC from current leader or granting vote to candidate": both push it back. (In
/// the model the timer is nondeterministic and already set, so this changes no state; over real
/// time it keeps followers of a live leader from campaigning.)
fn reset_election_timer(o: &mut Out<RaftActor>) {
    o.set_timer(RaftTimer::Election, ELECTION_TIMEOUT);
}

/// Whether a message asks for a vote: a RequestVote, or a pre-vote's.
fn asks_for_vote(msg: &RaftMsg) -> bool {
    matches!(msg, RaftMsg::RequestVote(_) | RaftMsg::PreVote(_))
}

/// Ongaro §9.6: "if a server receives a RequestVote request within the minimum election timeout
/// of hearing from a current leader, it does not update its term or grant its vote" (with
/// check-quorum on, as etcd). A follower holds the lease from the AppendEntries of its term's
/// leader until its own election timer fires, which ends it ([`on_election_timeout`]); a leader
/// holds it while it leads, since [`check_quorum`] ends its leadership when its majority is gone.
/// In the model the timer may fire at any moment, so every real expiry of the lease is a path.
pub fn in_lease(s: &ServerState, cfg: &ServerCfg) -> bool {
    cfg.elections.check_quorum && (s.is_leader() || s.leader.is_some())
}

/// A vote request inside the lease is dropped unanswered: no term update, no vote (as if it had
/// not arrived).
fn ignore_vote_in_lease() {}

/// A message from an older term is ignored, requests included: its sender learns the newer
/// term from the newer term's own messages (etcd does the same; Figure 2 would answer false).
fn ignore_stale_term() {}

fn become_follower(s: &mut ServerState, o: &mut Out<RaftActor>) {
    if s.is_leader() {
        o.cancel_timer(RaftTimer::Heartbeat);
        o.set_timer(RaftTimer::Election, ELECTION_TIMEOUT);
    }
    s.role = Role::Follower;
}

pub fn step_follower(s: &mut ServerState, cfg: &ServerCfg, _id: Id, src: Id, msg: RaftMsg, o: &mut Out<RaftActor>) {
    match msg {
        RaftMsg::RequestVote(req) => handle_request_vote(s, cfg, src, &req, o),
        RaftMsg::AppendEntries(append) => handle_append_entries(s, cfg, src, &append, o),
        RaftMsg::Request(op) => redirect(s, cfg, op, o),
        _ => {} // votes and acknowledgements of an earlier role
    }
}

pub fn step_pre_candidate(s: &mut ServerState, cfg: &ServerCfg, id: Id, src: Id, msg: RaftMsg, o: &mut Out<RaftActor>) {
    match msg {
        RaftMsg::PreVoteReply { term, granted: true, candidate }
            if candidate == id && s.term.checked_add(1) == Some(term) =>
        {
            count_pre_vote(s, cfg, id, src, o)
        }
        // Ongaro §9.6 as etcd: a denial carries the voter's term, so that a server whose term is
        // behind catches up (else a server ahead in term but behind in log, and one ahead in
        // log but behind in term, would deny each other for ever).
        RaftMsg::PreVoteReply { term, granted: false, .. } if term > s.term => observe_higher_term(s, cfg, term, o),
        // Otherwise as a follower: it still votes, and the leader of its term makes it one again.
        RaftMsg::AppendEntries(_) => {
            become_follower(s, o);
            step_follower(s, cfg, id, src, msg, o)
        }
        msg => step_follower(s, cfg, id, src, msg, o),
    }
}

pub fn step_candidate(s: &mut ServerState, cfg: &ServerCfg, id: Id, src: Id, msg: RaftMsg, o: &mut Out<RaftActor>) {
    match msg {
        RaftMsg::Vote { granted: true, candidate, .. } if vote_names_me(cfg.bugs, id, candidate) => {
            count_vote(s, cfg, id, src, o)
        }
        RaftMsg::RequestVote(req) => handle_request_vote(s, cfg, src, &req, o),
        RaftMsg::AppendEntries(append) => {
            // Raft §5.2: a candidate that hears from the leader of its term becomes a follower.
            become_follower(s, o);
            handle_append_entries(s, cfg, src, &append, o)
        }
        RaftMsg::Request(op) => redirect(s, cfg, op, o),
        _ => {}
    }
}

pub fn step_leader(s: &mut ServerState, cfg: &ServerCfg, id: Id, src: Id, msg: RaftMsg, o: &mut Out<RaftActor>) {
    match msg {
        RaftMsg::Appended { result, .. } => handle_appended(s, cfg, id, src, result, o),
        RaftMsg::Request(op) => handle_request(s, cfg, id, op, o),
        RaftMsg::RequestVote(req) => handle_request_vote(s, cfg, src, &req, o),
        RaftMsg::AppendEntries(append) if cfg.bugs.has(Bug::LeaderKeepsLeading) => {
            // Only reachable with the bug: a "leader" that kept its role in a newer term obeys
            // that term's real leader and rewrites its own log.
            handle_append_entries(s, cfg, src, &append, o)
        }
        _ => {}
    }
}

/// The election timer fired: a follower or candidate starts an election (first a pre-vote, if
/// on); a leader with check-quorum on checks that it still has a majority.
pub fn on_election_timeout(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    if s.is_leader() {
        if cfg.elections.check_quorum {
            check_quorum(s, cfg, id, o);
        }
        return;
    }
    if cfg.elections.pre_vote {
        start_pre_vote(s, cfg, id, o);
    } else {
        start_election(s, cfg, id, o);
    }
    o.set_timer(RaftTimer::Election, ELECTION_TIMEOUT);
}

/// Ongaro §9.6, pre-vote: before it raises its term, a server asks every other whether it would
/// vote for it in the next term, with the index and term of its last entry. Nobody's term or vote
/// changes, so a server that cannot win — cut off, or behind in log — cannot push the cluster
/// into a new term. Its election timer firing also ends its leader's lease ([`in_lease`]).
/// A pre-candidate whose timer fires again asks again and keeps the answers it has: they are
/// about the same term and the same log (its log changes only once a leader makes it a follower).
pub fn start_pre_vote(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    s.leader = None;
    if !s.is_pre_candidate() {
        s.role = Role::PreCandidate { votes: vec![id] };
    }
    let msg = RaftMsg::PreVote(VoteRequest {
        term: s.term.saturating_add(1),
        last_index: log::last_index(&s.log),
        last_term: log::last_term(&s.log),
    });
    for &peer in cfg.servers.iter().filter(|p| **p != id) {
        o.send(peer, msg.clone());
    }
    if cfg.servers.len() == 1 {
        start_election(s, cfg, id, o);
    }
}

/// A pre-vote at any server (Ongaro §9.6): yes if the proposed term is above ours and the
/// candidate's log is at least as up-to-date as ours ([`log::deny_vote`]); our own vote is not
/// looked at, since it is for our term, not the proposed one. Nothing here changes. A "no" carries
/// our term ([`step_pre_candidate`]).
pub fn handle_pre_vote(s: &ServerState, candidate: Id, req: &VoteRequest, o: &mut Out<RaftActor>) {
    let granted = req.term > s.term && !log::deny_vote(LastEntry::of(&s.log), req.last());
    let term = if granted { req.term } else { s.term };
    o.send(candidate, RaftMsg::PreVoteReply { term, granted, candidate });
}

/// Ongaro §9.6: a pre-candidate that a majority would vote for starts the real election.
pub fn count_pre_vote(s: &mut ServerState, cfg: &ServerCfg, id: Id, voter: Id, o: &mut Out<RaftActor>) {
    let Role::PreCandidate { votes } = &mut s.role else { return };
    if let Err(at) = votes.binary_search(&voter) {
        votes.insert(at, voter);
    }
    if votes.len() >= majority(cfg.servers.len()) {
        start_election(s, cfg, id, o);
    }
}

/// Ongaro §6.2 (etcd's CheckQuorum): a leader that has not heard from a majority of the cluster
/// (itself included) within an election timeout steps down, so that an isolated leader stops
/// taking requests it could never commit, and clients go to the majority's leader. Otherwise it
/// starts a new period.
pub fn check_quorum(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    let Role::Leader { progress } = &mut s.role else { return };
    let heard = 1 + progress.iter().enumerate().filter(|(k, p)| *k != usize::from(id) && p.active).count();
    if heard < majority(cfg.servers.len()) {
        return become_follower(s, o);
    }
    progress.iter_mut().for_each(|p| p.active = false);
    o.set_timer(RaftTimer::Election, ELECTION_TIMEOUT);
}

/// The notes' election, steps 1–3 (Raft §5.2): increment the current term, vote for self, request
/// votes from every other server with the index and term of the last log entry.
pub fn start_election(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    s.term += 1;
    s.voted_for = Some(id);
    s.leader = None;
    s.role = Role::Candidate { votes: vec![id] };
    let msg = RaftMsg::RequestVote(VoteRequest {
        term: s.term,
        last_index: log::last_index(&s.log),
        last_term: log::last_term(&s.log),
    });
    for &peer in cfg.servers.iter().filter(|p| **p != id) {
        o.send(peer, msg.clone());
    }
    if cfg.servers.len() == 1 {
        become_leader(s, cfg, id, o);
    }
}

/// RequestVote receiver (Figure 2): grant if the vote of this term is free or already this
/// candidate's, and the candidate's log is at least as up-to-date as ours (the notes'
/// vote-denial rule, [`log::deny_vote`]).
pub fn handle_request_vote(
    s: &mut ServerState,
    cfg: &ServerCfg,
    candidate: Id,
    req: &VoteRequest,
    o: &mut Out<RaftActor>,
) {
    let term = req.term;
    let free = s.voted_for.is_none_or(|v| v == candidate);
    let log_ok = cfg.bugs.has(Bug::VoteWithoutLogCheck) || !log::deny_vote(LastEntry::of(&s.log), req.last());
    let granted = free && log_ok;
    if granted {
        s.voted_for = Some(candidate);
        reset_election_timer(o);
    }
    o.send(candidate, RaftMsg::Vote { term, granted, candidate });
}

/// The model's network delivers a message only to its addressee, and the runtime makes that true
/// (the authenticated header names the receiver). A vote also names its candidate, so that a
/// copy redirected to another candidate — by a network that does not bind datagrams to their
/// receiver — is no vote for it (docs/architecture.md, "What the model assumes").
pub fn vote_names_me(bugs: BugSet, id: Id, candidate: Id) -> bool {
    candidate == id || bugs.has(Bug::UnboundHeader) // the bug: any "yes" counts
}

/// The notes' "I'm leader: receive majority votes" (Raft §5.2). Votes are counted per voter.
pub fn count_vote(s: &mut ServerState, cfg: &ServerCfg, id: Id, voter: Id, o: &mut Out<RaftActor>) {
    let Role::Candidate { votes } = &mut s.role else { return };
    if cfg.bugs.has(Bug::CountDuplicateVotes) {
        votes.push(voter); // the bug: a duplicated message is one more vote
        votes.sort();
    } else if let Err(at) = votes.binary_search(&voter) {
        votes.insert(at, voter);
    }
    if votes.len() >= majority(cfg.servers.len()) {
        become_leader(s, cfg, id, o);
    }
}

/// Raft §5.2–5.3: a new leader initialises nextIndex to its last index + 1 and matchIndex to 0,
/// and announces itself at once with an AppendEntries (a heartbeat) carrying its no-op entry.
pub fn become_leader(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    let next = log::last_index(&s.log) + 1;
    let mut progress = vec![Progress { next, matched: 0, active: false }; cfg.servers.len()];
    if cfg.replication.parallel_persist {
        // Its own slot holds how much of its log is on its disk: all of it so far (a candidate
        // saves every change before it acts).
        if let Some(own) = progress.get_mut(usize::from(id)) {
            own.matched = next - 1;
        }
    }
    s.role = Role::Leader { progress };
    if cfg.elections.check_quorum {
        o.set_timer(RaftTimer::Election, ELECTION_TIMEOUT); // now the quorum check's period
    } else {
        o.cancel_timer(RaftTimer::Election);
    }
    append_noop(s, cfg, id, o);
    send_heartbeats(s, cfg, id, o);
    if !cfg.bugs.has(Bug::NoHeartbeat) {
        o.set_timer(RaftTimer::Heartbeat, HEARTBEAT_INTERVAL);
    }
}

/// Raft §8: a leader appends a blank no-op entry at the start of its term. Entries of earlier
/// terms are committed only together with one of the current term (§5.4.2), so without it a
/// leader holding an earlier term's entry and getting no new request would never commit it — the
/// liveness check finds exactly that path.
pub fn append_noop(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    s.log.push(Entry { term: s.term, op: Op { client: 0, session: 0, seq: 0, kind: OpKind::Noop } });
    advance_leader_commit(s, cfg, id, o); // a single server is its own majority
}

/// The heartbeat timer fired: the leader sends every follower its next AppendEntries.
pub fn on_heartbeat(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    if s.is_leader() {
        send_heartbeats(s, cfg, id, o);
        o.set_timer(RaftTimer::Heartbeat, HEARTBEAT_INTERVAL);
        if let (true, Role::Leader { progress }) = (cfg.bugs.has(Bug::CheckQuorumCountsSends), &mut s.role) {
            progress.iter_mut().for_each(|p| p.active = true); // the bug: sent to is heard from
        }
    }
}

fn send_heartbeats(s: &ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    for &peer in cfg.servers.iter().filter(|p| **p != id) {
        send_append(s, cfg, peer, o);
    }
}

/// Eager replication of a new entry (Raft §5.3: the leader appends the command to its log, then
/// "issues AppendEntries RPCs in parallel" — not only at the next heartbeat). Sent to each follower
/// known to hold everything before it (nothing in flight); a follower still behind gets it with
/// the next entries when its pending response arrives ([`replicate_after_response`]), so a burst
/// of requests travels in one message instead of one message each.
pub fn replicate_new_entry(s: &ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    let Role::Leader { progress } = &s.role else { return };
    let last = log::last_index(&s.log);
    for &peer in cfg.servers.iter().filter(|p| **p != id) {
        if progress.get(usize::from(peer)).is_some_and(|p| p.next == last && p.matched.saturating_add(1) == last) {
            send_append(s, cfg, peer, o);
        }
    }
}

/// Eager replication after a response (Raft §5.3: "if AppendEntries fails because of log
/// inconsistency: decrement nextIndex and retry"; on success, what is left is sent the same
/// way): when the response moved the follower's progress and it still lacks entries, send the
/// next AppendEntries at once instead of at the next heartbeat.
pub fn replicate_after_response(
    s: &ServerState,
    cfg: &ServerCfg,
    follower: Id,
    before: Progress,
    o: &mut Out<RaftActor>,
) {
    let Role::Leader { progress } = &s.role else { return };
    let Some(p) = progress.get(usize::from(follower)) else { return };
    if *p != before && p.next <= log::last_index(&s.log) {
        send_append(s, cfg, follower, o);
    }
}

/// Figure 2, AppendEntries RPC arguments: the entry before nextIndex (its index and term), the
/// entries from nextIndex on — at most `max_batch` of them (§5.3 allows "more than one for
/// efficiency") — and the leader's commit index.
pub fn send_append(s: &ServerState, cfg: &ServerCfg, to: Id, o: &mut Out<RaftActor>) {
    let Role::Leader { progress } = &s.role else { return };
    let Some(p) = progress.get(usize::from(to)) else { return };
    let prev_index = p.next.saturating_sub(1);
    let prev_term = log::term_at(&s.log, prev_index).unwrap_or(0);
    let from = log::pos(prev_index).min(s.log.len());
    let to_end = from.saturating_add(cfg.replication.max_batch.max(1)).min(s.log.len());
    let mut bytes = 0usize;
    let entries: Vec<Entry> = s
        .log
        .iter_from(from)
        .take(to_end - from)
        .take_while(|e| {
            let first = bytes == 0;
            bytes = bytes.saturating_add(e.op.value_len().max(1));
            first || bytes <= cfg.replication.max_batch_bytes
        })
        .cloned()
        .collect();
    o.send(
        to,
        RaftMsg::AppendEntries(AppendEntries { term: s.term, prev_index, prev_term, entries, commit: s.commit }),
    );
}

/// AppendEntries receiver (Figure 2, steps 2–5): the consistency check, then the append
/// ([`log::append_after`]), then the commit index.
pub fn handle_append_entries(
    s: &mut ServerState,
    cfg: &ServerCfg,
    leader: Id,
    msg: &AppendEntries,
    o: &mut Out<RaftActor>,
) {
    let AppendEntries { term, prev_index, prev_term, ref entries, commit: leader_commit } = *msg;
    s.leader = Some(leader);
    reset_election_timer(o);
    if cfg.bugs.has(Bug::FollowerCommitPastPrefix) {
        // The bug: takes the leader's commit index before anything is verified.
        advance_follower_commit(s, leader_commit, log::last_index(&s.log));
    }
    let consistent = if cfg.bugs.has(Bug::NoConsistencyCheck) {
        prev_index <= log::last_index(&s.log) // the bug: any prefix of the right length will do
    } else {
        log::matches(&s.log, prev_index, prev_term)
    };
    if !consistent {
        o.send(leader, RaftMsg::Appended { term, result: Err(prev_index) });
        return;
    }
    log::append_after(&mut s.log, prev_index, entries, cfg.bugs);
    let last_new = prev_index.saturating_add(log::len_index(entries.len()));
    advance_follower_commit(s, leader_commit, last_new);
    o.send(leader, RaftMsg::Appended { term, result: Ok(last_new) });
}

/// Figure 2, AppendEntries step 5: "if leaderCommit > commitIndex, set commitIndex =
/// min(leaderCommit, index of last new entry)" — only what this message verified.
pub fn advance_follower_commit(s: &mut ServerState, leader_commit: Index, last_new: Index) {
    s.commit = follower_commit(s.commit, leader_commit, last_new);
}

/// The commit index [`advance_follower_commit`] moves a follower to from `commit`.
pub fn follower_commit(commit: Index, leader_commit: Index, last_new: Index) -> Index {
    commit.max(leader_commit.min(last_new))
}

/// AppendEntries response at the leader (Raft §5.3): on success, the follower holds our log up
/// to `m`; on a mismatch at the entry before nextIndex, step nextIndex back by one. Responses
/// that no longer fit what the leader knows (reordered or duplicated) change nothing.
pub fn handle_appended(
    s: &mut ServerState,
    cfg: &ServerCfg,
    id: Id,
    follower: Id,
    result: Result<Index, Index>,
    o: &mut Out<RaftActor>,
) {
    // The bug: "success" taken as covering the whole log, which may have grown since.
    let result = match result {
        Ok(_) if cfg.bugs.has(Bug::StaleAppendResponse) => Ok(log::last_index(&s.log)),
        other => other,
    };
    let Role::Leader { progress } = &mut s.role else { return };
    let Some(p) = progress.get_mut(usize::from(follower)) else { return };
    if cfg.elections.check_quorum {
        p.active = true; // heard from in this quorum period
    }
    let before = *p;
    match result {
        Ok(m) => {
            p.matched = p.matched.max(m);
            p.next = p.next.max(m.saturating_add(1));
            advance_leader_commit(s, cfg, id, o);
        }
        Err(prev) if prev > p.matched && prev.saturating_add(1) == p.next => p.next = prev,
        Err(prev) if cfg.replication.repair && prev <= p.matched => repair_follower(p, prev),
        Err(_) => {}
    }
    if cfg.replication.eager {
        replicate_after_response(s, cfg, follower, before, o);
    }
}

/// A mismatch at `prev` from a follower the leader counted as holding `prev`: its log is now
/// shorter (an older copy of its files was restored, which no node can tell from its own). The
/// leader takes it at its word — matchIndex below `prev`, nextIndex at `prev` — and the usual
/// backing off (Raft §5.3) refills it. Safe, because a lower matchIndex only counts fewer
/// replicas and the commit index never moves back; a stale mismatch (the network reordered it)
/// costs a resend, answered by a success that restores the progress.
pub fn repair_follower(p: &mut Progress, prev: Index) {
    p.matched = prev.saturating_sub(1);
    p.next = prev.max(1);
}

/// Figure 2, rules for leaders, and the notes' log integrity: commit index N once a majority
/// stores entry N *and* it is from the leader's current term (Raft §5.4.2: only entries of the
/// current term are committed by counting replicas; earlier ones are committed with them).
pub fn advance_leader_commit(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    let Role::Leader { progress } = &s.role else { return };
    let stored = |n: Index| {
        cfg.servers
            .iter()
            .filter(|&&p| {
                (p == id && counts_own_log(cfg, progress, id, n))
                    || (p != id && progress.get(usize::from(p)).is_some_and(|pr| pr.matched >= n))
            })
            .count()
    };
    // The bug: the majority of a 3-server cluster, two copies, whatever the cluster's size.
    let quorum =
        if cfg.bugs.has(Bug::CommitQuorumOfTwo) { 2.min(cfg.servers.len()) } else { majority(cfg.servers.len()) };
    let old = s.commit;
    let mut n = log::last_index(&s.log);
    while n > old {
        let of_current_term = log::term_at(&s.log, n) == Some(s.term);
        // The bug (Figure 8): any entry stored on a majority is taken as committed.
        if (of_current_term || cfg.bugs.has(Bug::Figure8Commit)) && stored(n) >= quorum {
            s.commit = n;
            break;
        }
        n -= 1;
    }
    for index in old + 1..=s.commit {
        reply_committed(s, cfg, index, o);
    }
}

/// Whether the leader counts itself as storing entry `n`. Raft's leader saves a new entry before
/// it acts, so it always counts itself; one that writes its disk in parallel with replicating
/// ([`defer_leader_save`]) counts itself only for what is already on its disk, which its own
/// `progress` slot records (Ongaro's dissertation, §10.2.1, on writing the leader's disk in
/// parallel: a majority of *durable* copies is what commits an entry, the leader's included).
pub fn counts_own_log(cfg: &ServerCfg, progress: &[Progress], id: Id, n: Index) -> bool {
    if !cfg.replication.parallel_persist || cfg.bugs.has(Bug::LeaderCountsUnsavedLog) {
        return true; // with the bug: its log counts before it is on its disk
    }
    progress.get(usize::from(id)).is_some_and(|own| own.matched >= n)
}

/// Whether a step that changed only a leader's log may send its messages before the log is on
/// disk (Ongaro's dissertation, §10.2.1: the leader may write its disk in parallel with
/// replicating to its followers). The step then saves nothing and sets the `Persist` timer,
/// whose step ([`persist_leader_log`]) saves the log and lets the leader count itself. Safe
/// because nothing is acknowledged or committed on the strength of the leader's copy until then:
/// a crash before it loses only entries no majority has been counted for.
pub fn defer_leader_save(s: &ServerState, cfg: &ServerCfg, log_only: bool) -> bool {
    cfg.replication.parallel_persist && log_only && s.is_leader()
}

/// A step that changed a leader's term or vote as well as its log (a single server elects itself
/// and appends its no-op in one step) saves everything at once, log included: with parallel
/// writes, the leader's own progress slot then moves to its last entry, and what that completes
/// is committed — otherwise it would wait for the next write.
pub fn leader_log_saved(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    if !cfg.replication.parallel_persist {
        return;
    }
    let last = log::last_index(&s.log);
    let Role::Leader { progress } = &mut s.role else { return };
    let Some(own) = progress.get_mut(usize::from(id)) else { return };
    if own.matched < last {
        own.matched = last;
        advance_leader_commit(s, cfg, id, o);
    }
}

/// The `Persist` timer at a leader that deferred saving its log ([`defer_leader_save`]): save
/// it, record in its own progress slot that its log is durable up to its last entry, and commit
/// what that completes. (A server that stopped leading has saved its log with its new term.)
pub fn persist_leader_log(s: &mut ServerState, cfg: &ServerCfg, id: Id, o: &mut Out<RaftActor>) {
    let last = log::last_index(&s.log);
    let Role::Leader { progress } = &mut s.role else { return };
    let Some(own) = progress.get_mut(usize::from(id)) else { return };
    if own.matched >= last {
        return;
    }
    own.matched = last;
    o.save(s.durable());
    advance_leader_commit(s, cfg, id, o);
}

/// Raft §8: once the entry of a client's operation is committed, its leader answers the client;
/// a Get is answered with its key's value at that point of the log ([`log::value_at`]).
fn reply_committed(s: &ServerState, cfg: &ServerCfg, index: Index, o: &mut Out<RaftActor>) {
    let Some(e) = log::entry_at(&s.log, index) else { return };
    let Some(&client) = cfg.clients.get(usize::from(e.op.client)) else { return };
    let value = match &e.op.kind {
        OpKind::Put(..) => None,
        OpKind::Get(key) => log::value_at(&s.log, key, index),
        OpKind::Noop => return,
    };
    o.send(client, RaftMsg::Reply { session: e.op.session, seq: e.op.seq, value });
}

/// A client request at a server that does not lead: redirect the client to the leader of this
/// term if it is known (Raft §8); otherwise the client's request to the others will do.
pub fn redirect(s: &ServerState, cfg: &ServerCfg, op: Op, o: &mut Out<RaftActor>) {
    if let (Some(leader), Some(&client)) = (s.leader, cfg.clients.get(usize::from(op.client))) {
        o.send(client, RaftMsg::Redirect { seq: op.seq, leader });
    }
}

/// A client request at the leader (Raft §5.3, §8): append it once (clients retry and the network
/// duplicates); if it is already committed, answer again. Once is per operation, which names its
/// client, session and seq: a new session's request is never answered from an older entry.
pub fn handle_request(s: &mut ServerState, cfg: &ServerCfg, id: Id, op: Op, o: &mut Out<RaftActor>) {
    if let (true, OpKind::Get(key)) = (cfg.bugs.has(Bug::StaleRead), &op.kind) {
        // The bug: answers from its own log, without committing anything.
        if let Some(&client) = cfg.clients.get(usize::from(op.client)) {
            let value = log::value_at(&s.log, key, log::last_index(&s.log));
            o.send(client, RaftMsg::Reply { session: op.session, seq: op.seq, value });
        }
        return;
    }
    let found = s.log.position(|e| e.op == op);
    match found {
        Some(at) if log::len_index(at) < s.commit => reply_committed(s, cfg, log::len_index(at) + 1, o),
        Some(_) => {} // answered when it commits
        None => {
            s.log.push(Entry { term: s.term, op });
            advance_leader_commit(s, cfg, id, o); // a single server is its own majority
            if cfg.replication.eager {
                replicate_new_entry(s, cfg, id, o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::actor::Command;

    fn cfg() -> ServerCfg {
        ServerCfg::cluster(3, 1, BugSet::NONE, Replication::default())
    }

    fn put() -> Op {
        Op { client: 0, session: 0, seq: 1, kind: OpKind::Put(Value::from(""), Value::from('A')) }
    }

    /// Servers numbered 1..3 used to be accepted, and the leader's progress list (indexed by id)
    /// had no slot for server 3, which then never got AppendEntries.
    #[test]
    fn a_server_list_that_is_not_0_to_n_is_refused() {
        let new = |servers: &[usize], clients: &[usize]| {
            let ids = |v: &[usize]| v.iter().copied().map(Id::from).collect();
            ServerCfg::new(ids(servers), ids(clients), BugSet::NONE, Replication::default())
        };
        assert!(new(&[0, 1, 2], &[3]).is_ok());
        assert_eq!(new(&[1, 2, 3], &[4]), Err(ServerCfgError::ServerIds { n: 3, got: vec![1, 2, 3] }));
        assert_eq!(new(&[0, 2, 1], &[3]), Err(ServerCfgError::ServerIds { n: 3, got: vec![0, 2, 1] }));
        assert_eq!(new(&[], &[0]), Err(ServerCfgError::NoServers));
        assert_eq!(new(&[0, 1, 2], &[1]), Err(ServerCfgError::ClientIsServer(1)));
        let message = new(&[1, 2, 3], &[]).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains("0..3"), "{message}");
    }

    #[test]
    fn a_follower_redirects_a_client_to_the_leader_it_heard_from() {
        let mut s = ServerState::restore(None);
        let mut o = Out::new();
        let heartbeat =
            RaftMsg::AppendEntries(AppendEntries { term: 1, prev_index: 0, prev_term: 0, entries: vec![], commit: 0 });
        step(&mut s, &cfg(), Id::from(0), Id::from(2), heartbeat, &mut o);
        assert_eq!(s.leader, Some(Id::from(2)));
        let mut o = Out::new();
        step(&mut s, &cfg(), Id::from(0), Id::from(3), RaftMsg::Request(put()), &mut o);
        let sent: Vec<_> = o
            .into_iter()
            .filter_map(|c| match c {
                Command::Send(dst, m) => Some((dst, m)),
                _ => None,
            })
            .collect();
        assert_eq!(sent, vec![(Id::from(3), RaftMsg::Redirect { seq: 1, leader: Id::from(2) })]);
    }

    /// The leader of term 1 with `log` committed, as a one-server cluster (its own majority).
    fn single_leader(log: Vec<Op>) -> (ServerState, ServerCfg) {
        let cfg = ServerCfg::cluster(1, 1, BugSet::NONE, Replication::default());
        let mut s = ServerState { term: 1, ..ServerState::restore(None) };
        let mut o = Out::new();
        become_leader(&mut s, &cfg, Id::from(0), &mut o);
        for op in log {
            handle_request(&mut s, &cfg, Id::from(0), op, &mut Out::new());
        }
        (s, cfg)
    }

    fn replies(o: Out<RaftActor>) -> Vec<RaftMsg> {
        o.into_iter()
            .filter_map(|c| match c {
                Command::Send(_, m @ RaftMsg::Reply { .. }) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_repeated_request_is_answered_from_its_entry_but_a_new_sessions_equal_request_is_appended() {
        let get = |session| Op { client: 0, session, seq: 1, kind: OpKind::Get(Value::from("x")) };
        let put = Op { client: 0, session: 9, seq: 1, kind: OpKind::Put(Value::from("x"), Value::from("new")) };
        // Session 7 read x (nothing yet), then session 9 wrote it.
        let (mut s, cfg) = single_leader(vec![get(7), put]);
        let len = s.log.len();
        // Session 7 asks again: the same operation, answered from its entry.
        let mut o = Out::new();
        handle_request(&mut s, &cfg, Id::from(0), get(7), &mut o);
        assert_eq!(s.log.len(), len);
        assert_eq!(replies(o), vec![RaftMsg::Reply { session: 7, seq: 1, value: None }]);
        // Session 8 reuses the seq: a new operation, appended and answered with the value now.
        let mut o = Out::new();
        handle_request(&mut s, &cfg, Id::from(0), get(8), &mut o);
        assert_eq!(s.log.len(), len + 1);
        assert_eq!(replies(o), vec![RaftMsg::Reply { session: 8, seq: 1, value: Some(Value::from("new")) }]);
    }

    fn sent(o: Out<RaftActor>) -> Vec<RaftMsg> {
        o.into_iter()
            .filter_map(|c| match c {
                Command::Send(_, m) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_pre_vote_changes_no_term_and_a_server_in_its_leaders_lease_ignores_vote_requests() {
        let cfg = cfg().with_elections(Elections::RUNTIME);
        let pre_vote = RaftMsg::PreVote(VoteRequest { term: 2, last_index: 0, last_term: 0 });
        // Without a leader: a yes for term 2, and the voter stays in term 1 with its vote free.
        let mut s = ServerState { term: 1, ..ServerState::restore(None) };
        let mut o = Out::new();
        step(&mut s, &cfg, Id::from(0), Id::from(1), pre_vote.clone(), &mut o);
        assert_eq!((s.term, s.voted_for), (1, None));
        assert_eq!(sent(o), vec![RaftMsg::PreVoteReply { term: 2, granted: true, candidate: Id::from(1) }]);
        // Following the leader of term 1: the pre-vote and a RequestVote of term 2 go unanswered.
        s.leader = Some(Id::from(2));
        for msg in [pre_vote, RaftMsg::RequestVote(VoteRequest { term: 2, last_index: 0, last_term: 0 })] {
            let mut o = Out::new();
            step(&mut s, &cfg, Id::from(0), Id::from(1), msg, &mut o);
            assert_eq!((s.term, s.voted_for, s.leader), (1, None, Some(Id::from(2))));
            assert!(sent(o).is_empty());
        }
        // Its own timer ends the lease: it becomes a pre-candidate of term 1.
        on_election_timeout(&mut s, &cfg, Id::from(0), &mut Out::new());
        assert_eq!((s.term, s.leader, s.is_pre_candidate()), (1, None, true));
    }

    #[test]
    fn a_follower_that_knows_no_leader_stays_silent_and_a_new_term_forgets_the_leader() {
        let mut s = ServerState { leader: Some(Id::from(2)), term: 1, ..ServerState::restore(None) };
        let mut o = Out::new();
        let vote = RaftMsg::RequestVote(VoteRequest { term: 2, last_index: 0, last_term: 0 });
        step(&mut s, &cfg(), Id::from(0), Id::from(1), vote, &mut o);
        assert_eq!(s.leader, None);
        let mut o = Out::new();
        step(&mut s, &cfg(), Id::from(0), Id::from(3), RaftMsg::Request(put()), &mut o);
        assert!(o.into_iter().next().is_none());
    }
}
