//! The one place where the Raft model is defined: [`RaftModelCfg::into_model`] builds the
//! [`RaftModel`] (the actor model, its properties, its bound and its reductions) for the tests,
//! the CLI, the Explorer and the benchmarks.
//!
//! Actor layout: servers `0..S`, then clients.

use super::actor::{RaftActor, RaftState, RaftStorage, RaftTimer};
use super::client::{self, ClientCfg};
use super::kv::{KvMap, KvOp, KvRet};
use super::log::{self, Entry, Log};
use super::server::{Elections, Replication, ServerCfg, ServerState};
use super::{majority, Bug, BugSet, Index, OpKind, RaftMsg, Seq, Term};
use serde::Serialize;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Envelope, Id, LossyNetwork, Network};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Path, Property, Rewrite, RewritePlan};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

pub type RaftActorModel = ActorModel<RaftActor, RaftModelCfg, RaftHistory>;
pub type RaftSysState = ActorModelState<RaftActor, RaftHistory>;
pub type RaftAction = ActorModelAction<RaftMsg, RaftTimer, ()>;

/// Property names (the paper's Figure 3, and the mission's), shared by the model, the bug zoo,
/// the CLI and the tests.
pub mod property {
    pub const ELECTION_SAFETY: &str = "election safety";
    pub const LEADER_APPEND_ONLY: &str = "leader append-only";
    pub const LOG_MATCHING: &str = "log matching";
    pub const LEADER_COMPLETENESS: &str = "leader completeness";
    pub const STATE_MACHINE_SAFETY: &str = "state machine safety";
    pub const COMMITTED_DURABLE: &str = "committed entries durable";
    pub const LINEARIZABLE: &str = "linearizable";
    pub const LEADER_ELECTED: &str = "leader elected";
    pub const ENTRY_COMMITTED: &str = "entry committed";
    pub const LEADER_REPLACED: &str = "leader replaced after a crash";
    pub const EVENTUALLY_COMMITTED: &str = "requests eventually committed";
    pub const TERMS_PRE_VOTED: &str = "terms start with a majority's pre-vote";
    pub const LEADER_STABLE: &str = "leader deposed only without a majority";
    pub const LEADER_HAS_QUORUM: &str = "leader steps down without a majority";
    pub const LEADER_STEPPED_DOWN: &str = "an isolated leader steps down";
}
use property::*;

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

/// Auxiliary ("ghost") state, kept along each path for the properties.
#[derive(Clone, PartialEq, Hash)]
pub struct RaftHistory {
    /// Every (term, server) elected: a server that became leader in that term.
    pub leaders: Arc<BTreeSet<(Term, Id)>>,
    /// Every entry some server applied (index ≤ its commit index), with the server's term when
    /// the entry was first applied.
    pub applied: Arc<BTreeMap<(Index, Entry), Term>>,
    /// A leader removed or changed an entry of its own log.
    pub append_only_broken: bool,
    /// Crash-restarts so far.
    pub crashes: u8,
    /// The term of a leader that crashed, if one did.
    pub crashed_leader: Option<Term>,
    /// Per client: operations invoked and operations returned.
    pub invoked: Vec<Seq>,
    pub returned: Vec<Seq>,
    /// The clients' operations on the replicated map (see [`super::kv`]).
    pub lin: Arc<LinearizabilityTester<Id, KvMap>>,
    /// With pre-vote: per proposed term and pre-candidate, the servers that sent it a "yes", until
    /// they make a majority with it; then the term moves to `pre_voted`.
    pub pre_votes: Arc<BTreeMap<(Term, Id), BTreeSet<Id>>>,
    /// The terms some server was pre-voted for by a majority.
    pub pre_voted: BTreeSet<Term>,
    /// With check-quorum: per leader (term, server), the followers whose acknowledgement it
    /// received since its last quorum check.
    pub heard: Arc<BTreeMap<(Term, Id), BTreeSet<Id>>>,
    /// A leader was deposed while a majority (itself included) still followed it.
    pub deposed_with_majority: bool,
    /// A leader passed a quorum check without having heard from a majority since the last one.
    pub kept_without_majority: bool,
    /// A leader stepped down at a quorum check.
    pub stepped_down: bool,
}

