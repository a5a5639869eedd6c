//! Maintainer tasks: `cargo xtask <command>`.
//!
//! Each command lives in its own module and parses its own arguments, so the
//! commands stay independent of each other.

mod bench;
mod codegen;
mod demo;
mod es;
mod features;
mod spec;
mod test;
mod util;
mod yaml;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Maintainer tasks for the Elasticsearch client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch and verify the pinned Elasticsearch specification.
    Spec(Forward),
    /// Generate `client/src/generated` from the specification (`--check` to verify freshness).
    Codegen(Forward),
    /// Start, stop or inspect the local Elasticsearch node(s).
    Es(Forward),
    /// Load the movies dataset into a node and show searches, aggregations and lookups.
    Demo(Forward),
    /// Measure the client beside bare hyper and peer clients; writes target/bench/report.md.
    Bench(Forward),
    /// Run Elasticsearch's YAML REST tests against a running node.
    Yaml(Forward),
    /// Run every check CI runs: formatting, generated code, tests against real nodes.
    Test(Forward),
    /// Check that the client compiles with each namespace feature alone.
    Features(Forward),
}

/// Arguments passed through untouched to the command's own parser.
#[derive(clap::Args)]
struct Forward {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Spec(f) => spec::run(&f.args),
        Command::Codegen(f) => codegen::run(&f.args),
        Command::Es(f) => es::run(&f.args),
        Command::Test(f) => test::run(&f.args),
        Command::Bench(f) => bench::run(&f.args),
        Command::Features(f) => features::run(&f.args),
        Command::Yaml(f) => match yaml::run(&f.args) {
            Ok(code) => return ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(err) => Err(err),
        },
        Command::Demo(f) => match demo::run(&f.args) {
            // The demo prints its own errors; pass its exit code on untouched.
            Ok(code) => return ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
