//! The runtime's subcommands: `node`, `cluster`, `client`, `keygen`. Exit codes: 0 success, 1 the
//! operation failed (no reply, a node failed while running), 2 bad input (flags, addresses, key
//! or storage files), 3 `client get` of a key never written.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use quorum::paxos::{PaxosActor, Role};
use quorum::raft::server::{Elections, ServerCfg};
use quorum::raft::{BugSet, RaftActor};
use quorum::runtime::client::{PaxosClient, RaftClient};
use quorum::runtime::faults::FaultCfg;
use quorum::runtime::storage::StorageError;
use quorum::runtime::wire::ClusterKey;
use quorum::runtime::{run_node, NodeCfg, NodeError, Stop};
use stateright::actor::Id;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The protocols the runtime hosts.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Protocol {
    Paxos,
    Raft,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Paxos => "paxos",
            Protocol::Raft => "raft",
        }
    }
}

#[derive(Args)]
pub struct NodeArgs {
    protocol: Protocol,
    /// This node's id: its position (0-based) in --peers
    #[arg(long)]
    id: usize,
    /// Every server's UDP address, in id order, e.g. 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
    #[arg(long, value_name = "ADDR,…")]
    peers: String,
    /// Directory of this node's durable state (created if missing)
    #[arg(long)]
    data_dir: PathBuf,
    /// The cluster key (from `quorum keygen`)
    #[arg(long)]
    key_file: PathBuf,
    /// Client ids accepted after the servers' (clients 0..N)
    #[arg(long, default_value_t = DEFAULT_CLIENTS)]
    clients: usize,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Write counters and status as JSON to this file every 100 ms
    #[arg(long)]
    stats_file: Option<PathBuf>,
    #[command(flatten)]
    replication: ReplicationArgs,
    #[command(flatten)]
    faults: FaultArgs,
}

/// (raft) How the leader replicates (src/raft/server.rs, `Replication`).
#[derive(Args, Clone, Copy)]
pub struct ReplicationArgs {
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

impl ReplicationArgs {
    fn check(&self) -> Result<quorum::raft::server::Replication> {
        if !(1..=1024).contains(&self.max_batch) {
            bail!("--max-batch must be between 1 and 1024, got {}", self.max_batch);
        }
        Ok(quorum::raft::server::Replication {
            max_batch: self.max_batch,
            max_batch_bytes: quorum::runtime::hosted::RAFT_BATCH_BYTES,
            eager: !self.heartbeat_only,
            parallel_persist: !self.persist_first,
            repair: true,
        })
    }

    /// The same flags for a child `quorum node`.
    fn args(&self) -> Vec<String> {
        let mut a = vec!["--max-batch".to_owned(), self.max_batch.to_string()];
        if self.heartbeat_only {
            a.push("--heartbeat-only".to_owned());
        }
        if self.persist_first {
            a.push("--persist-first".to_owned());
        }
        a
    }
}

/// (paxos) Which --peers play which role, in the model's order: acceptors, then proposers, then
/// learners.
#[derive(Args, Clone, Copy)]
pub struct LayoutArgs {
    /// (paxos) Number of proposers [default: 1]
    #[arg(long)]
    proposers: Option<usize>,
    /// (paxos) Number of learners [default: 1]
    #[arg(long)]
    learners: Option<usize>,
}

/// The Paxos roles of `n` servers: acceptors `0..a`, proposers, learners (the model's layout).
#[derive(Clone, Copy, Debug)]
pub struct PaxosLayout {
    acceptors: usize,
    proposers: usize,
    learners: usize,
}

impl PaxosLayout {
    fn new(n: usize, l: LayoutArgs) -> Result<PaxosLayout> {
        let (p, ls) = (l.proposers.unwrap_or(1), l.learners.unwrap_or(1));
        if p == 0 || ls == 0 {
            bail!("paxos needs at least one proposer and one learner");
        }
        match n.checked_sub(p + ls).filter(|a| *a >= 1) {
            Some(acceptors) => Ok(PaxosLayout { acceptors, proposers: p, learners: ls }),
            None => bail!("paxos: {n} servers in --peers leave no acceptor after {p} proposer(s) and {ls} learner(s)"),
        }
    }

    fn ids(first: usize, count: usize) -> Vec<Id> {
        (first..first + count).map(Id::from).collect()
    }