impl RaftHistory {
    fn new(clients: usize) -> Self {
        RaftHistory {
            leaders: Arc::default(),
            applied: Arc::default(),
            append_only_broken: false,
            crashes: 0,
            crashed_leader: None,
            invoked: vec![0; clients],
            returned: vec![0; clients],
            lin: Arc::new(LinearizabilityTester::new(KvMap::default())),
            pre_votes: Arc::default(),
            pre_voted: BTreeSet::new(),
            heard: Arc::default(),
            deposed_with_majority: false,
            kept_without_majority: false,
            stepped_down: false,
        }
    }
}

impl std::fmt::Debug for RaftHistory {
    /// One line per field, in the notation of the server states (the Explorer shows it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elected: Vec<String> = self.leaders.iter().map(|(t, id)| format!("t{t}:s{}", usize::from(*id))).collect();
        let applied: Vec<String> = self.applied.iter().map(|((i, e), t)| format!("{i}:{e:?}@t{t}")).collect();
        writeln!(f, "elected: [{}]", elected.join(" "))?;
        writeln!(f, "applied: [{}]", applied.join(" "))?;
        writeln!(f, "crashes: {}, a leader crashed in: {:?}", self.crashes, self.crashed_leader)?;
        if self.append_only_broken {
            writeln!(f, "a leader's log shrank")?;
        }
        if !self.pre_votes.is_empty() {
            writeln!(f, "pre-votes: {}", id_sets(&self.pre_votes))?;
        }
        if !self.pre_voted.is_empty() {
            writeln!(f, "pre-voted by a majority: {:?}", self.pre_voted)?;
        }
        if !self.heard.is_empty() {
            writeln!(f, "leaders heard from: {}", id_sets(&self.heard))?;
        }
        for (flag, what) in [
            (self.deposed_with_majority, "a leader was deposed while a majority followed it"),
            (self.kept_without_majority, "a leader kept leading without a majority"),
            (self.stepped_down, "a leader stepped down at a quorum check"),
        ] {
            if flag {
                writeln!(f, "{what}")?;
            }
        }
        writeln!(f, "invoked: {:?}, returned: {:?}", self.invoked, self.returned)?;
        write!(f, "lin: {:?}", self.lin)
    }
}

/// `t2:s0<-{s1,s2} …`.
fn id_sets(m: &BTreeMap<(Term, Id), BTreeSet<Id>>) -> String {
    let s = |id: &Id| format!("s{}", usize::from(*id));
    let parts: Vec<String> = m
        .iter()
        .map(|((t, c), ids)| format!("t{t}:{}<-{{{}}}", s(c), ids.iter().map(s).collect::<Vec<_>>().join(",")))
        .collect();
    parts.join(" ")
}

impl Rewrite<Id> for RaftHistory {
    /// Symmetry permutes servers only: client ids in `lin` stay.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let leaders = self.leaders.iter().map(|(t, id)| (*t, plan.rewrite(id))).collect();
        let sets = |m: &BTreeMap<(Term, Id), BTreeSet<Id>>| {
            let m: BTreeMap<(Term, Id), BTreeSet<Id>> = m
                .iter()
                .map(|((t, c), ids)| ((*t, plan.rewrite(c)), ids.iter().map(|i| plan.rewrite(i)).collect()))
                .collect();
            Arc::new(m)
        };
        RaftHistory {
            leaders: Arc::new(leaders),
            pre_votes: sets(&self.pre_votes),
            heard: sets(&self.heard),
            ..self.clone()
        }
    }
}

