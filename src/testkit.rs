//! A small harness for rule tests: drive one real actor, step by step, and look at what it did.
//!
//! The model checker shows that the rules together are safe; a rule test shows one rule doing
//! what the paper says, in a situation a student picks. [`Node`] holds one actor, its id, its
//! state and its "disk" (the last storage it saved). Each [`Node::deliver`] or [`Node::timeout`]
//! runs the actor's own `on_msg`/`on_timeout`, exactly as the model and the runtime do, and
//! returns the [`Step`]: the commands in the order the actor emitted them. Order matters:
//! Figure 2 wants persistent state on disk before any message that depends on it leaves, which
//! [`Step::saved_before_sends`] checks.
//!
//! ```
//! use quorum::testkit::{raft, Node};
//! use quorum::raft::{BugSet, RaftMsg, RaftTimer, VoteRequest};
//!
//! // Server 0 of three: its election timer fires (Raft §5.2).
//! let mut s0 = raft::server(raft::cfg(3, BugSet::NONE), 0);
//! let step = s0.timeout(RaftTimer::Election);
//! assert_eq!(s0.server().term, 1);
//! assert!(s0.server().is_candidate());
//! // Term and vote are saved before the two RequestVotes leave.
//! assert!(step.saved_before_sends());
//! assert_eq!(step.sent().len(), 2);
//! assert!(matches!(step.sent()[0], (_, RaftMsg::RequestVote(VoteRequest { term: 1, .. }))));
//! ```

use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::fmt;

/// One command of an actor `A`.
pub type Cmd<A> = Command<<A as Actor>::Msg, <A as Actor>::Timer, <A as Actor>::Random, <A as Actor>::Storage>;

/// One actor under test: what it is, who it is, what it holds, and what its disk holds.
pub struct Node<A: Actor> {
    pub actor: A,
    pub id: Id,
    pub state: A::State,
    /// The storage of its last save (None before any): what a restart would read.
    pub disk: Option<A::Storage>,
}

/// What one handler call did: its commands in order, and whether the state changed.
pub struct Step<A: Actor> {
    pub commands: Vec<Cmd<A>>,
    /// Whether the handler wrote a new state (a delivery that changes nothing is no transition).
    pub changed: bool,
}

impl<A: Actor> Node<A> {
    /// Starts the actor with an empty disk (its `on_start`); the start's commands are returned too.
    pub fn start(actor: A, id: usize) -> (Self, Step<A>) {
        Self::start_from(actor, id, None)
    }

    /// Starts (or restarts) the actor from `disk`, as a recovery after a crash does.
    pub fn start_from(actor: A, id: usize, disk: Option<A::Storage>) -> (Self, Step<A>) {
        let id = Id::from(id);
        let mut o = Out::new();
        let state = actor.on_start(id, &disk, &mut o);
        let mut node = Node { actor, id, state, disk };
        let step = node.record(o, true);
        (node, step)
    }

    /// Crashes the node (its volatile state is lost) and starts it again from its disk.
    pub fn restart(&mut self) -> Step<A> {
        let mut o = Out::new();
        self.state = self.actor.on_start(self.id, &self.disk, &mut o);
        self.record(o, true)
    }

    /// Delivers `msg` from `src`.
    pub fn deliver(&mut self, src: usize, msg: A::Msg) -> Step<A> {
        let mut o = Out::new();
        let mut state = Cow::Borrowed(&self.state);
        self.actor.on_msg(self.id, &mut state, Id::from(src), msg, &mut o);
        let next = match state {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        };
        self.apply(next, o)
    }

    /// Fires `timer`.
    pub fn timeout(&mut self, timer: A::Timer) -> Step<A> {
        let mut o = Out::new();
        let mut state = Cow::Borrowed(&self.state);
        self.actor.on_timeout(self.id, &mut state, &timer, &mut o);
        let next = match state {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        };
        self.apply(next, o)
    }

    fn apply(&mut self, next: Option<A::State>, o: Out<A>) -> Step<A> {
        let changed = next.is_some();
        if let Some(s) = next {
            self.state = s;
        }
        self.record(o, changed)
    }

    /// Writes the step's saves to the disk, in order, and hands the commands back.
    fn record(&mut self, o: Out<A>, changed: bool) -> Step<A> {
        let commands: Vec<Cmd<A>> = o.into_iter().collect();
        for c in &commands {
            if let Command::Save(s) = c {
                self.disk = Some(s.clone());
            }
        }
        Step { commands, changed }
    }
}

impl<A: Actor> Step<A> {
    /// The messages sent, in order, with their addressees.
    pub fn sent(&self) -> Vec<(Id, A::Msg)> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                Command::Send(dst, m) => Some((*dst, m.clone())),
                _ => None,
            })
            .collect()
    }

    /// The storages saved, in order.
    pub fn saved(&self) -> Vec<A::Storage> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                Command::Save(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// The timers set, in order.
    pub fn timers_set(&self) -> Vec<&A::Timer> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                Command::SetTimer(t, _) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Whether the step saved something and no message left before its last save: a message
    /// that leaves first may promise what a crash then forgets.
    pub fn saved_before_sends(&self) -> bool {
        let Some(last_save) = self.commands.iter().rposition(|c| matches!(c, Command::Save(_))) else {
            return false;
        };
        !self.commands[..last_save].iter().any(|c| matches!(c, Command::Send(..)))
    }

    /// Whether the step did nothing at all: no new state and no command.
    pub fn is_no_op(&self) -> bool {
        !self.changed && self.commands.is_empty()
    }
}

impl<A: Actor> fmt::Debug for Step<A> {
    /// The commands, one per line, so that a failing assertion shows the step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "step (state {}):", if self.changed { "changed" } else { "unchanged" })?;
        for c in &self.commands {
            writeln!(f, "  {c:?}")?;
        }
        Ok(())
    }
}

