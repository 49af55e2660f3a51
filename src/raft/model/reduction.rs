//! The sound reductions of the Raft model (docs/architecture.md and docs/raft.md say why each is
//! sound): dead messages removed from the network, the duplicating network's last delivery
//! forgotten, and symmetry over servers.

use super::{RaftModel, RaftSysState};
use crate::check::dead::check_dead_delivery;
use crate::check::network::without_last_delivery;
use crate::raft::actor::RaftState;
use crate::raft::log;
use crate::raft::server::{self, Role, ServerState};
use crate::raft::{Bug, Index, RaftMsg, Term, VoteRequest};
use stateright::actor::{Envelope, Id, Network};
use std::borrow::Cow;

/// The Raft model's rule for dead messages, as [`RaftModel::remove_dead_by`] takes it.
pub type DeadRule = fn(&RaftModel, &RaftSysState, &Envelope<RaftMsg>) -> bool;

impl RaftModel {
    /// Removes every message [`is_dead`] from the network, unless the configuration turns the
    /// reduction off (`reduce_dead`).
    pub(crate) fn remove_dead_messages(&self, s: &mut RaftSysState) {
        if self.cfg.reduce_dead {
            self.remove_dead_by(s, is_dead);
        }
    }

    /// Removes every message `rule` declares dead for every server it can reach. In a debug
    /// build each one is first delivered through the real actor to each of them
    /// ([`check_dead_delivery`]): a rule that declares a live message dead panics here instead of
    /// silently cutting behaviours.
    pub fn remove_dead_by(&self, s: &mut RaftSysState, rule: DeadRule) {
        let dead: Vec<bool> = match &s.network {
            Network::UnorderedDuplicating(set, _) => set.iter().map(|env| self.dead_everywhere(rule, s, env)).collect(),
            _ => return, // the Raft model always uses the duplicating network
        };
        if !dead.iter().any(|d| *d) {
            return;
        }
        #[cfg(debug_assertions)]
        if let Err(e) = self.check_dead_deliveries(rule, s, &dead) {
            panic!("dead-message rule slip: {e}");
        }
        if let Network::UnorderedDuplicating(set, _) = &mut s.network {
            let mut dead = dead.into_iter();
            set.retain(|_| !dead.next().unwrap_or(false));
        }
    }

    /// Delivers each message flagged in `dead` (in the network's order) through the real actor,
    /// to every server it can reach, now and after a restart where one can come first
    /// ([`check_dead_delivery`]). A message such a delivery sends is excused if a copy is in
    /// flight (the network is a set) or `rule` declares it dead too.
    pub fn check_dead_deliveries(&self, rule: DeadRule, s: &RaftSysState, dead: &[bool]) -> Result<(), String> {
        let Network::UnorderedDuplicating(set, _) = &s.network else { return Ok(()) };
        let harmless = |e: &Envelope<RaftMsg>| set.contains(e) || self.dead_everywhere(rule, s, e);
        let crashes_left = usize::from(s.history.crashes) < self.cfg.crashes;
        for (env, _) in set.iter().zip(dead).filter(|(_, d)| **d) {
            for to in self.reach(env) {
                let env = Envelope { dst: to, ..env.clone() };
                let may_crash = crashes_left && self.cfg.is_server(to);
                match check_dead_delivery(&self.actors.actors, s, &env, may_crash, harmless) {
                    Err(_) if matches!(env.msg, RaftMsg::Request(_)) && self.passed_by_majority(s, usize::from(to)) => {
                    }
                    result => result?,
                }
            }
        }
        Ok(())
    }

    /// An answered request is not a no-op everywhere: a stale leader whose log lacks the entry
    /// (it was committed by a later term's leader) appends it again and replicates it. Such a
    /// leader can never commit that copy — a majority is in later terms, terms only grow — and
    /// every leader of the commit's term or later holds the entry (Leader Completeness), so it
    /// answers again or waits, and the answer is dead at the client. This is what the debug
    /// check accepts for a request: its receiver is a leader that a majority of servers (by
    /// what they saved, if down) has passed in term. The equal-verdict tests
    /// (models/reduction.rs) check that the copies it cuts change no verdict.
    fn passed_by_majority(&self, s: &RaftSysState, i: usize) -> bool {
        let Some(leader) = super::server_state(s, i).filter(|st| st.is_leader()) else { return false };
        let ahead = (0..self.cfg.servers).filter_map(|j| receiver(s, j)).filter(|r| r.term > leader.term).count();
        ahead >= crate::raft::majority(self.cfg.servers)
    }