fn record_msg_out(cfg: &RaftModelCfg, h: &RaftHistory, env: Envelope<&RaftMsg>) -> Option<RaftHistory> {
    if let RaftMsg::PreVoteReply { term, granted: true, candidate } = env.msg {
        return record_pre_vote(cfg, h, *term, *candidate, env.src);
    }
    let RaftMsg::Request(op) = env.msg else { return None };
    let c = cfg.client_number(env.src)?;
    if h.invoked.get(c).is_none_or(|n| *n >= op.seq) {
        return None; // the same request sent to another server
    }
    let mut h = h.clone();
    h.invoked[c] = op.seq;
    let invocation = match &op.kind {
        OpKind::Put(k, v) => KvOp::Put(k.clone(), v.clone()),
        OpKind::Get(k) => KvOp::Get(k.clone()),
        OpKind::Noop => return None, // clients send none
    };
    let _ = Arc::make_mut(&mut h.lin).on_invoke(env.src, invocation);
    Some(h)
}

/// A "yes" from `voter` to `candidate`'s pre-vote for `term`: once the term has a majority for
/// some server, only that is kept (the property asks no more).
fn record_pre_vote(cfg: &RaftModelCfg, h: &RaftHistory, term: Term, candidate: Id, voter: Id) -> Option<RaftHistory> {
    if h.pre_voted.contains(&term) {
        return None;
    }
    let mut h = record_in(h, |h| &mut h.pre_votes, (term, candidate), voter)?;
    let votes = h.pre_votes.get(&(term, candidate)).map_or(0, |v| v.len() + usize::from(!v.contains(&candidate)));
    if votes >= majority(cfg.servers) {
        h.pre_voted.insert(term);
        Arc::make_mut(&mut h.pre_votes).retain(|(t, _), _| *t != term);
    }
    Some(h)
}

/// Adds `id` to the set at `key` of one of the history's maps, if it is not there yet.
fn record_in(
    h: &RaftHistory,
    map: impl Fn(&mut RaftHistory) -> &mut Arc<BTreeMap<(Term, Id), BTreeSet<Id>>>,
    key: (Term, Id),
    id: Id,
) -> Option<RaftHistory> {
    let mut h = h.clone();
    let m = map(&mut h);
    if m.get(&key).is_some_and(|ids| ids.contains(&id)) {
        return None;
    }
    Arc::make_mut(m).entry(key).or_default().insert(id);
    Some(h)
}

/// Records a reply only when the client takes it: the one for its operation in flight; and with
/// check-quorum, an acknowledgement a leader receives (whether it still leads is for the quorum
/// check to see: [`RaftModel::observe`]).
fn record_msg_in(cfg: &RaftModelCfg, h: &RaftHistory, env: Envelope<&RaftMsg>) -> Option<RaftHistory> {
    if let (RaftMsg::Appended { term, .. }, true) = (env.msg, cfg.check_quorum) {
        return record_in(h, |h| &mut h.heard, (*term, env.dst), env.src);
    }
    let RaftMsg::Reply { seq, value, .. } = env.msg else { return None };
    let c = cfg.client_number(env.dst)?;
    if h.returned.get(c).is_none_or(|n| n + 1 != *seq) || h.invoked.get(c).is_none_or(|n| n < seq) {
        return None;
    }
    let mut h = h.clone();
    h.returned[c] = *seq;
    let number = u8::try_from(c).unwrap_or(u8::MAX);
    let ret = match client::op(number, *seq, cfg.keys).kind {
        OpKind::Put(..) => KvRet::PutOk,
        OpKind::Get(_) | OpKind::Noop => KvRet::GetOk(value.clone()),
    };
    let _ = Arc::make_mut(&mut h.lin).on_return(env.dst, ret);
    Some(h)
}

/// The Raft model: the actor model of [`RaftModelCfg`], its properties, the ghost state they read
/// ([`RaftHistory`], updated after every step), the bound, and the sound reductions of
/// [`super::reduction`].
#[derive(Clone)]
pub struct RaftModel {
    pub cfg: RaftModelCfg,
    pub actors: RaftActorModel,
}

