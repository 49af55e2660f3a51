//! Paxos's runtime door ([`crate::runtime::door::Hosting`]): how `quorum node paxos`, `quorum
//! cluster paxos` and `quorum client propose` run the model-checked [`PaxosActor`] over UDP, one
//! process per role in the model's [`Layout`], and what the runtime guards beyond the model's
//! bounds ([`crate::runtime::Hosted`]).

use super::layout::{Layout, LayoutError};
use super::{BugSet, PaxosActor, PaxosModelCfg, PaxosMsg, PaxosState, PaxosTimer, Value};
use crate::runtime::client::PaxosClient;
use crate::runtime::door::{Bench, ClientFailure, ClientOpts, Hosting, Reply};
use crate::runtime::hosted::{Guard, Hosted, Status};
use stateright::actor::Id;

impl Hosted for PaxosActor {
    /// term: the acceptor's promised round, the proposer's round; commit: 1 once the acceptor
    /// accepted, the proposer was told the decision, the learner learned.
    fn status(state: &PaxosState) -> Status {
        let (role, term, commit, last) = match state {
            PaxosState::Acceptor(s) => (
                "acceptor",
                s.promised.map_or(0, |b| b.round),
                u64::from(s.accepted.is_some()),
                s.accepted.map_or_else(String::new, |(b, v)| format!("accepted {b:?}={v}")),
            ),
            PaxosState::Proposer(s) => (
                "proposer",
                s.round,
                u64::from(s.decided.is_some()),
                s.decided.map_or_else(String::new, |v| format!("decided {v}")),
            ),
            PaxosState::Learner(s) => (
                "learner",
                0,
                u64::from(s.learned.is_some()),
                s.learned.map_or_else(String::new, |v| format!("learned {v}")),
            ),
            PaxosState::Client(_) => ("client", 0, 0, String::new()),
        };
        Status { role: role.to_owned(), term: term.into(), commit, log_len: 0, last }
    }

    /// Ballot rounds are u8: a proposer at round 255 starts no new ballot.
    fn admit_msg(&self, state: &PaxosState, _src: Id, msg: &PaxosMsg) -> Guard {
        match (state, msg) {
            (PaxosState::Proposer(s), PaxosMsg::Propose(_)) if s.round == u8::MAX && s.proposal.is_none() => {
                Guard::Refuse("round space exhausted: Paxos rounds are u8 in this implementation")
            }
            _ => Guard::Deliver,
        }
    }

    fn admit_timeout(state: &PaxosState, timer: &PaxosTimer) -> Guard {
        match (state, timer) {
            (PaxosState::Proposer(s), PaxosTimer::Retry) if s.round == u8::MAX => {
                Guard::Refuse("round space exhausted: Paxos rounds are u8 in this implementation")
            }
            _ => Guard::Deliver,
        }
    }
}

/// (paxos) Which --peers play which role, in the model's order: acceptors, then proposers, then
/// learners. The flags of `quorum node paxos` and `quorum cluster paxos`, and of `quorum client`
/// for `propose` (to find the client's proposer and learner).
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct LayoutFlags {
    /// (paxos) Number of proposers [default: 1]
    #[arg(long)]
    proposers: Option<usize>,
    /// (paxos) Number of learners [default: 1]
    #[arg(long)]
    learners: Option<usize>,
}

impl LayoutFlags {
    /// The layout of `servers` nodes: the proposers and learners asked for, every other server an
    /// acceptor.
    pub fn layout(&self, servers: usize) -> Result<Layout, String> {
        let (p, l) = (self.proposers.unwrap_or(1), self.learners.unwrap_or(1));
        Layout::for_servers(servers, p, l).map_err(|e| match e {
            LayoutError::Zero(_) => "paxos needs at least one proposer and one learner".to_owned(),
            LayoutError::NoAcceptor { .. } => format!(
                "paxos: {servers} servers in --peers leave no acceptor after {p} proposer(s) and {l} learner(s)"
            ),
        })
    }

    /// The flags that were given, for a child `quorum node` or a client.
    fn args(&self) -> Vec<String> {
        [("--proposers", self.proposers), ("--learners", self.learners)]
            .into_iter()
            .filter_map(|(f, v)| v.map(|v| [f.to_owned(), v.to_string()]))
            .flatten()
            .collect()
    }
}

