//! PBFT's runtime door ([`crate::runtime::door::Hosting`]): how `quorum node pbft`, `quorum
//! cluster pbft` and `quorum client pbft-put|pbft-get` run the model-checked [`PbftActor`]'s
//! correct replica over UDP, and what the runtime guards beyond the model's bounds
//! ([`crate::runtime::Hosted`]).
//!
//! The window and checkpoints. Replicas run the model's rules of §4.3 with a checkpoint every
//! [`CHECKPOINT`] sequence numbers and a log of [`WINDOW`]: a checkpoint message carries the
//! digest of the state, 2f+1 matching ones make it stable, the window moves and the log up to it
//! is discarded, so a cluster orders requests without end. A view change carries the stable
//! checkpoint with its proof (2f+1 signed checkpoint messages) and the certificates above it;
//! [`WINDOW`], [`MAX_KEY`] and [`MAX_VALUE`] are sized so that the largest new-view still fits in
//! one datagram (a test builds it). A replica behind a stable checkpoint fetches its state, which
//! travels in one datagram: the map holds at most [`MAX_KEYS`] keys and the reply cache
//! [`MAX_SESSIONS`] client sessions (the one that executed least recently is dropped, by the
//! replica's own rule, so every correct replica drops the same), and a test builds the largest.
//! A replica holds at most [`MAX_PENDING`] requests waiting; beyond, new ones are refused with a
//! logged reason and the client tries again.
//!
//! A misbehaving node. `--byzantine-mode MODE` makes one replica (`--byzantine-node`, default 0,
//! view 0's primary) Byzantine ([`PbftNode`]): it runs the correct code and changes what it
//! sends. `silent` sends nothing; `equivocate` sends each pre-prepare, prepare and commit of the
//! correct code to some of the other replicas and, for the same view and sequence number, the
//! null request to the rest, and answers a client's read with a value no client wrote. Each
//! message it sends is either the correct code's or an item of the model's menu
//! ([`super::byzantine::menu`]; a test checks it), so what it does is something the checked
//! model's Byzantine replica may do — only without the model's bound on how often.
//!
//! Replicas keep their state in memory only (`Storage = ()`): a replica killed and restarted
//! comes back empty, behind the others, until the next checkpoint becomes stable and it fetches
//! the state; meanwhile it counts against the f faults the quorums tolerate. That is PBFT's
//! fault model: at most f replicas faulty at once, whatever the fault.

use super::actor::{PbftActor, PbftState, PbftTimer};
use super::replica::{last_executed, low, new_view_pre_prepares, prepare_quorum, primary, ReplicaCfg, ReplicaState};
use super::signed::{self, CertProof, Evidence, Proofs, VcEvidence, VcProof, Wire};
use super::{
    BugSet, Key, NewView, Op, OpKind, Order, PbftModelCfg, PbftMsg, Prepared, Req, SeqNo, Snapshot, Value, View,
    ViewChange,
};
use crate::byzantine::Move;
use crate::runtime::client::{ClientError, KvClient, PbftClient};
use crate::runtime::door::{Bench, ClientFailure, ClientOpts, Hosting, KvRequest, NoFlags, Reply};
use crate::runtime::hosted::{Guard, Hosted, Status};
use crate::runtime::signing::ReplicaKeys;
use sha2::{Digest, Sha256};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The log size `L` (§4.2): sequence numbers `h+1 ..= h+L` above the low watermark `h`.
pub const WINDOW: SeqNo = 32;
/// The checkpoint period `K` (§4.3): a checkpoint after every `K`-th sequence number, half the
/// window, so that the primary goes on assigning numbers while a checkpoint becomes stable.
pub const CHECKPOINT: SeqNo = WINDOW / 2;
/// Checkpoint messages above the low watermark a replica holds from one other replica (a correct
/// one sends one per [`CHECKPOINT`] numbers; a replica behind needs those up to the first that
/// becomes stable).
pub const MAX_CHECKPOINTS: usize = 8;
/// Requests a replica holds waiting to execute; beyond, a new one is refused (the client tries
/// again).
pub const MAX_PENDING: usize = 64;
/// Client sessions the reply cache holds: beyond, the one that executed least recently is
/// dropped ([`ReplicaCfg::sessions`]), so that a state transfer fits in one datagram.
pub const MAX_SESSIONS: usize = 256;
/// Keys the map may hold: a Put of a new key beyond is refused, so that a state transfer fits
/// in one datagram (a test builds the largest).
pub const MAX_KEYS: usize = 256;
/// The longest key a client may name (bytes).
pub const MAX_KEY: usize = 32;
/// The largest value a client may write (bytes).
pub const MAX_VALUE: usize = 64;
/// Views above this are refused, so that no view number overflows (`view + 1`).
pub const MAX_VIEW: View = View::MAX / 2;
/// The most replicas a cluster may have (f = 1): a new-view holds a view change of each, so with
/// more the largest would not fit in one datagram.
pub const MAX_REPLICAS: usize = 4;

/// A runtime replica's state: the model's replica state, and the signatures it has seen and
/// made ([`signed::Proofs`]), to prove what it relays.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeState {
    pub replica: PbftState,
    pub proofs: Proofs,
}

/// The runtime keeps the record of what a replica executed (the model's ghost record, which its
/// properties read) only from its stable checkpoint on: the rules read only its last number, and
/// kept whole it would grow with every request (and be copied at every step).
fn forget_executed_below_stable(state: &mut PbftState) {
    let s = match state {
        PbftState::Replica(s) => s,
        PbftState::Byzantine(b) => &mut b.honest,
        PbftState::Client(_) => return,
    };
    let h = low(s);
    if s.executed.first_key_value().is_some_and(|(n, _)| *n < h) {
        s.executed = s.executed.split_off(&h);
    }
}

/// The replica's view of a state, correct or Byzantine.
fn replica_state(state: &PbftState) -> Option<&ReplicaState> {
    match state {
        PbftState::Replica(s) => Some(s),
        PbftState::Byzantine(s) => Some(&s.honest),
        PbftState::Client(_) => None,
    }
}

