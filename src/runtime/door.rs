//! The runtime's half of a protocol's door: what `quorum node`, `quorum cluster`, `quorum client`
//! and `quorum bench` need of a protocol to run it as real processes over UDP.
//!
//! [`Hosting`] is the typed trait a protocol implements beside [`Protocol`] (on the same type),
//! and [`Protocol::runtime`] returns it erased as a [`Runtime`] ([`Host`] erases it), so that the
//! command line finds every hosted protocol in [`crate::protocol::PROTOCOLS`] and names none.
//!
//! A protocol brings: the actor each server node runs (a [`Hosted`] actor), the flags its nodes
//! take beyond the shared ones (Raft's replication, Paxos's role layout), how node `id` of `n`
//! servers is built from them, the client operations `quorum client` offers for it (Raft: `put`,
//! `get`; Paxos: `propose`; PBFT: `pbft-put`, `pbft-get`) and how each is sent, and the writes
//! `quorum bench` measures, if any.

use super::client::{ClientError, KvClient};
use super::hosted::Hosted;
use super::node::{run_node, NodeCfg, NodeError};
use super::stop::Stop;
use super::storage::Durable;
use super::wire::ClusterKey;
use crate::protocol::Protocol;
use crate::raft::{Key, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How a protocol runs on the UDP runtime. Implemented by the protocol's [`Protocol`] type and
/// reached through [`Protocol::runtime`].
pub trait Hosting: Protocol {
    /// The actor every server node runs: the model-checked actor itself.
    type Actor: Hosted<Msg: Serialize + DeserializeOwned, Storage: Durable>;
    /// The flags of `quorum node NAME`, `quorum cluster NAME` and `quorum bench NAME` beyond the
    /// shared ones. Their names must differ from every other protocol's: the commands list all
    /// hosted protocols' flags, each marked with its protocol, and refuse another protocol's
    /// ("--proposers applies to paxos, not raft").
    type NodeFlags: clap::Args + clap::FromArgMatches;
    /// The flags of `quorum client` that this protocol's operations read (before the operation:
    /// `quorum client --learners 2 propose a`); [`NoFlags`] if none. Names as for `NodeFlags`.
    type ClientFlags: clap::Args + clap::FromArgMatches;
    /// The protocol's client operations, as subcommands of `quorum client`. Their names must
    /// differ from every other protocol's: the operation names the protocol.
    type Op: clap::Subcommand;
    /// An operation checked and ready to send.
    type Request;

    /// Node `id`'s actor in a cluster of `servers` servers that accepts `clients` client ids after
    /// them. An error is bad input (exit 2): `quorum cluster` and `quorum bench` ask with id 0
    /// before starting any node.
    fn node(id: usize, servers: usize, clients: usize, flags: &Self::NodeFlags) -> Result<Self::Actor, String>;
    /// For `quorum cluster`, before any node starts: writes under the cluster's data directory
    /// `dir` what its `servers` nodes need besides the cluster key (PBFT: the replicas' signing
    /// keys), unless already there, and names it in `flags`. Nothing by default.
    fn cluster_files(_dir: &Path, _servers: usize, _flags: &mut Self::NodeFlags) -> Result<(), String> {
        Ok(())
    }
    /// The command-line flags that give a child `quorum node` the same `flags`.
    fn node_args(flags: &Self::NodeFlags) -> Vec<String>;
    /// A `quorum client` command line (after `--key-file FILE`) to try on a cluster of nodes
    /// started with `flags`: `put x 1`.
    fn example(flags: &Self::NodeFlags) -> String;

    /// Checks an operation before anything is read or sent; an error is bad input (exit 2).
    fn request(op: Self::Op) -> Result<Self::Request, String>;
    /// Sends `request` to the cluster as `to` says, and waits for its answer.
    fn send(request: Self::Request, flags: &Self::ClientFlags, to: ClientOpts) -> Result<Reply, ClientFailure>;

    /// `quorum bench NAME`: the closed-loop writer of one client, or why the protocol has none.
    fn bench() -> Result<Bench, &'static str>;
}

/// No flags.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct NoFlags {}

/// Where and how a client sends.
#[derive(Clone, Debug)]
pub struct ClientOpts {
    /// Every server's address, in id order.
    pub servers: Vec<SocketAddr>,
    pub key: ClusterKey,
    /// The client's number: its id is the number of servers + this.
    pub number: u8,
    /// Sends of a request before giving up.
    pub attempts: u32,
    /// How long to wait for an answer per attempt.
    pub timeout: Duration,
}

impl ClientOpts {
    /// Client `number`, with `quorum client`'s default retries (10 attempts of 500 ms).
    pub fn new(servers: Vec<SocketAddr>, key: ClusterKey, number: u8) -> ClientOpts {
        ClientOpts { servers, key, number, attempts: 10, timeout: Duration::from_millis(500) }
    }
}

/// The answer to a client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Printed on stdout, with a newline; exit 0.
    Value(Vec<u8>),
    /// Nothing to print: this message goes to stderr, and the exit code is 3 (`get` of a key
    /// never written).
    Absent(String),
}

