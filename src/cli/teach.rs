//! The teaching commands: `quorum scenario`, the hidden `quorum docs diagrams DIR`, and the
//! `--svg FILE` of `quorum check`.

use super::usage;
use clap::{Args, Subcommand};
use quorum::check::{CheckReport, Status};
use quorum::teach::scenario;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ScenarioArgs {
    /// A scenario's name, or `list` to list them
    pub name: String,
    /// Also write the trace as an SVG message-sequence diagram to FILE
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum DocsCommand {
    /// Write the diagram of every planted bug and every scenario into DIR (docs/diagrams)
    Diagrams { dir: PathBuf },
}

fn write_svg(file: &Path, svg: &str) -> Result<(), ExitCode> {
    std::fs::write(file, svg).map_err(|e| usage(format!("cannot write {}: {e}", file.display())))?;
    eprintln!("wrote {}", file.display());
    Ok(())
}

/// `quorum scenario list` and `quorum scenario NAME [--svg FILE]`: exit 0 when the scenario's
/// outcome holds, 1 when it does not, 2 for an unknown name or an unwritable file.
pub fn scenario(a: ScenarioArgs) -> ExitCode {
    if a.name == "list" {
        for s in scenario::all() {
            println!("{:<26} {:<6} {}", s.name(), s.protocol(), s.about());
        }
        return ExitCode::SUCCESS;
    }
    let Some(s) = scenario::find(&a.name) else {
        let names: Vec<_> = scenario::all().iter().map(|s| s.name()).collect();
        return usage(format!("unknown scenario '{}'; the scenarios are: {}", a.name, names.join(", ")));
    };
    let run = match s.run() {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: scenario {} does not replay: {e}", s.name());
            return ExitCode::from(1);
        }
    };
    print!("{}", run.render());
    if let Some(file) = &a.svg {
        match &run.svg {
            Some(svg) => {
                if let Err(code) = write_svg(file, svg) {
                    return code;
                }
            }
            None => return usage("the trace cannot be drawn"),
        }
    }
    if run.holds() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `quorum docs diagrams DIR`.
pub fn docs(c: DocsCommand) -> ExitCode {
    match c {
        DocsCommand::Diagrams { dir } => match quorum::teach::diagram::write_gallery(&dir) {
            Ok(files) => {
                for f in files {
                    println!("{}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => usage(e),
        },
    }
}

/// `quorum check … --svg FILE`: draws the first violated property's counterexample with `draw`
/// (the model's renderer for an Explorer path). Returns an exit code only on failure.
pub fn check_svg(
    report: &CheckReport,
    file: &Path,
    draw: impl Fn(&str, &str) -> Option<String>,
) -> Result<(), ExitCode> {
    let Some(p) = report.properties.iter().find(|p| p.status == Status::Violated) else {
        eprintln!("no counterexample to draw: {} not written", file.display());
        return Ok(());
    };
    let bugs = report
        .config
        .get("bugs")
        .and_then(|b| b.as_array())
        .map(|b| b.iter().filter_map(|n| n.as_str()).map(|n| format!(" --bug {n}")).collect::<String>());
    let title =
        format!("{}{}: \"{}\" violated in {} steps", report.protocol, bugs.unwrap_or_default(), p.name, p.trace.len());
    match draw(&p.explorer_path, &title) {
        Some(svg) => write_svg(file, &svg),
        None => Err(usage("the counterexample cannot be drawn")),
    }
}
