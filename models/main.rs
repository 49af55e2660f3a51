//! The model-checking suite: every protocol configuration the project claims, checked
//! exhaustively within its stated bound, and every planted bug caught by its property.
//!
//! `cargo test --release` runs all of it; plain `cargo test` skips the checks marked
//! "release suite" (they take minutes in a debug build).

/// As in the `quorum` binary: the checker allocates a state per transition.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;
mod five;
mod liveness;
mod paxos;
mod paxos_mirror;
mod pbft;
mod raft;
mod raft_eager;
mod reduction;
