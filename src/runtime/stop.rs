//! Stopping a loop from another thread: the only state the runtime shares between threads.
//!
//! **What is shared.** A node is one thread: its loop, its timers (deadlines inside the loop),
//! its socket and its storage all live on it. `quorum cluster` supervises its nodes from one
//! thread too, and the bench's client threads share nothing (each owns its client; latencies come
//! back through `join`). The one thing two threads touch is this flag: the signal handler
//! ([`Stop::on_signals`]; `ctrlc` runs it on a thread of its own, not in signal context) calls
//! [`Stop::request`], and the loop ([`Stop::run`]) checks [`Stop::requested`] before every step.
//!
//! **Which ordering, and why it suffices: `Relaxed`, both ways.** The flag carries no data. The
//! handler writes nothing else, and what a loop does once it sees the flag uses only its own
//! thread's state: a node writes its stats file from its own counters, and its saves were
//! synchronous (written and fsynced on its thread) before it even looked at the flag; the
//! supervisor signals its own children. So nothing written by another thread must be seen, and
//! acquire/release would order nothing we use. What we need is that the loop cannot miss the
//! store for ever, and that it never sees `true` and then `false`: coherence of the one atomic
//! gives both, at any ordering. Were the flag ever to carry data (say, a stop reason written by
//! the handler and read after the loop), `Relaxed` would not do: proofs/loom.rs shows loom
//! reporting exactly that data race, and its absence under release/acquire.
//!
//! **What the loop promises** (checked by loom, in proofs/loom.rs, on this code with loom's
//! atomic under every interleaving of a handler thread and a loop thread):
//! - the step in progress when a stop is requested completes: the flag is read only between
//!   steps, so a node's batch is saved *and* sent, or not begun;
//! - a stop request ends the loop within one more step: a load may miss the store once (memory
//!   models allow a stale read; loom models it until the loading thread yields, and a step
//!   yields: a node's step blocks on its socket for at most 100 ms, the supervisor's sleeps
//!   100 ms). So a node stops about 0.1–0.2 s after Ctrl-C;
//! - a stop requested *before* the loop starts (happens-before: e.g. a handler thread that
//!   finished before) is honoured with zero steps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The atomic a [`Stop`] is made of: std's `AtomicBool` in the runtime, loom's in proofs/loom.rs
/// — so loom checks this very code, orderings included, and not a copy of it.
pub trait AtomicFlag {
    fn new(value: bool) -> Self;
    fn load(&self, order: Ordering) -> bool;
    fn store(&self, value: bool, order: Ordering);
}

impl AtomicFlag for AtomicBool {
    fn new(value: bool) -> Self {
        AtomicBool::new(value)
    }
    fn load(&self, order: Ordering) -> bool {
        AtomicBool::load(self, order)
    }
    fn store(&self, value: bool, order: Ordering) {
        AtomicBool::store(self, value, order);
    }
}

/// A stop request, set once from any thread and polled by a loop (see the module doc).
#[derive(Debug)]
pub struct Stop<F: AtomicFlag = AtomicBool> {
    flag: F,
}

impl<F: AtomicFlag> Default for Stop<F> {
    fn default() -> Self {
        Stop { flag: F::new(false) }
    }
}

impl<F: AtomicFlag> Stop<F> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the loop to stop (from the signal handler's thread). Idempotent.
    pub fn request(&self) {
        // Relaxed: the flag publishes nothing (module doc).
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was requested (seen by this thread yet).
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Runs `step` until a stop is requested or a step returns an error, which is returned. The
    /// flag is checked before every step and never during one: the step in progress when a stop
    /// is requested completes.
    pub fn run<E>(&self, mut step: impl FnMut() -> Result<(), E>) -> Result<(), E> {
        while !self.requested() {
            step()?;
        }
        Ok(())
    }
}

impl Stop {
    /// A stop requested by SIGINT (Ctrl-C), SIGTERM or SIGHUP. `ctrlc` runs the handler on its
    /// own thread, so it may do anything; it only requests the stop. Once per process.
    pub fn on_signals() -> Result<Arc<Stop>, ctrlc::Error> {
        let stop = Arc::new(Stop::new());
        let handler = Arc::clone(&stop);
        ctrlc::set_handler(move || handler.request())?;
        Ok(stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_stop_runs_no_step() {
        let stop: Stop = Stop::new();
        stop.request();
        stop.request();
        let mut steps = 0;
        assert_eq!(
            stop.run(|| -> Result<(), ()> {
                steps += 1;
                Ok(())
            }),
            Ok(())
        );
        assert_eq!(steps, 0);
    }

    #[test]
    fn a_step_that_fails_ends_the_loop_with_its_error() {
        let stop: Stop = Stop::new();
        let mut steps = 0;
        let r = stop.run(|| {
            steps += 1;
            if steps == 3 {
                return Err(steps);
            }
            Ok(())
        });
        assert_eq!((r, steps, stop.requested()), (Err(3), 3, false));
    }

    #[test]
    fn a_stop_requested_by_a_step_ends_the_loop_after_that_step() {
        let stop: Stop = Stop::new();
        let mut steps = 0;
        let r = stop.run(|| -> Result<(), ()> {
            steps += 1;
            if steps == 2 {
                stop.request();
            }
            Ok(())
        });
        assert_eq!((r, steps), (Ok(()), 2));
    }
}
