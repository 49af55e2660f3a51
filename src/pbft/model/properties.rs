//! The properties: what PBFT promises (§4, Theorem "safety" of the TOCS version: correct
//! replicas agree on the sequence of requests they execute), checked over correct replicas only
//! — a Byzantine replica's state says nothing. [`all`] lists what a configuration checks.

use super::{replica_state, PbftModel, PbftModelCfg, PbftSysState};
use crate::pbft::replica::primary;
use crate::pbft::{client, Req};
use stateright::Property;

/// Property names, shared by the model, the bug zoo, the CLI and the tests.
pub mod property {
    pub const AGREEMENT: &str = "agreement";
    pub const VALIDITY: &str = "validity";
    pub const IN_ORDER: &str = "execution in sequence order";
    pub const PREFIX: &str = "executions are prefixes of one another";
    pub const LINEARIZABLE: &str = "linearizable";
    pub const REQUEST_EXECUTED: &str = "a request executed";
    pub const VIEW_CHANGED: &str = "a view change completed";
    pub const PRIMARY_REPLACED: &str = "a Byzantine primary replaced";
    pub const EVENTUALLY_ANSWERED: &str = "requests eventually answered";
}
use property::*;

/// Every property checked under `cfg`, in the order reports list them.
pub fn all(cfg: &PbftModelCfg) -> Vec<Property<PbftModel>> {
    let mut ps = vec![
        Property::always(AGREEMENT, agreement),
        Property::always(VALIDITY, validity),
        Property::always(IN_ORDER, in_order),
        Property::always(PREFIX, prefixes),
        Property::always(LINEARIZABLE, |_: &PbftModel, s: &PbftSysState| s.history.lin.serialized_history().is_some()),
    ];
    if cfg.clients > 0 && cfg.requests > 0 {
        ps.push(Property::sometimes(REQUEST_EXECUTED, |m: &PbftModel, s: &PbftSysState| {
            m.cfg.correct().filter_map(|i| replica_state(s, i)).any(|r| r.executed.values().any(|q| *q != Req::Null))
        }));
    }
    let correct_primary = !cfg.is_byzantine(primary(&cfg.replica_cfg(), 0));
    let replaced = (cfg.silent || cfg.crash)
        && !correct_primary
        && cfg.max_view == 1
        && !cfg.is_byzantine(primary(&cfg.replica_cfg(), 1));
    if ((cfg.max_view == 0 && correct_primary) || replaced) && cfg.clients > 0 && cfg.requests > 0 {
        ps.push(Property::eventually(EVENTUALLY_ANSWERED, requests_answered));
    }
    // A view change needs a request to wait for (§4.4's timer).
    if cfg.max_view >= 1 && cfg.clients > 0 && cfg.requests > 0 {
        ps.push(Property::sometimes(VIEW_CHANGED, |m: &PbftModel, s: &PbftSysState| {
            m.cfg.correct().filter_map(|i| replica_state(s, i)).any(|r| r.view > 0 && !r.changing)
        }));
        if cfg.is_byzantine(primary(&cfg.replica_cfg(), 0)) && cfg.clients > 0 {
            ps.push(Property::sometimes(PRIMARY_REPLACED, primary_replaced));
        }
    }
    ps
}

/// Liveness, as far as a bounded check states it: with a correct primary and no view change
/// (the bound is view 0; a replica whose timer fires leaves it), or with a silent or crashing
/// primary and one view change to a correct one (views <= 1), every client's operations are
/// answered. Stateright's `eventually` is judged at terminal states — here, states where no
/// message is left whose delivery changes anything and no Byzantine move is left — so this says:
/// once the network has delivered everything, every client has accepted f+1 matching replies
/// to each of its operations. (A Byzantine backup may act, but cannot stall the normal case.)
pub fn requests_answered(m: &PbftModel, s: &PbftSysState) -> bool {
    s.history.returned.iter().all(|n| *n >= crate::pbft::Seq::from(m.cfg.requests))
}

/// Correct replicas never execute different requests at the same sequence number (in whatever
/// views they committed them).
pub fn agreement(m: &PbftModel, s: &PbftSysState) -> bool {
    let execs: Vec<_> = m.cfg.correct().filter_map(|i| replica_state(s, i)).map(|r| &r.executed).collect();
    execs
        .iter()
        .enumerate()
        .all(|(i, a)| execs[i + 1..].iter().all(|b| a.iter().all(|(n, req)| b.get(n).is_none_or(|other| other == req))))
}

/// Correct replicas execute only requests their clients sent: each operation is its client's
/// own, and was invoked.
pub fn validity(m: &PbftModel, s: &PbftSysState) -> bool {
    m.cfg.correct().filter_map(|i| replica_state(s, i)).all(|r| {
        r.executed.values().all(|req| match req {
            Req::Null => true,
            Req::Op(op) => {
                let c = usize::from(op.client);
                s.history.invoked.get(c).is_some_and(|n| op.seq <= *n)
                    && *op == client::op(op.client, op.seq, m.cfg.keys)
            }
        })
    })
}

/// A correct replica executes sequence number n only after 1 … n-1, or after taking the state
/// of a stable checkpoint at n-1 or above (§4.3: what it executed before that state is a prefix
/// 1 … a, what after it follows on from the checkpoint).
pub fn in_order(m: &PbftModel, s: &PbftSysState) -> bool {
    m.cfg.correct().filter_map(|i| replica_state(s, i)).all(|r| {
        let t = r.transferred;
        let before = r.executed.range(..=t).count() as u64;
        r.executed.range(..=t).map(|(n, _)| *n).eq(1..=before)
            && r.executed.range(t + 1..).map(|(n, _)| *n).eq(t + 1..=t + r.executed.range(t + 1..).count() as u64)
    })
}

/// What each correct replica executed, in order, is a prefix of what every other did, or
/// extends it.
pub fn prefixes(m: &PbftModel, s: &PbftSysState) -> bool {
    let seqs: Vec<Vec<&Req>> =
        m.cfg.correct().filter_map(|i| replica_state(s, i)).map(|r| r.executed.values().collect()).collect();
    seqs.iter().enumerate().all(|(i, a)| seqs[i + 1..].iter().all(|b| a.iter().zip(b.iter()).all(|(x, y)| x == y)))
}

/// Service goes on under a correct primary after a Byzantine one: a correct replica runs a later
/// view whose primary is correct, and has executed a client's request.
pub fn primary_replaced(m: &PbftModel, s: &PbftSysState) -> bool {
    let rc = m.cfg.replica_cfg();
    m.cfg.correct().filter_map(|i| replica_state(s, i)).any(|r| {
        r.view > 0
            && !r.changing
            && !m.cfg.is_byzantine(primary(&rc, r.view))
            && r.executed.values().any(|q| *q != Req::Null)
    })
}
