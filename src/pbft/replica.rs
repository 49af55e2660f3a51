//! A PBFT replica: one function per rule of the paper (Castro and Liskov, OSDI 1999; sections
//! cited), the same code for the primary and the backups. [`step`] dispatches a message to its
//! rule; the view-change timer's rule is [`on_view_change_timer`].
//!
//! Quorums: with `n` replicas of which `f` may be faulty, a quorum is `n - f` replicas, which is
//! the paper's 2f+1 when `n = 3f + 1` ([`quorum`]); a request is *prepared* with the pre-prepare
//! and `quorum - 1` (2f) matching prepares, *committed-local* with `quorum` (2f+1) matching
//! commits. The model may set `n < 3f + 1` to show what then breaks.

use super::{
    Bug, BugSet, Cached, Checkpoint, NewView, Op, OpKind, Order, PbftMsg, Prepared, Reply, ReplyCache, Req, SeqNo,
    Snapshot, Stable, StateDigest, Transfer, Value, View, ViewChange,
};
use crate::byzantine::authentic;
use crate::raft::kv::{KvMap, KvOp, KvRet};
use serde::Serialize;
use stateright::actor::{Id, Out};
use stateright::semantics::SequentialSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a replica knows of its cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaCfg {
    /// `n`: replicas are ids `0..n`, clients follow.
    pub replicas: usize,
    /// `f`: the faults the quorums are sized for.
    pub f: usize,
    pub clients: usize,
    /// The log size `L` (§4.3): sequence numbers `n` with `h < n <= h + L`, where the low
    /// watermark `h` is the replica's latest stable checkpoint (0 before any).
    pub window: SeqNo,
    /// The checkpoint period `K` (§4.3): a replica takes a checkpoint after executing each
    /// sequence number divisible by it. 0: none, and `h` stays 0.
    pub checkpoint: SeqNo,
    /// The reply cache's capacity in client sessions: beyond, the session whose last request
    /// executed least recently is dropped (so that the state, which a state transfer carries,
    /// stays bounded). 0: unbounded, as the paper's one entry per client.
    pub sessions: usize,
    #[serde(serialize_with = "crate::bugs::serialize")]
    pub bugs: BugSet,
}

impl ReplicaCfg {
    pub fn replica_ids(&self) -> impl Iterator<Item = Id> {
        (0..self.replicas).map(Id::from)
    }
    pub fn is_replica(&self, id: Id) -> bool {
        usize::from(id) < self.replicas
    }
    /// The actor of client number `c`.
    pub fn client_id(&self, c: u8) -> Id {
        Id::from(self.replicas + usize::from(c))
    }
    /// Whether receivers check that a message comes from the sender it names.
    pub fn authenticated(&self) -> bool {
        !self.bugs.has(Bug::NoAuthentication)
    }
}

/// §4.1: the primary of view `v` is replica `v mod n`.
pub fn primary(cfg: &ReplicaCfg, view: View) -> Id {
    let n = u64::try_from(cfg.replicas.max(1)).unwrap_or(1);
    Id::from(usize::try_from(view % n).unwrap_or(0))
}

/// A quorum: `n - f` replicas (2f+1 of 3f+1). Any two quorums share `n - 2f` replicas, at least
/// f+1 of them when `n >= 3f + 1`, so at least one correct one.
pub fn quorum(cfg: &ReplicaCfg) -> usize {
    cfg.replicas.saturating_sub(cfg.f).max(1)
}

/// §4.2: prepares a replica needs besides the pre-prepare: 2f (a quorum with the primary).
pub fn prepare_quorum(cfg: &ReplicaCfg) -> usize {
    let q = quorum(cfg).saturating_sub(1);
    if cfg.bugs.has(Bug::PreparedWith2fMinus1) {
        return q.saturating_sub(1); // the bug: 2f-1
    }
    q
}

/// §4.2: matching commits a replica needs to be committed-local: 2f+1.
pub fn commit_quorum(cfg: &ReplicaCfg) -> usize {
    if cfg.bugs.has(Bug::CommitQuorum2f) {
        return quorum(cfg).saturating_sub(1); // the bug: 2f
    }
    quorum(cfg)
}

/// A replica's log entry for one (view, sequence number): the pre-prepare it accepted and the
/// prepares and commits it received (its own included), each (request, sender).
///
/// Once the slot is prepared (committed-local), its prepares (commits) are forgotten and only
/// the fact is kept: more of them change nothing, and which ones came first matters to no rule
/// ([`settle`]). The paper's log keeps them; the model keeps one state where the paper's has one
/// per order of arrival.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Slot {
    pub pre_prepare: Option<Req>,
    pub prepares: BTreeSet<(Req, Id)>,
    pub commits: BTreeSet<(Req, Id)>,
    /// Prepared: the pre-prepare's request with 2f matching prepares.
    pub prepared: bool,
    /// Committed-local: prepared, its own commit sent, and 2f+1 matching commits.
    pub committed: bool,
}

/// A replica's state (§4).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ReplicaState {
    pub view: View,
    /// In a view change to `view`, waiting for its new-view (§4.4): only view-change and
    /// new-view messages are accepted.
    pub changing: bool,
    /// Client requests received and not yet executed: what the view-change timer waits for.
    pub pending: BTreeSet<Op>,
    pub log: BTreeMap<(View, SeqNo), Slot>,
    /// What the replica executed at each sequence number.
    pub executed: BTreeMap<SeqNo, Req>,
    pub kv: KvMap,
    /// Per client session, the last request executed and its result (§4.1: a repeated request
    /// is answered from here, not executed again). The paper keeps one per client, whose
    /// timestamps only grow; a client here numbers its requests 1, 2, … within a session (one
    /// per run, [`crate::runtime::client`]), so a new run is never answered from an old one's.
    pub replies: ReplyCache,
    /// View-change messages received (and its own), per view, first per sender.
    pub view_changes: BTreeMap<View, BTreeMap<Id, ViewChange>>,
    /// The latest stable checkpoint, with its proof (§4.3): its sequence number is the low
    /// watermark `h`. A replica that has not executed up to it fetches its state (§5.3).
    pub stable: Option<Stable>,
    /// Checkpoint messages above `h` (and its own), per sequence number, first per sender:
    /// the digest each reports.
    pub checkpoints: BTreeMap<SeqNo, BTreeMap<Id, StateDigest>>,
    /// The states of its own checkpoints at and above `h` (§4.3: a replica keeps the stable
    /// checkpoint's state and those above it), which it sends to a replica that fetches one.
    pub snapshots: BTreeMap<SeqNo, Snapshot>,
    /// The sequence number of the last stable checkpoint whose state the replica took instead
    /// of executing up to it (state transfer): it executed nothing from its own last execution
    /// up to there.
    pub transferred: SeqNo,
}

