//! The model's configuration: the cluster, who is Byzantine, the bounds, the planted bugs, and
//! the one builder ([`PbftModelCfg::into_model`]).

use super::{invoke, PbftHistory, PbftModel};
use crate::pbft::actor::PbftActor;
use crate::pbft::byzantine::Menu;
use crate::pbft::client::ClientCfg;
use crate::pbft::replica::ReplicaCfg;
use crate::pbft::{Bug, BugSet, SeqNo, View};
use serde::Serialize;
use stateright::actor::{ActorModel, Id, Network};

/// A PBFT configuration and its bounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PbftModelCfg {
    /// `n`: replicas `0..n`; clients follow.
    pub replicas: usize,
    /// `f`: the faults the quorums are sized for (a quorum is `n - f`).
    pub f: usize,
    /// Byzantine replicas: the first ones (view 0's primary first) unless `byzantine_backups`.
    pub byzantine: usize,
    /// The Byzantine replicas are the last ones, backups in the first views.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub byzantine_backups: bool,
    /// Misbehaviours each Byzantine replica may choose, in total (the menu's budget).
    pub moves: u8,
    /// Whether the menu holds forgeries: messages in another replica's or a client's name, and
    /// certificates whose signatures do not verify.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forge: bool,
    /// The Byzantine replicas do nothing at all (a crash before their first step).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
    /// The Byzantine replicas run the correct code until each crashes, at any point, and no
    /// correct replica's timer fires before a crash: a correct primary is never suspected.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub crash: bool,
    pub clients: usize,
    /// Operations per client: Put, then Get, … one after the other.
    pub requests: u8,
    #[serde(skip_serializing_if = "is_one")]
    pub keys: u8,
    /// Bound: no replica goes beyond this view (so at most this many view changes).
    pub max_view: View,
    /// The high watermark: sequence numbers `1..=window` (None: one per request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<SeqNo>,
    /// The checkpoint period `K` (§4.3): a checkpoint after every `K`-th sequence number, and
    /// the window `h < n <= h + window` moves with the stable one. 0: no checkpoints.
    #[serde(skip_serializing_if = "is_zero")]
    pub checkpoint: SeqNo,
    #[serde(serialize_with = "crate::bugs::serialize")]
    pub bugs: BugSet,
    /// Remove dead messages from the network ([`super::reduction`]); off only to compare.
    #[serde(skip_serializing_if = "is_true")]
    pub reduce_dead: bool,
}

fn is_one(n: &u8) -> bool {
    *n == 1
}

fn is_zero(n: &SeqNo) -> bool {
    *n == 0
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for PbftModelCfg {
    /// The bound of `quorum check pbft`: n = 4, f = 1, view 0's primary Byzantine with one
    /// misbehaviour, one client with one request, in view 0. (With views <= 1, one view change,
    /// the check does not finish yet: docs/pbft.md.)
    fn default() -> Self {
        PbftModelCfg {
            replicas: 4,
            f: 1,
            byzantine: 1,
            byzantine_backups: false,
            moves: 1,
            forge: false,
            silent: false,
            crash: false,
            clients: 1,
            requests: 1,
            keys: 1,
            max_view: 0,
            window: None,
            checkpoint: 0,
            bugs: BugSet::NONE,
            reduce_dead: true,
        }
    }
}

/// A configuration that cannot be checked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CfgError {
    #[error("--replicas must be between 1 and 7, got {0}")]
    Replicas(usize),
    #[error("--f must be below --replicas ({1}), got {0}")]
    F(usize, usize),
    #[error("--byzantine {0} exceeds the {1} replicas")]
    Byzantine(usize, usize),
    #[error("--clients must be between 0 and 4, got {0}")]
    Clients(usize),
    #[error("--requests must be at most 4, got {0}")]
    Requests(u8),
    #[error("--keys must be between 1 and 26, got {0}")]
    Keys(u8),
    #[error("--max-view must be at most 4, got {0}")]
    MaxView(View),
    #[error("--window must be between 1 and 8, got {0}")]
    Window(SeqNo),
    #[error("--moves must be at most 8, got {0}")]
    Moves(u8),
    #[error("--checkpoint must be at most 4, got {0}")]
    Checkpoint(SeqNo),
}

