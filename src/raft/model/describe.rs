//! Traces and states in words: what the CLI, the Explorer and the scenarios print.

use super::{RaftAction, RaftModelCfg, RaftSysState};
use crate::raft::actor::RaftTimer;
use crate::raft::RaftMsg;
use stateright::actor::{ActorModelAction, Id};
use std::fmt::Write as _;

/// One step of a trace, with actors named s0, s1, … and c3, ….
pub fn describe_action(cfg: &RaftModelCfg, action: &RaftAction) -> String {
    let n = |id: &Id| cfg.actor_name(*id);
    match action {
        ActorModelAction::Deliver { src, dst, msg: msg @ RaftMsg::Vote { candidate, .. } } if candidate != dst => {
            format!("{} -> {} : {msg:?} (a copy of the vote for {}, redirected)", n(src), n(dst), n(candidate))
        }
        ActorModelAction::Deliver { src, dst, msg } => format!("{} -> {} : {msg:?}", n(src), n(dst)),
        ActorModelAction::Drop(env) => format!("network drops {} -> {} : {:?}", n(&env.src), n(&env.dst), env.msg),
        ActorModelAction::Timeout(id, RaftTimer::Election) => format!("{} election timeout", n(id)),
        ActorModelAction::Timeout(id, RaftTimer::Heartbeat) => format!("{} heartbeat", n(id)),
        ActorModelAction::Timeout(id, RaftTimer::Persist) => format!("{} writes its log to disk", n(id)),
        ActorModelAction::Crash(id) => format!("{} crashes", n(id)),
        ActorModelAction::Recover(id) => format!("{} restarts from its saved state", n(id)),
        ActorModelAction::SelectRandom { actor, .. } => format!("{} chooses", n(actor)),
    }
}

/// The system state in a few lines: each server, each client, and what is committed.
pub fn describe_state(cfg: &RaftModelCfg, s: &RaftSysState) -> String {
    let mut out = String::new();
    for (i, a) in s.actor_states.iter().enumerate() {
        let down = if s.crashed.get(i).copied().unwrap_or(false) { " (crashed)" } else { "" };
        let _ = writeln!(out, "  {}: {a:?}{down}", cfg.actor_name(Id::from(i)));
    }
    let applied: Vec<String> = s.history.applied.keys().map(|(i, e)| format!("{i}:{e:?}")).collect();
    let _ = write!(out, "  applied: [{}]", applied.join(", "));
    out
}
