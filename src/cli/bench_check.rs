//! `quorum bench check`: the model checker's speed and memory, side by side with Stateright's own
//! examples, on the same machine in the same run. Also `quorum bench check --growth`: how the Raft
//! and Paxos state spaces grow with the bound.
//!
//! Every measured run is a child process, so that its peak memory (max RSS, from `wait4`'s
//! rusage) is its own: ours is `quorum check … --json` (or the hidden `quorum bench check-mirror`
//! for the mirror of Stateright's Paxos example, which `quorum check` does not expose), theirs is
//! the example binary, built from the stateright crate source that cargo downloaded, copied to a
//! temporary directory outside this repository and built there with its own target directory
//! ([`super::compare`]). Nothing of it is copied into this repository. The child processes and
//! their watchdog are [`super::process`]; this module holds the jobs and the tables.

use super::compare::build_peer;
use super::process::{run_child, ChildRun};
use super::usage;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use quorum::compare::paxos_mirror::{MirrorCfg, MirrorModel};
use stateright::{Checker, Expectation, Model};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct CheckBenchArgs {
    /// Runs of each measurement (min/median/max are reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Small bounds only (a smoke test of a minute or so)
    #[arg(long)]
    quick: bool,
    /// Instead of the side-by-side table, the cost-growth table (each bound run once)
    #[arg(long)]
    growth: bool,
    /// Growth: give up on a bound after this many seconds (reported as not complete)
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
    /// Growth: stop starting new bounds after this many seconds in total
    #[arg(long, default_value_t = 2400, value_name = "SECONDS")]
    budget: u64,
    /// Checker threads, for ours and theirs alike [default: available cores, as the examples use]
    #[arg(long)]
    threads: Option<usize>,
    /// Where to copy and build Stateright's examples [default: TMPDIR/quorum-peer-stateright-VERSION]
    #[arg(long, value_name = "DIR")]
    peer_dir: Option<PathBuf>,
    /// Also write the Markdown table to FILE
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct MirrorArgs {
    #[arg(long, default_value_t = 2)]
    clients: usize,
    #[arg(long, value_enum, default_value_t = Search::Dfs)]
    strategy: Search,
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Search {
    Dfs,
    Bfs,
}

/// The child that checks the mirror once and prints `{"unique_states", "seconds", "complete",
/// "as_expected"}`. Like the example, no symmetry function is set: the mirror has none.
pub fn mirror_child(a: &MirrorArgs) -> ExitCode {
    if !(1..=5).contains(&a.clients) {
        return usage(format!("--clients must be between 1 and 5, got {}", a.clients));
    }
    if !(1..=256).contains(&a.threads) {
        return usage(format!("--threads must be between 1 and 256, got {}", a.threads));
    }
    let started = Instant::now();
    let model: MirrorModel = MirrorCfg { clients: a.clients, ..MirrorCfg::default() }.into_model();
    let builder = model.checker().threads(a.threads);
    let report = match a.strategy {
        Search::Dfs => mirror_report(builder.spawn_dfs().join(), a.clients, started),
        Search::Bfs => mirror_report(builder.spawn_bfs().join(), a.clients, started),
    };
    let as_expected = report["as_expected"].as_bool() == Some(true);
    println!("{report}");
    if as_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn mirror_report(checker: impl Checker<MirrorModel>, clients: usize, started: Instant) -> serde_json::Value {
    let seconds = started.elapsed().as_secs_f64();
    let discoveries = checker.discoveries();
    let as_expected = checker.model().properties().iter().all(|p| match p.expectation {
        Expectation::Sometimes => discoveries.contains_key(p.name),
        _ => !discoveries.contains_key(p.name),
    });
    serde_json::json!({
        "protocol": "paxos-mirror",
        "clients": clients,
        "unique_states": checker.unique_state_count(),
        "seconds": seconds,
        "complete": checker.is_done(),
        "as_expected": as_expected,
    })
}

// ---------------------------------------------------------------------------------------------
// Measured runs: ours and theirs, each a child process

/// One finished child: what it reported and what it cost.
#[derive(Clone, Debug)]
struct Sample {
    unique: u64,
    seconds: f64,
    /// CPU time, user + system, of the child and its threads: unlike wall-clock time, not
    /// inflated by the examples' one-second poll (a sleeping thread uses none).
    cpu: f64,
    max_rss: u64,
    complete: bool,
    /// Ours: every property as expected. Theirs: the run printed its final report.
    ok: bool,
}

/// A measured program: ours (JSON report on the last line) or a Stateright example (its
/// `Done. states=…, unique=…` line).
#[derive(Clone)]
enum Who {
    Ours,
    Theirs,
}

#[derive(Clone)]
struct Job {
    who: Who,
    program: PathBuf,
    args: Vec<String>,
}

impl Job {
    fn command_line(&self) -> String {
        let name = match self.who {
            Who::Ours => "quorum".to_owned(),
            Who::Theirs => {
                let file = self.program.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                format!("examples/{file}")
            }
        };
        std::iter::once(name).chain(self.args.iter().cloned()).collect::<Vec<_>>().join(" ")
    }

    fn run(&self) -> Result<Sample> {
        self.run_with(None)
    }

    /// With `kill_after`, a child of ours killed by the watchdog counts as not complete, with the
    /// states of its last progress line.
    fn run_with(&self, kill_after: Option<Duration>) -> Result<Sample> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).env("RUST_LOG", "error");
        let ChildRun { stdout: out, code, seconds, cpu, max_rss, last_progress } = run_child(&mut cmd, kill_after)?;
        match self.who {
            Who::Ours => {
                let last = out.lines().rev().find(|l| l.starts_with('{'));
                let last = match (last, kill_after, code) {
                    (Some(l), ..) => l,
                    (None, Some(_), None) => {
                        let unique = last_progress.unwrap_or(0);
                        return Ok(Sample { unique, seconds, cpu, max_rss, complete: false, ok: true });
                    }
                    (None, ..) => bail!("`{}` printed no JSON report (exit code {code:?})", self.command_line()),
                };
                let v: serde_json::Value = serde_json::from_str(last).context("cannot parse our JSON report")?;
                let unique = v["unique_states"].as_u64().ok_or_else(|| anyhow!("no unique_states in the report"))?;
                let complete = v["complete"].as_bool().unwrap_or(false);
                let ok = v["as_expected"].as_bool().unwrap_or(code == Some(0));
                Ok(Sample { unique, seconds, cpu, max_rss, complete, ok })
            }
            Who::Theirs => {
                let done =
                    out.lines().rev().find(|l| l.starts_with("Done. ")).ok_or_else(|| {
                        anyhow!("`{}` printed no `Done.` line (exit code {code:?})", self.command_line())
                    })?;
                let unique = field(done, "unique=").ok_or_else(|| anyhow!("no unique= in {done:?}"))?;
                Ok(Sample { unique, seconds, cpu, max_rss, complete: true, ok: code == Some(0) })
            }
        }
    }
}

/// The number after `key` in a line such as `Done. states=32971, unique=16668, depth=21, sec=1`.
fn field(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Statistics and the table

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: &[f64]) -> f64 {
    let v = sorted(v.to_vec());
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `min / median / max`, or the single value.
fn spread(v: &[f64], fmt: impl Fn(f64) -> String) -> String {
    let s = sorted(v.to_vec());
    match s.len() {
        0 => "–".to_owned(),
        1 => fmt(s[0]),
        n => format!("{} / {} / {}", fmt(s[0]), fmt(median(&s)), fmt(s[n - 1])),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2}")
    } else {
        format!("{s:.1}")
    }
}

/// The measurements of one job over every run.
struct Measured {
    job: Job,
    samples: Vec<Sample>,
}

impl Measured {
    fn unique(&self) -> String {
        let mut u: Vec<u64> = self.samples.iter().map(|s| s.unique).collect();
        u.sort_unstable();
        u.dedup();
        u.iter().map(|n| thousands(*n)).collect::<Vec<_>>().join(" / ")
    }
    fn seconds(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.seconds).collect()
    }
    fn median_seconds(&self) -> f64 {
        median(&self.seconds())
    }
    fn cpu(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.cpu).collect()
    }
    fn median_cpu(&self) -> f64 {
        median(&self.cpu())
    }
    fn rates(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.unique as f64 / s.seconds.max(1e-9)).collect()
    }
    fn rss_mib(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.max_rss as f64 / (1024.0 * 1024.0)).collect()
    }
    fn bytes_per_state(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.max_rss as f64 / (s.unique.max(1) as f64)).collect()
    }
    fn verdict(&self) -> &'static str {
        match (self.job.who.clone(), self.samples.iter().all(|s| s.ok), self.samples.iter().all(|s| s.complete)) {
            (_, true, true) => "as expected, complete",
            (Who::Ours, true, false) => "not complete",
            (Who::Ours, false, _) => "**a property failed**",
            (Who::Theirs, false, _) => "exit code ≠ 0",
            (Who::Theirs, true, false) => "not complete",
        }
    }
}

