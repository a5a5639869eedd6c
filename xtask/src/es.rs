//! `cargo xtask es start|stop|status`: the local Elasticsearch node(s).

use anyhow::{bail, Result};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("the local node commands are not wired up yet")
}
