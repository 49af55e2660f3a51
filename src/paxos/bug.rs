//! The Paxos bug zoo: classic mistakes, each planted behind one `if bugs.has(..)` at the line it
//! corrupts, off by default. Each names the property that must catch it; `models/paxos.rs`
//! asserts that the checker does.

use serde::Serialize;
use std::fmt;

/// A planted bug. See [`Bug::why`] for what goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Bug {
    /// Acceptor accepts an Accept(b) although it promised a higher ballot.
    AcceptorIgnoresPromise,
    /// Proposer adopts the value of the *lowest*-numbered accepted proposal among the promises.
    LowestAcceptedValue,
    /// Acceptor does not save its promise before answering; a crash forgets it.
    PromiseNotPersisted,
    /// Every proposer numbers its ballots like the first proposer: two proposers share a ballot.
    NonUniqueBallots,
    /// Learner counts every Accepted message it receives, so a duplicated one counts twice.
    LearnerCountsDuplicates,
    /// Proposer with no accepted value in its promises proposes a placeholder, not its client's.
    InventsValue,
    /// Learner does not save the value it learned; after a crash it has forgotten it.
    LearnerForgets,
    /// Proposer tells its client that the client's own value won, whatever was chosen.
    ReportsOwnValue,
    /// Acceptor treats its vote as final: once it accepted a value it ignores every Prepare.
    VoteIsFinal,
    /// Learner that has learned ignores every further Accepted: a restarted proposer, which
    /// forgot the decision, is never told it again.
    SilentLearner,
    /// Learner never asks the acceptors what they accepted: restarted after it lost votes (or
    /// missed the decision), it waits for Accepted messages that are not sent again.
    LearnerNoCatchUp,
    /// Learner takes two acceptors' Accepted for a majority: the majority of 3 acceptors,
    /// hard-coded. Invisible with 3 acceptors, where 2 is the majority; with 5, it learns a value
    /// only 2 of them accepted (`bug_config` checks it at 5).
    LearnerQuorumOfTwo,
}

impl Bug {
    pub const ALL: [Bug; 12] = [
        Bug::AcceptorIgnoresPromise,
        Bug::LowestAcceptedValue,
        Bug::PromiseNotPersisted,
        Bug::NonUniqueBallots,
        Bug::LearnerCountsDuplicates,
        Bug::InventsValue,
        Bug::LearnerForgets,
        Bug::ReportsOwnValue,
        Bug::VoteIsFinal,
        Bug::SilentLearner,
        Bug::LearnerNoCatchUp,
        Bug::LearnerQuorumOfTwo,
    ];

    /// The name used on the command line (`--bug NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Bug::AcceptorIgnoresPromise => "acceptor-ignores-promise",
            Bug::LowestAcceptedValue => "lowest-accepted-value",
            Bug::PromiseNotPersisted => "promise-not-persisted",
            Bug::NonUniqueBallots => "non-unique-ballots",
            Bug::LearnerCountsDuplicates => "learner-counts-duplicates",
            Bug::InventsValue => "invents-value",
            Bug::LearnerForgets => "learner-forgets",
            Bug::ReportsOwnValue => "reports-own-value",
            Bug::VoteIsFinal => "vote-is-final",
            Bug::SilentLearner => "silent-learner",
            Bug::LearnerNoCatchUp => "learner-no-catch-up",
            Bug::LearnerQuorumOfTwo => "learner-quorum-of-two",
        }
    }

    /// The property that must catch this bug (a name from [`crate::paxos::model::property`]).
    pub fn breaks(self) -> &'static str {
        use crate::paxos::model::property::*;
        match self {
            Bug::AcceptorIgnoresPromise
            | Bug::LowestAcceptedValue
            | Bug::PromiseNotPersisted
            | Bug::NonUniqueBallots => AGREEMENT,
            Bug::LearnerCountsDuplicates | Bug::LearnerQuorumOfTwo => LEARNER_AGREEMENT,
            Bug::InventsValue => VALIDITY,
            Bug::LearnerForgets => STABILITY,
            Bug::ReportsOwnValue => LINEARIZABLE,
            Bug::VoteIsFinal => EVENTUALLY_CHOSEN,
            Bug::SilentLearner => DECISION_RELEARNED,
            Bug::LearnerNoCatchUp => DECISION_LEARNED,
        }
    }

    /// One line: what goes wrong, and why the correct rule prevents it.
    pub fn why(self) -> &'static str {
        match self {
            Bug::AcceptorIgnoresPromise => "phase 2(b) without its guard: an acceptor that promised ballot n accepts a lower ballot, so an old proposer can overwrite a value a newer majority relies on",
            Bug::LowestAcceptedValue => "phase 2(a) must adopt the value of the highest-numbered accepted proposal: only that one can have been chosen by an earlier ballot",
            Bug::PromiseNotPersisted => "a promise is a commitment about the future; forgotten in a crash, the acceptor accepts a lower ballot it had promised to refuse",
            Bug::NonUniqueBallots => "with shared ballot numbers two proposers can both gather a majority of promises for 'the same' ballot and get two values accepted under it",
            Bug::LearnerCountsDuplicates => "phase 3 counts acceptors, not messages: on a network that duplicates, one acceptor's Accepted counted twice fakes a majority",
            Bug::InventsValue => "'any value' in phase 2(a) means any proposed value: a placeholder chosen by the proposer breaks validity",
            Bug::LearnerForgets => "a learner that answers reads must keep what it learned on disk; after a crash it has forgotten a chosen value",
            Bug::ReportsOwnValue => "a proposer must report the chosen value, which may be another client's; reporting success for its own is not linearizable",
            Bug::VoteIsFinal => "an acceptor's vote is not final, only a majority's is: acceptors that refuse higher ballots after voting can leave the cluster split forever",
            Bug::SilentLearner => "a proposer keeps only its round across a crash; restarted, it runs a new ballot that re-proposes the chosen value, and a learner that ignores those votes because it already learned never tells it: its clients wait forever",
            Bug::LearnerQuorumOfTwo => "phase 3 needs a majority, more than half of the acceptors: two are a majority of 3 only. With 5 acceptors a learner that counts two announces a value that 2 accepted and that a majority of the other 3 may never accept, or may outvote. A check with 3 acceptors cannot tell this rule from the correct one",
            Bug::LearnerNoCatchUp => "a learner keeps its votes in memory only and each acceptor sends its Accepted once; restarted after a crash took some of them, a learner that does not ask the acceptors what they accepted never counts a majority once the proposers stopped: it never learns, and its readers wait forever",
        }
    }

    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of planted Paxos bugs, usually empty.
pub type BugSet = crate::bugs::BugSet<Bug>;

impl crate::bugs::PlantedBug for Bug {
    const LIST: &'static [Bug] = &Bug::ALL;
    fn name(self) -> &'static str {
        Bug::name(self)
    }
    fn breaks(self) -> &'static str {
        Bug::breaks(self)
    }
    fn why(self) -> &'static str {
        Bug::why(self)
    }
    fn bit(self) -> u32 {
        self as u32
    }
}
