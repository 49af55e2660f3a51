//! PBFT's scenarios, replayed in the model of [`PbftModelCfg::into_model`]: the normal case, a
//! silent primary replaced, and four planted bugs whose counterexamples a search would take
//! too long to find (each scenario's configuration is the bug's own, [`bug_config`]).

use super::{ensure, last, step, Spec};
use crate::pbft::model::{bug_config, property::*, replica_state, PbftSysState};
use crate::pbft::replica::low;
use crate::pbft::{Bug, PbftModelCfg, Req, SeqNo};

type PbftSpec = Spec<PbftModelCfg>;

/// The PBFT scenarios, in the guide's order.
pub static SCENARIOS: [PbftSpec; 8] = [
    NORMAL_CASE,
    SILENT_PRIMARY,
    CHECKPOINT,
    NEW_VIEW_IGNORES_PREPARED,
    COMMIT_QUORUM_2F,
    PREPARED_WITH_2F_MINUS_1,
    PRE_PREPARE_FROM_ANYONE,
    COLLECT_BEFORE_STABLE,
];

/// The scenario that replays `bug`'s counterexample, if one does.
pub fn for_bug(bug: Bug) -> Option<&'static str> {
    SCENARIOS.iter().find(|s| (s.cfg)().bugs == bug_config(bug).bugs && !s.violates.is_empty()).map(|s| s.name)
}

/// What replica `i` executed at sequence number `seq`.
fn executed(s: &PbftSysState, i: usize, seq: SeqNo) -> Option<&Req> {
    replica_state(s, i).and_then(|r| r.executed.get(&seq))
}

/// At the end, replicas `a` and `b` (both correct) executed different requests at #1.
fn split_at_1(states: &[PbftSysState], a: usize, b: usize) -> Result<(), String> {
    let s = last(states)?;
    let (x, y) = (executed(s, a, 1), executed(s, b, 1));
    ensure(x.is_some() && y.is_some() && x != y, || format!("#1: r{a} executed {x:?}, r{b} {y:?}"))
}

const NORMAL_CASE: PbftSpec = Spec {
    name: "pbft-normal-case",
    about:
        "four correct replicas order, prepare, commit and execute a client's Put (section 4.2); f+1 replies complete it",
    cfg: || PbftModelCfg { byzantine: 0, max_view: 0, ..PbftModelCfg::default() },
    steps: &[
        step("c4 -> r0 : Request", "the primary assigns #1 and multicasts its pre-prepare"),
        step("r0 -> r1 : PrePrepare", "each backup that accepts it multicasts a prepare"),
        step("r0 -> r2 : PrePrepare", ""),
        step("r0 -> r3 : PrePrepare", ""),
        step("r1 -> r2 : Prepare", ""),
        step(
            "r2 -> r1 : Prepare",
            "r1 and r2: the pre-prepare and 2f = 2 prepares: prepared; each multicasts a commit",
        ),
        step("r1 -> r0 : Prepare", ""),
        step("r2 -> r0 : Prepare", "r0 prepared too"),
        step("r0 -> r1 : Commit", ""),
        step("r2 -> r1 : Commit", "r1: 2f+1 = 3 commits: committed-local; it executes #1 and replies"),
        step("r1 -> r2 : Commit", ""),
        step("r0 -> r2 : Commit", "r2 executes #1 too"),
        step("r1 -> c4 : Reply", ""),
        step("r2 -> c4 : Reply", "f+1 = 2 matching replies: the client accepts; r3 has not even prepared"),
    ],
    expect: "r1 and r2 execute the Put at #1 and the client accepts their two matching replies",
    violates: &[],
    check: |_, _, states| {
        let s = last(states)?;
        let done: Vec<usize> = (0..4).filter(|i| executed(s, *i, 1).is_some()).collect();
        ensure(done == [1, 2], || format!("executed #1: {done:?}, expected r1 and r2"))?;
        ensure(s.history.returned.first() == Some(&1), || "the client did not accept its Put".into())
    },
};

