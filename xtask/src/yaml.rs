//! `cargo xtask yaml [--dir DIR] [--filter PATTERN] [--url URL]`: Elasticsearch's YAML
//! REST tests against a running node, through the `yaml-runner` crate.

use std::process::Command;

use anyhow::{Context, Result};

use crate::util::workspace_root;

/// Runs the YAML runner with the given arguments; returns its exit code.
pub fn run(args: &[String]) -> Result<i32> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["run", "--quiet", "--package", "yaml-runner", "--"])
        .args(args)
        .current_dir(workspace_root())
        .status()
        .context("running the YAML test runner")?;
    Ok(status.code().unwrap_or(1))
}
