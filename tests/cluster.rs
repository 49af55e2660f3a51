//! The runtime end to end: real `quorum node` processes on 127.0.0.1, the CLI client and the
//! library client, kill -9 and restart, corrupted storage, and hostile datagrams.
//!
//! Every wait is bounded, every child is killed by a Drop guard, every directory is a temp dir.
//! The long crash-restart variant (20 kill cycles) is `#[ignore]`d:
//! `cargo test --release --test cluster -- --ignored`.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use quorum::raft::kv::{KvMap, KvOp, KvRet};
use quorum::raft::{Key, Op, OpKind, RaftMsg, RaftStorage, Value};
use quorum::runtime::client::{ClientError, KvClient, RaftClient};
use quorum::runtime::storage::RecordLog;
use quorum::runtime::wire::{self, ClusterKey, Header};
use serde_json::Value as Json;
use stateright::actor::Id;
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;

#[test]
fn three_node_raft_cluster_serves_cli_put_then_get() {
    let c = Cluster::started(3);
    let put = c.cli(&["put", "x", "1"]);
    assert!(put.status.success(), "put: {}\n{}", String::from_utf8_lossy(&put.stderr), c.logs());
    assert_eq!(stdout(&put), "ok");
    let get = c.cli(&["--client", "1", "get", "x"]);
    assert!(get.status.success(), "get: {}", String::from_utf8_lossy(&get.stderr));
    assert_eq!(stdout(&get), "1");
    // Keys are independent: another key was never written (exit 3, nothing on stdout).
    let missing = c.cli(&["get", "y"]);
    assert_eq!((missing.status.code(), stdout(&missing).as_str()), (Some(3), ""));
    // Each run of the CLI client is a fresh session: a second put of the same key and value is
    // applied again (not answered from the first), and a read after it sees it.
    assert_eq!(stdout(&c.cli(&["put", "y", "2"])), "ok");
    assert_eq!(stdout(&c.cli(&["put", "x", "3"])), "ok");
    assert_eq!(stdout(&c.cli(&["put", "x", "1"])), "ok");
    assert_eq!(stdout(&c.cli(&["get", "x"])), "1");
    assert_eq!(stdout(&c.cli(&["get", "y"])), "2");
    // noop, put x, get x, get y, put y, put x, put x, get x, get y: the leader's stats file
    // (rewritten every 100 ms) shows all nine committed.
    let committed = wait_for(Duration::from_secs(2), || {
        let s = c.stats(c.leader()?)?;
        (s["status"]["commit"].as_u64() >= Some(9)).then_some(s)
    });
    assert!(committed.is_some(), "the leader does not report 9 committed entries\n{}", c.logs());
}

/// Every run of the CLI client is a fresh session, and nothing of it is kept on disk: client 0's
/// second `get x` is its first's request number and operation again, yet after another client
/// wrote x (and with any `client-*` file beside the key removed) it reads the new value, not the
/// first read's answer.
#[test]
fn a_read_after_the_clients_files_are_lost_sees_the_latest_write_not_an_old_answer() {
    let c = Cluster::started(3);
    let ok = |args: &[&str]| {
        let o = c.cli(args);
        assert!(o.status.success(), "{args:?}: {}\n{}", String::from_utf8_lossy(&o.stderr), c.logs());
        stdout(&o)
    };
    assert_eq!(ok(&["--client", "1", "put", "x", "old"]), "ok");
    assert_eq!(ok(&["get", "x"]), "old");
    assert_eq!(ok(&["--client", "1", "put", "x", "new"]), "ok");
    for entry in std::fs::read_dir(c.dir.path()).expect("the cluster's directory").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("client-") {
            std::fs::remove_file(entry.path()).expect("remove a client file");
        }
    }
    assert_eq!(ok(&["get", "x"]), "new");
}

/// The CLI client's exit code, stdout and stderr.
fn run_cli(c: &Cluster, args: &[&str]) -> (Option<i32>, String, String) {
    let o = c.cli(args);
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// `put` and `get` take keys and values verbatim, even ones that look like flags.
#[test]
fn cli_values_and_keys_that_look_like_flags_are_stored_verbatim() {
    let c = Cluster::started(3);
    for (put, get, value) in [
        (&["put", "x", "-h"][..], &["get", "x"][..], "-h"),
        (&["put", "x", "--"], &["get", "x"], "--"),
        (&["put", "x", "--help"], &["get", "x"], "--help"),
        (&["put", "--", "-k", "-v"], &["get", "--", "-k"], "-v"),
        (&["put", "e", ""], &["get", "e"], ""),
    ] {
        let (code, out, err) = run_cli(&c, put);
        assert_eq!((code, out.as_str()), (Some(0), "ok\n"), "{put:?}: {err}\n{}", c.logs());
        let (code, out, err) = run_cli(&c, get);
        assert_eq!((code, out), (Some(0), format!("{value}\n")), "{get:?}: {err}");
    }
}

/// A key never written is told apart from a stored value `(none)`: nothing on stdout, `(none)`
/// on stderr, exit 3; the stored `(none)` prints as any value.
#[test]
fn cli_get_tells_a_key_never_written_from_a_stored_value_none() {
    let c = Cluster::started(3);
    let (code, out, err) = run_cli(&c, &["get", "n"]);
    assert_eq!((code, out.as_str()), (Some(3), ""), "{err}\n{}", c.logs());
    assert!(err.contains("(none)") && err.contains("\"n\""), "{err}");
    assert_eq!(run_cli(&c, &["put", "n", "(none)"]).0, Some(0));
    let (code, out, err) = run_cli(&c, &["get", "n"]);
    assert_eq!((code, out.as_str()), (Some(0), "(none)\n"), "{err}");
}

/// Past the old `u8` limits (255 log entries, 255 seqs per client): 310 puts of 100-byte values
/// from one client, each acknowledged, then a read of the last one; the leader reports them
/// committed.
#[test]
fn three_node_raft_cluster_commits_310_writes_past_the_old_u8_limits() {
    let c = Cluster::started(3);
    let mut client = c.client(0);
    let value = |seq: u64| Value::from(format!("{seq:0>100}").as_str());
    for seq in 1..=310u64 {
        client.put(seq, "k", value(seq)).unwrap_or_else(|e| panic!("put {seq}: {e}\n{}", c.logs()));
    }
    assert_eq!(client.get(311, "k").expect("get"), Some(value(310)));
    // The leader's no-op(s), 310 puts and the get.
    let committed = wait_for(Duration::from_secs(2), || {
        let s = c.stats(c.leader()?)?;
        (s["status"]["commit"].as_u64() >= Some(312)).then_some(s)
    });
    assert!(committed.is_some(), "the leader does not report 312 committed entries\n{}", c.logs());
}

/// One operation of the history on the replicated map, with real timestamps.
#[derive(Clone, Debug)]
struct Call {
    thread: (u8, u32),
    op: KvOp,
    /// The (client, seq) of an acknowledged put, for the durability check.
    put: Option<(u8, u64)>,
    invoked: Instant,
    returned: Option<(Instant, KvRet)>,
}

type History = Arc<Mutex<Vec<Call>>>;

/// Runs one operation on `key` — a put of `value`, or a get if there is none — and records it.
/// Returns false if its outcome is unknown (no reply).
fn record(
    history: &History,
    client: &mut impl KvClient,
    generation: &mut u32,
    seq: u64,
    key: &str,
    value: Option<Value>,
) -> bool {
    let number = client.number();
    let invoked = Instant::now();
    let k = Key::from(key);
    let (op, result) = match &value {
        Some(v) => (KvOp::Put(k.clone(), v.clone()), client.put(seq, k, v.clone()).map(|()| KvRet::PutOk)),
        None => (KvOp::Get(k.clone()), client.get(seq, k).map(KvRet::GetOk)),
    };
    let returned = match result {
        Ok(ret) => Some((Instant::now(), ret)),
        Err(ClientError::NoReply { .. }) => None,
        Err(e) => panic!("client {number}: {e}"),
    };
    let ok = returned.is_some();
    let put = (value.is_some() && ok).then_some((number, seq));
    history.lock().expect("history").push(Call { thread: (number, *generation), op, put, invoked, returned });
    if !ok {
        // Its operation stays pending forever; later ones are another thread of the history.
        *generation += 1;
    }
    ok
}

/// A unique value per (client, seq), so that every read names the write it saw.
fn unique_value(client: u8, seq: u64) -> Value {
    Value::from(format!("c{client}.{seq}").as_str())
}

fn check_linearizable(history: &[Call]) {
    let mut events: Vec<(Instant, bool, usize)> = Vec::new();
    for (i, c) in history.iter().enumerate() {
        events.push((c.invoked, false, i));
        if let Some((t, _)) = c.returned {
            events.push((t, true, i));
        }
    }
    // On a tie, invocations first: that only makes operations more concurrent.
    events.sort_by_key(|(t, is_return, _)| (*t, *is_return));
    let mut tester = LinearizabilityTester::new(KvMap::default());
    for (_, is_return, i) in events {
        let c = &history[i];
        let r = if is_return {
            let (_, ret) = c.returned.clone().expect("returned");
            tester.on_return(c.thread, ret).map(|_| ())
        } else {
            tester.on_invoke(c.thread, c.op.clone()).map(|_| ())
        };
        r.unwrap_or_else(|e| panic!("malformed history: {e}"));
    }
    assert!(tester.serialized_history().is_some(), "the history is not linearizable: {history:#?}");
}

/// The keys of the load: several, so that the history is one of a map, not of a register.
const LOAD_KEYS: [&str; 3] = ["a", "b", "c"];

/// The key of operation `seq` of client `number` in the load: each client moves over the keys,
/// so each key sees both clients' puts and gets.
fn load_key(number: u8, seq: u64) -> &'static str {
    LOAD_KEYS[((u64::from(number) + seq / 2) % LOAD_KEYS.len() as u64) as usize]
}

