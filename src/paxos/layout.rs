//! Which actor plays which Paxos role: acceptors `0..A`, then the proposers, then the learners,
//! then the clients. The model, the runtime and the tests all number actors this way; this is
//! the one place that says so.
//!
//! Learners count acceptors by id (`LearnerCfg::acceptors`: they are `0..A`), so acceptors must
//! come first. Client `i` proposes to proposer `i % P` and reads from learner `i % L`.

use super::actor::Role;
use super::Value;
use stateright::actor::Id;
use std::ops::Range;

/// How many actors play each role, in the order of their ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub acceptors: usize,
    pub proposers: usize,
    pub learners: usize,
    pub clients: usize,
}

/// The role of an id, without what the role knows of the cluster (that is [`Role`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Acceptor,
    Proposer,
    Learner,
    Client,
}

/// A layout that cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A role with no actor.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("{servers} servers leave no acceptor after {proposers} proposer(s) and {learners} learner(s)")]
    NoAcceptor { servers: usize, proposers: usize, learners: usize },
}

impl Layout {
    pub fn new(acceptors: usize, proposers: usize, learners: usize, clients: usize) -> Layout {
        Layout { acceptors, proposers, learners, clients }
    }

    /// The runtime's layout of `servers` nodes: `proposers` and `learners` at the end, every other
    /// server an acceptor. Clients are not servers: [`Layout::clients`] is 0, and client numbers
    /// follow the servers ([`Layout::client_id`]).
    pub fn for_servers(servers: usize, proposers: usize, learners: usize) -> Result<Layout, LayoutError> {
        let acceptors = servers.checked_sub(proposers + learners).filter(|a| *a >= 1);
        let Some(acceptors) = acceptors else {
            // A zero count is the more useful message when both apply.
            Layout::new(1, proposers, learners, 0).validate()?;
            return Err(LayoutError::NoAcceptor { servers, proposers, learners });
        };
        let layout = Layout::new(acceptors, proposers, learners, 0);
        layout.validate()?;
        Ok(layout)
    }

    /// Every server role needs at least one actor (clients are optional).
    pub fn validate(&self) -> Result<(), LayoutError> {
        for (n, what) in [(self.proposers, "proposers"), (self.acceptors, "acceptors"), (self.learners, "learners")] {
            if n == 0 {
                return Err(LayoutError::Zero(what));
            }
        }
        Ok(())
    }

    /// Acceptors, proposers and learners.
    pub fn servers(&self) -> usize {
        self.acceptors + self.proposers + self.learners
    }

    /// Servers and clients.
    pub fn actors(&self) -> usize {
        self.servers() + self.clients
    }

    fn acceptor_range(&self) -> Range<usize> {
        0..self.acceptors
    }
    fn proposer_range(&self) -> Range<usize> {
        self.acceptors..self.acceptors + self.proposers
    }
    fn learner_range(&self) -> Range<usize> {
        self.acceptors + self.proposers..self.servers()
    }
    fn client_range(&self) -> Range<usize> {
        self.servers()..self.actors()
    }

    pub fn acceptor_ids(&self) -> Vec<Id> {
        self.acceptor_range().map(Id::from).collect()
    }
    pub fn proposer_ids(&self) -> Vec<Id> {
        self.proposer_range().map(Id::from).collect()
    }
    pub fn learner_ids(&self) -> Vec<Id> {
        self.learner_range().map(Id::from).collect()
    }
    pub fn client_ids(&self) -> Vec<Id> {
        self.client_range().map(Id::from).collect()
    }

    /// The role of actor `id`; `None` past the last client.
    pub fn kind(&self, id: Id) -> Option<Kind> {
        let i = usize::from(id);
        [
            (self.acceptor_range(), Kind::Acceptor),
            (self.proposer_range(), Kind::Proposer),
            (self.learner_range(), Kind::Learner),
            (self.client_range(), Kind::Client),
        ]
        .into_iter()
        .find_map(|(r, k)| r.contains(&i).then_some(k))
    }