impl<A: Actor> fmt::Debug for Node<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} {:?}, disk {:?}", usize::from(self.id), self.state, self.disk)
    }
}

/// Raft servers: a cluster's configuration, a server, its state, and logs to start from.
pub mod raft {
    use super::Node;
    use crate::raft::server::{Replication, ServerCfg, ServerState};
    use crate::raft::{BugSet, Entry, Log, Op, OpKind, RaftActor, RaftMsg, RaftState, RaftStorage, RaftTimer, Term};
    use stateright::actor::Id;

    /// Servers `0..n`, one client (actor `n`), the model's default replication and elections.
    pub fn cfg(n: usize, bugs: BugSet) -> ServerCfg {
        ServerCfg::cluster(n, 1, bugs, Replication::default())
    }

    /// Server `id`, started with an empty disk.
    pub fn server(cfg: ServerCfg, id: usize) -> Node<RaftActor> {
        Node::start(RaftActor::Server(cfg), id).0
    }

    /// Server `id`, restarted from a disk holding `term`, `voted_for` and `log`: the way to put a
    /// server in a situation (a follower with that persistent state, as after a crash).
    pub fn server_from(cfg: ServerCfg, id: usize, term: Term, voted_for: Option<usize>, log: Log) -> Node<RaftActor> {
        let disk = RaftStorage { term, voted_for: voted_for.map(Id::from), log };
        Node::start_from(RaftActor::Server(cfg), id, Some(disk)).0
    }

    /// A log whose entries have these terms, each a Put of client 0 (seq 1, 2, …) of `v1`, `v2`, ….
    pub fn log(terms: &[Term]) -> Log {
        terms.iter().enumerate().map(|(k, &term)| entry(term, k as u64 + 1)).collect()
    }

    /// The entry of term `term` holding client 0's Put number `seq`.
    pub fn entry(term: Term, seq: u64) -> Entry {
        Entry { term, op: put(seq) }
    }

    /// Client 0's Put number `seq`, of value `v{seq}`.
    pub fn put(seq: u64) -> Op {
        Op { client: 0, session: 0, seq, kind: OpKind::Put("".into(), format!("v{seq}").as_str().into()) }
    }

    /// A yes vote for `candidate` in `term`.
    pub fn yes(term: Term, candidate: usize) -> RaftMsg {
        RaftMsg::Vote { term, granted: true, candidate: Id::from(candidate) }
    }

    /// Makes `node` the leader of its next term: its election timer fires and the servers after
    /// it (a majority with it) vote yes. Panics if it does not win (this is test code).
    pub fn elect(node: &mut Node<RaftActor>, n: usize) {
        node.timeout(RaftTimer::Election);
        let (me, term) = (usize::from(node.id), node.server().term);
        for voter in (0..n).filter(|v| *v != me).take(crate::raft::majority(n) - 1) {
            node.deliver(voter, yes(term, me));
        }
        assert!(node.server().is_leader(), "not elected: {node:?}");
    }

    impl Node<RaftActor> {
        /// The server's state. Panics on a client (this is test code).
        pub fn server(&self) -> &ServerState {
            match &self.state {
                RaftState::Server(s) => s,
                RaftState::Client(_) => panic!("node {} is a client", usize::from(self.id)),
            }
        }
    }
}

/// Paxos roles: one acceptor, proposer or learner with a layout like the model's.
pub mod paxos {
    use super::Node;
    use crate::paxos::acceptor::AcceptorState;
    use crate::paxos::learner::LearnerState;
    use crate::paxos::proposer::ProposerState;
    use crate::paxos::{BugSet, PaxosActor, PaxosState, Role};
    use stateright::actor::Id;

    fn ids(ids: &[usize]) -> Vec<Id> {
        ids.iter().copied().map(Id::from).collect()
    }

    /// Acceptor `id`, telling `learners`, started with an empty disk.
    pub fn acceptor(id: usize, learners: &[usize], bugs: BugSet) -> Node<PaxosActor> {
        Node::start(PaxosActor { role: Role::Acceptor { learners: ids(learners) }, bugs }, id).0
    }

    /// Proposer `id` over `acceptors`, with no value of its own (a client's Propose starts it).
    pub fn proposer(id: usize, acceptors: &[usize], bugs: BugSet) -> Node<PaxosActor> {
        let role = Role::Proposer { acceptors: ids(acceptors), first_proposer: Id::from(id), own_value: None };
        Node::start(PaxosActor { role, bugs }, id).0
    }

    /// Learner `id` of acceptors `0..acceptors`, telling `proposers`.
    pub fn learner(id: usize, acceptors: usize, proposers: &[usize], bugs: BugSet) -> Node<PaxosActor> {
        Node::start(PaxosActor { role: Role::Learner { acceptors, proposers: ids(proposers) }, bugs }, id).0
    }

    impl Node<PaxosActor> {
        /// The acceptor's state. Panics on another role (this is test code).
        pub fn acceptor(&self) -> &AcceptorState {
            match &self.state {
                PaxosState::Acceptor(s) => s,
                other => panic!("not an acceptor: {other:?}"),
            }
        }

        /// The proposer's state. Panics on another role.
        pub fn proposer(&self) -> &ProposerState {
            match &self.state {
                PaxosState::Proposer(s) => s,
                other => panic!("not a proposer: {other:?}"),
            }
        }

        /// The learner's state. Panics on another role.
        pub fn learner(&self) -> &LearnerState {
            match &self.state {
                PaxosState::Learner(s) => s,
                other => panic!("not a learner: {other:?}"),
            }
        }
    }
}