impl fmt::Debug for ReplicaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}{}", self.view, if self.changing { " (changing)" } else { "" })?;
        let executed: Vec<String> = self.executed.iter().map(|(n, r)| format!("{n}:{r:?}")).collect();
        write!(f, " executed [{}]", executed.join(" "))?;
        for ((v, n), slot) in &self.log {
            let reqs: BTreeSet<&Req> = slot
                .pre_prepare
                .iter()
                .chain(slot.prepares.iter().map(|(r, _)| r))
                .chain(slot.commits.iter().map(|(r, _)| r))
                .collect();
            for r in reqs {
                let count = |set: &BTreeSet<(Req, Id)>| set.iter().filter(|(q, _)| q == r).count();
                let ours = slot.pre_prepare.as_ref() == Some(r);
                let pp = if ours { "pp " } else { "" };
                let p =
                    if ours && slot.prepared { "prepared".to_owned() } else { format!("{}p", count(&slot.prepares)) };
                let c =
                    if ours && slot.committed { "committed".to_owned() } else { format!("{}c", count(&slot.commits)) };
                write!(f, " | v{v}#{n} {r:?}: {pp}{p} {c}")?;
            }
        }
        if !self.pending.is_empty() {
            write!(f, " | pending {:?}", self.pending)?;
        }
        if let Some(c) = &self.stable {
            write!(f, " | stable #{}", c.seq)?;
            if last_executed(self) < c.seq {
                write!(f, " (fetching its state)")?;
            }
        }
        for (n, cps) in &self.checkpoints {
            let from: Vec<String> = cps.keys().map(|r| format!("r{}", usize::from(*r))).collect();
            write!(f, " | checkpoints #{n} from {}", from.join(","))?;
        }
        for (v, vcs) in &self.view_changes {
            let from: Vec<String> = vcs.keys().map(|r| format!("r{}", usize::from(*r))).collect();
            write!(f, " | view changes for v{v} from {}", from.join(","))?;
        }
        Ok(())
    }
}

/// Sends `msg` to every replica but `me` (the paper's multicast; a replica's own message is
/// recorded in its log directly).
fn multicast(cfg: &ReplicaCfg, me: Id, msg: PbftMsg, o: &mut Out<super::PbftActor>) {
    for r in cfg.replica_ids().filter(|r| *r != me) {
        o.send(r, msg.clone());
    }
}

/// One message, to its rule.
pub fn step(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, src: Id, msg: PbftMsg, o: &mut Out<super::PbftActor>) {
    match msg {
        PbftMsg::Request(op) => on_request(s, cfg, me, src, op, o),
        PbftMsg::PrePrepare(order) => on_pre_prepare(s, cfg, me, src, order, o),
        PbftMsg::Prepare(order) => on_prepare(s, cfg, me, src, order, o),
        PbftMsg::Commit(order) => on_commit(s, cfg, me, src, order, o),
        PbftMsg::ViewChange(vc) => on_view_change(s, cfg, me, src, vc, o),
        PbftMsg::NewView(nv) => on_new_view(s, cfg, me, src, nv, o),
        PbftMsg::Checkpoint(c) => on_checkpoint(s, cfg, me, src, c, o),
        PbftMsg::Fetch { seq, replica } => on_fetch(s, cfg, me, src, seq, replica, o),
        PbftMsg::Transfer(t) => on_transfer(s, cfg, me, src, t, o),
        PbftMsg::Reply(_) => {}
    }
}

// The normal case (§4.2).

/// §4.1, §4.2: a client's request. One already executed is answered again from the reply
/// cache; a new one waits (and starts the view-change timer, §4.4), and the primary assigns it
/// a sequence number.
pub fn on_request(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, src: Id, op: Op, o: &mut Out<super::PbftActor>) {
    if usize::from(op.client) >= cfg.clients || !authentic(src, cfg.client_id(op.client), cfg.authenticated()) {
        return;
    }
    if let Some(c) = s.replies.get(&(op.client, op.session)) {
        if c.seq == op.seq {
            reply(s, cfg, me, &op, c.result.clone(), o);
        }
        if c.seq >= op.seq {
            return;
        }
    }
    s.pending.insert(op.clone());
    if primary(cfg, s.view) == me && !s.changing {
        assign(s, cfg, me, Req::Op(op), o);
        make_progress(s, cfg, me, o); // prepares may have come before the request
    }
}

/// §4.2, pre-prepare: the primary assigns the next sequence number of its view to a request it
/// has not ordered yet, within the watermarks, and multicasts `<PRE-PREPARE, v, n, d>`.
pub fn assign(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, req: Req, o: &mut Out<super::PbftActor>) {
    let v = s.view;
    let in_view = || s.log.range((v, 0)..=(v, SeqNo::MAX));
    if in_view().any(|(_, slot)| slot.pre_prepare.as_ref() == Some(&req)) {
        return;
    }
    // The next number the primary has not assigned: a slot that holds only prepares or commits
    // (a Byzantine replica's, sent ahead of any pre-prepare) uses up no number.
    let last = in_view().filter(|(_, slot)| slot.pre_prepare.is_some()).map(|((_, n), _)| *n).max().unwrap_or(0);
    let seq = last.max(low(s)) + 1;
    if !in_window(cfg, low(s), seq) {
        return; // above the high watermark: it waits until a checkpoint moves the window
    }
    s.log.entry((v, seq)).or_default().pre_prepare = Some(req.clone());
    multicast(cfg, me, PbftMsg::PrePrepare(Order { view: v, seq, req, replica: me }), o);
}

