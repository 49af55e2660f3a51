//! The sound reductions of the Paxos model (see docs/architecture.md for why each is sound):
//! dead messages removed from the network, the duplicating network's last delivery forgotten,
//! symmetry over acceptors, and, with `crash_learners`, one copy of each catch-up and vote to a
//! learner in flight (see [`merge_copies`]).

use super::acceptor::AcceptorState;
use super::actor::{PaxosState, PaxosStorage};
use super::client::ClientState;
use super::learner::LearnerState;
use super::model::{PaxosModel, PaxosSysState};
use super::proposer::{Phase, ProposerState};
use super::{Ballot, Bug, BugSet, PaxosMsg, Value};
use stateright::actor::{Actor, ActorModelState, Command, Envelope, Id, Network, Out, Timers};
use std::borrow::Cow;
use std::sync::Arc;

/// The Paxos model's rule for dead messages, as [`PaxosModel::remove_dead_by`] takes it.
pub type DeadRule = fn(&PaxosModel, &[Arc<PaxosState>], &[Option<PaxosStorage>], &Envelope<PaxosMsg>) -> bool;

impl PaxosModel {
    /// Removes every message [`is_dead`] from the network (see [`remove_dead`]), unless the
    /// configuration turns the reduction off (`reduce_dead`).
    pub(crate) fn remove_dead_messages(&self, s: &mut PaxosSysState) {
        if self.cfg.reduce_dead {
            self.remove_dead_by(s, is_dead);
        }
        self.merge_learner_copies(s);
    }

    /// Removes every message `rule` declares dead. In a debug build each one is first delivered
    /// through the real actor ([`assert_dead_deliveries_are_no_ops`]): a rule that declares a
    /// live message dead panics here instead of silently cutting behaviours.
    pub fn remove_dead_by(&self, s: &mut PaxosSysState, rule: DeadRule) {
        #[cfg(debug_assertions)]
        assert_dead_deliveries_are_no_ops(
            &self.actors.actors,
            s,
            |i| self.may_crash(s, i),
            |env| rule(self, &s.actor_states, &s.actor_storages, env),
            |env| self.cfg.lossy && self.retells(s, env),
        );
        let ActorModelState { network, actor_states, actor_storages, .. } = s;
        remove_dead(network, |env| rule(self, actor_states, actor_storages, env));
    }

    /// A learner that learned `v` told every proposer so (`learner::on_accepted`); its `Chosen(v)`
    /// again (`tell_again`, which [`is_dead`] counts as dead to a proposer that cannot crash)
    /// repeats that message. On a lossy network the first may be lost, and then the repeat is
    /// not a no-op; but a run that loses the first and delivers the repeat is matched by one that
    /// delivers the first instead.
    #[cfg(debug_assertions)]
    fn retells(&self, s: &PaxosSysState, env: &Envelope<PaxosMsg>) -> bool {
        let learned = match s.actor_states.get(usize::from(env.src)).map(|a| &**a) {
            Some(PaxosState::Learner(l)) => l.learned,
            _ => None,
        };
        matches!(env.msg, PaxosMsg::Chosen(v) if learned == Some(v))
            && self.cfg.proposer_ids().contains(&env.dst)
            && !self.cfg.crashable(usize::from(env.dst))
    }

    /// Whether actor `i` may still crash from `s` on (and so receive after a restart).
    fn may_crash(&self, s: &PaxosSysState, i: usize) -> bool {
        let cfg = &self.cfg;
        if cfg.proposer_may_crash(i) {
            s.history.proposer_crashes < cfg.proposer_crashes
        } else if cfg.learner_may_crash(i) {
            s.history.learner_crashes < cfg.learner_crashes
        } else {
            cfg.crashes > 0 && cfg.crashable(i)
        }
    }

