//! One node: an actor, its socket, its timers and its storage, driven by a single-threaded loop.
//!
//! One thread and no locks: timers are deadlines checked by the loop, and the socket's read
//! timeout is the time to the next deadline, so there is no timer thread to race with. The only
//! thing another thread touches is the [`Stop`] flag, checked between steps ([`Stop::run`]).
//!
//! A step is a batch: the datagrams already waiting on the socket (up to [`BATCH`]) are each
//! handed to `on_msg`, and their commands collected. Then the batch's last `Save` is written
//! durably — one fsync for the whole batch (group commit) — and only then are timers changed and
//! messages sent, in the order the actor emitted them. So every save is on disk before any
//! message of its step (or of a later step) leaves the node, whatever the order of commands
//! inside the step. Only the commands of the batch's steps *before* its first saving step go out
//! ahead of the fsync: they depend on nothing unsaved.

use super::faults::{FaultCfg, FaultShim};
use super::hosted::{Guard, Hosted, Status};
use super::stop::Stop;
use super::storage::{Durable, FileStore, RecordLog, StorageError};
use super::wire::{self, ClusterKey, Header, Reject, ReplayGuard};
use serde::de::DeserializeOwned;
use serde::Serialize;
use stateright::actor::{Command, Id, Out};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Datagrams handled per step (and so per fsync).
pub const BATCH: usize = 64;
/// How often the stats file is rewritten (when something changed) and the loop looks at the stop
/// flag.
const TICK: Duration = Duration::from_millis(100);
/// How often counters are logged.
const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct NodeCfg {
    /// This node's id: its index in `servers`.
    pub id: usize,
    /// Every server's address, by id (the model's layout: servers first).
    pub servers: Vec<SocketAddr>,
    /// How many client ids follow the servers. Clients may send from any address (they use
    /// ephemeral ports); a client's address is learnt from its last authenticated datagram.
    pub clients: usize,
    pub data_dir: PathBuf,
    pub key: ClusterKey,
    /// Where to write the counters and status as JSON (rewritten atomically every 100 ms).
    pub stats_file: Option<PathBuf>,
    pub faults: FaultCfg,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("--id {id} is not a server: --peers lists {servers} servers")]
    BadId { id: usize, servers: usize },
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("socket: {0}")]
    Socket(std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Counters, readable in the stats file. Every datagram received ends up in exactly one of
/// `accepted`, a `rejected_*` counter or (from across a partition) `fault_partitioned`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub id: usize,
    pub pid: u32,
    pub epoch: u64,
    pub received: u64,
    pub accepted: u64,
    pub rejected_oversize: u64,
    pub rejected_short: u64,
    pub rejected_bad_tag: u64,
    pub rejected_undecodable: u64,
    pub rejected_wrong_cluster: u64,
    pub rejected_unknown_sender: u64,
    /// Addressed to another actor (e.g. a copy of a datagram redirected on the way).
    pub rejected_misaddressed: u64,
    /// Naming this node as its sender (its own datagram, reflected back).
    pub rejected_from_self: u64,
    pub rejected_addr_mismatch: u64,
    pub rejected_replayed: u64,
    /// Accepted but refused by a [`Guard`] (the model types' limits).
    pub refused: u64,
    pub sent: u64,
    pub send_errors: u64,
    /// Sends to a client whose address is not known yet.
    pub no_route: u64,
    pub saves: u64,
    pub steps: u64,
    pub fault_dropped: u64,
    pub fault_duplicated: u64,
    /// Datagrams to or from a server on the other side of the partition, not sent or dropped.
    pub fault_partitioned: u64,
    pub status: Status,
}

impl Stats {
    fn reject(&mut self, r: Reject) {
        match r {
            Reject::Oversize => self.rejected_oversize += 1,
            Reject::Short => self.rejected_short += 1,
            Reject::BadTag => self.rejected_bad_tag += 1,
            Reject::Undecodable => self.rejected_undecodable += 1,
            Reject::WrongCluster => self.rejected_wrong_cluster += 1,
            Reject::UnknownSender => self.rejected_unknown_sender += 1,
            Reject::Misaddressed => self.rejected_misaddressed += 1,
            Reject::FromSelf => self.rejected_from_self += 1,
            Reject::AddrMismatch => self.rejected_addr_mismatch += 1,
            Reject::Replayed => self.rejected_replayed += 1,
            Reject::Partitioned => {} // counted as fault_partitioned
        }
    }