const SILENT_PRIMARY: PbftSpec = Spec {
    name: "pbft-silent-primary",
    about: "a Byzantine primary says nothing; the backups' timers run out, view 1's primary takes over and the Put executes",
    cfg: || PbftModelCfg { max_view: 1, ..PbftModelCfg::default() },
    steps: &[
        step("c4 -> r1 : Request", "r0 stays silent: the request reaches only the backups"),
        step("c4 -> r2 : Request", ""),
        step("c4 -> r3 : Request", ""),
        step("r2 view-change timeout", "r2's timer runs out while the request waits: view 1, its view change"),
        step("r3 view-change timeout", ""),
        step("r2 -> r1 : ViewChange", "r1, view 1's primary, holds 2f view changes from others"),
        step("r3 -> r1 : ViewChange", ""),
        step("r1 -> r2 : NewView", "no certificate: O is empty, r1 orders the waiting request at #1 of view 1"),
        step("r1 -> r3 : NewView", ""),
        step("r1 -> r2 : PrePrepare", ""),
        step("r1 -> r3 : PrePrepare", ""),
        step("r2 -> r3 : Prepare", "r2 and r3 prepared"),
        step("r3 -> r2 : Prepare", ""),
        step("r2 -> r1 : Prepare", ""),
        step("r3 -> r1 : Prepare", ""),
        step("r1 -> r2 : Commit", "r2: committed-local, executes"),
        step("r3 -> r2 : Commit", ""),
        step("r1 -> r3 : Commit", "r3 executes"),
        step("r2 -> r3 : Commit", ""),
        step("r2 -> c4 : Reply", ""),
        step("r3 -> c4 : Reply", "f+1 matching replies: the Put is done, in view 1"),
    ],
    expect: "r2 and r3 execute the Put at #1 in view 1 and the client accepts it; r0 never sent a message",
    violates: &[],
    check: |_, _, states| {
        let s = last(states)?;
        let views: Vec<u64> = (1..4).filter_map(|i| replica_state(s, i).map(|r| r.view)).collect();
        ensure(views == [1, 1, 1], || format!("r1..r3 in views {views:?}"))?;
        ensure(executed(s, 2, 1).is_some() && executed(s, 2, 1) == executed(s, 3, 1), || "r2 and r3 differ".into())?;
        ensure(s.history.returned.first() == Some(&1), || "the client did not accept its Put".into())
    },
};

const CHECKPOINT: PbftSpec = Spec {
    name: "pbft-checkpoint",
    about: "a checkpoint after every request (section 4.3): 2f+1 matching checkpoint messages make it stable, the log is discarded, and a replica that never executed the Put fetches the state and answers it",
    cfg: || PbftModelCfg { byzantine: 0, max_view: 0, checkpoint: 1, ..PbftModelCfg::default() },
    steps: &[
        step("c4 -> r0 : Request", "the primary assigns #1, the only number of the window (h = 0, L = 1)"),
        step("r0 -> r1 : PrePrepare", ""),
        step("r0 -> r2 : PrePrepare", ""),
        step("r0 -> r3 : PrePrepare", "r3 waits for the Put too, but will see no prepare or commit"),
        step("r1 -> r2 : Prepare", ""),
        step("r2 -> r1 : Prepare", "r1 and r2 prepared"),
        step("r1 -> r0 : Prepare", ""),
        step("r2 -> r0 : Prepare", "r0 prepared"),
        step("r0 -> r1 : Commit", ""),
        step("r2 -> r1 : Commit", "r1 executes the Put and multicasts its checkpoint message for #1 with its state's digest"),
        step("r0 -> r2 : Commit", ""),
        step("r1 -> r2 : Commit", "r2 executes and multicasts its checkpoint"),
        step("r1 -> r0 : Commit", ""),
        step("r2 -> r0 : Commit", "r0 executes and multicasts its checkpoint"),
        step("r0 -> r1 : Checkpoint", ""),
        step(
            "r2 -> r1 : Checkpoint",
            "r1 holds 2f+1 = 3 matching checkpoint messages: #1 is stable, the low watermark moves to 1 and r1 discards its log",
        ),
        step("r0 -> r3 : Checkpoint", ""),
        step("r1 -> r3 : Checkpoint", ""),
        step(
            "r2 -> r3 : Checkpoint",
            "r3, which executed nothing, holds a stable checkpoint above it: its window moves and it asks the others for the state (a fetch, section 5.3)",
        ),
        step("r3 -> r1 : Fetch", "r1 sends the state it recorded at #1: the map and the reply cache"),
        step(
            "r1 -> r3 : Transfer",
            "its digest is the one 2f+1 replicas signed: r3 takes the state and answers the Put from the reply cache it took",
        ),
        step("r3 -> c4 : Reply", ""),
        step("r1 -> c4 : Reply", "f+1 matching replies, one from a replica that took the state: the client accepts"),
    ],
    expect: "r1 and r3 hold stable checkpoint #1 with empty logs; r3 took the state at #1 without executing and has the map the others have",
    violates: &[],
    check: |_, _, states| {
        let s = last(states)?;
        let (r1, r3) = (replica_state(s, 1).ok_or("no r1")?, replica_state(s, 3).ok_or("no r3")?);
        let r0 = replica_state(s, 0).ok_or("no r0")?;
        ensure(low(r1) == 1 && low(r3) == 1, || format!("low watermarks r1 {}, r3 {}", low(r1), low(r3)))?;
        ensure(r1.log.is_empty() && r3.log.is_empty(), || "a log kept what the checkpoint covers".into())?;
        ensure(r3.transferred == 1 && r3.executed.is_empty(), || "r3 did not take the state".into())?;
        ensure(r3.kv == r0.kv, || format!("r3's map {:?}, r0's {:?}", r3.kv, r0.kv))?;
        ensure(s.history.returned.first() == Some(&1), || "the client did not accept its Put".into())
    },
};