/// Server `i`'s state, unless it is down.
pub fn server_state(s: &RaftSysState, i: usize) -> Option<&ServerState> {
    if s.crashed.get(i).copied().unwrap_or(true) {
        return None;
    }
    match s.actor_states.get(i).map(|a| &**a) {
        Some(RaftState::Server(st)) => Some(st),
        _ => None,
    }
}

/// Server `i`'s log: what it holds if it is up, what it saved if it is down.
pub fn server_log(s: &RaftSysState, i: usize) -> &Log {
    match server_state(s, i) {
        Some(st) => &st.log,
        None => durable_log(s, i),
    }
}

/// The log of a server that saved nothing.
static NO_LOG: std::sync::LazyLock<Log> = std::sync::LazyLock::new(Log::default);

/// What server `i` has on disk.
pub fn durable_log(s: &RaftSysState, i: usize) -> &Log {
    match s.actor_storages.get(i) {
        Some(Some(RaftStorage { log, .. })) => log,
        _ => &NO_LOG,
    }
}

impl RaftModel {
    /// Updates the ghost state after `action` led from `last` to `next`.
    fn observe(&self, last: &RaftSysState, action: &RaftAction, next: &mut RaftSysState) {
        // The history's sets are shared between states (`Arc`): copied only when they grow.
        let h = &mut next.history;
        if let ActorModelAction::Crash(id) = action {
            h.crashes = h.crashes.saturating_add(1);
            if let Some(st) = server_state(last, usize::from(*id)).filter(|st| st.is_leader()) {
                h.crashed_leader = Some(st.term);
            }
        }
        if self.cfg.check_quorum {
            observe_leaders_lease(&self.cfg, last, action, next);
        }
        let (states, crashed, h) = (&next.actor_states, &next.crashed, &mut next.history);
        for (i, &down) in crashed.iter().enumerate().take(self.cfg.servers) {
            // As `server_state`: a crashed server holds no state.
            let Some(RaftState::Server(st)) = states.get(i).filter(|_| !down).map(|a| &**a) else { continue };
            if st.is_leader() {
                match server_state(last, i).filter(|b| b.is_leader()) {
                    // Leader Append-Only compares a leader's log with its log one step earlier.
                    Some(before) => {
                        if !st.log.starts_with(&before.log) {
                            h.append_only_broken = true;
                        }
                    }
                    // Election Safety counts elections: a server that just became leader.
                    None => {
                        let elected = (st.term, Id::from(i));
                        if !h.leaders.contains(&elected) {
                            Arc::make_mut(&mut h.leaders).insert(elected);
                        }
                    }
                }
            }
            for index in 1..=st.commit {
                if let Some(e) = log::entry_at(&st.log, index) {
                    let key = (index, e.clone());
                    if !h.applied.contains_key(&key) {
                        Arc::make_mut(&mut h.applied).insert(key, st.term);
                    }
                }
            }
        }
    }
}

