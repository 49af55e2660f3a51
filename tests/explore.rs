//! `quorum explore`: the Explorer serves the same model as `check`, and with `--bug` the printed
//! deep link leads to the counterexample's last state. Plain HTTP over loopback; tests/browser.rs
//! drives the page itself in headless Chromium.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the Explorer when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").to_string()
}

fn start(args: &[&str]) -> (Server, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("quorum starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let server = Server(child);
    // The last line printed before serving is "Explorer: URL".
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().take(20) {
        let line = line.expect("utf-8 output");
        let done = line.starts_with("Explorer: ");
        lines.push(line);
        if done {
            break;
        }
    }
    (server, lines)
}

/// GET `path`, retrying a bounded number of times while the server starts.
fn get(addr: &str, path: &str) -> String {
    for _ in 0..100 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout set");
            let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                let mut body = String::new();
                if s.read_to_string(&mut body).is_ok() && body.starts_with("HTTP/1.1 200") {
                    return body;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no answer from the Explorer at {addr}{path}");
}

#[test]
fn explore_serves_the_paxos_model_with_its_properties() {
    let addr = free_addr();
    let (_server, lines) = start(&["explore", "paxos", "--clients", "0", "--crashes", "0", "--addr", &addr]);
    assert!(lines.iter().any(|l| l == &format!("Explorer: http://{addr}/")), "{lines:?}");
    let status = get(&addr, "/.status");
    for name in ["agreement", "validity", "linearizable", "value chosen", "eventually chosen"] {
        assert!(status.contains(&format!("\"{name}\"")), "property {name} missing: {status}");
    }
    let next = get(&addr, "/.states/0");
    assert!(next.contains("p3 -> a0 : Prepare(b1.3)"), "the first steps are named by role: {next}");
}

#[test]
fn explore_with_a_bug_links_to_the_counterexample() {
    let addr = free_addr();
    let (_server, lines) = start(&["explore", "paxos", "--bug", "promise-not-persisted", "--addr", &addr]);
    let link = lines
        .iter()
        .find(|l| l.starts_with("counterexample for \"agreement\" (14 steps): "))
        .unwrap_or_else(|| panic!("no counterexample link in {lines:?}"));
    let steps = link.split("#/steps").nth(1).expect("a #/steps link");
    let last = get(&addr, &format!("/.states{steps}"));
    // The counterexample ends with a1 accepting B after it accepted A (14 steps, see docs/paxos.md).
    assert!(last.contains("accepted b1.4=B"), "{last}");
}

/// A bug whose counterexample a scenario replays (a search would take minutes): `explore`
/// links to the scenario's last state at once, and there the two correct replicas r2 and r3
/// have executed different requests at #1.
#[test]
fn explore_with_a_bug_shown_by_a_scenario_links_to_it_without_a_search() {
    let addr = free_addr();
    let (_server, lines) = start(&["explore", "pbft", "--bug", "commit-quorum-2f", "--addr", &addr]);
    let link = lines
        .iter()
        .find(|l| l.starts_with("counterexample (scenario pbft-commit-quorum-2f, 24 steps): "))
        .unwrap_or_else(|| panic!("no scenario link in {lines:?}"));
    let steps = link.split("#/steps").nth(1).expect("a #/steps link");
    let last = get(&addr, &format!("/.states{steps}"));
    assert!(last.contains("executed [1:get0.2]") && last.contains("executed [1:put0.1=A]"), "{last}");
}

#[test]
fn explore_on_a_busy_port_is_a_clear_error() {
    let busy = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let addr = busy.local_addr().expect("its address").to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["explore", "paxos", "--addr", &addr])
        .output()
        .expect("quorum runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot serve on") && !err.contains("panicked"), "{err}");
}
