//! The one place where the PBFT model is defined: [`PbftModelCfg::into_model`] builds the
//! [`PbftModel`] (the actor model, its properties, its bound) for the tests, the CLI and the
//! Explorer.
//!
//! Actor layout: replicas `0..n` (the Byzantine ones first, unless `byzantine_backups`), then
//! clients.
//!
//! A reader's map: [`properties`] (what is checked, first), [`cfg`] (the configuration and its
//! builder), [`history`] (the ghost state the properties read), and below, the transitions and
//! the bound, and traces in words.

pub mod cfg;
pub mod culprits;
pub mod history;
pub mod properties;
pub mod reduction;
pub mod symmetry;

pub use cfg::*;
pub use history::*;
pub use properties::*;

use crate::check::network::forget_last_delivery;
use crate::pbft::actor::{PbftActor, PbftState, PbftTimer};
use crate::pbft::replica::ReplicaState;
use crate::pbft::PbftMsg;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Model, Path, Property};
use std::fmt::Write as _;

pub type PbftActorModel = ActorModel<PbftActor, PbftModelCfg, PbftHistory>;
pub type PbftSysState = ActorModelState<PbftActor, PbftHistory>;
pub type PbftAction = ActorModelAction<PbftMsg, PbftTimer, crate::byzantine::Move<PbftMsg>>;

/// The PBFT model: the actor model of [`PbftModelCfg`], its properties, the ghost state they
/// read ([`PbftHistory`]), and the bound on views.
#[derive(Clone)]
pub struct PbftModel {
    pub cfg: PbftModelCfg,
    pub actors: PbftActorModel,
}

/// Replica `i`'s state, correct or (its honest part) Byzantine.
pub fn replica_state(s: &PbftSysState, i: usize) -> Option<&ReplicaState> {
    match s.actor_states.get(i).map(|a| &**a) {
        Some(PbftState::Replica(r)) => Some(r),
        Some(PbftState::Byzantine(b)) => Some(&b.honest),
        _ => None,
    }
}

impl PbftModel {
    /// Whether some Byzantine replica has crashed (`--crash`).
    pub fn crashed(&self, s: &PbftSysState) -> bool {
        s.actor_states.iter().any(|a| matches!(&**a, PbftState::Byzantine(b) if b.moves_left == 0))
    }
}

impl Model for PbftModel {
    type State = PbftSysState;
    type Action = PbftAction;

    fn init_states(&self) -> Vec<PbftSysState> {
        self.actors.init_states()
    }

    fn actions(&self, state: &PbftSysState, actions: &mut Vec<PbftAction>) {
        self.actors.actions(state, actions);
        // No crashes (a Byzantine replica is the fault), and no loss: the network may already
        // hold any message back forever, which is all a safety property can see of a loss.
        actions.retain(|a| !matches!(a, ActorModelAction::Crash(_) | ActorModelAction::Drop(_)));
        // With crashing replicas, a correct primary is never suspected: no timer fires before a
        // crash.
        if self.cfg.crash && !self.crashed(state) {
            actions.retain(|a| !matches!(a, ActorModelAction::Timeout(..)));
        }
    }

    fn next_state(&self, last: &PbftSysState, action: PbftAction) -> Option<PbftSysState> {
        let mut next = self.actors.next_state(last, action.clone())?;
        self.observe(last, &action, &mut next);
        self.remove_dead_messages(&mut next);
        // The duplicating network remembers the last delivery only to tell apart states that
        // differ in nothing else; nothing reads it.
        forget_last_delivery(&mut next.network);
        if next == *last {
            return None;
        }
        Some(next)
    }

    fn format_action(&self, action: &PbftAction) -> String {
        describe_action(&self.cfg, action)
    }

    fn format_step(&self, last: &PbftSysState, action: PbftAction) -> Option<String> {
        self.actors.format_step(last, action)
    }

    fn as_svg(&self, path: Path<PbftSysState, PbftAction>) -> Option<String> {
        self.actors.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all(&self.cfg)
    }

    fn within_boundary(&self, s: &PbftSysState) -> bool {
        (0..self.cfg.replicas).all(|i| replica_state(s, i).is_none_or(|r| r.view <= self.cfg.max_view))
    }
}

/// One step of a trace, with actors named r0, r1, … and c4, ….
pub fn describe_action(cfg: &PbftModelCfg, action: &PbftAction) -> String {
    let n = |id: &Id| {
        let name = cfg.actor_name(*id);
        if cfg.is_replica(*id) && cfg.is_byzantine(*id) {
            format!("{name} (Byzantine)")
        } else {
            name
        }
    };
    match action {
        ActorModelAction::Deliver { src, dst, msg } => format!("{} -> {} : {msg:?}", n(src), n(dst)),
        ActorModelAction::Drop(env) => format!("network drops {} -> {} : {:?}", n(&env.src), n(&env.dst), env.msg),
        ActorModelAction::Timeout(id, PbftTimer::ViewChange) => format!("{} view-change timeout", n(id)),
        ActorModelAction::Crash(id) => format!("{} crashes", n(id)),
        ActorModelAction::Recover(id) => format!("{} restarts", n(id)),
        ActorModelAction::SelectRandom { actor, random, .. } => format!("{} {random:?}", n(actor)),
    }
}

/// The system state in a few lines: each replica and each client.
pub fn describe_state(cfg: &PbftModelCfg, s: &PbftSysState) -> String {
    let mut out = String::new();
    for (i, a) in s.actor_states.iter().enumerate() {
        let _ = writeln!(out, "  {}: {a:?}", cfg.actor_name(Id::from(i)));
    }
    out
}
