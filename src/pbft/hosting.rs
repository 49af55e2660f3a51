//! PBFT's runtime door ([`crate::runtime::door::Hosting`]): how `quorum node pbft`, `quorum
//! cluster pbft` and `quorum client pbft-put|pbft-get` run the model-checked [`PbftActor`]'s
//! correct replica over UDP, and what the runtime guards beyond the model's bounds
//! ([`crate::runtime::Hosted`]).
//!
//! The window. The model leaves out checkpoints and garbage collection (§4.3): its sequence
//! numbers all fit below one high watermark. So does the runtime's: a cluster orders at most
//! [`WINDOW`] requests in its life (reads included, since they go through the log), then refuses
//! new ones with a logged reason. Without checkpoints a view change carries every prepared
//! certificate, and a new-view all of them from 2f+1 replicas plus the re-issued pre-prepares;
//! [`WINDOW`], [`MAX_KEY`] and [`MAX_VALUE`] are sized so that the largest new-view still fits in
//! one datagram (a test builds it).
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
//! comes back empty and, with no state transfer, stays behind the others: it counts against the
//! f faults the quorums tolerate. That is PBFT's fault model: at most f replicas faulty at once,
//! whatever the fault.

use super::actor::{PbftActor, PbftState, PbftTimer};
use super::replica::{ReplicaCfg, ReplicaState};
use super::{BugSet, Op, OpKind, Order, PbftModelCfg, PbftMsg, Req, SeqNo, View};
use crate::byzantine::Move;
use crate::runtime::client::PbftClient;
use crate::runtime::door::{BenchWriter, ClientFailure, ClientOpts, Hosting, KvRequest, NoFlags, Reply};
use crate::runtime::hosted::{Guard, Hosted, Status};
use sha2::{Digest, Sha256};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;

/// Sequence numbers a cluster can assign in its life (the high watermark `H`, with `h = 0`).
pub const WINDOW: SeqNo = 64;
/// The longest key a client may name (bytes).
pub const MAX_KEY: usize = 32;
/// The largest value a client may write (bytes).
pub const MAX_VALUE: usize = 64;
/// Views above this are refused, so that no view number overflows (`view + 1`).
pub const MAX_VIEW: View = View::MAX / 2;

/// The replica's view of a state, correct or Byzantine.
fn replica_state(state: &PbftState) -> Option<&ReplicaState> {
    match state {
        PbftState::Replica(s) => Some(s),
        PbftState::Byzantine(s) => Some(&s.honest),
        PbftState::Client(_) => None,
    }
}

