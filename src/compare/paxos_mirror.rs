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
//! starts one ballot per request and does not retry). Two choices make it finish at 2 clients,
//! both on by default and documented in docs/architecture.md:
//! - [`SelfDelivery::Local`]: a server hands its messages to itself at once instead of through
//!   the network, as the example does (a change of model shape, an under-approximation of the
//!   networked server);
//! - dead-message removal with the same per-role rules as [`PaxosModel`](super::PaxosModel) (a
//!   sound reduction).
//!
//! # No symmetry reduction, and why none is sound
//!
//! A symmetry reduction merges a state with its images under a renaming that maps every
//! transition to a transition (an automorphism of the transition system). The mirror has none
//! besides the identity, for servers or for clients:
//! - **Servers** are not interchangeable: ballots are `(round, server id)` and compared, so a
//!   renaming of servers changes which ballot wins.
//! - **Clients, with their values and request ids renamed along**, are not interchangeable
//!   either, because Stateright's `RegisterActor::Client` (the example's client, kept here so the
//!   model is the example's) picks its servers by its own id: client `c` Puts to server
//!   `c mod 3` and Gets from server `(c + 1) mod 3`. At 2 clients, client 3 Puts to server 0 and
//!   Gets from 1, client 4 Puts to 1 and Gets from 2. Swapping the clients maps "client 3's Put
//!   is at server 0" to "client 4's Put is at server 0", a state from which client 4 then Gets
//!   from server 2 where the original's client 3 Gets from server 1: the swapped state's
//!   successors are not the swapped successors. To make it one, servers would have to be renamed
//!   too, with 1 ↦ 2 (client 3's Get server to client 4's) and 1 ↦ 0 (client 4's Put server to
//!   client 3's) at once — no renaming does both. At 3 clients the rotation of clients with
//!   servers 0 ↦ 1 ↦ 2 ↦ 0 matches the routes, but it reorders the ballots.
//!
//! The test `the_example_clients_route_by_id_so_no_renaming_swaps_them` pins this. Clients
//! become interchangeable only in a different model (one whose clients do not choose servers by
//! id), which would no longer be the example's.

use crate::check::network::remove_dead;
use crate::paxos::acceptor::{self, AcceptorState};
use crate::paxos::learner::{self, LearnerCfg, LearnerState};
use crate::paxos::model::property::{AGREEMENT, LINEARIZABLE, VALUE_CHOSEN};
use crate::paxos::model::reduction::{
    accept_is_dead, accepted_is_dead, chosen_is_dead, prepare_is_dead, promise_is_stale,
};
use crate::paxos::model::{chosen_by_votes, NetworkKind};
use crate::paxos::proposer::{self, ProposerCfg, ProposerState};
use crate::paxos::{Ballot, BugSet, PaxosActor, PaxosMsg, PaxosStorage, PaxosTimer, Value};
use stateright::actor::register::{RegisterActor, RegisterActorState, RegisterMsg};
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Command, Envelope, Id, Out};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Path, Property};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

pub type MirrorMsg = RegisterMsg<u64, Value, PaxosMsg>;
pub type MirrorActor = RegisterActor<PaxosServer>;
pub type MirrorActorModel = ActorModel<MirrorActor, MirrorCfg, MirrorHistory>;
pub type MirrorSysState = ActorModelState<MirrorActor, MirrorHistory>;
pub type MirrorAction = ActorModelAction<MirrorMsg, PaxosTimer, ()>;

#[derive(Clone, Debug, PartialEq)]
pub struct MirrorCfg {
    pub clients: usize,
    pub max_round: u8,
    pub network: NetworkKind,
    /// How a server's messages to itself travel.
    pub self_delivery: SelfDelivery,
    /// Whether messages that no handler can act on again are removed from the network.
    pub remove_dead: bool,
    pub bugs: BugSet,
}

impl Default for MirrorCfg {
    /// The example's bound: 2 clients, one ballot per server, a network that reorders but does
    /// not duplicate; self-sends handled locally, as the example does, and dead messages removed.
    fn default() -> Self {
        MirrorCfg {
            clients: 2,
            max_round: 1,
            network: NetworkKind::UnorderedNonduplicating,
            self_delivery: SelfDelivery::Local,
            remove_dead: true,
            bugs: BugSet::NONE,
        }
    }
}

