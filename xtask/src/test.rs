//! `cargo xtask test`: everything CI checks, in order, against real local nodes.
//!
//! Stages run one after the other; a failed stage does not stop the later ones, so one
//! run reports every failure. The local node(s) are stopped at the end whatever happened.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;

use crate::util::workspace_root;

#[derive(Parser)]
#[command(name = "cargo xtask test")]
struct Args {
    /// Only the stages that need no Elasticsearch node.
    #[arg(long)]
    offline: bool,
}

/// One step: a command line run from the workspace root.
struct Step {
    title: &'static str,
    program: Program,
    args: Vec<&'static str>,
}

enum Program {
    Cargo,
    Xtask,
}

fn cargo(title: &'static str, args: &[&'static str]) -> Step {
    Step {
        title,
        program: Program::Cargo,
        args: args.to_vec(),
    }
}

fn xtask(title: &'static str, args: &[&'static str]) -> Step {
    Step {
        title,
        program: Program::Xtask,
        args: args.to_vec(),
    }
}

/// A group of steps that needs the local cluster in one shape.
struct Stage {
    /// Arguments to `cargo xtask es start`, or `None` for no node.
    cluster: Option<Vec<&'static str>>,
    steps: Vec<Step>,
}

fn stages(offline: bool) -> Vec<Stage> {
    let mut stages = vec![Stage {
        cluster: None,
        steps: vec![
            cargo("formatting", &["fmt", "--all", "--", "--check"]),
            xtask("generated code is fresh", &["codegen", "--check"]),
            cargo(
                "build (all targets, all features)",
                &["build", "--workspace", "--all-targets", "--all-features"],
            ),
        ],
    }];
    if offline {
        stages.push(Stage {
            cluster: None,
            steps: vec![cargo(
                "unit tests",
                &["test", "--workspace", "--all-features", "--lib", "--bins"],
            )],
        });
        return stages;
    }
    stages.push(Stage {
        cluster: Some(vec![]),
        steps: vec![cargo(
            "unit, doc and integration tests (one node)",
            &["test", "--workspace", "--all-features", "--no-fail-fast"],
        )],
    });
    stages
}

fn run_step(step: &Step) -> bool {
    let root = workspace_root();
    let mut command = match step.program {
        Program::Cargo => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
        Program::Xtask => match std::env::current_exe() {
            Ok(exe) => Command::new(exe),
            Err(e) => {
                eprintln!("cannot find the xtask binary: {e}");
                return false;
            }
        },
    };
    command.args(&step.args).current_dir(&root);
    println!("\n==> {}", step.title);
    let started = Instant::now();
    let ok = match command.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("could not run {:?}: {e}", step.args);
            false
        }
    };
    println!(
        "<== {} {} ({:.0} s)",
        step.title,
        if ok { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    ok
}

fn es(args: &[&str]) -> bool {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(_) => return false,
    };
    Command::new(exe)
        .arg("es")
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn run(args: &[String]) -> Result<()> {
    let args =
        Args::try_parse_from(std::iter::once("test".to_string()).chain(args.iter().cloned()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let mut failed: Vec<String> = Vec::new();
    for stage in stages(args.offline) {
        if let Some(cluster) = &stage.cluster {
            // A node left from an earlier stage or run would have the wrong shape.
            es(&["stop"]);
            let mut start = vec!["start"];
            start.extend(cluster.iter().copied());
            if !es(&start) {
                failed.push(format!("starting the local node ({})", start.join(" ")));
                continue;
            }
        }
        for step in &stage.steps {
            if !run_step(step) {
                failed.push(step.title.to_string());
            }
        }
        if stage.cluster.is_some() {
            es(&["stop"]);
        }
    }
    println!("\ntotal time: {:.0} s", started.elapsed().as_secs_f64());
    if failed.is_empty() {
        println!("all stages passed");
        Ok(())
    } else {
        bail!("failed: {}", failed.join("; "))
    }
}
