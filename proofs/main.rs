//! Proofs beyond the bounds: proptest suites for inductive invariants, and loom for the runtime's
//! shared state between threads.

mod log;
mod loom;
mod paxos;
mod raft;
mod walk;
