//! `quorum bench`: the command's tree (`bench PROTOCOL`, `bench cluster PROTOCOL`, `bench check`),
//! and the closed-loop benchmark of a fresh local 3-node cluster of a hosted protocol that has
//! writes to measure ([`quorum::runtime::door::Hosting::bench`]). `bench check` is
//! [`super::bench_check`].

use super::bench_check::{self, CheckBenchArgs, MirrorArgs};
use super::node::{node_command, protocol_parser, refuse_foreign, runtime, BenchFlags};
use super::process::{spawn_node, Children};
use super::{failed, usage};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use quorum::runtime::door::{self, Bench, ClientOpts, Runtime};
use quorum::runtime::wire::ClusterKey;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `quorum bench raft|paxos …` (the UDP cluster) or `quorum bench check …` (the model checker).
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchCli {
    #[command(subcommand)]
    sub: Option<BenchSub>,
    /// Not an `Option`: clap does not fill an optional flattened group whose own groups are
    /// flattened too (`quorum bench raft` came out as no arguments); the protocol is optional
    /// instead, and [`bench`] says when it is missing.
    #[command(flatten)]
    cluster: BenchArgs,
}

#[derive(Subcommand)]
enum BenchSub {
    /// Model-checking speed and memory against Stateright's own paxos and raft examples (built
    /// from the downloaded stateright source in a temp dir), as a Markdown table; with --growth,
    /// how states and time grow with the bound.
    Check(CheckBenchArgs),
    /// The same as `quorum bench raft …`: closed-loop puts against a fresh local 3-node cluster
    /// (fsync on), writes/s, p50, p99
    Cluster(BenchArgs),
    /// (internal) One check of the Paxos mirror, as JSON on stdout: a child of `bench check`.
    #[command(hide = true)]
    CheckMirror(MirrorArgs),
}

pub fn dispatch(a: BenchCli) -> ExitCode {
    match (a.sub, a.cluster) {
        (Some(BenchSub::Check(c)), _) => bench_check::check_bench(c),
        (Some(BenchSub::CheckMirror(m)), _) => bench_check::mirror_child(&m),
        (Some(BenchSub::Cluster(b)), _) => bench(b),
        (None, b) => bench(b),
    }
}

/// The protocol argument's help: which protocols have a benchmark, and why the others have none.
fn protocol_help() -> String {
    let hosted = door::hosted();
    let with: Vec<&str> = hosted.iter().filter(|r| r.bench().is_ok()).map(|r| r.name()).collect();
    let without: Vec<String> = hosted
        .iter()
        .filter_map(|r| r.bench().err().map(|why| format!(" ({} has no bench: {why})", r.name())))
        .collect();
    format!("{}{}", with.join(", "), without.concat())
}

#[derive(Args)]
pub struct BenchArgs {
    #[arg(value_parser = protocol_parser(), help = protocol_help())]
    protocol: Option<String>,
    /// Concurrent closed-loop clients, each sending its next put when the previous one returns
    #[arg(long, default_value_t = 1)]
    clients: u8,
    /// Puts in total
    #[arg(long, default_value_t = 1000)]
    writes: usize,
    /// Bytes per written value [default: 100, or the protocol's largest value if smaller (PBFT:
    /// 64)]
    #[arg(long)]
    value_size: Option<usize>,
    /// The nodes listen on 127.0.0.1:(P..P+N-1), N the protocol's cluster (Raft: 3, PBFT: 4)
    #[arg(long, default_value_t = 7400)]
    base_port: u16,
    #[command(flatten)]
    flags: BenchFlags,
    /// Also print the result as one JSON object on the last line
    #[arg(long)]
    json: bool,
}

