//! Byzantine faults as a model mechanism, for any protocol: "Bob replies with a wrong message"
//! and "someone pretends to be Bob" (the course notes' second and third failures).
//!
//! A Byzantine actor runs the correct code (so that it may also behave, or look as if it does)
//! and, besides, has a *menu*: the misbehaviours open to it in its current state, each a set of
//! messages it may send that the correct code would not. The menu is offered to the checker as a
//! Stateright random choice ([`offer`]), so every item is a branch the checker explores, and each
//! chosen item costs one unit of a budget that is part of the configuration: the bound that
//! keeps the check finite. Staying silent needs no item: the checker already explores every run
//! in which a message is never delivered. A protocol supplies only its menu (for PBFT,
//! `pbft::byzantine::menu`): which equivocations, lies and replays exist for it.
//!
//! Authentication is modelled, not assumed: every protocol message names its sender, and a
//! correct receiver believes the name only if the channel agrees ([`authentic`]): Stateright's
//! `src`, like the runtime's per-link HMAC, cannot be forged. A menu may offer messages that name
//! another sender; with authentication on they are dropped on arrival, and a planted bug that
//! turns the check off lets them through.

use serde::Serialize;
use stateright::actor::{Actor, Id, Out};
use std::fmt;

/// The key of the menu among the actor's random choices.
pub const MENU: &str = "misbehave";

/// A Byzantine actor's state: the correct code's state, and the misbehaviours left.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Faulty<S> {
    pub honest: S,
    pub moves_left: u8,
}

impl<S: fmt::Debug> fmt::Debug for Faulty<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BYZANTINE ({} move{} left) {:?}",
            self.moves_left,
            if self.moves_left == 1 { "" } else { "s" },
            self.honest
        )
    }
}

/// One misbehaviour: messages sent under the actor's own id (what they *claim* is another
/// matter), and a line for traces.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Move<M> {
    pub what: &'static str,
    pub sends: Vec<(Id, M)>,
}

impl<M: fmt::Debug> fmt::Debug for Move<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sends.first() {
            Some((_, m)) => {
                let to: Vec<String> = self.sends.iter().map(|(to, _)| usize::from(*to).to_string()).collect();
                write!(f, "{}: {m:?} to {}", self.what, to.join(","))
            }
            None => write!(f, "{}", self.what),
        }
    }
}

/// Offers `menu` to the checker (each item a branch), or nothing once the budget is spent.
/// Called after every step of a Byzantine actor, since what it knows, and so can misuse, grows.
pub fn offer<A: Actor>(menu: Vec<A::Random>, moves_left: u8, o: &mut Out<A>) {
    if moves_left == 0 || menu.is_empty() {
        o.remove_random(MENU);
    } else {
        o.choose_random(MENU, menu);
    }
}

/// Performs one chosen misbehaviour: sends its messages and spends one unit of the budget.
pub fn perform<S, A: Actor>(s: &mut Faulty<S>, m: &Move<A::Msg>, o: &mut Out<A>)
where
    A::Msg: Clone,
{
    s.moves_left = s.moves_left.saturating_sub(1);
    for (to, msg) in &m.sends {
        o.send(*to, msg.clone());
    }
}

/// Whether a receiver believes that a message naming `claimed` as its sender comes from it: the
/// channel (`src`) must say the same. `checked` is false only with a planted bug that turns the
/// check off.
pub fn authentic(src: Id, claimed: Id, checked: bool) -> bool {
    !checked || src == claimed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_believed_only_from_the_sender_it_names() {
        let (a, b) = (Id::from(0), Id::from(1));
        assert!(authentic(a, a, true));
        assert!(!authentic(b, a, true));
        assert!(authentic(b, a, false), "with the check off, anyone passes for anyone");
    }
}
