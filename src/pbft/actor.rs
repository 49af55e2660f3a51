//! One `Actor` type for correct replicas, Byzantine replicas and clients, so that one
//! `ActorModel` hosts them all. Each handler clones the small state, applies a rule of
//! [`replica`] or [`client`], keeps the view-change timer in step with what the replica waits for,
//! and writes the state back only if it changed. A Byzantine replica runs the same rules, then
//! offers its menu ([`super::byzantine::menu`]) anew.

use super::byzantine::{self as menu, Menu};
use super::client::{self, ClientCfg, ClientState};
use super::replica::{self, ReplicaCfg, ReplicaState};
use super::PbftMsg;
use crate::byzantine::{self, Faulty, Move};
use serde::Serialize;
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

/// How long a backup waits for a request to execute before it suspects the primary (§4.4).
pub const VIEW_CHANGE_TIMEOUT: Range<Duration> = Duration::from_millis(500)..Duration::from_millis(1000);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbftActor {
    Replica(ReplicaCfg),
    Byzantine(ReplicaCfg, Menu),
    Client(ClientCfg),
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PbftState {
    Replica(ReplicaState),
    Byzantine(Faulty<ReplicaState>),
    Client(ClientState),
}

impl fmt::Debug for PbftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PbftState::Replica(s) => write!(f, "{s:?}"),
            PbftState::Byzantine(s) => write!(f, "{s:?}"),
            PbftState::Client(s) => write!(f, "{s:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PbftTimer {
    /// §4.4: a request waited too long, or a view change did not complete: next view.
    ViewChange,
}

/// Runs `rule` on a replica's state `s`, then sets or cancels its timer as the result waits for
/// something or not (`fired`: the timer just went off, so it must be set again if still needed).
/// §4.4: a backup that executed a request it waited for and still waits for another restarts
/// the timer (in the model, where a timer may fire at any time, that changes nothing; on the
/// runtime it keeps a backup under steady load from suspecting a primary that makes progress).
fn replica_step(
    cfg: &ReplicaCfg,
    me: Id,
    s: &mut ReplicaState,
    fired: bool,
    o: &mut Out<PbftActor>,
    rule: impl FnOnce(&mut ReplicaState, &mut Out<PbftActor>),
) {
    let waited = replica::wants_timer(s, cfg, me) && !fired;
    let executed = replica::last_executed(s);
    rule(s, o);
    match (waited, replica::wants_timer(s, cfg, me)) {
        (false, true) => o.set_timer(PbftTimer::ViewChange, VIEW_CHANGE_TIMEOUT),
        (true, true) if !s.changing && replica::last_executed(s) > executed => {
            o.set_timer(PbftTimer::ViewChange, VIEW_CHANGE_TIMEOUT)
        }
        (true, false) => o.cancel_timer(PbftTimer::ViewChange),
        _ => {}
    }
}

impl PbftActor {
    /// One step of a replica, correct or Byzantine: the rule on its (honest) state, and for a
    /// Byzantine one its menu offered again.
    fn step(
        &self,
        id: Id,
        state: &mut Cow<PbftState>,
        fired: bool,
        o: &mut Out<Self>,
        rule: impl FnOnce(&ReplicaCfg, &mut ReplicaState, &mut Out<Self>),
    ) {
        match (self, &**state) {
            (PbftActor::Replica(cfg), PbftState::Replica(before)) => {
                let mut s = before.clone();
                replica_step(cfg, id, &mut s, fired, o, |s, o| rule(cfg, s, o));
                if s != *before {
                    *state.to_mut() = PbftState::Replica(s);
                }
            }
            (PbftActor::Byzantine(_, bounds), _) if bounds.silent => {}
            (PbftActor::Byzantine(_, bounds), PbftState::Byzantine(s)) if menu::crashed(bounds, s) => {}
            (PbftActor::Byzantine(cfg, bounds), PbftState::Byzantine(before)) => {
                let mut s = before.clone();
                replica_step(cfg, id, &mut s.honest, fired, o, |s, o| rule(cfg, s, o));
                if s != *before {
                    byzantine::offer(menu::menu(cfg, bounds, &s.honest, id), s.moves_left, o);
                    *state.to_mut() = PbftState::Byzantine(s);
                }
            }
            _ => {}
        }
    }
}

impl Actor for PbftActor {
    type Msg = PbftMsg;
    type State = PbftState;
    type Timer = PbftTimer;
    type Random = Move<PbftMsg>;
    type Storage = ();

    fn name(&self) -> String {
        match self {
            PbftActor::Replica(_) => "Replica",
            PbftActor::Byzantine(..) => "Byzantine replica",
            PbftActor::Client(_) => "Client",
        }
        .to_owned()
    }

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> PbftState {
        match self {
            PbftActor::Replica(_) => PbftState::Replica(ReplicaState::default()),
            PbftActor::Byzantine(cfg, bounds) => {
                let s = Faulty { honest: ReplicaState::default(), moves_left: bounds.moves };
                if bounds.silent {
                    return PbftState::Byzantine(s);
                }
                byzantine::offer(menu::menu(cfg, bounds, &s.honest, id), s.moves_left, o);
                PbftState::Byzantine(s)
            }
            PbftActor::Client(cfg) => PbftState::Client(client::start(cfg, o)),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<PbftState>, src: Id, msg: PbftMsg, o: &mut Out<Self>) {
        if let (PbftActor::Client(cfg), PbftState::Client(before)) = (self, &**state) {
            if let PbftMsg::Reply(r) = &msg {
                let mut s = before.clone();
                client::on_reply(&mut s, cfg, src, r, o);
                if s != *before {
                    *state.to_mut() = PbftState::Client(s);
                }
            }
            return;
        }
        self.step(id, state, false, o, |cfg, s, o| replica::step(s, cfg, id, src, msg, o));
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<PbftState>, _timer: &PbftTimer, o: &mut Out<Self>) {
        self.step(id, state, true, o, |cfg, s, o| replica::on_view_change_timer(s, cfg, id, o));
    }

    fn on_random(&self, id: Id, state: &mut Cow<PbftState>, m: &Move<PbftMsg>, o: &mut Out<Self>) {
        let (PbftActor::Byzantine(cfg, bounds), PbftState::Byzantine(before)) = (self, &**state) else { return };
        let mut s = before.clone();
        byzantine::perform(&mut s, m, o);
        if !menu::crashed(bounds, &s) {
            byzantine::offer(menu::menu(cfg, bounds, &s.honest, id), s.moves_left, o);
        } else {
            o.remove_random(byzantine::MENU);
        }
        *state.to_mut() = PbftState::Byzantine(s);
    }
}
