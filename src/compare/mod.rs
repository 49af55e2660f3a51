//! The comparison room: models built to be measured against other projects, not to be read
//! first. [`paxos_mirror`] has the shape of Stateright's `examples/paxos.rs` (servers that are
//! proposer, acceptor and learner at once, register clients), built from this crate's Paxos rules,
//! so that `quorum bench check` compares the two checkers on the same state space.

pub mod paxos_mirror;