/// How a server's messages to itself (its proposer's Prepare to its own acceptor, that
/// acceptor's Promise back, …) are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfDelivery {
    /// Handled in the same step, in the order sent, as the example simulates its self-sends and
    /// as a server would call its own roles. This is a different model, not a reduction: the
    /// behaviours in which a server's message to itself is overtaken by another message are not
    /// explored (an under-approximation of [`SelfDelivery::Network`]).
    Local,
    /// Sent through the network like any other message.
    Network,
}

pub const SERVERS: usize = 3;

/// A server playing all three roles.
#[derive(Clone, Debug, PartialEq)]
pub struct PaxosServer {
    /// The bound's last round: a retry timer armed in it is left out (see `forward`).
    pub max_round: u8,
    pub servers: Vec<Id>,
    pub self_delivery: SelfDelivery,
    pub bugs: BugSet,
}

/// A value read through `Deref`, with its hash computed once, in [`Digested::new`].
///
/// The checker hashes every actor's state and storage for each system state it generates, while
/// a step changes one server at most: the hash is computed when a step builds a new value
/// (`new` is the only way to make one, so it cannot go stale), and `Hash` writes it alone. (Two
/// different values with the same 64-bit hash collide with the odds of two states'
/// fingerprints, which the checker accepts already.) Equality compares the hashes first.
#[derive(Clone, Copy, Eq)]
pub struct Digested<T> {
    value: T,
    digest: u64,
}

impl<T: std::hash::Hash> Digested<T> {
    pub fn new(value: T) -> Self {
        use std::hash::Hasher as _;
        let mut h = crate::check::symmetry::hasher();
        value.hash(&mut h);
        Digested { value, digest: h.finish() }
    }
}

impl<T: PartialEq> PartialEq for Digested<T> {
    fn eq(&self, other: &Self) -> bool {
        // For an `Arc`, `==` tests the pointers first.
        self.digest == other.digest && self.value == other.value
    }
}

impl<T> std::ops::Deref for Digested<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> std::hash::Hash for Digested<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest);
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Digested<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

/// A server's state: its roles, shared between the states that have them, and their hash.
pub type ServerState = Digested<Arc<Roles>>;

impl ServerState {
    pub fn roles(&self) -> &Roles {
        &self.value
    }
}

/// What a server playing the three roles keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Roles {
    pub acceptor: AcceptorState,
    pub proposer: ProposerState,
    pub learner: LearnerState,
    /// Puts waiting for the decision: (client, request, value).
    pub puts: Vec<(Id, u64, Value)>,
    /// Gets waiting for a learned value: (client, request).
    pub gets: Vec<(Id, u64)>,
}

/// A server's saved storage: the durable parts of the three roles, and their hash.
pub type ServerStorage = Digested<Durable>;

/// What a server saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Durable {
    pub acceptor: AcceptorState,
    pub round: u8,
    pub learned: Option<Value>,
}