    pub fn rejected(&self) -> u64 {
        self.rejected_oversize
            + self.rejected_short
            + self.rejected_bad_tag
            + self.rejected_undecodable
            + self.rejected_wrong_cluster
            + self.rejected_unknown_sender
            + self.rejected_misaddressed
            + self.rejected_from_self
            + self.rejected_addr_mismatch
            + self.rejected_replayed
    }
}

/// The boot epoch: strictly above the last one this data directory used, and at least the wall
/// clock in microseconds (so that a wiped data directory still starts above its old epoch).
fn next_epoch(store: &FileStore) -> Result<u64, StorageError> {
    let last: u64 = store.load()?.unwrap_or(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    let epoch = now.max(last.saturating_add(1));
    store.save(&epoch)?;
    Ok(epoch)
}

struct Node<'a, A: Hosted>
where
    A::Storage: Durable,
{
    actor: &'a A,
    cfg: &'a NodeCfg,
    id: Id,
    socket: UdpSocket,
    storage: RecordLog<A::Storage>,
    timers: HashMap<A::Timer, Instant>,
    guards: Vec<ReplayGuard>,
    client_addrs: HashMap<usize, SocketAddr>,
    epoch: u64,
    seq: u64,
    shim: Option<FaultShim>,
    /// The servers this node may talk to (None: all), from the partition file.
    reachable: Option<Vec<usize>>,
    stats: Stats,
}

/// Runs `actor` as node `cfg.id` until a stop is requested (the step in progress completes).
/// Returns an error, never panics, on bad storage or a socket failure; datagrams never stop it.
pub fn run_node<A>(actor: A, cfg: &NodeCfg, stop: &Stop) -> Result<(), NodeError>
where
    A: Hosted,
    A::Msg: Serialize + DeserializeOwned,
    A::Storage: Durable,
{
    let Some(&addr) = cfg.servers.get(cfg.id) else {
        return Err(NodeError::BadId { id: cfg.id, servers: cfg.servers.len() });
    };
    // Recover before binding: a node with bad storage must not take part at all. The epoch file
    // shows the node has run before, so its log must exist: `recover` creates the log (and its
    // watermark) before the first epoch is saved, so the epoch never exists without it.
    let epoch_store = FileStore::open(&cfg.data_dir, "epoch")?;
    let ran_before = epoch_store.path().exists().then_some(epoch_store.path());
    // A torn final record is cut off here, with a warning naming the file and the bytes dropped.
    let (storage, recovery) = RecordLog::<A::Storage>::recover(&cfg.data_dir, "state", ran_before)?;
    let saved: Option<A::Storage> = storage.saved().cloned();
    let epoch = next_epoch(&epoch_store)?;
    let socket = UdpSocket::bind(addr).map_err(|source| NodeError::Bind { addr, source })?;
    grow_receive_buffer(&socket);
    let known = cfg.servers.len() + cfg.clients;
    let mut node = Node {
        actor: &actor,
        cfg,
        id: Id::from(cfg.id),
        socket,
        storage,
        timers: HashMap::new(),
        guards: vec![ReplayGuard::default(); known],
        client_addrs: HashMap::new(),
        epoch,
        seq: 0,
        shim: cfg.faults.is_active().then(|| FaultShim::new(cfg.faults.clone())),
        reachable: None,
        stats: Stats { id: cfg.id, pid: std::process::id(), epoch, ..Stats::default() },
    };
    tracing::info!(
        node = cfg.id,
        %addr,
        epoch,
        recovered = saved.is_some(),
        dropped_bytes = recovery.dropped,
        adopted_records = recovery.adopted,
        new_log = recovery.created,
        "starting"
    );
    let mut out = Out::new();
    let mut state = actor.on_start(node.id, &saved, &mut out);
    node.stats.status = A::status(&state);
    tracing::info!(node = cfg.id, status = ?node.stats.status, "started");
    node.execute(out.into_iter().collect(), 0)?;
    node.run(&mut state, stop)?;
    node.write_stats();
    tracing::info!(node = cfg.id, "stopped");
    Ok(())
}

impl<A> Node<'_, A>
where
    A: Hosted,
    A::Msg: Serialize + DeserializeOwned,
    A::Storage: Durable,
{
    fn run(&mut self, state: &mut A::State, stop: &Stop) -> Result<(), NodeError> {
        let mut buf = vec![0u8; 65_536];
        let mut next_tick = Instant::now();
        let mut next_log = Instant::now() + LOG_EVERY;
        let mut written = Stats::default();
        // One step: a due timer, or one batch of datagrams (waiting at most until the next tick).
        stop.run(|| {
            let now = Instant::now();
            if now >= next_tick {
                self.read_partition();
                if written != self.stats {
                    self.write_stats();
                    written = self.stats.clone();
                }
                next_tick = now + TICK;
            }
            if now >= next_log {
                tracing::info!(node = self.cfg.id, stats = ?self.counters(), "counters");
                next_log = now + LOG_EVERY;
            }
            self.flush_shim(now);
            // A due timer first.
            if let Some((timer, _)) = self.timers.iter().filter(|(_, at)| **at <= now).min_by_key(|(_, at)| **at) {
                let timer = timer.clone();
                self.timers.remove(&timer);
                if let Guard::Refuse(why) = A::admit_timeout(state, &timer) {
                    self.stats.refused += 1;
                    tracing::error!(node = self.cfg.id, ?timer, why, "timeout refused");
                    return Ok(());
                }
                let mut out = Out::new();
                let mut cow = Cow::Borrowed(&*state);
                self.actor.on_timeout(self.id, &mut cow, &timer, &mut out);
                let next = cow.into_owned();
                self.step_done(state, next, out.into_iter().collect(), 0)?;
                return Ok(());
            }
            let mut wake = next_tick.min(next_log);
            if let Some(at) = self.timers.values().min() {
                wake = wake.min(*at);
            }
            if let Some(at) = self.shim.as_ref().and_then(FaultShim::next_due) {
                wake = wake.min(at);
            }
            let wait = wake.saturating_duration_since(now).max(Duration::from_micros(100));
            self.socket.set_read_timeout(Some(wait)).map_err(NodeError::Socket)?;
            let mut commands = Vec::new();
            // How many commands came before the batch's first step that saved.
            let mut unsaved: Option<usize> = None;
            let mut next = Cow::Borrowed(&*state);
            let mut got = 0;
            while got < BATCH {
                let received = self.socket.recv_from(&mut buf);
                if got == 0 {
                    // Take whatever else is already queued without waiting.
                    self.socket.set_nonblocking(true).map_err(NodeError::Socket)?;
                }
                match received {
                    Ok((len, src)) => {
                        got += 1;
                        if let Some((sender, msg)) = self.authenticate(&buf[..len], src) {
                            if let Guard::Refuse(why) = self.actor.admit_msg(&next, sender, &msg) {
                                self.stats.refused += 1;
                                tracing::warn!(node = self.cfg.id, ?msg, why, "message refused");
                                continue;
                            }
                            let mut out = Out::new();
                            self.actor.on_msg(self.id, &mut next, sender, msg, &mut out);
                            if unsaved.is_none() && out.iter().any(|c| matches!(c, Command::Save(_))) {
                                unsaved = Some(commands.len());
                            }
                            commands.extend(out);
                        }
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        break
                    }
                    // E.g. ICMP port unreachable reported on Linux for an earlier send, or a
                    // signal (the stop flag is checked next): not failures.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                    Err(e) => {
                        tracing::warn!(node = self.cfg.id, error = %e, "recv failed");
                        break;
                    }
                }
            }
            self.socket.set_nonblocking(false).map_err(NodeError::Socket)?;
            if got > 0 {
                let next = next.into_owned();
                let unsaved = unsaved.unwrap_or(commands.len());
                self.step_done(state, next, commands, unsaved)?;
            }
            Ok(())
        })
    }

    /// Checks one datagram; `None` if it was dropped (and counted).
    fn authenticate(&mut self, bytes: &[u8], src: SocketAddr) -> Option<(Id, A::Msg)> {
        self.stats.received += 1;
        match self.check(bytes, src) {
            Ok(ok) => {
                self.stats.accepted += 1;
                Some(ok)
            }
            Err(r) => {
                self.stats.reject(r);
                tracing::debug!(node = self.cfg.id, %src, reason = %r, "datagram dropped");
                None
            }
        }
    }

    fn check(&mut self, bytes: &[u8], src: SocketAddr) -> Result<(Id, A::Msg), Reject> {
        let (header, msg): (Header, A::Msg) = wire::open(&self.cfg.key, bytes)?;
        admit_header(&header, self.cfg.id)?;
        let sender = usize::try_from(header.sender).map_err(|_| Reject::UnknownSender)?;
        let servers = self.cfg.servers.len();
        let Some(guard) = self.guards.get_mut(sender) else { return Err(Reject::UnknownSender) };
        if sender < servers && self.cfg.servers[sender] != src {
            return Err(Reject::AddrMismatch);
        }
        if !guard.accept(header.epoch, header.seq) {
            return Err(Reject::Replayed);
        }
        if !self.reaches(sender) {
            self.stats.fault_partitioned += 1;
            return Err(Reject::Partitioned);
        }
        if sender >= servers {
            self.client_addrs.insert(sender, src);
        }
        Ok((Id::from(sender), msg))
    }

    /// Ends a step: logs what changed, then executes its commands.
    fn step_done(
        &mut self,
        state: &mut A::State,
        next: A::State,
        commands: Vec<CommandOf<A>>,
        unsaved: usize,
    ) -> Result<(), NodeError> {
        self.stats.steps += 1;
        if next != *state {
            let status = A::status(&next);
            log_change(self.cfg.id, &self.stats.status, &status);
            self.stats.status = status;
            *state = next;
        }
        self.execute(commands, unsaved)
    }

    /// Saves first (only the last save matters: each holds the whole persistent state; the log
    /// appends what changed since the previous one), durably;
    /// then timers and sends in the actor's order.
    ///
    /// The first `unsaved` commands come from the batch's steps before its first step that
    /// saved, so they depend on no unsaved state and leave at once, before the fsync: e.g. the
    /// replies a leader's commit produces do not wait for the fsync of requests that arrived with
    /// them.
    fn execute(&mut self, mut commands: Vec<CommandOf<A>>, unsaved: usize) -> Result<(), NodeError> {
        let rest = commands.split_off(unsaved.min(commands.len()));
        self.run_commands(commands);
        let last_save = rest.iter().rposition(|c| matches!(c, Command::Save(_)));
        if let Some(Command::Save(s)) = last_save.and_then(|i| rest.get(i)) {
            self.storage.save(s)?;
            self.stats.saves += 1;
        }
        self.run_commands(rest);
        Ok(())
    }

    /// Timers and sends, in order (saves are done by [`Self::execute`]).
    fn run_commands(&mut self, commands: Vec<CommandOf<A>>) {
        for c in commands {
            match c {
                Command::Save(_) => {}
                Command::SetTimer(timer, range) => {
                    let d = if range.start < range.end {
                        use rand::Rng;
                        rand::rng().random_range(range)
                    } else {
                        range.start
                    };
                    self.timers.insert(timer, Instant::now() + d);
                }
                Command::CancelTimer(timer) => {
                    self.timers.remove(&timer);
                }
                Command::Send(dst, msg) => self.send(dst, &msg),
                Command::ChooseRandom(..) => {
                    tracing::warn!(node = self.cfg.id, "ChooseRandom is not supported by this runtime; ignored")
                }
            }
        }
    }

    /// Whether the partition (if any) lets this node talk to actor `id` (clients always pass).
    fn reaches(&self, id: usize) -> bool {
        id >= self.cfg.servers.len() || self.reachable.as_ref().is_none_or(|r| r.contains(&id))
    }

    fn read_partition(&mut self) {
        let Some(path) = &self.cfg.faults.partition_file else { return };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        match super::faults::read_partition(&text, self.cfg.id) {
            Ok(r) if r != self.reachable => {
                tracing::info!(node = self.cfg.id, reachable = ?r, "partition changed");
                self.reachable = r;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(node = self.cfg.id, error = %e, "partition file ignored"),
        }
    }

    fn send(&mut self, dst: Id, msg: &A::Msg) {
        let to = usize::from(dst);
        if !self.reaches(to) {
            self.stats.fault_partitioned += 1;
            return;
        }
        let addr = match self.cfg.servers.get(to) {
            Some(a) => *a,
            None => match self.client_addrs.get(&to) {
                Some(a) => *a,
                None => {
                    self.stats.no_route += 1;
                    return;
                }
            },
        };
        self.seq += 1;
        let header = Header {
            cluster: self.cfg.key.cluster_id(),
            sender: self.cfg.id as u64,
            receiver: to as u64,
            epoch: self.epoch,
            seq: self.seq,
        };
        let bytes = match wire::seal(&self.cfg.key, &header, msg) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(node = self.cfg.id, error = %e, ?msg, "cannot encode");
                return;
            }
        };
        match &mut self.shim {
            Some(shim) => {
                shim.push(Instant::now(), addr, bytes);
                self.flush_shim(Instant::now());
            }
            None => self.send_now(addr, &bytes),
        }
    }

    fn flush_shim(&mut self, now: Instant) {
        let Some(shim) = &mut self.shim else { return };
        let due = shim.due(now);
        self.stats.fault_dropped = shim.dropped;
        self.stats.fault_duplicated = shim.duplicated;
        for (addr, bytes) in due {
            self.send_now(addr, &bytes);
        }
    }

    fn send_now(&mut self, addr: SocketAddr, bytes: &[u8]) {
        match self.socket.send_to(bytes, addr) {
            Ok(_) => self.stats.sent += 1,
            Err(e) => {
                self.stats.send_errors += 1;
                tracing::debug!(node = self.cfg.id, %addr, error = %e, "send failed");
            }
        }
    }

    fn counters(&self) -> Stats {
        Stats { status: Status::default(), ..self.stats.clone() }
    }

    /// Writes the stats file atomically (temp + rename; no fsync: it is for observation only).
    fn write_stats(&self) {
        let Some(path) = &self.cfg.stats_file else { return };
        let tmp = path.with_extension("tmp");
        let result = serde_json::to_vec_pretty(&self.stats)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = result {
            tracing::warn!(node = self.cfg.id, path = %path.display(), error = %e, "cannot write the stats file");
        }
    }
}