impl PbftModelCfg {
    pub fn with_bug(mut self, bug: Bug) -> Self {
        self.bugs = self.bugs.with(bug);
        self
    }

    pub fn validate(&self) -> Result<(), CfgError> {
        if !(1..=7).contains(&self.replicas) {
            return Err(CfgError::Replicas(self.replicas));
        }
        if self.f >= self.replicas {
            return Err(CfgError::F(self.f, self.replicas));
        }
        if self.byzantine > self.replicas {
            return Err(CfgError::Byzantine(self.byzantine, self.replicas));
        }
        if self.clients > 4 {
            return Err(CfgError::Clients(self.clients));
        }
        if self.requests > 4 {
            return Err(CfgError::Requests(self.requests));
        }
        if !(1..=26).contains(&self.keys) {
            return Err(CfgError::Keys(self.keys));
        }
        if self.max_view > 4 {
            return Err(CfgError::MaxView(self.max_view));
        }
        if let Some(w) = self.window.filter(|w| !(1..=8).contains(w)) {
            return Err(CfgError::Window(w));
        }
        if self.moves > 8 {
            return Err(CfgError::Moves(self.moves));
        }
        if self.checkpoint > 4 {
            return Err(CfgError::Checkpoint(self.checkpoint));
        }
        Ok(())
    }

    /// The high watermark in force.
    pub fn window(&self) -> SeqNo {
        self.window.unwrap_or_else(|| (self.clients as SeqNo * SeqNo::from(self.requests)).max(1))
    }

    pub fn replica_cfg(&self) -> ReplicaCfg {
        ReplicaCfg {
            replicas: self.replicas,
            f: self.f,
            clients: self.clients,
            window: self.window(),
            checkpoint: self.checkpoint,
            sessions: 0,
            bugs: self.bugs,
        }
    }

    /// Whether replica `id` is Byzantine.
    pub fn is_byzantine(&self, id: Id) -> bool {
        let i = usize::from(id);
        match self.byzantine_backups {
            false => i < self.byzantine,
            true => i < self.replicas && i >= self.replicas - self.byzantine,
        }
    }

    pub fn is_replica(&self, id: Id) -> bool {
        usize::from(id) < self.replicas
    }