impl PaxosServer {
    fn proposer_cfg(&self) -> ProposerCfg<'_> {
        ProposerCfg { acceptors: &self.servers, first_proposer: self.servers[0], bugs: self.bugs }
    }

    /// Translates a role's command into the server's, and forgets the requests it answers. A
    /// message to itself, when delivered locally, is left for [`PaxosServer::run`].
    fn forward(&self, id: Id, c: &Command<PaxosMsg, PaxosTimer, (), PaxosStorage>, s: &mut Roles, o: &mut Out<Self>) {
        match c {
            Command::Send(dst, _) if self.is_local(id, *dst) => {}
            Command::Send(dst, PaxosMsg::Decided(v)) => s.puts.retain(|(c, req, pv)| {
                let answered = c == dst && pv == v;
                if answered {
                    o.send(*dst, RegisterMsg::PutOk(*req));
                }
                !answered
            }),
            Command::Send(dst, PaxosMsg::ReadOk(v)) => s.gets.retain(|(c, req)| {
                if c == dst {
                    o.send(*dst, RegisterMsg::GetOk(*req, *v));
                }
                c != dst
            }),
            Command::Send(dst, m) => o.send(*dst, RegisterMsg::Internal(*m)),
            Command::Save(_) => o.save(ServerStorage::new(Durable {
                acceptor: s.acceptor,
                round: s.proposer.round,
                learned: s.learner.learned,
            })),
            // The retry timer of a ballot in the last round is not armed. Armed, it could only
            // fire into a retry that starts another ballot (while armed, the proposer has a
            // proposal and no decision: only `start_ballot` arms it, only `on_chosen` decides and
            // disarms it), whose successor is outside the boundary, computed only to be
            // discarded; and its presence follows from the proposer's state, so leaving it out
            // merges no states. Cheaper steps: no timer set to copy and hash in every state.
            Command::SetTimer(..) if s.proposer.round >= self.max_round => {}
            Command::SetTimer(t, d) => o.set_timer(t.clone(), d.clone()),
            Command::CancelTimer(t) => o.cancel_timer(t.clone()),
            Command::ChooseRandom(..) => {}
        }
    }

    /// Whether a message from `id` to `dst` is delivered locally.
    fn is_local(&self, id: Id, dst: Id) -> bool {
        dst == id && self.self_delivery == SelfDelivery::Local
    }

    /// Forwards the roles' commands in `inner`, in order, and then handles the messages this
    /// server sent itself, in the order sent, forwarding what each produces, until none is left
    /// (each rule sends finitely many, and each answer moves a role forward, so this ends). The
    /// commands of every round stay in `inner`, one buffer for the whole step: `fwd` is the next
    /// to forward, `next_local` where to look for the next message to itself.
    fn run(&self, id: Id, s: &mut Roles, mut inner: Out<PaxosActor>, o: &mut Out<Self>) {
        let (mut fwd, mut next_local) = (0, 0);
        loop {
            while let Some(c) = inner.get(fwd) {
                self.forward(id, c, s, o);
                fwd += 1;
            }
            let local = inner.iter().enumerate().skip(next_local).find_map(|(at, c)| match c {
                Command::Send(dst, m) if self.is_local(id, *dst) => Some((at, *m)),
                _ => None,
            });
            let Some((at, m)) = local else { break };
            next_local = at + 1;
            self.handle(id, s, id, RegisterMsg::Internal(m), &mut inner);
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
        let mut s = Roles::default();
        if let Some(saved) = storage {
            s.acceptor = saved.acceptor;
            s.proposer.round = saved.round;
            s.learner.learned = saved.learned;
        }
        ServerState::new(Arc::new(s))
    }

    fn on_msg(&self, id: Id, state: &mut Cow<ServerState>, src: Id, msg: MirrorMsg, o: &mut Out<Self>) {
        let step = STEPS.with(|memo| {
            let mut memo = memo.borrow_mut();
            let at = match memo.iter().position(|(server, _)| server == self) {
                Some(at) => at,
                None => {
                    memo.push((self.clone(), StepMemo::default()));
                    memo.len() - 1
                }
            };
            let memo = &mut memo[at].1;
            let key = (id, (**state).clone(), src, msg);
            if let Some(step) = memo.steps.get(&key) {
                return step.clone();
            }
            let (id, from, src, msg) = &key;
            let step = Arc::new(self.step(*id, from, *src, msg.clone(), &mut memo.states));
            memo.steps.insert(key, step.clone());
            step
        });
        if let Some(next) = &step.next {
            *state = Cow::Owned(next.clone());
        }
        for effect in &step.out {
            match effect {
                Effect::Send(dst, m) => o.send(*dst, m.clone()),
                Effect::Save(saved) => o.save(*saved),
                Effect::SetTimer(t, d) => o.set_timer(t.clone(), d.clone()),
                Effect::CancelTimer(t) => o.cancel_timer(t.clone()),
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<ServerState>, _timer: &PaxosTimer, o: &mut Out<Self>) {
        let mut s = state.roles().clone();
        let mut inner = Out::<PaxosActor>::new();
        proposer::on_retry(&mut s.proposer, id, &self.proposer_cfg(), &mut inner);
        self.run(id, &mut s, inner, o);
        if s != *state.roles() {
            *state = Cow::Owned(ServerState::new(Arc::new(s)));
        }
    }
}

impl PaxosServer {
    /// What delivering `msg` from `src` does to server `id` in state `from`: the state after
    /// (`None`: unchanged) and the commands. A new state is taken from `states` when an equal one
    /// was made before, so that equal states share their roles.
    fn step(
        &self,
        id: Id,
        from: &ServerState,
        src: Id,
        msg: MirrorMsg,
        states: &mut HashSet<ServerState, ahash::RandomState>,
    ) -> Step {
        let mut s = from.roles().clone();
        let mut inner = Out::<PaxosActor>::new();
        let mut o = Out::<Self>::new();
        self.handle(id, &mut s, src, msg, &mut inner);
        self.run(id, &mut s, inner, &mut o);
        let next = (s != *from.roles()).then(|| {
            let next = ServerState::new(Arc::new(s));
            match states.get(&next) {
                Some(known) => known.clone(),
                None => {
                    states.insert(next.clone());
                    next
                }
            }
        });
        let out = o
            .into_iter()
            .filter_map(|c| match c {
                Command::Send(dst, m) => Some(Effect::Send(dst, m)),
                Command::Save(saved) => Some(Effect::Save(saved)),
                Command::SetTimer(t, d) => Some(Effect::SetTimer(t, d)),
                Command::CancelTimer(t) => Some(Effect::CancelTimer(t)),
                Command::ChooseRandom(..) => None,
            })
            .collect();
        Step { next, out }
    }
}

/// The outcome of a server's step ([`PaxosServer::step`]).
struct Step {
    next: Option<ServerState>,
    out: Box<[Effect]>,
}

/// A command of a server's step, kept to be replayed.
enum Effect {
    Send(Id, MirrorMsg),
    Save(ServerStorage),
    SetTimer(PaxosTimer, std::ops::Range<std::time::Duration>),
    CancelTimer(PaxosTimer),
}

/// The steps of servers computed so far on this thread, by (server, state, sender, message),
/// and the server states they made. A server's step depends on nothing else (and on its
/// configuration: one memo per configuration, see `STEPS`), and the checker delivers the same
/// message to the same server state over and over, from many interleavings of the other actors'
/// steps: each is computed once and later replayed.
#[derive(Default)]
struct StepMemo {
    steps: HashMap<(Id, ServerState, Id, MirrorMsg), Arc<Step>, ahash::RandomState>,
    states: HashSet<ServerState, ahash::RandomState>,
}

thread_local! {
    /// One memo per server configuration seen on this thread (usually one).
    static STEPS: RefCell<Vec<(PaxosServer, StepMemo)>> = const { RefCell::new(Vec::new()) };
}

impl PaxosServer {
    /// Runs the rule of the role `msg` is for, appending the roles' own commands to `inner`.
    fn handle(&self, id: Id, s: &mut Roles, src: Id, msg: MirrorMsg, inner: &mut Out<PaxosActor>) {
        let cfg = self.proposer_cfg();
        let lcfg = LearnerCfg { acceptors: self.servers.len(), proposers: &self.servers, bugs: self.bugs };
        match msg {
            RegisterMsg::Put(req, v) => {
                if !s.puts.contains(&(src, req, v)) {
                    s.puts.push((src, req, v));
                }
                proposer::on_propose(&mut s.proposer, id, &cfg, src, v, inner);
            }
            RegisterMsg::Get(req) => {
                if !s.gets.contains(&(src, req)) {
                    s.gets.push((src, req));
                }
                learner::on_read(&mut s.learner, src, inner);
            }
            RegisterMsg::Internal(m) => match m {
                PaxosMsg::Prepare(b) => acceptor::on_prepare(&mut s.acceptor, self.bugs, src, b, inner),
                PaxosMsg::Accept(b, v) => acceptor::on_accept(&mut s.acceptor, self.bugs, b, v, &self.servers, inner),
                PaxosMsg::Promise(b, last) => proposer::on_promise(&mut s.proposer, id, &cfg, src, b, last, inner),
                // Servers never crash here, so a learner that learned told every proposer then:
                // its answer to a later vote (`learner::tell_again`) would repeat that Chosen,
                // which the model's dead-message rule leaves out too (reduction.rs); left out here
                // also for self-sends and without dead-message removal, so counts stay comparable.
                PaxosMsg::Accepted(..) if s.learner.learned.is_some() => {}
                PaxosMsg::Accepted(b, v) => learner::on_accepted(&mut s.learner, &lcfg, src, b, v, inner),
                PaxosMsg::Chosen(v) => proposer::on_chosen(&mut s.proposer, self.bugs, v, inner),
                _ => {}
            },
            RegisterMsg::PutOk(_) | RegisterMsg::GetOk(..) => {}
        }
    }
}

/// Ghost state: every vote cast (for agreement) and the clients' register operations.
///
/// Read through its methods. Both parts are shared between states (`Arc`) with their summary
/// (verdict, and hash: [`Digested`]) computed once, when a recorder builds a new part: most
/// steps record nothing, and the checker clones and hashes each state and evaluates the
/// properties on it, so cloning a history is two reference counts and hashing it two words.
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorHistory {
    votes: Arc<Digested<Votes>>,
    ops: Arc<Digested<Ops>>,
}

/// The votes cast, as (ballot, value, server), and what they choose.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Votes {
    set: BTreeSet<(Ballot, Value, Id)>,
    /// How many values are chosen, up to 2 (the properties ask for "none", "one" or "more").
    chosen: u8,
}

/// The clients' register operations, and whether they are linearizable.
#[derive(Clone, Debug, PartialEq, Hash)]
struct Ops {
    lin: LinearizabilityTester<Id, Register<Value>>,
    /// The request each client waits for an answer to. A client takes only the answer to that
    /// request and ignores any other, so only that answer is a return in `lin`.
    awaiting: BTreeMap<Id, u64>,
    linearizable: bool,
}

/// Stateright's register types are only `PartialEq`, but with `char` values their equality is an
/// equivalence.
impl Eq for Ops {}

impl Votes {
    fn new(set: BTreeSet<(Ballot, Value, Id)>) -> Self {
        let chosen = chosen_by_votes(&set, SERVERS).len().min(2) as u8;
        Votes { set, chosen }
    }
}

impl Ops {
    fn new(lin: LinearizabilityTester<Id, Register<Value>>, awaiting: BTreeMap<Id, u64>) -> Self {
        let linearizable = lin.serialized_history().is_some();
        Ops { lin, awaiting, linearizable }
    }
}

/// What a recorder adds to the operations: client, request and value written of an invocation
/// (no value: a read), or client and value read of a return (no value: a write's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum OpEvent {
    Invoke(Id, u64, Option<Value>),
    Return(Id, Option<Value>),
}