/// Starts two clients that each run `ops` operations (put, get, put, …, `pace` apart, over
/// [`LOAD_KEYS`]) until `stop`, recording them in `history`.
fn start_load(
    c: &Cluster,
    history: &History,
    stop: &Arc<AtomicBool>,
    pace: Duration,
    ops: u64,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..2u8)
        .map(|number| {
            let mut client = c.client(number);
            let (history, stop) = (history.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut generation = 0;
                for seq in 1..=ops {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let value = (seq % 2 == 1).then(|| unique_value(number, seq));
                    record(&history, &mut client, &mut generation, seq, load_key(number, seq), value);
                    std::thread::sleep(pace);
                }
            })
        })
        .collect()
}

/// Kills the leader with SIGKILL `cycles` times under a load of two clients, restarting it each
/// time (and a follower every other cycle); then checks the history for linearizability and that every acknowledged put is in a
/// majority of the nodes' saved logs.
fn crash_restart(cycles: usize, pace: Duration, ops_per_client: u64) {
    let mut c = Cluster::started(3);
    let history: History = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let loaders = start_load(&c, &history, &stop, pace, ops_per_client);
    // A third client proves after every restart that the cluster still serves.
    let mut probe = c.client(2);
    let mut probe_generation = 0;
    let mut probe_seq = 0u64;
    let mut killed = Vec::new();
    for cycle in 0..cycles {
        let leader = wait_for(Duration::from_secs(10), || c.leader())
            .unwrap_or_else(|| panic!("no leader before cycle {cycle}\n{}", c.logs()));
        std::thread::sleep(Duration::from_millis(300)); // under load
        c.kill(leader);
        killed.push(leader);
        std::thread::sleep(Duration::from_millis(200));
        c.start(leader);
        probe_seq += 1;
        let key = LOAD_KEYS[cycle % LOAD_KEYS.len()];
        let served =
            record(&history, &mut probe, &mut probe_generation, probe_seq, key, Some(unique_value(2, probe_seq)));
        assert!(served, "cycle {cycle}: the cluster did not serve a put after restarting node {leader}\n{}", c.logs());
        if cycle % 2 == 1 {
            // Every other cycle, a follower too.
            let now = wait_for(Duration::from_secs(10), || c.leader()).unwrap_or(leader);
            let follower = (now + 1 + cycle / 2 % 2) % 3;
            c.kill(follower);
            killed.push(follower + 100);
            std::thread::sleep(Duration::from_millis(200));
            c.start(follower);
        }
    }
    stop.store(true, Ordering::SeqCst);
    for l in loaders {
        l.join().expect("a load client panicked");
    }
    probe_seq += 1;
    for key in LOAD_KEYS {
        probe_seq += 1;
        assert!(
            record(&history, &mut probe, &mut probe_generation, probe_seq, key, None),
            "final read of {key} failed"
        );
    }
    let history = history.lock().expect("history").clone();
    let acked: Vec<(u8, u64)> = history.iter().filter_map(|h| h.put).collect();
    assert!(acked.len() >= cycles, "too few acknowledged writes: {}", acked.len());
    check_linearizable(&history);

    // Stop every node, then read what each saved: no acknowledged write may be missing from a
    // majority.
    for i in 0..3 {
        c.kill(i);
    }
    let logs: Vec<RaftStorage> = (0..3)
        .map(|i| {
            RecordLog::<RaftStorage>::open(&c.node_dir(i), "state")
                .expect("storage loads")
                .saved()
                .cloned()
                .expect("every node saved something")
        })
        .collect();
    for (client, seq) in &acked {
        let holders = logs
            .iter()
            .filter(|s| {
                s.log.iter().any(|e| e.op.client == *client && e.op.seq == *seq && matches!(e.op.kind, OpKind::Put(..)))
            })
            .count();
        assert!(holders >= 2, "acknowledged put{client}.{seq} is in {holders} of 3 logs");
    }
    eprintln!(
        "{cycles} kill -9 cycles (killed {killed:?}; 100+i: follower i): {} operations, {} acknowledged writes, linearizable, none lost",
        history.len(),
        acked.len()
    );
}

#[test]
#[should_panic(expected = "not linearizable")]
fn the_history_check_rejects_a_read_of_a_value_never_written() {
    let t = Instant::now();
    let ms = |m| t + Duration::from_millis(m);
    check_linearizable(&[
        Call {
            thread: (0, 0),
            op: KvOp::Put(Key::from("k"), Value::from('a')),
            put: None,
            invoked: ms(0),
            returned: Some((ms(1), KvRet::PutOk)),
        },
        Call {
            thread: (1, 0),
            op: KvOp::Get(Key::from("k")),
            put: None,
            invoked: ms(2),
            returned: Some((ms(3), KvRet::GetOk(None))),
        },
    ]);
}

#[test]
fn cluster_behind_a_seeded_drop_duplicate_delay_shim_stays_linearizable() {
    let mut c = Cluster::new(3);
    c.node_flags = ["--fault-drop", "0.1", "--fault-duplicate", "0.2", "--fault-max-delay-ms", "20"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for i in 0..3 {
        c.node_flags.extend(["--fault-seed".to_owned(), i.to_string()]);
        c.start(i);
        c.node_flags.truncate(6);
    }
    let history: History = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let loaders = start_load(&c, &history, &stop, Duration::from_millis(10), 15);
    for l in loaders {
        l.join().expect("a load client panicked");
    }
    let history = history.lock().expect("history").clone();
    let answered = history.iter().filter(|h| h.returned.is_some()).count();
    assert!(answered >= 20, "only {answered} of {} operations answered\n{}", history.len(), c.logs());
    check_linearizable(&history);
    let faults: u64 = (0..3)
        .filter_map(|i| c.stats(i))
        .map(|s| s["fault_dropped"].as_u64().unwrap_or(0) + s["fault_duplicated"].as_u64().unwrap_or(0))
        .sum();
    assert!(faults > 0, "the shim injected no fault");
    eprintln!(
        "fault shim: {answered}/{} operations answered, {faults} datagrams dropped or duplicated, linearizable",
        history.len()
    );
}

#[test]
fn leader_killed_with_sigkill_3_times_and_a_follower_once_loses_no_acknowledged_write_and_stays_linearizable() {
    crash_restart(3, Duration::from_millis(30), 60);
}

#[test]
#[ignore = "long: 20 kill cycles, about 15 s; cargo test --release --test cluster -- --ignored"]
fn leader_killed_with_sigkill_20_times_and_followers_10_loses_no_acknowledged_write_and_stays_linearizable() {
    crash_restart(20, Duration::from_millis(150), 90);
}

/// Starts a node of a 1-server cluster whose state file is `bytes`; returns its output, the
/// file's path and the file's content after the node exited.
fn start_on_state(bytes: &[u8]) -> (Output, PathBuf, Vec<u8>) {
    let c = Cluster::new(1);
    std::fs::create_dir_all(c.node_dir(0)).expect("mkdir");
    let path = c.node_dir(0).join("state");
    std::fs::write(&path, bytes).expect("write the state file");
    let child = c.node_command(0).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start a node");
    let out = wait_exit(child, Duration::from_secs(10));
    let after = std::fs::read(&path).expect("the state file is still there");
    (out, path, after)
}

#[test]
fn corrupted_or_truncated_storage_stops_the_node_with_an_error_naming_the_file() {
    // A real record, as a node saves it.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = RecordLog::open(dir.path(), "state").expect("open");
    let saved = RaftStorage {
        term: 3,
        voted_for: None,
        log: vec![quorum::raft::Entry {
            term: 3,
            op: Op { client: 0, session: 1, seq: 1, kind: OpKind::Put(Key::from("k"), Value::from('q')) },
        }]
        .into(),
    };
    store.save(&saved).expect("save");
    let good = std::fs::read(store.path()).expect("read");

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    let mut garbage = good.clone();
    garbage[0] = b'X';
    for (name, bytes, word) in [
        ("bit flip", flipped, "checksum"),
        ("truncated", good[..good.len() - 3].to_vec(), "truncated"),
        ("empty", Vec::new(), "truncated"),
        ("not ours", garbage, "magic"),
    ] {
        let (out, path, after) = start_on_state(&bytes);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&path.display().to_string()), "{name}: the error does not name the file: {err}");
        assert!(err.contains(word), "{name}: the error does not say '{word}': {err}");
        // The file is left as it was for the operator to inspect.
        assert_eq!(after, bytes, "{name}");
    }

    // The good record is recovered: a single server restarts in term 3 with its entry, and
    // campaigns in term 4.
    let mut c = Cluster::new(1);
    std::fs::create_dir_all(c.node_dir(0)).expect("mkdir");
    std::fs::write(c.node_dir(0).join("state"), &good).expect("write");
    c.start(0);
    let s = wait_for(Duration::from_secs(10), || c.stats(0).filter(|s| s["status"]["role"] == "leader"))
        .unwrap_or_else(|| panic!("the recovered node did not lead\n{}", c.logs()));
    assert_eq!(s["status"]["term"], 4, "{s}");
    assert_eq!(s["status"]["log_len"], 2, "{s}");
    assert_eq!(stdout(&c.cli(&["get", "k"])), "q");
}

