//! The model's configuration: the cluster, its bounds, the planted bugs, and the one builder
//! ([`RaftModelCfg::into_model`]).

use super::{record_msg_in, record_msg_out, RaftHistory, RaftModel};
use crate::raft::actor::RaftActor;
use crate::raft::client::ClientCfg;
use crate::raft::server::{Elections, Replication, ServerCfg};
use crate::raft::{Bug, BugSet, Index, Term};
use serde::Serialize;
use stateright::actor::{ActorModel, Id, LossyNetwork, Network};

/// A Raft configuration and its bounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RaftModelCfg {
    pub servers: usize,
    /// Clients, each issuing `requests` operations one after the other (Put, Get, Put, …).
    pub clients: usize,
    pub requests: u8,
    /// Keys of the replicated map the clients use (1 by default: every operation on one key;
    /// see [`super::client::op`] for which client uses which key).
    #[serde(skip_serializing_if = "is_one_key")]
    pub keys: u8,
    /// Bound: no server goes beyond this term (so at most this many elections).
    pub max_term: Term,
    /// Bound: no log grows beyond this many entries (None: only the requests bound it).
    pub max_log: Option<Index>,
    /// Bound: crash-restarts of servers in total (also at once). A crashed server restarts from
    /// what it saved.
    pub crashes: usize,
    /// Whether the network may also lose any message. It always reorders and duplicates.
    pub lossy: bool,
    #[serde(serialize_with = "crate::bugs::serialize")]
    pub bugs: BugSet,
    /// Entries per AppendEntries (1 by default; the runtime sends up to 64).
    #[serde(skip_serializing_if = "is_one")]
    pub max_batch: usize,
    /// Eager replication, as the runtime does (off by default: heartbeat-driven, the plainest
    /// Raft; see [`super::server::Replication`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub eager: bool,
    /// Leaders write new entries to disk in parallel with replicating them, as the runtime does
    /// (off by default; see [`super::server::defer_leader_save`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub parallel_persist: bool,
    /// An on-path adversary that may also deliver a copy of any message between servers to any
    /// other server, its sender unchanged: the network of a wire format that does not bind a
    /// datagram to its receiver (off by default: the runtime's header names the receiver, so the
    /// model's "a message reaches only its addressee" is what the wire gives).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redirects: bool,
    /// Pre-vote (Ongaro §9.6), as the runtime runs (off by default; see
    /// [`super::server::Elections`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pre_vote: bool,
    /// Leaders repair a follower whose log is shorter than its matchIndex, as the runtime does
    /// (off by default; see [`super::server::repair_follower`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repair: bool,
    /// Check-quorum and the leader lease (Ongaro §6.2, §9.6), as the runtime runs (off by default).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub check_quorum: bool,
    /// Whether messages that no handler can act on again are removed from the network (on by
    /// default; off only to check that the reduction keeps every verdict, models/reduction.rs).
    #[serde(skip_serializing_if = "is_true")]
    pub reduce_dead: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn is_one_key(n: &u8) -> bool {
    *n == 1
}

impl Default for RaftModelCfg {
    /// The bound of `quorum check raft`: 3 servers, terms ≤ 2, one client with one request, one
    /// crash-restart, a network that reorders and duplicates.
    fn default() -> Self {
        RaftModelCfg {
            servers: 3,
            clients: 1,
            requests: 1,
            keys: 1,
            max_term: 2,
            max_log: None,
            crashes: 1,
            lossy: false,
            bugs: BugSet::NONE,
            max_batch: 1,
            eager: false,
            parallel_persist: false,
            redirects: false,
            pre_vote: false,
            repair: false,
            check_quorum: false,
            reduce_dead: true,
        }
    }
}

/// A configuration that cannot be checked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CfgError {
    #[error("--servers must be between 1 and 9, got {0}")]
    Servers(usize),
    #[error("--clients must be at most 26, got {0}")]
    Clients(usize),
    #[error("--requests must be at most 4, got {0}")]
    Requests(u8),
    #[error("--keys must be between 1 and 26, got {0}")]
    Keys(u8),
    #[error("--max-term must be between 1 and 20, got {0}")]
    MaxTerm(Term),
    #[error("--max-log must be between 1 and 20, got {0}")]
    MaxLog(Index),
    #[error("--crashes {0} exceeds the {1} servers")]
    Crashes(usize, usize),
    #[error("--max-batch must be between 1 and 20, got {0}")]
    MaxBatch(usize),
}

