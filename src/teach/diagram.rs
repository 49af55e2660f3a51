//! Message-sequence diagrams of traces, as standalone SVG files.
//!
//! Stateright draws the diagram (`Model::as_svg`: one timeline per actor, an arrow from the step
//! that sent a message to the step that delivered it, a circle for a timeout, crash or restart).
//! Its SVG relies on the Explorer's stylesheet, so lines would be invisible in a file of their
//! own; this module adds a stylesheet, a white background, a title, step numbers and the actors'
//! trace names (s0, c3, a0, p3, r0, …), and writes the diagrams the guide embeds.

use crate::check::{CheckOptions, Status, Strategy};
use crate::protocol::{Configured, Protocol, PROTOCOLS};
use crate::teach::scenario;
use stateright::{Model, Path};
use std::path::{Path as FsPath, PathBuf};

const STYLE: &str = "<style>\
.svg-actor-timeline{stroke:#999;stroke-width:1;stroke-dasharray:4 3}\
.svg-actor-label{font:bold 14px sans-serif;fill:#111}\
.svg-event-line{stroke:#2b5fad;stroke-width:1.5}\
.svg-event-shape{fill:#c0392b}\
.svg-event-label{font:12px monospace;fill:#222}\
.step{font:11px monospace;fill:#777;text-anchor:end}\
.title{font:bold 14px sans-serif;fill:#111}\
</style>";

/// Escapes text for SVG.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn attribute(svg: &str, name: &str) -> Option<u64> {
    let at = svg.find(&format!(" {name}='"))? + name.len() + 3;
    let end = svg[at..].find('\'')? + at;
    svg[at..end].parse().ok()
}

/// The diagram of `path`, titled `title`, with actors named `names` (in id order).
pub fn render<M: Model>(model: &M, path: Path<M::State, M::Action>, names: &[String], title: &str) -> Option<String>
where
    M::State: Clone,
    M::Action: Clone,
{
    let steps = path.clone().into_actions().len();
    let raw = model.as_svg(path)?;
    let header_end = raw.find('>')? + 1;
    let (width, height) = (attribute(&raw, "width")?, attribute(&raw, "height")?);
    let mut body = raw[header_end..].to_owned();
    // Stateright labels actors "<id> <role>"; traces call them s0, c3, a0, p3, r0, …, and mark a
    // Byzantine replica "r0 (Byzantine)".
    for (i, name) in names.iter().enumerate() {
        for role in ["Server", "Client", "Acceptor", "Proposer", "Learner", "Replica", "Byzantine replica"] {
            let label = if role == "Byzantine replica" { format!("{name} (Byzantine)") } else { name.clone() };
            body = body.replace(
                &format!("class='svg-actor-label'>{i} {role}</text>"),
                &format!("class='svg-actor-label'>{}</text>", xml_escape(&label)),
            );
        }
    }
    let (w, h) = (width + 80, height + 70);
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' version='1.1' width='{w}' height='{h}' viewBox='-50 -55 {w} {h}'>\n{STYLE}\n\
         <rect x='-50' y='-55' width='{w}' height='{h}' fill='white'/>\n\
         <text x='-40' y='-32' class='title'>{}</text>\n",
        xml_escape(title)
    );
    for t in 1..=steps {
        svg.push_str(&format!("<text x='-22' y='{}' class='step'>{t}</text>\n", t * 30 + 4));
    }
    svg.push_str(&body);
    if !svg.ends_with('\n') {
        svg.push('\n');
    }
    Some(svg)
}

/// The diagram of the path the Explorer encodes as `encoded` (a report's `explorer_path`).
pub fn from_encoded<P: Protocol>(cfg: &P, encoded: &str, title: &str) -> Option<String> {
    let model = cfg.model();
    let path = scenario::path_from_encoded(&model, encoded)?;
    render(&model, path, &cfg.actor_names(), title)
}

/// The gallery's file name of a planted bug's diagram.
pub fn bug_file(protocol: &str, bug: &str) -> String {
    format!("{protocol}-{bug}.svg")
}

/// The gallery's file name of a scenario's diagram.
pub fn scenario_file(name: &str) -> String {
    format!("scenario-{name}.svg")
}

/// A shortest counterexample of `cfg`'s planted bug for property `breaks`, drawn. BFS on one
/// thread, so that the same counterexample is found every time.
fn bug_diagram(cfg: &dyn Configured, bug: &str, breaks: &str) -> Result<String, String> {
    let opts =
        CheckOptions { strategy: Strategy::Bfs, threads: 1, stop_at_first_failure: true, ..CheckOptions::default() };
    let report = cfg.check(&opts);
    let protocol = cfg.protocol();
    let p = report
        .property(breaks)
        .filter(|p| p.status == Status::Violated)
        .ok_or_else(|| format!("{protocol} --bug {bug}: no counterexample for \"{breaks}\""))?;
    let title = format!("{protocol} --bug {bug}: \"{breaks}\" violated in {} steps", p.trace.len());
    cfg.svg(&p.explorer_path, &title).ok_or_else(|| format!("{protocol} --bug {bug}: cannot draw the trace"))
}

/// Every diagram of the guide: each planted bug's counterexample (or, for a bug a search would
/// take too long to draw, the scenario that replays it) and each scenario, as (file name, SVG).
/// This is what `quorum docs diagrams DIR` writes into docs/diagrams/.
pub fn gallery() -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for door in PROTOCOLS {
        for (bug, cfg, scenario) in door.bug_configs() {
            if scenario.is_some() {
                continue;
            }
            out.push((bug_file(door.name(), bug.name), bug_diagram(cfg.as_ref(), bug.name, bug.breaks)?));
        }
    }
    for s in scenario::all() {
        let run = s.run().map_err(|e| format!("scenario {}: {e}", s.name()))?;
        let svg = run.svg.ok_or_else(|| format!("scenario {}: cannot draw the trace", s.name()))?;
        out.push((scenario_file(s.name()), svg));
    }
    Ok(out)
}

/// Writes [`gallery`] into `dir` (created if missing); returns the files written.
pub fn write_gallery(dir: &FsPath) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (name, svg) in gallery()? {
        let file = dir.join(name);
        std::fs::write(&file, svg).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        written.push(file);
    }
    Ok(written)
}
