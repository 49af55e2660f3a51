//! The one place where the Paxos model is defined: [`PaxosModelCfg::into_model`] builds the
//! [`PaxosModel`] (the actor model, its properties, its bound and its reductions) for the tests,
//! the CLI, the Explorer and the benchmarks.
//!
//! Actor layout: acceptors `0..A`, then proposers, then learners, then clients.

use super::actor::{PaxosActor, PaxosState, Role};
use super::spec::{Decree, DecreeOp, DecreeRet};
use super::{majority, Ballot, Bug, BugSet, PaxosMsg, Value};
use serde::Serialize;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Envelope, Id, LossyNetwork, Network};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Path, Property, Rewrite, RewritePlan};
use std::sync::Arc;

pub use super::reduction::{forget_last_delivery, is_dead, representative};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

pub type PaxosActorModel = ActorModel<PaxosActor, PaxosModelCfg, PaxosHistory>;
pub type PaxosSysState = ActorModelState<PaxosActor, PaxosHistory>;
pub type PaxosAction = ActorModelAction<PaxosMsg, super::PaxosTimer, ()>;

/// Property names, shared by the model, the bug zoo, the CLI and the tests.
pub mod property {
    pub const AGREEMENT: &str = "agreement";
    pub const LEARNER_AGREEMENT: &str = "learner agreement";
    pub const VALIDITY: &str = "validity";
    pub const STABILITY: &str = "stability";
    pub const LINEARIZABLE: &str = "linearizable";
    pub const VALUE_CHOSEN: &str = "value chosen";
    pub const DUELING: &str = "dueling proposers";
    pub const EVENTUALLY_CHOSEN: &str = "eventually chosen";
    pub const DECISION_RELEARNED: &str = "restarted proposers relearn the decision";
    pub const DECISION_LEARNED: &str = "restarted learners learn the decision";
}
use property::*;

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
    #[error("{0} must be at least 1")]
    Zero(&'static str),
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

    pub fn validate(&self) -> Result<(), CfgError> {
        for (n, what) in [(self.proposers, "proposers"), (self.acceptors, "acceptors"), (self.learners, "learners")] {
            if n == 0 {
                return Err(CfgError::Zero(what));
            }
        }
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
        self.acceptors + self.proposers + self.learners + self.clients
    }
    pub fn acceptor_ids(&self) -> Vec<Id> {
        (0..self.acceptors).map(Id::from).collect()
    }
    pub fn proposer_ids(&self) -> Vec<Id> {
        (self.acceptors..self.acceptors + self.proposers).map(Id::from).collect()
    }
    pub fn learner_ids(&self) -> Vec<Id> {
        let first = self.acceptors + self.proposers;
        (first..first + self.learners).map(Id::from).collect()
    }
    pub fn client_ids(&self) -> Vec<Id> {
        let first = self.acceptors + self.proposers + self.learners;
        (first..first + self.clients).map(Id::from).collect()
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
        let i = usize::from(id);
        let role = if i < self.acceptors {
            'a'
        } else if i < self.acceptors + self.proposers {
            'p'
        } else if i < self.acceptors + self.proposers + self.learners {
            'l'
        } else {
            'c'
        };
        format!("{role}{i}")
    }

    /// Whether actor `i` may crash in this configuration.
    pub fn crashable(&self, i: usize) -> bool {
        i < self.acceptors
            || (self.crash_learners
                && (self.acceptors + self.proposers..self.acceptors + self.proposers + self.learners).contains(&i))
            || self.proposer_may_crash(i)
            || self.learner_may_crash(i)
    }

    /// Whether actor `i` is a learner that may crash with the total bound (`learner_crashes` > 0).
    pub fn learner_may_crash(&self, i: usize) -> bool {
        let first = self.acceptors + self.proposers;
        self.learner_crashes > 0 && (first..first + self.learners).contains(&i)
    }

    /// Whether actor `i` is a proposer that may crash (`proposer_crashes` > 0).
    pub fn proposer_may_crash(&self, i: usize) -> bool {
        self.proposer_crashes > 0 && (self.acceptors..self.acceptors + self.proposers).contains(&i)
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
        let acceptors = self.acceptor_ids();
        let proposers = self.proposer_ids();
        let learners = self.learner_ids();
        let bugs = self.bugs;
        let first_proposer = proposers[0];
        let mut history = PaxosHistory::default();
        let mut actors = Vec::new();
        for _ in &acceptors {
            actors.push(Role::Acceptor { learners: learners.clone() });
        }
        for i in 0..self.proposers {
            let own_value = (self.clients == 0).then(|| PaxosModelCfg::value_of(i));
            actors.push(Role::Proposer { acceptors: acceptors.clone(), first_proposer, own_value });
        }
        for _ in &learners {
            actors.push(Role::Learner { acceptors: acceptors.len(), proposers: proposers.clone() });
        }
        for i in 0..self.clients {
            actors.push(Role::Client {
                proposer: proposers[i % proposers.len()],
                learner: learners[i % learners.len()],
                value: PaxosModelCfg::value_of(i),
            });
        }
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

/// The Paxos model: the actor model of [`PaxosModelCfg`], its properties, and one sound
/// reduction — a message that no handler can ever act on again is removed from the network (see
/// [`is_dead`]). Deliveries of such a message are no-ops, so without the removal two states that
/// differ only in dead messages would be explored twice.
#[derive(Clone)]
pub struct PaxosModel {
    pub cfg: PaxosModelCfg,
    pub actors: PaxosActorModel,
}

impl Model for PaxosModel {
    type State = PaxosSysState;
    type Action = PaxosAction;

    fn init_states(&self) -> Vec<PaxosSysState> {
        let mut states = self.actors.init_states();
        for s in &mut states {
            self.remove_dead_messages(s);
        }
        states
    }

    fn actions(&self, state: &PaxosSysState, actions: &mut Vec<PaxosAction>) {
        self.actors.actions(state, actions);
        if self.cfg.proposer_crashes > 0 || self.cfg.learner_crashes > 0 {
            // Stateright's max_crashes bounds the actors down at once, for every role alike:
            // acceptors (and learners with `crash_learners`) keep their bound (`crashes` at
            // once), proposers and learners with a total bound get theirs (`proposer_crashes`,
            // `learner_crashes` in total, one of the role down at a time).
            let cfg = &self.cfg;
            let class = |i: usize| u8::from(cfg.proposer_may_crash(i)) + 2 * u8::from(cfg.learner_may_crash(i));
            let down = |c: u8| (0..state.crashed.len()).filter(|&i| state.crashed[i] && class(i) == c).count();
            let (others_down, proposers_down, learners_down) = (down(0), down(1), down(2));
            actions.retain(|a| match a {
                ActorModelAction::Crash(id) => match class(usize::from(*id)) {
                    1 => proposers_down == 0 && state.history.proposer_crashes < cfg.proposer_crashes,
                    2 => learners_down == 0 && state.history.learner_crashes < cfg.learner_crashes,
                    _ => others_down < cfg.crashes,
                },
                _ => true,
            });
        }
    }

    fn next_state(&self, last: &PaxosSysState, action: PaxosAction) -> Option<PaxosSysState> {
        let crashed = match &action {
            ActorModelAction::Crash(id) => Some(usize::from(*id)),
            _ => None,
        };
        let mut next = self.actors.next_state(last, action)?;
        if crashed.is_some_and(|i| self.cfg.proposer_may_crash(i)) {
            next.history.proposer_crashes = next.history.proposer_crashes.saturating_add(1);
        }
        if crashed.is_some_and(|i| self.cfg.learner_may_crash(i)) {
            next.history.learner_crashes = next.history.learner_crashes.saturating_add(1);
        }
        self.remove_dead_messages(&mut next);
        // With proposer or learner crashes a delivery can answer with a message that is dead on
        // arrival (a learner telling a proposer that knows, an acceptor re-sending a vote the
        // learner has): a step that changes nothing is no step, so that states with nothing
        // left to do count as terminal for the liveness properties.
        let total_crash_bounds = self.cfg.proposer_crashes > 0 || self.cfg.learner_crashes > 0;
        if total_crash_bounds && forget_last_delivery(&next) == forget_last_delivery(last) {
            return None;
        }
        Some(next)
    }

    fn format_action(&self, action: &PaxosAction) -> String {
        describe_action(&self.cfg, action)
    }

    fn format_step(&self, last: &PaxosSysState, action: PaxosAction) -> Option<String> {
        self.actors.format_step(last, action)
    }

    fn as_svg(&self, path: Path<PaxosSysState, PaxosAction>) -> Option<String> {
        let steps = path.into_vec();
        let init = steps.first()?.0.clone();
        let actions: Vec<PaxosAction> = steps.into_iter().filter_map(|(_, a)| a).collect();
        self.actors.as_svg(Path::from_actions(&self.actors, init, actions.iter())?)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut ps = vec![
            Property::always(AGREEMENT, |m: &Self, s: &PaxosSysState| chosen_values(&m.cfg, &s.history).len() <= 1),
            Property::always(LEARNER_AGREEMENT, learner_agreement),
            Property::always(VALIDITY, |m: &Self, s: &PaxosSysState| {
                chosen_values(&m.cfg, &s.history).is_subset(&s.history.proposed)
            }),
            Property::always(STABILITY, stability),
            Property::always(LINEARIZABLE, |_: &Self, s: &PaxosSysState| s.history.lin.serialized_history().is_some()),
            Property::sometimes(VALUE_CHOSEN, |m: &Self, s: &PaxosSysState| {
                !chosen_values(&m.cfg, &s.history).is_empty()
            }),
        ];
        if self.cfg.proposers >= 2 {
            ps.push(Property::sometimes(DUELING, dueling));
        }
        if !self.cfg.lossy && self.cfg.crashes == 0 && self.cfg.proposer_crashes == 0 {
            ps.push(Property::eventually(EVENTUALLY_CHOSEN, |m: &Self, s: &PaxosSysState| {
                !chosen_values(&m.cfg, &s.history).is_empty()
            }));
        }
        if !self.cfg.lossy && self.cfg.crashes == 0 && self.cfg.proposer_crashes > 0 {
            ps.push(Property::eventually(DECISION_RELEARNED, decision_relearned));
        }
        if !self.cfg.lossy && self.cfg.crashes == 0 && self.cfg.proposer_crashes == 0 && self.cfg.learner_crashes > 0 {
            ps.push(Property::eventually(DECISION_LEARNED, decision_learned));
        }
        ps
    }

    fn within_boundary(&self, state: &PaxosSysState) -> bool {
        within_boundary(&self.cfg, state)
    }
}

/// Auxiliary ("ghost") state, recorded from the messages actors send and receive.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PaxosHistory {
    /// Every vote ever cast: (ballot, value, acceptor), from the Accepted messages sent.
    pub votes: BTreeSet<(Ballot, Value, Id)>,
    /// The values proposed (validity).
    pub proposed: BTreeSet<Value>,
    /// The first value each learner announced (stability).
    pub learned: BTreeMap<Id, Value>,
    /// The ballots whose proposer reached phase 2(a) (the dueling-proposers witness).
    pub accept_requests: BTreeSet<Ballot>,
    /// Proposer crashes so far (bounded by `proposer_crashes`).
    pub proposer_crashes: u8,
    /// Learner crashes so far (bounded by `learner_crashes`).
    pub learner_crashes: u8,
    /// The clients' operations (linearizability).
    pub lin: Arc<LinearizabilityTester<Id, Decree>>,
}

impl fmt::Debug for PaxosHistory {
    /// One line per field, in the notation of the actor states (`0:b1.3=A` is acceptor 0's vote
    /// for A in ballot b1.3), so that the Explorer's pretty-printed state stays short.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let votes: Vec<String> = self.votes.iter().map(|(b, v, a)| format!("{}:{b:?}={v}", usize::from(*a))).collect();
        let proposed: Vec<String> = self.proposed.iter().map(|v| v.to_string()).collect();
        let learned: Vec<String> = self.learned.iter().map(|(l, v)| format!("{}:{v}", usize::from(*l))).collect();
        let requests: Vec<String> = self.accept_requests.iter().map(|b| format!("{b:?}")).collect();
        f.debug_struct("PaxosHistory")
            .field("votes", &format_args!("[{}]", votes.join(" ")))
            .field("proposed", &format_args!("[{}]", proposed.join(" ")))
            .field("learned", &format_args!("[{}]", learned.join(" ")))
            .field("accept_requests", &format_args!("[{}]", requests.join(" ")))
            .field("proposer_crashes", &self.proposer_crashes)
            .field("learner_crashes", &self.learner_crashes)
            .field("lin", &format_args!("{:?}", self.lin))
            .finish()
    }
}

