//! The check of every dead-message rule, for every protocol: a message a model's reduction
//! declares dead is delivered through the real actor and must change nothing. Debug and test
//! builds run it on every state the checker visits (`assert_dead_deliveries_are_no_ops`); the
//! release suite compares reduced and unreduced verdicts instead (models/reduction.rs).

#[cfg(debug_assertions)]
use super::network::{envelopes, in_flight};
use stateright::actor::{Actor, ActorModelState, Command, Envelope, Out, Timers};
use std::borrow::Cow;

/// What delivering `env` to `actor` in `state`, whose timers are `timers` and storage `saved`,
/// does that a dead message's delivery must not: change the state, save anything but what is
/// saved already, choose, set a timer that is not set or cancel one that is, or send a message
/// that `harmless` does not excuse (a copy of one in flight, or one that is dead itself).
/// Protocol-independent: the Raft model and the mirror use it too.
pub fn dead_delivery_effect<A: Actor>(
    actor: &A,
    state: &A::State,
    timers: &Timers<A::Timer>,
    saved: &Option<A::Storage>,
    env: &Envelope<A::Msg>,
    harmless: impl Fn(&Envelope<A::Msg>) -> bool,
) -> Result<(), String> {
    let mut next = Cow::Borrowed(state);
    let mut out = Out::new();
    actor.on_msg(env.dst, &mut next, env.src, env.msg.clone(), &mut out);
    if *next != *state {
        return Err(format!("changes the receiver's state from {state:?} to {:?}", &*next));
    }
    let is_set = |t: &A::Timer| timers.iter().any(|s| s == t);
    for c in out.iter() {
        let effect = match c {
            Command::Send(dst, msg) if harmless(&Envelope { src: env.dst, dst: *dst, msg: msg.clone() }) => continue,
            Command::SetTimer(t, _) if is_set(t) => continue,
            Command::CancelTimer(t) if !is_set(t) => continue,
            Command::Save(st) if saved.as_ref() == Some(st) => continue,
            Command::Send(dst, msg) => format!("sends {msg:?} to {dst:?}, which is neither in flight nor dead"),
            Command::SetTimer(t, _) => format!("sets timer {t:?}"),
            Command::CancelTimer(t) => format!("cancels timer {t:?}"),
            Command::Save(st) => format!("saves {st:?}"),
            Command::ChooseRandom(key, _) => format!("chooses {key}"),
        };
        return Err(effect);
    }
    Ok(())
}

/// Delivers a message declared dead through the real actor, wherever it can be delivered: to
/// its receiver now, if it is up; and to the state the receiver restarts with (its `on_start`
/// from what it saved), if it is down — it can receive only after a restart — or `may_crash`
/// (a crash and a restart may come before the delivery). Rules judge a receiver that may crash
/// by what it saved for exactly this reason. Only the next delivery is checked, not every
/// future one: a rule that is right now but wrong later (the message comes alive once its
/// receiver has moved on, as a repeated AppendEntries under `truncate-on-stale-append` does) is
/// not caught here, since the reduced model no longer holds the message by then. The
/// equal-verdict tests (models/reduction.rs) compare with the unreduced model for that.
pub fn check_dead_delivery<A: Actor, H>(
    actors: &[A],
    s: &ActorModelState<A, H>,
    env: &Envelope<A::Msg>,
    may_crash: bool,
    harmless: impl Fn(&Envelope<A::Msg>) -> bool,
) -> Result<(), String> {
    let i = usize::from(env.dst);
    let (Some(actor), Some(state)) = (actors.get(i), s.actor_states.get(i)) else { return Ok(()) };
    let crashed = s.crashed.get(i).copied().unwrap_or(false);
    let saved = s.actor_storages.get(i).unwrap_or(&None);
    let why = |when: &str, e: String| format!("{env:?} is declared dead, but delivered {when} it {e}");
    if !crashed {
        let timers = s.timers_set.get(i).cloned().unwrap_or_default();
        dead_delivery_effect(actor, state, &timers, saved, env, &harmless).map_err(|e| why("now", e))?;
    }
    if crashed || may_crash {
        let mut out = Out::new();
        let restarted = actor.on_start(env.dst, saved, &mut out);
        let mut timers = Timers::new();
        for c in out.iter() {
            if let Command::SetTimer(t, _) = c {
                timers.set(t.clone());
            }
        }
        dead_delivery_effect(actor, &restarted, &timers, saved, env, &harmless)
            .map_err(|e| why("after a restart", e))?;
    }
    Ok(())
}

/// The debug-build check of a dead-message rule: every message in flight that `dead` declares
/// dead is delivered through the real actor ([`check_dead_delivery`]), and must change nothing.
/// A send it makes is excused if a copy is in flight, `dead` declares it dead too, or `repeats`
/// says it repeats one sent before (whose loss a run that delivers it instead matches).
#[cfg(debug_assertions)]
pub fn assert_dead_deliveries_are_no_ops<A, H>(
    actors: &[A],
    s: &ActorModelState<A, H>,
    may_crash: impl Fn(usize) -> bool,
    dead: impl Fn(&Envelope<A::Msg>) -> bool,
    repeats: impl Fn(&Envelope<A::Msg>) -> bool,
) where
    A: Actor,
{
    for (src, dst, msg) in envelopes(&s.network) {
        let env = Envelope { src, dst, msg: msg.clone() };
        if dead(&env) {
            let harmless = |e: &Envelope<A::Msg>| in_flight(&s.network, e) || dead(e) || repeats(e);
            if let Err(e) = check_dead_delivery(actors, s, &env, may_crash(usize::from(dst)), harmless) {
                panic!("dead-message rule slip: {e}");
            }
        }
    }
}
