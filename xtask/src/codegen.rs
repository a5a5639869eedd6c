//! `cargo xtask codegen [--check] [--spec PATH]`.

use anyhow::{bail, Result};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("code generation is not wired up yet")
}
