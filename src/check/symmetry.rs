//! What the protocols' symmetry reductions share: renumbering some actors of a system state and
//! rewriting every id in it accordingly.

use stateright::actor::{Actor, ActorModelState, Id};
use stateright::util::DenseNatMap;
use stateright::{Rewrite, RewritePlan};
use std::hash::{Hash, Hasher};

/// The state with actor `order[k]` renumbered as `slots[k]` (the other actors keep their ids),
/// every id in it rewritten, and the duplicating network's last delivery forgotten.
pub fn renumber<A, H>(s: &ActorModelState<A, H>, slots: &[usize], order: &[usize]) -> ActorModelState<A, H>
where
    A: Actor,
    A::State: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    A::Timer: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    A::Msg: Rewrite<Id>,
    H: Rewrite<Id>,
{
    let mut map: Vec<Id> = (0..s.actor_states.len()).map(Id::from).collect();
    for (new, &old) in slots.iter().zip(order) {
        map[old] = Id::from(*new);
    }
    let plan: RewritePlan<Id, DenseNatMap<Id, Id>> =
        RewritePlan::new(DenseNatMap::from(map), |id, m| m.get(*id).copied().unwrap_or(*id));
    let mut network = s.network.rewrite(&plan);
    super::network::forget_last_delivery(&mut network);
    ActorModelState {
        actor_states: plan.reindex(&s.actor_states),
        network,
        timers_set: plan.reindex(&s.timers_set),
        random_choices: plan.reindex(&s.random_choices),
        crashed: plan.reindex(&s.crashed),
        history: s.history.rewrite(&plan),
        actor_storages: plan.reindex(&s.actor_storages),
    }
}

/// Of the renumberings of `s` by each of `orders` (see [`renumber`]), the one whose hash is
/// lowest: the same for every member of an orbit when `orders` are all the symmetries, so the
/// representative (and the state count) does not depend on which member a thread met first.
/// None if there is no order.
pub fn least_renumbering<A, H>(
    s: &ActorModelState<A, H>,
    slots: &[usize],
    orders: impl IntoIterator<Item = Vec<usize>>,
) -> Option<ActorModelState<A, H>>
where
    A: Actor,
    A::State: Rewrite<Id> + Hash,
    A::Storage: Rewrite<Id> + Hash,
    A::Timer: Rewrite<Id> + Hash,
    A::Random: Rewrite<Id> + Hash,
    A::Msg: Rewrite<Id> + Hash,
    H: Rewrite<Id> + Hash,
{
    let mut best: Option<(u64, ActorModelState<A, H>)> = None;
    for order in orders {
        let r = renumber(s, slots, &order);
        let mut h = hasher();
        r.hash(&mut h);
        let h = h.finish();
        if best.as_ref().is_none_or(|(b, _)| h < *b) {
            best = Some((h, r));
        }
    }
    best.map(|(_, r)| r)
}

/// The hasher of the symmetry reductions' signatures and tie-breaks: fast, and seeded with
/// constants so that a run's canonical representatives do not depend on a random seed. (Any
/// hash function gives the same state counts: it only picks which member of an orbit stands
/// for it.)
pub fn hasher() -> ahash::AHasher {
    use std::hash::BuildHasher;
    ahash::RandomState::with_seeds(0x7175_6f72, 0x756d_2d73, 0x796d_6d65, 0x7472_7921).build_hasher()
}

/// Every order of `items`.
pub fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (k, &first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(k);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}
