//! The `quorum` command line. Exit codes: 0 every property as expected, 1 a property violated
//! (the counterexample is printed as numbered steps), 2 bad input.

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use quorum::bugs::PlantedBug;
use quorum::check::{self, CheckOptions, CheckReport, Strategy};
use quorum::paxos::model::{bug_config, NetworkKind, PaxosModelCfg};
use quorum::paxos::Bug;
use quorum::raft::model::RaftModelCfg;
use stateright::Model;
use std::process::ExitCode;
use std::time::Duration;

mod bench_check;
mod runtime_cli;
mod teach_cli;

/// The checker allocates and frees a state per transition: mimalloc makes that markedly cheaper
/// than the system allocator (docs/performance.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "quorum", version, about = "Consensus protocols as pure actors, exhaustively model-checked")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Model-check a protocol within a bound and report every property.
    Check(CheckArgs),
    /// Serve Stateright's Explorer for a protocol's model, to step through it in a browser.
    Explore(ExploreArgs),
    /// List the planted bugs of a protocol and the property each must break.
    Bugs {
        protocol: Protocol,
        #[arg(long)]
        json: bool,
    },
    /// Run one node of a real cluster: the same actor as in the model, over authenticated UDP,
    /// with its state fsynced in --data-dir.
    Node(runtime_cli::NodeArgs),
    /// Start a local cluster of `quorum node` processes on 127.0.0.1; Ctrl-C stops them all.
    Cluster(runtime_cli::ClusterArgs),
    /// Talk to a running cluster. Raft's state machine is a key-value map (keys and values are
    /// text, taken verbatim): `put K V` sets K to V, `get K` prints K's value or exits 3 if K was
    /// never written. Paxos: `propose V` prints the single chosen value.
    Client(runtime_cli::ClientArgs),
    /// Write a fresh random cluster key (64 hex digits) to FILE, which must not exist.
    Keygen { file: std::path::PathBuf },
    /// Closed-loop puts against a fresh local 3-node cluster (fsync on): writes/s, p50, p99;
    /// `bench check`: model-checking speed against Stateright's own examples.
    Bench(bench_check::BenchCli),
    /// The same load against an HTTP key-value store (etcd's JSON gateway), for bench/etcd.sh.
    #[command(hide = true)]
    BenchHttpPut(runtime_cli::HttpPutArgs),
    /// Replay a named classic situation step by step (`quorum scenario list` names them).
    Scenario(teach_cli::ScenarioArgs),
    /// Regenerate generated parts of the docs (docs/diagrams).
    #[command(hide = true, subcommand)]
    Docs(teach_cli::DocsCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum Protocol {
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

#[derive(Clone, Copy, ValueEnum)]
enum StrategyArg {
    Dfs,
    Bfs,
    Simulation,
}

#[derive(Clone, Copy, ValueEnum)]
enum NetworkArg {
    UnorderedDuplicating,
    UnorderedNonduplicating,
    Ordered,
}

#[derive(Args)]
struct CheckArgs {
    protocol: Protocol,
    #[command(flatten)]
    model: ModelArgs,
    /// dfs: exhaustive with symmetry; bfs: shortest counterexamples [default: dfs, bfs with --bug]
    #[arg(long, value_enum)]
    strategy: Option<StrategyArg>,
    /// Checker threads [default: available cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Turn off symmetry reduction over acceptors
    #[arg(long)]
    no_symmetry: bool,
    /// Stop after this many seconds (the report then says complete: false) [default: none, 10 for simulation]
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Seed of the simulation strategy
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the report as one JSON object on the last line of stdout
    #[arg(long)]
    json: bool,
    /// Write the first counterexample as an SVG message-sequence diagram to FILE
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
}

#[derive(Args)]
struct ExploreArgs {
    protocol: Protocol,
    #[command(flatten)]
    model: ModelArgs,
    /// Address to serve the Explorer on
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
}

/// The model's configuration, shared by `check` and `explore`. Flags marked (paxos) or (raft)
/// apply to that protocol only.
#[derive(Args)]
struct ModelArgs {
    /// (raft) Number of servers [default: 3]
    #[arg(long)]
    servers: Option<usize>,
    /// (raft) Operations per client: Put, then Get, then Put … [default: 1]
    #[arg(long)]
    requests: Option<u8>,
    /// (raft) Keys the clients use: with several, each client writes its own and reads the
    /// next one's [default: 1]
    #[arg(long)]
    keys: Option<u8>,
    /// (raft) Highest term a server may reach [default: 2]
    #[arg(long)]
    max_term: Option<u8>,
    /// (raft) Longest log a server may hold [default: no bound but the requests]
    #[arg(long)]
    max_log: Option<u8>,
    /// (paxos) Number of proposers [default: 2]
    #[arg(long)]
    proposers: Option<usize>,
    /// (paxos) Number of acceptors [default: 3]
    #[arg(long)]
    acceptors: Option<usize>,
    /// (paxos) Number of learners [default: 1]
    #[arg(long)]
    learners: Option<usize>,
    /// Number of clients (paxos: 0 lets each proposer propose its own value) [default: paxos 2, raft 1]
    #[arg(long)]
    clients: Option<usize>,
    /// (paxos) Highest ballot round a proposer may start [default: 2]
    #[arg(long)]
    max_round: Option<u8>,
    /// paxos: actors down at once (acceptors, and learners with --crash-learners); raft: server crash-restarts in total [default: 1]
    #[arg(long)]
    crashes: Option<usize>,
    /// (paxos) Let learners crash and restart too
    #[arg(long)]
    crash_learners: bool,
    /// (paxos) Proposer crash-restarts in total (a restarted proposer keeps only its round) [default: 0]
    #[arg(long)]
    proposer_crashes: Option<u8>,
    /// (paxos) Learner crash-restarts in total (a restarted learner keeps only what it learned) [default: 0]
    #[arg(long)]
    learner_crashes: Option<u8>,
    /// (paxos) The network's guarantees [default: unordered-duplicating; raft always duplicates]
    #[arg(long, value_enum)]
    network: Option<NetworkArg>,
    /// The network may also lose messages (drops the liveness property)
    #[arg(long)]
    lossy: bool,
    /// Plant a bug (see `quorum bugs PROTOCOL`); unset flags then default to the bug's smallest bound
    #[arg(long, value_name = "NAME")]
    bug: Option<String>,
    /// (raft) Eager replication, as the runtime runs: AppendEntries on each request and each
    /// acknowledgement, not only on heartbeats
    #[arg(long)]
    eager: bool,
    /// (raft) Log entries per AppendEntries [default: 1]
    #[arg(long)]
    max_batch: Option<usize>,
    /// (raft) Leaders write new entries to disk in parallel with sending them, as the runtime does
    #[arg(long)]
    parallel_persist: bool,
    /// (raft) An on-path adversary may deliver a copy of any message between servers to any other
    /// server, its sender unchanged (a wire that does not bind datagrams to their receiver)
    #[arg(long)]
    redirects: bool,
    /// (raft) Pre-vote (Ongaro §9.6), as the runtime runs: a server asks whether a majority would
    /// vote for it before it raises its term
    #[arg(long)]
    pre_vote: bool,
    /// (raft) Check-quorum and the leader lease (Ongaro §6.2, §9.6), as the runtime runs: a leader
    /// without a majority steps down; a server that hears from a leader ignores vote requests
    #[arg(long)]
    check_quorum: bool,
    /// (raft) Leaders believe a mismatch at or below a follower's matchIndex and repair the
    /// follower, as the runtime does
    #[arg(long)]
    repair: bool,
}

/// Bad input: reported on stderr, exit code 2.
struct Usage(String);

fn paxos_cfg(a: &ModelArgs) -> Result<PaxosModelCfg, Usage> {
    for (set, flag) in [
        (a.servers.is_some(), "--servers"),
        (a.requests.is_some(), "--requests"),
        (a.keys.is_some(), "--keys"),
        (a.max_term.is_some(), "--max-term"),
        (a.max_log.is_some(), "--max-log"),
        (a.eager, "--eager"),
        (a.max_batch.is_some(), "--max-batch"),
        (a.parallel_persist, "--parallel-persist"),
        (a.redirects, "--redirects"),
        (a.pre_vote, "--pre-vote"),
        (a.check_quorum, "--check-quorum"),
        (a.repair, "--repair"),
    ] {
        if set {
            return Err(Usage(format!("{flag} applies to raft, not paxos")));
        }
    }
    let mut cfg = match &a.bug {
        None => PaxosModelCfg::default(),
        Some(name) => match Bug::from_name(name) {
            Some(bug) => bug_config(bug),
            None => {
                let names: Vec<_> = Bug::ALL.iter().map(|b| b.name()).collect();
                return Err(Usage(format!("unknown bug '{name}'; the Paxos bugs are: {}", names.join(", "))));
            }
        },
    };
    cfg.proposers = a.proposers.unwrap_or(cfg.proposers);
    cfg.acceptors = a.acceptors.unwrap_or(cfg.acceptors);
    cfg.learners = a.learners.unwrap_or(cfg.learners);
    cfg.clients = a.clients.unwrap_or(cfg.clients);
    cfg.max_round = a.max_round.unwrap_or(cfg.max_round);
    cfg.crashes = a.crashes.unwrap_or(cfg.crashes);
    cfg.crash_learners |= a.crash_learners;
    cfg.proposer_crashes = a.proposer_crashes.unwrap_or(cfg.proposer_crashes);
    cfg.learner_crashes = a.learner_crashes.unwrap_or(cfg.learner_crashes);
    cfg.lossy |= a.lossy;
    if let Some(n) = a.network {
        cfg.network = match n {
            NetworkArg::UnorderedDuplicating => NetworkKind::UnorderedDuplicating,
            NetworkArg::UnorderedNonduplicating => NetworkKind::UnorderedNonduplicating,
            NetworkArg::Ordered => NetworkKind::Ordered,
        };
    }
    cfg.validate().map_err(|e| Usage(format!("invalid configuration: {e}")))?;
    Ok(cfg)
}

fn raft_cfg(a: &ModelArgs) -> Result<RaftModelCfg, Usage> {
    for (set, flag) in [
        (a.proposers.is_some(), "--proposers"),
        (a.acceptors.is_some(), "--acceptors"),
        (a.learners.is_some(), "--learners"),
        (a.max_round.is_some(), "--max-round"),
        (a.crash_learners, "--crash-learners"),
        (a.proposer_crashes.is_some(), "--proposer-crashes"),
        (a.learner_crashes.is_some(), "--learner-crashes"),
        (a.network.is_some(), "--network"),
    ] {
        if set {
            return Err(Usage(format!("{flag} applies to paxos, not raft")));
        }
    }
    use quorum::raft::Bug as RaftBug;
    let mut cfg = match &a.bug {
        None => RaftModelCfg::default(),
        Some(name) => match RaftBug::from_name(name) {
            Some(bug) => quorum::raft::model::bug_config(bug),
            None => {
                let names: Vec<_> = RaftBug::ALL.iter().map(|b| b.name()).collect();
                return Err(Usage(format!("unknown bug '{name}'; the Raft bugs are: {}", names.join(", "))));
            }
        },
    };
    cfg.servers = a.servers.unwrap_or(cfg.servers);
    cfg.clients = a.clients.unwrap_or(cfg.clients);
    cfg.requests = a.requests.unwrap_or(cfg.requests);
    cfg.keys = a.keys.unwrap_or(cfg.keys);
    cfg.max_term = a.max_term.map_or(cfg.max_term, u64::from);
    cfg.max_log = a.max_log.map(u64::from).or(cfg.max_log);
    cfg.crashes = a.crashes.unwrap_or(cfg.crashes);
    cfg.lossy |= a.lossy;
    cfg.eager |= a.eager;
    cfg.max_batch = a.max_batch.unwrap_or(cfg.max_batch);
    cfg.parallel_persist |= a.parallel_persist;
    cfg.redirects |= a.redirects;
    cfg.pre_vote |= a.pre_vote;
    cfg.check_quorum |= a.check_quorum;
    cfg.repair |= a.repair;
    cfg.validate().map_err(|e| Usage(format!("invalid configuration: {e}")))?;
    Ok(cfg)
}

/// A protocol's configuration, ready to check or explore.
enum Cfg {
    Paxos(PaxosModelCfg),
    Raft(RaftModelCfg),
}

impl Cfg {
    fn parse(protocol: Protocol, a: &ModelArgs) -> Result<Cfg, Usage> {
        match protocol {
            Protocol::Paxos => paxos_cfg(a).map(Cfg::Paxos),
            Protocol::Raft => raft_cfg(a).map(Cfg::Raft),
        }
    }

    fn describe(&self) -> String {
        match self {
            Cfg::Paxos(c) => c.describe(),
            Cfg::Raft(c) => c.describe(),
        }
    }

    fn check(&self, opts: &CheckOptions) -> CheckReport {
        match self {
            Cfg::Paxos(c) => c.check(opts),
            Cfg::Raft(c) => c.check(opts),
        }
    }

    /// The diagram of the path the Explorer encodes as `encoded`.
    fn svg(&self, encoded: &str, title: &str) -> Option<String> {
        match self {
            Cfg::Paxos(c) => quorum::diagram::from_encoded(c, encoded, title),
            Cfg::Raft(c) => quorum::diagram::from_encoded(c, encoded, title),
        }
    }

    /// Serves the Explorer; returns only if the server stops.
    fn serve(self, addr: &str, threads: usize) {
        match self {
            Cfg::Paxos(c) => {
                c.into_model().checker().threads(threads).serve(addr);
            }
            Cfg::Raft(c) => {
                c.into_model().checker().threads(threads).serve(addr);
            }
        }
    }
}

fn check(a: &CheckArgs) -> Result<Result<CheckReport, Usage>> {
    let cfg = match Cfg::parse(a.protocol, &a.model) {
        Ok(cfg) => cfg,
        Err(u) => return Ok(Err(u)),
    };
    if let Some(n) = a.threads.filter(|n| !(1..=256).contains(n)) {
        return Ok(Err(Usage(format!("--threads must be between 1 and 256, got {n}"))));
    }
    let strategy = match (a.strategy, a.model.bug.is_some()) {
        (Some(StrategyArg::Dfs), _) | (None, false) => Strategy::Dfs,
        (Some(StrategyArg::Bfs), _) | (None, true) => Strategy::Bfs,
        (Some(StrategyArg::Simulation), _) => Strategy::Simulation,
    };
    let timeout = match (a.timeout, strategy) {
        (Some(s), _) => Some(Duration::from_secs(s)),
        (None, Strategy::Simulation) => Some(Duration::from_secs(10)),
        (None, _) => None,
    };
    let opts = CheckOptions {
        strategy,
        threads: a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        symmetry: !a.no_symmetry,
        stop_at_first_failure: a.model.bug.is_some(),
        timeout,
        seed: a.seed,
        progress: Some(Duration::from_secs(2)),
        shortest: true,
    };
    eprintln!("checking {}: {}; strategy {:?}", a.protocol.name(), cfg.describe(), strategy);
    Ok(Ok(cfg.check(&opts)))
}

/// Serves the Explorer until the process is stopped. With `--bug`, first finds a shortest
/// counterexample and prints the Explorer link to its last state.
fn explore(a: &ExploreArgs) -> Result<Result<(), Usage>> {
    let cfg = match Cfg::parse(a.protocol, &a.model) {
        Ok(cfg) => cfg,
        Err(u) => return Ok(Err(u)),
    };
    // Bind once ourselves so that a bad or busy address is a clear error, not a panic inside
    // Stateright's server.
    match std::net::TcpListener::bind(&a.addr) {
        Ok(listener) => drop(listener),
        Err(e) => return Ok(Err(Usage(format!("cannot serve on {}: {e}", a.addr)))),
    }
    let url = format!("http://{}", a.addr);
    if a.model.bug.is_some() {
        let opts = CheckOptions { strategy: Strategy::Bfs, stop_at_first_failure: true, ..CheckOptions::default() };
        let report = cfg.check(&opts);
        for p in report.properties.iter().filter(|p| p.status == check::Status::Violated) {
            println!("counterexample for \"{}\" ({} steps): {url}/#/steps/{}", p.name, p.trace.len(), p.explorer_path);
        }
    }
    println!("exploring {}: {}", a.protocol.name(), cfg.describe());
    println!("Explorer: {url}/");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    cfg.serve(a.addr.as_str(), threads);
    Ok(Ok(()))
}

fn bugs<B: PlantedBug>(json: bool) -> Result<()> {
    if json {
        let list: Vec<_> = B::LIST
            .iter()
            .map(|b| serde_json::json!({"name": b.name(), "breaks": b.breaks(), "why": b.why()}))
            .collect();
        println!("{}", serde_json::to_string(&list)?);
    } else {
        for b in B::LIST {
            println!("{:<28} breaks {:<28} {}", b.name(), format!("\"{}\"", b.breaks()), b.why());
        }
    }
    Ok(())
}

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Node(a) => Ok(runtime_cli::node(a)),
        Command::Cluster(a) => Ok(runtime_cli::cluster(a)),
        Command::Client(a) => Ok(runtime_cli::client(a)),
        Command::Keygen { file } => Ok(runtime_cli::keygen(&file)),
        Command::Bench(a) => Ok(bench_check::dispatch(a)),
        Command::BenchHttpPut(a) => Ok(runtime_cli::bench_http_put(a)),
        Command::Scenario(a) => Ok(teach_cli::scenario(a)),
        Command::Docs(c) => Ok(teach_cli::docs(c)),
        Command::Bugs { protocol, json } => {
            match protocol {
                Protocol::Paxos => bugs::<Bug>(json)?,
                Protocol::Raft => bugs::<quorum::raft::Bug>(json)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explore(a) => match explore(&a)? {
            Err(Usage(msg)) => {
                eprintln!("error: {msg}");
                Ok(ExitCode::from(2))
            }
            Ok(()) => Ok(ExitCode::SUCCESS),
        },
        Command::Check(a) => match check(&a)? {
            Err(Usage(msg)) => {
                eprintln!("error: {msg}");
                Ok(ExitCode::from(2))
            }
            Ok(report) => {
                print!("{}", check::render(&report));
                if a.json {
                    println!("{}", serde_json::to_string(&report)?);
                }
                if let (Some(file), Ok(cfg)) = (&a.svg, Cfg::parse(a.protocol, &a.model)) {
                    if let Err(code) = teach_cli::check_svg(&report, file, |path, title| cfg.svg(path, title)) {
                        return Ok(code);
                    }
                }
                Ok(if report.as_expected() { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
        },
    }
}