/// The low watermark `h` (§4.2, §4.3): the sequence number of the latest stable checkpoint.
pub fn low(s: &ReplicaState) -> SeqNo {
    s.stable.as_ref().map_or(0, |c| c.seq)
}

/// Whether `seq` is within the watermarks `h < n <= H = h + L` (§4.2), for low watermark `h`.
pub fn in_window(cfg: &ReplicaCfg, h: SeqNo, seq: SeqNo) -> bool {
    seq > h && seq - h <= cfg.window
}

/// §4.2: a backup accepts a pre-prepare if it is in view v, the pre-prepare is the primary's,
/// it accepted no other for (v, n), and n is within the watermarks; then it multicasts
/// `<PREPARE, v, n, d, i>`.
pub fn on_pre_prepare(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    src: Id,
    pp: Order,
    o: &mut Out<super::PbftActor>,
) {
    if !authentic(src, pp.replica, cfg.authenticated()) || me == pp.replica || !in_window(cfg, low(s), pp.seq) {
        return;
    }
    let from_primary = pp.replica == primary(cfg, pp.view) && pp.view == s.view && !s.changing;
    if !from_primary && !cfg.bugs.has(Bug::PrePrepareFromAnyone) {
        return;
    }
    let slot = s.log.entry((pp.view, pp.seq)).or_default();
    if slot.pre_prepare.is_some() {
        return; // one pre-prepare per (view, sequence number): the first
    }
    slot.pre_prepare = Some(pp.req.clone());
    // What arrived for another request can no longer count ([`counts`]).
    slot.prepares.retain(|(r, _)| *r == pp.req);
    slot.commits.retain(|(r, _)| *r == pp.req);
    slot.prepares.insert((pp.req.clone(), me));
    if let Req::Op(op) = &pp.req {
        if s.replies.get(&(op.client, op.session)).is_none_or(|c| c.seq < op.seq) {
            s.pending.insert(op.clone()); // it too waits for it to execute
        }
    }
    multicast(cfg, me, PbftMsg::Prepare(Order { replica: me, ..pp }), o);
    make_progress(s, cfg, me, o);
}

/// §4.2: a replica accepts a backup's prepare for its view within the watermarks (the primary
/// sends none).
pub fn on_prepare(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, src: Id, p: Order, o: &mut Out<super::PbftActor>) {
    if !authentic(src, p.replica, cfg.authenticated())
        || s.changing
        || p.view != s.view
        || !in_window(cfg, low(s), p.seq)
        || p.replica == primary(cfg, p.view)
        || !cfg.is_replica(p.replica)
    {
        return;
    }
    let slot = s.log.entry((p.view, p.seq)).or_default();
    if !counts(cfg, p.view, slot, &p.req, false) {
        return;
    }
    slot.prepares.insert((p.req, p.replica));
    make_progress(s, cfg, me, o);
}

/// §4.2: a replica accepts a commit for its view within the watermarks.
pub fn on_commit(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, src: Id, c: Order, o: &mut Out<super::PbftActor>) {
    if !authentic(src, c.replica, cfg.authenticated())
        || s.changing
        || c.view != s.view
        || !in_window(cfg, low(s), c.seq)
        || !cfg.is_replica(c.replica)
    {
        return;
    }
    let slot = s.log.entry((c.view, c.seq)).or_default();
    if !counts(cfg, c.view, slot, &c.req, true) {
        return;
    }
    slot.commits.insert((c.req, c.replica));
    make_progress(s, cfg, me, o);
}

/// Whether a prepare (or a commit) of `req` can still count at `slot`: not once the slot's
/// pre-prepare names another request, nor once the slot is prepared (committed-local), when
/// the certificate holds the first 2f prepares (2f+1 commits) and more change nothing. A
/// replica need keep no more (the paper's logs keep them; nothing reads the rest).
pub fn counts(cfg: &ReplicaCfg, view: View, slot: &Slot, req: &Req, commit: bool) -> bool {
    if slot.pre_prepare.as_ref().is_some_and(|pp| pp != req) {
        return false;
    }
    match commit {
        false => prepared(cfg, view, slot).is_none(),
        true => committed_local(cfg, view, slot).is_none(),
    }
}

/// §4.2, prepared(m, v, n, i): the pre-prepare and 2f matching prepares from distinct backups.
pub fn prepared<'a>(cfg: &ReplicaCfg, view: View, slot: &'a Slot) -> Option<&'a Req> {
    let req = slot.pre_prepare.as_ref()?;
    if slot.prepared {
        return Some(req);
    }
    let backups = slot.prepares.iter().filter(|(r, id)| r == req && *id != primary(cfg, view)).count();
    (backups >= prepare_quorum(cfg)).then_some(req)
}

/// §4.2, committed-local(m, v, n, i): prepared, and 2f+1 matching commits from distinct replicas.
pub fn committed_local<'a>(cfg: &ReplicaCfg, view: View, slot: &'a Slot) -> Option<&'a Req> {
    let req = prepared(cfg, view, slot)?;
    if slot.committed {
        return Some(req);
    }
    (slot.commits.iter().filter(|(r, _)| r == req).count() >= commit_quorum(cfg)).then_some(req)
}

/// Keeps of a slot only what a rule still reads (see [`Slot`]): once prepared, the fact instead
/// of the prepares; once committed-local with its own commit among them, the fact instead of
/// the commits.
fn settle(cfg: &ReplicaCfg, view: View, slot: &mut Slot, me: Id) {
    if !slot.prepared && prepared(cfg, view, slot).is_some() {
        slot.prepared = true;
        slot.prepares.clear();
    }
    let own = slot.pre_prepare.as_ref().is_some_and(|r| slot.commits.contains(&(r.clone(), me)));
    if !slot.committed && own && committed_local(cfg, view, slot).is_some() {
        slot.committed = true;
        slot.commits.clear();
    }
}

/// Whether the replica sent its commit for the slot's request.
fn sent_commit(slot: &Slot, me: Id) -> bool {
    slot.pre_prepare.as_ref().is_some_and(|r| sent(slot, me, r, true))
}

