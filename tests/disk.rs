//! Disk faults end to end: real `quorum node` processes whose `state` file is deleted, cut or
//! flipped while they are down, and one whose disk fills up while it runs. In every case no
//! write acknowledged to a client before the fault is lost: it is readable after, or the node
//! refuses to start with an error naming the file (exit 2); and a node restarts where it safely
//! can (a torn record its watermark never counted).
//!
//! The full disk is a small tmpfs mounted as one node's data dir (the tests run as root); where
//! mounting fails, the node's log is made to fail with ENOSPC past a byte limit instead
//! ([`LOG_LIMIT_ENV`]). The test prints which one ran. Every wait is bounded, every child killed
//! and every mount detached by a Drop guard, every directory a temp dir.

mod common;
use common::*;
use quorum::raft::{RaftStorage, Value};
use quorum::runtime::storage::{record_ends, RecordLog, LOG_LIMIT_ENV, RECORDS_AT};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A one-node cluster that acknowledged `n` puts (`k1` = `v1` …), then was killed with SIGKILL.
/// One node: every acknowledged write is in its log, and nowhere else.
fn one_node_after_puts(n: u64) -> (Cluster, Vec<(String, String)>) {
    let mut c = Cluster::new(1);
    c.start(0);
    let mut client = c.client(0);
    let mut acked = Vec::new();
    for seq in 1..=n {
        let (k, v) = (format!("k{seq}"), format!("v{seq}"));
        client.put(seq, k.as_str(), v.as_str()).unwrap_or_else(|e| panic!("put {seq}: {e}\n{}", c.logs()));
        acked.push((k, v));
    }
    c.kill(0);
    (c, acked)
}

fn state_file(c: &Cluster, i: usize) -> PathBuf {
    c.node_dir(i).join("state")
}

/// Node 0's state file: its path, its bytes, and where its records end.
fn saved_log(c: &Cluster) -> (PathBuf, Vec<u8>, Vec<usize>) {
    let path = state_file(c, 0);
    let bytes = fs::read(&path).expect("read");
    let ends = record_ends(&bytes);
    (path, bytes, ends)
}

/// Starts node `i` and waits for it to exit (it must refuse within 10 s); the state file is
/// left as it was.
fn start_refused(c: &Cluster, i: usize, what: &str) -> String {
    let path = state_file(c, i);
    let before = fs::read(&path).ok();
    let child = c.node_command(i).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start a node");
    let out = wait_exit(child, Duration::from_secs(10));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert!(err.contains(&path.display().to_string()), "{what}: the error does not name {}: {err}", path.display());
    assert_eq!(fs::read(&path).ok(), before, "{what}: the state file was changed");
    err
}

/// Every acknowledged put reads back (through whichever node leads).
fn assert_all_readable(c: &Cluster, acked: &[(String, String)], client_number: u8) {
    let mut client = c.client(client_number);
    for (seq, (k, v)) in acked.iter().enumerate() {
        let got = client.get(seq as u64 + 1, k.as_str()).unwrap_or_else(|e| panic!("get {k}: {e}\n{}", c.logs()));
        assert_eq!(got, Some(Value::from(v.as_str())), "acknowledged put {k} = {v} lost\n{}", c.logs());
    }
}

#[test]
fn a_node_that_has_run_before_refuses_a_deleted_state_file_and_the_other_two_keep_serving() {
    let mut c = Cluster::started(3);
    let mut client = c.client(0);
    let mut acked = Vec::new();
    for seq in 1..=5u64 {
        let (k, v) = (format!("k{seq}"), format!("v{seq}"));
        client.put(seq, k.as_str(), v.as_str()).unwrap_or_else(|e| panic!("put {seq}: {e}\n{}", c.logs()));
        acked.push((k, v));
    }
    let victim = wait_for(Duration::from_secs(10), || c.leader()).expect("a leader");
    c.kill(victim);
    fs::remove_file(state_file(&c, victim)).expect("delete the state file");
    let err = start_refused(&c, victim, "deleted");
    assert!(err.contains("missing") && err.contains("has run before"), "{err}");
    assert!(!state_file(&c, victim).exists(), "the refused node created a new state file");
    // The other two elect a leader and serve every acknowledged write, and new ones.
    assert_all_readable(&c, &acked, 1);
    client.put(6, "k6", "v6").unwrap_or_else(|e| panic!("put after the refusal: {e}\n{}", c.logs()));
}

