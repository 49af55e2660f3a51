//! The comparison's other side: Stateright's own examples (`examples/paxos.rs`,
//! `examples/raft.rs`), which `quorum bench check` measures side by side with our checks. They are
//! built from the stateright crate source that cargo downloaded, copied to a directory outside
//! this repository and built there with its own target directory; nothing of them is copied into
//! this repository.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The highest stateright 0.31.x source in cargo's registry.
fn stateright_source() -> Result<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or_else(|| anyhow!("neither CARGO_HOME nor HOME is set"))?;
    let registry = cargo_home.join("registry").join("src");
    let mut found = Vec::new();
    if let Ok(indexes) = std::fs::read_dir(&registry) {
        for index in indexes.flatten() {
            for krate in std::fs::read_dir(index.path()).into_iter().flatten().flatten() {
                let name = krate.file_name().to_string_lossy().into_owned();
                if let Some(patch) = name.strip_prefix("stateright-0.31.") {
                    if krate.path().join("examples").join("paxos.rs").is_file() {
                        found.push((patch.parse::<u32>().unwrap_or(0), krate.path()));
                    }
                }
            }
        }
    }
    found.sort();
    found.pop().map(|(_, p)| p).ok_or_else(|| {
        anyhow!(
            "no stateright 0.31 source under {}: run `cargo fetch` in the quorum checkout (it downloads \
             the stateright crate, whose package ships examples/), then try again",
            registry.display()
        )
    })
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let dst = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dst)?;
        } else {
            std::fs::copy(entry.path(), &dst).with_context(|| format!("cannot copy to {}", dst.display()))?;
        }
    }
    Ok(())
}

/// Stateright's examples, built in release mode: (source version, paxos binary, raft binary).
pub struct Peer {
    pub version: String,
    pub dir: PathBuf,
    pub paxos: PathBuf,
    pub raft: PathBuf,
}

/// Copies the stateright source to `dir` (once) and builds its paxos and raft examples there with
/// their own target directory: offline first (the dependencies are usually in cargo's cache), then
/// online.
pub fn build_peer(dir: Option<&Path>) -> Result<Peer> {
    let source = stateright_source()?;
    let version = source.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let dir = dir.map_or_else(|| std::env::temp_dir().join(format!("quorum-peer-{version}")), Path::to_path_buf);
    if !dir.join("Cargo.toml").is_file() {
        let staging = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&staging);
        copy_dir(&source, &staging)?;
        std::fs::rename(&staging, &dir).with_context(|| format!("cannot move the copy to {}", dir.display()))?;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = dir.join("target");
    let build = |offline: bool| -> Result<bool> {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&dir)
            .args(["build", "--release", "--example", "paxos", "--example", "raft", "--target-dir"])
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if offline {
            cmd.arg("--offline").stderr(Stdio::null());
        }
        Ok(cmd.status().with_context(|| format!("cannot run {cargo:?}"))?.success())
    };
    eprintln!("bench check: building Stateright's examples from {} in {}", source.display(), dir.display());
    if !build(true)? && !build(false)? {
        bail!("building Stateright's examples in {} failed (see cargo's output above)", dir.display());
    }
    let examples = target.join("release").join("examples");
    Ok(Peer { version, dir: dir.clone(), paxos: examples.join("paxos"), raft: examples.join("raft") })
}
