//! One door per protocol: everything the rest of `quorum` needs of a protocol, in one trait.
//!
//! A protocol is a folder under `src/` (its rules, its `model/`) plus one `impl Protocol` for
//! its model configuration and one line in [`PROTOCOLS`]. The command line (`check`, `explore`,
//! `bugs`), the models/ suite, the scenarios and the diagram gallery all go through this trait,
//! and the runtime's commands (`node`, `cluster`, `client`, `bench`) through its companion
//! [`crate::runtime::door::Hosting`], reached from [`Protocol::runtime`]: so none of them names a
//! protocol, and adding one adds it everywhere. docs/architecture.md ("How to add a protocol")
//! walks through it.
//!
//! [`Protocol`] is the typed door a protocol implements; [`Door`] is the same door with the
//! types erased, for the registry and the CLI, and [`Entry`] turns one into the other.

use crate::bugs::PlantedBug;
use crate::check::{CheckOptions, CheckReport, Describe};
use crate::runtime::door::Runtime;
use crate::teach::scenario::{Scenario, Spec};
use serde::Serialize;
use stateright::Model;
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;

/// A protocol's model configuration, and all that hangs off it.
pub trait Protocol: Clone + Default + Serialize + Send + Sync + 'static {
    /// The name on the command line (`quorum check NAME`).
    const NAME: &'static str;
    /// One line for `quorum check --help`.
    const ABOUT: &'static str;
    /// The planted bugs (`quorum bugs NAME`).
    type Bug: PlantedBug;
    type Model: Model<State = Self::State, Action = Self::Action> + Clone + Send + Sync + 'static;
    type State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static;
    type Action: Clone + Debug + PartialEq + Send + Sync + 'static;
    /// The model's flags on the command line (`quorum check NAME --help` lists them).
    type Flags: clap::Args + clap::FromArgMatches;

    // The configuration.

    /// The configuration the flags ask for; with a bug, unset flags take the bug's smallest bound.
    fn from_flags(flags: &Self::Flags, bug: Option<Self::Bug>) -> Result<Self, String>;
    /// The flags that build this configuration (the inverse of [`Protocol::from_flags`]).
    fn flags(&self) -> Vec<String>;
    /// The smallest configuration in which `bug` is caught.
    fn bug_config(bug: Self::Bug) -> Self;
    /// The same configuration without any planted bug.
    fn without_bugs(&self) -> Self;
    /// The configuration in one line, for progress lines, test messages and docs.
    fn describe(&self) -> String;

    // The model.

    /// The model, from the protocol's one model builder.
    fn model(&self) -> Self::Model;
    /// One action as traces show it.
    fn describe_action(&self, a: &Self::Action) -> String;
    /// One state, for the last state of a discovery.
    fn describe_state(&self, s: &Self::State) -> String;
    /// The name of each actor (s0, c3, a0, p3, …), in id order.
    fn actor_names(&self) -> Vec<String>;
    /// The symmetry reduction: the representative of a state's class.
    fn symmetry(s: &Self::State) -> Self::State;
    /// The reduction that is always sound and always on under DFS.
    fn canonical(s: &Self::State) -> Self::State;
    /// What a counterexample's actions show beyond its steps, one line each, for reports: for
    /// PBFT, the replicas that signed conflicting messages, with the messages as evidence.
    fn evidence(&self, _actions: &[Self::Action]) -> Vec<String> {
        Vec::new()
    }
    /// Whether this configuration is beyond what the protocol tolerates, so that a safety
    /// property must fail (PBFT: more Byzantine replicas than f, or fewer than 3f+1 replicas):
    /// `quorum check` then stops at the first counterexample, as with a planted bug.
    fn beyond_tolerance(&self) -> bool {
        false
    }

    /// Runs `f` with what the checking room needs to report on this configuration.
    fn with_describe<R>(&self, f: impl FnOnce(&Describe<Self::Model>) -> R) -> R {
        let describe = Describe {
            protocol: Self::NAME,
            config: serde_json::to_value(self).unwrap_or(serde_json::Value::Null),
            action: &|a| self.describe_action(a),
            state: &|s| self.describe_state(s),
            symmetry: Self::symmetry,
            canonical: Self::canonical,
            evidence: &|a| self.evidence(a),
        };
        f(&describe)
    }

    /// Model-checks this configuration as `opts` say (see [`crate::check::run`]).
    fn check(&self, opts: &CheckOptions) -> CheckReport {
        self.with_describe(|d| crate::check::run(self.model(), opts, d))
    }

    /// Judges every property along one path of this configuration's model, as the Explorer
    /// encodes it (see [`crate::check::replay`]).
    fn check_path(&self, encoded: &str) -> Option<CheckReport> {
        self.with_describe(|d| crate::check::replay(self.model(), encoded, d))
    }

    // Teaching.

    /// The protocol's scenarios, in the guide's order.
    fn scenarios() -> &'static [Spec<Self>];
    /// The scenario that draws `bug`'s gallery diagram instead of a fresh search (a search
    /// that would take too long), if any.
    fn bug_scenario(_bug: Self::Bug) -> Option<&'static str> {
        None
    }

    // Running on UDP.

    /// How the protocol runs as real nodes (`quorum node|cluster|client|bench`), if it does:
    /// `Some(&Host::<Self>::NEW)` with an `impl` [`crate::runtime::door::Hosting`] for `Self`.
    fn runtime() -> Option<&'static dyn Runtime> {
        None
    }
}