/// The model's network delivers a message only to its addressee, and never to its own sender
/// (no actor sends to itself): a datagram is for node `me` only if its authenticated header names
/// `me` as the receiver and another actor as the sender.
pub fn admit_header(header: &Header, me: usize) -> Result<(), Reject> {
    if header.receiver != me as u64 {
        return Err(Reject::Misaddressed);
    }
    if header.sender == me as u64 {
        return Err(Reject::FromSelf);
    }
    Ok(())
}

type CommandOf<A> = Command<
    <A as stateright::actor::Actor>::Msg,
    <A as stateright::actor::Actor>::Timer,
    <A as stateright::actor::Actor>::Random,
    <A as stateright::actor::Actor>::Storage,
>;

/// Role changes and commits at info, as the design asks.
fn log_change(id: usize, before: &Status, after: &Status) {
    if before.role != after.role || before.term != after.term {
        tracing::info!(node = id, role = %after.role, term = after.term, "role");
    }
    if after.commit > before.commit {
        tracing::info!(node = id, commit = after.commit, last = %after.last, "committed");
    }
}

/// Asks for a 4 MiB receive buffer (the kernel caps it at `net.core.rmem_max`), so that a burst —
/// many clients, or a flood — is queued rather than dropped while the node fsyncs. Best effort.
fn grow_receive_buffer(socket: &UdpSocket) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let size: libc::c_int = 4 << 20;
        // SAFETY: setsockopt with a pointer to a live c_int and its exact size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot grow the receive buffer");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::wire::KEY_LEN;
    use stateright::actor::Actor;
    use std::sync::Arc;

    /// Emits its send *before* its save, to show the node reorders them.
    #[derive(Clone)]
    struct SendsThenSaves;

    impl Actor for SendsThenSaves {
        type Msg = u8;
        type State = u8;
        type Timer = ();
        type Random = ();
        type Storage = u8;

        fn on_start(&self, _id: Id, storage: &Option<u8>, o: &mut Out<Self>) -> u8 {
            o.send(Id::from(1), 7);
            o.save(storage.map_or(1, |s| s + 1));
            0
        }
    }

    impl Hosted for SendsThenSaves {
        fn status(_: &u8) -> Status {
            Status::default()
        }
    }

    #[test]
    fn a_step_save_is_on_disk_before_its_message_leaves_and_is_recovered_on_restart() {
        let dir = tempfile::tempdir().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let me = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let key = ClusterKey::from_bytes([3; KEY_LEN]);
        let cfg = NodeCfg {
            id: 0,
            servers: vec![me, peer.local_addr().unwrap()],
            clients: 0,
            data_dir: dir.path().to_owned(),
            key: key.clone(),
            stats_file: None,
            faults: FaultCfg::default(),
        };
        for boot in 1..=2u8 {
            let stop = Arc::new(Stop::new());
            let node = {
                let (cfg, stop) = (cfg.clone(), stop.clone());
                std::thread::spawn(move || run_node(SendsThenSaves, &cfg, &stop))
            };
            let mut buf = [0u8; 4096];
            let (len, _) = peer.recv_from(&mut buf).unwrap();
            // Checked at once: the save of this step must already be durable.
            let store = RecordLog::<u8>::open(dir.path(), "state").unwrap();
            assert_eq!(store.saved(), Some(&boot), "boot {boot}");
            let (h, msg): (Header, u8) = wire::open(&key, &buf[..len]).unwrap();
            assert_eq!((h.sender, h.seq, msg), (0, 1, 7));
            stop.request();
            node.join().unwrap().unwrap();
        }
    }
}