impl Default for PaxosHistory {
    fn default() -> Self {
        PaxosHistory {
            votes: BTreeSet::new(),
            proposed: BTreeSet::new(),
            learned: BTreeMap::new(),
            accept_requests: BTreeSet::new(),
            proposer_crashes: 0,
            learner_crashes: 0,
            lin: Arc::new(LinearizabilityTester::new(Decree(None))),
        }
    }
}

impl Rewrite<Id> for PaxosHistory {
    /// Symmetry only permutes acceptors, so client ids in `lin` are left as they are.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        PaxosHistory {
            votes: self.votes.iter().map(|(b, v, a)| (b.rewrite(plan), *v, plan.rewrite(a))).collect(),
            proposed: self.proposed.clone(),
            learned: self.learned.iter().map(|(l, v)| (plan.rewrite(l), *v)).collect(),
            accept_requests: self.accept_requests.iter().map(|b| b.rewrite(plan)).collect(),
            proposer_crashes: self.proposer_crashes,
            learner_crashes: self.learner_crashes,
            lin: self.lin.clone(),
        }
    }
}

/// The values chosen so far: those a majority of acceptors voted for in one ballot.
pub fn chosen_values(cfg: &PaxosModelCfg, h: &PaxosHistory) -> BTreeSet<Value> {
    chosen_by_votes(&h.votes, cfg.acceptors)
}