/// A part of the history, compared and hashed by identity: the key of a step in [`Memo`], which
/// holds it so that its address is not reused.
struct ByAddress<T>(Arc<T>);

impl<T> PartialEq for ByAddress<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for ByAddress<T> {}

impl<T> std::hash::Hash for ByAddress<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state)
    }
}

/// The history's parts built so far on this thread, each once: `steps` maps a part and what a
/// recorder adds to it to the result, and `parts` holds one shared copy of each distinct part.
/// The states of a check take the same few steps of the history over and over, from many
/// interleavings of the servers' steps: each is computed once — copy, add, the verdict (the
/// linearizability search) and the hash — and later only looked up; a part that several steps
/// reach is kept once.
struct Memo<T, E> {
    steps: HashMap<(ByAddress<T>, E), Arc<T>, ahash::RandomState>,
    parts: HashSet<Arc<T>, ahash::RandomState>,
}

impl<T: Eq + std::hash::Hash, E: Eq + std::hash::Hash> Memo<T, E> {
    fn new() -> Self {
        Memo { steps: HashMap::default(), parts: HashSet::default() }
    }

    /// `from` with `event` added, which `add` builds (summary included) when this step was not
    /// taken before on this thread.
    fn step(&mut self, from: &Arc<T>, event: E, add: impl FnOnce(&T) -> T) -> Arc<T> {
        let key = (ByAddress(from.clone()), event);
        if let Some(to) = self.steps.get(&key) {
            return to.clone();
        }
        let part = add(from);
        let to = match self.parts.get(&part) {
            Some(known) => known.clone(),
            None => {
                let part = Arc::new(part);
                self.parts.insert(part.clone());
                part
            }
        };
        self.steps.insert(key, to.clone());
        to
    }
}

