//! `quorum node`, `quorum cluster` and `quorum keygen`: one node of a real cluster, a local
//! cluster of node processes, a cluster key. Also what every runtime command shares: the protocol
//! argument, found among the hosted protocols ([`quorum::runtime::door::hosted`]), the protocols'
//! own flags side by side, `--peers`. Exit codes: 0 success, 1 a node failed while running, 2
//! bad input (flags, addresses, key or storage files).

use super::process::{spawn_node, Children};
use super::{and_list, failed, usage};
use anyhow::{anyhow, bail, Context, Result};
use clap::builder::PossibleValuesParser;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use quorum::runtime::door::{self, flags_of, Runtime};
use quorum::runtime::faults::FaultCfg;
use quorum::runtime::storage::StorageError;
use quorum::runtime::wire::ClusterKey;
use quorum::runtime::{NodeCfg, NodeError, Stop};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Client numbers a node accepts by default (`node --clients`), and so what `client` assumes.
pub const DEFAULT_CLIENTS: usize = 8;
/// The most client numbers a node accepts (`node --clients`, `client --clients`).
pub const MAX_CLIENTS: usize = 26;

/// The protocol argument of the runtime commands: a hosted protocol's name.
pub fn protocol_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(door::hosted().iter().map(|r| r.name()).collect::<Vec<_>>())
}

/// The hosted protocol `name` (clap admits only hosted names).
pub fn runtime(name: &str) -> &'static dyn Runtime {
    door::find(name).expect("clap admits only hosted protocols")
}

/// The node flags of every hosted protocol (`Hosting::NodeFlags`) side by side, each marked with
/// its protocol in the help; the chosen protocol reads its own from [`ProtocolFlags::matches`] and
/// [`refuse_foreign`] refuses the others'. `BENCH`: only those of protocols `quorum bench` runs.
#[derive(Clone, Debug)]
pub struct ProtocolFlags<const BENCH: bool> {
    pub matches: ArgMatches,
}

/// The node flags of `quorum node` and `quorum cluster`.
pub type NodeFlags = ProtocolFlags<false>;
/// The node flags of `quorum bench`.
pub type BenchFlags = ProtocolFlags<true>;

impl<const BENCH: bool> ProtocolFlags<BENCH> {
    fn protocols() -> impl Iterator<Item = &'static dyn Runtime> {
        door::hosted().into_iter().filter(|r| !BENCH || r.bench().is_ok())
    }
}

impl<const BENCH: bool> clap::FromArgMatches for ProtocolFlags<BENCH> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(ProtocolFlags { matches: m.clone() })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.matches = m.clone();
        Ok(())
    }
}

impl<const BENCH: bool> Args for ProtocolFlags<BENCH> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Self::protocols().fold(cmd, |cmd, r| r.node_flags(cmd))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The flags (of those `flags` gives each protocol) that another protocol has, `chosen` lacks and
/// the command line sets, with that protocol.
pub fn foreign(
    chosen: &dyn Runtime,
    m: &ArgMatches,
    flags: impl Fn(&dyn Runtime, clap::Command) -> clap::Command,
) -> Option<(Vec<String>, &'static dyn Runtime)> {
    let own: Vec<String> = flags_of(|c| flags(chosen, c)).into_iter().map(|(id, _)| id).collect();
    door::hosted().into_iter().filter(|r| r.name() != chosen.name()).find_map(|other| {
        let given: Vec<String> = flags_of(|c| flags(other, c))
            .into_iter()
            .filter(|(id, _)| !own.contains(id) && given_on_command_line(m, id))
            .map(|(_, long)| long)
            .collect();
        (!given.is_empty()).then_some((given, other))
    })
}

/// Whether the flag `id` is the command's and the command line sets it. (A command that does not
/// have the flag cannot have been given it; clap's debug builds panic on asking it of one.)
fn given_on_command_line(m: &ArgMatches, id: &str) -> bool {
    m.ids().any(|known| known.as_str() == id) && m.value_source(id) == Some(ValueSource::CommandLine)
}

/// "--proposers and --learners apply to paxos, not raft".
pub fn refuse_foreign(chosen: &dyn Runtime, m: &ArgMatches) -> Result<(), String> {
    match foreign(chosen, m, |r, c| r.node_flags(c)) {
        None => Ok(()),
        Some((given, other)) => {
            let verb = if given.len() == 1 { "applies" } else { "apply" };
            Err(format!("{} {verb} to {}, not {}", and_list(&given), other.name(), chosen.name()))
        }
    }
}