/// Phase 3 over a set of (ballot, value, acceptor) votes: the values some majority of `acceptors`
/// voted for in one ballot.
pub fn chosen_by_votes(votes: &BTreeSet<(Ballot, Value, Id)>, acceptors: usize) -> BTreeSet<Value> {
    let need = majority(acceptors);
    let mut chosen = BTreeSet::new();
    let mut run: Option<((Ballot, Value), usize)> = None;
    // Votes are sorted by (ballot, value, acceptor): count each (ballot, value) run.
    for (b, v, _) in votes {
        run = match run {
            Some((key, n)) if key == (*b, *v) => Some((key, n + 1)),
            _ => Some(((*b, *v), 1)),
        };
        if let Some(((_, v), n)) = run {
            if n >= need {
                chosen.insert(v);
            }
        }
    }
    chosen
}

fn learner_state(s: &PaxosSysState, id: Id) -> Option<&super::learner::LearnerState> {
    match s.actor_states.get(usize::from(id)).map(|a| &**a) {
        Some(PaxosState::Learner(l)) => Some(l),
        _ => None,
    }
}

/// Every value a learner has learned, now or before, was chosen.
fn learner_agreement(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let chosen = chosen_values(&m.cfg, &s.history);
    let now = m.cfg.learner_ids().into_iter().filter_map(|l| learner_state(s, l).and_then(|l| l.learned));
    now.chain(s.history.learned.values().copied()).all(|v| chosen.contains(&v))
}