    /// The correct replicas' indices.
    pub fn correct(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.replicas).filter(|i| !self.is_byzantine(Id::from(*i)))
    }

    /// The client number of actor `id`, if it is a client.
    pub fn client_number(&self, id: Id) -> Option<usize> {
        usize::from(id).checked_sub(self.replicas).filter(|c| *c < self.clients)
    }

    /// r0, r1, … for replicas, c4, … for clients (letter and id).
    pub fn actor_name(&self, id: Id) -> String {
        format!("{}{}", if self.is_replica(id) { 'r' } else { 'c' }, usize::from(id))
    }

    pub fn describe(&self) -> String {
        let bugs = self.bugs.names();
        let who = match (self.byzantine, self.byzantine_backups) {
            (0, _) => "no Byzantine replica".to_owned(),
            (b, false) => format!("{b} Byzantine (the first, view 0's primary among them)"),
            (b, true) => format!("{b} Byzantine (the last, backups)"),
        };
        let acts = match (self.silent, self.crash) {
            (true, _) => "silent".to_owned(),
            (false, true) => "crashing at any point (no timer fires before)".to_owned(),
            (false, false) => format!(
                "with {} misbehaviour{}{}",
                self.moves,
                if self.moves == 1 { "" } else { "s" },
                if self.forge { " and forgeries" } else { "" }
            ),
        };
        format!(
            "{} replicas, f = {}, {who} {acts}, views <= {}, {} client{} x {} request{}{}, window {}{}, reordering duplicating network{}",
            self.replicas,
            self.f,
            self.max_view,
            self.clients,
            if self.clients == 1 { "" } else { "s" },
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            if self.keys == 1 { String::new() } else { format!(" on {} keys", self.keys) },
            self.window(),
            if self.checkpoint == 0 { String::new() } else { format!(", a checkpoint every {}", self.checkpoint) },
            if bugs.is_empty() { String::new() } else { format!(", bugs: {}", bugs.join(",")) },
        ) + if self.reduce_dead { "" } else { ", dead messages kept" }
    }

    /// Builds the model. Call [`validate`](Self::validate) first.
    pub fn into_model(self) -> PbftModel {
        let replica = self.replica_cfg();
        let moves = if self.crash { 1 } else { self.moves };
        let menu = Menu { moves, max_view: self.max_view, forge: self.forge, silent: self.silent, crash: self.crash };
        let mut history = PbftHistory::new(&self);
        for c in (0..self.clients).filter(|_| self.requests > 0) {
            invoke(&self, &mut history, c, 1);
        }
        let actors = ActorModel::new(self.clone(), history)
            .actors((0..self.replicas).map(|i| match self.is_byzantine(Id::from(i)) {
                true => PbftActor::Byzantine(replica.clone(), menu.clone()),
                false => PbftActor::Replica(replica.clone()),
            }))
            .actors((0..self.clients).map(|c| {
                PbftActor::Client(ClientCfg {
                    number: u8::try_from(c).unwrap_or(u8::MAX),
                    replicas: self.replicas,
                    f: self.f,
                    requests: self.requests,
                    keys: self.keys,
                    bugs: self.bugs,
                })
            }))
            .init_network(Network::new_unordered_duplicating([]));
        PbftModel { cfg: self, actors }
    }
}

/// The smallest bound at which the checker shows `bug`: where `quorum check pbft --bug NAME`
/// starts and the bug tests in models/ run.
pub fn bug_config(bug: Bug) -> PbftModelCfg {
    let base = PbftModelCfg::default();
    let cfg = match bug {
        // A view change that loses a request committed at one replica: no Byzantine replica needed.
        Bug::NewViewIgnoresPrepared => PbftModelCfg { byzantine: 0, max_view: 1, ..base },
        // A Put committed at one replica with its own commit and the Byzantine primary's; the
        // client's Get then takes its number in view 1.
        Bug::CommitQuorum2f => PbftModelCfg { requests: 2, max_view: 1, ..base },
        // An equivocating primary gets two clients' requests prepared at one number.
        Bug::PreparedWith2fMinus1 => PbftModelCfg { clients: 2, max_view: 1, ..base },
        // A Byzantine backup orders a second client's request at the primary's number.
        Bug::PrePrepareFromAnyone => {
            PbftModelCfg { byzantine_backups: true, moves: 2, clients: 2, max_view: 1, ..base }
        }
        // A lie about the Put, then one about the Get.
        Bug::ClientTrustsOneReply => PbftModelCfg { requests: 2, moves: 2, ..base },
        // A client request no client sent, forged by a Byzantine backup, ordered by the primary.
        Bug::NoAuthentication => PbftModelCfg { requests: 0, byzantine_backups: true, forge: true, ..base },
        // The normal case with no Byzantine replica: one reply only, where f+1 are needed.
        Bug::OnlyPrimaryReplies => PbftModelCfg { byzantine: 0, ..base },
        // Two clients' requests: the first executes at two replicas, which discard its
        // certificates before their checkpoint is stable; after a view change the second takes
        // its number at a third.
        Bug::CollectBeforeStable => {
            PbftModelCfg { byzantine: 0, clients: 2, max_view: 1, window: Some(2), checkpoint: 1, ..base }
        }
        // A Byzantine primary's null request at number 2, with no request at 1.
        Bug::ExecutePastGap => PbftModelCfg { clients: 0, window: Some(2), ..base },
    };
    cfg.with_bug(bug)
}
