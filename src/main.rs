//! The `quorum` command line. Exit codes: 0 every property as expected, 1 a property violated
//! (the counterexample is printed as numbered steps), 2 bad input.

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use quorum::check::{self, CheckOptions, CheckReport, Strategy};
use quorum::protocol::{self, Chosen, Configured};
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
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(protocol::names()))]
        protocol: String,
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
enum StrategyArg {
    Dfs,
    Bfs,
    Simulation,
}

/// `quorum check PROTOCOL [its flags]`: the options below apply to every protocol.
#[derive(Args)]
struct CheckArgs {
    #[command(subcommand)]
    protocol: Chosen,
    /// dfs: exhaustive with symmetry; bfs: shortest counterexamples [default: dfs, bfs with --bug]
    #[arg(long, value_enum, global = true, help_heading = "Checking")]
    strategy: Option<StrategyArg>,
    /// Checker threads [default: available cores]
    #[arg(long, global = true, help_heading = "Checking")]
    threads: Option<usize>,
    /// Turn off symmetry reduction (over acceptors for paxos, over servers for raft)
    #[arg(long, global = true, help_heading = "Checking")]
    no_symmetry: bool,
    /// Stop after this many seconds (the report then says complete: false) [default: none, 10 for simulation]
    #[arg(long, value_name = "SECONDS", global = true, help_heading = "Checking")]
    timeout: Option<u64>,
    /// Seed of the simulation strategy
    #[arg(long, default_value_t = 0, global = true, help_heading = "Checking")]
    seed: u64,
    /// Print the report as one JSON object on the last line of stdout
    #[arg(long, global = true, help_heading = "Checking")]
    json: bool,
    /// Write the first counterexample as an SVG message-sequence diagram to FILE
    #[arg(long, value_name = "FILE", global = true, help_heading = "Checking")]
    svg: Option<std::path::PathBuf>,
}

/// `quorum explore PROTOCOL [its flags]`.
#[derive(Args)]
struct ExploreArgs {
    #[command(subcommand)]
    protocol: Chosen,
    /// Address to serve the Explorer on
    #[arg(long, default_value = "127.0.0.1:3000", global = true, help_heading = "Explorer")]
    addr: String,
}

/// Bad input: reported on stderr, exit code 2.
struct Usage(String);

/// The configuration `chosen` asks for, with its `--bug`.
fn configure(chosen: &Chosen) -> Result<(Box<dyn Configured>, bool), Usage> {
    let cfg = chosen.door().configure(&chosen.matches).map_err(Usage)?;
    Ok((cfg, chosen.matches.get_one::<String>("bug").is_some()))
}

fn check(a: &CheckArgs) -> Result<(CheckReport, Box<dyn Configured>), Usage> {
    let (cfg, bug) = configure(&a.protocol)?;
    if let Some(n) = a.threads.filter(|n| !(1..=256).contains(n)) {
        return Err(Usage(format!("--threads must be between 1 and 256, got {n}")));
    }
    let strategy = match (a.strategy, bug) {
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
        stop_at_first_failure: bug,
        timeout,
        seed: a.seed,
        progress: Some(Duration::from_secs(2)),
        shortest: true,
    };
    eprintln!("checking {}: {}; strategy {:?}", cfg.protocol(), cfg.describe(), strategy);
    Ok((cfg.check(&opts), cfg))
}

/// Serves the Explorer until the process is stopped. With `--bug`, first finds a shortest
/// counterexample and prints the Explorer link to its last state.
fn explore(a: &ExploreArgs) -> Result<Result<(), Usage>> {
    let (cfg, bug) = match configure(&a.protocol) {
        Ok(c) => c,
        Err(u) => return Ok(Err(u)),
    };
    // Bind once ourselves so that a bad or busy address is a clear error, not a panic inside
    // Stateright's server.
    match std::net::TcpListener::bind(&a.addr) {
        Ok(listener) => drop(listener),
        Err(e) => return Ok(Err(Usage(format!("cannot serve on {}: {e}", a.addr)))),
    }
    let url = format!("http://{}", a.addr);
    if bug {
        let opts = CheckOptions { strategy: Strategy::Bfs, stop_at_first_failure: true, ..CheckOptions::default() };
        let report = cfg.check(&opts);
        for p in report.properties.iter().filter(|p| p.status == check::Status::Violated) {
            println!("counterexample for \"{}\" ({} steps): {url}/#/steps/{}", p.name, p.trace.len(), p.explorer_path);
        }
    }
    println!("exploring {}: {}", cfg.protocol(), cfg.describe());
    println!("Explorer: {url}/");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    cfg.serve(a.addr.as_str(), threads);
    Ok(Ok(()))
}

fn bugs(name: &str, json: bool) -> Result<()> {
    let list = protocol::find(name).map(|d| d.bugs()).unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string(&list)?);
    } else {
        for b in list {
            println!("{:<28} breaks {:<28} {}", b.name, format!("\"{}\"", b.breaks), b.why);
        }
    }
    Ok(())
}

/// Parses the command line. A flag that the named protocol lacks but another has gets a hint
/// ("--acceptors applies to paxos, not raft").
fn parse() -> Result<Cli, ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => Ok(cli),
        Err(e) => {
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            if e.kind() == ErrorKind::UnknownArgument {
                let named = args.iter().filter_map(|a| a.to_str()).find(|a| protocol::find(a).is_some());
                if let (Some(ContextValue::String(flag)), Some(named)) = (e.get(ContextKind::InvalidArg), named) {
                    let others = protocol::protocols_with_flag(flag);
                    if !others.is_empty() {
                        let flag = flag.split('=').next().unwrap_or(flag);
                        eprintln!("error: {flag} applies to {}, not {named}", others.join(" and "));
                        return Err(ExitCode::from(2));
                    }
                }
            }
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            Err(ExitCode::from(code))
        }
    }
}

fn main() -> Result<ExitCode> {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return Ok(code),
    };
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
            bugs(&protocol, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explore(a) => match explore(&a)? {
            Err(Usage(msg)) => {
                eprintln!("error: {msg}");
                Ok(ExitCode::from(2))
            }
            Ok(()) => Ok(ExitCode::SUCCESS),
        },
        Command::Check(a) => match check(&a) {
            Err(Usage(msg)) => {
                eprintln!("error: {msg}");
                Ok(ExitCode::from(2))
            }
            Ok((report, cfg)) => {
                print!("{}", check::render(&report));
                if a.json {
                    println!("{}", serde_json::to_string(&report)?);
                }
                if let Some(file) = &a.svg {
                    if let Err(code) = teach_cli::check_svg(&report, file, |path, title| cfg.svg(path, title)) {
                        return Ok(code);
                    }
                }
                Ok(if report.as_expected() { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
        },
    }
}
