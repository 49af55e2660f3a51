//! An invariant that implies Agreement, checked to be preserved by every step.
//!
//! Agreement ("at most one value is chosen") is not inductive: a state can satisfy it and be one
//! step from a second value being chosen. [`inv`] strengthens it with the facts Paxos's proof
//! rests on ("Paxos Made Simple", P2c): every proposal that can still be voted for is *safe* — no
//! other value is or can still be chosen in a lower ballot — promises report votes truthfully,
//! and each acceptor keeps (and has saved) its promise and vote.
//!
//! The generator draws states by random walks of up to 120 steps from the initial state, at a bound
//! beyond the exhaustive checks (3 ballots per proposer, one acceptor down at a time, duplicating
//! network), with proptest choosing every step so that failures shrink to short walks. It covers
//! reachable states only, not arbitrary states that satisfy the invariant; the test then applies
//! *every* enabled step to each drawn state and requires the invariant again.

use crate::walk::{last, walk};
use proptest::prelude::*;
use quorum::paxos::actor::{PaxosState, PaxosStorage};
use quorum::paxos::model::{chosen_values, PaxosModel, PaxosSysState};
use quorum::paxos::{majority, Ballot, Bug, PaxosModelCfg, PaxosMsg, Proposal, Value};
use stateright::actor::Id;
use std::collections::BTreeSet;

fn cfg() -> PaxosModelCfg {
    PaxosModelCfg { clients: 0, crashes: 1, max_round: 3, ..PaxosModelCfg::default() }
}

/// The acceptor's promise and vote: what it saved if it is down (it restarts from that).
fn acceptor(s: &PaxosSysState, a: usize) -> (Option<Ballot>, Option<Proposal>) {
    let saved = match &s.actor_storages[a] {
        Some(PaxosStorage::Acceptor(st)) => (st.promised, st.accepted),
        _ => (None, None),
    };
    match (&*s.actor_states[a], s.crashed[a]) {
        (PaxosState::Acceptor(st), false) => (st.promised, st.accepted),
        _ => saved,
    }
}

fn voted(s: &PaxosSysState, a: usize, b: Ballot, v: Value) -> bool {
    s.history.votes.contains(&(b, v, Id::from(a)))
}

fn voted_in(s: &PaxosSysState, a: usize, b: Ballot) -> bool {
    s.history.votes.iter().any(|(vb, _, va)| *vb == b && usize::from(*va) == a)
}

/// Every ballot of the bound, in order.
fn ballots(cfg: &PaxosModelCfg) -> Vec<Ballot> {
    let mut all: Vec<Ballot> = (1..=cfg.max_round)
        .flat_map(|round| cfg.proposer_ids().into_iter().map(move |proposer| Ballot { round, proposer }))
        .collect();
    all.sort();
    all
}

/// 1. Each acceptor has saved its promise and vote, and never voted above its promise.
pub fn acceptors_keep_their_word(cfg: &PaxosModelCfg, s: &PaxosSysState) -> bool {
    (0..cfg.acceptors).all(|a| {
        let saved = match &s.actor_storages[a] {
            Some(PaxosStorage::Acceptor(st)) => (st.promised, st.accepted),
            _ => (None, None),
        };
        let (promised, accepted) = acceptor(s, a);
        saved == (promised, accepted) && accepted.is_none_or(|(b, _)| Some(b) <= promised)
    })
}

/// 2. Every vote cast is at or below the voter's promise, and its last vote is its highest.
pub fn votes_are_backed(cfg: &PaxosModelCfg, s: &PaxosSysState) -> bool {
    s.history.votes.iter().all(|(b, _, a)| acceptor(s, usize::from(*a)).0 >= Some(*b))
        && (0..cfg.acceptors).all(|a| {
            let highest =
                s.history.votes.iter().filter(|(_, _, va)| usize::from(*va) == a).map(|(b, v, _)| (*b, *v)).max();
            acceptor(s, a).1 == highest
        })
}

/// Every proposal that exists anywhere: in votes, in acceptors, in Accept messages.
fn proposals(cfg: &PaxosModelCfg, s: &PaxosSysState) -> BTreeSet<Proposal> {
    let mut all: BTreeSet<Proposal> = s.history.votes.iter().map(|(b, v, _)| (*b, *v)).collect();
    all.extend((0..cfg.acceptors).filter_map(|a| acceptor(s, a).1));
    for env in s.network.iter_deliverable() {
        if let PaxosMsg::Accept(b, v) = env.msg {
            all.insert((*b, *v));
        }
    }
    all
}

