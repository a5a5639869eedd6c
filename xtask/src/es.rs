//! `cargo xtask es start|stop|status`: the local Elasticsearch node(s).
//!
//! The work is done by the `local-node` crate (`tests/local-node`), which the
//! integration tests use too.

use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use local_node::{ClusterInfo, StartOptions};

#[derive(Parser)]
#[command(
    name = "cargo xtask es",
    about = "Local Elasticsearch node(s) for tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the cluster (returns once health is yellow or green).
    Start {
        /// Number of nodes, one process each.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// HTTP port of node-0; further nodes use the following ports.
        #[arg(long, default_value_t = 9200)]
        http_port: u16,
        /// Security on: TLS on HTTP, user `elastic` with a generated password.
        #[arg(long)]
        secure: bool,
        /// Extra node setting, repeatable: `-E thread_pool.write.queue_size=2`.
        #[arg(short = 'E', value_name = "KEY=VALUE", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
    },
    /// Stop every node of ours (nothing running is fine).
    Stop,
    /// Show the running cluster and its health.
    Status,
    /// SIGKILL node K (for manual failover checks).
    KillNode {
        /// Node index.
        k: usize,
    },
    /// Restart node K on its data path and ports.
    RestartNode {
        /// Node index.
        k: usize,
    },
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let cli = crate::util::parse_args::<Cli>("es", args);
    match cli.command {
        Command::Start {
            nodes,
            http_port,
            secure,
            settings,
        } => {
            let opts = StartOptions {
                nodes,
                http_port,
                secure,
                settings,
            };
            let started = Instant::now();
            let before = local_node::status()?;
            let info = local_node::start(&opts)?;
            if before.as_ref() == Some(&info) {
                println!("already running with these options and healthy");
            } else {
                println!(
                    "started in {:.1} s; health yellow or green",
                    started.elapsed().as_secs_f64()
                );
            }
            print_info(&info);
            Ok(())
        }
        Command::Stop => {
            match local_node::stop()? {
                0 => println!("no local Elasticsearch of ours was running"),
                1 => println!("stopped 1 node"),
                n => println!("stopped {n} nodes"),
            }
            Ok(())
        }
        Command::Status => {
            match local_node::status()? {
                None => println!("not running"),
                Some(info) => {
                    print_info(&info);
                    match local_node::cluster_health(&info) {
                        Ok(h) => println!(
                            "health: {} ({} nodes)",
                            h["status"].as_str().unwrap_or("?"),
                            h["number_of_nodes"]
                        ),
                        Err(e) => println!("health: unavailable ({e:#})"),
                    }
                }
            }
            Ok(())
        }
        Command::KillNode { k } => {
            local_node::kill_node(k)?;
            println!("node-{k} killed");
            Ok(())
        }
        Command::RestartNode { k } => {
            local_node::restart_node(k)?;
            println!("node-{k} restarted; health yellow or green");
            Ok(())
        }
    }
}

fn print_info(info: &ClusterInfo) {
    println!("Elasticsearch {}", info.version);
    for node in &info.nodes {
        println!(
            "  {}  {}  pid {}  log {}",
            node.name, node.http_url, node.pid, node.log_file
        );
    }
    if info.secure {
        println!(
            "  CA certificate: {}",
            info.ca_cert.as_deref().unwrap_or("?")
        );
        println!(
            "  CA SHA-256 fingerprint: {}",
            info.ca_fingerprint.as_deref().unwrap_or("?")
        );
        println!("  user: {}", info.username.as_deref().unwrap_or("?"));
        println!("  password: {}", info.password.as_deref().unwrap_or("?"));
    }
    println!(
        "  described in {}",
        local_node::workspace_root()
            .join("target/es/cluster.json")
            .display()
    );
}
