//! `quorum`: consensus protocols as pure Stateright actors, exhaustively model-checked.
//!
//! - [`paxos`]: single-decree Paxos (proposers, acceptors, learners, clients) and its model.
//! - [`check`]: runs any model with a chosen strategy and reports every property's verdict.

pub mod check;
pub mod paxos;
