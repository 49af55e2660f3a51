//! The mirror of Stateright's `examples/paxos.rs`: three servers that each play acceptor,
//! proposer and learner, and clients (Stateright's `RegisterActor::Client`) that Put a value and
//! then Get, checked for linearizability against a register — the same shape and bound as that
//! example, so that state counts and checking speed can be compared.
//!
//! The server reuses the role rules unchanged: it runs a rule into an `Out<PaxosActor>` and
//! translates the commands into its own (`Send(m)` → `Internal(m)`, the roles' saves → one save of
//! all three roles' durable parts). A client-facing answer is translated too: `Decided(v)` becomes
//! `PutOk` only for the client whose value `v` is (a Put that lost is never acknowledged: for a
//! register, acknowledging it would not be linearizable), `ReadOk(v)` becomes `GetOk`.
//!
//! Each server proposes at most `max_round` ballots (1 by default: like the example, a server
//! starts one ballot per request and does not retry). No symmetry reduction and no dead-message
//! removal: the comparison is with the plain actor model.

use super::acceptor::{self, AcceptorState};
use super::learner::{self, LearnerCfg, LearnerState};
use super::model::property::{AGREEMENT, LINEARIZABLE, VALUE_CHOSEN};
use super::model::{chosen_by_votes, NetworkKind};
use super::proposer::{self, ProposerCfg, ProposerState};
use super::{Ballot, BugSet, PaxosActor, PaxosMsg, PaxosTimer, Value};
use stateright::actor::register::{RegisterActor, RegisterActorState, RegisterMsg};
use stateright::actor::{Actor, ActorModel, Command, Envelope, Id, Out};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::Expectation;
use std::borrow::Cow;
use std::collections::BTreeSet;

pub type MirrorMsg = RegisterMsg<u64, Value, PaxosMsg>;
pub type MirrorModel = ActorModel<RegisterActor<PaxosServer>, MirrorCfg, MirrorHistory>;

#[derive(Clone, Debug, PartialEq)]
pub struct MirrorCfg {
    pub clients: usize,
    pub max_round: u8,
    pub network: NetworkKind,
    pub bugs: BugSet,
}

impl Default for MirrorCfg {
    fn default() -> Self {
        MirrorCfg { clients: 2, max_round: 1, network: NetworkKind::UnorderedNonduplicating, bugs: BugSet::NONE }
    }
}

pub const SERVERS: usize = 3;

/// A server playing all three roles.
#[derive(Clone, Debug, PartialEq)]
pub struct PaxosServer {
    pub servers: Vec<Id>,
    pub bugs: BugSet,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ServerState {
    pub acceptor: AcceptorState,
    pub proposer: ProposerState,
    pub learner: LearnerState,
    /// Puts waiting for the decision: (client, request, value).
    pub puts: Vec<(Id, u64, Value)>,
    /// Gets waiting for a learned value: (client, request).
    pub gets: Vec<(Id, u64)>,
}

/// The durable parts of the three roles.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerStorage {
    pub acceptor: AcceptorState,
    pub round: u8,
    pub learned: Option<Value>,
}

impl PaxosServer {
    fn proposer_cfg(&self) -> ProposerCfg<'_> {
        ProposerCfg { acceptors: &self.servers, first_proposer: self.servers[0], bugs: self.bugs }
    }

    /// Translates a role's commands into the server's, and forgets the requests it answers.
    fn forward(&self, inner: Out<PaxosActor>, s: &mut ServerState, o: &mut Out<Self>) {
        for c in inner {
            match c {
                Command::Send(dst, PaxosMsg::Decided(v)) => s.puts.retain(|(c, req, pv)| {
                    let answered = *c == dst && *pv == v;
                    if answered {
                        o.send(dst, RegisterMsg::PutOk(*req));
                    }
                    !answered
                }),
                Command::Send(dst, PaxosMsg::ReadOk(v)) => s.gets.retain(|(c, req)| {
                    if *c == dst {
                        o.send(dst, RegisterMsg::GetOk(*req, v));
                    }
                    *c != dst
                }),
                Command::Send(dst, m) => o.send(dst, RegisterMsg::Internal(m)),
                Command::Save(_) => {
                    o.save(ServerStorage { acceptor: s.acceptor, round: s.proposer.round, learned: s.learner.learned })
                }
                Command::SetTimer(t, d) => o.set_timer(t, d),
                Command::CancelTimer(t) => o.cancel_timer(t),
                Command::ChooseRandom(..) => {}
            }
        }
    }
}

impl Actor for PaxosServer {
    type Msg = MirrorMsg;
    type State = ServerState;
    type Timer = PaxosTimer;
    type Random = ();
    type Storage = ServerStorage;

    fn name(&self) -> String {
        "Paxos server".to_owned()
    }

    fn on_start(&self, _id: Id, storage: &Option<ServerStorage>, _o: &mut Out<Self>) -> ServerState {
        let mut s = ServerState::default();
        if let Some(saved) = storage {
            s.acceptor = saved.acceptor;
            s.proposer.round = saved.round;
            s.learner.learned = saved.learned;
        }
        s
    }

