//! The ghost state: what happened along a path (elections, applied entries, client operations,
//! quorum checks), recorded for the properties.

use super::{server_state, RaftAction, RaftModel, RaftModelCfg, RaftSysState};
use crate::raft::actor::{RaftState, RaftTimer};
use crate::raft::client::{self};
use crate::raft::kv::{KvMap, KvOp, KvRet};
use crate::raft::log::{self, Entry};
use crate::raft::{majority, Index, OpKind, RaftMsg, Seq, Term};
use stateright::actor::{ActorModelAction, Envelope, Id};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Rewrite, RewritePlan};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Auxiliary ("ghost") state, kept along each path for the properties.
#[derive(Clone, PartialEq, Hash)]
pub struct RaftHistory {
    /// Every (term, server) elected: a server that became leader in that term.
    pub leaders: Arc<BTreeSet<(Term, Id)>>,
    /// Every entry some server applied (index ≤ its commit index), with the server's term when
    /// the entry was first applied.
    pub applied: Arc<BTreeMap<(Index, Entry), Term>>,
    /// A leader removed or changed an entry of its own log.
    pub append_only_broken: bool,
    /// Crash-restarts so far.
    pub crashes: u8,
    /// The term of a leader that crashed, if one did.
    pub crashed_leader: Option<Term>,
    /// Per client: operations invoked and operations returned.
    pub invoked: Vec<Seq>,
    pub returned: Vec<Seq>,
    /// The clients' operations on the replicated map (see [`super::kv`]).
    pub lin: Arc<LinearizabilityTester<Id, KvMap>>,
    /// With pre-vote: per proposed term and pre-candidate, the servers that sent it a "yes", until
    /// they make a majority with it; then the term moves to `pre_voted`.
    pub pre_votes: Arc<BTreeMap<(Term, Id), BTreeSet<Id>>>,
    /// The terms some server was pre-voted for by a majority.
    pub pre_voted: BTreeSet<Term>,
    /// With check-quorum: per leader (term, server), the followers whose acknowledgement it
    /// received since its last quorum check.
    pub heard: Arc<BTreeMap<(Term, Id), BTreeSet<Id>>>,
    /// A leader was deposed while a majority (itself included) still followed it.
    pub deposed_with_majority: bool,
    /// A leader passed a quorum check without having heard from a majority since the last one.
    pub kept_without_majority: bool,
    /// A leader stepped down at a quorum check.
    pub stepped_down: bool,
}

impl RaftHistory {
    pub(super) fn new(clients: usize) -> Self {
        RaftHistory {
            leaders: Arc::default(),
            applied: Arc::default(),
            append_only_broken: false,
            crashes: 0,
            crashed_leader: None,
            invoked: vec![0; clients],
            returned: vec![0; clients],
            lin: Arc::new(LinearizabilityTester::new(KvMap::default())),
            pre_votes: Arc::default(),
            pre_voted: BTreeSet::new(),
            heard: Arc::default(),
            deposed_with_majority: false,
            kept_without_majority: false,
            stepped_down: false,
        }
    }
}

impl std::fmt::Debug for RaftHistory {
    /// One line per field, in the notation of the server states (the Explorer shows it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elected: Vec<String> = self.leaders.iter().map(|(t, id)| format!("t{t}:s{}", usize::from(*id))).collect();
        let applied: Vec<String> = self.applied.iter().map(|((i, e), t)| format!("{i}:{e:?}@t{t}")).collect();
        writeln!(f, "elected: [{}]", elected.join(" "))?;
        writeln!(f, "applied: [{}]", applied.join(" "))?;
        writeln!(f, "crashes: {}, a leader crashed in: {:?}", self.crashes, self.crashed_leader)?;
        if self.append_only_broken {
            writeln!(f, "a leader's log shrank")?;
        }
        if !self.pre_votes.is_empty() {
            writeln!(f, "pre-votes: {}", id_sets(&self.pre_votes))?;
        }
        if !self.pre_voted.is_empty() {
            writeln!(f, "pre-voted by a majority: {:?}", self.pre_voted)?;
        }
        if !self.heard.is_empty() {
            writeln!(f, "leaders heard from: {}", id_sets(&self.heard))?;
        }
        for (flag, what) in [
            (self.deposed_with_majority, "a leader was deposed while a majority followed it"),
            (self.kept_without_majority, "a leader kept leading without a majority"),
            (self.stepped_down, "a leader stepped down at a quorum check"),
        ] {
            if flag {
                writeln!(f, "{what}")?;
            }
        }
        writeln!(f, "invoked: {:?}, returned: {:?}", self.invoked, self.returned)?;
        write!(f, "lin: {:?}", self.lin)
    }
}