    /// The actors a message can be delivered to: its addressee, and with the redirecting
    /// adversary ([`super::RaftModelCfg::redirects`]) every server, since a copy of a
    /// message between servers may be delivered to any of them.
    fn reach(&self, env: &Envelope<RaftMsg>) -> Vec<Id> {
        if self.cfg.redirects && self.cfg.is_server(env.src) && self.cfg.is_server(env.dst) {
            self.cfg.server_ids()
        } else {
            vec![env.dst]
        }
    }

    /// Whether `rule` declares a message dead for every actor it can reach ([`Self::reach`]).
    fn dead_everywhere(&self, rule: DeadRule, s: &RaftSysState, env: &Envelope<RaftMsg>) -> bool {
        self.reach(env).into_iter().all(|to| rule(self, s, &Envelope { dst: to, ..env.clone() }))
    }
}

/// How a server looks to a message that reaches it: its state if it is up, and if it is down, the
/// state it will restart with (a follower with what it saved).
fn receiver<'a>(s: &'a RaftSysState, i: usize) -> Option<Cow<'a, ServerState>> {
    let crashed = s.crashed.get(i).copied().unwrap_or(false);
    match (&**s.actor_states.get(i)?, crashed) {
        (RaftState::Server(st), false) => Some(Cow::Borrowed(st)),
        (RaftState::Server(_), true) => {
            Some(Cow::Owned(ServerState::restore(s.actor_storages.get(i).and_then(|o| o.as_ref()))))
        }
        _ => None,
    }
}

/// Whether server `i` is up and still leading (or running for leader, with `candidate`) in `term`.
/// Once it is not, it never will be in that term again: a server leads or runs only in a term
/// it started itself, and a restart makes it a follower.
fn still(s: &RaftSysState, i: usize, term: Term, candidate: bool) -> Option<&ServerState> {
    super::server_state(s, i).filter(|st| st.term == term && if candidate { st.is_candidate() } else { st.is_leader() })
}