impl RaftModelCfg {
    pub fn with_bug(mut self, bug: Bug) -> Self {
        self.bugs = self.bugs.with(bug);
        self
    }

    pub fn validate(&self) -> Result<(), CfgError> {
        if !(1..=9).contains(&self.servers) {
            return Err(CfgError::Servers(self.servers));
        }
        if self.clients > 26 {
            return Err(CfgError::Clients(self.clients));
        }
        if self.requests > 4 {
            return Err(CfgError::Requests(self.requests));
        }
        if !(1..=26).contains(&self.keys) {
            return Err(CfgError::Keys(self.keys));
        }
        if !(1..=20).contains(&self.max_term) {
            return Err(CfgError::MaxTerm(self.max_term));
        }
        if let Some(m) = self.max_log.filter(|m| !(1..=20).contains(m)) {
            return Err(CfgError::MaxLog(m));
        }
        if self.crashes > self.servers {
            return Err(CfgError::Crashes(self.crashes, self.servers));
        }
        if !(1..=20).contains(&self.max_batch) {
            return Err(CfgError::MaxBatch(self.max_batch));
        }
        Ok(())
    }

    pub fn server_ids(&self) -> Vec<Id> {
        (0..self.servers).map(Id::from).collect()
    }

    pub fn client_ids(&self) -> Vec<Id> {
        (self.servers..self.servers + self.clients).map(Id::from).collect()
    }

    pub fn is_server(&self, id: Id) -> bool {
        usize::from(id) < self.servers
    }

    /// The client number of actor `id`, if it is a client.
    pub fn client_number(&self, id: Id) -> Option<usize> {
        usize::from(id).checked_sub(self.servers).filter(|c| *c < self.clients)
    }

    /// A short name for an actor: s0, s1, … for servers, c3, … for clients (letter and id).
    pub fn actor_name(&self, id: Id) -> String {
        format!("{}{}", if self.is_server(id) { 's' } else { 'c' }, usize::from(id))
    }

    pub fn describe(&self) -> String {
        let bugs = self.bugs.names();
        format!(
            "{} servers, terms <= {}, {} client{} x {} request{}{}, logs <= {}, {} crash-restart{}, reordering duplicating{} network{}",
            self.servers,
            self.max_term,
            self.clients,
            if self.clients == 1 { "" } else { "s" },
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            if self.keys == 1 { String::new() } else { format!(" on {} keys", self.keys) },
            self.max_log.map_or("requests".to_owned(), |m| m.to_string()),
            self.crashes,
            if self.crashes == 1 { "" } else { "s" },
            if self.lossy { " lossy" } else { "" },
            if bugs.is_empty() { String::new() } else { format!(", bugs: {}", bugs.join(",")) },
        ) + &self.describe_replication()
    }

    /// ", eager replication, up to N entries per AppendEntries" when not the default.
    fn describe_replication(&self) -> String {
        let replication = match (self.eager, self.max_batch) {
            (false, 1) => String::new(),
            (eager, n) => format!(
                ", {} replication, up to {n} entr{} per AppendEntries",
                if eager { "eager" } else { "heartbeat" },
                if n == 1 { "y" } else { "ies" }
            ),
        };
        let persist = if self.parallel_persist { ", leaders write their log in parallel with sending it" } else { "" };
        let redirects = if self.redirects { ", an adversary copies server messages to other servers" } else { "" };
        let pre_vote = if self.pre_vote { ", pre-vote" } else { "" };
        let check_quorum = if self.check_quorum { ", check-quorum" } else { "" };
        let repair = if self.repair { ", leaders repair shrunk followers" } else { "" };
        let kept = if self.reduce_dead { "" } else { ", dead messages kept" };
        replication + persist + redirects + pre_vote + check_quorum + repair + kept
    }

