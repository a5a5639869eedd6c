//! `cargo xtask test`: everything CI checks, in order, against real local nodes.
//!
//! Everything is compiled once (`--all-targets --all-features`); the later stages run
//! the built test, example and runner binaries directly, so changing the cluster's
//! shape never triggers a rebuild. Stages run one after the other; a failed step does
//! not stop the later ones, so one run reports every failure. The local node(s) are
//! stopped at the end whatever happened.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::util::workspace_root;

#[derive(Parser)]
#[command(name = "cargo xtask test")]
struct Args {
    /// Only the checks that need no Elasticsearch node.
    #[arg(long)]
    offline: bool,
}

/// What a step runs.
enum Program {
    /// `cargo <args>`.
    Cargo,
    /// `cargo xtask <args>` (this binary).
    Xtask,
    /// A test binary of the `integration-tests` package, by test target name.
    Test(&'static str),
    /// A binary of the workspace as the build step left it in `target/debug`.
    Bin(&'static str),
}

/// One step: a command line run from the workspace root.
struct Step {
    title: &'static str,
    program: Program,
    args: Vec<String>,
}

fn step(title: &'static str, program: Program, args: &[&str]) -> Step {
    Step {
        title,
        program,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// A group of steps that needs the local cluster in one shape.
struct Stage {
    /// Arguments to `cargo xtask es start`, or `None` for no node.
    cluster: Option<&'static [&'static str]>,
    steps: Vec<Step>,
}

const ALL: &[&str] = &["--workspace", "--all-targets", "--all-features"];

fn stages(offline: bool) -> Vec<Stage> {
    let mut build = vec!["build"];
    build.extend(ALL);
    let mut clippy = vec!["clippy"];
    clippy.extend(ALL);
    clippy.extend(["--", "-D", "warnings"]);
    let mut stages = vec![Stage {
        cluster: None,
        steps: vec![
            step(
                "formatting",
                Program::Cargo,
                &["fmt", "--all", "--", "--check"],
            ),
            step(
                "generated code is fresh",
                Program::Xtask,
                &["codegen", "--check"],
            ),
            step("lints", Program::Cargo, &clippy),
            step("build (all targets, all features)", Program::Cargo, &build),
            // Users build with the defaults, or with only the namespaces they need.
            step(
                "client with its default features",
                Program::Cargo,
                &["check", "-p", "elasticsearch-client", "--lib", "--examples"],
            ),
            step(
                "client with no feature",
                Program::Cargo,
                &[
                    "check",
                    "-p",
                    "elasticsearch-client",
                    "--lib",
                    "--no-default-features",
                ],
            ),
        ],
    }];
    if offline {
        stages.push(Stage {
            cluster: None,
            steps: vec![step(
                "unit tests",
                Program::Cargo,
                &["test", "--workspace", "--all-features", "--lib", "--bins"],
            )],
        });
        return stages;
    }
    let demo_url = "http://127.0.0.1:9200";
    stages.extend([
        Stage {
            cluster: Some(&[]),
            steps: vec![
                step(
                    "unit, doc and integration tests (one node)",
                    Program::Cargo,
                    &["test", "--workspace", "--all-features", "--no-fail-fast"],
                ),
                step(
                    "bulk: 200,000 flights, one outcome each",
                    Program::Test("bulk"),
                    &["--ignored", "--exact", "flights_200k_all_indexed_once"],
                ),
                step(
                    "demo on the movies dataset",
                    Program::Xtask,
                    &["demo", "--url", demo_url, "--prebuilt"],
                ),
            ],
        },
        Stage {
            cluster: Some(&[
                "-E",
                "thread_pool.write.size=1",
                "-E",
                "thread_pool.write.queue_size=1",
            ]),
            steps: vec![step(
                "bulk: rejected writes retried (tiny write queue)",
                Program::Test("bulk"),
                &[
                    "--ignored",
                    "--exact",
                    "rejections_are_retried_and_every_document_indexed_once",
                ],
            )],
        },
        Stage {
            cluster: Some(&["--nodes", "3"]),
            steps: vec![
                step(
                    "transport: sniffing and node loss (3 nodes)",
                    Program::Test("transport_cluster"),
                    &["--ignored"],
                ),
                step(
                    "bulk: node killed mid-ingest (3 nodes)",
                    Program::Test("bulk"),
                    &[
                        "--ignored",
                        "--exact",
                        "node_killed_mid_ingest_loses_no_acknowledged_document",
                    ],
                ),
            ],
        },
        Stage {
            cluster: Some(&["--secure"]),
            steps: vec![
                step(
                    "transport: TLS and authentication (secure node)",
                    Program::Test("transport_secure"),
                    &["--ignored"],
                ),
                // Security on, as on the stack clusters the clients' suite is written
                // for, so the security APIs' tests run too.
                step(
                    "Elastic's YAML suite for clients (secure node)",
                    Program::Bin("yaml-runner"),
                    &[
                        "--known-failures",
                        "tests/yaml-runner/known-failures.txt",
                        "--missing-ok",
                    ],
                ),
            ],
        },
    ]);
    stages
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The executables of the `integration-tests` package's test targets, by name, as
/// built by the build step.
fn test_binaries() -> Result<BTreeMap<String, PathBuf>> {
    let output = cargo()
        .args(["test", "--no-run", "--message-format=json"])
        .args(ALL)
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .context("listing the test binaries")?;
    let mut binaries = BTreeMap::new();
    for line in output.stdout.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let is_test = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "test"));
        let package = message["package_id"].as_str().unwrap_or_default();
        if let (true, Some(name), Some(exe)) = (
            is_test && package.contains("integration"),
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            binaries.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    Ok(binaries)
}

fn run_step(step: &Step, tests: &BTreeMap<String, PathBuf>) -> bool {
    let mut command = match &step.program {
        Program::Cargo => cargo(),
        Program::Xtask => match crate::util::xtask_exe() {
            Ok(exe) => Command::new(exe),
            Err(e) => {
                eprintln!("cannot find the xtask binary: {e}");
                return false;
            }
        },
        Program::Bin(name) => Command::new(crate::util::target_dir().join("debug").join(name)),
        Program::Test(name) => match tests.get(*name) {
            Some(exe) => Command::new(exe),
            None => {
                eprintln!("no test binary `{name}` was built");
                return false;
            }
        },
    };
    command.args(&step.args).current_dir(workspace_root());
    println!("\n==> {}", step.title);
    let started = Instant::now();
    let ok = match command.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("could not run {:?}: {e}", command.get_program());
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
    let status = crate::util::xtask_exe().and_then(|exe| {
        Ok(Command::new(exe)
            .arg("es")
            .args(args)
            .current_dir(workspace_root())
            .status()?)
    });
    match status {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("could not run `cargo xtask es {}`: {e}", args.join(" "));
            false
        }
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let args = crate::util::parse_args::<Args>("test", args);
    let started = Instant::now();
    let mut failed: Vec<String> = Vec::new();
    let mut tests = BTreeMap::new();
    for stage in stages(args.offline) {
        if let Some(cluster) = stage.cluster {
            if tests.is_empty() {
                tests = test_binaries()?;
            }
            let mut start = vec!["start"];
            start.extend(cluster.iter().copied());
            println!("\n==> cargo xtask es {}", start.join(" "));
            if !es(&start) {
                failed.push(format!("cargo xtask es {}", start.join(" ")));
                for step in &stage.steps {
                    failed.push(format!("{} (not run: no cluster)", step.title));
                }
                continue;
            }
        }
        for step in &stage.steps {
            if !run_step(step, &tests) {
                failed.push(step.title.to_string());
            }
        }
    }
    es(&["stop"]);
    println!("\ntotal time: {:.0} s", started.elapsed().as_secs_f64());
    if failed.is_empty() {
        println!("all stages passed");
        Ok(())
    } else {
        bail!("failed: {}", failed.join("; "))
    }
}