/// The first 8 bytes, in hex, of the SHA-256 of what a replica executed from its stable
/// checkpoint on (the runtime keeps no more, [`forget_executed_below_stable`]), in order: two
/// replicas at the same stable checkpoint show the same digest exactly when (but for a
/// collision) they executed the same sequence since.
pub fn executed_digest(s: &ReplicaState) -> String {
    let bytes = postcard::to_stdvec(&s.executed).unwrap_or_default();
    Sha256::digest(&bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Hosted for PbftNode {
    /// term: the view; commit: the last sequence number executed (or whose state it took);
    /// log_len: log slots held; last: the last executed, the digest of what it executed since
    /// its stable checkpoint ([`executed_digest`]), the digest of the state (the map and the reply
    /// cache) and the stable checkpoint.
    fn status(state: &NodeState) -> Status {
        let Some(s) = replica_state(&state.replica) else {
            return Status { role: "client".into(), ..Status::default() };
        };
        let role = match s.changing {
            true => "changing view",
            false => "replica",
        };
        let state = Snapshot { kv: s.kv.clone(), replies: s.replies.clone() }.digest();
        let state: String = state.0[..8].iter().map(|b| format!("{b:02x}")).collect();
        let executed = match s.executed.iter().next_back() {
            Some((n, r)) => format!("#{n} {r:?}, executed {}, ", executed_digest(s)),
            None => String::new(),
        };
        let last = format!("{executed}state {state}, stable #{}", low(s));
        Status { role: role.to_owned(), term: s.view, commit: last_executed(s), log_len: s.log.len() as u64, last }
    }

    /// A message whose signatures verify ([`signed::check`]); a client's request within the
    /// runtime's limits and the window; views below [`MAX_VIEW`]. (A request naming another
    /// client's number is already ignored by `replica::on_request`.)
    fn admit_msg(&self, state: &NodeState, src: Id, wire: &Wire) -> Guard {
        let Some(s) = replica_state(&state.replica) else { return Guard::Deliver };
        if let Some(cfg) = self.cfg() {
            if let Err(why) = signed::check(&self.keys, cfg, src, wire) {
                return Guard::Refuse(why);
            }
        }
        match wire.msg() {
            PbftMsg::Request(op) => admit_request(s, op),
            PbftMsg::PrePrepare(o) | PbftMsg::Prepare(o) | PbftMsg::Commit(o) if o.view > MAX_VIEW => {
                Guard::Refuse("view number too large")
            }
            PbftMsg::ViewChange(vc) if vc.view > MAX_VIEW => Guard::Refuse("view number too large"),
            PbftMsg::NewView(nv) if nv.view > MAX_VIEW => Guard::Refuse("view number too large"),
            PbftMsg::Checkpoint(c) => admit_checkpoint(s, c),
            _ => Guard::Deliver,
        }
    }

    fn admit_timeout(state: &NodeState, _timer: &PbftTimer) -> Guard {
        match replica_state(&state.replica) {
            Some(s) if s.view >= MAX_VIEW => Guard::Refuse("view space exhausted"),
            _ => Guard::Deliver,
        }
    }
}

/// How the Byzantine node of a cluster misbehaves (`--byzantine-mode`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByzantineMode {
    /// Sends nothing at all (a primary so is replaced by a view change).
    Silent,
    /// Tells some replicas one request and the others the null request for the same number,
    /// and lies to clients about what it read.
    Equivocate,
    /// Lies in view changes: reports the null request prepared, in the latest view, at every
    /// number it prepared, with certificates it signs in the others' names; as a new primary,
    /// relays the others' view changes with their certificates removed, signed in their names.
    ForgeViewChange,
}

/// (pbft) The flags of `quorum node pbft` and `quorum cluster pbft`: one misbehaving replica.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PbftNodeFlags {
    /// (pbft) Make one replica Byzantine: `silent` sends nothing; `equivocate` sends the null
    /// request instead of the real one to some replicas and lies to clients
    #[arg(long, value_enum)]
    byzantine_mode: Option<ByzantineMode>,
    /// (pbft) The replica --byzantine-mode applies to [default: 0, view 0's primary]
    #[arg(long, requires = "byzantine_mode")]
    byzantine_node: Option<usize>,
    /// (pbft) The replicas' signing keys: replicas.pub and this replica's replica-ID.key (from
    /// `quorum keygen --pbft-replicas N DIR`; `quorum cluster` writes them)
    #[arg(long, value_name = "DIR")]
    replica_keys: Option<PathBuf>,
}

/// A runtime replica: the model-checked correct replica, its signing keys, and, on the one
/// Byzantine node, how it misbehaves ([`misbehave`], [`forge`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftNode {
    pub actor: PbftActor,
    pub mode: Option<ByzantineMode>,
    pub keys: ReplicaKeys,
}

impl PbftNode {
    fn cfg(&self) -> Option<&ReplicaCfg> {
        match &self.actor {
            PbftActor::Replica(cfg) | PbftActor::Byzantine(cfg, _) => Some(cfg),
            PbftActor::Client(_) => None,
        }
    }

    /// Passes the correct code's commands on, each message signed ([`signed::seal`]) with the
    /// proofs of what it relays, the sends changed as the mode says.
    fn relay(&self, me: Id, inner: Out<PbftActor>, proofs: &mut Proofs, o: &mut Out<Self>) {
        let Some(cfg) = self.cfg() else { return };
        // A multicast sends one message to each replica: it is signed once.
        let mut last: Option<(PbftMsg, Wire)> = None;
        let mut seal = |msg: PbftMsg, proofs: &mut Proofs| match &last {
            Some((m, w)) if *m == msg => w.clone(),
            _ => {
                let w = match self.mode {
                    Some(ByzantineMode::ForgeViewChange) => forge(&self.keys, cfg, proofs, msg.clone()),
                    _ => signed::seal(&self.keys, cfg, proofs, msg.clone()),
                };
                last = Some((msg, w.clone()));
                w
            }
        };
        for c in inner {
            match c {
                Command::Send(_, PbftMsg::Transfer(t)) if !fits(&t) => {
                    tracing::error!(
                        replica = usize::from(me),
                        seq = t.seq,
                        "the state at this checkpoint does not fit in one datagram: not sent (a replica behind it stays behind)"
                    );
                }
                Command::Send(to, msg) => match self.mode {
                    Some(mode @ (ByzantineMode::Silent | ByzantineMode::Equivocate)) => {
                        for (to, msg) in misbehave(mode, cfg, me, to, msg) {
                            o.send(to, seal(msg, proofs));
                        }
                    }
                    _ => o.send(to, seal(msg, proofs)),
                },
                c => pass(c, o),
            }
        }
    }

    /// Runs the correct code's `step` on the replica's state, then relays what it sends.
    fn step(
        &self,
        id: Id,
        state: &mut Cow<NodeState>,
        o: &mut Out<Self>,
        step: impl FnOnce(&mut Cow<PbftState>, &mut Out<PbftActor>),
    ) {
        let mut inner = Out::new();
        let next = {
            let mut replica = Cow::Borrowed(&state.replica);
            step(&mut replica, &mut inner);
            match replica {
                Cow::Owned(s) => Some(s),
                Cow::Borrowed(_) => None,
            }
        };
        if let Some(s) = next {
            let marks = |s: &PbftState| replica_state(s).map(|r| (r.view, low(r)));
            let moved = marks(&s) != marks(&state.replica);
            let state = state.to_mut();
            state.replica = s;
            // Signatures of what can no longer be relayed go once the view or the low watermark
            // moves: the proofs stay as bounded as the replica's log, however many views a
            // partition lasts and however many requests a cluster orders.
            if moved {
                forget_executed_below_stable(&mut state.replica);
            }
            if let (true, Some(r)) = (moved, replica_state(&state.replica)) {
                state.proofs.prune(r);
            }
        }
        let sends = inner.iter().any(|c| matches!(c, Command::Send(..)));
        if sends {
            self.relay(id, inner, &mut state.to_mut().proofs, o);
        } else {
            self.relay(id, inner, &mut Proofs::default(), o);
        }
    }
}

