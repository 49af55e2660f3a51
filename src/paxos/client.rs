//! The client: proposes one value, is told the decision, then reads it back from a learner.
//! Its invocations and responses are recorded for the linearizability check.

use super::actor::PaxosActor;
use super::{PaxosMsg, Value};
use serde::{Deserialize, Serialize};
use stateright::actor::{Id, Out};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClientState {
    /// Propose sent, waiting for Decided.
    #[default]
    Proposing,
    /// Read sent, waiting for ReadOk.
    Reading,
    Done,
}

/// Start: ask the proposer to get `value` chosen.
pub fn start(proposer: Id, value: Value, o: &mut Out<PaxosActor>) -> ClientState {
    o.send(proposer, PaxosMsg::Propose(value));
    ClientState::Proposing
}

/// The decision arrived: read it back through a learner.
pub fn on_decided(s: &mut ClientState, learner: Id, o: &mut Out<PaxosActor>) {
    if *s == ClientState::Proposing {
        *s = ClientState::Reading;
        o.send(learner, PaxosMsg::Read);
    }
}

/// The read returned: done.
pub fn on_read_ok(s: &mut ClientState) {
    if *s == ClientState::Reading {
        *s = ClientState::Done;
    }
}
