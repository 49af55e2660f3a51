//! The one place where the Paxos model is defined: [`PaxosModelCfg::into_model`] builds the
//! [`PaxosModel`] (the actor model, its properties, its bound and its reductions) for the tests,
//! the CLI, the Explorer and the benchmarks.
//!
//! Actor layout: acceptors `0..A`, then proposers, then learners, then clients.
//!
//! A reader's map: [`properties`] (what is checked, first), [`cfg`] (the configuration and its
//! builder), [`history`] (the ghost state the properties read), [`step`] (the transitions, the
//! bound), [`reduction`] (dead messages and symmetry, each argued sound), [`describe`] (traces in
//! words).

pub mod cfg;
pub mod describe;
pub mod history;
pub mod properties;
pub mod reduction;
pub mod step;

pub use cfg::*;
pub use describe::*;
pub use history::*;
pub use properties::*;
pub use reduction::{is_dead, representative};

use crate::paxos::actor::PaxosActor;
use crate::paxos::PaxosMsg;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState};

pub type PaxosActorModel = ActorModel<PaxosActor, PaxosModelCfg, PaxosHistory>;

pub type PaxosSysState = ActorModelState<PaxosActor, PaxosHistory>;

pub type PaxosAction = ActorModelAction<PaxosMsg, crate::paxos::PaxosTimer, ()>;

/// The Paxos model: the actor model of [`PaxosModelCfg`], its properties, and one sound
/// reduction — a message that no handler can ever act on again is removed from the network (see
/// [`is_dead`]). Deliveries of such a message are no-ops, so without the removal two states that
/// differ only in dead messages would be explored twice.
#[derive(Clone)]
pub struct PaxosModel {
    pub cfg: PaxosModelCfg,
    pub actors: PaxosActorModel,
}
