//! What the invariant suites share: states drawn by random walks through a model, and the check
//! that an invariant holds in a state and in every successor of it.

use stateright::Model;
use std::fmt::Debug;

/// A random walk: `choices[i]` picks among the enabled steps of the i-th state (within the
/// model's boundary). Returns every state on the way.
pub fn walk<M: Model>(model: &M, choices: &[usize]) -> Vec<M::State>
where
    M::State: Clone,
{
    let mut path = vec![model.init_states().remove(0)];
    let mut actions = Vec::new();
    for c in choices {
        let state = path.last().expect("the walk starts somewhere");
        actions.clear();
        model.actions(state, &mut actions);
        let next: Vec<_> =
            actions.drain(..).filter_map(|a| model.next_state(state, a)).filter(|n| model.within_boundary(n)).collect();
        if next.is_empty() {
            break;
        }
        path.push(next[c % next.len()].clone());
    }
    path
}

pub fn last<S>(mut path: Vec<S>) -> S {
    path.pop().expect("the walk starts somewhere")
}

/// Checks that `inv` holds in `s` and in every successor; returns the broken conjunct if not.
pub fn preserved<M: Model>(
    model: &M,
    s: &M::State,
    inv: impl Fn(&M::State) -> Result<(), &'static str>,
) -> Result<(), String>
where
    M::Action: Debug + Clone,
{
    inv(s).map_err(|c| format!("drawn state breaks \"{c}\""))?;
    let mut actions = Vec::new();
    model.actions(s, &mut actions);
    for a in actions {
        if let Some(next) = model.next_state(s, a.clone()) {
            if model.within_boundary(&next) {
                inv(&next).map_err(|c| format!("{a:?} breaks \"{c}\""))?;
            }
        }
    }
    Ok(())
}

/// The invariant has teeth: among the states of `walks` random walks (of up to `max_len` steps,
/// drawn deterministically), one has a successor that breaks `inv`, and what breaks is one of
/// `conjuncts`. `what` names the planted bug in messages.
pub fn assert_broken<M: Model>(
    model: &M,
    what: &str,
    walks: usize,
    max_len: usize,
    conjuncts: &[&str],
    inv: impl Fn(&M::State) -> Result<(), &'static str>,
) where
    M::State: Clone,
    M::Action: Debug + Clone,
{
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(any::<usize>(), 0..max_len);
    for _ in 0..walks {
        let choices = strategy.new_tree(&mut runner).expect("a walk").current();
        for s in walk(model, &choices) {
            if let Err(e) = preserved(model, &s, &inv) {
                assert!(!e.starts_with("drawn state"), "{what}: the walk should break it one step at a time: {e}");
                assert!(
                    conjuncts.iter().any(|c| e.contains(c)),
                    "{what}: expected one of {conjuncts:?} to break, got: {e}"
                );
                return;
            }
        }
    }
    panic!("{what}: no drawn state broke the invariant");
}
