//! The model's transitions: Stateright's actor model, plus the redirecting adversary, the crash
//! bound, the dead-message reduction, the ghost state's updates and the bound on terms and logs.

use super::{describe_action, RaftAction, RaftModel, RaftSysState};
use crate::check::network::forget_last_delivery;
use crate::raft::actor::RaftState;
use crate::raft::log::{self};
use crate::raft::server::ServerState;
use stateright::actor::{ActorModelAction, Network};
use stateright::{Model, Path, Property};

impl RaftModel {
    /// The redirecting adversary ([`RaftModelCfg::redirects`]): every message in flight between
    /// servers may also be delivered to any other server, as if its sender had sent it there. On
    /// the duplicating network a copy is a delivery like any other (the original stays in flight),
    /// so the adversary needs no state and no bound of its own.
    fn redirected_deliveries(&self, state: &RaftSysState, actions: &mut Vec<RaftAction>) {
        let Network::UnorderedDuplicating(set, _) = &state.network else { return };
        for env in set.iter().filter(|e| self.cfg.is_server(e.src) && self.cfg.is_server(e.dst)) {
            for to in self.cfg.server_ids().into_iter().filter(|to| *to != env.dst) {
                actions.push(ActorModelAction::Deliver { src: env.src, dst: to, msg: env.msg.clone() });
            }
        }
    }
}

impl Model for RaftModel {
    type State = RaftSysState;
    type Action = RaftAction;

    fn init_states(&self) -> Vec<RaftSysState> {
        let mut states = self.actors.init_states();
        for s in &mut states {
            self.remove_dead_messages(s);
        }
        states
    }

    fn actions(&self, state: &RaftSysState, actions: &mut Vec<RaftAction>) {
        self.actors.actions(state, actions);
        if self.cfg.redirects {
            self.redirected_deliveries(state, actions);
        }
        let crashes_left = usize::from(state.history.crashes) < self.cfg.crashes;
        // Only servers crash, and only as often as the bound says (Stateright's max_crashes
        // bounds the servers down at once, not the crashes in total).
        actions.retain(|a| match a {
            ActorModelAction::Crash(id) => crashes_left && self.cfg.is_server(*id),
            // Loss adds no behaviour a property can see: the network may already never deliver
            // a message, and a run with drops is matched by the run without them that makes the
            // same deliveries at the same points (its network only holds more). Drops would only
            // multiply network states, so they are not explored (docs/raft.md, "Loss").
            ActorModelAction::Drop(_) => false,
            _ => true,
        });
    }

    fn next_state(&self, last: &RaftSysState, action: RaftAction) -> Option<RaftSysState> {
        let mut next = self.actors.next_state(last, action.clone())?;
        self.observe(last, &action, &mut next);
        if let ActorModelAction::Crash(id) = action {
            forget_crashed_state(&mut next, usize::from(id));
        }
        self.remove_dead_messages(&mut next);
        // The duplicating network remembers the last delivery only to tell apart states that
        // differ in nothing else; nothing reads it.
        forget_last_delivery(&mut next.network);
        // A step that changed nothing else (a heartbeat repeating messages already in flight, a
        // redirect or denial that is dead on arrival) is no step: without this, states with
        // nothing left to do would not count as terminal.
        if next == *last {
            return None;
        }
        Some(next)
    }

    fn format_action(&self, action: &RaftAction) -> String {
        describe_action(&self.cfg, action)
    }

    fn format_step(&self, last: &RaftSysState, action: RaftAction) -> Option<String> {
        self.actors.format_step(last, action)
    }

    fn as_svg(&self, path: Path<RaftSysState, RaftAction>) -> Option<String> {
        let steps = path.into_vec();
        let init = steps.first()?.0.clone();
        let actions: Vec<RaftAction> = steps.into_iter().filter_map(|(_, a)| a).collect();
        // A redirected copy is an action of this model only, not of the actor model's.
        let path = if self.cfg.redirects {
            Path::from_actions(self, init, actions.iter())?
        } else {
            Path::from_actions(&self.actors, init, actions.iter())?
        };
        self.actors.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        super::properties::all(&self.cfg)
    }

    fn within_boundary(&self, s: &RaftSysState) -> bool {
        let max_log = self.cfg.max_log.map_or(usize::MAX, log::pos);
        (0..self.cfg.servers).all(|i| {
            // A pre-vote asks for the next term: in the last term, it is an election beyond the
            // bound (without pre-vote, the timeout there leads beyond it at once).
            let up = match &*s.actor_states[i] {
                RaftState::Server(st) => {
                    st.term <= self.cfg.max_term
                        && st.log.len() <= max_log
                        && !(st.is_pre_candidate() && st.term >= self.cfg.max_term)
                }
                RaftState::Client(_) => true,
            };
            let saved = match &s.actor_storages[i] {
                Some(st) => st.term <= self.cfg.max_term && st.log.len() <= max_log,
                None => true,
            };
            up && saved
        })
    }
}

/// Replaces a crashed server's state by the one it will restart with. Stateright keeps the
/// state of a crashed actor, though nothing can see it: deliveries to a crashed actor are
/// refused, its timers are cancelled, properties skip it, and recovery replaces it with
/// `on_start`'s. Without this, two states that differ only in what a crashed server had in
/// memory would be explored twice (a sound reduction).
fn forget_crashed_state(s: &mut RaftSysState, i: usize) {
    let saved = s.actor_storages.get(i).and_then(|o| o.as_ref());
    if let Some(slot) = s.actor_states.get_mut(i) {
        if matches!(**slot, RaftState::Server(_)) {
            *slot = std::sync::Arc::new(RaftState::Server(ServerState::restore(saved)));
        }
    }
}