/// Whether the replica sent its prepare (or commit) of `req` at this slot: it is among those
/// recorded, or the slot settled on `req` (a replica's own counted before it settled).
pub fn sent(slot: &Slot, me: Id, req: &Req, commit: bool) -> bool {
    let (set, settled) = match commit {
        false => (&slot.prepares, slot.prepared),
        true => (&slot.commits, slot.committed),
    };
    set.contains(&(req.clone(), me)) || (settled && slot.pre_prepare.as_ref() == Some(req))
}

/// §4.2: once prepared, a replica multicasts `<COMMIT, v, n, D(m), i>`; then it executes what
/// it can.
fn make_progress(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, o: &mut Out<super::PbftActor>) {
    let v = s.view;
    for (_, slot) in s.log.range_mut((v, 0)..=(v, SeqNo::MAX)) {
        settle(cfg, v, slot, me);
    }
    let ready: Vec<(SeqNo, Req)> = s
        .log
        .range((v, 0)..=(v, SeqNo::MAX))
        .filter_map(|((_, n), slot)| prepared(cfg, v, slot).filter(|_| !sent_commit(slot, me)).map(|r| (*n, r.clone())))
        .collect();
    for (seq, req) in ready {
        let slot = s.log.entry((v, seq)).or_default();
        slot.commits.insert((req.clone(), me));
        settle(cfg, v, slot, me);
        multicast(cfg, me, PbftMsg::Commit(Order { view: v, seq, req, replica: me }), o);
    }
    execute(s, cfg, me, o);
}

/// The request committed-local at sequence number `seq`, in any view.
fn committed_at(s: &ReplicaState, cfg: &ReplicaCfg, seq: SeqNo) -> Option<Req> {
    s.log.iter().filter(|((_, n), _)| *n == seq).find_map(|((v, _), slot)| committed_local(cfg, *v, slot).cloned())
}

/// The last sequence number the replica executed, or whose state it took (§4.3).
pub fn last_executed(s: &ReplicaState) -> SeqNo {
    s.executed.keys().next_back().copied().unwrap_or(0).max(s.transferred)
}

/// §4.2: a replica executes a committed-local request once every lower sequence number has
/// executed, and replies to its client; §4.3: after each `K`-th it takes a checkpoint.
pub fn execute(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, o: &mut Out<super::PbftActor>) {
    loop {
        let next = if cfg.bugs.has(Bug::ExecutePastGap) {
            // The bug: any committed sequence number not yet executed, gap or not.
            let h = low(s);
            (h + 1..=h + cfg.window).find(|n| !s.executed.contains_key(n) && committed_at(s, cfg, *n).is_some())
        } else {
            Some(last_executed(s) + 1).filter(|n| committed_at(s, cfg, *n).is_some())
        };
        let Some(seq) = next else { return };
        let Some(req) = committed_at(s, cfg, seq) else { return };
        s.executed.insert(seq, req.clone());
        if let Req::Op(op) = req {
            apply(s, cfg, me, seq, op, o);
        }
        if cfg.checkpoint > 0 && seq.is_multiple_of(cfg.checkpoint) {
            take_checkpoint(s, cfg, me, seq, o);
        }
    }
}

/// Applies a client's operation, executed at sequence number `at`, to the map (once: a request
/// executed before is answered from the reply cache), records it in the reply cache and replies
/// (§4.1).
fn apply(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, at: SeqNo, op: Op, o: &mut Out<super::PbftActor>) {
    s.pending.remove(&op);
    let session = (op.client, op.session);
    let last = s.replies.get(&session).map_or(0, |c| c.seq);
    if op.seq < last {
        return;
    }
    if op.seq > last {
        let result = match s.kv.invoke(&kv_op(&op)) {
            KvRet::PutOk => None,
            KvRet::GetOk(v) => v,
        };
        s.replies.insert(session, Cached { seq: op.seq, result, at });
        bound_reply_cache(&mut s.replies, cfg);
    }
    let result = s.replies.get(&session).and_then(|c| c.result.clone());
    reply(s, cfg, me, &op, result, o);
}

/// A reply cache with a capacity ([`ReplicaCfg::sessions`]) drops the session whose last
/// request executed least recently: every correct replica drops the same, so their states (and
/// checkpoints' digests) stay equal.
pub fn bound_reply_cache(replies: &mut ReplyCache, cfg: &ReplicaCfg) {
    while cfg.sessions > 0 && replies.len() > cfg.sessions {
        let oldest = replies.iter().min_by_key(|(_, c)| c.at).map(|(k, _)| *k);
        let Some(oldest) = oldest else { return };
        replies.remove(&oldest);
    }
}

/// §4.1: every replica that executes a request replies to its client (the client needs f+1
/// matching replies).
fn reply(s: &ReplicaState, cfg: &ReplicaCfg, me: Id, op: &Op, result: Option<Value>, o: &mut Out<super::PbftActor>) {
    if cfg.bugs.has(Bug::OnlyPrimaryReplies) && primary(cfg, s.view) != me {
        return; // the bug: the backups stay silent
    }
    let reply = Reply { view: s.view, client: op.client, session: op.session, seq: op.seq, result, replica: me };
    o.send(cfg.client_id(op.client), PbftMsg::Reply(reply));
}

/// The map operation of a client's request (clients send no no-op; one reads nothing).
pub fn kv_op(op: &Op) -> KvOp {
    match &op.kind {
        OpKind::Put(k, v) => KvOp::Put(k.clone(), v.clone()),
        OpKind::Get(k) => KvOp::Get(k.clone()),
        OpKind::Noop => KvOp::Get(super::Key::from("")),
    }
}

// The view change (§4.4).

/// Whether the replica's view-change timer runs (§4.4): a backup waiting for a request to
/// execute, or any replica waiting for a new view.
pub fn wants_timer(s: &ReplicaState, cfg: &ReplicaCfg, me: Id) -> bool {
    s.changing || (!s.pending.is_empty() && primary(cfg, s.view) != me)
}

/// §4.4: the timer expires: the replica moves to the next view (§4.5.2: also when the view
/// change it started does not complete in time). A replica still behind its stable checkpoint asks for its state again (§5.3).
pub fn on_view_change_timer(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, o: &mut Out<super::PbftActor>) {
    if last_executed(s) < low(s) {
        fetch_state(cfg, me, low(s), o);
    }
    if wants_timer(s, cfg, me) {
        let next = s.view + 1;
        start_view_change(s, cfg, me, next, o);
        maybe_new_view(s, cfg, me, next, o);
    }
}

