//! The model's configuration: roles, bounds, network, planted bugs, and the one builder
//! ([`PaxosModelCfg::into_model`]); the configurations that show each bug.

use crate::paxos::actor::{PaxosActor, Role};
use crate::paxos::layout::{Kind, Layout, LayoutError};
use crate::paxos::{Bug, BugSet, Value};
use serde::Serialize;
use stateright::actor::{ActorModel, Id, LossyNetwork, Network};

use super::history::{record_msg_in, record_msg_out};
use super::step::within_boundary;
use super::{PaxosHistory, PaxosModel};
use std::collections::BTreeSet;

/// How the model's network treats messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkKind {
    /// Any sent message can be delivered, in any order, any number of times.
    UnorderedDuplicating,
    /// Any order, each message at most once.
    UnorderedNonduplicating,
    /// FIFO per (sender, receiver) pair, each message once.
    Ordered,
}

impl NetworkKind {
    pub const ALL: [NetworkKind; 3] =
        [NetworkKind::UnorderedDuplicating, NetworkKind::UnorderedNonduplicating, NetworkKind::Ordered];

    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::UnorderedDuplicating => "unordered-duplicating",
            NetworkKind::UnorderedNonduplicating => "unordered-nonduplicating",
            NetworkKind::Ordered => "ordered",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.name() == name)
    }

    pub(crate) fn network<M: Eq + std::hash::Hash>(self) -> Network<M> {
        match self {
            NetworkKind::UnorderedDuplicating => Network::new_unordered_duplicating([]),
            NetworkKind::UnorderedNonduplicating => Network::new_unordered_nonduplicating([]),
            NetworkKind::Ordered => Network::new_ordered([]),
        }
    }
}

/// A Paxos configuration and its bounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PaxosModelCfg {
    pub proposers: usize,
    pub acceptors: usize,
    pub learners: usize,
    /// Clients, each proposing its own value ('A', 'B', …) to proposer `i % proposers` and then
    /// reading from learner `i % learners`. With 0 clients, proposer `i` proposes value `i` itself.
    pub clients: usize,
    /// Bound: the highest round a proposer may start (each proposer uses at most this many ballots).
    pub max_round: u8,
    /// How many actors may be down at once (Stateright's `max_crashes`). Only acceptors crash,
    /// and learners too if `crash_learners`; a crashed actor restarts from what it saved.
    pub crashes: usize,
    pub crash_learners: bool,
    /// Bound: crash-restarts of learners in total, one down at a time (0: learners crash only
    /// with `crash_learners`, as often as they like). A restarted learner keeps only what it
    /// saved: its learned value, or that it was started.
    pub learner_crashes: u8,
    /// Bound: crash-restarts of proposers in total (0: proposers never crash). A restarted
    /// proposer keeps only its round; one with its own value (0 clients) proposes it again.
    pub proposer_crashes: u8,
    pub network: NetworkKind,
    /// Whether the network may also lose any message.
    pub lossy: bool,
    #[serde(serialize_with = "crate::bugs::serialize")]
    pub bugs: BugSet,
    /// Whether messages that no handler can act on again are removed from the network (on by
    /// default; off only to check that the reduction keeps every verdict, models/reduction.rs).
    #[serde(skip_serializing_if = "is_true")]
    pub reduce_dead: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for PaxosModelCfg {
    /// The bound of the default test suite: 2 proposers with 2 ballots each, 3 acceptors (one may
    /// crash and restart), 1 learner, 2 clients, a network that reorders and duplicates.
    fn default() -> Self {
        PaxosModelCfg {
            proposers: 2,
            acceptors: 3,
            learners: 1,
            clients: 2,
            max_round: 2,
            crashes: 1,
            crash_learners: false,
            learner_crashes: 0,
            proposer_crashes: 0,
            network: NetworkKind::UnorderedDuplicating,
            lossy: false,
            bugs: BugSet::NONE,
            reduce_dead: true,
        }
    }
}

/// A configuration that cannot be checked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CfgError {
    /// The roles' counts: at least one of each ([`Layout::validate`]).
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("at most {max} clients (one value letter each), got {got}")]
    TooManyClients { max: usize, got: usize },
    #[error("at most {max} actors in a model, got {got}")]
    TooManyActors { max: usize, got: usize },
    #[error("--crashes {crashes} exceeds the {crashable} actors that can crash ({what})")]
    TooManyCrashes { crashes: usize, crashable: usize, what: &'static str },
    #[error("--max-round must be between 1 and 100, got {0}")]
    MaxRound(u8),
    #[error(
        "--crash-learners and --learner-crashes exclude each other (learners down at once, or crash-restarts in total)"
    )]
    LearnerCrashBounds,
}