thread_local! {
    static VOTE_STEPS: RefCell<Memo<Digested<Votes>, (Ballot, Value, Id)>> = RefCell::new(Memo::new());
    static OP_STEPS: RefCell<Memo<Digested<Ops>, OpEvent>> = RefCell::new(Memo::new());
}

impl MirrorHistory {
    /// No votes, no operations; the register starts with the default value, as in the example.
    pub fn new() -> Self {
        let votes = Votes::new(BTreeSet::new());
        let ops = Ops::new(LinearizabilityTester::new(Register(Value::default())), BTreeMap::new());
        MirrorHistory { votes: Arc::new(Digested::new(votes)), ops: Arc::new(Digested::new(ops)) }
    }

    /// Every vote cast, as (ballot, value, server).
    pub fn votes(&self) -> &BTreeSet<(Ballot, Value, Id)> {
        &self.votes.set
    }

    /// The clients' register operations, as the linearizability tester holds them.
    pub fn lin(&self) -> &LinearizabilityTester<Id, Register<Value>> {
        &self.ops.lin
    }

    /// The request each client waits for an answer to.
    pub fn awaiting(&self) -> &BTreeMap<Id, u64> {
        &self.ops.awaiting
    }

    /// Whether the operations so far are linearizable (as `lin().serialized_history()` says).
    pub fn is_linearizable(&self) -> bool {
        self.ops.linearizable
    }

    /// How many values are chosen, counted up to 2.
    pub fn chosen_count(&self) -> usize {
        usize::from(self.votes.chosen)
    }

