//! loom: the runtime's one piece of state shared between threads, the stop flag
//! (`quorum::runtime::Stop`, src/runtime/stop.rs), under every interleaving of a signal-handler
//! thread and a loop thread.
//!
//! The code under test is the runtime's own — `Stop::request`, `Stop::requested` and the loop
//! `Stop::run` that drives a node and the `quorum cluster` supervisor, orderings included — built
//! over loom's `AtomicBool` instead of std's (the `AtomicFlag` trait). Only the step is a model:
//! two writes (a node's save, then its sends) with a yield between them and after them, where
//! the real step blocks (on its fsync; on its socket for at most 100 ms). loom needs those
//! yields: it lets a load miss a store until the loading thread yields, as a spinning thread
//! could on paper.
//!
//! loom runs the model threads one at a time and switches only at its own operations, so plain
//! std atomics serve as ghost variables that see the schedule's global order (when the request
//! was stored, how many steps had begun) without adding interleavings.
//!
//! Each property has a planted fault that loom must catch: a loop that reads the flag once, a
//! step that stops between its save and its sends, and a flag made to carry data with `Relaxed`.

use loom::cell::{Cell, UnsafeCell};
use loom::sync::atomic::AtomicBool as LoomAtomicBool;
use loom::sync::Arc;
use quorum::runtime::stop::AtomicFlag;
use quorum::runtime::Stop;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};

/// loom's `AtomicBool` as a `Stop`'s atomic, passing the orderings `Stop` chose through
/// unchanged. (A newtype: Rust allows no impl of quorum's trait for loom's type outside both.)
struct LoomBool(LoomAtomicBool);

impl AtomicFlag for LoomBool {
    fn new(value: bool) -> Self {
        LoomBool(LoomAtomicBool::new(value))
    }
    fn load(&self, order: Ordering) -> bool {
        self.0.load(order)
    }
    fn store(&self, value: bool, order: Ordering) {
        self.0.store(value, order);
    }
}

/// The control for the data-carrying fault: the same flag with release/acquire instead of the
/// orderings `Stop` asks for.
struct ReleaseAcquire(LoomAtomicBool);

impl AtomicFlag for ReleaseAcquire {
    fn new(value: bool) -> Self {
        ReleaseAcquire(LoomAtomicBool::new(value))
    }
    fn load(&self, _: Ordering) -> bool {
        self.0.load(Ordering::Acquire)
    }
    fn store(&self, value: bool, _: Ordering) {
        self.0.store(value, Ordering::Release);
    }
}

type LoomStop = Stop<LoomBool>;

/// Steps the loop may begin in one execution; it then ends with [`Bound`].
const STEPS: usize = 3;
const NOT_YET: usize = usize::MAX;

/// The loop ran out of its [`STEPS`].
#[derive(Debug)]
struct Bound;

type Step<'a> = &'a mut dyn FnMut() -> Result<(), Bound>;
/// A loop over steps: [`real_loop`] or a planted fault.
type Loop = fn(&LoomStop, Step) -> Result<(), Bound>;

/// The runtime's loop.
fn real_loop(stop: &LoomStop, step: Step) -> Result<(), Bound> {
    stop.run(step)
}

/// Planted fault: reads the flag once, as a compiler may turn `while !flag { .. }` over a plain
/// `bool` that the loop does not write (clippy's `while_immutable_condition` flags the source
/// form, so here it is written as compiled).
fn reads_the_flag_once(stop: &LoomStop, step: Step) -> Result<(), Bound> {
    if !stop.requested() {
        loop {
            step()?;
        }
    }
    Ok(())
}

/// What the loop's step does between its save and its sends.
#[derive(Clone, Copy, PartialEq)]
enum MidStep {
    /// Nothing: the save and the sends of a step go together.
    Continue,
    /// Planted fault: returns early when a stop was requested, the sends not done.
    StopsIfRequested,
}

/// The ghosts of one execution (global schedule order; see the module doc).
struct Ghost {
    /// Steps begun.
    started: AtomicUsize,
    /// `started` when the request was stored, or [`NOT_YET`].
    at_request: AtomicUsize,
    /// Whether the request was stored between a step's save and its sends.
    mid_step: AtomicUsize,
    /// Whether a step is between its save and its sends.
    in_step: AtomicUsize,
}

