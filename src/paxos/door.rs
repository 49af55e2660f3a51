//! Paxos's door ([`crate::protocol::Protocol`]): its flags on the command line, its model, its
//! bugs and its scenarios, for everything else in `quorum`; how it runs on UDP is its runtime
//! door, src/paxos/hosting.rs.

use super::model::{describe_action, describe_state, NetworkKind, PaxosAction, PaxosModel, PaxosSysState};
use super::{Bug, PaxosModelCfg};
use crate::protocol::Protocol;
use crate::runtime::door::{Host, Runtime};
use crate::teach::scenario::Spec;
use stateright::actor::Id;

/// The network's guarantees, on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum NetworkArg {
    UnorderedDuplicating,
    UnorderedNonduplicating,
    Ordered,
}

/// The flags of `quorum check paxos` and `quorum explore paxos`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PaxosFlags {
    /// Number of proposers [default: 2]
    #[arg(long)]
    proposers: Option<usize>,
    /// Number of acceptors [default: 3]
    #[arg(long)]
    acceptors: Option<usize>,
    /// Number of learners [default: 1]
    #[arg(long)]
    learners: Option<usize>,
    /// Number of clients; 0 lets each proposer propose its own value [default: 2]
    #[arg(long)]
    clients: Option<usize>,
    /// Highest ballot round a proposer may start [default: 2]
    #[arg(long)]
    max_round: Option<u8>,
    /// Actors down at once (acceptors, and learners with --crash-learners) [default: 1]
    #[arg(long)]
    crashes: Option<usize>,
    /// Let learners crash and restart too
    #[arg(long)]
    crash_learners: bool,
    /// Proposer crash-restarts in total (a restarted proposer keeps only its round) [default: 0]
    #[arg(long)]
    proposer_crashes: Option<u8>,
    /// Learner crash-restarts in total (a restarted learner keeps only what it learned) [default: 0]
    #[arg(long)]
    learner_crashes: Option<u8>,
    /// The network's guarantees [default: unordered-duplicating]
    #[arg(long, value_enum)]
    network: Option<NetworkArg>,
    /// The network may also lose messages (drops the liveness property)
    #[arg(long)]
    lossy: bool,
}

impl Protocol for PaxosModelCfg {
    const NAME: &'static str = "paxos";
    const ABOUT: &'static str = "Single-decree Paxos: proposers, acceptors, learners, clients";
    type Bug = Bug;
    type Model = PaxosModel;
    type State = PaxosSysState;
    type Action = PaxosAction;
    type Flags = PaxosFlags;

    fn from_flags(a: &PaxosFlags, bug: Option<Bug>) -> Result<Self, String> {
        let mut cfg = bug.map_or_else(PaxosModelCfg::default, super::model::bug_config);
        cfg.proposers = a.proposers.unwrap_or(cfg.proposers);
        cfg.acceptors = a.acceptors.unwrap_or(cfg.acceptors);
        cfg.learners = a.learners.unwrap_or(cfg.learners);
        cfg.clients = a.clients.unwrap_or(cfg.clients);
        cfg.max_round = a.max_round.unwrap_or(cfg.max_round);
        cfg.crashes = a.crashes.unwrap_or(cfg.crashes);
        cfg.crash_learners |= a.crash_learners;
        cfg.proposer_crashes = a.proposer_crashes.unwrap_or(cfg.proposer_crashes);
        cfg.learner_crashes = a.learner_crashes.unwrap_or(cfg.learner_crashes);
        cfg.lossy |= a.lossy;
        if let Some(n) = a.network {
            cfg.network = match n {
                NetworkArg::UnorderedDuplicating => NetworkKind::UnorderedDuplicating,
                NetworkArg::UnorderedNonduplicating => NetworkKind::UnorderedNonduplicating,
                NetworkArg::Ordered => NetworkKind::Ordered,
            };
        }
        cfg.validate().map_err(|e| format!("invalid configuration: {e}"))?;
        Ok(cfg)
    }

    fn flags(&self) -> Vec<String> {
        let mut f = vec![
            format!("--proposers {}", self.proposers),
            format!("--acceptors {}", self.acceptors),
            format!("--learners {}", self.learners),
            format!("--clients {}", self.clients),
            format!("--max-round {}", self.max_round),
            format!("--crashes {}", self.crashes),
            format!("--network {}", self.network.name()),
        ];
        if self.crash_learners {
            f.push("--crash-learners".to_owned());
        }
        if self.proposer_crashes > 0 {
            f.push(format!("--proposer-crashes {}", self.proposer_crashes));
        }
        if self.learner_crashes > 0 {
            f.push(format!("--learner-crashes {}", self.learner_crashes));
        }
        if self.lossy {
            f.push("--lossy".to_owned());
        }
        f.extend(self.bugs.iter().map(|b| format!("--bug {}", b.name())));
        f
    }

    fn bug_config(bug: Bug) -> Self {
        super::model::bug_config(bug)
    }
    fn without_bugs(&self) -> Self {
        PaxosModelCfg { bugs: Default::default(), ..self.clone() }
    }
    fn describe(&self) -> String {
        PaxosModelCfg::describe(self)
    }

    fn model(&self) -> PaxosModel {
        self.clone().into_model()
    }
    fn describe_action(&self, a: &PaxosAction) -> String {
        describe_action(self, a)
    }
    fn describe_state(&self, s: &PaxosSysState) -> String {
        describe_state(self, s)
    }
    fn actor_names(&self) -> Vec<String> {
        (0..self.actor_count()).map(|i| self.actor_name(Id::from(i))).collect()
    }
    fn symmetry(s: &PaxosSysState) -> PaxosSysState {
        super::model::reduction::representative(s)
    }
    fn canonical(s: &PaxosSysState) -> PaxosSysState {
        crate::check::network::without_last_delivery(s)
    }

    fn scenarios() -> &'static [Spec<Self>] {
        &crate::teach::scenario::paxos::SCENARIOS
    }

    /// Runs on UDP: src/paxos/hosting.rs.
    fn runtime() -> Option<&'static dyn Runtime> {
        Some(&Host::<PaxosModelCfg>::NEW)
    }
}
