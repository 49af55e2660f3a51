//! PBFT — Practical Byzantine Fault Tolerance (Castro and Liskov, OSDI 1999; the section numbers
//! cited are that paper's) — as pure Stateright actors: the untrusted half of the course notes,
//! where a replica may reply with a wrong message and someone may pretend to be another.
//!
//! - [`replica`]: one function per rule of the paper: the normal case (§4.2: pre-prepare,
//!   prepare, commit, execute in order, reply) and the view change (§4.4, with §4.5.2's
//!   joining rule);
//! - [`client`]: sends its requests to every replica and accepts a result once f+1 replicas
//!   report it (§4.1);
//! - [`byzantine`]: what a Byzantine replica may do beyond the correct code, as a bounded menu
//!   for the generic mechanism of [`crate::byzantine`];
//! - [`actor`]: the `Actor` hosting correct replicas, Byzantine replicas and clients;
//! - [`bug`]: the planted bugs;
//! - [`door`]: the door to the rest of `quorum` ([`crate::protocol::Protocol`]);
//! - [`hosting`]: the runtime's door: the correct replica over UDP (`quorum node pbft`);
//! - [`signed`]: its messages on the wire, signed, with the signed messages they relay.
//!
//! [`model`] is the checking side: the model builder, its properties (first), the ghost history
//! and the bound. docs/pbft.md walks through the rules.
//!
//! Authentication: every message names its sender (the paper's `i` in `<..., i>σi`), and a
//! receiver believes it only if the channel says the same ([`crate::byzantine::authentic`]):
//! PBFT's MACs, the runtime's HMAC, Stateright's `src`. Prepared certificates travel inside
//! view-change messages, signed by their signers; a certificate whose signatures do not verify
//! is marked `forged`, and so is a stable checkpoint's proof whose signatures do not verify.
//!
//! Checkpoints and garbage collection (§4.3) run when the configuration gives a checkpoint period
//! ([`replica::ReplicaCfg::checkpoint`]); with none, the bound's sequence numbers all fit in one
//! window (`h = 0`, `H` = the window), as in most of the model's bounds.

pub mod actor;
pub mod bug;
pub mod byzantine;
pub mod client;
pub mod door;
pub mod hosting;
pub mod model;
pub mod replica;
pub mod signed;

use crate::raft::kv::KvMap;
pub use crate::raft::{Key, Op, OpKind, Seq, Session, Value};
pub use actor::{PbftActor, PbftState, PbftTimer};
pub use bug::{Bug, BugSet};
pub use model::{PbftModel, PbftModelCfg};

use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A view number; view `v`'s primary is replica `v mod n` (§4.1).
pub type View = u64;
/// A sequence number the primary assigns to a request (§4.2); the first is 1.
pub type SeqNo = u64;

/// What a sequence number is assigned to: a client's operation, or the null request a new
/// primary fills a gap with (§4.4), which executes as a no-op.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Req {
    Null,
    Op(Op),
}

impl fmt::Debug for Req {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Req::Null => write!(f, "null"),
            Req::Op(op) => write!(f, "{op:?}"),
        }
    }
}

/// The body of a pre-prepare, prepare or commit (§4.2): request `req` at sequence number `seq`
/// in view `view`, sent by `replica`. The model carries the request itself where the paper
/// carries its digest: two requests have equal digests exactly when they are equal.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Order {
    pub view: View,
    pub seq: SeqNo,
    pub req: Req,
    pub replica: Id,
}

impl fmt::Debug for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{} #{} {:?} by r{}", self.view, self.seq, self.req, usize::from(self.replica))
    }
}

/// A prepared certificate (§4.2, carried in view changes, §4.4): the primary's pre-prepare of
/// `req` at (`view`, `seq`) and `prepares` matching prepares of distinct backups, each signed.
/// The model carries how many signed, not who: a receiver checks their signatures and their
/// number, and which backups they are changes neither. `forged`: some signature does not verify
/// (a Byzantine replica claims prepares it never got).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Prepared {
    pub view: View,
    pub seq: SeqNo,
    pub req: Req,
    pub prepares: usize,
    pub forged: bool,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "P(v{} #{} {:?}, {} prepares{})",
            self.view,
            self.seq,
            self.req,
            self.prepares,
            if self.forged { ", forged" } else { "" }
        )
    }
}