/// One planted bug, as `quorum bugs` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct BugInfo {
    pub name: &'static str,
    pub breaks: &'static str,
    pub why: &'static str,
}

/// A protocol with its types erased: what the registry and the CLI hold.
pub trait Door: Sync {
    fn name(&self) -> &'static str;
    /// The subcommand `NAME` with the model's flags and `--bug`.
    fn command(&self) -> clap::Command;
    /// The configuration that `matches` (of [`Door::command`]) ask for.
    fn configure(&self, matches: &clap::ArgMatches) -> Result<Box<dyn Configured>, String>;
    fn bugs(&self) -> Vec<BugInfo>;
    fn scenarios(&self) -> Vec<&'static dyn Scenario>;
    /// Each planted bug's smallest configuration, with the scenario that draws it, if any.
    fn bug_configs(&self) -> Vec<(BugInfo, Box<dyn Configured>, Option<&'static str>)>;
    /// How the protocol runs on the UDP runtime, if it does ([`Protocol::runtime`]).
    fn runtime(&self) -> Option<&'static dyn Runtime>;
}

/// A configuration with its types erased: what `check` and `explore` do with it.
pub trait Configured {
    fn protocol(&self) -> &'static str;
    fn describe(&self) -> String;
    /// The flags that build this configuration.
    fn flags(&self) -> Vec<String>;
    fn check(&self, opts: &CheckOptions) -> CheckReport;
    /// Every property judged along one path (the Explorer's encoding), if it fits the model.
    fn check_path(&self, encoded: &str) -> Option<CheckReport>;
    /// The diagram of the path the Explorer encodes as `encoded`.
    fn svg(&self, encoded: &str, title: &str) -> Option<String>;
    /// Serves the Explorer; returns only if the server stops.
    fn serve(&self, addr: &str, threads: usize);
    /// [`Protocol::beyond_tolerance`].
    fn beyond_tolerance(&self) -> bool;
}

impl<P: Protocol> Configured for P {
    fn protocol(&self) -> &'static str {
        P::NAME
    }
    fn describe(&self) -> String {
        Protocol::describe(self)
    }
    fn flags(&self) -> Vec<String> {
        Protocol::flags(self)
    }
    fn check(&self, opts: &CheckOptions) -> CheckReport {
        Protocol::check(self, opts)
    }
    fn check_path(&self, encoded: &str) -> Option<CheckReport> {
        Protocol::check_path(self, encoded)
    }
    fn svg(&self, encoded: &str, title: &str) -> Option<String> {
        crate::teach::diagram::from_encoded(self, encoded, title)
    }
    fn serve(&self, addr: &str, threads: usize) {
        self.model().checker().threads(threads).serve(addr);
    }
    fn beyond_tolerance(&self) -> bool {
        Protocol::beyond_tolerance(self)
    }
}

/// The door of protocol `P`, for [`PROTOCOLS`].
pub struct Entry<P>(PhantomData<fn() -> P>);

impl<P> Entry<P> {
    pub const NEW: Entry<P> = Entry(PhantomData);
}

impl<P: Protocol> Door for Entry<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn command(&self) -> clap::Command {
        let bug = clap::Arg::new("bug").long("bug").value_name("NAME").help(format!(
            "Plant a bug (see `quorum bugs {}`); unset flags then default to the bug's smallest bound",
            P::NAME
        ));
        let cmd = clap::Command::new(P::NAME).next_help_heading("Model");
        <P::Flags as clap::Args>::augment_args(cmd).arg(bug).about(P::ABOUT)
    }

    fn configure(&self, matches: &clap::ArgMatches) -> Result<Box<dyn Configured>, String> {
        let flags = <P::Flags as clap::FromArgMatches>::from_arg_matches(matches).map_err(|e| e.to_string())?;
        let bug = match matches.get_one::<String>("bug") {
            None => None,
            Some(name) => Some(P::Bug::from_name(name).ok_or_else(|| {
                let names: Vec<_> = P::Bug::LIST.iter().map(|b| b.name()).collect();
                format!("unknown bug '{name}'; the {} bugs are: {}", title_case(P::NAME), names.join(", "))
            })?),
        };
        Ok(Box::new(P::from_flags(&flags, bug)?))
    }

    fn bugs(&self) -> Vec<BugInfo> {
        P::Bug::LIST.iter().map(|&b| info(b)).collect()
    }

    fn scenarios(&self) -> Vec<&'static dyn Scenario> {
        P::scenarios().iter().map(|s| s as &'static dyn Scenario).collect()
    }

    fn bug_configs(&self) -> Vec<(BugInfo, Box<dyn Configured>, Option<&'static str>)> {
        P::Bug::LIST
            .iter()
            .map(|&b| (info(b), Box::new(P::bug_config(b)) as Box<dyn Configured>, P::bug_scenario(b)))
            .collect()
    }

    fn runtime(&self) -> Option<&'static dyn Runtime> {
        P::runtime()
    }
}

