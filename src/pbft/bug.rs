//! The PBFT bug zoo: classic mistakes, each planted behind one `if bugs.has(..)` at the line it
//! corrupts, off by default. Each names the property that must catch it; `models/pbft.rs` asserts
//! that the checker does, with the shortest counterexample's length.

use super::model::property::*;
use crate::bugs::PlantedBug;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Bug {
    /// A replica is committed-local with 2f matching commits instead of 2f+1.
    CommitQuorum2f,
    /// A replica is prepared with 2f-1 matching prepares instead of 2f.
    PreparedWith2fMinus1,
    /// A backup accepts a pre-prepare from a replica that is not the primary, or for a view it
    /// is not in.
    PrePrepareFromAnyone,
    /// A new primary ignores the prepared certificates of the view changes and fills every
    /// sequence number up to the highest prepared one with the null request.
    NewViewIgnoresPrepared,
    /// The client accepts the first reply instead of f+1 matching ones.
    ClientTrustsOneReply,
    /// Receivers believe the sender a message names, without checking the channel (or a
    /// certificate's signatures): a Byzantine replica can speak for others.
    NoAuthentication,
    /// A replica executes a committed request although a lower sequence number is not executed.
    ExecutePastGap,
    /// Only the primary replies to the client; the backups execute in silence.
    OnlyPrimaryReplies,
    /// A replica discards its log up to its own checkpoint at once, before 2f+1 replicas match
    /// it (the checkpoint is not stable yet).
    CollectBeforeStable,
}

pub type BugSet = crate::bugs::BugSet<Bug>;

impl Bug {
    pub const ALL: [Bug; 9] = [
        Bug::CommitQuorum2f,
        Bug::PreparedWith2fMinus1,
        Bug::PrePrepareFromAnyone,
        Bug::NewViewIgnoresPrepared,
        Bug::ClientTrustsOneReply,
        Bug::NoAuthentication,
        Bug::ExecutePastGap,
        Bug::OnlyPrimaryReplies,
        Bug::CollectBeforeStable,
    ];
}

impl PlantedBug for Bug {
    const LIST: &'static [Bug] = &Bug::ALL;

    fn name(self) -> &'static str {
        match self {
            Bug::CommitQuorum2f => "commit-quorum-2f",
            Bug::PreparedWith2fMinus1 => "prepared-with-2f-1",
            Bug::PrePrepareFromAnyone => "pre-prepare-from-anyone",
            Bug::NewViewIgnoresPrepared => "new-view-ignores-prepared",
            Bug::ClientTrustsOneReply => "client-trusts-one-reply",
            Bug::NoAuthentication => "no-authentication",
            Bug::ExecutePastGap => "execute-past-gap",
            Bug::OnlyPrimaryReplies => "only-primary-replies",
            Bug::CollectBeforeStable => "collect-before-stable",
        }
    }

    fn breaks(self) -> &'static str {
        match self {
            Bug::CommitQuorum2f
            | Bug::PreparedWith2fMinus1
            | Bug::PrePrepareFromAnyone
            | Bug::NewViewIgnoresPrepared
            | Bug::CollectBeforeStable => AGREEMENT,
            Bug::NoAuthentication => VALIDITY,
            Bug::ClientTrustsOneReply => LINEARIZABLE,
            Bug::ExecutePastGap => IN_ORDER,
            Bug::OnlyPrimaryReplies => EVENTUALLY_ANSWERED,
        }
    }

    fn why(self) -> &'static str {
        match self {
            Bug::CommitQuorum2f => {
                "2f commits may all come from prepared replicas that a view change's 2f+1 reports miss (one of them Byzantine): 2f+1 leaves f+1 correct ones, one of which every view-change quorum includes"
            }
            Bug::PreparedWith2fMinus1 => {
                "with 2f-1 prepares and an equivocating primary, two requests prepare at one sequence number: 2f prepares and the pre-prepare make 2f+1 replicas, and two such sets share a correct one"
            }
            Bug::PrePrepareFromAnyone => {
                "only the primary orders requests in its view: a backup that takes a pre-prepare from anyone lets a Byzantine replica assign a second request to a sequence number"
            }
            Bug::NewViewIgnoresPrepared => {
                "a request that committed somewhere is prepared at f+1 correct replicas and so in every new-view's view changes: a new primary must re-issue it, or another request takes its number"
            }
            Bug::ClientTrustsOneReply => {
                "one reply may come from the Byzantine replica: f+1 matching replies include a correct one"
            }
            Bug::NoAuthentication => {
                "a request must be its client's and a quorum must be distinct replicas: a Byzantine replica that can send in others' names gets a request no client sent executed, or fills a quorum alone"
            }
            Bug::OnlyPrimaryReplies => {
                "the client needs f+1 matching replies, since one may be a Byzantine replica's: every replica that executes must reply (section 4.1), or no result is ever accepted"
            }
            Bug::CollectBeforeStable => {
                "a replica may discard the certificates below a checkpoint only once 2f+1 replicas prove it (section 4.3): before that, a view change needs them, and without them a new primary gives an executed request's number to another"
            }
            Bug::ExecutePastGap => {
                "requests execute in sequence-number order: a replica that runs a later one first applies operations in an order no other replica does"
            }
        }
    }

    fn bit(self) -> u32 {
        self as u32
    }
}
