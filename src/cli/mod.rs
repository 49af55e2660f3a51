//! The `quorum` binary's commands, one module per job. main.rs holds only the clap tree and the
//! dispatch; each module here parses nothing itself beyond its own `clap::Args` and names no
//! protocol: the model commands find protocols through [`quorum::protocol`], the runtime commands
//! through [`quorum::runtime::door`].
//!
//! - [`check`]: `check`, `explore`, `bugs` — the model checker and the Explorer;
//! - [`node`]: `node`, `cluster`, `keygen` — real nodes over UDP, and the flags every runtime
//!   command shares (the protocol, its flags, `--peers`);
//! - [`client`]: `client` — one operation against a running cluster;
//! - [`bench`]: `bench` — the closed-loop benchmark of a fresh local cluster, and the `bench`
//!   command's tree (`bench check` is [`bench_check`]);
//! - [`loadgen`]: the hidden `bench-http-put` — the same load against etcd's HTTP gateway;
//! - [`bench_check`]: `bench check` — the checker's speed and memory against Stateright's own
//!   examples, and its tables;
//! - [`compare`]: Stateright's examples, copied from cargo's registry and built outside this
//!   repository, for `bench check`'s side-by-side comparison;
//! - [`process`]: child processes — a watchdog with peak memory, a group of nodes stopped in
//!   order, children that die with their parent;
//! - [`teach`]: `scenario`, the hidden `docs diagrams`, and `check --svg`.

pub mod bench;
pub mod bench_check;
pub mod check;
pub mod client;
pub mod compare;
pub mod loadgen;
pub mod node;
pub mod process;
pub mod teach;

use quorum::protocol;
use std::process::ExitCode;

/// Bad input: the message on stderr, exit code 2.
pub fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// The operation failed: the message on stderr, exit code 1.
pub fn failed(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

/// Parses the command line. A flag that the named protocol lacks but another has gets a hint
/// ("--acceptors applies to paxos, not raft").
pub fn parse<C: clap::Parser>() -> Result<C, ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match C::try_parse_from(&args) {
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

/// "a", "a and b", "a, b and c".
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's arguments have distinct ids and flags: the runtime commands put every
    /// hosted protocol's flags side by side, and clap checks for duplicates only in debug builds
    /// (the suites run in release).
    #[test]
    fn no_command_has_two_arguments_with_one_id_or_flag() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            let (mut ids, mut longs) = (Vec::new(), Vec::new());
            for a in cmd.get_arguments() {
                assert!(!ids.contains(&a.get_id().to_string()), "{path}: id {} twice", a.get_id());
                ids.push(a.get_id().to_string());
                if let Some(l) = a.get_long() {
                    assert!(!longs.contains(&l), "{path}: --{l} twice");
                    longs.push(l);
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path);
            }
        }
        let mut cmd = <crate::Cli as clap::CommandFactory>::command();
        cmd.build();
        walk(&cmd, "");
    }

    #[test]
    fn lists_read_as_prose() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&s(&["--a"])), "--a");
        assert_eq!(and_list(&s(&["--a", "--b"])), "--a and --b");
        assert_eq!(and_list(&s(&["--a", "--b", "--c"])), "--a, --b and --c");
    }
}
