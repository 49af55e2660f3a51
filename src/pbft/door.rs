//! PBFT's door ([`crate::protocol::Protocol`]): its flags on the command line, its model and its
//! bugs, for everything else in `quorum`; its correct replica runs on UDP ([`super::hosting`]).

use super::model::{describe_action, describe_state, PbftAction, PbftModel, PbftSysState};
use super::{Bug, PbftModelCfg};
use crate::bugs::PlantedBug;
use crate::protocol::Protocol;
use crate::runtime::door::{Host, Runtime};
use crate::teach::scenario::Spec;
use stateright::actor::Id;

/// The flags of `quorum check pbft` and `quorum explore pbft`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PbftFlags {
    /// Number of replicas, n [default: 4]
    #[arg(long)]
    replicas: Option<usize>,
    /// Faults the quorums are sized for: a quorum is n - f replicas [default: 1]
    #[arg(long)]
    f: Option<usize>,
    /// Byzantine replicas, the first ones (view 0's primary first) [default: 1]
    #[arg(long)]
    byzantine: Option<usize>,
    /// The Byzantine replicas are the last ones (backups) instead of the first
    #[arg(long)]
    byzantine_backups: bool,
    /// Misbehaviours each Byzantine replica may choose, in total [default: 1; 2 beyond the
    /// tolerance, more Byzantine replicas than f or fewer than 3f+1 replicas, where a
    /// counterexample needs two]
    #[arg(long)]
    moves: Option<u8>,
    /// The Byzantine menu also holds forgeries: messages in another's name, certificates whose
    /// signatures do not verify
    #[arg(long)]
    forge: bool,
    /// The Byzantine replicas do nothing at all, a crash before their first step (as `quorum
    /// node pbft --byzantine-mode silent`); --moves and --forge then change nothing
    #[arg(long)]
    silent: bool,
    /// The Byzantine replicas run the correct code until each crashes, at any point (its one
    /// move); no correct replica's timer fires before a crash
    #[arg(long)]
    crash: bool,
    /// Number of clients [default: 1]
    #[arg(long)]
    clients: Option<usize>,
    /// Operations per client: Put, then Get, then Put … [default: 1]
    #[arg(long)]
    requests: Option<u8>,
    /// Keys the clients use [default: 1]
    #[arg(long)]
    keys: Option<u8>,
    /// Highest view a replica may reach [default: 0]
    #[arg(long)]
    max_view: Option<u64>,
    /// Log size L: sequence numbers h+1..=h+L above the low watermark h [default: one per
    /// request]
    #[arg(long)]
    window: Option<u64>,
    /// Checkpoint period K (section 4.3): a checkpoint after every K-th sequence number, and the
    /// window moves with the stable one; 0: none [default: 0]
    #[arg(long)]
    checkpoint: Option<u64>,
}

impl Protocol for PbftModelCfg {
    const NAME: &'static str = "pbft";
    const ABOUT: &'static str = "PBFT: Byzantine replicas, normal case and view change, a key-value map";
    type Bug = Bug;
    type Model = PbftModel;
    type State = PbftSysState;
    type Action = PbftAction;
    type Flags = PbftFlags;

    fn from_flags(a: &PbftFlags, bug: Option<Bug>) -> Result<Self, String> {
        let mut cfg = bug.map_or_else(PbftModelCfg::default, super::model::bug_config);
        cfg.replicas = a.replicas.unwrap_or(cfg.replicas);
        cfg.f = a.f.unwrap_or(cfg.f);
        cfg.byzantine = a.byzantine.unwrap_or(cfg.byzantine);
        cfg.byzantine_backups |= a.byzantine_backups;
        cfg.moves = a.moves.unwrap_or(cfg.moves);
        cfg.forge |= a.forge;
        cfg.silent |= a.silent;
        cfg.crash |= a.crash;
        cfg.clients = a.clients.unwrap_or(cfg.clients);
        cfg.requests = a.requests.unwrap_or(cfg.requests);
        cfg.keys = a.keys.unwrap_or(cfg.keys);
        cfg.max_view = a.max_view.unwrap_or(cfg.max_view);
        cfg.window = a.window.or(cfg.window);
        cfg.checkpoint = a.checkpoint.unwrap_or(cfg.checkpoint);
        if a.moves.is_none() && Protocol::beyond_tolerance(&cfg) {
            cfg.moves = cfg.moves.max(2); // what agreement needs to break there
        }
        cfg.validate().map_err(|e| format!("invalid configuration: {e}"))?;
        Ok(cfg)
    }

    fn flags(&self) -> Vec<String> {
        let mut f = vec![
            format!("--replicas {}", self.replicas),
            format!("--f {}", self.f),
            format!("--byzantine {}", self.byzantine),
            format!("--moves {}", self.moves),
            format!("--clients {}", self.clients),
            format!("--requests {}", self.requests),
            format!("--max-view {}", self.max_view),
        ];
        if self.keys != 1 {
            f.push(format!("--keys {}", self.keys));
        }
        if let Some(w) = self.window {
            f.push(format!("--window {w}"));
        }
        if self.checkpoint != 0 {
            f.push(format!("--checkpoint {}", self.checkpoint));
        }
        let on_off = [
            (self.byzantine_backups, "--byzantine-backups"),
            (self.forge, "--forge"),
            (self.silent, "--silent"),
            (self.crash, "--crash"),
        ];
        for (on, flag) in on_off {
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
        PbftModelCfg { bugs: Default::default(), ..self.clone() }
    }
    fn describe(&self) -> String {
        PbftModelCfg::describe(self)
    }

    fn model(&self) -> PbftModel {
        self.clone().into_model()
    }
    fn describe_action(&self, a: &PbftAction) -> String {
        describe_action(self, a)
    }
    fn describe_state(&self, s: &PbftSysState) -> String {
        describe_state(self, s)
    }
    fn actor_names(&self) -> Vec<String> {
        (0..self.replicas + self.clients).map(|i| self.actor_name(Id::from(i))).collect()
    }
    fn symmetry(s: &PbftSysState) -> PbftSysState {
        super::model::symmetry::representative(s)
    }
    fn canonical(s: &PbftSysState) -> PbftSysState {
        crate::check::network::without_last_delivery(s)
    }
    /// The culprits: replicas that signed conflicting orders, with the evidence.
    fn evidence(&self, actions: &[PbftAction]) -> Vec<String> {
        super::model::culprits::describe(self, &super::model::culprits::culprits(self, actions))
    }
    /// Byzantine replicas that may lie (not only stay silent or crash), more of them than f or
    /// fewer than 3f+1 replicas in all: §4's bound is broken and agreement must fail.
    fn beyond_tolerance(&self) -> bool {
        let lying = self.byzantine > 0 && !self.silent && !self.crash;
        lying && (self.byzantine > self.f || self.replicas < 3 * self.f + 1)
    }

    fn scenarios() -> &'static [Spec<Self>] {
        &crate::teach::scenario::pbft::SCENARIOS
    }
    /// The four bugs whose counterexamples need a view change, where a search takes minutes
    /// or more: their scenarios replay one in milliseconds.
    fn bug_scenario(bug: Bug) -> Option<&'static str> {
        crate::teach::scenario::pbft::for_bug(bug)
    }

    /// Runs on UDP: src/pbft/hosting.rs.
    fn runtime() -> Option<&'static dyn Runtime> {
        Some(&Host::<PbftModelCfg>::NEW)
    }
}