/// A message is dead when delivering it is a no-op now and in every future: the receiver has
/// moved past it for good. Facts that a crash can undo (commit index, role) count only as far as
/// they survive one, and a planted bug that could revive a message disables the rule it would
/// break.
pub fn is_dead(m: &RaftModel, s: &RaftSysState, env: &Envelope<RaftMsg>) -> bool {
    use RaftMsg::*;
    let bugs = m.cfg.bugs;
    let (dst, src) = (usize::from(env.dst), usize::from(env.src));
    if let Some(c) = m.cfg.client_number(env.dst) {
        // Replies: the client has moved past this request.
        let done = match s.actor_states.get(dst).map(|a| &**a) {
            Some(RaftState::Client(done)) => *done,
            _ => return false,
        };
        return match &env.msg {
            Reply { seq, .. } => *seq <= done,
            // A redirect's delivery re-sends a request that is already in flight to every server
            // (requests die only once answered): nothing changes.
            _ => true,
        } && c < m.cfg.clients;
    }
    if let Request(op) = &env.msg {
        // Requests: their client has its answer.
        return matches!(
            m.cfg.client_ids().get(usize::from(op.client)).and_then(|c| s.actor_states.get(usize::from(*c))).map(|a| &**a),
            Some(RaftState::Client(done)) if *done >= op.seq
        );
    }
    let Some(r) = receiver(s, dst) else { return false };
    if bugs.has(Bug::TermNotPersisted) {
        return false; // terms can go back: nothing is stale for good
    }
    match &env.msg {
        // It changes no receiver; its answer is a "yes" for the proposed term, of use only to a
        // pre-candidate just below it, or a "no" with the receiver's term, which raises a
        // pre-candidate below that term — and the receiver's term may still grow up to the bound.
        // So the answer is of no use for good only once its pre-candidate holds the last term of
        // the bound, where it cannot be a pre-candidate again (`within_boundary`).
        PreVote(VoteRequest { term, .. }) => {
            // With the bug, it also moves a receiver below the proposed term up to it.
            let raises = bugs.has(Bug::PreVoteRaisesTerm) && r.term < *term;
            return !raises && receiver(s, src).is_some_and(|p| p.term >= m.cfg.max_term.max(*term));
        }
        // Of use only to a pre-candidate below its term (a "yes" naming it, or a "no" that
        // raises its term), and terms only grow.
        PreVoteReply { term, granted, candidate } => return r.term >= *term || (*granted && *candidate != env.dst),
        _ => {}
    }
    let Some(t) = server::msg_term(&env.msg) else { return true };
    if t < r.term {
        return true; // ignored by every server (`server::step`), and terms only grow
    }
    if t > r.term {
        return false; // it moves the receiver to a new term
    }
    let voter = env.src;
    match &env.msg {
        RequestVote(_) => match r.voted_for {
            None => false,
            Some(v) if v != voter => true, // denied now and for the rest of the term
            // The bug keeps a leader leading in the newer term, where it votes. A leader holds no
            // election timer (it cancelled it when elected, and one a grant armed is gone once it
            // fires), so each grant arms it again: a new state, though the timer does nothing.
            Some(_) if bugs.has(Bug::LeaderKeepsLeading) && r.is_leader() => false,
            // A repeated grant changes nothing but sends its "yes" again: dead once that is.
            Some(_) => answer_is_dead(m, s, env.dst, env.src, Vote { term: t, granted: true, candidate: env.src }),
        },
        Vote { granted, candidate, .. } => {
            !granted || !server::vote_names_me(bugs, env.dst, *candidate) || vote_is_useless(m, s, dst, src, t)
        }
        AppendEntries(crate::raft::AppendEntries { prev_index, prev_term, entries, commit, .. }) => {
            // With truncate-on-stale-append, an AppendEntries that changes nothing now truncates
            // the log once it has grown.
            let revived = [Bug::LogNotPersisted, Bug::FollowerCommitPastPrefix, Bug::TruncateOnStaleAppend];
            if revived.into_iter().any(|b| bugs.has(b)) || r.role != Role::Follower {
                return false;
            }
            if r.leader != Some(env.src) {
                // It names the follower's leader (a second leader of the term, with a bug that
                // elects two), and with check-quorum it gives the leader's lease (`server::in_lease`).
                return false;
            }
            let consistent = if bugs.has(Bug::NoConsistencyCheck) {
                *prev_index <= log::last_index(&r.log)
            } else {
                log::matches(&r.log, *prev_index, *prev_term)
            };
            if !consistent {
                return false; // the log may still come to match
            }
            if log::append_changes(&r.log, *prev_index, entries, bugs) {
                return false;
            }
            let last_new = prev_index.saturating_add(log::len_index(entries.len()));
            if server::follower_commit(r.commit, *commit, last_new) != r.commit || m.cfg.crashes > 0 {
                return false; // a restart forgets the commit index: the message may restore it
            }
            // It changes nothing but sends its acknowledgement again: dead once that is.
            answer_is_dead(m, s, env.dst, env.src, Appended { term: t, result: Ok(last_new) })
        }
        Appended { result, .. } => match still(s, dst, t, false) {
            None => true,
            // With check-quorum, an acknowledgement counts its sender as heard from at the
            // leader's next quorum check (`Progress::active`), which every check clears: it is
            // of use for as long as its leader leads. With the bug, a success is taken for the
            // leader's whole log, which may grow.
            Some(_) if m.cfg.check_quorum || bugs.has(Bug::StaleAppendResponse) => false,
            Some(leader) => leader_knows(leader, src, *result, m.cfg.repair),
        },
        Request(_) | Reply { .. } | Redirect { .. } | PreVote(_) | PreVoteReply { .. } => true,
    }
}

/// A request whose delivery changes nothing but sends `answer` (from `from` to `to`) again is
/// dead when that answer is, wherever it can be delivered ([`RaftModel::dead_everywhere`]):
/// derived from the answer's own rule rather than restated.
fn answer_is_dead(m: &RaftModel, s: &RaftSysState, from: Id, to: Id, answer: RaftMsg) -> bool {
    m.dead_everywhere(is_dead, s, &Envelope { src: from, dst: to, msg: answer })
}