/// What a replica in mode `forge-view-change` sends instead of the correct code's `msg`: a view
/// change reports, at each number it prepared (or number 1 if none), the null request prepared
/// in the view before it, with a certificate signed by this replica in the primary's and the
/// backups' names; a new-view relays that lie and the others' view changes with no
/// certificates, signed in their names, and the O they give. Everything else is the correct code's, signed. The lie in
/// the view change is on the model's menu (a certificate it does not have, `forged`); the
/// model's Byzantine replica sends no new-view, so that lie is the runtime's alone to refuse.
pub fn forge(keys: &ReplicaKeys, cfg: &ReplicaCfg, proofs: &mut Proofs, msg: PbftMsg) -> Wire {
    let in_their_name = |p: &Prepared| {
        let leader = primary(cfg, p.view);
        let order = |replica| Order { view: p.view, seq: p.seq, req: p.req.clone(), replica };
        let backups = cfg.replica_ids().filter(|b| *b != leader).take(prepare_quorum(cfg));
        CertProof {
            pre_prepare: keys.sign(&signed::signed_bytes(&PbftMsg::PrePrepare(order(leader)))),
            prepares: backups
                .map(|b| (usize::from(b), keys.sign(&signed::signed_bytes(&PbftMsg::Prepare(order(b))))))
                .collect(),
        }
    };
    match msg {
        PbftMsg::ViewChange(vc) => {
            let mut seqs: Vec<SeqNo> = vc.prepared.iter().map(|p| p.seq).collect();
            if seqs.is_empty() {
                seqs.push(1);
            }
            let lie = |seq| Prepared {
                view: vc.view.saturating_sub(1),
                seq,
                req: Req::Null,
                prepares: prepare_quorum(cfg),
                forged: false,
            };
            let vc = ViewChange { prepared: seqs.into_iter().map(lie).collect(), ..vc };
            let certs: Vec<CertProof> = vc.prepared.iter().map(in_their_name).collect();
            let msg = PbftMsg::ViewChange(vc.clone());
            let sig = keys.sign(&signed::signed_bytes(&msg));
            let evidence = VcEvidence { certs, stable: stable_proof_of(proofs, &vc) };
            proofs.view_changes.insert(vc, VcProof { sig, evidence: evidence.clone() });
            Wire::Signed { msg, sig, evidence: Evidence::ViewChange(evidence) }
        }
        PbftMsg::NewView(nv) => {
            let me = Id::from(keys.me());
            let mut view_changes = Vec::new();
            let mut vcs = std::collections::BTreeSet::new();
            for vc in nv.view_changes {
                let own_lie = proofs.view_changes.keys().find(|k| k.replica == me && k.view == vc.view).cloned();
                let vc = match vc.replica == me {
                    true => own_lie.unwrap_or(vc),
                    false => ViewChange { prepared: Default::default(), ..vc },
                };
                vcs.insert(vc);
            }
            for vc in &vcs {
                let proof = match proofs.view_changes.get(vc) {
                    Some(p) => p.clone(),
                    None => VcProof {
                        sig: keys.sign(&signed::signed_bytes(&PbftMsg::ViewChange(vc.clone()))),
                        evidence: VcEvidence { certs: Vec::new(), stable: stable_proof_of(proofs, vc) },
                    },
                };
                view_changes.push(proof);
            }
            let pre_prepares = new_view_pre_prepares(cfg, &vcs);
            let nv = NewView { view_changes: vcs, pre_prepares, ..nv };
            let Wire::Signed { msg, sig, evidence: Evidence::NewView { pre_prepares, .. } } =
                signed::seal(keys, cfg, proofs, PbftMsg::NewView(nv))
            else {
                unreachable!("a new-view is signed")
            };
            Wire::Signed { msg, sig, evidence: Evidence::NewView { view_changes, pre_prepares } }
        }
        msg => signed::seal(keys, cfg, proofs, msg),
    }
}

/// The proof of `vc`'s stable checkpoint from `proofs` (empty if it claims none).
fn stable_proof_of(proofs: &Proofs, vc: &ViewChange) -> signed::StableProof {
    vc.stable.as_ref().and_then(|c| signed::stable_proof(proofs, c)).unwrap_or_default()
}

/// One command of the correct code, unchanged but for its message, signed by `relay`.
fn pass(c: Command<PbftMsg, PbftTimer, Move<PbftMsg>, ()>, o: &mut Out<PbftNode>) {
    match c {
        Command::Send(..) => {}
        Command::SetTimer(t, d) => o.set_timer(t, d),
        Command::CancelTimer(t) => o.cancel_timer(t),
        Command::ChooseRandom(k, r) => o.choose_random(k, r),
        Command::Save(x) => o.save(x),
    }
}

/// What Byzantine replica `me` sends instead of the correct code's `msg` to `to`. Silent:
/// nothing. Equivocating: a pre-prepare, prepare or commit of a request goes as it is to the
/// lower half of the other replicas by id (rounded down: replica 1 of 1, 2, 3) and names the null
/// request for the rest, so that as a primary it keeps any request from preparing on its word;
/// a reply to a read reports [`super::byzantine::lie`]. Both lies are items of the model's menu
/// in the replica's state after the step.
pub fn misbehave(mode: ByzantineMode, cfg: &ReplicaCfg, me: Id, to: Id, msg: PbftMsg) -> Vec<(Id, PbftMsg)> {
    if mode == ByzantineMode::Silent {
        return Vec::new();
    }
    let others: Vec<Id> = cfg.replica_ids().filter(|r| *r != me).collect();
    let told_the_truth = others.iter().position(|r| *r == to).is_some_and(|i| i < others.len() / 2);
    let null = |o: &Order| Order { req: Req::Null, ..o.clone() };
    let msg = match msg {
        PbftMsg::PrePrepare(o) if !told_the_truth && o.req != Req::Null => PbftMsg::PrePrepare(null(&o)),
        PbftMsg::Prepare(o) if !told_the_truth && o.req != Req::Null => PbftMsg::Prepare(null(&o)),
        PbftMsg::Commit(o) if !told_the_truth && o.req != Req::Null => PbftMsg::Commit(null(&o)),
        PbftMsg::Reply(r) if r.result.is_some() => {
            PbftMsg::Reply(super::Reply { result: Some(super::byzantine::lie()), ..r })
        }
        msg => msg,
    };
    vec![(to, msg)]
}

impl Actor for PbftNode {
    type Msg = Wire;
    type State = NodeState;
    type Timer = PbftTimer;
    type Random = Move<PbftMsg>;
    type Storage = ();

    fn name(&self) -> String {
        self.actor.name()
    }

    fn on_start(&self, id: Id, storage: &Option<()>, o: &mut Out<Self>) -> NodeState {
        let mut inner = Out::new();
        let replica = self.actor.on_start(id, storage, &mut inner);
        let mut proofs = Proofs::default();
        self.relay(id, inner, &mut proofs, o);
        NodeState { replica, proofs }
    }

    /// Keeps the signatures `wire` carries (it was admitted: they verify), then runs the
    /// correct code on its message.
    fn on_msg(&self, id: Id, state: &mut Cow<NodeState>, src: Id, wire: Wire, o: &mut Out<Self>) {
        if let (Some(cfg), Wire::Signed { .. }) = (self.cfg(), &wire) {
            signed::record(cfg, &mut state.to_mut().proofs, &wire);
        }
        let msg = match wire {
            Wire::Plain(m) | Wire::Signed { msg: m, .. } => m,
        };
        self.step(id, state, o, |s, inner| self.actor.on_msg(id, s, src, msg, inner));
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<NodeState>, timer: &PbftTimer, o: &mut Out<Self>) {
        self.step(id, state, o, |s, inner| self.actor.on_timeout(id, s, timer, inner));
    }
}

/// A checkpoint message is kept (and its signature, to prove a stable checkpoint) only while its
/// sender has fewer than [`MAX_CHECKPOINTS`] above the low watermark, and only the first for a
/// number (the replica ignores a second one anyway): a replica that sends checkpoint messages
/// for ever higher numbers, or many digests for one, fills no memory.
fn admit_checkpoint(s: &ReplicaState, c: &super::Checkpoint) -> Guard {
    if s.checkpoints.get(&c.seq).is_some_and(|m| m.contains_key(&c.replica)) {
        return Guard::Refuse("a second checkpoint message for one number from one replica");
    }
    if s.checkpoints.values().filter(|m| m.contains_key(&c.replica)).count() >= MAX_CHECKPOINTS {
        return Guard::Refuse("8 checkpoint messages above the low watermark already held from this replica");
    }
    Guard::Deliver
}

/// Whether a state transfer fits in one datagram, with room for the header, the signature and
/// the tag (the state is the only part of it that grows).
pub fn fits(t: &super::Transfer) -> bool {
    postcard::to_stdvec(t).is_ok_and(|b| b.len() + TRANSFER_OVERHEAD <= crate::runtime::wire::MAX_DATAGRAM)
}

/// What a signed transfer adds to its content on the wire: the header, the variant tags, the
/// signature and the HMAC tag, generously.
const TRANSFER_OVERHEAD: usize = 256;