    /// With `crash_learners`: one copy of each catch-up and vote to a learner in flight
    /// ([`merge_copies`]).
    fn merge_learner_copies(&self, s: &mut PaxosSysState) {
        let network = &mut s.network;
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

/// Whether at least one copy of `env` is in flight on `network`.
pub(crate) fn in_flight<M: Clone + Eq + std::hash::Hash>(network: &Network<M>, env: &Envelope<M>) -> bool {
    match network {
        Network::UnorderedDuplicating(set, _) => set.contains(env),
        Network::UnorderedNonDuplicating(bag) => bag.contains_key(env),
        Network::Ordered(channels) => channels.get(&(env.src, env.dst)).is_some_and(|q| q.contains(&env.msg)),
    }
}

/// What delivering `env` to `actor` in `state`, whose timers are `timers` and storage `saved`,
/// does that a dead message's delivery must not: change the state, save anything but what is
/// saved already, choose, set a timer that is not set or cancel one that is, or send a message
/// that `harmless` does not excuse (a copy of one in flight, or one that is dead itself).
/// Protocol-independent: the Raft model and the mirror use it too.
pub fn dead_delivery_effect<A: Actor>(
    actor: &A,
    state: &A::State,
    timers: &Timers<A::Timer>,
    saved: &Option<A::Storage>,
    env: &Envelope<A::Msg>,
    harmless: impl Fn(&Envelope<A::Msg>) -> bool,
) -> Result<(), String> {
    let mut next = Cow::Borrowed(state);
    let mut out = Out::new();
    actor.on_msg(env.dst, &mut next, env.src, env.msg.clone(), &mut out);
    if *next != *state {
        return Err(format!("changes the receiver's state from {state:?} to {:?}", &*next));
    }
    let is_set = |t: &A::Timer| timers.iter().any(|s| s == t);
    for c in out.iter() {
        let effect = match c {
            Command::Send(dst, msg) if harmless(&Envelope { src: env.dst, dst: *dst, msg: msg.clone() }) => continue,
            Command::SetTimer(t, _) if is_set(t) => continue,
            Command::CancelTimer(t) if !is_set(t) => continue,
            Command::Save(st) if saved.as_ref() == Some(st) => continue,
            Command::Send(dst, msg) => format!("sends {msg:?} to {dst:?}, which is neither in flight nor dead"),
            Command::SetTimer(t, _) => format!("sets timer {t:?}"),
            Command::CancelTimer(t) => format!("cancels timer {t:?}"),
            Command::Save(st) => format!("saves {st:?}"),
            Command::ChooseRandom(key, _) => format!("chooses {key}"),
        };
        return Err(effect);
    }
    Ok(())
}

/// Delivers a message declared dead through the real actor, wherever it can be delivered: to
/// its receiver now, if it is up; and to the state the receiver restarts with (its `on_start`
/// from what it saved), if it is down — it can receive only after a restart — or `may_crash`
/// (a crash and a restart may come before the delivery). Rules judge a receiver that may crash
/// by what it saved for exactly this reason. Only the next delivery is checked, not every
/// future one: a rule that is right now but wrong later (the message comes alive once its
/// receiver has moved on, as a repeated AppendEntries under `truncate-on-stale-append` does) is
/// not caught here, since the reduced model no longer holds the message by then. The
/// equal-verdict tests (models/reduction.rs) compare with the unreduced model for that.
pub fn check_dead_delivery<A: Actor, H>(
    actors: &[A],
    s: &ActorModelState<A, H>,
    env: &Envelope<A::Msg>,
    may_crash: bool,
    harmless: impl Fn(&Envelope<A::Msg>) -> bool,
) -> Result<(), String> {
    let i = usize::from(env.dst);
    let (Some(actor), Some(state)) = (actors.get(i), s.actor_states.get(i)) else { return Ok(()) };
    let crashed = s.crashed.get(i).copied().unwrap_or(false);
    let saved = s.actor_storages.get(i).unwrap_or(&None);
    let why = |when: &str, e: String| format!("{env:?} is declared dead, but delivered {when} it {e}");
    if !crashed {
        let timers = s.timers_set.get(i).cloned().unwrap_or_default();
        dead_delivery_effect(actor, state, &timers, saved, env, &harmless).map_err(|e| why("now", e))?;
    }
    if crashed || may_crash {
        let mut out = Out::new();
        let restarted = actor.on_start(env.dst, saved, &mut out);
        let mut timers = Timers::new();
        for c in out.iter() {
            if let Command::SetTimer(t, _) = c {
                timers.set(t.clone());
            }
        }
        dead_delivery_effect(actor, &restarted, &timers, saved, env, &harmless)
            .map_err(|e| why("after a restart", e))?;
    }
    Ok(())
}

/// The debug-build check of a dead-message rule: every message in flight that `dead` declares
/// dead is delivered through the real actor ([`check_dead_delivery`]), and must change nothing.
/// A send it makes is excused if a copy is in flight, `dead` declares it dead too, or `repeats`
/// says it repeats one sent before (whose loss a run that delivers it instead matches).
#[cfg(debug_assertions)]
pub(crate) fn assert_dead_deliveries_are_no_ops<A, H>(
    actors: &[A],
    s: &ActorModelState<A, H>,
    may_crash: impl Fn(usize) -> bool,
    dead: impl Fn(&Envelope<A::Msg>) -> bool,
    repeats: impl Fn(&Envelope<A::Msg>) -> bool,
) where
    A: Actor,
{
    for (src, dst, msg) in envelopes(&s.network) {
        let env = Envelope { src, dst, msg: msg.clone() };
        if dead(&env) {
            let harmless = |e: &Envelope<A::Msg>| in_flight(&s.network, e) || dead(e) || repeats(e);
            if let Err(e) = check_dead_delivery(actors, s, &env, may_crash(usize::from(dst)), harmless) {
                panic!("dead-message rule slip: {e}");
            }
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

/// Forgets which message was delivered last. The duplicating network keeps it only so that a
/// delivery changing nothing else still yields a new state; no action or property reads it, so
/// states that differ only there behave alike and may be merged (a sound reduction).
pub fn forget_last_delivery(s: &PaxosSysState) -> PaxosSysState {
    let mut s = s.clone();
    if let Network::UnorderedDuplicating(_, last) = &mut s.network {
        *last = None;
    }
    s
}

/// One thing that refers to an acceptor: (kind, other actor, message, vote), its id left out.
type Link<'a> = (u8, Id, Option<&'a PaxosMsg>, Option<(Ballot, Value)>);

/// Every message in the network, once per copy. (Stateright 0.31's `Network::iter_all` never
/// ends on an ordered network and repeats non-duplicating copies, so it is not used here.)
pub(crate) fn envelopes<M: Eq + std::hash::Hash>(network: &Network<M>) -> Vec<(Id, Id, &M)> {
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
/// Also forgets the last delivery, as [`forget_last_delivery`] does.
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
        return forget_last_delivery(s); // already in canonical order
    }
    crate::symmetry::renumber(s, &acceptors, &order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::model::PaxosModelCfg;
    use stateright::actor::ActorModelAction;
    use stateright::Model;

    /// A planted slip in the dead-message rule: an Accept at the promised ballot declared dead
    /// (`<=` for `<` in phase 2(b)), which would hide every vote.
    fn accept_at_promise_is_dead(
        m: &PaxosModel,
        states: &[Arc<PaxosState>],
        storages: &[Option<PaxosStorage>],
        env: &Envelope<PaxosMsg>,
    ) -> bool {
        let slipped = match (&env.msg, states.get(usize::from(env.dst)).map(|a| &**a)) {
            (PaxosMsg::Accept(b, _), Some(PaxosState::Acceptor(a))) => a.promised.is_some_and(|p| *b <= p),
            _ => false,
        };
        slipped || is_dead(m, states, storages, env)
    }

    fn deliver(m: &PaxosModel, s: &PaxosSysState, pick: impl Fn(Id, Id, &PaxosMsg) -> bool) -> PaxosSysState {
        let (src, dst, msg) = envelopes(&s.network).into_iter().find(|(a, b, m)| pick(*a, *b, m)).expect("a message");
        m.next_state(s, ActorModelAction::Deliver { src, dst, msg: msg.clone() }).expect("a step")
    }

    /// One proposer (actor 3) with its own value, 3 acceptors: two promises make it send its
    /// Accepts, which acceptor 0 (having promised that ballot) would vote for.
    fn an_accept_in_flight() -> (PaxosModel, PaxosSysState) {
        let cfg = PaxosModelCfg { proposers: 1, clients: 0, crashes: 0, max_round: 1, ..PaxosModelCfg::default() };
        let m = cfg.into_model();
        let mut s = m.init_states().remove(0);
        for a in [0, 1] {
            s = deliver(&m, &s, |_, dst, msg| dst == Id::from(a) && matches!(msg, PaxosMsg::Prepare(_)));
            s = deliver(&m, &s, |src, _, msg| src == Id::from(a) && matches!(msg, PaxosMsg::Promise(..)));
        }
        (m, s)
    }

    #[test]
    fn the_real_rule_passes_the_check_and_the_slipped_rule_fails_it_naming_the_accept() {
        let (m, s) = an_accept_in_flight();
        let accept = envelopes(&s.network)
            .into_iter()
            .find(|(_, dst, msg)| *dst == Id::from(0) && matches!(msg, PaxosMsg::Accept(..)))
            .map(|(src, dst, msg)| Envelope { src, dst, msg: msg.clone() })
            .expect("an Accept to acceptor 0");
        assert!(!is_dead(&m, &s.actor_states, &s.actor_storages, &accept));
        assert!(accept_at_promise_is_dead(&m, &s.actor_states, &s.actor_storages, &accept));
        let err = check_dead_delivery(&m.actors.actors, &s, &accept, false, |_| false).expect_err("a live Accept");
        assert!(err.contains("changes the receiver's state"), "{err}");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "dead-message rule slip")]
    fn removing_a_live_accept_as_dead_panics_in_a_debug_build() {
        let (m, mut s) = an_accept_in_flight();
        m.remove_dead_by(&mut s, accept_at_promise_is_dead);
    }
}