fn info<B: PlantedBug>(b: B) -> BugInfo {
    BugInfo { name: b.name(), breaks: b.breaks(), why: b.why() }
}

/// "raft" → "Raft", for messages.
fn title_case(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Every protocol, in the order the CLI and the guide list them (the guide's scenarios start with
/// Raft's). Adding a protocol adds a line.
pub static PROTOCOLS: &[&dyn Door] = &[
    &Entry::<crate::raft::RaftModelCfg>::NEW,
    &Entry::<crate::paxos::PaxosModelCfg>::NEW,
    &Entry::<crate::pbft::PbftModelCfg>::NEW,
];

/// The protocol called `name`.
pub fn find(name: &str) -> Option<&'static dyn Door> {
    PROTOCOLS.iter().copied().find(|d| d.name() == name)
}

/// The protocols' names, for `quorum bugs NAME` and messages.
pub fn names() -> Vec<&'static str> {
    PROTOCOLS.iter().map(|d| d.name()).collect()
}

/// A `clap` subcommand that is one of [`PROTOCOLS`], with its own flags: `quorum check raft
/// --servers 5`. What the CLI's `check` and `explore` take.
#[derive(Clone, Debug)]
pub struct Chosen {
    pub name: String,
    pub matches: clap::ArgMatches,
}

impl Chosen {
    pub fn door(&self) -> &'static dyn Door {
        find(&self.name).expect("clap admits only registered protocols")
    }
}

impl clap::FromArgMatches for Chosen {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        match m.subcommand() {
            Some((name, sub)) if find(name).is_some() => Ok(Chosen { name: name.to_owned(), matches: sub.clone() }),
            _ => Err(clap::Error::raw(
                clap::error::ErrorKind::MissingSubcommand,
                format!("name a protocol: {}\n", names().join(", ")),
            )),
        }
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Subcommand for Chosen {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        PROTOCOLS.iter().fold(cmd, |cmd, d| cmd.subcommand(d.command())).subcommand_required(true)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        find(name).is_some()
    }
}

/// For a flag that `protocol` does not know: the protocols that do (for "--acceptors applies to
/// paxos, not raft").
pub fn protocols_with_flag(flag: &str) -> Vec<&'static str> {
    let long = flag.trim_start_matches('-').split('=').next().unwrap_or_default();
    PROTOCOLS
        .iter()
        .filter(|d| d.command().get_arguments().any(|a| a.get_long() == Some(long)))
        .map(|d| d.name())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every protocol's flags parse, and a configuration's `flags()` build that configuration
    /// again: for each planted bug's configuration and for the scenarios'. (`quorum scenario`
    /// prints them as the command that explores the same model.)
    #[test]
    fn every_configuration_is_rebuilt_by_its_own_flags() {
        for door in PROTOCOLS {
            door.command().debug_assert();
            let mut cfgs: Vec<Box<dyn Configured>> = door.bug_configs().into_iter().map(|(_, c, _)| c).collect();
            cfgs.push(door.configure(&door.command().get_matches_from([door.name()])).unwrap());
            for cfg in cfgs {
                let mut argv = vec![door.name().to_owned()];
                argv.extend(cfg.flags().iter().flat_map(|f| f.split(' ').map(str::to_owned).collect::<Vec<_>>()));
                let matches = door.command().try_get_matches_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                let again = door.configure(&matches).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                assert_eq!(again.describe(), cfg.describe(), "{argv:?}");
            }
        }
    }

    #[test]
    fn a_flag_of_another_protocol_is_named_with_its_protocol() {
        assert_eq!(protocols_with_flag("--acceptors"), ["paxos"]);
        assert_eq!(protocols_with_flag("--max-term=3"), ["raft"]);
        assert_eq!(protocols_with_flag("--clients"), ["raft", "paxos", "pbft"]);
        assert_eq!(protocols_with_flag("--max-view"), ["pbft"]);
        assert!(protocols_with_flag("--frobnicate").is_empty());
    }
}