const NEW_VIEW_IGNORES_PREPARED: PbftSpec = Spec {
    name: "pbft-new-view-ignores-prepared",
    about:
        "the planted bug new-view-ignores-prepared: a Put executed in view 0 is replaced by the null request in view 1",
    cfg: || bug_config(Bug::NewViewIgnoresPrepared),
    steps: &[
        step("c4 -> r0 : Request", ""),
        step("r0 -> r1 : PrePrepare", ""),
        step("r0 -> r2 : PrePrepare", ""),
        step("r0 -> r3 : PrePrepare", ""),
        step("r1 -> r3 : Prepare", ""),
        step("r1 -> r0 : Prepare", ""),
        step("r2 -> r0 : Prepare", ""),
        step("r2 -> r1 : Prepare", "r3, r0 and r1 prepared the Put"),
        step("r0 -> r3 : Commit", ""),
        step("r1 -> r3 : Commit", "r3: committed-local, executes the Put at #1"),
        step("r1 view-change timeout", ""),
        step("r2 view-change timeout", ""),
        step("r2 -> r1 : ViewChange", ""),
        step("r1 -> r0 : ViewChange", "r1 reports the Put prepared at #1"),
        step("r2 -> r0 : ViewChange", ""),
        step(
            "r0 -> r1 : ViewChange",
            "r0 reports it too; the bug: r1, the new primary, fills #1 with the null request",
        ),
        step("r1 -> r0 : NewView", ""),
        step("r1 -> r2 : NewView", ""),
        step("r0 -> r1 : Prepare", ""),
        step("r2 -> r1 : Prepare", ""),
        step("r0 -> r2 : Prepare", ""),
        step("r2 -> r0 : Prepare", ""),
        step("r0 -> r2 : Commit", ""),
        step("r1 -> r2 : Commit", "r2 executes the null request at #1, where r3 executed the Put"),
    ],
    expect: "r3 executes the Put at #1 in view 0; r2 executes the null request at #1 in view 1",
    violates: &[AGREEMENT, PREFIX],
    check: |_, _, states| split_at_1(states, 3, 2),
};

