//! The properties: agreement, validity, stability and linearizability of client operations
//! (`always`), and what must be reachable or eventually hold. [`all`] lists what a
//! configuration checks; the predicates follow.

use crate::paxos::actor::PaxosState;
use crate::paxos::{majority, Ballot, Value};
use stateright::actor::Id;
use stateright::Property;

use std::collections::BTreeSet;

/// Property names, shared by the model, the bug zoo, the CLI and the tests.
pub mod property {
    pub const AGREEMENT: &str = "agreement";
    pub const LEARNER_AGREEMENT: &str = "learner agreement";
    pub const VALIDITY: &str = "validity";
    pub const STABILITY: &str = "stability";
    pub const LINEARIZABLE: &str = "linearizable";
    pub const VALUE_CHOSEN: &str = "value chosen";
    pub const DUELING: &str = "dueling proposers";
    pub const EVENTUALLY_CHOSEN: &str = "eventually chosen";
    pub const DECISION_RELEARNED: &str = "restarted proposers relearn the decision";
    pub const DECISION_LEARNED: &str = "restarted learners learn the decision";
}

use super::{PaxosHistory, PaxosModel, PaxosModelCfg, PaxosSysState};
use property::*;

/// Every property checked under `cfg`, in the order reports list them.
pub fn all(cfg: &PaxosModelCfg) -> Vec<Property<PaxosModel>> {
    let mut ps = vec![
        Property::always(AGREEMENT, |m: &PaxosModel, s: &PaxosSysState| chosen_values(&m.cfg, &s.history).len() <= 1),
        Property::always(LEARNER_AGREEMENT, learner_agreement),
        Property::always(VALIDITY, |m: &PaxosModel, s: &PaxosSysState| {
            chosen_values(&m.cfg, &s.history).is_subset(&s.history.proposed)
        }),
        Property::always(STABILITY, stability),
        Property::always(LINEARIZABLE, |_: &PaxosModel, s: &PaxosSysState| {
            s.history.lin.serialized_history().is_some()
        }),
        Property::sometimes(VALUE_CHOSEN, |m: &PaxosModel, s: &PaxosSysState| {
            !chosen_values(&m.cfg, &s.history).is_empty()
        }),
    ];
    if cfg.proposers >= 2 {
        ps.push(Property::sometimes(DUELING, dueling));
    }
    if !cfg.lossy && cfg.crashes == 0 && cfg.proposer_crashes == 0 {
        ps.push(Property::eventually(EVENTUALLY_CHOSEN, |m: &PaxosModel, s: &PaxosSysState| {
            !chosen_values(&m.cfg, &s.history).is_empty()
        }));
    }
    if !cfg.lossy && cfg.crashes == 0 && cfg.proposer_crashes > 0 {
        ps.push(Property::eventually(DECISION_RELEARNED, decision_relearned));
    }
    if !cfg.lossy && cfg.crashes == 0 && cfg.proposer_crashes == 0 && cfg.learner_crashes > 0 {
        ps.push(Property::eventually(DECISION_LEARNED, decision_learned));
    }
    ps
}

/// The values chosen so far: those a majority of acceptors voted for in one ballot.
pub fn chosen_values(cfg: &PaxosModelCfg, h: &PaxosHistory) -> BTreeSet<Value> {
    chosen_by_votes(&h.votes, cfg.acceptors)
}

/// Phase 3 over a set of (ballot, value, acceptor) votes: the values some majority of `acceptors`
/// voted for in one ballot.
pub fn chosen_by_votes(votes: &BTreeSet<(Ballot, Value, Id)>, acceptors: usize) -> BTreeSet<Value> {
    let need = majority(acceptors);
    let mut chosen = BTreeSet::new();
    let mut run: Option<((Ballot, Value), usize)> = None;
    // Votes are sorted by (ballot, value, acceptor): count each (ballot, value) run.
    for (b, v, _) in votes {
        run = match run {
            Some((key, n)) if key == (*b, *v) => Some((key, n + 1)),
            _ => Some(((*b, *v), 1)),
        };
        if let Some(((_, v), n)) = run {
            if n >= need {
                chosen.insert(v);
            }
        }
    }
    chosen
}

fn learner_state(s: &PaxosSysState, id: Id) -> Option<&crate::paxos::learner::LearnerState> {
    match s.actor_states.get(usize::from(id)).map(|a| &**a) {
        Some(PaxosState::Learner(l)) => Some(l),
        _ => None,
    }
}