/// `t2:s0<-{s1,s2} …`.
fn id_sets(m: &BTreeMap<(Term, Id), BTreeSet<Id>>) -> String {
    let s = |id: &Id| format!("s{}", usize::from(*id));
    let parts: Vec<String> = m
        .iter()
        .map(|((t, c), ids)| format!("t{t}:{}<-{{{}}}", s(c), ids.iter().map(s).collect::<Vec<_>>().join(",")))
        .collect();
    parts.join(" ")
}

impl Rewrite<Id> for RaftHistory {
    /// Symmetry permutes servers only: client ids in `lin` stay.
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let leaders = self.leaders.iter().map(|(t, id)| (*t, plan.rewrite(id))).collect();
        let sets = |m: &BTreeMap<(Term, Id), BTreeSet<Id>>| {
            let m: BTreeMap<(Term, Id), BTreeSet<Id>> = m
                .iter()
                .map(|((t, c), ids)| ((*t, plan.rewrite(c)), ids.iter().map(|i| plan.rewrite(i)).collect()))
                .collect();
            Arc::new(m)
        };
        RaftHistory {
            leaders: Arc::new(leaders),
            pre_votes: sets(&self.pre_votes),
            heard: sets(&self.heard),
            ..self.clone()
        }
    }
}

pub(super) fn record_msg_out(cfg: &RaftModelCfg, h: &RaftHistory, env: Envelope<&RaftMsg>) -> Option<RaftHistory> {
    if let RaftMsg::PreVoteReply { term, granted: true, candidate } = env.msg {
        return record_pre_vote(cfg, h, *term, *candidate, env.src);
    }
    let RaftMsg::Request(op) = env.msg else { return None };
    let c = cfg.client_number(env.src)?;
    if h.invoked.get(c).is_none_or(|n| *n >= op.seq) {
        return None; // the same request sent to another server
    }
    let mut h = h.clone();
    h.invoked[c] = op.seq;
    let invocation = match &op.kind {
        OpKind::Put(k, v) => KvOp::Put(k.clone(), v.clone()),
        OpKind::Get(k) => KvOp::Get(k.clone()),
        OpKind::Noop => return None, // clients send none
    };
    let _ = Arc::make_mut(&mut h.lin).on_invoke(env.src, invocation);
    Some(h)
}

/// A "yes" from `voter` to `candidate`'s pre-vote for `term`: once the term has a majority for
/// some server, only that is kept (the property asks no more).
fn record_pre_vote(cfg: &RaftModelCfg, h: &RaftHistory, term: Term, candidate: Id, voter: Id) -> Option<RaftHistory> {
    if h.pre_voted.contains(&term) {
        return None;
    }
    let mut h = record_in(h, |h| &mut h.pre_votes, (term, candidate), voter)?;
    let votes = h.pre_votes.get(&(term, candidate)).map_or(0, |v| v.len() + usize::from(!v.contains(&candidate)));
    if votes >= majority(cfg.servers) {
        h.pre_voted.insert(term);
        Arc::make_mut(&mut h.pre_votes).retain(|(t, _), _| *t != term);
    }
    Some(h)
}

/// Adds `id` to the set at `key` of one of the history's maps, if it is not there yet.
fn record_in(
    h: &RaftHistory,
    map: impl Fn(&mut RaftHistory) -> &mut Arc<BTreeMap<(Term, Id), BTreeSet<Id>>>,
    key: (Term, Id),
    id: Id,
) -> Option<RaftHistory> {
    let mut h = h.clone();
    let m = map(&mut h);
    if m.get(&key).is_some_and(|ids| ids.contains(&id)) {
        return None;
    }
    Arc::make_mut(m).entry(key).or_default().insert(id);
    Some(h)
}

/// Records a reply only when the client takes it: the one for its operation in flight; and with
/// check-quorum, an acknowledgement a leader receives (whether it still leads is for the quorum
/// check to see: [`RaftModel::observe`]).
pub(super) fn record_msg_in(cfg: &RaftModelCfg, h: &RaftHistory, env: Envelope<&RaftMsg>) -> Option<RaftHistory> {
    if let (RaftMsg::Appended { term, .. }, true) = (env.msg, cfg.check_quorum) {
        return record_in(h, |h| &mut h.heard, (*term, env.dst), env.src);
    }
    let RaftMsg::Reply { seq, value, .. } = env.msg else { return None };
    let c = cfg.client_number(env.dst)?;
    if h.returned.get(c).is_none_or(|n| n + 1 != *seq) || h.invoked.get(c).is_none_or(|n| n < seq) {
        return None;
    }
    let mut h = h.clone();
    h.returned[c] = *seq;
    let number = u8::try_from(c).unwrap_or(u8::MAX);
    let ret = match client::op(number, *seq, cfg.keys).kind {
        OpKind::Put(..) => KvRet::PutOk,
        OpKind::Get(_) | OpKind::Noop => KvRet::GetOk(value.clone()),
    };
    let _ = Arc::make_mut(&mut h.lin).on_return(env.dst, ret);
    Some(h)
}