/// A datagram to node 0.
fn sealed(key: &ClusterKey, sender: u64, epoch: u64, seq: u64, msg: &RaftMsg) -> Vec<u8> {
    sealed_to(key, sender, 0, epoch, seq, msg)
}

fn sealed_to(key: &ClusterKey, sender: u64, receiver: u64, epoch: u64, seq: u64, msg: &RaftMsg) -> Vec<u8> {
    let h = Header { cluster: key.cluster_id(), sender, receiver, epoch, seq };
    wire::seal(key, &h, msg).expect("seal")
}

/// Waits until node `i` has seen at least `received` datagrams and that count has not moved
/// for 400 ms (the stats file is rewritten every 100 ms).
fn settled_stats(c: &Cluster, i: usize, received: u64) -> Json {
    let mut last: Option<(Json, Instant)> = None;
    wait_for(Duration::from_secs(20), || {
        let s = c.stats(i)?;
        match &last {
            Some((prev, since)) if prev["received"] == s["received"] => {
                if since.elapsed() >= Duration::from_millis(400) && s["received"].as_u64() >= Some(received) {
                    return Some(s);
                }
            }
            _ => last = Some((s, Instant::now())),
        }
        None
    })
    .unwrap_or_else(|| panic!("node {i} did not settle: {last:?}"))
}

/// Server `fake`'s next datagram from node 0 within `limit` that `pick` accepts.
fn next_from_node_0<T>(
    key: &ClusterKey,
    fake: &UdpSocket,
    limit: Duration,
    pick: impl Fn(&RaftMsg) -> Option<T>,
) -> Option<T> {
    let mut buf = vec![0u8; wire::MAX_DATAGRAM + 1];
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let Ok((len, _)) = fake.recv_from(&mut buf) else { continue };
        if let Ok((h, msg)) = wire::open::<RaftMsg>(key, &buf[..len]) {
            if let (0, Some(t)) = (h.sender, pick(&msg)) {
                return Some(t);
            }
        }
    }
    None
}

/// The model assumes a message reaches only its addressee. Here an on-path attacker without the
/// key copies a voter's "yes" for one candidate onto another candidate, with the voter's source
/// address: the copy must not count. Node 0 runs alone; the test binds servers 1 and 2's
/// addresses and plays them (it seals with the key only to make the datagrams those servers
/// would send; the attack itself copies one unchanged). In the old wire format, whose header did
/// not name the receiver, the copy was byte for byte a vote for node 0 and elected it.
#[test]
fn a_vote_copied_on_the_wire_to_another_candidate_does_not_elect_it_and_one_addressed_to_it_does() {
    let mut c = Cluster::new(3);
    let fakes: Vec<UdpSocket> =
        [1, 2].iter().map(|&i| UdpSocket::bind(c.peers[i]).expect("bind a server's address")).collect();
    for f in &fakes {
        f.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
    }
    c.start(0);
    let key = c.key();
    let request_vote = |m: &RaftMsg| match m {
        RaftMsg::RequestVote(req) => Some(req.term),
        _ => None,
    };
    let append = |m: &RaftMsg| matches!(m, RaftMsg::AppendEntries(_)).then_some(());
    let pre_vote = |m: &RaftMsg| match m {
        RaftMsg::PreVote(req) => Some(req.term),
        _ => None,
    };
    let seq = std::cell::Cell::new(0);
    let vote = |to: u64, candidate: usize, term: u64| {
        seq.set(seq.get() + 1);
        let v = RaftMsg::Vote { term, granted: true, candidate: Id::from(candidate) };
        fakes[1].send_to(&sealed_to(&key, 2, to, 1, seq.get(), &v), c.peers[0]).expect("send");
    };

    // A RequestVote from node 0's current campaign: older messages queued on the socket are
    // skipped. Node 0 runs pre-vote first: server 1 says yes to it, so that it campaigns.
    let fresh_campaign = || {
        while fakes[0].recv_from(&mut [0u8; 16]).is_ok() {}
        let proposed =
            next_from_node_0(&key, &fakes[0], Duration::from_secs(10), pre_vote).expect("node 0 asks for pre-votes");
        seq.set(seq.get() + 1);
        let yes = RaftMsg::PreVoteReply { term: proposed, granted: true, candidate: Id::from(0) };
        fakes[0].send_to(&sealed_to(&key, 1, 0, 1, seq.get(), &yes), c.peers[0]).expect("send");
        next_from_node_0(&key, &fakes[0], Duration::from_secs(10), request_vote).expect("node 0 campaigns")
    };

    // 1. Node 0 campaigns; server 2's "yes" to server 1 in that term is copied to node 0 at once
    //    (well within the 150 ms before node 0's next election timeout), and
    // 2. a key holder's vote addressed to node 0 but naming server 1 (the protocol's own check).
    //    No other vote is sent: any AppendEntries from node 0 would mean one of these elected it.
    let term = fresh_campaign();
    vote(1, 1, term);
    vote(0, 1, term);
    assert!(
        next_from_node_0(&key, &fakes[0], Duration::from_millis(600), append).is_none(),
        "a vote for another candidate made node 0 leader of term {term}"
    );
    let s = settled_stats(&c, 0, 1);
    assert!(s["rejected_misaddressed"].as_u64() >= Some(1), "{s}");

    // 3. Control: the same vote addressed to node 0 and naming it elects it (a leader announces
    //    itself with AppendEntries at once), so the silence above was no accident of timing. A
    //    loaded machine may answer after node 0 moved to its next term: a few campaigns are tried.
    let elected = (0..5).any(|_| {
        let term = fresh_campaign();
        vote(0, 0, term);
        next_from_node_0(&key, &fakes[0], Duration::from_secs(1), append).is_some()
    });
    assert!(elected, "a vote addressed to node 0 did not elect it in 5 campaigns");
}

/// Sends `payload` to `to` as a UDP datagram whose source is `from`, through a raw socket (root
/// only; loopback only). `Err` when raw sockets are not allowed here.
fn send_spoofed(from: SocketAddr, to: SocketAddr, payload: &[u8]) -> std::io::Result<()> {
    use std::net::IpAddr;
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (from.ip(), to.ip()) else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    assert!(src.is_loopback() && dst.is_loopback(), "spoof on loopback only");
    let udp_len = u16::try_from(8 + payload.len()).expect("fits");
    let mut packet = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]; // IPv4; length, id, checksum: the kernel's
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(&from.port().to_be_bytes());
    packet.extend_from_slice(&to.port().to_be_bytes());
    packet.extend_from_slice(&udp_len.to_be_bytes());
    packet.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
    packet.extend_from_slice(payload);
    // SAFETY: plain socket calls with a live buffer and a sockaddr_in of the right size; the
    // descriptor is closed before returning.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(dst.octets()) },
            sin_zero: [0; 8],
        };
        let sent = libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if sent < 0 {
            return Err(err);
        }
    }
    Ok(())
}

/// A node's own datagram reflected back to it, from its own address (spoofed through a raw
/// socket on loopback), is dropped: its header names the peer it was sent to. In the old wire
/// format it passed the tag, the address check (it came from the node's own address) and the
/// replay window (a node keeps none for itself), and the node took its own message as its peer's.
#[test]
fn a_nodes_own_datagram_reflected_back_from_its_own_address_is_dropped() {
    let mut c = Cluster::new(3);
    let fake = UdpSocket::bind(c.peers[1]).expect("bind server 1's address");
    fake.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
    c.start(0);
    let key = c.key();
    let mut buf = vec![0u8; wire::MAX_DATAGRAM + 1];
    let own = wait_for(Duration::from_secs(10), || {
        let (len, _) = fake.recv_from(&mut buf).ok()?;
        wire::open::<RaftMsg>(&key, &buf[..len]).ok().map(|_| buf[..len].to_vec())
    })
    .expect("node 0 sends to server 1");
    let before = settled_stats(&c, 0, 0);
    if let Err(e) = send_spoofed(c.peers[0], c.peers[0], &own) {
        // A privilege, not a program .ci/run could install: the receive path's own check is also
        // driven without it (the misaddressed datagrams of the 100k test).
        eprintln!("skipped: cannot send a spoofed datagram here (raw sockets need CAP_NET_RAW): {e}");
        return;
    }
    let s = settled_stats(&c, 0, before["received"].as_u64().unwrap_or(0) + 1);
    let delta = |k: &str| s[k].as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0);
    assert_eq!((delta("accepted"), delta("rejected_misaddressed")), (0, 1), "{s}");
}