impl PaxosModelCfg {
    pub fn with_bug(mut self, bug: Bug) -> Self {
        self.bugs = self.bugs.with(bug);
        self
    }

    /// Which actor id plays which role: [`Layout`], shared with the runtime and the tests.
    pub fn layout(&self) -> Layout {
        Layout::new(self.acceptors, self.proposers, self.learners, self.clients)
    }

    pub fn validate(&self) -> Result<(), CfgError> {
        self.layout().validate()?;
        if self.clients > 26 {
            return Err(CfgError::TooManyClients { max: 26, got: self.clients });
        }
        let actors = self.actor_count();
        if actors > 64 {
            return Err(CfgError::TooManyActors { max: 64, got: actors });
        }
        if self.max_round == 0 || self.max_round > 100 {
            return Err(CfgError::MaxRound(self.max_round));
        }
        let (crashable, what) = if self.crash_learners {
            (self.acceptors + self.learners, "acceptors and learners")
        } else {
            (self.acceptors, "acceptors")
        };
        if self.crashes > crashable {
            return Err(CfgError::TooManyCrashes { crashes: self.crashes, crashable, what });
        }
        if self.crash_learners && self.learner_crashes > 0 {
            return Err(CfgError::LearnerCrashBounds);
        }
        Ok(())
    }

    pub fn actor_count(&self) -> usize {
        self.layout().actors()
    }
    pub fn acceptor_ids(&self) -> Vec<Id> {
        self.layout().acceptor_ids()
    }
    pub fn proposer_ids(&self) -> Vec<Id> {
        self.layout().proposer_ids()
    }
    pub fn learner_ids(&self) -> Vec<Id> {
        self.layout().learner_ids()
    }
    pub fn client_ids(&self) -> Vec<Id> {
        self.layout().client_ids()
    }

    /// The value proposer `i` proposes itself (0 clients) or client `i` proposes.
    pub fn value_of(i: usize) -> Value {
        (b'A' + i as u8) as char
    }

    /// The values that were proposed (by clients, or by proposers when there are none).
    pub fn proposed_values(&self) -> BTreeSet<Value> {
        let n = if self.clients == 0 { self.proposers } else { self.clients };
        (0..n).map(Self::value_of).collect()
    }

    /// A short name for an actor: a0, p3, l5, c6 (role letter and id).
    pub fn actor_name(&self, id: Id) -> String {
        self.layout().name(id)
    }

    /// Whether actor `i` may crash in this configuration.
    pub fn crashable(&self, i: usize) -> bool {
        let kind = self.layout().kind(Id::from(i));
        kind == Some(Kind::Acceptor)
            || (self.crash_learners && kind == Some(Kind::Learner))
            || self.proposer_may_crash(i)
            || self.learner_may_crash(i)
    }

    /// Whether actor `i` is a learner that may crash with the total bound (`learner_crashes` > 0).
    pub fn learner_may_crash(&self, i: usize) -> bool {
        self.learner_crashes > 0 && self.layout().kind(Id::from(i)) == Some(Kind::Learner)
    }

    /// Whether actor `i` is a proposer that may crash (`proposer_crashes` > 0).
    pub fn proposer_may_crash(&self, i: usize) -> bool {
        self.proposer_crashes > 0 && self.layout().kind(Id::from(i)) == Some(Kind::Proposer)
    }

    /// One line per setting, for the CLI and the docs.
    pub fn describe(&self) -> String {
        let bugs: Vec<_> = self.bugs.iter().map(Bug::name).collect();
        format!(
            "{} proposers (rounds <= {}), {} acceptors, {} learners, {} clients, {} network{}, {} crash{} at once ({}){}{}{}",
            self.proposers,
            self.max_round,
            self.acceptors,
            self.learners,
            self.clients,
            self.network.name(),
            if self.lossy { " + loss" } else { "" },
            self.crashes,
            if self.crashes == 1 { "" } else { "es" },
            if self.crash_learners { "acceptors, learners" } else { "acceptors" },
            match self.proposer_crashes {
                0 => String::new(),
                n => format!(", {n} proposer crash-restart{} in total", if n == 1 { "" } else { "s" }),
            },
            match self.learner_crashes {
                0 => String::new(),
                n => format!(", {n} learner crash-restart{} in total", if n == 1 { "" } else { "s" }),
            },
            if bugs.is_empty() { String::new() } else { format!(", bugs: {}", bugs.join(",")) },
        ) + if self.reduce_dead { "" } else { ", dead messages kept" }
    }