/// A learner that learned a value still has it, also after a crash and restart.
fn stability(_: &PaxosModel, s: &PaxosSysState) -> bool {
    s.history.learned.iter().all(|(l, v)| {
        s.crashed.get(usize::from(*l)).copied().unwrap_or(false)
            || learner_state(s, *l).is_some_and(|ls| ls.learned == Some(*v))
    })
}

/// The finite witness of the dueling-proposers livelock: nothing is chosen, every proposer reached
/// phase 2 in every round the bound allows, and every one of those ballots but the highest is
/// already preempted (a majority of acceptors promised a higher ballot). Only the bound stops the
/// duel: with one more round the last ballot could be preempted too.
fn dueling(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let cfg = &m.cfg;
    let reached_phase2_everywhere = cfg
        .proposer_ids()
        .into_iter()
        .all(|p| (1..=cfg.max_round).all(|round| s.history.accept_requests.contains(&Ballot { round, proposer: p })));
    if !reached_phase2_everywhere || !chosen_values(cfg, &s.history).is_empty() {
        return false;
    }
    let promised = |a: usize| match &*s.actor_states[a] {
        PaxosState::Acceptor(acc) => acc.promised,
        _ => None,
    };
    let highest = s.history.accept_requests.iter().next_back().copied();
    s.history
        .accept_requests
        .iter()
        .filter(|b| Some(**b) != highest)
        .all(|b| (0..cfg.acceptors).filter(|&a| promised(a).is_some_and(|p| p > *b)).count() >= majority(cfg.acceptors))
}