/// Keys and values within the limits; no no-op; a new request only while the window has room
/// (a request already executed is still answered from the reply cache).
fn admit_request(s: &ReplicaState, op: &Op) -> Guard {
    let key = match &op.kind {
        OpKind::Noop => return Guard::Refuse("clients may not send no-ops"),
        OpKind::Get(k) => k,
        OpKind::Put(k, v) => {
            if v.as_bytes().len() > MAX_VALUE {
                return Guard::Refuse("value larger than 64 bytes");
            }
            k
        }
    };
    if key.as_bytes().len() > MAX_KEY {
        return Guard::Refuse("key longer than 32 bytes");
    }
    let cached = s.replies.get(&(op.client, op.session));
    let answered = cached.is_some_and(|c| c.seq >= op.seq);
    let known = s.pending.contains(op) || s.log.values().any(|slot| slot.pre_prepare == Some(Req::Op(op.clone())));
    if answered || known {
        return Guard::Deliver;
    }
    // A full cache may have dropped the session: executed afresh, a later request of it might
    // repeat an earlier one. (A cache never full has dropped nothing.)
    if cached.is_none() && op.seq > 1 && s.replies.len() >= MAX_SESSIONS {
        return Guard::Refuse("a later request of a session the full reply cache does not hold (dropped)");
    }
    if s.pending.len() >= MAX_PENDING {
        return Guard::Refuse("64 requests already wait to execute");
    }
    if matches!(op.kind, OpKind::Put(..)) && s.kv.0.len() >= MAX_KEYS && !s.kv.0.contains_key(key) {
        return Guard::Refuse("the map holds 256 keys: a Put of a new key is refused");
    }
    Guard::Deliver
}

/// PBFT's operations on `quorum client`: `pbft-put` and `pbft-get` (the operation names the
/// protocol; Raft's are `put` and `get`). Key and value are taken verbatim, as Raft's.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum PbftOp {
    /// PBFT: set KEY to VALUE in the replicated map, accepted once f+1 replicas agree (KEY at
    /// most 32 bytes, VALUE at most 64)
    #[command(name = "pbft-put", override_usage = "quorum client [OPTIONS] pbft-put [--] <KEY> <VALUE>")]
    Put {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_names = ["KEY", "VALUE"], hide = true)]
        args: Vec<String>,
    },
    /// PBFT: print KEY's value once f+1 replicas agree on it; a KEY never written prints nothing
    /// on stdout, "(none)" on stderr, and exits 3
    #[command(name = "pbft-get", override_usage = "quorum client [OPTIONS] pbft-get [--] <KEY>")]
    Get {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_names = ["KEY"], hide = true)]
        args: Vec<String>,
    },
}

impl Hosting for PbftModelCfg {
    type Actor = PbftNode;
    type NodeFlags = PbftNodeFlags;
    type ClientFlags = NoFlags;
    type Op = PbftOp;
    type Request = KvRequest;

    /// A replica of `servers` (n), sized for f = (n-1)/3 faults, with the runtime's window:
    /// correct, or Byzantine if it is the `--byzantine-node`.
    fn node(id: usize, servers: usize, clients: usize, flags: &PbftNodeFlags) -> Result<PbftNode, String> {
        let byzantine = flags.byzantine_node.unwrap_or(0);
        if flags.byzantine_mode.is_some() && byzantine >= servers {
            return Err(format!(
                "--byzantine-node {byzantine} is not a replica: the {servers} replicas are 0..{servers}"
            ));
        }
        if servers > MAX_REPLICAS {
            return Err(format!(
                "PBFT's runtime runs at most {MAX_REPLICAS} replicas (f = 1): a new-view carries a view change of \
                 each, and with more the largest would not fit in one datagram"
            ));
        }
        let mode = flags.byzantine_mode.filter(|_| id == byzantine);
        let Some(dir) = &flags.replica_keys else {
            return Err("a PBFT replica signs what it sends: give --replica-keys DIR (from `quorum keygen \
                        --pbft-replicas N DIR`)"
                .to_owned());
        };
        let keys = ReplicaKeys::read(dir, id, servers).map_err(|e| format!("--replica-keys: {e}"))?;
        Ok(PbftNode { actor: PbftActor::Replica(runtime_cfg(servers, clients)), mode, keys })
    }

    /// The replicas' signing keys, written under `dir`/replica-keys unless already there.
    fn cluster_files(dir: &Path, servers: usize, flags: &mut PbftNodeFlags) -> Result<(), String> {
        if flags.replica_keys.is_none() {
            let keys = dir.join("replica-keys");
            if !ReplicaKeys::exist(&keys) {
                ReplicaKeys::write_new(&keys, servers).map_err(|e| e.to_string())?;
            }
            flags.replica_keys = Some(keys);
        }
        Ok(())
    }

    fn node_args(flags: &PbftNodeFlags) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(dir) = &flags.replica_keys {
            args.extend(["--replica-keys".to_owned(), dir.display().to_string()]);
        }
        let Some(mode) = flags.byzantine_mode else { return args };
        let mode = clap::ValueEnum::to_possible_value(&mode).map(|v| v.get_name().to_owned()).unwrap_or_default();
        args.extend([
            "--byzantine-mode".to_owned(),
            mode,
            "--byzantine-node".to_owned(),
            flags.byzantine_node.unwrap_or(0).to_string(),
        ]);
        args
    }

    fn example(_flags: &PbftNodeFlags) -> String {
        "pbft-put x 1".to_owned()
    }

    fn request(op: PbftOp) -> Result<KvRequest, String> {
        match &op {
            PbftOp::Put { args } => KvRequest::parse("pbft-put", true, args, MAX_KEY, MAX_VALUE),
            PbftOp::Get { args } => KvRequest::parse("pbft-get", false, args, MAX_KEY, MAX_VALUE),
        }
    }

    /// A fresh session per run: its one request is request 1.
    fn send(r: KvRequest, _: &NoFlags, to: ClientOpts) -> Result<Reply, ClientFailure> {
        let mut c = PbftClient::new(to.servers, to.key, to.number)?;
        c.attempts = to.attempts;
        c.timeout = to.timeout;
        r.send(&mut c)
    }

    /// Puts, each client to its own key (`bench-N`), on 4 replicas (f = 1).
    fn bench() -> Result<Bench, &'static str> {
        Ok(Bench { writer: bench_writer, nodes: 4, storage: "state in memory", max_value: MAX_VALUE })
    }
}

fn bench_writer(to: ClientOpts, value_size: usize) -> Result<crate::runtime::door::Writer, ClientError> {
    let key = Key::from(format!("bench-{}", to.number).as_str());
    let value = Value::from(vec![b'v'; value_size]);
    let mut c = PbftClient::new(to.servers, to.key, to.number)?;
    Ok(Box::new(move |seq| c.put(seq, key.clone(), value.clone())))
}

