//! Proofs beyond the bounds: proptest suites for inductive invariants.

mod log;
mod paxos;
mod raft;
mod walk;
