//! The sound reductions of the Paxos model (see docs/architecture.md for why each is sound):
//! dead messages removed from the network, the duplicating network's last delivery forgotten,
//! symmetry over acceptors, and, with `crash_learners`, one copy of each catch-up and vote to a
//! learner in flight (see [`merge_copies`]).

use super::{PaxosModel, PaxosSysState};
#[cfg(debug_assertions)]
use crate::check::dead::assert_dead_deliveries_are_no_ops;
use crate::check::network::{envelopes, merge_copies, remove_dead, without_last_delivery};
use crate::paxos::acceptor::AcceptorState;
use crate::paxos::actor::{PaxosState, PaxosStorage};
use crate::paxos::client::ClientState;
use crate::paxos::learner::LearnerState;
use crate::paxos::proposer::{Phase, ProposerState};
use crate::paxos::{Ballot, Bug, BugSet, PaxosMsg, Value};
use stateright::actor::{ActorModelState, Envelope, Id};
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
    #[cfg(debug_assertions)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::dead::check_dead_delivery;
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
        m.next_state(s, ActorModelAction::Deliver { src, dst, msg: *msg }).expect("a step")
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
            .map(|(src, dst, msg)| Envelope { src, dst, msg: *msg })
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
