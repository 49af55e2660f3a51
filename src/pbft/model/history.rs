//! The ghost state: the clients' operations as they were invoked and returned, for the
//! linearizability and validity properties.

use super::{PbftAction, PbftModel, PbftModelCfg, PbftSysState};
use crate::pbft::actor::PbftState;
use crate::pbft::replica::kv_op;
use crate::pbft::{OpKind, PbftMsg, Seq};
use crate::raft::kv::{KvMap, KvRet};
use stateright::actor::{ActorModelAction, Id};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use std::sync::Arc;

/// Auxiliary ("ghost") state, kept along each path for the properties.
#[derive(Clone, PartialEq, Hash)]
pub struct PbftHistory {
    /// Per client: operations invoked (sent) and returned (accepted).
    pub invoked: Vec<Seq>,
    pub returned: Vec<Seq>,
    /// The clients' operations on the replicated map.
    pub lin: Arc<LinearizabilityTester<Id, KvMap>>,
    /// The part each replica plays, the same in every state: replicas with equal parts are
    /// interchangeable ([`super::symmetry`]).
    pub parts: Arc<Vec<u8>>,
}

impl PbftHistory {
    pub(super) fn new(cfg: &PbftModelCfg) -> Self {
        PbftHistory {
            invoked: vec![0; cfg.clients],
            returned: vec![0; cfg.clients],
            lin: Arc::new(LinearizabilityTester::new(KvMap::default())),
            parts: Arc::new(super::symmetry::parts(cfg)),
        }
    }
}

impl std::fmt::Debug for PbftHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invoked: {:?}, returned: {:?}", self.invoked, self.returned)?;
        write!(f, "lin: {:?}", self.lin)
    }
}

impl PbftModel {
    /// A client that completed an operation in this step returns it, with the result of the
    /// reply that completed it (its f+1 matching replies all say the same).
    pub(super) fn observe(&self, last: &PbftSysState, action: &PbftAction, next: &mut PbftSysState) {
        let ActorModelAction::Deliver { dst, msg: PbftMsg::Reply(r), .. } = action else { return };
        let Some(c) = self.cfg.client_number(*dst) else { return };
        let done = |s: &PbftSysState| match s.actor_states.get(usize::from(*dst)).map(|a| &**a) {
            Some(PbftState::Client(cs)) => cs.done,
            _ => 0,
        };
        if done(next) <= done(last) {
            return;
        }
        let h = &mut next.history;
        h.returned[c] = r.seq;
        let number = u8::try_from(c).unwrap_or(u8::MAX);
        let ret = match crate::pbft::client::op(number, r.seq, self.cfg.keys).kind {
            OpKind::Put(..) => KvRet::PutOk,
            _ => KvRet::GetOk(r.result.clone()),
        };
        let _ = Arc::make_mut(&mut h.lin).on_return(*dst, ret);
        if r.seq < Seq::from(self.cfg.requests) {
            invoke(&self.cfg, h, c, r.seq + 1);
        }
    }
}

/// Client `c` sends its request `seq`: the invocation. (Recorded here, not from the message, so
/// that the return of the request before comes first. A request a Byzantine replica forges in a
/// client's name is no invocation.)
pub(super) fn invoke(cfg: &PbftModelCfg, h: &mut PbftHistory, c: usize, seq: Seq) {
    h.invoked[c] = seq;
    let number = u8::try_from(c).unwrap_or(u8::MAX);
    let op = crate::pbft::client::op(number, seq, cfg.keys);
    let _ = Arc::make_mut(&mut h.lin).on_invoke(Id::from(cfg.replicas + c), kv_op(&op));
}
