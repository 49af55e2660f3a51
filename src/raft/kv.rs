//! The sequential specification of Raft's replicated state machine, a key-value map, for
//! Stateright's `LinearizabilityTester` (the model's histories and the cluster tests' real ones).
//!
//! Why one map rather than a `Register` per key: linearizability is local (Herlihy and Wing,
//! 1990: a history is linearizable iff the subhistory of each object is), so both check the same
//! thing. One map keeps the ghost history a single tester whose one-key histories are exactly a
//! register's, and needs no routing of operations to testers by key.

use super::{Key, Value};
use serde::Serialize;
use stateright::semantics::SequentialSpec;
use std::collections::BTreeMap;

/// The map, as a sequential object: every key starts absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct KvMap(pub BTreeMap<Key, Value>);

/// An operation on [`KvMap`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvOp {
    Put(Key, Value),
    Get(Key),
}

/// What a [`KvOp`] returns: a Get the key's value (None: never written).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvRet {
    PutOk,
    GetOk(Option<Value>),
}

impl SequentialSpec for KvMap {
    type Op = KvOp;
    type Ret = KvRet;

    /// A Put sets its key; a Get returns its key's value.
    fn invoke(&mut self, op: &KvOp) -> KvRet {
        match op {
            KvOp::Put(k, v) => {
                self.0.insert(k.clone(), v.clone());
                KvRet::PutOk
            }
            KvOp::Get(k) => KvRet::GetOk(self.0.get(k).cloned()),
        }
    }

    /// As `invoke`, without cloning the value a Get returns.
    fn is_valid_step(&mut self, op: &KvOp, ret: &KvRet) -> bool {
        match (op, ret) {
            (KvOp::Put(k, v), KvRet::PutOk) => {
                self.0.insert(k.clone(), v.clone());
                true
            }
            (KvOp::Get(k), KvRet::GetOk(v)) => self.0.get(k) == v.as_ref(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

    fn v(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn keys_are_independent_and_start_absent() {
        let mut m = KvMap::default();
        assert_eq!(m.invoke(&KvOp::Get(v("x"))), KvRet::GetOk(None));
        assert_eq!(m.invoke(&KvOp::Put(v("x"), v("1"))), KvRet::PutOk);
        assert_eq!(m.invoke(&KvOp::Get(v("x"))), KvRet::GetOk(Some(v("1"))));
        assert_eq!(m.invoke(&KvOp::Get(v("y"))), KvRet::GetOk(None));
        assert!(!m.is_valid_step(&KvOp::Get(v("y")), &KvRet::GetOk(Some(v("1")))));
    }

    /// The store-buffering pattern: each client writes its key, then reads the other's, the
    /// second write overlapping the first read. The first read may miss the second write; the
    /// second read may not then miss the first write.
    #[test]
    fn both_reads_missing_the_other_write_is_not_linearizable() {
        let history = |second_read: Option<Value>| {
            let mut t = LinearizabilityTester::new(KvMap::default());
            t.on_invoke(0, KvOp::Put(v("x"), v("A"))).unwrap();
            t.on_return(0, KvRet::PutOk).unwrap();
            t.on_invoke(0, KvOp::Get(v("y"))).unwrap();
            t.on_invoke(1, KvOp::Put(v("y"), v("B"))).unwrap();
            t.on_return(0, KvRet::GetOk(None)).unwrap();
            t.on_return(1, KvRet::PutOk).unwrap();
            t.on_invoke(1, KvOp::Get(v("x"))).unwrap();
            t.on_return(1, KvRet::GetOk(second_read)).unwrap();
            t.serialized_history().is_some()
        };
        assert!(history(Some(v("A"))));
        assert!(!history(None));
    }

    #[test]
    fn concurrent_writes_of_two_keys_may_be_read_in_either_order() {
        let mut t = LinearizabilityTester::new(KvMap::default());
        t.on_invoke(0, KvOp::Put(v("x"), v("A"))).unwrap();
        t.on_invoke(1, KvOp::Get(v("x"))).unwrap();
        t.on_invoke(2, KvOp::Get(v("y"))).unwrap();
        t.on_return(1, KvRet::GetOk(Some(v("A")))).unwrap();
        t.on_return(2, KvRet::GetOk(None)).unwrap();
        t.on_return(0, KvRet::PutOk).unwrap();
        assert!(t.serialized_history().is_some());
    }
}
