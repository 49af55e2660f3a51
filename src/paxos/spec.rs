//! The sequential specification clients are checked against: a single decree, written once.
//!
//! `Propose(v)` returns the decree (the first proposed value wins, later proposals are told the
//! winner); `Read` returns the decree if any. Stateright's `LinearizabilityTester` checks that the
//! concurrent history of the model's clients can be ordered to fit this specification.

use super::Value;
use serde::Serialize;
use stateright::semantics::SequentialSpec;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Decree(pub Option<Value>);

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DecreeOp {
    Propose(Value),
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DecreeRet {
    Decided(Value),
    ReadOk(Option<Value>),
}

impl SequentialSpec for Decree {
    type Op = DecreeOp;
    type Ret = DecreeRet;

    fn invoke(&mut self, op: &DecreeOp) -> DecreeRet {
        match op {
            DecreeOp::Propose(v) => DecreeRet::Decided(*self.0.get_or_insert(*v)),
            DecreeOp::Read => DecreeRet::ReadOk(self.0),
        }
    }
}
