//! Paxos's scenarios, replayed in the model of [`PaxosModelCfg::into_model`].

use super::{cannot, ensure, last, step, Spec};
use crate::paxos::model::{bug_config, chosen_values, property::*, PaxosSysState};
use crate::paxos::{Ballot, Bug, PaxosModelCfg, PaxosState};
use stateright::actor::Id;
use stateright::Model;

type PaxosSpec = Spec<PaxosModelCfg>;

/// The Paxos scenarios, in the guide's order.
pub static SCENARIOS: [PaxosSpec; 2] = [DUELING_PROPOSERS, ACCEPTOR_RECOVERS_PROMISE];

fn promise(s: &PaxosSysState, acceptor: usize) -> Option<Ballot> {
    match s.actor_states.get(acceptor).map(|a| &**a) {
        Some(PaxosState::Acceptor(a)) => a.promised,
        _ => None,
    }
}

const DUELING_PROPOSERS: PaxosSpec = Spec {
    name: "dueling-proposers",
    about: "two proposers preempt each other's ballots round after round; nothing is chosen",
    cfg: || PaxosModelCfg { clients: 0, crashes: 0, ..PaxosModelCfg::default() },
    steps: &[
        step("p3 -> a0 : Prepare(b1.3)", "phase 1(a) of ballot b1.3"),
        step("a0 -> p3 : Promise(b1.3, none)", ""),
        step("p3 -> a1 : Prepare(b1.3)", ""),
        step("a1 -> p3 : Promise(b1.3, none)", "a majority promised: p3 sends Accept(b1.3, A)"),
        step("p4 -> a1 : Prepare(b1.4)", "p4's higher ballot b1.4"),
        step("a1 -> p4 : Promise(b1.4, none)", ""),
        step("p4 -> a2 : Prepare(b1.4)", ""),
        step("a2 -> p4 : Promise(b1.4, none)", "p4 sends Accept(b1.4, B); b1.3 is preempted"),
        cannot("p3 -> a1 : Accept(b1.3, A)", "a1 promised b1.4: p3's Accept is refused"),
        step("p3 timer Retry fires", "p3 tries again with b2.3"),
        step("p3 -> a0 : Prepare(b2.3)", ""),
        step("a0 -> p3 : Promise(b2.3, none)", ""),
        step("p3 -> a1 : Prepare(b2.3)", ""),
        step("a1 -> p3 : Promise(b2.3, none)", "p3 sends Accept(b2.3, A); b1.4 is preempted"),
        cannot("p4 -> a1 : Accept(b1.4, B)", "a1 promised b2.3"),
        step("p4 timer Retry fires", "p4 tries again with b2.4"),
        step("p4 -> a1 : Prepare(b2.4)", ""),
        step("a1 -> p4 : Promise(b2.4, none)", ""),
        step("p4 -> a2 : Prepare(b2.4)", ""),
        step("a2 -> p4 : Promise(b2.4, none)", "p4 sends Accept(b2.4, B); b2.3 is preempted"),
        cannot("p3 -> a1 : Accept(b2.3, A)", "a1 promised b2.4"),
    ],
    expect:
        "every proposer reached phase 2 in both rounds, each ballot but the last was preempted, and nothing is chosen",
    violates: &[],
    check: |cfg, model, states| {
        let s = last(states)?;
        let duel = model.properties().into_iter().find(|p| p.name == DUELING);
        ensure(duel.is_some_and(|p| (p.condition)(model, s)), || "the dueling-proposers witness does not hold".into())?;
        ensure(chosen_values(cfg, &s.history).is_empty(), || "a value was chosen".into())
    },
};

const ACCEPTOR_RECOVERS_PROMISE: PaxosSpec = Spec {
    name: "acceptor-recovers-promise",
    about: "an acceptor crashes and restarts with its saved promise, so a stale Accept stays refused",
    cfg: || PaxosModelCfg { bugs: Default::default(), ..bug_config(Bug::PromiseNotPersisted) },
    steps: &[
        step("p3 -> a0 : Prepare(b1.3)", ""),
        step("a0 -> p3 : Promise(b1.3, none)", ""),
        step("p3 -> a1 : Prepare(b1.3)", ""),
        step("a1 -> p3 : Promise(b1.3, none)", "p3 has a majority: Accept(b1.3, A) goes out"),
        step("p3 -> a0 : Accept(b1.3, A)", "a0 votes for A"),
        step("p4 -> a1 : Prepare(b1.4)", ""),
        step("a1 -> p4 : Promise(b1.4, none)", "a1 saves its promise of b1.4 before answering"),
        step("p4 -> a2 : Prepare(b1.4)", ""),
        step("a2 -> p4 : Promise(b1.4, none)", "p4 has a majority; nothing accepted in it, so B"),
        step("p4 -> a2 : Accept(b1.4, B)", "a2 votes for B"),
        step("a1 crashes", ""),
        step("a1 restarts from its saved state", "a1 comes back with its promise of b1.4"),
        cannot("p3 -> a1 : Accept(b1.3, A)", "still refused: with the bug it is accepted and A is chosen"),
        step("p4 -> a1 : Accept(b1.4, B)", "a1 and a2 voted for (b1.4, B): B is chosen"),
    ],
    expect: "after the restart a1 still promised b1.4, the stale Accept(b1.3, A) is refused, and only B is chosen",
    violates: &[],
    check: |cfg, _, states| {
        let restarted = states.get(12).ok_or("the path has no step 12")?;
        let b14 = Ballot { round: 1, proposer: Id::from(4) };
        ensure(promise(restarted, 1) == Some(b14), || {
            format!("a1 restarted with promise {:?}", promise(restarted, 1))
        })?;
        let s = last(states)?;
        let chosen = chosen_values(cfg, &s.history);
        ensure(chosen.len() == 1 && chosen.contains(&'B'), || format!("chosen: {chosen:?}, expected only B"))
    },
};
