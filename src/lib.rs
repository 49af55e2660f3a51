//! `quorum`: consensus protocols as pure Stateright actors, exhaustively model-checked.
//!
//! - [`paxos`]: single-decree Paxos (proposers, acceptors, learners, clients) and its model.
//! - [`raft`]: Raft (election, log replication, persistence, clients) and its model.
//! - [`protocol`]: the one door through which every protocol enters the CLI, the suites and the
//!   guide.
//! - [`quorums`]: quorum sizes (a majority), shared by the protocols.
//! - [`check`]: the checking room — runs any model with a chosen strategy and reports every
//!   property's verdict; what the symmetry and network reductions share.
//! - [`bugs`]: what the protocols' planted-bug zoos share.
//! - [`teach`]: the teaching room — named, replayable scenarios of classic situations and their
//!   message-sequence diagrams.
//! - [`compare`]: the comparison room — the mirror of Stateright's Paxos example, for benchmarks.
//! - [`testkit`]: drive one real actor step by step, for tests of single rules (tests/paper.rs).
//! - [`runtime`]: the same actors as OS processes over authenticated UDP, with durable storage.

pub mod bugs;
pub mod byzantine;
pub mod check;
pub mod compare;
pub mod paxos;
pub mod pbft;
pub mod protocol;
pub mod quorums;
pub mod raft;
pub mod runtime;
pub mod teach;
pub mod testkit;
