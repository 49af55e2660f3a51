//! Proofs beyond the bounds: proptest suites for inductive invariants.

mod paxos;
mod raft;
mod walk;