const COMMIT_QUORUM_2F: PbftSpec = Spec {
    name: "pbft-commit-quorum-2f",
    about: "the planted bug commit-quorum-2f: a Put committed with 2f commits is missing from a view change, and a Get takes its number",
    cfg: || bug_config(Bug::CommitQuorum2f),
    steps: &[
        step("c4 -> r0 (Byzantine) : Request", ""),
        step("r0 (Byzantine) -> r3 : PrePrepare", "r0, Byzantine, follows the protocol here"),
        step("r0 (Byzantine) -> r2 : PrePrepare", ""),
        step("r2 -> r3 : Prepare", "r3 prepared"),
        step("r2 -> r0 (Byzantine) : Prepare", ""),
        step("r3 -> r0 (Byzantine) : Prepare", ""),
        step("r0 (Byzantine) -> r3 : Commit", "the bug: r3 is committed-local with 2 commits (its own and the Byzantine r0's) and executes the Put at #1"),
        step("r3 -> c4 : Reply", ""),
        step("r3 -> r0 (Byzantine) : Commit", ""),
        step("r0 (Byzantine) -> c4 : Reply", "f+1 replies (one of them Byzantine): the Put is done; the client sends its Get"),
        step("c4 -> r1 : Request(get", ""),
        step("r1 view-change timeout", "r1 and r2 never prepared the Put"),
        step("r2 view-change timeout", ""),
        step("r2 -> r1 : ViewChange", ""),
        step("r0 (Byzantine) hides", "the one misbehaviour: r0 hides its certificate"),
        step("r0 (Byzantine) -> r1 : ViewChange", "no certificate among r0, r1, r2: O is empty and r1 orders the Get at #1"),
        step("r1 -> r2 : NewView", ""),
        step("r1 -> r2 : PrePrepare", ""),
        step("r1 -> r3 : NewView", ""),
        step("r1 -> r3 : PrePrepare", ""),
        step("r3 -> r2 : Prepare", ""),
        step("r2 -> r1 : Prepare", ""),
        step("r3 -> r1 : Prepare", ""),
        step("r1 -> r2 : Commit", "r2 is committed-local with 2 commits and executes the Get at #1, where r3 executed the Put"),
    ],
    expect: "r3 executes the Put at #1 in view 0; r2 executes the Get at #1 in view 1",
    violates: &[AGREEMENT, PREFIX],
    check: |_, _, states| split_at_1(states, 3, 2),
};

const PREPARED_WITH_2F_MINUS_1: PbftSpec = Spec {
    name: "pbft-prepared-with-2f-1",
    about:
        "the planted bug prepared-with-2f-1: an equivocating primary gets two requests prepared at #1, and both execute",
    cfg: || bug_config(Bug::PreparedWith2fMinus1),
    steps: &[
        step("c4 -> r0 (Byzantine) : Request", ""),
        step("c5 -> r0 (Byzantine) : Request", ""),
        step(
            "r0 (Byzantine) equivocates: PrePrepare(v0 #1 put1",
            "the one misbehaviour: a pre-prepare of B for #1 where the correct code ordered A",
        ),
        step("r0 (Byzantine) -> r2 : PrePrepare(v0 #1 put1", "the bug: r2 is prepared with 2f-1 = 1 prepare, its own"),
        step("r0 (Byzantine) -> r1 : PrePrepare(v0 #1 put0", ""),
        step("r0 (Byzantine) -> r3 : PrePrepare(v0 #1 put0", "r1 and r3 prepared A at #1"),
        step("r1 -> r0 (Byzantine) : Prepare", ""),
        step("r3 -> r1 : Commit", ""),
        step("r0 (Byzantine) -> r1 : Commit(v0 #1", "r1 executes A at #1"),
        step("r2 view-change timeout", ""),
        step("r3 view-change timeout", ""),
        step("r2 -> r1 : ViewChange", "r2 reports B prepared at #1, r3 reports A: two certificates for one number"),
        step("r3 -> r1 : ViewChange", "both of view 0: the new primary takes B"),
        step("r1 -> r2 : NewView", ""),
        step("r1 -> r3 : NewView", ""),
        step("r2 -> r1 : Prepare", ""),
        step("r1 -> r2 : Commit", ""),
        step("r3 -> r2 : Commit", "r2 executes B at #1, where r1 executed A"),
    ],
    expect: "r1 executes A at #1 in view 0; r2 executes B at #1 in view 1",
    violates: &[AGREEMENT, PREFIX],
    check: |_, _, states| split_at_1(states, 1, 2),
};