#[test]
fn a_live_node_accepts_none_of_100k_random_mutated_spoofed_or_replayed_datagrams_and_still_serves() {
    let mut c = Cluster::new(3);
    c.start(0); // alone: the only datagrams it receives are ours
    wait_for(Duration::from_secs(10), || c.stats(0)).expect("node 0 writes stats");
    let key = c.key();
    let target = c.peers[0];
    let attacker = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // What a client would send (client 0 is id 3); a Vote is harmless for a follower.
    let harmless = RaftMsg::Vote { term: 0, granted: false, candidate: Id::from(0) };
    let valid = sealed(&key, 3, 1, 1, &harmless);

    let mut sent = 0u64;
    let mut send = |bytes: &[u8]| {
        let _ = attacker.send_to(bytes, target);
        sent += 1;
        if sent.is_multiple_of(100) {
            // Pace the flood so that the kernel's socket buffer drops little of it.
            std::thread::sleep(Duration::from_millis(1));
        }
    };

    // 1. 100,000 random and mutated datagrams.
    let mutated = (
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        0..valid.len() + 8,
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map({
            let valid = valid.clone();
            move |(flips, cut, tail)| {
                let mut d = valid.clone();
                for (i, x) in flips {
                    let at = i.index(d.len());
                    d[at] ^= x.max(1);
                }
                d.truncate(cut);
                d.extend(tail);
                d
            }
        });
    let random = proptest::collection::vec(any::<u8>(), 0..3000);
    let strategy = prop_oneof![random, mutated];
    // Proptest's generators drive the values; each one is sent, not asserted on its own (the
    // node's counters are the assertion), so the runner's shrinking has nothing to do.
    let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::default() });
    let mut thrown = 0u64;
    while thrown < 100_000 {
        let d = strategy.new_tree(&mut runner).expect("a datagram").current();
        if d != valid {
            send(&d);
            thrown += 1;
        }
    }
    // The kernel may drop a few when the node is descheduled: most must have been processed.
    let s = settled_stats(&c, 0, thrown * 9 / 10);
    assert_eq!(s["accepted"], 0, "a random or mutated datagram was accepted: {s}");

    // 2. Targeted attacks, 500 each, each with an exact counter.
    let wrong_key = ClusterKey::from_bytes([0x55; wire::KEY_LEN]);
    let other_cluster = {
        let h = Header { cluster: key.cluster_id() ^ 1, sender: 3, receiver: 0, epoch: 1, seq: 1 };
        wire::seal(&key, &h, &harmless).expect("seal")
    };
    for n in 1..=500u64 {
        send(&sealed(&key, 1, 1, n, &harmless)); // spoofed: server 1, from our address
        send(&sealed(&wrong_key, 3, 1, n, &harmless)); // bad tag
        send(&sealed(&key, 100, 1, n, &harmless)); // unknown sender
        send(&other_cluster);
        send(&vec![0u8; wire::MAX_DATAGRAM + 1]); // oversize
        send(&sealed_to(&key, 3, 1, 1, n, &harmless)); // client 0's datagram to server 1, redirected
        send(&sealed_to(&key, 0, 0, 1, n, &harmless)); // node 0's own, reflected back
    }
    send(&valid); // accepted once …
    for _ in 0..500 {
        send(&valid); // … and replayed 500 times
    }
    let before = s;
    let s = settled_stats(&c, 0, before["received"].as_u64().unwrap_or(0) + 4001);
    let delta = |k: &str| s[k].as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0);
    assert_eq!(delta("accepted"), 1, "{s}");
    assert_eq!(delta("rejected_addr_mismatch"), 500, "{s}");
    assert_eq!(delta("rejected_bad_tag"), 500, "{s}");
    assert_eq!(delta("rejected_unknown_sender"), 500, "{s}");
    assert_eq!(delta("rejected_wrong_cluster"), 500, "{s}");
    assert_eq!(delta("rejected_oversize"), 500, "{s}");
    assert_eq!(delta("rejected_replayed"), 500, "{s}");
    assert_eq!(delta("rejected_misaddressed"), 500, "{s}");
    assert_eq!(delta("rejected_from_self"), 500, "{s}");
    eprintln!(
        "threw {thrown} random/mutated + 4001 targeted datagrams; node 0 received {}, accepted {} (the one valid), rejected {}",
        s["received"],
        s["accepted"],
        s["received"].as_u64().unwrap_or(0) - s["accepted"].as_u64().unwrap_or(0)
    );

    // 3. An authentic client (id 3 = client 0) whose request names client 1: refused.
    let impostor =
        RaftMsg::Request(Op { client: 1, session: 1, seq: 1, kind: OpKind::Put(Key::from("k"), Value::from('z')) });
    let _ = attacker.send_to(&sealed(&key, 3, 1, 2, &impostor), target);
    let before = s;
    let s = settled_stats(&c, 0, before["received"].as_u64().unwrap_or(0) + 1);
    assert_eq!(s["accepted"].as_u64(), before["accepted"].as_u64().map(|a| a + 1), "{s}");
    assert_eq!(s["refused"].as_u64(), before["refused"].as_u64().map(|r| r + 1), "{s}");

    // 4. An authentic client's read of a key longer than the nodes' limit: refused.
    let long_key =
        RaftMsg::Request(Op { client: 0, session: 1, seq: 1, kind: OpKind::Get(Key::from("k".repeat(1025).as_str())) });
    let _ = attacker.send_to(&sealed(&key, 3, 1, 3, &long_key), target);
    let before = s;
    let s = settled_stats(&c, 0, before["received"].as_u64().unwrap_or(0) + 1);
    assert_eq!(s["accepted"].as_u64(), before["accepted"].as_u64().map(|a| a + 1), "{s}");
    assert_eq!(s["refused"].as_u64(), before["refused"].as_u64().map(|r| r + 1), "{s}");

    // Still alive, and it serves once its peers are up.
    assert!(c.nodes[0].as_mut().is_some_and(|p| matches!(p.0.try_wait(), Ok(None))), "node 0 died\n{}", c.logs());
    c.start(1);
    c.start(2);
    let put = c.cli(&["put", "k", "z"]);
    assert_eq!(stdout(&put), "ok", "{}\n{}", String::from_utf8_lossy(&put.stderr), c.logs());
    assert_eq!(stdout(&c.cli(&["get", "k"])), "z");
}

#[test]
fn quorum_cluster_starts_serves_and_stops_cleanly_on_sigint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = free_ports(3)[0];
    let log = dir.path().join("cluster.log");
    let mut child = Command::new(EXE)
        .args(["cluster", "raft", "-n", "3", "--base-port", &base.to_string()])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .map(Proc)
        .expect("cluster starts");
    let peers = (0..3).map(|i| format!("127.0.0.1:{}", base + i)).collect::<Vec<_>>().join(",");
    let key = dir.path().join("cluster.key");
    let put = wait_for(Duration::from_secs(15), || {
        if !key.exists() {
            return None;
        }
        let o = Command::new(EXE)
            .args(["client", "--peers", &peers, "--timeout-ms", "300", "--attempts", "5", "--key-file"])
            .arg(&key)
            .args(["put", "k", "c"])
            .output()
            .ok()?;
        o.status.success().then_some(o)
    })
    .unwrap_or_else(|| panic!("the cluster serves no put\n{}", std::fs::read_to_string(&log).unwrap_or_default()));
    assert_eq!(stdout(&put), "ok");
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.0.id() as libc::pid_t, libc::SIGINT);
    }
    let status =
        wait_for(Duration::from_secs(10), || child.0.try_wait().ok().flatten()).expect("the cluster stops within 10 s");
    assert!(status.success(), "{status}");
    // Every node's stats file says it stopped (its pid is gone).
    for i in 0..3 {
        let stats: Json = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("node-{i}/stats.json"))).expect("stats"),
        )
        .expect("json");
        let pid = stats["pid"].as_u64().expect("pid") as i32;
        // SAFETY: signal 0 only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!alive, "node {i} (pid {pid}) still runs after the cluster stopped");
    }
}

