//! What the models' network reductions share.

use stateright::actor::{Actor, ActorModelState, Envelope, Id, Network};

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

/// Removes every message `dead` says no handler can ever act on. On an ordered network too:
/// delivering a dead message only takes it out of its channel, so removing it at once is one of
/// the orders the network allows, and any later delivery order stays possible.
pub fn remove_dead<M>(network: &mut Network<M>, dead: impl Fn(&Envelope<M>) -> bool)
where
    M: Clone + Eq + std::hash::Hash,
{
    match network {
        Network::UnorderedDuplicating(set, _) => set.retain(|env| !dead(env)),
        Network::UnorderedNonDuplicating(bag) => bag.retain(|env, _| !dead(env)),
        Network::Ordered(channels) => {
            for (&(src, dst), queue) in channels.iter_mut() {
                queue.retain(|msg| !dead(&Envelope { src, dst, msg: msg.clone() }));
            }
            channels.retain(|_, queue| !queue.is_empty()); // Stateright keeps no empty flow
        }
    }
}

/// Whether at least one copy of `env` is in flight on `network`.
pub fn in_flight<M: Clone + Eq + std::hash::Hash>(network: &Network<M>, env: &Envelope<M>) -> bool {
    match network {
        Network::UnorderedDuplicating(set, _) => set.contains(env),
        Network::UnorderedNonDuplicating(bag) => bag.contains_key(env),
        Network::Ordered(channels) => channels.get(&(env.src, env.dst)).is_some_and(|q| q.contains(&env.msg)),
    }
}

/// Keeps one copy of each in-flight message `mergeable` says a second copy of adds nothing to:
/// with `crash_learners`, a learner restarts as often as it likes and each restart asks again
/// (`learner::catch_up`), so copies of its CatchUp and of the acceptors' answers would pile up
/// without end on a network that does not duplicate. A second copy of a vote or of a catch-up
/// repeats what the first tells; a learner can use it only after a crash made it forget the
/// first, and then it has asked again. Applied only there, where no liveness is checked (learners
/// then crash with `crashes` > 0): the properties are about values chosen and learned, which
/// copies of genuine votes do not change (duplicates count only with the planted
/// learner-counts-duplicates, checked on a duplicating network, whose messages are a set).
pub fn merge_copies<M>(network: &mut Network<M>, mergeable: impl Fn(&Envelope<M>) -> bool)
where
    M: Clone + Eq + std::hash::Hash,
{
    match network {
        Network::UnorderedDuplicating(..) => {} // a set: one copy each already
        Network::UnorderedNonDuplicating(bag) => {
            for (env, n) in bag.iter_mut() {
                if *n > 1 && mergeable(env) {
                    *n = 1;
                }
            }
        }
        Network::Ordered(channels) => {
            for (&(src, dst), queue) in channels.iter_mut() {
                let mut seen: Vec<M> = Vec::new();
                queue.retain(|msg| {
                    if !mergeable(&Envelope { src, dst, msg: msg.clone() }) {
                        return true;
                    }
                    let first = !seen.contains(msg);
                    if first {
                        seen.push(msg.clone());
                    }
                    first
                });
            }
        }
    }
}

/// Every message in the network, once per copy. (Stateright 0.31's `Network::iter_all` never
/// ends on an ordered network and repeats non-duplicating copies, so it is not used here.)
pub fn envelopes<M: Eq + std::hash::Hash>(network: &Network<M>) -> Vec<(Id, Id, &M)> {
    match network {
        Network::UnorderedDuplicating(set, _) => set.iter().map(|e| (e.src, e.dst, &e.msg)).collect(),
        Network::UnorderedNonDuplicating(bag) => {
            bag.iter().flat_map(|(e, n)| std::iter::repeat_n((e.src, e.dst, &e.msg), *n)).collect()
        }
        Network::Ordered(channels) => {
            channels.iter().flat_map(|((src, dst), q)| q.iter().map(move |m| (*src, *dst, m))).collect()
        }
    }
}