/// The prepared certificates a replica reports (§4.4's P): for each sequence number, the one of
/// the highest view in which it prepared.
pub fn certificates(s: &ReplicaState, cfg: &ReplicaCfg) -> BTreeSet<Prepared> {
    let mut best: BTreeMap<SeqNo, Prepared> = BTreeMap::new();
    for ((v, n), slot) in s.log.iter().filter(|((_, n), _)| *n > low(s)) {
        let Some(req) = prepared(cfg, *v, slot) else { continue };
        let prepares = prepare_quorum(cfg);
        best.insert(*n, Prepared { view: *v, seq: *n, req: req.clone(), prepares, forged: false });
    }
    best.into_values().collect()
}

/// §4.4: a replica enters view `view` (stops accepting normal-case messages) and multicasts
/// `<VIEW-CHANGE, v+1, n, C, P, i>`.
pub fn start_view_change(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, view: View, o: &mut Out<super::PbftActor>) {
    let vc = ViewChange { view, prepared: certificates(s, cfg), replica: me, stable: s.stable.clone() };
    s.view = view;
    s.changing = true;
    forget_earlier_views(s, view);
    s.view_changes.entry(view).or_default().insert(me, vc.clone());
    multicast(cfg, me, PbftMsg::ViewChange(vc), o);
}

/// Once a replica moves to `view`, no message of an earlier view is accepted any more: of those
/// views' slots only the prepared ones are still read (their certificates, for later view
/// changes, and what committed there, to execute). The rest is dropped, with the commits of a
/// slot that will now never be committed-local. (A Byzantine replica's menu then no longer
/// offers a request it knew only from a prepare or commit of such a slot.)
fn forget_earlier_views(s: &mut ReplicaState, view: View) {
    s.log.retain(|(v, _), slot| *v >= view || slot.prepared);
    for (_, slot) in s.log.range_mut(..(view, 0)) {
        if !slot.committed {
            slot.commits.clear();
        }
    }
}

/// §4.4: a certificate in a view change for `view` is valid if its signatures verify, it is of
/// an earlier view, within the watermarks of the view change's checkpoint `h`, and holds 2f
/// prepares of distinct backups (the model carries their number: with signatures that verify,
/// they are the backups' own).
pub fn valid_certificate(cfg: &ReplicaCfg, view: View, h: SeqNo, p: &Prepared) -> bool {
    (!p.forged || !cfg.authenticated())
        && p.view < view
        && in_window(cfg, h, p.seq)
        && p.prepares >= prepare_quorum(cfg)
}

/// §4.3: a stable checkpoint's proof is valid if its signatures verify and 2f+1 replicas signed
/// matching checkpoint messages for it, at a sequence number where replicas take checkpoints.
pub fn valid_stable(cfg: &ReplicaCfg, c: &Stable) -> bool {
    (!c.forged || !cfg.authenticated())
        && c.signers >= quorum(cfg)
        && cfg.checkpoint > 0
        && c.seq > 0
        && c.seq.is_multiple_of(cfg.checkpoint)
}

/// §4.4: a view-change message is valid if its checkpoint's proof and each of its certificates
/// are.
pub fn valid_view_change(cfg: &ReplicaCfg, vc: &ViewChange) -> bool {
    let h = vc.stable.as_ref().map_or(0, |c| c.seq);
    cfg.is_replica(vc.replica)
        && vc.stable.as_ref().is_none_or(|c| valid_stable(cfg, c))
        && vc.prepared.iter().all(|p| valid_certificate(cfg, vc.view, h, p))
}

/// §4.4: a replica collects valid view-change messages for views above its own (or the one it
/// is changing to); §4.5.2: f+1 of them from others for higher views make it join the smallest.
pub fn on_view_change(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    src: Id,
    vc: ViewChange,
    o: &mut Out<super::PbftActor>,
) {
    let current = vc.view > s.view || (vc.view == s.view && s.changing);
    if !authentic(src, vc.replica, cfg.authenticated()) || !current || vc.replica == me || !valid_view_change(cfg, &vc)
    {
        return;
    }
    let view = vc.view;
    let senders = s.view_changes.entry(view).or_default();
    if senders.contains_key(&vc.replica) {
        return;
    }
    senders.insert(vc.replica, vc);
    join_view_change(s, cfg, me, o);
    maybe_new_view(s, cfg, me, view, o);
}

/// §4.5.2: a replica that holds view changes from f+1 other replicas for views above its own
/// joins the smallest of those views, without waiting for its timer.
pub fn join_view_change(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, o: &mut Out<super::PbftActor>) {
    let above = s.view_changes.range(s.view + 1..);
    let senders: BTreeSet<Id> = above.clone().flat_map(|(_, vcs)| vcs.keys().copied()).filter(|r| *r != me).collect();
    if senders.len() < cfg.f + 1 {
        return;
    }
    if let Some((&view, _)) = above.into_iter().find(|(_, vcs)| vcs.keys().any(|r| *r != me)) {
        start_view_change(s, cfg, me, view, o);
        maybe_new_view(s, cfg, me, view, o);
    }
}

/// §4.4, the new view's starting checkpoint: the latest stable checkpoint in the view changes
/// `vcs` (min-s is its sequence number).
pub fn new_view_checkpoint(vcs: &BTreeSet<ViewChange>) -> Option<&Stable> {
    vcs.iter().filter_map(|vc| vc.stable.as_ref()).max_by_key(|c| c.seq)
}

/// §4.4, the new primary's O: for each sequence number above min-s ([`new_view_checkpoint`]) up
/// to the highest in a certificate of `vcs` (max-s), a pre-prepare of the request prepared in
/// the highest view, or of the null request.
pub fn new_view_pre_prepares(cfg: &ReplicaCfg, vcs: &BTreeSet<ViewChange>) -> BTreeMap<SeqNo, Req> {
    let min_s = new_view_checkpoint(vcs).map_or(0, |c| c.seq);
    let certs: Vec<&Prepared> = vcs.iter().flat_map(|vc| vc.prepared.iter()).collect();
    let max_s = certs.iter().map(|p| p.seq).max().unwrap_or(0);
    (min_s + 1..=max_s)
        .map(|n| {
            let highest = certs.iter().filter(|p| p.seq == n).max_by_key(|p| p.view);
            let req = match highest {
                Some(p) if !cfg.bugs.has(Bug::NewViewIgnoresPrepared) => p.req.clone(),
                _ => Req::Null, // a gap (or, the bug, every number)
            };
            (n, req)
        })
        .collect()
}