/// Why a client operation has no answer.
#[derive(Debug)]
pub enum ClientFailure {
    /// The flags do not fit the cluster (exit 2).
    Usage(String),
    /// The operation failed (exit 1).
    Failed(String),
}

impl From<ClientError> for ClientFailure {
    fn from(e: ClientError) -> Self {
        ClientFailure::Failed(e.to_string())
    }
}

/// One closed-loop client of `quorum bench`: each call writes once (request `seq`, counting from
/// 1) and returns when the write is committed.
pub type Writer = Box<dyn FnMut(u64) -> Result<(), ClientError> + Send>;

/// Makes the writer of client `to.number`, writing values of `value_size` bytes.
pub type BenchWriter = fn(to: ClientOpts, value_size: usize) -> Result<Writer, ClientError>;

/// How `quorum bench NAME` runs a protocol: each client's writer, the nodes of the cluster,
/// what the nodes do with their state (said in the result), and the largest value a write may
/// carry.
#[derive(Clone, Copy, Debug)]
pub struct Bench {
    pub writer: BenchWriter,
    pub nodes: u16,
    pub storage: &'static str,
    pub max_value: usize,
}

/// A checked operation on a replicated key-value map (Raft's and PBFT's): a put (with its value)
/// or a get of `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvRequest {
    pub key: String,
    pub value: Option<String>,
}

impl KvRequest {
    /// The put (`args` = KEY VALUE) or get (`args` = KEY) called `op` on the command line, with
    /// a first `--` already gone (clap drops it), checked against the nodes' limits in bytes.
    pub fn parse(op: &str, put: bool, args: &[String], max_key: usize, max_value: usize) -> Result<KvRequest, String> {
        let (key, value) = match put {
            true => data(op, ["<KEY>", "<VALUE>"], args).map(|[k, v]| (k, Some(v)))?,
            false => data(op, ["<KEY>"], args).map(|[k]| (k, None))?,
        };
        if key.len() > max_key {
            return Err(format!("the key is {} bytes; the nodes take keys of at most {max_key}", key.len()));
        }
        if let Some(value) = value.as_ref().filter(|v| v.len() > max_value) {
            return Err(format!("the value is {} bytes; the nodes take at most {max_value}", value.len()));
        }
        Ok(KvRequest { key, value })
    }

    /// Sends it as request 1 of `client`'s fresh session: "ok" for a put, the value for a get.
    pub fn send(self, client: &mut impl KvClient) -> Result<Reply, ClientFailure> {
        match self.value {
            Some(value) => {
                client.put(1, Key::from(self.key.as_str()), Value::from(value.as_str()))?;
                Ok(Reply::Value(b"ok".to_vec()))
            }
            None => Ok(match client.get(1, Key::from(self.key.as_str()))? {
                Some(v) => Reply::Value(v.as_bytes().to_vec()),
                None => Reply::Absent(format!("(none): the key {:?} was never written", self.key)),
            }),
        }
    }
}

