//! `cargo xtask features [NAME ...]`: checks that the client compiles with each of its
//! namespace features alone (no default features), and with none at all, so a missing
//! gate in the generated code cannot hide behind the default or `full` builds CI makes.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::util::workspace_root;

#[derive(Parser)]
#[command(name = "cargo xtask features")]
struct Args {
    /// Features to check (default: every feature of the client but `default` and `full`).
    names: Vec<String>,
}

/// The client's features, from `client/Cargo.toml`, without `default` and `full`.
fn client_features() -> Result<Vec<String>> {
    let path = workspace_root().join("client/Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let features = manifest
        .get("features")
        .and_then(|f| f.as_table())
        .context("client/Cargo.toml has no [features]")?;
    Ok(features
        .keys()
        .filter(|k| *k != "default" && *k != "full")
        .cloned()
        .collect())
}

pub fn run(args: &[String]) -> Result<()> {
    let args = crate::util::parse_args::<Args>("features", args);
    let known = client_features()?;
    if let Some(unknown) = args.names.iter().find(|n| !known.contains(n)) {
        bail!("the client has no feature `{unknown}`");
    }
    let names = if args.names.is_empty() {
        known
    } else {
        args.names
    };
    // `None`: no feature at all (the shared types and the client core only).
    let sets = std::iter::once(None).chain(names.iter().map(Some));
    let started = Instant::now();
    let mut failed = Vec::new();
    for feature in sets {
        let label = feature.map_or("(none)".to_string(), |f| f.to_string());
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args([
            "check",
            "--quiet",
            "-p",
            "elasticsearch-client",
            "--no-default-features",
        ])
        .current_dir(workspace_root());
        if let Some(f) = feature {
            cmd.args(["--features", f]);
        }
        let began = Instant::now();
        let ok = cmd
            .status()
            .with_context(|| format!("running cargo check for {label}"))?
            .success();
        println!(
            "{} {label} ({:.0} s)",
            if ok { "ok    " } else { "FAILED" },
            began.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(label);
        }
    }
    println!(
        "{} feature set(s) checked in {:.0} s",
        names.len() + 1,
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("the client does not compile with: {}", failed.join(", "))
    }
}