#[test]
fn a_state_file_cut_at_a_record_boundary_is_refused() {
    let (c, _) = one_node_after_puts(4);
    let (path, bytes, ends) = saved_log(&c);
    assert_eq!(ends.last(), Some(&bytes.len()), "the log ends at a record boundary");
    // Drop the last record (the last acknowledged put), then all but the first.
    for keep in [ends[ends.len() - 2], ends[0]] {
        fs::write(&path, &bytes[..keep]).expect("cut");
        let err = start_refused(&c, 0, &format!("cut at {keep}"));
        assert!(err.contains("truncated") && err.contains("acknowledged"), "{err}");
    }
}

/// What a crash or a full disk in the middle of a write leaves: a final record cut short that
/// the watermark never counted (it is written only after the record's fdatasync). Here: the
/// first half of a copy of the last record, appended.
#[test]
fn a_torn_final_record_past_the_watermark_is_dropped_and_every_acknowledged_write_survives() {
    let (mut c, acked) = one_node_after_puts(4);
    let (path, bytes, ends) = saved_log(&c);
    let last = &bytes[ends[ends.len() - 2]..];
    let torn = &last[..last.len() / 2];
    let mut with_torn = bytes.clone();
    with_torn.extend_from_slice(torn);
    fs::write(&path, &with_torn).expect("append a torn record");
    c.start(0);
    assert_all_readable(&c, &acked, 1);
    let logs = c.logs();
    assert!(logs.contains("dropped a torn final record") && logs.contains(&path.display().to_string()), "{logs}");
    assert!(logs.contains(&format!("dropped_bytes={}", torn.len())), "{logs}");
    // The torn bytes were cut off, the good records kept, and the node appended after them.
    c.kill(0);
    let after = fs::read(&path).expect("read");
    let records = RECORDS_AT as usize; // the head (its watermark) is rewritten
    assert_eq!(after[records..bytes.len()], bytes[records..], "the good records changed");
    let log = RecordLog::<RaftStorage>::open(&c.node_dir(0), "state").expect("the log reads back");
    assert_eq!(log.dropped(), 0, "garbage left in {}", path.display());
}

#[test]
fn a_state_file_cut_inside_an_acknowledged_record_or_with_a_flipped_bit_is_refused() {
    let (c, acked) = one_node_after_puts(4);
    let (path, bytes, ends) = saved_log(&c);
    let (first, last) = (ends[0], ends[ends.len() - 2]);
    // Inside the first record, and inside the final one (acknowledged: not a torn tail).
    for cut in [first - 3, last + (bytes.len() - last) / 2] {
        fs::write(&path, &bytes[..cut]).expect("cut");
        let err = start_refused(&c, 0, &format!("cut at {cut}"));
        assert!(err.contains("truncated") && err.contains("acknowledged"), "{err}");
    }
    // A bit flipped in the first record's payload.
    let mut flipped = bytes.clone();
    flipped[first - 2] ^= 0x10;
    fs::write(&path, &flipped).expect("flip");
    let err = start_refused(&c, 0, "flipped");
    assert!(err.contains("checksum") && err.contains("at byte"), "{err}");
    // The intact file still recovers.
    fs::write(&path, &bytes).expect("restore");
    let mut c = c;
    c.start(0);
    assert_all_readable(&c, &acked, 1);
}

