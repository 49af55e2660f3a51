//! The Explorer in a real browser: the test starts `quorum explore <protocol>` and a chromedriver
//! on free loopback ports, drives Debian's headless Chromium through WebDriver (fantoccini), and
//! checks what a user sees: the page loads, the initial states are listed, clicking a next action
//! changes the shown state, the property panel names every property, states are printed compactly,
//! and a `--bug` run's deep link shows the violating state.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the tests say why and skip, except under
//! `CI=true`, where that is a failure (`.ci/run` installs both). Every wait polls with a bound; on
//! a failure the page is saved as a screenshot in a temp dir whose path is printed.
//!
//! Adding a protocol is one more call of [`explorer_shows`] and of [`bug_link_shows`].

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Every wait polls at most this many times, this far apart (20 s: the machine is shared).
const POLLS: u32 = 200;
const POLL_EVERY: Duration = Duration::from_millis(100);

// Where the Explorer's panels are (Stateright 0.31, ui/index.htm).
const MODEL: &str = "//nav//li[label='Model:']/span";
const PROPERTIES: &str = "//h3[.='Global']/following-sibling::ul[1]/li/*[contains(@class, 'font-code')]";
const PATH: &str = "//h2[.='Path of Actions']/following-sibling::ol[1]/li/a";
const NEXT: &str = "//h2[.='Next Action Choices']/following-sibling::ul[1]/li/a";
const STATE: &str = "//section[contains(@class, 'main-flex-right')]/div[contains(@class, 'font-small')]";
const COMPLETE_STATE: &str = "//label[contains(., 'Complete State?')]/input";

/// A process this test started, killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

/// Whether Chromium and chromedriver are installed. Outside CI a missing one skips the test with
/// the reason; with `CI=true` it fails the test.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    let why =
        format!("{} not found: install Debian's chromium and chromium-driver (.ci/run does)", missing.join(" and "));
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the browser test cannot run under CI=true: {why}");
    }
    eprintln!("skipping the browser test: {why}");
    false
}