#[test]
fn bad_flags_addresses_and_key_files_exit_2_with_a_clear_error() {
    let c = Cluster::new(3);
    let key = c.key_file();
    let key = key.to_str().expect("utf-8 path");
    let bad_key = c.dir.path().join("bad.key");
    std::fs::write(&bad_key, "not a key\n").expect("write");
    let bad_key = bad_key.to_str().expect("utf-8 path");
    let peers = c.peers_arg();
    let too_big = "v".repeat(16 * 1024 + 1);
    let too_long = "k".repeat(1024 + 1);
    let data = c.dir.path().join("d");
    let data = data.to_str().expect("utf-8 path");
    for (args, says) in [
        (
            vec!["node", "raft", "--id", "0", "--peers", "127.0.0.1", "--data-dir", data, "--key-file", key],
            "bad address",
        ),
        (vec!["node", "raft", "--id", "5", "--peers", &peers, "--data-dir", data, "--key-file", key], "--id 5"),
        (
            vec!["node", "raft", "--id", "0", "--peers", &peers, "--data-dir", data, "--key-file", "/nonexistent/k"],
            "/nonexistent/k",
        ),
        (vec!["node", "raft", "--id", "0", "--peers", &peers, "--data-dir", data, "--key-file", bad_key], "hex digits"),
        (vec!["client", "--peers", "x:y", "--key-file", key, "get", "k"], "bad address"),
        (vec!["client", "--peers", &peers, "--key-file", key, "put", "k", &too_big], "at most 16384"),
        (vec!["client", "--peers", &peers, "--key-file", key, "get", &too_long], "keys of at most 1024"),
        (vec!["client", "--peers", &peers, "--key-file", key, "put", &too_long, "v"], "keys of at most 1024"),
        (vec!["keygen", key], "already exists"),
    ] {
        let out = Command::new(EXE).args(&args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: expected '{says}' in: {err}");
    }
}

/// The key file is not world-readable.
#[test]
fn keygen_writes_a_key_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("k");
    let out = Command::new(EXE).arg("keygen").arg(&path).output().expect("runs");
    assert!(out.status.success());
    let mode = std::fs::metadata(&path).expect("exists").permissions().mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    assert!(ClusterKey::read(Path::new(&path)).is_ok());
}

#[test]
fn paxos_cluster_chooses_one_of_two_concurrent_proposals_and_keeps_it_across_kill_9() {
    let (mut c, layout) = Cluster::started_paxos();
    let a = c.cli_spawn(&["propose", "a"]);
    let b = c.cli_spawn(&["--client", "1", "propose", "b"]);
    let (a, b) = (wait_exit(a, Duration::from_secs(15)), wait_exit(b, Duration::from_secs(15)));
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}\n{}", c.logs());
    let chosen = stdout(&a);
    assert_eq!(stdout(&b), chosen, "two clients were told different chosen values");
    assert!(chosen == "a" || chosen == "b", "{chosen}");
    // Kill -9 the learner and an acceptor; once restarted, a new proposal learns the same value.
    // (The proposer's kill -9 is the next test.)
    let killed = [layout.acceptor_ids()[0], layout.learner_ids()[0]].map(usize::from);
    for i in killed {
        c.kill(i);
    }
    for i in killed {
        c.start(i);
    }
    let later = c.cli(&["--client", "2", "propose", "c"]);
    assert_eq!(stdout(&later), chosen, "{}\n{}", String::from_utf8_lossy(&later.stderr), c.logs());
}

/// The proposer keeps only its round across a crash. Killed with SIGKILL after the decision and
/// restarted, it runs a new ballot for the next client's value; phase 1 makes it adopt the chosen
/// value and the learner, which has learned, answers that ballot's votes with Chosen, so the
/// client is told the decided value (models/paxos.rs checks the same at its bound).
#[test]
fn paxos_proposer_killed_with_sigkill_after_the_decision_tells_a_new_client_the_decided_value() {
    let (mut c, layout) = Cluster::started_paxos();
    let first = c.cli(&["propose", "a"]);
    assert!(first.status.success(), "{}\n{}", String::from_utf8_lossy(&first.stderr), c.logs());
    assert_eq!(stdout(&first), "a");
    let proposer = usize::from(layout.proposer_ids()[0]);
    c.kill(proposer);
    c.start(proposer);
    let later = c.cli(&["--client", "1", "propose", "b"]);
    assert!(later.status.success(), "{}\n{}", String::from_utf8_lossy(&later.stderr), c.logs());
    assert_eq!(stdout(&later), "a", "the restarted proposer reported another value\n{}", c.logs());
    // And once more, with the proposer now knowing the decision again.
    assert_eq!(stdout(&c.cli(&["--client", "2", "propose", "c"])), "a");
}

/// A learner killed with SIGKILL misses the decision (every Accepted to it is lost); restarted,
/// it asks the acceptors what they accepted (`learner::catch_up`), so the clients that read from
/// it are answered with the decided value within a few seconds. 3 acceptors (0–2), a proposer
/// (3), learners 4 and 5; clients 1 and 3 read from learner 5 (`number % learners`).
#[test]
fn paxos_learner_killed_with_sigkill_during_the_decision_learns_it_after_restart_and_answers_clients() {
    let (mut c, layout) = Cluster::started_paxos_with(6, 2);
    let late = layout.learner_ids()[1];
    let readers: Vec<String> = (0..4).filter(|&n| layout.learner_of(n) == late).map(|n| n.to_string()).collect();
    assert_eq!((usize::from(late), &readers[..]), (5, &["1".to_owned(), "3".to_owned()][..]));
    let late = usize::from(late);
    c.kill(late);
    let first = c.cli(&["--learners", "2", "propose", "a"]);
    assert!(first.status.success(), "{}\n{}", String::from_utf8_lossy(&first.stderr), c.logs());
    assert_eq!(stdout(&first), "a");
    c.start(late);
    for client in readers.iter().map(String::as_str) {
        let asked = Instant::now();
        let out = c.cli(&["--learners", "2", "--client", client, "propose", "b"]);
        assert!(out.status.success(), "client {client}: {}\n{}", String::from_utf8_lossy(&out.stderr), c.logs());
        assert_eq!(stdout(&out), "a", "client {client} was told another value\n{}", c.logs());
        assert!(asked.elapsed() < Duration::from_secs(4), "client {client} waited {:?}", asked.elapsed());
    }
}

/// `quorum client` against a PBFT cluster of 4 replicas (f = 1): a result is printed once f+1
/// replicas report it. With a backup killed by SIGKILL the other three still order and execute
/// (a quorum is 2f+1 = 3), and the restarted backup, back with an empty memory, changes nothing
/// the others agree on.
#[test]
fn four_replica_pbft_cluster_serves_puts_and_gets_with_a_backup_killed_with_sigkill() {
    let mut c = Cluster::started_pbft(4);
    let put = c.cli(&["pbft-put", "x", "1"]);
    assert!(put.status.success(), "pbft-put: {}\n{}", String::from_utf8_lossy(&put.stderr), c.logs());
    assert_eq!(stdout(&put), "ok");
    assert_eq!(stdout(&c.cli(&["--client", "1", "pbft-get", "x"])), "1");
    let missing = c.cli(&["pbft-get", "y"]);
    assert_eq!((missing.status.code(), stdout(&missing).as_str()), (Some(3), ""), "{}", c.logs());
    // Each run is a new session: client 1's second `pbft-get x` is its first's request number and
    // operation again, yet after another client wrote x it reads the new value, not the reply
    // cached for the first run.
    assert_eq!(stdout(&c.cli(&["pbft-put", "x", "9"])), "ok");
    assert_eq!(stdout(&c.cli(&["--client", "1", "pbft-get", "x"])), "9", "{}", c.logs());
    c.kill(2);
    assert_eq!(stdout(&c.cli(&["pbft-put", "x", "2"])), "ok", "{}", c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "x"])), "2", "{}", c.logs());
    c.start(2);
    assert_eq!(stdout(&c.cli(&["pbft-put", "y", "3"])), "ok", "{}", c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "x"])), "2", "{}", c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "y"])), "3", "{}", c.logs());
}

/// The primary of view 0 killed with SIGKILL: the backups' timers expire on the pending request,
/// they change to view 1 (§4.4), its primary (replica 1) re-issues what was prepared and orders
/// the new request, and the client's retries are answered. No executed write is lost: the new
/// primary's new-view carries it, and a read after the change sees the latest write.
#[test]
fn a_pbft_primary_killed_with_sigkill_is_replaced_by_a_view_change_and_no_executed_write_is_lost() {
    let mut c = Cluster::started_pbft(4);
    assert_eq!(stdout(&c.cli(&["pbft-put", "x", "1"])), "ok", "{}", c.logs());
    c.kill(0);
    let put = c.cli(&["pbft-put", "y", "2"]);
    assert!(
        put.status.success(),
        "pbft-put after the primary's death: {}\n{}",
        String::from_utf8_lossy(&put.stderr),
        c.logs()
    );
    assert_eq!(stdout(&c.cli(&["pbft-get", "x"])), "1", "{}", c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "y"])), "2", "{}", c.logs());
    let moved = wait_for(Duration::from_secs(3), || {
        let views = c.views();
        views[1..].iter().all(|v| v.is_some_and(|v| v >= 1)).then_some(views)
    });
    assert!(moved.is_some(), "the backups did not all move past view 0: {:?}\n{}", c.views(), c.logs());
}

