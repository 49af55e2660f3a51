//! Helpers shared by the end-to-end suites (tests/cluster.rs, tests/disk.rs): real `quorum`
//! processes on 127.0.0.1 in temp dirs, killed by Drop guards, every wait bounded.
#![allow(dead_code)] // each suite uses a part

use quorum::paxos::Layout;
use quorum::runtime::client::{PbftClient, RaftClient};
use quorum::runtime::wire::ClusterKey;
use serde_json::Value as Json;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub const EXE: &str = env!("CARGO_BIN_EXE_quorum");

/// `n` consecutive free UDP ports on 127.0.0.1, below Linux's ephemeral range (32768–60999) so
/// that no client socket of a concurrently running test takes one after we checked it. Tests in
/// this process take disjoint blocks; the pid spreads concurrent test processes apart.
pub fn free_ports(n: usize) -> Vec<u16> {
    use std::sync::atomic::AtomicU16;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let spread = (std::process::id() % 500) as u16 * 20;
    for _ in 0..200 {
        let block = NEXT.fetch_add(n as u16, Ordering::SeqCst) % 10_000;
        let base = 20_000 + (spread + block) % 12_000;
        let ports: Vec<u16> = (base..base + n as u16).collect();
        if ports.iter().all(|p| UdpSocket::bind(("127.0.0.1", *p)).is_ok()) {
            return ports;
        }
    }
    panic!("no {n} consecutive free ports");
}

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits at most `limit` for `f` to return `Some`.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits at most `limit` for a child to exit; kills it and panics if it does not.
pub fn wait_exit(mut child: Child, limit: Duration) -> Output {
    if wait_for(limit, || child.try_wait().ok().flatten()).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("process did not exit within {limit:?}");
    }
    child.wait_with_output().expect("collect output")
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub peers: Vec<SocketAddr>,
    pub nodes: Vec<Option<Proc>>,
    /// Extra flags for every node (the fault shim).
    pub node_flags: Vec<String>,
    pub protocol: &'static str,
}

impl Cluster {
    /// A cluster of `n` server addresses and a key; no node started yet.
    pub fn new(n: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("cluster.key");
        let out = Command::new(EXE).arg("keygen").arg(&key).output().expect("keygen runs");
        assert!(out.status.success(), "keygen: {}", String::from_utf8_lossy(&out.stderr));
        let peers = free_ports(n).into_iter().map(|p| SocketAddr::from(([127, 0, 0, 1], p))).collect();
        Cluster { dir, peers, nodes: (0..n).map(|_| None).collect(), node_flags: Vec::new(), protocol: "raft" }
    }

    pub fn started(n: usize) -> Cluster {
        let mut c = Cluster::new(n);
        for i in 0..n {
            c.start(i);
        }
        c
    }

    /// A running Paxos cluster in the model's layout: 3 acceptors (0–2), a proposer (3), a
    /// learner (4).
    pub fn started_paxos() -> (Cluster, Layout) {
        Cluster::started_paxos_with(5, 1)
    }

    /// A running Paxos cluster of `servers` nodes with one proposer and `learners` learners
    /// (`--learners`), every other node an acceptor, and its layout.
    pub fn started_paxos_with(servers: usize, learners: usize) -> (Cluster, Layout) {
        let layout = Layout::for_servers(servers, 1, learners).expect("room for an acceptor");
        let mut c = Cluster::new(servers);
        c.protocol = "paxos";
        if learners != 1 {
            c.node_flags = vec!["--learners".to_owned(), learners.to_string()];
        }
        for i in 0..servers {
            c.start(i);
        }
        (c, layout)
    }

    /// A running PBFT cluster of `n` replicas (f = (n-1)/3), every replica up (its stats file
    /// written): a primary does not resend a pre-prepare lost to a replica not yet listening, and
    /// only a view change would recover it.
    pub fn started_pbft(n: usize) -> Cluster {
        Cluster::started_pbft_with(n, &[])
    }