const PRE_PREPARE_FROM_ANYONE: PbftSpec = Spec {
    name: "pbft-pre-prepare-from-anyone",
    about:
        "the planted bug pre-prepare-from-anyone: a Byzantine backup orders a second request at #1, and both execute",
    cfg: || bug_config(Bug::PrePrepareFromAnyone),
    steps: &[
        step("c4 -> r0 : Request", ""),
        step("c5 -> r3 (Byzantine) : Request", ""),
        step("r3 (Byzantine) equivocates: PrePrepare(v0 #1 put1", "r3, a Byzantine backup, orders B at #1"),
        step("r3 (Byzantine) -> r2 : PrePrepare(v0 #1 put1", "the bug: r2 accepts a pre-prepare from a backup"),
        step("r3 (Byzantine) equivocates: Prepare(v0 #1 put1", ""),
        step("r3 (Byzantine) -> r2 : Prepare(v0 #1 put1", "r2 prepared B at #1"),
        step("r0 -> r1 : PrePrepare", ""),
        step("r0 -> r3 (Byzantine) : PrePrepare", ""),
        step("r3 (Byzantine) -> r1 : Prepare(v0 #1 put0", "r1 prepared A at #1 (its prepare and r3's)"),
        step("r1 -> r0 : Prepare", ""),
        step("r3 (Byzantine) -> r0 : Prepare(v0 #1 put0", ""),
        step("r1 -> r3 (Byzantine) : Prepare", ""),
        step("r0 -> r1 : Commit", ""),
        step("r3 (Byzantine) -> r1 : Commit", "r1 executes A at #1"),
        step("r2 view-change timeout", ""),
        step("r3 (Byzantine) view-change timeout", ""),
        step("r2 -> r1 : ViewChange", ""),
        step(
            "r3 (Byzantine) -> r1 : ViewChange",
            "two certificates for #1, A and B, both of view 0: the new primary takes B",
        ),
        step("r1 -> r2 : NewView", ""),
        step("r1 -> r3 (Byzantine) : NewView", ""),
        step("r3 (Byzantine) -> r1 : Prepare", ""),
        step("r3 (Byzantine) -> r2 : Prepare", ""),
        step("r2 -> r1 : Prepare", ""),
        step("r1 -> r2 : Commit", ""),
        step("r2 -> r3 (Byzantine) : Prepare", ""),
        step("r3 (Byzantine) -> r2 : Commit", "r2 executes B at #1, where r1 executed A"),
    ],
    expect: "r1 executes A at #1 in view 0; r2 executes B at #1 in view 1",
    violates: &[AGREEMENT, PREFIX],
    check: |_, _, states| split_at_1(states, 1, 2),
};

const COLLECT_BEFORE_STABLE: PbftSpec = Spec {
    name: "pbft-collect-before-stable",
    about: "the planted bug collect-before-stable: two replicas discard a request's certificates at their own checkpoint, before it is stable, and a view change gives its number to another request",
    cfg: || bug_config(Bug::CollectBeforeStable),
    steps: &[
        step("c4 -> r0 : Request", "the primary assigns #1 to c4's Put"),
        step("r0 -> r1 : PrePrepare", ""),
        step("r0 -> r2 : PrePrepare", ""),
        step("r1 -> r2 : Prepare", "r2 prepared"),
        step("r2 -> r1 : Prepare", "r1 prepared"),
        step("r1 -> r0 : Prepare", ""),
        step("r2 -> r0 : Prepare", "r0 prepared"),
        step("r0 -> r1 : Commit", ""),
        step(
            "r2 -> r1 : Commit",
            "r1 executes the Put at #1 and takes checkpoint #1; the bug: it discards its log up to #1, certificate and all, though only its own checkpoint message vouches for #1",
        ),
        step("r0 -> r2 : Commit", ""),
        step("r1 -> r2 : Commit", "r2 executes the Put at #1 and discards its log too"),
        step("c5 -> r1 : Request", "c5's Put waits at the backups"),
        step("c5 -> r2 : Request", ""),
        step("c5 -> r3 : Request", ""),
        step("r2 view-change timeout", "r2 and r3 report no certificate: r2 discarded its, r3 never prepared"),
        step("r3 view-change timeout", ""),
        step("r2 -> r1 : ViewChange", ""),
        step(
            "r3 -> r1 : ViewChange",
            "r1 joins view 1, whose primary it is: no certificate and no stable checkpoint among r1, r2, r3, so O is empty and r1 assigns #1 to c5's Put",
        ),
        step("r1 -> r3 : NewView", ""),
        step("r1 -> r3 : PrePrepare", ""),
        step("r1 -> r2 : NewView", ""),
        step("r1 -> r2 : PrePrepare", ""),
        step("r2 -> r3 : Prepare", "r3 prepared c5's Put at #1"),
        step("r3 -> r2 : Prepare", ""),
        step("r2 -> r1 : Prepare", ""),
        step("r3 -> r1 : Prepare", ""),
        step("r1 -> r3 : Commit", ""),
        step("r2 -> r3 : Commit", "r3 executes c5's Put at #1, where r1 and r2 executed c4's"),
    ],
    expect: "r1 and r2 execute c4's Put at #1 in view 0; r3 executes c5's Put at #1 in view 1",
    violates: &[AGREEMENT, PREFIX],
    check: |_, _, states| split_at_1(states, 1, 3),
};
