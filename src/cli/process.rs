//! Child processes: the nodes that `quorum cluster` and `quorum bench` start (each in its own
//! process group, stopped in order, and ended with their parent), and the measured runs of
//! `quorum bench check` (a watchdog, and the child's own CPU time and peak memory from `wait4`).

use anyhow::{bail, Context, Result};
use std::io::Read as _;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Nodes started by `cluster` or `bench`: stopped when dropped, with SIGTERM, then SIGKILL for
/// any still running after 3 s.
#[derive(Default)]
pub struct Children(Vec<Child>);

impl Children {
    pub fn push(&mut self, child: Child) {
        self.0.push(child);
    }

    /// Each child, with its index in the order they were pushed.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut Child)> {
        self.0.iter_mut().enumerate()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            #[allow(clippy::cast_possible_wrap)]
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            unsafe {
                libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for c in &mut self.0 {
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

/// Starts node `i` with no stdin, in its own process group — a terminal's Ctrl-C reaches only
/// us, and we stop the nodes in order (SIGTERM, then SIGKILL after 3 s) instead of racing their
/// exits — and ended with us if we die.
pub fn spawn_node(cmd: &mut Command, i: usize) -> Result<Child> {
    cmd.stdin(Stdio::null())
        .process_group(0)
        .die_with_parent()
        .spawn()
        .with_context(|| format!("cannot start node {i}"))
}

/// Child nodes get SIGTERM when the `cluster` or `bench` process dies, even by SIGKILL: they run
/// in their own process group, so nothing else would stop them.
trait DieWithParent {
    fn die_with_parent(&mut self) -> &mut Self;
}

impl DieWithParent for Command {
    fn die_with_parent(&mut self) -> &mut Self {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe, as pre_exec requires.
        unsafe {
            self.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self
    }
}

/// What a finished child printed and cost.
pub struct ChildRun {
    pub stdout: String,
    /// None if killed by a signal.
    pub code: Option<i32>,
    pub seconds: f64,
    /// User + system CPU seconds.
    pub cpu: f64,
    /// Peak resident memory in bytes.
    pub max_rss: u64,
    /// The unique-state count of the last progress line on stderr (ours print one every 2 s).
    pub last_progress: Option<u64>,
}

/// Runs `cmd` to its end with stdout and stderr captured; with `kill_after`, a watchdog kills it
/// (SIGKILL) if it is still running then — `quorum check --timeout` is not always prompt.
pub fn run_child(cmd: &mut Command, kill_after: Option<Duration>) -> Result<ChildRun> {
    use std::io::BufRead as _;
    use std::sync::{Arc, Mutex};
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    let stderr = child.stderr.take().map(|e| {
        std::thread::spawn(move || {
            let mut last = None;
            for line in std::io::BufReader::new(e).lines().map_while(Result::ok) {
                if line.contains("unique states") {
                    if let Some(n) =
                        line.split(": ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok())
                    {
                        last = Some(n);
                    }
                }
            }
            last
        })
    });
    // Whether the child has exited. The watchdog checks it and kills under the lock, and the
    // main thread sets it while the exited child is still a zombie (waitid with WNOWAIT), before
    // reaping it: so the kill can only reach our own child, never a process that reused its pid.
    let done = Arc::new(Mutex::new(false));
    let exited = |done: &Mutex<bool>| *done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(limit) = kill_after {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while started.elapsed() < limit {
                if exited(&done) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let guard = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !*guard {
                // SAFETY: a plain syscall on our own child, not yet reaped: it is reaped only
                // after `done` is set, and `done` cannot be set while we hold its lock.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out).context("cannot read the child's output")?;
    }
    // SAFETY: siginfo_t is plain data; waitid fills it for our own child and, with WNOWAIT,
    // leaves it unreaped (a zombie keeps its pid).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("waitid failed for {cmd:?}: {e}");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    *done.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it and the status for our own child, which has
    // exited and not been reaped (std's Child is never waited on here).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4 failed for {cmd:?}: {}", std::io::Error::last_os_error());
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in KiB.
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    let last_progress = stderr.and_then(|t| t.join().ok()).flatten();
    Ok(ChildRun { stdout: out, code, seconds, cpu, max_rss, last_progress })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_kills_a_child_past_its_limit_and_leaves_a_quick_one_alone() {
        let slow = run_child(Command::new("sleep").arg("20"), Some(Duration::from_millis(300))).expect("sleep runs");
        assert_eq!(slow.code, None, "killed by a signal");
        assert!(slow.seconds < 10.0, "{}", slow.seconds);
        let quick = run_child(&mut Command::new("true"), Some(Duration::from_secs(20))).expect("true runs");
        assert_eq!(quick.code, Some(0));
        assert!(quick.max_rss > 0);
    }
}