    /// The same, every node started with `flags` (`--byzantine-mode silent`) and the replicas'
    /// signing keys (`quorum keygen --pbft-replicas`, in `replica-keys/`).
    pub fn started_pbft_with(n: usize, flags: &[&str]) -> Cluster {
        let mut c = Cluster::new(n);
        c.protocol = "pbft";
        let keys = c.dir.path().join("replica-keys");
        let out =
            Command::new(EXE).args(["keygen", "--pbft-replicas", &n.to_string()]).arg(&keys).output().expect("keygen");
        assert!(out.status.success(), "keygen: {}", String::from_utf8_lossy(&out.stderr));
        c.node_flags = flags.iter().map(|f| f.to_string()).collect();
        c.node_flags.extend(["--replica-keys".to_owned(), keys.display().to_string()]);
        for i in 0..n {
            c.start(i);
        }
        let up = wait_for(Duration::from_secs(10), || (0..n).all(|i| c.stats(i).is_some()).then_some(()));
        assert!(up.is_some(), "the replicas did not all start\n{}", c.logs());
        c
    }

    /// Each running node's view (the `term` of its status), once it has written its stats.
    pub fn views(&self) -> Vec<Option<u64>> {
        (0..self.peers.len())
            .map(|i| self.nodes[i].as_ref().and_then(|_| self.stats(i)?["status"]["term"].as_u64()))
            .collect()
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("cluster.key")
    }

    pub fn key(&self) -> ClusterKey {
        ClusterKey::read(&self.key_file()).expect("read the key")
    }

    pub fn peers_arg(&self) -> String {
        self.peers.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")
    }

    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node-{i}"))
    }

    pub fn stats_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("stats-{i}.json"))
    }

    pub fn node_command(&self, i: usize) -> Command {
        let mut cmd = Command::new(EXE);
        cmd.args(["node", self.protocol, "--id", &i.to_string(), "--peers", &self.peers_arg()])
            .arg("--data-dir")
            .arg(self.node_dir(i))
            .arg("--key-file")
            .arg(self.key_file())
            .arg("--stats-file")
            .arg(self.stats_path(i))
            .args(&self.node_flags);
        cmd
    }

    pub fn start(&mut self, i: usize) {
        let _ = std::fs::remove_file(self.stats_path(i));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node-{i}.log")))
            .expect("open the node's log");
        let child =
            self.node_command(i).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start a node");
        self.nodes[i] = Some(Proc(child));
    }

    /// kill -9.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i] = None;
    }

    pub fn stats(&self, i: usize) -> Option<Json> {
        let text = std::fs::read_to_string(self.stats_path(i)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The running node that reports itself leader in the highest term.
    pub fn leader(&self) -> Option<usize> {
        (0..self.peers.len())
            .filter(|&i| self.nodes[i].is_some())
            .filter_map(|i| self.stats(i).map(|s| (i, s)))
            .filter(|(_, s)| s["status"]["role"] == "leader")
            .max_by_key(|(_, s)| s["status"]["term"].as_u64())
            .map(|(i, _)| i)
    }

    pub fn client(&self, number: u8) -> RaftClient {
        let mut c = RaftClient::new(self.peers.clone(), self.key(), number).expect("client socket");
        c.timeout = Duration::from_millis(300);
        c.attempts = 20;
        c
    }

    pub fn pbft_client(&self, number: u8) -> PbftClient {
        let mut c = PbftClient::new(self.peers.clone(), self.key(), number).expect("client socket");
        c.timeout = Duration::from_millis(300);
        c.attempts = 20;
        c
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        wait_exit(self.cli_spawn(args), Duration::from_secs(15))
    }

    pub fn cli_spawn(&self, args: &[&str]) -> Child {
        Command::new(EXE)
            .args(["client", "--peers", &self.peers_arg(), "--timeout-ms", "300", "--attempts", "20"])
            .arg("--key-file")
            .arg(self.key_file())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("client runs")
    }

    pub fn logs(&self) -> String {
        (0..self.peers.len())
            .map(|i| std::fs::read_to_string(self.dir.path().join(format!("node-{i}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}
