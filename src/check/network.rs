//! What the models' network reductions share.

use stateright::actor::{Actor, ActorModelState, Network};

/// Forgets which message was delivered last. Stateright's duplicating network keeps it only so
/// that a delivery changing nothing else still yields a new state; no action or property reads
/// it, so states that differ only there behave alike and may be merged (a sound reduction).
pub fn forget_last_delivery<M: Clone + Eq + std::hash::Hash>(network: &mut Network<M>) {
    if let Network::UnorderedDuplicating(_, last) = network {
        *last = None;
    }
}

/// The state with its last delivery forgotten ([`forget_last_delivery`]).
pub fn without_last_delivery<A: Actor, H: Clone>(s: &ActorModelState<A, H>) -> ActorModelState<A, H> {
    let mut s = s.clone();
    forget_last_delivery(&mut s.network);
    s
}