/// The service state a checkpoint certifies (§4.3): the map and the reply cache after the
/// requests up to the checkpoint's sequence number executed. Checkpoint messages carry its
/// [`StateDigest`]; the state itself travels only in a state transfer ([`Transfer`]).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub kv: KvMap,
    pub replies: ReplyCache,
}

/// The reply cache (§4.1): per client session, the last request executed.
pub type ReplyCache = BTreeMap<(u8, Session), Cached>;

/// A session's last request executed: its number `seq`, its result, and the sequence number
/// `at` which it executed (a cache with a capacity drops the session that executed least
/// recently, [`replica::ReplicaCfg::sessions`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cached {
    pub seq: Seq,
    pub result: Option<Value>,
    pub at: SeqNo,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kv)
    }
}

impl Snapshot {
    /// The state's digest (§4.3's `d`): the SHA-256 of its encoding.
    pub fn digest(&self) -> StateDigest {
        use sha2::Digest as _;
        let bytes = postcard::to_stdvec(self).unwrap_or_default();
        StateDigest(sha2::Sha256::digest(&bytes).into())
    }
}

/// A digest of a checkpoint's state (§4.3's `d`): two states have equal digests exactly when
/// they are equal (but for a collision of SHA-256). Shown by its first two bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StateDigest(pub [u8; 32]);

impl fmt::Debug for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "d={:02x}{:02x}", self.0[0], self.0[1])
    }
}

/// `<CHECKPOINT, n, d, i>` (§4.3): replica `replica` executed the requests up to `seq` and the
/// digest of its state is then `digest`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: SeqNo,
    pub digest: StateDigest,
    pub replica: Id,
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checkpoint(#{} {:?} by r{})", self.seq, self.digest, usize::from(self.replica))
    }
}

/// A stable checkpoint with its proof (§4.3, the `n` and `C` of a view change, §4.4): `signers`
/// matching checkpoint messages for (`seq`, `digest`), each signed. As with [`Prepared`], the
/// model carries how many signed, not who; `forged`: some signature does not verify.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stable {
    pub seq: SeqNo,
    pub digest: StateDigest,
    pub signers: usize,
    pub forged: bool,
}

impl fmt::Debug for Stable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let forged = if self.forged { ", forged" } else { "" };
        write!(f, "C(#{} {:?}, {} signers{forged})", self.seq, self.digest, self.signers)
    }
}

/// A state transfer (§5.3, in one message where the paper fetches a partition tree): replica
/// `replica` sends the state it recorded at checkpoint `seq` to a replica that asked for it
/// ([`PbftMsg::Fetch`]). The receiver takes it only if its digest is its stable checkpoint's.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Transfer {
    pub seq: SeqNo,
    pub state: Snapshot,
    pub replica: Id,
}

/// `<VIEW-CHANGE, v+1, n, C, P, i>` (§4.4): replica `replica` moves to view `view` and reports
/// its latest stable checkpoint with its proof (`stable`: `n` and `C`; none: `n` = 0) and what
/// it prepared above it (`P`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewChange {
    pub view: View,
    pub prepared: BTreeSet<Prepared>,
    pub replica: Id,
    pub stable: Option<Stable>,
}

impl fmt::Debug for ViewChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ViewChange(v{} by r{} {:?}", self.view, usize::from(self.replica), self.prepared)?;
        if let Some(c) = &self.stable {
            write!(f, " {c:?}")?;
        }
        write!(f, ")")
    }
}