/// The liveness of a restarted proposer, finite by construction: once every proposer crash of the
/// bound has happened (until then a crash is always enabled, so no state is terminal), every
/// proposer is up and knows the decision and every client has its answer. It stays true once it
/// holds (no crash is left), so "eventually" means "in every terminal state". A proposer that is
/// down at the end is excused only if the bound leaves its restart no ballot (it saved its last
/// round): restarting would leave the bound.
fn decision_relearned(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let cfg = &m.cfg;
    if s.history.proposer_crashes < cfg.proposer_crashes {
        return false;
    }
    let proposers_know = cfg.proposer_ids().into_iter().all(|p| {
        let i = usize::from(p);
        let out_of_rounds =
            matches!(s.actor_storages.get(i), Some(Some(super::PaxosStorage::Proposer { round })) if *round >= cfg.max_round);
        match &*s.actor_states[i] {
            _ if s.crashed[i] => out_of_rounds,
            PaxosState::Proposer(ps) => ps.decided.is_some() || (ps.proposal.is_none() && cfg.clients > 0),
            _ => true,
        }
    });
    let clients_answered = cfg.client_ids().into_iter().all(|c| {
        matches!(&*s.actor_states[usize::from(c)], PaxosState::Client(cs) if *cs != super::client::ClientState::Proposing)
    });
    proposers_know && clients_answered
}

/// The liveness of a restarted learner, finite by construction: once every learner crash of the
/// bound has happened (until then a crash is always enabled, so no state is terminal), every
/// learner is up and has learned a value. It stays true once it holds (a learned value is saved,
/// no crash is left), so "eventually" means "in every terminal state". Checked only where no
/// other fault is (no acceptor or proposer crash, no loss), where a value is always chosen
/// ([`property::EVENTUALLY_CHOSEN`] is checked beside it): so on every terminal path a value is
/// chosen and every learner, also one that lost its votes or missed the decision, has learned it.
fn decision_learned(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let cfg = &m.cfg;
    s.history.learner_crashes >= cfg.learner_crashes
        && cfg
            .learner_ids()
            .into_iter()
            .all(|l| !s.crashed[usize::from(l)] && learner_state(s, l).is_some_and(|ls| ls.learned.is_some()))
}

/// The bound: no proposer beyond `max_round`, and only crashable roles are down.
fn within_boundary(cfg: &PaxosModelCfg, s: &PaxosSysState) -> bool {
    s.actor_states.iter().all(|a| match &**a {
        PaxosState::Proposer(p) => p.round <= cfg.max_round,
        _ => true,
    }) && s.crashed.iter().enumerate().all(|(i, down)| !down || cfg.crashable(i))
}

