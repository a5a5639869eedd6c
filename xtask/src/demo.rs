//! `cargo xtask demo [--url URL]`: the client on real data.
//!
//! Starts the local node when nothing answers (and no URL was given), fetches the
//! movies dataset, then runs the `demo` example of the client crate against it. The
//! node is stopped again when this command started it.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use crate::util::workspace_root;
use local_node::npm::MOVIES;

#[derive(Parser)]
#[command(name = "cargo xtask demo")]
struct Args {
    /// The cluster to use (default: `ELASTICSEARCH_URL`, else a local node on port 9200,
    /// started when none answers).
    #[arg(long)]
    url: Option<String>,
    /// Run the demo binary already built by `cargo build --all-targets` instead of
    /// building it (used by `cargo xtask test`).
    #[arg(long, hide = true)]
    prebuilt: bool,
}

const LOCAL_URL: &str = "http://127.0.0.1:9200";

fn local_node_answers() -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], 9200).into();
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Runs `cargo xtask es <args>`; true when it succeeded.
fn es(args: &[&str]) -> Result<bool> {
    let exe = crate::util::xtask_exe().context("finding the xtask binary")?;
    let status = Command::new(exe)
        .arg("es")
        .args(args)
        .current_dir(workspace_root())
        .status()
        .context("running `cargo xtask es`")?;
    Ok(status.success())
}

/// Runs the demo; returns the example's exit code.
pub fn run(args: &[String]) -> Result<i32> {
    let args = crate::util::parse_args::<Args>("demo", args);
    let explicit = args.url.or_else(|| std::env::var("ELASTICSEARCH_URL").ok());
    let data = MOVIES.fetch()?;

    let mut started = false;
    let url = match explicit {
        Some(url) => url,
        None => {
            if !local_node_answers() {
                eprintln!("no node answers at {LOCAL_URL}; starting one");
                if !es(&["start"])? {
                    anyhow::bail!("could not start the local node (see above)");
                }
                started = true;
            }
            LOCAL_URL.to_string()
        }
    };

    let mut command = if args.prebuilt {
        Command::new(crate::util::target_dir().join("debug/examples/demo"))
    } else {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args([
            "run",
            "--quiet",
            "--package",
            "elasticsearch-client",
            "--example",
            "demo",
            "--",
        ]);
        cargo
    };
    let status = command
        .arg("--url")
        .arg(&url)
        .arg("--data")
        .arg(&data)
        .current_dir(workspace_root())
        .status()
        .context("running the demo example")?;

    if started {
        es(&["stop"])?;
    }
    Ok(status.code().unwrap_or(1))
}
