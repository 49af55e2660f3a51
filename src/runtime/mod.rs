//! The runtime: the same actors that the model checker explores, run unchanged as one OS process
//! per node over UDP.
//!
//! - [`node`]: the loop — receive, authenticate, `on_msg`; fire timers, `on_timeout`; execute the
//!   actor's `Out` commands (saves first and durably, then timers and sends);
//! - [`storage`]: durable, checksummed storage of the actor's `Storage`;
//! - [`wire`]: the authenticated datagram format and replay protection;
//! - [`client`]: Raft and Paxos clients speaking the model clients' messages over the wire;
//! - [`door`]: the runtime's half of a protocol's door (`Hosting`): a node's flags and actor, the
//!   client's operations, the benchmark's writes — what `quorum node|cluster|client|bench` need;
//! - [`hosted`]: what the runtime needs to know of each protocol's actor beyond the `Actor` trait
//!   (status for logs, and guards for the limits of the model's small integer types);
//! - [`signing`]: per-replica Ed25519 keys, for what a protocol relays (PBFT's certificates);
//! - [`faults`]: a seeded fault shim on the send path;
//! - [`stop`]: the stop flag a signal handler sets and the loop polls — the only state shared
//!   between threads (its orderings are checked by loom in proofs/loom.rs).
//!
//! Why not `stateright::actor::spawn`: it runs actors over UDP but names actors by socket
//! address (so ids change with ports and differ from the model's), writes storage without fsync,
//! panics on I/O errors and trusts every datagram. We reuse its `Actor`, `Out` and `Command`
//! types — so the actor code is the model-checked code — and write the loop around them.

pub mod client;
pub mod door;
pub mod faults;
pub mod hosted;
pub mod node;
pub mod signing;
pub mod stop;
pub mod storage;
pub mod wire;

pub use hosted::{Hosted, Status};
pub use node::{run_node, NodeCfg, NodeError, Stats};
pub use stop::Stop;