/// A vote (or a repeated grant) from `voter` is of no use to `candidate` in `term`: it is no
/// longer a candidate there, or it counted this voter already.
fn vote_is_useless(m: &RaftModel, s: &RaftSysState, candidate: usize, voter: usize, term: Term) -> bool {
    match still(s, candidate, term, true) {
        None => true,
        Some(c) => match &c.role {
            Role::Candidate { votes } => !m.cfg.bugs.has(Bug::CountDuplicateVotes) && votes.contains(&Id::from(voter)),
            _ => true,
        },
    }
}

/// The leader already knows what this acknowledgement from `follower` says, for good: matchIndex
/// only grows, and a mismatch at or below it is stale.
/// With `repair`, nothing is known for good: a mismatch may move matchIndex back at any time,
/// and then a success already counted counts again.
fn leader_knows(leader: &ServerState, follower: usize, result: Result<Index, Index>, repair: bool) -> bool {
    let Role::Leader { progress } = &leader.role else { return true };
    let Some(p) = progress.get(follower) else { return true };
    !repair
        && match result {
            Ok(m) => p.matched >= m && p.next > m,
            Err(prev) => prev <= p.matched,
        }
}

/// A server's signature without server ids: its state and saved state with every server id
/// replaced by "itself" or "another", its timers, whether it is down, and the messages it sends
/// and receives (hashed without server ids), hashed. Equal for servers that a permutation could swap,
/// so sorting by it does not depend on how servers are numbered. `links` holds, per message in
/// flight, its sender, its receiver, whether each is a server, and the message's hash.
fn signature(s: &RaftSysState, i: usize, links: &[Link]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::check::symmetry::hasher();
    let me = Id::from(i);
    let who = |v: Option<Id>| match v {
        None => 0u8,
        Some(v) if v == me => 1,
        Some(_) => 2,
    };
    if let RaftState::Server(st) = &*s.actor_states[i] {
        match &st.role {
            Role::Follower => 0u8.hash(&mut h),
            Role::Candidate { votes } => (1u8, votes.len(), votes.contains(&me)).hash(&mut h),
            Role::PreCandidate { votes } => (3u8, votes.len(), votes.contains(&me)).hash(&mut h),
            Role::Leader { progress } => {
                let mut p: Vec<_> = progress.iter().enumerate().filter(|(k, _)| *k != i).map(|(_, p)| *p).collect();
                p.sort();
                (2u8, p).hash(&mut h);
            }
        }
        (st.term, who(st.voted_for), &st.log, st.commit, who(st.leader)).hash(&mut h);
    }
    s.actor_storages[i].as_ref().map(|saved| (saved.term, who(saved.voted_for), &saved.log)).hash(&mut h);
    (s.crashed[i], &s.timers_set[i]).hash(&mut h);
    let mut mine: Vec<(bool, bool, u64)> = Vec::new();
    for l in links {
        if l.src == me {
            mine.push((false, l.dst_is_server, l.msg));
        }
        if l.dst == me {
            mine.push((true, l.src_is_server, l.msg));
        }
    }
    mine.sort_unstable();
    mine.hash(&mut h);
    h.finish()
}

/// A message in flight, as [`signature`] reads it.
struct Link {
    src: Id,
    dst: Id,
    src_is_server: bool,
    dst_is_server: bool,
    /// The message's hash, free of server ids (a vote's candidate is hashed as whether it is the
    /// receiver).
    msg: u64,
}