    /// Builds the model. Call [`validate`](Self::validate) first.
    pub fn into_model(self) -> RaftModel {
        let servers = self.server_ids();
        let clients = self.client_ids();
        let bugs = self.bugs;
        let replication = Replication {
            max_batch: self.max_batch,
            max_batch_bytes: usize::MAX,
            eager: self.eager,
            parallel_persist: self.parallel_persist,
            repair: self.repair,
        };
        let elections = Elections { pre_vote: self.pre_vote, check_quorum: self.check_quorum };
        let server = ServerCfg::cluster(servers.len(), clients.len(), bugs, replication).with_elections(elections);
        let history = RaftHistory::new(self.clients);
        let lossy = if self.lossy { LossyNetwork::Yes } else { LossyNetwork::No };
        let actors = ActorModel::new(self.clone(), history)
            .actors(servers.iter().map(|_| RaftActor::Server(server.clone())))
            .actors((0..self.clients).map(|c| {
                RaftActor::Client(ClientCfg {
                    number: u8::try_from(c).unwrap_or(u8::MAX),
                    servers: servers.clone(),
                    requests: self.requests,
                    keys: self.keys,
                })
            }))
            .init_network(Network::new_unordered_duplicating([]))
            .lossy_network(lossy)
            .max_crashes(self.crashes)
            .record_msg_out(record_msg_out)
            .record_msg_in(record_msg_in);
        RaftModel { cfg: self, actors }
    }
}

/// The smallest bound at which the checker shows `bug`: where `quorum check raft --bug NAME`
/// starts and the bug tests in models/ run.
pub fn bug_config(bug: Bug) -> RaftModelCfg {
    let base = RaftModelCfg { crashes: 0, ..RaftModelCfg::default() };
    let cfg = match bug {
        // The leaders' no-op entries are all the log these need.
        Bug::TermNotPersisted | Bug::LogNotPersisted => RaftModelCfg { clients: 0, crashes: 1, ..base },
        // With 3 servers a candidate needs one vote besides its own: a duplicate only counts
        // twice towards a majority of 5.
        Bug::CountDuplicateVotes => RaftModelCfg { servers: 5, clients: 0, max_term: 1, ..base },
        Bug::NoHeartbeat | Bug::LeaderKeepsLeading | Bug::TruncateOnStaleAppend | Bug::StaleAppendResponse => base,
        Bug::StaleRead => RaftModelCfg { requests: 2, ..base },
        Bug::VoteWithoutLogCheck => RaftModelCfg { requests: 2, ..base },
        // Three leaders' no-op entries: two that differ at one index, and one that reads both.
        Bug::NoConsistencyCheck | Bug::FollowerCommitPastPrefix => RaftModelCfg { clients: 0, max_term: 3, ..base },
        // The leaders' no-op entries are enough: no client, no crash (see docs/raft.md).
        Bug::Figure8Commit => RaftModelCfg { clients: 0, max_term: 4, ..base },
        // Defined for a leader that writes its log in parallel; the no-op is the entry it loses.
        Bug::LeaderCountsUnsavedLog => RaftModelCfg { clients: 0, crashes: 1, parallel_persist: true, ..base },
        // Two candidates of one term and a voter's copied "yes": no log, no client needed.
        Bug::UnboundHeader => RaftModelCfg { clients: 0, max_term: 1, redirects: true, ..base },
        // A pre-vote and its receiver: no election needs to finish.
        Bug::PreVoteRaisesTerm => RaftModelCfg { clients: 0, max_term: 1, pre_vote: true, ..base },
        // A leader, a follower in its lease, and a candidate of the next term.
        Bug::VoteInLease => RaftModelCfg { clients: 0, check_quorum: true, ..base },
        // A leader's heartbeat, unanswered, and its quorum check.
        Bug::CheckQuorumCountsSends => RaftModelCfg { clients: 0, max_term: 1, check_quorum: true, ..base },
        // With 3 servers two copies are a majority: the leader's no-op on 2 of 5 servers is not.
        Bug::CommitQuorumOfTwo => RaftModelCfg { servers: 5, clients: 0, max_term: 1, ..base },
    };
    cfg.with_bug(bug)
}
