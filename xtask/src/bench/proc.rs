//! Running child programs: with a timeout, in their own process group (so a timeout
//! also ends what `cargo run` started), and with their last JSON line parsed.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// What a finished child left behind.
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
}

/// Runs `cmd` to completion, killing its process group after `timeout`. A non-zero
/// exit is an error carrying the tail of standard error.
pub fn run(mut cmd: Command, timeout: Duration) -> Result<Finished> {
    let shown = describe(&cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {shown}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            kill_group(&child);
            let _ = child.wait();
            bail!("{shown}: no result after {} s, stopped", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        bail!("{shown} failed ({status}): {}", tail(&stderr, 12));
    }
    Ok(Finished {
        stdout,
        stderr,
        wall,
    })
}

/// Runs `cmd` and parses the last non-empty line of its output as JSON.
pub fn run_json(cmd: Command, timeout: Duration) -> Result<serde_json::Value> {
    let shown = describe(&cmd);
    let done = run(cmd, timeout)?;
    let line = done
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| anyhow!("{shown} printed nothing; stderr: {}", tail(&done.stderr, 8)))?;
    serde_json::from_str(line).with_context(|| format!("{shown} printed `{line}`"))
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Sends SIGTERM, then SIGKILL, to the child's process group (the child leads it).
pub fn kill_group(child: &Child) {
    let group = format!("-{}", child.id());
    for signal in ["-TERM", "-KILL"] {
        let _ = Command::new("kill")
            .args([signal, "--", &group])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last `n` lines of `text`, on one line.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// `program arg arg …` for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A long-running child (the canned-response server): started, asked for the port
/// it printed, and stopped by closing its standard input.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(mut cmd: Command, timeout: Duration) -> Result<Self> {
        let shown = describe(&cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().with_context(|| format!("starting {shown}"))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.strip_prefix("listening ") {
                    let _ = tx.send(port.trim().parse::<u16>().ok());
                }
            }
        });
        let stderr = drain(child.stderr.take());
        match rx.recv_timeout(timeout) {
            Ok(Some(port)) => Ok(Server { child, port }),
            _ => {
                kill_group(&child);
                let _ = child.wait();
                let err = stderr.join().unwrap_or_default();
                bail!("{shown} did not start: {}", tail(&err, 8))
            }
        }
    }

    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        kill_group(&self.child);
        let _ = self.child.wait();
    }
}

/// `program` found on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// The first line of `program args…`'s output, or `missing`.
pub fn version_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "missing".to_string())
}

/// Removes a directory tree if it exists.
pub fn remove_dir(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}
