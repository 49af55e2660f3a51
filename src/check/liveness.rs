//! Liveness under fairness, decided completely on a bounded state graph: `eventually goal` holds
//! when no *fair* path from an initial state avoids the goal forever. Stateright's `eventually`
//! judges only the terminal states of a run and misses a violation that loops; this module adds
//! what it lacks and reuses its [`Model`] to enumerate states and actions.
//!
//! A violation is a lasso: a stem from an initial state to a cycle, through states where the goal
//! does not hold, whose cycle is fair — or a finite path that ends in a state with no enabled
//! action (a deadlock), which is fair by definition. Fairness is data: each action may belong to
//! a *class* (for an actor model, say, the delivery of one message), which is
//!
//! - weakly fair: if the class stays enabled forever it is eventually taken — a cycle is unfair
//!   if the class is enabled at every state of the cycle and never taken on it;
//! - strongly fair: if it is enabled infinitely often it is taken infinitely often — a cycle is
//!   unfair if the class is enabled at some state of the cycle and never taken on it.
//!
//! Actions of no class (crashes, losses, timeouts: the adversary) carry no obligation.
//!
//! The algorithm is the strongly-connected-component one for Streett conditions: explore the
//! states reachable from the initial ones without reaching the goal, split them into components
//! (Tarjan), and for each component that holds a cycle, drop the states where a strongly fair
//! class is enabled but no edge of the component takes it, and split the rest again, until a
//! component is fair for every class (a violation) or nothing is left. A component passes the
//! weak classes if each is taken inside it or disabled at one of its states: a cycle through all
//! of its states and edges is then fair. States outside the model's boundary
//! ([`Model::within_boundary`]) are no successors, as for Stateright's checker: a state whose
//! every successor lies beyond the bound ends its path, and if the goal does not hold there, that
//! path violates `eventually` within the bound.

use stateright::Model;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// How a class of actions is fair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fair {
    Weak,
    Strong,
}

/// A lasso: the steps from an initial state to the cycle's first state, then the cycle's steps,
/// whose last returns to its first state (empty for a deadlock: the stem ends in a state with no
/// enabled action).
#[derive(Clone, Debug)]
pub struct Lasso<S, A> {
    pub init: S,
    pub stem: Vec<(A, S)>,
    pub cycle: Vec<(A, S)>,
}

/// The verdict on `eventually goal`, with the size of the graph explored.
#[derive(Clone, Debug)]
pub struct Verdict<S, A> {
    /// States explored (those where the goal does not hold, and the goal states reached), all
    /// within the boundary.
    pub states: usize,
    /// None: every fair path reaches the goal.
    pub violation: Option<Lasso<S, A>>,
}

const NO_CLASS: u32 = u32::MAX;

/// The explored graph: states where the goal does not hold (expanded) and the rest (not).
struct Graph<S, A> {
    states: Vec<S>,
    /// Per state: expanded (the goal does not hold, and within the boundary).
    open: Vec<bool>,
    /// Per state: (action, target, class).
    edges: Vec<Vec<(A, u32, u32)>>,
    /// Per state: the state it was first reached from, and the edge's index there.
    parent: Vec<Option<(u32, usize)>>,
    classes: Vec<Fair>,
}

/// Decides `eventually goal` on `model`'s bounded graph under the fairness `class` gives each
/// action in a state (None: no obligation). Gives up (Err) beyond `max_states` states.
pub fn eventually<M, K>(
    model: &M,
    goal: impl Fn(&M::State) -> bool,
    class: impl Fn(&M::State, &M::Action) -> Option<(Fair, K)>,
    max_states: usize,
) -> Result<Verdict<M::State, M::Action>, usize>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
    K: Hash + Eq,
{
    let g = explore(model, &goal, &class, max_states)?;
    let all: Vec<u32> = (0..g.states.len() as u32).filter(|i| g.open[*i as usize]).collect();
    // A deadlock: an expanded state with no enabled action at all.
    if let Some(&d) = all.iter().find(|i| g.edges[**i as usize].is_empty()) {
        let (init, stem) = path_to(&g, d);
        return Ok(Verdict { states: g.states.len(), violation: Some(Lasso { init, stem, cycle: Vec::new() }) });
    }
    // Of the fair components, the one closest to an initial state: the shortest stem.
    let fair = components(&g, &all).into_iter().filter_map(|c| fair_component(&g, c));
    let nearest = fair.map(|c| (c.iter().map(|i| (depth(&g, *i), *i)).min().unwrap_or_default(), c)).min();
    let violation = nearest.map(|((_, entry), fair)| {
        let (init, stem) = path_to(&g, entry);
        Lasso { init, stem, cycle: tour(&g, &fair, entry) }
    });
    Ok(Verdict { states: g.states.len(), violation })
}

