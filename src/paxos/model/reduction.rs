//! The sound reductions of the Paxos model (see docs/architecture.md for why each is sound):
//! dead messages removed from the network, the duplicating network's last delivery forgotten,
//! symmetry over acceptors, and, with `crash_learners`, one copy of each catch-up and vote to a
//! learner in flight (see [`merge_copies`]).

use super::{PaxosModel, PaxosSysState};
use crate::check::network::without_last_delivery;
use crate::paxos::acceptor::AcceptorState;
use crate::paxos::actor::{PaxosState, PaxosStorage};
use crate::paxos::client::ClientState;
use crate::paxos::learner::LearnerState;
use crate::paxos::proposer::{Phase, ProposerState};
use crate::paxos::{Ballot, Bug, BugSet, PaxosMsg, Value};
use stateright::actor::{ActorModelState, Envelope, Id, Network};
use std::sync::Arc;

impl PaxosModel {
    /// Removes every message [`is_dead`] from the network (see [`remove_dead`]).
    pub(crate) fn remove_dead_messages(&self, s: &mut PaxosSysState) {
        let ActorModelState { network, actor_states, actor_storages, .. } = s;
        remove_dead(network, |env| is_dead(self, actor_states, actor_storages, env));
        if self.cfg.crash_learners {
            let learners = self.cfg.learner_ids();
            merge_copies(network, |env| match env.msg {
                PaxosMsg::CatchUp => learners.contains(&env.src),
                PaxosMsg::Accepted(..) => learners.contains(&env.dst),
                _ => false,
            });
        }
    }
}

/// Removes every message `dead` says no handler can ever act on. On an ordered network too:
/// delivering a dead message only takes it out of its channel, so removing it at once is one of
/// the orders the network allows, and any later delivery order stays possible.
pub(crate) fn remove_dead<M>(network: &mut Network<M>, dead: impl Fn(&Envelope<M>) -> bool)
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

/// Keeps one copy of each in-flight message `mergeable` says a second copy of adds nothing to:
/// with `crash_learners`, a learner restarts as often as it likes and each restart asks again
/// (`learner::catch_up`), so copies of its CatchUp and of the acceptors' answers would pile up
/// without end on a network that does not duplicate. A second copy of a vote or of a catch-up
/// repeats what the first tells; a learner can use it only after a crash made it forget the
/// first, and then it has asked again. Applied only there, where no liveness is checked (learners
/// then crash with `crashes` > 0): the properties are about values chosen and learned, which
/// copies of genuine votes do not change (duplicates count only with the planted
/// learner-counts-duplicates, checked on a duplicating network, whose messages are a set).
pub(crate) fn merge_copies<M>(network: &mut Network<M>, mergeable: impl Fn(&Envelope<M>) -> bool)
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

/// A Promise for ballot `b` from `acceptor` can no longer change proposer `p`: `p` moved on to a
/// later round or out of phase 1, or already counted that acceptor (rounds only grow).
pub(crate) fn promise_is_stale(p: &ProposerState, b: &Ballot, acceptor: Id) -> bool {
    b.round < p.round || (b.round == p.round && (p.phase != Phase::Preparing || p.promises.contains(&acceptor)))
}

/// Phase 1(b) never acts on a Prepare below the promise `a` keeps; one equal to it is answered
/// again, but with a Promise that its proposer (`None`: the sender is no proposer) has no use
/// for any more, so the re-answer changes nothing either.
pub(crate) fn prepare_is_dead(a: &AcceptorState, b: &Ballot, acceptor: Id, proposer: Option<&ProposerState>) -> bool {
    a.promised.is_some_and(|p| *b < p)
        || (a.promised == Some(*b) && proposer.is_none_or(|p| promise_is_stale(p, b, acceptor)))
}

/// Phase 2(b) never acts on an Accept below the promise, nor on one already voted for. A bug
/// that makes the acceptor ignore its promise could revive any Accept.
pub(crate) fn accept_is_dead(a: &AcceptorState, bugs: BugSet, b: &Ballot, v: Value) -> bool {
    !bugs.has(Bug::AcceptorIgnoresPromise) && (a.promised.is_some_and(|p| *b < p) || a.accepted == Some((*b, v)))
}

