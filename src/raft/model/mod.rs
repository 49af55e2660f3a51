//! The one place where the Raft model is defined: [`RaftModelCfg::into_model`] builds the
//! [`RaftModel`] (the actor model, its properties, its bound and its reductions) for the tests,
//! the CLI, the Explorer and the benchmarks.
//!
//! Actor layout: servers `0..S`, then clients.
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
pub use reduction::*;

use crate::raft::actor::{RaftActor, RaftState, RaftStorage, RaftTimer};
use crate::raft::log::Log;
use crate::raft::server::ServerState;
use crate::raft::RaftMsg;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState};

pub type RaftActorModel = ActorModel<RaftActor, RaftModelCfg, RaftHistory>;
pub type RaftSysState = ActorModelState<RaftActor, RaftHistory>;
pub type RaftAction = ActorModelAction<RaftMsg, RaftTimer, ()>;

/// The Raft model: the actor model of [`RaftModelCfg`], its properties, the ghost state they read
/// ([`RaftHistory`], updated after every step), the bound, and the sound reductions of
/// [`reduction`].
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