/// A state's fingerprint: its hash by a hasher with fixed keys.
fn fingerprint<S: Hash>(s: &S) -> u64 {
    use std::hash::Hasher;
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Breadth-first exploration from the initial states, expanding only states where the goal does
/// not hold and that are within the boundary; each action's class interned.
fn explore<M, K>(
    model: &M,
    goal: &impl Fn(&M::State) -> bool,
    class: &impl Fn(&M::State, &M::Action) -> Option<(Fair, K)>,
    max_states: usize,
) -> Result<Graph<M::State, M::Action>, usize>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
    K: Hash + Eq,
{
    let mut g =
        Graph { states: Vec::new(), open: Vec::new(), edges: Vec::new(), parent: Vec::new(), classes: Vec::new() };
    // States are told apart by a 64-bit fingerprint of their hash, as Stateright's checker does.
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut keys: HashMap<(Fair, K), u32> = HashMap::new();
    let mut queue = VecDeque::new();
    let mut add = |g: &mut Graph<M::State, M::Action>,
                   queue: &mut VecDeque<u32>,
                   s: M::State,
                   parent: Option<(u32, usize)>|
     -> Result<u32, usize> {
        let print = fingerprint(&s);
        if let Some(&i) = index.get(&print) {
            return Ok(i);
        }
        if g.states.len() >= max_states {
            return Err(g.states.len());
        }
        let i = g.states.len() as u32;
        g.open.push(!goal(&s));
        g.states.push(s.clone());
        g.edges.push(Vec::new());
        g.parent.push(parent);
        index.insert(print, i);
        if g.open[i as usize] {
            queue.push_back(i);
        }
        Ok(i)
    };
    for s in model.init_states() {
        add(&mut g, &mut queue, s, None)?;
    }
    let mut actions = Vec::new();
    while let Some(i) = queue.pop_front() {
        let s = g.states[i as usize].clone();
        actions.clear();
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            let Some(next) = model.next_state(&s, a.clone()) else { continue };
            if !model.within_boundary(&next) {
                continue; // beyond the bound: not a successor, as for Stateright's checker
            }
            let c = match class(&s, &a) {
                None => NO_CLASS,
                Some(key) => {
                    let fair = key.0;
                    let n = keys.len() as u32;
                    let c = *keys.entry(key).or_insert(n);
                    if c == n {
                        g.classes.push(fair);
                    }
                    c
                }
            };
            let slot = g.edges[i as usize].len();
            let t = add(&mut g, &mut queue, next, Some((i, slot)))?;
            g.edges[i as usize].push((a, t, c));
        }
    }
    Ok(g)
}

/// The strongly connected components of the subgraph on `nodes` (Tarjan's algorithm, without
/// recursion), each as its list of nodes; only components that hold a cycle (more than one node,
/// or a self-loop).
fn components<S, A>(g: &Graph<S, A>, nodes: &[u32]) -> Vec<Vec<u32>> {
    let inside: HashMap<u32, usize> = nodes.iter().enumerate().map(|(k, n)| (*n, k)).collect();
    let succ = |n: u32| g.edges[n as usize].iter().filter_map(|(_, t, _)| inside.get(t).map(|_| *t));
    let mut num = vec![usize::MAX; nodes.len()];
    let mut low = vec![0; nodes.len()];
    let mut on_stack = vec![false; nodes.len()];
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    for &root in nodes {
        if num[inside[&root]] != usize::MAX {
            continue;
        }
        // Each frame: a node and the successors it has still to visit.
        let mut frames: Vec<(u32, Vec<u32>)> = vec![(root, succ(root).collect())];
        let k = inside[&root];
        (num[k], low[k], on_stack[k]) = (counter, counter, true);
        counter += 1;
        stack.push(root);
        while let Some((n, todo)) = frames.last_mut() {
            let n = *n;
            if let Some(t) = todo.pop() {
                let kt = inside[&t];
                if num[kt] == usize::MAX {
                    (num[kt], low[kt], on_stack[kt]) = (counter, counter, true);
                    counter += 1;
                    stack.push(t);
                    frames.push((t, succ(t).collect()));
                } else if on_stack[kt] {
                    let kn = inside[&n];
                    low[kn] = low[kn].min(num[kt]);
                }
                continue;
            }
            frames.pop();
            let kn = inside[&n];
            if let Some((p, _)) = frames.last() {
                let kp = inside[p];
                low[kp] = low[kp].min(low[kn]);
            }
            if low[kn] == num[kn] {
                let mut comp = Vec::new();
                while let Some(m) = stack.pop() {
                    on_stack[inside[&m]] = false;
                    comp.push(m);
                    if m == n {
                        break;
                    }
                }
                let cyclic = comp.len() > 1 || succ(n).any(|t| t == n);
                if cyclic {
                    out.push(comp);
                }
            }
        }
    }
    out
}