fn measure(jobs: &[Job], runs: usize) -> Result<Vec<Measured>> {
    let mut measured: Vec<Measured> = jobs.iter().map(|j| Measured { job: j.clone(), samples: Vec::new() }).collect();
    // Runs interleave the jobs, so that a burst of load from other processes on the shared
    // machine spreads over all of them instead of hitting one job's every run.
    for run in 1..=runs {
        for m in &mut measured {
            let s = m.job.run()?;
            eprintln!(
                "bench check: run {run}/{runs}: {}: {} states, {:.2} s, max RSS {:.1} MiB",
                m.job.command_line(),
                s.unique,
                s.seconds,
                s.max_rss as f64 / 1048576.0
            );
            m.samples.push(s);
        }
    }
    Ok(measured)
}

const HEADER: &str = "| check | model | unique states | seconds (min / median / max) | CPU seconds (min / median / max) | states/s (median) | max RSS MiB (median) | bytes/state (median) | time ours/theirs | CPU ours/theirs | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n";

/// A table row; `theirs` (for ours) gives the two ratios of medians, wall-clock and CPU.
fn row(check: &str, model: &str, m: &Measured, theirs: Option<&Measured>) -> String {
    let ratio = |r: Option<f64>| r.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}"));
    format!(
        "| {check} | {model} | {} | {} | {} | {} | {:.1} | {:.0} | {} | {} | {} |\n",
        m.unique(),
        spread(&m.seconds(), secs),
        spread(&m.cpu(), secs),
        thousands(median(&m.rates()) as u64),
        median(&m.rss_mib()),
        median(&m.bytes_per_state()),
        ratio(theirs.map(|t| m.median_seconds() / t.median_seconds())),
        ratio(theirs.map(|t| m.median_cpu() / t.median_cpu().max(1e-9))),
        m.verdict()
    )
}