    /// This history with `event` added to the operations.
    fn record_op(&self, event: OpEvent) -> Self {
        let add = |from: &Digested<Ops>| {
            let (mut lin, mut awaiting) = (from.lin.clone(), from.awaiting.clone());
            match event {
                OpEvent::Invoke(c, req, v) => {
                    let _ = lin.on_invoke(c, v.map_or(RegisterOp::Read, RegisterOp::Write));
                    awaiting.insert(c, req);
                }
                OpEvent::Return(c, v) => {
                    awaiting.remove(&c);
                    let _ = lin.on_return(c, v.map_or(RegisterRet::WriteOk, RegisterRet::ReadOk));
                }
            }
            Digested::new(Ops::new(lin, awaiting))
        };
        let ops = OP_STEPS.with(|m| m.borrow_mut().step(&self.ops, event, add));
        MirrorHistory { votes: self.votes.clone(), ops }
    }

    /// This history with one more vote.
    fn record_vote(&self, vote: (Ballot, Value, Id)) -> Self {
        let add = |from: &Digested<Votes>| {
            let mut set = from.set.clone();
            set.insert(vote);
            Digested::new(Votes::new(set))
        };
        let votes = VOTE_STEPS.with(|m| m.borrow_mut().step(&self.votes, vote, add));
        MirrorHistory { votes, ops: self.ops.clone() }
    }
}

impl std::hash::Hash for MirrorHistory {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.votes.digest, self.ops.digest).hash(state);
    }
}

impl Default for MirrorHistory {
    fn default() -> Self {
        Self::new()
    }
}

/// The values chosen: those a majority of servers voted for in one ballot.
pub fn mirror_chosen(h: &MirrorHistory) -> BTreeSet<Value> {
    chosen_by_votes(h.votes(), SERVERS)
}

fn record_out(_: &MirrorCfg, h: &MirrorHistory, env: Envelope<&MirrorMsg>) -> Option<MirrorHistory> {
    // Most messages record nothing: the history is rebuilt only for those that do.
    match env.msg {
        RegisterMsg::Put(req, v) => Some(h.record_op(OpEvent::Invoke(env.src, *req, Some(*v)))),
        RegisterMsg::Get(req) => Some(h.record_op(OpEvent::Invoke(env.src, *req, None))),
        RegisterMsg::Internal(PaxosMsg::Accepted(b, v)) if !h.votes().contains(&(*b, *v, env.src)) => {
            Some(h.record_vote((*b, *v, env.src)))
        }
        _ => None,
    }
}

/// Records an answer as the client sees it: only the answer to the request it waits for (the one
/// `RegisterActor::Client` acts on). Stateright's `RegisterMsg::record_returns` records every
/// delivered answer, which on the ordered network — where ignoring a message is still a step —
/// makes a late duplicate acknowledgement look like the return of the client's next operation.
fn record_in(_: &MirrorCfg, h: &MirrorHistory, env: Envelope<&MirrorMsg>) -> Option<MirrorHistory> {
    let (req, read) = match env.msg {
        RegisterMsg::PutOk(req) => (req, None),
        RegisterMsg::GetOk(req, v) => (req, Some(*v)),
        _ => return None,
    };
    if h.awaiting().get(&env.dst) != Some(req) {
        return None;
    }
    Some(h.record_op(OpEvent::Return(env.dst, read)))
}

impl MirrorCfg {
    pub fn into_model(self) -> MirrorModel {
        let servers: Vec<Id> = (0..SERVERS).map(Id::from).collect();
        let (bugs, self_delivery) = (self.bugs, self.self_delivery);
        let actors = ActorModel::new(self.clone(), MirrorHistory::new())
            .actors((0..SERVERS).map(|_| {
                RegisterActor::Server(PaxosServer {
                    max_round: self.max_round,
                    servers: servers.clone(),
                    self_delivery,
                    bugs,
                })
            }))
            .actors((0..self.clients).map(|_| RegisterActor::Client { put_count: 1, server_count: SERVERS }))
            .init_network(self.network.network())
            .record_msg_out(record_out)
            .record_msg_in(record_in);
        MirrorModel { cfg: self, actors }
    }
}

/// The mirror: the actor model of [`MirrorCfg`], its properties and bound, and (with
/// `remove_dead`) the removal of dead messages after every step, which Stateright's
/// `ActorModel` has no hook for.
#[derive(Clone)]
pub struct MirrorModel {
    pub cfg: MirrorCfg,
    pub actors: MirrorActorModel,
}