/// `<NEW-VIEW, v+1, V, O>` (§4.4): the new primary's proof (`view_changes`, 2f+1 of them) and
/// the pre-prepares it re-issues (`pre_prepares`, one per sequence number up to the highest
/// prepared, null requests in the gaps).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NewView {
    pub view: View,
    pub view_changes: BTreeSet<ViewChange>,
    pub pre_prepares: BTreeMap<SeqNo, Req>,
    pub replica: Id,
}

/// `<REPLY, v, t, c, i, r>` (§4.1): replica `replica` executed client `client`'s request `seq`
/// of session `session` (the paper's timestamp `t` is the pair) with result `result` (a Get's
/// value; nothing for a Put).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reply {
    pub view: View,
    pub client: u8,
    pub session: Session,
    pub seq: Seq,
    pub result: Option<Value>,
    pub replica: Id,
}

/// The messages of §4.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PbftMsg {
    /// Client → replicas: `<REQUEST, o, t, c>` (§4.1); the operation names its client.
    Request(Op),
    /// Primary → backups (§4.2).
    PrePrepare(Order),
    /// Backup → replicas (§4.2).
    Prepare(Order),
    /// Replica → replicas (§4.2).
    Commit(Order),
    /// Replica → client (§4.1).
    Reply(Reply),
    /// Replica → replicas (§4.4).
    ViewChange(ViewChange),
    /// New primary → replicas (§4.4).
    NewView(NewView),
    /// Replica → replicas (§4.3).
    Checkpoint(Checkpoint),
    /// Replica → replicas: `<FETCH, n, i>` (§5.3): replica `i`, behind stable checkpoint `n`,
    /// asks for its state.
    Fetch { seq: SeqNo, replica: Id },
    /// Replica → the replica that fetched (§5.3).
    Transfer(Transfer),
}

impl fmt::Debug for PbftMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PbftMsg::Request(op) => write!(f, "Request({op:?})"),
            PbftMsg::PrePrepare(o) => write!(f, "PrePrepare({o:?})"),
            PbftMsg::Prepare(o) => write!(f, "Prepare({o:?})"),
            PbftMsg::Commit(o) => write!(f, "Commit({o:?})"),
            PbftMsg::Reply(r) => write!(
                f,
                "Reply(v{} {}.{}={} by r{})",
                r.view,
                r.client,
                r.seq,
                r.result.as_ref().map_or("ok".to_owned(), |v| v.to_string()),
                usize::from(r.replica)
            ),
            PbftMsg::ViewChange(vc) => write!(f, "{vc:?}"),
            PbftMsg::Checkpoint(c) => write!(f, "{c:?}"),
            PbftMsg::Fetch { seq, replica } => write!(f, "Fetch(#{seq} by r{})", usize::from(*replica)),
            PbftMsg::Transfer(t) => {
                write!(f, "Transfer(#{} {:?} {:?} by r{})", t.seq, t.state, t.state.digest(), usize::from(t.replica))
            }
            PbftMsg::NewView(nv) => {
                let from: Vec<String> =
                    nv.view_changes.iter().map(|vc| format!("r{}", usize::from(vc.replica))).collect();
                write!(
                    f,
                    "NewView(v{} by r{} from {} O={:?})",
                    nv.view,
                    usize::from(nv.replica),
                    from.join(","),
                    nv.pre_prepares
                )
            }
        }
    }
}

impl PbftMsg {
    /// The sender the message names (a client's request names its client by number).
    pub fn claimed_replica(&self) -> Option<Id> {
        match self {
            PbftMsg::Request(_) => None,
            PbftMsg::PrePrepare(o) | PbftMsg::Prepare(o) | PbftMsg::Commit(o) => Some(o.replica),
            PbftMsg::Reply(r) => Some(r.replica),
            PbftMsg::ViewChange(vc) => Some(vc.replica),
            PbftMsg::NewView(nv) => Some(nv.replica),
            PbftMsg::Checkpoint(c) => Some(c.replica),
            PbftMsg::Fetch { replica, .. } => Some(*replica),
            PbftMsg::Transfer(t) => Some(t.replica),
        }
    }
}
