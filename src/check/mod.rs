//! The checking room. This module runs a model with a chosen strategy and turns the checker's
//! discoveries into a report: one verdict per property, with the trace of every discovery. Shared
//! by the CLI, the tests and the benchmarks, so that they all judge a run the same way.
//! [`symmetry`] holds what the protocols' symmetry reductions share; [`network`] what their
//! network reductions share; [`liveness`] decides `eventually` under fairness, cycles included.

pub mod dead;
pub mod liveness;
pub mod network;
pub mod symmetry;

use serde::Serialize;
use stateright::{Checker, Expectation, HasDiscoveries, Model, UniformChooser};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Depth-first, 64-bit fingerprints, symmetry reduction: the exhaustive checks.
    Dfs,
    /// Breadth-first: shortest counterexamples, but ~1 KB per state and no symmetry reduction.
    Bfs,
    /// Random walks until the timeout: never complete, and `eventually` properties are not
    /// judged.
    Simulation,
    /// One given path, every property judged along it ([`replay`]): what `quorum check --bug`
    /// does for a bug whose counterexample a scenario replays. Never complete; `eventually`
    /// properties are not judged.
    Replay,
}

impl Strategy {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "dfs" => Some(Strategy::Dfs),
            "bfs" => Some(Strategy::Bfs),
            "simulation" => Some(Strategy::Simulation),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub strategy: Strategy,
    pub threads: usize,
    /// Use the model's symmetry reduction (DFS only; Stateright ignores it under BFS).
    pub symmetry: bool,
    /// Stop as soon as an `always` or `eventually` property is violated.
    pub stop_at_first_failure: bool,
    /// Give up after this long; the report then says `complete: false`.
    pub timeout: Option<Duration>,
    /// Seed of the simulation strategy.
    pub seed: u64,
    /// Print a progress line to stderr every this often (None: silent).
    pub progress: Option<Duration>,
    /// BFS only: after a counterexample is found, search again within fewer steps until none is
    /// left, so the reported counterexample is a shortest one. (Stateright's BFS may report a
    /// slightly longer one: a later discovery in the same block of work replaces the first.)
    pub shortest: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Dfs,
            threads: 1,
            symmetry: true,
            stop_at_first_failure: false,
            timeout: None,
            seed: 0,
            progress: None,
            shortest: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// An `always`/`eventually` property with no counterexample.
    Holds,
    /// An `always`/`eventually` property with a counterexample.
    Violated,
    /// A `sometimes` property with an example.
    Discovered,
    /// A `sometimes` property without one.
    Undiscovered,
}

#[derive(Clone, Debug, Serialize)]
pub struct PropertyReport {
    pub name: String,
    pub expectation: &'static str,
    pub status: Status,
    /// The discovery's steps (empty if none), as the model describes its actions.
    pub trace: Vec<String>,
    /// The last state of the discovery, described by the model (empty if none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_state: String,
    /// The Explorer path of the discovery (`#/steps/...` fingerprints).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub explorer_path: String,
    /// What a counterexample shows beyond its steps (the protocol's
    /// [`crate::protocol::Protocol::evidence`]: for PBFT, the culprits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub protocol: String,
    pub config: serde_json::Value,
    pub strategy: Strategy,
    pub symmetry: bool,
    /// The whole bounded state space was explored (no timeout, no early stop).
    pub complete: bool,
    pub unique_states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    pub properties: Vec<PropertyReport>,
}

impl CheckReport {
    pub fn property(&self, name: &str) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// A property that must hold has a counterexample.
    pub fn any_violated(&self) -> bool {
        self.properties.iter().any(|p| p.status == Status::Violated)
    }

    /// Every property is as expected: nothing violated and, if the run was complete, every
    /// `sometimes` property has its example.
    pub fn as_expected(&self) -> bool {
        let missing_example = self.properties.iter().any(|p| p.status == Status::Undiscovered);
        !self.any_violated() && (!self.complete || !missing_example)
    }
}

fn expectation_name(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

/// How a protocol's model describes itself in reports.
pub struct Describe<'a, M: Model> {
    pub protocol: &'a str,
    pub config: serde_json::Value,
    pub action: &'a dyn Fn(&M::Action) -> String,
    pub state: &'a dyn Fn(&M::State) -> String,
    /// The model's symmetry reduction (representative of a state's class).
    pub symmetry: fn(&M::State) -> M::State,
    /// The reduction that is always sound and always on under DFS (e.g. forgetting which
    /// message was delivered last).
    pub canonical: fn(&M::State) -> M::State,
    /// What a counterexample's actions show beyond its steps.
    pub evidence: &'a dyn Fn(&[M::Action]) -> Vec<String>,
}