/// With check-quorum: what the leaders' quorum checks and depositions show (the ghost state of
/// [`LEADER_HAS_QUORUM`], [`LEADER_STABLE`] and [`LEADER_STEPPED_DOWN`]).
fn observe_leaders_lease(cfg: &RaftModelCfg, last: &RaftSysState, action: &RaftAction, next: &mut RaftSysState) {
    for i in 0..cfg.servers {
        let Some(before) = server_state(last, i).filter(|st| st.is_leader()) else { continue };
        let id = Id::from(i);
        let after = server_state(next, i);
        let leads = after.is_some_and(|st| st.is_leader() && st.term == before.term);
        match action {
            ActorModelAction::Crash(c) if *c == id => {}
            // Its quorum check: it may stay only if a majority was heard from since the last.
            ActorModelAction::Timeout(t, RaftTimer::Election) if *t == id => {
                let key = (before.term, id);
                let heard = next.history.heard.get(&key).map_or(0, |ids| ids.len());
                if leads && heard + 1 < majority(cfg.servers) {
                    next.history.kept_without_majority = true;
                }
                if !leads {
                    next.history.stepped_down = true;
                }
                if next.history.heard.contains_key(&key) {
                    Arc::make_mut(&mut next.history.heard).remove(&key);
                }
            }
            // Deposed by a higher term: a majority must have left it first (its lease holders
            // are the servers of its term that follow it, and itself).
            _ if !leads => {
                let holders = (0..cfg.servers)
                    .filter_map(|j| server_state(last, j).map(|st| (j, st)))
                    .filter(|(j, st)| st.term == before.term && (*j == i || st.leader == Some(id)))
                    .count();
                if holders >= majority(cfg.servers) {
                    next.history.deposed_with_majority = true;
                }
            }
            _ => {}
        }
    }
    // Acknowledgements to a server that no longer leads in their term are of no more use.
    let leading: Vec<Option<Term>> =
        (0..cfg.servers).map(|i| server_state(next, i).filter(|st| st.is_leader()).map(|st| st.term)).collect();
    let leads = |(t, l): &(Term, Id)| leading.get(usize::from(*l)).copied().flatten() == Some(*t);
    if !next.history.heard.keys().all(leads) {
        Arc::make_mut(&mut next.history.heard).retain(|k, _| leads(k));
    }
}

impl RaftModel {
    /// The redirecting adversary ([`RaftModelCfg::redirects`]): every message in flight between
    /// servers may also be delivered to any other server, as if its sender had sent it there. On
    /// the duplicating network a copy is a delivery like any other (the original stays in flight),
    /// so the adversary needs no state and no bound of its own.
    fn redirected_deliveries(&self, state: &RaftSysState, actions: &mut Vec<RaftAction>) {
        let Network::UnorderedDuplicating(set, _) = &state.network else { return };
        for env in set.iter().filter(|e| self.cfg.is_server(e.src) && self.cfg.is_server(e.dst)) {
            for to in self.cfg.server_ids().into_iter().filter(|to| *to != env.dst) {
                actions.push(ActorModelAction::Deliver { src: env.src, dst: to, msg: env.msg.clone() });
            }
        }
    }
}

impl Model for RaftModel {
    type State = RaftSysState;
    type Action = RaftAction;

    fn init_states(&self) -> Vec<RaftSysState> {
        let mut states = self.actors.init_states();
        for s in &mut states {
            self.remove_dead_messages(s);
        }
        states
    }

    fn actions(&self, state: &RaftSysState, actions: &mut Vec<RaftAction>) {
        self.actors.actions(state, actions);
        if self.cfg.redirects {
            self.redirected_deliveries(state, actions);
        }
        let crashes_left = usize::from(state.history.crashes) < self.cfg.crashes;
        // Only servers crash, and only as often as the bound says (Stateright's max_crashes
        // bounds the servers down at once, not the crashes in total).
        actions.retain(|a| match a {
            ActorModelAction::Crash(id) => crashes_left && self.cfg.is_server(*id),
            // Loss adds no behaviour a property can see: the network may already never deliver
            // a message, and a run with drops is matched by the run without them that makes the
            // same deliveries at the same points (its network only holds more). Drops would only
            // multiply network states, so they are not explored (docs/raft.md, "Loss").
            ActorModelAction::Drop(_) => false,
            _ => true,
        });
    }

    fn next_state(&self, last: &RaftSysState, action: RaftAction) -> Option<RaftSysState> {
        let mut next = self.actors.next_state(last, action.clone())?;
        self.observe(last, &action, &mut next);
        if let ActorModelAction::Crash(id) = action {
            forget_crashed_state(&mut next, usize::from(id));
        }
        self.remove_dead_messages(&mut next);
        // The duplicating network remembers the last delivery only to tell apart states that
        // differ in nothing else; nothing reads it (see `reduction::forget_last_delivery`).
        if let Network::UnorderedDuplicating(_, last_delivery) = &mut next.network {
            *last_delivery = None;
        }
        // A step that changed nothing else (a heartbeat repeating messages already in flight, a
        // redirect or denial that is dead on arrival) is no step: without this, states with
        // nothing left to do would not count as terminal.
        if next == *last {
            return None;
        }
        Some(next)
    }