    /// Builds the model. Call [`validate`](Self::validate) first: an invalid configuration
    /// builds a model that is not meaningful.
    pub fn into_model(self) -> PaxosModel {
        let layout = self.layout();
        let bugs = self.bugs;
        let mut history = PaxosHistory::default();
        // Every role as the runtime runs it, except that with no clients proposer `i` proposes
        // value `i` itself, and each client proposes its own letter.
        let actors: Vec<Role> = (0..layout.actors())
            .map(|i| match layout.kind(Id::from(i)) {
                Some(Kind::Proposer) => {
                    let own_value = (self.clients == 0).then(|| PaxosModelCfg::value_of(i - self.acceptors));
                    layout.proposer_role(own_value)
                }
                Some(Kind::Client) => {
                    let number = i - layout.servers();
                    layout.client_role(number, PaxosModelCfg::value_of(number))
                }
                _ => layout.server_role(Id::from(i)).expect("acceptors and learners are servers"),
            })
            .collect();
        history.proposed = self.proposed_values();
        let lossy = if self.lossy { LossyNetwork::Yes } else { LossyNetwork::No };
        let actors = ActorModel::new(self.clone(), history)
            .actors(actors.into_iter().map(|role| PaxosActor { role, bugs }))
            .init_network(self.network.network())
            .lossy_network(lossy)
            .max_crashes(
                self.crashes + usize::from(self.proposer_crashes.min(1)) + usize::from(self.learner_crashes.min(1)),
            )
            .within_boundary(within_boundary)
            .record_msg_out(record_msg_out)
            .record_msg_in(record_msg_in);
        PaxosModel { cfg: self, actors }
    }
}

/// The smallest bound at which the checker shows `bug`: the configuration `quorum check paxos
/// --bug NAME` starts from and the bug tests in models/ use. The network does not duplicate
/// (smaller state spaces for BFS) unless the bug needs duplicates.
pub fn bug_config(bug: Bug) -> PaxosModelCfg {
    let base = PaxosModelCfg {
        clients: 0,
        crashes: 0,
        max_round: 1,
        network: NetworkKind::UnorderedNonduplicating,
        ..PaxosModelCfg::default()
    };
    let cfg = match bug {
        Bug::AcceptorIgnoresPromise | Bug::NonUniqueBallots => base,
        // Three ballots: two that got different values accepted, and one that reads both.
        Bug::LowestAcceptedValue => PaxosModelCfg { proposers: 3, ..base },
        Bug::VoteIsFinal => PaxosModelCfg { max_round: 2, ..base },
        Bug::PromiseNotPersisted => PaxosModelCfg { crashes: 1, ..base },
        Bug::LearnerCountsDuplicates => {
            PaxosModelCfg { proposers: 1, network: NetworkKind::UnorderedDuplicating, ..base }
        }
        Bug::InventsValue => PaxosModelCfg { proposers: 1, ..base },
        Bug::LearnerForgets => PaxosModelCfg { proposers: 1, crashes: 1, crash_learners: true, ..base },
        Bug::ReportsOwnValue => PaxosModelCfg { clients: 2, ..base },
        Bug::SilentLearner => relearn_config(),
        Bug::LearnerNoCatchUp => PaxosModelCfg { learners: 1, ..learn_config() },
        // With 3 acceptors two votes are a majority: two of 5 are not.
        Bug::LearnerQuorumOfTwo => PaxosModelCfg { proposers: 1, acceptors: 5, ..base },
    };
    cfg.with_bug(bug)
}

/// The bound at which a restarted proposer must relearn the decision: 1 proposer proposing its
/// own value with 2 ballots, 3 acceptors, 1 learner, one proposer crash-restart, no other crash,
/// a network that reorders but neither duplicates nor loses. Not duplicating on purpose: the
/// learner sends Chosen once (in the runtime too), and a duplicating network could deliver the
/// old one again to the restarted proposer, which would hide a learner that stays silent.
pub fn relearn_config() -> PaxosModelCfg {
    PaxosModelCfg {
        proposers: 1,
        clients: 0,
        max_round: 2,
        crashes: 0,
        proposer_crashes: 1,
        network: NetworkKind::UnorderedNonduplicating,
        ..PaxosModelCfg::default()
    }
}

/// The bound at which a restarted learner must learn the decision: 1 proposer proposing its own
/// value with 1 ballot, 3 acceptors, 2 learners, one learner crash-restart, no other crash, a
/// network that reorders but neither duplicates nor loses. Not duplicating on purpose: each
/// acceptor sends its Accepted once (in the runtime too), and a duplicating network could
/// deliver a vote again that a learner lost in its crash, which would hide a learner that never
/// asks. One ballot: with a second, the proposer's retry would re-send votes to a learner alone.
pub fn learn_config() -> PaxosModelCfg {
    PaxosModelCfg {
        proposers: 1,
        learners: 2,
        clients: 0,
        max_round: 1,
        crashes: 0,
        learner_crashes: 1,
        network: NetworkKind::UnorderedNonduplicating,
        ..PaxosModelCfg::default()
    }
}
