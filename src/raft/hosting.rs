//! Raft's runtime door ([`crate::runtime::door::Hosting`]): how `quorum node raft`, `quorum
//! cluster raft`, `quorum client put|get` and `quorum bench raft` run the model-checked
//! [`RaftActor`] over UDP, and what the runtime guards beyond the model's bounds
//! ([`crate::runtime::Hosted`]).

use super::server::{Elections, Replication, Role, ServerCfg};
use super::{BugSet, Key, Op, OpKind, RaftActor, RaftModelCfg, RaftMsg, RaftState, RaftTimer, Value};
use crate::runtime::client::{ClientError, RaftClient};
use crate::runtime::door::{Bench, ClientFailure, ClientOpts, Hosting, KvRequest, NoFlags, Reply, Writer};
use crate::runtime::hosted::{Guard, Hosted, Status};
use stateright::actor::Id;

/// The largest value a client may write (bytes): a request, and an AppendEntries carrying it,
/// must fit in one datagram ([`crate::runtime::wire::MAX_DATAGRAM`]).
pub const MAX_VALUE: usize = 16 * 1024;
/// The longest key a client may name (bytes). Keys are names, not payloads: a small bound keeps
/// a request with the largest key and value well inside one datagram.
pub const MAX_KEY: usize = 1024;
/// The runtime's byte budget for the values of one AppendEntries (`Replication::max_batch_bytes`).
pub const BATCH_BYTES: usize = 32 * 1024;

impl Hosted for RaftActor {
    fn status(state: &RaftState) -> Status {
        match state {
            RaftState::Server(s) => Status {
                role: match s.role {
                    Role::Follower => "follower",
                    Role::PreCandidate { .. } => "pre-candidate",
                    Role::Candidate { .. } => "candidate",
                    Role::Leader { .. } => "leader",
                }
                .to_owned(),
                term: s.term,
                commit: s.commit,
                log_len: s.log.len() as u64,
                last: super::log::entry_at(&s.log, s.commit).map_or_else(String::new, |e| format!("{e:?}")),
            },
            RaftState::Client(done) => Status { role: "client".into(), commit: *done, ..Status::default() },
        }
    }

    /// Also: a request must carry its sender's own client number, so that a client cannot
    /// have the leader answer (or deduplicate against) another client's operations.
    fn admit_msg(&self, _state: &RaftState, src: Id, msg: &RaftMsg) -> Guard {
        if let (RaftActor::Server(cfg), RaftMsg::Request(op)) = (self, msg) {
            if cfg.clients.get(usize::from(op.client)) != Some(&src) {
                return Guard::Refuse("a request naming another client's number");
            }
        }
        match msg {
            RaftMsg::Request(op) if op.kind == OpKind::Noop => Guard::Refuse("clients may not send no-ops"),
            RaftMsg::Request(op) if op.key().is_some_and(|k| k.as_bytes().len() > MAX_KEY) => {
                Guard::Refuse("key longer than 1 KiB")
            }
            RaftMsg::Request(Op { kind: OpKind::Put(_, v), .. }) if v.as_bytes().len() > MAX_VALUE => {
                Guard::Refuse("value larger than 16 KiB")
            }
            _ => Guard::Deliver,
        }
    }

    fn admit_timeout(state: &RaftState, timer: &RaftTimer) -> Guard {
        match (state, timer) {
            (RaftState::Server(s), RaftTimer::Election) if s.term == super::Term::MAX => {
                Guard::Refuse("term space exhausted")
            }
            _ => Guard::Deliver,
        }
    }
}

/// (raft) How the leader replicates (src/raft/server.rs, `Replication`): the flags of `quorum
/// node raft`, `quorum cluster raft` and `quorum bench raft`.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct ReplicationFlags {
    /// (raft) Log entries per AppendEntries message
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
    /// (raft) Replicate only on heartbeats (every 50 ms), as the model's default does, instead of
    /// on each request and each acknowledgement
    #[arg(long)]
    heartbeat_only: bool,
    /// (raft) The leader writes new entries to disk before sending them, instead of in parallel
    #[arg(long)]
    persist_first: bool,
}

