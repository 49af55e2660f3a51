//! `quorum`: consensus protocols as pure Stateright actors, exhaustively model-checked.
//!
//! - [`paxos`]: single-decree Paxos (proposers, acceptors, learners, clients) and its model.
//! - [`raft`]: Raft (election, log replication, persistence, clients) and its model.
//! - [`protocol`]: the one door through which every protocol enters the CLI, the suites and the
//!   guide.
//! - [`check`]: runs any model with a chosen strategy and reports every property's verdict.
//! - [`bugs`]: what the protocols' planted-bug zoos share.
//! - [`scenario`]: named, replayable step sequences of classic situations; [`diagram`]: their
//!   message-sequence diagrams.
//! - [`testkit`]: drive one real actor step by step, for tests of single rules (tests/paper.rs).
//! - [`runtime`]: the same actors as OS processes over authenticated UDP, with durable storage.

pub mod bugs;
pub mod check;
pub mod diagram;
pub mod paxos;
pub mod protocol;
pub mod raft;
pub mod runtime;
pub mod scenario;
pub mod symmetry;
pub mod testkit;
