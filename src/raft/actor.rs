//! One `Actor` type for Raft servers and clients, so that a single `ActorModel` (and a single UDP
//! runtime) hosts both. Each handler clones the small state, applies the role's rules, and writes
//! it back only if it changed (so a no-op delivery stays a no-op). Persistence is enforced here,
//! in one place: when a step changed `term`, `voted_for` or `log`, the save is emitted before any
//! of the step's messages.

use super::client::{self, ClientCfg, ClientState};
use super::server::{self, ServerCfg, ServerState};
use super::{Bug, RaftMsg};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftActor {
    Server(ServerCfg),
    Client(ClientCfg),
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RaftState {
    Server(ServerState),
    Client(ClientState),
}

impl fmt::Debug for RaftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftState::Server(s) => write!(f, "{s:?}"),
            RaftState::Client(done) => write!(f, "client, {done} done"),
        }
    }
}

/// Figure 2's persistent state.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RaftStorage {
    pub term: super::Term,
    pub voted_for: Option<Id>,
    pub log: super::Log,
}

impl fmt::Debug for RaftStorage {
    /// `saved t1 voted s0 log [t1:noop]`, in the notation of the server states.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "saved t{}", self.term)?;
        if let Some(v) = self.voted_for {
            write!(f, " voted s{}", usize::from(v))?;
        }
        write!(f, " log {:?}", self.log)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RaftTimer {
    /// Followers and candidates: no leader was heard from; start an election. Leaders with
    /// check-quorum on: check that a majority was heard from ([`server::check_quorum`]).
    Election,
    /// Leaders: send AppendEntries to every follower.
    Heartbeat,
    /// Leaders that write their log in parallel with replicating it: write it now
    /// ([`server::persist_leader_log`]).
    Persist,
}

impl RaftActor {
    /// Runs one server step and emits its save before its messages (Figure 2: persistent state
    /// is "updated on stable storage before responding to RPCs").
    fn server_step(
        &self,
        cfg: &ServerCfg,
        id: Id,
        state: &mut Cow<RaftState>,
        o: &mut Out<Self>,
        rule: impl FnOnce(&mut ServerState, &mut Out<Self>),
    ) {
        let RaftState::Server(before) = &**state else { return };
        let mut s = before.clone();
        let mut out = Out::new();
        rule(&mut s, &mut out);
        if s == *before {
            o.append(&mut out);
            return;
        }
        let log_only = s.term == before.term && s.voted_for == before.voted_for;
        if (s.term, s.voted_for, &s.log) != (before.term, before.voted_for, &before.log) {
            if cfg.bugs.has(Bug::TermNotPersisted) {
                // The bug: term and vote never reach the disk (only the log does).
                o.save(RaftStorage { term: 0, voted_for: None, log: s.log.clone() });
            } else if server::defer_leader_save(&s, cfg, log_only) {
                o.set_timer(RaftTimer::Persist, Duration::ZERO..Duration::ZERO);
            } else if !(cfg.bugs.has(Bug::LogNotPersisted) && log_only && !s.is_leader()) {
                o.save(s.durable());
                // A leader whose log this save covers counts it from now on.
                server::leader_log_saved(&mut s, cfg, id, &mut out);
            } // else the bug: a follower acknowledges entries it did not save
        }
        o.append(&mut out);
        *state.to_mut() = RaftState::Server(s);
    }
}

impl Actor for RaftActor {
    type Msg = RaftMsg;
    type State = RaftState;
    type Timer = RaftTimer;
    type Random = ();
    type Storage = RaftStorage;

    fn name(&self) -> String {
        match self {
            RaftActor::Server(_) => "Server",
            RaftActor::Client(_) => "Client",
        }
        .to_owned()
    }