impl MirrorModel {
    fn remove_dead_messages(&self, s: &mut MirrorSysState) {
        if self.cfg.remove_dead {
            self.remove_dead_by(s, is_dead);
        }
    }

    /// Removes every message `rule` declares dead. In a debug build each one is first delivered
    /// through the real actor (`assert_dead_deliveries_are_no_ops` in [`super::reduction`]; no
    /// server crashes here): a rule that declares a live message dead panics instead of silently
    /// cutting behaviours.
    pub fn remove_dead_by(&self, s: &mut MirrorSysState, rule: MirrorDeadRule) {
        let bugs = self.cfg.bugs;
        #[cfg(debug_assertions)]
        crate::check::dead::assert_dead_deliveries_are_no_ops(
            &self.actors.actors,
            s,
            |_| false,
            |env| rule(bugs, &s.actor_states, env),
            |_| false,
        );
        let ActorModelState { network, actor_states, .. } = s;
        remove_dead(network, |env| rule(bugs, actor_states, env));
    }
}

/// The mirror's rule for dead messages, as [`MirrorModel::remove_dead_by`] takes it.
pub type MirrorDeadRule = fn(BugSet, &[Arc<RegisterActorState<ServerState, u64>>], &Envelope<MirrorMsg>) -> bool;

/// The server whose state `id` is, if it is a server.
fn server(states: &[Arc<RegisterActorState<ServerState, u64>>], id: Id) -> Option<&ServerState> {
    match states.get(usize::from(id)).map(|s| &**s) {
        Some(RegisterActorState::Server(s)) => Some(s),
        _ => None,
    }
}

/// A message of the mirror is dead when delivering it is a no-op now and in every future: the
/// same per-role rules as the Paxos model's (servers do not crash here, so their current state is
/// what counts), and an answer to a request its client no longer waits for (request ids are
/// never reused, so the client ignores it forever, and `record_in` does not record it).
fn is_dead(bugs: BugSet, states: &[Arc<RegisterActorState<ServerState, u64>>], env: &Envelope<MirrorMsg>) -> bool {
    use PaxosMsg::*;
    let Some(dst) = states.get(usize::from(env.dst)) else { return false };
    match (&env.msg, &**dst) {
        (RegisterMsg::Internal(m), RegisterActorState::Server(s)) => match m {
            Prepare(b) => prepare_is_dead(&s.acceptor, b, env.dst, server(states, env.src).map(|p| &p.proposer)),
            Accept(b, v) => accept_is_dead(&s.acceptor, bugs, b, *v),
            Promise(b, _) => promise_is_stale(&s.proposer, b, env.src),
            Accepted(b, v) => accepted_is_dead(&s.learner, bugs, &(*b, *v, env.src)),
            Chosen(_) => chosen_is_dead(&s.proposer),
            _ => true, // servers never send each other client messages
        },
        (RegisterMsg::Put(..) | RegisterMsg::Get(_), RegisterActorState::Server(_)) => false,
        (RegisterMsg::PutOk(req) | RegisterMsg::GetOk(req, _), RegisterActorState::Client { awaiting, .. }) => {
            *awaiting != Some(*req)
        }
        _ => true, // a message the receiver never handles
    }
}

impl Model for MirrorModel {
    type State = MirrorSysState;
    type Action = MirrorAction;

    fn init_states(&self) -> Vec<MirrorSysState> {
        let mut states = self.actors.init_states();
        for s in &mut states {
            self.remove_dead_messages(s);
        }
        states
    }

    fn actions(&self, state: &MirrorSysState, actions: &mut Vec<MirrorAction>) {
        self.actors.actions(state, actions);
    }

    fn next_state(&self, last: &MirrorSysState, action: MirrorAction) -> Option<MirrorSysState> {
        let mut next = self.actors.next_state(last, action)?;
        self.remove_dead_messages(&mut next);
        Some(next)
    }

    fn format_action(&self, action: &MirrorAction) -> String {
        self.actors.format_action(action)
    }

    fn format_step(&self, last: &MirrorSysState, action: MirrorAction) -> Option<String> {
        self.actors.format_step(last, action)
    }

