//! Scenarios: named, deterministic step sequences that replay a classic situation in the same
//! model the checker explores (built by the protocol's one model builder).
//!
//! A scenario is a list of [`Step`]s. Each step names the action to take by a *matcher*: the
//! beginning of the action as the model describes it in traces, e.g. `"s1 election timeout"` or
//! `"s0 -> s2 : RequestVote"`. Replay starts from the model's initial state and, at each step,
//! takes the one enabled action whose description starts with the matcher; no match, or more
//! than one, is an error naming the step. A step may instead assert that no enabled action
//! matches (the rule under study forbids it). At the end, the scenario's outcome is checked: the
//! `always` properties that must break along the path break, every other one holds, and a
//! predicate on the states reached is true.
//!
//! [`raft`], [`paxos`] and [`pbft`] hold the scenarios; [`all`] lists them for the CLI and the tests.

pub mod paxos;
pub mod pbft;
pub mod raft;

pub use crate::protocol::Protocol;
use stateright::{Expectation, Model, Path};
use std::fmt::Write as _;

/// One step of a scenario.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// The beginning of the action's description.
    pub matcher: &'static str,
    /// What the step shows, for the reader.
    pub note: &'static str,
    /// True: the step asserts that no enabled action matches, and takes none.
    pub impossible: bool,
}

/// Take the one enabled action whose description starts with `matcher`.
pub const fn step(matcher: &'static str, note: &'static str) -> Step {
    Step { matcher, note, impossible: false }
}

/// Assert that no enabled action starts with `matcher` here.
pub const fn cannot(matcher: &'static str, note: &'static str) -> Step {
    Step { matcher, note, impossible: true }
}

/// For a scenario's check: `Err(why())` unless `ok`.
pub(crate) fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why())
    }
}

/// For a scenario's check: the path's last state.
pub(crate) fn last<S>(states: &[S]) -> Result<&S, String> {
    states.last().ok_or_else(|| "the path is empty".to_owned())
}

/// A scenario's own check of its outcome: the config, its model and the states of the path.
pub type CheckFn<P> = fn(&P, &<P as Protocol>::Model, &[<P as Protocol>::State]) -> Result<(), String>;

/// A scenario over a protocol's model.
pub struct Spec<P: Protocol> {
    pub name: &'static str,
    /// One line: what the scenario shows.
    pub about: &'static str,
    pub cfg: fn() -> P,
    pub steps: &'static [Step],
    /// One line: the outcome the scenario asserts.
    pub expect: &'static str,
    /// The `always` properties that must be violated somewhere along the path (all others hold).
    pub violates: &'static [&'static str],
    /// The rest of the outcome, on the states of the path (the first is the initial state).
    pub check: CheckFn<P>,
}

/// A replay that could not be completed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("the model has no initial state")]
    NoInitialState,
    #[error("step {step} \"{matcher}\": no enabled action matches; enabled are:\n{}", list(.enabled))]
    NoMatch { step: usize, matcher: String, enabled: Vec<String> },
    #[error("step {step} \"{matcher}\": {} enabled actions match, make it unique:\n{}", .matching.len(), list(.matching))]
    Ambiguous { step: usize, matcher: String, matching: Vec<String> },
    #[error("after step {step}: \"{matcher}\" should be impossible here, but is enabled")]
    Possible { step: usize, matcher: String },
    #[error("the model refused to replay its own path (a bug in the scenario machinery)")]
    NotAPath,
}

fn list(items: &[String]) -> String {
    items.iter().map(|s| format!("    {s}")).collect::<Vec<_>>().join("\n")
}

/// One line of a replayed trace.
#[derive(Clone, Debug)]
pub struct TraceLine {
    /// The step's number (None for a step that asserts an action is impossible).
    pub number: Option<usize>,
    /// The action taken, as traces show it (or the matcher of an impossible step).
    pub action: String,
    pub note: &'static str,
}

/// A replayed scenario and its verdict.
#[derive(Clone, Debug)]
pub struct Run {
    pub name: &'static str,
    pub protocol: &'static str,
    pub about: &'static str,
    pub config: String,
    pub flags: Vec<String>,
    pub trace: Vec<TraceLine>,
    pub expect: &'static str,
    /// One line per property: its verdict along the path.
    pub verdicts: Vec<String>,
    /// Why the outcome does not hold (empty: it holds).
    pub failures: Vec<String>,
    /// The Explorer's path to the last state (`0/3/1/…`, for `#/steps/…`).
    pub explorer_path: String,
    /// The message-sequence diagram.
    pub svg: Option<String>,
}