    fn format_action(&self, action: &RaftAction) -> String {
        describe_action(&self.cfg, action)
    }

    fn format_step(&self, last: &RaftSysState, action: RaftAction) -> Option<String> {
        self.actors.format_step(last, action)
    }

    fn as_svg(&self, path: Path<RaftSysState, RaftAction>) -> Option<String> {
        let steps = path.into_vec();
        let init = steps.first()?.0.clone();
        let actions: Vec<RaftAction> = steps.into_iter().filter_map(|(_, a)| a).collect();
        // A redirected copy is an action of this model only, not of the actor model's.
        let path = if self.cfg.redirects {
            Path::from_actions(self, init, actions.iter())?
        } else {
            Path::from_actions(&self.actors, init, actions.iter())?
        };
        self.actors.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut ps = vec![
            Property::always(ELECTION_SAFETY, |_: &Self, s: &RaftSysState| election_safety(&s.history)),
            Property::always(LEADER_APPEND_ONLY, |_: &Self, s: &RaftSysState| !s.history.append_only_broken),
            Property::always(LOG_MATCHING, log_matching),
            Property::always(LEADER_COMPLETENESS, leader_completeness),
            Property::always(STATE_MACHINE_SAFETY, |_: &Self, s: &RaftSysState| state_machine_safety(&s.history)),
            Property::always(COMMITTED_DURABLE, committed_durable),
            Property::always(LINEARIZABLE, |_: &Self, s: &RaftSysState| s.history.lin.serialized_history().is_some()),
            Property::sometimes(LEADER_ELECTED, |_: &Self, s: &RaftSysState| !s.history.leaders.is_empty()),
        ];
        if self.cfg.clients > 0 && self.cfg.requests > 0 {
            ps.push(Property::sometimes(ENTRY_COMMITTED, |_: &Self, s: &RaftSysState| !s.history.applied.is_empty()));
        }
        if self.cfg.crashes > 0 && self.cfg.max_term >= 2 {
            ps.push(Property::sometimes(LEADER_REPLACED, leader_replaced));
        }
        if self.cfg.pre_vote {
            ps.push(Property::always(TERMS_PRE_VOTED, terms_pre_voted));
        }
        if self.cfg.check_quorum {
            ps.push(Property::always(LEADER_STABLE, |_: &Self, s: &RaftSysState| !s.history.deposed_with_majority));
            ps.push(Property::always(LEADER_HAS_QUORUM, |_: &Self, s: &RaftSysState| !s.history.kept_without_majority));
            ps.push(Property::sometimes(LEADER_STEPPED_DOWN, |_: &Self, s: &RaftSysState| s.history.stepped_down));
        }
        // Not with a log bound either: a path cut off by it would look terminal.
        if !self.cfg.lossy && self.cfg.crashes == 0 && self.cfg.max_log.is_none() {
            ps.push(Property::eventually(EVENTUALLY_COMMITTED, requests_committed_or_last_election_failed));
        }
        ps
    }

    fn within_boundary(&self, s: &RaftSysState) -> bool {
        let max_log = self.cfg.max_log.map_or(usize::MAX, log::pos);
        (0..self.cfg.servers).all(|i| {
            // A pre-vote asks for the next term: in the last term, it is an election beyond the
            // bound (without pre-vote, the timeout there leads beyond it at once).
            let up = match &*s.actor_states[i] {
                RaftState::Server(st) => {
                    st.term <= self.cfg.max_term
                        && st.log.len() <= max_log
                        && !(st.is_pre_candidate() && st.term >= self.cfg.max_term)
                }
                RaftState::Client(_) => true,
            };
            let saved = match &s.actor_storages[i] {
                Some(st) => st.term <= self.cfg.max_term && st.log.len() <= max_log,
                None => true,
            };
            up && saved
        })
    }
}