    fn role(&self, id: usize) -> Role {
        let acceptors = Self::ids(0, self.acceptors);
        let proposers = Self::ids(self.acceptors, self.proposers);
        let learners = Self::ids(self.acceptors + self.proposers, self.learners);
        if id < self.acceptors {
            Role::Acceptor { learners }
        } else if id < self.acceptors + self.proposers {
            Role::Proposer { acceptors, first_proposer: proposers[0], own_value: None }
        } else {
            Role::Learner { acceptors: self.acceptors, proposers }
        }
    }

    fn servers(&self) -> usize {
        self.acceptors + self.proposers + self.learners
    }
}

fn reject_layout(protocol: Protocol, l: LayoutArgs) -> Result<()> {
    if matches!(protocol, Protocol::Raft) && (l.proposers.is_some() || l.learners.is_some()) {
        bail!("--proposers and --learners apply to paxos, not raft");
    }
    Ok(())
}

/// The fault shim on the send path (off by default).
#[derive(Args, Clone)]
pub struct FaultArgs {
    /// Probability of dropping each outgoing datagram
    #[arg(long, default_value_t = 0.0)]
    fault_drop: f64,
    /// Probability of sending each outgoing datagram twice
    #[arg(long, default_value_t = 0.0)]
    fault_duplicate: f64,
    /// Hold each outgoing datagram back by up to this many ms (reorders them)
    #[arg(long, default_value_t = 0)]
    fault_max_delay_ms: u64,
    /// Seed of the fault shim's choices
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Partition the servers as this file says, re-read every 100 ms: groups of ids separated
    /// by '|', e.g. "0|1,2"; absent or empty: no partition. Give every node the same file.
    #[arg(long, value_name = "FILE")]
    fault_partition_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ClusterArgs {
    protocol: Protocol,
    /// Number of nodes
    #[arg(short = 'n', default_value_t = 3)]
    n: usize,
    /// Node i listens on 127.0.0.1:(P+i)
    #[arg(long, default_value_t = 7000)]
    base_port: u16,
    /// Holds cluster.key and node-0/, node-1/, … (created if missing; reused if present)
    #[arg(long, default_value = "quorum-data")]
    data_dir: PathBuf,
    #[command(flatten)]
    layout: LayoutArgs,
    #[command(flatten)]
    replication: ReplicationArgs,
    #[command(flatten)]
    faults: FaultArgs,
}

#[derive(Args)]
pub struct ClientArgs {
    /// Every server's UDP address, in id order, as given to the nodes
    #[arg(long, value_name = "ADDR,…")]
    peers: String,
    /// The cluster key
    #[arg(long)]
    key_file: PathBuf,
    /// This client's number (its id is the number of servers + this), below --clients
    #[arg(long, default_value_t = 0)]
    client: u8,
    /// The nodes' --clients: how many client numbers they accept
    #[arg(long, default_value_t = DEFAULT_CLIENTS)]
    clients: usize,
    /// Sends of the request before giving up
    #[arg(long, default_value_t = 10)]
    attempts: u32,
    /// Wait for a reply this long per attempt
    #[arg(long, default_value_t = 500)]
    timeout_ms: u64,
    #[command(flatten)]
    layout: LayoutArgs,
    #[command(subcommand)]
    op: ClientOp,
}

/// Client numbers a node accepts by default (`node --clients`), and so what `client` assumes.
const DEFAULT_CLIENTS: usize = 8;
/// The most client numbers a node accepts (`node --clients`, `client --clients`).
const MAX_CLIENTS: usize = 26;

/// `put` and `get` take their key and value verbatim, whatever they look like (`put x -h` sets x
/// to `-h`, `put x --` to `--`): only a first argument `-h`/`--help` asks for help, and a first
/// `--` is skipped, so that a key may look like a flag (`put -- -k -v`, `get -- -h`).
#[derive(Subcommand)]
enum ClientOp {
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
    /// Paxos: propose one character; prints the chosen value (maybe another client's), as
    /// decided by the proposer and read back from a learner
    Propose { value: char },
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn failed(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

/// Creates `--data-dir` if missing; one that cannot be a directory (a file, say) is bad input.
fn make_data_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("--data-dir {} exists and is not a directory", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create --data-dir {}", dir.display()))
}

/// Parses `--peers`: addresses in id order, each resolved once, no duplicates, no port 0 (which
/// would bind a random port and could never be reached at the address given).
pub fn parse_peers(s: &str) -> Result<Vec<SocketAddr>> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            bail!("--peers has an empty address in '{s}'");
        }
        let addr = part
            .to_socket_addrs()
            .with_context(|| format!("bad address '{part}' in --peers (expected HOST:PORT)"))?
            .next()
            .ok_or_else(|| anyhow!("address '{part}' in --peers resolves to nothing"))?;
        if addr.port() == 0 {
            bail!("address '{part}' in --peers has port 0; give each server its own port");
        }
        if out.contains(&addr) {
            bail!("--peers lists {addr} twice");
        }
        out.push(addr);
    }
    if out.len() > 9 {
        bail!("--peers lists {} servers; at most 9 are supported", out.len());
    }
    Ok(out)
}

fn faults(a: &FaultArgs) -> Result<FaultCfg> {
    for (p, name) in [(a.fault_drop, "--fault-drop"), (a.fault_duplicate, "--fault-duplicate")] {
        if !(0.0..=1.0).contains(&p) {
            bail!("{name} must be a probability between 0 and 1, got {p}");
        }
    }
    Ok(FaultCfg {
        seed: a.fault_seed,
        drop: a.fault_drop,
        duplicate: a.fault_duplicate,
        max_delay: Duration::from_millis(a.fault_max_delay_ms),
        partition_file: a.fault_partition_file.clone(),
    })
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn stop_flag() -> Result<Arc<Stop>> {
    Stop::on_signals().context("cannot install the signal handler")
}

pub fn node(a: NodeArgs) -> ExitCode {
    if let Err(e) = reject_layout(a.protocol, a.layout) {
        return usage(e);
    }
    let servers = match parse_peers(&a.peers) {
        Ok(s) => s,
        Err(e) => return usage(format!("{e:#}")),
    };
    if a.id >= servers.len() {
        return usage(format!(
            "--id {} is not a server: --peers lists {} servers (ids 0..{})",
            a.id,
            servers.len(),
            servers.len()
        ));
    }
    if a.clients > MAX_CLIENTS {
        return usage(format!("--clients must be at most {MAX_CLIENTS}, got {}", a.clients));
    }
    let key = match ClusterKey::read(&a.key_file) {
        Ok(k) => k,
        Err(e) => return usage(e),
    };
    let faults = match faults(&a.faults) {
        Ok(f) => f,
        Err(e) => return usage(e),
    };
    let replication = match a.replication.check() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    if let Err(e) = make_data_dir(&a.data_dir) {
        return usage(format!("{e:#}"));
    }
    init_logs();
    let stop = match stop_flag() {
        Ok(s) => s,
        Err(e) => return failed(format!("{e:#}")),
    };
    let n = servers.len();
    let paxos = match a.protocol {
        Protocol::Raft => None,
        Protocol::Paxos => match PaxosLayout::new(n, a.layout) {
            Ok(l) => Some(l),
            Err(e) => return usage(e),
        },
    };
    let cfg =
        NodeCfg { id: a.id, servers, clients: a.clients, data_dir: a.data_dir, key, stats_file: a.stats_file, faults };
    let result = match paxos {
        None => {
            let actor = RaftActor::Server(
                ServerCfg::cluster(n, a.clients, BugSet::NONE, replication).with_elections(Elections::RUNTIME),
            );
            run_node(actor, &cfg, &stop)
        }
        Some(layout) => {
            run_node(PaxosActor { role: layout.role(a.id), bugs: quorum::paxos::BugSet::NONE }, &cfg, &stop)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Bad input: the address or the files on disk. Never start from scratch instead.
        Err(e @ (NodeError::BadId { .. } | NodeError::Bind { .. })) => usage(e),
        Err(NodeError::Storage(e @ StorageError::Io { .. })) => failed(e),
        Err(e @ NodeError::Storage(_)) => usage(format!("{e}; the node will not start from an empty state")),
        Err(e) => failed(e),
    }
}

pub fn keygen(file: &Path) -> ExitCode {
    match ClusterKey::write_new(file) {
        Ok(_) => {
            println!("wrote a new cluster key to {}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => usage(e),
    }
}

/// The data of `put`/`get` (a first `--` is already gone: clap drops it, and keeps those after
/// the first data argument): exactly the `N` arguments `names`.
fn data<const N: usize>(op: &str, names: [&str; N], args: &[String]) -> Result<[String; N]> {
    let wanted = names.join(" ");
    if let Some(extra) = args.get(N) {
        bail!("`{op}` takes {wanted}; unexpected argument '{extra}' (they are taken verbatim: a `--` goes before the key)");
    }
    <[String; N]>::try_from(args.to_vec())
        .map_err(|got| anyhow!("`{op}` needs {wanted}; got {} argument(s)", got.len()))
}

/// Rejects a client number the nodes would refuse as an unknown sender.
fn check_client_number(a: &ClientArgs) -> Result<()> {
    if a.clients > MAX_CLIENTS {
        bail!("--clients must be at most {MAX_CLIENTS} (as the nodes' --clients), got {}", a.clients);
    }
    if usize::from(a.client) >= a.clients {
        bail!(
            "--client {} is not a client of the cluster: the nodes accept client numbers 0..{} (--clients {})",
            a.client,
            a.clients,
            a.clients
        );
    }
    Ok(())
}

pub fn client(a: ClientArgs) -> ExitCode {
    let data = match &a.op {
        ClientOp::Put { args } => data("put", ["<KEY>", "<VALUE>"], args).map(|[k, v]| (k, Some(v))),
        ClientOp::Get { args } => data("get", ["<KEY>"], args).map(|[k]| (k, None)),
        ClientOp::Propose { .. } => Ok((String::new(), None)),
    };
    let (key, value) = match data {
        Ok(kv) => kv,
        Err(e) => return usage(e),
    };
    if let Err(e) = check_client_number(&a) {
        return usage(e);
    }
    let servers = match parse_peers(&a.peers) {
        Ok(s) => s,
        Err(e) => return usage(format!("{e:#}")),
    };
    let cluster_key = match ClusterKey::read(&a.key_file) {
        Ok(k) => k,
        Err(e) => return usage(e),
    };
    if let ClientOp::Propose { value } = a.op {
        return propose(&a, servers, cluster_key, value);
    }
    if a.layout.proposers.is_some() || a.layout.learners.is_some() {
        return usage("--proposers and --learners apply to `propose` (paxos)");
    }
    let (key_limit, limit) = (quorum::runtime::hosted::RAFT_MAX_KEY, quorum::runtime::hosted::RAFT_MAX_VALUE);
    if key.len() > key_limit {
        return usage(format!("the key is {} bytes; the nodes take keys of at most {key_limit}", key.len()));
    }
    if let Some(value) = &value {
        if value.len() > limit {
            return usage(format!("the value is {} bytes; the nodes take at most {limit}", value.len()));
        }
    }
    // A fresh session per run: its one request is request 1 (src/runtime/client.rs, "Sessions").
    let mut c = match RaftClient::new(servers, cluster_key, a.client) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    c.attempts = a.attempts.max(1);
    c.timeout = Duration::from_millis(a.timeout_ms.max(1));
    let result = match value {
        Some(value) => c.put(1, key.as_str(), value.as_str()).map(|()| Some(quorum::raft::Value::from("ok"))),
        None => c.get(1, key.as_str()),
    };
    match result {
        Ok(Some(v)) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            match out.write_all(v.as_bytes()).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => failed(format!("cannot write the value to stdout: {e}")),
            }
        }
        Ok(None) => {
            eprintln!("(none): the key {key:?} was never written");
            ExitCode::from(3)
        }
        Err(e) => failed(e),
    }
}

/// Paxos: the model client's round trip; the client's proposer and learner are picked by its
/// number as in the model (`number % proposers`, `number % learners`).
fn propose(a: &ClientArgs, servers: Vec<SocketAddr>, key: ClusterKey, value: char) -> ExitCode {
    let layout = match PaxosLayout::new(servers.len(), a.layout) {
        Ok(l) => l,
        Err(e) => return usage(e),
    };
    let number = usize::from(a.client);
    let proposer = layout.acceptors + number % layout.proposers;
    let learner = layout.acceptors + layout.proposers + number % layout.learners;
    let id = layout.servers() + number;
    let mut c = match PaxosClient::new(servers, key, id, proposer, learner) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    c.attempts = a.attempts.max(1);
    c.timeout = Duration::from_millis(a.timeout_ms.max(1));
    match c.propose(value) {
        Ok((decided, read)) if decided == read => {
            println!("{decided}");
            ExitCode::SUCCESS
        }
        Ok((decided, read)) => failed(format!("the proposer decided {decided} but the learner read {read}")),
        Err(e) => failed(e),
    }
}

/// Starts `n` nodes as child processes and waits for Ctrl-C (or SIGTERM), then stops them with
/// SIGTERM (and SIGKILL after 3 s). If a node exits on its own, the others are stopped too.
pub fn cluster(a: ClusterArgs) -> ExitCode {
    if let Err(e) = reject_layout(a.protocol, a.layout) {
        return usage(e);
    }
    if let Protocol::Paxos = a.protocol {
        if let Err(e) = PaxosLayout::new(a.n, a.layout) {
            return usage(e);
        }
    }
    if let Err(e) = a.replication.check() {
        return usage(e);
    }
    if !(1..=9).contains(&a.n) {
        return usage(format!("-n must be between 1 and 9, got {}", a.n));
    }
    let Some(last_port) = a.base_port.checked_add(a.n as u16 - 1).filter(|_| a.base_port > 0) else {
        return usage(format!("--base-port {} leaves no room for {} nodes", a.base_port, a.n));
    };
    let fault = match faults(&a.faults) {
        Ok(_) => a.faults.clone(),
        Err(e) => return usage(e),
    };
    if let Err(e) = make_data_dir(&a.data_dir) {
        return usage(format!("{e:#}"));
    }
    match run_cluster(&a, last_port, &fault) {
        Ok(code) => code,
        Err(e) => failed(format!("{e:#}")),
    }
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            #[allow(clippy::cast_possible_wrap)]
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            unsafe {
                libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for c in &mut self.0 {
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

fn run_cluster(a: &ClusterArgs, last_port: u16, f: &FaultArgs) -> Result<ExitCode> {
    let key_file = a.data_dir.join("cluster.key");
    if !key_file.exists() {
        ClusterKey::write_new(&key_file)?;
    }
    let peers: Vec<String> = (a.base_port..=last_port).map(|p| format!("127.0.0.1:{p}")).collect();
    let peers = peers.join(",");
    let exe = std::env::current_exe().context("cannot find the quorum executable")?;
    let stop = stop_flag()?;
    let mut children = Children(Vec::new());
    for i in 0..a.n {
        let dir = a.data_dir.join(format!("node-{i}"));
        let mut cmd = node_command(&exe, a.protocol.name(), i, &peers, &dir, &key_file, &dir.join("stats.json"));
        if let Some(p) = a.layout.proposers {
            cmd.args(["--proposers", &p.to_string()]);
        }
        if let Some(l) = a.layout.learners {
            cmd.args(["--learners", &l.to_string()]);
        }
        if let Protocol::Raft = a.protocol {
            cmd.args(a.replication.args());
        }
        cmd.args(["--fault-drop", &f.fault_drop.to_string()])
            .args(["--fault-duplicate", &f.fault_duplicate.to_string()])
            .args(["--fault-max-delay-ms", &f.fault_max_delay_ms.to_string()])
            .args(["--fault-seed", &(f.fault_seed.wrapping_add(i as u64)).to_string()])
            .args(
                f.fault_partition_file
                    .iter()
                    .flat_map(|p| [std::ffi::OsStr::new("--fault-partition-file"), p.as_os_str()]),
            );
        children.0.push(spawn_node(&mut cmd, i)?);
    }
    println!("{} cluster of {} nodes on {peers} (data in {})", a.protocol.name(), a.n, a.data_dir.display());
    let (layout, example) = match a.protocol {
        Protocol::Raft => (String::new(), "put x 1"),
        Protocol::Paxos => {
            let flags: Vec<String> = [("--proposers", a.layout.proposers), ("--learners", a.layout.learners)]
                .into_iter()
                .filter_map(|(f, v)| v.map(|v| format!(" {f} {v}")))
                .collect();
            (flags.concat(), "propose x")
        }
    };
    println!("try: {} client --peers {peers} --key-file {}{layout} {example}", exe.display(), key_file.display());
    println!("Ctrl-C stops the cluster");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // Until Ctrl-C, or until a node exits on its own.
    let exited = stop.run(|| {
        for (i, c) in children.0.iter_mut().enumerate() {
            if let Ok(Some(status)) = c.try_wait() {
                if stop.requested() {
                    return Ok(()); // stopping anyway: the loop ends at its next check
                }
                return Err((i, status));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    });
    match exited {
        Ok(()) => {
            drop(children);
            eprintln!("cluster stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err((i, status)) => {
            eprintln!("node {i} exited ({status}); stopping the cluster");
            drop(children);
            Ok(ExitCode::from(1))
        }
    }
}

#[derive(Args)]
pub struct BenchArgs {
    /// raft (paxos has no bench: single-decree Paxos chooses one value)
    protocol: Option<Protocol>,
    /// Concurrent closed-loop clients, each sending its next put when the previous one returns
    #[arg(long, default_value_t = 1)]
    clients: u8,
    /// Puts in total
    #[arg(long, default_value_t = 1000)]
    writes: usize,
    /// Bytes per written value
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// The nodes listen on 127.0.0.1:(P..P+3)
    #[arg(long, default_value_t = 7400)]
    base_port: u16,
    #[command(flatten)]
    replication: ReplicationArgs,
    /// Also print the result as one JSON object on the last line
    #[arg(long)]
    json: bool,
}

/// `quorum bench raft`: a fresh 3-node loopback cluster (fsync on, in a temp directory), closed-
/// loop clients doing puts, each to its own key (`bench-N`); prints committed writes/s and
/// latency percentiles.
pub fn bench(a: BenchArgs) -> ExitCode {
    match a.protocol {
        None => return usage("`quorum bench` needs raft, paxos or check (see `quorum bench --help`)"),
        Some(Protocol::Paxos) => {
            return usage("`quorum bench paxos` is not implemented: single-decree Paxos chooses one value")
        }
        Some(Protocol::Raft) => {}
    }
    if a.clients == 0 || a.clients > 25 {
        return usage(format!("--clients must be between 1 and 25, got {}", a.clients));
    }
    if a.writes == 0 || a.writes > 10_000_000 {
        return usage(format!("--writes must be between 1 and 10000000, got {}", a.writes));
    }
    if a.value_size == 0 || a.value_size > 8192 {
        return usage(format!("--value-size must be between 1 and 8192 bytes, got {}", a.value_size));
    }
    if a.base_port == 0 || a.base_port > u16::MAX - 3 {
        return usage(format!("--base-port {} leaves no room for 3 nodes", a.base_port));
    }
    if let Err(e) = a.replication.check() {
        return usage(e);
    }
    match run_bench(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(format!("{e:#}")),
    }
}

/// `quorum node PROTOCOL --id I --peers P --data-dir D --key-file K --stats-file S`, for
/// `cluster` and `bench` to add their own flags to.
fn node_command(
    exe: &Path,
    protocol: &str,
    i: usize,
    peers: &str,
    data_dir: &Path,
    key_file: &Path,
    stats_file: &Path,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["node", protocol, "--id", &i.to_string(), "--peers", peers])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--key-file")
        .arg(key_file)
        .arg("--stats-file")
        .arg(stats_file);
    cmd
}

/// Starts node `i` with no stdin, in its own process group — a terminal's Ctrl-C reaches only
/// us, and we stop the nodes in order (SIGTERM, then SIGKILL after 3 s) instead of racing their
/// exits — and ended with us if we die.
fn spawn_node(cmd: &mut std::process::Command, i: usize) -> Result<Child> {
    cmd.stdin(std::process::Stdio::null())
        .process_group(0)
        .die_with_parent()
        .spawn()
        .with_context(|| format!("cannot start node {i}"))
}

fn run_bench(a: &BenchArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("quorum-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_file = dir.join("cluster.key");
    let key = ClusterKey::write_new(&key_file)?;
    let servers: Vec<SocketAddr> = (0..3).map(|i| SocketAddr::from(([127, 0, 0, 1], a.base_port + i))).collect();
    let peers = servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let exe = std::env::current_exe().context("cannot find the quorum executable")?;
    let clients = usize::from(a.clients) + 1;
    let mut children = Children(Vec::new());
    for i in 0..3 {
        let stats = dir.join(format!("stats-{i}.json"));
        let mut cmd = node_command(&exe, "raft", i, &peers, &dir.join(format!("node-{i}")), &key_file, &stats);
        cmd.args(["--clients", &clients.to_string()]).args(a.replication.args()).env("RUST_LOG", "warn");
        children.0.push(spawn_node(&mut cmd, i)?);
    }
    // Warm up: the first put waits for the first election.
    let mut warm = RaftClient::new(servers.clone(), key.clone(), a.clients)?;
    warm.put(1, "warm-up", "w").context("the cluster did not come up")?;
    let value = quorum::raft::Value::from(vec![b'v'; a.value_size]);
    let (lat, secs) = closed_loop(usize::from(a.clients), a.writes, |number| {
        let mut c = RaftClient::new(servers.clone(), key.clone(), u8::try_from(number)?)?;
        let (key, value) = (quorum::raft::Key::from(format!("bench-{number}").as_str()), value.clone());
        Ok(move |seq: usize| Ok(c.put(seq as u64 + 1, key.clone(), value.clone())?))
    })?;
    std::thread::sleep(Duration::from_millis(200)); // a last stats write
                                                    // Group commit: the datagrams (requests, acknowledgements) per fsync on each node.
    let fsyncs: Vec<String> = (0..3)
        .filter_map(|i| {
            let text = std::fs::read_to_string(dir.join(format!("stats-{i}.json"))).ok()?;
            let s: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some(format!(
                "node {i} ({}): {} datagrams, {} steps, {} fsyncs, log {}",
                s["status"]["role"].as_str().unwrap_or("?"),
                s["accepted"],
                s["steps"],
                s["saves"],
                s["status"]["log_len"],
            ))
        })
        .collect();
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    let (rate, p50, p99) = rate_p50_p99(&lat, secs);
    println!(
        "raft, 3 nodes on loopback, fsync on, {} closed-loop client(s), {}-byte values: {} puts in {secs:.2} s = {rate:.0} writes/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        a.clients,
        a.value_size,
        lat.len(),
    );
    for line in fsyncs {
        println!("  {line}");
    }
    if a.json {
        let j = serde_json::json!({"system": "quorum raft", "clients": a.clients, "writes": lat.len(),
            "value_size": a.value_size, "seconds": secs, "writes_per_s": rate, "p50_ms": p50, "p99_ms": p99});
        println!("{j}");
    }
    Ok(())
}

/// Child nodes get SIGTERM when the `cluster` or `bench` process dies, even by SIGKILL: they run
/// in their own process group, so nothing else would stop them.
trait DieWithParent {
    fn die_with_parent(&mut self) -> &mut Self;
}

impl DieWithParent for std::process::Command {
    fn die_with_parent(&mut self) -> &mut Self {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe, as pre_exec requires.
        unsafe {
            self.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self
    }
}

/// `quorum bench-http-put` (hidden): the same closed-loop load against an HTTP key-value store —
/// etcd's JSON gateway, `POST /v3/kv/put` — over HTTP/1.1 keep-alive connections, one per
/// client, for the side-by-side in bench/etcd.sh.
#[derive(Args)]
pub struct HttpPutArgs {
    /// host:port of the HTTP endpoint (etcd: a member's client URL, without http://)
    #[arg(long)]
    addr: String,
    /// Concurrent closed-loop clients, each on its own keep-alive connection
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Puts in total
    #[arg(long, default_value_t = 1000)]
    writes: usize,
    /// Bytes per written value
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// The request path
    #[arg(long, default_value = "/v3/kv/put")]
    path: String,
    /// Also print the result as one JSON object on the last line
    #[arg(long)]
    json: bool,
}

/// A closed-loop load: `clients` threads share `writes` operations, each thread running its
/// client's next operation as soon as the last one returned. `client(n)` connects client `n` and
/// returns its operation (given the client's 0-based operation number). Returns every
/// operation's latency, sorted, and the seconds the load took (connections made before).
fn closed_loop<F, Op>(clients: usize, writes: usize, client: F) -> Result<(Vec<Duration>, f64)>
where
    F: Fn(usize) -> Result<Op>,
    Op: FnMut(usize) -> Result<()> + Send + 'static,
{
    let per_client = writes.div_ceil(clients.max(1));
    let ops = (0..clients).map(&client).collect::<Result<Vec<Op>>>()?;
    let started = Instant::now();
    let threads: Vec<_> = ops
        .into_iter()
        .enumerate()
        .map(|(number, mut op)| {
            let todo = writes.saturating_sub(number * per_client).min(per_client);
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let mut lat = Vec::with_capacity(todo);
                for seq in 0..todo {
                    let t = Instant::now();
                    op(seq)?;
                    lat.push(t.elapsed());
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in threads {
        lat.extend(t.join().map_err(|_| anyhow!("a bench client panicked"))??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    Ok((lat, secs))
}

/// Writes per second, and the median and 99th-percentile latency in ms, of sorted latencies.
fn rate_p50_p99(lat: &[Duration], secs: f64) -> (f64, f64, f64) {
    let pct = |p: f64| lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default();
    (lat.len() as f64 / secs, pct(0.50).as_secs_f64() * 1e3, pct(0.99).as_secs_f64() * 1e3)
}

pub fn bench_http_put(a: HttpPutArgs) -> ExitCode {
    if !(1..=256).contains(&a.clients) || a.writes == 0 || !(1..=1 << 20).contains(&a.value_size) {
        return usage("--clients must be 1..=256, --writes at least 1, --value-size 1..=1048576");
    }
    let addr = match a.addr.to_socket_addrs().ok().and_then(|mut i| i.next()) {
        Some(addr) => addr,
        None => return usage(format!("bad --addr '{}' (expected HOST:PORT)", a.addr)),
    };
    match run_http_put(&a, addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(format!("{e:#}")),
    }
}

fn run_http_put(a: &HttpPutArgs, addr: SocketAddr) -> Result<()> {
    let value = base64(&vec![b'v'; a.value_size]);
    // Warm up one connection (and fail early if the server is not there).
    HttpConn::connect(addr)?.post(&a.addr, &a.path, &put_body(0, 0, &value)).context("warm-up put")?;
    let (lat, secs) = closed_loop(a.clients, a.writes, |number| {
        let mut conn = HttpConn::connect(addr)?;
        let (host, path, value) = (a.addr.clone(), a.path.clone(), value.clone());
        Ok(move |seq: usize| conn.post(&host, &path, &put_body(number, seq, &value)))
    })?;
    let (rate, p50, p99) = rate_p50_p99(&lat, secs);
    println!(
        "http put {}{}, {} closed-loop client(s) on keep-alive connections, {}-byte values: {} puts in {secs:.2} s = {rate:.0} writes/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        a.addr, a.path, a.clients, a.value_size, lat.len()
    );
    if a.json {
        let j = serde_json::json!({"system": format!("http {}", a.addr), "clients": a.clients, "writes": lat.len(),
            "value_size": a.value_size, "seconds": secs, "writes_per_s": rate, "p50_ms": p50, "p99_ms": p99});
        println!("{j}");
    }
    Ok(())
}

/// etcd's JSON gateway takes keys and values base64-encoded. One key per client.
fn put_body(client: usize, _seq: usize, value_b64: &str) -> String {
    format!(r#"{{"key":"{}","value":"{value_b64}"}}"#, base64(format!("bench-{client}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4), as etcd's gateway wants it.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One HTTP/1.1 keep-alive connection: a request, then its whole response (Content-Length or
/// chunked), status 200 required.
struct HttpConn {
    reader: std::io::BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl HttpConn {
    fn connect(addr: SocketAddr) -> Result<HttpConn> {
        let s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("cannot connect to {addr}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(HttpConn { reader: std::io::BufReader::new(s.try_clone()?), writer: s })
    }

    fn post(&mut self, host: &str, path: &str, body: &str) -> Result<()> {
        use std::io::{BufRead, Read, Write};
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(req.as_bytes()).context("send the request")?;
        let mut line = String::new();
        self.reader.read_line(&mut line).context("read the status line")?;
        let status = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.reader.read_line(&mut line).context("read a header")? == 0 {
                bail!("the connection closed in the headers");
            }
            let h = line.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                if name == "content-length" {
                    length = value.parse::<usize>().ok();
                } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).context("read a chunk size")?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| anyhow!("bad chunk size {line:?}"))?;
                let mut chunk = vec![0u8; size + 2];
                self.reader.read_exact(&mut chunk).context("read a chunk")?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body).context("read the body")?;
        } else {
            bail!("a response with neither Content-Length nor chunked encoding");
        }
        if status != "200" {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, coded) in cases {
            assert_eq!(super::base64(plain.as_bytes()), coded);
        }
    }
}