/// §4.4: the primary of `view`, holding 2f valid view changes for it from others, multicasts
/// `<NEW-VIEW, v+1, V, O>` and enters the view.
pub fn maybe_new_view(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, view: View, o: &mut Out<super::PbftActor>) {
    if primary(cfg, view) != me || s.view > view || (s.view == view && !s.changing) {
        return;
    }
    let others = s.view_changes.get(&view).map_or(0, |vcs| vcs.keys().filter(|r| **r != me).count());
    if others < quorum(cfg).saturating_sub(1) {
        return;
    }
    if s.view < view {
        start_view_change(s, cfg, me, view, o);
    }
    let vcs: BTreeSet<ViewChange> =
        s.view_changes.get(&view).map(|m| m.values().cloned().collect()).unwrap_or_default();
    let pre_prepares = new_view_pre_prepares(cfg, &vcs);
    let checkpoint = new_view_checkpoint(&vcs).cloned();
    let nv = NewView { view, view_changes: vcs, pre_prepares: pre_prepares.clone(), replica: me };
    multicast(cfg, me, PbftMsg::NewView(nv), o);
    enter_view(s, cfg, me, view, checkpoint, pre_prepares, o);
}

/// §4.4: a backup accepts a valid new-view ([`valid_new_view`]) of the view's primary; then it
/// enters the view.
pub fn on_new_view(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    src: Id,
    nv: NewView,
    o: &mut Out<super::PbftActor>,
) {
    let current = nv.view > s.view || (nv.view == s.view && s.changing);
    if !authentic(src, nv.replica, cfg.authenticated())
        || !current
        || nv.replica != primary(cfg, nv.view)
        || nv.replica == me
    {
        return;
    }
    if valid_new_view(cfg, &nv) {
        let checkpoint = new_view_checkpoint(&nv.view_changes).cloned();
        enter_view(s, cfg, me, nv.view, checkpoint, nv.pre_prepares, o);
    }
}

/// §4.4: a new-view is valid if its 2f+1 view changes are valid, for its view and from
/// distinct replicas, and its O is the one they give.
pub fn valid_new_view(cfg: &ReplicaCfg, nv: &NewView) -> bool {
    let senders: BTreeSet<Id> = nv.view_changes.iter().map(|vc| vc.replica).collect();
    senders.len() >= quorum(cfg)
        && senders.len() == nv.view_changes.len()
        && nv.view_changes.iter().all(|vc| vc.view == nv.view && valid_view_change(cfg, vc))
        && new_view_pre_prepares(cfg, &nv.view_changes) == nv.pre_prepares
}

/// §4.4: entering a view: the new view's checkpoint becomes stable if it is above the replica's
/// own (§4.3's garbage collection, and its state taken if the replica is behind it), the
/// pre-prepares of O are accepted (a backup multicasts its prepares for them), and the new
/// primary assigns numbers to the requests still waiting.
fn enter_view(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    view: View,
    checkpoint: Option<Stable>,
    pre_prepares: BTreeMap<SeqNo, Req>,
    o: &mut Out<super::PbftActor>,
) {
    s.view = view;
    s.changing = false;
    s.view_changes = s.view_changes.split_off(&(view + 1)); // of no more use
    if let Some(c) = checkpoint.filter(|c| c.seq > low(s)) {
        collect_garbage(s, cfg, me, c, o);
    }
    let leader = primary(cfg, view);
    for (seq, req) in pre_prepares {
        let slot = s.log.entry((view, seq)).or_default();
        slot.pre_prepare = Some(req.clone());
        if me != leader {
            slot.prepares.insert((req.clone(), me));
            multicast(cfg, me, PbftMsg::Prepare(Order { view, seq, req, replica: me }), o);
        }
    }
    if me == leader {
        for op in s.pending.clone() {
            assign(s, cfg, me, Req::Op(op), o);
        }
    }
    make_progress(s, cfg, me, o);
}

// Checkpoints and garbage collection (§4.3).

/// §4.3: after executing sequence number `seq` (a multiple of the period `K`), a replica records
/// its state and multicasts `<CHECKPOINT, n, d, i>`.
pub fn take_checkpoint(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, seq: SeqNo, o: &mut Out<super::PbftActor>) {
    if seq <= low(s) {
        return;
    }
    let state = Snapshot { kv: s.kv.clone(), replies: s.replies.clone() };
    let digest = state.digest();
    s.snapshots.insert(seq, state);
    s.checkpoints.entry(seq).or_default().insert(me, digest);
    multicast(cfg, me, PbftMsg::Checkpoint(Checkpoint { seq, digest, replica: me }), o);
    if cfg.bugs.has(Bug::CollectBeforeStable) {
        // The bug: the log up to its own checkpoint is discarded before 2f+1 replicas match it.
        s.log.retain(|(_, n), _| *n > seq);
    }
    maybe_stable(s, cfg, me, o);
}

/// §4.3: a replica collects other replicas' checkpoint messages above its low watermark, at
/// sequence numbers where replicas take checkpoints (a replica that fell behind needs those
/// beyond its high watermark too); the first per sender counts.
pub fn on_checkpoint(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    src: Id,
    c: Checkpoint,
    o: &mut Out<super::PbftActor>,
) {
    if !authentic(src, c.replica, cfg.authenticated())
        || !cfg.is_replica(c.replica)
        || c.replica == me
        || cfg.checkpoint == 0
        || !c.seq.is_multiple_of(cfg.checkpoint)
        || c.seq <= low(s)
    {
        return;
    }
    s.checkpoints.entry(c.seq).or_default().entry(c.replica).or_insert(c.digest);
    maybe_stable(s, cfg, me, o);
}