/// Replaces a crashed server's state by the one it will restart with. Stateright keeps the
/// state of a crashed actor, though nothing can see it: deliveries to a crashed actor are
/// refused, its timers are cancelled, properties skip it, and recovery replaces it with
/// `on_start`'s. Without this, two states that differ only in what a crashed server had in
/// memory would be explored twice (a sound reduction).
fn forget_crashed_state(s: &mut RaftSysState, i: usize) {
    let saved = s.actor_storages.get(i).and_then(|o| o.as_ref());
    if let Some(slot) = s.actor_states.get_mut(i) {
        if matches!(**slot, RaftState::Server(_)) {
            *slot = std::sync::Arc::new(RaftState::Server(ServerState::restore(saved)));
        }
    }
}

/// Figure 3, Election Safety: at most one leader can be elected in a given term — over the
/// whole history, not only among the leaders of the current state.
pub fn election_safety(h: &RaftHistory) -> bool {
    let terms: Vec<Term> = h.leaders.iter().map(|(t, _)| *t).collect();
    terms.windows(2).all(|w| w[0] != w[1])
}

/// Figure 3, Log Matching: if two logs contain an entry with the same index and term, the logs
/// are identical in all entries up through that index.
pub fn log_matching(m: &RaftModel, s: &RaftSysState) -> bool {
    let logs: Vec<&Log> = (0..m.cfg.servers).map(|i| server_log(s, i)).collect();
    logs.iter().enumerate().all(|(i, a)| {
        logs[i + 1..].iter().all(|b| {
            let common = a.len().min(b.len());
            let same_term = |k: usize| a.get(k).map(|e| e.term) == b.get(k).map(|e| e.term);
            match (0..common).rev().find(|&k| same_term(k)) {
                Some(k) => a.common_prefix(b) > k,
                None => true,
            }
        })
    })
}

/// Figure 3, Leader Completeness: an entry committed in a term is present in the logs of the
/// leaders of all later terms (and of that term).
pub fn leader_completeness(m: &RaftModel, s: &RaftSysState) -> bool {
    (0..m.cfg.servers).filter_map(|i| server_state(s, i)).filter(|l| l.is_leader()).all(|l| {
        s.history
            .applied
            .iter()
            .filter(|(_, &term)| term <= l.term)
            .all(|((index, e), _)| log::entry_at(&l.log, *index) == Some(e))
    })
}

/// Figure 3, State Machine Safety: no two servers ever apply different entries at one index.
pub fn state_machine_safety(h: &RaftHistory) -> bool {
    let indices: Vec<Index> = h.applied.keys().map(|(i, _)| *i).collect();
    indices.windows(2).all(|w| w[0] != w[1])
}

/// The mission's "committed entries durable": every applied entry is on the disks of a majority
/// of servers, whatever crashed since.
pub fn committed_durable(m: &RaftModel, s: &RaftSysState) -> bool {
    s.history.applied.keys().all(|(index, e)| {
        let holders = (0..m.cfg.servers).filter(|&i| log::entry_at(durable_log(s, i), *index) == Some(e)).count();
        holders >= majority(m.cfg.servers)
    })
}

/// Ongaro §9.6, what pre-vote is for: every term a server holds (in memory or on disk) was
/// started by a server that a majority would vote for — one that received a "yes" to its
/// pre-vote for that term from enough servers to make a majority with itself. Read from the
/// replies actually sent, not from the pre-candidate's count.
pub fn terms_pre_voted(m: &RaftModel, s: &RaftSysState) -> bool {
    let pre_voted = |t: &Term| majority(m.cfg.servers) <= 1 || s.history.pre_voted.contains(t);
    (0..m.cfg.servers).all(|i| {
        let up = server_state(s, i).map_or(0, |st| st.term);
        let saved = s.actor_storages.get(i).and_then(|o| o.as_ref()).map_or(0, |st| st.term);
        [up, saved].iter().filter(|t| **t > 0).all(pre_voted)
    })
}