    fn as_svg(&self, path: Path<MirrorSysState, MirrorAction>) -> Option<String> {
        let steps = path.into_vec();
        let init = steps.first()?.0.clone();
        let actions: Vec<MirrorAction> = steps.into_iter().filter_map(|(_, a)| a).collect();
        self.actors.as_svg(Path::from_actions(&self.actors, init, actions.iter())?)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(LINEARIZABLE, |_: &Self, s: &MirrorSysState| s.history.is_linearizable()),
            Property::always(AGREEMENT, |_: &Self, s: &MirrorSysState| s.history.chosen_count() <= 1),
            Property::sometimes(VALUE_CHOSEN, |_: &Self, s: &MirrorSysState| s.history.chosen_count() > 0),
        ]
    }

    /// The bound: no server beyond `max_round` ballots.
    fn within_boundary(&self, s: &MirrorSysState) -> bool {
        s.actor_states.iter().all(|a| match &**a {
            RegisterActorState::Server(s) => s.proposer.round <= self.cfg.max_round,
            _ => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server of each client's Put (sent at start) and of its Get (sent on the Put's
    /// acknowledgement), as the model's own client actors choose them.
    fn routes(cfg: MirrorCfg) -> Vec<(Id, Id)> {
        let model = cfg.into_model();
        let dst = |out: Out<MirrorActor>| match out.first() {
            Some(Command::Send(dst, _)) => *dst,
            other => panic!("the client sent nothing: {other:?}"),
        };
        (SERVERS..model.actors.actors.len())
            .map(|i| {
                let (id, client) = (Id::from(i), &model.actors.actors[i]);
                let mut out = Out::new();
                let state = client.on_start(id, &None, &mut out);
                let put = dst(out);
                let RegisterActorState::Client { awaiting: Some(req), .. } = state else {
                    panic!("client {i} awaits no Put")
                };
                let mut state = Cow::Owned(state);
                let mut out = Out::new();
                client.on_msg(id, &mut state, put, RegisterMsg::PutOk(req), &mut out);
                (put, dst(out))
            })
            .collect()
    }

    /// The module doc's reason why swapping clients (with their values and request ids) is no
    /// symmetry: each client's Put and Get servers depend on its id, and no renaming of servers
    /// maps client 3's servers to client 4's and client 4's to client 3's.
    #[test]
    fn the_example_clients_route_by_id_so_no_renaming_swaps_them() {
        let r = routes(MirrorCfg::default());
        let (s0, s1, s2) = (Id::from(0), Id::from(1), Id::from(2));
        assert_eq!(r, vec![(s0, s1), (s1, s2)], "(Put server, Get server) of clients 3 and 4");
        // The renaming of servers the swap needs: (client 3's, client 4's) and back.
        let needed = [(r[0].0, r[1].0), (r[0].1, r[1].1), (r[1].0, r[0].0), (r[1].1, r[0].1)];
        let conflict = needed.iter().any(|(a, b)| needed.iter().any(|(c, d)| a == c && b != d));
        assert!(conflict, "some server must go to two places: {needed:?}");
    }

    /// The example's false counterexample on the ordered network, as a history: client 3 writes
    /// A, is acknowledged, reads, and a second acknowledgement of its write (from another
    /// server) arrives before the read's answer. The client ignores it; Stateright's
    /// `record_returns` takes it as the read's return and the history stops being linearizable,
    /// `record_in` ignores it as the client does.
    #[test]
    fn a_late_duplicate_acknowledgement_is_not_the_return_of_the_next_operation() {
        let cfg = MirrorCfg::default();
        let (client, s0, s1) = (Id::from(3), Id::from(0), Id::from(1));
        let steps: [(bool, Id, Id, MirrorMsg); 5] = [
            (true, client, s0, RegisterMsg::Put(3, 'A')),
            (false, s0, client, RegisterMsg::PutOk(3)),
            (true, client, s1, RegisterMsg::Get(6)),
            (false, s1, client, RegisterMsg::PutOk(3)), // the late duplicate
            (false, s1, client, RegisterMsg::GetOk(6, 'A')),
        ];
        let mut ours = MirrorHistory::new();
        let mut theirs = MirrorHistory::new().lin().clone();
        for (out, src, dst, msg) in &steps {
            let env = Envelope { src: *src, dst: *dst, msg };
            let (next, next_theirs) = if *out {
                (record_out(&cfg, &ours, env), RegisterMsg::record_invocations(&cfg, &theirs, env))
            } else {
                (record_in(&cfg, &ours, env), RegisterMsg::record_returns(&cfg, &theirs, env))
            };
            ours = next.unwrap_or(ours);
            theirs = next_theirs.unwrap_or(theirs);
        }
        assert!(theirs.serialized_history().is_none(), "Stateright's recorder takes the duplicate as a return");
        assert!(ours.lin().serialized_history().is_some(), "the client's history is linearizable");
        assert!(ours.is_linearizable(), "the summary agrees");
        assert!(ours.awaiting().is_empty(), "every operation returned");
    }
}
