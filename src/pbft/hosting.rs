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
//! Replicas keep their state in memory only (`Storage = ()`): a replica killed and restarted
//! comes back empty, behind the others, and counts against the f faults the quorums tolerate
//! until a view change (with no state transfer, not even then) brings it back. That is PBFT's
//! fault model: at most f replicas faulty at once, whatever the fault.

use super::actor::{PbftActor, PbftState, PbftTimer};
use super::replica::{ReplicaCfg, ReplicaState};
use super::{BugSet, Op, OpKind, PbftModelCfg, PbftMsg, Req, SeqNo, View};
use crate::runtime::client::PbftClient;
use crate::runtime::door::{BenchWriter, ClientFailure, ClientOpts, Hosting, NoFlags, Reply};
use crate::runtime::hosted::{Guard, Hosted, Status};
use stateright::actor::Id;

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

impl Hosted for PbftActor {
    /// term: the view; commit: requests executed; log_len: log slots held.
    fn status(state: &PbftState) -> Status {
        let Some(s) = replica_state(state) else { return Status { role: "client".into(), ..Status::default() } };
        let role = match s.changing {
            true => "changing view",
            false => "replica",
        };
        Status {
            role: role.to_owned(),
            term: s.view,
            commit: s.executed.len() as u64,
            log_len: s.log.len() as u64,
            last: s.executed.iter().next_back().map_or_else(String::new, |(n, r)| format!("#{n} {r:?}")),
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

/// A checked `pbft-put` (with its value) or `pbft-get`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftRequest {
    key: String,
    value: Option<String>,
}

/// Exactly the `N` arguments `names` of operation `op`.
fn data<const N: usize>(op: &str, names: [&str; N], args: &[String]) -> Result<[String; N], String> {
    let wanted = names.join(" ");
    if let Some(extra) = args.get(N) {
        return Err(format!(
            "`{op}` takes {wanted}; unexpected argument '{extra}' (they are taken verbatim: a `--` goes before the key)"
        ));
    }
    <[String; N]>::try_from(args.to_vec())
        .map_err(|got| format!("`{op}` needs {wanted}; got {} argument(s)", got.len()))
}

impl Hosting for PbftModelCfg {
    type Actor = PbftActor;
    type NodeFlags = NoFlags;
    type ClientFlags = NoFlags;
    type Op = PbftOp;
    type Request = PbftRequest;

    /// A correct replica of `servers` (n), sized for f = (n-1)/3 faults, with the runtime's window.
    fn node(_id: usize, servers: usize, clients: usize, _flags: &NoFlags) -> Result<PbftActor, String> {
        Ok(PbftActor::Replica(runtime_cfg(servers, clients)))
    }

    fn node_args(_flags: &NoFlags) -> Vec<String> {
        Vec::new()
    }

    fn example(_flags: &NoFlags) -> String {
        "pbft-put x 1".to_owned()
    }

    fn request(op: PbftOp) -> Result<PbftRequest, String> {
        let (key, value) = match &op {
            PbftOp::Put { args } => data("pbft-put", ["<KEY>", "<VALUE>"], args).map(|[k, v]| (k, Some(v)))?,
            PbftOp::Get { args } => data("pbft-get", ["<KEY>"], args).map(|[k]| (k, None))?,
        };
        if key.len() > MAX_KEY {
            return Err(format!("the key is {} bytes; PBFT's nodes take keys of at most {MAX_KEY}", key.len()));
        }
        if let Some(value) = value.as_ref().filter(|v| v.len() > MAX_VALUE) {
            return Err(format!("the value is {} bytes; PBFT's nodes take at most {MAX_VALUE}", value.len()));
        }
        Ok(PbftRequest { key, value })
    }

    /// A fresh session per run: its one request is request 1.
    fn send(r: PbftRequest, _: &NoFlags, to: ClientOpts) -> Result<Reply, ClientFailure> {
        let mut c = PbftClient::new(to.servers, to.key, to.number)?;
        c.attempts = to.attempts;
        c.timeout = to.timeout;
        match r.value {
            Some(value) => {
                c.put(1, r.key.as_str(), value.as_str())?;
                Ok(Reply::Value(b"ok".to_vec()))
            }
            None => Ok(match c.get(1, r.key.as_str())? {
                Some(v) => Reply::Value(v.as_bytes().to_vec()),
                None => Reply::Absent(format!("(none): the key {:?} was never written", r.key)),
            }),
        }
    }

    fn bench() -> Result<BenchWriter, &'static str> {
        Err("PBFT's runtime orders at most 64 requests per cluster (no checkpoints, section 4.3)")
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

    #[test]
    fn a_node_is_a_correct_replica_sized_for_a_third_of_its_cluster_and_the_operations_name_pbft() {
        let PbftActor::Replica(cfg) = PbftModelCfg::node(1, 4, 2, &NoFlags {}).expect("a replica") else {
            panic!("not a correct replica")
        };
        assert_eq!((cfg.replicas, cfg.f, cfg.clients, cfg.window, cfg.bugs), (4, 1, 2, WINDOW, BugSet::NONE));
        assert_eq!(runtime_cfg(7, 1).f, 2);
        assert_eq!(runtime_cfg(3, 1).f, 0);
        let put =
            |args: &[&str]| PbftModelCfg::request(PbftOp::Put { args: args.iter().map(|s| s.to_string()).collect() });
        assert_eq!(put(&["k", "-h"]), Ok(PbftRequest { key: "k".into(), value: Some("-h".into()) }));
        assert!(put(&["k", &"v".repeat(MAX_VALUE + 1)]).unwrap_err().contains("at most 64"));
        let host = crate::runtime::door::Host::<PbftModelCfg>::NEW;
        assert_eq!(crate::runtime::door::ops(&host), ["pbft-put", "pbft-get"]);
        assert!(host.bench().is_err());
    }
}