/// Checkpoints (§4.3) move the window of 32 sequence numbers, so a cluster orders more: 48 puts,
/// a checkpoint stable every 16. Replica 3 is killed with SIGKILL after the 8th and restarted,
/// empty, after the 20th: it never executes what it missed, yet once checkpoint #48 is stable it
/// fetches the state (§5.3) from the others, takes it because its digest is the one 2f+1 signed,
/// and ends with the state the others have (the digest of the map and reply cache in their
/// status). A request already executed is answered again from the reply cache.
#[test]
fn a_pbft_cluster_outlives_its_window_and_a_restarted_replica_catches_up_by_state_transfer() {
    let mut c = Cluster::started_pbft(4);
    let mut client = c.pbft_client(0);
    client.attempts = 20;
    let put = |client: &mut quorum::runtime::client::PbftClient, seq: u64| {
        let r = client.put(seq, Key::from(format!("k{}", seq % 5).as_str()), Value::from(seq.to_string().as_str()));
        assert!(r.is_ok(), "request {seq}: {r:?}");
    };
    for seq in 1..=8u64 {
        put(&mut client, seq);
    }
    c.kill(3);
    for seq in 9..=20u64 {
        put(&mut client, seq);
    }
    c.start(3);
    std::thread::sleep(Duration::from_millis(300));
    for seq in 21..=48u64 {
        put(&mut client, seq);
    }
    put(&mut client, 48); // again: answered from the reply cache, not executed twice
    let state = |s: &serde_json::Value| -> Option<(u64, String)> {
        let last = s["status"]["last"].as_str()?;
        let from = last.find("state ")?;
        Some((s["status"]["commit"].as_u64()?, last[from..].to_owned()))
    };
    let caught_up = wait_for(Duration::from_secs(10), || {
        let s: Vec<(u64, String)> = (0..4).map(|i| c.stats(i).and_then(|s| state(&s))).collect::<Option<_>>()?;
        (s[0].0 == 48 && s.iter().all(|x| *x == s[0])).then_some(s)
    });
    let status: Vec<_> = (0..4).map(|i| c.stats(i).map(|s| s["status"].clone())).collect();
    assert!(caught_up.is_some(), "replica 3 did not take the state at #48: {status:#?}\n{}", c.logs());
    let three = c.stats(3).expect("stats");
    assert!(three["status"]["last"].as_str().is_some_and(|l| l.contains("stable #48")), "{three}");
    let mut reader = c.pbft_client(1);
    assert_eq!(reader.get(1, Key::from("k3")).expect("a read after 48 puts"), Some(Value::from("48")));
}

/// `--byzantine-mode forge-view-change` on replica 1, the primary of view 1. x is written; then
/// replica 0 is cut off and y is asked for, so the others change to view 1. Replica 1's view
/// change claims the null request prepared at x's number, with prepares it signs in the
/// others' names, and as view 1's primary its new-view relays the others' view changes with
/// their certificates removed, again signed in their names: on the wire both look valid to the
/// model's replica, and the new-view would re-assign x's number. The correct replicas refuse
/// both (the signatures do not verify: logged), the view moves on once replica 0 is back, y is
/// written, x is still 1, and the correct replicas execute the same sequence.
#[test]
fn a_pbft_replica_forging_view_changes_is_refused_by_the_signatures_and_no_executed_write_is_lost() {
    let files = tempfile::tempdir().expect("temp dir");
    let partition = files.path().join("partition");
    let partition_arg = partition.display().to_string();
    let flags = ["--byzantine-mode", "forge-view-change", "--byzantine-node", "1", "--fault-partition-file"];
    let mut flags = flags.to_vec();
    flags.push(&partition_arg);
    let c = Cluster::started_pbft_with(4, &flags);
    assert_eq!(stdout(&c.cli(&["pbft-put", "x", "1"])), "ok", "{}", c.logs());
    std::fs::write(&partition, "0|1,2,3").expect("cut replica 0 off");
    std::thread::sleep(Duration::from_millis(300)); // every node re-reads it within 100 ms
    let mut client = c.pbft_client(1);
    client.attempts = 100;
    let put = std::thread::spawn(move || client.put(1, Key::from("y"), Value::from("2")));
    let refused = wait_for(Duration::from_secs(20), || {
        let logs = c.logs();
        (logs.contains("a view change in the new-view is not signed by its sender")
            && logs.contains("a prepared certificate or the stable checkpoint in the view change does not verify"))
        .then_some(())
    });
    assert!(refused.is_some(), "the forgeries were not refused\n{}", c.logs());
    std::fs::write(&partition, "").expect("heal");
    let put = put.join().expect("client thread");
    assert!(put.is_ok(), "y after the forged view change: {put:?}\n{}", c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "x"])), "1", "{}", c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "y"])), "2", "{}", c.logs());
    assert_same_execution(&c, &[0, 2, 3], 4);
}

/// Within 5 s, PBFT replicas `correct` report the same executed sequence (their count, at least
/// `at_least`, and the digest of everything executed, in their status).
fn assert_same_execution(c: &Cluster, correct: &[usize], at_least: u64) {
    let same = wait_for(Duration::from_secs(5), || {
        let s: Vec<(u64, String)> = correct
            .iter()
            .map(|&i| {
                c.stats(i).map(|s| (s["status"]["commit"].as_u64().unwrap_or(0), s["status"]["last"].to_string()))
            })
            .collect::<Option<_>>()?;
        (s[0].0 >= at_least && s.iter().all(|x| *x == s[0])).then_some(s)
    });
    let status: Vec<_> = (0..c.peers.len()).map(|i| c.stats(i).map(|s| s["status"].clone())).collect();
    assert!(same.is_some(), "the correct replicas differ: {status:#?}\n{}", c.logs());
}

/// `--byzantine-mode silent` on view 0's primary: it receives everything and sends nothing. The
/// backups' timers expire on the first request, they change to view 1, and its primary serves
/// every request after.
#[test]
fn a_silent_byzantine_pbft_primary_is_replaced_by_a_view_change_and_service_resumes() {
    let c = Cluster::started_pbft_with(4, &["--byzantine-mode", "silent"]);
    let put = c.cli(&["pbft-put", "x", "1"]);
    assert!(put.status.success(), "{}\n{}", String::from_utf8_lossy(&put.stderr), c.logs());
    assert_eq!(stdout(&c.cli(&["pbft-get", "x"])), "1", "{}", c.logs());
    let moved = wait_for(Duration::from_secs(3), || {
        let views = c.views();
        views[1..].iter().all(|v| v.is_some_and(|v| v >= 1)).then_some(views)
    });
    assert!(moved.is_some(), "the correct replicas did not leave view 0: {:?}\n{}", c.views(), c.logs());
}

/// `--byzantine-mode equivocate` on view 0's primary: it tells replica 1 the real request and
/// replicas 2 and 3 the null one for the same number, equivocates its prepares and commits, and
/// lies to clients about reads. Two clients run puts and gets on three keys meanwhile. Their
/// history is linearizable, the correct replicas 1–3 end having executed the same sequence (the
/// same count and digest of everything executed), and the equivocation did bite: the correct
/// replicas had to change view.
#[test]
fn with_an_equivocating_pbft_primary_the_history_is_linearizable_and_the_correct_replicas_execute_the_same_sequence() {
    let c = Cluster::started_pbft_with(4, &["--byzantine-mode", "equivocate"]);
    let history: History = Arc::default();
    let loaders: Vec<_> = (0..2u8)
        .map(|number| {
            let mut client = c.pbft_client(number);
            let history = history.clone();
            std::thread::spawn(move || {
                let mut generation = 0;
                for seq in 1..=10 {
                    let value = (seq % 2 == 1).then(|| unique_value(number, seq));
                    record(&history, &mut client, &mut generation, seq, load_key(number, seq), value);
                }
            })
        })
        .collect();
    for l in loaders {
        l.join().expect("client thread");
    }
    let history = history.lock().expect("history");
    assert!(history.iter().all(|call| call.returned.is_some()), "an operation was not answered\n{}", c.logs());
    check_linearizable(&history);
    assert_same_execution(&c, &[1, 2, 3], 20);
    // (The stats above are settled, so their views are current.)
    assert!(c.views()[1..].iter().all(|v| v.is_some_and(|v| v >= 1)), "{:?}\n{}", c.views(), c.logs());
}