impl Run {
    pub fn holds(&self) -> bool {
        self.failures.is_empty()
    }

    /// The command that serves this scenario's model in the Explorer.
    pub fn explore_command(&self) -> String {
        format!("quorum explore {} {}", self.protocol, self.flags.join(" "))
    }

    /// The trace, the verdicts and the Explorer link, as `quorum scenario NAME` prints them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario {} ({}): {}", self.name, self.protocol, self.about);
        let _ = writeln!(out, "model: {}", self.config);
        for line in &self.trace {
            let number = line.number.map_or("    ".to_owned(), |n| format!("{n:>3}."));
            let action = match line.number {
                Some(_) => line.action.clone(),
                None => format!("not possible: {}", line.action),
            };
            if line.note.is_empty() {
                let _ = writeln!(out, " {number} {action}");
            } else {
                let _ = writeln!(out, " {number} {action:<52} {}", line.note);
            }
        }
        let _ = writeln!(out, "properties along the path:");
        for v in &self.verdicts {
            let _ = writeln!(out, "  {v}");
        }
        let _ = writeln!(out, "expected: {}", self.expect);
        if self.holds() {
            let _ = writeln!(out, "outcome: as expected");
        } else {
            for f in &self.failures {
                let _ = writeln!(out, "outcome: NOT as expected: {f}");
            }
        }
        let _ = writeln!(out, "Explorer: {}", self.explore_command());
        let _ = writeln!(out, "  then open http://127.0.0.1:3000/#/steps/{}", self.explorer_path);
        out
    }
}

/// A scenario of any protocol.
pub trait Scenario: Sync {
    fn name(&self) -> &'static str;
    fn protocol(&self) -> &'static str;
    fn about(&self) -> &'static str;
    /// Replays the scenario and judges its outcome.
    fn run(&self) -> Result<Run, ReplayError>;
}

impl<P: Protocol> Scenario for Spec<P>
where
    Spec<P>: Sync,
{
    fn name(&self) -> &'static str {
        self.name
    }
    fn protocol(&self) -> &'static str {
        P::NAME
    }
    fn about(&self) -> &'static str {
        self.about
    }

    fn run(&self) -> Result<Run, ReplayError> {
        let cfg = (self.cfg)();
        let model = cfg.model();
        let (actions, states, trace) = replay(&cfg, &model, self.steps)?;
        let init = states.first().cloned().ok_or(ReplayError::NoInitialState)?;
        let path = Path::from_actions(&model, init, actions.iter()).ok_or(ReplayError::NotAPath)?;
        let explorer_path = path.encode(&model);
        let (verdicts, mut failures) = judge(&model, &states, self.violates);
        if let Err(why) = (self.check)(&cfg, &model, &states) {
            failures.push(why);
        }
        let title = format!("quorum scenario {} ({})", self.name, P::NAME);
        let svg = crate::teach::diagram::render(&model, path, &cfg.actor_names(), &title);
        Ok(Run {
            name: self.name,
            protocol: P::NAME,
            about: self.about,
            config: cfg.describe(),
            flags: cfg.flags(),
            trace,
            expect: self.expect,
            verdicts,
            failures,
            explorer_path,
            svg,
        })
    }
}