fn is_learner(cfg: &PaxosModelCfg, id: Id) -> bool {
    (cfg.acceptors + cfg.proposers..cfg.acceptors + cfg.proposers + cfg.learners).contains(&usize::from(id))
}

fn is_client(cfg: &PaxosModelCfg, id: Id) -> bool {
    usize::from(id) >= cfg.acceptors + cfg.proposers + cfg.learners
}

fn record_msg_out(cfg: &PaxosModelCfg, h: &PaxosHistory, env: Envelope<&PaxosMsg>) -> Option<PaxosHistory> {
    let next = || h.clone();
    match env.msg {
        PaxosMsg::Propose(v) if is_client(cfg, env.src) => {
            let mut h = next();
            let _ = Arc::make_mut(&mut h.lin).on_invoke(env.src, DecreeOp::Propose(*v));
            Some(h)
        }
        PaxosMsg::Read if is_client(cfg, env.src) => {
            let mut h = next();
            let _ = Arc::make_mut(&mut h.lin).on_invoke(env.src, DecreeOp::Read);
            Some(h)
        }
        PaxosMsg::Accepted(b, v) if !h.votes.contains(&(*b, *v, env.src)) => {
            let mut h = next();
            h.votes.insert((*b, *v, env.src));
            Some(h)
        }
        PaxosMsg::Chosen(v) if is_learner(cfg, env.src) && !h.learned.contains_key(&env.src) => {
            let mut h = next();
            h.learned.insert(env.src, *v);
            Some(h)
        }
        PaxosMsg::Accept(b, _) if !h.accept_requests.contains(b) => {
            let mut h = next();
            h.accept_requests.insert(*b);
            Some(h)
        }
        _ => None,
    }
}

fn record_msg_in(cfg: &PaxosModelCfg, h: &PaxosHistory, env: Envelope<&PaxosMsg>) -> Option<PaxosHistory> {
    if !is_client(cfg, env.dst) {
        return None;
    }
    let ret = match env.msg {
        PaxosMsg::Decided(v) => DecreeRet::Decided(*v),
        PaxosMsg::ReadOk(v) => DecreeRet::ReadOk(Some(*v)),
        _ => return None,
    };
    let mut next = h.clone();
    let _ = Arc::make_mut(&mut next.lin).on_return(env.dst, ret);
    Some(next)
}

/// One step of a trace, with actors named by role (a0 = acceptor 0, p3 = proposer 3, …).
pub fn describe_action(cfg: &PaxosModelCfg, action: &PaxosAction) -> String {
    let n = |id: &Id| cfg.actor_name(*id);
    match action {
        ActorModelAction::Deliver { src, dst, msg } => format!("{} -> {} : {msg:?}", n(src), n(dst)),
        ActorModelAction::Drop(env) => format!("network drops {} -> {} : {:?}", n(&env.src), n(&env.dst), env.msg),
        ActorModelAction::Timeout(id, timer) => format!("{} timer {timer:?} fires", n(id)),
        ActorModelAction::Crash(id) => format!("{} crashes", n(id)),
        ActorModelAction::Recover(id) => format!("{} restarts from its saved state", n(id)),
        ActorModelAction::SelectRandom { actor, .. } => format!("{} chooses", n(actor)),
    }
}

/// The system state in a few lines: each actor, then what was chosen.
pub fn describe_state(cfg: &PaxosModelCfg, s: &PaxosSysState) -> String {
    let mut out = String::new();
    for (i, a) in s.actor_states.iter().enumerate() {
        let down = if s.crashed.get(i).copied().unwrap_or(false) { " (crashed)" } else { "" };
        let _ = writeln!(out, "  {}: {a:?}{down}", cfg.actor_name(Id::from(i)));
    }
    let chosen: Vec<String> = chosen_values(cfg, &s.history).into_iter().map(String::from).collect();
    let _ = write!(out, "  chosen: {{{}}}", chosen.join(", "));
    out
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