/// A proposer that knows the decision ignores every further report of it.
pub(crate) fn chosen_is_dead(p: &ProposerState) -> bool {
    p.decided.is_some()
}

/// Phase 3: a learner that learned counts no more votes (it answers them with `tell_again`,
/// which [`is_dead`] and the mirror judge), and counts each acceptor's vote once (unless a bug
/// makes it count duplicates).
pub(crate) fn accepted_is_dead(l: &LearnerState, bugs: BugSet, vote: &(Ballot, Value, Id)) -> bool {
    l.learned.is_some() || (!bugs.has(Bug::LearnerCountsDuplicates) && l.votes.contains(vote))
}

/// A message is dead when delivering it is a no-op now and in every future: the receiver has
/// moved past it for good. Only what survives a crash counts for actors that can crash, and a
/// planted bug that could revive a message disables the rule it would break.
pub fn is_dead(
    m: &PaxosModel,
    states: &[Arc<PaxosState>],
    storages: &[Option<PaxosStorage>],
    env: &Envelope<PaxosMsg>,
) -> bool {
    use PaxosMsg::*;
    let (cfg, i) = (&m.cfg, usize::from(env.dst));
    let (Some(state), Some(storage)) = (states.get(i), storages.get(i)) else { return false };
    let durable_acceptor = match storage {
        Some(PaxosStorage::Acceptor(a)) => *a,
        _ => AcceptorState::default(),
    };
    match (&env.msg, &**state) {
        (Prepare(b), PaxosState::Acceptor(_)) => {
            let Some(sender) = states.get(usize::from(env.src)) else { return false };
            let proposer = match &**sender {
                PaxosState::Proposer(p) => Some(p),
                _ => None,
            };
            prepare_is_dead(&durable_acceptor, b, env.dst, proposer)
        }
        (Accept(b, v), PaxosState::Acceptor(_)) => accept_is_dead(&durable_acceptor, cfg.bugs, b, *v),
        (Promise(b, _), PaxosState::Proposer(p)) => promise_is_stale(p, b, env.src),
        // A proposer that can crash forgets the decision and its clients: what it knows now
        // does not make these dead.
        (Chosen(_), PaxosState::Proposer(p)) => !cfg.crashable(i) && chosen_is_dead(p),
        (Propose(_), PaxosState::Proposer(p)) => !cfg.crashable(i) && p.clients.contains(&env.src),
        (Accepted(b, v), PaxosState::Learner(l)) => {
            let learned = saved_learned(storage) || (!cfg.crashable(i) && l.learned.is_some());
            if learned {
                // The learner answers with Chosen to the ballot's proposer (`tell_again`). It told
                // every proposer when it learned, so to a proposer that cannot crash the answer
                // repeats a message already sent: delivered, it is a no-op, and a run that
                // delivers the answer is matched by one that delivers (instead of losing) the
                // first. Only a proposer that can crash, and so forget, needs it.
                cfg.bugs.has(Bug::SilentLearner) || !cfg.crashable(usize::from(b.proposer))
            } else {
                !cfg.crashable(i) && accepted_is_dead(l, cfg.bugs, &(*b, *v, env.src))
            }
        }
        // A Read already waiting changes nothing but its catch-up, which repeats CatchUps already
        // sent: a duplicating network still holds them (or they are dead), and the others carry
        // a client's one Read once.
        (Read, PaxosState::Learner(l)) => {
            matches!(states.get(usize::from(env.src)).map(|c| &**c), Some(PaxosState::Client(ClientState::Done)))
                || (!cfg.crashable(i) && l.readers.contains(&env.src))
        }
        // A learner that learned ignores every Chosen; only a proposer's counts.
        (Chosen(_), PaxosState::Learner(l)) => {
            saved_learned(storage)
                || (!cfg.crashable(i) && l.learned.is_some())
                || !cfg.proposer_ids().contains(&env.src)
        }
        // A catch-up is answered with Chosen (a proposer) or Accepted (an acceptor, to a learner
        // only), both about the decision: once the asking learner saved what it learned it has no
        // use for them — except that it answers an Accepted with Chosen to the ballot's proposer
        // (`tell_again`), which only a proposer that can crash needs (see Accepted above).
        (CatchUp, PaxosState::Proposer(_)) => storages.get(usize::from(env.src)).is_some_and(saved_learned),
        (CatchUp, PaxosState::Acceptor(_)) => {
            !cfg.learner_ids().contains(&env.src)
                || (storages.get(usize::from(env.src)).is_some_and(saved_learned)
                    && (cfg.bugs.has(Bug::SilentLearner) || cfg.proposer_crashes == 0))
        }
        (Decided(_), PaxosState::Client(c)) => *c != ClientState::Proposing,
        (ReadOk(_), PaxosState::Client(c)) => *c == ClientState::Done,
        _ => true, // a message the receiving role never handles
    }
}