fn links(s: &RaftSysState) -> Vec<Link> {
    use std::hash::{Hash, Hasher};
    let server = |id: Id| s.actor_states.get(usize::from(id)).is_some_and(|a| matches!(**a, RaftState::Server(_)));
    match &s.network {
        Network::UnorderedDuplicating(set, _) => set
            .iter()
            .map(|env| {
                let mut h = crate::check::symmetry::hasher();
                match &env.msg {
                    // A vote in flight names its receiver: hashed as whether it does.
                    RaftMsg::Vote { term, granted, candidate } => (term, granted, *candidate == env.dst).hash(&mut h),
                    RaftMsg::PreVoteReply { term, granted, candidate } => {
                        (9u8, term, granted, *candidate == env.dst).hash(&mut h)
                    }
                    msg => msg.hash(&mut h),
                }
                Link {
                    src: env.src,
                    dst: env.dst,
                    src_is_server: server(env.src),
                    dst_is_server: server(env.dst),
                    msg: h.finish(),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Symmetry reduction over servers, which are interchangeable: nothing in Raft depends on which
/// server is which (no rule compares server ids). The representative is canonical — the same for
/// every numbering of the servers — so that the state count does not depend on the order in which
/// threads visit states: servers are sorted by their id-free [`signature`], and among servers
/// with equal signatures every order is tried and the one whose rewritten state hashes lowest
/// wins. Clients keep their ids. Also forgets the last delivery, as [`without_last_delivery`] does.
pub fn representative(s: &RaftSysState) -> RaftSysState {
    let servers: Vec<usize> =
        (0..s.actor_states.len()).filter(|&i| matches!(*s.actor_states[i], RaftState::Server(_))).collect();
    let links = links(s);
    let sigs: Vec<u64> = servers.iter().map(|&i| signature(s, i, &links)).collect();
    let mut order = servers.clone();
    order.sort_by(|&i, &j| sigs[i].cmp(&sigs[j]));
    // Orders that differ only within groups of equal signatures.
    let mut candidates = vec![order.clone()];
    let mut start = 0;
    while start < order.len() {
        let end = (start..order.len()).find(|&k| sigs[order[k]] != sigs[order[start]]).unwrap_or(order.len());
        if end - start > 1 {
            let mut grown = Vec::new();
            for c in &candidates {
                for perm in crate::check::symmetry::permutations(&c[start..end]) {
                    let mut c = c.clone();
                    c[start..end].copy_from_slice(&perm);
                    grown.push(c);
                }
            }
            candidates = grown;
        }
        start = end;
    }
    if candidates.len() == 1 {
        return crate::check::symmetry::renumber(s, &servers, &order);
    }
    crate::check::symmetry::least_renumbering(s, &servers, candidates).unwrap_or_else(|| without_last_delivery(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::model::RaftModelCfg;
    use stateright::actor::ActorModelAction;
    use stateright::Model;

    /// A planted slip in the dead-message rule: "older term" written as "older or the same term",
    /// which declares every message of the receiver's own term dead — the slip the issue fears,
    /// that would hide, say, every vote a candidate could win with.
    fn same_term_is_dead(m: &RaftModel, s: &RaftSysState, env: &Envelope<RaftMsg>) -> bool {
        let term = receiver(s, usize::from(env.dst)).map(|r| r.term);
        server::msg_term(&env.msg).is_some_and(|t| term.is_some_and(|r| t <= r)) || is_dead(m, s, env)
    }

    /// Delivers the first message in flight that `pick` selects.
    fn deliver(m: &RaftModel, s: &RaftSysState, pick: impl Fn(&Envelope<RaftMsg>) -> bool) -> RaftSysState {
        let Network::UnorderedDuplicating(set, _) = &s.network else { panic!("a duplicating network") };
        let env = set.iter().find(|e| pick(e)).expect("a message to deliver").clone();
        m.next_state(s, ActorModelAction::Deliver { src: env.src, dst: env.dst, msg: env.msg }).expect("a step")
    }

    /// Fires `server`'s election timer.
    fn timeout(m: &RaftModel, s: &RaftSysState, server: usize) -> RaftSysState {
        let action = ActorModelAction::Timeout(Id::from(server), crate::raft::actor::RaftTimer::Election);
        m.next_state(s, action).expect("a timeout")
    }

    /// Delivers the message in flight from `src` to `dst` that `pick` selects.
    fn deliver_from(
        m: &RaftModel,
        s: &RaftSysState,
        src: usize,
        dst: usize,
        pick: fn(&RaftMsg) -> bool,
    ) -> RaftSysState {
        deliver(m, s, |e| e.src == Id::from(src) && e.dst == Id::from(dst) && pick(&e.msg))
    }

    /// The message in flight from `src` to `dst` that `pick` selects, if there is one.
    fn in_flight(s: &RaftSysState, src: usize, dst: usize, pick: fn(&RaftMsg) -> bool) -> Option<Envelope<RaftMsg>> {
        let Network::UnorderedDuplicating(set, _) = &s.network else { return None };
        set.iter().find(|e| e.src == Id::from(src) && e.dst == Id::from(dst) && pick(&e.msg)).cloned()
    }

    /// The real rule passes the delivery check in `s`.
    fn passes_the_check(m: &RaftModel, s: &RaftSysState) {
        let Network::UnorderedDuplicating(set, _) = &s.network else { panic!("a duplicating network") };
        let flags: Vec<bool> = set.iter().map(|e| m.dead_everywhere(is_dead, s, e)).collect();
        assert_eq!(m.check_dead_deliveries(is_dead, s, &flags), Ok(()));
    }

    fn is_request_vote(msg: &RaftMsg) -> bool {
        matches!(msg, RaftMsg::RequestVote(_))
    }

    fn is_vote(msg: &RaftMsg) -> bool {
        matches!(msg, RaftMsg::Vote { .. })
    }

    fn is_append(msg: &RaftMsg) -> bool {
        matches!(msg, RaftMsg::AppendEntries(_))
    }

    fn is_appended(msg: &RaftMsg) -> bool {
        matches!(msg, RaftMsg::Appended { .. })
    }

    /// s0 is elected in term 1 (s1's vote) and s1 has acknowledged its first AppendEntries.
    fn s0_leads_and_heard_s1(cfg: RaftModelCfg) -> (RaftModel, RaftSysState) {
        let m = cfg.into_model();
        let s = timeout(&m, &m.init_states().remove(0), 0);
        let s = deliver_from(&m, &s, 0, 1, is_request_vote);
        let s = deliver_from(&m, &s, 1, 0, is_vote);
        let s = deliver_from(&m, &s, 0, 1, is_append);
        let s = deliver_from(&m, &s, 1, 0, is_appended);
        (m, s)
    }

    /// With check-quorum an acknowledgement the leader has counted is not dead: its quorum check
    /// clears what it heard, and delivering the same acknowledgement again then counts s1 anew.
    #[test]
    fn with_check_quorum_an_acknowledgement_already_heard_counts_again_after_the_quorum_check() {
        let cfg = RaftModelCfg { clients: 0, crashes: 0, max_term: 1, check_quorum: true, ..RaftModelCfg::default() };
        let (m, s) = s0_leads_and_heard_s1(cfg);
        let ack = in_flight(&s, 1, 0, is_appended).expect("the acknowledgement stays in flight");
        let s = timeout(&m, &s, 0); // the quorum check: s1 was heard, s0 stays and forgets it
        assert!(super::super::server_state(&s, 0).is_some_and(|l| l.is_leader()));
        let again = m.next_state(&s, ActorModelAction::Deliver { src: ack.src, dst: ack.dst, msg: ack.msg });
        assert!(again.is_some(), "the repeated acknowledgement counts s1 as heard in the new period");
        assert!(in_flight(&s, 0, 1, is_append).is_some(), "and so does the AppendEntries it answers");
        passes_the_check(&m, &s);
    }

    /// With `pre-vote-raises-term`, s0's pre-vote for term 1 raises s1 to term 1, whose "no" raises
    /// s0: the same pre-vote to s2, still in term 0, would raise s2 too, so it is not dead.
    #[test]
    fn a_pre_vote_stays_alive_where_the_planted_bug_lets_it_raise_its_receivers_term() {
        let m = super::super::bug_config(Bug::PreVoteRaisesTerm).into_model();
        let s = timeout(&m, &m.init_states().remove(0), 0);
        let s = deliver_from(&m, &s, 0, 1, |msg| matches!(msg, RaftMsg::PreVote(_)));
        let s = deliver_from(&m, &s, 1, 0, |msg| matches!(msg, RaftMsg::PreVoteReply { .. }));
        assert!(in_flight(&s, 0, 2, |msg| matches!(msg, RaftMsg::PreVote(_))).is_some());
        passes_the_check(&m, &s);
    }

    /// With `unbound-header` and the redirecting adversary: s1 and s2 run in term 1 and s0 votes
    /// for s1. s2's vote request, copied back to s2, makes it grant itself a "yes" that the
    /// adversary can carry to s1, which the bug lets count it: the request is not dead.
    #[test]
    fn a_vote_request_copied_to_its_own_candidate_stays_alive_where_its_yes_can_count_for_another() {
        let m = super::super::bug_config(Bug::UnboundHeader).into_model();
        let s = timeout(&m, &timeout(&m, &m.init_states().remove(0), 1), 2);
        let s = deliver_from(&m, &s, 1, 0, is_request_vote);
        assert!(in_flight(&s, 2, 0, is_request_vote).is_some());
        passes_the_check(&m, &s);
    }

    /// With `truncate-on-stale-append`, the AppendEntries s1 has applied stays in flight: once
    /// s1's log grows, it truncates it.
    #[test]
    fn an_applied_append_stays_alive_where_the_planted_bug_truncates_on_it() {
        let (m, s) = s0_leads_and_heard_s1(super::super::bug_config(Bug::TruncateOnStaleAppend));
        assert!(in_flight(&s, 0, 1, is_append).is_some());
        passes_the_check(&m, &s);
    }

    /// With `leader-keeps-leading`: s0 leads term 1 and s1 holds its log; s1's vote request of term 2 moves s0 to term 2,
    /// still leading, and s0 grants it, which arms s0's election timer; the timer fires (a no-op at
    /// a leader) and s1 wins. A repeat of the request would arm the timer again: not dead.
    #[test]
    fn a_repeated_vote_request_stays_alive_at_a_leader_the_planted_bug_keeps_in_a_newer_term() {
        let m = super::super::bug_config(Bug::LeaderKeepsLeading).into_model();
        let s = timeout(&m, &m.init_states().remove(0), 0);
        let s = deliver_from(&m, &s, 0, 1, is_request_vote);
        let s = deliver_from(&m, &s, 1, 0, is_vote);
        let s = deliver_from(&m, &s, 0, 1, is_append); // s1's log is s0's: s0 will vote for it
        let s = timeout(&m, &s, 1); // s1 runs in term 2
        let s = deliver_from(&m, &s, 1, 0, is_request_vote);
        let s = timeout(&m, &s, 0);
        let s = deliver_from(&m, &s, 0, 1, is_vote);
        assert!(super::super::server_state(&s, 0).is_some_and(|l| l.is_leader() && l.term == 2));
        assert!(in_flight(&s, 1, 0, is_request_vote).is_some());
        passes_the_check(&m, &s);
    }

    /// s0 times out and asks s1 for its vote; s1 grants it: s1's Vote of term 1 is in flight to
    /// s0, a candidate of term 1 that it would make leader.
    fn a_vote_in_flight() -> (RaftModel, RaftSysState) {
        let m = RaftModelCfg { clients: 0, crashes: 0, max_term: 1, ..RaftModelCfg::default() }.into_model();
        let init = m.init_states().remove(0);
        let s = m.next_state(&init, ActorModelAction::Timeout(Id::from(0), crate::raft::actor::RaftTimer::Election));
        let s = s.expect("an election");
        let s = deliver(&m, &s, |e| e.dst == Id::from(1) && matches!(e.msg, RaftMsg::RequestVote(_)));
        (m, s)
    }

    #[test]
    fn the_real_rule_passes_the_check_and_the_slipped_rule_fails_it_naming_the_vote() {
        let (m, s) = a_vote_in_flight();
        let Network::UnorderedDuplicating(set, _) = &s.network else { panic!("a duplicating network") };
        let flags = |rule: DeadRule| -> Vec<bool> { set.iter().map(|e| m.dead_everywhere(rule, &s, e)).collect() };
        assert_eq!(m.check_dead_deliveries(is_dead, &s, &flags(is_dead)), Ok(()));
        let err = m.check_dead_deliveries(same_term_is_dead, &s, &flags(same_term_is_dead)).expect_err("a slip");
        assert!(err.contains("Vote(t1, yes)") && err.contains("changes the receiver's state"), "{err}");
    }

    /// The debug assertion at the point of removal fires on the slipped rule.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "dead-message rule slip")]
    fn removing_a_live_vote_as_dead_panics_in_a_debug_build() {
        let (m, mut s) = a_vote_in_flight();
        m.remove_dead_by(&mut s, same_term_is_dead);
    }
}
