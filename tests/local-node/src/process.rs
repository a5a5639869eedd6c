//! Processes: the unprivileged user Elasticsearch runs as, liveness, signals.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Elasticsearch refuses to run as root; when we are root it runs as this user.
pub(crate) const RUN_USER: &str = "esrun";

/// Whether this process runs as root (read from `/proc`, no `unsafe` needed).
pub(crate) fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Creates the system user [`RUN_USER`] when it does not exist yet.
pub(crate) fn ensure_run_user() -> Result<()> {
    let exists = Command::new("id")
        .args(["-u", RUN_USER])
        .output()
        .context("running `id`")?
        .status
        .success();
    if exists {
        return Ok(());
    }
    eprintln!("creating system user {RUN_USER} (Elasticsearch refuses to run as root)");
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            RUN_USER,
        ])
        .status()
        .context("running `useradd`")?;
    if !status.success() {
        bail!("useradd {RUN_USER} failed ({status})");
    }
    Ok(())
}

/// Fails with advice when [`RUN_USER`] cannot reach `path` (for example a
/// workspace under a home directory closed to other users).
pub(crate) fn check_run_user_can_read(path: &Path) -> Result<()> {
    let ok = Command::new("runuser")
        .args(["-u", RUN_USER, "--", "test", "-r"])
        .arg(path)
        .status()
        .context("running `runuser`")?
        .success();
    if ok {
        return Ok(());
    }
    let mut blocked = None;
    for dir in path.ancestors().skip(1) {
        let reachable = Command::new("runuser")
            .args(["-u", RUN_USER, "--", "test", "-x"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            blocked = Some(dir.to_path_buf());
        }
    }
    match blocked {
        Some(dir) => bail!(
            "Elasticsearch runs as user {RUN_USER}, which cannot enter {}: allow it with \
             `chmod o+x {}` or move the workspace",
            dir.display(),
            dir.display()
        ),
        None => bail!("user {RUN_USER} cannot read {}", path.display()),
    }
}

/// Gives `path` (recursively) to [`RUN_USER`] when we run as root.
pub(crate) fn give_to_run_user(path: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{RUN_USER}:"))
        .arg(path)
        .status()
        .context("running `chown`")?;
    if !status.success() {
        bail!("chown {} failed ({status})", path.display());
    }
    Ok(())
}

/// A command that runs `program` as [`RUN_USER`] when we are root, as ourselves otherwise.
pub(crate) fn command_as_run_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", RUN_USER, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Whether `pid` is a live (not zombie) process.
pub(crate) fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// The command line of `pid`, arguments joined by spaces.
pub(crate) fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Live processes whose command line contains `needle`.
pub(crate) fn find(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut pids = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != me && alive(pid) && cmdline(pid).is_some_and(|c| c.contains(needle)) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Sends `signal` (a name such as `TERM` or `KILL`) to `pid`.
pub(crate) fn signal(pid: u32, signal: &str) -> Result<()> {
    let out = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .output()
        .context("running `kill`")?;
    if !out.status.success() && alive(pid) {
        bail!(
            "kill -s {signal} {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Waits until none of `pids` is alive; false on timeout.
pub(crate) fn wait_gone(pids: &[u32], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(100));
    }
}

/// SIGTERM, then SIGKILL for whatever is still alive after `grace`.
pub(crate) fn terminate(pids: &[u32], grace: Duration) -> Result<()> {
    for pid in pids {
        signal(*pid, "TERM")?;
    }
    if !wait_gone(pids, grace) {
        for pid in pids.iter().filter(|p| alive(**p)) {
            signal(*pid, "KILL")?;
        }
        if !wait_gone(pids, Duration::from_secs(10)) {
            bail!("processes {pids:?} survived SIGKILL");
        }
    }
    Ok(())
}