/// Runs `model` as `opts` say and reports every property.
pub fn run<M>(model: M, opts: &CheckOptions, describe: &Describe<M>) -> CheckReport
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let started = Instant::now();
    let mut report = run_once(model.clone(), opts, describe, None);
    if opts.strategy == Strategy::Bfs && opts.shortest {
        while let Some(len) = shortest_counterexample(&report) {
            if len == 0 {
                break;
            }
            // Depth 1 is the initial state, and states at the target depth are not checked.
            let shorter = run_once(model.clone(), opts, describe, Some(len + 1));
            if shortest_counterexample(&shorter).is_none() {
                break;
            }
            report = CheckReport { complete: false, ..shorter };
        }
        report.seconds = started.elapsed().as_secs_f64();
    }
    report
}

fn shortest_counterexample(report: &CheckReport) -> Option<usize> {
    report.properties.iter().filter(|p| p.status == Status::Violated).map(|p| p.trace.len()).min()
}

fn run_once<M>(model: M, opts: &CheckOptions, describe: &Describe<M>, max_depth: Option<usize>) -> CheckReport
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let started = Instant::now();
    let mut builder = model.checker().threads(opts.threads.max(1));
    if opts.stop_at_first_failure {
        builder = builder.finish_when(HasDiscoveries::AnyFailures);
    }
    if let Some(t) = opts.timeout {
        builder = builder.timeout(t);
    }
    if let Some(d) = max_depth {
        builder = builder.target_max_depth(d);
    }
    builder = builder.symmetry_fn(if opts.symmetry { describe.symmetry } else { describe.canonical });
    match opts.strategy {
        Strategy::Dfs | Strategy::Replay => finish(builder.spawn_dfs(), opts, describe, started),
        Strategy::Bfs => finish(builder.spawn_bfs(), opts, describe, started),
        Strategy::Simulation => finish(builder.spawn_simulation(opts.seed, UniformChooser), opts, describe, started),
    }
}