    fn on_msg(&self, id: Id, state: &mut Cow<ServerState>, src: Id, msg: MirrorMsg, o: &mut Out<Self>) {
        let mut s = (**state).clone();
        let mut inner = Out::<PaxosActor>::new();
        let cfg = self.proposer_cfg();
        let lcfg = LearnerCfg { acceptors: self.servers.len(), proposers: &self.servers, bugs: self.bugs };
        match msg {
            RegisterMsg::Put(req, v) => {
                if !s.puts.contains(&(src, req, v)) {
                    s.puts.push((src, req, v));
                }
                proposer::on_propose(&mut s.proposer, id, &cfg, src, v, &mut inner);
            }
            RegisterMsg::Get(req) => {
                if !s.gets.contains(&(src, req)) {
                    s.gets.push((src, req));
                }
                learner::on_read(&mut s.learner, src, &mut inner);
            }
            RegisterMsg::Internal(m) => match m {
                PaxosMsg::Prepare(b) => acceptor::on_prepare(&mut s.acceptor, self.bugs, src, b, &mut inner),
                PaxosMsg::Accept(b, v) => {
                    acceptor::on_accept(&mut s.acceptor, self.bugs, b, v, &self.servers, &mut inner)
                }
                PaxosMsg::Promise(b, last) => proposer::on_promise(&mut s.proposer, id, &cfg, src, b, last, &mut inner),
                PaxosMsg::Accepted(b, v) => learner::on_accepted(&mut s.learner, &lcfg, src, b, v, &mut inner),
                PaxosMsg::Chosen(v) => proposer::on_chosen(&mut s.proposer, self.bugs, v, &mut inner),
                _ => {}
            },
            RegisterMsg::PutOk(_) | RegisterMsg::GetOk(..) => {}
        }
        self.forward(inner, &mut s, o);
        if s != **state {
            *state.to_mut() = s;
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<ServerState>, _timer: &PaxosTimer, o: &mut Out<Self>) {
        let mut s = (**state).clone();
        let mut inner = Out::<PaxosActor>::new();
        proposer::on_retry(&mut s.proposer, id, &self.proposer_cfg(), &mut inner);
        self.forward(inner, &mut s, o);
        if s != **state {
            *state.to_mut() = s;
        }
    }
}

/// Ghost state: every vote cast (for agreement) and the clients' register operations.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct MirrorHistory {
    pub votes: BTreeSet<(Ballot, Value, Id)>,
    pub lin: LinearizabilityTester<Id, Register<Value>>,
}

/// The values chosen: those a majority of servers voted for in one ballot.
pub fn mirror_chosen(h: &MirrorHistory) -> BTreeSet<Value> {
    chosen_by_votes(&h.votes, SERVERS)
}

fn record_out(_: &MirrorCfg, h: &MirrorHistory, env: Envelope<&MirrorMsg>) -> Option<MirrorHistory> {
    let mut h = h.clone();
    match env.msg {
        RegisterMsg::Put(_, v) => {
            let _ = h.lin.on_invoke(env.src, RegisterOp::Write(*v));
        }
        RegisterMsg::Get(_) => {
            let _ = h.lin.on_invoke(env.src, RegisterOp::Read);
        }
        RegisterMsg::Internal(PaxosMsg::Accepted(b, v)) if !h.votes.contains(&(*b, *v, env.src)) => {
            h.votes.insert((*b, *v, env.src));
        }
        _ => return None,
    }
    Some(h)
}

fn record_in(_: &MirrorCfg, h: &MirrorHistory, env: Envelope<&MirrorMsg>) -> Option<MirrorHistory> {
    let ret = match env.msg {
        RegisterMsg::PutOk(_) => RegisterRet::WriteOk,
        RegisterMsg::GetOk(_, v) => RegisterRet::ReadOk(*v),
        _ => return None,
    };
    let mut h = h.clone();
    let _ = h.lin.on_return(env.dst, ret);
    Some(h)
}

impl MirrorCfg {
    pub fn into_model(self) -> MirrorModel {
        let servers: Vec<Id> = (0..SERVERS).map(Id::from).collect();
        let bugs = self.bugs;
        let history =
            MirrorHistory { votes: BTreeSet::new(), lin: LinearizabilityTester::new(Register(Value::default())) };
        ActorModel::new(self.clone(), history)
            .actors((0..SERVERS).map(|_| RegisterActor::Server(PaxosServer { servers: servers.clone(), bugs })))
            .actors((0..self.clients).map(|_| RegisterActor::Client { put_count: 1, server_count: SERVERS }))
            .init_network(self.network.network())
            .within_boundary(|cfg, s| {
                s.actor_states.iter().all(|a| match &**a {
                    RegisterActorState::Server(s) => s.proposer.round <= cfg.max_round,
                    _ => true,
                })
            })
            .record_msg_out(record_out)
            .record_msg_in(record_in)
            .property(Expectation::Always, LINEARIZABLE, |_, s| s.history.lin.serialized_history().is_some())
            .property(Expectation::Always, AGREEMENT, |_, s| mirror_chosen(&s.history).len() <= 1)
            .property(Expectation::Sometimes, VALUE_CHOSEN, |_, s| !mirror_chosen(&s.history).is_empty())
    }
}