/// Exactly the `N` arguments `names` of operation `op`.
fn data<const N: usize>(op: &str, names: [&str; N], args: &[String]) -> Result<[String; N], String> {
    let wanted = names.join(" ");
    if let Some(extra) = args.get(N) {
        return Err(format!(
            "`{op}` takes {wanted}; unexpected argument '{extra}' (they are taken verbatim: a `--` goes before the key)"
        ));
    }
    <[String; N]>::try_from(args.to_vec())
        .map_err(|got| format!("`{op}` needs {wanted}; got {} argument(s)", got.len()))
}

/// A hosted protocol with its types erased: what the command line holds.
pub trait Runtime: Sync {
    fn name(&self) -> &'static str;
    /// `cmd` with the protocol's node flags.
    fn node_flags(&self, cmd: clap::Command) -> clap::Command;
    /// `cmd` with the protocol's client flags.
    fn client_flags(&self, cmd: clap::Command) -> clap::Command;
    /// `cmd` with the protocol's client operations as subcommands.
    fn client_ops(&self, cmd: clap::Command) -> clap::Command;
    /// Node `id` of `servers`, built from the node flags in `flags`: a closure that runs it.
    fn node(&self, flags: &clap::ArgMatches, id: usize, servers: usize, clients: usize) -> Result<Node, String>;
    /// For a local cluster of `servers` nodes whose data is under `dir`: writes the files its
    /// nodes need ([`Hosting::cluster_files`]), checks that node 0 can be built from `flags`
    /// with `clients` clients, and returns the flags for every child `quorum node`.
    fn cluster_args(
        &self,
        flags: &clap::ArgMatches,
        dir: &Path,
        servers: usize,
        clients: usize,
    ) -> Result<Vec<String>, String>;
    /// A client command line to try on a cluster started with `flags`.
    fn example(&self, flags: &clap::ArgMatches) -> Result<String, String>;
    /// The operation `matches` (of `quorum client`, with the operation as its subcommand) asks
    /// for, checked: a closure that sends it.
    fn client(&self, matches: &clap::ArgMatches) -> Result<Request, String>;
    fn bench(&self) -> Result<Bench, &'static str>;
}

/// A node ready to run: returns when a stop is requested or the node fails.
pub type Node = Box<dyn FnOnce(&NodeCfg, &Stop) -> Result<(), NodeError>>;
/// A client operation ready to send.
pub type Request = Box<dyn FnOnce(ClientOpts) -> Result<Reply, ClientFailure>>;

/// The runtime door of protocol `P`, for [`Protocol::runtime`].
pub struct Host<P>(PhantomData<fn() -> P>);

impl<P> Host<P> {
    pub const NEW: Host<P> = Host(PhantomData);
}

fn parse<T: clap::FromArgMatches>(m: &clap::ArgMatches) -> Result<T, String> {
    T::from_arg_matches(m).map_err(|e| e.to_string())
}

impl<P: Hosting> Runtime for Host<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn node_flags(&self, cmd: clap::Command) -> clap::Command {
        <P::NodeFlags as clap::Args>::augment_args(cmd)
    }
    fn client_flags(&self, cmd: clap::Command) -> clap::Command {
        <P::ClientFlags as clap::Args>::augment_args(cmd)
    }
    fn client_ops(&self, cmd: clap::Command) -> clap::Command {
        <P::Op as clap::Subcommand>::augment_subcommands(cmd)
    }
    fn node(&self, flags: &clap::ArgMatches, id: usize, servers: usize, clients: usize) -> Result<Node, String> {
        let actor = P::node(id, servers, clients, &parse(flags)?)?;
        Ok(Box::new(move |cfg: &NodeCfg, stop: &Stop| run_node(actor, cfg, stop)))
    }
    fn cluster_args(
        &self,
        flags: &clap::ArgMatches,
        dir: &Path,
        servers: usize,
        clients: usize,
    ) -> Result<Vec<String>, String> {
        let mut flags: P::NodeFlags = parse(flags)?;
        P::cluster_files(dir, servers, &mut flags)?;
        P::node(0, servers, clients, &flags)?;
        Ok(P::node_args(&flags))
    }
    fn example(&self, flags: &clap::ArgMatches) -> Result<String, String> {
        Ok(P::example(&parse(flags)?))
    }
    fn client(&self, matches: &clap::ArgMatches) -> Result<Request, String> {
        let flags: P::ClientFlags = parse(matches)?;
        let request = P::request(parse(matches)?)?;
        Ok(Box::new(move |to: ClientOpts| P::send(request, &flags, to)))
    }
    fn bench(&self) -> Result<Bench, &'static str> {
        P::bench()
    }
}