#[test]
fn partitioned_leader_cannot_commit_while_the_majority_does_and_all_converge_after_healing() {
    let mut c = Cluster::new(3);
    let partition = c.dir.path().join("partition");
    c.node_flags = vec!["--fault-partition-file".to_owned(), partition.display().to_string()];
    for i in 0..3 {
        c.start(i);
    }
    let history: History = Arc::default();
    let mut client = c.client(0);
    let mut generation = 0;
    assert!(record(&history, &mut client, &mut generation, 1, "a", Some(unique_value(0, 1))), "{}", c.logs());
    let old = wait_for(Duration::from_secs(10), || c.leader()).expect("a leader");
    let others: Vec<String> = (0..3).filter(|i| *i != old).map(|i| i.to_string()).collect();
    std::fs::write(&partition, format!("{old}|{}", others.join(","))).expect("write the partition");
    std::thread::sleep(Duration::from_millis(300)); // every node re-reads it within 100 ms
    let cut_commit = c.stats(old).expect("stats")["status"]["commit"].clone();

    // The majority side elects a leader and commits; the old leader, alone, cannot.
    for seq in 2..=5 {
        let value = (seq % 2 == 1).then(|| unique_value(0, seq));
        let key = LOAD_KEYS[(seq % 2) as usize];
        assert!(
            record(&history, &mut client, &mut generation, seq, key, value),
            "the majority did not serve\n{}",
            c.logs()
        );
    }
    // Stats files are rewritten every 100 ms, and four puts now take far less than that.
    let new = wait_for(Duration::from_secs(2), || c.leader().filter(|l| *l != old))
        .unwrap_or_else(|| panic!("no leader on the majority side\n{}", c.logs()));
    assert_ne!(new, old);
    let s = c.stats(old).expect("stats");
    assert_eq!(s["status"]["commit"], cut_commit, "the cut-off leader committed: {s}");
    assert!(s["fault_partitioned"].as_u64() > Some(0), "{s}");

    // Heal: everyone ends with the same log, all of it committed.
    std::fs::remove_file(&partition).expect("heal");
    let converged = wait_for(Duration::from_secs(10), || {
        let logs: Vec<RaftStorage> = (0..3)
            .map(|i| RecordLog::<RaftStorage>::open(&c.node_dir(i), "state").ok()?.saved().cloned())
            .collect::<Option<_>>()?;
        let commits: Vec<Json> =
            (0..3).map(|i| c.stats(i).map(|s| s["status"]["commit"].clone())).collect::<Option<_>>()?;
        let same = logs.iter().all(|l| l.log == logs[0].log)
            && commits.iter().all(|x| x.as_u64() == Some(logs[0].log.len() as u64));
        same.then_some(logs[0].log.len())
    });
    assert!(converged.is_some(), "the nodes did not converge after healing\n{}", c.logs());
    assert!(record(&history, &mut client, &mut generation, 6, "a", None), "no read after healing");
    assert!(record(&history, &mut client, &mut generation, 7, "b", None), "no read after healing");
    check_linearizable(&history.lock().expect("history"));
}

/// (role, term, log_len, commit) from node `i`'s stats file.
fn raft_status(c: &Cluster, i: usize) -> Option<(String, u64, u64, u64)> {
    let s = c.stats(i)?;
    let st = &s["status"];
    Some((st["role"].as_str()?.to_owned(), st["term"].as_u64()?, st["log_len"].as_u64()?, st["commit"].as_u64()?))
}

/// Installs a partition by rename: a node re-reading a half-written file would see no partition.
fn set_partition(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write the partition");
    std::fs::rename(&tmp, path).expect("install the partition");
}

/// A running cluster of `n` nodes, all given the same (absent, so no) partition file.
fn started_with_partition_file(n: usize) -> (Cluster, PathBuf) {
    let mut c = Cluster::new(n);
    let partition = c.dir.path().join("partition");
    c.node_flags = vec!["--fault-partition-file".to_owned(), partition.display().to_string()];
    for i in 0..n {
        c.start(i);
    }
    (c, partition)
}

/// Waits for one leader with every other node a follower of its term, all with the same log of
/// at least `min_len` entries, all of it committed: (leader, term, log length). (`min_len`: the
/// stats files lag the nodes by up to 100 ms.)
fn settled(c: &Cluster, min_len: u64, limit: Duration) -> Option<(usize, u64, u64)> {
    wait_for(limit, || {
        let st: Vec<_> = (0..c.peers.len()).map(|i| raft_status(c, i)).collect::<Option<_>>()?;
        let leader = st.iter().position(|s| s.0 == "leader")?;
        let (term, len) = (st[leader].1, st[leader].2);
        let all = st
            .iter()
            .enumerate()
            .all(|(i, s)| (i == leader || s.0 == "follower") && (s.1, s.2, s.3) == (term, len, len));
        (all && len >= min_len).then_some((leader, term, len))
    })
}