/// `quorum bench PROTOCOL`: a fresh loopback cluster of the protocol's size (Raft: 3 nodes, fsync
/// on, in a temp directory; PBFT: 4 replicas, f = 1, state in memory), closed-loop clients each
/// writing as the protocol says (puts, each client to its own key `bench-N`); prints committed
/// writes/s and latency percentiles.
pub fn bench(a: BenchArgs) -> ExitCode {
    let Some(name) = a.protocol.as_deref() else {
        let names: Vec<&str> = door::hosted().iter().map(|r| r.name()).collect();
        return usage(format!("`quorum bench` needs {} or check (see `quorum bench --help`)", names.join(", ")));
    };
    let runtime = runtime(name);
    let bench = match runtime.bench() {
        Ok(b) => b,
        Err(why) => return usage(format!("`quorum bench {name}` is not implemented: {why}")),
    };
    if let Err(e) = refuse_foreign(runtime, &a.flags.matches) {
        return usage(e);
    }
    if a.clients == 0 || a.clients > 25 {
        return usage(format!("--clients must be between 1 and 25, got {}", a.clients));
    }
    if a.writes == 0 || a.writes > 10_000_000 {
        return usage(format!("--writes must be between 1 and 10000000, got {}", a.writes));
    }
    let value_size = a.value_size.unwrap_or(100.min(bench.max_value));
    if value_size == 0 || value_size > bench.max_value {
        return usage(format!(
            "--value-size must be between 1 and {} bytes for {name}, got {value_size}",
            bench.max_value
        ));
    }
    if a.base_port == 0 || a.base_port > u16::MAX - bench.nodes {
        return usage(format!("--base-port {} leaves no room for {} nodes", a.base_port, bench.nodes));
    }
    let dir = std::env::temp_dir().join(format!("quorum-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return failed(format!("cannot create {}: {e}", dir.display()));
    }
    // The nodes' flags, with what they need besides the cluster key (PBFT: signing keys).
    let result = match runtime.cluster_args(&a.flags.matches, &dir, usize::from(bench.nodes), clients_of(&a)) {
        Err(e) => Err(usage(e)),
        Ok(node_args) => {
            run_bench(&a, runtime, bench, value_size, &dir, &node_args).map_err(|e| failed(format!("{e:#}")))
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    result.map_or_else(|code| code, |()| ExitCode::SUCCESS)
}

/// The client numbers the nodes accept: the closed-loop clients and one to warm up with.
fn clients_of(a: &BenchArgs) -> usize {
    usize::from(a.clients) + 1
}

fn run_bench(
    a: &BenchArgs,
    runtime: &dyn Runtime,
    bench: Bench,
    value_size: usize,
    dir: &std::path::Path,
    node_args: &[String],
) -> Result<()> {
    let (writer, nodes) = (bench.writer, bench.nodes);
    let name = runtime.name();
    let key_file = dir.join("cluster.key");
    let key = ClusterKey::write_new(&key_file)?;
    let servers: Vec<SocketAddr> = (0..nodes).map(|i| SocketAddr::from(([127, 0, 0, 1], a.base_port + i))).collect();
    let peers = servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let exe = std::env::current_exe().context("cannot find the quorum executable")?;
    let mut children = Children::default();
    for i in 0..usize::from(nodes) {
        let stats = dir.join(format!("stats-{i}.json"));
        let mut cmd = node_command(&exe, name, i, &peers, &dir.join(format!("node-{i}")), &key_file, &stats);
        cmd.args(["--clients", &clients_of(a).to_string()]).args(node_args).env("RUST_LOG", "warn");
        children.push(spawn_node(&mut cmd, i)?);
    }
    // Warm up: the first write waits for the first election.
    let mut warm = writer(ClientOpts::new(servers.clone(), key.clone(), a.clients), value_size)?;
    warm(1).context("the cluster did not come up")?;
    let (lat, secs) = closed_loop(usize::from(a.clients), a.writes, |number| {
        let mut write = writer(ClientOpts::new(servers.clone(), key.clone(), u8::try_from(number)?), value_size)?;
        Ok(move |seq: usize| Ok(write(seq as u64 + 1)?))
    })?;
    std::thread::sleep(Duration::from_millis(200)); // a last stats write
                                                    // Group commit: the datagrams (requests, acknowledgements) per fsync on each node.
    let fsyncs: Vec<String> = (0..nodes)
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
    let (rate, p50, p99) = rate_p50_p99(&lat, secs);
    println!(
        "{name}, {nodes} nodes on loopback, {}, {} closed-loop client(s), {value_size}-byte values: {} puts in {secs:.2} s = {rate:.0} writes/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        bench.storage,
        a.clients,
        lat.len(),
    );
    for line in fsyncs {
        println!("  {line}");
    }
    if a.json {
        let j = serde_json::json!({"system": format!("quorum {name}"), "clients": a.clients, "writes": lat.len(),
            "value_size": value_size, "nodes": nodes, "seconds": secs, "writes_per_s": rate, "p50_ms": p50, "p99_ms": p99});
        println!("{j}");
    }
    Ok(())
}

/// A closed-loop load: `clients` threads share `writes` operations, each thread running its
/// client's next operation as soon as the last one returned. `client(n)` connects client `n` and
/// returns its operation (given the client's 0-based operation number). Returns every
/// operation's latency, sorted, and the seconds the load took (connections made before).
pub fn closed_loop<F, Op>(clients: usize, writes: usize, client: F) -> Result<(Vec<Duration>, f64)>
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
pub fn rate_p50_p99(lat: &[Duration], secs: f64) -> (f64, f64, f64) {
    let pct = |p: f64| lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default();
    (lat.len() as f64 / secs, pct(0.50).as_secs_f64() * 1e3, pct(0.99).as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_latencies() {
        let lat: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let (rate, p50, p99) = rate_p50_p99(&lat, 2.0);
        assert_eq!((rate, p50, p99), (50.0, 50.0, 99.0));
    }

    #[test]
    fn the_closed_loop_shares_the_writes_among_its_clients() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let done = Arc::new(AtomicUsize::new(0));
        let (lat, _) = closed_loop(3, 10, |_| {
            let done = Arc::clone(&done);
            Ok(move |_seq: usize| {
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        })
        .expect("runs");
        assert_eq!((lat.len(), done.load(Ordering::SeqCst)), (10, 10));
    }

    #[test]
    fn the_protocol_argument_says_which_protocols_have_a_benchmark() {
        assert_eq!(protocol_help(), "raft, pbft (paxos has no bench: single-decree Paxos chooses one value)");
    }
}