/// The first 8 bytes, in hex, of the SHA-256 of everything a replica executed, in order: two
/// replicas show the same digest exactly when (but for a collision) they executed the same
/// sequence.
pub fn executed_digest(s: &ReplicaState) -> String {
    let bytes = postcard::to_stdvec(&s.executed).unwrap_or_default();
    Sha256::digest(&bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Hosted for PbftNode {
    /// term: the view; commit: requests executed; log_len: log slots held; last: the last
    /// executed and the digest of all executed ([`executed_digest`]).
    fn status(state: &PbftState) -> Status {
        let Some(s) = replica_state(state) else { return Status { role: "client".into(), ..Status::default() } };
        let role = match s.changing {
            true => "changing view",
            false => "replica",
        };
        let last = match s.executed.iter().next_back() {
            Some((n, r)) => format!("#{n} {r:?}, executed {}", executed_digest(s)),
            None => String::new(),
        };
        Status {
            role: role.to_owned(),
            term: s.view,
            commit: s.executed.len() as u64,
            log_len: s.log.len() as u64,
            last,
        }
    }

    /// A client's request within the runtime's limits and the window; views below [`MAX_VIEW`].
    /// (A request naming another client's number is already ignored by `replica::on_request`.)
    fn admit_msg(&self, state: &PbftState, _src: Id, msg: &PbftMsg) -> Guard {
        let Some(s) = replica_state(state) else { return Guard::Deliver };
        match msg {
            PbftMsg::Request(op) => admit_request(s, op),
            PbftMsg::PrePrepare(o) | PbftMsg::Prepare(o) | PbftMsg::Commit(o) if o.view > MAX_VIEW => {
                Guard::Refuse("view number too large")
            }
            PbftMsg::ViewChange(vc) if vc.view > MAX_VIEW => Guard::Refuse("view number too large"),
            PbftMsg::NewView(nv) if nv.view > MAX_VIEW => Guard::Refuse("view number too large"),
            _ => Guard::Deliver,
        }
    }

    fn admit_timeout(state: &PbftState, _timer: &PbftTimer) -> Guard {
        match replica_state(state) {
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
}

/// (pbft) The flags of `quorum node pbft` and `quorum cluster pbft`: one misbehaving replica.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct PbftNodeFlags {
    /// (pbft) Make one replica Byzantine: `silent` sends nothing; `equivocate` sends the null
    /// request instead of the real one to some replicas and lies to clients
    #[arg(long, value_enum)]
    byzantine_mode: Option<ByzantineMode>,
    /// (pbft) The replica --byzantine-mode applies to [default: 0, view 0's primary]
    #[arg(long, requires = "byzantine_mode")]
    byzantine_node: Option<usize>,
}

/// A runtime replica: the model-checked correct replica, and, on the one Byzantine node, how it
/// misbehaves ([`misbehave`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftNode {
    pub actor: PbftActor,
    pub mode: Option<ByzantineMode>,
}

impl PbftNode {
    fn cfg(&self) -> Option<&ReplicaCfg> {
        match &self.actor {
            PbftActor::Replica(cfg) | PbftActor::Byzantine(cfg, _) => Some(cfg),
            PbftActor::Client(_) => None,
        }
    }

    /// Passes the correct code's commands on, the sends changed as the mode says.
    fn relay(&self, me: Id, inner: Out<PbftActor>, o: &mut Out<Self>) {
        let (Some(mode), Some(cfg)) = (self.mode, self.cfg()) else {
            for c in inner {
                pass(c, o);
            }
            return;
        };
        for c in inner {
            match c {
                Command::Send(to, msg) => {
                    for (to, msg) in misbehave(mode, cfg, me, to, msg) {
                        o.send(to, msg);
                    }
                }
                c => pass(c, o),
            }
        }
    }
}

/// One command of the correct code, unchanged.
fn pass(c: Command<PbftMsg, PbftTimer, Move<PbftMsg>, ()>, o: &mut Out<PbftNode>) {
    match c {
        Command::Send(to, msg) => o.send(to, msg),
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
    type Msg = PbftMsg;
    type State = PbftState;
    type Timer = PbftTimer;
    type Random = Move<PbftMsg>;
    type Storage = ();

    fn name(&self) -> String {
        self.actor.name()
    }

    fn on_start(&self, id: Id, storage: &Option<()>, o: &mut Out<Self>) -> PbftState {
        let mut inner = Out::new();
        let state = self.actor.on_start(id, storage, &mut inner);
        self.relay(id, inner, o);
        state
    }

    fn on_msg(&self, id: Id, state: &mut Cow<PbftState>, src: Id, msg: PbftMsg, o: &mut Out<Self>) {
        let mut inner = Out::new();
        self.actor.on_msg(id, state, src, msg, &mut inner);
        self.relay(id, inner, o);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<PbftState>, timer: &PbftTimer, o: &mut Out<Self>) {
        let mut inner = Out::new();
        self.actor.on_timeout(id, state, timer, &mut inner);
        self.relay(id, inner, o);
    }
}

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
    let answered = s.replies.get(&(op.client, op.session)).is_some_and(|(seq, _)| *seq >= op.seq);
    let known = s.pending.contains(op) || s.log.values().any(|slot| slot.pre_prepare == Some(Req::Op(op.clone())));
    let used = s.executed.len() as u64 + s.pending.len() as u64;
    if !answered && !known && used >= WINDOW {
        return Guard::Refuse(
            "the window of 64 sequence numbers is used up: checkpoints (section 4.3) are not implemented",
        );
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
        let mode = flags.byzantine_mode.filter(|_| id == byzantine);
        Ok(PbftNode { actor: PbftActor::Replica(runtime_cfg(servers, clients)), mode })
    }

    fn node_args(flags: &PbftNodeFlags) -> Vec<String> {
        let Some(mode) = flags.byzantine_mode else { return Vec::new() };
        let mode = clap::ValueEnum::to_possible_value(&mode).map(|v| v.get_name().to_owned()).unwrap_or_default();
        vec![
            "--byzantine-mode".to_owned(),
            mode,
            "--byzantine-node".to_owned(),
            flags.byzantine_node.unwrap_or(0).to_string(),
        ]
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

    fn bench() -> Result<BenchWriter, &'static str> {
        Err("PBFT's runtime orders at most 64 requests per cluster: no checkpoints (section 4.3)")
    }
}

/// The configuration of a runtime replica in a cluster of `servers` with `clients` clients.
pub fn runtime_cfg(servers: usize, clients: usize) -> ReplicaCfg {
    ReplicaCfg { replicas: servers, f: servers.saturating_sub(1) / 3, clients, window: WINDOW, bugs: BugSet::NONE }
}

#[cfg(test)]
mod tests {
    use super::super::{Key, NewView, Prepared, Value, ViewChange};
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

    /// The largest new-view of a 4-replica cluster: view changes from all four replicas, each
    /// with a certificate for every sequence number of the window, and the re-issued
    /// pre-prepares — sealed, it fits in one datagram.
    #[test]
    fn the_largest_new_view_fits_in_one_datagram() {
        let cert =
            |n: SeqNo| Prepared { view: MAX_VIEW - 1, seq: n, req: Req::Op(largest_op(n)), prepares: 2, forged: false };
        let vcs: BTreeSet<ViewChange> = (0..4)
            .map(|r| ViewChange { view: MAX_VIEW, prepared: (1..=WINDOW).map(cert).collect(), replica: Id::from(r) })
            .collect();
        let pre_prepares: BTreeMap<SeqNo, Req> = (1..=WINDOW).map(|n| (n, Req::Op(largest_op(n)))).collect();
        let nv = PbftMsg::NewView(NewView { view: MAX_VIEW, view_changes: vcs, pre_prepares, replica: Id::from(0) });
        let key = ClusterKey::from_bytes([1; KEY_LEN]);
        let header =
            Header { cluster: key.cluster_id(), sender: u64::MAX, receiver: u64::MAX, epoch: u64::MAX, seq: u64::MAX };
        let sealed = wire::seal(&key, &header, &nv).expect("encodes");
        assert!(sealed.len() <= wire::MAX_DATAGRAM, "{} bytes", sealed.len());
    }

    fn admit(s: &ReplicaState, kind: OpKind) -> Guard {
        admit_request(s, &Op { client: 0, session: 7, seq: 1, kind })
    }

    #[test]
    fn requests_within_the_limits_and_the_window_are_delivered_others_refused_with_a_reason() {
        let mut s = ReplicaState::default();
        let key = |n: usize| Key::from(vec![b'k'; n]);
        let value = |n: usize| Value::from(vec![b'v'; n]);
        assert_eq!(admit(&s, OpKind::Put(key(MAX_KEY), value(MAX_VALUE))), Guard::Deliver);
        assert_eq!(admit(&s, OpKind::Get(key(MAX_KEY + 1))), Guard::Refuse("key longer than 32 bytes"));
        assert_eq!(admit(&s, OpKind::Put(key(1), value(MAX_VALUE + 1))), Guard::Refuse("value larger than 64 bytes"));
        assert_eq!(admit(&s, OpKind::Noop), Guard::Refuse("clients may not send no-ops"));
        // The window used up: a new request is refused, the one already executed is answered.
        s.executed = (1..=WINDOW).map(|n| (n, Req::Null)).collect();
        assert!(matches!(admit(&s, OpKind::Get(key(1))), Guard::Refuse(why) if why.contains("window")));
        s.replies.insert((0, 7), (1, None));
        assert_eq!(admit(&s, OpKind::Get(key(1))), Guard::Deliver);
    }

    fn flags(args: &[&str]) -> Result<PbftNodeFlags, String> {
        let cmd = <PbftNodeFlags as clap::Args>::augment_args(clap::Command::new("node"));
        let m =
            cmd.try_get_matches_from(std::iter::once("node").chain(args.iter().copied())).map_err(|e| e.to_string())?;
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
        assert!(host.bench().is_err());
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
        assert_eq!(args, ["--byzantine-mode", "silent", "--byzantine-node", "2"]);
        let again = flags(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        assert_eq!(PbftModelCfg::node_args(&again), args);
        assert!(PbftModelCfg::node_args(&flags(&[]).unwrap()).is_empty());
        let far = flags(&["--byzantine-mode", "silent", "--byzantine-node", "4"]).unwrap();
        assert_eq!(
            PbftModelCfg::node(0, 4, 1, &far).err().as_deref(),
            Some("--byzantine-node 4 is not a replica: the 4 replicas are 0..4")
        );
        assert!(flags(&["--byzantine-node", "1"]).is_err(), "a node without a mode");
        assert!(flags(&["--byzantine-mode", "forge"]).is_err());
    }

    /// Every message the equivocating node sends is either what the correct code sent or a move
    /// of the model's Byzantine menu (`pbft::byzantine::menu`) in its state after the step: as
    /// a primary ordering a request, as a backup preparing it, and replying to a read.
    #[test]
    fn every_message_an_equivocating_node_sends_is_the_correct_codes_or_on_the_models_menu() {
        let cfg = runtime_cfg(4, 1);
        let bounds = super::super::byzantine::Menu { moves: 1, max_view: 0, forge: false, silent: false, crash: false };
        let check = |node: &PbftNode, me: usize, state: &mut Cow<PbftState>, src: usize, msg: PbftMsg| {
            let (me, src) = (Id::from(me), Id::from(src));
            let mut honest = Out::new();
            let mut before = state.clone();
            node.actor.on_msg(me, &mut before, src, msg.clone(), &mut honest);
            let honest: Vec<(Id, PbftMsg)> = honest
                .iter()
                .filter_map(|c| if let Command::Send(to, m) = c { Some((*to, m.clone())) } else { None })
                .collect();
            let mut out = Out::new();
            node.on_msg(me, state, src, msg, &mut out);
            let Some(s) = replica_state(state) else { panic!("a replica") };
            let menu = super::super::byzantine::menu(&cfg, &bounds, s, me);
            let sent: Vec<(Id, PbftMsg)> = out
                .iter()
                .filter_map(|c| if let Command::Send(to, m) = c { Some((*to, m.clone())) } else { None })
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
        let mut primary = Cow::Owned(PbftState::Replica(ReplicaState::default()));
        assert_eq!(check(&node(0), 0, &mut primary, 4, PbftMsg::Request(op.clone())), (3, 2));
        // Backup 3 prepares the real request for replica 1 and the null one for replica 2.
        let mut backup = Cow::Owned(PbftState::Replica(ReplicaState::default()));
        let pp = Order { view: 0, seq: 1, req: Req::Op(op.clone()), replica: Id::from(0) };
        assert_eq!(check(&node(3), 3, &mut backup, 0, PbftMsg::PrePrepare(pp)), (3, 2));
        // Asked again for a read it executed, it lies about the value.
        let mut done = ReplicaState::default();
        done.executed.insert(1, Req::Op(op.clone()));
        done.replies.insert((0, 9), (1, Some(super::super::Value::from("1"))));
        let mut done = Cow::Owned(PbftState::Replica(done));
        assert_eq!(check(&node(3), 3, &mut done, 4, PbftMsg::Request(op)), (1, 1));
        // Silent sends nothing.
        let silent = PbftModelCfg::node(0, 4, 1, &flags(&["--byzantine-mode", "silent"]).unwrap()).unwrap();
        let mut out = Out::new();
        let mut state = Cow::Owned(PbftState::Replica(ReplicaState::default()));
        let op = Op { client: 0, session: 9, seq: 1, kind: OpKind::Get(super::super::Key::from("x")) };
        silent.on_msg(Id::from(0), &mut state, Id::from(4), PbftMsg::Request(op), &mut out);
        assert!(!out.iter().any(|c| matches!(c, Command::Send(..))));
    }
}