/// Replays `steps` from the initial state: the actions taken, the states visited (initial state
/// first) and the trace.
#[allow(clippy::type_complexity)]
pub fn replay<P: Protocol>(
    cfg: &P,
    model: &P::Model,
    steps: &[Step],
) -> Result<(Vec<P::Action>, Vec<P::State>, Vec<TraceLine>), ReplayError> {
    let init = model.init_states().into_iter().next().ok_or(ReplayError::NoInitialState)?;
    let mut states = vec![init];
    let mut actions = Vec::new();
    let mut trace = Vec::new();
    for s in steps {
        let Some(state) = states.last() else { return Err(ReplayError::NoInitialState) };
        let mut enabled = Vec::new();
        model.actions(state, &mut enabled);
        // Only actions that lead somewhere: the models refuse steps that change nothing.
        let steps_here: Vec<(P::Action, String, P::State)> = enabled
            .into_iter()
            .filter_map(|a| {
                let next = model.next_state(state, a.clone())?;
                Some((a.clone(), cfg.describe_action(&a), next))
            })
            .collect();
        let mut matching: Vec<_> = steps_here.iter().filter(|(_, d, _)| d.starts_with(s.matcher)).collect();
        let number = actions.len() + 1;
        if s.impossible {
            if !matching.is_empty() {
                return Err(ReplayError::Possible { step: number - 1, matcher: s.matcher.to_owned() });
            }
            trace.push(TraceLine { number: None, action: s.matcher.to_owned(), note: s.note });
            continue;
        }
        match matching.len() {
            0 => {
                return Err(ReplayError::NoMatch {
                    step: number,
                    matcher: s.matcher.to_owned(),
                    enabled: steps_here.iter().map(|(_, d, _)| d.clone()).collect(),
                })
            }
            1 => {}
            _ => {
                return Err(ReplayError::Ambiguous {
                    step: number,
                    matcher: s.matcher.to_owned(),
                    matching: matching.iter().map(|(_, d, _)| d.clone()).collect(),
                })
            }
        }
        let Some((action, description, next)) = matching.pop() else { return Err(ReplayError::NotAPath) };
        actions.push(action.clone());
        trace.push(TraceLine { number: Some(number), action: description.clone(), note: s.note });
        states.push(next.clone());
    }
    Ok((actions, states, trace))
}

/// The verdict of every property along the path, and what differs from `violates`.
fn judge<M: Model>(model: &M, states: &[M::State], violates: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for p in model.properties() {
        let first = states.iter().position(|s| match p.expectation {
            Expectation::Always => !(p.condition)(model, s),
            _ => (p.condition)(model, s),
        });
        let expected_violation = violates.contains(&p.name);
        let line = match (&p.expectation, first) {
            (Expectation::Always, Some(k)) => format!("always     {:<28} violated at step {k}", p.name),
            (Expectation::Always, None) => format!("always     {:<28} holds", p.name),
            (Expectation::Sometimes, Some(k)) => format!("sometimes  {:<28} true at step {k}", p.name),
            (Expectation::Sometimes, None) => format!("sometimes  {:<28} not reached", p.name),
            // A finite path says nothing about `eventually`; show when its condition held.
            (Expectation::Eventually, Some(k)) => format!("eventually {:<28} condition true at step {k}", p.name),
            (Expectation::Eventually, None) => format!("eventually {:<28} condition not reached", p.name),
        };
        verdicts.push(line);
        if p.expectation == Expectation::Always && first.is_some() != expected_violation {
            failures.push(if expected_violation {
                format!("\"{}\" should be violated along the path, but holds", p.name)
            } else {
                format!("\"{}\" is violated along the path", p.name)
            });
        }
    }
    for name in violates {
        if !model.properties().iter().any(|p| p.name == *name) {
            failures.push(format!("the model has no property \"{name}\""));
        }
    }
    (verdicts, failures)
}

/// Rebuilds a path from the Explorer's encoding of it (`0/3/1/…`: the initial state's index,
/// then each action's index among the enabled actions). None if it does not fit the model.
pub fn path_from_encoded<M: Model>(model: &M, encoded: &str) -> Option<Path<M::State, M::Action>>
where
    M::State: PartialEq + Clone,
    M::Action: PartialEq + Clone,
{
    let mut indices = encoded.split('/').map(|i| i.parse::<usize>().ok());
    let init = model.init_states().get(indices.next()??)?.clone();
    let mut state = init.clone();
    let mut actions = Vec::new();
    for index in indices {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let action = enabled.get(index?)?.clone();
        state = model.next_state(&state, action.clone())?;
        actions.push(action);
    }
    Path::from_actions(model, init, actions.iter())
}

/// Every scenario of every protocol, in the order the guide presents them.
pub fn all() -> Vec<&'static dyn Scenario> {
    crate::protocol::PROTOCOLS.iter().flat_map(|d| d.scenarios()).collect()
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static dyn Scenario> {
    all().into_iter().find(|s| s.name() == name)
}