/// §4.3: a checkpoint with 2f+1 matching messages (a quorum, the replica's own among them or
/// not) is stable; the highest such becomes the replica's.
pub fn maybe_stable(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, o: &mut Out<super::PbftActor>) {
    let found = s.checkpoints.iter().rev().find_map(|(seq, cps)| {
        let digests: BTreeSet<&StateDigest> = cps.values().collect();
        digests.into_iter().find_map(|digest| {
            let signers = cps.values().filter(|x| *x == digest).count();
            (signers >= quorum(cfg)).then_some(Stable { seq: *seq, digest: *digest, signers, forged: false })
        })
    });
    let Some(c) = found.filter(|c| c.seq > low(s)) else { return };
    collect_garbage(s, cfg, me, c, o);
    if primary(cfg, s.view) == me && !s.changing {
        for op in s.pending.clone() {
            assign(s, cfg, me, Req::Op(op), o); // the window moved: what waited above it fits now
        }
    }
    make_progress(s, cfg, me, o);
}

/// §4.3: a stable checkpoint moves the low watermark to its sequence number and discards every
/// pre-prepare, prepare, commit and checkpoint message at or below it, and the states of its own
/// checkpoints below it (what executed there is kept: the properties read it). A replica that
/// has not executed up to it fetches its state ([`fetch_state`]). (Its callers then let it go
/// on: a primary assigns what waited above the old window, and the replica executes what it
/// can.)
pub fn collect_garbage(s: &mut ReplicaState, cfg: &ReplicaCfg, me: Id, c: Stable, o: &mut Out<super::PbftActor>) {
    let seq = c.seq;
    s.log.retain(|(_, n), _| *n > seq);
    s.checkpoints = s.checkpoints.split_off(&(seq + 1));
    s.snapshots = s.snapshots.split_off(&seq);
    s.stable = Some(c);
    if last_executed(s) < seq {
        fetch_state(cfg, me, seq, o);
    }
}

/// §5.3: a replica behind its stable checkpoint `seq` asks the others for its state (and asks
/// again when its view-change timer fires while it still waits: a fetch or its answer may be
/// lost).
pub fn fetch_state(cfg: &ReplicaCfg, me: Id, seq: SeqNo, o: &mut Out<super::PbftActor>) {
    multicast(cfg, me, PbftMsg::Fetch { seq, replica: me }, o);
}

/// §5.3: a replica that holds the state of its checkpoint `seq` sends it to the replica that
/// fetched it.
pub fn on_fetch(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    src: Id,
    seq: SeqNo,
    replica: Id,
    o: &mut Out<super::PbftActor>,
) {
    if !authentic(src, replica, cfg.authenticated()) || !cfg.is_replica(replica) || replica == me {
        return;
    }
    if let Some(state) = s.snapshots.get(&seq) {
        o.send(replica, PbftMsg::Transfer(Transfer { seq, state: state.clone(), replica: me }));
    }
}

/// §5.3: a replica behind its stable checkpoint takes a transferred state whose digest is the
/// checkpoint's (any replica may send it: the digest, which 2f+1 replicas signed, vouches for
/// it), then executes what it can above it.
pub fn on_transfer(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    src: Id,
    t: Transfer,
    o: &mut Out<super::PbftActor>,
) {
    let wanted = s.stable.as_ref().is_some_and(|c| c.seq == t.seq && t.state.digest() == c.digest);
    if !authentic(src, t.replica, cfg.authenticated()) || !wanted || last_executed(s) >= t.seq {
        return;
    }
    take_state(s, cfg, me, t.seq, t.state, o);
    make_progress(s, cfg, me, o);
}

