//! The model's transitions: Stateright's actor model, plus the crash bounds, the dead-message
//! reduction and the bound on rounds.

use crate::paxos::actor::PaxosState;
use stateright::actor::ActorModelAction;
use stateright::{Model, Path, Property};

use super::{describe_action, PaxosAction, PaxosModel, PaxosModelCfg, PaxosSysState};
use crate::check::network::without_last_delivery;

impl Model for PaxosModel {
    type State = PaxosSysState;
    type Action = PaxosAction;

    fn init_states(&self) -> Vec<PaxosSysState> {
        let mut states = self.actors.init_states();
        for s in &mut states {
            self.remove_dead_messages(s);
        }
        states
    }

    fn actions(&self, state: &PaxosSysState, actions: &mut Vec<PaxosAction>) {
        self.actors.actions(state, actions);
        if self.cfg.proposer_crashes > 0 || self.cfg.learner_crashes > 0 {
            // Stateright's max_crashes bounds the actors down at once, for every role alike:
            // acceptors (and learners with `crash_learners`) keep their bound (`crashes` at
            // once), proposers and learners with a total bound get theirs (`proposer_crashes`,
            // `learner_crashes` in total, one of the role down at a time).
            let cfg = &self.cfg;
            let class = |i: usize| u8::from(cfg.proposer_may_crash(i)) + 2 * u8::from(cfg.learner_may_crash(i));
            let down = |c: u8| (0..state.crashed.len()).filter(|&i| state.crashed[i] && class(i) == c).count();
            let (others_down, proposers_down, learners_down) = (down(0), down(1), down(2));
            actions.retain(|a| match a {
                ActorModelAction::Crash(id) => match class(usize::from(*id)) {
                    1 => proposers_down == 0 && state.history.proposer_crashes < cfg.proposer_crashes,
                    2 => learners_down == 0 && state.history.learner_crashes < cfg.learner_crashes,
                    _ => others_down < cfg.crashes,
                },
                _ => true,
            });
        }
    }

    fn next_state(&self, last: &PaxosSysState, action: PaxosAction) -> Option<PaxosSysState> {
        let crashed = match &action {
            ActorModelAction::Crash(id) => Some(usize::from(*id)),
            _ => None,
        };
        let mut next = self.actors.next_state(last, action)?;
        if crashed.is_some_and(|i| self.cfg.proposer_may_crash(i)) {
            next.history.proposer_crashes = next.history.proposer_crashes.saturating_add(1);
        }
        if crashed.is_some_and(|i| self.cfg.learner_may_crash(i)) {
            next.history.learner_crashes = next.history.learner_crashes.saturating_add(1);
        }
        self.remove_dead_messages(&mut next);
        // With proposer or learner crashes a delivery can answer with a message that is dead on
        // arrival (a learner telling a proposer that knows, an acceptor re-sending a vote the
        // learner has): a step that changes nothing is no step, so that states with nothing
        // left to do count as terminal for the liveness properties.
        let total_crash_bounds = self.cfg.proposer_crashes > 0 || self.cfg.learner_crashes > 0;
        if total_crash_bounds && without_last_delivery(&next) == without_last_delivery(last) {
            return None;
        }
        Some(next)
    }

    fn format_action(&self, action: &PaxosAction) -> String {
        describe_action(&self.cfg, action)
    }

    fn format_step(&self, last: &PaxosSysState, action: PaxosAction) -> Option<String> {
        self.actors.format_step(last, action)
    }

    fn as_svg(&self, path: Path<PaxosSysState, PaxosAction>) -> Option<String> {
        let steps = path.into_vec();
        let init = steps.first()?.0.clone();
        let actions: Vec<PaxosAction> = steps.into_iter().filter_map(|(_, a)| a).collect();
        self.actors.as_svg(Path::from_actions(&self.actors, init, actions.iter())?)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        super::properties::all(&self.cfg)
    }

    fn within_boundary(&self, state: &PaxosSysState) -> bool {
        within_boundary(&self.cfg, state)
    }
}

/// The bound: no proposer beyond `max_round`, and only crashable roles are down.
pub(super) fn within_boundary(cfg: &PaxosModelCfg, s: &PaxosSysState) -> bool {
    s.actor_states.iter().all(|a| match &**a {
        PaxosState::Proposer(p) => p.round <= cfg.max_round,
        _ => true,
    }) && s.crashed.iter().enumerate().all(|(i, down)| !down || cfg.crashable(i))
}