/// Every protocol that runs on the runtime, in the registry's order.
pub fn hosted() -> Vec<&'static dyn Runtime> {
    crate::protocol::PROTOCOLS.iter().filter_map(|d| d.runtime()).collect()
}

/// The hosted protocol called `name`.
pub fn find(name: &str) -> Option<&'static dyn Runtime> {
    hosted().into_iter().find(|r| r.name() == name)
}

/// The hosted protocol whose client operations include `op`.
pub fn with_op(op: &str) -> Option<&'static dyn Runtime> {
    hosted().into_iter().find(|r| ops(*r).iter().any(|o| o == op))
}

/// The names of a protocol's client operations.
pub fn ops(r: &dyn Runtime) -> Vec<String> {
    let cmd = r.client_ops(clap::Command::new("client"));
    cmd.get_subcommands().map(|c| c.get_name().to_owned()).collect()
}

/// The ids and long names of the flags that `add` gives a command.
pub fn flags_of(add: impl FnOnce(clap::Command) -> clap::Command) -> Vec<(String, String)> {
    let cmd = add(clap::Command::new("flags"));
    cmd.get_arguments()
        .map(|a| (a.get_id().to_string(), a.get_long().map_or_else(|| a.get_id().to_string(), |l| format!("--{l}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The commands list every hosted protocol's flags and operations side by side, so no two
    /// protocols may share a flag or an operation name (clap checks duplicates only in debug
    /// builds, and the release suite is the one CI runs).
    #[test]
    fn hosted_protocols_share_no_flag_and_no_client_operation() {
        let mut node: BTreeMap<String, &str> = BTreeMap::new();
        let mut client: BTreeMap<String, &str> = BTreeMap::new();
        let mut op: BTreeMap<String, &str> = BTreeMap::new();
        for r in hosted() {
            for (id, _) in flags_of(|c| r.node_flags(c)) {
                assert_eq!(node.insert(id.clone(), r.name()), None, "node flag {id} of {}", r.name());
            }
            for (id, _) in flags_of(|c| r.client_flags(c)) {
                assert_eq!(client.insert(id.clone(), r.name()), None, "client flag {id} of {}", r.name());
            }
            for o in ops(r) {
                assert_eq!(op.insert(o.clone(), r.name()), None, "client operation {o} of {}", r.name());
            }
            r.node_flags(clap::Command::new("node")).debug_assert();
            r.client_ops(r.client_flags(clap::Command::new("client"))).debug_assert();
        }
        assert_eq!(op.get("put"), Some(&"raft"));
        assert_eq!(op.get("propose"), Some(&"paxos"));
        assert_eq!(op.get("pbft-put"), Some(&"pbft"));
    }

    #[test]
    fn raft_paxos_and_pbft_run_on_the_runtime_and_are_found_by_name_and_operation() {
        let names: Vec<_> = hosted().iter().map(|r| r.name()).collect();
        assert_eq!(names, ["raft", "paxos", "pbft"]);
        assert_eq!(find("paxos").map(|r| r.name()), Some("paxos"));
        assert_eq!(with_op("pbft-get").map(|r| r.name()), Some("pbft"));
        assert_eq!(with_op("get").map(|r| r.name()), Some("raft"));
        assert_eq!(with_op("propose").map(|r| r.name()), Some("paxos"));
        assert!(with_op("frobnicate").is_none());
        assert_eq!(
            flags_of(|c| find("paxos").unwrap().node_flags(c)).iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
            ["--proposers", "--learners"]
        );
    }

    #[test]
    fn bench_is_offered_where_the_protocol_has_writes() {
        assert!(find("raft").unwrap().bench().is_ok_and(|b| b.nodes == 3));
        assert!(find("pbft").unwrap().bench().is_ok_and(|b| b.nodes == 4 && b.max_value == 64));
        assert_eq!(find("paxos").unwrap().bench().err(), Some("single-decree Paxos chooses one value"));
    }
}