    fn on_start(&self, _id: Id, storage: &Option<RaftStorage>, o: &mut Out<Self>) -> RaftState {
        match self {
            RaftActor::Server(_) => {
                o.set_timer(RaftTimer::Election, server::ELECTION_TIMEOUT);
                RaftState::Server(ServerState::restore(storage.as_ref()))
            }
            RaftActor::Client(cfg) => RaftState::Client(client::start(cfg, o)),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<RaftState>, src: Id, msg: RaftMsg, o: &mut Out<Self>) {
        match self {
            RaftActor::Server(cfg) => self.server_step(cfg, id, state, o, |s, o| server::step(s, cfg, id, src, msg, o)),
            RaftActor::Client(cfg) => {
                let RaftState::Client(done) = &**state else { return };
                let mut next = *done;
                match msg {
                    RaftMsg::Reply { seq, .. } => client::on_reply(&mut next, cfg, seq, o),
                    RaftMsg::Redirect { seq, leader } => client::on_redirect(done, cfg, seq, leader, o),
                    _ => {}
                }
                if next != *done {
                    *state.to_mut() = RaftState::Client(next);
                }
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<RaftState>, timer: &RaftTimer, o: &mut Out<Self>) {
        let RaftActor::Server(cfg) = self else { return };
        match timer {
            RaftTimer::Election => {
                self.server_step(cfg, id, state, o, |s, o| server::on_election_timeout(s, cfg, id, o))
            }
            RaftTimer::Heartbeat => self.server_step(cfg, id, state, o, |s, o| server::on_heartbeat(s, cfg, id, o)),
            RaftTimer::Persist => self.server_step(cfg, id, state, o, |s, o| server::persist_leader_log(s, cfg, id, o)),
        }
    }
}

fn rewrite_id<S>(id: &Id, plan: &RewritePlan<Id, S>) -> Id {
    plan.rewrite(id)
}

/// A sorted set of server ids, renamed and sorted again.
fn rewrite_ids<S>(ids: &[Id], plan: &RewritePlan<Id, S>) -> Vec<Id> {
    let mut ids: Vec<Id> = ids.iter().map(|v| rewrite_id(v, plan)).collect();
    ids.sort();
    ids
}

impl Rewrite<Id> for RaftState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            RaftState::Server(s) => {
                let role = match &s.role {
                    server::Role::Follower => server::Role::Follower,
                    server::Role::PreCandidate { votes } => {
                        server::Role::PreCandidate { votes: rewrite_ids(votes, plan) }
                    }
                    server::Role::Candidate { votes } => server::Role::Candidate { votes: rewrite_ids(votes, plan) },
                    server::Role::Leader { progress } => {
                        let mut moved = progress.clone();
                        for (i, p) in progress.iter().enumerate() {
                            if let Some(slot) = moved.get_mut(usize::from(rewrite_id(&Id::from(i), plan))) {
                                *slot = *p;
                            }
                        }
                        server::Role::Leader { progress: moved }
                    }
                };
                RaftState::Server(ServerState {
                    voted_for: s.voted_for.map(|v| rewrite_id(&v, plan)),
                    leader: s.leader.map(|v| rewrite_id(&v, plan)),
                    role,
                    ..s.clone()
                })
            }
            RaftState::Client(c) => RaftState::Client(*c),
        }
    }
}

impl Rewrite<Id> for RaftStorage {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        RaftStorage { voted_for: self.voted_for.map(|v| rewrite_id(&v, plan)), ..self.clone() }
    }
}

impl Rewrite<Id> for RaftTimer {
    fn rewrite<S>(&self, _plan: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::server::Replication;
    use crate::raft::BugSet;

    /// A single server elects itself and appends its no-op in one step, which saves everything at
    /// once: with parallel writes it commits the no-op in that step, not at its next write (it
    /// used to wait for the next request, whose commit then first answered a stale reply).
    #[test]
    fn a_single_server_with_parallel_writes_commits_its_noop_in_its_election_step() {
        for parallel_persist in [false, true] {
            let replication = Replication { parallel_persist, ..Replication::eager(2, usize::MAX) };
            let actor = RaftActor::Server(ServerCfg::cluster(1, 0, BugSet::NONE, replication));
            let mut o = Out::new();
            let mut state = Cow::Owned(actor.on_start(Id::from(0), &None, &mut o));
            let mut o = Out::new();
            actor.on_timeout(Id::from(0), &mut state, &RaftTimer::Election, &mut o);
            let RaftState::Server(s) = &*state else { panic!("a server's state") };
            assert!(s.is_leader(), "parallel {parallel_persist}: {s:?}");
            assert_eq!((s.log.len(), s.commit), (1, 1), "parallel {parallel_persist}: {s:?}");
        }
    }
}