/// §5.3: the replica's map and reply cache become the transferred state at `seq`, as if it had
/// executed up to there; the requests it waited for that the state has executed are answered
/// from the reply cache it took.
pub fn take_state(
    s: &mut ReplicaState,
    cfg: &ReplicaCfg,
    me: Id,
    seq: SeqNo,
    state: Snapshot,
    o: &mut Out<super::PbftActor>,
) {
    s.kv = state.kv.clone();
    s.replies = state.replies.clone();
    s.transferred = seq;
    s.snapshots.insert(seq, state);
    let answered: Vec<Op> = s
        .pending
        .iter()
        .filter(|op| s.replies.get(&(op.client, op.session)).is_some_and(|c| c.seq >= op.seq))
        .cloned()
        .collect();
    for op in answered {
        s.pending.remove(&op);
        if let Some(c) = s.replies.get(&(op.client, op.session)).cloned() {
            if c.seq == op.seq {
                reply(s, cfg, me, &op, c.result, o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbft::PbftActor;
    use stateright::actor::Command;

    fn cfg() -> ReplicaCfg {
        ReplicaCfg { replicas: 4, f: 1, clients: 1, window: 1, checkpoint: 1, sessions: 0, bugs: BugSet::NONE }
    }

    fn put(seq: crate::pbft::Seq) -> Op {
        crate::raft::client::op(0, seq, 1)
    }

    /// §4.3 and §5.3: a replica that executed nothing holds the Put as pending; 2f+1 matching
    /// checkpoint messages for #1 make the checkpoint stable: its log up to #1 is discarded, the
    /// window moves, and it fetches the state. A transferred state with another digest is not
    /// taken; the one 2f+1 signed is, and the Put is answered from the reply cache it holds.
    #[test]
    fn s4_3_a_replica_behind_a_stable_checkpoint_fetches_its_state_and_its_window_moves() {
        let (cfg, me) = (cfg(), Id::from(3));
        let mut s = ReplicaState::default();
        let mut o: Out<PbftActor> = Out::new();
        on_request(&mut s, &cfg, me, cfg.client_id(0), put(1), &mut o);
        assert_eq!(s.pending.len(), 1);
        let mut done = ReplicaState::default();
        done.kv.invoke(&kv_op(&put(1)));
        done.replies.insert((0, put(1).session), Cached { seq: 1, result: None, at: 1 });
        let state = Snapshot { kv: done.kv.clone(), replies: done.replies.clone() };
        let digest = state.digest();
        for r in 0..2 {
            on_checkpoint(&mut s, &cfg, me, Id::from(r), Checkpoint { seq: 1, digest, replica: Id::from(r) }, &mut o);
        }
        assert_eq!(low(&s), 0, "two checkpoint messages are not 2f+1");
        // A checkpoint with another state does not count with them.
        let other = Checkpoint { seq: 1, digest: Snapshot::default().digest(), replica: Id::from(2) };
        on_checkpoint(&mut s, &cfg, me, Id::from(2), other, &mut o);
        assert_eq!(low(&s), 0);
        let mut s2 = s.clone();
        s2.checkpoints.clear();
        let mut o: Out<PbftActor> = Out::new();
        for r in 0..3 {
            on_checkpoint(&mut s2, &cfg, me, Id::from(r), Checkpoint { seq: 1, digest, replica: Id::from(r) }, &mut o);
        }
        assert_eq!((low(&s2), last_executed(&s2)), (1, 0), "stable, and behind it");
        assert!(s2.checkpoints.is_empty());
        let fetches = o.iter().filter(|c| matches!(c, Command::Send(_, PbftMsg::Fetch { seq: 1, .. }))).count();
        assert_eq!(fetches, 3, "it asks every other replica for the state");
        // A replica holding the state sends it; the one fetching takes only the right one.
        let mut holder = ReplicaState::default();
        holder.snapshots.insert(1, state.clone());
        let mut o: Out<PbftActor> = Out::new();
        on_fetch(&mut holder, &cfg, Id::from(0), me, 1, me, &mut o);
        let sent: Vec<_> = o.into_iter().collect();
        assert!(matches!(&sent[..], [Command::Send(to, PbftMsg::Transfer(t))] if *to == me && t.state == state));
        let mut o: Out<PbftActor> = Out::new();
        let wrong = Transfer { seq: 1, state: Snapshot::default(), replica: Id::from(0) };
        on_transfer(&mut s2, &cfg, me, Id::from(0), wrong, &mut o);
        assert_eq!((last_executed(&s2), s2.pending.len()), (0, 1), "a state with another digest is refused");
        on_transfer(&mut s2, &cfg, me, Id::from(0), Transfer { seq: 1, state, replica: Id::from(0) }, &mut o);
        assert_eq!((s2.transferred, last_executed(&s2)), (1, 1));
        assert_eq!(s2.kv, done.kv);
        assert!(s2.pending.is_empty() && s2.snapshots.contains_key(&1));
        let replies = o.into_iter().filter(|c| matches!(c, Command::Send(_, PbftMsg::Reply(_))));
        assert_eq!(replies.count(), 1, "the Put answered from the state taken");
        let mut o: Out<PbftActor> = Out::new();
        let pp = |seq| Order { view: 0, seq, req: Req::Null, replica: Id::from(0) };
        on_pre_prepare(&mut s2, &cfg, me, Id::from(0), pp(1), &mut o);
        assert!(s2.log.is_empty(), "#1 is at the low watermark");
        on_pre_prepare(&mut s2, &cfg, me, Id::from(0), pp(2), &mut o);
        assert!(s2.log.contains_key(&(0, 2)), "#2 is in the window");
    }

    /// §4.1 with a capacity: a reply cache of two sessions drops, for a third, the session whose
    /// last request executed least recently, whatever the order of the sessions' names; a
    /// session that executes again is recent again.
    #[test]
    fn s4_1_a_reply_cache_with_a_capacity_drops_the_session_that_executed_least_recently() {
        let cfg = ReplicaCfg { sessions: 2, ..cfg() };
        let mut s = ReplicaState::default();
        let mut o: Out<PbftActor> = Out::new();
        let op = |session, seq| Op { session, ..crate::raft::client::op(0, seq, 1) };
        apply(&mut s, &cfg, Id::from(1), 1, op(9, 1), &mut o);
        apply(&mut s, &cfg, Id::from(1), 2, op(5, 1), &mut o);
        apply(&mut s, &cfg, Id::from(1), 3, op(9, 2), &mut o);
        apply(&mut s, &cfg, Id::from(1), 4, op(7, 1), &mut o);
        let held: Vec<(u64, u64)> = s.replies.iter().map(|((_, session), c)| (*session, c.at)).collect();
        assert_eq!(held, vec![(7, 4), (9, 3)], "session 5 executed least recently");
        let unbounded = ReplicaCfg { sessions: 0, ..cfg };
        bound_reply_cache(&mut s.replies, &unbounded);
        assert_eq!(s.replies.len(), 2);
    }

    /// §4.4: a view change carries the stable checkpoint with its proof and only the
    /// certificates above it; a proof with fewer than 2f+1 signers, or forged, makes it invalid;
    /// the new primary's O starts above the latest stable checkpoint of the view changes.
    #[test]
    fn s4_4_a_view_change_carries_the_stable_checkpoint_and_o_starts_above_it() {
        let cfg = ReplicaCfg { window: 2, ..cfg() };
        let stable = Stable { seq: 1, digest: Snapshot::default().digest(), signers: 3, forged: false };
        let cert = |seq| Prepared { view: 0, seq, req: Req::Null, prepares: 2, forged: false };
        let vc = |r: usize, stable: Option<Stable>, certs: Vec<Prepared>| ViewChange {
            view: 1,
            prepared: certs.into_iter().collect(),
            replica: Id::from(r),
            stable,
        };
        assert!(valid_view_change(&cfg, &vc(0, Some(stable.clone()), vec![cert(2)])));
        assert!(!valid_view_change(&cfg, &vc(0, Some(stable.clone()), vec![cert(1)])), "below its checkpoint");
        assert!(!valid_view_change(&cfg, &vc(0, Some(Stable { signers: 2, ..stable.clone() }), vec![])));
        assert!(!valid_view_change(&cfg, &vc(0, Some(Stable { forged: true, ..stable.clone() }), vec![])));
        let vcs: BTreeSet<ViewChange> =
            [vc(0, Some(stable.clone()), vec![cert(2)]), vc(1, None, vec![cert(1)]), vc(2, None, vec![])].into();
        assert_eq!(new_view_checkpoint(&vcs), Some(&stable));
        assert_eq!(new_view_pre_prepares(&cfg, &vcs), BTreeMap::from([(2, Req::Null)]));
    }
}