/// What the executions showed, over the whole exploration.
#[derive(Default)]
struct Seen {
    executions: AtomicUsize,
    /// Executions where the loop stopped on request after n steps (index n).
    stopped_after: [AtomicUsize; STEPS + 1],
    /// Executions where the request came between a step's save and its sends.
    requested_mid_step: AtomicUsize,
    /// Executions where a step began after the request was stored (a stale read of the flag).
    step_after_request: AtomicUsize,
    /// Executions where the loop ran out of steps.
    bounded: AtomicUsize,
}

fn count(c: &AtomicUsize) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    // Exhaustive: no preemption bound; the models are small (two threads, a few operations).
    loom::model::Builder::new().check(f);
}

/// A handler thread requests a stop while this thread runs `looping` over steps of a save and
/// its sends (at most [`STEPS`]). Asserts, in every execution, that the loop exits only between
/// steps and within one step after the request; returns what the executions showed.
///
/// One model per `k` in `0..=STEPS`: the handler requests once step `k` has begun (at once for
/// 0), at any point from there on. (Without that wait, loom would schedule the handler at the
/// loop's first yield in every execution: a yield lets the other threads run first.)
fn handler_against_loop(looping: Loop, mid: MidStep) -> Seen {
    let seen = std::sync::Arc::new(Seen::default());
    for k in 0..=STEPS {
        handler_during_step(k, looping, mid, seen.clone());
    }
    std::sync::Arc::into_inner(seen).expect("the models are done")
}

fn handler_during_step(k: usize, looping: Loop, mid: MidStep, total: std::sync::Arc<Seen>) {
    model(move || {
        count(&total.executions);
        let stop = Arc::new(LoomStop::new());
        let ghost = std::sync::Arc::new(Ghost {
            started: AtomicUsize::new(0),
            at_request: AtomicUsize::new(NOT_YET),
            mid_step: AtomicUsize::new(0),
            in_step: AtomicUsize::new(0),
        });
        let handler = {
            let (stop, ghost) = (stop.clone(), ghost.clone());
            loom::thread::spawn(move || {
                while ghost.started.load(Ordering::Relaxed) < k {
                    loom::thread::yield_now();
                }
                stop.request();
                // No loom operation since the store: no other thread ran in between.
                ghost.at_request.store(ghost.started.load(Ordering::Relaxed), Ordering::Relaxed);
                ghost.mid_step.store(ghost.in_step.load(Ordering::Relaxed), Ordering::Relaxed);
            })
        };
        let (saved, sent) = (Cell::new(0usize), Cell::new(0usize));
        let mut step = || {
            let n = ghost.started.load(Ordering::Relaxed);
            if n == STEPS {
                return Err(Bound);
            }
            ghost.started.store(n + 1, Ordering::Relaxed);
            saved.set(n + 1);
            ghost.in_step.store(1, Ordering::Relaxed);
            loom::thread::yield_now(); // the fsync
            if mid == MidStep::StopsIfRequested && stop.requested() {
                return Ok(());
            }
            sent.set(n + 1);
            ghost.in_step.store(0, Ordering::Relaxed);
            loom::thread::yield_now(); // waiting for datagrams
            Ok(())
        };
        let outcome = looping(&stop, &mut step);
        // What run_node does next (its stats) sees the whole of every step it began.
        assert_eq!(saved.get(), sent.get(), "the loop exited in the middle of step {}", saved.get());
        let requested_by_exit = ghost.at_request.load(Ordering::Relaxed) != NOT_YET;
        handler.join().unwrap();
        let started = ghost.started.load(Ordering::Relaxed);
        let at = ghost.at_request.load(Ordering::Relaxed);
        assert_ne!(at, NOT_YET);
        let late = started.saturating_sub(at);
        assert!(late <= 1, "{late} steps began after the stop request (request at step {at}, {started} steps)");
        match outcome {
            Ok(()) => {
                assert!(requested_by_exit, "the loop stopped before the request");
                count(&total.stopped_after[started]);
            }
            Err(Bound) => count(&total.bounded),
        }
        if late == 1 {
            count(&total.step_after_request);
        }
        if ghost.mid_step.load(Ordering::Relaxed) == 1 {
            count(&total.requested_mid_step);
        }
    });
}

fn n(c: &AtomicUsize) -> usize {
    c.load(Ordering::Relaxed)
}