/// The part of `component` that is fair, if any: strongly fair classes enabled in it but taken
/// on none of its edges remove the states that enable them (and the rest is split again); then
/// every weakly fair class must be taken inside or disabled somewhere.
fn fair_component<S, A>(g: &Graph<S, A>, component: Vec<u32>) -> Option<Vec<u32>> {
    let set: std::collections::HashSet<u32> = component.iter().copied().collect();
    let enabled = |n: u32| g.edges[n as usize].iter().map(|(_, _, c)| *c).filter(|c| *c != NO_CLASS);
    let mut taken = std::collections::HashSet::new();
    for &n in &component {
        taken.extend(g.edges[n as usize].iter().filter(|(_, t, c)| set.contains(t) && *c != NO_CLASS).map(|e| e.2));
    }
    let unmet: std::collections::HashSet<u32> = component
        .iter()
        .flat_map(|n| enabled(*n))
        .filter(|c| g.classes[*c as usize] == Fair::Strong && !taken.contains(c))
        .collect();
    if !unmet.is_empty() {
        let rest: Vec<u32> = component.iter().copied().filter(|n| !enabled(*n).any(|c| unmet.contains(&c))).collect();
        return components(g, &rest).into_iter().find_map(|c| fair_component(g, c));
    }
    let weak_unmet = component.iter().flat_map(|n| enabled(*n)).any(|c| {
        g.classes[c as usize] == Fair::Weak
            && !taken.contains(&c)
            && component.iter().all(|m| enabled(*m).any(|d| d == c))
    });
    (!weak_unmet).then_some(component)
}

/// The number of steps from an initial state to `n` along first-reached parents.
fn depth<S, A>(g: &Graph<S, A>, mut n: u32) -> usize {
    let mut d = 0;
    while let Some((p, _)) = g.parent[n as usize] {
        n = p;
        d += 1;
    }
    d
}

/// The breadth-first (shortest) path from an initial state to `n`.
fn path_to<S: Clone, A: Clone>(g: &Graph<S, A>, mut n: u32) -> (S, Vec<(A, S)>) {
    let mut steps = Vec::new();
    while let Some((p, e)) = g.parent[n as usize] {
        steps.push((g.edges[p as usize][e].0.clone(), g.states[n as usize].clone()));
        n = p;
    }
    steps.reverse();
    (g.states[n as usize].clone(), steps)
}

/// A cycle from `entry` within `fair` that visits each of its states and takes one edge of each
/// class its edges take: enough for every fairness obligation the component passed.
fn tour<S: Clone, A: Clone>(g: &Graph<S, A>, fair: &[u32], entry: u32) -> Vec<(A, S)> {
    let set: std::collections::HashSet<u32> = fair.iter().copied().collect();
    let mut edges_to_take: HashMap<u32, (u32, usize)> = HashMap::new();
    for &n in fair {
        for (k, (_, t, c)) in g.edges[n as usize].iter().enumerate() {
            if set.contains(t) && *c != NO_CLASS {
                edges_to_take.entry(*c).or_insert((n, k));
            }
        }
    }
    let mut unvisited: std::collections::HashSet<u32> = set.clone();
    let mut pending: Vec<(u32, usize)> = edges_to_take.into_values().collect();
    pending.sort_unstable();
    let mut cycle: Vec<(A, S)> = Vec::new();
    let mut at = entry;
    unvisited.remove(&entry);
    let step = |cycle: &mut Vec<(A, S)>, from: u32, k: usize, unvisited: &mut std::collections::HashSet<u32>| {
        let (a, t, _) = &g.edges[from as usize][k];
        cycle.push((a.clone(), g.states[*t as usize].clone()));
        unvisited.remove(t);
        *t
    };
    loop {
        // Next target: an edge still to take (go to its source and take it), else a state.
        let target = if let Some((src, k)) = pending.pop() {
            for (from, k2) in path_within(g, &set, at, src) {
                step(&mut cycle, from, k2, &mut unvisited);
            }
            at = step(&mut cycle, src, k, &mut unvisited);
            continue;
        } else if let Some(&n) = unvisited.iter().min() {
            n
        } else {
            break;
        };
        for (from, k) in path_within(g, &set, at, target) {
            step(&mut cycle, from, k, &mut unvisited);
        }
        at = target;
    }
    let back = path_within(g, &set, at, entry);
    if cycle.is_empty() && back.is_empty() {
        // A one-state component: its self-loop.
        if let Some(k) = g.edges[entry as usize].iter().position(|(_, t, _)| *t == entry) {
            step(&mut cycle, entry, k, &mut unvisited);
        }
    }
    for (from, k) in back {
        step(&mut cycle, from, k, &mut unvisited);
    }
    cycle
}