impl ReplicationFlags {
    /// The replication these flags ask for, as the runtime runs it (with repair).
    pub fn replication(&self) -> Result<Replication, String> {
        if !(1..=1024).contains(&self.max_batch) {
            return Err(format!("--max-batch must be between 1 and 1024, got {}", self.max_batch));
        }
        Ok(Replication {
            max_batch: self.max_batch,
            max_batch_bytes: BATCH_BYTES,
            eager: !self.heartbeat_only,
            parallel_persist: !self.persist_first,
            repair: true,
        })
    }
}

/// Raft's operations on `quorum client`. `put` and `get` take their key and value verbatim,
/// whatever they look like (`put x -h` sets x to `-h`, `put x --` to `--`): only a first argument
/// `-h`/`--help` asks for help, and a first `--` is skipped, so that a key may look like a flag
/// (`put -- -k -v`, `get -- -h`).
#[derive(clap::Subcommand, Clone, Debug)]
pub enum RaftOp {
    /// Raft: set KEY to VALUE in the replicated map (both taken verbatim, e.g. -1, -h or --; a KEY
    /// that starts with - goes after --)
    #[command(override_usage = "quorum client [OPTIONS] put [--] <KEY> <VALUE>")]
    Put {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_names = ["KEY", "VALUE"], hide = true)]
        args: Vec<String>,
    },
    /// Raft: print KEY's value (KEY taken verbatim; one that starts with - goes after --); a KEY
    /// never written prints nothing on stdout, "(none)" on stderr, and exits 3
    #[command(override_usage = "quorum client [OPTIONS] get [--] <KEY>")]
    Get {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_names = ["KEY"], hide = true)]
        args: Vec<String>,
    },
}

impl Hosting for RaftModelCfg {
    type Actor = RaftActor;
    type NodeFlags = ReplicationFlags;
    type ClientFlags = NoFlags;
    type Op = RaftOp;
    type Request = KvRequest;

    /// A server with the runtime's replication and elections (pre-vote, check-quorum).
    fn node(_id: usize, servers: usize, clients: usize, flags: &ReplicationFlags) -> Result<RaftActor, String> {
        let replication = flags.replication()?;
        let cfg = ServerCfg::cluster(servers, clients, BugSet::NONE, replication).with_elections(Elections::RUNTIME);
        Ok(RaftActor::Server(cfg))
    }

    fn node_args(flags: &ReplicationFlags) -> Vec<String> {
        let mut a = vec!["--max-batch".to_owned(), flags.max_batch.to_string()];
        if flags.heartbeat_only {
            a.push("--heartbeat-only".to_owned());
        }
        if flags.persist_first {
            a.push("--persist-first".to_owned());
        }
        a
    }

    fn example(_flags: &ReplicationFlags) -> String {
        "put x 1".to_owned()
    }

    fn request(op: RaftOp) -> Result<KvRequest, String> {
        match &op {
            RaftOp::Put { args } => KvRequest::parse("put", true, args, MAX_KEY, MAX_VALUE),
            RaftOp::Get { args } => KvRequest::parse("get", false, args, MAX_KEY, MAX_VALUE),
        }
    }

    /// A fresh session per run: its one request is request 1 (src/runtime/client.rs, "Sessions").
    fn send(r: KvRequest, _: &NoFlags, to: ClientOpts) -> Result<Reply, ClientFailure> {
        let mut c = RaftClient::new(to.servers, to.key, to.number)?;
        c.attempts = to.attempts;
        c.timeout = to.timeout;
        r.send(&mut c)
    }

    /// Puts, each client to its own key (`bench-N`).
    fn bench() -> Result<Bench, &'static str> {
        Ok(Bench { writer: bench_writer, nodes: 3, storage: "fsync on", max_value: 8192 })
    }
}

