//! The `quorum` command line: the clap tree and the dispatch. Each command is a module of
//! [`cli`]. Exit codes: 0 success (every property as expected), 1 a property violated or an
//! operation failed, 2 bad input; `client get` of a key never written exits 3.

use anyhow::Result;
use clap::{Parser, Subcommand};
use quorum::protocol;
use std::process::ExitCode;

mod cli;

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
    Check(cli::check::CheckArgs),
    /// Serve Stateright's Explorer for a protocol's model, to step through it in a browser.
    Explore(cli::check::ExploreArgs),
    /// List the planted bugs of a protocol and the property each must break.
    Bugs {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(protocol::names()))]
        protocol: String,
        #[arg(long)]
        json: bool,
    },
    /// Run one node of a real cluster: the same actor as in the model, over authenticated UDP,
    /// with its state fsynced in --data-dir.
    Node(cli::node::NodeArgs),
    /// Start a local cluster of `quorum node` processes on 127.0.0.1; Ctrl-C stops them all.
    Cluster(cli::node::ClusterArgs),
    /// Talk to a running cluster. Raft's state machine is a key-value map (keys and values are
    /// text, taken verbatim): `put K V` sets K to V, `get K` prints K's value or exits 3 if K was
    /// never written. Paxos: `propose V` prints the single chosen value.
    Client(cli::client::ClientArgs),
    /// Write a fresh random cluster key (64 hex digits) to FILE, which must not exist; with
    /// --pbft-replicas N, PBFT replicas' signing keys into the directory FILE instead.
    Keygen {
        file: std::path::PathBuf,
        /// Write N PBFT replicas' Ed25519 keys: FILE/replicas.pub (every public key) and
        /// FILE/replica-I.key (each secret), for `quorum node pbft --replica-keys FILE`
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=9))]
        pbft_replicas: Option<u8>,
    },
    /// Closed-loop puts against a fresh local 3-node cluster (fsync on): writes/s, p50, p99;
    /// `bench check`: model-checking speed against Stateright's own examples.
    Bench(cli::bench::BenchCli),
    /// The same load against an HTTP key-value store (etcd's JSON gateway), for bench/etcd.sh.
    #[command(hide = true)]
    BenchHttpPut(cli::loadgen::HttpPutArgs),
    /// Replay a named classic situation step by step (`quorum scenario list` names them).
    Scenario(cli::teach::ScenarioArgs),
    /// Regenerate generated parts of the docs (docs/diagrams).
    #[command(hide = true, subcommand)]
    Docs(cli::teach::DocsCommand),
}

fn main() -> Result<ExitCode> {
    let cli = match cli::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return Ok(code),
    };
    Ok(match cli.command {
        Command::Check(a) => cli::check::check(&a)?,
        Command::Explore(a) => cli::check::explore(&a)?,
        Command::Bugs { protocol, json } => cli::check::bugs(&protocol, json)?,
        Command::Node(a) => cli::node::node(a),
        Command::Cluster(a) => cli::node::cluster(a),
        Command::Client(a) => cli::client::client(a),
        Command::Keygen { file, pbft_replicas } => cli::node::keygen(&file, pbft_replicas),
        Command::Bench(a) => cli::bench::dispatch(a),
        Command::BenchHttpPut(a) => cli::loadgen::bench_http_put(a),
        Command::Scenario(a) => cli::teach::scenario(a),
        Command::Docs(c) => cli::teach::docs(c),
    })
}
