//! `cargo xtask bench [--quick]`: every benchmark, side by side with peer clients.

use anyhow::{bail, Result};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("benchmarks are not wired up yet")
}
