//! Peer programs, installed from their registries into a scratch directory outside
//! the workspace (`~/.cache/es-rs-bench` unless `ES_RS_BENCH_DIR` is set). Nothing of
//! theirs is committed: the sources here are ours, the libraries come from PyPI, the
//! Go module proxy and crates.io at run time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::proc;
use crate::util::workspace_root;

/// PyPI requirement for elasticsearch-py.
pub const PY_REQUIREMENT: &str = "elasticsearch>=9,<10";
/// go-elasticsearch module and version.
pub const GO_MODULE: &str = "github.com/elastic/go-elasticsearch/v9";
pub const GO_VERSION: &str = "v9.5.3";
/// The official Rust client, as pinned in `peers/official-rs/Cargo.toml.in`.
pub const OFFICIAL_RS: &str = "elasticsearch 9.1.0-alpha.1 (rustls-tls)";

const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// The scratch directory for peers, data and clean builds.
pub fn scratch_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ES_RS_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/es-rs-bench"),
        None => workspace_root().join("target/bench-scratch"),
    }
}

fn peers_src() -> PathBuf {
    workspace_root().join("tests/bench/peers")
}

/// Copies `from` to `to` only when the content differs (keeps build tools' caches warm).
fn sync_file(from: &Path, to: &Path) -> Result<()> {
    let new = fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    if fs::read(to).ok().as_deref() != Some(new.as_slice()) {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(to, new).with_context(|| format!("writing {}", to.display()))?;
    }
    Ok(())
}

/// An installed peer: the command prefix that runs it, and its library version.
#[derive(Debug, Clone)]
pub struct Peer {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub version: String,
}

impl Peer {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        cmd
    }
}

/// elasticsearch-py in a virtual environment, with our `bulk.py`.
pub fn python() -> Result<Peer> {
    let dir = scratch_dir().join("python");
    let python = dir.join("venv/bin/python");
    if !python.is_file() {
        let host = ["python3", "python"]
            .into_iter()
            .find(|p| proc::which(p).is_some())
            .context("no python3 on PATH")?;
        let mut venv = Command::new(host);
        venv.args(["-m", "venv"]).arg(dir.join("venv"));
        proc::run(venv, INSTALL_TIMEOUT).context("creating the virtual environment")?;
    }
    let mut check = Command::new(&python);
    check.args([
        "-c",
        "import elasticsearch; print(elasticsearch.__versionstr__)",
    ]);
    let version = match proc::run(check, Duration::from_secs(60)) {
        Ok(done) => done.stdout.trim().to_string(),
        Err(_) => {
            eprintln!("bench: installing {PY_REQUIREMENT} from PyPI");
            let mut pip = Command::new(&python);
            pip.args(["-m", "pip", "install", "--quiet", PY_REQUIREMENT]);
            proc::run(pip, INSTALL_TIMEOUT).context("pip install")?;
            let mut check = Command::new(&python);
            check.args([
                "-c",
                "import elasticsearch; print(elasticsearch.__versionstr__)",
            ]);
            proc::run(check, Duration::from_secs(60))?
                .stdout
                .trim()
                .to_string()
        }
    };
    let script = dir.join("bulk.py");
    sync_file(&peers_src().join("python/bulk.py"), &script)?;
    Ok(Peer {
        program: python,
        args: vec![script.display().to_string()],
        version: format!("elasticsearch-py {version}"),
    })
}

/// go-elasticsearch through the Go module proxy, with our `main.go`, built.
pub fn go() -> Result<Peer> {
    if proc::which("go").is_none() {
        bail!("no go on PATH");
    }
    let dir = scratch_dir().join("go");
    fs::create_dir_all(&dir)?;
    sync_file(&peers_src().join("go/main.go"), &dir.join("main.go"))?;
    let go = |args: &[&str]| -> Result<()> {
        let mut cmd = Command::new("go");
        cmd.args(args).current_dir(&dir).env("GOFLAGS", "-mod=mod");
        proc::run(cmd, INSTALL_TIMEOUT).map(|_| ())
    };
    if !dir.join("go.mod").is_file() {
        go(&["mod", "init", "es-rs-bench/bulk"])?;
    }
    let module = format!("{GO_MODULE}@{GO_VERSION}");
    let go_mod = fs::read_to_string(dir.join("go.mod")).unwrap_or_default();
    if !go_mod.contains(&format!("{GO_MODULE} {GO_VERSION}")) {
        eprintln!("bench: fetching {module} from the Go module proxy");
        go(&["get", &module])?;
    }
    go(&["mod", "tidy"])?;
    go(&["build", "-o", "bulk", "."])?;
    Ok(Peer {
        program: dir.join("bulk"),
        args: Vec::new(),
        version: format!("go-elasticsearch {GO_VERSION}"),
    })
}

/// The scratch project of the official Rust client (also used for its clean build).
pub fn official_rs_project() -> Result<PathBuf> {
    let dir = scratch_dir().join("official-rs");
    let src = peers_src().join("official-rs");
    sync_file(&src.join("Cargo.toml.in"), &dir.join("Cargo.toml"))?;
    sync_file(&src.join("src/main.rs"), &dir.join("src/main.rs"))?;
    Ok(dir)
}

/// The official Rust client's overhead program, built in release mode.
pub fn official_rs() -> Result<Peer> {
    let dir = official_rs_project()?;
    let target = dir.join("target");
    eprintln!("bench: building the official Rust client peer (release)");
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target);
    proc::run(cmd, INSTALL_TIMEOUT).context("cargo build of the official client peer")?;
    Ok(Peer {
        program: target.join("release/official-rs-bench"),
        args: Vec::new(),
        version: OFFICIAL_RS.to_string(),
    })
}