/// Runs `f`, which must panic (loom found a counterexample); returns the panic's message.
fn counterexample(f: impl FnOnce()) -> String {
    let err = std::panic::catch_unwind(AssertUnwindSafe(f)).expect_err("loom found no counterexample");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_stop_request_ends_the_runtime_loop_within_one_more_step() {
    let seen = handler_against_loop(real_loop, MidStep::Continue);
    let stopped: Vec<usize> = seen.stopped_after.iter().map(n).collect();
    eprintln!(
        "loom: {} executions; stopped after 0..={STEPS} steps: {stopped:?}; ran out of steps: {}; a step after the request: {}",
        n(&seen.executions),
        n(&seen.bounded),
        n(&seen.step_after_request)
    );
    // Not vacuous: the loop ended on the request after 0, 1, 2 and 3 steps; and never on the
    // bound, so the bound cut no execution short.
    assert!(stopped.iter().all(|&k| k > 0), "stopped after 0..={STEPS} steps: {stopped:?}");
    assert_eq!(n(&seen.bounded), 0);
    // The bound is tight: a load may miss the request once (a stale read), and a step begins.
    assert!(n(&seen.step_after_request) > 0);
    // loom explores exhaustively and deterministically: the count changes with the model only.
    assert_eq!(n(&seen.executions), 34);
}

#[test]
fn the_step_in_progress_when_a_stop_is_requested_completes() {
    let seen = handler_against_loop(real_loop, MidStep::Continue);
    // The request did come between a step's save and its sends, and the loop still exited
    // only after the sends (asserted in every execution).
    assert!(n(&seen.requested_mid_step) > 0);
}

#[test]
fn a_stop_requested_before_the_loop_starts_runs_no_step() {
    // Ctrl-C while the node recovers: the handler thread is done before the loop starts (here
    // joined, so its store happens-before the loop's first load).
    model(|| {
        let stop = Arc::new(LoomStop::new());
        let handler = {
            let stop = stop.clone();
            loom::thread::spawn(move || stop.request())
        };
        handler.join().unwrap();
        let mut steps = 0;
        let outcome = stop.run(|| -> Result<(), Bound> {
            steps += 1;
            loom::thread::yield_now();
            Ok(())
        });
        assert!(outcome.is_ok());
        assert_eq!(steps, 0, "a stop requested before the loop started ran {steps} steps");
    });
}

#[test]
fn planted_fault_a_loop_that_reads_the_flag_once_is_caught() {
    let message = counterexample(|| {
        handler_against_loop(reads_the_flag_once, MidStep::Continue);
    });
    assert!(message.contains("steps began after the stop request"), "{message}");
}

#[test]
fn planted_fault_a_step_that_stops_between_its_save_and_its_sends_is_caught() {
    let message = counterexample(|| {
        handler_against_loop(real_loop, MidStep::StopsIfRequested);
    });
    assert!(message.contains("the loop exited in the middle of step"), "{message}");
}

/// A stop reason written by the handler before its request, read by the loop after it stopped.
struct Reason(UnsafeCell<u8>);

// SAFETY: whether the flag orders the handler's write before the loop's read is the question
// under test; loom checks every access to the cell and reports a race.
unsafe impl Sync for Reason {}

/// The handler sends a stop reason along with the request (which `Stop` does not support).
fn reason_with_the_flag<F: AtomicFlag + Send + Sync + 'static>() {
    model(|| {
        let stop = Arc::new(Stop::<F>::new());
        let reason = Arc::new(Reason(UnsafeCell::new(0)));
        let handler = {
            let (stop, reason) = (stop.clone(), reason.clone());
            loom::thread::spawn(move || {
                // SAFETY: loom checks the access (see `Reason`).
                reason.0.with_mut(|r| unsafe { *r = 15 });
                stop.request();
            })
        };
        let mut steps = 0;
        let outcome = stop.run(|| {
            if steps == 2 {
                return Err(Bound);
            }
            steps += 1;
            loom::thread::yield_now();
            Ok(())
        });
        if outcome.is_ok() {
            // SAFETY: loom checks the access (see `Reason`).
            assert_eq!(reason.0.with(|r| unsafe { *r }), 15);
        }
        handler.join().unwrap();
    });
}

#[test]
fn planted_fault_data_sent_along_the_relaxed_flag_is_a_race_loom_reports() {
    let message = counterexample(reason_with_the_flag::<LoomBool>);
    assert!(message.contains("Causality violation"), "{message}");
}

#[test]
fn data_sent_along_a_release_acquire_flag_is_no_race() {
    // The control: the race above is the ordering's, not the test's.
    reason_with_the_flag::<ReleaseAcquire>();
}