/// Paxos's operation on `quorum client`.
#[derive(clap::Subcommand, Clone, Copy, Debug)]
pub enum PaxosOp {
    /// Paxos: propose one character; prints the chosen value (maybe another client's), as
    /// decided by the proposer and read back from a learner
    Propose { value: Value },
}

impl Hosting for PaxosModelCfg {
    type Actor = PaxosActor;
    type NodeFlags = LayoutFlags;
    type ClientFlags = LayoutFlags;
    type Op = PaxosOp;
    type Request = Value;

    /// Server `id` in its role; proposers propose only their clients' values.
    fn node(id: usize, servers: usize, _clients: usize, flags: &LayoutFlags) -> Result<PaxosActor, String> {
        let layout = flags.layout(servers)?;
        let role =
            layout.server_role(Id::from(id)).ok_or_else(|| format!("--id {id} is not one of the {servers} servers"))?;
        Ok(PaxosActor { role, bugs: BugSet::NONE })
    }

    fn node_args(flags: &LayoutFlags) -> Vec<String> {
        flags.args()
    }

    fn example(flags: &LayoutFlags) -> String {
        flags.args().into_iter().chain(["propose".to_owned(), "x".to_owned()]).collect::<Vec<_>>().join(" ")
    }

    fn request(op: PaxosOp) -> Result<Value, String> {
        let PaxosOp::Propose { value } = op;
        Ok(value)
    }

    /// The model client's round trip; the client's proposer and learner are picked by its
    /// number as in the model (`number % proposers`, `number % learners`).
    fn send(value: Value, flags: &LayoutFlags, to: ClientOpts) -> Result<Reply, ClientFailure> {
        let layout = flags.layout(to.servers.len()).map_err(ClientFailure::Usage)?;
        let mut c = PaxosClient::new(to.servers, to.key, &layout, usize::from(to.number))?;
        c.attempts = to.attempts;
        c.timeout = to.timeout;
        match c.propose(value)? {
            (decided, read) if decided == read => Ok(Reply::Value(decided.to_string().into_bytes())),
            (decided, read) => {
                Err(ClientFailure::Failed(format!("the proposer decided {decided} but the learner read {read}")))
            }
        }
    }

    fn bench() -> Result<Bench, &'static str> {
        Err("single-decree Paxos chooses one value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::Role;

    fn flags(args: &[&str]) -> LayoutFlags {
        let cmd = <LayoutFlags as clap::Args>::augment_args(clap::Command::new("node"));
        let m = cmd.try_get_matches_from(std::iter::once("node").chain(args.iter().copied())).expect("parses");
        <LayoutFlags as clap::FromArgMatches>::from_arg_matches(&m).expect("flags")
    }

    #[test]
    fn each_node_plays_its_role_in_the_models_layout() {
        let f = flags(&["--learners", "2"]);
        let roles: Vec<Role> = (0..6).map(|i| PaxosModelCfg::node(i, 6, 8, &f).expect("a server").role).collect();
        let layout = Layout::new(3, 1, 2, 0);
        assert_eq!(roles[..3], vec![layout.acceptor_role(); 3][..]);
        assert_eq!(roles[3], layout.proposer_role(None));
        assert_eq!(roles[4..], vec![layout.learner_role(); 2][..]);
        assert_eq!(PaxosModelCfg::node_args(&f), ["--learners", "2"]);
        assert_eq!(PaxosModelCfg::example(&f), "--learners 2 propose x");
        assert_eq!(PaxosModelCfg::example(&flags(&[])), "propose x");
    }

    #[test]
    fn a_layout_without_room_for_an_acceptor_is_refused_with_the_runtimes_message() {
        assert_eq!(
            PaxosModelCfg::node(0, 2, 8, &flags(&[])).unwrap_err(),
            "paxos: 2 servers in --peers leave no acceptor after 1 proposer(s) and 1 learner(s)"
        );
        assert_eq!(
            PaxosModelCfg::node(0, 3, 8, &flags(&["--proposers", "0"])).unwrap_err(),
            "paxos needs at least one proposer and one learner"
        );
    }
}