/// Every value a learner has learned, now or before, was chosen.
fn learner_agreement(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let chosen = chosen_values(&m.cfg, &s.history);
    let now = m.cfg.learner_ids().into_iter().filter_map(|l| learner_state(s, l).and_then(|l| l.learned));
    now.chain(s.history.learned.values().copied()).all(|v| chosen.contains(&v))
}

/// A learner that learned a value still has it, also after a crash and restart.
fn stability(_: &PaxosModel, s: &PaxosSysState) -> bool {
    s.history.learned.iter().all(|(l, v)| {
        s.crashed.get(usize::from(*l)).copied().unwrap_or(false)
            || learner_state(s, *l).is_some_and(|ls| ls.learned == Some(*v))
    })
}

/// The finite witness of the dueling-proposers livelock: nothing is chosen, every proposer reached
/// phase 2 in every round the bound allows, and every one of those ballots but the highest is
/// already preempted (a majority of acceptors promised a higher ballot). Only the bound stops the
/// duel: with one more round the last ballot could be preempted too.
fn dueling(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let cfg = &m.cfg;
    let reached_phase2_everywhere = cfg
        .proposer_ids()
        .into_iter()
        .all(|p| (1..=cfg.max_round).all(|round| s.history.accept_requests.contains(&Ballot { round, proposer: p })));
    if !reached_phase2_everywhere || !chosen_values(cfg, &s.history).is_empty() {
        return false;
    }
    let promised = |a: usize| match &*s.actor_states[a] {
        PaxosState::Acceptor(acc) => acc.promised,
        _ => None,
    };
    let highest = s.history.accept_requests.iter().next_back().copied();
    s.history
        .accept_requests
        .iter()
        .filter(|b| Some(**b) != highest)
        .all(|b| (0..cfg.acceptors).filter(|&a| promised(a).is_some_and(|p| p > *b)).count() >= majority(cfg.acceptors))
}

/// The liveness of a restarted proposer, finite by construction: once every proposer crash of the
/// bound has happened (until then a crash is always enabled, so no state is terminal), every
/// proposer is up and knows the decision and every client has its answer. It stays true once it
/// holds (no crash is left), so "eventually" means "in every terminal state". A proposer that is
/// down at the end is excused only if the bound leaves its restart no ballot (it saved its last
/// round): restarting would leave the bound.
fn decision_relearned(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let cfg = &m.cfg;
    if s.history.proposer_crashes < cfg.proposer_crashes {
        return false;
    }
    let proposers_know = cfg.proposer_ids().into_iter().all(|p| {
        let i = usize::from(p);
        let out_of_rounds =
            matches!(s.actor_storages.get(i), Some(Some(crate::paxos::PaxosStorage::Proposer { round })) if *round >= cfg.max_round);
        match &*s.actor_states[i] {
            _ if s.crashed[i] => out_of_rounds,
            PaxosState::Proposer(ps) => ps.decided.is_some() || (ps.proposal.is_none() && cfg.clients > 0),
            _ => true,
        }
    });
    let clients_answered = cfg.client_ids().into_iter().all(|c| {
        matches!(&*s.actor_states[usize::from(c)], PaxosState::Client(cs) if *cs != crate::paxos::client::ClientState::Proposing)
    });
    proposers_know && clients_answered
}

/// The liveness of a restarted learner, finite by construction: once every learner crash of the
/// bound has happened (until then a crash is always enabled, so no state is terminal), every
/// learner is up and has learned a value. It stays true once it holds (a learned value is saved,
/// no crash is left), so "eventually" means "in every terminal state". Checked only where no
/// other fault is (no acceptor or proposer crash, no loss), where a value is always chosen
/// ([`property::EVENTUALLY_CHOSEN`] is checked beside it): so on every terminal path a value is
/// chosen and every learner, also one that lost its votes or missed the decision, has learned it.
fn decision_learned(m: &PaxosModel, s: &PaxosSysState) -> bool {
    let cfg = &m.cfg;
    s.history.learner_crashes >= cfg.learner_crashes
        && cfg
            .learner_ids()
            .into_iter()
            .all(|l| !s.crashed[usize::from(l)] && learner_state(s, l).is_some_and(|ls| ls.learned.is_some()))
}