    /// A short name for an actor: a0, p3, l5, c6 (role letter and id); `?7` past the last client.
    pub fn name(&self, id: Id) -> String {
        let letter = match self.kind(id) {
            Some(Kind::Acceptor) => 'a',
            Some(Kind::Proposer) => 'p',
            Some(Kind::Learner) => 'l',
            Some(Kind::Client) => 'c',
            None => '?',
        };
        format!("{letter}{}", usize::from(id))
    }

    /// Client number `number`'s id: the servers come first. (In the runtime, clients
    /// beyond [`Layout::clients`] have ids too: as many as the nodes' `--clients`.)
    pub fn client_id(&self, number: usize) -> Id {
        Id::from(self.servers() + number)
    }

    /// The proposer client `number` proposes to.
    pub fn proposer_of(&self, number: usize) -> Id {
        Id::from(self.acceptors + number % self.proposers.max(1))
    }

    /// The learner client `number` reads from.
    pub fn learner_of(&self, number: usize) -> Id {
        Id::from(self.acceptors + self.proposers + number % self.learners.max(1))
    }

    /// What an acceptor knows: the learners it tells of its votes.
    pub fn acceptor_role(&self) -> Role {
        Role::Acceptor { learners: self.learner_ids() }
    }

    /// What a proposer knows: the acceptors, the first proposer (ballots start above it), and the
    /// value it proposes itself, if any (the model's proposers do with no clients).
    pub fn proposer_role(&self, own_value: Option<Value>) -> Role {
        Role::Proposer { acceptors: self.acceptor_ids(), first_proposer: Id::from(self.acceptors), own_value }
    }

    /// What a learner knows: how many acceptors (ids `0..A`) and the proposers it tells.
    pub fn learner_role(&self) -> Role {
        Role::Learner { acceptors: self.acceptors, proposers: self.proposer_ids() }
    }

    /// What client `number` knows: its proposer, its learner and its value.
    pub fn client_role(&self, number: usize, value: Value) -> Role {
        Role::Client { proposer: self.proposer_of(number), learner: self.learner_of(number), value }
    }