/// Whether a learner's saved storage holds a learned value (it survives every crash).
fn saved_learned(storage: &Option<PaxosStorage>) -> bool {
    matches!(storage, Some(PaxosStorage::Learner { learned: Some(_) }))
}

/// One thing that refers to an acceptor: (kind, other actor, message, vote), its id left out.
type Link<'a> = (u8, Id, Option<&'a PaxosMsg>, Option<(Ballot, Value)>);

/// Every message in the network, once per copy. (Stateright 0.31's `Network::iter_all` never
/// ends on an ordered network and repeats non-duplicating copies, so it is not used here.)
fn envelopes(network: &Network<PaxosMsg>) -> Vec<(Id, Id, &PaxosMsg)> {
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

/// Symmetry reduction over acceptors, which are interchangeable: nothing in the protocol depends
/// on which acceptor is which. Acceptors are renumbered in the order of their signature (state,
/// storage, crashed, and what refers to them) and every id in the state is rewritten accordingly; proposers, learners and clients
/// keep their ids (ballots compare proposer ids, so proposers are *not* interchangeable).
/// Also forgets the last delivery, as [`without_last_delivery`] does.
pub fn representative(s: &PaxosSysState) -> PaxosSysState {
    let n = s.actor_states.len();
    let acceptors: Vec<usize> = (0..n).filter(|&i| matches!(*s.actor_states[i], PaxosState::Acceptor(_))).collect();
    // Each acceptor's signature: its own state, then everything that refers to it (messages it
    // sent or will receive, promises counted by proposers, votes in learners and the history),
    // with its id left out. Equal signatures are rare, so most states get one representative.
    let mut links: Vec<Vec<Link>> = vec![Vec::new(); acceptors.len()];
    for (src, dst, msg) in envelopes(&s.network) {
        if let Some(l) = links.get_mut(usize::from(src)) {
            l.push((0, dst, Some(msg), None));
        }
        if let Some(l) = links.get_mut(usize::from(dst)) {
            l.push((1, src, Some(msg), None));
        }
    }
    for (i, a) in s.actor_states.iter().enumerate() {
        match &**a {
            PaxosState::Proposer(p) => {
                for acc in &p.promises {
                    if let Some(l) = links.get_mut(usize::from(*acc)) {
                        l.push((2, Id::from(i), None, None));
                    }
                }
            }
            PaxosState::Learner(l) => {
                for (b, v, acc) in &l.votes {
                    if let Some(l) = links.get_mut(usize::from(*acc)) {
                        l.push((3, Id::from(i), None, Some((*b, *v))));
                    }
                }
            }
            _ => {}
        }
    }
    for (b, v, acc) in &s.history.votes {
        if let Some(l) = links.get_mut(usize::from(*acc)) {
            l.push((4, Id::from(0), None, Some((*b, *v))));
        }
    }
    for l in &mut links {
        l.sort();
    }
    let key = |i: usize| (&s.actor_states[i], &s.actor_storages[i], s.crashed[i], &links[i]);
    let mut order = acceptors.clone();
    order.sort_by(|&i, &j| key(i).cmp(&key(j)));
    if order == acceptors {
        return without_last_delivery(s); // already in canonical order
    }
    crate::check::symmetry::renumber(s, &acceptors, &order)
}