/// A leader crashed, and a later term has a leader.
fn leader_replaced(m: &RaftModel, s: &RaftSysState) -> bool {
    s.history
        .crashed_leader
        .is_some_and(|t| (0..m.cfg.servers).filter_map(|i| server_state(s, i)).any(|l| l.is_leader() && l.term > t))
}

/// Liveness, as far as a bounded check can state it. Stateright's `eventually` holds on a path
/// once the condition held at some state of it, and is judged at terminal states (no message
/// left whose delivery changes anything, no election left within the term bound); so the
/// condition must be stable once true. It is: every client's requests are answered, or the last
/// election the bound allows failed for good — every server is in the last term, none leads, and
/// no candidate can still reach a majority with the votes cast for it plus those of servers that
/// have not voted and would not deny it.
fn requests_committed_or_last_election_failed(m: &RaftModel, s: &RaftSysState) -> bool {
    s.history.returned.iter().all(|n| *n >= Seq::from(m.cfg.requests)) || last_election_failed(m, s)
}

fn last_election_failed(m: &RaftModel, s: &RaftSysState) -> bool {
    let servers: Vec<&ServerState> = (0..m.cfg.servers).filter_map(|i| server_state(s, i)).collect();
    if servers.len() < m.cfg.servers || servers.iter().any(|st| st.term != m.cfg.max_term || st.is_leader()) {
        return false;
    }
    (0..m.cfg.servers).all(|c| {
        let cand = servers[c];
        let cast = servers.iter().filter(|v| v.voted_for == Some(Id::from(c))).count();
        let open = servers
            .iter()
            .filter(|v| {
                v.voted_for.is_none() && !log::deny_vote(log::LastEntry::of(&v.log), log::LastEntry::of(&cand.log))
            })
            .count();
        !cand.is_candidate() || cast + open < majority(m.cfg.servers)
    })
}

/// One step of a trace, with actors named s0, s1, … and c3, ….
pub fn describe_action(cfg: &RaftModelCfg, action: &RaftAction) -> String {
    let n = |id: &Id| cfg.actor_name(*id);
    match action {
        ActorModelAction::Deliver { src, dst, msg: msg @ RaftMsg::Vote { candidate, .. } } if candidate != dst => {
            format!("{} -> {} : {msg:?} (a copy of the vote for {}, redirected)", n(src), n(dst), n(candidate))
        }
        ActorModelAction::Deliver { src, dst, msg } => format!("{} -> {} : {msg:?}", n(src), n(dst)),
        ActorModelAction::Drop(env) => format!("network drops {} -> {} : {:?}", n(&env.src), n(&env.dst), env.msg),
        ActorModelAction::Timeout(id, RaftTimer::Election) => format!("{} election timeout", n(id)),
        ActorModelAction::Timeout(id, RaftTimer::Heartbeat) => format!("{} heartbeat", n(id)),
        ActorModelAction::Timeout(id, RaftTimer::Persist) => format!("{} writes its log to disk", n(id)),
        ActorModelAction::Crash(id) => format!("{} crashes", n(id)),
        ActorModelAction::Recover(id) => format!("{} restarts from its saved state", n(id)),
        ActorModelAction::SelectRandom { actor, .. } => format!("{} chooses", n(actor)),
    }
}

/// The system state in a few lines: each server, each client, and what is committed.
pub fn describe_state(cfg: &RaftModelCfg, s: &RaftSysState) -> String {
    let mut out = String::new();
    for (i, a) in s.actor_states.iter().enumerate() {
        let down = if s.crashed.get(i).copied().unwrap_or(false) { " (crashed)" } else { "" };
        let _ = writeln!(out, "  {}: {a:?}{down}", cfg.actor_name(Id::from(i)));
    }
    let applied: Vec<String> = s.history.applied.keys().map(|(i, e)| format!("{i}:{e:?}")).collect();
    let _ = write!(out, "  applied: [{}]", applied.join(", "));
    out
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
    };
    cfg.with_bug(bug)
}