    /// The role of server `id` as the runtime runs it (proposers propose only clients' values);
    /// `None` for a client or past the servers.
    pub fn server_role(&self, id: Id) -> Option<Role> {
        match self.kind(id)? {
            Kind::Acceptor => Some(self.acceptor_role()),
            Kind::Proposer => Some(self.proposer_role(None)),
            Kind::Learner => Some(self.learner_role()),
            Kind::Client => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::PaxosModelCfg;

    fn ids(v: &[usize]) -> Vec<Id> {
        v.iter().copied().map(Id::from).collect()
    }

    #[test]
    fn acceptors_come_first_then_proposers_learners_and_clients() {
        let l = Layout::new(3, 2, 1, 2);
        assert_eq!((l.servers(), l.actors()), (6, 8));
        assert_eq!(l.acceptor_ids(), ids(&[0, 1, 2]));
        assert_eq!(l.proposer_ids(), ids(&[3, 4]));
        assert_eq!(l.learner_ids(), ids(&[5]));
        assert_eq!(l.client_ids(), ids(&[6, 7]));
        let names: Vec<String> = (0..9).map(|i| l.name(Id::from(i))).collect();
        assert_eq!(names, ["a0", "a1", "a2", "p3", "p4", "l5", "c6", "c7", "?8"]);
        assert_eq!(l.kind(Id::from(4)), Some(Kind::Proposer));
        assert_eq!(l.kind(Id::from(8)), None);
    }

    #[test]
    fn client_i_proposes_to_proposer_i_mod_p_and_reads_from_learner_i_mod_l() {
        let l = Layout::new(3, 2, 3, 4);
        let picks: Vec<(usize, usize)> =
            (0..4).map(|i| (usize::from(l.proposer_of(i)), usize::from(l.learner_of(i)))).collect();
        assert_eq!(picks, [(3, 5), (4, 6), (3, 7), (4, 5)]);
        assert_eq!(l.client_id(2), Id::from(10));
        assert_eq!(l.client_role(1, 'B'), Role::Client { proposer: Id::from(4), learner: Id::from(6), value: 'B' });
    }

    #[test]
    fn each_role_knows_the_ids_of_the_roles_it_talks_to() {
        let l = Layout::new(3, 2, 2, 0);
        assert_eq!(l.acceptor_role(), Role::Acceptor { learners: ids(&[5, 6]) });
        assert_eq!(
            l.proposer_role(Some('A')),
            Role::Proposer { acceptors: ids(&[0, 1, 2]), first_proposer: Id::from(3), own_value: Some('A') }
        );
        assert_eq!(l.learner_role(), Role::Learner { acceptors: 3, proposers: ids(&[3, 4]) });
        assert_eq!(l.server_role(Id::from(4)), Some(l.proposer_role(None)));
        assert_eq!(l.server_role(Id::from(7)), None);
    }

    #[test]
    fn the_runtimes_layout_makes_every_server_left_over_an_acceptor() {
        assert_eq!(Layout::for_servers(5, 1, 1), Ok(Layout::new(3, 1, 1, 0)));
        assert_eq!(Layout::for_servers(6, 1, 2), Ok(Layout::new(3, 1, 2, 0)));
        assert_eq!(
            Layout::for_servers(2, 1, 1),
            Err(LayoutError::NoAcceptor { servers: 2, proposers: 1, learners: 1 })
        );
        assert_eq!(
            Layout::for_servers(0, 1, 1).unwrap_err().to_string(),
            "0 servers leave no acceptor after 1 proposer(s) and 1 learner(s)"
        );
        assert_eq!(Layout::for_servers(3, 0, 1), Err(LayoutError::Zero("proposers")));
        assert_eq!(Layout::for_servers(1, 1, 0), Err(LayoutError::Zero("learners")));
    }

    #[test]
    fn validation_names_the_missing_role() {
        assert_eq!(Layout::new(3, 1, 1, 0).validate(), Ok(()));
        assert_eq!(Layout::new(0, 1, 1, 2).validate().unwrap_err().to_string(), "acceptors must be at least 1");
        assert_eq!(Layout::new(3, 0, 1, 2).validate(), Err(LayoutError::Zero("proposers")));
    }

    /// The model builds its actors from [`Layout`]: each role is the one the layout gives (with
    /// the model's own values for proposers without clients, and for clients).
    #[test]
    fn the_model_lays_out_its_actors_as_the_layout_says() {
        for (a, p, l, c) in [(3, 2, 1, 2), (3, 1, 2, 0), (5, 3, 2, 3), (1, 1, 1, 1)] {
            let cfg = PaxosModelCfg { acceptors: a, proposers: p, learners: l, clients: c, ..PaxosModelCfg::default() };
            let layout = Layout::new(a, p, l, c);
            assert_eq!(cfg.actor_count(), layout.actors());
            assert_eq!(cfg.acceptor_ids(), layout.acceptor_ids());
            assert_eq!(cfg.proposer_ids(), layout.proposer_ids());
            assert_eq!(cfg.learner_ids(), layout.learner_ids());
            assert_eq!(cfg.client_ids(), layout.client_ids());
            let model = cfg.clone().into_model();
            for (i, actor) in model.actors.actors.iter().enumerate() {
                let id = Id::from(i);
                assert_eq!(cfg.actor_name(id), layout.name(id));
                let want = match layout.kind(id) {
                    Some(Kind::Proposer) => {
                        let own = (c == 0).then(|| PaxosModelCfg::value_of(i - a));
                        layout.proposer_role(own)
                    }
                    Some(Kind::Client) => {
                        layout.client_role(i - layout.servers(), PaxosModelCfg::value_of(i - layout.servers()))
                    }
                    _ => layout.server_role(id).expect("a server"),
                };
                assert_eq!(actor.role, want, "{cfg:?}: actor {i}");
            }
        }
    }
}