/// A shortest path from `from` to `to` inside `set`, as (state, edge index) steps.
fn path_within<S, A>(g: &Graph<S, A>, set: &std::collections::HashSet<u32>, from: u32, to: u32) -> Vec<(u32, usize)> {
    if from == to {
        return Vec::new();
    }
    let mut prev: HashMap<u32, (u32, usize)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(n) = queue.pop_front() {
        for (k, (_, t, _)) in g.edges[n as usize].iter().enumerate() {
            if !set.contains(t) || *t == from || prev.contains_key(t) {
                continue;
            }
            prev.insert(*t, (n, k));
            if *t == to {
                let mut path = Vec::new();
                let mut at = to;
                while at != from {
                    let (p, e) = prev[&at];
                    path.push((p, e));
                    at = p;
                }
                path.reverse();
                return path;
            }
            queue.push_back(*t);
        }
    }
    Vec::new() // unreachable within a strongly connected set
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Model;

    /// A toy: a counter that must reach 2. `Inc` counts up, but only while `open`; `Toggle`
    /// flips `open`; `Wait` changes nothing (a self-loop); `Stop` at 1 enters a dead end.
    #[derive(Clone)]
    struct Toy {
        toggles: bool,
        waits: bool,
        dead_end: bool,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct St {
        x: u8,
        open: bool,
        stopped: bool,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    enum Act {
        Inc,
        Toggle,
        Wait,
        Stop,
    }

    impl Model for Toy {
        type State = St;
        type Action = Act;
        fn init_states(&self) -> Vec<St> {
            vec![St { x: 0, open: !self.toggles, stopped: false }]
        }
        fn actions(&self, s: &St, a: &mut Vec<Act>) {
            if s.stopped {
                return;
            }
            if s.open {
                a.push(Act::Inc);
            }
            if self.toggles {
                a.push(Act::Toggle);
            }
            if self.waits {
                a.push(Act::Wait);
            }
            if self.dead_end && s.x == 1 {
                a.push(Act::Stop);
            }
        }
        fn next_state(&self, s: &St, a: Act) -> Option<St> {
            let mut n = s.clone();
            match a {
                Act::Inc => n.x += 1,
                Act::Toggle => n.open = !n.open,
                Act::Wait => {}
                Act::Stop => n.stopped = true,
            }
            Some(n)
        }
    }

    fn run(toy: Toy, inc: Option<Fair>) -> Verdict<St, Act> {
        eventually(&toy, |s| s.x >= 2, |_, a| (*a == Act::Inc).then_some(inc).flatten().map(|f| (f, 0)), 100)
            .expect("small")
    }

    #[test]
    fn with_no_fairness_a_self_loop_is_a_violating_lasso() {
        let v = run(Toy { toggles: false, waits: true, dead_end: false }, None);
        let lasso = v.violation.expect("waiting forever");
        assert!(lasso.stem.is_empty() && lasso.cycle.iter().all(|(a, _)| *a == Act::Wait));
    }

    #[test]
    fn weak_fairness_rules_out_waiting_while_inc_stays_enabled() {
        assert!(run(Toy { toggles: false, waits: true, dead_end: false }, Some(Fair::Weak)).violation.is_none());
    }

    #[test]
    fn weak_fairness_does_not_rule_out_a_cycle_where_inc_is_disabled_at_times_and_strong_does() {
        let toy = Toy { toggles: true, waits: false, dead_end: false };
        let lasso = run(toy.clone(), Some(Fair::Weak)).violation.expect("toggling forever is weakly fair");
        assert!(lasso.cycle.iter().all(|(a, _)| *a == Act::Toggle), "{lasso:?}");
        assert_eq!(
            lasso.cycle.last().map(|(_, s)| s),
            Some(&lasso.stem.last().map_or(lasso.init.clone(), |x| x.1.clone()))
        );
        assert!(run(toy, Some(Fair::Strong)).violation.is_none());
    }

    #[test]
    fn a_dead_end_is_a_violation_whatever_the_fairness() {
        let v = run(Toy { toggles: false, waits: false, dead_end: true }, Some(Fair::Strong));
        let lasso = v.violation.expect("stopped at 1");
        assert!(lasso.cycle.is_empty());
        assert_eq!(lasso.stem.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(), [Act::Inc, Act::Stop]);
    }

    #[test]
    fn too_many_states_is_an_error() {
        let toy = Toy { toggles: true, waits: true, dead_end: false };
        assert!(eventually(&toy, |s| s.x >= 200, |_, _| None::<(Fair, u8)>, 3).is_err());
    }
}