impl RaftModel {
    /// Updates the ghost state after `action` led from `last` to `next`.
    pub(super) fn observe(&self, last: &RaftSysState, action: &RaftAction, next: &mut RaftSysState) {
        // The history's sets are shared between states (`Arc`): copied only when they grow.
        let h = &mut next.history;
        if let ActorModelAction::Crash(id) = action {
            h.crashes = h.crashes.saturating_add(1);
            if let Some(st) = server_state(last, usize::from(*id)).filter(|st| st.is_leader()) {
                h.crashed_leader = Some(st.term);
            }
        }
        if self.cfg.check_quorum {
            observe_leaders_lease(&self.cfg, last, action, next);
        }
        let (states, crashed, h) = (&next.actor_states, &next.crashed, &mut next.history);
        for (i, &down) in crashed.iter().enumerate().take(self.cfg.servers) {
            // As `server_state`: a crashed server holds no state.
            let Some(RaftState::Server(st)) = states.get(i).filter(|_| !down).map(|a| &**a) else { continue };
            if st.is_leader() {
                match server_state(last, i).filter(|b| b.is_leader()) {
                    // Leader Append-Only compares a leader's log with its log one step earlier.
                    Some(before) => {
                        if !st.log.starts_with(&before.log) {
                            h.append_only_broken = true;
                        }
                    }
                    // Election Safety counts elections: a server that just became leader.
                    None => {
                        let elected = (st.term, Id::from(i));
                        if !h.leaders.contains(&elected) {
                            Arc::make_mut(&mut h.leaders).insert(elected);
                        }
                    }
                }
            }
            for index in 1..=st.commit {
                if let Some(e) = log::entry_at(&st.log, index) {
                    let key = (index, e.clone());
                    if !h.applied.contains_key(&key) {
                        Arc::make_mut(&mut h.applied).insert(key, st.term);
                    }
                }
            }
        }
    }
}

/// With check-quorum: what the leaders' quorum checks and depositions show (the ghost state of
/// [`LEADER_HAS_QUORUM`], [`LEADER_STABLE`] and [`LEADER_STEPPED_DOWN`]).
fn observe_leaders_lease(cfg: &RaftModelCfg, last: &RaftSysState, action: &RaftAction, next: &mut RaftSysState) {
    for i in 0..cfg.servers {
        let Some(before) = server_state(last, i).filter(|st| st.is_leader()) else { continue };
        let id = Id::from(i);
        let after = server_state(next, i);
        let leads = after.is_some_and(|st| st.is_leader() && st.term == before.term);
        match action {
            ActorModelAction::Crash(c) if *c == id => {}
            // Its quorum check: it may stay only if a majority was heard from since the last.
            ActorModelAction::Timeout(t, RaftTimer::Election) if *t == id => {
                let key = (before.term, id);
                let heard = next.history.heard.get(&key).map_or(0, |ids| ids.len());
                if leads && heard + 1 < majority(cfg.servers) {
                    next.history.kept_without_majority = true;
                }
                if !leads {
                    next.history.stepped_down = true;
                }
                if next.history.heard.contains_key(&key) {
                    Arc::make_mut(&mut next.history.heard).remove(&key);
                }
            }
            // Deposed by a higher term: a majority must have left it first (its lease holders
            // are the servers of its term that follow it, and itself).
            _ if !leads => {
                let holders = (0..cfg.servers)
                    .filter_map(|j| server_state(last, j).map(|st| (j, st)))
                    .filter(|(j, st)| st.term == before.term && (*j == i || st.leader == Some(id)))
                    .count();
                if holders >= majority(cfg.servers) {
                    next.history.deposed_with_majority = true;
                }
            }
            _ => {}
        }
    }
    // Acknowledgements to a server that no longer leads in their term are of no more use.
    let leading: Vec<Option<Term>> =
        (0..cfg.servers).map(|i| server_state(next, i).filter(|st| st.is_leader()).map(|st| st.term)).collect();
    let leads = |(t, l): &(Term, Id)| leading.get(usize::from(*l)).copied().flatten() == Some(*t);
    if !next.history.heard.keys().all(leads) {
        Arc::make_mut(&mut next.history.heard).retain(|k, _| leads(k));
    }
}
