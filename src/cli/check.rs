//! `quorum check`, `quorum explore` and `quorum bugs`: the model checker, Stateright's Explorer and
//! the planted bugs, for any protocol of the registry ([`quorum::protocol::PROTOCOLS`]). Exit
//! codes: 0 every property as expected, 1 a property violated (the counterexample is printed as
//! numbered steps), 2 bad input.

use anyhow::Result;
use clap::{Args, ValueEnum};
use quorum::check::{self, CheckOptions, CheckReport, Strategy};
use quorum::protocol::{self, Chosen, Configured};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, ValueEnum)]
enum StrategyArg {
    Dfs,
    Bfs,
    Simulation,
}

/// `quorum check PROTOCOL [its flags]`: the options below apply to every protocol.
#[derive(Args)]
pub struct CheckArgs {
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
pub struct ExploreArgs {
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

fn run_check(a: &CheckArgs) -> Result<(CheckReport, Box<dyn Configured>), Usage> {
    let (cfg, bug) = configure(&a.protocol)?;
    if let Some(n) = a.threads.filter(|n| !(1..=256).contains(n)) {
        return Err(Usage(format!("--threads must be between 1 and 256, got {n}")));
    }
    if a.strategy.is_none() {
        if let Some(run) = bug_scenario_run(&a.protocol, cfg.as_ref()) {
            // A search would take too long; the scenario replays a counterexample in this model.
            eprintln!("checking {}: {}; replaying scenario {}", cfg.protocol(), cfg.describe(), run.name);
            if let Some(report) = cfg.check_path(&run.explorer_path) {
                return Ok((report, cfg));
            }
        }
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
        // A planted bug, or a configuration beyond the protocol's tolerance: a counterexample
        // is what is looked for.
        stop_at_first_failure: bug || cfg.beyond_tolerance(),
        timeout,
        seed: a.seed,
        progress: Some(Duration::from_secs(2)),
        shortest: true,
    };
    eprintln!("checking {}: {}; strategy {:?}", cfg.protocol(), cfg.describe(), strategy);
    Ok((cfg.check(&opts), cfg))
}

/// `quorum check`: the report, the JSON line with `--json`, the diagram with `--svg`.
pub fn check(a: &CheckArgs) -> Result<ExitCode> {
    match run_check(a) {
        Err(Usage(msg)) => Ok(super::usage(msg)),
        Ok((report, cfg)) => {
            print!("{}", check::render(&report));
            if a.json {
                println!("{}", serde_json::to_string(&report)?);
            }
            if let Some(file) = &a.svg {
                if let Err(code) = super::teach::check_svg(&report, file, |path, title| cfg.svg(path, title)) {
                    return Ok(code);
                }
            }
            Ok(if report.as_expected() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// Serves the Explorer until the process is stopped. With `--bug`, first finds a shortest
/// counterexample and prints the Explorer link to its last state.
pub fn explore(a: &ExploreArgs) -> Result<ExitCode> {
    let (cfg, bug) = match configure(&a.protocol) {
        Ok(c) => c,
        Err(Usage(msg)) => return Ok(super::usage(msg)),
    };
    // Bind once ourselves so that a bad or busy address is a clear error, not a panic inside
    // Stateright's server.
    match std::net::TcpListener::bind(&a.addr) {
        Ok(listener) => drop(listener),
        Err(e) => return Ok(super::usage(format!("cannot serve on {}: {e}", a.addr))),
    }
    let url = format!("http://{}", a.addr);
    if let Some(run) = bug_scenario_run(&a.protocol, cfg.as_ref()) {
        // A scenario replays this bug's counterexample in this very model: no search needed.
        println!("counterexample (scenario {}, {} steps): {url}/#/steps/{}", run.name, steps(&run), run.explorer_path);
    } else if bug {
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
    Ok(ExitCode::SUCCESS)
}

/// The replay of the scenario that shows the planted bug `chosen` names, if there is one and its
/// model is `cfg`'s (the flags did not change the bound).
fn bug_scenario_run(chosen: &Chosen, cfg: &dyn Configured) -> Option<quorum::teach::scenario::Run> {
    let bug = chosen.matches.get_one::<String>("bug")?;
    let (_, _, name) = chosen.door().bug_configs().into_iter().find(|(b, _, _)| b.name == bug.as_str())?;
    let run = quorum::teach::scenario::find(name?)?.run().ok()?;
    (run.flags == cfg.flags()).then_some(run)
}

/// The steps a replay took (not those that assert an action impossible).
fn steps(run: &quorum::teach::scenario::Run) -> usize {
    run.trace.iter().filter(|l| l.number.is_some()).count()
}

/// `quorum bugs NAME [--json]`.
pub fn bugs(name: &str, json: bool) -> Result<ExitCode> {
    let list = protocol::find(name).map(|d| d.bugs()).unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string(&list)?);
    } else {
        for b in list {
            println!("{:<28} breaks {:<28} {}", b.name, format!("\"{}\"", b.breaks), b.why);
        }
    }
    Ok(ExitCode::SUCCESS)
}