/// 3. One value per ballot.
pub fn one_value_per_ballot(cfg: &PaxosModelCfg, s: &PaxosSysState) -> bool {
    let all = proposals(cfg, s);
    let ballots: BTreeSet<Ballot> = all.iter().map(|(b, _)| *b).collect();
    ballots.len() == all.len()
}

/// 4. Every proposal (b, v) is safe: in every lower ballot c some majority has each member either
///    voted (c, v) or promised above c without voting in c — so no other value is or can be
///    chosen in c.
pub fn proposals_are_safe(cfg: &PaxosModelCfg, s: &PaxosSysState) -> bool {
    proposals(cfg, s).iter().all(|&(b, v)| {
        ballots(cfg).into_iter().filter(|c| *c < b).all(|c| {
            let ok = (0..cfg.acceptors)
                .filter(|&a| voted(s, a, c, v) || (acceptor(s, a).0 > Some(c) && !voted_in(s, a, c)))
                .count();
            ok >= majority(cfg.acceptors)
        })
    })
}

/// 5. A Promise in flight reports the sender's highest vote below the promised ballot, and the
///    sender has not gone below its promise.
pub fn promises_are_truthful(s: &PaxosSysState) -> bool {
    s.network.iter_deliverable().all(|env| match env.msg {
        PaxosMsg::Promise(b, last) => {
            let a = usize::from(env.src);
            let below: Option<Proposal> = s
                .history
                .votes
                .iter()
                .filter(|(vb, _, va)| usize::from(*va) == a && vb < b)
                .map(|(vb, v, _)| (*vb, *v))
                .max();
            acceptor(s, a).0 >= Some(*b) && *last == below
        }
        _ => true,
    })
}

/// The strengthened invariant.
pub fn inv(cfg: &PaxosModelCfg, s: &PaxosSysState) -> Result<(), &'static str> {
    let parts: [(&'static str, bool); 5] = [
        ("acceptors keep their word", acceptors_keep_their_word(cfg, s)),
        ("votes are backed", votes_are_backed(cfg, s)),
        ("one value per ballot", one_value_per_ballot(cfg, s)),
        ("proposals are safe", proposals_are_safe(cfg, s)),
        ("promises are truthful", promises_are_truthful(s)),
    ];
    parts.into_iter().find(|(_, ok)| !ok).map_or(Ok(()), |(name, _)| Err(name))
}

fn preserved(model: &PaxosModel, s: &PaxosSysState) -> Result<(), String> {
    crate::walk::preserved(model, s, |s| inv(&model.cfg, s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn inductive_invariant_is_preserved_by_every_step(choices in prop::collection::vec(any::<usize>(), 0..120)) {
        let model = cfg().into_model();
        let s = last(walk(&model, &choices));
        prop_assert_eq!(preserved(&model, &s), Ok(()));
    }

    #[test]
    fn invariant_implies_agreement(choices in prop::collection::vec(any::<usize>(), 0..120)) {
        let model = cfg().into_model();
        let s = last(walk(&model, &choices));
        prop_assert!(inv(&model.cfg, &s).is_ok());
        prop_assert!(chosen_values(&model.cfg, &s.history).len() <= 1);
    }
}

/// The invariant has teeth: with a planted bug, some drawn state has a successor that breaks it.
fn broken_under(bug: Bug, conjuncts: &[&str]) {
    let model = cfg().with_bug(bug).into_model();
    crate::walk::assert_broken(&model, bug.name(), 2000, 120, conjuncts, |s| inv(&model.cfg, s));
}

#[test]
fn invariant_breaks_under_acceptor_ignores_promise() {
    // Voting below the promise: the vote is above no promise, and a Promise sent earlier no
    // longer reports the highest vote below its ballot.
    broken_under(Bug::AcceptorIgnoresPromise, &["votes are backed", "promises are truthful"]);
}

#[test]
fn invariant_breaks_under_lowest_accepted_value() {
    broken_under(Bug::LowestAcceptedValue, &["proposals are safe"]);
}

#[test]
fn invariant_breaks_under_promise_not_persisted() {
    broken_under(Bug::PromiseNotPersisted, &["acceptors keep their word"]);
}