fn threads_of(a: &CheckBenchArgs) -> usize {
    a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn ours(exe: &Path, args: &[&str]) -> Job {
    Job { who: Who::Ours, program: exe.to_path_buf(), args: args.iter().map(|s| (*s).to_owned()).collect() }
}

fn theirs(program: &Path, args: &[&str]) -> Job {
    Job { who: Who::Theirs, program: program.to_path_buf(), args: args.iter().map(|s| (*s).to_owned()).collect() }
}

pub fn check_bench(a: CheckBenchArgs) -> ExitCode {
    if !(1..=100).contains(&a.runs) {
        return usage(format!("--runs must be between 1 and 100, got {}", a.runs));
    }
    if let Some(n) = a.threads.filter(|n| !(1..=256).contains(n)) {
        return usage(format!("--threads must be between 1 and 256, got {n}"));
    }
    if a.timeout == 0 || a.budget == 0 {
        return usage("--timeout and --budget must be at least 1 second");
    }
    if a.growth && a.runs != 3 && a.runs != 1 {
        eprintln!("bench check: --growth runs each bound once; --runs is ignored");
    }
    let result = if a.growth { growth(&a) } else { side_by_side(&a) };
    match result.and_then(|table| {
        print!("{table}");
        if let Some(path) = &a.out {
            std::fs::write(path, &table).with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn command_of(a: &CheckBenchArgs) -> String {
    let mut c = String::from("quorum bench check");
    if a.growth {
        c += &format!(" --growth --timeout {} --budget {}", a.timeout, a.budget);
    } else {
        c += &format!(" --runs {}", a.runs);
    }
    if a.quick {
        c += " --quick";
    }
    if let Some(t) = a.threads {
        c += &format!(" --threads {t}");
    }
    c
}

fn side_by_side(a: &CheckBenchArgs) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the quorum executable")?;
    let peer = build_peer(a.peer_dir.as_deref())?;
    let threads = threads_of(a).to_string();
    let t = threads.as_str();
    let clients: &[usize] = if a.quick { &[2] } else { &[2, 3] };

    // Paxos: the mirror against the example, DFS and BFS.
    let mut paxos_jobs = Vec::new();
    for &n in clients {
        let n = n.to_string();
        for (ours_s, theirs_s) in [("dfs", "check-dfs"), ("bfs", "check")] {
            paxos_jobs
                .push(ours(&exe, &["bench", "check-mirror", "--clients", &n, "--strategy", ours_s, "--threads", t]));
            paxos_jobs.push(theirs(&peer.paxos, &[theirs_s, &n]));
        }
    }
    // Raft: ours at the TLC bound (DFS with symmetry, BFS without), a larger bound of ours for a
    // states/s figure on a longer run, and the example's BFS to a depth it finishes.
    let tlc = ["check", "raft", "--crashes", "0", "--clients", "2", "--max-log", "2", "--max-term", "2", "--json"];
    let mut raft_jobs = vec![
        ours(&exe, &[&tlc[..], &["--threads", t]].concat()),
        ours(&exe, &[&tlc[..], &["--threads", t, "--strategy", "bfs"]].concat()),
    ];
    let depth = if a.quick { "8" } else { "9" };
    raft_jobs.push(theirs(&peer.raft, &["check", "3", depth]));
    // Symmetry: our Paxos model (symmetry over acceptors) with and without it. The mirror has no
    // symmetry to reduce by (ballots compare server ids; clients pick servers by their own id).
    // A small bound, so that 3 runs of the full check (≈ 1 min each without symmetry at
    // `--crashes 0`) do not dominate the benchmark; docs/performance.md gives larger bounds.
    let sym_bound: &[&str] = &["--crashes", "0", "--max-round", "1"];
    let sym =
        |extra: &[&str]| ours(&exe, &[&["check", "paxos"][..], sym_bound, &["--json", "--threads", t], extra].concat());
    let sym_jobs = vec![sym(&[]), sym(&["--no-symmetry"])];

    let all: Vec<Job> = paxos_jobs.iter().chain(&raft_jobs).chain(&sym_jobs).cloned().collect();
    let measured = measure(&all, a.runs)?;
    let (paxos_m, rest) = measured.split_at(paxos_jobs.len());
    let (raft_m, sym_m) = rest.split_at(raft_jobs.len());

    let mut md = String::new();
    md += &format!(
        "Produced by `{}` ({} run(s) per figure, {} checker thread(s) for ours and theirs alike; \
         Stateright's examples built from the {} source in {}). Seconds are wall-clock per child \
         process, CPU seconds its user + system time (`wait4`), max RSS is the child's peak resident memory (`wait4`), bytes/state is max RSS ÷ \
         unique states (including the process's fixed few MiB, so it means little for small runs). \
         Stateright's examples poll for the end of the check once a second (`Checker::report`), so \
         their times are rounded up to a whole second: compare times only on runs of many seconds, or \
         compare CPU seconds, which the poll does not inflate (with the same number of checker \
         threads on both sides).\n\n",
        command_of(a),
        a.runs,
        threads,
        peer.version,
        peer.dir.display(),
    );
    md += "### Paxos: the mirror against Stateright's `examples/paxos.rs`\n\n";
    md += HEADER;
    for pair in paxos_m.chunks(2) {
        let (o, t) = (&pair[0], &pair[1]);
        let n = &o.job.args[3];
        let strategy = if o.job.args[5] == "dfs" { "DFS" } else { "BFS" };
        let check = format!("Paxos, 3 servers, {n} clients, {strategy}");
        md += &row(&check, &format!("ours: `{}`", o.job.command_line()), o, Some(t));
        md += &row(&check, &format!("Stateright: `{}`", t.job.command_line()), t, None);
    }
    md += "\n### Raft: ours at the TLC bound, and Stateright's `examples/raft.rs` (different models: compare states/s only)\n\n";
    md += HEADER;
    md += "| Raft, 3 servers, terms ≤ 2, logs ≤ 2, no restarts, no loss | TLA+ spec, TLC (published) | 6,425,257 | 202 | – | 31,808 | – | – | – | – | complete |\n";
    for m in raft_m {
        let (check, model) = match m.job.who {
            Who::Ours => {
                let s = if m.job.args.iter().any(|x| x == "bfs") { "BFS, no symmetry" } else { "DFS, symmetry" };
                (format!("Raft at the TLC bound, {s}"), format!("ours: `{}`", m.job.command_line()))
            }
            Who::Theirs => {
                (format!("Raft, 3 servers, BFS to depth {depth}"), format!("Stateright: `{}`", m.job.command_line()))
            }
        };
        md += &row(&check, &model, m, None);
    }
    md += "\n### Symmetry: our Paxos model with and without symmetry over acceptors (DFS)\n\n";
    md += HEADER;
    let (with, without) = (&sym_m[0], &sym_m[1]);
    md += &row("Paxos model, symmetry", &format!("ours: `{}`", with.job.command_line()), with, None);
    md += &row("Paxos model, no symmetry", &format!("ours: `{}`", without.job.command_line()), without, None);
    let same = with.verdict() == without.verdict();
    let su = with.samples.first().map_or(1, |s| s.unique.max(1));
    let nu = without.samples.first().map_or(0, |s| s.unique);
    md += &format!(
        "\nSymmetry: {:.2}× fewer states, {:.2}× the time of the full check; verdicts {}. The mirror of \
         the example has no symmetry reduction, because it has no symmetry: its servers are also \
         proposers and ballots compare proposer ids, and its clients (the example's) choose their \
         servers by their own id, so no renaming of clients and values maps steps to steps \
         (src/compare/paxos_mirror.rs).\n",
        nu as f64 / su as f64,
        with.median_seconds() / without.median_seconds(),
        if same { "agree" } else { "DIFFER" }
    );
    Ok(md)
}

// ---------------------------------------------------------------------------------------------
// Growth

fn growth(a: &CheckBenchArgs) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the quorum executable")?;
    let threads = threads_of(a).to_string();
    // (protocol, dimension, the base's flags, the values of the dimension, each as extra flags).
    // Within a dimension the bounds grow; once one does not complete, the larger ones are not run.
    type Dim = (&'static str, &'static str, Vec<&'static str>, Vec<Vec<&'static str>>);
    let raft_base = vec!["--crashes", "0"];
    let paxos_base = vec!["--crashes", "0", "--max-round", "1"];
    let mut dims: Vec<Dim> = vec![
        ("raft", "base", raft_base.clone(), vec![vec![]]),
        ("raft", "servers", raft_base.clone(), vec![vec!["--servers", "4"], vec!["--servers", "5"]]),
        ("raft", "max term", raft_base.clone(), vec![vec!["--max-term", "3"], vec!["--max-term", "4"]]),
        ("raft", "requests", raft_base.clone(), vec![vec!["--requests", "2"], vec!["--requests", "3"]]),
        ("raft", "crashes", vec![], vec![vec!["--crashes", "1"], vec!["--crashes", "2"]]),
        ("raft", "lossy", raft_base.clone(), vec![vec!["--lossy"]]),
        ("paxos", "base", paxos_base.clone(), vec![vec![]]),
        (
            "paxos",
            "network",
            paxos_base.clone(),
            vec![vec!["--network", "ordered"], vec!["--network", "unordered-nonduplicating"], vec!["--lossy"]],
        ),
        ("paxos", "max round", vec!["--crashes", "0"], vec![vec!["--max-round", "2"], vec!["--max-round", "3"]]),
        ("paxos", "crashes", vec!["--max-round", "1"], vec![vec!["--crashes", "1"], vec!["--crashes", "2"]]),
    ];
    // The Paxos bounds are cheap: run them first, so that the budget goes to Raft's big ones.
    dims.rotate_left(6);
    if a.quick {
        dims.retain(|(p, d, ..)| *p == "paxos" || *d == "base");
    }
    let started = Instant::now();
    let budget = Duration::from_secs(a.budget);
    let mut md = format!(
        "Produced by `{}` ({} checker thread(s), DFS with symmetry, each bound run once; a bound is \
         given up after {} s, and once a bound of a dimension does not complete the larger ones are \
         not run).\n\n| protocol | grows | flags | unique states | seconds | states/s | max RSS MiB | bytes/state | complete |\n|---|---|---|---|---|---|---|---|---|\n",
        command_of(a),
        threads,
        a.timeout
    );
    for (protocol, dim, base, values) in &dims {
        let mut stop = false;
        for extra in values {
            let flags: Vec<&str> = base.iter().chain(extra).copied().collect();
            let shown = if flags.is_empty() { "(default)".to_owned() } else { format!("`{}`", flags.join(" ")) };
            let left = budget.saturating_sub(started.elapsed());
            if stop || left.is_zero() {
                let why = if stop { "not run: a smaller bound did not complete" } else { "not run: budget used" };
                md += &format!("| {protocol} | {dim} | {shown} | – | – | – | – | – | {why} |\n");
                continue;
            }
            let timeout = a.timeout.min(left.as_secs().max(1)).to_string();
            let mut args = vec!["check", protocol];
            args.extend(flags.iter().copied());
            args.extend(["--json", "--threads", threads.as_str(), "--timeout", timeout.as_str()]);
            let job = ours(&exe, &args);
            let s = job.run_with(Some(Duration::from_secs(a.timeout.min(left.as_secs().max(1)) + 30)))?;
            eprintln!(
                "bench check --growth: {}: {} states, {:.1} s, complete {}",
                job.command_line(),
                s.unique,
                s.seconds,
                s.complete
            );
            let complete = match (s.complete, s.ok) {
                (true, true) => "yes".to_owned(),
                (true, false) => "yes, **a property failed**".to_owned(),
                (false, _) => format!("**no** (gave up after {timeout} s; states reached)"),
            };
            md += &format!(
                "| {protocol} | {dim} | {shown} | {} | {} | {} | {:.1} | {:.0} | {complete} |\n",
                thousands(s.unique),
                secs(s.seconds),
                thousands((s.unique as f64 / s.seconds.max(1e-9)) as u64),
                s.max_rss as f64 / 1048576.0,
                s.max_rss as f64 / s.unique.max(1) as f64,
            );
            stop = !s.complete;
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_unique_count_of_a_stateright_report() {
        assert_eq!(field("Done. states=32971, unique=16668, depth=21, sec=1", "unique="), Some(16668));
        assert_eq!(field("Done. states=1", "unique="), None);
    }

    #[test]
    fn spreads_and_thousands() {
        assert_eq!(thousands(6425257), "6,425,257");
        assert_eq!(thousands(999), "999");
        assert_eq!(spread(&[3.0, 1.0, 2.0], |x| format!("{x:.0}")), "1 / 2 / 3");
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