fn bench_writer(to: ClientOpts, value_size: usize) -> Result<Writer, ClientError> {
    let key = Key::from(format!("bench-{}", to.number).as_str());
    let value = Value::from(vec![b'v'; value_size]);
    let mut c = RaftClient::new(to.servers, to.key, to.number)?;
    Ok(Box::new(move |seq| c.put(seq, key.clone(), value.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::door::Runtime;

    fn admit(kind: OpKind) -> Guard {
        let cfg = ServerCfg::cluster(1, 1, BugSet::NONE, Replication::default());
        let state = RaftState::Server(super::super::server::ServerState::restore(None));
        RaftActor::Server(cfg).admit_msg(
            &state,
            Id::from(1),
            &RaftMsg::Request(Op { client: 0, session: 0, seq: 1, kind }),
        )
    }

    #[test]
    fn keys_and_values_up_to_the_limits_are_delivered_longer_ones_refused_with_a_reason() {
        let key = |n: usize| Key::from(vec![b'k'; n]);
        let value = |n: usize| Value::from(vec![b'v'; n]);
        assert_eq!(admit(OpKind::Get(key(MAX_KEY))), Guard::Deliver);
        assert_eq!(admit(OpKind::Put(key(MAX_KEY), value(MAX_VALUE))), Guard::Deliver);
        assert_eq!(admit(OpKind::Get(key(MAX_KEY + 1))), Guard::Refuse("key longer than 1 KiB"));
        assert_eq!(admit(OpKind::Put(key(MAX_KEY + 1), value(1))), Guard::Refuse("key longer than 1 KiB"));
        assert_eq!(admit(OpKind::Put(key(1), value(MAX_VALUE + 1))), Guard::Refuse("value larger than 16 KiB"));
        assert_eq!(admit(OpKind::Noop), Guard::Refuse("clients may not send no-ops"));
    }

    fn flags(args: &[&str]) -> ReplicationFlags {
        let cmd = <ReplicationFlags as clap::Args>::augment_args(clap::Command::new("node"));
        let m = cmd.try_get_matches_from(std::iter::once("node").chain(args.iter().copied())).expect("parses");
        <ReplicationFlags as clap::FromArgMatches>::from_arg_matches(&m).expect("flags")
    }

    #[test]
    fn a_node_runs_the_runtimes_replication_and_elections_and_a_child_gets_the_same_flags() {
        let f = flags(&["--max-batch", "8", "--persist-first"]);
        let RaftActor::Server(cfg) = RaftModelCfg::node(1, 3, 2, &f).expect("a server") else { panic!("a client") };
        assert_eq!(
            (cfg.replication.max_batch, cfg.replication.eager, cfg.replication.parallel_persist),
            (8, true, false)
        );
        assert_eq!(cfg.elections, Elections::RUNTIME);
        assert_eq!(cfg.clients, [Id::from(3), Id::from(4)]);
        let again = flags(&RaftModelCfg::node_args(&f).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(RaftModelCfg::node_args(&again), RaftModelCfg::node_args(&f));
        assert_eq!(
            RaftModelCfg::node(0, 3, 2, &flags(&["--max-batch", "0"])).err().as_deref(),
            Some("--max-batch must be between 1 and 1024, got 0")
        );
    }

    #[test]
    fn put_and_get_take_exactly_their_data_within_the_nodes_limits() {
        let put =
            |args: &[&str]| RaftModelCfg::request(RaftOp::Put { args: args.iter().map(|s| s.to_string()).collect() });
        let get =
            |args: &[&str]| RaftModelCfg::request(RaftOp::Get { args: args.iter().map(|s| s.to_string()).collect() });
        assert_eq!(put(&["k", "-h"]), Ok(KvRequest { key: "k".into(), value: Some("-h".into()) }));
        assert_eq!(get(&["k"]), Ok(KvRequest { key: "k".into(), value: None }));
        assert_eq!(put(&["k"]).unwrap_err(), "`put` needs <KEY> <VALUE>; got 1 argument(s)");
        assert!(get(&["k", "v"]).unwrap_err().contains("unexpected argument 'v'"));
        assert!(get(&[&"k".repeat(MAX_KEY + 1)]).unwrap_err().contains("keys of at most 1024"));
        assert!(put(&["k", &"v".repeat(MAX_VALUE + 1)]).unwrap_err().contains("at most 16384"));
        assert_eq!(crate::runtime::door::Host::<RaftModelCfg>::NEW.name(), "raft");
    }
}