/// A tmpfs mounted on a directory, detached (lazily: a node may still hold a file) when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Node 2's disk fills up under a stream of 8 KiB puts: it exits with an error naming its state
/// file, having acknowledged nothing it did not save (the half-written record is past its
/// watermark). Given space again, it restarts, drops the torn record, catches up, and with
/// node 2 needed for every majority, every acknowledged write reads back.
#[test]
fn a_node_whose_disk_fills_up_exits_then_restarts_from_its_torn_record_and_no_acknowledged_write_is_lost() {
    let mut c = Cluster::new(3);
    let full = 2;
    let dir = c.node_dir(full);
    let mount = Tmpfs::mount(&dir, "512k");
    let filler = dir.join("filler");
    let env: Vec<(&str, String)> = match &mount {
        Some(_) => {
            fs::write(&filler, vec![0u8; 96 * 1024]).expect("write the filler");
            eprintln!("ENOSPC from a 512 KiB tmpfs mounted on {}", dir.display());
            Vec::new()
        }
        None => {
            eprintln!("mount failed: ENOSPC injected by {LOG_LIMIT_ENV}=400000 instead");
            vec![(LOG_LIMIT_ENV, "400000".to_owned())]
        }
    };
    for i in 0..2 {
        c.start(i);
    }
    start_with_env(&mut c, full, &env);
    let mut client = c.client(0);
    let value = |seq: u64| format!("{seq:0>8192}");
    let mut acked = Vec::new();
    let mut seq = 0;
    let exited = loop {
        seq += 1;
        assert!(seq <= 200, "node {full} did not fill its disk with 200 puts of 8 KiB\n{}", c.logs());
        let key = format!("k{}", seq % 7);
        client.put(seq, key.as_str(), value(seq).as_str()).unwrap_or_else(|e| panic!("put {seq}: {e}\n{}", c.logs()));
        acked.retain(|(k, _): &(String, u64)| *k != key);
        acked.push((key, seq));
        if let Some(status) = c.nodes[full].as_mut().and_then(|p| p.0.try_wait().ok().flatten()) {
            break status;
        }
    };
    c.nodes[full] = None;
    let log = c.logs();
    let path = state_file(&c, full);
    assert_eq!(exited.code(), Some(1), "{log}");
    assert!(log.contains(&path.display().to_string()) && log.contains("No space left"), "{log}");
    // The failed write is past the watermark: it was never acknowledged, and reads as dropped.
    let saved = RecordLog::<RaftStorage>::open(&dir, "state").expect("the full node's log reads back");
    assert!(saved.dropped() > 0, "no half-written record at the end of {}", path.display());
    eprintln!(
        "node {full} exited after {seq} puts; {} bytes of a half-written record past its watermark",
        saved.dropped()
    );

    // Space again, then a restart without the fault.
    let _ = fs::remove_file(&filler);
    start_with_env(&mut c, full, &[]);
    let caught_up = wait_for(Duration::from_secs(15), || {
        let leader = c.leader()?;
        let (l, f) = (c.stats(leader)?, c.stats(full)?);
        (f["status"]["log_len"] == l["status"]["log_len"] && f["status"]["commit"] == l["status"]["commit"])
            .then_some(())
    });
    assert!(caught_up.is_some(), "node {full} did not catch up after its restart\n{}", c.logs());
    let log = c.logs();
    assert!(log.contains("dropped a torn final record") && log.contains(&path.display().to_string()), "{log}");
    // Node 2 in every majority: stop one of the others.
    let other = (0..3).find(|&i| i != full && Some(i) != c.leader()).unwrap_or(0);
    c.kill(other);
    let mut reader = c.client(1);
    for (n, (k, s)) in acked.iter().enumerate() {
        let got = reader.get(n as u64 + 1, k.as_str()).unwrap_or_else(|e| panic!("get {k}: {e}\n{}", c.logs()));
        assert_eq!(got, Some(Value::from(value(*s).as_str())), "acknowledged put {k} (seq {s}) lost\n{}", c.logs());
    }
    for i in 0..3 {
        c.kill(i);
    }
    drop(mount);
}

/// Starts node `i` with extra environment variables, its stderr appended to its log.
fn start_with_env(c: &mut Cluster, i: usize, env: &[(&str, String)]) {
    let _ = fs::remove_file(c.stats_path(i));
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(c.dir.path().join(format!("node-{i}.log")))
        .expect("open the node's log");
    let mut cmd = c.node_command(i);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start a node");
    c.nodes[i] = Some(Proc(child));
}
