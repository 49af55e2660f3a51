//! Raft's door ([`crate::protocol::Protocol`]): its flags on the command line, its model, its
//! bugs and its scenarios, for everything else in `quorum`; how it runs on UDP is its runtime
//! door, src/raft/hosting.rs.

use super::model::{describe_action, describe_state, RaftAction, RaftModel, RaftSysState};
use super::{Bug, RaftModelCfg};
use crate::bugs::PlantedBug;
use crate::protocol::Protocol;
use crate::runtime::door::{Host, Runtime};
use crate::teach::scenario::Spec;
use stateright::actor::Id;

/// The flags of `quorum check raft` and `quorum explore raft`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RaftFlags {
    /// Number of servers [default: 3]
    #[arg(long)]
    servers: Option<usize>,
    /// Number of clients [default: 1]
    #[arg(long)]
    clients: Option<usize>,
    /// Operations per client: Put, then Get, then Put … [default: 1]
    #[arg(long)]
    requests: Option<u8>,
    /// Keys the clients use: with several, each client writes its own and reads the next one's
    /// [default: 1]
    #[arg(long)]
    keys: Option<u8>,
    /// Highest term a server may reach [default: 2]
    #[arg(long)]
    max_term: Option<u8>,
    /// Longest log a server may hold [default: no bound but the requests]
    #[arg(long)]
    max_log: Option<u8>,
    /// Server crash-restarts in total [default: 1]
    #[arg(long)]
    crashes: Option<usize>,
    /// The network may also lose messages (drops the liveness property)
    #[arg(long)]
    lossy: bool,
    /// Eager replication, as the runtime runs: AppendEntries on each request and each
    /// acknowledgement, not only on heartbeats
    #[arg(long)]
    eager: bool,
    /// Log entries per AppendEntries [default: 1]
    #[arg(long)]
    max_batch: Option<usize>,
    /// Leaders write new entries to disk in parallel with sending them, as the runtime does
    #[arg(long)]
    parallel_persist: bool,
    /// An on-path adversary may deliver a copy of any message between servers to any other
    /// server, its sender unchanged (a wire that does not bind datagrams to their receiver)
    #[arg(long)]
    redirects: bool,
    /// Pre-vote (Ongaro §9.6), as the runtime runs: a server asks whether a majority would vote
    /// for it before it raises its term
    #[arg(long)]
    pre_vote: bool,
    /// Check-quorum and the leader lease (Ongaro §6.2, §9.6), as the runtime runs: a leader
    /// without a majority steps down; a server that hears from a leader ignores vote requests
    #[arg(long)]
    check_quorum: bool,
    /// Leaders believe a mismatch at or below a follower's matchIndex and repair the follower,
    /// as the runtime does
    #[arg(long)]
    repair: bool,
}

impl Protocol for RaftModelCfg {
    const NAME: &'static str = "raft";
    const ABOUT: &'static str = "Raft: election, log replication, persistence, a key-value map";
    type Bug = Bug;
    type Model = RaftModel;
    type State = RaftSysState;
    type Action = RaftAction;
    type Flags = RaftFlags;

    fn from_flags(a: &RaftFlags, bug: Option<Bug>) -> Result<Self, String> {
        let mut cfg = bug.map_or_else(RaftModelCfg::default, super::model::bug_config);
        cfg.servers = a.servers.unwrap_or(cfg.servers);
        cfg.clients = a.clients.unwrap_or(cfg.clients);
        cfg.requests = a.requests.unwrap_or(cfg.requests);
        cfg.keys = a.keys.unwrap_or(cfg.keys);
        cfg.max_term = a.max_term.map_or(cfg.max_term, u64::from);
        cfg.max_log = a.max_log.map(u64::from).or(cfg.max_log);
        cfg.crashes = a.crashes.unwrap_or(cfg.crashes);
        cfg.lossy |= a.lossy;
        cfg.eager |= a.eager;
        cfg.max_batch = a.max_batch.unwrap_or(cfg.max_batch);
        cfg.parallel_persist |= a.parallel_persist;
        cfg.redirects |= a.redirects;
        cfg.pre_vote |= a.pre_vote;
        cfg.check_quorum |= a.check_quorum;
        cfg.repair |= a.repair;
        cfg.validate().map_err(|e| format!("invalid configuration: {e}"))?;
        Ok(cfg)
    }

    fn flags(&self) -> Vec<String> {
        let mut f = vec![
            format!("--servers {}", self.servers),
            format!("--clients {}", self.clients),
            format!("--requests {}", self.requests),
            format!("--max-term {}", self.max_term),
            format!("--crashes {}", self.crashes),
        ];
        if self.keys != 1 {
            f.push(format!("--keys {}", self.keys));
        }
        if let Some(m) = self.max_log {
            f.push(format!("--max-log {m}"));
        }
        if self.max_batch != 1 {
            f.push(format!("--max-batch {}", self.max_batch));
        }
        for (on, flag) in [
            (self.lossy, "--lossy"),
            (self.eager, "--eager"),
            (self.parallel_persist, "--parallel-persist"),
            (self.redirects, "--redirects"),
            (self.pre_vote, "--pre-vote"),
            (self.check_quorum, "--check-quorum"),
            (self.repair, "--repair"),
        ] {
            if on {
                f.push(flag.to_owned());
            }
        }
        f.extend(self.bugs.iter().map(|b| format!("--bug {}", b.name())));
        f
    }

    fn bug_config(bug: Bug) -> Self {
        super::model::bug_config(bug)
    }
    fn without_bugs(&self) -> Self {
        RaftModelCfg { bugs: Default::default(), ..self.clone() }
    }
    fn describe(&self) -> String {
        RaftModelCfg::describe(self)
    }

    fn model(&self) -> RaftModel {
        self.clone().into_model()
    }
    fn describe_action(&self, a: &RaftAction) -> String {
        describe_action(self, a)
    }
    fn describe_state(&self, s: &RaftSysState) -> String {
        describe_state(self, s)
    }
    fn actor_names(&self) -> Vec<String> {
        (0..self.servers + self.clients).map(|i| self.actor_name(Id::from(i))).collect()
    }
    fn symmetry(s: &RaftSysState) -> RaftSysState {
        super::model::reduction::representative(s)
    }
    fn canonical(s: &RaftSysState) -> RaftSysState {
        crate::check::network::without_last_delivery(s)
    }

    fn scenarios() -> &'static [Spec<Self>] {
        &crate::teach::scenario::raft::SCENARIOS
    }
    /// BFS needs about a minute for Figure 8's 19 steps, while the `figure8-bug` scenario
    /// replays the same counterexample in milliseconds (and goes on to show the overwrite).
    fn bug_scenario(bug: Bug) -> Option<&'static str> {
        (bug == Bug::Figure8Commit).then_some("figure8-bug")
    }

    /// Runs on UDP: src/raft/hosting.rs.
    fn runtime() -> Option<&'static dyn Runtime> {
        Some(&Host::<RaftModelCfg>::NEW)
    }
}