/// Starts `quorum explore ARGS --addr 127.0.0.1:PORT` and returns it with the lines it printed up
/// to "Explorer: URL" (with `--bug`, the counterexample links come first).
fn start_explorer(args: &[&str]) -> (Killed, String, Vec<String>) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(args)
        .args(["--addr", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("quorum starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let server = Killed(child);
    let url = format!("http://{addr}/");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().take(20) {
        let line = line.expect("utf-8 output");
        let done = line == format!("Explorer: {url}");
        lines.push(line);
        if done {
            return (server, url, lines);
        }
    }
    panic!("quorum explore {args:?} did not print \"Explorer: {url}\": {lines:?}");
}

/// Starts chromedriver on a free port and waits (bounded) until it accepts connections.
fn start_chromedriver() -> (Killed, String) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Killed(child);
    for _ in 0..POLLS {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (driver, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(POLL_EVERY);
    }
    panic!("chromedriver did not listen on port {port} within {:?}", POLL_EVERY * POLLS);
}

/// Runs `steps` in a fresh headless Chromium (own profile dir) and fails the test with their
/// error, after saving a screenshot of the page. The session is always closed, which ends Chromium;
/// chromedriver and its temp profile go when this returns.
fn in_browser<F, Fut>(name: &str, steps: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let profile = tempfile::Builder::new().prefix("quorum-chromium-").tempdir().expect("a temp dir");
    let (_driver, driver_url) = start_chromedriver();
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--no-first-run".to_owned(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".to_owned(), json!({ "binary": CHROMIUM, "args": args }));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let outcome = rt.block_on(async {
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver_url)
            .await
            .map_err(|e| format!("no WebDriver session with Chromium: {e}"))?;
        let _ = client.set_window_size(1280, 1024).await;
        let result = steps(client.clone()).await;
        if result.is_err() {
            save_screenshot(&client, name).await;
        }
        let _ = client.close().await;
        result
    });
    if let Err(e) = outcome {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {:.1} s in the browser", started.elapsed().as_secs_f64());
}

async fn save_screenshot(client: &Client, name: &str) {
    let png = match client.screenshot().await {
        Ok(png) => png,
        Err(e) => return eprintln!("{name}: no screenshot: {e}"),
    };
    let dir = match tempfile::Builder::new().prefix("quorum-browser-").tempdir() {
        Ok(dir) => dir.keep(),
        Err(e) => return eprintln!("{name}: no temp dir for the screenshot: {e}"),
    };
    let path = dir.join(format!("{name}.png"));
    match std::fs::write(&path, png) {
        Ok(()) => eprintln!("{name}: screenshot of the failing page: {}", path.display()),
        Err(e) => eprintln!("{name}: cannot write {}: {e}", path.display()),
    }
}

/// Calls `probe` until it gives a value, at most [`POLLS`] times.
async fn poll<T, F, Fut>(what: &str, mut probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..POLLS {
        if let Some(t) = probe().await {
            return Ok(t);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    Err(format!("gave up after {:?} waiting for {what}", POLL_EVERY * POLLS))
}

/// The visible texts of the elements at `xpath`, or None while the page re-renders under us.
async fn texts(c: &Client, xpath: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::XPath(xpath)).await.ok()? {
        out.push(e.text().await.ok()?.trim().to_owned());
    }
    Some(out)
}

/// Waits (bounded) until the texts at `xpath` satisfy `ok`, and returns them.
async fn wait_texts(
    c: &Client,
    what: &str,
    xpath: &str,
    ok: impl Fn(&[String]) -> bool,
) -> Result<Vec<String>, String> {
    let mut last = None;
    for _ in 0..POLLS {
        if let Some(t) = texts(c, xpath).await {
            if ok(&t) {
                return Ok(t);
            }
            last = Some(t);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    Err(format!("gave up after {:?} waiting for {what}; the page shows {last:?}", POLL_EVERY * POLLS))
}

/// The shown state, once it contains every one of `needles`.
async fn wait_state(c: &Client, what: &str, needles: &[&str]) -> Result<String, String> {
    let t = wait_texts(c, what, STATE, |t| t.len() == 1 && needles.iter().all(|n| t[0].contains(n))).await?;
    Ok(t[0].clone())
}

/// Clicks the link at `xpath` whose text is `text`.
async fn click_link(c: &Client, xpath: &str, text: &str) -> Result<(), String> {
    poll(&format!("a link \"{text}\" to click"), || async {
        for e in c.find_all(Locator::XPath(xpath)).await.ok()? {
            if e.text().await.ok()?.trim() == text {
                return e.click().await.ok();
            }
        }
        None
    })
    .await
}

/// Ticks "Complete State?", so that the whole system state is shown rather than one step's outcome.
async fn show_complete_state(c: &Client) -> Result<(), String> {
    let checkbox =
        c.find(Locator::XPath(COMPLETE_STATE)).await.map_err(|e| format!("no Complete State checkbox: {e}"))?;
    if !checkbox.is_selected().await.map_err(|e| e.to_string())? {
        checkbox.click().await.map_err(|e| format!("cannot tick Complete State: {e}"))?;
    }
    Ok(())
}

/// Whether the property panel lists every name in `properties` (shown as "Always agreement", …).
fn lists_properties(shown: &[String], properties: &[&str]) -> bool {
    properties.iter().all(|name| {
        shown.iter().any(|s| {
            s.split_once(' ').is_some_and(|(exp, n)| n == *name && ["Always", "Sometimes", "Eventually"].contains(&exp))
        })
    })
}

/// What the Explorer of one model must show when stepped from its first initial state.
struct Walk<'a> {
    /// `quorum explore` arguments (the test adds `--addr`).
    args: &'a [&'a str],
    /// Every property of the model, by name.
    properties: &'a [&'a str],
    /// Text of the first initial state, in its compact form.
    init_shows: &'a str,
    /// A next action of the initial state, as the Explorer names it.
    action: &'a str,
    /// Text of the state after `action` (compact form), in the step view and the complete state.
    then_shows: &'a str,
    /// Texts that a verbose state would show instead (derived `Debug`), which must not appear.
    not_shown: &'a [&'a str],
}

/// Loads the Explorer, checks the status and property panels, picks the first initial state,
/// clicks `walk.action` and checks that the shown state and the path follow.
fn explorer_shows(name: &str, walk: Walk) {
    if !browser_installed() {
        return;
    }
    let (_server, url, _) = start_explorer(walk.args);
    in_browser(name, |c| async move {
        c.goto(&url).await.map_err(|e| format!("cannot load {url}: {e}"))?;
        let title = c.title().await.map_err(|e| e.to_string())?;
        if title != "Stateright Explorer" {
            return Err(format!("the page title is {title:?}"));
        }
        wait_texts(&c, "the model's name in the status panel", MODEL, |t| t.len() == 1 && t[0].ends_with("Model"))
            .await?;
        wait_texts(&c, "every property by name", PROPERTIES, |t| lists_properties(t, walk.properties)).await?;

        let inits = wait_texts(&c, "the initial states", NEXT, |t| !t.is_empty()).await?;
        if !inits.iter().all(|t| t.starts_with("Init ")) {
            return Err(format!("before a state is picked, the choices should be initial states: {inits:?}"));
        }
        click_link(&c, NEXT, "Init 0").await?;
        let init = wait_state(&c, "the initial state", &[walk.init_shows]).await?;
        wait_texts(&c, "the initial state's next actions", NEXT, |t| t.iter().any(|a| a == walk.action)).await?;

        click_link(&c, NEXT, walk.action).await?;
        let step = wait_state(&c, "the state after the action", &[walk.then_shows]).await?;
        if step == init {
            return Err("clicking a next action did not change the shown state".to_owned());
        }
        wait_texts(&c, "the action at the end of the path", PATH, |t| t.last().is_some_and(|a| a == walk.action))
            .await?;
        let hash = c.current_url().await.map_err(|e| e.to_string())?.fragment().unwrap_or_default().to_owned();
        if !hash.starts_with("/steps/0/") {
            return Err(format!("the URL should name the step, it ends in #{hash}"));
        }

        show_complete_state(&c).await?;
        let full = wait_state(&c, "the complete state", &["actor_states", walk.then_shows]).await?;
        if let Some(verbose) = walk.not_shown.iter().find(|v| full.contains(**v)) {
            return Err(format!("the state is not compact, it shows {verbose:?}: {full}"));
        }
        Ok(())
    });
}

