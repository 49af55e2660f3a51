//! Traces and states in words: what the CLI, the Explorer and the scenarios print.

use stateright::actor::{ActorModelAction, Id};

use super::{chosen_values, PaxosAction, PaxosModelCfg, PaxosSysState};
use std::fmt::Write as _;

/// One step of a trace, with actors named by role (a0 = acceptor 0, p3 = proposer 3, …).
pub fn describe_action(cfg: &PaxosModelCfg, action: &PaxosAction) -> String {
    let n = |id: &Id| cfg.actor_name(*id);
    match action {
        ActorModelAction::Deliver { src, dst, msg } => format!("{} -> {} : {msg:?}", n(src), n(dst)),
        ActorModelAction::Drop(env) => format!("network drops {} -> {} : {:?}", n(&env.src), n(&env.dst), env.msg),
        ActorModelAction::Timeout(id, timer) => format!("{} timer {timer:?} fires", n(id)),
        ActorModelAction::Crash(id) => format!("{} crashes", n(id)),
        ActorModelAction::Recover(id) => format!("{} restarts from its saved state", n(id)),
        ActorModelAction::SelectRandom { actor, .. } => format!("{} chooses", n(actor)),
    }
}

/// The system state in a few lines: each actor, then what was chosen.
pub fn describe_state(cfg: &PaxosModelCfg, s: &PaxosSysState) -> String {
    let mut out = String::new();
    for (i, a) in s.actor_states.iter().enumerate() {
        let down = if s.crashed.get(i).copied().unwrap_or(false) { " (crashed)" } else { "" };
        let _ = writeln!(out, "  {}: {a:?}{down}", cfg.actor_name(Id::from(i)));
    }
    let chosen: Vec<String> = chosen_values(cfg, &s.history).into_iter().map(String::from).collect();
    let _ = write!(out, "  chosen: {{{}}}", chosen.join(", "));
    out
}