fn finish<M, C>(checker: C, opts: &CheckOptions, describe: &Describe<M>, started: Instant) -> CheckReport
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
    C: Checker<M>,
{
    // Stateright 0.31's lone worker reads the deadline only when it runs out of work (it never
    // shares work with itself), so with one thread and a timeout, `join` would wait for the whole
    // bound: the report is then read from the running checker, whose worker ends with the process.
    let single_with_deadline = opts.threads <= 1 && opts.timeout.is_some();
    if opts.progress.is_some() || single_with_deadline {
        let mut last = Instant::now();
        while !checker.is_done() {
            std::thread::sleep(Duration::from_millis(50));
            if opts.progress.is_some_and(|every| last.elapsed() >= every) {
                last = Instant::now();
                eprintln!(
                    "checking {}: {} unique states, depth {}, {:.0} s",
                    describe.protocol,
                    checker.unique_state_count(),
                    checker.max_depth(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    let past_deadline = opts.timeout.is_some_and(|t| started.elapsed() >= t);
    let checker = if single_with_deadline && past_deadline { checker } else { checker.join() };
    let seconds = started.elapsed().as_secs_f64();
    let timed_out = opts.timeout.is_some_and(|t| started.elapsed() >= t);
    let model = checker.model();
    let discoveries = checker.discoveries();
    let properties = model.properties();
    let mut reports = Vec::new();
    for p in &properties {
        if opts.strategy == Strategy::Simulation && p.expectation == Expectation::Eventually {
            // A random walk also ends at the bound or at a state it already visited, and
            // Stateright then judges `eventually` as if the walk had reached a terminal state:
            // such verdicts mean nothing, so the simulation does not report them.
            continue;
        }
        let found = discoveries.get(p.name);
        let status = match (&p.expectation, found.is_some()) {
            (Expectation::Sometimes, true) => Status::Discovered,
            (Expectation::Sometimes, false) => Status::Undiscovered,
            (_, true) => Status::Violated,
            (_, false) => Status::Holds,
        };
        let (trace, last_state, explorer_path, evidence) = match found {
            Some(path) => {
                let actions = path.clone().into_actions();
                let evidence = match status {
                    Status::Violated => (describe.evidence)(&actions),
                    _ => Vec::new(),
                };
                (
                    actions.iter().map(|a| (describe.action)(a)).collect(),
                    (describe.state)(path.last_state()),
                    path.encode(model),
                    evidence,
                )
            }
            None => (Vec::new(), String::new(), String::new(), Vec::new()),
        };
        reports.push(PropertyReport {
            name: p.name.to_string(),
            expectation: expectation_name(&p.expectation),
            status,
            trace,
            last_state,
            explorer_path,
            evidence,
        });
    }
    let failed = reports.iter().any(|r| r.status == Status::Violated);
    let all_found = discoveries.len() == properties.len();
    if opts.strategy == Strategy::Simulation && properties.iter().any(|p| p.expectation == Expectation::Eventually) {
        eprintln!("simulation: eventually properties are not judged (a random walk's end is not a terminal state)");
    }
    let complete = opts.strategy != Strategy::Simulation
        && checker.is_done()
        && !timed_out
        && !all_found
        && !(opts.stop_at_first_failure && failed);
    CheckReport {
        protocol: describe.protocol.to_string(),
        config: describe.config.clone(),
        strategy: opts.strategy,
        symmetry: opts.symmetry && opts.strategy == Strategy::Dfs,
        complete,
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        seconds,
        properties: reports,
    }
}

/// Judges every property along one path of `model`, given as the Explorer encodes it
/// (`0/3/1/…`): an `always` property is violated at the first state where it fails, a
/// `sometimes` one discovered at the first where it holds, each with the path up to there as
/// its trace. None if the path does not fit the model. Nothing beyond the path is explored, so
/// the report is never complete, and `eventually` properties are left out.
pub fn replay<M>(model: M, encoded: &str, describe: &Describe<M>) -> Option<CheckReport>
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
{
    let started = Instant::now();
    let path = crate::teach::scenario::path_from_encoded(&model, encoded)?;
    let steps = path.into_vec();
    let actions: Vec<M::Action> = steps.iter().filter_map(|(_, a)| a.clone()).collect();
    let prefix = |k: usize| encoded.split('/').take(k + 1).collect::<Vec<_>>().join("/");
    let mut properties = Vec::new();
    for p in model.properties() {
        let (status, first) = match p.expectation {
            Expectation::Eventually => continue,
            Expectation::Always => match steps.iter().position(|(s, _)| !(p.condition)(&model, s)) {
                Some(k) => (Status::Violated, Some(k)),
                None => (Status::Holds, None),
            },
            Expectation::Sometimes => match steps.iter().position(|(s, _)| (p.condition)(&model, s)) {
                Some(k) => (Status::Discovered, Some(k)),
                None => (Status::Undiscovered, None),
            },
        };
        let mut report = PropertyReport {
            name: p.name.to_string(),
            expectation: expectation_name(&p.expectation),
            status,
            trace: Vec::new(),
            last_state: String::new(),
            explorer_path: String::new(),
            evidence: Vec::new(),
        };
        if let Some(k) = first {
            report.trace = actions[..k].iter().map(|a| (describe.action)(a)).collect();
            report.last_state = (describe.state)(&steps[k].0);
            report.explorer_path = prefix(k);
            if status == Status::Violated {
                report.evidence = (describe.evidence)(&actions[..k]);
            }
        }
        properties.push(report);
    }
    Some(CheckReport {
        protocol: describe.protocol.to_string(),
        config: describe.config.clone(),
        strategy: Strategy::Replay,
        symmetry: false,
        complete: false,
        unique_states: steps.len(),
        max_depth: steps.len(),
        seconds: started.elapsed().as_secs_f64(),
        properties,
    })
}

/// The report as people read it: the verdict of each property, and every discovery as numbered
/// steps.
pub fn render(report: &CheckReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if report.strategy == Strategy::Replay {
        let _ = writeln!(
            out,
            "{}: one path of {} states replayed, every property judged along it (nothing else explored)",
            report.protocol, report.unique_states
        );
    } else {
        let _ = writeln!(
            out,
            "{}: {} unique states, max depth {}, {:.2} s, {}",
            report.protocol,
            report.unique_states,
            report.max_depth,
            report.seconds,
            if report.complete { "complete (the whole bound was explored)" } else { "NOT complete" }
        );
    }
    for p in &report.properties {
        let _ = writeln!(out, "  {:<10} {:<22} {:?}", p.expectation, p.name, p.status);
    }
    for p in &report.properties {
        if p.trace.is_empty() && p.status != Status::Violated {
            continue;
        }
        let kind = if p.status == Status::Violated { "Counterexample" } else { "Example" };
        let _ = writeln!(out, "\n{kind} for \"{}\" ({} steps):", p.name, p.trace.len());
        for (i, step) in p.trace.iter().enumerate() {
            let _ = writeln!(out, "  {:>3}. {step}", i + 1);
        }
        let _ = writeln!(out, " final state:\n{}", p.last_state);
        for line in &p.evidence {
            let _ = writeln!(out, " evidence: {line}");
        }
    }
    out
}
