//! `quorum client`: one operation against a running cluster. The operation names the protocol
//! (each hosted protocol brings its own, [`quorum::runtime::door::Hosting::Op`]). Exit codes: 0
//! the answer is printed, 1 the operation failed (no reply), 2 bad input (flags, addresses, the
//! key file), 3 nothing to print (`get` of a key never written).

use super::node::{foreign, parse_peers, DEFAULT_CLIENTS, MAX_CLIENTS};
use super::{and_list, failed, usage};
use anyhow::{bail, Result};
use clap::{ArgMatches, Args};
use quorum::runtime::door::{self, ClientFailure, ClientOpts, Reply, Runtime};
use quorum::runtime::wire::ClusterKey;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    flags: ClientFlags,
    #[command(subcommand)]
    op: ClientOp,
}

/// The client flags of every hosted protocol (`Hosting::ClientFlags`) side by side, and the whole
/// `quorum client` matches, operation included, for the protocol to read its own.
#[derive(Clone, Debug)]
struct ClientFlags {
    matches: ArgMatches,
}

impl clap::FromArgMatches for ClientFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(ClientFlags { matches: m.clone() })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.matches = m.clone();
        Ok(())
    }
}

impl Args for ClientFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        door::hosted().into_iter().fold(cmd, |cmd, r| r.client_flags(cmd))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Every hosted protocol's operations (`put`, `get`, `propose`): the one given, by name.
#[derive(Clone)]
struct ClientOp {
    protocol: &'static dyn Runtime,
}

impl clap::FromArgMatches for ClientOp {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let name = m.subcommand_name().unwrap_or_default();
        match door::with_op(name) {
            Some(protocol) => Ok(ClientOp { protocol }),
            None => {
                Err(clap::Error::raw(clap::error::ErrorKind::InvalidSubcommand, format!("no operation '{name}'\n")))
            }
        }
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Subcommand for ClientOp {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        door::hosted().into_iter().fold(cmd, |cmd, r| r.client_ops(cmd))
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        door::with_op(name).is_some()
    }
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

/// "--proposers and --learners apply to `propose` (paxos)".
fn refuse_foreign(chosen: &dyn Runtime, m: &ArgMatches) -> Result<(), String> {
    match foreign(chosen, m, |r, c| r.client_flags(c)) {
        None => Ok(()),
        Some((given, other)) => {
            let verb = if given.len() == 1 { "applies" } else { "apply" };
            let ops: Vec<String> = door::ops(other).iter().map(|o| format!("`{o}`")).collect();
            Err(format!("{} {verb} to {} ({})", and_list(&given), ops.join(", "), other.name()))
        }
    }
}

pub fn client(a: ClientArgs) -> ExitCode {
    let protocol = a.op.protocol;
    if let Err(e) = refuse_foreign(protocol, &a.flags.matches) {
        return usage(e);
    }
    let request = match protocol.client(&a.flags.matches) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    if let Err(e) = check_client_number(&a) {
        return usage(e);
    }
    let servers = match parse_peers(&a.peers) {
        Ok(s) => s,
        Err(e) => return usage(format!("{e:#}")),
    };
    let key = match ClusterKey::read(&a.key_file) {
        Ok(k) => k,
        Err(e) => return usage(e),
    };
    let to = ClientOpts {
        servers,
        key,
        number: a.client,
        attempts: a.attempts.max(1),
        timeout: Duration::from_millis(a.timeout_ms.max(1)),
    };
    match request(to) {
        Ok(Reply::Value(v)) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            match out.write_all(&v).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => failed(format!("cannot write the value to stdout: {e}")),
            }
        }
        Ok(Reply::Absent(why)) => {
            eprintln!("{why}");
            ExitCode::from(3)
        }
        Err(ClientFailure::Usage(e)) => usage(e),
        Err(ClientFailure::Failed(e)) => failed(e),
    }
}
