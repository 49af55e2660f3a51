//! A seeded fault shim on the send path: each outgoing datagram may be dropped, duplicated or
//! delayed by a random time (which also reorders). Off unless the node is started with fault
//! flags; with the same seed a node makes the same choices for the same sequence of sends.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultCfg {
    pub seed: u64,
    /// Probability that a datagram is not sent.
    pub drop: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Each datagram (and each copy) is held back by a uniform time in `0..=max_delay`.
    pub max_delay: Duration,
    /// A file naming a partition, read every 100 ms (see [`read_partition`]); absent or empty:
    /// no partition. The same file can be given to every node, and a test or an operator
    /// partitions and heals the cluster by writing and removing it.
    pub partition_file: Option<std::path::PathBuf>,
}

impl FaultCfg {
    /// Whether the send-path shim (drop, duplicate, delay) is on.
    pub fn is_active(&self) -> bool {
        self.drop > 0.0 || self.duplicate > 0.0 || !self.max_delay.is_zero()
    }
}

/// A held datagram: when it is due, a tie-breaker keeping send order, where to, what.
type Held = Reverse<(Instant, u64, SocketAddr, Vec<u8>)>;

/// Datagrams held back, by the time they are due.
pub struct FaultShim {
    cfg: FaultCfg,
    rng: StdRng,
    held: BinaryHeap<Held>,
    counter: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub delayed: u64,
}

impl FaultShim {
    pub fn new(cfg: FaultCfg) -> FaultShim {
        let rng = StdRng::seed_from_u64(cfg.seed);
        FaultShim { cfg, rng, held: BinaryHeap::new(), counter: 0, dropped: 0, duplicated: 0, delayed: 0 }
    }

    /// Takes one outgoing datagram; what is due now is returned by [`FaultShim::due`].
    pub fn push(&mut self, now: Instant, to: SocketAddr, bytes: Vec<u8>) {
        if self.rng.random_bool(self.cfg.drop.clamp(0.0, 1.0)) {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.random_bool(self.cfg.duplicate.clamp(0.0, 1.0)) {
            self.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.cfg.max_delay.is_zero() {
                Duration::ZERO
            } else {
                self.delayed += 1;
                self.rng.random_range(Duration::ZERO..=self.cfg.max_delay)
            };
            self.counter += 1;
            self.held.push(Reverse((now + delay, self.counter, to, bytes.clone())));
        }
    }

    /// The datagrams due at `now`, in due order.
    pub fn due(&mut self, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        while self.held.peek().is_some_and(|Reverse((at, ..))| *at <= now) {
            if let Some(Reverse((_, _, to, bytes))) = self.held.pop() {
                out.push((to, bytes));
            }
        }
        out
    }

    /// When the next held datagram is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.held.peek().map(|Reverse((at, ..))| *at)
    }
}

/// The servers that node `me` may talk to under the partition in `text`: groups of server ids
/// separated by `|`, ids by `,` — e.g. `0|1,2` cuts server 0 off from 1 and 2. `None` (no
/// partition) for an empty text; a server in no group is cut off from every other server.
/// Clients are never partitioned. Unparsable text is an error (the node then keeps the previous
/// partition and logs it).
pub fn read_partition(text: &str, me: usize) -> Result<Option<Vec<usize>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut groups = Vec::new();
    for group in text.split('|') {
        let ids: Result<Vec<usize>, _> =
            group.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::parse::<usize>).collect();
        groups.push(ids.map_err(|e| format!("bad partition '{text}': {e}"))?);
    }
    if let Some(mine) = groups.into_iter().find(|g| g.contains(&me)) {
        return Ok(Some(mine));
    }
    Ok(Some(vec![me]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_file_names_the_group_a_node_may_reach() {
        assert_eq!(read_partition("", 1), Ok(None));
        assert_eq!(read_partition("0|1,2\n", 1), Ok(Some(vec![1, 2])));
        assert_eq!(read_partition("0|1,2", 0), Ok(Some(vec![0])));
        assert_eq!(read_partition("0|1", 2), Ok(Some(vec![2])));
        assert!(read_partition("0|x", 0).is_err());
    }
}