/// Pre-vote (Ongaro §9.6) end to end. A follower cut off from both other servers for 2 s (7–13
/// election timeouts of 150–300 ms) keeps firing its election timer, but only as a pre-candidate:
/// its pre-votes reach nobody, so it never starts an election and keeps the leader's term. After
/// healing, the leader's next heartbeat (same term) makes it a follower again and the leader is
/// never deposed. Without pre-vote the cut-off follower would start a real election at every
/// timeout, its term would climb by one each time, and the first term assertion (during the
/// isolation) would fail; after healing its higher term would depose the leader (plain Raft), or,
/// with check-quorum's lease ignoring its vote requests, keep it from rejoining the leader's term
/// — either way the assertions after healing would fail as well.
#[test]
fn an_isolated_follower_does_not_raise_its_term_and_rejoins_without_deposing_the_leader() {
    let (c, partition) = started_with_partition_file(3);
    let mut client = c.client(0);
    client.put(1, "a", "1").unwrap_or_else(|e| panic!("first put: {e}\n{}", c.logs()));
    let (leader, term, len) =
        settled(&c, 2, Duration::from_secs(10)).unwrap_or_else(|| panic!("the cluster did not settle\n{}", c.logs()));
    let f = if leader == 0 { 1 } else { 0 };
    let other = 3 - leader - f;
    let partitioned_before = c.stats(f).expect("stats")["fault_partitioned"].as_u64();

    // Cut f off from both others for 2 s; the majority keeps serving (a second write, "b").
    set_partition(&partition, &format!("{f}|{leader},{other}"));
    let cut = Instant::now();
    let (mut roles, mut samples, mut wrote) = (std::collections::BTreeSet::new(), 0, false);
    while cut.elapsed() < Duration::from_secs(2) {
        if let Some(s) = raft_status(&c, f) {
            assert_eq!(
                s.1,
                term,
                "the cut-off follower's term rose {:?} after the cut: {s:?}\n{}",
                cut.elapsed(),
                c.logs()
            );
            roles.insert(s.0);
            samples += 1;
        }
        if let Some(s) = raft_status(&c, leader) {
            assert_eq!((s.0.as_str(), s.1), ("leader", term), "the leader changed during the cut: {s:?}\n{}", c.logs());
        }
        if !wrote && cut.elapsed() > Duration::from_millis(500) {
            client.put(2, "b", "2").unwrap_or_else(|e| panic!("the majority did not serve: {e}\n{}", c.logs()));
            wrote = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let fs = c.stats(f).expect("stats");
    assert!(
        roles.contains("pre-candidate"),
        "the cut-off follower's election timer never fired (roles seen {roles:?}): the test shows nothing\n{}",
        c.logs()
    );
    assert!(fs["fault_partitioned"].as_u64() > partitioned_before, "the partition was not applied: {fs}");
    assert_eq!(fs["status"]["log_len"].as_u64(), Some(len), "the cut-off follower's log changed: {fs}");
    let pre_votes = std::fs::read_to_string(c.dir.path().join(format!("node-{f}.log")))
        .unwrap_or_default()
        .matches("pre-candidate")
        .count();

    // Heal: for 1.5 s the leader stays the leader of the same term, and f rejoins it.
    std::fs::remove_file(&partition).expect("heal");
    let healed = Instant::now();
    let mut rejoined = None;
    while healed.elapsed() < Duration::from_millis(1500) {
        if let Some(s) = raft_status(&c, leader) {
            assert_eq!(
                (s.0.as_str(), s.1),
                ("leader", term),
                "the leader was deposed {:?} after healing: {s:?}\n{}",
                healed.elapsed(),
                c.logs()
            );
        }
        if let (None, Some(s)) = (rejoined, raft_status(&c, f)) {
            if (s.0.as_str(), s.1) == ("follower", term) {
                rejoined = Some(healed.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let rejoined = rejoined.unwrap_or_else(|| panic!("f did not rejoin as a follower of term {term}\n{}", c.logs()));
    let (_, _, leader_len, _) = raft_status(&c, leader).expect("stats");
    let caught_up = wait_for(Duration::from_secs(3), || {
        let s = raft_status(&c, f)?;
        ((s.0.as_str(), s.1, s.2, s.3) == ("follower", term, leader_len, leader_len)).then_some(s)
    });
    assert!(caught_up.is_some(), "f did not catch up with the leader's {leader_len} entries: {:?}", raft_status(&c, f));
    assert_eq!(client.get(3, "a").ok(), Some(Some(Value::from("1"))), "{}", c.logs());
    assert_eq!(client.get(4, "b").ok(), Some(Some(Value::from("2"))), "{}", c.logs());
    let end: Vec<_> = (0..3).map(|i| raft_status(&c, i)).collect();
    assert!(end.iter().all(|s| s.as_ref().is_some_and(|s| s.1 == term)), "a term changed: {end:?}\n{}", c.logs());
    assert_eq!(end[leader].as_ref().map(|s| s.0.as_str()), Some("leader"), "{end:?}");
    eprintln!(
        "leader {leader} term {term}; follower {f} cut off 2 s: {samples} samples, roles {roles:?}, \
         {pre_votes} pre-candidate log lines, term stayed {term}; rejoined {rejoined:?} after healing"
    );
}

/// Check-quorum (Ongaro §6.2, etcd's CheckQuorum) end to end. A leader cut off from both followers
/// hears from no majority within an election timeout and steps down, so it stops appending
/// requests it could never commit, while the two others elect a leader in a higher term that
/// serves clients. Without check-quorum the cut-off leader would report "leader" for the whole
/// cut (nothing else makes it step down while it hears no higher term), the first assertion
/// would fail, and requests sent to it would grow its log.
#[test]
fn an_isolated_leader_steps_down_and_the_majority_elects_another() {
    let (c, partition) = started_with_partition_file(3);
    let mut client = c.client(0);
    client.put(1, "a", "1").unwrap_or_else(|e| panic!("first put: {e}\n{}", c.logs()));
    let (old, term, _) =
        settled(&c, 2, Duration::from_secs(10)).unwrap_or_else(|| panic!("the cluster did not settle\n{}", c.logs()));
    let others: Vec<usize> = (0..3).filter(|i| *i != old).collect();

    set_partition(&partition, &format!("{old}|{},{}", others[0], others[1]));
    let cut = Instant::now();
    let stepped_down = wait_for(Duration::from_secs(3), || {
        let s = raft_status(&c, old)?;
        (s.0 != "leader").then(|| (cut.elapsed(), s))
    });
    let (down_after, down) =
        stepped_down.unwrap_or_else(|| panic!("the cut-off leader still leads after 3 s\n{}", c.logs()));
    let elected = wait_for(Duration::from_secs(5), || {
        others.iter().find_map(|&i| raft_status(&c, i).filter(|s| s.0 == "leader" && s.1 > term).map(|s| (i, s.1)))
    });
    let (new, new_term) = elected.unwrap_or_else(|| panic!("no leader on the majority side\n{}", c.logs()));
    let elected_after = cut.elapsed();

    // Requests reaching the cut-off server now append nothing there: one from a client that can
    // reach only it (the others' addresses are a socket nobody reads), then a CLI put, sent to
    // every server, that the majority commits.
    let (_, _, old_len, _) = raft_status(&c, old).expect("stats");
    let sink = UdpSocket::bind("127.0.0.1:0").expect("a sink socket");
    let nowhere = sink.local_addr().expect("sink address");
    let only_old = c.peers.iter().enumerate().map(|(i, a)| if i == old { *a } else { nowhere }).collect();
    let mut direct = RaftClient::new(only_old, c.key(), 2).expect("client socket");
    direct.timeout = Duration::from_millis(200);
    direct.attempts = 3;
    let answer = direct.put(1, "x", "lost");
    assert!(
        matches!(answer, Err(ClientError::NoReply { .. })),
        "the cut-off server answered: {answer:?}\n{}",
        c.logs()
    );
    let put = c.cli(&["--client", "1", "put", "b", "2"]);
    assert!(put.status.success(), "the majority did not serve: {}\n{}", String::from_utf8_lossy(&put.stderr), c.logs());
    std::thread::sleep(Duration::from_millis(300)); // stats files are rewritten every 100 ms
    let s = raft_status(&c, old).expect("stats");
    assert_eq!(s.2, old_len, "the cut-off server appended client requests: {s:?}\n{}", c.logs());
    assert_ne!(s.0, "leader", "the cut-off server leads again: {s:?}");
    assert_eq!(s.1, term, "the cut-off server's term rose (pre-vote should keep it): {s:?}");

    // Heal: all follow the new leader in its term, with the same log, all committed.
    std::fs::remove_file(&partition).expect("heal");
    let healed = Instant::now();
    let converged = settled(&c, 4, Duration::from_secs(10));
    let converged_after = healed.elapsed();
    assert_eq!(
        converged.map(|(l, t, _)| (l, t)),
        Some((new, new_term)),
        "the cluster did not converge on leader {new} of term {new_term}: {:?}\n{}",
        (0..3).map(|i| raft_status(&c, i)).collect::<Vec<_>>(),
        c.logs()
    );
    assert_eq!(stdout(&c.cli(&["get", "a"])), "1", "{}", c.logs());
    assert_eq!(stdout(&c.cli(&["get", "b"])), "2", "{}", c.logs());
    let x = c.cli(&["get", "x"]);
    assert_eq!((x.status.code(), stdout(&x).as_str()), (Some(3), ""), "the cut-off server's request took effect");
    eprintln!(
        "old leader {old} term {term} stepped down to {} after {down_after:?} (log {old_len}); \
         {new} elected in term {new_term} {elected_after:?} after the cut; converged {converged_after:?} after healing",
        down.0
    );
}

#[test]
fn a_client_gives_up_after_its_bounded_attempts_when_no_server_answers_and_exits_1() {
    let c = Cluster::new(3); // no node started
    let started = Instant::now();
    let out = wait_exit(
        Command::new(EXE)
            .args(["client", "--peers", &c.peers_arg(), "--attempts", "3", "--timeout-ms", "100", "--key-file"])
            .arg(c.key_file())
            .args(["put", "x", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("client runs"),
        Duration::from_secs(10),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no reply after 3 attempts"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

/// `quorum bench raft` (README, docs/runtime-performance.md, bench/etcd.sh), also spelled
/// `quorum bench cluster raft`, starts its own cluster, runs closed-loop clients and reports
/// writes/s and latency percentiles as JSON.
#[test]
fn quorum_bench_raft_runs_its_own_cluster_and_reports() {
    for command in [&["bench", "raft"][..], &["bench", "cluster", "raft"]] {
        let base = free_ports(3)[0];
        let out = Command::new(EXE)
            .args(command)
            .args(["--writes", "60", "--clients", "3", "--json", "--base-port", &base.to_string()])
            .output()
            .expect("quorum bench runs");
        assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json: serde_json::Value =
            serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON report on the last line");
        assert_eq!(json["writes"], 60, "{command:?}: {stdout}");
        assert!(json["writes_per_s"].as_f64().is_some_and(|r| r > 0.0), "{command:?}: {stdout}");
    }
}

/// `quorum bench pbft` (docs/runtime-performance.md) starts 4 replicas with their signing keys and
/// runs its clients past several checkpoints (100 puts, a checkpoint every 16): the window moves.
#[test]
fn quorum_bench_pbft_runs_four_replicas_past_their_window_and_reports() {
    let base = free_ports(4)[0];
    let out = Command::new(EXE)
        .args(["bench", "pbft", "--writes", "100", "--clients", "4", "--json", "--base-port", &base.to_string()])
        .output()
        .expect("quorum bench runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON report on the last line");
    assert_eq!(
        (json["writes"].as_u64(), json["nodes"].as_u64(), json["value_size"].as_u64()),
        (Some(100), Some(4), Some(64))
    );
    assert!(stdout.contains("4 nodes on loopback, state in memory"), "{stdout}");
}

/// A follower restarted from an older copy of its state file (whole, head and watermark included:
/// no node can tell it from its own) holds less than its leader counted it as holding. The leader
/// believes the follower's mismatch and refills it (`server::repair_follower`); with the repair
/// off it took such a mismatch as stale, and the follower stayed behind, at its old commit index,
/// until the leadership changed.
#[test]
fn a_follower_restarted_from_an_older_copy_of_its_log_is_repaired_by_the_leader() {
    let mut c = Cluster::started(3);
    let (leader, term, len) = settled(&c, 1, Duration::from_secs(10)).expect("a settled cluster");
    let f = (leader + 1) % 3;
    let state = c.node_dir(f).join("state");
    c.kill(f);
    let older = std::fs::read(&state).expect("the follower's state file");
    c.start(f);
    let mut client = c.client(0);
    for seq in 1..=5u64 {
        client.put(seq, format!("k{seq}").as_str(), "v").unwrap_or_else(|e| panic!("put {seq}: {e}\n{}", c.logs()));
    }
    let (l2, t2, full) = settled(&c, len + 5, Duration::from_secs(10)).expect("the follower holds the writes");
    assert_eq!((l2, t2), (leader, term), "no leader change so far");
    c.kill(f);
    std::fs::write(&state, &older).expect("restore the older copy");
    c.start(f);
    let repaired = wait_for(Duration::from_secs(5), || {
        let s = raft_status(&c, f)?;
        (s == ("follower".to_owned(), term, full, full)).then_some(())
    });
    assert!(repaired.is_some(), "follower {f} was not repaired: {:?}\n{}", raft_status(&c, f), c.logs());
    assert_eq!(raft_status(&c, leader).map(|s| (s.0, s.1)), Some(("leader".to_owned(), term)), "the same leader");
}