#[derive(Args)]
pub struct NodeArgs {
    #[arg(value_parser = protocol_parser())]
    protocol: String,
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
    /// Write counters and status as JSON to this file every 100 ms
    #[arg(long)]
    stats_file: Option<PathBuf>,
    #[command(flatten)]
    flags: NodeFlags,
    #[command(flatten)]
    faults: FaultArgs,
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
    #[arg(value_parser = protocol_parser())]
    protocol: String,
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
    flags: NodeFlags,
    #[command(flatten)]
    faults: FaultArgs,
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
    let runtime = runtime(&a.protocol);
    if let Err(e) = refuse_foreign(runtime, &a.flags.matches) {
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
    let node = match runtime.node(&a.flags.matches, a.id, servers.len(), a.clients) {
        Ok(node) => node,
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
    let cfg =
        NodeCfg { id: a.id, servers, clients: a.clients, data_dir: a.data_dir, key, stats_file: a.stats_file, faults };
    match node(&cfg, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        // Bad input: the address or the files on disk. Never start from scratch instead.
        Err(e @ (NodeError::BadId { .. } | NodeError::Bind { .. })) => usage(e),
        Err(NodeError::Storage(e @ StorageError::Io { .. })) => failed(e),
        Err(e @ NodeError::Storage(_)) => usage(format!("{e}; the node will not start from an empty state")),
        Err(e) => failed(e),
    }
}

pub fn keygen(file: &Path, pbft_replicas: Option<u8>) -> ExitCode {
    if let Some(n) = pbft_replicas {
        return match quorum::runtime::signing::ReplicaKeys::write_new(file, usize::from(n)) {
            Ok(()) => {
                println!("wrote {n} PBFT replicas' signing keys to {}", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => usage(e),
        };
    }
    match ClusterKey::write_new(file) {
        Ok(_) => {
            println!("wrote a new cluster key to {}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => usage(e),
    }
}

/// `quorum node PROTOCOL --id I --peers P --data-dir D --key-file K --stats-file S`, for
/// `cluster` and `bench` to add their own flags to.
pub fn node_command(
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

/// Starts `n` nodes as child processes and waits for Ctrl-C (or SIGTERM), then stops them with
/// SIGTERM (and SIGKILL after 3 s). If a node exits on its own, the others are stopped too.
pub fn cluster(a: ClusterArgs) -> ExitCode {
    let runtime = runtime(&a.protocol);
    if let Err(e) = refuse_foreign(runtime, &a.flags.matches) {
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
    // The files the nodes need (PBFT: signing keys) are written, and the protocol's flags must
    // fit `n` servers (Paxos: room for an acceptor), before any node starts.
    let node_args = match runtime.cluster_args(&a.flags.matches, &a.data_dir, a.n, DEFAULT_CLIENTS) {
        Ok(args) => args,
        Err(e) => return usage(e),
    };
    match run_cluster(&a, runtime, last_port, &fault, &node_args) {
        Ok(code) => code,
        Err(e) => failed(format!("{e:#}")),
    }
}

fn run_cluster(
    a: &ClusterArgs,
    runtime: &dyn Runtime,
    last_port: u16,
    f: &FaultArgs,
    node_args: &[String],
) -> Result<ExitCode> {
    let key_file = a.data_dir.join("cluster.key");
    if !key_file.exists() {
        ClusterKey::write_new(&key_file)?;
    }
    let peers: Vec<String> = (a.base_port..=last_port).map(|p| format!("127.0.0.1:{p}")).collect();
    let peers = peers.join(",");
    let exe = std::env::current_exe().context("cannot find the quorum executable")?;
    let example = runtime.example(&a.flags.matches).map_err(|e| anyhow!(e))?;
    let stop = stop_flag()?;
    let mut children = Children::default();
    for i in 0..a.n {
        let dir = a.data_dir.join(format!("node-{i}"));
        let mut cmd = node_command(&exe, runtime.name(), i, &peers, &dir, &key_file, &dir.join("stats.json"));
        cmd.args(node_args)
            .args(["--fault-drop", &f.fault_drop.to_string()])
            .args(["--fault-duplicate", &f.fault_duplicate.to_string()])
            .args(["--fault-max-delay-ms", &f.fault_max_delay_ms.to_string()])
            .args(["--fault-seed", &(f.fault_seed.wrapping_add(i as u64)).to_string()])
            .args(
                f.fault_partition_file
                    .iter()
                    .flat_map(|p| [std::ffi::OsStr::new("--fault-partition-file"), p.as_os_str()]),
            );
        children.push(spawn_node(&mut cmd, i)?);
    }
    println!("{} cluster of {} nodes on {peers} (data in {})", runtime.name(), a.n, a.data_dir.display());
    println!("try: {} client --peers {peers} --key-file {} {example}", exe.display(), key_file.display());
    println!("Ctrl-C stops the cluster");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // Until Ctrl-C, or until a node exits on its own.
    let exited = stop.run(|| {
        for (i, c) in children.iter_mut() {
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