/// Starts `quorum explore ARGS` (with `--bug`), follows the printed link to the counterexample of
/// `property` and checks that the Explorer shows its `steps` and, as the complete state of the last
/// one, every text of `last_shows`.
fn bug_link_shows(name: &str, args: &[&str], property: &str, steps: usize, last_shows: &[&str]) {
    if !browser_installed() {
        return;
    }
    let (_server, _, lines) = start_explorer(args);
    let prefix = format!("counterexample for \"{property}\" ({steps} steps): ");
    let link = lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {lines:?}"))
        .to_owned();
    let fragment = link.split_once('#').map(|(_, f)| f.to_owned()).expect("the link has a #/steps/… fragment");
    in_browser(name, |c| async move {
        c.goto(&link).await.map_err(|e| format!("cannot load {link}: {e}"))?;
        // Pre-init, the initial state, then one entry per step; the last one is selected.
        let path = wait_texts(&c, "the counterexample's path", PATH, |t| t.len() == steps + 2).await?;
        let selected = texts(&c, &format!("{PATH}[contains(@class, 'is-selected-state')]")).await;
        if selected.as_deref() != Some(&path[steps + 1..]) {
            return Err(format!("the last step should be selected, not {selected:?}"));
        }
        show_complete_state(&c).await?;
        wait_state(&c, "the violating state", last_shows).await?;
        let url = c.current_url().await.map_err(|e| e.to_string())?;
        if url.fragment() != Some(fragment.as_str()) {
            return Err(format!("the Explorer moved away from the link to {url}"));
        }
        Ok(())
    });
}

const PAXOS_PROPERTIES: &[&str] = &[
    "agreement",
    "learner agreement",
    "validity",
    "stability",
    "linearizable",
    "value chosen",
    "dueling proposers",
    "eventually chosen",
];

#[test]
fn paxos_explorer_lists_properties_and_steps_through_compact_states() {
    explorer_shows(
        "paxos_explorer",
        Walk {
            args: &["explore", "paxos", "--clients", "0", "--crashes", "0"],
            properties: PAXOS_PROPERTIES,
            init_shows: "Acceptor(no promise)",
            // Proposer 3 starts ballot b1.3 on its own; acceptor 0 promises it.
            action: "p3 -> a0 : Prepare(b1.3)",
            then_shows: "Acceptor(promised b1.3)",
            not_shown: &["promised: Some(", "Ballot {", "votes: {", "accept_requests: {"],
        },
    );
}

#[test]
fn paxos_bug_link_shows_the_violating_state() {
    // The counterexample ends with acceptor 1 accepting B after it accepted A (docs/paxos.md),
    // both ballots having reached phase 2.
    bug_link_shows(
        "paxos_bug_link",
        &["explore", "paxos", "--bug", "promise-not-persisted"],
        "agreement",
        14,
        &["Acceptor(promised b1.4, accepted b1.4=B)", "accept_requests: [b1.3 b1.4]"],
    );
}

const RAFT_PROPERTIES: &[&str] = &[
    "election safety",
    "leader append-only",
    "log matching",
    "leader completeness",
    "state machine safety",
    "committed entries durable",
    "linearizable",
    "leader elected",
    "entry committed",
    "requests eventually committed",
];

#[test]
fn raft_explorer_lists_properties_and_steps_through_compact_states() {
    explorer_shows(
        "raft_explorer",
        Walk {
            args: &["explore", "raft", "--crashes", "0"],
            properties: RAFT_PROPERTIES,
            // Every server starts as a follower of term 0 with an empty log.
            init_shows: "F t0 log [] commit 0",
            // Server 0's election timer fires: it becomes a candidate of term 1 and votes for itself.
            action: "s0 election timeout",
            then_shows: "C(votes s0) t1 voted s0 log [] commit 0",
            not_shown: &["voted_for: Some(", "Entry {", "Candidate {", "leaders: {"],
        },
    );
}

#[test]
fn raft_bug_link_shows_the_violating_state() {
    // docs/raft.md: the leader takes an acknowledgement of its no-op for one of its whole log and
    // commits the Put that only it holds.
    bug_link_shows(
        "raft_bug_link",
        &["explore", "raft", "--bug", "stale-append-response"],
        "committed entries durable",
        6,
        &["log [t1:noop, t1:put0.1=A] commit 2", "applied: [1:t1:noop@t1 2:t1:put0.1=A@t1]"],
    );
}