/// The configuration of a runtime replica in a cluster of `servers` with `clients` clients.
pub fn runtime_cfg(servers: usize, clients: usize) -> ReplicaCfg {
    ReplicaCfg {
        replicas: servers,
        f: servers.saturating_sub(1) / 3,
        clients,
        window: WINDOW,
        checkpoint: CHECKPOINT,
        sessions: MAX_SESSIONS,
        bugs: BugSet::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cached, Key, NewView, Prepared, Stable, StateDigest, Value, ViewChange};
    use super::*;
    use crate::runtime::door::Runtime;
    use crate::runtime::wire::{self, ClusterKey, Header, KEY_LEN};
    use stateright::actor::Actor;
    use std::collections::{BTreeMap, BTreeSet};

    /// The largest operation a client may send: the longest key and value, the largest numbers.
    fn largest_op(seq: u64) -> Op {
        Op {
            client: u8::MAX,
            session: u64::MAX,
            seq: u64::MAX - seq,
            kind: OpKind::Put(Key::from(vec![b'k'; MAX_KEY]), Value::from(vec![b'v'; MAX_VALUE])),
        }
    }

    /// The largest new-view of a cluster of [`MAX_REPLICAS`]: view changes from every replica,
    /// each with a certificate for every sequence number of the window and its proof (a
    /// pre-prepare and 2f prepares, signed), and the re-issued pre-prepares with their
    /// signatures — sealed, it fits in one datagram.
    #[test]
    fn the_largest_new_view_fits_in_one_datagram() {
        let cfg = runtime_cfg(MAX_REPLICAS, 1);
        let cert =
            |n: SeqNo| Prepared { view: MAX_VIEW - 1, seq: n, req: Req::Op(largest_op(n)), prepares: 2, forged: false };
        let stable = Stable { seq: SeqNo::MAX, digest: StateDigest([0xff; 32]), signers: MAX_REPLICAS, forged: false };
        let vcs: BTreeSet<ViewChange> = (0..MAX_REPLICAS)
            .map(|r| ViewChange {
                view: MAX_VIEW,
                prepared: (1..=WINDOW).map(cert).collect(),
                replica: Id::from(r),
                stable: Some(stable.clone()),
            })
            .collect();
        let pre_prepares: BTreeMap<SeqNo, Req> = (1..=WINDOW).map(|n| (n, Req::Op(largest_op(n)))).collect();
        let sig = crate::runtime::signing::Sig([0xff; 32], [0xff; 32]);
        let proof = CertProof { pre_prepare: sig, prepares: vec![(usize::MAX, sig); prepare_quorum(&cfg)] };
        let evidence =
            VcEvidence { certs: vec![proof; WINDOW as usize], stable: vec![(usize::MAX, sig); MAX_REPLICAS] };
        let view_changes = vec![VcProof { sig, evidence }; MAX_REPLICAS];
        let evidence = Evidence::NewView { view_changes, pre_prepares: vec![sig; WINDOW as usize] };
        let nv = PbftMsg::NewView(NewView { view: MAX_VIEW, view_changes: vcs, pre_prepares, replica: Id::from(0) });
        let wire = Wire::Signed { msg: nv, sig, evidence };
        let key = ClusterKey::from_bytes([1; KEY_LEN]);
        let header =
            Header { cluster: key.cluster_id(), sender: u64::MAX, receiver: u64::MAX, epoch: u64::MAX, seq: u64::MAX };
        let sealed = wire::seal(&key, &header, &wire).expect("encodes");
        assert!(sealed.len() <= wire::MAX_DATAGRAM, "{} bytes", sealed.len());
        assert!(PbftModelCfg::node(0, MAX_REPLICAS + 1, 1, &flags(&[]).unwrap()).unwrap_err().contains("at most 4"));
    }

    fn admit(s: &ReplicaState, kind: OpKind) -> Guard {
        admit_request(s, &Op { client: 0, session: 7, seq: 1, kind })
    }

    #[test]
    fn requests_within_the_limits_are_delivered_others_refused_with_a_reason() {
        let mut s = ReplicaState::default();
        let key = |n: usize| Key::from(vec![b'k'; n]);
        let value = |n: usize| Value::from(vec![b'v'; n]);
        assert_eq!(admit(&s, OpKind::Put(key(MAX_KEY), value(MAX_VALUE))), Guard::Deliver);
        assert_eq!(admit(&s, OpKind::Get(key(MAX_KEY + 1))), Guard::Refuse("key longer than 32 bytes"));
        assert_eq!(admit(&s, OpKind::Put(key(1), value(MAX_VALUE + 1))), Guard::Refuse("value larger than 64 bytes"));
        assert_eq!(admit(&s, OpKind::Noop), Guard::Refuse("clients may not send no-ops"));
        // A full map: a Put of a new key is refused; of a key it holds, or a Get, is not.
        s.kv.0 = (0..MAX_KEYS).map(|i| (Key::from(format!("k{i}").as_str()), value(1))).collect();
        assert!(matches!(admit(&s, OpKind::Put(key(1), value(1))), Guard::Refuse(why) if why.contains("256 keys")));
        assert_eq!(admit(&s, OpKind::Put(Key::from("k0"), value(1))), Guard::Deliver);
        assert_eq!(admit(&s, OpKind::Get(key(1))), Guard::Deliver);
        // Too many waiting: a new request is refused, the one already executed is answered.
        s.pending =
            (0..MAX_PENDING as u64).map(|seq| Op { client: 1, session: 1, seq, kind: OpKind::Get(key(1)) }).collect();
        assert!(matches!(admit(&s, OpKind::Get(key(1))), Guard::Refuse(why) if why.contains("wait")));
        s.replies.insert((0, 7), Cached { seq: 1, result: None, at: 1 });
        assert_eq!(admit(&s, OpKind::Get(key(1))), Guard::Deliver);
        // A later request of a session a full cache does not hold (dropped) is refused: executed
        // afresh it might repeat an earlier request of that session.
        s.pending.clear();
        let later = Op { client: 0, session: 8, seq: 2, kind: OpKind::Get(key(1)) };
        assert_eq!(admit_request(&s, &later), Guard::Deliver, "the cache is not full: nothing was dropped");
        let cached = |i: u64| ((1, 100 + i), Cached { seq: 1, result: None, at: i });
        s.replies.extend((0..MAX_SESSIONS as u64).map(cached));
        assert!(matches!(admit_request(&s, &later), Guard::Refuse(why) if why.contains("does not hold")));
    }

    /// A replica keeps one checkpoint message per number from each other replica, and at most
    /// [`MAX_CHECKPOINTS`] above its low watermark: more are refused before they cost memory.
    #[test]
    fn checkpoint_messages_beyond_one_per_number_or_eight_per_sender_are_refused() {
        let mut s = ReplicaState::default();
        let c =
            |seq: SeqNo, d: u8| super::super::Checkpoint { seq, digest: StateDigest([d; 32]), replica: Id::from(1) };
        assert_eq!(admit_checkpoint(&s, &c(16, 1)), Guard::Deliver);
        s.checkpoints.entry(16).or_default().insert(Id::from(1), StateDigest([1; 32]));
        assert!(matches!(admit_checkpoint(&s, &c(16, 2)), Guard::Refuse(why) if why.contains("second")));
        for n in 2..=MAX_CHECKPOINTS as SeqNo {
            s.checkpoints.entry(16 * n).or_default().insert(Id::from(1), StateDigest([1; 32]));
        }
        assert!(matches!(admit_checkpoint(&s, &c(16_000, 1)), Guard::Refuse(why) if why.contains("already held")));
        let other = super::super::Checkpoint { replica: Id::from(2), ..c(16_000, 1) };
        assert_eq!(admit_checkpoint(&s, &other), Guard::Deliver, "another replica's is kept");
    }

    /// The largest state a correct cluster reaches with 256 client sessions in its reply cache
    /// (each with the largest result) fits in one signed transfer; a larger one is not sent.
    #[test]
    fn a_state_transfer_of_a_full_map_fits_in_one_datagram() {
        let key = |i: usize| Key::from(format!("{i:0>width$}", width = MAX_KEY).as_str());
        let kv = (0..MAX_KEYS).map(|i| (key(i), Value::from(vec![b'v'; MAX_VALUE])));
        let result = Some(Value::from(vec![b'v'; MAX_VALUE]));
        let replies = |n: u64| {
            (0..n).map(|i| ((u8::MAX, u64::MAX - i), Cached { seq: u64::MAX, result: result.clone(), at: u64::MAX }))
        };
        let state = Snapshot { kv: crate::raft::kv::KvMap(kv.collect()), replies: replies(256).collect() };
        let t = super::super::Transfer { seq: SeqNo::MAX, state, replica: Id::from(3) };
        assert!(fits(&t));
        let wire = Wire::Signed {
            msg: PbftMsg::Transfer(t.clone()),
            sig: crate::runtime::signing::Sig([0xff; 32], [0xff; 32]),
            evidence: Evidence::None,
        };
        let key = ClusterKey::from_bytes([1; KEY_LEN]);
        let header =
            Header { cluster: key.cluster_id(), sender: u64::MAX, receiver: u64::MAX, epoch: u64::MAX, seq: u64::MAX };
        let sealed = wire::seal(&key, &header, &wire).expect("encodes");
        assert!(sealed.len() <= wire::MAX_DATAGRAM, "{} bytes", sealed.len());
        let mut big = t;
        big.state.replies = replies(1024).collect();
        assert!(!fits(&big), "a reply cache of 1024 sessions does not fit");
    }

    /// A directory of signing keys for 4 replicas, written once for the tests of this module.
    fn keys_dir() -> &'static Path {
        static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temp dir");
            ReplicaKeys::write_new(dir.path(), 4).expect("keys");
            dir
        })
        .path()
    }

    /// The node flags `args`, with `--replica-keys` (4 replicas' keys) unless `args` name it.
    fn flags(args: &[&str]) -> Result<PbftNodeFlags, String> {
        let cmd = <PbftNodeFlags as clap::Args>::augment_args(clap::Command::new("node"));
        let dir = keys_dir().display().to_string();
        let keys = ["--replica-keys", dir.as_str()];
        let keys = if args.contains(&"--replica-keys") { &[][..] } else { &keys[..] };
        let all = std::iter::once("node").chain(args.iter().copied()).chain(keys.iter().copied());
        let m = cmd.try_get_matches_from(all).map_err(|e| e.to_string())?;
        <PbftNodeFlags as clap::FromArgMatches>::from_arg_matches(&m).map_err(|e| e.to_string())
    }

    #[test]
    fn a_node_is_a_correct_replica_sized_for_a_third_of_its_cluster_and_the_operations_name_pbft() {
        let node = PbftModelCfg::node(1, 4, 2, &flags(&[]).unwrap()).expect("a replica");
        let PbftActor::Replica(cfg) = node.actor else { panic!("not a correct replica") };
        assert_eq!(node.mode, None);
        assert_eq!((cfg.replicas, cfg.f, cfg.clients, cfg.window, cfg.bugs), (4, 1, 2, WINDOW, BugSet::NONE));
        assert_eq!(runtime_cfg(7, 1).f, 2);
        assert_eq!(runtime_cfg(3, 1).f, 0);
        let put =
            |args: &[&str]| PbftModelCfg::request(PbftOp::Put { args: args.iter().map(|s| s.to_string()).collect() });
        assert_eq!(put(&["k", "-h"]), Ok(KvRequest { key: "k".into(), value: Some("-h".into()) }));
        assert!(put(&["k", &"v".repeat(MAX_VALUE + 1)]).unwrap_err().contains("at most 64"));
        let host = crate::runtime::door::Host::<PbftModelCfg>::NEW;
        assert_eq!(crate::runtime::door::ops(&host), ["pbft-put", "pbft-get"]);
        let bench = host.bench().expect("a benchmark");
        assert_eq!((bench.nodes, bench.max_value), (4, MAX_VALUE));
        assert_eq!((cfg.checkpoint, cfg.sessions), (CHECKPOINT, MAX_SESSIONS));
    }

    /// `--byzantine-mode` makes only `--byzantine-node` (default 0) misbehave, a child `quorum
    /// node` of `quorum cluster` gets the same flags, and a node number outside the cluster or a
    /// node without a mode is bad input.
    #[test]
    fn only_the_named_node_misbehaves_and_a_child_gets_the_same_flags() {
        let f = flags(&["--byzantine-mode", "equivocate"]).unwrap();
        let modes: Vec<_> = (0..4).map(|i| PbftModelCfg::node(i, 4, 1, &f).unwrap().mode).collect();
        assert_eq!(modes, [Some(ByzantineMode::Equivocate), None, None, None]);
        let f = flags(&["--byzantine-mode", "silent", "--byzantine-node", "2"]).unwrap();
        let modes: Vec<_> = (0..4).map(|i| PbftModelCfg::node(i, 4, 1, &f).unwrap().mode).collect();
        assert_eq!(modes, [None, None, Some(ByzantineMode::Silent), None]);
        let args = PbftModelCfg::node_args(&f);
        let dir = keys_dir().display().to_string();
        assert_eq!(args, ["--replica-keys", &dir, "--byzantine-mode", "silent", "--byzantine-node", "2"]);
        let again = flags(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        assert_eq!(PbftModelCfg::node_args(&again), args);
        assert_eq!(PbftModelCfg::node_args(&flags(&[]).unwrap()), ["--replica-keys", &dir]);
        // No keys: the node will not start; a local cluster writes them and names them.
        let mut none = PbftNodeFlags::default();
        assert!(PbftModelCfg::node(0, 4, 1, &none).unwrap_err().contains("give --replica-keys DIR"));
        let cluster = tempfile::tempdir().unwrap();
        PbftModelCfg::cluster_files(cluster.path(), 4, &mut none).unwrap();
        assert_eq!(none.replica_keys.as_deref(), Some(cluster.path().join("replica-keys").as_path()));
        assert_eq!(PbftModelCfg::node(3, 4, 1, &none).unwrap().keys.me(), 3);
        // Keys for 4 replicas do not fit a cluster of 3.
        assert!(PbftModelCfg::node(0, 3, 1, &none).unwrap_err().contains("lists 4 public keys; the cluster has 3"));
        let far = flags(&["--byzantine-mode", "silent", "--byzantine-node", "4"]).unwrap();
        assert_eq!(
            PbftModelCfg::node(0, 4, 1, &far).err().as_deref(),
            Some("--byzantine-node 4 is not a replica: the 4 replicas are 0..4")
        );
        assert!(flags(&["--byzantine-node", "1"]).is_err(), "a node without a mode");
        assert!(flags(&["--byzantine-mode", "forge"]).is_err());
    }

    /// A fresh replica's state.
    fn fresh() -> Cow<'static, NodeState> {
        Cow::Owned(NodeState { replica: PbftState::Replica(ReplicaState::default()), proofs: Proofs::default() })
    }

    /// `msg` as its sender puts it on the wire: a request plain, a replica's message signed.
    fn wire_from(msg: PbftMsg) -> Wire {
        let cfg = runtime_cfg(4, 1);
        match msg.claimed_replica() {
            Some(r) if cfg.is_replica(r) => {
                let keys = ReplicaKeys::read(keys_dir(), usize::from(r), 4).expect("keys");
                signed::seal(&keys, &cfg, &mut Proofs::default(), msg)
            }
            _ => Wire::Plain(msg),
        }
    }

    /// Every message the equivocating node sends is either what the correct code sent or a move
    /// of the model's Byzantine menu (`pbft::byzantine::menu`) in its state after the step: as
    /// a primary ordering a request, as a backup preparing it, and replying to a read.
    #[test]
    fn every_message_an_equivocating_node_sends_is_the_correct_codes_or_on_the_models_menu() {
        let cfg = runtime_cfg(4, 1);
        let bounds = super::super::byzantine::Menu { moves: 1, max_view: 0, forge: false, silent: false, crash: false };
        let check = |node: &PbftNode, me: usize, state: &mut Cow<NodeState>, src: usize, msg: PbftMsg| {
            let (me, src) = (Id::from(me), Id::from(src));
            let mut honest = Out::new();
            let mut before = Cow::Owned(state.replica.clone());
            node.actor.on_msg(me, &mut before, src, msg.clone(), &mut honest);
            let honest: Vec<(Id, PbftMsg)> = honest
                .iter()
                .filter_map(|c| if let Command::Send(to, m) = c { Some((*to, m.clone())) } else { None })
                .collect();
            let mut out = Out::new();
            node.on_msg(me, state, src, wire_from(msg), &mut out);
            let Some(s) = replica_state(&state.replica) else { panic!("a replica") };
            let menu = super::super::byzantine::menu(&cfg, &bounds, s, me);
            let sent: Vec<(Id, PbftMsg)> = out
                .iter()
                .filter_map(|c| if let Command::Send(to, w) = c { Some((*to, w.msg().clone())) } else { None })
                .collect();
            let lies: Vec<&(Id, PbftMsg)> = sent.iter().filter(|x| !honest.contains(x)).collect();
            for lie in &lies {
                assert!(menu.iter().any(|m| m.sends.contains(lie)), "{lie:?} is on no menu item");
            }
            (sent.len(), lies.len())
        };
        let node = |id| {
            PbftModelCfg::node(
                id,
                4,
                1,
                &flags(&["--byzantine-mode", "equivocate", "--byzantine-node", &id.to_string()]).unwrap(),
            )
            .unwrap()
        };
        let op = Op { client: 0, session: 9, seq: 1, kind: OpKind::Get(super::super::Key::from("x")) };
        // Primary 0 orders the request: replica 1 hears it, replicas 2 and 3 the null request.
        let mut primary = fresh();
        assert_eq!(check(&node(0), 0, &mut primary, 4, PbftMsg::Request(op.clone())), (3, 2));
        // Backup 3 prepares the real request for replica 1 and the null one for replica 2.
        let mut backup = fresh();
        let pp = Order { view: 0, seq: 1, req: Req::Op(op.clone()), replica: Id::from(0) };
        assert_eq!(check(&node(3), 3, &mut backup, 0, PbftMsg::PrePrepare(pp)), (3, 2));
        // Asked again for a read it executed, it lies about the value.
        let mut done = ReplicaState::default();
        done.executed.insert(1, Req::Op(op.clone()));
        done.replies.insert((0, 9), Cached { seq: 1, result: Some(super::super::Value::from("1")), at: 1 });
        let mut done = Cow::Owned(NodeState { replica: PbftState::Replica(done), proofs: Proofs::default() });
        assert_eq!(check(&node(3), 3, &mut done, 4, PbftMsg::Request(op)), (1, 1));
        // Silent sends nothing.
        let silent = PbftModelCfg::node(0, 4, 1, &flags(&["--byzantine-mode", "silent"]).unwrap()).unwrap();
        let mut out = Out::new();
        let mut state = fresh();
        let op = Op { client: 0, session: 9, seq: 1, kind: OpKind::Get(super::super::Key::from("x")) };
        silent.on_msg(Id::from(0), &mut state, Id::from(4), Wire::Plain(PbftMsg::Request(op)), &mut out);
        assert!(!out.iter().any(|c| matches!(c, Command::Send(..))));
    }

    /// Four replicas in one process, exchanging their wire messages through a queue, each
    /// admitted by the runtime's guard first (as `runtime::node` does): what the UDP runtime
    /// does, without sockets or clocks.
    struct Sim {
        nodes: Vec<PbftNode>,
        states: Vec<NodeState>,
        queue: std::collections::VecDeque<(usize, usize, Wire)>,
        /// A replica cut off from the others (its messages, both ways, are lost).
        cut: Option<usize>,
        /// (receiver, why) of every message refused.
        refused: Vec<(usize, &'static str)>,
        /// Messages a replica sent that were then refused, unwrapped: the forgeries.
        refused_msgs: Vec<PbftMsg>,
    }

    impl Sim {
        fn new(forger: Option<usize>) -> Sim {
            let mut nodes = Vec::new();
            let mut states = Vec::new();
            let mut queue = std::collections::VecDeque::new();
            for i in 0..4 {
                let mut args = vec![];
                let id = i.to_string();
                if forger == Some(i) {
                    args = vec!["--byzantine-mode", "forge-view-change", "--byzantine-node", &id];
                }
                let node = PbftModelCfg::node(i, 4, 1, &flags(&args).unwrap()).unwrap();
                let mut out = Out::new();
                states.push(node.on_start(Id::from(i), &None, &mut out));
                for c in out {
                    if let Command::Send(to, w) = c {
                        queue.push_back((i, usize::from(to), w));
                    }
                }
                nodes.push(node);
            }
            Sim { nodes, states, queue, cut: None, refused: Vec::new(), refused_msgs: Vec::new() }
        }

        fn step(&mut self, i: usize, run: impl FnOnce(&PbftNode, &mut Cow<NodeState>, &mut Out<PbftNode>)) {
            let mut out = Out::new();
            let mut state = Cow::Borrowed(&self.states[i]);
            run(&self.nodes[i], &mut state, &mut out);
            self.states[i] = state.into_owned();
            for c in out {
                if let Command::Send(to, w) = c {
                    self.queue.push_back((i, usize::from(to), w));
                }
            }
        }

        /// Delivers every message in flight (and what they cause) to the replicas.
        fn run(&mut self) {
            let mut budget = 10_000;
            while let Some((from, to, w)) = self.queue.pop_front() {
                budget -= 1;
                assert!(budget > 0, "the replicas never quiesce");
                if to >= 4 || self.cut.is_some_and(|c| c == from || c == to) {
                    continue;
                }
                if let Guard::Refuse(why) = self.nodes[to].admit_msg(&self.states[to], Id::from(from), &w) {
                    self.refused.push((to, why));
                    self.refused_msgs.push(w.msg().clone());
                    continue;
                }
                self.step(to, |n, s, o| n.on_msg(Id::from(to), s, Id::from(from), w, o));
            }
        }

        /// Client 0's request `seq` to the replicas (the client's actor id is 4).
        fn request(&mut self, seq: u64, key: &str, value: &str) {
            let kind = OpKind::Put(Key::from(key), Value::from(value));
            let op = Op { client: 0, session: 1, seq, kind };
            for r in 0..4 {
                self.queue.push_back((4, r, Wire::Plain(PbftMsg::Request(op.clone()))));
            }
            self.run();
        }

        /// The view-change timer of each replica but the cut one goes off.
        fn timeouts(&mut self) {
            let cut = self.cut;
            for i in (0..4).filter(|i| Some(*i) != cut) {
                self.step(i, |n, s, o| n.on_timeout(Id::from(i), s, &PbftTimer::ViewChange, o));
            }
            self.run();
        }

        fn replica(&self, i: usize) -> &ReplicaState {
            replica_state(&self.states[i].replica).expect("a replica")
        }
    }

    /// The replicas sign what they send and prove what they relay: a request is ordered and
    /// executed with signed messages; after a view change the new primary's new-view, carrying
    /// the view changes and their prepared certificates with every signature, verifies at each
    /// backup; nothing is refused.
    #[test]
    fn signed_messages_and_relayed_certificates_verify_across_a_view_change() {
        let mut sim = Sim::new(None);
        sim.request(1, "x", "1");
        assert!((0..4).all(|i| sim.replica(i).executed.len() == 1));
        sim.cut = Some(0);
        sim.request(2, "y", "2");
        sim.timeouts();
        assert_eq!(sim.refused, []);
        for i in 1..4 {
            let s = sim.replica(i);
            assert_eq!((s.view, s.changing, s.executed.len()), (1, false, 2), "replica {i}");
        }
        // The certificate of x (number 1, view 0) was relayed in view changes and in the
        // new-view, and verified.
        assert!(sim.states[1].proofs.view_changes.keys().any(|vc| vc.prepared.iter().any(|p| p.seq == 1)));
    }

    /// Checkpoints over the wire (§4.3, §4.4): after 16 requests checkpoint #16 is stable at
    /// every replica and the logs are discarded; with the primary cut off, the view changes
    /// carry the stable checkpoint with its 2f+1 signed checkpoint messages, the new-view relays
    /// them, everything verifies, and the new primary orders #17 above the checkpoint. A view
    /// change whose checkpoint proof lacks a signature, or names a signer twice, is refused.
    #[test]
    fn stable_checkpoints_and_their_signed_proofs_verify_across_a_view_change() {
        let mut sim = Sim::new(None);
        for seq in 1..=CHECKPOINT {
            sim.request(seq, "x", &seq.to_string());
        }
        for i in 0..4 {
            let s = sim.replica(i);
            assert_eq!((low(s), s.log.len(), last_executed(s)), (CHECKPOINT, 0, CHECKPOINT), "replica {i}");
        }
        sim.cut = Some(0);
        sim.request(CHECKPOINT + 1, "y", "1");
        sim.timeouts();
        assert_eq!(sim.refused, []);
        for i in 1..4 {
            let s = sim.replica(i);
            assert_eq!((s.view, s.changing, last_executed(s)), (1, false, CHECKPOINT + 1), "replica {i}");
        }
        let (vc, proof) = sim.states[2]
            .proofs
            .view_changes
            .iter()
            .find(|(vc, _)| vc.replica == Id::from(3))
            .map(|(vc, p)| (vc.clone(), p.clone()))
            .expect("replica 3's view change, kept by the new primary's backup");
        assert_eq!(vc.stable.as_ref().map(|c| c.seq), Some(CHECKPOINT));
        let cfg = runtime_cfg(4, 1);
        let keys = &sim.nodes[2].keys;
        let wire = |stable: signed::StableProof| Wire::Signed {
            msg: PbftMsg::ViewChange(vc.clone()),
            sig: proof.sig,
            evidence: Evidence::ViewChange(VcEvidence { certs: proof.evidence.certs.clone(), stable }),
        };
        assert_eq!(signed::check(keys, &cfg, Id::from(3), &wire(proof.evidence.stable.clone())), Ok(()));
        let mut short = proof.evidence.stable.clone();
        short.truncate(2);
        assert!(signed::check(keys, &cfg, Id::from(3), &wire(short.clone())).is_err(), "2 signatures are not 2f+1");
        short.push(short[0]);
        assert!(signed::check(keys, &cfg, Id::from(3), &wire(short)).is_err(), "one signer counted twice");
        assert!(signed::check(keys, &cfg, Id::from(3), &wire(Vec::new())).is_err(), "no proof");
    }

    /// A forger that would be the new primary: its view change claims the null request
    /// prepared at number 1 (where x executed), and its new-view relays the others' view
    /// changes stripped of their certificates. Both are valid to the model's replica as they
    /// stand on the wire (nothing there says "forged"), and its new-view would re-assign number
    /// 1: the runtime refuses both because the signatures do not verify. Its view change with
    /// the certificate marked `forged` (what the signatures show) is invalid to the model's
    /// replica too. Then the view moves on to a correct primary and service resumes, x kept.
    #[test]
    fn forged_certificates_and_view_changes_are_refused_and_the_next_primary_takes_over() {
        let cfg = runtime_cfg(4, 1);
        let mut sim = Sim::new(Some(1));
        sim.request(1, "x", "1");
        sim.cut = Some(0);
        sim.request(2, "y", "2");
        sim.timeouts();
        let whys: BTreeSet<&str> = sim.refused.iter().map(|(_, why)| *why).collect();
        assert_eq!(
            whys,
            BTreeSet::from([
                "a prepared certificate or the stable checkpoint in the view change does not verify",
                "a view change in the new-view is not signed by its sender",
            ])
        );
        let forged_vc = sim.refused_msgs.iter().find_map(|m| match m {
            PbftMsg::ViewChange(vc) => Some(vc.clone()),
            _ => None,
        });
        let forged_vc = forged_vc.expect("a forged view change");
        assert!(super::super::replica::valid_view_change(&cfg, &forged_vc), "valid as it stands on the wire");
        let marked = ViewChange {
            prepared: forged_vc.prepared.iter().map(|p| Prepared { forged: true, ..p.clone() }).collect(),
            ..forged_vc
        };
        assert!(!super::super::replica::valid_view_change(&cfg, &marked), "invalid once marked forged");
        let nv = sim.refused_msgs.iter().find_map(|m| match m {
            PbftMsg::NewView(nv) => Some(nv.clone()),
            _ => None,
        });
        let nv = nv.expect("a forged new-view");
        assert!(super::super::replica::valid_new_view(&cfg, &nv), "valid as it stands on the wire");
        assert_eq!(nv.pre_prepares.get(&1), Some(&Req::Null), "it would re-assign number 1");
        for i in 2..4 {
            assert_eq!((sim.replica(i).view, sim.replica(i).changing), (1, true), "replica {i} waits");
        }
        // View 2 needs three valid view changes: replica 0 is back.
        sim.cut = None;
        sim.refused.clear();
        sim.timeouts();
        for i in [0, 2, 3] {
            let s = sim.replica(i);
            assert_eq!((s.view, s.changing), (2, false), "replica {i}");
            assert_eq!(
                s.executed.get(&1).map(|r| format!("{r:?}")),
                sim.replica(2).executed.get(&1).map(|r| format!("{r:?}"))
            );
            assert_eq!(s.executed.len(), 2, "replica {i}: x and y");
        }
        assert!(sim.refused.iter().all(|(_, why)| why.contains("does not verify")), "{:?}", sim.refused);
        // What can no longer be relayed is gone: no view change of an earlier view, no
        // signature of a slot the replica no longer holds.
        for i in [0, 2, 3] {
            let (s, proofs) = (sim.replica(i), &sim.states[i].proofs);
            assert!(proofs.view_changes.keys().all(|vc| vc.view >= 2), "replica {i}");
            assert!(proofs.prepares.keys().all(|(v, n, _)| *v >= 2 || s.log.contains_key(&(*v, *n))), "replica {i}");
            assert!(!proofs.prepares.is_empty(), "replica {i} keeps what it may relay");
        }
    }

    /// What a replica signs cannot be changed, sent unsigned, or sent in another's name.
    #[test]
    fn tampered_unsigned_and_misattributed_messages_are_refused() {
        let node = PbftModelCfg::node(2, 4, 1, &flags(&[]).unwrap()).unwrap();
        let state = fresh();
        let op = Op { client: 0, session: 1, seq: 1, kind: OpKind::Put(Key::from("x"), Value::from("1")) };
        let order = Order { view: 0, seq: 1, req: Req::Op(op), replica: Id::from(0) };
        let good = wire_from(PbftMsg::PrePrepare(order.clone()));
        assert_eq!(node.admit_msg(&state, Id::from(0), &good), Guard::Deliver);
        let Wire::Signed { sig, evidence, .. } = good else { panic!("signed") };
        let other = Order { req: Req::Null, ..order.clone() };
        let tampered = Wire::Signed { msg: PbftMsg::PrePrepare(other), sig, evidence };
        assert_eq!(
            node.admit_msg(&state, Id::from(0), &tampered),
            Guard::Refuse("the sender's signature does not verify")
        );
        let plain = Wire::Plain(PbftMsg::PrePrepare(order.clone()));
        assert_eq!(
            node.admit_msg(&state, Id::from(0), &plain),
            Guard::Refuse("a replica's message without its signature")
        );
        let relayed = wire_from(PbftMsg::Prepare(Order { replica: Id::from(1), ..order }));
        assert_eq!(
            node.admit_msg(&state, Id::from(3), &relayed),
            Guard::Refuse("a message that names another replica than its sender")
        );
    }
}
